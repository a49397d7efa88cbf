//! `dts cutover`: from a task applying changes to a target that is the
//! primary, in seven reported steps, each its own function and each
//! idempotent (a rerun continues).

use std::time::{Duration, Instant};

use binlog_reader::position::FilePosition;
use bulk_copy::{apply_changes, ApplySelection, HandOff, TableMapping};
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use schema_diff::plan::Phase as PlanPhase;

use crate::config::{FenceMode, TaskConfig};

use super::error::{db, TaskError};
use super::handles::{Reporter, RunHandles};
use super::options::{drain_options, selection, verify_options};
use super::phase::Phase;
use super::plan::{run_statements, selected_schema, the_plan};
use super::sql::{master_position, quote};
use super::status::task_status;
use super::store::{request_stop, Store, TaskState};

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
    // With candidates in `[source] url`, the writable one (after a
    // failover, the new primary).
    let source = super::run::pick_source(cfg, h).await;
    let target = cfg.target.connect_opts().await;
    let mut store = Store::open(&target, &cfg.target.meta_schema, &cfg.task).await?;
    let state = state_to_cut_over(cfg, &mut store).await?;
    wait_for_lag(cfg, report, &state).await?;
    let mut src = Conn::new(source.clone())
        .await
        .map_err(db("source", "connecting"))?;
    store.set_phase(Phase::Cutover).await?;
    fence(cfg, report, &mut src).await?;
    let fin = master_position(&mut src).await?;
    let (sel, tables) = drain(cfg, h, &source, &target, &mut store, &mut src, fin).await?;
    let mut tgt = Conn::new(target.clone())
        .await
        .map_err(db("target", "connecting"))?;
    verify(cfg, h, report, &source, &target, &tables).await?;
    triggers_and_events(cfg, report, &mut src, &mut tgt).await?;
    align_auto_increment(report, &mut src, &mut tgt, &tables).await?;
    finish(cfg, report, &mut store, &mut tgt, &sel).await?;
    if cfg.cutover.revoke_target_writes {
        revoke_target_writes(cfg, report, &mut tgt).await?;
    }
    Ok(())
}

/// The task's state, when it may be cut over: incremental migration runs,
/// or an earlier cut-over stopped half-way.
async fn state_to_cut_over(cfg: &TaskConfig, store: &mut Store) -> Result<TaskState, TaskError> {
    let state = store.state().await?.ok_or_else(|| {
        TaskError::Other(format!(
            "task {:?} never ran: nothing to cut over",
            cfg.task
        ))
    })?;
    if state.phase == Phase::Finished {
        return Err(TaskError::Finished(cfg.task.clone()));
    }
    if state.phase != Phase::Incremental && state.phase != Phase::Cutover {
        return Err(TaskError::Other(format!(
            "task {:?} is at phase {:?}: cut over once incremental migration runs (`dts run`)",
            cfg.task,
            state.phase.as_str()
        )));
    }
    Ok(state)
}

