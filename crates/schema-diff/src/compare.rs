//! Comparing two schema models: missing, extra and different objects,
//! column by column. Used by the precheck (does the target already hold
//! conflicting objects?) and to verify the schema after migration.
//!
//! Comparison looks at the semantic fields, never at `create_sql`.

use serde::{Deserialize, Serialize};

use crate::error::SchemaError;
use crate::model::*;
use crate::names::NameMap;
use crate::tokens::{tokenize, Rewriter};
use crate::translate::{
    map_collation, DefinerPolicy, Scope, TranslateOptions, Translator, Warning,
};

/// What differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiffKind {
    /// On the source side, not on the target.
    Missing,
    /// On the target side, not on the source.
    Extra,
    /// On both, with a different value of `field`.
    Different {
        /// The field (`type`, `default`, `parts`, `definition`, ...).
        field: String,
        /// The source side's value.
        source: String,
        /// The target side's value.
        target: String,
    },
}

/// One difference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// The object (named as on the source side).
    pub object: ObjectRef,
    /// The column, index, check or foreign key inside a table, when the
    /// difference is about one (`column a`, `index PRIMARY`).
    pub part: Option<String>,
    /// What differs.
    pub kind: DiffKind,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.object)?;
        if let Some(p) = &self.part {
            write!(f, " {p}")?;
        }
        match &self.kind {
            DiffKind::Missing => write!(f, ": missing on the target"),
            DiffKind::Extra => write!(f, ": only on the target"),
            DiffKind::Different {
                field,
                source,
                target,
            } => {
                write!(f, ": {field} differs: source {source:?}, target {target:?}")
            }
        }
    }
}

/// What comparison ignores.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompareOptions {
    /// Ignore DEFINER accounts (they change when the DEFINER is removed).
    pub ignore_definers: bool,
    /// Ignore the next AUTO_INCREMENT value (it moves with the data).
    pub ignore_auto_increment: bool,
    /// Ignore the status of events (a migration may create them disabled).
    pub ignore_event_status: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            ignore_definers: true,
            ignore_auto_increment: true,
            ignore_event_status: false,
        }
    }
}

struct Diffs<'a> {
    out: Vec<Difference>,
    object: Option<ObjectRef>,
    part: Option<String>,
    _m: std::marker::PhantomData<&'a ()>,
}

impl Diffs<'_> {
    fn field<T: std::fmt::Debug + PartialEq>(&mut self, name: &str, a: &T, b: &T) {
        if a != b {
            if let Some(o) = &self.object {
                self.out.push(Difference {
                    object: o.clone(),
                    part: self.part.clone(),
                    kind: DiffKind::Different {
                        field: name.to_string(),
                        source: format!("{a:?}"),
                        target: format!("{b:?}"),
                    },
                });
            }
        }
    }

    fn presence(&mut self, object: ObjectRef, part: Option<String>, kind: DiffKind) {
        self.out.push(Difference { object, part, kind });
    }
}

