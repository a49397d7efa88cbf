//! Binlog row values as SQL literals, byte-exact.
//!
//! The apply session runs with `time_zone = '+00:00'` and a non-strict
//! `sql_mode` whose warnings are all checked (see `apply::batch`), so that:
//! - integers, DECIMAL (exact text), YEAR, BIT, ENUM indexes and SET masks
//!   are written as unquoted numbers (an ENUM's index 0 is its empty error
//!   value, a YEAR's 0 is 0000);
//! - FLOAT and DOUBLE are written in exponent form, which the server reads as
//!   a DOUBLE with correct rounding: the shortest form that reads back to the
//!   same bits (a FLOAT through its exact double);
//! - strings, blobs and GEOMETRY (SRID then WKB, the servers' internal form)
//!   are hex literals, so no byte is transcoded or escaped;
//! - temporal values are quoted text with all six fractional digits, and a
//!   TIMESTAMP is its UTC time (the session's time zone).

use std::fmt::Write as _;

use binlog_reader::Value;

use crate::base::meta::ColumnMeta;

/// Why a value cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unwritable(pub(crate) String);

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn hex(out: &mut String, b: &[u8]) {
    out.reserve(b.len() * 2 + 3);
    out.push_str("X'");
    for x in b {
        out.push(HEX[usize::from(x >> 4)] as char);
        out.push(HEX[usize::from(x & 15)] as char);
    }
    out.push('\'');
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

fn frac(out: &mut String, micros: u32, fsp: u8) {
    if fsp > 0 || micros > 0 {
        let _ = write!(out, ".{micros:06}");
    }
}

/// Appends `v`, a value of column `col`, as a literal.
pub(crate) fn literal(out: &mut String, v: &Value, col: &ColumnMeta) -> Result<(), Unwritable> {
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
                let bits = u32::from(*bytes) * 8;
                let shift = 64u32.saturating_sub(bits);
                let signed = if shift == 0 || shift >= 64 {
                    *raw as i64
                } else {
                    ((*raw << shift) as i64) >> shift
                };
                let _ = write!(out, "{signed}");
            }
        }
        Value::Float(f) => float(out, f64::from(*f)),
        Value::Double(d) => float(out, *d),
        Value::Decimal(s) => {
            if !s.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'.') {
                return Err(Unwritable(format!("a DECIMAL that is not a number: {s:?}")));
            }
            out.push_str(s);
        }
        Value::Year(y) => {
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
            frac(out, *micros, *fsp);
            out.push('\'');
        }
        Value::Timestamp {
            seconds,
            micros,
            fsp,
        } => {
            if *seconds == 0 && *micros == 0 {
                out.push_str("'0000-00-00 00:00:00");
            } else {
                let s = i64::from(*seconds);
                let (y, mo, d) = civil(s.div_euclid(86_400));
                let r = s.rem_euclid(86_400);
                let _ = write!(
                    out,
                    "'{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
                    r / 3600,
                    r % 3600 / 60,
                    r % 60
                );
            }
            frac(out, *micros, *fsp);
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
            frac(out, *micros, *fsp);
            out.push('\'');
        }
        Value::Bit { value, .. } => {
            let _ = write!(out, "{value}");
        }
        Value::Enum(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Set(m) => {
            let _ = write!(out, "{m}");
        }
        Value::Bytes(b) => {
            let want = usize::try_from(col.binary_length).unwrap_or(0);
            if b.len() < want {
                // BINARY(n): the binlog leaves out the trailing zero bytes
                // the server pads the value with; put them back so that the
                // literal compares equal to the stored value.
                let mut p = b.clone();
                p.resize(want, 0);
                hex(out, &p);
            } else {
                hex(out, b);
            }
        }
        Value::Json(s) => {
            out.push_str("_utf8mb4 ");
            hex(out, s.as_bytes());
        }
        Value::Geometry { srid, wkb } => {
            let mut b = Vec::with_capacity(wkb.len() + 4);
            b.extend_from_slice(&srid.to_le_bytes());
            b.extend_from_slice(wkb);
            hex(out, &b);
        }
        Value::JsonDiffs(_) => {
            return Err(Unwritable(format!(
                "column `{}` carries a partial JSON update (binlog_row_value_options=PARTIAL_JSON); \
                 set binlog_row_value_options='' on the source so that whole JSON values are logged",
                col.name
            )))
        }
        #[allow(unreachable_patterns)]
        other => {
            return Err(Unwritable(format!(
                "column `{}`: a value of a kind this version cannot write: {other:?}",
                col.name
            )))
        }
    }
    Ok(())
}

fn float(out: &mut String, d: f64) {
    // `{:e}` is the shortest exponent form that reads back to the same bits;
    // the exponent makes the server read it as a DOUBLE, not a DECIMAL.
    let _ = write!(out, "{d:e}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(unsigned: bool) -> ColumnMeta {
        ColumnMeta {
            name: "c".into(),
            data_type: "int".into(),
            fsp: 0,
            generated: false,
            nullable: true,
            unsigned,
            binary_length: 0,
            collation: None,
            numeric_scale: 0,
        }
    }

    fn lit(v: Value, unsigned: bool) -> String {
        let mut s = String::new();
        literal(&mut s, &v, &col(unsigned)).unwrap();
        s
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(24_855), (2038, 1, 19));
        assert_eq!(civil(-1), (1969, 12, 31));
        assert_eq!(civil(11_016), (2000, 2, 29));
    }

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
}
