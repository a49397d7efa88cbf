//! What a run shares with its caller while it runs: the stop signal, the
//! copy's, the apply's and the verification's progress, the lines it reports, its phase and
//! error counts.

use std::sync::Arc;

use bulk_copy::{ApplyProgress, Progress, StopSignal};

use crate::metrics::RunCounters;

use super::control::LiveControl;
use super::phase::Phase;

/// What a run reports as it goes.
pub type Reporter = Arc<dyn Fn(&str) + Send + Sync>;

/// Handles a run shares with its caller.
#[derive(Clone)]
pub struct RunHandles {
    /// Raised to stop at the next safe point (Ctrl-C).
    pub stop: StopSignal,
    /// The copy's progress.
    pub copy: Progress,
    /// The apply's status.
    pub apply: ApplyProgress,
    /// The verification's progress (`dts verify`, the check at cut-over).
    pub verify: Progress,
    /// Lines for the user.
    pub report: Reporter,
    /// The phase being run.
    pub phase: Arc<std::sync::Mutex<Phase>>,
    /// Errors met (retried or not).
    pub errors: Arc<std::sync::atomic::AtomicU64>,
    /// Retries of the task's phases.
    pub retries: Arc<std::sync::atomic::AtomicU64>,
    /// The copy's and the apply's throttles, as `dts throttle`/`dts pause`
    /// change them.
    pub control: LiveControl,
}

impl Default for RunHandles {
    fn default() -> Self {
        RunHandles {
            stop: StopSignal::new(),
            copy: Progress::new(),
            apply: ApplyProgress::new(),
            verify: Progress::new(),
            report: Arc::new(|_| {}),
            phase: Arc::default(),
            errors: Arc::default(),
            retries: Arc::default(),
            control: LiveControl::default(),
        }
    }
}

impl RunHandles {
    /// The counters the metrics endpoint shows.
    pub fn counters(&self) -> RunCounters {
        let c = self.copy.snapshot();
        let a = self.apply.status();
        RunCounters {
            phase: self.phase.lock().map(|p| p.to_string()).unwrap_or_default(),
            rows_copied: c.rows,
            bytes_copied: c.bytes,
            rows_applied: a.rows,
            transactions_applied: a.transactions,
            lag: a.lag,
            conflicts: a.conflicts_overwritten + a.conflicts_skipped,
            retries: a.retries + self.retries.load(std::sync::atomic::Ordering::Relaxed),
            errors: self.errors.load(std::sync::atomic::Ordering::Relaxed),
            source_server: a.source_server,
            gtid_state: a.gtid_state,
            source_switches: a.source_switches,
        }
    }
}
