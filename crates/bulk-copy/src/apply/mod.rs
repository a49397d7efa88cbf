//! Incremental migration: the source's binlog applied to the target,
//! exactly once.
//!
//! One reader task streams the binlog (`binlog_reader::BinlogStreamReader`,
//! which reconnects by itself from the last complete transaction) into a
//! bounded queue; the applier holds one target transaction open across many
//! source transactions and commits it, with the position in
//! `dts_meta.cdc_checkpoint`, at a source transaction boundary when the queue
//! runs dry, the batch passes `batch_bytes`, or `commit_interval` has passed.
//! So the target is always equal to a prefix of the source (design rule 13),
//! and a restart resumes from the committed position with nothing lost or
//! repeated (rule 1). Changes are coalesced per key and written with
//! multi-row statements (see `batch`); a source transaction larger than the
//! batch is written in parts inside the same target transaction, so memory
//! stays bounded whatever its size. The rules behind these decisions (the
//! net effect per key, when a batch commits, when a run is done, the overlap
//! window) are pure functions in `decide`, unit-tested without a server.
//!
//! DDL (see `ddl`) is run between commits: journaled as started, run on the
//! shadow schema (see `table`) and on the target through schema-diff's
//! rewriting (renames, DEFINER), then committed with the position and the
//! journal marked finished. A restart that finds a DDL journaled as started
//! but not finished runs it again and accepts the errors that say it already
//! ran (C7).
//!
//! Deadlocks, lock-wait timeouts and lost connections roll back the target
//! transaction; [`apply_changes`] then restarts from the checkpoint committed
//! on the target, which also settles a COMMIT whose answer was lost (rule 14).
//! Other server errors (a missing privilege, a read-only target) are not
//! retried: they return at once, saying what to fix.
//!
//! # Why one target connection
//!
//! Writing a batch's coalesced keys over N connections, partitioned by table
//! and key hash, each in its own transaction, does not keep design rule 13
//! for readers of the target, XA or not. XA (`XA PREPARE` on every branch,
//! the checkpoint in one of them, then `XA COMMIT` on each) makes the batch
//! all-or-nothing across crashes, but each `XA COMMIT` becomes visible on its
//! own: between the first and the last, a reader sees some partitions of the
//! batch and not the others. A source transaction whose rows fall in two
//! partitions (a transfer between two accounts) is then half visible: the
//! bank invariant breaks for that reader, and the state seen is no prefix of
//! the source. InnoDB has no way to make several connections' commits
//! visible at once, so no partitioning of one batch can avoid this.
//!
//! A design that would keep the rule is the one MariaDB's optimistic
//! parallel replication uses: parallel execution, commits in order. Cut the
//! stream into successive batches B1, B2, ...; run each on its own
//! connection concurrently, but let Bk update the checkpoint row and commit
//! only after Bk-1 committed (the checkpoint row's lock orders them anyway).
//! Readers then only ever see B1, then B1+B2: prefixes. The cost is
//! handling the order inversions: when Bk reaches a key before Bk-1 does,
//! Bk's conflict counts are wrong (the key's earlier state is not applied
//! yet) or Bk-1 blocks on Bk's row lock while Bk waits for Bk-1's commit.
//! Every such case must roll Bk back and run it again after Bk-1 commits
//! (a lock wait or a count mismatch in a batch that is not the oldest is
//! not an error, only a reason to retry it in order), with a lock-wait
//! detector for the head batch. That is not built: the single connection
//! already beats native parallel replication on the sysbench backlog of
//! `benches/apply.sh`, and the retry logic must first be proven against the
//! bank and crash tests.

mod batch;
mod ddl;
mod decide;
mod literal;
mod table;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use binlog_reader::event::{
    RowChange, RowsEvent, MARIADB_FL_STANDALONE, ROWS_NO_FOREIGN_KEY_CHECKS_F,
};
use binlog_reader::position::FilePosition;
use binlog_reader::{BinlogStreamReader, Event, EventBody, StreamConfig, StreamStart};
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use tokio::sync::{mpsc, Semaphore};

pub use table::{ApplySelection, OnlineDdlMode, Operations};

use crate::base::error::{db_err, CopyError};
use crate::base::mapping::ConflictPolicy;
use crate::base::meta_schema::{self, CDC_CHECKPOINT};
use crate::base::session::connect_applier;
use crate::base::throttle::Throttle;
use batch::{apply_ordered, render, render_key, Change, Counts, Pending};
use server_dialect::quote;
use table::{check_table_map, load_table, Routes, TableCache, TableInfo};

/// Where incremental migration starts when the task has no checkpoint yet:
/// the full copy's report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandOff {
    /// The lowest snapshot position of the copy.
    pub start: FilePosition,
    /// The highest, when the copy's snapshots differed: changes before it are
    /// applied idempotently.
    pub overlap_end: Option<FilePosition>,
}

