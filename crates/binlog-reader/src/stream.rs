//! Reading a server's binlog over the replication protocol (mysql_async),
//! for MySQL and MariaDB, with heartbeats, a read timeout that detects a
//! dead connection, and reconnection that neither loses nor repeats events.
//!
//! mysql_async does the connection, authentication and the dump request;
//! every event is then rebuilt byte for byte from what it read (header,
//! body, original checksum) and decoded by this crate's [`Decoder`], which
//! verifies the CRC32, so a wrong rebuild is caught and not trusted.
//! mysql_async's own expansion of TRANSACTION_PAYLOAD is not used: its
//! inner events are checked against ours and dropped.
//!
//! Known limit: mysql_async decompresses a TRANSACTION_PAYLOAD whole
//! (mysql_common's `danger_decompress`, a buffer of the declared
//! uncompressed size) before it hands the event over, so
//! [`StreamConfig::limits`] bound this crate's decoding of a payload, and a
//! payload over them is still refused before any of it is handed out, but
//! not the driver's own copy. Bounding that needs reading the dump's packets
//! without mysql_async's `BinlogStream`. The file reader has no such copy.

use std::collections::VecDeque;
use std::time::Duration;

use futures::StreamExt;
use mysql_async::binlog::events::Event as McEvent;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStreamRequest, Conn, Opts};

use crate::decoder::{Decoder, Step};
use crate::error::DecodeError;
use crate::event::{ChecksumAlg, Event, EventBody, EventClass};
use crate::position::{query_ends_transaction, FilePosition, MariadbGtidPosition};
use crate::types::EventType;

/// Where a stream starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamStart {
    /// A file and offset; `None` for the server's first binlog file.
    File(Option<String>, u64),
    /// A MariaDB GTID position (`@slave_connect_state`).
    MariadbGtid(MariadbGtidPosition),
    /// A MySQL GTID set: the transactions already applied
    /// (`COM_BINLOG_DUMP_GTID`); the server sends every other one.
    MysqlGtid(crate::position::GtidSet),
}

/// How to read a server's binlog.
#[derive(Clone, Debug)]
pub struct StreamConfig {
    /// The connection (an account with REPLICATION SLAVE).
    pub opts: Opts,
    /// The server id this reader registers with; distinct from every real
    /// replica's.
    pub server_id: u32,
    /// Where to start.
    pub start: StreamStart,
    /// The heartbeat the server sends when idle.
    pub heartbeat: Duration,
    /// No byte for this long means the connection is dead (a black hole):
    /// reconnect. Should be a few heartbeats.
    pub read_timeout: Duration,
    /// End at the end of the binlog instead of waiting for more.
    pub non_blocking: bool,
    /// Reconnection attempts in a row before giving up.
    pub max_reconnects: u32,
    /// The decoder's bounds on what one event may allocate: an event or a
    /// compressed transaction (TRANSACTION_PAYLOAD, decoded whole) over
    /// them is a [`StreamError::Decode`] naming its position, size and
    /// limit.
    pub limits: crate::event::Limits,
}

impl StreamConfig {
    /// A configuration with a 1 s heartbeat, a 5 s read timeout and 10
    /// reconnection attempts.
    pub fn new(opts: Opts, server_id: u32, start: StreamStart) -> Self {
        StreamConfig {
            opts,
            server_id,
            start,
            heartbeat: Duration::from_secs(1),
            read_timeout: Duration::from_secs(5),
            non_blocking: false,
            max_reconnects: 10,
            limits: crate::event::Limits::default(),
        }
    }
}

/// An error reading a server's binlog.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The server could not be reached or refused the request, after the
    /// reconnection attempts.
    #[error("binlog stream from {position}: {error} (after {attempts} reconnection attempts)")]
    Server {
        /// Where the stream was.
        position: String,
        /// The last error.
        error: mysql_async::Error,
        /// Reconnection attempts made.
        attempts: u32,
    },
    /// No byte arrived within the read timeout, after the reconnection
    /// attempts.
    #[error("binlog stream from {position}: no data for {timeout:?} (heartbeat expected every {heartbeat:?}); the connection is dead and {attempts} reconnection attempts failed")]
    Stalled {
        /// Where the stream was.
        position: String,
        /// The read timeout.
        timeout: Duration,
        /// The heartbeat period asked for.
        heartbeat: Duration,
        /// Reconnection attempts made.
        attempts: u32,
    },
    /// The bytes could not be decoded.
    #[error("binlog stream at {position}: {error}")]
    Decode {
        /// Where the event is.
        position: String,
        /// The decoding error.
        error: DecodeError,
    },
    /// What mysql_async read could not be rebuilt into the event's bytes.
    #[error("binlog stream at {position}: {reason}")]
    Protocol {
        /// Where the stream was.
        position: String,
        /// What went wrong.
        reason: String,
    },
}

