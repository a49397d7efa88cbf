//! DDL translation for the target: token-level edits of each object's
//! `SHOW CREATE` text.
//!
//! - DEFINER: removed, and views, procedures and functions get SQL SECURITY
//!   INVOKER (the reference product's behaviour); or replaced by a
//!   configured account everywhere.
//! - Renames and the case policy: applied to the object's own name and to
//!   every reference whose meaning is unambiguous (qualified names, table
//!   positions after FROM/JOIN/INTO/UPDATE, `NEW.`/`OLD.` in triggers);
//!   a reference that may or may not name a renamed object is left as it is
//!   and reported as a warning.
//! - Character sets, collations, types and options the target lacks are
//!   mapped, each change reported as a warning; what has no mapping is an
//!   error naming the object and the construct.
//! - Foreign keys are cut out of CREATE TABLE and emitted as ALTER TABLE
//!   statements, to run after the data is loaded.
//!
//! Version guards are evaluated for the target: tokens in a guard the target
//! will not execute are left alone (they are comments to it); a guard it will
//! execute is edited like any other text.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use sqlparser::tokenizer::Token;

use crate::error::SchemaError;
use crate::ident::quote;
use crate::model::{Database, ObjectKind, ObjectRef, Routine, Schema, Table};
use crate::names::NameMap;
use crate::tokens::{tokenize, Guard, Rewriter, Tok, Tokens};
use crate::version::{Flavor, ServerVersion};

/// What happens to DEFINER clauses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DefinerPolicy {
    /// Remove DEFINER (the creating account becomes the definer) and set
    /// SQL SECURITY INVOKER on views, procedures and functions, so they run
    /// with the caller's rights.
    #[default]
    Invoker,
    /// Replace every DEFINER with this account, written as SQL
    /// (`` `dts`@`%` ``); SQL SECURITY is kept.
    Account(String),
}

/// How to translate.
#[derive(Clone, Debug)]
pub struct TranslateOptions {
    /// The target server.
    pub target: ServerVersion,
    /// Renames and the case policy.
    pub names: NameMap,
    /// What happens to DEFINER clauses.
    pub definer: DefinerPolicy,
}

/// Something translation changed or could not decide, for the user to read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// The source object it is about.
    pub object: ObjectRef,
    /// What was changed, or what may need a manual fix.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.object, self.message)
    }
}

/// A translated table: its CREATE TABLE without foreign keys, and one
/// `ALTER TABLE ... ADD CONSTRAINT` per foreign key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranslatedTable {
    /// CREATE TABLE without the foreign keys.
    pub create: String,
    /// (constraint name, ALTER TABLE statement) per foreign key.
    pub foreign_keys: Vec<(String, String)>,
}

/// Translates objects of one source schema for one target.
pub struct Translator<'a> {
    source: &'a Schema,
    opts: &'a TranslateOptions,
}

fn shape(object: &ObjectRef, reason: &str, text: &str) -> SchemaError {
    SchemaError::Shape {
        object: object.to_string(),
        reason: reason.to_string(),
        text: text.chars().take(160).collect(),
    }
}

fn is_ident(t: &Tok) -> bool {
    matches!(&t.token, Token::Word(w) if w.quote_style.is_none() || w.quote_style == Some('`'))
}

fn is_period(t: Option<&Tok>) -> bool {
    matches!(t.map(|t| &t.token), Some(Token::Period))
}

