//! What a binlog file holds, event by event, as plain data: the writer
//! records it as it writes ([`super::BinlogFile::entries`]), and the
//! oracle builds it from mysql_common's reading of the bytes
//! ([`super::oracle::read`]), so a test compares the two with one
//! `assert_eq!`.

use super::gtid::Gtid;
use super::value::Value;

/// One event.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// FORMAT_DESCRIPTION.
    FormatDescription {
        /// The server version text.
        server_version: String,
        /// True when events carry a CRC32.
        checksum: bool,
    },
    /// PREVIOUS_GTIDS, as MySQL's GTID set text.
    PreviousGtids(String),
    /// GTID, ANONYMOUS_GTID or GTID_TAGGED.
    Gtid(GtidEntry),
    /// QUERY (`BEGIN` or a DDL).
    Query(QueryEntry),
    /// TABLE_MAP.
    TableMap(TableMapEntry),
    /// A rows event.
    Rows(RowsEntry),
    /// XID.
    Xid(u64),
    /// TRANSACTION_PAYLOAD with the events inside.
    Payload(PayloadEntry),
    /// ROTATE.
    Rotate {
        /// The position in the next file.
        position: u64,
        /// The next file's name.
        next: String,
    },
    /// STOP.
    Stop,
    /// An event written raw with [`super::BinlogFile::raw_event`].
    Other {
        /// The type code.
        type_code: u8,
        /// The body (without header and checksum).
        body: Vec<u8>,
    },
}

/// A GTID event's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GtidEntry {
    /// The GTID (anonymous, `uuid:gno` or tagged).
    pub gtid: Gtid,
    /// The flags (1: the transaction may hold statement-based events, set
    /// for DDL).
    pub flags: u8,
    /// The logical clock: the last transaction this one depends on.
    pub last_committed: u64,
    /// The logical clock: this transaction's number in the file.
    pub sequence_number: u64,
    /// When the transaction committed on this server (microseconds).
    pub immediate_commit_timestamp: u64,
    /// When it committed on its originating server.
    pub original_commit_timestamp: u64,
    /// The transaction's length in bytes, this event included.
    pub transaction_length: u64,
    /// This server's version (`80040`).
    pub immediate_server_version: u32,
    /// The originating server's version.
    pub original_server_version: u32,
}

/// A QUERY event's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryEntry {
    /// The session's thread id.
    pub thread_id: u32,
    /// The default database.
    pub schema: String,
    /// The statement.
    pub query: Vec<u8>,
    /// The status variables written.
    pub status: QueryStatus,
}

/// The status variables of a QUERY event that the writer sets.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct QueryStatus {
    /// Q_FLAGS2_CODE.
    pub flags2: Option<u32>,
    /// Q_SQL_MODE_CODE.
    pub sql_mode: Option<u64>,
    /// Q_CATALOG_NZ_CODE (`std`).
    pub catalog: Option<String>,
    /// Q_CHARSET_CODE: character_set_client, collation_connection,
    /// collation_server.
    pub charset: Option<(u16, u16, u16)>,
    /// Q_TIME_ZONE_CODE, when the session's time zone was used.
    pub time_zone: Option<String>,
    /// Q_TABLE_MAP_FOR_UPDATE_CODE.
    pub table_map_for_update: Option<u64>,
    /// Q_UPDATED_DB_NAMES (DDL).
    pub updated_db_names: Option<Vec<String>>,
    /// Q_DDL_LOGGED_WITH_XID (DDL).
    pub ddl_xid: Option<u64>,
    /// Q_DEFAULT_COLLATION_FOR_UTF8MB4.
    pub default_collation_for_utf8mb4: Option<u16>,
    /// Q_SQL_REQUIRE_PRIMARY_KEY (DDL).
    pub sql_require_primary_key: Option<u8>,
}

