//! `dts`: the command-line front end of the migration engine.
//!
//! What it does: parses argv, calls the library crates, prints to the
//! terminal, and maps outcomes to exit codes: 0 success, 1 finished but
//! differences were found, 2 error. A broken pipe (`dts ... | head`) is a
//! quiet exit 0.
//!
//! What it deliberately does not do: any migration logic of its own; that
//! lives in `dts-core` and below.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod apply;
mod copy;
mod dump;
mod dump_stream;
mod run;
mod schema;
mod task;
mod verify;

/// Live MySQL and MariaDB migration, exact and resumable.
#[derive(Parser, Debug)]
#[command(name = "dts", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Copy whole databases or tables (the full data migration alone),
    /// resumable: run it again with the same --task after a failure.
    Copy(Box<CopyArgs>),
    /// Apply the source's binlog to the target (incremental migration
    /// alone), exactly once, resumable under a task name.
    Apply(Box<ApplyArgs>),
    /// Compare the source's and the target's tables row by row on exact
    /// bytes; report each difference with its key and columns; print or
    /// apply the repair. Exit code 0 when equal, 1 when different.
    Verify(Box<VerifyArgs>),
    /// Schema migration tools.
    Schema {
        #[command(subcommand)]
        command: SchemaCommand,
    },
    /// The task file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Check both servers and the selected objects before a task starts.
    /// Exit code 2 on any failure, 1 when a warning is not acknowledged in
    /// [precheck] acknowledge, 0 when the task may start.
    Precheck(TaskFileArgs),
    /// Run the task: precheck, schema, full copy, foreign keys, then
    /// incremental migration until stopped or cut over (the offline
    /// strategy finishes by itself). Run it again to resume.
    Run(TaskFileOnly),
    /// The task's phase, progress, position and lag (--json: versioned).
    Status(TaskFileArgs),
    /// Ask the running task to stop, with its checkpoint flushed.
    Stop(TaskFileOnly),
    /// Cut over: wait for a small lag, fence the source, drain, create
    /// triggers and events, align AUTO_INCREMENT, mark the task finished.
    Cutover(TaskFileOnly),
    /// Binlog tools.
    Binlog {
        #[command(subcommand)]
        command: BinlogCommand,
    },
}

/// The task file alone.
#[derive(Args, Debug)]
pub(crate) struct TaskFileOnly {
    /// The task file (TOML).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: PathBuf,
}

/// Arguments of `dts apply`.
#[derive(Args, Debug)]
pub(crate) struct ApplyArgs {
    /// The source (its password from DTS_SOURCE_PASSWORD).
    #[arg(long, value_name = "URL")]
    pub(crate) source: String,
    /// The target (its password from DTS_TARGET_PASSWORD).
    #[arg(long, value_name = "URL")]
    pub(crate) target: String,
    /// A database to apply (every table in it); repeatable.
    #[arg(long, value_name = "DB")]
    pub(crate) database: Vec<String>,
    /// Apply into this database on the target (with exactly one
    /// --database).
    #[arg(long, value_name = "DB")]
    pub(crate) target_database: Option<String>,
    /// Where to start when the task has no checkpoint yet (what `dts copy`
    /// printed), as FILE:OFFSET.
    #[arg(long, value_name = "FILE:OFFSET")]
    pub(crate) start: Option<String>,
    /// The end of the copy's overlap window, when it printed one.
    #[arg(long, value_name = "FILE:OFFSET", requires = "start")]
    pub(crate) overlap_end: Option<String>,
    /// Stop once this position is applied.
    #[arg(long, value_name = "FILE:OFFSET")]
    pub(crate) until: Option<String>,
    /// Stop at the end of the source's binlog instead of waiting for more.
    #[arg(long)]
    pub(crate) stop_at_end: bool,
    /// Only record the source schema for the task (do this before the full
    /// copy), then exit.
    #[arg(long)]
    pub(crate) prepare: bool,
    /// Key conflicts: error (stop), ignore (skip the change) or overwrite.
    #[arg(long, default_value = "error")]
    pub(crate) conflict: String,
    /// Skip (and report) DDL the target refuses or the apply does not
    /// support, instead of stopping.
    #[arg(long)]
    pub(crate) skip_failed_ddl: bool,
    /// The task name: runs with the same name resume each other.
    #[arg(long, default_value = "default")]
    pub(crate) task: String,
    /// The metadata schema on the target.
    #[arg(long, default_value = "dts_meta")]
    pub(crate) meta_schema: String,
    /// The server id to register with on the source.
    #[arg(long, default_value_t = 0x7d75_0001)]
    pub(crate) server_id: u32,
    /// Row changes per second at most.
    #[arg(long)]
    pub(crate) max_rows_per_sec: Option<f64>,
    /// The longest a target transaction stays open while a backlog is
    /// applied, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub(crate) commit_interval_ms: u64,
    /// Changes held before they are written, in bytes.
    #[arg(long, default_value_t = 8 << 20)]
    pub(crate) batch_bytes: usize,
    /// Write a heartbeat row to the source's `dts_meta`.`heartbeat` table
    /// every this many milliseconds, for a lag measured to the millisecond
    /// (0: off, the lag comes from event timestamps and nothing is written
    /// to the source).
    #[arg(long, default_value_t = 0)]
    pub(crate) heartbeat_ms: u64,
    /// Online-DDL tools (gh-ost, pt-online-schema-change) on selected
    /// tables: `replicate` their helper tables so the tool's swap renames
    /// complete tables on the target, or `apply-original-ddl`: skip the
    /// helper tables and apply the tool's ALTER to the table at its swap.
    #[arg(long, default_value = "replicate", value_name = "MODE")]
    pub(crate) online_ddl: String,
    /// Seconds the apply waits for a row lock on the target before the
    /// target transaction is retried (the server's default when absent).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) lock_wait_timeout: Option<u64>,
    /// Print progress every second (on stderr).
    #[arg(long)]
    pub(crate) progress: bool,
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Print the task with every default filled in (passwords as ***).
    Show(TaskFileArgs),
}

