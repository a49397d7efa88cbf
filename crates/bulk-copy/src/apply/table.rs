//! Which source tables are applied where, and what each looks like at the
//! binlog position being applied.
//!
//! The source schema valid at a position is kept in a *shadow*: for every
//! selected source database, a database on the target (`dts_shadow_...`,
//! recorded in the metadata schema) holding the source's tables, empty and
//! without foreign keys. It is created from the source's tables when the
//! apply starts for the first time, and every table DDL read from the binlog
//! is run on it (with the database names mapped to the shadow) before it is
//! run on the real target tables. So the target server itself keeps the
//! source schema as of the position applied, across every kind of ALTER,
//! and restarts find it as the last committed DDL left it. Each rows event
//! is checked against it (column count and type family) before any row is
//! written: a mismatch stops the apply (design rule 11).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use binlog_reader::event::TableMapEvent;
use binlog_reader::types::ColumnType;
use mysql_async::prelude::*;
use mysql_async::Conn;
use schema_diff::names::{NameMap, Renames};

use crate::base::error::{db_err, CopyError};
use crate::base::mapping::{ColumnMapping, TableMapping};
use crate::base::meta::{load_table_meta, ColumnMeta, KeyStrategy, TableMeta};
use server_dialect::quote;

/// What to apply: whole databases and single tables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplySelection {
    /// Whole databases (source, target): every table in them, including
    /// tables created or renamed into them later.
    pub databases: Vec<(String, String)>,
    /// Single tables, with their renames, column maps and filters. An entry
    /// for a table inside a whole database refines it (renames, columns,
    /// filter).
    pub tables: Vec<TableMapping>,
    /// Which kinds of change are applied, per database or table (the most
    /// specific entry wins); objects without an entry take every kind.
    pub operations: Vec<Operations>,
}

/// The kinds of change applied to one database's or table's objects
/// (the reference product's per-object DML and DDL filters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operations {
    /// The source database.
    pub database: String,
    /// The source table; `None` for the whole database.
    pub table: Option<String>,
    /// INSERTs are applied.
    pub insert: bool,
    /// UPDATEs are applied.
    pub update: bool,
    /// DELETEs are applied.
    pub delete: bool,
    /// The DDL kinds applied to the target (the shadow schema takes every
    /// DDL regardless, so rows keep decoding right).
    pub ddl: Vec<schema_diff::binlog_ddl::DdlKind>,
}

impl ApplySelection {
    /// The operations entry for `db`.`table`, if any.
    pub(crate) fn operations_for(&self, db: &str, table: &str) -> Option<&Operations> {
        self.operations
            .iter()
            .find(|o| o.database == db && o.table.as_deref() == Some(table))
            .or_else(|| {
                self.operations
                    .iter()
                    .find(|o| o.database == db && o.table.is_none())
            })
    }
}

impl ApplySelection {
    /// Every table of the databases given, under the same names.
    pub fn databases<S: AsRef<str>>(dbs: &[S]) -> Self {
        ApplySelection {
            databases: dbs
                .iter()
                .map(|d| (d.as_ref().to_string(), d.as_ref().to_string()))
                .collect(),
            tables: Vec::new(),
            operations: Vec::new(),
        }
    }

