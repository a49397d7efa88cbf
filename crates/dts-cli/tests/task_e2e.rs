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

/// A child process killed when the test ends, whatever happens.
struct Running(Option<std::process::Child>);

impl Running {
    fn spawn(mut c: Command) -> Running {
        Running(Some(c.spawn().expect("spawning dts")))
    }

    fn still_running(&mut self) -> bool {
        self.0
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
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
    let shadow = bulk_copy::apply::shadow_database(&dbs.name, &dbs.name);
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// GET /metrics, as (name with labels, value) pairs.
async fn metrics(port: u16) -> Vec<(String, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("the metrics endpoint answers");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut body = String::new();
    s.read_to_string(&mut body).await.expect("response");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    body.lines()
        .filter(|l| l.starts_with("dts_"))
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn metric(m: &[(String, String)], prefix: &str) -> Option<String> {
    m.iter()
        .find(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| v.clone())
}

#[tokio::test]
async fn the_minimal_task_migrates_under_writes_cuts_over_and_refuses_a_second_run() {
    let dbs = TestDatabases::new("task_e2e").await;
    setup(&dbs).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = task_file(
        dir.path(),
        &dbs.name,
        &format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let w = writer(dbs.name.clone(), stop.clone());
    let mut cmd = dts(&["run"], &config);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let run = Running::spawn(cmd);
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
    // Once the apply has caught up, /metrics and `dts status` tell the same
    // story as the target: every row change the writer made is applied.
    let mut src = dbs.source().await;
    let (file, pos) = dts_test_support::binlog_position(&mut src).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let st = dts(&["status", "--json"], &config)
            .output()
            .expect("dts status");
        let v: serde_json::Value = serde_json::from_slice(&st.stdout).expect("status json");
        let at = v["incremental"]["position"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let m = metrics(port).await;
        let end = binlog_reader::position::FilePosition::new(file.clone(), pos);
        let caught_up = binlog_reader::position::FilePosition::parse(&at).is_ok_and(|p| p >= end);
        if caught_up {
            let rows = v["incremental"]["rows"].as_u64().expect("rows");
            // The writer started before the copy: part of its changes came
            // with the copy, the rest through the binlog.
            assert!(rows > 0, "changes applied through the binlog");
            assert_eq!(
                metric(&m, "dts_rows_applied_total").as_deref(),
                Some(rows.to_string().as_str())
            );
            assert!(
                metric(&m, "dts_phase{").is_some()
                    && m.iter().any(|(k, _)| k.contains("phase=\"incremental\"")),
                "{m:?}"
            );
            let lag: f64 = metric(&m, "dts_lag_seconds")
                .expect("lag")
                .parse()
                .expect("a number");
            assert!(
                (0.0..5.0).contains(&lag),
                "caught up, so the lag is small: {lag}"
            );
            let copied: u64 = metric(&m, "dts_rows_copied_total")
                .expect("copied")
                .parse()
                .expect("n");
            let total: u64 = v["copy"]
                .as_array()
                .expect("copy")
                .iter()
                .map(|t| t["rows"].as_u64().unwrap_or(0))
                .sum();
            assert_eq!(
                copied, total,
                "rows copied: /metrics and the checkpoint agree"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never caught up: {v}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Online verification of the task while it runs: nothing differs.
    let v = dts(&["verify", "--online", "--json"], &config)
        .output()
        .expect("dts verify");
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
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
    let status = run.wait().status;
    assert!(status.success(), "dts run ends when cut over");
    assert_equal(&dbs).await;
    // AUTO_INCREMENT aligned.
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
    let mut cmd = dts(&["run"], &config);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let run = Running::spawn(cmd);
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
    run.wait();
    assert_equal(&dbs).await;
    cleanup(dbs).await;
}

#[tokio::test]
async fn a_failing_task_is_marked_failed_and_fires_the_alert_command() {
    let dbs = TestDatabases::new("task_alert").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let flag = dir.path().join("alert.txt");
    // A database the source does not have: the precheck fails.
    let config = task_file(
        dir.path(),
        &format!("{}_missing", dbs.name),
        &format!(
            "[alert]\ncommand = [\"sh\", \"-c\", \"echo \\\"$DTS_ALERT\\\" > '{}'\"]\n",
            flag.display()
        ),
    );
    let out = dts(&["run"], &config).output().expect("dts run");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alert = std::fs::read_to_string(&flag).expect("the alert command ran");
    assert!(alert.contains("failed"), "{alert}");
    let st = dts(&["status", "--json"], &config)
        .output()
        .expect("dts status");
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).expect("json");
    assert_eq!(v["state"]["state"], "failed", "{v}");
    assert!(
        v["state"]["error"]
            .as_str()
            .unwrap_or("")
            .contains("dts run"),
        "{v}"
    );
    dbs.cleanup().await;
}

#[tokio::test]
async fn a_password_with_quotes_backslash_and_backtick_never_shows() {
    let dbs = TestDatabases::new("task_pw").await;
    let user = format!("dtspw{}", std::process::id());
    let pw = "p'w\"d\\x`y";
    let enc = "p%27w%22d%5Cx%60y";
    for server in [Server::Source, Server::Target] {
        let mut c = connect(server, None).await;
        exec(
            &mut c,
            &format!(
                "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY 'p\\'w\"d\\\\x`y'; \
                 GRANT ALL ON *.* TO '{user}'@'%'"
            ),
        )
        .await;
    }
    let mut src = dbs.source().await;
    exec(
        &mut src,
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(5)); INSERT INTO t VALUES (1, 'a')",
    )
    .await;
    let mut tgt = connect(Server::Target, None).await;
    exec(&mut tgt, &format!("DROP DATABASE `{}`", dbs.name)).await;
    let (sp, tp) = (
        dts_test_support::opts(Server::Source, None).tcp_port(),
        dts_test_support::opts(Server::Target, None).tcp_port(),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pw.toml");
    let write = |target_env: &str| {
        std::fs::write(
            &file,
            format!(
                "task = \"{name}\"\n[source]\nurl = \"mysql://{user}:{enc}@127.0.0.1:{sp}\"\n\
                 [target]\nurl = \"mysql://{user}@127.0.0.1:{tp}\"\npassword_env = \"{target_env}\"\n\
                 [[objects]]\ndatabase = \"{name}\"\n[migration]\ntypes = [\"schema\", \"full\"]\n",
                name = dbs.name
            ),
        )
        .expect("task file");
    };
    let shown = |o: &std::process::Output| {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            !all.contains(pw) && !all.contains(enc) && !all.contains("p'w"),
            "{all}"
        );
        all
    };
    // A wrong password first: the error says what failed, without it.
    write("DTS_PW_WRONG");
    let wrong = format!("{pw}-wrong");
    // Every log line too, as structured JSON.
    let out = dts(&["run"], &file)
        .env("DTS_PW_WRONG", &wrong)
        .env("DTS_LOG", "debug")
        .env("DTS_LOG_FORMAT", "json")
        .output()
        .expect("dts run");
    assert_eq!(out.status.code(), Some(2));
    let text = shown(&out);
    assert!(!text.contains(&wrong) && text.contains("target"), "{text}");
    // Then the right one, from the environment and from the url.
    write("DTS_PW_TARGET");
    let out = dts(&["run"], &file)
        .env("DTS_PW_TARGET", pw)
        .env("DTS_LOG", "debug")
        .env("DTS_LOG_FORMAT", "json")
        .output()
        .expect("dts run");
    let text = shown(&out);
    assert!(out.status.success(), "{text}");
    let st = dts(&["status", "--json"], &file)
        .env("DTS_PW_TARGET", pw)
        .output()
        .expect("status");
    shown(&st);
    let show = dts(&["config", "show"], &file)
        .env("DTS_PW_TARGET", pw)
        .output()
        .expect("config show");
    shown(&show);
    compare_tables(
        &mut src,
        &dbs.name,
        "t",
        &mut dbs.target().await,
        None,
        None,
    )
    .await
    .assert_equal("t");
    for server in [Server::Source, Server::Target] {
        let mut c = connect(server, None).await;
        exec(&mut c, &format!("DROP USER IF EXISTS '{user}'@'%'")).await;
    }
    dbs.cleanup().await;
}

/// N3: the target unreachable for a few seconds during the full copy and
/// again during incremental migration: the run retries inside its
/// connection window and ends exact. (Several threads: the proxy runs while
/// the test waits on the dts processes.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n3_a_target_cut_off_for_seconds_is_retried_and_the_task_ends_exact() {
    let dbs = TestDatabases::new("task_net").await;
    setup(&dbs).await;
    let tp = dts_test_support::opts(Server::Target, None).tcp_port();
    let proxy = dts_test_support::proxy::Proxy::start(tp).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("net.toml");
    std::fs::write(
        &p,
        format!(
            "task = \"{name}\"\n[source]\nurl = \"{}\"\n[target]\nurl = \"mysql://root@127.0.0.1:{}?prefer_socket=false\"\n\
             [[objects]]\ndatabase = \"{name}\"\n[migration]\ntypes = [\"schema\", \"full\", \"incremental\"]\n\
             [full]\nmax_rows_per_sec = 10000\nreaders = 2\n[cutover]\nfence = \"none\"\n",
            Server::Source.url(),
            proxy.port,
            name = dbs.name
        ),
    )
    .expect("task file");
    let stop = Arc::new(AtomicBool::new(false));
    let w = writer(dbs.name.clone(), stop.clone());
    let mut cmd = dts(&["run"], &p);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut run = Running::spawn(cmd);
    // During the copy (about three seconds at 10,000 rows/s).
    let accepted = || proxy.accepted.load(Ordering::SeqCst);
    let mut reconnects = Vec::new();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = accepted();
    proxy.heal();
    wait_for_phase(&p, "incremental").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    reconnects.push(accepted() - before);
    // During incremental migration.
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = accepted();
    proxy.heal();
    // The apply reconnects after its backoff.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while accepted() == before && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    reconnects.push(accepted() - before);
    stop.store(true, Ordering::SeqCst);
    w.await.expect("writer");
    assert!(run.still_running(), "dts run survived both cuts");
    let cut = dts(&["cutover"], &p).output().expect("dts cutover");
    assert!(
        cut.status.success(),
        "cutover: {}{}",
        String::from_utf8_lossy(&cut.stdout),
        String::from_utf8_lossy(&cut.stderr)
    );
    let out = run.wait();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        reconnects.iter().all(|n| *n > 0),
        "new connections after each cut: {reconnects:?}\n{log}"
    );
    assert_equal(&dbs).await;
    cleanup(dbs).await;
}

/// `dts status --json` until `f` holds (two minutes at most).
async fn wait_for_status(config: &std::path::Path, f: impl Fn(&serde_json::Value) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let out = dts(&["status", "--json"], config)
            .output()
            .expect("dts status");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if f(&v) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "status: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn sigterm_stops_dts_run_like_ctrl_c_and_status_says_stopped_when_no_run_holds_the_task() {
    let dbs = TestDatabases::new("task_term").await;
    setup(&dbs).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = task_file(dir.path(), &dbs.name, "");
    let mut cmd = dts(&["run"], &config);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let run = Running::spawn(cmd);
    wait_for_phase(&config, "incremental").await;
    let pid = run.0.as_ref().expect("a child").id();
    let kill = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill -TERM");
    assert!(kill.success());
    let out = run.wait();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "a clean stop, not 143: {text}");
    assert!(text.contains("stopped at phase incremental"), "{text}");
    let st = dts(&["status", "--json"], &config)
        .output()
        .expect("dts status");
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).expect("json");
    assert_eq!(v["state"]["state"], "stopped", "{v}");
    assert_eq!(v["running"], false, "{v}");
    // A run killed outright leaves "running" recorded; no run holds the
    // task, so status says stopped.
    let mut cmd = dts(&["run"], &config);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut run = Running::spawn(cmd);
    wait_for_status(&config, |v| v["running"] == true).await;
    if let Some(c) = run.0.as_mut() {
        c.kill().expect("SIGKILL");
        c.wait().ok();
    }
    wait_for_status(&config, |v| v["running"] == false).await;
    let st = dts(&["status"], &config).output().expect("dts status");
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(text.contains("stopped"), "{text}");
    assert!(!text.contains("running"), "{text}");
    cleanup(dbs).await;
}

#[tokio::test]
async fn a_dml_failure_is_retried_for_retry_other_minutes_then_the_task_fails_with_it() {
    let dbs = TestDatabases::new("task_other").await;
    setup(&dbs).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = task_file(
        dir.path(),
        &dbs.name,
        "[retry]\nother_minutes = 1\nconnection_minutes = 10\n",
    );
    let mut cmd = dts(&["run"], &config);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let run = Running::spawn(cmd);
    wait_for_phase(&config, "incremental").await;
    // A row the source updates is missing on the target: a key conflict,
    // which stays until someone fixes the target.
    let mut tgt = dbs.target().await;
    exec(&mut tgt, "DELETE FROM customer WHERE id = 5").await;
    let mut src = dbs.source().await;
    let started = std::time::Instant::now();
    exec(
        &mut src,
        "UPDATE customer SET name = 'conflict' WHERE id = 5",
    )
    .await;
    let out = run.wait();
    let elapsed = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    let retries = err
        .lines()
        .filter(|l| l.contains("retrying in") && l.contains("(retry window 1 min)"))
        .count();
    assert!(retries >= 3, "retried within the window: {err}");
    assert!(
        elapsed >= Duration::from_secs(60),
        "the window is one minute; failed after {elapsed:?}: {err}"
    );
    let st = dts(&["status", "--json"], &config)
        .output()
        .expect("dts status");
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).expect("json");
    assert_eq!(v["state"]["state"], "failed", "{v}");
    assert!(
        v["state"]["error"]
            .as_str()
            .unwrap_or("")
            .contains("key conflict"),
        "{v}"
    );
    cleanup(dbs).await;
}
