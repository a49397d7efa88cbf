//! C2-C7: `dts apply` killed at the worst moments, each followed by a rerun
//! of the same task, over a backlog holding a bank workload (transfers in
//! multi-statement transactions), a 50,000-row transaction (C5) and DDL
//! between the DML (C7):
//! - C2: aborted after a batch's statements and checkpoint, before COMMIT;
//! - C3: aborted right after COMMIT;
//! - C7: aborted after a DDL ran on the target, before its position was saved;
//! - kill -9 at random moments.
//!
//! Then the final run finishes: the target equals the source byte for byte,
//! the bank invariant holds, and the checkpoint counted every source
//! transaction exactly once.

use std::process::{Command, Stdio};
use std::time::Duration;

use dts_test_support::{binlog_position, compare_tables, exec, query_one, Server, TestDatabases};
use mysql_async::prelude::*;

fn dts_apply(db: &str, task: &str) -> Command {
    dts_apply_at(db, task, "30000")
}

fn dts_apply_at(db: &str, task: &str, rows_per_sec: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dts"));
    c.args([
        "apply",
        "--source",
        &Server::Source.url(),
        "--target",
        &Server::Target.url(),
        "--database",
        db,
        "--task",
        task,
        "--stop-at-end",
        // Small batches, slowly: many commits for the kills to land between.
        "--commit-interval-ms",
        "20",
        "--batch-bytes",
        "200000",
        "--max-rows-per-sec",
        rows_per_sec,
    ]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

#[tokio::test]
async fn c2_c3_c5_c7_apply_killed_at_commit_points_ddl_and_random_moments_ends_exact() {
    let dbs = TestDatabases::new("apply_crash").await;
    let task = dbs.name.clone();
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let accounts = 500;
    for d in [
        "CREATE TABLE acct (id INT PRIMARY KEY, balance BIGINT NOT NULL)",
        "CREATE TABLE log (id BIGINT AUTO_INCREMENT PRIMARY KEY, acct INT, delta INT)",
        "CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(40))",
    ] {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    let seed = format!(
        "SET SESSION max_recursive_iterations = 1000000; INSERT INTO acct WITH RECURSIVE s(i) AS \
         (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {accounts}) SELECT i, 1000 FROM s"
    );
    exec(&mut src, &seed).await;
    exec(&mut tgt, &seed).await;
    let prepare = Command::new(env!("CARGO_BIN_EXE_dts"))
        .args([
            "apply",
            "--source",
            &Server::Source.url(),
            "--target",
            &Server::Target.url(),
            "--database",
            &dbs.name,
            "--task",
            &task,
            "--prepare",
        ])
        .output()
        .expect("dts apply --prepare");
    assert!(
        prepare.status.success(),
        "{}",
        String::from_utf8_lossy(&prepare.stderr)
    );
    let (file, pos) = binlog_position(&mut src).await;
    let start = format!("{file}:{pos}");

    // The backlog.
    let mut source_transactions = 0u64;
    for round in 0..4u64 {
        for i in 0..400u64 {
            let n = round * 400 + i;
            let (a, b) = (1 + n * 7919 % accounts, 1 + n * 104_729 % accounts);
            exec(
                &mut src,
                &format!(
                    "BEGIN; UPDATE acct SET balance = balance - 5 WHERE id = {a};
                     UPDATE acct SET balance = balance + 5 WHERE id = {b};
                     INSERT INTO log (acct, delta) VALUES ({a}, -5), ({b}, 5); COMMIT"
                ),
            )
            .await;
            source_transactions += 1;
        }
        match round {
            0 => {
                exec(
                    &mut src,
                    "ALTER TABLE log ADD COLUMN note VARCHAR(20) DEFAULT 'n'",
                )
                .await
            }
            1 => {
                // C5: one transaction of 50,000 rows over many row events.
                exec(
                    &mut src,
                    "SET SESSION max_recursive_iterations = 1000000; BEGIN; \
                     INSERT INTO big WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s \
                     WHERE i < 50000) SELECT i, REPEAT('x', 30) FROM s; \
                     UPDATE acct SET balance = balance - 1 WHERE id = 1; \
                     UPDATE acct SET balance = balance + 1 WHERE id = 2; COMMIT",
                )
                .await;
            }
            2 => {
                exec(
                    &mut src,
                    "ALTER TABLE acct ADD INDEX (balance); FLUSH BINARY LOGS",
                )
                .await;
            }
            _ => {}
        }
    }
    let _ = source_transactions;

    // The kills. Each run is a fresh process: a failpoint aborts it at the
    // N-th hit.
    let mut first = true;
    let mut crashes = 0;
    let failpoints = [
        "after_rows_before_commit:1",
        "after_commit:2",
        "after_ddl:1",
        "after_rows_before_commit:3",
        "after_ddl:1",
        "after_commit:1",
        "after_rows_before_commit:2",
    ];
    for fp in failpoints {
        let mut c = dts_apply(&dbs.name, &task);
        if first {
            c.args(["--start", &start]);
            first = false;
        }
        let out = c.env("DTS_FAILPOINT", fp).output().expect("dts apply");
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!(
            "{fp}: {:?} {stderr} {}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        );
        if !out.status.success() {
            assert!(stderr.contains("failpoint"), "{fp}: {stderr}");
            crashes += 1;
        }
    }
    for delay in [150u64, 400, 250, 700] {
        let mut child = dts_apply(&dbs.name, &task).spawn().expect("dts apply");
        tokio::time::sleep(Duration::from_millis(delay)).await;
        if child.try_wait().expect("wait").is_none() {
            crashes += 1;
        }
        child.kill().ok();
        child.wait().ok();
    }
    assert!(crashes >= 6, "the kills landed ({crashes})");
    let out = dts_apply(&dbs.name, &task).output().expect("dts apply");
    assert!(
        out.status.success(),
        "final run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for t in ["acct", "log", "big"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    let sum: i64 = query_one(&mut tgt, "SELECT SUM(balance) FROM acct").await;
    assert_eq!(sum, accounts as i64 * 1000);
    let (journal,): (i64,) = tgt
        .exec_first(
            "SELECT COUNT(*) FROM dts_meta.cdc_ddl WHERE task = ? AND state <> 'finished'",
            (&task,),
        )
        .await
        .expect("journal")
        .expect("a row");
    assert_eq!(journal, 0, "every DDL journaled as finished");
    let shadow = bulk_copy::apply::shadow_database(&task, &dbs.name);
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}

/// C6: a slow apply (throttled) killed while the server sends only
/// heartbeats between the backlog's events: the saved position is never past
/// rows not yet applied, so the target holds exactly the transactions the
/// checkpoint counts, and a rerun finishes equal.
#[tokio::test]
async fn c6_a_slow_apply_killed_leaves_the_target_exactly_at_its_checkpoint() {
    let dbs = TestDatabases::new("apply_slow").await;
    let task = dbs.name.clone();
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let t = "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))";
    exec(&mut src, t).await;
    exec(&mut tgt, t).await;
    let (file, pos) = binlog_position(&mut src).await;
    for i in 1..=400 {
        exec(&mut src, &format!("INSERT INTO t VALUES ({i}, 'r{i}')")).await;
    }
    let mut slow = dts_apply_at(&dbs.name, &task, "100");
    slow.args(["--start", &format!("{file}:{pos}")]);
    slow.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = slow.spawn().expect("dts apply");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        child.try_wait().expect("wait").is_none(),
        "still applying when killed"
    );
    child.kill().ok();
    child.wait().ok();
    let (txns,): (u64,) = tgt
        .exec_first(
            "SELECT rows_applied FROM dts_meta.cdc_checkpoint WHERE task = ?",
            (&task,),
        )
        .await
        .expect("checkpoint")
        .expect("a checkpoint row");
    let rows: u64 = query_one(&mut tgt, "SELECT COUNT(*) FROM t").await;
    let max: Option<u64> = query_one(&mut tgt, "SELECT MAX(id) FROM t").await;
    assert!(txns > 0 && txns < 400, "killed mid-way: {txns}");
    assert_eq!(
        rows, txns,
        "the target holds exactly the committed transactions"
    );
    assert_eq!(max, Some(rows), "and they are a prefix of the source's");
    let out = dts_apply(&dbs.name, &task).output().expect("dts apply");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None)
        .await
        .assert_equal("t");
    let shadow = bulk_copy::apply::shadow_database(&task, &dbs.name);
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}

/// C7 for `--online-ddl apply-original-ddl`: `dts apply` aborted right after
/// the ghost table's ALTER was handled (before its position and the
/// remembered ALTER were committed), then right after the swap ran the
/// remembered ALTER on the target (before the swap's position was saved).
/// The reruns keep the ALTER, apply it once, and the target ends equal.
#[tokio::test]
async fn c7_apply_original_ddl_killed_after_the_ghost_alter_and_after_the_swap_ends_exact() {
    let dbs = TestDatabases::new("apply_crash_ghost").await;
    let (db, task) = (dbs.name.clone(), dbs.name.clone());
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let t = "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))";
    exec(&mut src, t).await;
    exec(&mut tgt, t).await;
    let apply = |extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dts"));
        c.args([
            "apply",
            "--source",
            &Server::Source.url(),
            "--target",
            &Server::Target.url(),
            "--database",
            &db,
            "--task",
            &task,
            "--online-ddl",
            "apply-original-ddl",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        c
    };
    let out = apply(&["--prepare"]).output().expect("dts apply --prepare");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (file, pos) = binlog_position(&mut src).await;
    let start = format!("{file}:{pos}");
    exec(
        &mut src,
        &format!(
            "INSERT INTO t VALUES (1, 'a'), (2, 'b');
             create /* gh-ost */ table `{db}`.`_t_gho` like `{db}`.`t`;
             alter /* gh-ost */ table `{db}`.`_t_gho` add column added int not null default 42;
             insert into `{db}`.`_t_gho` (id, v) select id, v from `{db}`.`t`;
             UPDATE t SET v = 'B' WHERE id = 2; UPDATE _t_gho SET v = 'B' WHERE id = 2;
             rename /* gh-ost */ table `{db}`.`t` to `{db}`.`_t_del`, `{db}`.`_t_gho` to `{db}`.`t`;
             drop /* gh-ost */ table if exists `{db}`.`_t_del`;
             INSERT INTO t VALUES (3, 'c', 3);"
        ),
    )
    .await;
    // DDL hits of the first run: CREATE _t_gho (1), ALTER _t_gho (2); of
    // the second, which replays the ALTER: ALTER (1), RENAME (2).
    for (n, fp) in ["after_ddl:2", "after_ddl:2"].iter().enumerate() {
        let mut extra = vec!["--stop-at-end"];
        if n == 0 {
            extra.extend(["--start", &start]);
        }
        let out = apply(&extra)
            .env("DTS_FAILPOINT", fp)
            .output()
            .expect("dts apply");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("failpoint after_ddl"),
            "run {n} ({fp}) was to abort: {stderr}"
        );
    }
    let kept: i64 = query_one(
        &mut tgt,
        &format!(
            "SELECT COUNT(*) FROM dts_meta.cdc_online_ddl WHERE task = '{task}' AND applied = 1"
        ),
    )
    .await;
    assert_eq!(
        kept, 1,
        "the ALTER was kept across the first abort and ran at the swap"
    );
    let out = apply(&["--stop-at-end"]).output().expect("dts apply");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    compare_tables(&mut src, &db, "t", &mut tgt, None, None)
        .await
        .assert_equal("t after the swap");
    let cols = format!(
        "SELECT GROUP_CONCAT(column_name, ' ', column_type ORDER BY ordinal_position) \
         FROM information_schema.columns WHERE table_schema = '{db}' AND table_name = 't'"
    );
    let (a, b): (String, String) = (
        query_one(&mut src, &cols).await,
        query_one(&mut tgt, &cols).await,
    );
    assert_eq!(a, b);
    let left: i64 = query_one(
        &mut tgt,
        &format!("SELECT COUNT(*) FROM dts_meta.cdc_online_ddl WHERE task = '{task}'"),
    )
    .await;
    assert_eq!(left, 0);
    let shadow = bulk_copy::apply::shadow_database(&task, &db);
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}

/// C5: `dts apply` killed with SIGKILL while it writes a 50,000-row source
/// transaction (an insert, then an update of every row) that spans many row
/// events, on a source that rotates its binary log after every transaction
/// (`max_binlog_size = 4096`): the target never holds part of one, and the
/// rerun finishes equal.
#[tokio::test]
async fn c5_killed_inside_a_50k_row_transaction_across_rotations_never_keeps_part_of_it() {
    let dbs = TestDatabases::new("apply_c5").await;
    let task = dbs.name.clone();
    let source = dts_test_support::Instance::start(&[
        "--log-bin=mysql-bin",
        "--binlog-format=ROW",
        "--max-binlog-size=4096",
    ]);
    let mut src = source.conn().await;
    let mut tgt = dbs.target().await;
    exec(
        &mut src,
        &format!("CREATE DATABASE `{0}`; USE `{0}`", dbs.name),
    )
    .await;
    let t = "CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(40))";
    exec(&mut src, t).await;
    exec(&mut tgt, t).await;
    let run = |extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dts"));
        c.args([
            "apply",
            "--source",
            &source.url(),
            "--target",
            &Server::Target.url(),
            "--database",
            &dbs.name,
            "--task",
            &task,
        ]);
        c.args(extra);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    };
    let out = run(&["--prepare"]).output().expect("dts apply --prepare");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (file, pos) = binlog_position(&mut src).await;
    let start = format!("{file}:{pos}");
    exec(
        &mut src,
        "SET SESSION max_recursive_iterations = 1000000; \
         INSERT INTO big VALUES (0, 'before'); \
         BEGIN; INSERT INTO big WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s \
         WHERE i < 50000) SELECT i, REPEAT('x', 30) FROM s; COMMIT; \
         INSERT INTO big VALUES (50001, 'between'); \
         UPDATE big SET v = CONCAT('u', id) WHERE id BETWEEN 1 AND 50000; \
         INSERT INTO big VALUES (50002, 'after')",
    )
    .await;
    let files: Vec<mysql_async::Row> = src.query("SHOW BINARY LOGS").await.expect("logs");
    assert!(files.len() >= 3, "rotations: {} files", files.len());
    // Twice: killed once the target transaction holds 10,000 rows of the
    // big one, not yet committed.
    // Rows not yet committed, seen by a dirty read.
    let rows_in_flight = format!(
        "SELECT COUNT(*) - 1 + (SELECT COUNT(*) FROM `{}`.big WHERE v LIKE 'u%') FROM `{}`.big",
        dbs.name, dbs.name
    );
    let mut kills = 0;
    let mut first = true;
    for _ in 0..2 {
        let mut c = run(&[
            "--stop-at-end",
            "--batch-bytes",
            "200000",
            "--max-rows-per-sec",
            "40000",
        ]);
        if first {
            c.args(["--start", &start]);
            first = false;
        }
        let mut child = c.spawn().expect("dts apply");
        let mut admin = dts_test_support::connect(Server::Target, None).await;
        exec(
            &mut admin,
            "SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED",
        )
        .await;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut seen = 0i64;
        loop {
            if let Some(st) = child.try_wait().expect("wait") {
                let mut out = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    e.read_to_string(&mut out).ok();
                }
                if let Some(mut e) = child.stdout.take() {
                    use std::io::Read;
                    e.read_to_string(&mut out).ok();
                }
                eprintln!("run ended by itself ({st}), most rows in flight seen: {seen}: {out}");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no big transaction seen"
            );
            // Inside the insert (1 + some rows), or inside the update.
            let n: i64 = query_one(&mut admin, &rows_in_flight).await;
            seen = seen.max(n);
            if (10_000..45_000).contains(&n) || (50_010..95_000).contains(&n) {
                child.kill().expect("kill -9");
                kills += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.wait().ok();
        // Never part of a transaction: 1 or 50,001 rows, and the update
        // on none or all of them.
        let (n, updated): (i64, i64) = query_one(
            &mut tgt,
            "SELECT COUNT(*), CAST(IFNULL(SUM(v LIKE 'u%'), 0) AS SIGNED) FROM big",
        )
        .await;
        assert!(
            matches!(n, 0 | 1 | 50_001 | 50_002 | 50_003),
            "a part of the insert: {n} rows"
        );
        assert!(
            matches!(updated, 0 | 50_000),
            "a part of the update: {updated} rows"
        );
    }
    assert!(kills >= 1, "a kill landed inside a big transaction");
    let out = run(&["--stop-at-end"]).output().expect("dts apply");
    assert!(
        out.status.success(),
        "final run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    compare_tables(&mut src, &dbs.name, "big", &mut tgt, None, None)
        .await
        .assert_equal("big");
    let shadow = bulk_copy::apply::shadow_database(&task, &dbs.name);
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}
