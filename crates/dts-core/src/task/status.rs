//! `dts status`: the task's stored state, whether a run holds it, the copy's
//! progress per table and the incremental checkpoint with its lag.

use mysql_async::prelude::*;

use crate::config::TaskConfig;

use super::error::{connect, db, TaskError};
use super::sql::quote;
use super::store::{lock_name, read_state, TaskState};

/// The task's state, progress and lag, as `dts status` shows them.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct TaskStatus {
    /// The version of this shape.
    pub schema_version: u32,
    /// The task.
    pub task: String,
    /// The stored state, if the task ever ran.
    pub state: Option<TaskState>,
    /// Whether a run holds the task now.
    pub running: bool,
    /// Per target table: (table, rows copied, ranges finished, ranges).
    pub copy: Vec<TableCopyStatus>,
    /// The incremental checkpoint.
    pub incremental: Option<IncrementalStatus>,
}

/// One table's copy progress.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct TableCopyStatus {
    /// `db`.`table` on the target.
    pub table: String,
    /// Rows committed.
    pub rows: u64,
    /// Ranges finished.
    pub ranges_finished: u64,
    /// Ranges.
    pub ranges: u64,
    /// Secondary indexes dropped for the load and not added back yet (a
    /// copy adds them back when the table's rows are in; after a stop, the
    /// next run does).
    pub indexes_pending: Vec<String>,
}

/// The incremental checkpoint and lag.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct IncrementalStatus {
    /// The position applied.
    pub position: String,
    /// Source transactions applied.
    pub transactions: u64,
    /// Row changes applied.
    pub rows: u64,
    /// Seconds between now and the source time of the last applied event
    /// (`None` before the first).
    pub lag_seconds: Option<u64>,
    /// When the checkpoint was last committed (target time).
    pub updated_at: String,
    /// The source server the checkpoint was written on (`None`: a
    /// checkpoint of an earlier version, or none committed yet).
    pub source_server: Option<String>,
    /// The GTID state at the checkpoint (a MySQL GTID set or a MariaDB GTID
    /// position; `None` while unknown).
    pub gtid_state: Option<String>,
}

/// Reads the task's status from the target.
///
/// # Errors
///
/// When the target cannot be reached.
pub async fn task_status(cfg: &TaskConfig) -> Result<TaskStatus, TaskError> {
    let target = cfg.target.connect_opts().await;
    let mut c = connect("target", &target).await?;
    let meta = &cfg.target.meta_schema;
    let state = read_state(&mut c, meta, &cfg.task).await?;
    let name = lock_name(meta, &cfg.task);
    let free: Option<Option<i64>> = c
        .exec_first("SELECT IS_FREE_LOCK(?)", (name,))
        .await
        .map_err(db("target", "reading the lease"))?;
    let running = free.flatten() == Some(0);
    let mut state = state;
    if let Some(s) = state.as_mut().filter(|s| s.state == "running" && !running) {
        // No run holds the task: the run that recorded "running" is gone
        // (killed, or its host lost).
        s.state = "stopped".into();
    }
    let mut st = TaskStatus {
        schema_version: 1,
        task: cfg.task.clone(),
        state,
        running,
        ..TaskStatus::default()
    };
    let has = |t: &'static str| {
        format!(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{}' AND table_name = '{t}'",
        meta.replace('\'', "''")
    )
    };
    let n: Option<i64> = c
        .query_first(has("copy_range"))
        .await
        .map_err(db("target", "reading status"))?;
    if n == Some(1) {
        type CopyRow = (Vec<u8>, Vec<u8>, u64, u64, u64);
        let rows: Vec<CopyRow> = c
            .exec(
                format!(
                    "SELECT target_db, target_table, CAST(SUM(rows_copied) AS UNSIGNED), CAST(SUM(finished) AS UNSIGNED), COUNT(*) \
                     FROM {}.`copy_range` WHERE task = ? GROUP BY target_db, target_table ORDER BY 1, 2",
                    quote(meta)
                ),
                (&cfg.task,),
            )
            .await
            .map_err(db("target", "reading the copy's progress"))?;
        st.copy = rows
            .into_iter()
            .map(|(d, t, rows, fin, n)| TableCopyStatus {
                table: format!(
                    "{}.{}",
                    quote(&String::from_utf8_lossy(&d)),
                    quote(&String::from_utf8_lossy(&t))
                ),
                rows,
                ranges_finished: fin,
                ranges: n,
                indexes_pending: Vec::new(),
            })
            .collect();
        let n: Option<i64> = c
            .query_first(has("copy_index"))
            .await
            .map_err(db("target", "reading status"))?;
        if n == Some(1) {
            let pending: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = c
                .exec(
                    format!(
                        "SELECT target_db, target_table, index_name FROM {}.`copy_index` \
                         WHERE task = ? ORDER BY target_db, target_table, ord",
                        quote(meta)
                    ),
                    (&cfg.task,),
                )
                .await
                .map_err(db("target", "reading the deferred indexes"))?;
            for (d, t, i) in pending {
                let table = format!(
                    "{}.{}",
                    quote(&String::from_utf8_lossy(&d)),
                    quote(&String::from_utf8_lossy(&t))
                );
                let index = String::from_utf8_lossy(&i).into_owned();
                match st.copy.iter_mut().find(|c| c.table == table) {
                    Some(c) => c.indexes_pending.push(index),
                    None => st.copy.push(TableCopyStatus {
                        table,
                        indexes_pending: vec![index],
                        ..TableCopyStatus::default()
                    }),
                }
            }
        }
    }
    let n: Option<i64> = c
        .query_first(has("cdc_checkpoint"))
        .await
        .map_err(db("target", "reading status"))?;
    if n == Some(1) {
        type CdcRow = (Vec<u8>, u64, u64, u64, u64, String, i64);
        let r: Option<CdcRow> = c
            .exec_first(
                format!(
                    "SELECT binlog_file, binlog_pos, transactions, rows_applied, event_time, \
                     CAST(updated_at AS CHAR), UNIX_TIMESTAMP() FROM {}.`cdc_checkpoint` WHERE task = ?",
                    quote(meta)
                ),
                (&cfg.task,),
            )
            .await
            .map_err(db("target", "reading the incremental checkpoint"))?;
        st.incremental = r.map(|(f, p, tx, rows, et, up, now)| IncrementalStatus {
            position: format!("{}:{p}", String::from_utf8_lossy(&f)),
            transactions: tx,
            rows,
            lag_seconds: (et > 0).then(|| (now.max(0) as u64).saturating_sub(et)),
            updated_at: up,
            ..IncrementalStatus::default()
        });
        // The saved position (a later column: absent from an earlier
        // version's table until its next run).
        let saved: Result<Option<Option<String>>, _> = c
            .exec_first(
                format!(
                    "SELECT saved_position FROM {}.`cdc_checkpoint` WHERE task = ?",
                    quote(meta)
                ),
                (&cfg.task,),
            )
            .await;
        if let (Some(inc), Ok(Some(Some(text)))) = (st.incremental.as_mut(), saved) {
            use binlog_reader::position::{GtidState, SavedPosition};
            match SavedPosition::parse(&text) {
                Ok(p) => {
                    inc.source_server = Some(p.source().to_string());
                    inc.gtid_state = match p.gtid() {
                        GtidState::None => None,
                        GtidState::Mysql(s) => Some(s.to_string()),
                        GtidState::Mariadb(m) => Some(m.to_string()),
                    };
                }
                Err(e) => {
                    inc.source_server = Some(format!("(the saved position is unreadable: {e})"))
                }
            }
        }
    }
    Ok(st)
}
