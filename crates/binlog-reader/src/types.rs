//! Event type codes, column type codes, column descriptions and row values.
//!
//! Codes and layouts follow MySQL's `libbinlogevents/include/binlog_event.h`
//! and `field_types.h`, and MariaDB's `sql/log_event.h`.

use serde::Serialize;

/// A binlog event type code. A plain code rather than an enum, so an
/// unknown type is representable and can be reported with its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EventType(pub u8);

macro_rules! event_types {
    ($($name:ident = $code:expr,)*) => {
        impl EventType {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($code), ").")]
                pub const $name: EventType = EventType($code);
            )*

            /// The type's name as the servers' sources spell it, or `UNKNOWN`.
            pub fn name(self) -> &'static str {
                match self.0 {
                    $($code => stringify!($name),)*
                    _ => "UNKNOWN",
                }
            }
        }
    };
}

event_types! {
    START_EVENT_V3 = 1,
    QUERY = 2,
    STOP = 3,
    ROTATE = 4,
    INTVAR = 5,
    LOAD = 6,
    SLAVE = 7,
    CREATE_FILE = 8,
    APPEND_BLOCK = 9,
    EXEC_LOAD = 10,
    DELETE_FILE = 11,
    NEW_LOAD = 12,
    RAND = 13,
    USER_VAR = 14,
    FORMAT_DESCRIPTION = 15,
    XID = 16,
    BEGIN_LOAD_QUERY = 17,
    EXECUTE_LOAD_QUERY = 18,
    TABLE_MAP = 19,
    PRE_GA_WRITE_ROWS = 20,
    PRE_GA_UPDATE_ROWS = 21,
    PRE_GA_DELETE_ROWS = 22,
    WRITE_ROWS_V1 = 23,
    UPDATE_ROWS_V1 = 24,
    DELETE_ROWS_V1 = 25,
    INCIDENT = 26,
    HEARTBEAT = 27,
    IGNORABLE = 28,
    ROWS_QUERY = 29,
    WRITE_ROWS = 30,
    UPDATE_ROWS = 31,
    DELETE_ROWS = 32,
    GTID = 33,
    ANONYMOUS_GTID = 34,
    PREVIOUS_GTIDS = 35,
    TRANSACTION_CONTEXT = 36,
    VIEW_CHANGE = 37,
    XA_PREPARE = 38,
    PARTIAL_UPDATE_ROWS = 39,
    TRANSACTION_PAYLOAD = 40,
    HEARTBEAT_V2 = 41,
    GTID_TAGGED = 42,
    MARIADB_ANNOTATE_ROWS = 160,
    MARIADB_BINLOG_CHECKPOINT = 161,
    MARIADB_GTID = 162,
    MARIADB_GTID_LIST = 163,
    MARIADB_START_ENCRYPTION = 164,
    MARIADB_QUERY_COMPRESSED = 165,
    MARIADB_WRITE_ROWS_COMPRESSED_V1 = 166,
    MARIADB_UPDATE_ROWS_COMPRESSED_V1 = 167,
    MARIADB_DELETE_ROWS_COMPRESSED_V1 = 168,
    MARIADB_WRITE_ROWS_COMPRESSED = 169,
    MARIADB_UPDATE_ROWS_COMPRESSED = 170,
    MARIADB_DELETE_ROWS_COMPRESSED = 171,
}

/// A column type code as a TABLE_MAP event carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ColumnType(pub u8);

macro_rules! column_types {
    ($($name:ident = $code:expr,)*) => {
        impl ColumnType {
            $(
                #[doc = concat!("`MYSQL_TYPE_", stringify!($name), "` (", stringify!($code), ").")]
                pub const $name: ColumnType = ColumnType($code);
            )*

            /// The type's name without the `MYSQL_TYPE_` prefix, or `UNKNOWN`.
            pub fn name(self) -> &'static str {
                match self.0 {
                    $($code => stringify!($name),)*
                    _ => "UNKNOWN",
                }
            }
        }
    };
}

