//! The schema model: what extraction reads and what comparison compares.
//!
//! Every object keeps its original `SHOW CREATE` text (`create_sql`), which
//! is what translation edits. The other fields are the semantic ones read
//! from `information_schema`; comparison looks at those, never at the text,
//! which legitimately changes (DEFINER, SQL SECURITY, AUTO_INCREMENT).
//!
//! Lists are kept in a deterministic order: databases and objects by name,
//! columns by position, index parts by position.

use serde::{Deserialize, Serialize};

use crate::version::ServerVersion;

/// Every database read from one server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// The server the model was read from, when known.
    pub server: Option<ServerVersion>,
    /// The databases, by name.
    pub databases: Vec<Database>,
}

impl Schema {
    /// The database named `name`.
    pub fn database(&self, name: &str) -> Option<&Database> {
        self.databases.iter().find(|d| d.name == name)
    }

    /// The database named `name`, mutably.
    pub fn database_mut(&mut self, name: &str) -> Option<&mut Database> {
        self.databases.iter_mut().find(|d| d.name == name)
    }

    /// The table `db`.`name`.
    pub fn table(&self, db: &str, name: &str) -> Option<&Table> {
        self.database(db)?.table(name)
    }

    /// Puts databases and their objects in the model's canonical order.
    pub fn sort(&mut self) {
        self.databases.sort_by(|a, b| a.name.cmp(&b.name));
        for d in &mut self.databases {
            d.sort();
        }
    }
}

/// One database and what it holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    /// Its name.
    pub name: String,
    /// Default character set.
    pub charset: String,
    /// Default collation.
    pub collation: String,
    /// `SHOW CREATE DATABASE` text.
    pub create_sql: String,
    /// Base tables, by name.
    pub tables: Vec<Table>,
    /// Views, by name.
    pub views: Vec<View>,
    /// Triggers, by name.
    pub triggers: Vec<Trigger>,
    /// Procedures and functions, by kind then name.
    pub routines: Vec<Routine>,
    /// Events, by name.
    pub events: Vec<Event>,
}

impl Database {
    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Puts the objects in canonical order.
    pub fn sort(&mut self) {
        self.tables.sort_by(|a, b| a.name.cmp(&b.name));
        self.views.sort_by(|a, b| a.name.cmp(&b.name));
        self.triggers.sort_by(|a, b| a.name.cmp(&b.name));
        self.routines
            .sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        self.events.sort_by(|a, b| a.name.cmp(&b.name));
        for t in &mut self.tables {
            t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
            t.checks.sort_by(|a, b| a.name.cmp(&b.name));
            t.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }
}

/// A base table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// `information_schema.TABLES.TABLE_TYPE`: `BASE TABLE`, or on MariaDB
    /// `SYSTEM VERSIONED` or `SEQUENCE`.
    pub table_type: String,
    /// Storage engine.
    pub engine: Option<String>,
    /// Default collation (the character set follows from it).
    pub collation: Option<String>,
    /// `information_schema.TABLES.CREATE_OPTIONS` (explicit row format,
    /// `partitioned`, page compression, ...).
    pub create_options: String,
    /// Table comment.
    pub comment: String,
    /// The next AUTO_INCREMENT value, when the table has such a column.
    pub auto_increment: Option<u64>,
    /// Columns in position order.
    pub columns: Vec<Column>,
    /// Indexes (primary, unique, secondary, FULLTEXT, SPATIAL, functional).
    pub indexes: Vec<Index>,
    /// CHECK constraints.
    pub checks: Vec<Check>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// The partitioning clause, from `PARTITION BY` to the end of the
    /// `SHOW CREATE TABLE` text, whitespace-normalized and unguarded.
    pub partitioning: Option<String>,
    /// `SHOW CREATE TABLE` text.
    pub create_sql: String,
}

impl Table {
    /// The column named `name` (compared case-insensitively, as the servers
    /// do).
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name) || c.name == name)
    }
}

