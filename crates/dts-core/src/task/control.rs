//! Live control of a task: `dts throttle`, `dts pause` and `dts resume`.
//!
//! Through the metadata schema, as `dts stop`: the commands write the
//! task's row of `task_control` in the target's metadata schema (so whoever
//! may run the task, with the task file's target account, may control it;
//! nothing listens on a port for it). A run reads that row when it starts
//! and then every second, and applies it to the throttles of its full copy
//! and of its incremental apply:
//!
//! - a limit set with `dts throttle` replaces the task file's limit of that
//!   kind (`[full] max_*_per_sec`, `[incremental] max_*_per_sec`) for both
//!   phases; 0 lifts it; `--reset` goes back to the task file's limits.
//!   Queries are the full copy's SELECT chunks and the apply's rows events.
//! - `dts pause` holds the copy's readers before their next chunk and the
//!   apply before its next rows event (what was read is still written and
//!   committed); `dts resume` lets them go on. A stop (Ctrl-C, `dts stop`)
//!   goes through a pause.
//!
//! The row outlives the run: a task paused or throttled while no run holds
//! it starts that way (the run says so), until the next `dts resume` or
//! `dts throttle --reset`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bulk_copy::{Throttle, ThrottleLimits};
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};

use crate::config::TaskConfig;

use super::error::{db, TaskError};
use super::handles::RunHandles;
use super::sql::quote;
use super::store::lock_name;

/// What `dts throttle`, `dts pause` and `dts resume` set for a task.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ControlSettings {
    /// Rows per second: `None` the task file's limit, 0 none, else this.
    pub rows_per_sec: Option<f64>,
    /// Bytes per second, as `rows_per_sec`.
    pub bytes_per_sec: Option<f64>,
    /// Queries per second (copy chunks, apply rows events), as
    /// `rows_per_sec`.
    pub queries_per_sec: Option<f64>,
    /// Whether the copy and the apply are held.
    pub paused: bool,
}

/// A change made by `dts throttle`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ThrottleChange {
    /// A new rows-per-second limit (0: none).
    pub rows_per_sec: Option<f64>,
    /// A new bytes-per-second limit (0: none).
    pub bytes_per_sec: Option<f64>,
    /// A new queries-per-second limit (0: none).
    pub queries_per_sec: Option<f64>,
    /// Back to the task file's limits first.
    pub reset: bool,
}

/// What a control command left: the task's settings, and whether a run
/// holds the task now (it applies them within a second) or not (the next
/// run starts with them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ControlReport {
    /// The settings now stored.
    pub settings: ControlSettings,
    /// Whether a run holds the task's lease.
    pub running: bool,
}

/// The throttles of a run's copy and apply, and the settings they follow.
/// Clones share them.
#[derive(Clone, Debug, Default)]
pub struct LiveControl {
    copy: Throttle,
    apply: Throttle,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    settings: ControlSettings,
    /// Held back by a stop: a stopping run is not paused.
    stopping: bool,
    copy_base: ThrottleLimits,
    apply_base: ThrottleLimits,
}

impl LiveControl {
    /// The full copy's throttle, with the task file's limits `base` (as
    /// the live settings change them).
    pub fn copy_throttle(&self, base: ThrottleLimits) -> Throttle {
        self.lock().copy_base = base;
        self.refresh();
        self.copy.clone()
    }

    /// The incremental apply's throttle, with the task file's limits
    /// `base` (as the live settings change them).
    pub fn apply_throttle(&self, base: ThrottleLimits) -> Throttle {
        self.lock().apply_base = base;
        self.refresh();
        self.apply.clone()
    }

    /// Applies new settings.
    pub fn set(&self, settings: ControlSettings) {
        self.lock().settings = settings;
        self.refresh();
    }

    /// The settings applied.
    pub fn settings(&self) -> ControlSettings {
        self.lock().settings
    }