column_types! {
    DECIMAL = 0,
    TINY = 1,
    SHORT = 2,
    LONG = 3,
    FLOAT = 4,
    DOUBLE = 5,
    NULL = 6,
    TIMESTAMP = 7,
    LONGLONG = 8,
    INT24 = 9,
    DATE = 10,
    TIME = 11,
    DATETIME = 12,
    YEAR = 13,
    NEWDATE = 14,
    VARCHAR = 15,
    BIT = 16,
    TIMESTAMP2 = 17,
    DATETIME2 = 18,
    TIME2 = 19,
    TYPED_ARRAY = 20,
    BLOB_COMPRESSED = 140,
    VARCHAR_COMPRESSED = 141,
    VECTOR = 242,
    JSON = 245,
    NEWDECIMAL = 246,
    ENUM = 247,
    SET = 248,
    TINY_BLOB = 249,
    MEDIUM_BLOB = 250,
    LONG_BLOB = 251,
    BLOB = 252,
    VAR_STRING = 253,
    STRING = 254,
    GEOMETRY = 255,
}

impl ColumnType {
    /// How many metadata bytes a TABLE_MAP event carries for this type.
    /// `None` for a type whose metadata size is unknown (the table map cannot
    /// be read past it).
    pub fn metadata_len(self) -> Option<usize> {
        Some(match self {
            ColumnType::FLOAT
            | ColumnType::DOUBLE
            | ColumnType::BLOB
            | ColumnType::TINY_BLOB
            | ColumnType::MEDIUM_BLOB
            | ColumnType::LONG_BLOB
            | ColumnType::GEOMETRY
            | ColumnType::JSON
            | ColumnType::TIMESTAMP2
            | ColumnType::DATETIME2
            | ColumnType::TIME2
            | ColumnType::BLOB_COMPRESSED
            | ColumnType::VECTOR => 1,
            ColumnType::VARCHAR
            | ColumnType::VAR_STRING
            | ColumnType::VARCHAR_COMPRESSED
            | ColumnType::BIT
            | ColumnType::NEWDECIMAL
            | ColumnType::DECIMAL
            | ColumnType::STRING
            | ColumnType::ENUM
            | ColumnType::SET => 2,
            ColumnType::TINY
            | ColumnType::SHORT
            | ColumnType::LONG
            | ColumnType::LONGLONG
            | ColumnType::INT24
            | ColumnType::NULL
            | ColumnType::TIMESTAMP
            | ColumnType::DATE
            | ColumnType::TIME
            | ColumnType::DATETIME
            | ColumnType::YEAR
            | ColumnType::NEWDATE => 0,
            _ => return None,
        })
    }

    /// True for the integer types, whose signedness matters.
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            ColumnType::TINY
                | ColumnType::SHORT
                | ColumnType::INT24
                | ColumnType::LONG
                | ColumnType::LONGLONG
        )
    }
}

/// What is known about one column when its values are decoded: the type and
/// metadata from the TABLE_MAP event, plus what the optional metadata (or
/// the caller, from its schema) adds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ColumnInfo {
    /// The type code as the TABLE_MAP event carries it (for ENUM and SET
    /// columns this is usually `STRING`; see [`ColumnInfo::real_type`]).
    pub column_type: ColumnTypeOrDefault,
    /// The type-specific metadata (0 to 2 bytes, little-endian as read).
    pub meta: u16,
    /// Whether the column may be NULL.
    pub nullable: bool,
    /// Signedness of an integer column: `None` when neither the binlog nor
    /// the caller says.
    pub unsigned: Option<bool>,
    /// The collation id of a character column, when known.
    pub collation: Option<u16>,
    /// The column's name, when known.
    pub name: Option<String>,
    /// ENUM member names, when known.
    pub enum_values: Option<Vec<Vec<u8>>>,
    /// SET member names, when known.
    pub set_values: Option<Vec<Vec<u8>>>,
    /// The geometry type of a GEOMETRY column, when known.
    pub geometry_type: Option<u32>,
    /// Whether the column is part of the primary key, when known.
    pub primary_key: Option<bool>,
    /// Whether the column is visible (MySQL 8 invisible columns), when known.
    pub visible: Option<bool>,
}

/// A column type that defaults to `NULL` so [`ColumnInfo`] can derive
/// `Default`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ColumnTypeOrDefault(pub ColumnType);

impl Default for ColumnTypeOrDefault {
    fn default() -> Self {
        ColumnTypeOrDefault(ColumnType::NULL)
    }
}

impl ColumnInfo {
    /// A column of `column_type` with `meta` and nothing else known.
    pub fn new(column_type: ColumnType, meta: u16) -> Self {
        ColumnInfo {
            column_type: ColumnTypeOrDefault(column_type),
            meta,
            ..ColumnInfo::default()
        }
    }

