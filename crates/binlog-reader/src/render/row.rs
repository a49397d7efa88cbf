//! Binlog row values: SQL literals and the text of `dts binlog dump`.

use std::fmt::Write as _;

use super::{hex_literal, string_literal, utc_datetime, Literal, RenderError, SqlColumn};
use crate::types::{frac, hex};
use crate::{ColumnInfo, Value};

/// An integer of `bytes` bytes whose raw bits are `raw`, read as signed.
fn sign_extend(raw: u64, bytes: u8) -> i64 {
    let bits = u32::from(bytes).saturating_mul(8);
    match 64u32.checked_sub(bits) {
        Some(shift) if shift > 0 && shift < 64 => ((raw << shift) as i64) >> shift,
        _ => raw as i64,
    }
}

/// Appends `.micros` with six digits when the column has a fraction or the
/// value one (a value with more precision than its column says so).
fn literal_frac(out: &mut String, micros: u32, fsp: u8) {
    if fsp > 0 || micros > 0 {
        let _ = write!(out, ".{micros:06}");
    }
}

/// Appends `v`, a binlog value of column `col`, as an SQL literal that the
/// server stores as exactly the same value (see the [module](super)
/// documentation for the session it needs).
///
/// Strings and blobs are hex literals with `col`'s introducer, padded to
/// its [`binary_length`](SqlColumn::binary_length); JSON is
/// `_utf8mb4 X'..'`; GEOMETRY is the SRID (4 bytes, little-endian) then
/// the WKB, as the servers store it; BIT, ENUM and SET are their numbers.
///
/// # Errors
///
/// [`RenderError::PartialJson`] for a partial JSON update, which is not a
/// value; [`RenderError::DecimalNotANumber`] for a DECIMAL whose text is not
/// a number. Nothing is appended then.
pub fn literal(out: &mut String, v: &Value, col: &SqlColumn<'_>) -> Result<Literal, RenderError> {
    match v {
        Value::Null => out.push_str("NULL"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        Value::IntUnknownSign { raw, bytes } => {
            if col.unsigned {
                let _ = write!(out, "{raw}");
            } else {
                let _ = write!(out, "{}", sign_extend(*raw, *bytes));
            }
        }
        Value::Float(f) => float(out, f64::from(*f)),
        Value::Double(d) => float(out, *d),
        Value::Decimal(s) => {
            if !s
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'-' || b == b'.')
            {
                return Err(RenderError::DecimalNotANumber { text: s.clone() });
            }
            out.push_str(s);
        }
        Value::Year(y) => {
            // A YEAR's 0 as a number is 0000 (as a string it would be 2000).
            let _ = write!(out, "{y}");
        }
        Value::Date { year, month, day } => {
            let _ = write!(out, "'{year:04}-{month:02}-{day:02}'");
        }
        Value::DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            micros,
            fsp,
        } => {
            let _ = write!(
                out,
                "'{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}"
            );
            literal_frac(out, *micros, *fsp);
            out.push('\'');
        }
        Value::Timestamp {
            seconds,
            micros,
            fsp,
        } => {
            out.push('\'');
            if *seconds == 0 && *micros == 0 {
                // The zero timestamp, not 1970-01-01 00:00:00 (which is not
                // a TIMESTAMP value at all).
                out.push_str("0000-00-00 00:00:00");
            } else {
                out.push_str(&utc_datetime(*seconds));
            }
            literal_frac(out, *micros, *fsp);
            out.push('\'');
        }
        Value::Time {
            negative,
            hours,
            minutes,
            seconds,
            micros,
            fsp,
        } => {
            let sign = if *negative { "-" } else { "" };
            let _ = write!(out, "'{sign}{hours:02}:{minutes:02}:{seconds:02}");
            literal_frac(out, *micros, *fsp);
            out.push('\'');
        }
        Value::Bit { value, .. } => {
            let _ = write!(out, "{value}");
        }
        Value::Enum(i) => {
            let _ = write!(out, "{i}");
            if *i == 0 {
                return Ok(Literal::EnumEmpty);
            }
        }
        Value::Set(m) => {
            let _ = write!(out, "{m}");
        }
        Value::Bytes(b) => {
            if b.len() < col.binary_length {
                // BINARY(n): put back the trailing zero bytes the binlog
                // leaves out, so that the literal compares equal to the
                // stored value.
                let mut padded = b.clone();
                padded.resize(col.binary_length, 0);
                string_literal(out, &padded, col);
            } else {
                string_literal(out, b, col);
            }
        }
        Value::Json(s) => {
            out.push_str("_utf8mb4 ");
            hex_literal(out, s.as_bytes());
        }
        Value::Geometry { srid, wkb } => {
            let mut b = Vec::with_capacity(wkb.len().saturating_add(4));
            b.extend_from_slice(&srid.to_le_bytes());
            b.extend_from_slice(wkb);
            hex_literal(out, &b);
        }
        Value::JsonDiffs(_) => {
            return Err(RenderError::PartialJson {
                column: col.name.to_string(),
            })
        }
    }
    Ok(Literal::Exact)
}

