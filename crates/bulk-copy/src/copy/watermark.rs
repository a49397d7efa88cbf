//! The watermark snapshot: every chunk read by a short locking read between
//! a low and a high binlog watermark, the row changes of that window
//! reconciled into it before it is written. No global lock, no RELOAD, no
//! long transaction: the copy can start while long queries run (the
//! incremental-snapshot algorithm of DBLog and Flink CDC, made safe against
//! commit visibility).
//!
//! # A chunk
//!
//! 1. **Low watermark L**: the source's binlog position (the statement its
//!    version takes). The chunk's table is registered with the one binlog
//!    reader first (see `window`), so that every row change after L is
//!    kept for it.
//! 2. **A locking read**: `SELECT ... WHERE <after the previous chunk's
//!    last key, up to the range's end> ORDER BY key LIMIT n` with the
//!    dialect's shared locking clause (`FOR SHARE`, `LOCK IN SHARE MODE`),
//!    at READ COMMITTED, in a transaction committed at once.
//! 3. **High watermark H**: the binlog position after that commit.
//! 4. **Reconciliation**: the row changes the binlog holds for the table
//!    from L up to H whose key falls in the chunk's range are applied to
//!    the rows read, in binlog order: an insert or update sets the row of
//!    its (after) key to the after image, a delete removes its key, an
//!    update that changes the key removes the old one. The chunk is then
//!    the range exactly as it was at H.
//! 5. **Write**: the reconciled rows go through the same encoder and LOAD
//!    DATA as every chunk (binlog values turned into the values the binary
//!    protocol gives, exactly: `encode::from_binlog`), committed in one
//!    target transaction with the range's high-water key and H
//!    (`copy_range`, `copy_snapshot`).
//!
//! # Why the chunk is the range at H
//!
//! Take a key k of the range. If the window changed k, its last change in
//! the window decides k's state at H, and the reconciliation ends with that
//! change whatever the read saw: the changes of one key are applied in
//! binlog order, which is the order the source committed them in (their
//! row locks ordered the transactions), each change's before image is the
//! previous change's after image, so a removal always finds the spelling of
//! the key the previous step left (a `_ci` key changed from `'a'` to `'A'`
//! included), and nothing of an earlier state survives.
//!
//! If the window did not change k, k's state at H is its state at L, and
//! the read saw exactly that:
//! - **Nothing logged before L is missing from the read.** A transaction
//!   is written to the binlog before it commits in InnoDB, and can stay
//!   uncommitted a while after (group commit, semi-synchronous replication
//!   waiting for an acknowledgement after the binlog sync: gh-ost #1030,
//!   design rule 9), so a plain read could miss a change logged before L,
//!   which no window holds. The read is a locking read: it waits for the
//!   row locks such a transaction holds on the rows it wrote (an inserted
//!   row's implicit lock included) and reads its committed result.
//!   Locking reads always read the latest committed version, whatever the
//!   isolation level.
//! - **Nothing logged after H is in the read.** Whatever the read saw was
//!   committed by then, and a transaction is in the binlog before it
//!   commits, so before H.
//! - So a change the read saw that was logged after L is in the window,
//!   and k is a changed key.
//!
//! Keys moving between ranges: a row whose key moves out of the range in
//! the window is removed (its before key); one that moves in is set (its
//! after key is in the range); the other range's own window or read deals
//! with its side. Whether a key from the binlog is in the range follows the
//! key columns' collation and type order (a `_ci` string, a BINARY(16), a
//! composite key), so the source server decides it, for all the keys a
//! window set, in one query per chunk; the same query applies the task's
//! filter. A removal needs no such test: only keys of the range are ever in
//! the chunk.
//!
//! # The copy around it
//!
//! One binlog reader serves the whole copy (see `window`); a chunk waits
//! until it has passed its H. Each chunk is its range as of its own H: the
//! copy reports the lowest H as the start of incremental migration and the
//! highest as its overlap end, and the apply replays that overlap
//! idempotently, as for several snapshot positions (design rule 8). After
//! a crash, the chunks committed stay, and the next run continues after
//! each range's high-water key with new windows.
//!
//! A table without a usable key has no key to reconcile by (its rows are
//! a multiset): it is read whole, once, by a locking read at REPEATABLE
//! READ, whose next-key locks keep every writer out of the table until the
//! read's transaction ends, and H is read before that end, so that the
//! rows are exactly the table at H with an empty window (`read::read_unit`).
//! That blocks the table's writers while it is read, so it is done only for
//! a small table ([`CopyOptions::locked_read_max_bytes`]); a larger one is
//! refused before anything is copied.
//!
//! A DDL on a table while it is copied stops the copy with an error naming
//! the table (catalogue L1): no chunk mixes two definitions.
//!
//! A range open at its end (a table's last) is read in limited chunks only
//! up to the table's last key when the range starts, then by one final
//! chunk without a limit: the rows appended past that key meanwhile. (A
//! copy that chased the end would never finish on a table written to
//! faster than it is read.)
//!
//! What it costs the source: a chunk's shared locks on the rows it reads,
//! for the time the read takes (writers of those rows wait that long; at
//! READ COMMITTED no gap is locked, so inserts into the range do not), and
//! deadlocks: a writer that holds a row lock the read needs and waits for
//! one the read holds makes InnoDB roll one of them back, and the read,
//! holding more locks, is often the heavier, so the writer gets error
//! 1213 and must retry, as applications do (a chunk chosen as the victim
//! is read again). Smaller chunks (`chunk_rows`, `chunk_bytes`) hold fewer
//! locks for less time. A table without a usable key is locked whole while
//! it is read (below).
//!
//! Memory: a reader holds one chunk (its rows, encoded, with their keys)
//! while it waits for its window, and the binlog reader the row changes of
//! the tables in flight for as long as a window needs them. A chunk is at
//! most `chunk_rows` rows, but for a range's final chunk, which holds the
//! rows appended past the range's end while the range was copied.
//!
//! [`CopyOptions::locked_read_max_bytes`]: super::CopyOptions::locked_read_max_bytes

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use binlog_reader::event::RowChange;
use binlog_reader::position::FilePosition;
use binlog_reader::render::{protocol_literal, SqlColumn};
use futures::StreamExt;
use mysql_async::prelude::*;
use mysql_async::{Conn, Row, Value};
use server_dialect::{quote, ServerVersion};
use tokio::sync::mpsc;

