//! Schema translation fed with MySQL's own `SHOW CREATE` text, and MariaDB's.
//!
//! - The fixtures in `tests/fixtures/mysql-8.0.36` and `mysql-8.4.3` are
//!   MySQL's output, written for these tests in its exact format
//!   (utf8mb4_0900 collations, functional and multi-valued indexes, CHECK
//!   constraints enforced or not, invisible columns and indexes, SRID
//!   columns, expression defaults, JSON, generated columns, partitions,
//!   `/*!80016 ... */` guards, DEFINER and SQL SECURITY on views and
//!   routines, triggers, events).
//! - Planned for a MySQL 8 target, nothing changes but what the DEFINER
//!   rule says (DEFINER removed, SQL SECURITY INVOKER) and the foreign keys
//!   moving after the data: every other byte is the source's, and the plans
//!   are kept as golden files (`plan.mysql-*.sql`; `DTS_BLESS=1` rewrites
//!   them).
//! - Planned for the MariaDB target, every change is a warning (the list is
//!   exact), what MariaDB cannot create is refused naming the object and the
//!   construct, and the plan runs on the real target, whose `SHOW CREATE`
//!   then has what the plan promised.
//! - MariaDB text read from the live source (uuid, inet6, inet4, JSON as
//!   LONGTEXT with its CHECK, compressed columns behind `/*M!` guards,
//!   IGNORED indexes, a database comment, sequences, system versioning)
//!   planned for MySQL 8 lists every change and refuses what MySQL lacks.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dts_test_support::{connect, exec, quote_ident, Server, TestDatabases};
use mysql_async::prelude::*;
use schema_diff::extract::{extract_schema, server_version};
use schema_diff::model::{
    Database, Event, ObjectKind, Routine, RoutineKind, Schema, Table, Trigger, View,
};
use schema_diff::names::{NameMap, Renames};
use schema_diff::plan::{plan, Phase, Plan};
use schema_diff::tokens::{tokenize, Tok};
use schema_diff::translate::{DefinerPolicy, TranslateOptions};
use schema_diff::{CasePolicy, ServerVersion};
use sqlparser::tokenizer::Token;

/// One fixture directory: the server that printed it, its database, and
/// the tables MariaDB cannot create (with the construct the error names).
struct Fixture {
    dir: &'static str,
    server: &'static str,
    db: &'static str,
    refused_on_mariadb: &'static [(&'static str, &'static str)],
}

const FIXTURES: &[Fixture] = &[
    Fixture {
        dir: "mysql-8.0.36",
        server: "8.0.36",
        db: "shop",
        refused_on_mariadb: &[
            ("customer_search", "the functional index `name_lower`"),
            ("reviews", "the full-text parser ngram of index `body`"),
        ],
    },
    Fixture {
        dir: "mysql-8.4.3",
        server: "8.4.3",
        db: "crm",
        refused_on_mariadb: &[("profiles", "the functional index `zips`")],
    },
];

fn fixture_dir(f: &Fixture) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(f.dir)
}

/// The fixture as the model extraction would give it: each object's text,
/// and the names the translator needs.
fn load(f: &Fixture) -> Schema {
    let mut db = Database {
        name: f.db.into(),
        charset: "utf8mb4".into(),
        collation: "utf8mb4_0900_ai_ci".into(),
        ..Database::default()
    };
    let mut files: Vec<_> = std::fs::read_dir(fixture_dir(f))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("plan.")
        })
        .collect();
    files.sort();
    for path in files {
        let file = path.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let (kind, name) = file.split_once('.').unwrap_or((file.as_str(), ""));
        let (name, create_sql) = (name.to_string(), text.clone());
        match kind {
            "database" => db.create_sql = text,
            "table" => db.tables.push(Table {
                name,
                table_type: "BASE TABLE".into(),
                create_sql,
                ..Table::default()
            }),
            "view" => db.views.push(View {
                name,
                create_sql,
                ..View::default()
            }),
            "procedure" | "function" => db.routines.push(Routine {
                name,
                kind: if kind == "procedure" {
                    RoutineKind::Procedure
                } else {
                    RoutineKind::Function
                },
                params: vec![],
                returns: None,
                body: String::new(),
                deterministic: false,
                data_access: String::new(),
                security_type: String::new(),
                definer: String::new(),
                sql_mode: String::new(),
                comment: String::new(),
                create_sql,
            }),
            "trigger" => {
                let on = text.split(" ON `").nth(1).unwrap();
                let table = on.split('`').next().unwrap().to_string();
                db.triggers.push(Trigger {
                    name,
                    table,
                    create_sql,
                    ..Trigger::default()
                });
            }
            "event" => db.events.push(Event {
                name,
                create_sql,
                ..Event::default()
            }),
            other => panic!("{}: unknown object kind {other}", path.display()),
        }
    }
    db.sort();
    Schema {
        server: Some(ServerVersion::parse(f.server).unwrap()),
        databases: vec![db],
    }
}

