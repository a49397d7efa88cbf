//! Repair: the statements that make the target's differing rows equal to
//! the source's, printed or applied.
//!
//! Per differing key, in this order within a batch: `DELETE` of an extra
//! row (by its key), `UPDATE` of the columns that differ, `INSERT` of a
//! missing row. Never `REPLACE`, which can delete other rows through a
//! secondary unique key (design rule 12): a statement that collides with
//! another row fails loudly instead. A table compared as a multiset has no
//! key: an extra row is deleted by the hash of its exact encoding, `LIMIT`
//! the surplus count.
//!
//! Values are literals that the server reads back to the same bytes:
//! strings and blobs as hex with the target column's character set as
//! introducer (no transcoding, and the column's collation still applies to
//! key comparisons, so the index is used), BIT as a hex number, FLOAT and
//! DOUBLE in the shortest exponent form that reads back to the same bits,
//! DECIMAL as its exact text, temporal values with six fractional digits,
//! YEAR as four digits. The session they need is [`SESSION`].

use std::fmt::Write as _;
use std::sync::Mutex;

use futures::future::BoxFuture;
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, Value};

use binlog_reader::render::{hex_literal, protocol_literal, Literal, SqlColumn};
use bulk_copy::base::error::{db_err, CopyError};
use bulk_copy::base::meta::ColumnMeta;

/// The session the repair statements are written for: exact bytes in, UTC
/// for TIMESTAMP, zero dates and `0` in AUTO_INCREMENT columns accepted,
/// foreign keys not checked (rows are repaired table by table). A printed
/// script starts with it.
pub const SESSION: &str = "SET NAMES utf8mb4, time_zone = '+00:00', \
     sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', foreign_key_checks = 0";

/// One repair statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepairStatement {
    /// The SQL text, without a terminating `;`.
    pub sql: String,
    /// How many "Data truncated" warnings (1265) it is expected to raise:
    /// one per ENUM value `''` (index 0), which the servers always warn
    /// about.
    pub expected_warnings: u32,
}

/// Where repair statements go. Called with the statements of one batch of
/// differences of one table (a chunk, or a re-checked batch), in the order
/// they must run. Implementations must be callable from several tasks.
pub trait RepairSink: Send + Sync {
    /// Takes one batch for the target table `table` (quoted).
    ///
    /// # Errors
    ///
    /// Whatever stops the repair; the verification stops with it.
    fn repair<'a>(
        &'a self,
        table: &'a str,
        statements: Vec<RepairStatement>,
    ) -> BoxFuture<'a, Result<(), CopyError>>;
}

/// Keeps every statement in memory (for tests, or small repairs).
#[derive(Debug, Default)]
pub struct CollectRepair {
    statements: Mutex<Vec<RepairStatement>>,
}

impl CollectRepair {
    /// An empty collection.
    pub fn new() -> Self {
        CollectRepair::default()
    }

    /// The statements so far, in the order received.
    pub fn statements(&self) -> Vec<RepairStatement> {
        self.statements
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The statements as a script for the `mariadb`/`mysql` client: the
    /// session first, then one statement per line.
    pub fn script(&self) -> String {
        let mut s = format!("{SESSION};\n");
        for st in self.statements() {
            s.push_str(&st.sql);
            s.push_str(";\n");
        }
        s
    }
}

impl RepairSink for CollectRepair {
    fn repair<'a>(
        &'a self,
        _table: &'a str,
        statements: Vec<RepairStatement>,
    ) -> BoxFuture<'a, Result<(), CopyError>> {
        Box::pin(async move {
            self.statements
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(statements);
            Ok(())
        })
    }
}

/// Applies each batch on the target in one transaction, and rolls it back
/// and stops when the target warns about anything (a value it would
/// change) or refuses a statement (a key collision).
pub struct ApplyRepair {
    target: Opts,
    conn: tokio::sync::Mutex<Option<Conn>>,
    applied: Mutex<u64>,
}

impl std::fmt::Debug for ApplyRepair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyRepair")
            .field("applied", &self.applied())
            .finish_non_exhaustive()
    }
}

impl ApplyRepair {
    /// Applies on `target` (one connection, opened when first needed).
    pub fn new(target: &Opts) -> Self {
        ApplyRepair {
            target: target.clone(),
            conn: tokio::sync::Mutex::new(None),
            applied: Mutex::new(0),
        }
    }

