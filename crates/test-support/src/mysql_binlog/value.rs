//! Row values and their binlog encodings (`Field::pack` of each field type
//! in MySQL's `sql/field.cc`, the temporal formats of `mysys/my_time.cc`
//! and the decimal format of `strings/decimal.cc` `decimal2bin`).

use super::json::{Json, JsonDiff};
use super::schema::ColumnType;

/// One column's value in a row, as the test means it (the exact value a
/// reader should decode, and a target should hold).
///
/// Equality compares FLOAT and DOUBLE by their bits, so `-0.0` differs from
/// `0.0` and a NaN equals itself.
#[derive(Clone, Debug)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A signed integer (TINYINT to BIGINT).
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A FLOAT.
    Float(f32),
    /// A DOUBLE.
    Double(f64),
    /// A DECIMAL as text with exactly the column's scale digits after the
    /// point and no leading zeros (`-12.3400`, `0.5`, `7`).
    Decimal(String),
    /// A YEAR: 0, or 1901 to 2155.
    Year(u16),
    /// A DATE; zero and partial-zero dates allowed.
    Date {
        /// 0 to 9999.
        year: u16,
        /// 0 to 12.
        month: u8,
        /// 0 to 31.
        day: u8,
    },
    /// A TIME, possibly negative and beyond 24 hours (up to 838:59:59).
    Time {
        /// True for a negative time (including `-00:00:00.01`).
        negative: bool,
        /// Hours (0 to 838; up to 1023 fits the format).
        hours: u32,
        /// Minutes.
        minutes: u8,
        /// Seconds.
        seconds: u8,
        /// Microseconds (only the column's fsp digits are kept).
        micros: u32,
    },
    /// A DATETIME.
    DateTime {
        /// Year.
        year: u16,
        /// Month.
        month: u8,
        /// Day.
        day: u8,
        /// Hour.
        hour: u8,
        /// Minute.
        minute: u8,
        /// Second.
        second: u8,
        /// Microseconds.
        micros: u32,
    },
    /// A TIMESTAMP: seconds since the epoch in UTC (0 is the zero
    /// timestamp) and microseconds.
    Timestamp {
        /// Seconds since 1970-01-01 00:00:00 UTC.
        seconds: u32,
        /// Microseconds.
        micros: u32,
    },
    /// A BIT(n) value, right-aligned.
    Bit(u64),
    /// An ENUM's 1-based index (0 is the empty error value).
    Enum(u16),
    /// A SET's bitmask.
    Set(u64),
    /// CHAR, VARCHAR, BINARY, VARBINARY, BLOB, TEXT: the bytes in the
    /// column's charset. For CHAR the value without trailing spaces (as the
    /// server returns it); for BINARY(n) either form: the writer strips the
    /// trailing 0x00 bytes as MySQL logs it, and a reader that knows the
    /// column pads them back to n.
    Bytes(Vec<u8>),
    /// A JSON document.
    Json(Json),
    /// A partial JSON update (only in the after image of a
    /// PARTIAL_UPDATE_ROWS event, for a JSON column).
    JsonDiffs(Vec<JsonDiff>),
    /// A GEOMETRY: SRID and WKB.
    Geometry {
        /// The spatial reference id.
        srid: u32,
        /// The well-known binary.
        wkb: Vec<u8>,
    },
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
            (Double(a), Double(b)) => a.to_bits() == b.to_bits(),
            (Null, Null) => true,
            (Int(a), Int(b)) => a == b,
            (UInt(a), UInt(b)) => a == b,
            (Decimal(a), Decimal(b)) => a == b,
            (Year(a), Year(b)) => a == b,
            (
                Date {
                    year: a,
                    month: b,
                    day: c,
                },
                Date {
                    year: x,
                    month: y,
                    day: z,
                },
            ) => (a, b, c) == (x, y, z),
            (
                Time {
                    negative: a,
                    hours: b,
                    minutes: c,
                    seconds: d,
                    micros: e,
                },
                Time {
                    negative: v,
                    hours: w,
                    minutes: x,
                    seconds: y,
                    micros: z,
                },
            ) => (a, b, c, d, e) == (v, w, x, y, z),
            (
                DateTime {
                    year: a,
                    month: b,
                    day: c,
                    hour: d,
                    minute: e,
                    second: f,
                    micros: g,
                },
                DateTime {
                    year: t,
                    month: u,
                    day: v,
                    hour: w,
                    minute: x,
                    second: y,
                    micros: z,
                },
            ) => (a, b, c, d, e, f, g) == (t, u, v, w, x, y, z),
            (
                Timestamp {
                    seconds: a,
                    micros: b,
                },
                Timestamp {
                    seconds: x,
                    micros: y,
                },
            ) => (a, b) == (x, y),
            (Bit(a), Bit(b)) => a == b,
            (Enum(a), Enum(b)) => a == b,
            (Set(a), Set(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (Json(a), Json(b)) => a == b,
            (JsonDiffs(a), JsonDiffs(b)) => a == b,
            (Geometry { srid: a, wkb: b }, Geometry { srid: x, wkb: y }) => (a, b) == (x, y),
            _ => false,
        }
    }
}

