//! The task's state on the target (`<meta>.task_state`: next phase,
//! hand-off position, stop request, last error) and its lease: the server's
//! named lock `GET_LOCK`, held by a connection the run keeps open, so that
//! two runs of one task cannot overlap and a killed run's lease frees itself.

use std::sync::Arc;
use std::time::Duration;

use binlog_reader::position::FilePosition;
use bulk_copy::{HandOff, StopSignal};
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};

use crate::config::TaskConfig;

use super::error::{connect, db, TaskError};
use super::phase::Phase;
use super::sql::quote;

/// A task's state as stored on the target.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TaskState {
    /// The next phase to run (or `finished`).
    pub phase: Phase,
    /// `running`, `stopped`, `failed` or `finished`.
    pub state: String,
    /// Where incremental migration starts.
    pub start: Option<FilePosition>,
    /// The end of the copy's overlap window.
    pub overlap_end: Option<FilePosition>,
    /// The last error, when failed.
    pub error: Option<String>,
}

/// The metadata schema's `task_state` table and the task's lease.
pub(super) struct Store {
    pub(super) conn: Conn,
    meta: String,
    task: String,
    /// Where the run publishes its phase (metrics).
    pub(super) phase: Option<Arc<std::sync::Mutex<Phase>>>,
    /// The task holding the lease's connection.
    keeper: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(k) = self.keeper.take() {
            k.abort();
        }
    }
}

impl Store {
    pub(super) async fn open(target: &Opts, meta: &str, task: &str) -> Result<Store, TaskError> {
        let mut conn = connect("target", target).await?;
        let m = quote(meta);
        conn.query_drop(format!(
            "CREATE DATABASE IF NOT EXISTS {m}; CREATE TABLE IF NOT EXISTS {m}.`task_state` (
               `task` VARBINARY(255) NOT NULL PRIMARY KEY,
               `phase` VARCHAR(32) NOT NULL,
               `state` VARCHAR(16) NOT NULL,
               `start_file` VARBINARY(512) NULL, `start_pos` BIGINT UNSIGNED NULL,
               `overlap_file` VARBINARY(512) NULL, `overlap_pos` BIGINT UNSIGNED NULL,
               `stop_requested` TINYINT NOT NULL DEFAULT 0,
               `holder` VARCHAR(255) NULL,
               `error` TEXT NULL,
               `updated_at` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
             ) ENGINE=InnoDB"
        ))
        .await
        .map_err(db("target", format!("creating the task state in {m}")))?;
        Ok(Store {
            conn,
            meta: meta.to_string(),
            task: task.to_string(),
            phase: None,
            keeper: None,
        })
    }

    fn lock_name(&self) -> String {
        lock_name(&self.meta, &self.task)
    }

    /// Takes the lease on a connection of its own, kept (and re-taken after
    /// a network cut) by a keeper task until the store is dropped; fails
    /// when another run holds it. When the keeper finds the lease taken by
    /// another run after a cut, it raises `stop` and sets `lost`.
    pub(super) async fn lease_with(
        &mut self,
        target: &Opts,
        stop: Option<StopSignal>,
        lost: Arc<std::sync::atomic::AtomicBool>,
    ) -> Result<(), TaskError> {
        let name = self.lock_name();
        let mut lc = Conn::new(target.clone())
            .await
            .map_err(db("target", "connecting for the task's lease"))?;
        let got: Option<Option<i64>> = lc
            .exec_first("SELECT GET_LOCK(?, 0)", (&name,))
            .await
            .map_err(db("target", "taking the task's lease"))?;
        if got.flatten() != Some(1) {
            let holder: Option<Option<String>> = self
                .conn
                .exec_first(
                    format!(
                        "SELECT holder FROM {}.`task_state` WHERE task = ?",
                        quote(&self.meta)
                    ),
                    (&self.task,),
                )
                .await
                .map_err(db("target", "reading the task state"))?;
            return Err(TaskError::Running {
                task: self.task.clone(),
                holder: holder.flatten().unwrap_or_else(|| "another process".into()),
            });
        }
        let me = format!(
            "pid {} on {}",
            std::process::id(),
            std::env::var("HOSTNAME").unwrap_or_else(|_| "this host".into())
        );
        self.conn
            .exec_drop(
                format!(
                    "INSERT INTO {}.`task_state` (task, phase, state, holder) VALUES (?, ?, 'running', ?) \
                     ON DUPLICATE KEY UPDATE holder = VALUES(holder), stop_requested = 0, \
                     state = IF(state = 'finished', 'finished', 'running')",
                    quote(&self.meta)
                ),
                (&self.task, Phase::Precheck.as_str(), me),
            )
            .await
            .map_err(db("target", "recording the task state"))?;
        if let Some(k) = self.keeper.take() {
            k.abort();
        }
        let target = target.clone();
        self.keeper = Some(tokio::spawn(async move {
            let mut conn = Some(lc);
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let alive = match conn.as_mut() {
                    Some(c) => c.ping().await.is_ok(),
                    None => false,
                };
                if alive {
                    continue;
                }
                conn = None;
                let Ok(mut c) = Conn::new(target.clone()).await else {
                    continue;
                };
                let got: Option<Option<i64>> = c
                    .exec_first("SELECT GET_LOCK(?, 0)", (&name,))
                    .await
                    .unwrap_or(None);
                if got.flatten() == Some(1) {
                    conn = Some(c);
                } else {
                    tracing::error!(
                        "the task's lease was taken by another run during a network cut"
                    );
                    lost.store(true, std::sync::atomic::Ordering::SeqCst);
                    if let Some(s) = &stop {
                        s.stop();
                    }
                    return;
                }
            }
        }));
        Ok(())
    }

    /// Takes the lease (see [`Store::lease_with`]).
    pub(super) async fn lease(&mut self, target: &Opts) -> Result<(), TaskError> {
        self.lease_with(target, None, Arc::default()).await
    }

    pub(super) async fn state(&mut self) -> Result<Option<TaskState>, TaskError> {
        read_state(&mut self.conn, &self.meta, &self.task).await
    }

    pub(super) async fn set_phase(&mut self, phase: Phase) -> Result<(), TaskError> {
        if let Some(p) = &self.phase {
            if let Ok(mut g) = p.lock() {
                *g = phase;
            }
        }
        self.conn
            .exec_drop(
                format!(
                    "UPDATE {}.`task_state` SET phase = ?, state = IF(? = 'finished', 'finished', state), \
                     error = NULL WHERE task = ?",
                    quote(&self.meta)
                ),
                (phase.as_str(), phase.as_str(), &self.task),
            )
            .await
            .map_err(db("target", "recording the task's phase"))
    }

    /// [`Store::set_state`], reconnecting once when the connection broke
    /// (after a network cut).
    pub(super) async fn set_state_again(
        &mut self,
        target: &Opts,
        state: &str,
        error: Option<&str>,
    ) -> Result<(), TaskError> {
        if self.set_state(state, error).await.is_ok() {
            return Ok(());
        }
        self.conn = Conn::new(target.clone())
            .await
            .map_err(db("target", "reconnecting to record the task's state"))?;
        self.set_state(state, error).await
    }

    pub(super) async fn set_state(
        &mut self,
        state: &str,
        error: Option<&str>,
    ) -> Result<(), TaskError> {
        self.conn
            .exec_drop(
                format!(
                    "UPDATE {}.`task_state` SET state = ?, error = ? WHERE task = ?",
                    quote(&self.meta)
                ),
                (state, error, &self.task),
            )
            .await
            .map_err(db("target", "recording the task's state"))
    }

    pub(super) async fn set_handoff(&mut self, h: &HandOff) -> Result<(), TaskError> {
        self.conn
            .exec_drop(
                format!(
                    "UPDATE {}.`task_state` SET start_file = ?, start_pos = ?, overlap_file = ?, overlap_pos = ? \
                     WHERE task = ?",
                    quote(&self.meta)
                ),
                (
                    &h.start.file,
                    h.start.offset,
                    h.overlap_end.as_ref().map(|p| p.file.clone()),
                    h.overlap_end.as_ref().map(|p| p.offset),
                    &self.task,
                ),
            )
            .await
            .map_err(db("target", "recording the hand-off position"))
    }

    pub(super) async fn stop_requested(&mut self) -> Result<bool, TaskError> {
        let r: Option<i64> = self
            .conn
            .exec_first(
                format!(
                    "SELECT stop_requested FROM {}.`task_state` WHERE task = ?",
                    quote(&self.meta)
                ),
                (&self.task,),
            )
            .await
            .map_err(db("target", "reading the task state"))?;
        Ok(r == Some(1))
    }
}

