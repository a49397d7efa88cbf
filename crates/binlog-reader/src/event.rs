//! Binlog events: the header and every body this crate decodes.
//!
//! Layouts follow MySQL's `libbinlogevents` (`binlog_event.h`,
//! `control_events.h`, `statement_events.h`, `rows_event.h`) and MariaDB's
//! `sql/log_event.h` / `sql/log_event.cc`. Names keep the servers' spelling so
//! readers can grep their sources.

use std::sync::Arc;

use serde::Serialize;

use crate::cursor::Cursor;
use crate::error::{DecodeError, Result};
use crate::types::{ColumnInfo, ColumnType, EventType, Value};

/// The size of the v4 common header.
pub const HEADER_LEN: usize = 19;

/// `LOG_EVENT_BINLOG_IN_USE_F`: set in the FORMAT_DESCRIPTION of a file
/// that is still open (or was not closed cleanly).
pub const LOG_EVENT_BINLOG_IN_USE_F: u16 = 0x1;

/// `LOG_EVENT_ARTIFICIAL_F`: the event was made up by the server for the
/// stream (fake ROTATE, resent FORMAT_DESCRIPTION) and is not in the file.
pub const LOG_EVENT_ARTIFICIAL_F: u16 = 0x20;

/// The common header of every v4 event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventHeader {
    /// Seconds since the epoch when the statement started.
    pub timestamp: u32,
    /// The event type.
    pub event_type: EventType,
    /// The id of the server that wrote it first.
    pub server_id: u32,
    /// The event's length, header and checksum included.
    pub event_length: u32,
    /// The end position the server wrote (`end_log_pos`); 0 in some cases
    /// (MariaDB 11.4+ inside transactions, artificial events). Never trusted
    /// alone: the decoder keeps its own running offset.
    pub log_pos: u32,
    /// Header flags (`LOG_EVENT_*_F`).
    pub flags: u16,
}

impl EventHeader {
    /// Reads a header. The caller has checked that 19 bytes are present.
    pub(crate) fn read(c: &mut Cursor<'_>) -> Result<Self> {
        Ok(EventHeader {
            timestamp: c.u32_le("event timestamp")?,
            event_type: EventType(c.u8("event type")?),
            server_id: c.u32_le("server id")?,
            event_length: c.u32_le("event length")?,
            log_pos: c.u32_le("end_log_pos")?,
            flags: c.u16_le("event flags")?,
        })
    }

    /// True for an event the server made up for the stream.
    pub fn is_artificial(&self) -> bool {
        self.flags & LOG_EVENT_ARTIFICIAL_F != 0
    }
}

/// A decoded event with where it was found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// The binlog file the event belongs to, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Arc<str>>,
    /// The offset of the event's first byte in its file (for events inside a
    /// TRANSACTION_PAYLOAD, the payload event's offset).
    pub pos: u64,
    /// The offset just past the event (`pos + event_length`), from the
    /// decoder's running offset; equal to `pos` for artificial events that
    /// are not in the file.
    pub end_pos: u64,
    /// The common header.
    pub header: EventHeader,
    /// The body.
    pub body: EventBody,
}

impl Event {
    /// What the event is to a consumer that applies changes: see
    /// [`EventClass`].
    pub fn class(&self) -> EventClass<'_> {
        match &self.body {
            EventBody::FormatDescription(e) => EventClass::FormatDescription(e),
            EventBody::Rotate(e) => EventClass::Rotate(e),
            EventBody::Query(e) => EventClass::Query(e),
            EventBody::Xid(e) => EventClass::Xid(e),
            EventBody::TableMap(e) => EventClass::TableMap(e),
            EventBody::Rows(e) => EventClass::Rows(e),
            EventBody::RowsQuery(e) => EventClass::RowsQuery(e),
            EventBody::Gtid(e) => EventClass::Gtid(e),
            EventBody::PreviousGtids(e) => EventClass::PreviousGtids(e),
            EventBody::TransactionPayload(e) => EventClass::TransactionPayload(e),
            EventBody::XaPrepare(e) => EventClass::XaPrepare(e),
            EventBody::Heartbeat(e) => EventClass::Heartbeat(e),
            EventBody::IntVar(e) => EventClass::IntVar(e),
            EventBody::Rand(e) => EventClass::Rand(e),
            EventBody::UserVar(e) => EventClass::UserVar(e),
            EventBody::Incident(e) => EventClass::Incident(e),
            EventBody::Stop => EventClass::Stop,
            EventBody::MariadbGtid(e) => EventClass::MariadbGtid(e),
            EventBody::MariadbGtidList(e) => EventClass::MariadbGtidList(e),
            EventBody::MariadbBinlogCheckpoint(e) => EventClass::MariadbBinlogCheckpoint(e),
            EventBody::MariadbStartEncryption {
                scheme,
                key_version,
            } => EventClass::MariadbStartEncryption {
                scheme: *scheme,
                key_version: *key_version,
            },
            EventBody::Other { .. } => {
                let t = self.header.event_type;
                if NO_ROW_CHANGE_TYPES.contains(&t) {
                    EventClass::NoRowChange(t)
                } else {
                    EventClass::Uninterpreted(t)
                }
            }
        }
    }
}

/// The event types kept as [`EventBody::Other`] that change no row by
/// their definition: IGNORABLE (an event a replica may skip), VIEW_CHANGE
/// (a Group Replication membership change, logged in its own transaction)
/// and TRANSACTION_CONTEXT (Group Replication certification data).
pub const NO_ROW_CHANGE_TYPES: [EventType; 3] = [
    EventType::IGNORABLE,
    EventType::VIEW_CHANGE,
    EventType::TRANSACTION_CONTEXT,
];

