//! `dts release`: removes what a task left on both servers, refusing while
//! a run holds the task.
//!
//! On the target: the task's rows in every table of the metadata schema
//! (the copy's and the apply's, `bulk_copy::base::meta_schema::TASK_TABLES`,
//! and dts-core's `task_state` and `task_control`), and the shadow schema of
//! each selected source database. On the source: the task's row of the
//! heartbeat table, and the table itself once no task has a row in it.
//! The task's lease is held throughout, so no run can start meanwhile.
//!
//! What it does not undo: the migrated data, and the secondary indexes a
//! full copy dropped for its load and had not put back (the release lists
//! them, from `copy_index`, before it forgets them).

use mysql_async::prelude::*;
use mysql_async::Conn;

use crate::config::TaskConfig;

use super::error::{db, TaskError};
use super::sql::quote;
use super::store::lock_name;

/// The tables of the metadata schema dts-core keeps a task's state in.
const CORE_TABLES: &[&str] = &["task_state", "task_control"];

/// What `dts release` removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReleaseReport {
    /// Rows deleted per metadata table (`schema.table`, rows), only the
    /// tables that had some.
    pub meta_rows: Vec<(String, u64)>,
    /// The shadow schemas dropped (those that existed).
    pub shadow_schemas: Vec<String>,
    /// Whether the task's heartbeat row was deleted on the source.
    pub heartbeat_row: bool,
    /// The heartbeat table dropped on the source (no other task's rows in
    /// it), as `schema.table`.
    pub heartbeat_table: Option<String>,
    /// Secondary indexes a full copy dropped and had not put back
    /// (`db.table`, index): they are missing on the target.
    pub indexes_not_restored: Vec<(String, String)>,
}

async fn table_exists(c: &mut Conn, schema: &str, table: &str) -> Result<bool, TaskError> {
    let n: Option<i64> = c
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            (schema, table),
        )
        .await
        .map_err(db("target", "reading information_schema"))?;
    Ok(n.unwrap_or(0) > 0)
}

/// Removes what the task left (see the module documentation).
///
/// # Errors
///
/// While a run holds the task (nothing is removed); a server cannot be
/// reached or refuses a statement (what was removed until then stays
/// removed: run it again).
pub async fn release(cfg: &TaskConfig) -> Result<ReleaseReport, TaskError> {
    let mut r = ReleaseReport::default();
    let meta = &cfg.target.meta_schema;
    let task = &cfg.task;
    let mut tgt = Conn::new(cfg.target.connect_opts().await)
        .await
        .map_err(db("target", "connecting"))?;
    let got: Option<Option<i64>> = tgt
        .exec_first("SELECT GET_LOCK(?, 0)", (lock_name(meta, task),))
        .await
        .map_err(db("target", "taking the task's lease"))?;
    if got.flatten() != Some(1) {
        let holder: Option<Option<String>> = if table_exists(&mut tgt, meta, "task_state").await? {
            tgt.exec_first(
                format!(
                    "SELECT holder FROM {}.`task_state` WHERE task = ?",
                    quote(meta)
                ),
                (task,),
            )
            .await
            .map_err(db("target", "reading the task state"))?
        } else {
            None
        };
        return Err(TaskError::Other(format!(
            "task {task:?} is running ({}): nothing was released; stop it first (`dts stop`), \
             then run `dts release` again",
            holder.flatten().unwrap_or_else(|| "another process".into())
        )));
    }
    if table_exists(&mut tgt, meta, "copy_index").await? {
        r.indexes_not_restored = tgt
            .exec_map(
                format!(
                    "SELECT target_db, target_table, index_name FROM {}.`copy_index` \
                     WHERE task = ? ORDER BY target_db, target_table, ord",
                    quote(meta)
                ),
                (task,),
                |(d, t, i): (Vec<u8>, Vec<u8>, Vec<u8>)| {
                    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                    (format!("{}.{}", quote(&s(&d)), quote(&s(&t))), s(&i))
                },
            )
            .await
            .map_err(db("target", "reading the dropped indexes"))?;
    }
    for t in bulk_copy::base::meta_schema::TASK_TABLES
        .iter()
        .chain(CORE_TABLES)
    {
        if !table_exists(&mut tgt, meta, t).await? {
            continue;
        }
        let name = format!("{}.{}", quote(meta), quote(t));
        tgt.exec_drop(format!("DELETE FROM {name} WHERE task = ?"), (task,))
            .await
            .map_err(db("target", format!("deleting the task's rows of {name}")))?;
        let n = tgt.affected_rows();
        if n > 0 {
            r.meta_rows.push((name, n));
        }
    }
    let mut dbs: Vec<&str> = cfg.objects.iter().map(|o| o.database.as_str()).collect();
    dbs.sort_unstable();
    dbs.dedup();
    for d in dbs {
        let shadow = bulk_copy::apply::shadow_database(task, d);
        let exists: Option<i64> = tgt
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?",
                (&shadow,),
            )
            .await
            .map_err(db("target", "reading information_schema"))?;
        if exists.unwrap_or(0) > 0 {
            tgt.query_drop(format!("DROP DATABASE IF EXISTS {}", quote(&shadow)))
                .await
                .map_err(db("target", format!("dropping the shadow schema {shadow}")))?;
            r.shadow_schemas.push(shadow);
        }
    }

    let hb = &cfg.heartbeat.schema;
    let mut src = Conn::new(cfg.source.connect_opts().await)
        .await
        .map_err(db("source", "connecting"))?;
    let n: Option<i64> = src
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'heartbeat'",
            (hb,),
        )
        .await
        .map_err(db("source", "reading information_schema"))?;
    if n.unwrap_or(0) > 0 {
        let name = format!("{}.`heartbeat`", quote(hb));
        src.exec_drop(format!("DELETE FROM {name} WHERE task = ?"), (task,))
            .await
            .map_err(db("source", format!("deleting the task's row of {name}")))?;
        r.heartbeat_row = src.affected_rows() > 0;
        let others: Option<i64> = src
            .query_first(format!("SELECT COUNT(*) FROM {name}"))
            .await
            .map_err(db("source", format!("reading {name}")))?;
        if others == Some(0) {
            src.query_drop(format!("DROP TABLE IF EXISTS {name}"))
                .await
                .map_err(db("source", format!("dropping {name}")))?;
            r.heartbeat_table = Some(name);
        }
    }
    // The lease goes with the connection; said plainly all the same.
    tgt.exec_drop("DO RELEASE_LOCK(?)", (lock_name(meta, task),))
        .await
        .map_err(db("target", "releasing the task's lease"))?;
    Ok(r)
}
