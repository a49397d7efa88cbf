//! The precheck: everything that can be known before a task starts, each
//! item reported as pass, warning or failure with what was found, why it
//! matters, and the exact fix (SQL or server setting).
//!
//! A task starts only when [`PrecheckReport::passed`]: no failure, and every
//! warning acknowledged in the task file (`[precheck] acknowledge = ["id"]`).
//! Check ids are stable; [`CHECKS`] lists them with the reason each exists,
//! and `docs/precheck.md` documents them with their fixes.
//!
//! How it works: each server is read once ([`facts`]: variables, version,
//! account privileges, engines, collations; the selected objects' schema
//! through `schema_diff::extract`), then every check judges those facts
//! without further I/O.

use std::collections::{BTreeMap, BTreeSet};

use mysql_async::prelude::*;
use mysql_async::Conn;
use serde::Serialize;

use schema_diff::compare::expected_target;
use schema_diff::extract::{extract_schema, list_databases};
use schema_diff::model::{ObjectKind, Schema};
use schema_diff::translate::{collation_kept, map_collation, DefinerPolicy, TranslateOptions};
use schema_diff::{quote, ServerVersion};

use crate::config::{
    server_offers_no_tls, ConflictMode, Endpoint, HeartbeatMode, MigrationType, NameCase, Snapshot,
    TaskConfig, TlsMode, TriggerMethod,
};
use crate::secret::scrub;

pub mod facts;
use facts::{read_facts, table_stats, ServerFacts, TableStats};

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

/// Every check: its id and why it exists.
#[derive(Clone, Copy, Debug)]
pub struct CheckInfo {
    /// The stable id.
    pub id: &'static str,
    /// Why it matters.
    pub why: &'static str,
}

macro_rules! checks {
    ($($id:literal => $why:literal,)*) => {
        /// Every check id with its reason, in report order.
        pub const CHECKS: &[CheckInfo] = &[$(CheckInfo { id: $id, why: $why },)*];
    };
}

