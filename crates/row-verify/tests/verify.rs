//! Data verification against the real servers: test-catalogue V1 (each
//! damage to the target reported with its key and column, nothing else;
//! the repair fixes it, checked by a second run), exact bytes where
//! collations and text forms agree (D6, D9, D10), tables without a key as
//! multisets (D15), renames, column subsets and filters, sampling, and
//! online verification while replication follows a writer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use binlog_reader::position::FilePosition;
use bulk_copy::{copy_tables, ColumnMapping, CopyError, CopyOptions, TableMapping};
use dts_test_support::{compare_tables, connect, exec, opts, query_one, Server, TestDatabases};
use futures::future::BoxFuture;
use mysql_async::prelude::*;
use mysql_async::Value;
use row_verify::{
    verify_tables, AppliedPosition, ApplyRepair, CollectRepair, CompareMethod, OnlineOptions,
    TableVerifyReport, VerifyOptions, VerifyReport,
};

async fn copy(dbs: &TestDatabases, tables: &[TableMapping]) {
    copy_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        tables,
        &CopyOptions {
            task: dbs.name.clone(),
            ..CopyOptions::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("copy: {e}"));
}

async fn verify(tables: &[TableMapping], options: &VerifyOptions) -> VerifyReport {
    verify_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        tables,
        options,
    )
    .await
    .unwrap_or_else(|e| panic!("verify: {e}"))
}

/// Small ranges, several workers: the damage lands in different ranges.
fn small_chunks() -> VerifyOptions {
    VerifyOptions {
        parallel: 3,
        chunk_rows: 300,
        ..VerifyOptions::default()
    }
}

/// Runs a printed repair script on the target on a connection of its own
/// (its `SET NAMES` changes the session, as it would a client's).
async fn run_script(dbs: &TestDatabases, script: &str) {
    let mut c = dbs.target().await;
    c.query_drop(script)
        .await
        .unwrap_or_else(|e| panic!("the repair script fails: {e}\n{script}"));
    c.disconnect().await.ok();
}

/// `kind key: columns`, sorted.
fn listed(t: &TableVerifyReport) -> Vec<String> {
    let mut v: Vec<String> = t
        .differences
        .iter()
        .map(|d| {
            let count = if d.count > 1 {
                format!(" x{}", d.count)
            } else {
                String::new()
            };
            format!(
                "{} {}{count}: {}",
                d.kind.as_str(),
                d.key,
                d.columns.join(",")
            )
        })
        .collect();
    v.sort();
    v
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

const V1_TABLE: &str = "CREATE TABLE v1 (
  id INT PRIMARY KEY, bl BLOB, f FLOAT, ts TIMESTAMP(3) NULL DEFAULT NULL, vc VARCHAR(40),
  ci VARCHAR(40) COLLATE utf8mb4_general_ci, j JSON, n INT NULL)";

const V1_ROWS: &str =
    "INSERT INTO v1 WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 3000)
  SELECT i, UNHEX(SHA2(i, 256)), i / 7, '2020-01-01' + INTERVAL i MINUTE, CONCAT('v', i),
    CONCAT('name', i), CONCAT('{\"a\": ', i, ', \"b\": ', i * 2, '}'), IF(i % 5 = 0, NULL, i)
  FROM s";

/// Damages the target behind the tool's back, as test-catalogue V1 lists.
async fn damage_v1(dbs: &TestDatabases) {
    let mut tgt = dbs.target().await;
    // One BLOB bit.
    exec(
        &mut tgt,
        "UPDATE v1 SET bl = CONCAT(LEFT(bl, 3), CHAR(ASCII(SUBSTR(bl, 4, 1)) ^ 1), SUBSTR(bl, 5)) WHERE id = 10",
    )
    .await;
    // A FLOAT's last bit: the neighbouring float, which prints alike.
    // The binary protocol gives the FLOAT's bits.
    let f: Option<Value> = tgt
        .exec_first("SELECT f FROM v1 WHERE id = 20", ())
        .await
        .unwrap();
    let f = f.unwrap_or(Value::NULL);
    let Value::Float(f) = f else {
        panic!("FLOAT read as {f:?}")
    };
    let next = f32::from_bits(f.to_bits() + 1);
    exec(
        &mut tgt,
        &format!("UPDATE v1 SET f = {:e} WHERE id = 20", f64::from(next)),
    )
    .await;
    // A TIMESTAMP shifted one hour, a trailing space, a case change in a
    // _ci column, reordered JSON keys, a deleted row, an extra row.
    exec(
        &mut tgt,
        "UPDATE v1 SET ts = ts + INTERVAL 1 HOUR WHERE id = 30;
         UPDATE v1 SET vc = CONCAT(vc, ' ') WHERE id = 40;
         UPDATE v1 SET ci = UPPER(ci) WHERE id = 50;
         UPDATE v1 SET j = '{\"b\": 120, \"a\": 60}' WHERE id = 60;
         DELETE FROM v1 WHERE id = 70;
         INSERT INTO v1 (id, vc) VALUES (100000, 'extra')",
    )
    .await;
    // What the damage looks like to the server: equal under the collation,
    // and the float prints as before.
    let ci_equal: i64 = query_one(&mut tgt, "SELECT ci = 'name50' FROM v1 WHERE id = 50").await;
    assert_eq!(
        ci_equal, 1,
        "the case change is invisible to the _ci collation"
    );
}

