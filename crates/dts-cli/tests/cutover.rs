//! `dts cutover` against a source that may really be fenced: a throwaway
//! source server (an `Instance`, so that `read_only` on it touches no other
//! test) and the shared target. A cut-over refuses a task it cannot cut
//! over before anything is fenced; one that fails after the fence returns
//! the source to writable and leaves its error in `dts status`; one killed
//! after the fence (C10) is completed by the next `dts cutover` or taken
//! back by the next `dts run`, never leaving both servers writable.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use dts_test_support::{compare_tables, connect, exec, query_one, Instance, Server};
use mysql_async::prelude::*;
use mysql_async::Conn;

static N: AtomicU32 = AtomicU32::new(0);

/// A child process killed when the test ends, whatever happens.
struct Running(Option<std::process::Child>);

impl Running {
    fn spawn(mut c: Command) -> Running {
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        Running(Some(c.spawn().expect("spawning dts")))
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.0.take() {
            c.kill().expect("SIGKILL");
            c.wait().ok();
        }
    }

    /// Panics with the output when the process has exited.
    fn assert_running(&mut self) {
        let exited = self
            .0
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_some());
        if exited {
            let out = self.0.take().expect("a child").wait_with_output();
            panic!("dts exited early: {}", text(&out.expect("output")));
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

/// One task: a throwaway source with database `db` (table `t`, 200 rows),
/// the shared target without it, and the task file.
struct Setup {
    inst: Instance,
    db: String,
    config: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn new(max_lag_seconds: u64) -> Setup {
        let inst = Instance::start(&[
            "--log-bin=mysql-bin",
            "--binlog-format=ROW",
            "--binlog-row-image=FULL",
        ]);
        let db = format!(
            "dtst_cutover_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut src = inst.conn().await;
        for s in [
            format!("CREATE DATABASE `{db}`"),
            format!("CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)"),
            format!(
                "INSERT INTO `{db}`.t WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 \
                 FROM s WHERE i < 200) SELECT i, CONCAT('v', i) FROM s"
            ),
        ] {
            exec(&mut src, &s).await;
        }
        let mut tgt = connect(Server::Target, None).await;
        exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{db}`")).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("task.toml");
        std::fs::write(
            &config,
            format!(
                "task = \"{db}\"\n[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n\
                 [[objects]]\ndatabase = \"{db}\"\n\
                 [migration]\ntypes = [\"schema\", \"full\", \"incremental\"]\n\
                 [cutover]\nfence = \"read-only\"\nmax_lag_seconds = {max_lag_seconds}\n",
                inst.url(),
                Server::Target.url()
            ),
        )
        .expect("task file");
        Setup {
            inst,
            db,
            config,
            _dir: dir,
        }
    }

    fn dts(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dts"));
        c.args(args).arg("--config").arg(&self.config);
        c
    }

    fn status(&self) -> serde_json::Value {
        let out = self
            .dts(&["status", "--json"])
            .output()
            .expect("dts status");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("dts status --json: {e}: {}", text(&out)))
    }

    async fn wait_for_phase(&self, phase: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let v = self.status();
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

    async fn wait_running(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let v = self.status();
            if v["running"] == true && v["state"]["state"] == "running" {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "never ran: {v}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `dts run` until incremental migration runs, then `dts stop`.
    async fn run_to_incremental_and_stop(&self) {
        let run = Running::spawn(self.dts(&["run"]));
        self.wait_for_phase("incremental").await;
        // One change applied: the checkpoint then has a source time, the
        // lag of a task no run holds is measured from.
        let mut src = self.source().await;
        exec(&mut src, "UPDATE t SET v = 'followed' WHERE id = 200").await;
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while self.status()["incremental"]["lag_seconds"].is_null() {
            assert!(std::time::Instant::now() < deadline, "{}", self.status());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.stop(run).await;
    }

    async fn stop(&self, run: Running) {
        let out = self.dts(&["stop"]).output().expect("dts stop");
        assert!(out.status.success(), "{out:?}");
        let out = run.wait();
        assert!(out.status.success(), "dts run: {out:?}");
    }

    async fn read_only(&self) -> i64 {
        let mut c = self.inst.conn().await;
        query_one(&mut c, "SELECT @@global.read_only").await
    }

    async fn wait_read_only(&self, want: i64, p: &mut Running) {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while self.read_only().await != want {
            p.assert_running();
            assert!(
                std::time::Instant::now() < deadline,
                "the source's read_only never became {want}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn source(&self) -> Conn {
        let mut c = self.inst.conn().await;
        exec(&mut c, &format!("USE `{}`", self.db)).await;
        c
    }

    async fn target(&self) -> Conn {
        connect(Server::Target, Some(&self.db)).await
    }

    /// Holds the lock of the target's row `id` (so that the drain waits on
    /// it) on the connection returned; `ROLLBACK` frees it.
    async fn lock_target_row(&self, id: u32) -> Conn {
        let mut c = self.target().await;
        exec(&mut c, "BEGIN").await;
        let _: Vec<(i32, String)> = c
            .query(format!("SELECT id, v FROM t WHERE id = {id} FOR UPDATE"))
            .await
            .expect("locking the target row");
        c
    }

    async fn assert_equal(&self) {
        let mut src = self.source().await;
        let mut tgt = self.target().await;
        compare_tables(&mut src, &self.db, "t", &mut tgt, None, None)
            .await
            .assert_equal("t");
    }

    async fn cleanup(self) {
        let mut tgt = connect(Server::Target, None).await;
        let shadow = bulk_copy::apply::shadow_database(&self.db, &self.db);
        for d in [&self.db, &shadow] {
            exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{d}`")).await;
        }
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn cutover_refuses_a_task_no_run_holds_whose_lag_is_over_the_threshold_without_fencing() {
    let s = Setup::new(1).await;
    s.run_to_incremental_and_stop().await;
    let mut src = s.source().await;
    exec(&mut src, "UPDATE t SET v = 'changed' WHERE id = 7").await;
    // The change is more than max_lag_seconds = 1 old once this sleep ends.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let out = s.dts(&["cutover"]).output().expect("dts cutover");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("is not running and its lag is"), "{t}");
    assert!(t.contains("max_lag_seconds = 1"), "{t}");
    assert!(t.contains("nothing was fenced"), "{t}");
    assert!(!t.contains("2/7"), "no fence was attempted: {t}");
    assert_eq!(s.read_only().await, 0, "the source stays writable");
    let v = s.status();
    assert_eq!(v["state"]["phase"], "incremental", "{v}");
    assert_eq!(v["state"]["state"], "stopped", "{v}");
    s.cleanup().await;
}

#[tokio::test]
async fn a_fence_that_does_not_hold_is_named_the_cut_over_taken_back_and_its_failure_kept() {
    let s = Setup::new(86_400).await;
    s.run_to_incremental_and_stop().await;
    let mut src = s.source().await;
    exec(&mut src, "UPDATE t SET v = 'before the fence' WHERE id = 1").await;
    let mut lock = s.lock_target_row(1).await;
    let mut cut = Running::spawn(s.dts(&["cutover"]));
    s.wait_read_only(1, &mut cut).await;
    // root has SUPER: MariaDB's read_only lets it write.
    exec(&mut src, "INSERT INTO t VALUES (1000, 'after the fence')").await;
    exec(&mut lock, "ROLLBACK").await;
    let out = cut.wait();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("the fence did not hold"), "{t}");
    assert!(t.contains("SUPER or READ_ONLY ADMIN"), "says why: {t}");
    assert!(t.contains("SHOW PROCESSLIST"), "says what to do: {t}");
    assert!(t.contains("the source is writable again"), "{t}");
    assert_eq!(s.read_only().await, 0, "the cut-over was taken back");
    let v = s.status();
    assert_eq!(v["state"]["phase"], "incremental", "{v}");
    assert_eq!(v["state"]["state"], "failed", "{v}");
    let error = v["state"]["error"].as_str().unwrap_or("").to_string();
    assert!(error.contains("the fence did not hold"), "{v}");

    // A failed task is refused before anything is fenced; its error stays.
    let out = s.dts(&["cutover"]).output().expect("dts cutover");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("has failed, so it cannot be cut over"), "{t}");
    assert!(
        t.contains("the fence did not hold"),
        "the refusal names it: {t}"
    );
    assert!(!t.contains("2/7"), "no fence was attempted: {t}");
    assert_eq!(s.read_only().await, 0);
    let v = s.status();
    assert_eq!(v["state"]["error"].as_str(), Some(error.as_str()), "{v}");

    // The cause gone, the task resumes and cuts over exactly.
    let run = Running::spawn(s.dts(&["run"]));
    s.wait_running().await;
    let out = s.dts(&["cutover"]).output().expect("dts cutover");
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("the source was fenced for"), "{t}");
    let out = run.wait();
    assert!(out.status.success(), "dts run: {}", text(&out));
    assert_eq!(s.read_only().await, 1, "the source stays fenced");
    assert_eq!(s.status()["state"]["phase"], "finished");
    s.assert_equal().await;
    let n: i64 = query_one(
        &mut s.target().await,
        "SELECT COUNT(*) FROM t WHERE id = 1000",
    )
    .await;
    assert_eq!(n, 1, "the row written through the fence is on the target");
    s.cleanup().await;
}

#[tokio::test]
async fn c10_a_cutover_killed_after_the_fence_is_taken_back_by_dts_run_and_completed_by_dts_cutover(
) {
    let s = Setup::new(86_400).await;
    s.run_to_incremental_and_stop().await;
    let mut src = s.source().await;

    // Killed after the fence, in the drain: `dts run` takes it back.
    exec(&mut src, "UPDATE t SET v = 'first' WHERE id = 1").await;
    let mut lock = s.lock_target_row(1).await;
    let mut cut = Running::spawn(s.dts(&["cutover"]));
    s.wait_read_only(1, &mut cut).await;
    cut.kill9();
    exec(&mut lock, "ROLLBACK").await;
    assert_eq!(s.read_only().await, 1);
    assert_eq!(s.status()["state"]["phase"], "cutover");
    let mut run = Running::spawn(s.dts(&["run"]));
    s.wait_read_only(0, &mut run).await;
    s.wait_for_phase("incremental").await;
    assert_ne!(
        s.status()["state"]["phase"],
        "finished",
        "the source is writable again, so the target must not be the primary"
    );
    exec(
        &mut src,
        "INSERT INTO t VALUES (500, 'while followed again')",
    )
    .await;

    // Killed again after the fence, then `dts cutover` completes the
    // cut-over.
    s.stop(run).await;
    let mut lock = s.lock_target_row(2).await;
    exec(&mut src, "UPDATE t SET v = 'second' WHERE id = 2").await;
    let mut cut = Running::spawn(s.dts(&["cutover"]));
    s.wait_read_only(1, &mut cut).await;
    cut.kill9();
    exec(&mut lock, "ROLLBACK").await;
    assert_eq!(s.status()["state"]["phase"], "cutover");
    let out = s.dts(&["cutover"]).output().expect("dts cutover");
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("an earlier cut-over stopped half-way"), "{t}");
    assert_eq!(s.read_only().await, 1, "the source stays fenced");
    assert_eq!(s.status()["state"]["phase"], "finished");
    s.assert_equal().await;
    s.cleanup().await;
}

