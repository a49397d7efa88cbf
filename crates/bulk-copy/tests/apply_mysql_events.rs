//! MySQL 8's events applied to the real target, fed with MySQL's bytes:
//! MySQL 8.0.40's own binlog from MariaDB's test data
//! (`mdev35643_mysql_80_binlog.000001`), and binlog files of MySQL 8.0 and
//! 8.4 written by test-support's `mysql_binlog` writer (mysql_common's
//! serializers), read through the binlog-file source (`ApplySource::Files`)
//! into the same apply as the server's stream.
//!
//! - compressed transactions (TRANSACTION_PAYLOAD): applied as the
//!   transaction they hold, checkpoint at the payload's end; one over the
//!   limit stops the apply before any of it is applied;
//! - partial JSON updates (PARTIAL_UPDATE_ROWS): every diff operation
//!   applied exactly; refused with the fix when the before image lacks the
//!   document;
//! - tagged GTIDs (8.4);
//! - every event type: applied, skipped by a documented rule and counted,
//!   or refused naming the type and position.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use binlog_reader::{EventBody, EventType, FileReader};
use bulk_copy::{
    apply_changes_from, ApplyOptions, ApplyReport, ApplySelection, ApplySource, CopyError,
};
use dts_test_support::mysql_binlog::{
    BinlogFile, Collation, ColumnType, Gtid, Json, JsonDiff, MySqlVersion, RowImage, TableDef,
    Value,
};
use dts_test_support::{exec, opts, query_one, Server, TestDatabases};
use mysql_async::prelude::*;

const MDEV35643: &str = "/usr/share/mysql/mysql-test/std_data/mdev35643_mysql_80_binlog.000001";
const UUID: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

