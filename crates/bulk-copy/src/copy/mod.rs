//! The full copy: tables read inside consistent snapshots, in keyset chunks,
//! by several reader connections, and written by several writer connections
//! with `LOAD DATA LOCAL INFILE` fed from memory, reads overlapped with
//! writes.
//!
//! **Snapshot and position.** On MariaDB each reader runs `START TRANSACTION
//! WITH CONSISTENT SNAPSHOT` and reads `binlog_snapshot_file/position`, the
//! binlog position its snapshot is consistent with, without any global lock;
//! readers may see different positions. With [`SnapshotMode::FlushTablesWithReadLock`],
//! a brief `FLUSH TABLES WITH READ LOCK` is held while the readers open their
//! snapshots, so they share one position. With [`SnapshotMode::Watermark`]
//! (any flavour, no lock beyond the rows a chunk reads) there is no
//! snapshot: each chunk is read between a low and a high binlog watermark,
//! and the row changes of that window are reconciled into it, so that it is
//! its range as of its high watermark (see `watermark.rs`, which argues
//! why). Every position read from, in every run of the task, is recorded on
//! the target (a chunk's high watermark in the transaction that commits
//! it); the report gives the lowest (where incremental migration must
//! start) and, when they differ, the highest (where its idempotent overlap
//! window ends; design rule 8).
//!
//! **Work units.** A table is one key range, or, when it is large, several
//! ranges of about [`CopyOptions::split_rows`] rows each, copied in
//! parallel: the split points are every that-many-th key, found by walking
//! the key on the source (`plan.rs`), so a skewed, composite, string or
//! binary key splits as evenly as a dense integer one, each comparison the
//! server's own (`base/keyset.rs`). A reader takes a
//! range and streams it in keyset chunks (`key > last ORDER BY key LIMIT n`,
//! never OFFSET, `n` adapted to the row width) into load buffers; one writer
//! takes the range's buffers in order. Queues hold at most
//! [`CopyOptions::queue_buffers`] buffers per range, so memory is bounded by
//! `readers x (queue_buffers + 1) x load_bytes` whatever the table size (a
//! buffer holds at least one row: with rows longer than `load_bytes`, the
//! longest row's encoded length takes its place; chunks are sized in bytes
//! down to one row).
//!
//! **Large rows.** A row may be longer than either server's
//! `max_allowed_packet` (LOAD DATA stores such rows): readers accept packets
//! up to 1 GiB (`base::session::READ_PACKET_BYTES`), and a buffer's LOAD
//! DATA text goes to the target in 64 KiB packets, whatever its length.
//!
//! **Write paths.** An empty target table that is not too large
//! ([`CopyOptions::bulk_max_bytes`]) is loaded in one transaction, so that
//! MariaDB's empty-table bulk insert (table-level undo, indexes built by
//! sorting) applies; its checkpoint row is written in that transaction. Other
//! tables are loaded in chunks, each committed with its range's high-water
//! key. A table without a usable key is loaded in one transaction (it cannot
//! be resumed part-way: no engine's row order is both readable in SQL and
//! stable across the snapshots of two runs) and reported as such, or
//! refused with the fix when larger than [`CopyOptions::keyless_max_bytes`]. The plain secondary indexes of
//! a large empty table are dropped before its load and added back after it
//! ([`CopyOptions::defer_indexes_min_bytes`]), recorded in the metadata
//! schema first so that no stop can lose them.
//!
//! **Resume.** Run again with the same task name after a crash: finished
//! tables are not copied again, unfinished ranges resume after their last
//! committed key, and a table loaded in one transaction that did not commit
//! starts over (its rows were rolled back with it). See `checkpoint.rs`.

mod checkpoint;
mod encode;
mod indexes;
mod options;
mod plan;
mod prepare;
mod read;
mod snapshot;
mod watermark;
mod window;
mod write;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use server_dialect::quote;
use tokio::sync::mpsc;

use binlog_reader::position::FilePosition;

pub use checkpoint::LoadMethod;
pub use options::{ChunkHook, CopyOptions, CopyReport, SnapshotMode, TableReport};

