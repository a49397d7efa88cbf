//! Server versions, collations, column types and table definitions: what a
//! TABLE_MAP event describes, and what decides how row values are laid out.
//!
//! Type codes and metadata follow MySQL's `Table_map_event` documentation
//! (`libs/mysql/binlog/event/rows_event.h`) and the per-type
//! `save_field_metadata` of `sql/field.cc`.

use crate::quote_ident;

/// A MySQL server version whose binlog layout the writer reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MySqlVersion {
    /// MySQL 8.0.40: the version of the real file in MariaDB's test data
    /// (`std_data/mdev35643_mysql_80_binlog.000001`), whose layout the
    /// writer was checked against byte by byte.
    V8_0_40,
    /// MySQL 8.4.3 (LTS): tagged GTIDs, no V1 rows events.
    V8_4_3,
}

impl MySqlVersion {
    /// Both versions, for tests that run every case on each.
    pub const ALL: [MySqlVersion; 2] = [MySqlVersion::V8_0_40, MySqlVersion::V8_4_3];

    /// The version text of the FORMAT_DESCRIPTION event.
    pub fn server_version(self) -> &'static str {
        match self {
            MySqlVersion::V8_0_40 => "8.0.40",
            MySqlVersion::V8_4_3 => "8.4.3",
        }
    }

    /// The numeric version (`80040`) that GTID events carry.
    pub fn version_id(self) -> u32 {
        match self {
            MySqlVersion::V8_0_40 => 80040,
            MySqlVersion::V8_4_3 => 80403,
        }
    }

    /// True when the version writes tagged GTIDs (MySQL 8.3 and later).
    pub fn has_tagged_gtids(self) -> bool {
        self == MySqlVersion::V8_4_3
    }

    /// The FORMAT_DESCRIPTION's post-header lengths, one per event type
    /// from 1 on. MySQL 8.0.40 writes 41 entries (through
    /// HEARTBEAT_LOG_EVENT_V2); 8.4 adds GTID_TAGGED_LOG_EVENT and writes 0
    /// for the V1 rows events it removed. TRANSACTION_PAYLOAD's entry is 40
    /// on both (the server stores the event type code there; the real 8.0.40
    /// file shows it).
    pub(crate) fn post_header_lengths(self) -> Vec<u8> {
        let v1_rows = match self {
            MySqlVersion::V8_0_40 => 8,
            MySqlVersion::V8_4_3 => 0,
        };
        let event_types: u8 = match self {
            MySqlVersion::V8_0_40 => 41,
            MySqlVersion::V8_4_3 => 42,
        };
        // FORMAT_DESCRIPTION_HEADER_LEN: the start-v3 post-header (56), one
        // byte for the common header length, one per event type.
        let fde = 56 + 1 + event_types;
        let mut v = vec![
            0,       // 1 START_EVENT_V3 (removed)
            13,      // 2 QUERY
            0,       // 3 STOP
            8,       // 4 ROTATE
            0,       // 5 INTVAR
            0,       // 6 LOAD (removed)
            0,       // 7 SLAVE (removed)
            0,       // 8 CREATE_FILE (removed)
            4,       // 9 APPEND_BLOCK
            0,       // 10 EXEC_LOAD (removed)
            4,       // 11 DELETE_FILE
            0,       // 12 NEW_LOAD (removed)
            0,       // 13 RAND
            0,       // 14 USER_VAR
            fde,     // 15 FORMAT_DESCRIPTION
            0,       // 16 XID
            4,       // 17 BEGIN_LOAD_QUERY
            26,      // 18 EXECUTE_LOAD_QUERY
            8,       // 19 TABLE_MAP
            0,       // 20 PRE_GA_WRITE_ROWS
            0,       // 21 PRE_GA_UPDATE_ROWS
            0,       // 22 PRE_GA_DELETE_ROWS
            v1_rows, // 23 WRITE_ROWS_V1
            v1_rows, // 24 UPDATE_ROWS_V1
            v1_rows, // 25 DELETE_ROWS_V1
            2,       // 26 INCIDENT
            0,       // 27 HEARTBEAT
            0,       // 28 IGNORABLE
            0,       // 29 ROWS_QUERY
            10,      // 30 WRITE_ROWS
            10,      // 31 UPDATE_ROWS
            10,      // 32 DELETE_ROWS
            42,      // 33 GTID
            42,      // 34 ANONYMOUS_GTID
            0,       // 35 PREVIOUS_GTIDS
            18,      // 36 TRANSACTION_CONTEXT
            52,      // 37 VIEW_CHANGE
            0,       // 38 XA_PREPARE
            10,      // 39 PARTIAL_UPDATE_ROWS
            40,      // 40 TRANSACTION_PAYLOAD
            0,       // 41 HEARTBEAT_V2
        ];
        if self == MySqlVersion::V8_4_3 {
            v.push(0); // 42 GTID_TAGGED
        }
        v
    }
}

