//! `dts throttle`, `dts pause` and `dts resume`: live control of a task
//! through its metadata schema (dts-core's `task::control`); `dts release`
//! (dts-core's `task::release`).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use dts_core::config::TaskConfig;
use dts_core::task::control::describe;
use dts_core::task::{
    pause as set_paused, release as release_task, throttle as set_throttle, ControlReport,
    ThrottleChange,
};

use crate::args::ThrottleArgs;
use crate::{line, runtime};

fn report(task: &str, r: &ControlReport, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    line(
        out,
        format_args!("task {task:?}: {}", describe(&r.settings)),
    )?;
    if r.running {
        line(
            out,
            format_args!("the running task applies this within a second"),
        )?;
    } else {
        line(
            out,
            format_args!("no run holds the task now: its next `dts run` starts with this"),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `dts throttle`.
pub(crate) fn throttle(a: &ThrottleArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let cfg = TaskConfig::from_file(&a.file.config)?;
    let ch = ThrottleChange {
        rows_per_sec: a.rows_per_sec,
        bytes_per_sec: a.bytes_per_sec,
        queries_per_sec: a.queries_per_sec,
        reset: a.reset,
    };
    let r = runtime()?.block_on(set_throttle(&cfg, ch))?;
    report(&cfg.task, &r, out)
}

/// `dts pause` (`paused`) and `dts resume`.
pub(crate) fn pause(path: &Path, paused: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let cfg = TaskConfig::from_file(path)?;
    let r = runtime()?.block_on(set_paused(&cfg, paused))?;
    report(&cfg.task, &r, out)
}

/// `dts release`: each thing removed, one line each.
pub(crate) fn release(path: &Path, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let cfg = TaskConfig::from_file(path)?;
    let r = runtime()?.block_on(release_task(&cfg))?;
    for (idx_table, index) in &r.indexes_not_restored {
        line(
            out,
            format_args!(
                "warning: index {index:?} of {idx_table} was dropped for the full copy and never \
                 put back: it is missing on the target"
            ),
        )?;
    }
    for (table, n) in &r.meta_rows {
        line(out, format_args!("target: deleted {n} rows of {table}"))?;
    }
    for s in &r.shadow_schemas {
        line(out, format_args!("target: dropped the shadow schema {s}"))?;
    }
    if r.heartbeat_row {
        line(
            out,
            format_args!("source: deleted the task's heartbeat row"),
        )?;
    }
    if let Some(t) = &r.heartbeat_table {
        line(
            out,
            format_args!("source: dropped {t} (no other task uses it)"),
        )?;
    }
    line(out, format_args!("task {:?} released", cfg.task))?;
    Ok(ExitCode::SUCCESS)
}
