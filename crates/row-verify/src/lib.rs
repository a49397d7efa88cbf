//! Exact data verification: is every selected row on the target, byte for
//! byte, and nothing else?
//!
//! What it does: compares tables between a source and a target server, as a
//! [`bulk_copy::TableMapping`] maps them (renames, column subsets, filters),
//! in key ranges hashed by both servers at once; only ranges whose hashes
//! differ are read and compared value by value, and each difference is
//! reported with its key and columns ([`VerifyReport`]). Online, while
//! incremental migration runs, differences are re-checked at exact binlog
//! positions before they are reported; on request it writes the statements
//! that make the target equal ([`RepairSink`]).
//!
//! What it deliberately does not do: copy or apply anything (that is
//! `bulk-copy`, whose base it builds on: sessions, table metadata, keyset
//! ranges, the filter check, throttle, progress and the error type), decide
//! what to compare (that is `dts-core`), or judge a difference by a hash
//! alone: a hash only says where to look.
//!
//! ```
//! # use dts_test_support::{opts, Server, TestDatabases};
//! use bulk_copy::TableMapping;
//! use row_verify::{verify_tables, VerifyOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), bulk_copy::CopyError> {
//! # let dbs = TestDatabases::new("row_verify_doc").await;
//! # let db = dbs.name.as_str();
//! # let (source, target) = (opts(Server::Source, None), opts(Server::Target, None));
//! # for (server, v) in [(Server::Source, "one"), (Server::Target, "One")] {
//! #     dbs.exec(server, &format!("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(9));
//! #         INSERT INTO t VALUES (1, '{v}'), (2, 'two')")).await;
//! # }
//! // `source` and `target` are `mysql_async::Opts`; `db`.`t` is on both.
//! let report = verify_tables(
//!     &source,
//!     &target,
//!     &[TableMapping::same(db, "t")],
//!     &VerifyOptions::default(),
//! )
//! .await?;
//! let t = &report.tables[0];
//! // 'one' and 'One' are equal in a _ci collation, not in bytes.
//! assert_eq!((t.source_rows, t.different, t.missing, t.extra), (2, 1, 0, 0));
//! assert_eq!(t.differences[0].columns, ["v"]);
//! # dbs.cleanup().await;
//! # Ok(())
//! # }
//! ```
//!
//! **Chunks.** A table with a usable key (the primary key, or a unique key on
//! NOT NULL columns, as the copy uses; see [`bulk_copy::base::meta`]) is compared in
//! key ranges, never with OFFSET. A single integer key is split
//! arithmetically between the smallest and largest key of either side, so
//! no pass over the keys is needed; other keys get their boundaries from a
//! keyset walk over the source's key (`key > last ORDER BY key LIMIT n`,
//! keys only). The first and last ranges are open, so target rows beyond
//! the source's keys are inside a range too. Ranges are spread over
//! [`VerifyOptions::parallel`] workers, each with a connection to both
//! servers, and each range is hashed by both servers at once.
//!
//! **Hashes.** Each server hashes an exact, unambiguous encoding of its own
//! rows (see `hash.rs`): a collation's equal bytes, trailing spaces, a
//! FLOAT's last bit and JSON key order all change it. When two hashes
//! differ, the rows of that range are read from both sides through the
//! binary protocol and compared value by value in the client, and each
//! difference is reported with its key and the differing columns. A large
//! integer range whose hashes differ is split and hashed again before any
//! row is read, so the memory for rows stays near
//! [`VerifyOptions::chunk_bytes`] per side.
//!
//! **No key.** A table without a usable key (or whose compared columns leave
//! the key out) is compared as a multiset of rows: one hash over the table,
//! then, if it differs, both servers group their rows by a 128-bit digest
//! of the encoding, in digest order, and the two streams are merged; rows
//! whose counts differ are reported with their values and counts.
//!
//! **Online.** While incremental migration runs, the two sides of a range
//! are read at slightly different moments, so rows changing in flight differ.
//! With [`VerifyOptions::online`], a difference is only a candidate: after
//! the pass, the candidates' source rows are read inside a consistent
//! snapshot whose binlog position `P` is known exactly (MariaDB's
//! `binlog_snapshot_file/position`; elsewhere the binlog status, with the
//! statement the version takes, before and after starting the snapshot, when
//! they agree), the verifier waits until
//! the target has applied past `P` ([`AppliedPosition`]) and reads the
//! target's rows at once. A row equal on both sides is cleared. A difference
//! is confirmed only when [`OnlineOptions::confirmations`] attempts in a row
//! saw the same source and target rows, and the source's current row is not
//! the target's: the target is read a little past `P`, so a row the source
//! changed in between differs once, has usually reached the target's row on
//! the source, and is seen equal, or differently different, on the next
//! attempt. Without a position
//! to wait for, the verifier waits [`OnlineOptions::delay`] instead (which
//! must exceed the lag) and also re-reads the source: a row it changed
//! meanwhile is in flight. After [`OnlineOptions::rechecks`] attempts, rows
//! still changing are reported as unsettled, never as differences.
//!
//! **Renames, column subsets, filters.** [`TableMapping`] says which columns are
//! compared under which names and which rows: the filter is checked by
//! [`bulk_copy::base::filter::validate_filter`] and applied on both sides (with the
//! target's column names).
//!
//! **Repair.** With [`VerifyOptions::repair`], the statements that make the
//! target's differing rows equal to the source's go to a [`RepairSink`]:
//! [`CollectRepair`] keeps them (to print), [`ApplyRepair`] applies them.
//!
//! **Throttle and sampling.** [`VerifyOptions::throttle`]'s rows-per-second
//! limit counts the rows hashed or read on the busier side;
//! [`VerifyOptions::sample_percent`] compares a random share of each table's
//! key ranges (a table without a key is always compared whole).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, Value};
use tokio::sync::mpsc;

