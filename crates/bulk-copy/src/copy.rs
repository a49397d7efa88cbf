//! The full copy: tables read inside consistent snapshots, in keyset chunks,
//! over several connections, and written with `LOAD DATA LOCAL INFILE` fed
//! from memory.
//!
//! Snapshot and position (MariaDB): each reader connection runs `START
//! TRANSACTION WITH CONSISTENT SNAPSHOT` and reads `binlog_snapshot_file` /
//! `binlog_snapshot_position`, the binlog position its snapshot is consistent
//! with, without any global lock. Readers may see different positions: the
//! report gives the lowest, where incremental migration must start, and the
//! highest, where its overlap window ends (changes between the two are
//! applied idempotently; design rule 8).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, Row, Value};

use binlog_reader::position::FilePosition;

use crate::encode;
use crate::error::{db_err, CopyError};
use crate::meta::{load_table_meta, quote, KeyStrategy, TableMeta};

/// One table to copy, and where to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyTable {
    /// The source database.
    pub source_db: String,
    /// The source table.
    pub source_table: String,
    /// The target database.
    pub target_db: String,
    /// The target table (it must exist, empty or not).
    pub target_table: String,
}

impl CopyTable {
    /// A table copied under the same names.
    pub fn same(db: &str, table: &str) -> Self {
        CopyTable {
            source_db: db.into(),
            source_table: table.into(),
            target_db: db.into(),
            target_table: table.into(),
        }
    }
}

/// How to copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyOptions {
    /// Reader connections (each with its own snapshot and its own writer
    /// connection); tables are spread over them.
    pub readers: usize,
    /// Rows per keyset chunk.
    pub chunk_rows: usize,
    /// Bytes of LOAD DATA text sent per load at most.
    pub load_bytes: usize,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            readers: 4,
            chunk_rows: 20_000,
            load_bytes: 4 << 20,
        }
    }
}

/// What one table's copy did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableReport {
    /// The source table, quoted.
    pub table: String,
    /// How it was read.
    pub strategy: KeyStrategy,
    /// Rows copied.
    pub rows: u64,
    /// Bytes of LOAD DATA text sent.
    pub bytes: u64,
    /// Keyset chunks read.
    pub chunks: u64,
}

/// What the copy did, and where incremental migration starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    /// The lowest snapshot position: incremental migration starts here.
    pub start: FilePosition,
    /// The highest snapshot position, when the readers' snapshots differed:
    /// changes up to here must be applied idempotently.
    pub overlap_end: Option<FilePosition>,
    /// One report per table, in the order given.
    pub tables: Vec<TableReport>,
}

const SESSION: &str = "SET NAMES utf8mb4, character_set_results = NULL, time_zone = '+00:00'";

async fn connect(opts: &Opts, server: &'static str) -> Result<Conn, CopyError> {
    let mut c = Conn::new(opts.clone())
        .await
        .map_err(db_err(server, "connecting"))?;
    c.query_drop(SESSION)
        .await
        .map_err(db_err(server, "setting the session"))?;
    Ok(c)
}

