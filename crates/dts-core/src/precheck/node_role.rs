//! `source.node_role`: a source that can give what incremental migration
//! needs (writable for the heartbeat, a binlog of its own, a replica that
//! logs what it replicates).

use crate::config::{HeartbeatMode, MigrationType, TaskConfig};

use super::facts::ServerFacts;
use super::report::{fail, pass, warn, Check};

/// `source.node_role`.
pub(super) fn node_role(task: &TaskConfig, src: &ServerFacts, out: &mut Vec<Check>) {
    let incremental = task.migration.has(MigrationType::Incremental);
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let dialect = src.dialect();
    let ro: Vec<&str> = dialect
        .read_only_variables()
        .iter()
        .copied()
        .filter(|v| src.on(v))
        .collect();
    if !ro.is_empty() && incremental && task.heartbeat.mode == HeartbeatMode::SourceTable {
        problems.push(format!(
            "the source is read-only ({} ON) and the heartbeat writes to it",
            ro.join(", ")
        ));
        // innodb_read_only is a startup option: the node is replaced below.
        let settable: Vec<String> = ro
            .iter()
            .filter(|v| **v != "innodb_read_only")
            .map(|v| format!("SET GLOBAL {v} = OFF;"))
            .collect();
        fixes.push(format!(
            "{}set [heartbeat] mode = \"none\" (lag is then measured only while the source \
             writes)",
            if settable.is_empty() {
                String::new()
            } else {
                format!("{} on the source, or ", settable.join(" "))
            }
        ));
    }
    if src.on("innodb_read_only") && incremental {
        problems.push("innodb_read_only ON: a read-only node has no binlog of its own".into());
        fixes.push("use the cluster's primary (read-write) node as the source".into());
    }
    // MySQL 8.0.26 and later show both names; older servers and MariaDB
    // only log_slave_updates. The fix names the one the version takes.
    if src.is_replica == Some(true)
        && incremental
        && !src.on("log_slave_updates")
        && !src.on("log_replica_updates")
    {
        let var = dialect.log_replica_updates_variable();
        problems.push(format!(
            "the source is a replica without {var}: changes it replicates are not in its binlog"
        ));
        fixes.push(format!(
            "start it with {var} = ON (in the [mysqld] section of its option file), or use its \
             primary as the source"
        ));
    }
    // Reading a replica: its positions must survive it (GTIDs), so that the
    // task can move to another server (catalogue S4).
    let mut warnings = Vec::new();
    if src.is_replica == Some(true) && incremental {
        if !src.version.is_mariadb() && !src.var("gtid_mode").eq_ignore_ascii_case("ON") {
            problems.push(format!(
                "the source is a replica with gtid_mode {}: the task's positions would be file \
                 offsets of this replica alone, useless on its primary or another replica",
                if src.var("gtid_mode").is_empty() {
                    "(none)"
                } else {
                    src.var("gtid_mode")
                }
            ));
            fixes.push(
                "turn GTIDs on in the replication topology (gtid_mode = ON, \
                 enforce_gtid_consistency = ON), or use its primary as the source"
                    .into(),
            );
        }
        if src.version.is_mariadb() && !src.on("gtid_strict_mode") {
            warnings.push(
                "the source is a replica without gtid_strict_mode: whether another server can \
                 continue the task after a failover is decided by GTID sequence numbers, exact \
                 only in strict mode",
            );
        }
    }
    if problems.is_empty() && !warnings.is_empty() {
        out.push(warn(
            "source.node_role",
            warnings.join("; "),
            "SET GLOBAL gtid_strict_mode = ON on the source and its primary (and in their \
             option files), or acknowledge source.node_role",
        ));
    } else if problems.is_empty() {
        out.push(pass(
            "source.node_role",
            format!(
                "{}{}",
                if ro.is_empty() {
                    "writable"
                } else {
                    "read-only (not needed: no heartbeat writes)"
                },
                match src.is_replica {
                    Some(true) => ", a replica logging its updates",
                    Some(false) => ", not a replica",
                    None => "",
                }
            ),
        ));
    } else {
        out.push(fail(
            "source.node_role",
            problems.join("; "),
            fixes.join("; "),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{facts, task};
    use super::*;

    use crate::precheck::Status;

    fn role(version: &str, vars: &[(&str, &str)], replica: bool) -> Check {
        let mut src = facts(version, vars);
        src.is_replica = Some(replica);
        let mut out = Vec::new();
        node_role(&task(), &src, &mut out);
        out.pop().unwrap()
    }

    #[test]
    fn a_replica_is_told_the_variable_its_version_takes() {
        for (version, var) in [
            ("5.7.44", "log_slave_updates"),
            ("8.0.25", "log_slave_updates"),
            ("8.0.26", "log_replica_updates"),
            ("8.4.3", "log_replica_updates"),
            ("10.11.6-MariaDB", "log_slave_updates"),
        ] {
            let c = role(version, &[], true);
            assert_eq!(c.status, Status::Failure, "{version}");
            assert!(
                c.found.contains(var) && c.fix.contains(var),
                "{version}: {c:?}"
            );
            // Either name ON is enough (8.0.26+ show both).
            for on in ["log_slave_updates", "log_replica_updates"] {
                // (with the GTIDs a replica source needs)
                let gtids = [(on, "ON"), ("gtid_mode", "ON"), ("gtid_strict_mode", "ON")];
                assert_eq!(role(version, &gtids, true).status, Status::Pass);
            }
        }
        assert_eq!(role("8.4.3", &[], false).status, Status::Pass);
    }

    #[test]
    fn a_replica_source_needs_gtids_to_be_read_by_gtid() {
        let logs = ("log_replica_updates", "ON");
        let c = role("8.4.3", &[logs, ("gtid_mode", "OFF")], true);
        assert_eq!(c.status, Status::Failure, "{c:?}");
        assert!(
            c.found.contains("gtid_mode OFF") && c.fix.contains("gtid_mode = ON"),
            "{c:?}"
        );
        let c = role("8.4.3", &[logs, ("gtid_mode", "ON")], true);
        assert_eq!(c.status, Status::Pass, "{c:?}");
        let maria = ("log_slave_updates", "ON");
        let c = role("10.11.6-MariaDB", &[maria], true);
        assert_eq!(c.status, Status::Warning, "{c:?}");
        assert!(c.found.contains("gtid_strict_mode"), "{c:?}");
        let c = role(
            "10.11.6-MariaDB",
            &[maria, ("gtid_strict_mode", "ON")],
            true,
        );
        assert_eq!(c.status, Status::Pass, "{c:?}");
        // Not a replica: the GTID mode is source.gtid_mode's business.
        assert_eq!(
            role("8.4.3", &[("gtid_mode", "OFF")], false).status,
            Status::Pass
        );
    }

    #[test]
    fn super_read_only_is_seen_on_mysql() {
        let c = role("8.4.3", &[("super_read_only", "ON")], false);
        assert_eq!(c.status, Status::Failure);
        assert!(c.fix.contains("SET GLOBAL super_read_only = OFF;"), "{c:?}");
        let c = role("8.0.36", &[("innodb_read_only", "ON")], false);
        assert!(!c.fix.contains("SET GLOBAL innodb_read_only"), "{c:?}");
        assert!(c.fix.contains("primary"), "{c:?}");
        assert_eq!(role("10.11.6-MariaDB", &[], false).status, Status::Pass);
    }
}