    /// The source databases involved.
    pub fn source_databases(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .databases
            .iter()
            .map(|d| d.0.clone())
            .chain(self.tables.iter().map(|t| t.source_db.clone()))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The names every source object gets on the target, for DDL.
    pub(crate) fn name_map(&self) -> NameMap {
        NameMap::new(self.renames(), Default::default())
    }

    /// The renames of the selection.
    pub(crate) fn renames(&self) -> Renames {
        let mut r = Renames::default();
        for (s, t) in &self.databases {
            if s != t {
                r = r.database(s, t);
            }
        }
        for t in &self.tables {
            if t.source_db != t.target_db && !self.databases.iter().any(|d| d.0 == t.source_db) {
                r = r.database(&t.source_db, &t.target_db);
            }
            if t.source_table != t.target_table {
                r = r.table(&t.source_db, &t.source_table, &t.target_table);
            }
            for c in t.columns.iter().flatten() {
                if c.source != c.target {
                    r = r.column(&t.source_db, &t.source_table, &c.source, &c.target);
                }
            }
        }
        r
    }
}

/// How the online-DDL tools' helper tables of selected tables are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnlineDdlMode {
    /// Replicate them like selected tables (gh-ost's `_t_gho`, `_t_ghc`,
    /// `_t_del`; pt-online-schema-change's `_t_new`, `_t_old`), so that the
    /// tool's final RENAME swaps complete tables on the target too.
    #[default]
    Replicate,
    /// Skip them and apply only the original DDL: the helper tables' rows
    /// and DDL are not applied (reported as skipped), pt-online-schema-change's
    /// `pt_osc_*` triggers neither; the ALTERs the tool ran on its ghost
    /// table (`_t_gho`, `_t_new`) are remembered in the metadata schema
    /// (`cdc_online_ddl`, committed with the checkpoint), and the tool's swap
    /// (`RENAME TABLE t TO _t_del, _t_gho TO t`, or to `_t_old`, `_t_new`)
    /// applies them to the target's `t` instead of the rename. Rows changed
    /// on `t` while the tool runs are applied to `t` as usual. A table counts
    /// as a helper when its name is a helper name of a selected table that
    /// exists at that position (so a table `_x_new` without a table `x` is
    /// an ordinary table), and stays one until dropped or renamed.
    ApplyOriginalDdl,
}

/// The helper-table names of the online-DDL tools for table `t`.
pub(crate) fn helper_of(name: &str) -> Option<&str> {
    helper_kind(name).map(|h| h.0)
}

/// What an online-DDL helper table is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HelperKind {
    /// The table being built with the new definition (`_t_gho`, `_t_new`).
    Ghost,
    /// The original table after the swap (`_t_del`, `_t_old`).
    Old,
    /// gh-ost's changelog (`_t_ghc`).
    Changelog,
}

/// The base table and kind of a helper-table name.
pub(crate) fn helper_kind(name: &str) -> Option<(&str, HelperKind)> {
    let s = name.strip_prefix('_')?;
    for (suffix, kind) in [
        ("_gho", HelperKind::Ghost),
        ("_ghc", HelperKind::Changelog),
        ("_del", HelperKind::Old),
        ("_new", HelperKind::Ghost),
        ("_old", HelperKind::Old),
    ] {
        if let Some(base) = s.strip_suffix(suffix) {
            if !base.is_empty() {
                return Some((base, kind));
            }
        }
    }
    None
}

/// The tool a helper name belongs to, for messages.
pub(crate) fn helper_tool(name: &str) -> &'static str {
    if name.ends_with("_new") || name.ends_with("_old") {
        "pt-online-schema-change"
    } else {
        "gh-ost"
    }
}

/// Where a source table's rows go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) target_db: String,
    pub(crate) target_table: String,
    pub(crate) columns: Option<Vec<ColumnMapping>>,
    pub(crate) filter: Option<String>,
}

/// The routes of a selection, following RENAME TABLE.
#[derive(Clone, Debug)]
pub(crate) struct Routes {
    databases: HashMap<String, String>,
    tables: HashMap<(String, String), Route>,
    names: NameMap,
    renames: Renames,
    mode: OnlineDdlMode,
    /// Helper tables skipped in [`OnlineDdlMode::ApplyOriginalDdl`].
    helpers: HashSet<(String, String)>,
}

