//! The servers' side of the comparison: an exact, unambiguous text encoding
//! of a row that each server computes itself, and the chunk hash over it.
//!
//! **Encoding.** `CONCAT_WS('#', flags, scalars..., LENGTH(b1), b1, ...,
//! bn)`, built per server from that server's column types:
//! - `flags` is one `ISNULL()` digit per nullable column, so `NULL` differs
//!   from `''` and from a missing value (`CONCAT_WS` skips `NULL`s);
//! - scalars (integers, `DECIMAL`, temporal types) print exactly and never
//!   contain `#`. `TIMESTAMP` prints in the session's time zone, which is
//!   `+00:00` on both sides. `FLOAT` and `DOUBLE` go through `CAST(c AS
//!   DOUBLE)`: the server prints a `FLOAT` column with six digits (two floats
//!   a last bit apart print alike) but a `DOUBLE` value in the shortest form
//!   that reads back to the same bits, and a float widens to a double exactly.
//!   (MariaDB stores `-0.0` as `0`, so the sign of zero cannot differ.)
//! - byte-like columns (strings, `BINARY`, `BLOB`, `ENUM`, `SET`, `BIT`,
//!   `JSON`, which MariaDB keeps as text, geometry, and any type not known
//!   here) come last, each after its length in bytes except the last one,
//!   so no content can shift a field boundary. Their bytes are passed through
//!   untranscoded: when a table's string columns use one character set the
//!   concatenation is in that set and converts nothing (numbers and dates are
//!   ASCII); when they mix sets, each is cast to `BINARY` (slower, so only
//!   then). So `'a'` and `'A'` under a `_ci` collation, trailing spaces and
//!   JSON key order all change the encoding.
//!
//! **Chunk hash.** `COUNT(*)` and `SUM(CRC32(row) * K MOD P)` over the chunk,
//! with `P` = 2^32 + 15 (prime) and `K` odd: a bijection of the 32-bit CRC, so
//! that the sum is not linear in the rows' bits the way CRC32 is. Two rows
//! damaged with the same bit pattern at the same offset change CRC32 by the
//! same XOR mask and would cancel out under `BIT_XOR` (pt-table-checksum's
//! aggregate); through the bijection they cancel only by chance (about 2^-32
//! per differing chunk). This costs one CRC per row, as `CHECKSUM TABLE` does;
//! MD5 per row measured 4x slower on MariaDB 10.11. The hash only picks the
//! chunks to look at: the rows of a differing chunk are compared exactly,
//! value by value, by the client (see `rows.rs`), so a hash that differs for
//! an encoding reason (two server versions printing a value differently)
//! costs time, never a false report.

use std::fmt::Write as _;

use crate::meta::ColumnMeta;

/// `K` of the chunk hash.
const MULTIPLIER: u64 = 2_654_435_761;
/// `P` of the chunk hash: the smallest prime above 2^32.
const MODULUS: u64 = 4_294_967_311;

/// One compared column as one server has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HashColumn {
    /// The quoted name.
    pub(crate) quoted: String,
    /// Its type and nullability.
    pub(crate) meta: ColumnMeta,
    /// Its character set (`None` for binary and non-string types).
    pub(crate) charset: Option<String>,
}

/// Whether a type prints as plain ASCII without `#` and exactly.
fn is_scalar(data_type: &str) -> bool {
    matches!(
        data_type,
        "tinyint"
            | "smallint"
            | "mediumint"
            | "int"
            | "integer"
            | "bigint"
            | "decimal"
            | "numeric"
            | "float"
            | "double"
            | "real"
            | "date"
            | "datetime"
            | "timestamp"
            | "time"
            | "year"
    )
}

fn is_float(data_type: &str) -> bool {
    matches!(data_type, "float" | "double" | "real")
}

