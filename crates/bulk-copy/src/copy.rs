//! The full copy: tables read inside consistent snapshots, in keyset chunks,
//! by several reader connections, and written by several writer connections
//! with `LOAD DATA LOCAL INFILE` fed from memory, reads overlapped with
//! writes.
//!
//! **Snapshot and position.** On MariaDB each reader runs `START TRANSACTION
//! WITH CONSISTENT SNAPSHOT` and reads `binlog_snapshot_file/position`, the
//! binlog position its snapshot is consistent with, without any global lock;
//! readers may see different positions. Elsewhere (MySQL), a brief `FLUSH
//! TABLES WITH READ LOCK` is held while the readers open their snapshots, so
//! they share one position. Every position read from, in every run of the
//! task, is recorded on the target; the report gives the lowest (where
//! incremental migration must start) and, when they differ, the highest
//! (where its idempotent overlap window ends; design rule 8).
//!
//! **Work units.** A table is one key range, or, when its key is a single
//! integer column and it is large, several ranges split arithmetically
//! between the key's minimum and maximum, copied in parallel. A reader takes a
//! range and streams it in keyset chunks (`key > last ORDER BY key LIMIT n`,
//! never OFFSET, `n` adapted to the row width) into load buffers; one writer
//! takes the range's buffers in order. Queues hold at most
//! [`CopyOptions::queue_buffers`] buffers per range, so memory is bounded by
//! `readers x (queue_buffers + 1) x load_bytes` whatever the table size.
//!
//! **Write paths.** An empty target table that is not too large
//! ([`CopyOptions::bulk_max_bytes`]) is loaded in one transaction, so that
//! MariaDB's empty-table bulk insert (table-level undo, indexes built by
//! sorting) applies; its checkpoint row is written in that transaction. Other
//! tables are loaded in chunks, each committed with its range's high-water
//! key. A table without a usable key is loaded in one transaction (it cannot
//! be resumed part-way) and reported as such. The plain secondary indexes of
//! a large empty table are dropped before its load and added back after it
//! ([`CopyOptions::defer_indexes_min_bytes`]), recorded in the metadata
//! schema first so that no stop can lose them.
//!
//! **Resume.** Run again with the same task name after a crash: finished
//! tables are not copied again, unfinished ranges resume after their last
//! committed key, and a table loaded in one transaction that did not commit
//! starts over (its rows were rolled back with it). See [`crate::checkpoint`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, Row, Value};
use tokio::sync::mpsc;

use binlog_reader::position::FilePosition;

use server_dialect::{quote, Dialect, SnapshotMethod};

use crate::base::error::{db_err, dialect_err, CopyError};
use crate::base::filter::validate_filter;
use crate::base::keyset::{range_condition, split};
use crate::base::mapping::{ConflictPolicy, TableMapping};
use crate::base::meta::{load_table_meta, ColumnMeta, KeyStrategy, TableMeta};
use crate::base::progress::{Progress, TableState};
use crate::base::session::{connect, connect_loader};
use crate::base::snapshot::{begin_reader_snapshot, binlog_position, snapshot_position};
use crate::base::throttle::Throttle;
use crate::checkpoint::{encode_key, Checkpoint, LoadMethod, CHUNKED_EMPTY};
use crate::encode;

/// How the readers' snapshots are taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SnapshotMode {
    /// MariaDB's lock-free consistent snapshot when the source is MariaDB,
    /// otherwise a brief global read lock.
    #[default]
    Auto,
    /// `START TRANSACTION WITH CONSISTENT SNAPSHOT` and
    /// `binlog_snapshot_file/position` (MariaDB only): no lock at all.
    ConsistentSnapshot,
    /// `FLUSH TABLES WITH READ LOCK` held while every reader opens its
    /// snapshot, then `UNLOCK TABLES`: one shared position.
    FlushTablesWithReadLock,
}

