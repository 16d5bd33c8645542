//! The CORS layer `[cors]` asks for.

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::request::PREFLIGHT_HEADERS;
use crate::config::CorsConfig;

#[derive(Debug, thiserror::Error)]
pub enum CorsError {
    #[error("cors.allow_origins: `{0}` is not an origin such as https://app.example.com")]
    Origin(String),
    #[error("cors.allow_headers: `{0}` is not a header name")]
    Header(String),
    #[error("cors: allow_credentials cannot be combined with the origin \"*\"")]
    CredentialsWithAnyOrigin,
}

/// `None` when no origin is allowed: browsers then keep other sites out by themselves.
pub fn layer(config: &CorsConfig) -> Result<Option<CorsLayer>, CorsError> {
    if config.allow_origins.is_empty() {
        return Ok(None);
    }
    let any = config.allow_origins.iter().any(|o| o == "*");
    if any && config.allow_credentials {
        return Err(CorsError::CredentialsWithAnyOrigin);
    }
    let origins = if any {
        AllowOrigin::any()
    } else {
        let list = config
            .allow_origins
            .iter()
            .map(|origin| {
                let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
                    && !origin.ends_with('/');
                HeaderValue::from_str(origin)
                    .ok()
                    .filter(|_| valid)
                    .ok_or_else(|| CorsError::Origin(origin.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(list)
    };
    let mut headers = vec![header::CONTENT_TYPE, header::AUTHORIZATION];
    headers.extend(PREFLIGHT_HEADERS.iter().map(|h| HeaderName::from_static(h)));
    for name in &config.allow_headers {
        headers.push(
            HeaderName::try_from(name.as_str()).map_err(|_| CorsError::Header(name.clone()))?,
        );
    }
    let exposed = [
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "retry-after",
    ]
    .map(HeaderName::from_static);
    Ok(Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(headers)
            .expose_headers(exposed)
            .allow_credentials(config.allow_credentials)
            .max_age(config.max_age),
    ))
}
