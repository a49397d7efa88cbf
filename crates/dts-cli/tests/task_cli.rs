//! `dts config show` and `dts precheck`: output, exit codes, and a password
//! with a quote, a double quote, a backslash and a backtick that never shows
//! (it is only ever in the task file, never in argv).

use std::process::{Command, Output};

use dts_test_support::{Server, TestDatabases};

const NASTY: &str = "p'a\"s\\s`w0rd";
const NASTY_IN_URL: &str = "p'a%22s%5Cs%60w0rd";

fn dts(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dts"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn file(dir: &std::path::Path, name: &str, source: &str, db: &str, extra: &str) -> String {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "[source]\nurl = \"{source}\"\n[target]\nurl = \"{}\"\n[[objects]]\n\
             database = \"{db}\"\n[migration]\ntypes = [\"schema\", \"full\", \"incremental\"]\n{extra}",
            Server::Target.url()
        ),
    )
    .unwrap();
    p.display().to_string()
}

#[tokio::test]
async fn config_show_and_precheck() {
    let dbs = TestDatabases::new("cli_precheck").await;
    dbs.exec(Server::Source, "CREATE TABLE t (id INT PRIMARY KEY)")
        .await;
    let dir = tempfile::tempdir().unwrap();

    let minimal = file(
        dir.path(),
        "shop.toml",
        &Server::Source.url(),
        &dbs.name,
        "",
    );
    let o = dts(&["config", "show", "--config", &minimal]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("task = \"shop\"") && out.contains("connection_minutes = 720"),
        "{out}"
    );

    // The root account of the test servers warns (documented): exit 1.
    let o = dts(&["precheck", "--config", &minimal, "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    // Acknowledged: exit 0, and the table says the task may start.
    let acked = file(
        dir.path(),
        "acked.toml",
        &Server::Source.url(),
        &dbs.name,
        "[precheck]\nacknowledge = [\"source.privileges_excessive\", \"target.privileges_excessive\"]\n",
    );
    let o = dts(&["precheck", "--config", &acked]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("the task may start"));

    // A password in the URL of the file: a failure (root has none), exit 2,
    // and the password appears nowhere.
    let with_pw = Server::Source
        .url()
        .replace("root@", &format!("root:{NASTY_IN_URL}@"));
    let secret = file(dir.path(), "secret.toml", &with_pw, &dbs.name, "");
    for args in [
        vec!["config", "show", "--config", &secret],
        vec!["config", "show", "--json", "--config", &secret],
        vec!["precheck", "--config", &secret],
        vec!["precheck", "--json", "--config", &secret],
    ] {
        let o = dts(&args);
        let out = text(&o);
        assert!(
            !out.contains(NASTY) && !out.contains("w0rd"),
            "{args:?}: {out}"
        );
        if args[0] == "precheck" {
            assert_eq!(o.status.code(), Some(2), "{out}");
            assert!(out.contains("source.connect"), "{out}");
        }
    }

    // A bad file: exit 2, the key and what is allowed.
    let bad = file(
        dir.path(),
        "bad.toml",
        &Server::Source.url(),
        &dbs.name,
        "[retry]\nother_minutes = 2000\n",
    );
    let o = dts(&["precheck", "--config", &bad]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("retry.other_minutes") && err.contains("1 to 1440"),
        "{err}"
    );
    dbs.cleanup().await;
}

/// `dts status` names the indexes a copy dropped for its load and has not
/// added back (a run that stopped after its last commit); the next copy of
/// the task adds them.
#[tokio::test]
async fn status_names_indexes_waiting_to_come_back() {
    let dbs = TestDatabases::new("cli_pending_idx").await;
    for server in [Server::Source, Server::Target] {
        dbs.exec(
            server,
            "CREATE TABLE t (id INT PRIMARY KEY, k INT, KEY k (k))",
        )
        .await;
    }
    dbs.exec(Server::Source, "INSERT INTO t VALUES (1, 10), (2, 20)")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("task.toml");
    std::fs::write(
        &config,
        format!(
            "task = \"{0}\"\n[source]\nurl = \"{1}\"\n[target]\nurl = \"{2}\"\n[[objects]]\n\
             database = \"{0}\"\n[migration]\ntypes = [\"full\"]\n",
            dbs.name,
            Server::Source.url(),
            Server::Target.url()
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let copy = || {
        dts(&[
            "copy",
            "--source",
            &Server::Source.url(),
            "--target",
            &Server::Target.url(),
            "--database",
            &dbs.name,
            "--task",
            &dbs.name,
            "--defer-indexes-min-bytes",
            "0",
        ])
    };
    let o = dts(&["run", "--config", &config]);
    assert!(o.status.success(), "{}", text(&o));
    // As a run that stopped after its last commit leaves it.
    dbs.exec(
        Server::Target,
        &format!(
            "INSERT INTO dts_meta.copy_index VALUES ('{0}', '{0}', 't', 'k', 0, 'KEY `k` (`k`)'); \
             ALTER TABLE t DROP INDEX k",
            dbs.name
        ),
    )
    .await;
    let o = dts(&["status", "--config", &config]);
    assert!(
        text(&o).contains("secondary indexes dropped for the load, not back yet: k"),
        "{}",
        text(&o)
    );
    let o = dts(&["status", "--json", "--config", &config]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("status --json");
    assert_eq!(
        json["copy"][0]["indexes_pending"],
        serde_json::json!(["k"]),
        "{json}"
    );
    let o = copy();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("already copied"), "{}", text(&o));
    let o = dts(&["status", "--json", "--config", &config]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("status --json");
    assert_eq!(
        json["copy"][0]["indexes_pending"],
        serde_json::json!([]),
        "{json}"
    );
    let mut tgt = dbs.target().await;
    let n: i64 = dts_test_support::query_one(
        &mut tgt,
        "SELECT COUNT(*) FROM information_schema.statistics \
         WHERE table_schema = DATABASE() AND table_name = 't' AND index_name = 'k'",
    )
    .await;
    assert_eq!(n, 1, "the index is back");
    dts_test_support::forget_copy_task(&mut tgt, &dbs.name).await;
    dbs.cleanup().await;
}

/// The watermark snapshot from the command line and from a task file: `dts
/// copy --snapshot watermark`, and `dts run` of a full-only task with
/// `[full] snapshot = "watermark"`, both exact; an unknown snapshot names
/// the allowed ones.
#[tokio::test]
async fn copy_and_a_full_task_take_the_watermark_snapshot() {
    let dbs = TestDatabases::new("cli_watermark").await;
    for server in [Server::Source, Server::Target] {
        dbs.exec(
            server,
            "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10) COLLATE utf8mb4_general_ci)",
        )
        .await;
    }
    dbs.exec(
        Server::Source,
        "INSERT INTO t VALUES (1, 'a'), (2, 'B'), (3, NULL), (4, 'd'), (5, 'é')",
    )
    .await;
    let copy = |snapshot: &str| {
        dts(&[
            "copy",
            "--source",
            &Server::Source.url(),
            "--target",
            &Server::Target.url(),
            "--database",
            &dbs.name,
            "--task",
            &dbs.name,
            "--snapshot",
            snapshot,
            "--chunk-rows",
            "2",
        ])
    };
    let o = copy("watermarks");
    assert!(!o.status.success());
    assert!(text(&o).contains("watermark"), "{}", text(&o));
    let o = copy("watermark");
    assert!(o.status.success(), "{}", text(&o));
    let mut src = dbs.source().await;
    let mut tgt = dbs.target().await;
    dts_test_support::compare_tables(&mut src, &dbs.name, "t", &mut tgt, None, None)
        .await
        .assert_equal("dts copy --snapshot watermark");
    dts_test_support::forget_copy_task(&mut tgt, &dbs.name).await;

    // A full-only task into another database.
    let other = format!("{}_task", dbs.name);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("task.toml");
    std::fs::write(
        &config,
        format!(
            "task = \"{other}\"\n[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[[objects]]\n\
             database = \"{}\"\ntarget_database = \"{other}\"\n[migration]\n\
             types = [\"schema\", \"full\"]\n[full]\nsnapshot = \"watermark\"\n",
            Server::Source.url(),
            Server::Target.url(),
            dbs.name
        ),
    )
    .unwrap();
    let o = dts(&["run", "--config", &config.display().to_string()]);
    assert!(o.status.success(), "{}", text(&o));
    dts_test_support::compare_tables(&mut src, &dbs.name, "t", &mut tgt, Some(&other), None)
        .await
        .assert_equal("a full task with snapshot = \"watermark\"");
    dts_test_support::forget_copy_task(&mut tgt, &other).await;
    dts_test_support::exec(&mut tgt, &format!("DROP DATABASE IF EXISTS `{other}`")).await;
    dbs.cleanup().await;
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port();
    drop(l);
    p
}

#[test]
fn config_show_needs_no_password_variable_or_file() {
    let dir = tempfile::tempdir().unwrap();
    let var = format!("DTS_NEVER_SET_{}", std::process::id());
    let p = dir.path().join("secret.toml");
    std::fs::write(
        &p,
        format!(
            "[source]\nurl = \"mysql://app@db1:3306\"\npassword_env = \"{var}\"\n\
             [target]\nurl = \"mysql://app@db2:3306\"\npassword_file = \"{}\"\n\
             [[objects]]\ndatabase = \"shop\"\n",
            dir.path().join("missing-password-file").display()
        ),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_dts"))
        .args(["config", "show", "--config"])
        .arg(&p)
        .env_remove(&var)
        .output()
        .unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains(&format!("password_source = \"env {var}\"")),
        "{out}"
    );
    assert!(out.contains("missing-password-file"), "{out}");
    // Commands that connect still demand them.
    let o = Command::new(env!("CARGO_BIN_EXE_dts"))
        .args(["status", "--config"])
        .arg(&p)
        .env_remove(&var)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains(&var), "{}", text(&o));
}

#[test]
fn a_refused_connection_names_host_port_and_the_fix_and_logs_to_a_file_carry_no_colour() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let p = dir.path().join("refused.toml");
    std::fs::write(
        &p,
        format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"mysql://root@127.0.0.1:{port}\"\n\
             [[objects]]\ndatabase = \"shop\"\n",
            Server::Source.url()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_dts"))
        .args(["run", "--config"])
        .arg(&p)
        .env("DTS_LOG", "trace")
        .stderr(log)
        .output()
        .unwrap();
    let err = std::fs::read_to_string(dir.path().join("log")).unwrap();
    assert_eq!(o.status.code(), Some(2), "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.contains(&format!("connecting to 127.0.0.1:{port} on the target")),
        "{last}"
    );
    assert!(last.contains("[target] url in the task file"), "{last}");
    assert!(!err.contains('\u{1b}'), "{err:?}");

    // A log line (the alert command of a failed task cannot run), to a file.
    let p = dir.path().join("alert.toml");
    std::fs::write(
        &p,
        format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n\
             [[objects]]\ndatabase = \"dtst_never_{}\"\n\
             [alert]\ncommand = [\"{}\"]\n",
            Server::Source.url(),
            Server::Target.url(),
            std::process::id(),
            dir.path().join("no-such-command").display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("log2")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_dts"))
        .args(["run", "--config"])
        .arg(&p)
        .env("DTS_LOG", "warn")
        .stderr(log)
        .output()
        .unwrap();
    let err = std::fs::read_to_string(dir.path().join("log2")).unwrap();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("WARN") && err.contains("the alert command could not run"),
        "a log line: {err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "no colour codes in a file: {err:?}"
    );
}