use super::encode::{self, from_binlog};
use super::prepare::Prepared;
use super::read::{enum_empty, new_buffer, send, Buffer};
use super::window::{Held, Windows};
use super::Shared;
use crate::base::error::{db_err, CopyError};
use crate::base::keyset::range_condition_with;
use crate::base::meta::{ColumnMeta, KeyStrategy};
use crate::base::snapshot::binlog_position;

/// Locking reads tried again after a deadlock or a lock wait timeout on the
/// source.
const LOCK_ATTEMPTS: u32 = 5;

/// After images whose range membership one query decides, at most.
const MEMBERSHIP_BATCH: usize = 500;

/// What the watermark copy's readers share: the binlog reader and the
/// source's dialect.
pub(super) struct Watermark {
    /// The one binlog reader.
    pub(super) windows: Arc<Windows>,
    /// The dialect's shared locking read clause.
    pub(super) locking_clause: &'static str,
    /// The source's version.
    pub(super) version: ServerVersion,
}

impl Watermark {
    /// The source's binlog position now.
    pub(super) async fn position(&self, c: &mut Conn) -> Result<FilePosition, CopyError> {
        binlog_position(c, Some(&self.version))
            .await?
            .ok_or_else(|| CopyError::Unsupported {
                reason: "the source stopped reporting a binary log position (log_bin is off?); \
                         the watermark snapshot needs the binary log"
                    .into(),
            })
    }
}

