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
mod source;
mod table;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use binlog_reader::event::{
    RowChange, RowsEvent, MARIADB_FL_STANDALONE, ROWS_NO_FOREIGN_KEY_CHECKS_F,
};
use binlog_reader::position::{
    resume_on, Boundary, FilePosition, GtidState, GtidTracker, ResumePlan, SavedPosition,
    SourceIdentity,
};
use binlog_reader::{BinlogStreamReader, Event, EventBody, StreamConfig, StreamStart};
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use tokio::sync::mpsc;

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
    /// The source server read from: its identity and address.
    pub source_server: Option<String>,
    /// The GTID state of the last committed position (the checkpoint's),
    /// as text: a MySQL GTID set or a MariaDB GTID position; `None` while
    /// unknown.
    pub gtid_state: Option<String>,
    /// Times the apply moved to another source server (failovers).
    pub source_switches: u64,
}

/// The replication server id a task's binlog reader registers with on the
/// source when the task does not choose one: derived from the task's name
/// (FNV-1a), in `2^30 ..= 2^31 - 1`, far above the small ids servers are
/// usually given. A source keeps one dump thread per server id and ends
/// the older one when another registers with the same id, so two tasks
/// reading one source must not share it.
pub fn reader_server_id(task: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in task.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (1 << 30) | (h & ((1 << 30) - 1))
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
    /// replica of the source, and from every other task's reader on it).
    pub server_id: u32,
    /// More URLs of the source (its replicas, or the addresses its primary
    /// may move to), tried after the main one: see `source` (catalogue
    /// S4). Empty: only the main URL.
    pub failover_sources: Vec<Opts>,
    /// Where to start without a checkpoint, by GTID, instead of the
    /// hand-off's file position (`[incremental] start = "gtid:..."`).
    pub start_gtid: Option<GtidState>,
    /// Pending changes held before they are written, in bytes of SQL.
    pub batch_bytes: usize,
    /// The longest a target transaction stays open while the backlog lasts.
    pub commit_interval: Duration,
    /// Events queued between the reader and the applier.
    pub queue_events: usize,
    /// Key conflicts (a row missing, or already there).
    pub conflict: ConflictPolicy,
    /// DDL the target cannot take, or of a kind not supported: skipped and
    /// counted instead of stopping the task.
    pub skip_failed_ddl: bool,
    /// How online-DDL tools' helper tables are treated.
    pub online_ddl: OnlineDdlMode,
    /// Row and byte limits, changeable while running.
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
            failover_sources: Vec::new(),
            start_gtid: None,
            batch_bytes: 8 << 20,
            commit_interval: Duration::from_millis(500),
            queue_events: 4096,
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

/// Whether the task was prepared (`None`: not), and on which server (see
/// `source::server_key`; `None` inside: by an earlier version).
async fn prepared(c: &mut Conn, o: &ApplyOptions) -> Result<Option<Option<String>>, CopyError> {
    let r: Option<Option<Vec<u8>>> = c
        .exec_first(
            format!(
                "SELECT source_server FROM {}.`cdc_prepared` WHERE task = ?",
                quote(&o.meta_schema)
            ),
            (&o.task,),
        )
        .await
        .map_err(db_err("target", "reading the incremental preparation"))?;
    Ok(r.map(|k| k.map(|k| String::from_utf8_lossy(&k).into_owned())))
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
    let server = source::identify(&mut src).await?;
    let ctx = ddl::Context::new(&mut tgt, o, selection.source_databases()).await?;
    ctx.create_shadow(&mut src, &mut tgt).await?;
    tgt.exec_drop(
        format!(
            "REPLACE INTO {}.`cdc_prepared` (task, source_server) VALUES (?, ?)",
            quote(&o.meta_schema)
        ),
        (&o.task, source::server_key(&server)),
    )
    .await
    .map_err(db_err("target", "recording the incremental preparation"))?;
    Ok(())
}

struct Saved {
    position: FilePosition,
    overlap_end: Option<FilePosition>,
    server_id: u64,
    /// The stored position with the server's identity and GTID state
    /// (`None`: a checkpoint of an earlier version, until its next commit).
    saved: Option<SavedPosition>,
    transactions: u64,
    rows: u64,
}

impl Saved {
    /// Whether the checkpoint was written on `server`.
    fn same_server(&self, server: &SourceIdentity) -> bool {
        match &self.saved {
            Some(p) => p.source().same_server(server),
            None => self.server_id == u64::from(server.server_id()),
        }
    }

    /// The checkpoint's server, for messages.
    fn describe(&self) -> String {
        match &self.saved {
            Some(p) => p.source().to_string(),
            None => format!("the server with server_id {}", self.server_id),
        }
    }
}

async fn read_checkpoint(c: &mut Conn, o: &ApplyOptions) -> Result<Option<Saved>, CopyError> {
    type Row = (
        Vec<u8>,
        u64,
        Option<Vec<u8>>,
        Option<u64>,
        u64,
        Option<String>,
        u64,
        u64,
    );
    let r: Option<Row> = c
        .exec_first(
            format!(
                "SELECT binlog_file, binlog_pos, overlap_file, overlap_pos, source_server_id, \
                 saved_position, transactions, rows_applied FROM {}.`{CDC_CHECKPOINT}` \
                 WHERE task = ?",
                quote(&o.meta_schema)
            ),
            (&o.task,),
        )
        .await
        .map_err(db_err("target", "reading the incremental checkpoint"))?;
    let Some((f, p, of, op, sid, text, tx, rows)) = r else {
        return Ok(None);
    };
    // A task started by GTID has no file position until its first commit.
    if f.is_empty() {
        return Ok(None);
    }
    let position = FilePosition::new(String::from_utf8_lossy(&f), p);
    let saved = match text {
        None => None,
        Some(t) => {
            let bad = |reason: String| CopyError::Checkpoint {
                task: o.task.clone(),
                reason,
            };
            let sp = SavedPosition::parse(&t).map_err(|e| {
                bad(format!(
                    "its saved_position does not parse ({e}); it was edited or cut after dts \
                     wrote it. Restore the value, or start the task again from a full copy"
                ))
            })?;
            if *sp.file() != position {
                return Err(bad(format!(
                    "its saved_position is at {} but its binlog_file/binlog_pos at {position}: \
                     the row was edited. Restore it, or start the task again from a full copy",
                    sp.file()
                )));
            }
            Some(sp)
        }
    };
    Ok(Some(Saved {
        position,
        overlap_end: match (of, op) {
            (Some(f), Some(p)) => Some(FilePosition::new(String::from_utf8_lossy(&f), p)),
            _ => None,
        },
        server_id: sid,
        saved,
        transactions: tx,
        rows,
    }))
}

/// The stored form of a position, for the checkpoint row.
fn stored_position(
    task: &str,
    at: &FilePosition,
    server: &SourceIdentity,
    gtid: &GtidState,
) -> Result<String, CopyError> {
    SavedPosition::new(at.clone(), *server, gtid.clone())
        .map(|p| p.to_string())
        .map_err(|e| CopyError::Checkpoint {
            task: task.to_string(),
            reason: format!("the position {at} cannot be saved: {e}"),
        })
}

/// Where the reader starts.
enum Start {
    File(FilePosition),
    Gtid(GtidState),
}

/// The checks and the plan of a failover: the checkpoint was written on
/// another server than `server`. Refused (nothing written) unless the
/// checkpoint has a GTID state that `resume_on` accepts on `server`, and it
/// is past the full copy's positions (file positions of the old server,
/// which mean nothing on the new one); accepted, the copy's positions are
/// cleared, since the checkpoint is past all of them.
async fn fail_over(
    tgt: &mut Conn,
    server: &mut source::Server,
    saved: &Saved,
    o: &ApplyOptions,
) -> Result<(GtidState, ResumePlan), CopyError> {
    let (from, to) = (saved.describe(), server.describe());
    let refuse = |reason: String| CopyError::FailoverRefused {
        task: o.task.clone(),
        from: from.clone(),
        to: to.clone(),
        reason,
    };
    let Some(p) = &saved.saved else {
        return Err(refuse(format!(
            "the checkpoint at {} holds no GTID state (it was written by an earlier version): \
             a position on another server cannot be found. Point the task back at {from}, \
             or start it again from a full copy",
            saved.position
        )));
    };
    if let Some(e) = &saved.overlap_end {
        if saved.position.partial_cmp(e).is_none_or(|c| c.is_lt()) {
            return Err(refuse(format!(
                "the checkpoint {} is still inside the full copy's overlap window (up to {e}), \
                 whose changes are told apart by file positions of the old server; start the \
                 task again from a full copy",
                saved.position
            )));
        }
    }
    let m = quote(&o.meta_schema);
    // (target_db, target_table, snap_file, snap_pos)
    type Snap = (Vec<u8>, Vec<u8>, Vec<u8>, u64);
    let snaps: Vec<Snap> = match tgt
        .exec(
            format!(
                "SELECT target_db, target_table, snap_file, snap_pos FROM {m}.`copy_range` \
                 WHERE task = ? AND snap_file IS NOT NULL AND snap_pos IS NOT NULL"
            ),
            (&o.task,),
        )
        .await
    {
        Ok(r) => r,
        Err(mysql_async::Error::Server(e)) if e.code == 1146 || e.code == 1054 => Vec::new(),
        Err(e) => return Err(db_err("target", "reading the copy's positions")(e)),
    };
    for (db, table, f, pos) in &snaps {
        let at = FilePosition::new(String::from_utf8_lossy(f), *pos);
        if saved.position.partial_cmp(&at).is_none_or(|c| c.is_lt()) {
            return Err(refuse(format!(
                "the checkpoint {} has not reached {at}, where {}.{} was copied on the old \
                 server; start the task again from a full copy",
                saved.position,
                quote(&String::from_utf8_lossy(db)),
                quote(&String::from_utf8_lossy(table))
            )));
        }
    }
    let started: Option<i64> = tgt
        .exec_first(
            format!("SELECT COUNT(*) FROM {m}.`cdc_ddl` WHERE task = ? AND state = 'started'"),
            (&o.task,),
        )
        .await
        .map_err(db_err("target", "reading the DDL journal"))?;
    if started.unwrap_or(0) > 0 {
        return Err(refuse(
            "a DDL was started on the target and not finished when the old source went away; \
             finish or undo it by hand, then point the task back at the old server or start \
             it again from a full copy"
                .into(),
        ));
    }
    let candidate = source::candidate(server).await?;
    let plan = resume_on(p.gtid(), &candidate).map_err(|r| refuse(r.to_string()))?;
    // Accepted: the copy's file positions are all behind the checkpoint.
    let clear = [
        format!("UPDATE {m}.`{CDC_CHECKPOINT}` SET overlap_file = NULL, overlap_pos = NULL WHERE task = ?"),
        format!("UPDATE {m}.`copy_range` SET snap_file = NULL, snap_pos = NULL WHERE task = ?"),
    ];
    tgt.query_drop("BEGIN")
        .await
        .map_err(db_err("target", "starting a transaction"))?;
    for (i, st) in clear.iter().enumerate() {
        match tgt.exec_drop(st, (&o.task,)).await {
            Err(mysql_async::Error::Server(e)) if i == 1 && e.code == 1146 => {}
            r => r.map_err(db_err("target", "clearing the copy's positions"))?,
        }
    }
    tgt.query_drop("COMMIT")
        .await
        .map_err(db_err("target", "clearing the copy's positions"))?;
    Ok((p.gtid().clone(), plan))
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
    let checkpoint = read_checkpoint(&mut tgt, o).await?;
    let urls: Vec<Opts> = std::iter::once(source.clone())
        .chain(o.failover_sources.iter().cloned())
        .collect();
    let same = |id: &SourceIdentity| checkpoint.as_ref().is_some_and(|c| c.same_server(id));
    let mut server = source::choose(
        &urls,
        checkpoint
            .as_ref()
            .map(|_| &same as &(dyn Fn(&SourceIdentity) -> bool + Sync)),
    )
    .await?;
    let identity = server.identity;
    let source_opts = server.opts.clone();
    let routes = Routes::new(selection, o.online_ddl);
    let ddl_ctx = ddl::Context::new(&mut tgt, o, selection.source_databases()).await?;
    let mut switched = false;
    let (saved, start, gtid) = match checkpoint {
        Some(s) if s.same_server(&identity) => {
            let gtid = match &s.saved {
                Some(p) => p.gtid().clone(),
                // Written by an earlier version: the state there.
                None => source::gtid_state_at(&mut server.conn, &identity, &s.position).await?,
            };
            let at = s.position.clone();
            (s, Start::File(at), gtid)
        }
        Some(mut s) => {
            let (gtid, plan) = fail_over(&mut tgt, &mut server, &s, o).await?;
            let (from, to) = (s.describe(), server.describe());
            tracing::warn!(
                task = %o.task,
                from = %from,
                to = %to,
                gtid = %gtid,
                plan = ?plan,
                "apply: the source was replaced; continuing on the new server by GTID"
            );
            o.progress.update(|st| st.source_switches += 1);
            s.overlap_end = None;
            switched = true;
            (s, Start::Gtid(gtid.clone()), gtid)
        }
        None => {
            let src = &mut server.conn;
            let (start, gtid, position) = match (&o.start_gtid, handoff) {
                (Some(g), _) => {
                    if g.flavor() != Some(identity.flavor()) {
                        return Err(CopyError::Unsupported {
                            reason: format!(
                                "the start position is a {g}, but the source is a {}",
                                identity.flavor()
                            ),
                        });
                    }
                    (Start::Gtid(g.clone()), g.clone(), None)
                }
                (None, Some(h)) => {
                    // The hand-off is a file position of the server the
                    // copy read: never used on another one.
                    if let Some(Some(k)) = prepared(&mut tgt, o).await? {
                        if k != source::server_key(&identity) {
                            return Err(CopyError::FailoverRefused {
                                task: o.task.clone(),
                                from: k,
                                to: server.describe(),
                                reason: format!(
                                    "the full copy and its position {} were read on the other \
                                     server (a failover during the copy, or before incremental \
                                     migration began), and file positions mean nothing on this \
                                     one. Start the task again from a full copy",
                                    h.start
                                ),
                            });
                        }
                    }
                    check_not_purged(src, &h.start).await?;
                    let g = source::gtid_state_at(src, &identity, &h.start).await?;
                    (Start::File(h.start.clone()), g, Some(h.start.clone()))
                }
                (None, None) => {
                    return Err(CopyError::NoStartPosition {
                        task: o.task.clone(),
                    })
                }
            };
            if prepared(&mut tgt, o).await?.is_none() {
                ddl_ctx.create_shadow(src, &mut tgt).await?;
            }
            let overlap_end = handoff.and_then(|h| h.overlap_end.clone());
            let stored = match &position {
                Some(p) => Some(stored_position(&o.task, p, &identity, &gtid)?),
                None => None,
            };
            // Without a file position (a start by GTID) the row's file is
            // empty until the first commit: a restart starts again from
            // the same GTID state.
            let position = position.unwrap_or_else(|| FilePosition::new("", 4));
            tgt.exec_drop(
                format!(
                    "REPLACE INTO {}.`{CDC_CHECKPOINT}` (task, binlog_file, binlog_pos, \
                     overlap_file, overlap_pos, source_server_id, saved_position) \
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                    quote(&o.meta_schema)
                ),
                (
                    &o.task,
                    &position.file,
                    position.offset,
                    overlap_end.as_ref().map(|p| p.file.clone()),
                    overlap_end.as_ref().map(|p| p.offset),
                    identity.server_id(),
                    stored,
                ),
            )
            .await
            .map_err(db_err("target", "creating the incremental checkpoint"))?;
            let saved = Saved {
                position,
                overlap_end,
                server_id: u64::from(identity.server_id()),
                saved: None,
                transactions: 0,
                rows: 0,
            };
            (saved, start, gtid)
        }
    };
    if let Start::File(at) = &start {
        check_not_purged(&mut server.conn, at).await?;
    }
    o.progress.update(|s| {
        s.source_server = Some(server.describe());
        s.gtid_state = gtid_text(&gtid);
    });
    let src = server.conn;
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
    if !switched && o.until.as_ref().is_some_and(|u| saved.position >= *u) {
        return Ok(());
    }
    let stream_start = match start {
        Start::File(at) => StreamStart::File(Some(at.file), at.offset),
        Start::Gtid(GtidState::Mariadb(p)) => StreamStart::MariadbGtid(p),
        Start::Gtid(GtidState::Mysql(set)) => StreamStart::MysqlGtid(set),
        Start::Gtid(GtidState::None) => {
            return Err(CopyError::Internal(
                "a start by GTID without a GTID state".into(),
            ))
        }
    };
    let mut cfg = StreamConfig::new(source_opts.clone(), o.server_id, stream_start);
    cfg.non_blocking = o.stop_at_end;
    if !o.failover_sources.is_empty() {
        // Other servers to fail over to: give up on a dead one sooner.
        cfg.max_reconnects = 3;
    }
    let mut reader = BinlogStreamReader::connect(cfg)
        .await
        .map_err(CopyError::from)?;
    o.progress
        .update(|s| s.target_connection_id = Some(tgt.id()));
    let heartbeat_task = match &o.heartbeat {
        Some(h) => Some(start_heartbeat(&source_opts, h, &o.task).await?),
        None => None,
    };
    let (tx, rx) = mpsc::channel::<Result<Event, CopyError>>(o.queue_events.max(1));
    let progress = o.progress.clone();
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
                Ok(Some(e)) => Ok(e),
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
        routes,
        ddl: ddl_ctx,
        cache: TableCache::default(),
        pending: HashMap::new(),
        pending_bytes: 0,
        open: false,
        // After a switch the checkpoint's file position is the old
        // server's: it compares with nothing on the new one (an `until`
        // of the new server must not count as reached by it).
        committed: if switched {
            FilePosition::new("", 4)
        } else {
            saved.position.clone()
        },
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
        tracker: GtidTracker::new(gtid),
        server: identity,
        boundary_gtid: None,
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
    /// The GTID state after each event read.
    tracker: GtidTracker,
    /// The server read from.
    server: SourceIdentity,
    /// The GTID state at `boundary`.
    boundary_gtid: Option<GtidState>,
}

/// A GTID state's text for the status (`None` when unknown).
fn gtid_text(g: &GtidState) -> Option<String> {
    match g {
        GtidState::None => None,
        GtidState::Mysql(set) => Some(set.to_string()),
        GtidState::Mariadb(p) => Some(p.to_string()),
    }
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
        let gtid = self.boundary_gtid.take().unwrap_or(GtidState::None);
        let stored = stored_position(&self.o.task, &pos, &self.server, &gtid)?;
        self.flush_pending().await?;
        self.begin().await?;
        let txns = self.transactions + self.txns_uncommitted;
        let rows = self.rows + self.rows_uncommitted;
        self.tgt
            .exec_drop(
                format!(
                    "UPDATE {}.`{CDC_CHECKPOINT}` SET binlog_file = ?, binlog_pos = ?, \
                     source_server_id = ?, saved_position = ?, \
                     event_time = ?, transactions = ?, rows_applied = ? WHERE task = ?",
                    quote(&self.o.meta_schema)
                ),
                (
                    &pos.file,
                    pos.offset,
                    self.server.server_id(),
                    stored,
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
        let gtid = gtid_text(&gtid);
        self.o.progress.update(|s| {
            s.position = Some(pos);
            s.gtid_state = gtid;
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
        self.boundary_gtid = Some(self.tracker.state().clone());
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
            // The GTID state after the event: a transaction's GTID counts
            // from the event that ends it on, which the checkpoint taken at
            // that end then holds.
            let boundary = self.tracker.observe(&ev).map_err(|e| CopyError::Binlog {
                at: format!("{}:{}", ev.file.as_deref().unwrap_or("?"), ev.pos),
                reason: e.to_string(),
            })?;
            if boundary == Boundary::Commit && matches!(ev.body, EventBody::Query(_)) {
                // A DDL commits its position itself (see `ddl`).
                self.ddl.saved_position = Some(stored_position(
                    &self.o.task,
                    &Self::position(&ev),
                    &self.server,
                    self.tracker.state(),
                )?);
            }
            self.event(ev).await?;
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
        // Rows and the bytes of the event carrying them (MB/s limits).
        self.o
            .throttle
            .acquire(0, n, if n > 0 { event_bytes } else { 0 })
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

#[cfg(test)]
mod tests {
    use super::reader_server_id;

    #[test]
    fn each_task_name_has_its_own_reader_server_id_far_from_small_ids() {
        let names = ["orders", "orders2", "billing", "", "a", "b", "任务"];
        let ids: Vec<u32> = names.iter().map(|n| reader_server_id(n)).collect();
        for (n, id) in names.iter().zip(&ids) {
            assert!((1 << 30..1 << 31).contains(id), "{n}: {id}");
            assert_eq!(reader_server_id(n), *id, "deterministic");
        }
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
    }
}
