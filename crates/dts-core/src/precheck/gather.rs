//! Reading the servers, once: the connection, each server's facts, the
//! selected objects' inventory and definitions, and what the target already
//! holds. Everything the checks judge is in [`Ctx`]; nothing after this
//! reads a server.

use std::collections::BTreeSet;

use mysql_async::prelude::*;
use mysql_async::Conn;

use schema_diff::compare::expected_target;
use schema_diff::extract::{extract_schema, list_databases};
use schema_diff::model::{ObjectKind, Schema};
use schema_diff::quote;
use schema_diff::translate::TranslateOptions;

use crate::config::{Endpoint, TaskConfig};

use super::facts::{read_facts, table_stats, ServerFacts, TableStats};

/// What connecting to one server showed, for the `<side>.connect` and
/// `<side>.tls` checks.
pub(super) enum Reached {
    /// Connected.
    Yes {
        /// Whether `tls = "preferred"` fell back to a plain connection.
        fell_back: bool,
        /// The session's TLS cipher (empty: not encrypted).
        cipher: String,
    },
    /// Not connected: the driver's error.
    No(mysql_async::Error),
}

/// Connects as the endpoint says (its one TLS policy) and reads the
/// session's cipher; the connection gets a known session for the reads that
/// follow.
pub(super) async fn connect(ep: &Endpoint) -> (Option<Conn>, Reached) {
    let c = match ep.connect().await {
        Ok(c) => c,
        Err(e) => return (None, Reached::No(e)),
    };
    let mut conn = c.conn;
    let cipher: Option<(String, String)> = conn
        .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .await
        .ok()
        .flatten();
    let cipher = cipher.map(|(_, v)| v).unwrap_or_default();
    // A known session for the reads below: no transcoding surprises.
    conn.query_drop("SET NAMES utf8mb4").await.ok();
    (
        Some(conn),
        Reached::Yes {
            fell_back: c.tls_fell_back,
            cipher,
        },
    )
}

/// A selected source table, with what the checks need.
#[derive(Clone, Debug)]
pub(super) struct SelTable {
    pub(super) db: String,
    pub(super) name: String,
    pub(super) target_db: String,
    pub(super) target_name: String,
    pub(super) stats: TableStats,
    /// Exact row count for tables without a usable key.
    pub(super) keyless_rows: Option<u64>,
}

/// Everything read from the servers.
pub(super) struct Ctx {
    pub(super) src: ServerFacts,
    pub(super) tgt: ServerFacts,
    /// The selected objects of the source (tables only, for table-level
    /// selections).
    pub(super) schema: Schema,
    /// The selected databases as a whole (triggers on selected tables are
    /// looked up here).
    pub(super) whole: Schema,
    /// Problems with the selection (missing objects, bad filters).
    pub(super) selection_errors: Vec<String>,
    pub(super) tables: Vec<SelTable>,
    /// Target objects that exist: (kind, database, name) as the target
    /// stores them.
    pub(super) target_objects: BTreeSet<(ObjectKind, String, String)>,
    /// Target tables that hold rows.
    pub(super) target_nonempty: BTreeSet<(String, String)>,
    /// The model the target gets (names mapped), or why it cannot be made.
    pub(super) expected: Result<Schema, String>,
}

/// The check a failed read is reported under, and the error.
pub(super) type GatherError = (&'static str, mysql_async::Error);

/// What the selected databases hold, from `information_schema` alone (so it
/// is known even when the account lacks the privileges to read the
/// definitions).
pub(super) struct Inventory {
    /// Selected (database, table).
    pub(super) tables: Vec<(String, String)>,
    /// Per selected database: (name, has views, triggers, routines, events);
    /// only for whole-database selections.
    pub(super) dbs: Vec<(String, [bool; 4])>,
}

/// What [`servers`] read.
pub(super) struct Servers {
    pub(super) src: ServerFacts,
    pub(super) tgt: ServerFacts,
    /// The selected databases that exist on the source.
    pub(super) dbs: Vec<String>,
    pub(super) inv: Inventory,
    /// Selected databases missing on the source.
    pub(super) selection_errors: Vec<String>,
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

/// The first reads: each server's facts, which selected databases exist on
/// the source, and what they hold (from `information_schema` alone). The
/// privilege checks judge these before anything else is read, since the
/// privileges decide whether the definitions can be read.
pub(super) async fn servers(
    task: &TaskConfig,
    s: &mut Conn,
    t: &mut Conn,
) -> Result<Servers, GatherError> {
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
    let inv = inventory(task, s, &dbs)
        .await
        .map_err(|e| ("source.objects", e))?;
    Ok(Servers {
        src,
        tgt,
        dbs,
        inv,
        selection_errors,
    })
}

/// The rest: the selected objects' definitions, their sizes, and what the
/// target already holds under the mapped names.
pub(super) async fn objects(
    task: &TaskConfig,
    servers: Servers,
    s: &mut Conn,
    t: &mut Conn,
) -> Result<Ctx, GatherError> {
    let Servers {
        src,
        tgt,
        dbs,
        inv: _,
        mut selection_errors,
    } = servers;
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
        definer: task.migration.definer_policy(),
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
