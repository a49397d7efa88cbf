//! `dts verify`: compares the selected tables of the source and the target
//! row by row on exact bytes, reports every difference with its key, and
//! prints or applies the repair. Exit code 0 when equal, 1 when
//! differences were found (also when they were repaired: run it again to
//! confirm), 2 on error.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use dts_core::commands::{OnlineRun, Repair, RepairMode, VerifyRun, REPAIR_SESSION};
use dts_core::config::{CommandLine, VerifyArgs as VerifyOptions};
use dts_core::task::RunHandles;
use tokio::sync::mpsc;

use crate::{line, runtime, VerifyArgs};

pub(crate) fn run(args: &VerifyArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    if let Some(p) = args.sample {
        if !(p > 0.0 && p <= 100.0) {
            bail!("--sample {p}: expected a percentage above 0 and at most 100");
        }
    }
    let print = args.repair == Some(RepairMode::Print);
    if print && args.json {
        bail!("--repair print writes a SQL script to stdout; it cannot be combined with --json");
    }
    let mut c = CommandLine {
        config: args.config.clone(),
        source: args.source.server(&args.tls),
        target: args.target.server(&args.tls),
        max_rows_per_sec: args.rows.max_rows_per_sec,
        verify: VerifyOptions {
            parallel: args.parallel,
            chunk_rows: args.chunk_rows,
            max_listed: args.max_listed,
        },
        ..CommandLine::default()
    };
    args.selection.set(&mut c);
    let cfg = c.task_config()?;
    if args.schema {
        return schema(&cfg, args.json, out);
    }
    // Repair statements to print come over a channel, which closes when the
    // verification ends.
    let (repair, mut printed) = match args.repair {
        Some(RepairMode::Print) => {
            let (tx, rx) = mpsc::channel::<Vec<String>>(16);
            (Some(Repair::Print(tx)), Some(rx))
        }
        Some(RepairMode::Apply) => (Some(Repair::Apply), None),
        None => (None, None),
    };
    let run = VerifyRun {
        sample_percent: args.sample,
        seed: args.seed,
        online: args.online.then(|| OnlineRun {
            rechecks: args.rechecks,
            delay: args
                .recheck_delay
                .map(|d| Duration::from_secs_f64(d.max(0.0))),
            // With a task: wait for its incremental checkpoint, exactly.
            wait_for_checkpoint: args.config.is_some(),
        }),
        repair,
    };
    let h = RunHandles::default();
    let outcome = runtime()?.block_on(async {
        let ticker = args.progress.then(|| {
            let h = h.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let s = h.verify.snapshot();
                    eprintln!(
                        "dts verify: {} of ~{} source rows compared, {:.0} rows/s",
                        s.rows, s.estimated_rows, s.rows_per_sec
                    );
                }
            })
        });
        let task = {
            let (cfg, h) = (cfg.clone(), h.clone());
            tokio::spawn(async move { dts_core::commands::verify(&cfg, run, &h).await })
        };
        // Print repair statements as they come (a script for the client).
        let mut printed_header = false;
        let mut write_err = None;
        while let Some(batch) = match printed.as_mut() {
            Some(rx) => rx.recv().await,
            None => None,
        } {
            if write_err.is_some() {
                continue;
            }
            let r = (|| -> anyhow::Result<()> {
                if !printed_header {
                    line(out, format_args!("{REPAIR_SESSION};"))?;
                    printed_header = true;
                }
                for sql in &batch {
                    line(out, format_args!("{sql};"))?;
                }
                Ok(())
            })();
            if let Err(e) = r {
                write_err = Some(e);
            }
        }
        let r = task
            .await
            .context("the verification stopped unexpectedly")?;
        if let Some(t) = ticker {
            t.abort();
        }
        if let Some(e) = write_err {
            return Err(e);
        }
        anyhow::Ok(r?)
    })?;
    let report = &outcome.report;
    if args.json {
        let mut j = report.to_json();
        if let Some(n) = outcome.repairs_applied {
            j["repair_statements_applied"] = n.into();
        }
        line(out, format_args!("{j}"))?;
    } else {
        let text = report.to_string();
        for l in text.lines() {
            if print {
                line(out, format_args!("-- {l}"))?;
            } else {
                line(out, format_args!("{l}"))?;
            }
        }
        if let Some(n) = outcome.repairs_applied {
            line(
                out,
                format_args!(
                    "{n} repair statements applied on the target; run dts verify again to confirm"
                ),
            )?;
        }
    }
    Ok(if report.is_equal() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `dts verify --schema`: each difference on a line (or JSON); exit code 1
/// when there is one.
fn schema(
    cfg: &dts_core::config::TaskConfig,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let diffs = runtime()?.block_on(dts_core::task::verify_schema(cfg))?;
    if json {
        let j = serde_json::json!({
            "schema_version": 1,
            "equal": diffs.is_empty(),
            "differences": diffs
                .iter()
                .map(|d| serde_json::json!({"text": d.to_string(), "difference": d}))
                .collect::<Vec<_>>(),
        });
        line(out, format_args!("{j}"))?;
    } else if diffs.is_empty() {
        line(
            out,
            format_args!("the target's definitions match the source's as translated"),
        )?;
    } else {
        for d in &diffs {
            line(out, format_args!("{d}"))?;
        }
        line(out, format_args!("{} schema differences", diffs.len()))?;
    }
    Ok(if diffs.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
