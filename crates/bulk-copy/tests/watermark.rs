//! The watermark snapshot (`SnapshotMode::Watermark`), live on the test
//! servers: windows that matter, made deterministic by writing inside a
//! chunk's window (between its locking read and its high watermark); the
//! copy under the bank and edge writers followed by the apply of its
//! overlap; a long statement that does not block its start (and does block
//! FLUSH TABLES WITH READ LOCK); L1 (DDL while a table is copied); S14 (a
//! transaction in the binlog but not yet committed when a chunk is read);
//! C1 for this mode (kill -9 and rerun); tables without a key.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use binlog_reader::position::FilePosition;
use bulk_copy::copy::ChunkHook;
use bulk_copy::{
    apply_changes, copy_tables, prepare_incremental, ApplyOptions, ApplySelection, CopyError,
    CopyOptions, CopyReport, HandOff, LoadMethod, SnapshotMode, TableMapping,
};
use dts_test_support::{
    bank, binlog_position, compare_tables, edge_writer, exec, forget_copy_task, opts, query_one,
    Server, TestDatabases, WriteLimit, EDGE_ROWS, EDGE_TABLE,
};
use mysql_async::prelude::*;

fn mappings(dbs: &TestDatabases, tables: &[&str]) -> Vec<TableMapping> {
    tables
        .iter()
        .map(|t| TableMapping::same(&dbs.name, t))
        .collect()
}

fn watermark_options(dbs: &TestDatabases) -> CopyOptions {
    CopyOptions {
        snapshot: SnapshotMode::Watermark,
        task: dbs.name.clone(),
        // A server id of this test process's own: tests copying at the same
        // time each stream the binlog.
        server_id: 0x7d00_0000 + (std::process::id() % 0x10000) * 16 + next_id(),
        ..CopyOptions::default()
    }
}

fn next_id() -> u32 {
    static N: AtomicU64 = AtomicU64::new(0);
    (N.fetch_add(1, Ordering::SeqCst) % 16) as u32
}

/// A hook running `writes` (on the source, in the test's database) inside
/// the window of the first chunk of each table named, once.
fn write_in_first_window(db: &str, writes: Vec<(&'static str, Vec<String>)>) -> ChunkHook {
    let db = db.to_string();
    let done = Arc::new(Mutex::new(Vec::<String>::new()));
    ChunkHook(Arc::new(move |table: String, chunk: u64| {
        let db = db.clone();
        let done = done.clone();
        let todo: Option<Vec<String>> = writes
            .iter()
            .find(|(t, _)| table == format!("`{db}`.`{t}`"))
            .map(|(_, w)| w.clone());
        Box::pin(async move {
            let Some(todo) = todo else { return };
            if chunk != 1 {
                return;
            }
            {
                let mut d = done.lock().unwrap();
                if d.contains(&table) {
                    return;
                }
                d.push(table.clone());
            }
            let mut c = dts_test_support::connect(Server::Source, Some(&db)).await;
            for w in todo {
                exec(&mut c, &w).await;
            }
        })
    }))
}

async fn copy(
    dbs: &TestDatabases,
    tables: &[&str],
    options: &CopyOptions,
) -> Result<CopyReport, CopyError> {
    copy_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &mappings(dbs, tables),
        options,
    )
    .await
}

async fn assert_same(dbs: &TestDatabases, tables: &[&str], what: &str) {
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    for t in tables {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(&format!("{what}: {t}"));
    }
}

