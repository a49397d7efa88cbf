//! Values read through the binary protocol ([`mysql_async::Value`]): SQL
//! literals, report text and JSON.
//!
//! The binary protocol returns FLOAT and DOUBLE as their bits, temporal
//! values as fields and strings, blobs, DECIMAL, BIT, ENUM, SET, JSON and
//! GEOMETRY as their bytes, untranscoded: the column's type says which.

use std::fmt::Write as _;

use mysql_async::Value;

use super::{hex_literal, string_literal, Literal, SqlColumn};
use crate::types::hex;

/// Types whose binary-protocol bytes are the number's exact text.
const NUMERIC: &[&str] = &[
    "decimal",
    "numeric",
    "tinyint",
    "smallint",
    "mediumint",
    "int",
    "integer",
    "bigint",
    "float",
    "double",
    "real",
];

/// Appends `v`, read through the binary protocol from a column like `col`,
/// as an SQL literal that the server stores as exactly the same value (see
/// the [module](super) documentation for the session it needs).
///
/// `col`'s [`data_type`](SqlColumn::data_type) decides what bytes are: the
/// exact text of a number column (DECIMAL), a hex number for BIT, otherwise
/// a string with `col`'s [`charset`](SqlColumn::charset) introducer. A
/// YEAR is four quoted digits (so 0 stays 0000); a temporal value has all
/// six fractional digits (the protocol does not say the column's
/// precision); a TIME's days are hours.
pub fn protocol_literal(out: &mut String, v: &Value, col: &SqlColumn<'_>) -> Literal {
    match v {
        Value::NULL => out.push_str("NULL"),
        Value::Int(i) if col.is_type("year") => {
            let _ = write!(out, "'{i:04}'");
        }
        Value::UInt(u) if col.is_type("year") => {
            let _ = write!(out, "'{u:04}'");
        }
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        Value::Float(x) => {
            let _ = write!(out, "{:e}", f64::from(*x));
        }
        Value::Double(x) => {
            let _ = write!(out, "{x:e}");
        }
        Value::Date(y, mo, d, h, mi, s, us) => {
            let _ = write!(out, "'{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}'");
        }
        Value::Time(neg, d, h, mi, s, us) => {
            let hours = u64::from(*d) * 24 + u64::from(*h);
            let sign = if *neg { "-" } else { "" };
            let _ = write!(out, "'{sign}{hours:02}:{mi:02}:{s:02}.{us:06}'");
        }
        Value::Bytes(b) => {
            let numeric = NUMERIC.iter().any(|t| col.is_type(t));
            if numeric
                && !b.is_empty()
                && b.iter()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
            {
                // The exact decimal text (the binary protocol's DECIMAL);
                // every byte was checked to be part of a number.
                out.push_str(&String::from_utf8_lossy(b));
            } else if col.is_type("bit") {
                hex_literal(out, b);
            } else {
                string_literal(out, b, col);
                if b.is_empty() && col.is_type("enum") {
                    return Literal::EnumEmpty;
                }
            }
        }
    }
    Literal::Exact
}

/// A value for a person reading a report: text when it is UTF-8 (quoted as
/// Rust quotes strings, cut to 60 characters with the byte count beyond 200
/// characters), otherwise `0x..` (lowercase hex, cut after 100 bytes with
/// the byte count); numbers as numbers; FLOAT and DOUBLE with their bits
/// (`1.0000000149011612e-1[f32 0x3dcccccd]`); temporal values with six
/// fractional digits.
pub fn protocol_text(v: &Value) -> String {
    match v {
        Value::NULL => "NULL".into(),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(t) if t.chars().count() <= 200 => format!("{t:?}"),
            Ok(t) => {
                let cut: String = t.chars().take(60).collect();
                format!("{cut:?}...({} bytes)", b.len())
            }
            Err(_) => {
                let mut s = String::from("0x");
                s.push_str(&hex(b.get(..100).unwrap_or(b)));
                if b.len() > 100 {
                    let _ = write!(s, "...({} bytes)", b.len());
                }
                s
            }
        },
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(x) => format!("{:e}[f32 {:#010x}]", f64::from(*x), x.to_bits()),
        Value::Double(x) => format!("{x:e}[f64 {:#018x}]", x.to_bits()),
        Value::Date(y, mo, d, h, mi, s, us) => {
            format!("'{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}'")
        }
        Value::Time(neg, d, h, mi, s, us) => {
            let hours = u64::from(*d) * 24 + u64::from(*h);
            format!(
                "'{}{hours:02}:{mi:02}:{s:02}.{us:06}'",
                if *neg { "-" } else { "" }
            )
        }
    }
}

