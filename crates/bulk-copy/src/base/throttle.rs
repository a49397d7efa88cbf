//! Rate limits on queries, rows and bytes per second, changeable while the
//! work runs.
//!
//! Each limit is a virtual clock (GCRA): a request of cost `c` under a rate
//! `r` starts when the clock allows it and moves the clock `c / r` seconds
//! on. A request never waits for itself, only for the ones before it, so a
//! large buffer goes out at once and the next one waits for it to be "paid";
//! over any long run the rate is the limit. Changing a limit takes effect on
//! the next request.
//!
//! A throttle can also be paused: requests then wait (checking every 100
//! ms) until it is resumed, so the work using it makes no progress past the
//! requests already granted.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The limits; `None` is unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ThrottleLimits {
    /// Queries per second (one per SELECT chunk).
    pub queries_per_sec: Option<f64>,
    /// Rows per second.
    pub rows_per_sec: Option<f64>,
    /// Bytes per second (of the encoded rows sent to the target).
    pub bytes_per_sec: Option<f64>,
}

/// A shared rate limiter; clones share the same limits and clocks.
#[derive(Clone, Debug, Default)]
pub struct Throttle {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    limits: ThrottleLimits,
    /// Requests wait while this is set.
    paused: bool,
    /// The virtual clock of each dimension: queries, rows, bytes.
    clock: [Option<Instant>; 3],
}

impl Throttle {
    /// A limiter with these limits.
    pub fn new(limits: ThrottleLimits) -> Self {
        let t = Throttle::default();
        t.set_limits(limits);
        t
    }

    /// Changes the limits; running work sees them from its next request.
    pub fn set_limits(&self, limits: ThrottleLimits) {
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        s.limits = limits;
        let rates = [
            limits.queries_per_sec,
            limits.rows_per_sec,
            limits.bytes_per_sec,
        ];
        for (clock, rate) in s.clock.iter_mut().zip(rates) {
            if !rate.is_some_and(valid) {
                *clock = None;
            }
        }
    }

    /// The current limits.
    pub fn limits(&self) -> ThrottleLimits {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).limits
    }

    /// Pauses (`true`) or resumes (`false`) the work: while paused, every
    /// request waits.
    pub fn set_paused(&self, paused: bool) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).paused = paused;
    }

    /// Whether the throttle is paused.
    pub fn is_paused(&self) -> bool {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).paused
    }

    /// Waits while the throttle is paused, then until `queries`, `rows` and
    /// `bytes` may be spent, and spends them.
    pub async fn acquire(&self, queries: u64, rows: u64, bytes: u64) {
        while self.is_paused() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let wait = self.reserve(Instant::now(), [queries, rows, bytes]);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Books a request made at `now` and says how long it must wait.
    fn reserve(&self, now: Instant, cost: [u64; 3]) -> Duration {
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let l = s.limits;
        let rates = [l.queries_per_sec, l.rows_per_sec, l.bytes_per_sec];
        let mut start = now;
        for (clock, rate) in s.clock.iter().zip(rates) {
            if let (Some(c), Some(r)) = (clock, rate) {
                if valid(r) && *c > start {
                    start = *c;
                }
            }
        }
        for ((clock, rate), c) in s.clock.iter_mut().zip(rates).zip(cost) {
            match rate {
                Some(r) if valid(r) => {
                    // Capped so that an absurd cost cannot overflow Instant.
                    let secs = (c as f64 / r).min(86_400.0 * 365.0);
                    *clock = Some(start + Duration::from_secs_f64(secs));
                }
                _ => *clock = None,
            }
        }
        start - now
    }
}

fn valid(rate: f64) -> bool {
    rate.is_finite() && rate > 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_waits() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..100 {
            assert_eq!(t.reserve(now, [1, 1_000_000, 1 << 30]), Duration::ZERO);
        }
    }

    #[test]
    fn rows_limit_spaces_requests_by_their_cost() {
        let t = Throttle::new(ThrottleLimits {
            rows_per_sec: Some(1000.0),
            ..Default::default()
        });
        let now = Instant::now();
        // The first request goes at once; each later one waits for the
        // rows booked before it: 500 rows at 1000 rows/s is 0.5 s.
        assert_eq!(t.reserve(now, [1, 500, 0]), Duration::ZERO);
        assert_eq!(t.reserve(now, [1, 500, 0]), Duration::from_millis(500));
        assert_eq!(t.reserve(now, [1, 500, 0]), Duration::from_millis(1000));
        // Later in real time, the wait shrinks accordingly.
        let later = now + Duration::from_millis(1200);
        assert_eq!(t.reserve(later, [1, 100, 0]), Duration::from_millis(300));
    }

    #[test]
    fn the_strictest_dimension_decides() {
        let t = Throttle::new(ThrottleLimits {
            queries_per_sec: Some(10.0),
            rows_per_sec: Some(1_000_000.0),
            bytes_per_sec: Some(1000.0),
        });
        let now = Instant::now();
        assert_eq!(t.reserve(now, [1, 10, 2000]), Duration::ZERO);
        // Bytes: 2000 at 1000/s = 2 s; queries: 0.1 s; rows: 10 us.
        assert_eq!(t.reserve(now, [1, 10, 0]), Duration::from_secs(2));
    }

    #[test]
    fn limits_change_while_running() {
        let t = Throttle::new(ThrottleLimits {
            rows_per_sec: Some(100.0),
            ..Default::default()
        });
        let now = Instant::now();
        t.reserve(now, [0, 100, 0]);
        assert_eq!(t.reserve(now, [0, 100, 0]), Duration::from_secs(1));
        // Lifting the limit clears the clock: no more waiting.
        t.set_limits(ThrottleLimits::default());
        assert_eq!(t.reserve(now, [0, 100, 0]), Duration::ZERO);
        assert_eq!(t.limits(), ThrottleLimits::default());
        // A new, tighter limit applies from the next request.
        t.set_limits(ThrottleLimits {
            rows_per_sec: Some(10.0),
            ..Default::default()
        });
        assert_eq!(t.reserve(now, [0, 10, 0]), Duration::ZERO);
        assert_eq!(t.reserve(now, [0, 10, 0]), Duration::from_secs(1));
    }

    #[test]
    fn nonsense_rates_are_unlimited() {
        let t = Throttle::new(ThrottleLimits {
            queries_per_sec: Some(0.0),
            rows_per_sec: Some(f64::NAN),
            bytes_per_sec: Some(-5.0),
        });
        let now = Instant::now();
        assert_eq!(t.reserve(now, [5, 5, 5]), Duration::ZERO);
        assert_eq!(t.reserve(now, [5, 5, 5]), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_paused_throttle_holds_requests_until_resumed() {
        let t = Throttle::default();
        t.set_paused(true);
        assert!(t.is_paused());
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let j = tokio::spawn({
            let (t, done) = (t.clone(), done.clone());
            async move {
                t.acquire(1, 1, 1).await;
                done.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !done.load(std::sync::atomic::Ordering::SeqCst),
            "a request went through a paused throttle"
        );
        t.set_paused(false);
        j.await.expect("the request completes once resumed");
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
    }
}
