//! The cut-over's fence and its undo: what the cut-over did to the source
//! and the target that must be taken back when it does not finish.
//!
//! `<meta>.cutover_fence` has one row per task while a cut-over is under
//! way: written before the fence statement runs (so a cut-over killed
//! right after it still knows), with the statement that undoes the fence
//! (`undo`, NULL when the task did not make the source read-only: it was
//! already, or the fence was `fence_sql` or `none`), and whether the
//! deferred triggers and events may have been created on the target
//! (`objects`). A cut-over that fails after the fence, and a `dts run` that
//! finds a cut-over interrupted (C10), drop those objects, run `undo`, and
//! put the task back to incremental migration: the source takes writes
//! again and the target is not the primary, never both.

use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use schema_diff::plan::Phase as PlanPhase;

use crate::config::{FenceMode, TaskConfig};

use super::error::{db, TaskError};
use super::handles::Reporter;
use super::phase::Phase;
use super::plan::the_plan;
use super::sql::quote;
use super::store::Store;

/// The statement that makes a source fenced with
/// [`server_dialect::Dialect::fence_statement`] writable again (on MySQL,
/// turning `read_only` off turns `super_read_only` off too).
pub(super) const UNFENCE: &str = "SET GLOBAL read_only = OFF";

/// A cut-over's record of what it did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct FenceRecord {
    /// The statement that undoes the fence, when the task fenced.
    pub(super) undo: Option<String>,
    /// The deferred triggers and events may exist on the target.
    pub(super) objects: bool,
}

fn table(meta: &str) -> String {
    format!("{}.`cutover_fence`", quote(meta))
}

async fn ensure_table(c: &mut Conn, meta: &str) -> Result<(), TaskError> {
    c.query_drop(format!(
        "CREATE TABLE IF NOT EXISTS {} (
           `task` VARBINARY(255) NOT NULL PRIMARY KEY,
           `undo_sql` TEXT NULL,
           `objects` TINYINT NOT NULL DEFAULT 0
         ) ENGINE=InnoDB",
        table(meta)
    ))
    .await
    .map_err(db("target", "creating the cut-over's record"))
}

/// The task's fence record, if a cut-over is under way.
pub(super) async fn read_record(
    c: &mut Conn,
    meta: &str,
    task: &str,
) -> Result<Option<FenceRecord>, TaskError> {
    ensure_table(c, meta).await?;
    let r: Option<(Option<String>, i64)> = c
        .exec_first(
            format!(
                "SELECT undo_sql, objects FROM {} WHERE task = ?",
                table(meta)
            ),
            (task,),
        )
        .await
        .map_err(db("target", "reading the cut-over's record"))?;
    Ok(r.map(|(undo, objects)| FenceRecord {
        undo,
        objects: objects != 0,
    }))
}

async fn write_record(
    c: &mut Conn,
    meta: &str,
    task: &str,
    r: &FenceRecord,
) -> Result<(), TaskError> {
    ensure_table(c, meta).await?;
    c.exec_drop(
        format!(
            "REPLACE INTO {} (task, undo_sql, objects) VALUES (?, ?, ?)",
            table(meta)
        ),
        (task, &r.undo, i64::from(r.objects)),
    )
    .await
    .map_err(db("target", "recording the cut-over's fence"))
}

async fn delete_record(c: &mut Conn, meta: &str, task: &str) -> Result<(), TaskError> {
    ensure_table(c, meta).await?;
    c.exec_drop(
        format!("DELETE FROM {} WHERE task = ?", table(meta)),
        (task,),
    )
    .await
    .map_err(db("target", "removing the cut-over's record"))
}

/// Records (before step 5 runs) that the deferred triggers and events may
/// exist on the target from now on.
pub(super) async fn record_objects(cfg: &TaskConfig, store: &mut Store) -> Result<(), TaskError> {
    let meta = &cfg.target.meta_schema;
    let mut r = read_record(&mut store.conn, meta, &cfg.task)
        .await?
        .unwrap_or_default();
    r.objects = true;
    write_record(&mut store.conn, meta, &cfg.task, &r).await
}

/// Forgets the record once the task is finished.
pub(super) async fn forget(cfg: &TaskConfig, store: &mut Store) -> Result<(), TaskError> {
    delete_record(&mut store.conn, &cfg.target.meta_schema, &cfg.task).await
}

/// Step 2: stops the source from taking writes, as `cutover.fence` says;
/// the record is written first. A source already read-only (not by this
/// task) is left so, whatever happens later.
pub(super) async fn fence(
    cfg: &TaskConfig,
    report: &Reporter,
    store: &mut Store,
    src: &mut Conn,
) -> Result<(), TaskError> {
    let meta = cfg.target.meta_schema.clone();
    let earlier = read_record(&mut store.conn, &meta, &cfg.task).await?;
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
            let ro: Option<i64> = src
                .query_first("SELECT @@global.read_only")
                .await
                .map_err(db("source", "reading read_only"))?;
            let undo = match &earlier {
                Some(r) => r.undo.clone(),
                None if ro == Some(1) => None,
                None => Some(UNFENCE.to_string()),
            };
            let mut rec = earlier.clone().unwrap_or_default();
            rec.undo = undo;
            write_record(&mut store.conn, &meta, &cfg.task, &rec).await?;
            if earlier.is_none() && rec.undo.is_none() {
                report(&format!(
                    "2/7 the source is read-only already (not by this task; it stays so): {fence}"
                ));
            } else {
                report(&format!("2/7 fencing the source: {fence}"));
            }
            if let Err(e) = src.query_drop(fence).await {
                if earlier.is_none() {
                    let _ = delete_record(&mut store.conn, &meta, &cfg.task).await;
                }
                return Err(db(
                    "source",
                    format!(
                        "fencing the source with {fence} (needs {}; on a managed service set the \
                         read-only parameter in its console and use fence = \"none\")",
                        dialect.fence_privilege()
                    ),
                )(e));
            }
        }
        FenceMode::Sql => {
            let sql = cfg.cutover.fence_sql.clone().unwrap_or_default();
            write_record(
                &mut store.conn,
                &meta,
                &cfg.task,
                &earlier.clone().unwrap_or_default(),
            )
            .await?;
            report(&format!("2/7 fencing the source: {sql}"));
            src.query_drop(&sql)
                .await
                .map_err(db("source", "running cutover.fence_sql"))?;
        }
        FenceMode::None => {
            write_record(
                &mut store.conn,
                &meta,
                &cfg.task,
                &earlier.clone().unwrap_or_default(),
            )
            .await?;
            report("2/7 not fencing the source (fence = \"none\"): stop the writers yourself")
        }
    }
    Ok(())
}

