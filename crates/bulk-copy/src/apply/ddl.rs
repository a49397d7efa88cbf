//! DDL read from the binlog: kept in the shadow, applied to the target,
//! journaled.
//!
//! For each statement that is not a transaction's BEGIN/COMMIT:
//! 1. classify it (schema-diff); a statement touching no selected database
//!    is ignored (counted), but still moves the checkpoint;
//! 2. journal it as `started` (committed on its own);
//! 3. run table DDL on the shadow (database names mapped to the shadow
//!    databases), so rows after it decode with the schema it made;
//! 4. run it on the target, rewritten by schema-diff with the task's renames
//!    and the DEFINER rule, when it touches selected objects; triggers wait
//!    for cut-over (design rule 15) and are reported as skipped;
//! 5. commit the position after it together with the journal's `finished`.
//!
//! A crash between 2 and 5 leaves the journal at `started`: the next run
//! reads the statement again from the binlog and runs it again, accepting
//! the errors that mean "already done" (table exists, duplicate column, ...)
//! only then. A statement the target refuses stops the apply before it, with
//! the checkpoint just before it (L5), unless the task skips failed DDL.

use std::collections::{HashMap, HashSet};

use binlog_reader::event::QueryEvent;
use binlog_reader::position::FilePosition;
use binlog_reader::Event;
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use schema_diff::binlog_ddl::{classify, rewrite_statement, DdlKind, DdlStatement};
use schema_diff::names::{NameMap, Renames};
use schema_diff::translate::{DefinerPolicy, TranslateOptions, Translator};
use schema_diff::version::ServerVersion;

use super::table::{
    helper_kind, helper_of, helper_tool, shadow_name, shadow_tables, ApplySelection, HelperKind,
    OnlineDdlMode, Route, Routes,
};
use super::{failpoint, ApplyOptions, RenamedOut};
use crate::base::error::{db_err, CopyError};
use crate::base::mapping::TableMapping;
use crate::base::meta_schema::{CDC_CHECKPOINT, CDC_COPIED_IN, CDC_ONLINE_DDL};
use crate::copy::{copy_tables, CopyOptions, SnapshotMode};
use server_dialect::quote;

/// A change to the remembered ALTERs of online-DDL tools, committed with
/// the statement's position.
pub(crate) enum OnlineStep {
    /// An ALTER of ghost table `db`.`ghost`, to apply at the swap.
    Remember {
        db: String,
        ghost: String,
        default_db: String,
        statement: String,
    },
    /// The ALTERs of `db`.`ghost` are applied, or the ghost is gone.
    Forget { db: String, ghost: String },
}

/// What [`Context::original_ddl`] decided: the outcome, the statements
/// run on the target, the remembered ALTERs' changes; `None` when the
/// statement is handled as usual.
type OnlineOutcome = Option<(Outcome, Option<String>, Vec<OnlineStep>)>;

/// The words of [`mixed`]'s error that `skip_failed_ddl` recognises.
const MIXED: &str = "The apply-original-DDL mode cannot split it";

fn mixed(at: &str, sql: &str) -> CopyError {
    CopyError::Binlog {
        at: at.to_string(),
        reason: format!(
            "a statement that names both an online-DDL tool's helper tables and other selected \
             tables: {}. {MIXED}; run the task in the replicate mode, or apply it to the target \
             yourself and let the task skip DDL it cannot apply (skip_failed_ddl)",
            sql.chars().take(200).collect::<String>()
        ),
    }
}

/// The columns (name, type) of a table, in order.
async fn columns_of(
    tgt: &mut Conn,
    db: &str,
    table: &str,
) -> Result<Vec<(String, String)>, CopyError> {
    tgt.exec(
        "SELECT column_name, column_type FROM information_schema.columns \
         WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        (db, table),
    )
    .await
    .map_err(db_err(
        "target",
        format!("reading the columns of {}.{}", quote(db), quote(table)),
    ))
}

/// What happened to a statement.
pub(crate) enum Outcome {
    Applied,
    Skipped(String),
    Ignored,
}

pub(crate) struct Context {
    target_version: ServerVersion,
    /// Source databases with a shadow.
    dbs: Vec<String>,
    task: String,
    meta: String,
    /// Positions journaled as started but not finished: being replayed.
    replay: HashSet<FilePosition>,
    /// The stored position (with the GTID state) after the statement being
    /// applied, saved with its file position.
    pub(crate) saved_position: Option<String>,
    /// Positions whose statement the target refused (the shadow took it):
    /// run again on the target as new, on the shadow as a replay.
    failed: HashSet<FilePosition>,
    /// The source and the target, for tables renamed into the selection
    /// (copied then); no source server for binlog files.
    source: Option<Opts>,
    target: Opts,
    /// Tables renamed into the selection: (the rename's position, the
    /// snapshot they were copied at), by source name.
    copied_in: HashMap<(String, String), (FilePosition, Option<FilePosition>)>,
}

/// One `from TO to` pair of a RENAME TABLE, as the selection sees it.
enum Move {
    /// Selected before and after: renamed on the target too.
    Follow(Route, Route),
    /// Selected before, not after.
    Out(Route),
    /// Not selected before, selected after: copied in.
    In(Route),
    /// Selected neither before nor after.
    Outside,
}

/// Server errors that mean a DDL already ran (accepted only on replay).
const ALREADY_DONE: &[u16] = &[
    1007, // database exists
    1008, // database does not exist
    1050, // table exists
    1051, // unknown table
    1054, // unknown column
    1060, // duplicate column
    1061, // duplicate key name
    1091, // can't drop: does not exist
    1146, // table does not exist
    1304, // routine exists
    1305, // routine does not exist
    1359, // trigger exists
    1360, // trigger does not exist
    1826, // duplicate foreign key
    4031, // MariaDB: index does not exist (variant)
];

fn looks_like_ddl(sql: &str) -> bool {
    let first = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "CREATE" | "ALTER" | "DROP" | "RENAME" | "TRUNCATE"
    )
}

/// A table's (database, name).
type TableName = (String, String);

impl Context {
    pub(crate) async fn new(
        tgt: &mut Conn,
        (source, target): (Option<&Opts>, &Opts),
        o: &ApplyOptions,
        dbs: Vec<String>,
    ) -> Result<Context, CopyError> {
        let target_version = schema_diff::extract::server_version(tgt)
            .await
            .map_err(CopyError::Schema)?;
        let rows: Vec<(Vec<u8>, u64, String)> = tgt
            .exec(
                format!(
                    "SELECT binlog_file, binlog_pos, state FROM {}.`cdc_ddl` WHERE task = ? \
                     AND state IN ('started', 'failed')",
                    quote(&o.meta_schema)
                ),
                (&o.task,),
            )
            .await
            .map_err(db_err("target", "reading the DDL journal"))?;
        type CopiedIn = (Vec<u8>, Vec<u8>, Vec<u8>, u64, Option<Vec<u8>>, Option<u64>);
        let copied: Vec<CopiedIn> = tgt
            .exec(
                format!(
                    "SELECT source_db, source_table, at_file, at_pos, snap_file, snap_pos \
                     FROM {}.`{CDC_COPIED_IN}` WHERE task = ?",
                    quote(&o.meta_schema)
                ),
                (&o.task,),
            )
            .await
            .map_err(db_err(
                "target",
                "reading the tables renamed into the selection",
            ))?;
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Ok(Context {
            target_version,
            dbs,
            task: o.task.clone(),
            meta: o.meta_schema.clone(),
            replay: rows
                .iter()
                .filter(|r| r.2 == "started")
                .map(|(f, p, _)| FilePosition::new(String::from_utf8_lossy(f), *p))
                .collect(),
            failed: rows
                .iter()
                .filter(|r| r.2 == "failed")
                .map(|(f, p, _)| FilePosition::new(String::from_utf8_lossy(f), *p))
                .collect(),
            source: source.cloned(),
            target: target.clone(),
            copied_in: copied
                .into_iter()
                .map(|(d, t, af, ap, sf, sp)| {
                    (
                        (text(&d), text(&t)),
                        (
                            FilePosition::new(text(&af), ap),
                            sf.zip(sp).map(|(f, p)| FilePosition::new(text(&f), p)),
                        ),
                    )
                })
                .collect(),
            saved_position: None,
        })
    }

