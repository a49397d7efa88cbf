//! The plan of one table in this run: how it is loaded (one transaction or
//! chunks) and its key ranges, recorded in the checkpoint before any row is
//! read.

use mysql_async::prelude::*;
use mysql_async::{Conn, Row, Value};

use binlog_reader::position::FilePosition;

use super::checkpoint::{encode_key, Checkpoint, LoadMethod, CHUNKED_EMPTY};
use super::indexes::defer_indexes;
use super::options::CopyOptions;
use super::prepare::Prepared;
use crate::base::error::{db_err, CopyError};
use crate::base::keyset::range_condition_with;

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

/// Ranges a table is split into at most, as the source's row estimate
/// plans them (a walk that finds more rows than estimated goes on to
/// [`MAX_BOUNDS`]).
const MAX_RANGES: u64 = 256;

/// Split points found at most: the last range holds whatever rows are left
/// after them.
const MAX_BOUNDS: usize = 1024;

/// The split points of a table's key: every `stride`-th key in key order
/// (and through the task's filter), as the source orders and compares them
/// (its collations, ENUM indexes, DECIMAL and BIT values: see
/// `keyset::key_param`), found by walking the key with `LIMIT 1 OFFSET
/// stride - 1` from the last point, one bounded query per point. Every range
/// then holds `stride` rows as planned, whatever the key's type and however
/// skewed its values are, but the last one, which holds between half and one
/// and a half strides: a rest under half a stride joins the range before it.
///
/// The cost is one read of the key's index (the whole clustered index for a
/// primary key) on the source before the table's rows are read; on MariaDB's
/// consistent snapshot it is read inside the snapshot the rows are read in.
/// A row written after the walk lands in whichever range its key falls in:
/// the points only divide the key space, the chunks read it whole.
async fn split_points(
    src: &mut Conn,
    p: &Prepared,
    stride: u64,
) -> Result<Vec<Vec<Value>>, CopyError> {
    let stride = stride.max(1);
    let keys = p.key_names.join(", ");
    let exprs = p.key_exprs.join(", ");
    let err = || {
        db_err(
            "source",
            format!("finding the split points of the key of {}", p.source),
        )
    };
    let mut bounds: Vec<Vec<Value>> = Vec::new();
    while bounds.len() < MAX_BOUNDS {
        let (cond, params) = range_condition_with(
            &p.key_names,
            &p.key_params,
            p.filter.as_deref(),
            bounds.last().map(Vec::as_slice),
            None,
        );
        let row: Option<Row> = src
            .exec_first(
                format!(
                    "SELECT {exprs} FROM {}{cond} ORDER BY {keys} LIMIT 1 OFFSET {}",
                    p.source,
                    stride - 1
                ),
                params,
            )
            .await
            .map_err(err())?;
        let Some(row) = row else { break };
        let key: Vec<Value> = (0..p.key_names.len())
            .map(|i| row.as_ref(i).cloned().unwrap_or(Value::NULL))
            .collect();
        bounds.push(key);
    }
    if let Some(last) = bounds.last() {
        let (cond, params) = range_condition_with(
            &p.key_names,
            &p.key_params,
            p.filter.as_deref(),
            Some(last),
            None,
        );
        let rest: Option<u64> = src
            .exec_first(
                format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM {}{cond} LIMIT {stride}) AS `rest`",
                    p.source
                ),
                params,
            )
            .await
            .map_err(err())?;
        if rest.unwrap_or(0) < stride.div_ceil(2) {
            bounds.pop();
        }
    }
    Ok(bounds)
}

/// A table without a usable key, too large for one transaction: refused
/// with the fix.
fn keyless_too_large(p: &Prepared, options: &CopyOptions) -> CopyError {
    CopyError::Table {
        table: p.source.clone(),
        reason: format!(
            "it has no usable key (a primary key, or a unique key on NOT NULL columns), so \
             nothing orders its rows in a way a copy can commit in chunks and resume by: it \
             can only be loaded in one transaction, which a crash starts over and whose undo \
             grows with the table; at about {} bytes it is larger than the {} allowed \
             (full.keyless_max_bytes). Add a primary key to it on the source and the target, \
             for example an invisible one: ALTER TABLE {} ADD COLUMN `dts_row_id` BIGINT \
             UNSIGNED NOT NULL AUTO_INCREMENT INVISIBLE PRIMARY KEY (MariaDB 10.3, MySQL \
             8.0.23 and later), or raise full.keyless_max_bytes to load it in one transaction",
            p.meta.data_length, options.keyless_max_bytes, p.source
        ),
    }
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
        if p.meta.data_length > options.keyless_max_bytes {
            return Err(keyless_too_large(p, options));
        }
        return Ok(vec![one(LoadMethod::Whole)]);
    }
    if empty && p.meta.data_length <= options.bulk_max_bytes {
        return Ok(vec![one(LoadMethod::Bulk)]);
    }
    // Chunked: a large table split into ranges of equal row counts.
    let mut bounds: Vec<Vec<Value>> = Vec::new();
    // (split_rows = 0: no split.)
    if let Some(n) = p.meta.estimated_rows.checked_div(options.split_rows) {
        let n = n.min(MAX_RANGES);
        if n >= 2 {
            bounds = split_points(src, p, p.meta.estimated_rows.div_ceil(n)).await?;
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
        let hi = bounds.get(r).cloned();
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
