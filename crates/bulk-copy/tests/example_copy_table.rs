//! The `copy_table` example, run against the test servers: a table of
//! D1-D16 edge values is copied exactly (compared byte for byte), and the
//! position it prints parses as a binlog position at or after the one
//! before the copy. The example's own code is compiled into this test, from
//! its argument parsing to its output.

use dts_test_support::{
    binlog_position, compare_tables, exec, forget_copy_task, opts, Server, TestDatabases,
    EDGE_ROWS, EDGE_TABLE,
};

#[path = "../examples/copy_table.rs"]
#[allow(dead_code)]
mod copy_table;

/// A server's URL without its password, and the password: what a user
/// gives the example on the command line and in the environment.
fn url(server: Server) -> (String, Option<String>) {
    let o = opts(server, None);
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
async fn one_table_of_edge_values_is_copied_exactly_and_the_position_parses() {
    let dbs = TestDatabases::new("example_copy_table").await;
    let mut src = dbs.source().await;
    exec(
        &mut src,
        "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'",
    )
    .await;
    exec(&mut src, EDGE_TABLE).await;
    for r in EDGE_ROWS {
        exec(&mut src, r).await;
    }
    let mut tgt = dbs.target().await;
    exec(&mut tgt, EDGE_TABLE).await;
    let (file, pos) = binlog_position(&mut src).await;
    let before = binlog_reader::position::FilePosition::new(file, pos);

    let ((source, source_pw), (target, target_pw)) = (url(Server::Source), url(Server::Target));
    let task = format!("example-{}", dbs.name);
    let args: Vec<String> = vec![
        source,
        target,
        format!("{}.edge", dbs.name),
        "--task".into(),
        task.clone(),
    ];
    let mut out = Vec::new();
    copy_table::run(&args, (source_pw, target_pw), &mut out)
        .await
        .unwrap_or_else(|e| panic!("copy_table {args:?}: {e}"));
    let text = String::from_utf8(out).expect("UTF-8 output");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].contains(&format!("{} rows", EDGE_ROWS.len())),
        "{text}"
    );
    let at = lines[1]
        .strip_prefix("continue from ")
        .unwrap_or_else(|| panic!("no position printed: {text}"));
    let at = binlog_reader::position::FilePosition::parse(at)
        .unwrap_or_else(|e| panic!("the printed position {at:?} does not parse: {e}"));
    assert!(
        at >= before,
        "{at} is before {before}, where the copy started"
    );
    compare_tables(&mut src, &dbs.name, "edge", &mut tgt, None, None)
        .await
        .assert_equal("edge values copied by the example");
    forget_copy_task(&mut tgt, &task).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn a_password_on_the_command_line_is_refused_before_connecting() {
    let mut out = Vec::new();
    // Port 9 (discard): nothing is connected to.
    let args = [
        "mysql://u:secret@127.0.0.1:9".to_string(),
        "mysql://u@127.0.0.1:9".into(),
        "d.t".into(),
    ];
    let err = copy_table::run(&args, (None, None), &mut out)
        .await
        .expect_err("a URL with a password");
    assert!(err.to_string().contains("DTS_SOURCE_PASSWORD"), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
    assert!(out.is_empty());
}
