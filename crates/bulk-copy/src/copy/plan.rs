//! The plan of one table in this run: how it is loaded (one transaction or
//! chunks) and its key ranges, recorded in the checkpoint before any row is
//! read.

use mysql_async::prelude::*;
use mysql_async::{Conn, Value};

use binlog_reader::position::FilePosition;

use super::checkpoint::{encode_key, Checkpoint, LoadMethod, CHUNKED_EMPTY};
use super::indexes::defer_indexes;
use super::options::CopyOptions;
use super::prepare::Prepared;
use crate::base::error::{db_err, CopyError};
use crate::base::keyset::split;
use crate::base::meta::KeyStrategy;

/// One range to copy in this run.
pub(super) struct Unit {
    pub(super) table: usize,
    pub(super) range_no: u32,
    pub(super) method: LoadMethod,
    /// Exclusive lower bound to read from (the range's start, or the last
    /// key committed).
    pub(super) after: Option<Vec<Value>>,
    /// The range's own bounds, for the checkpoint row of a one-transaction
    /// load.
    pub(super) lo: Option<Vec<Value>>,
    pub(super) hi: Option<Vec<Value>>,
    /// Unique checks stay on when the target table held rows of its own.
    pub(super) unique_checks: bool,
    /// The snapshot position of the reader that reads it (set when a reader
    /// takes it): a one-transaction load records it, so that incremental
    /// migration skips the changes the load already holds.
    pub(super) snapshot: Option<FilePosition>,
}

/// Decides how a table never committed before is copied, and records the
/// ranges of a chunked one.
pub(super) async fn plan_table(
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
