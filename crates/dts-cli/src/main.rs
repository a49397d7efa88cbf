//! `dts`: the command-line front end of the migration engine.
//!
//! What it does: parses argv (clap, with the argument groups the commands
//! share flattened into each, and dts-core's own enums as the values of
//! every enumerated option), makes ONE task configuration through dts-core
//! (the task file, or [`dts_core::config::CommandLine`] for the commands
//! that work without one), calls ONE dts-core entry point per command,
//! draws progress and results on the terminal, and maps outcomes to exit
//! codes: 0 success, 1 finished but differences were found, 2 error. A
//! broken pipe (`dts ... | head`) is a quiet exit 0.
//!
//! What it deliberately does not do: any migration logic of its own, or
//! build a library's options; that lives in `dts-core` and below. It
//! depends on `binlog-reader` directly only to render the events `dts
//! binlog dump` prints (`binlog_reader::render`).

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use dts_core::commands::RepairMode;
use dts_core::config::{NameCase, OnlineDdlMode, RowConflict, Snapshot};

mod apply;
mod args;
mod control;
mod copy;
mod dump;
mod progress;
mod run;
mod schema;
mod task;
mod verify;

use args::{
    RowLimit, RunArgs, Selection, Source, Target, TaskFile, TaskFileJson, TaskName, ThrottleArgs,
    Tls,
};

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
    Precheck(TaskFileJson),
    /// Run the task: precheck, schema, full copy, foreign keys, then
    /// incremental migration until stopped (Ctrl-C, SIGTERM, `dts stop`) or
    /// cut over (the offline strategy finishes by itself). Run it again to
    /// resume. On a terminal, progress bars per table and for the lag
    /// (--no-progress: lines).
    Run(RunArgs),
    /// The task's phase, progress, position and lag (--json: versioned).
    Status(TaskFileJson),
    /// Ask the running task to stop, with its checkpoint flushed.
    Stop(TaskFile),
    /// Change the running task's rate limits (full copy and incremental),
    /// through its metadata schema; they replace the task file's until
    /// `--reset`. Without a limit, shows them.
    Throttle(ThrottleArgs),
    /// Hold the task's full copy and incremental apply (they go on with
    /// `dts resume`); a task paused while it does not run starts paused.
    Pause(TaskFile),
    /// Let a paused task go on.
    Resume(TaskFile),
    /// Remove what the task left: its rows in the metadata schema, its
    /// shadow schemas, its heartbeat row (and the heartbeat table once no
    /// task uses it). Refused while the task runs.
    Release(TaskFile),
    /// Cut over: refuse a failed task, wait for a small lag, fence the
    /// source, drain, check the fence held and verify, create triggers and
    /// events, align AUTO_INCREMENT, mark the task finished; prints how long
    /// the source was fenced. A failure after the fence makes the source
    /// writable again and leaves the task failed, resumable with `dts run`.
    Cutover(TaskFile),
    /// Binlog tools.
    Binlog {
        #[command(subcommand)]
        command: BinlogCommand,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Print the task with every default filled in (passwords as ***).
    Show(TaskFileJson),
}

