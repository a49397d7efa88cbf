//! The writer: binlog files as MySQL 8.0 and 8.4 write them.
//!
//! Event headers, FORMAT_DESCRIPTION, PREVIOUS_GTIDS, GTID, QUERY, XID,
//! ROTATE and TRANSACTION_PAYLOAD bodies come from mysql_common's
//! serializers; TABLE_MAP and rows bodies from [`super::rows`].

use std::io;
use std::path::{Path, PathBuf};

use mysql_common::binlog::consts::{
    BinlogVersion, EventFlags, EventType, GtidFlags, TransactionPayloadCompressionType,
};
use mysql_common::binlog::events::{
    BinlogEventHeader, FormatDescriptionEvent, GtidEvent, PreviousGtidsEvent, PreviousGtidsSid,
    QueryEvent, RotateEvent, TransactionPayloadEvent, XidEvent,
};
use mysql_common::packets::{GnoInterval, Tag};
use mysql_common::proto::MySerialize;

use super::entry::{Entry, GtidEntry, PayloadEntry, QueryEntry, QueryStatus, RowsKind};
use super::gtid::{Gtid, GtidSet};
use super::rows::{rows_events, table_map_event, Framed, RowPair};
use super::schema::{MySqlVersion, TableDef};
use super::value::Value;

/// The common header's length in binlog version 4.
const HEADER_LEN: usize = 19;
/// `LOG_EVENT_BINLOG_IN_USE_F`.
const IN_USE_F: u16 = 0x1;
/// `LOG_EVENT_SUPPRESS_USE_F`, which MySQL sets on `BEGIN`.
const SUPPRESS_USE_F: u16 = 0x8;
/// `LOG_EVENT_IGNORABLE_F`, which MySQL sets on PREVIOUS_GTIDS.
const IGNORABLE_F: u16 = 0x80;

/// Options of one binlog file.
#[derive(Clone, Debug)]
pub struct FileOptions {
    /// CRC32 on every event (`binlog_checksum=CRC32`, the default); false
    /// for `NONE`.
    pub checksum: bool,
    /// The server id in every header.
    pub server_id: u32,
    /// The header timestamp of the first event; later transactions advance
    /// it by one second each.
    pub timestamp: u32,
    /// The GTIDs of the files before this one (the PREVIOUS_GTIDS event).
    pub previous_gtids: GtidSet,
    /// `binlog_row_event_max_size`: a statement's rows are split into
    /// events of about this many bytes (MySQL's default, 8192).
    pub row_event_max_size: usize,
    /// The first XID (and DDL xid) number.
    pub first_xid: u64,
    /// Set LOG_EVENT_BINLOG_IN_USE_F on the FORMAT_DESCRIPTION, as the
    /// server does on the file it is writing.
    pub in_use: bool,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            checksum: true,
            server_id: 1,
            timestamp: 1_700_000_000,
            previous_gtids: GtidSet::new(),
            row_event_max_size: 8192,
            first_xid: 100,
            in_use: false,
        }
    }
}

/// The session whose statements are logged: what QUERY events carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The connection id.
    pub thread_id: u32,
    /// The default database for `BEGIN` (None: the first table's).
    pub database: Option<String>,
    /// `sql_mode` bits (the default is MySQL 8.0's default mode, as the real
    /// 8.0.40 file carries it: 0x45a00020).
    pub sql_mode: u64,
    /// `character_set_client` (a collation id, as MySQL stores it).
    pub charset_client: u16,
    /// `collation_connection`.
    pub collation_connection: u16,
    /// `collation_server`.
    pub collation_server: u16,
    /// `default_collation_for_utf8mb4`.
    pub default_collation_for_utf8mb4: u16,
    /// The session time zone, written when set (MySQL writes it when the
    /// statement used the time zone).
    pub time_zone: Option<String>,
    /// `flags2` (OPTION_AUTO_IS_NULL, OPTION_NOT_AUTOCOMMIT,
    /// OPTION_NO_FOREIGN_KEY_CHECKS, OPTION_RELAXED_UNIQUE_CHECKS bits).
    pub flags2: u32,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            thread_id: 12,
            database: None,
            sql_mode: 0x45a0_0020,
            charset_client: 255,
            collation_connection: 255,
            collation_server: 255,
            default_collation_for_utf8mb4: 255,
            time_zone: None,
            flags2: 0,
        }
    }
}

