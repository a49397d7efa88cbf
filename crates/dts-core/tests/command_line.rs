//! A task made from a command's options (`CommandLine`): the same defaults
//! and checks as a task file, errors naming the option, passwords only from
//! the environment, the selection as `[[objects]]`; and the task-file keys
//! the commands' options set.

use dts_core::config::{
    CommandLine, ConfigError, FullArgs, HeartbeatMode, IncrementalArgs, OnlineDdlMode,
    PasswordSource, PlanTarget, RowConflict, ServerArgs, Snapshot, TaskConfig, TlsMode,
};

const MINIMAL: &str = r#"
[source]
url = "mysql://root@127.0.0.1:3307"
[target]
url = "mysql://root@127.0.0.1:3308"
[[objects]]
database = "shop"
"#;

fn server(url: &str, env: &str) -> Option<ServerArgs> {
    Some(ServerArgs {
        url: url.into(),
        password_env: env.into(),
        ..ServerArgs::default()
    })
}

/// `dts copy --source S --target T --database shop`.
fn minimal() -> CommandLine {
    CommandLine {
        source: server("mysql://root@127.0.0.1:3307", "DTS_CL_TEST_SOURCE_PW"),
        target: server("mysql://root@127.0.0.1:3308", "DTS_CL_TEST_TARGET_PW"),
        databases: vec!["shop".into()],
        ..CommandLine::default()
    }
}

fn error(c: &CommandLine) -> ConfigError {
    match c.task_config() {
        Ok(t) => panic!("accepted: {t:?}"),
        Err(e) => e,
    }
}

