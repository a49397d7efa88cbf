//! `dts throttle`, `dts pause` and `dts resume`: live control of a task
//! through its metadata schema (dts-core's `task::control`).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use dts_core::config::TaskConfig;
use dts_core::task::control::describe;
use dts_core::task::{
    pause as set_paused, throttle as set_throttle, ControlReport, ThrottleChange,
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