    /// The snapshot a table renamed into the selection was copied at, when
    /// `at` is before it: its DDL there is already in the copy.
    fn copied_after(&self, db: &str, table: &str, at: &FilePosition) -> Option<&FilePosition> {
        self.copied_in
            .get(&(db.to_string(), table.to_string()))
            .and_then(|(_, snap)| snap.as_ref())
            .filter(|snap| at < *snap)
    }

    fn shadow_names(&self) -> NameMap {
        let mut r = Renames::default();
        for d in &self.dbs {
            r = r.database(d, &shadow_name(&self.task, d));
        }
        NameMap::new(r, Default::default())
    }

    /// Creates the shadow databases from the source's current tables.
    pub(crate) async fn create_shadow(
        &self,
        src: &mut Conn,
        tgt: &mut Conn,
    ) -> Result<(), CopyError> {
        let schema = schema_diff::extract::extract_schema(src, &self.dbs)
            .await
            .map_err(CopyError::Schema)?;
        self.create_shadow_of(&schema, tgt).await
    }

    /// Creates the shadow databases from the target's current tables of the
    /// selected databases, read over `schema_conn` (another target
    /// connection): the source schema when there is no source server to read
    /// it from (binlog files). The selection's database renames are undone;
    /// renamed tables or columns cannot be, and are refused.
    pub(crate) async fn create_shadow_from_target(
        &self,
        schema_conn: &mut Conn,
        tgt: &mut Conn,
        selection: &ApplySelection,
    ) -> Result<(), CopyError> {
        let renamed = selection.tables.iter().find(|t| {
            t.source_table != t.target_table
                || t.columns.iter().flatten().any(|c| c.source != c.target)
        });
        if let Some(t) = renamed {
            return Err(CopyError::Table {
                table: format!("{}.{}", quote(&t.source_db), quote(&t.source_table)),
                reason: "binlog files have no source server to read the source schema from, so \
                         it is read from the target, where this table or its columns are \
                         renamed: record the source schema first (dts apply --prepare-only \
                         against the source server), or apply without renames"
                    .into(),
            });
        }
        // Each source database and the target database holding its tables.
        let mut pairs: Vec<(String, String)> = selection.databases.clone();
        for t in &selection.tables {
            if !pairs.iter().any(|p| p.0 == t.source_db) {
                pairs.push((t.source_db.clone(), t.target_db.clone()));
            }
        }
        let mut schema = schema_diff::model::Schema::default();
        for (s, t) in &pairs {
            let mut one =
                schema_diff::extract::extract_schema(schema_conn, std::slice::from_ref(t))
                    .await
                    .map_err(CopyError::Schema)?;
            schema.server = one.server.take();
            for mut d in one.databases {
                d.name = s.clone();
                // A database of single tables: only those.
                if !selection.databases.iter().any(|p| p.0 == *s) {
                    d.tables.retain(|tb| {
                        selection
                            .tables
                            .iter()
                            .any(|m| m.source_db == *s && m.target_table == tb.name)
                    });
                }
                schema.databases.push(d);
            }
        }
        self.create_shadow_of(&schema, tgt).await
    }

    async fn create_shadow_of(
        &self,
        schema: &schema_diff::model::Schema,
        tgt: &mut Conn,
    ) -> Result<(), CopyError> {
        let opts = TranslateOptions {
            target: self.target_version.clone(),
            names: self.shadow_names(),
            definer: DefinerPolicy::Invoker,
        };
        let tr = Translator::new(schema, &opts);
        for db in &self.dbs {
            let shadow = quote(&shadow_name(&self.task, db));
            for st in [
                format!("DROP DATABASE IF EXISTS {shadow}"),
                format!("CREATE DATABASE {shadow}"),
            ] {
                tgt.query_drop(st).await.map_err(db_err(
                    "target",
                    format!("creating the shadow schema {shadow}"),
                ))?;
            }
            let Some(d) = schema.database(db) else {
                continue;
            };
            tgt.query_drop(format!("USE {shadow}"))
                .await
                .map_err(db_err("target", "using the shadow schema"))?;
            for t in &d.tables {
                let mut warnings = Vec::new();
                let tt = tr.table(db, t, &mut warnings).map_err(CopyError::Schema)?;
                tgt.query_drop(&tt.create).await.map_err(db_err(
                    "target",
                    format!(
                        "creating {}.{} in the shadow schema",
                        quote(db),
                        quote(&t.name)
                    ),
                ))?;
            }
        }
        tgt.query_drop(format!("USE {}", quote(&self.meta)))
            .await
            .map_err(db_err("target", "using the metadata schema"))?;
        Ok(())
    }

    fn involved(&self, st: &DdlStatement, default_db: &str) -> bool {
        st.objects.iter().any(|o| {
            let db = o.database.as_deref().unwrap_or(default_db);
            self.dbs.iter().any(|d| d == db)
        }) || (st.objects.is_empty() && self.dbs.iter().any(|d| d == default_db))
    }

    async fn exec(
        &self,
        tgt: &mut Conn,
        use_db: &str,
        sql: &str,
        replay: bool,
        what: &str,
    ) -> Result<(), CopyError> {
        tgt.query_drop(format!("USE {}", quote(use_db)))
            .await
            .map_err(db_err("target", format!("using {}", quote(use_db))))?;
        let r = tgt.query_drop(sql).await;
        let _ = tgt.query_drop(format!("USE {}", quote(&self.meta))).await;
        match r {
            Ok(()) => Ok(()),
            Err(mysql_async::Error::Server(e)) if replay && ALREADY_DONE.contains(&e.code) => {
                tracing::info!(
                    code = e.code,
                    "DDL already applied before a restart: {what}"
                );
                Ok(())
            }
            Err(e) => Err(CopyError::Database {
                server: "target",
                what: format!("{what}: {}", sql.chars().take(300).collect::<String>()),
                error: e,
            }),
        }
    }

