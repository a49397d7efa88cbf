//! `dts copy`: the full copy of the selected tables alone.

use bulk_copy::{copy_tables, CopyReport, TableMapping};
use mysql_async::{Conn, Opts};

use crate::config::TaskConfig;
use crate::task::error::{db, TaskError};
use crate::task::options::{copy_options, selection};
use crate::task::plan::selected_schema;
use crate::task::RunHandles;

/// Copies the selected tables (the target tables must exist), resumable
/// under the task's name: a rerun skips finished tables and goes on from
/// each unfinished range's last committed key. Progress goes to
/// `h.copy`. The report says where incremental migration starts.
///
/// # Errors
///
/// When nothing is selected, a selected table is not on the source, or the
/// copy fails (see [`bulk_copy::CopyError`]).
pub async fn copy(cfg: &TaskConfig, h: &RunHandles) -> Result<CopyReport, TaskError> {
    let source = cfg.source.connect_opts().await;
    let target = cfg.target.connect_opts().await;
    let tables = selected_tables(cfg, &source, "copy").await?;
    Ok(copy_tables(&source, &target, &tables, &copy_options(cfg, h)).await?)
}

/// The tables the task selects, read from the source; every table named in
/// the selection must exist there, and something must be selected.
pub(super) async fn selected_tables(
    cfg: &TaskConfig,
    source: &Opts,
    what: &str,
) -> Result<Vec<TableMapping>, TaskError> {
    let mut src = Conn::new(source.clone())
        .await
        .map_err(db("source", "connecting"))?;
    let schema = selected_schema(&cfg.objects, &mut src).await?;
    src.disconnect().await.ok();
    for o in &cfg.objects {
        for t in o.tables.iter().flatten() {
            let found = schema
                .database(&o.database)
                .is_some_and(|d| d.tables.iter().any(|x| x.name == t.name));
            if !found {
                return Err(TaskError::Other(format!(
                    "the source has no table {} (or the account cannot see it)",
                    server_dialect::quote_qualified(&o.database, &t.name)
                )));
            }
        }
    }
    let tables = selection(cfg, &schema)?.1;
    if tables.is_empty() {
        let dbs: Vec<&str> = cfg.objects.iter().map(|o| o.database.as_str()).collect();
        return Err(TaskError::Other(format!(
            "nothing to {what}: the source has no tables in {} (or the account cannot see them)",
            dbs.join(", ")
        )));
    }
    Ok(tables)
}
