//! The `tail_json` example, run against the source server: a row written to
//! the source appears as a JSON line, and every line is one JSON event. The
//! example's own code is compiled into this test (so it runs whatever cargo
//! target was built), from its argument parsing to its output.

use dts_test_support::{binlog_position, exec, opts, Server, TestDatabases};

#[path = "../examples/tail_json.rs"]
#[allow(dead_code)]
mod tail_json;

/// The source's URL without its password, and the password: what a user
/// gives the example on the command line and in `MYSQL_PWD`.
fn source_url() -> (String, Option<String>) {
    let o = opts(Server::Source, None);
    (
        format!(
            "mysql://{}@{}:{}",
            o.user().unwrap_or("root"),
            o.ip_or_hostname(),
            o.tcp_port()
        ),
        o.pass().map(str::to_string),
    )
}

#[tokio::test]
async fn a_row_written_to_the_source_appears_as_a_json_line() {
    let dbs = TestDatabases::new("example_tail_json").await;
    let mut src = dbs.source().await;
    exec(
        &mut src,
        "CREATE TABLE t (id INT PRIMARY KEY, note VARCHAR(40))",
    )
    .await;
    let (file, pos) = binlog_position(&mut src).await;
    exec(&mut src, "INSERT INTO t VALUES (7, 'tail-json ✓ marker')").await;

    let (url, password) = source_url();
    let args: Vec<String> = vec![
        url,
        format!("{file}:{pos}"),
        "--stop-at-end".into(),
        "--server-id".into(),
        (3_300_000 + std::process::id() % 100_000).to_string(),
    ];
    let mut out = Vec::new();
    let written = tail_json::run(&args, password, &mut out)
        .await
        .unwrap_or_else(|e| panic!("tail_json {args:?}: {e}"));
    let text = String::from_utf8(out).expect("UTF-8 output");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(lines.len() as u64, written, "one line per event");
    // The first event at the requested position is after it.
    assert!(
        lines
            .iter()
            .filter(|l| l["body"]["kind"] != "rotate" && l["body"]["kind"] != "format_description")
            .all(|l| l["pos"].as_u64() >= Some(pos)),
        "events before the start position:\n{text}"
    );
    let table = format!("{}.t", dbs.name);
    let row = lines
        .iter()
        .find(|l| l["body"]["kind"] == "rows" && l["body"]["table"] == table.as_str())
        .unwrap_or_else(|| panic!("no rows event of {table} among:\n{text}"));
    assert!(
        row["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("WRITE_ROWS")),
        "{row}"
    );
    let after = &row["body"]["rows"][0]["insert"]["after"];
    // Without the optional metadata (binlog_row_metadata MINIMAL or NO_LOG)
    // the binlog does not say the column is signed.
    assert!(
        after[0] == serde_json::json!({"type": "int", "value": 7})
            || after[0] == serde_json::json!({"type": "int_unknown_sign", "raw": 7, "bytes": 4}),
        "{row}"
    );
    assert_eq!(
        after[1],
        serde_json::json!({"type": "bytes", "value": "tail-json ✓ marker"}),
        "{row}"
    );
    dbs.cleanup().await;
}

#[tokio::test]
async fn a_password_on_the_command_line_is_refused_before_connecting() {
    let mut out = Vec::new();
    // Port 9 (discard): nothing is connected to.
    let err = tail_json::run(&["mysql://u:secret@127.0.0.1:9".into()], None, &mut out)
        .await
        .expect_err("a URL with a password");
    assert!(err.to_string().contains("MYSQL_PWD"), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
    assert!(out.is_empty());
}
