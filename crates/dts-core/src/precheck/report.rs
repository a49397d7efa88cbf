//! The precheck's report: each check's outcome, what was found, why it
//! matters and the fix, in the order of [`CHECKS`].

use serde::Serialize;

use super::CHECKS;

/// The version of the `--json` report's shape.
pub const SCHEMA_VERSION: u32 = 1;

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to do.
    Pass,
    /// A risk: the task starts only once it is fixed or acknowledged.
    Warning,
    /// The task cannot start until it is fixed.
    Failure,
    /// A warning acknowledged in the task file.
    Acknowledged,
}

impl Status {
    /// `pass`, `warning`, `failure` or `acknowledged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warning => "warning",
            Status::Failure => "failure",
            Status::Acknowledged => "acknowledged",
        }
    }
}

/// One checked item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The stable id (`source.binlog_format`).
    pub id: &'static str,
    /// The outcome.
    pub status: Status,
    /// What was found.
    pub found: String,
    /// Why it matters.
    pub why: &'static str,
    /// The exact fix (empty when it passed).
    pub fix: String,
}

/// The precheck's result.
#[derive(Clone, Debug, Serialize)]
pub struct PrecheckReport {
    /// The version of this shape ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The task.
    pub task: String,
    /// The source URL (without password).
    pub source: String,
    /// The target URL (without password).
    pub target: String,
    /// Every check, in [`CHECKS`] order.
    pub checks: Vec<Check>,
}

impl PrecheckReport {
    /// Whether the task may start: no failure and no unacknowledged warning.
    pub fn passed(&self) -> bool {
        self.checks
            .iter()
            .all(|c| matches!(c.status, Status::Pass | Status::Acknowledged))
    }

    /// Whether any check failed.
    pub fn has_failures(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Failure)
    }

    /// The check with this id, if it ran.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

fn why(id: &str) -> &'static str {
    CHECKS.iter().find(|c| c.id == id).map_or("", |c| c.why)
}

fn check(
    id: &'static str,
    status: Status,
    found: impl Into<String>,
    fix: impl Into<String>,
) -> Check {
    debug_assert!(CHECKS.iter().any(|c| c.id == id), "unknown check id {id}");
    Check {
        id,
        status,
        found: found.into(),
        why: why(id),
        fix: fix.into(),
    }
}

/// A passed check.
pub(super) fn pass(id: &'static str, found: impl Into<String>) -> Check {
    check(id, Status::Pass, found, "")
}

/// A warning: the task starts once it is fixed or acknowledged.
pub(super) fn warn(id: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Check {
    check(id, Status::Warning, found, fix)
}

/// A failure: the task cannot start.
pub(super) fn fail(id: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Check {
    check(id, Status::Failure, found, fix)
}

/// At most `max` items joined by "; ", and how many more there are.
pub(super) fn list(items: &[String], max: usize) -> String {
    let mut s = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > max {
        s.push_str(&format!("; and {} more", items.len() - max));
    }
    s
}