impl Value {
    /// Bytes of a string or blob.
    pub fn bytes(b: impl AsRef<[u8]>) -> Self {
        Value::Bytes(b.as_ref().to_vec())
    }

    /// A DECIMAL from its text.
    pub fn decimal(text: &str) -> Self {
        Value::Decimal(text.to_owned())
    }

    /// A DATE.
    pub fn date(year: u16, month: u8, day: u8) -> Self {
        Value::Date { year, month, day }
    }

    /// A DATETIME.
    pub fn datetime(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        micros: u32,
    ) -> Self {
        Value::DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            micros,
        }
    }

    /// A TIME.
    pub fn time(negative: bool, hours: u32, minutes: u8, seconds: u8, micros: u32) -> Self {
        Value::Time {
            negative,
            hours,
            minutes,
            seconds,
            micros,
        }
    }

    /// A TIMESTAMP.
    pub fn timestamp(seconds: u32, micros: u32) -> Self {
        Value::Timestamp { seconds, micros }
    }

    /// True for NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// Appends the binlog encoding of a non-NULL `v` for a column of `ty`.
///
/// # Errors
///
/// A message when the value does not fit the column (a test bug): the
/// caller names the table, row and column.
pub(crate) fn encode(ty: &ColumnType, v: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    use ColumnType as T;
    match (ty, v) {
        (T::TinyInt { .. }, _) => int(v, 1, ty.is_unsigned(), out),
        (T::SmallInt { .. }, _) => int(v, 2, ty.is_unsigned(), out),
        (T::MediumInt { .. }, _) => int(v, 3, ty.is_unsigned(), out),
        (T::Int { .. }, _) => int(v, 4, ty.is_unsigned(), out),
        (T::BigInt { .. }, _) => int(v, 8, ty.is_unsigned(), out),
        (T::Float, Value::Float(f)) => {
            out.extend_from_slice(&f.to_bits().to_le_bytes());
            Ok(())
        }
        (T::Double, Value::Double(d)) => {
            out.extend_from_slice(&d.to_bits().to_le_bytes());
            Ok(())
        }
        (
            T::Decimal {
                precision,
                scale,
                unsigned,
            },
            Value::Decimal(text),
        ) => {
            if *unsigned && text.starts_with('-') {
                return Err(format!("{text} is negative for an UNSIGNED DECIMAL"));
            }
            out.extend(decimal_bin(text, *precision, *scale)?);
            Ok(())
        }
        // `Field_year`: 0 for the zero year, else year - 1900.
        (T::Year, Value::Year(y)) => {
            let b = match y {
                0 => 0,
                1901..=2155 => (y - 1900) as u8,
                _ => return Err(format!("YEAR {y} is neither 0 nor 1901 to 2155")),
            };
            out.push(b);
            Ok(())
        }
        // `Field_newdate`: day in bits 0-4, month in 5-8, year above, 3
        // bytes little-endian.
        (T::Date, Value::Date { year, month, day }) => {
            if *year > 9999 || *month > 12 || *day > 31 {
                return Err(format!("DATE {year}-{month}-{day} is out of range"));
            }
            let v = (u32::from(*year) << 9) | (u32::from(*month) << 5) | u32::from(*day);
            out.extend_from_slice(&v.to_le_bytes()[..3]);
            Ok(())
        }
        (
            T::Time { fsp },
            Value::Time {
                negative,
                hours,
                minutes,
                seconds,
                micros,
            },
        ) => {
            if *hours > 1023 || *minutes > 59 || *seconds > 59 || *micros > 999_999 {
                return Err(format!(
                    "TIME {hours}:{minutes}:{seconds}.{micros} is out of range"
                ));
            }
            check_fsp(*micros, *fsp)?;
            let hms = (i64::from(*hours) << 12) | (i64::from(*minutes) << 6) | i64::from(*seconds);
            let mut packed = (hms << 24) + i64::from(*micros);
            if *negative {
                packed = -packed;
            }
            time2(packed, *fsp, out);
            Ok(())
        }
        (
            T::DateTime { fsp },
            Value::DateTime {
                year,
                month,
                day,
                hour,
                minute,
                second,
                micros,
            },
        ) => {
            if *year > 9999
                || *month > 12
                || *day > 31
                || *hour > 23
                || *minute > 59
                || *second > 59
                || *micros > 999_999
            {
                return Err(format!("DATETIME {year}-{month}-{day} {hour}:{minute}:{second}.{micros} is out of range"));
            }
            check_fsp(*micros, *fsp)?;
            let packed = datetime_packed(*year, *month, *day, *hour, *minute, *second, *micros);
            // `my_datetime_packed_to_binary`: the integer part plus
            // DATETIMEF_INT_OFS in 5 big-endian bytes, then the fraction.
            let int_part = (packed >> 24) + 0x80_0000_0000;
            out.extend_from_slice(&int_part.to_be_bytes()[3..]);
            frac(packed % (1 << 24), *fsp, out);
            Ok(())
        }
        (T::Timestamp { fsp }, Value::Timestamp { seconds, micros }) => {
            if *micros > 999_999 {
                return Err(format!("TIMESTAMP micros {micros} is over 999999"));
            }
            check_fsp(*micros, *fsp)?;
            // `my_timestamp_to_binary`: seconds big-endian, then the
            // fraction.
            out.extend_from_slice(&seconds.to_be_bytes());
            frac(i64::from(*micros), *fsp, out);
            Ok(())
        }
        // `Field_bit`: big-endian in ceil(width / 8) bytes.
        (T::Bit { width }, Value::Bit(b)) => {
            if *width < 64 && b >> width != 0 {
                return Err(format!("BIT value {b:#x} is wider than BIT({width})"));
            }
            let n = usize::from(width.div_ceil(8));
            out.extend_from_slice(&b.to_be_bytes()[8 - n..]);
            Ok(())
        }
        (T::Enum { members, .. }, Value::Enum(i)) => {
            if usize::from(*i) > members.len() {
                return Err(format!(
                    "ENUM index {i} is past its {} members",
                    members.len()
                ));
            }
            let n = usize::from(super::schema::enum_pack_len(members.len()));
            out.extend_from_slice(&i.to_le_bytes()[..n]);
            Ok(())
        }
        (T::Set { members, .. }, Value::Set(bits)) => {
            if members.len() < 64 && bits >> members.len() != 0 {
                return Err(format!(
                    "SET bits {bits:#x} name members past its {}",
                    members.len()
                ));
            }
            let n = usize::from(super::schema::set_pack_len(members.len()));
            out.extend_from_slice(&bits.to_le_bytes()[..n]);
            Ok(())
        }
        // `Field_string::pack`: the value without its trailing pad bytes,
        // with a 1-byte length below 256 bytes of column, else 2.
        (T::Char { collation, .. }, Value::Bytes(b)) => {
            let max = ty.max_byte_len();
            if b.len() as u64 > max {
                return Err(format!("{} bytes do not fit CHAR of {max} bytes", b.len()));
            }
            let pad = collation.pad_byte();
            let end = b.iter().rposition(|c| *c != pad).map_or(0, |i| i + 1);
            let data = &b[..end];
            if max < 256 {
                out.push(data.len() as u8);
            } else {
                out.extend_from_slice(&(data.len() as u16).to_le_bytes());
            }
            out.extend_from_slice(data);
            Ok(())
        }
        // `Field_varstring::pack`: a 1-byte length when the column's byte
        // length is below 256, else 2.
        (T::VarChar { .. }, Value::Bytes(b)) => {
            let max = ty.max_byte_len();
            if b.len() as u64 > max {
                return Err(format!(
                    "{} bytes do not fit VARCHAR of {max} bytes",
                    b.len()
                ));
            }
            if max < 256 {
                out.push(b.len() as u8);
            } else {
                out.extend_from_slice(&(b.len() as u16).to_le_bytes());
            }
            out.extend_from_slice(b);
            Ok(())
        }
        (T::Blob { size, .. }, Value::Bytes(b)) => {
            if b.len() as u64 > size.max_len() {
                return Err(format!(
                    "{} bytes do not fit {size:?} (at most {})",
                    b.len(),
                    size.max_len()
                ));
            }
            let n = usize::from(size.length_bytes());
            out.extend_from_slice(&(b.len() as u32).to_le_bytes()[..n]);
            out.extend_from_slice(b);
            Ok(())
        }
        (T::Json, Value::Json(j)) => {
            let doc = j.encode();
            let len =
                u32::try_from(doc.len()).map_err(|_| "a JSON document over 4 GiB".to_owned())?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend(doc);
            Ok(())
        }
        (T::Json, Value::JsonDiffs(diffs)) => {
            let mut body = Vec::new();
            for d in diffs {
                d.encode(&mut body);
            }
            let len = u32::try_from(body.len()).map_err(|_| "JSON diffs over 4 GiB".to_owned())?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend(body);
            Ok(())
        }
        // `Field_geom`: a blob of the SRID (little-endian) and the WKB.
        (T::Geometry { .. }, Value::Geometry { srid, wkb }) => {
            let len =
                u32::try_from(4 + wkb.len()).map_err(|_| "a geometry over 4 GiB".to_owned())?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&srid.to_le_bytes());
            out.extend_from_slice(wkb);
            Ok(())
        }
        _ => Err(format!("{v:?} is not a value of a {ty:?} column")),
    }
}

