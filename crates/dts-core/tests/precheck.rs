//! The precheck on real servers: for each check, the failing condition is
//! set up (on the shared test servers inside the test's own database or
//! account, or on a throwaway server for global settings), the check is
//! asserted to report its id with a fix, then the condition is fixed and
//! the check asserted to pass.

use dts_core::config::TaskConfig;
use dts_core::precheck::{run_precheck, PrecheckReport, Status};
use dts_test_support::{connect, exec, Instance, Server, TestDatabases};
use mysql_async::prelude::*;
use server_dialect::{server_version, Dialect};

/// A task over `db` between two URLs, with extra TOML.
fn task(source: &str, target: &str, db: &str, extra_migration: &str, extra: &str) -> TaskConfig {
    let text = format!(
        "[source]\nurl = \"{source}\"\n[target]\nurl = \"{target}\"\n\
         [[objects]]\ndatabase = \"{db}\"\n\
         [migration]\ntypes = [\"schema\", \"full\", \"incremental\"]\n{extra_migration}\n{extra}\n"
    );
    TaskConfig::from_toml(&text, None).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn shared(db: &str, extra_migration: &str, extra: &str) -> TaskConfig {
    task(
        &Server::Source.url(),
        &Server::Target.url(),
        db,
        extra_migration,
        extra,
    )
}

#[track_caller]
fn expect(r: &PrecheckReport, id: &str, status: Status, found_has: &str) {
    let c = r
        .check(id)
        .unwrap_or_else(|| panic!("{id} was not reported: {:#?}", r.checks));
    assert_eq!(c.status, status, "{id}: {c:#?}");
    assert!(
        c.found.contains(found_has),
        "{id}: {found_has:?} not in found: {c:#?}"
    );
    if status != Status::Pass {
        assert!(!c.fix.is_empty(), "{id} has no fix: {c:#?}");
    } else {
        assert!(c.fix.is_empty(), "{id} passed with a fix: {c:#?}");
    }
    assert!(!c.why.is_empty());
}

/// The warnings the shared test servers' root account always gives.
const ROOT_WARNINGS: &[&str] = &["source.privileges_excessive", "target.privileges_excessive"];

#[tokio::test]
async fn minimal_task_passes_with_only_the_documented_warnings() {
    let dbs = TestDatabases::new("pc_minimal").await;
    dbs.exec(
        Server::Source,
        "CREATE TABLE orders (id INT PRIMARY KEY, note TEXT); INSERT INTO orders VALUES (1, 'x')",
    )
    .await;
    let r = run_precheck(&shared(&dbs.name, "", "")).await;
    for c in &r.checks {
        match c.status {
            Status::Pass => {}
            Status::Warning if ROOT_WARNINGS.contains(&c.id) => {}
            _ => panic!("unexpected: {c:#?}"),
        }
    }
    assert!(!r.has_failures() && !r.passed());
    assert_eq!(r.checks.len(), dts_core::precheck::CHECKS.len());
    // Acknowledged, the task may start.
    let r = run_precheck(&shared(
        &dbs.name,
        "",
        "[precheck]\nacknowledge = [\"source.privileges_excessive\", \"target.privileges_excessive\"]",
    ))
    .await;
    assert!(r.passed(), "{:#?}", r.checks);
    expect(
        &r,
        "source.privileges_excessive",
        Status::Acknowledged,
        "SUPER",
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["checks"][0]["id"], "source.connect");
    dbs.cleanup().await;
}

/// Creates an account on one shared server; dropped by `drop_user`.
async fn create_user(server: Server, user: &str, password: &str, grants: &[String]) {
    let mut c = connect(server, None).await;
    exec(&mut c, &format!("DROP USER IF EXISTS '{user}'@'%'")).await;
    let quoted = password.replace('\\', "\\\\").replace('\'', "''");
    exec(
        &mut c,
        &format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{quoted}'"),
    )
    .await;
    for g in grants {
        exec(&mut c, &format!("GRANT {g} TO '{user}'@'%'")).await;
    }
    c.disconnect().await.ok();
}

async fn sql(server: Server, s: &str) {
    let mut c = connect(server, None).await;
    exec(&mut c, s).await;
    c.disconnect().await.ok();
}

fn url_as(server: Server, user: &str) -> String {
    server.url().replace("root@", &format!("{user}@"))
}

/// A password with a quote, a double quote, a backslash and a backtick.
const NASTY: &str = "p'a\"s\\s`w0rd";

#[tokio::test]
async fn connect_and_privileges_of_both_accounts() {
    let dbs = TestDatabases::new("pc_priv").await;
    let db = dbs.name.clone();
    dbs.exec(
        Server::Source,
        "CREATE TABLE t (id INT PRIMARY KEY); CREATE VIEW v AS SELECT id FROM t",
    )
    .await;
    let su = format!("pcs{}", std::process::id());
    let tu = format!("pct{}", std::process::id());
    create_user(Server::Source, &su, NASTY, &[format!("SELECT ON `{db}`.*")]).await;
    create_user(
        Server::Target,
        &tu,
        NASTY,
        &[format!("SELECT, INSERT ON `{db}`.*")],
    )
    .await;
    let var = format!("DTS_PC_PW_{}", std::process::id());
    std::env::set_var(&var, "wrong");
    let source = url_as(Server::Source, &su);
    let target = url_as(Server::Target, &tu);
    let with_pw = |extra: &str| {
        let text = format!(
            "[source]\nurl = \"{source}\"\npassword_env = \"{var}\"\n\
             [target]\nurl = \"{target}\"\npassword_env = \"{var}\"\n\
             [[objects]]\ndatabase = \"{db}\"\n{extra}\n"
        );
        TaskConfig::from_toml(&text, None).unwrap()
    };

    // A wrong password: both connect checks fail, with the fix.
    let r = run_precheck(&with_pw("")).await;
    expect(&r, "source.connect", Status::Failure, "Access denied");
    expect(&r, "target.connect", Status::Failure, "Access denied");
    let text = serde_json::to_string(&r).unwrap() + &format!("{r:?}");
    assert!(!text.contains("w0rd"));

    // The right one, with too few privileges.
    std::env::set_var(&var, NASTY);
    let r = run_precheck(&with_pw("")).await;
    expect(&r, "source.connect", Status::Pass, "connected");
    expect(
        &r,
        "source.privileges",
        Status::Failure,
        "REPLICATION SLAVE",
    );
    expect(&r, "source.privileges", Status::Failure, "SHOW VIEW");
    let fix = &r.check("source.privileges").unwrap().fix;
    assert!(fix.contains("REPLICATION SLAVE ON *.*"), "{fix}");
    expect(&r, "target.privileges", Status::Failure, "UPDATE");
    expect(&r, "target.privileges", Status::Failure, "dts_meta");
    expect(&r, "source.privileges_excessive", Status::Pass, "");
    expect(&r, "target.privileges_excessive", Status::Pass, "");
    let text = serde_json::to_string(&r).unwrap() + &format!("{r:?}");
    assert!(!text.contains("w0rd"), "{text}");

    // Fixed with the GRANTs the report gave.
    for (server, id) in [
        (Server::Source, "source.privileges"),
        (Server::Target, "target.privileges"),
    ] {
        let fix = r.check(id).unwrap().fix.clone();
        sql(server, &fix).await;
    }
    // Excessive: a global FILE privilege.
    sql(Server::Source, &format!("GRANT FILE ON *.* TO '{su}'@'%'")).await;
    let r = run_precheck(&with_pw("")).await;
    expect(&r, "source.privileges", Status::Pass, "every privilege");
    expect(&r, "target.privileges", Status::Pass, "every privilege");
    expect(&r, "source.privileges_excessive", Status::Warning, "FILE");
    sql(
        Server::Source,
        &format!("REVOKE FILE ON *.* FROM '{su}'@'%'"),
    )
    .await;
    sql(Server::Target, &format!("GRANT SUPER ON *.* TO '{tu}'@'%'")).await;
    let r = run_precheck(&with_pw("")).await;
    expect(&r, "source.privileges_excessive", Status::Pass, "");
    expect(&r, "target.privileges_excessive", Status::Warning, "SUPER");
    sql(
        Server::Target,
        &format!("REVOKE SUPER ON *.* FROM '{tu}'@'%'"),
    )
    .await;
    let r = run_precheck(&with_pw("")).await;
    expect(&r, "target.privileges_excessive", Status::Pass, "");

    sql(Server::Source, &format!("DROP USER '{su}'@'%'")).await;
    sql(Server::Target, &format!("DROP USER '{tu}'@'%'")).await;
    dbs.cleanup().await;
}

#[tokio::test]
async fn same_server_is_refused() {
    let dbs = TestDatabases::new("pc_same").await;
    dbs.exec(Server::Source, "CREATE TABLE t (id INT PRIMARY KEY)")
        .await;
    let src = Server::Source.url();
    let same = src.replace("127.0.0.1", "localhost");
    let r = run_precheck(&task(&src, &same, &dbs.name, "", "")).await;
    expect(&r, "pair.distinct", Status::Failure, "same server");
    let r = run_precheck(&shared(&dbs.name, "", "")).await;
    expect(&r, "pair.distinct", Status::Pass, "");
    dbs.cleanup().await;
}

#[tokio::test]
async fn selection_keys_and_conflicts() {
    let dbs = TestDatabases::new("pc_sel").await;
    let db = dbs.name.clone();
    dbs.exec(
        Server::Source,
        "CREATE TABLE nokey (a INT, b INT); INSERT INTO nokey VALUES (1, 1), (1, 1), (2, NULL);
         CREATE TABLE nullable_uk (a INT, UNIQUE KEY (a)); INSERT INTO nullable_uk VALUES (NULL)",
    )
    .await;
    // source.objects: a selected table that does not exist, and a filter on
    // a column that does not exist.
    let tables = |extra: &str| {
        TaskConfig::from_toml(
            &format!(
                "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[[objects]]\ndatabase = \"{db}\"\n\
                 [[objects.tables]]\nname = \"nokey\"\n{extra}\n\
                 [[objects.tables]]\nname = \"nullable_uk\"\n\
                 [[objects.tables]]\nname = \"later\"\n",
                Server::Source.url(),
                Server::Target.url()
            ),
            None,
        )
        .unwrap()
    };
    let r = run_precheck(&tables("filter = \"c > 1\"")).await;
    expect(
        &r,
        "source.objects",
        Status::Failure,
        "`later` does not exist",
    );
    expect(&r, "source.objects", Status::Failure, "`c` is not a column");
    // source.primary_keys: both tables lack a usable key; the row count and
    // the strategy are reported.
    expect(
        &r,
        "source.primary_keys",
        Status::Warning,
        "`nokey` (3 rows)",
    );
    expect(
        &r,
        "source.primary_keys",
        Status::Warning,
        "`nullable_uk` (1 rows)",
    );
    dbs.exec(
        Server::Source,
        "CREATE TABLE later (id INT PRIMARY KEY);
         ALTER TABLE nokey ADD COLUMN id INT NOT NULL AUTO_INCREMENT PRIMARY KEY;
         DELETE FROM nullable_uk; ALTER TABLE nullable_uk MODIFY a INT NOT NULL",
    )
    .await;
    let r = run_precheck(&tables("filter = \"a > 1\"")).await;
    expect(&r, "source.objects", Status::Pass, "3 table(s)");
    expect(&r, "source.primary_keys", Status::Pass, "");

    // target.conflicts: a table already on the target.
    dbs.exec(Server::Target, "CREATE TABLE later (x INT)").await;
    let r = run_precheck(&shared(&db, "", "")).await;
    expect(&r, "target.conflicts", Status::Failure, "`later`");
    assert!(r
        .check("target.conflicts")
        .unwrap()
        .fix
        .contains("DROP TABLE"));
    let r = run_precheck(&shared(&db, "conflict_mode = \"ignore\"", "")).await;
    expect(&r, "target.conflicts", Status::Warning, "`later`");
    // Renamed on the way, it no longer conflicts.
    let renamed = TaskConfig::from_toml(
        &format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[[objects]]\ndatabase = \"{db}\"\n\
             [[objects.tables]]\nname = \"later\"\ntarget_name = \"later2\"\n",
            Server::Source.url(),
            Server::Target.url()
        ),
        None,
    )
    .unwrap();
    let r = run_precheck(&renamed).await;
    expect(&r, "target.conflicts", Status::Pass, "");
    // Without schema migration the tables must exist, and be empty.
    let r = run_precheck(&task(
        &Server::Source.url(),
        &Server::Target.url(),
        &db,
        "",
        "",
    ))
    .await;
    expect(&r, "target.conflicts", Status::Failure, "`later`");
    let full_only = |db: &str| {
        TaskConfig::from_toml(
            &format!(
                "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[[objects]]\ndatabase = \"{db}\"\n\
                 [[objects.tables]]\nname = \"later\"\n[migration]\ntypes = [\"full\"]\n",
                Server::Source.url(),
                Server::Target.url()
            ),
            None,
        )
        .unwrap()
    };
    dbs.exec(Server::Target, "INSERT INTO later VALUES (1)")
        .await;
    let r = run_precheck(&full_only(&db)).await;
    expect(
        &r,
        "target.conflicts",
        Status::Failure,
        "already holds rows",
    );
    dbs.exec(Server::Target, "DROP TABLE later").await;
    let r = run_precheck(&full_only(&db)).await;
    expect(&r, "target.conflicts", Status::Failure, "must exist");
    dbs.exec(Server::Target, "CREATE TABLE later (id INT PRIMARY KEY)")
        .await;
    let r = run_precheck(&full_only(&db)).await;
    expect(&r, "target.conflicts", Status::Pass, "");
    dbs.exec(Server::Target, "DROP TABLE later").await;
    let r = run_precheck(&shared(&db, "", "")).await;
    expect(&r, "target.conflicts", Status::Pass, "");
    dbs.cleanup().await;
}

