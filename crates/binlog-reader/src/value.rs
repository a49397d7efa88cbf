//! Row values: one column value from its binlog encoding, exact, for every column type.
//!
//! A row image stores each non-NULL column in the column's "packed" form
//! (what `Field::pack` writes on the source). The layouts decoded here come
//! from:
//!
//! - MySQL `sql/log_event.cc` (`log_event_print_value`, which prints every
//!   type from its packed bytes) and `libbinlogevents` (`binlog_event.h`,
//!   `field_types.h`) for the type codes and the metadata each type carries;
//! - MySQL `sql-common/my_time.c` (`my_time_packed_from_binary`,
//!   `my_datetime_packed_from_binary`, `my_timestamp_from_binary`) for the
//!   TIME2, DATETIME2 and TIMESTAMP2 packings;
//! - MySQL `strings/decimal.c` (`bin2decimal`, `decimal2string`) for
//!   NEWDECIMAL;
//! - MySQL `sql/json_binary.h` for JSON (see [`crate::jsonb`]);
//! - MariaDB `sql/log_event_server.cc` and `sql/field.cc`
//!   (`Field_longstr::compress`/`uncompress`) with `sql/field_comp.cc`
//!   (`compress_zlib`/`uncompress_zlib`) for the compressed column types.
//!
//! Every read goes through the checked [`Cursor`]; on any error the cursor
//! is left where it was, and no length read from the input is used to
//! allocate before it has been checked against the bytes that are left.

use crate::cursor::Cursor;
use crate::error::{DecodeError, Result};
use crate::types::{ColumnInfo, ColumnType, Value};

/// The largest decompressed value this decoder produces from a MariaDB
/// compressed column (1 GiB, MariaDB's own `max_allowed_packet` ceiling).
const MAX_DECOMPRESSED: u64 = 1 << 30;

/// Bytes needed for 0 to 9 leftover decimal digits (`dig2bytes` in MySQL's
/// `strings/decimal.c`).
const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/// Decimal digits in one full digit group (`DIG_PER_DEC1`).
const DIG_PER_DEC: usize = 9;

/// The offset TIME2 adds to the integer part of the packed value
/// (`TIMEF_INT_OFS` in `my_time.c`).
const TIMEF_INT_OFS: i64 = 0x80_0000;

/// The offset TIME2 adds to the whole 48-bit packed value for precisions 5
/// and 6 (`TIMEF_OFS` in `my_time.c`).
const TIMEF_OFS: i64 = 0x8000_0000_0000;

/// The offset DATETIME2 adds to its 40-bit integer part
/// (`DATETIMEF_INT_OFS` in `my_time.c`).
const DATETIMEF_INT_OFS: i64 = 0x80_0000_0000;

/// Reads exactly one non-NULL value of `col` from a row image.
///
/// The caller handles the NULL bitmap; `column` is the column's index, used
/// only in error messages. On error the cursor is left where it was.
pub(crate) fn decode_value(cur: &mut Cursor<'_>, col: &ColumnInfo, column: usize) -> Result<Value> {
    let saved = cur.clone();
    let r = decode_inner(cur, col, column);
    if r.is_err() {
        *cur = saved;
    }
    r
}

/// Decodes one non-NULL value of `col` from the start of `bytes` and
/// returns it with the number of bytes it took.
///
/// This is the row-value decoder on its own (for fuzzing and tests):
/// offsets in errors are relative to the start of `bytes`, and the column
/// index in errors is 0.
pub fn decode_value_bytes(bytes: &[u8], col: &ColumnInfo) -> Result<(Value, usize)> {
    let mut cur = Cursor::new(bytes, 0);
    let v = decode_value(&mut cur, col, 0)?;
    Ok((v, bytes.len() - cur.remaining()))
}

fn decode_inner(cur: &mut Cursor<'_>, col: &ColumnInfo, column: usize) -> Result<Value> {
    let t = col.column_type.0;
    let m0 = (col.meta & 0xff) as u8;
    let m1 = (col.meta >> 8) as u8;
    match t {
        ColumnType::TINY => int(cur, col, 1, "TINYINT value"),
        ColumnType::SHORT => int(cur, col, 2, "SMALLINT value"),
        ColumnType::INT24 => int(cur, col, 3, "MEDIUMINT value"),
        ColumnType::LONG => int(cur, col, 4, "INT value"),
        ColumnType::LONGLONG => int(cur, col, 8, "BIGINT value"),
        // The metadata of FLOAT and DOUBLE is the pack length (4 or 8); the
        // value is the IEEE 754 bits, little-endian (`float4get`/`float8get`).
        ColumnType::FLOAT => Ok(Value::Float(f32::from_bits(cur.u32_le("FLOAT value")?))),
        ColumnType::DOUBLE => Ok(Value::Double(f64::from_bits(cur.u64_le("DOUBLE value")?))),
        ColumnType::NEWDECIMAL => newdecimal(cur, m0, m1),
        ColumnType::YEAR => {
            // `Field_year`: one byte, 0 for the zero year, else year - 1900.
            let v = cur.u8("YEAR value")?;
            Ok(Value::Year(if v == 0 { 0 } else { 1900 + u16::from(v) }))
        }
        ColumnType::DATE | ColumnType::NEWDATE => date(cur),
        ColumnType::TIMESTAMP => {
            // The pre-5.6.4 TIMESTAMP: seconds since the epoch, little-endian.
            let seconds = cur.u32_le("TIMESTAMP value")?;
            Ok(Value::Timestamp {
                seconds,
                micros: 0,
                fsp: 0,
            })
        }
        ColumnType::TIMESTAMP2 => timestamp2(cur, fsp(cur, col)?),
        ColumnType::DATETIME => datetime_old(cur),
        ColumnType::DATETIME2 => datetime2(cur, fsp(cur, col)?),
        ColumnType::TIME => time_old(cur),
        ColumnType::TIME2 => time2(cur, fsp(cur, col)?),
        ColumnType::VARCHAR | ColumnType::VAR_STRING => {
            let data = prefixed(cur, varchar_prefix(col.meta), "VARCHAR value")?;
            Ok(Value::Bytes(data.to_vec()))
        }
        ColumnType::STRING => string_like(cur, col, m0, m1),
        ColumnType::ENUM => enum_value(cur, m1),
        ColumnType::SET => set_value(cur, m1),
        ColumnType::BIT => bit(cur, m0, m1),
        ColumnType::BLOB
        | ColumnType::TINY_BLOB
        | ColumnType::MEDIUM_BLOB
        | ColumnType::LONG_BLOB => {
            let n = blob_prefix(cur, col, "BLOB length-prefix size (metadata)")?;
            Ok(Value::Bytes(prefixed(cur, n, "BLOB value")?.to_vec()))
        }
        ColumnType::GEOMETRY => geometry(cur, col),
        ColumnType::JSON => {
            let n = blob_prefix(cur, col, "JSON length-prefix size (metadata)")?;
            let data = prefixed(cur, n, "JSON value")?;
            let at = cur.offset() - data.len() as u64;
            Ok(Value::Json(crate::jsonb::json_binary_to_text(data, at)?))
        }
        ColumnType::VARCHAR_COMPRESSED => {
            let data = prefixed(cur, varchar_prefix(col.meta), "compressed VARCHAR value")?;
            let at = cur.offset() - data.len() as u64;
            Ok(Value::Bytes(mariadb_uncompress(data, at)?))
        }
        ColumnType::BLOB_COMPRESSED => {
            let n = blob_prefix(cur, col, "compressed BLOB length-prefix size (metadata)")?;
            let data = prefixed(cur, n, "compressed BLOB value")?;
            let at = cur.offset() - data.len() as u64;
            Ok(Value::Bytes(mariadb_uncompress(data, at)?))
        }
        ColumnType::NULL => Ok(Value::Null),
        // The pre-5.0 DECIMAL (type 0, stored as text), VECTOR, TYPED_ARRAY
        // (only in MySQL's internal replication of multi-valued indexes) and
        // unknown codes: refuse rather than guess a length.
        _ => Err(DecodeError::UnsupportedColumnType {
            offset: cur.offset(),
            column,
            type_code: t.0,
        }),
    }
}

/// An integer of `n` (1 to 8) little-endian bytes, signed or not as the
/// column says.
fn int(cur: &mut Cursor<'_>, col: &ColumnInfo, n: usize, what: &'static str) -> Result<Value> {
    let raw = cur.uint_le(n, what)?;
    Ok(match col.unsigned {
        Some(true) => Value::UInt(raw),
        Some(false) => Value::Int(sign_extend(raw, n)),
        None => Value::IntUnknownSign {
            raw,
            bytes: n as u8,
        },
    })
}

/// Sign-extends the low `n` bytes (1 to 8) of `raw`.
fn sign_extend(raw: u64, n: usize) -> i64 {
    let shift = 64u32.saturating_sub(8u32.saturating_mul(n as u32)).min(63);
    ((raw << shift) as i64) >> shift
}

/// An unsigned big-endian integer from up to 8 bytes.
fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

fn invalid(what: &'static str, offset: u64, value: u64, reason: &'static str) -> DecodeError {
    DecodeError::Invalid {
        what,
        offset,
        value,
        reason,
    }
}

/// `length` bytes preceded by their length in `n` little-endian bytes.
fn prefixed<'a>(cur: &mut Cursor<'a>, n: usize, what: &'static str) -> Result<&'a [u8]> {
    let len = cur.uint_le(n, what)?;
    cur.bytes_u64(len, what)
}

/// The length-prefix size of a VARCHAR: 1 byte when the column's maximum
/// byte length (the metadata) is below 256, else 2 (`Field_varstring`).
fn varchar_prefix(meta: u16) -> usize {
    if meta < 256 {
        1
    } else {
        2
    }
}

