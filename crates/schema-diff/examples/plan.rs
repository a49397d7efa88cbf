//! Plans a database's DDL for a target version: reads the database's schema
//! from a source server and prints the statements that create it on the
//! target, in order, with the translation's warnings, as a script the
//! `mysql`/`mariadb` client can run.
//!
//! ```sh
//! MYSQL_PWD=secret cargo run -p schema-diff --example plan -- \
//!     mysql://reader@db1:3306 shop --target-version 8.0.36
//! ```
//!
//! The password comes from the environment variable `MYSQL_PWD`, never from
//! the command line (argv is visible to every user of the machine); a URL
//! that carries one is refused. The account only reads (`SELECT` on the
//! database and `SHOW VIEW`; definitions of routines and triggers need what
//! `SHOW CREATE` needs for them). Nothing is run on any server: the target is
//! only a version (`8.0.36`, `8.4.3`, `10.11.6-MariaDB`, ...). DEFINER
//! clauses are removed and views and routines run as SQL SECURITY INVOKER.
//!
//! Exit codes: 0 with the plan on stdout, 2 on an error, with its message on
//! stderr.

use std::io::Write;
use std::process::ExitCode;

use schema_diff::extract::extract_schema;
use schema_diff::names::NameMap;
use schema_diff::plan::{plan, Plan};
use schema_diff::translate::{DefinerPolicy, TranslateOptions};
use schema_diff::ServerVersion;

/// Where the password comes from.
const PASSWORD_VAR: &str = "MYSQL_PWD";

const USAGE: &str = "usage: plan mysql://USER@HOST:PORT DATABASE --target-version VERSION \
                     (password in MYSQL_PWD)";

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let password = std::env::var(PASSWORD_VAR).ok();
    let result = match run(&args, password).await {
        Ok(p) => write!(std::io::stdout().lock(), "{p}").map_err(Error::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plan: {e}");
            ExitCode::from(2)
        }
    }
}

/// Reads the database `args` name from the source and plans it for the
/// target version.
pub(crate) async fn run(args: &[String], password: Option<String>) -> Result<Plan, Error> {
    let mut positional = Vec::new();
    let mut target = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target-version" => target = Some(it.next().ok_or(USAGE)?),
            "-h" | "--help" => return Err(USAGE.into()),
            _ if a.starts_with('-') => return Err(format!("unknown option {a}\n{USAGE}").into()),
            _ => positional.push(a),
        }
    }
    let ([url, database], Some(target)) = (positional.as_slice(), target) else {
        return Err(USAGE.into());
    };
    let target = ServerVersion::parse(target).map_err(|e| {
        format!("--target-version {target:?} (e.g. 8.0.36 or 10.11.6-MariaDB): {e}")
    })?;
    let opts = mysql_async::Opts::from_url(url)
        .map_err(|e| format!("invalid URL (expected mysql://USER@HOST:PORT): {e}"))?;
    if opts.pass().is_some() {
        return Err(format!(
            "the URL carries a password; put it in the environment variable {PASSWORD_VAR} \
             instead (command lines are visible to every user of the machine)"
        )
        .into());
    }
    let opts = mysql_async::OptsBuilder::from_opts(opts).pass(password);
    let mut conn = mysql_async::Conn::new(opts).await?;
    let schema = extract_schema(&mut conn, std::slice::from_ref(*database)).await;
    conn.disconnect().await.ok();
    let schema = schema?;
    if schema.database(database).is_none() {
        return Err(format!(
            "the source has no database {}",
            schema_diff::quote(database)
        )
        .into());
    }
    let opts = TranslateOptions {
        target,
        names: NameMap::default(),
        definer: DefinerPolicy::Invoker,
    };
    Ok(plan(&schema, &opts)?)
}
