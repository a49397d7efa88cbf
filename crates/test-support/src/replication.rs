//! A MariaDB primary and a GTID replica, started by the test, for failover
//! tests (catalogue S4 and S5); the third server, the target, is the shared
//! target server (`DTS_TEST_TARGET_URL`) or another [`Instance`].
//!
//! [`ReplicationPair::start`] starts two throwaway servers ([`Instance`])
//! with `log_bin`, `binlog_format=ROW`, `log_slave_updates`,
//! `gtid_strict_mode` and distinct server ids ([`PRIMARY_SERVER_ID`],
//! [`REPLICA_SERVER_ID`]), and makes the second a read-only replica of the
//! first with GTID replication (`MASTER_USE_GTID=slave_pos`). Then:
//!
//! - [`ReplicationPair::wait_caught_up`] waits (`MASTER_GTID_WAIT`) until
//!   the replica has applied everything the primary logged;
//! - [`ReplicationPair::stop_replication`] cuts the replica off: what the
//!   primary writes afterwards never reaches it, so a replica promoted then
//!   misses those transactions;
//! - [`ReplicationPair::promote_replica`] makes the replica a primary
//!   (`STOP SLAVE`, `RESET SLAVE ALL`, `read_only=0`), and
//!   [`ReplicationPair::fail_over`] stops the primary first, as a failover
//!   does;
//! - [`conn_in_domain`] gives a session that writes in another GTID domain
//!   (`gtid_domain_id`), so that a binlog holds several domains;
//! - [`gtid_positions`] reads `gtid_binlog_pos`, `gtid_current_pos`,
//!   `gtid_slave_pos` and `gtid_binlog_state`; [`oldest_gtid_list`] the
//!   GTID_LIST of the oldest binlog (what a server purged), and
//!   [`mariadb_candidate`] both facts a failover decision needs;
//!   [`purge_binlogs_but_current`] purges a server's binlogs.
//!
//! The replica connects to the primary as `root` over TCP without a
//! password, as every `Instance` allows.

use mysql_async::prelude::*;
use mysql_async::Conn;

use binlog_reader::position::{MariadbBinlogState, MariadbCandidate, MariadbGtidPosition};

use crate::{exec, Instance};

/// The primary's `server_id`.
pub const PRIMARY_SERVER_ID: u32 = 1;
/// The replica's `server_id`.
pub const REPLICA_SERVER_ID: u32 = 2;

/// How long waits for replication last before a test fails, in seconds.
const WAIT_SECONDS: u32 = 60;

/// The `mariadbd` options of a server of the pair.
fn options(server_id: u32, read_only: bool, extra: &[&str]) -> Vec<String> {
    let mut o: Vec<String> = [
        "--log-bin=binlog",
        "--relay-log=relay-bin",
        "--binlog-format=ROW",
        "--binlog-row-image=FULL",
        "--log-slave-updates=ON",
        "--gtid-strict-mode=ON",
    ]
    .map(String::from)
    .to_vec();
    o.push(format!("--server-id={server_id}"));
    if read_only {
        o.push("--read-only=ON".into());
    }
    o.extend(extra.iter().map(|s| s.to_string()));
    o
}

/// A primary and a GTID replica of it, both throwaway servers; see the
/// module documentation.
#[derive(Debug)]
pub struct ReplicationPair {
    primary: Option<Instance>,
    replica: Instance,
}

impl ReplicationPair {
    /// Starts both servers and replication.
    ///
    /// # Panics
    ///
    /// When a server does not start or replication cannot be set up.
    pub async fn start() -> ReplicationPair {
        ReplicationPair::start_with(&[]).await
    }

