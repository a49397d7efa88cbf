//! Incremental migration against the real servers: the source's binlog
//! applied to the target, byte-exact (D1-D16 through insert, update with key
//! changes and swaps, and delete), a bank workload whose invariant holds at
//! every checkpoint, DDL interleaved with DML (L2), a gh-ost style swap (L3),
//! conflicts (S7) and statement-format drift (S12).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bulk_copy::{
    apply_changes, ApplyOptions, ApplyProgress, ApplySelection, ConflictPolicy, CopyError, HandOff,
    OnlineDdlMode, StopSignal, TableMapping,
};
use dts_test_support::{
    binlog_position, compare_tables, exec, opts, query_one, Server, TestDatabases, EDGE_ROWS,
    EDGE_TABLE,
};
use mysql_async::prelude::*;

use binlog_reader::position::FilePosition;

async fn position(c: &mut mysql_async::Conn) -> FilePosition {
    let (f, p) = binlog_position(c).await;
    FilePosition::new(f, p)
}

/// The hand-off point: the schema is recorded and the position read, as
/// the full copy's snapshot would.
async fn hand_off(dbs: &TestDatabases, selection: &ApplySelection) -> FilePosition {
    bulk_copy::prepare_incremental(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        selection,
        &options(dbs),
    )
    .await
    .unwrap_or_else(|e| panic!("prepare: {e}"));
    let mut src = dbs.source().await;
    position(&mut src).await
}

fn options(dbs: &TestDatabases) -> ApplyOptions {
    ApplyOptions {
        task: dbs.name.clone(),
        ..ApplyOptions::default()
    }
}

/// Applies from the task's checkpoint (or `start`) up to the source's
/// current end.
async fn apply_to_end(
    dbs: &TestDatabases,
    selection: &ApplySelection,
    start: &FilePosition,
    o: &ApplyOptions,
) -> Result<bulk_copy::ApplyReport, CopyError> {
    let mut src = dbs.source().await;
    let end = position(&mut src).await;
    let o = ApplyOptions {
        until: Some(end),
        ..o.clone()
    };
    apply_changes(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        selection,
        Some(&HandOff {
            start: start.clone(),
            overlap_end: None,
        }),
        &o,
    )
    .await
}

async fn drop_shadow(dbs: &TestDatabases) {
    let mut t = dts_test_support::connect(Server::Target, None).await;
    let name = bulk_copy::apply::shadow_database(&dbs.name, &dbs.name);
    exec(&mut t, &format!("DROP DATABASE IF EXISTS `{name}`")).await;
}

