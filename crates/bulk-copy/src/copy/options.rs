//! What a copy is asked to do ([`CopyOptions`], [`SnapshotMode`]) and what
//! it reports ([`CopyReport`], [`TableReport`]).

use std::sync::Arc;

use binlog_reader::position::FilePosition;
use futures::future::BoxFuture;

use super::checkpoint::LoadMethod;
use crate::base::mapping::ConflictPolicy;
use crate::base::meta::KeyStrategy;
use crate::base::progress::Progress;
use crate::base::throttle::Throttle;

/// How the readers' snapshots are taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SnapshotMode {
    /// The source's dialect decides
    /// (`server_dialect::Dialect::default_snapshot_method`): MariaDB's
    /// lock-free consistent snapshot when the source is MariaDB.
    #[default]
    Auto,
    /// `START TRANSACTION WITH CONSISTENT SNAPSHOT` and
    /// `binlog_snapshot_file/position` (MariaDB only): no lock at all.
    ConsistentSnapshot,
    /// `FLUSH TABLES WITH READ LOCK` held while every reader opens its
    /// snapshot, then `UNLOCK TABLES`: one shared position.
    FlushTablesWithReadLock,
    /// No snapshot: each chunk is read by a short locking read between a
    /// low and a high binlog watermark, and the row changes of that window
    /// are reconciled into it before it is written (see the copy module's
    /// documentation). No global lock and no RELOAD; the source's binary
    /// log and REPLICATION SLAVE (and CLIENT) are needed. Every flavour.
    Watermark,
}

/// A hook into the watermark copy, for tests that must act inside a
/// chunk's window: called with the source table (quoted) and the chunk's
/// number in its range in this run (from 1), after the chunk's locking
/// read committed and before its high watermark is read.
#[derive(Clone)]
pub struct ChunkHook(pub Arc<dyn Fn(String, u64) -> BoxFuture<'static, ()> + Send + Sync>);

impl std::fmt::Debug for ChunkHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChunkHook")
    }
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
    /// A chunked table is split into ranges of about this many rows (as the
    /// source estimates its rows), copied in parallel: the split points are
    /// every this-many-th key of the table's key, found on the source, so
    /// the ranges hold the same number of rows whatever the key's type and
    /// distribution. 0 turns splitting off.
    pub split_rows: u64,
    /// A table without a usable key (a primary key, or a unique key on NOT
    /// NULL columns) offers no order its copy can be committed and resumed
    /// by (the storage engines' own row ids are not readable in SQL), so it
    /// is loaded in one transaction, which a crash starts over; one whose
    /// data length (the source's estimate) is larger than this is refused,
    /// with the fix: a key. Tables with MySQL's generated invisible primary
    /// key (`my_row_id`) or any other key are chunked as usual.
    pub keyless_max_bytes: u64,
    /// Key conflicts with rows already on the target.
    pub conflict: ConflictPolicy,
    /// How snapshots are taken.
    pub snapshot: SnapshotMode,
    /// The server id the watermark snapshot's binlog reader registers with
    /// (distinct from every replica of the source, and from the apply's).
    pub server_id: u32,
    /// In the watermark snapshot, a table without a usable key is read
    /// whole by one locking read that keeps the table's writers waiting
    /// until it ends; a table whose data length (the source's estimate) is
    /// larger than this is refused, with the fix (add a key, or use the
    /// consistent snapshot on MariaDB).
    pub locked_read_max_bytes: u64,
    /// For tests: see [`ChunkHook`].
    #[doc(hidden)]
    pub after_chunk_read: Option<ChunkHook>,
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
            keyless_max_bytes: 1 << 30,
            conflict: ConflictPolicy::Error,
            snapshot: SnapshotMode::Auto,
            server_id: 0x7d75_0002,
            locked_read_max_bytes: 64 << 20,
            after_chunk_read: None,
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
