//! `dts schema plan`: the schema migration's DDL for the target, in order,
//! with its warnings, as a script a client can run (or as JSON).

use std::io::Write;
use std::process::ExitCode;

use dts_core::config::{CommandLine, PlanConfig, TaskConfig};

use crate::{line, runtime, SchemaPlanArgs};

pub(crate) fn run(args: &SchemaPlanArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let cfg = match &args.config {
        Some(path) => PlanConfig::from(&TaskConfig::from_file(path)?),
        None => CommandLine {
            source: args.source.server(&args.tls),
            target: args.target.server(&args.tls),
            databases: args.database.clone(),
            rename_databases: args.rename_database.clone(),
            name_case: args.case,
            definer: args.definer.clone(),
            ..CommandLine::default()
        }
        .plan_config(args.target_version.as_deref())?,
    };
    let p = runtime()?.block_on(dts_core::commands::schema_plan(&cfg))?;
    if args.json {
        line(out, format_args!("{}", serde_json::to_string_pretty(&p)?))?;
    } else {
        write!(out, "{p}")?;
    }
    Ok(ExitCode::SUCCESS)
}
