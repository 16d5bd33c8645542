//! A fully rendered upstream call, and the cache policy that goes with it.

use std::{sync::Arc, time::Duration};

use reqwest::{
    Method,
    header::{HeaderName, HeaderValue},
};

use crate::model::{CacheHint, CacheScope, SourceName};

/// One upstream call. Equal requests are the same call: the loader deduplicates them and
/// the cache keys them (with the caller's scope when private).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PreparedRequest {
    pub source: SourceName,
    pub method: Method,
    /// The schema's path template, for traces (equal paths come from equal templates).
    pub route: Arc<str>,
    /// Path and query, appended to the source's base URL.
    pub path_and_query: String,
    pub body: Option<Arc<[u8]>>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `None` when the response may be shared by any caller.
    pub scope: Option<Arc<str>>,
    /// The schema's cache hint for this call.
    pub max_age: Option<Duration>,
}

impl PreparedRequest {
    pub fn is_cacheable_method(&self) -> bool {
        self.method == Method::GET
    }
}

/// The cache scope of a call: public only when the schema says so.
pub fn scope_for(hint: Option<CacheHint>, caller_scope: &str) -> Option<Arc<str>> {
    match hint.map(|h| h.scope) {
        Some(CacheScope::Public) => None,
        _ => Some(Arc::from(caller_scope)),
    }
}

/// The parts of an upstream `Cache-Control` header that matter to the gateway.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheControl {
    pub max_age: Option<Duration>,
    pub no_store: bool,
    pub private: bool,
}

impl CacheControl {
    pub fn parse(header: Option<&str>) -> CacheControl {
        let mut control = CacheControl::default();
        for directive in header
            .unwrap_or("")
            .split(',')
            .map(|d| d.trim().to_ascii_lowercase())
        {
            if directive == "no-store" || directive == "no-cache" {
                control.no_store = true;
            } else if directive == "private" {
                control.private = true;
            } else if let Some(seconds) = directive.strip_prefix("max-age=") {
                control.max_age = seconds
                    .trim_matches('"')
                    .parse()
                    .ok()
                    .map(Duration::from_secs);
            }
        }
        control
    }
}

/// How long a response may be served from the cache: the shorter of the schema's hint and
/// the upstream's `max-age`; never when the upstream forbids storing, or calls a response
/// `private` that the schema declared public.
pub fn time_to_live(request: &PreparedRequest, upstream: CacheControl) -> Duration {
    if !request.is_cacheable_method()
        || upstream.no_store
        || (request.scope.is_none() && upstream.private)
    {
        return Duration::ZERO;
    }
    match (request.max_age, upstream.max_age) {
        (Some(hint), Some(upstream)) => hint.min(upstream),
        (Some(age), None) | (None, Some(age)) => age,
        (None, None) => Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(scope: Option<&str>, max_age: Option<u64>) -> PreparedRequest {
        PreparedRequest {
            source: SourceName("s".into()),
            method: Method::GET,
            route: Arc::from("/x"),
            path_and_query: "/x".into(),
            body: None,
            headers: vec![],
            scope: scope.map(Arc::from),
            max_age: max_age.map(Duration::from_secs),
        }
    }

    #[test]
    fn ttl_is_the_shorter_of_hint_and_upstream() {
        let upstream = CacheControl::parse(Some("public, max-age=10"));
        assert_eq!(
            time_to_live(&request(Some("a"), Some(60)), upstream),
            Duration::from_secs(10)
        );
        assert_eq!(
            time_to_live(&request(Some("a"), Some(5)), upstream),
            Duration::from_secs(5)
        );
        assert_eq!(
            time_to_live(&request(Some("a"), None), CacheControl::default()),
            Duration::ZERO
        );
    }

    #[test]
    fn no_store_and_private_upstreams_are_respected() {
        assert_eq!(
            time_to_live(
                &request(Some("a"), Some(60)),
                CacheControl::parse(Some("no-store"))
            ),
            Duration::ZERO
        );
        assert_eq!(
            time_to_live(
                &request(None, Some(60)),
                CacheControl::parse(Some("private, max-age=60"))
            ),
            Duration::ZERO
        );
        assert_eq!(
            time_to_live(
                &request(Some("a"), Some(60)),
                CacheControl::parse(Some("private, max-age=60"))
            ),
            Duration::from_secs(60)
        );
    }
}
