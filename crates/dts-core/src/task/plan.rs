//! The task's schema migration: the source's selected schema, schema-diff's
//! plan for the target, and running its statements phase by phase.

use mysql_async::prelude::*;
use mysql_async::Conn;
use schema_diff::plan::{plan, Phase as PlanPhase, Plan};

use crate::config::TaskConfig;

use super::error::{db, TaskError};
use super::handles::Reporter;
use super::options::translate_options;
use super::sql::quote;

/// The source's selected databases and tables, read with schema-diff and
/// narrowed to the selection.
pub(super) async fn selected_schema(
    cfg: &TaskConfig,
    src: &mut Conn,
) -> Result<schema_diff::model::Schema, TaskError> {
    let dbs: Vec<String> = cfg.objects.iter().map(|o| o.database.clone()).collect();
    let mut schema = schema_diff::extract::extract_schema(src, &dbs).await?;
    for d in &mut schema.databases {
        let Some(o) = cfg.objects.iter().find(|o| o.database == d.name) else {
            continue;
        };
        if !o.whole() {
            let name = d.name.clone();
            d.tables.retain(|t| cfg.selected(&name, &t.name).is_some());
            d.views.clear();
            d.routines.clear();
            d.triggers
                .retain(|t| cfg.selected(&name, &t.table).is_some());
            d.events.clear();
        }
    }
    Ok(schema)
}

/// The source's selected schema and its plan for the target's version.
pub(super) async fn the_plan(
    cfg: &TaskConfig,
    src: &mut Conn,
    tgt: &mut Conn,
) -> Result<(schema_diff::model::Schema, Plan), TaskError> {
    let schema = selected_schema(cfg, src).await?;
    let target = schema_diff::extract::server_version(tgt).await?;
    let p = plan(&schema, &translate_options(cfg, target))?;
    Ok((schema, p))
}

/// Errors that mean a statement already ran (accepted when a phase is run
/// again after a stop).
const ALREADY: &[u16] = &[1007, 1050, 1304, 1359, 1537, 1826, 1061];

/// Runs the plan's statements of `phases` on the target; a statement that
/// already ran (a phase run again after a stop) is reported and skipped.
/// Returns how many ran.
pub(super) async fn run_statements(
    tgt: &mut Conn,
    p: &Plan,
    phases: &[PlanPhase],
    report: &Reporter,
) -> Result<usize, TaskError> {
    let mut n = 0;
    for st in p.statements.iter().filter(|s| phases.contains(&s.phase)) {
        if !st.database.is_empty() && st.phase != PlanPhase::Databases {
            tgt.query_drop(format!("USE {}", quote(&st.database)))
                .await
                .map_err(db("target", format!("using {}", quote(&st.database))))?;
        }
        match tgt.query_drop(&st.sql).await {
            Ok(()) => n += 1,
            Err(mysql_async::Error::Server(e)) if ALREADY.contains(&e.code) => {
                report(&format!("  {} already exists on the target", st.object));
            }
            Err(mysql_async::Error::Server(e)) if e.code == 1005 && e.message.contains("121") => {
                report(&format!("  {} already exists on the target", st.object));
            }
            Err(e) => {
                return Err(TaskError::Database {
                    server: "target",
                    what: format!("creating {} ({:?} phase)", st.object, st.phase),
                    error: e,
                })
            }
        }
    }
    Ok(n)
}

/// The task's schema migration: the ordered DDL for its target, with the
/// task's selection, renames, name case and definer rule (what `dts run`
/// executes in its schema and foreign-key phases, and at cut-over).
///
/// # Errors
///
/// When a server cannot be read or the schema cannot be translated.
pub async fn task_plan(cfg: &TaskConfig) -> Result<Plan, TaskError> {
    let mut src = Conn::new(cfg.source.connect_opts().await)
        .await
        .map_err(db("source", "connecting"))?;
    let mut tgt = Conn::new(cfg.target.connect_opts().await)
        .await
        .map_err(db("target", "connecting"))?;
    Ok(the_plan(cfg, &mut src, &mut tgt).await?.1)
}
