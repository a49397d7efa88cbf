//! Catalogue S1, binlogs purged past the checkpoint while the task was
//! stopped, on a throwaway source (purging the shared source's binlogs would
//! break other tests): without an archive the apply refuses, naming the
//! first missing file and the fix, and writes nothing; with the purged files
//! in an archive (`ApplySource::Archive`) it reads them, then switches to
//! the server's stream at the first file the server still has, and the
//! target ends equal to the source.

use std::path::PathBuf;

use bulk_copy::{
    apply_changes, apply_changes_from, prepare_incremental, ApplyOptions, ApplySelection,
    ApplySource, CopyError, HandOff,
};
use dts_test_support::{
    binlog_position, compare_tables, exec, opts, query_one, Instance, Server, TestDatabases,
};

use binlog_reader::position::FilePosition;

/// A directory removed when dropped.
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

/// Ten transactions of writes numbered from `from`: inserts, then updates
/// and deletes of earlier rows.
async fn writes(src: &mut mysql_async::Conn, from: i32) {
    for i in from..from + 10 {
        exec(
            src,
            &format!(
                "BEGIN; INSERT INTO src.t VALUES ({i}, 'v{i}', {i}), ({}, 'w{i}', NULL); \
                 UPDATE src.t SET n = COALESCE(n, 0) + 1, v = CONCAT(v, '+') WHERE id = {}; \
                 DELETE FROM src.t WHERE id = {}; COMMIT",
                i + 1000,
                i - 5,
                i + 995
            ),
        )
        .await;
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

#[tokio::test]
async fn s1_purged_binlogs_are_refused_without_an_archive_and_bridged_exactly_with_one() {
    let inst = Instance::start(&[
        "--log-bin=mysql-bin",
        "--binlog-format=ROW",
        "--binlog-row-image=FULL",
        "--server-id=31",
    ]);
    let dbs = TestDatabases::new("s1_archive").await;
    let mut src = inst.conn().await;
    let table = "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(200), n INT)";
    exec(&mut src, &format!("CREATE DATABASE src; USE src; {table}")).await;
    let mut tgt = dbs.target().await;
    exec(&mut tgt, table).await;
    let sel = ApplySelection {
        databases: vec![("src".into(), dbs.name.clone())],
        ..ApplySelection::default()
    };
    let o = ApplyOptions {
        task: dbs.name.clone(),
        stop_at_end: true,
        ..ApplyOptions::default()
    };
    let source = inst.opts();
    let target = opts(Server::Target, None);
    prepare_incremental(&source, &target, &sel, &o)
        .await
        .unwrap();
    let (file, pos) = binlog_position(&mut src).await;
    let handoff = HandOff {
        start: FilePosition::new(file, pos),
        overlap_end: None,
    };

    // The task runs, then stops in the first file.
    writes(&mut src, 10).await;
    let r = apply_changes(&source, &target, &sel, Some(&handoff), &o)
        .await
        .unwrap_or_else(|e| panic!("first run: {e}"));
    assert_eq!(r.transactions, 10);
    let stopped_at = checkpoint(&dbs).await;
    assert_eq!(stopped_at.0, "mysql-bin.000001");
    let rows_then: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM t").await;

    // While it is stopped: more writes over three files, the first two
    // archived, then purged from the source.
    writes(&mut src, 20).await;
    exec(&mut src, "FLUSH BINARY LOGS").await;
    writes(&mut src, 30).await;
    exec(&mut src, "FLUSH BINARY LOGS").await;
    writes(&mut src, 40).await;
    let archive = Dir::new("s1-archive");
    let partial = Dir::new("s1-partial");
    for f in ["mysql-bin.000001", "mysql-bin.000002"] {
        std::fs::copy(inst.dir.join("data").join(f), archive.0.join(f)).unwrap();
    }
    std::fs::copy(
        inst.dir.join("data/mysql-bin.000001"),
        partial.0.join("mysql-bin.000001"),
    )
    .unwrap();
    exec(&mut src, "PURGE BINARY LOGS TO 'mysql-bin.000003'").await;

    // Without an archive: refused, naming the first missing file and the
    // fix; nothing written.
    let e = apply_changes(&source, &target, &sel, Some(&handoff), &o)
        .await
        .unwrap_err();
    assert!(matches!(e, CopyError::BinlogPurged { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("mysql-bin.000001") && msg.contains("binlog_archive"),
        "{msg}"
    );
    // An archive without the second file: refused, naming it.
    let from_partial = ApplySource::Archive {
        server: source.clone(),
        dir: partial.0.clone(),
    };
    let e = apply_changes_from(&from_partial, &target, &sel, Some(&handoff), &o)
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, CopyError::BinlogPurged { .. }) && msg.contains("mysql-bin.000002"),
        "{msg}"
    );
    assert_eq!(checkpoint(&dbs).await, stopped_at);
    let rows_now: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM t").await;
    assert_eq!(rows_now, rows_then);

    // With the archive: the two archived files, then the source's stream
    // from mysql-bin.000003, exactly once.
    let from_archive = ApplySource::Archive {
        server: source.clone(),
        dir: archive.0.clone(),
    };
    let r = apply_changes_from(&from_archive, &target, &sel, Some(&handoff), &o)
        .await
        .unwrap_or_else(|e| panic!("bridged run: {e}"));
    assert_eq!(r.transactions, 40);
    assert_eq!(checkpoint(&dbs).await.0, "mysql-bin.000003");
    compare_tables(&mut src, "src", "t", &mut tgt, Some(&dbs.name), None)
        .await
        .assert_equal("after the bridge");

    // Later runs read the server alone (its files continue the checkpoint).
    writes(&mut src, 50).await;
    let r = apply_changes_from(&from_archive, &target, &sel, Some(&handoff), &o)
        .await
        .unwrap_or_else(|e| panic!("last run: {e}"));
    assert_eq!(r.transactions, 50);
    compare_tables(&mut src, "src", "t", &mut tgt, Some(&dbs.name), None)
        .await
        .assert_equal("at the end");
    dbs.cleanup().await;
}