checks! {
    "source.connect" => "the task reads the source over this connection",
    "target.connect" => "the task writes the target over this connection",
    "source.tls" => "the connection must be encrypted and verified as the task file asks",
    "target.tls" => "the connection must be encrypted and verified as the task file asks",
    "pair.distinct" => "migrating a server onto itself would overwrite the data being read",
    "pair.versions" => "a target of another flavour or an older version lacks types, collations and syntax the source uses",
    "target.features" => "objects using collations, character sets or constructs the target lacks cannot be created there",
    "source.objects" => "every selected database, table, column and filter must exist and be valid on the source",
    "source.log_bin" => "incremental migration reads the source's binary log",
    "source.binlog_format" => "only ROW events carry the changed rows; STATEMENT and MIXED events cannot be applied exactly",
    "source.binlog_row_image" => "updates and deletes are applied by the full before-image; MINIMAL and NOBLOB images lack columns",
    "source.binlog_row_value_options" => "PARTIAL_JSON writes JSON diffs instead of whole values, which the apply does not support",
    "source.binlog_compress" => "compressed binlog events must be decodable",
    "source.binlog_checksum" => "checksums let the reader detect corrupted events instead of applying them",
    "source.server_id" => "a server with server_id 0 does not serve binlog readers",
    "source.gtid_mode" => "GTIDs let the task resume on another server of the source's cluster after a failover",
    "source.binlog_retention" => "binlogs purged before they are read make the task fail; the reference product asks for 7 days (full + incremental) or more than 24 hours (incremental only)",
    "source.privileges" => "the source account must read the selected objects and the binlog",
    "source.privileges_excessive" => "an account with more privileges than the task needs turns a leaked password or a bug into damage",
    "target.privileges" => "the target account must create and write the mapped objects and the metadata schema",
    "target.privileges_excessive" => "an account with more privileges than the task needs turns a leaked password or a bug into damage",
    "source.primary_keys" => "without a primary key or a NOT NULL unique key, rows cannot be told apart: updates and deletes are applied by full-row match and duplicates are possible",
    "target.conflicts" => "objects already on the target would be mixed with the migrated ones",
    "names.valid" => "a name the target cannot create stops the schema migration",
    "names.collisions" => "two source objects mapped to one target name would overwrite each other",
    "pair.sql_mode" => "applications moving to the target run under its sql_mode; a different one changes what they may write",
    "pair.time_zone" => "a different time zone changes NOW(), TIMESTAMP display and events on the target",
    "pair.lower_case_table_names" => "a target that folds names to lower case renames objects and may merge them",
    "pair.explicit_defaults_for_timestamp" => "a different setting gives TIMESTAMP columns created later other defaults on the target",
    "pair.charset" => "objects created later on the target take its default character set and collation",
    "target.max_allowed_packet" => "a row larger than the target's max_allowed_packet cannot be written",
    "target.local_infile" => "the full copy writes with LOAD DATA LOCAL INFILE",
    "target.read_only" => "a read-only target refuses every write",
    "source.node_role" => "a read-only or replica node cannot give what the task needs (heartbeat writes, a complete binlog)",
    "source.foreign_keys" => "cascaded changes are not in the binlog: the target's foreign keys must make them",
    "source.triggers" => "triggers created before the last change is applied fire a second time on replicated rows",
    "source.events" => "events running on both servers would make the same changes twice",
    "source.engines" => "non-transactional tables are not read from a consistent snapshot, and the target must support every engine",
    "source.partitioning" => "partitioned tables are created with the same partitioning, which the target must support",
    "source.generated_columns" => "generated columns are computed again by the target, never copied",
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

fn pass(id: &'static str, found: impl Into<String>) -> Check {
    check(id, Status::Pass, found, "")
}

fn warn(id: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Check {
    check(id, Status::Warning, found, fix)
}

fn fail(id: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Check {
    check(id, Status::Failure, found, fix)
}

/// Runs every check against the task's servers. Never fails as a whole:
/// a server that cannot be reached is a failed check, and the checks that
/// need it are left out.
pub async fn run_precheck(task: &TaskConfig) -> PrecheckReport {
    let mut checks = Vec::new();
    let src = connect(&task.source, "source", &mut checks).await;
    let tgt = connect(&task.target, "target", &mut checks).await;
    if let (Some(mut s), Some(mut t)) = (src, tgt) {
        match gather(task, &mut s, &mut t, &mut checks).await {
            Ok(ctx) => judge(task, &ctx, &mut checks),
            Err((id, e)) => checks.push(fail(
                id,
                format!("reading the server failed: {}", scrub_err(task, &e)),
                "fix what the server reported (a missing privilege: see source.privileges \
                 and target.privileges and docs/precheck.md), then run the precheck again; \
                 the remaining checks run once the servers can be read",
            )),
        }
        s.disconnect().await.ok();
        t.disconnect().await.ok();
    }
    for c in &mut checks {
        if c.status == Status::Warning && task.acknowledge.iter().any(|a| a == c.id) {
            c.status = Status::Acknowledged;
        }
    }
    let order = |id: &str| CHECKS.iter().position(|c| c.id == id).unwrap_or(usize::MAX);
    checks.sort_by_key(|c| order(c.id));
    PrecheckReport {
        schema_version: SCHEMA_VERSION,
        task: task.task.clone(),
        source: task.source.url.clone(),
        target: task.target.url.clone(),
        checks,
    }
}

fn scrub_err(task: &TaskConfig, e: &dyn std::fmt::Display) -> String {
    let secrets: Vec<_> = [&task.source.password, &task.target.password]
        .into_iter()
        .flatten()
        .collect();
    scrub(&e.to_string(), &secrets)
}

fn is_tls_error(e: &mysql_async::Error) -> bool {
    let text = format!("{e:?} {e}").to_ascii_lowercase();
    text.contains("tls") || text.contains("ssl") || text.contains("certificate")
}

/// Connects as the endpoint says; records `<side>.connect` and `<side>.tls`.
async fn connect(ep: &Endpoint, side: &'static str, checks: &mut Vec<Check>) -> Option<Conn> {
    let (connect_id, tls_id) = if side == "source" {
        ("source.connect", "source.tls")
    } else {
        ("target.connect", "target.tls")
    };
    let secrets: Vec<_> = ep.password.iter().collect();
    let result = ep.connect().await;
    let user = ep.user().unwrap_or("(none)");
    let (mut conn, fell_back) = match result {
        Ok(c) => (c.conn, c.tls_fell_back),
        Err(e) => {
            let text = scrub(&e.to_string(), &secrets);
            if ep.tls != TlsMode::Disabled && (server_offers_no_tls(&e) || is_tls_error(&e)) {
                checks.push(fail(
                    tls_id,
                    format!("tls = {:?}: {text}", tls_name(ep.tls)),
                    if server_offers_no_tls(&e) {
                        "configure TLS on the server (ssl_cert, ssl_key and ssl_ca in its \
                         [mysqld] options, then restart it), or lower ["
                            .to_string()
                            + side
                            + "] tls in the task file"
                    } else {
                        format!(
                            "give the CA that signed the server's certificate in [{side}] tls_ca \
                             (for verify-identity, the certificate must name the host {})",
                            ep.host()
                        )
                    },
                ));
            } else {
                checks.push(fail(
                    connect_id,
                    format!("connecting to {} as {user} failed: {text}", ep.url),
                    format!(
                        "check [{side}] url (host, port, user) and the password ({}); the \
                         account must be allowed to connect from this host: CREATE USER \
                         'user'@'this-host' IDENTIFIED BY '...'",
                        ep.password_source
                    ),
                ));
            }
            return None;
        }
    };
    checks.push(pass(
        connect_id,
        format!("connected to {} as {user}", ep.url),
    ));
    let cipher: Option<(String, String)> = conn
        .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .await
        .ok()
        .flatten();
    let cipher = cipher.map(|(_, v)| v).unwrap_or_default();
    let loopback = matches!(ep.host(), "127.0.0.1" | "::1" | "localhost");
    let found = match (cipher.is_empty(), fell_back) {
        (false, _) => format!("encrypted ({cipher}), tls = {:?}", tls_name(ep.tls)),
        (true, true) => "not encrypted: the server offers no TLS (tls = \"preferred\")".to_string(),
        (true, false) => format!("not encrypted (tls = {:?})", tls_name(ep.tls)),
    };
    if cipher.is_empty() && !loopback {
        checks.push(warn(
            tls_id,
            found + &format!(" to {}, which is not a loopback address", ep.host()),
            format!(
                "configure TLS on the server and set [{side}] tls = \"verify-ca\" with tls_ca, \
                 or acknowledge {tls_id} for a trusted network"
            ),
        ));
    } else {
        checks.push(pass(tls_id, found));
    }
    // A known session for the reads below: no transcoding surprises.
    conn.query_drop("SET NAMES utf8mb4").await.ok();
    Some(conn)
}

fn tls_name(m: TlsMode) -> &'static str {
    match m {
        TlsMode::Disabled => "disabled",
        TlsMode::Preferred => "preferred",
        TlsMode::Required => "required",
        TlsMode::VerifyCa => "verify-ca",
        TlsMode::VerifyIdentity => "verify-identity",
    }
}

/// A selected source table, with what the checks need.
#[derive(Clone, Debug)]
struct SelTable {
    db: String,
    name: String,
    target_db: String,
    target_name: String,
    stats: TableStats,
    /// Exact row count for tables without a usable key.
    keyless_rows: Option<u64>,
}

/// Everything read from the servers.
struct Ctx {
    src: ServerFacts,
    tgt: ServerFacts,
    /// The selected objects of the source (tables only, for table-level
    /// selections).
    schema: Schema,
    /// The selected databases as a whole (triggers on selected tables are
    /// looked up here).
    whole: Schema,
    /// Problems with the selection (missing objects, bad filters).
    selection_errors: Vec<String>,
    tables: Vec<SelTable>,
    /// Target objects that exist: (kind, database, name) as the target
    /// stores them.
    target_objects: BTreeSet<(ObjectKind, String, String)>,
    /// Target tables that hold rows.
    target_nonempty: BTreeSet<(String, String)>,
    /// The model the target gets (names mapped), or why it cannot be made.
    expected: Result<Schema, String>,
}

type GatherError = (&'static str, mysql_async::Error);

/// What the selected databases hold, from `information_schema` alone (so it
/// is known even when the account lacks the privileges to read the
/// definitions).
struct Inventory {
    /// Selected (database, table).
    tables: Vec<(String, String)>,
    /// Per selected database: (name, has views, triggers, routines, events);
    /// only for whole-database selections.
    dbs: Vec<(String, [bool; 4])>,
}

async fn inventory(
    task: &TaskConfig,
    s: &mut Conn,
    dbs: &[String],
) -> Result<Inventory, mysql_async::Error> {
    let mut inv = Inventory {
        tables: Vec::new(),
        dbs: Vec::new(),
    };
    for db in dbs {
        let rows: Vec<(String, String)> = s
            .exec(
                "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
                (db,),
            )
            .await?;
        let mut views = false;
        for (name, ty) in rows {
            if ty == "VIEW" {
                views = true;
            } else if task.selected(db, &name).is_some() {
                inv.tables.push((db.clone(), name));
            }
        }
        let whole = task.objects.iter().any(|o| &o.database == db && o.whole());
        if !whole {
            continue;
        }
        let mut flags = [views, false, false, false];
        for (i, sql) in [
            (
                1,
                "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?",
            ),
            (
                2,
                "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?",
            ),
            (
                3,
                "SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?",
            ),
        ] {
            let n: Option<u64> = s.exec_first(sql, (db,)).await?;
            if let Some(f) = flags.get_mut(i) {
                *f = n.unwrap_or(0) > 0;
            }
        }
        inv.dbs.push((db.clone(), flags));
    }
    Ok(inv)
}

async fn gather(
    task: &TaskConfig,
    s: &mut Conn,
    t: &mut Conn,
    checks: &mut Vec<Check>,
) -> Result<Ctx, GatherError> {
    let src = read_facts(s).await.map_err(|e| ("source.connect", e))?;
    let tgt = read_facts(t).await.map_err(|e| ("target.connect", e))?;
    let mut selection_errors = Vec::new();
    let existing = list_databases(s)
        .await
        .map_err(|e| ("source.objects", schema_err(e)))?;
    let mut dbs = Vec::new();
    for o in &task.objects {
        if existing.contains(&o.database) {
            dbs.push(o.database.clone());
        } else {
            selection_errors.push(format!(
                "database {} does not exist on the source (or the account cannot see it)",
                quote(&o.database)
            ));
        }
    }
    // Privileges first: they decide whether the definitions can be read.
    let inv = inventory(task, s, &dbs)
        .await
        .map_err(|e| ("source.objects", e))?;
    privilege_checks(task, &src, &tgt, &inv, checks);
    let whole = extract_schema(s, &dbs)
        .await
        .map_err(|e| ("source.objects", schema_err(e)))?;
    let mut schema = whole.clone();
    for d in &mut schema.databases {
        let Some(o) = task.objects.iter().find(|o| o.database == d.name) else {
            continue;
        };
        if let Some(ts) = &o.tables {
            for t in ts {
                if d.table(&t.name).is_none() {
                    selection_errors.push(format!(
                        "table {}.{} does not exist on the source",
                        quote(&d.name),
                        quote(&t.name)
                    ));
                }
            }
            d.tables.retain(|t| ts.iter().any(|x| x.name == t.name));
            d.views.clear();
            d.triggers.clear();
            d.routines.clear();
            d.events.clear();
        }
    }
    let names = task.name_map();
    let mut tables = Vec::new();
    for d in &schema.databases {
        let cols: Vec<(String, Vec<(String, String)>)> = d
            .tables
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    t.columns
                        .iter()
                        .filter(|c| c.generation_expression.is_none())
                        .map(|c| (c.name.clone(), c.column_type.clone()))
                        .collect(),
                )
            })
            .collect();
        let stats = table_stats(s, &d.name, &cols)
            .await
            .map_err(|e| ("target.max_allowed_packet", e))?;
        for t in &d.tables {
            let columns: Vec<String> = t
                .columns
                .iter()
                .filter(|c| c.generation_expression.is_none())
                .map(|c| c.name.clone())
                .collect();
            if let Err(e) = task.copy_table(&d.name, &t.name, &columns) {
                selection_errors.push(format!("{}: {}", e.key, e.message));
            }
            let keyless = !has_usable_key(t);
            let keyless_rows = if keyless {
                let n: Option<u64> = s
                    .query_first(format!(
                        "SELECT COUNT(*) FROM {}.{}",
                        quote(&d.name),
                        quote(&t.name)
                    ))
                    .await
                    .map_err(|e| ("source.primary_keys", e))?;
                Some(n.unwrap_or(0))
            } else {
                None
            };
            tables.push(SelTable {
                db: d.name.clone(),
                name: t.name.clone(),
                target_db: names.database(&d.name),
                target_name: names.table(&d.name, &t.name),
                stats: stats.get(&t.name).cloned().unwrap_or_default(),
                keyless_rows,
            });
        }
    }
    let opts = TranslateOptions {
        target: tgt.version.clone(),
        names: names.clone(),
        definer: definer_policy(task),
    };
    let expected = expected_target(&schema, &opts).map_err(|e| e.to_string());
    // What the target already has, in the mapped databases.
    let target_dbs: BTreeSet<String> = schema
        .databases
        .iter()
        .map(|d| names.database(&d.name))
        .collect();
    let mut target_objects = BTreeSet::new();
    let mut target_nonempty = BTreeSet::new();
    let tdbs: Vec<String> = list_databases(t)
        .await
        .map_err(|e| ("target.conflicts", schema_err(e)))?;
    let fold = tgt.num("lower_case_table_names").unwrap_or(0) != 0;
    for db in &tdbs {
        let wanted = target_dbs
            .iter()
            .any(|w| w == db || (fold && w.eq_ignore_ascii_case(db)));
        if !wanted {
            continue;
        }
        target_objects.insert((ObjectKind::Database, db.clone(), String::new()));
        let q = [
            (ObjectKind::Table, "SELECT TABLE_NAME, TABLE_TYPE, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?"),
            (ObjectKind::Procedure, "SELECT ROUTINE_NAME, ROUTINE_TYPE, 0 FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?"),
            (ObjectKind::Trigger, "SELECT TRIGGER_NAME, 'TRIGGER', 0 FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?"),
            (ObjectKind::Event, "SELECT EVENT_NAME, 'EVENT', 0 FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?"),
        ];
        for (kind, sql) in q {
            let rows: Vec<(String, String, Option<u64>)> = t
                .exec(sql, (db,))
                .await
                .map_err(|e| ("target.conflicts", e))?;
            for (name, ty, n) in rows {
                let kind = match (kind, ty.as_str()) {
                    (ObjectKind::Table, "VIEW") => ObjectKind::View,
                    (ObjectKind::Procedure, "FUNCTION") => ObjectKind::Function,
                    (k, _) => k,
                };
                if kind == ObjectKind::Table {
                    let rows: Option<u64> = t
                        .query_first(format!(
                            "SELECT 1 FROM {}.{} LIMIT 1",
                            quote(db),
                            quote(&name)
                        ))
                        .await
                        .map_err(|e| ("target.conflicts", e))?;
                    let _ = n;
                    if rows.is_some() {
                        target_nonempty.insert((db.clone(), name.clone()));
                    }
                }
                target_objects.insert((kind, db.clone(), name));
            }
        }
    }
    Ok(Ctx {
        src,
        tgt,
        schema,
        whole,
        selection_errors,
        tables,
        target_objects,
        target_nonempty,
        expected,
    })
}

