//! Verification keys, each pinned to the algorithms it may verify: a token's `alg` header
//! chooses among them, never the other way round (no `none`, no HS/RS confusion).

use std::str::FromStr;

use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse},
};

/// One key and what it may verify.
#[derive(Clone)]
pub struct VerifyKey {
    /// The JWKS key id; `None` for configured keys (they match any `kid`).
    pub kid: Option<String>,
    /// The algorithms accepted with this key, all of its family.
    pub algorithms: Vec<Algorithm>,
    pub key: DecodingKey,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key material.
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// Why a configured or published key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("`{0}` is not a JWT signing algorithm (HS256, RS256, PS256, ES256, EdDSA, ...)")]
    UnknownAlgorithm(String),
    #[error("algorithm {alg:?} does not fit a {family} key")]
    WrongFamily {
        alg: Algorithm,
        family: &'static str,
    },
    #[error("the HMAC secret is empty")]
    EmptySecret,
    #[error("not a PEM RSA, EC or Ed25519 public key")]
    BadPem,
    #[error("JWK {kid:?}: {reason}")]
    BadJwk { kid: Option<String>, reason: String },
}

fn family_name(alg: Algorithm) -> &'static str {
    use jsonwebtoken::AlgorithmFamily::*;
    match alg.family() {
        Hmac => "HMAC",
        Rsa => "RSA",
        Ec => "EC",
        Ed => "Ed25519",
    }
}

/// Parses configured algorithm names, defaulting to `default` and checking each against
/// the key's family (the algorithm `default` belongs to).
fn pinned(names: &[String], default: Algorithm) -> Result<Vec<Algorithm>, KeyError> {
    if names.is_empty() {
        return Ok(vec![default]);
    }
    names
        .iter()
        .map(|name| {
            let alg =
                Algorithm::from_str(name).map_err(|_| KeyError::UnknownAlgorithm(name.clone()))?;
            if alg.family() != default.family() {
                return Err(KeyError::WrongFamily {
                    alg,
                    family: family_name(default),
                });
            }
            Ok(alg)
        })
        .collect()
}

/// An HMAC secret.
pub fn from_secret(secret: &[u8], algorithms: &[String]) -> Result<VerifyKey, KeyError> {
    if secret.is_empty() {
        return Err(KeyError::EmptySecret);
    }
    let key = DecodingKey::from_secret(secret).map_err(|_| KeyError::EmptySecret)?;
    Ok(VerifyKey {
        kid: None,
        algorithms: pinned(algorithms, Algorithm::HS256)?,
        key,
    })
}

/// A PEM public key of any supported family.
pub fn from_pem(pem: &[u8], algorithms: &[String]) -> Result<VerifyKey, KeyError> {
    let (key, default) = if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        (key, Algorithm::RS256)
    } else if let Ok(key) = DecodingKey::from_ec_pem(pem) {
        // The curve is not read from the PEM: P-384 keys set `algorithms = ["ES384"]`.
        (key, Algorithm::ES256)
    } else if let Ok(key) = DecodingKey::from_ed_pem(pem) {
        (key, Algorithm::EdDSA)
    } else {
        return Err(KeyError::BadPem);
    };
    Ok(VerifyKey {
        kid: None,
        algorithms: pinned(algorithms, default)?,
        key,
    })
}

/// A key published in a JWKS document. Symmetric keys are refused: a published secret
/// is no secret. The key's own `alg` pins it; else the issuer's `algorithms`, else the
/// family default.
pub fn from_jwk(jwk: &Jwk, algorithms: &[String]) -> Result<VerifyKey, KeyError> {
    let kid = jwk.common.key_id.clone();
    let bad = |reason: &str| KeyError::BadJwk {
        kid: kid.clone(),
        reason: reason.to_owned(),
    };
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return Err(bad("not a signing key (`use` is not `sig`)"));
    }
    let default = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return Err(bad("unsupported curve")),
        },
        AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
        AlgorithmParameters::OctetKey(_) => return Err(bad("symmetric keys are not accepted")),
        _ => return Err(bad("unsupported key type")),
    };
    let algorithms = match jwk.common.key_algorithm {
        Some(alg) => {
            let name = serde_json::to_value(alg)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            pinned(&[name], default)?
        }
        None => pinned(algorithms, default)?,
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|e| bad(&e.to_string()))?;
    Ok(VerifyKey {
        kid,
        algorithms,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_algorithms_must_fit_the_key() {
        let error = from_secret(b"s3cret", &["RS256".to_owned()]).unwrap_err();
        assert!(error.to_string().contains("HMAC"), "{error}");
        let error = from_secret(b"s3cret", &["none".to_owned()]).unwrap_err();
        assert!(matches!(error, KeyError::UnknownAlgorithm(_)), "{error}");
        let key = from_secret(b"s3cret", &["HS512".to_owned()]).expect("an HMAC key");
        assert_eq!(key.algorithms, vec![Algorithm::HS512]);
        assert!(matches!(
            from_secret(b"", &[]).unwrap_err(),
            KeyError::EmptySecret
        ));
    }

    #[test]
    fn a_published_symmetric_key_is_refused() {
        let jwk: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "oct", "kid": "k1", "k": "c2VjcmV0"
        }))
        .expect("a JWK");
        let error = from_jwk(&jwk, &[]).unwrap_err();
        assert!(error.to_string().contains("symmetric"), "{error}");
    }

    #[test]
    fn garbage_pem_is_a_clear_error() {
        assert!(matches!(
            from_pem(b"-----BEGIN NONSENSE-----", &[]).unwrap_err(),
            KeyError::BadPem
        ));
    }
}
