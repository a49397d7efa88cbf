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
#[allow(dead_code, unreachable_pub)] // Re-exported from the crate root.
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
