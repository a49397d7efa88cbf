//! `dts verify --schema`: the target's definitions compared with what the
//! task's schema migration makes of the source's.
//!
//! The source's selected objects are read and translated as the schema
//! phase translates them (schema-diff's `expected_target`: renames and the
//! name case, the DEFINER rule, mapped collations), then compared with the
//! target's objects in the mapped databases (schema-diff's `compare`:
//! tables with their columns, indexes, checks and foreign keys, views,
//! routines, triggers and events; DEFINER accounts and AUTO_INCREMENT
//! counters are not compared). A database selected by its tables is
//! compared on those tables and their triggers only, as the task migrates
//! them. Triggers and events are created at cut-over: before it, they are
//! reported missing.

use mysql_async::Conn;
use schema_diff::compare::{compare, expected_target, CompareOptions, Difference};
use schema_diff::extract::{extract_schema, list_databases, server_version};

use crate::config::{PlanConfig, TaskConfig};

use super::error::{db, TaskError};
use super::options::translate_options;
use super::plan::selected_schema;

/// Every difference between the target's definitions and the source's as
/// the task translates them (see the module documentation); empty when
/// they agree.
///
/// # Errors
///
/// A server cannot be reached or read.
pub async fn verify_schema(cfg: &TaskConfig) -> Result<Vec<Difference>, TaskError> {
    let mut src = Conn::new(cfg.source.connect_opts().await)
        .await
        .map_err(db("source", "connecting"))?;
    let mut tgt = Conn::new(cfg.target.connect_opts().await)
        .await
        .map_err(db("target", "connecting"))?;
    let version = server_version(&mut tgt).await?;
    let source = selected_schema(&cfg.objects, &mut src).await?;
    let opts = translate_options(&PlanConfig::from(cfg), version);
    let expected = expected_target(&source, &opts)?;
    let existing = list_databases(&mut tgt).await?;
    let present: Vec<String> = expected
        .databases
        .iter()
        .map(|d| d.name.clone())
        .filter(|d| existing.contains(d))
        .collect();
    let mut target = extract_schema(&mut tgt, &present).await?;
    for o in cfg.objects.iter().filter(|o| !o.whole()) {
        let name = opts.names.database(&o.database);
        let (Some(e), Some(d)) = (
            expected.databases.iter().find(|d| d.name == name),
            target.databases.iter_mut().find(|d| d.name == name),
        ) else {
            continue;
        };
        d.tables.retain(|t| {
            e.tables
                .iter()
                .any(|x| x.name.eq_ignore_ascii_case(&t.name))
        });
        d.triggers.retain(|t| {
            e.tables
                .iter()
                .any(|x| x.name.eq_ignore_ascii_case(&t.table))
        });
        d.views.clear();
        d.routines.clear();
        d.events.clear();
    }
    Ok(compare(&expected, &target, &CompareOptions::default()))
}