/// A collation id as the binlog carries it (`information_schema.COLLATIONS.ID`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Collation(pub u16);

impl Collation {
    /// `utf8mb4_0900_ai_ci`, MySQL 8's default.
    pub const UTF8MB4_0900_AI_CI: Collation = Collation(255);
    /// `utf8mb4_general_ci`.
    pub const UTF8MB4_GENERAL_CI: Collation = Collation(45);
    /// `utf8mb4_bin`.
    pub const UTF8MB4_BIN: Collation = Collation(46);
    /// `utf8mb3_general_ci` (`utf8`).
    pub const UTF8MB3_GENERAL_CI: Collation = Collation(33);
    /// `latin1_swedish_ci`.
    pub const LATIN1_SWEDISH_CI: Collation = Collation(8);
    /// `latin1_bin`.
    pub const LATIN1_BIN: Collation = Collation(47);
    /// `gbk_chinese_ci`.
    pub const GBK_CHINESE_CI: Collation = Collation(28);
    /// `ascii_general_ci`.
    pub const ASCII_GENERAL_CI: Collation = Collation(11);
    /// `binary`: BINARY, VARBINARY and BLOB columns.
    pub const BINARY: Collation = Collation(63);

    /// The most bytes one character takes (`mbmaxlen`), which turns a
    /// declared character length into the byte length the binlog carries.
    ///
    /// # Panics
    ///
    /// For a collation the writer does not know: add it here.
    pub fn max_bytes_per_char(self) -> u16 {
        match self.0 {
            255 | 45 | 46 => 4,
            33 => 3,
            28 => 2,
            8 | 47 | 11 | 63 => 1,
            other => panic!("mysql_binlog: collation {other} is not known to the writer; add its mbmaxlen to Collation::max_bytes_per_char"),
        }
    }

    /// The byte a CHAR/BINARY value is padded with: `0x00` for binary,
    /// a space for the others. MySQL strips it from the end of the value
    /// when it logs the row (`Field_string::pack`).
    pub fn pad_byte(self) -> u8 {
        if self == Collation::BINARY {
            0
        } else {
            b' '
        }
    }
}

/// How many bytes a BLOB/TEXT value's length takes: the type's size class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlobSize {
    /// TINYBLOB / TINYTEXT: 1 length byte.
    Tiny,
    /// BLOB / TEXT: 2 length bytes.
    Blob,
    /// MEDIUMBLOB / MEDIUMTEXT: 3 length bytes.
    Medium,
    /// LONGBLOB / LONGTEXT: 4 length bytes.
    Long,
}

impl BlobSize {
    /// The length-prefix size (the TABLE_MAP metadata byte).
    pub fn length_bytes(self) -> u8 {
        match self {
            BlobSize::Tiny => 1,
            BlobSize::Blob => 2,
            BlobSize::Medium => 3,
            BlobSize::Long => 4,
        }
    }

    /// The longest value the type holds.
    pub fn max_len(self) -> u64 {
        (1u64 << (8 * u32::from(self.length_bytes()))) - 1
    }
}

/// The geometry type of a GEOMETRY column, as the optional metadata's
/// GEOMETRY_TYPE field carries it (`Field::geometry_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GeometryKind {
    /// GEOMETRY.
    Geometry = 0,
    /// POINT.
    Point = 1,
    /// LINESTRING.
    LineString = 2,
    /// POLYGON.
    Polygon = 3,
    /// MULTIPOINT.
    MultiPoint = 4,
    /// MULTILINESTRING.
    MultiLineString = 5,
    /// MULTIPOLYGON.
    MultiPolygon = 6,
    /// GEOMETRYCOLLECTION.
    GeometryCollection = 7,
}