use binlog_reader::position::FilePosition;

use bulk_copy::base::error::dialect_err;
use bulk_copy::base::error::{db_err, CopyError};
use bulk_copy::base::filter::{rename_filter_columns, validate_filter};
use bulk_copy::base::keyset::{key_param, range_condition_with, split, KeyBound};
use bulk_copy::base::mapping::TableMapping;
use bulk_copy::base::meta::{load_table_meta_on, KeyStrategy, TableMeta};
use bulk_copy::base::progress::{Progress, TableState};
use bulk_copy::base::session::{connect, connect_reading};
use bulk_copy::base::throttle::Throttle;
use server_dialect::{quote, ServerVersion};

mod hash;
mod multiset;
mod online;
mod repair;
mod report;
mod rows;

use hash::HashColumn;
use repair::TargetColumn;
pub use repair::{
    ApplyRepair, CollectRepair, RepairSink, RepairStatement, SESSION as REPAIR_SESSION,
};
pub use report::{
    CompareMethod, Difference, DifferenceKind, RowKey, TableVerifyReport, VerifyReport,
    REPORT_SCHEMA_VERSION,
};
use rows::RowDiff;

/// Tells online verification how far the target has applied the source's
/// binlog: dts-core answers from the CDC checkpoint on the target; a test
/// with native replication answers from the replica's status (the
/// statement its version takes: server-dialect's
/// `Dialect::replica_status_statement`).
pub trait AppliedPosition: Send + Sync {
    /// Whether every source change up to `pos` is applied on the target.
    ///
    /// # Errors
    ///
    /// When the position cannot be read; the verification stops with it.
    fn applied_past<'a>(&'a self, pos: &'a FilePosition) -> BoxFuture<'a, Result<bool, CopyError>>;
}

/// How online verification re-checks candidate differences.
#[derive(Clone)]
pub struct OnlineOptions {
    /// Re-checks of a row that keeps changing before it is reported as
    /// unsettled.
    pub rechecks: u32,
    /// Attempts in a row that must see the same stable difference before it
    /// is reported (at least 1).
    pub confirmations: u32,
    /// Without [`OnlineOptions::applied`]: how long to wait before reading
    /// the target again. It must exceed the replication lag: a row whose
    /// change is still in flight after it is reported as different.
    pub delay: Duration,
    /// How far the target has applied; when set, the verifier waits until
    /// the target is past the source position read after the source rows,
    /// instead of for [`OnlineOptions::delay`].
    pub applied: Option<Arc<dyn AppliedPosition>>,
    /// How long to wait for [`OnlineOptions::applied`] before stopping with
    /// an error.
    pub wait_timeout: Duration,
}

impl Default for OnlineOptions {
    fn default() -> Self {
        OnlineOptions {
            rechecks: 10,
            confirmations: 2,
            delay: Duration::from_secs(3),
            applied: None,
            wait_timeout: Duration::from_secs(300),
        }
    }
}

impl std::fmt::Debug for OnlineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnlineOptions")
            .field("rechecks", &self.rechecks)
            .field("confirmations", &self.confirmations)
            .field("delay", &self.delay)
            .field("applied", &self.applied.is_some())
            .field("wait_timeout", &self.wait_timeout)
            .finish()
    }
}