/// What an event is to a consumer that applies changes: one variant per
/// kind of [`EventBody`], and [`EventBody::Other`] split by whether its type
/// can change rows.
///
/// Unlike [`EventBody`], this enum is not `#[non_exhaustive]`: a consumer
/// that matches it without a wildcard arm stops compiling when a kind of
/// event is added here (and [`Event::class`] matches every body inside this
/// crate, so a new body cannot be added without a class). That is how the
/// apply and the stream reader prove they drop no event silently.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EventClass<'a> {
    /// FORMAT_DESCRIPTION (or START_EVENT_V3).
    FormatDescription(&'a FormatDescriptionEvent),
    /// ROTATE.
    Rotate(&'a RotateEvent),
    /// QUERY and QUERY_COMPRESSED.
    Query(&'a QueryEvent),
    /// XID.
    Xid(&'a XidEvent),
    /// TABLE_MAP.
    TableMap(&'a Arc<TableMapEvent>),
    /// Every rows event.
    Rows(&'a RowsEvent),
    /// ROWS_QUERY and ANNOTATE_ROWS.
    RowsQuery(&'a RowsQueryEvent),
    /// GTID, ANONYMOUS_GTID and GTID_TAGGED.
    Gtid(&'a GtidEvent),
    /// PREVIOUS_GTIDS.
    PreviousGtids(&'a PreviousGtidsEvent),
    /// TRANSACTION_PAYLOAD.
    TransactionPayload(&'a TransactionPayloadEvent),
    /// XA_PREPARE.
    XaPrepare(&'a XaPrepareEvent),
    /// HEARTBEAT and HEARTBEAT_V2.
    Heartbeat(&'a HeartbeatEvent),
    /// INTVAR.
    IntVar(&'a IntVarEvent),
    /// RAND.
    Rand(&'a RandEvent),
    /// USER_VAR.
    UserVar(&'a UserVarEvent),
    /// INCIDENT.
    Incident(&'a IncidentEvent),
    /// STOP.
    Stop,
    /// MariaDB GTID.
    MariadbGtid(&'a MariadbGtidEvent),
    /// MariaDB GTID_LIST.
    MariadbGtidList(&'a MariadbGtidListEvent),
    /// MariaDB BINLOG_CHECKPOINT.
    MariadbBinlogCheckpoint(&'a BinlogCheckpointEvent),
    /// MariaDB START_ENCRYPTION.
    MariadbStartEncryption {
        /// The encryption scheme.
        scheme: u8,
        /// The key version.
        key_version: u32,
    },
    /// An uninterpreted event of one of [`NO_ROW_CHANGE_TYPES`].
    NoRowChange(EventType),
    /// Any other uninterpreted event (the old LOAD DATA family, SLAVE,
    /// pre-GA rows events): it may change rows, so a consumer applying
    /// changes must stop.
    Uninterpreted(EventType),
}

/// The body of an event.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventBody {
    /// FORMAT_DESCRIPTION (or START_EVENT_V3 of old binlogs).
    FormatDescription(FormatDescriptionEvent),
    /// ROTATE: the next file and position.
    Rotate(RotateEvent),
    /// QUERY and MariaDB's QUERY_COMPRESSED.
    Query(QueryEvent),
    /// XID: a transaction commit.
    Xid(XidEvent),
    /// TABLE_MAP.
    TableMap(Arc<TableMapEvent>),
    /// WRITE/UPDATE/DELETE_ROWS v1 and v2, PARTIAL_UPDATE_ROWS, and MariaDB's
    /// compressed row events.
    Rows(RowsEvent),
    /// ROWS_QUERY (MySQL) and ANNOTATE_ROWS (MariaDB): the statement text.
    RowsQuery(RowsQueryEvent),
    /// GTID, ANONYMOUS_GTID and GTID_TAGGED (MySQL).
    Gtid(GtidEvent),
    /// PREVIOUS_GTIDS (MySQL).
    PreviousGtids(PreviousGtidsEvent),
    /// TRANSACTION_PAYLOAD (MySQL 8.0.20+): a compressed transaction.
    TransactionPayload(TransactionPayloadEvent),
    /// XA_PREPARE (MySQL).
    XaPrepare(XaPrepareEvent),
    /// HEARTBEAT and HEARTBEAT_V2 (stream only).
    Heartbeat(HeartbeatEvent),
    /// INTVAR (LAST_INSERT_ID / INSERT_ID for statement-based events).
    IntVar(IntVarEvent),
    /// RAND (the seeds for RAND() in statement-based events).
    Rand(RandEvent),
    /// USER_VAR (a user variable used by a statement-based event).
    UserVar(UserVarEvent),
    /// INCIDENT: something happened on the source that may have lost
    /// changes (for example a LOST_EVENTS incident).
    Incident(IncidentEvent),
    /// STOP: the server stopped; nothing follows in this file.
    Stop,
    /// MariaDB GTID (domain-server-sequence), which starts a transaction.
    MariadbGtid(MariadbGtidEvent),
    /// MariaDB GTID_LIST: the binlog state at the start of a file.
    MariadbGtidList(MariadbGtidListEvent),
    /// MariaDB BINLOG_CHECKPOINT.
    MariadbBinlogCheckpoint(BinlogCheckpointEvent),
    /// MariaDB START_ENCRYPTION: the rest of the file is encrypted (the
    /// decoder refuses the events after it with [`DecodeError::Encrypted`]).
    MariadbStartEncryption {
        /// The encryption scheme.
        scheme: u8,
        /// The key version.
        key_version: u32,
    },
    /// A known event type this crate does not interpret (the old LOAD DATA
    /// family, SLAVE, IGNORABLE, TRANSACTION_CONTEXT, VIEW_CHANGE, pre-GA
    /// rows): its type says what it is, and a consumer that needs it must
    /// stop.
    Other {
        /// The body's bytes (checksum excluded), at most 4 KiB of them.
        #[serde(with = "hex_bytes")]
        body: Vec<u8>,
    },
}

pub(crate) mod hex_bytes {
    //! Serializes bytes as a hex string.
    use serde::Serializer;

    pub(crate) fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::types::hex(b))
    }
}

/// The checksum algorithm of a binlog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumAlg {
    /// No checksums.
    Off,
    /// A CRC32 in the last 4 bytes of every event.
    Crc32,
    /// Not known yet (before the FORMAT_DESCRIPTION), or a server too old to
    /// say (no checksums).
    Undefined,
}

/// FORMAT_DESCRIPTION: how to read the events that follow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FormatDescriptionEvent {
    /// The binlog format version (4 for MySQL 5.0+; 3 or 1 in old binlogs).
    pub binlog_version: u16,
    /// The server's version string (`10.11.19-MariaDB-log`).
    pub server_version: String,
    /// When the binlog was created (0 after the first file).
    pub create_timestamp: u32,
    /// The common header length (19).
    pub header_length: u8,
    /// Post-header lengths indexed by event type - 1.
    pub post_header_lengths: Vec<u8>,
    /// The checksum algorithm of the following events.
    pub checksum_alg: ChecksumAlg,
    /// The server version as (major, minor, patch).
    pub version_split: (u32, u32, u32),
    /// True for a MariaDB server.
    pub mariadb: bool,
}

impl FormatDescriptionEvent {
    /// The post-header length of `t`, or `default` when the FDE does not say.
    pub fn post_header_len(&self, t: EventType, default: usize) -> usize {
        usize::from(t.0)
            .checked_sub(1)
            .and_then(|i| self.post_header_lengths.get(i))
            .map(|v| usize::from(*v))
            .unwrap_or(default)
    }

    /// The implied description of a binlog of format 3 (MySQL 4.x), which
    /// starts with START_EVENT_V3 and has no FORMAT_DESCRIPTION.
    pub(crate) fn v3(server_version: String, create_timestamp: u32, binlog_version: u16) -> Self {
        // From MySQL 5.0's Format_description_log_event for binlog_ver 3:
        // START_V3 56, QUERY 11, STOP 0, ROTATE 8, INTVAR 0, LOAD 18, SLAVE 0,
        // CREATE_FILE 4, APPEND_BLOCK 4, EXEC_LOAD 4, DELETE_FILE 4,
        // NEW_LOAD 18, RAND 0, USER_VAR 0.
        let post = vec![56, 11, 0, 8, 0, 18, 0, 4, 4, 4, 4, 18, 0, 0];
        let version_split = split_version(&server_version);
        FormatDescriptionEvent {
            binlog_version,
            mariadb: server_version.contains("MariaDB"),
            server_version,
            create_timestamp,
            header_length: HEADER_LEN as u8,
            post_header_lengths: post,
            checksum_alg: ChecksumAlg::Undefined,
            version_split,
        }
    }
}

/// Parses `8.0.36-log` or `10.11.19-MariaDB-log` to (major, minor, patch).
pub(crate) fn split_version(v: &str) -> (u32, u32, u32) {
    let mut parts = [0u32; 3];
    let mut idx = 0;
    let mut any = false;
    for ch in v.chars() {
        if let Some(d) = ch.to_digit(10) {
            if let Some(p) = parts.get_mut(idx) {
                *p = p.saturating_mul(10).saturating_add(d);
            }
            any = true;
        } else if ch == '.' && any {
            idx += 1;
            any = false;
            if idx > 2 {
                break;
            }
        } else {
            break;
        }
    }
    (parts[0], parts[1], parts[2])
}

/// Whether a server of this version writes the checksum-algorithm byte in
/// its FORMAT_DESCRIPTION (MySQL 5.6.1+, MariaDB 5.3+).
pub(crate) fn version_has_checksum(split: (u32, u32, u32), mariadb: bool) -> bool {
    if mariadb {
        split >= (5, 3, 0)
    } else {
        split >= (5, 6, 1)
    }
}

/// ROTATE: events continue in `next_file` at `position`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RotateEvent {
    /// The position in the next file (4 for a new file).
    pub position: u64,
    /// The next file's name.
    pub next_file: String,
    /// True for a fake ROTATE the server sends at the start of a stream (it
    /// names the current file and is not in it).
    pub fake: bool,
}

/// QUERY (and MariaDB QUERY_COMPRESSED): a statement, with its session
/// context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueryEvent {
    /// The session's thread id.
    pub thread_id: u32,
    /// Seconds the statement took.
    pub exec_time: u32,
    /// The statement's error code on the source (usually 0).
    pub error_code: u16,
    /// The default database (`USE`), possibly empty.
    pub schema: String,
    /// The statement text, as bytes in the session's character set.
    #[serde(serialize_with = "ser_lossy")]
    pub query: Vec<u8>,
    /// The status variables.
    pub status: QueryStatusVars,
}

fn ser_display<T: std::fmt::Display, S: serde::Serializer>(
    v: &T,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn ser_table_name<S: serde::Serializer>(
    t: &Arc<TableMapEvent>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{}.{}", t.schema, t.table))
}

fn ser_lossy<S: serde::Serializer>(b: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

impl QueryEvent {
    /// The statement text, lossily as UTF-8 (for display).
    pub fn query_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.query)
    }
}

/// The status variables of a QUERY event (`Q_*` codes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueryStatusVars {
    /// `Q_FLAGS2_CODE`: OPTION_* bits (autocommit off, FK checks off, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags2: Option<u32>,
    /// `Q_SQL_MODE_CODE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql_mode: Option<u64>,
    /// `Q_CATALOG_NZ_CODE` / `Q_CATALOG_CODE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
    /// `Q_AUTO_INCREMENT`: (increment, offset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_increment: Option<(u16, u16)>,
    /// `Q_CHARSET_CODE`: (character_set_client, collation_connection,
    /// collation_server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charset: Option<(u16, u16, u16)>,
    /// `Q_TIME_ZONE_CODE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// `Q_LC_TIME_NAMES_CODE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lc_time_names: Option<u16>,
    /// `Q_CHARSET_DATABASE_CODE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charset_database: Option<u16>,
    /// `Q_TABLE_MAP_FOR_UPDATE_CODE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_map_for_update: Option<u64>,
    /// `Q_MASTER_DATA_WRITTEN_CODE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_data_written: Option<u32>,
    /// `Q_INVOKER`: (user, host).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoker: Option<(String, String)>,
    /// `Q_UPDATED_DB_NAMES`; `None` when absent, an empty list when the
    /// statement touched more databases than the server lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_db_names: Option<Vec<String>>,
    /// `Q_MICROSECONDS` (and MariaDB's `Q_HRNOW`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub microseconds: Option<u32>,
    /// `Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explicit_defaults_for_timestamp: Option<bool>,
    /// `Q_DDL_LOGGED_WITH_XID`: the XID of an atomic DDL (MySQL 8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ddl_xid: Option<u64>,
    /// `Q_DEFAULT_COLLATION_FOR_UTF8MB4`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_collation_for_utf8mb4: Option<u16>,
    /// `Q_SQL_REQUIRE_PRIMARY_KEY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql_require_primary_key: Option<u8>,
    /// `Q_DEFAULT_TABLE_ENCRYPTION`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_table_encryption: Option<u8>,
    /// MariaDB `Q_XID`: the XID of a DDL logged as a transaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mariadb_xid: Option<u64>,
    /// MariaDB `Q_GTID_FLAGS3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gtid_flags3: Option<u8>,
    /// MariaDB `Q_CHARACTER_SET_COLLATIONS` (11.2+): raw bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub character_set_collations: Option<Vec<u16>>,
    /// A status variable code this decoder does not know: the ones after it
    /// could not be read (their lengths are unknown). The statement itself
    /// is still exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_code: Option<u8>,
}

/// `OPTION_NO_FOREIGN_KEY_CHECKS` in `Q_FLAGS2_CODE`.
pub const OPTION_NO_FOREIGN_KEY_CHECKS: u32 = 1 << 26;
/// `OPTION_RELAXED_UNIQUE_CHECKS` in `Q_FLAGS2_CODE`.
pub const OPTION_RELAXED_UNIQUE_CHECKS: u32 = 1 << 27;
/// `OPTION_AUTO_IS_NULL` in `Q_FLAGS2_CODE`.
pub const OPTION_AUTO_IS_NULL: u32 = 1 << 14;
/// `OPTION_NOT_AUTOCOMMIT` in `Q_FLAGS2_CODE`.
pub const OPTION_NOT_AUTOCOMMIT: u32 = 1 << 19;

/// XID: the commit of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct XidEvent {
    /// The transaction's XID.
    pub xid: u64,
}

/// TABLE_MAP: which table later rows events write, with its column types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TableMapEvent {
    /// The table id the rows events refer to.
    pub table_id: u64,
    /// Flags.
    pub flags: u16,
    /// The database.
    pub schema: String,
    /// The table.
    pub table: String,
    /// One description per column, completed by the optional metadata and
    /// by any column description the caller supplied.
    pub columns: Vec<ColumnInfo>,
    /// True when the binlog carried optional metadata (`binlog_row_metadata`).
    pub has_optional_metadata: bool,
    /// Primary-key columns from the optional metadata: (index, prefix length;
    /// 0 = whole column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<Vec<(u32, u32)>>,
}

/// Which kind of row change a rows event carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowsKind {
    /// Inserted rows (after images).
    Write,
    /// Updated rows (before and after images).
    Update,
    /// Deleted rows (before images).
    Delete,
    /// Updated rows where JSON columns may carry diffs (MySQL
    /// `PARTIAL_UPDATE_ROWS`).
    PartialUpdate,
}

/// `STMT_END_F`: the last rows event of a statement.
pub const ROWS_STMT_END_F: u16 = 1;
/// `NO_FOREIGN_KEY_CHECKS_F`.
pub const ROWS_NO_FOREIGN_KEY_CHECKS_F: u16 = 2;
/// `RELAXED_UNIQUE_CHECKS_F`.
pub const ROWS_RELAXED_UNIQUE_CHECKS_F: u16 = 4;
/// `COMPLETE_ROWS_F`.
pub const ROWS_COMPLETE_ROWS_F: u16 = 8;

/// A rows event with its rows decoded.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RowsEvent {
    /// Write, update, delete or partial update (`"change"` in JSON, since
    /// `"kind"` names the event body).
    #[serde(rename = "change")]
    pub kind: RowsKind,
    /// 1 or 2.
    pub version: u8,
    /// True for MariaDB's compressed row events.
    pub compressed: bool,
    /// The table id (see [`RowsEvent::table`]).
    pub table_id: u64,
    /// Flags (`ROWS_*_F`).
    pub flags: u16,
    /// The v2 extra data, raw.
    #[serde(with = "hex_bytes")]
    pub extra_data: Vec<u8>,
    /// The number of columns of the table.
    pub column_count: u64,
    /// The table this event writes.
    #[serde(serialize_with = "ser_table_name")]
    pub table: Arc<TableMapEvent>,
    /// The rows.
    pub rows: Vec<RowChange>,
}

/// One row image: a value per column of the table, `None` where the column
/// is not in the image (`binlog_row_image=MINIMAL` or `NOBLOB`).
pub type RowImage = Vec<Option<Value>>;

/// One row change.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowChange {
    /// An inserted row.
    Insert {
        /// The new row.
        after: RowImage,
    },
    /// An updated row.
    Update {
        /// The row before.
        before: RowImage,
        /// The row after.
        after: RowImage,
    },
    /// A deleted row.
    Delete {
        /// The deleted row.
        before: RowImage,
    },
}

/// ROWS_QUERY (MySQL) or ANNOTATE_ROWS (MariaDB): the statement that
/// produced the following rows events, for information only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowsQueryEvent {
    /// The statement text.
    #[serde(serialize_with = "ser_lossy")]
    pub query: Vec<u8>,
}

/// MySQL GTID, ANONYMOUS_GTID or GTID_TAGGED: starts a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GtidEvent {
    /// True for ANONYMOUS_GTID (GTID mode off).
    pub anonymous: bool,
    /// Flags (1 = may have changes that cannot be rolled back).
    pub flags: u8,
    /// The source uuid.
    #[serde(serialize_with = "ser_display")]
    pub sid: crate::position::Uuid,
    /// The tag (MySQL 8.4 tagged GTIDs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The transaction number.
    pub gno: i64,
    /// Logical clock: the commit parent (for parallel apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_committed: Option<i64>,
    /// Logical clock: this transaction's sequence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<i64>,
    /// Microseconds since the epoch when this server committed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub immediate_commit_timestamp: Option<u64>,
    /// Microseconds since the epoch when the original server committed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_commit_timestamp: Option<u64>,
    /// The transaction's length in bytes, when written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_length: Option<u64>,
    /// The immediate server's version (80036 for 8.0.36).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub immediate_server_version: Option<u32>,
    /// The original server's version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_server_version: Option<u32>,
}

/// PREVIOUS_GTIDS: the GTIDs of all earlier files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PreviousGtidsEvent {
    /// The set.
    pub gtid_set: crate::position::GtidSet,
}

/// TRANSACTION_PAYLOAD: a transaction's events, compressed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TransactionPayloadEvent {
    /// The compression (0 = zstd, 255 = none).
    pub compression_type: u64,
    /// The compressed size.
    pub payload_size: u64,
    /// The uncompressed size.
    pub uncompressed_size: u64,
    /// The events inside, decoded.
    pub events: Vec<Event>,
}

/// XA_PREPARE: an XA transaction prepared (or committed in one phase).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct XaPrepareEvent {
    /// True for `XA COMMIT ... ONE PHASE`.
    pub one_phase: bool,
    /// The XID's format id.
    pub format_id: i32,
    /// The global transaction id.
    #[serde(with = "hex_bytes")]
    pub gtrid: Vec<u8>,
    /// The branch qualifier.
    #[serde(with = "hex_bytes")]
    pub bqual: Vec<u8>,
}