const V1_EXPECTED: &[&str] = &[
    "different (id=10): bl",
    "different (id=20): f",
    "different (id=30): ts",
    "different (id=40): vc",
    "different (id=50): ci",
    "different (id=60): j",
    "missing_on_target (id=70): ",
    "extra_on_target (id=100000): ",
];

#[tokio::test]
async fn v1_each_damage_is_reported_with_its_key_and_column_and_the_printed_repair_fixes_it() {
    let dbs = TestDatabases::new("verify_v1").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(&mut src, V1_TABLE).await;
    exec(&mut tgt, V1_TABLE).await;
    exec(&mut src, V1_ROWS).await;
    let tables = vec![TableMapping::same(&dbs.name, "v1")];
    copy(&dbs, &tables).await;
    let clean = verify(&tables, &small_chunks()).await;
    assert!(clean.is_equal(), "right after the copy:\n{clean}");
    let t = &clean.tables[0];
    assert_eq!((t.source_rows, t.target_rows), (3000, 3000));
    assert!(t.chunks >= 5, "several ranges: {}", t.chunks);
    assert_eq!(t.method, CompareMethod::Keyed(vec!["id".into()]));

    damage_v1(&dbs).await;
    let collect = Arc::new(CollectRepair::new());
    let report = verify(
        &tables,
        &VerifyOptions {
            repair: Some(collect.clone()),
            ..small_chunks()
        },
    )
    .await;
    let t = &report.tables[0];
    assert_eq!(listed(t), sorted(V1_EXPECTED), "{report}");
    assert_eq!((t.missing, t.extra, t.different), (1, 1, 6), "{report}");
    assert!(!report.is_equal());
    assert_eq!(t.repair_statements, 8);
    let json = report.to_json();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["tables"][0]["different"], 6);

    // The printed script, run as a client would.
    let script = collect.script();
    assert!(
        script.contains("DELETE FROM") && script.contains("UPDATE") && script.contains("INSERT"),
        "{script}"
    );
    run_script(&dbs, &script).await;
    let again = verify(&tables, &small_chunks()).await;
    assert!(again.is_equal(), "after the repair:\n{again}");
    compare_tables(&mut src, &dbs.name, "v1", &mut tgt, None, None)
        .await
        .assert_equal("v1 after the repair");
    dbs.cleanup().await;
}

#[tokio::test]
async fn v1_applied_repair_fixes_the_damage_and_a_second_run_is_clean() {
    let dbs = TestDatabases::new("verify_v1_apply").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(&mut src, V1_TABLE).await;
    exec(&mut tgt, V1_TABLE).await;
    exec(&mut src, V1_ROWS).await;
    let tables = vec![TableMapping::same(&dbs.name, "v1")];
    copy(&dbs, &tables).await;
    damage_v1(&dbs).await;
    let apply = Arc::new(ApplyRepair::new(&opts(Server::Target, None)));
    let report = verify(
        &tables,
        &VerifyOptions {
            repair: Some(apply.clone()),
            ..VerifyOptions::default()
        },
    )
    .await;
    assert_eq!(listed(&report.tables[0]), sorted(V1_EXPECTED), "{report}");
    assert_eq!(apply.applied(), 8);
    let again = verify(&tables, &VerifyOptions::default()).await;
    assert!(again.is_equal(), "after the repair:\n{again}");
    compare_tables(&mut src, &dbs.name, "v1", &mut tgt, None, None)
        .await
        .assert_equal("v1 after the repair");
    dbs.cleanup().await;
}

