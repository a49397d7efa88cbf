//! The library options a task's config makes, built in this one place: the
//! copy's and the apply's options, the selection they work on, the
//! verification at cut-over and schema-diff's translation options.

use std::time::Duration;

use binlog_reader::position::FilePosition;
use bulk_copy::{
    ApplyOptions, ApplySelection, CopyOptions, Heartbeat, TableMapping, ThrottleLimits,
};
use schema_diff::binlog_ddl::DdlKind;
use schema_diff::translate::TranslateOptions;
use schema_diff::ServerVersion;

use crate::config::{DmlOp, HeartbeatMode, PlanConfig, TaskConfig, ALL_DDL, ALL_DML};

use super::error::TaskError;
use super::handles::RunHandles;

/// The apply's selection and the copy's tables (renames, column subsets,
/// filters, per-object DML and DDL filters) of the task's objects in the
/// source's schema.
pub(crate) fn selection(
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
        sel.operations.extend(operations(cfg, o));
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

/// Where the apply reads the source's binlog: the server, and with
/// `[source] binlog_archive` the archive of its purged binlog files first
/// when the task's checkpoint is in one of them.
pub(crate) fn apply_source(cfg: &TaskConfig, source: &mysql_async::Opts) -> bulk_copy::ApplySource {
    match &cfg.source.binlog_archive {
        Some(dir) => bulk_copy::ApplySource::Archive {
            server: source.clone(),
            dir: dir.clone(),
        },
        None => bulk_copy::ApplySource::Server(source.clone()),
    }
}

/// The per-object DML/DDL filters of one `[[objects]]` entry: an entry only
/// where they narrow. The kinds `[incremental] skip_ddl` names are left out
/// of every object's (the apply counts what it skips).
pub(crate) fn operations(
    cfg: &TaskConfig,
    o: &crate::config::ObjectSelection,
) -> Vec<bulk_copy::apply::Operations> {
    let ops = |table: Option<String>, dml: &[DmlOp], ddl: &[DdlKind]| {
        let ddl: Vec<DdlKind> = ddl
            .iter()
            .filter(|k| !cfg.incremental.skip_ddl.contains(k))
            .copied()
            .collect();
        (dml.len() < ALL_DML.len() || ddl.len() < ALL_DDL.len()).then(|| {
            bulk_copy::apply::Operations {
                database: o.database.clone(),
                table,
                insert: dml.contains(&DmlOp::Insert),
                update: dml.contains(&DmlOp::Update),
                delete: dml.contains(&DmlOp::Delete),
                ddl,
            }
        })
    };
    let mut v: Vec<_> = ops(None, &o.dml, &o.ddl).into_iter().collect();
    for t in o.tables.iter().flatten() {
        v.extend(ops(Some(t.name.clone()), &t.dml, &t.ddl));
    }
    v
}

/// The apply's options: the task's checkpoint, conflict policy, batching,
/// DDL and online-DDL handling, heartbeat and throttle, reporting to the
/// run's handles.
///
/// # Errors
///
/// When the task asks for an online-DDL mode the apply does not support.
pub(crate) fn apply_options(cfg: &TaskConfig, h: &RunHandles) -> Result<ApplyOptions, TaskError> {
    let inc = &cfg.incremental;
    let online_ddl = cfg.online_ddl.mode().ok_or_else(|| {
        TaskError::Other(format!(
            "[online_ddl] mode {:?} is not supported by the apply",
            cfg.online_ddl
        ))
    })?;
    Ok(ApplyOptions {
        task: cfg.task.clone(),
        meta_schema: cfg.target.meta_schema.clone(),
        server_id: inc.server_id,
        batch_bytes: inc.batch_bytes,
        commit_interval: Duration::from_millis(inc.commit_interval_ms),
        conflict: inc.conflict.policy(),
        skip_failed_ddl: inc.skip_failed_ddl,
        renamed_out: inc.renamed_out.apply(),
        online_ddl,
        definer: cfg.migration.definer_policy(),
        lock_wait_timeout: inc.lock_wait_timeout_seconds.map(Duration::from_secs),
        max_uncompressed_bytes: inc.max_uncompressed_bytes,
        progress: h.apply.clone(),
        stop: h.stop.clone(),
        start_gtid: match &inc.start {
            Some(crate::config::IncrementalStart::Gtid(g)) => Some(g.clone()),
            _ => None,
        },
        heartbeat: match cfg.heartbeat.mode {
            HeartbeatMode::SourceTable => Some(Heartbeat {
                database: cfg.heartbeat.schema.clone(),
                table: "heartbeat".into(),
                interval: Duration::from_millis(cfg.heartbeat.interval_ms.max(1)),
            }),
            HeartbeatMode::None => None,
        },
        throttle: h.control.apply_throttle(ThrottleLimits {
            queries_per_sec: None,
            rows_per_sec: limit(inc.max_rows_per_sec),
            bytes_per_sec: limit(inc.max_bytes_per_sec),
        }),
        ..ApplyOptions::default()
    })
}

/// A rate limit of the task file (0: none).
fn limit(v: f64) -> Option<f64> {
    (v > 0.0).then_some(v)
}

/// The apply's options for the drain at cut-over: up to the source's final
/// position `until`, without heartbeats (the source is fenced).
pub(super) fn drain_options(
    cfg: &TaskConfig,
    h: &RunHandles,
    until: FilePosition,
) -> Result<ApplyOptions, TaskError> {
    Ok(ApplyOptions {
        until: Some(until),
        heartbeat: None,
        ..apply_options(cfg, h)?
    })
}

/// The full copy's options: connections, chunk and load sizes, conflict
/// policy, snapshot mode, index deferral and throttle, reporting to the
/// run's handles.
pub(crate) fn copy_options(cfg: &TaskConfig, h: &RunHandles) -> CopyOptions {
    let f = &cfg.full;
    CopyOptions {
        readers: f.readers,
        writers: f.writers,
        chunk_rows: f.chunk_rows,
        load_bytes: f.load_bytes,
        bulk_max_bytes: f.bulk_max_bytes,
        defer_indexes_min_bytes: f.defer_indexes.then_some(f.defer_indexes_min_bytes),
        split_rows: f.split_rows,
        keyless_max_bytes: f.keyless_max_bytes,
        conflict: f.conflict.policy(),
        snapshot: f.snapshot.mode(),
        task: cfg.task.clone(),
        meta_schema: cfg.target.meta_schema.clone(),
        progress: h.copy.clone(),
        throttle: h.control.copy_throttle(ThrottleLimits {
            queries_per_sec: limit(f.max_queries_per_sec),
            rows_per_sec: limit(f.max_rows_per_sec),
            bytes_per_sec: limit(f.max_bytes_per_sec),
        }),
        ..CopyOptions::default()
    }
}

/// The verification's options (`[verify]`): workers, range size, listed
/// differences and throttle, reporting to the run's handles. What one run
/// adds (a sample, online re-checks, repair) is the caller's.
pub(crate) fn verify_options(cfg: &TaskConfig, h: &RunHandles) -> row_verify::VerifyOptions {
    let v = &cfg.verify;
    let o = row_verify::VerifyOptions {
        parallel: v.parallel,
        chunk_rows: v.chunk_rows,
        max_listed: v.max_listed,
        progress: h.verify.clone(),
        ..row_verify::VerifyOptions::default()
    };
    o.throttle.set_limits(ThrottleLimits {
        rows_per_sec: limit(v.max_rows_per_sec),
        ..ThrottleLimits::default()
    });
    o
}

/// schema-diff's translation for a target of version `target`: the task's
/// renames, name case and definer rule.
pub(super) fn translate_options(cfg: &PlanConfig, target: ServerVersion) -> TranslateOptions {
    TranslateOptions {
        target,
        names: cfg.name_map(),
        definer: cfg.migration.definer_policy(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema_diff::model::{Column, Database, Schema, Table};

    fn task(extra: &str) -> TaskConfig {
        TaskConfig::from_toml(
            &format!(
                "[source]\nurl = \"mysql://root@127.0.0.1:3307\"\n\
                 [target]\nurl = \"mysql://root@127.0.0.1:3308\"\n\
                 [[objects]]\ndatabase = \"shop\"\n{extra}"
            ),
            None,
        )
        .unwrap()
    }

    fn schema() -> Schema {
        let column = |name: &str| Column {
            name: name.into(),
            ..Column::default()
        };
        Schema {
            databases: vec![Database {
                name: "shop".into(),
                tables: vec![Table {
                    name: "orders".into(),
                    columns: vec![column("id"), column("total")],
                    ..Table::default()
                }],
                ..Database::default()
            }],
            ..Schema::default()
        }
    }

    #[test]
    fn skip_ddl_leaves_its_kinds_out_of_every_objects_ddl_filter() {
        let (sel, tables) = selection(&task(""), &schema()).unwrap();
        assert!(sel.operations.is_empty(), "nothing narrows: {sel:?}");
        assert_eq!(tables.len(), 1);
        let cfg = task("[incremental]\nskip_ddl = [\"drop-table\", \"truncate-table\"]\n");
        let (sel, _) = selection(&cfg, &schema()).unwrap();
        assert_eq!(sel.operations.len(), 1, "{sel:?}");
        let ops = &sel.operations[0];
        assert_eq!(
            (ops.database.as_str(), ops.table.as_deref()),
            ("shop", None)
        );
        assert!(ops.insert && ops.update && ops.delete);
        assert!(!ops.ddl.contains(&DdlKind::DropTable));
        assert!(!ops.ddl.contains(&DdlKind::TruncateTable));
        assert_eq!(ops.ddl.len(), ALL_DDL.len() - 2);
        // Skipping DDL is not skipping failed DDL.
        assert!(
            !apply_options(&cfg, &RunHandles::default())
                .unwrap()
                .skip_failed_ddl
        );
    }

    #[test]
    fn the_apply_takes_every_incremental_option() {
        let cfg = task(
            "[incremental]\nserver_id = 77\nbatch_bytes = 2048\ncommit_interval_ms = 5\n\
             lock_wait_timeout_seconds = 9\nskip_failed_ddl = true\nconflict = \"ignore\"\n\
             max_uncompressed_bytes = 4096\n\
             renamed_out = \"drop\"\n\
             [heartbeat]\ninterval_ms = 250\nschema = \"hb\"\n\
             [online_ddl]\nmode = \"original-ddl-gh-ost\"\n",
        );
        let o = apply_options(&cfg, &RunHandles::default()).unwrap();
        assert_eq!(o.server_id, 77);
        assert_eq!(o.batch_bytes, 2048);
        assert_eq!(o.commit_interval, Duration::from_millis(5));
        assert_eq!(o.lock_wait_timeout, Some(Duration::from_secs(9)));
        assert_eq!(o.max_uncompressed_bytes, 4096);
        assert!(o.skip_failed_ddl);
        assert_eq!(o.conflict, bulk_copy::ConflictPolicy::Ignore);
        assert_eq!(o.online_ddl, bulk_copy::OnlineDdlMode::ApplyOriginalDdl);
        assert_eq!(o.renamed_out, bulk_copy::RenamedOut::Drop);
        assert_eq!(
            apply_options(&task(""), &RunHandles::default())
                .unwrap()
                .renamed_out,
            bulk_copy::RenamedOut::Keep,
            "a table renamed out is kept unless the task file says otherwise"
        );
        let hb = o.heartbeat.expect("the task file's heartbeat is on");
        assert_eq!(
            (hb.database.as_str(), hb.interval),
            ("hb", Duration::from_millis(250))
        );
        let off = task("[heartbeat]\nmode = \"none\"\n");
        assert!(apply_options(&off, &RunHandles::default())
            .unwrap()
            .heartbeat
            .is_none());
        // A mode the apply cannot do never reaches it (resolve refuses it
        // in a file; a config built by hand is refused here).
        let mut dms = task("");
        dms.online_ddl = crate::config::OnlineDdlMode::OriginalDdlDms;
        assert!(apply_options(&dms, &RunHandles::default()).is_err());
    }

    #[test]
    fn the_copy_takes_every_full_option() {
        let cfg = task(
            "[full]\nreaders = 3\nchunk_rows = 10\nload_bytes = 4096\nbulk_max_bytes = 0\n\
             defer_indexes_min_bytes = 1\nsplit_rows = 0\nsnapshot = \"ftwrl\"\n",
        );
        let o = copy_options(&cfg, &RunHandles::default());
        assert_eq!((o.readers, o.writers), (3, 3));
        assert_eq!((o.chunk_rows, o.load_bytes), (10, 4096));
        assert_eq!((o.bulk_max_bytes, o.split_rows), (0, 0));
        assert_eq!(o.defer_indexes_min_bytes, Some(1));
        assert_eq!(o.snapshot, bulk_copy::SnapshotMode::FlushTablesWithReadLock);
        let kept = task("[full]\ndefer_indexes = false\n");
        assert_eq!(
            copy_options(&kept, &RunHandles::default()).defer_indexes_min_bytes,
            None
        );
    }
}