/// HEARTBEAT or HEARTBEAT_V2: the source is alive and has nothing new.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeartbeatEvent {
    /// The source's current binlog file.
    pub log_file: String,
    /// The source's position in it.
    pub position: u64,
}

/// INTVAR: a value for LAST_INSERT_ID() or INSERT_ID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IntVarEvent {
    /// 1 = LAST_INSERT_ID, 2 = INSERT_ID.
    pub var_type: u8,
    /// The value.
    pub value: u64,
}

/// RAND: the seeds of RAND().
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RandEvent {
    /// Seed 1.
    pub seed1: u64,
    /// Seed 2.
    pub seed2: u64,
}

/// USER_VAR: a user variable's value for a statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserVarEvent {
    /// The variable's name.
    pub name: String,
    /// `None` for NULL; otherwise (value type, collation, value bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<UserVarValue>,
}

/// The value of a [`UserVarEvent`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserVarValue {
    /// The item result type (0 string, 1 real, 2 int, 4 decimal).
    pub value_type: u8,
    /// The collation id.
    pub collation: u32,
    /// The value's bytes as the server wrote them.
    #[serde(with = "hex_bytes")]
    pub value: Vec<u8>,
    /// Flags (1 = unsigned).
    pub flags: u8,
}

/// INCIDENT: the source may have lost changes here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IncidentEvent {
    /// The incident type (1 = LOST_EVENTS).
    pub incident: u16,
    /// The message.
    pub message: String,
}

/// MariaDB GTID: `domain-server-sequence`, which starts an event group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MariadbGtidEvent {
    /// The GTID (its server id is the header's).
    pub gtid: crate::position::MariadbGtid,
    /// FL_* flags (1 standalone, 2 group commit id, 4 transactional, 8 allow
    /// parallel, 16 waited, 32 DDL, 64 prepared XA, 128 completed XA).
    pub flags2: u8,
    /// The group commit id, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_id: Option<u64>,
    /// The XID of an XA transaction: (format id, gtrid, bqual).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xa_xid: Option<(u32, String, String)>,
    /// Extra flags (MariaDB 10.5+), when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags_extra: Option<u8>,
    /// The number of other engines of a multi-engine transaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_engines: Option<u8>,
    /// The sequence number of the START ALTER a COMMIT/ROLLBACK ALTER ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sa_seq_no: Option<u64>,
}

/// MariaDB `FL_STANDALONE`: a single statement, not a transaction.
pub const MARIADB_FL_STANDALONE: u8 = 1;
/// MariaDB `FL_DDL`.
pub const MARIADB_FL_DDL: u8 = 32;