    /// Statements applied and committed so far.
    pub fn applied(&self) -> u64 {
        *self.applied.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn apply(&self, table: &str, statements: Vec<RepairStatement>) -> Result<(), CopyError> {
        let mut guard = self.conn.lock().await;
        if guard.is_none() {
            let mut c = Conn::new(self.target.clone())
                .await
                .map_err(db_err("target", "connecting to apply repairs"))?;
            c.query_drop(format!(
                "{SESSION}, character_set_results = NULL, max_error_count = 65535"
            ))
            .await
            .map_err(db_err("target", "setting the repair session"))?;
            *guard = Some(c);
        }
        let Some(c) = guard.as_mut() else {
            return Ok(());
        };
        c.query_drop("BEGIN")
            .await
            .map_err(db_err("target", format!("starting a repair of {table}")))?;
        let result: Result<(), CopyError> = async {
            for st in &statements {
                c.query_drop(st.sql.as_str()).await.map_err(db_err(
                    "target",
                    format!("repairing {table} with `{}`", cut(&st.sql)),
                ))?;
                let n = u32::from(c.get_warnings());
                if n == 0 {
                    continue;
                }
                let w: Vec<(String, u32, String)> =
                    c.query("SHOW WARNINGS").await.map_err(db_err(
                        "target",
                        format!("reading the warnings of a repair of {table}"),
                    ))?;
                let enum_empty = w.iter().filter(|(_, code, _)| *code == 1265).count() as u32;
                if n != st.expected_warnings || enum_empty != st.expected_warnings {
                    return Err(CopyError::Table {
                        table: table.to_string(),
                        reason: format!(
                            "the target warned while repairing with `{}`, so the batch was rolled \
                             back: {}",
                            cut(&st.sql),
                            w.iter()
                                .map(|(l, code, m)| format!("{l} {code}: {m}"))
                                .collect::<Vec<_>>()
                                .join("; ")
                        ),
                    });
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            c.query_drop("ROLLBACK").await.ok();
            return Err(e);
        }
        c.query_drop("COMMIT")
            .await
            .map_err(db_err("target", format!("committing a repair of {table}")))?;
        *self.applied.lock().unwrap_or_else(|e| e.into_inner()) += statements.len() as u64;
        Ok(())
    }
}

impl RepairSink for ApplyRepair {
    fn repair<'a>(
        &'a self,
        table: &'a str,
        statements: Vec<RepairStatement>,
    ) -> BoxFuture<'a, Result<(), CopyError>> {
        Box::pin(self.apply(table, statements))
    }
}

fn cut(sql: &str) -> String {
    if sql.chars().count() > 200 {
        let s: String = sql.chars().take(200).collect();
        format!("{s}...")
    } else {
        sql.to_string()
    }
}

/// A column as the target has it, for writing literals.
#[derive(Clone, Debug)]
pub(crate) struct TargetColumn {
    /// The quoted name.
    pub(crate) quoted: String,
    /// Its type.
    pub(crate) meta: ColumnMeta,
    /// Its character set, `None` for binary and non-string types.
    pub(crate) charset: Option<String>,
}

/// A literal the target reads back as exactly `v` in column `col`, and
/// whether it is an ENUM's `''` (index 0, which warns): binlog-reader's
/// [`protocol_literal`], with the target column's type and its character
/// set (`binary` for a column without one, so that its bytes are never
/// transcoded).
pub(crate) fn literal(v: &Value, col: &TargetColumn) -> (String, bool) {
    let mut s = String::new();
    let sql_col = SqlColumn::new(&col.meta.name)
        .data_type(&col.meta.data_type)
        .charset(Some(col.charset.as_deref().unwrap_or("binary")));
    let e = protocol_literal(&mut s, v, &sql_col);
    (s, e == Literal::EnumEmpty)
}

/// `k1 = v1 AND k2 = v2` for a key.
pub(crate) fn key_condition(cols: &[&TargetColumn], values: &[&Value]) -> (String, u32) {
    let mut parts = Vec::new();
    let mut warn = 0;
    for (c, v) in cols.iter().zip(values) {
        let (lit, e) = literal(v, c);
        warn += u32::from(e);
        if matches!(v, Value::NULL) {
            parts.push(format!("{} IS NULL", c.quoted));
        } else {
            parts.push(format!("{} = {lit}", c.quoted));
        }
    }
    (parts.join(" AND "), warn)
}

/// `INSERT INTO t (cols) VALUES (row)`.
pub(crate) fn insert(table: &str, cols: &[TargetColumn], row: &[Value]) -> RepairStatement {
    let mut warn = 0;
    let values: Vec<String> = cols
        .iter()
        .zip(row)
        .map(|(c, v)| {
            let (lit, e) = literal(v, c);
            warn += u32::from(e);
            lit
        })
        .collect();
    RepairStatement {
        sql: format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            cols.iter()
                .map(|c| c.quoted.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            values.join(", ")
        ),
        expected_warnings: warn,
    }
}

/// `UPDATE t SET changed columns WHERE key`.
pub(crate) fn update(
    table: &str,
    cols: &[TargetColumn],
    key: &[usize],
    row: &[Value],
    changed: &[usize],
) -> RepairStatement {
    let mut warn = 0;
    let sets: Vec<String> = changed
        .iter()
        .filter_map(|&i| {
            let (lit, e) = literal(row.get(i)?, cols.get(i)?);
            warn += u32::from(e);
            Some(format!("{} = {lit}", cols.get(i)?.quoted))
        })
        .collect();
    let (kc, kv): (Vec<&TargetColumn>, Vec<&Value>) = key
        .iter()
        .filter_map(|&i| Some((cols.get(i)?, row.get(i)?)))
        .unzip();
    // The key's own literals write nothing, so they are not counted.
    let (cond, _) = key_condition(&kc, &kv);
    RepairStatement {
        sql: format!("UPDATE {table} SET {} WHERE {cond}", sets.join(", ")),
        expected_warnings: warn,
    }
}

/// `DELETE FROM t WHERE key`.
pub(crate) fn delete(
    table: &str,
    cols: &[TargetColumn],
    key: &[usize],
    row: &[Value],
) -> RepairStatement {
    let (kc, kv): (Vec<&TargetColumn>, Vec<&Value>) = key
        .iter()
        .filter_map(|&i| Some((cols.get(i)?, row.get(i)?)))
        .unzip();
    let (cond, _) = key_condition(&kc, &kv);
    RepairStatement {
        sql: format!("DELETE FROM {table} WHERE {cond}"),
        expected_warnings: 0,
    }
}

/// `DELETE FROM t WHERE filter AND digest = d LIMIT n` (multiset tables).
pub(crate) fn delete_by_digest(
    table: &str,
    filter: Option<&str>,
    digest_expr: &str,
    digest: &[u8],
    n: u64,
) -> RepairStatement {
    let mut sql = format!("DELETE FROM {table} WHERE ");
    if let Some(f) = filter {
        let _ = write!(sql, "{f} AND ");
    }
    let _ = write!(sql, "{digest_expr} = ");
    hex_literal(&mut sql, digest);
    let _ = write!(sql, " LIMIT {n}");
    RepairStatement {
        sql,
        expected_warnings: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(t: &str, cs: Option<&str>) -> TargetColumn {
        TargetColumn {
            quoted: "`c`".into(),
            meta: ColumnMeta {
                name: "c".into(),
                data_type: t.into(),
                fsp: 0,
                generated: false,
                nullable: true,
                unsigned: false,
                binary_length: 0,
                collation: None,
                numeric_scale: 0,
            },
            charset: cs.map(str::to_string),
        }
    }

    #[test]
    fn literals_read_back_exactly() {
        let l = |v: Value, c: TargetColumn| literal(&v, &c).0;
        assert_eq!(l(Value::NULL, col("int", None)), "NULL");
        assert_eq!(l(Value::Int(-5), col("int", None)), "-5");
        assert_eq!(l(Value::Int(0), col("year", None)), "'0000'");
        assert_eq!(l(Value::Double(0.1), col("double", None)), "1e-1");
        assert_eq!(
            l(Value::Float(0.1), col("float", None)),
            "1.0000000149011612e-1"
        );
        assert_eq!(
            l(Value::Bytes(b"-1.50".to_vec()), col("decimal", None)),
            "-1.50"
        );
        assert_eq!(
            l(
                Value::Bytes(b"a'b".to_vec()),
                col("varchar", Some("utf8mb4"))
            ),
            "_utf8mb4 X'612762'"
        );
        assert_eq!(l(Value::Bytes(vec![]), col("blob", None)), "_binary X''");
        assert_eq!(l(Value::Bytes(vec![2, 1]), col("bit", None)), "X'0201'");
        assert_eq!(
            l(Value::Date(2020, 1, 2, 3, 4, 5, 6), col("datetime", None)),
            "'2020-01-02 03:04:05.000006'"
        );
        assert_eq!(
            l(Value::Time(true, 1, 2, 3, 4, 0), col("time", None)),
            "'-26:03:04.000000'"
        );
        // A charset name that is not a plain word is never spliced in.
        assert_eq!(
            l(Value::Bytes(b"x".to_vec()), col("varchar", Some("x' OR 1"))),
            "_binary X'78'"
        );
        assert!(literal(&Value::Bytes(vec![]), &col("enum", Some("utf8mb4"))).1);
    }
}
