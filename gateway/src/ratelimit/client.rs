//! Telling clients apart: the token's subject, else an API key, else the IP address (from
//! `X-Forwarded-For` only when the connection comes from a trusted proxy).

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    net::IpAddr,
};

use axum::http::HeaderMap;
use serde_json::Value;

use super::{ANONYMOUS, AUTHENTICATED, Quota, RateLimiter};

/// One client: its counter key and its class's quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub key: String,
    pub class: String,
    pub quota: Quota,
}

impl RateLimiter {
    /// The client of a request: `claims` of its verified token, its headers, and the
    /// address its connection comes from.
    pub fn client(
        &self,
        claims: Option<&Value>,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> Client {
        if let Some(claims) = claims {
            let issuer = claims
                .get("iss")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let subject = claims
                .get("sub")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let (class, quota) = self.class_of(claims);
            return Client {
                key: format!("sub:{issuer}:{subject}"),
                class,
                quota,
            };
        }
        if let Some(key) = self
            .api_key_header
            .as_ref()
            .and_then(|name| headers.get(name))
            .filter(|value| !value.is_empty())
        {
            // Hashed: the counter store (Redis, logs) never holds the key itself.
            let mut hasher = DefaultHasher::new();
            key.as_bytes().hash(&mut hasher);
            return Client {
                key: format!("key:{:016x}", hasher.finish()),
                class: AUTHENTICATED.to_owned(),
                quota: self.authenticated,
            };
        }
        let ip = self.client_ip(headers, peer);
        Client {
            key: format!("ip:{}", ip.map(|ip| ip.to_string()).unwrap_or_default()),
            class: ANONYMOUS.to_owned(),
            quota: self.anonymous,
        }
    }

    /// The most generous quota among the token's configured scopes, else `authenticated`.
    fn class_of(&self, claims: &Value) -> (String, Quota) {
        let held: Vec<&str> = match claims.get("scope").or_else(|| claims.get("scp")) {
            Some(Value::String(s)) => s.split_whitespace().collect(),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        self.scopes
            .iter()
            .filter(|(scope, _)| held.contains(&scope.as_str()))
            .max_by(|(_, a), (_, b)| {
                let rate = |q: &Quota| f64::from(q.limit.get()) / q.period.as_secs_f64();
                rate(a).total_cmp(&rate(b))
            })
            .map(|(scope, quota)| (format!("scope:{scope}"), *quota))
            .unwrap_or_else(|| (AUTHENTICATED.to_owned(), self.authenticated))
    }

    /// The connection's address, or, when it is a trusted proxy, the last address in
    /// `X-Forwarded-For` that is not one: what the proxies saw, not what the client claims.
    fn client_ip(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<IpAddr> {
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        let peer = peer?;
        if !trusted(&peer) {
            return Some(peer);
        }
        let mut forwarded: Vec<IpAddr> = Vec::new();
        for value in headers.get_all("x-forwarded-for") {
            let Ok(value) = value.to_str() else {
                return Some(peer);
            };
            for hop in value.split(',') {
                match hop.trim().parse() {
                    Ok(ip) => forwarded.push(ip),
                    // A garbled chain cannot be trusted past this point.
                    Err(_) => return Some(peer),
                }
            }
        }
        forwarded
            .iter()
            .rev()
            .find(|ip| !trusted(ip))
            .or(forwarded.first())
            .copied()
            .or(Some(peer))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use axum::http::HeaderValue;
    use serde_json::json;

    use super::*;
    use crate::config::{QuotaConfig, RateLimitConfig};

    fn limiter(trusted: &[&str]) -> RateLimiter {
        let config = RateLimitConfig {
            trusted_proxies: trusted.iter().map(|t| t.parse().expect("a CIDR")).collect(),
            api_key_header: Some("x-api-key".to_owned()),
            scopes: BTreeMap::from([
                (
                    "partner".to_owned(),
                    QuotaConfig {
                        requests: 6000,
                        per: std::time::Duration::from_secs(60),
                        burst: None,
                    },
                ),
                (
                    "slow".to_owned(),
                    QuotaConfig {
                        requests: 1,
                        per: std::time::Duration::from_secs(60),
                        burst: None,
                    },
                ),
            ]),
            ..RateLimitConfig::default()
        };
        RateLimiter::from_config(&config)
            .expect("valid")
            .expect("enabled")
    }

    fn forwarded(chain: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static(chain));
        headers
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let peer = Some("10.0.0.5".parse().expect("an IP"));
        let chain = forwarded("1.2.3.4, 203.0.113.9, 10.0.0.7");
        let untrusting = limiter(&[]);
        assert_eq!(untrusting.client(None, &chain, peer).key, "ip:10.0.0.5");
        let trusting = limiter(&["10.0.0.0/8"]);
        // 1.2.3.4 is whatever the client wrote; 203.0.113.9 is who reached our proxy.
        assert_eq!(trusting.client(None, &chain, peer).key, "ip:203.0.113.9");
        let garbled = forwarded("nonsense");
        assert_eq!(trusting.client(None, &garbled, peer).key, "ip:10.0.0.5");
    }

    #[test]
    fn subject_then_api_key_then_address() {
        let limiter = limiter(&[]);
        let peer = Some("192.0.2.1".parse().expect("an IP"));
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("k-123"));
        let claims = json!({"iss": "i", "sub": "42", "scope": "partner slow"});
        let client = limiter.client(Some(&claims), &headers, peer);
        assert_eq!(client.key, "sub:i:42");
        assert_eq!(client.class, "scope:partner", "the most generous scope");
        let client = limiter.client(None, &headers, peer);
        assert!(client.key.starts_with("key:") && !client.key.contains("k-123"));
        assert_eq!(client.class, "authenticated");
        let client = limiter.client(None, &HeaderMap::new(), peer);
        assert_eq!(
            (client.key.as_str(), client.class.as_str()),
            ("ip:192.0.2.1", "anonymous")
        );
    }
}