/// Asks a running apply to stop at the next transaction boundary, with its
/// checkpoint committed.
#[derive(Clone, Debug, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    /// A signal not raised.
    pub fn new() -> Self {
        StopSignal::default()
    }

    /// Raises it.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether it was raised.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the apply has done so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyStatus {
    /// The last committed position (the checkpoint).
    pub position: Option<FilePosition>,
    /// Source transactions committed on the target.
    pub transactions: u64,
    /// Row changes applied.
    pub rows: u64,
    /// Row changes whose key conflicted and were overwritten.
    pub conflicts_overwritten: u64,
    /// Row changes whose key conflicted and were skipped.
    pub conflicts_skipped: u64,
    /// DDL statements applied to the target.
    pub ddl_applied: u64,
    /// DDL statements not applied to the target, by the task's choice or
    /// because they wait for cut-over (triggers), with why.
    pub ddl_skipped: Vec<String>,
    /// Row changes of online-DDL tools' helper tables not applied
    /// ([`OnlineDdlMode::ApplyOriginalDdl`]).
    pub online_ddl_rows_skipped: u64,
    /// Row changes not applied because the task's per-object operation
    /// filters leave their kind out.
    pub operations_filtered: u64,
    /// Statements in the binlog that change no selected object (GRANT,
    /// FLUSH, DDL of other databases, ...).
    pub statements_ignored: u64,
    /// How far the target is behind the source, from the last applied
    /// event's timestamp; zero when caught up.
    pub lag: Option<Duration>,
    /// True when every event read so far is committed and the reader waits
    /// for more.
    pub caught_up: bool,
    /// Restarts from the checkpoint after a transient error.
    pub retries: u64,
    /// The target connection applying changes (its id, for `KILL` and
    /// the process list).
    pub target_connection_id: Option<u32>,
    /// The source connection reading the binlog.
    pub source_connection_id: Option<u32>,
}

/// A handle on an apply's status, readable while it runs.
#[derive(Clone, Debug, Default)]
pub struct ApplyProgress(Arc<Mutex<ApplyStatus>>);

impl ApplyProgress {
    /// A fresh handle.
    pub fn new() -> Self {
        ApplyProgress::default()
    }

    /// The current status.
    pub fn status(&self) -> ApplyStatus {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut ApplyStatus)) {
        if let Ok(mut s) = self.0.lock() {
            f(&mut s);
        }
    }
}

/// How to apply.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// The task: its checkpoint is the row of this name.
    pub task: String,
    /// The metadata schema on the target.
    pub meta_schema: String,
    /// The server id the binlog reader registers with (distinct from every
    /// replica of the source).
    pub server_id: u32,
    /// Pending changes held before they are written, in bytes of SQL.
    pub batch_bytes: usize,
    /// The longest a target transaction stays open while the backlog lasts.
    pub commit_interval: Duration,
    /// Events queued between the reader and the applier.
    pub queue_events: usize,
    /// Binlog bytes queued between the reader and the applier (decoded,
    /// they take several times this). With `queue_events` it bounds the
    /// apply's memory whatever the size of a source transaction: the reader
    /// waits while the applier works through what is queued.
    pub queue_bytes: usize,
    /// Key conflicts (a row missing, or already there).
    pub conflict: ConflictPolicy,
    /// DDL the target cannot take, or of a kind not supported: skipped and
    /// counted instead of stopping the task.
    pub skip_failed_ddl: bool,
    /// How online-DDL tools' helper tables are treated.
    pub online_ddl: OnlineDdlMode,
    /// Limits on rows events (queries), rows and bytes per second, and a
    /// pause, changeable while running.
    pub throttle: Throttle,
    /// The status, readable while running.
    pub progress: ApplyProgress,
    /// Raised to stop.
    pub stop: StopSignal,
    /// Stop once the checkpoint has reached this position.
    pub until: Option<FilePosition>,
    /// Stop at the end of the binlog instead of waiting for more.
    pub stop_at_end: bool,
    /// Restarts from the checkpoint after transient errors, in a row,
    /// before giving up: a run that moved the checkpoint starts the count
    /// (and the backoff) again.
    pub max_retries: u32,
    /// A heartbeat written to the source, for a lag measured to the
    /// millisecond; `None` measures the lag from event timestamps (whole
    /// seconds) and needs no write access to the source.
    pub heartbeat: Option<Heartbeat>,
    /// How long the apply session waits for a row lock on the target
    /// (`innodb_lock_wait_timeout`, whole seconds, at least 1) before the
    /// target transaction is rolled back and retried from the checkpoint;
    /// `None` keeps the server's setting.
    pub lock_wait_timeout: Option<Duration>,
}

/// The heartbeat: every `interval`, the apply writes the source's current
/// time into `database`.`table` on the source (created if missing, one row
/// per task); when the row's change arrives in the binlog, the lag is the
/// time since then. The row is never applied to the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// The database on the source (created if missing).
    pub database: String,
    /// The table.
    pub table: String,
    /// How often.
    pub interval: Duration,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            database: "dts_meta".into(),
            table: "heartbeat".into(),
            interval: Duration::from_secs(1),
        }
    }
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            task: "default".into(),
            meta_schema: "dts_meta".into(),
            server_id: 0x7d75_0001,
            batch_bytes: 8 << 20,
            commit_interval: Duration::from_millis(500),
            queue_events: 4096,
            queue_bytes: 1 << 20,
            conflict: ConflictPolicy::Error,
            skip_failed_ddl: false,
            online_ddl: OnlineDdlMode::Replicate,
            throttle: Throttle::default(),
            progress: ApplyProgress::new(),
            stop: StopSignal::new(),
            until: None,
            stop_at_end: false,
            max_retries: 10,
            heartbeat: None,
            lock_wait_timeout: None,
        }
    }
}

