//! The ordered DDL for the target, with its warnings.
//!
//! Order: databases; tables without foreign keys; foreign keys (after the
//! data, so cycles between tables need no special case); views in
//! dependency order (views on views; a stored function a view calls is
//! created just before it); procedures and functions; then triggers and
//! events, which are created at cut-over (they must not fire on replicated
//! rows) or at the end of an offline migration. Within a phase, objects are
//! in name order: the plan is deterministic.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sqlparser::tokenizer::Token;

use crate::error::SchemaError;
use crate::ident::quote;
use crate::model::{Database, ObjectKind, ObjectRef, RoutineKind, Schema};
use crate::tokens::tokenize;
use crate::translate::{TranslateOptions, Translator, Warning};

/// When a statement runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Phase {
    /// CREATE DATABASE.
    Databases,
    /// CREATE TABLE without foreign keys.
    Tables,
    /// ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY, after the data.
    ForeignKeys,
    /// CREATE VIEW (and functions the views call).
    Views,
    /// CREATE PROCEDURE and CREATE FUNCTION.
    Routines,
    /// CREATE TRIGGER, at cut-over.
    Triggers,
    /// CREATE EVENT, at cut-over.
    Events,
}

impl Phase {
    /// Whether the phase runs at cut-over (or at the end of an offline
    /// migration) rather than before the data.
    pub fn at_cutover(self) -> bool {
        matches!(self, Phase::Triggers | Phase::Events)
    }
}

/// One statement of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStatement {
    /// When it runs.
    pub phase: Phase,
    /// The source object it creates.
    pub object: ObjectRef,
    /// The target database to use as the default database (`USE`) when
    /// running it: unqualified names in it are relative to that database.
    pub database: String,
    /// The statement, without a terminating delimiter.
    pub sql: String,
}

/// The ordered DDL and its warnings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Statements in execution order.
    pub statements: Vec<PlannedStatement>,
    /// What translation changed or could not decide.
    pub warnings: Vec<Warning>,
}

impl Plan {
    /// The statements of one phase, in order.
    pub fn phase(&self, phase: Phase) -> impl Iterator<Item = &PlannedStatement> {
        self.statements.iter().filter(move |s| s.phase == phase)
    }
}

impl std::fmt::Display for Plan {
    /// Prints the plan as a script the `mariadb`/`mysql` client can run.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for w in &self.warnings {
            writeln!(f, "-- warning: {w}")?;
        }
        let mut phase = None;
        let mut db: Option<&str> = None;
        for s in &self.statements {
            if phase != Some(s.phase) {
                phase = Some(s.phase);
                let when = if s.phase.at_cutover() {
                    " (at cut-over)"
                } else {
                    ""
                };
                writeln!(f, "\n-- phase: {:?}{when}", s.phase)?;
            }
            if s.phase != Phase::Databases && db != Some(s.database.as_str()) {
                writeln!(f, "USE {};", quote(&s.database))?;
                db = Some(&s.database);
            }
            writeln!(f, "-- {}", s.object)?;
            if s.sql.contains(';') {
                writeln!(f, "DELIMITER ;;\n{};;\nDELIMITER ;", s.sql)?;
            } else {
                writeln!(f, "{};", s.sql)?;
            }
        }
        Ok(())
    }
}