/// A chunk's rows as read, each encoded as its LOAD DATA line, with its key
/// encoded the same way (the key's identity in the reconciliation).
#[derive(Debug, Default)]
pub(super) struct ChunkRows {
    lines: Vec<u8>,
    line_ends: Vec<usize>,
    keys: Vec<u8>,
    key_ends: Vec<usize>,
    /// ENUM empty values: (row, written column), in row order.
    enum_empty: Vec<(usize, usize)>,
    /// The key of the last row read, as read (the next chunk's start).
    last_key: Option<Vec<Value>>,
}

impl ChunkRows {
    fn len(&self) -> usize {
        self.line_ends.len()
    }

    fn push(&mut self, p: &Prepared, row: &Row) {
        let i = self.len();
        for (n, &(codec, _)) in p.codecs.iter().enumerate() {
            if n > 0 {
                self.lines.push(b'\t');
            }
            let v = row.as_ref(n).unwrap_or(&Value::NULL);
            if enum_empty(p, n, v) {
                self.enum_empty.push((i, n));
            }
            encode::encode(&mut self.lines, v, codec);
        }
        self.lines.push(b'\n');
        self.line_ends.push(self.lines.len());
        let key: Vec<Value> = p
            .key_pos
            .iter()
            .map(|&j| row.as_ref(j).cloned().unwrap_or(Value::NULL))
            .collect();
        key_bytes(&mut self.keys, p, key.iter());
        self.key_ends.push(self.keys.len());
        self.last_key = Some(key);
    }

    fn line(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.line_ends[i - 1] };
        &self.lines[start..self.line_ends[i]]
    }

    fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.key_ends[i - 1] };
        &self.keys[start..self.key_ends[i]]
    }

    fn enum_empty_of(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let from = self.enum_empty.partition_point(|&(r, _)| r < i);
        self.enum_empty[from..]
            .iter()
            .take_while(move |&&(r, _)| r == i)
            .map(|&(_, n)| n)
    }
}

/// Appends a key's identity: its columns encoded as LOAD DATA fields (the
/// exact bytes of each value, every separator escaped inside), tab-separated.
fn key_bytes<'a>(out: &mut Vec<u8>, p: &Prepared, key: impl Iterator<Item = &'a Value>) {
    for (n, (v, &codec)) in key.zip(&p.key_codecs).enumerate() {
        if n > 0 {
            out.push(b'\t');
        }
        encode::encode(out, v, codec);
    }
}

/// A row set from the binlog: its LOAD DATA line and its ENUM empty
/// values (written columns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct NewRow {
    pub(super) line: Vec<u8>,
    pub(super) enum_empty: Vec<usize>,
}

/// One step of a window, in binlog order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// The key's row is gone (a delete, or an update's before key).
    Remove(Vec<u8>),
    /// The key's row is this (an insert or update whose after key is in
    /// the chunk).
    Set(Vec<u8>, NewRow),
}

/// A row of the reconciled chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Slot {
    /// A row as read (its index).
    Read(usize),
    /// A row from the window.
    New(NewRow),
}

/// The chunk's rows after the window's steps: the rows read whose key no
/// step touched, in read order and in place of those a step set, then the
/// new keys in the order they were first set. Keys are compared as bytes:
/// a step's key is exactly what the previous change of that row left (see
/// the module documentation).
pub(super) fn reconcile(read_keys: &[&[u8]], steps: Vec<Step>) -> Vec<Slot> {
    let mut slots: Vec<Option<Slot>> = (0..read_keys.len()).map(|i| Some(Slot::Read(i))).collect();
    if steps.is_empty() {
        return slots.into_iter().flatten().collect();
    }
    let mut at: HashMap<Vec<u8>, usize> = read_keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.to_vec(), i))
        .collect();
    for s in steps {
        match s {
            Step::Remove(k) => {
                if let Some(&i) = at.get(&k) {
                    slots[i] = None;
                }
            }
            Step::Set(k, row) => match at.get(&k) {
                Some(&i) => slots[i] = Some(Slot::New(row)),
                None => {
                    at.insert(k, slots.len());
                    slots.push(Some(Slot::New(row)));
                }
            },
        }
    }
    slots.into_iter().flatten().collect()
}