use crate::base::error::CopyError;
use crate::base::mapping::TableMapping;
use crate::base::meta::{load_table_meta, KeyStrategy};
use crate::base::progress::TableState;
use crate::base::session::{connect, connect_loader};
use checkpoint::Checkpoint;
use indexes::rebuild_indexes;
use plan::{plan_table, Unit};
use prepare::{prepare, Prepared};
use read::{read_unit, Buffer};
use snapshot::{open_readers, Readers};
use watermark::Watermark;
use window::Windows;
use write::write_unit;

/// What one table's copy did in this run, summed over its ranges.
#[derive(Default)]
struct Stats {
    rows: u64,
    bytes: u64,
    chunks: u64,
    ignored: u64,
    overwritten: u64,
    indexes: Vec<String>,
}

/// What the readers and writers of one copy share.
struct Shared {
    tables: Vec<Prepared>,
    checkpoint: Checkpoint,
    options: CopyOptions,
    stats: Mutex<Vec<Stats>>,
    /// Units left per table, to mark tables finished in the progress.
    units_left: Mutex<Vec<usize>>,
    failed: AtomicBool,
    /// Load buffers sent and given back, for reuse: fresh memory for every
    /// buffer costs the kernel a page fault and a zeroed page per 4 KiB.
    spare: Mutex<Vec<Vec<u8>>>,
    /// The watermark snapshot's binlog reader and dialect, in that mode.
    watermark: Option<Watermark>,
}

