//! The decoder's error type.

/// An error decoding binlog bytes. Every kind carries the absolute byte
/// offset where the problem was found (in the file or stream) and the
/// offending value, so a message can say exactly what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input does not start with the binlog magic `\xfebin`.
    #[error("not a binlog: the first 4 bytes are {found:02x?}, expected fe 62 69 6e (\\xfebin)")]
    BadMagic {
        /// The first bytes found (fewer than 4 when the input is shorter).
        found: Vec<u8>,
    },
    /// A field ends past the end of its event: the event is corrupt (an
    /// event that is merely incomplete is "need more bytes", not this).
    #[error("corrupt event: {what} at byte {offset} needs {needed} bytes but only {available} remain in the event")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Absolute offset of the field.
        offset: u64,
        /// Bytes the field needs.
        needed: u64,
        /// Bytes left in the event.
        available: u64,
    },
    /// An event header declares an impossible length.
    #[error("corrupt event header at byte {offset}: event length {length} is {reason}")]
    BadEventLength {
        /// Absolute offset of the event.
        offset: u64,
        /// The declared length.
        length: u64,
        /// Why it is impossible.
        reason: &'static str,
    },
    /// The CRC32 stored in an event does not match its bytes.
    #[error("checksum mismatch in the {event_type} event at byte {offset}: stored {expected:#010x}, computed {actual:#010x}")]
    ChecksumMismatch {
        /// Absolute offset of the event.
        offset: u64,
        /// The event type's name.
        event_type: &'static str,
        /// The CRC32 stored in the event.
        expected: u32,
        /// The CRC32 of the event's bytes.
        actual: u32,
    },
    /// A field holds a value that is out of range or inconsistent.
    #[error("invalid {what} at byte {offset}: {value} ({reason})")]
    Invalid {
        /// What was being read.
        what: &'static str,
        /// Absolute offset of the field.
        offset: u64,
        /// The offending value.
        value: u64,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A length read from the input exceeds a configured bound.
    #[error("{what} at byte {offset} is {value} bytes, over the limit of {limit}; raise the limit if this is a real value")]
    TooLarge {
        /// What was being read.
        what: &'static str,
        /// Absolute offset of the field.
        offset: u64,
        /// The length found.
        value: u64,
        /// The limit.
        limit: u64,
    },
    /// An event type this decoder does not know. The caller should stop: a
    /// skipped event could be a lost change.
    #[error("unknown event type {type_code} at byte {offset} ({length} bytes); stopping rather than skipping it")]
    UnknownEvent {
        /// Absolute offset of the event.
        offset: u64,
        /// The type code.
        type_code: u8,
        /// The event's length.
        length: u64,
        /// The event's bytes (header included), at most 4 KiB of them.
        bytes: Vec<u8>,
    },
    /// The binlog is encrypted (MariaDB START_ENCRYPTION): the following
    /// events cannot be read without the key.
    #[error("the binlog is encrypted from byte {offset} on (START_ENCRYPTION, scheme {scheme}, key version {key_version}); read it through the server's replication stream, which decrypts it, instead of from the file")]
    Encrypted {
        /// Absolute offset of the START_ENCRYPTION event.
        offset: u64,
        /// The encryption scheme.
        scheme: u8,
        /// The key version.
        key_version: u32,
    },
    /// A compressed event or payload could not be decompressed.
    #[error("cannot decompress the {what} at byte {offset}: {reason}")]
    Decompress {
        /// What was being decompressed.
        what: &'static str,
        /// Absolute offset of the compressed data.
        offset: u64,
        /// Why it failed.
        reason: String,
    },
    /// A rows event names a table id with no TABLE_MAP before it.
    #[error("rows event at byte {offset} refers to table id {table_id}, which no TABLE_MAP event has described")]
    UnknownTable {
        /// Absolute offset of the rows event.
        offset: u64,
        /// The table id.
        table_id: u64,
    },
    /// A column type this decoder cannot read.
    #[error("column {column} of the table at byte {offset} has type {type_code}, which this decoder cannot read")]
    UnsupportedColumnType {
        /// Absolute offset of the value or table map.
        offset: u64,
        /// The column's index.
        column: usize,
        /// The type code.
        type_code: u8,
    },
    /// An event arrived before the FORMAT_DESCRIPTION that says how to read it.
    #[error("{event_type} event at byte {offset} arrived before any FORMAT_DESCRIPTION event")]
    NoFormatDescription {
        /// Absolute offset of the event.
        offset: u64,
        /// The event type's name.
        event_type: &'static str,
    },
}

/// The result type of decoding.
pub type Result<T, E = DecodeError> = std::result::Result<T, E>;
