//! The task file (TOML) and the resolved task.
//!
//! A task file is read by [`TaskConfig::from_file`] (or
//! [`TaskConfig::from_toml`]): unknown keys are refused, every value is
//! checked, and an error names the key path (`retry.other_minutes`) and what
//! is allowed there. The result has every default filled in; [`TaskConfig`]
//! serializes to TOML again, which is what `dts config show` prints (the
//! reference product's "preview API parameters"), with passwords as `***`.
//!
//! This file is enough:
//!
//! ```
//! let task = dts_core::config::TaskConfig::from_toml(r#"
//! [source]
//! url = "mysql://root@127.0.0.1:3307"
//! [target]
//! url = "mysql://root@127.0.0.1:3308"
//! [[objects]]
//! database = "shop"
//! [migration]
//! types = ["schema", "full", "incremental"]
//! "#, None).unwrap();
//! assert_eq!(task.task, "default");
//! assert_eq!(task.retry.connection_minutes, 720);
//! ```
//!
//! **Task name.** `task = "NAME"` at the top; otherwise the file's name
//! without its extension (`shop.toml` is task `shop`), or `default` for a
//! file read from elsewhere. Runs with the same name resume each other.
//!
//! **Passwords.** Each endpoint takes at most one of: a password in the URL
//! (allowed in the file; it is moved out of the URL into a [`Secret`] and the
//! URL is shown without it), `password_env = "NAME"` (an environment
//! variable), or `password_file = "/path"` (a file readable by its owner
//! only: mode 0600 or stricter). With none, no password is sent.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use bulk_copy::{ColumnMapping, ConflictPolicy, SnapshotMode, TableMapping};
use schema_diff::binlog_ddl::DdlKind;
use schema_diff::names::{NameMap, Renames};
use schema_diff::CasePolicy;

use crate::secret::Secret;

/// A task file that cannot be used: where and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{key}: {message}", .file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default())]
pub struct ConfigError {
    /// The file, when read from one.
    pub file: Option<PathBuf>,
    /// The key path (`retry.other_minutes`, `objects[0].tables[2].filter`),
    /// or a line and column for a TOML syntax error.
    pub key: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

fn err(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        file: None,
        key: key.into(),
        message: message.into(),
    }
}

