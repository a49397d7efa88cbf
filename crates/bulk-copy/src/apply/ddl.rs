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

use std::collections::HashSet;

use binlog_reader::event::QueryEvent;
use binlog_reader::position::FilePosition;
use binlog_reader::Event;
use mysql_async::prelude::*;
use mysql_async::Conn;
use schema_diff::binlog_ddl::{classify, rewrite_statement, DdlKind, DdlStatement};
use schema_diff::names::{NameMap, Renames};
use schema_diff::translate::{DefinerPolicy, TranslateOptions, Translator};
use schema_diff::version::ServerVersion;

use super::table::{
    helper_kind, helper_of, helper_tool, shadow_name, shadow_tables, HelperKind, OnlineDdlMode,
    Routes,
};
use super::{failpoint, ApplyOptions};
use crate::base::error::{db_err, CopyError};
use crate::base::meta_schema::{CDC_CHECKPOINT, CDC_ONLINE_DDL};
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

fn mixed(at: &str, sql: &str) -> CopyError {
    CopyError::Binlog {
        at: at.to_string(),
        reason: format!(
            "a statement that names both an online-DDL tool's helper tables and other selected \
             tables: {}. The apply-original-DDL mode cannot split it; run the task in the \
             replicate mode, or apply it to the target yourself and skip it",
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

impl Context {
    pub(crate) async fn new(
        tgt: &mut Conn,
        o: &ApplyOptions,
        dbs: Vec<String>,
    ) -> Result<Context, CopyError> {
        let target_version = schema_diff::extract::server_version(tgt)
            .await
            .map_err(CopyError::Schema)?;
        let rows: Vec<(Vec<u8>, u64)> = tgt
            .exec(
                format!(
                    "SELECT binlog_file, binlog_pos FROM {}.`cdc_ddl` WHERE task = ? AND state = 'started'",
                    quote(&o.meta_schema)
                ),
                (&o.task,),
            )
            .await
            .map_err(db_err("target", "reading the DDL journal"))?;
        Ok(Context {
            target_version,
            dbs,
            task: o.task.clone(),
            meta: o.meta_schema.clone(),
            replay: rows
                .into_iter()
                .map(|(f, p)| FilePosition::new(String::from_utf8_lossy(&f), p))
                .collect(),
            saved_position: None,
        })
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
        let opts = TranslateOptions {
            target: self.target_version.clone(),
            names: self.shadow_names(),
            definer: DefinerPolicy::Invoker,
        };
        let tr = Translator::new(&schema, &opts);
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
                replay,
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
            self.original_ddl(
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
            .await?
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
                    definer: DefinerPolicy::Invoker,
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
                    Err(e) => Err(e),
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
        Ok(outcome)
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
