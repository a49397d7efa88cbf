//! DDL in the binlog: classifying the statement of a QUERY event, listing
//! the objects it touches, applying renames and the DEFINER rule to its
//! text, and keeping the schema model current.

use serde::{Deserialize, Serialize};
use sqlparser::tokenizer::Token;

use crate::error::SchemaError;
use crate::ident::quote;
use crate::model::Schema;
use crate::tokens::{tokenize, Rewriter, Tok};
use crate::translate::{definer_end, DefinerPolicy, TranslateOptions};

/// What a statement does.
///
/// Serialized in kebab case (`create-table`), the names a task file uses for
/// its DDL filters. Only the kinds a task file may name deserialize: the
/// others (`#[serde(skip_deserializing)]`) are refused there, and left out of
/// the list of allowed values an error gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum DdlKind {
    CreateTable,
    AlterTable,
    DropTable,
    RenameTable,
    TruncateTable,
    CreateIndex,
    DropIndex,
    CreateView,
    AlterView,
    DropView,
    CreateProcedure,
    #[serde(skip_deserializing)]
    AlterProcedure,
    DropProcedure,
    CreateFunction,
    #[serde(skip_deserializing)]
    AlterFunction,
    DropFunction,
    #[serde(skip_deserializing)]
    CreateTrigger,
    #[serde(skip_deserializing)]
    DropTrigger,
    #[serde(skip_deserializing)]
    CreateDatabase,
    #[serde(skip_deserializing)]
    AlterDatabase,
    #[serde(skip_deserializing)]
    DropDatabase,
    /// Anything else (DML, BEGIN, GRANT, events, ...).
    #[serde(skip_deserializing)]
    Other,
}

/// A table or other object a statement names: database (when qualified)
/// and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touched {
    /// The database, when the statement qualifies the name.
    pub database: Option<String>,
    /// The name.
    pub name: String,
    /// Indexes of the name's tokens (database, name) in the statement's
    /// token list, for rewriting.
    #[serde(skip)]
    spans: (Option<std::ops::Range<usize>>, std::ops::Range<usize>),
}

/// A classified statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DdlStatement {
    /// What it does.
    pub kind: DdlKind,
    /// The objects it names, in order (for RENAME TABLE: old, new, old,
    /// new...; for CREATE INDEX and triggers: the index or trigger, then
    /// the table).
    pub objects: Vec<Touched>,
}

const TABLE_LIKE_END: &[&str] = &["IF", "NOT", "EXISTS", "TEMPORARY", "OR", "REPLACE"];

fn name_at(toks: &[Tok], mut i: usize) -> Option<(Touched, usize)> {
    while toks
        .get(i)
        .is_some_and(|t| TABLE_LIKE_END.iter().any(|k| t.is_kw(k)))
    {
        i += 1;
    }
    let a = toks.get(i)?;
    let a_id = a.ident()?.to_string();
    if toks.get(i + 1).map(|t| &t.token) == Some(&Token::Period) {
        let b = toks.get(i + 2)?;
        return Some((
            Touched {
                database: Some(a_id),
                name: b.ident()?.to_string(),
                spans: (Some(a.span.clone()), b.span.clone()),
            },
            i + 3,
        ));
    }
    Some((
        Touched {
            database: None,
            name: a_id,
            spans: (None, a.span.clone()),
        },
        i + 1,
    ))
}