/// What one apply run did.
pub type ApplyReport = ApplyStatus;

fn failpoint(name: &str) {
    // `DTS_FAILPOINT=name` or `name:N` (abort at the N-th hit), read once:
    // this runs at every commit.
    static SET: std::sync::OnceLock<Option<(String, u64)>> = std::sync::OnceLock::new();
    let set = SET.get_or_init(|| {
        std::env::var("DTS_FAILPOINT")
            .ok()
            .map(|v| match v.split_once(':') {
                Some((a, b)) => (a.to_string(), b.parse().unwrap_or(1)),
                None => (v, 1),
            })
    });
    if let Some((n, count)) = set {
        let count = *count;
        if n == name {
            static HITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            if HITS.fetch_add(1, Ordering::SeqCst) + 1 >= count {
                eprintln!("failpoint {name}: aborting the process");
                std::process::abort();
            }
        }
    }
}

async fn start_heartbeat(
    source: &Opts,
    h: &Heartbeat,
    task: &str,
) -> Result<tokio::task::JoinHandle<()>, CopyError> {
    let mut c = Conn::new(source.clone())
        .await
        .map_err(db_err("source", "connecting for the heartbeat"))?;
    let t = format!("{}.{}", quote(&h.database), quote(&h.table));
    c.query_drop(meta_schema::heartbeat_statement(&h.database, &h.table))
    .await
    .map_err(db_err(
        "source",
        format!("creating the heartbeat table {t} (turn the heartbeat off if the task may not write to the source)"),
    ))?;
    let (interval, task) = (h.interval, task.to_string());
    let sql = format!(
        "REPLACE INTO {t} (task, ts_us) VALUES (?, CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS UNSIGNED))"
    );
    Ok(tokio::spawn(async move {
        loop {
            if let Err(e) = c.exec_drop(&sql, (&task,)).await {
                tracing::warn!(error = %e, "heartbeat write failed");
            }
            tokio::time::sleep(interval).await;
        }
    }))
}

async fn prepared(c: &mut Conn, o: &ApplyOptions) -> Result<bool, CopyError> {
    let r: Option<u8> = c
        .exec_first(
            format!(
                "SELECT 1 FROM {}.`cdc_prepared` WHERE task = ?",
                quote(&o.meta_schema)
            ),
            (&o.task,),
        )
        .await
        .map_err(db_err("target", "reading the incremental preparation"))?;
    Ok(r.is_some())
}

/// Prepares incremental migration for a task: records the source schema of
/// the selected databases in the shadow (see the module documentation).
/// Call it just before the full copy takes its snapshot, so that the schema
/// kept is that of the copy's position; [`apply_changes`] does it itself
/// when it was not done. A DDL on the source between this call and the
/// snapshot is detected by the apply (its rows would not match), which then
/// stops.
///
/// # Errors
///
/// When the source's tables cannot be read or created in the shadow.
pub async fn prepare_incremental(
    source: &Opts,
    target: &Opts,
    selection: &ApplySelection,
    o: &ApplyOptions,
) -> Result<(), CopyError> {
    let mut tgt = connect_applier(target, o.lock_wait_timeout).await?;
    meta_schema::ensure_apply_tables(&mut tgt, &o.meta_schema).await?;
    let mut src = Conn::new(source.clone())
        .await
        .map_err(db_err("source", "connecting"))?;
    let ctx = ddl::Context::new(&mut tgt, o, selection.source_databases()).await?;
    ctx.create_shadow(&mut src, &mut tgt).await?;
    tgt.exec_drop(
        format!(
            "REPLACE INTO {}.`cdc_prepared` (task) VALUES (?)",
            quote(&o.meta_schema)
        ),
        (&o.task,),
    )
    .await
    .map_err(db_err("target", "recording the incremental preparation"))?;
    Ok(())
}

struct Saved {
    position: FilePosition,
    overlap_end: Option<FilePosition>,
    server_id: u64,
    transactions: u64,
    rows: u64,
}

async fn read_checkpoint(c: &mut Conn, o: &ApplyOptions) -> Result<Option<Saved>, CopyError> {
    type Row = (Vec<u8>, u64, Option<Vec<u8>>, Option<u64>, u64, u64, u64);
    let r: Option<Row> = c
        .exec_first(
            format!(
                "SELECT binlog_file, binlog_pos, overlap_file, overlap_pos, source_server_id, \
                 transactions, rows_applied FROM {}.`{CDC_CHECKPOINT}` WHERE task = ?",
                quote(&o.meta_schema)
            ),
            (&o.task,),
        )
        .await
        .map_err(db_err("target", "reading the incremental checkpoint"))?;
    Ok(r.map(|(f, p, of, op, sid, tx, rows)| Saved {
        position: FilePosition::new(String::from_utf8_lossy(&f), p),
        overlap_end: match (of, op) {
            (Some(f), Some(p)) => Some(FilePosition::new(String::from_utf8_lossy(&f), p)),
            _ => None,
        },
        server_id: sid,
        transactions: tx,
        rows,
    }))
}

