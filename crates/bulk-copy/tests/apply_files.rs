//! Binlog files as the apply's source (`ApplySource::Files`), applied to the
//! real target: files written with MySQL 8's layouts by test-support's
//! `mysql_binlog` writer (mysql_common's serializers), read in binlog order
//! through the same apply and exactly-once checkpoint as the server's
//! stream. A rerun resumes after the last committed transaction; files that
//! do not continue the checkpoint or each other are refused before anything
//! is written.

use std::path::PathBuf;

use bulk_copy::{
    apply_changes_from, ApplyOptions, ApplySelection, ApplySource, CopyError, TableMapping,
};
use dts_test_support::mysql_binlog::{
    BinlogSet, Collation, ColumnType, Gtid, MySqlVersion, TableDef, Value,
};
use dts_test_support::{exec, opts, query_one, Server, TestDatabases};
use mysql_async::prelude::*;

use binlog_reader::position::FilePosition;

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
) -> Result<bulk_copy::ApplyReport, CopyError> {
    apply_changes_from(
        &ApplySource::Files(files.to_vec()),
        &opts(Server::Target, None),
        sel,
        None,
        o,
    )
    .await
}

fn table(db: &str) -> TableDef {
    TableDef::new(db, "t", 70)
        .col("id", ColumnType::Int { unsigned: false })
        .col("v", ColumnType::varchar(20, Collation::UTF8MB4_BIN))
        .primary_key(&["id"])
}

fn row(id: i64, v: &str) -> Vec<Value> {
    vec![Value::Int(id), Value::bytes(v)]
}

/// Three files of one MySQL 8.0 server: the table's DDL and inserts, then
/// updates and deletes, with a rotation between each; returns the set and
/// the position after the first transaction of the second file.
fn three_files(db: &str, first_index: u64) -> (BinlogSet, FilePosition) {
    let t = table(db);
    let mut set = BinlogSet::new(MySqlVersion::V8_0_40, "binlog", first_index);
    let f = set.current();
    f.ddl(Gtid::Anonymous, db, &t.create_table_sql());
    for i in 0..3 {
        let mut tx = f.transaction(Gtid::Anonymous);
        tx.insert(&t, (1..=4).map(|k| row(i * 10 + k, &format!("r{i}-{k}"))));
        tx.commit();
    }
    let name = set.rotate();
    let mut tx = name.transaction(Gtid::Anonymous);
    tx.update(&t, vec![(row(1, "r0-1"), row(1, "updated"))]);
    let c = tx.commit();
    let mut tx = name.transaction(Gtid::Anonymous);
    tx.delete(&t, vec![row(2, "r0-2"), row(12, "r1-2")]);
    tx.commit();
    let mid = FilePosition::new(set.current_name(), c.end);
    let f = set.rotate();
    let mut tx = f.transaction(Gtid::Anonymous);
    // A key change: row 3 becomes row 100.
    tx.update(&t, vec![(row(3, "r0-3"), row(100, "moved"))]);
    tx.insert(&t, vec![row(101, "last")]);
    tx.commit();
    (set, mid)
}

/// What the three files leave in the table.
fn expected_rows() -> Vec<(i32, String)> {
    let mut v: Vec<(i32, String)> = Vec::new();
    for i in 0..3 {
        for k in 1..=4 {
            v.push((i * 10 + k, format!("r{i}-{k}")));
        }
    }
    v.retain(|(id, _)| ![2, 12, 3].contains(id));
    v.iter_mut()
        .filter(|(id, _)| *id == 1)
        .for_each(|r| r.1 = "updated".into());
    v.push((100, "moved".into()));
    v.push((101, "last".into()));
    v.sort();
    v
}