/// A TABLE_MAP event's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMapEntry {
    /// The table id.
    pub table_id: u64,
    /// The flags.
    pub flags: u16,
    /// The database.
    pub schema: String,
    /// The table.
    pub table: String,
    /// Per column: type code, metadata bytes, nullable.
    pub columns: Vec<(u8, Vec<u8>, bool)>,
    /// The optional metadata fields present.
    pub optional: OptionalMetadata,
}

/// The optional metadata fields of a TABLE_MAP event
/// (`Table_map_event::Optional_metadata_field_type`), each as written.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OptionalMetadata {
    /// SIGNEDNESS (1): one flag per numeric column, true for UNSIGNED.
    pub signedness: Option<Vec<bool>>,
    /// DEFAULT_CHARSET (2): the default collation and the (index among
    /// character columns, collation) exceptions.
    pub default_charset: Option<(u16, Vec<(u64, u16)>)>,
    /// COLUMN_CHARSET (3): one collation per character column.
    pub column_charsets: Option<Vec<u16>>,
    /// COLUMN_NAME (4).
    pub column_names: Option<Vec<String>>,
    /// SET_STR_VALUE (5): the members of each SET column.
    pub set_values: Option<Vec<Vec<Vec<u8>>>>,
    /// ENUM_STR_VALUE (6): the members of each ENUM column.
    pub enum_values: Option<Vec<Vec<Vec<u8>>>>,
    /// GEOMETRY_TYPE (7): one per GEOMETRY column.
    pub geometry_types: Option<Vec<u32>>,
    /// SIMPLE_PRIMARY_KEY (8): the key's column indexes.
    pub simple_primary_key: Option<Vec<u64>>,
    /// PRIMARY_KEY_WITH_PREFIX (9): (column index, prefix length).
    pub primary_key_with_prefix: Option<Vec<(u64, u64)>>,
    /// ENUM_AND_SET_DEFAULT_CHARSET (10).
    pub enum_and_set_default_charset: Option<(u16, Vec<(u64, u16)>)>,
    /// ENUM_AND_SET_COLUMN_CHARSET (11).
    pub enum_and_set_column_charsets: Option<Vec<u16>>,
    /// COLUMN_VISIBILITY (12): one flag per column, true for visible.
    pub column_visibility: Option<Vec<bool>>,
}

/// The kind of a rows event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowsKind {
    /// WRITE_ROWS (v2).
    Write,
    /// UPDATE_ROWS (v2).
    Update,
    /// DELETE_ROWS (v2).
    Delete,
    /// PARTIAL_UPDATE_ROWS.
    PartialUpdate,
}

impl RowsKind {
    /// The event type code.
    pub fn type_code(self) -> u8 {
        match self {
            RowsKind::Write => 30,
            RowsKind::Update => 31,
            RowsKind::Delete => 32,
            RowsKind::PartialUpdate => 39,
        }
    }
}

/// A row image: one slot per column of the table, `None` for a column not
/// in the image.
pub type Image = Vec<Option<Value>>;

/// One row of a rows event.
#[derive(Clone, Debug, PartialEq)]
pub struct RowChange {
    /// The before image (updates and deletes).
    pub before: Option<Image>,
    /// The after image (inserts and updates).
    pub after: Option<Image>,
}

/// A rows event's fields.
#[derive(Clone, Debug, PartialEq)]
pub struct RowsEntry {
    /// Which kind.
    pub kind: RowsKind,
    /// The table id.
    pub table_id: u64,
    /// The flags (1 = STMT_END_F on the statement's last event).
    pub flags: u16,
    /// The columns in the before image (updates and deletes).
    pub columns_before: Option<Vec<bool>>,
    /// The columns in the after image (inserts and updates).
    pub columns_after: Option<Vec<bool>>,
    /// The rows.
    pub rows: Vec<RowChange>,
}

/// A TRANSACTION_PAYLOAD event's fields and the events inside.
#[derive(Clone, Debug, PartialEq)]
pub struct PayloadEntry {
    /// 0 for zstd, 255 for none.
    pub compression_type: u8,
    /// The uncompressed size the header declares.
    pub uncompressed_size: u64,
    /// The events inside.
    pub events: Vec<Entry>,
}