/// How to copy.
#[derive(Clone, Debug)]
pub struct CopyOptions {
    /// Reader connections to the source, each with its own snapshot.
    pub readers: usize,
    /// Writer connections to the target. A range is written by one writer
    /// at a time, in order, so more writers than readers stay idle.
    pub writers: usize,
    /// Rows per keyset chunk at most.
    pub chunk_rows: usize,
    /// Bytes per keyset chunk aimed at: the chunk's rows are this divided by
    /// the table's average row length, at most `chunk_rows`.
    pub chunk_bytes: usize,
    /// Bytes of LOAD DATA text sent per load at most.
    pub load_bytes: usize,
    /// Load buffers queued per range between its reader and its writer.
    pub queue_buffers: usize,
    /// An empty target table whose source data length is at most this is
    /// loaded in one transaction (MariaDB's bulk-insert path); larger ones
    /// are committed chunk by chunk so that a crash loses little. 0 turns
    /// the bulk path off. Measured on MariaDB 10.11 with sysbench tables
    /// (benches/copy.sh): no difference at 250k rows per table, and one
    /// transaction per 1M-row table 1.3x slower than chunk commits, hence
    /// the modest default (64 MiB).
    pub bulk_max_bytes: u64,
    /// The plain secondary indexes (non-unique B-tree; not FULLTEXT or
    /// SPATIAL) of an empty target table whose source data length is at
    /// least this are dropped before its load and added back when its rows
    /// are in, each built by one sort instead of row by row. The drop is
    /// recorded first, so a copy that stops half-way adds them back when it
    /// is run again. Tables in a foreign key keep their indexes. `None`
    /// keeps every index during the load. Measured on MariaDB 10.11 with
    /// sysbench tables (4 x 250k rows, one secondary index each): the target
    /// spends about 20% less CPU and the copy takes 0.8x the time.
    pub defer_indexes_min_bytes: Option<u64>,
    /// A chunked table with a single integer key is split into ranges of
    /// about this many rows, copied in parallel. 0 turns splitting off.
    pub split_rows: u64,
    /// Key conflicts with rows already on the target.
    pub conflict: ConflictPolicy,
    /// How snapshots are taken.
    pub snapshot: SnapshotMode,
    /// The metadata schema on the target holding the checkpoint.
    pub meta_schema: String,
    /// The task's name: runs with the same name resume each other.
    pub task: String,
    /// Rate limits, changeable while the copy runs.
    pub throttle: Throttle,
    /// Progress, readable while the copy runs.
    pub progress: Progress,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            readers: 4,
            writers: 4,
            chunk_rows: 100_000,
            chunk_bytes: 16 << 20,
            load_bytes: 1 << 20,
            queue_buffers: 2,
            bulk_max_bytes: 64 << 20,
            defer_indexes_min_bytes: Some(16 << 20),
            split_rows: 1_000_000,
            conflict: ConflictPolicy::Error,
            snapshot: SnapshotMode::Auto,
            meta_schema: "dts_meta".into(),
            task: "default".into(),
            throttle: Throttle::default(),
            progress: Progress::default(),
        }
    }
}

/// What one table's copy did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableReport {
    /// The source table, quoted.
    pub table: String,
    /// The target table, quoted.
    pub target: String,
    /// How it was read.
    pub strategy: KeyStrategy,
    /// How it was written.
    pub method: LoadMethod,
    /// An earlier run of the task had finished it: nothing was copied.
    pub already_done: bool,
    /// An earlier run had committed part of it: this run went on from there.
    pub resumed: bool,
    /// Key ranges it was split into.
    pub ranges: usize,
    /// Rows sent to the target in this run.
    pub rows: u64,
    /// Bytes of LOAD DATA text sent in this run.
    pub bytes: u64,
    /// Keyset chunks read in this run.
    pub chunks: u64,
    /// Source rows not written because the key existed ([`ConflictPolicy::Ignore`]).
    pub conflicts_ignored: u64,
    /// Target rows replaced ([`ConflictPolicy::Overwrite`]).
    pub conflicts_overwritten: u64,
    /// Secondary indexes dropped for the load and added back by this run
    /// (see [`CopyOptions::defer_indexes_min_bytes`]).
    pub indexes_rebuilt: Vec<String>,
}

/// What the copy did, and where incremental migration starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    /// The lowest snapshot position of every run of the task: incremental
    /// migration starts here. `None` when the source has no binlog.
    pub start: Option<FilePosition>,
    /// The highest snapshot position, when the snapshots differed: changes
    /// up to here must be applied idempotently.
    pub overlap_end: Option<FilePosition>,
    /// One report per table, in the order given.
    pub tables: Vec<TableReport>,
}

/// Opens `n` reader connections inside consistent snapshots, and returns the
/// binlog position of each (`None` when the source has no binlog).
async fn open_readers(
    source: &Opts,
    n: usize,
    mode: SnapshotMode,
) -> Result<(Vec<Conn>, Vec<Option<FilePosition>>), CopyError> {
    let mut control = connect(source, "source").await?;
    let version = server_dialect::server_version(&mut control)
        .await
        .map_err(dialect_err("source"))?;
    let mode = match mode {
        SnapshotMode::Auto => match Dialect::new(version.clone()).default_snapshot_method() {
            SnapshotMethod::ConsistentSnapshot => SnapshotMode::ConsistentSnapshot,
            SnapshotMethod::GlobalReadLock => SnapshotMode::FlushTablesWithReadLock,
        },
        m => m,
    };
    let mut conns = Vec::with_capacity(n);
    let mut positions = Vec::with_capacity(n);
    match mode {
        SnapshotMode::FlushTablesWithReadLock => {
            control
                .query_drop("FLUSH TABLES WITH READ LOCK")
                .await
                .map_err(db_err(
                    "source",
                    "taking the global read lock (FLUSH TABLES WITH READ LOCK needs the RELOAD \
                     privilege)",
                ))?;
            let opened: Result<(), CopyError> = async {
                for _ in 0..n {
                    let mut c = connect(source, "source").await?;
                    begin_reader_snapshot(&mut c).await?;
                    conns.push(c);
                }
                Ok(())
            }
            .await;
            let status = if opened.is_ok() {
                binlog_position(&mut control, Some(&version)).await
            } else {
                Ok(None)
            };
            control
                .query_drop("UNLOCK TABLES")
                .await
                .map_err(db_err("source", "releasing the global read lock"))?;
            opened?;
            let p = status?;
            positions.resize(n, p);
        }
        _ => {
            for _ in 0..n {
                let mut c = connect(source, "source").await?;
                begin_reader_snapshot(&mut c).await?;
                let p = snapshot_position(&mut c).await?;
                conns.push(c);
                positions.push(p);
            }
        }
    }
    control.disconnect().await.ok();
    Ok((conns, positions))
}

