//! One task from precheck to cut-over: phases, state, lease, retries.
//!
//! Phases, in order (those the task's `types` leave out are skipped):
//! `precheck` → `schema` (databases, tables without foreign keys, views,
//! routines) → `prepare` (the incremental apply records the source schema)
//! → `full` (the copy, which reports where incremental migration starts) →
//! `foreign_keys` → `incremental` (until stopped or cut over) → `finished`.
//! Without incremental migration (the offline strategy), the task creates
//! triggers and events after the foreign keys and finishes by itself; with
//! it, `dts cutover` does that (see [`cutover`]).
//!
//! State lives in the target's metadata schema (`task_state`): the next
//! phase, the hand-off position, stop requests, the last error. `dts run` on
//! an existing task resumes at its phase (the copy and the apply resume from
//! their own checkpoints); a finished task refuses to run. A lease — the
//! server's named lock `GET_LOCK`, held by a connection the run keeps open —
//! stops two runs of the same task (C11), and frees itself when a killed
//! run's connection closes.
//!
//! Errors are retried as the task's `[retry]` windows say: connection
//! failures with capped backoff for `connection_minutes`, other possibly
//! transient failures (deadlocks, lock waits) for `other_minutes`; then the
//! task is marked failed with its checkpoint intact and a message saying how
//! to resume.

use std::sync::Arc;
use std::time::{Duration, Instant};

use binlog_reader::position::FilePosition;
use bulk_copy::{
    apply_changes, copy_tables, prepare_incremental, ApplyOptions, ApplyProgress, ApplySelection,
    CopyError, CopyOptions, HandOff, Heartbeat, Progress, StopSignal, TableMapping, ThrottleLimits,
};
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use schema_diff::plan::{plan, Phase, Plan};
use schema_diff::translate::{DefinerPolicy, TranslateOptions};
use server_dialect::{quote, DialectError};

use crate::config::{
    DdlOp, DmlOp, Endpoint, HeartbeatMode, MigrationType, TaskConfig, TlsMode, ALL_DDL, ALL_DML,
};