/// A task file argument.
#[derive(Args, Debug)]
pub(crate) struct TaskFileArgs {
    /// The task file (TOML).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: PathBuf,
    /// Print JSON instead.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Subcommand, Debug)]
enum SchemaCommand {
    /// Print the DDL that creates the source's databases on the target, in
    /// order (databases, tables, foreign keys, views, routines, then the
    /// triggers and events created at cut-over), with every warning.
    Plan(SchemaPlanArgs),
}

/// Arguments of `dts schema plan`.
#[derive(Args, Debug)]
pub(crate) struct SchemaPlanArgs {
    /// The task file: its servers, selected objects, renames, name case
    /// and definer rule.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["source", "database", "target", "target_version", "rename_database", "definer"])]
    pub(crate) config: Option<std::path::PathBuf>,
    /// The source (its password from DTS_SOURCE_PASSWORD).
    #[arg(long, value_name = "URL", required_unless_present = "config")]
    pub(crate) source: Option<String>,
    /// The databases to plan (repeatable).
    #[arg(long, value_name = "DB", required_unless_present = "config")]
    pub(crate) database: Vec<String>,
    /// The target, to read its version (its password from DTS_TARGET_PASSWORD).
    #[arg(long, value_name = "URL", conflicts_with = "target_version")]
    pub(crate) target: Option<String>,
    /// The target's version instead of --target: 8.0.36, 10.11.6-MariaDB...
    #[arg(long, value_name = "VERSION")]
    pub(crate) target_version: Option<String>,
    /// Rename a database on the target (repeatable).
    #[arg(long, value_name = "FROM=TO")]
    pub(crate) rename_database: Vec<String>,
    /// Name case on the target: keep, lower or upper.
    #[arg(long, default_value = "keep")]
    pub(crate) case: String,
    /// Replace every DEFINER with this account (`user`@`host`) instead of
    /// removing it and setting SQL SECURITY INVOKER.
    #[arg(long, value_name = "ACCOUNT")]
    pub(crate) definer: Option<String>,
    /// Print the plan as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Subcommand, Debug)]
enum BinlogCommand {
    /// Print the events of binlog files (or of a server's binlog stream),
    /// like `mariadb-binlog --verbose`, or as JSON lines.
    ///
    /// Exit code 2 with a message naming the file, offset and cause on a
    /// corrupt or truncated file.
    Dump(DumpArgs),
}

/// Arguments of `dts copy`.
#[derive(Args, Debug)]
pub(crate) struct CopyArgs {
    /// The source (mysql://user@host:port; the password comes from
    /// DTS_SOURCE_PASSWORD, never from the command line).
    #[arg(long, value_name = "URL")]
    pub(crate) source: String,
    /// The target (its password from DTS_TARGET_PASSWORD). The tables must
    /// exist there.
    #[arg(long, value_name = "URL")]
    pub(crate) target: String,
    /// Copy every table of this database (repeatable).
    #[arg(long, value_name = "DB")]
    pub(crate) database: Vec<String>,
    /// Copy this table (repeatable).
    #[arg(long, value_name = "DB.TABLE")]
    pub(crate) table: Vec<String>,
    /// With one --database: the target database's name.
    #[arg(long, value_name = "DB")]
    pub(crate) target_database: Option<String>,
    /// Source connections, each reading inside its own snapshot.
    #[arg(long, default_value_t = 4)]
    pub(crate) readers: usize,
    /// Target connections (default: as many as readers).
    #[arg(long)]
    pub(crate) writers: Option<usize>,
    /// Rows per keyset chunk at most.
    #[arg(long, default_value_t = 100_000)]
    pub(crate) chunk_rows: usize,
    /// Bytes per LOAD DATA at most.
    #[arg(long, default_value_t = 1 << 20)]
    pub(crate) load_bytes: usize,
    /// Empty target tables up to this many bytes (source data length) are
    /// loaded in one transaction (MariaDB's bulk-insert path); 0 turns it off.
    #[arg(long, default_value_t = 64 << 20)]
    pub(crate) bulk_max_bytes: u64,
    /// Empty target tables of at least this many bytes (source data length)
    /// have their plain secondary indexes dropped before the load and added
    /// back after it, built by one sort (not for tables in a foreign key).
    #[arg(long, default_value_t = 16 << 20)]
    pub(crate) defer_indexes_min_bytes: u64,
    /// Keep every secondary index during the load (no deferral).
    #[arg(long)]
    pub(crate) keep_indexes: bool,
    /// Split chunked tables with an integer key into ranges of about this
    /// many rows, copied in parallel; 0 turns it off.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) split_rows: u64,
    /// Rows whose key exists on the target: error, ignore or overwrite.
    #[arg(long, default_value = "error")]
    pub(crate) conflict: String,
    /// Snapshot: auto, consistent (MariaDB, no lock) or ftwrl (a brief
    /// FLUSH TABLES WITH READ LOCK).
    #[arg(long, default_value = "auto")]
    pub(crate) snapshot: String,
    /// The task's name: a run resumes the runs of the same name.
    #[arg(long, default_value = "default")]
    pub(crate) task: String,
    /// The metadata schema on the target.
    #[arg(long, default_value = "dts_meta")]
    pub(crate) meta_schema: String,
    /// At most this many rows per second.
    #[arg(long)]
    pub(crate) max_rows_per_sec: Option<f64>,
    /// At most this many bytes per second.
    #[arg(long)]
    pub(crate) max_bytes_per_sec: Option<f64>,
    /// At most this many queries per second.
    #[arg(long)]
    pub(crate) max_queries_per_sec: Option<f64>,
    /// Print progress to stderr every second.
    #[arg(long)]
    pub(crate) progress: bool,
}

/// Arguments of `dts verify`.
#[derive(Args, Debug)]
pub(crate) struct VerifyArgs {
    /// The task file: its servers and selected objects (renames, columns,
    /// filters); with --online, differences are re-checked once the task's
    /// incremental checkpoint has passed the source rows' position.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["source", "target", "database", "table", "target_database"])]
    pub(crate) config: Option<std::path::PathBuf>,
    /// The source (mysql://user@host:port; the password comes from
    /// DTS_SOURCE_PASSWORD, never from the command line).
    #[arg(long, value_name = "URL", required_unless_present = "config")]
    pub(crate) source: Option<String>,
    /// The target (its password from DTS_TARGET_PASSWORD).
    #[arg(long, value_name = "URL", required_unless_present = "config")]
    pub(crate) target: Option<String>,
    /// Verify every table of this database (repeatable).
    #[arg(long, value_name = "DB")]
    pub(crate) database: Vec<String>,
    /// Verify this table (repeatable).
    #[arg(long, value_name = "DB.TABLE")]
    pub(crate) table: Vec<String>,
    /// With one --database: the target database's name.
    #[arg(long, value_name = "DB")]
    pub(crate) target_database: Option<String>,
    /// Compare only this percentage of each table's key ranges, chosen at
    /// random (tables without a key are always compared whole).
    #[arg(long, value_name = "PCT")]
    pub(crate) sample: Option<f64>,
    /// The seed of --sample's choice (default: from the clock).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// At most this many rows per second (hashed or read, on the busier
    /// side).
    #[arg(long)]
    pub(crate) max_rows_per_sec: Option<f64>,
    /// Make the target equal for the differing rows: print the statements
    /// as a script (stdout; the report follows as comments), or apply them.
    #[arg(long, value_name = "print|apply")]
    pub(crate) repair: Option<String>,
    /// Print the report as JSON (with "schema_version").
    #[arg(long)]
    pub(crate) json: bool,
    /// Incremental migration is running: re-check differences after the
    /// target has had time to apply them (--recheck-delay), and report only
    /// what still differs.
    #[arg(long)]
    pub(crate) online: bool,
    /// With --online: re-checks of a row that keeps changing before it is
    /// reported as unsettled.
    #[arg(long, default_value_t = 10)]
    pub(crate) rechecks: u32,
    /// With --online: seconds to wait before re-reading the target; must
    /// exceed the replication lag.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub(crate) recheck_delay: f64,
    /// Workers, each with one connection to each server.
    #[arg(long, default_value_t = 4)]
    pub(crate) parallel: usize,
    /// Rows per key range at most.
    #[arg(long, default_value_t = 100_000)]
    pub(crate) chunk_rows: usize,
    /// Differences listed per table at most (the totals are always exact).
    #[arg(long, default_value_t = 100)]
    pub(crate) max_listed: usize,
    /// Print progress to stderr every second.
    #[arg(long)]
    pub(crate) progress: bool,
}

/// Arguments of `dts binlog dump`.
#[derive(Args, Debug)]
pub(crate) struct DumpArgs {
    /// Binlog files, read in the order given.
    #[arg(required_unless_present_any = ["source", "config"])]
    pub(crate) files: Vec<PathBuf>,
    /// Read the binlog stream of the task file's source (like --source).
    #[arg(long, value_name = "FILE", conflicts_with = "source")]
    pub(crate) config: Option<PathBuf>,
    /// Print one JSON object per event per line, with "pos" (the event's
    /// start offset in its file), "end_pos", "type", "file" and the decoded
    /// body (rows with typed values).
    #[arg(long)]
    pub(crate) json: bool,
    /// Follow ROTATE events to the next file in the same directory.
    #[arg(long)]
    pub(crate) follow: bool,
    /// Read the binlog stream of this server instead of files
    /// (mysql://user@host:port; the password comes from DTS_SOURCE_PASSWORD,
    /// never from the command line).
    #[arg(long, value_name = "URL")]
    pub(crate) source: Option<String>,
    /// With --source: the binlog file to start from (default: the first
    /// one the server has).
    #[arg(long, value_name = "FILE")]
    pub(crate) start_file: Option<String>,
    /// With --source: the offset to start from.
    #[arg(long, value_name = "OFFSET", default_value_t = 4)]
    pub(crate) start_pos: u64,
    /// With --source: stop at the end of the binlog instead of waiting for
    /// new events.
    #[arg(long)]
    pub(crate) stop_never: bool,
}

/// Logs: `DTS_LOG` (e.g. `info`, `bulk_copy=debug`; default `warn`) on
/// stderr, as JSON lines when `DTS_LOG_FORMAT=json`. Nothing logged carries a
/// password: URLs are kept without them and driver messages are scrubbed.
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DTS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("DTS_LOG_FORMAT").as_deref() == Ok("json") {
        b.json().init();
    } else {
        b.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = match cli.command {
        Command::Copy(args) => copy::run(&args, &mut out),
        Command::Apply(args) => apply::run(&args, &mut out),
        Command::Verify(args) => verify::run(&args, &mut out),
        Command::Schema {
            command: SchemaCommand::Plan(args),
        } => schema::run(&args, &mut out),
        Command::Binlog {
            command: BinlogCommand::Dump(args),
        } => dump::run(&args, &mut out),
        Command::Config {
            command: ConfigCommand::Show(args),
        } => task::show(&args.config, args.json, &mut out),
        Command::Precheck(args) => task::precheck(&args.config, args.json, &mut out),
        Command::Run(args) => run::run(&args.config, &mut out),
        Command::Status(args) => run::status(&args.config, args.json, &mut out),
        Command::Stop(args) => run::stop(&args.config, &mut out),
        Command::Cutover(args) => run::cut_over(&args.config, &mut out),
    };
    let flushed = out.flush().map_err(anyhow::Error::from);
    match result.and_then(|code| flushed.map(|()| code)) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("dts: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Writes a line; a broken pipe is passed up to end quietly.
pub(crate) fn line(out: &mut impl Write, s: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    out.write_fmt(s)?;
    out.write_all(b"\n")?;
    Ok(())
}