const EDGE_TABLE: &str = "CREATE TABLE edge (
  id INT PRIMARY KEY,
  ti TINYINT, biu BIGINT UNSIGNED, f FLOAT, f74 FLOAT(7,4), d DOUBLE,
  dec1 DECIMAL(65,30), dt DATE, dtt6 DATETIME(6), ts2 TIMESTAMP(2) NULL DEFAULT NULL,
  tm6 TIME(6), y YEAR, b10 BIT(10), b64 BIT(64), e ENUM('a','b','c'), s SET('x','y','z'),
  vc VARCHAR(20) CHARACTER SET utf8mb4, vcl VARCHAR(300) CHARACTER SET latin1,
  gb VARCHAR(10) CHARACTER SET gbk, bin BINARY(16), vb VARBINARY(300), tx TEXT, bl BLOB, j JSON,
  g GEOMETRY NULL, gen_v INT AS (id * 2) VIRTUAL, inv INT INVISIBLE DEFAULT 7
) ENGINE=InnoDB";

const EDGE_ROWS: &[&str] = &[
    "INSERT INTO edge SET id=1, ti=-128, biu=18446744073709551615, f=-3.4028234e38, f74=-999.9999,
       d=-1.7976931348623157e308, dec1='-99999999999999999999999999999999999.999999999999999999999999999999',
       dt='1000-01-01', dtt6='2000-01-01 00:00:00.000001', ts2='2038-01-19 03:14:07.99',
       tm6='-507:48:27.000001', y=0, b10=b'1000000001', b64=b'1111111111111111111111111111111111111111111111111111111111111111',
       e='', s='x,y,z', vc='😀 tab\there', vcl=CONCAT('caf', X'E9', ' ', X'FF'), gb=X'C4E3BAC3',
       bin=X'00275C00000000000000000000000000', vb=X'00FF27225C5C4E0A09', tx='quote '' \\\\ % _ ;',
       bl=X'00', j='{\"b\": 1, \"a\": [1e400, 12345678901234567890, 0.1]}',
       g=ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))', 3857), inv=0",
    "INSERT INTO edge SET id=2, f=1.17549435e-38, f74=0, d=4.9406564584124654e-324, dt='0000-00-00',
       dtt6='0000-00-00 00:00:00', tm6='838:59:59', y=2155, b10=0, b64=1, e='c', s='', vc='', vcl=' ',
       gb='', bin=X'', vb=X'', tx='', bl=X'', j='[]', g=ST_GeomFromText('GEOMETRYCOLLECTION EMPTY')",
    "INSERT INTO edge SET id=3, f=0.1, d=0.1, y=1901, vc='trailing  '",
    "INSERT INTO edge (id) VALUES (4)",
];

#[tokio::test]
async fn d_edge_values_missing_or_changed_on_the_target_are_repaired_exactly() {
    let dbs = TestDatabases::new("verify_edge").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(
        &mut src,
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'",
    )
    .await;
    exec(&mut src, EDGE_TABLE).await;
    exec(&mut tgt, EDGE_TABLE).await;
    for r in EDGE_ROWS {
        exec(&mut src, r).await;
    }
    let tables = vec![TableMapping::same(&dbs.name, "edge")];
    copy(&dbs, &tables).await;
    let clean = verify(&tables, &VerifyOptions::default()).await;
    assert!(clean.is_equal(), "right after the copy:\n{clean}");
    // Mixed character sets (latin1, gbk, utf8mb4): a gbk byte changed.
    exec(
        &mut tgt,
        "UPDATE edge SET gb = X'C4E3BAC4' WHERE id = 1; DELETE FROM edge WHERE id IN (2, 3);
         UPDATE edge SET inv = 8 WHERE id = 4",
    )
    .await;
    let collect = Arc::new(CollectRepair::new());
    let report = verify(
        &tables,
        &VerifyOptions {
            repair: Some(collect.clone()),
            ..VerifyOptions::default()
        },
    )
    .await;
    assert_eq!(
        listed(&report.tables[0]),
        sorted(&[
            "different (id=1): gb",
            "different (id=4): inv",
            "missing_on_target (id=2): ",
            "missing_on_target (id=3): "
        ]),
        "{report}"
    );
    let script = collect.script();
    run_script(&dbs, &script).await;
    let again = verify(&tables, &VerifyOptions::default()).await;
    assert!(again.is_equal(), "after the repair:\n{again}\n{script}");
    compare_tables(&mut src, &dbs.name, "edge", &mut tgt, None, None)
        .await
        .assert_equal("edge after the repair");
    let inv = "SELECT id, inv FROM edge";
    dts_test_support::compare_queries(&mut src, inv, &mut tgt, inv)
        .await
        .assert_equal("invisible column after the repair");
    dbs.cleanup().await;
}