/// Something that went wrong running a task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The precheck found failures.
    #[error(
        "the precheck failed: {0}. Run `dts precheck --config FILE` for every check with its fix"
    )]
    Precheck(String),
    /// Another run holds the task.
    #[error("task {task:?} is already running ({holder}); a task runs once at a time")]
    Running {
        /// The task.
        task: String,
        /// Who holds it.
        holder: String,
    },
    /// The task finished already.
    #[error("task {0:?} has finished (cut over); it does not run again. Use another task name for a new migration")]
    Finished(String),
    /// A database call failed.
    #[error("{what} on the {server}: {error}")]
    Database {
        /// `source` or `target`.
        server: &'static str,
        /// What was being done.
        what: String,
        /// The driver's error.
        error: mysql_async::Error,
    },
    /// Copying or applying failed.
    #[error(transparent)]
    Data(#[from] CopyError),
    /// The schema could not be read or translated.
    #[error("schema: {0}")]
    Schema(#[from] schema_diff::error::SchemaError),
    /// The task stopped in a state that needs the user.
    #[error("{0}")]
    Other(String),
}

impl TaskError {
    fn is_connection(&self) -> bool {
        let db = |e: &mysql_async::Error| {
            matches!(e, mysql_async::Error::Io(_) | mysql_async::Error::Driver(_))
                || matches!(e, mysql_async::Error::Server(s) if matches!(s.code, 2006 | 2013 | 1927 | 1053))
        };
        match self {
            TaskError::Database { error, .. } => db(error),
            TaskError::Data(CopyError::Database { error, .. }) => db(error),
            TaskError::Data(CopyError::Stream(_)) => true,
            _ => false,
        }
    }

    fn is_transient(&self) -> bool {
        match self {
            TaskError::Data(e) => e.is_retryable(),
            TaskError::Database {
                error: mysql_async::Error::Server(s),
                ..
            } => matches!(s.code, 1205 | 1213),
            _ => false,
        }
    }
}

fn db(
    server: &'static str,
    what: impl Into<String>,
) -> impl FnOnce(mysql_async::Error) -> TaskError {
    let what = what.into();
    move |error| TaskError::Database {
        server,
        what,
        error,
    }
}

/// Connection options for an endpoint: TLS as configured; `preferred` falls
/// back to plain only when the server offers no TLS.
pub async fn endpoint_opts(ep: &Endpoint) -> Opts {
    match ep.tls {
        TlsMode::Disabled => ep.plain_opts(),
        TlsMode::Preferred => match Conn::new(ep.opts()).await {
            Ok(c) => {
                c.disconnect().await.ok();
                ep.opts()
            }
            Err(mysql_async::Error::Driver(
                mysql_async::DriverError::NoClientSslFlagFromServer,
            )) => ep.plain_opts(),
            Err(_) => ep.opts(),
        },
        _ => ep.opts(),
    }
}

/// The phases, as stored.
pub const PHASES: &[&str] = &[
    "precheck",
    "schema",
    "prepare",
    "full",
    "foreign_keys",
    "incremental",
    "cutover",
    "finished",
];

/// A task's state as stored on the target.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TaskState {
    /// The next phase to run (or `finished`).
    pub phase: String,
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
struct Store {
    conn: Conn,
    meta: String,
    task: String,
    /// Where the run publishes its phase (metrics).
    phase: Option<Arc<std::sync::Mutex<String>>>,
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
    async fn open(target: &Opts, meta: &str, task: &str) -> Result<Store, TaskError> {
        let mut conn = Conn::new(target.clone())
            .await
            .map_err(db("target", "connecting"))?;
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
    async fn lease_with(
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
                    "INSERT INTO {}.`task_state` (task, phase, state, holder) VALUES (?, 'precheck', 'running', ?) \
                     ON DUPLICATE KEY UPDATE holder = VALUES(holder), stop_requested = 0, \
                     state = IF(state = 'finished', 'finished', 'running')",
                    quote(&self.meta)
                ),
                (&self.task, me),
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
    async fn lease(&mut self, target: &Opts) -> Result<(), TaskError> {
        self.lease_with(target, None, Arc::default()).await
    }

    async fn state(&mut self) -> Result<Option<TaskState>, TaskError> {
        read_state(&mut self.conn, &self.meta, &self.task).await
    }

    async fn set_phase(&mut self, phase: &str) -> Result<(), TaskError> {
        if let Some(p) = &self.phase {
            if let Ok(mut g) = p.lock() {
                *g = phase.to_string();
            }
        }
        self.conn
            .exec_drop(
                format!(
                    "UPDATE {}.`task_state` SET phase = ?, state = IF(? = 'finished', 'finished', state), \
                     error = NULL WHERE task = ?",
                    quote(&self.meta)
                ),
                (phase, phase, &self.task),
            )
            .await
            .map_err(db("target", "recording the task's phase"))
    }

    /// [`Store::set_state`], reconnecting once when the connection broke
    /// (after a network cut).
    async fn set_state_again(
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

    async fn set_state(&mut self, state: &str, error: Option<&str>) -> Result<(), TaskError> {
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

    async fn set_handoff(&mut self, h: &HandOff) -> Result<(), TaskError> {
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

    async fn stop_requested(&mut self) -> Result<bool, TaskError> {
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
fn lock_name(meta: &str, task: &str) -> String {
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

async fn read_state(c: &mut Conn, meta: &str, task: &str) -> Result<Option<TaskState>, TaskError> {
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
    Ok(r.map(|(phase, state, sf, sp, of, op, error)| TaskState {
        phase,
        state,
        start: pos(sf, sp),
        overlap_end: pos(of, op),
        error,
    }))
}

/// What a run reports as it goes.
pub type Reporter = Arc<dyn Fn(&str) + Send + Sync>;

/// Handles a run shares with its caller.
#[derive(Clone)]
pub struct RunHandles {
    /// Raised to stop at the next safe point (Ctrl-C).
    pub stop: StopSignal,
    /// The copy's progress.
    pub copy: Progress,
    /// The apply's status.
    pub apply: ApplyProgress,
    /// Lines for the user.
    pub report: Reporter,
    /// The phase being run.
    pub phase: Arc<std::sync::Mutex<String>>,
    /// Errors met (retried or not).
    pub errors: Arc<std::sync::atomic::AtomicU64>,
    /// Retries of the task's phases.
    pub retries: Arc<std::sync::atomic::AtomicU64>,
}

impl Default for RunHandles {
    fn default() -> Self {
        RunHandles {
            stop: StopSignal::new(),
            copy: Progress::new(),
            apply: ApplyProgress::new(),
            report: Arc::new(|_| {}),
            phase: Arc::default(),
            errors: Arc::default(),
            retries: Arc::default(),
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// The offline strategy finished: the target is complete.
    Finished,
    /// Stopped on request, resumable with `dts run`.
    Stopped {
        /// The phase it will resume at.
        phase: String,
    },
}

/// The source's selected databases and tables, read with schema-diff and
/// narrowed to the selection.
async fn selected_schema(
    cfg: &TaskConfig,
    src: &mut Conn,
) -> Result<schema_diff::model::Schema, TaskError> {
    let dbs: Vec<String> = cfg.objects.iter().map(|o| o.database.clone()).collect();
    let mut schema = schema_diff::extract::extract_schema(src, &dbs).await?;
    for d in &mut schema.databases {
        let Some(o) = cfg.objects.iter().find(|o| o.database == d.name) else {
            continue;
        };
        if !o.whole() {
            let name = d.name.clone();
            d.tables.retain(|t| cfg.selected(&name, &t.name).is_some());
            d.views.clear();
            d.routines.clear();
            d.triggers
                .retain(|t| cfg.selected(&name, &t.table).is_some());
            d.events.clear();
        }
    }
    Ok(schema)
}

async fn the_plan(
    cfg: &TaskConfig,
    src: &mut Conn,
    tgt: &mut Conn,
) -> Result<(schema_diff::model::Schema, Plan), TaskError> {
    let schema = selected_schema(cfg, src).await?;
    let target = schema_diff::extract::server_version(tgt).await?;
    let opts = TranslateOptions {
        target,
        names: cfg.name_map(),
        definer: if cfg.migration.definer == "invoker" {
            DefinerPolicy::Invoker
        } else {
            DefinerPolicy::Account(cfg.migration.definer.clone())
        },
    };
    let p = plan(&schema, &opts)?;
    Ok((schema, p))
}

/// Errors that mean a statement already ran (accepted when a phase is run
/// again after a stop).
const ALREADY: &[u16] = &[1007, 1050, 1304, 1359, 1537, 1826, 1061];

async fn run_statements(
    tgt: &mut Conn,
    p: &Plan,
    phases: &[Phase],
    report: &Reporter,
) -> Result<usize, TaskError> {
    let mut n = 0;
    for st in p.statements.iter().filter(|s| phases.contains(&s.phase)) {
        if !st.database.is_empty() && st.phase != Phase::Databases {
            tgt.query_drop(format!("USE {}", quote(&st.database)))
                .await
                .map_err(db("target", format!("using {}", quote(&st.database))))?;
        }
        match tgt.query_drop(&st.sql).await {
            Ok(()) => n += 1,
            Err(mysql_async::Error::Server(e)) if ALREADY.contains(&e.code) => {
                report(&format!("  {} already exists on the target", st.object));
            }
            Err(mysql_async::Error::Server(e)) if e.code == 1005 && e.message.contains("121") => {
                report(&format!("  {} already exists on the target", st.object));
            }
            Err(e) => {
                return Err(TaskError::Database {
                    server: "target",
                    what: format!("creating {} ({:?} phase)", st.object, st.phase),
                    error: e,
                })
            }
        }
    }
    Ok(n)
}

fn selection(
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
        let ops = |table: Option<String>, dml: &[DmlOp], ddl: &[DdlOp]| {
            (dml.len() < ALL_DML.len() || ddl.len() < ALL_DDL.len()).then(|| {
                bulk_copy::apply::Operations {
                    database: o.database.clone(),
                    table,
                    insert: dml.contains(&DmlOp::Insert),
                    update: dml.contains(&DmlOp::Update),
                    delete: dml.contains(&DmlOp::Delete),
                    ddl: ddl.iter().map(|d| d.kind()).collect(),
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

fn apply_options(cfg: &TaskConfig, h: &RunHandles) -> ApplyOptions {
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

async fn master_position(src: &mut Conn) -> Result<FilePosition, TaskError> {
    match server_dialect::binlog_position(src, None).await {
        Ok(at) => Ok(FilePosition::new(at.file, at.position)),
        Err(DialectError::BinlogOff) => Err(TaskError::Other(
            "the source has no binlog (log_bin is off), so incremental migration cannot follow; \
             turn log_bin on or remove \"incremental\" from [migration] types"
                .into(),
        )),
        Err(DialectError::Query { what, error }) => Err(TaskError::Database {
            server: "source",
            what,
            error,
        }),
        Err(e) => Err(TaskError::Other(format!("the source: {e}"))),
    }
}

/// Runs the task (see the module documentation) until it finishes (offline
/// strategy), is stopped, or fails after its retry windows.
///
/// # Errors
///
/// [`TaskError`] saying what failed and how to resume.
pub async fn run_task(cfg: &TaskConfig, h: &RunHandles) -> Result<RunOutcome, TaskError> {
    let source = endpoint_opts(&cfg.source).await;
    let target = endpoint_opts(&cfg.target).await;
    let mut store = Store::open(&target, &cfg.target.meta_schema, &cfg.task).await?;
    let existing = store.state().await?;
    if existing.as_ref().is_some_and(|s| s.phase == "finished") {
        return Err(TaskError::Finished(cfg.task.clone()));
    }
    let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
    store
        .lease_with(&target, Some(h.stop.clone()), lost.clone())
        .await?;
    store.phase = Some(h.phase.clone());
    if let Ok(mut g) = h.phase.lock() {
        *g = existing
            .as_ref()
            .map_or("precheck".into(), |s| s.phase.clone());
    }
    let metrics = match cfg.metrics_listen {
        Some(addr) => Some(
            crate::metrics::serve(addr, cfg.task.clone(), h.clone())
                .await
                .map_err(|e| {
                    TaskError::Other(format!(
                        "cannot serve metrics on {addr} ([metrics] listen): {e}"
                    ))
                })?,
        ),
        None => None,
    };
    let watcher = crate::metrics::watch_lag(cfg.alert.clone(), cfg.task.clone(), h.clone());
    let mut r = run_with_retries(cfg, h, &source, &target, &mut store, existing.is_none()).await;
    if lost.load(std::sync::atomic::Ordering::SeqCst) {
        r = Err(TaskError::Other(
            "another run took this task while the network to the target was cut; this run \
             stopped (its checkpoint is kept) and leaves the task to it"
                .into(),
        ));
    }
    watcher.abort();
    if let Some(m) = metrics {
        m.abort();
    }
    if let Err(e) = &r {
        crate::metrics::alert(&cfg.alert, &cfg.task, &format!("the task failed: {e}")).await;
    }
    r
}

async fn run_with_retries(
    cfg: &TaskConfig,
    h: &RunHandles,
    source: &Opts,
    target: &Opts,
    store: &mut Store,
    fresh: bool,
) -> Result<RunOutcome, TaskError> {
    let mut first_error: Option<Instant> = None;
    let mut last_error: Option<Instant> = None;
    let mut attempts = 0u32;
    loop {
        match run_phases(cfg, h, source, target, store, fresh).await {
            Ok(o) => {
                let st = if o == RunOutcome::Finished {
                    "finished"
                } else {
                    "stopped"
                };
                store.set_state_again(target, st, None).await?;
                return Ok(o);
            }
            Err(e) => {
                h.errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let now = Instant::now();
                // A run that went well for a minute starts a new window.
                if last_error.is_some_and(|l| now.duration_since(l) > Duration::from_secs(60)) {
                    first_error = None;
                    attempts = 0;
                }
                last_error = Some(now);
                let since = *first_error.get_or_insert(now);
                let window = if e.is_connection() {
                    Duration::from_secs(u64::from(cfg.retry.connection_minutes) * 60)
                } else if e.is_transient() {
                    Duration::from_secs(u64::from(cfg.retry.other_minutes) * 60)
                } else {
                    Duration::ZERO
                };
                if now.duration_since(since) < window && !h.stop.is_stopped() {
                    attempts += 1;
                    let backoff = Duration::from_secs((1u64 << attempts.min(5)).min(30));
                    (h.report)(&format!(
                        "retrying in {} s after: {e} (retry window {} min)",
                        backoff.as_secs(),
                        window.as_secs() / 60
                    ));
                    tokio::time::sleep(backoff).await;
                    h.retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    // The state connection may be the one that broke (the
                    // lease has a keeper of its own).
                    if store.conn.ping().await.is_err() {
                        if let Ok(c) = Conn::new(target.clone()).await {
                            store.conn = c;
                        }
                    }
                    continue;
                }
                let msg = format!(
                    "{e}. The checkpoint is intact: fix the cause, then run `dts run` again with the same \
                     task file to resume"
                );
                let _ = store.set_state_again(target, "failed", Some(&msg)).await;
                return Err(e);
            }
        }
    }
}

async fn run_phases(
    cfg: &TaskConfig,
    h: &RunHandles,
    source: &Opts,
    target: &Opts,
    store: &mut Store,
    fresh: bool,
) -> Result<RunOutcome, TaskError> {
    let report = &h.report;
    let state = store.state().await?.unwrap_or_default();
    let mut phase = state.phase.clone();
    if phase.is_empty() {
        phase = "precheck".into();
    }
    let types = &cfg.migration;
    let mut src = Conn::new(source.clone())
        .await
        .map_err(db("source", "connecting"))?;
    let mut tgt = Conn::new(target.clone())
        .await
        .map_err(db("target", "connecting"))?;
    if phase == "precheck" {
        {
            let _ = fresh;
            report("precheck");
            let r = crate::precheck::run_precheck(cfg).await;
            let failures: Vec<String> = r
                .checks
                .iter()
                .filter(|c| c.status == crate::precheck::Status::Failure)
                .map(|c| format!("{}: {}", c.id, c.found))
                .collect();
            for c in r
                .checks
                .iter()
                .filter(|c| c.status == crate::precheck::Status::Warning)
            {
                report(&format!("  warning {}: {}", c.id, c.found));
            }
            if !failures.is_empty() {
                return Err(TaskError::Precheck(failures.join("; ")));
            }
        }
        phase = "schema".into();
        store.set_phase(&phase).await?;
    }
    let (schema, p) = the_plan(cfg, &mut src, &mut tgt).await?;
    let (sel, tables) = selection(cfg, &schema)?;
    if phase == "schema" {
        if types.has(MigrationType::Schema) {
            report("schema: databases, tables (foreign keys after the data), views, routines");
            let n = run_statements(
                &mut tgt,
                &p,
                &[
                    Phase::Databases,
                    Phase::Tables,
                    Phase::Views,
                    Phase::Routines,
                ],
                report,
            )
            .await?;
            report(&format!("  {n} statements"));
            for w in &p.warnings {
                report(&format!("  note: {}: {}", w.object, w.message));
            }
        }
        phase = "prepare".into();
        store.set_phase(&phase).await?;
    }
    if h.stop.is_stopped() {
        return Ok(RunOutcome::Stopped { phase });
    }
    if phase == "prepare" {
        if types.has(MigrationType::Incremental) {
            report("prepare: recording the source schema for incremental migration");
            prepare_incremental(source, target, &sel, &apply_options(cfg, h)).await?;
        }
        phase = "full".into();
        store.set_phase(&phase).await?;
    }
    if phase == "full" {
        if types.has(MigrationType::Full) {
            report(&format!("full: copying {} tables", tables.len()));
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
                rows_per_sec: (cfg.full.max_rows_per_sec > 0.0)
                    .then_some(cfg.full.max_rows_per_sec),
                bytes_per_sec: (cfg.full.max_bytes_per_sec > 0.0)
                    .then_some(cfg.full.max_bytes_per_sec),
            });
            let r = copy_tables(source, target, &tables, &o).await?;
            for t in &r.tables {
                report(&format!(
                    "  {} -> {}: {}",
                    t.table,
                    t.target,
                    if t.already_done {
                        "already copied".to_string()
                    } else {
                        format!("{} rows ({})", t.rows, t.method.as_str())
                    }
                ));
            }
            if types.has(MigrationType::Incremental) {
                let start = r.start.clone().ok_or_else(|| {
                    TaskError::Other(
                        "the source has no binlog: incremental migration cannot follow".into(),
                    )
                })?;
                store
                    .set_handoff(&HandOff {
                        start,
                        overlap_end: r.overlap_end.clone(),
                    })
                    .await?;
            }
        } else if types.has(MigrationType::Incremental) && state.start.is_none() {
            let start = master_position(&mut src).await?;
            store
                .set_handoff(&HandOff {
                    start,
                    overlap_end: None,
                })
                .await?;
        }
        phase = "foreign_keys".into();
        store.set_phase(&phase).await?;
    }
    if phase == "foreign_keys" {
        if types.has(MigrationType::Schema) {
            report("foreign keys");
            run_statements(&mut tgt, &p, &[Phase::ForeignKeys], report).await?;
        }
        phase = if types.has(MigrationType::Incremental) {
            "incremental".into()
        } else {
            "cutover".into()
        };
        store.set_phase(&phase).await?;
    }
    if phase == "cutover" && !types.has(MigrationType::Incremental) {
        // The offline strategy ends by itself.
        if types.has(MigrationType::Schema) {
            report("triggers and events");
            run_statements(&mut tgt, &p, &[Phase::Triggers, Phase::Events], report).await?;
        }
        store.set_phase("finished").await?;
        report("finished");
        return Ok(RunOutcome::Finished);
    }
    if phase == "incremental" {
        let state = store.state().await?.unwrap_or_default();
        let handoff = state.start.map(|start| HandOff {
            start,
            overlap_end: state.overlap_end,
        });
        report(&format!(
            "incremental: applying the source's binlog from {} until stopped or cut over",
            handoff
                .as_ref()
                .map(|h| h.start.to_string())
                .unwrap_or_else(|| "the checkpoint".into())
        ));
        let o = apply_options(cfg, h);
        let stop = h.stop.clone();
        // Stop requests from `dts stop` / `dts cutover`, through the state.
        let watcher = {
            let target = target.clone();
            let (meta, task) = (cfg.target.meta_schema.clone(), cfg.task.clone());
            tokio::spawn(async move {
                let mut s: Option<Store> = None;
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if s.is_none() {
                        // (Re)connect: the network may have been cut.
                        s = Store::open(&target, &meta, &task).await.ok();
                    }
                    let Some(st) = s.as_mut() else { continue };
                    match st.stop_requested().await {
                        Ok(true) => {
                            stop.stop();
                            return;
                        }
                        Ok(false) => {}
                        Err(_) => s = None,
                    }
                }
            })
        };
        let r = apply_changes(source, target, &sel, handoff.as_ref(), &o).await;
        watcher.abort();
        r?;
        return Ok(RunOutcome::Stopped { phase });
    }
    Ok(RunOutcome::Stopped { phase })
}

/// Asks a running task to stop at its next safe point (its checkpoint
/// flushed); returns whether a task state existed.
///
/// # Errors
///
/// When the target cannot be reached.
pub async fn request_stop(cfg: &TaskConfig) -> Result<bool, TaskError> {
    let target = endpoint_opts(&cfg.target).await;
    let mut c = Conn::new(target)
        .await
        .map_err(db("target", "connecting"))?;
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
}

/// Reads the task's status from the target.
///
/// # Errors
///
/// When the target cannot be reached.
pub async fn task_status(cfg: &TaskConfig) -> Result<TaskStatus, TaskError> {
    let target = endpoint_opts(&cfg.target).await;
    let mut c = Conn::new(target)
        .await
        .map_err(db("target", "connecting"))?;
    let meta = &cfg.target.meta_schema;
    let state = read_state(&mut c, meta, &cfg.task).await?;
    let name = lock_name(meta, &cfg.task);
    let free: Option<Option<i64>> = c
        .exec_first("SELECT IS_FREE_LOCK(?)", (name,))
        .await
        .map_err(db("target", "reading the lease"))?;
    let mut st = TaskStatus {
        schema_version: 1,
        task: cfg.task.clone(),
        state,
        running: free.flatten() == Some(0),
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
        });
    }
    Ok(st)
}

/// Cuts over (see the module documentation of the CLI's `dts cutover`):
/// waits for the lag to fall under the threshold, fences the source, stops
/// the running apply, drains to the source's final position, creates the
/// deferred triggers and events, aligns AUTO_INCREMENT counters, marks the
/// task finished, and optionally revokes the task account's writes on the
/// target. Each step is reported.
///
/// # Errors
///
/// [`TaskError`] naming the step; a rerun continues (every step is
/// idempotent).
pub async fn cutover(cfg: &TaskConfig, h: &RunHandles) -> Result<(), TaskError> {
    let report = &h.report;
    let source = endpoint_opts(&cfg.source).await;
    let target = endpoint_opts(&cfg.target).await;
    let mut store = Store::open(&target, &cfg.target.meta_schema, &cfg.task).await?;
    let state = store.state().await?.ok_or_else(|| {
        TaskError::Other(format!(
            "task {:?} never ran: nothing to cut over",
            cfg.task
        ))
    })?;
    if state.phase == "finished" {
        return Err(TaskError::Finished(cfg.task.clone()));
    }
    if state.phase != "incremental" && state.phase != "cutover" {
        return Err(TaskError::Other(format!(
            "task {:?} is at phase {:?}: cut over once incremental migration runs (`dts run`)",
            cfg.task, state.phase
        )));
    }
    // 1. Wait for the lag, as the running apply reports it.
    let max = cfg.cutover.max_lag_seconds;
    report(&format!("1/7 waiting until the lag is under {max} s"));
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let st = task_status(cfg).await?;
        let lag = st.incremental.as_ref().and_then(|i| i.lag_seconds);
        if state.phase == "cutover" || !st.running || lag.is_some_and(|l| l <= max) {
            report(&format!(
                "  lag {}",
                lag.map(|l| format!("{l} s"))
                    .unwrap_or_else(|| "unknown".into())
            ));
            break;
        }
        if Instant::now() > deadline {
            return Err(TaskError::Other(
                "the lag stayed over the threshold for an hour".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // 2. Fence the source.
    let mut src = Conn::new(source.clone())
        .await
        .map_err(db("source", "connecting"))?;
    store.set_phase("cutover").await?;
    match cfg.cutover.fence {
        crate::config::FenceMode::ReadOnly => {
            report("2/7 fencing the source: SET GLOBAL read_only = ON");
            src.query_drop("SET GLOBAL read_only = ON")
                .await
                .map_err(db(
                    "source",
                    "setting read_only (needs SUPER or READ_ONLY ADMIN)",
                ))?;
        }
        crate::config::FenceMode::Sql => {
            let sql = cfg.cutover.fence_sql.clone().unwrap_or_default();
            report(&format!("2/7 fencing the source: {sql}"));
            src.query_drop(&sql)
                .await
                .map_err(db("source", "running cutover.fence_sql"))?;
        }
        crate::config::FenceMode::None => {
            report("2/7 not fencing the source (fence = \"none\"): stop the writers yourself")
        }
    }
    let fin = master_position(&mut src).await?;
    // 3. Stop the running apply and take the task.
    report(&format!(
        "3/7 draining to the source's final position {fin}"
    ));
    request_stop(cfg).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match store.lease(&target).await {
            Ok(()) => break,
            Err(TaskError::Running { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => return Err(e),
        }
    }
    let schema = selected_schema(cfg, &mut src).await?;
    let (sel, tables) = selection(cfg, &schema)?;
    let o = ApplyOptions {
        until: Some(fin.clone()),
        heartbeat: None,
        ..apply_options(cfg, h)
    };
    let st = store.state().await?.unwrap_or_default();
    let handoff = st.start.map(|start| HandOff {
        start,
        overlap_end: st.overlap_end,
    });
    apply_changes(&source, &target, &sel, handoff.as_ref(), &o).await?;
    report(&format!("  applied up to {fin}"));
    // 4. Verify: with the source fenced and drained, every table is
    // compared on exact bytes.
    report("4/7 verifying every table on exact bytes");
    let mut tgt = Conn::new(target.clone())
        .await
        .map_err(db("target", "connecting"))?;
    let v = row_verify::verify_tables(
        &source,
        &target,
        &tables,
        &row_verify::VerifyOptions::default(),
    )
    .await?;
    let differing: Vec<String> = v
        .tables
        .iter()
        .filter(|t| !t.is_equal())
        .map(|t| {
            format!(
                "{}: {} missing, {} extra, {} different",
                t.target, t.missing, t.extra, t.different
            )
        })
        .collect();
    if !differing.is_empty() {
        return Err(TaskError::Other(format!(
            "after draining, the target differs from the source: {}. Run `dts verify --config \
             FILE --repair print` to see the rows and the statements that fix them, then `dts \
             cutover` again; the source stays fenced",
            differing.join("; ")
        )));
    }
    report(&format!(
        "  {} tables equal ({} rows)",
        v.tables.len(),
        v.tables.iter().map(|t| t.source_rows).sum::<u64>()
    ));
    // 5. Triggers and events.
    report("5/7 creating triggers and events");
    let (_, p) = the_plan(cfg, &mut src, &mut tgt).await?;
    run_statements(&mut tgt, &p, &[Phase::Triggers, Phase::Events], report).await?;
    // 6. AUTO_INCREMENT.
    report("6/7 aligning AUTO_INCREMENT counters");
    for t in &tables {
        let ai: Option<Option<u64>> = src
            .exec_first(
                "SELECT auto_increment FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                (&t.source_db, &t.source_table),
            )
            .await
            .map_err(db("source", "reading AUTO_INCREMENT"))?;
        if let Some(Some(n)) = ai {
            tgt.query_drop(format!(
                "ALTER TABLE {}.{} AUTO_INCREMENT = {n}",
                quote(&t.target_db),
                quote(&t.target_table)
            ))
            .await
            .map_err(db("target", "setting AUTO_INCREMENT"))?;
        }
    }
    // 7. Finished.
    for d in &sel.source_databases() {
        let shadow = bulk_copy::apply::shadow_database(&cfg.task, d);
        tgt.query_drop(format!("DROP DATABASE IF EXISTS {}", quote(&shadow)))
            .await
            .map_err(db("target", "dropping the shadow schema"))?;
    }
    store.set_phase("finished").await?;
    store.set_state("finished", None).await?;
    report("7/7 finished: the target is the primary now; point the applications at it");
    if cfg.cutover.revoke_target_writes {
        if let Some(user) = cfg.target.user() {
            let r: Option<String> = tgt
                .query_first("SELECT CURRENT_USER()")
                .await
                .map_err(db("target", "reading the account"))?;
            let account = r.unwrap_or_else(|| user.to_string());
            let (u, host) = account.split_once('@').unwrap_or((&account, "%"));
            let sql = format!(
                "REVOKE INSERT, UPDATE, DELETE ON *.* FROM '{}'@'{}'",
                u.replace('\'', "''"),
                host.replace('\'', "''")
            );
            match tgt.query_drop(&sql).await {
                Ok(()) => report(&format!("  revoked the task account's writes: {sql}")),
                Err(e) => report(&format!("  could not revoke ({e}); run yourself: {sql}")),
            }
        }
    }
    Ok(())
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

/// How far a task's incremental migration has applied the source's binlog,
/// read from its checkpoint: what online verification waits for.
pub struct CheckpointApplied {
    target: Opts,
    meta: String,
    task: String,
}

impl CheckpointApplied {
    /// For `cfg`'s task, on `target`.
    pub fn new(cfg: &TaskConfig, target: Opts) -> Self {
        CheckpointApplied {
            target,
            meta: cfg.target.meta_schema.clone(),
            task: cfg.task.clone(),
        }
    }
}

impl row_verify::AppliedPosition for CheckpointApplied {
    fn applied_past<'a>(
        &'a self,
        pos: &'a FilePosition,
    ) -> futures::future::BoxFuture<'a, Result<bool, CopyError>> {
        Box::pin(async move {
            let mut c =
                Conn::new(self.target.clone())
                    .await
                    .map_err(|error| CopyError::Database {
                        server: "target",
                        what: "reading the incremental checkpoint".into(),
                        error,
                    })?;
            let r: Option<(Vec<u8>, u64)> = c
                .exec_first(
                    format!(
                        "SELECT binlog_file, binlog_pos FROM {}.`cdc_checkpoint` WHERE task = ?",
                        quote(&self.meta)
                    ),
                    (&self.task,),
                )
                .await
                .map_err(|error| CopyError::Database {
                    server: "target",
                    what: "reading the incremental checkpoint".into(),
                    error,
                })?;
            c.disconnect().await.ok();
            Ok(r.is_some_and(|(f, p)| FilePosition::new(String::from_utf8_lossy(&f), p) >= *pos))
        })
    }
}

/// The task's schema migration: the ordered DDL for its target, with the
/// task's selection, renames, name case and definer rule (what `dts run`
/// executes in its schema and foreign-key phases, and at cut-over).
///
/// # Errors
///
/// When a server cannot be read or the schema cannot be translated.
pub async fn task_plan(cfg: &TaskConfig) -> Result<Plan, TaskError> {
    let mut src = Conn::new(endpoint_opts(&cfg.source).await)
        .await
        .map_err(db("source", "connecting"))?;
    let mut tgt = Conn::new(endpoint_opts(&cfg.target).await)
        .await
        .map_err(db("target", "connecting"))?;
    Ok(the_plan(cfg, &mut src, &mut tgt).await?.1)
}
