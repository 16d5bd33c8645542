//! Rate-limit counters in Redis: one GCRA decision per request, atomic in one server-side
//! script on one key, with the key's TTL set to when it no longer matters.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use redis::Script;

use super::Redis;
use crate::{
    config::FailurePolicy,
    ratelimit::{Decision, LocalBackend, Quota, RateLimitBackend},
};

/// GCRA over Redis' own clock (so replicas' clocks need not agree), in microseconds.
/// KEYS[1]: the client's key. ARGV: microseconds per request, burst, weight.
/// Returns {allowed, remaining, reset_us, retry_after_us}.
const GCRA: &str = r#"
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local per = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local weight = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + weight * per
local capacity = burst * per
if new_tat - now > capacity then
  local wait = new_tat - now - capacity
  local remaining = math.floor((capacity - (tat - now)) / per)
  return {0, remaining, tat - now, wait}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return {1, math.floor((capacity - (new_tat - now)) / per), new_tat - now, 0}
"#;

/// Counts in Redis; falls back to in-process counters (or refuses) while Redis is away.
#[derive(Debug)]
pub struct RedisRateLimits {
    redis: Redis,
    script: Script,
    policy: FailurePolicy,
    fallback: LocalBackend,
}

impl RedisRateLimits {
    pub fn new(redis: Redis, policy: FailurePolicy) -> Arc<RedisRateLimits> {
        Arc::new(RedisRateLimits {
            redis,
            script: Script::new(GCRA),
            policy,
            fallback: LocalBackend::new(),
        })
    }
}

fn micros(d: i64) -> Duration {
    Duration::from_micros(u64::try_from(d).unwrap_or(0))
}

#[async_graphql::async_trait::async_trait]
impl RateLimitBackend for RedisRateLimits {
    async fn check(&self, class: &str, key: &str, quota: &Quota, weight: NonZeroU32) -> Decision {
        // The quota is part of the key, as in the in-process counters: a changed quota
        // starts afresh instead of inheriting a schedule computed for another rate.
        let redis_key = self.redis.key(
            "rl",
            &format!(
                "{class}:{}/{}ms/{}:{key}",
                quota.limit,
                quota.period.as_millis(),
                quota.burst
            ),
        );
        let per = quota.per_request().as_micros().max(1);
        let script = &self.script;
        let answer = self
            .redis
            .run(|mut connection| async move {
                script
                    .key(&redis_key)
                    .arg(per.to_string())
                    .arg(quota.burst.get())
                    .arg(weight.get())
                    .invoke_async::<(i64, i64, i64, i64)>(&mut connection)
                    .await
            })
            .await;
        match answer {
            Ok((allowed, remaining, reset, wait)) => Decision {
                allowed: allowed == 1,
                limit: quota.limit.get(),
                remaining: u32::try_from(remaining.max(0)).unwrap_or(0),
                reset: micros(reset),
                retry_after: (allowed != 1).then(|| micros(wait)),
            },
            Err(_) => match self.policy {
                FailurePolicy::Open => self.fallback.check(class, key, quota, weight).await,
                FailurePolicy::Closed => Decision {
                    allowed: false,
                    limit: quota.limit.get(),
                    remaining: 0,
                    reset: Duration::from_secs(1),
                    retry_after: Some(Duration::from_secs(1)),
                },
            },
        }
    }
}
