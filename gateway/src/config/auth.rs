//! `[auth]`: who the gateway lets in. JWTs from one or more issuers, checked once per
//! request; their claims reach templates as `$jwt.*` and services as headers.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The issuers whose tokens are accepted. With none, tokens are not inspected: every
    /// caller is anonymous and `@authenticated` fields are closed to all.
    #[serde(default)]
    pub issuers: Vec<IssuerConfig>,
    /// Where the token is read from.
    #[serde(default)]
    pub token: TokenSourceConfig,
    /// Clock skew tolerated on `exp` and `nbf`.
    #[serde(default = "default_leeway", with = "humantime_serde")]
    pub leeway: Duration,
    /// Headers sent to the services with a claim of the caller's token, header name to
    /// claim name. A list claim (`scope` as an array) is sent space-separated. These
    /// headers are always removed from the client's request first, so they cannot be forged.
    #[serde(default = "default_forward")]
    pub forward_claims: BTreeMap<String, String>,
}

fn default_leeway() -> Duration {
    Duration::from_secs(30)
}

fn default_forward() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("x-user-id".to_owned(), "sub".to_owned()),
        ("x-user-scopes".to_owned(), "scope".to_owned()),
    ])
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            issuers: Vec::new(),
            token: TokenSourceConfig::default(),
            leeway: default_leeway(),
            forward_claims: default_forward(),
        }
    }
}

/// `[auth.token]`: the header (and optionally a cookie) that carries the token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSourceConfig {
    /// The request header holding the token. For `authorization` the value must use the
    /// `Bearer` scheme (other schemes are left alone: the caller is anonymous).
    #[serde(default = "default_token_header")]
    pub header: String,
    /// A cookie holding the token, read when the header is absent.
    #[serde(default)]
    pub cookie: Option<String>,
}

fn default_token_header() -> String {
    "authorization".to_owned()
}

impl Default for TokenSourceConfig {
    fn default() -> Self {
        TokenSourceConfig {
            header: default_token_header(),
            cookie: None,
        }
    }
}

/// `[[auth.issuers]]`: one token issuer and its keys. Exactly one of `secret`,
/// `secret_env`, `public_key_file` or `jwks_url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The `iss` claim this issuer's tokens must carry. Unset: `iss` is not checked.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Accepted `aud` values; a token must name one of them. Empty: `aud` is not checked.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// The algorithms accepted with this issuer's keys, all of the keys' family. Default:
    /// `HS256` for a secret, `RS256` for RSA keys, `ES256`/`ES384` for EC keys by curve,
    /// `EdDSA` for Ed25519 keys; a JWKS key's own `alg` wins over this list.
    #[serde(default)]
    pub algorithms: Vec<String>,
    /// A shared HMAC secret (HS256/384/512), in the file itself. Prefer `secret_env`.
    #[serde(default)]
    pub secret: Option<String>,
    /// The name of an environment variable holding the HMAC secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// A PEM public key file (RSA, EC or Ed25519). A relative path is taken from the
    /// config file's folder.
    #[serde(default)]
    pub public_key_file: Option<PathBuf>,
    /// A JWKS document's URL, fetched at start and every `jwks_refresh`, and again when a
    /// token names a key id it does not hold (at most once per `jwks_min_refresh`).
    #[serde(default)]
    pub jwks_url: Option<String>,
    #[serde(default = "default_jwks_refresh", with = "humantime_serde")]
    pub jwks_refresh: Duration,
    #[serde(default = "default_jwks_min_refresh", with = "humantime_serde")]
    pub jwks_min_refresh: Duration,
}

fn default_jwks_refresh() -> Duration {
    Duration::from_secs(600)
}

fn default_jwks_min_refresh() -> Duration {
    Duration::from_secs(10)
}

impl Default for IssuerConfig {
    fn default() -> Self {
        IssuerConfig {
            issuer: None,
            audiences: Vec::new(),
            algorithms: Vec::new(),
            secret: None,
            secret_env: None,
            public_key_file: None,
            jwks_url: None,
            jwks_refresh: default_jwks_refresh(),
            jwks_min_refresh: default_jwks_min_refresh(),
        }
    }
}
