//! The resolved task: [`TaskConfig`] and its sections with every default
//! filled in, the enumerated values of the task file, and what the selection
//! means for the libraries (schema-diff's names, bulk-copy's tables).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use bulk_copy::{ColumnMapping, ConflictPolicy, SnapshotMode, TableMapping};
use schema_diff::binlog_ddl::DdlKind;
use schema_diff::names::{NameMap, Renames};
use schema_diff::translate::DefinerPolicy;
use schema_diff::{CasePolicy, ServerVersion};

use super::{err, ConfigError, Endpoint};

// Enumerated values (their serde names are what the file and `config show`
// use, and what errors list as allowed).

/// A phase of the migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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

/// Every DDL kind a task file may name in its per-object DDL filters and
/// the incremental skip list (the reference product's list of replicated
/// DDL, plus the drops), as schema-diff's binlog classifier gives them.
pub const ALL_DDL: &[DdlKind] = &[
    DdlKind::CreateTable,
    DdlKind::AlterTable,
    DdlKind::DropTable,
    DdlKind::RenameTable,
    DdlKind::TruncateTable,
    DdlKind::CreateIndex,
    DdlKind::DropIndex,
    DdlKind::CreateView,
    DdlKind::AlterView,
    DdlKind::DropView,
    DdlKind::CreateProcedure,
    DdlKind::DropProcedure,
    DdlKind::CreateFunction,
    DdlKind::DropFunction,
];

/// What happens to a row whose key already exists on the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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

/// What happens on the target to a table that `RENAME TABLE` moves out of
/// the selected objects during incremental migration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RenamedOut {
    /// Keep the target table as it was, no longer followed.
    #[default]
    Keep,
    /// Drop the target table.
    Drop,
}

impl RenamedOut {
    /// bulk-copy's choice.
    pub fn apply(self) -> bulk_copy::RenamedOut {
        match self {
            RenamedOut::Keep => bulk_copy::RenamedOut::Keep,
            RenamedOut::Drop => bulk_copy::RenamedOut::Drop,
        }
    }
}

/// How the full copy's snapshots are taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Snapshot {
    /// The source's default (server-dialect's `default_snapshot_method`):
    /// MariaDB's lock-free consistent snapshot on MariaDB, `watermark` on
    /// MySQL and PolarDB.
    #[default]
    Auto,
    /// `START TRANSACTION WITH CONSISTENT SNAPSHOT` (MariaDB only).
    Consistent,
    /// A brief `FLUSH TABLES WITH READ LOCK` (needs RELOAD).
    Ftwrl,
    /// Each chunk read by a short locking read between two binlog
    /// watermarks, the row changes of that window reconciled into it: no
    /// global lock, no RELOAD, the copy starts while long queries run;
    /// needs the binary log and REPLICATION SLAVE and CLIENT. Any flavour.
    Watermark,
}

impl Snapshot {
    /// bulk-copy's mode.
    pub fn mode(self) -> SnapshotMode {
        match self {
            Snapshot::Auto => SnapshotMode::Auto,
            Snapshot::Consistent => SnapshotMode::ConsistentSnapshot,
            Snapshot::Ftwrl => SnapshotMode::FlushTablesWithReadLock,
            Snapshot::Watermark => SnapshotMode::Watermark,
        }
    }
}

/// How the source's binlog is kept moving while it has no writes, so that
/// the lag can be measured (the reference product's heartbeat SQL).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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

/// What happens to online schema change tools' helper tables (gh-ost's
/// `_t_gho`/`_t_ghc`/`_t_del`, pt-online-schema-change's `_t_new`/`_t_old`).
///
/// The task file takes the reference product's names; `dts apply
/// --online-ddl` takes `replicate` and `apply-original-ddl`. Each accepts
/// the other's names too.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum OnlineDdlMode {
    /// Replicate the helper tables like any table, so the tool's final
    /// swap renames complete tables on the target.
    #[default]
    #[serde(alias = "replicate")]
    #[cfg_attr(
        feature = "clap",
        value(name = "replicate", alias = "migrate-temp-tables")
    )]
    MigrateTempTables,
    /// Skip the helper tables, and at the tool's swap apply the ALTER it
    /// ran on its ghost table to the table itself (gh-ost and
    /// pt-online-schema-change).
    #[serde(alias = "apply-original-ddl")]
    #[cfg_attr(
        feature = "clap",
        value(name = "apply-original-ddl", alias = "original-ddl-gh-ost")
    )]
    OriginalDdlGhOst,
    /// As `original-ddl-gh-ost`, for the DMS online DDL's helper tables:
    /// not supported (their names are not recognised), so a task file that
    /// asks for it is refused.
    #[cfg_attr(feature = "clap", value(skip))]
    OriginalDdlDms,
}