/// Reads one range in chunks, each reconciled with its window and sent as
/// load buffers committed together (see the module documentation); the
/// range's last buffer is marked.
///
/// A range open at its end (a table's last) is read in chunks of at most
/// `chunk_rows` only up to the table's last key when the range starts;
/// the rows appended above it since are read by one final chunk without a
/// limit. Otherwise a table written to faster than it is read would be
/// chased for ever, each chunk finding new rows past the last. That final
/// chunk holds what was appended while the range was copied.
pub(super) async fn read_unit(
    src: &mut Conn,
    shared: &Shared,
    wm: &Watermark,
    table: usize,
    mut after: Option<Vec<Value>>,
    hi: Option<Vec<Value>>,
    tx: &mpsc::Sender<Buffer>,
) -> Result<(), CopyError> {
    let p = &shared.tables[table];
    // Chunks of at most `chunk_rows` up to `limited_to`, then (for an open
    // range) one final chunk without a limit.
    let (mut limited_to, mut limited) = match &hi {
        Some(h) => (Some(h.clone()), true),
        None => match last_key(src, p).await? {
            Some(k) => (Some(k), true),
            None => (None, false),
        },
    };
    let mut chunk_no = 0u64;
    loop {
        if shared.failed.load(Ordering::SeqCst) || tx.is_closed() {
            return Ok(());
        }
        chunk_no += 1;
        let read_to = if limited { limited_to.as_deref() } else { None };
        let chunk = read_chunk(
            src,
            shared,
            wm,
            p,
            after.as_deref(),
            read_to,
            limited,
            chunk_no,
        )
        .await?;
        let rows = &chunk.rows;
        let full = limited && rows.len() >= p.chunk_rows;
        // The chunk's range: after the previous chunk's last key, up to and
        // including its own last key read when it is full, else up to the
        // end it was read to.
        let upper = if full {
            rows.last_key.clone()
        } else {
            read_to.map(<[Value]>::to_vec)
        };
        // The range's last chunk: not full, and nothing left to read past
        // it (a limited chunk of an open range is followed by the final
        // one).
        let last = !full && (hi.is_some() || !limited);
        let steps = window_steps(src, p, &chunk.events, after.as_deref(), upper.as_deref()).await?;
        if !steps.is_empty() {
            tracing::debug!(
                table = %p.source,
                chunk = chunk_no,
                from = %chunk.low,
                to = %chunk.high,
                steps = steps.len(),
                "watermark window reconciled"
            );
        }
        let keys: Vec<&[u8]> = (0..rows.len()).map(|i| rows.key(i)).collect();
        let slots = reconcile(&keys, steps);
        let end_key = if last { None } else { upper.clone() };
        emit(
            shared,
            p,
            rows,
            slots,
            end_key,
            last,
            chunk.high.clone(),
            tx,
        )
        .await;
        if last {
            return Ok(());
        }
        if !full {
            // The limited part of an open range is done: the final chunk
            // reads what lies past it.
            limited = false;
            limited_to = None;
        }
        after = upper;
    }
}

/// The table's last key now (`None` when it is empty), as a read gives it.
async fn last_key(src: &mut Conn, p: &Prepared) -> Result<Option<Vec<Value>>, CopyError> {
    let order: Vec<String> = p.key_names.iter().map(|k| format!("{k} DESC")).collect();
    let row: Option<Row> = src
        .query_first(format!(
            "{} ORDER BY {} LIMIT 1",
            p.select,
            order.join(", ")
        ))
        .await
        .map_err(db_err(
            "source",
            format!("reading the last key of {}", p.source),
        ))?;
    Ok(row.map(|r| {
        p.key_pos
            .iter()
            .map(|&j| r.as_ref(j).cloned().unwrap_or(Value::NULL))
            .collect()
    }))
}

/// A chunk as read, with its window.
struct Chunk {
    rows: ChunkRows,
    low: FilePosition,
    high: FilePosition,
    /// The row changes of the table from `low` up to `high`.
    events: Vec<Arc<Held>>,
}