    /// Starts both servers with extra `mariadbd` options (e.g.
    /// `--max-binlog-size=4096`), and replication.
    ///
    /// # Panics
    ///
    /// When a server does not start or replication cannot be set up.
    pub async fn start_with(extra: &[&str]) -> ReplicationPair {
        let start = |options: Vec<String>| {
            Instance::start(&options.iter().map(String::as_str).collect::<Vec<_>>())
        };
        let primary = start(options(PRIMARY_SERVER_ID, false, extra));
        let replica = start(options(REPLICA_SERVER_ID, true, extra));
        let pair = ReplicationPair {
            primary: Some(primary),
            replica,
        };
        let mut c = pair.replica.conn().await;
        let dialect = dialect(&mut c).await;
        let m = dialect.change_source_term().prefix();
        // MASTER_USE_GTID is MariaDB's own option; slave_pos resumes from
        // the GTIDs the replica applied (its gtid_slave_pos).
        exec(
            &mut c,
            &format!(
                "{} {m}HOST='127.0.0.1', {m}PORT={}, {m}USER='root', {m}PASSWORD='', \
                 {m}CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos",
                dialect.change_source_statement(),
                pair.primary().port
            ),
        )
        .await;
        exec(&mut c, dialect.start_replica_statement()).await;
        pair
    }

    /// The primary.
    ///
    /// # Panics
    ///
    /// When it was stopped.
    pub fn primary(&self) -> &Instance {
        self.primary
            .as_ref()
            .unwrap_or_else(|| panic!("the primary was stopped by stop_primary or fail_over"))
    }

    /// The replica (after a promotion, the new primary).
    pub fn replica(&self) -> &Instance {
        &self.replica
    }

    /// Whether the primary still runs.
    pub fn primary_is_running(&self) -> bool {
        self.primary.is_some()
    }

