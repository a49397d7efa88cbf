//! The servers' side of the comparison: an exact, unambiguous text encoding
//! of a row that each server computes itself, and the chunk hash over it.
//!
//! **Encoding.** `CONCAT_WS(sep, flags, scalars..., u1, ..., un, LENGTH(b1),
//! b1, ..., bm)` with `sep` = `CAST(X'FF' AS BINARY)`, built per server from
//! that server's column types:
//! - the separator is a binary string (implicit derivation), so the result
//!   is binary and no column is transcoded, whatever character sets the
//!   columns mix: every string passes as its stored bytes;
//! - `flags` is one `ISNULL()` digit per nullable column, so `NULL` differs
//!   from `''` and from a missing value (`CONCAT_WS` skips `NULL`s);
//! - scalars (integers, `DECIMAL`, temporal types) print exactly, in ASCII.
//!   `TIMESTAMP` prints in the session's time zone, which is `+00:00` on both
//!   sides. `FLOAT` and `DOUBLE` go through `CAST(c AS DOUBLE)`: the server
//!   prints a `FLOAT` column with six digits (two floats a last bit apart
//!   print alike) but a `DOUBLE` value in the shortest form that reads back
//!   to the same bits, and a float widens to a double exactly. (MariaDB
//!   stores `-0.0` as `0`, so the sign of zero cannot differ.)
//! - `u1..un` are text columns in UTF-8 (`utf8mb3`, `utf8mb4`, also `ENUM`,
//!   `SET` and MariaDB's `JSON` in those sets) or ASCII: the server stores
//!   only well-formed text there (an invalid byte becomes `?` on the way
//!   in), and the byte 0xFF never occurs in UTF-8, so the separator cannot
//!   occur inside them;
//! - `b1..bm` are the columns whose bytes may include 0xFF (binary strings,
//!   `BLOB`, `BIT`, geometry, other character sets, and any type not known
//!   here): each after its length in bytes, except the last field, so no
//!   content can shift a field boundary.
//!
//! So `'a'` and `'A'` under a `_ci` collation, trailing spaces and JSON key
//! order all change the encoding.
//!
//! **Chunk hash.** `COUNT(*)` and an aggregate of `CRC32(row) * K MOD P`,
//! with `P` = 2^32 + 15 (prime) and `K` odd: a bijection of the 32-bit CRC,
//! so that the aggregate is not linear in the rows' bits the way CRC32 is.
//! Two rows damaged with the same bit pattern at the same offset change CRC32
//! by the same XOR mask and cancel out under a plain `BIT_XOR` of CRC32s
//! (pt-table-checksum's aggregate); through the bijection they cancel only by
//! chance (about 2^-32 per differing range). Keyed ranges use `BIT_XOR`
//! (cheapest; their rows are distinct); multisets use `SUM`, so that a
//! duplicated row does not cancel itself out. This costs one CRC per row,
//! as `CHECKSUM TABLE` does; MD5 per row measured 4x slower on MariaDB 10.11,
//! and a length before every text column 25% slower. The hash only picks the
//! ranges to look at: the rows of a differing range are compared exactly,
//! value by value, by the client (see `rows.rs`), so a hash that differs for
//! an encoding reason (two server versions printing a value differently)
//! costs time, never a false report.

use std::fmt::Write as _;

use bulk_copy::base::meta::ColumnMeta;

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

/// Character sets whose stored text never contains the byte 0xFF.
fn separator_free(charset: Option<&str>) -> bool {
    matches!(
        charset.map(str::to_ascii_lowercase).as_deref(),
        Some("utf8" | "utf8mb3" | "utf8mb4" | "ascii")
    )
}

/// The separator: a byte no scalar and no UTF-8 text contains, as a binary
/// string so that nothing is transcoded.
const SEPARATOR: &str = "CAST(X'FF' AS BINARY)";

/// The exact encoding of a row (see the module documentation).
pub(crate) fn row_expr(columns: &[HashColumn]) -> String {
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
    let (text, raw): (Vec<&HashColumn>, Vec<&HashColumn>) = columns
        .iter()
        .filter(|c| !is_scalar(&c.meta.data_type))
        .partition(|c| separator_free(c.charset.as_deref()));
    for c in text {
        parts.push(c.quoted.clone());
    }
    for (n, c) in raw.iter().enumerate() {
        if n + 1 < raw.len() {
            parts.push(format!("LENGTH({})", c.quoted));
        }
        parts.push(c.quoted.clone());
    }
    if parts.is_empty() {
        // No columns at all: every row encodes alike.
        return "''".into();
    }
    let mut s = format!("CONCAT_WS({SEPARATOR}");
    for p in parts {
        let _ = write!(s, ", {p}");
    }
    s.push(')');
    s
}

/// How a chunk's row hashes are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Aggregate {
    /// `BIT_XOR`: rows with a key are distinct.
    Xor,
    /// `SUM`: a multiset's duplicates must not cancel out.
    Sum,
}

/// `SELECT COUNT(*), aggregate` over `table` with the `WHERE` clause `cond`
/// (empty or starting with ` WHERE`).
pub(crate) fn chunk_hash_sql(table: &str, expr: &str, cond: &str, agg: Aggregate) -> String {
    let f = format!("CRC32({expr}) * {MULTIPLIER} MOD {MODULUS}");
    let a = match agg {
        Aggregate::Xor => format!("BIT_XOR({f})"),
        Aggregate::Sum => format!("COALESCE(SUM({f}), 0)"),
    };
    format!("SELECT COUNT(*), CAST({a} AS CHAR) FROM {table}{cond}")
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
                unsigned: false,
                binary_length: 0,
                collation: None,
                numeric_scale: 0,
            },
            charset: cs.map(str::to_string),
        }
    }

    #[test]
    fn encoding_puts_flags_first_then_scalars_text_and_lengths_before_raw_bytes() {
        let e = row_expr(&[
            col("s", "varchar", true, Some("utf8mb4")),
            col("id", "int", false, None),
            col("f", "float", true, None),
            col("l", "varchar", false, Some("latin1")),
            col("b", "blob", false, None),
            col("j", "longtext", false, Some("utf8mb4")),
        ]);
        assert_eq!(
            e,
            "CONCAT_WS(CAST(X'FF' AS BINARY), CONCAT(ISNULL(`s`), ISNULL(`f`)), `id`, \
             CAST(`f` AS DOUBLE), `s`, `j`, LENGTH(`l`), `l`, `b`)"
        );
        assert_eq!(row_expr(&[]), "''");
        assert!(chunk_hash_sql("t", "x", "", Aggregate::Xor).contains("BIT_XOR(CRC32(x)"));
        assert!(chunk_hash_sql("t", "x", "", Aggregate::Sum).contains("SUM(CRC32(x)"));
    }
}
