//! Rows in the `LOAD DATA` text format, byte-exact.
//!
//! The format: fields separated by a tab, rows by a newline, `\` escapes
//! (`\\`, `\t`, `\n`, `\r`, `\0`, `\Z`), `\N` for NULL, and `CHARACTER SET
//! binary` so that no byte is transcoded. Values come from the binary
//! protocol, so nothing was rounded on the way in; on the way out:
//! - FLOAT and DOUBLE are written in the shortest decimal form that reads
//!   back to the same bits (a FLOAT through its exact double, which the
//!   server converts back exactly);
//! - temporal values with exactly the column's fractional digits;
//! - YEAR as four digits (`0` would read back as 2000);
//! - BIT as its unsigned integer (assigned through a user variable, as
//!   LOAD DATA cannot take a bit literal);
//! - in the watermark copy, ENUM and SET as their index and bitmask (read
//!   as `col + 0`, assigned through a user variable as numbers), so that a
//!   value from the binlog, which carries only the number, and a value read
//!   from the table are written alike and exactly (a member's text would be
//!   looked up by name, and `''` can be a member as well as the error
//!   value).
//!
//! [`from_binlog`] turns a binlog row value into the value the binary
//! protocol gives for the same column, so that rows reconciled from the
//! binlog go through the same encoder.

use std::fmt::Write as _;

use mysql_async::Value;

use crate::base::meta::ColumnMeta;

/// Whether a column is an ENUM or a SET.
pub(crate) fn is_member_type(col: &ColumnMeta) -> bool {
    matches!(col.data_type.as_str(), "enum" | "set")
}

/// How one column's values are written, decided once per table so that the
/// per-value path compares no type names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Codec {
    kind: Kind,
    /// Fractional digits of a temporal column.
    fsp: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Plain,
    Bit,
    Year,
    Date,
    /// An ENUM index or SET bitmask read as `col + 0`: a SET's 64th member
    /// makes that a negative BIGINT, written back as its unsigned bits.
    Members,
}

impl Codec {
    /// The codec of a column whose values are read as they are.
    #[cfg(test)]
    pub(crate) fn of(col: &ColumnMeta) -> Self {
        Codec::with_members(col, false)
    }

    /// The codec of a column, ENUM and SET values as numbers when
    /// `members_as_numbers` (the watermark copy).
    pub(crate) fn with_members(col: &ColumnMeta, members_as_numbers: bool) -> Self {
        let kind = match col.data_type.as_str() {
            "bit" => Kind::Bit,
            "year" => Kind::Year,
            "date" => Kind::Date,
            "enum" | "set" if members_as_numbers => Kind::Members,
            _ => Kind::Plain,
        };
        Codec { kind, fsp: col.fsp }
    }
}

/// Appends one field.
#[cfg(test)]
pub(crate) fn field(out: &mut Vec<u8>, v: &Value, col: &ColumnMeta) {
    encode(out, v, Codec::of(col));
}

/// Appends one field, its column's [`Codec`] given.
pub(crate) fn encode(out: &mut Vec<u8>, v: &Value, codec: Codec) {
    match v {
        Value::NULL => out.extend_from_slice(b"\\N"),
        Value::Bytes(b) if codec.kind == Kind::Bit => {
            let n = b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        }
        Value::Bytes(b) => escape(out, b),
        // YEAR as four digits: "0" and "00" read back as 2000, "0000" as 0.
        Value::Int(i) if codec.kind == Kind::Year => {
            out.extend_from_slice(format!("{i:04}").as_bytes())
        }
        Value::UInt(u) if codec.kind == Kind::Year => {
            out.extend_from_slice(format!("{u:04}").as_bytes())
        }
        Value::Int(i) if codec.kind == Kind::Members => {
            out.extend_from_slice(itoa::Buffer::new().format(*i as u64).as_bytes())
        }
        Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Value::UInt(u) => out.extend_from_slice(itoa::Buffer::new().format(*u).as_bytes()),
        Value::Float(f) => out.extend_from_slice(format!("{:?}", f64::from(*f)).as_bytes()),
        Value::Double(d) => out.extend_from_slice(format!("{d:?}").as_bytes()),
        Value::Date(y, mo, d, h, mi, s, us) => {
            let mut t = format!("{y:04}-{mo:02}-{d:02}");
            if codec.kind != Kind::Date {
                let _ = write!(t, " {h:02}:{mi:02}:{s:02}");
                frac(&mut t, *us, codec.fsp);
            }
            out.extend_from_slice(t.as_bytes());
        }
        Value::Time(neg, days, h, mi, s, us) => {
            let hours = u64::from(*days) * 24 + u64::from(*h);
            let mut t = format!("{}{hours:02}:{mi:02}:{s:02}", if *neg { "-" } else { "" });
            frac(&mut t, *us, codec.fsp);
            out.extend_from_slice(t.as_bytes());
        }
    }
}

