//! The argument groups several commands share, flattened into each, and
//! what they set in dts-core's [`CommandLine`].

use std::path::PathBuf;

use clap::Args;
use dts_core::config::{CommandLine, ServerArgs, TlsMode};

/// The environment variable of the source's password.
pub(crate) const SOURCE_PASSWORD: &str = "DTS_SOURCE_PASSWORD";
/// The environment variable of the target's password.
pub(crate) const TARGET_PASSWORD: &str = "DTS_TARGET_PASSWORD";

/// The source server.
#[derive(Args, Debug)]
pub(crate) struct Source {
    /// The source (mysql://user@host:port; the password comes from
    /// DTS_SOURCE_PASSWORD, never from the command line).
    #[arg(long, value_name = "URL")]
    pub(crate) source: Option<String>,
    /// TLS to the source (default: --ssl-mode).
    #[arg(long, value_name = "MODE", hide_possible_values = true)]
    pub(crate) source_ssl_mode: Option<TlsMode>,
    /// The CA certificate (PEM) that signed the source's certificate
    /// (default: --ssl-ca).
    #[arg(long, value_name = "FILE")]
    pub(crate) source_ssl_ca: Option<PathBuf>,
}

/// The target server.
#[derive(Args, Debug)]
pub(crate) struct Target {
    /// The target (mysql://user@host:port; the password comes from
    /// DTS_TARGET_PASSWORD).
    #[arg(long, value_name = "URL")]
    pub(crate) target: Option<String>,
    /// TLS to the target (default: --ssl-mode).
    #[arg(long, value_name = "MODE", hide_possible_values = true)]
    pub(crate) target_ssl_mode: Option<TlsMode>,
    /// The CA certificate (PEM) that signed the target's certificate
    /// (default: --ssl-ca).
    #[arg(long, value_name = "FILE")]
    pub(crate) target_ssl_ca: Option<PathBuf>,
}

/// TLS for both servers, as a task file's `tls` and `tls_ca`.
#[derive(Args, Debug)]
pub(crate) struct Tls {
    /// TLS to the servers, as a task file's `tls` (default: preferred).
    #[arg(long, value_name = "MODE")]
    pub(crate) ssl_mode: Option<TlsMode>,
    /// The CA certificate (PEM) for verify-ca and verify-identity.
    #[arg(long, value_name = "FILE")]
    pub(crate) ssl_ca: Option<PathBuf>,
}

/// Whole databases and single tables, and a database's name on the target.
#[derive(Args, Debug)]
pub(crate) struct Selection {
    /// A database, every table of it (repeatable).
    #[arg(long, value_name = "DB")]
    pub(crate) database: Vec<String>,
    /// A table, under the same name on the target (repeatable).
    #[arg(long, value_name = "DB.TABLE")]
    pub(crate) table: Vec<String>,
    /// With exactly one --database: its name on the target.
    #[arg(long, value_name = "DB")]
    pub(crate) target_database: Option<String>,
}

/// The task's name and its metadata schema.
#[derive(Args, Debug)]
pub(crate) struct TaskName {
    /// The task's name: runs with the same name resume each other (default:
    /// default).
    #[arg(long, value_name = "NAME")]
    pub(crate) task: Option<String>,
    /// The metadata schema on the target, where the checkpoints are
    /// (default: dts_meta).
    #[arg(long, value_name = "SCHEMA")]
    pub(crate) meta_schema: Option<String>,
}

/// The rows-per-second limit.
#[derive(Args, Debug)]
pub(crate) struct RowLimit {
    /// At most this many rows per second (default: no limit).
    #[arg(long, value_name = "N")]
    pub(crate) max_rows_per_sec: Option<f64>,
}

/// A task file.
#[derive(Args, Debug)]
pub(crate) struct TaskFile {
    /// The task file (TOML).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: PathBuf,
}

/// A task file, and JSON output.
#[derive(Args, Debug)]
pub(crate) struct TaskFileJson {
    #[command(flatten)]
    pub(crate) file: TaskFile,
    /// Print JSON instead.
    #[arg(long)]
    pub(crate) json: bool,
}

impl Source {
    /// The source as dts-core takes it, with `tls`'s defaults.
    pub(crate) fn server(&self, tls: &Tls) -> Option<ServerArgs> {
        server(
            &self.source,
            SOURCE_PASSWORD,
            self.source_ssl_mode,
            &self.source_ssl_ca,
            tls,
        )
    }
}

impl Target {
    /// The target as dts-core takes it, with `tls`'s defaults.
    pub(crate) fn server(&self, tls: &Tls) -> Option<ServerArgs> {
        server(
            &self.target,
            TARGET_PASSWORD,
            self.target_ssl_mode,
            &self.target_ssl_ca,
            tls,
        )
    }
}

fn server(
    url: &Option<String>,
    password_env: &str,
    mode: Option<TlsMode>,
    ca: &Option<PathBuf>,
    tls: &Tls,
) -> Option<ServerArgs> {
    url.as_ref().map(|url| ServerArgs {
        url: url.clone(),
        password_env: password_env.to_string(),
        tls: mode.or(tls.ssl_mode),
        tls_ca: ca.clone().or_else(|| tls.ssl_ca.clone()),
    })
}

impl Selection {
    /// Writes the selection into `c`.
    pub(crate) fn set(&self, c: &mut CommandLine) {
        c.databases.clone_from(&self.database);
        c.tables.clone_from(&self.table);
        c.target_database.clone_from(&self.target_database);
    }
}

impl TaskName {
    /// Writes the task's name and metadata schema into `c`.
    pub(crate) fn set(&self, c: &mut CommandLine) {
        c.task.clone_from(&self.task);
        c.meta_schema.clone_from(&self.meta_schema);
    }
}

/// Arguments of `dts throttle`.
#[derive(Args, Debug)]
pub(crate) struct ThrottleArgs {
    #[command(flatten)]
    pub(crate) file: TaskFile,
    /// Rows per second for the full copy and the incremental apply (0: no
    /// limit).
    #[arg(long, value_name = "N")]
    pub(crate) rows_per_sec: Option<f64>,
    /// Bytes per second for the full copy and the incremental apply (0: no
    /// limit).
    #[arg(long, value_name = "N")]
    pub(crate) bytes_per_sec: Option<f64>,
    /// Queries per second: the full copy's SELECT chunks and the apply's
    /// rows events (0: no limit).
    #[arg(long, value_name = "N")]
    pub(crate) queries_per_sec: Option<f64>,
    /// Back to the task file's limits (before any limit given here).
    #[arg(long)]
    pub(crate) reset: bool,
}

/// Arguments of `dts run`.
#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) file: TaskFile,
    /// Plain progress lines instead of progress bars, also on a terminal
    /// (they are plain lines anyway when standard error is not one).
    #[arg(long)]
    pub(crate) no_progress: bool,
}