/// Which columns the row images hold (`binlog_row_image`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowImage {
    /// `FULL`: every column in both images.
    Full,
    /// `MINIMAL`: the before image holds the primary key (every column
    /// without one), an update's after image the columns that changed, an
    /// insert's every column.
    Minimal,
    /// `NOBLOB`: every column but the BLOB, TEXT, JSON and GEOMETRY ones
    /// that are not in the key (and, in an update's after image, did not
    /// change).
    NoBlob,
    /// Exactly these columns in the before and after images.
    Columns {
        /// The before image's columns.
        before: Vec<bool>,
        /// The after image's columns.
        after: Vec<bool>,
    },
}

/// How a transaction is wrapped in a TRANSACTION_PAYLOAD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadOptions {
    /// zstd (`binlog_transaction_compression=ON`) or none.
    pub compression: PayloadCompression,
    /// The zstd level (`binlog_transaction_compression_level_zstd`, 3 by
    /// default).
    pub level: i32,
    /// An uncompressed size to declare instead of the true one, for tests
    /// of a header that lies.
    pub declared_uncompressed_size: Option<u64>,
}

impl Default for PayloadOptions {
    fn default() -> Self {
        PayloadOptions {
            compression: PayloadCompression::Zstd,
            level: 3,
            declared_uncompressed_size: None,
        }
    }
}

/// The compression of a TRANSACTION_PAYLOAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadCompression {
    /// zstd (type 0).
    Zstd,
    /// None (type 255).
    None,
}

/// Where a committed transaction (or DDL) lies in its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Committed {
    /// The offset of its GTID event.
    pub start: u64,
    /// The offset just past its last event: the position to resume from.
    pub end: u64,
}

/// One binlog file being written: the magic, a FORMAT_DESCRIPTION, a
/// PREVIOUS_GTIDS, then transactions, DDL and finally (optionally) a ROTATE
/// or STOP.
///
/// ```
/// use dts_test_support::mysql_binlog::*;
/// let t = TableDef::new("db", "t", 70)
///     .col("id", ColumnType::Int { unsigned: false })
///     .col("name", ColumnType::varchar(20, Collation::UTF8MB4_0900_AI_CI))
///     .primary_key(&["id"]);
/// let mut f = BinlogFile::new(MySqlVersion::V8_0_40);
/// f.ddl(Gtid::Anonymous, "db", "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20))");
/// let mut tx = f.transaction(Gtid::Anonymous);
/// tx.insert(&t, vec![vec![Value::Int(1), Value::bytes("a")]]);
/// tx.commit();
/// f.rotate("binlog.000002");
/// assert_eq!(&f.bytes()[..4], b"\xfebin");
/// ```
#[derive(Clone, Debug)]
pub struct BinlogFile {
    version: MySqlVersion,
    options: FileOptions,
    session: Session,
    bytes: Vec<u8>,
    entries: Vec<Entry>,
    executed: GtidSet,
    sequence_number: u64,
    next_xid: u64,
    timestamp: u32,
    closed: bool,
}

impl BinlogFile {
    /// A file of `version` with the default options (CRC32, empty
    /// PREVIOUS_GTIDS).
    pub fn new(version: MySqlVersion) -> Self {
        BinlogFile::with_options(version, FileOptions::default())
    }

    /// A file of `version` with `options`.
    pub fn with_options(version: MySqlVersion, options: FileOptions) -> Self {
        let mut f = BinlogFile {
            version,
            session: Session::default(),
            bytes: b"\xfebin".to_vec(),
            entries: Vec::new(),
            executed: GtidSet::new(),
            sequence_number: 0,
            next_xid: options.first_xid,
            timestamp: options.timestamp,
            closed: false,
            options,
        };
        f.write_fde();
        f.write_previous_gtids();
        f
    }

    /// The server version written.
    pub fn version(&self) -> MySqlVersion {
        self.version
    }

    /// The session whose settings the QUERY events carry.
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// The file so far.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The file, consumed.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The size so far: the position of the next event.
    pub fn position(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// What was written, event by event (values as logged: JSON
    /// normalized, DECIMAL as MySQL prints it, CHAR/BINARY without their
    /// trailing pad bytes).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The GTIDs of the transactions written in this file.
    pub fn executed_gtids(&self) -> &GtidSet {
        &self.executed
    }

    /// The GTIDs of the files before this one.
    pub fn previous_gtids(&self) -> &GtidSet {
        &self.options.previous_gtids
    }

    /// True once a ROTATE or STOP ended the file.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Writes the file to `path`.
    ///
    /// # Errors
    ///
    /// The I/O error.
    pub fn write_to(&self, path: &Path) -> io::Result<()> {
        std::fs::write(path, &self.bytes)
    }

    /// Starts a transaction with `gtid`; nothing is written until it is
    /// committed.
    ///
    /// # Panics
    ///
    /// When the file was closed, or a tagged GTID is asked of MySQL 8.0.
    pub fn transaction(&mut self, gtid: Gtid) -> Transaction<'_> {
        self.check_open();
        self.check_gtid(&gtid);
        Transaction {
            file: self,
            gtid,
            image: RowImage::Full,
            rows_flags: 0,
            statements: Vec::new(),
            clock: Clock::default(),
        }
    }