    /// Waits until the replica has applied every transaction the primary
    /// has logged so far, and returns the primary's `gtid_binlog_pos` it
    /// waited for.
    ///
    /// # Panics
    ///
    /// When the replica has not caught up within 60 seconds (with its
    /// replication status), or replication is stopped.
    pub async fn wait_caught_up(&self) -> MariadbGtidPosition {
        let mut p = self.primary().conn().await;
        let target = gtid_positions(&mut p).await.binlog_pos;
        let mut r = self.replica.conn().await;
        let waited: Option<i64> = r
            .exec_first(
                "SELECT MASTER_GTID_WAIT(?, ?)",
                (target.to_string(), WAIT_SECONDS),
            )
            .await
            .unwrap_or_else(|e| panic!("MASTER_GTID_WAIT({target}) failed: {e}"));
        if waited != Some(0) {
            let dialect = dialect(&mut r).await;
            let status: Vec<mysql_async::Row> = r
                .query(dialect.replica_status_statement())
                .await
                .unwrap_or_default();
            let status = status.first().map(|row| {
                let cols = row.columns_ref();
                cols.iter()
                    .enumerate()
                    .filter_map(|(i, c)| {
                        let v: Option<mysql_async::Value> = row.get(i);
                        let v = v.map(|v| v.as_sql(false)).unwrap_or_default();
                        let name = c.name_str();
                        (name.contains("Running")
                            || name.contains("Error")
                            || name.contains("Gtid"))
                        .then(|| format!("{name}={v}"))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            panic!(
                "the replica did not reach the primary's {target} within {WAIT_SECONDS}s \
                 (MASTER_GTID_WAIT gave {waited:?}); replica status: {}",
                status.unwrap_or_else(|| "none (replication is not configured)".into())
            );
        }
        target
    }

    /// Stops replication on the replica: what the primary writes from now
    /// on does not reach it.
    ///
    /// # Panics
    ///
    /// When the statement fails.
    pub async fn stop_replication(&self) {
        let mut r = self.replica.conn().await;
        let dialect = dialect(&mut r).await;
        exec(&mut r, dialect.stop_replica_statement()).await;
    }

    /// Starts replication on the replica again (after
    /// [`ReplicationPair::stop_replication`]).
    ///
    /// # Panics
    ///
    /// When the statement fails.
    pub async fn start_replication(&self) {
        let mut r = self.replica.conn().await;
        let dialect = dialect(&mut r).await;
        exec(&mut r, dialect.start_replica_statement()).await;
    }

    /// Stops the primary (a clean shutdown; its data is removed). The
    /// replica's replication keeps retrying until it is promoted.
    pub fn stop_primary(&mut self) {
        self.primary = None;
    }

    /// Makes the replica a writable primary: replication stopped and
    /// forgotten (`RESET SLAVE ALL`), `read_only` off. Its GTID state stays:
    /// its binlog (`log_slave_updates`) holds what it replicated, and what
    /// it writes from now on has its own server id.
    ///
    /// # Panics
    ///
    /// When a statement fails.
    pub async fn promote_replica(&self) {
        let mut r = self.replica.conn().await;
        let dialect = dialect(&mut r).await;
        exec(&mut r, dialect.stop_replica_statement()).await;
        // server-dialect has no RESET statement; MariaDB 10.x and 11.x
        // take this one.
        exec(&mut r, "RESET SLAVE ALL").await;
        exec(&mut r, "SET GLOBAL read_only = 0").await;
    }

    /// A failover: the primary stops, the replica is promoted.
    ///
    /// # Panics
    ///
    /// When a statement fails.
    pub async fn fail_over(&mut self) {
        self.stop_primary();
        self.promote_replica().await;
    }
}

/// The dialect of the server behind `conn`.
async fn dialect(conn: &mut Conn) -> server_dialect::Dialect {
    let version = server_dialect::server_version(conn)
        .await
        .unwrap_or_else(|e| panic!("cannot read the server version: {e}"));
    server_dialect::Dialect::new(version)
}

/// A connection to `instance` whose transactions are logged in GTID domain
/// `domain` (`SET SESSION gtid_domain_id`).
///
/// # Panics
///
/// When the server does not answer.
pub async fn conn_in_domain(instance: &Instance, domain: u32) -> Conn {
    let mut c = instance.conn().await;
    exec(&mut c, &format!("SET SESSION gtid_domain_id = {domain}")).await;
    c
}

/// A MariaDB server's GTID positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GtidPositions {
    /// `@@gtid_binlog_pos`: the last GTID of each domain in its binlog.
    pub binlog_pos: MariadbGtidPosition,
    /// `@@gtid_current_pos`: per domain, what it last logged or replicated.
    pub current_pos: MariadbGtidPosition,
    /// `@@gtid_slave_pos`: the last GTID of each domain it replicated.
    pub slave_pos: MariadbGtidPosition,
    /// `@@gtid_binlog_state`: the last GTID of every server id in each
    /// domain of its binlog.
    pub binlog_state: MariadbBinlogState,
}

/// Reads a MariaDB server's GTID positions.
///
/// # Panics
///
/// When the query fails or a value does not parse.
pub async fn gtid_positions(conn: &mut Conn) -> GtidPositions {
    type Row = (String, String, String, String);
    let (binlog_pos, current_pos, slave_pos, binlog_state): Row = conn
        .query_first(
            "SELECT @@GLOBAL.gtid_binlog_pos, @@GLOBAL.gtid_current_pos, \
             @@GLOBAL.gtid_slave_pos, @@GLOBAL.gtid_binlog_state",
        )
        .await
        .unwrap_or_else(|e| panic!("cannot read the GTID positions: {e}"))
        .unwrap_or_else(|| panic!("no GTID positions"));
    let pos = |name: &str, text: &str| {
        MariadbGtidPosition::parse(text).unwrap_or_else(|e| panic!("{name} {text:?}: {e}"))
    };
    GtidPositions {
        binlog_pos: pos("gtid_binlog_pos", &binlog_pos),
        current_pos: pos("gtid_current_pos", &current_pos),
        slave_pos: pos("gtid_slave_pos", &slave_pos),
        binlog_state: MariadbBinlogState::parse(&binlog_state)
            .unwrap_or_else(|e| panic!("gtid_binlog_state {binlog_state:?}: {e}")),
    }
}

/// The binlog files a server has, oldest first (`SHOW BINARY LOGS`).
///
/// # Panics
///
/// When the statement fails.
pub async fn binlog_files(conn: &mut Conn) -> Vec<String> {
    let rows: Vec<mysql_async::Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .unwrap_or_else(|e| panic!("SHOW BINARY LOGS failed: {e}"));
    rows.iter()
        .map(|r| r.get::<String, _>(0).unwrap_or_default())
        .collect()
}

/// Rotates the binlog (`FLUSH BINARY LOGS`) and purges every file but the
/// new one, so that the oldest file's GTID_LIST is the whole state before
/// it. Returns the file left.
///
/// MariaDB keeps a file that crash recovery may still need until the
/// storage engine has made its transactions durable (its binlog
/// checkpoint), and `PURGE BINARY LOGS` then leaves it without an error:
/// the purge is repeated until only the new file is left.
///
/// # Panics
///
/// When a statement fails, or the files are still there after 30 seconds.
pub async fn purge_binlogs_but_current(conn: &mut Conn) -> String {
    exec(conn, "FLUSH BINARY LOGS").await;
    let current = binlog_files(conn)
        .await
        .pop()
        .unwrap_or_else(|| panic!("the server has no binlog file"));
    let literal = current.replace('\\', "\\\\").replace('\'', "''");
    let start = std::time::Instant::now();
    loop {
        exec(conn, &format!("PURGE BINARY LOGS TO '{literal}'")).await;
        let files = binlog_files(conn).await;
        if files == [current.clone()] {
            return current;
        }
        if start.elapsed() > std::time::Duration::from_secs(30) {
            panic!("PURGE BINARY LOGS TO '{current}' still leaves {files:?} after 30 s");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The GTID_LIST of a server's oldest binlog file: its binlog state before
/// that file, that is, what it has purged. Read with `SHOW BINLOG EVENTS`,
/// the server's own account (not this project's decoder).
///
/// # Panics
///
/// When the statements fail or the file has no GTID_LIST.
pub async fn oldest_gtid_list(conn: &mut Conn) -> MariadbBinlogState {
    let files = binlog_files(conn).await;
    let oldest = files
        .first()
        .unwrap_or_else(|| panic!("the server has no binlog file"));
    // SHOW takes no placeholders: the name (the server's own) as a quoted
    // literal.
    let literal = oldest.replace('\\', "\\\\").replace('\'', "''");
    let rows: Vec<mysql_async::Row> = conn
        .query(format!("SHOW BINLOG EVENTS IN '{literal}' LIMIT 4"))
        .await
        .unwrap_or_else(|e| panic!("SHOW BINLOG EVENTS IN {oldest} failed: {e}"));
    let info = rows
        .iter()
        .find_map(|r| {
            let kind: String = r.get("Event_type")?;
            (kind == "Gtid_list")
                .then(|| r.get::<String, _>("Info"))
                .flatten()
        })
        .unwrap_or_else(|| panic!("{oldest} has no Gtid_list event"));
    // The list is shown in brackets: `[0-1-100,2-1-5]`.
    let list = info.trim().trim_start_matches('[').trim_end_matches(']');
    MariadbBinlogState::parse(list).unwrap_or_else(|e| panic!("Gtid_list {info:?}: {e}"))
}

/// What a failover decision needs of a MariaDB candidate server: its
/// `gtid_binlog_state` and its oldest binlog's GTID_LIST.
///
/// # Panics
///
/// When a statement fails.
pub async fn mariadb_candidate(conn: &mut Conn) -> MariadbCandidate {
    MariadbCandidate {
        binlog_state: gtid_positions(conn).await.binlog_state,
        purged: oldest_gtid_list(conn).await,
    }
}
