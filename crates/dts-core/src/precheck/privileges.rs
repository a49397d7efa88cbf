//! `source.privileges`, `target.privileges` and the `*_excessive` warnings:
//! what each account needs for this task (from the selection, the phases
//! and the snapshot method), what it lacks with the GRANT that gives it,
//! and what it holds beyond that.
//!
//! The snapshot method decides the source's extra privileges: the global
//! read lock needs RELOAD; the watermark snapshot needs no RELOAD but reads
//! the binlog (REPLICATION SLAVE and REPLICATION CLIENT, even for a
//! full-only task) and takes shared locking reads (on MySQL before 8.0.22
//! those need one of LOCK TABLES, UPDATE or DELETE besides SELECT); the
//! consistent snapshot needs nothing more than SELECT.

use std::collections::{BTreeMap, BTreeSet};

use schema_diff::quote;

use server_dialect::SnapshotMethod;

use crate::config::{HeartbeatMode, MigrationType, Snapshot, TaskConfig};

use super::facts::ServerFacts;
use super::gather::Inventory;
use super::report::{fail, list, pass, warn, Check};

/// One privilege requirement: (privilege(s) any of which suffices, on what,
/// for what). A need on a table is met by a grant on the table, its
/// database or globally; `grant_on_database` makes the fix grant on the
/// database (for privileges such as LOCK TABLES that exist only at the
/// database and global levels).
struct Need {
    any_of: Vec<&'static str>,
    db: Option<String>,
    table: Option<String>,
    reason: &'static str,
    grant_on_database: bool,
}