impl Routes {
    pub(crate) fn new(sel: &ApplySelection, mode: OnlineDdlMode) -> Self {
        Routes {
            databases: sel.databases.iter().cloned().collect(),
            tables: sel
                .tables
                .iter()
                .map(|t| {
                    (
                        (t.source_db.clone(), t.source_table.clone()),
                        Route {
                            target_db: t.target_db.clone(),
                            target_table: t.target_table.clone(),
                            columns: t.columns.clone(),
                            filter: t.filter.clone(),
                        },
                    )
                })
                .collect(),
            names: sel.name_map(),
            renames: sel.renames(),
            mode,
            helpers: HashSet::new(),
        }
    }

    pub(crate) fn names(&self) -> &NameMap {
        &self.names
    }

    /// The selection's renames plus `db`.`ghost` named as the target
    /// table of `base`: an ALTER of a ghost table rewritten for the table
    /// it replaces.
    pub(crate) fn names_for_ghost(&self, db: &str, ghost: &str, base: &str) -> Option<NameMap> {
        let r = self.route(db, base)?;
        let mut renames = self.renames.clone();
        if !self.databases.contains_key(db) && r.target_db != db {
            renames = renames.database(db, &r.target_db);
        }
        Some(NameMap::new(
            renames.table(db, ghost, &r.target_table),
            Default::default(),
        ))
    }

    pub(crate) fn mode(&self) -> OnlineDdlMode {
        self.mode
    }

    /// Whether `db`.`name` is a helper table skipped by the online-DDL mode.
    pub(crate) fn is_helper(&self, db: &str, name: &str) -> bool {
        self.mode == OnlineDdlMode::ApplyOriginalDdl
            && self.helpers.contains(&(db.to_string(), name.to_string()))
    }

    /// The helper tables known now.
    pub(crate) fn helpers(&self) -> &HashSet<(String, String)> {
        &self.helpers
    }

    /// Whether `db`.`base` is selected by name (a single-table entry or
    /// its whole database).
    pub(crate) fn base_selected(&self, db: &str, base: &str) -> bool {
        self.databases.contains_key(db)
            || self
                .tables
                .contains_key(&(db.to_string(), base.to_string()))
    }

    /// Recomputes the helper tables of `db` from its tables at this
    /// position (the shadow's): a helper stays one while it exists; a new
    /// one is a helper name whose selected base table exists.
    pub(crate) fn set_tables(&mut self, db: &str, tables: &[String]) {
        if self.mode != OnlineDdlMode::ApplyOriginalDdl {
            return;
        }
        let old: HashSet<String> = self
            .helpers
            .iter()
            .filter(|(d, _)| d == db)
            .map(|(_, t)| t.clone())
            .collect();
        self.helpers.retain(|(d, _)| d != db);
        for t in tables {
            let explicit = self.tables.contains_key(&(db.to_string(), t.clone()));
            let new_helper = helper_of(t).is_some_and(|base| {
                self.base_selected(db, base) && tables.iter().any(|x| x == base)
            });
            if !explicit && (old.contains(t) || new_helper) {
                self.helpers.insert((db.to_string(), t.clone()));
            }
        }
    }

    /// Whether the database is shadowed (some table of it is selected).
    pub(crate) fn database_involved(&self, db: &str) -> bool {
        self.databases.contains_key(db) || self.tables.keys().any(|(d, _)| d == db)
    }

    /// Whether the whole database is selected.
    pub(crate) fn whole_database(&self, db: &str) -> bool {
        self.databases.contains_key(db)
    }

    /// The route of `db`.`table`, if it is selected.
    pub(crate) fn route(&self, db: &str, table: &str) -> Option<Route> {
        if let Some(r) = self.tables.get(&(db.to_string(), table.to_string())) {
            return Some(r.clone());
        }
        if self.is_helper(db, table) {
            return None;
        }
        if let Some(tdb) = self.databases.get(db) {
            return Some(Route {
                target_db: tdb.clone(),
                target_table: self.names.table(db, table),
                columns: None,
                filter: None,
            });
        }
        match (self.mode, helper_of(table)) {
            (OnlineDdlMode::Replicate, Some(base))
                if self
                    .tables
                    .contains_key(&(db.to_string(), base.to_string())) =>
            {
                let r = &self.tables[&(db.to_string(), base.to_string())];
                Some(Route {
                    target_db: r.target_db.clone(),
                    target_table: table.to_string(),
                    columns: None,
                    filter: None,
                })
            }
            _ => None,
        }
    }