#[derive(Subcommand, Debug)]
enum SchemaCommand {
    /// Print the DDL that creates the source's databases on the target, in
    /// order (databases, tables, foreign keys, views, routines, then the
    /// triggers and events created at cut-over), with every warning.
    Plan(SchemaPlanArgs),
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

/// Arguments of `dts copy` (the target tables must exist).
#[derive(Args, Debug)]
pub(crate) struct CopyArgs {
    #[command(flatten)]
    pub(crate) source: Source,
    #[command(flatten)]
    pub(crate) target: Target,
    #[command(flatten)]
    pub(crate) tls: Tls,
    #[command(flatten)]
    pub(crate) selection: Selection,
    #[command(flatten)]
    pub(crate) task: TaskName,
    /// Source connections, each reading inside its own snapshot (default
    /// 4).
    #[arg(long, value_name = "N")]
    pub(crate) readers: Option<usize>,
    /// Target connections (default: as many as readers).
    #[arg(long, value_name = "N")]
    pub(crate) writers: Option<usize>,
    /// Rows per keyset chunk at most (default 100000).
    #[arg(long, value_name = "N")]
    pub(crate) chunk_rows: Option<usize>,
    /// Bytes per LOAD DATA at most (default 1 MiB).
    #[arg(long, value_name = "BYTES")]
    pub(crate) load_bytes: Option<usize>,
    /// Empty target tables up to this many bytes (source data length) are
    /// loaded in one transaction (MariaDB's bulk-insert path); 0 turns it
    /// off (default 64 MiB).
    #[arg(long, value_name = "BYTES")]
    pub(crate) bulk_max_bytes: Option<u64>,
    /// Empty target tables of at least this many bytes (source data length)
    /// have their plain secondary indexes dropped before the load and added
    /// back after it, built by one sort (not for tables in a foreign key;
    /// default 16 MiB).
    #[arg(long, value_name = "BYTES")]
    pub(crate) defer_indexes_min_bytes: Option<u64>,
    /// Keep every secondary index during the load (no deferral).
    #[arg(long)]
    pub(crate) keep_indexes: bool,
    /// Split chunked tables with an integer key into ranges of about this
    /// many rows, copied in parallel; 0 turns it off (default 1000000).
    #[arg(long, value_name = "ROWS")]
    pub(crate) split_rows: Option<u64>,
    /// Rows whose key exists on the target (default error).
    #[arg(long, value_name = "POLICY")]
    pub(crate) conflict: Option<RowConflict>,
    /// How the readers' snapshots are taken (default auto).
    #[arg(long, value_name = "MODE")]
    pub(crate) snapshot: Option<Snapshot>,
    #[command(flatten)]
    pub(crate) rows: RowLimit,
    /// At most this many bytes per second.
    #[arg(long, value_name = "N")]
    pub(crate) max_bytes_per_sec: Option<f64>,
    /// At most this many queries per second.
    #[arg(long, value_name = "N")]
    pub(crate) max_queries_per_sec: Option<f64>,
    /// Print progress to stderr every second.
    #[arg(long)]
    pub(crate) progress: bool,
}

/// Arguments of `dts apply`.
#[derive(Args, Debug)]
pub(crate) struct ApplyArgs {
    /// Apply these binlog files instead of the source server's binlog
    /// (repeatable, or several after one --binlog-file): taken in binlog
    /// order, from the task's checkpoint on, until the last one ends. The
    /// files must continue each other and the checkpoint; a rerun resumes.
    #[arg(long, value_name = "PATH", num_args = 1.., conflicts_with_all = ["source", "prepare", "heartbeat_ms", "stop_at_end"])]
    pub(crate) binlog_file: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) source: Source,
    #[command(flatten)]
    pub(crate) target: Target,
    #[command(flatten)]
    pub(crate) tls: Tls,
    #[command(flatten)]
    pub(crate) selection: Selection,
    #[command(flatten)]
    pub(crate) task: TaskName,
    /// Where to start when the task has no checkpoint yet (what `dts copy`
    /// printed), as FILE:OFFSET.
    #[arg(long, value_name = "FILE:OFFSET", value_parser = position)]
    pub(crate) start: Option<dts_core::commands::FilePosition>,
    /// The end of the copy's overlap window, when it printed one.
    #[arg(long, value_name = "FILE:OFFSET", requires = "start", value_parser = position)]
    pub(crate) overlap_end: Option<dts_core::commands::FilePosition>,
    /// Stop once this position is applied.
    #[arg(long, value_name = "FILE:OFFSET", value_parser = position)]
    pub(crate) until: Option<dts_core::commands::FilePosition>,
    /// Stop at the end of the source's binlog instead of waiting for more.
    #[arg(long)]
    pub(crate) stop_at_end: bool,
    /// Only record the source schema for the task (do this before the full
    /// copy), then exit.
    #[arg(long)]
    pub(crate) prepare: bool,
    /// Key conflicts: error (stop; the default), ignore (skip the change)
    /// or overwrite.
    #[arg(long, value_name = "POLICY")]
    pub(crate) conflict: Option<RowConflict>,
    /// Skip (and report) DDL the target refuses or the apply does not
    /// support, instead of stopping.
    #[arg(long)]
    pub(crate) skip_failed_ddl: bool,
    /// The server id to register with on the source (default 2104819713).
    #[arg(long, value_name = "ID")]
    pub(crate) server_id: Option<u32>,
    #[command(flatten)]
    pub(crate) rows: RowLimit,
    /// The longest a target transaction stays open while a backlog is
    /// applied, in milliseconds (default 500).
    #[arg(long, value_name = "MS")]
    pub(crate) commit_interval_ms: Option<u64>,
    /// Changes held before they are written, in bytes (default 8 MiB).
    #[arg(long, value_name = "BYTES")]
    pub(crate) batch_bytes: Option<usize>,
    /// Write a heartbeat row to the source's `dts_meta`.`heartbeat` table
    /// every this many milliseconds, for a lag measured to the millisecond
    /// (0, the default: off; the lag comes from event timestamps and
    /// nothing is written to the source).
    #[arg(long, value_name = "MS")]
    pub(crate) heartbeat_ms: Option<u64>,
    /// Online-DDL tools (gh-ost, pt-online-schema-change) on selected
    /// tables: `replicate` (the default) their helper tables so the tool's
    /// swap renames complete tables on the target, or `apply-original-ddl`:
    /// skip the helper tables and apply the tool's ALTER to the table at
    /// its swap.
    #[arg(long, value_name = "MODE")]
    pub(crate) online_ddl: Option<OnlineDdlMode>,
    /// Seconds the apply waits for a row lock on the target before the
    /// target transaction is retried (the server's default when absent).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) lock_wait_timeout: Option<u64>,
    /// Print progress every second (on stderr).
    #[arg(long)]
    pub(crate) progress: bool,
}

