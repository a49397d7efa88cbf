//! From the file as written to the resolved task: TOML errors with their key
//! path and line, then one function per section that fills in the defaults
//! and checks every value, naming its key and what is allowed.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;

use schema_diff::binlog_ddl::DdlKind;

use crate::check_ids::CHECKS;
use crate::secret::Secret;

use super::raw::{
    RawAlert, RawCutover, RawEndpoint, RawFull, RawHeartbeat, RawIncremental, RawMetrics,
    RawMigration, RawObject, RawRetry, RawTable, RawTask, RawVerify,
};
use super::{
    err, AlertOptions, ConfigError, CutoverOptions, DmlOp, Endpoint, FenceMode, FullOptions,
    HeartbeatOptions, IncrementalOptions, IncrementalStart, Migration, MigrationType,
    ObjectSelection, OnlineDdlMode, PasswordSource, RetryOptions, TableSelection, TaskConfig,
    TlsMode, VerificationOptions, ALL_DDL, ALL_DML,
};

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
        resolve(parse(text)?, default_task)
    }

    /// [`TaskConfig::from_file`] for what connects to nothing (`dts config
    /// show`): `password_env` and `password_file` are checked as written
    /// but neither read nor required to exist; the passwords are `None`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the file, the key and what is allowed.
    pub fn from_file_without_secrets(path: &Path) -> Result<TaskConfig, ConfigError> {
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
        resolve_with(parse(&text).map_err(with_file)?, stem.as_deref(), false).map_err(with_file)
    }
}

/// The file as written, from its text; errors name the key path and the
/// line and column.
pub(super) fn parse(text: &str) -> Result<RawTask, ConfigError> {
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
    Ok(raw)
}

/// The resolved task from the file as written: one function per section,
/// called in the file's order so that the first error found is always the
/// same one.
pub(super) fn resolve(raw: RawTask, default_task: Option<&str>) -> Result<TaskConfig, ConfigError> {
    resolve_with(raw, default_task, true)
}

/// [`resolve`], reading the passwords (`password_env`, `password_file`)
/// only when `secrets` is set.
fn resolve_with(
    raw: RawTask,
    default_task: Option<&str>,
    secrets: bool,
) -> Result<TaskConfig, ConfigError> {
    let task = task_name(raw.task, default_task)?;
    let source = endpoint_with("source", required_endpoint("source", raw.source)?, secrets)?;
    let target = endpoint_with("target", required_endpoint("target", raw.target)?, secrets)?;
    let migration = migration(raw.migration)?;
    let objects = objects(raw.objects)?;
    let full = full(raw.full)?;
    let derived_server_id = raw.incremental.server_id.is_none();
    let mut incremental = incremental(raw.incremental)?;
    if derived_server_id {
        incremental.server_id = bulk_copy::reader_server_id(&task);
    }
    if incremental.start.is_some() && migration.types.contains(&MigrationType::Full) {
        return Err(err(
            "incremental.start",
            "is for incremental-only tasks: with a full copy, incremental migration starts \
             at the copy's consistent position. Remove it, or \"full\" from [migration] types",
        ));
    }
    let verify = verify(raw.verify)?;
    let retry = retry(raw.retry)?;
    let heartbeat = heartbeat(raw.heartbeat)?;
    let metrics_listen = metrics_listen(raw.metrics)?;
    let alert = alert(raw.alert)?;
    acknowledged(&raw.precheck.acknowledge)?;
    let cutover = cutover(raw.cutover)?;
    let online_ddl = online_ddl(raw.online_ddl.mode)?;
    Ok(TaskConfig {
        task,
        source,
        target,
        migration,
        objects,
        full,
        incremental,
        verify,
        retry,
        heartbeat,
        online_ddl,
        metrics_listen,
        alert,
        acknowledge: raw.precheck.acknowledge,
        cutover,
    })
}

/// `task`: given, else the file's name, else `default`.
fn task_name(given: Option<String>, default_task: Option<&str>) -> Result<String, ConfigError> {
    let task = given
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
    Ok(task)
}

/// `[source]` or `[target]`, which every task file has.
fn required_endpoint(key: &str, raw: Option<RawEndpoint>) -> Result<RawEndpoint, ConfigError> {
    raw.ok_or_else(|| {
        err(
            key,
            format!("is missing: add [{key}] with url = \"mysql://user@host:port\""),
        )
    })
}