/// Compares objects matched by name (columns by name, case-insensitively).
pub fn compare(source: &Schema, target: &Schema, opts: &CompareOptions) -> Vec<Difference> {
    let mut d = Diffs {
        out: Vec::new(),
        object: None,
        part: None,
        _m: std::marker::PhantomData,
    };
    for sdb in &source.databases {
        let dbref = ObjectRef::new(ObjectKind::Database, &sdb.name, "");
        let Some(tdb) = target.database(&sdb.name) else {
            d.presence(dbref, None, DiffKind::Missing);
            continue;
        };
        d.object = Some(dbref);
        d.part = None;
        d.field("charset", &sdb.charset, &tdb.charset);
        d.field("collation", &sdb.collation, &tdb.collation);
        compare_tables(&mut d, sdb, tdb, opts);
        macro_rules! by_name {
            ($list:ident, $kind:expr, |$a:ident, $b:ident| $body:block) => {
                for $a in &sdb.$list {
                    let o = ObjectRef::new($kind, &sdb.name, &$a.name);
                    match tdb.$list.iter().find(|x| x.name == $a.name) {
                        None => d.presence(o, None, DiffKind::Missing),
                        Some($b) => {
                            d.object = Some(o);
                            d.part = None;
                            $body
                        }
                    }
                }
                for b in &tdb.$list {
                    if !sdb.$list.iter().any(|x| x.name == b.name) {
                        d.presence(
                            ObjectRef::new($kind, &sdb.name, &b.name),
                            None,
                            DiffKind::Extra,
                        );
                    }
                }
            };
        }
        by_name!(views, ObjectKind::View, |a, b| {
            d.field("definition", &a.definition, &b.definition);
            d.field("check option", &a.check_option, &b.check_option);
            d.field("security", &a.security_type, &b.security_type);
            d.field("algorithm", &a.algorithm, &b.algorithm);
            if !opts.ignore_definers {
                d.field("definer", &a.definer, &b.definer);
            }
        });
        by_name!(triggers, ObjectKind::Trigger, |a, b| {
            d.field("table", &a.table, &b.table);
            d.field("timing", &a.timing, &b.timing);
            d.field("event", &a.event, &b.event);
            d.field("order", &a.action_order, &b.action_order);
            d.field("body", &a.body, &b.body);
            d.field("sql_mode", &a.sql_mode, &b.sql_mode);
            if !opts.ignore_definers {
                d.field("definer", &a.definer, &b.definer);
            }
        });
        by_name!(routines, ObjectKind::Procedure, |a, b| {
            d.field("kind", &a.kind, &b.kind);
            d.field("parameters", &a.params, &b.params);
            d.field("returns", &a.returns, &b.returns);
            d.field("body", &a.body, &b.body);
            d.field("deterministic", &a.deterministic, &b.deterministic);
            d.field("data access", &a.data_access, &b.data_access);
            d.field("security", &a.security_type, &b.security_type);
            d.field("sql_mode", &a.sql_mode, &b.sql_mode);
            d.field("comment", &a.comment, &b.comment);
            if !opts.ignore_definers {
                d.field("definer", &a.definer, &b.definer);
            }
        });
        by_name!(events, ObjectKind::Event, |a, b| {
            d.field("body", &a.body, &b.body);
            d.field("type", &a.event_type, &b.event_type);
            d.field("execute at", &a.execute_at, &b.execute_at);
            d.field("interval", &a.interval, &b.interval);
            if !opts.ignore_event_status {
                d.field("status", &a.status, &b.status);
            }
            d.field("on completion", &a.on_completion, &b.on_completion);
            d.field("sql_mode", &a.sql_mode, &b.sql_mode);
            d.field("comment", &a.comment, &b.comment);
            if !opts.ignore_definers {
                d.field("definer", &a.definer, &b.definer);
            }
        });
    }
    for tdb in &target.databases {
        if source.database(&tdb.name).is_none() {
            d.presence(
                ObjectRef::new(ObjectKind::Database, &tdb.name, ""),
                None,
                DiffKind::Extra,
            );
        }
    }
    d.out
}