/// Plans the DDL that creates `source` on the target.
///
/// # Errors
///
/// [`SchemaError::Config`] for inconsistent renames; otherwise every object
/// that cannot be translated, together in [`SchemaError::Many`].
pub fn plan(source: &Schema, opts: &TranslateOptions) -> Result<Plan, SchemaError> {
    opts.names.validate(source)?;
    let tr = Translator::new(source, opts);
    let mut plan = Plan::default();
    let mut errors = Vec::new();
    let mut fks = Vec::new();
    let mut views = Vec::new();
    let mut routines = Vec::new();
    let mut triggers = Vec::new();
    let mut events = Vec::new();
    let w = &mut plan.warnings;
    for db in &source.databases {
        let target_db = opts.names.database(&db.name);
        let push = |v: &mut Vec<PlannedStatement>, phase, object, sql| {
            v.push(PlannedStatement {
                phase,
                object,
                database: target_db.clone(),
                sql,
            })
        };
        match tr.database(db, w) {
            Ok(sql) => push(
                &mut plan.statements,
                Phase::Databases,
                ObjectRef::new(ObjectKind::Database, &db.name, ""),
                sql,
            ),
            Err(e) => errors.push(e),
        }
        for t in &db.tables {
            match tr.table(&db.name, t, w) {
                Ok(tt) => {
                    push(
                        &mut plan.statements,
                        Phase::Tables,
                        ObjectRef::new(ObjectKind::Table, &db.name, &t.name),
                        tt.create,
                    );
                    for (name, sql) in tt.foreign_keys {
                        let mut object = ObjectRef::new(ObjectKind::ForeignKey, &db.name, &name);
                        object.parent = Some(t.name.clone());
                        push(&mut fks, Phase::ForeignKeys, object, sql);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        let functions_by_view = view_dependencies(db, source);
        let mut emitted_functions = BTreeSet::new();
        for (vdb, vname, funcs) in functions_by_view {
            let Some(v) = source
                .database(&vdb)
                .and_then(|d| d.views.iter().find(|v| v.name == vname))
            else {
                continue;
            };
            for f in funcs {
                if let Some(r) = db
                    .routines
                    .iter()
                    .find(|r| r.kind == RoutineKind::Function && r.name.eq_ignore_ascii_case(&f))
                {
                    if emitted_functions.insert(r.name.clone()) {
                        match tr.routine(&db.name, r, w) {
                            Ok(sql) => push(
                                &mut views,
                                Phase::Views,
                                ObjectRef::new(ObjectKind::Function, &db.name, &r.name),
                                sql,
                            ),
                            Err(e) => errors.push(e),
                        }
                    }
                }
            }
            match tr.view(&vdb, v, w) {
                Ok(sql) => push(
                    &mut views,
                    Phase::Views,
                    ObjectRef::new(ObjectKind::View, &vdb, &v.name),
                    sql,
                ),
                Err(e) => errors.push(e),
            }
        }
        for r in &db.routines {
            if r.kind == RoutineKind::Function && emitted_functions.contains(&r.name) {
                continue;
            }
            let kind = match r.kind {
                RoutineKind::Procedure => ObjectKind::Procedure,
                RoutineKind::Function => ObjectKind::Function,
            };
            match tr.routine(&db.name, r, w) {
                Ok(sql) => push(
                    &mut routines,
                    Phase::Routines,
                    ObjectRef::new(kind, &db.name, &r.name),
                    sql,
                ),
                Err(e) => errors.push(e),
            }
        }
        let mut trs: Vec<_> = db.triggers.iter().collect();
        trs.sort_by(|a, b| {
            (&a.table, &a.timing, &a.event, a.action_order, &a.name).cmp(&(
                &b.table,
                &b.timing,
                &b.event,
                b.action_order,
                &b.name,
            ))
        });
        for t in trs {
            match tr.trigger(&db.name, t, w) {
                Ok(sql) => push(
                    &mut triggers,
                    Phase::Triggers,
                    ObjectRef::new(ObjectKind::Trigger, &db.name, &t.name),
                    sql,
                ),
                Err(e) => errors.push(e),
            }
        }
        for e in &db.events {
            match tr.event(&db.name, e, w) {
                Ok(sql) => push(
                    &mut events,
                    Phase::Events,
                    ObjectRef::new(ObjectKind::Event, &db.name, &e.name),
                    sql,
                ),
                Err(err) => errors.push(err),
            }
        }
    }
    if !errors.is_empty() {
        return Err(SchemaError::Many(errors));
    }
    plan.statements.extend(fks);
    plan.statements.extend(views);
    plan.statements.extend(routines);
    plan.statements.extend(triggers);
    plan.statements.extend(events);
    // Statements were pushed database by database; the phase order is
    // global (all tables before any foreign key), kept stable within.
    plan.statements.sort_by_key(|s| s.phase);
    Ok(plan)
}

/// The views of `db` in dependency order (a view after every view it
/// reads), each with the names of functions it may call. Ties are broken
/// by name; a cycle (which the servers cannot create, so it comes from an
/// over-approximated reference) is broken in name order.
fn view_dependencies(db: &Database, schema: &Schema) -> Vec<(String, String, Vec<String>)> {
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut funcs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for v in &db.views {
        let mut d = BTreeSet::new();
        let mut f = Vec::new();
        if let Ok(t) = tokenize(&v.create_sql) {
            let toks = t.all();
            for (k, tok) in toks.iter().enumerate() {
                let Some(id) = tok.ident() else { continue };
                let next_is = |n: usize, tk: &Token| toks.get(k + n).map(|t| &t.token) == Some(tk);
                let prev_period = k
                    .checked_sub(1)
                    .and_then(|p| toks.get(p))
                    .is_some_and(|p| p.token == Token::Period);
                if next_is(1, &Token::LParen) {
                    f.push(id.to_string());
                    continue;
                }
                // `db`.`view` or a bare `view` of this database.
                let (vdb, vname) = if next_is(1, &Token::Period) {
                    match toks.get(k + 2).and_then(|t| t.ident()) {
                        Some(n) => (id.to_string(), n.to_string()),
                        None => continue,
                    }
                } else if !prev_period {
                    (db.name.clone(), id.to_string())
                } else {
                    continue;
                };
                if vdb == db.name && vname != v.name && db.views.iter().any(|w| w.name == vname) {
                    d.insert(vname);
                } else if vdb != db.name && schema.database(&vdb).is_some() {
                    // Views of other databases are created with their own
                    // database, in database order.
                }
            }
        }
        deps.insert(v.name.clone(), d);
        funcs.insert(v.name.clone(), f);
    }
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    while done.len() < deps.len() {
        let ready: Option<String> = deps
            .iter()
            .find(|(n, d)| !done.contains(*n) && d.iter().all(|x| done.contains(x)))
            .map(|(n, _)| n.clone());
        let next = ready.or_else(|| deps.keys().find(|n| !done.contains(*n)).cloned());
        let Some(n) = next else { break };
        done.insert(n.clone());
        let f = funcs.remove(&n).unwrap_or_default();
        out.push((db.name.clone(), n, f));
    }
    out
}
