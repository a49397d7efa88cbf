//! The task's schema migration: the source's selected schema, schema-diff's
//! plan for the target, and running its statements phase by phase.

use mysql_async::prelude::*;
use mysql_async::Conn;
use schema_diff::plan::{plan, Phase as PlanPhase, Plan};

use schema_diff::ServerVersion;

use crate::config::{ObjectSelection, PlanConfig, TaskConfig};

use super::error::{db, TaskError};
use super::handles::Reporter;
use super::options::translate_options;
use super::sql::quote;

/// The source's selected databases and tables, read with schema-diff and
/// narrowed to the selection.
pub(crate) async fn selected_schema(
    objects: &[ObjectSelection],
    src: &mut Conn,
) -> Result<schema_diff::model::Schema, TaskError> {
    let dbs: Vec<String> = objects.iter().map(|o| o.database.clone()).collect();
    let mut schema = schema_diff::extract::extract_schema(src, &dbs).await?;
    for d in &mut schema.databases {
        let Some(o) = objects.iter().find(|o| o.database == d.name) else {
            continue;
        };
        if !o.whole() {
            d.tables.retain(|t| o.table(&t.name).is_some());
            d.views.clear();
            d.routines.clear();
            d.triggers.retain(|t| o.table(&t.table).is_some());
            d.events.clear();
        }
    }
    Ok(schema)
}

/// The selected schema of `cfg`'s source and its plan for `target`.
pub(crate) async fn plan_for(
    cfg: &PlanConfig,
    src: &mut Conn,
    target: ServerVersion,
) -> Result<(schema_diff::model::Schema, Plan), TaskError> {
    let schema = selected_schema(&cfg.objects, src).await?;
    let p = plan(&schema, &translate_options(cfg, target))?;
    Ok((schema, p))
}

/// The source's selected schema and its plan for the target's version.
pub(super) async fn the_plan(
    cfg: &TaskConfig,
    src: &mut Conn,
    tgt: &mut Conn,
) -> Result<(schema_diff::model::Schema, Plan), TaskError> {
    let target = schema_diff::extract::server_version(tgt).await?;
    plan_for(&PlanConfig::from(cfg), src, target).await
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