/// How to verify.
#[derive(Clone)]
pub struct VerifyOptions {
    /// Workers, each with one connection to each server.
    pub parallel: usize,
    /// Rows per key range at most.
    pub chunk_rows: usize,
    /// Bytes per key range aimed at: a range's rows are this divided by the
    /// table's average row length, at most `chunk_rows`. Rows of a differing
    /// range are held in memory, so this bounds memory per worker and side.
    pub chunk_bytes: usize,
    /// Compare only this percentage of each table's key ranges, chosen at
    /// random; `None` compares all.
    pub sample_percent: Option<f64>,
    /// The seed of the sample's choice (the same seed picks the same ranges).
    pub sample_seed: u64,
    /// Differences listed per table at most; the totals are always exact.
    pub max_listed: usize,
    /// Re-check candidate differences while incremental migration runs.
    pub online: Option<OnlineOptions>,
    /// Where repair statements go; `None` makes none.
    pub repair: Option<Arc<dyn RepairSink>>,
    /// Rate limits (rows per second counts rows hashed or read).
    pub throttle: Throttle,
    /// Progress, readable while the verification runs.
    pub progress: Progress,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            parallel: 4,
            chunk_rows: 100_000,
            chunk_bytes: 16 << 20,
            sample_percent: None,
            sample_seed: 0,
            max_listed: 100,
            online: None,
            repair: None,
            throttle: Throttle::default(),
            progress: Progress::default(),
        }
    }
}

impl std::fmt::Debug for VerifyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("parallel", &self.parallel)
            .field("chunk_rows", &self.chunk_rows)
            .field("chunk_bytes", &self.chunk_bytes)
            .field("sample_percent", &self.sample_percent)
            .field("sample_seed", &self.sample_seed)
            .field("max_listed", &self.max_listed)
            .field("online", &self.online)
            .field("repair", &self.repair.is_some())
            .field("throttle", &self.throttle)
            .finish_non_exhaustive()
    }
}

/// One table as one server has it.
struct Side {
    /// `db`.`table`, quoted.
    table: String,
    /// The compared columns, in order.
    cols: Vec<HashColumn>,
    /// `SELECT cols FROM table`.
    select: String,
    /// The row encoding.
    expr: String,
    /// The row filter, with this side's column names.
    filter: Option<String>,
    /// The key columns, quoted.
    key_names: Vec<String>,
    /// How each key column's bound is sent (`keyset::key_param`): in the
    /// column's type, character set and collation.
    key_params: Vec<KeyBound>,
}

impl Side {
    fn order_by(&self) -> String {
        format!(" ORDER BY {}", self.key_names.join(", "))
    }
}

/// A table, resolved on both servers.
struct Prepared {
    index: usize,
    src: Side,
    tgt: Side,
    /// Source names of the compared columns.
    names: Vec<String>,
    /// Indexes of the key columns among the compared ones; empty for a
    /// multiset.
    key: Vec<usize>,
    integer_key: bool,
    chunk_rows: usize,
    target_cols: Vec<TargetColumn>,
    estimated_rows: u64,
}

impl Prepared {
    fn row_key(&self, row: &[Value]) -> RowKey {
        let idx: Vec<usize> = if self.key.is_empty() {
            (0..self.names.len()).collect()
        } else {
            self.key.clone()
        };
        RowKey {
            columns: idx.iter().map(|&i| self.names[i].clone()).collect(),
            values: idx
                .iter()
                .map(|&i| row.get(i).cloned().unwrap_or(Value::NULL))
                .collect(),
        }
    }
}

/// A table's results so far.
#[derive(Default)]
struct Acc {
    report: Option<TableVerifyReport>,
    /// Online: keys (values of the key columns) of candidate differences.
    pending: Vec<Vec<Value>>,
}

struct Shared {
    options: VerifyOptions,
    /// The source's version, read once for online re-checks (which read its
    /// binlog status).
    source_version: Option<ServerVersion>,
    acc: Mutex<Vec<Acc>>,
    failed: AtomicBool,
}

impl Shared {
    fn with<R>(
        &self,
        t: usize,
        f: impl FnOnce(&mut TableVerifyReport, &mut Vec<Vec<Value>>) -> R,
    ) -> Option<R> {
        let mut acc = self.acc.lock().unwrap_or_else(|e| e.into_inner());
        let a = acc.get_mut(t)?;
        let Acc { report, pending } = a;
        report.as_mut().map(|r| f(r, pending))
    }
}

enum Work {
    Range {
        p: Arc<Prepared>,
        after: Option<Vec<Value>>,
        hi: Option<Vec<Value>>,
    },
    Multiset {
        p: Arc<Prepared>,
    },
}

