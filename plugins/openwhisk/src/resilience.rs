//! Converging under faults: a per-entity retry budget and an AIMD bound on requests in
//! flight, for the requests of a deploy run.
//!
//! Why here and not in the transport: every request a deploy sends is idempotent (`GET`, and
//! `PUT ?overwrite=true`, which leaves the same entity however often it lands), so a deploy
//! may retry what a generic client must not — a 500 included, the answer OpenWhisk gives when
//! its database write raced or timed out. The transport sends each attempt once; this module
//! decides whether to try again, how long to wait, and how many requests may be in flight.
//!
//! * **Retry budget, per entity**: at most [`EntityRetry::max_attempts`] attempts and at most
//!   [`EntityRetry::budget`] of wall time, so one unlucky entity cannot hold a deploy for
//!   ever and the others still get their own tries.
//! * **Backoff**: exponential from [`EntityRetry::base_delay`] with "equal jitter" (half
//!   fixed, half random), capped at [`EntityRetry::max_delay`]; a server's `Retry-After`
//!   replaces it (still capped, and never past the budget).
//! * **AIMD**: on 429 or 503 the server says it is overloaded, so the bound on requests in
//!   flight is halved (once per burst: only requests started after the last decrease count);
//!   every success adds `1/limit`, about one more request in flight per round trip, up to
//!   `--deploy-jobs`.
//!
//! Tests and impatient users shorten the waits with `SLUICE_RETRY_BASE_MS` (the first
//! backoff, in milliseconds) and `SLUICE_RETRY_BUDGET_SECS` (the time one entity may take);
//! both are documented in the book's deploying chapter.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::Notify;

use crate::error::{OwError, Result};

/// The environment variable of [`EntityRetry::base_delay`], in milliseconds.
pub const RETRY_BASE_ENV: &str = "SLUICE_RETRY_BASE_MS";
/// The environment variable of [`EntityRetry::budget`], in seconds.
pub const RETRY_BUDGET_ENV: &str = "SLUICE_RETRY_BUDGET_SECS";

/// How often, and for how long, one entity's request is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityRetry {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The wait before the first retry; doubled for each further one, with jitter.
    pub base_delay: Duration,
    /// The longest single wait, `Retry-After` included.
    pub max_delay: Duration,
    /// The most time one entity may spend, from its first attempt to the start of its last.
    pub budget: Duration,
    /// The most time spent retrying while the host cannot be reached at all (connection
    /// refused, no route): a controller restarting is back within seconds, a wrong or dead
    /// host never is, and waiting the whole budget for it left a deploy (or a watch) silent
    /// for two minutes.
    pub unreachable_budget: Duration,
}

impl Default for EntityRetry {
    fn default() -> Self {
        EntityRetry {
            max_attempts: 20,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            budget: Duration::from_secs(120),
            unreachable_budget: Duration::from_secs(10),
        }
    }
}

impl EntityRetry {
    /// The default policy, with `SLUICE_RETRY_BASE_MS` and `SLUICE_RETRY_BUDGET_SECS`
    /// applied when they are set to numbers.
    pub fn from_env() -> Self {
        let mut policy = EntityRetry::default();
        let number = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if let Some(ms) = number(RETRY_BASE_ENV) {
            policy.base_delay = Duration::from_millis(ms);
        }
        if let Some(secs) = number(RETRY_BUDGET_ENV) {
            policy.budget = Duration::from_secs(secs);
        }
        policy
    }

    /// The wait before retry number `retry` (0-based).
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.min(20))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = rand::rng().random_range(0..=half.as_micros().max(1) as u64);
        half + Duration::from_micros(jitter)
    }
}

/// What an error means for the retry loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// The server is overloaded (429, 503): retry, and send less at once.
    Throttled,
    /// A transient failure (500, 502, 504, 408, no answer): retry.
    Transient,
    /// An answer that another try will not change (400, 401, 404, 409, …).
    Final,
}

