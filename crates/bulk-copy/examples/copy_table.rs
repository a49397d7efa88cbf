//! Copies one table exactly from a source server to a target server, then
//! prints the binlog position incremental migration continues from.
//!
//! ```sh
//! DTS_SOURCE_PASSWORD=s DTS_TARGET_PASSWORD=t cargo run -p bulk-copy --example copy_table -- \
//!     mysql://dts@db1:3306 mysql://dts@db2:3306 shop.orders [--task NAME]
//! ```
//!
//! The table must exist on the target (empty, or holding rows of an earlier
//! run of the same task: a rerun after a failure goes on from the last
//! committed chunk). The passwords come from the environment variables
//! `DTS_SOURCE_PASSWORD` and `DTS_TARGET_PASSWORD`, never from the command
//! line (argv is visible to every user of the machine); a URL that carries
//! one is refused. The source account needs SELECT (and RELOAD on MySQL,
//! for the brief `FLUSH TABLES WITH READ LOCK` that starts the snapshots);
//! the target account needs INSERT and the rights on the `dts_meta` schema
//! where the checkpoint is kept.
//!
//! It prints two lines: what was copied, and `continue from FILE:POS` (or
//! that the source has no binlog). Exit codes: 0 copied, 2 on an error,
//! with its message on stderr.

use std::io::Write;
use std::process::ExitCode;

use bulk_copy::{copy_tables, CopyOptions, TableMapping};

/// Where the passwords come from.
const SOURCE_PASSWORD: &str = "DTS_SOURCE_PASSWORD";
const TARGET_PASSWORD: &str = "DTS_TARGET_PASSWORD";

const USAGE: &str = "usage: copy_table mysql://USER@SOURCE:PORT mysql://USER@TARGET:PORT \
                     DATABASE.TABLE [--task NAME] (passwords in DTS_SOURCE_PASSWORD and \
                     DTS_TARGET_PASSWORD)";

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let passwords = (
        std::env::var(SOURCE_PASSWORD).ok(),
        std::env::var(TARGET_PASSWORD).ok(),
    );
    match run(&args, passwords, &mut std::io::stdout().lock()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("copy_table: {e}");
            ExitCode::from(2)
        }
    }
}

/// What the command line asks for.
struct Args {
    source: String,
    target: String,
    database: String,
    table: String,
    task: String,
}

fn parse_args(args: &[String]) -> Result<Args, Error> {
    let mut positional = Vec::new();
    let mut task = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--task" => task = Some(it.next().ok_or("--task needs a name")?.clone()),
            "-h" | "--help" => return Err(USAGE.into()),
            _ if a.starts_with('-') => return Err(format!("unknown option {a}\n{USAGE}").into()),
            _ => positional.push(a.clone()),
        }
    }
    let [source, target, table] = <[String; 3]>::try_from(positional).map_err(|_| USAGE)?;
    let (database, table) = table
        .split_once('.')
        .ok_or_else(|| format!("{table:?}: expected DATABASE.TABLE\n{USAGE}"))?;
    Ok(Args {
        // A rerun of the same copy resumes it: the task is named after the
        // table unless given.
        task: task.unwrap_or_else(|| format!("copy_table-{database}.{table}")),
        source,
        target,
        database: database.to_string(),
        table: table.to_string(),
    })
}

/// Connection options from a URL without a password, and the password from
/// the environment variable `var` (`password`).
fn opts(url: &str, var: &str, password: Option<String>) -> Result<mysql_async::Opts, Error> {
    let opts = mysql_async::Opts::from_url(url)
        .map_err(|e| format!("invalid URL (expected mysql://USER@HOST:PORT): {e}"))?;
    if opts.pass().is_some() {
        return Err(format!(
            "the URL carries a password; put it in the environment variable {var} instead \
             (command lines are visible to every user of the machine)"
        )
        .into());
    }
    Ok(mysql_async::OptsBuilder::from_opts(opts)
        .pass(password)
        .into())
}

/// Copies the table `args` name, with the passwords (source, target) given,
/// and writes what it did and where to continue from to `out`.
pub(crate) async fn run(
    args: &[String],
    passwords: (Option<String>, Option<String>),
    out: &mut impl Write,
) -> Result<(), Error> {
    let args = parse_args(args)?;
    let source = opts(&args.source, SOURCE_PASSWORD, passwords.0)?;
    let target = opts(&args.target, TARGET_PASSWORD, passwords.1)?;
    let options = CopyOptions {
        task: args.task,
        ..CopyOptions::default()
    };
    let table = TableMapping::same(&args.database, &args.table);
    let report = copy_tables(&source, &target, &[table], &options).await?;
    for t in &report.tables {
        writeln!(
            out,
            "copied {} -> {}: {} rows ({})",
            t.table,
            t.target,
            t.rows,
            if t.already_done {
                "already copied by an earlier run"
            } else {
                t.method.as_str()
            }
        )?;
    }
    match report.start {
        // The lowest snapshot position the copy read at; changes from there
        // on are what incremental migration applies (idempotently up to
        // `report.overlap_end`, when there is one).
        Some(start) => writeln!(out, "continue from {start}")?,
        None => writeln!(
            out,
            "the source has no binlog: no incremental migration can follow"
        )?,
    }
    Ok(())
}
