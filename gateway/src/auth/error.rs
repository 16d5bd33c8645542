//! Why a token was refused, in words safe to show the client: never a key, a claim's
//! expected value, or the JWT library's own message.

/// A refused token. Each reason has a stable machine name (`extensions.reason`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("unsigned tokens (alg \"none\") are not accepted")]
    Unsigned,
    #[error("the token's signing algorithm is not accepted")]
    AlgorithmNotAccepted,
    #[error("the token is signed with an unknown key")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token is from an issuer that is not accepted")]
    WrongIssuer,
    #[error("the token is not meant for this audience")]
    WrongAudience,
    #[error("the token lacks the `{0}` claim")]
    MissingClaim(String),
}

impl AuthError {
    /// The stable name of the reason, for `extensions.reason`, logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Malformed => "malformed",
            AuthError::Unsigned => "unsigned",
            AuthError::AlgorithmNotAccepted => "algorithm_not_accepted",
            AuthError::UnknownKey => "unknown_key",
            AuthError::BadSignature => "bad_signature",
            AuthError::Expired => "expired",
            AuthError::NotYetValid => "not_yet_valid",
            AuthError::WrongIssuer => "wrong_issuer",
            AuthError::WrongAudience => "wrong_audience",
            AuthError::MissingClaim(_) => "missing_claim",
        }
    }
}

/// Why the `[auth]` config cannot be used; the gateway does not start.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("auth.issuers[{index}]: {reason}")]
    Issuer { index: usize, reason: String },
    #[error("auth.forward_claims: `{0}` is not a valid header name")]
    HeaderName(String),
    #[error("auth.token.header: `{0}` is not a valid header name")]
    TokenHeader(String),
}
