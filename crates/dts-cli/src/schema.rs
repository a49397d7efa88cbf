//! `dts schema plan`: the schema migration's DDL for the target, in order,
//! with its warnings, as a script a client can run (or as JSON).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use dts_core::schema_diff::extract::{extract_schema, server_version};
use dts_core::schema_diff::names::{NameMap, Renames};
use dts_core::schema_diff::plan::plan;
use dts_core::schema_diff::translate::{DefinerPolicy, TranslateOptions};
use dts_core::schema_diff::{CasePolicy, ServerVersion};

use crate::dump_stream::opts_from_url;
use crate::{line, SchemaPlanArgs};

pub(crate) fn run(args: &SchemaPlanArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.config {
        let cfg = dts_core::config::TaskConfig::from_file(path)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let p = rt.block_on(dts_core::task::task_plan(&cfg))?;
        if args.json {
            line(out, format_args!("{}", serde_json::to_string_pretty(&p)?))?;
        } else {
            write!(out, "{p}")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let source = opts_from_url(
        args.source.as_deref().unwrap_or_default(),
        "DTS_SOURCE_PASSWORD",
    )?;
    let target = args
        .target
        .as_deref()
        .map(|u| opts_from_url(u, "DTS_TARGET_PASSWORD"))
        .transpose()?;
    let case = match args.case.as_str() {
        "keep" => CasePolicy::Keep,
        "lower" => CasePolicy::Lower,
        "upper" => CasePolicy::Upper,
        other => bail!("--case {other:?}: expected keep, lower or upper"),
    };
    let mut renames = Renames::default();
    for r in &args.rename_database {
        let Some((from, to)) = r.split_once('=') else {
            bail!("--rename-database {r:?}: expected FROM=TO");
        };
        renames = renames.database(from, to);
    }
    let definer = match &args.definer {
        None => DefinerPolicy::Invoker,
        Some(a) => DefinerPolicy::Account(a.clone()),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (schema, version) = rt.block_on(async {
        let mut c = mysql_async::Conn::new(source)
            .await
            .context("connecting to the source")?;
        let schema = extract_schema(&mut c, &args.database)
            .await
            .context("reading the source schema")?;
        c.disconnect().await.ok();
        let version = match (&target, &args.target_version) {
            (Some(t), _) => {
                let mut c = mysql_async::Conn::new(t.clone())
                    .await
                    .context("connecting to the target")?;
                let v = server_version(&mut c)
                    .await
                    .context("reading the target's version")?;
                c.disconnect().await.ok();
                v
            }
            (None, Some(v)) => ServerVersion::parse(v).with_context(|| {
                format!("--target-version {v:?} (e.g. 8.0.36 or 10.11.6-MariaDB)")
            })?,
            (None, None) => bail!("give --target URL or --target-version VERSION"),
        };
        Ok::<_, anyhow::Error>((schema, version))
    })?;
    let opts = TranslateOptions {
        target: version,
        names: NameMap::new(renames, case),
        definer,
    };
    let p = plan(&schema, &opts).context("planning the schema migration")?;
    if args.json {
        line(out, format_args!("{}", serde_json::to_string_pretty(&p)?))?;
    } else {
        write!(out, "{p}")?;
    }
    Ok(ExitCode::SUCCESS)
}
