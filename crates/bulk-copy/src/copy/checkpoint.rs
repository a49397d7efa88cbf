//! The copy's checkpoint, kept in a metadata schema on the target (its
//! tables are defined in `crate::base::meta_schema`) and updated in the
//! same transaction as the rows it describes (design rule 1).
//!
//! `copy_range` has one row per key range of a table. A range loaded in
//! chunks moves its `done_key` (the last key committed) with each chunk; a
//! table loaded in one transaction (the empty-table bulk path, or a table
//! without a usable key) gets its single, finished row in that transaction.
//! After a crash a table with no row was never committed, a table whose rows
//! are all finished is not copied again, and an unfinished range resumes
//! after its `done_key`.
//!
//! `copy_snapshot` records every snapshot position the copy read from, in
//! every run: incremental migration starts at the lowest and applies
//! idempotently up to the highest.
//!
//! Keys are stored as JSON of the exact values the binary protocol gave
//! (bytes as hex, floats by their bits), so they bind back unchanged.

use mysql_async::prelude::*;
use mysql_async::{Conn, Value};
use serde::{Deserialize, Serialize};

use binlog_reader::position::FilePosition;

use crate::base::error::{db_err, CopyError};
use crate::base::meta_schema;
use server_dialect::quote;

/// How a range is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadMethod {
    /// In chunks, each committed with the range's `done_key`.
    Chunked,
    /// In one transaction into an empty table (MariaDB's bulk-insert path).
    Bulk,
    /// In one transaction because the table has no usable key.
    Whole,
}

impl LoadMethod {
    /// The name stored in the checkpoint and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadMethod::Chunked => "chunked",
            LoadMethod::Bulk => "bulk",
            LoadMethod::Whole => "whole",
        }
    }
}

/// The `method` stored for the chunked ranges of a table that was empty on
/// the target when they were planned.
pub(crate) const CHUNKED_EMPTY: &str = "chunked-empty";

/// One range as stored.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RangeRow {
    pub(crate) range_no: u32,
    /// Exclusive lower bound; `None` is the start of the table.
    pub(crate) lo: Option<Vec<Value>>,
    /// Inclusive upper bound; `None` is the end of the table.
    pub(crate) hi: Option<Vec<Value>>,
    /// The last key committed; `None` when nothing was.
    pub(crate) done: Option<Vec<Value>>,
    pub(crate) finished: bool,
    /// Planned when the target table was empty: unique checks may stay off.
    pub(crate) started_empty: bool,
}

#[derive(Serialize, Deserialize)]
enum K {
    N,
    B(String),
    I(i64),
    U(u64),
    F(u32),
    D(u64),
    Dt(u16, u8, u8, u8, u8, u8, u32),
    T(bool, u32, u8, u8, u8, u32),
}

pub(crate) fn encode_key(key: &[Value]) -> Vec<u8> {
    let k: Vec<K> = key
        .iter()
        .map(|v| match v {
            Value::NULL => K::N,
            Value::Bytes(b) => K::B(binlog_reader::types::hex(b)),
            Value::Int(i) => K::I(*i),
            Value::UInt(u) => K::U(*u),
            Value::Float(f) => K::F(f.to_bits()),
            Value::Double(d) => K::D(d.to_bits()),
            Value::Date(y, mo, d, h, mi, s, us) => K::Dt(*y, *mo, *d, *h, *mi, *s, *us),
            Value::Time(n, d, h, mi, s, us) => K::T(*n, *d, *h, *mi, *s, *us),
        })
        .collect();
    serde_json::to_vec(&k).unwrap_or_default()
}