    /// Writes a DDL statement as MySQL does: its own GTID (flag
    /// "may have statement-based events") and one QUERY event carrying the
    /// updated database and the DDL's xid.
    ///
    /// # Panics
    ///
    /// When the file was closed.
    pub fn ddl(&mut self, gtid: Gtid, schema: &str, sql: &str) -> Committed {
        self.check_open();
        self.check_gtid(&gtid);
        let xid = self.take_xid();
        let status = QueryStatus {
            updated_db_names: Some(vec![schema.to_owned()]),
            ddl_xid: Some(xid),
            sql_require_primary_key: Some(0),
            ..self.base_status()
        };
        let (body, entry) = self.query(schema, sql.as_bytes(), status);
        let events = vec![Framed {
            code: EventType::QUERY_EVENT as u8,
            flags: 0,
            body,
            entry: Entry::Query(entry),
        }];
        self.write_transaction(
            gtid,
            GtidFlags::MAY_HAVE_SBR.bits(),
            events,
            None,
            Clock::default(),
        )
    }

    /// Writes a ROTATE naming `next` (position 4) and closes the file.
    ///
    /// # Panics
    ///
    /// When the file was closed.
    pub fn rotate(&mut self, next: &str) {
        self.check_open();
        let mut body = Vec::new();
        RotateEvent::new(4, next.as_bytes()).serialize(&mut body);
        self.push(EventType::ROTATE_EVENT as u8, 0, &body);
        self.entries.push(Entry::Rotate {
            position: 4,
            next: next.to_owned(),
        });
        self.closed = true;
    }

    /// Writes a STOP (a clean shutdown) and closes the file.
    ///
    /// # Panics
    ///
    /// When the file was closed.
    pub fn stop(&mut self) {
        self.check_open();
        self.push(EventType::STOP_EVENT as u8, 0, &[]);
        self.entries.push(Entry::Stop);
        self.closed = true;
    }

    /// Writes an event of any type with the given body, framed like the
    /// others (for tests of events the writer has no builder for, or of
    /// unknown types).
    ///
    /// # Panics
    ///
    /// When the file was closed.
    pub fn raw_event(&mut self, type_code: u8, flags: u16, body: &[u8]) {
        self.check_open();
        self.push(type_code, flags, body);
        self.entries.push(Entry::Other {
            type_code,
            body: body.to_vec(),
        });
    }

    fn check_open(&self) {
        assert!(
            !self.closed,
            "mysql_binlog: the file was closed by a ROTATE or STOP"
        );
    }

    fn check_gtid(&self, gtid: &Gtid) {
        if let Gtid::Tagged { tag, .. } = gtid {
            assert!(
                self.version.has_tagged_gtids(),
                "mysql_binlog: MySQL {} writes no tagged GTIDs",
                self.version.server_version()
            );
            assert!(
                Tag::new(tag.as_str()).is_ok(),
                "mysql_binlog: {tag:?} is not a valid GTID tag"
            );
        }
    }

    fn take_xid(&mut self) -> u64 {
        let x = self.next_xid;
        self.next_xid += 1;
        x
    }

    /// Frames and appends one event at the end of the file.
    fn push(&mut self, code: u8, flags: u16, body: &[u8]) {
        let start = self.bytes.len() as u64;
        let size = HEADER_LEN + body.len() + if self.options.checksum { 4 } else { 0 };
        let ev = frame(
            code,
            flags,
            body,
            self.timestamp,
            self.options.server_id,
            log_pos(start + size as u64),
            self.options.checksum,
        );
        self.bytes.extend(ev);
    }