fn options(target: &ServerVersion, names: NameMap) -> TranslateOptions {
    TranslateOptions {
        target: target.clone(),
        names,
        definer: DefinerPolicy::Invoker,
    }
}

/// The DEFINER rule, stated again independently of the translator: the
/// `DEFINER=account` clause's bytes removed; views get SQL SECURITY
/// INVOKER in place of DEFINER; routines without SQL SECURITY INVOKER get
/// it as their last characteristic.
fn invoker_rule(kind: ObjectKind, text: &str) -> String {
    let mut out = text.to_string();
    let start = out.find("DEFINER=`").expect("a DEFINER clause");
    // DEFINER=`user`@`host`: two quoted names (no backtick inside them in
    // the fixtures) around an @.
    let after = start + "DEFINER=".len();
    let user_end = after + 1 + out[after + 1..].find('`').unwrap() + 1;
    assert_eq!(&out[user_end..user_end + 2], "@`");
    let host_end = user_end + 2 + out[user_end + 2..].find('`').unwrap() + 1;
    out.replace_range(start..host_end, "");
    match kind {
        ObjectKind::View => out.replacen("SQL SECURITY DEFINER", "SQL SECURITY INVOKER", 1),
        ObjectKind::Procedure | ObjectKind::Function => {
            if out.contains("\n    SQL SECURITY INVOKER\n") {
                return out;
            }
            let characteristic = |l: &str| {
                l.starts_with("    ")
                    && [
                        "DETERMINISTIC",
                        "NOT DETERMINISTIC",
                        "NO SQL",
                        "CONTAINS SQL",
                        "READS SQL DATA",
                        "MODIFIES SQL DATA",
                        "SQL SECURITY",
                        "COMMENT",
                        "LANGUAGE SQL",
                    ]
                    .iter()
                    .any(|c| l.trim_start().starts_with(c))
            };
            let mut at = out.find('\n').unwrap() + 1;
            while characteristic(&out[at..]) {
                at += out[at..].find('\n').unwrap() + 1;
            }
            out.insert_str(at, "SQL SECURITY INVOKER\n");
            out
        }
        _ => out,
    }
}

/// A CREATE TABLE with its foreign keys cut out (the element and the comma
/// before it), and the `ALTER TABLE ... ADD` statement of each.
fn split_foreign_keys(table: &str, text: &str) -> (String, Vec<String>) {
    let mut out = text.to_string();
    let mut alters = Vec::new();
    for line in text.lines() {
        if line.starts_with("  CONSTRAINT ") && line.contains(" FOREIGN KEY (") {
            let element = line.trim_start().trim_end_matches(',');
            let cut = format!(",\n  {element}");
            assert!(out.contains(&cut), "{cut}");
            out = out.replacen(&cut, "", 1);
            alters.push(format!("ALTER TABLE `{table}` ADD {element}"));
        }
    }
    (out, alters)
}

fn statement<'a>(p: &'a Plan, kind: ObjectKind, name: &str) -> &'a str {
    &p.statements
        .iter()
        .find(|s| s.object.kind == kind && s.object.name == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the plan"))
        .sql
}

