//! `dts config show` and `dts precheck`: the task file resolved, and the
//! precheck's report as a table or JSON.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use dts_core::config::TaskConfig;
use dts_core::precheck::{run_precheck, PrecheckReport, Status};

use crate::line;

/// Reads the task file; the error names the key and what is allowed.
fn load(path: &Path) -> anyhow::Result<TaskConfig> {
    Ok(TaskConfig::from_file(path)?)
}

/// `dts config show`: the resolved task with every default.
pub(crate) fn show(path: &Path, json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    // It connects to nothing: the password variables and files need not exist.
    let task = TaskConfig::from_file_without_secrets(path)?;
    if json {
        line(
            out,
            format_args!("{}", serde_json::to_string_pretty(&task)?),
        )?;
    } else {
        write!(out, "{}", task.to_toml())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `dts precheck`: exit code 2 on any failure, 1 when warnings are left
/// unacknowledged, 0 when the task may start.
pub(crate) fn precheck(path: &Path, json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let task = load(path)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = rt.block_on(run_precheck(&task));
    if json {
        line(
            out,
            format_args!("{}", serde_json::to_string_pretty(&report)?),
        )?;
    } else {
        print_table(&report, out)?;
    }
    Ok(if report.has_failures() {
        ExitCode::from(2)
    } else if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_table(r: &PrecheckReport, out: &mut impl Write) -> anyhow::Result<()> {
    line(
        out,
        format_args!("precheck of task {}: {} -> {}", r.task, r.source, r.target),
    )?;
    let width = r.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    line(
        out,
        format_args!("{:<12} {:<width$}  FOUND", "STATUS", "CHECK"),
    )?;
    for c in &r.checks {
        line(
            out,
            format_args!("{:<12} {:<width$}  {}", c.status.as_str(), c.id, c.found),
        )?;
        if matches!(c.status, Status::Warning | Status::Failure) {
            let pad = " ".repeat(12 + 1 + width + 2);
            line(out, format_args!("{pad}why: {}", c.why))?;
            line(out, format_args!("{pad}fix: {}", c.fix))?;
        }
    }
    let count = |s: Status| r.checks.iter().filter(|c| c.status == s).count();
    line(
        out,
        format_args!(
            "{} passed, {} acknowledged, {} warning(s), {} failure(s): {}",
            count(Status::Pass),
            count(Status::Acknowledged),
            count(Status::Warning),
            count(Status::Failure),
            if r.has_failures() {
                "the task cannot start; fix the failures and run the precheck again"
            } else if r.passed() {
                "the task may start"
            } else {
                "fix the warnings or acknowledge them in [precheck] acknowledge"
            }
        ),
    )?;
    Ok(())
}
