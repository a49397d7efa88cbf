//! The precheck: everything that can be known before a task starts, each
//! item reported as pass, warning or failure with what was found, why it
//! matters, and the exact fix (SQL or server setting).
//!
//! A task starts only when [`PrecheckReport::passed`]: no failure, and every
//! warning acknowledged in the task file (`[precheck] acknowledge = ["id"]`).
//! Check ids are stable; [`CHECKS`] lists them with the reason each exists,
//! and `docs/precheck.md` documents them with their fixes.
//!
//! How it works: each server is read once (`gather`, with [`facts`]:
//! variables, version, account privileges, engines, collations; the
//! selected objects' schema through `schema_diff::extract`), then every
//! check judges those facts without further I/O. The checks are grouped by
//! family, one file each: `connection`, `versions` (and target features),
//! `objects`, `binlog`, `privileges`, `conflicts`, `names`, `settings`
//! (the pair's and the target's) and `node_role`; `report` holds the
//! report's types.

use mysql_async::Conn;

use crate::config::TaskConfig;
use crate::secret::scrub;

mod binlog;
mod conflicts;
mod connection;
pub mod facts;
#[cfg(test)]
mod fixtures;
mod gather;
mod names;
mod node_role;
mod objects;
mod privileges;
mod report;
mod settings;
mod versions;

pub use crate::check_ids::{CheckInfo, CHECKS};
pub use binlog::ESTIMATED_COPY_RATE;
pub use report::{Check, PrecheckReport, Status, SCHEMA_VERSION};

use gather::{Ctx, GatherError};
use report::fail;

/// Runs every check against the task's servers. Never fails as a whole:
/// a server that cannot be reached is a failed check, and the checks that
/// need it are left out.
pub async fn run_precheck(task: &TaskConfig) -> PrecheckReport {
    let mut checks = Vec::new();
    let (src, reached) = gather::connect(&task.source).await;
    connection::connection_checks(&task.source, "source", &reached, &mut checks);
    let (tgt, reached) = gather::connect(&task.target).await;
    connection::connection_checks(&task.target, "target", &reached, &mut checks);
    if let (Some(mut s), Some(mut t)) = (src, tgt) {
        match read(task, &mut s, &mut t, &mut checks).await {
            Ok(ctx) => judge(task, &ctx, &mut checks),
            Err((id, e)) => checks.push(fail(
                id,
                format!("reading the server failed: {}", scrub_err(task, &e)),
                "fix what the server reported (a missing privilege: see source.privileges \
                 and target.privileges and docs/precheck.md), then run the precheck again; \
                 the remaining checks run once the servers can be read",
            )),
        }
        s.disconnect().await.ok();
        t.disconnect().await.ok();
    }
    for c in &mut checks {
        if c.status == Status::Warning && task.acknowledge.iter().any(|a| a == c.id) {
            c.status = Status::Acknowledged;
        }
    }
    let order = |id: &str| CHECKS.iter().position(|c| c.id == id).unwrap_or(usize::MAX);
    checks.sort_by_key(|c| order(c.id));
    PrecheckReport {
        schema_version: SCHEMA_VERSION,
        task: task.task.clone(),
        source: task.source.url.clone(),
        target: task.target.url.clone(),
        checks,
    }
}

/// Reads both servers. The privileges are judged as soon as they are known:
/// they decide whether the definitions can be read, so a read that then
/// fails still reports what the account lacks.
async fn read(
    task: &TaskConfig,
    s: &mut Conn,
    t: &mut Conn,
    checks: &mut Vec<Check>,
) -> Result<Ctx, GatherError> {
    let servers = gather::servers(task, s, t).await?;
    privileges::privilege_checks(task, &servers.src, &servers.tgt, &servers.inv, checks);
    gather::objects(task, servers, s, t).await
}

/// Every check but the connection and privilege checks, on what was read.
fn judge(task: &TaskConfig, ctx: &Ctx, out: &mut Vec<Check>) {
    let (src, tgt) = (&ctx.src, &ctx.tgt);
    let schema_phase = task.migration.has(crate::config::MigrationType::Schema);
    versions::distinct(src, tgt, out);
    out.push(versions::versions(&src.version, &tgt.version));
    out.push(versions::target_features(task, ctx));
    objects::selection(ctx, out);
    binlog::binlog_checks(task, src, ctx, out);
    objects::primary_keys(ctx, out);
    out.push(conflicts::conflicts(task, ctx, schema_phase));
    names::names_checks(task, ctx, out);
    settings::settings_checks(ctx, out);
    settings::target_checks(task, ctx, out);
    node_role::node_role(task, src, out);
    objects::object_checks(task, ctx, out);
}

fn scrub_err(task: &TaskConfig, e: &dyn std::fmt::Display) -> String {
    let secrets: Vec<_> = [&task.source.password, &task.target.password]
        .into_iter()
        .flatten()
        .collect();
    scrub(&e.to_string(), &secrets)
}