#[tokio::test]
async fn names_after_mapping() {
    let dbs = TestDatabases::new("pc_names").await;
    let db = dbs.name.clone();
    dbs.exec(
        Server::Source,
        "CREATE TABLE `Ab` (id INT PRIMARY KEY); CREATE TABLE `ab` (id INT PRIMARY KEY)",
    )
    .await;
    // names.collisions: two tables differing in case, lower-cased.
    let r = run_precheck(&shared(&db, "name_case = \"lower\"", "")).await;
    expect(&r, "names.collisions", Status::Failure, "`ab`");
    let r = run_precheck(&shared(&db, "name_case = \"keep\"", "")).await;
    expect(&r, "names.collisions", Status::Pass, "");
    // names.valid: a target database name longer than 64 characters.
    let long = "x".repeat(65);
    let renamed = |to: &str| {
        TaskConfig::from_toml(
            &format!(
                "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[[objects]]\ndatabase = \"{db}\"\n\
                 target_database = \"{to}\"\n",
                Server::Source.url(),
                Server::Target.url()
            ),
            None,
        )
        .unwrap()
    };
    let r = run_precheck(&renamed(&long)).await;
    expect(&r, "names.valid", Status::Failure, "65 characters");
    let r = run_precheck(&renamed(&format!("{db}_r"))).await;
    expect(&r, "names.valid", Status::Pass, "");
    dbs.cleanup().await;
}

