//! The statements and names that differ between server flavours and
//! versions, decided from a [`ServerVersion`] and nothing else.
//!
//! The differences, with the versions they changed in:
//! - MySQL 8.0.22 added `SHOW REPLICA STATUS`, whose fields say `Source` and
//!   `Replica` (`Source_Host`, `Replica_IO_Running`); `SHOW SLAVE STATUS`
//!   keeps the old names until 8.4 removes it.
//! - MySQL 8.0.23 added `CHANGE REPLICATION SOURCE TO` with `SOURCE_`
//!   options; 8.0.26 added `SOURCE_POS_WAIT()`.
//! - MySQL 8.2 added `SHOW BINARY LOG STATUS`; 8.4 removed `SHOW MASTER
//!   STATUS`, `SHOW SLAVE STATUS`, `CHANGE MASTER TO`, `START SLAVE` and
//!   the `MASTER_` options, so nothing here chooses them from 8.4 on.
//! - MariaDB keeps `SHOW MASTER STATUS`, `CHANGE MASTER TO`, the `MASTER_`
//!   options and `MASTER_POS_WAIT()`. From 10.5.1 it accepts `REPLICA` for
//!   `SLAVE` in `SHOW`/`START`/`STOP`/`RESET ... STATUS`, but the fields of
//!   `SHOW REPLICA STATUS` keep their `Master_` and `Slave_` names.
//! - MySQL 8.0.26 renamed the user variables a binlog reader sets before it
//!   asks for the stream (`@source_binlog_checksum`,
//!   `@source_heartbeat_period`) and `log_slave_updates` to
//!   `log_replica_updates`; MariaDB keeps the `master`/`slave` names.
//! - MySQL (5.7.8 and later) has `super_read_only`, which also stops
//!   accounts with SUPER or CONNECTION_ADMIN from writing; MariaDB has only
//!   `read_only`.
//! - MySQL 8.0 added `SELECT ... FOR SHARE` (before 8.0.22 it needed a
//!   write privilege besides SELECT); MySQL 5.7 and MariaDB write `LOCK IN
//!   SHARE MODE`.
//! - Only MariaDB reports the binlog position a consistent snapshot is
//!   consistent with (`binlog_snapshot_file/position`), so only there can a
//!   snapshot be taken without a global read lock and without binlog
//!   watermarks.
//! - PolarDB for MySQL reports the MySQL version it is compatible with
//!   (`8.0.13`, `8.0.18`) and takes that version's statements; its binary
//!   log is switched on by the cluster parameter `loose_polar_log_bin`,
//!   which the server shows as `polar_log_bin`.

use crate::version::{Flavor, ServerVersion};

/// The statements a server takes, chosen from its flavour and version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Dialect {
    version: ServerVersion,
}

/// How a copy takes a consistent snapshot whose binlog position is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SnapshotMethod {
    /// `START TRANSACTION WITH CONSISTENT SNAPSHOT`, then
    /// `binlog_snapshot_file/position`: no lock at all (MariaDB).
    ConsistentSnapshot,
    /// `FLUSH TABLES WITH READ LOCK` held while the snapshots open and the
    /// binlog status is read, then `UNLOCK TABLES` (needs RELOAD).
    GlobalReadLock,
    /// Each chunk read by a short locking read between a low and a high
    /// binlog watermark, and the changes of that window reconciled before
    /// it is written: no lock beyond the rows read, no RELOAD; needs
    /// REPLICATION SLAVE and REPLICATION CLIENT to read the window.
    Watermark,
}

/// Which words replication statements and fields use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReplicationTerm {
    /// `SOURCE` and `REPLICA`.
    Source,
    /// `MASTER` and `SLAVE`.
    Master,
}

impl ReplicationTerm {
    /// The prefix of options and fields: `SOURCE_` or `MASTER_`.
    pub fn prefix(self) -> &'static str {
        match self {
            ReplicationTerm::Source => "SOURCE_",
            ReplicationTerm::Master => "MASTER_",
        }
    }
}