fn verdict(e: &OwError) -> Verdict {
    match e {
        OwError::Http { status, .. } => match status {
            429 | 503 => Verdict::Throttled,
            408 | 500 | 502 | 504 => Verdict::Transient,
            _ => Verdict::Final,
        },
        OwError::Transport { .. } => Verdict::Transient,
        _ => Verdict::Final,
    }
}

fn retry_after(e: &OwError) -> Option<Duration> {
    match e {
        OwError::Http {
            retry_after: Some(secs),
            ..
        } => Some(Duration::from_secs(*secs)),
        _ => None,
    }
}

struct PacerState {
    limit: f64,
    in_flight: usize,
    last_decrease: Instant,
}

/// An additive-increase, multiplicative-decrease bound on requests in flight.
pub struct Pacer {
    max: f64,
    state: Mutex<PacerState>,
    freed: Notify,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("limit", &self.limit())
            .finish_non_exhaustive()
    }
}

/// A slot of the [`Pacer`], given back on drop.
struct Slot<'a> {
    pacer: &'a Pacer,
    started: Instant,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.pacer.state.lock() {
            s.in_flight = s.in_flight.saturating_sub(1);
        }
        self.pacer.freed.notify_waiters();
    }
}

impl Pacer {
    /// A pacer that starts at, and never goes above, `max` requests in flight.
    pub fn new(max: usize) -> Self {
        let max = max.max(1) as f64;
        Pacer {
            max,
            state: Mutex::new(PacerState {
                limit: max,
                in_flight: 0,
                last_decrease: Instant::now(),
            }),
            freed: Notify::new(),
        }
    }

    /// The current bound (at least 1).
    pub fn limit(&self) -> usize {
        self.state
            .lock()
            .map(|s| s.limit.floor().max(1.0) as usize)
            .unwrap_or(1)
    }

    async fn acquire(&self) -> Slot<'_> {
        loop {
            // Register interest before checking, so a slot freed in between is not missed.
            let mut freed = std::pin::pin!(self.freed.notified());
            freed.as_mut().enable();
            {
                let Ok(mut s) = self.state.lock() else {
                    return Slot {
                        pacer: self,
                        started: Instant::now(),
                    };
                };
                if (s.in_flight as f64) < s.limit.floor().max(1.0) {
                    s.in_flight += 1;
                    return Slot {
                        pacer: self,
                        started: Instant::now(),
                    };
                }
            }
            freed.await;
        }
    }

    fn succeeded(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.limit = (s.limit + 1.0 / s.limit).min(self.max);
        }
        self.freed.notify_waiters();
    }

    fn throttled(&self, started: Instant) {
        if let Ok(mut s) = self.state.lock()
            && started >= s.last_decrease
        {
            s.limit = (s.limit / 2.0).max(1.0);
            s.last_decrease = Instant::now();
        }
    }
}

