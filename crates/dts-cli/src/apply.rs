//! `dts apply`: incremental migration alone: the source's binlog applied to
//! the target from the task's checkpoint (or from `--start` the first time),
//! until stopped (Ctrl-C), `--until`, or with `--stop-at-end` the end of the
//! binlog; its report, and progress on stderr.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use dts_core::commands::{ApplyOutcome, ApplyRun};
use dts_core::config::{CommandLine, IncrementalArgs};
use dts_core::task::RunHandles;

use crate::{line, runtime, ApplyArgs};

pub(crate) fn run(args: &ApplyArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let files = !args.binlog_file.is_empty();
    let mut c = CommandLine {
        // Binlog files stand in for the source server, which is never
        // connected to: the task's source is the target's address then, so
        // that the task resolves (--source is refused with --binlog-file).
        source: if files {
            args.target.server(&args.tls)
        } else {
            args.source.server(&args.tls)
        },
        target: args.target.server(&args.tls),
        conflict: args.conflict,
        max_rows_per_sec: args.rows.max_rows_per_sec,
        incremental: IncrementalArgs {
            server_id: args.server_id,
            batch_bytes: args.batch_bytes,
            commit_interval_ms: args.commit_interval_ms,
            lock_wait_timeout_seconds: args.lock_wait_timeout,
            skip_failed_ddl: args.skip_failed_ddl,
            online_ddl: args.online_ddl,
            heartbeat_ms: args.heartbeat_ms,
        },
        ..CommandLine::default()
    };
    args.selection.set(&mut c);
    args.task.set(&mut c);
    let cfg = c.task_config()?;
    let run = ApplyRun {
        prepare_only: args.prepare,
        start: args.start.clone(),
        overlap_end: args.overlap_end.clone(),
        until: args.until.clone(),
        stop_at_end: args.stop_at_end,
        binlog_files: args.binlog_file.clone(),
    };
    let h = RunHandles::default();
    let outcome = runtime()?.block_on(async {
        let stop = h.stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("dts apply: stopping at the next transaction boundary");
                stop.stop();
            }
        });
        let ticker = (args.progress && !args.prepare).then(|| tokio::spawn(progress(h.clone())));
        let r = dts_core::commands::apply(&cfg, &run, &h).await;
        if let Some(t) = ticker {
            t.abort();
        }
        r
    })?;
    let r = match outcome {
        ApplyOutcome::Prepared => {
            line(
                out,
                format_args!("prepared task {:?} for incremental migration", cfg.task),
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        ApplyOutcome::Applied(r) => *r,
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

/// Prints the apply's status to stderr every second.
async fn progress(h: RunHandles) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let s = h.apply.status();
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
}
