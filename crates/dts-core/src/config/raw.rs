//! The task file as written: serde structs that mirror its sections, every
//! value optional where the file may leave it out. Unknown keys are refused
//! here (`deny_unknown_fields`), so a misspelt key is an error naming it;
//! `resolve` turns these into the resolved model.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schema_diff::binlog_ddl::DdlKind;
use serde::Deserialize;

use super::{
    ConflictMode, DmlOp, FenceMode, HeartbeatMode, MigrationType, NameCase, OnlineDdlMode,
    RenamedOut, RowConflict, Snapshot, TlsMode, TriggerMethod,
};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTask {
    pub(super) task: Option<String>,
    pub(super) source: Option<RawEndpoint>,
    pub(super) target: Option<RawEndpoint>,
    #[serde(default)]
    pub(super) migration: RawMigration,
    #[serde(default)]
    pub(super) objects: Vec<RawObject>,
    #[serde(default)]
    pub(super) full: RawFull,
    #[serde(default)]
    pub(super) incremental: RawIncremental,
    #[serde(default)]
    pub(super) verify: RawVerify,
    #[serde(default)]
    pub(super) retry: RawRetry,
    #[serde(default)]
    pub(super) heartbeat: RawHeartbeat,
    #[serde(default)]
    pub(super) online_ddl: RawOnlineDdl,
    #[serde(default)]
    pub(super) metrics: RawMetrics,
    #[serde(default)]
    pub(super) alert: RawAlert,
    #[serde(default)]
    pub(super) precheck: RawPrecheck,
    #[serde(default)]
    pub(super) cutover: RawCutover,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEndpoint {
    pub(super) url: RawUrls,
    pub(super) password_env: Option<String>,
    pub(super) password_file: Option<PathBuf>,
    pub(super) tls: Option<TlsMode>,
    pub(super) tls_ca: Option<PathBuf>,
    pub(super) meta_schema: Option<String>,
    pub(super) binlog_archive: Option<PathBuf>,
}

/// `url`: one URL, or a list of candidates (`[source]` only).
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
pub(super) enum RawUrls {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMigration {
    pub(super) types: Option<Vec<MigrationType>>,
    pub(super) conflict_mode: Option<ConflictMode>,
    pub(super) name_case: Option<NameCase>,
    pub(super) trigger_method: Option<TriggerMethod>,
    pub(super) definer: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawObject {
    pub(super) database: String,
    pub(super) target_database: Option<String>,
    pub(super) tables: Option<Vec<RawTable>>,
    pub(super) dml: Option<Vec<DmlOp>>,
    pub(super) ddl: Option<Vec<DdlKind>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTable {
    pub(super) name: String,
    pub(super) target_name: Option<String>,
    pub(super) columns: Option<Vec<String>>,
    #[serde(default)]
    pub(super) rename_columns: BTreeMap<String, String>,
    pub(super) filter: Option<String>,
    pub(super) dml: Option<Vec<DmlOp>>,
    pub(super) ddl: Option<Vec<DdlKind>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFull {
    pub(super) readers: Option<usize>,
    pub(super) writers: Option<usize>,
    pub(super) snapshot: Option<Snapshot>,
    pub(super) conflict: Option<RowConflict>,
    pub(super) max_rows_per_sec: Option<f64>,
    pub(super) max_bytes_per_sec: Option<f64>,
    pub(super) max_queries_per_sec: Option<f64>,
    pub(super) defer_indexes: Option<bool>,
    pub(super) defer_indexes_min_bytes: Option<i64>,
    pub(super) chunk_rows: Option<i64>,
    pub(super) load_bytes: Option<i64>,
    pub(super) bulk_max_bytes: Option<i64>,
    pub(super) split_rows: Option<i64>,
    pub(super) keyless_max_bytes: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIncremental {
    pub(super) max_rows_per_sec: Option<f64>,
    pub(super) max_bytes_per_sec: Option<f64>,
    pub(super) conflict: Option<RowConflict>,
    pub(super) skip_ddl: Option<Vec<DdlKind>>,
    pub(super) skip_failed_ddl: Option<bool>,
    pub(super) renamed_out: Option<RenamedOut>,
    pub(super) server_id: Option<i64>,
    pub(super) start: Option<String>,
    pub(super) batch_bytes: Option<i64>,
    pub(super) commit_interval_ms: Option<i64>,
    pub(super) lock_wait_timeout_seconds: Option<i64>,
    pub(super) max_uncompressed_bytes: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVerify {
    pub(super) parallel: Option<i64>,
    pub(super) chunk_rows: Option<i64>,
    pub(super) max_listed: Option<i64>,
    pub(super) max_rows_per_sec: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetry {
    pub(super) connection_minutes: Option<i64>,
    pub(super) other_minutes: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHeartbeat {
    pub(super) mode: Option<HeartbeatMode>,
    pub(super) interval_seconds: Option<i64>,
    pub(super) interval_ms: Option<i64>,
    pub(super) schema: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOnlineDdl {
    pub(super) mode: Option<OnlineDdlMode>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub(super) listen: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlert {
    pub(super) lag_threshold_seconds: Option<i64>,
    pub(super) command: Option<Vec<String>>,
    pub(super) webhook: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrecheck {
    #[serde(default)]
    pub(super) acknowledge: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCutover {
    pub(super) max_lag_seconds: Option<i64>,
    pub(super) fence: Option<FenceMode>,
    pub(super) fence_sql: Option<String>,
    pub(super) revoke_target_writes: Option<bool>,
}