#[tokio::test]
async fn objects_that_need_attention() {
    let dbs = TestDatabases::new("pc_objects").await;
    let db = dbs.name.clone();
    dbs.exec(
        Server::Source,
        "CREATE TABLE parent (id INT PRIMARY KEY);
         CREATE TABLE child (id INT PRIMARY KEY, p INT,
             CONSTRAINT fk_p FOREIGN KEY (p) REFERENCES parent (id) ON DELETE CASCADE);
         CREATE TABLE g (id INT PRIMARY KEY, a INT, b INT AS (a * 2) VIRTUAL);
         CREATE TABLE m (id INT PRIMARY KEY) ENGINE = MyISAM;
         CREATE TABLE p (id INT PRIMARY KEY) PARTITION BY HASH (id) PARTITIONS 2;
         CREATE TRIGGER trg BEFORE INSERT ON parent FOR EACH ROW SET NEW.id = NEW.id;
         CREATE EVENT ev ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM parent WHERE id < 0",
    )
    .await;
    let r = run_precheck(&shared(&db, "trigger_method = \"with-schema\"", "")).await;
    expect(
        &r,
        "source.foreign_keys",
        Status::Warning,
        "ON DELETE CASCADE",
    );
    expect(
        &r,
        "source.generated_columns",
        Status::Warning,
        "`b` (virtual)",
    );
    expect(&r, "source.engines", Status::Warning, "MyISAM");
    expect(&r, "source.partitioning", Status::Warning, "`p`");
    expect(&r, "source.triggers", Status::Failure, "`trg`");
    expect(&r, "source.events", Status::Warning, "`ev`");
    dbs.exec(
        Server::Source,
        "ALTER TABLE child DROP FOREIGN KEY fk_p;
         ALTER TABLE g DROP COLUMN b;
         ALTER TABLE m ENGINE = InnoDB;
         ALTER TABLE p REMOVE PARTITIONING;
         DROP EVENT ev",
    )
    .await;
    let r = run_precheck(&shared(&db, "trigger_method = \"at-cutover\"", "")).await;
    for id in [
        "source.foreign_keys",
        "source.generated_columns",
        "source.engines",
        "source.partitioning",
        "source.events",
    ] {
        expect(&r, id, Status::Pass, "");
    }
    expect(&r, "source.triggers", Status::Pass, "created at cut-over");
    dbs.cleanup().await;
}

