//! The commands without a task file connect under the task file's TLS
//! policy (design rule 22): `--ssl-mode` (both servers) and
//! `--source-ssl-mode`/`--target-ssl-mode`, `--ssl-ca`. The test servers
//! offer no TLS, so `required` must fail on the server it is asked for, and
//! `preferred` (the default) falls back to a plain connection.

use std::process::{Command, Output};

use dts_test_support::{exec, Server, TestDatabases};

fn dts(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dts"))
        .args(args)
        .output()
        .expect("running dts")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Refused for TLS on `server`: exit 2, the message names the server and
/// the missing TLS.
fn refused_on(o: &Output, server: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{}", text(o));
    assert!(
        err.contains("SSL") && err.contains(server),
        "expected a TLS refusal on the {server}: {}",
        text(o)
    );
}

#[tokio::test]
async fn n6_standalone_commands_connect_under_the_tls_policy() {
    let dbs = TestDatabases::new("tls_cli").await;
    for s in [Server::Source, Server::Target] {
        exec(
            &mut dbs.conn(s).await,
            "CREATE TABLE t (id INT PRIMARY KEY)",
        )
        .await;
    }
    let (src, tgt) = (Server::Source.url(), Server::Target.url());
    let db = dbs.name.as_str();
    let task = format!("tls-{db}");
    let servers = ["--source", &src, "--target", &tgt, "--database", db];

    // The default (preferred) falls back to plain: the commands work.
    let ok = dts(&[&["verify"], &servers[..]].concat());
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));

    let required = ["--ssl-mode", "required"];
    let target_only = ["--ssl-mode", "disabled", "--target-ssl-mode", "required"];
    for cmd in [
        &["verify"][..],
        &["copy", "--task", &task][..],
        &["apply", "--task", &task, "--prepare"][..],
    ] {
        refused_on(&dts(&[cmd, &servers[..], &required[..]].concat()), "source");
        refused_on(
            &dts(&[cmd, &servers[..], &target_only[..]].concat()),
            "target",
        );
    }
    refused_on(
        &dts(&[
            "schema",
            "plan",
            "--source",
            &src,
            "--database",
            db,
            "--target-version",
            "8.0.36",
            "--ssl-mode",
            "required",
        ]),
        "source",
    );
    refused_on(
        &dts(&[
            "binlog",
            "dump",
            "--source",
            &src,
            "--source-ssl-mode",
            "required",
        ]),
        "source",
    );
    // verify-ca needs the CA certificate, as in a task file.
    let no_ca = dts(&[&["verify"], &servers[..], &["--ssl-mode", "verify-ca"]].concat());
    assert_eq!(no_ca.status.code(), Some(2), "{}", text(&no_ca));
    assert!(
        String::from_utf8_lossy(&no_ca.stderr).contains("--ssl-ca"),
        "{}",
        text(&no_ca)
    );
    dbs.cleanup().await;
}