/// `[migration]`.
pub(super) fn migration(m: RawMigration) -> Result<Migration, ConfigError> {
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
    Ok(Migration {
        types,
        conflict_mode: m.conflict_mode.unwrap_or_default(),
        name_case: m.name_case.unwrap_or_default(),
        trigger_method: m.trigger_method.unwrap_or_default(),
        definer,
    })
}

/// `[[objects]]`: at least one, each database once.
pub(super) fn objects(raw: Vec<RawObject>) -> Result<Vec<ObjectSelection>, ConfigError> {
    if raw.is_empty() {
        return Err(err(
            "objects",
            "no objects are selected: add at least one [[objects]] with database = \"NAME\"",
        ));
    }
    let mut objects = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, o) in raw.into_iter().enumerate() {
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
        objects.push(object(&key, o)?);
    }
    Ok(objects)
}

/// One `[[objects]]` entry (`key` is `objects[i]`).
fn object(key: &str, o: RawObject) -> Result<ObjectSelection, ConfigError> {
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
                out.push(table(&tkey, t, &dml, &ddl)?);
            }
            Some(out)
        }
    };
    Ok(ObjectSelection {
        database: o.database,
        target_database,
        dml,
        ddl,
        tables,
    })
}

/// One selected table (`key` is `objects[i].tables[j]`); its DML and DDL
/// filters default to its database's.
fn table(
    tkey: &str,
    t: RawTable,
    dml: &[DmlOp],
    ddl: &[DdlKind],
) -> Result<TableSelection, ConfigError> {
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
        // The full check needs the table's columns (done when the table is
        // read); refuse what is wrong anyway.
        if let Err(e) = bulk_copy::validate_filter(f, &[]) {
            if !e.reason.contains("is not a column of the table") {
                return Err(err(format!("{tkey}.filter"), e.to_string()));
            }
        }
    }
    let target_name = t.target_name.unwrap_or_else(|| t.name.clone());
    name_ok(&format!("{tkey}.target_name"), &target_name)?;
    Ok(TableSelection {
        name: t.name,
        target_name,
        columns: t.columns,
        rename_columns: t.rename_columns,
        filter: t.filter,
        dml: dedup(t.dml.as_deref().unwrap_or(dml)),
        ddl: dedup(t.ddl.as_deref().unwrap_or(ddl)),
    })
}

/// `[full]`: writers default to the readers.
fn full(f: RawFull) -> Result<FullOptions, ConfigError> {
    let readers = ranged("full.readers", f.readers.map(|v| v as i64), 4, 1, 256)? as usize;
    Ok(FullOptions {
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
        defer_indexes_min_bytes: ranged(
            "full.defer_indexes_min_bytes",
            f.defer_indexes_min_bytes,
            16 << 20,
            0,
            MAX_BYTES,
        )? as u64,
        chunk_rows: ranged("full.chunk_rows", f.chunk_rows, 100_000, 1, 10_000_000)? as usize,
        load_bytes: ranged("full.load_bytes", f.load_bytes, 1 << 20, 1024, 1 << 30)? as usize,
        bulk_max_bytes: ranged(
            "full.bulk_max_bytes",
            f.bulk_max_bytes,
            64 << 20,
            0,
            MAX_BYTES,
        )? as u64,
        split_rows: ranged("full.split_rows", f.split_rows, 1_000_000, 0, 1 << 40)? as u64,
        keyless_max_bytes: ranged(
            "full.keyless_max_bytes",
            f.keyless_max_bytes,
            1 << 30,
            0,
            MAX_BYTES,
        )? as u64,
    })
}

/// The largest byte count a size setting takes (1 PiB).
const MAX_BYTES: i64 = 1 << 50;

