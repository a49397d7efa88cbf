//! The full copy against the real servers: every edge value of
//! test-catalogue D1-D16 byte-exact, keyset chunks over composite and `_ci`
//! keys, tables without a key, several readers, and the snapshot position.

use bulk_copy::{
    copy_tables, ColumnMapping, ConflictPolicy, CopyError, CopyOptions, KeyStrategy, LoadMethod,
    SnapshotMode, TableMapping, TableState,
};
use dts_test_support::{
    compare_queries, compare_tables, exec, forget_copy_task, opts, query_one, quote_ident, Server,
    TestDatabases, EDGE_ROWS, EDGE_TABLE,
};

fn target_copy(dbs: &TestDatabases, tables: &[&str]) -> Vec<TableMapping> {
    tables
        .iter()
        .map(|t| TableMapping::same(&dbs.name, t))
        .collect()
}

#[tokio::test]
async fn d1_d16_edge_values_are_copied_byte_exact() {
    let dbs = TestDatabases::new("copy_edge").await;
    let mut src = dbs.source().await;
    exec(
        &mut src,
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'",
    )
    .await;
    exec(&mut src, EDGE_TABLE).await;
    for r in EDGE_ROWS {
        exec(&mut src, r).await;
    }
    let mut tgt = dbs.target().await;
    exec(&mut tgt, EDGE_TABLE).await;
    let report = copy_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &target_copy(&dbs, &["edge"]),
        &CopyOptions {
            task: dbs.name.clone(),
            ..CopyOptions::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("copy: {e}"));
    assert_eq!(report.tables[0].rows, EDGE_ROWS.len() as u64);
    let start = report.start.clone().expect("the source has a binlog");
    assert!(start.offset >= 4 && !start.file.is_empty(), "{report:?}");
    compare_tables(&mut src, &dbs.name, "edge", &mut tgt, None, None)
        .await
        .assert_equal("edge values");
    // The invisible column, which SELECT * leaves out, is copied too.
    let inv = "SELECT id, inv FROM edge";
    compare_queries(&mut src, inv, &mut tgt, inv)
        .await
        .assert_equal("invisible column");
    dbs.cleanup().await;
}

