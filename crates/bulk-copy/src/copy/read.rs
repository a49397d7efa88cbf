//! A reader: one range read in keyset chunks inside the reader's snapshot
//! and encoded into load buffers for its writer, memory bounded by the
//! queue between them. In the watermark copy this reads the tables without
//! a usable key, whole, under shared locks (see `watermark`); keyed ranges
//! are read by `watermark::read_unit` there.

use std::sync::atomic::Ordering;

use futures::StreamExt;
use mysql_async::prelude::*;
use mysql_async::{Conn, Row, Value};
use tokio::sync::mpsc;

use binlog_reader::position::FilePosition;

use super::encode;
use super::options::CopyOptions;
use super::prepare::Prepared;
use super::watermark::Watermark;
use super::Shared;
use crate::base::error::{db_err, CopyError};
use crate::base::keyset::range_condition_with;

/// Rows on their way from a reader to a writer.
pub(super) struct Buffer {
    pub(super) data: Vec<u8>,
    pub(super) rows: u64,
    /// ENUM empty values in this buffer: (1-based row, column), whose 1265
    /// warnings are expected.
    pub(super) expected: Vec<(u64, String)>,
    /// The key of the last row (chunked ranges).
    pub(super) end_key: Option<Vec<Value>>,
    /// The range's last buffer.
    pub(super) last: bool,
    pub(super) chunks: u64,
    /// Commit after this buffer (a chunked range). The watermark copy
    /// clears it on every buffer of a chunk but its last: a chunk is the
    /// range's state at one position, committed whole.
    pub(super) commit: bool,
    /// The high watermark of the chunk this buffer ends (the watermark
    /// copy): recorded in the metadata schema in the transaction that
    /// commits the chunk.
    pub(super) watermark: Option<FilePosition>,
}

/// Whether `v`, read for written column `n`, is an ENUM's empty error value
/// (which the target warns about when it stores it).
pub(super) fn enum_empty(p: &Prepared, n: usize, v: &Value) -> bool {
    match p.codecs.get(n) {
        Some((_, true)) if p.members_as_numbers => {
            matches!(v, Value::Int(0) | Value::UInt(0))
        }
        Some((_, true)) => matches!(v, Value::Bytes(b) if b.is_empty()),
        _ => false,
    }
}

/// Reads one range and sends it as load buffers, the last one marked.
///
/// With `locked` (the watermark copy, a table without a usable key), the
/// table is read whole by one locking read at REPEATABLE READ, whose
/// next-key locks keep every writer out of the table until the read's
/// transaction ends; the binlog position read before that end is then the
/// position the rows are exactly at (see `watermark`), and the last buffer
/// carries it.
pub(super) async fn read_unit(
    src: &mut Conn,
    shared: &Shared,
    table: usize,
    mut last_key: Option<Vec<Value>>,
    hi: Option<Vec<Value>>,
    tx: &mpsc::Sender<Buffer>,
    locked: Option<&Watermark>,
) -> Result<(), CopyError> {
    let p = &shared.tables[table];
    let options = &shared.options;
    let mut buf = new_buffer(shared);
    let keyed = !p.key_names.is_empty();
    let registration = match locked {
        Some(wm) => {
            let r = wm.windows.register(&p.meta.db, &p.meta.name);
            src.query_drop("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; START TRANSACTION")
                .await
                .map_err(db_err(
                    "source",
                    format!("starting the locking read of {}", p.source),
                ))?;
            Some((wm, r))
        }
        None => None,
    };
    loop {
        if shared.failed.load(Ordering::SeqCst) || tx.is_closed() {
            return Ok(());
        }
        let (cond, params) = range_condition_with(
            &p.key_names,
            &p.key_params,
            p.filter.as_deref(),
            last_key.as_deref(),
            hi.as_deref(),
        );
        let mut sql = if keyed {
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
        if let Some((wm, _)) = &registration {
            sql.push(' ');
            sql.push_str(wm.locking_clause);
        }
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
                for (n, &(codec, _)) in p.codecs.iter().enumerate() {
                    if n > 0 {
                        buf.data.push(b'\t');
                    }
                    let v = row.as_ref(n).unwrap_or(&Value::NULL);
                    if enum_empty(p, n, v) {
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
    if let Some((wm, registration)) = registration {
        // Still holding every lock of the table: nothing written to the
        // binlog before this position is missing from the rows read, and
        // nothing after it is in them.
        let h = wm.position(src).await?;
        src.query_drop("COMMIT").await.map_err(db_err(
            "source",
            format!("ending the locking read of {}", p.source),
        ))?;
        wm.windows.wait_past(&h).await?;
        registration.check_unchanged(&h)?;
        buf.watermark = Some(h);
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

pub(super) fn new_buffer(shared: &Shared) -> Buffer {
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
        commit: true,
        watermark: None,
    }
}

pub(super) async fn send(tx: &mpsc::Sender<Buffer>, b: Buffer, options: &CopyOptions) {
    options
        .throttle
        .acquire(0, b.rows, b.data.len() as u64)
        .await;
    // A closed channel means the writer stopped on an error of its own,
    // which it reports; the reader sees `is_closed` and stops.
    tx.send(b).await.ok();
}