/// An integer of `n` bytes, little-endian, range-checked for the column's
/// signedness.
fn int(v: &Value, n: u32, unsigned: bool, out: &mut Vec<u8>) -> Result<(), String> {
    let bits = 8 * n;
    let raw: u64 = match (v, unsigned) {
        (Value::Int(i), false) => {
            let min = -(1i128 << (bits - 1));
            let max = (1i128 << (bits - 1)) - 1;
            if i128::from(*i) < min || i128::from(*i) > max {
                return Err(format!("{i} does not fit a signed {n}-byte integer"));
            }
            *i as u64
        }
        (Value::UInt(u), true) => {
            if n < 8 && *u >> bits != 0 {
                return Err(format!("{u} does not fit an unsigned {n}-byte integer"));
            }
            *u
        }
        _ => {
            return Err(format!(
                "{v:?} is not a value of a{} {n}-byte integer column (use Value::{})",
                if unsigned { "n unsigned" } else { " signed" },
                if unsigned { "UInt" } else { "Int" }
            ))
        }
    };
    out.extend_from_slice(&raw.to_le_bytes()[..n as usize]);
    Ok(())
}

/// Checks that `micros` has no digits past the column's precision (the
/// server rounds before it logs, so the binlog never holds them).
fn check_fsp(micros: u32, fsp: u8) -> Result<(), String> {
    if fsp > 6 {
        return Err(format!("fractional-second precision {fsp} is over 6"));
    }
    let unit = 10u32.pow(6 - u32::from(fsp));
    if micros % unit != 0 {
        return Err(format!(
            "{micros} microseconds have more digits than fsp {fsp} keeps"
        ));
    }
    Ok(())
}