#[tokio::test]
async fn chunked_copy_of_several_tables_with_composite_ci_keys_and_no_key() {
    let dbs = TestDatabases::new("copy_chunks").await;
    let ddl = [
        "CREATE TABLE a (id INT UNSIGNED PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL)",
        // A composite key with a _ci string first (values differing only in case
        // and trailing spaces are distinct keys here only through the int).
        "CREATE TABLE b (name VARCHAR(20) COLLATE utf8mb4_general_ci NOT NULL, n INT NOT NULL, e ENUM('x','y') NOT NULL, v BLOB, PRIMARY KEY (name, n, e))",
        // No key at all, with duplicate rows (D15).
        "CREATE TABLE c (x INT, y VARCHAR(10))",
        // Only a nullable unique key: not usable for chunking (D15).
        "CREATE TABLE d (u INT NULL UNIQUE, w INT)",
    ];
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    for d in ddl {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(&mut src, "INSERT INTO a WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 25000)
        SELECT i, i * 7 % 1000, REPEAT(CONCAT(i, '-'), 10), 'p' FROM s").await;
    exec(&mut src, "INSERT INTO b WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 3000)
        SELECT ELT(1 + i % 4, 'a', 'A', 'b', 'B '), i DIV 4, ELT(1 + i % 2, 'x', 'y'), UNHEX(MD5(i)) FROM s").await;
    exec(
        &mut src,
        "INSERT INTO c VALUES (1, 'dup'), (1, 'dup'), (2, NULL), (NULL, NULL), (NULL, NULL)",
    )
    .await;
    exec(
        &mut src,
        "INSERT INTO d VALUES (NULL, 1), (NULL, 1), (5, 2)",
    )
    .await;
    exec(&mut src, "ANALYZE TABLE a, b").await;
    let options = CopyOptions {
        readers: 2,
        writers: 2,
        chunk_rows: 997,
        load_bytes: 64 * 1024,
        // Chunk commits, and table a split into integer-key ranges.
        bulk_max_bytes: 0,
        split_rows: 5000,
        task: dbs.name.clone(),
        ..CopyOptions::default()
    };
    let report = copy_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &target_copy(&dbs, &["a", "b", "c", "d"]),
        &options,
    )
    .await
    .unwrap_or_else(|e| panic!("copy: {e}"));
    let rows: Vec<u64> = report.tables.iter().map(|t| t.rows).collect();
    assert_eq!(rows, vec![25000, 3000, 5, 3]);
    assert!(report.tables[0].chunks >= 25, "{:?}", report.tables[0]);
    assert!(report.tables[0].ranges >= 2, "{:?}", report.tables[0]);
    assert_eq!(report.tables[0].method, LoadMethod::Chunked);
    assert_eq!(report.tables[2].method, LoadMethod::Whole);
    let p = options.progress.snapshot();
    assert_eq!(p.rows, 25000 + 3000 + 5 + 3);
    assert!(
        p.tables.iter().all(|t| t.state == TableState::Finished),
        "{p:?}"
    );
    assert_eq!(p.tables[0].rows, 25000);
    assert!(matches!(report.tables[1].strategy, KeyStrategy::Keyset(ref k) if k.len() == 3));
    assert_eq!(report.tables[2].strategy, KeyStrategy::FullScan);
    assert_eq!(report.tables[3].strategy, KeyStrategy::FullScan);
    for t in ["a", "b", "c", "d"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    dbs.cleanup().await;
}

#[tokio::test]
async fn a_value_the_target_would_change_stops_the_copy_and_nothing_is_kept() {
    // S8/design rule 11: never truncate and warn.
    let dbs = TestDatabases::new("copy_truncate").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(
        &mut src,
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))",
    )
    .await;
    exec(
        &mut tgt,
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(3))",
    )
    .await;
    exec(&mut src, "INSERT INTO t VALUES (1, 'ok'), (2, 'too long')").await;
    let err = copy_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &target_copy(&dbs, &["t"]),
        &CopyOptions {
            task: dbs.name.clone(),
            ..CopyOptions::default()
        },
    )
    .await
    .expect_err("the copy must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("Data truncated for column 'v' at row 2") && msg.contains("rolled back"),
        "{msg}"
    );
    let n: i64 = dts_test_support::query_one(&mut tgt, "SELECT COUNT(*) FROM t").await;
    assert_eq!(n, 0, "the load was rolled back");
    dbs.cleanup().await;
}

/// A copy taken while a writer changes the source reports the right start
/// position: the target's own replication, started there, makes the target
/// equal to the source (until our incremental migration exists).
#[tokio::test]
async fn the_start_position_hands_off_exactly_to_replication_under_writes() {
    handoff(SnapshotMode::ConsistentSnapshot, 1).await;
}

/// The MySQL way (a brief global read lock while the readers open their
/// snapshots), tried on MariaDB: several readers share one position.
#[tokio::test]
async fn ftwrl_snapshots_share_one_position_that_hands_off_exactly() {
    handoff(SnapshotMode::FlushTablesWithReadLock, 3).await;
}

