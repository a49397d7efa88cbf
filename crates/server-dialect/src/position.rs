//! The queries every crate needs about where a server's binary log is:
//! its version, the position it writes at, and the position a consistent
//! snapshot is consistent with. Each is written once, here.

use mysql_async::prelude::*;
use mysql_async::{Conn, Row};

use crate::dialect::Dialect;
use crate::error::{query_err, DialectError};
use crate::version::{Flavor, ServerVersion, POLARDB_VERSION_VARIABLE};

/// A binlog file and an offset in it, as a server reports them. (The
/// position types with their ordering live in `binlog-reader`; this is the
/// plain pair the statements return.)
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BinlogCoordinates {
    /// The binlog file name (`mysql-bin.000042`).
    pub file: String,
    /// The byte offset in it.
    pub position: u64,
}

/// The text of `SELECT VERSION()` (`8.4.3`, `10.11.6-MariaDB-log`): the one
/// place the workspace asks a server for it.
///
/// # Errors
///
/// [`DialectError::Query`] when the query fails.
pub async fn version_text(conn: &mut Conn) -> Result<String, DialectError> {
    let v: Option<String> = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(query_err("reading the version"))?;
    Ok(v.unwrap_or_default())
}

/// The server's flavour and version: `SELECT VERSION()`, and on a MySQL
/// its `polardb_version` variable, which PolarDB for MySQL has and others
/// lack (see [`ServerVersion::identify`]).
///
/// # Errors
///
/// [`DialectError::Query`] when a query fails, [`DialectError::Version`]
/// when the version is not one.
pub async fn server_version(conn: &mut Conn) -> Result<ServerVersion, DialectError> {
    let text = version_text(conn).await?;
    let mut version = ServerVersion::parse(&text)?;
    if version.flavor == Flavor::MySql {
        // SHOW VARIABLES answers every account, and with no row where the
        // variable does not exist (SELECT @@polardb_version would fail).
        // LIKE's `_` also matches itself: no escape, whatever sql_mode says.
        let row: Option<(String, String)> = conn
            .query_first(format!(
                "SHOW GLOBAL VARIABLES LIKE '{POLARDB_VERSION_VARIABLE}'"
            ))
            .await
            .map_err(query_err("reading polardb_version"))?;
        version = ServerVersion::identify(&text, row.as_ref().map(|(_, v)| v.as_str()))?;
    }
    Ok(version)
}

/// The binlog file and offset the server writes at now, with the statement
/// its version takes ([`Dialect::binlog_status_statement`]). `version` is
/// read with `SELECT VERSION()` when the caller does not have it.
///
/// # Errors
///
/// [`DialectError::BinlogOff`] when the server writes no binary log;
/// [`DialectError::Query`] when a query fails (a missing `REPLICATION
/// CLIENT` or `BINLOG MONITOR` privilege, a lost connection);
/// [`DialectError::NotANumber`] when the offset is not one.
pub async fn binlog_position(
    conn: &mut Conn,
    version: Option<&ServerVersion>,
) -> Result<BinlogCoordinates, DialectError> {
    let read;
    let version = match version {
        Some(v) => v,
        None => {
            read = server_version(conn).await?;
            &read
        }
    };
    let statement = Dialect::new(version.clone()).binlog_status_statement();
    let row: Option<Row> = conn
        .query_first(statement)
        .await
        .map_err(query_err("reading the binlog position"))?;
    let Some(mut row) = row else {
        return Err(DialectError::BinlogOff);
    };
    let file: Option<String> = text_at(&mut row, 0);
    let offset: Option<String> = text_at(&mut row, 1);
    match (file, offset) {
        (Some(file), Some(offset)) if !file.is_empty() => Ok(BinlogCoordinates {
            position: offset.parse().map_err(|_| DialectError::NotANumber {
                name: "Position",
                value: offset,
            })?,
            file,
        }),
        _ => Err(DialectError::BinlogOff),
    }
}

/// Column `i` of a row as text (the statements answer with text over the
/// text protocol; a value that is not text is left out, never a panic).
fn text_at(row: &mut Row, i: usize) -> Option<String> {
    match row.take_opt::<mysql_async::Value, _>(i)?.ok()? {
        mysql_async::Value::Bytes(b) => String::from_utf8(b).ok(),
        mysql_async::Value::Int(n) => Some(n.to_string()),
        mysql_async::Value::UInt(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The binlog position the connection's open consistent snapshot (`START
/// TRANSACTION WITH CONSISTENT SNAPSHOT`) is consistent with: MariaDB's
/// `binlog_snapshot_file` and `binlog_snapshot_position`, read without any
/// lock. `None` when the server writes no binary log (the file is empty).
///
/// # Errors
///
/// [`DialectError::SnapshotPositionUnsupported`] when the server does not
/// report them (it is not MariaDB; see
/// [`Dialect::reports_snapshot_position`]); [`DialectError::NotANumber`]
/// when the position is not one; [`DialectError::Query`] when the query
/// fails.
pub async fn snapshot_binlog_position(
    conn: &mut Conn,
) -> Result<Option<BinlogCoordinates>, DialectError> {
    let status: Vec<(String, String)> = conn
        .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
        .await
        .map_err(query_err("reading binlog_snapshot_file/position"))?;
    let get = |k: &str| {
        status
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    match (get("binlog_snapshot_file"), get("binlog_snapshot_position")) {
        (Some(file), _) if file.is_empty() => Ok(None),
        (Some(file), Some(pos)) => Ok(Some(BinlogCoordinates {
            position: pos.parse().map_err(|_| DialectError::NotANumber {
                name: "binlog_snapshot_position",
                value: pos,
            })?,
            file,
        })),
        _ => Err(DialectError::SnapshotPositionUnsupported),
    }
}