/// Appends a FLOAT or DOUBLE (a FLOAT through the double it widens to
/// exactly). `{:e}` is the shortest exponent form that reads back to the
/// same bits; the exponent makes the server read it as a DOUBLE, not as a
/// DECIMAL.
fn float(out: &mut String, d: f64) {
    let _ = write!(out, "{d:e}");
}

/// A string as `dts binlog dump` shows it: quoted text with `\` and `'`
/// escaped when it is UTF-8, otherwise `x'..'` (lowercase hex).
fn quoted(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Err(_) => format!("x'{}'", hex(b)),
    }
}

/// A binlog value as `dts binlog dump` prints it (like `mariadb-binlog
/// --verbose`): the whole value, never cut, in SQL-like text a person reads.
///
/// With the column's description (`col`), an ENUM or SET shows its member
/// names instead of its number. An integer whose signedness the binlog did
/// not carry shows as signed, with its unsigned reading beside it when they
/// differ (`-1 (255)`); a FLOAT or DOUBLE in its shortest form that reads
/// back to the same bits; a TIMESTAMP as its UTC time with its epoch
/// seconds (`'2038-01-19 03:14:07' /* UTC, epoch 2147483647 */`); BIT as
/// `b'..'` of the column's width; GEOMETRY as `ST_GeomFromWKB(x'..', srid)`.
pub fn text(v: &Value, col: Option<&ColumnInfo>) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::IntUnknownSign { raw, bytes } => {
            let signed = sign_extend(*raw, *bytes);
            if signed < 0 {
                format!("{signed} ({raw})")
            } else {
                signed.to_string()
            }
        }
        Value::Float(f) => format!("{f:?}"),
        Value::Double(d) => format!("{d:?}"),
        Value::Decimal(s) => s.clone(),
        Value::Year(y) => y.to_string(),
        Value::Date { year, month, day } => format!("'{year:04}-{month:02}-{day:02}'"),
        Value::DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            micros,
            fsp,
        } => format!(
            "'{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}{}'",
            frac(*micros, *fsp)
        ),
        Value::Timestamp {
            seconds,
            micros,
            fsp,
        } => format!(
            "'{}{}' /* UTC, epoch {seconds} */",
            utc_datetime(*seconds),
            frac(*micros, *fsp)
        ),
        Value::Time {
            negative,
            hours,
            minutes,
            seconds,
            micros,
            fsp,
        } => format!(
            "'{}{hours:02}:{minutes:02}:{seconds:02}{}'",
            if *negative { "-" } else { "" },
            frac(*micros, *fsp)
        ),
        Value::Bit { value, width } => format!("b'{value:0w$b}'", w = usize::from(*width)),
        Value::Enum(i) => {
            let name = col
                .and_then(|c| c.enum_values.as_ref())
                .and_then(|names| names.get(usize::from(*i).checked_sub(1)?));
            match name {
                Some(n) => quoted(n),
                None => i.to_string(),
            }
        }
        Value::Set(m) => match col.and_then(|c| c.set_values.as_ref()) {
            Some(names) => {
                let parts: Vec<&[u8]> = names
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i < 64 && m >> i & 1 == 1)
                    .map(|(_, n)| n.as_slice())
                    .collect();
                quoted(&parts.join(&b","[..]))
            }
            None => m.to_string(),
        },
        Value::Bytes(b) => quoted(b),
        Value::Json(t) => quoted(t.as_bytes()),
        Value::JsonDiffs(d) => serde_json::to_value(d)
            .map(|j| j.to_string())
            .unwrap_or_default(),
        Value::Geometry { srid, wkb } => format!("ST_GeomFromWKB(x'{}', {srid})", hex(wkb)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(v: Value, unsigned: bool) -> String {
        let mut s = String::new();
        let _ = literal(&mut s, &v, &SqlColumn::new("c").unsigned(unsigned)).unwrap();
        s
    }

    // The apply's literals (moved here from bulk-copy's `apply::literal`).
    #[test]
    fn values() {
        assert_eq!(lit(Value::Bytes(vec![0, 0x27, 0x5c]), false), "X'00275C'");
        assert_eq!(
            lit(Value::IntUnknownSign { raw: 255, bytes: 1 }, false),
            "-1"
        );
        assert_eq!(
            lit(Value::IntUnknownSign { raw: 255, bytes: 1 }, true),
            "255"
        );
        assert_eq!(
            lit(
                Value::IntUnknownSign {
                    raw: u64::MAX,
                    bytes: 8
                },
                false
            ),
            "-1"
        );
        assert_eq!(lit(Value::Double(0.1), false), "1e-1");
        assert_eq!(lit(Value::Double(-0.0), false), "-0e0");
        assert_eq!(
            lit(
                Value::Timestamp {
                    seconds: 2_147_483_647,
                    micros: 0,
                    fsp: 0
                },
                false
            ),
            "'2038-01-19 03:14:07'"
        );
        assert_eq!(
            lit(
                Value::Time {
                    negative: true,
                    hours: 0,
                    minutes: 0,
                    seconds: 0,
                    micros: 10_000,
                    fsp: 2
                },
                false
            ),
            "'-00:00:00.010000'"
        );
        assert_eq!(lit(Value::Year(0), false), "0");
    }

    #[test]
    fn sign_extension_of_every_width() {
        assert_eq!(sign_extend(0x80, 1), -128);
        assert_eq!(sign_extend(0x7f, 1), 127);
        assert_eq!(sign_extend(0x8000, 2), -32768);
        assert_eq!(sign_extend(0x80_0000, 3), -8_388_608);
        assert_eq!(sign_extend(0xffff_ffff, 4), -1);
        assert_eq!(sign_extend(1 << 63, 8), i64::MIN);
        // Widths the decoder never gives do not panic.
        assert_eq!(sign_extend(5, 0), 5);
        assert_eq!(sign_extend(5, 200), 5);
    }

    #[test]
    fn errors_append_nothing() {
        let mut s = String::new();
        let col = SqlColumn::new("j");
        assert_eq!(
            literal(&mut s, &Value::JsonDiffs(Vec::new()), &col),
            Err(RenderError::PartialJson { column: "j".into() })
        );
        assert_eq!(
            literal(&mut s, &Value::Decimal("1; DROP".into()), &col),
            Err(RenderError::DecimalNotANumber {
                text: "1; DROP".into()
            })
        );
        assert_eq!(s, "");
    }

    #[test]
    fn enum_index_zero_is_reported() {
        let mut s = String::new();
        let col = SqlColumn::new("e");
        assert_eq!(
            literal(&mut s, &Value::Enum(0), &col),
            Ok(Literal::EnumEmpty)
        );
        assert_eq!(literal(&mut s, &Value::Enum(2), &col), Ok(Literal::Exact));
        assert_eq!(s, "02");
    }
}
