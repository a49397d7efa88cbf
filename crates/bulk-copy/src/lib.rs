//! Data movement between MySQL-compatible servers: the chunked, concurrent
//! full copy and the binlog change apply.
//!
//! What it does: owns the database I/O that moves rows.
//! - [`copy`]: [`copy_tables`] copies tables from consistent snapshots in
//!   keyset chunks over several connections, with its checkpoint committed
//!   with the rows, and reports the binlog position where incremental
//!   migration must start ([`CopyReport`]).
//! - [`apply`]: [`apply_changes`] applies the row changes and DDL that
//!   `binlog-reader` decodes to the target exactly once, each batch committed
//!   with its position, so the target is always a prefix of the source.
//! - [`base`]: what both share (and `row-verify` builds on): sessions, the
//!   one error type ([`CopyError`], which answers `is_retryable`), table
//!   metadata, the [`TableMapping`] of a source table to its target, keyset
//!   ranges, snapshots and their positions, [`Throttle`], [`Progress`], the
//!   filter check, and the metadata tables.
//!
//! What it deliberately does not do: decide which objects to move or in which
//! phase (that is `dts-core`), parse binlog bytes (`binlog-reader`),
//! translate DDL (`schema-diff`), know which statement a server version
//! takes (`server-dialect`), or compare tables (`row-verify`).
//!
//! Copy one table exactly, then know where to continue from:
//!
//! ```
//! # use dts_test_support::{forget_copy_task, opts, Server, TestDatabases};
//! use bulk_copy::{copy_tables, CopyOptions, TableMapping};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), bulk_copy::CopyError> {
//! # let dbs = TestDatabases::new("bulk_copy_doc").await;
//! # let db = dbs.name.as_str();
//! # let (source, target) = (opts(Server::Source, None), opts(Server::Target, None));
//! # dbs.exec(Server::Source, "CREATE TABLE t (id INT PRIMARY KEY, v DOUBLE);
//! #     INSERT INTO t VALUES (1, 0.1), (2, -0.0)").await;
//! # dbs.exec(Server::Target, "CREATE TABLE t (id INT PRIMARY KEY, v DOUBLE)").await;
//! // `source` and `target` are `mysql_async::Opts`; `db`.`t` exists on both,
//! // empty on the target.
//! let options = CopyOptions {
//!     task: format!("doc-{db}"),
//!     ..CopyOptions::default()
//! };
//! let report = copy_tables(&source, &target, &[TableMapping::same(db, "t")], &options).await?;
//! assert_eq!(report.tables[0].rows, 2);
//! // Incremental migration starts here (`None` when the source has no binlog).
//! let start = report.start.expect("the test source writes a binlog");
//! println!("continue from {start}");
//! # forget_copy_task(&mut dbs.target().await, &options.task).await;
//! # dbs.cleanup().await;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod apply;
pub mod base;
pub mod copy;

// The entry points and the types their callers hold; the rest is under
// `base`, `copy` and `apply`.
pub use apply::{
    apply_changes, apply_changes_from, prepare_incremental, reader_server_id, ApplyOptions,
    ApplyProgress, ApplyReport, ApplySelection, ApplySource, ApplyStatus, HandOff, Heartbeat,
    OnlineDdlMode, RenamedOut, StopSignal,
};
pub use base::{
    validate_filter, ColumnMapping, ConflictPolicy, CopyError, KeyStrategy, Progress,
    ProgressSnapshot, TableMapping, TableProgress, TableState, Throttle, ThrottleLimits,
};
pub use copy::{copy_tables, CopyOptions, CopyReport, LoadMethod, SnapshotMode, TableReport};
