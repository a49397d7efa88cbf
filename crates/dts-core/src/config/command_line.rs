//! A task described by the options of a command instead of a task file
//! (`dts copy`, `dts apply`, `dts verify`, `dts schema plan`, `dts binlog
//! dump`): [`CommandLine`] is written into the task file's sections as
//! written and resolved by the same function as a file, so it gets the same
//! defaults and the same checks; an error names the option (`--readers`)
//! instead of the key (`full.readers`) where one option sets the key.
//!
//! Passwords: never on a command line (argv is visible to every user of
//! the machine). A URL carrying one is refused; the password comes from the
//! environment variable each server names (`DTS_SOURCE_PASSWORD`,
//! `DTS_TARGET_PASSWORD`), and none is sent when it is not set.

use std::path::PathBuf;

use schema_diff::ServerVersion;

use super::raw::{
    RawEndpoint, RawFull, RawHeartbeat, RawIncremental, RawMigration, RawObject, RawOnlineDdl,
    RawTable, RawTask, RawVerify,
};
use super::resolve::{endpoint, migration, objects, parse, resolve, split_password};
use super::{
    err, ConfigError, Endpoint, HeartbeatMode, NameCase, OnlineDdlMode, PlanConfig, PlanTarget,
    RowConflict, Snapshot, TaskConfig, TlsMode,
};

/// One server on the command line.
#[derive(Clone, Debug, Default)]
pub struct ServerArgs {
    /// `mysql://user@host:port`, without a password.
    pub url: String,
    /// The environment variable that holds the password, if it is set.
    pub password_env: String,
    /// TLS (the task file's `tls`; default `preferred`).
    pub tls: Option<TlsMode>,
    /// The CA certificate for `verify-ca` and `verify-identity` (`tls_ca`).
    pub tls_ca: Option<PathBuf>,
}

/// The full copy's options (`[full]`); `None` takes the task file's default.
#[derive(Clone, Debug, Default)]
pub struct FullArgs {
    /// `readers`.
    pub readers: Option<usize>,
    /// `writers` (default: as many as readers).
    pub writers: Option<usize>,
    /// `chunk_rows`.
    pub chunk_rows: Option<usize>,
    /// `load_bytes`.
    pub load_bytes: Option<usize>,
    /// `bulk_max_bytes`.
    pub bulk_max_bytes: Option<u64>,
    /// `defer_indexes_min_bytes`.
    pub defer_indexes_min_bytes: Option<u64>,
    /// Keep every secondary index during the load (`defer_indexes = false`).
    pub keep_indexes: bool,
    /// `split_rows`.
    pub split_rows: Option<u64>,
    /// `snapshot`.
    pub snapshot: Option<Snapshot>,
    /// `max_queries_per_sec`.
    pub max_queries_per_sec: Option<f64>,
    /// `max_bytes_per_sec`.
    pub max_bytes_per_sec: Option<f64>,
}

/// The apply's options (`[incremental]`, `[heartbeat]`, `[online_ddl]`).
#[derive(Clone, Debug, Default)]
pub struct IncrementalArgs {
    /// `server_id`.
    pub server_id: Option<u32>,
    /// `batch_bytes`.
    pub batch_bytes: Option<usize>,
    /// `commit_interval_ms`.
    pub commit_interval_ms: Option<u64>,
    /// `lock_wait_timeout_seconds`.
    pub lock_wait_timeout_seconds: Option<u64>,
    /// `skip_failed_ddl`.
    pub skip_failed_ddl: bool,
    /// `[online_ddl] mode`.
    pub online_ddl: Option<OnlineDdlMode>,
    /// A heartbeat row written to the source every this many milliseconds.
    /// Unlike a task file's (on by default), a command's heartbeat is off
    /// unless given (0 or `None`): a command run by hand writes nothing to
    /// the source unasked.
    pub heartbeat_ms: Option<u64>,
}

/// The verification's options (`[verify]`).
#[derive(Clone, Debug, Default)]
pub struct VerifyArgs {
    /// `parallel`.
    pub parallel: Option<usize>,
    /// `chunk_rows`.
    pub chunk_rows: Option<usize>,
    /// `max_listed`.
    pub max_listed: Option<usize>,
}

