//! Ranges for every key (issue 19): a large table's split points are found
//! by walking its key on the source, so that a skewed integer key, a
//! composite (VARCHAR, DATETIME) key and a BINARY(16) UUID key all split
//! into ranges of about the same row count; the copy is exact, and resumes
//! after SIGKILL part-way. Keys whose values the server compares otherwise
//! than it orders them (DECIMAL and BIT as DOUBLE, ENUM and SET labels,
//! strings in another character set than the connection's) are chunked and
//! split exactly.

use std::time::Duration;

use bulk_copy::{copy_tables, CopyOptions, CopyReport, TableMapping, ThrottleLimits};
use dts_test_support::{
    compare_tables, exec, forget_copy_task, opts, query_one, Server, TestDatabases,
};
use mysql_async::prelude::*;

const CHILD: &str = "DTS_RANGES_CHILD_DB";

/// The three tables of the issue, on both servers, with their rows on the
/// source.
const TABLES: [&str; 3] = ["skewed", "composite", "uuid"];

async fn create_tables(dbs: &TestDatabases) {
    let ddl = [
        "CREATE TABLE skewed (id BIGINT PRIMARY KEY, v VARCHAR(40) NOT NULL)",
        "CREATE TABLE composite (name VARCHAR(20) COLLATE utf8mb4_general_ci NOT NULL, \
         at DATETIME(6) NOT NULL, v INT NOT NULL, PRIMARY KEY (name, at))",
        "CREATE TABLE uuid (id BINARY(16) NOT NULL PRIMARY KEY, v INT NOT NULL)",
    ];
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    for d in ddl {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    // 90% of the keys in 1% of the range: 36,000 keys in 1..=36,000, the
    // other 4,000 spread up to 3,600,000 (an equal-width split of 10 puts
    // 36,400 rows in its first range and 400 in each other).
    exec(
        &mut src,
        "INSERT INTO skewed WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s \
         WHERE i < 40000) SELECT IF(i <= 36000, i, 36000 + (i - 36000) * 891), \
         CONCAT('row ', i) FROM s",
    )
    .await;
    // 90% of the rows under one name; names that only a _ci collation
    // makes equal ('beta', 'Beta', 'BETA ') and non-ASCII ones, in an order
    // byte order does not give.
    exec(
        &mut src,
        "INSERT INTO composite WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s \
         WHERE i < 30000) SELECT IF(i % 10 < 9, 'alpha', \
         ELT(1 + i % 7, 'beta', 'Beta', 'BETA ', 'ähre', 'Zeta', 'éclair', 'zz')), \
         TIMESTAMP('2024-01-01 00:00:00') + INTERVAL (i * 7919) % 31536000 SECOND \
         + INTERVAL i MICROSECOND, i FROM s",
    )
    .await;
    // Random-looking 16-byte keys, one in ten ending in zero bytes (which
    // BINARY pads with, and the binlog leaves out).
    exec(
        &mut src,
        "INSERT INTO uuid WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s \
         WHERE i < 30000) SELECT IF(i % 10 = 0, UNHEX(LEFT(MD5(i), 20)), UNHEX(MD5(i))), i \
         FROM s",
    )
    .await;
    exec(&mut src, "ANALYZE TABLE skewed, composite, uuid").await;
}

fn options(db: &str) -> CopyOptions {
    CopyOptions {
        task: db.to_string(),
        readers: 2,
        writers: 2,
        chunk_rows: 500,
        load_bytes: 16 * 1024,
        bulk_max_bytes: 0,
        // About ten ranges per table.
        split_rows: 3000,
        ..CopyOptions::default()
    }
}

fn mappings(db: &str) -> Vec<TableMapping> {
    TABLES.iter().map(|t| TableMapping::same(db, t)).collect()
}

async fn copy(db: &str, options: &CopyOptions) -> CopyReport {
    copy_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &mappings(db),
        options,
    )
    .await
    .unwrap_or_else(|e| panic!("copy: {e}"))
}

