//! `dts apply`: incremental migration alone: the source's binlog applied to
//! the target from the task's checkpoint (or from `--start` the first time),
//! until stopped (Ctrl-C), `--until`, or with `--stop-at-end` the end of the
//! binlog.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use dts_core::binlog_reader::position::FilePosition;
use dts_core::bulk_copy::{
    apply_changes, prepare_incremental, ApplyOptions, ApplySelection, ConflictPolicy, HandOff,
    Heartbeat, OnlineDdlMode, ThrottleLimits,
};

use crate::dump_stream::opts_from_url;
use crate::{line, ApplyArgs};

fn position(s: &str, what: &str) -> anyhow::Result<FilePosition> {
    FilePosition::parse(s).with_context(|| format!("{what} {s:?}: expected FILE:OFFSET"))
}

pub(crate) fn run(args: &ApplyArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let source = opts_from_url(&args.source, "DTS_SOURCE_PASSWORD")?;
    let target = opts_from_url(&args.target, "DTS_TARGET_PASSWORD")?;
    if args.database.is_empty() {
        bail!("nothing to apply: give --database");
    }
    if args.target_database.is_some() && args.database.len() != 1 {
        bail!("--target-database renames one database: give exactly one --database with it");
    }
    let mut selection = ApplySelection::databases(&args.database);
    if let Some(t) = &args.target_database {
        selection.databases[0].1 = t.clone();
    }
    let handoff = match &args.start {
        Some(s) => Some(HandOff {
            start: position(s, "--start")?,
            overlap_end: args
                .overlap_end
                .as_deref()
                .map(|e| position(e, "--overlap-end"))
                .transpose()?,
        }),
        None => None,
    };
    let options = ApplyOptions {
        task: args.task.clone(),
        meta_schema: args.meta_schema.clone(),
        server_id: args.server_id,
        conflict: match args.conflict.as_str() {
            "error" => ConflictPolicy::Error,
            "ignore" => ConflictPolicy::Ignore,
            "overwrite" => ConflictPolicy::Overwrite,
            other => bail!("--conflict {other:?}: expected error, ignore or overwrite"),
        },
        skip_failed_ddl: args.skip_failed_ddl,
        online_ddl: match args.online_ddl.as_str() {
            "replicate" => OnlineDdlMode::Replicate,
            "apply-original-ddl" => OnlineDdlMode::ApplyOriginalDdl,
            other => bail!("--online-ddl {other:?}: expected replicate or apply-original-ddl"),
        },
        lock_wait_timeout: args.lock_wait_timeout.map(Duration::from_secs),
        until: args
            .until
            .as_deref()
            .map(|u| position(u, "--until"))
            .transpose()?,
        stop_at_end: args.stop_at_end,
        commit_interval: Duration::from_millis(args.commit_interval_ms),
        batch_bytes: args.batch_bytes,
        heartbeat: (args.heartbeat_ms > 0).then(|| Heartbeat {
            interval: Duration::from_millis(args.heartbeat_ms),
            ..Heartbeat::default()
        }),
        ..ApplyOptions::default()
    };
    options.throttle.set_limits(ThrottleLimits {
        queries_per_sec: None,
        rows_per_sec: args.max_rows_per_sec,
        bytes_per_sec: None,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = rt.block_on(async {
        if args.prepare {
            prepare_incremental(&source, &target, &selection, &options).await?;
            return Ok(None);
        }
        let stop = options.stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("dts apply: stopping at the next transaction boundary");
                stop.stop();
            }
        });
        let progress = options.progress.clone();
        let ticker = args.progress.then(|| {
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let s = progress.status();
                    eprintln!(
                        "dts apply: at {}, {} transactions, {} row changes, lag {}",
                        s.position.map(|p| p.to_string()).unwrap_or_default(),
                        s.transactions,
                        s.rows,
                        s.lag
                            .map(|l| format!("{} s", l.as_secs()))
                            .unwrap_or_else(|| "unknown".into())
                    );
                }
            })
        });
        let r = apply_changes(&source, &target, &selection, handoff.as_ref(), &options).await;
        if let Some(t) = ticker {
            t.abort();
        }
        anyhow::Ok(Some(r?))
    })?;
    let Some(r) = report else {
        line(
            out,
            format_args!("prepared task {:?} for incremental migration", args.task),
        )?;
        return Ok(ExitCode::SUCCESS);
    };
    line(
        out,
        format_args!(
            "applied up to {}: {} transactions, {} row changes, {} DDL statements{}{}",
            r.position.map(|p| p.to_string()).unwrap_or_default(),
            r.transactions,
            r.rows,
            r.ddl_applied,
            match (r.conflicts_skipped, r.conflicts_overwritten) {
                (0, 0) => String::new(),
                (s, o) => format!(", {s} conflicting changes skipped, {o} overwritten"),
            },
            if r.retries > 0 {
                format!(", {} restarts after transient errors", r.retries)
            } else {
                String::new()
            }
        ),
    )?;
    if r.online_ddl_rows_skipped > 0 {
        line(
            out,
            format_args!(
                "not applied: {} row changes of online-DDL tools' helper tables",
                r.online_ddl_rows_skipped
            ),
        )?;
    }
    for s in &r.ddl_skipped {
        line(out, format_args!("not applied: {s}"))?;
    }
    Ok(ExitCode::SUCCESS)
}
