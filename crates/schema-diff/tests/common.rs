//! Helpers shared by the integration tests: run a plan on the target.
#![allow(dead_code, unreachable_pub)]

use dts_test_support::{connect, quote_ident, Server};
use mysql_async::prelude::*;
use schema_diff::plan::Plan;

/// Runs every statement of `plan` on the target, each with its database as
/// the default database. Returns the first failure as text.
pub async fn run_plan(plan: &Plan) -> Result<(), String> {
    let mut c = connect(Server::Target, None).await;
    c.query_drop("SET NAMES utf8mb4")
        .await
        .map_err(|e| e.to_string())?;
    let mut current: Option<String> = None;
    for s in &plan.statements {
        if s.phase != schema_diff::plan::Phase::Databases && current.as_deref() != Some(&s.database)
        {
            c.query_drop(format!("USE {}", quote_ident(&s.database)))
                .await
                .map_err(|e| format!("USE {}: {e}", s.database))?;
            current = Some(s.database.clone());
        }
        c.query_drop(&s.sql)
            .await
            .map_err(|e| format!("{}: {e}\n  statement: {}", s.object, s.sql))?;
    }
    c.disconnect().await.ok();
    Ok(())
}
