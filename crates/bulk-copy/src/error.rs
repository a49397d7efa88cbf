//! The error type of bulk-copy.

/// An error copying or applying data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// A database call failed.
    #[error("{what} on {server} failed: {error}{}", advice(.server, .error))]
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
    /// Whether retrying the same work may succeed: lost connections
    /// (I/O and driver errors, 2006, 2013), deadlocks (1213) and lock-wait
    /// timeouts (1205). Everything else, a missing privilege (1142, 1044)
    /// or a read-only server (1290) included, is not: it needs a fix first.
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

/// What to do about a server error that retrying does not cure.
fn advice(server: &str, error: &mysql_async::Error) -> String {
    let mysql_async::Error::Server(e) = error else {
        return String::new();
    };
    match e.code {
        1044 | 1045 | 1142 | 1143 | 1227 | 1370 => format!(
            ". The {server} account lacks a privilege (not retried): grant it, then run the \
             task again; it resumes from its checkpoint"
        ),
        1290 | 1836 => format!(
            ". The {server} is read-only (read_only, or a replica) (not retried): make it \
             writable for the task's account, then run the task again; it resumes from its \
             checkpoint"
        ),
        1205 | 1213 => format!(
            ". Another session on the {server} held locks the task needed (transient: the \
             apply retries from its checkpoint; this shows once the retries ran out): find that \
             session in the process list"
        ),
        _ => String::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u16) -> CopyError {
        CopyError::Database {
            server: "target",
            what: "applying changes to `d`.`t`".into(),
            error: mysql_async::Error::Server(mysql_async::ServerError {
                code,
                message: format!("error {code}"),
                state: "HY000".into(),
            }),
        }
    }

    #[test]
    fn lock_waits_deadlocks_and_lost_connections_are_transient_privileges_and_read_only_not() {
        for code in [1205, 1213, 2006, 2013] {
            assert!(server(code).is_retryable(), "{code}");
        }
        for code in [1044, 1142, 1290, 1062, 1146] {
            assert!(!server(code).is_retryable(), "{code}");
        }
        let m = server(1142).to_string();
        assert!(
            m.contains("`d`.`t`") && m.contains("lacks a privilege") && m.contains("grant"),
            "{m}"
        );
        assert!(server(1290).to_string().contains("read-only"));
        assert!(!server(1146).to_string().contains("privilege"));
    }
}
