//! `dts copy`: the full copy of whole databases or listed tables, resumable
//! under a task name. The target tables must exist.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use dts_core::bulk_copy::{
    copy_tables, ConflictPolicy, CopyOptions, SnapshotMode, TableMapping, TableState,
    ThrottleLimits,
};
use mysql_async::prelude::*;

use crate::dump_stream::opts_from_url;
use crate::{line, CopyArgs};

pub(crate) fn run(args: &CopyArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let source = opts_from_url(&args.source, "DTS_SOURCE_PASSWORD")?;
    let target = opts_from_url(&args.target, "DTS_TARGET_PASSWORD")?;
    if args.target_database.is_some() && args.database.len() != 1 {
        bail!("--target-database renames one database: give exactly one --database with it");
    }
    let options = CopyOptions {
        readers: args.readers,
        writers: args.writers.unwrap_or(args.readers),
        chunk_rows: args.chunk_rows,
        load_bytes: args.load_bytes,
        bulk_max_bytes: args.bulk_max_bytes,
        defer_indexes_min_bytes: (!args.keep_indexes).then_some(args.defer_indexes_min_bytes),
        split_rows: args.split_rows,
        conflict: match args.conflict.as_str() {
            "error" => ConflictPolicy::Error,
            "ignore" => ConflictPolicy::Ignore,
            "overwrite" => ConflictPolicy::Overwrite,
            other => bail!("--conflict {other:?}: expected error, ignore or overwrite"),
        },
        snapshot: match args.snapshot.as_str() {
            "auto" => SnapshotMode::Auto,
            "consistent" => SnapshotMode::ConsistentSnapshot,
            "ftwrl" => SnapshotMode::FlushTablesWithReadLock,
            other => bail!("--snapshot {other:?}: expected auto, consistent or ftwrl"),
        },
        task: args.task.clone(),
        meta_schema: args.meta_schema.clone(),
        ..CopyOptions::default()
    };
    options.throttle.set_limits(ThrottleLimits {
        queries_per_sec: args.max_queries_per_sec,
        rows_per_sec: args.max_rows_per_sec,
        bytes_per_sec: args.max_bytes_per_sec,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = rt.block_on(async {
        let tables = selected_tables(
            &source,
            &args.database,
            args.target_database.as_deref(),
            &args.table,
            "copy",
        )
        .await?;
        let progress = options.progress.clone();
        let ticker = args.progress.then(|| {
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let s = progress.snapshot();
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
            })
        });
        let r = copy_tables(&source, &target, &tables, &options).await;
        if let Some(t) = ticker {
            t.abort();
        }
        anyhow::Ok(r?)
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
        let keyless = if matches!(t.strategy, dts_core::bulk_copy::KeyStrategy::FullScan) {
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

/// The tables named by `--database` (every base table of each, in
/// `target_database` on the target when given) and `--table DB.TABLE`
/// (under the same names).
pub(crate) async fn selected_tables(
    source: &mysql_async::Opts,
    databases: &[String],
    target_database: Option<&str>,
    tables: &[String],
    what: &str,
) -> anyhow::Result<Vec<TableMapping>> {
    let mut out = Vec::new();
    let mut c = mysql_async::Conn::new(source.clone())
        .await
        .context("connecting to the source")?;
    for db in databases {
        let names: Vec<String> = c
            .exec(
                "SELECT table_name FROM information_schema.tables
                 WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name",
                (db,),
            )
            .await
            .with_context(|| format!("listing the tables of {db:?} on the source"))?;
        if names.is_empty() {
            bail!("the source has no tables in database {db:?} (or the account cannot see them)");
        }
        let to = target_database.unwrap_or(db);
        out.extend(names.iter().map(|t| TableMapping::renamed(db, t, to, t)));
    }
    for t in tables {
        let Some((db, name)) = t.split_once('.') else {
            bail!("--table {t:?}: expected DATABASE.TABLE");
        };
        out.push(TableMapping::same(db, name));
    }
    c.disconnect().await.ok();
    if out.is_empty() {
        bail!("nothing to {what}: give --database or --table");
    }
    Ok(out)
}
