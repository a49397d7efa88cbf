//! Renames and the name-case policy: the name every source object gets on
//! the target.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::SchemaError;
use crate::ident::{quote, CasePolicy};
use crate::model::Schema;

/// Renames of databases, tables (and views) and columns. There is no limit
/// on how many.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Renames {
    /// Source database to target database.
    pub databases: BTreeMap<String, String>,
    /// (source database, source table or view) to target name.
    pub tables: BTreeMap<(String, String), String>,
    /// (source database, source table, source column) to target name.
    pub columns: BTreeMap<(String, String, String), String>,
}

impl Renames {
    /// Renames database `from` to `to`.
    pub fn database(mut self, from: &str, to: &str) -> Self {
        self.databases.insert(from.to_string(), to.to_string());
        self
    }

    /// Renames table (or view) `db`.`from` to `to` (in the target database
    /// of `db`).
    pub fn table(mut self, db: &str, from: &str, to: &str) -> Self {
        self.tables
            .insert((db.to_string(), from.to_string()), to.to_string());
        self
    }

    /// Renames column `from` of `db`.`table` to `to`.
    pub fn column(mut self, db: &str, table: &str, from: &str, to: &str) -> Self {
        self.columns.insert(
            (db.to_string(), table.to_string(), from.to_string()),
            to.to_string(),
        );
        self
    }
}

/// The target name of every source object: renames, then the case policy.
#[derive(Clone, Debug, Default)]
pub struct NameMap {
    renames: Renames,
    case: CasePolicy,
}

impl NameMap {
    /// A map from renames and a case policy.
    pub fn new(renames: Renames, case: CasePolicy) -> Self {
        NameMap { renames, case }
    }

    /// The case policy.
    pub fn case(&self) -> CasePolicy {
        self.case
    }

    /// The target name of database `db`.
    pub fn database(&self, db: &str) -> String {
        self.case
            .apply(self.renames.databases.get(db).map_or(db, String::as_str))
    }

    /// The target name of table or view `db`.`name`.
    pub fn table(&self, db: &str, name: &str) -> String {
        let key = (db.to_string(), name.to_string());
        self.case
            .apply(self.renames.tables.get(&key).map_or(name, String::as_str))
    }

    /// The target name of column `col` of `db`.`table`. Column names are
    /// case-insensitive, so the rename is looked up ignoring case.
    pub fn column(&self, db: &str, table: &str, col: &str) -> String {
        let key = (db.to_string(), table.to_string(), col.to_string());
        let renamed = self.renames.columns.get(&key).cloned().or_else(|| {
            self.renames
                .columns
                .iter()
                .find(|((d, t, c), _)| d == db && t == table && c.eq_ignore_ascii_case(col))
                .map(|(_, v)| v.clone())
        });
        self.case.apply(renamed.as_deref().unwrap_or(col))
    }

    /// The target name of a routine, trigger or event (only the case policy
    /// applies; their names are case-insensitive).
    pub fn other(&self, name: &str) -> String {
        self.case.apply(name)
    }

    /// Whether a column of `db`.`table` is renamed to something other than a
    /// change of case (which needs no edit where it is referenced).
    pub fn column_really_renamed(&self, db: &str, table: &str, col: &str) -> bool {
        !self.column(db, table, col).eq_ignore_ascii_case(col)
    }

    /// Whether table `db`.`name` gets another name (a change of case counts:
    /// table names are case-sensitive).
    pub fn table_renamed(&self, db: &str, name: &str) -> bool {
        self.table(db, name) != name
    }

    /// Whether anything is renamed at all (including by the case policy).
    pub fn is_identity(&self) -> bool {
        self.case == CasePolicy::Keep
            && self.renames.databases.iter().all(|(a, b)| a == b)
            && self.renames.tables.iter().all(|((_, a), b)| a == b)
            && self.renames.columns.iter().all(|((_, _, a), b)| a == b)
    }

    /// Checks that no two source objects get the same target name, and that
    /// every renamed object exists in `schema`.
    ///
    /// # Errors
    ///
    /// [`SchemaError::Config`] naming the clash or the missing object.
    pub fn validate(&self, schema: &Schema) -> Result<(), SchemaError> {
        for db in self.renames.databases.keys() {
            if schema.database(db).is_none() {
                return Err(SchemaError::Config(format!(
                    "database {} is renamed but is not among the migrated databases",
                    quote(db)
                )));
            }
        }
        for (db, t) in self.renames.tables.keys() {
            let found = schema
                .database(db)
                .is_some_and(|d| d.table(t).is_some() || d.views.iter().any(|v| &v.name == t));
            if !found {
                return Err(SchemaError::Config(format!(
                    "table {}.{} is renamed but does not exist on the source",
                    quote(db),
                    quote(t)
                )));
            }
        }
        for (db, t, c) in self.renames.columns.keys() {
            if schema.table(db, t).and_then(|t| t.column(c)).is_none() {
                return Err(SchemaError::Config(format!(
                    "column {} of {}.{} is renamed but does not exist on the source",
                    quote(c),
                    quote(db),
                    quote(t)
                )));
            }
        }
        let mut dbs = BTreeSet::new();
        for d in &schema.databases {
            let target = self.database(&d.name);
            if !dbs.insert(target.clone()) {
                return Err(SchemaError::Config(format!(
                    "two databases would be named {} on the target",
                    quote(&target)
                )));
            }
            let mut names = BTreeSet::new();
            let objects = d
                .tables
                .iter()
                .map(|t| &t.name)
                .chain(d.views.iter().map(|v| &v.name));
            for n in objects {
                let target_name = self.table(&d.name, n);
                if !names.insert(target_name.clone()) {
                    return Err(SchemaError::Config(format!(
                        "two tables or views would be named {}.{} on the target",
                        quote(&target),
                        quote(&target_name)
                    )));
                }
            }
            for t in &d.tables {
                let mut cols = BTreeSet::new();
                for c in &t.columns {
                    let n = self.column(&d.name, &t.name, &c.name).to_lowercase();
                    if !cols.insert(n.clone()) {
                        return Err(SchemaError::Config(format!(
                            "two columns of {}.{} would be named {} on the target",
                            quote(&d.name),
                            quote(&t.name),
                            quote(&n)
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}