/// The packed DATETIME (`TIME_to_longlong_datetime_packed`): the date and
/// time fields in the integer part, shifted left 24 bits, plus the
/// microseconds.
pub(crate) fn datetime_packed(
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    micros: u32,
) -> i64 {
    let ymd = ((i64::from(year) * 13 + i64::from(month)) << 5) | i64::from(day);
    let hms = (i64::from(hour) << 12) | (i64::from(minute) << 6) | i64::from(second);
    (((ymd << 17) | hms) << 24) + i64::from(micros)
}

/// The packed TIME (`TIME_to_longlong_time_packed`), negative for a
/// negative time.
pub(crate) fn time_packed(
    negative: bool,
    hours: u32,
    minutes: u8,
    seconds: u8,
    micros: u32,
) -> i64 {
    let hms = (i64::from(hours) << 12) | (i64::from(minutes) << 6) | i64::from(seconds);
    let p = (hms << 24) + i64::from(micros);
    if negative {
        -p
    } else {
        p
    }
}

/// `my_time_packed_to_binary`: for fsp 0 to 4 the integer part (the packed
/// value shifted right 24 bits, arithmetically) plus TIMEF_INT_OFS in 3
/// big-endian bytes, then the fraction (truncated remainder, so negative
/// for a negative time, stored as a signed byte or big-endian 16-bit
/// value); for fsp 5 and 6 the whole packed value plus TIMEF_OFS in 6
/// big-endian bytes.
fn time2(packed: i64, fsp: u8, out: &mut Vec<u8>) {
    match fsp {
        5 | 6 => {
            let v = packed + 0x8000_0000_0000;
            out.extend_from_slice(&v.to_be_bytes()[2..]);
        }
        _ => {
            let int_part = (packed >> 24) + 0x80_0000;
            out.extend_from_slice(&int_part.to_be_bytes()[5..]);
            let f = packed % (1 << 24);
            match fsp {
                1 | 2 => out.push((f / 10_000) as i8 as u8),
                3 | 4 => out.extend_from_slice(&((f / 100) as i16).to_be_bytes()),
                _ => {}
            }
        }
    }
}