/// Reads one chunk with its window: L, the locking read, H, and the row
/// changes of the window; tried again after a deadlock or a lock wait
/// timeout.
#[allow(clippy::too_many_arguments)]
async fn read_chunk(
    src: &mut Conn,
    shared: &Shared,
    wm: &Watermark,
    p: &Prepared,
    after: Option<&[Value]>,
    hi: Option<&[Value]>,
    limited: bool,
    chunk_no: u64,
) -> Result<Chunk, CopyError> {
    let mut attempt = 1;
    loop {
        match read_chunk_once(src, shared, wm, p, after, hi, limited, chunk_no).await {
            Err(CopyError::Database {
                error: mysql_async::Error::Server(e),
                ..
            }) if matches!(e.code, 1205 | 1213) && attempt < LOCK_ATTEMPTS => {
                src.query_drop("ROLLBACK").await.ok();
                tracing::warn!(
                    table = %p.source,
                    attempt,
                    error = %e.message,
                    "watermark copy: the chunk's locking read waited too long or deadlocked; \
                     reading it again"
                );
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                attempt += 1;
            }
            r => return r,
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn read_chunk_once(
    src: &mut Conn,
    shared: &Shared,
    wm: &Watermark,
    p: &Prepared,
    after: Option<&[Value]>,
    hi: Option<&[Value]>,
    limited: bool,
    chunk_no: u64,
) -> Result<Chunk, CopyError> {
    let options = &shared.options;
    let registration = wm.windows.register(&p.meta.db, &p.meta.name);
    let low = wm.position(src).await?;
    registration.set_low(&low);
    let (cond, params) =
        range_condition_with(&p.key_names, &p.key_params, p.filter.as_deref(), after, hi);
    let limit = if limited {
        format!(" LIMIT {}", p.chunk_rows)
    } else {
        String::new()
    };
    let sql = format!(
        "{}{} ORDER BY {}{limit} {}",
        p.select,
        cond,
        p.key_names.join(", "),
        wm.locking_clause
    );
    options.throttle.acquire(1, 0, 0).await;
    src.query_drop("START TRANSACTION").await.map_err(db_err(
        "source",
        format!("starting the locking read of {}", p.source),
    ))?;
    let mut rows = ChunkRows::default();
    let read: Result<(), CopyError> = async {
        let what = || format!("reading {} (a locking read)", p.source);
        let mut result = src
            .exec_iter(sql.as_str(), params)
            .await
            .map_err(db_err("source", what()))?;
        let mut stream = result
            .stream::<Row>()
            .await
            .map_err(db_err("source", what()))?
            .ok_or_else(|| CopyError::Table {
                table: p.source.clone(),
                reason: "the SELECT returned no result set".into(),
            })?;
        while let Some(row) = stream.next().await {
            let row = row.map_err(db_err("source", what()))?;
            rows.push(p, &row);
        }
        Ok(())
    }
    .await;
    if let Err(e) = read {
        src.query_drop("ROLLBACK").await.ok();
        return Err(e);
    }
    src.query_drop("COMMIT").await.map_err(db_err(
        "source",
        format!("ending the locking read of {}", p.source),
    ))?;
    if let Some(hook) = &options.after_chunk_read {
        (hook.0)(p.source.clone(), chunk_no).await;
    }
    let high = wm.position(src).await?;
    wm.windows.wait_past(&high).await?;
    let events = registration.take(&low, &high)?;
    Ok(Chunk {
        rows,
        low,
        high,
        events,
    })
}

/// What a window's change becomes before membership is known.
enum Pending {
    Remove(Vec<u8>),
    /// An after image: its key, its row, and the values membership is
    /// decided on (column index, value).
    Candidate(Vec<u8>, NewRow, Vec<(usize, Value)>),
}

/// The steps of a window: its changes in binlog order, each after image
/// kept only when the source says its key is in the chunk's range (and
/// passes the task's filter).
async fn window_steps(
    src: &mut Conn,
    p: &Prepared,
    events: &[Arc<Held>],
    after: Option<&[Value]>,
    upper: Option<&[Value]>,
) -> Result<Vec<Step>, CopyError> {
    let mut pending = Vec::new();
    for held in events {
        for ch in &held.changes {
            match ch {
                RowChange::Insert { after: img } => pending.push(candidate(p, img, &held.at)?),
                RowChange::Update { before, after: img } => {
                    pending.push(Pending::Remove(image_key(p, before, &held.at)?));
                    pending.push(candidate(p, img, &held.at)?);
                }
                RowChange::Delete { before } => {
                    pending.push(Pending::Remove(image_key(p, before, &held.at)?))
                }
            }
        }
    }
    let images: Vec<&[(usize, Value)]> = pending
        .iter()
        .filter_map(|s| match s {
            Pending::Candidate(_, _, v) => Some(v.as_slice()),
            Pending::Remove(_) => None,
        })
        .collect();
    let mut member = vec![false; images.len()];
    for (n, batch) in images.chunks(MEMBERSHIP_BATCH).enumerate() {
        for i in members(src, p, batch, after, upper).await? {
            if let Some(m) = member.get_mut(n * MEMBERSHIP_BATCH + i) {
                *m = true;
            }
        }
    }
    let mut member = member.into_iter();
    Ok(pending
        .into_iter()
        .filter_map(|s| match s {
            Pending::Remove(k) => Some(Step::Remove(k)),
            Pending::Candidate(k, row, _) => {
                member.next().unwrap_or(false).then_some(Step::Set(k, row))
            }
        })
        .collect())
}

/// Column `i` of a binlog image, as the binary protocol would give it.
fn image_value(
    p: &Prepared,
    img: &[Option<binlog_reader::Value>],
    i: usize,
    at: &FilePosition,
) -> Result<Value, CopyError> {
    let col = &p.meta.columns[i];
    let err = |reason: String| CopyError::Table {
        table: p.source.clone(),
        reason: format!("at binlog position {at}: {reason}"),
    };
    match img.get(i) {
        Some(Some(v)) => from_binlog(v, col).map_err(err),
        _ => Err(err(format!(
            "column `{}` is missing from a row image of the watermark window \
             (binlog_row_image is not FULL); set binlog_row_image=FULL on the source",
            col.name
        ))),
    }
}

/// The key's columns (indexes into the table's columns).
fn key_columns(p: &Prepared) -> &[usize] {
    match &p.meta.key {
        KeyStrategy::Keyset(k) => k,
        KeyStrategy::FullScan => &[],
    }
}

/// The identity of an image's key (see [`key_bytes`]).
fn image_key(
    p: &Prepared,
    img: &[Option<binlog_reader::Value>],
    at: &FilePosition,
) -> Result<Vec<u8>, CopyError> {
    let key = key_columns(p)
        .iter()
        .map(|&i| image_value(p, img, i, at))
        .collect::<Result<Vec<Value>, CopyError>>()?;
    let mut out = Vec::new();
    key_bytes(&mut out, p, key.iter());
    Ok(out)
}

fn candidate(
    p: &Prepared,
    img: &[Option<binlog_reader::Value>],
    at: &FilePosition,
) -> Result<Pending, CopyError> {
    let mut line = Vec::new();
    let mut empty = Vec::new();
    for (n, (&i, &(codec, _))) in p.written.iter().zip(&p.codecs).enumerate() {
        if n > 0 {
            line.push(b'\t');
        }
        let v = image_value(p, img, i, at)?;
        if enum_empty(p, n, &v) {
            empty.push(n);
        }
        encode::encode(&mut line, &v, codec);
    }
    line.push(b'\n');
    // Membership is decided on the key, and on every column the image
    // holds when a filter may name any of them.
    let mut check = Vec::new();
    for &i in key_columns(p) {
        check.push((i, image_value(p, img, i, at)?));
    }
    if p.filter.is_some() {
        for (i, v) in img.iter().enumerate() {
            let (Some(v), false) = (v, check.iter().any(|(j, _)| *j == i)) else {
                continue;
            };
            if let Ok(v) = from_binlog(v, &p.meta.columns[i]) {
                check.push((i, v));
            }
        }
    }
    let key = image_key(p, img, at)?;
    Ok(Pending::Candidate(
        key,
        NewRow {
            line,
            enum_empty: empty,
        },
        check,
    ))
}

/// A plain word (a character set or collation name the server reported),
/// safe to put in a statement.
fn plain_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A value as a literal of its column's type and collation, so that the
/// server compares it as it compares the column.
fn typed_literal(out: &mut String, v: &Value, col: &ColumnMeta) {
    let charset = col.collation.as_ref().map(|c| c.0.as_str());
    let sc = SqlColumn::new(&col.name)
        .data_type(&col.data_type)
        .unsigned(col.unsigned)
        .binary_length(usize::try_from(col.binary_length).unwrap_or(0))
        .charset(charset);
    let cast = match col.data_type.as_str() {
        "date" => Some("DATE"),
        "datetime" | "timestamp" => Some("DATETIME(6)"),
        "time" => Some("TIME(6)"),
        _ => None,
    };
    if matches!(v, Value::NULL) {
        out.push_str("NULL");
        return;
    }
    if let Some(c) = cast {
        out.push_str("CAST(");
        let _ = protocol_literal(out, v, &sc);
        let _ = write!(out, " AS {c})");
        return;
    }
    let _ = protocol_literal(out, v, &sc);
    if let (Some((_, coll)), Value::Bytes(_)) = (&col.collation, v) {
        if plain_word(coll) && !encode::is_member_type(col) {
            let _ = write!(out, " COLLATE {coll}");
        }
    }
}

/// Which of `images` (by index) are in the chunk: key after `after`, up to
/// `upper`, and through the task's filter, as the source decides.
async fn members(
    src: &mut Conn,
    p: &Prepared,
    images: &[&[(usize, Value)]],
    after: Option<&[Value]>,
    upper: Option<&[Value]>,
) -> Result<Vec<usize>, CopyError> {
    if images.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = String::from("SELECT `__dts_i` FROM (");
    for (n, img) in images.iter().enumerate() {
        if n > 0 {
            sql.push_str(" UNION ALL ");
        }
        let _ = write!(sql, "SELECT {n} AS `__dts_i`");
        for (i, v) in img.iter() {
            let col = &p.meta.columns[*i];
            sql.push_str(", ");
            typed_literal(&mut sql, v, col);
            let _ = write!(sql, " AS {}", quote(&col.name));
        }
    }
    sql.push_str(") AS `__dts_rows`");
    let (cond, params) = range_condition_with(
        &p.key_names,
        &p.key_params,
        p.filter.as_deref(),
        after,
        upper,
    );
    sql.push_str(&cond);
    let found: Vec<u64> = src.exec(sql, params).await.map_err(db_err(
        "source",
        format!(
            "deciding which keys changed in a watermark window are in a chunk of {}",
            p.source
        ),
    ))?;
    Ok(found
        .into_iter()
        .filter_map(|i| usize::try_from(i).ok())
        .collect())
}

/// Sends a reconciled chunk as load buffers: every one but the last to be
/// committed with the next, the last with the chunk's high-water key and
/// watermark.
#[allow(clippy::too_many_arguments)]
async fn emit(
    shared: &Shared,
    p: &Prepared,
    rows: &ChunkRows,
    slots: Vec<Slot>,
    end_key: Option<Vec<Value>>,
    last: bool,
    high: FilePosition,
    tx: &mpsc::Sender<Buffer>,
) {
    let options = &shared.options;
    let mut buf = new_buffer(shared);
    let name = |n: usize| p.meta.columns[p.written[n]].name.clone();
    for slot in slots {
        buf.rows += 1;
        match slot {
            Slot::Read(i) => {
                buf.data.extend_from_slice(rows.line(i));
                for n in rows.enum_empty_of(i) {
                    buf.expected.push((buf.rows, name(n)));
                }
            }
            Slot::New(r) => {
                buf.data.extend_from_slice(&r.line);
                for &n in &r.enum_empty {
                    buf.expected.push((buf.rows, name(n)));
                }
            }
        }
        if buf.data.len() >= options.load_bytes {
            let mut full = std::mem::replace(&mut buf, new_buffer(shared));
            full.commit = false;
            send(tx, full, options).await;
        }
    }
    buf.end_key = end_key;
    buf.last = last;
    buf.chunks = 1;
    buf.commit = true;
    buf.watermark = Some(high);
    send(tx, buf, options).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(s: &str) -> NewRow {
        NewRow {
            line: s.as_bytes().to_vec(),
            enum_empty: Vec::new(),
        }
    }

    fn set(k: &str, v: &str) -> Step {
        Step::Set(k.as_bytes().to_vec(), row(v))
    }

    fn remove(k: &str) -> Step {
        Step::Remove(k.as_bytes().to_vec())
    }

    /// The chunk as text: read rows by their key, new ones by their line.
    fn check(read: &[&str], steps: Vec<Step>, want: &[&str]) {
        let keys: Vec<&[u8]> = read.iter().map(|k| k.as_bytes()).collect();
        let got: Vec<String> = reconcile(&keys, steps)
            .into_iter()
            .map(|s| match s {
                Slot::Read(i) => format!("read {}", read[i]),
                Slot::New(r) => String::from_utf8_lossy(&r.line).into_owned(),
            })
            .collect();
        assert_eq!(got, want, "read {read:?}");
    }

    #[test]
    fn a_window_is_applied_to_the_rows_read_key_by_key_in_order() {
        // Nothing in the window: the rows as read.
        check(&["1", "2"], vec![], &["read 1", "read 2"]);
        // Insert, update, delete, delete then insert again.
        check(
            &["1", "2", "3"],
            vec![
                set("4", "4 new"),
                remove("2"),
                set("2", "2 v2"),
                remove("3"),
                remove("1"),
                set("1", "1 v2"),
                remove("1"),
                set("1", "1 v3"),
            ],
            &["1 v3", "2 v2", "4 new"],
        );
        // A key moved out of the chunk (its after key is elsewhere: no
        // set) and one moved in.
        check(
            &["1", "2"],
            vec![remove("2"), set("9", "9 moved in")],
            &["read 1", "9 moved in"],
        );
        // Inserted and deleted inside the window: nothing.
        check(&["1"], vec![set("5", "5"), remove("5")], &["read 1"]);
    }

    #[test]
    fn a_key_respelled_under_its_collation_leaves_no_stale_spelling() {
        // A `_ci` key: the read saw 'A' (after the window's first change
        // committed), the window holds 'a' -> 'A' then 'A' -> 'a'.
        check(
            &["A"],
            vec![remove("a"), set("A", "A v1"), remove("A"), set("a", "a v2")],
            &["a v2"],
        );
        // The read saw 'a' before the change; the window renames it.
        check(&["a"], vec![remove("a"), set("A", "A v1")], &["A v1"]);
        // The read saw the state after the window: the steps lead to it
        // again.
        check(&["A"], vec![remove("a"), set("A", "A v1")], &["A v1"]);
    }

    #[test]
    fn rows_remember_their_enum_empty_values() {
        let rows = ChunkRows {
            enum_empty: vec![(0, 2), (3, 1), (3, 4)],
            ..ChunkRows::default()
        };
        assert_eq!(rows.enum_empty_of(0).collect::<Vec<_>>(), [2]);
        assert_eq!(rows.enum_empty_of(1).count(), 0);
        assert_eq!(rows.enum_empty_of(3).collect::<Vec<_>>(), [1, 4]);
    }

    #[test]
    fn only_plain_words_name_a_collation() {
        assert!(plain_word("utf8mb4_0900_ai_ci"));
        assert!(!plain_word("x; DROP"));
        assert!(!plain_word(""));
    }
}