/// Why a connection is being replaced.
enum Failure {
    /// The server or the connection reported an error.
    Server(mysql_async::Error),
    /// Nothing arrived within the read timeout.
    Stalled,
}

/// Reads a server's binlog as decoded events. See the module documentation.
pub struct BinlogStreamReader {
    cfg: StreamConfig,
    stream: Option<mysql_async::BinlogStream>,
    connection_id: Option<u32>,
    decoder: Decoder,
    mariadb: bool,
    checksum: ChecksumAlg,
    /// Where a reconnect restarts: the end of the last complete transaction.
    safe: FilePosition,
    safe_gtid: Option<MariadbGtidPosition>,
    /// The MySQL GTIDs applied up to the safe position (GTID mode).
    safe_mysql_gtids: Option<crate::position::GtidSet>,
    /// The MySQL GTID of the transaction being read.
    current_mysql_gtid: Option<(crate::position::Uuid, Option<String>, i64)>,
    /// The end of the last event handed out: events up to here are not
    /// handed out again after a reconnect.
    delivered: Option<FilePosition>,
    in_transaction: bool,
    /// The MariaDB GTID of the transaction being read.
    current_gtid: Option<crate::position::MariadbGtid>,
    /// Inner events of a TRANSACTION_PAYLOAD that mysql_async will also
    /// hand out: (type, length) to check and drop.
    skip_inner: VecDeque<(u8, u32)>,
    /// Reconnections so far (for observability).
    pub reconnects: u64,
}

impl std::fmt::Debug for BinlogStreamReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinlogStreamReader")
            .field("server_id", &self.cfg.server_id)
            .field("safe", &self.safe)
            .field("delivered", &self.delivered)
            .finish_non_exhaustive()
    }
}

fn rebuild(ev: &McEvent) -> Vec<u8> {
    let h = ev.header();
    let mut out = Vec::with_capacity(h.event_size() as usize);
    out.extend_from_slice(&h.timestamp().to_le_bytes());
    out.push(h.event_type_raw());
    out.extend_from_slice(&h.server_id().to_le_bytes());
    out.extend_from_slice(&h.event_size().to_le_bytes());
    out.extend_from_slice(&h.log_pos().to_le_bytes());
    out.extend_from_slice(&h.flags_raw().to_le_bytes());
    out.extend_from_slice(ev.data());
    if h.event_type_raw() == EventType::FORMAT_DESCRIPTION.0 {
        if let Ok(Some(alg)) = ev.footer().get_checksum_alg() {
            out.push(alg as u8);
        }
    }
    if let Some(c) = ev.checksum() {
        out.extend_from_slice(&c);
    }
    out
}

impl BinlogStreamReader {
    /// Connects and requests the binlog.
    ///
    /// # Errors
    ///
    /// [`StreamError::Server`] when the server cannot be reached or refuses.
    pub async fn connect(cfg: StreamConfig) -> Result<Self, StreamError> {
        let (file, pos) = match &cfg.start {
            StreamStart::File(f, p) => (f.clone().unwrap_or_default(), *p),
            StreamStart::MariadbGtid(_) | StreamStart::MysqlGtid(_) => (String::new(), 4),
        };
        let safe_gtid = match &cfg.start {
            StreamStart::MariadbGtid(g) => Some(g.clone()),
            _ => None,
        };
        let safe_mysql_gtids = match &cfg.start {
            StreamStart::MysqlGtid(g) => Some(g.clone()),
            _ => None,
        };
        let mut r = BinlogStreamReader {
            decoder: Decoder::for_stream(None, pos, ChecksumAlg::Off).with_limits(cfg.limits),
            cfg,
            stream: None,
            connection_id: None,
            mariadb: false,
            checksum: ChecksumAlg::Off,
            safe: FilePosition::new(file, pos),
            safe_gtid,
            safe_mysql_gtids,
            current_mysql_gtid: None,
            delivered: None,
            in_transaction: false,
            current_gtid: None,
            skip_inner: VecDeque::new(),
            reconnects: 0,
        };
        r.open().await.map_err(|error| StreamError::Server {
            position: r.safe.to_string(),
            error,
            attempts: 0,
        })?;
        Ok(r)
    }