/// The value the binary protocol gives for column `col` holding the binlog
/// value `v` (what [`encode`] takes), exactly: integers with the column's
/// signedness, DECIMAL as its text, FLOAT and DOUBLE by their bits, a
/// TIMESTAMP as its UTC time (the sessions' time zone), TIME with its days
/// split out, BIT as its big-endian bytes, ENUM and SET as their number
/// (see [`Codec::with_members`]), a `BINARY(n)` with the trailing zero bytes
/// the binlog leaves out, JSON as its text and GEOMETRY as SRID then WKB.
///
/// # Errors
///
/// The reason, for a value that cannot be written exactly: a MySQL partial
/// JSON update (only the diffs are in the binlog), a TIMESTAMP the text
/// form cannot hold.
pub(crate) fn from_binlog(v: &binlog_reader::Value, col: &ColumnMeta) -> Result<Value, String> {
    use binlog_reader::Value as B;
    Ok(match v {
        B::Null => Value::NULL,
        B::Int(i) => Value::Int(*i),
        B::UInt(u) => Value::UInt(*u),
        B::IntUnknownSign { raw, bytes } => {
            if col.unsigned {
                Value::UInt(*raw)
            } else {
                let shift = 64u32.saturating_sub(u32::from(*bytes) * 8);
                if shift == 0 || shift >= 64 {
                    Value::Int(*raw as i64)
                } else {
                    Value::Int(((*raw << shift) as i64) >> shift)
                }
            }
        }
        B::Float(f) => Value::Float(*f),
        B::Double(d) => Value::Double(*d),
        B::Decimal(s) => Value::Bytes(s.as_bytes().to_vec()),
        B::Year(y) => Value::UInt(u64::from(*y)),
        B::Date { year, month, day } => Value::Date(*year, *month, *day, 0, 0, 0, 0),
        B::DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            micros,
            ..
        } => Value::Date(*year, *month, *day, *hour, *minute, *second, *micros),
        B::Timestamp {
            seconds, micros, ..
        } => {
            if *seconds == 0 {
                // The zero TIMESTAMP.
                Value::Date(0, 0, 0, 0, 0, 0, *micros)
            } else {
                // `YYYY-MM-DD hh:mm:ss`, from the one home of the
                // conversion.
                let t = binlog_reader::render::utc_datetime(*seconds);
                let n: Vec<u16> = t
                    .split(|c: char| !c.is_ascii_digit())
                    .filter_map(|p| p.parse().ok())
                    .collect();
                let [y, mo, d, h, mi, s] = n[..] else {
                    return Err(format!("the TIMESTAMP {seconds} has no date form ({t})"));
                };
                let small = |x: u16| u8::try_from(x).unwrap_or(u8::MAX);
                Value::Date(
                    y,
                    small(mo),
                    small(d),
                    small(h),
                    small(mi),
                    small(s),
                    *micros,
                )
            }
        }
        B::Time {
            negative,
            hours,
            minutes,
            seconds,
            micros,
            ..
        } => Value::Time(
            *negative,
            hours / 24,
            u8::try_from(hours % 24).unwrap_or(0),
            *minutes,
            *seconds,
            *micros,
        ),
        B::Bit { value, width } => {
            let n = usize::from(width.div_ceil(8)).clamp(1, 8);
            Value::Bytes(value.to_be_bytes()[8 - n..].to_vec())
        }
        B::Enum(i) => Value::UInt(u64::from(*i)),
        B::Set(m) => Value::UInt(*m),
        B::Bytes(b) => {
            let want = usize::try_from(col.binary_length).unwrap_or(0);
            let mut b = b.clone();
            if b.len() < want {
                // BINARY(n): the binlog leaves out the trailing zero bytes
                // the server pads the value with.
                b.resize(want, 0);
            }
            Value::Bytes(b)
        }
        B::Json(s) => Value::Bytes(s.as_bytes().to_vec()),
        B::Geometry { srid, wkb } => {
            let mut b = Vec::with_capacity(wkb.len() + 4);
            b.extend_from_slice(&srid.to_le_bytes());
            b.extend_from_slice(wkb);
            Value::Bytes(b)
        }
        B::JsonDiffs(_) => return Err(partial_json(col)),
    })
}