    /// MySQL's FORMAT_DESCRIPTION: mysql_common's body, then the checksum
    /// algorithm byte and (always, for this event) a CRC32.
    fn write_fde(&mut self) {
        let fde = FormatDescriptionEvent::new(BinlogVersion::Version4)
            .with_server_version(self.version.server_version().as_bytes())
            .with_create_timestamp(self.timestamp)
            .with_event_type_header_lengths(self.version.post_header_lengths());
        let mut body = Vec::new();
        fde.serialize(&mut body);
        body.push(u8::from(self.options.checksum));
        let size = HEADER_LEN + body.len() + 4;
        let start = self.bytes.len() as u64;
        // The checksum is over the header without the in-use flag, which
        // the server sets after computing it.
        let mut ev = header(
            EventType::FORMAT_DESCRIPTION_EVENT as u8,
            self.timestamp,
            self.options.server_id,
            size as u32,
            log_pos(start + size as u64),
            0,
        );
        ev.extend_from_slice(&body);
        let crc = crc32fast::hash(&ev);
        ev.extend_from_slice(&crc.to_le_bytes());
        if self.options.in_use {
            ev[17] |= IN_USE_F as u8;
        }
        self.bytes.extend(ev);
        self.entries.push(Entry::FormatDescription {
            server_version: self.version.server_version().to_owned(),
            checksum: self.options.checksum,
        });
    }

    fn write_previous_gtids(&mut self) {
        let set = self.options.previous_gtids.clone();
        let sids: Vec<PreviousGtidsSid<'static>> = set
            .entries()
            .map(|(sid, tag, list)| {
                let tag = tag.map(|t| {
                    Tag::new(t.to_owned())
                        .expect("mysql_binlog: a GTID set tag was checked when added")
                });
                PreviousGtidsSid::new(
                    sid,
                    tag,
                    list.iter()
                        .map(|(s, e)| GnoInterval::new(*s, e + 1))
                        .collect(),
                )
            })
            .collect();
        let mut body = Vec::new();
        PreviousGtidsEvent::new(sids).serialize(&mut body);
        self.push(EventType::PREVIOUS_GTIDS_EVENT as u8, IGNORABLE_F, &body);
        self.entries.push(Entry::PreviousGtids(set.to_string()));
    }

    /// The status variables every QUERY of the session carries, in the
    /// order MySQL writes them.
    fn base_status(&self) -> QueryStatus {
        let s = &self.session;
        QueryStatus {
            flags2: Some(s.flags2),
            sql_mode: Some(s.sql_mode),
            catalog: Some("std".to_owned()),
            charset: Some((s.charset_client, s.collation_connection, s.collation_server)),
            time_zone: s.time_zone.clone(),
            table_map_for_update: None,
            updated_db_names: None,
            ddl_xid: None,
            default_collation_for_utf8mb4: Some(s.default_collation_for_utf8mb4),
            sql_require_primary_key: None,
        }
    }

    /// A QUERY body (mysql_common's serializer, status variables laid out
    /// here as `Query_log_event::write` orders them).
    fn query(&self, schema: &str, sql: &[u8], status: QueryStatus) -> (Vec<u8>, QueryEntry) {
        let vars = status_vars(&status);
        let ev = QueryEvent::new(vars, schema.as_bytes())
            .with_thread_id(self.session.thread_id)
            .with_execution_time(0)
            .with_error_code(0)
            .with_query(sql);
        let mut body = Vec::new();
        ev.serialize(&mut body);
        (
            body,
            QueryEntry {
                thread_id: self.session.thread_id,
                schema: schema.to_owned(),
                query: sql.to_vec(),
                status,
            },
        )
    }