/// Compares `text` with the golden file `name` of the fixture, or writes
/// it when `DTS_BLESS` is set.
fn golden(f: &Fixture, name: &str, text: &str) {
    let path = fixture_dir(f).join(name);
    if std::env::var_os("DTS_BLESS").is_some() {
        std::fs::write(&path, text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing: run with DTS_BLESS=1", path.display()));
    assert_eq!(
        text,
        want,
        "{} differs (DTS_BLESS=1 rewrites it after review)",
        path.display()
    );
}

#[test]
fn mysql_text_for_mysql_8_changes_only_what_the_definer_rule_says() {
    for f in FIXTURES {
        let schema = load(f);
        let db = &schema.databases[0];
        for target in ["8.0.36", "8.4.3"] {
            let target = ServerVersion::parse(target).unwrap();
            let p = plan(&schema, &options(&target, NameMap::default())).unwrap();
            assert!(
                p.warnings.is_empty(),
                "{} on {target}: nothing should change, yet: {:#?}",
                f.dir,
                p.warnings
            );
            let mut expected_statements = 1;
            assert_eq!(
                statement(&p, ObjectKind::Database, ""),
                db.create_sql,
                "{target}"
            );
            let mut alters = Vec::new();
            for t in &db.tables {
                let (create, fks) = split_foreign_keys(&t.name, &t.create_sql);
                assert_eq!(
                    statement(&p, ObjectKind::Table, &t.name),
                    create,
                    "{}.{} on {target}",
                    f.db,
                    t.name
                );
                expected_statements += 1 + fks.len();
                alters.extend(fks);
            }
            let planned_fks: Vec<&str> = p
                .phase(Phase::ForeignKeys)
                .map(|s| s.sql.as_str())
                .collect();
            assert_eq!(planned_fks, alters, "{target}");
            for v in &db.views {
                let want = invoker_rule(ObjectKind::View, &v.create_sql);
                assert_eq!(statement(&p, ObjectKind::View, &v.name), want, "{target}");
            }
            for r in &db.routines {
                let kind = match r.kind {
                    RoutineKind::Procedure => ObjectKind::Procedure,
                    RoutineKind::Function => ObjectKind::Function,
                };
                let want = invoker_rule(kind, &r.create_sql);
                assert_eq!(statement(&p, kind, &r.name), want, "{target}");
            }
            for t in &db.triggers {
                let want = invoker_rule(ObjectKind::Trigger, &t.create_sql);
                assert_eq!(statement(&p, ObjectKind::Trigger, &t.name), want);
            }
            for e in &db.events {
                let want = invoker_rule(ObjectKind::Event, &e.create_sql);
                assert_eq!(statement(&p, ObjectKind::Event, &e.name), want);
            }
            expected_statements +=
                db.views.len() + db.routines.len() + db.triggers.len() + db.events.len();
            assert_eq!(p.statements.len(), expected_statements, "{target}");
            golden(
                f,
                &format!("plan.mysql-{target}.sql", target = short(&target)),
                &p.to_string(),
            );
        }
    }
}

fn short(v: &ServerVersion) -> String {
    format!("{}.{}.{}", v.major, v.minor, v.patch)
}

/// What a CREATE TABLE says about a table's structure, as far as MariaDB's
/// `SHOW CREATE TABLE` prints it the same way the planned statement says it
/// (names, invisibility, generated columns and their CHECKs, index kinds
/// and IGNORED, named CHECK constraints, partitions); types and expressions
/// are left out, MariaDB prints them its own way.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    columns: Vec<String>,
    indexes: Vec<String>,
    checks: Vec<String>,
    unnamed_checks: usize,
    partitions: Vec<String>,
}

fn shape(text: &str, on: &ServerVersion) -> Shape {
    let t = tokenize(text).unwrap();
    let toks: Vec<Tok> = t.live(on);
    let open = toks.iter().position(|t| t.token == Token::LParen).unwrap();
    let mut elements: Vec<Vec<&Tok>> = vec![vec![]];
    let mut depth = 0;
    let mut close = open;
    for (k, tk) in toks.iter().enumerate().skip(open + 1) {
        match tk.token {
            Token::LParen => depth += 1,
            Token::RParen if depth == 0 => {
                close = k;
                break;
            }
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => {
                elements.push(vec![]);
                continue;
            }
            _ => {}
        }
        elements.last_mut().unwrap().push(tk);
    }
    let words = |el: &[&Tok]| -> Vec<String> {
        el.iter()
            .map(|t| {
                t.keyword()
                    .unwrap_or_else(|| text[t.span.clone()].to_ascii_lowercase())
            })
            .collect()
    };
    let mut s = Shape {
        columns: vec![],
        indexes: vec![],
        checks: vec![],
        unnamed_checks: 0,
        partitions: vec![],
    };
    for el in &elements {
        let w = words(el);
        let first = el.first().unwrap();
        let has = |k: &str| w.iter().any(|x| x == k);
        if matches!(&first.token, Token::Word(x) if x.quote_style == Some('`')) {
            let mut c = first.ident().unwrap().to_string();
            if has("INVISIBLE") {
                c.push_str(" invisible");
            }
            for g in ["VIRTUAL", "STORED", "PERSISTENT"] {
                if has(g) {
                    c.push_str(if g == "VIRTUAL" {
                        " virtual"
                    } else {
                        " stored"
                    });
                }
            }
            if let Some(k) = w.iter().position(|x| x == "CHECK") {
                c.push_str(" check ");
                c.push_str(&w[k + 1..].concat().to_ascii_lowercase());
            }
            s.columns.push(c);
        } else if has("FOREIGN") {
            // Created by the foreign-key phase; compared apart.
        } else if first.is_kw("CONSTRAINT") && has("CHECK") {
            s.checks.push(el[1].ident().unwrap().to_string());
        } else if first.is_kw("CHECK") {
            s.unnamed_checks += 1;
        } else {
            let kind = if first.is_kw("PRIMARY") {
                "primary".to_string()
            } else {
                let i = w.iter().position(|x| x == "KEY" || x == "INDEX").unwrap();
                format!(
                    "{} {}",
                    w[..i].join(" ").to_ascii_lowercase(),
                    el[i + 1].ident().unwrap()
                )
            };
            let ignored = if has("IGNORED") { " ignored" } else { "" };
            s.indexes.push(format!("{}{ignored}", kind.trim()));
        }
    }
    // Partitions: the names after PARTITION in the partition list, or the
    // count after PARTITIONS.
    let rest = &toks[close + 1..];
    for (k, tk) in rest.iter().enumerate() {
        if tk.is_kw("PARTITION") {
            if let Some(n) = rest.get(k + 1).and_then(|n| n.ident()) {
                if !n.eq_ignore_ascii_case("BY") {
                    s.partitions.push(n.to_string());
                }
            }
        }
        if tk.is_kw("PARTITIONS") {
            s.partitions
                .push(format!("{} partitions", &text[rest[k + 1].span.clone()]));
        }
    }
    s.indexes.sort();
    s.checks.sort();
    s
}

/// The warnings MariaDB's plan gives for each fixture: every change, and
/// nothing else (`{target}` is the target server).
fn expected_mariadb_warnings(f: &Fixture) -> Vec<&'static str> {
    match f.db {
        "shop" => vec![
            "database `shop`: collation utf8mb4_0900_ai_ci does not exist on {target}; mapped to utf8mb4_uca1400_nopad_ai_ci",
            "database `shop`: /*!80016 DEFAULT ENCRYPTION='N' */ is a comment to {target}: what it says on the source is not reproduced",
            "table `shop`.`audit_log`: collation utf8mb4_0900_ai_ci does not exist on {target}; mapped to utf8mb4_uca1400_nopad_ai_ci",
            "table `shop`.`customers`: collation utf8mb4_0900_as_cs does not exist on {target}; mapped to utf8mb4_uca1400_nopad_as_cs",
            "table `shop`.`customers`: collation utf8mb4_0900_ai_ci does not exist on {target}; mapped to utf8mb4_uca1400_nopad_ai_ci",
            "table `shop`.`customers`: column `tags`: json is MariaDB's LONGTEXT with a json_valid CHECK; documents are copied as the source's JSON text",
            "table `shop`.`customers`: column `internal_note`: /*!80023 INVISIBLE */ is a comment to {target}; written as INVISIBLE",
            "table `shop`.`customers`: index `created_at`: /*!80000 INVISIBLE */ is a comment to {target}; written as IGNORED",
            "table `shop`.`legacy`: collation utf8mb4_0900_ai_ci does not exist on {target}; mapped to utf8mb4_uca1400_nopad_ai_ci",
            "table `shop`.`orders`: generated column `total`: NOT NULL written as CHECK (`total` IS NOT NULL) ({target} refuses NOT NULL on generated columns)",
            "table `shop`.`orders`: CONSTRAINT `price_sane` CHECK ((`unit_price` < 100000)) is not enforced on the source; {target} enforces every CHECK constraint, so it is not created",
            "table `shop`.`orders`: collation utf8mb4_0900_ai_ci does not exist on {target}; mapped to utf8mb4_uca1400_nopad_ai_ci",
            "table `shop`.`places`: collation utf8mb4_0900_ai_ci does not exist on {target}; mapped to utf8mb4_uca1400_nopad_ai_ci",
            "table `shop`.`places`: column `location`: SRID 4326 written as MariaDB's REF_SYSTEM_ID=4326",
            "table `shop`.`places`: column `area`: SRID 4326 written as MariaDB's REF_SYSTEM_ID=4326",
            "table `shop`.`sessions`: collation utf8mb4_0900_ai_ci does not exist on {target}; mapped to utf8mb4_uca1400_nopad_ai_ci",
            "table `shop`.`sessions`: column `data`: json is MariaDB's LONGTEXT with a json_valid CHECK; documents are copied as the source's JSON text",
            "function `shop`.`display_name`: collation utf8mb4_0900_as_cs does not exist on {target}; mapped to utf8mb4_uca1400_nopad_as_cs",
        ],
        "crm" => vec![
            "database `crm`: collation utf8mb4_0900_ai_ci does not exist on {target}; mapped to utf8mb4_uca1400_nopad_ai_ci",
            "database `crm`: /*!80016 DEFAULT ENCRYPTION='N' */ is a comment to {target}: what it says on the source is not reproduced",
            "table `crm`.`contacts`: CONSTRAINT `score_range` CHECK (((`score` >= 0) and (`score` <= 100))) is not enforced on the source; {target} enforces every CHECK constraint, so it is not created",
            "table `crm`.`contacts`: collation utf8mb4_0900_as_ci does not exist on {target}; mapped to utf8mb4_uca1400_nopad_as_ci",
            "table `crm`.`contacts`: column `profile`: json is MariaDB's LONGTEXT with a json_valid CHECK; documents are copied as the source's JSON text",
            "table `crm`.`contacts`: column `secret`: /*!80023 INVISIBLE */ is a comment to {target}; written as INVISIBLE",
            "table `crm`.`contacts`: index `last_seen`: /*!80000 INVISIBLE */ is a comment to {target}; written as IGNORED",
            "table `crm`.`metrics`: collation utf8mb4_0900_ai_ci does not exist on {target}; mapped to utf8mb4_uca1400_nopad_ai_ci",
            "table `crm`.`notes`: collation utf8mb4_0900_ai_ci does not exist on {target}; mapped to utf8mb4_uca1400_nopad_ai_ci",
            "table `crm`.`notes`: column `my_row_id`: /*!80023 INVISIBLE */ is a comment to {target}; written as INVISIBLE",
            "table `crm`.`visits`: collation utf8mb4_0900_ai_ci does not exist on {target}; mapped to utf8mb4_uca1400_nopad_ai_ci",
            "table `crm`.`zones`: collation utf8mb4_de_pb_0900_ai_ci does not exist on {target}; mapped to utf8mb4_uca1400_german2_nopad_ai_ci",
            "table `crm`.`zones`: column `shape`: SRID 3857 written as MariaDB's REF_SYSTEM_ID=3857",
            "table `crm`.`zones`: column `center`: SRID 3857 written as MariaDB's REF_SYSTEM_ID=3857",
        ],
        other => panic!("no expected warnings for {other}"),
    }
}