fn schema_err(e: schema_diff::SchemaError) -> mysql_async::Error {
    match e {
        schema_diff::SchemaError::Database { error, .. } => error,
        other => mysql_async::Error::Other(other.to_string().into()),
    }
}

fn definer_policy(task: &TaskConfig) -> DefinerPolicy {
    if task.migration.definer == "invoker" {
        DefinerPolicy::Invoker
    } else {
        DefinerPolicy::Account(task.migration.definer.clone())
    }
}

/// The primary key, or a unique key whose columns are all NOT NULL (the
/// keys the copy and the apply can address a row by).
fn has_usable_key(t: &schema_diff::model::Table) -> bool {
    use schema_diff::model::IndexKind;
    t.indexes.iter().any(|ix| {
        ix.kind == IndexKind::Primary
            || (ix.kind == IndexKind::Unique
                && ix.parts.iter().all(|p| {
                    p.column
                        .as_ref()
                        .and_then(|c| t.column(c))
                        .is_some_and(|c| !c.nullable)
                }))
    })
}

fn list(items: &[String], max: usize) -> String {
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

fn judge(task: &TaskConfig, ctx: &Ctx, out: &mut Vec<Check>) {
    let src = &ctx.src;
    let tgt = &ctx.tgt;
    let schema_phase = task.migration.has(MigrationType::Schema);
    let full = task.migration.has(MigrationType::Full);

    // pair.distinct
    if src.identity() == tgt.identity() {
        out.push(fail(
            "pair.distinct",
            format!("source and target are the same server ({})", src.identity()),
            "point [target] url at another server",
        ));
    } else {
        out.push(pass(
            "pair.distinct",
            format!("source: {}; target: {}", src.identity(), tgt.identity()),
        ));
    }

    out.push(versions(&src.version, &tgt.version));
    out.push(target_features(task, ctx));

    // source.objects
    if ctx.selection_errors.is_empty() {
        let n = ctx.tables.len();
        out.push(pass(
            "source.objects",
            format!(
                "{n} table(s) selected in {} database(s)",
                ctx.schema.databases.len()
            ),
        ));
    } else {
        out.push(fail(
            "source.objects",
            list(&ctx.selection_errors, 10),
            "correct [[objects]] in the task file (names are case-sensitive), or create the \
             objects on the source",
        ));
    }

    binlog_checks(task, src, ctx, out);

    // source.primary_keys
    let keyless: Vec<String> = ctx
        .tables
        .iter()
        .filter_map(|t| {
            t.keyless_rows.map(|n| {
                format!(
                    "{}.{} ({n} rows): copied in one pass inside the snapshot and loaded in one \
                     transaction; changes applied by matching the whole row",
                    quote(&t.db),
                    quote(&t.name)
                )
            })
        })
        .collect();
    if keyless.is_empty() {
        out.push(pass(
            "source.primary_keys",
            "every selected table has a primary key or a NOT NULL unique key",
        ));
    } else {
        let first = ctx.tables.iter().find(|t| t.keyless_rows.is_some());
        out.push(warn(
            "source.primary_keys",
            format!(
                "no primary key or NOT NULL unique key: {}",
                list(&keyless, 10)
            ),
            format!(
                "add a primary key on the source, e.g. ALTER TABLE {} ADD COLUMN dts_id BIGINT \
                 UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY; or acknowledge \
                 source.primary_keys",
                first.map_or(String::new(), |t| format!(
                    "{}.{}",
                    quote(&t.db),
                    quote(&t.name)
                ))
            ),
        ));
    }

    out.push(conflicts(task, ctx, schema_phase));
    names_checks(task, ctx, out);
    settings_checks(ctx, out);

    // target.max_allowed_packet
    let packet = tgt.num("max_allowed_packet").unwrap_or(0);
    let biggest = ctx.tables.iter().max_by_key(|t| t.stats.largest_row);
    let need = biggest.map_or(0, |t| t.stats.largest_row) * 2 + (64 << 10);
    match biggest {
        Some(b) if packet < need && full => out.push(fail(
            "target.max_allowed_packet",
            format!(
                "the largest row's long values ({}.{}) take {} bytes; the target's \
                 max_allowed_packet is {packet}",
                quote(&b.db),
                quote(&b.name),
                b.stats.largest_row
            ),
            format!(
                "SET GLOBAL max_allowed_packet = {} on the target (and max_allowed_packet in \
                 its [mysqld] options), at least twice the largest row plus 64 KiB",
                need.next_power_of_two().max(1 << 20)
            ),
        )),
        _ => out.push(pass(
            "target.max_allowed_packet",
            format!(
                "max_allowed_packet {packet}; largest row's long values {} bytes",
                biggest.map_or(0, |t| t.stats.largest_row)
            ),
        )),
    }

    // target.local_infile
    if full && !tgt.on("local_infile") {
        out.push(fail(
            "target.local_infile",
            "local_infile is OFF on the target",
            "SET GLOBAL local_infile = ON on the target (and local_infile = ON in its [mysqld] \
             options)",
        ));
    } else {
        out.push(pass(
            "target.local_infile",
            format!("local_infile {}", tgt.var("local_infile")),
        ));
    }

    // target.read_only
    let ro: Vec<&str> = ["read_only", "super_read_only", "innodb_read_only"]
        .into_iter()
        .filter(|v| tgt.on(v))
        .collect();
    if ro.is_empty() {
        out.push(pass("target.read_only", "the target is writable"));
    } else {
        out.push(fail(
            "target.read_only",
            format!("{} ON on the target", ro.join(", ")),
            ro.iter()
                .map(|v| format!("SET GLOBAL {v} = OFF;"))
                .collect::<Vec<_>>()
                .join(" ")
                + " on the target (innodb_read_only needs a restart without it)",
        ));
    }

    node_role(task, src, out);
    object_checks(task, ctx, out);
}

fn versions(s: &ServerVersion, t: &ServerVersion) -> Check {
    let supported = |v: &ServerVersion| {
        if v.is_mariadb() {
            v.at_least(10, 3)
        } else {
            v.at_least(5, 7)
        }
    };
    let found = format!("source {s}, target {t}");
    if !supported(s) || !supported(t) {
        return fail(
            "pair.versions",
            found,
            "use MySQL 5.7 or later or MariaDB 10.3 or later on both sides",
        );
    }
    if s.flavor != t.flavor {
        return warn(
            "pair.versions",
            found
                + ": another flavour; types, collations and syntax are mapped (see \
             target.features and `dts schema plan`)",
            "review `dts schema plan` output, then acknowledge pair.versions",
        );
    }
    if (t.major, t.minor) < (s.major, s.minor) {
        return warn(
            "pair.versions",
            found + ": the target is older than the source",
            "use a target of the source's version or later, or review `dts schema plan` and \
             acknowledge pair.versions",
        );
    }
    pass("pair.versions", found)
}

fn target_features(task: &TaskConfig, ctx: &Ctx) -> Check {
    let tgt = &ctx.tgt;
    let mut missing = Vec::new();
    let mut used = BTreeSet::new();
    for d in &ctx.schema.databases {
        used.insert(d.collation.clone());
        for t in &d.tables {
            used.extend(t.collation.clone());
            for c in &t.columns {
                used.extend(c.collation.clone());
            }
        }
    }
    for c in used.iter().filter(|c| !c.is_empty()) {
        let mapped = map_collation(c, &tgt.version).unwrap_or_else(|| c.clone());
        if !tgt.collations.contains(&mapped.to_ascii_lowercase()) {
            missing.push(format!(
                "collation {c}{} is not on the target",
                if collation_kept(c, &tgt.version) {
                    String::new()
                } else {
                    format!(" (mapped to {mapped})")
                }
            ));
        }
    }
    let opts = TranslateOptions {
        target: tgt.version.clone(),
        names: task.name_map(),
        definer: definer_policy(task),
    };
    let mut notes = 0;
    match schema_diff::plan::plan(&ctx.schema, &opts) {
        Ok(p) => notes = p.warnings.len(),
        Err(e) => missing.push(e.to_string()),
    }
    if missing.is_empty() {
        pass(
            "target.features",
            format!(
                "every collation and construct in use exists on the target ({} translation \
                 note(s): see `dts schema plan`)",
                notes
            ),
        )
    } else {
        fail(
            "target.features",
            list(&missing, 10),
            "change the objects on the source to use what the target has (e.g. ALTER TABLE ... \
             CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci), or use a target \
             version that has it",
        )
    }
}

fn retention_seconds(src: &ServerFacts) -> Option<u64> {
    let secs = src.num("binlog_expire_logs_seconds").unwrap_or(0);
    if secs > 0 {
        return Some(secs);
    }
    let days: f64 = src.var("expire_logs_days").trim().parse().unwrap_or(0.0);
    if days > 0.0 {
        return Some((days * 86400.0) as u64);
    }
    None
}

/// The copy rate the retention estimate assumes (bytes per second).
pub const ESTIMATED_COPY_RATE: u64 = 20_000_000;

fn binlog_checks(task: &TaskConfig, src: &ServerFacts, ctx: &Ctx, out: &mut Vec<Check>) {
    let incremental = task.migration.has(MigrationType::Incremental);
    let full = task.migration.has(MigrationType::Full);
    let ids = [
        "source.log_bin",
        "source.binlog_format",
        "source.binlog_row_image",
        "source.binlog_row_value_options",
        "source.binlog_compress",
        "source.binlog_checksum",
        "source.server_id",
        "source.gtid_mode",
        "source.binlog_retention",
    ];
    if !incremental {
        for id in ids {
            out.push(pass(id, "not needed: no incremental migration"));
        }
        return;
    }
    let persist = "(and the same in the [mysqld] section of its option file, so a restart keeps \
                   it)";
    // log_bin (PolarDB: loose_polar_log_bin shows as polar_log_bin).
    let polar = src.has_var("polar_log_bin");
    let log_bin = if polar {
        src.on("polar_log_bin")
    } else {
        src.on("log_bin")
    };
    if log_bin {
        out.push(pass(
            "source.log_bin",
            format!("{} ON", if polar { "polar_log_bin" } else { "log_bin" }),
        ));
    } else if polar {
        out.push(fail(
            "source.log_bin",
            "polar_log_bin is OFF",
            "set loose_polar_log_bin = ON in the PolarDB cluster's parameters",
        ));
    } else {
        out.push(fail(
            "source.log_bin",
            "log_bin is OFF: the source writes no binlog",
            "start the source with log_bin (e.g. log_bin = mysql-bin and server_id = 1 in the \
             [mysqld] section of its option file) and restart it",
        ));
    }
    let fmt = src.var("binlog_format").to_ascii_uppercase();
    if fmt == "ROW" {
        out.push(pass("source.binlog_format", "binlog_format ROW"));
    } else {
        out.push(fail(
            "source.binlog_format",
            format!("binlog_format {fmt}"),
            format!(
                "SET GLOBAL binlog_format = 'ROW' on the source {persist}; sessions already \
                 open keep their format until they reconnect"
            ),
        ));
    }
    let image = src.var("binlog_row_image").to_ascii_uppercase();
    if image == "FULL" || image.is_empty() {
        out.push(pass(
            "source.binlog_row_image",
            format!(
                "binlog_row_image {}",
                if image.is_empty() {
                    "FULL (5.5 default)"
                } else {
                    "FULL"
                }
            ),
        ));
    } else {
        out.push(fail(
            "source.binlog_row_image",
            format!("binlog_row_image {image}"),
            format!("SET GLOBAL binlog_row_image = 'FULL' on the source {persist}"),
        ));
    }
    let rvo = src.var("binlog_row_value_options").to_ascii_uppercase();
    if rvo.contains("PARTIAL_JSON") {
        out.push(fail(
            "source.binlog_row_value_options",
            format!("binlog_row_value_options {rvo}: JSON updates are logged as diffs"),
            format!("SET GLOBAL binlog_row_value_options = '' on the source {persist}"),
        ));
    } else {
        out.push(pass(
            "source.binlog_row_value_options",
            if src.has_var("binlog_row_value_options") {
                format!("binlog_row_value_options '{rvo}'")
            } else {
                "the server has no partial JSON logging".into()
            },
        ));
    }
    let mut compress = Vec::new();
    if src.on("log_bin_compress") {
        compress.push("log_bin_compress ON (MariaDB compressed events)");
    }
    if src.on("binlog_transaction_compression") {
        compress.push("binlog_transaction_compression ON (zstd transaction payloads)");
    }
    out.push(pass(
        "source.binlog_compress",
        if compress.is_empty() {
            "binlog events are not compressed".to_string()
        } else {
            format!("{}: dts decodes them", compress.join(", "))
        },
    ));
    let sum = src.var("binlog_checksum").to_ascii_uppercase();
    if sum == "NONE" {
        out.push(warn(
            "source.binlog_checksum",
            "binlog_checksum NONE: corrupted events cannot be detected",
            format!("SET GLOBAL binlog_checksum = 'CRC32' on the source {persist}"),
        ));
    } else {
        out.push(pass(
            "source.binlog_checksum",
            format!("binlog_checksum {sum}"),
        ));
    }
    if src.num("server_id") == Some(0) {
        out.push(fail(
            "source.server_id",
            "server_id 0",
            format!(
                "SET GLOBAL server_id = 1 on the source (any id unused in its cluster) {persist}"
            ),
        ));
    } else {
        out.push(pass(
            "source.server_id",
            format!("server_id {}", src.var("server_id")),
        ));
    }
    if src.version.is_mariadb() {
        out.push(pass(
            "source.gtid_mode",
            format!(
                "MariaDB always writes GTIDs (gtid_binlog_pos {:?})",
                src.var("gtid_binlog_pos")
            ),
        ));
    } else if src.var("gtid_mode").eq_ignore_ascii_case("ON") {
        out.push(pass("source.gtid_mode", "gtid_mode ON"));
    } else {
        out.push(warn(
            "source.gtid_mode",
            format!(
                "gtid_mode {}: positions are file offsets tied to this server",
                if src.var("gtid_mode").is_empty() {
                    "(none)"
                } else {
                    src.var("gtid_mode")
                }
            ),
            "SET GLOBAL enforce_gtid_consistency = ON; SET GLOBAL gtid_mode = OFF_PERMISSIVE; \
             SET GLOBAL gtid_mode = ON_PERMISSIVE; (wait for ONGOING_ANONYMOUS_TRANSACTION_COUNT \
             = 0) SET GLOBAL gtid_mode = ON; and the same in the option file; or acknowledge \
             source.gtid_mode when the source will not fail over",
        ));
    }
    // Retention.
    let need = if full { 7 * 86400 } else { 86400 + 1 };
    let bytes: u64 = ctx.tables.iter().map(|t| t.stats.data_length).sum();
    let estimate = bytes / ESTIMATED_COPY_RATE;
    let est = format!(
        "the full copy of {:.1} MB is estimated at {} at {} MB/s",
        bytes as f64 / 1e6,
        human(estimate),
        ESTIMATED_COPY_RATE / 1_000_000
    );
    let var = if src.has_var("binlog_expire_logs_seconds") {
        "binlog_expire_logs_seconds"
    } else {
        "expire_logs_days"
    };
    let fix = |secs: u64| {
        if var == "binlog_expire_logs_seconds" {
            format!("SET GLOBAL binlog_expire_logs_seconds = {secs} on the source {persist}")
        } else {
            format!(
                "SET GLOBAL expire_logs_days = {} on the source {persist}",
                secs.div_ceil(86400)
            )
        }
    };
    match retention_seconds(src) {
        None => out.push(pass(
            "source.binlog_retention",
            format!("binlogs never expire; {est}"),
        )),
        Some(r) if r < need => out.push(fail(
            "source.binlog_retention",
            format!(
                "binlogs are kept {}; this task needs {} ({}); {est}",
                human(r),
                if full {
                    "at least 7 days"
                } else {
                    "more than 24 hours"
                },
                if full {
                    "full + incremental"
                } else {
                    "incremental only"
                }
            ),
            fix(if full { 7 * 86400 } else { 2 * 86400 }),
        )),
        Some(r) if full && estimate * 2 > r => out.push(warn(
            "source.binlog_retention",
            format!("binlogs are kept {}; {est}: less than twice that", human(r)),
            fix((estimate * 2).max(7 * 86400)),
        )),
        Some(r) => out.push(pass(
            "source.binlog_retention",
            format!("binlogs are kept {}; {est}", human(r)),
        )),
    }
}

fn human(secs: u64) -> String {
    if secs >= 86400 {
        format!("{:.1} days", secs as f64 / 86400.0)
    } else if secs >= 3600 {
        format!("{:.1} hours", secs as f64 / 3600.0)
    } else {
        format!("{secs} s")
    }
}

/// One privilege requirement: (privilege(s) any of which suffices, on what,
/// for what).
struct Need {
    any_of: Vec<&'static str>,
    db: Option<String>,
    table: Option<String>,
    reason: &'static str,
}

fn need(
    any_of: &[&'static str],
    db: Option<&str>,
    table: Option<&str>,
    reason: &'static str,
) -> Need {
    Need {
        any_of: any_of.to_vec(),
        db: db.map(str::to_string),
        table: table.map(str::to_string),
        reason,
    }
}

fn missing_grants(f: &ServerFacts, needs: &[Need]) -> (Vec<String>, Vec<String>) {
    let mut found = Vec::new();
    // GRANT statements grouped by object.
    let mut grants: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for n in needs {
        let ok = n.any_of.iter().any(|p| match &n.db {
            None => f.privileges.has_global(p),
            Some(db) => f.privileges.has(p, db, n.table.as_deref()),
        });
        if ok {
            continue;
        }
        let on = match (&n.db, &n.table) {
            (None, _) => "*.*".to_string(),
            (Some(d), None) => format!("{}.*", quote(d)),
            (Some(d), Some(t)) => format!("{}.{}", quote(d), quote(t)),
        };
        found.push(format!("{} on {on} ({})", n.any_of.join(" or "), n.reason));
        if let Some(first) = n.any_of.first() {
            grants.entry(on).or_default().insert(first);
        }
    }
    let fixes = grants
        .into_iter()
        .map(|(on, ps)| {
            format!(
                "GRANT {} ON {on} TO {};",
                ps.into_iter().collect::<Vec<_>>().join(", "),
                f.privileges.grantee
            )
        })
        .collect();
    (found, fixes)
}

fn privilege_checks(
    task: &TaskConfig,
    src: &ServerFacts,
    tgt: &ServerFacts,
    inv: &Inventory,
    out: &mut Vec<Check>,
) {
    let incremental = task.migration.has(MigrationType::Incremental);
    let schema_phase = task.migration.has(MigrationType::Schema);
    let mut s = Vec::new();
    for (db, t) in &inv.tables {
        s.push(need(&["SELECT"], Some(db), Some(t), "reading the data"));
    }
    if incremental {
        s.push(need(
            &["REPLICATION SLAVE"],
            None,
            None,
            "reading the binlog",
        ));
        s.push(need(
            &["REPLICATION CLIENT", "BINLOG MONITOR"],
            None,
            None,
            "reading binlog positions",
        ));
    }
    for (db, [views, triggers, _, events]) in &inv.dbs {
        if schema_phase && *views {
            s.push(need(
                &["SHOW VIEW"],
                Some(db),
                None,
                "reading view definitions",
            ));
        }
        if schema_phase && *triggers {
            s.push(need(
                &["TRIGGER"],
                Some(db),
                None,
                "reading trigger definitions",
            ));
        }
        if schema_phase && *events {
            s.push(need(
                &["EVENT"],
                Some(db),
                None,
                "reading event definitions",
            ));
        }
    }
    let ftwrl = task.full.snapshot == Snapshot::Ftwrl
        || (task.full.snapshot == Snapshot::Auto && !src.version.is_mariadb());
    if ftwrl && task.migration.has(MigrationType::Full) {
        s.push(need(
            &["RELOAD"],
            None,
            None,
            "FLUSH TABLES WITH READ LOCK for the snapshot",
        ));
    }
    if task.heartbeat.mode == HeartbeatMode::SourceTable && incremental {
        for p in ["CREATE", "INSERT", "UPDATE"] {
            let p: &'static str = p;
            s.push(need(
                &[p],
                Some(&task.heartbeat.schema),
                None,
                "the heartbeat table on the source",
            ));
        }
    }
    let (missing, fixes) = missing_grants(src, &s);
    out.push(if missing.is_empty() {
        pass(
            "source.privileges",
            format!(
                "{} has every privilege the task needs",
                src.privileges.grantee
            ),
        )
    } else {
        fail(
            "source.privileges",
            format!("{} lacks: {}", src.privileges.grantee, list(&missing, 12)),
            fixes.join(" "),
        )
    });

    let mut t = Vec::new();
    let ddl: &[&'static str] = &["CREATE", "DROP", "ALTER", "INDEX"];
    let dml: &[&'static str] = &["SELECT", "INSERT", "UPDATE", "DELETE"];
    let mut tdbs = BTreeSet::new();
    let names = task.name_map();
    for (db, _) in &inv.tables {
        tdbs.insert(names.database(db));
    }
    for (db, [views, triggers, routines, events]) in &inv.dbs {
        let td = names.database(db);
        tdbs.insert(td.clone());
        if schema_phase {
            if *views {
                t.push(need(&["CREATE VIEW"], Some(&td), None, "creating views"));
                t.push(need(&["SHOW VIEW"], Some(&td), None, "checking views"));
            }
            if *triggers {
                t.push(need(&["TRIGGER"], Some(&td), None, "creating triggers"));
            }
            if *routines {
                t.push(need(
                    &["CREATE ROUTINE"],
                    Some(&td),
                    None,
                    "creating routines",
                ));
                t.push(need(
                    &["ALTER ROUTINE"],
                    Some(&td),
                    None,
                    "replacing routines",
                ));
            }
            if *events {
                t.push(need(&["EVENT"], Some(&td), None, "creating events"));
            }
        }
    }
    for td in &tdbs {
        for p in dml {
            t.push(need(&[p], Some(td), None, "writing the data"));
        }
        if schema_phase || incremental {
            for p in ddl {
                t.push(need(
                    &[p],
                    Some(td),
                    None,
                    "creating objects and replicating DDL",
                ));
            }
        }
    }
    for p in dml.iter().chain(ddl) {
        t.push(need(
            &[p],
            Some(&task.target.meta_schema),
            None,
            "the task's metadata schema",
        ));
    }
    let (missing, fixes) = missing_grants(tgt, &t);
    out.push(if missing.is_empty() {
        pass(
            "target.privileges",
            format!(
                "{} has every privilege the task needs",
                tgt.privileges.grantee
            ),
        )
    } else {
        fail(
            "target.privileges",
            format!("{} lacks: {}", tgt.privileges.grantee, list(&missing, 12)),
            fixes.join(" "),
        )
    });

    for (id, f, side) in [
        ("source.privileges_excessive", src, "source"),
        ("target.privileges_excessive", tgt, "target"),
    ] {
        let mut extra: Vec<String> = [
            "SUPER",
            "FILE",
            "SHUTDOWN",
            "CREATE USER",
            "PROCESS",
            "DROP",
            "DELETE",
            "ALTER",
            "INSERT",
            "UPDATE",
            "ALL PRIVILEGES",
        ]
        .iter()
        .filter(|p| f.privileges.global.contains(**p))
        .map(|p| format!("{p} ON *.*"))
        .collect();
        if f.privileges.global_grant_option {
            extra.push("GRANT OPTION".into());
        }
        if extra.is_empty() {
            out.push(pass(id, "no global administrative or write privileges"));
        } else {
            out.push(warn(
                id,
                format!(
                    "{} holds more than the task needs: {}",
                    f.privileges.grantee,
                    extra.join(", ")
                ),
                format!(
                    "use a {side} account with only the privileges in docs/precheck.md \
                     (REVOKE {} ON *.* FROM {};), or acknowledge {id}",
                    extra
                        .iter()
                        .map(|e| e.trim_end_matches(" ON *.*"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    f.privileges.grantee
                ),
            ));
        }
    }
}

fn conflicts(task: &TaskConfig, ctx: &Ctx, schema_phase: bool) -> Check {
    let fold = ctx.tgt.num("lower_case_table_names").unwrap_or(0) != 0;
    let exists = |kind: ObjectKind, db: &str, name: &str| {
        ctx.target_objects.iter().any(|(k, d, n)| {
            let same_kind = *k == kind
                || matches!(
                    (k, kind),
                    (
                        ObjectKind::Table | ObjectKind::View,
                        ObjectKind::Table | ObjectKind::View
                    )
                );
            let eq = |a: &str, b: &str| {
                if fold {
                    a.eq_ignore_ascii_case(b)
                } else {
                    a == b
                }
            };
            same_kind && eq(d, db) && eq(n, name)
        })
    };
    let mut found = Vec::new();
    let mut drops = Vec::new();
    if schema_phase {
        if let Ok(exp) = &ctx.expected {
            for d in &exp.databases {
                let objs = d
                    .tables
                    .iter()
                    .map(|t| (ObjectKind::Table, &t.name))
                    .chain(d.views.iter().map(|v| (ObjectKind::View, &v.name)))
                    .chain(d.routines.iter().map(|r| {
                        (
                            if r.kind == schema_diff::model::RoutineKind::Function {
                                ObjectKind::Function
                            } else {
                                ObjectKind::Procedure
                            },
                            &r.name,
                        )
                    }))
                    .chain(d.triggers.iter().map(|t| (ObjectKind::Trigger, &t.name)))
                    .chain(d.events.iter().map(|e| (ObjectKind::Event, &e.name)));
                for (kind, name) in objs {
                    let routine_or_trigger = matches!(
                        kind,
                        ObjectKind::Procedure
                            | ObjectKind::Function
                            | ObjectKind::Trigger
                            | ObjectKind::Event
                    );
                    let hit = if routine_or_trigger {
                        ctx.target_objects.iter().any(|(k, dd, n)| {
                            *k == kind
                                && dd.eq_ignore_ascii_case(&d.name)
                                && n.eq_ignore_ascii_case(name)
                        })
                    } else {
                        exists(kind, &d.name, name)
                    };
                    if hit {
                        found.push(format!("{kind} {}.{}", quote(&d.name), quote(name)));
                        let kw = match kind {
                            ObjectKind::View => "VIEW",
                            ObjectKind::Procedure => "PROCEDURE",
                            ObjectKind::Function => "FUNCTION",
                            ObjectKind::Trigger => "TRIGGER",
                            ObjectKind::Event => "EVENT",
                            _ => "TABLE",
                        };
                        drops.push(format!("DROP {kw} {}.{};", quote(&d.name), quote(name)));
                    }
                }
            }
        }
    } else {
        // Without schema migration the tables must exist; rows already in
        // them are conflicts.
        let mut absent = Vec::new();
        for t in &ctx.tables {
            if !exists(ObjectKind::Table, &t.target_db, &t.target_name) {
                absent.push(format!("{}.{}", quote(&t.target_db), quote(&t.target_name)));
            } else if ctx.target_nonempty.iter().any(|(d, n)| {
                (if fold {
                    d.eq_ignore_ascii_case(&t.target_db)
                } else {
                    *d == t.target_db
                }) && (if fold {
                    n.eq_ignore_ascii_case(&t.target_name)
                } else {
                    *n == t.target_name
                })
            }) {
                found.push(format!(
                    "table {}.{} already holds rows",
                    quote(&t.target_db),
                    quote(&t.target_name)
                ));
                drops.push(format!(
                    "TRUNCATE TABLE {}.{};",
                    quote(&t.target_db),
                    quote(&t.target_name)
                ));
            }
        }
        if !absent.is_empty() {
            return fail(
                "target.conflicts",
                format!(
                    "without schema migration the target tables must exist; missing: {}",
                    list(&absent, 10)
                ),
                "add \"schema\" to [migration] types, or create the tables on the target \
                 (`dts schema plan` prints their DDL)",
            );
        }
    }
    if let Err(e) = &ctx.expected {
        return fail(
            "target.conflicts",
            format!("the target names cannot be computed: {e}"),
            "fix the object that cannot be read (see the message), then run the precheck again",
        );
    }
    if found.is_empty() {
        return pass(
            "target.conflicts",
            "no selected object exists on the target yet",
        );
    }
    let found = format!("already on the target: {}", list(&found, 10));
    match task.migration.conflict_mode {
        ConflictMode::PrecheckError => fail(
            "target.conflicts",
            found,
            format!(
                "drop them on the target ({}), rename the objects in [[objects]], or set \
                 [migration] conflict_mode = \"ignore\" to keep them",
                list(&drops, 5)
            ),
        ),
        ConflictMode::Ignore => warn(
            "target.conflicts",
            found + " (conflict_mode = \"ignore\": they are kept; rows follow the row conflict policies)",
            format!(
                "drop them on the target ({}), or acknowledge target.conflicts",
                list(&drops, 5)
            ),
        ),
    }
}

/// Why a name cannot be created on the target, if it cannot.
fn invalid_name(name: &str, is_db_or_table: bool) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    let chars = name.chars().count();
    if chars > 64 {
        return Some(format!("it is {chars} characters long (at most 64)"));
    }
    if name.chars().any(|c| c == '\0') {
        return Some("it contains a NUL character".into());
    }
    if name.chars().any(|c| u32::from(c) > 0xFFFF) {
        return Some("it contains a character outside the Basic Multilingual Plane".into());
    }
    if is_db_or_table && name.ends_with(' ') {
        return Some("it ends with a space".into());
    }
    None
}

fn names_checks(task: &TaskConfig, ctx: &Ctx, out: &mut Vec<Check>) {
    let names = task.name_map();
    let mut bad = Vec::new();
    for d in &ctx.schema.databases {
        let td = names.database(&d.name);
        if let Some(why) = invalid_name(&td, true) {
            bad.push(format!(
                "database {} (from {}): {why}",
                quote(&td),
                quote(&d.name)
            ));
        }
        for t in &d.tables {
            let tn = names.table(&d.name, &t.name);
            if let Some(why) = invalid_name(&tn, true) {
                bad.push(format!("table {}.{}: {why}", quote(&td), quote(&tn)));
            }
            for c in &t.columns {
                let cn = names.column(&d.name, &t.name, &c.name);
                if let Some(why) = invalid_name(&cn, false) {
                    bad.push(format!(
                        "column {} of {}.{}: {why}",
                        quote(&cn),
                        quote(&td),
                        quote(&tn)
                    ));
                }
            }
        }
        for v in &d.views {
            let vn = names.table(&d.name, &v.name);
            if let Some(why) = invalid_name(&vn, true) {
                bad.push(format!("view {}.{}: {why}", quote(&td), quote(&vn)));
            }
        }
    }
    out.push(if bad.is_empty() {
        pass("names.valid", "every target name can be created")
    } else {
        fail(
            "names.valid",
            list(&bad, 10),
            "rename them in the task file (target_database, target_name, rename_columns); a \
             database the target cannot name must be renamed or created by hand",
        )
    });

    let mut clashes = Vec::new();
    if let Err(e) = names.validate(&ctx.schema) {
        clashes.push(e.to_string());
    }
    // A target that folds names to lower case merges names differing only
    // in case.
    if ctx.tgt.num("lower_case_table_names").unwrap_or(0) != 0 {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for t in &ctx.tables {
            let key = format!(
                "{}.{}",
                t.target_db.to_lowercase(),
                t.target_name.to_lowercase()
            );
            let full = format!("{}.{}", quote(&t.db), quote(&t.name));
            if let Some(prev) = seen.insert(key.clone(), full.clone()) {
                clashes.push(format!(
                    "{prev} and {full} are one table on the target (lower_case_table_names = {})",
                    ctx.tgt.var("lower_case_table_names")
                ));
            }
        }
    }
    out.push(if clashes.is_empty() {
        pass(
            "names.collisions",
            format!(
                "no two objects share a target name (name_case = {:?})",
                match task.migration.name_case {
                    NameCase::Keep => "keep",
                    NameCase::Lower => "lower",
                    NameCase::Upper => "upper",
                }
            ),
        )
    } else {
        fail(
            "names.collisions",
            list(&clashes, 10),
            "rename one of each pair in the task file ([[objects.tables]] target_name), or use \
             [migration] name_case = \"keep\"",
        )
    });
}

fn settings_checks(ctx: &Ctx, out: &mut Vec<Check>) {
    let (s, t) = (&ctx.src, &ctx.tgt);
    let same = |id: &'static str, vars: &[&str], fix: String| -> Check {
        let diffs: Vec<String> = vars
            .iter()
            .filter(|v| s.has_var(v) && t.has_var(v))
            .filter(|v| !s.var(v).eq_ignore_ascii_case(t.var(v)))
            .map(|v| format!("{v}: source {:?}, target {:?}", s.var(v), t.var(v)))
            .collect();
        if diffs.is_empty() {
            pass(
                id,
                vars.iter()
                    .map(|v| format!("{v} {:?}", s.var(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
                    + " on both",
            )
        } else {
            warn(id, diffs.join("; "), fix)
        }
    };
    out.push(same(
        "pair.sql_mode",
        &["sql_mode"],
        format!(
            "SET GLOBAL sql_mode = '{}' on the target (and sql_mode in its option file), or \
             acknowledge pair.sql_mode (dts pins its own sessions' sql_mode either way)",
            s.var("sql_mode")
        ),
    ));
    let tz_diff = s.var("time_zone") != t.var("time_zone")
        || (s.var("time_zone").eq_ignore_ascii_case("SYSTEM")
            && s.var("system_time_zone") != t.var("system_time_zone"));
    if tz_diff {
        out.push(warn(
            "pair.time_zone",
            format!(
                "time_zone: source {:?} (system {:?}), target {:?} (system {:?})",
                s.var("time_zone"),
                s.var("system_time_zone"),
                t.var("time_zone"),
                t.var("system_time_zone")
            ),
            format!(
                "SET GLOBAL time_zone = '{}' on the target (and default_time_zone in its \
                 option file), or acknowledge pair.time_zone (TIMESTAMP values are copied \
                 exactly either way)",
                s.var("time_zone")
            ),
        ));
    } else {
        out.push(pass(
            "pair.time_zone",
            format!("time_zone {:?} on both", s.var("time_zone")),
        ));
    }
    // lower_case_table_names.
    let (sl, tl) = (
        s.num("lower_case_table_names").unwrap_or(0),
        t.num("lower_case_table_names").unwrap_or(0),
    );
    let mixed: Vec<String> = ctx
        .tables
        .iter()
        .filter(|x| {
            x.target_name != x.target_name.to_lowercase()
                || x.target_db != x.target_db.to_lowercase()
        })
        .map(|x| format!("{}.{}", quote(&x.target_db), quote(&x.target_name)))
        .collect();
    if tl != 0 && sl == 0 && !mixed.is_empty() {
        out.push(warn(
            "pair.lower_case_table_names",
            format!(
                "the target has lower_case_table_names = {tl}, the source {sl}; these names \
                 would be stored in lower case: {}",
                list(&mixed, 10)
            ),
            "set [migration] name_case = \"lower\" so the names are lower-cased explicitly, or \
             use a target initialised with lower_case_table_names = 0",
        ));
    } else if tl != sl && tl == 0 {
        out.push(warn(
            "pair.lower_case_table_names",
            format!("lower_case_table_names: source {sl}, target {tl}"),
            "applications that spell names in another case behave differently on the target; \
             initialise the target with the source's lower_case_table_names, or acknowledge \
             pair.lower_case_table_names",
        ));
    } else if tl != sl {
        out.push(pass(
            "pair.lower_case_table_names",
            format!(
                "lower_case_table_names: source {sl}, target {tl}; every target name is in \
                 lower case"
            ),
        ));
    } else {
        out.push(pass(
            "pair.lower_case_table_names",
            format!("lower_case_table_names {sl} on both"),
        ));
    }
    out.push(same(
        "pair.explicit_defaults_for_timestamp",
        &["explicit_defaults_for_timestamp"],
        format!(
            "SET GLOBAL explicit_defaults_for_timestamp = {} on the target (and in its option \
             file), or acknowledge pair.explicit_defaults_for_timestamp",
            s.var("explicit_defaults_for_timestamp")
        ),
    ));
    out.push(same(
        "pair.charset",
        &["character_set_server", "collation_server"],
        format!(
            "SET GLOBAL character_set_server = '{}', collation_server = '{}' on the target (and \
             in its option file), or acknowledge pair.charset (migrated objects keep their own \
             character sets)",
            s.var("character_set_server"),
            map_collation(s.var("collation_server"), &t.version)
                .unwrap_or_else(|| s.var("collation_server").to_string())
        ),
    ));
}

fn node_role(task: &TaskConfig, src: &ServerFacts, out: &mut Vec<Check>) {
    let incremental = task.migration.has(MigrationType::Incremental);
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let ro: Vec<&str> = ["read_only", "super_read_only", "innodb_read_only"]
        .into_iter()
        .filter(|v| src.on(v))
        .collect();
    if !ro.is_empty() && incremental && task.heartbeat.mode == HeartbeatMode::SourceTable {
        problems.push(format!(
            "the source is read-only ({} ON) and the heartbeat writes to it",
            ro.join(", ")
        ));
        fixes.push(format!(
            "{} on the source, or set [heartbeat] mode = \"none\" (lag is then measured only \
             while the source writes)",
            ro.iter()
                .map(|v| format!("SET GLOBAL {v} = OFF;"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    if src.on("innodb_read_only") && incremental {
        problems.push("innodb_read_only ON: a read-only node has no binlog of its own".into());
        fixes.push("use the cluster's primary (read-write) node as the source".into());
    }
    if src.is_replica == Some(true)
        && incremental
        && !src.on("log_slave_updates")
        && !src.on("log_replica_updates")
    {
        problems.push(
            "the source is a replica without log_slave_updates: changes it replicates are not \
             in its binlog"
                .into(),
        );
        fixes.push(
            "start it with log_slave_updates = ON (log_replica_updates on MySQL 8.0.26+), or use \
             its primary as the source"
                .into(),
        );
    }
    if problems.is_empty() {
        out.push(pass(
            "source.node_role",
            format!(
                "{}{}",
                if ro.is_empty() {
                    "writable"
                } else {
                    "read-only (not needed: no heartbeat writes)"
                },
                match src.is_replica {
                    Some(true) => ", a replica logging its updates",
                    Some(false) => ", not a replica",
                    None => "",
                }
            ),
        ));
    } else {
        out.push(fail(
            "source.node_role",
            problems.join("; "),
            fixes.join("; "),
        ));
    }
}

fn object_checks(task: &TaskConfig, ctx: &Ctx, out: &mut Vec<Check>) {
    let incremental = task.migration.has(MigrationType::Incremental);
    let mut cascades = Vec::new();
    let mut engines_other = Vec::new();
    let mut engines_missing = Vec::new();
    let mut partitioned = Vec::new();
    let mut generated = Vec::new();
    let mut first_engine = None;
    for d in &ctx.schema.databases {
        for t in &d.tables {
            let tq = format!("{}.{}", quote(&d.name), quote(&t.name));
            for fk in &t.foreign_keys {
                let acts: Vec<String> = [("DELETE", &fk.on_delete), ("UPDATE", &fk.on_update)]
                    .iter()
                    .filter(|(_, a)| matches!(a.as_str(), "CASCADE" | "SET NULL" | "SET DEFAULT"))
                    .map(|(w, a)| format!("ON {w} {a}"))
                    .collect();
                if !acts.is_empty() {
                    cascades.push(format!("{tq} {} {}", quote(&fk.name), acts.join(" ")));
                }
            }
            if t.table_type == "SEQUENCE" {
                continue;
            }
            if let Some(e) = &t.engine {
                let up = e.to_ascii_uppercase();
                if up != "INNODB" {
                    engines_other.push(format!("{tq} ({e})"));
                    first_engine.get_or_insert(tq.clone());
                }
                if !ctx.tgt.engines.contains(&up) {
                    engines_missing.push(format!("{tq} ({e})"));
                }
            }
            if t.partitioning.is_some() {
                partitioned.push(tq.clone());
            }
            for c in &t.columns {
                if c.generation_expression.is_some() {
                    generated.push(format!(
                        "{tq}.{} ({})",
                        quote(&c.name),
                        if c.generated_stored {
                            "stored"
                        } else {
                            "virtual"
                        }
                    ));
                }
            }
        }
    }
    out.push(if cascades.is_empty() {
        pass(
            "source.foreign_keys",
            "no foreign key with cascading actions",
        )
    } else {
        warn(
            "source.foreign_keys",
            format!("cascading foreign keys: {}", list(&cascades, 10)),
            "keep these foreign keys on the target (the schema migration creates them after the \
             copy) so that cascades run there, and acknowledge source.foreign_keys",
        )
    });

    // Triggers on the selected tables (looked up in the whole database).
    let mut triggers = Vec::new();
    for d in &ctx.whole.databases {
        for tr in &d.triggers {
            if task.selected(&d.name, &tr.table).is_some() {
                triggers.push(format!(
                    "{} on {}.{}",
                    quote(&tr.name),
                    quote(&d.name),
                    quote(&tr.table)
                ));
            }
        }
    }
    out.push(if triggers.is_empty() {
        pass("source.triggers", "no trigger on the selected tables")
    } else if incremental && task.migration.trigger_method == TriggerMethod::WithSchema {
        fail(
            "source.triggers",
            format!(
                "triggers {} would be created with the schema and fire again on every \
                 replicated row",
                list(&triggers, 10)
            ),
            "set [migration] trigger_method = \"at-cutover\"",
        )
    } else {
        pass(
            "source.triggers",
            format!(
                "triggers {}: created {}",
                list(&triggers, 10),
                if task.migration.trigger_method == TriggerMethod::AtCutover {
                    "at cut-over"
                } else {
                    "with the schema (no incremental migration)"
                }
            ),
        )
    });

    let events: Vec<String> = ctx
        .schema
        .databases
        .iter()
        .flat_map(|d| {
            d.events
                .iter()
                .map(move |e| format!("{}.{}", quote(&d.name), quote(&e.name)))
        })
        .collect();
    out.push(if events.is_empty() {
        pass("source.events", "no event in the selected databases")
    } else {
        warn(
            "source.events",
            format!(
                "events {} are created disabled at cut-over (event_scheduler on the source: {})",
                list(&events, 10),
                ctx.src.var("event_scheduler")
            ),
            "after cut-over, disable them on the source (ALTER EVENT ... DISABLE) and enable \
             them on the target (ALTER EVENT ... ENABLE); then acknowledge source.events",
        )
    });

    out.push(if !engines_missing.is_empty() {
        fail(
            "source.engines",
            format!("engines the target lacks: {}", list(&engines_missing, 10)),
            format!(
                "ALTER TABLE {} ENGINE = InnoDB on the source, or install the engine on the \
                 target (e.g. INSTALL SONAME 'ha_archive')",
                first_engine.clone().unwrap_or_default()
            ),
        )
    } else if !engines_other.is_empty() {
        warn(
            "source.engines",
            format!(
                "not InnoDB (not read from a consistent snapshot; writes to them during the \
                 copy may be missed or seen twice): {}",
                list(&engines_other, 10)
            ),
            format!(
                "ALTER TABLE {} ENGINE = InnoDB on the source, or stop writes to these tables \
                 during the full copy and acknowledge source.engines",
                first_engine.unwrap_or_default()
            ),
        )
    } else {
        pass("source.engines", "every selected table is InnoDB")
    });

    let have_partitioning = ctx.tgt.partitioning;
    out.push(if partitioned.is_empty() {
        pass("source.partitioning", "no partitioned table")
    } else if !have_partitioning {
        fail(
            "source.partitioning",
            format!(
                "partitioned tables {} and the target has no partitioning",
                list(&partitioned, 10)
            ),
            "enable the partition plugin on the target, or remove partitioning on the source \
             (ALTER TABLE ... REMOVE PARTITIONING)",
        )
    } else {
        warn(
            "source.partitioning",
            format!(
                "partitioned tables {} are created with the same partitioning; partition \
                 maintenance (adding, dropping partitions) must continue on the target",
                list(&partitioned, 10)
            ),
            "move partition maintenance jobs to the target at cut-over, then acknowledge \
             source.partitioning; or remove partitioning (ALTER TABLE ... REMOVE PARTITIONING)",
        )
    });

    out.push(if generated.is_empty() {
        pass("source.generated_columns", "no generated column")
    } else {
        warn(
            "source.generated_columns",
            format!(
                "generated columns {} are computed by the target, not copied",
                list(&generated, 10)
            ),
            "check that their expressions give the same results on the target's version (see \
             pair.versions), then acknowledge source.generated_columns",
        )
    });
}

/// The judging of conditions no test server here can show (MySQL and
/// PolarDB settings, server_id 0, older and other-flavour targets, missing
/// collations and engines), on facts written by hand. The real-server tests
/// are in `tests/precheck.rs`.
#[cfg(test)]
mod tests {
    use super::*;
    use schema_diff::model::{Column, Database, Table};

    fn facts(version: &str, vars: &[(&str, &str)]) -> ServerFacts {
        ServerFacts {
            version_text: version.into(),
            version: ServerVersion::parse(version).unwrap(),
            variables: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ssl_cipher: String::new(),
            privileges: facts::Privileges::default(),
            is_replica: Some(false),
            engines: ["INNODB", "MYISAM"].map(String::from).into_iter().collect(),
            collations: ["utf8mb4_general_ci", "utf8mb4_bin"]
                .map(String::from)
                .into_iter()
                .collect(),
            partitioning: true,
        }
    }

    fn task() -> TaskConfig {
        TaskConfig::from_toml(
            "[source]\nurl = \"mysql://a@h:1\"\n[target]\nurl = \"mysql://a@h:2\"\n\
             [[objects]]\ndatabase = \"d\"\n",
            None,
        )
        .unwrap()
    }

    fn ctx(src: ServerFacts, tgt: ServerFacts, schema: Schema) -> Ctx {
        Ctx {
            src,
            tgt,
            whole: schema.clone(),
            schema,
            selection_errors: vec![],
            tables: vec![],
            target_objects: BTreeSet::new(),
            target_nonempty: BTreeSet::new(),
            expected: Ok(Schema::default()),
        }
    }

    fn binlog(vars: &[(&str, &str)]) -> Vec<Check> {
        let src = facts("8.0.36", vars);
        let c = ctx(src.clone(), facts("8.0.36", &[]), Schema::default());
        let mut out = vec![];
        binlog_checks(&task(), &src, &c, &mut out);
        out
    }

    fn status(out: &[Check], id: &str) -> Status {
        let c = out.iter().find(|c| c.id == id).unwrap();
        assert!(c.status == Status::Pass || !c.fix.is_empty(), "{c:?}");
        c.status
    }

    const GOOD: &[(&str, &str)] = &[
        ("log_bin", "ON"),
        ("binlog_format", "ROW"),
        ("binlog_row_image", "FULL"),
        ("binlog_row_value_options", ""),
        ("binlog_checksum", "CRC32"),
        ("server_id", "1"),
        ("gtid_mode", "ON"),
        ("binlog_expire_logs_seconds", "2592000"),
    ];

    fn with(over: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v: Vec<_> = GOOD
            .iter()
            .filter(|(k, _)| !over.iter().any(|(o, _)| o == k))
            .copied()
            .collect();
        v.extend_from_slice(over);
        v
    }

    #[test]
    fn mysql_binlog_settings() {
        let out = binlog(GOOD);
        assert!(out.iter().all(|c| c.status == Status::Pass), "{out:#?}");
        let out = binlog(&with(&[("binlog_row_value_options", "PARTIAL_JSON")]));
        assert_eq!(
            status(&out, "source.binlog_row_value_options"),
            Status::Failure
        );
        let out = binlog(&with(&[("gtid_mode", "OFF")]));
        assert_eq!(status(&out, "source.gtid_mode"), Status::Warning);
        let out = binlog(&with(&[("server_id", "0")]));
        assert_eq!(status(&out, "source.server_id"), Status::Failure);
        let out = binlog(&with(&[("binlog_transaction_compression", "ON")]));
        assert_eq!(status(&out, "source.binlog_compress"), Status::Pass);
        // PolarDB: loose_polar_log_bin shows as polar_log_bin.
        let out = binlog(&with(&[("polar_log_bin", "OFF")]));
        assert_eq!(status(&out, "source.log_bin"), Status::Failure);
        let c = out.iter().find(|c| c.id == "source.log_bin").unwrap();
        assert!(c.fix.contains("loose_polar_log_bin"), "{c:?}");
        let out = binlog(&with(&[("polar_log_bin", "ON"), ("log_bin", "OFF")]));
        assert_eq!(status(&out, "source.log_bin"), Status::Pass);
    }

    #[test]
    fn version_pairs() {
        let v = |s: &str, t: &str| {
            versions(
                &ServerVersion::parse(s).unwrap(),
                &ServerVersion::parse(t).unwrap(),
            )
            .status
        };
        assert_eq!(v("10.11.6-MariaDB", "11.4.2-MariaDB"), Status::Pass);
        assert_eq!(v("8.0.36", "8.4.0"), Status::Pass);
        assert_eq!(v("11.4.2-MariaDB", "10.11.6-MariaDB"), Status::Warning);
        assert_eq!(v("8.0.36", "10.11.6-MariaDB"), Status::Warning);
        assert_eq!(v("5.6.51", "8.0.36"), Status::Failure);
    }

    fn one_table(collation: &str, engine: &str) -> Schema {
        Schema {
            server: None,
            databases: vec![Database {
                name: "d".into(),
                charset: "utf8mb4".into(),
                collation: "utf8mb4_general_ci".into(),
                create_sql: "CREATE DATABASE `d`".into(),
                tables: vec![Table {
                    name: "t".into(),
                    table_type: "BASE TABLE".into(),
                    engine: Some(engine.into()),
                    collation: Some(collation.into()),
                    columns: vec![Column {
                        name: "c".into(),
                        column_type: "varchar(10)".into(),
                        collation: Some(collation.into()),
                        ..Column::default()
                    }],
                    create_sql: format!(
                        "CREATE TABLE `t` (\n  `c` varchar(10) COLLATE {collation}\n) ENGINE={engine}"
                    ),
                    ..Table::default()
                }],
                ..Database::default()
            }],
        }
    }

    #[test]
    fn target_lacks_a_collation_or_an_engine() {
        let src = facts("8.0.36", &[]);
        let tgt = facts("10.6.1-MariaDB", &[]);
        // utf8mb4_0900_ai_ci maps to utf8mb4_unicode_520_ci on MariaDB 10.6,
        // which this target does not have.
        let c = ctx(
            src.clone(),
            tgt.clone(),
            one_table("utf8mb4_0900_ai_ci", "InnoDB"),
        );
        let chk = target_features(&task(), &c);
        assert_eq!(chk.status, Status::Failure, "{chk:?}");
        assert!(chk.found.contains("utf8mb4_unicode_520_ci"), "{chk:?}");
        let c = ctx(
            src.clone(),
            tgt.clone(),
            one_table("utf8mb4_general_ci", "InnoDB"),
        );
        assert_eq!(target_features(&task(), &c).status, Status::Pass);
        // An engine the target lacks.
        let c = ctx(src, tgt, one_table("utf8mb4_general_ci", "ARCHIVE"));
        let mut out = vec![];
        object_checks(&task(), &c, &mut out);
        assert_eq!(status(&out, "source.engines"), Status::Failure);
    }

    #[test]
    fn schema_grant_patterns() {
        assert!(facts::like("dtst\\_%", "dtst_x"));
        assert!(!facts::like("dtst\\_%", "dtstax"));
        assert!(facts::like("a_c", "abc"));
        assert!(!facts::like("abc", "abcd"));
    }
}
