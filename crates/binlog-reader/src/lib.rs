//! Binlog events and positions for MySQL 5.7/8.0/8.4 and MariaDB 10.x/11.x.
//!
//! This crate turns binlog bytes into typed events with exact row values, and
//! keeps binlog positions (file offsets, MySQL GTID sets, MariaDB GTID
//! positions) as plain data.
//!
//! What it does:
//! - a sans-I/O decoder ([`Decoder`]): bytes in; an event, "need more
//!   bytes", or an error out ([`Step`]), with every length bounded before it
//!   allocates and every error naming the byte offset and the offending value;
//! - readers on top of it: binlog files, following rotations and tailing a
//!   growing file ([`FileReader`]), and a replication stream from a server
//!   ([`BinlogStreamReader`]);
//! - positions ([`position`]) to save at transaction boundaries and resume
//!   from;
//! - rendering ([`render`]): row values as exact SQL literals or as text,
//!   events as JSON lines.
//!
//! What it deliberately does not do:
//! - it never panics, whatever the input: truncated input is a normal state;
//! - it does not apply changes or interpret DDL (that is `bulk-copy` and
//!   `schema-diff`);
//! - it does not guess: an event or value it cannot decode is an error that
//!   names it, never a skip.
//!
//! # Example
//!
//! A binlog file of two events, built here byte by byte: a
//! FORMAT_DESCRIPTION (a MariaDB 10.11 server, checksums off) and a QUERY.
//! The decoder is fed the bytes and says how many it used each time.
//!
//! ```
//! use binlog_reader::{Decoder, EventBody, EventType, Step};
//!
//! /// One event: the 19-byte header, then the body.
//! fn event(t: EventType, body: &[u8]) -> Vec<u8> {
//!     let len = 19 + body.len() as u32;
//!     let mut v = Vec::new();
//!     v.extend_from_slice(&1_700_000_000u32.to_le_bytes()); // timestamp
//!     v.push(t.0);
//!     v.extend_from_slice(&1u32.to_le_bytes()); // server id
//!     v.extend_from_slice(&len.to_le_bytes());
//!     v.extend_from_slice(&0u32.to_le_bytes()); // end_log_pos (not trusted)
//!     v.extend_from_slice(&0u16.to_le_bytes()); // flags
//!     v.extend_from_slice(body);
//!     v
//! }
//!
//! let mut fde = 4u16.to_le_bytes().to_vec(); // binlog version
//! let mut server = b"10.11.6-MariaDB-log".to_vec();
//! server.resize(50, 0);
//! fde.extend_from_slice(&server);
//! fde.extend_from_slice(&0u32.to_le_bytes()); // created
//! fde.push(19); // header length
//! let mut post_header = [0u8; 171]; // post-header length per event type
//! post_header[usize::from(EventType::QUERY.0) - 1] = 13;
//! fde.extend_from_slice(&post_header);
//! fde.push(0); // checksum algorithm: off
//! fde.extend_from_slice(&[0; 4]); // the event's own checksum field, unused
//!
//! let mut query = 7u32.to_le_bytes().to_vec(); // thread id
//! query.extend_from_slice(&0u32.to_le_bytes()); // exec time
//! query.push(4); // database name length
//! query.extend_from_slice(&0u16.to_le_bytes()); // error code
//! query.extend_from_slice(&0u16.to_le_bytes()); // status variables length
//! query.extend_from_slice(b"shop\0CREATE TABLE t (id INT PRIMARY KEY)");
//!
//! let mut file = b"\xfebin".to_vec();
//! file.extend(event(EventType::FORMAT_DESCRIPTION, &fde));
//! file.extend(event(EventType::QUERY, &query));
//!
//! let mut decoder = Decoder::for_file(Some("shop-bin.000001".into()));
//! let mut input = &file[..];
//! let mut events = Vec::new();
//! loop {
//!     match decoder.decode(input)? {
//!         Step::Magic { consumed } => input = &input[consumed..],
//!         Step::Event { event, consumed } => {
//!             events.push(event);
//!             input = &input[consumed..];
//!         }
//!         // The end of the bytes so far: a reader would wait for more.
//!         Step::NeedMore { .. } => break,
//!     }
//! }
//! assert_eq!(events.len(), 2);
//! let EventBody::Query(q) = &events[1].body else { panic!("a QUERY") };
//! assert_eq!((q.schema.as_str(), q.thread_id), ("shop", 7));
//! assert_eq!(q.query_text(), "CREATE TABLE t (id INT PRIMARY KEY)");
//! // Positions come from the decoder's running offset: the QUERY starts
//! // after the magic and the 252-byte FORMAT_DESCRIPTION.
//! assert_eq!((events[1].pos, events[1].end_pos), (256, file.len() as u64));
//! # Ok::<(), binlog_reader::DecodeError>(())
//! ```
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
pub use event::{Event, EventBody, EventClass, EventHeader, Limits};
pub use file::{FileReader, ReadError};
pub use stream::{BinlogStreamReader, StreamConfig, StreamError, StreamStart};
pub use types::{ColumnInfo, ColumnType, EventType, JsonDiff, JsonDiffOperation, Value};
pub use value::decode_value_bytes;
