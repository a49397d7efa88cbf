//! What a verification found, for people (`Display`) and programs
//! ([`VerifyReport::to_json`]).

use std::fmt;

use mysql_async::Value;
use serde_json::{json, Map};

use binlog_reader::render::{protocol_json, protocol_text};

/// The version of [`VerifyReport::to_json`]'s layout.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// How a table was compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompareMethod {
    /// Row by row on these key columns (source names), in key chunks.
    Keyed(Vec<String>),
    /// As multisets of whole rows: the table has no usable key (or the
    /// compared columns leave it out), so duplicates count.
    Multiset,
}

/// A row's key: the key columns' names (source names) and values. For a
/// table compared as a multiset, every compared column.
#[derive(Clone, Debug, PartialEq)]
pub struct RowKey {
    /// Column names.
    pub columns: Vec<String>,
    /// Values, exactly as read.
    pub values: Vec<Value>,
}

impl fmt::Display for RowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, (c, v)) in self.columns.iter().zip(&self.values).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={}", c, protocol_text(v))?;
        }
        f.write_str(")")
    }
}

impl RowKey {
    fn to_json(&self) -> serde_json::Value {
        let mut m = Map::new();
        for (c, v) in self.columns.iter().zip(&self.values) {
            m.insert(c.clone(), protocol_json(v));
        }
        serde_json::Value::Object(m)
    }
}

/// What kind of difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DifferenceKind {
    /// The source has the row, the target does not.
    MissingOnTarget,
    /// The target has a row the source does not.
    ExtraOnTarget,
    /// Both have the key, with different values in some columns.
    Different,
    /// Online verification only: the source row kept changing through every
    /// re-check, so it could be neither confirmed nor cleared.
    Unsettled,
}

impl DifferenceKind {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DifferenceKind::MissingOnTarget => "missing_on_target",
            DifferenceKind::ExtraOnTarget => "extra_on_target",
            DifferenceKind::Different => "different",
            DifferenceKind::Unsettled => "unsettled",
        }
    }
}

/// One listed difference.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// What kind.
    pub kind: DifferenceKind,
    /// Which row.
    pub key: RowKey,
    /// For [`DifferenceKind::Different`]: the columns whose values differ
    /// (source names).
    pub columns: Vec<String>,
    /// How many rows (more than 1 only for duplicates in a multiset).
    pub count: u64,
}

/// One table's result.
#[derive(Clone, Debug, PartialEq)]
pub struct TableVerifyReport {
    /// The source table, quoted.
    pub source: String,
    /// The target table, quoted.
    pub target: String,
    /// How it was compared.
    pub method: CompareMethod,
    /// Source rows read in the compared chunks.
    pub source_rows: u64,
    /// Target rows read in the compared chunks.
    pub target_rows: u64,
    /// Key chunks of the table (1 for a multiset).
    pub chunks: u64,
    /// Chunks compared (all of them unless sampling).
    pub chunks_compared: u64,
    /// Chunks whose hashes differed (looked at row by row).
    pub chunks_differing: u64,
    /// Rows missing on the target (exact total).
    pub missing: u64,
    /// Rows extra on the target (exact total).
    pub extra: u64,
    /// Rows with differing values (exact total).
    pub different: u64,
    /// Rows that kept changing through every re-check (online only).
    pub unsettled: u64,
    /// Rows re-checked after waiting for the target (online only).
    pub rechecked: u64,
    /// Listed differences, at most [`super::VerifyOptions::max_listed`].
    pub differences: Vec<Difference>,
    /// Repair statements produced.
    pub repair_statements: u64,
    /// Things to know about how the table was compared.
    pub notes: Vec<String>,
}