// ---------------------------------------------------------------------------
// The file as written.

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTask {
    task: Option<String>,
    source: Option<RawEndpoint>,
    target: Option<RawEndpoint>,
    #[serde(default)]
    migration: RawMigration,
    #[serde(default)]
    objects: Vec<RawObject>,
    #[serde(default)]
    full: RawFull,
    #[serde(default)]
    incremental: RawIncremental,
    #[serde(default)]
    retry: RawRetry,
    #[serde(default)]
    heartbeat: RawHeartbeat,
    #[serde(default)]
    online_ddl: RawOnlineDdl,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    alert: RawAlert,
    #[serde(default)]
    precheck: RawPrecheck,
    #[serde(default)]
    cutover: RawCutover,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEndpoint {
    url: String,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    tls: Option<TlsMode>,
    tls_ca: Option<PathBuf>,
    meta_schema: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMigration {
    types: Option<Vec<MigrationType>>,
    conflict_mode: Option<ConflictMode>,
    name_case: Option<NameCase>,
    trigger_method: Option<TriggerMethod>,
    definer: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObject {
    database: String,
    target_database: Option<String>,
    tables: Option<Vec<RawTable>>,
    dml: Option<Vec<DmlOp>>,
    ddl: Option<Vec<DdlOp>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    name: String,
    target_name: Option<String>,
    columns: Option<Vec<String>>,
    #[serde(default)]
    rename_columns: BTreeMap<String, String>,
    filter: Option<String>,
    dml: Option<Vec<DmlOp>>,
    ddl: Option<Vec<DdlOp>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFull {
    readers: Option<usize>,
    writers: Option<usize>,
    snapshot: Option<Snapshot>,
    conflict: Option<RowConflict>,
    max_rows_per_sec: Option<f64>,
    max_bytes_per_sec: Option<f64>,
    max_queries_per_sec: Option<f64>,
    defer_indexes: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawIncremental {
    max_rows_per_sec: Option<f64>,
    max_bytes_per_sec: Option<f64>,
    conflict: Option<RowConflict>,
    skip_ddl: Option<Vec<DdlOp>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    connection_minutes: Option<i64>,
    other_minutes: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHeartbeat {
    mode: Option<HeartbeatMode>,
    interval_seconds: Option<i64>,
    schema: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOnlineDdl {
    mode: Option<OnlineDdlMode>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAlert {
    lag_threshold_seconds: Option<i64>,
    command: Option<Vec<String>>,
    webhook: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPrecheck {
    #[serde(default)]
    acknowledge: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCutover {
    max_lag_seconds: Option<i64>,
    fence: Option<FenceMode>,
    fence_sql: Option<String>,
    revoke_target_writes: Option<bool>,
}

// ---------------------------------------------------------------------------
// Enumerated values (their serde names are what the file and `config show`
// use, and what errors list as allowed).

/// A phase of the migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MigrationType {
    /// Create the schema on the target.
    Schema,
    /// Copy the data from a consistent snapshot.
    Full,
    /// Apply the source's binlog from the snapshot's position on.
    Incremental,
}

/// What the precheck does about objects that already exist on the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictMode {
    /// A failure (the task does not start).
    #[default]
    PrecheckError,
    /// A warning (the task goes on; rows are then handled by the row
    /// conflict policies of `[full]` and `[incremental]`).
    Ignore,
}

/// How object names are spelled on the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameCase {
    /// As on the source.
    #[default]
    Keep,
    /// Lower case.
    Lower,
    /// Upper case.
    Upper,
}

impl NameCase {
    /// schema-diff's policy.
    pub fn policy(self) -> CasePolicy {
        match self {
            NameCase::Keep => CasePolicy::Keep,
            NameCase::Lower => CasePolicy::Lower,
            NameCase::Upper => CasePolicy::Upper,
        }
    }
}

/// When the source's triggers are created on the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TriggerMethod {
    /// At cut-over, after the last change is applied: they never fire on
    /// replicated rows (whose effects the source's triggers already wrote to
    /// the binlog).
    #[default]
    AtCutover,
    /// With the rest of the schema. Only safe without incremental migration:
    /// otherwise every replicated row fires them a second time.
    WithSchema,
}

/// A row change kind, for per-object DML filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DmlOp {
    /// INSERT.
    Insert,
    /// UPDATE.
    Update,
    /// DELETE.
    Delete,
}

/// Every DML kind.
pub const ALL_DML: &[DmlOp] = &[DmlOp::Insert, DmlOp::Update, DmlOp::Delete];

/// A DDL kind, for per-object DDL filters and the incremental skip list (the
/// reference product's list of replicated DDL, plus the drops).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum DdlOp {
    CreateTable,
    AlterTable,
    DropTable,
    RenameTable,
    TruncateTable,
    CreateIndex,
    DropIndex,
    CreateView,
    AlterView,
    DropView,
    CreateProcedure,
    DropProcedure,
    CreateFunction,
    DropFunction,
}

/// Every DDL kind.
pub const ALL_DDL: &[DdlOp] = &[
    DdlOp::CreateTable,
    DdlOp::AlterTable,
    DdlOp::DropTable,
    DdlOp::RenameTable,
    DdlOp::TruncateTable,
    DdlOp::CreateIndex,
    DdlOp::DropIndex,
    DdlOp::CreateView,
    DdlOp::AlterView,
    DdlOp::DropView,
    DdlOp::CreateProcedure,
    DdlOp::DropProcedure,
    DdlOp::CreateFunction,
    DdlOp::DropFunction,
];

impl DdlOp {
    /// The kind schema-diff's binlog classifier gives such a statement.
    pub fn kind(self) -> DdlKind {
        match self {
            DdlOp::CreateTable => DdlKind::CreateTable,
            DdlOp::AlterTable => DdlKind::AlterTable,
            DdlOp::DropTable => DdlKind::DropTable,
            DdlOp::RenameTable => DdlKind::RenameTable,
            DdlOp::TruncateTable => DdlKind::TruncateTable,
            DdlOp::CreateIndex => DdlKind::CreateIndex,
            DdlOp::DropIndex => DdlKind::DropIndex,
            DdlOp::CreateView => DdlKind::CreateView,
            DdlOp::AlterView => DdlKind::AlterView,
            DdlOp::DropView => DdlKind::DropView,
            DdlOp::CreateProcedure => DdlKind::CreateProcedure,
            DdlOp::DropProcedure => DdlKind::DropProcedure,
            DdlOp::CreateFunction => DdlKind::CreateFunction,
            DdlOp::DropFunction => DdlKind::DropFunction,
        }
    }
}

/// What happens to a row whose key already exists on the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowConflict {
    /// Stop, naming the table and key.
    #[default]
    Error,
    /// Keep the target's row, and count it.
    Ignore,
    /// Replace the target's row, and count it.
    Overwrite,
}

impl RowConflict {
    /// bulk-copy's policy.
    pub fn policy(self) -> ConflictPolicy {
        match self {
            RowConflict::Error => ConflictPolicy::Error,
            RowConflict::Ignore => ConflictPolicy::Ignore,
            RowConflict::Overwrite => ConflictPolicy::Overwrite,
        }
    }
}

/// How the full copy's snapshots are taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Snapshot {
    /// MariaDB's lock-free consistent snapshot on MariaDB, else `ftwrl`.
    #[default]
    Auto,
    /// `START TRANSACTION WITH CONSISTENT SNAPSHOT` (MariaDB only).
    Consistent,
    /// A brief `FLUSH TABLES WITH READ LOCK` (needs RELOAD).
    Ftwrl,
}

impl Snapshot {
    /// bulk-copy's mode.
    pub fn mode(self) -> SnapshotMode {
        match self {
            Snapshot::Auto => SnapshotMode::Auto,
            Snapshot::Consistent => SnapshotMode::ConsistentSnapshot,
            Snapshot::Ftwrl => SnapshotMode::FlushTablesWithReadLock,
        }
    }
}

/// TLS on a connection (design rule 22).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// No TLS.
    Disabled,
    /// TLS when the server offers it (certificate not checked), else plain.
    #[default]
    Preferred,
    /// TLS or no connection (certificate not checked).
    Required,
    /// TLS with the server's certificate signed by `tls_ca`.
    VerifyCa,
    /// As `verify-ca`, and the certificate names the host connected to.
    VerifyIdentity,
}

/// How the source's binlog is kept moving while it has no writes, so that
/// the lag can be measured (the reference product's heartbeat SQL).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeartbeatMode {
    /// A row in a table of `heartbeat.schema` on the source is updated every
    /// interval (needs CREATE, INSERT and UPDATE there, and a writable
    /// source).
    #[default]
    SourceTable,
    /// Nothing is written to the source; the lag is then only known when
    /// the source writes.
    None,
}

