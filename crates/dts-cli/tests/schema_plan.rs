//! `dts schema plan` end to end: the printed script, run by the `mariadb`
//! client on the target, creates the renamed database with its tables,
//! foreign keys, views (SQL SECURITY INVOKER, no DEFINER) and routines.

use std::io::Write;
use std::process::{Command, Stdio};

use dts_test_support::{exec, opts, query_one, Server, TestDatabases};

#[tokio::test]
async fn the_printed_plan_runs_on_the_target() {
    let dbs = TestDatabases::new("schema_plan").await;
    let renamed = format!("{}_p", dbs.name);
    let mut src = dbs.source().await;
    for ddl in [
        "CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(20))",
        "CREATE TABLE child (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES parent (id) ON DELETE CASCADE)",
        "CREATE DEFINER = CURRENT_USER VIEW names AS SELECT name FROM parent",
        "CREATE PROCEDURE count_children(OUT n INT) BEGIN DECLARE x INT DEFAULT 0; SELECT COUNT(*) INTO x FROM child; SET n = x; END",
    ] {
        exec(&mut src, ddl).await;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_dts"))
        .args([
            "schema",
            "plan",
            "--source",
            &Server::Source.url(),
            "--target",
            &Server::Target.url(),
            "--database",
            &dbs.name,
            "--rename-database",
            &format!("{}={renamed}", dbs.name),
        ])
        .output()
        .expect("running dts schema plan");
    let script = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "dts schema plan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!script.contains("DEFINER"), "{script}");
    assert!(script.contains("SQL SECURITY INVOKER"), "{script}");
    let t = opts(Server::Target, None);
    let mut client = Command::new("mariadb")
        .args([
            "--no-defaults",
            "-h",
            t.ip_or_hostname(),
            "-P",
            &t.tcp_port().to_string(),
            "-u",
            t.user().unwrap_or("root"),
        ])
        .env("MYSQL_PWD", t.pass().unwrap_or(""))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mariadb client (install mariadb-client)");
    client
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("writing the script");
    let done = client.wait_with_output().expect("mariadb client");
    assert!(
        done.status.success(),
        "the plan did not run on the target: {}\n{script}",
        String::from_utf8_lossy(&done.stderr)
    );
    let mut tgt = dbs.target().await;
    let q = |sql: &str| sql.replace("{db}", &renamed);
    let fks: i64 = query_one(&mut tgt, &q("SELECT COUNT(*) FROM information_schema.referential_constraints WHERE constraint_schema = '{db}' AND delete_rule = 'CASCADE'")).await;
    assert_eq!(fks, 1, "the foreign key with its action");
    let sec: String = query_one(&mut tgt, &q("SELECT security_type FROM information_schema.views WHERE table_schema = '{db}' AND table_name = 'names'")).await;
    assert_eq!(sec, "INVOKER");
    let procs: i64 = query_one(&mut tgt, &q("SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = '{db}' AND security_type = 'INVOKER'")).await;
    assert_eq!(procs, 1);
    exec(&mut tgt, &q("DROP DATABASE `{db}`")).await;
    dbs.cleanup().await;
}
