//! Faults of the catalogue's C and N families against real servers: the
//! target killed with SIGKILL during the copy and during the apply (C9),
//! the answer to a target COMMIT lost (N4). Each ends with an exact
//! comparison of source and target (and the bank invariant).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use binlog_reader::position::FilePosition;
use bulk_copy::{
    apply_changes, copy_tables, ApplyOptions, ApplyProgress, ApplySelection, CopyOptions, HandOff,
    StopSignal, TableMapping, Throttle, ThrottleLimits,
};
use dts_test_support::instance::Instance;
use dts_test_support::proxy::Proxy;
use dts_test_support::{
    bank, binlog_position, compare_tables, exec, opts, query_one, Server, TestDatabases, WriteLimit,
};
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, OptsBuilder};

const ACCOUNTS: u64 = 200;

/// N7 measures this process's memory: it runs alone (write), the other
/// tests of this file side by side (read).
static ALONE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

async fn position(c: &mut Conn) -> FilePosition {
    let (f, p) = binlog_position(c).await;
    FilePosition::new(f, p)
}

/// The bank tables, seeded alike on the source and on `target` (its
/// database `db` created), and the apply prepared there: returns the
/// hand-off position.
async fn bank_on_both(dbs: &TestDatabases, target: &Opts, o: &ApplyOptions) -> FilePosition {
    let mut src = dbs.source().await;
    let mut tgt = Conn::new(target.clone()).await.expect("target");
    exec(
        &mut tgt,
        &format!("CREATE DATABASE IF NOT EXISTS `{}`", dbs.name),
    )
    .await;
    exec(&mut tgt, &format!("USE `{}`", dbs.name)).await;
    for t in bank::TABLES {
        exec(&mut src, t).await;
        exec(&mut tgt, t).await;
    }
    bank::seed(&mut src, ACCOUNTS).await;
    bank::seed(&mut tgt, ACCOUNTS).await;
    let sel = ApplySelection::databases(&[&dbs.name]);
    bulk_copy::prepare_incremental(&opts(Server::Source, None), target, &sel, o)
        .await
        .unwrap_or_else(|e| panic!("prepare: {e}"));
    position(&mut src).await
}