#[tokio::test]
async fn d9_collation_equal_keys_are_different_keys_in_a_composite_string_key() {
    let dbs = TestDatabases::new("verify_ci_key").await;
    let ddl =
        "CREATE TABLE k (name VARCHAR(20) COLLATE utf8mb4_general_ci NOT NULL, n INT NOT NULL,
        v VARCHAR(10), PRIMARY KEY (name, n))";
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(&mut src, ddl).await;
    exec(&mut tgt, ddl).await;
    exec(
        &mut src,
        "INSERT INTO k WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 2000)
         SELECT CONCAT('key', i DIV 10), i, 'x' FROM s",
    )
    .await;
    let tables = vec![TableMapping::same(&dbs.name, "k")];
    copy(&dbs, &tables).await;
    // The key's case and a trailing space (PAD SPACE: equal under the
    // collation): a different key, byte for byte.
    exec(
        &mut tgt,
        "UPDATE k SET name = 'KEY5' WHERE name = 'key5' AND n = 55;
         UPDATE k SET name = 'key7 ' WHERE name = 'key7' AND n = 77",
    )
    .await;
    let collect = Arc::new(CollectRepair::new());
    let report = verify(
        &tables,
        &VerifyOptions {
            repair: Some(collect.clone()),
            ..small_chunks()
        },
    )
    .await;
    assert!(report.tables[0].chunks >= 5, "{report}");
    assert_eq!(
        listed(&report.tables[0]),
        sorted(&[
            "missing_on_target (name=\"key5\", n=55): ",
            "extra_on_target (name=\"KEY5\", n=55): ",
            "missing_on_target (name=\"key7\", n=77): ",
            "extra_on_target (name=\"key7 \", n=77): ",
        ]),
        "{report}"
    );
    run_script(&dbs, &collect.script()).await;
    let again = verify(&tables, &small_chunks()).await;
    assert!(again.is_equal(), "after the repair:\n{again}");
    compare_tables(&mut src, &dbs.name, "k", &mut tgt, None, None)
        .await
        .assert_equal("k after the repair");
    dbs.cleanup().await;
}

#[tokio::test]
async fn d15_a_table_without_a_key_is_compared_as_a_multiset_and_duplicates_count() {
    let dbs = TestDatabases::new("verify_nokey").await;
    let ddl = "CREATE TABLE m (x INT, y VARCHAR(10) COLLATE utf8mb4_general_ci, u INT NULL UNIQUE)";
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(&mut src, ddl).await;
    exec(&mut tgt, ddl).await;
    exec(
        &mut src,
        "INSERT INTO m (x, y) VALUES (1, 'dup'), (1, 'dup'), (1, 'dup'), (2, 'abc'), (3, NULL), (4, '')",
    )
    .await;
    let tables = vec![TableMapping::same(&dbs.name, "m")];
    copy(&dbs, &tables).await;
    let clean = verify(&tables, &VerifyOptions::default()).await;
    assert!(clean.is_equal(), "{clean}");
    assert_eq!(clean.tables[0].method, CompareMethod::Multiset);
    // One duplicate fewer, a case change, NULL for '', a new row.
    exec(
        &mut tgt,
        "DELETE FROM m WHERE x = 1 LIMIT 1; UPDATE m SET y = 'ABC' WHERE x = 2;
         UPDATE m SET y = NULL WHERE x = 4; INSERT INTO m (x, y) VALUES (5, 'new')",
    )
    .await;
    let collect = Arc::new(CollectRepair::new());
    let report = verify(
        &tables,
        &VerifyOptions {
            repair: Some(collect.clone()),
            ..VerifyOptions::default()
        },
    )
    .await;
    let t = &report.tables[0];
    assert_eq!((t.missing, t.extra, t.different), (3, 3, 0), "{report}");
    assert_eq!(
        listed(t),
        sorted(&[
            "missing_on_target (x=1, y=\"dup\", u=NULL): ",
            "missing_on_target (x=2, y=\"abc\", u=NULL): ",
            "missing_on_target (x=4, y=\"\", u=NULL): ",
            "extra_on_target (x=2, y=\"ABC\", u=NULL): ",
            "extra_on_target (x=4, y=NULL, u=NULL): ",
            "extra_on_target (x=5, y=\"new\", u=NULL): ",
        ]),
        "{report}"
    );
    // Three copies on the source, two on the target: reported once more.
    exec(&mut tgt, "DELETE FROM m WHERE x = 1 LIMIT 1").await;
    run_script(&dbs, &collect.script()).await;
    let report = verify(&tables, &VerifyOptions::default()).await;
    assert_eq!(
        listed(&report.tables[0]),
        sorted(&["missing_on_target (x=1, y=\"dup\", u=NULL): "]),
        "{report}"
    );
    exec(&mut tgt, "INSERT INTO m (x, y) VALUES (1, 'dup')").await;
    let again = verify(&tables, &VerifyOptions::default()).await;
    assert!(again.is_equal(), "{again}");
    compare_tables(&mut src, &dbs.name, "m", &mut tgt, None, None)
        .await
        .assert_equal("m after the repair");
    dbs.cleanup().await;
}