    /// The column's real type: for `STRING` columns, the first metadata
    /// byte names ENUM, SET or STRING (MySQL's `real_type`).
    pub fn real_type(&self) -> ColumnType {
        let t = self.column_type.0;
        if t == ColumnType::STRING {
            let m0 = (self.meta & 0xff) as u8;
            if m0 != 0 {
                // When (m0 & 0x30) != 0x30 the top bits of the length are
                // stored in m0 and the real type is m0 | 0x30.
                let real = if m0 & 0x30 != 0x30 { m0 | 0x30 } else { m0 };
                return ColumnType(real);
            }
        }
        t
    }
}

/// One column's value in a row image, exact.
///
/// Serialized (for `dts binlog dump --json`) as `{"type": kind, "value": v}`:
/// integers and floats as JSON numbers (floats in their shortest form that
/// reads back to the same bits), DECIMAL as a string, bytes as a string
/// when they are valid UTF-8 and otherwise as `"hex"`, temporal values by
/// their fields.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A signed integer (TINYINT to BIGINT).
    Int(i64),
    /// An unsigned integer (TINYINT UNSIGNED to BIGINT UNSIGNED).
    UInt(u64),
    /// An integer whose signedness neither the binlog nor the caller gave:
    /// the raw little-endian bits and the width in bytes.
    IntUnknownSign {
        /// The raw bits, zero-extended.
        raw: u64,
        /// The width in bytes (1, 2, 3, 4 or 8).
        bytes: u8,
    },
    /// A FLOAT, bit-exact.
    Float(f32),
    /// A DOUBLE, bit-exact.
    Double(f64),
    /// A DECIMAL as exact text (`-12.3400`), with all scale digits.
    Decimal(String),
    /// A YEAR: 0 stays 0, otherwise 1901 to 2155.
    Year(u16),
    /// A DATE; zero and partial-zero dates are kept as stored.
    Date {
        /// Year (0 to 9999).
        year: u16,
        /// Month (0 to 12).
        month: u8,
        /// Day (0 to 31).
        day: u8,
    },
    /// A DATETIME with its fractional-second precision.
    DateTime {
        /// Year.
        year: u16,
        /// Month.
        month: u8,
        /// Day.
        day: u8,
        /// Hour.
        hour: u8,
        /// Minute.
        minute: u8,
        /// Second.
        second: u8,
        /// Microseconds.
        micros: u32,
        /// Fractional-second precision (0 to 6).
        fsp: u8,
    },
    /// A TIMESTAMP as seconds since the epoch in UTC: independent of any
    /// time zone. 0 is the zero timestamp.
    Timestamp {
        /// Seconds since 1970-01-01 00:00:00 UTC.
        seconds: u32,
        /// Microseconds.
        micros: u32,
        /// Fractional-second precision (0 to 6).
        fsp: u8,
    },
    /// A TIME, which may be negative and beyond 24 hours.
    Time {
        /// True for a negative time (including `-00:00:00.01`).
        negative: bool,
        /// Hours (may exceed 24, and 255).
        hours: u32,
        /// Minutes.
        minutes: u8,
        /// Seconds.
        seconds: u8,
        /// Microseconds.
        micros: u32,
        /// Fractional-second precision (0 to 6).
        fsp: u8,
    },
    /// A BIT(n) value, right-aligned.
    Bit {
        /// The value.
        value: u64,
        /// The column's width in bits.
        width: u16,
    },
    /// An ENUM's 1-based index (0 is the empty "error" value).
    Enum(u16),
    /// A SET's bitmask.
    Set(u64),
    /// A string or blob as stored, in the column's charset, untouched.
    Bytes(Vec<u8>),
    /// A MySQL JSON value, from its binary form to text.
    Json(String),
    /// A MySQL partial JSON update: the diffs to apply to the before image.
    JsonDiffs(Vec<JsonDiff>),
    /// A GEOMETRY: SRID and WKB.
    Geometry {
        /// The spatial reference id.
        srid: u32,
        /// The well-known binary.
        wkb: Vec<u8>,
    },
}

/// One operation of a MySQL partial JSON update (`binlog_row_value_options=PARTIAL_JSON`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JsonDiff {
    /// `replace`, `insert` or `remove`.
    pub operation: JsonDiffOperation,
    /// The JSON path, as text (`$.a[1]`).
    pub path: String,
    /// The new value as JSON text (`None` for `remove`).
    pub value: Option<String>,
}