    /// Lifts a pause for good: the run is stopping.
    fn stopping(&self) {
        self.lock().stopping = true;
        self.refresh();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn refresh(&self) {
        let g = self.lock();
        self.copy.set_limits(merge(g.copy_base, &g.settings));
        self.apply.set_limits(merge(g.apply_base, &g.settings));
        let paused = g.settings.paused && !g.stopping;
        self.copy.set_paused(paused);
        self.apply.set_paused(paused);
    }
}

/// The limits in force: each set one replaces the base's (0: none).
fn merge(base: ThrottleLimits, s: &ControlSettings) -> ThrottleLimits {
    let one = |set: Option<f64>, base: Option<f64>| match set {
        None => base,
        Some(v) if v > 0.0 => Some(v),
        Some(_) => None,
    };
    ThrottleLimits {
        queries_per_sec: one(s.queries_per_sec, base.queries_per_sec),
        rows_per_sec: one(s.rows_per_sec, base.rows_per_sec),
        bytes_per_sec: one(s.bytes_per_sec, base.bytes_per_sec),
    }
}

async fn ensure_table(c: &mut Conn, meta: &str) -> Result<(), TaskError> {
    let m = quote(meta);
    c.query_drop(format!(
        "CREATE DATABASE IF NOT EXISTS {m}; CREATE TABLE IF NOT EXISTS {m}.`task_control` (
           `task` VARBINARY(255) NOT NULL PRIMARY KEY,
           `rows_per_sec` DOUBLE NULL,
           `bytes_per_sec` DOUBLE NULL,
           `queries_per_sec` DOUBLE NULL,
           `paused` TINYINT NOT NULL DEFAULT 0,
           `updated_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
         ) ENGINE=InnoDB"
    ))
    .await
    .map_err(db("target", format!("creating the task control table in {m}")))
}

async fn read(c: &mut Conn, meta: &str, task: &str) -> Result<ControlSettings, TaskError> {
    type Row = (Option<f64>, Option<f64>, Option<f64>, i64);
    let r: Option<Row> = c
        .exec_first(
            format!(
                "SELECT rows_per_sec, bytes_per_sec, queries_per_sec, paused \
                 FROM {}.`task_control` WHERE task = ?",
                quote(meta)
            ),
            (task,),
        )
        .await
        .map_err(db("target", "reading the task's control settings"))?;
    Ok(
        r.map_or_else(ControlSettings::default, |(r, b, q, p)| ControlSettings {
            rows_per_sec: r,
            bytes_per_sec: b,
            queries_per_sec: q,
            paused: p != 0,
        }),
    )
}

async fn write(c: &mut Conn, meta: &str, task: &str, s: &ControlSettings) -> Result<(), TaskError> {
    c.exec_drop(
        format!(
            "INSERT INTO {}.`task_control` (task, rows_per_sec, bytes_per_sec, queries_per_sec, paused) \
             VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE rows_per_sec = VALUES(rows_per_sec), \
             bytes_per_sec = VALUES(bytes_per_sec), queries_per_sec = VALUES(queries_per_sec), \
             paused = VALUES(paused)",
            quote(meta)
        ),
        (
            task,
            s.rows_per_sec,
            s.bytes_per_sec,
            s.queries_per_sec,
            i64::from(s.paused),
        ),
    )
    .await
    .map_err(db("target", "storing the task's control settings"))
}

/// Changes the stored settings of the task with `f` and says whether a run
/// holds it.
async fn change(
    cfg: &TaskConfig,
    f: impl FnOnce(&mut ControlSettings),
) -> Result<ControlReport, TaskError> {
    let target = cfg.target.connect_opts().await;
    let mut c = Conn::new(target)
        .await
        .map_err(db("target", "connecting"))?;
    let meta = &cfg.target.meta_schema;
    ensure_table(&mut c, meta).await?;
    let mut s = read(&mut c, meta, &cfg.task).await?;
    f(&mut s);
    write(&mut c, meta, &cfg.task, &s).await?;
    let held: Option<Option<i64>> = c
        .exec_first("SELECT IS_USED_LOCK(?)", (lock_name(meta, &cfg.task),))
        .await
        .map_err(db("target", "reading the task's lease"))?;
    Ok(ControlReport {
        settings: s,
        running: held.flatten().is_some(),
    })
}

/// `dts throttle`: changes the task's rate limits (see the module
/// documentation); no change at all shows them.
///
/// # Errors
///
/// A negative or non-finite limit; the target cannot be reached.
pub async fn throttle(cfg: &TaskConfig, ch: ThrottleChange) -> Result<ControlReport, TaskError> {
    for (name, v) in [
        ("--rows-per-sec", ch.rows_per_sec),
        ("--bytes-per-sec", ch.bytes_per_sec),
        ("--queries-per-sec", ch.queries_per_sec),
    ] {
        if let Some(v) = v.filter(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(TaskError::Other(format!(
                "{name} {v} is not a rate: give a number of at least 0 (0 lifts the limit)"
            )));
        }
    }
    change(cfg, |s| {
        if ch.reset {
            s.rows_per_sec = None;
            s.bytes_per_sec = None;
            s.queries_per_sec = None;
        }
        s.rows_per_sec = ch.rows_per_sec.or(s.rows_per_sec);
        s.bytes_per_sec = ch.bytes_per_sec.or(s.bytes_per_sec);
        s.queries_per_sec = ch.queries_per_sec.or(s.queries_per_sec);
    })
    .await
}

/// `dts pause` (`true`) and `dts resume` (`false`).
///
/// # Errors
///
/// The target cannot be reached.
pub async fn pause(cfg: &TaskConfig, paused: bool) -> Result<ControlReport, TaskError> {
    change(cfg, |s| s.paused = paused).await
}

/// Describes settings for the user, e.g. `paused; rows/s 500, bytes/s
/// the task file's, queries/s none`.
pub fn describe(s: &ControlSettings) -> String {
    let one = |v: Option<f64>| match v {
        None => "the task file's".to_string(),
        Some(v) if v > 0.0 => format!("{v}"),
        Some(_) => "none".to_string(),
    };
    format!(
        "{}; rows/s {}, bytes/s {}, queries/s {}",
        if s.paused { "paused" } else { "running" },
        one(s.rows_per_sec),
        one(s.bytes_per_sec),
        one(s.queries_per_sec)
    )
}

/// Reads the task's settings once (so that the first chunk already obeys
/// them), then every second while the returned task runs, applying them
/// to `h.control` and reporting each change; lifts a pause once the run is
/// asked to stop.
pub(super) async fn watch(
    target: &Opts,
    cfg: &TaskConfig,
    h: &RunHandles,
) -> Result<tokio::task::JoinHandle<()>, TaskError> {
    let meta = cfg.target.meta_schema.clone();
    let task = cfg.task.clone();
    let mut c = Conn::new(target.clone())
        .await
        .map_err(db("target", "connecting for the task's control settings"))?;
    ensure_table(&mut c, &meta).await?;
    let first = read(&mut c, &meta, &task).await?;
    if first != ControlSettings::default() {
        (h.report)(&format!(
            "control settings of `dts throttle`/`dts pause`: {} (`dts resume`, `dts throttle --reset` undo them)",
            describe(&first)
        ));
    }
    h.control.set(first);
    let (h, target) = (h.clone(), target.clone());
    Ok(tokio::spawn(async move {
        let mut conn = Some(c);
        let mut last = first;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if h.stop.is_stopped() {
                h.control.stopping();
            }
            if conn.is_none() {
                conn = Conn::new(target.clone()).await.ok();
            }
            let Some(c) = conn.as_mut() else { continue };
            match read(c, &meta, &task).await {
                Ok(s) => {
                    if s != last {
                        (h.report)(&format!("control: {}", describe(&s)));
                        h.control.set(s);
                        last = s;
                    }
                }
                Err(e) => {
                    // The run meets a lost target itself; this one tries
                    // again on a new connection.
                    tracing::warn!(error = %e, "reading the task's control settings");
                    conn = None;
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_limit_replaces_the_task_files_and_zero_lifts_it() {
        let base = ThrottleLimits {
            queries_per_sec: None,
            rows_per_sec: Some(100.0),
            bytes_per_sec: Some(1e6),
        };
        let s = ControlSettings {
            rows_per_sec: Some(5.0),
            bytes_per_sec: Some(0.0),
            queries_per_sec: Some(2.0),
            paused: false,
        };
        assert_eq!(
            merge(base, &s),
            ThrottleLimits {
                queries_per_sec: Some(2.0),
                rows_per_sec: Some(5.0),
                bytes_per_sec: None,
            }
        );
        assert_eq!(merge(base, &ControlSettings::default()), base);
    }

    #[test]
    fn live_control_reaches_both_throttles_and_a_stop_lifts_a_pause() {
        let c = LiveControl::default();
        let copy = c.copy_throttle(ThrottleLimits {
            rows_per_sec: Some(100.0),
            ..ThrottleLimits::default()
        });
        let apply = c.apply_throttle(ThrottleLimits::default());
        c.set(ControlSettings {
            queries_per_sec: Some(3.0),
            paused: true,
            ..ControlSettings::default()
        });
        assert!(copy.is_paused() && apply.is_paused());
        assert_eq!(copy.limits().rows_per_sec, Some(100.0));
        assert_eq!(copy.limits().queries_per_sec, Some(3.0));
        assert_eq!(apply.limits().queries_per_sec, Some(3.0));
        // Options made again (a retry) keep the live settings.
        let copy = c.copy_throttle(ThrottleLimits::default());
        assert!(copy.is_paused());
        assert_eq!(copy.limits().queries_per_sec, Some(3.0));
        c.stopping();
        assert!(!copy.is_paused() && !apply.is_paused());
        assert!(c.settings().paused, "the stored settings stay paused");
    }

    #[test]
    fn describe_names_each_limit() {
        let s = ControlSettings {
            rows_per_sec: Some(500.0),
            bytes_per_sec: None,
            queries_per_sec: Some(0.0),
            paused: true,
        };
        assert_eq!(
            describe(&s),
            "paused; rows/s 500, bytes/s the task file's, queries/s none"
        );
    }
}
