//! `dts release`: refused while `dts run` holds the task (nothing removed),
//! then, once the run stopped, every trace of the task goes: its rows in
//! each metadata table, its shadow schema, its heartbeat row on the source.
//! Run again, it has nothing left to remove.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dts_test_support::{connect, exec, query_one, Server, TestDatabases};
use mysql_async::prelude::*;

fn task_file(dir: &std::path::Path, db: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{db}.toml"));
    std::fs::write(
        &p,
        format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[[objects]]\ndatabase = \"{db}\"\n\
             [migration]\ntypes = [\"schema\", \"full\", \"incremental\"]\n\
             [heartbeat]\ninterval_ms = 200\n\
             # The shared test servers: never fence the source (other tests use it).\n\
             [cutover]\nfence = \"none\"\n",
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

/// A child process killed when the test ends, whatever happens.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

async fn wait_for_phase(config: &std::path::Path, phase: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = dts(&["status", "--json"], config)
            .output()
            .expect("dts status");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if v["state"]["phase"] == phase {
            return;
        }
        assert!(Instant::now() < deadline, "never reached {phase}: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The task's rows in each metadata table that exists on the target.
async fn meta_rows(task: &str) -> Vec<(String, i64)> {
    let mut tgt = connect(Server::Target, None).await;
    let mut v = Vec::new();
    let tables = bulk_copy::base::meta_schema::TASK_TABLES
        .iter()
        .chain(&["task_state", "task_control"]);
    for t in tables {
        let exists: i64 = query_one(
            &mut tgt,
            &format!(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'dts_meta' \
                 AND table_name = '{t}'"
            ),
        )
        .await;
        if exists > 0 {
            let n: Option<i64> = tgt
                .exec_first(
                    format!("SELECT COUNT(*) FROM `dts_meta`.`{t}` WHERE task = ?"),
                    (task,),
                )
                .await
                .expect("count");
            v.push((t.to_string(), n.unwrap_or(0)));
        }
    }
    v
}

async fn heartbeat_rows(task: &str) -> i64 {
    let mut src = connect(Server::Source, None).await;
    let exists: i64 = query_one(
        &mut src,
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'dts_meta' \
         AND table_name = 'heartbeat'",
    )
    .await;
    if exists == 0 {
        return 0;
    }
    let n: Option<i64> = src
        .exec_first(
            "SELECT COUNT(*) FROM `dts_meta`.`heartbeat` WHERE task = ?",
            (task,),
        )
        .await
        .expect("count");
    n.unwrap_or(0)
}

async fn schema_exists(name: &str) -> bool {
    let mut tgt = connect(Server::Target, None).await;
    let n: i64 = query_one(
        &mut tgt,
        &format!("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{name}'"),
    )
    .await;
    n > 0
}

#[tokio::test]
async fn release_is_refused_while_the_task_runs_then_removes_every_trace() {
    let dbs = TestDatabases::new("release_cli").await;
    let mut src = dbs.source().await;
    exec(
        &mut src,
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)",
    )
    .await;
    exec(
        &mut src,
        "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')",
    )
    .await;
    let mut tgt = connect(Server::Target, None).await;
    exec(&mut tgt, &format!("DROP DATABASE `{}`", dbs.name)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = task_file(dir.path(), &dbs.name);
    let task = dbs.name.clone();
    let shadow = bulk_copy::apply::shadow_database(&task, &dbs.name);

    let mut run = Running(
        dts(&["run"], &config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dts run"),
    );
    wait_for_phase(&config, "incremental").await;
    // A change applied and a heartbeat written: the apply's checkpoint and
    // the source's heartbeat row exist.
    exec(&mut src, "INSERT INTO t VALUES (4, 'd')").await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let n: i64 = query_one(&mut tgt, &format!("SELECT COUNT(*) FROM `{}`.t", dbs.name)).await;
        if n == 4 && heartbeat_rows(&task).await == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the change never arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let before = meta_rows(&task).await;
    for t in ["task_state", "copy_range", "cdc_checkpoint"] {
        assert!(
            before.iter().any(|(n, c)| n == t && *c > 0),
            "the run left no row in {t}: {before:?}"
        );
    }
    assert!(schema_exists(&shadow).await, "the shadow schema {shadow}");

    // Refused while the run holds the task: nothing removed.
    let out = dts(&["release"], &config).output().expect("dts release");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("is running") && err.contains("nothing was released"),
        "{err}"
    );
    assert_eq!(meta_rows(&task).await, before);
    assert_eq!(heartbeat_rows(&task).await, 1);
    assert!(schema_exists(&shadow).await);

    // Stopped, then released: every trace goes.
    let out = dts(&["stop"], &config).output().expect("dts stop");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while run.0.try_wait().expect("dts run").is_none() {
        assert!(Instant::now() < deadline, "the run never stopped");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = dts(&["release"], &config).output().expect("dts release");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("rows of `dts_meta`.`task_state`"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("dropped the shadow schema {shadow}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("deleted the task's heartbeat row"),
        "{stdout}"
    );
    let after = meta_rows(&task).await;
    assert!(after.iter().all(|(_, c)| *c == 0), "{after:?}");
    assert_eq!(heartbeat_rows(&task).await, 0);
    assert!(!schema_exists(&shadow).await);
    // The migrated data stays.
    let n: i64 = query_one(&mut tgt, &format!("SELECT COUNT(*) FROM `{}`.t", dbs.name)).await;
    assert_eq!(n, 4);

    // Again: nothing left to remove.
    let out = dts(&["release"], &config).output().expect("dts release");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(stdout.trim(), format!("task {task:?} released"));
    drop(src);
    drop(tgt);
    dbs.cleanup().await;
}
