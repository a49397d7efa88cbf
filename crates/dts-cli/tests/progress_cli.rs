//! `dts run`'s progress on a terminal (a pseudo-terminal from util-linux's
//! `script`): bars by default, plain lines with --no-progress.

use std::process::Command;

use dts_test_support::{connect, exec, Server, TestDatabases};

const ROWS: u64 = 6000;

fn task_file(dir: &std::path::Path, db: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{db}.toml"));
    // Throttled so that the copy lasts a few seconds of redraws.
    std::fs::write(
        &p,
        format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[[objects]]\ndatabase = \"{db}\"\n\
             [migration]\ntypes = [\"schema\", \"full\"]\n\
             [full]\nchunk_rows = 100\nload_bytes = 4096\nmax_rows_per_sec = 1500\n",
            Server::Source.url(),
            Server::Target.url()
        ),
    )
    .expect("task file");
    p
}

/// Runs `dts run` on a pseudo-terminal; returns what it drew.
fn run_on_a_terminal(config: &std::path::Path, extra: &str) -> String {
    let cmd = format!(
        "{} run --config {} {extra}",
        env!("CARGO_BIN_EXE_dts"),
        config.display()
    );
    let out = Command::new("script")
        .args(["-qefc", &cmd, "/dev/null"])
        .env("COLUMNS", "160")
        .output()
        .expect("script (util-linux)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    text
}

async fn source_table(dbs: &TestDatabases) {
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
             SELECT i, REPEAT('x', 40) FROM s"
        ),
    )
    .await;
}

#[tokio::test]
async fn run_draws_bars_on_a_terminal_and_lines_with_no_progress() {
    for (i, extra) in ["", "--no-progress"].into_iter().enumerate() {
        let dbs = TestDatabases::new(&format!("progress_cli_{i}")).await;
        source_table(&dbs).await;
        let mut tgt = connect(Server::Target, None).await;
        exec(&mut tgt, &format!("DROP DATABASE `{}`", dbs.name)).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let config = task_file(dir.path(), &dbs.name);
        let text = run_on_a_terminal(&config, extra);
        assert!(text.contains("finished"), "{text}");
        if extra.is_empty() {
            // A bar's head, and the table as its prefix.
            assert!(text.contains("=>"), "no progress bar drawn: {text}");
            assert!(text.contains(" rows/s, ETA "), "{text}");
            // Only the run's own line ("full: copying 1 tables"), no
            // progress line.
            assert_eq!(
                text.matches("dts: full: ").count(),
                1,
                "plain lines under bars: {text}"
            );
        } else {
            assert!(
                text.matches("dts: full: ").count() >= 2 && text.contains(" rows/s"),
                "no progress line: {text}"
            );
            assert!(!text.contains("=>"), "a bar with --no-progress: {text}");
        }
        drop(tgt);
        dbs.cleanup().await;
    }
}