async fn target_version() -> ServerVersion {
    let mut t = connect(Server::Target, None).await;
    let v = server_version(&mut t).await.unwrap();
    t.disconnect().await.ok();
    v
}

#[tokio::test]
async fn mysql_text_for_mariadb_lists_every_change_and_runs_on_the_target() {
    let target = target_version().await;
    assert!(target.is_mariadb(), "the test target is MariaDB: {target}");
    for f in FIXTURES {
        let dbs = TestDatabases::new(&format!("mysql_text_{}", f.db)).await;
        let names = NameMap::new(
            Renames::default().database(f.db, &dbs.name),
            CasePolicy::Keep,
        );
        let opts = options(&target, names);
        let mut schema = load(f);

        // What MariaDB cannot create is refused, naming the object and the
        // construct, never dropped.
        for (table, construct) in f.refused_on_mariadb {
            let mut alone = schema.clone();
            alone.databases[0].tables.retain(|t| t.name == *table);
            alone.databases[0].views.clear();
            alone.databases[0].routines.clear();
            alone.databases[0].triggers.clear();
            alone.databases[0].events.clear();
            let e = plan(&alone, &opts).unwrap_err().to_string();
            assert!(
                e.contains(&format!("table `{}`.`{table}`", f.db)) && e.contains(construct),
                "{table}: {e}"
            );
        }
        schema.databases[0]
            .tables
            .retain(|t| !f.refused_on_mariadb.iter().any(|(r, _)| *r == t.name));

        let p = plan(&schema, &opts).unwrap();
        let got: Vec<String> = p
            .warnings
            .iter()
            .map(|w| w.to_string().replace(&target.to_string(), "{target}"))
            .collect();
        let want: Vec<String> = expected_mariadb_warnings(f)
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(got, want, "{}: the warnings, exactly", f.dir);

        // The plan runs on the real target.
        let mut t = connect(Server::Target, None).await;
        exec(
            &mut t,
            &format!("DROP DATABASE IF EXISTS {}", quote_ident(&dbs.name)),
        )
        .await;
        common::run_plan(&p).await.unwrap();

        // The target's SHOW CREATE TABLE has what the plan promised.
        let db = &schema.databases[0];
        for table in &db.tables {
            let planned = statement(&p, ObjectKind::Table, &table.name);
            let (_, created): (String, String) = t
                .query_first(format!(
                    "SHOW CREATE TABLE {}.{}",
                    quote_ident(&dbs.name),
                    quote_ident(&table.name)
                ))
                .await
                .unwrap()
                .unwrap();
            let mut promised = shape(planned, &target);
            // MariaDB's json is LONGTEXT with a json_valid CHECK of its own.
            for c in &mut promised.columns {
                let name = c.split(' ').next().unwrap().to_string();
                if planned.contains(&format!("`{name}` json ")) {
                    c.push_str(
                        &format!(" check (json_valid(`{name}`))")
                            .replace(' ', "")
                            .replacen("check", " check ", 1),
                    );
                }
            }
            let actual = shape(&created, &target);
            assert_eq!(actual, promised, "{}.{}:\n{created}", f.db, table.name);
            // SRIDs, which SHOW CREATE does not print.
            for (col, srid) in ref_system_ids(planned) {
                let got: Option<u32> = t
                    .exec_first(
                        "SELECT SRID FROM information_schema.GEOMETRY_COLUMNS \
                         WHERE G_TABLE_SCHEMA = ? AND G_TABLE_NAME = ? AND G_GEOMETRY_COLUMN = ?",
                        (&dbs.name, &table.name, &col),
                    )
                    .await
                    .unwrap();
                assert_eq!(got, Some(srid), "{}.{}", table.name, col);
            }
        }
        // Foreign keys, by name.
        for fk in p.phase(Phase::ForeignKeys) {
            let name = fk.object.name.clone();
            let n: Option<i64> = t
                .exec_first(
                    "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS \
                     WHERE CONSTRAINT_SCHEMA = ? AND CONSTRAINT_NAME = ?",
                    (&dbs.name, &name),
                )
                .await
                .unwrap();
            assert_eq!(n, Some(1), "{name}");
        }
        // Views and routines run with the caller's rights.
        let views: BTreeMap<String, (String, String)> = t
            .exec::<(String, String, String), _, _>(
                "SELECT TABLE_NAME, SECURITY_TYPE, CHECK_OPTION FROM information_schema.VIEWS \
                 WHERE TABLE_SCHEMA = ?",
                (&dbs.name,),
            )
            .await
            .unwrap()
            .into_iter()
            .map(|(n, s, c)| (n, (s, c)))
            .collect();
        assert_eq!(views.len(), db.views.len());
        for v in &db.views {
            let (security, check) = &views[&v.name];
            assert_eq!(security, "INVOKER", "{}", v.name);
            let want = if v.create_sql.contains("CASCADED CHECK OPTION") {
                "CASCADED"
            } else if v.create_sql.contains("LOCAL CHECK OPTION") {
                "LOCAL"
            } else {
                "NONE"
            };
            assert_eq!(check, want, "{}", v.name);
        }
        let routines: Vec<(String, String)> = t
            .exec(
                "SELECT ROUTINE_NAME, SECURITY_TYPE FROM information_schema.ROUTINES \
                 WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_NAME",
                (&dbs.name,),
            )
            .await
            .unwrap();
        assert_eq!(routines.len(), db.routines.len());
        assert!(routines.iter().all(|(_, s)| s == "INVOKER"), "{routines:?}");
        let triggers: Vec<(String, String)> = t
            .exec(
                "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS \
                 WHERE TRIGGER_SCHEMA = ? ORDER BY ACTION_ORDER",
                (&dbs.name,),
            )
            .await
            .unwrap();
        let want: Vec<(String, String)> = db
            .triggers
            .iter()
            .map(|t| (t.name.clone(), t.table.clone()))
            .collect();
        assert_eq!(triggers, want);
        let events: Vec<(String, String)> = t
            .exec(
                "SELECT EVENT_NAME, STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?",
                (&dbs.name,),
            )
            .await
            .unwrap();
        assert_eq!(events.len(), db.events.len());
        for (name, status) in &events {
            let e = db.events.iter().find(|e| &e.name == name).unwrap();
            let want = if e.create_sql.contains(" DISABLE ") {
                "DISABLED"
            } else {
                "ENABLED"
            };
            assert_eq!(status, want, "{name}");
        }
        t.disconnect().await.ok();
        dbs.cleanup().await;
    }
}

