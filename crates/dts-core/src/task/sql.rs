//! The small SQL helpers the task's files share: identifier quoting and the
//! source's binlog position.

use binlog_reader::position::FilePosition;
use mysql_async::prelude::*;
use mysql_async::Conn;

use super::error::{db, TaskError};

/// `name` as a quoted identifier (backticks doubled).
pub(super) fn quote(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

/// The source's current binlog position (`SHOW MASTER STATUS`).
pub(super) async fn master_position(src: &mut Conn) -> Result<FilePosition, TaskError> {
    let r: Option<mysql_async::Row> = src
        .query_first("SHOW MASTER STATUS")
        .await
        .map_err(db("source", "reading the binlog position"))?;
    let r = r.ok_or_else(|| {
        TaskError::Other(
            "the source has no binlog (log_bin is off), so incremental migration cannot follow; \
             turn log_bin on or remove \"incremental\" from [migration] types"
                .into(),
        )
    })?;
    let file: String = r.get(0).unwrap_or_default();
    let pos: u64 = r.get(1).unwrap_or_default();
    Ok(FilePosition::new(file, pos))
}