    /// Writes a GTID and the events after it (inside a TRANSACTION_PAYLOAD
    /// when `payload` says so), with the transaction length and logical
    /// clock MySQL gives them.
    fn write_transaction(
        &mut self,
        gtid: Gtid,
        gtid_flags: u8,
        events: Vec<Framed>,
        payload: Option<PayloadOptions>,
        clock: Clock,
    ) -> Committed {
        let start = self.position();
        self.sequence_number += 1;
        let (last_committed, sequence_number) = clock
            .logical
            .unwrap_or((self.sequence_number - 1, self.sequence_number));
        let commit_ts = u64::from(self.timestamp) * 1_000_000 + 123_456;
        let (original_ts, original_version) = clock
            .original
            .unwrap_or((commit_ts, self.version.version_id()));
        let crc = if self.options.checksum { 4 } else { 0 };

        // The events after the GTID, as they will lie in the file.
        let (rest, rest_entries): (Vec<Placed>, Vec<Entry>) = match &payload {
            None => (
                events
                    .iter()
                    .map(|e| (e.code, e.flags, e.body.clone()))
                    .collect(),
                events.into_iter().map(|e| e.entry).collect(),
            ),
            Some(p) => {
                // Inside a payload events carry no checksum and end_log_pos 0.
                let mut inner = Vec::new();
                for e in &events {
                    inner.extend(frame(
                        e.code,
                        e.flags,
                        &e.body,
                        self.timestamp,
                        self.options.server_id,
                        0,
                        false,
                    ));
                }
                let (algorithm, data, compression_type) = match p.compression {
                    PayloadCompression::Zstd => (
                        TransactionPayloadCompressionType::ZSTD,
                        zstd::encode_all(&inner[..], p.level)
                            .expect("mysql_binlog: zstd compresses an in-memory buffer"),
                        0,
                    ),
                    PayloadCompression::None => {
                        (TransactionPayloadCompressionType::NONE, inner.clone(), 255)
                    }
                };
                let declared = p.declared_uncompressed_size.unwrap_or(inner.len() as u64);
                let ev = TransactionPayloadEvent::new(data.len() as u64, algorithm, declared, data);
                let mut body = Vec::new();
                ev.serialize(&mut body);
                let entry = Entry::Payload(PayloadEntry {
                    compression_type,
                    uncompressed_size: if compression_type == 255 { 0 } else { declared },
                    events: events.into_iter().map(|e| e.entry).collect(),
                });
                (
                    vec![(EventType::TRANSACTION_PAYLOAD_EVENT as u8, 0, body)],
                    vec![entry],
                )
            }
        };
        let rest_len: u64 = rest
            .iter()
            .map(|(_, _, b)| (HEADER_LEN + b.len() + crc) as u64)
            .sum();

        // The GTID event's size depends on the transaction length it
        // carries (a length-encoded integer): iterate to the fixed point.
        let build = |tx_len: u64| -> (u8, Vec<u8>) {
            let g = match &gtid {
                Gtid::Anonymous => GtidEvent::new([0; 16], 0),
                Gtid::Uuid { sid, gno } => GtidEvent::new(*sid, *gno),
                Gtid::Tagged { sid, tag, gno } => GtidEvent::new_tagged(
                    *sid,
                    Tag::new(tag.clone())
                        .expect("mysql_binlog: the tag was checked when the transaction began"),
                    *gno,
                ),
            };
            let g = g
                .with_flags(GtidFlags::from_bits_truncate(gtid_flags))
                .with_lc_typecode()
                .with_last_committed(last_committed)
                .with_sequence_number(sequence_number)
                .with_immediate_commit_timestamp(commit_ts)
                .with_original_commit_timestamp(original_ts)
                .with_tx_length(tx_len)
                .with_immediate_server_version(self.version.version_id())
                .with_original_server_version(original_version);
            let code = match gtid {
                Gtid::Anonymous => EventType::ANONYMOUS_GTID_EVENT as u8,
                _ => g.event_type() as u8,
            };
            let mut body = Vec::new();
            g.serialize(&mut body);
            (code, body)
        };
        let mut tx_len = rest_len + (HEADER_LEN + crc) as u64;
        let (code, body) = loop {
            let (code, body) = build(tx_len);
            let total = rest_len + (HEADER_LEN + body.len() + crc) as u64;
            if total == tx_len {
                break (code, body);
            }
            tx_len = total;
        };
        self.push(code, 0, &body);
        self.entries.push(Entry::Gtid(GtidEntry {
            gtid: gtid.clone(),
            flags: gtid_flags,
            last_committed,
            sequence_number,
            immediate_commit_timestamp: commit_ts,
            original_commit_timestamp: original_ts,
            transaction_length: tx_len,
            immediate_server_version: self.version.version_id(),
            original_server_version: original_version,
        }));
        for (code, flags, body) in rest {
            self.push(code, flags, &body);
        }
        self.entries.extend(rest_entries);
        self.executed.add(&gtid);
        self.timestamp += 1;
        Committed {
            start,
            end: self.position(),
        }
    }
}

/// An event ready to place: type, header flags, body.
type Placed = (u8, u16, Vec<u8>);

/// The GTID's clock overrides of a transaction: the logical clock
/// (last_committed, sequence_number) and the original commit (timestamp,
/// server version).
#[derive(Clone, Copy, Debug, Default)]
struct Clock {
    logical: Option<(u64, u64)>,
    original: Option<(u64, u32)>,
}

/// A statement of a transaction (kept until commit).
#[derive(Clone, Debug)]
enum Statement {
    TableMap(Box<TableDef>),
    RowsQuery(Vec<u8>),
    Rows {
        table: Box<TableDef>,
        kind: RowsKind,
        rows: Vec<RowPair>,
        image: RowImage,
        flags: u16,
    },
}

/// A transaction being built: `BEGIN`, table maps and rows events, `XID`.
/// Dropped without a commit, it writes nothing (a rollback).
#[derive(Debug)]
pub struct Transaction<'f> {
    file: &'f mut BinlogFile,
    gtid: Gtid,
    image: RowImage,
    rows_flags: u16,
    statements: Vec<Statement>,
    clock: Clock,
}