    /// Handles one statement (see the module documentation); returns after
    /// the position after it is committed.
    pub(crate) async fn apply(
        &mut self,
        tgt: &mut Conn,
        routes: &mut Routes,
        q: &QueryEvent,
        ev: &Event,
        o: &ApplyOptions,
        selection: &super::table::ApplySelection,
    ) -> Result<Outcome, CopyError> {
        let sql = String::from_utf8(q.query.clone()).map_err(|_| CopyError::Binlog {
            at: format!("{}:{}", ev.file.as_deref().unwrap_or("?"), ev.pos),
            reason: "a statement that is not UTF-8; the apply cannot rewrite it".into(),
        })?;
        let default_db = q.schema.as_str();
        let start = FilePosition::new(ev.file.as_deref().unwrap_or(""), ev.pos);
        let end = FilePosition::new(ev.file.as_deref().unwrap_or(""), ev.end_pos);
        let at = start.to_string();
        let st = classify(&sql);
        use DdlKind::*;
        let outcome;
        if st.kind == Other && self.dbs.iter().any(|d| d == default_db) && looks_like_ddl(&sql) {
            if !o.skip_failed_ddl {
                return Err(CopyError::Table {
                    table: quote(default_db),
                    reason: format!(
                        "at {at}: a statement the apply does not support: {}. Apply it to the \
                         target yourself and let the task skip unsupported DDL, or avoid it \
                         during the migration",
                        sql.chars().take(200).collect::<String>()
                    ),
                });
            }
            self.finish(tgt, &end, &start, None, &[], o).await?;
            return Ok(Outcome::Skipped(format!(
                "at {at}: unsupported statement skipped as the task allows: {}",
                sql.chars().take(200).collect::<String>()
            )));
        }
        if st.kind == Other || !self.involved(&st, default_db) {
            outcome = Outcome::Ignored;
            self.finish(tgt, &end, &start, None, &[], o).await?;
            return Ok(outcome);
        }
        let replay = self.replay.contains(&start);
        tgt.exec_drop(
            format!(
                "INSERT INTO {}.`cdc_ddl` (task, binlog_file, binlog_pos, state, source_statement) \
                 VALUES (?, ?, ?, 'started', ?) ON DUPLICATE KEY UPDATE state = 'started'",
                quote(&self.meta)
            ),
            (&self.task, &start.file, start.offset, sql.as_bytes()),
        )
        .await
        .map_err(db_err("target", "journaling a DDL"))?;
        // A table renamed into the selection was created and copied from a
        // snapshot after this statement: its effect is in the copy.
        if st.kind != RenameTable {
            let copied = st.objects.iter().find_map(|ob| {
                let d = ob.database.as_deref().unwrap_or(default_db);
                self.copied_after(d, &ob.name, &start)
                    .map(|snap| (format!("{}.{}", quote(d), quote(&ob.name)), snap.clone()))
            });
            if let Some((table, snap)) = copied {
                self.finish(tgt, &end, &start, Some(None), &[], o).await?;
                self.replay.remove(&start);
                return Ok(Outcome::Skipped(format!(
                    "at {at}: {st_kind:?} of {table} is already in its copy, taken at {snap} when                      it was renamed into the selection",
                    st_kind = st.kind
                )));
            }
        }
        if st.kind == RenameTable {
            // The selection follows a renamed table by its source name; a
            // target that kept the old name would lose its later changes.
            let filtered = st.objects.chunks(2).find_map(|pair| {
                let a = pair.first()?;
                let d = a.database.as_deref().unwrap_or(default_db);
                routes.route(d, &a.name)?;
                selection
                    .operations_for(d, &a.name)
                    .filter(|ops| !ops.ddl.contains(&RenameTable))
                    .map(|_| format!("{}.{}", quote(d), quote(&a.name)))
            });
            if let Some(t) = filtered {
                return Err(CopyError::Table {
                    table: t,
                    reason: format!(
                        "at {at} it is renamed, but the task's DDL filter (its object's ddl \
                         list, or [incremental] skip_ddl) leaves RENAME TABLE out. The apply \
                         follows a table by its source name, so a target table left under the \
                         old name would miss every later change. Let RENAME TABLE through for \
                         this table (remove rename-table from the filter) and start the task \
                         again: it resumes at this rename"
                    ),
                });
            }
        }
        if st.kind == RenameTable && self.crosses(routes, &st, default_db) {
            let (outcome, applied) = self
                .rename_across(tgt, routes, &st, default_db, &start, replay, o)
                .await?;
            failpoint("after_ddl");
            self.finish(tgt, &end, &start, Some(applied.as_deref()), &[], o)
                .await?;
            self.replay.remove(&start);
            return Ok(outcome);
        }
        let helpers_before = routes.helpers().clone();
        // 3. The shadow.
        let table_ddl = matches!(
            st.kind,
            CreateTable | AlterTable | DropTable | RenameTable | CreateIndex | DropIndex
        );
        if table_ddl {
            let opts = TranslateOptions {
                target: self.target_version.clone(),
                names: self.shadow_names(),
                definer: DefinerPolicy::Invoker,
            };
            let s = rewrite_statement(&sql, default_db, &opts).map_err(CopyError::Schema)?;
            let use_db = if self.dbs.iter().any(|d| d == default_db) {
                shadow_name(&self.task, default_db)
            } else {
                self.meta.clone()
            };
            self.exec(
                tgt,
                &use_db,
                &s,
                replay || self.failed.contains(&start),
                &format!("keeping the schema at {at}"),
            )
            .await?;
        }
        // 4. The target.
        let objects: Vec<(String, String)> = st
            .objects
            .iter()
            .map(|o| {
                (
                    o.database.clone().unwrap_or_else(|| default_db.to_string()),
                    o.name.clone(),
                )
            })
            .collect();
        let tables: &[(String, String)] = match st.kind {
            CreateIndex | DropIndex | CreateTrigger | DropTrigger => {
                objects.get(1..).unwrap_or(&[])
            }
            _ => &objects,
        };
        if table_ddl && routes.mode() == OnlineDdlMode::ApplyOriginalDdl {
            // The helper tables after the statement, from the shadow.
            let mut dbs: Vec<&str> = objects.iter().map(|o| o.0.as_str()).collect();
            dbs.push(default_db);
            dbs.sort_unstable();
            dbs.dedup();
            for db in dbs {
                if self.dbs.iter().any(|d| d == db) {
                    let t = shadow_tables(tgt, &self.task, db).await?;
                    routes.set_tables(db, &t);
                }
            }
        }
        let pt_osc_trigger = matches!(st.kind, CreateTrigger | DropTrigger)
            && objects
                .first()
                .is_some_and(|o| o.1.to_ascii_lowercase().starts_with("pt_osc_"));
        let online = if pt_osc_trigger {
            // Never created on the target (triggers wait for cut-over), in
            // either mode: their row changes are in the binlog.
            Some((
                Outcome::Skipped(format!(
                    "at {at}: pt-online-schema-change's trigger {} is not applied (its row \
                     changes are in the binlog)",
                    objects.first().map_or("?".into(), |o| quote(&o.1))
                )),
                None,
                Vec::new(),
            ))
        } else if routes.mode() == OnlineDdlMode::ApplyOriginalDdl {
            match self
                .original_ddl(
                    tgt,
                    routes,
                    st.kind,
                    &objects,
                    &sql,
                    default_db,
                    &at,
                    replay,
                    &helpers_before,
                )
                .await
            {
                Err(CopyError::Binlog { reason, .. })
                    if o.skip_failed_ddl && reason.contains(MIXED) =>
                {
                    // Applied to the target by the user: the selection
                    // follows the source's names as usual.
                    if st.kind == RenameTable {
                        for pair in objects.chunks(2) {
                            if let [a, b] = pair {
                                routes.rename((&a.0, &a.1), (&b.0, &b.1));
                            }
                        }
                    }
                    Some((
                        Outcome::Skipped(format!(
                            "at {at}: {reason}; skipped as the task allows (skip_failed_ddl)"
                        )),
                        None,
                        Vec::new(),
                    ))
                }
                r => r?,
            }
        } else {
            None
        };
        if let Some((outcome, applied, steps)) = online {
            failpoint("after_ddl");
            self.finish(tgt, &end, &start, Some(applied.as_deref()), &steps, o)
                .await?;
            self.replay.remove(&start);
            return Ok(outcome);
        }
        let selected = |routes: &Routes, (d, t): &(String, String)| routes.route(d, t).is_some();
        let mut outcome_target: Result<Option<String>, String> = Ok(None);
        match st.kind {
            CreateTrigger => {
                outcome_target = Err(format!(
                    "at {at}: trigger {} is created at cut-over, not while changes are applied \
                     (they already fired on the source)",
                    objects.first().map_or("?".into(), |o| o.1.clone())
                ));
            }
            CreateView | AlterView | DropView | CreateProcedure | AlterProcedure
            | DropProcedure | CreateFunction | AlterFunction | DropFunction | DropTrigger => {
                let db = objects
                    .first()
                    .map_or(default_db.to_string(), |o| o.0.clone());
                if routes.whole_database(&db) {
                    outcome_target = Ok(Some(db));
                } else {
                    outcome_target = Err(format!(
                        "at {at}: {:?} in {} is not applied: only whole selected databases take \
                         views and routines",
                        st.kind,
                        quote(&db)
                    ));
                }
            }
            CreateDatabase | AlterDatabase | DropDatabase => {
                outcome_target = Err(format!(
                    "at {at}: {:?} of a selected database is not applied; do it on the target \
                     yourself if you want it",
                    st.kind
                ));
            }
            RenameTable => {
                let mut any = false;
                for pair in objects.chunks(2) {
                    if let [a, b] = pair {
                        let from_sel = selected(routes, a);
                        let b_sel_before = selected(routes, b);
                        routes.rename((&a.0, &a.1), (&b.0, &b.1));
                        let to_sel = selected(routes, b);
                        if from_sel {
                            any = true;
                            if !to_sel {
                                return Err(CopyError::Table {
                                    table: format!("{}.{}", quote(&a.0), quote(&a.1)),
                                    reason: format!(
                                        "at {at} it is renamed to {}.{}, out of the selected \
                                         objects; the apply does not decide what happens to its \
                                         rows on the target. Select that database too, or \
                                         handle the table yourself and start again",
                                        quote(&b.0),
                                        quote(&b.1)
                                    ),
                                });
                            }
                        } else if to_sel || b_sel_before {
                            return Err(CopyError::Table {
                                table: format!("{}.{}", quote(&b.0), quote(&b.1)),
                                reason: format!(
                                    "at {at} the unselected table {}.{} is renamed into the \
                                     selected objects: its rows were never copied. Copy that \
                                     table (a new full copy of it), or select it from the start",
                                    quote(&a.0),
                                    quote(&a.1)
                                ),
                            });
                        }
                    }
                }
                if any {
                    outcome_target = Ok(Some(default_db.to_string()));
                }
            }
            _ => {
                if tables.iter().any(|t| selected(routes, t)) {
                    outcome_target = Ok(Some(default_db.to_string()));
                }
            }
        }
        // Per-object DDL filters: the shadow took the statement above; the
        // target does not.
        // (A RENAME of a selected table is always applied: the selection
        // follows it.)
        if let (Ok(Some(_)), false) = (&outcome_target, st.kind == RenameTable) {
            let filtered = objects.iter().find_map(|(d, t)| {
                selection
                    .operations_for(d, t)
                    .filter(|ops| !ops.ddl.contains(&st.kind))
                    .map(|_| format!("{}.{}", quote(d), quote(t)))
            });
            if let Some(obj) = filtered {
                outcome_target = Err(format!(
                    "at {at}: {:?} on {obj} is left out by the task's DDL filter for it",
                    st.kind
                ));
            }
        }
        let result = match outcome_target {
            Ok(Some(_)) => {
                let opts = TranslateOptions {
                    target: self.target_version.clone(),
                    names: routes.names().clone(),
                    definer: o.definer.clone(),
                };
                let s = rewrite_statement(&sql, default_db, &opts).map_err(CopyError::Schema)?;
                let use_db = if routes.whole_database(default_db) {
                    routes.names().database(default_db)
                } else {
                    // Unqualified names refer to the default database:
                    // that of the first selected table touched.
                    tables
                        .iter()
                        .find_map(|(d, t)| routes.route(d, t).map(|r| r.target_db))
                        .unwrap_or_else(|| self.meta.clone())
                };
                match self
                    .exec(
                        tgt,
                        &use_db,
                        &s,
                        replay,
                        &format!("applying the DDL at {at}"),
                    )
                    .await
                {
                    Ok(()) => Ok((Outcome::Applied, Some(s))),
                    Err(e) if o.skip_failed_ddl => Ok((
                        Outcome::Skipped(format!(
                            "at {at}: the target refused it ({e}); skipped as the task allows"
                        )),
                        None,
                    )),
                    Err(e) => {
                        // Not run on the target (the shadow took it): a
                        // restart runs it there as new, so that a target
                        // still refusing it is not taken for "already done".
                        let _ = tgt
                            .exec_drop(
                                format!(
                                    "UPDATE {}.`cdc_ddl` SET state = 'failed' WHERE task = ? \
                                     AND binlog_file = ? AND binlog_pos = ?",
                                    quote(&self.meta)
                                ),
                                (&self.task, &start.file, start.offset),
                            )
                            .await;
                        Err(e)
                    }
                }
            }
            Ok(None) => Ok((Outcome::Ignored, None)),
            Err(why) => Ok((Outcome::Skipped(why), None)),
        };
        let (outcome, applied) = result?;
        failpoint("after_ddl");
        self.finish(tgt, &end, &start, Some(applied.as_deref()), &[], o)
            .await?;
        self.replay.remove(&start);
        self.failed.remove(&start);
        Ok(outcome)
    }

