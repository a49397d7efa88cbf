//! Progress of a copy, per table and in total, for the CLI to display: the
//! copy updates a shared [`Progress`] and anyone holding a clone reads a
//! [`ProgressSnapshot`] (rows, bytes, rate, ETA) whenever it likes.
//!
//! Rows and bytes count what was committed on the target (a rolled-back
//! load is not progress). Estimates come from `information_schema` and are
//! only estimates: the ETA says so by being an `Option`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a table is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableState {
    /// Not started.
    Waiting,
    /// Being copied.
    Copying,
    /// Its rows are copied; the secondary indexes dropped for the load are
    /// being added back.
    BuildingIndexes,
    /// Copied in this run.
    Finished,
    /// Already copied by an earlier run of the same task: not copied again.
    AlreadyDone,
}

/// One table's progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableProgress {
    /// The target table, quoted as `db`.`table`.
    pub table: String,
    /// Where it is.
    pub state: TableState,
    /// Rows written to the target in this run: committed, or sent inside
    /// a one-transaction load that commits them all at its end.
    pub rows: u64,
    /// Bytes of row data committed in this run.
    pub bytes: u64,
    /// Rows the source's statistics estimate (0 when unknown).
    pub estimated_rows: u64,
}

/// A point-in-time view of a copy's progress.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgressSnapshot {
    /// Every table, in the order they were given.
    pub tables: Vec<TableProgress>,
    /// Rows written in this run (see [`TableProgress::rows`]).
    pub rows: u64,
    /// Bytes committed in this run.
    pub bytes: u64,
    /// Rows estimated for the tables still to copy in this run plus those
    /// copied: the denominator of a progress bar.
    pub estimated_rows: u64,
    /// Time since the copy started.
    pub elapsed: Duration,
    /// Average rows per second since the start.
    pub rows_per_sec: f64,
    /// Average bytes per second since the start.
    pub bytes_per_sec: f64,
    /// Estimated time left, when there is a rate to go by.
    pub eta: Option<Duration>,
}

/// A shared progress record: cheap to clone, safe to read from any task.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    started: Option<Instant>,
    tables: Vec<TableProgress>,
}

impl Progress {
    /// A new, empty record.
    pub fn new() -> Self {
        Progress::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Starts the clock with these tables (target names, quoted), all
    /// waiting: called once by the work that reports progress.
    pub fn start(&self, tables: Vec<String>) {
        self.with(|i| {
            i.started = Some(Instant::now());
            i.tables = tables
                .into_iter()
                .map(|table| TableProgress {
                    table,
                    state: TableState::Waiting,
                    rows: 0,
                    bytes: 0,
                    estimated_rows: 0,
                })
                .collect();
        });
    }

    /// Table `i` (in the order given to [`Progress::start`]) is being
    /// worked on, with this many rows estimated.
    pub fn table_started(&self, i: usize, estimated_rows: u64) {
        self.with(|s| {
            if let Some(t) = s.tables.get_mut(i) {
                t.state = TableState::Copying;
                t.estimated_rows = estimated_rows;
            }
        });
    }

    /// Table `i` is now in `state`.
    pub fn set_state(&self, i: usize, state: TableState) {
        self.with(|s| {
            if let Some(t) = s.tables.get_mut(i) {
                t.state = state;
            }
        });
    }

    /// Rows and bytes of table `i` are done (committed, or compared).
    pub fn committed(&self, i: usize, rows: u64, bytes: u64) {
        self.with(|s| {
            if let Some(t) = s.tables.get_mut(i) {
                t.rows += rows;
                t.bytes += bytes;
            }
        });
    }

    /// The progress now.
    pub fn snapshot(&self) -> ProgressSnapshot {
        self.with(|s| {
            let elapsed = s.started.map(|t| t.elapsed()).unwrap_or_default();
            let rows: u64 = s.tables.iter().map(|t| t.rows).sum();
            let bytes: u64 = s.tables.iter().map(|t| t.bytes).sum();
            let estimated_rows: u64 = s
                .tables
                .iter()
                .filter(|t| t.state != TableState::AlreadyDone)
                .map(|t| match t.state {
                    TableState::Finished | TableState::BuildingIndexes => t.rows,
                    _ => t.estimated_rows.max(t.rows),
                })
                .sum();
            let secs = elapsed.as_secs_f64();
            let (rows_per_sec, bytes_per_sec) = if secs > 0.0 {
                (rows as f64 / secs, bytes as f64 / secs)
            } else {
                (0.0, 0.0)
            };
            let all_known = s.tables.iter().all(|t| t.state != TableState::Waiting);
            let eta = (rows_per_sec > 0.0 && all_known).then(|| {
                Duration::from_secs_f64(estimated_rows.saturating_sub(rows) as f64 / rows_per_sec)
            });
            ProgressSnapshot {
                tables: s.tables.clone(),
                rows,
                bytes,
                estimated_rows,
                elapsed,
                rows_per_sec,
                bytes_per_sec,
                eta,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_rates_and_eta() {
        let p = Progress::new();
        p.start(vec!["`d`.`a`".into(), "`d`.`b`".into(), "`d`.`c`".into()]);
        assert_eq!(p.snapshot().eta, None, "no ETA before every table is sized");
        p.table_started(0, 100);
        p.table_started(1, 300);
        p.set_state(2, TableState::AlreadyDone);
        p.committed(0, 100, 1000);
        p.set_state(0, TableState::Finished);
        p.committed(1, 50, 500);
        std::thread::sleep(Duration::from_millis(20));
        let s = p.snapshot();
        assert_eq!((s.rows, s.bytes, s.estimated_rows), (150, 1500, 400));
        assert!(s.rows_per_sec > 0.0);
        let eta = s.eta.expect("an ETA once every table is sized");
        // 250 rows to go at the measured rate.
        let expected = 250.0 / s.rows_per_sec;
        assert!((eta.as_secs_f64() - expected).abs() < 1e-6 * expected.max(1.0));
        assert_eq!(s.tables[2].state, TableState::AlreadyDone);
    }
}
