//! `dts apply --binlog-file` with a real server's bytes: `mdev6020-mysql-bin.000001`
//! from `mariadb-test-data` (a random workload on 10 tables of database
//! `test`, partitioned ones included: 1,116 inserts, 774 updates and 598
//! deletes, with savepoints, and the tables' DDL) applied by `dts` into one
//! database of the target, in two runs (the second resumes from the
//! checkpoint), and by `mariadb-binlog FILE | mariadb` into a throwaway
//! server (`mariadb-binlog --rewrite-db` garbles this old file's row events,
//! so the reference keeps the name `test` on a server of its own): the two
//! are equal, table by table, on exact bytes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use dts_test_support::{compare_tables, query_one, Instance, Server, TestDatabases};
use mysql_async::prelude::*;

const MDEV6020: &str = "/usr/share/mysql/mysql-test/std_data/mdev6020-mysql-bin.000001";

fn dts_apply(extra: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dts"));
    c.arg("apply").args(extra);
    c.output().expect("running dts apply")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `mariadb-binlog FILE | mariadb` on the server at `port`.
fn mariadb_binlog_into(port: u16) {
    let dump = Command::new("mariadb-binlog")
        .args(["--no-defaults", MDEV6020])
        .output()
        .expect("mariadb-binlog (install mariadb-client)");
    assert!(dump.status.success(), "{}", text(&dump.stderr));
    let mut client = Command::new("mariadb")
        .args([
            "--no-defaults",
            "-h",
            "127.0.0.1",
            "-P",
            &port.to_string(),
            "-u",
            "root",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mariadb client (install mariadb-client)");
    client
        .stdin
        .take()
        .expect("stdin")
        .write_all(&dump.stdout)
        .expect("writing the script");
    let done = client.wait_with_output().expect("mariadb client");
    assert!(done.status.success(), "{}", text(&done.stderr));
}

#[tokio::test]
async fn mdev6020_applied_by_dts_in_two_runs_equals_mariadb_binlog_replay_on_exact_bytes() {
    assert!(
        std::path::Path::new(MDEV6020).is_file(),
        "{MDEV6020} is missing: install mariadb-test-data (scripts/ensure-mariadb does)"
    );
    let dts = TestDatabases::new("mdev6020_dts").await;
    let reference = Instance::start(&[]);
    let task = dts.name.clone();
    let target = Server::Target.url();
    let common = [
        "--binlog-file",
        MDEV6020,
        "--target",
        &target,
        "--database",
        "test",
        "--target-database",
        &dts.name,
        "--task",
        &task,
    ];

    // The first run stops in the middle of the file.
    let mut first: Vec<&str> = common.to_vec();
    first.extend(["--until", "mdev6020-mysql-bin.000001:250000"]);
    let out = dts_apply(&first);
    assert!(out.status.success(), "first run: {}", text(&out.stderr));
    let mut tgt = dts.target().await;
    let (file, pos): (String, u64) = query_one(
        &mut tgt,
        &format!(
            "SELECT binlog_file, binlog_pos FROM dts_meta.cdc_checkpoint WHERE task = '{task}'"
        ),
    )
    .await;
    assert_eq!(file, "mdev6020-mysql-bin.000001");
    assert!((250_000..516_117).contains(&pos), "checkpoint at {pos}");

    // The second resumes: with the default conflict policy (error), a row
    // inserted twice would stop it.
    let out = dts_apply(&common);
    assert!(out.status.success(), "second run: {}", text(&out.stderr));
    // Up to the end of the last transaction: mariadb-binlog's last
    // `end_log_pos` before the file's closing STOP.
    let listing = Command::new("mariadb-binlog")
        .args(["--no-defaults", MDEV6020])
        .output()
        .expect("mariadb-binlog");
    let listing = text(&listing.stdout);
    let last_xid_end = listing
        .lines()
        .filter(|l| l.contains("\tXid = "))
        .filter_map(|l| l.split("end_log_pos ").nth(1)?.split_whitespace().next())
        .next_back()
        .expect("an Xid in the listing");
    let report = text(&out.stdout);
    assert!(
        report.contains(&format!(
            "applied up to mdev6020-mysql-bin.000001:{last_xid_end}:"
        )),
        "{report}"
    );

    mariadb_binlog_into(reference.port);

    let mut r = reference.conn().await;
    let tables: Vec<String> = r
        .query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'test' ORDER BY 1")
        .await
        .unwrap();
    assert_eq!(tables.len(), 10, "{tables:?}");
    let mut rows = 0u64;
    for t in &tables {
        let mut a = dts.target().await;
        let mut b = reference.conn().await;
        compare_tables(&mut b, "test", t, &mut a, Some(&dts.name), None)
            .await
            .assert_equal(t);
        let n: u64 = query_one(&mut b, &format!("SELECT COUNT(*) FROM test.`{t}`")).await;
        rows += n;
    }
    assert!(rows > 0, "the workload leaves rows");
    // Every row change of the file's 2,488 rows events (1,116 writes, 774
    // updates, 598 deletes), counted by mariadb-binlog, was applied.
    let events = listing
        .lines()
        .filter(|l| {
            ["Write_rows", "Update_rows", "Delete_rows"]
                .iter()
                .any(|k| l.contains(k))
        })
        .count();
    assert_eq!(events, 1116 + 774 + 598);
    let changes: u64 = listing
        .lines()
        .filter_map(|l| l.strip_prefix("# Number of rows: "))
        .map(|n| n.trim().parse::<u64>().unwrap())
        .sum();
    assert!(
        report.contains(&format!(" {changes} row changes")),
        "{report} (mariadb-binlog counts {changes} row changes)"
    );
    // A third run has nothing left to do.
    let out = dts_apply(&common);
    assert!(out.status.success(), "third run: {}", text(&out.stderr));
    dts.cleanup().await;
}
