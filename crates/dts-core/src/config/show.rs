//! `dts config show`: the resolved task printed as a task file.

use serde::Serialize;

use super::{
    AlertOptions, CutoverOptions, Endpoint, FullOptions, HeartbeatOptions, IncrementalOptions,
    Migration, ObjectSelection, OnlineDdlMode, RetryOptions, TaskConfig, VerificationOptions,
};

impl TaskConfig {
    /// The resolved task as TOML, every default written out and passwords
    /// as `***` (what `dts config show` prints).
    pub fn to_toml(&self) -> String {
        // Serialization of these plain structs cannot fail; a failure would
        // be a bug, shown rather than hidden.
        toml::to_string(&ShowTask::from(self))
            .unwrap_or_else(|e| format!("# cannot print the task: {e}\n"))
    }
}

/// The shape `config show` prints: the task file's sections.
#[derive(Serialize)]
struct ShowTask<'a> {
    task: &'a str,
    source: &'a Endpoint,
    target: &'a Endpoint,
    migration: &'a Migration,
    full: &'a FullOptions,
    incremental: &'a IncrementalOptions,
    verify: &'a VerificationOptions,
    retry: &'a RetryOptions,
    heartbeat: &'a HeartbeatOptions,
    online_ddl: ShowOnlineDdl,
    metrics: ShowMetrics,
    alert: &'a AlertOptions,
    precheck: ShowPrecheck<'a>,
    cutover: &'a CutoverOptions,
    objects: &'a [ObjectSelection],
}

#[derive(Serialize)]
struct ShowOnlineDdl {
    mode: OnlineDdlMode,
}

#[derive(Serialize)]
struct ShowMetrics {
    listen: String,
}

#[derive(Serialize)]
struct ShowPrecheck<'a> {
    acknowledge: &'a [String],
}

impl<'a> From<&'a TaskConfig> for ShowTask<'a> {
    fn from(t: &'a TaskConfig) -> Self {
        ShowTask {
            task: &t.task,
            source: &t.source,
            target: &t.target,
            migration: &t.migration,
            full: &t.full,
            incremental: &t.incremental,
            verify: &t.verify,
            retry: &t.retry,
            heartbeat: &t.heartbeat,
            online_ddl: ShowOnlineDdl { mode: t.online_ddl },
            metrics: ShowMetrics {
                listen: t
                    .metrics_listen
                    .map_or_else(|| "off".to_string(), |a| a.to_string()),
            },
            alert: &t.alert,
            precheck: ShowPrecheck {
                acknowledge: &t.acknowledge,
            },
            cutover: &t.cutover,
            objects: &t.objects,
        }
    }
}
