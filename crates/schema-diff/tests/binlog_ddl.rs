//! The classifier on statements captured from the source's live binlog
//! (`SHOW BINLOG EVENTS`, QUERY events), with renames applied.

use dts_test_support::{binlog_position, exec, TestDatabases};
use mysql_async::prelude::*;
use schema_diff::binlog_ddl::{classify, rewrite_statement, DdlKind};
use schema_diff::names::{NameMap, Renames};
use schema_diff::translate::{DefinerPolicy, TranslateOptions};
use schema_diff::ServerVersion;

#[tokio::test]
async fn live_binlog_statements_are_classified_and_renamed() {
    let dbs = TestDatabases::new("binlog_ddl").await;
    let mut c = dbs.source().await;
    let (file, pos) = binlog_position(&mut c).await;
    let d = &dbs.name;
    let script: &[(&str, DdlKind)] = &[
        (
            "CREATE TABLE t (a int PRIMARY KEY, b int)",
            DdlKind::CreateTable,
        ),
        ("ALTER TABLE t ADD c int", DdlKind::AlterTable),
        ("CREATE INDEX ib ON t (b)", DdlKind::CreateIndex),
        ("DROP INDEX ib ON t", DdlKind::DropIndex),
        ("CREATE VIEW v AS SELECT a FROM t", DdlKind::CreateView),
        ("ALTER VIEW v AS SELECT a, b FROM t", DdlKind::AlterView),
        (
            "CREATE PROCEDURE p() BEGIN SELECT 1; END",
            DdlKind::CreateProcedure,
        ),
        ("ALTER PROCEDURE p COMMENT 'x'", DdlKind::AlterProcedure),
        (
            "CREATE FUNCTION f() RETURNS int DETERMINISTIC RETURN 1",
            DdlKind::CreateFunction,
        ),
        ("ALTER FUNCTION f COMMENT 'x'", DdlKind::AlterFunction),
        (
            "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.b = 1",
            DdlKind::CreateTrigger,
        ),
        ("DROP TRIGGER tr", DdlKind::DropTrigger),
        ("DROP FUNCTION f", DdlKind::DropFunction),
        ("DROP PROCEDURE p", DdlKind::DropProcedure),
        ("DROP VIEW v", DdlKind::DropView),
        ("TRUNCATE TABLE t", DdlKind::TruncateTable),
        ("RENAME TABLE t TO t2", DdlKind::RenameTable),
        ("DROP TABLE t2", DdlKind::DropTable),
        (
            "CREATE DATABASE IF NOT EXISTS dtst_binlog_extra_db",
            DdlKind::CreateDatabase,
        ),
        (
            "ALTER DATABASE dtst_binlog_extra_db CHARACTER SET utf8mb4",
            DdlKind::AlterDatabase,
        ),
        ("DROP DATABASE dtst_binlog_extra_db", DdlKind::DropDatabase),
    ];
    for (sql, _) in script {
        exec(&mut c, sql).await;
    }
    let rows: Vec<mysql_async::Row> = c
        .query(format!("SHOW BINLOG EVENTS IN '{file}' FROM {pos}"))
        .await
        .unwrap();
    let mut got = Vec::new();
    for r in rows {
        let kind: String = r.get("Event_type").unwrap();
        let info: String = r.get("Info").unwrap();
        if kind != "Query" {
            continue;
        }
        // SHOW BINLOG EVENTS prefixes the event's database: `use `db`; `.
        let stmt = match info.split_once("; ") {
            Some((u, s)) if u.starts_with("use ") => s.to_string(),
            _ => info.clone(),
        };
        got.push(stmt);
    }
    let opts = TranslateOptions {
        target: ServerVersion::parse("10.11.6-MariaDB").unwrap(),
        names: NameMap::new(
            Renames::default()
                .database(d, "renamed_db")
                .table(d, "t", "t_renamed"),
            schema_diff::CasePolicy::Keep,
        ),
        definer: DefinerPolicy::Invoker,
    };
    for (sql, kind) in script.iter().filter(|(_, k)| *k != DdlKind::Other) {
        let first = sql.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        let captured = got
            .iter()
            .find(|g| classify(g).kind == *kind)
            .unwrap_or_else(|| panic!("{kind:?} ({first}) not found among {got:#?}"));
        let rewritten = rewrite_statement(captured, d, &opts).unwrap();
        assert!(!rewritten.contains("DEFINER="), "{rewritten}");
        let touches_t = classify(captured)
            .objects
            .iter()
            .any(|o| o.name == "t" && o.database.as_deref().is_none_or(|x| x == d.as_str()));
        if touches_t
            && !matches!(
                kind,
                DdlKind::CreateTrigger | DdlKind::CreateIndex | DdlKind::DropIndex
            )
        {
            assert!(rewritten.contains("`t_renamed`"), "{kind:?}: {rewritten}");
        }
    }
    // Only BEGIN/COMMIT-like QUERY events are "other".
    for g in &got {
        if classify(g).kind == DdlKind::Other {
            let up = g.to_ascii_uppercase();
            assert!(
                !up.starts_with("CREATE TABLE") && !up.starts_with("DROP TABLE"),
                "{g}"
            );
        }
    }
    c.disconnect().await.ok();
    dbs.cleanup().await;
}
