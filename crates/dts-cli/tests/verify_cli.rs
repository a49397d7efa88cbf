//! `dts verify` end to end: exit codes 0 (equal), 1 (differences) and 2
//! (error); the JSON report; the printed repair script, run on the target,
//! and the applied repair, each confirmed by a second run.

use std::process::{Command, Output};

use dts_test_support::{compare_tables, exec, Server, TestDatabases};
use mysql_async::prelude::*;

fn dts_verify(db: &str, extra: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dts"));
    c.args([
        "verify",
        "--source",
        &Server::Source.url(),
        "--target",
        &Server::Target.url(),
        "--database",
        db,
    ]);
    if !extra.contains(&"--chunk-rows") {
        c.args(["--chunk-rows", "200"]);
    }
    c.args(extra).output().expect("running dts verify")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn setup(dbs: &TestDatabases) {
    let ddl = [
        "CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20) COLLATE utf8mb4_general_ci, f FLOAT)",
        "CREATE TABLE b (x INT, y VARCHAR(10))",
    ];
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(&mut src, "SET SESSION max_recursive_iterations = 100000").await;
    for d in ddl {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    let fill = "INSERT INTO a WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1000)
        SELECT i, CONCAT('v', i), i / 3 FROM s; INSERT INTO b VALUES (1, 'p'), (1, 'p'), (2, 'q')";
    exec(&mut src, fill).await;
    exec(&mut tgt, "SET SESSION max_recursive_iterations = 100000").await;
    exec(&mut tgt, fill).await;
    // Row estimates for the range plan.
    exec(&mut src, "ANALYZE TABLE a").await;
    exec(&mut tgt, "ANALYZE TABLE a").await;
}

#[tokio::test]
async fn v1_exit_codes_json_and_the_printed_repair() {
    let dbs = TestDatabases::new("verify_cli").await;
    setup(&dbs).await;
    let equal = dts_verify(&dbs.name, &[]);
    assert_eq!(equal.status.code(), Some(0), "{}", text(&equal));
    assert!(
        String::from_utf8_lossy(&equal.stdout).contains(": equal;"),
        "{}",
        text(&equal)
    );

    let mut tgt = dbs.target().await;
    exec(
        &mut tgt,
        "UPDATE a SET v = 'V7' WHERE id = 7; DELETE FROM a WHERE id = 500; DELETE FROM b WHERE x = 1 LIMIT 1",
    )
    .await;
    let json = dts_verify(&dbs.name, &["--json"]);
    assert_eq!(json.status.code(), Some(1), "{}", text(&json));
    let j: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON document");
    assert_eq!(j["schema_version"], 1);
    assert_eq!(j["equal"], false);
    let a = &j["tables"][0];
    assert_eq!(
        (a["different"].as_u64(), a["missing_on_target"].as_u64()),
        (Some(1), Some(1)),
        "{j}"
    );
    let listed = a["listed"].as_array().expect("listed");
    assert!(
        listed
            .iter()
            .any(|d| d["kind"] == "different" && d["key"]["id"] == 7 && d["columns"][0] == "v"),
        "{j}"
    );
    assert!(
        listed
            .iter()
            .any(|d| d["kind"] == "missing_on_target" && d["key"]["id"] == 500),
        "{j}"
    );
    assert_eq!(j["tables"][1]["method"], "multiset");
    assert_eq!(j["tables"][1]["missing_on_target"], 1);

    // The printed script, run by the client.
    let print = dts_verify(&dbs.name, &["--repair", "print"]);
    assert_eq!(print.status.code(), Some(1), "{}", text(&print));
    let script = String::from_utf8_lossy(&print.stdout).into_owned();
    assert!(script.starts_with("SET NAMES utf8mb4"), "{script}");
    assert!(
        script.contains("\n-- "),
        "the report follows as comments: {script}"
    );
    let mut c = dbs.target().await;
    c.query_drop(script.as_str())
        .await
        .unwrap_or_else(|e| panic!("the printed script fails: {e}\n{script}"));
    let again = dts_verify(&dbs.name, &[]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    // The applied repair.
    exec(
        &mut tgt,
        "UPDATE a SET f = 0 WHERE id = 9; INSERT INTO b VALUES (3, 'x')",
    )
    .await;
    let apply = dts_verify(&dbs.name, &["--repair", "apply"]);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    assert!(
        String::from_utf8_lossy(&apply.stdout).contains("2 repair statements applied"),
        "{}",
        text(&apply)
    );
    let again = dts_verify(&dbs.name, &[]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let mut src = dbs.source().await;
    for t in ["a", "b"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }

    // Sampling reports how many ranges it compared.
    let sampled = dts_verify(
        &dbs.name,
        &[
            "--sample",
            "50",
            "--seed",
            "3",
            "--chunk-rows",
            "100",
            "--json",
        ],
    );
    assert_eq!(sampled.status.code(), Some(0), "{}", text(&sampled));
    let j: serde_json::Value = serde_json::from_slice(&sampled.stdout).expect("JSON");
    let (n, of) = (
        j["tables"][0]["chunks_compared"].as_u64().unwrap_or(0),
        j["tables"][0]["chunks"].as_u64().unwrap_or(0),
    );
    assert!(of >= 8 && n < of, "{n} of {of} ranges sampled: {j}");
    dbs.cleanup().await;
}

#[tokio::test]
async fn errors_exit_2_with_a_message_and_passwords_stay_out_of_argv() {
    let dbs = TestDatabases::new("verify_cli_err").await;
    exec(
        &mut dbs.source().await,
        "CREATE TABLE only_here (id INT PRIMARY KEY)",
    )
    .await;
    let missing = dts_verify(&dbs.name, &[]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("only_here") && err.contains("does not exist on the target"),
        "{err}"
    );
    let url = Server::Source.url().replace("root@", "root:secret@");
    let out = Command::new(env!("CARGO_BIN_EXE_dts"))
        .args([
            "verify",
            "--source",
            &url,
            "--target",
            &Server::Target.url(),
        ])
        .args(["--database", &dbs.name])
        .output()
        .expect("running dts verify");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("DTS_SOURCE_PASSWORD") && !err.contains("secret"),
        "{err}"
    );
    dbs.cleanup().await;
}
