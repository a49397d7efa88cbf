//! The apply's GTID checkpoint and source failover against real servers
//! (catalogue S4, S5, C12): a MariaDB primary and a GTID replica with
//! `log_slave_updates` (`test-support`'s `ReplicationPair`, started here),
//! and the shared target server. The bank workload runs on the source: its
//! invariant (the sum of the balances) holds on the target at every sample.

use std::time::{Duration, Instant};

use binlog_reader::position::{GtidState, MariadbGtidPosition, SavedPosition, SourceIdentity};
use bulk_copy::{
    apply_changes, ApplyOptions, ApplyProgress, ApplySelection, CopyError, HandOff, StopSignal,
};
use dts_test_support::replication::{gtid_positions, ReplicationPair, REPLICA_SERVER_ID};
use dts_test_support::{bank, compare_tables, exec, exec_retrying, opts, query_one, Server};
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};

use binlog_reader::position::FilePosition;

const ACCOUNTS: u64 = 500;

/// A database of the bank workload on `src` (replicated to the replica)
/// and on the shared target, both seeded alike.
async fn bank_on(src: &mut Conn, db: &str) -> Conn {
    let mut tgt = dts_test_support::connect(Server::Target, None).await;
    for c in [&mut *src, &mut tgt] {
        exec(c, &format!("DROP DATABASE IF EXISTS `{db}`")).await;
        exec(c, &format!("CREATE DATABASE `{db}`")).await;
        exec(c, &format!("USE `{db}`")).await;
        for t in bank::TABLES {
            exec(c, t).await;
        }
        bank::seed(c, ACCOUNTS).await;
    }
    tgt
}

