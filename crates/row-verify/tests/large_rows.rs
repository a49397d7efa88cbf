//! Large rows (catalogue D11, S11; issue 19): 16 MB BLOB and TEXT values and
//! a 1,000-column table through the full copy, the CDC apply and
//! verification; rows longer than either server's `max_allowed_packet`
//! read all the same, apply statements cut to the target's
//! `max_allowed_packet`, and a single row over it stopping the apply with
//! what to change.

use bulk_copy::{
    apply_changes, copy_tables, prepare_incremental, ApplyOptions, ApplySelection, CopyError,
    CopyOptions, CopyReport, HandOff, TableMapping,
};
use dts_test_support::{
    binlog_position, compare_tables, exec, opts, Instance, Server, TestDatabases,
};
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};
use row_verify::{verify_tables, VerifyOptions, VerifyReport};

use binlog_reader::position::FilePosition;

/// 16 MiB.
const MB16: usize = 16 << 20;

async fn position(c: &mut Conn) -> FilePosition {
    let (f, p) = binlog_position(c).await;
    FilePosition::new(f, p)
}

async fn copy(source: &Opts, target: &Opts, m: &[TableMapping], task: &str) -> CopyReport {
    copy_tables(
        source,
        target,
        m,
        &CopyOptions {
            task: task.to_string(),
            // Chunks committed as they go, not one transaction per table.
            bulk_max_bytes: 0,
            ..CopyOptions::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("copy: {e}"))
}

/// Applies from `start` up to the source's current end.
async fn apply(
    source: &Opts,
    target: &Opts,
    db: &str,
    start: &FilePosition,
) -> Result<bulk_copy::ApplyReport, CopyError> {
    let mut src = Conn::new(source.clone()).await.expect("source");
    let end = position(&mut src).await;
    apply_changes(
        source,
        target,
        &ApplySelection::databases(&[db]),
        Some(&HandOff {
            start: start.clone(),
            overlap_end: None,
        }),
        &ApplyOptions {
            task: db.to_string(),
            until: Some(end),
            ..ApplyOptions::default()
        },
    )
    .await
}

async fn verify(source: &Opts, target: &Opts, m: &[TableMapping]) -> VerifyReport {
    verify_tables(source, target, m, &VerifyOptions::default())
        .await
        .unwrap_or_else(|e| panic!("verify: {e}"))
}

/// The 999 value columns of `wide`.
fn wide_ddl() -> String {
    let cols: Vec<String> = (1..1000).map(|n| format!("c{n} INT NULL")).collect();
    format!(
        "CREATE TABLE wide (id INT PRIMARY KEY, {}) ROW_FORMAT=DYNAMIC",
        cols.join(", ")
    )
}

/// Rows `from..=to` of `wide`, every column set, one in ten NULL.
fn wide_rows(from: u32, to: u32) -> String {
    let vals: Vec<String> = (1..1000)
        .map(|n| {
            if n % 10 == 0 {
                "NULL".to_string()
            } else {
                format!("(i * 7919 + {n}) % 2147483647")
            }
        })
        .collect();
    format!(
        "INSERT INTO wide WITH RECURSIVE s(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM s \
         WHERE i < {to}) SELECT i, {} FROM s",
        vals.join(", ")
    )
}

/// D11: 16 MB values (every byte LOAD DATA and SQL literals escape, NULL
/// against empty) in LONGBLOB, LONGTEXT and a full MEDIUMBLOB, and a
/// 1,000-column table, copied, then changed and applied, then verified
/// equal; and a one-byte change in the middle of a 16 MB value found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d11_16_mb_values_and_1000_columns_through_copy_apply_and_verify() {
    let dbs = TestDatabases::new("large_d11").await;
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    let big = "CREATE TABLE big (id INT PRIMARY KEY, b LONGBLOB, t LONGTEXT, m MEDIUMBLOB)";
    for c in [&mut src, &mut tgt] {
        exec(c, big).await;
        exec(c, &wide_ddl()).await;
    }
    // 16 MiB of bytes LOAD DATA and literals escape; 16 MB of text with
    // multi-byte characters, quotes, backslashes and NUL; a MEDIUMBLOB at
    // its largest (16 MiB - 1).
    let blob =
        |pattern: &str| format!("LEFT(REPEAT(UNHEX('{pattern}'), {}), {MB16})", MB16 / 4 + 1);
    let text = "REPEAT(CONCAT('ä''\\\\%_;--', CHAR(0 USING utf8mb4), '\\n\\t'), 1400000)";
    let medium = format!(
        "LEFT(REPEAT(UNHEX('FF00275C'), {}), {})",
        MB16 / 4,
        MB16 - 1
    );
    exec(
        &mut src,
        &format!(
            "INSERT INTO big VALUES (1, {}, {text}, {medium}), (2, '', NULL, ''), \
             (3, {}, {text}, NULL)",
            blob("00275C0A"),
            blob("0D091A25")
        ),
    )
    .await;
    exec(&mut src, &wide_rows(1, 300)).await;
    exec(&mut src, "ANALYZE TABLE big, wide").await;
    let m: Vec<TableMapping> = ["big", "wide"]
        .iter()
        .map(|t| TableMapping::same(&dbs.name, t))
        .collect();
    let (so, to) = (opts(Server::Source, None), opts(Server::Target, None));
    prepare_incremental(
        &so,
        &to,
        &ApplySelection::databases(&[&dbs.name]),
        &ApplyOptions {
            task: dbs.name.clone(),
            ..ApplyOptions::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("prepare: {e}"));
    let report = copy(&so, &to, &m, &dbs.name).await;
    assert_eq!(report.tables[0].rows, 3, "{report:?}");
    assert_eq!(report.tables[1].rows, 300, "{report:?}");
    let start = report.start.clone().expect("the source has a binlog");

    // Changes of 16 MB rows and of every column of the wide table.
    exec(
        &mut src,
        &format!(
            "INSERT INTO big VALUES (4, {}, {text}, {medium}); \
             UPDATE big SET b = {}, t = CONCAT(t, 'x') WHERE id = 1; \
             UPDATE big SET b = NULL, t = '' WHERE id = 2; \
             DELETE FROM big WHERE id = 3",
            blob("5C275C00"),
            blob("FFFE0A0D")
        ),
    )
    .await;
    exec(&mut src, &wide_rows(301, 400)).await;
    let set: Vec<String> = (1..1000).map(|n| format!("c{n} = c{n} + {n}")).collect();
    exec(
        &mut src,
        &format!("UPDATE wide SET {} WHERE id % 3 = 0", set.join(", ")),
    )
    .await;
    exec(&mut src, "DELETE FROM wide WHERE id % 7 = 0").await;
    let r = apply(&so, &to, &dbs.name, &start)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    assert!(r.rows >= 4, "{r:?}");

    let v = verify(&so, &to, &m).await;
    assert!(v.is_equal(), "{v:?}");
    assert_eq!(v.tables[0].source_rows, 3);
    for t in ["big", "wide"] {
        compare_tables(&mut src, &dbs.name, t, &mut tgt, None, None)
            .await
            .assert_equal(t);
    }
    // One byte in the middle of a 16 MB value: verification sees it.
    exec(
        &mut tgt,
        "UPDATE big SET b = INSERT(b, 8000000, 1, 'x') WHERE id = 4",
    )
    .await;
    let v = verify(&so, &to, &m).await;
    assert_eq!(v.tables[0].different, 1, "{v:?}");
    exec(&mut tgt, "DROP DATABASE IF EXISTS dts_meta").await;
    dbs.cleanup().await;
}

/// Loads rows into `table` with LOAD DATA LOCAL (which, unlike a
/// statement, takes rows longer than the server's max_allowed_packet).
async fn load_rows(c: &mut Conn, table: &str, rows: Vec<(u32, Vec<u8>)>) {
    let mut data = Vec::new();
    for (id, v) in rows {
        data.extend_from_slice(format!("{id}\t").as_bytes());
        for b in v {
            match b {
                b'\t' | b'\n' | b'\\' => data.extend_from_slice(&[b'\\', b]),
                0 => data.extend_from_slice(b"\\0"),
                b => data.push(b),
            }
        }
        data.push(b'\n');
    }
    // In pieces: each is a packet, at most the server's max_allowed_packet.
    let bytes = bytes::Bytes::from(data);
    let pieces: Vec<std::io::Result<bytes::Bytes>> = (0..bytes.len())
        .step_by(64 << 10)
        .map(|at| Ok(bytes.slice(at..(at + (64 << 10)).min(bytes.len()))))
        .collect();
    c.set_infile_handler(
        async move { Ok(futures::StreamExt::boxed(futures::stream::iter(pieces))) },
    );
    c.query_drop(format!(
        "LOAD DATA LOCAL INFILE 'rows' INTO TABLE {table} CHARACTER SET binary"
    ))
    .await
    .unwrap_or_else(|e| panic!("loading rows into {table}: {e}"));
}

fn value(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// S11: both servers with a 1 MiB max_allowed_packet. Rows of 2 MB (which
/// LOAD DATA stored) are copied and verified (read past each server's
/// packet size); eight 300 kB rows inserted in one transaction are
/// applied in statements the target takes (two rows' literals are over
/// it); then a 2 MB row stops the apply with the size and the fix, and is
/// neither truncated nor retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s11_the_targets_max_allowed_packet_cuts_apply_statements_then_stops_on_a_row_over_it() {
    let small = [
        "--log-bin=binlog",
        "--binlog-format=ROW",
        "--server-id=1",
        "--max-allowed-packet=1M",
        "--innodb-log-file-size=64M",
    ];
    let source = Instance::start(&small);
    let target = Instance::start(&small[3..]);
    let (so, to) = (source.opts(), target.opts());
    let db = "large_s11";
    let mut src = source.conn().await;
    let mut tgt = target.conn().await;
    for c in [&mut src, &mut tgt] {
        exec(c, &format!("CREATE DATABASE {db}")).await;
        exec(
            c,
            &format!("CREATE TABLE {db}.t (id INT PRIMARY KEY, b LONGBLOB)"),
        )
        .await;
    }
    let packet: u64 = src
        .query_first("SELECT @@max_allowed_packet")
        .await
        .expect("max_allowed_packet")
        .expect("a value");
    assert_eq!(packet, 1 << 20);
    load_rows(
        &mut src,
        &format!("{db}.t"),
        vec![
            (1, value(1, 2 << 20)),
            (2, value(2, 10)),
            (3, value(3, 2 << 20)),
        ],
    )
    .await;
    prepare_incremental(
        &so,
        &to,
        &ApplySelection::databases(&[db]),
        &ApplyOptions {
            task: db.to_string(),
            ..ApplyOptions::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("prepare: {e}"));
    let m = vec![TableMapping::same(db, "t")];
    let report = copy(&so, &to, &m, db).await;
    assert_eq!(report.tables[0].rows, 3, "{report:?}");
    let start = report.start.clone().expect("a binlog");
    let v = verify(&so, &to, &m).await;
    assert!(v.is_equal(), "{v:?}");

    // Eight 300 kB rows in one transaction: 600 kB of literal each.
    exec(
        &mut src,
        &format!(
            "INSERT INTO {db}.t WITH RECURSIVE s(i) AS (SELECT 10 UNION ALL SELECT i + 1 FROM s \
             WHERE i < 17) SELECT i, REPEAT(CHAR(i, 0, 39, 92), 75000) FROM s"
        ),
    )
    .await;
    let r = apply(&so, &to, db, &start)
        .await
        .unwrap_or_else(|e| panic!("apply: {e}"));
    assert!(r.rows >= 8, "{r:?}");
    let v = verify(&so, &to, &m).await;
    assert!(v.is_equal(), "{v:?}");
    assert_eq!(v.tables[0].source_rows, 11);

    // A 2 MB row: 4 MB of literal, over the target's 1 MiB.
    load_rows(&mut src, &format!("{db}.t"), vec![(100, value(9, 2 << 20))]).await;
    let err = apply(&so, &to, db, &start)
        .await
        .expect_err("a row over the target's max_allowed_packet stops the apply");
    let msg = err.to_string();
    assert!(
        matches!(err, CopyError::Table { .. })
            && msg.contains("`t`")
            && msg.contains("max_allowed_packet (1048576 bytes)")
            && msg.contains("at least 8388608"),
        "{msg}"
    );
    assert!(!err.is_retryable(), "{err}");
    let n: Option<u64> = tgt
        .query_first(format!("SELECT COUNT(*) FROM {db}.t WHERE id = 100"))
        .await
        .expect("count");
    assert_eq!(n, Some(0), "nothing of the row was written");
}
