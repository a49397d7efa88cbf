//! A writer of MySQL 8.0 and 8.4 binlog files, for tests of the MySQL
//! paths where no MySQL server can run: a claim about MySQL needs a test fed
//! with MySQL's bytes.
//!
//! - [`BinlogFile`] writes one file: the magic, a FORMAT_DESCRIPTION (CRC32
//!   checksums, or none), a PREVIOUS_GTIDS, then transactions
//!   ([`BinlogFile::transaction`]: GTID, `BEGIN`, TABLE_MAP and rows events,
//!   `XID`, optionally all inside a zstd TRANSACTION_PAYLOAD), DDL
//!   ([`BinlogFile::ddl`]) and a closing ROTATE or STOP, every `log_pos`
//!   the event's real end offset. [`BinlogSet`] writes a sequence of files
//!   with rotations between them (`binlog.000001`, ..., `binlog.999999`,
//!   `binlog.1000000`).
//! - [`TableDef`] describes a table as the TABLE_MAP does, with the optional
//!   metadata of `binlog_row_metadata=FULL` or `MINIMAL`; [`Value`] and
//!   [`Json`] are the values a test writes and expects back.
//! - [`BinlogFile::entries`] records what was written, event by event;
//!   [`oracle::read`] reads the bytes back with mysql_common (an independent
//!   implementation of MySQL's layouts) into the same form, so that a test
//!   proves the file is what it means with one `assert_eq!`.
//! - [`cases`] holds tables and rows for every type and edge value the test
//!   catalogue's D cases need.
//!
//! Event headers, FORMAT_DESCRIPTION, PREVIOUS_GTIDS, GTID (anonymous, plain
//! and tagged), QUERY, XID, ROTATE and TRANSACTION_PAYLOAD bodies are built
//! by mysql_common's serializers. TABLE_MAP and rows bodies, row values and
//! MySQL binary JSON, which mysql_common only reads, are laid out here from
//! MySQL's documented layouts, and checked by the oracle.
//!
//! What it does not do: it writes what MySQL writes for the statements a
//! test describes, not statements; it does not run SQL or check that rows
//! are consistent with each other (an UPDATE's before image need not be a
//! row written earlier). Misuse (a value that does not fit its column, a
//! tagged GTID on 8.0) panics with a message naming the table, row and
//! column: the writer is test code.
//!
//! ```
//! use dts_test_support::mysql_binlog::*;
//! let t = TableDef::new("shop", "item", 80)
//!     .col("id", ColumnType::BigInt { unsigned: true })
//!     .col("doc", ColumnType::Json)
//!     .primary_key(&["id"]);
//! let mut f = BinlogFile::new(MySqlVersion::V8_4_3);
//! let row = vec![Value::UInt(1), Value::Json(Json::object(vec![("a", Json::Int(1))]))];
//! let mut tx = f.transaction(Gtid::tagged("3e11fa47-71ca-11e1-9e33-c80aa9429562", "etl", 7));
//! tx.insert(&t, vec![row.clone()]);
//! tx.partial_json_update(&t, vec![(
//!     row,
//!     vec![Value::UInt(1), Value::JsonDiffs(vec![JsonDiff::replace("$.a", Json::Int(2))])],
//! )]);
//! tx.commit_compressed();
//! assert_eq!(oracle::read(f.bytes()).unwrap(), f.entries());
//! ```

pub mod cases;
mod entry;
mod gtid;
mod json;
pub mod oracle;
mod rows;
mod schema;
mod value;
mod writer;

pub use entry::{
    Entry, GtidEntry, Image, OptionalMetadata, PayloadEntry, QueryEntry, QueryStatus, RowChange,
    RowsEntry, RowsKind, TableMapEntry,
};
pub use gtid::{parse_uuid, uuid_text, Gtid, GtidSet};
pub use json::{double_text, Json, JsonDiff, JsonDiffOp};
pub use rows::STMT_END_F;
pub use schema::{
    BlobSize, CharsetLayout, Collation, Column, ColumnType, GeometryKind, MySqlVersion,
    RowMetadata, TableDef,
};
pub use value::{decimal_text, Value};
pub use writer::{
    BinlogFile, BinlogSet, Committed, FileOptions, PayloadCompression, PayloadOptions, RowImage,
    Session, Transaction,
};
