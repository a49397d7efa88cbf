//! The binlog position queries against the real test servers: the source
//! writes a binlog, the target does not (scripts/testenv starts it without
//! log_bin), so both answers are seen.

use dts_test_support::{connect, exec, query_one, Server, TestDatabases};
use mysql_async::prelude::*;
use server_dialect::{
    binlog_position, server_version, snapshot_binlog_position, version_text, Dialect, DialectError,
    ServerVersion,
};

#[tokio::test]
async fn the_version_is_read_once_and_a_mariadb_is_no_polardb() {
    let mut src = connect(Server::Source, None).await;
    let text = version_text(&mut src).await.unwrap();
    let direct: String = query_one(&mut src, "SELECT VERSION()").await;
    assert_eq!(text, direct);
    let v = server_version(&mut src).await.unwrap();
    assert_eq!(v, ServerVersion::parse(&text).unwrap());
    assert!(v.is_mariadb() && !v.is_polardb(), "{v}");
}

#[tokio::test]
async fn the_binlog_position_is_the_servers_status_and_moves_with_a_write() {
    let dbs = TestDatabases::new("dialect_binlog_position").await;
    let mut src = dbs.source().await;
    let version = server_version(&mut src).await.unwrap();
    let statement = Dialect::new(version.clone()).binlog_status_statement();
    let row: mysql_async::Row = query_one(&mut src, statement).await;
    let (file, pos): (String, u64) = (row.get(0).unwrap(), row.get(1).unwrap());

    // With the version given, and read by the function itself.
    let at = binlog_position(&mut src, Some(&version)).await.unwrap();
    assert_eq!((at.file.as_str(), at.position), (file.as_str(), pos));
    exec(&mut src, "CREATE TABLE t (id INT PRIMARY KEY)").await;
    exec(&mut src, "INSERT INTO t VALUES (1)").await;
    let after = binlog_position(&mut src, None).await.unwrap();
    assert!(
        after.file > at.file || (after.file == at.file && after.position > at.position),
        "{at:?} -> {after:?}"
    );
    dbs.cleanup().await;
}

#[tokio::test]
async fn a_server_without_a_binlog_says_so() {
    let mut tgt = connect(Server::Target, None).await;
    let log_bin: i64 = query_one(&mut tgt, "SELECT @@log_bin").await;
    assert_eq!(log_bin, 0, "the test target runs without log_bin");
    let e = binlog_position(&mut tgt, None).await.unwrap_err();
    assert!(matches!(e, DialectError::BinlogOff), "{e:?}");
    assert!(e.to_string().contains("log_bin is off"), "{e}");
    assert!(!e.is_retryable());

    // Inside a snapshot: no file, so no position (and no error).
    tgt.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        .await
        .unwrap();
    assert_eq!(snapshot_binlog_position(&mut tgt).await.unwrap(), None);
    tgt.query_drop("COMMIT").await.unwrap();
}

#[tokio::test]
async fn a_consistent_snapshot_reports_the_position_it_is_consistent_with() {
    let dbs = TestDatabases::new("dialect_snapshot_position").await;
    let mut src = dbs.source().await;
    let mut writer = dbs.source().await;
    assert!(Dialect::new(server_version(&mut src).await.unwrap()).reports_snapshot_position());
    exec(&mut src, "CREATE TABLE t (id INT PRIMARY KEY)").await;
    src.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        .await
        .unwrap();
    let snap = snapshot_binlog_position(&mut src).await.unwrap().unwrap();
    // A commit after the snapshot moves the server's position, not the
    // snapshot's.
    exec(&mut writer, "INSERT INTO t VALUES (1)").await;
    let again = snapshot_binlog_position(&mut src).await.unwrap().unwrap();
    assert_eq!(snap, again);
    let now = binlog_position(&mut writer, None).await.unwrap();
    assert!(
        now.file > snap.file || (now.file == snap.file && now.position > snap.position),
        "{snap:?} then {now:?}"
    );
    src.query_drop("COMMIT").await.unwrap();
    drop(src);
    drop(writer);
    dbs.cleanup().await;
}
