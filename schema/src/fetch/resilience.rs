//! What stands between the engine and a failing service, per source: a circuit breaker
//! (failsafe), a retry budget (tower's), a concurrency limit (a semaphore), and the
//! backoff between retries.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    time::Duration,
};

use failsafe::{
    StateMachine,
    backoff::{self, Constant},
    failure_policy::{ConsecutiveFailures, consecutive_failures},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::retry::budget::{Budget, TpsBudget};

use super::FetchError;
use crate::model::{SourceName, SourcePolicy};

/// A circuit's state, as `/ready` and metrics show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

impl CircuitState {
    pub fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half_open",
        }
    }
}

/// Keeps the breaker's state readable from outside (failsafe does not expose it).
#[derive(Debug, Clone, Default)]
struct StateCell(Arc<AtomicU8>);

impl failsafe::Instrument for StateCell {
    fn on_call_rejected(&self) {}

    fn on_open(&self) {
        self.0.store(1, Ordering::Relaxed);
    }

    fn on_half_open(&self) {
        self.0.store(2, Ordering::Relaxed);
    }

    fn on_closed(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

type Breaker = StateMachine<ConsecutiveFailures<Constant>, StateCell>;

/// One source's guards.
pub struct Guard {
    policy: SourcePolicy,
    breaker: Option<Breaker>,
    state: StateCell,
    budget: TpsBudget,
    bulkhead: Option<Arc<Semaphore>>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("policy", &self.policy)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// The window over which retries are budgeted.
const BUDGET_WINDOW: Duration = Duration::from_secs(10);

impl Guard {
    pub fn new(policy: &SourcePolicy) -> Guard {
        let state = StateCell::default();
        let breaker = (policy.breaker_failures > 0).then(|| {
            failsafe::Config::new()
                .failure_policy(consecutive_failures(
                    policy.breaker_failures,
                    backoff::constant(policy.breaker_open_for),
                ))
                .instrument(state.clone())
                .build()
        });
        Guard {
            budget: TpsBudget::new(
                BUDGET_WINDOW,
                policy.retry_budget_min_per_second,
                policy.retry_budget.clamp(0.0, 1000.0),
            ),
            bulkhead: (policy.max_concurrency > 0)
                .then(|| Arc::new(Semaphore::new(policy.max_concurrency))),
            policy: policy.clone(),
            breaker,
            state,
        }
    }

    pub fn policy(&self) -> &SourcePolicy {
        &self.policy
    }

    pub fn state(&self) -> CircuitState {
        match self.state.0.load(Ordering::Relaxed) {
            1 => CircuitState::Open,
            2 => CircuitState::HalfOpen,
            _ => CircuitState::Closed,
        }
    }

    /// Admits a call: counts it toward the retry budget and takes a concurrency slot,
    /// or fails fast.
    pub fn admit(&self, source: &SourceName) -> Result<Option<OwnedSemaphorePermit>, FetchError> {
        self.budget.deposit();
        match &self.bulkhead {
            None => Ok(None),
            Some(slots) => {
                slots
                    .clone()
                    .try_acquire_owned()
                    .map(Some)
                    .map_err(|_| FetchError::Overloaded {
                        service: source.clone(),
                    })
            }
        }
    }

    /// Whether the circuit lets an attempt through.
    pub fn permits(&self, source: &SourceName) -> Result<(), FetchError> {
        match &self.breaker {
            Some(breaker) if !breaker.is_call_permitted() => Err(FetchError::CircuitOpen {
                service: source.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Records an attempt's outcome: timeouts, unavailability and 5xx count against the
    /// service; anything it answered otherwise counts for it.
    pub fn record<T>(&self, result: &Result<T, FetchError>) {
        let Some(breaker) = &self.breaker else { return };
        let failed = matches!(
            result,
            Err(FetchError::Timeout { .. } | FetchError::Unavailable { .. })
        ) || matches!(result, Err(FetchError::Status { status, .. }) if *status >= 500);
        if failed {
            breaker.on_error();
        } else {
            breaker.on_success();
        }
    }

    /// Whether attempt number `attempt` (0 the first) of an idempotent call that ended
    /// with `error` gets another try; takes the retry from the budget.
    pub fn retry(&self, error: &FetchError, attempt: u32) -> bool {
        let transient = matches!(error, FetchError::Unavailable { .. })
            || matches!(error, FetchError::Status { status, .. } if matches!(status, 500 | 502 | 503 | 504));
        transient && attempt < self.policy.retries && self.budget.withdraw()
    }

    /// The wait before retry number `retry` (1 the first): full jitter over an
    /// exponentially growing cap.
    pub fn backoff(&self, retry: u32) -> Duration {
        let cap = self
            .policy
            .retry_backoff
            .saturating_mul(1 << retry.saturating_sub(1).min(16))
            .min(self.policy.retry_backoff_max);
        cap.mul_f64(rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> SourceName {
        SourceName("s".into())
    }

    #[tokio::test]
    async fn the_breaker_opens_after_consecutive_failures_and_closes_after_a_success() {
        let guard = Guard::new(&SourcePolicy {
            breaker_failures: 3,
            breaker_open_for: Duration::from_millis(50),
            ..SourcePolicy::default()
        });
        let failure: Result<(), FetchError> = Err(FetchError::Status {
            service: source(),
            status: 503,
        });
        for _ in 0..3 {
            assert!(guard.permits(&source()).is_ok());
            guard.record(&failure);
        }
        assert_eq!(guard.state(), CircuitState::Open);
        assert!(matches!(
            guard.permits(&source()),
            Err(FetchError::CircuitOpen { .. })
        ));
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(
            guard.permits(&source()).is_ok(),
            "a probe after the open time"
        );
        assert_eq!(guard.state(), CircuitState::HalfOpen);
        guard.record::<()>(&Ok(()));
        assert_eq!(guard.state(), CircuitState::Closed);
    }

    #[test]
    fn retries_only_transient_failures_within_the_budget() {
        let guard = Guard::new(&SourcePolicy {
            retries: 5,
            retry_budget: 0.0,
            retry_budget_min_per_second: 1,
            ..SourcePolicy::default()
        });
        let unavailable = FetchError::Unavailable { service: source() };
        let not_found = FetchError::Status {
            service: source(),
            status: 404,
        };
        assert!(!guard.retry(&not_found, 0));
        assert!(!guard.retry(&FetchError::Timeout { service: source() }, 0));
        // The budget allows about min_per_second x window retries with no traffic.
        let allowed = (0..100).filter(|_| guard.retry(&unavailable, 0)).count();
        assert!((1..=10).contains(&allowed), "{allowed} retries");
        assert!(!guard.retry(&unavailable, 5), "attempts are bounded too");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let guard = Guard::new(&SourcePolicy {
            retry_backoff: Duration::from_millis(10),
            retry_backoff_max: Duration::from_millis(40),
            ..SourcePolicy::default()
        });
        for _ in 0..50 {
            assert!(guard.backoff(1) <= Duration::from_millis(10));
            assert!(guard.backoff(10) <= Duration::from_millis(40));
        }
    }
}