#[tokio::test]
async fn renames_column_subsets_and_filters_are_honoured() {
    let dbs = TestDatabases::new("verify_map").await;
    let other = TestDatabases::new("verify_map_to").await;
    let mut src = dbs.source().await;
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(
        &mut src,
        "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10), b INT, c INT);
         INSERT INTO t WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1000)
         SELECT i, CONCAT('a', i), i * 3, i FROM s",
    )
    .await;
    let mut tgt = other.target().await;
    exec(
        &mut tgt,
        "CREATE TABLE `t 2` (`the id` INT PRIMARY KEY, `a``2` VARCHAR(10), b INT, d INT DEFAULT 9)",
    )
    .await;
    let table = TableMapping {
        columns: Some(vec![
            ColumnMapping {
                source: "id".into(),
                target: "the id".into(),
            },
            ColumnMapping {
                source: "a".into(),
                target: "a`2".into(),
            },
            ColumnMapping {
                source: "b".into(),
                target: "b".into(),
            },
        ]),
        filter: Some("id % 2 = 0 AND a <> 'a10'".into()),
        ..TableMapping::renamed(&dbs.name, "t", &other.name, "t 2")
    };
    copy(&dbs, std::slice::from_ref(&table)).await;
    let tables = vec![table];
    let clean = verify(&tables, &small_chunks()).await;
    assert!(clean.is_equal(), "{clean}");
    assert_eq!(clean.tables[0].source_rows, 499);
    // Changed outside the compared columns (c on the source, d on the
    // target), and an odd row on the target (outside the filter): none of
    // it is compared. A renamed column changed: reported by its source name.
    exec(&mut src, "UPDATE t SET c = -1 WHERE id = 8").await;
    exec(
        &mut tgt,
        "UPDATE `t 2` SET d = 0 WHERE `the id` = 8; INSERT INTO `t 2` VALUES (5, 'a5', 15, 9);
         UPDATE `t 2` SET `a``2` = 'zz' WHERE `the id` = 12",
    )
    .await;
    let report = verify(&tables, &small_chunks()).await;
    assert_eq!(
        listed(&report.tables[0]),
        sorted(&["different (id=12): a"]),
        "{report}"
    );
    // A filter on a column the target lacks: every target row is compared.
    let mut unfiltered = tables[0].clone();
    unfiltered.filter = Some("c > 0".into());
    let report = verify(&[unfiltered], &small_chunks()).await;
    let t = &report.tables[0];
    assert!(
        t.notes.iter().any(|n| n.contains("every target row")),
        "{report}"
    );
    assert_eq!(t.target_rows, 500, "{report}");
    // A column list naming a column the target lacks fails, saying which.
    let mut bad = tables[0].clone();
    bad.columns = Some(vec![ColumnMapping {
        source: "c".into(),
        target: "c".into(),
    }]);
    let e = verify_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &[bad],
        &VerifyOptions::default(),
    )
    .await
    .expect_err("a missing target column");
    assert!(
        matches!(&e, CopyError::Table { reason, .. } if reason.contains("`c` does not exist on the target")),
        "{e}"
    );
    dbs.cleanup().await;
    other.cleanup().await;
}

