//! The task file: the minimal file, defaults, errors naming the key and
//! what is allowed, passwords from the URL, the environment or a 0600 file
//! that never show.

use dts_core::config::{ConfigError, MigrationType, PasswordSource, TaskConfig};

const MINIMAL: &str = r#"
[source]
url = "mysql://root@127.0.0.1:3307"
[target]
url = "mysql://root@127.0.0.1:3308"
[[objects]]
database = "shop"
[migration]
types = ["schema", "full", "incremental"]
"#;

/// A password with a quote, a double quote, a backslash and a backtick.
const NASTY: &str = "p'a\"s\\s`w0rd";

fn parse(text: &str) -> Result<TaskConfig, ConfigError> {
    TaskConfig::from_toml(text, None)
}

fn error(text: &str) -> ConfigError {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn minimal_file_resolves_every_default() {
    let t = parse(MINIMAL).unwrap();
    assert_eq!(t.task, "default");
    assert_eq!(
        t.migration.types,
        [
            MigrationType::Schema,
            MigrationType::Full,
            MigrationType::Incremental
        ]
    );
    assert_eq!(t.retry.connection_minutes, 720);
    assert_eq!(t.retry.other_minutes, 10);
    assert_eq!(t.full.readers, 4);
    assert!(t.full.defer_indexes, "indexes are deferred by default");
    assert_eq!(t.source.password_source, PasswordSource::None);
    let shown = t.to_toml();
    for key in [
        "task = \"default\"",
        "conflict_mode = \"precheck-error\"",
        "name_case = \"keep\"",
        "trigger_method = \"at-cutover\"",
        "connection_minutes = 720",
        "other_minutes = 10",
        "defer_indexes = true",
        "mode = \"source-table\"",
        "mode = \"migrate-temp-tables\"",
        "listen = \"off\"",
        "lag_threshold_seconds = 0",
        "acknowledge = []",
        "fence = \"read-only\"",
        "tls = \"preferred\"",
        "meta_schema = \"dts_meta\"",
        "dml = [\"insert\", \"update\", \"delete\"]",
    ] {
        assert!(shown.contains(key), "{key} missing from:\n{shown}");
    }
    // The task name comes from the file name.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop-move.toml");
    std::fs::write(&path, MINIMAL).unwrap();
    assert_eq!(TaskConfig::from_file(&path).unwrap().task, "shop-move");
    let with_name = format!("task = \"named\"\n{MINIMAL}");
    std::fs::write(&path, with_name).unwrap();
    assert_eq!(TaskConfig::from_file(&path).unwrap().task, "named");
}

#[test]
fn errors_name_the_key_and_what_is_allowed() {
    let check = |text: String, key: &str, words: &[&str]| {
        let e = error(&text);
        assert_eq!(e.key, key, "{e}");
        for w in words {
            assert!(e.message.contains(w), "{w:?} not in {e}");
        }
    };
    check(
        MINIMAL.replace("\"incremental\"]", "\"incremental\", \"fulll\"]"),
        "migration.types[3]",
        &["fulll", "schema", "full", "incremental"],
    );
    check(
        format!("{MINIMAL}[retry]\nconnection_minutes = 5\n"),
        "retry.connection_minutes",
        &["10 to 1440", "720"],
    );
    check(
        format!("{MINIMAL}[retry]\nconnection_minutes = 20\nother_minutes = 30\n"),
        "retry.other_minutes",
        &["less than retry.connection_minutes (20)"],
    );
    check(
        format!("{MINIMAL}[retry]\nother_minutes = 0\n"),
        "retry.other_minutes",
        &["1 to 1440"],
    );
    check(
        format!("{MINIMAL}[full]\nreaderz = 3\n"),
        "full.readerz",
        &["unknown field", "readers"],
    );
    check(
        MINIMAL.replace("[migration]", "[migration]\nconflict_mode = \"skip\""),
        "migration.conflict_mode",
        &["precheck-error", "ignore"],
    );
    check(
        MINIMAL.replace("[migration]", "[migration]\nname_case = \"title\""),
        "migration.name_case",
        &["keep", "lower", "upper"],
    );
    check(
        format!("{MINIMAL}[heartbeat]\nmode = \"binlog\"\n"),
        "heartbeat.mode",
        &["source-table", "none"],
    );
    check(
        format!("{MINIMAL}[online_ddl]\nmode = \"pt-osc\"\n"),
        "online_ddl.mode",
        &["migrate-temp-tables", "original-ddl-gh-ost"],
    );
    check(
        format!("{MINIMAL}[incremental]\nconflict = \"replace\"\n"),
        "incremental.conflict",
        &["error", "ignore", "overwrite"],
    );
    check(
        format!("{MINIMAL}[metrics]\nlisten = \"localhost\"\n"),
        "metrics.listen",
        &["IP:PORT"],
    );
    check(
        format!("{MINIMAL}[alert]\nwebhook = \"ftp://x\"\n"),
        "alert.webhook",
        &["http"],
    );
    check(
        format!("{MINIMAL}[precheck]\nacknowledge = [\"source.binlog_formt\"]\n"),
        "precheck.acknowledge[0]",
        &["source.binlog_format"],
    );
    check(
        format!("{MINIMAL}[cutover]\nfence = \"sql\"\n"),
        "cutover.fence_sql",
        &["required"],
    );
    check(
        MINIMAL.replace("[source]", "[source]\ntls = \"verify-ca\""),
        "source.tls_ca",
        &["CA"],
    );
    check(
        MINIMAL.replace("[migration]\ntypes = [", "[migration]\ntypes = [] #"),
        "migration.types",
        &["schema"],
    );
    check(
        MINIMAL.replace(
            "database = \"shop\"",
            "database = \"shop\"\ntables = [{ name = \"t\", filter = \"a = 1; DROP TABLE t\" }]",
        ),
        "objects[0].tables[0].filter",
        &[";"],
    );
    check(
        format!("{MINIMAL}[[objects]]\ndatabase = \"shop\"\n"),
        "objects[1].database",
        &["twice"],
    );
    let e = error("[source\nurl = 1");
    assert!(
        e.key.contains("top level") && e.message.contains("line 1"),
        "{e}"
    );
}

#[test]
fn objects_map_to_copy_tables_and_renames() {
    let t = parse(&MINIMAL.replace(
        "database = \"shop\"",
        "database = \"shop\"\ntarget_database = \"store\"\n\
         [[objects.tables]]\nname = \"orders\"\ntarget_name = \"Orders2\"\n\
         columns = [\"id\", \"total\"]\nrename_columns = { total = \"amount\" }\n\
         filter = \"id > 10\"\ndml = [\"insert\"]",
    ))
    .unwrap();
    let cols: Vec<String> = ["id", "total", "note"].map(String::from).to_vec();
    let ct = t.copy_table("shop", "orders", &cols).unwrap().unwrap();
    assert_eq!(
        (ct.target_db.as_str(), ct.target_table.as_str()),
        ("store", "Orders2")
    );
    let maps: Vec<(String, String)> = ct
        .columns
        .unwrap()
        .into_iter()
        .map(|c| (c.source, c.target))
        .collect();
    assert_eq!(
        maps,
        [
            ("id".into(), "id".into()),
            ("total".into(), "amount".into())
        ]
    );
    assert_eq!(ct.filter.as_deref(), Some("id > 10"));
    assert!(t.copy_table("shop", "other", &cols).unwrap().is_none());
    let names = t.name_map();
    assert_eq!(names.database("shop"), "store");
    assert_eq!(names.table("shop", "orders"), "Orders2");
    // The filter is checked against the real columns.
    let bad = parse(&MINIMAL.replace(
        "database = \"shop\"",
        "database = \"shop\"\n[[objects.tables]]\nname = \"orders\"\nfilter = \"nope > 1\"",
    ))
    .unwrap();
    let e = bad.copy_table("shop", "orders", &cols).unwrap_err();
    assert!(
        e.key.ends_with(".filter") && e.message.contains("nope"),
        "{e}"
    );
}

#[test]
fn passwords_from_url_env_and_file_never_show() {
    // In the URL (percent-encoded as URLs need).
    let encoded = "p'a%22s%5Cs%60w0rd";
    let t = parse(&MINIMAL.replace(
        "root@127.0.0.1:3307",
        &format!("root:{encoded}@127.0.0.1:3307"),
    ))
    .unwrap();
    assert_eq!(t.source.password.as_ref().unwrap().expose(), NASTY);
    assert_eq!(t.source.url, "mysql://root@127.0.0.1:3307");
    assert_eq!(t.source.password_source, PasswordSource::Url);
    for shown in [format!("{t:?}"), format!("{t:#?}"), t.to_toml()] {
        assert!(
            !shown.contains(NASTY) && !shown.contains(encoded),
            "{shown}"
        );
        assert!(!shown.contains("w0rd"), "{shown}");
    }
    // An invalid URL with a password: the error does not quote it.
    let e = error(&MINIMAL.replace(
        "mysql://root@127.0.0.1:3307",
        &format!("mysql://root:{encoded}@127.0.0.1:notaport"),
    ));
    assert_eq!(e.key, "source.url");
    assert!(!e.to_string().contains("w0rd"), "{e}");

    // From the environment.
    std::env::set_var("DTS_CONFIG_TEST_PW", NASTY);
    let t = parse(&MINIMAL.replace(
        "[target]",
        "password_env = \"DTS_CONFIG_TEST_PW\"\n[target]",
    ))
    .unwrap();
    assert_eq!(t.source.password.as_ref().unwrap().expose(), NASTY);
    assert!(!format!("{t:?}").contains("w0rd"));
    let e = error(&MINIMAL.replace(
        "[target]",
        "password_env = \"DTS_CONFIG_TEST_UNSET\"\n[target]",
    ));
    assert_eq!(e.key, "source.password_env");
    assert!(e.message.contains("DTS_CONFIG_TEST_UNSET"));

    // From a file: refused unless 0600 or stricter, with the fix.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pw");
    std::fs::write(&f, format!("{NASTY}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let text = MINIMAL.replace(
        "[target]\nurl = \"mysql://root@127.0.0.1:3308\"",
        &format!(
            "[target]\nurl = \"mysql://root@127.0.0.1:3308\"\npassword_file = \"{}\"",
            f.display()
        ),
    );
    let e = error(&text);
    assert_eq!(e.key, "target.password_file");
    assert!(
        e.message.contains("chmod 600") && e.message.contains("0644"),
        "{e}"
    );
    assert!(!e.to_string().contains("w0rd"));
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    let t = parse(&text).unwrap();
    assert_eq!(t.target.password.as_ref().unwrap().expose(), NASTY);
    assert!(!t.to_toml().contains("w0rd"));

    // Only one source of password.
    let e = error(&MINIMAL.replace(
        "url = \"mysql://root@127.0.0.1:3307\"",
        "url = \"mysql://root:x@127.0.0.1:3307\"\npassword_env = \"DTS_CONFIG_TEST_PW\"",
    ));
    assert_eq!(e.key, "source");
}

#[test]
fn full_defer_indexes_can_be_turned_off() {
    let t = parse(&format!("{MINIMAL}[full]\ndefer_indexes = false\n")).unwrap();
    assert!(!t.full.defer_indexes);
    assert!(t.to_toml().contains("defer_indexes = false"));
}

#[test]
fn full_snapshot_watermark_is_the_copys_watermark_mode() {
    use dts_core::config::Snapshot;
    let t = parse(&format!("{MINIMAL}[full]\nsnapshot = \"watermark\"\n")).unwrap();
    assert_eq!(t.full.snapshot, Snapshot::Watermark);
    assert_eq!(t.full.snapshot.mode(), bulk_copy::SnapshotMode::Watermark);
    assert!(t.to_toml().contains("snapshot = \"watermark\""));
    let e = error(&format!("{MINIMAL}[full]\nsnapshot = \"watermarks\"\n"));
    assert!(
        e.to_string().contains("watermark"),
        "the error lists the allowed values: {e}"
    );
}

const INCREMENTAL_ONLY: &str = r#"
task = "orders"
[source]
url = "mysql://root@127.0.0.1:3307"
[target]
url = "mysql://root@127.0.0.1:3308"
[[objects]]
database = "shop"
[migration]
types = ["incremental"]
"#;

#[test]
fn source_url_takes_a_list_of_candidates_and_only_the_source() {
    use dts_core::config::TlsMode;
    let t = parse(&MINIMAL.replace(
        "url = \"mysql://root@127.0.0.1:3307\"",
        "url = [\"mysql://root@db1:3306\", \"mysql://root@db2:3306\", \"mysql://root@db3:3307\"]\npassword_env = \"HOME\"\ntls = \"disabled\"",
    ))
    .unwrap();
    assert_eq!(t.source.url, "mysql://root@db1:3306");
    assert_eq!(
        t.source.failover_urls,
        ["mysql://root@db2:3306", "mysql://root@db3:3307"]
    );
    assert_eq!(t.source.tls, TlsMode::Disabled);
    // Shown as written: one list.
    let shown = t.to_toml();
    let compact: String = shown.split_whitespace().collect();
    assert!(
        compact.contains(
            "url=[\"mysql://root@db1:3306\",\"mysql://root@db2:3306\",\"mysql://root@db3:3307\""
        ),
        "{shown}"
    );
    assert!(!shown.contains("failover_urls"), "{shown}");
    let one = parse(MINIMAL).unwrap();
    assert!(one.source.failover_urls.is_empty());
    for (text, key, words) in [
        (
            MINIMAL.replace(
                "url = \"mysql://root@127.0.0.1:3308\"",
                "url = [\"mysql://root@a:1\", \"mysql://root@b:1\"]",
            ),
            "target.url",
            &["only [source] url takes a list"][..],
        ),
        (
            MINIMAL.replace("url = \"mysql://root@127.0.0.1:3307\"", "url = []"),
            "source.url",
            &["empty list"][..],
        ),
        (
            MINIMAL.replace(
                "url = \"mysql://root@127.0.0.1:3307\"",
                "url = [\"mysql://root:pw@a:1\", \"mysql://root@b:1\"]",
            ),
            "source.url",
            &["no URL may carry a password", "password_env"][..],
        ),
    ] {
        let e = error(&text);
        assert_eq!(e.key, key, "{e}");
        for w in words {
            assert!(e.message.contains(w), "{w:?} not in {e}");
        }
        assert!(!e.to_string().contains(":pw@"), "{e}");
    }
}

#[test]
fn incremental_start_is_a_gtid_set_or_a_file_position_for_incremental_only_tasks() {
    use binlog_reader::position::{FilePosition, GtidState};
    use dts_core::config::IncrementalStart;
    let with = |start: &str| format!("{INCREMENTAL_ONLY}[incremental]\nstart = \"{start}\"\n");
    let t = parse(&with("gtid:0-1-100,2-1-5")).unwrap();
    match &t.incremental.start {
        Some(IncrementalStart::Gtid(GtidState::Mariadb(p))) => {
            assert_eq!(p.to_string(), "0-1-100,2-1-5")
        }
        other => panic!("{other:?}"),
    }
    let mysql = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7-9";
    let t = parse(&with(&format!("gtid:{mysql}"))).unwrap();
    match &t.incremental.start {
        Some(IncrementalStart::Gtid(GtidState::Mysql(s))) => {
            assert_eq!(s.to_string(), mysql, "the gap stays")
        }
        other => panic!("{other:?}"),
    }
    assert!(t.to_toml().contains(&format!("start = \"gtid:{mysql}\"")));
    let t = parse(&with("file:mysql-bin.000042:1234")).unwrap();
    assert_eq!(
        t.incremental.start,
        Some(IncrementalStart::File(FilePosition::new(
            "mysql-bin.000042",
            1234
        )))
    );
    assert!(parse(INCREMENTAL_ONLY).unwrap().incremental.start.is_none());
    for (text, words) in [
        (with("gtid:"), &["empty"][..]),
        (
            with("gtid:0-1"),
            &["neither a MariaDB GTID position", "MySQL GTID set"][..],
        ),
        (with("file:nocolon"), &["missing ':'"][..]),
        (with("0-1-100"), &["gtid:SET", "file:NAME:POS"][..]),
        (
            format!("{MINIMAL}[incremental]\nstart = \"gtid:0-1-5\"\n"),
            &["incremental-only", "copy's consistent position"][..],
        ),
    ] {
        let e = error(&text);
        assert_eq!(e.key, "incremental.start", "{e}");
        for w in words {
            assert!(e.message.contains(w), "{w:?} not in {e}");
        }
    }
}

#[test]
fn each_task_reads_the_binlog_with_a_server_id_of_its_own_unless_given() {
    let orders = parse(INCREMENTAL_ONLY).unwrap();
    let billing = parse(&INCREMENTAL_ONLY.replace("\"orders\"", "\"billing\"")).unwrap();
    assert_eq!(
        orders.incremental.server_id,
        bulk_copy::reader_server_id("orders")
    );
    assert_ne!(orders.incremental.server_id, billing.incremental.server_id);
    let given = parse(&format!(
        "{INCREMENTAL_ONLY}[incremental]\nserver_id = 4242\n"
    ))
    .unwrap();
    assert_eq!(given.incremental.server_id, 4242);
}

#[test]
fn binlog_archive_is_a_source_key() {
    let t = parse(&MINIMAL.replace(
        "url = \"mysql://root@127.0.0.1:3307\"",
        "url = \"mysql://root@127.0.0.1:3307\"\nbinlog_archive = \"/backup/binlogs\"",
    ))
    .unwrap();
    assert_eq!(
        t.source.binlog_archive.as_deref(),
        Some(std::path::Path::new("/backup/binlogs"))
    );
    assert!(t.to_toml().contains("binlog_archive = \"/backup/binlogs\""));
    assert_eq!(parse(MINIMAL).unwrap().source.binlog_archive, None);
    let e = error(&MINIMAL.replace(
        "url = \"mysql://root@127.0.0.1:3308\"",
        "url = \"mysql://root@127.0.0.1:3308\"\nbinlog_archive = \"/x\"",
    ));
    assert!(e.to_string().contains("target.binlog_archive"), "{e}");
}