impl Transaction<'_> {
    /// Uses `image` for the statements that follow (FULL until set).
    pub fn row_image(&mut self, image: RowImage) -> &mut Self {
        self.image = image;
        self
    }

    /// Adds `flags` (NO_FOREIGN_KEY_CHECKS_F = 2, RELAXED_UNIQUE_CHECKS_F =
    /// 4, COMPLETE_ROWS_F = 8) to the rows events that follow.
    pub fn rows_flags(&mut self, flags: u16) -> &mut Self {
        self.rows_flags = flags;
        self
    }

    /// Sets the GTID event's logical clock (last_committed,
    /// sequence_number) instead of the serial default.
    pub fn logical_clock(&mut self, last_committed: u64, sequence_number: u64) -> &mut Self {
        self.clock.logical = Some((last_committed, sequence_number));
        self
    }

    /// Marks the transaction as replicated from a server of another version
    /// and commit time (the GTID's original_* fields).
    pub fn originally(&mut self, commit_timestamp: u64, server_version: u32) -> &mut Self {
        self.clock.original = Some((commit_timestamp, server_version));
        self
    }

    /// A TABLE_MAP on its own (statements write theirs: MySQL maps every
    /// table each statement locks, rows or not).
    pub fn table_map(&mut self, table: &TableDef) -> &mut Self {
        self.statements
            .push(Statement::TableMap(Box::new(table.clone())));
        self
    }

    /// A ROWS_QUERY event (`binlog_rows_query_log_events=ON`) with the
    /// statement's text.
    pub fn rows_query(&mut self, sql: &str) -> &mut Self {
        self.statements
            .push(Statement::RowsQuery(sql.as_bytes().to_vec()));
        self
    }

    /// An INSERT of `rows` (one value per column, in table order).
    ///
    /// # Panics
    ///
    /// When a row does not match the table (a message names the table, row
    /// and column).
    pub fn insert(
        &mut self,
        table: &TableDef,
        rows: impl IntoIterator<Item = Vec<Value>>,
    ) -> &mut Self {
        let rows = rows.into_iter().map(|r| (None, Some(r))).collect();
        self.rows(table, RowsKind::Write, rows)
    }

    /// An UPDATE of (before, after) row pairs.
    ///
    /// # Panics
    ///
    /// When a row does not match the table.
    pub fn update(
        &mut self,
        table: &TableDef,
        rows: impl IntoIterator<Item = (Vec<Value>, Vec<Value>)>,
    ) -> &mut Self {
        let rows = rows.into_iter().map(|(b, a)| (Some(b), Some(a))).collect();
        self.rows(table, RowsKind::Update, rows)
    }

    /// A DELETE of `rows`.
    ///
    /// # Panics
    ///
    /// When a row does not match the table.
    pub fn delete(
        &mut self,
        table: &TableDef,
        rows: impl IntoIterator<Item = Vec<Value>>,
    ) -> &mut Self {
        let rows = rows.into_iter().map(|r| (Some(r), None)).collect();
        self.rows(table, RowsKind::Delete, rows)
    }

    /// An UPDATE written as PARTIAL_UPDATE_ROWS
    /// (`binlog_row_value_options=PARTIAL_JSON`): in each after image a
    /// JSON column given as [`Value::JsonDiffs`] is logged as diffs with its
    /// partial bit set; other values are logged in full.
    ///
    /// # Panics
    ///
    /// When a row does not match the table.
    pub fn partial_json_update(
        &mut self,
        table: &TableDef,
        rows: impl IntoIterator<Item = (Vec<Value>, Vec<Value>)>,
    ) -> &mut Self {
        let rows = rows.into_iter().map(|(b, a)| (Some(b), Some(a))).collect();
        self.rows(table, RowsKind::PartialUpdate, rows)
    }

    fn rows(&mut self, table: &TableDef, kind: RowsKind, rows: Vec<RowPair>) -> &mut Self {
        let n = table.columns.len();
        for (i, (b, a)) in rows.iter().enumerate() {
            for img in [b, a].into_iter().flatten() {
                assert_eq!(
                    img.len(),
                    n,
                    "mysql_binlog: row {i} of {}.{} has {} values for {n} columns",
                    table.schema,
                    table.name,
                    img.len()
                );
            }
        }
        self.statements.push(Statement::Rows {
            table: Box::new(table.clone()),
            kind,
            rows,
            image: self.image.clone(),
            flags: self.rows_flags,
        });
        self
    }

    /// Writes the transaction: GTID, `BEGIN`, its statements, `XID`.
    pub fn commit(self) -> Committed {
        self.finish(None)
    }

    /// Writes the transaction with `BEGIN` to `XID` inside one zstd
    /// TRANSACTION_PAYLOAD (`binlog_transaction_compression=ON`).
    pub fn commit_compressed(self) -> Committed {
        self.finish(Some(PayloadOptions::default()))
    }

    /// Writes the transaction inside a TRANSACTION_PAYLOAD made as `options`
    /// say.
    pub fn commit_compressed_with(self, options: PayloadOptions) -> Committed {
        self.finish(Some(options))
    }

    fn finish(self, payload: Option<PayloadOptions>) -> Committed {
        let Transaction {
            file,
            gtid,
            statements,
            clock,
            ..
        } = self;
        let schema = file.session.database.clone().unwrap_or_else(|| {
            statements
                .iter()
                .find_map(|s| match s {
                    Statement::TableMap(t) | Statement::Rows { table: t, .. } => {
                        Some(t.schema.clone())
                    }
                    Statement::RowsQuery(_) => None,
                })
                .unwrap_or_default()
        });
        let status = file.base_status();
        let (body, entry) = file.query(&schema, b"BEGIN", status);
        let mut events = vec![Framed {
            code: EventType::QUERY_EVENT as u8,
            flags: SUPPRESS_USE_F,
            body,
            entry: Entry::Query(entry),
        }];
        let max = file.options.row_event_max_size.max(1);
        for s in statements {
            match s {
                Statement::TableMap(t) => events.push(table_map_event(&t)),
                Statement::RowsQuery(q) => {
                    // `Rows_query_log_event::write_data_body`: a length byte
                    // (readers ignore it and read to the end), the text.
                    let mut body = vec![q.len().min(255) as u8];
                    body.extend_from_slice(&q);
                    events.push(Framed {
                        code: EventType::ROWS_QUERY_EVENT as u8,
                        flags: 0,
                        body: body.clone(),
                        entry: Entry::Other {
                            type_code: EventType::ROWS_QUERY_EVENT as u8,
                            body,
                        },
                    });
                }
                Statement::Rows {
                    table,
                    kind,
                    rows,
                    image,
                    flags,
                } => {
                    events.push(table_map_event(&table));
                    events.extend(rows_events(&table, kind, &rows, &image, flags, max));
                }
            }
        }
        let xid = file.take_xid();
        let mut body = Vec::new();
        XidEvent { xid }.serialize(&mut body);
        events.push(Framed {
            code: EventType::XID_EVENT as u8,
            flags: 0,
            body,
            entry: Entry::Xid(xid),
        });
        file.write_transaction(gtid, 0, events, payload, clock)
    }
}