#[tokio::test]
async fn sampling_compares_a_share_of_the_ranges() {
    let dbs = TestDatabases::new("verify_sample").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let ddl = "CREATE TABLE s (id BIGINT PRIMARY KEY, v CHAR(20))";
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(&mut src, ddl).await;
    exec(&mut tgt, ddl).await;
    exec(
        &mut src,
        "INSERT INTO s WITH RECURSIVE q(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM q WHERE i < 20000)
         SELECT i, 'v' FROM q; ANALYZE TABLE s",
    )
    .await;
    let tables = vec![TableMapping::same(&dbs.name, "s")];
    copy(&dbs, &tables).await;
    exec(&mut tgt, "ANALYZE TABLE s").await;
    let sample = |seed| VerifyOptions {
        chunk_rows: 200,
        sample_percent: Some(25.0),
        sample_seed: seed,
        ..VerifyOptions::default()
    };
    let a = verify(&tables, &sample(7)).await;
    let b = verify(&tables, &sample(7)).await;
    let (ta, tb) = (&a.tables[0], &b.tables[0]);
    assert!(ta.chunks >= 50, "{a}");
    assert!(
        ta.chunks_compared > 0 && ta.chunks_compared < ta.chunks / 2,
        "about a quarter of {} ranges, not {}",
        ta.chunks,
        ta.chunks_compared
    );
    assert!(ta.source_rows < 20000 / 2 && ta.source_rows > 0, "{a}");
    assert_eq!(
        (ta.chunks_compared, ta.source_rows),
        (tb.chunks_compared, tb.source_rows),
        "the same seed samples the same ranges"
    );
    let all = verify(
        &tables,
        &VerifyOptions {
            chunk_rows: 200,
            ..VerifyOptions::default()
        },
    )
    .await;
    assert_eq!(all.tables[0].chunks_compared, all.tables[0].chunks);
    assert_eq!(all.tables[0].source_rows, 20000);
    dbs.cleanup().await;
}

/// How far native replication (the stand-in for CDC) has applied the
/// source's binlog on the target: `MASTER_POS_WAIT` returns as soon as the
/// replica reaches the position, so the target is read right after.
struct Replica {
    name: String,
    conn: tokio::sync::Mutex<Option<mysql_async::Conn>>,
}

impl AppliedPosition for Replica {
    fn applied_past<'a>(&'a self, pos: &'a FilePosition) -> BoxFuture<'a, Result<bool, CopyError>> {
        Box::pin(async move {
            let mut guard = self.conn.lock().await;
            if guard.is_none() {
                *guard = Some(connect(Server::Target, None).await);
            }
            let Some(c) = guard.as_mut() else {
                return Ok(false);
            };
            let waited: Option<Option<i64>> = c
                .exec_first(
                    format!("SELECT MASTER_POS_WAIT(?, ?, 1, '{}')", self.name),
                    (&pos.file, pos.offset),
                )
                .await
                .map_err(|error| CopyError::Database {
                    server: "target",
                    what: "waiting for the replica's position".into(),
                    error,
                })?;
            Ok(matches!(waited, Some(Some(n)) if n >= 0))
        })
    }
}

/// Stops and removes the replication connection when the test ends.
struct ReplicationGuard(String);

impl Drop for ReplicationGuard {
    fn drop(&mut self) {
        let name = self.0.clone();
        std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(async {
                    if let Ok(mut c) = mysql_async::Conn::new(opts(Server::Target, None)).await {
                        c.query_drop(format!("STOP SLAVE '{name}'; RESET SLAVE '{name}' ALL"))
                            .await
                            .ok();
                    }
                });
            }
        })
        .join()
        .ok();
    }
}