/// Opens a reader with a consistent snapshot, and returns the binlog
/// position the snapshot is consistent with.
async fn snapshot_reader(opts: &Opts) -> Result<(Conn, FilePosition), CopyError> {
    let mut c = connect(opts, "source").await?;
    c.query_drop(
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ; \
         START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
    )
    .await
    .map_err(db_err("source", "starting a consistent snapshot"))?;
    let status: Vec<(String, String)> = c
        .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
        .await
        .map_err(db_err("source", "reading binlog_snapshot_file/position"))?;
    let get = |n: &str| {
        status
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    match (get("binlog_snapshot_file"), get("binlog_snapshot_position")) {
        (Some(file), Some(pos)) if !file.is_empty() => {
            let offset = pos.parse().map_err(|_| CopyError::Table {
                table: String::new(),
                reason: format!(
                    "the source reported binlog_snapshot_position {pos:?}, not a number"
                ),
            })?;
            Ok((c, FilePosition::new(file, offset)))
        }
        _ => Err(CopyError::Table {
            table: String::new(),
            reason:
                "the source does not report binlog_snapshot_file/position: it is not a MariaDB \
                     server with the binlog on. A consistent copy from MySQL (a brief FLUSH TABLES \
                     WITH READ LOCK) is not implemented yet."
                    .into(),
        }),
    }
}

/// Copies `tables` from `source` to `target`. See the module documentation.
///
/// # Errors
///
/// The first [`CopyError`] of any table; the other readers stop after their
/// current chunk.
pub async fn copy_tables(
    source: &Opts,
    target: &Opts,
    tables: &[CopyTable],
    options: &CopyOptions,
) -> Result<CopyReport, CopyError> {
    let readers = options.readers.clamp(1, tables.len().max(1));
    let mut conns = Vec::with_capacity(readers);
    let mut positions = Vec::with_capacity(readers);
    for _ in 0..readers {
        let (c, p) = snapshot_reader(source).await?;
        conns.push(c);
        positions.push(p);
    }
    let queue: Arc<Mutex<VecDeque<(usize, CopyTable)>>> =
        Arc::new(Mutex::new(tables.iter().cloned().enumerate().collect()));
    let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for mut src in conns {
        let queue = queue.clone();
        let failed = failed.clone();
        let target = target.clone();
        let options = options.clone();
        tasks.push(tokio::spawn(async move {
            let mut tgt = connect(&target, "target").await?;
            tgt.query_drop(
                "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', \
                 unique_checks = 0, foreign_key_checks = 0, max_error_count = 65535",
            )
            .await
            .map_err(db_err("target", "setting the load session"))?;
            let mut done = Vec::new();
            loop {
                if failed.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                let Some((i, t)) = next else { break };
                match copy_one(&mut src, &mut tgt, &t, &options).await {
                    Ok(r) => done.push((i, r)),
                    Err(e) => {
                        failed.store(true, std::sync::atomic::Ordering::SeqCst);
                        return Err(e);
                    }
                }
            }
            src.query_drop("COMMIT").await.ok();
            Ok::<_, CopyError>(done)
        }));
    }
    let mut reports: Vec<(usize, TableReport)> = Vec::new();
    let mut first_err = None;
    for t in tasks {
        match t.await {
            Ok(Ok(mut d)) => reports.append(&mut d),
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(join) => {
                first_err.get_or_insert(CopyError::Table {
                    table: String::new(),
                    reason: format!("a copy task stopped unexpectedly: {join}"),
                });
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    reports.sort_by_key(|(i, _)| *i);
    let start = lowest(&positions);
    let end = highest(&positions);
    Ok(CopyReport {
        overlap_end: (end != start).then_some(end),
        start,
        tables: reports.into_iter().map(|(_, r)| r).collect(),
    })
}

fn lowest(p: &[FilePosition]) -> FilePosition {
    let mut best = p
        .first()
        .cloned()
        .unwrap_or_else(|| FilePosition::new("", 4));
    for x in p {
        if x.partial_cmp(&best) == Some(std::cmp::Ordering::Less) {
            best = x.clone();
        }
    }
    best
}

fn highest(p: &[FilePosition]) -> FilePosition {
    let mut best = p
        .first()
        .cloned()
        .unwrap_or_else(|| FilePosition::new("", 4));
    for x in p {
        if x.partial_cmp(&best) == Some(std::cmp::Ordering::Greater) {
            best = x.clone();
        }
    }
    best
}

/// The LOAD DATA statement for a table: written columns in order, BIT
/// columns through user variables.
fn load_statement(meta: &TableMeta, t: &CopyTable) -> String {
    let mut cols = Vec::new();
    let mut sets = Vec::new();
    for (i, c) in meta.written() {
        if c.data_type == "bit" {
            cols.push(format!("@v{i}"));
            sets.push(format!("{} = CAST(@v{i} AS UNSIGNED)", quote(&c.name)));
        } else {
            cols.push(quote(&c.name));
        }
    }
    let mut s = format!(
        "LOAD DATA LOCAL INFILE 'dts-chunk' INTO TABLE {}.{} CHARACTER SET binary \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
        quote(&t.target_db),
        quote(&t.target_table),
        cols.join(", ")
    );
    if !sets.is_empty() {
        s.push_str(" SET ");
        s.push_str(&sets.join(", "));
    }
    s
}

/// Sends one buffer of rows with LOAD DATA in a transaction, and keeps it
/// only when the target warned about nothing but what is expected: storing
/// an ENUM's empty "error" value (index 0), which the servers always report
/// as "Data truncated" (1265) however it is written. `expected` lists those
/// (1-based row in this load, column).
async fn load(
    tgt: &mut Conn,
    stmt: &str,
    data: Vec<u8>,
    table: &str,
    expected: &[(u64, String)],
) -> Result<(), CopyError> {
    let bytes = Bytes::from(data);
    tgt.set_infile_handler(
        async move { Ok(futures::stream::iter(std::iter::once(Ok(bytes))).boxed()) },
    );
    tgt.query_drop("BEGIN")
        .await
        .map_err(db_err("target", format!("starting a load into {table}")))?;
    tgt.query_drop(stmt)
        .await
        .map_err(db_err("target", format!("loading rows into {table}")))?;
    let n = u64::from(tgt.get_warnings());
    if n > 0 {
        let w: Vec<(String, u32, String)> = tgt.query("SHOW WARNINGS").await.map_err(db_err(
            "target",
            format!("reading the warnings of a load into {table}"),
        ))?;
        let unexpected: Vec<String> = w
            .iter()
            .filter(|(_, code, msg)| {
                !(*code == 1265
                    && expected.iter().any(|(row, col)| {
                        *msg == format!("Data truncated for column '{col}' at row {row}")
                    }))
            })
            .map(|(l, c, m)| format!("{l} {c}: {m}"))
            .collect();
        if n != expected.len() as u64 || !unexpected.is_empty() {
            tgt.query_drop("ROLLBACK").await.ok();
            return Err(CopyError::LoadWarnings {
                table: table.to_string(),
                warnings: if unexpected.is_empty() {
                    format!("{n} warnings where {} were expected", expected.len())
                } else {
                    unexpected.join("; ")
                },
            });
        }
    }
    tgt.query_drop("COMMIT")
        .await
        .map_err(db_err("target", format!("committing a load into {table}")))?;
    Ok(())
}

async fn copy_one(
    src: &mut Conn,
    tgt: &mut Conn,
    t: &CopyTable,
    options: &CopyOptions,
) -> Result<TableReport, CopyError> {
    let meta = load_table_meta(src, &t.source_db, &t.source_table).await?;
    let table = meta.quoted();
    let stmt = load_statement(&meta, t);
    let written: Vec<usize> = meta.written().map(|(i, _)| i).collect();
    let select_cols: Vec<String> = written
        .iter()
        .map(|&i| quote(&meta.columns[i].name))
        .collect();
    let mut report = TableReport {
        table: table.clone(),
        strategy: meta.key.clone(),
        rows: 0,
        bytes: 0,
        chunks: 0,
    };
    let key: Vec<usize> = match &meta.key {
        KeyStrategy::Keyset(k) => k.clone(),
        KeyStrategy::FullScan => Vec::new(),
    };
    // Key columns are read too (they may be generated), after the written ones.
    let key_names: Vec<String> = key.iter().map(|&i| quote(&meta.columns[i].name)).collect();
    let mut all_cols = select_cols.clone();
    all_cols.extend(key_names.iter().cloned());
    let order = key_names.join(", ");
    let mut last_key: Option<Vec<Value>> = None;
    let mut buf = Vec::with_capacity(options.load_bytes.min(16 << 20) + 4096);
    let mut expected: Vec<(u64, String)> = Vec::new();
    let mut rows_in_load = 0u64;
    loop {
        let (sql, params) = if key.is_empty() {
            (
                format!("SELECT {} FROM {}", all_cols.join(", "), table),
                Vec::new(),
            )
        } else {
            let (cond, params) = match &last_key {
                None => (String::new(), Vec::new()),
                Some(k) => keyset_after(&key_names, k),
            };
            (
                format!(
                    "SELECT {} FROM {}{} ORDER BY {} LIMIT {}",
                    all_cols.join(", "),
                    table,
                    cond,
                    order,
                    options.chunk_rows
                ),
                params,
            )
        };
        let mut result = src
            .exec_iter(sql.as_str(), params)
            .await
            .map_err(db_err("source", format!("reading {table}")))?;
        let mut rows_in_chunk = 0u64;
        let mut last_row: Option<Row> = None;
        {
            let mut stream = result
                .stream::<Row>()
                .await
                .map_err(db_err("source", format!("reading {table}")))?
                .ok_or_else(|| CopyError::Table {
                    table: table.clone(),
                    reason: "the SELECT returned no result set".into(),
                })?;
            while let Some(row) = stream.next().await {
                let row = row.map_err(db_err("source", format!("reading {table}")))?;
                rows_in_load += 1;
                for (n, &ci) in written.iter().enumerate() {
                    if n > 0 {
                        buf.push(b'\t');
                    }
                    let v = row.as_ref(n).unwrap_or(&Value::NULL);
                    let col = &meta.columns[ci];
                    if col.data_type == "enum" && matches!(v, Value::Bytes(b) if b.is_empty()) {
                        expected.push((rows_in_load, col.name.clone()));
                    }
                    encode::field(&mut buf, v, col);
                }
                buf.push(b'\n');
                rows_in_chunk += 1;
                if buf.len() >= options.load_bytes {
                    // The source result is still being read on another
                    // connection: loading now keeps memory bounded.
                    report.bytes += buf.len() as u64;
                    load(tgt, &stmt, std::mem::take(&mut buf), &table, &expected).await?;
                    expected.clear();
                    rows_in_load = 0;
                }
                last_row = Some(row);
            }
        }
        report.rows += rows_in_chunk;
        report.chunks += 1;
        if !buf.is_empty() {
            report.bytes += buf.len() as u64;
            load(tgt, &stmt, std::mem::take(&mut buf), &table, &expected).await?;
            expected.clear();
            rows_in_load = 0;
        }
        if key.is_empty() || (rows_in_chunk as usize) < options.chunk_rows {
            break;
        }
        let Some(row) = last_row else { break };
        let base = written.len();
        last_key = Some(
            (0..key.len())
                .map(|j| row.as_ref(base + j).cloned().unwrap_or(Value::NULL))
                .collect(),
        );
    }
    Ok(report)
}

/// `WHERE (k1, k2, ...) > (v1, v2, ...)`, spelled out so that every server
/// uses the index: `k1 > ? OR (k1 = ? AND k2 > ?) OR ...`.
fn keyset_after(keys: &[String], last: &[Value]) -> (String, Vec<Value>) {
    let mut ors = Vec::new();
    let mut params = Vec::new();
    for i in 0..keys.len() {
        let mut ands = Vec::new();
        for j in 0..i {
            ands.push(format!("{} = ?", keys[j]));
            params.push(last[j].clone());
        }
        ands.push(format!("{} > ?", keys[i]));
        params.push(last[i].clone());
        ors.push(format!("({})", ands.join(" AND ")));
    }
    (format!(" WHERE {}", ors.join(" OR ")), params)
}