/// `[incremental]`.
fn incremental(inc: RawIncremental) -> Result<IncrementalOptions, ConfigError> {
    Ok(IncrementalOptions {
        max_rows_per_sec: rate("incremental.max_rows_per_sec", inc.max_rows_per_sec)?,
        max_bytes_per_sec: rate("incremental.max_bytes_per_sec", inc.max_bytes_per_sec)?,
        conflict: inc.conflict.unwrap_or_default(),
        skip_ddl: dedup(inc.skip_ddl.as_deref().unwrap_or(&[])),
        skip_failed_ddl: inc.skip_failed_ddl.unwrap_or(false),
        start: inc
            .start
            .as_deref()
            .map(IncrementalStart::parse)
            .transpose()
            .map_err(|e| err("incremental.start", e))?,
        renamed_out: inc.renamed_out.unwrap_or_default(),
        server_id: ranged(
            "incremental.server_id",
            inc.server_id,
            0x7d75_0001,
            1,
            i64::from(u32::MAX),
        )? as u32,
        batch_bytes: ranged(
            "incremental.batch_bytes",
            inc.batch_bytes,
            8 << 20,
            1024,
            1 << 30,
        )? as usize,
        commit_interval_ms: ranged(
            "incremental.commit_interval_ms",
            inc.commit_interval_ms,
            500,
            1,
            3_600_000,
        )? as u64,
        lock_wait_timeout_seconds: inc
            .lock_wait_timeout_seconds
            .map(|v| {
                ranged(
                    "incremental.lock_wait_timeout_seconds",
                    Some(v),
                    50,
                    1,
                    1 << 30,
                )
            })
            .transpose()?
            .map(|v| v as u64),
        max_uncompressed_bytes: ranged(
            "incremental.max_uncompressed_bytes",
            inc.max_uncompressed_bytes,
            1 << 30,
            1024,
            1 << 40,
        )? as u64,
    })
}

/// `[verify]`.
fn verify(v: RawVerify) -> Result<VerificationOptions, ConfigError> {
    Ok(VerificationOptions {
        parallel: ranged("verify.parallel", v.parallel, 4, 1, 256)? as usize,
        chunk_rows: ranged("verify.chunk_rows", v.chunk_rows, 100_000, 1, 10_000_000)? as usize,
        max_listed: ranged("verify.max_listed", v.max_listed, 100, 0, 1_000_000)? as usize,
        max_rows_per_sec: rate("verify.max_rows_per_sec", v.max_rows_per_sec)?,
    })
}

/// `[online_ddl] mode`: every mode but the DMS one, whose helper tables the
/// apply does not recognise (accepting it would ignore it).
fn online_ddl(mode: Option<OnlineDdlMode>) -> Result<OnlineDdlMode, ConfigError> {
    let mode = mode.unwrap_or_default();
    if mode.mode().is_none() {
        return Err(err(
            "online_ddl.mode",
            "\"original-ddl-dms\" is not supported: the apply does not recognise the DMS online \
             DDL's helper tables; use \"migrate-temp-tables\" (replicate them) or \
             \"original-ddl-gh-ost\" (gh-ost and pt-online-schema-change)",
        ));
    }
    Ok(mode)
}

/// `[retry]`: the window for other errors is the shorter one.
fn retry(r: RawRetry) -> Result<RetryOptions, ConfigError> {
    let connection_minutes = ranged(
        "retry.connection_minutes",
        r.connection_minutes,
        720,
        10,
        1440,
    )?;
    let other_minutes = ranged("retry.other_minutes", r.other_minutes, 10, 1, 1440)?;
    if other_minutes >= connection_minutes {
        return Err(err(
            "retry.other_minutes",
            format!(
                "{other_minutes} must be less than retry.connection_minutes ({connection_minutes})"
            ),
        ));
    }
    Ok(RetryOptions {
        connection_minutes: connection_minutes as u32,
        other_minutes: other_minutes as u32,
    })
}

/// `[heartbeat]`: the interval in seconds or, for less than a second, in
/// milliseconds (one of the two).
fn heartbeat(h: RawHeartbeat) -> Result<HeartbeatOptions, ConfigError> {
    let interval_ms = match (h.interval_seconds, h.interval_ms) {
        (Some(_), Some(_)) => {
            return Err(err(
                "heartbeat.interval_ms",
                "give interval_seconds or interval_ms, not both",
            ))
        }
        (_, Some(ms)) => ranged("heartbeat.interval_ms", Some(ms), 2000, 1, 3_600_000)? as u64,
        (s, None) => ranged("heartbeat.interval_seconds", s, 2, 1, 3600)? as u64 * 1000,
    };
    let heartbeat = HeartbeatOptions {
        mode: h.mode.unwrap_or_default(),
        interval_ms,
        schema: h.schema.unwrap_or_else(|| "dts_meta".into()),
    };
    name_ok("heartbeat.schema", &heartbeat.schema)?;
    Ok(heartbeat)
}

