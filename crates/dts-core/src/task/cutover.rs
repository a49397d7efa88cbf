//! `dts cutover`: from a task applying changes to a target that is the
//! primary, in seven reported steps, each its own function and each
//! idempotent (a rerun continues).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use binlog_reader::position::FilePosition;
use bulk_copy::{apply_changes_from, ApplySelection, HandOff, TableMapping};
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use schema_diff::plan::Phase as PlanPhase;

use crate::config::{FenceMode, TaskConfig};

use super::cutover_fence::{fence, forget, record_objects, undo};
use super::error::{connect, db, TaskError};
use super::handles::{Reporter, RunHandles};
use super::options::{drain_options, selection, verify_options};
use super::phase::Phase;
use super::plan::{run_statements, selected_schema, the_plan};
use super::sql::{master_position, quote};
use super::status::task_status;
use super::store::{request_stop, Store, TaskState};
use super::verify_hook::CheckpointApplied;

/// Cuts over (see the module documentation of the CLI's `dts cutover`):
/// refuses a failed task; waits for the lag to fall under the threshold
/// (for a task no run holds, the lag is measured against the source's
/// current position, and a lag over it refuses); fences the source, stops
/// the running apply, drains to the source's final position, checks that
/// the fence held, verifies, creates the deferred triggers and events,
/// aligns AUTO_INCREMENT counters, marks the task finished, and optionally
/// revokes the task account's writes on the target. Each step is reported,
/// and so is how long the source was fenced.
///
/// A failure after the fence takes the cut-over back (see
/// [`super::cutover_fence`]): the source writable again, the task back to
/// incremental migration and marked failed with the error, which `dts
/// status` shows. When that cannot be done, the first line reported and
/// the error both say so, with the statement that does it.
///
/// # Errors
///
/// [`TaskError`] naming the step.
pub async fn cutover(cfg: &TaskConfig, h: &RunHandles) -> Result<(), TaskError> {
    let report = &h.report;
    // With candidates in `[source] url`, the writable one (after a
    // failover, the new primary).
    let source = super::run::pick_source(cfg, h).await;
    let target = cfg.target.connect_opts().await;
    let mut store = Store::open(&target, &cfg.target.meta_schema, &cfg.task).await?;
    let state = state_to_cut_over(cfg, &mut store).await?;
    let mut src = connect("source", &source).await?;
    let online = if state.phase == Phase::Incremental {
        wait_for_lag(cfg, report, &mut src).await?;
        verify_online(cfg, h, &source, &target, &mut src).await?
    } else {
        report("1/7 an earlier cut-over stopped half-way: continuing it");
        None
    };
    store.set_phase(Phase::Cutover).await?;
    let fenced = async {
        stop_the_run(cfg, report, &mut store, &target).await?;
        fence(cfg, report, &mut store, &mut src).await
    };
    let fenced_at = Instant::now();
    if let Err(e) = fenced.await {
        // Nothing is fenced: the task is as it was (its run stopped).
        if state.phase == Phase::Incremental {
            let _ = store.set_phase(Phase::Incremental).await;
        }
        return Err(e);
    }
    match fenced_steps(
        cfg,
        h,
        &source,
        &target,
        &mut store,
        &mut src,
        online.as_ref(),
    )
    .await
    {
        Ok(()) => {
            report(&format!(
                "the source was fenced for {:.2} s (from the fence to the task finished)",
                fenced_at.elapsed().as_secs_f64()
            ));
        }
        Err(e) => return Err(back_out(cfg, report, &source, &target, &mut store, e).await),
    }
    let _ = forget(cfg, &mut store).await;
    if cfg.cutover.revoke_target_writes {
        let mut tgt = connect("target", &target).await?;
        revoke_target_writes(cfg, report, &mut tgt).await?;
    }
    Ok(())
}

/// Steps 3 to 7, with the source fenced.
async fn fenced_steps(
    cfg: &TaskConfig,
    h: &RunHandles,
    source: &Opts,
    target: &Opts,
    store: &mut Store,
    src: &mut Conn,
    online: Option<&Online>,
) -> Result<(), TaskError> {
    let report = &h.report;
    let fin = master_position(src).await?;
    let (sel, tables) = drain(cfg, h, source, target, store, src, fin.clone()).await?;
    let mut tgt = connect("target", target).await?;
    let to_verify = match online {
        Some(o) => changed_since(src, &tables, o, &fin).await?,
        None => tables.clone(),
    };
    verify(cfg, h, report, source, target, &to_verify, src, &fin).await?;
    record_objects(cfg, store).await?;
    triggers_and_events(cfg, report, src, &mut tgt).await?;
    align_auto_increment(report, src, &mut tgt, &tables).await?;
    finish(cfg, report, store, &mut tgt, &sel).await
}

