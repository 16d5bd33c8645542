//! Authentication: the caller's JWT, checked once per request against the configured
//! issuers' keys (secrets, PEM public keys, JWKS), turned into the engine's [`Caller`].
//!
//! It runs in the HTTP handler, before GraphQL execution, because a refused token is an
//! HTTP 401 with `WWW-Authenticate`, not a field error; field rules (`@authenticated`,
//! `@requiresScopes`) are then the engine's, per field.

mod error;
mod jwks;
mod keys;
pub mod mint;
mod token;

use std::{collections::HashSet, sync::Arc};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use jsonwebtoken::{Algorithm, Validation, errors::ErrorKind};
use serde_json::{Map, Value};
use switchyard_schema::Caller;

pub use error::{AuthConfigError, AuthError};
use jwks::Jwks;
pub use keys::KeyError;
use keys::VerifyKey;
pub use token::TokenSource;

use crate::config::{AuthConfig, IssuerConfig};

/// A verified token.
#[derive(Debug, Clone)]
pub struct Identity {
    pub claims: Map<String, Value>,
    pub token: String,
}

/// One accepted issuer: its claim checks and its keys.
#[derive(Debug)]
struct Issuer {
    issuer: Option<String>,
    audiences: Vec<String>,
    keys: Vec<VerifyKey>,
    jwks: Option<Arc<Jwks>>,
}

/// Checks tokens and builds callers. With no issuers configured, tokens are not
/// inspected and every caller is anonymous.
#[derive(Debug)]
pub struct Authenticator {
    issuers: Vec<Issuer>,
    source: TokenSource,
    leeway: u64,
    forward: Vec<(HeaderName, String)>,
}

/// The JWT header fields that choose a key, read before any verification.
#[derive(serde::Deserialize)]
struct JwtHeader {
    alg: String,
    kid: Option<String>,
}

fn read_header(token: &str) -> Result<JwtHeader, AuthError> {
    use base64::Engine as _;
    let first = token.split('.').next().ok_or(AuthError::Malformed)?;
    if token.split('.').count() != 3 {
        return Err(AuthError::Malformed);
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(first.trim_end_matches('='))
        .map_err(|_| AuthError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed)
}

impl Authenticator {
    /// Builds the issuers' keys, fetching JWKS documents once (a JWKS that cannot be
    /// fetched now is retried in the background; its tokens are refused until then).
    pub async fn new(config: &AuthConfig) -> Result<Authenticator, AuthConfigError> {
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| AuthConfigError::Issuer {
                index: 0,
                reason: format!("cannot build an HTTP client: {e}"),
            })?;
        let mut issuers = Vec::with_capacity(config.issuers.len());
        for (index, issuer) in config.issuers.iter().enumerate() {
            let built = build_issuer(issuer, &client)
                .map_err(|reason| AuthConfigError::Issuer { index, reason })?;
            if let Some(jwks) = &built.jwks {
                if let Err(error) = jwks.fetch().await {
                    tracing::error!(%error, "JWKS not loaded at start; retrying in the background");
                }
                jwks.keep_fresh(issuer.jwks_refresh);
            }
            issuers.push(built);
        }
        let mut forward = Vec::new();
        for (header, claim) in &config.forward_claims {
            let name = HeaderName::try_from(header.as_str())
                .map_err(|_| AuthConfigError::HeaderName(header.clone()))?;
            forward.push((name, claim.clone()));
        }
        Ok(Authenticator {
            issuers,
            source: TokenSource::new(&config.token)?,
            leeway: config.leeway.as_secs(),
            forward,
        })
    }

    /// True when tokens are checked at all.
    pub fn enabled(&self) -> bool {
        !self.issuers.is_empty()
    }

    /// The caller of a request with `headers`: anonymous without a token, identified by
    /// its claims with a valid one, refused with a bad one.
    pub async fn caller(&self, mut headers: HeaderMap) -> Result<Caller, AuthError> {
        let identity = self.authenticate(&headers).await?;
        // Identity headers come from the token only: a client's own copies are dropped,
        // so no template and no service can read a forged one.
        for (name, _) in &self.forward {
            headers.remove(name);
        }
        let caller = Caller::from_headers(headers);
        Ok(match identity {
            None => caller,
            Some(identity) => {
                let forward = self.forward_headers(&identity.claims);
                caller.authenticated(Value::Object(identity.claims), forward, &identity.token)
            }
        })
    }

    /// The verified token of a request, if it carries one.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<Identity>, AuthError> {
        if !self.enabled() {
            return Ok(None);
        }
        let Some(token) = self.source.token(headers)? else {
            return Ok(None);
        };
        let claims = self.verify(&token).await?;
        Ok(Some(Identity { claims, token }))
    }

    /// Verifies `token` against the keys that may have signed it.
    pub async fn verify(&self, token: &str) -> Result<Map<String, Value>, AuthError> {
        let header = read_header(token)?;
        if header.alg.eq_ignore_ascii_case("none") {
            return Err(AuthError::Unsigned);
        }
        let alg: Algorithm = header
            .alg
            .parse()
            .map_err(|_| AuthError::AlgorithmNotAccepted)?;
        match self.try_keys(token, alg, header.kid.as_deref()) {
            Err(AuthError::UnknownKey) if header.kid.is_some() => {
                // A key id we do not hold: maybe the issuer rotated its keys.
                let mut refreshed = false;
                for jwks in self.issuers.iter().filter_map(|i| i.jwks.as_ref()) {
                    refreshed |= jwks.refresh_on_demand().await;
                }
                if refreshed {
                    self.try_keys(token, alg, header.kid.as_deref())
                } else {
                    Err(AuthError::UnknownKey)
                }
            }
            other => other,
        }
    }

    fn try_keys(
        &self,
        token: &str,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<Map<String, Value>, AuthError> {
        let mut alg_accepted = false;
        let mut tried = false;
        for issuer in &self.issuers {
            let published = issuer.jwks.as_ref().map(|jwks| jwks.keys());
            let published = published.iter().flat_map(|keys| keys.iter());
            for key in issuer.keys.iter().chain(published) {
                if !key.algorithms.contains(&alg) {
                    continue;
                }
                alg_accepted = true;
                if let (Some(wanted), Some(held)) = (kid, key.kid.as_deref())
                    && wanted != held
                {
                    continue;
                }
                tried = true;
                let validation = self.validation(issuer, alg);
                match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation) {
                    Ok(data) => return Ok(data.claims),
                    // Not this key: try the next one.
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm
                        ) => {}
                    // The signature held (claims are checked after it): this is the answer.
                    Err(e) => return Err(claim_error(e.kind())),
                }
            }
        }
        Err(if tried {
            AuthError::BadSignature
        } else if alg_accepted {
            AuthError::UnknownKey
        } else {
            AuthError::AlgorithmNotAccepted
        })
    }

    fn validation(&self, issuer: &Issuer, alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        let mut required: HashSet<&str> = HashSet::from(["exp"]);
        if let Some(iss) = &issuer.issuer {
            validation.set_issuer(&[iss]);
            required.insert("iss");
        }
        if issuer.audiences.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&issuer.audiences);
            required.insert("aud");
        }
        validation.set_required_spec_claims(&required.into_iter().collect::<Vec<_>>());
        validation
    }

    /// The identity headers for the services, from the configured claims.
    pub fn forward_headers(&self, claims: &Map<String, Value>) -> Vec<(HeaderName, HeaderValue)> {
        self.forward
            .iter()
            .filter_map(|(name, claim)| {
                let text = match claims.get(claim)? {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Array(items) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" "),
                    Value::Null | Value::Object(_) => return None,
                };
                Some((name.clone(), HeaderValue::from_str(&text).ok()?))
            })
            .collect()
    }
}