/// A column's SQL type, with what the binlog needs to know about it.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnType {
    /// TINYINT.
    TinyInt {
        /// UNSIGNED.
        unsigned: bool,
    },
    /// SMALLINT.
    SmallInt {
        /// UNSIGNED.
        unsigned: bool,
    },
    /// MEDIUMINT.
    MediumInt {
        /// UNSIGNED.
        unsigned: bool,
    },
    /// INT.
    Int {
        /// UNSIGNED.
        unsigned: bool,
    },
    /// BIGINT.
    BigInt {
        /// UNSIGNED.
        unsigned: bool,
    },
    /// FLOAT (also FLOAT(M,D): the binlog carries only the 4-byte value).
    Float,
    /// DOUBLE.
    Double,
    /// DECIMAL(precision, scale).
    Decimal {
        /// 1 to 65 digits.
        precision: u8,
        /// 0 to 30 digits after the point, at most `precision`.
        scale: u8,
        /// UNSIGNED.
        unsigned: bool,
    },
    /// YEAR.
    Year,
    /// DATE.
    Date,
    /// TIME(fsp).
    Time {
        /// Fractional-second precision, 0 to 6.
        fsp: u8,
    },
    /// DATETIME(fsp).
    DateTime {
        /// Fractional-second precision, 0 to 6.
        fsp: u8,
    },
    /// TIMESTAMP(fsp).
    Timestamp {
        /// Fractional-second precision, 0 to 6.
        fsp: u8,
    },
    /// BIT(width).
    Bit {
        /// 1 to 64.
        width: u8,
    },
    /// ENUM: logged as MYSQL_TYPE_STRING with ENUM as the real type.
    Enum {
        /// The member names, in order (index 1 is the first).
        members: Vec<Vec<u8>>,
        /// The column's collation.
        collation: Collation,
    },
    /// SET: logged as MYSQL_TYPE_STRING with SET as the real type.
    Set {
        /// The member names, in order (bit 0 is the first).
        members: Vec<Vec<u8>>,
        /// The column's collation.
        collation: Collation,
    },
    /// CHAR(chars), or BINARY(chars) with the binary collation.
    Char {
        /// The declared length in characters (0 to 255).
        chars: u16,
        /// The column's collation.
        collation: Collation,
    },
    /// VARCHAR(chars), or VARBINARY(chars) with the binary collation.
    VarChar {
        /// The declared length in characters.
        chars: u16,
        /// The column's collation.
        collation: Collation,
    },
    /// TINYBLOB to LONGBLOB, or TINYTEXT to LONGTEXT with a character
    /// collation.
    Blob {
        /// The size class.
        size: BlobSize,
        /// The column's collation (binary for BLOBs).
        collation: Collation,
    },
    /// JSON.
    Json,
    /// GEOMETRY or one of its subtypes.
    Geometry {
        /// Which geometry type.
        kind: GeometryKind,
    },
}

/// MySQL's column type codes (`enum_field_types`).
pub(crate) mod code {
    pub(crate) const TINY: u8 = 1;
    pub(crate) const SHORT: u8 = 2;
    pub(crate) const LONG: u8 = 3;
    pub(crate) const FLOAT: u8 = 4;
    pub(crate) const DOUBLE: u8 = 5;
    pub(crate) const LONGLONG: u8 = 8;
    pub(crate) const INT24: u8 = 9;
    pub(crate) const DATE: u8 = 10;
    pub(crate) const YEAR: u8 = 13;
    pub(crate) const VARCHAR: u8 = 15;
    pub(crate) const BIT: u8 = 16;
    pub(crate) const TIMESTAMP2: u8 = 17;
    pub(crate) const DATETIME2: u8 = 18;
    pub(crate) const TIME2: u8 = 19;
    pub(crate) const JSON: u8 = 245;
    pub(crate) const NEWDECIMAL: u8 = 246;
    pub(crate) const ENUM: u8 = 247;
    pub(crate) const SET: u8 = 248;
    pub(crate) const BLOB: u8 = 252;
    pub(crate) const STRING: u8 = 254;
    pub(crate) const GEOMETRY: u8 = 255;
}

