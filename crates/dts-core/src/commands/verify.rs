//! `dts verify`: the selected tables compared on exact bytes, with the
//! repair printed or applied.

use std::sync::Arc;
use std::time::Duration;

use bulk_copy::CopyError;
use futures::future::BoxFuture;
use row_verify::{
    verify_tables, AppliedPosition, ApplyRepair, OnlineOptions, RepairSink, RepairStatement,
    VerifyReport,
};
use tokio::sync::mpsc;

use crate::config::TaskConfig;
use crate::task::error::TaskError;
use crate::task::options::verify_options;
use crate::task::{CheckpointApplied, RunHandles};

use super::copy::selected_tables;

/// What the repair does (`dts verify --repair`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum RepairMode {
    /// Print the statements as a script for the client.
    Print,
    /// Run them on the target.
    Apply,
}

/// Where the repair goes.
#[derive(Clone, Debug)]
pub enum Repair {
    /// Each batch of statements (SQL without the terminating `;`) is sent
    /// to the receiver, which prints them after
    /// [`REPAIR_SESSION`](super::REPAIR_SESSION); the channel closes when
    /// the verification ends. A closed receiver drops them (the caller
    /// stopped printing and reports why).
    Print(mpsc::Sender<Vec<String>>),
    /// The statements run on the target, each checked for warnings.
    Apply,
}

/// Online verification: incremental migration runs while the tables are
/// compared, so a difference is re-checked before it is reported.
#[derive(Clone, Copy, Debug, Default)]
pub struct OnlineRun {
    /// Re-checks of a row that keeps changing before it is reported as
    /// unsettled (`None`: row-verify's default, 10).
    pub rechecks: Option<u32>,
    /// How long to wait before reading the target again (`None`: 3
    /// seconds); it must exceed the replication lag.
    pub delay: Option<Duration>,
    /// Wait instead until the task's own incremental checkpoint has passed
    /// the source rows' position (exact; for a task that runs).
    pub wait_for_checkpoint: bool,
}

/// What one `dts verify` does, beyond the task's `[verify]` options.
#[derive(Clone, Debug, Default)]
pub struct VerifyRun {
    /// Compare only this percentage of each table's key ranges (above 0,
    /// at most 100), chosen at random.
    pub sample_percent: Option<f64>,
    /// The seed of the sample's choice (`None`: from the clock).
    pub seed: Option<u64>,
    /// Re-check differences while incremental migration runs.
    pub online: Option<OnlineRun>,
    /// Make the target equal for the differing rows.
    pub repair: Option<Repair>,
}

/// What `dts verify` found.
#[derive(Debug)]
pub struct VerifyOutcome {
    /// The report: every table, its differences and their keys.
    pub report: VerifyReport,
    /// With [`Repair::Apply`]: the statements run on the target.
    pub repairs_applied: Option<u64>,
}

/// Sends repair statements to the caller's printer.
struct ChannelRepair {
    tx: mpsc::Sender<Vec<String>>,
}

impl RepairSink for ChannelRepair {
    fn repair<'a>(
        &'a self,
        _table: &'a str,
        statements: Vec<RepairStatement>,
    ) -> BoxFuture<'a, Result<(), CopyError>> {
        Box::pin(async move {
            // A closed channel means the printer stopped (a broken pipe);
            // the caller ends with that error.
            let sql = statements.into_iter().map(|s| s.sql).collect();
            self.tx.send(sql).await.ok();
            Ok(())
        })
    }
}

/// Compares the selected tables of the source and the target row by row on
/// exact bytes and reports every difference with its key; repairs as
/// `run.repair` says. Progress goes to `h.verify`.
///
/// # Errors
///
/// When the sample is not a percentage, nothing is selected, a selected
/// table is missing on either server, or a server fails.
pub async fn verify(
    cfg: &TaskConfig,
    run: VerifyRun,
    h: &RunHandles,
) -> Result<VerifyOutcome, TaskError> {
    if let Some(p) = run.sample_percent {
        if !(p > 0.0 && p <= 100.0) {
            return Err(TaskError::Other(format!(
                "a sample of {p}%: expected a percentage above 0 and at most 100"
            )));
        }
    }
    let source = cfg.source.connect_opts().await;
    let target = cfg.target.connect_opts().await;
    let mut options = verify_options(cfg, h);
    options.sample_percent = run.sample_percent;
    options.sample_seed = run.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    options.online = run.online.map(|o| {
        let d = OnlineOptions::default();
        OnlineOptions {
            rechecks: o.rechecks.unwrap_or(d.rechecks),
            delay: o.delay.unwrap_or(d.delay),
            applied: o.wait_for_checkpoint.then(|| {
                Arc::new(CheckpointApplied::new(cfg, target.clone())) as Arc<dyn AppliedPosition>
            }),
            ..d
        }
    });
    let applied = match run.repair {
        Some(Repair::Apply) => {
            let a = Arc::new(ApplyRepair::new(&target));
            options.repair = Some(a.clone());
            Some(a)
        }
        Some(Repair::Print(tx)) => {
            // The sender lives as long as the options: the receiver ends
            // when the verification does.
            options.repair = Some(Arc::new(ChannelRepair { tx }));
            None
        }
        None => None,
    };
    let tables = selected_tables(cfg, &source, "verify").await?;
    let report = verify_tables(&source, &target, &tables, &options).await?;
    Ok(VerifyOutcome {
        report,
        repairs_applied: applied.map(|a| a.applied()),
    })
}