/// Classifies one statement. Never fails: what cannot be tokenized or is
/// not recognized is [`DdlKind::Other`].
pub fn classify(sql: &str) -> DdlStatement {
    let other = DdlStatement {
        kind: DdlKind::Other,
        objects: Vec::new(),
    };
    let Ok(t) = tokenize(sql) else { return other };
    let toks: Vec<Tok> = t.toks;
    let Some(first) = toks.first().and_then(Tok::keyword) else {
        return other;
    };
    // Skip CREATE's modifiers up to the object keyword.
    let mut i = 1;
    let object_kw = |i: &mut usize| -> Option<String> {
        while let Some(t) = toks.get(*i) {
            let kw = t.keyword()?;
            match kw.as_str() {
                "OR" | "REPLACE" | "TEMPORARY" | "UNIQUE" | "FULLTEXT" | "SPATIAL" | "ONLINE"
                | "OFFLINE" | "IGNORE" | "AGGREGATE" => *i += 1,
                "ALGORITHM" | "SQL" => {
                    // ALGORITHM = x / SQL SECURITY x
                    *i += 3;
                }
                "DEFINER" => *i = definer_end(&toks, *i)? + 1,
                _ => return Some(kw),
            }
        }
        None
    };
    use DdlKind::*;
    let kind = match first.as_str() {
        "CREATE" | "ALTER" | "DROP" => {
            let Some(obj) = object_kw(&mut i) else {
                return other;
            };
            match (first.as_str(), obj.as_str()) {
                ("CREATE", "TABLE") => CreateTable,
                ("ALTER", "TABLE") => AlterTable,
                ("DROP", "TABLE") => DropTable,
                ("CREATE", "INDEX") => CreateIndex,
                ("DROP", "INDEX") => DropIndex,
                ("CREATE", "VIEW") => CreateView,
                ("ALTER", "VIEW") => AlterView,
                ("DROP", "VIEW") => DropView,
                ("CREATE", "PROCEDURE") => CreateProcedure,
                ("ALTER", "PROCEDURE") => AlterProcedure,
                ("DROP", "PROCEDURE") => DropProcedure,
                ("CREATE", "FUNCTION") => CreateFunction,
                ("ALTER", "FUNCTION") => AlterFunction,
                ("DROP", "FUNCTION") => DropFunction,
                ("CREATE", "TRIGGER") => CreateTrigger,
                ("DROP", "TRIGGER") => DropTrigger,
                ("CREATE", "DATABASE" | "SCHEMA") => CreateDatabase,
                ("ALTER", "DATABASE" | "SCHEMA") => AlterDatabase,
                ("DROP", "DATABASE" | "SCHEMA") => DropDatabase,
                _ => return other,
            }
        }
        "RENAME"
            if toks
                .get(1)
                .is_some_and(|t| t.is_kw("TABLE") || t.is_kw("TABLES")) =>
        {
            i = 1;
            RenameTable
        }
        "TRUNCATE" => {
            if toks.get(1).is_some_and(|t| t.is_kw("TABLE")) {
                i = 1;
            } else {
                i = 0;
            }
            TruncateTable
        }
        _ => return other,
    };
    let mut objects = Vec::new();
    let mut j = i + 1;
    match kind {
        CreateDatabase | AlterDatabase | DropDatabase => {
            if let Some((t, _)) = name_at(&toks, j) {
                objects.push(t);
            }
        }
        CreateIndex | DropIndex => {
            if let Some((ix, next)) = name_at(&toks, j) {
                objects.push(ix);
                if let Some(on) =
                    (next..toks.len()).find(|k| toks.get(*k).is_some_and(|t| t.is_kw("ON")))
                {
                    if let Some((t, _)) = name_at(&toks, on + 1) {
                        objects.push(t);
                    }
                }
            }
        }
        CreateTrigger => {
            if let Some((tr, next)) = name_at(&toks, j) {
                objects.push(tr);
                if let Some(on) =
                    (next..toks.len()).find(|k| toks.get(*k).is_some_and(|t| t.is_kw("ON")))
                {
                    if let Some((t, _)) = name_at(&toks, on + 1) {
                        objects.push(t);
                    }
                }
            }
        }
        RenameTable => {
            // a TO b, c TO d
            while let Some((a, next)) = name_at(&toks, j) {
                objects.push(a);
                if !toks.get(next).is_some_and(|t| t.is_kw("TO")) {
                    break;
                }
                let Some((b, after)) = name_at(&toks, next + 1) else {
                    break;
                };
                objects.push(b);
                if toks.get(after).map(|t| &t.token) != Some(&Token::Comma) {
                    break;
                }
                j = after + 1;
            }
        }
        DropTable | DropView => {
            while let Some((a, next)) = name_at(&toks, j) {
                objects.push(a);
                if toks.get(next).map(|t| &t.token) != Some(&Token::Comma) {
                    break;
                }
                j = next + 1;
            }
        }
        AlterTable => {
            if let Some((a, next)) = name_at(&toks, j) {
                objects.push(a);
                // ALTER TABLE a ... RENAME [TO|AS] b
                let mut depth = 0i64;
                for k in next..toks.len() {
                    match toks.get(k).map(|t| &t.token) {
                        Some(Token::LParen) => depth += 1,
                        Some(Token::RParen) => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 && toks.get(k).is_some_and(|t| t.is_kw("RENAME")) {
                        let mut n = k + 1;
                        if toks.get(n).is_some_and(|t| {
                            t.is_kw("COLUMN") || t.is_kw("INDEX") || t.is_kw("KEY")
                        }) {
                            continue;
                        }
                        if toks.get(n).is_some_and(|t| t.is_kw("TO") || t.is_kw("AS")) {
                            n += 1;
                        }
                        if let Some((b, _)) = name_at(&toks, n) {
                            objects.push(b);
                        }
                    }
                }
            }
        }
        _ => {
            if let Some((a, _)) = name_at(&toks, j) {
                objects.push(a);
            }
        }
    }
    DdlStatement { kind, objects }
}

/// Rewrites a binlog DDL statement for the target: renames of the
/// databases and tables it names (unqualified names are in
/// `default_db`, the QUERY event's database), the case policy, and the
/// DEFINER rule (removed, or replaced by the configured account; views,
/// procedures and functions get SQL SECURITY INVOKER).
///
/// # Errors
///
/// When the statement cannot be tokenized.
pub fn rewrite_statement(
    sql: &str,
    default_db: &str,
    opts: &TranslateOptions,
) -> Result<String, SchemaError> {
    let st = classify(sql);
    let t = tokenize(sql)?;
    let toks = t.toks;
    let mut rw = Rewriter::new(sql);
    let names = &opts.names;
    use DdlKind::*;
    let tables_start = match st.kind {
        CreateIndex | DropIndex | CreateTrigger => 1,
        _ => 0,
    };
    for (n, o) in st.objects.iter().enumerate() {
        let db = o.database.as_deref().unwrap_or(default_db);
        if let Some(dspan) = &o.spans.0 {
            let new = names.database(db);
            if new != db {
                rw.replace(dspan.clone(), quote(&new));
            }
        }
        let new = match st.kind {
            CreateDatabase | AlterDatabase | DropDatabase => names.database(&o.name),
            CreateProcedure | AlterProcedure | DropProcedure | CreateFunction | AlterFunction
            | DropFunction => names.other(&o.name),
            _ if n < tables_start => names.other(&o.name),
            _ => names.table(db, &o.name),
        };
        if new != o.name {
            rw.replace(o.spans.1.clone(), quote(&new));
        }
    }
    // DEFINER and SQL SECURITY, in the header only.
    if let Some(d) = toks.iter().position(|t| t.is_kw("DEFINER")) {
        let header_end = toks
            .iter()
            .position(|t| {
                ["VIEW", "PROCEDURE", "FUNCTION", "TRIGGER", "EVENT"]
                    .iter()
                    .any(|k| t.is_kw(k))
            })
            .unwrap_or(0);
        if d < header_end {
            if let (Some(end), Some(dt)) = (definer_end(&toks, d), toks.get(d)) {
                if let Some(et) = toks.get(end) {
                    match &opts.definer {
                        DefinerPolicy::Invoker => rw.replace(dt.span.start..et.span.end, ""),
                        DefinerPolicy::Account(a) => {
                            if let Some(v) = toks.get(d + 2) {
                                rw.replace(v.span.start..et.span.end, a.clone());
                            }
                        }
                    }
                }
            }
        }
    }
    // Collations the target does not have (MySQL 8's utf8mb4_0900_* on
    // MariaDB, MariaDB's uca1400 ones on MySQL): the one translation maps
    // them, after COLLATE (or COLLATE =) only.
    for (k, t) in toks.iter().enumerate() {
        let prev = |n: usize| k.checked_sub(n).and_then(|p| toks.get(p));
        let after_collate = prev(1).is_some_and(|p| p.is_kw("COLLATE"))
            || (prev(1).map(|p| &p.token) == Some(&Token::Eq)
                && prev(2).is_some_and(|p| p.is_kw("COLLATE")));
        if !after_collate {
            continue;
        }
        let name = match &t.token {
            Token::Word(w) => w.value.clone(),
            Token::SingleQuotedString(v) | Token::DoubleQuotedString(v) => v.clone(),
            _ => continue,
        };
        if let Some(new) = crate::translate::map_collation(&name, &opts.target) {
            if !new.eq_ignore_ascii_case(&name) {
                rw.replace(t.span.clone(), new);
            }
        }
    }
    if opts.definer == DefinerPolicy::Invoker && matches!(st.kind, CreateView | AlterView) {
        let vpos = toks.iter().position(|t| t.is_kw("VIEW"));
        let sec = toks.iter().position(|t| t.is_kw("SECURITY"));
        match (vpos, sec) {
            (Some(v), Some(s)) if s < v => {
                if let Some(x) = toks.get(s + 1) {
                    rw.replace(x.span.clone(), "INVOKER");
                }
            }
            (Some(v), _) => {
                if let Some(x) = toks.get(v) {
                    rw.insert(x.span.start, "SQL SECURITY INVOKER ");
                }
            }
            _ => {}
        }
    }
    rw.finish()
}

/// How the model must change after a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelUpdate {
    /// Nothing to change.
    None,
    /// These tables (database, name) are gone from the model; the caller
    /// re-reads the listed ones with [`crate::extract::extract_table`].
    Tables {
        /// Tables to remove from the model.
        removed: Vec<(String, String)>,
        /// Tables to (re-)read.
        reread: Vec<(String, String)>,
    },
    /// A database was dropped.
    DropDatabase(String),
}