impl ColumnType {
    /// CHAR(chars) in `collation`.
    pub fn char(chars: u16, collation: Collation) -> Self {
        ColumnType::Char { chars, collation }
    }

    /// BINARY(len).
    pub fn binary(len: u16) -> Self {
        ColumnType::Char {
            chars: len,
            collation: Collation::BINARY,
        }
    }

    /// VARCHAR(chars) in `collation`.
    pub fn varchar(chars: u16, collation: Collation) -> Self {
        ColumnType::VarChar { chars, collation }
    }

    /// VARBINARY(len).
    pub fn varbinary(len: u16) -> Self {
        ColumnType::VarChar {
            chars: len,
            collation: Collation::BINARY,
        }
    }

    /// A BLOB of `size`.
    pub fn blob(size: BlobSize) -> Self {
        ColumnType::Blob {
            size,
            collation: Collation::BINARY,
        }
    }

    /// A TEXT of `size` in `collation`.
    pub fn text(size: BlobSize, collation: Collation) -> Self {
        ColumnType::Blob { size, collation }
    }

    /// An ENUM of `members` in utf8mb4.
    pub fn enumeration(members: &[&str]) -> Self {
        ColumnType::Enum {
            members: members.iter().map(|m| m.as_bytes().to_vec()).collect(),
            collation: Collation::UTF8MB4_0900_AI_CI,
        }
    }

    /// A SET of `members` in utf8mb4.
    pub fn set(members: &[&str]) -> Self {
        ColumnType::Set {
            members: members.iter().map(|m| m.as_bytes().to_vec()).collect(),
            collation: Collation::UTF8MB4_0900_AI_CI,
        }
    }

    /// The type code the TABLE_MAP event carries (`Field::binlog_type`):
    /// ENUM, SET, CHAR and BINARY are all MYSQL_TYPE_STRING there.
    pub fn type_code(&self) -> u8 {
        match self {
            ColumnType::TinyInt { .. } => code::TINY,
            ColumnType::SmallInt { .. } => code::SHORT,
            ColumnType::MediumInt { .. } => code::INT24,
            ColumnType::Int { .. } => code::LONG,
            ColumnType::BigInt { .. } => code::LONGLONG,
            ColumnType::Float => code::FLOAT,
            ColumnType::Double => code::DOUBLE,
            ColumnType::Decimal { .. } => code::NEWDECIMAL,
            ColumnType::Year => code::YEAR,
            ColumnType::Date => code::DATE,
            ColumnType::Time { .. } => code::TIME2,
            ColumnType::DateTime { .. } => code::DATETIME2,
            ColumnType::Timestamp { .. } => code::TIMESTAMP2,
            ColumnType::Bit { .. } => code::BIT,
            ColumnType::Enum { .. } | ColumnType::Set { .. } | ColumnType::Char { .. } => {
                code::STRING
            }
            ColumnType::VarChar { .. } => code::VARCHAR,
            ColumnType::Blob { .. } => code::BLOB,
            ColumnType::Json => code::JSON,
            ColumnType::Geometry { .. } => code::GEOMETRY,
        }
    }

    /// The column's real type: ENUM and SET for those, the type code
    /// otherwise.
    pub fn real_type_code(&self) -> u8 {
        match self {
            ColumnType::Enum { .. } => code::ENUM,
            ColumnType::Set { .. } => code::SET,
            _ => self.type_code(),
        }
    }

