//! The error type of server-dialect.

/// An error reading a server's version or its binary log coordinates.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DialectError {
    /// A version string could not be read.
    #[error("cannot read the server version {text:?}")]
    Version {
        /// The text.
        text: String,
    },
    /// A query failed.
    #[error("{what} failed: {error}")]
    Query {
        /// What was being read (`reading the binlog position`, ...).
        what: String,
        /// The driver's error.
        error: mysql_async::Error,
    },
    /// The server writes no binary log (`log_bin` is off): its binlog
    /// status is empty.
    #[error(
        "the server has no binary log (log_bin is off), so it has no binlog position; turn \
         log_bin on (it needs a restart)"
    )]
    BinlogOff,
    /// The server does not report the binlog position of a consistent
    /// snapshot (`binlog_snapshot_file` and `binlog_snapshot_position` are
    /// MariaDB's status variables).
    #[error("the server does not report binlog_snapshot_file/position (it is not MariaDB)")]
    SnapshotPositionUnsupported,
    /// The server reported a value that is not what the statement returns
    /// on any known version.
    #[error("the server reported {name} {value:?}, not a number")]
    NotANumber {
        /// The field or status variable.
        name: &'static str,
        /// Its value, as text.
        value: String,
    },
}

impl DialectError {
    /// Whether running the same query again may succeed: the connection
    /// was lost (I/O and driver errors, 2006, 2013), or a lock wait timed
    /// out or deadlocked (1205, 1213). A missing privilege, a statement the
    /// server does not know, a server without a binary log are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            DialectError::Query { error, .. } => match error {
                mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => true,
                mysql_async::Error::Server(e) => matches!(e.code, 1205 | 1213 | 2006 | 2013),
                _ => false,
            },
            _ => false,
        }
    }
}

pub(crate) fn query_err(what: &str) -> impl FnOnce(mysql_async::Error) -> DialectError + '_ {
    move |error| DialectError::Query {
        what: what.to_string(),
        error,
    }
}
