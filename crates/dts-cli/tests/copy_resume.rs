//! C1: the full copy killed with SIGKILL at random points, ten times, each
//! followed by a rerun of the same task. The final target equals the source
//! byte for byte with no duplicate, every row was committed exactly once
//! (the checkpoint's counters add up to the source's rows and the reruns
//! never hit their own rows as key conflicts), and tables finished before
//! the last kill are not copied again.

use std::process::{Command, Stdio};
use std::time::Duration;

use dts_test_support::{compare_tables, connect, exec, query_one, Server, TestDatabases};
use mysql_async::prelude::*;

const TABLES: &[(&str, &str, &str)] = &[
    // Chunked (over the bulk size limit), split into integer-key ranges.
    (
        "big",
        "CREATE TABLE big (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(100) NOT NULL, KEY (k))",
        "SELECT i, i * 7 % 1000, REPEAT(CONCAT(i, '-'), 12) FROM s WHERE i <= 60000",
    ),
    // Chunked, composite key with a _ci string.
    (
        "comp",
        "CREATE TABLE comp (a VARCHAR(10) COLLATE utf8mb4_general_ci NOT NULL, b INT NOT NULL, \
         v VARBINARY(200), PRIMARY KEY (a, b), KEY v (v(10)))",
        "SELECT ELT(1 + i % 4, 'a', 'A', 'b ', 'B'), i, RANDOM_BYTES(1 + i % 150) FROM s WHERE i <= 20000",
    ),
    // No usable key, duplicate rows: loaded in one transaction.
    (
        "nokey",
        "CREATE TABLE nokey (x INT, y VARCHAR(10))",
        "SELECT i % 50, IF(i % 7 = 0, NULL, 'dup') FROM s WHERE i <= 1500",
    ),
    // Small: the one-transaction bulk path.
    (
        "small",
        "CREATE TABLE small (id INT PRIMARY KEY, v DOUBLE, d DATETIME(6))",
        "SELECT i, i / 7, '2020-01-01' + INTERVAL i SECOND FROM s WHERE i <= 800",
    ),
];

fn dts_copy(db: &str, task: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dts"));
    c.args([
        "copy",
        "--source",
        &Server::Source.url(),
        "--target",
        &Server::Target.url(),
        "--database",
        db,
        "--task",
        task,
        "--readers",
        "6",
        "--chunk-rows",
        "1500",
        "--load-bytes",
        "65536",
        "--bulk-max-bytes",
        "1000000",
        "--split-rows",
        "15000",
        // Every table's plain indexes dropped for the load and added back.
        "--defer-indexes-min-bytes",
        "1",
        // Slow enough that the kills land mid-copy.
        "--max-rows-per-sec",
        "10000",
    ]);
    c
}

/// Per table: (ranges, finished ranges, rows committed per the checkpoint).
async fn checkpoint(
    tgt: &mut mysql_async::Conn,
    task: &str,
    db: &str,
) -> Vec<(String, u64, u64, u64)> {
    tgt.exec(
        "SELECT CAST(target_table AS CHAR), COUNT(*), SUM(finished), SUM(rows_copied)
         FROM dts_meta.copy_range WHERE task = ? AND target_db = ?
         GROUP BY target_table ORDER BY target_table",
        (task, db),
    )
    .await
    .expect("reading the checkpoint")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c1_kill_9_at_random_points_then_rerun_gives_an_exact_copy() {
    let dbs = TestDatabases::new("copy_c1").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    for (name, ddl, rows) in TABLES {
        exec(&mut src, ddl).await;
        exec(&mut tgt, ddl).await;
        exec(
            &mut src,
            &format!(
                "INSERT INTO {name} WITH RECURSIVE s(i) AS \
                 (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 60000) {rows}"
            ),
        )
        .await;
        exec(&mut src, &format!("ANALYZE TABLE {name}")).await;
    }
    let mut definitions = Vec::new();
    for (name, ..) in TABLES {
        let (_, d): (String, String) =
            query_one(&mut tgt, &format!("SHOW CREATE TABLE {name}")).await;
        definitions.push(d);
    }
    let task = dbs.name.clone();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    println!("kill delays from seed {seed}");
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut killed_mid_copy = 0;
    let mut killed_with_indexes_dropped = 0;
    let mut finished_before_last = Vec::new();
    for round in 0..10 {
        let mut child = dts_copy(&dbs.name, &task)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting dts copy");
        let delay = 300 + next() % 1200;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        match child.try_wait().expect("polling dts copy") {
            None => {
                child.kill().expect("kill -9");
                child.wait().ok();
            }
            Some(status) => {
                let out = child.wait_with_output().expect("dts copy output");
                assert!(
                    status.success(),
                    "round {round}: dts copy failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        let cp = checkpoint(&mut tgt, &task, &dbs.name).await;
        let done: Vec<String> = cp
            .iter()
            .filter(|(_, n, f, _)| n == f)
            .map(|(t, ..)| t.clone())
            .collect();
        if done.len() < TABLES.len() {
            killed_mid_copy += 1;
        }
        let deferred: Option<i64> = tgt
            .exec_first(
                "SELECT COUNT(*) FROM dts_meta.copy_index WHERE task = ?",
                (&task,),
            )
            .await
            .expect("reading the deferred indexes");
        if deferred.unwrap_or(0) > 0 {
            killed_with_indexes_dropped += 1;
        }
        println!(
            "round {round}: killed after {delay} ms; finished tables {done:?}; checkpoint {cp:?}"
        );
        finished_before_last = done;
    }
    assert!(
        killed_mid_copy >= 5,
        "most kills must land before the copy ends (only {killed_mid_copy} did): the test would \
         not exercise resume"
    );
    assert!(
        killed_with_indexes_dropped >= 1,
        "some kill must land while indexes are dropped for the load, to check they come back"
    );
    assert!(
        !finished_before_last.is_empty(),
        "some table must have finished before the last kill, to check it is not copied again"
    );
    // The last run, to the end.
    let out = dts_copy(&dbs.name, &task).output().expect("dts copy");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the final run failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    for t in &finished_before_last {
        let line = stdout
            .lines()
            .find(|l| l.contains(&format!("-> `{}`.`{t}`", dbs.name)))
            .unwrap_or_else(|| panic!("no report line for {t}:\n{stdout}"));
        assert!(
            line.contains("already copied by an earlier run"),
            "{t} was finished before the last run and must not be copied again: {line}"
        );
    }
    for (name, ..) in TABLES {
        compare_tables(&mut src, &dbs.name, name, &mut tgt, None, None)
            .await
            .assert_equal(name);
        // The indexes dropped for the load are all back, as they were.
        let (_, got): (String, String) =
            query_one(&mut tgt, &format!("SHOW CREATE TABLE {name}")).await;
        let want = &definitions[TABLES.iter().position(|(n, ..)| n == name).unwrap_or(0)];
        assert_eq!(&got, want, "{name}: the target's definition after the copy");
        let n: i64 = query_one(&mut src, &format!("SELECT COUNT(*) FROM {name}")).await;
        let committed: Option<u64> = tgt
            .exec_first(
                "SELECT SUM(rows_copied) FROM dts_meta.copy_range
                 WHERE task = ? AND target_db = ? AND target_table = ?",
                (&task, &dbs.name, name),
            )
            .await
            .expect("checkpoint rows");
        assert_eq!(
            committed,
            Some(n as u64),
            "{name}: every row committed exactly once according to the checkpoint"
        );
    }
    let mut admin = connect(Server::Target, None).await;
    dts_test_support::forget_copy_task(&mut admin, &task).await;
    dbs.cleanup().await;
}