pub(crate) fn decode_key(bytes: &[u8]) -> Option<Vec<Value>> {
    let k: Vec<K> = serde_json::from_slice(bytes).ok()?;
    k.into_iter()
        .map(|k| {
            Some(match k {
                K::N => Value::NULL,
                K::B(h) => Value::Bytes(unhex(&h)?),
                K::I(i) => Value::Int(i),
                K::U(u) => Value::UInt(u),
                K::F(b) => Value::Float(f32::from_bits(b)),
                K::D(b) => Value::Double(f64::from_bits(b)),
                K::Dt(y, mo, d, h, mi, s, us) => Value::Date(y, mo, d, h, mi, s, us),
                K::T(n, d, h, mi, s, us) => Value::Time(n, d, h, mi, s, us),
            })
        })
        .collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Pairs of stored names as text.
fn text_pairs(rows: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<(String, String)> {
    rows.into_iter()
        .map(|(a, b)| {
            (
                String::from_utf8_lossy(&a).into_owned(),
                String::from_utf8_lossy(&b).into_owned(),
            )
        })
        .collect()
}

/// The copy's checkpoint of one task: the statements that read and write
/// its rows in the metadata schema.
pub(crate) struct Checkpoint {
    /// The metadata schema, as named.
    schema_name: String,
    /// The metadata schema, quoted.
    pub(crate) schema: String,
    pub(crate) task: String,
}

impl Checkpoint {
    pub(crate) fn new(schema: &str, task: &str) -> Self {
        Checkpoint {
            schema_name: schema.to_string(),
            schema: quote(schema),
            task: task.to_string(),
        }
    }

    /// Creates the metadata schema and the copy's tables (see
    /// `crate::base::meta_schema`).
    pub(crate) async fn ensure(&self, c: &mut Conn) -> Result<(), CopyError> {
        meta_schema::ensure_copy_tables(c, &self.schema_name).await
    }

    pub(crate) async fn record_snapshot(
        &self,
        c: &mut Conn,
        p: &FilePosition,
    ) -> Result<(), CopyError> {
        c.exec_drop(
            format!(
                "INSERT INTO {}.`copy_snapshot` (`task`, `binlog_file`, `binlog_pos`) VALUES (?, ?, ?)",
                self.schema
            ),
            (&self.task, &p.file, p.offset),
        )
        .await
        .map_err(db_err("target", "recording the snapshot position"))
    }

    pub(crate) async fn snapshots(&self, c: &mut Conn) -> Result<Vec<FilePosition>, CopyError> {
        let rows: Vec<(Vec<u8>, u64)> = c
            .exec(
                format!(
                    "SELECT `binlog_file`, `binlog_pos` FROM {}.`copy_snapshot` WHERE `task` = ? ORDER BY `id`",
                    self.schema
                ),
                (&self.task,),
            )
            .await
            .map_err(db_err("target", "reading the recorded snapshot positions"))?;
        Ok(rows
            .into_iter()
            .map(|(f, p)| FilePosition::new(String::from_utf8_lossy(&f).into_owned(), p))
            .collect())
    }

    pub(crate) async fn ranges(
        &self,
        c: &mut Conn,
        db: &str,
        table: &str,
    ) -> Result<Vec<RangeRow>, CopyError> {
        type Raw = (
            u32,
            String,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            i8,
        );
        let rows: Vec<Raw> = c
            .exec(
                format!(
                    "SELECT `range_no`, `method`, `lo_key`, `hi_key`, `done_key`, `finished` FROM {}.`copy_range`
                     WHERE `task` = ? AND `target_db` = ? AND `target_table` = ? ORDER BY `range_no`",
                    self.schema
                ),
                (&self.task, db, table),
            )
            .await
            .map_err(db_err(
                "target",
                format!("reading the checkpoint of {}.{}", quote(db), quote(table)),
            ))?;
        let bad = || CopyError::Table {
            table: format!("{}.{}", quote(db), quote(table)),
            reason: format!(
                "its checkpoint in {}.`copy_range` cannot be read (was it edited by hand?); \
                 delete the table's rows there and empty the target table to copy it again",
                self.schema
            ),
        };
        let key = |k: Option<Vec<u8>>| -> Result<Option<Vec<Value>>, CopyError> {
            k.map(|b| decode_key(&b).ok_or_else(bad)).transpose()
        };
        rows.into_iter()
            .map(|(range_no, method, lo, hi, done, finished)| {
                Ok(RangeRow {
                    range_no,
                    started_empty: method == CHUNKED_EMPTY,
                    lo: key(lo)?,
                    hi: key(hi)?,
                    done: key(done)?,
                    finished: finished != 0,
                })
            })
            .collect()
    }

    /// Records secondary indexes about to be dropped for a load, with their
    /// definitions (`KEY ...` as `SHOW CREATE TABLE` prints them). A record
    /// already there stays as it is.
    pub(crate) async fn record_indexes(
        &self,
        c: &mut Conn,
        db: &str,
        table: &str,
        indexes: &[(String, String)],
    ) -> Result<(), CopyError> {
        let err = || {
            db_err(
                "target",
                format!(
                    "recording the deferred indexes of {}.{}",
                    quote(db),
                    quote(table)
                ),
            )
        };
        // After any recorded before (by a run that stopped), in order.
        let first: Option<u32> = c
            .exec_first(
                format!(
                    "SELECT COALESCE(MAX(`ord`) + 1, 0) FROM {}.`copy_index`
                     WHERE `task` = ? AND `target_db` = ? AND `target_table` = ?",
                    self.schema
                ),
                (&self.task, db, table),
            )
            .await
            .map_err(err())?;
        let first = first.unwrap_or(0);
        c.exec_batch(
            format!(
                "INSERT IGNORE INTO {}.`copy_index`
                   (`task`, `target_db`, `target_table`, `index_name`, `ord`, `definition`)
                 VALUES (?, ?, ?, ?, ?, ?)",
                self.schema
            ),
            indexes
                .iter()
                .enumerate()
                .map(|(n, (name, def))| (&self.task, db, table, name, first + n as u32, def)),
        )
        .await
        .map_err(err())
    }

    /// The indexes recorded as dropped for a load of the table, in their
    /// original order: (name, definition).
    pub(crate) async fn deferred_indexes(
        &self,
        c: &mut Conn,
        db: &str,
        table: &str,
    ) -> Result<Vec<(String, String)>, CopyError> {
        let rows: Vec<(Vec<u8>, Vec<u8>)> = c
            .exec(
                format!(
                    "SELECT `index_name`, `definition` FROM {}.`copy_index`
                     WHERE `task` = ? AND `target_db` = ? AND `target_table` = ? ORDER BY `ord`",
                    self.schema
                ),
                (&self.task, db, table),
            )
            .await
            .map_err(db_err(
                "target",
                format!(
                    "reading the deferred indexes of {}.{}",
                    quote(db),
                    quote(table)
                ),
            ))?;
        Ok(text_pairs(rows))
    }

    /// The target tables with indexes recorded as dropped for a load.
    pub(crate) async fn tables_with_deferred_indexes(
        &self,
        c: &mut Conn,
    ) -> Result<Vec<(String, String)>, CopyError> {
        let rows: Vec<(Vec<u8>, Vec<u8>)> = c
            .exec(
                format!(
                    "SELECT DISTINCT `target_db`, `target_table` FROM {}.`copy_index`
                     WHERE `task` = ? ORDER BY 1, 2",
                    self.schema
                ),
                (&self.task,),
            )
            .await
            .map_err(db_err("target", "reading the deferred indexes"))?;
        Ok(text_pairs(rows))
    }

    /// Forgets the table's deferred indexes (they are back).
    pub(crate) async fn forget_indexes(
        &self,
        c: &mut Conn,
        db: &str,
        table: &str,
    ) -> Result<(), CopyError> {
        c.exec_drop(
            format!(
                "DELETE FROM {}.`copy_index`
                 WHERE `task` = ? AND `target_db` = ? AND `target_table` = ?",
                self.schema
            ),
            (&self.task, db, table),
        )
        .await
        .map_err(db_err(
            "target",
            format!(
                "clearing the deferred indexes of {}.{}",
                quote(db),
                quote(table)
            ),
        ))
    }

    /// Inserts ranges (their own statement: a plan, no rows yet).
    pub(crate) fn insert_range_sql(&self) -> String {
        format!(
            "INSERT INTO {}.`copy_range` (`task`, `target_db`, `target_table`, `range_no`, `method`,
               `lo_key`, `hi_key`, `done_key`, `finished`, `rows_copied`, `bytes_copied`)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.schema
        )
    }

    /// Records the snapshot a one-transaction load was read at.
    pub(crate) fn snapshot_sql(&self) -> String {
        format!(
            "UPDATE {}.`copy_range` SET `snap_file` = ?, `snap_pos` = ?
             WHERE `task` = ? AND `target_db` = ? AND `target_table` = ? AND `range_no` = ?",
            self.schema
        )
    }

    /// Moves a chunked range on, in the load's transaction.
    pub(crate) fn advance_sql(&self) -> String {
        format!(
            "UPDATE {}.`copy_range` SET `done_key` = COALESCE(?, `done_key`), `finished` = ?,
               `rows_copied` = `rows_copied` + ?, `bytes_copied` = `bytes_copied` + ?
             WHERE `task` = ? AND `target_db` = ? AND `target_table` = ? AND `range_no` = ?",
            self.schema
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_exactly() {
        let key = vec![
            Value::NULL,
            Value::Bytes(vec![0, 0xff, b'`', b'\'', 0x80]),
            Value::Bytes(Vec::new()),
            Value::Int(i64::MIN),
            Value::UInt(u64::MAX),
            Value::Float(f32::from_bits(0x7f7f_ffff)),
            Value::Double(-0.0),
            Value::Date(0, 0, 0, 0, 0, 0, 0),
            Value::Date(9999, 12, 31, 23, 59, 59, 999_999),
            Value::Time(true, 34, 22, 59, 59, 999_999),
        ];
        let back = decode_key(&encode_key(&key)).unwrap();
        assert_eq!(format!("{back:?}"), format!("{key:?}"));
        if let (Value::Double(a), Value::Double(b)) = (&key[6], &back[6]) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
        assert_eq!(decode_key(b"[{\"B\":\"abc\"}]"), None);
        assert_eq!(decode_key(b"not json"), None);
    }
}