    /// Follows `RENAME TABLE from TO to` for single-table entries: inside
    /// its database, or into a whole selected database, the entry follows
    /// the table; into another database the table leaves the selection
    /// (the entry is dropped: nothing is written into a database the task
    /// does not select). A table renamed to one of its own helper names (an
    /// online-DDL tool's swap) leaves the entry where it is: the selection
    /// is by name.
    pub(crate) fn rename(&mut self, from: (&str, &str), to: (&str, &str)) {
        if helper_of(to.1).is_some() || helper_of(from.1).is_some() {
            return;
        }
        let key = (from.0.to_string(), from.1.to_string());
        if let Some(mut r) = self.tables.remove(&key) {
            if let Some(tdb) = self.databases.get(to.0) {
                r.target_db = tdb.clone();
            } else if to.0 != from.0 {
                return;
            }
            r.target_table = self.names.table(to.0, to.1);
            self.tables.insert((to.0.to_string(), to.1.to_string()), r);
        }
    }

    /// The names a table created on the target for `route` takes: the
    /// selection's renames, with `db`.`table` named as the route says.
    pub(crate) fn names_for_route(&self, db: &str, table: &str, route: &Route) -> NameMap {
        NameMap::new(
            self.renames.clone().database(db, &route.target_db).table(
                db,
                table,
                &route.target_table,
            ),
            Default::default(),
        )
    }
}

/// A selected table as the apply writes it.
#[derive(Debug)]
pub(crate) struct TableInfo {
    /// The source table at this position (from the shadow).
    pub(crate) meta: TableMeta,
    pub(crate) route: Route,
    /// `target_db`.`target_table`, quoted.
    pub(crate) target: String,
    /// (source column index, quoted target name) of every written column.
    pub(crate) written: Vec<(usize, String)>,
    /// The key columns (source indexes) with their quoted target names;
    /// empty for a table without a usable key.
    pub(crate) key: Vec<(usize, String)>,
    /// The target table takes part in a foreign key (as child or parent):
    /// its changes are applied one by one in source order, so that the
    /// target's FK checks and cascades see what the source's saw.
    pub(crate) ordered: bool,
    /// The snapshot position the full copy loaded the whole table at (one
    /// transaction): changes before it are already in the target.
    pub(crate) copied_at: Option<binlog_reader::position::FilePosition>,
    /// The target's `max_allowed_packet`: no statement may be longer.
    pub(crate) max_packet: usize,
}

impl TableInfo {
    pub(crate) fn source_name(&self) -> String {
        format!("{}.{}", quote(&self.meta.db), quote(&self.meta.name))
    }
}

/// The shadow database of source database `db` for `task`.
pub(crate) fn shadow_name(task: &str, db: &str) -> String {
    let mut h = crc32fast::Hasher::new();
    h.update(task.as_bytes());
    h.update(&[0]);
    h.update(db.as_bytes());
    format!("dts_shadow_{:08x}", h.finalize())
}

/// The tables of source database `db` at the applied position (the
/// shadow's), for [`Routes::set_tables`].
pub(crate) async fn shadow_tables(
    target: &mut Conn,
    task: &str,
    db: &str,
) -> Result<Vec<String>, CopyError> {
    let shadow = shadow_name(task, db);
    target
        .exec(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? \
             AND table_type = 'BASE TABLE'",
            (&shadow,),
        )
        .await
        .map_err(db_err(
            "target",
            format!("listing the tables of the shadow schema {}", quote(&shadow)),
        ))
}