/// Makes a CA and a server certificate for 127.0.0.1 in `dir`.
fn make_certs(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| {
                panic!("openssl is needed to make test certificates (apt-get install openssl): {e}")
            });
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=dts test CA",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server-key.pem",
        "-out",
        "server.csr",
    ]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName = IP:127.0.0.1\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.pem",
    ]);
}

/// Source-side global settings, on a throwaway source server: TLS, binlog
/// settings, retention, server id, read-only and replica roles, log_bin.
#[tokio::test]
async fn source_server_settings() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let c = |f: &str| certs.path().join(f).display().to_string();
    let (ca, cert, key) = (c("ca.pem"), c("server.pem"), c("server-key.pem"));
    let tls_opts = [
        format!("--ssl-ca={ca}"),
        format!("--ssl-cert={cert}"),
        format!("--ssl-key={key}"),
    ];
    let mut opts: Vec<String> = vec![
        "--log-bin=src-bin".into(),
        "--binlog-format=STATEMENT".into(),
        "--binlog-row-image=MINIMAL".into(),
        "--expire-logs-days=1".into(),
        "--binlog-checksum=NONE".into(),
        "--log-bin-compress=ON".into(),
    ];
    opts.extend(tls_opts.iter().cloned());
    let refs: Vec<&str> = opts.iter().map(String::as_str).collect();
    let mut inst = Instance::start(&refs);
    let db = format!("pc_src_{}", std::process::id());
    let mut conn = inst.conn().await;
    exec(
        &mut conn,
        &format!("CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, v LONGBLOB)"),
    )
    .await;
    let tgt = Server::Target.url();
    let t = |inst: &Instance, types: &str, extra: &str| {
        let text = format!(
            "[source]\nurl = \"{}\"\ntls = \"verify-identity\"\ntls_ca = \"{ca}\"\n\
             [target]\nurl = \"{tgt}\"\n[[objects]]\ndatabase = \"{db}\"\n\
             [migration]\ntypes = [{types}]\n{extra}\n",
            inst.url()
        );
        TaskConfig::from_toml(&text, None).unwrap()
    };
    let all = "\"schema\", \"full\", \"incremental\"";

    // TLS: verify-identity against the shared source (no TLS) fails; the
    // throwaway server has TLS and its certificate verifies.
    let no_tls = TaskConfig::from_toml(
        &format!(
            "[source]\nurl = \"{}\"\ntls = \"required\"\n[target]\nurl = \"{tgt}\"\n\
             tls = \"verify-ca\"\ntls_ca = \"{ca}\"\n[[objects]]\ndatabase = \"{db}\"\n",
            Server::Source.url()
        ),
        None,
    )
    .unwrap();
    let r = run_precheck(&no_tls).await;
    expect(&r, "source.tls", Status::Failure, "required");
    expect(&r, "target.tls", Status::Failure, "verify-ca");

    let r = run_precheck(&t(&inst, all, "")).await;
    expect(&r, "source.tls", Status::Pass, "encrypted (");
    expect(&r, "source.binlog_format", Status::Failure, "STATEMENT");
    expect(&r, "source.binlog_row_image", Status::Failure, "MINIMAL");
    expect(&r, "source.binlog_checksum", Status::Warning, "NONE");
    expect(&r, "source.binlog_retention", Status::Failure, "1.0 days");
    expect(
        &r,
        "source.binlog_compress",
        Status::Pass,
        "log_bin_compress ON",
    );
    expect(
        &r,
        "source.binlog_row_value_options",
        Status::Pass,
        "no partial JSON",
    );
    expect(&r, "source.gtid_mode", Status::Pass, "MariaDB");
    // Incremental only: more than 24 hours is enough.
    let r = run_precheck(&t(&inst, "\"incremental\"", "")).await;
    expect(
        &r,
        "source.binlog_retention",
        Status::Failure,
        "more than 24 hours",
    );
    exec(
        &mut conn,
        "SET GLOBAL binlog_expire_logs_seconds = 2 * 86400",
    )
    .await;
    let r = run_precheck(&t(&inst, "\"incremental\"", "")).await;
    expect(&r, "source.binlog_retention", Status::Pass, "2.0 days");
    let r = run_precheck(&t(&inst, all, "")).await;
    expect(
        &r,
        "source.binlog_retention",
        Status::Failure,
        "at least 7 days",
    );

    exec(
        &mut conn,
        "SET GLOBAL binlog_format = 'ROW', binlog_row_image = 'FULL', \
         binlog_expire_logs_seconds = 7 * 86400, binlog_checksum = 'CRC32'",
    )
    .await;
    // server_id 0 (MySQL allows it; MariaDB clamps it to 1, so here the
    // check passes and its failure is covered by the unit tests).
    exec(&mut conn, "SET GLOBAL server_id = 0").await;
    let r = run_precheck(&t(&inst, all, "")).await;
    for id in [
        "source.binlog_format",
        "source.binlog_row_image",
        "source.binlog_checksum",
        "source.binlog_retention",
    ] {
        expect(&r, id, Status::Pass, "");
    }
    expect(&r, "source.server_id", Status::Pass, "server_id 1");
    exec(&mut conn, "SET GLOBAL server_id = 100").await;

    // A read-only source with the heartbeat writing to it; then a replica
    // that does not log what it replicates.
    exec(&mut conn, "SET GLOBAL read_only = ON").await;
    let r = run_precheck(&t(&inst, all, "")).await;
    expect(&r, "source.server_id", Status::Pass, "");
    expect(&r, "source.node_role", Status::Failure, "read_only");
    let r = run_precheck(&t(&inst, all, "[heartbeat]\nmode = \"none\"")).await;
    expect(&r, "source.node_role", Status::Pass, "read-only");
    exec(&mut conn, "SET GLOBAL read_only = OFF").await;
    // The replication statements the instance's version takes.
    let dialect = Dialect::new(server_version(&mut conn).await.unwrap());
    let p = dialect.change_source_term().prefix();
    exec(
        &mut conn,
        &format!(
            "{} {p}HOST = '127.0.0.1', {p}PORT = 1, {p}USER = 'nobody'",
            dialect.change_source_statement()
        ),
    )
    .await;
    let r = run_precheck(&t(&inst, all, "")).await;
    expect(&r, "source.node_role", Status::Failure, "replica");
    exec(&mut conn, dialect.reset_replica_all_statement()).await;
    let r = run_precheck(&t(&inst, all, "")).await;
    expect(&r, "source.node_role", Status::Pass, "not a replica");
    conn.disconnect().await.ok();

    // No binlog at all: restart without log_bin, then with it.
    let refs: Vec<&str> = tls_opts.iter().map(String::as_str).collect();
    inst.restart(&refs);
    let r = run_precheck(&t(&inst, all, "")).await;
    expect(&r, "source.log_bin", Status::Failure, "log_bin is OFF");
    let mut with_bin = vec!["--log-bin=src-bin"];
    with_bin.extend(refs.iter());
    inst.restart(&with_bin);
    let r = run_precheck(&t(&inst, all, "")).await;
    expect(&r, "source.log_bin", Status::Pass, "log_bin ON");
}

