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
    #[error("{what} on the {server}: {error}")]
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

    /// Another error that may pass (a deadlock, a lock wait timeout; retried
    /// for `retry.other_minutes`).
    pub(super) fn is_transient(&self) -> bool {
        match self {
            TaskError::Data(e) => e.is_retryable(),
            TaskError::Database {
                error: mysql_async::Error::Server(s),
                ..
            } => matches!(s.code, 1205 | 1213),
            _ => false,
        }
    }
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
