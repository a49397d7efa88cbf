//! Where a source table's rows go: the target table, the columns under
//! their target names, and the rows selected. The full copy, the CDC apply
//! and verification all take the same [`TableMapping`].

use server_dialect::quote_qualified;

/// A column moved under a (possibly) different name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnMapping {
    /// The source column.
    pub source: String,
    /// The target column.
    pub target: String,
}

/// One source table and where its rows go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMapping {
    /// The source database.
    pub source_db: String,
    /// The source table.
    pub source_table: String,
    /// The target database.
    pub target_db: String,
    /// The target table (it must exist, empty or not).
    pub target_table: String,
    /// The columns moved and their target names; `None` moves every
    /// column that is not generated, under the same names.
    pub columns: Option<Vec<ColumnMapping>>,
    /// A filter: only rows for which this condition holds are moved. It
    /// is checked first (see [`crate::base::filter`]).
    pub filter: Option<String>,
}

impl TableMapping {
    /// A table moved whole under the same names.
    pub fn same(db: &str, table: &str) -> Self {
        TableMapping::renamed(db, table, db, table)
    }

    /// A table moved whole under other names.
    pub fn renamed(
        source_db: &str,
        source_table: &str,
        target_db: &str,
        target_table: &str,
    ) -> Self {
        TableMapping {
            source_db: source_db.into(),
            source_table: source_table.into(),
            target_db: target_db.into(),
            target_table: target_table.into(),
            columns: None,
            filter: None,
        }
    }

    /// The source table, as `db`.`table`, quoted.
    pub fn source_quoted(&self) -> String {
        quote_qualified(&self.source_db, &self.source_table)
    }

    /// The target table, as `db`.`table`, quoted.
    pub fn target_quoted(&self) -> String {
        quote_qualified(&self.target_db, &self.target_table)
    }
}

/// What to do with a source row whose key already exists on the target
/// (the copy), or a change whose row is missing or already there (the
/// apply).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConflictPolicy {
    /// Stop with an error naming the table and the key (the default).
    #[default]
    Error,
    /// Keep the target's row and count the source row as ignored.
    Ignore,
    /// Replace the target's row with the source's and count it. A source
    /// row that collides on several unique keys replaces every row it
    /// collides with (MySQL's `REPLACE`): only choose this knowingly.
    Overwrite,
}