/// What happens to online schema change tools' helper tables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnlineDdlMode {
    /// Helper tables (`_t_gho`, `_t_new`, ...) are migrated like any table
    /// and the final RENAME is replicated.
    #[default]
    MigrateTempTables,
    /// Helper tables are skipped; the original ALTER recorded by gh-ost is
    /// applied to the target instead.
    OriginalDdlGhOst,
    /// As `original-ddl-gh-ost`, for the DMS online DDL's helper tables.
    OriginalDdlDms,
}

/// How the source is stopped from taking writes at cut-over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FenceMode {
    /// `SET GLOBAL read_only = ON` on the source (needs SUPER or
    /// READ_ONLY ADMIN).
    #[default]
    ReadOnly,
    /// The statement in `cutover.fence_sql`.
    Sql,
    /// Nothing: the operator stops the writers.
    None,
}

// ---------------------------------------------------------------------------
// The resolved task.

/// Where a password came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    /// No password is sent.
    None,
    /// It was in the URL (and was taken out of it).
    Url,
    /// From this environment variable.
    Env(String),
    /// From this file.
    File(PathBuf),
}

impl std::fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordSource::None => f.write_str("none"),
            PasswordSource::Url => f.write_str("url"),
            PasswordSource::Env(v) => write!(f, "env {v}"),
            PasswordSource::File(p) => write!(f, "file {}", p.display()),
        }
    }
}

impl Serialize for PasswordSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One server of the task.
#[derive(Clone, Debug, Serialize)]
pub struct Endpoint {
    /// The URL without any password.
    pub url: String,
    /// Where the password comes from.
    pub password_source: PasswordSource,
    /// The password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// TLS mode.
    pub tls: TlsMode,
    /// The CA certificate (PEM) for `verify-ca` and `verify-identity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<PathBuf>,
    /// The metadata schema (on the target: task state and checkpoints).
    pub meta_schema: String,
    #[serde(skip)]
    opts: mysql_async::Opts,
}

impl Endpoint {
    /// Connection options with the password and TLS settings. For
    /// `preferred`, these ask for TLS without checking the certificate; use
    /// [`Endpoint::plain_opts`] when the server offers no TLS.
    pub fn opts(&self) -> mysql_async::Opts {
        let mut b = mysql_async::OptsBuilder::from_opts(self.opts.clone())
            .pass(self.password.as_ref().map(|p| p.expose().to_string()));
        let ssl = mysql_async::SslOpts::default();
        b = match self.tls {
            TlsMode::Disabled => b.ssl_opts(None),
            TlsMode::Preferred | TlsMode::Required => b.ssl_opts(Some(
                ssl.with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true),
            )),
            TlsMode::VerifyCa | TlsMode::VerifyIdentity => {
                let roots = self.tls_ca.iter().map(|p| p.clone().into()).collect();
                b.ssl_opts(Some(
                    ssl.with_root_certs(roots)
                        .with_disable_built_in_roots(true)
                        .with_danger_skip_domain_validation(self.tls == TlsMode::VerifyCa),
                ))
            }
        };
        b.into()
    }

    /// Connection options without TLS (for `preferred` against a server
    /// that offers none).
    pub fn plain_opts(&self) -> mysql_async::Opts {
        mysql_async::OptsBuilder::from_opts(self.opts())
            .ssl_opts(None)
            .into()
    }

    /// The user name, if the URL has one.
    pub fn user(&self) -> Option<&str> {
        self.opts.user()
    }

    /// The host.
    pub fn host(&self) -> &str {
        self.opts.ip_or_hostname()
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.opts.tcp_port()
    }
}

/// What the migration does.
#[derive(Clone, Debug, Serialize)]
pub struct Migration {
    /// The phases, a subset of schema, full and incremental.
    pub types: Vec<MigrationType>,
    /// Objects already on the target: a precheck failure or a warning.
    pub conflict_mode: ConflictMode,
    /// Name case on the target.
    pub name_case: NameCase,
    /// When triggers are created.
    pub trigger_method: TriggerMethod,
    /// DEFINER clauses: `invoker` (removed, SQL SECURITY INVOKER) or an
    /// account written as SQL that replaces them.
    pub definer: String,
}

