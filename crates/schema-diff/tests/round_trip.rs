//! Round trip on the real servers: a schema using every feature is
//! extracted from the source, planned, created on an empty target,
//! extracted again, and the target's model equals the source's with the
//! intended changes (SQL SECURITY INVOKER, renames, case policy) applied.

mod common;

use dts_test_support::{connect, exec, quote_ident, Server, TestDatabases};
use mysql_async::prelude::*;
use schema_diff::compare::{compare, expected_target, CompareOptions};
use schema_diff::extract::{extract_schema, server_version};
use schema_diff::names::{NameMap, Renames};
use schema_diff::plan::{plan, Phase};
use schema_diff::translate::{DefinerPolicy, TranslateOptions};
use schema_diff::CasePolicy;

const SCHEMA: &[&str] = &[
    "CREATE TABLE `order` (
        `id` int NOT NULL AUTO_INCREMENT,
        `cust id` int,
        `naïve ü` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci DEFAULT 'x''y',
        `back``tick` int INVISIBLE DEFAULT 3,
        total decimal(10,2) CHECK (total >= 0),
        doubled decimal(12,2) AS (total * 2) VIRTUAL,
        stored_g decimal(11,2) AS (`total` + 1) PERSISTENT,
        doc text,
        g geometry NOT NULL,
        created timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
        PRIMARY KEY (id),
        UNIQUE KEY uk (`cust id`, id),
        KEY k_prefix (`naïve ü`(5)),
        FULLTEXT KEY ft (doc),
        SPATIAL KEY sp (g),
        CONSTRAINT chk_tbl CHECK (`cust id` > 0 OR `cust id` IS NULL)
    ) ENGINE=InnoDB AUTO_INCREMENT=5 COMMENT='orders'",
    "CREATE TABLE a (id int PRIMARY KEY, b_id int, KEY (b_id))",
    "CREATE TABLE b (id int PRIMARY KEY, a_id int, KEY (a_id),
        CONSTRAINT b_to_a FOREIGN KEY (a_id) REFERENCES a (id) ON DELETE SET NULL ON UPDATE CASCADE)",
    "ALTER TABLE a ADD CONSTRAINT a_to_b FOREIGN KEY (b_id) REFERENCES b (id) ON DELETE CASCADE",
    "CREATE TABLE part (id int NOT NULL, d date NOT NULL, PRIMARY KEY (id, d))
        PARTITION BY RANGE (year(d)) (PARTITION p0 VALUES LESS THAN (2000),
        PARTITION `p max` VALUES LESS THAN MAXVALUE)",
    "CREATE VIEW v1 AS SELECT id, total, `cust id` FROM `order` WHERE total > 0 WITH CHECK OPTION",
    "CREATE VIEW v2 AS SELECT v1.id, v1.total FROM v1 WHERE v1.id > 1 WITH CASCADED CHECK OPTION",
    "CREATE VIEW `a top view` AS SELECT id FROM v2",
    "CREATE FUNCTION twice(x int) RETURNS int DETERMINISTIC RETURN x * 2",
    "CREATE VIEW v_func AS SELECT twice(id) AS t FROM a",
    "CREATE TRIGGER `order bi` BEFORE INSERT ON `order` FOR EACH ROW
     BEGIN
       IF NEW.total < 0 THEN
         SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'negative total';
       END IF;
       SET NEW.doc = COALESCE(NEW.doc, 'none');
     END",
    "CREATE PROCEDURE `add order`(IN amount decimal(10,2), OUT new_id int)
     BEGIN
       DECLARE bad CONDITION FOR SQLSTATE '45001';
       IF amount < 0 THEN
         SIGNAL bad SET MESSAGE_TEXT = 'negative';
       END IF;
       INSERT INTO `order` (`cust id`, total, g) VALUES (1, amount, POINT(0, 0));
       SET new_id = LAST_INSERT_ID();
     END",
    "CREATE EVENT `ev cleanup` ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00'
     ON COMPLETION PRESERVE DISABLE DO DELETE FROM `order` WHERE total = 0",
];

async fn create_source(dbs: &TestDatabases) {
    let mut c = dbs.source().await;
    for s in SCHEMA {
        exec(&mut c, s).await;
    }
    c.disconnect().await.ok();
}

async fn drop_target(name: &str) {
    let mut t = connect(Server::Target, None).await;
    exec(
        &mut t,
        &format!("DROP DATABASE IF EXISTS {}", quote_ident(name)),
    )
    .await;
    t.disconnect().await.ok();
}

async fn options(renames: Renames, case: CasePolicy) -> TranslateOptions {
    let mut t = connect(Server::Target, None).await;
    let target = server_version(&mut t).await.unwrap();
    t.disconnect().await.ok();
    TranslateOptions {
        target,
        names: NameMap::new(renames, case),
        definer: DefinerPolicy::Invoker,
    }
}