/// A directory for one test's files, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }

    /// Writes `f` as `name` in the directory.
    fn write(&self, name: &str, f: &BinlogFile) -> PathBuf {
        let p = self.0.join(name);
        f.write_to(&p).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn options(dbs: &TestDatabases) -> ApplyOptions {
    ApplyOptions {
        task: dbs.name.clone(),
        ..ApplyOptions::default()
    }
}

async fn apply(
    files: &[PathBuf],
    sel: &ApplySelection,
    o: &ApplyOptions,
) -> Result<ApplyReport, CopyError> {
    apply_changes_from(
        &ApplySource::Files(files.to_vec()),
        &opts(Server::Target, None),
        sel,
        None,
        o,
    )
    .await
}

/// The source database `db` applied into the test's database.
fn selection(db: &str, dbs: &TestDatabases) -> ApplySelection {
    ApplySelection {
        databases: vec![(db.into(), dbs.name.clone())],
        ..ApplySelection::default()
    }
}

async fn checkpoint(dbs: &TestDatabases) -> (String, u64) {
    let mut t = dbs.target().await;
    query_one(
        &mut t,
        &format!(
            "SELECT binlog_file, binlog_pos FROM dts_meta.cdc_checkpoint WHERE task = '{}'",
            dbs.name
        ),
    )
    .await
}

/// Every event of a file, with the payloads' inner events after their
/// payload.
fn events(path: &Path) -> Vec<binlog_reader::Event> {
    let mut r = FileReader::new([path]);
    let mut out = Vec::new();
    while let Some(ev) = r.next_event().unwrap() {
        if let EventBody::TransactionPayload(p) = &ev.body {
            let inner = p.events.clone();
            out.push(ev);
            out.extend(inner);
        } else {
            out.push(ev);
        }
    }
    out
}

/// The rows `rpl_from_mysql80.test` writes into t1 (MariaDB's
/// `suite/rpl/t/rpl_from_mysql80.test`, which made the file): 1 to 5, and
/// 1000 to 1099 in one compressed transaction.
fn mdev35643_t1() -> Vec<(i32, i32, String)> {
    let mut v = vec![
        (1, 0, String::new()),
        (2, 0, "hulu".into()),
        (3, 0, "bulu".into()),
        (4, 0, "skip".into()),
        (5, 0, "after compressed".into()),
    ];
    for i in 0..100 {
        // eval INSERT ... CONCAT("--", $i, "--", REPEAT("\\/", 100), "--"):
        // mysqltest's eval reads `\\` as `\`, and the server reads the SQL
        // string "\/" as "/".
        v.push((1000 + i, i, format!("--{i}--{}--", "/".repeat(100))));
    }
    v.sort();
    v
}

#[tokio::test]
async fn s12_mdev35643_mysql_80_binlog_applies_its_payload_and_partial_json_update_exactly() {
    let path = PathBuf::from(MDEV35643);
    assert!(
        path.exists(),
        "{MDEV35643} is missing: install Debian's mariadb-test-data package"
    );
    let dbs = TestDatabases::new("mdev35643").await;
    let sel = selection("test", &dbs);
    let o = options(&dbs);
    let files = [path.clone()];

    // The file's t2 row is inserted by a statement (the test that made it
    // logs that INSERT with binlog_format=statement): the apply applies
    // everything before it, its compressed transaction included, and stops
    // there, naming it.
    let e = apply(&files, &sel, &o).await.unwrap_err().to_string();
    let evs = events(&path);
    let stmt = evs
        .iter()
        .find(|e| match &e.body {
            EventBody::Query(q) => q.query_text().starts_with("INSERT INTO t2"),
            _ => false,
        })
        .expect("the statement-based INSERT of t2");
    assert!(
        e.contains(&format!("mdev35643_mysql_80_binlog.000001:{}", stmt.pos))
            && e.contains("statement instead of row changes")
            && e.contains("binlog_format=ROW"),
        "{e}"
    );
    let mut t = dbs.target().await;
    let t1: Vec<(i32, i32, String)> = t.query("SELECT a, b, c FROM t1 ORDER BY a").await.unwrap();
    assert_eq!(t1, mdev35643_t1());
    // The payload was decoded and applied whole: its 100 rows, and the
    // checkpoint moved past it.
    let payload = evs
        .iter()
        .find(|e| matches!(e.body, EventBody::TransactionPayload(_)))
        .expect("the file's TRANSACTION_PAYLOAD");
    let (_, at) = checkpoint(&dbs).await;
    assert!(at > payload.end_pos, "checkpoint {at}");

    // What the operator does for such a statement: the row, as the
    // statement wrote it (MySQL prints the JSON it stored this way), and
    // the checkpoint past its transaction.
    let doc = |b: &str| format!(r#"{{"a": "hulu", "b": "{b}", "c": "bulu"}}"#);
    t.exec_drop(
        "INSERT INTO t2 VALUES (1, ?)",
        (doc(&"[zyzzy]".repeat(100)),),
    )
    .await
    .unwrap();
    let after_stmt = evs
        .iter()
        .skip_while(|e| e.pos <= stmt.pos)
        .find(|e| matches!(e.body, EventBody::Xid(_)))
        .expect("the statement's XID")
        .end_pos;
    exec(
        &mut t,
        &format!(
            "UPDATE dts_meta.cdc_checkpoint SET binlog_pos = {after_stmt} WHERE task = '{}'",
            dbs.name
        ),
    )
    .await;

    // The rest: the partial JSON update (JSON_REPLACE(b, '$.b',
    // REPEAT("oOo", 50))), applied exactly.
    let r = apply(&files, &sel, &o)
        .await
        .unwrap_or_else(|e| panic!("the rest of the file: {e}"));
    let t2: Vec<(i32, String)> = t.query("SELECT a, b FROM t2").await.unwrap();
    assert_eq!(t2, vec![(1, doc(&"oOo".repeat(50)))]);
    assert_eq!(
        mdev35643_t1(),
        t.query::<(i32, i32, String), _>("SELECT a, b, c FROM t1 ORDER BY a")
            .await
            .unwrap()
    );
    // 105 inserts of t1 and the update of t2, over both runs; the file's
    // own bookkeeping skipped and counted.
    assert_eq!((r.rows, r.ddl_applied), (106, 2), "{r:?}");
    assert_eq!(
        r.events_skipped.get("FORMAT_DESCRIPTION").copied(),
        Some(1),
        "{r:?}"
    );
    dbs.cleanup().await;
}

/// A table of two columns, `id INT` (the key) and `v`.
fn kv(db: &str, v: ColumnType) -> TableDef {
    TableDef::new(db, "t", 90)
        .col("id", ColumnType::Int { unsigned: false })
        .col("v", v)
        .primary_key(&["id"])
}

fn text_row(id: i64, len: usize) -> Vec<Value> {
    let s: String = format!("{id}:")
        .chars()
        .chain("abcdefghijklmnopqrstuvwxyz".chars().cycle())
        .take(len)
        .collect();
    vec![Value::Int(id), Value::bytes(s)]
}

/// The GTID of the `n`-th transaction: tagged on 8.4, plain on 8.0.
fn gtid(version: MySqlVersion, n: u64) -> Gtid {
    match version {
        MySqlVersion::V8_4_3 => Gtid::tagged(UUID, "etl", n),
        _ => Gtid::uuid(UUID, n),
    }
}

#[tokio::test]
async fn s12_compressed_transactions_small_large_and_over_the_limit_on_mysql_80_and_84() {
    for version in MySqlVersion::ALL {
        let dbs = TestDatabases::new("payloads").await;
        let dir = Dir::new("payloads");
        let t = kv("src", ColumnType::varchar(400, Collation::UTF8MB4_BIN));
        let mut f = BinlogFile::new(version);
        f.ddl(gtid(version, 1), "src", &t.create_table_sql());
        // Small, large (written on the target in parts: the batch is 64
        // KiB), over the limit (1 MiB uncompressed), then a plain one.
        let small: Vec<_> = (1..=3).map(|i| text_row(i, 20)).collect();
        let large: Vec<_> = (1000..4000).map(|i| text_row(i, 150)).collect();
        let over: Vec<_> = (10_000..13_000).map(|i| text_row(i, 400)).collect();
        let plain = vec![text_row(20_000, 5)];
        for (n, rows) in [(2, &small), (3, &large), (4, &over)] {
            let mut tx = f.transaction(gtid(version, n));
            tx.insert(&t, rows.iter().cloned());
            tx.commit_compressed();
        }
        let mut tx = f.transaction(gtid(version, 5));
        tx.insert(&t, plain.iter().cloned());
        tx.commit();
        let path = dir.write("binlog.000001", &f);
        let payloads: Vec<(u64, u64, u64)> = events(&path)
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::TransactionPayload(p) => Some((e.pos, e.end_pos, p.uncompressed_size)),
                _ => None,
            })
            .collect();
        assert_eq!(payloads.len(), 3, "{version:?}");
        let limit = 1u64 << 20;
        assert!(
            payloads[1].2 < limit && payloads[2].2 > limit,
            "{version:?}: the large payload fits, the last does not: {payloads:?}"
        );
        let sel = selection("src", &dbs);
        let o = ApplyOptions {
            max_uncompressed_bytes: limit,
            batch_bytes: 64 << 10,
            ..options(&dbs)
        };
        let e = apply(std::slice::from_ref(&path), &sel, &o)
            .await
            .unwrap_err()
            .to_string();
        for part in [
            format!("binlog.000001:{}", payloads[2].0),
            payloads[2].2.to_string(),
            limit.to_string(),
            "max_uncompressed_bytes".into(),
            "binlog_transaction_compression=OFF".into(),
            "Nothing of it was applied".into(),
        ] {
            assert!(e.contains(&part), "{version:?}: {part:?} not in: {e}");
        }
        // Everything before it, nothing of it; the checkpoint is the end of
        // the last payload applied.
        let mut tgt = dbs.target().await;
        let got: Vec<(i32, Vec<u8>)> = tgt.query("SELECT id, v FROM t ORDER BY id").await.unwrap();
        let want = |sets: &[&Vec<Vec<Value>>]| -> Vec<(i32, Vec<u8>)> {
            sets.iter()
                .flat_map(|s| s.iter())
                .map(|r| match (&r[0], &r[1]) {
                    (Value::Int(i), Value::Bytes(b)) => (*i as i32, b.clone()),
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        assert!(
            got == want(&[&small, &large]),
            "{version:?}: {} rows",
            got.len()
        );
        assert_eq!(
            checkpoint(&dbs).await,
            ("binlog.000001".to_string(), payloads[1].1),
            "{version:?}"
        );
        // With the limit raised, the rest is applied.
        let r = apply(
            &[path],
            &sel,
            &ApplyOptions {
                max_uncompressed_bytes: 8 << 20,
                ..o.clone()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{version:?}: {e}"));
        let got: Vec<(i32, Vec<u8>)> = tgt.query("SELECT id, v FROM t ORDER BY id").await.unwrap();
        assert!(
            got == want(&[&small, &large, &over, &plain]),
            "{version:?}: {} rows",
            got.len()
        );
        assert_eq!((r.transactions, r.rows), (5, 6004), "{version:?}: {r:?}");
        assert_eq!(
            checkpoint(&dbs).await,
            ("binlog.000001".to_string(), f.position()),
            "{version:?}"
        );
        drop(tgt);
        dbs.cleanup().await;
    }
}

/// The JSON documents of `j` on the target, by id.
async fn docs(dbs: &TestDatabases) -> BTreeMap<i32, String> {
    let mut t = dbs.target().await;
    let v: Vec<(i32, String)> = t.query("SELECT id, doc FROM j ORDER BY id").await.unwrap();
    v.into_iter().collect()
}

#[tokio::test]
async fn d10_partial_json_updates_apply_every_operation_exactly_on_mysql_80_and_84() {
    use Json as J;
    let obj = |items: Vec<(&str, Json)>| Json::object(items);
    for version in MySqlVersion::ALL {
        let dbs = TestDatabases::new("partial_json").await;
        let dir = Dir::new("partial-json");
        let t = TableDef::new("src", "j", 91)
            .col("id", ColumnType::Int { unsigned: false })
            .col("doc", ColumnType::Json)
            .primary_key(&["id"]);
        let base = || {
            obj(vec![
                ("a", J::Int(1)),
                ("b", J::str("oOo")),
                ("arr", J::Array(vec![J::Int(1), J::Int(2), J::Int(3)])),
                ("nested", obj(vec![("x", J::Array(vec![J::Null]))])),
            ])
        };
        let row = |id: i64, doc: Json| vec![Value::Int(id), Value::Json(doc)];
        let diffs = |id: i64, d: Vec<JsonDiff>| vec![Value::Int(id), Value::JsonDiffs(d)];
        // (id, diffs, the document MySQL stores after them)
        let cases: Vec<(i64, Vec<JsonDiff>, Json)> = vec![
            (
                1,
                vec![JsonDiff::replace("$.b", J::str("say \"hi\"\n\u{1}é"))],
                obj(vec![
                    ("a", J::Int(1)),
                    ("b", J::str("say \"hi\"\n\u{1}é")),
                    ("arr", J::Array(vec![J::Int(1), J::Int(2), J::Int(3)])),
                    ("nested", obj(vec![("x", J::Array(vec![J::Null]))])),
                ]),
            ),
            (
                2,
                vec![
                    JsonDiff::replace("$.arr[1]", J::Double(0.1)),
                    JsonDiff::replace("$.nested.x[0]", obj(vec![("k", J::UInt(u64::MAX))])),
                ],
                obj(vec![
                    ("a", J::Int(1)),
                    ("b", J::str("oOo")),
                    ("arr", J::Array(vec![J::Int(1), J::Double(0.1), J::Int(3)])),
                    (
                        "nested",
                        obj(vec![(
                            "x",
                            J::Array(vec![obj(vec![("k", J::UInt(u64::MAX))])]),
                        )]),
                    ),
                ]),
            ),
            (
                3,
                // Members inserted where MySQL keeps them (by length, then
                // bytes), cells inserted inside and past the end.
                vec![
                    JsonDiff::insert("$.c", J::Bool(true)),
                    JsonDiff::insert("$.zzzzzzz", J::Array(vec![])),
                    JsonDiff::insert("$.\"a b\"", J::Int(-7)),
                    JsonDiff::insert("$.arr[0]", J::Int(0)),
                    JsonDiff::insert("$.arr[99]", J::Int(4)),
                ],
                obj(vec![
                    ("a", J::Int(1)),
                    ("b", J::str("oOo")),
                    ("c", J::Bool(true)),
                    ("a b", J::Int(-7)),
                    (
                        "arr",
                        J::Array(vec![J::Int(0), J::Int(1), J::Int(2), J::Int(3), J::Int(4)]),
                    ),
                    ("nested", obj(vec![("x", J::Array(vec![J::Null]))])),
                    ("zzzzzzz", J::Array(vec![])),
                ]),
            ),
            (
                4,
                vec![
                    JsonDiff::remove("$.b"),
                    JsonDiff::remove("$.arr[0]"),
                    JsonDiff::remove("$.nested.x[0]"),
                ],
                obj(vec![
                    ("a", J::Int(1)),
                    ("arr", J::Array(vec![J::Int(2), J::Int(3)])),
                    ("nested", obj(vec![("x", J::Array(vec![]))])),
                ]),
            ),
            (
                5,
                // In order, each on the result of the one before.
                vec![
                    JsonDiff::remove("$.arr[0]"),
                    JsonDiff::replace("$.arr[0]", J::Int(5)),
                    JsonDiff::insert("$.arr[last]", J::Int(6)),
                ],
                obj(vec![
                    ("a", J::Int(1)),
                    ("b", J::str("oOo")),
                    ("arr", J::Array(vec![J::Int(5), J::Int(6), J::Int(3)])),
                    ("nested", obj(vec![("x", J::Array(vec![J::Null]))])),
                ]),
            ),
        ];
        let mut f = BinlogFile::new(version);
        f.ddl(Gtid::Anonymous, "src", &t.create_table_sql());
        let mut tx = f.transaction(Gtid::Anonymous);
        tx.insert(&t, (1..=6).map(|id| row(id, base())));
        tx.commit();
        // One event for rows 1 to 4; row 5 in a compressed transaction.
        let mut tx = f.transaction(Gtid::Anonymous);
        tx.partial_json_update(
            &t,
            cases
                .iter()
                .filter(|c| c.0 < 5)
                .map(|(id, d, _)| (row(*id, base()), diffs(*id, d.clone()))),
        );
        tx.commit();
        let mut tx = f.transaction(Gtid::Anonymous);
        tx.partial_json_update(
            &t,
            cases
                .iter()
                .filter(|c| c.0 == 5)
                .map(|(id, d, _)| (row(*id, base()), diffs(*id, d.clone()))),
        );
        tx.commit_compressed();
        // A partial update whose before image lacks the document
        // (binlog_row_image=NOBLOB): refused, naming the fix.
        let mut tx = f.transaction(Gtid::Anonymous);
        tx.row_image(RowImage::NoBlob);
        tx.partial_json_update(
            &t,
            vec![(row(6, base()), diffs(6, vec![JsonDiff::remove("$.a")]))],
        );
        let refused = tx.commit();
        let path = dir.write("binlog.000001", &f);
        let sel = selection("src", &dbs);
        let o = options(&dbs);
        let e = apply(std::slice::from_ref(&path), &sel, &o)
            .await
            .unwrap_err()
            .to_string();
        for part in [
            "binlog.000001:",
            "column `doc`",
            "binlog_row_value_options=''",
            "binlog_row_image=FULL",
        ] {
            assert!(e.contains(part), "{version:?}: {part:?} not in: {e}");
        }
        let got = docs(&dbs).await;
        for (id, _, want) in &cases {
            assert_eq!(
                got.get(&(*id as i32)),
                Some(&want.normalized().to_mysql_text()),
                "{version:?}: row {id}"
            );
        }
        assert_eq!(got.get(&6), Some(&base().normalized().to_mysql_text()));
        assert_eq!(
            checkpoint(&dbs).await,
            ("binlog.000001".to_string(), refused.start),
            "{version:?}"
        );
        dbs.cleanup().await;
    }
}

/// One MySQL binlog event type the apply meets and what it does with it.
enum Fate {
    /// Applied: proven by the tests named.
    Applied(&'static str),
    /// Skipped by a documented rule and counted in `events_skipped`.
    Skipped,
    /// Refused: the apply stops with an error holding this text and the
    /// event's position.
    Refused(&'static str),
}

/// Every event type code binlog-reader knows, with its fate in the apply.
/// Types marked Applied are proven by the tests named; Skipped and Refused
/// ones are proven here, each written into a binlog file and applied.
fn fates() -> Vec<(EventType, Fate)> {
    use EventType as T;
    use Fate::*;
    let rows = "the D tests, apply_files.rs, this file";
    let mariadb = "apply.rs and the task tests (a MariaDB source's stream)";
    vec![
        (T::START_EVENT_V3, Skipped),
        (
            T::QUERY,
            Applied("DDL, BEGIN and COMMIT everywhere; statement DML refused: s12_...statement"),
        ),
        (T::STOP, Skipped),
        (T::ROTATE, Skipped),
        (T::INTVAR, Refused("statement instead of row changes")),
        (T::LOAD, Refused("LOAD")),
        (T::SLAVE, Refused("SLAVE")),
        (T::CREATE_FILE, Refused("CREATE_FILE")),
        (T::APPEND_BLOCK, Refused("APPEND_BLOCK")),
        (T::EXEC_LOAD, Refused("EXEC_LOAD")),
        (T::DELETE_FILE, Refused("DELETE_FILE")),
        (T::NEW_LOAD, Refused("NEW_LOAD")),
        (T::RAND, Refused("statement instead of row changes")),
        (T::USER_VAR, Refused("statement instead of row changes")),
        (T::FORMAT_DESCRIPTION, Skipped),
        (T::XID, Applied(rows)),
        (T::BEGIN_LOAD_QUERY, Refused("BEGIN_LOAD_QUERY")),
        (T::EXECUTE_LOAD_QUERY, Refused("EXECUTE_LOAD_QUERY")),
        (T::TABLE_MAP, Applied(rows)),
        (T::PRE_GA_WRITE_ROWS, Refused("PRE_GA_WRITE_ROWS")),
        (T::PRE_GA_UPDATE_ROWS, Refused("PRE_GA_UPDATE_ROWS")),
        (T::PRE_GA_DELETE_ROWS, Refused("PRE_GA_DELETE_ROWS")),
        (T::WRITE_ROWS_V1, Applied(mariadb)),
        (T::UPDATE_ROWS_V1, Applied(mariadb)),
        (T::DELETE_ROWS_V1, Applied(mariadb)),
        (T::INCIDENT, Refused("INCIDENT")),
        (T::HEARTBEAT, Skipped),
        (T::IGNORABLE, Skipped),
        (T::ROWS_QUERY, Skipped),
        (T::WRITE_ROWS, Applied(rows)),
        (T::UPDATE_ROWS, Applied(rows)),
        (T::DELETE_ROWS, Applied(rows)),
        (
            T::GTID,
            Applied("s12_compressed_transactions_..._on_mysql_80_and_84 (8.0)"),
        ),
        (T::ANONYMOUS_GTID, Applied(rows)),
        (T::PREVIOUS_GTIDS, Skipped),
        (T::TRANSACTION_CONTEXT, Skipped),
        (T::VIEW_CHANGE, Skipped),
        (T::XA_PREPARE, Refused("XA PREPARE")),
        (
            T::PARTIAL_UPDATE_ROWS,
            Applied("d10_partial_json_updates_..."),
        ),
        (
            T::TRANSACTION_PAYLOAD,
            Applied("s12_compressed_transactions_..., s12_mdev35643_..."),
        ),
        (T::HEARTBEAT_V2, Skipped),
        (
            T::GTID_TAGGED,
            Applied("s12_compressed_transactions_..._on_mysql_80_and_84 (8.4)"),
        ),
        (T::MARIADB_ANNOTATE_ROWS, Skipped),
        (T::MARIADB_BINLOG_CHECKPOINT, Skipped),
        (T::MARIADB_GTID, Applied(mariadb)),
        (T::MARIADB_GTID_LIST, Skipped),
        (T::MARIADB_START_ENCRYPTION, Refused("encrypted")),
        (
            T::MARIADB_QUERY_COMPRESSED,
            Applied("s12_mariadb_compressed_events_..."),
        ),
        (
            T::MARIADB_WRITE_ROWS_COMPRESSED_V1,
            Applied("s12_mariadb_compressed_events_..."),
        ),
        (
            T::MARIADB_UPDATE_ROWS_COMPRESSED_V1,
            Applied("s12_mariadb_compressed_events_..."),
        ),
        (
            T::MARIADB_DELETE_ROWS_COMPRESSED_V1,
            Applied("s12_mariadb_compressed_events_..."),
        ),
        (
            T::MARIADB_WRITE_ROWS_COMPRESSED,
            Applied("no server writes them (MariaDB writes the V1 forms); decoded as those are"),
        ),
        (
            T::MARIADB_UPDATE_ROWS_COMPRESSED,
            Applied("no server writes them (MariaDB writes the V1 forms); decoded as those are"),
        ),
        (
            T::MARIADB_DELETE_ROWS_COMPRESSED,
            Applied("no server writes them (MariaDB writes the V1 forms); decoded as those are"),
        ),
    ]
}

/// A body the decoder reads for a skipped or refused type written raw.
fn raw_body(t: EventType) -> Vec<u8> {
    use EventType as T;
    match t {
        T::INTVAR => {
            let mut b = vec![2];
            b.extend_from_slice(&7u64.to_le_bytes());
            b
        }
        T::RAND => [1u64.to_le_bytes(), 2u64.to_le_bytes()].concat(),
        // @x = NULL.
        T::USER_VAR => vec![1, 0, 0, 0, b'x', 1],
        T::INCIDENT => vec![1, 0, 4, b'l', b'o', b's', b't'],
        // Not one phase, format 1, gtrid "x", no bqual.
        T::XA_PREPARE => vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, b'x'],
        T::MARIADB_START_ENCRYPTION => vec![1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        T::MARIADB_ANNOTATE_ROWS => b"INSERT INTO t VALUES (2, 'b')".to_vec(),
        T::MARIADB_BINLOG_CHECKPOINT => {
            let mut b = 13u32.to_le_bytes().to_vec();
            b.extend_from_slice(b"binlog.000001");
            b
        }
        T::MARIADB_GTID_LIST => 0u32.to_le_bytes().to_vec(),
        T::HEARTBEAT => b"binlog.000001".to_vec(),
        // Heartbeat_event_v2's fields: (type, length, value) as
        // length-encoded integers, 1 the file name, 2 the position.
        T::HEARTBEAT_V2 => {
            let mut b = vec![1, 13];
            b.extend_from_slice(b"binlog.000001");
            b.extend_from_slice(&[2, 3, 0xfc, 0x10, 0x27, 0]);
            b
        }
        // Uninterpreted types: their bodies are kept, not read.
        _ => b"uninterpreted".to_vec(),
    }
}

#[tokio::test]
async fn every_event_type_is_applied_or_skipped_and_counted_or_refused_naming_it() {
    let fates = fates();
    // Every type binlog-reader names is listed once.
    let known: Vec<EventType> = (0..=255u8)
        .map(EventType)
        .filter(|t| t.name() != "UNKNOWN")
        .collect();
    let listed: Vec<EventType> = fates.iter().map(|(t, _)| *t).collect();
    assert_eq!(listed, known, "every event type has a fate");
    for (t, fate) in &fates {
        if let Fate::Applied(by) = fate {
            assert!(!by.is_empty(), "{}: applied, proven where?", t.name());
        }
    }

    // The skipped ones, all in two files applied in one run: counted by
    // name, and the rows around them applied.
    let dbs = TestDatabases::new("fates_skipped").await;
    let dir = Dir::new("fates-skipped");
    let t = kv("src", ColumnType::varchar(20, Collation::UTF8MB4_BIN));
    let mut f = BinlogFile::new(MySqlVersion::V8_0_40);
    f.ddl(Gtid::Anonymous, "src", &t.create_table_sql());
    let mut tx = f.transaction(Gtid::Anonymous);
    tx.rows_query("INSERT INTO t VALUES (1, 'a')");
    tx.insert(&t, vec![text_row(1, 3)]);
    tx.commit();
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for name in ["FORMAT_DESCRIPTION", "PREVIOUS_GTIDS"] {
        want.insert(name.into(), 2);
    }
    for name in ["ROTATE", "STOP", "ROWS_QUERY"] {
        want.insert(name.into(), 1);
    }
    for (t, fate) in &fates {
        if matches!(fate, Fate::Skipped)
            && ![
                EventType::START_EVENT_V3,
                EventType::FORMAT_DESCRIPTION,
                EventType::PREVIOUS_GTIDS,
                EventType::ROTATE,
                EventType::STOP,
                EventType::ROWS_QUERY,
            ]
            .contains(t)
        {
            f.raw_event(t.0, 0, &raw_body(*t));
            want.insert(t.name().into(), 1);
        }
    }
    let mut tx = f.transaction(Gtid::Anonymous);
    tx.insert(&t, vec![text_row(2, 3)]);
    tx.commit();
    f.rotate("binlog.000002");
    let mut g = BinlogFile::new(MySqlVersion::V8_0_40);
    let mut tx = g.transaction(Gtid::Anonymous);
    tx.insert(&t, vec![text_row(3, 3)]);
    tx.commit();
    g.stop();
    let paths = [
        dir.write("binlog.000001", &f),
        dir.write("binlog.000002", &g),
    ];
    let r = apply(&paths, &selection("src", &dbs), &options(&dbs))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.events_skipped, want);
    assert_eq!((r.transactions, r.rows), (4, 3), "{r:?}");
    let mut tgt = dbs.target().await;
    let ids: Vec<i32> = tgt.query("SELECT id FROM t ORDER BY id").await.unwrap();
    assert_eq!(ids, [1, 2, 3]);
    drop(tgt);
    dbs.cleanup().await;

    // Each refused one in its own file, between two transactions: the
    // apply stops at it naming it and its position, with the transaction
    // before it applied and the one after it not.
    for (ty, fate) in &fates {
        let Fate::Refused(what) = fate else { continue };
        let dbs = TestDatabases::new("fates_refused").await;
        let dir = Dir::new(&format!("fates-refused-{}", ty.0));
        let mut f = BinlogFile::new(MySqlVersion::V8_0_40);
        f.ddl(Gtid::Anonymous, "src", &t.create_table_sql());
        let mut tx = f.transaction(Gtid::Anonymous);
        tx.insert(&t, vec![text_row(1, 3)]);
        tx.commit();
        let at = f.position();
        f.raw_event(ty.0, 0, &raw_body(*ty));
        if matches!(
            *ty,
            EventType::INTVAR | EventType::RAND | EventType::USER_VAR
        ) {
            // The statement these values are for.
            f.ddl(Gtid::Anonymous, "src", "INSERT INTO t VALUES (9, 'x')");
        }
        let mut tx = f.transaction(Gtid::Anonymous);
        tx.insert(&t, vec![text_row(2, 3)]);
        tx.commit();
        let path = dir.write("binlog.000001", &f);
        let e = apply(&[path], &selection("src", &dbs), &options(&dbs))
            .await
            .expect_err(ty.name())
            .to_string();
        assert!(e.contains(what), "{}: {what:?} not in: {e}", ty.name());
        if *ty != EventType::MARIADB_START_ENCRYPTION {
            assert!(
                e.contains(&format!("binlog.000001:{at}")),
                "{}: the position {at} not in: {e}",
                ty.name()
            );
        }
        let mut tgt = dbs.target().await;
        let ids: Vec<i32> = tgt.query("SELECT id FROM t ORDER BY id").await.unwrap();
        assert_eq!(ids, [1], "{}", ty.name());
        drop(tgt);
        dbs.cleanup().await;
    }

    // Statement-based context before a statement the apply would run (a
    // DDL): refused too, at the context event, before the DDL runs.
    let dbs = TestDatabases::new("fates_context").await;
    let dir = Dir::new("fates-context");
    let mut f = BinlogFile::new(MySqlVersion::V8_0_40);
    f.ddl(Gtid::Anonymous, "src", &t.create_table_sql());
    let at = f.position();
    f.raw_event(EventType::USER_VAR.0, 0, &raw_body(EventType::USER_VAR));
    f.ddl(Gtid::Anonymous, "src", "CREATE TABLE u (a INT)");
    let path = dir.write("binlog.000001", &f);
    let e = apply(&[path], &selection("src", &dbs), &options(&dbs))
        .await
        .expect_err("USER_VAR before a DDL")
        .to_string();
    assert!(
        e.contains(&format!("binlog.000001:{at}"))
            && e.contains("USER_VAR")
            && e.contains("CREATE TABLE u"),
        "{e}"
    );
    let mut tgt = dbs.target().await;
    let n: i64 = query_one(
        &mut tgt,
        &format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{}' AND table_name = 'u'",
            dbs.name
        ),
    )
    .await;
    assert_eq!(n, 0, "the DDL did not run");
    drop(tgt);
    dbs.cleanup().await;
}

/// A MariaDB source with `log_bin_compress` (a throwaway server: the
/// setting is global): its compressed QUERY and rows events applied
/// exactly through the server's stream, and a compressed event over the
/// limit stopping the apply with the fix.
#[tokio::test]
async fn s12_mariadb_compressed_events_apply_exactly_and_one_over_the_limit_stops() {
    let inst = dts_test_support::Instance::start(&[
        "--log-bin=mysql-bin",
        "--binlog-format=ROW",
        "--binlog-row-image=FULL",
        "--log-bin-compress=ON",
        "--log-bin-compress-min-len=10",
    ]);
    let dbs = TestDatabases::new("mariadb_compressed").await;
    let mut src = inst.conn().await;
    exec(
        &mut src,
        "CREATE DATABASE src; CREATE TABLE src.t (id INT PRIMARY KEY, v VARCHAR(400))",
    )
    .await;
    let sel = selection("src", &dbs);
    let o = options(&dbs);
    bulk_copy::prepare_incremental(&inst.opts(), &opts(Server::Target, None), &sel, &o)
        .await
        .unwrap_or_else(|e| panic!("prepare: {e}"));
    let (file, pos) = dts_test_support::binlog_position(&mut src).await;
    let start = binlog_reader::position::FilePosition::new(file, pos);
    let mut tgt = dbs.target().await;
    exec(
        &mut tgt,
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(400))",
    )
    .await;
    exec(
        &mut src,
        "SET SESSION max_recursive_iterations = 100000;
         INSERT INTO src.t WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 500)
           SELECT i, REPEAT(CONCAT('v', i), 20) FROM s;
         UPDATE src.t SET v = CONCAT(v, '!') WHERE id % 3 = 0;
         DELETE FROM src.t WHERE id % 7 = 0;
         ALTER TABLE src.t ADD COLUMN w VARCHAR(50) DEFAULT 'a long enough default to compress'",
    )
    .await;
    exec(
        &mut src,
        "INSERT INTO src.t (id, v) VALUES (1000, 'after the DDL')",
    )
    .await;
    let (file, pos) = dts_test_support::binlog_position(&mut src).await;
    let end = binlog_reader::position::FilePosition::new(file, pos);
    // The compressed types are really in the binlog.
    let types: Vec<(String,)> = src
        .query("SHOW BINLOG EVENTS")
        .await
        .map(|rows: Vec<mysql_async::Row>| {
            rows.into_iter()
                .filter_map(|r| r.get::<String, _>(2))
                .map(|t| (t,))
                .collect()
        })
        .unwrap();
    for t in [
        "Query_compressed",
        "Write_rows_compressed_v1",
        "Update_rows_compressed_v1",
        "Delete_rows_compressed_v1",
    ] {
        assert!(types.iter().any(|(x,)| x == t), "no {t} in {types:?}");
    }
    let handoff = bulk_copy::HandOff {
        start: start.clone(),
        overlap_end: None,
    };
    let run = |o: ApplyOptions| {
        let (src_opts, handoff, sel, end) =
            (inst.opts(), handoff.clone(), sel.clone(), end.clone());
        async move {
            bulk_copy::apply_changes(
                &src_opts,
                &opts(Server::Target, None),
                &sel,
                Some(&handoff),
                &ApplyOptions {
                    until: Some(end),
                    ..o
                },
            )
            .await
        }
    };
    // A limit below the insert's rows event: it stops there, nothing of it
    // applied, naming the fix.
    let e = run(ApplyOptions {
        max_uncompressed_bytes: 1024,
        ..o.clone()
    })
    .await
    .unwrap_err()
    .to_string();
    for part in [
        "compressed rows event",
        "1024",
        "max_uncompressed_bytes",
        "log_bin_compress=OFF",
    ] {
        assert!(e.contains(part), "{part:?} not in: {e}");
    }
    let n: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM t").await;
    assert_eq!(n, 0);
    // With the default limit, everything, exactly.
    run(o.clone()).await.unwrap_or_else(|e| panic!("{e}"));
    let q = "SELECT id, v, w FROM t ORDER BY id";
    let want: Vec<(i32, String, Option<String>)> =
        src.query(q.replace("FROM t", "FROM src.t")).await.unwrap();
    let got: Vec<(i32, String, Option<String>)> = tgt.query(q).await.unwrap();
    assert_eq!(want.len(), 500 - 71 + 1);
    assert!(got == want, "{} rows against {}", got.len(), want.len());
    drop(tgt);
    let mut t = dts_test_support::connect(Server::Target, None).await;
    let shadow = bulk_copy::apply::shadow_database(&dbs.name, "src");
    exec(&mut t, &format!("DROP DATABASE IF EXISTS `{shadow}`")).await;
    dbs.cleanup().await;
}