/// (column, SRID) for each `REF_SYSTEM_ID=n` in a planned CREATE TABLE.
fn ref_system_ids(planned: &str) -> Vec<(String, u32)> {
    planned
        .lines()
        .filter_map(|l| {
            let (_, n) = l.split_once("REF_SYSTEM_ID=")?;
            let col = l.trim_start().strip_prefix('`')?.split('`').next()?;
            let n: String = n.chars().take_while(char::is_ascii_digit).collect();
            Some((col.to_string(), n.parse().ok()?))
        })
        .collect()
}

/// MariaDB's own constructs, created on the live source.
const MARIADB_OBJECTS: &[&str] = &[
    "ALTER DATABASE {db} COMMENT 'crm data'",
    "CREATE TABLE kinds (
        id uuid NOT NULL PRIMARY KEY,
        ip inet6,
        ip4 inet4,
        doc json,
        note varchar(100) COMPRESSED,
        hidden int INVISIBLE DEFAULT 0,
        k int,
        name varchar(50) COLLATE utf8mb4_uca1400_german2_ai_ci,
        code varchar(8) COLLATE utf8mb4_uca1400_nopad_as_cs,
        KEY kk (k) IGNORED
     ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_ai_ci",
    "CREATE SEQUENCE seq_ids START WITH 10 INCREMENT BY 5",
    "CREATE TABLE history (id int PRIMARY KEY, x int) WITH SYSTEM VERSIONING",
    "CREATE VIEW positive_kinds AS SELECT id, k FROM kinds WHERE k > 0",
    "CREATE FUNCTION plus_one(x int) RETURNS int DETERMINISTIC RETURN x + 1",
];

