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

use super::table::{shadow_name, Routes};
use super::{failpoint, ApplyOptions, CHECKPOINT_TABLE};
use crate::error::{db_err, CopyError};
use crate::meta::quote;

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

fn schema_err(e: schema_diff::error::SchemaError) -> CopyError {
    CopyError::Table {
        table: String::new(),
        reason: format!("schema: {e}"),
    }
}

impl Context {
    pub(crate) async fn new(
        tgt: &mut Conn,
        o: &ApplyOptions,
        dbs: Vec<String>,
    ) -> Result<Context, CopyError> {
        let target_version = schema_diff::extract::server_version(tgt)
            .await
            .map_err(schema_err)?;
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
            .map_err(schema_err)?;
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
                let tt = tr.table(db, t, &mut warnings).map_err(schema_err)?;
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
    ) -> Result<Outcome, CopyError> {
        let sql = String::from_utf8(q.query.clone()).map_err(|_| CopyError::Table {
            table: String::new(),
            reason: format!(
                "at {}:{}: a statement that is not UTF-8; the apply cannot rewrite it",
                ev.file.as_deref().unwrap_or("?"),
                ev.pos
            ),
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
            self.finish(tgt, &end, &start, None, o).await?;
            return Ok(Outcome::Skipped(format!(
                "at {at}: unsupported statement skipped as the task allows: {}",
                sql.chars().take(200).collect::<String>()
            )));
        }
        if st.kind == Other || !self.involved(&st, default_db) {
            outcome = Outcome::Ignored;
            self.finish(tgt, &end, &start, None, o).await?;
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
            let s = rewrite_statement(&sql, default_db, &opts).map_err(schema_err)?;
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
        let result = match outcome_target {
            Ok(Some(_)) => {
                let opts = TranslateOptions {
                    target: self.target_version.clone(),
                    names: routes.names().clone(),
                    definer: DefinerPolicy::Invoker,
                };
                let s = rewrite_statement(&sql, default_db, &opts).map_err(schema_err)?;
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
        self.finish(tgt, &end, &start, Some(applied.as_deref()), o)
            .await?;
        self.replay.remove(&start);
        Ok(outcome)
    }

    /// Commits the position after a statement, and its journal entry.
    async fn finish(
        &self,
        tgt: &mut Conn,
        end: &FilePosition,
        start: &FilePosition,
        journal: Option<Option<&str>>,
        o: &ApplyOptions,
    ) -> Result<(), CopyError> {
        tgt.query_drop("BEGIN")
            .await
            .map_err(db_err("target", "starting a transaction"))?;
        tgt.exec_drop(
            format!(
                "UPDATE {}.`{CHECKPOINT_TABLE}` SET binlog_file = ?, binlog_pos = ?, \
                 transactions = transactions + 1 WHERE task = ?",
                quote(&self.meta)
            ),
            (&end.file, end.offset, &o.task),
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