/// The operation of a [`JsonDiff`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonDiffOperation {
    /// `JSON_REPLACE`.
    Replace,
    /// `JSON_INSERT` / `JSON_ARRAY_INSERT`.
    Insert,
    /// `JSON_REMOVE`.
    Remove,
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        match self {
            Value::Null => m.serialize_entry("type", "null")?,
            Value::Int(v) => {
                m.serialize_entry("type", "int")?;
                m.serialize_entry("value", v)?;
            }
            Value::UInt(v) => {
                m.serialize_entry("type", "uint")?;
                m.serialize_entry("value", v)?;
            }
            Value::IntUnknownSign { raw, bytes } => {
                m.serialize_entry("type", "int_unknown_sign")?;
                m.serialize_entry("raw", raw)?;
                m.serialize_entry("bytes", bytes)?;
            }
            Value::Float(v) => {
                m.serialize_entry("type", "float")?;
                m.serialize_entry("value", v)?;
            }
            Value::Double(v) => {
                m.serialize_entry("type", "double")?;
                m.serialize_entry("value", v)?;
            }
            Value::Decimal(v) => {
                m.serialize_entry("type", "decimal")?;
                m.serialize_entry("value", v)?;
            }
            Value::Year(v) => {
                m.serialize_entry("type", "year")?;
                m.serialize_entry("value", v)?;
            }
            Value::Date { year, month, day } => {
                m.serialize_entry("type", "date")?;
                m.serialize_entry("value", &format!("{year:04}-{month:02}-{day:02}"))?;
            }
            Value::DateTime {
                year,
                month,
                day,
                hour,
                minute,
                second,
                micros,
                fsp,
            } => {
                m.serialize_entry("type", "datetime")?;
                m.serialize_entry(
                    "value",
                    &format!(
                        "{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}{}",
                        frac(*micros, *fsp)
                    ),
                )?;
            }
            Value::Timestamp {
                seconds,
                micros,
                fsp,
            } => {
                m.serialize_entry("type", "timestamp")?;
                m.serialize_entry("value", &format!("{seconds}{}", frac(*micros, *fsp)))?;
            }
            Value::Time {
                negative,
                hours,
                minutes,
                seconds,
                micros,
                fsp,
            } => {
                m.serialize_entry("type", "time")?;
                m.serialize_entry(
                    "value",
                    &format!(
                        "{}{hours:02}:{minutes:02}:{seconds:02}{}",
                        if *negative { "-" } else { "" },
                        frac(*micros, *fsp)
                    ),
                )?;
            }
            Value::Bit { value, width } => {
                m.serialize_entry("type", "bit")?;
                m.serialize_entry("value", value)?;
                m.serialize_entry("width", width)?;
            }
            Value::Enum(v) => {
                m.serialize_entry("type", "enum")?;
                m.serialize_entry("value", v)?;
            }
            Value::Set(v) => {
                m.serialize_entry("type", "set")?;
                m.serialize_entry("value", v)?;
            }
            Value::Bytes(b) => {
                m.serialize_entry("type", "bytes")?;
                match std::str::from_utf8(b) {
                    Ok(t) => m.serialize_entry("value", t)?,
                    Err(_) => m.serialize_entry("hex", &hex(b))?,
                }
            }
            Value::Json(t) => {
                m.serialize_entry("type", "json")?;
                m.serialize_entry("value", t)?;
            }
            Value::JsonDiffs(d) => {
                m.serialize_entry("type", "json_diffs")?;
                m.serialize_entry("value", d)?;
            }
            Value::Geometry { srid, wkb } => {
                m.serialize_entry("type", "geometry")?;
                m.serialize_entry("srid", srid)?;
                m.serialize_entry("wkb", &hex(wkb))?;
            }
        }
        m.end()
    }
}

/// `.123456` cut to `fsp` digits; empty for fsp 0.
pub(crate) fn frac(micros: u32, fsp: u8) -> String {
    if fsp == 0 {
        return String::new();
    }
    let digits = format!("{micros:06}");
    format!(
        ".{}",
        digits.get(..usize::from(fsp.min(6))).unwrap_or(&digits)
    )
}

/// Lowercase hex of bytes (as `dts binlog dump` prints binary values).
pub fn hex(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() * 2);
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in b {
        for nibble in [byte >> 4, byte & 15] {
            out.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    out
}