/// A command's options, as the task they describe. Fields left `None` (or
/// empty) take the task file's defaults.
#[derive(Clone, Debug, Default)]
pub struct CommandLine {
    /// A task file the options apply on top of (`dts verify --config F
    /// --parallel 8`); without one, the options are the whole task.
    pub config: Option<PathBuf>,
    /// The task's name (`task`; default `default`).
    pub task: Option<String>,
    /// The metadata schema on the target (`target.meta_schema`).
    pub meta_schema: Option<String>,
    /// The source.
    pub source: Option<ServerArgs>,
    /// The target.
    pub target: Option<ServerArgs>,
    /// Whole databases selected (every table of each).
    pub databases: Vec<String>,
    /// Single tables selected, as `DATABASE.TABLE`, under their own names.
    pub tables: Vec<String>,
    /// With exactly one database: its name on the target.
    pub target_database: Option<String>,
    /// Databases renamed on the target, as `FROM=TO` (each selected).
    pub rename_databases: Vec<String>,
    /// Name case on the target (`migration.name_case`).
    pub name_case: Option<NameCase>,
    /// The DEFINER rule (`migration.definer`: an account, or `invoker`).
    pub definer: Option<String>,
    /// Row conflicts, of the copy and of the apply (`full.conflict`,
    /// `incremental.conflict`).
    pub conflict: Option<RowConflict>,
    /// Rows per second at most, of whatever the command does
    /// (`full.max_rows_per_sec`, `incremental.max_rows_per_sec`,
    /// `verify.max_rows_per_sec`).
    pub max_rows_per_sec: Option<f64>,
    /// The full copy's options.
    pub full: FullArgs,
    /// The apply's options.
    pub incremental: IncrementalArgs,
    /// The verification's options.
    pub verify: VerifyArgs,
}

/// The option that sets a task-file key, for errors about it.
const OPTIONS: &[(&str, &str)] = &[
    ("task", "--task"),
    ("source", "--source"),
    ("source.url", "--source"),
    ("source.tls_ca", "--ssl-ca (or --source-ssl-ca)"),
    ("source.meta_schema", "--meta-schema"),
    ("target", "--target"),
    ("target.url", "--target"),
    ("target.tls_ca", "--ssl-ca (or --target-ssl-ca)"),
    ("target.meta_schema", "--meta-schema"),
    ("migration.definer", "--definer"),
    ("objects", "--database"),
    ("full.readers", "--readers"),
    ("full.writers", "--writers"),
    ("full.chunk_rows", "--chunk-rows"),
    ("full.load_bytes", "--load-bytes"),
    ("full.bulk_max_bytes", "--bulk-max-bytes"),
    ("full.defer_indexes_min_bytes", "--defer-indexes-min-bytes"),
    ("full.split_rows", "--split-rows"),
    ("full.max_rows_per_sec", "--max-rows-per-sec"),
    ("full.max_bytes_per_sec", "--max-bytes-per-sec"),
    ("full.max_queries_per_sec", "--max-queries-per-sec"),
    ("incremental.max_rows_per_sec", "--max-rows-per-sec"),
    ("incremental.server_id", "--server-id"),
    ("incremental.batch_bytes", "--batch-bytes"),
    ("incremental.commit_interval_ms", "--commit-interval-ms"),
    (
        "incremental.lock_wait_timeout_seconds",
        "--lock-wait-timeout",
    ),
    ("heartbeat.interval_ms", "--heartbeat-ms"),
    ("verify.parallel", "--parallel"),
    ("verify.chunk_rows", "--chunk-rows"),
    ("verify.max_listed", "--max-listed"),
    ("verify.max_rows_per_sec", "--max-rows-per-sec"),
];

/// A number as the task file's integers are read (too large is out of
/// range, as in a file).
fn int(v: impl TryInto<i64>) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}

impl CommandLine {
    /// The task the options describe, resolved as a task file is: every
    /// default filled in and every value checked. Without
    /// [`CommandLine::config`], the source, the target and at least one
    /// database or table are required.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the option (or, for a value from the task
    /// file, the file and its key) and what is allowed.
    pub fn task_config(&self) -> Result<TaskConfig, ConfigError> {
        let (mut raw, default_task) = match &self.config {
            Some(path) => {
                let with_file = |mut e: ConfigError| {
                    e.file = Some(path.clone());
                    e
                };
                let text = std::fs::read_to_string(path).map_err(|e| {
                    with_file(err("(file)", format!("cannot read the task file: {e}")))
                })?;
                let stem = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .map(str::to_string);
                (parse(&text).map_err(with_file)?, stem)
            }
            None => (RawTask::default(), None),
        };
        self.overlay(&mut raw)?;
        resolve(raw, default_task.as_deref()).map_err(|mut e| match &self.config {
            Some(path) => {
                e.file = Some(path.clone());
                e
            }
            None => self.named(e),
        })
    }

    /// The source alone (`dts binlog dump --source`), checked as a task
    /// file's `[source]` is.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the option.
    pub fn source_endpoint(&self) -> Result<Endpoint, ConfigError> {
        let raw = self.server("source", self.source.as_ref())?;
        let raw = raw.ok_or_else(|| err("source", "is required: give --source URL"))?;
        endpoint("source", raw).map_err(|e| self.named(e))
    }