/// The length-prefix size (1 to 4) of a BLOB-like column, from its
/// metadata (`Field_blob::do_save_field_metadata` stores `packlength`).
fn blob_prefix(cur: &Cursor<'_>, col: &ColumnInfo, what: &'static str) -> Result<usize> {
    match col.meta {
        1..=4 => Ok(usize::from(col.meta)),
        m => Err(invalid(what, cur.offset(), u64::from(m), "must be 1 to 4")),
    }
}

/// The fractional-second precision of a TIME2, DATETIME2 or TIMESTAMP2
/// column (its metadata).
fn fsp(cur: &Cursor<'_>, col: &ColumnInfo) -> Result<u8> {
    match col.meta {
        0..=6 => Ok(col.meta as u8),
        m => Err(invalid(
            "fractional-second precision (metadata)",
            cur.offset(),
            u64::from(m),
            "must be 0 to 6",
        )),
    }
}

// ---------------------------------------------------------------------------
// Strings, ENUM, SET, BIT, GEOMETRY.
// ---------------------------------------------------------------------------

/// A `STRING` column: CHAR/BINARY, or ENUM/SET as `real_type` says.
///
/// The metadata (`Field_string::do_save_field_metadata`) is
/// `byte0 = real_type ^ ((field_length & 0x300) >> 4)`,
/// `byte1 = field_length & 0xff`; `Field_string::unpack` recovers the
/// maximum byte length as `(((byte0 & 0x30) ^ 0x30) << 4) | byte1` and reads
/// a 1-byte length prefix below 256, else a 2-byte one.
fn string_like(cur: &mut Cursor<'_>, col: &ColumnInfo, m0: u8, m1: u8) -> Result<Value> {
    match col.real_type() {
        ColumnType::ENUM => enum_value(cur, m1),
        ColumnType::SET => set_value(cur, m1),
        _ => {
            let max = ((u16::from((m0 & 0x30) ^ 0x30)) << 4) | u16::from(m1);
            let data = prefixed(cur, varchar_prefix(max), "CHAR value")?;
            Ok(Value::Bytes(data.to_vec()))
        }
    }
}

/// An ENUM index in 1 or 2 little-endian bytes (the pack length is the
/// second metadata byte, `Field_enum::do_save_field_metadata`).
fn enum_value(cur: &mut Cursor<'_>, pack_len: u8) -> Result<Value> {
    match pack_len {
        1 => Ok(Value::Enum(u16::from(cur.u8("ENUM value")?))),
        2 => Ok(Value::Enum(cur.u16_le("ENUM value")?)),
        n => Err(invalid(
            "ENUM pack length (metadata)",
            cur.offset(),
            u64::from(n),
            "must be 1 or 2",
        )),
    }
}

/// A SET bitmask in 1 to 8 little-endian bytes (the pack length is the
/// second metadata byte).
fn set_value(cur: &mut Cursor<'_>, pack_len: u8) -> Result<Value> {
    match pack_len {
        1..=8 => Ok(Value::Set(cur.uint_le(usize::from(pack_len), "SET value")?)),
        n => Err(invalid(
            "SET pack length (metadata)",
            cur.offset(),
            u64::from(n),
            "must be 1 to 8",
        )),
    }
}

/// A BIT(n) value: big-endian in `bytes + (bits > 0)` bytes, where the
/// metadata is `bits = n % 8` (first byte) and `bytes = n / 8` (second
/// byte), as `Field_bit::do_save_field_metadata` writes it.
fn bit(cur: &mut Cursor<'_>, bits: u8, bytes: u8) -> Result<Value> {
    let at = cur.offset();
    if bits > 7 {
        return Err(invalid(
            "BIT width (metadata)",
            at,
            u64::from(bits),
            "the leftover bit count must be 0 to 7",
        ));
    }
    let total = usize::from(bytes) + usize::from(bits > 0);
    if total > 8 {
        return Err(invalid(
            "BIT width (metadata)",
            at,
            total as u64,
            "a BIT column holds at most 8 bytes",
        ));
    }
    let width = u16::from(bytes) * 8 + u16::from(bits);
    let value = be(cur.bytes(total, "BIT value")?);
    if width < 64 && value >> width != 0 {
        return Err(invalid(
            "BIT value",
            at,
            value,
            "has bits set beyond the column's width",
        ));
    }
    Ok(Value::Bit { value, width })
}

/// A GEOMETRY: a length-prefixed blob holding a 4-byte little-endian SRID
/// followed by the WKB (`Field_geom`, MySQL's internal geometry format).
fn geometry(cur: &mut Cursor<'_>, col: &ColumnInfo) -> Result<Value> {
    let n = blob_prefix(cur, col, "GEOMETRY length-prefix size (metadata)")?;
    let data = prefixed(cur, n, "GEOMETRY value")?;
    let at = cur.offset() - data.len() as u64;
    match data.split_first_chunk::<4>() {
        Some((srid, wkb)) => Ok(Value::Geometry {
            srid: u32::from_le_bytes(*srid),
            wkb: wkb.to_vec(),
        }),
        None => Err(invalid(
            "GEOMETRY value",
            at,
            data.len() as u64,
            "shorter than its 4-byte SRID",
        )),
    }
}

// ---------------------------------------------------------------------------
// NEWDECIMAL.
// ---------------------------------------------------------------------------

/// A NEWDECIMAL column value. The metadata is precision (first byte) and
/// scale (second byte); the value is `bin2decimal`'s binary form.
fn newdecimal(cur: &mut Cursor<'_>, precision: u8, scale: u8) -> Result<Value> {
    let at = cur.offset();
    if !(1..=65).contains(&precision) {
        return Err(invalid(
            "DECIMAL precision (metadata)",
            at,
            u64::from(precision),
            "must be 1 to 65",
        ));
    }
    if scale > 30 || scale > precision {
        return Err(invalid(
            "DECIMAL scale (metadata)",
            at,
            u64::from(scale),
            "must be at most 30 and at most the precision",
        ));
    }
    let (p, s) = (usize::from(precision), usize::from(scale));
    let raw = cur.bytes(decimal_bin_size(p, s), "DECIMAL value")?;
    Ok(Value::Decimal(decimal_text(raw, p, s, at)?))
}

/// The size of `bin2decimal`'s binary form of a DECIMAL(precision, scale)
/// (`decimal_bin_size` in `strings/decimal.c`). `scale` must not exceed
/// `precision`.
pub(crate) fn decimal_bin_size(precision: usize, scale: usize) -> usize {
    let intg = precision.saturating_sub(scale);
    let dig = |n: usize| DIG2BYTES.get(n % DIG_PER_DEC).copied().unwrap_or(4);
    (intg / DIG_PER_DEC) * 4 + dig(intg) + (scale / DIG_PER_DEC) * 4 + dig(scale)
}