/// After a failure with the source fenced: takes the cut-over back, records
/// the failure in the task state, and returns the error to show, which
/// says what state the source is in.
async fn back_out(
    cfg: &TaskConfig,
    report: &Reporter,
    source: &Opts,
    target: &Opts,
    store: &mut Store,
    e: TaskError,
) -> TaskError {
    report(&format!("the cut-over failed: {e}"));
    match undo(cfg, report, source, target, store).await {
        Ok(line) => {
            report(&format!("  taken back: {line}"));
            let msg = format!(
                "the cut-over failed: {e}. It was taken back: {line}, and the task is back to \
                 incremental migration. Fix the cause, run `dts run` again, then `dts cutover`"
            );
            let _ = store.set_state_again(target, "failed", Some(&msg)).await;
            TaskError::Other(msg)
        }
        Err(line) => {
            report(&format!("  NOT taken back: {line}"));
            let msg = format!("the cut-over failed: {e}. NOT taken back: {line}");
            let _ = store.set_state_again(target, "failed", Some(&msg)).await;
            TaskError::Other(msg)
        }
    }
}

/// What `dts run` does with a task whose cut-over was interrupted (C10:
/// killed after the fence): takes it back, so that the source takes writes
/// again and the task follows it, instead of leaving it fenced while the
/// target is not the primary. `dts cutover` instead completes it.
pub(super) async fn take_back_interrupted(
    cfg: &TaskConfig,
    report: &Reporter,
    source: &Opts,
    target: &Opts,
    store: &mut Store,
) -> Result<(), TaskError> {
    report("an earlier cut-over did not finish: taking it back");
    match undo(cfg, report, source, target, store).await {
        Ok(line) => {
            report(&format!("  {line}; back to incremental migration"));
            Ok(())
        }
        Err(line) => Err(TaskError::Other(format!(
            "an earlier cut-over did not finish and could not be taken back: {line}"
        ))),
    }
}

/// The task's state, when it may be cut over: incremental migration runs
/// (or is stopped) and has not failed, or an earlier cut-over stopped
/// half-way.
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
    if state.phase == Phase::Incremental && state.state == "failed" {
        return Err(failed(cfg, &state));
    }
    Ok(state)
}

fn failed(cfg: &TaskConfig, state: &TaskState) -> TaskError {
    TaskError::Other(format!(
        "task {:?} has failed, so it cannot be cut over (nothing was fenced): {}. Fix the cause, \
         run `dts run` again until the lag is small, then `dts cutover`",
        cfg.task,
        state.error.as_deref().unwrap_or("no error was recorded")
    ))
}