/// Copies `tables` from `source` to `target`. See the module documentation.
///
/// # Errors
///
/// The first [`CopyError`] of any table; the other readers and writers stop
/// after their current buffer, and what was committed stays committed (a
/// second run with the same task resumes).
pub async fn copy_tables(
    source: &Opts,
    target: &Opts,
    tables: &[TableMapping],
    options: &CopyOptions,
) -> Result<CopyReport, CopyError> {
    let readers = options.readers.max(1);
    let writers = options.writers.max(1);
    let checkpoint = Checkpoint::new(&options.meta_schema, &options.task);
    let mut control = connect(target, "target").await?;
    checkpoint.ensure(&mut control).await?;

    let Readers {
        mut conns,
        positions,
        mode,
        version,
        start: watermark_start,
    } = open_readers(source, readers, options.snapshot).await?;
    for p in positions.iter().flatten() {
        checkpoint.record_snapshot(&mut control, p).await?;
    }
    let watermark = mode == SnapshotMode::Watermark;

    // Resolve every table before copying anything: a bad column list or
    // filter fails the copy before it starts.
    let mut prepared = Vec::with_capacity(tables.len());
    for t in tables {
        let meta = load_table_meta(&mut conns[0], &t.source_db, &t.source_table).await?;
        prepared.push(prepare(t, meta, options, watermark)?);
    }
    let watermark = match watermark_start {
        Some(start) if watermark => {
            for p in &prepared {
                if p.meta.key == KeyStrategy::FullScan
                    && p.meta.data_length > options.locked_read_max_bytes
                {
                    return Err(CopyError::Table {
                        table: p.source.clone(),
                        reason: format!(
                            "it has no usable key (a primary key, or a unique key on NOT NULL \
                             columns), so the watermark snapshot can only read it whole under \
                             shared locks, which keeps its writers waiting; at about {} bytes \
                             it is larger than the {} allowed. Add a primary key, or copy it \
                             with snapshot = \"consistent\" (MariaDB)",
                            p.meta.data_length, options.locked_read_max_bytes
                        ),
                    });
                }
            }
            let watched: Vec<(String, String, usize)> = prepared
                .iter()
                .map(|p| (p.meta.db.clone(), p.meta.name.clone(), p.meta.columns.len()))
                .collect();
            let windows = Windows::start(source, options.server_id, start, &watched).await?;
            let dialect = server_dialect::Dialect::new(version.clone());
            Some(Watermark {
                windows,
                locking_clause: dialect.locking_read_clause(),
                version,
            })
        }
        _ => None,
    };
    let progress = options.progress.clone();
    progress.start(prepared.iter().map(|p| p.target.clone()).collect());

    // Plan: the units of this run, biggest tables first.
    let mut order: Vec<usize> = (0..tables.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(prepared[i].meta.data_length));
    let mut units = VecDeque::new();
    let mut reports: Vec<TableReport> = Vec::with_capacity(tables.len());
    for p in &prepared {
        reports.push(TableReport {
            table: p.source.clone(),
            target: p.target.clone(),
            strategy: p.meta.key.clone(),
            method: LoadMethod::Chunked,
            already_done: false,
            resumed: false,
            ranges: 0,
            rows: 0,
            bytes: 0,
            chunks: 0,
            conflicts_ignored: 0,
            conflicts_overwritten: 0,
            indexes_rebuilt: Vec::new(),
        });
    }
    let mut units_left = vec![0usize; tables.len()];
    for &i in &order {
        let t = &tables[i];
        let p = &prepared[i];
        let existing = checkpoint
            .ranges(&mut control, &t.target_db, &t.target_table)
            .await?;
        let planned = if existing.is_empty() {
            plan_table(&mut conns[0], &mut control, &checkpoint, i, p, options).await?
        } else {
            reports[i].resumed = existing.iter().any(|r| r.done.is_some() || r.finished);
            reports[i].already_done = existing.iter().all(|r| r.finished);
            existing
                .into_iter()
                .filter(|r| !r.finished)
                .map(|r| Unit {
                    table: i,
                    range_no: r.range_no,
                    method: LoadMethod::Chunked,
                    after: r.done.or(r.lo.clone()),
                    lo: r.lo,
                    hi: r.hi,
                    // Off again only when the table started empty (below).
                    unique_checks: !r.started_empty,
                    snapshot: None,
                })
                .collect()
        };
        reports[i].ranges = planned.len();
        if let Some(u) = planned.first() {
            reports[i].method = u.method;
        }
        if reports[i].already_done {
            reports[i].ranges = 0;
            progress.set_state(i, TableState::AlreadyDone);
        }
        units_left[i] = planned.len();
        units.extend(planned);
    }

    let shared = Arc::new(Shared {
        stats: Mutex::new((0..tables.len()).map(|_| Stats::default()).collect()),
        units_left: Mutex::new(units_left),
        tables: prepared,
        checkpoint,
        options: options.clone(),
        failed: AtomicBool::new(false),
        spare: Mutex::new(Vec::new()),
        watermark,
    });
    let units = Arc::new(Mutex::new(units));
    type Job = (Unit, mpsc::Receiver<Buffer>);
    let (job_tx, job_rx) = mpsc::channel::<Job>(readers);
    let job_rx = Arc::new(tokio::sync::Mutex::new(job_rx));

    let mut writer_tasks = Vec::new();
    for _ in 0..writers {
        let shared = shared.clone();
        let job_rx = job_rx.clone();
        let target = target.clone();
        writer_tasks.push(tokio::spawn(async move {
            let mut tgt: Option<Conn> = None;
            loop {
                let job = job_rx.lock().await.recv().await;
                let Some((unit, rx)) = job else { break };
                if tgt.is_none() {
                    tgt = Some(connect_loader(&target).await?);
                }
                let Some(c) = tgt.as_mut() else { break };
                if let Err(e) = write_unit(c, &shared, &unit, rx).await {
                    shared.failed.store(true, Ordering::SeqCst);
                    return Err(e);
                }
            }
            if let Some(c) = tgt {
                c.disconnect().await.ok();
            }
            Ok::<(), CopyError>(())
        }));
    }
    let mut reader_tasks = Vec::new();
    for (mut src, snapshot) in conns.into_iter().zip(positions.clone()) {
        let shared = shared.clone();
        let units = units.clone();
        let job_tx = job_tx.clone();
        reader_tasks.push(tokio::spawn(async move {
            loop {
                if shared.failed.load(Ordering::SeqCst) {
                    break;
                }
                let next = units.lock().ok().and_then(|mut q| q.pop_front());
                let Some(mut unit) = next else { break };
                unit.snapshot = snapshot.clone();
                let (tx, rx) = mpsc::channel(shared.options.queue_buffers.max(1));
                let table = unit.table;
                let (after, hi) = (unit.after.clone(), unit.hi.clone());
                shared
                    .options
                    .progress
                    .table_started(table, shared.tables[table].meta.estimated_rows);
                if job_tx.send((unit, rx)).await.is_err() {
                    break;
                }
                let read = match &shared.watermark {
                    Some(wm) if !shared.tables[table].key_names.is_empty() => {
                        watermark::read_unit(&mut src, &shared, wm, table, after, hi, &tx).await
                    }
                    wm => read_unit(&mut src, &shared, table, after, hi, &tx, wm.as_ref()).await,
                };
                if let Err(e) = read {
                    shared.failed.store(true, Ordering::SeqCst);
                    return Err(e);
                }
            }
            src.query_drop("COMMIT").await.ok();
            src.disconnect().await.ok();
            Ok::<(), CopyError>(())
        }));
    }
    drop(job_tx);
    let mut first_err = None;
    for t in reader_tasks.into_iter().chain(writer_tasks) {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(join) => {
                first_err.get_or_insert(CopyError::Internal(format!(
                    "a copy task stopped unexpectedly: {join}"
                )));
            }
        }
    }
    if let Some(wm) = &shared.watermark {
        wm.windows.stop();
    }
    let failure = first_err.or_else(|| {
        shared
            .failed
            .load(Ordering::SeqCst)
            .then(|| CopyError::Internal("the copy stopped after a failure".into()))
    });
    if let Some(e) = failure {
        if let Ok(waiting) = shared
            .checkpoint
            .tables_with_deferred_indexes(&mut control)
            .await
        {
            if !waiting.is_empty() {
                tracing::warn!(
                    tables = %waiting
                        .iter()
                        .map(|(d, t)| format!("{}.{}", quote(d), quote(t)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    "these target tables lack secondary indexes dropped for their load until the \
                     copy is run again with the same task (it adds them back)"
                );
            }
        }
        return Err(e);
    }
    let stats = std::mem::take(&mut *shared.stats.lock().unwrap_or_else(|e| e.into_inner()));
    for (r, s) in reports.iter_mut().zip(stats) {
        r.rows = s.rows;
        r.bytes = s.bytes;
        r.chunks = s.chunks;
        r.conflicts_ignored = s.ignored;
        r.conflicts_overwritten = s.overwritten;
        r.indexes_rebuilt = s.indexes;
    }
    // Indexes a run of the task dropped and did not add back (it stopped
    // between a table's last commit and the rebuild), for any table.
    for (db, table) in shared
        .checkpoint
        .tables_with_deferred_indexes(&mut control)
        .await?
    {
        let names = rebuild_indexes(&mut control, &shared.checkpoint, &db, &table).await?;
        let mine = shared
            .tables
            .iter()
            .position(|p| p.target_db == db && p.target_table == table);
        match mine {
            Some(i) => reports[i].indexes_rebuilt.extend(names),
            None if !names.is_empty() => tracing::info!(
                table = %format!("{}.{}", quote(&db), quote(&table)),
                indexes = %names.join(", "),
                "secondary indexes dropped by an earlier run of the task added back"
            ),
            None => {}
        }
    }
    let all = shared.checkpoint.snapshots(&mut control).await?;
    control.disconnect().await.ok();
    let start = extreme(&all, std::cmp::Ordering::Less);
    let end = extreme(&all, std::cmp::Ordering::Greater);
    Ok(CopyReport {
        overlap_end: end.filter(|e| Some(e) != start.as_ref()),
        start,
        tables: reports,
    })
}

fn extreme(p: &[FilePosition], want: std::cmp::Ordering) -> Option<FilePosition> {
    let mut best: Option<&FilePosition> = None;
    for x in p {
        if best.is_none_or(|b| x.partial_cmp(b) == Some(want)) {
            best = Some(x);
        }
    }
    best.cloned()
}