impl OnlineDdlMode {
    /// bulk-copy's mode; `None` for a mode the apply does not support.
    pub fn mode(self) -> Option<bulk_copy::OnlineDdlMode> {
        match self {
            OnlineDdlMode::MigrateTempTables => Some(bulk_copy::OnlineDdlMode::Replicate),
            OnlineDdlMode::OriginalDdlGhOst => Some(bulk_copy::OnlineDdlMode::ApplyOriginalDdl),
            OnlineDdlMode::OriginalDdlDms => None,
        }
    }
}

/// How the source is stopped from taking writes at cut-over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum FenceMode {
    /// The source made read-only for every account: `SET GLOBAL
    /// super_read_only = ON` on MySQL, `SET GLOBAL read_only = ON` on
    /// MariaDB (server-dialect's `fence_statement`; needs
    /// SYSTEM_VARIABLES_ADMIN or SUPER on MySQL, READ_ONLY ADMIN or SUPER
    /// on MariaDB).
    #[default]
    ReadOnly,
    /// The statement in `cutover.fence_sql`.
    Sql,
    /// Nothing: the operator stops the writers.
    None,
}

// ---------------------------------------------------------------------------
// The resolved task.

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

    /// schema-diff's DEFINER rule: `invoker`, or the account given.
    pub fn definer_policy(&self) -> DefinerPolicy {
        if self.definer == "invoker" {
            DefinerPolicy::Invoker
        } else {
            DefinerPolicy::Account(self.definer.clone())
        }
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
    pub ddl: Vec<DdlKind>,
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
    pub ddl: Vec<DdlKind>,
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
    /// With `defer_indexes`: the source data length from which an empty
    /// table's indexes are deferred, in bytes (default 16 MiB).
    pub defer_indexes_min_bytes: u64,
    /// Rows per keyset chunk at most (default 100,000).
    pub chunk_rows: usize,
    /// Bytes of LOAD DATA text per load at most (default 1 MiB).
    pub load_bytes: usize,
    /// Empty target tables up to this source data length are loaded in one
    /// transaction, in bytes (default 64 MiB; 0: never).
    pub bulk_max_bytes: u64,
    /// Tables are split into ranges of about this many rows, copied in
    /// parallel, at split points found by walking the key on the source
    /// (default 1,000,000; 0: never).
    pub split_rows: u64,
    /// Tables without a usable key up to this source data length are
    /// loaded in one transaction; larger ones are refused with the fix (a
    /// key), in bytes (default 1 GiB).
    pub keyless_max_bytes: u64,
}

/// `[incremental] start`: where an incremental-only task starts without a
/// checkpoint, instead of the source's current position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IncrementalStart {
    /// `gtid:SET`: after these transactions (a MariaDB GTID position such
    /// as `0-1-100,2-1-5`, or a MySQL GTID set, gaps kept).
    Gtid(binlog_reader::position::GtidState),
    /// `file:NAME:POS`: at this binlog file position.
    File(binlog_reader::position::FilePosition),
}

impl IncrementalStart {
    /// Parses `gtid:SET` or `file:NAME:POS`.
    ///
    /// # Errors
    ///
    /// What is wrong, with the allowed forms.
    pub fn parse(text: &str) -> Result<Self, String> {
        use binlog_reader::position::{FilePosition, GtidSet, GtidState, MariadbGtidPosition};
        if let Some(set) = text.strip_prefix("gtid:") {
            if set.trim().is_empty() {
                return Err("the GTID set after \"gtid:\" is empty".into());
            }
            if let Ok(p) = MariadbGtidPosition::parse(set) {
                return Ok(IncrementalStart::Gtid(GtidState::Mariadb(p)));
            }
            return GtidSet::parse(set)
                .map(|s| IncrementalStart::Gtid(GtidState::Mysql(s)))
                .map_err(|e| {
                    format!(
                        "{set:?} is neither a MariaDB GTID position (domain-server-sequence, \
                         comma-separated) nor a MySQL GTID set ({e})"
                    )
                });
        }
        if let Some(pos) = text.strip_prefix("file:") {
            return FilePosition::parse(pos)
                .map(IncrementalStart::File)
                .map_err(|e| e.to_string());
        }
        Err(format!(
            "{text:?} is not a start position: expected \"gtid:SET\" (e.g. \"gtid:0-1-100\") \
             or \"file:NAME:POS\" (e.g. \"file:mysql-bin.000042:4\")"
        ))
    }
}

impl std::fmt::Display for IncrementalStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use binlog_reader::position::GtidState;
        match self {
            IncrementalStart::Gtid(GtidState::Mariadb(p)) => write!(f, "gtid:{p}"),
            IncrementalStart::Gtid(GtidState::Mysql(s)) => write!(f, "gtid:{s}"),
            IncrementalStart::Gtid(GtidState::None) => f.write_str("gtid:"),
            IncrementalStart::File(p) => write!(f, "file:{p}"),
        }
    }
}