/// The name of a task's lease (`GET_LOCK`), at most 64 characters.
pub(super) fn lock_name(meta: &str, task: &str) -> String {
    let mut h = crc32fast::Hasher::new();
    h.update(meta.as_bytes());
    h.update(&[0]);
    h.update(task.as_bytes());
    format!(
        "dts-task-{:08x}-{}",
        h.finalize(),
        task.chars().take(30).collect::<String>()
    )
}

/// The task's stored state, `None` when it never ran.
pub(super) async fn read_state(
    c: &mut Conn,
    meta: &str,
    task: &str,
) -> Result<Option<TaskState>, TaskError> {
    type Row = (
        String,
        String,
        Option<Vec<u8>>,
        Option<u64>,
        Option<Vec<u8>>,
        Option<u64>,
        Option<String>,
    );
    let exists: Option<i64> = c
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'task_state'",
            (meta,),
        )
        .await
        .map_err(db("target", "reading the task state"))?;
    if exists != Some(1) {
        return Ok(None);
    }
    let r: Option<Row> = c
        .exec_first(
            format!(
                "SELECT phase, state, start_file, start_pos, overlap_file, overlap_pos, error \
                 FROM {}.`task_state` WHERE task = ?",
                quote(meta)
            ),
            (task,),
        )
        .await
        .map_err(db("target", "reading the task state"))?;
    let pos = |f: Option<Vec<u8>>, p: Option<u64>| match (f, p) {
        (Some(f), Some(p)) => Some(FilePosition::new(String::from_utf8_lossy(&f), p)),
        _ => None,
    };
    r.map(|(phase, state, sf, sp, of, op, error)| {
        let phase = phase.parse::<Phase>().map_err(|e| {
            TaskError::Other(format!(
                "the state of task {task:?} in {}.`task_state` is unreadable: {e}; it was \
                 written by another version of dts or changed by hand",
                quote(meta)
            ))
        })?;
        Ok(TaskState {
            phase,
            state,
            start: pos(sf, sp),
            overlap_end: pos(of, op),
            error,
        })
    })
    .transpose()
}

/// Asks a running task to stop at its next safe point (its checkpoint
/// flushed); returns whether a task state existed.
///
/// # Errors
///
/// When the target cannot be reached.
pub async fn request_stop(cfg: &TaskConfig) -> Result<bool, TaskError> {
    let target = cfg.target.connect_opts().await;
    let mut c = connect("target", &target).await?;
    if read_state(&mut c, &cfg.target.meta_schema, &cfg.task)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    c.exec_drop(
        format!(
            "UPDATE {}.`task_state` SET stop_requested = 1 WHERE task = ?",
            quote(&cfg.target.meta_schema)
        ),
        (&cfg.task,),
    )
    .await
    .map_err(db("target", "requesting a stop"))?;
    Ok(true)
}
