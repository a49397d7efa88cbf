//! Catalogue S4 through `dts run`: a task whose `[source] url` lists a
//! MariaDB primary and its GTID replica (test-support's `ReplicationPair`,
//! started here) copies and applies from the primary; the primary fails
//! and the replica is promoted while the bank workload runs; `dts run` is
//! killed with SIGKILL right after the promotion, run again, continues on
//! the new primary by GTID, and `dts cutover` ends with the target equal
//! to it. The bank invariant holds on the target at every sample.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use binlog_reader::position::MariadbGtidPosition;
use dts_test_support::replication::{gtid_positions, ReplicationPair};
use dts_test_support::{bank, compare_tables, connect, exec, exec_retrying, query_one, Server};
use mysql_async::Conn;

const ACCOUNTS: u64 = 300;

fn dts(args: &[&str], config: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dts"));
    c.args(args).arg("--config").arg(config);
    c
}

/// A child process killed when the test ends, whatever happens.
struct Running(Option<std::process::Child>);

impl Running {
    fn spawn(config: &std::path::Path) -> Running {
        let mut c = dts(&["run"], config);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        Running(Some(c.spawn().expect("spawning dts")))
    }

    fn ended(&mut self) -> Option<String> {
        let c = self.0.as_mut()?;
        c.try_wait().ok().flatten()?;
        let out = self.0.take()?.wait_with_output().ok()?;
        Some(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }

    fn kill(mut self) {
        if let Some(mut c) = self.0.take() {
            c.kill().ok(); // SIGKILL
            c.wait().ok();
        }
    }

    fn wait(mut self) -> std::process::Output {
        self.0
            .take()
            .expect("a child")
            .wait_with_output()
            .expect("waiting for dts")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            c.kill().ok();
            c.wait().ok();
        }
    }
}

fn status(config: &std::path::Path) -> serde_json::Value {
    let out = dts(&["status", "--json"], config)
        .output()
        .expect("dts status");
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

async fn transfers(c: &mut Conn, from: u64, count: u64) {
    for i in from..from + count {
        exec_retrying(c, &bank::transfer(i, ACCOUNTS)).await;
    }
}

/// Whether the GTID position `have` is at or past `want` in every domain
/// of `want` (the task's heartbeat keeps writing to the source).
fn reached(have: &str, want: &MariadbGtidPosition) -> bool {
    let Ok(have) = MariadbGtidPosition::parse(have) else {
        return false;
    };
    want.iter().all(|w| {
        have.get(w.domain_id)
            .is_some_and(|h| h.sequence >= w.sequence)
    })
}

/// Waits until the task's checkpoint holds `gtid`, checking the bank
/// invariant on the target at every sample; returns the status.
async fn wait_for(
    config: &std::path::Path,
    gtid: &MariadbGtidPosition,
    run: &mut Running,
    tgt: &mut Conn,
    db: &str,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let v = status(config);
        if v["state"]["phase"] == "incremental" {
            let sum: i64 = query_one(
                tgt,
                &format!("SELECT CAST(SUM(balance) AS SIGNED) FROM `{db}`.acct"),
            )
            .await;
            assert_eq!(sum, bank::total(ACCOUNTS), "bank invariant on the target");
        }
        if v["incremental"]["gtid_state"]
            .as_str()
            .is_some_and(|h| reached(h, gtid))
        {
            return v;
        }
        if let Some(out) = run.ended() {
            panic!("dts run ended: {out}");
        }
        assert!(Instant::now() < deadline, "never reached {gtid}: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn s4_dts_run_fails_over_to_the_promoted_replica_across_a_kill_and_cuts_over_exact() {
    let db = format!("s4_cli_{}", std::process::id());
    let mut pair = ReplicationPair::start().await;
    let mut p = pair.primary().conn().await;
    exec(&mut p, &format!("CREATE DATABASE `{db}`")).await;
    exec(&mut p, &format!("USE `{db}`")).await;
    for t in bank::TABLES {
        exec(&mut p, t).await;
    }
    bank::seed(&mut p, ACCOUNTS).await;
    let mut tgt = connect(Server::Target, None).await;
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{db}`")).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("s4.toml");
    std::fs::write(
        &config,
        format!(
            "task = \"{db}\"\n[source]\nurl = [\"{}\", \"{}\"]\n[target]\nurl = \"{}\"\n\
             [[objects]]\ndatabase = \"{db}\"\n\
             [migration]\ntypes = [\"schema\", \"full\", \"incremental\"]\n\
             [cutover]\nfence = \"none\"\n",
            pair.primary().url(),
            pair.replica().url(),
            Server::Target.url()
        ),
    )
    .expect("task file");
    let mut run = Running::spawn(&config);
    let none = MariadbGtidPosition::new();
    wait_for(&config, &none, &mut run, &mut tgt, &db).await;
    transfers(&mut p, 1, 100).await;
    let primary_end = pair.wait_caught_up().await;
    let v = wait_for(&config, &primary_end, &mut run, &mut tgt, &db).await;
    assert!(
        v["incremental"]["source_server"]
            .as_str()
            .is_some_and(|s| s.contains("server_id 1")),
        "{v}"
    );
    // The failover: the primary stops, the replica is promoted and takes
    // the writes; `dts run` is killed while it moves between servers.
    drop(p);
    pair.fail_over().await;
    let mut r = pair.replica().conn().await;
    exec(&mut r, &format!("USE `{db}`")).await;
    transfers(&mut r, 101, 20).await;
    run.kill();
    transfers(&mut r, 121, 80).await;
    let replica_end = gtid_positions(&mut r).await.binlog_pos;
    let mut run = Running::spawn(&config);
    let v = wait_for(&config, &replica_end, &mut run, &mut tgt, &db).await;
    assert!(
        v["incremental"]["source_server"]
            .as_str()
            .is_some_and(|s| s.contains("server_id 2")),
        "{v}"
    );
    let cut = dts(&["cutover"], &config).output().expect("dts cutover");
    assert!(
        cut.status.success(),
        "cutover: {}{}",
        String::from_utf8_lossy(&cut.stdout),
        String::from_utf8_lossy(&cut.stderr)
    );
    let out = run.wait();
    assert!(
        out.status.success(),
        "dts run ends when cut over: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for t in ["acct", "log"] {
        compare_tables(&mut r, &db, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    let shadow = bulk_copy::apply::shadow_database(&db, &db);
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{db}`")).await;
}