async fn handoff(mode: SnapshotMode, readers: usize) {
    use mysql_async::prelude::*;
    let dbs = TestDatabases::new(&format!("copy_handoff_{readers}")).await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let ddl = [
        "CREATE TABLE acct (id INT PRIMARY KEY, balance BIGINT NOT NULL, note VARCHAR(50))",
        // `at`: a DATETIME(6) value in every row the writer inserts.
        "CREATE TABLE log (id BIGINT AUTO_INCREMENT PRIMARY KEY, acct INT, delta INT, \
         at DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6))",
    ];
    for d in ddl {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(&mut src, "INSERT INTO acct WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 20000)
        SELECT i, 1000, CONCAT('n', i) FROM s").await;
    // A bank workload on the source while the copy runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = dts_test_support::bank::writer(
        dbs.name.clone(),
        20000,
        stop.clone(),
        dts_test_support::WriteLimit {
            max: 50_000,
            within: std::time::Duration::from_secs(60),
        },
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let options = CopyOptions {
        readers,
        snapshot: mode,
        chunk_rows: 1000,
        load_bytes: 64 * 1024,
        task: dbs.name.clone(),
        ..CopyOptions::default()
    };
    let report = copy_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &target_copy(&dbs, &["acct", "log"]),
        &options,
    )
    .await
    .unwrap_or_else(|e| panic!("copy: {e}"));
    let start = report.start.clone().expect("the source has a binlog");
    assert_eq!(report.overlap_end, None, "one position for every reader");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let transactions = writer.await.expect("writer");
    assert!(
        transactions > 10,
        "the writer ran during the copy ({transactions} transactions)"
    );
    let (end_file, end_pos) = dts_test_support::binlog_position(&mut src).await;

    // Replicate this database only, from the reported position, with a
    // connection of its own (MariaDB multi-source), then compare.
    // One channel per test: the two hand-off tests run in parallel.
    let name = format!("h{}_{readers}", std::process::id());
    let src_opts = opts(Server::Source, None);
    let mut admin = dts_test_support::connect(Server::Target, None).await;
    exec(
        &mut admin,
        &format!(
        "CHANGE MASTER '{name}' TO master_host = '{}', master_port = {}, master_user = 'root', \
         master_log_file = '{}', master_log_pos = {}",
        src_opts.ip_or_hostname(), src_opts.tcp_port(), start.file, start.offset
    ),
    )
    .await;
    exec(
        &mut admin,
        &format!("SET GLOBAL `{name}`.replicate_do_db = '{}'", dbs.name),
    )
    .await;
    exec(&mut admin, &format!("START SLAVE '{name}'")).await;
    let waited: Option<i64> = admin
        .exec_first(
            format!("SELECT MASTER_POS_WAIT(?, ?, 120, '{name}')"),
            (end_file.clone(), end_pos),
        )
        .await
        .expect("MASTER_POS_WAIT");
    let status: Vec<mysql_async::Row> = admin
        .query(format!("SHOW SLAVE '{name}' STATUS"))
        .await
        .unwrap_or_default();
    let last_error = status
        .first()
        .and_then(|r| {
            r.get_opt::<String, _>("Last_SQL_Error")
                .and_then(Result::ok)
        })
        .unwrap_or_default();
    exec(
        &mut admin,
        &format!("STOP SLAVE '{name}'; RESET SLAVE '{name}' ALL"),
    )
    .await;
    assert!(
        matches!(waited, Some(n) if n >= 0),
        "replication from {} did not reach {end_file}:{end_pos} ({waited:?}); last SQL error: {last_error}",
        start
    );
    for t in ["acct", "log"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    let sum: i64 = dts_test_support::query_one(&mut tgt, "SELECT SUM(balance) FROM acct").await;
    assert_eq!(sum, 20000 * 1000, "the bank invariant holds on the target");
    dbs.cleanup().await;
}

#[tokio::test]
async fn filters_column_subsets_and_renames_of_database_table_and_columns() {
    let dbs = TestDatabases::new("copy_map").await;
    let renamed_db = format!("{}_r", dbs.name);
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(
        &mut src,
        "CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(20), secret VARCHAR(20), \
         score INT NOT NULL, twice INT AS (score * 2) VIRTUAL)",
    )
    .await;
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(
        &mut src,
        "INSERT INTO people (id, name, secret, score) WITH RECURSIVE s(i) AS \
        (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 5000) \
        SELECT i, CONCAT(ELT(1 + i % 3, 'ann', 'bob', 'al'), i), 'pw', i % 100 FROM s",
    )
    .await;
    exec(
        &mut tgt,
        &format!(
            "CREATE DATABASE `{renamed_db}`; CREATE TABLE `{renamed_db}`.persons \
             (id INT PRIMARY KEY, full_name VARCHAR(20), score INT NOT NULL, \
              twice INT AS (score * 2) VIRTUAL)"
        ),
    )
    .await;
    let mut t = TableMapping::renamed(&dbs.name, "people", &renamed_db, "persons");
    t.columns = Some(vec![
        ColumnMapping {
            source: "id".into(),
            target: "id".into(),
        },
        ColumnMapping {
            source: "NAME".into(),
            target: "full_name".into(),
        },
        ColumnMapping {
            source: "score".into(),
            target: "score".into(),
        },
    ]);
    t.filter = Some("score >= 50 AND name LIKE 'a%'".into());
    let options = CopyOptions {
        chunk_rows: 300,
        load_bytes: 4096,
        bulk_max_bytes: 0,
        task: dbs.name.clone(),
        ..CopyOptions::default()
    };
    let report = copy_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &[t],
        &options,
    )
    .await
    .unwrap_or_else(|e| panic!("copy: {e}"));
    let expected: i64 = query_one(
        &mut src,
        "SELECT COUNT(*) FROM people WHERE score >= 50 AND name LIKE 'a%'",
    )
    .await;
    assert!(expected > 1000, "the filter keeps a good part ({expected})");
    assert_eq!(report.tables[0].rows, expected as u64);
    assert_eq!(report.tables[0].target, format!("`{renamed_db}`.`persons`"));
    compare_queries(
        &mut src,
        "SELECT id, name, score, twice FROM people WHERE score >= 50 AND name LIKE 'a%'",
        &mut tgt,
        &format!("SELECT id, full_name, score, twice FROM `{renamed_db}`.persons"),
    )
    .await
    .assert_equal("filtered, renamed subset");
    exec(&mut tgt, &format!("DROP DATABASE `{renamed_db}`")).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn a_bad_filter_or_column_list_fails_before_anything_is_copied() {
    let dbs = TestDatabases::new("copy_badmap").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    for c in [&mut src, &mut tgt] {
        exec(
            c,
            "CREATE TABLE t (id INT PRIMARY KEY, v INT, g INT AS (v + 1))",
        )
        .await;
    }
    exec(&mut src, "INSERT INTO t (id, v) VALUES (1, 1), (2, 2)").await;
    let cases: Vec<(TableMapping, &str)> = vec![
        (
            {
                let mut t = TableMapping::same(&dbs.name, "t");
                t.filter = Some("SLEEP(1) = 0".into());
                t
            },
            "SLEEP",
        ),
        (
            {
                let mut t = TableMapping::same(&dbs.name, "t");
                t.filter = Some("v > 0; DROP TABLE t".into());
                t
            },
            "`;`",
        ),
        (
            {
                let mut t = TableMapping::same(&dbs.name, "t");
                t.filter = Some("nope = 1".into());
                t
            },
            "not a column",
        ),
        (
            {
                let mut t = TableMapping::same(&dbs.name, "t");
                t.columns = Some(vec![ColumnMapping {
                    source: "missing".into(),
                    target: "x".into(),
                }]);
                t
            },
            "does not exist",
        ),
        (
            {
                let mut t = TableMapping::same(&dbs.name, "t");
                t.columns = Some(vec![ColumnMapping {
                    source: "g".into(),
                    target: "g".into(),
                }]);
                t
            },
            "generated",
        ),
    ];
    // A good table first: the bad one must stop the copy before it starts.
    exec(&mut src, "CREATE TABLE ok (id INT PRIMARY KEY)").await;
    exec(&mut tgt, "CREATE TABLE ok (id INT PRIMARY KEY)").await;
    exec(&mut src, "INSERT INTO ok VALUES (1)").await;
    for (bad, why) in cases {
        let err = copy_tables(
            &opts(Server::Source, None),
            &opts(Server::Target, None),
            &[TableMapping::same(&dbs.name, "ok"), bad],
            &CopyOptions {
                task: dbs.name.clone(),
                ..CopyOptions::default()
            },
        )
        .await
        .expect_err("the copy must refuse");
        let msg = err.to_string();
        assert!(msg.contains(why) && msg.contains("`t`"), "{why}: {msg}");
        let n: i64 = query_one(
            &mut tgt,
            "SELECT (SELECT COUNT(*) FROM t) + (SELECT COUNT(*) FROM ok)",
        )
        .await;
        assert_eq!(n, 0, "nothing copied");
    }
    dbs.cleanup().await;
}

#[tokio::test]
async fn key_conflicts_stop_by_default_and_ignore_or_overwrite_count_what_they_did() {
    let dbs = TestDatabases::new("copy_conflict").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    for c in [&mut src, &mut tgt] {
        exec(c, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))").await;
    }
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(&mut src, "INSERT INTO t WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 100) SELECT i, 'source' FROM s").await;
    let reset = "DELETE FROM t; INSERT INTO t VALUES (5, 'target'), (50, 'target'), (99, 'target')";
    let run = |policy: ConflictPolicy, task: String| {
        let dbname = dbs.name.clone();
        async move {
            copy_tables(
                &opts(Server::Source, None),
                &opts(Server::Target, None),
                &[TableMapping::same(&dbname, "t")],
                &CopyOptions {
                    conflict: policy,
                    task,
                    load_bytes: 512,
                    ..CopyOptions::default()
                },
            )
            .await
        }
    };
    exec(&mut tgt, reset).await;
    let err = run(ConflictPolicy::Error, format!("{}-e", dbs.name))
        .await
        .expect_err("a conflict");
    assert!(matches!(err, CopyError::Conflict { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("Duplicate entry '5' for key 'PRIMARY'") && msg.contains("`t`"),
        "{msg}"
    );
    let n: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM t").await;
    assert_eq!(n, 3, "the conflicting load was rolled back");

    exec(&mut tgt, reset).await;
    let r = run(ConflictPolicy::Ignore, format!("{}-i", dbs.name))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            r.tables[0].conflicts_ignored,
            r.tables[0].conflicts_overwritten
        ),
        (3, 0)
    );
    let kept: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM t WHERE v = 'target'").await;
    let all: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM t").await;
    assert_eq!((kept, all), (3, 100));

    exec(&mut tgt, reset).await;
    let r = run(ConflictPolicy::Overwrite, format!("{}-o", dbs.name))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            r.tables[0].conflicts_ignored,
            r.tables[0].conflicts_overwritten
        ),
        (0, 3)
    );
    compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None)
        .await
        .assert_equal("overwritten");
    dbs.cleanup().await;
}

