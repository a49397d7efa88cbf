//! The migration task: configuration, precheck, phases and hand-offs,
//! checkpoints, retries, throttling, heartbeat, metrics, verification and
//! cut-over.
//!
//! What it does: drives one task from its task file through precheck, schema,
//! full copy, foreign keys and incremental migration to cut-over, keeping its
//! state in the target's metadata schema so that a run resumes where the last
//! one stopped.
//!
//! What it deliberately does not do: talk the binlog protocol, parse DDL or
//! move rows itself (the library crates do), or print to a terminal (the CLI
//! does).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The library crates, for callers that drive one capability directly
/// (`dts copy`, `dts binlog dump`) before the task wiring exists for it.
pub use binlog_reader;
pub use bulk_copy;
pub use schema_diff;
