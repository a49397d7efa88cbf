//! The replication harness itself (`dts_test_support::replication`), on two
//! throwaway MariaDB servers: GTID replication works in several domains,
//! promotion makes the replica a writable primary that logs with its own
//! server id, and a replica cut off before some writes really misses them.

use dts_test_support::replication::{
    binlog_files, conn_in_domain, gtid_positions, oldest_gtid_list, purge_binlogs_but_current,
    ReplicationPair, PRIMARY_SERVER_ID, REPLICA_SERVER_ID,
};
use dts_test_support::{compare_queries, exec, query_one};

const ROWS: &str = "SELECT id, domain, note FROM h.t ORDER BY id";

/// Writes `n` rows from `first` on a session of `domain`, one transaction
/// each.
async fn write(conn: &mut mysql_async::Conn, domain: u32, first: u32, n: u32) {
    for id in first..first + n {
        exec(
            conn,
            &format!("INSERT INTO h.t VALUES ({id}, {domain}, 'row {id} of domain {domain}')"),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gtid_replica_follows_two_domains_and_takes_over_when_promoted() {
    let mut pair = ReplicationPair::start().await;
    let mut d0 = conn_in_domain(pair.primary(), 0).await;
    let mut d2 = conn_in_domain(pair.primary(), 2).await;
    exec(&mut d0, "CREATE DATABASE h").await;
    exec(
        &mut d0,
        "CREATE TABLE h.t (id INT PRIMARY KEY, domain INT, note VARCHAR(64)) ENGINE=InnoDB",
    )
    .await;
    // Domain 0 runs ahead (sequence numbers 3 to 7) while domain 2 starts
    // at 1: sequence numbers out of order across domains (catalogue S5).
    write(&mut d0, 0, 1, 5).await;
    write(&mut d2, 2, 100, 2).await;
    write(&mut d0, 0, 6, 1).await;
    write(&mut d2, 2, 102, 1).await;
    let waited = pair.wait_caught_up().await;
    assert_eq!(waited.to_string(), "0-1-8,2-1-3");

    let mut p = pair.primary().conn().await;
    let mut r = pair.replica().conn().await;
    let primary = gtid_positions(&mut p).await;
    let replica = gtid_positions(&mut r).await;
    assert_eq!(primary.binlog_pos, waited);
    // The replica logs what it applies (log_slave_updates), and says it
    // replicated it.
    assert_eq!(replica.binlog_pos, waited);
    assert_eq!(replica.slave_pos, waited);
    assert_eq!(replica.current_pos, waited);
    assert_eq!(replica.binlog_state, primary.binlog_state);
    // Each domain's most recent GTID is the last of its domain in the
    // state MariaDB prints, the rule MariadbBinlogState reads it by.
    assert_eq!(primary.binlog_state.position(), primary.binlog_pos);
    compare_queries(&mut p, ROWS, &mut r, ROWS)
        .await
        .assert_equal("replica");
    let read_only: i64 = query_one(&mut r, "SELECT @@GLOBAL.read_only").await;
    assert_eq!(
        read_only, 1,
        "the replica is read-only before its promotion"
    );
    let id: i64 = query_one(&mut p, "SELECT @@server_id").await;
    assert_eq!(id, i64::from(PRIMARY_SERVER_ID));
    drop((p, d0, d2));

    pair.fail_over().await;
    assert!(!pair.primary_is_running());
    let read_only: i64 = query_one(&mut r, "SELECT @@GLOBAL.read_only").await;
    assert_eq!(read_only, 0, "the promoted replica is writable");
    let mut n0 = conn_in_domain(pair.replica(), 0).await;
    write(&mut n0, 0, 7, 1).await;
    let mut n2 = conn_in_domain(pair.replica(), 2).await;
    write(&mut n2, 2, 103, 1).await;
    let after = gtid_positions(&mut r).await;
    // Its own server id, each domain's sequence continuing.
    assert_eq!(
        after.binlog_pos.to_string(),
        format!("0-{REPLICA_SERVER_ID}-9,2-{REPLICA_SERVER_ID}-4")
    );
    assert_eq!(
        after.binlog_state.to_string(),
        "0-1-8,0-2-9,2-1-3,2-2-4",
        "the state keeps the old primary's last GTIDs"
    );
    let count: i64 = query_one(&mut r, "SELECT COUNT(*) FROM h.t").await;
    assert_eq!(count, 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_cut_off_before_writes_misses_them_after_its_promotion() {
    let pair = ReplicationPair::start().await;
    let mut d0 = conn_in_domain(pair.primary(), 0).await;
    exec(&mut d0, "CREATE DATABASE h").await;
    exec(
        &mut d0,
        "CREATE TABLE h.t (id INT PRIMARY KEY, domain INT, note VARCHAR(64)) ENGINE=InnoDB",
    )
    .await;
    write(&mut d0, 0, 1, 3).await;
    let reached = pair.wait_caught_up().await;
    pair.stop_replication().await;
    // Written after the cut, in two domains: the replica never gets these.
    write(&mut d0, 0, 4, 2).await;
    let mut d5 = conn_in_domain(pair.primary(), 5).await;
    write(&mut d5, 5, 50, 1).await;
    let mut p = pair.primary().conn().await;
    let primary = gtid_positions(&mut p).await;
    assert_eq!(primary.binlog_pos.to_string(), "0-1-7,5-1-1");

    // The primary keeps running (cut off, not stopped) while the replica
    // is promoted.
    pair.promote_replica().await;
    let mut r = pair.replica().conn().await;
    let replica = gtid_positions(&mut r).await;
    assert_eq!(replica.binlog_pos, reached);
    assert_eq!(replica.binlog_pos.to_string(), "0-1-5");
    let missing: Vec<i64> = {
        use mysql_async::prelude::Queryable;
        let ids: Vec<i64> = p.query("SELECT id FROM h.t ORDER BY id").await.unwrap();
        let there: Vec<i64> = r.query("SELECT id FROM h.t ORDER BY id").await.unwrap();
        ids.into_iter().filter(|id| !there.contains(id)).collect()
    };
    assert_eq!(missing, vec![4, 5, 50]);
    // Nothing purged yet: the oldest binlog starts empty.
    assert!(oldest_gtid_list(&mut r).await.is_empty());
    // After a rotation and a purge the oldest file's list says what went.
    let left = purge_binlogs_but_current(&mut r).await;
    assert_eq!(binlog_files(&mut r).await, vec![left]);
    assert_eq!(oldest_gtid_list(&mut r).await.to_string(), "0-1-5");
}