/// The names of the fields of the replica status statement that say where
/// a replica is (look fields up by name: their order differs by version).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReplicaStatusFields {
    /// The source's host: `Source_Host` or `Master_Host`.
    pub source_host: &'static str,
    /// The binlog file the I/O thread reads: `Source_Log_File` or
    /// `Master_Log_File`.
    pub source_log_file: &'static str,
    /// The offset in it the I/O thread has read to: `Read_Source_Log_Pos`
    /// or `Read_Master_Log_Pos`.
    pub read_source_log_pos: &'static str,
    /// The binlog file of the last event applied: `Relay_Source_Log_File` or
    /// `Relay_Master_Log_File`.
    pub relay_source_log_file: &'static str,
    /// The offset after the last event applied: `Exec_Source_Log_Pos` or
    /// `Exec_Master_Log_Pos`.
    pub exec_source_log_pos: &'static str,
    /// `Replica_IO_Running` or `Slave_IO_Running`.
    pub io_running: &'static str,
    /// `Replica_SQL_Running` or `Slave_SQL_Running`.
    pub sql_running: &'static str,
    /// `Seconds_Behind_Source` or `Seconds_Behind_Master`.
    pub seconds_behind: &'static str,
}

const SOURCE_FIELDS: ReplicaStatusFields = ReplicaStatusFields {
    source_host: "Source_Host",
    source_log_file: "Source_Log_File",
    read_source_log_pos: "Read_Source_Log_Pos",
    relay_source_log_file: "Relay_Source_Log_File",
    exec_source_log_pos: "Exec_Source_Log_Pos",
    io_running: "Replica_IO_Running",
    sql_running: "Replica_SQL_Running",
    seconds_behind: "Seconds_Behind_Source",
};

const MASTER_FIELDS: ReplicaStatusFields = ReplicaStatusFields {
    source_host: "Master_Host",
    source_log_file: "Master_Log_File",
    read_source_log_pos: "Read_Master_Log_Pos",
    relay_source_log_file: "Relay_Master_Log_File",
    exec_source_log_pos: "Exec_Master_Log_Pos",
    io_running: "Slave_IO_Running",
    sql_running: "Slave_SQL_Running",
    seconds_behind: "Seconds_Behind_Master",
};

impl From<ServerVersion> for Dialect {
    fn from(version: ServerVersion) -> Self {
        Dialect::new(version)
    }
}

impl Dialect {
    /// The dialect of a server of this version.
    pub fn new(version: ServerVersion) -> Self {
        Dialect { version }
    }

    /// The version it was made for.
    pub fn version(&self) -> &ServerVersion {
        &self.version
    }