impl TableVerifyReport {
    /// No difference of any kind (in the compared chunks).
    pub fn is_equal(&self) -> bool {
        self.missing + self.extra + self.different + self.unsettled == 0
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "source": self.source,
            "target": self.target,
            "method": match &self.method {
                CompareMethod::Keyed(_) => "keyed",
                CompareMethod::Multiset => "multiset",
            },
            "key": match &self.method {
                CompareMethod::Keyed(k) => json!(k),
                CompareMethod::Multiset => serde_json::Value::Null,
            },
            "equal": self.is_equal(),
            "source_rows": self.source_rows,
            "target_rows": self.target_rows,
            "chunks": self.chunks,
            "chunks_compared": self.chunks_compared,
            "chunks_differing": self.chunks_differing,
            "missing_on_target": self.missing,
            "extra_on_target": self.extra,
            "different": self.different,
            "unsettled": self.unsettled,
            "rechecked": self.rechecked,
            "repair_statements": self.repair_statements,
            "listed": self.differences.iter().map(|d| json!({
                "kind": d.kind.as_str(),
                "key": d.key.to_json(),
                "columns": d.columns,
                "count": d.count,
            })).collect::<Vec<_>>(),
            "notes": self.notes,
        })
    }
}

/// The result of [`super::verify_tables`].
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyReport {
    /// One report per table, in the order given.
    pub tables: Vec<TableVerifyReport>,
}

impl VerifyReport {
    /// No table has a difference.
    pub fn is_equal(&self) -> bool {
        self.tables.iter().all(TableVerifyReport::is_equal)
    }

    /// The report as JSON, with `"schema_version"`.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "schema_version": REPORT_SCHEMA_VERSION,
            "equal": self.is_equal(),
            "tables": self.tables.iter().map(TableVerifyReport::to_json).collect::<Vec<_>>(),
        })
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.tables {
            let how = match &t.method {
                CompareMethod::Keyed(k) => format!("by key ({})", k.join(", ")),
                CompareMethod::Multiset => "as a multiset of rows (no usable key)".into(),
            };
            let sampled = if t.chunks_compared < t.chunks {
                format!(" (sampled {} of {} chunks)", t.chunks_compared, t.chunks)
            } else {
                format!(" ({} chunks)", t.chunks)
            };
            writeln!(
                f,
                "{} -> {}: {}; {} source rows, {} target rows compared {how}{sampled}",
                t.source,
                t.target,
                if t.is_equal() { "equal" } else { "DIFFERENT" },
                t.source_rows,
                t.target_rows,
            )?;
            if !t.is_equal() {
                write!(
                    f,
                    "  {} missing on the target, {} extra on the target, {} different",
                    t.missing, t.extra, t.different
                )?;
                if t.unsettled > 0 {
                    write!(
                        f,
                        ", {} unsettled (kept changing on the source)",
                        t.unsettled
                    )?;
                }
                writeln!(f)?;
            }
            for d in &t.differences {
                let count = if d.count > 1 {
                    format!(" x{}", d.count)
                } else {
                    String::new()
                };
                match d.kind {
                    DifferenceKind::Different => {
                        writeln!(f, "  different {}: {}", d.key, d.columns.join(", "))?
                    }
                    DifferenceKind::MissingOnTarget => {
                        writeln!(f, "  missing on target {}{count}", d.key)?
                    }
                    DifferenceKind::ExtraOnTarget => {
                        writeln!(f, "  extra on target {}{count}", d.key)?
                    }
                    DifferenceKind::Unsettled => writeln!(f, "  unsettled {}", d.key)?,
                }
            }
            let listed: u64 = t.differences.iter().map(|d| d.count).sum();
            let total = t.missing + t.extra + t.different + t.unsettled;
            if listed < total && !t.differences.is_empty() {
                writeln!(f, "  ... {} more not listed", total - listed)?;
            }
            if t.repair_statements > 0 {
                writeln!(f, "  {} repair statements", t.repair_statements)?;
            }
            for n in &t.notes {
                writeln!(f, "  note: {n}")?;
            }
        }
        Ok(())
    }
}