/// MariaDB GTID_LIST: the last GTID of each domain at a file's start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MariadbGtidListEvent {
    /// The GTIDs.
    pub gtids: Vec<crate::position::MariadbGtid>,
    /// The flags in the count's top 4 bits.
    pub flags: u8,
}

/// MariaDB BINLOG_CHECKPOINT: the oldest file still needed for recovery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BinlogCheckpointEvent {
    /// The file name.
    pub file: String,
}

/// Bounds on what one event may make the decoder allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest event accepted (the servers' maximum is 1 GiB, the
    /// largest `max_allowed_packet`).
    pub max_event_size: u64,
    /// The largest uncompressed size of a compressed event or payload.
    pub max_uncompressed_size: u64,
    /// The most column values (slots of row images, present or not) one
    /// rows event may decode to. A value slot takes about 32 bytes before the
    /// bytes of strings and blobs.
    pub max_row_values: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_event_size: 1 << 30,
            max_uncompressed_size: 1 << 30,
            max_row_values: 32 << 20,
        }
    }
}

pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A NUL-terminated or length-bounded name: stops at the first NUL.
pub(crate) fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&x| x == 0).unwrap_or(b.len());
    lossy(b.get(..end).unwrap_or_default())
}

pub(crate) fn read_fde(c: &mut Cursor<'_>, event_len: usize) -> Result<FormatDescriptionEvent> {
    let start = c.offset();
    let binlog_version = c.u16_le("binlog version")?;
    let server_version = c_string(c.bytes(50, "server version")?);
    let create_timestamp = c.u32_le("create timestamp")?;
    let header_length = c.u8("common header length")?;
    if usize::from(header_length) < HEADER_LEN {
        return Err(DecodeError::Invalid {
            what: "FORMAT_DESCRIPTION common header length",
            offset: c.offset() - 1,
            value: u64::from(header_length),
            reason: "shorter than the 19-byte v4 header",
        });
    }
    let version_split = split_version(&server_version);
    let mariadb = server_version.contains("MariaDB");
    let rest = c.rest();
    let (post, checksum_alg) = if version_has_checksum(version_split, mariadb) {
        // The last 5 bytes of the event are the algorithm and the checksum;
        // `rest` still holds them because the caller cannot know yet.
        let n = rest.len().checked_sub(5).ok_or(DecodeError::Truncated {
            what: "FORMAT_DESCRIPTION checksum algorithm",
            offset: start,
            needed: 5,
            available: rest.len() as u64,
        })?;
        let alg = rest.get(n).copied().unwrap_or(0);
        let alg = match alg {
            0 => ChecksumAlg::Off,
            1 => ChecksumAlg::Crc32,
            255 => ChecksumAlg::Undefined,
            v => {
                return Err(DecodeError::Invalid {
                    what: "binlog checksum algorithm",
                    offset: start + (n as u64) + 57,
                    value: u64::from(v),
                    reason: "known values are 0 (off), 1 (CRC32) and 255 (undefined)",
                })
            }
        };
        (rest.get(..n).unwrap_or_default().to_vec(), alg)
    } else {
        (rest.to_vec(), ChecksumAlg::Undefined)
    };
    let _ = event_len;
    Ok(FormatDescriptionEvent {
        binlog_version,
        server_version,
        create_timestamp,
        header_length,
        post_header_lengths: post,
        checksum_alg,
        version_split,
        mariadb,
    })
}

pub(crate) fn read_rotate(
    c: &mut Cursor<'_>,
    fde: Option<&FormatDescriptionEvent>,
    header: &EventHeader,
) -> Result<RotateEvent> {
    let post = fde.map_or(8, |f| f.post_header_len(EventType::ROTATE, 8));
    let position = if post >= 8 {
        let p = c.u64_le("rotate position")?;
        c.skip(post - 8, "rotate post-header")?;
        p
    } else {
        4
    };
    let next_file = lossy(c.rest());
    Ok(RotateEvent {
        position,
        next_file,
        fake: header.timestamp == 0 || header.log_pos == 0 || header.is_artificial(),
    })
}

pub(crate) fn read_query(
    c: &mut Cursor<'_>,
    fde: &FormatDescriptionEvent,
    compressed: bool,
    limits: &Limits,
) -> Result<QueryEvent> {
    let post = fde.post_header_len(
        EventType::QUERY,
        if fde.binlog_version >= 4 { 13 } else { 11 },
    );
    let mut ph = Cursor::new(
        c.bytes(post, "QUERY post-header")?,
        c.offset() - post as u64,
    );
    let thread_id = ph.u32_le("thread id")?;
    let exec_time = ph.u32_le("exec time")?;
    let db_len = ph.u8("database name length")?;
    let error_code = ph.u16_le("error code")?;
    let status_len = if post >= 13 {
        ph.u16_le("status variables length")?
    } else {
        0
    };
    let status_at = c.offset();
    let status_bytes = c.bytes(usize::from(status_len), "status variables")?;
    let status = read_status_vars(&mut Cursor::new(status_bytes, status_at))?;
    let schema = lossy(c.bytes(usize::from(db_len), "database name")?);
    c.skip(1, "database name terminator")?;
    let q_at = c.offset();
    let q = c.rest();
    let query = if compressed {
        decompress_mariadb(q, q_at, "compressed query", limits)?
    } else {
        q.to_vec()
    };
    Ok(QueryEvent {
        thread_id,
        exec_time,
        error_code,
        schema,
        query,
        status,
    })
}

fn read_status_vars(c: &mut Cursor<'_>) -> Result<QueryStatusVars> {
    let mut s = QueryStatusVars::default();
    while !c.is_empty() {
        let code = c.u8("status variable code")?;
        match code {
            0 => s.flags2 = Some(c.u32_le("Q_FLAGS2_CODE")?),
            1 => s.sql_mode = Some(c.u64_le("Q_SQL_MODE_CODE")?),
            2 => {
                let n = c.u8("Q_CATALOG_CODE length")?;
                s.catalog = Some(lossy(c.bytes(usize::from(n), "Q_CATALOG_CODE")?));
                c.skip(1, "Q_CATALOG_CODE terminator")?;
            }
            3 => {
                s.auto_increment = Some((
                    c.u16_le("Q_AUTO_INCREMENT increment")?,
                    c.u16_le("Q_AUTO_INCREMENT offset")?,
                ))
            }
            4 => {
                s.charset = Some((
                    c.u16_le("Q_CHARSET_CODE client")?,
                    c.u16_le("Q_CHARSET_CODE connection")?,
                    c.u16_le("Q_CHARSET_CODE server")?,
                ))
            }
            5 => {
                let n = c.u8("Q_TIME_ZONE_CODE length")?;
                s.time_zone = Some(lossy(c.bytes(usize::from(n), "Q_TIME_ZONE_CODE")?));
            }
            6 => {
                let n = c.u8("Q_CATALOG_NZ_CODE length")?;
                s.catalog = Some(lossy(c.bytes(usize::from(n), "Q_CATALOG_NZ_CODE")?));
            }
            7 => s.lc_time_names = Some(c.u16_le("Q_LC_TIME_NAMES_CODE")?),
            8 => s.charset_database = Some(c.u16_le("Q_CHARSET_DATABASE_CODE")?),
            9 => s.table_map_for_update = Some(c.u64_le("Q_TABLE_MAP_FOR_UPDATE_CODE")?),
            10 => s.master_data_written = Some(c.u32_le("Q_MASTER_DATA_WRITTEN_CODE")?),
            11 => {
                let n = c.u8("Q_INVOKER user length")?;
                let user = lossy(c.bytes(usize::from(n), "Q_INVOKER user")?);
                let n = c.u8("Q_INVOKER host length")?;
                let host = lossy(c.bytes(usize::from(n), "Q_INVOKER host")?);
                s.invoker = Some((user, host));
            }
            12 => {
                let n = c.u8("Q_UPDATED_DB_NAMES count")?;
                let mut names = Vec::new();
                // 254 (OVER_MAX_DBS_IN_EVENT_MTS) means "too many to list".
                if n != 254 {
                    for _ in 0..n {
                        let rest = c.rest();
                        let end =
                            rest.iter()
                                .position(|&b| b == 0)
                                .ok_or(DecodeError::Invalid {
                                    what: "Q_UPDATED_DB_NAMES",
                                    offset: c.offset(),
                                    value: u64::from(n),
                                    reason: "a database name has no terminating NUL",
                                })?;
                        names.push(lossy(rest.get(..end).unwrap_or_default()));
                        let back = rest.len() - end - 1;
                        // Rewind to just past the NUL.
                        *c = Cursor::new(
                            rest.get(end + 1..).unwrap_or_default(),
                            c.offset() - back as u64,
                        );
                    }
                }
                s.updated_db_names = Some(names);
            }
            13 => s.microseconds = Some(c.uint_le(3, "Q_MICROSECONDS")? as u32),
            16 => {
                s.explicit_defaults_for_timestamp =
                    Some(c.u8("Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP")? != 0)
            }
            17 => s.ddl_xid = Some(c.u64_le("Q_DDL_LOGGED_WITH_XID")?),
            18 => {
                s.default_collation_for_utf8mb4 = Some(c.u16_le("Q_DEFAULT_COLLATION_FOR_UTF8MB4")?)
            }
            19 => s.sql_require_primary_key = Some(c.u8("Q_SQL_REQUIRE_PRIMARY_KEY")?),
            20 => s.default_table_encryption = Some(c.u8("Q_DEFAULT_TABLE_ENCRYPTION")?),
            128 => s.microseconds = Some(c.uint_le(3, "Q_HRNOW")? as u32),
            129 => s.mariadb_xid = Some(c.u64_le("Q_XID")?),
            130 => s.gtid_flags3 = Some(c.u8("Q_GTID_FLAGS3")?),
            131 => {
                // MariaDB 11.2+: a count, then (charset id, collation id)
                // pairs of 2 bytes each.
                let n = c.u8("Q_CHARACTER_SET_COLLATIONS count")?;
                let mut v = Vec::new();
                for _ in 0..n {
                    v.push(c.u16_le("Q_CHARACTER_SET_COLLATIONS charset")?);
                    v.push(c.u16_le("Q_CHARACTER_SET_COLLATIONS collation")?);
                }
                s.character_set_collations = Some(v);
            }
            other => {
                // The length of an unknown status variable is unknown: the
                // rest of the block cannot be read, but the block's length is
                // known, so the statement after it is still exact.
                s.unknown_code = Some(other);
                c.rest();
            }
        }
    }
    Ok(s)
}

