//! The migration task: configuration, precheck, phases and hand-offs,
//! checkpoints, retries, throttling, heartbeat, metrics, verification and
//! cut-over.
//!
//! What it does: drives one task from its task file through precheck, schema,
//! full copy, foreign keys and incremental migration to cut-over, keeping its
//! state in the target's metadata schema so that a run resumes where the last
//! one stopped.
//!
//! What exists so far:
//!
//! - [`config`]: the task file, read into a [`config::TaskConfig`] with every
//!   default filled in, errors naming the key and what is allowed, and
//!   passwords held as [`secret::Secret`]s.
//! - [`precheck`]: [`precheck::run_precheck`] checks both servers and the
//!   selected objects and returns a [`precheck::PrecheckReport`] of stable
//!   check ids, each pass, warning or failure with what was found, why it
//!   matters and the exact fix.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let task = dts_core::config::TaskConfig::from_file("shop.toml".as_ref())?;
//! let report = dts_core::precheck::run_precheck(&task).await;
//! for c in report.checks.iter().filter(|c| c.status != dts_core::precheck::Status::Pass) {
//!     println!("{} {}: {} (fix: {})", c.status.as_str(), c.id, c.found, c.fix);
//! }
//! # Ok(()) }
//! ```
//!
//! What it deliberately does not do: talk the binlog protocol, parse DDL or
//! move rows itself (the library crates do), or print to a terminal (the CLI
//! does).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod config;
pub mod metrics;
pub mod precheck;
pub mod secret;
pub mod task;

/// The library crates, for callers that drive one capability directly
/// (`dts copy`, `dts binlog dump`) before the task wiring exists for it.
pub use binlog_reader;
pub use bulk_copy;
pub use row_verify;
pub use schema_diff;