/// Applies what can be applied without the server (drops, renames of
/// tables, dropped databases) and says which tables must be re-read so that
/// later row events are decoded with the right columns.
pub fn update_model(schema: &mut Schema, default_db: &str, st: &DdlStatement) -> ModelUpdate {
    use DdlKind::*;
    let full = |o: &Touched| {
        (
            o.database.clone().unwrap_or_else(|| default_db.to_string()),
            o.name.clone(),
        )
    };
    let remove = |schema: &mut Schema, (db, name): &(String, String)| {
        if let Some(d) = schema.database_mut(db) {
            d.tables.retain(|t| &t.name != name);
        }
    };
    match st.kind {
        DropDatabase => {
            let name = st
                .objects
                .first()
                .map(|o| o.name.clone())
                .unwrap_or_default();
            schema.databases.retain(|d| d.name != name);
            ModelUpdate::DropDatabase(name)
        }
        DropTable => {
            let removed: Vec<_> = st.objects.iter().map(full).collect();
            for r in &removed {
                remove(schema, r);
            }
            ModelUpdate::Tables {
                removed,
                reread: vec![],
            }
        }
        RenameTable => {
            let mut removed = Vec::new();
            let mut reread = Vec::new();
            for pair in st.objects.chunks(2) {
                if let [a, b] = pair {
                    removed.push(full(a));
                    reread.push(full(b));
                }
            }
            for r in &removed {
                remove(schema, r);
            }
            ModelUpdate::Tables { removed, reread }
        }
        CreateTable | AlterTable => {
            let mut objs: Vec<_> = st.objects.iter().map(full).collect();
            let removed = if objs.len() > 1 {
                vec![objs.remove(0)]
            } else {
                vec![]
            };
            for r in &removed {
                remove(schema, r);
            }
            ModelUpdate::Tables {
                removed,
                reread: objs,
            }
        }
        CreateIndex | DropIndex => ModelUpdate::Tables {
            removed: vec![],
            reread: st.objects.get(1).map(full).into_iter().collect(),
        },
        _ => ModelUpdate::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{NameMap, Renames};
    use crate::version::ServerVersion;

    fn kinds(sql: &str) -> (DdlKind, Vec<String>) {
        let s = classify(sql);
        (
            s.kind,
            s.objects
                .iter()
                .map(|o| match &o.database {
                    Some(d) => format!("{d}.{}", o.name),
                    None => o.name.clone(),
                })
                .collect(),
        )
    }

    #[test]
    fn classifies_every_kind() {
        use DdlKind::*;
        let cases: &[(&str, DdlKind, &[&str])] = &[
            ("CREATE TABLE IF NOT EXISTS `a` (x int)", CreateTable, &["a"]),
            ("create temporary table d.t like d.u", CreateTable, &["d.t"]),
            ("ALTER TABLE t ADD c int, RENAME TO u", AlterTable, &["t", "u"]),
            ("DROP TABLE `t1`,`d`.`t2` /* generated by server */", DropTable, &["t1", "d.t2"]),
            ("RENAME TABLE a TO b, c TO d.e", RenameTable, &["a", "b", "c", "d.e"]),
            ("TRUNCATE TABLE t", TruncateTable, &["t"]),
            ("TRUNCATE t", TruncateTable, &["t"]),
            ("CREATE UNIQUE INDEX i ON t (a)", CreateIndex, &["i", "t"]),
            ("DROP INDEX i ON d.t", DropIndex, &["i", "d.t"]),
            ("CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW v AS SELECT 1", CreateView, &["v"]),
            ("CREATE OR REPLACE VIEW v AS SELECT 1", CreateView, &["v"]),
            ("ALTER VIEW v AS SELECT 2", AlterView, &["v"]),
            ("DROP VIEW IF EXISTS v, w", DropView, &["v", "w"]),
            ("CREATE DEFINER=`root`@`%` PROCEDURE p() BEGIN SELECT 1; END", CreateProcedure, &["p"]),
            ("ALTER PROCEDURE p COMMENT 'x'", AlterProcedure, &["p"]),
            ("DROP PROCEDURE IF EXISTS p", DropProcedure, &["p"]),
            ("CREATE DEFINER=root@localhost FUNCTION f() RETURNS int RETURN 1", CreateFunction, &["f"]),
            ("ALTER FUNCTION f COMMENT 'x'", AlterFunction, &["f"]),
            ("DROP FUNCTION f", DropFunction, &["f"]),
            ("CREATE DEFINER=`root`@`localhost` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1", CreateTrigger, &["tr", "t"]),
            ("DROP TRIGGER d.tr", DropTrigger, &["d.tr"]),
            ("CREATE DATABASE IF NOT EXISTS x", CreateDatabase, &["x"]),
            ("ALTER DATABASE x CHARACTER SET utf8mb4", AlterDatabase, &["x"]),
            ("DROP SCHEMA x", DropDatabase, &["x"]),
            ("BEGIN", Other, &[]),
            ("INSERT INTO t VALUES (1)", Other, &[]),
            ("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1", Other, &[]),
            ("'unterminated", Other, &[]),
            ("", Other, &[]),
        ];
        for (sql, kind, objs) in cases {
            let (k, o) = kinds(sql);
            assert_eq!(
                (k, o.iter().map(String::as_str).collect::<Vec<_>>()),
                (*kind, objs.to_vec()),
                "{sql}"
            );
        }
    }

    #[test]
    fn maps_collations_the_target_lacks_after_collate_only() {
        let opts = |target: &str| TranslateOptions {
            target: ServerVersion::parse(target).unwrap(),
            names: NameMap::new(Renames::default(), crate::CasePolicy::Keep),
            definer: DefinerPolicy::Invoker,
        };
        let sql = "CREATE TABLE `utf8mb4_0900_ai_ci` (a VARCHAR(5) CHARACTER SET utf8mb4 \
                   COLLATE utf8mb4_0900_ai_ci, b TEXT COLLATE 'utf8mb4_0900_bin', \
                   c CHAR(1) DEFAULT 'utf8mb4_0900_ai_ci') COLLATE=utf8mb4_0900_as_cs";
        let out = rewrite_statement(sql, "d", &opts("10.11.6-MariaDB")).unwrap();
        assert_eq!(
            out,
            "CREATE TABLE `utf8mb4_0900_ai_ci` (a VARCHAR(5) CHARACTER SET utf8mb4 \
             COLLATE utf8mb4_uca1400_nopad_ai_ci, b TEXT COLLATE utf8mb4_nopad_bin, \
             c CHAR(1) DEFAULT 'utf8mb4_0900_ai_ci') COLLATE=utf8mb4_uca1400_nopad_as_cs"
        );
        // A MySQL 8 target keeps them.
        assert_eq!(rewrite_statement(sql, "d", &opts("8.0.36")).unwrap(), sql);
    }

    #[test]
    fn rewrites_names_and_definers() {
        let opts = TranslateOptions {
            target: ServerVersion::parse("10.11.6-MariaDB").unwrap(),
            names: NameMap::new(
                Renames::default()
                    .database("d", "d2")
                    .table("d", "t", "t_new"),
                crate::CasePolicy::Keep,
            ),
            definer: DefinerPolicy::Invoker,
        };
        let r = |s: &str| rewrite_statement(s, "d", &opts).unwrap();
        assert_eq!(r("RENAME TABLE t TO u"), "RENAME TABLE `t_new` TO u");
        assert_eq!(
            r("ALTER TABLE d.t ADD c int"),
            "ALTER TABLE `d2`.`t_new` ADD c int"
        );
        assert_eq!(
            r("CREATE DEFINER=`root`@`%` VIEW v AS SELECT 1"),
            "CREATE  SQL SECURITY INVOKER VIEW v AS SELECT 1"
        );
        assert_eq!(
            r("DROP TABLE `x` /* generated by server */"),
            "DROP TABLE `x` /* generated by server */"
        );
    }
}