/// MariaDB's compressed-event body: one byte `0x80 | n` (bits 4-6: the
/// algorithm, 0 = zlib), `n` bytes of big-endian uncompressed length, then
/// a zlib stream (`sql/log_event.cc`, `binlog_buf_uncompress`).
pub(crate) fn decompress_mariadb(
    b: &[u8],
    at: u64,
    what: &'static str,
    limits: &Limits,
) -> Result<Vec<u8>> {
    let mut c = Cursor::new(b, at);
    let h = c.u8(what)?;
    let alg = (h >> 4) & 7;
    let n = usize::from(h & 7);
    if h & 0x80 == 0 || alg != 0 || n == 0 || n > 4 {
        return Err(DecodeError::Invalid {
            what,
            offset: at,
            value: u64::from(h),
            reason: "the header byte must be 0x80 | n with algorithm 0 (zlib) and n from 1 to 4",
        });
    }
    let len = c.uint_be(n, what)?;
    if len > limits.max_uncompressed_size {
        return Err(DecodeError::TooLarge {
            what,
            offset: at,
            value: len,
            limit: limits.max_uncompressed_size,
        });
    }
    let data = c.rest();
    inflate_exact(data, len, at, what)
}

fn inflate_exact(data: &[u8], len: u64, at: u64, what: &'static str) -> Result<Vec<u8>> {
    use std::io::Read;
    // The declared length bounds the output: read at most one byte more, to
    // detect a stream that would produce more than it declared.
    let mut out = Vec::with_capacity(usize::try_from(len.min(1 << 20)).unwrap_or(0));
    let mut z = flate2::read::ZlibDecoder::new(data).take(len.saturating_add(1));
    z.read_to_end(&mut out)
        .map_err(|e| DecodeError::Decompress {
            what,
            offset: at,
            reason: e.to_string(),
        })?;
    if out.len() as u64 != len {
        return Err(DecodeError::Decompress {
            what,
            offset: at,
            reason: format!(
                "the header declares {len} bytes but the stream holds {}{}",
                if out.len() as u64 > len {
                    "more than "
                } else {
                    ""
                },
                out.len().min(usize::try_from(len).unwrap_or(usize::MAX))
            ),
        });
    }
    Ok(out)
}

pub(crate) fn read_table_map(
    c: &mut Cursor<'_>,
    fde: &FormatDescriptionEvent,
) -> Result<TableMapEvent> {
    let post = fde.post_header_len(EventType::TABLE_MAP, 8);
    let table_id = if post == 6 {
        u64::from(c.u32_le("table id")?)
    } else {
        c.uint_le(6, "table id")?
    };
    let flags = c.u16_le("table map flags")?;
    let n = c.u8("database name length")?;
    let schema = lossy(c.bytes(usize::from(n), "database name")?);
    c.skip(1, "database name terminator")?;
    let n = c.u8("table name length")?;
    let table = lossy(c.bytes(usize::from(n), "table name")?);
    c.skip(1, "table name terminator")?;
    let count_at = c.offset();
    let count = c.lenenc_int("column count")?;
    // Each column needs at least its type byte: the count is bounded by the
    // bytes left before anything is allocated.
    if count > c.remaining() as u64 {
        return Err(DecodeError::Truncated {
            what: "column types",
            offset: c.offset(),
            needed: count,
            available: c.remaining() as u64,
        });
    }
    // MySQL and MariaDB tables have at most 4096 columns.
    if count > 4096 {
        return Err(DecodeError::Invalid {
            what: "TABLE_MAP column count",
            offset: count_at,
            value: count,
            reason: "over the servers' limit of 4096 columns per table",
        });
    }
    let ncols = count as usize;
    let types = c.bytes(ncols, "column types")?;
    let meta_at = c.offset();
    // MySQL 5.1 before 5.1.23 wrote no metadata block at all; its readers
    // take every column's metadata as 0, and so does this one.
    let old_format = c.is_empty()
        || (c.remaining() == ncols.div_ceil(8) && !fde.mariadb && fde.version_split < (5, 1, 23));
    let meta_block = if old_format {
        &[][..]
    } else {
        c.lenenc_bytes("column metadata")?
    };
    let mut m = Cursor::new(meta_block, meta_at + 1);
    let mut columns = Vec::with_capacity(ncols);
    for (i, &t) in types.iter().enumerate() {
        let ct = ColumnType(t);
        let meta = match ct.metadata_len() {
            _ if old_format => 0,
            Some(0) => 0,
            Some(1) => u16::from(m.u8("column metadata")?),
            Some(_) => {
                // STRING, ENUM and SET store their two bytes big-endian
                // (real type first); the others little-endian.
                let a = m.array::<2>("column metadata")?;
                if matches!(ct, ColumnType::STRING | ColumnType::ENUM | ColumnType::SET) {
                    u16::from(a[0]) | (u16::from(a[1]) << 8)
                } else {
                    u16::from_le_bytes(a)
                }
            }
            None => {
                return Err(DecodeError::UnsupportedColumnType {
                    offset: meta_at,
                    column: i,
                    type_code: t,
                })
            }
        };
        columns.push(ColumnInfo::new(ct, meta));
    }
    let null_bits = if c.is_empty() && old_format {
        &[][..]
    } else {
        c.bytes(ncols.div_ceil(8), "column nullability bitmap")?
    };
    for (i, col) in columns.iter_mut().enumerate() {
        col.nullable = bit(null_bits, i);
    }
    let mut tm = TableMapEvent {
        table_id,
        flags,
        schema,
        table,
        columns,
        has_optional_metadata: false,
        primary_key: None,
    };
    if !c.is_empty() {
        tm.has_optional_metadata = true;
        read_optional_metadata(c, &mut tm)?;
    }
    Ok(tm)
}

