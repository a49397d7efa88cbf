//! The source server behind the task's URLs: which server it is, what it
//! has executed, and which of several candidates the apply reads from
//! (catalogue S4).
//!
//! A task names one source URL or several (a primary and its replicas, or
//! the addresses a managed service may move its primary to). At every
//! start of a run the apply asks each URL which server answers there
//! ([`SourceIdentity`]: MySQL's `server_uuid`, MariaDB's `server_id`) and
//! whether it is writable, then:
//!
//! - the server the checkpoint was written on, when it answers at any of
//!   the URLs, is read from as before (by file position);
//! - otherwise (a failover: that server is gone, or another one answers at
//!   its address), the first writable server is the candidate: the apply
//!   continues on it by GTID only when `resume_on` says that its binlog
//!   holds exactly what the target still lacks, and else stops with the
//!   refusal's text, having written nothing;
//! - with no writable server reachable, the run fails with a retryable
//!   error: the failover may still be under way.

use mysql_async::prelude::*;
use mysql_async::{Conn, Opts};

use binlog_reader::position::{
    Candidate, FilePosition, GtidSet, GtidState, MariadbBinlogState, MariadbCandidate,
    MariadbGtidPosition, MysqlCandidate, SourceIdentity, Uuid,
};

use crate::base::error::{db_err, CopyError};

/// A server answering at one of the task's source URLs.
pub(crate) struct Server {
    /// How to connect to it.
    pub(crate) opts: Opts,
    /// The connection the facts were read on.
    pub(crate) conn: Conn,
    /// Which server it is.
    pub(crate) identity: SourceIdentity,
    /// `@@read_only` (a replica, or a primary being demoted).
    pub(crate) read_only: bool,
}

/// `host:port` of a URL's options, for messages (never the password).
pub(crate) fn address(opts: &Opts) -> String {
    format!("{}:{}", opts.ip_or_hostname(), opts.tcp_port())
}

impl Server {
    /// The server and where it answers, for messages and the status.
    pub(crate) fn describe(&self) -> String {
        format!("{} at {}", self.identity, address(&self.opts))
    }
}

/// A server's name in the metadata: `mariadb:SERVER_ID` or
/// `mysql:SERVER_UUID`.
pub(crate) fn server_key(id: &SourceIdentity) -> String {
    match id {
        SourceIdentity::Mysql { server_uuid, .. } => format!("mysql:{server_uuid}"),
        SourceIdentity::Mariadb { server_id } => format!("mariadb:{server_id}"),
    }
}

/// Connects to `opts` and reads which server answers there.
pub(crate) async fn probe(opts: &Opts) -> Result<Server, CopyError> {
    let where_ = address(opts);
    // A source connection reads rows of any length (the shadow's schema,
    // the DDL's rows): see `session::reading`.
    let mut conn = Conn::new(crate::base::session::reading(opts))
        .await
        .map_err(db_err("source", format!("connecting to {where_}")))?;
    let identity = identify(&mut conn).await?;
    let read_only: Option<u8> = conn
        .query_first("SELECT @@GLOBAL.read_only")
        .await
        .map_err(db_err("source", format!("reading read_only on {where_}")))?;
    Ok(Server {
        opts: opts.clone(),
        conn,
        identity,
        read_only: read_only.unwrap_or(0) != 0,
    })
}

/// Which server `conn` is connected to.
pub(crate) async fn identify(conn: &mut Conn) -> Result<SourceIdentity, CopyError> {
    let version =
        server_dialect::server_version(conn)
            .await
            .map_err(|e| CopyError::Unsupported {
                reason: format!("cannot read the source's version: {e}"),
            })?;
    let server_id: Option<u64> = conn
        .query_first("SELECT @@GLOBAL.server_id")
        .await
        .map_err(db_err("source", "reading server_id"))?;
    let server_id = u32::try_from(server_id.unwrap_or(0)).unwrap_or(u32::MAX);
    if version.is_mariadb() {
        return Ok(SourceIdentity::Mariadb { server_id });
    }
    let uuid: Option<String> = conn
        .query_first("SELECT @@GLOBAL.server_uuid")
        .await
        .map_err(db_err("source", "reading server_uuid"))?;
    let uuid = uuid.unwrap_or_default();
    let server_uuid = Uuid::parse(&uuid).map_err(|e| CopyError::Unsupported {
        reason: format!("the source's server_uuid {uuid:?} does not parse: {e}"),
    })?;
    Ok(SourceIdentity::Mysql {
        server_uuid,
        server_id,
    })
}

/// What a failover decision needs of a candidate: MySQL's executed and
/// purged sets; MariaDB's binlog state and the GTID_LIST of its oldest
/// binlog file (what it purged).
pub(crate) async fn candidate(s: &mut Server) -> Result<Candidate, CopyError> {
    let where_ = address(&s.opts);
    match s.identity {
        SourceIdentity::Mysql { .. } => {
            let (executed, purged): (String, String) = s
                .conn
                .query_first("SELECT @@GLOBAL.gtid_executed, @@GLOBAL.gtid_purged")
                .await
                .map_err(db_err(
                    "source",
                    format!("reading the GTID sets of {where_}"),
                ))?
                .unwrap_or_default();
            let parse = |name: &str, text: &str| {
                let flat: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                GtidSet::parse(&flat).map_err(|e| CopyError::Unsupported {
                    reason: format!("the {name} of {where_} does not parse: {e}"),
                })
            };
            Ok(Candidate::Mysql(MysqlCandidate {
                gtid_executed: parse("gtid_executed", &executed)?,
                gtid_purged: parse("gtid_purged", &purged)?,
            }))
        }
        SourceIdentity::Mariadb { .. } => {
            let state: Option<String> = s
                .conn
                .query_first("SELECT @@GLOBAL.gtid_binlog_state")
                .await
                .map_err(db_err(
                    "source",
                    format!("reading gtid_binlog_state of {where_}"),
                ))?;
            let state = state.unwrap_or_default();
            let binlog_state =
                MariadbBinlogState::parse(&state).map_err(|e| CopyError::Unsupported {
                    reason: format!("gtid_binlog_state {state:?} of {where_} does not parse: {e}"),
                })?;
            let purged = oldest_gtid_list(&mut s.conn, &where_).await?;
            Ok(Candidate::Mariadb(MariadbCandidate {
                binlog_state,
                purged,
            }))
        }
    }
}

