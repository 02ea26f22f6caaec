//! Seeded fault injection for both simulators: a configurable share of requests answered
//! 429 (with or without `Retry-After`), 500 or 503, answered only after the caller's timeout,
//! or dropped with no answer. The same seed gives the same sequence of faults.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};

/// How often each fault happens (each a share of requests, 0 to 1; their sum at most 1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FaultRates {
    /// The random sequence.
    pub seed: u64,
    /// 429 with `Retry-After: 1`.
    pub rate_limited: f64,
    /// 429 without `Retry-After`.
    pub rate_limited_bare: f64,
    /// 500 or 503 (half each).
    pub server_error: f64,
    /// Handled, but answered only after `slow_ms` (past the caller's timeout: it cannot know
    /// whether the request took effect).
    pub slow: f64,
    /// The connection closed without an answer (the request not handled).
    pub dropped: f64,
    /// The delay of a slow answer, in milliseconds.
    pub slow_ms: u64,
}

impl FaultRates {
    /// `share` of requests faulted, spread evenly over the five kinds.
    pub fn even(seed: u64, share: f64, slow_ms: u64) -> Self {
        let each = share / 5.0;
        Self {
            seed,
            rate_limited: each,
            rate_limited_bare: each,
            server_error: each,
            slow: each,
            dropped: each,
            slow_ms,
        }
    }
}

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer 429.
    RateLimited {
        /// With `Retry-After: 1`.
        retry_after: bool,
    },
    /// Answer this 5xx.
    ServerError(u16),
    /// Handle, then answer after this long.
    Slow(Duration),
    /// Close the connection without an answer.
    Dropped,
}

/// How many of each fault were injected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultCounts {
    /// Requests seen while faults were on.
    pub requests: u64,
    /// 429s.
    pub rate_limited: u64,
    /// 500s and 503s.
    pub server_errors: u64,
    /// Slow answers.
    pub slow: u64,
    /// Dropped connections.
    pub dropped: u64,
}

#[derive(Debug, Default)]
struct State {
    plan: Option<(FaultRates, StdRng)>,
    counts: FaultCounts,
}

/// A simulator's fault plan. Cheap to clone; off until [`Faults::set`].
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<State>>);

impl Faults {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Turns faults on with `rates` (restarting the seeded sequence), or off with `None`.
    pub fn set(&self, rates: Option<FaultRates>) {
        self.state().plan = rates.map(|r| {
            let rng = StdRng::seed_from_u64(r.seed);
            (r, rng)
        });
    }

    /// The fault for the next request, if any.
    pub fn pick(&self) -> Option<Fault> {
        let mut state = self.state();
        let State { plan, counts } = &mut *state;
        let (rates, rng) = plan.as_mut()?;
        counts.requests += 1;
        let roll: f64 = rng.random();
        let mut edge = rates.rate_limited;
        let fault = if roll < edge {
            Fault::RateLimited { retry_after: true }
        } else if roll < {
            edge += rates.rate_limited_bare;
            edge
        } {
            Fault::RateLimited { retry_after: false }
        } else if roll < {
            edge += rates.server_error;
            edge
        } {
            Fault::ServerError(if rng.random::<bool>() { 500 } else { 503 })
        } else if roll < {
            edge += rates.slow;
            edge
        } {
            Fault::Slow(Duration::from_millis(rates.slow_ms))
        } else if roll < edge + rates.dropped {
            Fault::Dropped
        } else {
            return None;
        };
        match fault {
            Fault::RateLimited { .. } => counts.rate_limited += 1,
            Fault::ServerError(_) => counts.server_errors += 1,
            Fault::Slow(_) => counts.slow += 1,
            Fault::Dropped => counts.dropped += 1,
        }
        Some(fault)
    }

    /// What was injected so far.
    pub fn counts(&self) -> FaultCounts {
        self.state().counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_faults_at_about_the_asked_rate() {
        let run = |seed| {
            let faults = Faults::default();
            faults.set(Some(FaultRates::even(seed, 0.3, 50)));
            (0..2000).map(|_| faults.pick()).collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
        let faulted = a.iter().filter(|f| f.is_some()).count();
        assert!((500..700).contains(&faulted), "{faulted} of 2000");
        for kind in [
            Fault::RateLimited { retry_after: true },
            Fault::RateLimited { retry_after: false },
            Fault::ServerError(500),
            Fault::ServerError(503),
            Fault::Slow(Duration::from_millis(50)),
            Fault::Dropped,
        ] {
            assert!(a.contains(&Some(kind)), "{kind:?} never happened");
        }
        let off = Faults::default();
        assert_eq!(off.pick(), None);
    }
}