/// Bit `i` of a little-endian bitmap (bit 0 of byte 0 first).
pub(crate) fn bit(bits: &[u8], i: usize) -> bool {
    bits.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

fn is_numeric(t: ColumnType) -> bool {
    matches!(
        t,
        ColumnType::TINY
            | ColumnType::SHORT
            | ColumnType::INT24
            | ColumnType::LONG
            | ColumnType::LONGLONG
            | ColumnType::NEWDECIMAL
            | ColumnType::FLOAT
            | ColumnType::DOUBLE
    )
}

fn is_character(col: &ColumnInfo) -> bool {
    let real = col.real_type();
    matches!(
        real,
        ColumnType::STRING
            | ColumnType::VAR_STRING
            | ColumnType::VARCHAR
            | ColumnType::BLOB
            | ColumnType::TINY_BLOB
            | ColumnType::MEDIUM_BLOB
            | ColumnType::LONG_BLOB
            | ColumnType::VARCHAR_COMPRESSED
            | ColumnType::BLOB_COMPRESSED
    )
}

fn is_enum_or_set(col: &ColumnInfo) -> bool {
    matches!(col.real_type(), ColumnType::ENUM | ColumnType::SET)
}

/// Reads the optional metadata TLVs (`binlog_row_metadata=MINIMAL|FULL`);
/// `Table_map_log_event::Optional_metadata_fields` in MySQL.
fn read_optional_metadata(c: &mut Cursor<'_>, tm: &mut TableMapEvent) -> Result<()> {
    while !c.is_empty() {
        let kind = c.u8("optional metadata type")?;
        let at = c.offset();
        let value = c.lenenc_bytes("optional metadata field")?;
        let mut v = Cursor::new(value, at + 1);
        match kind {
            1 => {
                // SIGNEDNESS: one bit per numeric column, most significant
                // bit first.
                let mut k = 0usize;
                for col in tm.columns.iter_mut() {
                    if is_numeric(col.column_type.0) {
                        let byte = value.get(k / 8).copied().unwrap_or(0);
                        col.unsigned = Some(byte & (0x80 >> (k % 8)) != 0);
                        k += 1;
                    }
                }
            }
            2 | 10 => {
                // DEFAULT_CHARSET / ENUM_AND_SET_DEFAULT_CHARSET: a default
                // collation, then (column index, collation) exceptions, the
                // index counted over character (or enum/set) columns.
                let enum_set = kind == 10;
                let default = v.lenenc_int("default collation")?;
                let mut exceptions = Vec::new();
                while !v.is_empty() {
                    let idx = v.lenenc_int("charset column index")?;
                    let coll = v.lenenc_int("charset collation")?;
                    exceptions.push((idx, coll));
                }
                let mut k = 0u64;
                for col in tm.columns.iter_mut() {
                    let applies = if enum_set {
                        is_enum_or_set(col)
                    } else {
                        is_character(col)
                    };
                    if applies {
                        let coll = exceptions
                            .iter()
                            .find(|(i, _)| *i == k)
                            .map_or(default, |(_, c)| *c);
                        col.collation = u16::try_from(coll).ok();
                        k += 1;
                    }
                }
            }
            3 | 11 => {
                let enum_set = kind == 11;
                for col in tm.columns.iter_mut() {
                    let applies = if enum_set {
                        is_enum_or_set(col)
                    } else {
                        is_character(col)
                    };
                    if applies && !v.is_empty() {
                        col.collation = u16::try_from(v.lenenc_int("column collation")?).ok();
                    }
                }
            }
            4 => {
                for col in tm.columns.iter_mut() {
                    if v.is_empty() {
                        break;
                    }
                    col.name = Some(lossy(v.lenenc_bytes("column name")?));
                }
            }
            5 | 6 => {
                let want = if kind == 5 {
                    ColumnType::SET
                } else {
                    ColumnType::ENUM
                };
                for col in tm.columns.iter_mut() {
                    if col.real_type() != want || v.is_empty() {
                        continue;
                    }
                    let n = v.lenenc_int("member count")?;
                    // Each member takes at least one byte.
                    if n > v.remaining() as u64 {
                        return Err(DecodeError::Truncated {
                            what: "ENUM/SET members",
                            offset: v.offset(),
                            needed: n,
                            available: v.remaining() as u64,
                        });
                    }
                    let mut names = Vec::with_capacity(n as usize);
                    for _ in 0..n {
                        names.push(v.lenenc_bytes("ENUM/SET member")?.to_vec());
                    }
                    if kind == 5 {
                        col.set_values = Some(names);
                    } else {
                        col.enum_values = Some(names);
                    }
                }
            }
            7 => {
                for col in tm.columns.iter_mut() {
                    if col.column_type.0 == ColumnType::GEOMETRY && !v.is_empty() {
                        col.geometry_type = u32::try_from(v.lenenc_int("geometry type")?).ok();
                    }
                }
            }
            8 | 9 => {
                let mut pk = Vec::new();
                while !v.is_empty() {
                    let idx = v.lenenc_int("primary key column")?;
                    let prefix = if kind == 9 {
                        v.lenenc_int("primary key prefix")?
                    } else {
                        0
                    };
                    if let Some(col) = usize::try_from(idx)
                        .ok()
                        .and_then(|i| tm.columns.get_mut(i))
                    {
                        col.primary_key = Some(true);
                    }
                    pk.push((
                        u32::try_from(idx).unwrap_or(u32::MAX),
                        u32::try_from(prefix).unwrap_or(u32::MAX),
                    ));
                }
                tm.primary_key = Some(pk);
            }
            12 => {
                // COLUMN_VISIBILITY: one bit per column, most significant first.
                for (i, col) in tm.columns.iter_mut().enumerate() {
                    let byte = value.get(i / 8).copied().unwrap_or(0);
                    col.visible = Some(byte & (0x80 >> (i % 8)) != 0);
                }
            }
            _ => {
                // An unknown optional field is skipped by its length: it only
                // adds information, and its length is known.
            }
        }
    }
    Ok(())
}

pub(crate) struct RowsHeader {
    pub(crate) kind: RowsKind,
    pub(crate) version: u8,
    pub(crate) compressed: bool,
}

pub(crate) fn rows_header(t: EventType) -> Option<RowsHeader> {
    let (kind, version, compressed) = match t {
        EventType::WRITE_ROWS_V1 => (RowsKind::Write, 1, false),
        EventType::UPDATE_ROWS_V1 => (RowsKind::Update, 1, false),
        EventType::DELETE_ROWS_V1 => (RowsKind::Delete, 1, false),
        EventType::WRITE_ROWS => (RowsKind::Write, 2, false),
        EventType::UPDATE_ROWS => (RowsKind::Update, 2, false),
        EventType::DELETE_ROWS => (RowsKind::Delete, 2, false),
        EventType::PARTIAL_UPDATE_ROWS => (RowsKind::PartialUpdate, 2, false),
        EventType::MARIADB_WRITE_ROWS_COMPRESSED_V1 => (RowsKind::Write, 1, true),
        EventType::MARIADB_UPDATE_ROWS_COMPRESSED_V1 => (RowsKind::Update, 1, true),
        EventType::MARIADB_DELETE_ROWS_COMPRESSED_V1 => (RowsKind::Delete, 1, true),
        EventType::MARIADB_WRITE_ROWS_COMPRESSED => (RowsKind::Write, 2, true),
        EventType::MARIADB_UPDATE_ROWS_COMPRESSED => (RowsKind::Update, 2, true),
        EventType::MARIADB_DELETE_ROWS_COMPRESSED => (RowsKind::Delete, 2, true),
        _ => return None,
    };
    Some(RowsHeader {
        kind,
        version,
        compressed,
    })
}

/// Reads the table id of a rows event without decoding it, so the decoder
/// can find the table map first.
pub(crate) fn rows_table_id(
    c: &mut Cursor<'_>,
    fde: &FormatDescriptionEvent,
    t: EventType,
) -> Result<u64> {
    let post = fde.post_header_len(t, 10);
    if post == 6 {
        Ok(u64::from(c.u32_le("table id")?))
    } else {
        c.uint_le(6, "table id")
    }
}

/// MySQL's `binary_log::Rows_event` value option: partial JSON updates.
const PARTIAL_JSON_UPDATES: u64 = 1;

pub(crate) fn read_rows(
    c: &mut Cursor<'_>,
    fde: &FormatDescriptionEvent,
    t: EventType,
    h: RowsHeader,
    table: Arc<TableMapEvent>,
    limits: &Limits,
) -> Result<RowsEvent> {
    let event_at = c.offset();
    let post = fde.post_header_len(t, if h.version == 2 { 10 } else { 8 });
    let table_id = rows_table_id(c, fde, t)?;
    let flags = c.u16_le("rows flags")?;
    let mut extra_data = Vec::new();
    if h.version == 2 && post >= 10 {
        let at = c.offset();
        let len = c.u16_le("extra data length")?;
        let n = usize::from(len)
            .checked_sub(2)
            .ok_or(DecodeError::Invalid {
                what: "rows extra data length",
                offset: at,
                value: u64::from(len),
                reason: "it includes its own 2 bytes, so it cannot be less than 2",
            })?;
        extra_data = c.bytes(n, "rows extra data")?.to_vec();
    }
    let count_at = c.offset();
    let column_count = c.lenenc_int("column count")?;
    if column_count != table.columns.len() as u64 {
        return Err(DecodeError::Invalid {
            what: "rows event column count",
            offset: count_at,
            value: column_count,
            reason: "it differs from the column count of the table map it refers to",
        });
    }
    let n = table.columns.len();
    let present = c.bytes(n.div_ceil(8), "columns-present bitmap")?.to_vec();
    let present_after = if matches!(h.kind, RowsKind::Update | RowsKind::PartialUpdate) {
        c.bytes(n.div_ceil(8), "columns-present-after bitmap")?
            .to_vec()
    } else {
        present.clone()
    };
    let rows_at = c.offset();
    let owned;
    let mut r = if h.compressed {
        owned = decompress_mariadb(c.rest(), rows_at, "compressed rows", limits)?;
        Cursor::new(&owned, rows_at)
    } else {
        Cursor::new(c.rest(), rows_at)
    };
    let mut rows = Vec::new();
    // Every row image holds a slot per column of the table: bound their
    // total, because a narrow row of a wide table decodes to much more
    // memory than its bytes.
    let mut slots: u64 = 0;
    while !r.is_empty() {
        let row_at = r.offset();
        let before_or_after = read_image(&mut r, &table, &present)?;
        let change = match h.kind {
            RowsKind::Write => RowChange::Insert {
                after: before_or_after,
            },
            RowsKind::Delete => RowChange::Delete {
                before: before_or_after,
            },
            RowsKind::Update => RowChange::Update {
                before: before_or_after,
                after: read_image(&mut r, &table, &present_after)?,
            },
            RowsKind::PartialUpdate => {
                let opt_at = r.offset();
                let options = r.lenenc_int("value options")?;
                let mut partial = Vec::new();
                if options & PARTIAL_JSON_UPDATES != 0 {
                    let json_cols = table
                        .columns
                        .iter()
                        .filter(|c| c.column_type.0 == ColumnType::JSON)
                        .count();
                    partial = r
                        .bytes(json_cols.div_ceil(8), "partial JSON bitmap")?
                        .to_vec();
                } else if options != 0 {
                    return Err(DecodeError::Invalid {
                        what: "partial update value options",
                        offset: opt_at,
                        value: options,
                        reason: "only PARTIAL_JSON_UPDATES (1) is known",
                    });
                }
                RowChange::Update {
                    before: before_or_after,
                    after: read_partial_image(&mut r, &table, &present_after, &partial)?,
                }
            }
        };
        if r.offset() == row_at {
            // No column present: a row of zero bytes, and the loop would
            // never end.
            return Err(DecodeError::Invalid {
                what: "rows event column-present bitmap",
                offset: row_at,
                value: 0,
                reason: "no column is present, so a row image has no bytes",
            });
        }
        let images = if matches!(change, RowChange::Update { .. }) {
            2
        } else {
            1
        };
        slots = slots.saturating_add(images * n as u64);
        if slots > limits.max_row_values {
            return Err(DecodeError::TooLarge {
                what: "decoded row values of one rows event",
                offset: event_at,
                value: slots,
                limit: limits.max_row_values,
            });
        }
        rows.push(change);
    }
    Ok(RowsEvent {
        kind: h.kind,
        version: h.version,
        compressed: h.compressed,
        table_id,
        flags,
        extra_data,
        column_count,
        table,
        rows,
    })
}

/// The binary collation's id.
pub const BINARY_COLLATION: u16 = 63;

/// BINARY(n) values are logged without their trailing 0x00 padding; the
/// server returns them padded to n bytes, so they are padded back here.
/// This needs the column's collation (from the optional metadata or the
/// caller's column description): without it a BINARY column cannot be told
/// from a CHAR one, whose trailing spaces are not stored.
fn pad_binary(v: Value, col: &ColumnInfo) -> Value {
    if col.column_type.0 != ColumnType::STRING
        || col.real_type() != ColumnType::STRING
        || col.collation != Some(BINARY_COLLATION)
    {
        return v;
    }
    let m0 = (col.meta & 0xff) as u8;
    let m1 = (col.meta >> 8) as u8;
    let max_len = if m0 & 0x30 != 0x30 {
        usize::from(m1) | (usize::from((m0 & 0x30) ^ 0x30) << 4)
    } else {
        usize::from(m1)
    };
    match v {
        Value::Bytes(mut b) if b.len() < max_len => {
            b.resize(max_len, 0);
            Value::Bytes(b)
        }
        other => other,
    }
}

fn read_image(r: &mut Cursor<'_>, table: &TableMapEvent, present: &[u8]) -> Result<RowImage> {
    read_partial_image(r, table, present, &[])
}

/// Reads one row image. `partial` is the partial-JSON bitmap over the JSON
/// columns (empty when none are partial).
fn read_partial_image(
    r: &mut Cursor<'_>,
    table: &TableMapEvent,
    present: &[u8],
    partial: &[u8],
) -> Result<RowImage> {
    let n = table.columns.len();
    let n_present = (0..n).filter(|&i| bit(present, i)).count();
    let nulls = r.bytes(n_present.div_ceil(8), "row NULL bitmap")?;
    let mut image = Vec::with_capacity(n);
    let mut k = 0usize;
    let mut json_idx = 0usize;
    for (i, col) in table.columns.iter().enumerate() {
        let is_json = col.column_type.0 == ColumnType::JSON;
        if !bit(present, i) {
            image.push(None);
            if is_json {
                json_idx += 1;
            }
            continue;
        }
        let is_null = bit(nulls, k);
        k += 1;
        if is_null {
            image.push(Some(Value::Null));
        } else if is_json && bit(partial, json_idx) {
            let len = r.uint_le(usize::from(col.meta.clamp(1, 4) as u8), "JSON diff length")?;
            let at = r.offset();
            let b = r.bytes_u64(len, "JSON diffs")?;
            image.push(Some(Value::JsonDiffs(crate::jsonb::decode_json_diffs(
                b, at,
            )?)));
        } else {
            let v = crate::value::decode_value(r, col, i)?;
            image.push(Some(pad_binary(v, col)));
        }
        if is_json {
            json_idx += 1;
        }
    }
    Ok(image)
}

pub(crate) fn read_gtid(c: &mut Cursor<'_>, anonymous: bool) -> Result<GtidEvent> {
    let flags = c.u8("GTID flags")?;
    let sid = crate::position::Uuid::from_bytes(c.array::<16>("GTID source uuid")?);
    let gno_at = c.offset();
    let gno = c.u64_le("GTID gno")?;
    let gno = i64::try_from(gno).map_err(|_| DecodeError::Invalid {
        what: "GTID gno",
        offset: gno_at,
        value: gno,
        reason: "over the largest transaction number (2^63 - 1)",
    })?;
    let mut g = GtidEvent {
        anonymous,
        flags,
        sid,
        tag: None,
        gno,
        last_committed: None,
        sequence_number: None,
        immediate_commit_timestamp: None,
        original_commit_timestamp: None,
        transaction_length: None,
        immediate_server_version: None,
        original_server_version: None,
    };
    if c.is_empty() {
        return Ok(g);
    }
    // Logical clock (type 2).
    let lt = c.u8("logical timestamp type")?;
    if lt == 2 {
        g.last_committed = Some(c.u64_le("last_committed")? as i64);
        g.sequence_number = Some(c.u64_le("sequence_number")? as i64);
    }
    if c.remaining() >= 7 {
        let ts = c.uint_le(7, "immediate commit timestamp")?;
        let has_original = ts & (1 << 55) != 0;
        let ts = ts & !(1 << 55);
        g.immediate_commit_timestamp = Some(ts);
        g.original_commit_timestamp = Some(if has_original {
            c.uint_le(7, "original commit timestamp")?
        } else {
            ts
        });
        if !c.is_empty() {
            g.transaction_length = Some(c.lenenc_int("transaction length")?);
        }
        if c.remaining() >= 4 {
            let v = c.u32_le("immediate server version")?;
            let has_original = v & (1 << 31) != 0;
            let v = v & !(1 << 31);
            g.immediate_server_version = Some(v);
            g.original_server_version = Some(if has_original {
                c.u32_le("original server version")?
            } else {
                v
            });
        }
    }
    Ok(g)
}

/// Reads a variable-length unsigned integer of MySQL's serialization
/// library (`libs/mysql/serialization/variable_length_integers.h`): the
/// count of trailing one bits of the first byte, plus one, is the length; a
/// first byte of 0xff means 8 raw bytes follow.
pub(crate) fn varlen_u64(c: &mut Cursor<'_>, what: &'static str) -> Result<u64> {
    let save = c.clone();
    let first = c.u8(what)?;
    let ones = first.trailing_ones() as usize;
    if ones == 8 {
        return c.u64_le(what).inspect_err(|_| *c = save.clone());
    }
    let n = ones + 1;
    let mut raw = [0u8; 8];
    raw[0] = first;
    let more = c.bytes(n - 1, what).inspect_err(|_| *c = save.clone())?;
    for (d, s) in raw.iter_mut().skip(1).zip(more) {
        *d = *s;
    }
    Ok(u64::from_le_bytes(raw) >> n)
}

fn varlen_i64(c: &mut Cursor<'_>, what: &'static str) -> Result<i64> {
    let u = varlen_u64(c, what)?;
    let mag = (u >> 1) as i64;
    Ok(if u & 1 != 0 { -mag - 1 } else { mag })
}

/// GTID_TAGGED (MySQL 8.4): the serialization library's format: a version
/// byte, the payload size, the last non-ignorable field id, then (field id,
/// value) pairs (`control_events.h`, `Gtid_event::decode_tagged`).
pub(crate) fn read_gtid_tagged(c: &mut Cursor<'_>) -> Result<GtidEvent> {
    let start = c.offset();
    let ver = c.u8("tagged GTID serialization version")?;
    if ver != 2 && ver != 1 {
        return Err(DecodeError::Invalid {
            what: "tagged GTID serialization version",
            offset: start,
            value: u64::from(ver),
            reason: "only versions 1 and 2 are known",
        });
    }
    let before = c.remaining();
    let size = varlen_u64(c, "tagged GTID payload size")?;
    let _last_non_ignorable = varlen_u64(c, "tagged GTID last field id")?;
    let consumed = 1 + (before - c.remaining()) as u64;
    let fields_len = size.checked_sub(consumed).ok_or(DecodeError::Invalid {
        what: "tagged GTID payload size",
        offset: start,
        value: size,
        reason: "smaller than its own envelope",
    })?;
    let fields_at = c.offset();
    let mut f = Cursor::new(c.bytes_u64(fields_len, "tagged GTID fields")?, fields_at);
    let mut g = GtidEvent {
        anonymous: false,
        flags: 0,
        sid: crate::position::Uuid::from_bytes([0; 16]),
        tag: None,
        gno: 0,
        last_committed: None,
        sequence_number: None,
        immediate_commit_timestamp: None,
        original_commit_timestamp: None,
        transaction_length: None,
        immediate_server_version: None,
        original_server_version: None,
    };
    let mut last_id: Option<u64> = None;
    while !f.is_empty() {
        let at = f.offset();
        let id = varlen_u64(&mut f, "tagged GTID field id")?;
        if last_id.is_some_and(|l| id <= l) {
            return Err(DecodeError::Invalid {
                what: "tagged GTID field id",
                offset: at,
                value: id,
                reason: "field ids must increase",
            });
        }
        last_id = Some(id);
        match id {
            0 => g.flags = u8::try_from(varlen_u64(&mut f, "GTID flags")?).unwrap_or(u8::MAX),
            1 => {
                let mut u = [0u8; 16];
                for b in u.iter_mut() {
                    let v = varlen_u64(&mut f, "GTID source uuid")?;
                    *b = u8::try_from(v).map_err(|_| DecodeError::Invalid {
                        what: "GTID source uuid byte",
                        offset: at,
                        value: v,
                        reason: "over 255",
                    })?;
                }
                g.sid = crate::position::Uuid::from_bytes(u);
            }
            2 => g.gno = varlen_i64(&mut f, "GTID gno")?,
            3 => {
                let n = varlen_u64(&mut f, "GTID tag length")?;
                g.tag = Some(lossy(f.bytes_u64(n, "GTID tag")?));
            }
            4 => g.last_committed = Some(varlen_i64(&mut f, "last_committed")?),
            5 => g.sequence_number = Some(varlen_i64(&mut f, "sequence_number")?),
            6 => {
                g.immediate_commit_timestamp =
                    Some(varlen_u64(&mut f, "immediate commit timestamp")?)
            }
            7 => {
                g.original_commit_timestamp = Some(varlen_u64(&mut f, "original commit timestamp")?)
            }
            8 => g.transaction_length = Some(varlen_u64(&mut f, "transaction length")?),
            9 => {
                g.immediate_server_version =
                    u32::try_from(varlen_u64(&mut f, "immediate server version")?).ok()
            }
            10 => {
                g.original_server_version =
                    u32::try_from(varlen_u64(&mut f, "original server version")?).ok()
            }
            11 => {
                let _ticket = varlen_u64(&mut f, "commit group ticket")?;
            }
            other => {
                return Err(DecodeError::Invalid {
                    what: "tagged GTID field id",
                    offset: at,
                    value: other,
                    reason: "unknown field: its length is unknown, so the event cannot be read",
                })
            }
        }
    }
    if g.original_commit_timestamp.is_none() {
        g.original_commit_timestamp = g.immediate_commit_timestamp;
    }
    if g.original_server_version.is_none() {
        g.original_server_version = g.immediate_server_version;
    }
    Ok(g)
}

pub(crate) fn read_previous_gtids(c: &mut Cursor<'_>) -> Result<PreviousGtidsEvent> {
    use crate::position::GtidSet;
    let at = c.offset();
    let header = c.u64_le("PREVIOUS_GTIDS header")?;
    let tagged = (header >> 56) != 0;
    let n_sids = if tagged {
        (header >> 8) & ((1 << 48) - 1)
    } else {
        header & ((1 << 56) - 1)
    };
    // Each entry takes at least 24 bytes: bound the count first.
    if n_sids > (c.remaining() / 24) as u64 {
        return Err(DecodeError::Invalid {
            what: "PREVIOUS_GTIDS uuid count",
            offset: at,
            value: n_sids,
            reason: "more entries than the event's bytes can hold",
        });
    }
    let mut set = GtidSet::new();
    for _ in 0..n_sids {
        let sid = crate::position::Uuid::from_bytes(c.array::<16>("PREVIOUS_GTIDS uuid")?);
        let tag = if tagged {
            let t_at = c.offset();
            let n = varlen_u64(c, "PREVIOUS_GTIDS tag length")?;
            let t = lossy(c.bytes_u64(n, "PREVIOUS_GTIDS tag")?);
            if t.is_empty() {
                None
            } else {
                Some(
                    crate::position::Tag::new(&t).map_err(|_| DecodeError::Invalid {
                        what: "PREVIOUS_GTIDS tag",
                        offset: t_at,
                        value: n,
                        reason: "not a valid GTID tag ([a-z_][a-z0-9_]{0,31})",
                    })?,
                )
            }
        } else {
            None
        };
        let n_at = c.offset();
        let n = c.u64_le("PREVIOUS_GTIDS interval count")?;
        if n > (c.remaining() / 16) as u64 {
            return Err(DecodeError::Invalid {
                what: "PREVIOUS_GTIDS interval count",
                offset: n_at,
                value: n,
                reason: "more intervals than the event's bytes can hold",
            });
        }
        for _ in 0..n {
            let i_at = c.offset();
            let start = c.u64_le("interval start")?;
            let end = c.u64_le("interval end")?;
            set.add_range(sid, tag.as_ref(), start..end)
                .map_err(|_| DecodeError::Invalid {
                    what: "PREVIOUS_GTIDS interval",
                    offset: i_at,
                    value: start,
                    reason: "an interval must satisfy 1 <= start < end <= 2^63",
                })?;
        }
    }
    Ok(PreviousGtidsEvent { gtid_set: set })
}

pub(crate) fn read_xa_prepare(c: &mut Cursor<'_>) -> Result<XaPrepareEvent> {
    let one_phase = c.u8("XA one phase")? != 0;
    let format_id = c.u32_le("XA format id")? as i32;
    let gl_at = c.offset();
    let gl = c.u32_le("XA gtrid length")?;
    let bl = c.u32_le("XA bqual length")?;
    if gl > 64 || bl > 64 {
        return Err(DecodeError::Invalid {
            what: "XA id length",
            offset: gl_at,
            value: u64::from(gl.max(bl)),
            reason: "gtrid and bqual are at most 64 bytes each",
        });
    }
    let gtrid = c.bytes(gl as usize, "XA gtrid")?.to_vec();
    let bqual = c.bytes(bl as usize, "XA bqual")?.to_vec();
    Ok(XaPrepareEvent {
        one_phase,
        format_id,
        gtrid,
        bqual,
    })
}

/// HEARTBEAT_V2 (MySQL 8.0.26+): TLV fields, type and length as
/// length-encoded integers: 1 = file name, 2 = position.
pub(crate) fn read_heartbeat_v2(c: &mut Cursor<'_>) -> Result<HeartbeatEvent> {
    let mut hb = HeartbeatEvent {
        log_file: String::new(),
        position: 0,
    };
    while !c.is_empty() {
        let at = c.offset();
        let t = c.lenenc_int("heartbeat field type")?;
        if t == 0 {
            break;
        }
        let len = c.lenenc_int("heartbeat field length")?;
        let v = c.bytes_u64(len, "heartbeat field")?;
        match t {
            1 => hb.log_file = lossy(v),
            2 => {
                hb.position = Cursor::new(v, at).lenenc_int("heartbeat position")?;
            }
            _ => {}
        }
    }
    Ok(hb)
}

pub(crate) fn read_user_var(c: &mut Cursor<'_>) -> Result<UserVarEvent> {
    let n = c.u32_le("user variable name length")?;
    let name = lossy(c.bytes_u64(u64::from(n), "user variable name")?);
    let is_null = c.u8("user variable NULL flag")? != 0;
    if is_null {
        return Ok(UserVarEvent { name, value: None });
    }
    let value_type = c.u8("user variable type")?;
    let collation = c.u32_le("user variable collation")?;
    let len = c.u32_le("user variable value length")?;
    let value = c.bytes_u64(u64::from(len), "user variable value")?.to_vec();
    let flags = if c.is_empty() {
        0
    } else {
        c.u8("user variable flags")?
    };
    Ok(UserVarEvent {
        name,
        value: Some(UserVarValue {
            value_type,
            collation,
            value,
            flags,
        }),
    })
}

pub(crate) fn read_mariadb_gtid(c: &mut Cursor<'_>, server_id: u32) -> Result<MariadbGtidEvent> {
    let sequence = c.u64_le("GTID sequence number")?;
    let domain_id = c.u32_le("GTID domain id")?;
    let flags2 = c.u8("GTID flags")?;
    let mut g = MariadbGtidEvent {
        gtid: crate::position::MariadbGtid {
            domain_id,
            server_id,
            sequence,
        },
        flags2,
        commit_id: None,
        xa_xid: None,
        flags_extra: None,
        extra_engines: None,
        sa_seq_no: None,
    };
    if flags2 & 2 != 0 {
        g.commit_id = Some(c.u64_le("GTID commit id")?);
    } else if flags2 & (64 | 128) != 0 {
        let format_id = c.u32_le("XA format id")?;
        let gl = c.u8("XA gtrid length")?;
        let bl = c.u8("XA bqual length")?;
        let gtrid = lossy(c.bytes(usize::from(gl), "XA gtrid")?);
        let bqual = lossy(c.bytes(usize::from(bl), "XA bqual")?);
        g.xa_xid = Some((format_id, gtrid, bqual));
    } else {
        // Six reserved bytes follow when there is no commit id.
        if c.remaining() >= 6 {
            c.skip(6, "GTID reserved bytes")?;
        }
    }
    if !c.is_empty() {
        let fe = c.u8("GTID extra flags")?;
        g.flags_extra = Some(fe);
        if fe & 1 != 0 {
            g.extra_engines = Some(c.u8("GTID extra engines")?);
        }
        if fe & (4 | 8) != 0 {
            g.sa_seq_no = Some(c.u64_le("GTID start-alter sequence number")?);
        }
        // Later MariaDB versions add more fields; they only add
        // information and the event's length bounds them.
        c.rest();
    }
    Ok(g)
}

pub(crate) fn read_mariadb_gtid_list(c: &mut Cursor<'_>) -> Result<MariadbGtidListEvent> {
    let at = c.offset();
    let v = c.u32_le("GTID_LIST count")?;
    let count = v & 0x0fff_ffff;
    let flags = (v >> 28) as u8;
    if u64::from(count) > (c.remaining() / 16) as u64 {
        return Err(DecodeError::Invalid {
            what: "GTID_LIST count",
            offset: at,
            value: u64::from(count),
            reason: "more entries than the event's bytes can hold",
        });
    }
    let mut gtids = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let domain_id = c.u32_le("GTID_LIST domain")?;
        let server_id = c.u32_le("GTID_LIST server")?;
        let sequence = c.u64_le("GTID_LIST sequence")?;
        gtids.push(crate::position::MariadbGtid {
            domain_id,
            server_id,
            sequence,
        });
    }
    Ok(MariadbGtidListEvent { gtids, flags })
}