    /// The TABLE_MAP metadata bytes, in the order they are written.
    ///
    /// # Panics
    ///
    /// When the type's parameters are out of MySQL's ranges (a test bug).
    pub fn metadata(&self) -> Vec<u8> {
        match self {
            ColumnType::TinyInt { .. }
            | ColumnType::SmallInt { .. }
            | ColumnType::MediumInt { .. }
            | ColumnType::Int { .. }
            | ColumnType::BigInt { .. }
            | ColumnType::Year
            | ColumnType::Date => Vec::new(),
            // The pack length (`sizeof(float)` / `sizeof(double)`).
            ColumnType::Float => vec![4],
            ColumnType::Double => vec![8],
            ColumnType::Decimal {
                precision, scale, ..
            } => {
                assert!(
                    (1..=65).contains(precision) && *scale <= 30 && scale <= precision,
                    "mysql_binlog: DECIMAL({precision},{scale}) is outside MySQL's limits"
                );
                vec![*precision, *scale]
            }
            ColumnType::Time { fsp }
            | ColumnType::DateTime { fsp }
            | ColumnType::Timestamp { fsp } => {
                assert!(
                    *fsp <= 6,
                    "mysql_binlog: fractional-second precision {fsp} is over 6"
                );
                vec![*fsp]
            }
            // `Field_bit::save_field_metadata`: bits in the partial byte,
            // then whole bytes.
            ColumnType::Bit { width } => {
                assert!(
                    (1..=64).contains(width),
                    "mysql_binlog: BIT({width}) is outside 1 to 64"
                );
                vec![width % 8, width / 8]
            }
            // `Field_enum::save_field_metadata`: the real type, then the
            // pack length.
            ColumnType::Enum { members, .. } => vec![code::ENUM, enum_pack_len(members.len())],
            ColumnType::Set { members, .. } => vec![code::SET, set_pack_len(members.len())],
            // `Field_string::save_field_metadata`: the real type with the
            // two high bits of the byte length folded in, then its low byte.
            ColumnType::Char { .. } => {
                let len = self.max_byte_len();
                assert!(
                    len <= 1023,
                    "mysql_binlog: a CHAR of {len} bytes is over MySQL's 255 characters of 4 bytes"
                );
                let len = len as u16;
                vec![
                    code::STRING ^ (((len & 0x300) >> 4) as u8),
                    (len & 0xff) as u8,
                ]
            }
            ColumnType::VarChar { .. } => {
                let len = self.max_byte_len();
                assert!(
                    len <= 65535,
                    "mysql_binlog: a VARCHAR of {len} bytes is over 65535"
                );
                (len as u16).to_le_bytes().to_vec()
            }
            ColumnType::Blob { size, .. } => vec![size.length_bytes()],
            // JSON and GEOMETRY are blobs with a 4-byte length.
            ColumnType::Json | ColumnType::Geometry { .. } => vec![4],
        }
    }

    /// The longest value in bytes: the declared length times the
    /// charset's widest character, for CHAR and VARCHAR.
    pub fn max_byte_len(&self) -> u64 {
        match self {
            ColumnType::Char { chars, collation } | ColumnType::VarChar { chars, collation } => {
                u64::from(*chars) * u64::from(collation.max_bytes_per_char())
            }
            ColumnType::Blob { size, .. } => size.max_len(),
            ColumnType::Json | ColumnType::Geometry { .. } => u64::from(u32::MAX),
            _ => 0,
        }
    }

    /// True for the types the SIGNEDNESS field has a bit for (MySQL's
    /// `is_numeric_type` in `sql/log_event.cc`: the integers, NEWDECIMAL,
    /// FLOAT and DOUBLE; not YEAR, not BIT).
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            ColumnType::TinyInt { .. }
                | ColumnType::SmallInt { .. }
                | ColumnType::MediumInt { .. }
                | ColumnType::Int { .. }
                | ColumnType::BigInt { .. }
                | ColumnType::Decimal { .. }
                | ColumnType::Float
                | ColumnType::Double
        )
    }

    /// True when the column is UNSIGNED (false for non-numeric types).
    pub fn is_unsigned(&self) -> bool {
        match self {
            ColumnType::TinyInt { unsigned }
            | ColumnType::SmallInt { unsigned }
            | ColumnType::MediumInt { unsigned }
            | ColumnType::Int { unsigned }
            | ColumnType::BigInt { unsigned }
            | ColumnType::Decimal { unsigned, .. } => *unsigned,
            _ => false,
        }
    }

    /// True for the types the DEFAULT_CHARSET / COLUMN_CHARSET fields have
    /// an entry for (MySQL's `is_character_type` on the binlog type: CHAR,
    /// BINARY, VARCHAR, VARBINARY, BLOB and TEXT; not ENUM or SET, which
    /// have their own fields, and not JSON or GEOMETRY).
    pub fn is_character(&self) -> bool {
        matches!(
            self,
            ColumnType::Char { .. } | ColumnType::VarChar { .. } | ColumnType::Blob { .. }
        )
    }

    /// True for ENUM and SET.
    pub fn is_enum_or_set(&self) -> bool {
        matches!(self, ColumnType::Enum { .. } | ColumnType::Set { .. })
    }

    /// True for the columns a NOBLOB row image leaves out when they did not
    /// change: BLOB, TEXT, JSON and GEOMETRY.
    pub fn is_blob_like(&self) -> bool {
        matches!(
            self,
            ColumnType::Blob { .. } | ColumnType::Json | ColumnType::Geometry { .. }
        )
    }

    /// The column's collation, for character, ENUM and SET columns.
    pub fn collation(&self) -> Option<Collation> {
        match self {
            ColumnType::Char { collation, .. }
            | ColumnType::VarChar { collation, .. }
            | ColumnType::Blob { collation, .. }
            | ColumnType::Enum { collation, .. }
            | ColumnType::Set { collation, .. } => Some(*collation),
            _ => None,
        }
    }
}