/// The exact text of a DECIMAL(precision, scale) from its binary form `raw`
/// (exactly [`decimal_bin_size`] bytes, found at absolute `offset`).
///
/// The binary form (`decimal2bin`/`bin2decimal` in `strings/decimal.c`) is
/// the integer digits then the fraction digits in groups of 9 decimal digits
/// per 4 big-endian bytes, with the leftover leading integer digits and
/// trailing fraction digits in `dig2bytes` bytes; negative numbers have all
/// bits inverted, and the first bit is flipped so that the bytes sort.
///
/// The text is what `decimal2string` prints: a `-` for negative numbers, the
/// integer digits without leading zeros (a single `0` when there are none),
/// and, when the scale is not 0, a point and exactly `scale` digits
/// (`123.4500`, `-0.000001`, `0.00`). The server never writes a negative
/// zero; if the bytes hold one, the output is what the server itself prints
/// for them (`bin2decimal` turns a scale-0 zero into a plain zero, while
/// `decimal2string` keeps the sign otherwise): `0` for scale 0 and `-0.00`
/// (the sign, then the zero with its scale) otherwise. mysql_common prints
/// the same.
///
/// A digit group out of range (not a valid decimal) is an error. (MySQL's
/// `bin2decimal` tolerates one extra digit in the leading group, which it
/// then prints as garbage; this decoder rejects it.)
pub(crate) fn decimal_text(
    raw: &[u8],
    precision: usize,
    scale: usize,
    offset: u64,
) -> Result<String> {
    let negative = raw.first().is_some_and(|b| b & 0x80 == 0);
    let mask = if negative { 0xff } else { 0 };
    let mut bytes: Vec<u8> = raw.iter().map(|b| b ^ mask).collect();
    if let Some(first) = bytes.first_mut() {
        *first ^= 0x80;
    }

    let intg = precision.saturating_sub(scale);
    let dig = |n: usize| DIG2BYTES.get(n).copied().unwrap_or(4);
    // (bytes, digits, is_fraction) for each digit group, in order.
    let mut groups: Vec<(usize, usize, bool)> = Vec::with_capacity(12);
    if intg % DIG_PER_DEC > 0 {
        groups.push((dig(intg % DIG_PER_DEC), intg % DIG_PER_DEC, false));
    }
    groups.extend(std::iter::repeat_n(
        (4, DIG_PER_DEC, false),
        intg / DIG_PER_DEC,
    ));
    groups.extend(std::iter::repeat_n(
        (4, DIG_PER_DEC, true),
        scale / DIG_PER_DEC,
    ));
    if scale % DIG_PER_DEC > 0 {
        groups.push((dig(scale % DIG_PER_DEC), scale % DIG_PER_DEC, true));
    }

    let mut int_digits = String::with_capacity(intg);
    let mut frac_digits = String::with_capacity(scale);
    let mut pos = 0usize;
    for (nbytes, ndigits, is_frac) in groups {
        let end = pos.saturating_add(nbytes);
        let Some(g) = bytes.get(pos..end) else {
            return Err(DecodeError::Truncated {
                what: "DECIMAL value",
                offset: offset + pos as u64,
                needed: nbytes as u64,
                available: bytes.len().saturating_sub(pos) as u64,
            });
        };
        let v = be(g);
        if v >= 10u64.pow(ndigits as u32) {
            return Err(invalid(
                "DECIMAL digit group",
                offset + pos as u64,
                v,
                "a digit group holds more digits than the column's precision allows",
            ));
        }
        let target = if is_frac {
            &mut frac_digits
        } else {
            &mut int_digits
        };
        // Writing to a String cannot fail.
        let _ = std::fmt::Write::write_fmt(target, format_args!("{v:0ndigits$}"));
        pos = end;
    }

    let int_part = int_digits.trim_start_matches('0');
    if scale == 0 && int_part.is_empty() {
        return Ok("0".to_owned());
    }
    let mut out = String::with_capacity(int_part.len() + scale + 3);
    if negative {
        out.push('-');
    }
    out.push_str(if int_part.is_empty() { "0" } else { int_part });
    if scale > 0 {
        out.push('.');
        out.push_str(&frac_digits);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Temporal types.
// ---------------------------------------------------------------------------

/// Reads the fractional part that follows TIMESTAMP2 and DATETIME2:
/// `(fsp + 1) / 2` big-endian bytes holding hundredths (fsp 1-2), tens of
/// microseconds (fsp 3-4) or microseconds (fsp 5-6). Returns microseconds.
fn frac_micros(cur: &mut Cursor<'_>, fsp: u8, what: &'static str) -> Result<u32> {
    let (n, limit, scale) = match fsp {
        0 => return Ok(0),
        1 | 2 => (1, 100, 10_000),
        3 | 4 => (2, 10_000, 100),
        _ => (3, 1_000_000, 1),
    };
    let at = cur.offset();
    let v = cur.uint_be(n, what)?;
    if v >= limit {
        return Err(invalid(
            what,
            at,
            v,
            "the fractional seconds are out of range",
        ));
    }
    Ok((v * scale) as u32)
}

/// DATE (and NEWDATE): 3 little-endian bytes, `day | month << 5 | year << 9`
/// (`Field_newdate`). Zero and partial-zero dates are kept as stored.
fn date(cur: &mut Cursor<'_>) -> Result<Value> {
    let at = cur.offset();
    let v = cur.uint_le(3, "DATE value")?;
    let (year, month, day) = (v >> 9, (v >> 5) & 15, v & 31);
    if year > 9999 || month > 12 {
        return Err(invalid("DATE value", at, v, "year or month out of range"));
    }
    Ok(Value::Date {
        year: year as u16,
        month: month as u8,
        day: day as u8,
    })
}

/// TIMESTAMP2 (`my_timestamp_from_binary`): 4 big-endian bytes of seconds,
/// then the fraction.
fn timestamp2(cur: &mut Cursor<'_>, fsp: u8) -> Result<Value> {
    let seconds = cur.uint_be(4, "TIMESTAMP2 value")? as u32;
    let micros = frac_micros(cur, fsp, "TIMESTAMP2 fractional seconds")?;
    Ok(Value::Timestamp {
        seconds,
        micros,
        fsp,
    })
}

/// Checks and builds a DATETIME from its fields; `raw` is reported on error.
#[allow(clippy::too_many_arguments)]
fn datetime_value(
    what: &'static str,
    at: u64,
    raw: u64,
    year: u64,
    month: u64,
    day: u64,
    hms: (u64, u64, u64),
    micros: u32,
    fsp: u8,
) -> Result<Value> {
    let (hour, minute, second) = hms;
    if year > 9999 || month > 12 || day > 31 || hour > 23 || minute > 59 || second > 59 {
        return Err(invalid(
            what,
            at,
            raw,
            "a date or time field is out of range",
        ));
    }
    Ok(Value::DateTime {
        year: year as u16,
        month: month as u8,
        day: day as u8,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        micros,
        fsp,
    })
}

/// The pre-5.6.4 DATETIME: 8 little-endian bytes holding the decimal number
/// `YYYYMMDDhhmmss`.
fn datetime_old(cur: &mut Cursor<'_>) -> Result<Value> {
    let at = cur.offset();
    let v = cur.u64_le("DATETIME value")?;
    let (d, t) = (v / 1_000_000, v % 1_000_000);
    datetime_value(
        "DATETIME value",
        at,
        v,
        d / 10_000,
        d % 10_000 / 100,
        d % 100,
        (t / 10_000, t % 10_000 / 100, t % 100),
        0,
        0,
    )
}

/// DATETIME2 (`my_datetime_packed_from_binary`): 5 big-endian bytes minus
/// `DATETIMEF_INT_OFS`, laid out as `ym` (year * 13 + month, bits 22-39),
/// day (17-21), hour (12-16), minute (6-11), second (0-5); then the
/// fraction. Zero and partial-zero dates are kept as stored.
fn datetime2(cur: &mut Cursor<'_>, fsp: u8) -> Result<Value> {
    let at = cur.offset();
    let raw = cur.uint_be(5, "DATETIME2 value")?;
    let intpart = raw as i64 - DATETIMEF_INT_OFS;
    if intpart < 0 {
        return Err(invalid(
            "DATETIME2 value",
            at,
            raw,
            "negative (a DATETIME is never negative)",
        ));
    }
    let micros = frac_micros(cur, fsp, "DATETIME2 fractional seconds")?;
    let v = intpart as u64;
    let ymd = v >> 17;
    let ym = ymd >> 5;
    let hms = v & 0x1_ffff;
    datetime_value(
        "DATETIME2 value",
        at,
        raw,
        ym / 13,
        ym % 13,
        ymd & 31,
        (hms >> 12, (hms >> 6) & 63, hms & 63),
        micros,
        fsp,
    )
}

/// The pre-5.6.4 TIME: 3 little-endian bytes holding the signed decimal
/// number `[-]HHMMSS`.
fn time_old(cur: &mut Cursor<'_>) -> Result<Value> {
    let at = cur.offset();
    let raw = cur.uint_le(3, "TIME value")?;
    let v = sign_extend(raw, 3);
    let a = v.unsigned_abs();
    let (hours, minutes, seconds) = (a / 10_000, a / 100 % 100, a % 100);
    if minutes > 59 || seconds > 59 {
        return Err(invalid(
            "TIME value",
            at,
            raw,
            "minutes or seconds out of range",
        ));
    }
    Ok(Value::Time {
        negative: v < 0,
        hours: hours as u32,
        minutes: minutes as u8,
        seconds: seconds as u8,
        micros: 0,
        fsp: 0,
    })
}

/// TIME2, following `my_time_packed_from_binary`: the integer part is 3
/// big-endian bytes minus `TIMEF_INT_OFS` (hours in bits 12-21, minutes
/// 6-11, seconds 0-5); for precisions 1-2 and 3-4 a 1- or 2-byte fraction
/// follows, which for negative times is stored "borrowed" (the integer part
/// rounded down and the fraction as its complement), so it is adjusted back;
/// precisions 5-6 store the whole packed value (`int << 24 | micros`) as one
/// 48-bit number minus `TIMEF_OFS`.
fn time2(cur: &mut Cursor<'_>, fsp: u8) -> Result<Value> {
    let at = cur.offset();
    let n = match fsp {
        0 => 3,
        1 | 2 => 4,
        3 | 4 => 5,
        _ => 6,
    };
    let b = cur.bytes(n, "TIME2 value")?;
    let raw = be(b);
    let int3 = |b: &[u8]| be(b.get(..3).unwrap_or_default()) as i64 - TIMEF_INT_OFS;
    // The packed value: `(int_part << 24) + micros`, negative for negative times.
    // Every term is bounded (|int| < 2^23, |frac| < 2^16), so nothing overflows.
    let packed: i64 = match fsp {
        0 => int3(b) << 24,
        1 | 2 => {
            let (mut i, mut f) = (int3(b), be(b.get(3..).unwrap_or_default()) as i64);
            if i < 0 && f != 0 {
                i += 1;
                f -= 0x100;
            }
            (i << 24) + f * 10_000
        }
        3 | 4 => {
            let (mut i, mut f) = (int3(b), be(b.get(3..).unwrap_or_default()) as i64);
            if i < 0 && f != 0 {
                i += 1;
                f -= 0x1_0000;
            }
            (i << 24) + f * 100
        }
        _ => raw as i64 - TIMEF_OFS,
    };
    let negative = packed < 0;
    let a = packed.unsigned_abs();
    let (hms, micros) = (a >> 24, a & 0xff_ffff);
    let (hours, minutes, seconds) = (hms >> 12, (hms >> 6) & 63, hms & 63);
    if hours > 1023 || minutes > 59 || seconds > 59 || micros > 999_999 {
        return Err(invalid(
            "TIME2 value",
            at,
            raw,
            "a time field is out of range",
        ));
    }
    Ok(Value::Time {
        negative,
        hours: hours as u32,
        minutes: minutes as u8,
        seconds: seconds as u8,
        micros: micros as u32,
        fsp,
    })
}

// ---------------------------------------------------------------------------
// MariaDB compressed columns.
// ---------------------------------------------------------------------------

/// The original bytes of a MariaDB compressed column value
/// (`VARCHAR ... COMPRESSED`, `BLOB ... COMPRESSED`).
///
/// The stored value (MariaDB `sql/field.cc`, `Field_longstr::compress` and
/// `uncompress`; `sql/field_comp.cc`, `compress_zlib`/`uncompress_zlib`) is
/// empty for an empty string; otherwise a header byte whose high 4 bits are
/// the compression method, then:
///
/// - method 0: the data, stored uncompressed;
/// - method 8 (zlib): the header's low 3 bits are the number of bytes of the
///   original length, which follows big-endian; bit 3 is set when the
///   stream is raw deflate (no zlib wrapper, `column_compression_zlib_wrap`
///   off, the default); then the deflate stream.
///
/// Any other method is an error (MariaDB defines no other). The output is
/// bounded by the declared original length and by 1 GiB, and grows with the
/// actual output, never pre-allocated from the declared length.
fn mariadb_uncompress(data: &[u8], offset: u64) -> Result<Vec<u8>> {
    const WHAT: &str = "MariaDB compressed column value";
    let Some((&header, rest)) = data.split_first() else {
        return Ok(Vec::new());
    };
    match header >> 4 {
        0 => Ok(rest.to_vec()),
        8 => {
            let len_bytes = usize::from(header & 7);
            let raw_deflate = header & 8 != 0;
            let mut c = Cursor::new(rest, offset + 1);
            let declared = c.uint_be(len_bytes, "MariaDB compressed value's original length")?;
            if declared > MAX_DECOMPRESSED {
                return Err(DecodeError::TooLarge {
                    what: "decompressed MariaDB column value",
                    offset: offset + 1,
                    value: declared,
                    limit: MAX_DECOMPRESSED,
                });
            }
            let stream_at = c.offset();
            inflate_bounded(c.rest(), !raw_deflate, declared as usize, stream_at)
        }
        method => Err(DecodeError::Decompress {
            what: WHAT,
            offset,
            reason: format!(
                "unknown column compression method {method} (header byte {header:#04x}); \
                 MariaDB defines 0 (stored) and 8 (zlib)"
            ),
        }),
    }
}

/// Inflates `input` (zlib-wrapped or raw deflate) into at most `limit`
/// bytes, requiring the stream to end. Like MariaDB's `uncompress_zlib`,
/// bytes after the end of the stream are ignored.
fn inflate_bounded(input: &[u8], zlib: bool, limit: usize, offset: u64) -> Result<Vec<u8>> {
    use flate2::{Decompress, FlushDecompress, Status};
    const WHAT: &str = "MariaDB compressed column value";
    const STEP: usize = 64 * 1024;
    let err = |reason: String| DecodeError::Decompress {
        what: WHAT,
        offset,
        reason,
    };
    let mut d = Decompress::new(zlib);
    let mut out: Vec<u8> = Vec::new();
    loop {
        if out.len() == out.capacity() {
            // Room for one byte past the limit, so a stream that exactly
            // fills the declared length can still reach its end marker, and
            // one that goes past it is seen.
            let room = (limit + 1)
                .saturating_sub(out.len())
                .min(out.len().max(STEP));
            if room == 0 {
                return Err(err(format!(
                    "the data inflates past its declared length of {limit} bytes"
                )));
            }
            out.reserve_exact(room);
        }
        let consumed = usize::try_from(d.total_in()).unwrap_or(usize::MAX);
        let before = (d.total_in(), out.len());
        let status = d
            .decompress_vec(
                input.get(consumed..).unwrap_or_default(),
                &mut out,
                FlushDecompress::Finish,
            )
            .map_err(|e| err(e.to_string()))?;
        if out.len() > limit {
            return Err(err(format!(
                "the data inflates past its declared length of {limit} bytes"
            )));
        }
        match status {
            Status::StreamEnd => return Ok(out),
            Status::Ok | Status::BufError => {
                if (d.total_in(), out.len()) == before && out.len() < out.capacity() {
                    return Err(err(
                        "the compressed stream ends before its end marker".to_owned()
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn col(t: ColumnType, meta: u16) -> ColumnInfo {
        ColumnInfo::new(t, meta)
    }

    fn signed(t: ColumnType, unsigned: Option<bool>) -> ColumnInfo {
        ColumnInfo {
            unsigned,
            ..ColumnInfo::new(t, 0)
        }
    }

    /// Decodes `bytes` fully: the value must take every byte.
    fn dec(bytes: &[u8], c: &ColumnInfo) -> Value {
        let (v, n) = decode_value_bytes(bytes, c).unwrap();
        assert_eq!(n, bytes.len(), "{v:?} took {n} of {} bytes", bytes.len());
        v
    }

    fn err(bytes: &[u8], c: &ColumnInfo) -> DecodeError {
        decode_value_bytes(bytes, c).unwrap_err()
    }

    #[test]
    fn integers() {
        use ColumnType as T;
        let s = |t| signed(t, Some(false));
        let u = |t| signed(t, Some(true));
        assert_eq!(dec(&[0x80], &s(T::TINY)), Value::Int(-128));
        assert_eq!(dec(&[0x7f], &s(T::TINY)), Value::Int(127));
        assert_eq!(dec(&[0xff], &u(T::TINY)), Value::UInt(255));
        assert_eq!(
            dec(&[0xff], &signed(T::TINY, None)),
            Value::IntUnknownSign { raw: 255, bytes: 1 }
        );
        assert_eq!(dec(&[0x00, 0x80], &s(T::SHORT)), Value::Int(-32768));
        assert_eq!(dec(&[0xff, 0xff], &u(T::SHORT)), Value::UInt(65535));
        assert_eq!(
            dec(&[0x00, 0x00, 0x80], &s(T::INT24)),
            Value::Int(-8_388_608)
        );
        assert_eq!(
            dec(&[0xff, 0xff, 0x7f], &s(T::INT24)),
            Value::Int(8_388_607)
        );
        assert_eq!(dec(&[0xff, 0xff, 0xff], &s(T::INT24)), Value::Int(-1));
        assert_eq!(
            dec(&[0xff, 0xff, 0xff], &u(T::INT24)),
            Value::UInt(16_777_215)
        );
        assert_eq!(
            dec(&[0xff, 0xff, 0xff], &signed(T::INT24, None)),
            Value::IntUnknownSign {
                raw: 16_777_215,
                bytes: 3
            }
        );
        assert_eq!(
            dec(&i32::MIN.to_le_bytes(), &s(T::LONG)),
            Value::Int(i32::MIN.into())
        );
        assert_eq!(
            dec(&u32::MAX.to_le_bytes(), &u(T::LONG)),
            Value::UInt(u32::MAX.into())
        );
        assert_eq!(
            dec(&u64::MAX.to_le_bytes(), &u(T::LONGLONG)),
            Value::UInt(u64::MAX)
        );
        assert_eq!(
            dec(&i64::MIN.to_le_bytes(), &s(T::LONGLONG)),
            Value::Int(i64::MIN)
        );
        assert_eq!(
            dec(&u64::MAX.to_le_bytes(), &signed(T::LONGLONG, None)),
            Value::IntUnknownSign {
                raw: u64::MAX,
                bytes: 8
            }
        );
        // Truncated: an error, and nothing consumed.
        assert!(matches!(
            err(&[1, 2, 3], &s(T::LONG)),
            DecodeError::Truncated {
                needed: 4,
                available: 3,
                ..
            }
        ));
    }

    #[test]
    fn floats_are_bit_exact() {
        let f = |x: f32| match dec(&x.to_bits().to_le_bytes(), &col(ColumnType::FLOAT, 4)) {
            Value::Float(v) => v.to_bits(),
            v => panic!("{v:?}"),
        };
        for x in [
            0.0f32,
            -0.0,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            f32::from_bits(1),
            f32::INFINITY,
            1.5,
        ] {
            assert_eq!(f(x), x.to_bits());
        }
        assert_eq!(f(f32::from_bits(0x7fc0_0001)), 0x7fc0_0001);
        let d = |x: f64| match dec(&x.to_bits().to_le_bytes(), &col(ColumnType::DOUBLE, 8)) {
            Value::Double(v) => v.to_bits(),
            v => panic!("{v:?}"),
        };
        for x in [
            0.0f64,
            -0.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::from_bits(1),
            f64::NEG_INFINITY,
            0.1,
        ] {
            assert_eq!(d(x), x.to_bits());
        }
        assert_eq!(
            d(f64::from_bits(0x7ff8_0000_0000_0001)),
            0x7ff8_0000_0000_0001
        );
    }

    /// Encodes a decimal as `decimal2bin` does, from its digit strings.
    fn enc_decimal(negative: bool, int_digits: &str, frac_digits: &str) -> Vec<u8> {
        let mut groups: Vec<&str> = Vec::new();
        let lead = int_digits.len() % 9;
        if lead > 0 {
            groups.push(&int_digits[..lead]);
        }
        groups.extend(
            int_digits.as_bytes()[lead..]
                .chunks(9)
                .map(|c| std::str::from_utf8(c).unwrap()),
        );
        groups.extend(
            frac_digits
                .as_bytes()
                .chunks(9)
                .map(|c| std::str::from_utf8(c).unwrap()),
        );
        let mut out = Vec::new();
        for g in groups {
            let v: u32 = g.parse().unwrap();
            let n = DIG2BYTES[g.len()];
            out.extend_from_slice(&v.to_be_bytes()[4 - n..]);
        }
        if negative {
            for b in &mut out {
                *b = !*b;
            }
        }
        out[0] ^= 0x80;
        out
    }

    /// The text MySQL prints for a decimal given by its digits.
    fn decimal_expected(negative: bool, int_digits: &str, frac_digits: &str) -> String {
        let int = int_digits.trim_start_matches('0');
        if frac_digits.is_empty() && int.is_empty() {
            return "0".into();
        }
        let mut s = String::new();
        if negative {
            s.push('-');
        }
        s.push_str(if int.is_empty() { "0" } else { int });
        if !frac_digits.is_empty() {
            s.push('.');
            s.push_str(frac_digits);
        }
        s
    }

    fn decimal_col(p: u8, s: u8) -> ColumnInfo {
        col(ColumnType::NEWDECIMAL, u16::from(p) | u16::from(s) << 8)
    }

    fn dec_text(bytes: &[u8], p: u8, s: u8) -> String {
        match dec(bytes, &decimal_col(p, s)) {
            Value::Decimal(t) => t,
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn decimals() {
        // DECIMAL(5,2): 3 integer digits in 2 bytes, 2 fraction digits in 1.
        assert_eq!(dec_text(&[0x80, 0x7b, 0x2d], 5, 2), "123.45");
        assert_eq!(dec_text(&[0x7f, 0x84, 0xd2], 5, 2), "-123.45");
        assert_eq!(dec_text(&[0x80, 0x00, 0x00], 5, 2), "0.00");
        assert_eq!(dec_text(&[0x80, 0x00, 0x05], 5, 2), "0.05");
        // DECIMAL(7,4) 123.4500 keeps every scale digit.
        assert_eq!(
            dec_text(&enc_decimal(false, "123", "4500"), 7, 4),
            "123.4500"
        );
        // Zero with scale 0.
        assert_eq!(dec_text(&enc_decimal(false, "00000", ""), 5, 0), "0");
        assert_eq!(dec_text(&enc_decimal(true, "00000", ""), 5, 0), "0");
        // -0.000001 and leading zero groups.
        assert_eq!(
            dec_text(&enc_decimal(true, "0000", "000001"), 10, 6),
            "-0.000001"
        );
        assert_eq!(
            dec_text(&enc_decimal(false, "0000000000012", "5"), 14, 1),
            "12.5"
        );
        // A negative zero (never written by the server) prints as MySQL does.
        assert_eq!(dec_text(&enc_decimal(true, "000", "00"), 5, 2), "-0.00");
        // DECIMAL(65,30) extremes.
        let nines = |n| "9".repeat(n);
        let max = enc_decimal(false, &nines(35), &nines(30));
        assert_eq!(max.len(), decimal_bin_size(65, 30));
        assert_eq!(
            dec_text(&max, 65, 30),
            format!("{}.{}", nines(35), nines(30))
        );
        let min = enc_decimal(true, &nines(35), &nines(30));
        assert_eq!(
            dec_text(&min, 65, 30),
            format!("-{}.{}", nines(35), nines(30))
        );
        let tiny = enc_decimal(true, &"0".repeat(35), &format!("{}1", "0".repeat(29)));
        assert_eq!(dec_text(&tiny, 65, 30), format!("-0.{}1", "0".repeat(29)));
        assert_eq!(
            dec_text(&enc_decimal(false, &nines(65), ""), 65, 0),
            nines(65)
        );
        // DECIMAL(30,30): no integer digits.
        assert_eq!(
            dec_text(&enc_decimal(false, "", &nines(30)), 30, 30),
            format!("0.{}", nines(30))
        );
        // Metadata out of range.
        for (p, s) in [(0, 0), (66, 0), (10, 11), (65, 31)] {
            assert!(
                matches!(
                    err(&[0; 40], &decimal_col(p, s)),
                    DecodeError::Invalid { .. }
                ),
                "{p},{s}"
            );
        }
        // A digit group out of range: 1000 in a 3-digit (2-byte) group.
        assert!(matches!(
            err(&[0x83, 0xe8], &decimal_col(3, 0)),
            DecodeError::Invalid {
                what: "DECIMAL digit group",
                offset: 0,
                value: 1000,
                ..
            }
        ));
        // The old DECIMAL type is not supported.
        assert!(matches!(
            err(&[0; 8], &col(ColumnType::DECIMAL, 0x0205)),
            DecodeError::UnsupportedColumnType { type_code: 0, .. }
        ));
    }

    #[test]
    fn year_and_date() {
        assert_eq!(dec(&[0], &col(ColumnType::YEAR, 0)), Value::Year(0));
        assert_eq!(dec(&[1], &col(ColumnType::YEAR, 0)), Value::Year(1901));
        assert_eq!(dec(&[255], &col(ColumnType::YEAR, 0)), Value::Year(2155));
        let date = |y: u32, m: u32, d: u32| {
            let v = y << 9 | m << 5 | d;
            v.to_le_bytes()[..3].to_vec()
        };
        for t in [ColumnType::DATE, ColumnType::NEWDATE] {
            assert_eq!(
                dec(&date(2020, 12, 31), &col(t, 0)),
                Value::Date {
                    year: 2020,
                    month: 12,
                    day: 31
                }
            );
            assert_eq!(
                dec(&date(0, 0, 0), &col(t, 0)),
                Value::Date {
                    year: 0,
                    month: 0,
                    day: 0
                }
            );
            assert_eq!(
                dec(&date(2020, 0, 15), &col(t, 0)),
                Value::Date {
                    year: 2020,
                    month: 0,
                    day: 15
                }
            );
            assert_eq!(
                dec(&date(9999, 12, 31), &col(t, 0)),
                Value::Date {
                    year: 9999,
                    month: 12,
                    day: 31
                }
            );
            assert!(decode_value_bytes(&date(2020, 13, 1), &col(t, 0)).is_err());
        }
    }

    fn frac_bytes(micros: u32, fsp: u8) -> Vec<u8> {
        match fsp {
            0 => vec![],
            1 | 2 => vec![(micros / 10_000) as u8],
            3 | 4 => ((micros / 100) as u16).to_be_bytes().to_vec(),
            _ => micros.to_be_bytes()[1..].to_vec(),
        }
    }

    fn enc_timestamp2(seconds: u32, micros: u32, fsp: u8) -> Vec<u8> {
        let mut b = seconds.to_be_bytes().to_vec();
        b.extend(frac_bytes(micros, fsp));
        b
    }

    /// Encodes a DATETIME2 as `my_datetime_packed_to_binary` does.
    #[allow(clippy::too_many_arguments)]
    fn enc_datetime2(
        y: u64,
        mo: u64,
        d: u64,
        h: u64,
        mi: u64,
        s: u64,
        micros: u32,
        fsp: u8,
    ) -> Vec<u8> {
        let int =
            ((y * 13 + mo) << 22 | d << 17 | h << 12 | mi << 6 | s) + DATETIMEF_INT_OFS as u64;
        let mut b = int.to_be_bytes()[3..].to_vec();
        b.extend(frac_bytes(micros, fsp));
        b
    }

    /// Encodes a TIME2 as `my_time_packed_to_binary` does, from the packed
    /// value `(hms << 24) + micros` (negated for negative times).
    fn enc_time2(packed: i64, fsp: u8) -> Vec<u8> {
        let int = |i: i64| ((i + TIMEF_INT_OFS) as u32).to_be_bytes()[1..].to_vec();
        let frac = packed % (1 << 24); // C's `%`: the sign of the dividend
        match fsp {
            0 => int(packed >> 24),
            1 | 2 => {
                let mut b = int(packed >> 24);
                b.push((frac / 10_000) as i8 as u8);
                b
            }
            3 | 4 => {
                let mut b = int(packed >> 24);
                b.extend(((frac / 100) as i16).to_be_bytes());
                b
            }
            _ => ((packed + TIMEF_OFS) as u64).to_be_bytes()[2..].to_vec(),
        }
    }

    fn packed_time(neg: bool, h: i64, m: i64, s: i64, us: i64) -> i64 {
        let p = ((h << 12 | m << 6 | s) << 24) + us;
        if neg {
            -p
        } else {
            p
        }
    }

    #[test]
    fn timestamps() {
        let old = col(ColumnType::TIMESTAMP, 0);
        assert_eq!(
            dec(&1u32.to_le_bytes(), &old),
            Value::Timestamp {
                seconds: 1,
                micros: 0,
                fsp: 0
            }
        );
        let t2 = |fsp| col(ColumnType::TIMESTAMP2, fsp);
        assert_eq!(
            dec(&enc_timestamp2(1, 0, 0), &t2(0)),
            Value::Timestamp {
                seconds: 1,
                micros: 0,
                fsp: 0
            }
        );
        assert_eq!(
            dec(&enc_timestamp2(2_147_483_647, 999_999, 6), &t2(6)),
            Value::Timestamp {
                seconds: 2_147_483_647,
                micros: 999_999,
                fsp: 6
            }
        );
        assert_eq!(
            dec(&enc_timestamp2(2_147_483_647, 0, 0), &t2(0)),
            Value::Timestamp {
                seconds: 2_147_483_647,
                micros: 0,
                fsp: 0
            }
        );
        for fsp in 1..=6u8 {
            let step = 10u32.pow(6 - u32::from(fsp));
            let micros = 999_999 / step * step;
            assert_eq!(
                dec(&enc_timestamp2(0, micros, fsp), &t2(fsp.into())),
                Value::Timestamp {
                    seconds: 0,
                    micros,
                    fsp
                }
            );
        }
        // An out-of-range fraction and an out-of-range precision.
        assert!(decode_value_bytes(&[0, 0, 0, 1, 100], &t2(2)).is_err());
        assert!(matches!(
            err(&[0; 8], &t2(7)),
            DecodeError::Invalid { value: 7, .. }
        ));
    }

    #[test]
    fn datetimes() {
        let c = |fsp| col(ColumnType::DATETIME2, fsp);
        let dt = |y, mo, d, h, mi, s, micros, fsp| Value::DateTime {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
            micros,
            fsp,
        };
        for fsp in 0..=6u8 {
            let step = 10u32.pow(6 - u32::from(fsp));
            for micros in [0, 1, 999_999] {
                let micros = micros / step * step;
                let b = enc_datetime2(2024, 2, 29, 23, 59, 59, micros, fsp);
                assert_eq!(b.len(), 5 + usize::from(fsp + 1) / 2);
                assert_eq!(
                    dec(&b, &c(fsp.into())),
                    dt(2024, 2, 29, 23, 59, 59, micros, fsp)
                );
            }
        }
        assert_eq!(
            dec(&enc_datetime2(2024, 1, 1, 0, 0, 0, 1, 6), &c(6)),
            dt(2024, 1, 1, 0, 0, 0, 1, 6)
        );
        assert_eq!(
            dec(&enc_datetime2(0, 0, 0, 0, 0, 0, 0, 0), &c(0)),
            dt(0, 0, 0, 0, 0, 0, 0, 0)
        );
        assert_eq!(
            dec(&enc_datetime2(2020, 0, 15, 0, 0, 0, 0, 0), &c(0)),
            dt(2020, 0, 15, 0, 0, 0, 0, 0)
        );
        assert_eq!(
            dec(&enc_datetime2(9999, 12, 31, 23, 59, 59, 999_999, 6), &c(6)),
            dt(9999, 12, 31, 23, 59, 59, 999_999, 6)
        );
        // Below DATETIMEF_INT_OFS (negative), and a minute of 60.
        assert!(decode_value_bytes(&[0x7f, 0xff, 0xff, 0xff, 0xff], &c(0)).is_err());
        assert!(decode_value_bytes(&enc_datetime2(2020, 1, 1, 0, 60, 0, 0, 0), &c(0)).is_err());
        // The old DATETIME: the decimal number YYYYMMDDhhmmss.
        let old = col(ColumnType::DATETIME, 0);
        assert_eq!(
            dec(&20_240_229_235_958u64.to_le_bytes(), &old),
            dt(2024, 2, 29, 23, 59, 58, 0, 0)
        );
        assert_eq!(dec(&0u64.to_le_bytes(), &old), dt(0, 0, 0, 0, 0, 0, 0, 0));
        assert!(decode_value_bytes(&u64::MAX.to_le_bytes(), &old).is_err());
    }

    fn time(negative: bool, hours: u32, minutes: u8, seconds: u8, micros: u32, fsp: u8) -> Value {
        Value::Time {
            negative,
            hours,
            minutes,
            seconds,
            micros,
            fsp,
        }
    }

    #[test]
    fn times() {
        let c = |fsp| col(ColumnType::TIME2, fsp);
        let t2 = |neg, h, m, s, us: i64, fsp: u8| {
            dec(
                &enc_time2(packed_time(neg, h, m, s, us), fsp),
                &c(fsp.into()),
            )
        };
        for fsp in 0..=6 {
            assert_eq!(
                t2(true, 838, 59, 59, 0, fsp),
                time(true, 838, 59, 59, 0, fsp)
            );
            assert_eq!(
                t2(false, 838, 59, 59, 0, fsp),
                time(false, 838, 59, 59, 0, fsp)
            );
            assert_eq!(t2(false, 255, 0, 0, 0, fsp), time(false, 255, 0, 0, 0, fsp));
            assert_eq!(
                t2(true, 507, 48, 27, 0, fsp),
                time(true, 507, 48, 27, 0, fsp)
            );
            assert_eq!(t2(false, 0, 0, 0, 0, fsp), time(false, 0, 0, 0, 0, fsp));
        }
        for fsp in [2, 4, 6] {
            assert_eq!(
                t2(true, 0, 0, 0, 10_000, fsp),
                time(true, 0, 0, 0, 10_000, fsp)
            );
        }
        for fsp in 1..=6 {
            assert_eq!(
                t2(true, 1, 0, 0, 500_000, fsp),
                time(true, 1, 0, 0, 500_000, fsp)
            );
            assert_eq!(
                t2(false, 1, 0, 0, 500_000, fsp),
                time(false, 1, 0, 0, 500_000, fsp)
            );
            assert_eq!(
                t2(true, 838, 59, 59, 990_000, fsp),
                time(true, 838, 59, 59, 990_000, fsp)
            );
        }
        assert_eq!(t2(true, 0, 0, 0, 1, 6), time(true, 0, 0, 0, 1, 6));
        assert_eq!(
            t2(true, 0, 0, 1, 999_999, 6),
            time(true, 0, 0, 1, 999_999, 6)
        );
        // Known bytes: -00:00:00.01 with fsp 2 is 7f ff ff ff (int -1, frac -1).
        assert_eq!(
            enc_time2(packed_time(true, 0, 0, 0, 10_000), 2),
            vec![0x7f, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            dec(&[0x7f, 0xff, 0xff, 0xff], &c(2)),
            time(true, 0, 0, 0, 10_000, 2)
        );
        // 838:59:59 with fsp 0 is 0x800000 + (838 << 12 | 59 << 6 | 59).
        assert_eq!(
            dec(&[0xb4, 0x6e, 0xfb], &c(0)),
            time(false, 838, 59, 59, 0, 0)
        );
        assert_eq!(
            dec(&[0x4b, 0x91, 0x05], &c(0)),
            time(true, 838, 59, 59, 0, 0)
        );
        // A fraction of 100 hundredths is out of range.
        assert!(decode_value_bytes(&[0x80, 0, 0, 100], &c(2)).is_err());
        // The old TIME: the signed decimal number HHMMSS.
        let old = col(ColumnType::TIME, 0);
        let hhmmss = |v: i32| v.to_le_bytes()[..3].to_vec();
        assert_eq!(
            dec(&hhmmss(-8_385_959), &old),
            time(true, 838, 59, 59, 0, 0)
        );
        assert_eq!(
            dec(&hhmmss(8_385_959), &old),
            time(false, 838, 59, 59, 0, 0)
        );
        assert_eq!(dec(&hhmmss(120_000), &old), time(false, 12, 0, 0, 0, 0));
        assert!(decode_value_bytes(&hhmmss(99), &old).is_err());
    }

    #[test]
    fn strings() {
        let v = |m: u16| col(ColumnType::VARCHAR, m);
        assert_eq!(
            dec(&[3, b'a', b'b', b'c'], &v(255)),
            Value::Bytes(b"abc".to_vec())
        );
        assert_eq!(
            dec(&[3, 0, b'a', b'b', b'c'], &v(256)),
            Value::Bytes(b"abc".to_vec())
        );
        assert_eq!(dec(&[0], &v(10)), Value::Bytes(vec![]));
        assert_eq!(
            dec(&[1, b'x'], &col(ColumnType::VAR_STRING, 30)),
            Value::Bytes(b"x".to_vec())
        );
        assert!(matches!(
            err(&[5, b'a'], &v(10)),
            DecodeError::Truncated { needed: 5, .. }
        ));
        // CHAR(10): m0 = 0xfe (STRING), m1 = 10.
        let char10 = col(ColumnType::STRING, 0x0afe);
        assert_eq!(dec(&[2, b'h', b'i'], &char10), Value::Bytes(b"hi".to_vec()));
        // CHAR(255) in utf8mb4 = 1020 bytes: m0 = 0xfe ^ 0x30 = 0xce, m1 = 0xfc; a 2-byte prefix.
        let char1020 = col(ColumnType::STRING, 0xfcce);
        assert_eq!(
            dec(&[2, 0, b'h', b'i'], &char1020),
            Value::Bytes(b"hi".to_vec())
        );
        // ENUM and SET inside STRING.
        assert_eq!(dec(&[2], &col(ColumnType::STRING, 0x01f7)), Value::Enum(2));
        assert_eq!(
            dec(&[0x34, 0x12], &col(ColumnType::STRING, 0x02f7)),
            Value::Enum(0x1234)
        );
        assert_eq!(
            dec(&[0xff; 8], &col(ColumnType::STRING, 0x08f8)),
            Value::Set(u64::MAX)
        );
        assert_eq!(dec(&[0], &col(ColumnType::STRING, 0x01f8)), Value::Set(0));
        assert_eq!(
            dec(&[0x05, 0x01], &col(ColumnType::STRING, 0x02f8)),
            Value::Set(0x105)
        );
        // ENUM and SET as direct types.
        assert_eq!(dec(&[7], &col(ColumnType::ENUM, 0x0100)), Value::Enum(7));
        assert_eq!(
            dec(&[0xff, 0xff, 0xff], &col(ColumnType::SET, 0x0300)),
            Value::Set(0xff_ffff)
        );
        assert!(decode_value_bytes(&[0; 4], &col(ColumnType::ENUM, 0x0300)).is_err());
        assert!(decode_value_bytes(&[0; 9], &col(ColumnType::SET, 0x0900)).is_err());
    }

    #[test]
    fn bits() {
        let b = |bits: u16, bytes: u16| col(ColumnType::BIT, bits | bytes << 8);
        assert_eq!(dec(&[1], &b(1, 0)), Value::Bit { value: 1, width: 1 });
        assert_eq!(dec(&[0], &b(1, 0)), Value::Bit { value: 0, width: 1 });
        assert_eq!(
            dec(&[0xff; 8], &b(0, 8)),
            Value::Bit {
                value: u64::MAX,
                width: 64
            }
        );
        assert_eq!(
            dec(&[0x03, 0xff], &b(2, 1)),
            Value::Bit {
                value: 0x3ff,
                width: 10
            }
        );
        assert_eq!(
            dec(&[0x12, 0x34], &b(0, 2)),
            Value::Bit {
                value: 0x1234,
                width: 16
            }
        );
        // More than 8 bytes, a bit count over 7, bits beyond the width.
        assert!(decode_value_bytes(&[0; 9], &b(1, 8)).is_err());
        assert!(decode_value_bytes(&[0; 9], &b(8, 0)).is_err());
        assert!(decode_value_bytes(&[2], &b(1, 0)).is_err());
    }

    #[test]
    fn blobs_and_geometry() {
        for (t, n) in [
            (ColumnType::TINY_BLOB, 1u16),
            (ColumnType::BLOB, 2),
            (ColumnType::MEDIUM_BLOB, 3),
            (ColumnType::LONG_BLOB, 4),
            (ColumnType::BLOB, 4),
        ] {
            let mut bytes = vec![0u8; usize::from(n)];
            bytes[0] = 3;
            bytes.extend(b"xyz");
            assert_eq!(dec(&bytes, &col(t, n)), Value::Bytes(b"xyz".to_vec()));
        }
        assert!(decode_value_bytes(&[0], &col(ColumnType::BLOB, 0)).is_err());
        assert!(decode_value_bytes(&[0; 5], &col(ColumnType::BLOB, 5)).is_err());
        // A huge declared length is an error before any allocation.
        assert!(matches!(
            err(&[0xff, 0xff, 0xff, 0xff, 1], &col(ColumnType::LONG_BLOB, 4)),
            DecodeError::Truncated {
                needed: 0xffff_ffff,
                ..
            }
        ));
        // GEOMETRY: SRID 4326 and an empty GEOMETRYCOLLECTION.
        let wkb = [1, 7, 0, 0, 0, 0, 0, 0, 0];
        let mut bytes = vec![13, 0, 0, 0];
        bytes.extend(4326u32.to_le_bytes());
        bytes.extend(wkb);
        assert_eq!(
            dec(&bytes, &col(ColumnType::GEOMETRY, 4)),
            Value::Geometry {
                srid: 4326,
                wkb: wkb.to_vec()
            }
        );
        assert!(matches!(
            err(&[3, 1, 2, 3], &col(ColumnType::GEOMETRY, 1)),
            DecodeError::Invalid {
                what: "GEOMETRY value",
                offset: 1,
                ..
            }
        ));
    }

    #[test]
    fn json_columns() {
        use crate::jsonb::tests::{encode, Jv};
        let doc = encode(&Jv::Arr(vec![Jv::Int(1), Jv::Str("a".into())]), false);
        let mut bytes = (doc.len() as u32).to_le_bytes().to_vec();
        bytes.extend(&doc);
        assert_eq!(
            dec(&bytes, &col(ColumnType::JSON, 4)),
            Value::Json(r#"[1, "a"]"#.into())
        );
        // A zero-length JSON value is the JSON null literal, as MySQL reads it.
        assert_eq!(
            dec(&[0, 0, 0, 0], &col(ColumnType::JSON, 4)),
            Value::Json("null".into())
        );
        // Errors inside the document carry absolute offsets (type byte at 4).
        assert!(matches!(
            err(&[1, 0, 0, 0, 0x0e], &col(ColumnType::JSON, 4)),
            DecodeError::Invalid { offset: 4, .. }
        ));
    }

    fn zlib(data: &[u8], wrapped: bool) -> Vec<u8> {
        use flate2::write::{DeflateEncoder, ZlibEncoder};
        use std::io::Write;
        if wrapped {
            let mut e = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        } else {
            let mut e = DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
    }

    /// A value as MariaDB's `compress_zlib` stores it.
    fn mariadb_compressed(data: &[u8], wrapped: bool) -> Vec<u8> {
        let len_bytes = (8 - (data.len() as u64).leading_zeros() as usize / 8).max(1);
        let mut out = vec![0x80 | len_bytes as u8 | if wrapped { 0 } else { 8 }];
        out.extend(&(data.len() as u64).to_be_bytes()[8 - len_bytes..]);
        out.extend(zlib(data, wrapped));
        out
    }

    fn with_prefix(n: usize, data: &[u8]) -> Vec<u8> {
        let mut b = (data.len() as u64).to_le_bytes()[..n].to_vec();
        b.extend(data);
        b
    }

    #[test]
    fn mariadb_compressed_columns() {
        let text: Vec<u8> = b"hello, compressed world! ".repeat(40);
        let blob = col(ColumnType::BLOB_COMPRESSED, 2);
        let varchar = col(ColumnType::VARCHAR_COMPRESSED, 2000);
        for wrapped in [false, true] {
            let stored = mariadb_compressed(&text, wrapped);
            assert!(stored.len() < text.len());
            assert_eq!(
                dec(&with_prefix(2, &stored), &blob),
                Value::Bytes(text.clone())
            );
            assert_eq!(
                dec(&with_prefix(2, &stored), &varchar),
                Value::Bytes(text.clone())
            );
        }
        // Method 0: stored uncompressed after the header byte.
        let mut stored = vec![0];
        stored.extend(b"short");
        assert_eq!(
            dec(
                &with_prefix(1, &stored),
                &col(ColumnType::VARCHAR_COMPRESSED, 100)
            ),
            Value::Bytes(b"short".to_vec())
        );
        // The empty string is stored as nothing at all.
        assert_eq!(dec(&[0, 0], &blob), Value::Bytes(vec![]));
        // An unknown method.
        assert!(matches!(
            err(&with_prefix(2, &[0x90, 1, 2]), &blob),
            DecodeError::Decompress { .. }
        ));
        // A declared length shorter than the data, or longer than 1 GiB.
        let mut short = mariadb_compressed(&text, false);
        short[2] -= 1;
        assert!(matches!(
            err(&with_prefix(2, &short), &blob),
            DecodeError::Decompress { .. }
        ));
        let huge = [0x84 | 8, 0x40, 0, 0, 1, 0];
        assert!(matches!(
            err(&with_prefix(2, &huge), &blob),
            DecodeError::TooLarge { .. }
        ));
        // A truncated stream.
        let stored = mariadb_compressed(&text, true);
        let cut = &stored[..stored.len() - 6];
        assert!(matches!(
            err(&with_prefix(2, cut), &blob),
            DecodeError::Decompress { .. }
        ));
        // Garbage.
        assert!(
            decode_value_bytes(&with_prefix(2, &[0x81 | 8, 10, 0xff, 0xff, 0xff]), &blob).is_err()
        );
    }

    #[test]
    fn null_and_unsupported_types() {
        assert_eq!(dec(&[], &col(ColumnType::NULL, 0)), Value::Null);
        for t in [
            ColumnType::VECTOR,
            ColumnType::TYPED_ARRAY,
            ColumnType::DECIMAL,
            ColumnType(100),
            ColumnType(243),
        ] {
            let mut c = Cursor::new(&[1, 2, 3, 4], 50);
            assert_eq!(
                decode_value(&mut c, &col(t, 4), 7),
                Err(DecodeError::UnsupportedColumnType {
                    offset: 50,
                    column: 7,
                    type_code: t.0
                })
            );
        }
    }

    #[test]
    fn errors_leave_the_cursor_in_place() {
        // The length prefix is read, then the data is missing: still no advance.
        let mut c = Cursor::new(&[9, 1, 2], 1000);
        assert!(decode_value(&mut c, &col(ColumnType::VARCHAR, 20), 0).is_err());
        assert_eq!(c.offset(), 1000);
        let mut c = Cursor::new(&[3, 0x83, 0xe8], 0);
        c.skip(1, "x").unwrap();
        assert!(decode_value(&mut c, &decimal_col(3, 0), 0).is_err());
        assert_eq!(c.offset(), 1);
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// WRITE_ROWS_V1 bodies from a MariaDB 10.11 binlog, for
    /// `CREATE TABLE c (id INT PRIMARY KEY, v VARCHAR(500) COMPRESSED,
    /// b BLOB COMPRESSED, t TEXT COMPRESSED CHARACTER SET utf8mb4, j JSON,
    /// tm TIME(6), d DECIMAL(10,4), bt BIT(10), st SET('a','b','c'),
    /// e ENUM('x','y'), ch CHAR(200) CHARACTER SET utf8mb4)` (utf8mb4) and
    /// three inserts, the third with `column_compression_zlib_wrap=ON`.
    const MARIADB_ROWS: [&str; 3] = [
        concat!(
            "21000000000001000bff0700f80100000006000073686f727405000074696e790000140000007b2261223a205b312c20",
            "322e352c202278225d7d7feffff85ee07ffff3f2b702010502030068c3a9",
        ),
        concat!(
            "21000000000001000bff0710f80200000012008a01904b4c4a4e494d4bcf481ca507050d0015008a07d063f8cf300a47",
            "e1281c85a370148ec2210e0128008a0bb87b367de9b3396b5eac9aa7f06c9435ca1a658db24659a3ac51d6286b9435ca",
            "1a650d521600b46efb0000008000000000000000010000",
        ),
        concat!(
            "21000000000001000bff0700fa0300000018008201e0789c2b2f4a2c28484d51281fa587250d00a327b8751f00821388",
            "789cedc13101000000c2a0de4b6f0a3fa00000000080b701b6314f581c008207d0789c3bbcf2f0281c85a370148ec251",
            "380a873804007a328e2c020000005b5d7fffffffffff8f423f270f03ff07c80078787878787878787878787878787878",
            "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878",
            "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878",
            "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878",
            "78787878787878787878787878787878787878787878787878787878787878787878787878787878",
        ),
    ];

    /// The columns as that table's TABLE_MAP describes them (MariaDB writes
    /// VARCHAR COMPRESSED as type 141 with the VARCHAR metadata, BLOB and
    /// TEXT COMPRESSED as type 140 with the BLOB metadata).
    fn mariadb_columns() -> Vec<ColumnInfo> {
        vec![
            signed(ColumnType::LONG, Some(false)),
            col(ColumnType::VARCHAR_COMPRESSED, 2001),
            col(ColumnType::BLOB_COMPRESSED, 2),
            col(ColumnType::BLOB_COMPRESSED, 2),
            col(ColumnType::BLOB, 4),
            col(ColumnType::TIME2, 6),
            col(ColumnType::NEWDECIMAL, 0x040a),
            col(ColumnType::BIT, 0x0102),
            col(ColumnType::STRING, 0x01f8),
            col(ColumnType::STRING, 0x01f7),
            col(ColumnType::STRING, 0x20ce),
        ]
    }

    /// Decodes one row (NULL bitmap, then the values) of a rows event body
    /// whose columns are all present.
    fn decode_row(cur: &mut Cursor<'_>, cols: &[ColumnInfo]) -> Vec<Value> {
        let nulls = cur.bytes(cols.len().div_ceil(8), "nulls").unwrap().to_vec();
        cols.iter()
            .enumerate()
            .map(|(i, c)| {
                if nulls[i / 8] & (1 << (i % 8)) != 0 {
                    Value::Null
                } else {
                    decode_value(cur, c, i).unwrap()
                }
            })
            .collect()
    }

    #[test]
    fn mariadb_10_11_row_images() {
        let cols = mariadb_columns();
        let rows: Vec<Vec<Value>> = MARIADB_ROWS
            .iter()
            .map(|h| {
                let body = unhex(h);
                // Table id (6), flags (2), column count (1), present bitmap (2).
                let mut cur = Cursor::new(&body, 0);
                cur.skip(11, "header").unwrap();
                let row = decode_row(&mut cur, &cols);
                assert!(cur.is_empty());
                row
            })
            .collect();
        let bytes = |b: &[u8]| Value::Bytes(b.to_vec());
        assert_eq!(
            rows[0],
            vec![
                Value::Int(1),
                bytes(b"short"),
                bytes(b"tiny"),
                bytes(b""),
                bytes(br#"{"a": [1, 2.5, "x"]}"#),
                time(true, 1, 0, 0, 500_000, 6),
                Value::Decimal("-12.3400".into()),
                Value::Bit {
                    value: 0b10_0000_0001,
                    width: 10
                },
                Value::Set(0b101),
                Value::Enum(2),
                bytes("hé".as_bytes()),
            ]
        );
        assert_eq!(
            rows[1],
            vec![
                Value::Int(2),
                bytes(&b"abcdefgh".repeat(50)),
                bytes(&[0x00, 0xff].repeat(1000)),
                bytes("日本語 ".repeat(300).as_bytes()),
                Value::Null,
                time(false, 838, 59, 59, 0, 6),
                Value::Decimal("0.0000".into()),
                Value::Bit {
                    value: 0,
                    width: 10
                },
                Value::Set(0),
                Value::Enum(1),
                bytes(b""),
            ]
        );
        assert_eq!(
            rows[2],
            vec![
                Value::Int(3),
                bytes(&b"wrapped ".repeat(60)),
                bytes(&b"z".repeat(5000)),
                bytes("é".repeat(1000).as_bytes()),
                bytes(b"[]"),
                time(true, 0, 0, 0, 1, 6),
                Value::Decimal("999999.9999".into()),
                Value::Bit {
                    value: 0x3ff,
                    width: 10
                },
                Value::Set(0b111),
                Value::Null,
                bytes(&b"x".repeat(200)),
            ]
        );
    }

    /// Every column type code this decoder knows, plus a few it does not.
    fn column_info() -> impl Strategy<Value = ColumnInfo> {
        let known = prop::sample::select(vec![
            0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 140, 141,
            242, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255,
        ]);
        let meta = prop_oneof![
            any::<u16>(),
            0u16..8,
            prop::sample::select(vec![
                0x01f7u16, 0x02f8, 0x08f8, 0x0afe, 0xfcce, 0x021e, 0x0a05
            ])
        ];
        (
            prop_oneof![known, any::<u8>()],
            meta,
            prop::option::of(any::<bool>()),
        )
            .prop_map(|(t, meta, unsigned)| ColumnInfo {
                unsigned,
                ..ColumnInfo::new(ColumnType(t), meta)
            })
    }

    fn digits(n: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(b"0123456789".to_vec()), n)
            .prop_map(|v| String::from_utf8(v).unwrap())
    }

    /// (precision, scale, negative, integer digits, fraction digits).
    fn decimal_case() -> impl Strategy<Value = (u8, u8, bool, String, String)> {
        (1u8..=65)
            .prop_flat_map(|p| (Just(p), 0..=p.min(30)))
            .prop_flat_map(|(p, s)| {
                (
                    Just(p),
                    Just(s),
                    any::<bool>(),
                    digits(usize::from(p - s)),
                    digits(usize::from(s)),
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1024),
            ..ProptestConfig::default()
        })]

        /// Decimals from our encoder (leading zeros allowed, negative zero
        /// included) decode to MySQL's text, which mysql_common's reader
        /// prints too.
        #[test]
        fn decimals_match_mysql_common((p, s, neg, int, frac) in decimal_case()) {
            let bytes = enc_decimal(neg, &int, &frac);
            prop_assert_eq!(bytes.len(), decimal_bin_size(p.into(), s.into()));
            let ours = dec_text(&bytes, p, s);
            prop_assert_eq!(&ours, &decimal_expected(neg, &int, &frac));
            let mc = mysql_common::binlog::decimal::Decimal::read_bin(&bytes[..], p.into(), s.into(), false).unwrap();
            prop_assert_eq!(&ours, &mc.to_string());
        }

        /// Decimals written by mysql_common's writer decode to the text they
        /// were parsed from.
        #[test]
        fn decimals_from_mysql_common_writer((p, s, neg, mut int, frac) in decimal_case()) {
            use std::str::FromStr;
            // mysql_common's parser strips repeated leading zeros, which
            // would change the layout: start the integer part with 1-9.
            if int.len() > 1 && int.starts_with('0') {
                int.replace_range(..1, "7");
            }
            let text = format!("{}{}{}{}", if neg { "-" } else { "" }, int, if s > 0 { "." } else { "" }, frac);
            let d = mysql_common::binlog::decimal::Decimal::from_str(&text).unwrap();
            let mut bytes = Vec::new();
            d.write_bin(&mut bytes).unwrap();
            let all_zero = int.bytes().chain(frac.bytes()).all(|b| b == b'0');
            prop_assert_eq!(dec_text(&bytes, p, s), decimal_expected(neg && !all_zero, &int, &frac));
        }

        /// TIME2 round-trips through MySQL's packing, and mysql_common reads
        /// the same packed value from the bytes.
        #[test]
        fn time2_round_trip(neg in any::<bool>(), h in 0i64..=838, m in 0i64..60, s in 0i64..60, us in 0i64..1_000_000, fsp in 0u8..=6) {
            let step = 10i64.pow(6 - u32::from(fsp));
            let us = us / step * step;
            let packed = packed_time(neg, h, m, s, us);
            let bytes = enc_time2(packed, fsp);
            let v = dec(&bytes, &col(ColumnType::TIME2, fsp.into()));
            let negative = neg && packed != 0;
            prop_assert_eq!(v, time(negative, h as u32, m as u8, s as u8, us as u32, fsp));
            // mysql_common 0.37 computes `frac -= 0x100` on a u32 for fsp 1-2,
            // which overflows for negative times with a fraction: skip those.
            if !(matches!(fsp, 1 | 2) && packed < 0 && us != 0) {
                let mc = mysql_common::binlog::misc::my_time_packed_from_binary(&bytes[..], fsp.into()).unwrap();
                prop_assert_eq!(mc, packed);
            }
        }

        /// DATETIME2 round-trips, and mysql_common reads the same fields.
        #[test]
        fn datetime2_round_trip(y in 0u64..=9999, mo in 0u64..=12, d in 0u64..=31, h in 0u64..24, mi in 0u64..60, s in 0u64..60, us in 0u32..1_000_000, fsp in 0u8..=6) {
            let step = 10u32.pow(6 - u32::from(fsp));
            let us = us / step * step;
            let bytes = enc_datetime2(y, mo, d, h, mi, s, us, fsp);
            let v = dec(&bytes, &col(ColumnType::DATETIME2, fsp.into()));
            prop_assert_eq!(v, Value::DateTime {
                year: y as u16, month: mo as u8, day: d as u8, hour: h as u8, minute: mi as u8, second: s as u8, micros: us, fsp,
            });
            let packed = mysql_common::binlog::misc::my_datetime_packed_from_binary(&bytes[..], fsp.into()).unwrap();
            prop_assert_eq!(
                mysql_common::binlog::misc::datetime_from_packed(packed),
                mysql_common::Value::Date(y as u16, mo as u8, d as u8, h as u8, mi as u8, s as u8, us)
            );
        }

        /// TIMESTAMP2 round-trips, and mysql_common reads the same seconds
        /// and microseconds.
        #[test]
        fn timestamp2_round_trip(secs in any::<u32>(), us in 0u32..1_000_000, fsp in 0u8..=6) {
            let step = 10u32.pow(6 - u32::from(fsp));
            let us = us / step * step;
            let bytes = enc_timestamp2(secs, us, fsp);
            prop_assert_eq!(
                dec(&bytes, &col(ColumnType::TIMESTAMP2, fsp.into())),
                Value::Timestamp { seconds: secs, micros: us, fsp }
            );
            let (mc_secs, mc_us) = mysql_common::binlog::misc::my_timestamp_from_binary(&bytes[..], fsp).unwrap();
            prop_assert_eq!((mc_secs as u32, mc_us as u32), (secs, us));
        }

        /// Arbitrary bytes with an arbitrary column never panic; a success
        /// consumes at most the input, an error consumes nothing.
        #[test]
        fn arbitrary_input_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64), c in column_info()) {
            let mut cur = Cursor::new(&bytes, 10);
            match decode_value(&mut cur, &c, 3) {
                Ok(_) => prop_assert!(cur.offset() <= 10 + bytes.len() as u64),
                Err(_) => prop_assert_eq!(cur.offset(), 10),
            }
        }

        /// MariaDB compressed values round-trip, and corrupting one never panics.
        #[test]
        fn compressed_round_trip(data in prop::collection::vec(any::<u8>(), 1..2000), wrapped in any::<bool>(), edit in any::<(prop::sample::Index, u8)>()) {
            let stored = mariadb_compressed(&data, wrapped);
            let blob = col(ColumnType::BLOB_COMPRESSED, 3);
            prop_assert_eq!(dec(&with_prefix(3, &stored), &blob), Value::Bytes(data));
            let mut bad = stored;
            let i = edit.0.index(bad.len());
            bad[i] = edit.1;
            let _ = decode_value_bytes(&with_prefix(3, &bad), &blob);
        }
    }
}
