//! A writer: one range's buffers loaded in key order with `LOAD DATA LOCAL
//! INFILE`, each committed with the range's checkpoint (or all in one
//! transaction), and judged on the target's warnings.

use bytes::Bytes;
use futures::StreamExt;
use mysql_async::prelude::*;
use mysql_async::Conn;
use tokio::sync::mpsc;

use super::checkpoint::{encode_key, LoadMethod};
use super::indexes::rebuild_indexes;
use super::plan::Unit;
use super::prepare::Prepared;
use super::read::Buffer;
use super::Shared;
use crate::base::error::{db_err, CopyError};
use crate::base::mapping::ConflictPolicy;
use crate::base::progress::TableState;

/// Writes one range's buffers in order.
pub(super) async fn write_unit(
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
    // Rows and bytes loaded since the last commit of a chunked range.
    let (mut pending_rows, mut pending_bytes) = (0u64, 0u64);
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
            pending_rows += b.rows;
            pending_bytes += bytes;
            // The watermark copy: the position this chunk is exactly at,
            // recorded with its rows (incremental migration starts at the
            // lowest of them, design rule 8).
            if let Some(h) = &b.watermark {
                cp.record_snapshot(c, h).await?;
            }
            let commit = if one_txn { b.last } else { b.commit || b.last };
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
                    // The position the whole load is at: the reader's
                    // snapshot, or the watermark of a table read whole
                    // under locks. (A keyed table the watermark copy loads
                    // in one transaction has a position per chunk and none
                    // here: its changes are replayed idempotently.)
                    let at = match unit.method {
                        LoadMethod::Whole => unit.snapshot.as_ref().or(b.watermark.as_ref()),
                        _ => unit.snapshot.as_ref(),
                    };
                    if let Some(snap) = at {
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
            } else if commit {
                c.exec_drop(
                    cp.advance_sql(),
                    (
                        b.end_key.as_deref().map(encode_key),
                        u8::from(b.last),
                        pending_rows,
                        pending_bytes,
                        &cp.task,
                        &p.target_db,
                        &p.target_table,
                        unit.range_no,
                    ),
                )
                .await
                .map_err(db_err("target", format!("checkpointing {}", p.target)))?;
            }
            if commit {
                c.query_drop("COMMIT").await.map_err(db_err(
                    "target",
                    format!("committing a load into {}", p.target),
                ))?;
                in_txn = false;
            }
            // A chunk's rows count once committed; a one-transaction load's
            // as they are sent (they commit together at its end).
            if one_txn {
                shared.options.progress.committed(t, b.rows, bytes);
            } else if commit {
                shared
                    .options
                    .progress
                    .committed(t, pending_rows, pending_bytes);
            }
            if commit {
                pending_rows = 0;
                pending_bytes = 0;
            }
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

/// The bytes of LOAD DATA text sent per packet: far under any server's
/// `max_allowed_packet` (1 KiB at the least, 16 MiB by default on MariaDB),
/// and large enough that the packets' headers cost nothing.
const LOAD_PIECE_BYTES: usize = 64 << 10;

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
    // Sent in pieces: each is one packet, which may be no longer than the
    // target's max_allowed_packet, while a buffer holds at least a row of any
    // length (LOAD DATA takes rows longer than max_allowed_packet).
    let pieces: Vec<std::io::Result<Bytes>> = (0..bytes.len())
        .step_by(LOAD_PIECE_BYTES)
        .map(|at| Ok(bytes.slice(at..(at + LOAD_PIECE_BYTES).min(bytes.len()))))
        .collect();
    drop(bytes);
    c.set_infile_handler(async move { Ok(futures::stream::iter(pieces).boxed()) });
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
