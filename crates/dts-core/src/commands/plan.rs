//! `dts schema plan`: the schema migration's DDL for the target.

use mysql_async::Conn;
use schema_diff::plan::Plan;

use crate::config::{PlanConfig, PlanTarget};
use crate::task::error::{db, TaskError};
use crate::task::plan::plan_for;

/// The ordered DDL that creates the selected databases on the target (or
/// for the version given), with the renames, name case and definer rule,
/// and every warning: what `dts run` executes in its schema and
/// foreign-key phases and at cut-over.
///
/// # Errors
///
/// When a server cannot be read or the schema cannot be translated.
pub async fn schema_plan(cfg: &PlanConfig) -> Result<Plan, TaskError> {
    let version = match &cfg.target {
        PlanTarget::Version(v) => v.clone(),
        PlanTarget::Server(t) => {
            let mut tgt = Conn::new(t.connect_opts().await)
                .await
                .map_err(db("target", "connecting"))?;
            let v = schema_diff::extract::server_version(&mut tgt).await?;
            tgt.disconnect().await.ok();
            v
        }
    };
    let mut src = Conn::new(cfg.source.connect_opts().await)
        .await
        .map_err(db("source", "connecting"))?;
    let (_, p) = plan_for(cfg, &mut src, version).await?;
    src.disconnect().await.ok();
    Ok(p)
}