fn claim_error(kind: &ErrorKind) -> AuthError {
    match kind {
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim(claim.clone()),
        _ => AuthError::Malformed,
    }
}

fn build_issuer(config: &IssuerConfig, client: &reqwest::Client) -> Result<Issuer, String> {
    let sources = [
        config.secret.is_some(),
        config.secret_env.is_some(),
        config.public_key_file.is_some(),
        config.jwks_url.is_some(),
    ];
    if sources.iter().filter(|set| **set).count() != 1 {
        return Err(
            "set exactly one of `secret`, `secret_env`, `public_key_file`, `jwks_url`".to_owned(),
        );
    }
    let mut keys = Vec::new();
    let mut jwks = None;
    if let Some(secret) = &config.secret {
        keys.push(
            keys::from_secret(secret.as_bytes(), &config.algorithms).map_err(|e| e.to_string())?,
        );
    }
    if let Some(var) = &config.secret_env {
        let secret = std::env::var(var)
            .map_err(|_| format!("environment variable `{var}` (secret_env) is not set"))?;
        keys.push(
            keys::from_secret(secret.as_bytes(), &config.algorithms).map_err(|e| e.to_string())?,
        );
    }
    if let Some(file) = &config.public_key_file {
        let pem = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        keys.push(
            keys::from_pem(&pem, &config.algorithms)
                .map_err(|e| format!("{}: {e}", file.display()))?,
        );
    }
    if let Some(url) = &config.jwks_url {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("jwks_url `{url}`: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("jwks_url `{url}`: not an http(s) URL"));
        }
        jwks = Some(Arc::new(Jwks::new(
            url.clone(),
            client.clone(),
            config.algorithms.clone(),
            config.jwks_min_refresh,
        )));
    }
    Ok(Issuer {
        issuer: config.issuer.clone(),
        audiences: config.audiences.clone(),
        keys,
        jwks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_read_without_trusting_it() {
        assert!(matches!(read_header("abc"), Err(AuthError::Malformed)));
        assert!(matches!(read_header("a.b"), Err(AuthError::Malformed)));
        assert!(matches!(read_header("!!!.b.c"), Err(AuthError::Malformed)));
        // {"alg":"none"}
        let header = read_header("eyJhbGciOiJub25lIn0.e30.").expect("a header");
        assert_eq!(header.alg, "none");
    }
}
