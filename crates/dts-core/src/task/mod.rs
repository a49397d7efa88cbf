//! One task from precheck to cut-over: phases, state, lease, retries.
//!
//! Phases, in order (those the task's `types` leave out are skipped):
//! `precheck` → `schema` (databases, tables without foreign keys, views,
//! routines) → `prepare` (the incremental apply records the source schema)
//! → `full` (the copy, which reports where incremental migration starts) →
//! `foreign_keys` → `incremental` (until stopped or cut over) → `finished`.
//! Without incremental migration (the offline strategy), the task creates
//! triggers and events after the foreign keys and finishes by itself; with
//! it, `dts cutover` does that (see [`cutover`]).
//!
//! State lives in the target's metadata schema (`task_state`): the next
//! phase, the hand-off position, stop requests, the last error. `dts run` on
//! an existing task resumes at its phase (the copy and the apply resume from
//! their own checkpoints); a finished task refuses to run. A lease — the
//! server's named lock `GET_LOCK`, held by a connection the run keeps open —
//! stops two runs of the same task (C11), and frees itself when a killed
//! run's connection closes.
//!
//! Errors are retried as the task's `[retry]` windows say: connection
//! failures with capped backoff for `connection_minutes`, other failures
//! that may pass (deadlocks, lock waits, DDL and DML statements the target
//! refused, key conflicts) for `other_minutes`; then the task is marked
//! failed with its checkpoint intact and a message saying how to resume.
//! A run that finds a cut-over interrupted after its fence takes it back
//! (see `cutover_fence`).
//!
//! The files of this module: `phase` (the phases, as stored), `store` (the
//! state and the lease), `run` (the phases in order, one function each, and
//! the retries), `options` (every library option the config makes), `plan`
//! (the schema migration), `cutover` (its steps, one function each),
//! `cutover_fence` (the fence, its record, and taking a cut-over back),
//! `status` (`dts status`), `verify_hook` (online verification's view of the
//! checkpoint), `handles` (what a run shares with its caller), `error` and
//! `sql` (quoting, the binlog position).

pub mod control;
mod cutover;
mod cutover_fence;
pub(crate) mod error;
mod handles;
pub(crate) mod options;
mod phase;
pub(crate) mod plan;
pub mod release;
mod run;
pub(crate) mod sql;
mod status;
mod store;
mod verify_hook;
pub mod verify_schema;

pub use control::{pause, throttle, ControlReport, ControlSettings, LiveControl, ThrottleChange};
pub use cutover::cutover;
pub use error::TaskError;
pub use handles::{Reporter, RunHandles};
pub use phase::{Phase, UnknownPhase};
pub use release::{release, ReleaseReport};
pub use run::{run_task, RunOutcome};
pub use status::{task_status, IncrementalStatus, TableCopyStatus, TaskStatus};
pub use store::{request_stop, TaskState};
pub use verify_hook::CheckpointApplied;
pub use verify_schema::verify_schema;