    /// The pairs of a RENAME TABLE, each classified against the selection
    /// as it is when the pair's turn comes (a statement's pairs run in
    /// order); `routes` ends as the statement leaves it.
    fn moves(
        routes: &mut Routes,
        st: &DdlStatement,
        default_db: &str,
    ) -> Vec<(TableName, TableName, Move)> {
        let names: Vec<(String, String)> = st
            .objects
            .iter()
            .map(|o| {
                (
                    o.database.clone().unwrap_or_else(|| default_db.to_string()),
                    o.name.clone(),
                )
            })
            .collect();
        let mut out = Vec::new();
        for pair in names.chunks(2) {
            let [a, b] = pair else { continue };
            let before = routes.route(&a.0, &a.1);
            routes.rename((&a.0, &a.1), (&b.0, &b.1));
            let after = routes.route(&b.0, &b.1);
            let m = match (before, after) {
                (Some(x), Some(y)) => Move::Follow(x, y),
                (Some(x), None) => Move::Out(x),
                (None, Some(y)) => Move::In(y),
                (None, None) => Move::Outside,
            };
            out.push((a.clone(), b.clone(), m));
        }
        out
    }

    /// Whether a RENAME TABLE moves a table into or out of the selection,
    /// or between a shadowed database and one without a shadow: handled
    /// pair by pair by [`Context::rename_across`]. Pairs that name an
    /// online-DDL tool's helper tables inside one database keep the usual
    /// path (their swaps are handled there).
    fn crosses(&self, routes: &Routes, st: &DdlStatement, default_db: &str) -> bool {
        let mut r = routes.clone();
        Self::moves(&mut r, st, default_db).iter().any(|(a, b, m)| {
            let helper = a.0 == b.0 && (helper_of(&a.1).is_some() || helper_of(&b.1).is_some());
            let shadowed = |d: &str| self.dbs.iter().any(|x| x == d);
            !helper && (matches!(m, Move::Out(_) | Move::In(_)) || shadowed(&a.0) != shadowed(&b.0))
        })
    }