/// Compares `tables` on `source` and `target`. See the module documentation.
///
/// # Errors
///
/// A [`CopyError`] when a table cannot be compared (it is missing, a
/// listed column does not exist, the filter is refused), a query fails, a
/// repair fails, or, online, the target does not apply past a position in
/// time. Differences are not errors: they are in the report.
pub async fn verify_tables(
    source: &Opts,
    target: &Opts,
    tables: &[TableMapping],
    options: &VerifyOptions,
) -> Result<VerifyReport, CopyError> {
    let mut src = connect(source, "source").await?;
    let mut tgt = connect_reading(target, "target").await?;
    let source_version = match options.online {
        Some(_) => Some(
            server_dialect::server_version(&mut src)
                .await
                .map_err(dialect_err("source"))?,
        ),
        None => None,
    };
    let shared = Arc::new(Shared {
        options: options.clone(),
        source_version,
        acc: Mutex::new((0..tables.len()).map(|_| Acc::default()).collect()),
        failed: AtomicBool::new(false),
    });
    options.progress.start(
        tables
            .iter()
            .map(|t| format!("{}.{}", quote(&t.target_db), quote(&t.target_table)))
            .collect(),
    );
    let parallel = options.parallel.max(1);
    let (tx, rx) = mpsc::channel::<Work>(parallel * 2);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let mut workers = Vec::new();
    for _ in 0..parallel {
        let (shared, rx) = (shared.clone(), rx.clone());
        let (source, target) = (source.clone(), target.clone());
        workers.push(tokio::spawn(async move {
            let mut pair: Option<(Conn, Conn)> = None;
            loop {
                let work = rx.lock().await.recv().await;
                let Some(work) = work else { break };
                if shared.failed.load(Ordering::SeqCst) {
                    continue;
                }
                if pair.is_none() {
                    let s = connect(&source, "source").await;
                    let t = connect_reading(&target, "target").await;
                    match (s, t) {
                        (Ok(s), Ok(t)) => pair = Some((s, t)),
                        (Err(e), _) | (_, Err(e)) => {
                            shared.failed.store(true, Ordering::SeqCst);
                            return Err(e);
                        }
                    }
                }
                let Some((s, t)) = pair.as_mut() else { break };
                let r = match work {
                    Work::Range { p, after, hi } => range(s, t, &shared, &p, after, hi).await,
                    Work::Multiset { p } => multiset::multiset(s, t, &shared, &p).await,
                };
                if let Err(e) = r {
                    shared.failed.store(true, Ordering::SeqCst);
                    return Err(e);
                }
            }
            if let Some((s, t)) = pair {
                s.disconnect().await.ok();
                t.disconnect().await.ok();
            }
            Ok::<(), CopyError>(())
        }));
    }

    // Plan every table, feeding the workers as ranges are found.
    let mut prepared: Vec<Arc<Prepared>> = Vec::with_capacity(tables.len());
    let planned: Result<(), CopyError> = async {
        for (i, t) in tables.iter().enumerate() {
            let (p, report) = prepare(i, t, &mut src, &mut tgt, options).await?;
            let p = Arc::new(p);
            if let Some(a) = shared
                .acc
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_mut(i)
            {
                a.report = Some(report);
            }
            prepared.push(p.clone());
            options.progress.table_started(i, p.estimated_rows);
            plan(&mut src, &mut tgt, &shared, p, &tx).await?;
            if shared.failed.load(Ordering::SeqCst) {
                break;
            }
        }
        Ok(())
    }
    .await;
    drop(tx);
    let mut first_err = planned.err();
    if first_err.is_some() {
        shared.failed.store(true, Ordering::SeqCst);
    }
    for w in workers {
        match w.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(join) => {
                first_err.get_or_insert(CopyError::Internal(format!(
                    "a verification task stopped unexpectedly: {join}"
                )));
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    if let Some(online) = &options.online {
        online::recheck(&mut src, &mut tgt, &shared, &prepared, online).await?;
    }
    src.disconnect().await.ok();
    tgt.disconnect().await.ok();
    let mut acc = shared.acc.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = Vec::with_capacity(tables.len());
    for (i, a) in acc.iter_mut().enumerate() {
        options.progress.set_state(i, TableState::Finished);
        if let Some(r) = a.report.take() {
            out.push(r);
        }
    }
    Ok(VerifyReport { tables: out })
}

const INTEGER_TYPES: &[&str] = &[
    "tinyint",
    "smallint",
    "mediumint",
    "int",
    "integer",
    "bigint",
];

/// Character sets of a table's columns, by name.
async fn charsets(
    c: &mut Conn,
    server: &'static str,
    db: &str,
    table: &str,
) -> Result<HashMap<String, Option<String>>, CopyError> {
    let rows: Vec<(String, Option<String>)> = c
        .exec(
            "SELECT column_name, character_set_name FROM information_schema.columns
             WHERE table_schema = ? AND table_name = ?",
            (db, table),
        )
        .await
        .map_err(db_err(
            server,
            format!(
                "reading the character sets of {}.{}",
                quote(db),
                quote(table)
            ),
        ))?;
    Ok(rows
        .into_iter()
        .map(|(n, cs)| (n.to_lowercase(), cs))
        .collect())
}

async fn prepare(
    index: usize,
    t: &TableMapping,
    src: &mut Conn,
    tgt: &mut Conn,
    options: &VerifyOptions,
) -> Result<(Prepared, TableVerifyReport), CopyError> {
    let sm: TableMeta = load_table_meta_on(src, &t.source_db, &t.source_table, "source").await?;
    let tm: TableMeta = load_table_meta_on(tgt, &t.target_db, &t.target_table, "target").await?;
    let source = sm.quoted();
    let target = tm.quoted();
    let err = |reason: String| CopyError::Table {
        table: source.clone(),
        reason,
    };
    // (source column index, target column name)
    let mut compared: Vec<(usize, String)> = Vec::new();
    match &t.columns {
        None => compared.extend(sm.written().map(|(i, c)| (i, c.name.clone()))),
        Some(list) => {
            if list.is_empty() {
                return Err(err(
                    "its column list is empty; list at least one column".into()
                ));
            }
            for m in list {
                let i = sm
                    .columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(&m.source))
                    .ok_or_else(|| {
                        err(format!(
                            "the column {} in its column list does not exist on the source",
                            quote(&m.source)
                        ))
                    })?;
                if sm.columns[i].generated {
                    return Err(err(format!(
                        "the column {} is generated: it is not copied, so it is not compared; \
                         leave it out of the column list",
                        quote(&m.source)
                    )));
                }
                if compared.iter().any(|(j, _)| *j == i) {
                    return Err(err(format!(
                        "the column {} is listed twice",
                        quote(&m.source)
                    )));
                }
                compared.push((i, m.target.clone()));
            }
        }
    }
    let scs = charsets(src, "source", &t.source_db, &t.source_table).await?;
    let tcs = charsets(tgt, "target", &t.target_db, &t.target_table).await?;
    let mut src_cols = Vec::new();
    let mut tgt_cols = Vec::new();
    for (i, tname) in &compared {
        let sc = &sm.columns[*i];
        let tc = tm
            .columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(tname))
            .ok_or_else(|| {
                err(format!(
                    "the column {} does not exist on the target table {target}",
                    quote(tname)
                ))
            })?;
        src_cols.push(HashColumn {
            quoted: quote(&sc.name),
            meta: sc.clone(),
            charset: scs.get(&sc.name.to_lowercase()).cloned().flatten(),
        });
        tgt_cols.push(HashColumn {
            quoted: quote(&tc.name),
            meta: tc.clone(),
            charset: tcs.get(&tc.name.to_lowercase()).cloned().flatten(),
        });
    }
    let names: Vec<String> = compared
        .iter()
        .map(|(i, _)| sm.columns[*i].name.clone())
        .collect();
    let mut notes = Vec::new();
    let key: Vec<usize> = match &sm.key {
        KeyStrategy::Keyset(k) => {
            let pos: Option<Vec<usize>> = k
                .iter()
                .map(|ki| compared.iter().position(|(i, _)| i == ki))
                .collect();
            match pos {
                Some(p) => p,
                None => {
                    notes.push(
                        "the compared columns leave out the key, so rows are compared as a \
                         multiset"
                            .to_string(),
                    );
                    Vec::new()
                }
            }
        }
        KeyStrategy::FullScan => Vec::new(),
    };
    let integer_key =
        key.len() == 1 && INTEGER_TYPES.contains(&src_cols[key[0]].meta.data_type.as_str());
    if !key.is_empty() {
        let wanted: Vec<String> = key
            .iter()
            .map(|&k| tgt_cols[k].meta.name.to_lowercase())
            .collect();
        let indexed = match &tm.key {
            KeyStrategy::Keyset(tk) => {
                tk.iter()
                    .map(|&i| tm.columns[i].name.to_lowercase())
                    .collect::<Vec<_>>()
                    == wanted
            }
            KeyStrategy::FullScan => false,
        };
        if !indexed {
            notes.push(format!(
                "the target table has no primary or unique key on ({}), so every range read \
                 on it scans the table",
                wanted.join(", ")
            ));
        }
    }
    let (src_filter, tgt_filter) = match &t.filter {
        None => (None, None),
        Some(f) => {
            let all: Vec<String> = sm.columns.iter().map(|c| c.name.clone()).collect();
            let checked = validate_filter(f, &all).map_err(|e| err(e.to_string()))?;
            let renames: Vec<(String, String)> = compared
                .iter()
                .map(|(i, tn)| (sm.columns[*i].name.clone(), tn.clone()))
                .collect();
            let on_target =
                rename_filter_columns(&checked, &all, &renames).map_err(|e| err(e.to_string()))?;
            if on_target.is_none() {
                notes.push(
                    "the filter names columns the target does not have, so every target row is \
                     compared"
                        .to_string(),
                );
            }
            (Some(checked), on_target)
        }
    };
    let side = |table: String, cols: Vec<HashColumn>, filter: Option<String>| {
        let list: Vec<&str> = cols.iter().map(|c| c.quoted.as_str()).collect();
        Side {
            select: format!("SELECT {} FROM {table}", list.join(", ")),
            expr: hash::row_expr(&cols),
            key_names: key.iter().map(|&k| cols[k].quoted.clone()).collect(),
            key_params: key.iter().map(|&k| key_param(&cols[k].meta)).collect(),
            table,
            cols,
            filter,
        }
    };
    let target_cols: Vec<TargetColumn> = tgt_cols
        .iter()
        .map(|c| TargetColumn {
            quoted: c.quoted.clone(),
            meta: c.meta.clone(),
            charset: c.charset.clone(),
        })
        .collect();
    let width = sm.avg_row_length.max(1);
    // By bytes: a chunk of 16 MB rows is one row (a range that differs is
    // read row by row into memory).
    let chunk_rows =
        (options.chunk_bytes as u64 / width).clamp(1, options.chunk_rows.max(1) as u64) as usize;
    let method = if key.is_empty() {
        CompareMethod::Multiset
    } else {
        CompareMethod::Keyed(key.iter().map(|&k| names[k].clone()).collect())
    };
    let report = TableVerifyReport {
        source: source.clone(),
        target: target.clone(),
        method,
        source_rows: 0,
        target_rows: 0,
        chunks: 0,
        chunks_compared: 0,
        chunks_differing: 0,
        missing: 0,
        extra: 0,
        different: 0,
        unsettled: 0,
        rechecked: 0,
        differences: Vec::new(),
        repair_statements: 0,
        notes,
    };
    let p = Prepared {
        index,
        src: side(source, src_cols, src_filter),
        tgt: side(target, tgt_cols, tgt_filter),
        names,
        key,
        integer_key,
        chunk_rows,
        target_cols,
        estimated_rows: sm.estimated_rows.max(tm.estimated_rows),
    };
    Ok((p, report))
}

