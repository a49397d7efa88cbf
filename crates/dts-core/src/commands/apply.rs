//! `dts apply`: incremental migration alone.

use std::path::PathBuf;

use binlog_reader::position::FilePosition;
use bulk_copy::{
    apply_changes_from, prepare_incremental, ApplyReport, ApplySelection, ApplySource, HandOff,
    TableMapping,
};
use mysql_async::Conn;

use crate::config::TaskConfig;
use crate::task::error::{db, TaskError};
use crate::task::options::{apply_options, apply_source, operations, selection};
use crate::task::plan::selected_schema;
use crate::task::RunHandles;

/// What one `dts apply` does, beyond the task's configuration.
#[derive(Clone, Debug, Default)]
pub struct ApplyRun {
    /// Only record the source schema for the task (before its full copy),
    /// then return.
    pub prepare_only: bool,
    /// Where to start when the task has no checkpoint yet (what the copy
    /// reported).
    pub start: Option<FilePosition>,
    /// The end of the copy's overlap window, when it reported one (with
    /// `start`).
    pub overlap_end: Option<FilePosition>,
    /// Stop once this position is applied.
    pub until: Option<FilePosition>,
    /// Stop at the end of the source's binlog instead of waiting for more.
    pub stop_at_end: bool,
    /// Apply these binlog files (in binlog order) instead of the source
    /// server's binlog: the task's source is not connected to, and the
    /// apply ends at the end of the last file.
    pub binlog_files: Vec<PathBuf>,
}

/// What `dts apply` did.
#[derive(Debug)]
pub enum ApplyOutcome {
    /// The source schema is recorded for the task.
    Prepared,
    /// Changes were applied up to the report's position.
    Applied(Box<ApplyReport>),
}

/// Applies the source's binlog to the selected databases on the target
/// exactly once, from the task's checkpoint (or from `run.start` the first
/// time), until `h.stop` is raised, `run.until`, or with
/// `run.stop_at_end` the end of the binlog. Status goes to `h.apply`.
///
/// # Errors
///
/// When `run.overlap_end` comes without `run.start`, a selected database
/// is not on the source, or the apply stops (see [`bulk_copy::CopyError`]:
/// transient errors are retried from the checkpoint first).
pub async fn apply(
    cfg: &TaskConfig,
    run: &ApplyRun,
    h: &RunHandles,
) -> Result<ApplyOutcome, TaskError> {
    let handoff = match (&run.start, &run.overlap_end) {
        (Some(start), overlap_end) => Some(HandOff {
            start: start.clone(),
            overlap_end: overlap_end.clone(),
        }),
        (None, None) => None,
        (None, Some(_)) => {
            return Err(TaskError::Other(
                "an overlap end needs the start position it goes with".into(),
            ))
        }
    };
    let target = cfg.target.connect_opts().await;
    if !run.binlog_files.is_empty() {
        if run.prepare_only {
            return Err(TaskError::Other(
                "preparing records the source server's schema, and binlog files have no server: \
                 prepare against the source (without --binlog-file)"
                    .into(),
            ));
        }
        let sel = files_selection(cfg)?;
        let mut options = apply_options(cfg, h)?;
        options.until = run.until.clone();
        options.stop_at_end = true;
        let source = ApplySource::Files(run.binlog_files.clone());
        let report = apply_changes_from(&source, &target, &sel, handoff.as_ref(), &options).await?;
        return Ok(ApplyOutcome::Applied(Box::new(report)));
    }
    let source = cfg.source.connect_opts().await;
    let mut src = Conn::new(source.clone())
        .await
        .map_err(db("source", "connecting"))?;
    let schema = selected_schema(&cfg.objects, &mut src).await?;
    src.disconnect().await.ok();
    let (sel, _) = selection(cfg, &schema)?;
    let mut options = apply_options(cfg, h)?;
    if run.prepare_only {
        prepare_incremental(&source, &target, &sel, &options).await?;
        return Ok(ApplyOutcome::Prepared);
    }
    options.until = run.until.clone();
    options.stop_at_end = run.stop_at_end;
    let from = apply_source(cfg, &source);
    let report = apply_changes_from(&from, &target, &sel, handoff.as_ref(), &options).await?;
    Ok(ApplyOutcome::Applied(Box::new(report)))
}

/// The selection of a binlog-file apply, from the task's objects alone
/// (there is no source server to list tables from): whole databases and
/// single tables, with their database and table renames. Column lists,
/// column renames and filters need the source's columns, which the files do
/// not name (without `binlog_row_metadata=FULL`): refused.
fn files_selection(cfg: &TaskConfig) -> Result<ApplySelection, TaskError> {
    let names = cfg.name_map();
    let mut sel = ApplySelection::default();
    for o in &cfg.objects {
        let db = names.database(&o.database);
        sel.operations.extend(operations(cfg, o));
        match &o.tables {
            None => sel.databases.push((o.database.clone(), db)),
            Some(ts) => {
                for t in ts {
                    if t.columns.is_some() || !t.rename_columns.is_empty() || t.filter.is_some() {
                        return Err(TaskError::Other(format!(
                            "table {}.{}: column lists, column renames and filters are not \
                             supported when applying binlog files; select the whole table",
                            server_dialect::quote(&o.database),
                            server_dialect::quote(&t.name)
                        )));
                    }
                    sel.tables.push(TableMapping::renamed(
                        &o.database,
                        &t.name,
                        &db,
                        &names.table(&o.database, &t.name),
                    ));
                }
            }
        }
    }
    Ok(sel)
}
