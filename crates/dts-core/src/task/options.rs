//! The library options a task's config makes, built in this one place: the
//! copy's and the apply's options, the selection they work on, the
//! verification at cut-over and schema-diff's translation options.

use std::time::Duration;

use binlog_reader::position::FilePosition;
use bulk_copy::{
    ApplyOptions, ApplySelection, CopyOptions, Heartbeat, TableMapping, ThrottleLimits,
};
use mysql_async::{Conn, Opts};
use schema_diff::binlog_ddl::DdlKind;
use schema_diff::translate::TranslateOptions;
use schema_diff::ServerVersion;

use crate::config::{DmlOp, HeartbeatMode, TaskConfig, ALL_DDL, ALL_DML};

use super::error::{db, TaskError};
use super::handles::RunHandles;
use super::plan::selected_schema;

/// The apply's selection and the copy's tables (renames, column subsets,
/// filters, per-object DML and DDL filters) of the task's objects in the
/// source's schema.
pub(super) fn selection(
    cfg: &TaskConfig,
    schema: &schema_diff::model::Schema,
) -> Result<(ApplySelection, Vec<TableMapping>), TaskError> {
    let mut sel = ApplySelection::default();
    let mut tables = Vec::new();
    for o in &cfg.objects {
        let names = cfg.name_map();
        if o.whole() {
            sel.databases
                .push((o.database.clone(), names.database(&o.database)));
        }
        // Per-object DML/DDL filters: an entry only where they narrow.
        let ops = |table: Option<String>, dml: &[DmlOp], ddl: &[DdlKind]| {
            (dml.len() < ALL_DML.len() || ddl.len() < ALL_DDL.len()).then(|| {
                bulk_copy::apply::Operations {
                    database: o.database.clone(),
                    table,
                    insert: dml.contains(&DmlOp::Insert),
                    update: dml.contains(&DmlOp::Update),
                    delete: dml.contains(&DmlOp::Delete),
                    ddl: ddl.to_vec(),
                }
            })
        };
        sel.operations.extend(ops(None, &o.dml, &o.ddl));
        for t in o.tables.iter().flatten() {
            sel.operations
                .extend(ops(Some(t.name.clone()), &t.dml, &t.ddl));
        }
        let Some(d) = schema.database(&o.database) else {
            return Err(TaskError::Other(format!(
                "the source has no database {:?} (or the account cannot see it): fix [[objects]] database",
                o.database
            )));
        };
        for t in &d.tables {
            let cols: Vec<String> = t
                .columns
                .iter()
                .filter(|c| c.generation_expression.is_none())
                .map(|c| c.name.clone())
                .collect();
            let ct = cfg
                .copy_table(&o.database, &t.name, &cols)
                .map_err(|e| TaskError::Other(e.to_string()))?;
            if let Some(ct) = ct {
                let refined = ct.columns.is_some()
                    || ct.filter.is_some()
                    || ct.target_table != t.name
                    || !o.whole();
                if refined {
                    sel.tables.push(ct.clone());
                }
                tables.push(ct);
            }
        }
    }
    Ok((sel, tables))
}

/// The apply's options: the task's checkpoint, conflict policy, heartbeat
/// and throttle, reporting to the run's handles.
pub(super) fn apply_options(cfg: &TaskConfig, h: &RunHandles) -> ApplyOptions {
    let o = ApplyOptions {
        task: cfg.task.clone(),
        meta_schema: cfg.target.meta_schema.clone(),
        conflict: cfg.incremental.conflict.policy(),
        skip_failed_ddl: !cfg.incremental.skip_ddl.is_empty(),
        progress: h.apply.clone(),
        stop: h.stop.clone(),
        heartbeat: match cfg.heartbeat.mode {
            HeartbeatMode::SourceTable => Some(Heartbeat {
                database: cfg.heartbeat.schema.clone(),
                table: "heartbeat".into(),
                interval: Duration::from_secs(u64::from(cfg.heartbeat.interval_seconds.max(1))),
            }),
            HeartbeatMode::None => None,
        },
        ..ApplyOptions::default()
    };
    o.throttle.set_limits(ThrottleLimits {
        queries_per_sec: None,
        rows_per_sec: (cfg.incremental.max_rows_per_sec > 0.0)
            .then_some(cfg.incremental.max_rows_per_sec),
        bytes_per_sec: (cfg.incremental.max_bytes_per_sec > 0.0)
            .then_some(cfg.incremental.max_bytes_per_sec),
    });
    o
}

/// The apply's options for the drain at cut-over: up to the source's final
/// position `until`, without heartbeats (the source is fenced).
pub(super) fn drain_options(cfg: &TaskConfig, h: &RunHandles, until: FilePosition) -> ApplyOptions {
    ApplyOptions {
        until: Some(until),
        heartbeat: None,
        ..apply_options(cfg, h)
    }
}

/// The full copy's options: connections, conflict policy, snapshot mode,
/// index deferral and throttle, reporting to the run's handles.
pub(super) fn copy_options(cfg: &TaskConfig, h: &RunHandles) -> CopyOptions {
    let o = CopyOptions {
        readers: cfg.full.readers,
        writers: cfg.full.writers,
        conflict: cfg.full.conflict.policy(),
        snapshot: cfg.full.snapshot.mode(),
        task: cfg.task.clone(),
        meta_schema: cfg.target.meta_schema.clone(),
        progress: h.copy.clone(),
        defer_indexes_min_bytes: if cfg.full.defer_indexes {
            CopyOptions::default().defer_indexes_min_bytes
        } else {
            None
        },
        ..CopyOptions::default()
    };
    o.throttle.set_limits(ThrottleLimits {
        queries_per_sec: (cfg.full.max_queries_per_sec > 0.0)
            .then_some(cfg.full.max_queries_per_sec),
        rows_per_sec: (cfg.full.max_rows_per_sec > 0.0).then_some(cfg.full.max_rows_per_sec),
        bytes_per_sec: (cfg.full.max_bytes_per_sec > 0.0).then_some(cfg.full.max_bytes_per_sec),
    });
    o
}

/// The verification at cut-over: the defaults (the source is fenced and
/// drained, so every table is compared offline, on exact bytes).
pub(super) fn verify_options() -> row_verify::VerifyOptions {
    row_verify::VerifyOptions::default()
}

/// schema-diff's translation for a target of version `target`: the task's
/// renames, name case and definer rule.
pub(super) fn translate_options(cfg: &TaskConfig, target: ServerVersion) -> TranslateOptions {
    TranslateOptions {
        target,
        names: cfg.name_map(),
        definer: cfg.migration.definer_policy(),
    }
}

/// The tables a task selects, as the copy and the verifier take them
/// (renames, column subsets, filters).
///
/// # Errors
///
/// When the source cannot be read or the selection does not fit it.
pub async fn task_tables(cfg: &TaskConfig, source: &Opts) -> Result<Vec<TableMapping>, TaskError> {
    let mut src = Conn::new(source.clone())
        .await
        .map_err(db("source", "connecting"))?;
    let schema = selected_schema(cfg, &mut src).await?;
    Ok(selection(cfg, &schema)?.1)
}
