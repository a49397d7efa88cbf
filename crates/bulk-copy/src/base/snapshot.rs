//! Consistent snapshots on the source and the binlog positions they are
//! consistent with. The statements that differ between servers are
//! `server_dialect`'s; this module turns their answers into
//! `binlog_reader` positions and bulk-copy errors, for the copy's readers
//! and for online verification's re-checks.

use mysql_async::prelude::*;
use mysql_async::Conn;

use binlog_reader::position::FilePosition;
use server_dialect::{DialectError, ServerVersion};

use crate::base::error::{db_err, dialect_err, CopyError};
use crate::base::session::set_reader_session;

/// Starts a read-only consistent snapshot.
pub const START_SNAPSHOT: &str = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";

/// Sets a source connection up as a snapshot reader (a long write timeout,
/// REPEATABLE READ) and starts its consistent snapshot.
pub(crate) async fn begin_reader_snapshot(c: &mut Conn) -> Result<(), CopyError> {
    set_reader_session(c).await?;
    c.query_drop(START_SNAPSHOT)
        .await
        .map_err(db_err("source", "starting a consistent snapshot"))
}

/// The binlog position the source writes at, read with the statement its
/// version takes (`version` is read first when not given); `None` when it
/// has no binlog.
///
/// # Errors
///
/// [`CopyError::Database`] when the query fails.
pub async fn binlog_position(
    c: &mut Conn,
    version: Option<&ServerVersion>,
) -> Result<Option<FilePosition>, CopyError> {
    match server_dialect::binlog_position(c, version).await {
        Ok(at) => Ok(Some(FilePosition::new(at.file, at.position))),
        Err(DialectError::BinlogOff) => Ok(None),
        Err(e) => Err(dialect_err("source")(e)),
    }
}

/// The binlog position the connection's open consistent snapshot is
/// consistent with (MariaDB reports it); `None` when the source has no
/// binlog.
///
/// # Errors
///
/// [`CopyError::Database`] when the query fails; [`CopyError::Unsupported`]
/// when the source does not report the position (it is not MariaDB) or
/// reports one that is not a number.
pub async fn snapshot_position(c: &mut Conn) -> Result<Option<FilePosition>, CopyError> {
    match server_dialect::snapshot_binlog_position(c).await {
        Ok(p) => Ok(p.map(|at| FilePosition::new(at.file, at.position))),
        Err(DialectError::SnapshotPositionUnsupported) => Err(CopyError::Unsupported {
            reason: "the source does not report binlog_snapshot_file/position (it is not \
                     MariaDB): use the FLUSH TABLES WITH READ LOCK snapshot mode"
                .into(),
        }),
        Err(DialectError::NotANumber { value, .. }) => Err(CopyError::Unsupported {
            reason: format!("the source reported binlog_snapshot_position {value:?}, not a number"),
        }),
        Err(e) => Err(dialect_err("source")(e)),
    }
}