impl Migration {
    /// Whether the phase is part of the task.
    pub fn has(&self, t: MigrationType) -> bool {
        self.types.contains(&t)
    }
}

/// One selected table.
#[derive(Clone, Debug, Serialize)]
pub struct TableSelection {
    /// Its name on the source.
    pub name: String,
    /// Its name on the target before the case policy.
    pub target_name: String,
    /// The columns copied (`None`: all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Column renames (source to target).
    pub rename_columns: BTreeMap<String, String>,
    /// Rows copied and replicated only where this holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Row changes replicated.
    pub dml: Vec<DmlOp>,
    /// DDL replicated.
    pub ddl: Vec<DdlOp>,
}

/// One selected database.
#[derive(Clone, Debug, Serialize)]
pub struct ObjectSelection {
    /// The source database.
    pub database: String,
    /// Its name on the target before the case policy.
    pub target_database: String,
    /// Row changes replicated (for tables that do not say otherwise).
    pub dml: Vec<DmlOp>,
    /// DDL replicated (for tables that do not say otherwise).
    pub ddl: Vec<DdlOp>,
    /// The selected tables; `None` selects the whole database (tables,
    /// views, triggers, routines and events). Selecting tables leaves out
    /// views, triggers, routines and events, as in the reference product.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tables: Option<Vec<TableSelection>>,
}

impl ObjectSelection {
    /// Whether the whole database is selected.
    pub fn whole(&self) -> bool {
        self.tables.is_none()
    }

    /// The selection of table `name`, when it is selected (a whole database
    /// selects every table under its own name).
    pub fn table(&self, name: &str) -> Option<TableSelection> {
        match &self.tables {
            None => Some(TableSelection {
                name: name.to_string(),
                target_name: name.to_string(),
                columns: None,
                rename_columns: BTreeMap::new(),
                filter: None,
                dml: self.dml.clone(),
                ddl: self.ddl.clone(),
            }),
            Some(ts) => ts.iter().find(|t| t.name == name).cloned(),
        }
    }
}

/// `[full]`: the full copy.
#[derive(Clone, Debug, Serialize)]
pub struct FullOptions {
    /// Reader connections.
    pub readers: usize,
    /// Writer connections.
    pub writers: usize,
    /// How snapshots are taken.
    pub snapshot: Snapshot,
    /// Rows whose key is already on the target.
    pub conflict: RowConflict,
    /// Rows per second at most (0: no limit).
    pub max_rows_per_sec: f64,
    /// Bytes per second at most (0: no limit).
    pub max_bytes_per_sec: f64,
    /// Queries per second at most (0: no limit).
    pub max_queries_per_sec: f64,
    /// Drop the plain secondary indexes of large empty target tables for
    /// the load and build them after it (default true).
    pub defer_indexes: bool,
}

/// `[incremental]`: change apply.
#[derive(Clone, Debug, Serialize)]
pub struct IncrementalOptions {
    /// Rows per second at most (0: no limit).
    pub max_rows_per_sec: f64,
    /// Bytes per second at most (0: no limit).
    pub max_bytes_per_sec: f64,
    /// A change that conflicts with the target's rows.
    pub conflict: RowConflict,
    /// DDL kinds not replicated (recorded as skipped).
    pub skip_ddl: Vec<DdlOp>,
}

/// `[retry]`: how long failures are retried.
#[derive(Clone, Debug, Serialize)]
pub struct RetryOptions {
    /// Lost connections are retried for this many minutes (10-1440).
    pub connection_minutes: u32,
    /// Other retryable errors for this many minutes (1-1440, less than
    /// `connection_minutes`).
    pub other_minutes: u32,
}

/// `[heartbeat]`.
#[derive(Clone, Debug, Serialize)]
pub struct HeartbeatOptions {
    /// Source table or none.
    pub mode: HeartbeatMode,
    /// Seconds between heartbeats (1-3600).
    pub interval_seconds: u32,
    /// The schema on the source that holds the heartbeat table.
    pub schema: String,
}

/// `[alert]`: where alerts go.
#[derive(Clone, Debug, Serialize)]
pub struct AlertOptions {
    /// Alert when the lag exceeds this (0: only on failure).
    pub lag_threshold_seconds: u64,
    /// A command run with the alert as JSON on its standard input
    /// (program and arguments, no shell).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// An http(s) URL the alert is POSTed to as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
}

/// `[cutover]`.
#[derive(Clone, Debug, Serialize)]
pub struct CutoverOptions {
    /// Cut-over starts only when the lag is at most this many seconds.
    pub max_lag_seconds: u64,
    /// How the source is fenced.
    pub fence: FenceMode,
    /// The fence statement for `fence = "sql"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fence_sql: Option<String>,
    /// Revoke the task account's write privileges on the target once the
    /// cut-over is done, so that no resumed task can overwrite it.
    pub revoke_target_writes: bool,
}