/// The 19-byte common header (mysql_common's serializer for the types it
/// knows).
fn header(
    code: u8,
    timestamp: u32,
    server_id: u32,
    size: u32,
    log_pos: u32,
    flags: u16,
) -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER_LEN);
    match EventType::try_from(code) {
        Ok(t) => BinlogEventHeader::new(
            timestamp,
            t,
            server_id,
            size,
            log_pos,
            EventFlags::from_bits_truncate(flags),
        )
        .serialize(&mut v),
        Err(_) => {
            v.extend_from_slice(&timestamp.to_le_bytes());
            v.push(code);
            v.extend_from_slice(&server_id.to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&log_pos.to_le_bytes());
            v.extend_from_slice(&flags.to_le_bytes());
        }
    }
    v
}

/// A whole event: header, body and, with `checksum`, the CRC32 of both.
fn frame(
    code: u8,
    flags: u16,
    body: &[u8],
    timestamp: u32,
    server_id: u32,
    log_pos: u32,
    checksum: bool,
) -> Vec<u8> {
    let size = HEADER_LEN + body.len() + if checksum { 4 } else { 0 };
    let size = u32::try_from(size).expect("mysql_binlog: an event over 4 GiB cannot be framed");
    let mut ev = header(code, timestamp, server_id, size, log_pos, flags);
    ev.extend_from_slice(body);
    if checksum {
        let crc = crc32fast::hash(&ev);
        ev.extend_from_slice(&crc.to_le_bytes());
    }
    ev
}

/// The header's `log_pos`: the end offset's low 32 bits (files can pass
/// 4 GiB; the server keeps the low bits).
fn log_pos(end: u64) -> u32 {
    (end & 0xffff_ffff) as u32
}

