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
//!   LOAD DATA cannot take a bit literal).

use std::fmt::Write as _;

use mysql_async::Value;

use crate::base::meta::ColumnMeta;

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
}

impl Codec {
    pub(crate) fn of(col: &ColumnMeta) -> Self {
        let kind = match col.data_type.as_str() {
            "bit" => Kind::Bit,
            "year" => Kind::Year,
            "date" => Kind::Date,
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
