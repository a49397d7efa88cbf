//! `source.node_role`: a source that can give what incremental migration
//! needs (writable for the heartbeat, a binlog of its own, a replica that
//! logs what it replicates).

use crate::config::{HeartbeatMode, MigrationType, TaskConfig};

use super::facts::ServerFacts;
use super::report::{fail, pass, Check};

/// `source.node_role`.
pub(super) fn node_role(task: &TaskConfig, src: &ServerFacts, out: &mut Vec<Check>) {
    let incremental = task.migration.has(MigrationType::Incremental);
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let ro: Vec<&str> = ["read_only", "super_read_only", "innodb_read_only"]
        .into_iter()
        .filter(|v| src.on(v))
        .collect();
    if !ro.is_empty() && incremental && task.heartbeat.mode == HeartbeatMode::SourceTable {
        problems.push(format!(
            "the source is read-only ({} ON) and the heartbeat writes to it",
            ro.join(", ")
        ));
        fixes.push(format!(
            "{} on the source, or set [heartbeat] mode = \"none\" (lag is then measured only \
             while the source writes)",
            ro.iter()
                .map(|v| format!("SET GLOBAL {v} = OFF;"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    if src.on("innodb_read_only") && incremental {
        problems.push("innodb_read_only ON: a read-only node has no binlog of its own".into());
        fixes.push("use the cluster's primary (read-write) node as the source".into());
    }
    if src.is_replica == Some(true)
        && incremental
        && !src.on("log_slave_updates")
        && !src.on("log_replica_updates")
    {
        problems.push(
            "the source is a replica without log_slave_updates: changes it replicates are not \
             in its binlog"
                .into(),
        );
        fixes.push(
            "start it with log_slave_updates = ON (log_replica_updates on MySQL 8.0.26+), or use \
             its primary as the source"
                .into(),
        );
    }
    if problems.is_empty() {
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