    /// The source server, which a table renamed into the selection is
    /// copied from; binlog files have none.
    fn source_opts(&self) -> Result<&Opts, CopyError> {
        self.source.as_ref().ok_or_else(|| CopyError::Unsupported {
            reason: "a table renamed into the selection must be copied from the source server,                      and this apply reads binlog files: apply these files with the table in the                      selection from the start, or run the task against the server"
                .into(),
        })
    }

    async fn source_conn(&self) -> Result<Conn, CopyError> {
        Conn::new(self.source_opts()?.clone()).await.map_err(db_err(
            "source",
            "connecting for a table renamed into the selection",
        ))
    }

    /// Creates `db`.`table` in its shadow from the source's definition now;
    /// returns the definition (`SHOW CREATE TABLE`), or `None` when the
    /// source has no such table any more.
    async fn shadow_from_source(
        &self,
        src: &mut Conn,
        tgt: &mut Conn,
        db: &str,
        table: &str,
    ) -> Result<Option<String>, CopyError> {
        let schema = schema_diff::extract::extract_schema(src, &[db.to_string()])
            .await
            .map_err(CopyError::Schema)?;
        let Some(t) = schema
            .database(db)
            .and_then(|d| d.tables.iter().find(|t| t.name == table))
        else {
            return Ok(None);
        };
        let opts = TranslateOptions {
            target: self.target_version.clone(),
            names: self.shadow_names(),
            definer: DefinerPolicy::Invoker,
        };
        let tr = Translator::new(&schema, &opts);
        let tt = tr
            .table(db, t, &mut Vec::new())
            .map_err(CopyError::Schema)?;
        let shadow = shadow_name(&self.task, db);
        self.exec(
            tgt,
            &shadow,
            &format!("DROP TABLE IF EXISTS {}", quote(table)),
            false,
            "replacing a table in the shadow schema",
        )
        .await?;
        self.exec(
            tgt,
            &shadow,
            &tt.create,
            false,
            &format!(
                "creating {}.{} in the shadow schema",
                quote(db),
                quote(table)
            ),
        )
        .await?;
        Ok(Some(t.create_sql.clone()))
    }

    /// A RENAME TABLE that moves tables into or out of the selection, pair
    /// by pair, in order:
    /// - the shadow follows the source: a table leaving the shadowed
    ///   databases is dropped from the shadow (never moved into a database
    ///   the task does not select), one entering them is created from the
    ///   source's definition;
    /// - a selected table renamed within the selection is renamed on the
    ///   target;
    /// - one renamed out is kept or dropped on the target as
    ///   [`ApplyOptions::renamed_out`] says, and no longer followed;
    /// - one renamed in is created on the target and copied from a
    ///   snapshot of the source taken now ([`Context::copy_in`]), then
    ///   followed: its changes before that snapshot are in the copy.
    #[allow(clippy::too_many_arguments)]
    async fn rename_across(
        &mut self,
        tgt: &mut Conn,
        routes: &mut Routes,
        st: &DdlStatement,
        default_db: &str,
        start: &FilePosition,
        replay: bool,
        o: &ApplyOptions,
    ) -> Result<(Outcome, Option<String>), CopyError> {
        let at = start.to_string();
        let moves = Self::moves(routes, st, default_db);
        let dbs = self.dbs.clone();
        let shadowed = |d: &str| dbs.iter().any(|x| x == d);
        let mut src: Option<Conn> = None;
        let mut done: Vec<String> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        for (a, b, m) in moves {
            let qa = format!("{}.{}", quote(&a.0), quote(&a.1));
            let qb = format!("{}.{}", quote(&b.0), quote(&b.1));
            // The shadow.
            match (shadowed(&a.0), shadowed(&b.0)) {
                (true, true) => {
                    let s = format!(
                        "RENAME TABLE {}.{} TO {}.{}",
                        quote(&shadow_name(&self.task, &a.0)),
                        quote(&a.1),
                        quote(&shadow_name(&self.task, &b.0)),
                        quote(&b.1)
                    );
                    self.exec(
                        tgt,
                        &self.meta.clone(),
                        &s,
                        replay,
                        &format!("keeping the schema at {at}"),
                    )
                    .await?;
                }
                (true, false) => {
                    let s = format!(
                        "DROP TABLE IF EXISTS {}.{}",
                        quote(&shadow_name(&self.task, &a.0)),
                        quote(&a.1)
                    );
                    self.exec(
                        tgt,
                        &self.meta.clone(),
                        &s,
                        replay,
                        &format!("keeping the schema at {at}"),
                    )
                    .await?;
                }
                (false, true) if !matches!(m, Move::In(_)) => {
                    // An unselected table entering a shadowed database:
                    // its definition, for later renames and helper tables.
                    if src.is_none() {
                        src = Some(self.source_conn().await?);
                    }
                    if let Some(c) = src.as_mut() {
                        self.shadow_from_source(c, tgt, &b.0, &b.1).await?;
                    }
                }
                _ => {}
            }
            // The target.
            match m {
                Move::Follow(x, y) => {
                    if (x.target_db.as_str(), x.target_table.as_str())
                        != (y.target_db.as_str(), y.target_table.as_str())
                    {
                        let s = format!(
                            "RENAME TABLE {}.{} TO {}.{}",
                            quote(&x.target_db),
                            quote(&x.target_table),
                            quote(&y.target_db),
                            quote(&y.target_table)
                        );
                        self.exec(
                            tgt,
                            &self.meta.clone(),
                            &s,
                            replay,
                            &format!("applying the DDL at {at}"),
                        )
                        .await?;
                        done.push(s);
                    }
                }
                Move::Out(x) => {
                    let t = format!("{}.{}", quote(&x.target_db), quote(&x.target_table));
                    match o.renamed_out {
                        RenamedOut::Drop => {
                            let s = format!("DROP TABLE IF EXISTS {t}");
                            self.exec(
                                tgt,
                                &self.meta.clone(),
                                &s,
                                replay,
                                &format!("applying the DDL at {at}"),
                            )
                            .await?;
                            notes.push(format!(
                                "at {at}: {qa} was renamed to {qb}, out of the selection; its \
                                 target table {t} was dropped (renamed_out = \"drop\")"
                            ));
                            done.push(s);
                        }
                        RenamedOut::Keep => notes.push(format!(
                            "at {at}: {qa} was renamed to {qb}, out of the selection; its target \
                             table {t} is kept as it was and no longer followed (renamed_out = \
                             \"keep\")"
                        )),
                    }
                }
                Move::In(y) => {
                    if src.is_none() {
                        src = Some(self.source_conn().await?);
                    }
                    let Some(c) = src.as_mut() else { continue };
                    let snap = self
                        .copy_in(c, tgt, routes, (&a, &b), &y, start, replay)
                        .await?;
                    let t = format!("{}.{}", quote(&y.target_db), quote(&y.target_table));
                    notes.push(format!(
                        "at {at}: {qa} was renamed to {qb}, into the selection; copied to {t} \
                         from a snapshot at {snap}, then followed"
                    ));
                    done.push(format!("-- {qb} copied to {t} at {snap}"));
                }
                Move::Outside => {}
            }
        }
        for n in &notes {
            tracing::info!("{n}");
        }
        let outcome = if done.is_empty() {
            match notes.first() {
                Some(n) => Outcome::Skipped(n.clone()),
                None => Outcome::Ignored,
            }
        } else {
            Outcome::Applied
        };
        let journal = (!done.is_empty()).then(|| done.join(";\n"));
        Ok((outcome, journal))
    }

