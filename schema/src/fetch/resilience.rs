//! What stands between the engine and a failing service, per source: a circuit breaker
//! (failsafe), a retry budget, a concurrency limit (a semaphore), and the backoff between
//! retries.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU8, Ordering},
    },
    time::{Duration, Instant},
};

use failsafe::{
    StateMachine,
    backoff::{self, Constant},
    failure_policy::{ConsecutiveFailures, consecutive_failures},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
    budget: RetryBudget,
    bulkhead: Option<Arc<Semaphore>>,
}

/// Retries allowed over a sliding window: a share of the calls made in it, plus a floor
/// per second. tower's `TpsBudget` was tried first: it checks its balance and withdraws
/// in two steps and expires its slots unevenly, and let 575 retries through where its
/// settings allowed 500 (2,000 calls, 30 % failing, 16 at a time).
struct RetryBudget {
    ratio: f64,
    floor: f64,
    /// Per second of the window: calls and retries.
    seconds: Mutex<VecDeque<(u64, u64, u64)>>,
    start: Instant,
}

impl RetryBudget {
    fn new(ratio: f32, min_per_second: u32) -> RetryBudget {
        RetryBudget {
            ratio: f64::from(ratio.max(0.0)),
            floor: f64::from(min_per_second) * BUDGET_WINDOW.as_secs_f64(),
            seconds: Mutex::new(VecDeque::new()),
            start: Instant::now(),
        }
    }

    /// The window's buckets, expired ones dropped, the current one last.
    fn window(&self) -> std::sync::MutexGuard<'_, VecDeque<(u64, u64, u64)>> {
        let now = self.start.elapsed().as_secs();
        let mut seconds = self.seconds.lock().unwrap_or_else(PoisonError::into_inner);
        while seconds
            .front()
            .is_some_and(|(second, _, _)| second + BUDGET_WINDOW.as_secs() <= now)
        {
            seconds.pop_front();
        }
        if seconds.back().is_none_or(|(second, _, _)| *second != now) {
            seconds.push_back((now, 0, 0));
        }
        seconds
    }

    fn deposit(&self) {
        if let Some(current) = self.window().back_mut() {
            current.1 += 1;
        }
    }

    fn withdraw(&self) -> bool {
        let mut window = self.window();
        let (calls, retries) = window.iter().fold((0, 0), |(c, r), (_, calls, retries)| {
            (c + calls, r + retries)
        });
        let allowed = self.ratio * calls as f64 + self.floor;
        if (retries as f64) < allowed.floor() {
            if let Some(current) = window.back_mut() {
                current.2 += 1;
            }
            true
        } else {
            false
        }
    }
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
            budget: RetryBudget::new(policy.retry_budget, policy.retry_budget_min_per_second),
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
        // With no share, the floor: min_per_second x the 10 s window.
        let allowed = (0..100).filter(|_| guard.retry(&unavailable, 0)).count();
        assert_eq!(allowed, 10);
        assert!(!guard.retry(&unavailable, 5), "attempts are bounded too");
    }

    #[test]
    fn the_budget_is_a_share_of_the_calls_plus_a_floor() {
        let budget = RetryBudget::new(0.2, 0);
        for _ in 0..100 {
            budget.deposit();
        }
        let allowed = (0..100).filter(|_| budget.withdraw()).count();
        assert_eq!(allowed, 20);
        let budget = RetryBudget::new(0.2, 1);
        for _ in 0..100 {
            budget.deposit();
        }
        assert_eq!((0..100).filter(|_| budget.withdraw()).count(), 30);
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