/// Why a partial JSON update cannot be written.
fn partial_json(col: &ColumnMeta) -> String {
    format!(
        "column `{}` carries a partial JSON update (binlog_row_value_options=PARTIAL_JSON), \
         which holds only the changed paths; set binlog_row_value_options='' on the source so \
         that whole JSON values are logged",
        col.name
    )
}

fn frac(t: &mut String, micros: u32, fsp: u8) {
    if fsp > 0 {
        let digits = format!("{micros:06}");
        t.push('.');
        t.push_str(digits.get(..usize::from(fsp.min(6))).unwrap_or(&digits));
    }
}

/// The escape of each byte that needs one (`0` for the others).
const ESCAPES: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'\\' as usize] = b'\\';
    t[b'\t' as usize] = b't';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[0] = b'0';
    t[0x1a] = b'Z';
    t
};

/// Whether any byte of the word may need an escape: a byte below 0x20 (all
/// escaped bytes but the backslash are) or a backslash. False positives are
/// fine (the bytes are then looked at one by one), false negatives are not.
fn may_need_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte x < 0x20 (with x < 0x80) has the high bit of x - 0x20 set; a
    // byte with its own high bit set is masked out by !w.
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let bs = w ^ (ONES * u64::from(b'\\'));
    let backslash = bs.wrapping_sub(ONES) & !bs & HIGH;
    (below_space | backslash) != 0
}

