//! Live control of a running task: `dts throttle`, `dts pause` and `dts
//! resume` against a `dts run` copying a table, its progress read from the
//! run's `/metrics`.
//!
//! Rates are only bounded from above (a slow machine copies less, never
//! more), and a pause is judged by no progress at all between two reads
//! once the rows in flight are written.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dts_test_support::{compare_tables, connect, exec, Server, TestDatabases};

/// The copy's rows per buffer: `load_bytes = 1024` over rows of about 60
/// bytes is under 20 rows, so each throttled request is small.
const ROWS: u64 = 4000;

fn task_file(dir: &std::path::Path, db: &str, port: u16) -> std::path::PathBuf {
    let p = dir.join(format!("{db}.toml"));
    std::fs::write(
        &p,
        format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[[objects]]\ndatabase = \"{db}\"\n\
             [migration]\ntypes = [\"schema\", \"full\"]\n\
             [full]\nreaders = 1\nwriters = 1\nchunk_rows = 20\nload_bytes = 1024\n\
             [metrics]\nlisten = \"127.0.0.1:{port}\"\n",
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

/// Runs a control command; returns its standard output.
fn control(args: &[&str], config: &std::path::Path) -> String {
    let out = dts(args, config).output().expect("dts");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "dts {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A child process killed when the test ends, whatever happens.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `dts_rows_copied_total` from the run's `/metrics`; `None` while the
/// endpoint is not up yet.
async fn rows_copied(port: u16) -> Option<u64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).await.ok()?;
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    body.lines()
        .find(|l| l.starts_with("dts_rows_copied_total{"))
        .and_then(|l| l.rsplit_once(' '))
        .map(|(_, v)| v.parse().expect("a count"))
}

async fn wait_rows(port: u16, what: &str, ok: impl Fn(u64) -> bool) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(n) = rows_copied(port).await.filter(|&n| ok(n)) {
            return n;
        }
        assert!(Instant::now() < deadline, "never {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_running_copy_follows_throttle_pause_and_resume() {
    let dbs = TestDatabases::new("control_cli").await;
    let mut src = dbs.source().await;
    exec(
        &mut src,
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(100) NOT NULL)",
    )
    .await;
    exec(&mut src, "SET SESSION max_recursive_iterations = 100000").await;
    exec(
        &mut src,
        &format!(
            "INSERT INTO t WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {ROWS}) \
             SELECT i, CONCAT(REPEAT('x', 50), i) FROM s"
        ),
    )
    .await;
    let mut tgt = connect(Server::Target, None).await;
    exec(&mut tgt, &format!("DROP DATABASE `{}`", dbs.name)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = task_file(dir.path(), &dbs.name, port);

    // Set before the run: stored, and the run starts with it.
    let out = control(&["throttle", "--rows-per-sec", "40"], &config);
    assert!(out.contains("rows/s 40,"), "{out}");
    assert!(out.contains("no run holds the task"), "{out}");

    let log = std::fs::File::create(dir.path().join("run.log")).expect("log");
    let mut run = Running(
        dts(&["run"], &config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("dts run"),
    );
    wait_rows(port, "copied a row", |n| n > 0).await;

    // At 40 rows/s a window copies at most 40 rows a second, plus the
    // buffers already granted (under 20 rows each, a few in flight).
    let (r1, t1) = (rows_copied(port).await.expect("metrics"), Instant::now());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (r2, t2) = (rows_copied(port).await.expect("metrics"), Instant::now());
    let bound = 40.0 * (t2 - t1).as_secs_f64() + 200.0;
    eprintln!("throttled to 40 rows/s: {} rows in {:?}", r2 - r1, t2 - t1);
    assert!(
        ((r2 - r1) as f64) <= bound,
        "{} rows in {:?} under a 40 rows/s limit",
        r2 - r1,
        t2 - t1
    );
    assert!(r2 < ROWS, "the throttled copy ended early: {r2} rows");

    // Paused: once the rows in flight are written, no progress at all.
    let out = control(&["pause"], &config);
    assert!(
        out.starts_with(&format!("task {:?}: paused;", dbs.name)),
        "{out}"
    );
    assert!(out.contains("the running task applies this"), "{out}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let held = loop {
        let a = rows_copied(port).await.expect("metrics");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let b = rows_copied(port).await.expect("metrics");
        if a == b {
            break b;
        }
        assert!(Instant::now() < deadline, "the copy never paused");
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        rows_copied(port).await.expect("metrics"),
        held,
        "rows copied while paused"
    );
    assert!(held < ROWS, "the copy ended before the pause: {held} rows");
    eprintln!("paused at {held} rows");

    // Resumed, the limit lifted: the copy goes on and the run finishes.
    let out = control(&["throttle", "--rows-per-sec", "0"], &config);
    assert!(out.contains("paused; rows/s none,"), "{out}");
    let out = control(&["resume"], &config);
    assert!(out.contains("running; rows/s none,"), "{out}");
    wait_rows(port, "went on after resume", |n| n > held).await;
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(s) = run.0.try_wait().expect("dts run") {
            break s;
        }
        assert!(Instant::now() < deadline, "the run never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let log = std::fs::read_to_string(dir.path().join("run.log")).expect("log");
    assert!(status.success(), "{log}");
    assert!(
        log.contains("control settings of `dts throttle`/`dts pause`: running; rows/s 40,"),
        "the run says it starts throttled: {log}"
    );
    let mut tgt = dbs.target().await;
    compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None)
        .await
        .assert_equal("t");

    // --reset goes back to the task file's limits.
    let out = control(&["throttle", "--reset"], &config);
    assert!(
        out.contains("running; rows/s the task file's, bytes/s the task file's"),
        "{out}"
    );
    drop(tgt);
    drop(src);
    let shadow = bulk_copy::apply::shadow_database(&dbs.name, &dbs.name);
    let mut tgt = connect(Server::Target, None).await;
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}

#[test]
fn throttle_refuses_a_negative_rate_naming_the_option() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = task_file(dir.path(), "control_cli_refuse", free_port());
    let out = dts(&["throttle", "--queries-per-sec=-3"], &config)
        .output()
        .expect("dts");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--queries-per-sec -3 is not a rate"), "{err}");
}