/// `[metrics] listen`: an address, or `off` (the default).
fn metrics_listen(m: RawMetrics) -> Result<Option<SocketAddr>, ConfigError> {
    match m.listen {
        None => Ok(None),
        Some(l) if l == "off" => Ok(None),
        Some(l) => Ok(Some(l.parse::<SocketAddr>().map_err(|_| {
            err(
                "metrics.listen",
                format!(
                    "{l:?} is not an address: give IP:PORT, e.g. \"127.0.0.1:9464\", or \"off\""
                ),
            )
        })?)),
    }
}

/// `[alert]`.
fn alert(a: RawAlert) -> Result<AlertOptions, ConfigError> {
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
    Ok(AlertOptions {
        lag_threshold_seconds: ranged(
            "alert.lag_threshold_seconds",
            a.lag_threshold_seconds,
            0,
            0,
            7 * 86400,
        )? as u64,
        command: a.command,
        webhook: a.webhook,
    })
}

/// `[precheck] acknowledge`: every id must be a precheck id.
fn acknowledged(ids: &[String]) -> Result<(), ConfigError> {
    for (i, id) in ids.iter().enumerate() {
        if !CHECKS.iter().any(|c| c.id == id) {
            return Err(err(
                format!("precheck.acknowledge[{i}]"),
                format!(
                    "{id:?} is not a precheck id; the ids are: {}",
                    CHECKS.iter().map(|c| c.id).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// `[cutover]`: `fence_sql` goes with `fence = "sql"` and only with it.
fn cutover(c: RawCutover) -> Result<CutoverOptions, ConfigError> {
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
    Ok(CutoverOptions {
        max_lag_seconds: ranged("cutover.max_lag_seconds", c.max_lag_seconds, 5, 0, 86400)? as u64,
        fence,
        fence_sql: c.fence_sql,
        revoke_target_writes: c.revoke_target_writes.unwrap_or(false),
    })
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
pub(super) fn split_password(url: &str) -> (String, Option<String>) {
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

pub(super) fn endpoint(key: &str, raw: RawEndpoint) -> Result<Endpoint, ConfigError> {
    endpoint_with(key, raw, true)
}

fn endpoint_with(key: &str, raw: RawEndpoint, secrets: bool) -> Result<Endpoint, ConfigError> {
    let parse_url = |url: &str| {
        mysql_async::Opts::from_url(url).map_err(|e| {
            err(
                format!("{key}.url"),
                format!(
                    "{url:?} is not a valid URL ({e}); expected mysql://user@host:port \
                     (percent-encode ':', '@' and '/' inside the user name)"
                ),
            )
        })
    };
    let (first, others) = match &raw.url {
        super::raw::RawUrls::One(u) => (u.clone(), Vec::new()),
        super::raw::RawUrls::Many(list) if key != "source" => {
            let _ = list;
            return Err(err(
                format!("{key}.url"),
                "takes one URL; only [source] url takes a list of candidates",
            ));
        }
        super::raw::RawUrls::Many(list) => match list.split_first() {
            None => {
                return Err(err(
                    format!("{key}.url"),
                    "is an empty list: give one URL, or the candidates in order",
                ))
            }
            Some((first, rest)) => (first.clone(), rest.to_vec()),
        },
    };
    let (url, url_password) = split_password(&first);
    let opts = parse_url(&url)?;
    let mut failover_urls = Vec::new();
    let mut failover_opts = Vec::new();
    for other in &others {
        let (u, p) = split_password(other);
        if p.is_some() || url_password.is_some() {
            return Err(err(
                format!("{key}.url"),
                "with a list of URLs, no URL may carry a password: give the one password of \
                 every candidate with password_env or password_file",
            ));
        }
        failover_opts.push(parse_url(&u)?);
        failover_urls.push(u);
    }
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
    } else if let (Some(var), false) = (&raw.password_env, secrets) {
        (PasswordSource::Env(var.clone()), None)
    } else if let (Some(path), false) = (&raw.password_file, secrets) {
        (PasswordSource::File(path.clone()), None)
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
    match &raw.binlog_archive {
        Some(_) if key != "source" => {
            return Err(err(
                format!("{key}.binlog_archive"),
                "is a [source] key: the archive holds binlog files the source purged",
            ))
        }
        Some(d) if d.as_os_str().is_empty() => {
            return Err(err(
                format!("{key}.binlog_archive"),
                "is empty: give the directory holding the source's purged binlog files",
            ))
        }
        _ => {}
    }
    Ok(Endpoint {
        url,
        failover_urls,
        failover_opts,
        password_source,
        password,
        tls,
        tls_ca: raw.tls_ca,
        meta_schema,
        binlog_archive: raw.binlog_archive,
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
