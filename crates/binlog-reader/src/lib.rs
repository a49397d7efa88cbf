//! Binlog events and positions for MySQL 5.7/8.0/8.4 and MariaDB 10.x/11.x.
//!
//! This crate turns binlog bytes into typed events with exact row values, and
//! keeps binlog positions (file offsets, MySQL GTID sets, MariaDB GTID
//! positions) as plain data.
//!
//! What it does:
//! - a sans-I/O decoder: bytes in; an event, "need more bytes", or an error
//!   out, with every length bounded before it allocates and every error naming
//!   the byte offset and the offending value;
//! - readers on top of it: binlog files (following rotations, tailing a
//!   growing file) and a replication stream from a server.
//!
//! What it deliberately does not do:
//! - it never panics, whatever the input: truncated input is a normal state;
//! - it does not apply changes or interpret DDL (that is `bulk-copy` and
//!   `schema-diff`);
//! - it does not guess: an event or value it cannot decode is an error that
//!   names it, never a skip.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod cursor;
pub mod decoder;
pub mod error;
pub mod event;
pub mod file;
pub mod fuzzing;
pub mod jsonb;
pub mod position;
pub mod render;
pub mod stream;
pub mod types;
mod value;

pub use decoder::{ColumnDescription, Decoder, Step};
pub use error::{DecodeError, Result};
pub use event::{Event, EventBody, EventHeader, Limits};
pub use file::{FileReader, ReadError};
pub use stream::{BinlogStreamReader, StreamConfig, StreamError, StreamStart};
pub use types::{ColumnInfo, ColumnType, EventType, JsonDiff, JsonDiffOperation, Value};
pub use value::decode_value_bytes;
