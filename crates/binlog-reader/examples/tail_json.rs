//! Tails a server's binlog and prints every event as one JSON line: the
//! lines of `dts binlog dump --json` ([`binlog_reader::render::event_json`]).
//!
//! ```sh
//! MYSQL_PWD=secret cargo run -p binlog-reader --example tail_json -- \
//!     mysql://repl@db1:3306 [FILE:POS] [--stop-at-end] [--server-id N]
//! ```
//!
//! The password comes from the environment variable `MYSQL_PWD`, never from
//! the command line (argv is visible to every user of the machine); a URL
//! that carries one is refused. The account needs `REPLICATION SLAVE` (and
//! `REPLICATION CLIENT` on MySQL). Without `FILE:POS` it starts at the
//! server's first binlog file; pass the position `SHOW BINARY LOG STATUS`
//! (MySQL 8.4) or `SHOW MASTER STATUS` prints to start at the end. It waits
//! for new events until interrupted, or with `--stop-at-end` stops at the end
//! of the binlog. `--server-id` is the id it registers with, which must
//! differ from every replica's (default: 4000000000 minus the process id
//! modulo 1000).
//!
//! Exit codes: 0 at the end (also when the output is closed, as by `head`),
//! 2 on an error, with its message on stderr.

use std::io::Write;
use std::process::ExitCode;

use binlog_reader::render::event_json;
use binlog_reader::{BinlogStreamReader, StreamConfig, StreamStart};

/// Where the password comes from.
const PASSWORD_VAR: &str = "MYSQL_PWD";

const USAGE: &str =
    "usage: tail_json mysql://USER@HOST:PORT [FILE:POS] [--stop-at-end] [--server-id N] \
     (password in MYSQL_PWD)";

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let password = std::env::var(PASSWORD_VAR).ok();
    match run(&args, password, &mut std::io::stdout().lock()).await {
        Ok(_) => ExitCode::SUCCESS,
        // A reader that went away (`tail_json ... | head`) is no error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tail_json: {e}");
            ExitCode::from(2)
        }
    }
}

/// What the command line asks for.
struct Args {
    url: String,
    start: StreamStart,
    stop_at_end: bool,
    server_id: u32,
}

fn parse_args(args: &[String]) -> Result<Args, Error> {
    let mut url = None;
    let mut start = StreamStart::File(None, 4);
    let mut stop_at_end = false;
    let mut server_id = 4_000_000_000 - std::process::id() % 1000;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--stop-at-end" => stop_at_end = true,
            "--server-id" => {
                let n = it.next().ok_or("--server-id needs a number")?;
                server_id = n.parse().map_err(|e| format!("--server-id {n:?}: {e}"))?;
            }
            "-h" | "--help" => return Err(USAGE.into()),
            _ if a.starts_with('-') => return Err(format!("unknown option {a}\n{USAGE}").into()),
            _ if url.is_none() => url = Some(a.clone()),
            _ => {
                let (file, pos) = a
                    .rsplit_once(':')
                    .ok_or_else(|| format!("{a:?}: expected FILE:POS\n{USAGE}"))?;
                let pos = pos.parse().map_err(|e| format!("{a:?}: position: {e}"))?;
                start = StreamStart::File(Some(file.to_string()), pos);
            }
        }
    }
    Ok(Args {
        url: url.ok_or(USAGE)?,
        start,
        stop_at_end,
        server_id,
    })
}

/// Reads the binlog `args` name and writes one JSON line per event to
/// `out`; returns how many events it wrote.
pub(crate) async fn run(
    args: &[String],
    password: Option<String>,
    out: &mut impl Write,
) -> Result<u64, Error> {
    let args = parse_args(args)?;
    let opts = mysql_async::Opts::from_url(&args.url)
        .map_err(|e| format!("invalid URL (expected mysql://USER@HOST:PORT): {e}"))?;
    if opts.pass().is_some() {
        return Err(format!(
            "the URL carries a password; put it in the environment variable {PASSWORD_VAR} \
             instead (command lines are visible to every user of the machine)"
        )
        .into());
    }
    let opts = mysql_async::OptsBuilder::from_opts(opts).pass(password);
    let mut cfg = StreamConfig::new(opts.into(), args.server_id, args.start);
    cfg.non_blocking = args.stop_at_end;
    let mut reader = BinlogStreamReader::connect(cfg).await?;
    let mut written = 0;
    while let Some(ev) = reader.next().await? {
        // One line per event, flushed at once (stdout is line-buffered), so
        // a consumer sees each event as it arrives.
        writeln!(out, "{}", event_json(&ev))?;
        written += 1;
    }
    Ok(written)
}