/// Forgets the task's rows and its shadow on the target, and the database.
async fn cleanup(tgt: &mut Conn, task: &str, db: &str) {
    let shadow = bulk_copy::apply::shadow_database(task, db);
    exec(tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    exec(tgt, &format!("DROP DATABASE IF EXISTS `{db}`")).await;
    for t in ["cdc_checkpoint", "cdc_prepared", "cdc_ddl"] {
        tgt.exec_drop(
            format!("DELETE FROM dts_meta.`{t}` WHERE task = ?"),
            (task,),
        )
        .await
        .ok();
    }
}

async fn binlog_end(c: &mut Conn) -> FilePosition {
    let (f, p) = dts_test_support::binlog_position(c).await;
    FilePosition::new(f, p)
}

/// `count` bank transfers on `c`, numbered from `from`.
async fn transfers(c: &mut Conn, from: u64, count: u64) {
    for i in from..from + count {
        exec_retrying(c, &bank::transfer(i, ACCOUNTS)).await;
    }
}

async fn sum(tgt: &mut Conn, db: &str) -> i64 {
    query_one(
        tgt,
        &format!("SELECT CAST(SUM(balance) AS SIGNED) FROM `{db}`.acct"),
    )
    .await
}

async fn saved_position(tgt: &mut Conn, task: &str) -> Option<String> {
    tgt.exec_first(
        "SELECT saved_position FROM dts_meta.cdc_checkpoint WHERE task = ?",
        (task,),
    )
    .await
    .unwrap_or_else(|e| panic!("reading the checkpoint: {e}"))
    .flatten()
}

/// Waits until the apply's committed GTID state is `want`, sampling the
/// bank invariant on the target meanwhile; returns the samples taken.
async fn wait_for_gtid(
    progress: &ApplyProgress,
    want: &MariadbGtidPosition,
    tgt: &mut Conn,
    db: &str,
    applier: &tokio::task::JoinHandle<Result<bulk_copy::ApplyReport, CopyError>>,
) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(120);
    let want = want.to_string();
    let mut samples = 0;
    loop {
        assert_eq!(
            sum(tgt, db).await,
            bank::total(ACCOUNTS),
            "bank invariant on the target"
        );
        samples += 1;
        let st = progress.status();
        if st.gtid_state.as_deref() == Some(want.as_str()) {
            return samples;
        }
        assert!(
            !applier.is_finished(),
            "the apply ended before reaching {want}: {st:?}"
        );
        assert!(
            Instant::now() < deadline,
            "the apply did not reach {want}: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn spawn_apply(
    source: Opts,
    failover: Vec<Opts>,
    sel: &ApplySelection,
    handoff: Option<HandOff>,
    o: &ApplyOptions,
) -> tokio::task::JoinHandle<Result<bulk_copy::ApplyReport, CopyError>> {
    let (sel, o) = (sel.clone(), o.clone());
    tokio::spawn(async move {
        let o = ApplyOptions {
            failover_sources: failover,
            ..o
        };
        apply_changes(
            &source,
            &opts(Server::Target, None),
            &sel,
            handoff.as_ref(),
            &o,
        )
        .await
    })
}

/// S4: the replica is promoted in the middle of the incremental phase
/// (the primary stops, the replica's replication is stopped and it takes
/// the writes): the apply continues on it by GTID, the target ends
/// byte-exact with it, and the bank invariant holds at every sample. The
/// checkpoint keeps the exact GTID state (S5: two domains) and names the
/// new server.
#[tokio::test]
async fn s4_s5_promoting_the_replica_mid_incremental_continues_on_it_exactly() {
    let (task, db) = ("s4_promote", "s4_promote");
    let mut pair = ReplicationPair::start().await;
    let mut p = pair.primary().conn().await;
    let mut tgt = bank_on(&mut p, db).await;
    exec(&mut p, &format!("USE `{db}`")).await;
    let sel = ApplySelection::databases(&[db]);
    let progress = ApplyProgress::new();
    let stop = StopSignal::new();
    let o = ApplyOptions {
        task: task.into(),
        progress: progress.clone(),
        stop: stop.clone(),
        commit_interval: Duration::from_millis(50),
        ..ApplyOptions::default()
    };
    bulk_copy::prepare_incremental(
        &pair.primary().opts(),
        &opts(Server::Target, None),
        &sel,
        &o,
    )
    .await
    .unwrap_or_else(|e| panic!("prepare: {e}"));
    let start = binlog_end(&mut p).await;
    let applier = spawn_apply(
        pair.primary().opts(),
        vec![pair.replica().opts()],
        &sel,
        Some(HandOff {
            start,
            overlap_end: None,
        }),
        &o,
    );
    // Transfers on the primary, some in a second GTID domain (S5).
    transfers(&mut p, 1, 150).await;
    let mut p2 = dts_test_support::replication::conn_in_domain(pair.primary(), 2).await;
    exec(&mut p2, &format!("USE `{db}`")).await;
    transfers(&mut p2, 151, 50).await;
    let on_primary = pair.wait_caught_up().await;
    let mut samples = wait_for_gtid(&progress, &on_primary, &mut tgt, db, &applier).await;
    let before = saved_position(&mut tgt, task)
        .await
        .expect("a saved position");
    let before = SavedPosition::parse(&before).unwrap_or_else(|e| panic!("{before}: {e}"));
    assert_eq!(
        before.gtid(),
        &GtidState::Mariadb(on_primary.clone()),
        "the checkpoint's GTID state is the primary's, both domains"
    );
    assert_eq!(*before.source(), SourceIdentity::Mariadb { server_id: 1 });
    // More transfers that reach the replica but not yet the target, then
    // the failover: the primary stops, the replica is promoted and the
    // writers move to it.
    transfers(&mut p, 201, 100).await;
    pair.wait_caught_up().await;
    drop((p, p2));
    pair.fail_over().await;
    let mut r = pair.replica().conn().await;
    exec(&mut r, &format!("USE `{db}`")).await;
    transfers(&mut r, 301, 150).await;
    let end = gtid_positions(&mut r).await.binlog_pos;
    samples += wait_for_gtid(&progress, &end, &mut tgt, db, &applier).await;
    stop.stop();
    let report = applier
        .await
        .expect("apply task")
        .unwrap_or_else(|e| panic!("apply: {e}"));
    assert_eq!(report.source_switches, 1, "{report:?}");
    let now_on = report.source_server.clone().unwrap_or_default();
    assert!(
        now_on.contains(&format!("server_id {REPLICA_SERVER_ID}")),
        "{now_on}"
    );
    let after = saved_position(&mut tgt, task)
        .await
        .expect("a saved position");
    let after = SavedPosition::parse(&after).unwrap_or_else(|e| panic!("{after}: {e}"));
    assert_eq!(
        *after.source(),
        SourceIdentity::Mariadb {
            server_id: REPLICA_SERVER_ID
        }
    );
    assert_eq!(after.gtid(), &GtidState::Mariadb(end));
    for t in ["acct", "log"] {
        compare_tables(&mut r, db, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    assert!(samples > 2, "{samples}");
    cleanup(&mut tgt, task, db).await;
}

/// S4: a replica that misses transactions the target already applied is
/// refused, naming the missing GTID, and nothing is written to the target
/// after the refusal (the new primary's writes are not applied).
#[tokio::test]
async fn s4_a_replica_missing_applied_transactions_is_refused_naming_them() {
    let (task, db) = ("s4_refused", "s4_refused");
    let mut pair = ReplicationPair::start().await;
    let mut p = pair.primary().conn().await;
    let mut tgt = bank_on(&mut p, db).await;
    exec(&mut p, &format!("USE `{db}`")).await;
    let sel = ApplySelection::databases(&[db]);
    let o = ApplyOptions {
        task: task.into(),
        stop_at_end: true,
        ..ApplyOptions::default()
    };
    bulk_copy::prepare_incremental(
        &pair.primary().opts(),
        &opts(Server::Target, None),
        &sel,
        &o,
    )
    .await
    .unwrap_or_else(|e| panic!("prepare: {e}"));
    let start = binlog_end(&mut p).await;
    transfers(&mut p, 1, 50).await;
    pair.wait_caught_up().await;
    // The replica stops following; the primary goes on, and the target
    // applies everything the primary has.
    pair.stop_replication().await;
    transfers(&mut p, 51, 20).await;
    let applied = gtid_positions(&mut p).await.binlog_pos;
    let report = apply_changes(
        &pair.primary().opts(),
        &opts(Server::Target, None),
        &sel,
        Some(&HandOff {
            start,
            overlap_end: None,
        }),
        &o,
    )
    .await
    .unwrap_or_else(|e| panic!("apply: {e}"));
    assert_eq!(report.gtid_state, Some(applied.to_string()));
    let checkpoint_before = saved_position(&mut tgt, task).await;
    // The primary fails; the lagging replica is promoted and written to.
    drop(p);
    pair.fail_over().await;
    let mut r = pair.replica().conn().await;
    exec(&mut r, &format!("USE `{db}`")).await;
    transfers(&mut r, 1001, 10).await;
    let checksum = |c: &'static str| {
        format!("SELECT CAST(COUNT(*) AS SIGNED), CAST(SUM(CRC32(CONCAT_WS(',', {c}))) AS SIGNED) FROM `{db}`")
    };
    let acct = format!("{}.acct", checksum("id, balance"));
    let log = format!("{}.log", checksum("id, acct, delta"));
    let before: ((i64, i64), (i64, i64)) = (
        query_one(&mut tgt, &acct).await,
        query_one(&mut tgt, &log).await,
    );
    // The task now points at the new primary: another server answers.
    let e = apply_changes(
        &pair.replica().opts(),
        &opts(Server::Target, None),
        &sel,
        None,
        &o,
    )
    .await
    .expect_err("a replica that lacks applied transactions must be refused");
    let msg = e.to_string();
    eprintln!("refusal: {msg}");
    assert!(matches!(e, CopyError::FailoverRefused { .. }), "{msg}");
    let last = applied.get(0).expect("domain 0");
    assert!(msg.contains(&last.to_string()), "names {last}: {msg}");
    assert!(msg.contains("domain 0"), "{msg}");
    assert!(msg.contains("it is behind"), "{msg}");
    assert!(msg.contains("Nothing was written"), "{msg}");
    let after: ((i64, i64), (i64, i64)) = (
        query_one(&mut tgt, &acct).await,
        query_one(&mut tgt, &log).await,
    );
    assert_eq!(
        before, after,
        "nothing written to the target after the refusal"
    );
    assert_eq!(saved_position(&mut tgt, task).await, checkpoint_before);
    cleanup(&mut tgt, task, db).await;
}

/// The source's GTID position at a file position (`BINLOG_GTID_POS`).
async fn gtid_at(src: &mut Conn, at: &FilePosition) -> MariadbGtidPosition {
    let text: String = src
        .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (&at.file, at.offset))
        .await
        .unwrap_or_else(|e| panic!("BINLOG_GTID_POS: {e}"))
        .unwrap_or_else(|| panic!("no GTID position at {at}"));
    MariadbGtidPosition::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Applies on the shared servers up to the source's current end.
async fn apply_until_end(
    sel: &ApplySelection,
    handoff: Option<&HandOff>,
    o: &ApplyOptions,
) -> Result<bulk_copy::ApplyReport, CopyError> {
    let mut src = dts_test_support::connect(Server::Source, None).await;
    let o = ApplyOptions {
        until: Some(binlog_end(&mut src).await),
        ..o.clone()
    };
    apply_changes(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        sel,
        handoff,
        &o,
    )
    .await
}

/// Reads the task's saved position and checks it against the source: its
/// GTID state is the server's own at its file position.
async fn check_saved(tgt: &mut Conn, meta: &str, task: &str) -> SavedPosition {
    let text: Option<String> = tgt
        .exec_first(
            format!("SELECT saved_position FROM `{meta}`.cdc_checkpoint WHERE task = ?"),
            (task,),
        )
        .await
        .unwrap_or_else(|e| panic!("reading the checkpoint: {e}"))
        .flatten();
    let text = text.expect("a saved position");
    let saved = SavedPosition::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let mut src = dts_test_support::connect(Server::Source, None).await;
    assert_eq!(
        saved.gtid(),
        &GtidState::Mariadb(gtid_at(&mut src, saved.file()).await),
        "the saved GTID state is the source's at {}",
        saved.file()
    );
    saved
}

/// C12: the checkpoint's saved position (with the GTID state) is the
/// source's own at its file position; a checkpoint table of an earlier
/// version (without the column, the row without a saved position) is
/// upgraded and resumed; a saved position edited by hand, or one that
/// disagrees with the row's file position, is refused by name, and the
/// restored value resumes exactly.
#[tokio::test]
async fn c12_the_saved_gtid_position_is_exact_upgraded_and_refused_when_edited() {
    let dbs = dts_test_support::TestDatabases::new("c12_gtid_checkpoint").await;
    let meta = format!("{}_meta", dbs.name);
    let (mut src, mut tgt) = (dbs.source().await, dbs.target().await);
    for c in [&mut src, &mut tgt] {
        exec(c, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))").await;
    }
    let sel = ApplySelection::databases(&[&dbs.name]);
    let o = ApplyOptions {
        task: dbs.name.clone(),
        meta_schema: meta.clone(),
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
    let handoff = HandOff {
        start: binlog_end(&mut src).await,
        overlap_end: None,
    };
    exec(&mut src, "INSERT INTO t VALUES (1, 'a'), (2, 'b')").await;
    let r = apply_until_end(&sel, Some(&handoff), &o)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    let saved = check_saved(&mut tgt, &meta, &dbs.name).await;
    let GtidState::Mariadb(p) = saved.gtid() else {
        panic!("a MariaDB GTID state: {saved}");
    };
    assert_eq!(r.gtid_state, Some(p.to_string()), "the status shows it");
    // An earlier version's table: no column, so no saved position.
    exec(
        &mut tgt,
        &format!("ALTER TABLE `{meta}`.cdc_checkpoint DROP COLUMN saved_position"),
    )
    .await;
    exec(
        &mut src,
        "INSERT INTO t VALUES (3, 'c'); UPDATE t SET v = 'z' WHERE id = 1",
    )
    .await;
    apply_until_end(&sel, None, &o)
        .await
        .unwrap_or_else(|e| panic!("apply after the upgrade: {e}"));
    let saved = check_saved(&mut tgt, &meta, &dbs.name).await;
    compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None)
        .await
        .assert_equal("t");
    // Edited by hand: refused, naming the column and what to do.
    let original = saved.to_string();
    let edited = original.replacen("\"offset\":", "\"offset\":1", 1);
    let set = format!("UPDATE `{meta}`.cdc_checkpoint SET saved_position = ? WHERE task = ?");
    tgt.exec_drop(&set, (&edited, &dbs.name))
        .await
        .expect("edit");
    exec(&mut src, "INSERT INTO t VALUES (4, 'd')").await;
    let e = apply_until_end(&sel, None, &o)
        .await
        .expect_err("an edited saved position must be refused");
    assert!(matches!(e, CopyError::Checkpoint { .. }), "{e}");
    assert!(e.to_string().contains("edited or cut"), "{e}");
    // The file position moved without the saved position: refused too.
    tgt.exec_drop(&set, (&original, &dbs.name))
        .await
        .expect("restore");
    let bump =
        format!("UPDATE `{meta}`.cdc_checkpoint SET binlog_pos = binlog_pos + 1 WHERE task = ?");
    tgt.exec_drop(&bump, (&dbs.name,)).await.expect("bump");
    let e = apply_until_end(&sel, None, &o)
        .await
        .expect_err("a saved position that disagrees with the row must be refused");
    assert!(e.to_string().contains("binlog_file/binlog_pos"), "{e}");
    let unbump =
        format!("UPDATE `{meta}`.cdc_checkpoint SET binlog_pos = binlog_pos - 1 WHERE task = ?");
    tgt.exec_drop(&unbump, (&dbs.name,)).await.expect("unbump");
    // Restored: it resumes exactly.
    apply_until_end(&sel, None, &o)
        .await
        .unwrap_or_else(|e| panic!("apply after the restore: {e}"));
    check_saved(&mut tgt, &meta, &dbs.name).await;
    compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None)
        .await
        .assert_equal("t");
    exec(&mut tgt, &format!("DROP DATABASE `{meta}`")).await;
    let shadow = bulk_copy::apply::shadow_database(&dbs.name, &dbs.name);
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}

/// An incremental-only task started at an explicit GTID position (no
/// copy, no file position): it applies exactly the transactions after it,
/// and its first commit saves the file position beside the GTID state.
#[tokio::test]
async fn an_incremental_task_started_at_a_gtid_position_applies_exactly_what_follows() {
    let dbs = dts_test_support::TestDatabases::new("gtid_start").await;
    let meta = format!("{}_meta", dbs.name);
    let (mut src, mut tgt) = (dbs.source().await, dbs.target().await);
    for c in [&mut src, &mut tgt] {
        exec(c, "CREATE TABLE t (id INT PRIMARY KEY, v INT)").await;
        exec(c, "INSERT INTO t VALUES (1, 1), (2, 2)").await;
    }
    let sel = ApplySelection::databases(&[&dbs.name]);
    let start: String = query_one(&mut src, "SELECT @@GLOBAL.gtid_binlog_pos").await;
    let start = MariadbGtidPosition::parse(&start).expect("gtid_binlog_pos");
    exec(
        &mut src,
        "INSERT INTO t VALUES (3, 3); UPDATE t SET v = 20 WHERE id = 2; DELETE FROM t WHERE id = 1",
    )
    .await;
    let o = ApplyOptions {
        task: dbs.name.clone(),
        meta_schema: meta.clone(),
        start_gtid: Some(GtidState::Mariadb(start)),
        stop_at_end: true,
        ..ApplyOptions::default()
    };
    let r = apply_changes(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &sel,
        None,
        &o,
    )
    .await
    .unwrap_or_else(|e| panic!("apply: {e}"));
    assert!(r.transactions >= 1, "{r:?}");
    compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None)
        .await
        .assert_equal("t");
    check_saved(&mut tgt, &meta, &dbs.name).await;
    exec(&mut tgt, &format!("DROP DATABASE `{meta}`")).await;
    let shadow = bulk_copy::apply::shadow_database(&dbs.name, &dbs.name);
    exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}