/// Waits until the apply's committed position reaches `end`.
async fn wait_applied(progress: &ApplyProgress, end: &FilePosition, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while progress.status().position.as_ref().is_none_or(|p| p < end) {
        assert!(
            Instant::now() < deadline,
            "{what}: the apply did not catch up: {:?}",
            progress.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Compares the bank tables of the source and `target`, and checks the
/// invariant on the target.
async fn bank_equal(dbs: &TestDatabases, target: &Opts, what: &str) {
    let mut src = dbs.source().await;
    let mut tgt = Conn::new(target.clone()).await.expect("target");
    for t in ["acct", "log"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(&format!("{what}: {t}"));
    }
    let sum: i64 = query_one(
        &mut tgt,
        &format!(
            "SELECT CAST(SUM(balance) AS SIGNED) FROM `{}`.acct",
            dbs.name
        ),
    )
    .await;
    assert_eq!(sum, bank::total(ACCOUNTS), "{what}: the bank invariant");
}

/// Runs the bank writer and an apply to `target` while `fault` is injected
/// `times` times (each once the apply has committed more since the last);
/// then lets the apply catch up and compares.
async fn bank_apply_under<F, Fut>(
    dbs: &TestDatabases,
    target: Opts,
    times: u32,
    mut fault: F,
) -> bulk_copy::ApplyReport
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let progress = ApplyProgress::new();
    let stop = StopSignal::new();
    let o = ApplyOptions {
        task: dbs.name.clone(),
        progress: progress.clone(),
        stop: stop.clone(),
        commit_interval: Duration::from_millis(20),
        max_retries: 30,
        ..ApplyOptions::default()
    };
    let start = bank_on_both(dbs, &target, &o).await;
    let stop_writer = Arc::new(AtomicBool::new(false));
    let writer = bank::writer(
        dbs.name.clone(),
        ACCOUNTS,
        stop_writer.clone(),
        WriteLimit {
            max: 20_000,
            within: Duration::from_secs(90),
        },
    );
    let applier = {
        let (o, target) = (o.clone(), target.clone());
        let sel = ApplySelection::databases(&[&dbs.name]);
        tokio::spawn(async move {
            apply_changes(
                &opts(Server::Source, None),
                &target,
                &sel,
                Some(&HandOff {
                    start,
                    overlap_end: None,
                }),
                &o,
            )
            .await
        })
    };
    for n in 0..times {
        let base = progress.status().transactions;
        let deadline = Instant::now() + Duration::from_secs(60);
        while progress.status().transactions < base + 50 {
            assert!(
                Instant::now() < deadline && !applier.is_finished(),
                "fault {n}: the apply makes no progress: {:?}",
                progress.status()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        fault(n).await;
    }
    // More transfers after the last fault, then stop and catch up.
    let base = progress.status().transactions;
    let deadline = Instant::now() + Duration::from_secs(90);
    while progress.status().transactions < base + 50 {
        assert!(
            Instant::now() < deadline && !applier.is_finished(),
            "after the faults: the apply makes no progress: {:?}",
            progress.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_writer.store(true, Ordering::SeqCst);
    let transfers = writer.await.expect("writer");
    let end = position(&mut dbs.source().await).await;
    wait_applied(&progress, &end, "after the writer stopped").await;
    stop.stop();
    let r = applier
        .await
        .expect("apply task")
        .unwrap_or_else(|e| panic!("apply: {e}"));
    eprintln!("{transfers} transfers, report {r:?}");
    bank_equal(dbs, &target, "after the faults").await;
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c9_target_killed_during_the_apply_is_retried_and_the_last_commit_settled_from_the_checkpoint(
) {
    let _side_by_side = ALONE.read().await;
    let dbs = TestDatabases::new("c9_apply").await;
    let target = Arc::new(std::sync::Mutex::new(Instance::start(&[])));
    let target_opts = target.lock().expect("instance").opts();
    let r = bank_apply_under(&dbs, target_opts, 2, |n| {
        let target = target.clone();
        async move {
            let t = target.clone();
            tokio::task::spawn_blocking(move || {
                let mut i = t.lock().expect("instance");
                i.kill9();
                eprintln!("fault {n}: target killed");
                std::thread::sleep(Duration::from_millis(500));
                i.start_again();
            })
            .await
            .expect("restart");
        }
    })
    .await;
    assert!(r.retries >= 2, "each kill was retried: {r:?}");
    dbs.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n4_the_answer_to_a_target_commit_lost_is_settled_from_the_checkpoint() {
    let _side_by_side = ALONE.read().await;
    let dbs = TestDatabases::new("n4_commit").await;
    let upstream = opts(Server::Target, None);
    let proxy = Proxy::start(upstream.tcp_port()).await;
    let target: Opts = OptsBuilder::from_opts(upstream)
        .tcp_port(proxy.port)
        .prefer_socket(false)
        .into();
    let lost = proxy.replies_lost.clone();
    let r = bank_apply_under(&dbs, target, 3, |n| {
        proxy.lose_reply_to(b"COMMIT");
        let lost = lost.clone();
        async move {
            // The next COMMIT reaches the target, its OK never comes back.
            let deadline = Instant::now() + Duration::from_secs(30);
            while lost.load(Ordering::SeqCst) <= u64::from(n) {
                assert!(Instant::now() < deadline, "fault {n}: no COMMIT was sent");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    })
    .await;
    assert_eq!(lost.load(Ordering::SeqCst), 3);
    assert!(r.retries >= 3, "each lost answer was retried: {r:?}");
    let mut t = dbs.target().await;
    let shadow = bulk_copy::apply::shadow_database(&dbs.name, &dbs.name);
    exec(&mut t, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c9_target_killed_during_the_copy_resumes_from_the_committed_chunks_exactly() {
    let _side_by_side = ALONE.read().await;
    let dbs = TestDatabases::new("c9_copy").await;
    let rows = 60_000u64;
    let mut src = dbs.source().await;
    let ddl = "CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(100), n BIGINT)";
    exec(&mut src, ddl).await;
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(
        &mut src,
        &format!(
            "INSERT INTO big WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s \
             WHERE i < {rows}) SELECT i, REPEAT(CHAR(65 + i % 26), i % 100), i * i FROM s"
        ),
    )
    .await;
    let mut target = Instance::start(&[]);
    {
        let mut t = target.conn().await;
        exec(&mut t, &format!("CREATE DATABASE `{}`", dbs.name)).await;
        exec(&mut t, &format!("USE `{}`", dbs.name)).await;
        exec(&mut t, ddl).await;
    }
    let throttle = Throttle::default();
    throttle.set_limits(ThrottleLimits {
        queries_per_sec: None,
        rows_per_sec: Some(10_000.0),
        bytes_per_sec: None,
    });
    let o = CopyOptions {
        task: dbs.name.clone(),
        readers: 2,
        writers: 2,
        chunk_rows: 1000,
        bulk_max_bytes: 0,
        split_rows: 10_000,
        throttle: throttle.clone(),
        ..CopyOptions::default()
    };
    let tables = [TableMapping::same(&dbs.name, "big")];
    let first = {
        let (o, tables, target) = (o.clone(), tables.clone(), target.opts());
        tokio::spawn(
            async move { copy_tables(&opts(Server::Source, None), &target, &tables, &o).await },
        )
    };
    // Killed once some chunks are committed.
    let copied = "SELECT CAST(IFNULL(SUM(rows_copied), 0) AS SIGNED) FROM dts_meta.copy_range";
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the copy committed nothing");
        if let Ok(mut t) = Conn::new(target.opts()).await {
            let n: Option<i64> = t.query_first(copied).await.ok().flatten();
            if n.is_some_and(|n| n >= 5000) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    target.kill9();
    let r = tokio::time::timeout(Duration::from_secs(60), first)
        .await
        .expect("the copy returns after the target died")
        .expect("copy task");
    let e = r.expect_err("the target died under the copy");
    eprintln!("first run: {e}");
    target.start_again();
    let before: i64 = query_one(&mut target.conn().await, copied).await;
    assert!(
        before > 0 && (before as u64) < rows,
        "committed chunks survived the crash: {before}"
    );
    throttle.set_limits(ThrottleLimits::default());
    let report = copy_tables(&opts(Server::Source, None), &target.opts(), &tables, &o)
        .await
        .unwrap_or_else(|e| panic!("second run: {e}"));
    let t = &report.tables[0];
    assert!(t.resumed, "{:?}", report.tables);
    assert_eq!(
        t.rows + before as u64,
        rows,
        "the second run copied only what was not committed"
    );
    compare_tables(
        &mut src,
        &dbs.name,
        "big",
        &mut target.conn().await,
        None,
        None,
    )
    .await
    .assert_equal("big");
    dbs.cleanup().await;
}

/// Transfers on the bank tables of `db` on `source` until `stop` or
/// `max`, reconnecting after any error (the server killed under it): a
/// transfer is one transaction, so the invariant holds whatever was cut.
fn bank_writer_with_reconnect(
    source: Opts,
    db: String,
    stop: Arc<AtomicBool>,
    max: u64,
) -> tokio::task::JoinHandle<(u64, u64)> {
    tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(120);
        let (mut ok, mut failed) = (0u64, 0u64);
        let mut c: Option<Conn> = None;
        let mut i = 0u64;
        while !stop.load(Ordering::SeqCst) && ok < max && Instant::now() < deadline {
            if c.is_none() {
                match Conn::new(OptsBuilder::from_opts(source.clone()).db_name(Some(&db))).await {
                    Ok(x) => c = Some(x),
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                }
            }
            let Some(conn) = c.as_mut() else { continue };
            i += 1;
            match conn.query_drop(bank::transfer(i, ACCOUNTS)).await {
                Ok(()) => ok += 1,
                Err(_) => {
                    failed += 1;
                    c = None;
                }
            }
        }
        (ok, failed)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c8_source_killed_and_restarted_under_writes_is_followed_exactly_and_a_lost_binlog_tail_stops(
) {
    let _side_by_side = ALONE.read().await;
    let dbs = TestDatabases::new("c8_source").await;
    let source = Arc::new(std::sync::Mutex::new(Instance::start(&[
        "--log-bin=mysql-bin",
        "--binlog-format=ROW",
    ])));
    let source_opts = source.lock().expect("instance").opts();
    let mut src = Conn::new(source_opts.clone()).await.expect("source");
    let mut tgt = dbs.target().await;
    exec(&mut src, &format!("CREATE DATABASE `{}`", dbs.name)).await;
    exec(&mut src, &format!("USE `{}`", dbs.name)).await;
    for t in bank::TABLES {
        exec(&mut src, t).await;
        exec(&mut tgt, t).await;
    }
    bank::seed(&mut src, ACCOUNTS).await;
    bank::seed(&mut tgt, ACCOUNTS).await;
    let sel = ApplySelection::databases(&[&dbs.name]);
    let progress = ApplyProgress::new();
    let stop = StopSignal::new();
    let o = ApplyOptions {
        task: dbs.name.clone(),
        progress: progress.clone(),
        stop: stop.clone(),
        commit_interval: Duration::from_millis(20),
        max_retries: 30,
        ..ApplyOptions::default()
    };
    let target = opts(Server::Target, None);
    bulk_copy::prepare_incremental(&source_opts, &target, &sel, &o)
        .await
        .unwrap_or_else(|e| panic!("prepare: {e}"));
    let start = position(&mut src).await;
    drop(src);
    let stop_writer = Arc::new(AtomicBool::new(false));
    let writer = bank_writer_with_reconnect(
        source_opts.clone(),
        dbs.name.clone(),
        stop_writer.clone(),
        8000,
    );
    let run = |o: ApplyOptions| {
        let (sel, source_opts, target, start) = (
            sel.clone(),
            source_opts.clone(),
            target.clone(),
            start.clone(),
        );
        tokio::spawn(async move {
            apply_changes(
                &source_opts,
                &target,
                &sel,
                Some(&HandOff {
                    start,
                    overlap_end: None,
                }),
                &o,
            )
            .await
        })
    };
    let applier = run(o.clone());
    for n in 0..2 {
        let base = progress.status().transactions;
        let deadline = Instant::now() + Duration::from_secs(60);
        while progress.status().transactions < base + 50 {
            assert!(
                Instant::now() < deadline && !applier.is_finished(),
                "kill {n}: the apply makes no progress: {:?}",
                progress.status()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let s = source.clone();
        tokio::task::spawn_blocking(move || {
            let mut i = s.lock().expect("instance");
            i.kill9();
            std::thread::sleep(Duration::from_millis(500));
            i.start_again();
        })
        .await
        .expect("restart");
    }
    let base = progress.status().transactions;
    let deadline = Instant::now() + Duration::from_secs(90);
    while progress.status().transactions < base + 50 {
        assert!(
            Instant::now() < deadline && !applier.is_finished(),
            "after the kills: the apply makes no progress: {:?}",
            progress.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_writer.store(true, Ordering::SeqCst);
    let (ok, failed) = writer.await.expect("writer");
    let mut src = Conn::new(source_opts.clone()).await.expect("source");
    let end = position(&mut src).await;
    wait_applied(&progress, &end, "after the writer stopped").await;
    stop.stop();
    applier
        .await
        .expect("apply task")
        .unwrap_or_else(|e| panic!("apply: {e}"));
    eprintln!(
        "{ok} transfers, {failed} cut by the kills; {:?}",
        progress.status()
    );
    for t in ["acct", "log"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    // The source comes back without the tail the target applied: its
    // binary log restarts at the checkpoint's file, shorter than the
    // checkpoint's offset. The apply stops, saying so, instead of waiting.
    let at = progress.status().position.expect("a checkpoint");
    let number: u64 = at
        .file
        .rsplit('.')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a numbered binlog file");
    exec(&mut src, &format!("RESET MASTER TO {number}")).await;
    exec(
        &mut src,
        &format!("INSERT INTO `{}`.acct VALUES (100000, 0)", dbs.name),
    )
    .await;
    let r = tokio::time::timeout(
        Duration::from_secs(120),
        run(ApplyOptions {
            stop: StopSignal::new(),
            ..o.clone()
        }),
    )
    .await
    .expect("the apply stops instead of waiting for events the source lost")
    .expect("apply task");
    let e = r.expect_err("a checkpoint past the source's binlog end");
    assert!(e.to_string().contains("past the end"), "{e}");
    let shadow = bulk_copy::apply::shadow_database(&dbs.name, &dbs.name);
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}

/// A small deterministic generator for fault timings (the seed is
/// printed, so a failing run can be repeated).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below.max(1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n1_binlog_connection_cut_every_megabyte_and_at_random_loses_and_repeats_nothing() {
    let _side_by_side = ALONE.read().await;
    use dts_test_support::{edge_writer, EDGE_ROWS, EDGE_TABLE};
    let dbs = TestDatabases::new("n1_cuts").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(
        &mut src,
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'",
    )
    .await;
    for d in bank::TABLES.iter().copied().chain([EDGE_TABLE]) {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    for c in [&mut src, &mut tgt] {
        exec(c, "ALTER TABLE edge DROP KEY gen_s").await;
        bank::seed(c, ACCOUNTS).await;
    }
    for r in EDGE_ROWS {
        exec(&mut src, r).await;
    }
    // The rows so far are on the target too (as a copy would have put them).
    exec(
        &mut tgt,
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'",
    )
    .await;
    for r in EDGE_ROWS {
        exec(&mut tgt, r).await;
    }
    compare_tables(&mut src, &dbs.name, "edge", &mut tgt, None, None)
        .await
        .assert_equal("edge before the apply");
    let upstream = opts(Server::Source, None);
    let proxy = Proxy::start(upstream.tcp_port()).await;
    let source: Opts = OptsBuilder::from_opts(upstream)
        .tcp_port(proxy.port)
        .prefer_socket(false)
        .into();
    let sel = ApplySelection::databases(&[&dbs.name]);
    let progress = ApplyProgress::new();
    let stop = StopSignal::new();
    let o = ApplyOptions {
        task: dbs.name.clone(),
        progress: progress.clone(),
        stop: stop.clone(),
        max_retries: 30,
        ..ApplyOptions::default()
    };
    let target = opts(Server::Target, None);
    bulk_copy::prepare_incremental(&source, &target, &sel, &o)
        .await
        .unwrap_or_else(|e| panic!("prepare: {e}"));
    let start = position(&mut src).await;
    proxy.cut_every(1 << 20);
    let stop_writers = Arc::new(AtomicBool::new(false));
    let limit = |max| WriteLimit {
        max,
        within: Duration::from_secs(60),
    };
    let edges = edge_writer(dbs.name.clone(), stop_writers.clone(), limit(60));
    let transfers = bank::writer(
        dbs.name.clone(),
        ACCOUNTS,
        stop_writers.clone(),
        limit(3000),
    );
    let applier = {
        let (sel, o, source, target, start) = (
            sel.clone(),
            o.clone(),
            source.clone(),
            target.clone(),
            start.clone(),
        );
        tokio::spawn(async move {
            apply_changes(
                &source,
                &target,
                &sel,
                Some(&HandOff {
                    start,
                    overlap_end: None,
                }),
                &o,
            )
            .await
        })
    };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    eprintln!("random cuts: seed {seed}");
    let mut rng = Lcg(seed);
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(200 + rng.next(1300))).await;
        proxy.cut();
        tokio::time::sleep(Duration::from_millis(rng.next(300))).await;
        proxy.heal();
    }
    let rounds = edges.await.expect("edge writer");
    let n = transfers.await.expect("bank writer");
    let end = position(&mut src).await;
    wait_applied(&progress, &end, "after the writers").await;
    stop.stop();
    let r = applier
        .await
        .expect("apply task")
        .unwrap_or_else(|e| panic!("apply: {e}"));
    let byte_cuts = proxy.byte_cuts.load(Ordering::SeqCst);
    eprintln!("{rounds} edge rounds, {n} transfers, {byte_cuts} cuts at 1 MB; {r:?}");
    assert!(byte_cuts >= 3, "the stream was cut at 1 MB: {byte_cuts}");
    for t in ["acct", "log", "edge"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    let shadow = bulk_copy::apply::shadow_database(&dbs.name, &dbs.name);
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s8_a_stricter_target_sql_mode_changes_no_value_and_a_value_it_would_cut_stops_the_apply() {
    let _side_by_side = ALONE.read().await;
    use dts_test_support::{edge_writer, EDGE_ROWS, EDGE_TABLE};
    let dbs = TestDatabases::new("s8_mode").await;
    let mut src = dbs.source().await;
    exec(
        &mut src,
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'",
    )
    .await;
    exec(&mut src, EDGE_TABLE).await;
    exec(&mut src, "ALTER TABLE edge DROP KEY gen_s").await;
    exec(
        &mut src,
        "CREATE TABLE narrow (id INT PRIMARY KEY, s VARCHAR(10))",
    )
    .await;
    for r in EDGE_ROWS {
        exec(&mut src, r).await;
    }
    // Every strictness MariaDB has, and modes that change how statements
    // parse (quotes, backslashes, ||).
    let target = Instance::start(&[
        "--sql-mode=STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,\
         NO_BACKSLASH_ESCAPES,ANSI_QUOTES,PIPES_AS_CONCAT,NO_AUTO_CREATE_USER,ONLY_FULL_GROUP_BY",
    ]);
    {
        let mut t = target.conn().await;
        exec(
            &mut t,
            &format!(
                "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'; CREATE DATABASE `{0}`; USE `{0}`",
                dbs.name
            ),
        )
        .await;
        exec(&mut t, EDGE_TABLE).await;
        exec(&mut t, "ALTER TABLE edge DROP KEY gen_s").await;
        exec(
            &mut t,
            "CREATE TABLE narrow (id INT PRIMARY KEY, s VARCHAR(3))",
        )
        .await;
    }
    let sel = ApplySelection::databases(&[&dbs.name]);
    let o = ApplyOptions {
        task: dbs.name.clone(),
        ..ApplyOptions::default()
    };
    bulk_copy::prepare_incremental(&opts(Server::Source, None), &target.opts(), &sel, &o)
        .await
        .unwrap_or_else(|e| panic!("prepare: {e}"));
    let copy = CopyOptions {
        task: dbs.name.clone(),
        ..CopyOptions::default()
    };
    let report = copy_tables(
        &opts(Server::Source, None),
        &target.opts(),
        &[
            TableMapping::same(&dbs.name, "edge"),
            TableMapping::same(&dbs.name, "narrow"),
        ],
        &copy,
    )
    .await
    .unwrap_or_else(|e| panic!("copy into the strict target: {e}"));
    let handoff = HandOff {
        start: report.start.clone().expect("a start position"),
        overlap_end: report.overlap_end.clone(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = edge_writer(
        dbs.name.clone(),
        stop,
        WriteLimit {
            max: 5,
            within: Duration::from_secs(30),
        },
    )
    .await
    .expect("edge writer");
    assert_eq!(rounds, 5);
    let apply = |until: FilePosition| {
        let o = ApplyOptions {
            until: Some(until),
            ..o.clone()
        };
        let (sel, handoff, target) = (sel.clone(), handoff.clone(), target.opts());
        async move {
            apply_changes(
                &opts(Server::Source, None),
                &target,
                &sel,
                Some(&handoff),
                &o,
            )
            .await
        }
    };
    apply(position(&mut src).await)
        .await
        .unwrap_or_else(|e| panic!("apply into the strict target: {e}"));
    let mut t = target.conn().await;
    // Both sides read as stored (latin1 and gbk columns not converted).
    for c in [&mut src, &mut t] {
        exec(
            c,
            "SET NAMES utf8mb4, character_set_results = NULL, time_zone = '+00:00'",
        )
        .await;
    }
    compare_tables(&mut src, &dbs.name, "edge", &mut t, None, None)
        .await
        .assert_equal("edge, copied and applied under a strict target");
    // A value the target column cannot hold: an error naming it, and
    // nothing of the transaction kept (never cut to fit).
    exec(
        &mut src,
        "INSERT INTO narrow VALUES (1, 'abc'); \
         BEGIN; INSERT INTO narrow VALUES (2, 'abcdefgh'); INSERT INTO narrow VALUES (3, 'x'); COMMIT",
    )
    .await;
    let e = apply(position(&mut src).await)
        .await
        .expect_err("a value the target would cut");
    eprintln!("{e}");
    assert!(e.to_string().contains("narrow"), "{e}");
    let kept: Vec<(i32, String)> = t
        .query(format!(
            "SELECT id, s FROM `{}`.narrow ORDER BY id",
            dbs.name
        ))
        .await
        .expect("narrow");
    // A prefix of the source (the transaction before it may be rolled back
    // with it, as they share a target transaction), never the cut value.
    assert!(
        kept.is_empty() || kept == vec![(1, "abc".to_string())],
        "{kept:?}"
    );
    forget_copy(&dbs.name, &mut t).await;
    dbs.cleanup().await;
}

async fn forget_copy(task: &str, t: &mut Conn) {
    dts_test_support::forget_copy_task(t, task).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s11_rows_near_and_over_the_target_max_allowed_packet_split_batches_then_a_clear_error() {
    let _side_by_side = ALONE.read().await;
    let dbs = TestDatabases::new("s11_packet").await;
    let mut src = dbs.source().await;
    let ddl = "CREATE TABLE blobs (id INT PRIMARY KEY, b LONGBLOB)";
    exec(&mut src, ddl).await;
    // A target taking statements of 1 MiB at most.
    let target = Instance::start(&["--max-allowed-packet=1M"]);
    {
        let mut t = target.conn().await;
        exec(
            &mut t,
            &format!("CREATE DATABASE `{0}`; USE `{0}`", dbs.name),
        )
        .await;
        exec(&mut t, ddl).await;
    }
    let sel = ApplySelection::databases(&[&dbs.name]);
    let o = ApplyOptions {
        task: dbs.name.clone(),
        ..ApplyOptions::default()
    };
    bulk_copy::prepare_incremental(&opts(Server::Source, None), &target.opts(), &sel, &o)
        .await
        .unwrap_or_else(|e| panic!("prepare: {e}"));
    let start = position(&mut src).await;
    // Twelve rows of 300 kB in one source transaction: 3.6 MB of rows, each
    // of which fits a statement on its own; then one update making a row
    // of 1.5 MB, which cannot.
    exec(
        &mut src,
        "BEGIN; INSERT INTO blobs WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 \
         FROM s WHERE i < 12) SELECT i, REPEAT(CHAR(64 + i), 300000) FROM s; COMMIT",
    )
    .await;
    let fits = position(&mut src).await;
    exec(
        &mut src,
        "UPDATE blobs SET b = REPEAT('z', 1500000) WHERE id = 7",
    )
    .await;
    let end = position(&mut src).await;
    let apply = |until: FilePosition| {
        let o = ApplyOptions {
            until: Some(until),
            max_retries: 2,
            ..o.clone()
        };
        let (sel, start, target) = (sel.clone(), start.clone(), target.opts());
        async move {
            apply_changes(
                &opts(Server::Source, None),
                &target,
                &sel,
                Some(&HandOff {
                    start,
                    overlap_end: None,
                }),
                &o,
            )
            .await
        }
    };
    apply(fits.clone())
        .await
        .unwrap_or_else(|e| panic!("rows that fit one by one: {e}"));
    let mut t = target.conn().await;
    // Every row as the transaction wrote it (the source has the update
    // already; the target must not).
    let exact = format!(
        "SELECT COUNT(*) FROM `{}`.blobs WHERE b = REPEAT(CHAR(64 + id), 300000)",
        dbs.name
    );
    let n: i64 = query_one(&mut t, &exact).await;
    assert_eq!(n, 12, "the twelve rows, split into statements that fit");
    let row7 = format!("SELECT LENGTH(b) FROM `{}`.blobs WHERE id = 7", dbs.name);
    let e = apply(end.clone())
        .await
        .expect_err("a row over the target's max_allowed_packet");
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(
        msg.contains("max_allowed_packet") && msg.contains("blobs"),
        "{msg}"
    );
    let on_target: i64 = query_one(&mut t, &row7).await;
    assert_eq!(on_target, 300_000, "never a truncated row");
    dbs.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s13_a_batch_over_the_target_max_binlog_cache_size_is_reduced_then_a_clear_error() {
    let _side_by_side = ALONE.read().await;
    let dbs = TestDatabases::new("s13_cache").await;
    let mut src = dbs.source().await;
    let ddl = "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(2000))";
    exec(&mut src, ddl).await;
    // A target that logs its writes with a binary log cache of 64 kB.
    let target = Instance::start(&[
        "--log-bin=tgt-bin",
        "--binlog-format=ROW",
        "--binlog-cache-size=4096",
        "--max-binlog-cache-size=65536",
    ]);
    {
        let mut t = target.conn().await;
        exec(
            &mut t,
            &format!("CREATE DATABASE `{0}`; USE `{0}`", dbs.name),
        )
        .await;
        exec(&mut t, ddl).await;
    }
    let sel = ApplySelection::databases(&[&dbs.name]);
    let progress = ApplyProgress::new();
    let o = ApplyOptions {
        task: dbs.name.clone(),
        progress: progress.clone(),
        ..ApplyOptions::default()
    };
    bulk_copy::prepare_incremental(&opts(Server::Source, None), &target.opts(), &sel, &o)
        .await
        .unwrap_or_else(|e| panic!("prepare: {e}"));
    let start = position(&mut src).await;
    // 300 transactions of about 1.5 kB: one batch of them is over 64 kB.
    for i in 1..=300 {
        exec(
            &mut src,
            &format!("INSERT INTO t VALUES ({i}, REPEAT(CHAR(65 + {i} % 26), 1500))"),
        )
        .await;
    }
    let fits = position(&mut src).await;
    // One transaction of about 150 kB: over the cache on its own.
    exec(
        &mut src,
        "BEGIN; INSERT INTO t WITH RECURSIVE s(i) AS (SELECT 1001 UNION ALL SELECT i + 1 FROM s \
         WHERE i < 1100) SELECT i, REPEAT('w', 1500) FROM s; COMMIT",
    )
    .await;
    let end = position(&mut src).await;
    let apply = |until: FilePosition| {
        let o = ApplyOptions {
            until: Some(until),
            ..o.clone()
        };
        let (sel, start, target) = (sel.clone(), start.clone(), target.opts());
        async move {
            apply_changes(
                &opts(Server::Source, None),
                &target,
                &sel,
                Some(&HandOff {
                    start,
                    overlap_end: None,
                }),
                &o,
            )
            .await
        }
    };
    let r = apply(fits)
        .await
        .unwrap_or_else(|e| panic!("small transactions: {e}"));
    assert!(
        r.retries >= 1,
        "the batch was reduced after the error: {r:?}"
    );
    let mut t = target.conn().await;
    let q = format!("SELECT * FROM `{}`.t WHERE id <= 300", dbs.name);
    dts_test_support::compare_queries(&mut src, &q, &mut t, &q)
        .await
        .assert_equal("the 300 transactions");
    let e = apply(end)
        .await
        .expect_err("one transaction over the cache");
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(msg.contains("max_binlog_cache_size"), "{msg}");
    let n: i64 = query_one(
        &mut t,
        &format!("SELECT COUNT(*) FROM `{}`.t WHERE id > 1000", dbs.name),
    )
    .await;
    assert_eq!(n, 0, "nothing of it applied");
    dbs.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s15_cascading_foreign_keys_and_source_triggers_take_effect_once_on_the_target() {
    let _side_by_side = ALONE.read().await;
    let dbs = TestDatabases::new("s15_cascade").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let tables = [
        "CREATE TABLE parent (id INT PRIMARY KEY, v INT)",
        "CREATE TABLE child (id INT PRIMARY KEY, pid INT, v INT, \
         FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE CASCADE ON UPDATE CASCADE)",
        "CREATE TABLE grandchild (id INT PRIMARY KEY, cid INT, \
         FOREIGN KEY (cid) REFERENCES child (id) ON DELETE SET NULL)",
        "CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(40))",
    ];
    for t in tables {
        exec(&mut src, t).await;
        exec(&mut tgt, t).await;
    }
    // The source's trigger; the target has none until cut-over (design
    // rule 15): the rows it writes come through the binlog.
    exec(
        &mut src,
        "CREATE TRIGGER child_ai AFTER INSERT ON child FOR EACH ROW \
         INSERT INTO audit (what) VALUES (CONCAT('child ', NEW.id))",
    )
    .await;
    let sel = ApplySelection::databases(&[&dbs.name]);
    let o = ApplyOptions {
        task: dbs.name.clone(),
        ..ApplyOptions::default()
    };
    bulk_copy::prepare_incremental(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &sel,
        &o,
    )
    .await
    .unwrap_or_else(|e| panic!("prepare: {e}"));
    let start = position(&mut src).await;
    exec(
        &mut src,
        "INSERT INTO parent VALUES (1, 1), (2, 2), (3, 3);
         INSERT INTO child VALUES (10, 1, 0), (11, 1, 0), (20, 2, 0), (30, 3, 0);
         INSERT INTO grandchild VALUES (100, 10), (101, 20), (102, 30);
         DELETE FROM parent WHERE id = 1;
         UPDATE parent SET id = 200 WHERE id = 2;
         BEGIN; DELETE FROM parent WHERE id = 3; INSERT INTO parent VALUES (3, 33);
         INSERT INTO child VALUES (31, 3, 1); COMMIT;
         CREATE TRIGGER parent_bd BEFORE DELETE ON parent FOR EACH ROW \
           INSERT INTO audit (what) VALUES (CONCAT('parent ', OLD.id));
         DELETE FROM parent WHERE id = 200",
    )
    .await;
    let end = position(&mut src).await;
    let r = apply_changes(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &sel,
        Some(&HandOff {
            start,
            overlap_end: None,
        }),
        &ApplyOptions {
            until: Some(end),
            ..o.clone()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("apply: {e}"));
    assert!(
        r.ddl_skipped.iter().any(|s| s.contains("parent_bd")),
        "the trigger waits for cut-over: {r:?}"
    );
    let triggers: i64 = query_one(
        &mut tgt,
        &format!(
            "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = '{}'",
            dbs.name
        ),
    )
    .await;
    assert_eq!(triggers, 0);
    for t in ["parent", "child", "grandchild", "audit"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    let audit: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM audit").await;
    assert_eq!(
        audit, 6,
        "five child inserts and one parent delete, each once"
    );
    let shadow = bulk_copy::apply::shadow_database(&dbs.name, &dbs.name);
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s10_a_target_out_of_space_stops_with_the_checkpoint_intact_and_resumes_once_space_is_added(
) {
    let _side_by_side = ALONE.read().await;
    let dbs = TestDatabases::new("s10_full").await;
    let mut src = dbs.source().await;
    let ddl = "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(600))";
    exec(&mut src, ddl).await;
    // The target's data lives in one 12 MB file that cannot grow: InnoDB
    // runs out of space there as on a full disk (error 1114), without
    // needing a small filesystem (and root) for the test.
    let small = [
        "--innodb-file-per-table=0",
        "--innodb-data-file-path=ibdata1:12M",
    ];
    let mut target = Instance::start(&small);
    {
        let mut t = target.conn().await;
        exec(
            &mut t,
            &format!("CREATE DATABASE `{0}`; USE `{0}`", dbs.name),
        )
        .await;
        exec(&mut t, ddl).await;
    }
    let sel = ApplySelection::databases(&[&dbs.name]);
    let o = ApplyOptions {
        task: dbs.name.clone(),
        max_retries: 2,
        ..ApplyOptions::default()
    };
    bulk_copy::prepare_incremental(&opts(Server::Source, None), &target.opts(), &sel, &o)
        .await
        .unwrap_or_else(|e| panic!("prepare: {e}"));
    let start = position(&mut src).await;
    // 40 transactions of 1,000 rows of 500 bytes: 20 MB of rows.
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    for n in 0..40 {
        exec(
            &mut src,
            &format!(
                "INSERT INTO t WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s \
                 WHERE i < 1000) SELECT {n} * 1000 + i, REPEAT(CHAR(65 + i % 26), 500) FROM s"
            ),
        )
        .await;
    }
    let end = position(&mut src).await;
    let apply = |target: Opts| {
        let o = ApplyOptions {
            until: Some(end.clone()),
            ..o.clone()
        };
        let (sel, start) = (sel.clone(), start.clone());
        async move {
            apply_changes(
                &opts(Server::Source, None),
                &target,
                &sel,
                Some(&HandOff {
                    start,
                    overlap_end: None,
                }),
                &o,
            )
            .await
        }
    };
    let e = apply(target.opts()).await.expect_err("the target is full");
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(msg.contains("out of space"), "{msg}");
    // What is on the target is exactly what the checkpoint says.
    let mut t = target.conn().await;
    let (rows, applied): (i64, i64) = query_one(
        &mut t,
        &format!(
            "SELECT (SELECT COUNT(*) FROM `{}`.t), (SELECT rows_applied FROM \
             dts_meta.cdc_checkpoint WHERE task = '{}')",
            dbs.name, dbs.name
        ),
    )
    .await;
    assert!(rows < 40_000, "the target filled up before the end: {rows}");
    assert_eq!(rows, applied, "the checkpoint counts what is on the target");
    drop(t);
    // Space added (a second data file), then the task runs again.
    target.restart(&[
        "--innodb-file-per-table=0",
        "--innodb-data-file-path=ibdata1:12M;ibdata2:12M:autoextend",
    ]);
    apply(target.opts())
        .await
        .unwrap_or_else(|e| panic!("after space was added: {e}"));
    let mut t = target.conn().await;
    compare_tables(&mut src, &dbs.name, "t", &mut t, None, None)
        .await
        .assert_equal("t after the resume");
    dbs.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x3_a_hot_row_updated_100k_times_while_its_chunk_is_copied_ends_equal() {
    let _side_by_side = ALONE.read().await;
    let dbs = TestDatabases::new("x3_hot").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let ddl = "CREATE TABLE hot (id INT PRIMARY KEY, n BIGINT NOT NULL, v VARCHAR(50))";
    for c in [&mut src, &mut tgt] {
        exec(c, ddl).await;
    }
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(
        &mut src,
        "INSERT INTO hot WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s \
         WHERE i < 50000) SELECT i, 0, REPEAT('h', 40) FROM s",
    )
    .await;
    let sel = ApplySelection::databases(&[&dbs.name]);
    let o = ApplyOptions {
        task: dbs.name.clone(),
        ..ApplyOptions::default()
    };
    bulk_copy::prepare_incremental(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &sel,
        &o,
    )
    .await
    .unwrap_or_else(|e| panic!("prepare: {e}"));
    // The writer: row 25000 updated 100,000 times, one transaction each
    // (100 autocommitted statements a round trip), bounded in time.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop) = (dbs.name.clone(), stop.clone());
        tokio::spawn(async move {
            let mut c = dts_test_support::connect(Server::Source, Some(&db)).await;
            let deadline = Instant::now() + Duration::from_secs(150);
            let mut n = 0u64;
            while n < 100_000 && !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                let batch: String = (0..100)
                    .map(|k| {
                        format!(
                            "UPDATE hot SET n = n + 1, v = 'u{}' WHERE id = 25000;",
                            n + k + 1
                        )
                    })
                    .collect();
                exec(&mut c, &batch).await;
                n += 100;
            }
            n
        })
    };
    // The copy of the table, slowed down to last while the row changes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let throttle = Throttle::default();
    throttle.set_limits(ThrottleLimits {
        queries_per_sec: None,
        rows_per_sec: Some(10_000.0),
        bytes_per_sec: None,
    });
    let report = copy_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &[TableMapping::same(&dbs.name, "hot")],
        &CopyOptions {
            task: dbs.name.clone(),
            chunk_rows: 1000,
            readers: 2,
            writers: 2,
            bulk_max_bytes: 0,
            split_rows: 10_000,
            throttle,
            ..CopyOptions::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("copy: {e}"));
    let updates = writer.await.expect("writer");
    assert_eq!(updates, 100_000, "the writer did all its updates in time");
    let end = position(&mut src).await;
    apply_changes(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &sel,
        Some(&HandOff {
            start: report.start.clone().expect("a start"),
            overlap_end: report.overlap_end.clone(),
        }),
        &ApplyOptions {
            until: Some(end),
            ..o.clone()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("apply: {e}"));
    let hot: (i64, String) = query_one(&mut tgt, "SELECT n, v FROM hot WHERE id = 25000").await;
    assert_eq!(hot, (100_000, "u100000".to_string()));
    compare_tables(&mut src, &dbs.name, "hot", &mut tgt, None, None)
        .await
        .assert_equal("hot");
    forget_copy(&dbs.name, &mut tgt).await;
    let shadow = bulk_copy::apply::shadow_database(&dbs.name, &dbs.name);
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}

/// The resident memory of this process, in bytes.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n7_a_row_lock_held_60_s_on_the_target_under_5k_rows_per_s_keeps_memory_flat_and_reports_lag(
) {
    let _alone = ALONE.write().await;
    let dbs = TestDatabases::new("n7_slow").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let ddl = "CREATE TABLE w (id BIGINT PRIMARY KEY, v VARCHAR(500))";
    for c in [&mut src, &mut tgt] {
        exec(c, ddl).await;
        exec(c, "INSERT INTO w VALUES (0, 'first')").await;
    }
    let sel = ApplySelection::databases(&[&dbs.name]);
    let progress = ApplyProgress::new();
    let stop = StopSignal::new();
    let o = ApplyOptions {
        task: dbs.name.clone(),
        progress: progress.clone(),
        stop: stop.clone(),
        max_retries: 30,
        ..ApplyOptions::default()
    };
    bulk_copy::prepare_incremental(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &sel,
        &o,
    )
    .await
    .unwrap_or_else(|e| panic!("prepare: {e}"));
    let start = position(&mut src).await;
    let applier = {
        let (sel, o, start) = (sel.clone(), o.clone(), start.clone());
        tokio::spawn(async move {
            apply_changes(
                &opts(Server::Source, None),
                &opts(Server::Target, None),
                &sel,
                Some(&HandOff {
                    start,
                    overlap_end: None,
                }),
                &o,
            )
            .await
        })
    };
    // The lock: every key above 0 on the target, held for 60 s.
    let mut locker = dbs.target().await;
    exec(
        &mut locker,
        "BEGIN; SELECT COUNT(*) FROM w WHERE id >= 0 FOR UPDATE",
    )
    .await;
    // The writer: 50 rows of 400 bytes every 10 ms (5,000 rows/s, 2 MB/s
    // of binlog) for 70 s and 350,000 rows at most.
    let stop_writer = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop) = (dbs.name.clone(), stop_writer.clone());
        tokio::spawn(async move {
            let mut c = dts_test_support::connect(Server::Source, Some(&db)).await;
            exec(&mut c, "SET SESSION max_recursive_iterations = 1000000").await;
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let deadline = Instant::now() + Duration::from_secs(70);
            let mut next = 1u64;
            while !stop.load(Ordering::SeqCst) && next < 350_000 && Instant::now() < deadline {
                tick.tick().await;
                exec(
                    &mut c,
                    &format!(
                        "INSERT INTO w WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 \
                         FROM s WHERE i < 49) SELECT {next} + i, REPEAT('r', 400) FROM s"
                    ),
                )
                .await;
                next += 50;
            }
            next - 1
        })
    };
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(15)).await;
    let (rss_early, lag_early) = (rss(), progress.status().lag.unwrap_or_default());
    let mut rss_peak = rss_early;
    while t0.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss_peak = rss_peak.max(rss());
    }
    let status = progress.status();
    let lag_late = status.lag.unwrap_or_default();
    eprintln!(
        "after 15 s: lag {lag_early:?}, RSS {} MB; after 60 s: lag {lag_late:?}, peak RSS {} MB; \
         {status:?}",
        rss_early >> 20,
        rss_peak >> 20
    );
    assert!(
        lag_late > lag_early && lag_late >= Duration::from_secs(30),
        "the lag grows and is reported while the target is blocked: {lag_early:?} then \
         {lag_late:?}"
    );
    assert!(!status.caught_up, "{status:?}");
    assert!(
        rss_peak < rss_early + (64 << 20),
        "memory stays flat while the backlog grows: {} MB then {} MB",
        rss_early >> 20,
        rss_peak >> 20
    );
    exec(&mut locker, "COMMIT").await;
    stop_writer.store(true, Ordering::SeqCst);
    let rows = writer.await.expect("writer");
    let end = position(&mut src).await;
    wait_applied(&progress, &end, "after the lock was released").await;
    stop.stop();
    applier
        .await
        .expect("apply task")
        .unwrap_or_else(|e| panic!("apply: {e}"));
    eprintln!("{rows} rows written");
    compare_tables(&mut src, &dbs.name, "w", &mut tgt, None, None)
        .await
        .assert_equal("w");
    let shadow = bulk_copy::apply::shadow_database(&dbs.name, &dbs.name);
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n2_a_black_hole_on_the_binlog_connection_is_detected_reported_and_healed_exactly() {
    let _side_by_side = ALONE.read().await;
    let dbs = TestDatabases::new("n2_hole").await;
    let upstream = opts(Server::Source, None);
    let proxy = Proxy::start(upstream.tcp_port()).await;
    let source: Opts = OptsBuilder::from_opts(upstream)
        .tcp_port(proxy.port)
        .prefer_socket(false)
        .into();
    let progress = ApplyProgress::new();
    let stop = StopSignal::new();
    let o = ApplyOptions {
        task: dbs.name.clone(),
        progress: progress.clone(),
        stop: stop.clone(),
        max_retries: 30,
        ..ApplyOptions::default()
    };
    let target = opts(Server::Target, None);
    let start = bank_on_both(&dbs, &target, &o).await;
    let stop_writer = Arc::new(AtomicBool::new(false));
    let writer = bank::writer(
        dbs.name.clone(),
        ACCOUNTS,
        stop_writer.clone(),
        WriteLimit {
            max: 20_000,
            within: Duration::from_secs(90),
        },
    );
    let applier = {
        let (o, source, target) = (o.clone(), source.clone(), target.clone());
        let sel = ApplySelection::databases(&[&dbs.name]);
        tokio::spawn(async move {
            apply_changes(
                &source,
                &target,
                &sel,
                Some(&HandOff {
                    start,
                    overlap_end: None,
                }),
                &o,
            )
            .await
        })
    };
    let wait_more = |n: u64| {
        let progress = progress.clone();
        async move {
            let base = progress.status().transactions;
            let deadline = Instant::now() + Duration::from_secs(90);
            while progress.status().transactions < base + n {
                assert!(
                    Instant::now() < deadline,
                    "no progress: {:?}",
                    progress.status()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_more(50).await;
    // 30 s of black hole: no byte either way, no FIN.
    proxy.black_hole();
    let t0 = Instant::now();
    let mut seen_stalled = None;
    while t0.elapsed() < Duration::from_secs(30) {
        if seen_stalled.is_none() && progress.status().source_stalled {
            seen_stalled = Some(t0.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let during = progress.status();
    proxy.heal();
    eprintln!("stall reported after {seen_stalled:?}; {during:?}");
    assert!(
        seen_stalled.is_some(),
        "the black hole was reported: {during:?}"
    );
    assert!(!during.caught_up || during.source_stalled, "{during:?}");
    // Healed: the apply goes on and the report clears.
    wait_more(50).await;
    stop_writer.store(true, Ordering::SeqCst);
    writer.await.expect("writer");
    let end = position(&mut dbs.source().await).await;
    wait_applied(&progress, &end, "after the heal").await;
    assert!(!progress.status().source_stalled, "{:?}", progress.status());
    stop.stop();
    applier
        .await
        .expect("apply task")
        .unwrap_or_else(|e| panic!("apply: {e}"));
    bank_equal(&dbs, &target, "after the black hole").await;
    let shadow = bulk_copy::apply::shadow_database(&dbs.name, &dbs.name);
    exec(
        &mut dbs.target().await,
        &format!("DROP DATABASE IF EXISTS `{shadow}`"),
    )
    .await;
    dbs.cleanup().await;
}