/// Step 1: waits (an hour at most) until the lag is under
/// `cutover.max_lag_seconds`. When no run holds the task, waiting cannot
/// help: the lag is measured against the source's current position (none
/// when the checkpoint is there, else the age of the last applied event)
/// and a lag over the threshold refuses. A task that fails meanwhile
/// refuses too.
async fn wait_for_lag(
    cfg: &TaskConfig,
    report: &Reporter,
    src: &mut Conn,
) -> Result<(), TaskError> {
    let max = cfg.cutover.max_lag_seconds;
    report(&format!("1/7 waiting until the lag is under {max} s"));
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let st = task_status(cfg).await?;
        let state = st.state.clone().unwrap_or_default();
        if state.state == "failed" {
            return Err(failed(cfg, &state));
        }
        let now = master_position(src).await?;
        let at = st
            .incremental
            .as_ref()
            .map(|i| i.position.clone())
            .or_else(|| state.start.as_ref().map(|s| s.to_string()));
        let lag = if at.as_deref() == Some(now.to_string().as_str()) {
            Some(0)
        } else {
            st.incremental.as_ref().and_then(|i| i.lag_seconds)
        };
        let shown = lag
            .map(|l| format!("{l} s"))
            .unwrap_or_else(|| "unknown".into());
        if lag.is_some_and(|l| l <= max) {
            report(&format!("  lag {shown}"));
            return Ok(());
        }
        if !st.running {
            return Err(TaskError::Other(format!(
                "task {:?} is not running and its lag is {shown} (checkpoint {}, the source is \
                 at {now}), over cutover.max_lag_seconds = {max}; nothing was fenced. Run `dts \
                 run` until the lag is small, then `dts cutover`",
                cfg.task,
                at.as_deref().unwrap_or("none")
            )));
        }
        if Instant::now() > deadline {
            return Err(TaskError::Other(format!(
                "the lag stayed over cutover.max_lag_seconds = {max} for an hour (last {shown}); \
                 nothing was fenced"
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What online verification before the fence left to verify under it.
struct Online {
    /// The source's position before the online verification read anything:
    /// a table no change after it touched is verified already.
    from: FilePosition,
    /// Tables with rows that kept changing (unsettled), verified again.
    unsettled: HashSet<(String, String)>,
}

/// Part of step 1, while a run applies changes: verifies every table online
/// (rows in flight re-checked once the checkpoint has passed them, never
/// reported), so that under the fence only what changed since is verified
/// and the fenced time does not grow with the data. A confirmed difference
/// stops the cut-over before anything is fenced. `None` when no run holds
/// the task (then every table is verified under the fence).
async fn verify_online(
    cfg: &TaskConfig,
    h: &RunHandles,
    source: &Opts,
    target: &Opts,
    src: &mut Conn,
) -> Result<Option<Online>, TaskError> {
    let report = &h.report;
    if !task_status(cfg).await?.running {
        report("  no run applies changes: every table is verified with the source fenced");
        return Ok(None);
    }
    let from = master_position(src).await?;
    let schema = selected_schema(&cfg.objects, src).await?;
    let (_, tables) = selection(cfg, &schema)?;
    report(&format!(
        "  verifying {} tables online before the fence (from the source's position {from})",
        tables.len()
    ));
    let started = Instant::now();
    let mut o = verify_options(cfg, h);
    o.online = Some(row_verify::OnlineOptions {
        applied: Some(Arc::new(CheckpointApplied::new(cfg, target.clone()))
            as Arc<dyn row_verify::AppliedPosition>),
        ..row_verify::OnlineOptions::default()
    });
    let v = row_verify::verify_tables(source, target, &tables, &o).await?;
    let differing: Vec<String> = v
        .tables
        .iter()
        .filter(|t| t.missing + t.extra + t.different > 0)
        .map(|t| {
            format!(
                "{}: {} missing, {} extra, {} different",
                t.target, t.missing, t.extra, t.different
            )
        })
        .collect();
    if !differing.is_empty() {
        return Err(TaskError::Other(format!(
            "verified online, the target differs from the source: {}; nothing was fenced. Run \
             `dts verify --config FILE --online --repair print` to see the rows and the \
             statements that fix them, then `dts cutover` again",
            differing.join("; ")
        )));
    }
    let unsettled: HashSet<(String, String)> = tables
        .iter()
        .filter(|t| {
            let name = format!("{}.{}", quote(&t.source_db), quote(&t.source_table));
            v.tables.iter().any(|r| r.source == name && r.unsettled > 0)
        })
        .map(|t| (t.source_db.clone(), t.source_table.clone()))
        .collect();
    report(&format!(
        "  {} tables equal online ({} rows, {:.1} s){}",
        v.tables.len(),
        v.tables.iter().map(|t| t.source_rows).sum::<u64>(),
        started.elapsed().as_secs_f64(),
        if unsettled.is_empty() {
            String::new()
        } else {
            format!(
                "; {} with rows still changing, verified again",
                unsettled.len()
            )
        }
    ));
    Ok(Some(Online { from, unsettled }))
}

/// The tables to verify under the fence after an online verification: those
/// the source's binlog changed between `o.from` and `fin` (its row events'
/// table maps, from `SHOW BINLOG EVENTS`), and those left unsettled; every
/// table when a statement other than a transaction's BEGIN or COMMIT was
/// logged meanwhile (a DDL may change any table).
async fn changed_since(
    src: &mut Conn,
    tables: &[TableMapping],
    o: &Online,
    fin: &FilePosition,
) -> Result<Vec<TableMapping>, TaskError> {
    let files: Vec<String> = src
        .query_map("SHOW BINARY LOGS", |row: mysql_async::Row| {
            row.get::<String, _>(0).unwrap_or_default()
        })
        .await
        .map_err(db("source", "listing the binlog files"))?;
    let mut changed: HashSet<String> = HashSet::new();
    for f in files
        .iter()
        .filter(|f| **f >= o.from.file && **f <= fin.file)
    {
        let from = if *f == o.from.file { o.from.offset } else { 4 };
        let events: Vec<(u64, String, String)> = src
            .exec_map(
                format!(
                    "SHOW BINLOG EVENTS IN '{}' FROM {from}",
                    f.replace('\'', "''")
                ),
                (),
                |row: mysql_async::Row| {
                    (
                        row.get::<u64, _>(1).unwrap_or_default(),
                        row.get::<String, _>(2).unwrap_or_default(),
                        row.get::<String, _>(5).unwrap_or_default(),
                    )
                },
            )
            .await
            .map_err(db(
                "source",
                "reading the binlog events since the online verification",
            ))?;
        for (pos, kind, info) in events {
            if *f == fin.file && pos >= fin.offset {
                break;
            }
            match kind.as_str() {
                "Table_map" => {
                    if let Some(name) = info.split_once('(').and_then(|(_, r)| r.strip_suffix(')'))
                    {
                        changed.insert(name.to_string());
                    }
                }
                "Query" => {
                    let q = info.trim_start_matches("use ").to_ascii_uppercase();
                    let body = q.rsplit("; ").next().unwrap_or(&q).trim().to_string();
                    if !(body.starts_with("BEGIN")
                        || body.starts_with("COMMIT")
                        || body.starts_with("XA ")
                        || body.starts_with("SAVEPOINT")
                        || body.starts_with("ROLLBACK TO"))
                    {
                        return Ok(tables.to_vec());
                    }
                }
                _ => {}
            }
        }
    }
    Ok(tables
        .iter()
        .filter(|t| {
            changed.contains(&format!("{}.{}", t.source_db, t.source_table))
                || o.unsettled
                    .contains(&(t.source_db.clone(), t.source_table.clone()))
        })
        .cloned()
        .collect())
}

/// Before the fence: stops the running apply (its checkpoint flushed, its
/// heartbeat no longer written to the source) and takes the task's lease,
/// two minutes at most; the drain then applies what is left with the source
/// fenced.
async fn stop_the_run(
    cfg: &TaskConfig,
    report: &Reporter,
    store: &mut Store,
    target: &Opts,
) -> Result<(), TaskError> {
    if task_status(cfg).await?.running {
        report("  stopping the running apply (its checkpoint flushed)");
    }
    request_stop(cfg).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match store.lease(target).await {
            Ok(()) => return Ok(()),
            Err(TaskError::Running { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Step 3: with the run stopped and the lease held ([`stop_the_run`]),
/// applies the source's binlog up to `fin`, its final position.
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
    let schema = selected_schema(&cfg.objects, src).await?;
    let (sel, tables) = selection(cfg, &schema)?;
    let o = drain_options(cfg, h, fin.clone())?;
    let st = store.state().await?.unwrap_or_default();
    let handoff = st.start.map(|start| HandOff {
        start,
        overlap_end: st.overlap_end,
    });
    let from = super::options::apply_source(cfg, source);
    apply_changes_from(&from, target, &sel, handoff.as_ref(), &o).await?;
    report(&format!("  applied up to {fin}"));
    Ok((sel, tables))
}

/// Step 4: with the source fenced and drained, checks that the fence held
/// (the source's binlog has not moved past `fin`), then compares every
/// table on exact bytes; a difference or a source that took writes stops
/// the cut-over (which is then taken back).
#[allow(clippy::too_many_arguments)]
async fn verify(
    cfg: &TaskConfig,
    h: &RunHandles,
    report: &Reporter,
    source: &Opts,
    target: &Opts,
    tables: &[TableMapping],
    src: &mut Conn,
    fin: &FilePosition,
) -> Result<(), TaskError> {
    report(&format!(
        "4/7 verifying on exact bytes the {} tables changed since the online verification (or all)",
        tables.len()
    ));
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
    let now = master_position(src).await?;
    if now != *fin {
        return Err(fence_did_not_hold(cfg, fin, &now, &differing));
    }
    if !differing.is_empty() {
        return Err(TaskError::Other(format!(
            "after draining, the target differs from the source: {}. Run `dts verify --config \
             FILE --repair print` to see the rows and the statements that fix them, then `dts \
             run` and `dts cutover` again",
            differing.join("; ")
        )));
    }
    report(&format!(
        "  {} tables equal ({} rows) with the source fenced",
        v.tables.len(),
        v.tables.iter().map(|t| t.source_rows).sum::<u64>()
    ));
    Ok(())
}

/// The error when the source took writes after it was fenced.
fn fence_did_not_hold(
    cfg: &TaskConfig,
    fin: &FilePosition,
    now: &FilePosition,
    differing: &[String],
) -> TaskError {
    let why = match cfg.cutover.fence {
        FenceMode::ReadOnly => {
            "read_only does not stop accounts with SUPER or READ_ONLY ADMIN (on MariaDB, which \
             has no super_read_only; on MySQL before 5.7.8), nor events run by such a definer, \
             nor a replication thread writing into the source. Find the writers in SHOW \
             PROCESSLIST (and the events in information_schema.events), stop them or connect \
             them with an account without those privileges, then run `dts run` and `dts \
             cutover` again"
        }
        FenceMode::Sql => {
            "cutover.fence_sql did not stop every writer: make it stop them all (or stop them \
             yourself), then run `dts run` and `dts cutover` again"
        }
        FenceMode::None => {
            "with fence = \"none\" the writers must be stopped before `dts cutover`: stop them \
             all, then run `dts run` and `dts cutover` again"
        }
    };
    TaskError::Other(format!(
        "the fence did not hold: the source took writes after it was fenced (its binlog moved \
         from {fin} to {now}){}, so the target would miss them. {why}",
        if differing.is_empty() {
            String::new()
        } else {
            format!("; the target differs: {}", differing.join("; "))
        }
    ))
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
