//! What can go wrong running a task or a command, and which of it is worth
//! retrying.

use bulk_copy::CopyError;

/// Something that went wrong running a task or one of the commands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The precheck found failures.
    #[error(
        "the precheck failed: {0}. Run `dts precheck --config FILE` for every check with its fix"
    )]
    Precheck(String),
    /// Another run holds the task.
    #[error("task {task:?} is already running ({holder}); a task runs once at a time")]
    Running {
        /// The task.
        task: String,
        /// Who holds it.
        holder: String,
    },
    /// The task finished already.
    #[error("task {0:?} has finished (cut over); it does not run again. Use another task name for a new migration")]
    Finished(String),
    /// A database call failed.
    #[error("{what} on the {server}: {error}{}", unreachable_advice(.server, .error))]
    Database {
        /// `source` or `target`.
        server: &'static str,
        /// What was being done.
        what: String,
        /// The driver's error.
        error: mysql_async::Error,
    },
    /// Copying or applying failed.
    #[error(transparent)]
    Data(#[from] CopyError),
    /// The schema could not be read or translated.
    #[error("schema: {0}")]
    Schema(#[from] schema_diff::error::SchemaError),
    /// Binlog files could not be read (the file, the offset, the cause).
    #[error("reading the binlog: {0}")]
    Read(#[from] binlog_reader::ReadError),
    /// A server's binlog stream failed.
    #[error("reading the source's binlog stream: {0}")]
    Stream(Box<binlog_reader::StreamError>),
    /// The caller's output failed (a closed pipe).
    #[error("writing the output: {0}")]
    Output(#[source] std::io::Error),
    /// The task stopped in a state that needs the user.
    #[error("{0}")]
    Other(String),
}

impl TaskError {
    /// A lost or refused connection (retried for `retry.connection_minutes`).
    pub(super) fn is_connection(&self) -> bool {
        let db = |e: &mysql_async::Error| {
            matches!(e, mysql_async::Error::Io(_) | mysql_async::Error::Driver(_))
                || matches!(e, mysql_async::Error::Server(s) if matches!(s.code, 2006 | 2013 | 1927 | 1053))
        };
        match self {
            TaskError::Database { error, .. } => db(error),
            TaskError::Data(CopyError::Database { error, .. }) => db(error),
            TaskError::Data(CopyError::Stream(_)) => true,
            _ => false,
        }
    }

    /// Another error that may pass, retried for `retry.other_minutes` as
    /// the reference product retries "other" errors: a deadlock, a lock
    /// wait timeout, and the failures of DDL and DML statements (a
    /// statement the target refuses, a key conflict), which someone may
    /// fix on the target meanwhile. Not: a missing privilege or a
    /// read-only server (the advice says "not retried"), nor anything about
    /// the task itself (its configuration, checkpoint, binlog, precheck).
    pub(super) fn is_transient(&self) -> bool {
        let statement_failed = |e: &mysql_async::Error| {
            matches!(e, mysql_async::Error::Server(s)
                if !matches!(s.code, 1044 | 1045 | 1142 | 1143 | 1227 | 1370 | 1290 | 1836))
        };
        match self {
            TaskError::Data(e) if e.is_retryable() => true,
            TaskError::Data(CopyError::Database { error, .. }) => statement_failed(error),
            TaskError::Data(CopyError::Conflict { .. }) => true,
            TaskError::Database { error, .. } => statement_failed(error),
            _ => false,
        }
    }
}

/// What to do when a server cannot be reached (nothing listens, no route,
/// a timeout): the address is in the error's `what`.
fn unreachable_advice(server: &str, error: &mysql_async::Error) -> String {
    match error {
        mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => format!(
            ". Is the {server} running and reachable at that address? Start it (or open the \
             network path), or fix [{server}] url in the task file"
        ),
        _ => String::new(),
    }
}

/// Connects to `server` (`source` or `target`); the error names the host
/// and port and what to do.
pub(crate) async fn connect(
    server: &'static str,
    opts: &mysql_async::Opts,
) -> Result<mysql_async::Conn, TaskError> {
    mysql_async::Conn::new(opts.clone())
        .await
        .map_err(|error| TaskError::Database {
            server,
            what: match opts.socket() {
                Some(s) if opts.prefer_socket() => format!("connecting to {s}"),
                _ => format!(
                    "connecting to {}:{}",
                    opts.ip_or_hostname(),
                    opts.tcp_port()
                ),
            },
            error,
        })
}

/// Maps a driver error to [`TaskError::Database`] naming the server and what
/// was being done.
pub(crate) fn db(
    server: &'static str,
    what: impl Into<String>,
) -> impl FnOnce(mysql_async::Error) -> TaskError {
    let what = what.into();
    move |error| TaskError::Database {
        server,
        what,
        error,
    }
}