/// Each range's committed rows, per table, from the checkpoint.
async fn range_rows(tgt: &mut mysql_async::Conn, task: &str, table: &str) -> Vec<u64> {
    tgt.exec(
        "SELECT rows_copied FROM dts_meta.copy_range WHERE task = ? AND target_table = ? \
         ORDER BY range_no",
        (task, table),
    )
    .await
    .expect("reading the ranges")
}

/// The rows committed so far, per the checkpoint.
async fn committed(tgt: &mut mysql_async::Conn, task: &str) -> u64 {
    tgt.exec_first(
        "SELECT CAST(COALESCE(SUM(rows_copied), 0) AS UNSIGNED) FROM dts_meta.copy_range \
         WHERE task = ?",
        (task,),
    )
    .await
    .expect("reading the checkpoint")
    .unwrap_or(0)
}

/// Skewed integer, composite (VARCHAR, DATETIME) and BINARY(16) keys, the
/// copy killed with SIGKILL part-way twice, then run to the end: every
/// table split into several ranges whose row counts are within 2x of each
/// other, the rerun resumed, and the target equal to the source (a row
/// committed twice would stop the copy on its key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c1_skewed_composite_and_uuid_keys_split_evenly_and_resume_after_kill_9() {
    if let Ok(db) = std::env::var(CHILD) {
        // The child: copy slowly until killed.
        let o = options(&db);
        o.throttle.set_limits(ThrottleLimits {
            queries_per_sec: None,
            rows_per_sec: Some(10_000.0),
            bytes_per_sec: None,
        });
        copy(&db, &o).await;
        return;
    }
    let dbs = TestDatabases::new("ranges_c1").await;
    create_tables(&dbs).await;
    let mut tgt = dbs.target().await;
    let task = dbs.name.clone();
    // The first kill once a chunk is committed, the second once the copy
    // is past the first table (the largest, copied first) and into others.
    for (kill, past) in [(1, 0), (2, 45_000)] {
        let before = committed(&mut tgt, &task).await.max(past);
        let mut child =
            std::process::Command::new(std::env::current_exe().expect("the test binary"))
                .args([
                    "c1_skewed_composite_and_uuid_keys_split_evenly_and_resume_after_kill_9",
                    "--exact",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env(CHILD, &dbs.name)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("starting the child copy");
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            if committed(&mut tgt, &task).await > before {
                break;
            }
            assert!(
                child.try_wait().expect("the child").is_none(),
                "the child copy ended before committing a chunk"
            );
            assert!(std::time::Instant::now() < deadline, "no progress");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("the killed child");
        let rows = committed(&mut tgt, &task).await;
        println!("kill {kill}: {rows} rows committed");
        assert!(rows < 100_000, "the kill landed before the end ({rows})");
    }
    let options = options(&dbs.name);
    let report = copy(&dbs.name, &options).await;
    let resumed = report.tables.iter().filter(|t| t.resumed).count();
    assert!(resumed >= 2, "{report:?}");
    let mut src = dbs.source().await;
    for t in TABLES {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
        let rows = range_rows(&mut tgt, &task, t).await;
        let total: u64 = query_one(&mut src, &format!("SELECT COUNT(*) FROM {t}")).await;
        assert_eq!(rows.iter().sum::<u64>(), total, "{t}: {rows:?}");
        let (min, max) = (
            rows.iter().copied().min().unwrap_or(0),
            rows.iter().copied().max().unwrap_or(0),
        );
        println!("{t}: {} ranges, rows {rows:?}", rows.len());
        assert!(rows.len() >= 5, "{t} split into {rows:?}");
        assert!(
            max <= 2 * min,
            "{t}: ranges not within 2x of each other: {rows:?}"
        );
    }
    forget_copy_task(&mut tgt, &task).await;
    dbs.cleanup().await;
}

/// Keys the server compares otherwise than it orders them, chunked a few
/// rows at a time and split into ranges: a DECIMAL(30,10) whose values
/// differ only past a double's precision, a BIT(64) above 2^53, an ENUM and
/// a SET whose labels sort otherwise than their numbers, and a latin1 key
/// with a German collation read over a utf8mb4 connection. A bound compared
/// in the wrong type or order loses rows or copies them twice (which stops
/// the copy on the key).
#[tokio::test]
async fn keys_compared_as_the_server_orders_them_are_chunked_and_split_exactly() {
    let dbs = TestDatabases::new("ranges_types").await;
    let ddl = [
        "CREATE TABLE dec_k (k DECIMAL(30,10) NOT NULL PRIMARY KEY, v INT)",
        "CREATE TABLE bit_k (k BIT(64) NOT NULL PRIMARY KEY, v INT)",
        "CREATE TABLE enum_k (k ENUM('z','y','x','m','b','a') NOT NULL, n INT NOT NULL, \
         PRIMARY KEY (k, n))",
        "CREATE TABLE set_k (k SET('z','a','m') NOT NULL, n INT NOT NULL, PRIMARY KEY (k, n))",
        "CREATE TABLE latin_k (k VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_german2_ci \
         NOT NULL PRIMARY KEY, v INT)",
    ];
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    for d in ddl {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    let seq = |n: u32, select: &str| {
        format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) \
             {select} FROM s"
        )
    };
    let inserts = [
        format!(
            "INSERT INTO dec_k {}",
            seq(
                600,
                "SELECT 12345678901234567890.0000000000 + i * 0.0000000001, i"
            )
        ),
        format!(
            "INSERT INTO bit_k {}",
            seq(600, "SELECT 18446744073709551615 - i, i")
        ),
        format!("INSERT INTO enum_k {}", seq(600, "SELECT 1 + i % 6, i")),
        format!("INSERT INTO set_k {}", seq(600, "SELECT 1 + i % 7, i")),
        format!(
            "INSERT INTO latin_k {}",
            seq(
                600,
                "SELECT CONCAT(ELT(1 + i % 6, 'a', _latin1 0xE4, 'ae', _latin1 0xF6, 'z', \
                 _latin1 0xDF), i), i"
            )
        ),
    ];
    for i in &inserts {
        exec(&mut src, i).await;
    }
    let tables = ["dec_k", "bit_k", "enum_k", "set_k", "latin_k"];
    exec(
        &mut src,
        "ANALYZE TABLE dec_k, bit_k, enum_k, set_k, latin_k",
    )
    .await;
    let options = CopyOptions {
        task: dbs.name.clone(),
        readers: 2,
        writers: 2,
        chunk_rows: 7,
        bulk_max_bytes: 0,
        split_rows: 100,
        ..CopyOptions::default()
    };
    let m: Vec<TableMapping> = tables
        .iter()
        .map(|t| TableMapping::same(&dbs.name, t))
        .collect();
    let report = copy_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &m,
        &options,
    )
    .await
    .unwrap_or_else(|e| panic!("copy: {e}"));
    for (t, r) in tables.iter().zip(&report.tables) {
        assert_eq!(r.rows, 600, "{t}: {r:?}");
        assert!(r.ranges >= 3, "{t} split into {} ranges", r.ranges);
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
        let rows = range_rows(&mut tgt, &dbs.name, t).await;
        let (min, max) = (
            rows.iter().copied().min().unwrap_or(0),
            rows.iter().copied().max().unwrap_or(0),
        );
        assert!(max <= 2 * min, "{t}: {rows:?}");
    }
    forget_copy_task(&mut tgt, &dbs.name).await;
    dbs.cleanup().await;
}

