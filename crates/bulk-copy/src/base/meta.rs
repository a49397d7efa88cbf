//! What the copy needs to know about a table, read from
//! `information_schema`: its columns (which are generated, which are
//! temporal and with what precision) and the key it is chunked on.
//!
//! (schema-diff's full model will replace this once it exists.)

use mysql_async::prelude::*;
use mysql_async::Conn;

use server_dialect::quote;

use crate::base::error::{db_err, CopyError};

/// One column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnMeta {
    /// The name.
    pub name: String,
    /// `information_schema.columns.data_type` (`int`, `datetime`, ...).
    pub data_type: String,
    /// Fractional-second precision of a temporal column.
    pub fsp: u8,
    /// A generated (virtual or stored) column: never written.
    pub generated: bool,
    /// Whether it may be NULL.
    pub nullable: bool,
    /// An integer column declared UNSIGNED.
    pub unsigned: bool,
    /// The length in bytes of a `BINARY(n)` column (whose values the binlog
    /// carries without their trailing zero bytes), else 0.
    pub binary_length: u64,
    /// The character set and collation of a text column.
    pub collation: Option<(String, String)>,
    /// The scale (digits after the point) of a DECIMAL column, else 0: a
    /// keyset bound is cast to it, so that the server compares decimals,
    /// never doubles.
    pub numeric_scale: u8,
}

/// How a table is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyStrategy {
    /// Keyset chunks on these columns (indexes into `columns`): the primary
    /// key, or a unique key on NOT NULL columns.
    Keyset(Vec<usize>),
    /// No usable key: the table is read in one ordered-by-nothing stream
    /// inside the snapshot (it cannot be resumed part-way) and reported.
    FullScan,
}

/// A table's copy metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMeta {
    /// The database.
    pub db: String,
    /// The table.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<ColumnMeta>,
    /// How it is chunked.
    pub key: KeyStrategy,
    /// Rows, as the server's statistics estimate them (0 when unknown).
    pub estimated_rows: u64,
    /// Average row length in bytes, as estimated (0 when unknown).
    pub avg_row_length: u64,
    /// Data length in bytes, as estimated (0 when unknown).
    pub data_length: u64,
}

impl TableMeta {
    /// `db`.`name`, quoted.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote(&self.db), quote(&self.name))
    }

    /// The columns that are written (all but the generated ones).
    pub fn written(&self) -> impl Iterator<Item = (usize, &ColumnMeta)> {
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.generated)
    }
}

/// Reads a table's metadata.
///
/// # Errors
///
/// [`CopyError::Database`] when the queries fail; [`CopyError::Table`] when
/// the table does not exist.
pub async fn load_table_meta(
    conn: &mut Conn,
    db: &str,
    table: &str,
) -> Result<TableMeta, CopyError> {
    load_table_meta_on(conn, db, table, "source").await
}

/// [`load_table_meta`] on either server (`server` names it in errors).
///
/// # Errors
///
/// As [`load_table_meta`].
pub async fn load_table_meta_on(
    conn: &mut Conn,
    db: &str,
    table: &str,
    server: &'static str,
) -> Result<TableMeta, CopyError> {
    let what = format!("reading the columns of {}.{}", quote(db), quote(table));
    type ColumnRow = (
        String,
        String,
        Option<u64>,
        String,
        String,
        String,
        Option<u64>,
        Option<String>,
        Option<String>,
        Option<u64>,
    );
    let rows: Vec<ColumnRow> = conn
        .exec(
            "SELECT column_name, data_type, datetime_precision, extra, is_nullable, column_type,
                    character_octet_length, character_set_name, collation_name, numeric_scale
             FROM information_schema.columns
             WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            (db, table),
        )
        .await
        .map_err(db_err(server, what))?;
    if rows.is_empty() {
        return Err(CopyError::Table {
            table: format!("{}.{}", quote(db), quote(table)),
            reason: format!("it does not exist on the {server} (or the account cannot see it)"),
        });
    }
    let columns: Vec<ColumnMeta> = rows
        .into_iter()
        .map(
            |(name, data_type, fsp, extra, nullable, column_type, octets, cs, coll, scale)| {
                ColumnMeta {
                    collation: cs.zip(coll),
                    numeric_scale: if data_type.eq_ignore_ascii_case("decimal") {
                        scale.and_then(|s| u8::try_from(s).ok()).unwrap_or(0)
                    } else {
                        0
                    },
                    binary_length: if data_type.eq_ignore_ascii_case("binary") {
                        octets.unwrap_or(0)
                    } else {
                        0
                    },
                    name,
                    data_type: data_type.to_ascii_lowercase(),
                    fsp: fsp.and_then(|f| u8::try_from(f).ok()).unwrap_or(0),
                    generated: extra.to_ascii_uppercase().contains("GENERATED"),
                    nullable: nullable == "YES",
                    unsigned: column_type.to_ascii_lowercase().contains("unsigned"),
                }
            },
        )
        .collect();
    let idx: Vec<(String, i64, String, i64)> = conn
        .exec(
            "SELECT index_name, non_unique, column_name, seq_in_index
             FROM information_schema.statistics
             WHERE table_schema = ? AND table_name = ?
             ORDER BY index_name = 'PRIMARY' DESC, index_name, seq_in_index",
            (db, table),
        )
        .await
        .map_err(db_err(
            server,
            format!("reading the keys of {}.{}", quote(db), quote(table)),
        ))?;
    let key = choose_key(&columns, &idx);
    let stats: Option<(Option<u64>, Option<u64>, Option<u64>)> = conn
        .exec_first(
            "SELECT table_rows, avg_row_length, data_length FROM information_schema.tables
             WHERE table_schema = ? AND table_name = ?",
            (db, table),
        )
        .await
        .map_err(db_err(
            server,
            format!("reading the size of {}.{}", quote(db), quote(table)),
        ))?;
    let (rows, avg, len) = stats.unwrap_or_default();
    Ok(TableMeta {
        db: db.to_string(),
        name: table.to_string(),
        columns,
        key,
        estimated_rows: rows.unwrap_or(0),
        avg_row_length: avg.unwrap_or(0),
        data_length: len.unwrap_or(0),
    })
}

/// The primary key, else the first unique key whose columns are all NOT
/// NULL and none FLOAT/DOUBLE (an approximate value is never a chunk key).
fn choose_key(columns: &[ColumnMeta], idx: &[(String, i64, String, i64)]) -> KeyStrategy {
    let mut names: Vec<&str> = idx.iter().map(|i| i.0.as_str()).collect();
    names.dedup();
    for name in names {
        let parts: Vec<&(String, i64, String, i64)> = idx.iter().filter(|i| i.0 == name).collect();
        if parts.iter().any(|p| p.1 != 0) {
            continue;
        }
        let cols: Option<Vec<usize>> = parts
            .iter()
            .map(|p| {
                columns.iter().position(|c| c.name == p.2).filter(|&i| {
                    let c = &columns[i];
                    !c.nullable && !matches!(c.data_type.as_str(), "float" | "double" | "real")
                })
            })
            .collect();
        if let Some(cols) = cols.filter(|c| !c.is_empty()) {
            return KeyStrategy::Keyset(cols);
        }
    }
    KeyStrategy::FullScan
}
