//! The error type of bulk-copy.

/// An error copying, applying or comparing data.
///
/// The variants are what callers tell apart: a database call that failed
/// (lost connections and lock timeouts are retryable, see
/// [`CopyError::is_retryable`]); a table that cannot be moved as it is; a
/// key conflict; the binlog (unreadable, purged, or holding what cannot be
/// applied exactly); a task checkpoint that does not fit; something the
/// server cannot do; a bug.
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
    /// A table cannot be copied, applied or compared as it is.
    #[error("{}", table_reason(.table, .reason))]
    Table {
        /// The table, as `db`.`name` (or the database, `db`, when a
        /// statement names no table).
        table: String,
        /// Why, and what to do.
        reason: String,
    },
    /// A source row's key already exists on the target (or a change's row
    /// is missing), and the conflict policy is to stop.
    #[error(
        "key conflict in {table}: {detail}. The target table already holds rows; empty it, or \
         choose the ignore or overwrite conflict policy"
    )]
    Conflict {
        /// The target table.
        table: String,
        /// What conflicted, with the key value (and the index, where the
        /// server named it).
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
    /// The binlog holds, at a position, something the apply cannot apply
    /// exactly (an XA transaction, an INCIDENT, an unknown event, a
    /// statement where rows were expected, ...). Nothing after the last
    /// commit before it was applied.
    #[error("at {at}: {reason}")]
    Binlog {
        /// The binlog position, `file:offset`.
        at: String,
        /// What was found, and what to do.
        reason: String,
    },
    /// The binlog file where incremental migration must resume was purged
    /// from the source.
    #[error(
        "the binlog file {} where incremental migration must resume is not on the source any \
         more (it has {available}). Changes after {position} are lost to this task unless the \
         purged binlog files were kept (a backup's binlogs): name the directory holding them in \
         [source] binlog_archive. Otherwise raise the source's binlog retention and start the \
         task again from a full copy",
        .position.file
    )]
    BinlogPurged {
        /// Where the task must resume.
        position: binlog_reader::position::FilePosition,
        /// The binlog files the source has (`first to last`).
        available: String,
    },
    /// The task's incremental checkpoint was written for another source
    /// server.
    #[error(
        "the checkpoint of task {task:?} was written for a source with server_id \
         {checkpoint_server_id}, but this source has server_id {server_id}: it is another \
         server. Use another task name, or point the task at its own source"
    )]
    OtherSource {
        /// The task.
        task: String,
        /// The server id its checkpoint records.
        checkpoint_server_id: u64,
        /// The server id of the source connected to.
        server_id: u64,
    },
    /// None of the task's source URLs answers with a server the apply can
    /// read from (a failover may be under way): retried.
    #[error("{reason}")]
    NoSource {
        /// The servers tried and what each answered.
        reason: String,
    },
    /// The source was replaced (a failover) by a server that cannot
    /// continue the task exactly; nothing was written after the
    /// checkpoint.
    #[error(
        "task {task:?} cannot continue on {to}, which replaced its source {from}: {reason}. \
         Nothing was written to the target after its checkpoint"
    )]
    FailoverRefused {
        /// The task.
        task: String,
        /// The server the checkpoint was written on.
        from: String,
        /// The candidate.
        to: String,
        /// Why (the GTIDs missing or purged), and what to do.
        reason: String,
    },
    /// The task's incremental checkpoint cannot be used as it is (its
    /// stored position was edited or cut, or disagrees with its file
    /// position).
    #[error("the incremental checkpoint of task {task:?}: {reason}")]
    Checkpoint {
        /// The task.
        task: String,
        /// What is wrong, and what to do.
        reason: String,
    },
    /// Incremental migration has neither a checkpoint nor a start position.
    #[error(
        "task {task:?} has no incremental checkpoint on the target and no start position was \
         given: run the full copy first (it reports where incremental migration starts)"
    )]
    NoStartPosition {
        /// The task.
        task: String,
    },
    /// The server cannot do what was asked (a lock-free snapshot on a server
    /// that does not report its position, ...).
    #[error("{reason}")]
    Unsupported {
        /// What, and what to do instead.
        reason: String,
    },
    /// A DDL statement could not be read, classified or translated.
    #[error("schema: {0}")]
    Schema(#[from] schema_diff::error::SchemaError),
    /// A worker stopped without an error of its own (it panicked): a bug.
    #[error("{0}")]
    Internal(String),
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
                    | binlog_reader::StreamError::ServerChanged { .. }
            ),
            CopyError::NoSource { .. } => true,
            _ => false,
        }
    }
}