    fn mysql_at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        self.version.flavor == Flavor::MySql && self.version.at_least_patch(major, minor, patch)
    }

    /// The statement that reports the binlog file and offset the server
    /// writes at (columns `File`, `Position`, first): `SHOW BINARY LOG
    /// STATUS` on MySQL 8.2 and later (the only one from 8.4), `SHOW MASTER
    /// STATUS` on older MySQL and on MariaDB.
    pub fn binlog_status_statement(&self) -> &'static str {
        if self.mysql_at_least(8, 2, 0) {
            "SHOW BINARY LOG STATUS"
        } else {
            "SHOW MASTER STATUS"
        }
    }

    /// The statement that reports a replica's state: `SHOW REPLICA STATUS`
    /// on MySQL 8.0.22 and later and on MariaDB 10.5.1 and later, `SHOW
    /// SLAVE STATUS` before. Its fields are named by
    /// [`Dialect::replica_status_fields`].
    pub fn replica_status_statement(&self) -> &'static str {
        if self.accepts_replica_keyword() {
            "SHOW REPLICA STATUS"
        } else {
            "SHOW SLAVE STATUS"
        }
    }

    /// Whether `REPLICA` may replace `SLAVE` in `SHOW`, `START`, `STOP` and
    /// `RESET`.
    fn accepts_replica_keyword(&self) -> bool {
        match self.version.flavor {
            Flavor::MySql => self.version.at_least_patch(8, 0, 22),
            Flavor::MariaDb => self.version.at_least_patch(10, 5, 1),
        }
    }

    /// The names of the fields of [`Dialect::replica_status_statement`]:
    /// `Source_*`/`Replica_*` on MySQL 8.0.22 and later, `Master_*`/`Slave_*`
    /// before and on every MariaDB (whose `SHOW REPLICA STATUS` keeps the old
    /// names).
    pub fn replica_status_fields(&self) -> ReplicaStatusFields {
        if self.mysql_at_least(8, 0, 22) {
            SOURCE_FIELDS
        } else {
            MASTER_FIELDS
        }
    }

    /// The words of `CHANGE ... TO` and its options: `CHANGE REPLICATION
    /// SOURCE TO ... SOURCE_HOST` on MySQL 8.0.23 and later, `CHANGE MASTER
    /// TO ... MASTER_HOST` before and on MariaDB.
    pub fn change_source_term(&self) -> ReplicationTerm {
        if self.mysql_at_least(8, 0, 23) {
            ReplicationTerm::Source
        } else {
            ReplicationTerm::Master
        }
    }

    /// `CHANGE REPLICATION SOURCE TO` or `CHANGE MASTER TO` (see
    /// [`Dialect::change_source_term`] for its options' prefix).
    pub fn change_source_statement(&self) -> &'static str {
        match self.change_source_term() {
            ReplicationTerm::Source => "CHANGE REPLICATION SOURCE TO",
            ReplicationTerm::Master => "CHANGE MASTER TO",
        }
    }

    /// `START REPLICA` or `START SLAVE`.
    pub fn start_replica_statement(&self) -> &'static str {
        if self.accepts_replica_keyword() {
            "START REPLICA"
        } else {
            "START SLAVE"
        }
    }

    /// `STOP REPLICA` or `STOP SLAVE`.
    pub fn stop_replica_statement(&self) -> &'static str {
        if self.accepts_replica_keyword() {
            "STOP REPLICA"
        } else {
            "STOP SLAVE"
        }
    }

    /// `RESET REPLICA ALL` or `RESET SLAVE ALL`: forgets the replica's
    /// source and its positions.
    pub fn reset_replica_all_statement(&self) -> &'static str {
        if self.accepts_replica_keyword() {
            "RESET REPLICA ALL"
        } else {
            "RESET SLAVE ALL"
        }
    }

    /// The function that waits for a replica to reach a source position:
    /// `SOURCE_POS_WAIT` on MySQL 8.0.26 and later, `MASTER_POS_WAIT`
    /// before and on MariaDB.
    pub fn source_pos_wait_function(&self) -> &'static str {
        if self.mysql_at_least(8, 0, 26) {
            "SOURCE_POS_WAIT"
        } else {
            "MASTER_POS_WAIT"
        }
    }

    /// The user variable that tells the server a binlog reader understands
    /// checksums, set to `@@global.binlog_checksum` before the dump:
    /// `@source_binlog_checksum` on MySQL 8.0.26 and later,
    /// `@master_binlog_checksum` before and on MariaDB.
    pub fn binlog_checksum_user_variable(&self) -> &'static str {
        if self.mysql_at_least(8, 0, 26) {
            "@source_binlog_checksum"
        } else {
            "@master_binlog_checksum"
        }
    }

    /// The user variable that asks the server for heartbeat events every so
    /// many nanoseconds while the binlog is idle: `@source_heartbeat_period`
    /// on MySQL 8.0.26 and later, `@master_heartbeat_period` before and on
    /// MariaDB.
    pub fn heartbeat_period_user_variable(&self) -> &'static str {
        if self.mysql_at_least(8, 0, 26) {
            "@source_heartbeat_period"
        } else {
            "@master_heartbeat_period"
        }
    }

    /// The statement a binlog reader runs on its dump connection before it
    /// asks for the stream: checksums understood, and heartbeats every
    /// `heartbeat_nanos` nanoseconds (0: none), under the names this
    /// version reads.
    pub fn binlog_dump_setup_statement(&self, heartbeat_nanos: u64) -> String {
        format!(
            "SET {} = @@global.binlog_checksum, {} = {heartbeat_nanos}",
            self.binlog_checksum_user_variable(),
            self.heartbeat_period_user_variable()
        )
    }

    /// The system variable that makes a replica write what it replicates
    /// to its own binlog: `log_replica_updates` on MySQL 8.0.26 and later,
    /// `log_slave_updates` before and on MariaDB.
    pub fn log_replica_updates_variable(&self) -> &'static str {
        if self.mysql_at_least(8, 0, 26) {
            "log_replica_updates"
        } else {
            "log_slave_updates"
        }
    }

    /// The system variable that switches the binary log on, as the server
    /// shows it: `polar_log_bin` on PolarDB for MySQL (its cluster
    /// parameter is `loose_polar_log_bin`), `log_bin` elsewhere.
    pub fn binlog_enabled_variable(&self) -> &'static str {
        if self.version.is_polardb() {
            "polar_log_bin"
        } else {
            "log_bin"
        }
    }

    /// How a user switches the binary log on, for an error's fix.
    pub fn binlog_enable_fix(&self) -> &'static str {
        if self.version.is_polardb() {
            "set the cluster parameter loose_polar_log_bin = ON in the PolarDB console (the \
             cluster restarts)"
        } else {
            "start the server with log_bin (e.g. log_bin = mysql-bin and server_id = 1 in the \
             [mysqld] section of its option file) and restart it"
        }
    }

    /// The system variables that make a server refuse writes, in the order
    /// to report them: `read_only`, `super_read_only` (MySQL 5.7.8 and
    /// later), `innodb_read_only`.
    pub fn read_only_variables(&self) -> &'static [&'static str] {
        if self.has_super_read_only() {
            &["read_only", "super_read_only", "innodb_read_only"]
        } else {
            &["read_only", "innodb_read_only"]
        }
    }

    fn has_super_read_only(&self) -> bool {
        self.mysql_at_least(5, 7, 8)
    }

    /// The statement that fences a source at cut-over, so that no account
    /// writes to it any more: `SET GLOBAL super_read_only = ON` on MySQL
    /// 5.7.8 and later (it sets `read_only` too, and stops accounts with
    /// SUPER, which `read_only` lets through), `SET GLOBAL read_only = ON`
    /// on MariaDB.
    pub fn fence_statement(&self) -> &'static str {
        if self.has_super_read_only() {
            "SET GLOBAL super_read_only = ON"
        } else {
            "SET GLOBAL read_only = ON"
        }
    }

    /// The privilege [`Dialect::fence_statement`] needs, for an error's
    /// fix.
    pub fn fence_privilege(&self) -> &'static str {
        match self.version.flavor {
            Flavor::MySql if self.version.at_least(8, 0) => "SYSTEM_VARIABLES_ADMIN (or SUPER)",
            Flavor::MySql => "SUPER",
            Flavor::MariaDb if self.version.at_least_patch(10, 5, 2) => {
                "READ_ONLY ADMIN (or SUPER)"
            }
            Flavor::MariaDb => "SUPER",
        }
    }

    /// The clause that makes a `SELECT` a shared locking read (appended
    /// after `ORDER BY`/`LIMIT`): `FOR SHARE` on MySQL 8.0 and later,
    /// `LOCK IN SHARE MODE` on MySQL 5.7 and on MariaDB, which has no `FOR
    /// SHARE`. A locking read waits for the row locks of transactions that
    /// have written rows in its range and reads their committed result.
    pub fn locking_read_clause(&self) -> &'static str {
        if self.mysql_at_least(8, 0, 0) {
            "FOR SHARE"
        } else {
            "LOCK IN SHARE MODE"
        }
    }

    /// Whether a shared locking read needs, besides `SELECT`, one of `LOCK
    /// TABLES`, `UPDATE` or `DELETE` on the table: MySQL before 8.0.22
    /// asked for one of them (8.0.22 made `SELECT` enough); MariaDB never
    /// did.
    pub fn locking_read_needs_write_privilege(&self) -> bool {
        self.version.flavor == Flavor::MySql && !self.version.at_least_patch(8, 0, 22)
    }

    /// Whether the server reports the binlog position of a consistent
    /// snapshot (`binlog_snapshot_file/position`): MariaDB only.
    pub fn reports_snapshot_position(&self) -> bool {
        self.version.is_mariadb()
    }

    /// How a copy takes its snapshots when the task does not say
    /// (`snapshot = "auto"`): MariaDB's lock-free consistent snapshot where
    /// the server reports a snapshot's position; elsewhere (MySQL, PolarDB)
    /// the watermark snapshot ([`SnapshotMethod::Watermark`]), which needs
    /// neither a global read lock nor RELOAD, so the copy starts while long
    /// queries run and on managed services that refuse RELOAD. The copy and
    /// the precheck (which asks RELOAD only for the global read lock) both
    /// decide from this one function.
    pub fn default_snapshot_method(&self) -> SnapshotMethod {
        if self.reports_snapshot_position() {
            SnapshotMethod::ConsistentSnapshot
        } else {
            SnapshotMethod::Watermark
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Dialect {
        Dialect::new(ServerVersion::parse(text).unwrap())
    }

    /// Every choice for one version, as one line, so that a table of
    /// versions reads as the manuals' history.
    fn choices(text: &str) -> String {
        let d = d(text);
        let f = d.replica_status_fields();
        format!(
            "{} | {} | {} {} {} | {} {} | {} | {} | {} | {:?}",
            d.binlog_status_statement(),
            d.replica_status_statement(),
            f.source_host,
            f.exec_source_log_pos,
            f.io_running,
            d.change_source_statement(),
            d.change_source_term().prefix(),
            d.start_replica_statement(),
            d.stop_replica_statement(),
            d.source_pos_wait_function(),
            d.default_snapshot_method(),
        )
    }

    #[test]
    fn statements_per_version() {
        let cases = [
            (
                "5.7.44-log",
                "SHOW MASTER STATUS | SHOW SLAVE STATUS | Master_Host Exec_Master_Log_Pos \
                 Slave_IO_Running | CHANGE MASTER TO MASTER_ | START SLAVE | STOP SLAVE | \
                 MASTER_POS_WAIT | Watermark",
            ),
            (
                "8.0.21",
                "SHOW MASTER STATUS | SHOW SLAVE STATUS | Master_Host Exec_Master_Log_Pos \
                 Slave_IO_Running | CHANGE MASTER TO MASTER_ | START SLAVE | STOP SLAVE | \
                 MASTER_POS_WAIT | Watermark",
            ),
            (
                "8.0.22",
                "SHOW MASTER STATUS | SHOW REPLICA STATUS | Source_Host Exec_Source_Log_Pos \
                 Replica_IO_Running | CHANGE MASTER TO MASTER_ | START REPLICA | STOP REPLICA | \
                 MASTER_POS_WAIT | Watermark",
            ),
            (
                "8.0.36",
                "SHOW MASTER STATUS | SHOW REPLICA STATUS | Source_Host Exec_Source_Log_Pos \
                 Replica_IO_Running | CHANGE REPLICATION SOURCE TO SOURCE_ | START REPLICA | \
                 STOP REPLICA | SOURCE_POS_WAIT | Watermark",
            ),
            (
                "8.2.0",
                "SHOW BINARY LOG STATUS | SHOW REPLICA STATUS | Source_Host Exec_Source_Log_Pos \
                 Replica_IO_Running | CHANGE REPLICATION SOURCE TO SOURCE_ | START REPLICA | \
                 STOP REPLICA | SOURCE_POS_WAIT | Watermark",
            ),
            (
                "8.4.3",
                "SHOW BINARY LOG STATUS | SHOW REPLICA STATUS | Source_Host Exec_Source_Log_Pos \
                 Replica_IO_Running | CHANGE REPLICATION SOURCE TO SOURCE_ | START REPLICA | \
                 STOP REPLICA | SOURCE_POS_WAIT | Watermark",
            ),
            (
                "9.1.0",
                "SHOW BINARY LOG STATUS | SHOW REPLICA STATUS | Source_Host Exec_Source_Log_Pos \
                 Replica_IO_Running | CHANGE REPLICATION SOURCE TO SOURCE_ | START REPLICA | \
                 STOP REPLICA | SOURCE_POS_WAIT | Watermark",
            ),
            (
                "10.3.39-MariaDB",
                "SHOW MASTER STATUS | SHOW SLAVE STATUS | Master_Host Exec_Master_Log_Pos \
                 Slave_IO_Running | CHANGE MASTER TO MASTER_ | START SLAVE | STOP SLAVE | \
                 MASTER_POS_WAIT | ConsistentSnapshot",
            ),
            (
                "10.5.0-MariaDB",
                "SHOW MASTER STATUS | SHOW SLAVE STATUS | Master_Host Exec_Master_Log_Pos \
                 Slave_IO_Running | CHANGE MASTER TO MASTER_ | START SLAVE | STOP SLAVE | \
                 MASTER_POS_WAIT | ConsistentSnapshot",
            ),
            (
                "10.5.23-MariaDB",
                "SHOW MASTER STATUS | SHOW REPLICA STATUS | Master_Host Exec_Master_Log_Pos \
                 Slave_IO_Running | CHANGE MASTER TO MASTER_ | START REPLICA | STOP REPLICA | \
                 MASTER_POS_WAIT | ConsistentSnapshot",
            ),
            (
                "10.11.6-MariaDB-0+deb12u1-log",
                "SHOW MASTER STATUS | SHOW REPLICA STATUS | Master_Host Exec_Master_Log_Pos \
                 Slave_IO_Running | CHANGE MASTER TO MASTER_ | START REPLICA | STOP REPLICA | \
                 MASTER_POS_WAIT | ConsistentSnapshot",
            ),
            (
                "5.5.5-11.4.2-MariaDB",
                "SHOW MASTER STATUS | SHOW REPLICA STATUS | Master_Host Exec_Master_Log_Pos \
                 Slave_IO_Running | CHANGE MASTER TO MASTER_ | START REPLICA | STOP REPLICA | \
                 MASTER_POS_WAIT | ConsistentSnapshot",
            ),
        ];
        for (version, want) in cases {
            let want = want.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(choices(version), want, "{version}");
        }
    }

    #[test]
    fn nothing_mysql_8_4_removed_is_chosen_from_8_4_on() {
        // The statements and functions MySQL 8.4 no longer accepts.
        let removed = [
            "SHOW MASTER STATUS",
            "SHOW SLAVE STATUS",
            "CHANGE MASTER TO",
            "START SLAVE",
            "STOP SLAVE",
            "MASTER_",
            "Master_",
            "Slave_",
        ];
        for version in ["8.4.0", "8.4.3", "9.0.1", "9.1.0"] {
            let line = choices(version);
            for r in removed {
                assert!(!line.contains(r), "{version} chose {r}: {line}");
            }
        }
    }

    /// Every statement, clause and name the dialect chooses for a version.
    /// A new choice belongs here, so that the test below sees it.
    fn every_choice(d: &Dialect) -> Vec<String> {
        let f = d.replica_status_fields();
        let mut v: Vec<String> = [
            d.binlog_status_statement(),
            d.replica_status_statement(),
            f.source_host,
            f.source_log_file,
            f.read_source_log_pos,
            f.relay_source_log_file,
            f.exec_source_log_pos,
            f.io_running,
            f.sql_running,
            f.seconds_behind,
            d.change_source_term().prefix(),
            d.change_source_statement(),
            d.start_replica_statement(),
            d.stop_replica_statement(),
            d.reset_replica_all_statement(),
            d.source_pos_wait_function(),
            d.binlog_checksum_user_variable(),
            d.heartbeat_period_user_variable(),
            d.log_replica_updates_variable(),
            d.binlog_enabled_variable(),
            d.binlog_enable_fix(),
            d.fence_statement(),
            d.fence_privilege(),
            d.locking_read_clause(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(d.read_only_variables().iter().map(|s| s.to_string()));
        v.push(d.binlog_dump_setup_statement(1_000_000_000));
        v
    }

    #[test]
    fn no_master_or_slave_term_is_chosen_from_mysql_8_4_on() {
        // MySQL 8.4 removed SHOW MASTER STATUS, SHOW SLAVE STATUS, CHANGE
        // MASTER, START/STOP SLAVE, MASTER_POS_WAIT and the MASTER_ options;
        // from 8.4 on nothing the dialect chooses says master or slave, in
        // any case (PolarDB and MySQL 9 included).
        for version in ["8.4.0", "8.4.3", "9.0.1", "9.1.0"] {
            for polardb in [None, Some("8.4.1.0.1")] {
                let v = ServerVersion::identify(version, polardb).unwrap();
                for c in every_choice(&Dialect::new(v)) {
                    let l = c.to_ascii_lowercase();
                    assert!(
                        !l.contains("master") && !l.contains("slave"),
                        "{version} {polardb:?} chose {c}"
                    );
                }
            }
        }
    }

    #[test]
    fn reset_replica_per_version() {
        for (version, want) in [
            ("5.7.44", "RESET SLAVE ALL"),
            ("8.0.21", "RESET SLAVE ALL"),
            ("8.0.22", "RESET REPLICA ALL"),
            ("8.4.3", "RESET REPLICA ALL"),
            ("10.5.0-MariaDB", "RESET SLAVE ALL"),
            ("10.11.6-MariaDB", "RESET REPLICA ALL"),
        ] {
            assert_eq!(d(version).reset_replica_all_statement(), want, "{version}");
        }
    }

    #[test]
    fn binlog_reader_names_per_version() {
        for (version, checksum, heartbeat, log_updates) in [
            (
                "5.7.44",
                "@master_binlog_checksum",
                "@master_heartbeat_period",
                "log_slave_updates",
            ),
            (
                "8.0.25",
                "@master_binlog_checksum",
                "@master_heartbeat_period",
                "log_slave_updates",
            ),
            (
                "8.0.26",
                "@source_binlog_checksum",
                "@source_heartbeat_period",
                "log_replica_updates",
            ),
            (
                "8.4.3",
                "@source_binlog_checksum",
                "@source_heartbeat_period",
                "log_replica_updates",
            ),
            (
                "10.3.39-MariaDB",
                "@master_binlog_checksum",
                "@master_heartbeat_period",
                "log_slave_updates",
            ),
            (
                "11.4.2-MariaDB",
                "@master_binlog_checksum",
                "@master_heartbeat_period",
                "log_slave_updates",
            ),
        ] {
            let d = d(version);
            assert_eq!(d.binlog_checksum_user_variable(), checksum, "{version}");
            assert_eq!(d.heartbeat_period_user_variable(), heartbeat, "{version}");
            assert_eq!(d.log_replica_updates_variable(), log_updates, "{version}");
            assert_eq!(
                d.binlog_dump_setup_statement(5_000_000_000),
                format!("SET {checksum} = @@global.binlog_checksum, {heartbeat} = 5000000000"),
                "{version}"
            );
        }
    }

    #[test]
    fn fences_and_read_only_variables_per_version() {
        for (version, fence, vars) in [
            (
                "5.7.7",
                "SET GLOBAL read_only = ON",
                &["read_only", "innodb_read_only"][..],
            ),
            (
                "5.7.44",
                "SET GLOBAL super_read_only = ON",
                &["read_only", "super_read_only", "innodb_read_only"][..],
            ),
            (
                "8.4.3",
                "SET GLOBAL super_read_only = ON",
                &["read_only", "super_read_only", "innodb_read_only"][..],
            ),
            (
                "10.11.6-MariaDB",
                "SET GLOBAL read_only = ON",
                &["read_only", "innodb_read_only"][..],
            ),
        ] {
            let d = d(version);
            assert_eq!(d.fence_statement(), fence, "{version}");
            assert_eq!(d.read_only_variables(), vars, "{version}");
        }
        assert!(d("8.0.36")
            .fence_privilege()
            .contains("SYSTEM_VARIABLES_ADMIN"));
        assert!(d("10.11.6-MariaDB")
            .fence_privilege()
            .contains("READ_ONLY ADMIN"));
    }

    #[test]
    fn polardb_takes_its_mysql_versions_statements_and_its_own_binlog_switch() {
        // PolarDB for MySQL 8.0.1 and 8.0.2 report 8.0.13 and 8.0.18: older
        // than 8.0.22, so SHOW SLAVE STATUS and its Master_ fields.
        for (mysql, engine) in [("8.0.13", "8.0.1.1.4"), ("8.0.18", "8.0.2.2.19")] {
            let polar = Dialect::new(ServerVersion::identify(mysql, Some(engine)).unwrap());
            let plain = d(mysql);
            assert_eq!(polar.binlog_status_statement(), "SHOW MASTER STATUS");
            assert_eq!(polar.replica_status_statement(), "SHOW SLAVE STATUS");
            assert_eq!(polar.locking_read_clause(), "FOR SHARE");
            assert!(polar.locking_read_needs_write_privilege());
            assert_eq!(polar.binlog_enabled_variable(), "polar_log_bin");
            assert!(polar.binlog_enable_fix().contains("loose_polar_log_bin"));
            assert_eq!(plain.binlog_enabled_variable(), "log_bin");
            assert!(!plain.binlog_enable_fix().contains("polar"));
            // Everything else is the MySQL version's.
            let strip = |c: Vec<String>| {
                c.into_iter()
                    .filter(|s| !s.contains("log_bin"))
                    .collect::<Vec<_>>()
            };
            assert_eq!(strip(every_choice(&polar)), strip(every_choice(&plain)));
        }
    }

    #[test]
    fn locking_reads_per_version() {
        for (version, clause, extra) in [
            ("5.7.44-log", "LOCK IN SHARE MODE", true),
            ("8.0.13", "FOR SHARE", true),
            ("8.0.21", "FOR SHARE", true),
            ("8.0.22", "FOR SHARE", false),
            ("8.4.3", "FOR SHARE", false),
            ("9.1.0", "FOR SHARE", false),
            ("10.3.39-MariaDB", "LOCK IN SHARE MODE", false),
            ("11.4.2-MariaDB", "LOCK IN SHARE MODE", false),
        ] {
            let d = d(version);
            assert_eq!(d.locking_read_clause(), clause, "{version}");
            assert_eq!(d.locking_read_needs_write_privilege(), extra, "{version}");
        }
    }

    #[test]
    fn the_fields_are_those_of_the_statement_chosen() {
        // MariaDB's SHOW REPLICA STATUS keeps Master_ names; MySQL's
        // renames them with the statement.
        for (version, prefix) in [
            ("10.6.1-MariaDB", "Master_"),
            ("8.0.22", "Source_"),
            ("8.0.21", "Master_"),
        ] {
            let f = d(version).replica_status_fields();
            for name in [
                f.source_host,
                f.source_log_file,
                f.exec_source_log_pos,
                f.seconds_behind,
            ] {
                assert!(
                    name.contains(prefix.trim_end_matches('_')),
                    "{version}: {name}"
                );
            }
        }
    }
}
