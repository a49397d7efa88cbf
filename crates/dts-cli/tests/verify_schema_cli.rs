//! `dts verify --schema`: after a task migrated a database under another
//! name (a translation the comparison must expect), the definitions match;
//! changed by hand on the target, each difference is printed and the exit
//! code is 1 (tables, columns, indexes, views, routines, triggers and
//! events). Options that only make sense for rows are refused.

use std::process::Command;

use dts_test_support::{connect, exec, Server, TestDatabases};

fn task_file(dir: &std::path::Path, db: &str, target_db: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{db}.toml"));
    std::fs::write(
        &p,
        format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[[objects]]\ndatabase = \"{db}\"\n\
             target_database = \"{target_db}\"\n\
             [migration]\ntypes = [\"schema\", \"full\"]\n",
            Server::Source.url(),
            Server::Target.url()
        ),
    )
    .expect("task file");
    p
}

fn dts(args: &[&str], config: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dts"));
    c.args(args).arg("--config").arg(config);
    c
}

#[tokio::test]
async fn verify_schema_expects_the_translation_and_prints_each_difference() {
    let dbs = TestDatabases::new("verify_schema").await;
    let target_db = format!("{}_t", dbs.name);
    let mut src = dbs.source().await;
    for s in [
        "CREATE TABLE t (id INT PRIMARY KEY, a INT NOT NULL, b VARCHAR(10), KEY ka (a))",
        "CREATE TABLE u (id INT PRIMARY KEY, t_id INT, FOREIGN KEY (t_id) REFERENCES t (id))",
        "INSERT INTO t VALUES (1, 1, 'x'), (2, 2, NULL)",
        "CREATE VIEW v AS SELECT id, a FROM t",
        "CREATE PROCEDURE p() SELECT COUNT(*) FROM t",
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.b = UPPER(NEW.b)",
        "CREATE EVENT ev ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM u WHERE t_id IS NULL",
    ] {
        exec(&mut src, s).await;
    }
    let mut tgt = connect(Server::Target, None).await;
    exec(&mut tgt, &format!("DROP DATABASE `{}`", dbs.name)).await;
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{target_db}`")).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = task_file(dir.path(), &dbs.name, &target_db);
    let out = dts(&["run"], &config).output().expect("dts run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = dts(&["verify", "--schema"], &config)
        .output()
        .expect("dts verify");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("definitions match"), "{stdout}");

    for s in [
        "ALTER TABLE t DROP INDEX ka, ADD COLUMN c INT, MODIFY b VARCHAR(20)",
        "DROP VIEW v",
        "DROP PROCEDURE p",
        "DROP TRIGGER tr",
        "ALTER EVENT ev ON SCHEDULE EVERY 2 DAY",
    ] {
        exec(&mut tgt, &format!("USE `{target_db}`")).await;
        exec(&mut tgt, s).await;
    }
    let out = dts(&["verify", "--schema"], &config)
        .output()
        .expect("dts verify");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    for want in [
        "index ka: missing on the target",
        "column c: only on the target",
        "column b: ",
        "view",
        "procedure",
        "trigger",
        "event",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(want)),
            "no line with {want:?}: {stdout}"
        );
    }
    assert!(stdout.contains("7 schema differences"), "{stdout}");

    let out = dts(&["verify", "--schema", "--json"], &config)
        .output()
        .expect("dts verify");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["equal"], false);
    assert_eq!(v["differences"].as_array().map(Vec::len), Some(7), "{v}");

    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{target_db}`")).await;
    drop(src);
    drop(tgt);
    dbs.cleanup().await;
}

#[test]
fn verify_schema_refuses_the_row_options() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = task_file(dir.path(), "verify_schema_refuse", "x");
    let out = dts(&["verify", "--schema", "--sample", "5"], &config)
        .output()
        .expect("dts verify");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--sample"), "{err}");
}