/// Arguments of `dts verify`.
#[derive(Args, Debug)]
pub(crate) struct VerifyArgs {
    /// The task file: its servers and selected objects (renames, columns,
    /// filters) and its [verify] options, which the options below
    /// override; with --online, differences are re-checked once the
    /// task's incremental checkpoint has passed the source rows' position.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["source", "target", "database", "table", "target_database", "source_ssl_mode", "source_ssl_ca", "target_ssl_mode", "target_ssl_ca", "ssl_mode", "ssl_ca"])]
    pub(crate) config: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) source: Source,
    #[command(flatten)]
    pub(crate) target: Target,
    #[command(flatten)]
    pub(crate) tls: Tls,
    #[command(flatten)]
    pub(crate) selection: Selection,
    /// Compare only this percentage of each table's key ranges, chosen at
    /// random (tables without a key are always compared whole).
    #[arg(long, value_name = "PCT")]
    pub(crate) sample: Option<f64>,
    /// The seed of --sample's choice (default: from the clock).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    #[command(flatten)]
    pub(crate) rows: RowLimit,
    /// Make the target equal for the differing rows: print the statements
    /// as a script (stdout; the report follows as comments), or apply them.
    #[arg(long, value_name = "MODE")]
    pub(crate) repair: Option<RepairMode>,
    /// Print the report as JSON (with "schema_version").
    #[arg(long)]
    pub(crate) json: bool,
    /// Incremental migration is running: re-check differences after the
    /// target has had time to apply them (--recheck-delay), and report only
    /// what still differs.
    #[arg(long)]
    pub(crate) online: bool,
    /// With --online: re-checks of a row that keeps changing before it is
    /// reported as unsettled (default 10).
    #[arg(long, value_name = "N")]
    pub(crate) rechecks: Option<u32>,
    /// With --online: seconds to wait before re-reading the target; must
    /// exceed the replication lag (default 3).
    #[arg(long, value_name = "SECS")]
    pub(crate) recheck_delay: Option<f64>,
    /// Workers, each with one connection to each server (default 4).
    #[arg(long, value_name = "N")]
    pub(crate) parallel: Option<usize>,
    /// Rows per key range at most (default 100000).
    #[arg(long, value_name = "N")]
    pub(crate) chunk_rows: Option<usize>,
    /// Differences listed per table at most; the totals are always exact
    /// (default 100).
    #[arg(long, value_name = "N")]
    pub(crate) max_listed: Option<usize>,
    /// Print progress to stderr every second.
    #[arg(long)]
    pub(crate) progress: bool,
    /// Compare definitions instead of rows: the target's tables, indexes,
    /// views, routines, triggers and events against the source's as the
    /// task's schema migration translates them; print each difference.
    #[arg(long, conflicts_with_all = ["sample", "seed", "repair", "online", "rechecks", "recheck_delay", "parallel", "chunk_rows", "max_listed", "progress", "max_rows_per_sec"])]
    pub(crate) schema: bool,
}