/// The fraction of a DATETIME2 or TIMESTAMP2 (`my_datetime_packed_to_binary`,
/// `my_timestamp_to_binary`): hundredths of a second in one byte for fsp 1
/// and 2, tenths of milliseconds in two big-endian bytes for 3 and 4,
/// microseconds in three for 5 and 6.
fn frac(micros: i64, fsp: u8, out: &mut Vec<u8>) {
    match fsp {
        1 | 2 => out.push((micros / 10_000) as u8),
        3 | 4 => out.extend_from_slice(&((micros / 100) as u16).to_be_bytes()),
        5 | 6 => out.extend_from_slice(&(micros as u32).to_be_bytes()[1..]),
        _ => {}
    }
}

/// Bytes per number of leftover decimal digits (`dig2bytes`).
const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/// The size of a DECIMAL(precision, scale) in the binlog
/// (`decimal_bin_size`).
pub(crate) fn decimal_bin_size(precision: u8, scale: u8) -> usize {
    let intg = usize::from(precision - scale);
    let frac = usize::from(scale);
    (intg / 9) * 4 + DIG2BYTES[intg % 9] + (frac / 9) * 4 + DIG2BYTES[frac % 9]
}

/// Parses decimal text into (negative, integer digits, fraction digits
/// padded to `scale`), normalized: no leading zeros, no negative zero.
///
/// # Errors
///
/// When the text is not a decimal number or does not fit.
pub(crate) fn parse_decimal(
    text: &str,
    precision: u8,
    scale: u8,
) -> Result<(bool, String, String), String> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, fr) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && fr.is_empty()
        || !int.bytes().all(|c| c.is_ascii_digit())
        || !fr.bytes().all(|c| c.is_ascii_digit())
    {
        return Err(format!("{text:?} is not a decimal number"));
    }
    if fr.len() > usize::from(scale) {
        return Err(format!(
            "{text} has more than {scale} digits after the point"
        ));
    }
    let int = int.trim_start_matches('0');
    if int.len() > usize::from(precision - scale) {
        return Err(format!(
            "{text} has more than {} integer digits",
            precision - scale
        ));
    }
    let mut fr = fr.to_owned();
    while fr.len() < usize::from(scale) {
        fr.push('0');
    }
    let zero = int.is_empty() && fr.bytes().all(|c| c == b'0');
    Ok((neg && !zero, int.to_owned(), fr))
}