    /// What `dts schema plan` needs without a task file: the source, the
    /// selected databases with their renames, name case and definer rule,
    /// and the target, or only the version it plans for (`target_version`,
    /// e.g. `8.0.36` or `10.11.6-MariaDB`).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the option.
    pub fn plan_config(&self, target_version: Option<&str>) -> Result<PlanConfig, ConfigError> {
        let source = self.source_endpoint()?;
        let target = match (target_version, &self.target) {
            (Some(v), None) => PlanTarget::Version(ServerVersion::parse(v).map_err(|e| {
                err(
                    "--target-version",
                    format!("{v:?} is not a server version ({e}): e.g. 8.0.36 or 10.11.6-MariaDB"),
                )
            })?),
            (None, Some(_)) => {
                let raw = self.server("target", self.target.as_ref())?;
                let raw = raw.ok_or_else(|| err("target", "is required"))?;
                PlanTarget::Server(endpoint("target", raw).map_err(|e| self.named(e))?)
            }
            _ => {
                return Err(err(
                    "--target",
                    "give the target (--target URL) or its version (--target-version VERSION)",
                ))
            }
        };
        let migration = migration(RawMigration {
            name_case: self.name_case,
            definer: self.definer.clone(),
            ..RawMigration::default()
        })
        .map_err(|e| self.named(e))?;
        let objects = objects(self.objects()?).map_err(|e| self.named(e))?;
        Ok(PlanConfig {
            source,
            target,
            migration,
            objects,
        })
    }

    /// Writes the options into the sections of `raw` (a file's, or empty).
    fn overlay(&self, raw: &mut RawTask) -> Result<(), ConfigError> {
        if let Some(t) = &self.task {
            raw.task = Some(t.clone());
        }
        if let Some(mut s) = self.server("source", self.source.as_ref())? {
            // The file's archive of purged binlogs stays.
            s.binlog_archive = raw.source.take().and_then(|f| f.binlog_archive);
            raw.source = Some(s);
        }
        if let Some(t) = self.server("target", self.target.as_ref())? {
            raw.target = Some(t);
        }
        if let (Some(m), Some(t)) = (&self.meta_schema, raw.target.as_mut()) {
            t.meta_schema = Some(m.clone());
        }
        let objects = self.objects()?;
        if !objects.is_empty() {
            raw.objects = objects;
        }
        if self.config.is_none() {
            for (key, server) in [("--source", &raw.source), ("--target", &raw.target)] {
                if server.is_none() {
                    return Err(err(key, "is required: give it as mysql://user@host:port"));
                }
            }
            if raw.objects.is_empty() {
                return Err(err(
                    "--database",
                    "nothing is selected: give --database (or --table DATABASE.TABLE)",
                ));
            }
            // A command moves what it names: the phases are the task
            // file's default, the heartbeat is off unless asked for.
            raw.heartbeat.mode = Some(HeartbeatMode::None);
        }
        let m = &mut raw.migration;
        m.name_case = self.name_case.or(m.name_case);
        m.definer = self.definer.clone().or(m.definer.take());
        self.overlay_full(&mut raw.full);
        self.overlay_incremental(
            &mut raw.incremental,
            &mut raw.heartbeat,
            &mut raw.online_ddl,
        );
        self.overlay_verify(&mut raw.verify);
        Ok(())
    }

    fn overlay_full(&self, f: &mut RawFull) {
        let a = &self.full;
        set(&mut f.readers, a.readers);
        set(&mut f.writers, a.writers);
        set(&mut f.chunk_rows, a.chunk_rows.map(int));
        set(&mut f.load_bytes, a.load_bytes.map(int));
        set(&mut f.bulk_max_bytes, a.bulk_max_bytes.map(int));
        set(
            &mut f.defer_indexes_min_bytes,
            a.defer_indexes_min_bytes.map(int),
        );
        if a.keep_indexes {
            f.defer_indexes = Some(false);
        }
        set(&mut f.split_rows, a.split_rows.map(int));
        set(&mut f.snapshot, a.snapshot);
        set(&mut f.conflict, self.conflict);
        set(&mut f.max_rows_per_sec, self.max_rows_per_sec);
        set(&mut f.max_bytes_per_sec, a.max_bytes_per_sec);
        set(&mut f.max_queries_per_sec, a.max_queries_per_sec);
    }

