//! Where a request's token is: a header (`Authorization: Bearer` by default) or a cookie.

use axum::http::{HeaderMap, HeaderName, header};

use super::{AuthConfigError, AuthError};
use crate::config::auth::TokenSourceConfig;

#[derive(Debug)]
pub struct TokenSource {
    header: HeaderName,
    cookie: Option<String>,
}

impl TokenSource {
    pub fn new(config: &TokenSourceConfig) -> Result<TokenSource, AuthConfigError> {
        let header = HeaderName::try_from(config.header.as_str())
            .map_err(|_| AuthConfigError::TokenHeader(config.header.clone()))?;
        Ok(TokenSource {
            header,
            cookie: config.cookie.clone(),
        })
    }

    /// The token the request carries, if any. A header that is there but unreadable is an
    /// error; an `Authorization` of another scheme than `Bearer` is not ours to judge.
    pub fn token(&self, headers: &HeaderMap) -> Result<Option<String>, AuthError> {
        if let Some(value) = headers.get(&self.header) {
            let value = value.to_str().map_err(|_| AuthError::Malformed)?.trim();
            let token = if self.header == header::AUTHORIZATION {
                match value.split_once(' ') {
                    Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
                    _ if value.eq_ignore_ascii_case("bearer") => "",
                    _ => return Ok(None),
                }
            } else {
                value
            };
            if token.is_empty() {
                return Err(AuthError::Malformed);
            }
            return Ok(Some(token.to_owned()));
        }
        let Some(name) = &self.cookie else {
            return Ok(None);
        };
        for value in headers.get_all(header::COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            for pair in value.split(';') {
                if let Some((key, token)) = pair.trim().split_once('=')
                    && key == name
                    && !token.is_empty()
                {
                    return Ok(Some(token.to_owned()));
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn source(header: &str, cookie: Option<&str>) -> TokenSource {
        TokenSource::new(&TokenSourceConfig {
            header: header.to_owned(),
            cookie: cookie.map(str::to_owned),
        })
        .expect("a valid source")
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn bearer_tokens_are_read_and_other_schemes_left_alone() {
        let source = source("authorization", None);
        let token = source.token(&headers(&[("authorization", "Bearer a.b.c")]));
        assert_eq!(token, Ok(Some("a.b.c".to_owned())));
        let token = source.token(&headers(&[("authorization", "bearer  a.b.c ")]));
        assert_eq!(token, Ok(Some("a.b.c".to_owned())));
        let token = source.token(&headers(&[("authorization", "Basic dXNlcjpwdw==")]));
        assert_eq!(token, Ok(None));
        let token = source.token(&headers(&[("authorization", "Bearer ")]));
        assert_eq!(token, Err(AuthError::Malformed));
        assert_eq!(source.token(&HeaderMap::new()), Ok(None));
    }

    #[test]
    fn other_header_and_cookie() {
        let source = source("x-token", Some("session"));
        let token = source.token(&headers(&[("x-token", "a.b.c")]));
        assert_eq!(token, Ok(Some("a.b.c".to_owned())));
        let token = source.token(&headers(&[("cookie", "theme=dark; session=x.y.z")]));
        assert_eq!(token, Ok(Some("x.y.z".to_owned())));
        let token = source.token(&headers(&[("cookie", "sessionx=1")]));
        assert_eq!(token, Ok(None));
    }
}