/// A task with every default filled in.
#[derive(Clone, Debug, Serialize)]
pub struct TaskConfig {
    /// The task's name.
    pub task: String,
    /// The source server.
    pub source: Endpoint,
    /// The target server.
    pub target: Endpoint,
    /// What the migration does.
    pub migration: Migration,
    /// The selected objects.
    pub objects: Vec<ObjectSelection>,
    /// The full copy.
    pub full: FullOptions,
    /// Incremental migration.
    pub incremental: IncrementalOptions,
    /// Retry windows.
    pub retry: RetryOptions,
    /// Heartbeat.
    pub heartbeat: HeartbeatOptions,
    /// Online DDL tools' helper tables.
    pub online_ddl: OnlineDdlMode,
    /// The metrics endpoint (`None`: off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<SocketAddr>,
    /// Alerts.
    pub alert: AlertOptions,
    /// Precheck warnings acknowledged by id.
    pub acknowledge: Vec<String>,
    /// Cut-over.
    pub cutover: CutoverOptions,
}

fn name_ok(key: &str, name: &str) -> Result<(), ConfigError> {
    if name.is_empty() {
        return Err(err(key, "is empty; give a name"));
    }
    Ok(())
}

fn ranged(key: &str, v: Option<i64>, default: i64, lo: i64, hi: i64) -> Result<i64, ConfigError> {
    let v = v.unwrap_or(default);
    if v < lo || v > hi {
        return Err(err(
            key,
            format!("{v} is out of range: allowed {lo} to {hi} (default {default})"),
        ));
    }
    Ok(v)
}

fn rate(key: &str, v: Option<f64>) -> Result<f64, ConfigError> {
    let v = v.unwrap_or(0.0);
    if !v.is_finite() || v < 0.0 {
        return Err(err(
            key,
            format!("{v} is not allowed: give a positive number, or 0 (the default) for no limit"),
        ));
    }
    Ok(v)
}

fn dedup<T: Ord + Copy>(v: &[T]) -> Vec<T> {
    v.iter()
        .copied()
        .collect::<BTreeSet<T>>()
        .into_iter()
        .collect()
}

/// Splits a `mysql://user:password@host:port/...` URL into the URL without
/// the password and the (percent-decoded) password. The split is done on the
/// text before any parser sees it, so no parse error can quote a password.
fn split_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_string(), None);
    };
    let (head, rest) = url.split_at(scheme_end + 3);
    // The authority ends at the first '/', '?' or '#' after the last '@'.
    let Some(at) = rest.rfind('@') else {
        return (url.to_string(), None);
    };
    let (userinfo, host) = rest.split_at(at);
    match userinfo.split_once(':') {
        Some((user, pass)) => {
            let pass = percent_encoding::percent_decode_str(pass)
                .decode_utf8_lossy()
                .into_owned();
            (format!("{head}{user}{host}"), Some(pass))
        }
        None => (url.to_string(), None),
    }
}