/// Index of the token closing the parenthesis opened at `open`.
fn matching_paren(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0i64;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

impl<'a> Translator<'a> {
    /// A translator for objects of `source`.
    pub fn new(source: &'a Schema, opts: &'a TranslateOptions) -> Self {
        Translator { source, opts }
    }

    fn target(&self) -> &ServerVersion {
        &self.opts.target
    }

    fn names(&self) -> &NameMap {
        &self.opts.names
    }

    /// The tokens of `text` that the target executes.
    fn live(&self, text: &str) -> Result<(Tokens, Vec<Tok>), SchemaError> {
        let t = tokenize(text)?;
        let live = t.live(self.target());
        Ok((t, live))
    }

    fn is_table_or_view(&self, db: &str, name: &str) -> bool {
        self.source
            .database(db)
            .is_some_and(|d| d.table(name).is_some() || d.views.iter().any(|v| v.name == name))
    }

    /// The database's CREATE DATABASE.
    ///
    /// # Errors
    ///
    /// When the text cannot be tokenized or has an unmappable construct.
    pub fn database(
        &self,
        db: &Database,
        warnings: &mut Vec<Warning>,
    ) -> Result<String, SchemaError> {
        let object = ObjectRef::new(ObjectKind::Database, &db.name, "");
        let text = &db.create_sql;
        let (all, toks) = self.live(text)?;
        let mut rw = Rewriter::new(text);
        let pos = toks
            .iter()
            .position(|t| t.is_kw("DATABASE") || t.is_kw("SCHEMA"))
            .ok_or_else(|| shape(&object, "no DATABASE keyword", text))?;
        let mut i = pos + 1;
        while toks
            .get(i)
            .is_some_and(|t| t.is_kw("IF") || t.is_kw("NOT") || t.is_kw("EXISTS"))
        {
            i += 1;
        }
        let name = toks
            .get(i)
            .filter(|t| is_ident(t))
            .ok_or_else(|| shape(&object, "no database name", text))?;
        let new = self.names().database(&db.name);
        if new != db.name {
            rw.replace(name.span.clone(), quote(&new));
        }
        // MariaDB's database COMMENT (10.5 and later) has no MySQL syntax.
        if self.target().flavor == Flavor::MySql {
            if let Some(c) = toks
                .iter()
                .position(|t| t.is_kw("COMMENT") && t.guard.is_none())
            {
                let value = if toks.get(c + 1).map(|t| &t.token) == Some(&Token::Eq) {
                    c + 2
                } else {
                    c + 1
                };
                if let (Some(a), Some(b)) = (toks.get(c), toks.get(value)) {
                    warnings.push(Warning {
                        object: object.clone(),
                        message: format!(
                            "{} dropped: {} databases have no comment",
                            text.get(a.span.start..b.span.end).unwrap_or_default(),
                            self.target()
                        ),
                    });
                    rw.replace(a.span.start..b.span.end, "");
                }
            }
        }
        self.map_charsets(text, &all, &toks, &object, &mut rw, warnings)?;
        self.lift_guards(text, &all, &object, &mut rw, warnings);
        rw.finish()
    }

    /// A table's CREATE TABLE (foreign keys cut out) and its foreign keys.
    ///
    /// # Errors
    ///
    /// When the text cannot be tokenized, does not have the shape SHOW
    /// CREATE TABLE prints, or uses something the target lacks.
    pub fn table(
        &self,
        db: &str,
        table: &Table,
        warnings: &mut Vec<Warning>,
    ) -> Result<TranslatedTable, SchemaError> {
        let object = ObjectRef::new(ObjectKind::Table, db, &table.name);
        let text = &table.create_sql;
        let (all, toks) = self.live(text)?;
        self.check_table_support(table, &toks, &object)?;
        let mut rw = Rewriter::new(text);
        let names = self.names();
        let tpos = toks
            .iter()
            .position(|t| t.is_kw("TABLE") || t.is_kw("SEQUENCE"))
            .ok_or_else(|| shape(&object, "no TABLE keyword", text))?;
        let mut i = tpos + 1;
        while toks
            .get(i)
            .is_some_and(|t| t.is_kw("IF") || t.is_kw("NOT") || t.is_kw("EXISTS"))
        {
            i += 1;
        }
        // The table name, maybe qualified.
        if is_period(toks.get(i + 1)) {
            i += 2;
        }
        let name_tok = toks
            .get(i)
            .filter(|t| is_ident(t))
            .ok_or_else(|| shape(&object, "no table name", text))?;
        let new_name = names.table(db, &table.name);
        if new_name != table.name {
            rw.replace(name_tok.span.clone(), quote(&new_name));
        }
        let mut fks = Vec::new();
        let open = i + 1;
        let body_end = if toks.get(open).map(|t| &t.token) == Some(&Token::LParen) {
            let close = matching_paren(&toks, open)
                .ok_or_else(|| shape(&object, "unbalanced parentheses", text))?;
            self.table_elements(
                db, table, text, &all, &toks, open, close, &mut rw, &mut fks, warnings,
            )?;
            close
        } else {
            open
        };
        // Options and partitioning: quoted identifiers are column names
        // (partition expressions), except the names after PARTITION and
        // SUBPARTITION.
        let mut j = body_end + 1;
        while let Some(t) = toks.get(j) {
            let prev_names_partition = j
                .checked_sub(1)
                .and_then(|p| toks.get(p))
                .is_some_and(|p| p.is_kw("PARTITION") || p.is_kw("SUBPARTITION"));
            if !prev_names_partition && is_quoted(t) && !is_period(toks.get(j + 1)) {
                self.rename_column_tok(db, &table.name, t, &mut rw);
            }
            j += 1;
        }
        self.map_charsets(text, &all, &toks, &object, &mut rw, warnings)?;
        self.map_table_options(text, &all, &toks, &object, &mut rw, warnings)?;
        self.lift_guards(text, &all, &object, &mut rw, warnings);
        let create = rw.finish()?;
        let qualified = quote(&new_name);
        let foreign_keys = fks
            .into_iter()
            .map(|(name, element)| (name, format!("ALTER TABLE {qualified} ADD {element}")))
            .collect();
        Ok(TranslatedTable {
            create,
            foreign_keys,
        })
    }

    fn rename_column_tok(&self, db: &str, table: &str, t: &Tok, rw: &mut Rewriter<'_>) {
        if let Some(name) = t.ident() {
            if self.names().column_really_renamed(db, table, name)
                || self.names().column(db, table, name) != name
            {
                rw.replace(t.span.clone(), quote(&self.names().column(db, table, name)));
            }
        }
    }

    /// Edits the elements between `open` and `close` (the parentheses of
    /// CREATE TABLE): column names, key parts, CHECK and generated
    /// expressions; cuts out foreign keys into `fks`.
    #[allow(clippy::too_many_arguments)]
    fn table_elements(
        &self,
        db: &str,
        table: &Table,
        text: &str,
        all: &Tokens,
        toks: &[Tok],
        open: usize,
        close: usize,
        rw: &mut Rewriter<'_>,
        fks: &mut Vec<(String, String)>,
        warnings: &mut Vec<Warning>,
    ) -> Result<(), SchemaError> {
        let object = ObjectRef::new(ObjectKind::Table, db, &table.name);
        // Split at depth-1 commas.
        let mut elements: Vec<Range<usize>> = Vec::new();
        let mut depth = 0i64;
        let mut start = open + 1;
        for (k, t) in toks.iter().enumerate().take(close).skip(open + 1) {
            match t.token {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                Token::Comma if depth == 0 => {
                    elements.push(start..k);
                    start = k + 1;
                }
                _ => {}
            }
        }
        elements.push(start..close);
        for (n, el) in elements.iter().enumerate() {
            let Some(first) = toks.get(el.start) else {
                continue;
            };
            let kw = first.keyword().unwrap_or_default();
            let second_is_fk = toks.get(el.start + 2).is_some_and(|t| t.is_kw("FOREIGN"))
                || toks.get(el.start + 1).is_some_and(|t| t.is_kw("FOREIGN"));
            if (kw == "CONSTRAINT" && second_is_fk) || kw == "FOREIGN" {
                let fk_text = self.foreign_key_element(db, table, text, toks, el.clone())?;
                let name = if kw == "CONSTRAINT" {
                    toks.get(el.start + 1)
                        .and_then(|t| t.ident().map(str::to_string))
                        .unwrap_or_default()
                } else {
                    String::new()
                };
                fks.push((name, fk_text));
                // Cut from the comma before the element (there is always a
                // column before a foreign key) to its end.
                let (Some(last), Some(prev)) = (
                    el.end.checked_sub(1).and_then(|e| toks.get(e)),
                    n.checked_sub(1).and_then(|p| elements.get(p)),
                ) else {
                    return Err(shape(
                        &ObjectRef::new(ObjectKind::Table, db, &table.name),
                        "a foreign key is the first element",
                        text,
                    ));
                };
                let comma = toks
                    .get(prev.end)
                    .map(|t| t.span.start)
                    .unwrap_or(first.span.start);
                rw.replace(comma..last.span.end, "");
                continue;
            }
            // A CHECK the source does not enforce (`/*!80016 NOT ENFORCED
            // */`) on a target that would enforce it: not created, since
            // rows the source accepted may violate it.
            if kw == "CONSTRAINT" || kw == "CHECK" {
                if let Some(g) = self.unenforced_check(text, all, toks, el.clone()) {
                    let (Some(last), Some(prev)) = (
                        el.end.checked_sub(1).and_then(|e| toks.get(e)),
                        n.checked_sub(1).and_then(|p| elements.get(p)),
                    ) else {
                        return Err(shape(&object, "a CHECK is the first element", text));
                    };
                    let comma = toks
                        .get(prev.end)
                        .map(|t| t.span.start)
                        .unwrap_or(first.span.start);
                    let end = g.span.end.max(last.span.end);
                    warnings.push(Warning {
                        object: object.clone(),
                        message: format!(
                            "{} is not enforced on the source; {} enforces every CHECK \
                             constraint, so it is not created",
                            text.get(first.span.start..last.span.end)
                                .unwrap_or_default(),
                            self.target()
                        ),
                    });
                    rw.replace(comma..end, "");
                    continue;
                }
            }
            // MariaDB refuses NULL/NOT NULL on a generated column: the
            // source's NOT NULL becomes the CHECK that means the same.
            if self.target().flavor == Flavor::MariaDb && is_quoted(first) {
                self.generated_not_null(db, table, toks, el.clone(), rw, &object, warnings);
            }
            // Names that are not columns: index and constraint names.
            let mut skip: Vec<usize> = Vec::new();
            match kw.as_str() {
                "CONSTRAINT" => skip.push(el.start + 1),
                "KEY" | "INDEX" => skip.push(el.start + 1),
                "UNIQUE" | "FULLTEXT" | "SPATIAL" => {
                    let mut k = el.start + 1;
                    if toks
                        .get(k)
                        .is_some_and(|t| t.is_kw("KEY") || t.is_kw("INDEX"))
                    {
                        k += 1;
                    }
                    skip.push(k);
                }
                "PERIOD" => skip.push(el.start + 2),
                _ => {}
            }
            for k in el.clone() {
                if skip.contains(&k) {
                    continue;
                }
                let Some(t) = toks.get(k) else { continue };
                // A column definition starts with the column's name; other
                // quoted identifiers in the element are column references.
                let is_def_name = k == el.start
                    && !matches!(
                        kw.as_str(),
                        "PRIMARY"
                            | "KEY"
                            | "INDEX"
                            | "UNIQUE"
                            | "FULLTEXT"
                            | "SPATIAL"
                            | "CONSTRAINT"
                            | "FOREIGN"
                            | "CHECK"
                            | "PERIOD"
                    );
                if (is_quoted(t) || is_def_name && is_ident(t))
                    && !is_period(toks.get(k + 1))
                    && !is_period(k.checked_sub(1).and_then(|p| toks.get(p)))
                {
                    self.rename_column_tok(db, &table.name, t, rw);
                }
            }
        }
        Ok(())
    }

    /// Whether the source executes guard `g` (a server prints guards only
    /// around what it runs, so an unknown source is taken to run it).
    fn source_runs(&self, g: &Guard) -> bool {
        self.source.server.as_ref().is_none_or(|s| g.executes_on(s))
    }

    /// The `/*!80016 NOT ENFORCED */` guard right after the CHECK element
    /// `el`, when the source runs it and the target does not (so the target
    /// would enforce the constraint).
    fn unenforced_check<'t>(
        &self,
        text: &str,
        all: &'t Tokens,
        toks: &[Tok],
        el: Range<usize>,
    ) -> Option<&'t Guard> {
        let last = el.end.checked_sub(1).and_then(|e| toks.get(e))?;
        let next = toks.get(el.end).map_or(text.len(), |t| t.span.start);
        all.guards.iter().enumerate().find_map(|(gi, g)| {
            let inner: Vec<&Tok> = all.toks.iter().filter(|t| t.guard == Some(gi)).collect();
            let is_not_enforced = inner.len() == 2
                && inner.first().is_some_and(|t| t.is_kw("NOT"))
                && inner.get(1).is_some_and(|t| t.is_kw("ENFORCED"));
            (g.span.start >= last.span.end
                && g.span.end <= next
                && is_not_enforced
                && self.source_runs(g)
                && !g.executes_on(self.target()))
            .then_some(g)
        })
    }

    /// On MariaDB, which refuses NOT NULL on a generated column: the column
    /// element `el`'s `NOT NULL` after `GENERATED ALWAYS AS (...)` written as
    /// `CHECK (col IS NOT NULL)`, which refuses the same rows.
    #[allow(clippy::too_many_arguments)]
    fn generated_not_null(
        &self,
        db: &str,
        table: &Table,
        toks: &[Tok],
        el: Range<usize>,
        rw: &mut Rewriter<'_>,
        object: &ObjectRef,
        warnings: &mut Vec<Warning>,
    ) {
        let Some(name) = toks.get(el.start).and_then(Tok::ident) else {
            return;
        };
        // The generation expression: `AS (` after GENERATED ALWAYS or alone.
        let Some(as_at) = (el.start..el.end).find(|k| {
            toks.get(*k).is_some_and(|t| t.is_kw("AS"))
                && toks.get(k + 1).map(|t| &t.token) == Some(&Token::LParen)
        }) else {
            return;
        };
        let Some(close) = matching_paren(toks, as_at + 1).filter(|c| *c < el.end) else {
            return;
        };
        let Some(not) = (close + 1..el.end).find(|k| {
            toks.get(*k).is_some_and(|t| t.is_kw("NOT"))
                && toks.get(k + 1).is_some_and(|t| t.is_kw("NULL"))
        }) else {
            return;
        };
        let (Some(a), Some(b)) = (toks.get(not), toks.get(not + 1)) else {
            return;
        };
        let col = quote(&self.names().column(db, &table.name, name));
        rw.replace(
            a.span.start..b.span.end,
            format!("CHECK ({col} IS NOT NULL)"),
        );
        warnings.push(Warning {
            object: object.clone(),
            message: format!(
                "generated column {}: NOT NULL written as CHECK ({col} IS NOT NULL) ({} \
                 refuses NOT NULL on generated columns)",
                quote(name),
                self.target()
            ),
        });
    }

    /// Guards the source runs and the target does not (MariaDB ignores
    /// MySQL's `/*!50700 */` to `/*!99999 */`; MySQL ignores `/*M!...*/`):
    /// what they hold is part of the source's definition. Known contents
    /// are written in the target's own syntax (an invisible column, an
    /// invisible index, a column's SRID); any other is left as the comment
    /// it is to the target, and reported. A NOT ENFORCED CHECK is handled
    /// with its element ([`Translator::unenforced_check`]).
    fn lift_guards(
        &self,
        text: &str,
        all: &Tokens,
        object: &ObjectRef,
        rw: &mut Rewriter<'_>,
        warnings: &mut Vec<Warning>,
    ) {
        let target = self.target();
        let mut warn = |m: String| {
            warnings.push(Warning {
                object: object.clone(),
                message: m,
            })
        };
        for (gi, g) in all.guards.iter().enumerate() {
            if !self.source_runs(g) || g.executes_on(target) {
                continue;
            }
            let guard_text = text.get(g.span.clone()).unwrap_or_default();
            let inner: Vec<(usize, &Tok)> = all
                .toks
                .iter()
                .enumerate()
                .filter(|(_, t)| t.guard == Some(gi))
                .collect();
            let kws: Vec<String> = inner
                .iter()
                .map(|(_, t)| t.keyword().unwrap_or_default())
                .collect();
            let kws: Vec<&str> = kws.iter().map(String::as_str).collect();
            let first = inner.first().map(|(k, _)| *k).unwrap_or_default();
            match kws.as_slice() {
                ["NOT", "ENFORCED"] => {}
                ["INVISIBLE"] if element_is_index(&all.toks, first) => {
                    let name = element_name(&all.toks, first);
                    if target.flavor == Flavor::MariaDb && target.at_least(10, 6) {
                        rw.replace(g.span.clone(), "IGNORED");
                        warn(format!(
                            "index {name}: {guard_text} is a comment to {target}; written as \
                             IGNORED"
                        ));
                    } else {
                        warn(format!(
                            "index {name} is invisible on the source; {target} has no \
                             invisible indexes, so it is visible there"
                        ));
                    }
                }
                ["INVISIBLE"] => {
                    let name = element_name(&all.toks, first);
                    if target.flavor == Flavor::MariaDb && target.at_least_patch(10, 3, 3) {
                        rw.replace(g.span.clone(), "INVISIBLE");
                        warn(format!(
                            "column {name}: {guard_text} is a comment to {target}; written as \
                             INVISIBLE"
                        ));
                    } else {
                        warn(format!(
                            "column {name} is invisible on the source; {target} has no \
                             invisible columns, so it is visible there"
                        ));
                    }
                }
                ["SRID", ""] if target.flavor == Flavor::MariaDb => {
                    let name = element_name(&all.toks, first);
                    let srid = inner
                        .get(1)
                        .and_then(|(_, t)| text.get(t.span.clone()))
                        .unwrap_or_default();
                    // REF_SYSTEM_ID belongs right after the type, before
                    // NOT NULL, where MySQL prints its SRID.
                    match column_type_end(&all.toks, first) {
                        Some(at) => {
                            rw.replace(g.span.clone(), "");
                            rw.insert(at, format!(" REF_SYSTEM_ID={srid}"));
                            warn(format!(
                                "column {name}: SRID {srid} written as MariaDB's \
                                 REF_SYSTEM_ID={srid}"
                            ));
                        }
                        None => warn(format!(
                            "column {name}: {guard_text} is a comment to {target}; its SRID \
                             is not kept"
                        )),
                    }
                }
                _ => warn(format!(
                    "{guard_text} is a comment to {target}: what it says on the source is not \
                     reproduced"
                )),
            }
        }
    }

    /// The text of a foreign key element with renames applied.
    fn foreign_key_element(
        &self,
        db: &str,
        table: &Table,
        text: &str,
        toks: &[Tok],
        el: Range<usize>,
    ) -> Result<String, SchemaError> {
        let object = ObjectRef::new(ObjectKind::Table, db, &table.name);
        let (Some(first), Some(last)) = (
            toks.get(el.start),
            el.end.checked_sub(1).and_then(|e| toks.get(e)),
        ) else {
            return Err(shape(&object, "empty foreign key", text));
        };
        let base = first.span.start;
        let el_text = text
            .get(base..last.span.end)
            .ok_or_else(|| shape(&object, "foreign key span", text))?;
        let mut rw = Rewriter::new(el_text);
        let rel = |t: &Tok| (t.span.start - base)..(t.span.end - base);
        let refs = (el.start..el.end)
            .find(|k| toks.get(*k).is_some_and(|t| t.is_kw("REFERENCES")))
            .ok_or_else(|| shape(&object, "foreign key without REFERENCES", text))?;
        // Own columns: inside the parentheses after FOREIGN KEY [name].
        let fk_kw = (el.start..refs)
            .find(|k| toks.get(*k).is_some_and(|t| t.is_kw("FOREIGN")))
            .unwrap_or(el.start);
        for k in fk_kw..refs {
            let Some(t) = toks.get(k) else { continue };
            let in_parens =
                (fk_kw..k).any(|p| toks.get(p).map(|t| &t.token) == Some(&Token::LParen));
            if in_parens && is_ident(t) {
                let new = self
                    .names()
                    .column(db, &table.name, t.ident().unwrap_or_default());
                if Some(new.as_str()) != t.ident() {
                    rw.replace(rel(t), quote(&new));
                }
            }
        }
        // Referenced table, maybe qualified, then its columns.
        let mut k = refs + 1;
        let (ref_db, ref_table, db_tok) = match (toks.get(k), toks.get(k + 1), toks.get(k + 2)) {
            (Some(a), Some(p), Some(b)) if p.token == Token::Period => {
                k += 2;
                (
                    a.ident().unwrap_or_default().to_string(),
                    b.ident().unwrap_or_default().to_string(),
                    Some(a),
                )
            }
            (Some(a), _, _) => (
                db.to_string(),
                a.ident().unwrap_or_default().to_string(),
                None,
            ),
            _ => return Err(shape(&object, "no referenced table", text)),
        };
        if let Some(d) = db_tok {
            let new = self.names().database(&ref_db);
            if new != ref_db {
                rw.replace(rel(d), quote(&new));
            }
        }
        if let Some(tt) = toks.get(k) {
            let new = self.names().table(&ref_db, &ref_table);
            if new != ref_table {
                rw.replace(rel(tt), quote(&new));
            }
        }
        if let Some(close) = matching_paren(toks, k + 1).filter(|c| *c < el.end) {
            for q in (k + 2)..close {
                let Some(t) = toks.get(q) else { continue };
                if is_ident(t) {
                    let new =
                        self.names()
                            .column(&ref_db, &ref_table, t.ident().unwrap_or_default());
                    if Some(new.as_str()) != t.ident() {
                        rw.replace(rel(t), quote(&new));
                    }
                }
            }
        }
        rw.finish()
    }

    /// A view's CREATE VIEW.
    ///
    /// # Errors
    ///
    /// When the text cannot be tokenized, has an unexpected shape or an
    /// unmappable construct.
    pub fn view(
        &self,
        db: &str,
        view: &crate::model::View,
        warnings: &mut Vec<Warning>,
    ) -> Result<String, SchemaError> {
        let object = ObjectRef::new(ObjectKind::View, db, &view.name);
        self.simple_object(db, &object, &view.create_sql, "VIEW", "AS", true, warnings)
    }

    /// The shared shape of CREATE VIEW and CREATE EVENT: `keyword` after
    /// the DEFINER, then the object's name, then `body_kw` and a body whose
    /// references are rewritten. `invoker` sets SQL SECURITY INVOKER where
    /// the DEFINER is removed.
    #[allow(clippy::too_many_arguments)]
    fn simple_object(
        &self,
        db: &str,
        object: &ObjectRef,
        text: &str,
        keyword: &str,
        body_kw: &str,
        invoker: bool,
        warnings: &mut Vec<Warning>,
    ) -> Result<String, SchemaError> {
        let (all, toks) = self.live(text)?;
        let mut rw = Rewriter::new(text);
        let kpos = toks
            .iter()
            .position(|t| t.is_kw(keyword))
            .ok_or_else(|| shape(object, &format!("no {keyword} keyword"), text))?;
        self.definer(&toks, kpos, &mut rw, invoker);
        let after =
            self.rename_object_name(db, &toks, kpos + 1, object.kind, &mut rw, object, text)?;
        let body = (after..toks.len())
            .find(|k| toks.get(*k).is_some_and(|t| t.is_kw(body_kw)))
            .ok_or_else(|| shape(object, &format!("no {body_kw}"), text))?;
        let scope = Scope {
            db,
            trigger_table: None,
        };
        self.rewrite_refs(
            &toks,
            body + 1..toks.len(),
            &scope,
            &mut rw,
            object,
            warnings,
        );
        self.map_charsets(text, &all, &toks, object, &mut rw, warnings)?;
        rw.finish()
    }

    /// Renames an object's name token(s) at `at` (maybe `db`.`name`);
    /// returns the index after the name.
    #[allow(clippy::too_many_arguments)]
    fn rename_object_name(
        &self,
        db: &str,
        toks: &[Tok],
        at: usize,
        kind: ObjectKind,
        rw: &mut Rewriter<'_>,
        object: &ObjectRef,
        text: &str,
    ) -> Result<usize, SchemaError> {
        let mut i = at;
        while toks
            .get(i)
            .is_some_and(|t| t.is_kw("IF") || t.is_kw("NOT") || t.is_kw("EXISTS"))
        {
            i += 1;
        }
        let first = toks
            .get(i)
            .filter(|t| is_ident(t))
            .ok_or_else(|| shape(object, "no object name", text))?;
        let (db_tok, name_tok, next) = if is_period(toks.get(i + 1)) {
            let n = toks
                .get(i + 2)
                .ok_or_else(|| shape(object, "no object name", text))?;
            (Some(first), n, i + 3)
        } else {
            (None, first, i + 1)
        };
        let name = name_tok.ident().unwrap_or_default();
        if let Some(d) = db_tok {
            let old = d.ident().unwrap_or_default();
            let new = self.names().database(old);
            if new != old {
                rw.replace(d.span.clone(), quote(&new));
            }
        }
        let new = match kind {
            ObjectKind::Table | ObjectKind::View => self.names().table(db, name),
            _ => self.names().other(name),
        };
        if new != name {
            rw.replace(name_tok.span.clone(), quote(&new));
        }
        Ok(next)
    }

    /// Handles the DEFINER clause before token `before` (the object
    /// keyword) and, for views, SQL SECURITY.
    fn definer(&self, toks: &[Tok], before: usize, rw: &mut Rewriter<'_>, is_view: bool) {
        let head = toks.get(..before).unwrap_or_default();
        if let Some(d) = head.iter().position(|t| t.is_kw("DEFINER")) {
            if let Some(end) = definer_end(toks, d) {
                let (Some(dt), Some(et)) = (toks.get(d), toks.get(end)) else {
                    return;
                };
                match &self.opts.definer {
                    DefinerPolicy::Invoker => rw.replace(dt.span.start..et.span.end, ""),
                    DefinerPolicy::Account(acct) => {
                        if let Some(v) = toks.get(d + 2) {
                            rw.replace(v.span.start..et.span.end, acct.clone());
                        }
                    }
                }
            }
        }
        if is_view && self.opts.definer == DefinerPolicy::Invoker {
            match head.iter().enumerate().find(|(k, t)| {
                t.is_kw("SQL") && head.get(k + 1).is_some_and(|n| n.is_kw("SECURITY"))
            }) {
                Some((k, _)) => {
                    if let Some(v) = head.get(k + 2) {
                        rw.replace(v.span.clone(), "INVOKER");
                    }
                }
                None => {
                    if let Some(v) = toks.get(before) {
                        rw.insert(v.span.start, "SQL SECURITY INVOKER ");
                    }
                }
            }
        }
    }

    /// A procedure's or function's CREATE statement.
    ///
    /// # Errors
    ///
    /// When the text cannot be tokenized or has an unexpected shape.
    pub fn routine(
        &self,
        db: &str,
        routine: &Routine,
        warnings: &mut Vec<Warning>,
    ) -> Result<String, SchemaError> {
        let kind = match routine.kind {
            crate::model::RoutineKind::Procedure => ObjectKind::Procedure,
            crate::model::RoutineKind::Function => ObjectKind::Function,
        };
        let object = ObjectRef::new(kind, db, &routine.name);
        let text = &routine.create_sql;
        let (all, toks) = self.live(text)?;
        let mut rw = Rewriter::new(text);
        let kpos = toks
            .iter()
            .position(|t| t.is_kw(routine.kind.keyword()))
            .ok_or_else(|| shape(&object, "no PROCEDURE/FUNCTION keyword", text))?;
        self.definer(&toks, kpos, &mut rw, false);
        let after_name =
            self.rename_object_name(db, &toks, kpos + 1, kind, &mut rw, &object, text)?;
        if toks.get(after_name).map(|t| &t.token) != Some(&Token::LParen) {
            return Err(shape(&object, "no parameter list", text));
        }
        let close = matching_paren(&toks, after_name)
            .ok_or_else(|| shape(&object, "unbalanced parameter list", text))?;
        let mut j = close + 1;
        if toks.get(j).is_some_and(|t| t.is_kw("RETURNS")) {
            j = skip_type(&toks, j + 1);
        }
        // Characteristics, then the body.
        let mut security = None;
        while let Some(t) = toks.get(j) {
            let kw = t.keyword().unwrap_or_default();
            let next = |n: usize| toks.get(j + n).and_then(Tok::keyword).unwrap_or_default();
            let step = match kw.as_str() {
                "COMMENT" | "LANGUAGE" => 2,
                "DETERMINISTIC" => 1,
                "NOT" if next(1) == "DETERMINISTIC" => 2,
                "CONTAINS" | "NO" if next(1) == "SQL" => 2,
                "READS" | "MODIFIES" if next(1) == "SQL" => 3,
                "SQL" if next(1) == "SECURITY" => {
                    security = Some(j + 2);
                    3
                }
                _ => break,
            };
            j += step;
        }
        if self.opts.definer == DefinerPolicy::Invoker {
            match security.and_then(|s| toks.get(s)) {
                Some(s) => rw.replace(s.span.clone(), "INVOKER"),
                None => {
                    let at = toks.get(j).map_or(text.len(), |t| t.span.start);
                    rw.insert(at, "SQL SECURITY INVOKER\n");
                }
            }
        }
        let scope = Scope {
            db,
            trigger_table: None,
        };
        self.rewrite_refs(&toks, j..toks.len(), &scope, &mut rw, &object, warnings);
        self.map_charsets(text, &all, &toks, &object, &mut rw, warnings)?;
        rw.finish()
    }

    /// A trigger's CREATE TRIGGER.
    ///
    /// # Errors
    ///
    /// When the text cannot be tokenized or has an unexpected shape.
    pub fn trigger(
        &self,
        db: &str,
        trigger: &crate::model::Trigger,
        warnings: &mut Vec<Warning>,
    ) -> Result<String, SchemaError> {
        let object = ObjectRef::new(ObjectKind::Trigger, db, &trigger.name);
        let text = &trigger.create_sql;
        let (all, toks) = self.live(text)?;
        let mut rw = Rewriter::new(text);
        let kpos = toks
            .iter()
            .position(|t| t.is_kw("TRIGGER"))
            .ok_or_else(|| shape(&object, "no TRIGGER keyword", text))?;
        self.definer(&toks, kpos, &mut rw, false);
        let after = self.rename_object_name(
            db,
            &toks,
            kpos + 1,
            ObjectKind::Trigger,
            &mut rw,
            &object,
            text,
        )?;
        let on = (after..toks.len())
            .find(|k| toks.get(*k).is_some_and(|t| t.is_kw("ON")))
            .ok_or_else(|| shape(&object, "no ON table", text))?;
        self.rename_object_name(db, &toks, on + 1, ObjectKind::Table, &mut rw, &object, text)?;
        let body = (on..toks.len())
            .find(|k| {
                toks.get(*k).is_some_and(|t| t.is_kw("ROW"))
                    && k.checked_sub(1)
                        .and_then(|p| toks.get(p))
                        .is_some_and(|t| t.is_kw("EACH"))
            })
            .map_or(on + 2, |k| k + 1);
        // FOLLOWS / PRECEDES name another trigger: only the case policy.
        let mut start = body;
        if toks
            .get(body)
            .is_some_and(|t| t.is_kw("FOLLOWS") || t.is_kw("PRECEDES"))
        {
            if let Some(t) = toks.get(body + 1) {
                let n = t.ident().unwrap_or_default();
                let new = self.names().other(n);
                if new != n {
                    rw.replace(t.span.clone(), quote(&new));
                }
            }
            start = body + 2;
        }
        let scope = Scope {
            db,
            trigger_table: Some(&trigger.table),
        };
        self.rewrite_refs(&toks, start..toks.len(), &scope, &mut rw, &object, warnings);
        self.map_charsets(text, &all, &toks, &object, &mut rw, warnings)?;
        rw.finish()
    }

    /// An event's CREATE EVENT.
    ///
    /// # Errors
    ///
    /// When the text cannot be tokenized or has an unexpected shape.
    pub fn event(
        &self,
        db: &str,
        event: &crate::model::Event,
        warnings: &mut Vec<Warning>,
    ) -> Result<String, SchemaError> {
        let object = ObjectRef::new(ObjectKind::Event, db, &event.name);
        self.simple_object(
            db,
            &object,
            &event.create_sql,
            "EVENT",
            "DO",
            false,
            warnings,
        )
    }

    /// Applies renames to references in `toks[range]`: qualified names are
    /// resolved; bare names in table positions (after FROM, JOIN, INTO,
    /// UPDATE, TABLE, and in FROM lists) name tables; `NEW.x`/`OLD.x` in a
    /// trigger name the trigger's table's columns. Other bare names that
    /// match a renamed table or column are left and reported.
    pub(crate) fn rewrite_refs(
        &self,
        toks: &[Tok],
        range: Range<usize>,
        scope: &Scope<'_>,
        rw: &mut Rewriter<'_>,
        object: &ObjectRef,
        warnings: &mut Vec<Warning>,
    ) {
        let names = self.names();
        if names.is_identity() {
            return;
        }
        // Pass 1: table references and their aliases.
        let mut aliases: Vec<(String, (String, String))> = Vec::new();
        let mut table_pos: Vec<usize> = Vec::new();
        let mut column_list: Vec<usize> = Vec::new();
        let mut depth = 0i64;
        let mut from_depth: Option<i64> = None;
        let mut expect_table = false;
        let mut k = range.start;
        while k < range.end {
            let Some(t) = toks.get(k) else { break };
            match &t.token {
                Token::LParen => depth += 1,
                Token::RParen => {
                    depth -= 1;
                    if from_depth.is_some_and(|d| depth < d) {
                        from_depth = None;
                    }
                }
                Token::Comma if from_depth == Some(depth) => {
                    expect_table = true;
                    k += 1;
                    continue;
                }
                Token::SemiColon => from_depth = None,
                _ => {}
            }
            let kw = t.keyword().unwrap_or_default();
            match kw.as_str() {
                "FROM" | "JOIN" | "STRAIGHT_JOIN" => {
                    from_depth = Some(depth);
                    expect_table = true;
                    k += 1;
                    continue;
                }
                "INTO" | "UPDATE" | "TABLE" => {
                    expect_table = true;
                    k += 1;
                    continue;
                }
                "WHERE" | "GROUP" | "ORDER" | "HAVING" | "LIMIT" | "UNION" | "SET" | "VALUES"
                | "ON" | "USING" | "WINDOW" | "INTERSECT" | "EXCEPT" => {
                    from_depth = None;
                }
                _ => {}
            }
            if expect_table && is_ident(t) {
                expect_table = false;
                let (db, name, end) = if is_period(toks.get(k + 1)) {
                    let n = toks.get(k + 2).and_then(Tok::ident).unwrap_or_default();
                    (
                        t.ident().unwrap_or_default().to_string(),
                        n.to_string(),
                        k + 3,
                    )
                } else {
                    (
                        scope.db.to_string(),
                        t.ident().unwrap_or_default().to_string(),
                        k + 1,
                    )
                };
                table_pos.push(k);
                // An alias: AS x, or a bare word that is not a keyword.
                let alias_at = if toks.get(end).is_some_and(|a| a.is_kw("AS")) {
                    Some(end + 1)
                } else if toks.get(end).is_some_and(|a| {
                    is_quoted(a) || matches!(&a.token, Token::Word(w) if w.keyword == sqlparser::keywords::Keyword::NoKeyword)
                }) {
                    Some(end)
                } else {
                    None
                };
                if let Some(a) = alias_at.and_then(|a| toks.get(a)).and_then(Tok::ident) {
                    aliases.push((a.to_string(), (db.clone(), name.clone())));
                }
                // `INTO t (a, b)`: the list names columns of t.
                if toks.get(end).map(|t| &t.token) == Some(&Token::LParen) {
                    if let Some(close) = matching_paren(toks, end) {
                        for c in (end + 1)..close {
                            if let Some(ct) = toks.get(c).filter(|t| is_ident(t)) {
                                let old = ct.ident().unwrap_or_default();
                                let new = self.names().column(&db, &name, old);
                                column_list.push(c);
                                self.edit(rw, ct.span.clone(), old, &new);
                            }
                        }
                    }
                }
                k = end;
                continue;
            }
            expect_table = false;
            k += 1;
        }
        let resolve_table = |x: &str| -> Option<(String, String, bool)> {
            if let Some((_, (d, n))) = aliases
                .iter()
                .find(|(a, _)| a.eq_ignore_ascii_case(x) || a == x)
            {
                return Some((d.clone(), n.clone(), false));
            }
            if let Some(tt) = scope.trigger_table {
                if x.eq_ignore_ascii_case("NEW") || x.eq_ignore_ascii_case("OLD") {
                    return Some((scope.db.to_string(), tt.to_string(), false));
                }
            }
            if self.is_table_or_view(scope.db, x) {
                return Some((scope.db.to_string(), x.to_string(), true));
            }
            None
        };
        let mut warn = |msg: String| {
            let w = Warning {
                object: object.clone(),
                message: msg,
            };
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        };
        // Pass 2: every identifier chain.
        let mut k = range.start;
        while k < range.end {
            let Some(t) = toks.get(k) else { break };
            if !is_ident(t)
                || is_period(k.checked_sub(1).and_then(|p| toks.get(p)))
                || column_list.contains(&k)
            {
                k += 1;
                continue;
            }
            let mut chain = vec![k];
            let mut last = k;
            while chain.len() < 3 && is_period(toks.get(last + 1)) {
                let next = last + 2;
                if toks.get(next).is_some_and(is_ident) {
                    chain.push(next);
                    last = next;
                } else {
                    break;
                }
            }
            let id = |i: usize| {
                toks.get(i)
                    .and_then(Tok::ident)
                    .unwrap_or_default()
                    .to_string()
            };
            let span = |i: usize| toks.get(i).map(|t| t.span.clone()).unwrap_or(0..0);
            let after = last + 1;
            let at = |n: usize| chain.get(n).copied().unwrap_or(k);
            let is_call = toks.get(after).map(|t| &t.token) == Some(&Token::LParen);
            let prev_is_as = k
                .checked_sub(1)
                .and_then(|p| toks.get(p))
                .is_some_and(|p| p.is_kw("AS"));
            match chain.len() {
                3 => {
                    let (d, tb, c) = (id(at(0)), id(at(1)), id(at(2)));
                    self.edit(rw, span(at(0)), &d, &names.database(&d));
                    self.edit(rw, span(at(1)), &tb, &names.table(&d, &tb));
                    self.edit(rw, span(at(2)), &c, &names.column(&d, &tb, &c));
                }
                2 => {
                    let (x, y) = (id(at(0)), id(at(1)));
                    let x_is_db = self.source.database(&x).is_some()
                        && (self.is_table_or_view(&x, &y) || is_call || table_pos.contains(&k));
                    let x_table = resolve_table(&x);
                    if x_is_db && x_table.is_some() && !table_pos.contains(&k) {
                        warn(format!(
                            "{}.{} may name a table of database {} or a column of table {}; \
                             left as it is",
                            quote(&x),
                            quote(&y),
                            quote(&x),
                            quote(&x)
                        ));
                    } else if x_is_db {
                        self.edit(rw, span(at(0)), &x, &names.database(&x));
                        if !is_call {
                            self.edit(rw, span(at(1)), &y, &names.table(&x, &y));
                        } else {
                            self.edit(rw, span(at(1)), &y, &names.other(&y));
                        }
                    } else if let Some((d, tb, real)) = x_table {
                        if real {
                            self.edit(rw, span(at(0)), &x, &names.table(&d, &tb));
                        }
                        self.edit(rw, span(at(1)), &y, &names.column(&d, &tb, &y));
                    } else if self.source.database(&x).is_some() {
                        // db.unknown: a routine or a table we do not know.
                        self.edit(rw, span(at(0)), &x, &names.database(&x));
                    }
                }
                _ => {
                    if table_pos.contains(&k) {
                        if self.is_table_or_view(scope.db, &id(k)) {
                            let x = id(k);
                            self.edit(rw, span(k), &x, &names.table(scope.db, &x));
                        }
                    } else if !is_call && !prev_is_as {
                        let x = id(k);
                        if self.is_table_or_view(scope.db, &x) && names.table_renamed(scope.db, &x)
                        {
                            warn(format!(
                                "{} may name the renamed table {}.{} (it is not in a position \
                                 that names a table); left as it is",
                                quote(&x),
                                quote(scope.db),
                                quote(&x)
                            ));
                        }
                        if let Some(d) = self.source.database(scope.db) {
                            for tb in &d.tables {
                                if tb.column(&x).is_some()
                                    && names.column_really_renamed(scope.db, &tb.name, &x)
                                {
                                    warn(format!(
                                        "{} may name the renamed column {} of {}.{}; left as it is",
                                        quote(&x),
                                        quote(&x),
                                        quote(scope.db),
                                        quote(&tb.name)
                                    ));
                                }
                            }
                        }
                    }
                }
            }
            k = after;
        }
    }

    fn edit(&self, rw: &mut Rewriter<'_>, span: Range<usize>, old: &str, new: &str) {
        if old != new && !span.is_empty() {
            rw.replace(span, quote(new));
        }
    }

    /// Refuses constructs the target cannot create.
    fn check_table_support(
        &self,
        table: &Table,
        toks: &[Tok],
        object: &ObjectRef,
    ) -> Result<(), SchemaError> {
        let target = self.target();
        let unsupported = |construct: &str, hint: &str| SchemaError::Unsupported {
            object: object.to_string(),
            construct: construct.to_string(),
            target: target.to_string(),
            hint: hint.to_string(),
        };
        if target.flavor == Flavor::MySql {
            if table.table_type == "SEQUENCE" {
                return Err(unsupported(
                    "a MariaDB SEQUENCE",
                    "exclude it from the migration and create an AUTO_INCREMENT table instead",
                ));
            }
            let has = |a: &str, b: &str| {
                toks.windows(2).any(|w| match w {
                    [x, y] => x.is_kw(a) && y.is_kw(b),
                    _ => false,
                })
            };
            if has("SYSTEM", "VERSIONING") {
                return Err(unsupported(
                    "WITH SYSTEM VERSIONING",
                    "exclude the table or remove system versioning on the source",
                ));
            }
            if has("PERIOD", "FOR") {
                return Err(unsupported(
                    "an application-time PERIOD",
                    "exclude the table",
                ));
            }
        }
        if target.flavor == Flavor::MariaDb {
            for ix in &table.indexes {
                if ix.parts.iter().any(|p| p.column.is_none()) {
                    return Err(unsupported(
                        &format!("the functional index {}", quote(&ix.name)),
                        "replace it with an index on a generated column",
                    ));
                }
            }
            // The same from the text alone (MySQL's SHOW CREATE prints a
            // functional key part in its own parentheses: `((lower(c)))`),
            // for a model read from text.
            for (k, t) in toks.iter().enumerate() {
                if !(t.is_kw("KEY") || t.is_kw("INDEX")) || !element_is_index(toks, k) {
                    continue;
                }
                let mut p = k + 1;
                if toks
                    .get(p)
                    .is_some_and(|n| n.ident().is_some() && n.token != Token::LParen)
                {
                    p += 1;
                }
                if toks.get(p).map(|t| &t.token) == Some(&Token::LParen)
                    && toks.get(p + 1).map(|t| &t.token) == Some(&Token::LParen)
                {
                    return Err(unsupported(
                        &format!("the functional index {}", element_name(toks, k)),
                        "replace it with an index on a generated column",
                    ));
                }
            }
            // MySQL's ngram and MeCab full-text parsers are plugins MariaDB
            // does not have.
            for (k, t) in toks.iter().enumerate() {
                if t.is_kw("WITH") && toks.get(k + 1).is_some_and(|n| n.is_kw("PARSER")) {
                    let parser = toks.get(k + 2).and_then(Tok::ident).unwrap_or_default();
                    if parser.eq_ignore_ascii_case("ngram") || parser.eq_ignore_ascii_case("mecab")
                    {
                        return Err(unsupported(
                            &format!(
                                "the full-text parser {parser} of index {}",
                                element_name(toks, k)
                            ),
                            "MariaDB has no such parser: rebuild the index without WITH \
                             PARSER on the source, or exclude the table",
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Maps character sets and collations the target lacks.
    fn map_charsets(
        &self,
        text: &str,
        all: &Tokens,
        toks: &[Tok],
        object: &ObjectRef,
        rw: &mut Rewriter<'_>,
        warnings: &mut Vec<Warning>,
    ) -> Result<(), SchemaError> {
        let _ = (text, all);
        for (k, t) in toks.iter().enumerate() {
            let prev = |n: usize| k.checked_sub(n).and_then(|p| toks.get(p));
            let after_collate = prev(1).is_some_and(|p| p.is_kw("COLLATE"))
                || (prev(1).map(|p| &p.token) == Some(&Token::Eq)
                    && prev(2).is_some_and(|p| p.is_kw("COLLATE")));
            let Token::Word(w) = &t.token else { continue };
            let name = w.value.to_ascii_lowercase();
            let candidate = after_collate
                || name.contains("_0900_")
                || name.contains("uca1400")
                || name.starts_with("utf8mb3_");
            if !candidate {
                continue;
            }
            if let Some(new) = map_collation(&name, self.target()) {
                if new != name {
                    // MariaDB's uca1400 collations without `nopad` are PAD
                    // SPACE; MySQL's 0900 ones all NO PAD.
                    let pad = if name.contains("uca1400_")
                        && !name.contains("nopad")
                        && new.contains("_0900_")
                    {
                        " (NO PAD: trailing spaces count in comparisons on the target)"
                    } else {
                        ""
                    };
                    warnings.push(Warning {
                        object: object.clone(),
                        message: format!(
                            "collation {name} does not exist on {}; mapped to {new}{pad}",
                            self.target()
                        ),
                    });
                    rw.replace(t.span.clone(), new);
                }
            }
        }
        Ok(())
    }

    /// Maps table options and column types the target lacks; drops guards
    /// whose content the target would execute but not understand.
    fn map_table_options(
        &self,
        text: &str,
        all: &Tokens,
        toks: &[Tok],
        object: &ObjectRef,
        rw: &mut Rewriter<'_>,
        warnings: &mut Vec<Warning>,
    ) -> Result<(), SchemaError> {
        let target = self.target();
        let cross_flavor = self
            .source
            .server
            .as_ref()
            .is_none_or(|s| s.flavor != target.flavor);
        let mut warn = |m: String| {
            warnings.push(Warning {
                object: object.clone(),
                message: m,
            })
        };
        let _ = all;
        for (k, t) in toks.iter().enumerate() {
            let Some(kw) = t.keyword() else { continue };
            let next_eq = toks.get(k + 1).map(|n| &n.token) == Some(&Token::Eq);
            match (target.flavor, kw.as_str()) {
                (
                    Flavor::MySql,
                    "PAGE_CHECKSUM"
                    | "TRANSACTIONAL"
                    | "PAGE_COMPRESSED"
                    | "PAGE_COMPRESSION_LEVEL"
                    | "ENCRYPTION_KEY_ID"
                    | "ENCRYPTED"
                    | "IETF_QUOTES"
                    | "SEQUENCE",
                ) if next_eq && t.guard.is_none() => {
                    if let Some(v) = toks.get(k + 2) {
                        rw.replace(t.span.start..v.span.end, "");
                        warn(format!(
                            "table option {} is MariaDB-only; dropped",
                            text.get(t.span.start..v.span.end).unwrap_or_default()
                        ));
                    }
                }
                (
                    Flavor::MariaDb,
                    "SECONDARY_ENGINE"
                    | "AUTOEXTEND_SIZE"
                    | "ENGINE_ATTRIBUTE"
                    | "SECONDARY_ENGINE_ATTRIBUTE",
                ) if next_eq && t.guard.is_none() => {
                    if let Some(v) = toks.get(k + 2) {
                        rw.replace(t.span.start..v.span.end, "");
                        warn(format!(
                            "table option {} is MySQL-only; dropped",
                            text.get(t.span.start..v.span.end).unwrap_or_default()
                        ));
                    }
                }
                (Flavor::MySql, "UUID" | "INET6" | "INET4") => {
                    // Only as a column type: right after the column's name.
                    let prev_is_name = k
                        .checked_sub(1)
                        .and_then(|p| toks.get(p))
                        .is_some_and(is_quoted);
                    if prev_is_name {
                        let new = match kw.as_str() {
                            "UUID" => "char(36)",
                            "INET6" => "varchar(45)",
                            _ => "varchar(15)",
                        };
                        rw.replace(t.span.clone(), new);
                        warn(format!(
                            "type {} is MariaDB-only; mapped to {new} (values are copied as text)",
                            kw.to_lowercase()
                        ));
                    }
                }
                (Flavor::MariaDb, "SRID") if t.guard.is_none() || t.guard.is_some() => {
                    if let Some(v) = toks
                        .get(k + 1)
                        .filter(|v| matches!(v.token, Token::Number(..)))
                    {
                        rw.replace(
                            t.span.start..v.span.end,
                            format!(
                                "REF_SYSTEM_ID={}",
                                text.get(v.span.clone()).unwrap_or_default()
                            ),
                        );
                        warn("SRID mapped to MariaDB's REF_SYSTEM_ID".to_string());
                    }
                }
                (Flavor::MariaDb, "JSON")
                    if cross_flavor
                        && k.checked_sub(1)
                            .and_then(|p| toks.get(p))
                            .is_some_and(is_quoted) =>
                {
                    let name = toks
                        .get(k - 1)
                        .and_then(Tok::ident)
                        .map(quote)
                        .unwrap_or_default();
                    warn(format!(
                        "column {name}: json is MariaDB's LONGTEXT with a json_valid CHECK; \
                         documents are copied as the source's JSON text"
                    ));
                }
                (Flavor::MySql, "IGNORED") if cross_flavor && element_is_index(toks, k) => {
                    rw.replace(t.span.clone(), "INVISIBLE");
                    warn("IGNORED index mapped to an INVISIBLE index".to_string());
                }
                // An index's INVISIBLE, not a column's.
                (Flavor::MariaDb, "INVISIBLE")
                    if cross_flavor && element_is_index(toks, k) && target.at_least(10, 6) =>
                {
                    rw.replace(t.span.clone(), "IGNORED");
                    warn("INVISIBLE index mapped to an IGNORED index".to_string());
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Where bare names are resolved.
pub(crate) struct Scope<'a> {
    /// The object's database: bare table names are in it.
    pub(crate) db: &'a str,
    /// A trigger's table, for `NEW.` and `OLD.`.
    pub(crate) trigger_table: Option<&'a str>,
}

/// Whether token `k` is inside a CREATE TABLE element that defines an
/// index (starts with KEY, INDEX, UNIQUE, PRIMARY, FULLTEXT or SPATIAL).
fn element_is_index(toks: &[Tok], k: usize) -> bool {
    let mut depth = 0i64;
    let mut i = k;
    while i > 0 {
        i -= 1;
        let Some(t) = toks.get(i) else { return false };
        match t.token {
            Token::RParen => depth += 1,
            Token::LParen if depth == 0 => break,
            Token::LParen => depth -= 1,
            Token::Comma if depth == 0 => break,
            _ => {}
        }
    }
    toks.get(i + 1).is_some_and(|t| {
        ["KEY", "INDEX", "UNIQUE", "PRIMARY", "FULLTEXT", "SPATIAL"]
            .iter()
            .any(|kw| t.is_kw(kw))
    })
}

/// The name of the CREATE TABLE element holding token `k`: a column's
/// name, or an index's name after KEY/INDEX (quoted, for messages).
fn element_name(toks: &[Tok], k: usize) -> String {
    let start = element_start(toks, k);
    let mut i = start;
    while toks.get(i).is_some_and(|t| {
        ["UNIQUE", "FULLTEXT", "SPATIAL", "KEY", "INDEX", "PRIMARY"]
            .iter()
            .any(|kw| t.is_kw(kw))
    }) {
        i += 1;
    }
    toks.get(i)
        .and_then(Tok::ident)
        .map_or_else(|| "?".to_string(), quote)
}

/// The index of the first token of the CREATE TABLE element holding `k`.
fn element_start(toks: &[Tok], k: usize) -> usize {
    let mut depth = 0i64;
    let mut i = k;
    while i > 0 {
        let Some(t) = toks.get(i - 1) else { break };
        match t.token {
            Token::RParen => depth += 1,
            Token::LParen if depth == 0 => break,
            Token::LParen => depth -= 1,
            Token::Comma if depth == 0 => break,
            _ => {}
        }
        i -= 1;
    }
    i
}

/// The byte offset just after the data type of the column element holding
/// token `k` (its name, the type word, and the type's parenthesized
/// arguments).
fn column_type_end(toks: &[Tok], k: usize) -> Option<usize> {
    let start = element_start(toks, k);
    let ty = toks.get(start + 1)?;
    if toks.get(start + 2).map(|t| &t.token) == Some(&Token::LParen) {
        let close = matching_paren(toks, start + 2)?;
        return toks.get(close).map(|t| t.span.end);
    }
    Some(ty.span.end)
}

fn is_quoted(t: &Tok) -> bool {
    matches!(&t.token, Token::Word(w) if w.quote_style == Some('`'))
}

/// The index of the last token of `DEFINER = account` starting at `d`.
pub(crate) fn definer_end(toks: &[Tok], d: usize) -> Option<usize> {
    if toks.get(d + 1)?.token != Token::Eq {
        return None;
    }
    let user = toks.get(d + 2)?;
    if user.is_kw("CURRENT_USER") {
        if toks.get(d + 3).map(|t| &t.token) == Some(&Token::LParen)
            && toks.get(d + 4).map(|t| &t.token) == Some(&Token::RParen)
        {
            return Some(d + 4);
        }
        return Some(d + 2);
    }
    match toks.get(d + 3).map(|t| &t.token) {
        Some(Token::AtSign) => Some(d + 4),
        Some(Token::Word(w)) if w.value.starts_with('@') && w.quote_style.is_none() => Some(d + 3),
        _ => Some(d + 2),
    }
}

/// Skips a data type starting at `i` (after RETURNS); returns the index
/// after it.
fn skip_type(toks: &[Tok], i: usize) -> usize {
    let mut j = i + 1;
    if toks.get(j).map(|t| &t.token) == Some(&Token::LParen) {
        j = matching_paren(toks, j).map_or(j, |c| c + 1);
    }
    loop {
        let kw = toks.get(j).and_then(Tok::keyword).unwrap_or_default();
        j += match kw.as_str() {
            "UNSIGNED" | "SIGNED" | "ZEROFILL" | "BINARY" | "ASCII" | "UNICODE" | "BYTE"
            | "PRECISION" | "VARYING" => 1,
            "CHARSET" | "COLLATE" => 2,
            "CHARACTER" => 3,
            _ => return j,
        };
        if toks.get(j).map(|t| &t.token) == Some(&Token::LParen) {
            j = matching_paren(toks, j).map_or(j, |c| c + 1);
        }
    }
}

/// MySQL's language codes in its UCA 9.0.0 collation names
/// (`utf8mb4_sv_0900_ai_ci`) and MariaDB's language names in its UCA 14.0.0
/// ones (`utf8mb4_uca1400_swedish_ai_ci`), for the languages both have.
/// MySQL's bs, bg, gl, ja, mn, nb, nn, ru, sr_latn and zh and MariaDB's
/// persian and sinhala have no counterpart: such a collation is kept, and
/// the precheck's `target.features` reports that the target lacks it.
const UCA_LANGUAGES: &[(&str, &str)] = &[
    ("hr", "croatian"),
    ("cs", "czech"),
    ("da", "danish"),
    ("eo", "esperanto"),
    ("et", "estonian"),
    ("de_pb", "german2"),
    ("hu", "hungarian"),
    ("is", "icelandic"),
    ("la", "roman"),
    ("lv", "latvian"),
    ("lt", "lithuanian"),
    ("pl", "polish"),
    ("ro", "romanian"),
    ("sk", "slovak"),
    ("sl", "slovenian"),
    ("es", "spanish"),
    ("es_trad", "spanish2"),
    ("sv", "swedish"),
    ("tr", "turkish"),
    ("vi", "vietnamese"),
];

/// The collation to use on `target` for `name`, when it differs; `None`
/// when `name` is not a collation this knows about (it is kept).
///
/// MySQL's UCA 9.0.0 collations (`utf8mb4_0900_ai_ci`, `utf8mb4_0900_bin`)
/// are NO PAD: trailing spaces count. On MariaDB they become the NO PAD
/// UCA 14.0.0 ones (`utf8mb4_uca1400_nopad_ai_ci`, `utf8mb4_nopad_bin`;
/// `utf8mb4_unicode_520_nopad_ci` before 10.10), so keys unique on the
/// source stay unique. MariaDB's `utf8mb4_uca1400_*` become MySQL's 0900
/// ones (MySQL 8.0 and later; `utf8mb4_unicode_520_ci` before), which are
/// NO PAD also for MariaDB's PAD SPACE variants.
pub fn map_collation(name: &str, target: &ServerVersion) -> Option<String> {
    let n = name.to_ascii_lowercase();
    match target.flavor {
        Flavor::MariaDb => {
            if let Some(rest) = n.strip_prefix("utf8mb4_") {
                if rest == "0900_bin" {
                    return Some("utf8mb4_nopad_bin".into());
                }
                if let Some(pos) = rest.find("0900_") {
                    let (code, suffix) = (
                        rest.get(..pos).unwrap_or_default().trim_end_matches('_'),
                        rest.get(pos + 5..).unwrap_or_default(),
                    );
                    let language = if code.is_empty() {
                        Some(String::new())
                    } else {
                        UCA_LANGUAGES
                            .iter()
                            .find(|(c, _)| *c == code)
                            .map(|(_, l)| format!("{l}_"))
                    };
                    let Some(language) = language else {
                        return Some(n);
                    };
                    if target.at_least(10, 10) {
                        return Some(format!("utf8mb4_uca1400_{language}nopad_{suffix}"));
                    }
                    return Some("utf8mb4_unicode_520_nopad_ci".into());
                }
            }
            Some(n)
        }
        Flavor::MySql => {
            if let Some(pos) = n.find("uca1400_") {
                let cs = n.get(..pos).unwrap_or_default(); // "utf8mb4_"
                let rest = n.get(pos + 8..).unwrap_or_default().replace("nopad_", "");
                if target.at_least(8, 0) && cs == "utf8mb4_" {
                    // uca1400_ai_ci -> 0900_ai_ci; uca1400_german2_ai_ci ->
                    // de_pb_0900_ai_ci.
                    let (code, suffix) = if rest.starts_with("ai_") || rest.starts_with("as_") {
                        (String::new(), rest.clone())
                    } else {
                        let (language, suffix) = rest.split_once('_').unwrap_or((&rest, "ai_ci"));
                        match UCA_LANGUAGES.iter().find(|(_, l)| *l == language) {
                            Some((c, _)) => (format!("{c}_"), suffix.to_string()),
                            None => return Some(n),
                        }
                    };
                    return Some(format!("utf8mb4_{code}0900_{suffix}"));
                }
                return Some(format!("{cs}unicode_520_ci"));
            }
            if n.contains("_nopad_") {
                return Some(n.replace("_nopad_", "_"));
            }
            if let Some(rest) = n.strip_prefix("utf8mb3_") {
                if !target.at_least(8, 0)
                    || (target.major == 8 && target.minor == 0 && target.patch < 30)
                {
                    return Some(format!("utf8_{rest}"));
                }
            }
            Some(n)
        }
    }
}

/// Whether `name`, a collation the source uses, exists as it is on `target`.
pub fn collation_kept(name: &str, target: &ServerVersion) -> bool {
    map_collation(name, target).is_none_or(|m| m.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collations_map_between_flavours() {
        let maria = ServerVersion::parse("10.11.6-MariaDB").unwrap();
        let maria6 = ServerVersion::parse("10.6.1-MariaDB").unwrap();
        let my8 = ServerVersion::parse("8.0.36").unwrap();
        let my57 = ServerVersion::parse("5.7.44").unwrap();
        // MySQL's 0900 collations are NO PAD: so are their MariaDB
        // counterparts.
        assert_eq!(
            map_collation("utf8mb4_0900_ai_ci", &maria).unwrap(),
            "utf8mb4_uca1400_nopad_ai_ci"
        );
        // MySQL's language codes are MariaDB's language names.
        assert_eq!(
            map_collation("utf8mb4_de_pb_0900_as_cs", &maria).unwrap(),
            "utf8mb4_uca1400_german2_nopad_as_cs"
        );
        assert_eq!(
            map_collation("utf8mb4_es_trad_0900_ai_ci", &maria).unwrap(),
            "utf8mb4_uca1400_spanish2_nopad_ai_ci"
        );
        assert_eq!(
            map_collation("utf8mb4_sv_0900_ai_ci", &maria).unwrap(),
            "utf8mb4_uca1400_swedish_nopad_ai_ci"
        );
        // No MariaDB counterpart: kept, for the precheck to report.
        assert_eq!(
            map_collation("utf8mb4_ru_0900_ai_ci", &maria).unwrap(),
            "utf8mb4_ru_0900_ai_ci"
        );
        assert_eq!(
            map_collation("utf8mb4_0900_ai_ci", &maria6).unwrap(),
            "utf8mb4_unicode_520_nopad_ci"
        );
        assert_eq!(
            map_collation("utf8mb4_0900_bin", &maria).unwrap(),
            "utf8mb4_nopad_bin"
        );
        assert_eq!(
            map_collation("utf8mb4_uca1400_german2_ai_ci", &my8).unwrap(),
            "utf8mb4_de_pb_0900_ai_ci"
        );
        assert_eq!(
            map_collation("utf8mb4_uca1400_swedish_nopad_as_cs", &my8).unwrap(),
            "utf8mb4_sv_0900_as_cs"
        );
        assert_eq!(
            map_collation("utf8mb4_uca1400_sinhala_ai_ci", &my8).unwrap(),
            "utf8mb4_uca1400_sinhala_ai_ci"
        );
        assert_eq!(
            map_collation("utf8mb4_uca1400_ai_ci", &my8).unwrap(),
            "utf8mb4_0900_ai_ci"
        );
        assert_eq!(
            map_collation("utf8mb4_uca1400_as_cs", &my8).unwrap(),
            "utf8mb4_0900_as_cs"
        );
        assert_eq!(
            map_collation("utf8mb3_general_ci", &my57).unwrap(),
            "utf8_general_ci"
        );
        assert_eq!(
            map_collation("utf8mb4_general_nopad_ci", &my8).unwrap(),
            "utf8mb4_general_ci"
        );
        assert!(collation_kept("utf8mb4_general_ci", &maria));
    }
}
