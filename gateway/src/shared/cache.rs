//! The second-level response cache in Redis: `prefix:cache:<sha256>` keys holding the
//! JSON body, expiring with the answer's freshness.

use std::time::Duration;

use switchyard_schema::fetch::shared::SharedCache;

use super::Redis;

#[derive(Debug)]
pub struct RedisCache {
    redis: Redis,
    max_entry_bytes: usize,
}

impl RedisCache {
    pub fn new(redis: Redis, max_entry_bytes: usize) -> RedisCache {
        RedisCache {
            redis,
            max_entry_bytes,
        }
    }
}

#[async_graphql::async_trait::async_trait]
impl SharedCache for RedisCache {
    async fn get(&self, key: &str) -> Option<(Vec<u8>, Duration)> {
        let key = self.redis.key("cache", key);
        let (body, ttl_ms): (Option<Vec<u8>>, i64) = self
            .redis
            .run(|mut connection| async move {
                redis::pipe()
                    .get(&key)
                    .pttl(&key)
                    .query_async(&mut connection)
                    .await
            })
            .await
            .ok()?;
        // A key without a TTL was not written by us; one about to expire is not worth it.
        (ttl_ms > 10).then_some(())?;
        Some((body?, Duration::from_millis(u64::try_from(ttl_ms).ok()?)))
    }

    async fn put(&self, key: String, body: Vec<u8>, ttl: Duration) {
        if body.len() > self.max_entry_bytes || ttl.as_millis() == 0 {
            return;
        }
        let key = self.redis.key("cache", &key);
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .redis
            .run(|mut connection| async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(body)
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async::<()>(&mut connection)
                    .await
            })
            .await;
    }
}