    fn overlay_incremental(
        &self,
        i: &mut RawIncremental,
        h: &mut RawHeartbeat,
        o: &mut RawOnlineDdl,
    ) {
        let a = &self.incremental;
        set(&mut i.server_id, a.server_id.map(int));
        set(&mut i.batch_bytes, a.batch_bytes.map(int));
        set(&mut i.commit_interval_ms, a.commit_interval_ms.map(int));
        set(
            &mut i.lock_wait_timeout_seconds,
            a.lock_wait_timeout_seconds.map(int),
        );
        if a.skip_failed_ddl {
            i.skip_failed_ddl = Some(true);
        }
        set(&mut i.conflict, self.conflict);
        set(&mut i.max_rows_per_sec, self.max_rows_per_sec);
        set(&mut o.mode, a.online_ddl);
        match a.heartbeat_ms {
            Some(0) => h.mode = Some(HeartbeatMode::None),
            Some(ms) => {
                h.mode = Some(HeartbeatMode::SourceTable);
                h.interval_seconds = None;
                h.interval_ms = Some(int(ms));
            }
            None => {}
        }
    }

    fn overlay_verify(&self, v: &mut RawVerify) {
        let a = &self.verify;
        set(&mut v.parallel, a.parallel.map(int));
        set(&mut v.chunk_rows, a.chunk_rows.map(int));
        set(&mut v.max_listed, a.max_listed.map(int));
        set(&mut v.max_rows_per_sec, self.max_rows_per_sec);
    }

    /// A server as a task file's section; a URL with a password is refused.
    fn server(
        &self,
        key: &str,
        s: Option<&ServerArgs>,
    ) -> Result<Option<RawEndpoint>, ConfigError> {
        let Some(s) = s else { return Ok(None) };
        if split_password(&s.url).1.is_some() {
            return Err(err(
                format!("--{key}"),
                format!(
                    "the URL carries a password; put it in the environment variable {} instead \
                     (command lines are visible to every user of the machine)",
                    s.password_env
                ),
            ));
        }
        let password_env = std::env::var_os(&s.password_env).map(|_| s.password_env.clone());
        Ok(Some(RawEndpoint {
            url: super::raw::RawUrls::One(s.url.clone()),
            password_env,
            password_file: None,
            tls: s.tls,
            tls_ca: s.tls_ca.clone(),
            meta_schema: None,
            binlog_archive: None,
        }))
    }

    /// The selection as `[[objects]]`: each database whole (renamed by
    /// `target_database` or `rename_databases`), then the single tables
    /// grouped by database.
    fn objects(&self) -> Result<Vec<RawObject>, ConfigError> {
        if self.target_database.is_some() && self.databases.len() != 1 {
            return Err(err(
                "--target-database",
                "renames one database: give exactly one --database with it",
            ));
        }
        let mut renames = Vec::new();
        for r in &self.rename_databases {
            let Some((from, to)) = r.split_once('=') else {
                return Err(err("--rename-database", format!("{r:?}: expected FROM=TO")));
            };
            if !self.databases.iter().any(|d| d == from) {
                return Err(err(
                    "--rename-database",
                    format!("{r:?} renames {from:?}, which no --database selects"),
                ));
            }
            renames.push((from, to));
        }
        let mut out: Vec<RawObject> = self
            .databases
            .iter()
            .map(|d| RawObject {
                database: d.clone(),
                target_database: self.target_database.clone().or_else(|| {
                    renames
                        .iter()
                        .find(|(from, _)| from == d)
                        .map(|(_, to)| to.to_string())
                }),
                tables: None,
                dml: None,
                ddl: None,
            })
            .collect();
        for t in &self.tables {
            let Some((db, name)) = t.split_once('.') else {
                return Err(err("--table", format!("{t:?}: expected DATABASE.TABLE")));
            };
            let table = RawTable {
                name: name.to_string(),
                target_name: None,
                columns: None,
                rename_columns: Default::default(),
                filter: None,
                dml: None,
                ddl: None,
            };
            match out.iter_mut().find(|o| o.database == db) {
                Some(RawObject { tables: None, .. }) => {
                    return Err(err(
                        "--table",
                        format!("{t:?} is in database {db:?}, which --database selects whole"),
                    ))
                }
                Some(RawObject {
                    tables: Some(ts), ..
                }) => ts.push(table),
                None => out.push(RawObject {
                    database: db.to_string(),
                    target_database: None,
                    tables: Some(vec![table]),
                    dml: None,
                    ddl: None,
                }),
            }
        }
        Ok(out)
    }

    /// An error about a key that one of the options sets names the option.
    fn named(&self, mut e: ConfigError) -> ConfigError {
        let key = e.key.split('[').next().unwrap_or_default();
        if let Some((_, option)) = OPTIONS.iter().find(|(k, _)| *k == key) {
            e.key = (*option).to_string();
        }
        e
    }
}

/// Sets a file's value from an option that was given.
fn set<T>(slot: &mut Option<T>, v: Option<impl Into<T>>) {
    if let Some(v) = v {
        *slot = Some(v.into());
    }
}
