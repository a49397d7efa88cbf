//! An incremental-only task started at an explicit position
//! (`[incremental] start`): `dts run` applies exactly the transactions
//! after it, `dts status` names the source server and the GTID state, and
//! `dts cutover` ends with the target equal to the source.

use std::process::{Command, Stdio};
use std::time::Duration;

use dts_test_support::{compare_tables, connect, exec, query_one, Server, TestDatabases};

fn dts(args: &[&str], config: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dts"));
    c.args(args).arg("--config").arg(config);
    c
}

fn status(config: &std::path::Path) -> serde_json::Value {
    let out = dts(&["status", "--json"], config)
        .output()
        .expect("dts status");
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

async fn run_from(start: &str, dbs: &TestDatabases, dir: &std::path::Path, tag: &str) {
    let config = dir.join(format!("{tag}.toml"));
    std::fs::write(
        &config,
        format!(
            "task = \"{tag}_{}\"\n[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n\
             [[objects]]\ndatabase = \"{}\"\n[migration]\ntypes = [\"incremental\"]\n\
             # The target holds the state at the start already.\n\
             conflict_mode = \"ignore\"\n\
             [incremental]\nstart = \"{start}\"\n\
             # The shared test servers: never fence the source.\n\
             [cutover]\nfence = \"none\"\n",
            std::process::id(),
            Server::Source.url(),
            Server::Target.url(),
            dbs.name
        ),
    )
    .expect("task file");
    let mut cmd = dts(&["run"], &config);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut run = cmd.spawn().expect("dts run");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let v = loop {
        let v = status(&config);
        if v["incremental"]["gtid_state"].is_string() {
            break v;
        }
        if let Ok(Some(s)) = run.try_wait() {
            let out = run.wait_with_output().expect("output");
            panic!(
                "dts run ended ({s}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(std::time::Instant::now() < deadline, "no checkpoint: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let server = v["incremental"]["source_server"].as_str().unwrap_or("");
    assert!(server.contains("server_id"), "{v}");
    let cut = dts(&["cutover"], &config).output().expect("dts cutover");
    assert!(
        cut.status.success(),
        "cutover: {}{}",
        String::from_utf8_lossy(&cut.stdout),
        String::from_utf8_lossy(&cut.stderr)
    );
    let out = run.wait_with_output().expect("dts run");
    assert!(
        out.status.success(),
        "dts run ends when cut over: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = dts(&["status"], &config).output().expect("dts status");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("source: MariaDB server with server_id"),
        "{text}"
    );
    assert!(text.contains("GTID state"), "{text}");
}

#[tokio::test]
async fn an_incremental_only_task_starts_at_an_explicit_gtid_or_file_position_and_ends_exact() {
    let dbs = TestDatabases::new("gtid_start_cli").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut src, mut tgt) = (dbs.source().await, dbs.target().await);
    for c in [&mut src, &mut tgt] {
        exec(c, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))").await;
        exec(c, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')").await;
    }
    // By GTID: the target holds the source's state at `start`.
    let start: String = query_one(&mut src, "SELECT @@GLOBAL.gtid_binlog_pos").await;
    exec(
        &mut src,
        "INSERT INTO t VALUES (4, 'd'); UPDATE t SET v = 'B' WHERE id = 2",
    )
    .await;
    exec(&mut src, "DELETE FROM t WHERE id = 1").await;
    run_from(&format!("gtid:{start}"), &dbs, dir.path(), "gtid").await;
    compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None)
        .await
        .assert_equal("t after the start by GTID");
    // By file position: the same from the source's current position.
    let (file, pos) = dts_test_support::binlog_position(&mut src).await;
    exec(
        &mut src,
        "INSERT INTO t VALUES (5, 'e'); DELETE FROM t WHERE id = 3",
    )
    .await;
    run_from(&format!("file:{file}:{pos}"), &dbs, dir.path(), "file").await;
    compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None)
        .await
        .assert_equal("t after the start by file position");
    let mut t = connect(Server::Target, None).await;
    for tag in ["gtid", "file"] {
        let task = format!("{tag}_{}", std::process::id());
        let shadow = bulk_copy::apply::shadow_database(&task, &dbs.name);
        exec(&mut t, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    }
    dbs.cleanup().await;
}