/// Arguments of `dts schema plan`.
#[derive(Args, Debug)]
pub(crate) struct SchemaPlanArgs {
    /// The task file: its servers, selected objects, renames, name case
    /// and definer rule.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["source", "database", "target", "target_version", "rename_database", "definer", "case", "source_ssl_mode", "source_ssl_ca", "target_ssl_mode", "target_ssl_ca", "ssl_mode", "ssl_ca"])]
    pub(crate) config: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) source: Source,
    /// The databases to plan (repeatable).
    #[arg(long, value_name = "DB", required_unless_present = "config")]
    pub(crate) database: Vec<String>,
    /// The target, to read its version (its password from
    /// DTS_TARGET_PASSWORD).
    #[command(flatten)]
    pub(crate) target: Target,
    #[command(flatten)]
    pub(crate) tls: Tls,
    /// The target's version instead of --target: 8.0.36, 10.11.6-MariaDB...
    #[arg(long, value_name = "VERSION", conflicts_with = "target")]
    pub(crate) target_version: Option<String>,
    /// Rename a database on the target (repeatable).
    #[arg(long, value_name = "FROM=TO")]
    pub(crate) rename_database: Vec<String>,
    /// Name case on the target (default keep).
    #[arg(long, value_name = "CASE")]
    pub(crate) case: Option<NameCase>,
    /// Replace every DEFINER with this account (`user`@`host`) instead of
    /// removing it and setting SQL SECURITY INVOKER.
    #[arg(long, value_name = "ACCOUNT")]
    pub(crate) definer: Option<String>,
    /// Print the plan as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Arguments of `dts binlog dump`.
#[derive(Args, Debug)]
pub(crate) struct DumpArgs {
    /// Binlog files, read in the order given.
    #[arg(required_unless_present_any = ["source", "config"])]
    pub(crate) files: Vec<PathBuf>,
    /// Read the binlog stream of the task file's source (like --source).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["source", "source_ssl_mode", "source_ssl_ca", "ssl_mode", "ssl_ca"])]
    pub(crate) config: Option<PathBuf>,
    /// Print one JSON object per event per line, with "pos" (the event's
    /// start offset in its file), "end_pos", "type", "file" and the decoded
    /// body (rows with typed values).
    #[arg(long)]
    pub(crate) json: bool,
    /// Follow ROTATE events to the next file in the same directory.
    #[arg(long)]
    pub(crate) follow: bool,
    /// Read the binlog stream of this server instead of files.
    #[command(flatten)]
    pub(crate) source: Source,
    #[command(flatten)]
    pub(crate) tls: Tls,
    /// With --source: the binlog file to start from (default: the first
    /// one the server has).
    #[arg(long, value_name = "FILE")]
    pub(crate) start_file: Option<String>,
    /// With --source: the offset to start from.
    #[arg(long, value_name = "OFFSET", default_value_t = 4)]
    pub(crate) start_pos: u64,
    /// With --source: wait for new events at the end of the binlog instead
    /// of stopping there.
    #[arg(long)]
    pub(crate) stop_never: bool,
}

/// A binlog position argument, `FILE:OFFSET`.
fn position(s: &str) -> Result<dts_core::commands::FilePosition, String> {
    dts_core::commands::FilePosition::parse(s).map_err(|e| format!("expected FILE:OFFSET ({e})"))
}

/// Logs: `DTS_LOG` (e.g. `info`, `bulk_copy=debug`; default `warn`) on
/// stderr, as JSON lines when `DTS_LOG_FORMAT=json`. Nothing logged carries a
/// password: URLs are kept without them and driver messages are scrubbed.
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DTS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Colour only on a terminal: a file or a pipe gets plain text.
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
        } => task::show(&args.file.config, args.json, &mut out),
        Command::Precheck(args) => task::precheck(&args.file.config, args.json, &mut out),
        Command::Run(args) => run::run(&args.file.config, args.no_progress, &mut out),
        Command::Status(args) => run::status(&args.file.config, args.json, &mut out),
        Command::Stop(args) => run::stop(&args.config, &mut out),
        Command::Throttle(args) => control::throttle(&args, &mut out),
        Command::Pause(args) => control::pause(&args.config, true, &mut out),
        Command::Resume(args) => control::pause(&args.config, false, &mut out),
        Command::Release(args) => control::release(&args.config, &mut out),
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

/// A runtime for one command: two worker threads (the machine's other
/// cores are the servers').
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}