/// Step 1: waits (an hour at most) until the lag, as the running apply reports
/// it, is under `cutover.max_lag_seconds`; not when no run holds the task or
/// an earlier cut-over already fenced the source.
async fn wait_for_lag(
    cfg: &TaskConfig,
    report: &Reporter,
    state: &TaskState,
) -> Result<(), TaskError> {
    let max = cfg.cutover.max_lag_seconds;
    report(&format!("1/7 waiting until the lag is under {max} s"));
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let st = task_status(cfg).await?;
        let lag = st.incremental.as_ref().and_then(|i| i.lag_seconds);
        if state.phase == Phase::Cutover || !st.running || lag.is_some_and(|l| l <= max) {
            report(&format!(
                "  lag {}",
                lag.map(|l| format!("{l} s"))
                    .unwrap_or_else(|| "unknown".into())
            ));
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(TaskError::Other(
                "the lag stayed over the threshold for an hour".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Step 2: stops the source from taking writes, as `cutover.fence` says.
async fn fence(cfg: &TaskConfig, report: &Reporter, src: &mut Conn) -> Result<(), TaskError> {
    match cfg.cutover.fence {
        FenceMode::ReadOnly => {
            // MySQL's super_read_only also stops accounts with SUPER, which
            // read_only lets write; MariaDB has only read_only.
            let version = server_dialect::server_version(src)
                .await
                .map_err(|e| match e {
                    server_dialect::DialectError::Query { what, error } => TaskError::Database {
                        server: "source",
                        what,
                        error,
                    },
                    other => TaskError::Other(format!("the source: {other}")),
                })?;
            let dialect = server_dialect::Dialect::new(version);
            let fence = dialect.fence_statement();
            report(&format!("2/7 fencing the source: {fence}"));
            src.query_drop(fence).await.map_err(db(
                "source",
                format!(
                    "fencing the source with {fence} (needs {}; on a managed service set the \
                     read-only parameter in its console and use fence = \"none\")",
                    dialect.fence_privilege()
                ),
            ))?;
        }
        FenceMode::Sql => {
            let sql = cfg.cutover.fence_sql.clone().unwrap_or_default();
            report(&format!("2/7 fencing the source: {sql}"));
            src.query_drop(&sql)
                .await
                .map_err(db("source", "running cutover.fence_sql"))?;
        }
        FenceMode::None => {
            report("2/7 not fencing the source (fence = \"none\"): stop the writers yourself")
        }
    }
    Ok(())
}

/// Step 3: stops the running apply, takes the task's lease (two minutes at
/// most), and applies the source's binlog up to `fin`, its final position.
/// Returns the selection and the tables, for the steps that follow.
async fn drain(
    cfg: &TaskConfig,
    h: &RunHandles,
    source: &Opts,
    target: &Opts,
    store: &mut Store,
    src: &mut Conn,
    fin: FilePosition,
) -> Result<(ApplySelection, Vec<TableMapping>), TaskError> {
    let report = &h.report;
    report(&format!(
        "3/7 draining to the source's final position {fin}"
    ));
    request_stop(cfg).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match store.lease(target).await {
            Ok(()) => break,
            Err(TaskError::Running { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => return Err(e),
        }
    }
    let schema = selected_schema(&cfg.objects, src).await?;
    let (sel, tables) = selection(cfg, &schema)?;
    let o = drain_options(cfg, h, fin.clone())?;
    let st = store.state().await?.unwrap_or_default();
    let handoff = st.start.map(|start| HandOff {
        start,
        overlap_end: st.overlap_end,
    });
    apply_changes(source, target, &sel, handoff.as_ref(), &o).await?;
    report(&format!("  applied up to {fin}"));
    Ok((sel, tables))
}

/// Step 4: with the source fenced and drained, compares every table on exact
/// bytes; a difference stops the cut-over (the source stays fenced).
async fn verify(
    cfg: &TaskConfig,
    h: &RunHandles,
    report: &Reporter,
    source: &Opts,
    target: &Opts,
    tables: &[TableMapping],
) -> Result<(), TaskError> {
    report("4/7 verifying every table on exact bytes");
    let v = row_verify::verify_tables(source, target, tables, &verify_options(cfg, h)).await?;
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
    Ok(())
}

/// Step 5: creates the triggers and events, deferred until no replicated row can
/// fire them.
async fn triggers_and_events(
    cfg: &TaskConfig,
    report: &Reporter,
    src: &mut Conn,
    tgt: &mut Conn,
) -> Result<(), TaskError> {
    report("5/7 creating triggers and events");
    let (_, p) = the_plan(cfg, src, tgt).await?;
    run_statements(tgt, &p, &[PlanPhase::Triggers, PlanPhase::Events], report).await?;
    Ok(())
}

/// Step 6: sets each target table's AUTO_INCREMENT counter to the source's.
async fn align_auto_increment(
    report: &Reporter,
    src: &mut Conn,
    tgt: &mut Conn,
    tables: &[TableMapping],
) -> Result<(), TaskError> {
    report("6/7 aligning AUTO_INCREMENT counters");
    for t in tables {
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
    Ok(())
}

/// Step 7: drops the shadow schemas and marks the task finished.
async fn finish(
    cfg: &TaskConfig,
    report: &Reporter,
    store: &mut Store,
    tgt: &mut Conn,
    sel: &ApplySelection,
) -> Result<(), TaskError> {
    for d in &sel.source_databases() {
        let shadow = bulk_copy::apply::shadow_database(&cfg.task, d);
        tgt.query_drop(format!("DROP DATABASE IF EXISTS {}", quote(&shadow)))
            .await
            .map_err(db("target", "dropping the shadow schema"))?;
    }
    store.set_phase(Phase::Finished).await?;
    store.set_state("finished", None).await?;
    report("7/7 finished: the target is the primary now; point the applications at it");
    Ok(())
}

/// `cutover.revoke_target_writes`: revokes the task account's writes on the
/// target, so that no resumed task can overwrite it; when that fails, says
/// the statement to run.
async fn revoke_target_writes(
    cfg: &TaskConfig,
    report: &Reporter,
    tgt: &mut Conn,
) -> Result<(), TaskError> {
    let Some(user) = cfg.target.user() else {
        return Ok(());
    };
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
    Ok(())
}