#[tokio::test]
async fn d1_d16_through_insert_update_with_key_changes_and_delete_are_byte_exact() {
    let dbs = TestDatabases::new("apply_edge").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(
        &mut src,
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'",
    )
    .await;
    exec(&mut src, EDGE_TABLE).await;
    exec(&mut tgt, EDGE_TABLE).await;
    // A composite key with a _ci string and an ENUM, and a table without a
    // key holding duplicate rows (D8, D9, D15).
    let more = [
        "CREATE TABLE ck (name VARCHAR(20) COLLATE utf8mb4_general_ci NOT NULL, e ENUM('x','y') NOT NULL, \
         bin BINARY(4) NOT NULL, v BLOB, PRIMARY KEY (name, e, bin))",
        "CREATE TABLE nokey (x INT, y VARCHAR(10), f FLOAT)",
    ];
    for d in more {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    let sel = ApplySelection::databases(&[&dbs.name]);
    let start = hand_off(&dbs, &sel).await;
    let o = options(&dbs);

    // Inserts.
    for r in EDGE_ROWS {
        exec(&mut src, r).await;
    }
    exec(
        &mut src,
        "INSERT INTO ck VALUES ('a', 'x', X'00275C00', X'00'), ('B ', 'y', X'5C5C5C5C', NULL), \
         ('a', 'y', X'00000000', '');
         INSERT INTO nokey VALUES (1, 'dup', 0.1), (1, 'dup', 0.1), (NULL, NULL, NULL), (2, 'x', -1e-38)",
    )
    .await;
    let r = apply_to_end(&dbs, &sel, &start, &o)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    assert!(r.rows >= 11, "{r:?}");
    for t in ["edge", "ck", "nokey"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(&format!("{t} after inserts"));
    }

    // Updates: every column, key changes, a swap of two keys in one
    // transaction, a key change with a unique-key change (D16).
    exec(
        &mut src,
        "UPDATE edge SET ti = -1, f = 3.4028234e38, d = -4.9406564584124654e-324, dt = '2000-02-29',
           ts6 = '2038-01-19 03:14:07.999999', tm6 = '838:59:58.999999', e = 'b', s = 'z',
           vc = 'changed', j = '{\"z\": [], \"a\": 1.0}', b64 = 0, lbl = REPEAT(X'00FF', 70000)
         WHERE id = 1;
         UPDATE edge SET id = id + 10;
         BEGIN; UPDATE edge SET id = 100 WHERE id = 11; UPDATE edge SET id = 11 WHERE id = 12;
                UPDATE edge SET id = 12 WHERE id = 100; COMMIT;
         UPDATE edge SET id = 20, vc = 'moved' WHERE id = 13;
         UPDATE ck SET name = 'A' WHERE name = 'a' AND e = 'x';
         UPDATE ck SET e = 'x', v = X'FF' WHERE name = 'B ';
         UPDATE nokey SET y = 'one' WHERE x = 1 LIMIT 1;
         UPDATE nokey SET f = 2.5 WHERE x IS NULL",
    )
    .await;
    apply_to_end(&dbs, &sel, &start, &o)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    for t in ["edge", "ck", "nokey"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(&format!("{t} after updates"));
    }
    let inv = "SELECT id, inv FROM edge ORDER BY id";
    dts_test_support::compare_queries(&mut src, inv, &mut tgt, inv)
        .await
        .assert_equal("invisible column");

    // Deletes, and an insert reusing a deleted key in the same transaction.
    exec(
        &mut src,
        "DELETE FROM edge WHERE id = 11;
         BEGIN; DELETE FROM edge WHERE id = 12; INSERT INTO edge (id, vc) VALUES (12, 'again'); COMMIT;
         DELETE FROM ck WHERE e = 'x';
         DELETE FROM nokey WHERE x = 1 LIMIT 1",
    )
    .await;
    let r = apply_to_end(&dbs, &sel, &start, &o)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    for t in ["edge", "ck", "nokey"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(&format!("{t} after deletes"));
    }
    assert_eq!(r.conflicts_overwritten + r.conflicts_skipped, 0, "{r:?}");
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn a_bank_workload_keeps_its_invariant_at_every_checkpoint_and_ends_equal() {
    let dbs = TestDatabases::new("apply_bank").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let accounts = 2000u64;
    for d in [
        "CREATE TABLE acct (id INT PRIMARY KEY, balance BIGINT NOT NULL)",
        "CREATE TABLE log (id BIGINT AUTO_INCREMENT PRIMARY KEY, acct INT, delta INT)",
    ] {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    let seed = format!(
        "INSERT INTO acct WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {accounts}) \
         SELECT i, 1000 FROM s"
    );
    exec(&mut src, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(&mut tgt, "SET SESSION max_recursive_iterations = 1000000").await;
    exec(&mut src, &seed).await;
    exec(&mut tgt, &seed).await;
    let sel = ApplySelection::databases(&[&dbs.name]);
    let start = hand_off(&dbs, &sel).await;
    let stop_writer = Arc::new(AtomicBool::new(false));
    let writer = dts_test_support::bank::writer(
        dbs.name.clone(),
        accounts,
        stop_writer.clone(),
        dts_test_support::WriteLimit {
            max: 50_000,
            within: Duration::from_secs(60),
        },
    );
    let progress = ApplyProgress::new();
    let stop = StopSignal::new();
    let o = ApplyOptions {
        progress: progress.clone(),
        stop: stop.clone(),
        commit_interval: Duration::from_millis(50),
        heartbeat: Some(bulk_copy::Heartbeat {
            interval: Duration::from_millis(100),
            ..Default::default()
        }),
        ..options(&dbs)
    };
    let applier = {
        let sel = sel.clone();
        let o = o.clone();
        let start = start.clone();
        tokio::spawn(async move {
            apply_changes(
                &opts(Server::Source, None),
                &opts(Server::Target, None),
                &sel,
                Some(&HandOff {
                    start,
                    overlap_end: None,
                }),
                &o,
            )
            .await
        })
    };
    // Sample the target while it applies: every committed state is a
    // prefix of the source, so the sum never changes.
    let mut samples = 0;
    let mut lags = Vec::new();
    let until = std::time::Instant::now() + Duration::from_secs(4);
    while std::time::Instant::now() < until {
        let sum: i64 = query_one(&mut tgt, "SELECT SUM(balance) FROM acct").await;
        assert_eq!(sum, accounts as i64 * 1000, "bank invariant on the target");
        samples += 1;
        if let Some(l) = progress.status().lag {
            lags.push(l);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_writer.store(true, Ordering::SeqCst);
    let transactions = writer.await.expect("writer");
    let end = position(&mut src).await;
    // Wait for the apply to reach the end, then stop it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while progress.status().position.as_ref().is_none_or(|p| *p < end) {
        assert!(
            std::time::Instant::now() < deadline,
            "the apply did not catch up: {:?}",
            progress.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.stop();
    let r = applier
        .await
        .expect("apply task")
        .unwrap_or_else(|e| panic!("apply: {e}"));
    assert!(transactions > 50, "the writer ran ({transactions})");
    assert!(samples > 10);
    // The heartbeat measures the lag below the second while the apply
    // keeps up (event timestamps alone give whole seconds).
    assert!(
        lags.iter()
            .any(|l| *l < Duration::from_secs(5) && l.subsec_micros() != 0),
        "lag samples from the heartbeat: {lags:?}"
    );
    assert!(r.transactions >= transactions, "{r:?}");
    for t in ["acct", "log"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn l2_ddl_interleaved_with_dml_decodes_each_row_with_the_schema_of_its_position() {
    let dbs = TestDatabases::new("apply_ddl").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let t = "CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(10))";
    exec(&mut src, t).await;
    exec(&mut tgt, t).await;
    let sel = ApplySelection::databases(&[&dbs.name]);
    let start = hand_off(&dbs, &sel).await;
    let o = options(&dbs);
    // Everything is applied in one run, after the fact: the rows before
    // each ALTER must be read with the columns they were written with.
    exec(
        &mut src,
        "INSERT INTO t VALUES (1, 10, 'one'), (2, 20, 'two');
         ALTER TABLE t ADD COLUMN c INT DEFAULT 5 AFTER a;
         INSERT INTO t VALUES (3, 30, 33, 'three');
         UPDATE t SET b = 'uno' WHERE id = 1;
         ALTER TABLE t DROP COLUMN b;
         UPDATE t SET c = 7 WHERE id = 2;
         ALTER TABLE t MODIFY a BIGINT NOT NULL DEFAULT 0;
         INSERT INTO t VALUES (4, 9000000000, NULL);
         ALTER TABLE t CHANGE a a2 BIGINT NOT NULL DEFAULT 0, ADD INDEX (c);
         INSERT INTO t (id, a2, c) VALUES (5, -1, 1);
         ALTER TABLE t ADD COLUMN d VARCHAR(5) FIRST, DROP INDEX c;
         INSERT INTO t VALUES ('first', 6, 6, 6);
         CREATE INDEX ix ON t (d);
         DROP INDEX ix ON t;
         CREATE TABLE n2 (k INT PRIMARY KEY, v TEXT);
         INSERT INTO n2 VALUES (1, 'a'), (2, 'b');
         RENAME TABLE n2 TO n3;
         INSERT INTO n3 VALUES (3, 'c');
         TRUNCATE TABLE n3;
         INSERT INTO n3 VALUES (4, 'd');
         CREATE TABLE gone (k INT PRIMARY KEY);
         INSERT INTO gone VALUES (1);
         DROP TABLE gone;
         CREATE TABLE copy_like LIKE t;
         INSERT INTO copy_like SELECT * FROM t;
         CREATE VIEW v AS SELECT id, c FROM t",
    )
    .await;
    let r = apply_to_end(&dbs, &sel, &start, &o)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    assert!(r.ddl_applied >= 14, "{r:?}");
    for t in ["t", "n3", "copy_like"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    let cols = format!(
        "SELECT GROUP_CONCAT(column_name, ' ', column_type ORDER BY ordinal_position) \
         FROM information_schema.columns WHERE table_schema = '{}' AND table_name = 't'",
        dbs.name
    );
    let (a, b): (String, String) = (
        query_one(&mut src, &cols).await,
        query_one(&mut tgt, &cols).await,
    );
    assert_eq!(a, b, "the target table has the source's columns");
    let gone: i64 = query_one(
        &mut tgt,
        &format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{}' \
             AND table_name IN ('gone', 'n2')",
            dbs.name
        ),
    )
    .await;
    assert_eq!(gone, 0, "dropped and renamed tables are gone on the target");
    let view: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM v").await;
    assert_eq!(view, 6);
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

/// The column names and types of `db`.`t` on a server.
async fn columns(c: &mut mysql_async::Conn, db: &str, t: &str) -> String {
    query_one(
        c,
        &format!(
            "SELECT GROUP_CONCAT(column_name, ' ', column_type ORDER BY ordinal_position) \
             FROM information_schema.columns WHERE table_schema = '{db}' AND table_name = '{t}'"
        ),
    )
    .await
}

/// Tables of the test database on the target whose names start with `_t_`.
async fn helper_tables_on_target(tgt: &mut mysql_async::Conn, db: &str) -> i64 {
    query_one(
        tgt,
        &format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{db}' \
             AND table_name LIKE '\\_t\\_%'"
        ),
    )
    .await
}

async fn remembered(tgt: &mut mysql_async::Conn, task: &str) -> i64 {
    query_one(
        tgt,
        &format!("SELECT COUNT(*) FROM dts_meta.cdc_online_ddl WHERE task = '{task}'"),
    )
    .await
}

/// L3 with gh-ost's statements as gh-ost writes them (comments, qualified
/// names), in online-DDL mode `mode`, for a whole-database or a
/// single-table selection; the apply runs twice, split between the ghost
/// table's ALTER and the swap (a restart there must not lose the ALTER).
async fn gh_ost_swap(mode: OnlineDdlMode, whole: bool) {
    let dbs = TestDatabases::new(&format!("apply_ghost_{mode:?}_{whole}")).await;
    let db = dbs.name.clone();
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let t = "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))";
    exec(&mut src, t).await;
    exec(&mut tgt, t).await;
    exec(&mut src, "CREATE TABLE other (id INT PRIMARY KEY)").await;
    if whole {
        exec(&mut tgt, "CREATE TABLE other (id INT PRIMARY KEY)").await;
    }
    let sel = if whole {
        ApplySelection::databases(&[&db])
    } else {
        // Only `t` is selected: its helper tables follow it.
        ApplySelection {
            databases: vec![],
            tables: vec![TableMapping::same(&db, "t")],
            ..Default::default()
        }
    };
    let start = hand_off(&dbs, &sel).await;
    let progress = ApplyProgress::new();
    let o = ApplyOptions {
        online_ddl: mode,
        progress: progress.clone(),
        ..options(&dbs)
    };
    exec(
        &mut src,
        &format!(
            "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');
             create /* gh-ost */ table `{db}`.`_t_gho` like `{db}`.`t`;
             alter /* gh-ost */ table `{db}`.`_t_gho` add column added int not null default 42, modify v varchar(30);
             create /* gh-ost */ table `{db}`.`_t_ghc` (id bigint auto_increment primary key, hint varchar(64), value text);
             insert into `{db}`.`_t_ghc` (hint, value) values ('state', 'migrating');
             insert /* gh-ost */ ignore into `{db}`.`_t_gho` (id, v) select id, v from `{db}`.`t`;
             UPDATE t SET v = 'B' WHERE id = 2; UPDATE _t_gho SET v = 'B' WHERE id = 2;"
        ),
    )
    .await;
    apply_to_end(&dbs, &sel, &start, &o)
        .await
        .unwrap_or_else(|e| panic!("apply up to the ghost's ALTER: {e}"));
    if mode == OnlineDdlMode::ApplyOriginalDdl {
        assert_eq!(helper_tables_on_target(&mut tgt, &db).await, 0);
        assert_eq!(remembered(&mut tgt, &db).await, 1, "the ALTER is kept");
    }
    // The second run starts from the checkpoint between the ALTER and the
    // swap.
    exec(
        &mut src,
        &format!(
            "INSERT INTO t VALUES (4, 'd'); INSERT INTO _t_gho (id, v) VALUES (4, 'd');
             DELETE FROM t WHERE id = 1; DELETE FROM _t_gho WHERE id = 1;
             INSERT INTO other VALUES (1);
             rename /* gh-ost */ table `{db}`.`t` to `{db}`.`_t_del`, `{db}`.`_t_gho` to `{db}`.`t`;
             drop /* gh-ost */ table if exists `{db}`.`_t_del`;
             drop /* gh-ost */ table if exists `{db}`.`_t_ghc`;
             INSERT INTO t (id, v, added) VALUES (5, 'after the swap, longer', 7);
             UPDATE t SET added = 8 WHERE id = 2;"
        ),
    )
    .await;
    apply_to_end(&dbs, &sel, &start, &o)
        .await
        .unwrap_or_else(|e| panic!("apply through the swap: {e}"));
    compare_tables(&mut src, &db, "t", &mut tgt, None, None)
        .await
        .assert_equal("t after the swap");
    assert_eq!(
        columns(&mut src, &db, "t").await,
        columns(&mut tgt, &db, "t").await,
        "the target's t has the source's definition"
    );
    let shadow = bulk_copy::apply::shadow_database(&db, &db);
    assert_eq!(
        columns(&mut src, &db, "t").await,
        columns(&mut tgt, &shadow, "t").await,
        "the shadow's t is the source's after the swap"
    );
    assert_eq!(
        helper_tables_on_target(&mut tgt, &db).await,
        0,
        "no helper table is left on the target"
    );
    let others: i64 = query_one(
        &mut tgt,
        &format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{db}' \
             AND table_name = 'other'"
        ),
    )
    .await;
    if whole {
        compare_tables(&mut src, &db, "other", &mut tgt, None, None)
            .await
            .assert_equal("other");
    } else {
        assert_eq!(others, 0, "an unselected table is not created");
    }
    let s = progress.status();
    match mode {
        OnlineDdlMode::ApplyOriginalDdl => {
            assert_eq!(
                remembered(&mut tgt, &db).await,
                0,
                "forgotten after the swap"
            );
            // Rows of _t_ghc (1), _t_gho (3 copied + 1 + 1 + 1).
            assert_eq!(s.online_ddl_rows_skipped, 7, "{s:?}");
            for what in ["`_t_ghc`", "is kept and applied to", "dropping gh-ost's"] {
                assert!(
                    s.ddl_skipped.iter().any(|d| d.contains(what)),
                    "{what} in {:?}",
                    s.ddl_skipped
                );
            }
        }
        _ => assert_eq!(s.online_ddl_rows_skipped, 0, "{s:?}"),
    }
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn l3_gh_ost_swap_replicated_whole_database() {
    gh_ost_swap(OnlineDdlMode::Replicate, true).await;
}

#[tokio::test]
async fn l3_gh_ost_swap_replicated_single_table() {
    gh_ost_swap(OnlineDdlMode::Replicate, false).await;
}

#[tokio::test]
async fn l3_gh_ost_swap_original_ddl_whole_database_across_a_restart() {
    gh_ost_swap(OnlineDdlMode::ApplyOriginalDdl, true).await;
}

#[tokio::test]
async fn l3_gh_ost_swap_original_ddl_single_table_across_a_restart() {
    gh_ost_swap(OnlineDdlMode::ApplyOriginalDdl, false).await;
}

/// L3 with pt-online-schema-change's sequence: `_t_new` created like `t`
/// and altered, triggers on `t` copying changes into it (their row changes
/// are logged as row events on `_t_new`), chunked INSERT ... SELECT, the
/// swap, the triggers and the old table dropped. The apply is split between
/// the ALTER and the swap.
async fn pt_osc_swap(mode: OnlineDdlMode, whole: bool) {
    let dbs = TestDatabases::new(&format!("apply_ptosc_{mode:?}_{whole}")).await;
    let db = dbs.name.clone();
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let t = "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))";
    exec(&mut src, t).await;
    exec(&mut tgt, t).await;
    exec(
        &mut src,
        "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')",
    )
    .await;
    exec(
        &mut tgt,
        "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')",
    )
    .await;
    let sel = if whole {
        ApplySelection::databases(&[&db])
    } else {
        ApplySelection {
            databases: vec![],
            tables: vec![TableMapping::same(&db, "t")],
            ..Default::default()
        }
    };
    let start = hand_off(&dbs, &sel).await;
    let progress = ApplyProgress::new();
    let o = ApplyOptions {
        online_ddl: mode,
        progress: progress.clone(),
        ..options(&dbs)
    };
    for st in [
        format!("CREATE TABLE `{db}`.`_t_new` (id INT PRIMARY KEY, v VARCHAR(20))"),
        format!("ALTER TABLE `{db}`.`_t_new` ADD COLUMN added INT NOT NULL DEFAULT 42"),
        format!(
            "CREATE TRIGGER `pt_osc_{db}_t_del` AFTER DELETE ON `{db}`.`t` FOR EACH ROW \
             DELETE IGNORE FROM `{db}`.`_t_new` WHERE `{db}`.`_t_new`.`id` <=> OLD.`id`"
        ),
        format!(
            "CREATE TRIGGER `pt_osc_{db}_t_upd` AFTER UPDATE ON `{db}`.`t` FOR EACH ROW \
             REPLACE INTO `{db}`.`_t_new` (`id`, `v`) VALUES (NEW.`id`, NEW.`v`)"
        ),
        format!(
            "CREATE TRIGGER `pt_osc_{db}_t_ins` AFTER INSERT ON `{db}`.`t` FOR EACH ROW \
             REPLACE INTO `{db}`.`_t_new` (`id`, `v`) VALUES (NEW.`id`, NEW.`v`)"
        ),
        format!(
            "INSERT LOW_PRIORITY IGNORE INTO `{db}`.`_t_new` (`id`, `v`) SELECT `id`, `v` \
             FROM `{db}`.`t` FORCE INDEX(`PRIMARY`) WHERE ((`id` >= '1')) AND ((`id` <= '2')) \
             LOCK IN SHARE MODE"
        ),
        "INSERT INTO t VALUES (10, 'x')".into(),
        "UPDATE t SET v = 'y' WHERE id = 3".into(),
    ] {
        exec(&mut src, &st).await;
    }
    apply_to_end(&dbs, &sel, &start, &o)
        .await
        .unwrap_or_else(|e| panic!("apply up to the ghost's ALTER: {e}"));
    if mode == OnlineDdlMode::ApplyOriginalDdl {
        assert_eq!(remembered(&mut tgt, &db).await, 1, "the ALTER is kept");
    }
    for st in [
        "DELETE FROM t WHERE id = 2".into(),
        format!(
            "INSERT LOW_PRIORITY IGNORE INTO `{db}`.`_t_new` (`id`, `v`) SELECT `id`, `v` \
             FROM `{db}`.`t` FORCE INDEX(`PRIMARY`) WHERE ((`id` >= '3')) AND ((`id` <= '10')) \
             LOCK IN SHARE MODE"
        ),
        "UPDATE t SET v = 'z' WHERE id = 4".into(),
        format!("RENAME TABLE `{db}`.`t` TO `{db}`.`_t_old`, `{db}`.`_t_new` TO `{db}`.`t`"),
        format!("DROP TRIGGER IF EXISTS `{db}`.`pt_osc_{db}_t_del`"),
        format!("DROP TRIGGER IF EXISTS `{db}`.`pt_osc_{db}_t_upd`"),
        format!("DROP TRIGGER IF EXISTS `{db}`.`pt_osc_{db}_t_ins`"),
        format!("DROP TABLE IF EXISTS `{db}`.`_t_old`"),
        "INSERT INTO t VALUES (11, 'after', 1)".into(),
    ] {
        exec(&mut src, &st).await;
    }
    apply_to_end(&dbs, &sel, &start, &o)
        .await
        .unwrap_or_else(|e| panic!("apply through the swap: {e}"));
    compare_tables(&mut src, &db, "t", &mut tgt, None, None)
        .await
        .assert_equal("t after pt-osc's swap");
    assert_eq!(
        columns(&mut src, &db, "t").await,
        columns(&mut tgt, &db, "t").await
    );
    assert_eq!(helper_tables_on_target(&mut tgt, &db).await, 0);
    let triggers: i64 = query_one(
        &mut tgt,
        &format!("SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = '{db}'"),
    )
    .await;
    assert_eq!(triggers, 0, "pt-osc's triggers never reach the target");
    let s = progress.status();
    let trigger_notes = s
        .ddl_skipped
        .iter()
        .filter(|d| d.contains("pt-online-schema-change's trigger"))
        .count();
    assert_eq!(trigger_notes, 6, "{:?}", s.ddl_skipped);
    if mode == OnlineDdlMode::ApplyOriginalDdl {
        assert_eq!(remembered(&mut tgt, &db).await, 0);
        assert!(s.online_ddl_rows_skipped >= 6, "{s:?}");
    }
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn l3_pt_osc_swap_original_ddl_whole_database_across_a_restart() {
    pt_osc_swap(OnlineDdlMode::ApplyOriginalDdl, true).await;
}

#[tokio::test]
async fn l3_pt_osc_swap_original_ddl_single_table_across_a_restart() {
    pt_osc_swap(OnlineDdlMode::ApplyOriginalDdl, false).await;
}

#[tokio::test]
async fn l3_pt_osc_swap_replicated_whole_database() {
    pt_osc_swap(OnlineDdlMode::Replicate, true).await;
}

/// A swap whose ghost ALTER ran before the task's start: the target's `t`
/// would keep the old definition, so the apply stops before the swap and
/// says what differs and what to do.
#[tokio::test]
async fn l3_a_swap_whose_alter_the_apply_never_saw_stops_before_it() {
    let dbs = TestDatabases::new("apply_ghost_unseen").await;
    let db = dbs.name.clone();
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(
        &mut src,
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
    )
    .await;
    exec(
        &mut tgt,
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
    )
    .await;
    exec(
        &mut src,
        "CREATE TABLE _t_gho LIKE t; ALTER TABLE _t_gho ADD COLUMN added INT",
    )
    .await;
    let sel = ApplySelection::databases(&[&db]);
    let start = hand_off(&dbs, &sel).await;
    let o = ApplyOptions {
        online_ddl: OnlineDdlMode::ApplyOriginalDdl,
        ..options(&dbs)
    };
    exec(
        &mut src,
        "INSERT INTO t VALUES (1, 'a'); INSERT INTO _t_gho VALUES (1, 'a', NULL);
         RENAME TABLE t TO _t_del, _t_gho TO t",
    )
    .await;
    let e = apply_to_end(&dbs, &sel, &start, &o)
        .await
        .expect_err("the target's t does not match the source's after the swap");
    let msg = e.to_string();
    assert!(
        msg.contains("`added` int(11)") && msg.contains("before the task's start"),
        "{msg}"
    );
    let n: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM t").await;
    assert_eq!(n, 1, "the rows before the swap were committed");
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn s7_conflicts_stop_naming_table_and_key_and_policies_count_what_they_did() {
    let dbs = TestDatabases::new("apply_conflict").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let t = "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))";
    exec(&mut src, t).await;
    exec(&mut tgt, t).await;
    let sel = ApplySelection::databases(&[&dbs.name]);
    let start = hand_off(&dbs, &sel).await;
    exec(&mut tgt, "INSERT INTO t VALUES (2, 'target only')").await;
    exec(
        &mut src,
        "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c'); UPDATE t SET v = 'x' WHERE id = 3",
    )
    .await;
    let e = apply_to_end(&dbs, &sel, &start, &options(&dbs))
        .await
        .expect_err("a conflict stops the apply");
    let msg = e.to_string();
    assert!(
        matches!(e, CopyError::Conflict { .. }) && msg.contains("`t`") && msg.contains("= 2"),
        "{msg}"
    );
    // Nothing of the conflicting batch was kept.
    let n: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM t").await;
    assert_eq!(n, 1);
    // Skip: the source's row 2 is not written; the others are.
    let r = apply_to_end(
        &dbs,
        &sel,
        &start,
        &ApplyOptions {
            conflict: ConflictPolicy::Ignore,
            ..options(&dbs)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("apply: {e}"));
    assert_eq!(r.conflicts_skipped, 1, "{r:?}");
    let v: String = query_one(&mut tgt, "SELECT v FROM t WHERE id = 2").await;
    assert_eq!(v, "target only");
    // Overwrite: a later change to a missing row writes the source's image.
    exec(&mut tgt, "DELETE FROM t WHERE id = 1").await;
    exec(&mut src, "UPDATE t SET v = 'y' WHERE id = 1").await;
    let r = apply_to_end(
        &dbs,
        &sel,
        &start,
        &ApplyOptions {
            conflict: ConflictPolicy::Overwrite,
            ..options(&dbs)
        },
    )
    .await
    .unwrap_or_else(|e| panic!("apply: {e}"));
    assert_eq!(r.conflicts_overwritten, 1, "{r:?}");
    let v: String = query_one(&mut tgt, "SELECT v FROM t WHERE id = 1").await;
    assert_eq!(v, "y");
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn filters_move_rows_in_and_out_and_column_subsets_and_renames_apply() {
    let dbs = TestDatabases::new("apply_filter").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(
        &mut src,
        "CREATE TABLE t (id INT PRIMARY KEY, region VARCHAR(5) COLLATE utf8mb4_general_ci, v INT, secret TEXT)",
    )
    .await;
    exec(
        &mut tgt,
        "CREATE TABLE t2 (id INT PRIMARY KEY, area VARCHAR(5), v INT)",
    )
    .await;

    let sel = ApplySelection {
        databases: vec![],
        tables: vec![TableMapping {
            source_db: dbs.name.clone(),
            source_table: "t".into(),
            target_db: dbs.name.clone(),
            target_table: "t2".into(),
            columns: Some(vec![
                bulk_copy::ColumnMapping {
                    source: "id".into(),
                    target: "id".into(),
                },
                bulk_copy::ColumnMapping {
                    source: "region".into(),
                    target: "area".into(),
                },
                bulk_copy::ColumnMapping {
                    source: "v".into(),
                    target: "v".into(),
                },
            ]),
            filter: Some("region = 'eu'".into()),
        }],
        ..Default::default()
    };
    let start = hand_off(&dbs, &sel).await;
    exec(
        &mut src,
        "INSERT INTO t VALUES (1, 'EU', 1, 's'), (2, 'us', 2, 's'), (3, 'eu', 3, 's'), (4, 'us', 4, 's');
         UPDATE t SET region = 'eu' WHERE id = 2;
         UPDATE t SET region = 'us' WHERE id = 3;
         UPDATE t SET v = 40 WHERE id = 4;
         UPDATE t SET v = 10 WHERE id = 1;
         DELETE FROM t WHERE id = 4",
    )
    .await;
    apply_to_end(&dbs, &sel, &start, &options(&dbs))
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    dts_test_support::compare_queries(
        &mut src,
        "SELECT id, region, v FROM t WHERE region = 'eu' ORDER BY id",
        &mut tgt,
        "SELECT id, area, v FROM t2 ORDER BY id",
    )
    .await
    .assert_equal("filtered subset");
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn s12_a_statement_logged_instead_of_rows_stops_the_apply() {
    let dbs = TestDatabases::new("apply_stmt").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let t = "CREATE TABLE t (id INT PRIMARY KEY)";
    exec(&mut src, t).await;
    exec(&mut tgt, t).await;
    let sel = ApplySelection::databases(&[&dbs.name]);
    let start = hand_off(&dbs, &sel).await;
    exec(
        &mut src,
        "INSERT INTO t VALUES (1); SET SESSION binlog_format = 'STATEMENT'; INSERT INTO t VALUES (2); \
         SET SESSION binlog_format = 'ROW'",
    )
    .await;
    let e = apply_to_end(
        &dbs,
        &ApplySelection::databases(&[&dbs.name]),
        &start,
        &options(&dbs),
    )
    .await
    .expect_err("a statement-format change stops the apply");
    assert!(e.to_string().contains("binlog_format"), "{e}");
    // Everything before it was applied and committed.
    let n: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM t").await;
    assert_eq!(n, 1);
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn n8_killed_dump_thread_and_apply_connection_are_survived_exactly() {
    let dbs = TestDatabases::new("apply_kill").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let accounts = 300u64;
    for d in [
        "CREATE TABLE acct (id INT PRIMARY KEY, balance BIGINT NOT NULL)",
        "CREATE TABLE log (id BIGINT AUTO_INCREMENT PRIMARY KEY, acct INT, delta INT)",
    ] {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    let seed = format!(
        "INSERT INTO acct WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {accounts}) \
         SELECT i, 1000 FROM s"
    );
    exec(&mut src, &seed).await;
    exec(&mut tgt, &seed).await;
    let sel = ApplySelection::databases(&[&dbs.name]);
    let start = hand_off(&dbs, &sel).await;
    let stop_writer = Arc::new(AtomicBool::new(false));
    let writer = dts_test_support::bank::writer(
        dbs.name.clone(),
        accounts,
        stop_writer.clone(),
        dts_test_support::WriteLimit {
            max: 50_000,
            within: Duration::from_secs(60),
        },
    );
    let progress = ApplyProgress::new();
    let stop = StopSignal::new();
    let o = ApplyOptions {
        progress: progress.clone(),
        stop: stop.clone(),
        commit_interval: Duration::from_millis(20),
        ..options(&dbs)
    };
    let applier = {
        let (sel, o, start) = (sel.clone(), o.clone(), start.clone());
        tokio::spawn(async move {
            apply_changes(
                &opts(Server::Source, None),
                &opts(Server::Target, None),
                &sel,
                Some(&HandOff {
                    start,
                    overlap_end: None,
                }),
                &o,
            )
            .await
        })
    };
    let mut admin_src = dts_test_support::connect(Server::Source, None).await;
    let mut admin_tgt = dts_test_support::connect(Server::Target, None).await;
    let mut killed = (0, 0);
    // Until each side was killed twice: each round kills the side killed
    // less so far, once the apply runs on a connection of it not tried yet
    // (a kill of one side restarts both, and an id read during the restart
    // may be gone already), so that the kills never fall into step with the
    // restarts.
    let mut tried: (Option<u32>, Option<u32>) = (None, None);
    for _ in 0..300 {
        if killed.0 >= 2 && killed.1 >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let s = progress.status();
        let target_turn = killed.0 <= killed.1;
        if target_turn {
            if let Some(id) = s.target_connection_id.filter(|id| Some(*id) != tried.0) {
                tried.0 = Some(id);
                match admin_tgt.query_drop(format!("KILL {id}")).await {
                    Ok(()) => killed.0 += 1,
                    Err(e) => eprintln!("KILL {id} on the target: {e} (reconnecting already)"),
                }
            }
        } else if let Some(id) = s.source_connection_id.filter(|id| Some(*id) != tried.1) {
            tried.1 = Some(id);
            match admin_src.query_drop(format!("KILL {id}")).await {
                Ok(()) => killed.1 += 1,
                Err(e) => eprintln!("KILL {id} on the source: {e} (reconnecting already)"),
            }
        }
    }
    stop_writer.store(true, Ordering::SeqCst);
    writer.await.expect("writer");
    let end = position(&mut src).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while progress.status().position.as_ref().is_none_or(|p| *p < end) {
        assert!(
            std::time::Instant::now() < deadline,
            "the apply did not catch up after the kills: {:?}",
            progress.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.stop();
    let r = applier
        .await
        .expect("apply task")
        .unwrap_or_else(|e| panic!("apply: {e}"));
    assert!(
        killed.0 >= 2 && killed.1 >= 2,
        "kills {killed:?}: {:?}",
        progress.status()
    );
    assert!(
        r.retries >= 1,
        "the killed apply connection was replaced: {r:?}"
    );
    for t in ["acct", "log"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn s6_a_lock_wait_timeout_on_the_target_retries_the_whole_transaction_and_counts_match() {
    let dbs = TestDatabases::new("apply_lockwait").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let t = "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))";
    exec(&mut src, t).await;
    exec(&mut tgt, t).await;
    exec(&mut src, "INSERT INTO t VALUES (1, 'a'), (2, 'b')").await;
    exec(&mut tgt, "INSERT INTO t VALUES (1, 'a'), (2, 'b')").await;
    let sel = ApplySelection::databases(&[&dbs.name]);
    let start = hand_off(&dbs, &sel).await;
    // 5 row changes in 3 source transactions; the second needs row 1.
    exec(
        &mut src,
        "INSERT INTO t VALUES (3, 'c');
         BEGIN; UPDATE t SET v = 'locked' WHERE id = 1; INSERT INTO t VALUES (4, 'd'); COMMIT;
         BEGIN; DELETE FROM t WHERE id = 2; INSERT INTO t VALUES (5, 'e'); COMMIT",
    )
    .await;
    // Another session holds row 1.
    let mut holder = dbs.target().await;
    exec(
        &mut holder,
        "BEGIN; SELECT * FROM t WHERE id = 1 FOR UPDATE",
    )
    .await;
    let progress = ApplyProgress::new();
    let o = ApplyOptions {
        progress: progress.clone(),
        lock_wait_timeout: Some(Duration::from_secs(1)),
        ..options(&dbs)
    };
    let applier = {
        let (dbs_name, sel, start, o) = (dbs.name.clone(), sel.clone(), start.clone(), o.clone());
        let mut src = dts_test_support::connect(Server::Source, Some(&dbs_name)).await;
        let end = position(&mut src).await;
        tokio::spawn(async move {
            apply_changes(
                &opts(Server::Source, None),
                &opts(Server::Target, None),
                &sel,
                Some(&HandOff {
                    start,
                    overlap_end: None,
                }),
                &ApplyOptions {
                    until: Some(end),
                    ..o
                },
            )
            .await
        })
    };
    // Release the lock once the apply has been refused it and restarted.
    while progress.status().retries == 0 {
        assert!(
            !applier.is_finished(),
            "the apply ended while the row was locked: {:?}",
            progress.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let during: i64 = query_one(&mut holder, "SELECT COUNT(*) FROM t WHERE id = 4").await;
    assert_eq!(
        during, 0,
        "nothing of the source transaction waiting for the lock is visible"
    );
    exec(&mut holder, "ROLLBACK").await;
    let r = applier
        .await
        .expect("apply task")
        .unwrap_or_else(|e| panic!("apply after the lock was released: {e}"));
    assert!(r.retries >= 1, "{r:?}");
    assert_eq!(r.rows, 5, "each row change counted once: {r:?}");
    compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None)
        .await
        .assert_equal("t after the retried transaction");
    let (tx, rows): (u64, u64) = query_one(
        &mut tgt,
        &format!(
            "SELECT transactions, rows_applied FROM dts_meta.cdc_checkpoint WHERE task = '{}'",
            dbs.name
        ),
    )
    .await;
    assert_eq!(rows, 5);
    assert_eq!(tx, r.transactions);
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn s9_insert_revoked_on_the_target_stops_at_once_and_resumes_after_the_grant() {
    let dbs = TestDatabases::new("apply_revoke").await;
    let db = dbs.name.clone();
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let t = "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))";
    exec(&mut src, t).await;
    exec(&mut tgt, t).await;
    let sel = ApplySelection::databases(&[&db]);
    let start = hand_off(&dbs, &sel).await;
    // The apply's account on the target may do everything but INSERT.
    let user = format!("dts_s9_{}", std::process::id());
    let shadow = bulk_copy::apply::shadow_database(&db, &db);
    exec(
        &mut tgt,
        &format!(
            "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY 'pw-s9';
             GRANT ALL ON `dts_meta`.* TO '{user}'@'%';
             GRANT ALL ON `{shadow}`.* TO '{user}'@'%';
             GRANT ALL ON `{db}`.* TO '{user}'@'%';
             REVOKE INSERT ON `{db}`.* FROM '{user}'@'%'"
        ),
    )
    .await;
    let limited = mysql_async::OptsBuilder::from_opts(opts(Server::Target, None))
        .user(Some(user.clone()))
        .pass(Some("pw-s9"));
    exec(
        &mut src,
        "INSERT INTO t VALUES (1, 'a'); INSERT INTO t VALUES (2, 'b')",
    )
    .await;
    let end = position(&mut src).await;
    let progress = ApplyProgress::new();
    let o = ApplyOptions {
        progress: progress.clone(),
        until: Some(end),
        ..options(&dbs)
    };
    let run = |o: ApplyOptions| {
        let (sel, start, limited) = (sel.clone(), start.clone(), limited.clone());
        async move {
            apply_changes(
                &opts(Server::Source, None),
                &limited.into(),
                &sel,
                Some(&HandOff {
                    start,
                    overlap_end: None,
                }),
                &o,
            )
            .await
        }
    };
    let e = run(o.clone())
        .await
        .expect_err("INSERT is not allowed on the target");
    let msg = e.to_string();
    assert!(!e.is_retryable(), "{msg}");
    assert!(
        msg.contains("1142") && msg.contains("`t`") && msg.contains("grant it"),
        "{msg}"
    );
    assert_eq!(
        progress.status().retries,
        0,
        "a missing privilege is not retried"
    );
    let n: i64 = query_one(&mut tgt, "SELECT COUNT(*) FROM t").await;
    assert_eq!(n, 0);
    exec(
        &mut tgt,
        &format!("GRANT INSERT ON `{db}`.* TO '{user}'@'%'"),
    )
    .await;
    run(o)
        .await
        .unwrap_or_else(|e| panic!("apply after the grant: {e}"));
    compare_tables(&mut src, &db, "t", &mut tgt, None, None)
        .await
        .assert_equal("t after the grant");
    exec(&mut tgt, &format!("DROP USER '{user}'@'%'")).await;
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn per_object_operation_filters_leave_out_the_kinds_the_task_excludes() {
    use schema_diff::binlog_ddl::DdlKind;
    let dbs = TestDatabases::new("apply_ops").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    for d in [
        "CREATE TABLE keep_all (id INT PRIMARY KEY, v INT)",
        "CREATE TABLE no_delete (id INT PRIMARY KEY, v INT)",
    ] {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    let mut sel = ApplySelection::databases(&[&dbs.name]);
    // The table: no DELETE, and of the DDL only ALTER TABLE.
    sel.operations.push(bulk_copy::apply::Operations {
        database: dbs.name.clone(),
        table: Some("no_delete".into()),
        insert: true,
        update: true,
        delete: false,
        ddl: vec![DdlKind::AlterTable],
    });
    let start = hand_off(&dbs, &sel).await;
    exec(
        &mut src,
        "INSERT INTO keep_all VALUES (1, 1), (2, 2); INSERT INTO no_delete VALUES (1, 1), (2, 2);
         UPDATE no_delete SET v = 20 WHERE id = 2; DELETE FROM no_delete WHERE id = 1;
         DELETE FROM keep_all WHERE id = 1;
         CREATE INDEX iv ON no_delete (v); CREATE INDEX iv ON keep_all (v);
         ALTER TABLE no_delete ADD COLUMN w INT DEFAULT 7; INSERT INTO no_delete (id, v) VALUES (3, 3)",
    )
    .await;
    let r = apply_to_end(&dbs, &sel, &start, &options(&dbs))
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    assert_eq!(r.operations_filtered, 1, "{r:?}");
    assert!(
        r.ddl_skipped.iter().any(|s| s.contains("DDL filter")),
        "{r:?}"
    );
    compare_tables(&mut src, &dbs.name, "keep_all", &mut tgt, None, None)
        .await
        .assert_equal("keep_all");
    let rows: Vec<(i32, i32, i32)> = tgt
        .query("SELECT id, v, w FROM no_delete ORDER BY id")
        .await
        .expect("rows");
    assert_eq!(
        rows,
        vec![(1, 1, 7), (2, 20, 7), (3, 3, 7)],
        "the DELETE was left out"
    );
    let idx = |t: &str| {
        format!(
            "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = '{}' \
             AND table_name = '{t}' AND index_name = 'iv'",
            dbs.name
        )
    };
    let a: i64 = query_one(&mut tgt, &idx("keep_all")).await;
    let b: i64 = query_one(&mut tgt, &idx("no_delete")).await;
    assert_eq!(
        (a, b),
        (1, 0),
        "CREATE INDEX left out on the filtered table only"
    );
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

/// The tables of database `db` on a server, sorted.
async fn tables_of(c: &mut mysql_async::Conn, db: &str) -> Vec<String> {
    c.exec(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? \
         ORDER BY table_name",
        (db,),
    )
    .await
    .expect("tables")
}

#[tokio::test]
async fn l4_renames_into_and_out_of_the_selection_copy_in_keep_out_and_touch_no_other_database() {
    let dbs = TestDatabases::new("apply_l4").await;
    let other = format!("{}_o", dbs.name);
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    // The other database exists on both sides (the target's copy empty):
    // nothing may ever be written into it.
    for c in [&mut src, &mut tgt] {
        exec(c, &format!("CREATE DATABASE `{other}`")).await;
    }
    for t in [
        "CREATE TABLE t_out (id INT PRIMARY KEY, v VARCHAR(20))",
        "CREATE TABLE stays (id INT PRIMARY KEY, v VARCHAR(20))",
    ] {
        exec(&mut src, t).await;
        exec(&mut tgt, t).await;
    }
    let rows = "INSERT INTO t_out VALUES (1, 'a'), (2, 'b'); INSERT INTO stays VALUES (1, 's')";
    exec(&mut src, rows).await;
    exec(&mut tgt, rows).await;
    exec(
        &mut src,
        &format!(
            "CREATE TABLE `{other}`.t_in (id INT PRIMARY KEY, v VARCHAR(20));
             INSERT INTO `{other}`.t_in VALUES (1, 'x'), (2, 'y')"
        ),
    )
    .await;
    let sel = ApplySelection::databases(&[&dbs.name]);
    let start = hand_off(&dbs, &sel).await;
    // Out: its last change is applied, then it leaves; in: changes made
    // before the rename, and the DDL and rows after it but before the
    // apply reaches it, are all in its copy.
    exec(
        &mut src,
        &format!(
            "INSERT INTO t_out VALUES (3, 'c');
             INSERT INTO `{other}`.t_in VALUES (3, 'z');
             RENAME TABLE t_out TO `{other}`.t_out;
             INSERT INTO `{other}`.t_out VALUES (4, 'never');
             RENAME TABLE `{other}`.t_in TO t_in;
             INSERT INTO t_in VALUES (4, 'w');
             UPDATE t_in SET v = 'x2' WHERE id = 1;
             ALTER TABLE t_in ADD COLUMN c INT NOT NULL DEFAULT 7;
             INSERT INTO t_in VALUES (5, 'v', 8);
             DELETE FROM t_in WHERE id = 2;
             TRUNCATE TABLE stays;
             INSERT INTO stays VALUES (2, 't');
             CREATE TABLE made AS SELECT id, v FROM stays;
             INSERT INTO made VALUES (3, 'm');
             CREATE TABLE `{other}`.elsewhere (k INT PRIMARY KEY);
             ALTER TABLE `{other}`.elsewhere ADD COLUMN w INT;
             INSERT INTO `{other}`.elsewhere VALUES (1, 1);
             DROP TABLE `{other}`.elsewhere"
        ),
    )
    .await;
    let o = options(&dbs);
    let r = apply_to_end(&dbs, &sel, &start, &o)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    assert!(
        r.ddl_skipped
            .iter()
            .any(|s| s.contains("t_out") && s.contains("kept")),
        "{r:?}"
    );
    assert!(
        r.ddl_skipped
            .iter()
            .any(|s| s.contains("AlterTable") && s.contains("already in its copy")),
        "{r:?}"
    );
    compare_tables(&mut src, &dbs.name, "t_in", &mut tgt, None, None)
        .await
        .assert_equal("t_in, copied in");
    compare_tables(&mut src, &dbs.name, "stays", &mut tgt, None, None)
        .await
        .assert_equal("stays");
    compare_tables(&mut src, &dbs.name, "made", &mut tgt, None, None)
        .await
        .assert_equal("made, by CREATE TABLE ... SELECT");
    assert!(r.statements_ignored >= 3, "DDL on unselected tables: {r:?}");
    let kept: Vec<(i32, String)> = tgt
        .query("SELECT id, v FROM t_out ORDER BY id")
        .await
        .expect("t_out");
    assert_eq!(
        kept,
        vec![(1, "a".into()), (2, "b".into()), (3, "c".into())],
        "kept as it was when renamed out"
    );
    assert_eq!(
        tables_of(&mut tgt, &other).await,
        Vec::<String>::new(),
        "nothing written into the unselected database"
    );
    // Followed after its copy: rows, DDL, a rename within the selection.
    exec(
        &mut src,
        "INSERT INTO t_in VALUES (6, 'u', 9);
         ALTER TABLE t_in ADD COLUMN d VARCHAR(5) DEFAULT 'dd';
         UPDATE t_in SET c = 70, d = 'e' WHERE id = 1;
         RENAME TABLE t_in TO t_in2;
         INSERT INTO t_in2 VALUES (7, 't', 10, 'f')",
    )
    .await;
    apply_to_end(&dbs, &sel, &start, &o)
        .await
        .unwrap_or_else(|e| panic!("apply, second run: {e}"));
    compare_tables(&mut src, &dbs.name, "t_in2", &mut tgt, None, None)
        .await
        .assert_equal("t_in2, followed after its copy");
    assert_eq!(
        tables_of(&mut tgt, &dbs.name).await,
        vec![
            "made".to_string(),
            "stays".into(),
            "t_in2".into(),
            "t_out".into()
        ]
    );
    assert_eq!(tables_of(&mut tgt, &other).await, Vec::<String>::new());
    for c in [&mut src, &mut tgt] {
        exec(c, &format!("DROP DATABASE `{other}`")).await;
    }
    dts_test_support::forget_copy_task(&mut tgt, &dbs.name).await;
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn l4_a_single_table_renamed_to_another_database_is_dropped_when_the_task_says_so() {
    let dbs = TestDatabases::new("apply_l4d").await;
    let other = format!("{}_o", dbs.name);
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    for c in [&mut src, &mut tgt] {
        exec(c, &format!("CREATE DATABASE `{other}`")).await;
    }
    for t in [
        "CREATE TABLE a (id INT PRIMARY KEY, v INT)",
        "CREATE TABLE b (id INT PRIMARY KEY, v INT)",
    ] {
        exec(&mut src, t).await;
        exec(&mut tgt, t).await;
    }
    let sel = ApplySelection {
        tables: vec![
            TableMapping::same(&dbs.name, "a"),
            TableMapping::same(&dbs.name, "b"),
        ],
        ..ApplySelection::default()
    };
    let start = hand_off(&dbs, &sel).await;
    exec(
        &mut src,
        &format!(
            "INSERT INTO a VALUES (1, 1); INSERT INTO b VALUES (1, 1);
             RENAME TABLE a TO `{other}`.a, b TO b2;
             INSERT INTO `{other}`.a VALUES (2, 2); INSERT INTO b2 VALUES (2, 2)"
        ),
    )
    .await;
    let o = ApplyOptions {
        renamed_out: bulk_copy::RenamedOut::Drop,
        ..options(&dbs)
    };
    let r = apply_to_end(&dbs, &sel, &start, &o)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    assert_eq!(r.ddl_applied, 1, "{r:?}");
    assert_eq!(
        tables_of(&mut tgt, &dbs.name).await,
        vec!["b2".to_string()],
        "a dropped, b followed"
    );
    assert_eq!(tables_of(&mut tgt, &other).await, Vec::<String>::new());
    compare_tables(&mut src, &dbs.name, "b2", &mut tgt, None, None)
        .await
        .assert_equal("b2");
    for c in [&mut src, &mut tgt] {
        exec(c, &format!("DROP DATABASE `{other}`")).await;
    }
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn l5_a_ddl_the_target_refuses_stops_before_it_until_fixed_or_skipped_and_recorded() {
    let dbs = TestDatabases::new("apply_l5").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(
        &mut src,
        "CREATE TABLE t (id INT PRIMARY KEY, v INT); CREATE TABLE u (id INT PRIMARY KEY, v INT)",
    )
    .await;
    // The target differs: t has a column c already, u an index ix.
    exec(
        &mut tgt,
        "CREATE TABLE t (id INT PRIMARY KEY, v INT, c INT); \
         CREATE TABLE u (id INT PRIMARY KEY, v INT, KEY ix (v))",
    )
    .await;
    let sel = ApplySelection::databases(&[&dbs.name]);
    let start = hand_off(&dbs, &sel).await;
    exec(&mut src, "INSERT INTO t VALUES (1, 1)").await;
    let before_alter = position(&mut src).await;
    exec(
        &mut src,
        "ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT 5; INSERT INTO t VALUES (2, 2, 20)",
    )
    .await;
    let o = options(&dbs);
    let checkpoint = format!(
        "SELECT CONCAT(binlog_file, ':', binlog_pos) FROM dts_meta.cdc_checkpoint WHERE task = '{}'",
        dbs.name
    );
    // Refused, then refused again by a restart that did not fix it: never
    // taken for "already done".
    for run in 1..=2 {
        let e = apply_to_end(&dbs, &sel, &start, &o)
            .await
            .expect_err("the target refuses the ALTER");
        let msg = e.to_string();
        assert!(msg.contains("ADD COLUMN c"), "run {run}: {msg}");
        let at: String = query_one(&mut tgt, &checkpoint).await;
        assert_eq!(
            at,
            before_alter.to_string(),
            "run {run}: checkpoint just before it"
        );
        let rows: Vec<(i32, i32, Option<i32>)> = tgt
            .query("SELECT id, v, c FROM t ORDER BY id")
            .await
            .expect("t");
        assert_eq!(rows, vec![(1, 1, None)], "run {run}");
    }
    // Fixed on the target: the restart applies it and moves on.
    exec(&mut tgt, "ALTER TABLE t DROP COLUMN c").await;
    apply_to_end(&dbs, &sel, &start, &o)
        .await
        .unwrap_or_else(|e| panic!("after the fix: {e}"));
    compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None)
        .await
        .assert_equal("t after the fix");
    // Skipped explicitly, and recorded.
    exec(
        &mut src,
        "INSERT INTO u VALUES (1, 1); ALTER TABLE u ADD INDEX ix (v); INSERT INTO u VALUES (2, 2)",
    )
    .await;
    apply_to_end(&dbs, &sel, &start, &o)
        .await
        .expect_err("the target refuses the index");
    let r = apply_to_end(
        &dbs,
        &sel,
        &start,
        &ApplyOptions {
            skip_failed_ddl: true,
            ..o.clone()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("skipping: {e}"));
    assert!(
        r.ddl_skipped
            .iter()
            .any(|s| s.contains("refused") && s.contains("ADD INDEX")),
        "{r:?}"
    );
    let recorded: i64 = query_one(
        &mut tgt,
        &format!(
            "SELECT COUNT(*) FROM dts_meta.cdc_ddl WHERE task = '{}' AND state = 'skipped' \
             AND source_statement LIKE '%ADD INDEX ix%'",
            dbs.name
        ),
    )
    .await;
    assert_eq!(recorded, 1, "the skip is recorded in the DDL journal");
    compare_tables(&mut src, &dbs.name, "u", &mut tgt, None, None)
        .await
        .assert_equal("u after the skip");
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn l4_a_rename_the_ddl_filter_leaves_out_stops_before_it_naming_the_fix() {
    use schema_diff::binlog_ddl::DdlKind;
    let dbs = TestDatabases::new("apply_l4f").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    for c in [&mut src, &mut tgt] {
        exec(c, "CREATE TABLE r (id INT PRIMARY KEY)").await;
    }
    let mut sel = ApplySelection::databases(&[&dbs.name]);
    sel.operations.push(bulk_copy::apply::Operations {
        database: dbs.name.clone(),
        table: None,
        insert: true,
        update: true,
        delete: true,
        ddl: vec![DdlKind::AlterTable],
    });
    let start = hand_off(&dbs, &sel).await;
    exec(
        &mut src,
        "INSERT INTO r VALUES (1); RENAME TABLE r TO r2; INSERT INTO r2 VALUES (2)",
    )
    .await;
    let e = apply_to_end(&dbs, &sel, &start, &options(&dbs))
        .await
        .expect_err("a rename the filter leaves out");
    assert!(e.to_string().contains("rename-table"), "{e}");
    // The documented way forward: let RENAME TABLE through, start again.
    sel.operations.clear();
    apply_to_end(&dbs, &sel, &start, &options(&dbs))
        .await
        .unwrap_or_else(|e| panic!("after the fix: {e}"));
    compare_tables(&mut src, &dbs.name, "r2", &mut tgt, None, None)
        .await
        .assert_equal("r2");
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn c4_restarts_right_after_a_ddl_and_after_a_transaction_without_selected_rows_skip_nothing()
{
    let dbs = TestDatabases::new("apply_c4").await;
    let other = format!("{}_o", dbs.name);
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(&mut src, &format!("CREATE DATABASE `{other}`")).await;
    exec(
        &mut src,
        &format!("CREATE TABLE `{other}`.u (id INT PRIMARY KEY)"),
    )
    .await;
    for c in [&mut src, &mut tgt] {
        exec(c, "CREATE TABLE t (id INT PRIMARY KEY, v INT)").await;
    }
    let sel = ApplySelection::databases(&[&dbs.name]);
    let start = hand_off(&dbs, &sel).await;
    let o = options(&dbs);
    // Each step ends on a QUERY event: a DDL; a transaction whose rows are
    // all of an unselected table (for the apply: BEGIN, nothing, COMMIT);
    // a DDL again. The apply stops right there each time and starts again.
    let steps = [
        "INSERT INTO t VALUES (1, 1); ALTER TABLE t ADD COLUMN w INT DEFAULT 9",
        &format!("BEGIN; INSERT INTO `{other}`.u VALUES (1); COMMIT"),
        "INSERT INTO t VALUES (2, 2, 2); CREATE INDEX iv ON t (v)",
        &format!("BEGIN; INSERT INTO `{other}`.u VALUES (2); UPDATE `{other}`.u SET id = 3 WHERE id = 2; COMMIT"),
        "UPDATE t SET w = 7 WHERE id = 1; INSERT INTO t VALUES (3, 3, 3)",
    ];
    let mut runs = 0;
    for step in steps {
        exec(&mut src, step).await;
        // Right after the step's last event (other tests write to the
        // shared source too: the stop is at this test's own position).
        let after = position(&mut src).await;
        let r = apply_changes(
            &opts(Server::Source, None),
            &opts(Server::Target, None),
            &sel,
            Some(&HandOff {
                start: start.clone(),
                overlap_end: None,
            }),
            &ApplyOptions {
                until: Some(after.clone()),
                ..o.clone()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("after {step}: {e}"));
        assert_eq!(r.position, Some(after), "stopped right after: {step}");
        runs += 1;
    }
    assert_eq!(runs, 5);
    compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None)
        .await
        .assert_equal("t");
    assert_eq!(
        columns(&mut src, &dbs.name, "t").await,
        columns(&mut tgt, &dbs.name, "t").await
    );
    exec(&mut src, &format!("DROP DATABASE `{other}`")).await;
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

/// The overlap window of a copy whose tables were read at different binlog
/// positions (the watermark snapshot): a replayed change may meet a row the
/// copy read at a later position. Here row 1 already holds `u = 1` on the
/// target (its state after the last change), while the replay inserts row 2
/// with `u = 1` first, as the source did when row 1 still had `u = 0`; then
/// an update of row 2 to `u = 2` meets row 3's final `u = 2`. A colliding
/// row is provably rewritten by a later change of the window
/// (design rule 8), so the replay must pass it instead of stopping on the
/// secondary unique key; the end state equals the source, for a coalesced
/// table and for an ordered one (in a foreign key).
async fn overlap_replay_passes_a_secondary_unique_collision(ordered: bool) {
    let dbs = TestDatabases::new(if ordered {
        "overlap_uk_o"
    } else {
        "overlap_uk_c"
    })
    .await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let mut ddl = vec!["CREATE TABLE t (id INT PRIMARY KEY, u INT, v VARCHAR(10), UNIQUE KEY (u))"];
    if ordered {
        ddl.push(
            "CREATE TABLE c (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES t (id) \
             ON DELETE CASCADE)",
        );
    }
    for d in &ddl {
        exec(&mut src, d).await;
        exec(&mut tgt, d).await;
    }
    exec(&mut src, "INSERT INTO t VALUES (1, 0, 'one')").await;
    let sel = ApplySelection::databases(&[&dbs.name]);
    let start = hand_off(&dbs, &sel).await;
    exec(
        &mut src,
        "INSERT INTO t VALUES (2, 1, 'two');
         UPDATE t SET u = 2 WHERE id = 2;
         UPDATE t SET u = 1, v = 'uno' WHERE id = 1;
         INSERT INTO t VALUES (3, 3, 'three');
         UPDATE t SET u = 5 WHERE id = 2;
         UPDATE t SET u = 2 WHERE id = 3",
    )
    .await;
    if ordered {
        exec(&mut src, "INSERT INTO c VALUES (10, 1), (20, 2)").await;
    }
    let overlap_end = position(&mut src).await;
    // The copy read every row after the last change.
    exec(
        &mut tgt,
        "INSERT INTO t VALUES (1, 1, 'uno'), (2, 5, 'two'), (3, 2, 'three')",
    )
    .await;
    if ordered {
        exec(&mut tgt, "INSERT INTO c VALUES (10, 1), (20, 2)").await;
    }
    // One change after the window, applied with the checks on.
    exec(&mut src, "UPDATE t SET v = 'after' WHERE id = 3").await;
    let end = position(&mut src).await;
    let o = ApplyOptions {
        // Each source transaction in a target transaction of its own, so
        // that nothing coalesces the collision away.
        batch_bytes: 1,
        until: Some(end),
        ..options(&dbs)
    };
    let r = apply_changes(
        &opts(Server::Source, None),
        &opts(Server::Target, None),
        &sel,
        Some(&HandOff {
            start,
            overlap_end: Some(overlap_end),
        }),
        &o,
    )
    .await
    .unwrap_or_else(|e| panic!("the overlap replay stopped: {e}"));
    assert!(r.transactions >= 7, "{r:?}");
    compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None)
        .await
        .assert_equal("t after the overlap replay");
    if ordered {
        compare_tables(&mut src, &dbs.name, "c", &mut tgt, None, None)
            .await
            .assert_equal("c after the overlap replay");
    }
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn overlap_replay_passes_a_secondary_unique_collision_coalesced() {
    overlap_replay_passes_a_secondary_unique_collision(false).await;
}

#[tokio::test]
async fn overlap_replay_passes_a_secondary_unique_collision_ordered() {
    overlap_replay_passes_a_secondary_unique_collision(true).await;
}

/// After every source connection is cut (as a source restart does), the
/// heartbeat reconnects like the binlog stream: on an idle source its rows
/// go on being written and read back, so the lag stays measured (before,
/// the lag climbed forever and `dts cutover` waited at its first step).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heartbeat_reconnects_after_the_source_connections_are_cut() {
    let dbs = TestDatabases::new("apply_hb").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(&mut src, "CREATE TABLE t (id INT PRIMARY KEY)").await;
    exec(&mut tgt, "CREATE TABLE t (id INT PRIMARY KEY)").await;
    let sel = ApplySelection::databases(&[&dbs.name]);
    let start = hand_off(&dbs, &sel).await;
    let proxy = dts_test_support::proxy::Proxy::start(opts(Server::Source, None).tcp_port()).await;
    let source: mysql_async::Opts = mysql_async::OptsBuilder::from_opts(opts(Server::Source, None))
        .tcp_port(proxy.port)
        .prefer_socket(false)
        .into();
    let progress = ApplyProgress::new();
    let stop = StopSignal::new();
    let o = ApplyOptions {
        progress: progress.clone(),
        stop: stop.clone(),
        heartbeat: Some(bulk_copy::Heartbeat {
            interval: Duration::from_millis(100),
            ..Default::default()
        }),
        ..options(&dbs)
    };
    let applier = {
        let (sel, o) = (sel.clone(), o.clone());
        tokio::spawn(async move {
            apply_changes(
                &source,
                &opts(Server::Target, None),
                &sel,
                Some(&HandOff {
                    start,
                    overlap_end: None,
                }),
                &o,
            )
            .await
        })
    };
    let beat = format!(
        "SELECT CAST(COALESCE(MAX(ts_us), 0) AS SIGNED) FROM dts_meta.heartbeat WHERE task = '{}'",
        dbs.name
    );
    // Waits until the heartbeat row on the source changes, and the apply
    // has read heartbeats after that.
    async fn wait_for_beats(
        src: &mut mysql_async::Conn,
        beat: &str,
        progress: &ApplyProgress,
        what: &str,
    ) {
        let first: i64 = query_one(src, beat).await;
        let applied = progress.status().transactions;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let now: i64 = query_one(src, beat).await;
            if now > first && progress.status().transactions > applied + 2 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: the heartbeat row stays at {now} (was {first}); applied {:?}",
                progress.status()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    wait_for_beats(&mut src, &beat, &progress, "before the cut").await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.heal();
    wait_for_beats(&mut src, &beat, &progress, "after the cut").await;
    stop.stop();
    applier
        .await
        .expect("apply task")
        .unwrap_or_else(|e| panic!("apply: {e}"));
    exec(
        &mut src,
        &format!("DELETE FROM dts_meta.heartbeat WHERE task = '{}'", dbs.name),
    )
    .await;
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}

/// `[migration] definer` governs the views and routines created while
/// changes are applied, as it does those of the schema migration: with an
/// account, every DEFINER becomes it and SQL SECURITY is kept.
#[tokio::test]
async fn views_and_routines_created_during_the_apply_take_the_definer_rule() {
    let dbs = TestDatabases::new("apply_definer").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    exec(&mut src, "CREATE TABLE t (id INT PRIMARY KEY)").await;
    exec(&mut tgt, "CREATE TABLE t (id INT PRIMARY KEY)").await;
    let sel = ApplySelection::databases(&[&dbs.name]);
    let start = hand_off(&dbs, &sel).await;
    exec(
        &mut src,
        "CREATE DEFINER = `root`@`localhost` SQL SECURITY DEFINER VIEW v AS SELECT id FROM t;
         CREATE DEFINER = `root`@`localhost` PROCEDURE p() SQL SECURITY DEFINER SELECT 1;
         CREATE DEFINER = `root`@`localhost` FUNCTION f() RETURNS INT DETERMINISTIC RETURN 7",
    )
    .await;
    let o = ApplyOptions {
        definer: schema_diff::translate::DefinerPolicy::Account("`dts_owner`@`%`".into()),
        ..options(&dbs)
    };
    apply_to_end(&dbs, &sel, &start, &o)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    let definers: String = query_one(
        &mut tgt,
        &format!(
            "SELECT GROUP_CONCAT(x ORDER BY x) FROM (
               SELECT CONCAT(table_name, ' ', definer, ' ', security_type) x
                 FROM information_schema.views WHERE table_schema = '{0}'
               UNION ALL
               SELECT CONCAT(routine_name, ' ', definer, ' ', security_type)
                 FROM information_schema.routines WHERE routine_schema = '{0}') s",
            dbs.name
        ),
    )
    .await;
    assert_eq!(
        definers,
        "f dts_owner@% DEFINER,p dts_owner@% DEFINER,v dts_owner@% DEFINER"
    );
    drop_shadow(&dbs).await;
    dbs.cleanup().await;
}
