//! `dts run`, `dts status`, `dts stop` and `dts cutover`: one task from its
//! task file, driven by dts-core's task runner.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use dts_core::commands::{ApplyProgress, TableState};
use dts_core::config::TaskConfig;
use dts_core::task::{cutover, request_stop, run_task, task_status, RunHandles, RunOutcome};

use crate::{line, runtime};

fn load(path: &Path) -> anyhow::Result<TaskConfig> {
    Ok(TaskConfig::from_file(path)?)
}

fn handles() -> RunHandles {
    RunHandles {
        report: Arc::new(|s: &str| eprintln!("dts: {s}")),
        ..RunHandles::default()
    }
}

/// `dts run`: runs the task until it finishes (offline), is stopped (Ctrl-C,
/// `dts stop`) or cut over.
pub(crate) fn run(
    path: &Path,
    no_progress: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let cfg = load(path)?;
    let rt = runtime()?;
    // Bars on a terminal, unless asked for lines; the run's own lines then
    // print above the bars.
    let bars = (!no_progress && std::io::stderr().is_terminal()).then(crate::progress::area);
    let h = match &bars {
        Some(mp) => {
            let mp = mp.clone();
            RunHandles {
                report: Arc::new(move |s: &str| {
                    let _ = mp.println(format!("dts: {s}"));
                }),
                ..RunHandles::default()
            }
        }
        None => handles(),
    };
    let outcome = rt.block_on(async {
        let stop = h.stop.clone();
        tokio::spawn(async move {
            // SIGTERM (a service manager's stop, `kill`) stops like Ctrl-C.
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let mut signal = async || {
                tokio::select! {
                    r = tokio::signal::ctrl_c() => r.is_ok().then_some(130),
                    Some(()) = async {
                        match term.as_mut() {
                            Some(t) => t.recv().await,
                            None => std::future::pending().await,
                        }
                    } => Some(143),
                }
            };
            if signal().await.is_some() {
                eprintln!(
                    "dts: stopping at the next safe point (the checkpoint is kept); \
                     Ctrl-C or SIGTERM again exits at once (every committed chunk and change \
                     is kept)"
                );
                stop.stop();
            }
            if let Some(code) = signal().await {
                eprintln!("dts: exiting now; `dts run` resumes from the last checkpoint");
                std::process::exit(code);
            }
        });
        let ticker = if let Some(mp) = &bars {
            crate::progress::spawn(mp.clone(), h.copy.clone(), h.apply.clone())
        } else {
            let (copy, apply) = (h.copy.clone(), h.apply.clone());
            let tty = std::io::stderr().is_terminal();
            tokio::spawn(async move {
                let mut last = String::new();
                let mut tick = 0u64;
                loop {
                    tokio::time::sleep(Duration::from_secs(if tty { 1 } else { 10 })).await;
                    tick += 1;
                    let c = copy.snapshot();
                    // Per table, every few seconds while the copy runs.
                    if a_is_idle(&apply) && (!tty || tick % 5 == 0) {
                        for t in c.tables.iter().filter(|t| t.state == TableState::Copying) {
                            let pct = if t.estimated_rows > 0 {
                                format!(
                                    " ({:.0}%)",
                                    100.0 * t.rows as f64 / t.estimated_rows as f64
                                )
                            } else {
                                String::new()
                            };
                            eprintln!(
                                "dts:   {}: {} of ~{} rows{pct}",
                                t.table, t.rows, t.estimated_rows
                            );
                        }
                        for t in c
                            .tables
                            .iter()
                            .filter(|t| t.state == TableState::BuildingIndexes)
                        {
                            eprintln!(
                                "dts:   {}: {} rows in, building its secondary indexes",
                                t.table, t.rows
                            );
                        }
                    }
                    let a = apply.status();
                    let msg = if a.position.is_some() {
                        format!(
                            "incremental: at {}, {} transactions, {} row changes, lag {}",
                            a.position.map(|p| p.to_string()).unwrap_or_default(),
                            a.transactions,
                            a.rows,
                            a.lag
                                .map(|l| format!("{:.1} s", l.as_secs_f64()))
                                .unwrap_or_else(|| "unknown".into())
                        )
                    } else if c.rows > 0 {
                        format!(
                            "full: {} of ~{} rows, {:.0} rows/s{}",
                            c.rows,
                            c.estimated_rows,
                            c.rows_per_sec,
                            c.eta
                                .map(|e| format!(", ETA {:.0} s", e.as_secs_f64()))
                                .unwrap_or_default()
                        )
                    } else {
                        continue;
                    };
                    if msg != last {
                        eprintln!("dts: {msg}");
                        last = msg;
                    }
                }
            })
        };
        let r = run_task(&cfg, &h).await;
        ticker.abort();
        r
    })?;
    match outcome {
        RunOutcome::Finished => line(out, format_args!("task {:?} finished", cfg.task))?,
        RunOutcome::Stopped { phase } => line(
            out,
            format_args!(
                "task {:?} stopped at phase {phase}; `dts run` resumes it",
                cfg.task
            ),
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

fn a_is_idle(a: &ApplyProgress) -> bool {
    a.status().position.is_none()
}

/// `dts status`: the task's phase, progress, position and lag.
pub(crate) fn status(path: &Path, json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let cfg = load(path)?;
    let st = runtime()?.block_on(task_status(&cfg))?;
    if json {
        line(out, format_args!("{}", serde_json::to_string_pretty(&st)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(s) = &st.state else {
        line(out, format_args!("task {:?} has not run yet", cfg.task))?;
        return Ok(ExitCode::SUCCESS);
    };
    line(
        out,
        format_args!(
            "task {:?}: phase {}, {}{}",
            cfg.task,
            s.phase,
            s.state,
            if st.running {
                " (a run holds it now)"
            } else {
                ""
            }
        ),
    )?;
    if let Some(e) = &s.error {
        line(out, format_args!("last error: {e}"))?;
    }
    for t in &st.copy {
        line(
            out,
            format_args!(
                "  {}: {} rows copied, {}/{} ranges finished{}",
                t.table,
                t.rows,
                t.ranges_finished,
                t.ranges,
                if t.indexes_pending.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; secondary indexes dropped for the load, not back yet: {}",
                        t.indexes_pending.join(", ")
                    )
                }
            ),
        )?;
    }
    if let Some(i) = &st.incremental {
        line(
            out,
            format_args!(
                "  incremental: at {}, {} transactions, {} row changes, lag {}",
                i.position,
                i.transactions,
                i.rows,
                i.lag_seconds
                    .map(|l| format!("{l} s"))
                    .unwrap_or_else(|| "unknown".into())
            ),
        )?;
        if let Some(server) = &i.source_server {
            line(
                out,
                format_args!(
                    "  source: {server}, GTID state {}",
                    i.gtid_state.as_deref().unwrap_or("unknown")
                ),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `dts stop`: asks the running task to stop with its checkpoint flushed.
pub(crate) fn stop(path: &Path, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let cfg = load(path)?;
    if runtime()?.block_on(request_stop(&cfg))? {
        line(out, format_args!("asked task {:?} to stop", cfg.task))?;
        Ok(ExitCode::SUCCESS)
    } else {
        anyhow::bail!("task {:?} has not run yet: nothing to stop", cfg.task)
    }
}

/// `dts cutover`: each step printed as it goes.
pub(crate) fn cut_over(path: &Path, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let cfg = load(path)?;
    let h = RunHandles {
        report: Arc::new(|s: &str| println!("{s}")),
        ..RunHandles::default()
    };
    runtime()?.block_on(cutover(&cfg, &h))?;
    line(out, format_args!("task {:?} cut over", cfg.task))?;
    Ok(ExitCode::SUCCESS)
}