    /// Supplies the columns of `schema`.`table` for binlogs without
    /// optional metadata (see [`Decoder::set_table_columns`]).
    pub fn set_table_columns(
        &mut self,
        schema: &str,
        table: &str,
        cols: Vec<crate::decoder::ColumnDescription>,
    ) {
        self.decoder.set_table_columns(schema, table, cols);
    }

    /// The server's id of the dump connection (for `KILL`).
    pub fn connection_id(&self) -> Option<u32> {
        self.connection_id
    }

    /// The end of the last complete transaction: a safe place to resume.
    pub fn safe_position(&self) -> &FilePosition {
        &self.safe
    }

    async fn open(&mut self) -> Result<(), mysql_async::Error> {
        // Events come as packets as long as the event (up to 1 GiB, the
        // servers' ceiling), whatever the source's max_allowed_packet, which
        // the client would otherwise take as its limit.
        let opts = mysql_async::OptsBuilder::from_opts(self.cfg.opts.clone())
            .max_allowed_packet(Some(1 << 30));
        let mut conn = Conn::new(opts).await?;
        let version = server_dialect::server_version(&mut conn)
            .await
            .map_err(|e| match e {
                server_dialect::DialectError::Query { error, .. } => error,
                other => mysql_async::Error::Other(Box::new(other)),
            })?;
        let dialect = server_dialect::Dialect::new(version);
        self.mariadb = dialect.version().is_mariadb();
        let checksum: Option<String> = conn.query_first("SELECT @@global.binlog_checksum").await?;
        self.checksum = match checksum.as_deref() {
            Some("CRC32") => ChecksumAlg::Crc32,
            _ => ChecksumAlg::Off,
        };
        // Tell the server we understand checksums and want heartbeats, under
        // the names its version reads (`@source_...` from MySQL 8.0.26,
        // `@master_...` before and on MariaDB).
        let hb = u64::try_from(self.cfg.heartbeat.as_nanos()).unwrap_or(u64::MAX);
        conn.query_drop(dialect.binlog_dump_setup_statement(hb))
            .await?;
        if self.mariadb {
            // Capability 4 (MARIA_SLAVE_CAPABILITY_GTID): send GTID and
            // annotate events as they are, not rewritten as BEGIN / dummies.
            conn.query_drop("SET @mariadb_slave_capability = 4").await?;
            if let Some(g) = &self.safe_gtid {
                conn.exec_drop(
                    "SET @slave_connect_state = ?, @slave_gtid_strict_mode = 1, @slave_gtid_ignore_duplicates = 0",
                    (g.to_string(),),
                )
                .await?;
            }
        }
        self.connection_id = Some(conn.id());
        let file_name = self.safe.file.clone().into_bytes();
        let mut req = BinlogStreamRequest::new(self.cfg.server_id)
            .with_pos(self.safe.offset)
            .with_filename(&file_name);
        if self.cfg.non_blocking {
            req = req.with_non_blocking();
        }
        if let (Some(set), false) = (&self.safe_mysql_gtids, self.mariadb) {
            req = req.with_gtid().with_gtid_set(mysql_sids(set));
        }
        let stream = conn.get_binlog_stream(req).await?;
        let file = (!self.safe.file.is_empty()).then(|| self.safe.file.clone());
        // A fresh decoder at the safe position, keeping the table maps
        // (a reconnect resumes at a transaction boundary, but the maps of
        // an earlier transaction may be needed again).
        let mut d = self.decoder.clone();
        d.restart_stream(file, self.safe.offset, self.checksum);
        self.decoder = d;
        self.skip_inner.clear();
        self.in_transaction = false;
        self.stream = Some(stream);
        Ok(())
    }

    fn position(&self) -> String {
        format!(
            "{}:{}",
            self.decoder.file().unwrap_or("?"),
            self.decoder.offset()
        )
    }

    /// The next event; `None` when a non-blocking stream reached the end.
    ///
    /// Connection failures and stalls are retried from the last complete
    /// transaction, up to `max_reconnects` times in a row; events already
    /// handed out are not handed out again.
    ///
    /// # Errors
    ///
    /// [`StreamError`] when reconnection fails, or for bytes that cannot be
    /// decoded (the caller must stop: skipping could lose a change).
    pub async fn next(&mut self) -> Result<Option<Event>, StreamError> {
        // Attempts count within one call: a reconnect's fake ROTATE is not
        // handed out, so only real progress returns and resets them.
        let mut attempts = 0u32;
        loop {
            let Some(stream) = self.stream.as_mut() else {
                return Ok(None);
            };
            let failure = match tokio::time::timeout(self.cfg.read_timeout, stream.next()).await {
                Ok(Some(Ok(ev))) => match self.handle(&ev)? {
                    Some(e) => return Ok(Some(e)),
                    None => continue,
                },
                Ok(Some(Err(e))) => Failure::Server(e),
                Ok(None) if self.cfg.non_blocking => {
                    self.stream = None;
                    return Ok(None);
                }
                Ok(None) => Failure::Server(mysql_async::Error::Driver(
                    mysql_async::DriverError::ConnectionClosed,
                )),
                Err(_elapsed) => Failure::Stalled,
            };
            self.reconnect(&mut attempts, failure).await?;
        }
    }