    /// A table renamed into the selection at `start` (source `b`, which was
    /// `a`): created on the target and in the shadow from the source's
    /// definition, then copied in one transaction from a snapshot taken now
    /// (its position recorded with the rows, so the apply skips the table's
    /// changes before it); returns that position. Its state at `start` is
    /// gone from the source by now, but its state at the snapshot plus the
    /// changes after it is the same table. Stops, naming what to do, when
    /// that cannot be exact: the table is gone or changed while copied, the
    /// target already has a table of that name, or the selection gives it a
    /// column map.
    #[allow(clippy::too_many_arguments)]
    async fn copy_in(
        &mut self,
        src: &mut Conn,
        tgt: &mut Conn,
        routes: &Routes,
        (a, b): (&(String, String), &(String, String)),
        route: &Route,
        start: &FilePosition,
        replay: bool,
    ) -> Result<FilePosition, CopyError> {
        let qa = format!("{}.{}", quote(&a.0), quote(&a.1));
        let qb = format!("{}.{}", quote(&b.0), quote(&b.1));
        let t = format!("{}.{}", quote(&route.target_db), quote(&route.target_table));
        let stop = |reason: String| CopyError::Table {
            table: qb.clone(),
            reason: format!(
                "at {start} it was renamed from {qa} into the selected objects: {reason}"
            ),
        };
        if route.columns.is_some() {
            return Err(stop(
                "the task maps its columns, and the apply cannot create a target table for a \
                 column map. Create it on the target yourself and start the task again from a \
                 full copy, or select the table without a column map"
                    .into(),
            ));
        }
        // Ours from an earlier try of this same rename (a crash), or not.
        let ours = self
            .copied_in
            .get(&(b.0.clone(), b.1.clone()))
            .is_some_and(|(at, _)| at == start);
        let exists: Option<u8> = tgt
            .exec_first(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                (&route.target_db, &route.target_table),
            )
            .await
            .map_err(db_err("target", format!("looking for {t}")))?;
        if exists.is_some() && !(ours && replay) {
            return Err(stop(format!(
                "the target already has a table {t}, which the apply will not overwrite. Drop or \
                 rename it on the target, then start the task again (it resumes at this rename \
                 and copies the table)"
            )));
        }
        // Intent first: a crash from here on leaves a table that is ours.
        tgt.exec_drop(
            format!(
                "REPLACE INTO {}.`{CDC_COPIED_IN}` (task, source_db, source_table, at_file, \
                 at_pos, snap_file, snap_pos) VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                quote(&self.meta)
            ),
            (&self.task, &b.0, &b.1, &start.file, start.offset),
        )
        .await
        .map_err(db_err(
            "target",
            "recording a table renamed into the selection",
        ))?;
        self.copied_in
            .insert((b.0.clone(), b.1.clone()), (start.clone(), None));
        let gone = || {
            stop(
                "the source has no such table any more (renamed or dropped since), so its \
                 state cannot be copied. Start the task again from a full copy"
                    .to_string(),
            )
        };
        let before = self
            .shadow_from_source(src, tgt, &b.0, &b.1)
            .await?
            .ok_or_else(gone)?;
        // The target table, under the selection's names.
        let schema = schema_diff::extract::extract_schema(src, std::slice::from_ref(&b.0))
            .await
            .map_err(CopyError::Schema)?;
        let table = schema
            .database(&b.0)
            .and_then(|d| d.tables.iter().find(|x| x.name == b.1))
            .ok_or_else(gone)?;
        let opts = TranslateOptions {
            target: self.target_version.clone(),
            names: routes.names_for_route(&b.0, &b.1, route),
            definer: DefinerPolicy::Invoker,
        };
        let tt = Translator::new(&schema, &opts)
            .table(&b.0, table, &mut Vec::new())
            .map_err(CopyError::Schema)?;
        for s in [format!("DROP TABLE IF EXISTS {t}"), tt.create.clone()] {
            self.exec(
                tgt,
                &route.target_db,
                &s,
                false,
                &format!("creating {t}, renamed into the selection at {start}"),
            )
            .await?;
        }
        crate::base::meta_schema::ensure_copy_tables(tgt, &self.meta).await?;
        tgt.exec_drop(
            format!(
                "DELETE FROM {}.`copy_range` WHERE task = ? AND target_db = ? AND target_table = ?",
                quote(&self.meta)
            ),
            (&self.task, &route.target_db, &route.target_table),
        )
        .await
        .map_err(db_err(
            "target",
            "clearing the copy's checkpoint of a table",
        ))?;
        let version: String = src
            .query_first("SELECT VERSION()")
            .await
            .map_err(db_err("source", "reading the version"))?
            .unwrap_or_default();
        let copy = CopyOptions {
            task: self.task.clone(),
            meta_schema: self.meta.clone(),
            readers: 1,
            writers: 1,
            bulk_max_bytes: u64::MAX,
            // One position for the whole table: MariaDB's snapshot reports
            // it; elsewhere a brief global read lock (RELOAD).
            snapshot: if version.to_ascii_lowercase().contains("mariadb") {
                SnapshotMode::ConsistentSnapshot
            } else {
                SnapshotMode::FlushTablesWithReadLock
            },
            ..CopyOptions::default()
        };
        let mapping = TableMapping {
            source_db: b.0.clone(),
            source_table: b.1.clone(),
            target_db: route.target_db.clone(),
            target_table: route.target_table.clone(),
            columns: None,
            filter: route.filter.clone(),
        };
        copy_tables(self.source_opts()?, &self.target, &[mapping], &copy)
            .await
            .map_err(|e| stop(format!("copying it failed: {e}")))?;
        let snap: Option<(Option<Vec<u8>>, Option<u64>)> = tgt
            .exec_first(
                format!(
                    "SELECT snap_file, snap_pos FROM {}.`copy_range` WHERE task = ? AND \
                     target_db = ? AND target_table = ? AND finished = 1",
                    quote(&self.meta)
                ),
                (&self.task, &route.target_db, &route.target_table),
            )
            .await
            .map_err(db_err("target", "reading the copy's checkpoint"))?;
        let Some((Some(f), Some(p))) = snap else {
            return Err(stop(
                "its copy has no single snapshot position, so its changes cannot be told apart \
                 from the copy's rows. Start the task again from a full copy"
                    .into(),
            ));
        };
        let snap = FilePosition::new(String::from_utf8_lossy(&f), p);
        let after = self
            .shadow_from_source(src, tgt, &b.0, &b.1)
            .await?
            .ok_or_else(gone)?;
        if after != before {
            return Err(stop(
                "its definition changed while it was copied. Start the task again: it resumes \
                 at this rename and copies the table again"
                    .into(),
            ));
        }
        tgt.exec_drop(
            format!(
                "UPDATE {}.`{CDC_COPIED_IN}` SET snap_file = ?, snap_pos = ? WHERE task = ? \
                 AND source_db = ? AND source_table = ?",
                quote(&self.meta)
            ),
            (&snap.file, snap.offset, &self.task, &b.0, &b.1),
        )
        .await
        .map_err(db_err(
            "target",
            "recording a table renamed into the selection",
        ))?;
        self.copied_in.insert(
            (b.0.clone(), b.1.clone()),
            (start.clone(), Some(snap.clone())),
        );
        Ok(snap)
    }