/// The GTID_LIST of a MariaDB server's oldest binlog file: its binlog
/// state before that file, that is, what it purged.
async fn oldest_gtid_list(conn: &mut Conn, where_: &str) -> Result<MariadbBinlogState, CopyError> {
    let logs: Vec<mysql_async::Row> = conn.query("SHOW BINARY LOGS").await.map_err(db_err(
        "source",
        format!("listing the binary logs of {where_}"),
    ))?;
    let Some(oldest) = logs.first().and_then(|r| r.get::<String, _>(0)) else {
        return Err(CopyError::Unsupported {
            reason: format!("{where_} has no binary log: it cannot serve as the source"),
        });
    };
    let literal = oldest.replace('\\', "\\\\").replace('\'', "''");
    let rows: Vec<mysql_async::Row> = conn
        .query(format!("SHOW BINLOG EVENTS IN '{literal}' LIMIT 4"))
        .await
        .map_err(db_err(
            "source",
            format!("reading the head of {oldest} on {where_}"),
        ))?;
    let info = rows.iter().find_map(|r| {
        let kind: String = r.get("Event_type")?;
        (kind == "Gtid_list")
            .then(|| r.get::<String, _>("Info"))
            .flatten()
    });
    let Some(info) = info else {
        return Err(CopyError::Unsupported {
            reason: format!(
                "the oldest binlog file {oldest} of {where_} has no GTID_LIST event, so what \
                 it purged is unknown"
            ),
        });
    };
    let list = info.trim().trim_start_matches('[').trim_end_matches(']');
    MariadbBinlogState::parse(list).map_err(|e| CopyError::Unsupported {
        reason: format!("the GTID_LIST {info:?} of {oldest} on {where_} does not parse: {e}"),
    })
}

/// The GTID state at a file position of the server `conn` is connected
/// to: MariaDB's `BINLOG_GTID_POS`; MySQL has no such function, so its
/// state is unknown there ([`GtidState::None`]) until the reader meets the
/// next file's PREVIOUS_GTIDS.
pub(crate) async fn gtid_state_at(
    conn: &mut Conn,
    identity: &SourceIdentity,
    at: &FilePosition,
) -> Result<GtidState, CopyError> {
    if let SourceIdentity::Mysql { .. } = identity {
        return Ok(GtidState::None);
    }
    let pos: Option<Option<String>> = conn
        .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (&at.file, at.offset))
        .await
        .map_err(db_err(
            "source",
            format!("reading the GTID position at {at}"),
        ))?;
    match pos.flatten() {
        None => Ok(GtidState::None),
        Some(text) => MariadbGtidPosition::parse(&text)
            .map(GtidState::Mariadb)
            .map_err(|e| CopyError::Unsupported {
                reason: format!("BINLOG_GTID_POS at {at} gave {text:?}, which does not parse: {e}"),
            }),
    }
}

/// Which server the apply reads from, of those answering at `urls` (the
/// first is the task's main URL): see the module documentation.
/// `is_checkpoint_server` says whether a server is the one the checkpoint
/// was written on (`None`: no checkpoint yet).
///
/// # Errors
///
/// The connection error of the main URL when it is the only one; with
/// several, [`CopyError::NoSource`] (retryable) when none answers or, with
/// a checkpoint whose server is gone, none is writable.
pub(crate) async fn choose(
    urls: &[Opts],
    is_checkpoint_server: Option<&(dyn Fn(&SourceIdentity) -> bool + Sync)>,
) -> Result<Server, CopyError> {
    if urls.len() == 1 {
        return probe(&urls[0]).await;
    }
    let mut reachable = Vec::new();
    let mut failures = Vec::new();
    for opts in urls {
        match probe(opts).await {
            Ok(s) => reachable.push(s),
            Err(e) => failures.push(format!("{}: {e}", address(opts))),
        }
    }
    let pos = match is_checkpoint_server {
        None => reachable
            .iter()
            .position(|s| !s.read_only)
            .or(if reachable.is_empty() { None } else { Some(0) }),
        Some(same) => reachable
            .iter()
            .position(|s| same(&s.identity))
            .or_else(|| reachable.iter().position(|s| !s.read_only)),
    };
    match pos {
        Some(i) => Ok(reachable.swap_remove(i)),
        None => {
            let mut seen: Vec<String> = reachable
                .iter()
                .map(|s| format!("{} (read-only)", s.describe()))
                .collect();
            seen.extend(failures);
            Err(CopyError::NoSource {
                reason: format!(
                    "no writable source among the task's URLs, and the server of the checkpoint \
                     is not among them: {}. A failover may be under way; the task retries",
                    seen.join("; ")
                ),
            })
        }
    }
}