/// A column.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// The exact type (`COLUMN_TYPE`: `int(10) unsigned`, `enum('a','b')`).
    pub column_type: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The default as `information_schema` prints it (`NULL` for none on
    /// MariaDB; literals quoted on MariaDB).
    pub default: Option<String>,
    /// Character set of a text column.
    pub charset: Option<String>,
    /// Collation of a text column.
    pub collation: Option<String>,
    /// `EXTRA` without the flags kept in fields of their own
    /// (`auto_increment`, `on update current_timestamp()`, ...).
    pub extra: String,
    /// The expression of a generated column.
    pub generation_expression: Option<String>,
    /// Whether a generated column is stored (`STORED`/`PERSISTENT`).
    pub generated_stored: bool,
    /// Whether the column is invisible.
    pub invisible: bool,
    /// Column comment.
    pub comment: String,
}

/// The kind of an index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum IndexKind {
    /// The primary key.
    Primary,
    /// A unique key.
    Unique,
    /// A secondary (non-unique) index.
    Secondary,
    /// A FULLTEXT index.
    Fulltext,
    /// A SPATIAL index.
    Spatial,
}

/// One part of an index: a column (or prefix of one) or an expression.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexPart {
    /// The column, or `None` for a functional part.
    pub column: Option<String>,
    /// The expression of a functional part (MySQL 8).
    pub expression: Option<String>,
    /// A prefix length.
    pub sub_part: Option<u64>,
    /// Descending order.
    pub descending: bool,
}

/// An index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Its name (`PRIMARY` for the primary key).
    pub name: String,
    /// Primary, unique, secondary, FULLTEXT or SPATIAL.
    pub kind: IndexKind,
    /// Its parts, in order.
    pub parts: Vec<IndexPart>,
    /// `INDEX_TYPE` (`BTREE`, `HASH`, `FULLTEXT`, `SPATIAL`).
    pub index_type: String,
    /// Index comment.
    pub comment: String,
    /// Whether the optimizer uses it (MySQL INVISIBLE, MariaDB IGNORED).
    pub visible: bool,
}

/// A CHECK constraint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Its name.
    pub name: String,
    /// The condition as the server prints it.
    pub clause: String,
}

/// A foreign key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// The constraint's name.
    pub name: String,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced database.
    pub ref_database: String,
    /// The referenced table.
    pub ref_table: String,
    /// The referenced columns.
    pub ref_columns: Vec<String>,
    /// `ON UPDATE` rule (`RESTRICT`, `CASCADE`, `SET NULL`, `NO ACTION`).
    pub on_update: String,
    /// `ON DELETE` rule.
    pub on_delete: String,
}

/// A view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// Its name.
    pub name: String,
    /// The SELECT as the server stores it (`VIEW_DEFINITION`).
    pub definition: String,
    /// `NONE`, `CASCADED` or `LOCAL`.
    pub check_option: String,
    /// `DEFINER` or `INVOKER`.
    pub security_type: String,
    /// `user@host`.
    pub definer: String,
    /// `ALGORITHM` (MariaDB reports it; empty when unknown).
    pub algorithm: String,
    /// `SHOW CREATE VIEW` text.
    pub create_sql: String,
}

/// A trigger.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// Its name.
    pub name: String,
    /// The table it is on.
    pub table: String,
    /// `BEFORE` or `AFTER`.
    pub timing: String,
    /// `INSERT`, `UPDATE` or `DELETE`.
    pub event: String,
    /// Its position among the table's triggers for the same timing and event.
    pub action_order: u64,
    /// The body (`ACTION_STATEMENT`).
    pub body: String,
    /// `user@host`.
    pub definer: String,
    /// The `sql_mode` it was created with.
    pub sql_mode: String,
    /// `SHOW CREATE TRIGGER` text.
    pub create_sql: String,
}

/// A stored procedure or a stored function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RoutineKind {
    /// `PROCEDURE`.
    Procedure,
    /// `FUNCTION`.
    Function,
}

