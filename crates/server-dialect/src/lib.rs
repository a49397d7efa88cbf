//! What differs between MySQL and MariaDB servers and their versions, and
//! the basics every crate of the workspace needs to talk to them.
//!
//! What it does:
//! - [`ServerVersion`] and [`Flavor`]: a server's version as `SELECT
//!   VERSION()` reports it (PolarDB for MySQL recognised by its
//!   `polardb_version` variable);
//! - [`Dialect`]: the statements and names a version takes (binlog status,
//!   replica status and its fields, `SOURCE_`/`MASTER_` terms, the binlog
//!   reader's user variables, `log_replica_updates`, the cut-over fence and
//!   the read-only variables, the binlog switch, the locking read, the
//!   snapshot method), decided from the version alone and unit-tested per
//!   version, as sqlparser keeps its dialects;
//! - [`quote`] and [`quote_qualified`]: identifier quoting, the one copy;
//! - [`binlog_position`], [`snapshot_binlog_position`], [`server_version`],
//!   [`version_text`]: the queries for what a server is and where its
//!   binlog is, written once over a `mysql_async::Conn`.
//!
//! What it deliberately does not do: hold positions with their ordering
//! and serialized form (that is `binlog_reader::position`; this crate
//! returns the plain [`BinlogCoordinates`] a server reports), decide what a
//! caller does about a server without a binary log, or connect: callers
//! bring their own connection, with their own session settings.
//!
//! Choosing the statement for a version is a pure function:
//!
//! ```
//! use server_dialect::{Dialect, ServerVersion};
//!
//! let mysql = Dialect::new(ServerVersion::parse("8.4.3").unwrap());
//! assert_eq!(mysql.binlog_status_statement(), "SHOW BINARY LOG STATUS");
//! assert_eq!(mysql.replica_status_fields().exec_source_log_pos, "Exec_Source_Log_Pos");
//!
//! let mariadb = Dialect::new(ServerVersion::parse("10.11.6-MariaDB-log").unwrap());
//! assert_eq!(mariadb.binlog_status_statement(), "SHOW MASTER STATUS");
//! assert_eq!(mariadb.replica_status_statement(), "SHOW REPLICA STATUS");
//! assert_eq!(mariadb.replica_status_fields().exec_source_log_pos, "Exec_Master_Log_Pos");
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

pub mod dialect;
pub mod error;
pub mod ident;
pub mod position;
pub mod version;

pub use dialect::{Dialect, ReplicaStatusFields, ReplicationTerm, SnapshotMethod};
pub use error::DialectError;
pub use ident::{quote, quote_qualified};
pub use position::{
    binlog_position, server_version, snapshot_binlog_position, version_text, BinlogCoordinates,
};
pub use version::{Flavor, ServerVersion, POLARDB_VERSION_VARIABLE};
