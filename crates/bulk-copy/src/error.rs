//! The error type of bulk-copy.

/// An error copying or applying data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// A database call failed.
    #[error("{what} on {server} failed: {error}")]
    Database {
        /// Which server: `source` or `target`.
        server: &'static str,
        /// What was being done (with the table).
        what: String,
        /// The driver's error.
        error: mysql_async::Error,
    },
    /// A table cannot be copied as it is.
    #[error("table {table}: {reason}")]
    Table {
        /// The table, as `db`.`name`.
        table: String,
        /// Why, and what to do.
        reason: String,
    },
    /// A source row's key already exists on the target, and the conflict
    /// policy is to stop.
    #[error(
        "key conflict in {table}: {detail}. The target table already holds rows; empty it, or \
         choose the ignore or overwrite conflict policy"
    )]
    Conflict {
        /// The target table.
        table: String,
        /// The server's message, which names the key value and the index.
        detail: String,
    },
    /// Reading the source's binlog failed.
    #[error("{0}")]
    Stream(Box<binlog_reader::StreamError>),
    /// The target reported warnings while loading rows: a value would have
    /// been changed (truncated, converted, nulled). Nothing is loaded with a
    /// warning.
    #[error("loading {table} produced warnings, so the load was rolled back: {warnings}")]
    LoadWarnings {
        /// The table.
        table: String,
        /// The warnings, as the target reported them.
        warnings: String,
    },
}

impl From<binlog_reader::StreamError> for CopyError {
    fn from(e: binlog_reader::StreamError) -> Self {
        CopyError::Stream(Box::new(e))
    }
}

impl CopyError {
    /// Whether retrying the same work may succeed: lost connections,
    /// deadlocks (1213) and lock-wait timeouts (1205).
    pub fn is_retryable(&self) -> bool {
        match self {
            CopyError::Database { error, .. } => match error {
                mysql_async::Error::Io(_) => true,
                mysql_async::Error::Server(e) => matches!(e.code, 1205 | 1213 | 2006 | 2013),
                mysql_async::Error::Driver(_) => true,
                _ => false,
            },
            CopyError::Stream(e) => matches!(
                **e,
                binlog_reader::StreamError::Server { .. }
                    | binlog_reader::StreamError::Stalled { .. }
            ),
            _ => false,
        }
    }
}

pub(crate) fn db_err(
    server: &'static str,
    what: impl Into<String>,
) -> impl FnOnce(mysql_async::Error) -> CopyError {
    let what = what.into();
    move |error| CopyError::Database {
        server,
        what,
        error,
    }
}
