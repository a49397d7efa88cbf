//! `dts verify`: compares the selected tables of the source and the target
//! row by row on exact bytes, reports every difference with its key, and
//! prints or applies the repair. Exit code 0 when equal, 1 when
//! differences were found (also when they were repaired: run it again to
//! confirm), 2 on error.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use dts_core::bulk_copy::{CopyError, ThrottleLimits};
use dts_core::row_verify::{
    verify_tables, ApplyRepair, OnlineOptions, RepairSink, RepairStatement, VerifyOptions,
    REPAIR_SESSION,
};
use futures::future::BoxFuture;
use tokio::sync::mpsc;

use crate::copy::selected_tables;
use crate::dump_stream::opts_from_url;
use crate::{line, VerifyArgs};

/// Hands repair statements to the printing loop, which owns stdout.
struct PrintRepair {
    tx: mpsc::Sender<Vec<RepairStatement>>,
}

impl RepairSink for PrintRepair {
    fn repair<'a>(
        &'a self,
        _table: &'a str,
        statements: Vec<RepairStatement>,
    ) -> BoxFuture<'a, Result<(), CopyError>> {
        Box::pin(async move {
            // A closed channel means the printer stopped (a broken pipe); the
            // run ends with that error.
            self.tx.send(statements).await.ok();
            Ok(())
        })
    }
}

pub(crate) fn run(args: &VerifyArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let task = match &args.config {
        Some(p) => Some(dts_core::config::TaskConfig::from_file(p)?),
        None => None,
    };
    let (source, target) = match &task {
        Some(t) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            rt.block_on(async { (t.source.connect_opts().await, t.target.connect_opts().await) })
        }
        None => (
            opts_from_url(
                args.source.as_deref().unwrap_or_default(),
                "DTS_SOURCE_PASSWORD",
            )?,
            opts_from_url(
                args.target.as_deref().unwrap_or_default(),
                "DTS_TARGET_PASSWORD",
            )?,
        ),
    };
    if args.target_database.is_some() && args.database.len() != 1 {
        bail!("--target-database renames one database: give exactly one --database with it");
    }
    if let Some(p) = args.sample {
        if !(p > 0.0 && p <= 100.0) {
            bail!("--sample {p}: expected a percentage above 0 and at most 100");
        }
    }
    let print = match args.repair.as_deref() {
        None => false,
        Some("print") => true,
        Some("apply") => false,
        Some(other) => bail!("--repair {other:?}: expected print or apply"),
    };
    if print && args.json {
        bail!("--repair print writes a SQL script to stdout; it cannot be combined with --json");
    }
    let mut options = VerifyOptions {
        parallel: args.parallel,
        chunk_rows: args.chunk_rows,
        sample_percent: args.sample,
        sample_seed: args.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        }),
        max_listed: args.max_listed,
        online: args.online.then(|| OnlineOptions {
            rechecks: args.rechecks,
            delay: Duration::from_secs_f64(args.recheck_delay.max(0.0)),
            // With a task: wait for its incremental checkpoint, exactly.
            applied: task.as_ref().map(|t| {
                Arc::new(dts_core::task::CheckpointApplied::new(t, target.clone()))
                    as Arc<dyn dts_core::row_verify::AppliedPosition>
            }),
            ..OnlineOptions::default()
        }),
        ..VerifyOptions::default()
    };
    options.throttle.set_limits(ThrottleLimits {
        rows_per_sec: args.max_rows_per_sec,
        ..ThrottleLimits::default()
    });
    let apply =
        (args.repair.as_deref() == Some("apply")).then(|| Arc::new(ApplyRepair::new(&target)));
    if let Some(a) = &apply {
        options.repair = Some(a.clone());
    }
    let (tx, mut rx) = mpsc::channel::<Vec<RepairStatement>>(16);
    if print {
        options.repair = Some(Arc::new(PrintRepair { tx }));
    } else {
        drop(tx);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = rt.block_on(async {
        let tables = match &task {
            Some(t) => dts_core::task::task_tables(t, &source).await?,
            None => {
                selected_tables(
                    &source,
                    &args.database,
                    args.target_database.as_deref(),
                    &args.table,
                    "verify",
                )
                .await?
            }
        };
        let progress = options.progress.clone();
        let ticker = args.progress.then(|| {
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let s = progress.snapshot();
                    eprintln!(
                        "dts verify: {} of ~{} source rows compared, {:.0} rows/s",
                        s.rows, s.estimated_rows, s.rows_per_sec
                    );
                }
            })
        });
        let task = {
            let (source, target, options) = (source.clone(), target.clone(), options.clone());
            tokio::spawn(async move { verify_tables(&source, &target, &tables, &options).await })
        };
        drop(options);
        // Print repair statements as they come (a script for the client).
        let mut printed_header = false;
        let mut write_err = None;
        while let Some(batch) = rx.recv().await {
            if write_err.is_some() {
                continue;
            }
            let r = (|| -> anyhow::Result<()> {
                if !printed_header {
                    line(out, format_args!("{REPAIR_SESSION};"))?;
                    printed_header = true;
                }
                for st in &batch {
                    line(out, format_args!("{};", st.sql))?;
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
    if args.json {
        let mut j = report.to_json();
        if let Some(a) = &apply {
            j["repair_statements_applied"] = a.applied().into();
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
        if let Some(a) = &apply {
            line(
                out,
                format_args!(
                    "{} repair statements applied on the target; run dts verify again to confirm",
                    a.applied()
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
