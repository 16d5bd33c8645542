//! Who is asking: what a request's templates, cache keys and forwarded headers may use.

use std::hash::{DefaultHasher, Hash, Hasher};

use reqwest::header::{AUTHORIZATION, COOKIE, HeaderMap, HeaderName, HeaderValue};

/// The caller of one GraphQL request.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// Identifies the caller in cache keys: two callers with different credentials never
    /// share a private cached response. Derived from the credentials, never the raw token.
    pub scope: String,
    /// Verified token claims (`$jwt.*`); `None` for an anonymous caller.
    pub claims: Option<serde_json::Value>,
    /// The incoming request's headers, for `$headers.*` templates.
    pub headers: HeaderMap,
    /// Headers sent with every upstream call of this request (trace context, identity).
    pub forward: Vec<(HeaderName, HeaderValue)>,
    /// The address the request's connection comes from.
    pub peer: Option<std::net::IpAddr>,
}

impl Caller {
    /// A caller identified by its request headers: the credentials it presents
    /// (`Authorization`, `Cookie`) decide its cache scope.
    pub fn from_headers(headers: HeaderMap) -> Caller {
        let mut hasher = DefaultHasher::new();
        let mut credentials = false;
        for name in [AUTHORIZATION, COOKIE] {
            for value in headers.get_all(&name) {
                credentials = true;
                name.as_str().hash(&mut hasher);
                value.as_bytes().hash(&mut hasher);
            }
        }
        let scope = if credentials {
            format!("c{:016x}", hasher.finish())
        } else {
            "anonymous".to_owned()
        };
        let forward = headers
            .get("traceparent")
            .map(|value| vec![(HeaderName::from_static("traceparent"), value.clone())])
            .unwrap_or_default();
        Caller {
            scope,
            claims: None,
            headers,
            forward,
            peer: None,
        }
    }

    /// This caller, connected from `peer`.
    pub fn with_peer(mut self, peer: Option<std::net::IpAddr>) -> Caller {
        self.peer = peer;
        self
    }

    /// This caller, identified by a verified token: `claims` for `$jwt.*`, `forward` sent
    /// to every service. The cache scope covers the token too, wherever it was read from.
    pub fn authenticated(
        mut self,
        claims: serde_json::Value,
        forward: Vec<(HeaderName, HeaderValue)>,
        token: &str,
    ) -> Caller {
        let mut hasher = DefaultHasher::new();
        self.scope.hash(&mut hasher);
        token.hash(&mut hasher);
        self.scope = format!("t{:016x}", hasher.finish());
        self.claims = Some(claims);
        self.forward.extend(forward);
        self
    }
}