#[tokio::test]
async fn mariadb_text_for_mysql_8_lists_every_change_and_refuses_what_mysql_lacks() {
    let dbs = TestDatabases::new("maria_text").await;
    let mut src = dbs.source().await;
    for s in MARIADB_OBJECTS {
        exec(&mut src, &s.replace("{db}", &quote_ident(&dbs.name))).await;
    }
    let source = extract_schema(&mut src, std::slice::from_ref(&dbs.name))
        .await
        .unwrap();
    src.disconnect().await.ok();
    let kinds = source.databases[0]
        .table("kinds")
        .unwrap()
        .create_sql
        .clone();
    assert!(kinds.contains("/*M!100301 COMPRESSED*/"), "{kinds}");

    for target in ["8.0.36", "8.4.3"] {
        let target = ServerVersion::parse(target).unwrap();
        let opts = options(&target, NameMap::default());
        // A sequence and a system-versioned table: refused, each naming
        // its object and the construct.
        let e = plan(&source, &opts).unwrap_err().to_string();
        for (table, construct) in [
            ("seq_ids", "a MariaDB SEQUENCE"),
            ("history", "WITH SYSTEM VERSIONING"),
        ] {
            assert!(
                e.contains(&format!("table `{}`.`{table}`", dbs.name)) && e.contains(construct),
                "{table} on {target}: {e}"
            );
        }
        let mut rest = source.clone();
        rest.databases[0]
            .tables
            .retain(|t| t.name != "seq_ids" && t.name != "history");
        let p = plan(&rest, &opts).unwrap();
        let got: Vec<String> = p
            .warnings
            .iter()
            .map(|w| {
                w.to_string()
                    .replace(&target.to_string(), "{target}")
                    .replace(&dbs.name, "{db}")
            })
            .collect();
        let want = [
            "database `{db}`: COMMENT 'crm data' dropped: {target} databases have no comment",
            "table `{db}`.`kinds`: collation utf8mb4_uca1400_german2_ai_ci does not exist on {target}; mapped to utf8mb4_de_pb_0900_ai_ci (NO PAD: trailing spaces count in comparisons on the target)",
            "table `{db}`.`kinds`: collation utf8mb4_uca1400_nopad_as_cs does not exist on {target}; mapped to utf8mb4_0900_as_cs",
            "table `{db}`.`kinds`: collation utf8mb4_uca1400_ai_ci does not exist on {target}; mapped to utf8mb4_0900_ai_ci (NO PAD: trailing spaces count in comparisons on the target)",
            "table `{db}`.`kinds`: type uuid is MariaDB-only; mapped to char(36) (values are copied as text)",
            "table `{db}`.`kinds`: type inet6 is MariaDB-only; mapped to varchar(45) (values are copied as text)",
            "table `{db}`.`kinds`: type inet4 is MariaDB-only; mapped to varchar(15) (values are copied as text)",
            "table `{db}`.`kinds`: IGNORED index mapped to an INVISIBLE index",
            "table `{db}`.`kinds`: /*M!100301 COMPRESSED*/ is a comment to {target}: what it says on the source is not reproduced",
        ];
        assert_eq!(got, want, "{target}");
        let planned = statement(&p, ObjectKind::Table, "kinds");
        for (from, to) in [
            ("`id` uuid NOT NULL", "`id` char(36) NOT NULL"),
            ("`ip` inet6 ", "`ip` varchar(45) "),
            ("`ip4` inet4 ", "`ip4` varchar(15) "),
            ("KEY `kk` (`k`) IGNORED", "KEY `kk` (`k`) INVISIBLE"),
        ] {
            assert!(kinds.contains(from), "{from}: {kinds}");
            assert!(planned.contains(to), "{to}: {planned}");
        }
        // What MySQL takes as it is stays byte for byte: the JSON column's
        // CHECK, the invisible column, the guard MySQL reads as a comment.
        for same in [
            "CHECK (json_valid(`doc`))",
            "INVISIBLE DEFAULT 0",
            "/*M!100301 COMPRESSED*/",
        ] {
            assert!(
                kinds.contains(same) && planned.contains(same),
                "{same}: {planned}"
            );
        }
        let create_db = statement(&p, ObjectKind::Database, "");
        assert!(!create_db.contains("COMMENT"), "{create_db}");
        assert!(statement(&p, ObjectKind::View, "positive_kinds").contains("SQL SECURITY INVOKER"));
        assert!(statement(&p, ObjectKind::Function, "plus_one").contains("SQL SECURITY INVOKER"));
    }
    dbs.cleanup().await;
}