async fn target_rows(dbs: &TestDatabases) -> Vec<(i32, String)> {
    let mut t = dbs.target().await;
    t.query("SELECT id, v FROM t ORDER BY id").await.unwrap()
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

#[tokio::test]
async fn binlog_files_apply_in_order_with_their_ddl_and_a_rerun_resumes_exactly_once() {
    let dbs = TestDatabases::new("files_resume").await;
    let dir = Dir::new("files-resume");
    let (set, mid) = three_files(&dbs.name, 1);
    let paths = set.write_to(&dir.0).unwrap();
    let sel = ApplySelection::databases(&[&dbs.name]);
    let o = options(&dbs);

    // The first run stops inside the second file, with a queue of a few
    // bytes: the file reader and the applier take turns (the byte budget
    // holds for files too).
    let first = apply(
        &paths,
        &sel,
        &ApplyOptions {
            until: Some(mid.clone()),
            queue_bytes: 64,
            ..o.clone()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("first run: {e}"));
    assert_eq!(first.position.as_ref(), Some(&mid));
    assert_eq!(checkpoint(&dbs).await, (mid.file.clone(), mid.offset));
    // DDL and three transactions of the first file, one of the second.
    assert_eq!((first.transactions, first.ddl_applied), (5, 1));

    // Files that do not continue the checkpoint are refused, and nothing
    // is written: the third file alone skips the rest of the second.
    let e = apply(&paths[2..], &sel, &o).await.unwrap_err().to_string();
    assert!(
        e.contains(&format!("{mid}")) && e.contains("binlog.000003"),
        "{e}"
    );
    // A gap between files given.
    let gap = [paths[0].clone(), paths[2].clone()];
    let other = TestDatabases::new("files_gap").await;
    let e = apply(
        &gap,
        &ApplySelection::databases(&[&other.name]),
        &options(&other),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("binlog.000002") && e.contains("binlog.000003"),
        "{e}"
    );
    assert_eq!(checkpoint(&dbs).await, (mid.file.clone(), mid.offset));

    // The rerun with every file (given in any order) resumes: with the
    // default conflict policy (error), an insert applied twice would stop it.
    let mut shuffled = paths.clone();
    shuffled.reverse();
    let second = apply(&shuffled, &sel, &o)
        .await
        .unwrap_or_else(|e| panic!("rerun: {e}"));
    assert_eq!(second.transactions, 7);
    assert_eq!(target_rows(&dbs).await, expected_rows());
    // The last file ends with no ROTATE: the checkpoint is after its last
    // transaction.
    let end = set.files().last().map(|(_, f)| f.position()).unwrap();
    assert_eq!(checkpoint(&dbs).await, ("binlog.000003".to_string(), end));

    // A third run has nothing to do.
    let third = apply(&paths, &sel, &o).await.unwrap();
    assert_eq!(third.transactions, 7);
    assert_eq!(target_rows(&dbs).await, expected_rows());
    other.cleanup().await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn s3_files_rolling_over_from_999999_to_1000000_apply_in_numeric_order() {
    let dbs = TestDatabases::new("files_rollover").await;
    let dir = Dir::new("files-rollover");
    let (set, _) = three_files(&dbs.name, 999_998);
    let paths = set.write_to(&dir.0).unwrap();
    let names: Vec<String> = set.files().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["binlog.999998", "binlog.999999", "binlog.1000000"],
        "the writer's names"
    );
    let sel = ApplySelection::databases(&[&dbs.name]);
    let o = options(&dbs);
    // The first file alone: its ROTATE moves the checkpoint to the start
    // of the next file, so the next run needs only the files after it.
    let r = apply(&paths[..1], &sel, &o).await.unwrap();
    assert_eq!(r.transactions, 4);
    assert_eq!(checkpoint(&dbs).await, ("binlog.999999".to_string(), 4));
    // A lexical order would put .1000000 first.
    let mut lexical = paths[1..].to_vec();
    lexical.sort();
    assert!(lexical[0].ends_with("binlog.1000000"));
    let r = apply(&lexical, &sel, &o).await.unwrap();
    assert_eq!(r.transactions, 7);
    assert_eq!(target_rows(&dbs).await, expected_rows());
    dbs.cleanup().await;
}

#[tokio::test]
async fn binlog_files_are_applied_into_a_renamed_database_with_the_target_schema() {
    // No DDL in the files: the table exists on the target (as after a
    // restore), in a database named differently from the source's.
    let dbs = TestDatabases::new("files_renamed").await;
    let dir = Dir::new("files-renamed");
    let t = table("src_db");
    let mut set = BinlogSet::new(MySqlVersion::V8_4_3, "mysql-bin", 7);
    let mut tx = set.current().transaction(Gtid::Anonymous);
    tx.insert(&t, vec![row(1, "a"), row(2, "b")]);
    tx.commit();
    let paths = set.write_to(&dir.0).unwrap();
    let mut tgt = dbs.target().await;
    exec(
        &mut tgt,
        "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v VARCHAR(20) COLLATE utf8mb4_bin)",
    )
    .await;
    let sel = ApplySelection {
        databases: vec![("src_db".into(), dbs.name.clone())],
        ..ApplySelection::default()
    };
    let r = apply(&paths, &sel, &options(&dbs)).await.unwrap();
    assert_eq!((r.transactions, r.rows), (1, 2));
    assert_eq!(
        target_rows(&dbs).await,
        vec![(1, "a".to_string()), (2, "b".to_string())]
    );
    // A renamed table cannot take its source schema from the target.
    let sel = ApplySelection {
        tables: vec![TableMapping::renamed("src_db", "t", &dbs.name, "t2")],
        ..ApplySelection::default()
    };
    let o = ApplyOptions {
        task: format!("{}_renamed", dbs.name),
        ..ApplyOptions::default()
    };
    let e = apply(&paths, &sel, &o).await.unwrap_err().to_string();
    assert!(e.contains("renamed") && e.contains("--prepare-only"), "{e}");
    dbs.cleanup().await;
}