    /// Replaces a failed connection, from the safe position, with capped
    /// exponential backoff, until `max_reconnects` attempts have failed.
    async fn reconnect(
        &mut self,
        attempts: &mut u32,
        mut failure: Failure,
    ) -> Result<(), StreamError> {
        self.stream = None;
        loop {
            if *attempts >= self.cfg.max_reconnects {
                return Err(match failure {
                    Failure::Server(error) => StreamError::Server {
                        position: self.position(),
                        error,
                        attempts: *attempts,
                    },
                    Failure::Stalled => StreamError::Stalled {
                        position: self.position(),
                        timeout: self.cfg.read_timeout,
                        heartbeat: self.cfg.heartbeat,
                        attempts: *attempts,
                    },
                });
            }
            match &failure {
                Failure::Server(e) => {
                    tracing::warn!(error = %e, at = %self.position(), "binlog stream failed; reconnecting from {}", self.safe)
                }
                Failure::Stalled => {
                    tracing::warn!(at = %self.position(), "binlog stream stalled for {:?}; reconnecting from {}", self.cfg.read_timeout, self.safe)
                }
            }
            *attempts += 1;
            let backoff = Duration::from_millis(100u64.saturating_mul(1 << (*attempts).min(6)));
            tokio::time::sleep(backoff.min(Duration::from_secs(5))).await;
            self.reconnects += 1;
            match self.open().await {
                Ok(()) => return Ok(()),
                Err(e) => failure = Failure::Server(e),
            }
        }
    }

    /// Decodes one event from mysql_async; `None` when it is not handed out
    /// (an inner payload event, or one already delivered before a reconnect).
    fn handle(&mut self, ev: &McEvent) -> Result<Option<Event>, StreamError> {
        let h = ev.header();
        if let Some((t, len)) = self.skip_inner.front().copied() {
            if h.event_type_raw() == t && h.event_size() == len {
                self.skip_inner.pop_front();
                return Ok(None);
            }
            return Err(StreamError::Protocol {
                position: self.position(),
                reason: format!(
                    "expected the driver to repeat an inner payload event of type {t} and length {len}, got type {} length {}",
                    h.event_type_raw(),
                    h.event_size()
                ),
            });
        }
        let bytes = rebuild(ev);
        if bytes.len() != h.event_size() as usize {
            return Err(StreamError::Protocol {
                position: self.position(),
                reason: format!(
                    "rebuilt {} bytes for an event of {} bytes (type {})",
                    bytes.len(),
                    h.event_size(),
                    h.event_type_raw()
                ),
            });
        }
        let event = match self.decoder.decode(&bytes) {
            Ok(Step::Event { event, .. }) => event,
            Ok(_) => {
                return Err(StreamError::Protocol {
                    position: self.position(),
                    reason: "an incomplete event in a complete packet".into(),
                })
            }
            Err(error) => {
                return Err(StreamError::Decode {
                    position: self.position(),
                    error,
                })
            }
        };
        if let EventBody::TransactionPayload(p) = &event.body {
            for inner in &p.events {
                self.skip_inner
                    .push_back((inner.header.event_type.0, inner.header.event_length));
            }
        }
        self.track(&event);
        // After a reconnect, events up to what was already handed out are
        // decoded (for the table maps) but not handed out again.
        if let (Some(d), Some(f)) = (&self.delivered, event.file.as_deref()) {
            if d.file == f && event.end_pos <= d.offset && event.end_pos > event.pos {
                return Ok(None);
            }
        }
        // The fake ROTATE and the resent FORMAT_DESCRIPTION of a reconnect
        // were already handed out on the first connect.
        if self.reconnects > 0
            && event.end_pos == event.pos
            && matches!(
                event.body,
                EventBody::Rotate(_) | EventBody::FormatDescription(_)
            )
        {
            return Ok(None);
        }
        if event.end_pos > event.pos {
            if let Some(f) = event.file.as_deref() {
                self.delivered = Some(FilePosition::new(f, event.end_pos));
            }
        }
        Ok(Some(event))
    }

