//! `source.privileges`, `target.privileges` and the `*_excessive` warnings:
//! what each account needs for this task (from the selection and the
//! phases), what it lacks with the GRANT that gives it, and what it holds
//! beyond that.

use std::collections::{BTreeMap, BTreeSet};

use schema_diff::quote;

use crate::config::{HeartbeatMode, MigrationType, Snapshot, TaskConfig};

use super::facts::ServerFacts;
use super::gather::Inventory;
use super::report::{fail, list, pass, warn, Check};

/// One privilege requirement: (privilege(s) any of which suffices, on what,
/// for what).
struct Need {
    any_of: Vec<&'static str>,
    db: Option<String>,
    table: Option<String>,
    reason: &'static str,
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
        if let Some(first) = n.any_of.first() {
            grants.entry(on).or_default().insert(first);
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
    let ftwrl = task.full.snapshot == Snapshot::Ftwrl
        || (task.full.snapshot == Snapshot::Auto && !src.version.is_mariadb());
    if ftwrl && task.migration.has(MigrationType::Full) {
        s.push(need(
            &["RELOAD"],
            None,
            None,
            "FLUSH TABLES WITH READ LOCK for the snapshot",
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