impl Serialize for IncrementalStart {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
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
    /// DDL kinds not replicated (counted as skipped), for every object.
    pub skip_ddl: Vec<DdlKind>,
    /// DDL the target refuses, or of a kind the apply does not support, is
    /// skipped and reported instead of stopping the task (default false).
    pub skip_failed_ddl: bool,
    /// A table renamed out of the selected objects: kept on the target
    /// (default) or dropped there.
    pub renamed_out: RenamedOut,
    /// The server id the binlog reader registers with on the source
    /// (distinct from every replica's and every other task's): by default
    /// derived from the task name (`bulk_copy::reader_server_id`).
    pub server_id: u32,
    /// Where an incremental-only task starts without a checkpoint (default:
    /// the source's current position).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<IncrementalStart>,
    /// Changes held before they are written, in bytes (default 8 MiB).
    pub batch_bytes: usize,
    /// The longest a target transaction stays open while a backlog is
    /// applied, in milliseconds (default 500).
    pub commit_interval_ms: u64,
    /// Seconds the apply session waits for a row lock on the target before
    /// the target transaction is retried (`None`: the server's setting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_wait_timeout_seconds: Option<u64>,
    /// The largest uncompressed size of a compressed transaction (MySQL's
    /// TRANSACTION_PAYLOAD) or compressed event (MariaDB) the apply
    /// accepts, in bytes (default 1 GiB): it holds one decoded whole.
    pub max_uncompressed_bytes: u64,
}

/// `[verify]`: the exact verification (`dts verify`, and the check at
/// cut-over).
#[derive(Clone, Debug, Serialize)]
pub struct VerificationOptions {
    /// Workers, each with one connection to each server (default 4).
    pub parallel: usize,
    /// Rows per key range at most (default 100,000).
    pub chunk_rows: usize,
    /// Differences listed per table at most; the totals are always exact
    /// (default 100).
    pub max_listed: usize,
    /// Rows per second at most, hashed or read (0: no limit).
    pub max_rows_per_sec: f64,
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
    /// Milliseconds between heartbeats (the file's `interval_seconds`, or
    /// `interval_ms` for less than a second).
    pub interval_ms: u64,
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
    /// Verification.
    pub verify: VerificationOptions,
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

/// What a schema plan is made for.
#[derive(Clone, Debug)]
pub enum PlanTarget {
    /// The target server: its version is read from it.
    Server(Endpoint),
    /// Only a version (`dts schema plan --target-version`): no target is
    /// connected to.
    Version(ServerVersion),
}

/// What the schema migration's plan needs of a task: the source, the
/// selection and how names and definers are rewritten, and what it plans
/// for. [`PlanConfig::from`] a [`TaskConfig`] plans for its target;
/// [`CommandLine::plan_config`](super::CommandLine::plan_config) may give
/// only a version.
#[derive(Clone, Debug)]
pub struct PlanConfig {
    /// The source server.
    pub source: Endpoint,
    /// What the plan is for.
    pub target: PlanTarget,
    /// Name case and the definer rule.
    pub migration: Migration,
    /// The selected objects.
    pub objects: Vec<ObjectSelection>,
}

impl From<&TaskConfig> for PlanConfig {
    fn from(t: &TaskConfig) -> Self {
        PlanConfig {
            source: t.source.clone(),
            target: PlanTarget::Server(t.target.clone()),
            migration: t.migration.clone(),
            objects: t.objects.clone(),
        }
    }
}

impl PlanConfig {
    /// The renames and the case policy, for schema-diff.
    pub fn name_map(&self) -> NameMap {
        NameMap::new(renames(&self.objects), self.migration.name_case.policy())
    }

    /// The selection of `db`.`table`, when it is selected.
    pub fn selected(&self, db: &str, table: &str) -> Option<TableSelection> {
        selected(&self.objects, db, table)
    }
}

/// The renames of the selected objects (without the case policy).
fn renames(objects: &[ObjectSelection]) -> Renames {
    let mut r = Renames::default();
    for o in objects {
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

/// The selection of `db`.`table` among `objects`, when it is selected.
fn selected(objects: &[ObjectSelection], db: &str, table: &str) -> Option<TableSelection> {
    objects
        .iter()
        .find(|o| o.database == db)
        .and_then(|o| o.table(table))
}

impl TaskConfig {
    /// The renames and the case policy, for schema-diff.
    pub fn name_map(&self) -> NameMap {
        NameMap::new(self.renames(), self.migration.name_case.policy())
    }

    /// The renames (without the case policy).
    pub fn renames(&self) -> Renames {
        renames(&self.objects)
    }

    /// The selection of `db`.`table`, when it is selected.
    pub fn selected(&self, db: &str, table: &str) -> Option<TableSelection> {
        selected(&self.objects, db, table)
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