/// The target's `SHOW CREATE TABLE`, its AUTO_INCREMENT counter aside
/// (rows move it).
async fn create_table(tgt: &mut mysql_async::Conn, table: &str) -> String {
    let (_, ddl): (String, String) = query_one(tgt, &format!("SHOW CREATE TABLE {table}")).await;
    ddl.split(' ')
        .filter(|w| !w.starts_with("AUTO_INCREMENT="))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn secondary_indexes_are_deferred_and_come_back_exactly_as_they_were() {
    let dbs = TestDatabases::new("copy_defer").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    // Plain indexes of every shape come back; unique, FULLTEXT and SPATIAL
    // ones stay during the load; a table in a foreign key keeps its indexes,
    // and so does one whose AUTO_INCREMENT column has only a plain index
    // (the server refuses that drop).
    let ddls = [
        "CREATE TABLE wide (id INT PRIMARY KEY, k INT NOT NULL, s VARCHAR(40) NOT NULL, \
         b BLOB, g INT AS (k * 2) VIRTUAL, pt POINT NOT NULL, t TEXT, \
         UNIQUE KEY uk (s), SPATIAL KEY sp (pt), KEY k_plain (k), \
         KEY `we``ird name` (s(5), k DESC) COMMENT 'kept', \
         KEY on_blob (b(12)), KEY on_gen (g), FULLTEXT KEY ft (t)) ENGINE=InnoDB",
        // Only the plain keys after the last key that stays can come back in
        // their place.
        "CREATE TABLE mixed (id INT PRIMARY KEY, a INT, pt POINT NOT NULL, c INT, t TEXT, \
         KEY a (a), SPATIAL KEY sp (pt), FULLTEXT KEY ft (t), KEY c (c)) ENGINE=InnoDB",
        "CREATE TABLE parent (id INT PRIMARY KEY, v INT, KEY v (v)) ENGINE=InnoDB",
        "CREATE TABLE child (id INT PRIMARY KEY, p INT, w INT, KEY w (w), \
         CONSTRAINT fk FOREIGN KEY (p) REFERENCES parent (id)) ENGINE=InnoDB",
        "CREATE TABLE autoinc (a INT NOT NULL AUTO_INCREMENT, b INT NOT NULL, \
         PRIMARY KEY (b), KEY (a)) ENGINE=InnoDB",
    ];
    for d in ddls {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(
        &mut src,
        "INSERT INTO wide (id, k, s, b, pt, t) WITH RECURSIVE n(i) AS \
         (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) \
         SELECT i, i % 97, CONCAT('s', i), RANDOM_BYTES(i % 40), POINT(i, -i), \
         CONCAT('word', i % 13, ' other') FROM n",
    )
    .await;
    exec(
        &mut src,
        "INSERT INTO mixed WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) \
         SELECT i, i % 5, POINT(i, i), i % 11, 'some words' FROM n",
    )
    .await;
    exec(
        &mut src,
        "INSERT INTO parent WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) \
         SELECT i, i % 7 FROM n",
    )
    .await;
    exec(
        &mut src,
        "INSERT INTO child WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) \
         SELECT i, i, i % 3 FROM n",
    )
    .await;
    exec(
        &mut src,
        "INSERT INTO autoinc (b) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) \
         SELECT i FROM n",
    )
    .await;
    let tables = ["wide", "mixed", "parent", "child", "autoinc"];
    let mut before = Vec::new();
    for t in tables {
        before.push(create_table(&mut tgt, t).await);
    }
    let options = CopyOptions {
        task: dbs.name.clone(),
        defer_indexes_min_bytes: Some(0),
        ..CopyOptions::default()
    };
    let report = copy_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &target_copy(&dbs, &tables),
        &options,
    )
    .await
    .unwrap_or_else(|e| panic!("copy: {e}"));
    let rebuilt: Vec<Vec<String>> = report
        .tables
        .iter()
        .map(|t| t.indexes_rebuilt.clone())
        .collect();
    assert_eq!(
        rebuilt,
        vec![
            vec![
                "k_plain".to_string(),
                "we`ird name".into(),
                "on_blob".into(),
                "on_gen".into()
            ],
            vec!["c".to_string()],
            vec![],
            vec![],
            vec![],
        ],
        "which indexes were deferred"
    );
    for (t, want) in tables.iter().zip(&before) {
        assert_eq!(
            &create_table(&mut tgt, t).await,
            want,
            "{t}: the definition after the copy"
        );
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    let left: i64 = query_one(
        &mut tgt,
        &format!(
            "SELECT COUNT(*) FROM dts_meta.copy_index WHERE task = '{}'",
            dbs.name
        ),
    )
    .await;
    assert_eq!(left, 0, "no deferred index is left recorded");

    // A run that committed every row and stopped before adding its indexes
    // back: the next run of the task copies nothing and adds them, even for
    // a table it was not asked to copy.
    let options = CopyOptions {
        task: format!("{}_stop", dbs.name),
        defer_indexes_min_bytes: Some(0),
        ..CopyOptions::default()
    };
    // As the copy does: the trailing plain keys recorded, then dropped.
    for (table, keys) in [
        (
            "wide",
            vec![
                ("k_plain", "KEY `k_plain` (`k`)"),
                (
                    "we`ird name",
                    "KEY `we``ird name` (`s`(5),`k` DESC) COMMENT ''kept''",
                ),
                ("on_blob", "KEY `on_blob` (`b`(12))"),
                ("on_gen", "KEY `on_gen` (`g`)"),
            ],
        ),
        ("parent", vec![("v", "KEY `v` (`v`)")]),
    ] {
        let mut drops = Vec::new();
        for (n, (index, def)) in keys.iter().enumerate() {
            exec(
                &mut tgt,
                &format!(
                    "INSERT INTO dts_meta.copy_index VALUES ('{}', '{}', '{table}', '{index}', {n}, \
                     '{def}')",
                    options.task, dbs.name
                ),
            )
            .await;
            drops.push(format!("DROP INDEX {}", quote_ident(index)));
        }
        exec(
            &mut tgt,
            &format!("ALTER TABLE {table} {}", drops.join(", ")),
        )
        .await;
    }
    exec(
        &mut tgt,
        &format!(
            "INSERT INTO dts_meta.copy_range (task, target_db, target_table, range_no, method, \
             finished, rows_copied) VALUES ('{}', '{}', 'wide', 0, 'bulk', 1, 3000)",
            options.task, dbs.name
        ),
    )
    .await;
    let report = copy_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &target_copy(&dbs, &["wide"]),
        &options,
    )
    .await
    .unwrap_or_else(|e| panic!("copy after a stop: {e}"));
    assert!(report.tables[0].already_done, "{report:?}");
    assert_eq!(report.tables[0].rows, 0, "{report:?}");
    assert_eq!(
        report.tables[0].indexes_rebuilt,
        ["k_plain", "we`ird name", "on_blob", "on_gen"]
    );
    assert_eq!(create_table(&mut tgt, "wide").await, before[0]);
    assert_eq!(create_table(&mut tgt, "parent").await, before[2]);

    // A run killed while its DROP was still running in the server, and a
    // next run whose own DROP then fails (here: the AUTO_INCREMENT column's
    // only index): the first run's record is kept and its index comes back.
    exec(
        &mut src,
        "CREATE TABLE ai2 (a INT NOT NULL AUTO_INCREMENT, b INT PRIMARY KEY, c INT, KEY (a), KEY c (c))",
    )
    .await;
    exec(
        &mut tgt,
        "CREATE TABLE ai2 (a INT NOT NULL AUTO_INCREMENT, b INT PRIMARY KEY, c INT, KEY (a), KEY c (c))",
    )
    .await;
    exec(
        &mut src,
        "INSERT INTO ai2 (b, c) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) \
         SELECT i, i % 9 FROM n",
    )
    .await;
    let ai2_before = create_table(&mut tgt, "ai2").await;
    let options = CopyOptions {
        task: format!("{}_ai2", dbs.name),
        defer_indexes_min_bytes: Some(0),
        ..CopyOptions::default()
    };
    exec(
        &mut tgt,
        &format!(
            "INSERT INTO dts_meta.copy_index VALUES ('{0}', '{1}', 'ai2', 'a', 0, 'KEY `a` (`a`)'), \
             ('{0}', '{1}', 'ai2', 'c', 1, 'KEY `c` (`c`)'); ALTER TABLE ai2 DROP INDEX c",
            options.task, dbs.name
        ),
    )
    .await;
    let report = copy_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &target_copy(&dbs, &["ai2"]),
        &options,
    )
    .await
    .unwrap_or_else(|e| panic!("copy of ai2: {e}"));
    assert_eq!(report.tables[0].indexes_rebuilt, vec!["c".to_string()]);
    assert_eq!(create_table(&mut tgt, "ai2").await, ai2_before);
    compare_tables(&mut src, &dbs.name, "ai2", &mut tgt, None, None)
        .await
        .assert_equal("ai2");
    let tasks = [
        dbs.name.clone(),
        format!("{}_stop", dbs.name),
        options.task.clone(),
    ];
    let left: i64 = query_one(
        &mut tgt,
        &format!(
            "SELECT COUNT(*) FROM dts_meta.copy_index WHERE task IN ('{}')",
            tasks.join("', '")
        ),
    )
    .await;
    assert_eq!(left, 0, "no deferred index is left recorded");
    for task in &tasks {
        forget_copy_task(&mut tgt, task).await;
    }
    dbs.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_transaction_load_shows_its_rows_as_they_are_sent() {
    let dbs = TestDatabases::new("copy_bulk_progress").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let ddl = "CREATE TABLE b (id INT PRIMARY KEY, v VARCHAR(20))";
    exec(&mut src, ddl).await;
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(&mut tgt, ddl).await;
    exec(
        &mut src,
        "INSERT INTO b WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) \
         SELECT i, CONCAT('v', i) FROM n",
    )
    .await;
    let options = CopyOptions {
        task: dbs.name.clone(),
        load_bytes: 4096,
        ..CopyOptions::default()
    };
    // Slow enough to look at it half-way.
    options.throttle.set_limits(bulk_copy::ThrottleLimits {
        queries_per_sec: None,
        rows_per_sec: Some(2000.0),
        bytes_per_sec: None,
    });
    let progress = options.progress.clone();
    let copy = tokio::spawn({
        let tables = target_copy(&dbs, &["b"]);
        let options = options.clone();
        async move {
            copy_tables(
                &opts(Server::Source, None),
                &opts(Server::Target, None),
                &tables,
                &options,
            )
            .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let p = progress.snapshot();
    let committed: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM b").await;
    assert!(
        p.rows > 0 && p.rows < 4000,
        "half-way, the rows sent show: {p:?}"
    );
    assert_eq!(committed, 0, "nothing is committed before the load ends");
    let report = copy
        .await
        .expect("the copy task")
        .unwrap_or_else(|e| panic!("copy: {e}"));
    assert_eq!(report.tables[0].method, LoadMethod::Bulk);
    assert_eq!(progress.snapshot().rows, 4000);
    compare_tables(&mut src, &dbs.name, "b", &mut tgt, None, None)
        .await
        .assert_equal("b");
    forget_copy_task(&mut tgt, &dbs.name).await;
    dbs.cleanup().await;
}
