//! A second-level response cache the host may attach (the gateway's is Redis), shared by
//! replicas: a new replica starts warm, and one replica's answer saves the others a call.
//! Only answers the schema marks cacheable (`@cacheControl(maxAge:)`) go through it.

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::PreparedRequest;

/// Where shared answers live. Keys are digests that differ for any difference in the
/// call or its caller scope; values are the response's JSON.
#[async_graphql::async_trait::async_trait]
pub trait SharedCache: Send + Sync + std::fmt::Debug {
    /// The body and how long it stays fresh, if held.
    async fn get(&self, key: &str) -> Option<(Vec<u8>, Duration)>;
    /// Holds `body` for `ttl`. Failures are the cache's to report; callers go on.
    async fn put(&self, key: String, body: Vec<u8>, ttl: Duration);
}

/// The shared key of a call: a SHA-256 of everything that makes it this call for this
/// caller scope. A 64-bit hash would risk one caller reading another's answer.
pub fn key(request: &PreparedRequest) -> String {
    let mut digest = Sha256::new();
    let mut field = |bytes: &[u8]| {
        digest.update((bytes.len() as u64).to_le_bytes());
        digest.update(bytes);
    };
    field(request.source.as_str().as_bytes());
    field(request.method.as_str().as_bytes());
    field(request.path_and_query.as_bytes());
    field(request.body.as_deref().unwrap_or_default());
    for (name, value) in &request.headers {
        field(name.as_str().as_bytes());
        field(value.as_bytes());
    }
    field(request.scope.as_deref().unwrap_or("public").as_bytes());
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