/// The binlog dump threads on the source whose connection ids are these.
async fn dump_threads(src: &mut Conn, ids: &[u32]) -> usize {
    let rows: Vec<(u64, String)> = src
        .query("SELECT id, command FROM information_schema.processlist")
        .await
        .unwrap_or_else(|e| panic!("processlist: {e}"));
    rows.iter()
        .filter(|(id, c)| c.starts_with("Binlog Dump") && ids.iter().any(|i| u64::from(*i) == *id))
        .count()
}

/// Two tasks read one source at once, each with the replication server id
/// derived from its name: both dump threads live side by side (neither
/// evicts the other) and both targets end exact.
#[tokio::test]
async fn two_tasks_on_one_source_at_once_keep_their_own_dump_threads_and_end_exact() {
    let a = dts_test_support::TestDatabases::new("two_tasks_a").await;
    let b = dts_test_support::TestDatabases::new("two_tasks_b").await;
    let mut src = dts_test_support::connect(Server::Source, None).await;
    let mut running = Vec::new();
    for dbs in [&a, &b] {
        for s in [Server::Source, Server::Target] {
            dbs.exec(s, "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
                .await;
        }
        let sel = ApplySelection::databases(&[&dbs.name]);
        let progress = ApplyProgress::new();
        let stop = StopSignal::new();
        let o = ApplyOptions {
            task: dbs.name.clone(),
            server_id: bulk_copy::reader_server_id(&dbs.name),
            progress: progress.clone(),
            stop: stop.clone(),
            commit_interval: Duration::from_millis(50),
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
        let handoff = HandOff {
            start: binlog_end(&mut src).await,
            overlap_end: None,
        };
        let h = spawn_apply(
            opts(Server::Source, None),
            Vec::new(),
            &sel,
            Some(handoff),
            &o,
        );
        running.push((dbs, progress, stop, h, o.server_id));
    }
    assert_ne!(running[0].4, running[1].4);
    let mut ca = a.source().await;
    let mut cb = b.source().await;
    for i in 1..=200 {
        exec(&mut ca, &format!("INSERT INTO t VALUES ({i}, {i})")).await;
        exec(&mut cb, &format!("REPLACE INTO t VALUES ({}, {i})", i % 50)).await;
    }
    let end = binlog_end(&mut src).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    for (_, progress, _, h, _) in &running {
        while progress.status().position.as_ref().is_none_or(|p| *p < end) {
            assert!(!h.is_finished(), "{:?}", progress.status());
            assert!(Instant::now() < deadline, "{:?}", progress.status());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let ids: Vec<u32> = running
        .iter()
        .filter_map(|r| r.1.status().source_connection_id)
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        dump_threads(&mut src, &ids).await,
        2,
        "both dump threads live"
    );
    for (dbs, progress, stop, h, _) in running {
        stop.stop();
        let r = h
            .await
            .expect("task")
            .unwrap_or_else(|e| panic!("apply: {e}"));
        assert_eq!(r.retries, 0, "{r:?}");
        let _ = progress;
        let mut s = dbs.source().await;
        let mut t = dbs.target().await;
        compare_tables(&mut s, &dbs.name, "t", &mut t, None, None)
            .await
            .assert_equal("t");
        let shadow = bulk_copy::apply::shadow_database(&dbs.name, &dbs.name);
        exec(&mut t, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
        exec(
            &mut t,
            "DELETE FROM dts_meta.cdc_checkpoint WHERE task LIKE 'dtst_two_tasks%'",
        )
        .await;
    }
    a.cleanup().await;
    b.cleanup().await;
}

/// S4: a failover between the copy's snapshot and the start of incremental
/// migration (no checkpoint yet): the hand-off is a file position of the
/// old primary, which is never used on the new one (the promoted replica's
/// binlog has the same file names); refused, saying to copy again.
#[tokio::test]
async fn s4_the_copys_position_on_the_old_primary_is_never_used_on_the_new_one() {
    let (task, db) = ("s4_handoff", "s4_handoff");
    let mut pair = ReplicationPair::start().await;
    let mut p = pair.primary().conn().await;
    let mut tgt = bank_on(&mut p, db).await;
    exec(&mut p, &format!("USE `{db}`")).await;
    let sel = ApplySelection::databases(&[db]);
    let o = ApplyOptions {
        task: task.into(),
        stop_at_end: true,
        ..ApplyOptions::default()
    };
    bulk_copy::prepare_incremental(
        &pair.primary().opts(),
        &opts(Server::Target, None),
        &sel,
        &o,
    )
    .await
    .unwrap_or_else(|e| panic!("prepare: {e}"));
    let start = binlog_end(&mut p).await;
    transfers(&mut p, 1, 20).await;
    pair.wait_caught_up().await;
    drop(p);
    pair.fail_over().await;
    let e = apply_changes(
        &pair.replica().opts(),
        &opts(Server::Target, None),
        &sel,
        Some(&HandOff {
            start,
            overlap_end: None,
        }),
        &o,
    )
    .await
    .expect_err("the old primary's position must not be used on the replica");
    assert!(matches!(e, CopyError::FailoverRefused { .. }), "{e}");
    assert!(e.to_string().contains("mariadb:1"), "{e}");
    assert!(e.to_string().contains("from a full copy"), "{e}");
    assert_eq!(sum(&mut tgt, db).await, bank::total(ACCOUNTS));
    cleanup(&mut tgt, task, db).await;
}

/// S4 behind one address: the task's only URL is a proxy (a managed
/// service's endpoint) that is moved from the primary to the promoted
/// replica. The binlog stream's reconnect finds another server there and
/// stops rather than read its file positions; the apply then continues on
/// it by GTID, exactly.
#[tokio::test]
async fn s4_another_server_behind_the_same_address_is_continued_by_gtid() {
    let (task, db) = ("s4_same_url", "s4_same_url");
    let mut pair = ReplicationPair::start().await;
    let proxy = dts_test_support::proxy::Proxy::start(pair.primary().port).await;
    let url: Opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(proxy.port)
        .user(Some("root"))
        .prefer_socket(false)
        .into();
    let mut p = pair.primary().conn().await;
    let mut tgt = bank_on(&mut p, db).await;
    exec(&mut p, &format!("USE `{db}`")).await;
    let sel = ApplySelection::databases(&[db]);
    let progress = ApplyProgress::new();
    let stop = StopSignal::new();
    let o = ApplyOptions {
        task: task.into(),
        progress: progress.clone(),
        stop: stop.clone(),
        commit_interval: Duration::from_millis(50),
        ..ApplyOptions::default()
    };
    bulk_copy::prepare_incremental(&url, &opts(Server::Target, None), &sel, &o)
        .await
        .unwrap_or_else(|e| panic!("prepare: {e}"));
    let start = binlog_end(&mut p).await;
    let applier = spawn_apply(
        url.clone(),
        Vec::new(),
        &sel,
        Some(HandOff {
            start,
            overlap_end: None,
        }),
        &o,
    );
    transfers(&mut p, 1, 100).await;
    let on_primary = pair.wait_caught_up().await;
    wait_for_gtid(&progress, &on_primary, &mut tgt, db, &applier).await;
    // The address moves to the promoted replica.
    drop(p);
    pair.fail_over().await;
    proxy.retarget(pair.replica().port);
    proxy.cut();
    proxy.heal();
    let mut r = pair.replica().conn().await;
    exec(&mut r, &format!("USE `{db}`")).await;
    transfers(&mut r, 101, 100).await;
    let end = gtid_positions(&mut r).await.binlog_pos;
    wait_for_gtid(&progress, &end, &mut tgt, db, &applier).await;
    stop.stop();
    let report = applier
        .await
        .expect("apply task")
        .unwrap_or_else(|e| panic!("apply: {e}"));
    assert_eq!(report.source_switches, 1, "{report:?}");
    for t in ["acct", "log"] {
        compare_tables(&mut r, db, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    cleanup(&mut tgt, task, db).await;
}

/// S1: binlogs purged past the checkpoint while the task was stopped: the
/// next run stops with a hard error naming the file it needs and the
/// files the source has, and writes nothing.
#[tokio::test]
async fn s1_binlogs_purged_past_the_checkpoint_stop_the_next_run_naming_the_file() {
    let (task, db) = ("s1_purged", "s1_purged");
    let source = dts_test_support::Instance::start(&[
        "--log-bin=binlog",
        "--binlog-format=ROW",
        "--binlog-row-image=FULL",
        "--server-id=11",
    ]);
    let mut s = source.conn().await;
    let mut tgt = bank_on(&mut s, db).await;
    exec(&mut s, &format!("USE `{db}`")).await;
    let sel = ApplySelection::databases(&[db]);
    let o = ApplyOptions {
        task: task.into(),
        stop_at_end: true,
        ..ApplyOptions::default()
    };
    bulk_copy::prepare_incremental(&source.opts(), &opts(Server::Target, None), &sel, &o)
        .await
        .unwrap_or_else(|e| panic!("prepare: {e}"));
    let start = binlog_end(&mut s).await;
    transfers(&mut s, 1, 20).await;
    apply_changes(
        &source.opts(),
        &opts(Server::Target, None),
        &sel,
        Some(&HandOff {
            start,
            overlap_end: None,
        }),
        &o,
    )
    .await
    .unwrap_or_else(|e| panic!("apply: {e}"));
    let checkpoint = saved_position(&mut tgt, task).await.expect("saved");
    let needed = SavedPosition::parse(&checkpoint)
        .expect("parses")
        .file()
        .file
        .clone();
    // While the task is stopped: more writes, then the files purged.
    transfers(&mut s, 21, 20).await;
    let left = dts_test_support::replication::purge_binlogs_but_current(&mut s).await;
    assert_ne!(left, needed);
    let before = sum(&mut tgt, db).await;
    let e = apply_changes(&source.opts(), &opts(Server::Target, None), &sel, None, &o)
        .await
        .expect_err("a purged checkpoint file must stop the apply");
    let msg = e.to_string();
    assert!(matches!(e, CopyError::BinlogPurged { .. }), "{msg}");
    assert!(msg.contains(&needed) && msg.contains(&left), "{msg}");
    assert!(msg.contains("full copy"), "{msg}");
    assert_eq!(saved_position(&mut tgt, task).await, Some(checkpoint));
    assert_eq!(sum(&mut tgt, db).await, before);
    cleanup(&mut tgt, task, db).await;
}