/// The status variables of a QUERY in `Query_log_event::write` order:
/// flags2 (0), sql_mode (1), catalog (6), charset (4), time zone (5),
/// table map for update (9), updated db names (12), DDL xid (17),
/// default utf8mb4 collation (18), sql_require_primary_key (19).
fn status_vars(s: &QueryStatus) -> Vec<u8> {
    let mut v = Vec::new();
    if let Some(f) = s.flags2 {
        v.push(0);
        v.extend_from_slice(&f.to_le_bytes());
    }
    if let Some(m) = s.sql_mode {
        v.push(1);
        v.extend_from_slice(&m.to_le_bytes());
    }
    if let Some(c) = &s.catalog {
        v.push(6);
        v.push(c.len() as u8);
        v.extend_from_slice(c.as_bytes());
    }
    if let Some((a, b, c)) = s.charset {
        v.push(4);
        v.extend_from_slice(&a.to_le_bytes());
        v.extend_from_slice(&b.to_le_bytes());
        v.extend_from_slice(&c.to_le_bytes());
    }
    if let Some(tz) = &s.time_zone {
        v.push(5);
        v.push(tz.len() as u8);
        v.extend_from_slice(tz.as_bytes());
    }
    if let Some(t) = s.table_map_for_update {
        v.push(9);
        v.extend_from_slice(&t.to_le_bytes());
    }
    if let Some(dbs) = &s.updated_db_names {
        v.push(12);
        v.push(dbs.len() as u8);
        for db in dbs {
            v.extend_from_slice(db.as_bytes());
            v.push(0);
        }
    }
    if let Some(x) = s.ddl_xid {
        v.push(17);
        v.extend_from_slice(&x.to_le_bytes());
    }
    if let Some(c) = s.default_collation_for_utf8mb4 {
        v.push(18);
        v.extend_from_slice(&c.to_le_bytes());
    }
    if let Some(r) = s.sql_require_primary_key {
        v.push(19);
        v.push(r);
    }
    v
}

/// A sequence of binlog files with rotations between them, named
/// `base.000001`, `base.000002`, ... (six digits at least, as MySQL names
/// them: `binlog.999999` is followed by `binlog.1000000`).
#[derive(Clone, Debug)]
pub struct BinlogSet {
    version: MySqlVersion,
    options: FileOptions,
    base: String,
    first_index: u64,
    files: Vec<BinlogFile>,
}

impl BinlogSet {
    /// A set whose first file is `base.<first_index>`.
    pub fn new(version: MySqlVersion, base: &str, first_index: u64) -> Self {
        BinlogSet::with_options(version, base, first_index, FileOptions::default())
    }

    /// A set whose files use `options` (their PREVIOUS_GTIDS are computed).
    pub fn with_options(
        version: MySqlVersion,
        base: &str,
        first_index: u64,
        options: FileOptions,
    ) -> Self {
        BinlogSet {
            version,
            files: vec![BinlogFile::with_options(version, options.clone())],
            options,
            base: base.to_owned(),
            first_index,
        }
    }

    /// The name of the file with `index`.
    pub fn file_name(&self, index: u64) -> String {
        format!("{}.{index:06}", self.base)
    }

    /// The file being written.
    pub fn current(&mut self) -> &mut BinlogFile {
        self.files
            .last_mut()
            .expect("mysql_binlog: a set always has a file")
    }

    /// The name of the file being written.
    pub fn current_name(&self) -> String {
        self.file_name(self.first_index + self.files.len() as u64 - 1)
    }

    /// Ends the current file with a ROTATE and starts the next, whose
    /// PREVIOUS_GTIDS holds every GTID written so far; returns it.
    pub fn rotate(&mut self) -> &mut BinlogFile {
        let next = self.file_name(self.first_index + self.files.len() as u64);
        let mut previous = self.current().previous_gtids().clone();
        previous.extend(self.current().executed_gtids());
        self.current().rotate(&next);
        let mut options = self.options.clone();
        options.previous_gtids = previous;
        options.timestamp = self.current().timestamp;
        options.first_xid = self.current().next_xid;
        self.files
            .push(BinlogFile::with_options(self.version, options));
        self.current()
    }

    /// The files with their names, in order.
    pub fn files(&self) -> Vec<(String, &BinlogFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (self.file_name(self.first_index + i as u64), f))
            .collect()
    }

    /// Writes every file into `dir`, and an index file `base.index` listing
    /// them as the server does (`./binlog.000001`); returns the files'
    /// paths in order.
    ///
    /// # Errors
    ///
    /// The first I/O error.
    pub fn write_to(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut paths = Vec::new();
        let mut index = String::new();
        for (name, f) in self.files() {
            let p = dir.join(&name);
            f.write_to(&p)?;
            index.push_str(&format!("./{name}\n"));
            paths.push(p);
        }
        std::fs::write(dir.join(format!("{}.index", self.base)), index)?;
        Ok(paths)
    }
}