/// Reads a selected table's definition from the shadow and its foreign-key
/// involvement from the target.
pub(crate) async fn load_table(
    target: &mut Conn,
    meta_schema: &str,
    task: &str,
    db: &str,
    table: &str,
    route: Route,
) -> Result<TableInfo, CopyError> {
    let shadow = shadow_name(task, db);
    let mut meta = load_table_meta(target, &shadow, table)
        .await
        .map_err(|e| match e {
            CopyError::Table { .. } => CopyError::Table {
                table: format!("{}.{}", quote(db), quote(table)),
                reason: format!(
                    "the apply has no definition of it at this position (shadow {}): it was \
                     created outside the binlog being read, or by a DDL the apply did not see. \
                     Start the task again from a full copy",
                    quote(&shadow)
                ),
            },
            e => e,
        })?;
    meta.db = db.to_string();
    let target_q = format!("{}.{}", quote(&route.target_db), quote(&route.target_table));
    let written: Vec<(usize, String)> = match &route.columns {
        None => meta
            .written()
            .map(|(i, c)| (i, quote(&names_column(&meta, c))))
            .collect(),
        Some(maps) => {
            let mut v = Vec::new();
            for m in maps {
                let i = meta
                    .columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(&m.source))
                    .ok_or_else(|| CopyError::Table {
                        table: format!("{}.{}", quote(db), quote(table)),
                        reason: format!(
                            "the column map names `{}`, which the table does not have at this \
                             binlog position",
                            m.source
                        ),
                    })?;
                if !meta.columns[i].generated {
                    v.push((i, quote(&m.target)));
                }
            }
            v
        }
    };
    let key: Vec<(usize, String)> = match &meta.key {
        KeyStrategy::Keyset(cols) => {
            let mut k = Vec::new();
            for &c in cols {
                match written.iter().find(|(i, _)| *i == c) {
                    Some((_, name)) => k.push((c, name.clone())),
                    None => {
                        return Err(CopyError::Table {
                            table: format!("{}.{}", quote(db), quote(table)),
                            reason: format!(
                                "its key column `{}` is not among the columns applied, so \
                                 changes cannot find their rows on the target; add it to the \
                                 column list",
                                meta.columns[c].name
                            ),
                        })
                    }
                }
            }
            k
        }
        KeyStrategy::FullScan => Vec::new(),
    };
    let fks: Option<(i64,)> = target
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.key_column_usage
             WHERE referenced_table_name IS NOT NULL
               AND ((table_schema = ? AND table_name = ?)
                 OR (referenced_table_schema = ? AND referenced_table_name = ?))",
            (
                &route.target_db,
                &route.target_table,
                &route.target_db,
                &route.target_table,
            ),
        )
        .await
        .map_err(db_err(
            "target",
            format!("reading the foreign keys of {target_q}"),
        ))?;
    let ordered = key.is_empty() || fks.is_some_and(|f| f.0 > 0);
    let has_copy: Option<i64> = target
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = ? \
             AND table_name = 'copy_range' AND column_name = 'snap_pos'",
            (meta_schema,),
        )
        .await
        .map_err(db_err("target", "reading the metadata schema"))?;
    let copied_at = if has_copy == Some(1) {
        let rows: Vec<(Option<Vec<u8>>, Option<u64>)> = target
            .exec(
                format!(
                    "SELECT snap_file, snap_pos FROM {}.`copy_range` WHERE task = ? AND target_db = ? \
                     AND target_table = ? AND finished = 1",
                    quote(meta_schema)
                ),
                (task, &route.target_db, &route.target_table),
            )
            .await
            .map_err(db_err("target", "reading the copy's checkpoint"))?;
        match rows.as_slice() {
            [(Some(f), Some(p))] => Some(binlog_reader::position::FilePosition::new(
                String::from_utf8_lossy(f),
                *p,
            )),
            _ => None,
        }
    } else {
        None
    };
    let max_packet: Option<u64> = target
        .query_first("SELECT @@max_allowed_packet")
        .await
        .map_err(db_err("target", "reading max_allowed_packet"))?;
    Ok(TableInfo {
        max_packet: max_packet.map_or(usize::MAX, |p| usize::try_from(p).unwrap_or(usize::MAX)),
        copied_at,
        meta,
        target: target_q,
        written,
        key,
        ordered,
        route,
    })
}

