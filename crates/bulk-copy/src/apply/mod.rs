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
mod files;
mod json_diff;
mod literal;
mod source;
mod table;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use binlog_reader::event::{
    RowChange, RowsEvent, RowsKind, MARIADB_FL_STANDALONE, ROWS_NO_FOREIGN_KEY_CHECKS_F,
};
use binlog_reader::position::{
    resume_on, Boundary, FilePosition, GtidState, GtidTracker, ResumePlan, SavedPosition,
    SourceIdentity,
};
use binlog_reader::{
    BinlogStreamReader, Event, EventBody, EventClass, EventType, StreamConfig, StreamStart,
};
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

/// Where the apply reads the source's binlog.
#[derive(Clone, Debug)]
pub enum ApplySource {
    /// The source server's binlog, over the replication protocol.
    Server(Opts),
    /// Binlog files a server wrote, applied in binlog order (numeric, so
    /// `.999999` comes before `.1000000`) from the checkpoint's file and
    /// offset on, or from the first file when the task has no checkpoint and
    /// no hand-off. The files must continue the checkpoint and each other
    /// (the ROTATE at the end of each names the next), be of one series and
    /// of one server; the apply stops at their end. The source schema is the
    /// task's prepared shadow ([`prepare_incremental`]) when there is one,
    /// else the target's tables of the selected databases, then follows the
    /// DDL the files hold.
    Files(Vec<PathBuf>),
    /// The source server's binlog, and a directory of its binlog files
    /// that it purged (a backup's archived binlogs): when the checkpoint's
    /// file is no longer on the server, the archived files are read from
    /// the checkpoint on (in order, each continuing the one before), up to
    /// the first file the server still has (`SHOW BINARY LOGS`), where the
    /// server's stream takes over. A file missing from both stops the apply
    /// before anything is read ([`CopyError::BinlogPurged`], naming it).
    Archive {
        /// The source server.
        server: Opts,
        /// The directory of archived binlog files.
        dir: PathBuf,
    },
}

impl ApplySource {
    fn server(&self) -> Option<&Opts> {
        match self {
            ApplySource::Server(o) | ApplySource::Archive { server: o, .. } => Some(o),
            ApplySource::Files(_) => None,
        }
    }
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
    /// Events with no change to apply, by event type name: the statement
    /// texts of rows (ROWS_QUERY, ANNOTATE_ROWS), file and GTID bookkeeping
    /// (FORMAT_DESCRIPTION, ROTATE, PREVIOUS_GTIDS, GTID_LIST,
    /// BINLOG_CHECKPOINT, STOP, START_ENCRYPTION), heartbeats, the
    /// group-replication events that change no row (VIEW_CHANGE,
    /// TRANSACTION_CONTEXT, IGNORABLE), and the statement-based INTVAR,
    /// RAND and USER_VAR of a statement not applied (one of a database the
    /// task does not select). Every other event is applied or stops the
    /// apply with an error naming it and its position.
    pub events_skipped: std::collections::BTreeMap<String, u64>,
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
    /// Nothing, not even a heartbeat, came from the source for longer than
    /// the binlog stream's read timeout: the connection is dead or the
    /// network drops everything (a black hole); the stream is being
    /// re-established. False again once events arrive (N2).
    pub source_stalled: bool,
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
pub struct ApplyProgress(Arc<Mutex<ApplyStatus>>, Arc<Mutex<Option<u32>>>);

impl ApplyProgress {
    /// A fresh handle.
    pub fn new() -> Self {
        ApplyProgress::default()
    }

    /// The current status. While changes wait to be committed (a target
    /// that is slow, or blocked on a lock), the lag counts from the oldest
    /// of them, so that it grows as the wait lasts (N7).
    pub fn status(&self) -> ApplyStatus {
        let mut s = self.0.lock().map(|s| s.clone()).unwrap_or_default();
        if let Some(ts) = self.1.lock().ok().and_then(|w| *w) {
            let behind = Duration::from_secs(now_secs().saturating_sub(u64::from(ts)));
            if s.lag.is_none_or(|l| l < behind) {
                s.lag = Some(behind);
                s.caught_up = false;
            }
        }
        s
    }