/// Issue 18 point 5: with a run applying changes, every table is verified
/// online before the fence; under the fence only the tables changed since
/// are, and the fenced time is printed. Here a writer without SUPER (so the
/// fence stops it) writes to `t` while `u` stays still: `u` is not
/// verified again under the fence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutover_verifies_online_before_the_fence_and_under_it_only_what_changed_since() {
    let s = Setup::new(86_400).await;
    let mut src = s.source().await;
    let user = format!("w{}", std::process::id());
    for q in [
        "CREATE TABLE u (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)".to_string(),
        "INSERT INTO u SELECT id, v FROM t".to_string(),
        format!("CREATE USER '{user}'@'127.0.0.1'"),
        format!(
            "GRANT INSERT, SELECT ON `{}`.* TO '{user}'@'127.0.0.1'",
            s.db
        ),
    ] {
        exec(&mut src, &q).await;
    }
    let run = Running::spawn(s.dts(&["run"]));
    s.wait_for_phase("incremental").await;
    s.wait_running().await;
    // Bounded: at most 100000 inserts, and it stops at the fence.
    let writer = {
        let (port, db, user) = (s.inst.port, s.db.clone(), user.clone());
        tokio::spawn(async move {
            let opts: mysql_async::Opts = mysql_async::OptsBuilder::default()
                .ip_or_hostname("127.0.0.1")
                .tcp_port(port)
                .user(Some(user))
                .db_name(Some(db))
                .prefer_socket(false)
                .into();
            let mut c = Conn::new(opts).await.expect("writer connects");
            for i in 1000..101_000 {
                if let Err(e) = c
                    .query_drop(format!("INSERT INTO t VALUES ({i}, 'w')"))
                    .await
                {
                    return (i, e.to_string());
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (101_000, String::new())
        })
    };
    // The writer is writing (on a runtime thread of its own while this one
    // waits for `dts cutover`); the online verification, throttled, takes
    // long enough for it to go on writing meanwhile.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while query_one::<i64>(&mut src, "SELECT COUNT(*) FROM t").await < 210 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer never wrote"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&s.config)
        .expect("task file");
    std::io::Write::write_all(&mut f, b"[verify]\nmax_rows_per_sec = 400\n").expect("task file");
    let out = s.dts(&["cutover"]).output().expect("dts cutover");
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let (_, stopped_by) = writer.await.expect("writer");
    assert!(
        stopped_by.contains("read-only")
            || stopped_by.contains("read_only")
            || stopped_by.contains("1290"),
        "the fence stopped the writer: {stopped_by}"
    );
    assert!(
        t.contains("verifying 2 tables online before the fence"),
        "{t}"
    );
    assert!(
        t.contains("verifying on exact bytes the 1 tables changed since the online verification"),
        "only `t` changed after the online verification began: {t}"
    );
    assert!(t.contains("the source was fenced for"), "{t}");
    let out = run.wait();
    assert!(out.status.success(), "dts run: {}", text(&out));
    s.assert_equal().await;
    let mut tgt = s.target().await;
    compare_tables(&mut src, &s.db, "u", &mut tgt, None, None)
        .await
        .assert_equal("u");
    s.cleanup().await;
}