/// A table, resolved: its metadata, what is read and what is written.
struct Prepared {
    meta: TableMeta,
    source: String,
    target: String,
    target_db: String,
    target_table: String,
    /// Indexes into `meta.columns` of the columns written, in order.
    written: Vec<usize>,
    /// How each written column is encoded, and whether it is an ENUM.
    codecs: Vec<(encode::Codec, bool)>,
    /// The LOAD DATA statement.
    load: String,
    /// `SELECT cols FROM t`: the written columns, then the key columns not
    /// written.
    select: String,
    /// Where each key column is in a row read.
    key_pos: Vec<usize>,
    /// The quoted key columns.
    key_names: Vec<String>,
    filter: Option<String>,
    chunk_rows: usize,
}

fn prepare(
    t: &TableMapping,
    meta: TableMeta,
    options: &CopyOptions,
) -> Result<Prepared, CopyError> {
    let source = meta.quoted();
    let err = |reason: String| CopyError::Table {
        table: source.clone(),
        reason,
    };
    let mut written = Vec::new();
    let mut target_names = Vec::new();
    match &t.columns {
        None => {
            for (i, c) in meta.written() {
                written.push(i);
                target_names.push(c.name.clone());
            }
        }
        Some(list) => {
            if list.is_empty() {
                return Err(err(
                    "its column list is empty; list at least one column".into()
                ));
            }
            for m in list {
                let i = meta
                    .columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(&m.source))
                    .ok_or_else(|| {
                        err(format!(
                            "the column {} in its column list does not exist (its columns: {})",
                            quote(&m.source),
                            meta.columns
                                .iter()
                                .map(|c| quote(&c.name))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                if meta.columns[i].generated {
                    return Err(err(format!(
                        "the column {} is generated: the target computes it; leave it out of the \
                         column list",
                        quote(&m.source)
                    )));
                }
                if written.contains(&i) {
                    return Err(err(format!(
                        "the column {} is listed twice",
                        quote(&m.source)
                    )));
                }
                written.push(i);
                target_names.push(m.target.clone());
            }
        }
    }
    let filter = match &t.filter {
        None => None,
        Some(f) => {
            let names: Vec<String> = meta.columns.iter().map(|c| c.name.clone()).collect();
            Some(validate_filter(f, &names).map_err(|e| err(e.to_string()))?)
        }
    };
    let key: Vec<usize> = match &meta.key {
        KeyStrategy::Keyset(k) => k.clone(),
        KeyStrategy::FullScan => Vec::new(),
    };
    let key_names: Vec<String> = key.iter().map(|&i| quote(&meta.columns[i].name)).collect();
    let mut cols: Vec<String> = written
        .iter()
        .map(|&i| quote(&meta.columns[i].name))
        .collect();
    let mut key_pos = Vec::with_capacity(key.len());
    for (&k, name) in key.iter().zip(&key_names) {
        match written.iter().position(|&w| w == k) {
            Some(pos) => key_pos.push(pos),
            None => {
                key_pos.push(cols.len());
                cols.push(name.clone());
            }
        }
    }
    let select = format!("SELECT {} FROM {}", cols.join(", "), source);
    let load = load_statement(&meta.columns, &written, &target_names, t, options.conflict);
    let width = meta.avg_row_length.max(1);
    let chunk_rows =
        (options.chunk_bytes as u64 / width).clamp(100, options.chunk_rows.max(1) as u64);
    Ok(Prepared {
        target: t.target_quoted(),
        target_db: t.target_db.clone(),
        target_table: t.target_table.clone(),
        source,
        codecs: written
            .iter()
            .map(|&i| {
                let c = &meta.columns[i];
                (encode::Codec::of(c), c.data_type == "enum")
            })
            .collect(),
        written,
        load,
        select,
        key_pos,
        key_names,
        filter,
        chunk_rows: chunk_rows as usize,
        meta,
    })
}

/// The LOAD DATA statement for a table: written columns in order, BIT
/// columns through user variables.
fn load_statement(
    columns: &[ColumnMeta],
    written: &[usize],
    target_names: &[String],
    t: &TableMapping,
    conflict: ConflictPolicy,
) -> String {
    let mut cols = Vec::new();
    let mut sets = Vec::new();
    for (n, (&i, name)) in written.iter().zip(target_names).enumerate() {
        if columns[i].data_type == "bit" {
            cols.push(format!("@v{n}"));
            sets.push(format!("{} = CAST(@v{n} AS UNSIGNED)", quote(name)));
        } else {
            cols.push(quote(name));
        }
    }
    let modifier = match conflict {
        ConflictPolicy::Error => "",
        ConflictPolicy::Ignore => "IGNORE ",
        ConflictPolicy::Overwrite => "REPLACE ",
    };
    let mut s = format!(
        "LOAD DATA LOCAL INFILE 'dts-chunk' {modifier}INTO TABLE {} CHARACTER SET binary \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
        t.target_quoted(),
        cols.join(", ")
    );
    if !sets.is_empty() {
        s.push_str(" SET ");
        s.push_str(&sets.join(", "));
    }
    s
}

/// One range to copy in this run.
struct Unit {
    table: usize,
    range_no: u32,
    method: LoadMethod,
    /// Exclusive lower bound to read from (the range's start, or the last
    /// key committed).
    after: Option<Vec<Value>>,
    /// The range's own bounds, for the checkpoint row of a one-transaction
    /// load.
    lo: Option<Vec<Value>>,
    hi: Option<Vec<Value>>,
    /// Unique checks stay on when the target table held rows of its own.
    unique_checks: bool,
    /// The snapshot position of the reader that reads it (set when a reader
    /// takes it): a one-transaction load records it, so that incremental
    /// migration skips the changes the load already holds.
    snapshot: Option<FilePosition>,
}

/// Rows on their way from a reader to a writer.
struct Buffer {
    data: Vec<u8>,
    rows: u64,
    /// ENUM empty values in this buffer: (1-based row, column), whose 1265
    /// warnings are expected.
    expected: Vec<(u64, String)>,
    /// The key of the last row (chunked ranges).
    end_key: Option<Vec<Value>>,
    /// The range's last buffer.
    last: bool,
    chunks: u64,
}

#[derive(Default)]
struct Stats {
    rows: u64,
    bytes: u64,
    chunks: u64,
    ignored: u64,
    overwritten: u64,
    indexes: Vec<String>,
}

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

    let (mut conns, positions) = open_readers(source, readers, options.snapshot).await?;
    for p in positions.iter().flatten() {
        checkpoint.record_snapshot(&mut control, p).await?;
    }

    // Resolve every table before copying anything: a bad column list or
    // filter fails the copy before it starts.
    let mut prepared = Vec::with_capacity(tables.len());
    for t in tables {
        let meta = load_table_meta(&mut conns[0], &t.source_db, &t.source_table).await?;
        prepared.push(prepare(t, meta, options)?);
    }
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
                if let Err(e) = read_unit(&mut src, &shared, table, after, hi, &tx).await {
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

/// Decides how a table never committed before is copied, and records the
/// ranges of a chunked one.
async fn plan_table(
    src: &mut Conn,
    control: &mut Conn,
    checkpoint: &Checkpoint,
    table: usize,
    p: &Prepared,
    options: &CopyOptions,
) -> Result<Vec<Unit>, CopyError> {
    let empty: Option<u8> = control
        .query_first(format!("SELECT 1 FROM {} LIMIT 1", p.target))
        .await
        .map_err(db_err(
            "target",
            format!("looking for rows in {}", p.target),
        ))?;
    let empty = empty.is_none();
    if empty
        && options
            .defer_indexes_min_bytes
            .is_some_and(|min| p.meta.data_length >= min)
    {
        defer_indexes(control, checkpoint, p).await?;
    }
    let one = |method| Unit {
        table,
        range_no: 0,
        method,
        after: None,
        lo: None,
        hi: None,
        unique_checks: !empty,
        snapshot: None,
    };
    if p.key_names.is_empty() {
        return Ok(vec![one(LoadMethod::Whole)]);
    }
    if empty && p.meta.data_length <= options.bulk_max_bytes {
        return Ok(vec![one(LoadMethod::Bulk)]);
    }
    // Chunked: split a large single-integer-key table into ranges.
    let mut bounds: Vec<Value> = Vec::new();
    if let KeyStrategy::Keyset(k) = &p.meta.key {
        let integer = matches!(
            p.meta.columns[k[0]].data_type.as_str(),
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint"
        );
        if k.len() == 1 && integer && options.split_rows > 0 {
            let n = (p.meta.estimated_rows / options.split_rows).min(256);
            if n >= 2 {
                let (lo, hi): (Option<Value>, Option<Value>) = src
                    .query_first(format!(
                        "SELECT MIN({0}), MAX({0}) FROM {1}",
                        p.key_names[0], p.source
                    ))
                    .await
                    .map_err(db_err(
                        "source",
                        format!("reading the key range of {}", p.source),
                    ))?
                    .unwrap_or((None, None));
                bounds = split(lo, hi, n);
            }
        }
    }
    let method = if empty {
        CHUNKED_EMPTY
    } else {
        LoadMethod::Chunked.as_str()
    };
    let mut units = Vec::new();
    let mut lo: Option<Vec<Value>> = None;
    for r in 0..=bounds.len() {
        let hi = bounds.get(r).map(|b| vec![b.clone()]);
        units.push(Unit {
            table,
            range_no: r as u32,
            method: LoadMethod::Chunked,
            after: lo.clone(),
            lo: lo.clone(),
            hi: hi.clone(),
            unique_checks: !empty,
            snapshot: None,
        });
        lo = hi;
    }
    let sql = checkpoint.insert_range_sql();
    control
        .exec_batch(
            sql.as_str(),
            units.iter().map(|u| {
                (
                    &checkpoint.task,
                    &p.target_db,
                    &p.target_table,
                    u.range_no,
                    method,
                    u.lo.as_deref().map(encode_key),
                    u.hi.as_deref().map(encode_key),
                    None::<Vec<u8>>,
                    0u8,
                    0u64,
                    0u64,
                )
            }),
        )
        .await
        .map_err(db_err(
            "target",
            format!("recording the ranges of {}", p.target),
        ))?;
    Ok(units)
}

/// Reads one range and sends it as load buffers, the last one marked.
async fn read_unit(
    src: &mut Conn,
    shared: &Shared,
    table: usize,
    mut last_key: Option<Vec<Value>>,
    hi: Option<Vec<Value>>,
    tx: &mpsc::Sender<Buffer>,
) -> Result<(), CopyError> {
    let p = &shared.tables[table];
    let options = &shared.options;
    let mut buf = new_buffer(shared);
    let keyed = !p.key_names.is_empty();
    loop {
        if shared.failed.load(Ordering::SeqCst) || tx.is_closed() {
            return Ok(());
        }
        let (cond, params) = range_condition(
            &p.key_names,
            p.filter.as_deref(),
            last_key.as_deref(),
            hi.as_deref(),
        );
        let sql = if keyed {
            format!(
                "{}{} ORDER BY {} LIMIT {}",
                p.select,
                cond,
                p.key_names.join(", "),
                p.chunk_rows
            )
        } else {
            format!("{}{}", p.select, cond)
        };
        options.throttle.acquire(1, 0, 0).await;
        let mut result = src
            .exec_iter(sql.as_str(), params)
            .await
            .map_err(db_err("source", format!("reading {}", p.source)))?;
        let mut rows_in_chunk = 0u64;
        buf.chunks += 1;
        let mut last_row: Option<Row> = None;
        {
            let mut stream = result
                .stream::<Row>()
                .await
                .map_err(db_err("source", format!("reading {}", p.source)))?
                .ok_or_else(|| CopyError::Table {
                    table: p.source.clone(),
                    reason: "the SELECT returned no result set".into(),
                })?;
            while let Some(row) = stream.next().await {
                let row = row.map_err(db_err("source", format!("reading {}", p.source)))?;
                buf.rows += 1;
                for (n, &(codec, is_enum)) in p.codecs.iter().enumerate() {
                    if n > 0 {
                        buf.data.push(b'\t');
                    }
                    let v = row.as_ref(n).unwrap_or(&Value::NULL);
                    if is_enum && matches!(v, Value::Bytes(b) if b.is_empty()) {
                        let col = &p.meta.columns[p.written[n]];
                        buf.expected.push((buf.rows, col.name.clone()));
                    }
                    encode::encode(&mut buf.data, v, codec);
                }
                buf.data.push(b'\n');
                rows_in_chunk += 1;
                if buf.data.len() >= options.load_bytes {
                    if keyed {
                        buf.end_key = Some(key_of(&row, &p.key_pos));
                    }
                    let full = std::mem::replace(&mut buf, new_buffer(shared));
                    send(tx, full, options).await;
                }
                last_row = Some(row);
            }
        }
        if !keyed || (rows_in_chunk as usize) < p.chunk_rows {
            break;
        }
        // The next chunk starts after the last key read.
        let k = last_row.as_ref().map(|r| key_of(r, &p.key_pos));
        if buf.rows > 0 {
            buf.end_key = k.clone();
        }
        last_key = k;
    }
    buf.last = true;
    send(tx, buf, options).await;
    Ok(())
}

fn key_of(row: &Row, key_pos: &[usize]) -> Vec<Value> {
    key_pos
        .iter()
        .map(|&j| row.as_ref(j).cloned().unwrap_or(Value::NULL))
        .collect()
}

fn new_buffer(shared: &Shared) -> Buffer {
    let spare = shared.spare.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let data = match spare {
        Some(mut d) => {
            d.clear();
            d
        }
        None => Vec::with_capacity(shared.options.load_bytes.min(64 << 20) + 4096),
    };
    Buffer {
        data,
        rows: 0,
        expected: Vec::new(),
        end_key: None,
        last: false,
        chunks: 0,
    }
}

async fn send(tx: &mpsc::Sender<Buffer>, b: Buffer, options: &CopyOptions) {
    options
        .throttle
        .acquire(0, b.rows, b.data.len() as u64)
        .await;
    // A closed channel means the writer stopped on an error of its own,
    // which it reports; the reader sees `is_closed` and stops.
    tx.send(b).await.ok();
}

/// Writes one range's buffers in order.
async fn write_unit(
    c: &mut Conn,
    shared: &Shared,
    unit: &Unit,
    mut rx: mpsc::Receiver<Buffer>,
) -> Result<(), CopyError> {
    let t = unit.table;
    let p = &shared.tables[t];
    let cp = &shared.checkpoint;
    c.query_drop(if unit.unique_checks {
        "SET SESSION unique_checks = 1"
    } else {
        "SET SESSION unique_checks = 0"
    })
    .await
    .map_err(db_err("target", "setting unique_checks"))?;
    let one_txn = unit.method != LoadMethod::Chunked;
    let (mut total_rows, mut total_bytes) = (0u64, 0u64);
    let mut in_txn = false;
    let result: Result<(), CopyError> = async {
        loop {
            let Some(b) = rx.recv().await else {
                // The reader stopped without its last buffer: it failed and
                // reports why. Nothing uncommitted may stay.
                if in_txn {
                    c.query_drop("ROLLBACK").await.ok();
                    in_txn = false;
                }
                return Ok(());
            };
            if !in_txn {
                c.query_drop("BEGIN").await.map_err(db_err(
                    "target",
                    format!("starting a load into {}", p.target),
                ))?;
                in_txn = true;
            }
            let bytes = b.data.len() as u64;
            let (ignored, overwritten) = if b.rows > 0 {
                let (ignored, overwritten, back) =
                    load(c, p, b.data, &b.expected, b.rows, shared.options.conflict).await?;
                if let Some(back) = back {
                    let mut spare = shared.spare.lock().unwrap_or_else(|e| e.into_inner());
                    // As many as can be in flight; more would only hold memory.
                    let most = shared.options.readers * (shared.options.queue_buffers + 2);
                    // Not one a huge row made huge: it would stay that big.
                    let normal = back.capacity() <= 2 * (shared.options.load_bytes + 4096);
                    if spare.len() < most && normal {
                        spare.push(back);
                    }
                }
                (ignored, overwritten)
            } else {
                (0, 0)
            };
            total_rows += b.rows;
            total_bytes += bytes;
            if one_txn {
                if b.last {
                    c.exec_drop(
                        cp.insert_range_sql(),
                        (
                            &cp.task,
                            &p.target_db,
                            &p.target_table,
                            unit.range_no,
                            unit.method.as_str(),
                            unit.lo.as_deref().map(encode_key),
                            unit.hi.as_deref().map(encode_key),
                            None::<Vec<u8>>,
                            1u8,
                            total_rows,
                            total_bytes,
                        ),
                    )
                    .await
                    .map_err(db_err("target", format!("checkpointing {}", p.target)))?;
                    if let Some(snap) = &unit.snapshot {
                        c.exec_drop(
                            cp.snapshot_sql(),
                            (
                                &snap.file,
                                snap.offset,
                                &cp.task,
                                &p.target_db,
                                &p.target_table,
                                unit.range_no,
                            ),
                        )
                        .await
                        .map_err(db_err("target", format!("checkpointing {}", p.target)))?;
                    }
                }
            } else {
                c.exec_drop(
                    cp.advance_sql(),
                    (
                        b.end_key.as_deref().map(encode_key),
                        u8::from(b.last),
                        b.rows,
                        bytes,
                        &cp.task,
                        &p.target_db,
                        &p.target_table,
                        unit.range_no,
                    ),
                )
                .await
                .map_err(db_err("target", format!("checkpointing {}", p.target)))?;
            }
            if !one_txn || b.last {
                c.query_drop("COMMIT").await.map_err(db_err(
                    "target",
                    format!("committing a load into {}", p.target),
                ))?;
                in_txn = false;
            }
            // A chunk's rows count once committed; a one-transaction load's
            // as they are sent (they commit together at its end).
            shared.options.progress.committed(t, b.rows, bytes);
            {
                let mut s = shared.stats.lock().unwrap_or_else(|e| e.into_inner());
                let st = &mut s[t];
                st.rows += b.rows;
                st.bytes += bytes;
                st.chunks += b.chunks;
                st.ignored += ignored;
                st.overwritten += overwritten;
            }
            if b.last {
                let table_done = {
                    let mut left = shared.units_left.lock().unwrap_or_else(|e| e.into_inner());
                    left[t] = left[t].saturating_sub(1);
                    left[t] == 0
                };
                if table_done {
                    shared
                        .options
                        .progress
                        .set_state(t, TableState::BuildingIndexes);
                    let names = rebuild_indexes(c, cp, &p.target_db, &p.target_table).await?;
                    if !names.is_empty() {
                        let mut s = shared.stats.lock().unwrap_or_else(|e| e.into_inner());
                        s[t].indexes.extend(names);
                    }
                    shared.options.progress.set_state(t, TableState::Finished);
                }
                return Ok(());
            }
        }
    }
    .await;
    if result.is_err() && in_txn {
        c.query_drop("ROLLBACK").await.ok();
    }
    result
}

/// Drops the plain secondary indexes of an empty target table before its
/// load, recording them first (see [`CopyOptions::defer_indexes_min_bytes`]).
/// Leaves the table as it is when it is in a foreign key, when an index's
/// definition cannot be read back exactly, or when the server refuses the
/// drop (an AUTO_INCREMENT column whose only index it is, say).
async fn defer_indexes(c: &mut Conn, cp: &Checkpoint, p: &Prepared) -> Result<(), CopyError> {
    let (db, table) = (p.target_db.as_str(), p.target_table.as_str());
    let read = |what: &str| db_err("target", format!("reading the {what} of {}", p.target));
    let fks: Option<i64> = c
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.referential_constraints \
             WHERE (constraint_schema = ? AND table_name = ?) \
                OR (unique_constraint_schema = ? AND referenced_table_name = ?)",
            (db, table, db, table),
        )
        .await
        .map_err(read("foreign keys"))?;
    if fks.unwrap_or(0) > 0 {
        return Ok(());
    }
    let names: Vec<String> = c
        .exec(
            "SELECT DISTINCT index_name FROM information_schema.statistics \
             WHERE table_schema = ? AND table_name = ? AND non_unique = 1 AND index_type = 'BTREE'",
            (db, table),
        )
        .await
        .map_err(read("indexes"))?;
    if names.is_empty() {
        return Ok(());
    }
    // Bytes: a binary column's default may not be UTF-8.
    let create: Option<(Vec<u8>, Vec<u8>)> = c
        .query_first(format!("SHOW CREATE TABLE {}", p.target))
        .await
        .map_err(read("definition"))?;
    let Some(create) = create.and_then(|(_, d)| String::from_utf8(d).ok()) else {
        return Ok(());
    };
    let indexes = match index_definitions(&create, &names) {
        Some(i) if !i.is_empty() => i,
        _ => return Ok(()),
    };
    cp.record_indexes(c, db, table, &indexes).await?;
    let drops: Vec<String> = indexes
        .iter()
        .map(|(n, _)| format!("DROP INDEX {}", quote(n)))
        .collect();
    match c
        .query_drop(format!("ALTER TABLE {} {}", p.target, drops.join(", ")))
        .await
    {
        Ok(()) => {
            tracing::info!(
                table = %p.target,
                indexes = %indexes.iter().map(|(n, _)| quote(n)).collect::<Vec<_>>().join(", "),
                "secondary indexes dropped for the load; they are added back when the table's rows \
                 are in (a copy that stops before adds them back when run again with the same task)"
            );
            Ok(())
        }
        // The records stay: an earlier run may have dropped some of these
        // indexes already (its ALTER finishing after it was killed). The
        // rebuild at the end adds back whichever are missing, then forgets.
        Err(e) => {
            tracing::debug!(table = %p.target, error = %e, "the indexes stay during the load");
            Ok(())
        }
    }
}

/// The plain indexes that can be dropped and added back without changing
/// the table's definition: of the named (plain B-tree) indexes, those after
/// every other key in the `SHOW CREATE TABLE` text, FULLTEXT keys aside
/// (the server lists those last whatever their age; an index added later is
/// listed after the keys that stay, so only a tail of the list can be
/// deferred). Their `KEY` clauses in order, or `None` when a name is not
/// found on exactly one line.
fn index_definitions(create: &str, names: &[String]) -> Option<Vec<(String, String)>> {
    let mut keys: Vec<(Option<&String>, &str)> = Vec::new();
    for line in create.lines() {
        let clause = line.trim().trim_end_matches(',');
        let is_key = [
            "PRIMARY KEY",
            "UNIQUE KEY",
            "KEY ",
            "SPATIAL KEY",
            "FULLTEXT KEY",
            "VECTOR KEY",
        ]
        .iter()
        .any(|k| clause.starts_with(k));
        if !is_key {
            continue;
        }
        let name = names
            .iter()
            .find(|n| clause.starts_with(&format!("KEY {} (", quote(n))));
        keys.push((name, clause));
    }
    let found = keys.iter().filter(|(n, _)| n.is_some()).count();
    let each_once = names
        .iter()
        .all(|n| keys.iter().filter(|(f, _)| *f == Some(n)).count() == 1);
    if found != names.len() || !each_once {
        return None;
    }
    let mut tail = Vec::new();
    for (name, clause) in keys.iter().rev() {
        if clause.starts_with("FULLTEXT KEY") {
            continue;
        }
        match name {
            Some(n) => tail.push(((*n).clone(), clause.to_string())),
            None => break,
        }
    }
    tail.reverse();
    Some(tail)
}

/// Adds back the indexes recorded as dropped for the table's load that the
/// table lacks, in one `ALTER TABLE`, then forgets them. Returns their
/// names.
async fn rebuild_indexes(
    c: &mut Conn,
    cp: &Checkpoint,
    db: &str,
    table: &str,
) -> Result<Vec<String>, CopyError> {
    let target = format!("{}.{}", quote(db), quote(table));
    let recorded = cp.deferred_indexes(c, db, table).await?;
    if recorded.is_empty() {
        return Ok(Vec::new());
    }
    let mut added = Vec::new();
    // Twice at most: see the 1061 arm.
    for attempt in 0..2 {
        let present: Vec<String> = c
            .exec(
                "SELECT DISTINCT index_name FROM information_schema.statistics \
                 WHERE table_schema = ? AND table_name = ?",
                (db, table),
            )
            .await
            .map_err(db_err("target", format!("reading the indexes of {target}")))?;
        let missing: Vec<&(String, String)> = recorded
            .iter()
            .filter(|(n, _)| !present.iter().any(|x| x.eq_ignore_ascii_case(n)))
            .collect();
        if missing.is_empty() {
            break;
        }
        let adds: Vec<String> = missing.iter().map(|(_, d)| format!("ADD {d}")).collect();
        let sql = format!("ALTER TABLE {target} {}", adds.join(", "));
        match c.query_drop(&sql).await {
            Ok(()) => {
                added = missing.into_iter().map(|(n, _)| n.clone()).collect();
                break;
            }
            // The ALTER of a run killed while it built them went on in the
            // server and finished first: look again.
            Err(mysql_async::Error::Server(e)) if e.code == 1061 && attempt == 0 => {}
            Err(e) => {
                return Err(CopyError::Table {
                    table: target.clone(),
                    reason: format!(
                        "adding back the secondary indexes dropped for its load failed: {e}; run \
                         the copy again with the same task to retry, or add them yourself: {sql}"
                    ),
                })
            }
        }
    }
    cp.forget_indexes(c, db, table).await?;
    Ok(added)
}

/// Sends one buffer of rows with LOAD DATA (inside the caller's
/// transaction), and accepts it only when the target warned about nothing
/// but what is expected: an ENUM's empty "error" value (index 0), which the
/// servers always report as "Data truncated" (1265); and, under
/// [`ConflictPolicy::Ignore`], duplicate keys (1062). Returns the source rows
/// ignored, the target rows replaced, and the buffer when it can be reused.
async fn load(
    c: &mut Conn,
    p: &Prepared,
    data: Vec<u8>,
    expected: &[(u64, String)],
    rows: u64,
    conflict: ConflictPolicy,
) -> Result<(u64, u64, Option<Vec<u8>>), CopyError> {
    let bytes = Bytes::from(data);
    let keep = bytes.clone();
    c.set_infile_handler(
        async move { Ok(futures::stream::iter(std::iter::once(Ok(bytes))).boxed()) },
    );
    c.query_drop(p.load.as_str())
        .await
        .map_err(db_err("target", format!("loading rows into {}", p.target)))?;
    // The handler dropped its copy once the rows were sent: the buffer is
    // ours again, for the next load.
    let back = keep.try_into_mut().ok().map(Vec::from);
    let affected = c.affected_rows();
    let n = u64::from(c.get_warnings());
    let ignored = match conflict {
        ConflictPolicy::Ignore => rows.saturating_sub(affected),
        _ => 0,
    };
    let overwritten = match conflict {
        ConflictPolicy::Overwrite => affected.saturating_sub(rows),
        _ => 0,
    };
    if n == 0 {
        return Ok((ignored, overwritten, back));
    }
    let w: Vec<(String, u32, String)> = c.query("SHOW WARNINGS").await.map_err(db_err(
        "target",
        format!("reading the warnings of a load into {}", p.target),
    ))?;
    if conflict == ConflictPolicy::Error {
        if let Some((_, _, msg)) = w.iter().find(|(_, code, _)| *code == 1062) {
            return Err(CopyError::Conflict {
                table: p.target.clone(),
                detail: msg.clone(),
            });
        }
    }
    let unexpected: Vec<String> = w
        .iter()
        .filter(|(_, code, msg)| {
            let enum_empty = *code == 1265
                && expected.iter().any(|(row, col)| {
                    *msg == format!("Data truncated for column '{col}' at row {row}")
                });
            let dup = *code == 1062 && conflict == ConflictPolicy::Ignore;
            !(enum_empty || dup)
        })
        .map(|(l, c, m)| format!("{l} {c}: {m}"))
        .collect();
    if n != expected.len() as u64 + ignored || !unexpected.is_empty() {
        return Err(CopyError::LoadWarnings {
            table: p.target.clone(),
            warnings: if unexpected.is_empty() {
                format!(
                    "{n} warnings where {} were expected",
                    expected.len() as u64 + ignored
                )
            } else {
                unexpected.join("; ")
            },
        });
    }
    Ok((ignored, overwritten, back))
}
