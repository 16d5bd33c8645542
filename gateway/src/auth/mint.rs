//! Development tokens: `switchyard token` and the demo's banner sign with the configured
//! HMAC secret, so a token for any user and scopes is one command away.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Map, Value, json};

use crate::config::{AuthConfig, IssuerConfig};

/// What a development token says.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub subject: String,
    pub scopes: Vec<String>,
    pub valid_for: Duration,
    /// Extra claims, as JSON values.
    pub claims: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error(
        "no HMAC issuer is configured: add an [[auth.issuers]] with `secret` or `secret_env` (or use `--demo`)"
    )]
    NoSecret,
    #[error("environment variable `{0}` (secret_env) is not set")]
    MissingEnv(String),
    #[error("signing the token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

fn secret_of(issuer: &IssuerConfig) -> Result<Option<String>, MintError> {
    if let Some(secret) = &issuer.secret {
        return Ok(Some(secret.clone()));
    }
    match &issuer.secret_env {
        Some(var) => std::env::var(var)
            .map(Some)
            .map_err(|_| MintError::MissingEnv(var.clone())),
        None => Ok(None),
    }
}

/// Signs a token with the first HMAC issuer of `config`, with its `iss` and first audience.
pub fn mint(config: &AuthConfig, request: &TokenRequest) -> Result<String, MintError> {
    for issuer in &config.issuers {
        let Some(secret) = secret_of(issuer)? else {
            continue;
        };
        let algorithm = issuer
            .algorithms
            .first()
            .and_then(|name| name.parse().ok())
            .unwrap_or(jsonwebtoken::Algorithm::HS256);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut claims = request.claims.clone();
        claims.insert("sub".to_owned(), json!(request.subject));
        claims.insert("scope".to_owned(), json!(request.scopes.join(" ")));
        claims.insert("iat".to_owned(), json!(now));
        claims.insert(
            "exp".to_owned(),
            json!(now.saturating_add(request.valid_for.as_secs())),
        );
        if let Some(iss) = &issuer.issuer {
            claims.insert("iss".to_owned(), json!(iss));
        }
        if let Some(aud) = issuer.audiences.first() {
            claims.insert("aud".to_owned(), json!(aud));
        }
        let key = EncodingKey::from_secret(secret.as_bytes())?;
        return Ok(jsonwebtoken::encode(
            &Header::new(algorithm),
            &claims,
            &key,
        )?);
    }
    Err(MintError::NoSecret)
}