    /// [`OnlineDdlMode::ApplyOriginalDdl`]: what a statement touching an
    /// online-DDL tool's helper tables does on the target (the outcome, the
    /// statements run there, the remembered ALTERs' changes), or `None` for
    /// a statement that touches none (handled as usual). The shadow has
    /// already run it; `before` are the helper tables before it.
    #[allow(clippy::too_many_arguments)]
    async fn original_ddl(
        &mut self,
        tgt: &mut Conn,
        routes: &Routes,
        kind: DdlKind,
        objects: &[(String, String)],
        sql: &str,
        default_db: &str,
        at: &str,
        replay: bool,
        before: &HashSet<(String, String)>,
    ) -> Result<OnlineOutcome, CopyError> {
        use DdlKind::*;
        // A helper before the statement (or by its name, when replaying a
        // statement the shadow already ran).
        let was_helper = |(d, t): &(String, String)| {
            before.contains(&(d.clone(), t.clone()))
                || (replay && helper_of(t).is_some_and(|b| routes.base_selected(d, b)))
        };
        let describe = |(d, t): &(String, String)| {
            format!(
                "{}'s helper table {}.{}",
                helper_tool(t),
                quote(d),
                quote(t)
            )
        };
        let skipped = |what: String| {
            Outcome::Skipped(format!(
                "at {at}: {what} is not applied (online-DDL mode: apply the original DDL)"
            ))
        };
        let forget = |(d, t): &(String, String)| {
            helper_kind(t)
                .is_some_and(|h| h.1 == HelperKind::Ghost)
                .then(|| OnlineStep::Forget {
                    db: d.clone(),
                    ghost: t.clone(),
                })
        };
        match kind {
            CreateTable => {
                let Some(o) = objects.first() else {
                    return Ok(None);
                };
                if !routes.is_helper(&o.0, &o.1) && !was_helper(o) {
                    return Ok(None);
                }
                // A new run of the tool: nothing of an older one remains.
                let steps = forget(o).into_iter().collect();
                Ok(Some((
                    skipped(format!("creating {}", describe(o))),
                    None,
                    steps,
                )))
            }
            AlterTable | CreateIndex | DropIndex | TruncateTable => {
                let t = if matches!(kind, CreateIndex | DropIndex) {
                    objects.get(1)
                } else {
                    objects.first()
                };
                let Some(o) = t else { return Ok(None) };
                if !was_helper(o) {
                    return Ok(None);
                }
                match helper_kind(&o.1) {
                    Some((base, HelperKind::Ghost))
                        if kind != TruncateTable && routes.route(&o.0, base).is_some() =>
                    {
                        Ok(Some((
                            Outcome::Skipped(format!(
                                "at {at}: {kind:?} of {} is kept and applied to {}.{} when the \
                                 tool swaps the tables",
                                describe(o),
                                quote(&o.0),
                                quote(base)
                            )),
                            None,
                            vec![OnlineStep::Remember {
                                db: o.0.clone(),
                                ghost: o.1.clone(),
                                default_db: default_db.to_string(),
                                statement: sql.to_string(),
                            }],
                        )))
                    }
                    _ => Ok(Some((
                        skipped(format!("{kind:?} of {}", describe(o))),
                        None,
                        Vec::new(),
                    ))),
                }
            }
            DropTable => {
                let (helpers, others): (Vec<_>, Vec<_>) =
                    objects.iter().partition(|o| was_helper(o));
                if helpers.is_empty() {
                    return Ok(None);
                }
                if others.iter().any(|o| routes.route(&o.0, &o.1).is_some()) {
                    return Err(mixed(at, sql));
                }
                let what: Vec<String> = helpers.iter().map(|o| describe(o)).collect();
                Ok(Some((
                    skipped(format!("dropping {}", what.join(", "))),
                    None,
                    helpers.iter().filter_map(|o| forget(o)).collect(),
                )))
            }
            RenameTable => {
                let mut swaps = Vec::new();
                let (mut special, mut normal) = (false, false);
                for pair in objects.chunks(2) {
                    let [a, b] = pair else { continue };
                    let same_db = a.0 == b.0;
                    let swap_out = same_db
                        && helper_kind(&b.1)
                            .is_some_and(|(base, k)| k == HelperKind::Old && base == a.1)
                        && routes.base_selected(&a.0, &a.1);
                    let swap_in = same_db
                        && helper_kind(&a.1)
                            .is_some_and(|(base, k)| k == HelperKind::Ghost && base == b.1)
                        && routes.base_selected(&b.0, &b.1);
                    if swap_in {
                        swaps.push((a.clone(), b.1.clone()));
                        special = true;
                    } else if swap_out || was_helper(a) {
                        special = true;
                    } else if routes.route(&a.0, &a.1).is_some()
                        || routes.route(&b.0, &b.1).is_some()
                    {
                        normal = true;
                    }
                }
                if !special {
                    return Ok(None);
                }
                if normal {
                    return Err(mixed(at, sql));
                }
                let mut applied = Vec::new();
                let mut steps = Vec::new();
                for ((db, ghost), base) in &swaps {
                    applied.extend(
                        self.apply_remembered(tgt, routes, db, ghost, base, at, replay)
                            .await?,
                    );
                    steps.push(OnlineStep::Forget {
                        db: db.clone(),
                        ghost: ghost.clone(),
                    });
                }
                let outcome = if applied.is_empty() {
                    skipped(format!(
                        "the swap of an online-DDL tool's tables, with no ALTER of the ghost \
                         table since the task started ({})",
                        sql.chars().take(200).collect::<String>()
                    ))
                } else {
                    Outcome::Applied
                };
                let journal = (!applied.is_empty()).then(|| applied.join(";\n"));
                Ok(Some((outcome, journal, steps)))
            }
            _ => Ok(None),
        }
    }