/// Takes back what an unfinished cut-over did: drops the deferred triggers
/// and events it may have created on the target, makes the source writable
/// again (when the task fenced it), and puts the task back to incremental
/// migration. Returns what the user must know: `Ok` with a line saying the
/// source is writable again (or was not fenced by the task), `Err` with a
/// line saying what could not be undone and the statement that does it.
pub(super) async fn undo(
    cfg: &TaskConfig,
    report: &Reporter,
    source: &Opts,
    target: &Opts,
    store: &mut Store,
) -> Result<String, String> {
    let meta = cfg.target.meta_schema.clone();
    let rec = match read_record(&mut store.conn, &meta, &cfg.task).await {
        Ok(r) => r,
        Err(_) => {
            // The state connection may be the one that broke.
            match Conn::new(target.clone()).await {
                Ok(c) => store.conn = c,
                Err(e) => return Err(cannot_reach_target(cfg, &e.to_string())),
            }
            read_record(&mut store.conn, &meta, &cfg.task)
                .await
                .map_err(|e| cannot_reach_target(cfg, &e.to_string()))?
        }
    };
    let rec = rec.unwrap_or_default();
    let mut src = Conn::new(source.clone()).await;
    if rec.objects {
        let dropped = match src.as_mut() {
            Ok(src) => drop_deferred_objects(cfg, report, src, target).await,
            Err(e) => Err(format!("the source: {e}")),
        };
        if let Err(e) = dropped {
            return Err(format!(
                "the triggers and events created on the target for the cut-over could not be \
                 dropped ({e}), so the source stays fenced (the target must not take \
                 replicated rows with its triggers in place): run `dts cutover` again to \
                 complete the cut-over, or `dts run` to go back to incremental migration"
            ));
        }
    }
    let line = match (&rec.undo, cfg.cutover.fence) {
        (Some(undo), _) => {
            let r = match src.as_mut() {
                Ok(src) => src.query_drop(undo).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = r {
                return Err(format!(
                    "the source is still read-only: making it writable again failed ({e}); run \
                     `{undo}` on it yourself, or `dts cutover` again to complete the cut-over"
                ));
            }
            format!("the source is writable again ({undo})")
        }
        (None, FenceMode::Sql) => {
            "the source was fenced with cutover.fence_sql, which dts cannot undo: undo it \
             yourself so that the source takes writes again"
                .to_string()
        }
        (None, FenceMode::ReadOnly) => {
            "the source was read-only before the cut-over and stays so".to_string()
        }
        (None, FenceMode::None) => "the source was not fenced (fence = \"none\")".to_string(),
    };
    let back = async {
        delete_record(&mut store.conn, &meta, &cfg.task).await?;
        store.set_phase(Phase::Incremental).await
    };
    if let Err(e) = back.await {
        return Err(format!(
            "{line}, but the task could not be put back to incremental migration ({e}); `dts \
             run` does it"
        ));
    }
    Ok(line)
}

fn cannot_reach_target(cfg: &TaskConfig, e: &str) -> String {
    let how = match cfg.cutover.fence {
        FenceMode::ReadOnly => {
            format!("it may still be read-only: run `{UNFENCE}` on it to take writes again, or")
        }
        FenceMode::Sql => "undo cutover.fence_sql on it to take writes again, or".into(),
        FenceMode::None => "it was not fenced;".into(),
    };
    format!(
        "the target cannot be reached ({e}), so the cut-over's fence of the source is not \
         undone: {how} run `dts cutover` again once the target answers, to complete the cut-over"
    )
}

/// Drops the triggers and events of the plan's cut-over phases from the
/// target (the objects a cut-over creates at step 5).
async fn drop_deferred_objects(
    cfg: &TaskConfig,
    report: &Reporter,
    src: &mut Conn,
    target: &Opts,
) -> Result<(), String> {
    let mut tgt = Conn::new(target.clone())
        .await
        .map_err(|e| format!("the target: {e}"))?;
    let (_, p) = the_plan(cfg, src, &mut tgt)
        .await
        .map_err(|e| e.to_string())?;
    for st in p
        .statements
        .iter()
        .filter(|s| matches!(s.phase, PlanPhase::Triggers | PlanPhase::Events))
    {
        let kind = if st.phase == PlanPhase::Triggers {
            "TRIGGER"
        } else {
            "EVENT"
        };
        let sql = format!(
            "DROP {kind} IF EXISTS {}.{}",
            quote(&st.database),
            quote(&st.object.name)
        );
        tgt.query_drop(&sql)
            .await
            .map_err(|e| format!("{sql}: {e}"))?;
        report(&format!("  {sql}"));
    }
    Ok(())
}