fn endpoint(key: &str, raw: RawEndpoint) -> Result<Endpoint, ConfigError> {
    let (url, url_password) = split_password(&raw.url);
    let opts = mysql_async::Opts::from_url(&url).map_err(|e| {
        err(
            format!("{key}.url"),
            format!(
                "{url:?} is not a valid URL ({e}); expected mysql://user@host:port \
                 (percent-encode ':', '@' and '/' inside the user name)"
            ),
        )
    })?;
    let given = [
        url_password.is_some(),
        raw.password_env.is_some(),
        raw.password_file.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given > 1 {
        return Err(err(
            key,
            "the password is given more than once: use one of a password in the url, \
             password_env or password_file",
        ));
    }
    let (password_source, password) = if let Some(p) = url_password {
        (PasswordSource::Url, Some(Secret::new(p)))
    } else if let Some(var) = raw.password_env {
        let value = std::env::var(&var).map_err(|_| {
            err(
                format!("{key}.password_env"),
                format!(
                    "the environment variable {var} is not set (or not valid UTF-8); \
                     export it, or use password_file"
                ),
            )
        })?;
        (PasswordSource::Env(var), Some(Secret::new(value)))
    } else if let Some(path) = raw.password_file {
        let p = read_password_file(&format!("{key}.password_file"), &path)?;
        (PasswordSource::File(path), Some(p))
    } else {
        (PasswordSource::None, None)
    };
    let tls = raw.tls.unwrap_or_default();
    match (tls, &raw.tls_ca) {
        (TlsMode::VerifyCa | TlsMode::VerifyIdentity, None) => {
            return Err(err(
                format!("{key}.tls_ca"),
                "is required with tls = \"verify-ca\" or \"verify-identity\": the path of the \
                 CA certificate (PEM) that signed the server's certificate",
            ))
        }
        (_, Some(ca)) if !ca.is_file() => {
            return Err(err(
                format!("{key}.tls_ca"),
                format!("{} is not a readable file", ca.display()),
            ))
        }
        _ => {}
    }
    let meta_schema = raw.meta_schema.unwrap_or_else(|| "dts_meta".into());
    name_ok(&format!("{key}.meta_schema"), &meta_schema)?;
    Ok(Endpoint {
        url,
        password_source,
        password,
        tls,
        tls_ca: raw.tls_ca,
        meta_schema,
        opts,
    })
}

fn read_password_file(key: &str, path: &Path) -> Result<Secret, ConfigError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| err(key, format!("cannot read {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(err(
                key,
                format!(
                    "{} has mode {mode:04o}: other users can read it; run `chmod 600 {}` \
                     (0600 or stricter is required)",
                    path.display(),
                    path.display()
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(key, format!("cannot read {}: {e}", path.display())))?;
    // One trailing newline (as editors write it) is not part of the password.
    let value = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    Ok(Secret::new(value))
}

impl TaskConfig {
    /// Reads and checks a task file. The task name defaults to the file's
    /// name without its extension.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the file, the key and what is allowed.
    pub fn from_file(path: &Path) -> Result<TaskConfig, ConfigError> {
        let with_file = |mut e: ConfigError| {
            e.file = Some(path.to_path_buf());
            e
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| with_file(err("(file)", format!("cannot read the task file: {e}"))))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string);
        TaskConfig::from_toml(&text, stem.as_deref()).map_err(with_file)
    }

    /// Parses and checks a task file's text. `default_task` is the task
    /// name when the file gives none (`None`: `default`).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the key and what is allowed.
    pub fn from_toml(text: &str, default_task: Option<&str>) -> Result<TaskConfig, ConfigError> {
        let de = toml::Deserializer::new(text);
        let raw: RawTask = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let at = inner
                .span()
                .map(|s| {
                    let before = text.get(..s.start).unwrap_or_default();
                    let line = before.matches('\n').count() + 1;
                    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!(" (line {line}, column {col})")
                })
                .unwrap_or_default();
            let key = if path == "." || path.is_empty() {
                "(top level)".to_string()
            } else {
                path
            };
            err(key, format!("{}{at}", inner.message().trim_end()))
        })?;
        resolve(raw, default_task)
    }

    /// The renames and the case policy, for schema-diff.
    pub fn name_map(&self) -> NameMap {
        NameMap::new(self.renames(), self.migration.name_case.policy())
    }

    /// The renames (without the case policy).
    pub fn renames(&self) -> Renames {
        let mut r = Renames::default();
        for o in &self.objects {
            if o.target_database != o.database {
                r = r.database(&o.database, &o.target_database);
            }
            for t in o.tables.iter().flatten() {
                if t.target_name != t.name {
                    r = r.table(&o.database, &t.name, &t.target_name);
                }
                for (from, to) in &t.rename_columns {
                    r = r.column(&o.database, &t.name, from, to);
                }
            }
        }
        r
    }

    /// The selection of `db`.`table`, when it is selected.
    pub fn selected(&self, db: &str, table: &str) -> Option<TableSelection> {
        self.objects
            .iter()
            .find(|o| o.database == db)
            .and_then(|o| o.table(table))
    }

    /// What the full copy does with source table `db`.`table`, whose
    /// columns are `columns` (in order; generated ones left out by the
    /// caller): target names after renames and the case policy, the column
    /// subset and renames, the checked filter. `None` when not selected.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when a selected or renamed column does not exist or
    /// the filter is refused.
    pub fn copy_table(
        &self,
        db: &str,
        table: &str,
        columns: &[String],
    ) -> Result<Option<TableMapping>, ConfigError> {
        let Some(sel) = self.selected(db, table) else {
            return Ok(None);
        };
        let key = format!("objects[database = {db:?}].tables[name = {table:?}]");
        let names = self.name_map();
        let mut t = TableMapping::renamed(db, table, &names.database(db), &names.table(db, table));
        let has = |c: &str| columns.iter().any(|x| x.eq_ignore_ascii_case(c));
        for c in sel
            .columns
            .iter()
            .flatten()
            .chain(sel.rename_columns.keys())
        {
            if !has(c) {
                return Err(err(
                    format!("{key}.columns"),
                    format!(
                        "the column {c:?} is not a column of the source table (its columns: {})",
                        columns.join(", ")
                    ),
                ));
            }
        }
        let chosen: Vec<&String> = match &sel.columns {
            Some(cs) => columns
                .iter()
                .filter(|c| cs.iter().any(|s| s.eq_ignore_ascii_case(c)))
                .collect(),
            None => columns.iter().collect(),
        };
        let renamed = |c: &str| names.column(db, table, c);
        if sel.columns.is_some() || chosen.iter().any(|c| renamed(c) != **c) {
            t.columns = Some(
                chosen
                    .iter()
                    .map(|c| ColumnMapping {
                        source: (*c).clone(),
                        target: renamed(c),
                    })
                    .collect(),
            );
        }
        if let Some(f) = &sel.filter {
            bulk_copy::validate_filter(f, columns)
                .map_err(|e| err(format!("{key}.filter"), e.to_string()))?;
            t.filter = Some(f.clone());
        }
        Ok(Some(t))
    }
}

