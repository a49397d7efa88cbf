//! The whole task from its file: the minimal task (schema, full,
//! incremental) against the test servers while a writer runs on the source,
//! then `dts cutover`; the target equals the source byte for byte and a
//! second `dts run` refuses. Then the same with `dts run` killed with
//! SIGKILL at random moments in every phase, each time run again.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dts_test_support::{compare_tables, connect, exec, query_one, Server, TestDatabases};
use mysql_async::prelude::*;

fn task_file(dir: &std::path::Path, db: &str, extra: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{db}.toml"));
    std::fs::write(
        &p,
        format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[[objects]]\ndatabase = \"{db}\"\n\
             [migration]\ntypes = [\"schema\", \"full\", \"incremental\"]\n\
             # The shared test servers: never fence the source (other tests use it).\n\
             [cutover]\nfence = \"none\"\n{extra}",
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

async fn setup(dbs: &TestDatabases) {
    let mut src = dbs.source().await;
    for d in [
        "CREATE TABLE customer (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, \
         email VARBINARY(64), UNIQUE KEY (email))",
        "CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer INT NOT NULL, \
         total DECIMAL(12,2) NOT NULL, at DATETIME(6) NOT NULL, note TEXT, \
         FOREIGN KEY (customer) REFERENCES customer (id) ON DELETE CASCADE)",
        "CREATE TABLE audit (msg VARCHAR(100))",
        "CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100",
        "SET SESSION max_recursive_iterations = 1000000",
        "INSERT INTO customer (name, email) WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 3000) \
         SELECT CONCAT('c', i), UNHEX(MD5(i)) FROM s",
        "INSERT INTO orders (customer, total, at, note) WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 30000) \
         SELECT 1 + i % 3000, (i % 500) + 0.25, '2024-01-01' + INTERVAL i SECOND, REPEAT('n', i % 50) FROM s",
        "INSERT INTO audit VALUES ('a'), ('a'), ('b')",
    ] {
        exec(&mut src, d).await;
    }
    // The target starts without the database: the task creates it.
    let mut tgt = connect(Server::Target, None).await;
    exec(&mut tgt, &format!("DROP DATABASE `{}`", dbs.name)).await;
}

fn writer(db: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut c = connect(Server::Source, Some(&db)).await;
        let mut i = 0u64;
        while !stop.load(Ordering::SeqCst) {
            i += 1;
            c.query_drop(format!(
                "BEGIN; INSERT INTO orders (customer, total, at) VALUES ({}, {}.5, NOW(6));
                 UPDATE customer SET name = CONCAT('w', {i}) WHERE id = {};
                 DELETE FROM orders WHERE id = {}; INSERT INTO audit VALUES ('w'); COMMIT",
                1 + i % 3000,
                i % 300,
                1 + i * 7 % 3000,
                i * 13 % 30000
            ))
            .await
            .expect("writer");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        i
    })
}

async fn assert_equal(dbs: &TestDatabases) {
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    for t in ["customer", "orders", "audit"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    let v: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM big_orders").await;
    let w: i64 = query_one(&mut src, "SELECT COUNT(*) FROM big_orders").await;
    assert_eq!(v, w, "the view exists on the target");
}

async fn wait_for_phase(config: &std::path::Path, phase: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let out = dts(&["status", "--json"], config)
            .output()
            .expect("dts status");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if v["state"]["phase"] == phase {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never reached {phase}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn cleanup(dbs: TestDatabases) {
    let mut tgt = connect(Server::Target, None).await;
    let shadow = dts_core::bulk_copy::apply::shadow_database(&dbs.name, &dbs.name);
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn the_minimal_task_migrates_under_writes_cuts_over_and_refuses_a_second_run() {
    let dbs = TestDatabases::new("task_e2e").await;
    setup(&dbs).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = task_file(dir.path(), &dbs.name, "");
    let stop = Arc::new(AtomicBool::new(false));
    let w = writer(dbs.name.clone(), stop.clone());
    let mut run = dts(&["run"], &config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dts run");
    wait_for_phase(&config, "incremental").await;
    // A second run while the first holds the task is refused (C11).
    let second = dts(&["run"], &config).output().expect("dts run");
    assert_eq!(second.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already running"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Status reports the incremental position and a lag.
    let st = dts(&["status", "--json"], &config)
        .output()
        .expect("dts status");
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).expect("status json");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["running"], true);
    assert!(v["incremental"]["position"].is_string(), "{v}");
    stop.store(true, Ordering::SeqCst);
    let writes = w.await.expect("writer");
    assert!(writes > 20, "the writer ran ({writes})");
    let cut = dts(&["cutover"], &config).output().expect("dts cutover");
    assert!(
        cut.status.success(),
        "cutover: {}{}",
        String::from_utf8_lossy(&cut.stdout),
        String::from_utf8_lossy(&cut.stderr)
    );
    let out = String::from_utf8_lossy(&cut.stdout);
    for step in ["1/7", "2/7", "3/7", "4/7", "5/7", "6/7", "7/7"] {
        assert!(out.contains(step), "cutover prints each step: {out}");
    }
    let status = run.wait().expect("dts run");
    assert!(status.success(), "dts run ends when cut over");
    assert_equal(&dbs).await;
    // AUTO_INCREMENT aligned.
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let q = format!(
        "SELECT auto_increment FROM information_schema.tables WHERE table_schema = '{}' AND table_name = 'orders'",
        dbs.name
    );
    let (a, b): (u64, u64) = (query_one(&mut src, &q).await, query_one(&mut tgt, &q).await);
    assert_eq!(a, b, "AUTO_INCREMENT aligned");
    let again = dts(&["run"], &config).output().expect("dts run");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("finished"));
    cleanup(dbs).await;
}

#[tokio::test]
async fn dts_run_killed_in_every_phase_then_cut_over_ends_exact() {
    let dbs = TestDatabases::new("task_kill").await;
    setup(&dbs).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // A slow copy, so that kills land inside it too.
    let config = task_file(
        dir.path(),
        &dbs.name,
        "[full]\nmax_rows_per_sec = 15000\nreaders = 2\n",
    );
    let stop = Arc::new(AtomicBool::new(false));
    let w = writer(dbs.name.clone(), stop.clone());
    let mut phases = std::collections::BTreeSet::new();
    let mut kills = 0;
    // Deterministic spread of delays from 50 ms to 2.5 s.
    for k in 0..12u64 {
        let delay = 50 + (k * 7919) % 2500;
        let mut child = dts(&["run"], &config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dts run");
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let st = dts(&["status", "--json"], &config)
            .output()
            .expect("status");
        let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap_or_default();
        if let Some(p) = v["state"]["phase"].as_str() {
            phases.insert(p.to_string());
        }
        if child.try_wait().expect("wait").is_none() {
            kills += 1;
        }
        child.kill().ok();
        child.wait().ok();
    }
    assert!(kills >= 10, "kills landed: {kills}");
    assert!(
        phases.contains("full") && phases.contains("incremental"),
        "kills in the copy and in the apply: {phases:?}"
    );
    let mut run = dts(&["run"], &config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dts run");
    wait_for_phase(&config, "incremental").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    w.await.expect("writer");
    let cut = dts(&["cutover"], &config).output().expect("dts cutover");
    assert!(
        cut.status.success(),
        "cutover: {}{}",
        String::from_utf8_lossy(&cut.stdout),
        String::from_utf8_lossy(&cut.stderr)
    );
    run.wait().expect("dts run");
    assert_equal(&dbs).await;
    cleanup(dbs).await;
}