#[tokio::test]
async fn v1_online_verification_under_a_writer_reports_no_false_difference() {
    let dbs = TestDatabases::new("verify_online").await;
    let mut src = dbs.source().await;
    let ddl = [
        "CREATE TABLE acct (id INT PRIMARY KEY, balance BIGINT NOT NULL, note VARCHAR(50), f DOUBLE)",
        "CREATE TABLE log (acct INT, delta INT, at DATETIME(6))",
    ];
    let mut tgt = dbs.target().await;
    for d in ddl {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    // Native replication of this database from here on: the target follows
    // the source the way incremental migration will.
    let (file, pos) = dts_test_support::binlog_position(&mut src).await;
    let name = format!("v{}", std::process::id());
    let src_opts = opts(Server::Source, None);
    let mut admin = connect(Server::Target, None).await;
    exec(
        &mut admin,
        &format!(
            "CHANGE MASTER '{name}' TO master_host = '{}', master_port = {}, master_user = 'root', \
             master_log_file = '{file}', master_log_pos = {pos}, master_delay = 1",
            src_opts.ip_or_hostname(),
            src_opts.tcp_port()
        ),
    )
    .await;
    let _guard = ReplicationGuard(name.clone());
    exec(
        &mut admin,
        &format!("SET GLOBAL `{name}`.replicate_do_db = '{}'", dbs.name),
    )
    .await;
    exec(&mut admin, &format!("START SLAVE '{name}'")).await;
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(
        &mut src,
        "INSERT INTO acct WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 10000)
         SELECT i, 1000, CONCAT('n', i), i / 3 FROM s;
         INSERT INTO log SELECT id, 0, '2020-01-01' FROM acct WHERE id <= 500",
    )
    .await;
    // A writer on keys 1..5000 and on the table without a key.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let db = dbs.name.clone();
        tokio::spawn(async move {
            let mut c = connect(Server::Source, Some(&db)).await;
            let mut i: u64 = 0;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                // A few hundred transactions a second, each touching four
                // rows: every row of the writer's half changes about every
                // ten seconds.
                tokio::time::sleep(Duration::from_millis(2)).await;
                let (a, b) = (1 + i * 7919 % 5000, 1 + i * 104_729 % 5000);
                c.query_drop(format!(
                    "BEGIN; UPDATE acct SET balance = balance - 5, f = f * 1.000001 WHERE id = {a};
                     UPDATE acct SET balance = balance + 5, note = CONCAT('w', {i}) WHERE id = {b};
                     INSERT INTO log VALUES ({a}, -5, NOW(6));
                     DELETE FROM acct WHERE id = {} ; INSERT INTO acct VALUES ({}, 0, 'ins', 0.5)
                       ON DUPLICATE KEY UPDATE balance = balance + 1; COMMIT",
                    5001 - a,
                    5001 - b
                ))
                .await
                .expect("writer");
            }
            i
        })
    };
    let tables = vec![
        TableMapping::same(&dbs.name, "acct"),
        TableMapping::same(&dbs.name, "log"),
    ];
    let online = VerifyOptions {
        chunk_rows: 200,
        online: Some(OnlineOptions {
            applied: Some(Arc::new(Replica {
                name: name.clone(),
                conn: tokio::sync::Mutex::new(None),
            })),
            wait_timeout: Duration::from_secs(60),
            ..OnlineOptions::default()
        }),
        ..VerifyOptions::default()
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The target lags a second behind (master_delay): without re-checks,
    // changes in flight are reported.
    let offline = verify(
        &tables,
        &VerifyOptions {
            online: None,
            ..online.clone()
        },
    )
    .await;
    assert!(
        !offline.is_equal(),
        "the writer's changes in flight must show without re-checks:\n{offline}"
    );
    // DTS_VERIFY_ONLINE_RUNS=300 makes this a soak of several minutes.
    let runs: u32 = std::env::var("DTS_VERIFY_ONLINE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let mut rechecked = 0;
    for run in 0..runs {
        let report = verify(&tables, &online).await;
        assert!(
            report.is_equal(),
            "run {run}: a false difference:\n{report}"
        );
        rechecked += report.tables.iter().map(|t| t.rechecked).sum::<u64>();
    }
    // A real difference on a key the writer never touches is still found.
    exec(&mut tgt, "UPDATE acct SET note = 'damaged' WHERE id = 9999").await;
    let report = verify(&tables, &online).await;
    assert_eq!(
        listed(&report.tables[0]),
        sorted(&["different (id=9999): note"]),
        "{report}"
    );
    assert!(report.tables[1].is_equal(), "{report}");
    stop.store(true, Ordering::SeqCst);
    let transactions = writer.await.expect("writer");
    assert!(
        transactions > 50,
        "the writer ran during the verifications ({transactions} transactions)"
    );
    assert!(
        rechecked > 0,
        "changes in flight were seen and re-checked (else the test proves nothing)"
    );
    drop(_guard);
    dbs.cleanup().await;
}

#[tokio::test]
async fn d11_values_that_concatenate_alike_still_differ() {
    let dbs = TestDatabases::new("verify_boundaries").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    // Each case in a table of its own, one row: only the servers' hashes can
    // tell the sides apart (a range whose hashes agree is not read). Each
    // target row holds the source row's bytes in the same order, with one
    // field boundary moved, or NULL for ''.
    let cases = [
        (
            "X'61FF', X'62', 'x', 'y', 'p', 'q'",
            "X'61', X'FF62', 'x', 'y', 'p', 'q'",
            "a,b",
        ),
        (
            "'a', 'b', 'xy', '', 'p', 'q'",
            "'a', 'b', 'x', 'y', 'p', 'q'",
            "t1,t2",
        ),
        (
            "'a', 'b', 'x', 'y', X'70FF', 'q'",
            "'a', 'b', 'x', 'y', X'70', X'FF71'",
            "l1,l2",
        ),
        (
            "'a', 'b', 'x', NULL, 'p', 'q'",
            "'a', 'b', 'x', '', 'p', 'q'",
            "t2",
        ),
    ];
    let mut tables = Vec::new();
    for (i, (s, t, _)) in cases.iter().enumerate() {
        let ddl = format!(
            "CREATE TABLE bnd{i} (id INT PRIMARY KEY, a VARBINARY(10), b VARBINARY(10),
             t1 VARCHAR(10), t2 VARCHAR(10), l1 VARCHAR(10) CHARACTER SET latin1,
             l2 VARCHAR(10) CHARACTER SET latin1)"
        );
        exec(&mut src, &ddl).await;
        exec(&mut tgt, &ddl).await;
        exec(&mut src, &format!("INSERT INTO bnd{i} VALUES (1, {s})")).await;
        exec(&mut tgt, &format!("INSERT INTO bnd{i} VALUES (1, {t})")).await;
        tables.push(TableMapping::same(&dbs.name, &format!("bnd{i}")));
    }
    let report = verify(&tables, &VerifyOptions::default()).await;
    for (t, (_, _, cols)) in report.tables.iter().zip(cases) {
        assert_eq!(
            listed(t),
            vec![format!("different (id=1): {cols}")],
            "{report}"
        );
    }
    dbs.cleanup().await;
}