/// The exact text MySQL prints for a DECIMAL(_, scale) value: the integer
/// digits without leading zeros (`0` when none), then `scale` digits.
pub fn decimal_text(text: &str, precision: u8, scale: u8) -> Result<String, String> {
    let (neg, int, fr) = parse_decimal(text, precision, scale)?;
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    s.push_str(if int.is_empty() { "0" } else { &int });
    if scale > 0 {
        s.push('.');
        s.push_str(&fr);
    }
    Ok(s)
}

/// `decimal2bin`: the integer digits right-aligned and the fraction digits
/// left-aligned in groups of nine (4 bytes each, big-endian), the leftover
/// digits in `DIG2BYTES` bytes; a negative value has every byte inverted;
/// then the first bit is flipped so that the bytes sort as the numbers do.
pub(crate) fn decimal_bin(text: &str, precision: u8, scale: u8) -> Result<Vec<u8>, String> {
    let (neg, int, fr) = parse_decimal(text, precision, scale)?;
    let intg = usize::from(precision - scale);
    let mut digits = "0".repeat(intg - int.len());
    digits.push_str(&int);
    let mask: u32 = if neg { u32::MAX } else { 0 };
    let mut out = Vec::with_capacity(decimal_bin_size(precision, scale));
    let push_group = |g: &str, out: &mut Vec<u8>| {
        let n = DIG2BYTES[g.len()];
        let v: u32 = if g.is_empty() {
            0
        } else {
            g.parse().unwrap_or(0)
        };
        out.extend_from_slice(&(v ^ mask).to_be_bytes()[4 - n..]);
    };
    let lead = intg % 9;
    push_group(&digits[..lead], &mut out);
    for g in digits.as_bytes()[lead..].chunks(9) {
        push_group(std::str::from_utf8(g).unwrap_or("0"), &mut out);
    }
    for g in fr.as_bytes().chunks(9) {
        push_group(std::str::from_utf8(g).unwrap_or("0"), &mut out);
    }
    if let Some(first) = out.first_mut() {
        *first ^= 0x80;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_bin_matches_mysql_documented_example() {
        // The example of `decimal2bin` in MySQL's strings/decimal.cc:
        // 1234567890.1234 as DECIMAL(14,4) is
        // 81 0D FB 38 D2 04 D2.
        assert_eq!(
            decimal_bin("1234567890.1234", 14, 4).unwrap(),
            vec![0x81, 0x0D, 0xFB, 0x38, 0xD2, 0x04, 0xD2]
        );
        // And -1234567890.1234 is 7E F2 04 C7 2D FB 2D.
        assert_eq!(
            decimal_bin("-1234567890.1234", 14, 4).unwrap(),
            vec![0x7E, 0xF2, 0x04, 0xC7, 0x2D, 0xFB, 0x2D]
        );
    }

    #[test]
    fn decimal_text_normalizes() {
        assert_eq!(decimal_text("007.5", 10, 3).unwrap(), "7.500");
        assert_eq!(decimal_text("-0.000", 10, 3).unwrap(), "0.000");
        assert_eq!(decimal_text("12", 5, 0).unwrap(), "12");
        assert!(decimal_text("1.2345", 10, 3).is_err());
        assert!(decimal_text("123456", 7, 2).is_err());
    }
}