    /// Keeps the safe position: the end of the last complete transaction.
    fn track(&mut self, e: &Event) {
        // Every class is named: a kind of event added to the crate must be
        // placed here (a transaction boundary or not) before it compiles.
        let commit = match e.class() {
            // A MariaDB GTID opens an event group: a transaction (no BEGIN
            // follows with capability 4), or one standalone statement. A
            // MySQL GTID opens nothing by itself: BEGIN does.
            EventClass::MariadbGtid(g) => {
                self.in_transaction = g.flags2 & crate::event::MARIADB_FL_STANDALONE == 0;
                false
            }
            EventClass::Query(q) => query_ends_transaction(&q.query, &mut self.in_transaction),
            EventClass::Xid(_) | EventClass::XaPrepare(_) => true,
            // A whole transaction (BEGIN to XID) in one event.
            EventClass::TransactionPayload(_) => true,
            // Inside a transaction or between transactions, these never
            // end one: a GTID (plain, anonymous or tagged) comes before the
            // transaction it names; rows events, their table maps and
            // statement texts, and the statement-based INTVAR, RAND and
            // USER_VAR come before the QUERY or XID that ends it. An
            // uninterpreted event is handed out and stops the consumer.
            EventClass::Gtid(_)
            | EventClass::TableMap(_)
            | EventClass::Rows(_)
            | EventClass::RowsQuery(_)
            | EventClass::IntVar(_)
            | EventClass::Rand(_)
            | EventClass::UserVar(_)
            | EventClass::NoRowChange(_)
            | EventClass::Uninterpreted(_)
            | EventClass::Incident(_) => false,
            // File and stream bookkeeping: a ROTATE moves the safe position
            // below; the others are not in a transaction and change nothing
            // (a HEARTBEAT is not in the file, its position is where the
            // source is, which the safe position never passes).
            EventClass::FormatDescription(_)
            | EventClass::Rotate(_)
            | EventClass::PreviousGtids(_)
            | EventClass::Heartbeat(_)
            | EventClass::Stop
            | EventClass::MariadbGtidList(_)
            | EventClass::MariadbBinlogCheckpoint(_)
            | EventClass::MariadbStartEncryption { .. } => false,
        };
        if commit {
            self.in_transaction = false;
            if let Some(f) = e.file.as_deref() {
                if e.end_pos > e.pos {
                    self.safe = FilePosition::new(f, e.end_pos);
                }
            }
            if let (Some(g), Some(cur)) = (self.current_gtid.take(), self.safe_gtid.as_mut()) {
                cur.update(g);
            }
            if let (Some((uuid, tag, gno)), Some(set)) = (
                self.current_mysql_gtid.take(),
                self.safe_mysql_gtids.as_mut(),
            ) {
                if let Ok(gno) = u64::try_from(gno) {
                    let tag = tag.and_then(|t| crate::position::Tag::new(&t).ok());
                    let _ = set.add(uuid, tag.as_ref(), gno);
                }
            }
        }
        if let EventBody::MariadbGtid(g) = &e.body {
            self.current_gtid = Some(g.gtid);
        }
        if let EventBody::Gtid(g) = &e.body {
            self.current_mysql_gtid = (!g.anonymous).then(|| (g.sid, g.tag.clone(), g.gno));
        }
        if let EventBody::Rotate(r) = &e.body {
            if !self.in_transaction {
                self.safe = FilePosition::new(r.next_file.clone(), r.position);
            }
        }
    }
}

/// Our GTID set in mysql_async's request form: one `Sid` per (uuid, tag),
/// intervals half-open as on the wire.
fn mysql_sids(set: &crate::position::GtidSet) -> Vec<mysql_async::Sid<'static>> {
    use std::collections::BTreeMap;
    let mut by: BTreeMap<(crate::position::Uuid, Option<String>), Vec<mysql_async::GnoInterval>> =
        BTreeMap::new();
    for (uuid, tag, range) in set.iter() {
        by.entry((uuid, tag.map(|t| t.as_str().to_string())))
            .or_default()
            .push(mysql_async::GnoInterval::new(range.start, range.end));
    }
    by.into_iter()
        .filter_map(|((uuid, tag), intervals)| {
            let sid = mysql_async::Sid::new(*uuid.as_bytes()).with_intervals(intervals);
            match tag {
                None => Some(sid),
                Some(t) => mysql_common::packets::Tag::new(t)
                    .ok()
                    .map(|t| sid.with_tag(t)),
            }
        })
        .collect()
}