/// Writes inside the first chunk's window of four tables (an integer key,
/// a `_ci` string key, a composite key with a `_ci` string, a BINARY(16)
/// key): keys inserted, updated, deleted, deleted and inserted again,
/// inserted and deleted, moved out of the chunk's range and into it,
/// respelled under their collation (`'a'` to `'A'`), and changes just
/// outside the range. Nothing is written after the windows, so the copy
/// alone must equal the source.
async fn windows_that_matter(bulk: bool) {
    let dbs = TestDatabases::new(&format!("wm_windows_{bulk}")).await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let ddl = [
        "CREATE TABLE ik (id INT PRIMARY KEY, v VARCHAR(20))",
        "CREATE TABLE ci (k VARCHAR(10) COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY, v INT)",
        "CREATE TABLE comp (a VARCHAR(5) COLLATE utf8mb4_general_ci NOT NULL, b INT NOT NULL, \
         v VARBINARY(10), PRIMARY KEY (a, b))",
        "CREATE TABLE bin (k BINARY(16) NOT NULL PRIMARY KEY, v INT)",
    ];
    for d in ddl {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    exec(
        &mut src,
        "INSERT INTO ik WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 50)
           SELECT i * 2, CONCAT('v', i * 2) FROM s;
         INSERT INTO ci VALUES ('a', 1), ('b', 2), ('d', 4), ('f', 6), ('h', 8), ('j', 10),
           ('l', 12), ('n', 14), ('p', 16), ('r', 18), ('t', 20), ('v', 22), ('x', 24), ('z', 26);
         INSERT INTO comp WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 10)
           SELECT 'x', i, X'00' FROM s UNION ALL SELECT 'y', i, X'FF' FROM s;
         INSERT INTO bin WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 32)
           SELECT UNHEX(LPAD(HEX(i), 2, '0')), i FROM s",
    )
    .await;
    let writes = vec![
        (
            "ik",
            [
                // The first chunk is ids 2..20.
                "INSERT INTO ik VALUES (3, 'new')",
                "UPDATE ik SET v = 'updated' WHERE id = 4",
                "DELETE FROM ik WHERE id = 6",
                "UPDATE ik SET id = 1001 WHERE id = 8",
                "UPDATE ik SET id = 9, v = 'moved in' WHERE id = 50",
                "INSERT INTO ik VALUES (11, 'gone again')",
                "DELETE FROM ik WHERE id = 11",
                "DELETE FROM ik WHERE id = 12",
                "INSERT INTO ik VALUES (12, 'again')",
                "UPDATE ik SET v = 'last' WHERE id = 20",
                // Outside the first chunk: the next chunks read them.
                "INSERT INTO ik VALUES (21, 'next chunk')",
                "UPDATE ik SET v = 'later' WHERE id = 60",
                // Several changes in one transaction.
                "BEGIN; UPDATE ik SET v = 'tx' WHERE id = 14; UPDATE ik SET id = 15 WHERE id = 14; \
                 INSERT INTO ik VALUES (14, 'tx again'); COMMIT",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "ci",
            [
                // The first chunk is 'a'..'r'.
                "UPDATE ci SET k = 'A' WHERE k = 'a'",
                "UPDATE ci SET k = 'B', v = -2 WHERE k = 'b'",
                "INSERT INTO ci VALUES ('C', 3)",
                "DELETE FROM ci WHERE k = 'd'",
                "INSERT INTO ci VALUES ('D', -4)",
                "UPDATE ci SET v = 60 WHERE k = 'F'",
                "UPDATE ci SET k = 'zz' WHERE k = 'h'",
                "UPDATE ci SET k = 'e' WHERE k = 'x'",
                "UPDATE ci SET k = 'r ', v = 180 WHERE k = 'r'",
                "INSERT INTO ci VALUES ('s', 19)",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "comp",
            [
                // The first chunk is ('x', 1..10).
                "UPDATE comp SET a = 'X' WHERE a = 'x' AND b = 1",
                "INSERT INTO comp VALUES ('x', 0, X'01')",
                "INSERT INTO comp VALUES ('x', 11, X'02')",
                "DELETE FROM comp WHERE a = 'x' AND b = 3",
                "UPDATE comp SET b = 100 WHERE a = 'x' AND b = 4",
                "UPDATE comp SET a = 'x', b = -1 WHERE a = 'y' AND b = 9",
                "UPDATE comp SET v = X'5C00' WHERE a = 'x' AND b = 10",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "bin",
            [
                // The first chunk is 01..0A (padded with zero bytes, which
                // the binlog leaves out).
                "INSERT INTO bin VALUES (X'0105', 105)",
                "UPDATE bin SET v = -2 WHERE k = X'02'",
                "DELETE FROM bin WHERE k = X'03'",
                "UPDATE bin SET k = X'FF' WHERE k = X'04'",
                "UPDATE bin SET k = X'0301' WHERE k = X'15'",
                "UPDATE bin SET k = X'0A00000000000000000000000000000B' WHERE k = X'0A'",
            ]
            .map(String::from)
            .to_vec(),
        ),
    ];
    let tables = ["ik", "ci", "comp", "bin"];
    for t in tables {
        exec(&mut src, &format!("ANALYZE TABLE {t}")).await;
    }
    let options = CopyOptions {
        readers: 2,
        chunk_rows: 10,
        chunk_bytes: 1,
        load_bytes: 64,
        bulk_max_bytes: if bulk { 1 << 30 } else { 0 },
        defer_indexes_min_bytes: None,
        after_chunk_read: Some(write_in_first_window(&dbs.name, writes)),
        ..watermark_options(&dbs)
    };
    let report = copy(&dbs, &tables, &options)
        .await
        .unwrap_or_else(|e| panic!("copy: {e}"));
    for t in &report.tables {
        assert_eq!(
            t.method,
            if bulk {
                LoadMethod::Bulk
            } else {
                LoadMethod::Chunked
            },
            "{}",
            t.table
        );
        assert!(t.chunks >= 2, "{t:?}");
    }
    assert_same(&dbs, &tables, "after the copy").await;
    // Every chunk's high watermark was recorded; they differ (writes came
    // between them).
    let start = report.start.clone().expect("a start position");
    let end = report.overlap_end.clone().expect("an overlap end");
    assert!(start < end, "{start} < {end}");
    let n: i64 = query_one(
        &mut tgt,
        &format!(
            "SELECT COUNT(*) FROM dts_meta.copy_snapshot WHERE task = '{}'",
            dbs.name
        ),
    )
    .await;
    let chunks: u64 = report.tables.iter().map(|t| t.chunks).sum();
    assert_eq!(n as u64, chunks, "one high watermark per chunk");
    forget_copy_task(&mut tgt, &options.task).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn windows_reconcile_inserts_updates_deletes_moves_and_respellings_chunk_by_chunk() {
    windows_that_matter(false).await;
}

#[tokio::test]
async fn windows_reconcile_the_same_way_when_the_table_is_loaded_in_one_transaction() {
    windows_that_matter(true).await;
}

fn apply_options(dbs: &TestDatabases) -> ApplyOptions {
    ApplyOptions {
        task: dbs.name.clone(),
        server_id: 0x7e00_0000 + (std::process::id() % 0x10000) * 16 + next_id(),
        ..ApplyOptions::default()
    }
}

async fn drop_shadow(dbs: &TestDatabases) {
    let mut t = dts_test_support::connect(Server::Target, None).await;
    let name = bulk_copy::apply::shadow_database(&dbs.name, &dbs.name);
    exec(&mut t, &format!("DROP DATABASE IF EXISTS `{name}`")).await;
    exec(
        &mut t,
        &format!(
            "DELETE FROM dts_meta.cdc_checkpoint WHERE task = '{0}';
             DELETE FROM dts_meta.cdc_prepared WHERE task = '{0}'",
            dbs.name
        ),
    )
    .await;
}

/// Applies the source's binlog from the copy's report up to the source's
/// position now.
async fn apply_overlap(dbs: &TestDatabases, report: &CopyReport) -> bulk_copy::ApplyReport {
    let mut src = dbs.source().await;
    let (file, pos) = binlog_position(&mut src).await;
    let o = ApplyOptions {
        until: Some(FilePosition::new(file, pos)),
        ..apply_options(dbs)
    };
    apply_changes(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &ApplySelection::databases(&[&dbs.name]),
        Some(&HandOff {
            start: report.start.clone().expect("a start position"),
            overlap_end: report.overlap_end.clone(),
        }),
        &o,
    )
    .await
    .unwrap_or_else(|e| panic!("apply: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_bank_and_edge_writers_the_copy_and_its_applied_overlap_end_exact() {
    let dbs = TestDatabases::new("wm_writers").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(
        &mut src,
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'",
    )
    .await;
    for d in bank::TABLES.iter().copied().chain([EDGE_TABLE]) {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    // The edge writer repeats its rows' values (see `edge_writer`).
    for c in [&mut src, &mut tgt] {
        exec(c, "ALTER TABLE edge DROP KEY gen_s").await;
    }
    let accounts = 20_000;
    bank::seed(&mut src, accounts).await;
    for r in EDGE_ROWS {
        exec(&mut src, r).await;
    }
    let selection = ApplySelection::databases(&[&dbs.name]);
    prepare_incremental(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &selection,
        &apply_options(&dbs),
    )
    .await
    .unwrap_or_else(|e| panic!("prepare: {e}"));
    let stop = Arc::new(AtomicBool::new(false));
    // Bounded whatever happens to the copy: about 4 MB and 20 MB of binlog.
    let limit = |max| WriteLimit {
        max,
        within: Duration::from_secs(60),
    };
    let bank_writer = bank::writer(dbs.name.clone(), accounts, stop.clone(), limit(10_000));
    let edges = edge_writer(dbs.name.clone(), stop.clone(), limit(100));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let options = CopyOptions {
        readers: 3,
        chunk_rows: 500,
        load_bytes: 16 * 1024,
        bulk_max_bytes: 0,
        ..watermark_options(&dbs)
    };
    let tables = ["acct", "log", "edge"];
    let report = copy(&dbs, &tables, &options)
        .await
        .unwrap_or_else(|e| panic!("copy: {e}"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let transfers = bank_writer.await.expect("bank writer");
    let rounds = edges.await.expect("edge writer");
    assert!(
        transfers > 20 && rounds > 5,
        "the writers ran during the copy ({transfers} transfers, {rounds} edge rounds)"
    );
    let chunks: u64 = report.tables.iter().map(|t| t.chunks).sum();
    assert!(chunks > 40, "{chunks} chunks");
    assert!(
        report.overlap_end.is_some(),
        "the chunks' watermarks differ"
    );
    let applied = apply_overlap(&dbs, &report).await;
    assert!(applied.rows > 0, "{applied:?}");
    assert_same(&dbs, &tables, "after the copy and the apply").await;
    let sum: i64 = query_one(&mut tgt, "SELECT SUM(balance) FROM acct").await;
    assert_eq!(
        sum,
        bank::total(accounts),
        "the bank invariant on the target"
    );
    forget_copy_task(&mut tgt, &options.task).await;
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

/// The binlog options of a throwaway source.
const BINLOG: [&str; 3] = [
    "--log-bin=mysql-bin",
    "--binlog-format=ROW",
    "--binlog-row-image=FULL",
];

/// Waits until the server runs a statement of connection `id` whose text
/// starts with `text` (in a state starting with `state`, when given).
async fn wait_for_statement(c: &mut mysql_async::Conn, id: u32, text: &str, state: Option<&str>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let found: Option<(Option<String>, Option<String>)> = c
            .exec_first(
                "SELECT state, info FROM information_schema.processlist WHERE id = ?",
                (id,),
            )
            .await
            .expect("reading the process list");
        if let Some((st, Some(info))) = &found {
            if info.starts_with(text)
                && state.is_none_or(|s| st.as_deref().is_some_and(|x| x.starts_with(s)))
            {
                return;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "connection {id} never ran {text:?} (state {state:?}): {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The connection running a statement that starts with `text`.
async fn connection_running(c: &mut mysql_async::Conn, text: &str, state: &str) -> u32 {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let id: Option<u64> = c
            .exec_first(
                "SELECT id FROM information_schema.processlist WHERE info LIKE CONCAT(?, '%') \
                 AND state LIKE CONCAT(?, '%')",
                (text, state),
            )
            .await
            .expect("reading the process list");
        if let Some(id) = id {
            return id as u32;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing ran {text:?} in state {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The case: a long statement inside an open transaction on the
/// source. The watermark copy starts and finishes while it runs; a copy
/// under FLUSH TABLES WITH READ LOCK cannot start until it ends. (MariaDB's
/// global read lock waits for running writes; MySQL's also for running
/// reads, behind which it then freezes every writer.) On a throwaway
/// source: a waiting global read lock stops every writer of the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_statement_does_not_block_the_watermark_copy_and_does_block_ftwrl() {
    let inst = dts_test_support::Instance::start(&BINLOG);
    let dbs = TestDatabases::new("wm_long").await;
    let mut src = inst.conn().await;
    exec(
        &mut src,
        "SET SESSION max_recursive_iterations = 1000000;
         CREATE DATABASE src; CREATE TABLE src.t (id INT PRIMARY KEY, v VARCHAR(20));
         CREATE TABLE src.other (id INT PRIMARY KEY, v INT); INSERT INTO src.other VALUES (1, 0);
         INSERT INTO src.t WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 3000)
           SELECT i, CONCAT('v', i) FROM s; ANALYZE TABLE src.t",
    )
    .await;
    let mut tgt = dbs.target().await;
    for t in ["t", "t2"] {
        exec(
            &mut tgt,
            &format!("CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(20))"),
        )
        .await;
    }
    // The long statement: 60 seconds, inside a transaction.
    let mut long = inst.conn().await;
    let long_id = long.id();
    exec(&mut long, "BEGIN").await;
    let sleeper = tokio::spawn(async move {
        long.query_drop("UPDATE src.other SET v = v + SLEEP(60) WHERE id = 1")
            .await
    });
    wait_for_statement(&mut src, long_id, "UPDATE src.other", None).await;

    let mapping = |to: &str| TableMapping {
        target_db: dbs.name.clone(),
        target_table: to.to_string(),
        ..TableMapping::same("src", "t")
    };
    let options = CopyOptions {
        chunk_rows: 500,
        bulk_max_bytes: 0,
        task: format!("{}_wm", dbs.name),
        ..watermark_options(&dbs)
    };
    let report = copy_tables(
        &inst.opts(),
        &opts(Server::Target, None),
        &[mapping("t")],
        &options,
    )
    .await
    .unwrap_or_else(|e| panic!("watermark copy: {e}"));
    // Every chunk (the first included) was committed while the statement
    // still runs.
    assert!(report.tables[0].chunks >= 6, "{report:?}");
    assert!(!sleeper.is_finished(), "the long statement ended first");
    wait_for_statement(&mut src, long_id, "UPDATE src.other", Some("User sleep")).await;
    compare_tables(&mut src, "src", "t", &mut tgt, Some(&dbs.name), Some("t"))
        .await
        .assert_equal("the watermark copy");

    // FLUSH TABLES WITH READ LOCK waits behind the statement: the copy has
    // not started.
    let ftwrl_options = CopyOptions {
        snapshot: SnapshotMode::FlushTablesWithReadLock,
        task: format!("{}_ftwrl", dbs.name),
        ..options.clone()
    };
    let ftwrl = {
        let (source, m, o) = (inst.opts(), mapping("t2"), ftwrl_options.clone());
        tokio::spawn(
            async move { copy_tables(&source, &opts(Server::Target, None), &[m], &o).await },
        )
    };
    let waiting = connection_running(&mut src, "FLUSH TABLES WITH READ LOCK", "Waiting").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!ftwrl.is_finished(), "the ftwrl copy did not wait");
    wait_for_statement(
        &mut src,
        waiting,
        "FLUSH TABLES WITH READ LOCK",
        Some("Waiting"),
    )
    .await;
    let started: i64 = query_one(
        &mut tgt,
        &format!(
            "SELECT COUNT(*) FROM dts_meta.copy_range WHERE task = '{}'",
            ftwrl_options.task
        ),
    )
    .await;
    assert_eq!(started, 0, "the ftwrl copy planned nothing while it waited");
    assert!(!sleeper.is_finished(), "the long statement still runs");
    // End the statement: the global read lock is granted, the copy runs.
    exec(&mut src, &format!("KILL QUERY {long_id}")).await;
    let killed = sleeper.await.expect("the long statement's task");
    assert!(killed.is_err(), "the long statement was killed");
    ftwrl
        .await
        .expect("the ftwrl copy's task")
        .unwrap_or_else(|e| panic!("ftwrl copy: {e}"));
    compare_tables(&mut src, "src", "t", &mut tgt, Some(&dbs.name), Some("t2"))
        .await
        .assert_equal("the ftwrl copy");
    forget_copy_task(&mut tgt, &options.task).await;
    forget_copy_task(&mut tgt, &ftwrl_options.task).await;
    dbs.cleanup().await;
}

/// L1: a DDL on a table while its chunks are copied stops its copy with an
/// error naming the table and the statement; the chunk whose window holds
/// the DDL is not written, so no chunk mixes two definitions.
#[tokio::test]
async fn l1_a_ddl_while_the_watermark_copy_reads_a_table_stops_it_naming_the_table() {
    let dbs = TestDatabases::new("wm_l1").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    for c in [&mut src, &mut tgt] {
        exec(c, "CREATE TABLE t (id INT PRIMARY KEY, v INT)").await;
    }
    exec(
        &mut src,
        "INSERT INTO t WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 100)
           SELECT i, i FROM s; ANALYZE TABLE t",
    )
    .await;
    let db = dbs.name.clone();
    let hook = ChunkHook(Arc::new(move |table: String, chunk: u64| {
        let db = db.clone();
        Box::pin(async move {
            if chunk == 2 && table.ends_with(".`t`") {
                let mut c = dts_test_support::connect(Server::Source, Some(&db)).await;
                exec(&mut c, "ALTER TABLE t ADD COLUMN extra INT DEFAULT 7").await;
            }
        })
    }));
    let options = CopyOptions {
        chunk_rows: 10,
        bulk_max_bytes: 0,
        readers: 1,
        after_chunk_read: Some(hook),
        ..watermark_options(&dbs)
    };
    let e = copy(&dbs, &["t"], &options).await.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("`{}`.`t`", dbs.name))
            && msg.contains("ALTER TABLE t ADD COLUMN extra")
            && msg.contains("definition changed"),
        "{msg}"
    );
    // Only the first chunk, read before the DDL, is on the target.
    let (rows, done): (i64, i64) = query_one(&mut tgt, "SELECT COUNT(*), MAX(id) FROM t").await;
    assert_eq!((rows, done), (10, 10));
    let committed: u64 = query_one(
        &mut tgt,
        &format!(
            "SELECT SUM(rows_copied) FROM dts_meta.copy_range WHERE task = '{}'",
            options.task
        ),
    )
    .await;
    assert_eq!(committed, 10);
    forget_copy_task(&mut tgt, &options.task).await;
    dbs.cleanup().await;
}

/// A table without a usable key, with duplicate rows, under a writer: read
/// whole under shared locks at REPEATABLE READ (its position recorded for
/// the apply, which skips the changes before it); larger than
/// `locked_read_max_bytes`, it is refused before anything is copied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_without_a_key_is_read_whole_under_locks_and_refused_when_large() {
    let dbs = TestDatabases::new("wm_nokey").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    for c in [&mut src, &mut tgt] {
        exec(c, "CREATE TABLE nokey (x INT, y VARCHAR(10), f FLOAT)").await;
        exec(c, "CREATE TABLE k (id INT PRIMARY KEY, v INT)").await;
    }
    exec(
        &mut src,
        "SET SESSION max_recursive_iterations = 1000000;
         INSERT INTO nokey WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 2000)
           SELECT i % 7, IF(i % 5 = 0, NULL, 'dup'), 0.1 FROM s;
         INSERT INTO k VALUES (1, 1)",
    )
    .await;
    // Too large for a locked read: refused, nothing copied.
    let refused = CopyOptions {
        locked_read_max_bytes: 1,
        ..watermark_options(&dbs)
    };
    let e = copy(&dbs, &["k", "nokey"], &refused).await.unwrap_err();
    assert!(
        e.to_string().contains("no usable key") && e.to_string().contains("consistent"),
        "{e}"
    );
    let n: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM k").await;
    assert_eq!(n, 0, "nothing copied");

    let selection = ApplySelection::databases(&[&dbs.name]);
    prepare_incremental(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &selection,
        &apply_options(&dbs),
    )
    .await
    .unwrap_or_else(|e| panic!("prepare: {e}"));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop) = (dbs.name.clone(), stop.clone());
        tokio::spawn(async move {
            let mut c = dts_test_support::connect(Server::Source, Some(&db)).await;
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) && i < 400 {
                i += 1;
                // The copy's locking read can make it a deadlock victim.
                dts_test_support::exec_retrying(
                    &mut c,
                    &format!(
                        "BEGIN; INSERT INTO nokey VALUES ({}, 'dup', 0.1); \
                         DELETE FROM nokey WHERE x = {} LIMIT 1; \
                         UPDATE nokey SET f = -0.0 WHERE x = {} LIMIT 1; COMMIT",
                        i % 7,
                        (i + 3) % 7,
                        (i + 5) % 7
                    ),
                )
                .await;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            i
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let options = watermark_options(&dbs);
    let report = copy(&dbs, &["k", "nokey"], &options)
        .await
        .unwrap_or_else(|e| panic!("copy: {e}"));
    assert_eq!(report.tables[1].method, LoadMethod::Whole);
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.store(true, Ordering::SeqCst);
    let written = writer.await.expect("writer");
    assert!(written > 10, "the writer ran ({written})");
    apply_overlap(&dbs, &report).await;
    assert_same(&dbs, &["k", "nokey"], "after the copy and the apply").await;
    forget_copy_task(&mut tgt, &options.task).await;
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

/// S14: a transaction that is in the binlog but not yet committed in InnoDB
/// when a chunk is read appears in the copy exactly once. Semi-synchronous
/// replication waiting after the binlog sync (AFTER_SYNC) for an
/// acknowledgement no replica sends holds such a transaction for seconds:
/// a plain read does not see it, its binlog events lie before the chunk's
/// low watermark (in no window), and the chunk's locking read waits for its
/// row locks and reads its result. On a throwaway source (semi-sync is a
/// global setting).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s14_a_transaction_in_the_binlog_but_not_yet_committed_is_copied_exactly_once() {
    let inst = dts_test_support::Instance::start(&BINLOG);
    let dbs = TestDatabases::new("wm_s14").await;
    let mut src = inst.conn().await;
    exec(
        &mut src,
        "CREATE DATABASE src; CREATE TABLE src.t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO src.t VALUES (1, 'a'), (2, 'b'), (4, 'd'), (5, 'e'), (6, 'f')",
    )
    .await;
    let mut tgt = dbs.target().await;
    exec(
        &mut tgt,
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
    )
    .await;
    exec(
        &mut src,
        "SET GLOBAL rpl_semi_sync_master_wait_point = AFTER_SYNC,
             rpl_semi_sync_master_timeout = 4000, rpl_semi_sync_master_wait_no_slave = ON,
             rpl_semi_sync_master_enabled = ON",
    )
    .await;
    let (file, before) = binlog_position(&mut src).await;
    let mut late = inst.conn().await;
    let late_id = late.id();
    let committing = tokio::spawn(async move {
        late.query_drop(
            "BEGIN; INSERT INTO src.t VALUES (3, 'late'); UPDATE src.t SET v = 'late too' \
             WHERE id = 5; DELETE FROM src.t WHERE id = 6; COMMIT",
        )
        .await
    });
    // The transaction is in the binlog, and waits for its acknowledgement.
    wait_for_statement(&mut src, late_id, "COMMIT", Some("Waiting for semi-sync")).await;
    let (file_now, after) = binlog_position(&mut src).await;
    assert!(
        file_now == file && after > before,
        "the transaction is in the binlog ({file}:{before} to {file_now}:{after})"
    );
    let mut plain = inst.conn().await;
    exec(
        &mut plain,
        "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    )
    .await;
    let seen: Vec<(i32, String)> = plain
        .query("SELECT id, v FROM src.t ORDER BY id")
        .await
        .expect("a plain read");
    assert!(
        !seen.iter().any(|(id, _)| *id == 3),
        "a plain read does not see it yet: {seen:?}"
    );
    assert!(!committing.is_finished());

    let options = CopyOptions {
        task: dbs.name.clone(),
        ..watermark_options(&dbs)
    };
    let mapping = TableMapping {
        target_db: dbs.name.clone(),
        ..TableMapping::same("src", "t")
    };
    let report = copy_tables(
        &inst.opts(),
        &opts(Server::Target, None),
        &[mapping],
        &options,
    )
    .await
    .unwrap_or_else(|e| panic!("copy: {e}"));
    committing
        .await
        .expect("the committing task")
        .expect("the transaction commits once semi-sync gives up waiting");
    // Its events are before every chunk's window: only the locking read can
    // have brought its rows.
    let start = report.start.clone().expect("a start position");
    assert!(
        start >= FilePosition::new(file_now.clone(), after),
        "the copy starts after the transaction ({start})"
    );
    compare_tables(&mut src, "src", "t", &mut tgt, Some(&dbs.name), Some("t"))
        .await
        .assert_equal("after the copy");
    let rows: Vec<(i32, String)> = tgt
        .query("SELECT id, v FROM t ORDER BY id")
        .await
        .expect("reading the target");
    assert_eq!(
        rows,
        [(1, "a"), (2, "b"), (3, "late"), (4, "d"), (5, "late too")]
            .map(|(i, v)| (i, v.to_string()))
            .to_vec()
    );
    forget_copy_task(&mut tgt, &options.task).await;
    dbs.cleanup().await;
}

/// Set in the child process of the C1 test: the database it copies.
const C1_CHILD: &str = "DTS_WATERMARK_C1_CHILD";

fn c1_options(db: &str) -> CopyOptions {
    let o = CopyOptions {
        snapshot: SnapshotMode::Watermark,
        task: db.to_string(),
        readers: 2,
        chunk_rows: 200,
        load_bytes: 8 * 1024,
        bulk_max_bytes: 0,
        server_id: 0x7f00_0000 + std::process::id() % 0x100_0000,
        ..CopyOptions::default()
    };
    o.throttle.set_limits(bulk_copy::ThrottleLimits {
        queries_per_sec: None,
        rows_per_sec: Some(8000.0),
        bytes_per_sec: None,
    });
    o
}

/// The rows the copy committed so far, per the checkpoint.
async fn committed(tgt: &mut mysql_async::Conn, task: &str) -> (u64, u64) {
    tgt.exec_first(
        "SELECT CAST(COALESCE(SUM(rows_copied), 0) AS UNSIGNED), \
         CAST(COALESCE(SUM(finished), 0) AS UNSIGNED) FROM dts_meta.copy_range WHERE task = ?",
        (task,),
    )
    .await
    .expect("reading the checkpoint")
    .unwrap_or((0, 0))
}

/// C1 for the watermark copy: killed with SIGKILL mid-table three times
/// (each once some chunk of this run was committed), under the bank
/// writer, then run again: it resumes after each range's high-water key
/// with new windows, and with the apply of its overlap the target equals
/// the source, the bank invariant holding. A copy that wrote a committed
/// row again would stop on the key conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c1_the_watermark_copy_killed_mid_table_then_run_again_is_exact() {
    let tables = ["acct", "log"];
    if let Ok(db) = std::env::var(C1_CHILD) {
        // The child: copy until killed.
        let m: Vec<TableMapping> = tables.iter().map(|t| TableMapping::same(&db, t)).collect();
        copy_tables(
            &opts(Server::Source, None),
            &opts(Server::Target, None),
            &m,
            &c1_options(&db),
        )
        .await
        .unwrap_or_else(|e| panic!("copy: {e}"));
        return;
    }
    let dbs = TestDatabases::new("wm_c1").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    for d in bank::TABLES {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    let accounts = 20_000;
    bank::seed(&mut src, accounts).await;
    exec(&mut src, "ANALYZE TABLE acct").await;
    let selection = ApplySelection::databases(&[&dbs.name]);
    prepare_incremental(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &selection,
        &apply_options(&dbs),
    )
    .await
    .unwrap_or_else(|e| panic!("prepare: {e}"));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = bank::writer(
        dbs.name.clone(),
        accounts,
        stop.clone(),
        WriteLimit {
            max: 20_000,
            within: Duration::from_secs(120),
        },
    );
    let task = dbs.name.clone();
    let mut mid_table = 0;
    for kill in 1..=3 {
        let (before, _) = committed(&mut tgt, &task).await;
        let mut child =
            std::process::Command::new(std::env::current_exe().expect("the test binary"))
                .args([
                    "c1_the_watermark_copy_killed_mid_table_then_run_again_is_exact",
                    "--exact",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env(C1_CHILD, &dbs.name)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("starting the child copy");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (rows, _) = committed(&mut tgt, &task).await;
            if rows > before {
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
        let (rows, finished) = committed(&mut tgt, &task).await;
        println!("kill {kill}: {rows} rows committed, {finished} ranges finished");
        if finished < 2 {
            mid_table += 1;
        }
    }
    assert!(mid_table > 0, "no kill landed mid-copy");
    let options = c1_options(&dbs.name);
    options
        .throttle
        .set_limits(bulk_copy::ThrottleLimits::default());
    let report = copy(&dbs, &tables, &options)
        .await
        .unwrap_or_else(|e| panic!("the last run: {e}"));
    assert!(report.tables.iter().any(|t| t.resumed), "{report:?}");
    stop.store(true, Ordering::SeqCst);
    let transfers = writer.await.expect("bank writer");
    assert!(transfers > 20, "the writer ran ({transfers})");
    apply_overlap(&dbs, &report).await;
    assert_same(&dbs, &tables, "after the kills, the last run and the apply").await;
    let sum: i64 = query_one(&mut tgt, "SELECT SUM(balance) FROM acct").await;
    assert_eq!(
        sum,
        bank::total(accounts),
        "the bank invariant on the target"
    );
    forget_copy_task(&mut tgt, &options.task).await;
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

/// D1-D16 through a window: the edge values inserted, changed, moved and
/// deleted inside the first chunk's window of `edge` reach the target from
/// the binlog (converted for the loader), and the copy alone equals the
/// source byte for byte.
#[tokio::test]
async fn d1_d16_values_changed_inside_a_window_are_copied_byte_exact() {
    let dbs = TestDatabases::new("wm_d").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(
        &mut src,
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'",
    )
    .await;
    for c in [&mut src, &mut tgt] {
        exec(c, EDGE_TABLE).await;
        // The window's rows repeat the values of the rows read.
        exec(c, "ALTER TABLE edge DROP KEY gen_s").await;
    }
    // The template rows under new ids.
    let rows_at = |ids: [u32; 4]| -> Vec<String> {
        EDGE_ROWS
            .iter()
            .zip(ids)
            .enumerate()
            .map(|(n, (row, id))| {
                row.replace(&format!("SET id={},", n + 1), &format!("SET id={id},"))
                    .replace(
                        &format!("(id) VALUES ({})", n + 1),
                        &format!("(id) VALUES ({id})"),
                    )
            })
            .collect()
    };
    for ids in [[10, 20, 30, 40], [110, 120, 130, 140], [210, 220, 230, 240]] {
        for r in rows_at(ids) {
            exec(&mut src, &r).await;
        }
    }
    exec(&mut src, "ANALYZE TABLE edge").await;
    let session = "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'";
    let mut writes = vec![session.to_string()];
    // The first chunk is ids 10..40: every value arrives by the binlog.
    writes.extend(rows_at([1, 2, 3, 4]));
    writes.extend(
        [
            "UPDATE edge SET ti = -1, d = -d, f = -f, dec1 = -dec1, ts2 = ts2 - INTERVAL 1 SECOND, \
             tm2 = '-00:00:00.02', b10 = b'11', e = 'a', s = 'x,z', vc = 'é', bin = X'01', \
             j = '{\"k\": [true, null]}' WHERE id = 10",
            "UPDATE edge SET id = 15 WHERE id = 20",
            "DELETE FROM edge WHERE id = 30",
            "UPDATE edge SET id = 25 WHERE id = 110",
            "UPDATE edge SET id = 250 WHERE id = 40",
        ]
        .map(String::from),
    );
    let options = CopyOptions {
        chunk_rows: 4,
        bulk_max_bytes: 0,
        readers: 1,
        after_chunk_read: Some(write_in_first_window(&dbs.name, vec![("edge", writes)])),
        ..watermark_options(&dbs)
    };
    let report = copy(&dbs, &["edge"], &options)
        .await
        .unwrap_or_else(|e| panic!("copy: {e}"));
    assert!(report.tables[0].chunks >= 3, "{report:?}");
    assert_same(&dbs, &["edge"], "D1-D16 through a window").await;
    // The invisible column is not in SELECT *.
    let mut s = dbs.source().await;
    let mut t = dbs.target().await;
    dts_test_support::compare_queries(
        &mut s,
        "SELECT id, inv FROM edge",
        &mut t,
        "SELECT id, inv FROM edge",
    )
    .await
    .assert_equal("the invisible column");
    forget_copy_task(&mut tgt, &options.task).await;
    dbs.cleanup().await;
}

/// A task's filter applies to the rows a window sets as it does to the
/// rows read: a row changed into the filter inside the window is copied,
/// one changed out of it is not, and the copy equals the filtered source.
#[tokio::test]
async fn a_filter_applies_to_the_rows_a_window_sets() {
    let dbs = TestDatabases::new("wm_filter").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    for c in [&mut src, &mut tgt] {
        exec(c, "CREATE TABLE f (id INT PRIMARY KEY, v INT NOT NULL)").await;
    }
    exec(
        &mut src,
        "INSERT INTO f WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 60)
           SELECT i * 10, i FROM s",
    )
    .await;
    let writes = [
        // The first chunk holds the first ten even rows: ids 20..200.
        "UPDATE f SET v = 3 WHERE id = 40",
        "UPDATE f SET v = 8 WHERE id = 50",
        "INSERT INTO f VALUES (45, 4), (55, 5)",
        "UPDATE f SET id = 65, v = 6 WHERE id = 80",
        "UPDATE f SET id = 75 WHERE id = 90",
    ]
    .map(String::from)
    .to_vec();
    let mapping = TableMapping {
        filter: Some("v % 2 = 0".into()),
        ..TableMapping::same(&dbs.name, "f")
    };
    let options = CopyOptions {
        chunk_rows: 10,
        bulk_max_bytes: 0,
        readers: 1,
        after_chunk_read: Some(write_in_first_window(&dbs.name, vec![("f", writes)])),
        ..watermark_options(&dbs)
    };
    let report = copy_tables(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &[mapping],
        &options,
    )
    .await
    .unwrap_or_else(|e| panic!("copy: {e}"));
    assert!(report.tables[0].chunks >= 3, "{report:?}");
    dts_test_support::compare_queries(
        &mut src,
        "SELECT * FROM f WHERE v % 2 = 0",
        &mut tgt,
        "SELECT * FROM f",
    )
    .await
    .assert_equal("the filtered table");
    forget_copy_task(&mut tgt, &options.task).await;
    dbs.cleanup().await;
}