/// `get_enum_pack_length`: 1 byte up to 255 members, else 2.
pub(crate) fn enum_pack_len(members: usize) -> u8 {
    if members < 256 {
        1
    } else {
        2
    }
}

/// `get_set_pack_length`: one byte per 8 members, 8 bytes past 32.
pub(crate) fn set_pack_len(members: usize) -> u8 {
    let len = members.div_ceil(8).max(1);
    if len > 4 {
        8
    } else {
        len as u8
    }
}

/// One column of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// Its type.
    pub ty: ColumnType,
    /// Whether it may be NULL.
    pub nullable: bool,
    /// Whether it is visible (MySQL 8.0.23 INVISIBLE columns are not).
    pub visible: bool,
}

impl Column {
    /// A nullable, visible column.
    pub fn new(name: &str, ty: ColumnType) -> Self {
        Column {
            name: name.to_owned(),
            ty,
            nullable: true,
            visible: true,
        }
    }

    /// The same column, NOT NULL.
    pub fn not_null(mut self) -> Self {
        self.nullable = false;
        self
    }

    /// The same column, INVISIBLE.
    pub fn invisible(mut self) -> Self {
        self.visible = false;
        self
    }
}

/// What `binlog_row_metadata` the table's TABLE_MAP events are written
/// with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowMetadata {
    /// `FULL`: signedness, charsets, column names, ENUM/SET strings,
    /// geometry types, the primary key and column visibility.
    Full,
    /// `MINIMAL` (MySQL's default): signedness, the charsets of character
    /// columns and geometry types.
    Minimal,
    /// No optional metadata at all (as MySQL 5.7 wrote them).
    None,
}

/// How the charsets of character columns are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CharsetLayout {
    /// As MySQL chooses: DEFAULT_CHARSET (the most used collation and the
    /// exceptions) when that is not longer than COLUMN_CHARSET (every
    /// column's collation), else COLUMN_CHARSET.
    Auto,
    /// Always DEFAULT_CHARSET with exceptions.
    Default,
    /// Always COLUMN_CHARSET.
    PerColumn,
}

/// A table as the binlog describes it: its id, names, columns and key.
#[derive(Clone, Debug, PartialEq)]
pub struct TableDef {
    /// The table id the TABLE_MAP and rows events carry (48 bits).
    pub table_id: u64,
    /// The database.
    pub schema: String,
    /// The table.
    pub name: String,
    /// The columns, in table order.
    pub columns: Vec<Column>,
    /// The primary key: (column index, prefix length in characters, 0 for
    /// the whole column).
    pub primary_key: Vec<(usize, u32)>,
    /// Which optional metadata the TABLE_MAP carries.
    pub metadata: RowMetadata,
    /// How the charsets are laid out.
    pub charset_layout: CharsetLayout,
}