#[test]
fn the_options_resolve_with_the_task_files_defaults() {
    let from_options = minimal().task_config().unwrap();
    let from_file = TaskConfig::from_toml(MINIMAL, None).unwrap();
    // Everything but the heartbeat (off for a command) is the file's.
    assert_eq!(from_options.heartbeat.mode, HeartbeatMode::None);
    assert_eq!(from_file.heartbeat.mode, HeartbeatMode::SourceTable);
    let shown = |t: &TaskConfig| {
        t.to_toml()
            .lines()
            .filter(|l| !l.starts_with("mode = \"") && !l.starts_with("password_source"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(shown(&from_options), shown(&from_file));
    assert_eq!(from_options.task, "default");
    assert_eq!(from_options.full.chunk_rows, 100_000);
    assert_eq!(from_options.full.load_bytes, 1 << 20);
    assert_eq!(
        from_options.incremental.server_id,
        bulk_copy::reader_server_id("default")
    );
    assert_eq!(from_options.incremental.commit_interval_ms, 500);
    assert_eq!(from_options.verify.parallel, 4);
    assert_eq!(from_options.source.tls, TlsMode::Preferred);
    assert_eq!(from_options.source.password_source, PasswordSource::None);
}

#[test]
fn options_set_their_keys() {
    let c = CommandLine {
        task: Some("t1".into()),
        meta_schema: Some("meta2".into()),
        conflict: Some(RowConflict::Overwrite),
        max_rows_per_sec: Some(500.0),
        full: FullArgs {
            readers: Some(6),
            chunk_rows: Some(1500),
            keep_indexes: true,
            snapshot: Some(Snapshot::Ftwrl),
            ..FullArgs::default()
        },
        incremental: IncrementalArgs {
            batch_bytes: Some(200_000),
            commit_interval_ms: Some(20),
            lock_wait_timeout_seconds: Some(3),
            skip_failed_ddl: true,
            online_ddl: Some(OnlineDdlMode::OriginalDdlGhOst),
            heartbeat_ms: Some(50),
            ..IncrementalArgs::default()
        },
        ..minimal()
    };
    let t = c.task_config().unwrap();
    assert_eq!(t.task, "t1");
    assert_eq!(t.target.meta_schema, "meta2");
    assert_eq!((t.full.readers, t.full.writers), (6, 6));
    assert_eq!(t.full.chunk_rows, 1500);
    assert!(!t.full.defer_indexes);
    assert_eq!(t.full.snapshot, Snapshot::Ftwrl);
    assert_eq!(t.full.conflict, RowConflict::Overwrite);
    assert_eq!(t.incremental.conflict, RowConflict::Overwrite);
    assert_eq!(t.full.max_rows_per_sec, 500.0);
    assert_eq!(t.incremental.max_rows_per_sec, 500.0);
    assert_eq!(t.verify.max_rows_per_sec, 500.0);
    assert_eq!(t.incremental.batch_bytes, 200_000);
    assert_eq!(t.incremental.commit_interval_ms, 20);
    assert_eq!(t.incremental.lock_wait_timeout_seconds, Some(3));
    assert!(t.incremental.skip_failed_ddl);
    assert_eq!(t.online_ddl, OnlineDdlMode::OriginalDdlGhOst);
    assert_eq!(t.heartbeat.mode, HeartbeatMode::SourceTable);
    assert_eq!(t.heartbeat.interval_ms, 50);
}

#[test]
fn errors_name_the_option_and_what_is_allowed() {
    let check = |c: CommandLine, key: &str, words: &[&str]| {
        let e = error(&c);
        assert_eq!(e.key, key, "{e}");
        assert!(e.file.is_none(), "{e:?}");
        for w in words {
            assert!(e.message.contains(w), "{w:?} not in {e}");
        }
    };
    check(
        CommandLine {
            full: FullArgs {
                readers: Some(0),
                ..FullArgs::default()
            },
            ..minimal()
        },
        "--readers",
        &["1 to 256"],
    );
    check(
        CommandLine {
            incremental: IncrementalArgs {
                commit_interval_ms: Some(0),
                ..IncrementalArgs::default()
            },
            ..minimal()
        },
        "--commit-interval-ms",
        &["out of range"],
    );
    check(
        CommandLine {
            max_rows_per_sec: Some(-1.0),
            ..minimal()
        },
        "--max-rows-per-sec",
        &["positive"],
    );
    check(
        CommandLine {
            source: None,
            ..minimal()
        },
        "--source",
        &["required"],
    );
    check(
        CommandLine {
            databases: vec![],
            ..minimal()
        },
        "--database",
        &["nothing is selected"],
    );
    check(
        CommandLine {
            databases: vec!["a".into(), "b".into()],
            target_database: Some("c".into()),
            ..minimal()
        },
        "--target-database",
        &["exactly one --database"],
    );
    check(
        CommandLine {
            tables: vec!["nodot".into()],
            ..minimal()
        },
        "--table",
        &["DATABASE.TABLE"],
    );
    check(
        CommandLine {
            tables: vec!["shop.t".into()],
            ..minimal()
        },
        "--table",
        &["whole"],
    );
    check(
        CommandLine {
            task: Some("no spaces".into()),
            ..minimal()
        },
        "--task",
        &["not a valid task name"],
    );
    check(
        CommandLine {
            source: Some(ServerArgs {
                tls: Some(TlsMode::VerifyCa),
                ..server("mysql://root@h:1", "X").unwrap()
            }),
            ..minimal()
        },
        "--ssl-ca (or --source-ssl-ca)",
        &["required"],
    );
}

#[test]
fn passwords_come_from_the_environment_never_the_url() {
    let e = error(&CommandLine {
        source: server(
            "mysql://root:s3cret@127.0.0.1:3307",
            "DTS_CL_TEST_SOURCE_PW",
        ),
        ..minimal()
    });
    assert_eq!(e.key, "--source");
    assert!(
        e.message.contains("DTS_CL_TEST_SOURCE_PW") && !e.to_string().contains("s3cret"),
        "{e}"
    );
    // (A variable of this test's own: the tests run in parallel.)
    std::env::set_var("DTS_CL_TEST_PW", "p'w`\"");
    let t = CommandLine {
        target: server("mysql://root@127.0.0.1:3308", "DTS_CL_TEST_PW"),
        ..minimal()
    }
    .task_config()
    .unwrap();
    assert_eq!(t.target.password.as_ref().unwrap().expose(), "p'w`\"");
    assert_eq!(
        t.target.password_source,
        PasswordSource::Env("DTS_CL_TEST_PW".into())
    );
    assert_eq!(t.source.password_source, PasswordSource::None);
    assert!(!format!("{t:?}").contains("p'w"));
}

#[test]
fn the_selection_becomes_objects() {
    let t = CommandLine {
        databases: vec!["shop".into()],
        target_database: Some("store".into()),
        tables: vec!["crm.a".into(), "crm.b".into(), "hr.people".into()],
        ..minimal()
    }
    .task_config()
    .unwrap();
    let objects: Vec<(String, String, Option<Vec<String>>)> = t
        .objects
        .iter()
        .map(|o| {
            (
                o.database.clone(),
                o.target_database.clone(),
                o.tables
                    .as_ref()
                    .map(|ts| ts.iter().map(|t| t.name.clone()).collect()),
            )
        })
        .collect();
    assert_eq!(
        objects,
        [
            ("shop".into(), "store".into(), None),
            (
                "crm".into(),
                "crm".into(),
                Some(vec!["a".into(), "b".into()])
            ),
            ("hr".into(), "hr".into(), Some(vec!["people".into()])),
        ]
    );
}

#[test]
fn a_task_file_with_options_on_top() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop-check.toml");
    std::fs::write(
        &path,
        format!("{MINIMAL}[verify]\nparallel = 2\nmax_listed = 7\n"),
    )
    .unwrap();
    let c = CommandLine {
        config: Some(path.clone()),
        verify: dts_core::config::VerifyArgs {
            parallel: Some(8),
            ..Default::default()
        },
        ..CommandLine::default()
    };
    let t = c.task_config().unwrap();
    assert_eq!(t.task, "shop-check", "the file's name, as for a task file");
    assert_eq!((t.verify.parallel, t.verify.max_listed), (8, 7));
    // The file's heartbeat stays on: the file says what the task does.
    assert_eq!(t.heartbeat.mode, HeartbeatMode::SourceTable);
    // An error names the file and its key.
    let e = error(&CommandLine {
        verify: dts_core::config::VerifyArgs {
            parallel: Some(0),
            ..Default::default()
        },
        ..c
    });
    assert_eq!(
        (e.file.as_deref(), e.key.as_str()),
        (Some(path.as_path()), "verify.parallel")
    );
}

#[test]
fn a_plan_for_a_version_needs_no_target() {
    let p = CommandLine {
        target: None,
        rename_databases: vec!["shop=store".into()],
        ..minimal()
    }
    .plan_config(Some("8.0.36"))
    .unwrap();
    assert!(matches!(p.target, PlanTarget::Version(_)));
    assert_eq!(p.name_map().database("shop"), "store");
    let e = CommandLine {
        target: None,
        ..minimal()
    }
    .plan_config(Some("eight"))
    .unwrap_err();
    assert_eq!(e.key, "--target-version");
    let e = CommandLine {
        target: None,
        rename_databases: vec!["other=x".into()],
        ..minimal()
    }
    .plan_config(Some("8.0.36"))
    .unwrap_err();
    assert_eq!(e.key, "--rename-database");
}

#[test]
fn task_file_keys_of_the_commands_options() {
    let t = TaskConfig::from_toml(
        &format!(
            "{MINIMAL}[full]\nchunk_rows = 10\nload_bytes = 4096\nbulk_max_bytes = 0\n\
             defer_indexes_min_bytes = 1\nsplit_rows = 0\n\
             [incremental]\nserver_id = 77\nbatch_bytes = 2048\ncommit_interval_ms = 5\n\
             lock_wait_timeout_seconds = 9\nskip_failed_ddl = true\n\
             [heartbeat]\ninterval_seconds = 3\n[verify]\nchunk_rows = 50\n\
             [online_ddl]\nmode = \"apply-original-ddl\"\n"
        ),
        None,
    )
    .unwrap();
    assert_eq!(
        (
            t.full.chunk_rows,
            t.full.load_bytes,
            t.full.bulk_max_bytes,
            t.full.defer_indexes_min_bytes,
            t.full.split_rows
        ),
        (10, 4096, 0, 1, 0)
    );
    assert_eq!(
        (
            t.incremental.server_id,
            t.incremental.batch_bytes,
            t.incremental.commit_interval_ms,
            t.incremental.lock_wait_timeout_seconds,
            t.incremental.skip_failed_ddl
        ),
        (77, 2048, 5, Some(9), true)
    );
    assert_eq!(t.heartbeat.interval_ms, 3000);
    assert_eq!(t.verify.chunk_rows, 50);
    // The command line's name is an alias; `config show` prints the file's.
    assert_eq!(t.online_ddl, OnlineDdlMode::OriginalDdlGhOst);
    assert!(t.to_toml().contains("mode = \"original-ddl-gh-ost\""));
    // A mode the apply does not support is refused, not ignored.
    let e = TaskConfig::from_toml(
        &format!("{MINIMAL}[online_ddl]\nmode = \"original-ddl-dms\"\n"),
        None,
    )
    .unwrap_err();
    assert_eq!(e.key, "online_ddl.mode");
    assert!(e.message.contains("not supported"), "{e}");
    let e = TaskConfig::from_toml(
        &format!("{MINIMAL}[heartbeat]\ninterval_seconds = 1\ninterval_ms = 500\n"),
        None,
    )
    .unwrap_err();
    assert_eq!(e.key, "heartbeat.interval_ms");
}
