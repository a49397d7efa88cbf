//! The small SQL helpers the task's files share: identifier quoting and the
//! source's binlog position.

use binlog_reader::position::FilePosition;
use mysql_async::Conn;
use server_dialect::DialectError;

use super::error::TaskError;

/// `name` as a quoted identifier (backticks doubled): server-dialect's one
/// quoting function.
pub(super) fn quote(s: &str) -> String {
    server_dialect::quote(s)
}

/// The source's current binlog position, through the statement its flavour
/// and version use (`SHOW BINARY LOG STATUS` on MySQL 8.2 and later).
pub(super) async fn master_position(src: &mut Conn) -> Result<FilePosition, TaskError> {
    match server_dialect::binlog_position(src, None).await {
        Ok(at) => Ok(FilePosition::new(at.file, at.position)),
        Err(DialectError::BinlogOff) => Err(TaskError::Other(
            "the source has no binlog (log_bin is off), so incremental migration cannot follow; \
             turn log_bin on or remove \"incremental\" from [migration] types"
                .into(),
        )),
        Err(DialectError::Query { what, error }) => Err(TaskError::Database {
            server: "source",
            what,
            error,
        }),
        Err(e) => Err(TaskError::Other(format!("the source: {e}"))),
    }
}
