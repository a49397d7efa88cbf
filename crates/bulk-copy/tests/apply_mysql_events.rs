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
    BinlogFile, Collation, ColumnType, Gtid, Json, JsonDiff, MySqlVersion, PayloadOptions,
    RowImage, TableDef, Value,
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
