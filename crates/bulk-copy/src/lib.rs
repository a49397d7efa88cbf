//! Chunked, concurrent full data copy and binlog change apply.
//!
//! What it does: owns the database I/O for data. It copies tables from a
//! consistent snapshot in keyset chunks over several connections, reports the
//! binlog position where incremental migration must start, and applies row
//! changes decoded by `binlog-reader` to the target exactly once, with the
//! checkpoint committed in the same target transaction as the rows.
//!
//! What it deliberately does not do: decide which objects to move or in which
//! phase (that is `dts-core`), parse binlog bytes (`binlog-reader`), or
//! translate DDL (`schema-diff`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod apply;
pub mod base;
pub mod copy;

pub use apply::{
    apply_changes, prepare_incremental, ApplyOptions, ApplyProgress, ApplyReport, ApplySelection,
    ApplyStatus, HandOff, Heartbeat, OnlineDdlMode, StopSignal,
};
pub use base::{
    load_table_meta, rename_filter_columns, validate_filter, ColumnMapping, ConflictPolicy,
    CopyError, FilterError, KeyStrategy, Progress, ProgressSnapshot, TableMapping, TableMeta,
    TableProgress, TableState, Throttle, ThrottleLimits,
};
pub use copy::{copy_tables, CopyOptions, CopyReport, LoadMethod, SnapshotMode, TableReport};
