//! `dts run`'s progress bars on a terminal (indicatif): one bar per table
//! being copied (rows of the estimate, rate, ETA), its secondary-index
//! build, and a line for incremental migration (position, counts, lag).
//! Redrawn twice a second; lines the run reports print above them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use dts_core::commands::{ApplyProgress, Progress, TableState};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bars' area on standard error.
pub(crate) fn area() -> MultiProgress {
    MultiProgress::with_draw_target(ProgressDrawTarget::stderr())
}

fn table_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {human_pos}/{human_len} rows, {msg}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn line_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix:.bold} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// Draws the copy's and the apply's progress in `mp` until aborted.
pub(crate) fn spawn(
    mp: MultiProgress,
    copy: Progress,
    apply: ApplyProgress,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut bars: HashMap<String, ProgressBar> = HashMap::new();
        // Where each table's bar started (rows, when), for its rate.
        let mut started: HashMap<String, (u64, Instant)> = HashMap::new();
        let mut lag: Option<ProgressBar> = None;
        loop {
            let c = copy.snapshot();
            for t in &c.tables {
                let bar = |bars: &mut HashMap<String, ProgressBar>| {
                    bars.entry(t.table.clone())
                        .or_insert_with(|| {
                            let b = mp.add(ProgressBar::new(t.estimated_rows.max(t.rows)));
                            b.set_style(table_style());
                            b.set_prefix(t.table.clone());
                            b
                        })
                        .clone()
                };
                match t.state {
                    TableState::Waiting | TableState::AlreadyDone => {}
                    TableState::Copying => {
                        let b = bar(&mut bars);
                        // The estimate is the server's; the count may pass it.
                        b.set_length(t.estimated_rows.max(t.rows));
                        b.set_position(t.rows);
                        let (r0, t0) = *started
                            .entry(t.table.clone())
                            .or_insert((t.rows, Instant::now()));
                        let secs = t0.elapsed().as_secs_f64();
                        let rate = if secs > 0.0 {
                            (t.rows - r0.min(t.rows)) as f64 / secs
                        } else {
                            0.0
                        };
                        let left = t.estimated_rows.saturating_sub(t.rows) as f64;
                        b.set_message(if rate > 0.0 {
                            format!("{rate:.0} rows/s, ETA {:.0} s", left / rate)
                        } else {
                            "starting".to_string()
                        });
                    }
                    TableState::BuildingIndexes => {
                        let b = bar(&mut bars);
                        b.set_length(t.rows);
                        b.set_position(t.rows);
                        b.set_message("building secondary indexes");
                    }
                    TableState::Finished => {
                        if let Some(b) = bars.get(&t.table).filter(|b| !b.is_finished()) {
                            b.set_length(t.rows);
                            b.set_position(t.rows);
                            b.finish_with_message("done");
                        }
                    }
                }
            }
            let a = apply.status();
            if let Some(p) = &a.position {
                let b = lag.get_or_insert_with(|| {
                    let b = mp.add(ProgressBar::new_spinner());
                    b.set_style(line_style());
                    b.set_prefix("incremental");
                    b
                });
                b.set_message(format!(
                    "lag {}, at {p}, {} transactions, {} row changes",
                    a.lag
                        .map(|l| format!("{:.1} s", l.as_secs_f64()))
                        .unwrap_or_else(|| "unknown".into()),
                    a.transactions,
                    a.rows,
                ));
                b.tick();
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
}