fn resolve(raw: RawTask, default_task: Option<&str>) -> Result<TaskConfig, ConfigError> {
    let task = raw
        .task
        .or_else(|| default_task.map(str::to_string))
        .unwrap_or_else(|| "default".into());
    if task.is_empty()
        || task.len() > 64
        || !task
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(err(
            "task",
            format!(
                "{task:?} is not a valid task name: 1 to 64 of a-z, A-Z, 0-9, '-', '_', '.' \
                 (set task = \"...\" at the top of the file)"
            ),
        ));
    }
    let source = endpoint(
        "source",
        raw.source.ok_or_else(|| {
            err(
                "source",
                "is missing: add [source] with url = \"mysql://user@host:port\"",
            )
        })?,
    )?;
    let target = endpoint(
        "target",
        raw.target.ok_or_else(|| {
            err(
                "target",
                "is missing: add [target] with url = \"mysql://user@host:port\"",
            )
        })?,
    )?;

    let m = raw.migration;
    let types = dedup(m.types.as_deref().unwrap_or(&[
        MigrationType::Schema,
        MigrationType::Full,
        MigrationType::Incremental,
    ]));
    if types.is_empty() {
        return Err(err(
            "migration.types",
            "is empty: give a subset of \"schema\", \"full\", \"incremental\"",
        ));
    }
    let definer = m.definer.unwrap_or_else(|| "invoker".into());
    let migration = Migration {
        types,
        conflict_mode: m.conflict_mode.unwrap_or_default(),
        name_case: m.name_case.unwrap_or_default(),
        trigger_method: m.trigger_method.unwrap_or_default(),
        definer,
    };

    if raw.objects.is_empty() {
        return Err(err(
            "objects",
            "no objects are selected: add at least one [[objects]] with database = \"NAME\"",
        ));
    }
    let mut objects = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, o) in raw.objects.into_iter().enumerate() {
        let key = format!("objects[{i}]");
        name_ok(&format!("{key}.database"), &o.database)?;
        if !seen.insert(o.database.clone()) {
            return Err(err(
                format!("{key}.database"),
                format!(
                    "{:?} is selected twice: list its tables in one [[objects]] entry",
                    o.database
                ),
            ));
        }
        let dml = dedup(o.dml.as_deref().unwrap_or(ALL_DML));
        let ddl = dedup(o.ddl.as_deref().unwrap_or(ALL_DDL));
        let target_database = o.target_database.unwrap_or_else(|| o.database.clone());
        name_ok(&format!("{key}.target_database"), &target_database)?;
        let tables = match o.tables {
            None => None,
            Some(ts) => {
                if ts.is_empty() {
                    return Err(err(
                        format!("{key}.tables"),
                        "is empty: leave it out to select the whole database, or list tables",
                    ));
                }
                let mut out: Vec<TableSelection> = Vec::new();
                for (j, t) in ts.into_iter().enumerate() {
                    let tkey = format!("{key}.tables[{j}]");
                    name_ok(&format!("{tkey}.name"), &t.name)?;
                    if out.iter().any(|x| x.name == t.name) {
                        return Err(err(
                            format!("{tkey}.name"),
                            format!("{:?} is listed twice", t.name),
                        ));
                    }
                    if let Some(cs) = &t.columns {
                        if cs.is_empty() {
                            return Err(err(
                                format!("{tkey}.columns"),
                                "is empty: leave it out to copy every column",
                            ));
                        }
                        for c in t.rename_columns.keys() {
                            if !cs.iter().any(|x| x.eq_ignore_ascii_case(c)) {
                                return Err(err(
                                    format!("{tkey}.rename_columns.{c}"),
                                    "renames a column that is not in `columns`",
                                ));
                            }
                        }
                    }
                    for (from, to) in &t.rename_columns {
                        name_ok(&format!("{tkey}.rename_columns.{from}"), to)?;
                    }
                    if let Some(f) = &t.filter {
                        // The full check needs the table's columns (done when
                        // the table is read); refuse what is wrong anyway.
                        if let Err(e) = bulk_copy::validate_filter(f, &[]) {
                            if !e.reason.contains("is not a column of the table") {
                                return Err(err(format!("{tkey}.filter"), e.to_string()));
                            }
                        }
                    }
                    let target_name = t.target_name.unwrap_or_else(|| t.name.clone());
                    name_ok(&format!("{tkey}.target_name"), &target_name)?;
                    out.push(TableSelection {
                        name: t.name,
                        target_name,
                        columns: t.columns,
                        rename_columns: t.rename_columns,
                        filter: t.filter,
                        dml: dedup(t.dml.as_deref().unwrap_or(&dml)),
                        ddl: dedup(t.ddl.as_deref().unwrap_or(&ddl)),
                    });
                }
                Some(out)
            }
        };
        objects.push(ObjectSelection {
            database: o.database,
            target_database,
            dml,
            ddl,
            tables,
        });
    }

    let f = raw.full;
    let readers = ranged("full.readers", f.readers.map(|v| v as i64), 4, 1, 256)? as usize;
    let full = FullOptions {
        readers,
        writers: ranged(
            "full.writers",
            f.writers.map(|v| v as i64),
            readers as i64,
            1,
            256,
        )? as usize,
        snapshot: f.snapshot.unwrap_or_default(),
        conflict: f.conflict.unwrap_or_default(),
        max_rows_per_sec: rate("full.max_rows_per_sec", f.max_rows_per_sec)?,
        max_bytes_per_sec: rate("full.max_bytes_per_sec", f.max_bytes_per_sec)?,
        max_queries_per_sec: rate("full.max_queries_per_sec", f.max_queries_per_sec)?,
        defer_indexes: f.defer_indexes.unwrap_or(true),
    };
    let inc = raw.incremental;
    let incremental = IncrementalOptions {
        max_rows_per_sec: rate("incremental.max_rows_per_sec", inc.max_rows_per_sec)?,
        max_bytes_per_sec: rate("incremental.max_bytes_per_sec", inc.max_bytes_per_sec)?,
        conflict: inc.conflict.unwrap_or_default(),
        skip_ddl: dedup(inc.skip_ddl.as_deref().unwrap_or(&[])),
    };
    let connection_minutes = ranged(
        "retry.connection_minutes",
        raw.retry.connection_minutes,
        720,
        10,
        1440,
    )?;
    let other_minutes = ranged("retry.other_minutes", raw.retry.other_minutes, 10, 1, 1440)?;
    if other_minutes >= connection_minutes {
        return Err(err(
            "retry.other_minutes",
            format!(
                "{other_minutes} must be less than retry.connection_minutes ({connection_minutes})"
            ),
        ));
    }
    let retry = RetryOptions {
        connection_minutes: connection_minutes as u32,
        other_minutes: other_minutes as u32,
    };
    let heartbeat = HeartbeatOptions {
        mode: raw.heartbeat.mode.unwrap_or_default(),
        interval_seconds: ranged(
            "heartbeat.interval_seconds",
            raw.heartbeat.interval_seconds,
            2,
            1,
            3600,
        )? as u32,
        schema: raw.heartbeat.schema.unwrap_or_else(|| "dts_meta".into()),
    };
    name_ok("heartbeat.schema", &heartbeat.schema)?;
    let metrics_listen = match raw.metrics.listen {
        None => None,
        Some(l) if l == "off" => None,
        Some(l) => Some(l.parse::<SocketAddr>().map_err(|_| {
            err(
                "metrics.listen",
                format!(
                    "{l:?} is not an address: give IP:PORT, e.g. \"127.0.0.1:9464\", or \"off\""
                ),
            )
        })?),
    };
    let a = raw.alert;
    if let Some(c) = &a.command {
        if c.is_empty() || c.iter().any(String::is_empty) {
            return Err(err(
                "alert.command",
                "give the program and its arguments, e.g. [\"/usr/local/bin/page\", \"--team=db\"]",
            ));
        }
    }
    if let Some(w) = &a.webhook {
        if !(w.starts_with("https://") || w.starts_with("http://")) {
            return Err(err(
                "alert.webhook",
                format!("{w:?} is not an http:// or https:// URL"),
            ));
        }
    }
    let alert = AlertOptions {
        lag_threshold_seconds: ranged(
            "alert.lag_threshold_seconds",
            a.lag_threshold_seconds,
            0,
            0,
            7 * 86400,
        )? as u64,
        command: a.command,
        webhook: a.webhook,
    };
    for (i, id) in raw.precheck.acknowledge.iter().enumerate() {
        if !crate::precheck::CHECKS.iter().any(|c| c.id == id) {
            return Err(err(
                format!("precheck.acknowledge[{i}]"),
                format!(
                    "{id:?} is not a precheck id; the ids are: {}",
                    crate::precheck::CHECKS
                        .iter()
                        .map(|c| c.id)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    let c = raw.cutover;
    let fence = c.fence.unwrap_or_default();
    match (fence, &c.fence_sql) {
        (FenceMode::Sql, None) => {
            return Err(err(
                "cutover.fence_sql",
                "is required with fence = \"sql\": the statement that stops writes to the source",
            ))
        }
        (FenceMode::ReadOnly | FenceMode::None, Some(_)) => {
            return Err(err(
                "cutover.fence_sql",
                "is only used with fence = \"sql\"",
            ))
        }
        _ => {}
    }
    let cutover = CutoverOptions {
        max_lag_seconds: ranged("cutover.max_lag_seconds", c.max_lag_seconds, 5, 0, 86400)? as u64,
        fence,
        fence_sql: c.fence_sql,
        revoke_target_writes: c.revoke_target_writes.unwrap_or(false),
    };
    Ok(TaskConfig {
        task,
        source,
        target,
        migration,
        objects,
        full,
        incremental,
        retry,
        heartbeat,
        online_ddl: raw.online_ddl.mode.unwrap_or_default(),
        metrics_listen,
        alert,
        acknowledge: raw.precheck.acknowledge,
        cutover,
    })
}

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