/// `table T: reason`, or the reason alone when no table is known (never
/// `table : ...` or `table ?: ...`).
fn table_reason(table: &str, reason: &str) -> String {
    let t = table.trim();
    if t.is_empty() || matches!(t, "?" | "`?`" | "``" | "``.``" | "`?`.`?`") {
        reason.to_string()
    } else {
        format!("table {t}: {reason}")
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
        1114 | 1021 | 3 => format!(
            ". The {server} is out of space (a full disk or tablespace) (not retried): free or \
             add space there, then run the task again; it resumes from its checkpoint, which \
             never moved past what was written"
        ),
        1205 | 1213 => format!(
            ". Another session on the {server} held locks the task needed (transient: the \
             apply retries from its checkpoint; this shows once the retries ran out): find that \
             session in the process list"
        ),
        _ => String::new(),
    }
}

/// A `server_dialect` query's error: a failed query is a database error on
/// `server` like any other; the rest say what the server cannot do.
pub fn dialect_err(server: &'static str) -> impl FnOnce(server_dialect::DialectError) -> CopyError {
    move |e| match e {
        server_dialect::DialectError::Query { what, error } => CopyError::Database {
            server,
            what,
            error,
        },
        e => CopyError::Unsupported {
            reason: format!("the {server}: {e}"),
        },
    }
}

/// A driver error of a call to `server` (`source` or `target`) doing
/// `what`, as a [`CopyError::Database`].
pub fn db_err(
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

    #[test]
    fn a_table_error_without_a_table_reads_as_its_reason_alone() {
        for table in ["", "?", "`?`", "``", " "] {
            let m = CopyError::Table {
                table: table.into(),
                reason: "at b.000001:4: a statement the apply does not support".into(),
            }
            .to_string();
            assert_eq!(
                m, "at b.000001:4: a statement the apply does not support",
                "{table:?}"
            );
        }
        let m = CopyError::Table {
            table: "`d`.`t`".into(),
            reason: "no key".into(),
        }
        .to_string();
        assert_eq!(m, "table `d`.`t`: no key");
    }

    #[test]
    fn errors_without_a_table_say_where_instead_and_are_not_retried() {
        let pos = binlog_reader::position::FilePosition::new("b.000002", 4);
        let cases = [
            (
                CopyError::Binlog {
                    at: "b.000002:120".into(),
                    reason: "an XA PREPARE".into(),
                },
                "at b.000002:120: an XA PREPARE",
            ),
            (
                CopyError::BinlogPurged {
                    position: pos,
                    available: "b.000005 to b.000009".into(),
                },
                "the binlog file b.000002 where incremental migration must resume is not on the \
                 source any more (it has b.000005 to b.000009). Changes after b.000002:4",
            ),
            (
                CopyError::OtherSource {
                    task: "t".into(),
                    checkpoint_server_id: 1,
                    server_id: 2,
                },
                "the checkpoint of task \"t\" was written for a source with server_id 1, but \
                 this source has server_id 2",
            ),
            (
                CopyError::NoStartPosition { task: "t".into() },
                "task \"t\" has no incremental checkpoint on the target",
            ),
            (
                CopyError::Internal("a copy task stopped unexpectedly".into()),
                "a copy task stopped unexpectedly",
            ),
        ];
        for (e, start) in cases {
            let m = e.to_string();
            assert!(m.starts_with(start), "{m}");
            assert!(!m.contains("table :") && !m.starts_with("table"), "{m}");
            assert!(!e.is_retryable(), "{m}");
        }
    }
}