/// D9 with a latin1 key (German collation, high bytes) over the utf8mb4
/// session, and DECIMAL and BIT(64) keys past a double's precision: the
/// ranges' bounds are compared as the server orders the keys, so every
/// range is read, each row once, and a damaged row is found.
#[tokio::test]
async fn d9_latin1_decimal_and_bit_keys_are_compared_in_their_own_type_and_collation() {
    let dbs = TestDatabases::new("verify_typed_keys").await;
    let ddl = [
        "CREATE TABLE l (k VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_german2_ci NOT NULL \
         PRIMARY KEY, v INT)",
        "CREATE TABLE d (k DECIMAL(30,10) NOT NULL PRIMARY KEY, v INT)",
        "CREATE TABLE b (k BIT(64) NOT NULL PRIMARY KEY, v INT)",
    ];
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    for d in ddl {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    let seq = |t: &str, select: &str| {
        format!(
            "INSERT INTO {t} WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s \
             WHERE i < 1000) {select} FROM s"
        )
    };
    exec(
        &mut src,
        &seq(
            "l",
            "SELECT CONCAT(ELT(1 + i % 6, 'a', _latin1 0xE4, 'ae', _latin1 0xF6, 'z', \
             _latin1 0xDF), i), i",
        ),
    )
    .await;
    exec(
        &mut src,
        &seq(
            "d",
            "SELECT 12345678901234567890.0000000000 + i * 0.0000000001, i",
        ),
    )
    .await;
    exec(&mut src, &seq("b", "SELECT 18446744073709551615 - i, i")).await;
    let tables: Vec<TableMapping> = ["l", "d", "b"]
        .iter()
        .map(|t| TableMapping::same(&dbs.name, t))
        .collect();
    copy(&dbs, &tables).await;
    let report = verify(&tables, &small_chunks()).await;
    assert!(report.is_equal(), "{report}");
    for t in &report.tables {
        assert_eq!((t.source_rows, t.target_rows), (1000, 1000), "{report}");
        assert!(t.chunks >= 3, "{report}");
    }
    for t in ["l", "d", "b"] {
        exec(&mut tgt, &format!("UPDATE {t} SET v = -1 WHERE v = 500")).await;
    }
    let report = verify(&tables, &small_chunks()).await;
    for t in &report.tables {
        assert_eq!(t.different, 1, "{report}");
    }
    dbs.cleanup().await;
}