    /// At an online-DDL tool's swap of `db`.`ghost` into `db`.`base`: runs
    /// the ALTERs remembered for the ghost on the target table of `base`
    /// (each marked applied as it runs, so a restart runs only the rest),
    /// then checks that the target table has the source's columns.
    #[allow(clippy::too_many_arguments)]
    async fn apply_remembered(
        &self,
        tgt: &mut Conn,
        routes: &Routes,
        db: &str,
        ghost: &str,
        base: &str,
        at: &str,
        replay: bool,
    ) -> Result<Vec<String>, CopyError> {
        let source_t = format!("{}.{}", quote(db), quote(base));
        let (Some(route), Some(names)) = (
            routes.route(db, base),
            routes.names_for_ghost(db, ghost, base),
        ) else {
            return Ok(Vec::new());
        };
        let target_t = format!("{}.{}", quote(&route.target_db), quote(&route.target_table));
        type Row = (Vec<u8>, u64, Vec<u8>, Vec<u8>, u8);
        let mut rows: Vec<Row> = tgt
            .exec(
                format!(
                    "SELECT binlog_file, binlog_pos, default_db, statement, applied \
                     FROM {}.`{CDC_ONLINE_DDL}` WHERE task = ? AND source_db = ? AND ghost = ?",
                    quote(&self.meta)
                ),
                (&self.task, db, ghost),
            )
            .await
            .map_err(db_err("target", "reading the remembered online-DDL ALTERs"))?;
        rows.sort_by(|a, b| {
            FilePosition::new(String::from_utf8_lossy(&a.0), a.1)
                .partial_cmp(&FilePosition::new(String::from_utf8_lossy(&b.0), b.1))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let opts = TranslateOptions {
            target: self.target_version.clone(),
            names,
            definer: DefinerPolicy::Invoker,
        };
        let mut applied = Vec::new();
        for (file, pos, default_db, statement, done) in rows {
            let statement = String::from_utf8_lossy(&statement).into_owned();
            let s = rewrite_statement(&statement, &String::from_utf8_lossy(&default_db), &opts)
                .map_err(CopyError::Schema)?;
            if done != 0 {
                continue;
            }
            self.exec(
                tgt,
                &route.target_db,
                &s,
                replay,
                &format!(
                    "applying to {target_t} the ALTER {} ran on {} at {file}:{pos}, at its swap \
                     at {at}",
                    helper_tool(ghost),
                    quote(ghost),
                    file = String::from_utf8_lossy(&file)
                ),
            )
            .await?;
            tgt.exec_drop(
                format!(
                    "UPDATE {}.`{CDC_ONLINE_DDL}` SET applied = 1 WHERE task = ? AND \
                     source_db = ? AND ghost = ? AND binlog_file = ? AND binlog_pos = ?",
                    quote(&self.meta)
                ),
                (&self.task, db, ghost, &file, pos),
            )
            .await
            .map_err(db_err("target", "marking an online-DDL ALTER applied"))?;
            applied.push(s);
        }
        if route.columns.is_none() {
            let shadow = shadow_name(&self.task, db);
            let a = columns_of(tgt, &shadow, base).await?;
            let b = columns_of(tgt, &route.target_db, &route.target_table).await?;
            if a != b {
                let show = |c: &[(String, String)]| {
                    c.iter()
                        .map(|(n, t)| format!("{} {t}", quote(n)))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                return Err(CopyError::Table {
                    table: target_t,
                    reason: format!(
                        "after {}'s swap at {at}, the source's {source_t} has the columns ({}) \
                         but the target table has ({}): the tool's ALTER of {} ran before the \
                         task's start position, so the apply never saw it. Alter the target \
                         table to match the source, then start the apply again (it resumes \
                         before the swap)",
                        helper_tool(ghost),
                        show(&a),
                        show(&b),
                        quote(ghost)
                    ),
                });
            }
        }
        Ok(applied)
    }

    /// Commits the position after a statement, and its journal entry.
    async fn finish(
        &self,
        tgt: &mut Conn,
        end: &FilePosition,
        start: &FilePosition,
        journal: Option<Option<&str>>,
        online: &[OnlineStep],
        o: &ApplyOptions,
    ) -> Result<(), CopyError> {
        tgt.query_drop("BEGIN")
            .await
            .map_err(db_err("target", "starting a transaction"))?;
        for step in online {
            match step {
                OnlineStep::Remember {
                    db,
                    ghost,
                    default_db,
                    statement,
                } => tgt
                    .exec_drop(
                        format!(
                            "INSERT INTO {}.`{CDC_ONLINE_DDL}` (task, source_db, ghost, \
                             binlog_file, binlog_pos, default_db, statement, applied) \
                             VALUES (?, ?, ?, ?, ?, ?, ?, 0) ON DUPLICATE KEY UPDATE \
                             statement = VALUES(statement), applied = 0",
                            quote(&self.meta)
                        ),
                        (
                            &self.task,
                            db,
                            ghost,
                            &start.file,
                            start.offset,
                            default_db,
                            statement.as_bytes(),
                        ),
                    )
                    .await
                    .map_err(db_err("target", "remembering an online-DDL tool's ALTER"))?,
                OnlineStep::Forget { db, ghost } => tgt
                    .exec_drop(
                        format!(
                            "DELETE FROM {}.`{CDC_ONLINE_DDL}` WHERE task = ? AND \
                             source_db = ? AND ghost = ?",
                            quote(&self.meta)
                        ),
                        (&self.task, db, ghost),
                    )
                    .await
                    .map_err(db_err("target", "forgetting an online-DDL tool's ALTER"))?,
            }
        }
        tgt.exec_drop(
            format!(
                "UPDATE {}.`{CDC_CHECKPOINT}` SET binlog_file = ?, binlog_pos = ?, \
                 saved_position = ?, transactions = transactions + 1 WHERE task = ?",
                quote(&self.meta)
            ),
            (
                &end.file,
                end.offset,
                self.saved_position.as_deref(),
                &o.task,
            ),
        )
        .await
        .map_err(db_err("target", "saving the incremental checkpoint"))?;
        if let Some(applied) = journal {
            tgt.exec_drop(
                format!(
                    "UPDATE {}.`cdc_ddl` SET state = ?, target_statement = ? \
                     WHERE task = ? AND binlog_file = ? AND binlog_pos = ?",
                    quote(&self.meta)
                ),
                (
                    if applied.is_some() {
                        "finished"
                    } else {
                        "skipped"
                    },
                    applied,
                    &self.task,
                    &start.file,
                    start.offset,
                ),
            )
            .await
            .map_err(db_err("target", "journaling a DDL"))?;
        }
        tgt.query_drop("COMMIT")
            .await
            .map_err(db_err("target", "committing a DDL's position"))?;
        Ok(())
    }
}