impl RoutineKind {
    /// `PROCEDURE` or `FUNCTION`.
    pub fn keyword(self) -> &'static str {
        match self {
            RoutineKind::Procedure => "PROCEDURE",
            RoutineKind::Function => "FUNCTION",
        }
    }
}

/// A stored procedure or function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routine {
    /// Its name.
    pub name: String,
    /// Procedure or function.
    pub kind: RoutineKind,
    /// Parameters as `[mode ]name type`, in order.
    pub params: Vec<String>,
    /// A function's return type.
    pub returns: Option<String>,
    /// The body (`ROUTINE_DEFINITION`).
    pub body: String,
    /// Whether it is DETERMINISTIC.
    pub deterministic: bool,
    /// `CONTAINS SQL`, `NO SQL`, `READS SQL DATA`, `MODIFIES SQL DATA`.
    pub data_access: String,
    /// `DEFINER` or `INVOKER`.
    pub security_type: String,
    /// `user@host`.
    pub definer: String,
    /// The `sql_mode` it was created with.
    pub sql_mode: String,
    /// Comment.
    pub comment: String,
    /// `SHOW CREATE PROCEDURE|FUNCTION` text.
    pub create_sql: String,
}

/// A scheduled event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Its name.
    pub name: String,
    /// The body (`EVENT_DEFINITION`).
    pub body: String,
    /// `ONE TIME` or `RECURRING`.
    pub event_type: String,
    /// For one-time events, when.
    pub execute_at: Option<String>,
    /// For recurring events, the interval (`1 DAY`).
    pub interval: Option<String>,
    /// `ENABLED`, `DISABLED`, `SLAVESIDE_DISABLED`.
    pub status: String,
    /// `PRESERVE` or `NOT PRESERVE`.
    pub on_completion: String,
    /// `user@host`.
    pub definer: String,
    /// The `sql_mode` it was created with.
    pub sql_mode: String,
    /// Comment.
    pub comment: String,
    /// `SHOW CREATE EVENT` text.
    pub create_sql: String,
}

/// The kind of a schema object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ObjectKind {
    /// A database.
    Database,
    /// A base table.
    Table,
    /// A table's foreign key.
    ForeignKey,
    /// A view.
    View,
    /// A stored procedure.
    Procedure,
    /// A stored function.
    Function,
    /// A trigger.
    Trigger,
    /// An event.
    Event,
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ObjectKind::Database => "database",
            ObjectKind::Table => "table",
            ObjectKind::ForeignKey => "foreign key",
            ObjectKind::View => "view",
            ObjectKind::Procedure => "procedure",
            ObjectKind::Function => "function",
            ObjectKind::Trigger => "trigger",
            ObjectKind::Event => "event",
        })
    }
}

/// Names one object: its kind, database and name (for a foreign key, the
/// table is in `parent`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    /// What kind of object.
    pub kind: ObjectKind,
    /// Its database (the database itself for [`ObjectKind::Database`]).
    pub database: String,
    /// The table a foreign key belongs to.
    pub parent: Option<String>,
    /// Its name (empty for a database).
    pub name: String,
}

impl ObjectRef {
    /// A reference to an object of `kind` named `name` in `database`.
    pub fn new(kind: ObjectKind, database: &str, name: &str) -> Self {
        ObjectRef {
            kind,
            database: database.to_string(),
            parent: None,
            name: name.to_string(),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::ident::quote;
        match (self.kind, &self.parent) {
            (ObjectKind::Database, _) => write!(f, "database {}", quote(&self.database)),
            (_, Some(p)) => write!(
                f,
                "{} {} on {}.{}",
                self.kind,
                quote(&self.name),
                quote(&self.database),
                quote(p)
            ),
            _ => write!(
                f,
                "{} {}.{}",
                self.kind,
                quote(&self.database),
                quote(&self.name)
            ),
        }
    }
}
