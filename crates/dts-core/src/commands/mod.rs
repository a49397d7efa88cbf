//! One entry point per `dts` command that works without running a task:
//! each takes the one [`TaskConfig`] its command line or task file made
//! (see [`CommandLine`](crate::config::CommandLine)), builds the library
//! options from it in `task::options` (the same place the task's phases
//! take theirs from), and returns what the command prints.
//!
//! | command | entry point |
//! |---|---|
//! | `dts copy` | [`copy`] |
//! | `dts apply` | [`apply`] |
//! | `dts verify` | [`verify`] |
//! | `dts binlog dump` | [`binlog_dump`] |
//! | `dts schema plan` | [`schema_plan`] |
//! | `dts precheck` | [`precheck::run_precheck`](crate::precheck::run_precheck) |
//! | `dts config show` | [`TaskConfig::to_toml`] |
//! | `dts run` | [`task::run_task`](crate::task::run_task) |
//! | `dts status` | [`task::task_status`](crate::task::task_status) |
//! | `dts stop` | [`task::request_stop`](crate::task::request_stop) |
//! | `dts cutover` | [`task::cutover`](crate::task::cutover) |
//!
//! The library types these take and return are re-exported here, so that a
//! caller (the `dts` binary) needs none of the library crates to use them.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use dts_core::config::{CommandLine, ServerArgs};
//! use dts_core::task::RunHandles;
//!
//! let server = |url: &str, env: &str| ServerArgs {
//!     url: url.into(),
//!     password_env: env.into(),
//!     ..ServerArgs::default()
//! };
//! let cfg = CommandLine {
//!     source: Some(server("mysql://dts@db1:3306", "DTS_SOURCE_PASSWORD")),
//!     target: Some(server("mysql://dts@db2:3306", "DTS_TARGET_PASSWORD")),
//!     databases: vec!["shop".into()],
//!     ..CommandLine::default()
//! }
//! .task_config()?;
//! let report = dts_core::commands::copy(&cfg, &RunHandles::default()).await?;
//! println!("incremental migration starts at {:?}", report.start);
//! # Ok(()) }
//! ```

mod apply;
mod copy;
mod dump;
mod plan;
mod verify;

pub use apply::{apply, ApplyOutcome, ApplyRun};
pub use copy::copy;
pub use dump::{binlog_dump, DumpSource};
pub use plan::schema_plan;
pub use verify::{verify, OnlineRun, Repair, RepairMode, VerifyOutcome, VerifyRun};

// The library types of the entry points above and of `task::RunHandles`.
pub use binlog_reader::position::FilePosition;
pub use binlog_reader::Event;
pub use bulk_copy::{
    ApplyProgress, ApplyReport, ApplyStatus, CopyReport, KeyStrategy, LoadMethod, Progress,
    ProgressSnapshot, StopSignal, TableProgress, TableReport, TableState,
};
pub use row_verify::{TableVerifyReport, VerifyReport, REPAIR_SESSION};
pub use schema_diff::plan::Plan;

#[allow(unused_imports)] // Named by the documentation above.
use crate::config::TaskConfig;