/// D15, issue 19: a table without a usable key (none at all, or only a
/// FLOAT unique key) has no order a copy could commit and resume by, so it is loaded in one transaction, and refused
/// with the fix (a key) when larger than `keyless_max_bytes`, before a row
/// is copied; a table keyed by an invisible AUTO_INCREMENT primary key (the
/// fix, and MySQL's generated invisible primary key) is split and chunked.
#[tokio::test]
async fn d15_a_keyless_table_loads_whole_or_is_refused_with_the_fix_and_an_invisible_key_splits() {
    let dbs = TestDatabases::new("ranges_keyless").await;
    let ddl = [
        "CREATE TABLE nokey (a INT, b VARCHAR(10))",
        "CREATE TABLE gipk (my_row_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT INVISIBLE \
         PRIMARY KEY, a INT, b VARCHAR(10))",
        // Only a FLOAT unique key: an approximate value is no chunk key.
        "CREATE TABLE fkey (f FLOAT NOT NULL UNIQUE, v INT)",
    ];
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    for d in ddl {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    for t in ["nokey", "gipk"] {
        exec(
            &mut src,
            &format!(
                "INSERT INTO {t} (a, b) WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL \
                 SELECT i + 1 FROM s WHERE i < 5000) SELECT i % 100, IF(i % 3 = 0, NULL, 'x') \
                 FROM s"
            ),
        )
        .await;
    }
    exec(
        &mut src,
        "INSERT INTO fkey VALUES (0.1, 1), (-0.0, 2), (3.4028234e38, 3), (1e-38, 4)",
    )
    .await;
    exec(&mut src, "ANALYZE TABLE nokey, gipk, fkey").await;
    let run = |tables: &[&str], keyless_max_bytes: u64| {
        let m: Vec<TableMapping> = tables
            .iter()
            .map(|t| TableMapping::same(&dbs.name, t))
            .collect();
        let o = CopyOptions {
            task: dbs.name.clone(),
            chunk_rows: 300,
            bulk_max_bytes: 0,
            split_rows: 1000,
            keyless_max_bytes,
            ..CopyOptions::default()
        };
        async move {
            copy_tables(
                &opts(Server::Source, None),
                &opts(Server::Target, None),
                &m,
                &o,
            )
            .await
        }
    };
    let err = run(&["nokey"], 1000)
        .await
        .expect_err("a keyless table over the limit is refused");
    let msg = err.to_string();
    assert!(
        msg.contains("`nokey`")
            && msg.contains("no usable key")
            && msg.contains("full.keyless_max_bytes")
            && msg.contains("ADD COLUMN `dts_row_id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT"),
        "{msg}"
    );
    let n: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM nokey").await;
    assert_eq!(n, 0, "nothing copied");
    forget_copy_task(&mut tgt, &dbs.name).await;

    let report = run(&["nokey", "gipk", "fkey"], 1 << 30)
        .await
        .unwrap_or_else(|e| panic!("copy: {e}"));
    let nokey = &report.tables[0];
    assert_eq!(
        (nokey.method, nokey.ranges, nokey.rows),
        (bulk_copy::LoadMethod::Whole, 1, 5000),
        "{nokey:?}"
    );
    let gipk = &report.tables[1];
    assert_eq!(
        (gipk.method, gipk.rows),
        (bulk_copy::LoadMethod::Chunked, 5000),
        "{gipk:?}"
    );
    assert!(gipk.ranges >= 3, "{gipk:?}");
    let fkey = &report.tables[2];
    assert_eq!(
        (&fkey.strategy, fkey.method, fkey.rows),
        (
            &bulk_copy::KeyStrategy::FullScan,
            bulk_copy::LoadMethod::Whole,
            4
        ),
        "{fkey:?}"
    );
    for t in ["nokey", "fkey"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    let all = "SELECT my_row_id, a, b FROM gipk ORDER BY my_row_id";
    dts_test_support::compare_queries(&mut src, all, &mut tgt, all)
        .await
        .assert_equal("gipk with its invisible key");
    forget_copy_task(&mut tgt, &dbs.name).await;
    dbs.cleanup().await;
}
