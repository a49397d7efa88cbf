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

mod dump;
mod dump_stream;

/// Live MySQL and MariaDB migration, exact and resumable.
#[derive(Parser, Debug)]
#[command(name = "dts", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Binlog tools.
    Binlog {
        #[command(subcommand)]
        command: BinlogCommand,
    },
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

/// Arguments of `dts binlog dump`.
#[derive(Args, Debug)]
pub(crate) struct DumpArgs {
    /// Binlog files, read in the order given.
    #[arg(required_unless_present = "source")]
    pub(crate) files: Vec<PathBuf>,
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
    #[arg(long, value_name = "FILE", requires = "source")]
    pub(crate) start_file: Option<String>,
    /// With --source: the offset to start from.
    #[arg(long, value_name = "OFFSET", default_value_t = 4, requires = "source")]
    pub(crate) start_pos: u64,
    /// With --source: stop at the end of the binlog instead of waiting for
    /// new events.
    #[arg(long, requires = "source")]
    pub(crate) stop_never: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = match cli.command {
        Command::Binlog {
            command: BinlogCommand::Dump(args),
        } => dump::run(&args, &mut out),
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
