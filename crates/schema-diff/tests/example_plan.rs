//! The `plan` example, run against the source server: it reads one
//! database and plans it for MySQL 8.0.36, and for the target's own version
//! a plan that the target runs. The example's own code is compiled into this
//! test, from its argument parsing to the plan it prints.

use dts_test_support::{connect, exec, opts, query_one, Server, TestDatabases};
use schema_diff::plan::Phase;

mod common;

#[path = "../examples/plan.rs"]
#[allow(dead_code)]
mod plan;

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

const SCHEMA: &str = "
    CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(20)) COLLATE utf8mb4_uca1400_ai_ci;
    CREATE TABLE child (id INT PRIMARY KEY, parent_id INT,
                        CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id));
    CREATE VIEW names AS SELECT name FROM parent";

#[tokio::test]
async fn plans_a_database_for_a_target_version() {
    let dbs = TestDatabases::new("example_plan").await;
    dbs.exec(Server::Source, SCHEMA).await;
    let (url, password) = source_url();
    let args = |version: &str| -> Vec<String> {
        vec![
            url.clone(),
            dbs.name.clone(),
            "--target-version".into(),
            version.into(),
        ]
    };

    let p = plan::run(&args("8.0.36"), password.clone())
        .await
        .unwrap_or_else(|e| panic!("plan for 8.0.36: {e}"));
    let script = p.to_string();
    let tables: Vec<&str> = p
        .phase(Phase::Tables)
        .map(|s| s.object.name.as_str())
        .collect();
    assert_eq!(tables, ["child", "parent"], "{script}");
    // MariaDB's UCA 14 collation is mapped to MySQL's, and the plan says so.
    assert!(
        p.phase(Phase::Tables)
            .any(|s| s.sql.contains("COLLATE=utf8mb4_0900_ai_ci")),
        "{script}"
    );
    assert!(
        p.warnings
            .iter()
            .any(|w| w.message.contains("utf8mb4_uca1400_ai_ci")),
        "{script}"
    );
    // The foreign key comes after the data, the view runs as its caller.
    let fks: Vec<&str> = p
        .phase(Phase::ForeignKeys)
        .map(|s| s.sql.as_str())
        .collect();
    assert_eq!(fks.len(), 1, "{script}");
    assert!(fks[0].contains("ADD CONSTRAINT `fk_parent`"), "{script}");
    assert!(
        p.phase(Phase::Views)
            .all(|s| s.sql.contains("SQL SECURITY INVOKER")),
        "{script}"
    );
    assert!(script.contains("-- phase: ForeignKeys"), "{script}");

    // Planned for the target's own version, the target runs it.
    let mut target = connect(Server::Target, None).await;
    // What `SELECT VERSION()` says, as a user would copy it.
    let version: String = query_one(&mut target, "SELECT VERSION()").await;
    let p = plan::run(&args(&version), password)
        .await
        .unwrap_or_else(|e| panic!("plan for {version}: {e}"));
    exec(
        &mut target,
        &format!("DROP DATABASE {}", dts_test_support::quote_ident(&dbs.name)),
    )
    .await;
    common::run_plan(&p)
        .await
        .expect("the target runs the plan");
    let objects: u64 = query_one(
        &mut target,
        &format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '{}'",
            dbs.name
        ),
    )
    .await;
    assert_eq!(objects, 3, "two tables and a view on the target");
    dbs.cleanup().await;
}

#[tokio::test]
async fn refuses_a_password_and_a_database_the_source_lacks() {
    let err = plan::run(
        &[
            "mysql://u:secret@127.0.0.1:9".into(),
            "db".into(),
            "--target-version".into(),
            "8.0.36".into(),
        ],
        None,
    )
    .await
    .expect_err("a URL with a password");
    assert!(err.to_string().contains("MYSQL_PWD"), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");

    let (url, password) = source_url();
    let err = plan::run(
        &[
            url,
            "dtst_no_such_database".into(),
            "--target-version".into(),
            "8.0.36".into(),
        ],
        password,
    )
    .await
    .expect_err("a database the source lacks");
    assert!(err.to_string().contains("no database"), "{err}");
}