    /// The source time (seconds) of the oldest change read and not yet
    /// committed, or `None` when everything read is committed.
    fn waiting_since(&self, ts: Option<u32>) {
        if let Ok(mut w) = self.1.lock() {
            *w = ts;
        }
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
    /// What happens on the target to a table `RENAME TABLE` moves out of
    /// the selection (into a database the task does not select).
    pub renamed_out: RenamedOut,
    /// The DEFINER rule for the views and routines created or changed on
    /// the target while changes are applied (the task's `[migration]
    /// definer`, as the schema migration uses it): removed with SQL
    /// SECURITY INVOKER (the default), or replaced by an account.
    pub definer: schema_diff::translate::DefinerPolicy,
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
    /// The largest uncompressed size of a compressed transaction
    /// (TRANSACTION_PAYLOAD, MySQL's `binlog_transaction_compression`) or
    /// compressed event (MariaDB's `log_bin_compress`) the apply accepts.
    /// A payload is decoded whole before it is applied, so this bounds the
    /// memory it takes; one over it stops the apply before any of it is
    /// applied, with an error naming its position, size and this limit.
    pub max_uncompressed_bytes: u64,
    /// How long the apply session waits for a row lock on the target
    /// (`innodb_lock_wait_timeout`, whole seconds, at least 1) before the
    /// target transaction is rolled back and retried from the checkpoint;
    /// `None` keeps the server's setting.
    pub lock_wait_timeout: Option<Duration>,
}

/// What the apply does on the target with a table that `RENAME TABLE`
/// moves out of the selection. Either way nothing is written into the
/// database it moved to, and its later changes are not applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RenamedOut {
    /// The target table stays, under its name, no longer followed.
    #[default]
    Keep,
    /// The target table is dropped, as the source's selection lost it.
    Drop,
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
            queue_bytes: 1 << 20,
            conflict: ConflictPolicy::Error,
            skip_failed_ddl: false,
            online_ddl: OnlineDdlMode::Replicate,
            renamed_out: RenamedOut::Keep,
            definer: schema_diff::translate::DefinerPolicy::Invoker,
            throttle: Throttle::default(),
            progress: ApplyProgress::new(),
            stop: StopSignal::new(),
            until: None,
            stop_at_end: false,
            max_retries: 10,
            heartbeat: None,
            lock_wait_timeout: None,
            max_uncompressed_bytes: binlog_reader::Limits::default().max_uncompressed_size,
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
    // A failed write drops the connection and the next beat reconnects, as
    // the binlog stream does: after a source restart or a network cut the
    // heartbeat goes on (else, on an idle source, the lag climbs forever).
    let source = source.clone();
    Ok(tokio::spawn(async move {
        let mut conn = Some(c);
        loop {
            if conn.is_none() {
                match Conn::new(source.clone()).await {
                    Ok(c) => conn = Some(c),
                    Err(e) => tracing::warn!(error = %e, "heartbeat: reconnecting failed"),
                }
            }
            if let Some(c) = conn.as_mut() {
                if let Err(e) = c.exec_drop(&sql, (&task,)).await {
                    tracing::warn!(error = %e, "heartbeat write failed; reconnecting");
                    conn = None;
                }
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
    let mut src = Conn::new(crate::base::session::reading(source))
        .await
        .map_err(db_err("source", "connecting"))?;
    let server = source::identify(&mut src).await?;
    let ctx = ddl::Context::new(
        &mut tgt,
        (Some(source), target),
        o,
        selection.source_databases(),
    )
    .await?;
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
    let source = ApplySource::Server(source.clone());
    apply_changes_from(&source, target, selection, handoff, options).await
}

/// [`apply_changes`] from a server or from binlog files (see
/// [`ApplySource`]): the same apply, checkpoint and restarts. With files,
/// the apply ends at the end of the last file, and a rerun with the same
/// (or more) files resumes after the last committed transaction.
///
/// # Errors
///
/// As [`apply_changes`]; with files also when they do not continue the
/// checkpoint or each other, cannot be read or decoded, or the task asks
/// for a heartbeat (it needs the source server).
pub async fn apply_changes_from(
    source: &ApplySource,
    target: &Opts,
    selection: &ApplySelection,
    handoff: Option<&HandOff>,
    options: &ApplyOptions,
) -> Result<ApplyReport, CopyError> {
    if matches!(source, ApplySource::Files(_)) && options.heartbeat.is_some() {
        return Err(CopyError::Unsupported {
            reason: "the heartbeat writes to the source server, and binlog files have none: \
                     turn the heartbeat off to apply binlog files"
                .into(),
        });
    }
    let mut attempts = 0u32;
    // After a target transaction outgrew the target's binlog cache: one
    // source transaction per target transaction (S13).
    let mut one_by_one = false;
    loop {
        let before = options.progress.status().position;
        match run_once(source, target, selection, handoff, options, one_by_one).await {
            Ok(()) => return Ok(options.progress.status()),
            Err(e) if binlog_cache_full(&e) => {
                if one_by_one {
                    return Err(CopyError::Binlog {
                        at: options
                            .progress
                            .status()
                            .position
                            .map_or_else(|| "?".into(), |p| p.to_string()),
                        reason: format!(
                            "the source transaction after this position alone is larger than \
                             the target's binary log cache allows ({e}). Raise \
                             max_binlog_cache_size on the target (SET GLOBAL; new connections \
                             take it), then start the task again: it resumes from its \
                             checkpoint"
                        ),
                    });
                }
                tracing::warn!(
                    error = %e,
                    "apply: the target's binlog cache is too small for the batch; applying one \
                     source transaction per target transaction from the checkpoint"
                );
                one_by_one = true;
                options.progress.update(|s| s.retries += 1);
            }
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
    let names = binary_logs(src).await?;
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

/// Whether the target refused a transaction larger than its
/// `max_binlog_cache_size` (1197).
fn binlog_cache_full(e: &CopyError) -> bool {
    matches!(
        e,
        CopyError::Database {
            error: mysql_async::Error::Server(se),
            ..
        } if se.code == 1197
    )
}

async fn run_once(
    source: &ApplySource,
    target: &Opts,
    selection: &ApplySelection,
    handoff: Option<&HandOff>,
    o: &ApplyOptions,
    one_by_one: bool,
) -> Result<(), CopyError> {
    let mut tgt = connect_applier(target, o.lock_wait_timeout).await?;
    meta_schema::ensure_apply_tables(&mut tgt, &o.meta_schema).await?;
    let checkpoint = read_checkpoint(&mut tgt, o).await?;
    // The source server (chosen among the task's URLs, see `source`), the
    // archive's server, or the first of the binlog files (in order).
    let (mut server, first_file) = match source {
        ApplySource::Server(opts) => {
            let urls: Vec<Opts> = std::iter::once(opts.clone())
                .chain(o.failover_sources.iter().cloned())
                .collect();
            let same = |id: &SourceIdentity| checkpoint.as_ref().is_some_and(|c| c.same_server(id));
            let chosen = source::choose(
                &urls,
                checkpoint
                    .as_ref()
                    .map(|_| &same as &(dyn Fn(&SourceIdentity) -> bool + Sync)),
            )
            .await?;
            (Some(chosen), None)
        }
        // Failover among the task's URLs is for `ApplySource::Server` only:
        // the archive bridges one server's binlog series by file position,
        // so the apply reads from the archive's server and no other.
        ApplySource::Archive { server: opts, .. } => (Some(source::probe(opts).await?), None),
        ApplySource::Files(paths) => (None, files::in_order(paths)?.into_iter().next()),
    };
    let identity = server.as_ref().map(|s| s.identity);
    let server_id: u64 = match (&identity, &first_file) {
        (Some(id), _) => u64::from(id.server_id()),
        (None, Some((_, path))) => files::server_id(path)?,
        (None, None) => 0,
    };
    let source_opts = server.as_ref().map(|s| s.opts.clone());
    let routes = Routes::new(selection, o.online_ddl);
    let ddl_ctx = ddl::Context::new(
        &mut tgt,
        (source_opts.as_ref(), target),
        o,
        selection.source_databases(),
    )
    .await?;
    let mut switched = false;
    let (saved, start, gtid) = match (checkpoint, server.as_mut()) {
        // An archive's server that is not the checkpoint's: no failover
        // (see above), the checkpoint is another source's.
        (Some(s), Some(srv))
            if matches!(source, ApplySource::Archive { .. }) && !s.same_server(&srv.identity) =>
        {
            return Err(CopyError::OtherSource {
                task: o.task.clone(),
                checkpoint_server_id: s.server_id,
                server_id,
            });
        }
        // Binlog files: by file position, as written.
        (Some(s), None) => {
            if s.server_id != server_id {
                return Err(CopyError::OtherSource {
                    task: o.task.clone(),
                    checkpoint_server_id: s.server_id,
                    server_id,
                });
            }
            let at = s.position.clone();
            (s, Start::File(at), GtidState::None)
        }
        (Some(s), Some(srv)) if s.same_server(&srv.identity) => {
            let gtid = match &s.saved {
                Some(p) => p.gtid().clone(),
                // Written by an earlier version: the state there.
                None => source::gtid_state_at(&mut srv.conn, &srv.identity, &s.position).await?,
            };
            let at = s.position.clone();
            (s, Start::File(at), gtid)
        }
        (Some(mut s), Some(srv)) => {
            let (gtid, plan) = fail_over(&mut tgt, srv, &s, o).await?;
            let (from, to) = (s.describe(), srv.describe());
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
        (None, mut srv) => {
            // Binlog files start at the first file's beginning by default.
            let from_files = first_file.as_ref().map(|(name, _)| HandOff {
                start: FilePosition::new(name.clone(), 4),
                overlap_end: None,
            });
            let handoff = handoff.or(from_files.as_ref());
            let (start, gtid, position) = match (&o.start_gtid, handoff, srv.as_deref_mut()) {
                (Some(g), _, Some(srv)) => {
                    if g.flavor() != Some(srv.identity.flavor()) {
                        return Err(CopyError::Unsupported {
                            reason: format!(
                                "the start position is a {g}, but the source is a {}",
                                srv.identity.flavor()
                            ),
                        });
                    }
                    (Start::Gtid(g.clone()), g.clone(), None)
                }
                (_, Some(h), None) => (
                    Start::File(h.start.clone()),
                    GtidState::None,
                    Some(h.start.clone()),
                ),
                (None, Some(h), Some(srv)) => {
                    // The hand-off is a file position of the server the
                    // copy read: never used on another one.
                    if let Some(Some(k)) = prepared(&mut tgt, o).await? {
                        if k != source::server_key(&srv.identity) {
                            return Err(CopyError::FailoverRefused {
                                task: o.task.clone(),
                                from: k,
                                to: srv.describe(),
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
                    let purged = match source {
                        // A purged file is read from the archive; refused
                        // here when neither has it.
                        ApplySource::Archive { dir, .. } => {
                            files::bridge(dir, &h.start, &binary_logs(&mut srv.conn).await?)?
                                .is_some()
                        }
                        _ => {
                            check_not_purged(&mut srv.conn, &h.start).await?;
                            false
                        }
                    };
                    // The server has no GTID state at a file it purged: the
                    // tracker learns it from the archived files' events.
                    let g = if purged {
                        GtidState::None
                    } else {
                        source::gtid_state_at(&mut srv.conn, &srv.identity, &h.start).await?
                    };
                    (Start::File(h.start.clone()), g, Some(h.start.clone()))
                }
                _ => {
                    return Err(CopyError::NoStartPosition {
                        task: o.task.clone(),
                    })
                }
            };
            if prepared(&mut tgt, o).await?.is_none() {
                match srv {
                    Some(srv) => ddl_ctx.create_shadow(&mut srv.conn, &mut tgt).await?,
                    None => {
                        let mut schema = connect_applier(target, o.lock_wait_timeout).await?;
                        ddl_ctx
                            .create_shadow_from_target(&mut schema, &mut tgt, selection)
                            .await?;
                    }
                }
            }
            let overlap_end = handoff.and_then(|h| h.overlap_end.clone());
            let stored = match (&position, &identity) {
                (Some(p), Some(id)) => Some(stored_position(&o.task, p, id, &gtid)?),
                _ => None,
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
                    server_id,
                    stored,
                ),
            )
            .await
            .map_err(db_err("target", "creating the incremental checkpoint"))?;
            let saved = Saved {
                position,
                overlap_end,
                server_id,
                saved: None,
                transactions: 0,
                rows: 0,
            };
            (saved, start, gtid)
        }
    };
    let (files, bridge) = match (source, server.as_mut(), &start) {
        (ApplySource::Files(paths), _, _) => {
            (Some(files::plan(&o.task, paths, &saved.position)?), None)
        }
        (ApplySource::Archive { dir, .. }, Some(srv), Start::File(at)) => (
            None,
            files::bridge(dir, at, &binary_logs(&mut srv.conn).await?)?,
        ),
        (ApplySource::Server(_), Some(srv), Start::File(at)) => {
            check_not_purged(&mut srv.conn, at).await?;
            (None, None)
        }
        _ => (None, None),
    };
    if let Some(srv) = &server {
        let (described, g) = (srv.describe(), gtid_text(&gtid));
        o.progress.update(|s| {
            s.source_server = Some(described);
            s.gtid_state = g;
        });
    }
    drop(server);
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
    let (tx, rx) = mpsc::channel::<Result<Event, CopyError>>(o.queue_events.max(1));
    let budget = Arc::new(Semaphore::new(decide::queue_budget(o.queue_bytes)));
    let tx = Feed {
        tx,
        budget: budget.clone(),
        queue_bytes: o.queue_bytes,
    };
    // Silence after which the source counts as stalled (N2): the stream's
    // read timeout; binlog files never stall.
    let limits = binlog_reader::Limits {
        max_uncompressed_size: o.max_uncompressed_bytes,
        ..binlog_reader::Limits::default()
    };
    let (reader_task, heartbeat_task, stall_after) = match (source.server(), files, bridge) {
        (None, files, _) => {
            let (files, from) = (files.unwrap_or_default(), saved.position.clone());
            o.progress
                .update(|s| s.target_connection_id = Some(tgt.id()));
            let t = tokio::task::spawn_blocking(move || {
                files::read(files, from, server_id, limits, tx)
            });
            (t, None, Duration::MAX)
        }
        (Some(_), _, bridge) => {
            // The server chosen among the task's URLs, or the archive's.
            let opts = source_opts
                .clone()
                .ok_or_else(|| CopyError::Internal("a server source without a server".into()))?;
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
            let (t, stall_after) = match bridge {
                None => spawn_stream_reader(&opts, stream_start, o, tx).await?,
                // Archived files from the checkpoint (always a file
                // position here), then the server's stream.
                Some(b) => spawn_bridge_reader(
                    opts.clone(),
                    b,
                    saved.position.clone(),
                    server_id,
                    limits,
                    o,
                    tx,
                ),
            };
            o.progress
                .update(|s| s.target_connection_id = Some(tgt.id()));
            let heartbeat_task = match &o.heartbeat {
                Some(h) => Some(start_heartbeat(&opts, h, &o.task).await?),
                None => None,
            };
            (t, heartbeat_task, stall_after)
        }
    };
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
        tracker: identity.map(|_| GtidTracker::new(gtid)),
        server: identity,
        boundary_gtid: None,
        skipped: Default::default(),
        statement_context: None,
        one_by_one,
        last_event_at: Instant::now(),
        stall_after,
        stalled: false,
    };
    let r = a.run().await;
    // A file reader runs on a blocking thread, which abort() does not stop:
    // closing the budget and the queue makes its next send fail, so it ends
    // whatever it waited for.
    a.budget.close();
    a.rx.close();
    reader_task.abort();
    if let Some(h) = heartbeat_task {
        h.abort();
    }
    if r.is_err() && a.open {
        let _ = a.tgt.query_drop("ROLLBACK").await;
    }
    r
}

/// The readers' end of the queue to the applier. An event waits for room in
/// the queue's byte budget (`ApplyOptions::queue_bytes`), which the applier
/// gives back once it has handled the event, so what is queued stays
/// bounded in bytes whatever the size of a source transaction.
pub(crate) struct Feed {
    tx: mpsc::Sender<Result<Event, CopyError>>,
    budget: Arc<Semaphore>,
    queue_bytes: usize,
}

impl Feed {
    fn cost(&self, item: &Result<Event, CopyError>) -> u32 {
        match item {
            Ok(e) => decide::queue_cost(e.pos, e.end_pos, self.queue_bytes),
            Err(_) => 0,
        }
    }

    /// Sends one item; false when the applier is gone.
    pub(crate) async fn send(&self, item: Result<Event, CopyError>) -> bool {
        let cost = self.cost(&item);
        if cost > 0 {
            match self.budget.acquire_many(cost).await {
                Ok(p) => p.forget(),
                Err(_) => return false,
            }
        }
        self.tx.send(item).await.is_ok()
    }

    /// [`Feed::send`] from a blocking thread (the file reader's).
    pub(crate) fn blocking_send(&self, item: Result<Event, CopyError>) -> bool {
        let cost = self.cost(&item);
        if cost > 0 {
            let budget = self.budget.clone();
            match tokio::runtime::Handle::current().block_on(budget.acquire_many_owned(cost)) {
                Ok(p) => p.forget(),
                Err(_) => return false,
            }
        }
        self.tx.blocking_send(item).is_ok()
    }
}

/// The source's binlog files (`SHOW BINARY LOGS`), in order.
async fn binary_logs(src: &mut Conn) -> Result<Vec<String>, CopyError> {
    let logs: Vec<mysql_async::Row> = src
        .query("SHOW BINARY LOGS")
        .await
        .map_err(db_err("source", "listing the binary logs"))?;
    Ok(logs
        .into_iter()
        .filter_map(|r| r.get::<String, _>(0))
        .collect())
}

fn stream_config(source: &Opts, start: StreamStart, o: &ApplyOptions) -> StreamConfig {
    let mut cfg = StreamConfig::new(source.clone(), o.server_id, start);
    cfg.non_blocking = o.stop_at_end;
    if !o.failover_sources.is_empty() {
        // Other servers to fail over to: give up on a dead one sooner.
        cfg.max_reconnects = 3;
    }
    cfg.limits.max_uncompressed_size = o.max_uncompressed_bytes;
    cfg
}

/// Streams the server's binlog from `start` into `tx`.
async fn spawn_stream_reader(
    source: &Opts,
    start: StreamStart,
    o: &ApplyOptions,
    tx: Feed,
) -> Result<(tokio::task::JoinHandle<()>, Duration), CopyError> {
    let cfg = stream_config(source, start, o);
    let stall_after = cfg.read_timeout;
    let reader = BinlogStreamReader::connect(cfg)
        .await
        .map_err(CopyError::from)?;
    let task = tokio::spawn(forward_stream(reader, o.progress.clone(), tx));
    Ok((task, stall_after))
}

/// Hands the stream's events to `tx` until it ends, fails, or the applier
/// goes away.
async fn forward_stream(mut reader: BinlogStreamReader, progress: ApplyProgress, tx: Feed) {
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
            Err(e) => Err(stream_error(e)),
        };
        if !tx.send(item).await || done {
            break;
        }
    }
}

/// Reads the archived files of `b` from `from` on into `tx`, then, when the
/// last of them rotates to the server's first file, the server's stream
/// from there.
fn spawn_bridge_reader(
    source: Opts,
    b: files::Bridge,
    from: FilePosition,
    server_id: u64,
    limits: binlog_reader::Limits,
    o: &ApplyOptions,
    tx: Feed,
) -> (tokio::task::JoinHandle<()>, Duration) {
    let o = o.clone();
    let stall_after = stream_config(
        &source,
        StreamStart::File(Some(from.file.clone()), from.offset),
        &o,
    )
    .read_timeout;
    let task = tokio::spawn(async move {
        let live = b.live.clone();
        let tx = Arc::new(tx);
        let files_tx = tx.clone();
        let read = tokio::task::spawn_blocking(move || {
            files::read_files(b.files, from, server_id, limits, &files_tx)
        })
        .await;
        let last = match read {
            Ok(Ok(Some(last))) => last,
            // The applier went away.
            Ok(Ok(None)) => return,
            Ok(Err(e)) => {
                tx.send(Err(e)).await;
                return;
            }
            Err(e) => {
                tx.send(Err(CopyError::Internal(format!(
                    "reading the binlog archive: {e}"
                ))))
                .await;
                return;
            }
        };
        if last.1.as_deref() != Some(live.as_str()) {
            tx.send(Err(CopyError::Binlog {
                at: last.0.clone(),
                reason: format!(
                    "the last archived file before the source's first binlog file {live} {}: \
                     the archive does not lead to the source's binlog. Add the missing files \
                     to [source] binlog_archive",
                    match &last.1 {
                        Some(n) => format!("rotates to {n}"),
                        None => "ends without a ROTATE".into(),
                    }
                ),
            }))
            .await;
            return;
        }
        tracing::info!(file = %live, "binlog archive read: switching to the source's stream");
        let cfg = stream_config(&source, StreamStart::File(Some(live), 4), &o);
        match BinlogStreamReader::connect(cfg).await {
            Ok(reader) => {
                if let Ok(tx) = Arc::try_unwrap(tx) {
                    forward_stream(reader, o.progress.clone(), tx).await;
                }
            }
            Err(e) => {
                tx.send(Err(CopyError::from(e))).await;
            }
        }
    });
    (task, stall_after)
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
    /// The GTID state after each event read (`None`: binlog files).
    tracker: Option<GtidTracker>,
    /// The server read from (`None`: binlog files).
    server: Option<SourceIdentity>,
    /// The GTID state at `boundary`.
    boundary_gtid: Option<GtidState>,
    /// Events skipped by a documented rule, by type name, since the start
    /// (published with each commit).
    skipped: std::collections::BTreeMap<&'static str, u64>,
    /// A statement-based INTVAR, RAND or USER_VAR read and not yet
    /// followed by its QUERY: (type name, position).
    statement_context: Option<(&'static str, String)>,
    /// Commit at every source transaction boundary.
    one_by_one: bool,
    /// When the last event (a heartbeat included) arrived.
    last_event_at: Instant,
    /// Silence after which the source counts as stalled.
    stall_after: Duration,
    /// Reported stalled (`ApplyStatus::source_stalled`).
    stalled: bool,
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
        // Binlog files have no server to name: their row keeps its id and
        // no saved position.
        let stored = match &self.server {
            Some(server) => Some(stored_position(&self.o.task, &pos, server, &gtid)?),
            None => None,
        };
        self.flush_pending().await?;
        self.begin().await?;
        let txns = self.transactions + self.txns_uncommitted;
        let rows = self.rows + self.rows_uncommitted;
        self.tgt
            .exec_drop(
                format!(
                    "UPDATE {}.`{CDC_CHECKPOINT}` SET binlog_file = ?, binlog_pos = ?, \
                     source_server_id = IFNULL(?, source_server_id), saved_position = ?, \
                     event_time = ?, transactions = ?, rows_applied = ? WHERE task = ?",
                    quote(&self.o.meta_schema)
                ),
                (
                    &pos.file,
                    pos.offset,
                    self.server.map(|s| s.server_id()),
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
        self.o.progress.waiting_since(None);
        self.committed = pos.clone();
        self.transactions = txns;
        self.rows = rows;
        self.txns_uncommitted = 0;
        self.rows_uncommitted = 0;
        let c = self.counts;
        let skipped = self.skipped_status();
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
            s.events_skipped = skipped;
            s.lag = lag;
        });
        Ok(())
    }

    fn should_commit(&self) -> bool {
        self.one_by_one
            || decide::CommitInputs {
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
        self.boundary_gtid = self.tracker.as_ref().map(|t| t.state().clone());
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
                    if !self.stalled && self.last_event_at.elapsed() > self.stall_after {
                        tracing::warn!(
                            "nothing from the source for {:?}, not even a heartbeat: the binlog \
                             connection is dead or the network drops everything; reconnecting",
                            self.stall_after
                        );
                        self.stalled = true;
                        self.o.progress.update(|s| s.source_stalled = true);
                    }
                    continue;
                }
                Ok(None) => {
                    // The stream ended (stop_at_end).
                    self.commit().await?;
                    let skipped = self.skipped_status();
                    self.o.progress.update(|s| {
                        s.caught_up = true;
                        s.events_skipped = skipped;
                    });
                    return Ok(());
                }
                Ok(Some(Err(e))) => {
                    // The reader stopped at an event it cannot hand out
                    // (one over the limits, bytes it cannot decode): what
                    // came before it is complete and committed first, so
                    // the checkpoint names where it stopped.
                    self.commit().await?;
                    return Err(e);
                }
                Ok(Some(Ok(ev))) => ev,
            };
            self.last_event_at = Instant::now();
            if self.stalled {
                self.stalled = false;
                self.o.progress.update(|s| s.source_stalled = false);
            }
            if ev.header.timestamp != 0 && !matches!(ev.body, EventBody::Heartbeat(_)) {
                self.last_event_time = ev.header.timestamp;
            }
            // The GTID state after the event: a transaction's GTID counts
            // from the event that ends it on, which the checkpoint taken at
            // that end then holds.
            if let (Some(tracker), Some(server)) = (self.tracker.as_mut(), self.server.as_ref()) {
                let boundary = tracker.observe(&ev).map_err(|e| CopyError::Binlog {
                    at: format!("{}:{}", ev.file.as_deref().unwrap_or("?"), ev.pos),
                    reason: e.to_string(),
                })?;
                if boundary == Boundary::Commit && matches!(ev.body, EventBody::Query(_)) {
                    // A DDL commits its position itself (see `ddl`).
                    self.ddl.saved_position = Some(stored_position(
                        &self.o.task,
                        &Self::position(&ev),
                        server,
                        tracker.state(),
                    )?);
                }
            }
            let cost = decide::queue_cost(ev.pos, ev.end_pos, self.o.queue_bytes);
            self.event(ev).await?;
            self.budget.add_permits(cost as usize);
        }
    }

    fn position(ev: &Event) -> FilePosition {
        FilePosition::new(ev.file.as_deref().unwrap_or(""), ev.end_pos)
    }

    /// One event from the reader. A TRANSACTION_PAYLOAD (MySQL's
    /// `binlog_transaction_compression`) is the transaction it holds: its
    /// inner events are applied in order, each at the payload's position,
    /// and the transaction's boundary is the payload's end (the decoder
    /// holds the whole payload decoded, bounded by its limits).
    async fn event(&mut self, ev: Event) -> Result<(), CopyError> {
        let r = self.event_inner(ev).await;
        if let Err(e @ (CopyError::Binlog { .. } | CopyError::Table { .. })) = r {
            // An event the apply refuses: the transactions before it are
            // complete and committed first (unless rows of the refused
            // transaction are already written), so that the checkpoint
            // names where it stopped.
            if !self.txn_dirty {
                self.commit().await?;
            }
            return Err(e);
        }
        r
    }

    async fn event_inner(&mut self, ev: Event) -> Result<(), CopyError> {
        if !matches!(ev.body, EventBody::TransactionPayload(_)) {
            return self.step(&ev, false).await;
        }
        let Event {
            file,
            pos,
            end_pos,
            body,
            ..
        } = ev;
        let at = format!("{}:{pos}", file.as_deref().unwrap_or("?"));
        let EventBody::TransactionPayload(p) = body else {
            return Ok(());
        };
        for mut inner in p.events {
            inner.file.clone_from(&file);
            inner.pos = pos;
            inner.end_pos = end_pos;
            self.step(&inner, true).await?;
        }
        if self.in_txn {
            return Err(CopyError::Binlog {
                at,
                reason: "a compressed transaction (TRANSACTION_PAYLOAD) whose events do not \
                         end with its commit; the binlog is not what the apply expects"
                    .into(),
            });
        }
        Ok(())
    }

    /// Counts an event the apply has no work for, by a documented rule
    /// (`ApplyStatus::events_skipped`).
    fn count_skipped(&mut self, t: EventType) {
        *self.skipped.entry(t.name()).or_insert(0) += 1;
    }

    /// One event outside a payload, or one of a payload's (`in_payload`).
    /// Every class of event is named here, without a wildcard arm: a kind
    /// added to binlog-reader does not compile until it is placed.
    async fn step(&mut self, ev: &Event, in_payload: bool) -> Result<(), CopyError> {
        let at = format!("{}:{}", ev.file.as_deref().unwrap_or("?"), ev.pos);
        let t = ev.header.event_type;
        match ev.class() {
            EventClass::MariadbGtid(g) => {
                self.in_txn = g.flags2 & MARIADB_FL_STANDALONE == 0;
            }
            // A MySQL GTID (plain, anonymous or tagged) names the
            // transaction that follows; BEGIN or the DDL's QUERY starts it.
            // The checkpoint is a file position, so the GTID itself needs
            // no work.
            EventClass::Gtid(_) => {}
            EventClass::Xid(_) => {
                self.end_of_transaction(Self::position(ev)).await?;
            }
            EventClass::Query(q) => {
                let context = self.statement_context.take();
                self.query(q, ev, &at, context, in_payload).await?;
            }
            EventClass::Rows(r) => {
                let pos = FilePosition::new(ev.file.as_deref().unwrap_or(""), ev.pos);
                // Inside a payload, the event's own (uncompressed) length:
                // its position and end are the whole payload's.
                let bytes = if in_payload {
                    u64::from(ev.header.event_length)
                } else {
                    ev.end_pos.saturating_sub(ev.pos)
                };
                self.rows_event(r, &at, &pos, bytes).await?;
            }
            // The columns of the rows events that follow: the decoder keeps
            // it and hands it to them.
            EventClass::TableMap(_) => {}
            EventClass::Heartbeat(_) => {
                // The source has nothing newer than what was read: when
                // nothing is queued and no transaction is open, everything
                // read is applied. Otherwise the heartbeat says nothing the
                // events around it do not.
                if !self.in_txn && self.rx.is_empty() {
                    self.commit().await?;
                    self.o.progress.update(|s| {
                        s.caught_up = true;
                        s.lag = Some(Duration::ZERO);
                    });
                }
                self.count_skipped(t);
            }
            // Statement-based context for the next QUERY (binlog_format
            // STATEMENT or MIXED): that statement is refused if it changes
            // selected rows, ignored with it otherwise (see `query`).
            EventClass::IntVar(_) | EventClass::Rand(_) | EventClass::UserVar(_) => {
                self.statement_context = Some((t.name(), at));
            }
            // Information and bookkeeping, no change: the statement text
            // of the rows that follow, the file's format and GTID state,
            // the next file, MariaDB's recovery checkpoint, a server stop
            // (its file ends there), and the group-replication events that
            // change no row (VIEW_CHANGE, TRANSACTION_CONTEXT, IGNORABLE).
            EventClass::Rotate(r) => {
                if !r.fake && !self.in_txn {
                    // The file is complete: the checkpoint may move to the
                    // start of the next one, so that a restart (from binlog
                    // files, or after the finished file was purged) needs
                    // only that file.
                    let next = FilePosition::new(r.next_file.as_str(), r.position);
                    if self.boundary.as_ref().unwrap_or(&self.committed) < &next {
                        self.boundary = Some(next);
                    }
                }
                self.count_skipped(t);
            }
            EventClass::RowsQuery(_)
            | EventClass::FormatDescription(_)
            | EventClass::PreviousGtids(_)
            | EventClass::Stop
            | EventClass::MariadbGtidList(_)
            | EventClass::MariadbBinlogCheckpoint(_)
            | EventClass::NoRowChange(_) => self.count_skipped(t),
            // The decoder refuses every event after it in the file.
            EventClass::MariadbStartEncryption { .. } => self.count_skipped(t),
            EventClass::TransactionPayload(_) => {
                return Err(CopyError::Binlog {
                    at,
                    reason: "a TRANSACTION_PAYLOAD inside another one; payloads do not nest".into(),
                })
            }
            EventClass::XaPrepare(_) => {
                return Err(CopyError::Binlog {
                    at,
                    reason: "an XA PREPARE; XA transactions are not supported by the apply. \
                             Avoid XA on the source during the migration"
                        .into(),
                })
            }
            EventClass::Incident(i) => {
                return Err(CopyError::Binlog {
                    at,
                    reason: format!(
                        "the source logged an INCIDENT ({}: {}): changes may be missing from its \
                         binlog. Start the task again from a full copy",
                        i.incident, i.message
                    ),
                })
            }
            EventClass::Uninterpreted(t) => {
                return Err(CopyError::Binlog {
                    at,
                    reason: format!(
                        "a {} event (type {}), which the apply cannot interpret (statement-based \
                         LOAD DATA or a pre-GA rows event); stopping rather than skipping a \
                         change. Set binlog_format=ROW on the source and start again from a \
                         full copy",
                        t.name(),
                        t.0
                    ),
                })
            }
        }
        Ok(())
    }

    async fn query(
        &mut self,
        q: &binlog_reader::event::QueryEvent,
        ev: &Event,
        at: &str,
        context: Option<(&'static str, String)>,
        in_payload: bool,
    ) -> Result<(), CopyError> {
        let at = at.to_string();
        let sql = q.query_text();
        let kw = sql.trim_start().to_ascii_uppercase();
        if kw.starts_with("BEGIN") || kw.starts_with("XA START") {
            self.in_txn = true;
        } else if kw.starts_with("COMMIT") || kw.starts_with("ROLLBACK") && !kw.contains(" TO ") {
            self.end_of_transaction(Self::position(ev)).await?;
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
                     (binlog_format STATEMENT or MIXED in that session{}): {}. Its effect \
                     cannot be applied exactly. Set binlog_format=ROW for every session \
                     on the source, then start again from a full copy",
                    context
                        .as_ref()
                        .map(|(t, a)| format!(", with a {t} event at {a}"))
                        .unwrap_or_default(),
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
            if let Some((t, _)) = context {
                // The context of a statement not applied goes with it.
                *self.skipped.entry(t).or_insert(0) += 1;
            }
            if !self.in_txn {
                self.end_of_transaction(Self::position(ev)).await?;
            }
        } else {
            if let Some((t, a)) = context {
                let db = &q.schema;
                if db.is_empty() || self.routes.database_involved(db) {
                    return Err(CopyError::Binlog {
                        at: a,
                        reason: format!(
                            "a {t} event (statement-based logging) before the statement at \
                             {at}: {}. The apply runs statements without such values, so it \
                             cannot run this one exactly. Set binlog_format=ROW for every \
                             session on the source",
                            sql.chars().take(200).collect::<String>()
                        ),
                    });
                }
                *self.skipped.entry(t).or_insert(0) += 1;
            }
            if in_payload {
                return Err(CopyError::Binlog {
                    at,
                    reason: format!(
                        "a statement inside a compressed transaction (TRANSACTION_PAYLOAD), \
                         which MySQL does not write: {}",
                        sql.chars().take(200).collect::<String>()
                    ),
                });
            }
            // DDL, or another statement outside a transaction:
            // commit what came before it on its own.
            let pos = Self::position(ev);
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
                    ev,
                    self.o,
                    self.selection,
                )
                .await?;
            self.cache.clear();
            match outcome {
                ddl::Outcome::Applied => self.o.progress.update(|s| s.ddl_applied += 1),
                ddl::Outcome::Skipped(why) => self.o.progress.update(|s| s.ddl_skipped.push(why)),
                ddl::Outcome::Ignored => self.o.progress.update(|s| s.statements_ignored += 1),
            }
            // The DDL's own commit saved the position; record it.
            self.committed = pos.clone();
            self.transactions += 1;
            let skipped = self.skipped_status();
            self.o.progress.update(|s| {
                s.position = Some(pos);
                s.transactions += 1;
                s.events_skipped = skipped;
            });
            self.in_txn = false;
        }
        Ok(())
    }

    fn skipped_status(&self) -> std::collections::BTreeMap<String, u64> {
        self.skipped
            .iter()
            .map(|(k, v)| ((*k).to_string(), *v))
            .collect()
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
        // The full copy loaded this table in one transaction from a
        // snapshot at `copied_at`: changes before it are in the load
        // already (design rule 8; a table without a key cannot be replayed
        // idempotently). Checked first: a table copied when it was renamed
        // into the selection has the schema of its copy, not that of these
        // older rows.
        if info.copied_at.as_ref().is_some_and(|c| pos < c) {
            return Ok(());
        }
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
        // MySQL's partial JSON updates: the whole new document, from the
        // before image's (see `json_diff`).
        let resolved;
        let r = if r.kind == RowsKind::PartialUpdate {
            resolved = resolve_partial_json(r).map_err(|reason| CopyError::Table {
                table: info.source_name(),
                reason: format!("at {at}: {reason}"),
            })?;
            &resolved
        } else {
            r
        };
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
            if self.last_event_time != 0 {
                self.o.progress.waiting_since(Some(self.last_event_time));
            }
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

/// A reading error as the apply reports it: a compressed transaction or
/// event over the limit says what to change.
pub(crate) fn stream_error(e: binlog_reader::StreamError) -> CopyError {
    match e {
        binlog_reader::StreamError::Decode { position, error } => match decode_error(error) {
            Ok((_, reason)) => CopyError::Binlog {
                at: position,
                reason,
            },
            Err(error) => CopyError::from(binlog_reader::StreamError::Decode { position, error }),
        },
        other => CopyError::from(other),
    }
}

/// The event's offset and the reason for a decoding error the user can act
/// on (a compressed transaction over the limit), or the error back.
pub(crate) fn decode_error(
    error: binlog_reader::DecodeError,
) -> Result<(u64, String), binlog_reader::DecodeError> {
    match error {
        binlog_reader::DecodeError::TooLarge {
            what: what @ ("uncompressed transaction payload" | "compressed query" | "compressed rows"),
            value,
            limit,
            offset,
        } => Ok((offset, format!(
            "a compressed {} of {value} bytes uncompressed, over the apply's limit of {limit}              bytes ([incremental] max_uncompressed_bytes). Nothing of it was applied. Raise              the limit (the apply holds the whole transaction decoded in memory), or turn              compression off on the source for sessions writing transactions this large              (binlog_transaction_compression=OFF on MySQL, log_bin_compress=OFF on MariaDB):              uncompressed, a transaction of any size is applied in bounded memory",
            match what {
                "compressed query" => "QUERY event (QUERY_COMPRESSED)",
                "compressed rows" => "rows event",
                _ => "transaction (TRANSACTION_PAYLOAD)",
            }
        ))),
        other => Err(other),
    }
}

/// A PARTIAL_UPDATE_ROWS event with every JSON diff (`Value::JsonDiffs`)
/// of its after images replaced by the whole document it makes of the
/// before image's value, as MySQL applies it (see `json_diff`).
///
/// # Errors
///
/// When a diff cannot be applied exactly: the before image lacks the
/// column (`binlog_row_image` MINIMAL or NOBLOB) or holds NULL, or the diff
/// does not fit the document. The message names the column, the cause and
/// the fix.
pub(crate) fn resolve_partial_json(r: &RowsEvent) -> Result<RowsEvent, String> {
    let mut out = r.clone();
    for ch in &mut out.rows {
        let RowChange::Update { before, after } = ch else {
            return Err("a PARTIAL_UPDATE_ROWS event holds a row that is not an update".into());
        };
        for (i, v) in after.iter_mut().enumerate() {
            let Some(binlog_reader::Value::JsonDiffs(diffs)) = v else {
                continue;
            };
            let name = r
                .table
                .columns
                .get(i)
                .and_then(|c| c.name.clone())
                .map_or_else(
                    || format!("column {}", i + 1),
                    |n| format!("column {}", quote(&n)),
                );
            let fix = "set binlog_row_image=FULL on the source with                        binlog_row_value_options=PARTIAL_JSON, or binlog_row_value_options=''                        so that whole JSON values are logged, then start again from a full copy";
            let old = match before.get(i) {
                Some(Some(binlog_reader::Value::Json(t))) => t,
                Some(Some(binlog_reader::Value::Null)) => {
                    return Err(format!(
                        "{name} carries a partial JSON update of a NULL document, which MySQL                          does not write; {fix}"
                    ))
                }
                _ => {
                    return Err(format!(
                        "{name} carries a partial JSON update (binlog_row_value_options=\
                         PARTIAL_JSON) but the before image does not hold the old document                          it applies to (binlog_row_image is not FULL); {fix}"
                    ))
                }
            };
            let new = json_diff::apply_json_diffs(old, diffs).map_err(|e| {
                format!("{name}: a partial JSON update cannot be applied exactly: {e}; {fix}")
            })?;
            *v = Some(binlog_reader::Value::Json(new));
        }
    }
    Ok(out)
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