fn need(
    any_of: &[&'static str],
    db: Option<&str>,
    table: Option<&str>,
    reason: &'static str,
) -> Need {
    Need {
        any_of: any_of.to_vec(),
        db: db.map(str::to_string),
        table: table.map(str::to_string),
        reason,
        grant_on_database: false,
    }
}

fn missing_grants(f: &ServerFacts, needs: &[Need]) -> (Vec<String>, Vec<String>) {
    let mut found = Vec::new();
    // GRANT statements grouped by object.
    let mut grants: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for n in needs {
        let ok = n.any_of.iter().any(|p| match &n.db {
            None => f.privileges.has_global(p),
            Some(db) => f.privileges.has(p, db, n.table.as_deref()),
        });
        if ok {
            continue;
        }
        let on = match (&n.db, &n.table) {
            (None, _) => "*.*".to_string(),
            (Some(d), None) => format!("{}.*", quote(d)),
            (Some(d), Some(t)) => format!("{}.{}", quote(d), quote(t)),
        };
        found.push(format!("{} on {on} ({})", n.any_of.join(" or "), n.reason));
        let grant_on = match (&n.db, n.grant_on_database) {
            (Some(d), true) => format!("{}.*", quote(d)),
            _ => on,
        };
        if let Some(first) = n.any_of.first() {
            grants.entry(grant_on).or_default().insert(first);
        }
    }
    let fixes = grants
        .into_iter()
        .map(|(on, ps)| {
            format!(
                "GRANT {} ON {on} TO {};",
                ps.into_iter().collect::<Vec<_>>().join(", "),
                f.privileges.grantee
            )
        })
        .collect();
    (found, fixes)
}

/// How the full copy will take its snapshots: as the task file says, or
/// (`auto`) as the source's dialect chooses, the same function the copy
/// asks.
pub(super) fn snapshot_method(task: &TaskConfig, src: &ServerFacts) -> SnapshotMethod {
    match task.full.snapshot {
        Snapshot::Auto => src.dialect().default_snapshot_method(),
        Snapshot::Consistent => SnapshotMethod::ConsistentSnapshot,
        Snapshot::Ftwrl => SnapshotMethod::GlobalReadLock,
        Snapshot::Watermark => SnapshotMethod::Watermark,
    }
}

/// What the snapshot method needs on the source beyond SELECT on the
/// tables (`incremental`: the binlog privileges are asked for already).
fn snapshot_needs(
    method: SnapshotMethod,
    src: &ServerFacts,
    tables: &[(String, String)],
    incremental: bool,
) -> Vec<Need> {
    let mut s = Vec::new();
    match method {
        SnapshotMethod::ConsistentSnapshot => {}
        SnapshotMethod::GlobalReadLock => s.push(need(
            &["RELOAD"],
            None,
            None,
            "FLUSH TABLES WITH READ LOCK for the snapshot",
        )),
        SnapshotMethod::Watermark => {
            if !incremental {
                s.push(need(
                    &["REPLICATION SLAVE"],
                    None,
                    None,
                    "reading the binlog between each chunk's watermarks",
                ));
                s.push(need(
                    &["REPLICATION CLIENT", "BINLOG MONITOR"],
                    None,
                    None,
                    "reading the binlog watermarks",
                ));
            }
            if src.dialect().locking_read_needs_write_privilege() {
                for (db, t) in tables {
                    let mut n = need(
                        &["LOCK TABLES", "UPDATE", "DELETE"],
                        Some(db),
                        Some(t),
                        "the chunks' SELECT ... FOR SHARE (MySQL before 8.0.22)",
                    );
                    n.grant_on_database = true;
                    s.push(n);
                }
            }
        }
    }
    s
}

/// Every privilege check, from the facts and the inventory (judged before
/// the definitions are read: the privileges decide whether they can be).
pub(super) fn privilege_checks(
    task: &TaskConfig,
    src: &ServerFacts,
    tgt: &ServerFacts,
    inv: &Inventory,
    out: &mut Vec<Check>,
) {
    let incremental = task.migration.has(MigrationType::Incremental);
    let schema_phase = task.migration.has(MigrationType::Schema);
    let mut s = Vec::new();
    for (db, t) in &inv.tables {
        s.push(need(&["SELECT"], Some(db), Some(t), "reading the data"));
    }
    if incremental {
        s.push(need(
            &["REPLICATION SLAVE"],
            None,
            None,
            "reading the binlog",
        ));
        s.push(need(
            &["REPLICATION CLIENT", "BINLOG MONITOR"],
            None,
            None,
            "reading binlog positions",
        ));
    }
    for (db, [views, triggers, _, events]) in &inv.dbs {
        if schema_phase && *views {
            s.push(need(
                &["SHOW VIEW"],
                Some(db),
                None,
                "reading view definitions",
            ));
        }
        if schema_phase && *triggers {
            s.push(need(
                &["TRIGGER"],
                Some(db),
                None,
                "reading trigger definitions",
            ));
        }
        if schema_phase && *events {
            s.push(need(
                &["EVENT"],
                Some(db),
                None,
                "reading event definitions",
            ));
        }
    }
    if task.migration.has(MigrationType::Full) {
        s.extend(snapshot_needs(
            snapshot_method(task, src),
            src,
            &inv.tables,
            incremental,
        ));
    }
    if task.heartbeat.mode == HeartbeatMode::SourceTable && incremental {
        for p in ["CREATE", "INSERT", "UPDATE"] {
            let p: &'static str = p;
            s.push(need(
                &[p],
                Some(&task.heartbeat.schema),
                None,
                "the heartbeat table on the source",
            ));
        }
    }
    let (missing, fixes) = missing_grants(src, &s);
    out.push(if missing.is_empty() {
        pass(
            "source.privileges",
            format!(
                "{} has every privilege the task needs",
                src.privileges.grantee
            ),
        )
    } else {
        fail(
            "source.privileges",
            format!("{} lacks: {}", src.privileges.grantee, list(&missing, 12)),
            fixes.join(" "),
        )
    });

    let mut t = Vec::new();
    let ddl: &[&'static str] = &["CREATE", "DROP", "ALTER", "INDEX"];
    let dml: &[&'static str] = &["SELECT", "INSERT", "UPDATE", "DELETE"];
    let mut tdbs = BTreeSet::new();
    let names = task.name_map();
    for (db, _) in &inv.tables {
        tdbs.insert(names.database(db));
    }
    for (db, [views, triggers, routines, events]) in &inv.dbs {
        let td = names.database(db);
        tdbs.insert(td.clone());
        if schema_phase {
            if *views {
                t.push(need(&["CREATE VIEW"], Some(&td), None, "creating views"));
                t.push(need(&["SHOW VIEW"], Some(&td), None, "checking views"));
            }
            if *triggers {
                t.push(need(&["TRIGGER"], Some(&td), None, "creating triggers"));
            }
            if *routines {
                t.push(need(
                    &["CREATE ROUTINE"],
                    Some(&td),
                    None,
                    "creating routines",
                ));
                t.push(need(
                    &["ALTER ROUTINE"],
                    Some(&td),
                    None,
                    "replacing routines",
                ));
            }
            if *events {
                t.push(need(&["EVENT"], Some(&td), None, "creating events"));
            }
        }
    }
    for td in &tdbs {
        for p in dml {
            t.push(need(&[p], Some(td), None, "writing the data"));
        }
        if schema_phase || incremental {
            for p in ddl {
                t.push(need(
                    &[p],
                    Some(td),
                    None,
                    "creating objects and replicating DDL",
                ));
            }
        }
    }
    for p in dml.iter().chain(ddl) {
        t.push(need(
            &[p],
            Some(&task.target.meta_schema),
            None,
            "the task's metadata schema",
        ));
    }
    let (missing, fixes) = missing_grants(tgt, &t);
    out.push(if missing.is_empty() {
        pass(
            "target.privileges",
            format!(
                "{} has every privilege the task needs",
                tgt.privileges.grantee
            ),
        )
    } else {
        fail(
            "target.privileges",
            format!("{} lacks: {}", tgt.privileges.grantee, list(&missing, 12)),
            fixes.join(" "),
        )
    });

    for (id, f, side) in [
        ("source.privileges_excessive", src, "source"),
        ("target.privileges_excessive", tgt, "target"),
    ] {
        let mut extra: Vec<String> = [
            "SUPER",
            "FILE",
            "SHUTDOWN",
            "CREATE USER",
            "PROCESS",
            "DROP",
            "DELETE",
            "ALTER",
            "INSERT",
            "UPDATE",
            "ALL PRIVILEGES",
        ]
        .iter()
        .filter(|p| f.privileges.global.contains(**p))
        .map(|p| format!("{p} ON *.*"))
        .collect();
        if f.privileges.global_grant_option {
            extra.push("GRANT OPTION".into());
        }
        if extra.is_empty() {
            out.push(pass(id, "no global administrative or write privileges"));
        } else {
            out.push(warn(
                id,
                format!(
                    "{} holds more than the task needs: {}",
                    f.privileges.grantee,
                    extra.join(", ")
                ),
                format!(
                    "use a {side} account with only the privileges in docs/precheck.md \
                     (REVOKE {} ON *.* FROM {};), or acknowledge {id}",
                    extra
                        .iter()
                        .map(|e| e.trim_end_matches(" ON *.*"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    f.privileges.grantee
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::facts;
    use super::*;

    use crate::precheck::Status;

    /// A task file with `extra` TOML appended (a `[migration]` or `[full]`
    /// section).
    fn task_with(extra: &str) -> TaskConfig {
        TaskConfig::from_toml(
            &format!(
                "[source]\nurl = \"mysql://a@h:1\"\n[target]\nurl = \"mysql://a@h:2\"\n\
                 [[objects]]\ndatabase = \"d\"\n{extra}"
            ),
            None,
        )
        .unwrap()
    }

    /// A source account holding `global` privileges and `schema` ones on
    /// database `d`.
    fn source(version: &str, global: &[&str], schema: &[&str]) -> ServerFacts {
        let mut f = facts(version, &[]);
        f.privileges.grantee = "'dts'@'%'".into();
        f.privileges.global = global.iter().map(|p| p.to_string()).collect();
        f.privileges.schema = schema
            .iter()
            .map(|p| ("d".to_string(), p.to_string()))
            .collect();
        f
    }

    fn inventory() -> Inventory {
        Inventory {
            tables: vec![("d".into(), "t1".into()), ("d".into(), "t2".into())],
            dbs: vec![("d".into(), [false; 4])],
        }
    }

    fn source_check(task: &TaskConfig, src: &ServerFacts) -> Check {
        let mut out = Vec::new();
        let tgt = facts("8.0.36", &[]);
        privilege_checks(task, src, &tgt, &inventory(), &mut out);
        out.into_iter()
            .find(|c| c.id == "source.privileges")
            .unwrap()
    }

    /// What `method` lacks on `src`, and the GRANTs that fix it.
    fn lacks(method: SnapshotMethod, src: &ServerFacts, incremental: bool) -> (String, String) {
        let needs = snapshot_needs(method, src, &inventory().tables, incremental);
        let (missing, fixes) = missing_grants(src, &needs);
        (missing.join("; "), fixes.join(" "))
    }

    #[test]
    fn the_watermark_snapshot_needs_the_binlog_and_no_reload() {
        // MySQL 8.0.22 and later, MySQL 8.4: the binlog privileges (even
        // without incremental migration) and nothing else; never RELOAD.
        for version in ["8.0.22", "8.0.36", "8.4.3", "9.1.0"] {
            let bare = source(version, &["SELECT"], &[]);
            let (missing, fixes) = lacks(SnapshotMethod::Watermark, &bare, false);
            assert!(
                missing.contains("REPLICATION SLAVE"),
                "{version}: {missing}"
            );
            assert!(
                missing.contains("REPLICATION CLIENT"),
                "{version}: {missing}"
            );
            assert!(!missing.contains("RELOAD"), "{version}: {missing}");
            assert!(!missing.contains("LOCK TABLES"), "{version}: {missing}");
            assert_eq!(
                fixes,
                "GRANT REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO 'dts'@'%';"
            );
            let ready = source(
                version,
                &["SELECT", "REPLICATION SLAVE", "REPLICATION CLIENT"],
                &[],
            );
            assert_eq!(lacks(SnapshotMethod::Watermark, &ready, false).0, "");
            // With incremental migration they are asked for once, by it.
            assert_eq!(lacks(SnapshotMethod::Watermark, &bare, true).0, "");
        }
        // MariaDB: BINLOG MONITOR is its REPLICATION CLIENT.
        let maria = source(
            "10.11.6-MariaDB",
            &["SELECT", "REPLICATION SLAVE", "BINLOG MONITOR"],
            &[],
        );
        assert_eq!(lacks(SnapshotMethod::Watermark, &maria, false).0, "");
    }

    #[test]
    fn before_mysql_8_0_22_the_locking_read_needs_a_write_privilege_too() {
        // PolarDB for MySQL 8.0.2 (MySQL 8.0.18), MySQL 8.0.21 and 5.7.
        let polar = |global: &[&str], schema: &[&str]| {
            let mut f = source("8.0.18", global, schema);
            f.version.polardb = Some("8.0.2.2.19".into());
            f
        };
        let base = ["SELECT", "REPLICATION SLAVE", "REPLICATION CLIENT"];
        for src in [
            polar(&base, &[]),
            source("8.0.21", &base, &[]),
            source("5.7.44", &base, &[]),
        ] {
            let (missing, fixes) = lacks(SnapshotMethod::Watermark, &src, true);
            assert!(
                missing.contains("LOCK TABLES or UPDATE or DELETE on `d`.`t1`")
                    && missing.contains("`d`.`t2`"),
                "{}: {missing}",
                src.version
            );
            // LOCK TABLES exists only for databases: one GRANT for both.
            assert_eq!(fixes, "GRANT LOCK TABLES ON `d`.* TO 'dts'@'%';");
            assert!(!missing.contains("RELOAD"));
        }
        // Any one of them, on the database, is enough.
        for p in ["LOCK TABLES", "UPDATE", "DELETE"] {
            assert_eq!(
                lacks(SnapshotMethod::Watermark, &polar(&base, &[p]), true).0,
                ""
            );
        }
        // So is a table-level UPDATE on each table.
        let mut f = polar(&base, &[]);
        f.privileges.table = vec![
            ("d".into(), "t1".into(), "UPDATE".into()),
            ("d".into(), "t2".into(), "DELETE".into()),
        ];
        assert_eq!(lacks(SnapshotMethod::Watermark, &f, true).0, "");
        // MariaDB's LOCK IN SHARE MODE needs SELECT only.
        let maria = source("10.6.1-MariaDB", &base, &[]);
        assert_eq!(lacks(SnapshotMethod::Watermark, &maria, true).0, "");
    }

    #[test]
    fn reload_only_for_the_global_read_lock() {
        for version in ["5.7.44", "8.0.36", "8.4.3", "10.11.6-MariaDB"] {
            let src = source(version, &["SELECT"], &[]);
            let (missing, fixes) = lacks(SnapshotMethod::GlobalReadLock, &src, true);
            assert!(missing.starts_with("RELOAD on *.*"), "{version}: {missing}");
            assert_eq!(fixes, "GRANT RELOAD ON *.* TO 'dts'@'%';");
            assert_eq!(
                lacks(SnapshotMethod::ConsistentSnapshot, &src, false).0,
                "",
                "{version}"
            );
        }
    }

    #[test]
    fn the_task_files_snapshot_decides_the_method() {
        let full = "[migration]\ntypes = [\"full\"]\n";
        // auto: the dialect's default, whatever it is, and RELOAD exactly
        // when that is the global read lock.
        for version in ["8.0.18", "8.0.36", "8.4.3", "10.11.6-MariaDB"] {
            let src = source(version, &["SELECT"], &[]);
            let task = task_with(full);
            let method = snapshot_method(&task, &src);
            assert_eq!(method, src.dialect().default_snapshot_method(), "{version}");
            let c = source_check(&task, &src);
            assert_eq!(
                c.found.contains("RELOAD"),
                method == SnapshotMethod::GlobalReadLock,
                "{version}: {c:?}"
            );
        }
        let maria = source("10.11.6-MariaDB", &["SELECT"], &[]);
        assert_eq!(
            snapshot_method(&task_with(full), &maria),
            SnapshotMethod::ConsistentSnapshot
        );
        assert_eq!(source_check(&task_with(full), &maria).status, Status::Pass);
        // ftwrl: RELOAD, on every flavour.
        let ftwrl = format!("{full}[full]\nsnapshot = \"ftwrl\"\n");
        let c = source_check(&task_with(&ftwrl), &maria);
        assert_eq!(c.status, Status::Failure);
        assert!(c.fix.contains("GRANT RELOAD ON *.*"), "{c:?}");
        // consistent: nothing more than SELECT.
        let consistent = format!("{full}[full]\nsnapshot = \"consistent\"\n");
        assert_eq!(
            source_check(&task_with(&consistent), &maria).status,
            Status::Pass
        );
        // watermark, on MariaDB too: no RELOAD, the binlog privileges.
        let watermark = format!("{full}[full]\nsnapshot = \"watermark\"\n");
        assert_eq!(
            snapshot_method(&task_with(&watermark), &maria),
            SnapshotMethod::Watermark
        );
        let c = source_check(&task_with(&watermark), &maria);
        assert!(!c.found.contains("RELOAD"), "{c:?}");
        assert!(c.found.contains("REPLICATION SLAVE"), "{c:?}");
    }
}