/// Applies the source's binlog to the target from the task's checkpoint, or
/// from `handoff` when the task has none yet, until stopped, `until` is
/// reached, or (with `stop_at_end`) the binlog ends.
///
/// # Errors
///
/// [`CopyError`] naming the table, position and cause, with the checkpoint
/// left at the last committed transaction: a conflict (policy error), a
/// change the apply cannot write exactly, a DDL the target refused, purged
/// binlogs, or transient errors beyond `max_retries`.
pub async fn apply_changes(
    source: &Opts,
    target: &Opts,
    selection: &ApplySelection,
    handoff: Option<&HandOff>,
    options: &ApplyOptions,
) -> Result<ApplyReport, CopyError> {
    let mut attempts = 0u32;
    loop {
        let before = options.progress.status().position;
        match run_once(source, target, selection, handoff, options).await {
            Ok(()) => return Ok(options.progress.status()),
            Err(e) if e.is_retryable() => {
                // Failures in a row count: one after progress is a first.
                if options.progress.status().position != before {
                    attempts = 0;
                }
                if attempts >= options.max_retries {
                    return Err(e);
                }
                attempts += 1;
                options.progress.update(|s| s.retries += 1);
                tracing::warn!(error = %e, attempt = attempts, "apply: restarting from the checkpoint");
                let backoff = Duration::from_millis(200 * (1u64 << attempts.min(6)));
                tokio::time::sleep(backoff).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The source's binlog files, to refuse a start inside a purged one.
async fn check_not_purged(src: &mut Conn, start: &FilePosition) -> Result<(), CopyError> {
    let logs: Vec<mysql_async::Row> = src
        .query("SHOW BINARY LOGS")
        .await
        .map_err(db_err("source", "listing the binary logs"))?;
    let names: Vec<String> = logs
        .into_iter()
        .filter_map(|r| r.get::<String, _>(0))
        .collect();
    if !names.contains(&start.file) {
        return Err(CopyError::BinlogPurged {
            position: start.clone(),
            available: match (names.first(), names.last()) {
                (Some(a), Some(b)) => format!("{a} to {b}"),
                _ => "no binary logs".into(),
            },
        });
    }
    Ok(())
}

async fn run_once(
    source: &Opts,
    target: &Opts,
    selection: &ApplySelection,
    handoff: Option<&HandOff>,
    o: &ApplyOptions,
) -> Result<(), CopyError> {
    let mut tgt = connect_applier(target, o.lock_wait_timeout).await?;
    meta_schema::ensure_apply_tables(&mut tgt, &o.meta_schema).await?;
    let mut src = Conn::new(source.clone())
        .await
        .map_err(db_err("source", "connecting"))?;
    let server_id: u64 = src
        .query_first("SELECT @@server_id")
        .await
        .map_err(db_err("source", "reading server_id"))?
        .unwrap_or(0);
    let routes = Routes::new(selection, o.online_ddl);
    let ddl_ctx = ddl::Context::new(&mut tgt, o, selection.source_databases()).await?;
    let saved = match read_checkpoint(&mut tgt, o).await? {
        Some(s) => {
            if s.server_id != server_id {
                return Err(CopyError::OtherSource {
                    task: o.task.clone(),
                    checkpoint_server_id: s.server_id,
                    server_id,
                });
            }
            s
        }
        None => {
            let h = handoff.ok_or_else(|| CopyError::NoStartPosition {
                task: o.task.clone(),
            })?;
            check_not_purged(&mut src, &h.start).await?;
            if !prepared(&mut tgt, o).await? {
                ddl_ctx.create_shadow(&mut src, &mut tgt).await?;
            }
            tgt.exec_drop(
                format!(
                    "INSERT INTO {}.`{CDC_CHECKPOINT}` (task, binlog_file, binlog_pos, \
                     overlap_file, overlap_pos, source_server_id) VALUES (?, ?, ?, ?, ?, ?)",
                    quote(&o.meta_schema)
                ),
                (
                    &o.task,
                    &h.start.file,
                    h.start.offset,
                    h.overlap_end.as_ref().map(|p| p.file.clone()),
                    h.overlap_end.as_ref().map(|p| p.offset),
                    server_id,
                ),
            )
            .await
            .map_err(db_err("target", "creating the incremental checkpoint"))?;
            Saved {
                position: h.start.clone(),
                overlap_end: h.overlap_end.clone(),
                server_id,
                transactions: 0,
                rows: 0,
            }
        }
    };
    check_not_purged(&mut src, &saved.position).await?;
    drop(src);
    let mut routes = routes;
    if o.online_ddl == OnlineDdlMode::ApplyOriginalDdl {
        for db in selection.source_databases() {
            let t = table::shadow_tables(&mut tgt, &o.task, &db).await?;
            routes.set_tables(&db, &t);
        }
    }
    o.progress.update(|s| {
        s.position = Some(saved.position.clone());
        s.transactions = saved.transactions;
        s.rows = saved.rows;
    });
    if o.until.as_ref().is_some_and(|u| saved.position >= *u) {
        return Ok(());
    }
    let mut cfg = StreamConfig::new(
        source.clone(),
        o.server_id,
        StreamStart::File(Some(saved.position.file.clone()), saved.position.offset),
    );
    cfg.non_blocking = o.stop_at_end;
    let mut reader = BinlogStreamReader::connect(cfg)
        .await
        .map_err(CopyError::from)?;
    o.progress
        .update(|s| s.target_connection_id = Some(tgt.id()));
    let heartbeat_task = match &o.heartbeat {
        Some(h) => Some(start_heartbeat(source, h, &o.task).await?),
        None => None,
    };
    let (tx, rx) = mpsc::channel::<Result<Event, CopyError>>(o.queue_events.max(1));
    let budget = Arc::new(Semaphore::new(decide::queue_budget(o.queue_bytes)));
    let progress = o.progress.clone();
    let reader_budget = budget.clone();
    let o_queue_bytes = o.queue_bytes;
    let reader_task = tokio::spawn(async move {
        let mut id = None;
        loop {
            if reader.connection_id() != id {
                id = reader.connection_id();
                progress.update(|s| s.source_connection_id = id);
            }
            let r = reader.next().await;
            let done = !matches!(r, Ok(Some(_)));
            let item = match r {
                Ok(Some(e)) => {
                    // Wait for room: the applier gives the bytes back once it
                    // has handled the event.
                    let cost = decide::queue_cost(e.pos, e.end_pos, o_queue_bytes);
                    match reader_budget.acquire_many(cost).await {
                        Ok(p) => p.forget(),
                        Err(_) => break,
                    }
                    Ok(e)
                }
                Ok(None) => break,
                Err(e) => Err(CopyError::from(e)),
            };
            if tx.send(item).await.is_err() || done {
                break;
            }
        }
    });
    let mut a = Applier {
        o,
        selection,
        tgt,
        rx,
        budget,
        routes,
        ddl: ddl_ctx,
        cache: TableCache::default(),
        pending: HashMap::new(),
        pending_bytes: 0,
        open: false,
        committed: saved.position.clone(),
        boundary: None,
        overlap_end: saved.overlap_end.clone(),
        in_txn: false,
        txn_dirty: false,
        batch_started: None,
        counts: Counts::default(),
        txns_uncommitted: 0,
        rows_uncommitted: 0,
        fk_checks: true,
        last_event_time: 0,
        heartbeat_us: None,
        transactions: saved.transactions,
        rows: saved.rows,
    };
    let r = a.run().await;
    reader_task.abort();
    if let Some(h) = heartbeat_task {
        h.abort();
    }
    if r.is_err() && a.open {
        let _ = a.tgt.query_drop("ROLLBACK").await;
    }
    r
}

struct Applier<'a> {
    o: &'a ApplyOptions,
    selection: &'a ApplySelection,
    tgt: Conn,
    rx: mpsc::Receiver<Result<Event, CopyError>>,
    /// The queue's byte budget (see `ApplyOptions::queue_bytes`).
    budget: Arc<Semaphore>,
    routes: Routes,
    ddl: ddl::Context,
    cache: TableCache,
    /// Coalesced changes per source table.
    pending: HashMap<(String, String), Pending>,
    pending_bytes: usize,
    /// A target transaction is open.
    open: bool,
    /// The last committed position.
    committed: FilePosition,
    /// The last source transaction boundary read (not yet committed).
    boundary: Option<FilePosition>,
    overlap_end: Option<FilePosition>,
    /// Inside a source transaction.
    in_txn: bool,
    /// When the first change not yet committed was read.
    batch_started: Option<Instant>,
    /// Rows of the current source transaction are pending or written.
    txn_dirty: bool,
    counts: Counts,
    txns_uncommitted: u64,
    rows_uncommitted: u64,
    /// The session's foreign_key_checks.
    fk_checks: bool,
    last_event_time: u32,
    /// The source time (µs) of the last heartbeat read, not yet committed.
    heartbeat_us: Option<u64>,
    transactions: u64,
    rows: u64,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether a statement is a row change (`INSERT`, `UPDATE`, `DELETE`,
/// `REPLACE`, `LOAD`) by its first keyword: one logged as a statement
/// instead of rows (also looked for by the copy's watermark windows).
pub(crate) fn is_dml_statement(sql: &str) -> bool {
    let first = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "LOAD"
    )
}

impl Applier<'_> {
    fn idempotent(&self) -> bool {
        decide::idempotent(&self.committed, self.overlap_end.as_ref())
    }

    async fn begin(&mut self) -> Result<(), CopyError> {
        if !self.open {
            self.tgt
                .query_drop("BEGIN")
                .await
                .map_err(db_err("target", "starting a transaction"))?;
            self.open = true;
        }
        Ok(())
    }

    async fn flush_pending(&mut self) -> Result<(), CopyError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.begin().await?;
        let idem = self.idempotent();
        let policy = self.o.conflict;
        for (_, p) in std::mem::take(&mut self.pending) {
            p.flush(&mut self.tgt, policy, idem, &mut self.counts)
                .await?;
        }
        self.pending_bytes = 0;
        Ok(())
    }

    /// Commits everything up to the last boundary. Never while rows of an
    /// unfinished source transaction are pending or written (the reader
    /// paused inside a transaction): they would be committed with a
    /// position before them, a partial transaction visible on the target
    /// and applied again after a restart. The commit then waits for that
    /// transaction's end.
    async fn commit(&mut self) -> Result<(), CopyError> {
        if !decide::may_commit(self.in_txn, self.txn_dirty) {
            return Ok(());
        }
        let Some(pos) = self.boundary.take() else {
            return Ok(());
        };
        self.flush_pending().await?;
        self.begin().await?;
        let txns = self.transactions + self.txns_uncommitted;
        let rows = self.rows + self.rows_uncommitted;
        self.tgt
            .exec_drop(
                format!(
                    "UPDATE {}.`{CDC_CHECKPOINT}` SET binlog_file = ?, binlog_pos = ?, \
                     event_time = ?, transactions = ?, rows_applied = ? WHERE task = ?",
                    quote(&self.o.meta_schema)
                ),
                (
                    &pos.file,
                    pos.offset,
                    self.last_event_time,
                    txns,
                    rows,
                    &self.o.task,
                ),
            )
            .await
            .map_err(db_err("target", "saving the incremental checkpoint"))?;
        failpoint("after_rows_before_commit");
        self.tgt
            .query_drop("COMMIT")
            .await
            .map_err(db_err("target", "committing applied changes"))?;
        failpoint("after_commit");
        self.open = false;
        self.batch_started = None;
        self.committed = pos.clone();
        self.transactions = txns;
        self.rows = rows;
        self.txns_uncommitted = 0;
        self.rows_uncommitted = 0;
        let c = self.counts;
        let lag = if let Some(us) = self.heartbeat_us.take() {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as u64);
            Some(Duration::from_micros(now.saturating_sub(us)))
        } else if self.last_event_time == 0 {
            None
        } else {
            Some(Duration::from_secs(
                now_secs().saturating_sub(u64::from(self.last_event_time)),
            ))
        };
        self.o.progress.update(|s| {
            s.position = Some(pos);
            s.transactions = txns;
            s.rows = rows;
            s.conflicts_overwritten = c.conflicts_overwritten;
            s.conflicts_skipped = c.conflicts_skipped;
            s.lag = lag;
        });
        Ok(())
    }

    fn should_commit(&self) -> bool {
        decide::CommitInputs {
            queue_empty: self.rx.is_empty(),
            pending_bytes: self.pending_bytes,
            batch_bytes: self.o.batch_bytes,
            batch_age: self.batch_started.map(|t| t.elapsed()),
            commit_interval: self.o.commit_interval,
            stopped: self.o.stop.is_stopped(),
            boundary: self.boundary.as_ref(),
            until: self.o.until.as_ref(),
        }
        .commit_due()
    }

    fn done(&self) -> bool {
        decide::done(
            self.boundary.as_ref(),
            self.o.stop.is_stopped(),
            self.o.until.as_ref(),
            &self.committed,
        )
    }

    /// A source transaction (or a statement outside one) ended at `pos`.
    async fn end_of_transaction(&mut self, pos: FilePosition) -> Result<(), CopyError> {
        self.in_txn = false;
        self.txn_dirty = false;
        self.txns_uncommitted += 1;
        self.boundary = Some(pos);
        if self.should_commit() {
            self.commit().await?;
        }
        Ok(())
    }

    async fn run(&mut self) -> Result<(), CopyError> {
        loop {
            if self.done() {
                return Ok(());
            }
            let ev = match tokio::time::timeout(Duration::from_millis(200), self.rx.recv()).await {
                Err(_) => {
                    // Nothing arrived: commit what is pending.
                    self.commit().await?;
                    continue;
                }
                Ok(None) => {
                    // The stream ended (stop_at_end).
                    self.commit().await?;
                    self.o.progress.update(|s| s.caught_up = true);
                    return Ok(());
                }
                Ok(Some(Err(e))) => return Err(e),
                Ok(Some(Ok(ev))) => ev,
            };
            if ev.header.timestamp != 0 && !matches!(ev.body, EventBody::Heartbeat(_)) {
                self.last_event_time = ev.header.timestamp;
            }
            let cost = decide::queue_cost(ev.pos, ev.end_pos, self.o.queue_bytes);
            self.event(ev).await?;
            self.budget.add_permits(cost as usize);
        }
    }

    fn position(ev: &Event) -> FilePosition {
        FilePosition::new(ev.file.as_deref().unwrap_or(""), ev.end_pos)
    }

    async fn event(&mut self, ev: Event) -> Result<(), CopyError> {
        let at = format!("{}:{}", ev.file.as_deref().unwrap_or("?"), ev.pos);
        match &ev.body {
            EventBody::MariadbGtid(g) => {
                self.in_txn = g.flags2 & MARIADB_FL_STANDALONE == 0;
            }
            EventBody::Gtid(_) => {}
            EventBody::Xid(_) => {
                self.end_of_transaction(Self::position(&ev)).await?;
            }
            EventBody::Query(q) => {
                let sql = q.query_text();
                let kw = sql.trim_start().to_ascii_uppercase();
                if kw.starts_with("BEGIN") || kw.starts_with("XA START") {
                    self.in_txn = true;
                } else if kw.starts_with("COMMIT")
                    || kw.starts_with("ROLLBACK") && !kw.contains(" TO ")
                {
                    self.end_of_transaction(Self::position(&ev)).await?;
                } else if kw.starts_with("SAVEPOINT") || kw.starts_with("ROLLBACK") {
                    // Savepoints inside a transaction: its rows are in the
                    // binlog as they were kept.
                } else if is_dml_statement(&sql) {
                    let db = q.schema.clone();
                    if db.is_empty() || self.routes.database_involved(&db) {
                        // Keep what came before it: the checkpoint stops just
                        // before the statement.
                        if !self.txn_dirty {
                            self.commit().await?;
                        }
                        let why = format!(
                            "the source logged a statement instead of row changes \
                             (binlog_format STATEMENT or MIXED in that session): {}. Its effect \
                             cannot be applied exactly. Set binlog_format=ROW for every session \
                             on the source, then start again from a full copy",
                            sql.chars().take(200).collect::<String>()
                        );
                        return Err(if db.is_empty() {
                            CopyError::Binlog { at, reason: why }
                        } else {
                            CopyError::Table {
                                table: quote(&db),
                                reason: format!("at {at} {why}"),
                            }
                        });
                    }
                    self.o.progress.update(|s| s.statements_ignored += 1);
                    if !self.in_txn {
                        self.end_of_transaction(Self::position(&ev)).await?;
                    }
                } else {
                    // DDL, or another statement outside a transaction:
                    // commit what came before it on its own.
                    let pos = Self::position(&ev);
                    self.commit().await?;
                    if self.open || !self.pending.is_empty() {
                        return Err(CopyError::Binlog {
                            at,
                            reason: "a statement inside an unfinished transaction; the binlog \
                                     is not what the apply expects here"
                                .into(),
                        });
                    }
                    let outcome = self
                        .ddl
                        .apply(
                            &mut self.tgt,
                            &mut self.routes,
                            q,
                            &ev,
                            self.o,
                            self.selection,
                        )
                        .await?;
                    self.cache.clear();
                    match outcome {
                        ddl::Outcome::Applied => self.o.progress.update(|s| s.ddl_applied += 1),
                        ddl::Outcome::Skipped(why) => {
                            self.o.progress.update(|s| s.ddl_skipped.push(why))
                        }
                        ddl::Outcome::Ignored => {
                            self.o.progress.update(|s| s.statements_ignored += 1)
                        }
                    }
                    // The DDL's own commit saved the position; record it.
                    self.committed = pos.clone();
                    self.transactions += 1;
                    self.o.progress.update(|s| {
                        s.position = Some(pos);
                        s.transactions += 1;
                    });
                    self.in_txn = false;
                }
            }
            EventBody::Rows(r) => {
                let pos = FilePosition::new(ev.file.as_deref().unwrap_or(""), ev.pos);
                let bytes = ev.end_pos.saturating_sub(ev.pos);
                self.rows_event(r, &at, &pos, bytes).await?;
            }
            EventBody::Heartbeat(_) if !self.in_txn && self.rx.is_empty() => {
                self.commit().await?;
                self.o.progress.update(|s| {
                    s.caught_up = true;
                    s.lag = Some(Duration::ZERO);
                });
            }
            EventBody::XaPrepare(_) => {
                return Err(CopyError::Binlog {
                    at,
                    reason: "an XA PREPARE; XA transactions are not supported by the apply. \
                             Avoid XA on the source during the migration"
                        .into(),
                })
            }
            EventBody::Incident(i) => {
                return Err(CopyError::Binlog {
                    at,
                    reason: format!(
                        "the source logged an INCIDENT ({}: {}): changes may be missing from its \
                         binlog. Start the task again from a full copy",
                        i.incident, i.message
                    ),
                })
            }
            EventBody::Other { .. } => {
                return Err(CopyError::Binlog {
                    at,
                    reason: format!(
                        "a {:?} event, which the apply cannot interpret; stopping rather than \
                         skipping a change",
                        ev.header.event_type
                    ),
                })
            }
            _ => {}
        }
        Ok(())
    }

    /// The lag from this task's heartbeat row.
    fn heartbeat_rows(&mut self, r: &RowsEvent) {
        for ch in &r.rows {
            let after = match ch {
                RowChange::Insert { after } | RowChange::Update { after, .. } => after,
                RowChange::Delete { .. } => continue,
            };
            let task = match after.first() {
                Some(Some(binlog_reader::Value::Bytes(b))) => b.as_slice(),
                _ => continue,
            };
            if task != self.o.task.as_bytes() {
                continue;
            }
            let ts = match after.get(1) {
                Some(Some(binlog_reader::Value::UInt(u))) => *u,
                Some(Some(binlog_reader::Value::Int(i))) => *i as u64,
                Some(Some(binlog_reader::Value::IntUnknownSign { raw, .. })) => *raw,
                _ => continue,
            };
            self.heartbeat_us = Some(ts);
        }
    }

    async fn table(&mut self, db: &str, name: &str) -> Result<Option<Arc<TableInfo>>, CopyError> {
        if let Some(t) = self.cache.get(db, name) {
            return Ok(t.clone());
        }
        let info = match self.routes.route(db, name) {
            None => None,
            Some(route) => Some(Arc::new(
                load_table(
                    &mut self.tgt,
                    &self.o.meta_schema,
                    &self.o.task,
                    db,
                    name,
                    route,
                )
                .await?,
            )),
        };
        self.cache.put(db, name, info.clone());
        Ok(info)
    }

    async fn rows_event(
        &mut self,
        r: &RowsEvent,
        at: &str,
        pos: &FilePosition,
        event_bytes: u64,
    ) -> Result<(), CopyError> {
        let (db, name) = (r.table.schema.clone(), r.table.table.clone());
        if let Some(h) = &self.o.heartbeat {
            if h.database == db && h.table == name {
                self.heartbeat_rows(r);
                return Ok(());
            }
        }
        let Some(info) = self.table(&db, &name).await? else {
            if self.routes.is_helper(&db, &name) {
                let n = r.rows.len() as u64;
                self.o.progress.update(|s| s.online_ddl_rows_skipped += n);
            }
            return Ok(());
        };
        check_table_map(&info, &r.table).map_err(|reason| CopyError::Table {
            table: info.source_name(),
            reason: format!("at {at}: {reason}"),
        })?;
        // The full copy loaded this table in one transaction from a
        // snapshot at `copied_at`: changes before it are in the load
        // already (design rule 8; a table without a key cannot be replayed
        // idempotently).
        if info.copied_at.as_ref().is_some_and(|c| pos < c) {
            return Ok(());
        }
        // Filters: an update that moves a row into the filter inserts its
        // new image, out of it deletes the old one.
        let changes: Vec<Change<'_>> = match info.route.filter.as_deref() {
            None => r.rows.iter().map(Change::from).collect(),
            Some(f) => {
                let mut images: Vec<&[Option<binlog_reader::Value>]> = Vec::new();
                for ch in &r.rows {
                    match ch {
                        RowChange::Insert { after } => images.push(after),
                        RowChange::Delete { before } => images.push(before),
                        RowChange::Update { before, after } => {
                            images.push(before);
                            images.push(after);
                        }
                    }
                }
                let sel = batch::eval_filter(&mut self.tgt, &info, f, &images, at).await?;
                let mut sel = sel.into_iter();
                let mut out = Vec::new();
                for ch in &r.rows {
                    match ch {
                        RowChange::Insert { after } => {
                            if sel.next() == Some(true) {
                                out.push(Change::Insert(after));
                            }
                        }
                        RowChange::Delete { before } => {
                            if sel.next() == Some(true) {
                                out.push(Change::Delete(before));
                            }
                        }
                        RowChange::Update { before, after } => {
                            match (sel.next() == Some(true), sel.next() == Some(true)) {
                                (true, true) => out.push(Change::Update(before, after)),
                                (true, false) => out.push(Change::Delete(before)),
                                (false, true) => out.push(Change::Insert(after)),
                                (false, false) => {}
                            }
                        }
                    }
                }
                out
            }
        };
        // Per-object operation filters.
        let changes = match self.selection.operations_for(&db, &name) {
            None => changes,
            Some(ops) => {
                let before = changes.len() as u64;
                let kept: Vec<Change<'_>> = changes
                    .into_iter()
                    .filter(|c| match c {
                        Change::Insert(_) => ops.insert,
                        Change::Update(..) => ops.update,
                        Change::Delete(_) => ops.delete,
                    })
                    .collect();
                let dropped = before - kept.len() as u64;
                if dropped > 0 {
                    self.o.progress.update(|s| s.operations_filtered += dropped);
                }
                kept
            }
        };
        let n = changes.len() as u64;
        self.txn_dirty |= n > 0;
        if n > 0 && self.batch_started.is_none() {
            self.batch_started = Some(Instant::now());
        }
        // One query per rows event applied, its rows and the bytes of the
        // event carrying them (queries, rows and MB/s limits).
        self.o
            .throttle
            .acquire(u64::from(n > 0), n, if n > 0 { event_bytes } else { 0 })
            .await;
        self.rows_uncommitted += n;
        if info.ordered {
            self.begin().await?;
            // In the copy's overlap window a change may meet its own final
            // state: its delete-and-insert must not cascade (the children
            // are already in their state of that position too).
            let want_fk = r.flags & ROWS_NO_FOREIGN_KEY_CHECKS_F == 0 && !self.idempotent();
            if want_fk != self.fk_checks {
                self.tgt
                    .query_drop(format!("SET foreign_key_checks = {}", u8::from(want_fk)))
                    .await
                    .map_err(db_err("target", "setting foreign_key_checks"))?;
                self.fk_checks = want_fk;
            }
            let idem = self.idempotent();
            for c in changes {
                apply_ordered(
                    &mut self.tgt,
                    &info,
                    c,
                    self.o.conflict,
                    idem,
                    at,
                    &mut self.counts,
                )
                .await?;
            }
            return Ok(());
        }
        let key = (db, name);
        let p = self
            .pending
            .entry(key.clone())
            .or_insert_with(|| Pending::new(info.clone()));
        let before = p.bytes();
        for ch in changes {
            match ch {
                Change::Insert(after) => p.insert(render(&info, after, at)?, at),
                Change::Update(before, after) => p.update(
                    render_key(&info, before, at)?,
                    render(&info, after, at)?,
                    at,
                ),
                Change::Delete(before) => p.delete(render_key(&info, before, at)?, at),
            }
        }
        self.pending_bytes += p.bytes().saturating_sub(before);
        if self.pending_bytes >= self.o.batch_bytes {
            // A large transaction: write what is pending, without committing.
            self.flush_pending().await?;
        }
        Ok(())
    }
}

/// The shadow database holding the source schema of `source_db` for `task`
/// on the target (see the module documentation); dropped at cut-over.
pub fn shadow_database(task: &str, source_db: &str) -> String {
    table::shadow_name(task, source_db)
}
