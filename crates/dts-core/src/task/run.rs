//! `dts run`: the phases in order, with retries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bulk_copy::{
    apply_changes_from, copy_tables, prepare_incremental, ApplySelection, HandOff, StopSignal,
    TableMapping,
};
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use schema_diff::plan::{Phase as PlanPhase, Plan};

use crate::config::{IncrementalStart, MigrationType, TaskConfig};

use super::error::{connect, TaskError};
use super::handles::RunHandles;
use super::options::{apply_options, copy_options, selection};
use super::phase::Phase;
use super::plan::{run_statements, the_plan};
use super::sql::master_position;
use super::store::Store;

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// The offline strategy finished: the target is complete.
    Finished,
    /// Stopped on request, resumable with `dts run`.
    Stopped {
        /// The phase it will resume at.
        phase: Phase,
    },
}

/// Runs the task (see the module documentation) until it finishes (offline
/// strategy), is stopped, or fails after its retry windows.
///
/// # Errors
///
/// [`TaskError`] saying what failed and how to resume.
pub async fn run_task(cfg: &TaskConfig, h: &RunHandles) -> Result<RunOutcome, TaskError> {
    let source = pick_source(cfg, h).await;
    let target = cfg.target.connect_opts().await;
    let mut store = Store::open(&target, &cfg.target.meta_schema, &cfg.task).await?;
    let existing = store.state().await?;
    if existing
        .as_ref()
        .is_some_and(|s| s.phase == Phase::Finished)
    {
        return Err(TaskError::Finished(cfg.task.clone()));
    }
    let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
    store
        .lease_with(&target, Some(h.stop.clone()), lost.clone())
        .await?;
    store.phase = Some(h.phase.clone());
    if let Ok(mut g) = h.phase.lock() {
        *g = existing.as_ref().map_or(Phase::Precheck, |s| s.phase);
    }
    let control = super::control::watch(&target, cfg, h).await?;
    let metrics = match cfg.metrics_listen {
        Some(addr) => Some(
            crate::metrics::serve(addr, cfg.task.clone(), {
                let h = h.clone();
                move || h.counters()
            })
            .await
            .map_err(|e| {
                control.abort();
                TaskError::Other(format!(
                    "cannot serve metrics on {addr} ([metrics] listen): {e}"
                ))
            })?,
        ),
        None => None,
    };
    let watcher = crate::metrics::watch_lag(cfg.alert.clone(), cfg.task.clone(), {
        let apply = h.apply.clone();
        move || apply.status().lag
    });
    let mut r = run_with_retries(cfg, h, &source, &target, &mut store).await;
    if lost.load(std::sync::atomic::Ordering::SeqCst) {
        r = Err(TaskError::Other(
            "another run took this task while the network to the target was cut; this run \
             stopped (its checkpoint is kept) and leaves the task to it"
                .into(),
        ));
    }
    watcher.abort();
    control.abort();
    if let Some(m) = metrics {
        m.abort();
    }
    if let Err(e) = &r {
        crate::metrics::alert(&cfg.alert, &cfg.task, &format!("the task failed: {e}")).await;
    }
    r
}