/// Runs `attempt` under the pacer until it succeeds, fails for good, or the entity's budget
/// is spent. The error returned is the last one.
pub async fn with_retries<T, F, Fut>(
    policy: &EntityRetry,
    pacer: &Pacer,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let first = Instant::now();
    let mut tries = 0u32;
    loop {
        let slot = pacer.acquire().await;
        let outcome = attempt().await;
        let started = slot.started;
        drop(slot);
        tries += 1;
        let error = match outcome {
            Ok(v) => {
                pacer.succeeded();
                return Ok(v);
            }
            Err(e) => e,
        };
        let kind = verdict(&error);
        if kind == Verdict::Throttled {
            pacer.throttled(started);
        }
        if kind == Verdict::Final || tries >= policy.max_attempts {
            return Err(error);
        }
        let wait = retry_after(&error)
            .unwrap_or_else(|| policy.backoff(tries - 1))
            .min(policy.max_delay);
        let budget = match error {
            OwError::Transport {
                unreachable: true, ..
            } => policy.budget.min(policy.unreachable_budget),
            _ => policy.budget,
        };
        if first.elapsed() + wait > budget {
            return Err(error);
        }
        tracing::debug!(tries, ?wait, %error, "retrying");
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn http(status: u16, retry_after: Option<u64>) -> OwError {
        OwError::Http {
            method: "PUT".into(),
            url: "http://h/x".into(),
            status,
            reason: String::new(),
            error: None,
            retry_after,
        }
    }

    fn fast() -> EntityRetry {
        EntityRetry {
            max_attempts: 5,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            budget: Duration::from_secs(5),
            unreachable_budget: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn an_unreachable_host_is_given_up_on_sooner_than_a_failing_one() {
        let policy = EntityRetry {
            max_attempts: 1000,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(5),
            budget: Duration::from_secs(5),
            unreachable_budget: Duration::from_millis(40),
        };
        let pacer = Pacer::new(4);
        let tries = AtomicU32::new(0);
        let got: Result<()> = with_retries(&policy, &pacer, || async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err(OwError::Transport {
                method: "PUT".into(),
                url: "http://127.0.0.1:1/x".into(),
                message: "connection refused".into(),
                unreachable: true,
            })
        })
        .await;
        assert!(got.is_err());
        let unreachable = tries.load(Ordering::SeqCst);
        assert!((2..=12).contains(&unreachable), "{unreachable} tries");
        // The same budget keeps a host that answers 502 going far longer.
        let tries = AtomicU32::new(0);
        let got: Result<()> = with_retries(&policy, &pacer, || async {
            if tries.fetch_add(1, Ordering::SeqCst) < 30 {
                Err(http(502, None))
            } else {
                Ok(())
            }
        })
        .await;
        assert!(got.is_ok());
    }

    #[tokio::test]
    async fn a_500_is_retried_until_it_lands() {
        let tries = AtomicU32::new(0);
        let pacer = Pacer::new(4);
        let got = with_retries(&fast(), &pacer, || async {
            match tries.fetch_add(1, Ordering::SeqCst) {
                0..=2 => Err(http(500, None)),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(got.ok(), Some(7));
        assert_eq!(tries.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn final_answers_and_spent_budgets_stop() {
        let tries = AtomicU32::new(0);
        let pacer = Pacer::new(4);
        let got: Result<()> = with_retries(&fast(), &pacer, || async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err(http(409, None))
        })
        .await;
        assert_eq!(got.err().and_then(|e| e.status()), Some(409));
        assert_eq!(tries.load(Ordering::SeqCst), 1);

        let tries = AtomicU32::new(0);
        let got: Result<()> = with_retries(&fast(), &pacer, || async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err(http(502, None))
        })
        .await;
        assert!(got.is_err());
        assert_eq!(tries.load(Ordering::SeqCst), 5, "max_attempts bounds it");

        // A Retry-After longer than the budget ends the tries at once.
        let policy = EntityRetry {
            max_delay: Duration::from_secs(60),
            budget: Duration::from_millis(50),
            ..fast()
        };
        let tries = AtomicU32::new(0);
        let got: Result<()> = with_retries(&policy, &pacer, || async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err(http(429, Some(30)))
        })
        .await;
        assert!(got.is_err());
        assert_eq!(tries.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn throttling_halves_the_bound_and_successes_grow_it_back() {
        let pacer = Pacer::new(16);
        let before = Instant::now();
        pacer.throttled(before);
        assert_eq!(pacer.limit(), 8);
        // A request started before that decrease does not halve again.
        pacer.throttled(before);
        assert_eq!(pacer.limit(), 8);
        pacer.throttled(Instant::now());
        assert_eq!(pacer.limit(), 4);
        // About one more per round trip: from 4 to 16 takes (16² - 4²) / 2 = 120 successes.
        for _ in 0..200 {
            pacer.succeeded();
        }
        assert_eq!(pacer.limit(), 16, "capped at the maximum");
    }

    #[test]
    fn backoff_is_jittered_and_capped() {
        let p = EntityRetry {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            ..EntityRetry::default()
        };
        for _ in 0..50 {
            let first = p.backoff(0);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let late = p.backoff(12);
            assert!(late >= Duration::from_millis(250) && late <= Duration::from_millis(500));
        }
    }
}
