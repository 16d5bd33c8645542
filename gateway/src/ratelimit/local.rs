//! In-process counters: governor's GCRA, one keyed limiter per class, idle keys evicted
//! every minute so memory follows the clients active recently, not all ever seen.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex, PoisonError, Weak},
    time::Duration,
};

use governor::{
    Quota as Gcra, RateLimiter as GcraLimiter,
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
};

use super::{Decision, Quota, RateLimitBackend};

type Keyed =
    GcraLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// One limiter per class and quota.
type Limiters = Mutex<HashMap<(String, Quota), Arc<Keyed>>>;

const EVICT_EVERY: Duration = Duration::from_secs(60);

/// Counters of this process.
#[derive(Debug, Default)]
pub struct LocalBackend {
    limiters: Arc<Limiters>,
    clock: DefaultClock,
}

impl LocalBackend {
    pub fn new() -> LocalBackend {
        let backend = LocalBackend::default();
        let limiters: Weak<_> = Arc::downgrade(&backend.limiters);
        // Without a runtime (unit tests) nothing is evicted; a gateway always has one.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(evict_idle(limiters));
        }
        backend
    }

    fn limiter(&self, class: &str, quota: &Quota) -> Arc<Keyed> {
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        limiters
            .entry((class.to_owned(), *quota))
            .or_insert_with(|| {
                let gcra = Gcra::with_period(quota.per_request())
                    .unwrap_or_else(|| Gcra::per_second(NonZeroU32::MAX))
                    .allow_burst(quota.burst);
                Arc::new(GcraLimiter::keyed(gcra).with_middleware::<StateInformationMiddleware>())
            })
            .clone()
    }
}

async fn evict_idle(limiters: Weak<Limiters>) {
    loop {
        tokio::time::sleep(EVICT_EVERY).await;
        let Some(limiters) = limiters.upgrade() else {
            return;
        };
        let all: Vec<Arc<Keyed>> = limiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for limiter in all {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[async_graphql::async_trait::async_trait]
impl RateLimitBackend for LocalBackend {
    async fn check(&self, class: &str, key: &str, quota: &Quota, weight: NonZeroU32) -> Decision {
        let limiter = self.limiter(class, quota);
        let per_request = quota.per_request();
        let burst = quota.burst.get();
        match limiter.check_key_n(&key.to_owned(), weight) {
            Ok(Ok(state)) => {
                let remaining = state.remaining_burst_capacity();
                Decision {
                    allowed: true,
                    limit: quota.limit.get(),
                    remaining,
                    reset: per_request * burst.saturating_sub(remaining),
                    retry_after: None,
                }
            }
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Decision {
                    allowed: false,
                    limit: quota.limit.get(),
                    remaining: 0,
                    reset: wait + per_request * burst.saturating_sub(weight.get()),
                    retry_after: Some(wait),
                }
            }
            // The weight is capped at the burst by the caller, so this cannot happen; if
            // it did, refusing for a whole period is the safe answer.
            Err(_) => Decision {
                allowed: false,
                limit: quota.limit.get(),
                remaining: 0,
                reset: quota.period,
                retry_after: Some(quota.period),
            },
        }
    }
}