fn compare_tables(d: &mut Diffs<'_>, sdb: &Database, tdb: &Database, opts: &CompareOptions) {
    for a in &sdb.tables {
        let o = ObjectRef::new(ObjectKind::Table, &sdb.name, &a.name);
        let Some(b) = tdb.table(&a.name) else {
            d.presence(o, None, DiffKind::Missing);
            continue;
        };
        d.object = Some(o.clone());
        d.part = None;
        d.field("type", &a.table_type, &b.table_type);
        d.field("engine", &a.engine, &b.engine);
        d.field("collation", &a.collation, &b.collation);
        d.field("options", &a.create_options, &b.create_options);
        d.field("comment", &a.comment, &b.comment);
        d.field("partitioning", &a.partitioning, &b.partitioning);
        if !opts.ignore_auto_increment {
            d.field("auto_increment", &a.auto_increment, &b.auto_increment);
        }
        for (pos, ca) in a.columns.iter().enumerate() {
            let Some((tpos, cb)) = b
                .columns
                .iter()
                .enumerate()
                .find(|(_, c)| c.name.eq_ignore_ascii_case(&ca.name))
            else {
                d.presence(
                    o.clone(),
                    Some(format!("column {}", ca.name)),
                    DiffKind::Missing,
                );
                continue;
            };
            d.part = Some(format!("column {}", ca.name));
            d.field("position", &pos, &tpos);
            d.field("name", &ca.name, &cb.name);
            d.field("type", &ca.column_type, &cb.column_type);
            d.field("nullable", &ca.nullable, &cb.nullable);
            d.field("default", &ca.default, &cb.default);
            d.field("charset", &ca.charset, &cb.charset);
            d.field("collation", &ca.collation, &cb.collation);
            d.field("extra", &ca.extra, &cb.extra);
            d.field(
                "generated",
                &ca.generation_expression,
                &cb.generation_expression,
            );
            d.field("stored", &ca.generated_stored, &cb.generated_stored);
            d.field("invisible", &ca.invisible, &cb.invisible);
            d.field("comment", &ca.comment, &cb.comment);
        }
        for cb in &b.columns {
            if a.column(&cb.name).is_none() {
                d.presence(
                    o.clone(),
                    Some(format!("column {}", cb.name)),
                    DiffKind::Extra,
                );
            }
        }
        macro_rules! parts {
            ($list:ident, $what:literal, |$x:ident, $y:ident| $body:block) => {
                for $x in &a.$list {
                    let label = Some(format!(concat!($what, " {}"), $x.name));
                    match b.$list.iter().find(|z| z.name == $x.name) {
                        None => d.presence(o.clone(), label, DiffKind::Missing),
                        Some($y) => {
                            d.part = label;
                            $body
                        }
                    }
                }
                for z in &b.$list {
                    if !a.$list.iter().any(|x| x.name == z.name) {
                        d.presence(
                            o.clone(),
                            Some(format!(concat!($what, " {}"), z.name)),
                            DiffKind::Extra,
                        );
                    }
                }
            };
        }
        parts!(indexes, "index", |x, y| {
            d.field("kind", &x.kind, &y.kind);
            d.field("parts", &x.parts, &y.parts);
            d.field("index type", &x.index_type, &y.index_type);
            d.field("comment", &x.comment, &y.comment);
            d.field("visible", &x.visible, &y.visible);
        });
        parts!(checks, "check", |x, y| {
            d.field("clause", &x.clause, &y.clause);
        });
        parts!(foreign_keys, "foreign key", |x, y| {
            d.field("columns", &x.columns, &y.columns);
            d.field("referenced database", &x.ref_database, &y.ref_database);
            d.field("referenced table", &x.ref_table, &y.ref_table);
            d.field("referenced columns", &x.ref_columns, &y.ref_columns);
            d.field("on update", &x.on_update, &y.on_update);
            d.field("on delete", &x.on_delete, &y.on_delete);
        });
    }
    for b in &tdb.tables {
        if sdb.table(&b.name).is_none() {
            d.presence(
                ObjectRef::new(ObjectKind::Table, &sdb.name, &b.name),
                None,
                DiffKind::Extra,
            );
        }
    }
}