/// Whether the sample takes range `n` of table `t` (splitmix64 of the seed,
/// the table and the range, against the percentage).
fn sampled(options: &VerifyOptions, t: usize, n: u64) -> bool {
    let Some(pct) = options.sample_percent else {
        return true;
    };
    if pct >= 100.0 {
        return true;
    }
    let mut z = options
        .sample_seed
        .wrapping_add((t as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(n.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z as f64 / u64::MAX as f64) * 100.0 < pct
}

fn as_i128(v: &Value) -> Option<i128> {
    match v {
        Value::Int(i) => Some(i128::from(*i)),
        Value::UInt(u) => Some(i128::from(*u)),
        Value::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

/// The smaller (`want` Less) or larger of two optional integer values.
fn pick(a: Value, b: Value, want: std::cmp::Ordering) -> Value {
    match (as_i128(&a), as_i128(&b)) {
        (Some(x), Some(y)) if y.cmp(&x) == want => b,
        (None, Some(_)) => b,
        _ => a,
    }
}

/// `MIN(key)`, `MAX(key)` on one side, within `cond`.
async fn key_bounds(
    c: &mut Conn,
    side: &Side,
    server: &'static str,
    cond: &str,
    params: Vec<Value>,
) -> Result<(Value, Value), CopyError> {
    let k = &side.key_names[0];
    let row: Option<(Value, Value)> = c
        .exec_first(
            format!("SELECT MIN({k}), MAX({k}) FROM {}{cond}", side.table),
            params,
        )
        .await
        .map_err(db_err(
            server,
            format!("reading the key range of {}", side.table),
        ))?;
    Ok(row.unwrap_or((Value::NULL, Value::NULL)))
}

/// Sends a table's ranges (or its one multiset unit) to the workers.
async fn plan(
    src: &mut Conn,
    tgt: &mut Conn,
    shared: &Shared,
    p: Arc<Prepared>,
    tx: &mpsc::Sender<Work>,
) -> Result<(), CopyError> {
    let options = &shared.options;
    let t = p.index;
    let count = |n: u64, taken: bool| {
        shared.with(t, |r, _| {
            r.chunks += n;
            if taken {
                r.chunks_compared += n;
            }
        });
    };
    if p.key.is_empty() {
        count(1, true);
        tx.send(Work::Multiset { p }).await.ok();
        return Ok(());
    }
    let mut n: u64 = 0;
    let mut emit = async |after: Option<Vec<Value>>, hi: Option<Vec<Value>>| {
        let take = sampled(options, t, n);
        n += 1;
        count(1, take);
        if take {
            tx.send(Work::Range {
                p: p.clone(),
                after,
                hi,
            })
            .await
            .ok();
        }
    };
    if p.integer_key {
        let ((smin, smax), (tmin, tmax)) = tokio::try_join!(
            key_bounds(src, &p.src, "source", "", Vec::new()),
            key_bounds(tgt, &p.tgt, "target", "", Vec::new())
        )?;
        let lo = pick(smin, tmin, std::cmp::Ordering::Less);
        let hi = pick(smax, tmax, std::cmp::Ordering::Greater);
        let pieces = p
            .estimated_rows
            .div_ceil(p.chunk_rows as u64)
            .clamp(1, 1_000_000);
        let bounds = split(Some(lo), Some(hi), pieces);
        let mut after: Option<Vec<Value>> = None;
        for b in bounds {
            let hi = Some(vec![b]);
            emit(after, hi.clone()).await;
            after = hi;
        }
        emit(after, None).await;
        return Ok(());
    }
    // Boundaries from a keyset walk over the source's key.
    let keys = p.src.key_names.join(", ");
    let mut last: Option<Vec<Value>> = None;
    loop {
        if shared.failed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let (cond, params) = range_condition_with(
            &p.src.key_names,
            &p.src.key_params,
            p.src.filter.as_deref(),
            last.as_deref(),
            None,
        );
        let sql = format!(
            "SELECT {keys} FROM {}{cond} ORDER BY {keys} LIMIT {}",
            p.src.table, p.chunk_rows
        );
        let rows = rows::fetch(src, &sql, params, "source", &p.src.table).await?;
        if rows.len() < p.chunk_rows {
            emit(last, None).await;
            return Ok(());
        }
        let b = rows.into_iter().next_back();
        emit(last, b.clone()).await;
        last = b;
    }
}

/// `COUNT(*)` and the hash of one side's rows within `cond`.
async fn side_hash(
    c: &mut Conn,
    side: &Side,
    server: &'static str,
    cond: &str,
    params: Vec<Value>,
    agg: hash::Aggregate,
) -> Result<(u64, Vec<u8>), CopyError> {
    let row: Option<(u64, Vec<u8>)> = c
        .exec_first(
            hash::chunk_hash_sql(&side.table, &side.expr, cond, agg),
            params,
        )
        .await
        .map_err(db_err(server, format!("hashing rows of {}", side.table)))?;
    Ok(row.unwrap_or_default())
}

/// Compares one key range: hashes, then (split or) rows.
async fn range(
    src: &mut Conn,
    tgt: &mut Conn,
    shared: &Shared,
    p: &Prepared,
    after: Option<Vec<Value>>,
    hi: Option<Vec<Value>>,
) -> Result<(), CopyError> {
    let options = &shared.options;
    let mut stack = vec![(after, hi, true)];
    while let Some((after, hi, top)) = stack.pop() {
        if shared.failed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let (sc, sp) = range_condition_with(
            &p.src.key_names,
            &p.src.key_params,
            p.src.filter.as_deref(),
            after.as_deref(),
            hi.as_deref(),
        );
        let (tc, tp) = range_condition_with(
            &p.tgt.key_names,
            &p.tgt.key_params,
            p.tgt.filter.as_deref(),
            after.as_deref(),
            hi.as_deref(),
        );
        let ((sn, sh), (tn, th)) = tokio::try_join!(
            side_hash(src, &p.src, "source", &sc, sp.clone(), hash::Aggregate::Xor),
            side_hash(tgt, &p.tgt, "target", &tc, tp.clone(), hash::Aggregate::Xor)
        )?;
        options.throttle.acquire(1, sn.max(tn), 0).await;
        if top {
            options.progress.committed(p.index, sn, 0);
            shared.with(p.index, |r, _| {
                r.source_rows += sn;
                r.target_rows += tn;
            });
        }
        if sn == tn && sh == th {
            continue;
        }
        if top {
            shared.with(p.index, |r, _| r.chunks_differing += 1);
        }
        if p.integer_key && sn.max(tn) > 2 * p.chunk_rows as u64 {
            let ((smin, smax), (tmin, tmax)) = tokio::try_join!(
                key_bounds(src, &p.src, "source", &sc, sp.clone()),
                key_bounds(tgt, &p.tgt, "target", &tc, tp.clone())
            )?;
            let lo = pick(smin, tmin, std::cmp::Ordering::Less);
            let hi_v = pick(smax, tmax, std::cmp::Ordering::Greater);
            let pieces = sn.max(tn).div_ceil(p.chunk_rows as u64) + 1;
            let bounds = split(Some(lo), Some(hi_v), pieces);
            if !bounds.is_empty() {
                let mut lower = after;
                for b in bounds {
                    let upper = Some(vec![b]);
                    stack.push((lower, upper.clone(), false));
                    lower = upper;
                }
                stack.push((lower, hi, false));
                continue;
            }
        }
        let sql_s = format!("{}{sc}{}", p.src.select, p.src.order_by());
        let sql_t = format!("{}{tc}{}", p.tgt.select, p.tgt.order_by());
        let (srows, trows) = tokio::try_join!(
            rows::fetch(src, &sql_s, sp, "source", &p.src.table),
            rows::fetch(tgt, &sql_t, tp, "target", &p.tgt.table)
        )?;
        options
            .throttle
            .acquire(2, srows.len().max(trows.len()) as u64, 0)
            .await;
        let diffs = rows::diff(srows, trows, &p.key);
        if options.online.is_some() {
            shared.with(p.index, |_, pending| {
                pending.extend(
                    diffs
                        .iter()
                        .map(|d| p.key.iter().map(|&k| d.row()[k].clone()).collect()),
                )
            });
        } else {
            record(shared, p, diffs).await?;
        }
    }
    Ok(())
}

/// Counts and lists confirmed differences of a keyed table and sends their
/// repair.
async fn record(shared: &Shared, p: &Prepared, diffs: Vec<RowDiff>) -> Result<(), CopyError> {
    if diffs.is_empty() {
        return Ok(());
    }
    let options = &shared.options;
    let repair = options.repair.is_some();
    let (mut deletes, mut updates, mut inserts) = (Vec::new(), Vec::new(), Vec::new());
    shared.with(p.index, |r, _| {
        for d in &diffs {
            let (kind, columns) = match d {
                RowDiff::Missing(_) => {
                    r.missing += 1;
                    (DifferenceKind::MissingOnTarget, Vec::new())
                }
                RowDiff::Extra(_) => {
                    r.extra += 1;
                    (DifferenceKind::ExtraOnTarget, Vec::new())
                }
                RowDiff::Different(_, _, cols) => {
                    r.different += 1;
                    (
                        DifferenceKind::Different,
                        cols.iter().map(|&i| p.names[i].clone()).collect(),
                    )
                }
            };
            if r.differences.len() < options.max_listed {
                r.differences.push(Difference {
                    kind,
                    key: p.row_key(d.row()),
                    columns,
                    count: 1,
                });
            }
        }
    });
    if !repair {
        return Ok(());
    }
    for d in &diffs {
        match d {
            RowDiff::Extra(t) => {
                deletes.push(repair::delete(&p.tgt.table, &p.target_cols, &p.key, t))
            }
            RowDiff::Different(s, _, cols) => updates.push(repair::update(
                &p.tgt.table,
                &p.target_cols,
                &p.key,
                s,
                cols,
            )),
            RowDiff::Missing(s) => inserts.push(repair::insert(&p.tgt.table, &p.target_cols, s)),
        }
    }
    let mut all = deletes;
    all.append(&mut updates);
    all.append(&mut inserts);
    send_repair(shared, p, all).await
}

async fn send_repair(
    shared: &Shared,
    p: &Prepared,
    st: Vec<RepairStatement>,
) -> Result<(), CopyError> {
    let Some(sink) = &shared.options.repair else {
        return Ok(());
    };
    if st.is_empty() {
        return Ok(());
    }
    let n = st.len() as u64;
    sink.repair(&p.tgt.table, st).await?;
    shared.with(p.index, |r, _| r.repair_statements += n);
    Ok(())
}
