//! The migration task: configuration, precheck, phases and hand-offs,
//! checkpoints, retries, throttling, heartbeat, metrics, verification and
//! cut-over.
//!
//! What it does: drives one task from its task file through precheck, schema,
//! full copy, foreign keys and incremental migration to cut-over, keeping its
//! state in the target's metadata schema so that a run resumes where the last
//! one stopped.
//!
//! The modules, one concept each (dependencies point down this list, never
//! up: the precheck reads the config, the task runs the precheck, nothing
//! below the task imports it):
//!
//! - [`secret`]: [`secret::Secret`], a password that never shows.
//! - `check_ids` (private): every precheck id and why it exists, shared by
//!   the task file (`[precheck] acknowledge`) and the precheck.
//! - [`config`]: the task file, read into a [`config::TaskConfig`] with every
//!   default filled in and errors naming the key and what is allowed
//!   (`raw` as written, `model` resolved, `resolve` between them, `show`
//!   for `dts config show`), and [`config::Endpoint`], whose
//!   [`connect`](config::Endpoint::connect) owns the TLS policy.
//! - [`precheck`]: [`precheck::run_precheck`] reads both servers once and
//!   returns a [`precheck::PrecheckReport`] of stable check ids, each pass,
//!   warning or failure with what was found, why it matters and the exact
//!   fix; one file per family of checks, each judging without I/O.
//! - [`metrics`]: the Prometheus endpoint and the alerts, over a plain
//!   [`metrics::RunCounters`] snapshot.
//! - [`task`]: [`task::run_task`] runs the phases ([`task::Phase`]) with the
//!   state and lease on the target, retries and hand-offs;
//!   [`task::cutover`], [`task::task_status`] and [`task::request_stop`]
//!   are `dts cutover`, `dts status` and `dts stop`. Every library option
//!   is built from the config in one place (`task::options`).
//! - [`commands`]: one entry point per command that works without running
//!   the task (`dts copy`, `dts apply`, `dts verify`, `dts binlog dump`,
//!   `dts schema plan`), on the same config, made by
//!   [`config::CommandLine`] when there is no task file, and the library
//!   types they return.
//!
//! Check a task before it starts (`dts precheck`): every check with what
//! it found and, when it did not pass, the fix.
//!
//! ```
//! # use dts_test_support::{Server, TestDatabases};
//! use dts_core::config::TaskConfig;
//! use dts_core::precheck::{run_precheck, Status};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dbs = TestDatabases::new("dts_core_doc").await;
//! # let (source, target, db) = (Server::Source.url(), Server::Target.url(), dbs.name.clone());
//! // `source` and `target` are mysql:// URLs; `db` is a database on the source.
//! let task = TaskConfig::from_toml(
//!     &format!(
//!         r#"
//!         [source]
//!         url = "{source}"
//!         [target]
//!         url = "{target}"
//!         [[objects]]
//!         database = "{db}"
//!         "#
//!     ),
//!     None,
//! )?;
//! let report = run_precheck(&task).await;
//! for c in report.checks.iter().filter(|c| c.status != Status::Pass) {
//!     println!("{} {}: {} (fix: {})", c.status.as_str(), c.id, c.found, c.fix);
//! }
//! let connect = report.checks.iter().find(|c| c.id == "source.connect");
//! assert_eq!(connect.map(|c| c.status), Some(Status::Pass));
//! # dbs.cleanup().await;
//! # Ok(())
//! # }
//! ```
//!
//! What it deliberately does not do: talk the binlog protocol, parse DDL or
//! move rows itself (the library crates do; it re-exports none of them, only
//! the types its own functions take and return), or print to a terminal
//! (the CLI does).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod check_ids;
pub mod commands;
pub mod config;
pub mod metrics;
pub mod precheck;
pub mod secret;
pub mod task;