/// A value as JSON, for a report: NULL as `null`, integers as numbers,
/// UTF-8 bytes as a string (whole), other bytes as `{"hex": ".."}` (whole,
/// lowercase), anything else as its [`protocol_text`].
pub fn protocol_json(v: &Value) -> serde_json::Value {
    match v {
        Value::NULL => serde_json::Value::Null,
        Value::Int(i) => serde_json::json!(i),
        Value::UInt(u) => serde_json::json!(u),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => serde_json::json!(s),
            Err(_) => serde_json::json!({ "hex": hex(b) }),
        },
        other => serde_json::json!(protocol_text(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col<'a>(t: &'a str, cs: Option<&'a str>) -> SqlColumn<'a> {
        // What verification's repair passes: the target's type, and its
        // character set or `binary` for a column without one.
        SqlColumn::new("c")
            .data_type(t)
            .charset(Some(cs.unwrap_or("binary")))
    }

    fn literal(v: &Value, c: &SqlColumn<'_>) -> (String, bool) {
        let mut s = String::new();
        let e = protocol_literal(&mut s, v, c);
        (s, e == Literal::EnumEmpty)
    }

    // Verification's repair literals (moved here from bulk-copy's
    // `verify::repair`).
    #[test]
    fn literals_read_back_exactly() {
        let l = |v: Value, c: SqlColumn<'_>| literal(&v, &c).0;
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

    #[test]
    fn numbers_in_text_columns_stay_strings() {
        let l = |v: Value, c: SqlColumn<'_>| literal(&v, &c).0;
        assert_eq!(
            l(Value::Bytes(b"12".to_vec()), col("varchar", Some("latin1"))),
            "_latin1 X'3132'"
        );
        // Bytes of a number column that are not a number are a string.
        assert_eq!(
            l(Value::Bytes(b"1 OR 1".to_vec()), col("decimal", None)),
            "_binary X'31204F522031'"
        );
        assert_eq!(l(Value::Bytes(vec![]), col("decimal", None)), "_binary X''");
        // Type names compare without case.
        assert_eq!(l(Value::UInt(1901), col("YEAR", None)), "'1901'");
    }

    #[test]
    fn report_text() {
        assert_eq!(protocol_text(&Value::NULL), "NULL");
        assert_eq!(protocol_text(&Value::Int(-1)), "-1");
        assert_eq!(protocol_text(&Value::Bytes(b"a\"b".to_vec())), r#""a\"b""#);
        assert_eq!(
            protocol_text(&Value::Float(0.1)),
            "1.0000000149011612e-1[f32 0x3dcccccd]"
        );
        assert_eq!(
            protocol_text(&Value::Double(-0.0)),
            "-0e0[f64 0x8000000000000000]"
        );
        let long = "é".repeat(201);
        assert_eq!(
            protocol_text(&Value::Bytes(long.clone().into_bytes())),
            format!("{:?}...(402 bytes)", "é".repeat(60))
        );
        // 200 characters of 2 bytes each are shown whole.
        let two_hundred = "é".repeat(200);
        assert_eq!(
            protocol_text(&Value::Bytes(two_hundred.clone().into_bytes())),
            format!("{two_hundred:?}")
        );
        let mut bin = vec![0xff; 101];
        assert_eq!(
            protocol_text(&Value::Bytes(bin.clone())),
            format!("0x{}...(101 bytes)", "ff".repeat(100))
        );
        bin.truncate(2);
        assert_eq!(protocol_text(&Value::Bytes(bin)), "0xffff");
    }

    #[test]
    fn report_json() {
        assert_eq!(protocol_json(&Value::NULL), serde_json::Value::Null);
        assert_eq!(
            protocol_json(&Value::UInt(u64::MAX)),
            serde_json::json!(u64::MAX)
        );
        assert_eq!(
            protocol_json(&Value::Bytes(b"x".to_vec())),
            serde_json::json!("x")
        );
        assert_eq!(
            protocol_json(&Value::Bytes(vec![0xff, 0])),
            serde_json::json!({ "hex": "ff00" })
        );
        assert_eq!(
            protocol_json(&Value::Time(false, 10, 15, 0, 0, 0)),
            serde_json::json!("'255:00:00.000000'")
        );
    }
}