/// Appends `b` escaped: runs of plain bytes are copied whole, eight bytes
/// are checked at a time.
fn escape(out: &mut Vec<u8>, b: &[u8]) {
    out.reserve(b.len());
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if let Some(word) = b.get(i..i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            if !may_need_escape(u64::from_le_bytes(w)) {
                i += 8;
                continue;
            }
        }
        let end = (i + 8).min(b.len());
        for (j, &c) in b.iter().enumerate().take(end).skip(i) {
            let e = ESCAPES[usize::from(c)];
            if e != 0 {
                out.extend_from_slice(&b[start..j]);
                out.push(b'\\');
                out.push(e);
                start = j + 1;
            }
        }
        i = end;
    }
    out.extend_from_slice(&b[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(t: &str, fsp: u8) -> ColumnMeta {
        ColumnMeta {
            name: "c".into(),
            data_type: t.into(),
            fsp,
            generated: false,
            nullable: true,
            unsigned: false,
            binary_length: 0,
            collation: None,
            numeric_scale: 0,
        }
    }

    fn enc(v: Value, c: ColumnMeta) -> String {
        let mut out = Vec::new();
        field(&mut out, &v, &c);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn values_encode_exactly() {
        assert_eq!(enc(Value::NULL, col("int", 0)), "\\N");
        assert_eq!(
            enc(Value::Bytes(b"\\N".to_vec()), col("varchar", 0)),
            "\\\\N"
        );
        assert_eq!(
            enc(Value::Bytes(b"a\tb\nc\0\x1a".to_vec()), col("blob", 0)),
            "a\\tb\\nc\\0\\Z"
        );
        assert_eq!(enc(Value::Double(-0.0), col("double", 0)), "-0.0");
        assert_eq!(enc(Value::Double(0.1), col("double", 0)), "0.1");
        let f = 0.1f32;
        let text = enc(Value::Float(f), col("float", 0));
        assert_eq!(text.parse::<f64>().ok().map(|d| d as f32), Some(f));
        assert_eq!(
            enc(Value::Date(2020, 1, 2, 0, 0, 0, 0), col("date", 0)),
            "2020-01-02"
        );
        assert_eq!(
            enc(Value::Date(2020, 1, 2, 3, 4, 5, 600), col("datetime", 6)),
            "2020-01-02 03:04:05.000600"
        );
        assert_eq!(
            enc(Value::Time(true, 35, 6, 59, 59, 0), col("time", 0)),
            "-846:59:59"
        );
        assert_eq!(
            enc(Value::Time(true, 0, 0, 0, 0, 10_000), col("time", 2)),
            "-00:00:00.01"
        );
        assert_eq!(enc(Value::Bytes(vec![1, 0]), col("bit", 0)), "256");
        assert_eq!(enc(Value::Int(0), col("year", 0)), "0000");
        assert_eq!(enc(Value::Int(2155), col("year", 0)), "2155");
    }

    /// A binlog value and the binary protocol's value of the same column
    /// encode to the same field (the protocol's as the copy reads it, ENUM
    /// and SET as `col + 0`).
    fn same(b: binlog_reader::Value, protocol: Value, c: ColumnMeta) {
        let codec = Codec::with_members(&c, true);
        let mut from_log = Vec::new();
        let converted = from_binlog(&b, &c).unwrap_or_else(|e| panic!("{b:?}: {e}"));
        encode(&mut from_log, &converted, codec);
        let mut read = Vec::new();
        encode(&mut read, &protocol, codec);
        assert_eq!(
            String::from_utf8_lossy(&from_log),
            String::from_utf8_lossy(&read),
            "{b:?} for a {} column",
            c.data_type
        );
    }

    #[test]
    fn binlog_values_encode_as_the_values_read_from_the_table() {
        use binlog_reader::Value as B;
        let unsigned = |t: &str| ColumnMeta {
            unsigned: true,
            ..col(t, 0)
        };
        same(B::Null, Value::NULL, col("int", 0));
        same(B::Int(-5), Value::Int(-5), col("int", 0));
        same(
            B::IntUnknownSign { raw: 255, bytes: 1 },
            Value::Int(-1),
            col("tinyint", 0),
        );
        same(
            B::IntUnknownSign { raw: 255, bytes: 1 },
            Value::UInt(255),
            unsigned("tinyint"),
        );
        same(
            B::IntUnknownSign {
                raw: u64::MAX,
                bytes: 8,
            },
            Value::UInt(u64::MAX),
            unsigned("bigint"),
        );
        same(
            B::IntUnknownSign {
                raw: 0x80_0000,
                bytes: 3,
            },
            Value::Int(-8_388_608),
            col("mediumint", 0),
        );
        same(B::Float(-0.0), Value::Float(-0.0), col("float", 0));
        same(
            B::Float(f32::from_bits(1)),
            Value::Float(f32::from_bits(1)),
            col("float", 0),
        );
        same(
            B::Double(f64::from_bits(1)),
            Value::Double(f64::from_bits(1)),
            col("double", 0),
        );
        same(
            B::Decimal("-0.000000000000000000000000000001".into()),
            Value::Bytes(b"-0.000000000000000000000000000001".to_vec()),
            col("decimal", 0),
        );
        same(B::Year(0), Value::Int(0), col("year", 0));
        same(B::Year(2155), Value::UInt(2155), col("year", 0));
        same(
            B::Date {
                year: 0,
                month: 0,
                day: 0,
            },
            Value::Date(0, 0, 0, 0, 0, 0, 0),
            col("date", 0),
        );
        same(
            B::DateTime {
                year: 2020,
                month: 0,
                day: 15,
                hour: 0,
                minute: 0,
                second: 0,
                micros: 1000,
                fsp: 3,
            },
            Value::Date(2020, 0, 15, 0, 0, 0, 1000),
            col("datetime", 3),
        );
        // A TIMESTAMP is its UTC time; the zero TIMESTAMP stays zero.
        same(
            B::Timestamp {
                seconds: 2_147_483_647,
                micros: 990_000,
                fsp: 2,
            },
            Value::Date(2038, 1, 19, 3, 14, 7, 990_000),
            col("timestamp", 2),
        );
        same(
            B::Timestamp {
                seconds: 0,
                micros: 0,
                fsp: 0,
            },
            Value::Date(0, 0, 0, 0, 0, 0, 0),
            col("timestamp", 0),
        );
        same(
            B::Time {
                negative: true,
                hours: 838,
                minutes: 59,
                seconds: 59,
                micros: 0,
                fsp: 0,
            },
            Value::Time(true, 34, 22, 59, 59, 0),
            col("time", 0),
        );
        same(
            B::Time {
                negative: true,
                hours: 0,
                minutes: 0,
                seconds: 0,
                micros: 10_000,
                fsp: 2,
            },
            Value::Time(true, 0, 0, 0, 0, 10_000),
            col("time", 2),
        );
        same(
            B::Bit {
                value: 0b10_0000_0001,
                width: 10,
            },
            Value::Bytes(vec![0b10, 0b1]),
            col("bit", 0),
        );
        same(
            B::Bit {
                value: u64::MAX,
                width: 64,
            },
            Value::Bytes(vec![0xff; 8]),
            col("bit", 0),
        );
        // ENUM and SET as their numbers; a SET's 64th member makes `col +
        // 0` negative.
        same(B::Enum(0), Value::Int(0), col("enum", 0));
        same(B::Enum(3), Value::Int(3), col("enum", 0));
        same(B::Set(u64::MAX), Value::Int(-1), col("set", 0));
        same(
            B::Bytes(b"a\tb\n\\N".to_vec()),
            Value::Bytes(b"a\tb\n\\N".to_vec()),
            col("varchar", 0),
        );
        // BINARY(16): the binlog leaves out the trailing zero bytes.
        let bin16 = ColumnMeta {
            binary_length: 16,
            ..col("binary", 0)
        };
        let mut padded = vec![0, 0x27, 0x5c];
        padded.resize(16, 0);
        same(
            B::Bytes(vec![0, 0x27, 0x5c]),
            Value::Bytes(padded),
            bin16.clone(),
        );
        same(B::Bytes(vec![]), Value::Bytes(vec![0; 16]), bin16);
        same(
            B::Json("{\"a\": [1, 0.1]}".into()),
            Value::Bytes(b"{\"a\": [1, 0.1]}".to_vec()),
            col("json", 0),
        );
        same(
            B::Geometry {
                srid: 4326,
                wkb: vec![1, 1, 0, 0, 0],
            },
            Value::Bytes(vec![0xe6, 0x10, 0, 0, 1, 1, 0, 0, 0]),
            col("point", 0),
        );
    }

    #[test]
    fn a_partial_json_update_is_refused_with_the_fix() {
        let diff = binlog_reader::Value::JsonDiffs(Vec::new());
        let e = from_binlog(&diff, &col("json", 0)).unwrap_err();
        assert!(e.contains("binlog_row_value_options=''"), "{e}");
    }
}

#[cfg(test)]
mod escape_props {
    use super::escape;
    use proptest::prelude::*;

    /// The byte-at-a-time definition the table-driven `escape` must match.
    fn reference(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &c in b {
            match c {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                0 => out.extend_from_slice(b"\\0"),
                0x1a => out.extend_from_slice(b"\\Z"),
                _ => out.push(c),
            }
        }
        out
    }

    #[test]
    fn every_escaped_byte_in_every_lane_is_seen() {
        for c in 0..=255u8 {
            for lane in 0..8 {
                for fill in [b'a', 0xff, 0x80, b' '] {
                    let mut w = [fill; 8];
                    w[lane] = c;
                    if super::ESCAPES[usize::from(c)] != 0 {
                        assert!(
                            super::may_need_escape(u64::from_le_bytes(w)),
                            "byte {c:#x} in lane {lane} among {fill:#x}"
                        );
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn escape_matches_the_byte_at_a_time_definition(
            b in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b'\\'), Just(0u8), Just(b'\t'), Just(0x1a), Just(b'a'), Just(0x9c), Just(0x20), Just(0x1f)], 0..300),
            prefix in proptest::collection::vec(any::<u8>(), 0..4),
        ) {
            let mut out = prefix.clone();
            escape(&mut out, &b);
            let mut want = prefix;
            want.extend(reference(&b));
            prop_assert_eq!(out, want);
        }
    }
}