/// Runs the phases again after a failure while its retry window lasts
/// (`retry.connection_minutes` for lost connections, `retry.other_minutes`
/// for other transient errors), with capped backoff; records the outcome.
async fn run_with_retries(
    cfg: &TaskConfig,
    h: &RunHandles,
    source: &Opts,
    target: &Opts,
    store: &mut Store,
) -> Result<RunOutcome, TaskError> {
    let mut first_error: Option<Instant> = None;
    let mut last_error: Option<Instant> = None;
    let mut attempts = 0u32;
    loop {
        match run_phases(cfg, h, source, target, store).await {
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

/// Runs the phases from the stored one on: each phase function does its
/// work, then the next phase is recorded, so a run killed anywhere resumes
/// by running its phase again.
async fn run_phases(
    cfg: &TaskConfig,
    h: &RunHandles,
    source: &Opts,
    target: &Opts,
    store: &mut Store,
) -> Result<RunOutcome, TaskError> {
    let state = store.state().await?.unwrap_or_default();
    let mut phase = state.phase;
    let types = &cfg.migration;
    let mut src = connect("source", source).await?;
    let mut tgt = connect("target", target).await?;
    if phase == Phase::Precheck {
        precheck(cfg, h).await?;
        phase = advance(store, Phase::Schema).await?;
    }
    let (schema, p) = the_plan(cfg, &mut src, &mut tgt).await?;
    let (sel, tables) = selection(cfg, &schema)?;
    if phase == Phase::Schema {
        if types.has(MigrationType::Schema) {
            create_schema(h, &mut tgt, &p).await?;
        }
        phase = advance(store, Phase::Prepare).await?;
    }
    if h.stop.is_stopped() {
        return Ok(RunOutcome::Stopped { phase });
    }
    if phase == Phase::Prepare {
        if types.has(MigrationType::Incremental) {
            prepare(cfg, h, source, target, &sel).await?;
        }
        phase = advance(store, Phase::Full).await?;
    }
    if phase == Phase::Full {
        if types.has(MigrationType::Full) {
            full_copy(cfg, h, source, target, store, &tables).await?;
        } else if types.has(MigrationType::Incremental) && state.start.is_none() {
            match &cfg.incremental.start {
                None => start_at_current_position(store, &mut src).await?,
                Some(IncrementalStart::File(at)) => {
                    store
                        .set_handoff(&HandOff {
                            start: at.clone(),
                            overlap_end: None,
                        })
                        .await?
                }
                // The apply starts from the GTID state itself (its
                // checkpoint holds the file position after its first
                // commit).
                Some(IncrementalStart::Gtid(_)) => {}
            }
        }
        phase = advance(store, Phase::ForeignKeys).await?;
    }
    if phase == Phase::ForeignKeys {
        if types.has(MigrationType::Schema) {
            (h.report)("foreign keys");
            run_statements(&mut tgt, &p, &[PlanPhase::ForeignKeys], &h.report).await?;
        }
        let next = if types.has(MigrationType::Incremental) {
            Phase::Incremental
        } else {
            Phase::Cutover
        };
        phase = advance(store, next).await?;
    }
    if phase == Phase::Cutover && !types.has(MigrationType::Incremental) {
        finish_offline(cfg, h, store, &mut tgt, &p).await?;
        return Ok(RunOutcome::Finished);
    }
    if phase == Phase::Cutover {
        // A cut-over stopped half-way (C10): the source may be fenced while
        // the target is not the primary. Take it back and follow the source.
        super::cutover::take_back_interrupted(cfg, &h.report, source, target, store).await?;
        phase = Phase::Incremental;
    }
    if phase == Phase::Incremental {
        incremental(cfg, h, source, target, store, &sel).await?;
    }
    Ok(RunOutcome::Stopped { phase })
}

/// Records `next` as the task's phase, and returns it.
async fn advance(store: &mut Store, next: Phase) -> Result<Phase, TaskError> {
    store.set_phase(next).await?;
    Ok(next)
}

/// `precheck`: the task starts only without failures; warnings are
/// reported.
async fn precheck(cfg: &TaskConfig, h: &RunHandles) -> Result<(), TaskError> {
    let report = &h.report;
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
    Ok(())
}

/// `schema`: databases, tables (without their foreign keys), views and
/// routines.
async fn create_schema(h: &RunHandles, tgt: &mut Conn, p: &Plan) -> Result<(), TaskError> {
    let report = &h.report;
    report("schema: databases, tables (foreign keys after the data), views, routines");
    let n = run_statements(
        tgt,
        p,
        &[
            PlanPhase::Databases,
            PlanPhase::Tables,
            PlanPhase::Views,
            PlanPhase::Routines,
        ],
        report,
    )
    .await?;
    report(&format!("  {n} statements"));
    for w in &p.warnings {
        report(&format!("  note: {}: {}", w.object, w.message));
    }
    Ok(())
}

/// `prepare`: the apply records the source schema before the copy's
/// snapshot.
async fn prepare(
    cfg: &TaskConfig,
    h: &RunHandles,
    source: &Opts,
    target: &Opts,
    sel: &ApplySelection,
) -> Result<(), TaskError> {
    (h.report)("prepare: recording the source schema for incremental migration");
    prepare_incremental(source, target, sel, &apply_options(cfg, h)?).await?;
    Ok(())
}

/// `full`: the copy; with incremental migration, its start position (and
/// overlap end) is the hand-off.
async fn full_copy(
    cfg: &TaskConfig,
    h: &RunHandles,
    source: &Opts,
    target: &Opts,
    store: &mut Store,
    tables: &[TableMapping],
) -> Result<(), TaskError> {
    let report = &h.report;
    report(&format!("full: copying {} tables", tables.len()));
    let r = copy_tables(source, target, tables, &copy_options(cfg, h)).await?;
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
    if cfg.migration.has(MigrationType::Incremental) {
        let start = r.start.clone().ok_or_else(|| {
            TaskError::Other("the source has no binlog: incremental migration cannot follow".into())
        })?;
        store
            .set_handoff(&HandOff {
                start,
                overlap_end: r.overlap_end.clone(),
            })
            .await?;
    }
    Ok(())
}

/// Without a full copy, incremental migration starts at the source's
/// current position.
async fn start_at_current_position(store: &mut Store, src: &mut Conn) -> Result<(), TaskError> {
    let start = master_position(src).await?;
    store
        .set_handoff(&HandOff {
            start,
            overlap_end: None,
        })
        .await
}

/// The offline strategy's end: the triggers and events, then `finished`.
async fn finish_offline(
    cfg: &TaskConfig,
    h: &RunHandles,
    store: &mut Store,
    tgt: &mut Conn,
    p: &Plan,
) -> Result<(), TaskError> {
    let report = &h.report;
    if cfg.migration.has(MigrationType::Schema) {
        report("triggers and events");
        run_statements(tgt, p, &[PlanPhase::Triggers, PlanPhase::Events], report).await?;
    }
    store.set_phase(Phase::Finished).await?;
    report("finished");
    Ok(())
}

/// `incremental`: applies the source's binlog from the hand-off (or the
/// checkpoint) until stopped: by the run's stop signal, or by a stop request
/// in the task state (`dts stop`, `dts cutover`), which a watcher polls.
async fn incremental(
    cfg: &TaskConfig,
    h: &RunHandles,
    source: &Opts,
    target: &Opts,
    store: &mut Store,
    sel: &ApplySelection,
) -> Result<(), TaskError> {
    let state = store.state().await?.unwrap_or_default();
    let handoff = state.start.map(|start| HandOff {
        start,
        overlap_end: state.overlap_end,
    });
    (h.report)(&format!(
        "incremental: applying the source's binlog from {} until stopped or cut over",
        match (&handoff, &cfg.incremental.start) {
            (Some(h), _) => h.start.to_string(),
            (None, Some(s @ IncrementalStart::Gtid(_))) => format!("the checkpoint, or {s}"),
            _ => "the checkpoint".into(),
        }
    ));
    let mut o = apply_options(cfg, h)?;
    if !cfg.source.failover_urls.is_empty() {
        // Every candidate, the main URL first: the apply finds the
        // checkpoint's server among them, or fails over (catalogue S4).
        let mut all = vec![cfg.source.connect_opts().await];
        all.extend(cfg.source.failover_connect_opts().await);
        o.failover_sources = all;
    }
    let watcher = watch_stop_requests(cfg, target, h.stop.clone());
    let switches = watch_source_switches(cfg, h);
    // With `[source] binlog_archive` the apply reads the main URL's server
    // and bridges from the archive: the failover URLs are for a server
    // source only (see `ApplySource::Archive` in bulk-copy's apply).
    let from = super::options::apply_source(cfg, source);
    let r = apply_changes_from(&from, target, sel, handoff.as_ref(), &o).await;
    watcher.abort();
    switches.abort();
    r?;
    Ok(())
}

/// Reports and alerts each move of the apply to another source server (a
/// failover), polling its status every half second.
fn watch_source_switches(cfg: &TaskConfig, h: &RunHandles) -> tokio::task::JoinHandle<()> {
    let (alert, task, h) = (cfg.alert.clone(), cfg.task.clone(), h.clone());
    tokio::spawn(async move {
        let mut seen = h.apply.status().source_switches;
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let st = h.apply.status();
            if st.source_switches > seen {
                seen = st.source_switches;
                let msg = format!(
                    "the source was replaced: incremental migration continues on {} by GTID (at {})",
                    st.source_server.as_deref().unwrap_or("?"),
                    st.gtid_state.as_deref().unwrap_or("?")
                );
                (h.report)(&msg);
                crate::metrics::alert(&alert, &task, &msg).await;
            }
        }
    })
}

/// The source server a run starts on: the main URL, unless `[source] url`
/// lists candidates and it does not answer as a writable server; then the
/// first candidate that does (else the first that answers at all, else the
/// main URL, whose error the run reports). The apply chooses again at each
/// of its starts, by the checkpoint's server (catalogue S4).
pub(super) async fn pick_source(cfg: &TaskConfig, h: &RunHandles) -> Opts {
    let main = cfg.source.connect_opts().await;
    if cfg.source.failover_urls.is_empty() {
        return main;
    }
    let mut all = vec![main.clone()];
    all.extend(cfg.source.failover_connect_opts().await);
    let mut reachable = None;
    for o in &all {
        let Ok(mut c) = Conn::new(o.clone()).await else {
            continue;
        };
        let ro: Option<u8> = c
            .query_first("SELECT @@GLOBAL.read_only")
            .await
            .ok()
            .flatten();
        c.disconnect().await.ok();
        if ro == Some(0) {
            if o != &main {
                (h.report)(&format!(
                    "source: {}:{} does not answer as a writable server; using {}:{}",
                    main.ip_or_hostname(),
                    main.tcp_port(),
                    o.ip_or_hostname(),
                    o.tcp_port()
                ));
            }
            return o.clone();
        }
        reachable.get_or_insert_with(|| o.clone());
    }
    reachable.unwrap_or(main)
}

/// Raises `stop` when the task state asks for a stop, polling every half
/// second (and reconnecting: the network may have been cut).
fn watch_stop_requests(
    cfg: &TaskConfig,
    target: &Opts,
    stop: StopSignal,
) -> tokio::task::JoinHandle<()> {
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
}
