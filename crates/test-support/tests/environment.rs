//! Proves the test environment: both servers answer, the source writes a
//! ROW/FULL binlog, a write moves its position, and the byte-exact comparison
//! sees differences that collation equality would hide.

use dts_test_support::{binlog_position, compare_tables, exec, query_one, Server, TestDatabases};
use mysql_async::prelude::*;

#[tokio::test]
async fn source_writes_a_row_binlog_and_its_position_advances() {
    let dbs = TestDatabases::new("env_binlog_advances").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;

    let log_bin: i64 = query_one(&mut src, "SELECT @@log_bin").await;
    assert_eq!(log_bin, 1, "the source must have log_bin on");
    let format: String = query_one(&mut src, "SELECT @@binlog_format").await;
    assert_eq!(format, "ROW");
    let image: String = query_one(&mut src, "SELECT @@binlog_row_image").await;
    assert_eq!(image, "FULL");
    let src_id: u64 = query_one(&mut src, "SELECT @@server_id").await;
    let tgt_id: u64 = query_one(&mut tgt, "SELECT @@server_id").await;
    assert_ne!(
        src_id, tgt_id,
        "source and target must be different servers"
    );

    exec(
        &mut src,
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))",
    )
    .await;
    let (file0, pos0) = binlog_position(&mut src).await;
    exec(&mut src, "INSERT INTO t VALUES (1, 'one')").await;
    let (file1, pos1) = binlog_position(&mut src).await;
    assert!(
        file1 > file0 || (file1 == file0 && pos1 > pos0),
        "binlog position did not advance: {file0}:{pos0} -> {file1}:{pos1}"
    );
    let n: i64 = query_one(
        &mut tgt,
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()",
    )
    .await;
    assert_eq!(n, 0, "the target's database starts empty");
    dbs.cleanup().await;
}

#[tokio::test]
async fn byte_exact_comparison_sees_what_collations_hide() {
    let dbs = TestDatabases::new("env_compare_exact").await;
    let ddl =
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(10) COLLATE utf8mb4_general_ci, d DOUBLE)";
    dbs.exec(Server::Source, ddl).await;
    dbs.exec(Server::Target, ddl).await;
    dbs.exec(
        Server::Source,
        "INSERT INTO t VALUES (1, 'a', 0.1), (2, 'b ', -0.0)",
    )
    .await;
    dbs.exec(
        Server::Target,
        "INSERT INTO t VALUES (1, 'a', 0.1), (2, 'b ', -0.0)",
    )
    .await;

    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None)
        .await
        .assert_equal("identical tables");

    // A case change the collation calls equal.
    tgt.query_drop("UPDATE t SET s = 'A' WHERE id = 1")
        .await
        .unwrap();
    let cmp = compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None).await;
    assert_eq!(cmp.differing_rows, 2, "{cmp}");
    assert!(cmp.only_in_target[0].contains("\"A\""), "{cmp}");
    tgt.query_drop("UPDATE t SET s = 'a' WHERE id = 1")
        .await
        .unwrap();

    // A trailing space removed, and the sign of a zero.
    tgt.query_drop("UPDATE t SET s = 'b', d = 0.0 WHERE id = 2")
        .await
        .unwrap();
    let cmp = compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None).await;
    assert_eq!(cmp.differing_rows, 2, "{cmp}");
    assert!(cmp.only_in_source[0].contains("\"b \""), "{cmp}");

    // The last bit of a DOUBLE.
    tgt.query_drop("UPDATE t SET s = 'b ', d = -0.0 WHERE id = 2")
        .await
        .unwrap();
    tgt.query_drop("UPDATE t SET d = 0.10000000000000002 WHERE id = 1")
        .await
        .unwrap();
    let cmp = compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None).await;
    assert_eq!(cmp.differing_rows, 2, "{cmp}");

    // A missing row.
    tgt.query_drop("UPDATE t SET d = 0.1 WHERE id = 1")
        .await
        .unwrap();
    tgt.query_drop("DELETE FROM t WHERE id = 2").await.unwrap();
    let cmp = compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None).await;
    assert_eq!(
        (cmp.source_rows, cmp.target_rows, cmp.differing_rows),
        (2, 1, 1),
        "{cmp}"
    );
    dbs.cleanup().await;
}
