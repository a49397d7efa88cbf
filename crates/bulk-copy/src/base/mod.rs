//! What the full copy, the CDC apply and verification share: opening and
//! pinning sessions, one error type that knows what is retryable, table
//! metadata, the table mapping, keyset ranges, snapshots and their binlog
//! positions, throttling, progress, the filter check, and the definition of
//! every metadata table.
//!
//! Nothing here moves rows; [`crate::copy`] and [`crate::apply`] do, and
//! `row-verify` compares them, each on top of this module.

pub mod error;
pub mod filter;
pub mod keyset;
pub mod mapping;
pub mod meta;
pub mod meta_schema;
pub mod progress;
pub mod session;
pub mod snapshot;
pub mod throttle;

pub use error::{db_err, dialect_err, CopyError};
pub use filter::{rename_filter_columns, validate_filter, FilterError};
pub use keyset::{key_param, range_condition, range_condition_with, split, KeyBound};
pub use mapping::{ColumnMapping, ConflictPolicy, TableMapping};
pub use meta::{load_table_meta, load_table_meta_on, ColumnMeta, KeyStrategy, TableMeta};
pub use progress::{Progress, ProgressSnapshot, TableProgress, TableState};
pub use session::{connect, connect_reading, reading, READ_PACKET_BYTES, SESSION};
pub use snapshot::{binlog_position, snapshot_position, START_SNAPSHOT};
pub use throttle::{Throttle, ThrottleLimits};