/// The exact encoding of a row (see the module documentation).
pub(crate) fn row_expr(columns: &[HashColumn]) -> String {
    let mut sets: Vec<&str> = columns
        .iter()
        .filter_map(|c| c.charset.as_deref())
        .filter(|s| !s.eq_ignore_ascii_case("binary"))
        .collect();
    sets.sort_unstable();
    sets.dedup();
    let cast = sets.len() > 1;
    let mut parts: Vec<String> = Vec::new();
    let flags: Vec<String> = columns
        .iter()
        .filter(|c| c.meta.nullable)
        .map(|c| format!("ISNULL({})", c.quoted))
        .collect();
    match flags.len() {
        0 => {}
        1 => parts.extend(flags),
        _ => parts.push(format!("CONCAT({})", flags.join(", "))),
    }
    for c in columns.iter().filter(|c| is_scalar(&c.meta.data_type)) {
        if is_float(&c.meta.data_type) {
            parts.push(format!("CAST({} AS DOUBLE)", c.quoted));
        } else {
            parts.push(c.quoted.clone());
        }
    }
    let bytes: Vec<&HashColumn> = columns
        .iter()
        .filter(|c| !is_scalar(&c.meta.data_type))
        .collect();
    for (n, c) in bytes.iter().enumerate() {
        if n + 1 < bytes.len() {
            parts.push(format!("LENGTH({})", c.quoted));
        }
        if cast && c.charset.is_some() {
            parts.push(format!("CAST({} AS BINARY)", c.quoted));
        } else {
            parts.push(c.quoted.clone());
        }
    }
    if parts.is_empty() {
        // No columns at all: every row encodes alike.
        return "''".into();
    }
    let mut s = String::from("CONCAT_WS('#'");
    for p in parts {
        let _ = write!(s, ", {p}");
    }
    s.push(')');
    s
}

/// `SELECT COUNT(*), SUM(...)` over `table` with the `WHERE` clause `cond`
/// (empty or starting with ` WHERE`).
pub(crate) fn chunk_hash_sql(table: &str, expr: &str, cond: &str) -> String {
    format!(
        "SELECT COUNT(*), CAST(COALESCE(SUM(CRC32({expr}) * {MULTIPLIER} MOD {MODULUS}), 0) \
         AS CHAR) FROM {table}{cond}"
    )
}

/// A strong per-row hash (MD5 of the encoding) as 16 bytes, for comparing
/// tables without a key as multisets of rows.
pub(crate) fn row_digest(expr: &str) -> String {
    format!("UNHEX(MD5({expr}))")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, t: &str, nullable: bool, cs: Option<&str>) -> HashColumn {
        HashColumn {
            quoted: format!("`{name}`"),
            meta: ColumnMeta {
                name: name.into(),
                data_type: t.into(),
                fsp: 0,
                generated: false,
                nullable,
            },
            charset: cs.map(str::to_string),
        }
    }

    #[test]
    fn encoding_puts_flags_first_scalars_then_lengths_before_bytes() {
        let e = row_expr(&[
            col("s", "varchar", true, Some("utf8mb4")),
            col("id", "int", false, None),
            col("f", "float", true, None),
            col("b", "blob", false, None),
        ]);
        assert_eq!(
            e,
            "CONCAT_WS('#', CONCAT(ISNULL(`s`), ISNULL(`f`)), `id`, CAST(`f` AS DOUBLE), \
             LENGTH(`s`), `s`, `b`)"
        );
    }

    #[test]
    fn mixed_character_sets_are_compared_as_bytes() {
        let e = row_expr(&[
            col("a", "varchar", false, Some("latin1")),
            col("b", "varchar", false, Some("utf8mb4")),
            col("c", "varbinary", false, None),
        ]);
        assert_eq!(
            e,
            "CONCAT_WS('#', LENGTH(`a`), CAST(`a` AS BINARY), LENGTH(`b`), CAST(`b` AS BINARY), \
             `c`)"
        );
        assert_eq!(row_expr(&[]), "''");
    }
}