fn names_column(_meta: &TableMeta, c: &ColumnMeta) -> String {
    c.name.clone()
}

/// The binlog type family of an `information_schema` data type.
fn family_of_data_type(t: &str) -> u8 {
    match t {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => 1,
        "float" | "double" | "real" => 2,
        "decimal" | "numeric" => 3,
        "date" | "datetime" | "timestamp" | "time" | "year" => 4,
        "bit" => 5,
        "enum" | "set" => 6,
        "json" | "geometry" | "point" | "linestring" | "polygon" | "multipoint"
        | "multilinestring" | "multipolygon" | "geometrycollection" | "geomcollection" => 7,
        _ => 8, // strings and blobs
    }
}

fn family_of_binlog(t: ColumnType) -> u8 {
    match t {
        ColumnType::TINY
        | ColumnType::SHORT
        | ColumnType::INT24
        | ColumnType::LONG
        | ColumnType::LONGLONG => 1,
        ColumnType::FLOAT | ColumnType::DOUBLE => 2,
        ColumnType::NEWDECIMAL | ColumnType::DECIMAL => 3,
        ColumnType::DATE
        | ColumnType::NEWDATE
        | ColumnType::DATETIME
        | ColumnType::DATETIME2
        | ColumnType::TIMESTAMP
        | ColumnType::TIMESTAMP2
        | ColumnType::TIME
        | ColumnType::TIME2
        | ColumnType::YEAR => 4,
        ColumnType::BIT => 5,
        ColumnType::ENUM | ColumnType::SET => 6,
        ColumnType::JSON | ColumnType::GEOMETRY => 7,
        _ => 8,
    }
}

/// Checks a TABLE_MAP against the table's definition at this position.
pub(crate) fn check_table_map(info: &TableInfo, map: &TableMapEvent) -> Result<(), String> {
    let cols = &info.meta.columns;
    if map.columns.len() != cols.len() {
        return Err(format!(
            "the binlog's table map has {} columns but the schema tracked at this position has \
             {} ({}); a DDL was missed",
            map.columns.len(),
            cols.len(),
            cols.iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (i, (m, c)) in map.columns.iter().zip(cols).enumerate() {
        let bf = family_of_binlog(m.real_type());
        let sf = family_of_data_type(&c.data_type);
        // MariaDB logs JSON as a blob, and ENUM/SET as strings in some maps;
        // MySQL's JSON is a LONGTEXT in a MariaDB shadow (MariaDB's JSON).
        let compatible = bf == sf
            || (sf == 7 && bf == 8)
            || (sf == 6 && bf == 8)
            || (m.real_type() == ColumnType::JSON && c.data_type == "longtext");
        if !compatible {
            return Err(format!(
                "column {} (`{}`, {}) has binlog type {:?}; the schema tracked at this position \
                 does not match the binlog, a DDL was missed",
                i + 1,
                c.name,
                c.data_type,
                m.real_type()
            ));
        }
    }
    Ok(())
}

/// A cache of [`TableInfo`] by source table.
#[derive(Default)]
pub(crate) struct TableCache {
    map: HashMap<(String, String), Option<Arc<TableInfo>>>,
}

impl TableCache {
    pub(crate) fn get(&self, db: &str, table: &str) -> Option<&Option<Arc<TableInfo>>> {
        self.map.get(&(db.to_string(), table.to_string()))
    }

    pub(crate) fn put(&mut self, db: &str, table: &str, info: Option<Arc<TableInfo>>) {
        self.map.insert((db.to_string(), table.to_string()), info);
    }

    pub(crate) fn clear(&mut self) {
        self.map.clear();
    }
}