impl TableDef {
    /// An empty table `schema`.`name` with id `table_id`, FULL metadata.
    pub fn new(schema: &str, name: &str, table_id: u64) -> Self {
        TableDef {
            table_id,
            schema: schema.to_owned(),
            name: name.to_owned(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            metadata: RowMetadata::Full,
            charset_layout: CharsetLayout::Auto,
        }
    }

    /// Adds a column.
    pub fn column(mut self, column: Column) -> Self {
        self.columns.push(column);
        self
    }

    /// Adds a nullable column `name` of `ty`.
    pub fn col(self, name: &str, ty: ColumnType) -> Self {
        self.column(Column::new(name, ty))
    }

    /// Sets the primary key to the named columns (whole columns), which
    /// become NOT NULL as MySQL makes them.
    ///
    /// # Panics
    ///
    /// When a name is not a column of the table.
    pub fn primary_key(self, names: &[&str]) -> Self {
        let cols: Vec<(&str, u32)> = names.iter().map(|n| (*n, 0)).collect();
        self.primary_key_prefix(&cols)
    }

    /// Sets the primary key to (column, prefix length) pairs; a prefix of 0
    /// is the whole column.
    ///
    /// # Panics
    ///
    /// When a name is not a column of the table.
    pub fn primary_key_prefix(mut self, cols: &[(&str, u32)]) -> Self {
        self.primary_key = cols
            .iter()
            .map(|(name, prefix)| {
                let i = self.column_index(name).unwrap_or_else(|| {
                    panic!(
                        "mysql_binlog: primary key column {name} is not a column of {}.{}",
                        self.schema, self.name
                    )
                });
                (i, *prefix)
            })
            .collect();
        for (i, _) in self.primary_key.clone() {
            if let Some(c) = self.columns.get_mut(i) {
                c.nullable = false;
            }
        }
        self
    }

    /// Sets the optional metadata level.
    pub fn metadata(mut self, metadata: RowMetadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// Sets the charset layout.
    pub fn charset_layout(mut self, layout: CharsetLayout) -> Self {
        self.charset_layout = layout;
        self
    }

    /// The index of the column `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// True when column `i` is part of the primary key.
    pub fn is_key_column(&self, i: usize) -> bool {
        self.primary_key.iter().any(|(k, _)| *k == i)
    }
}

impl Collation {
    /// The (character set, collation) names, for DDL.
    ///
    /// # Panics
    ///
    /// For a collation the writer does not know.
    pub fn names(self) -> (&'static str, &'static str) {
        match self.0 {
            255 => ("utf8mb4", "utf8mb4_0900_ai_ci"),
            45 => ("utf8mb4", "utf8mb4_general_ci"),
            46 => ("utf8mb4", "utf8mb4_bin"),
            33 => ("utf8mb3", "utf8mb3_general_ci"),
            8 => ("latin1", "latin1_swedish_ci"),
            47 => ("latin1", "latin1_bin"),
            28 => ("gbk", "gbk_chinese_ci"),
            11 => ("ascii", "ascii_general_ci"),
            63 => ("binary", "binary"),
            other => panic!("mysql_binlog: collation {other} is not known to the writer; add its names to Collation::names"),
        }
    }

    /// `bytes` in this collation's charset as UTF-8 text (latin1 bytes are
    /// code points U+0000 to U+00FF), for string literals in DDL that a
    /// utf8mb4 connection sends.
    fn to_utf8(self, bytes: &[u8]) -> String {
        match self.names().0 {
            "latin1" => bytes.iter().map(|b| char::from(*b)).collect(),
            _ => String::from_utf8_lossy(bytes).into_owned(),
        }
    }
}

/// `s` as a single-quoted SQL string.
fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

impl ColumnType {
    /// The type as MySQL 8's DDL spells it (`DECIMAL(65,30) UNSIGNED`,
    /// `VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_bin`).
    pub fn sql(&self) -> String {
        let u = |unsigned: bool| if unsigned { " UNSIGNED" } else { "" };
        let cs = |c: &Collation| {
            let (set, coll) = c.names();
            format!(" CHARACTER SET {set} COLLATE {coll}")
        };
        let members = |m: &[Vec<u8>], c: &Collation| {
            m.iter()
                .map(|x| quote_str(&c.to_utf8(x)))
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            ColumnType::TinyInt { unsigned } => format!("TINYINT{}", u(*unsigned)),
            ColumnType::SmallInt { unsigned } => format!("SMALLINT{}", u(*unsigned)),
            ColumnType::MediumInt { unsigned } => format!("MEDIUMINT{}", u(*unsigned)),
            ColumnType::Int { unsigned } => format!("INT{}", u(*unsigned)),
            ColumnType::BigInt { unsigned } => format!("BIGINT{}", u(*unsigned)),
            ColumnType::Float => "FLOAT".into(),
            ColumnType::Double => "DOUBLE".into(),
            ColumnType::Decimal {
                precision,
                scale,
                unsigned,
            } => {
                format!("DECIMAL({precision},{scale}){}", u(*unsigned))
            }
            ColumnType::Year => "YEAR".into(),
            ColumnType::Date => "DATE".into(),
            ColumnType::Time { fsp } => format!("TIME({fsp})"),
            ColumnType::DateTime { fsp } => format!("DATETIME({fsp})"),
            ColumnType::Timestamp { fsp } => format!("TIMESTAMP({fsp})"),
            ColumnType::Bit { width } => format!("BIT({width})"),
            ColumnType::Enum {
                members: m,
                collation,
            } => format!("ENUM({}){}", members(m, collation), cs(collation)),
            ColumnType::Set {
                members: m,
                collation,
            } => format!("SET({}){}", members(m, collation), cs(collation)),
            ColumnType::Char { chars, collation } if *collation == Collation::BINARY => {
                format!("BINARY({chars})")
            }
            ColumnType::Char { chars, collation } => format!("CHAR({chars}){}", cs(collation)),
            ColumnType::VarChar { chars, collation } if *collation == Collation::BINARY => {
                format!("VARBINARY({chars})")
            }
            ColumnType::VarChar { chars, collation } => {
                format!("VARCHAR({chars}){}", cs(collation))
            }
            ColumnType::Blob { size, collation } => {
                let prefix = match size {
                    BlobSize::Tiny => "TINY",
                    BlobSize::Blob => "",
                    BlobSize::Medium => "MEDIUM",
                    BlobSize::Long => "LONG",
                };
                if *collation == Collation::BINARY {
                    format!("{prefix}BLOB")
                } else {
                    format!("{prefix}TEXT{}", cs(collation))
                }
            }
            ColumnType::Json => "JSON".into(),
            ColumnType::Geometry { kind } => match kind {
                GeometryKind::Geometry => "GEOMETRY",
                GeometryKind::Point => "POINT",
                GeometryKind::LineString => "LINESTRING",
                GeometryKind::Polygon => "POLYGON",
                GeometryKind::MultiPoint => "MULTIPOINT",
                GeometryKind::MultiLineString => "MULTILINESTRING",
                GeometryKind::MultiPolygon => "MULTIPOLYGON",
                GeometryKind::GeometryCollection => "GEOMETRYCOLLECTION",
            }
            .into(),
        }
    }
}

impl TableDef {
    /// The table's `CREATE TABLE` as MySQL 8 accepts it (column types,
    /// charsets, NOT NULL, INVISIBLE, the primary key with its prefixes),
    /// for the DDL event of a written file and for creating the table on a
    /// target.
    pub fn create_table_sql(&self) -> String {
        let mut parts: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                format!(
                    "{} {}{}{}",
                    quote_ident(&c.name),
                    c.ty.sql(),
                    if c.nullable { " NULL" } else { " NOT NULL" },
                    if c.visible { "" } else { " INVISIBLE" }
                )
            })
            .collect();
        if !self.primary_key.is_empty() {
            let key: Vec<String> = self
                .primary_key
                .iter()
                .map(|(i, p)| {
                    let name = quote_ident(&self.columns[*i].name);
                    if *p == 0 {
                        name
                    } else {
                        format!("{name}({p})")
                    }
                })
                .collect();
            parts.push(format!("PRIMARY KEY ({})", key.join(", ")));
        }
        format!(
            "CREATE TABLE {}.{} ({})",
            quote_ident(&self.schema),
            quote_ident(&self.name),
            parts.join(", ")
        )
    }
}
