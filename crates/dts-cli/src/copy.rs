//! `dts copy`: the full copy of whole databases or listed tables, resumable
//! under a task name; its report, and progress on stderr.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use dts_core::commands::{KeyStrategy, TableState};
use dts_core::config::{CommandLine, FullArgs};
use dts_core::task::RunHandles;

use crate::{line, runtime, CopyArgs};

pub(crate) fn run(args: &CopyArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let mut c = CommandLine {
        source: args.source.server(&args.tls),
        target: args.target.server(&args.tls),
        conflict: args.conflict,
        max_rows_per_sec: args.rows.max_rows_per_sec,
        full: FullArgs {
            readers: args.readers,
            writers: args.writers,
            chunk_rows: args.chunk_rows,
            load_bytes: args.load_bytes,
            bulk_max_bytes: args.bulk_max_bytes,
            defer_indexes_min_bytes: args.defer_indexes_min_bytes,
            keep_indexes: args.keep_indexes,
            split_rows: args.split_rows,
            snapshot: args.snapshot,
            max_queries_per_sec: args.max_queries_per_sec,
            max_bytes_per_sec: args.max_bytes_per_sec,
        },
        ..CommandLine::default()
    };
    args.selection.set(&mut c);
    args.task.set(&mut c);
    let cfg = c.task_config()?;
    let h = RunHandles::default();
    let report = runtime()?.block_on(async {
        let ticker = args.progress.then(|| tokio::spawn(progress(h.clone())));
        let r = dts_core::commands::copy(&cfg, &h).await;
        if let Some(t) = ticker {
            t.abort();
        }
        r
    })?;
    for t in &report.tables {
        let how = if t.already_done {
            "already copied by an earlier run".to_string()
        } else {
            format!(
                "{} rows, {:.1} MB, {} chunks, {} range(s), {}{}{}",
                t.rows,
                t.bytes as f64 / 1e6,
                t.chunks,
                t.ranges,
                t.method.as_str(),
                if t.resumed { ", resumed" } else { "" },
                match (t.conflicts_ignored, t.conflicts_overwritten) {
                    (0, 0) => String::new(),
                    (i, o) => format!(", {i} conflicting rows ignored, {o} overwritten"),
                }
            )
        };
        let how = if t.indexes_rebuilt.is_empty() {
            how
        } else {
            format!(
                "{how}; secondary indexes built after the load: {}",
                t.indexes_rebuilt.join(", ")
            )
        };
        let keyless = if matches!(t.strategy, KeyStrategy::FullScan) {
            " (no usable key: read in one pass, loaded in one transaction)"
        } else {
            ""
        };
        line(
            out,
            format_args!("{} -> {}: {how}{keyless}", t.table, t.target),
        )?;
    }
    match (&report.start, &report.overlap_end) {
        (Some(s), Some(e)) => line(
            out,
            format_args!("incremental migration starts at {s}; apply idempotently up to {e}"),
        )?,
        (Some(s), None) => line(out, format_args!("incremental migration starts at {s}"))?,
        (None, _) => line(
            out,
            format_args!("the source has no binlog: no incremental migration can follow"),
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the copy's progress to stderr every second.
async fn progress(h: RunHandles) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let s = h.copy.snapshot();
        let eta = s
            .eta
            .map(|e| format!(", ETA {:.0} s", e.as_secs_f64()))
            .unwrap_or_default();
        let indexing: Vec<&str> = s
            .tables
            .iter()
            .filter(|t| t.state == TableState::BuildingIndexes)
            .map(|t| t.table.as_str())
            .collect();
        let indexing = if indexing.is_empty() {
            String::new()
        } else {
            format!(
                "; building the secondary indexes of {}",
                indexing.join(", ")
            )
        };
        eprintln!(
            "dts copy: {} of ~{} rows, {:.1} MB, {:.0} rows/s{eta}{indexing}",
            s.rows,
            s.estimated_rows,
            s.bytes as f64 / 1e6,
            s.rows_per_sec
        );
    }
}