/// Target-side global settings, on a throwaway target server.
#[tokio::test]
async fn target_server_settings() {
    let dbs = TestDatabases::new("pc_tgt").await;
    let db = dbs.name.clone();
    dbs.exec(
        Server::Source,
        "CREATE TABLE `Mixed` (id INT PRIMARY KEY, v LONGBLOB);
         INSERT INTO `Mixed` VALUES (1, REPEAT('x', 100000))",
    )
    .await;
    let mut inst = Instance::start(&[]);
    let mut conn = inst.conn().await;
    let t = |inst: &Instance, extra_migration: &str| {
        task(&Server::Source.url(), &inst.url(), &db, extra_migration, "")
    };
    let r = run_precheck(&t(&inst, "")).await;
    for id in [
        "pair.sql_mode",
        "pair.time_zone",
        "pair.explicit_defaults_for_timestamp",
        "pair.charset",
        "target.max_allowed_packet",
        "target.local_infile",
        "target.read_only",
        "pair.lower_case_table_names",
    ] {
        expect(&r, id, Status::Pass, "");
    }
    exec(
        &mut conn,
        "SET GLOBAL sql_mode = '', time_zone = '+05:00', explicit_defaults_for_timestamp = OFF, \
         character_set_server = 'latin1', max_allowed_packet = 65536, local_infile = OFF, \
         read_only = ON",
    )
    .await;
    let r = run_precheck(&t(&inst, "")).await;
    expect(&r, "pair.sql_mode", Status::Warning, "target \"\"");
    expect(&r, "pair.time_zone", Status::Warning, "+05:00");
    expect(
        &r,
        "pair.explicit_defaults_for_timestamp",
        Status::Warning,
        "OFF",
    );
    expect(&r, "pair.charset", Status::Warning, "latin1");
    expect(
        &r,
        "target.max_allowed_packet",
        Status::Failure,
        "100000 bytes",
    );
    expect(&r, "target.local_infile", Status::Failure, "OFF");
    expect(&r, "target.read_only", Status::Failure, "read_only");
    exec(
        &mut conn,
        "SET GLOBAL sql_mode = DEFAULT, time_zone = 'SYSTEM', explicit_defaults_for_timestamp = ON, \
         character_set_server = 'utf8mb4', max_allowed_packet = 256 * 1024 * 1024, \
         local_infile = ON, read_only = OFF",
    )
    .await;
    let source_mode: String = {
        let mut s = connect(Server::Source, None).await;
        let m: Option<String> = s.query_first("SELECT @@GLOBAL.sql_mode").await.unwrap();
        s.disconnect().await.ok();
        m.unwrap_or_default()
    };
    conn.exec_drop("SET GLOBAL sql_mode = ?", (&source_mode,))
        .await
        .unwrap();
    conn.disconnect().await.ok();
    let r = run_precheck(&t(&inst, "")).await;
    for id in [
        "pair.sql_mode",
        "pair.time_zone",
        "pair.explicit_defaults_for_timestamp",
        "pair.charset",
        "target.max_allowed_packet",
        "target.local_infile",
        "target.read_only",
    ] {
        expect(&r, id, Status::Pass, "");
    }
    // A target that folds names to lower case.
    inst.restart(&["--lower-case-table-names=1"]);
    let r = run_precheck(&t(&inst, "")).await;
    expect(
        &r,
        "pair.lower_case_table_names",
        Status::Warning,
        "`Mixed`",
    );
    let r = run_precheck(&t(&inst, "name_case = \"lower\"")).await;
    expect(&r, "pair.lower_case_table_names", Status::Pass, "");
    drop(inst);
    dbs.cleanup().await;
}