/// The model the target should have once the plan for `source` has run:
/// the source model with the intended changes applied (renames and the case
/// policy, SQL SECURITY INVOKER, mapped collations). Compare it with the
/// target's extracted model to verify a migration.
///
/// # Errors
///
/// When a stored text cannot be tokenized.
pub fn expected_target(source: &Schema, opts: &TranslateOptions) -> Result<Schema, SchemaError> {
    let names: &NameMap = &opts.names;
    let tr = Translator::new(source, opts);
    let mut warnings: Vec<Warning> = Vec::new();
    let invoker = opts.definer == DefinerPolicy::Invoker;
    let map_coll = |c: &Option<String>| {
        c.as_ref()
            .map(|c| map_collation(c, &opts.target).unwrap_or_else(|| c.clone()))
    };
    // Rewrites the references in a stored body.
    let refs = |text: &str,
                db: &str,
                trigger_table: Option<&str>,
                warnings: &mut Vec<Warning>|
     -> Result<String, SchemaError> {
        let t = tokenize(text)?;
        let toks = t.live(&opts.target);
        let mut rw = Rewriter::new(text);
        let scope = Scope { db, trigger_table };
        let obj = ObjectRef::new(ObjectKind::View, db, "");
        tr.rewrite_refs(&toks, 0..toks.len(), &scope, &mut rw, &obj, warnings);
        rw.finish()
    };
    // Renames the quoted identifiers of a table-level expression (CHECK,
    // generated column) that name columns of the table.
    let cols = |text: &str, db: &str, table: &str| -> Result<String, SchemaError> {
        let t = tokenize(text)?;
        let mut rw = Rewriter::new(text);
        let all = t.all();
        for (k, tok) in all.iter().enumerate() {
            let quoted = matches!(&tok.token, sqlparser::tokenizer::Token::Word(w) if w.quote_style == Some('`'));
            let names_partition = k
                .checked_sub(1)
                .and_then(|p| all.get(p))
                .is_some_and(|p| p.is_kw("PARTITION") || p.is_kw("SUBPARTITION"));
            if !quoted || names_partition {
                continue;
            }
            if let Some(id) = tok.ident() {
                let new = names.column(db, table, id);
                if new != id {
                    rw.replace(tok.span.clone(), crate::ident::quote(&new));
                }
            }
        }
        rw.finish()
    };
    let mut out = Schema {
        server: Some(opts.target.clone()),
        databases: Vec::new(),
    };
    for db in &source.databases {
        let s = &db.name;
        let mut n = db.clone();
        n.name = names.database(s);
        n.collation = map_coll(&Some(db.collation.clone())).unwrap_or_default();
        for t in &mut n.tables {
            let tn = t.name.clone();
            t.name = names.table(s, &tn);
            t.collation = map_coll(&t.collation);
            for c in &mut t.columns {
                c.collation = map_coll(&c.collation);
                if let Some(g) = &c.generation_expression {
                    c.generation_expression = Some(cols(g, s, &tn)?);
                }
                c.name = names.column(s, &tn, &c.name);
            }
            for ix in &mut t.indexes {
                for p in &mut ix.parts {
                    if let Some(c) = &p.column {
                        p.column = Some(names.column(s, &tn, c));
                    }
                }
            }
            for ck in &mut t.checks {
                ck.clause = cols(&ck.clause, s, &tn)?;
                // MariaDB names a column-level CHECK after its column.
                if t.columns.iter().any(|c| c.name == ck.name)
                    || source
                        .table(s, &tn)
                        .is_some_and(|st| st.column(&ck.name).is_some())
                {
                    ck.name = names.column(s, &tn, &ck.name);
                }
            }
            for fk in &mut t.foreign_keys {
                fk.columns = fk.columns.iter().map(|c| names.column(s, &tn, c)).collect();
                fk.ref_columns = fk
                    .ref_columns
                    .iter()
                    .map(|c| names.column(&fk.ref_database, &fk.ref_table, c))
                    .collect();
                fk.ref_table = names.table(&fk.ref_database, &fk.ref_table);
                fk.ref_database = names.database(&fk.ref_database);
            }
            if let Some(p) = &t.partitioning {
                t.partitioning = Some(cols(p, s, &tn)?);
            }
        }
        for v in &mut n.views {
            v.name = names.table(s, &v.name);
            v.definition = refs(&v.definition, s, None, &mut warnings)?;
            if invoker {
                v.security_type = "INVOKER".into();
            }
        }
        for t in &mut n.triggers {
            t.name = names.other(&t.name);
            t.body = refs(&t.body, s, Some(&t.table.clone()), &mut warnings)?;
            t.table = names.table(s, &t.table);
        }
        for r in &mut n.routines {
            r.name = names.other(&r.name);
            r.body = refs(&r.body, s, None, &mut warnings)?;
            if invoker {
                r.security_type = "INVOKER".into();
            }
        }
        for e in &mut n.events {
            e.name = names.other(&e.name);
            e.body = refs(&e.body, s, None, &mut warnings)?;
        }
        out.databases.push(n);
    }
    out.sort();
    Ok(out)
}