#[tokio::test]
async fn every_feature_round_trips_with_invoker_security() {
    let dbs = TestDatabases::new("round_trip").await;
    create_source(&dbs).await;
    let mut s = dbs.source().await;
    let source = extract_schema(&mut s, std::slice::from_ref(&dbs.name))
        .await
        .unwrap();
    let db = &source.databases[0];
    assert_eq!(db.tables.len(), 4);
    assert_eq!(db.views.len(), 4);
    assert_eq!(db.routines.len(), 2);
    assert_eq!((db.triggers.len(), db.events.len()), (1, 1));
    let order = db.table("order").unwrap();
    assert!(order.column("back`tick").unwrap().invisible);
    assert!(order.column("stored_g").unwrap().generated_stored);
    assert!(db.table("part").unwrap().partitioning.is_some());
    assert_eq!(db.table("a").unwrap().foreign_keys.len(), 1);

    let opts = options(Renames::default(), CasePolicy::Keep).await;
    let p = plan(&source, &opts).unwrap();
    // Foreign keys are cut out of CREATE TABLE and come after every table;
    // views on views come after what they read.
    for st in p.phase(Phase::Tables) {
        assert!(!st.sql.contains("FOREIGN KEY"), "{}", st.sql);
    }
    assert_eq!(p.phase(Phase::ForeignKeys).count(), 2);
    let order_of = |n: &str| {
        p.statements
            .iter()
            .position(|s| s.object.name == n)
            .unwrap()
    };
    assert!(order_of("v1") < order_of("v2"));
    assert!(order_of("v2") < order_of("a top view"));
    assert!(order_of("twice") < order_of("v_func"));
    assert!(order_of("ev cleanup") > order_of("order bi"));
    for st in &p.statements {
        assert!(!st.sql.contains("DEFINER="), "{}", st.sql);
    }
    println!("{p}");

    drop_target(&dbs.name).await;
    common::run_plan(&p).await.unwrap();
    let mut t = dbs.target().await;
    let target = extract_schema(&mut t, std::slice::from_ref(&dbs.name))
        .await
        .unwrap();
    let expected = expected_target(&source, &opts).unwrap();
    let diffs = compare(&expected, &target, &CompareOptions::default());
    assert!(
        diffs.is_empty(),
        "differences:\n{}",
        diffs.iter().map(|d| format!("  {d}\n")).collect::<String>()
    );
    for v in &target.databases[0].views {
        assert_eq!(v.security_type, "INVOKER", "{}", v.name);
    }
    for r in &target.databases[0].routines {
        assert_eq!(r.security_type, "INVOKER", "{}", r.name);
    }

    // Views and routines run for an account that is not their definer.
    let user = format!("dts_app_{}", std::process::id());
    exec(
        &mut t,
        &format!(
            "CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY 'pw';
             GRANT SELECT, INSERT, DELETE, EXECUTE ON {}.* TO '{user}'@'%'",
            quote_ident(&dbs.name)
        ),
    )
    .await;
    let url = std::env::var("DTS_TEST_TARGET_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3308".into());
    let url = url.replacen("root@", &format!("{user}:pw@"), 1);
    let opts_app = mysql_async::OptsBuilder::from_opts(mysql_async::Opts::from_url(&url).unwrap())
        .db_name(Some(dbs.name.clone()));
    let mut app = mysql_async::Conn::new(opts_app).await.unwrap();
    app.query_drop("CALL `add order`(12.5, @id)").await.unwrap();
    let n: Option<i64> = app
        .query_first("SELECT COUNT(*) FROM `a top view`")
        .await
        .unwrap();
    assert_eq!(n, Some(1));
    let v: Option<i64> = app.query_first("SELECT twice(21)").await.unwrap();
    assert_eq!(v, Some(42));
    let err = app
        .query_drop("CALL `add order`(-1, @id)")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("negative"), "{err}");
    app.disconnect().await.ok();
    exec(&mut t, &format!("DROP USER '{user}'@'%'")).await;
    t.disconnect().await.ok();
    s.disconnect().await.ok();
    dbs.cleanup().await;
}

#[tokio::test]
async fn renames_and_case_policy_reach_bodies() {
    let dbs = TestDatabases::new("round_trip_renames").await;
    create_source(&dbs).await;
    let mut s = dbs.source().await;
    let source = extract_schema(&mut s, std::slice::from_ref(&dbs.name))
        .await
        .unwrap();
    let target_db = format!("{}_r", dbs.name);
    let renames = Renames::default()
        .database(&dbs.name, &target_db)
        .table(&dbs.name, "order", "Orders")
        .table(&dbs.name, "v1", "V_first")
        .column(&dbs.name, "order", "cust id", "customer_id")
        .column(&dbs.name, "a", "b_id", "b_ref");
    let opts = options(renames, CasePolicy::Lower).await;
    let p = plan(&source, &opts).unwrap();
    println!("{p}");
    drop_target(&dbs.name).await;
    drop_target(&target_db).await;
    common::run_plan(&p).await.unwrap();
    let mut t = connect(Server::Target, Some(&target_db)).await;
    let target = extract_schema(&mut t, std::slice::from_ref(&target_db))
        .await
        .unwrap();
    let expected = expected_target(&source, &opts).unwrap();
    let d = &target.databases[0];
    assert!(d.table("orders").is_some());
    assert!(d.table("orders").unwrap().column("customer_id").is_some());
    assert!(d.views.iter().any(|v| v.name == "v_first"));
    let diffs = compare(&expected, &target, &CompareOptions::default());
    assert!(
        diffs.is_empty(),
        "differences:\n{}",
        diffs.iter().map(|d| format!("  {d}\n")).collect::<String>()
    );
    // The renamed procedure body still works.
    t.query_drop("CALL `add order`(3, @id)").await.unwrap();
    let n: Option<i64> = t
        .query_first("SELECT COUNT(*) FROM `a top view`")
        .await
        .unwrap();
    assert_eq!(n, Some(1));
    exec(
        &mut t,
        &format!("DROP DATABASE {}", quote_ident(&target_db)),
    )
    .await;
    t.disconnect().await.ok();
    s.disconnect().await.ok();
    dbs.cleanup().await;
}
