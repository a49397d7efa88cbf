//! MySQL binary JSON (the `JSON` column type) to exact JSON text, and partial-update JSON diffs.
//!
//! The binary format is MySQL's `sql/json_binary.h` (reader in
//! `sql/json_binary.cc`): a type byte, then the value. Objects and arrays
//! come in a small form (2-byte counts, sizes and offsets) and a large form
//! (4-byte ones): element count, byte size, for objects one key entry per
//! member (key offset, 2-byte key length), one value entry per element (a
//! type byte, then either the value itself for literals, 16-bit integers
//! and, in the large form, 32-bit integers, or the offset of the value), then
//! the keys and the values. Offsets are relative to the start of the
//! container (just after its type byte). Strings are a variable-length size
//! (7 bits a byte, low bits first, at most 5 bytes) then UTF-8 bytes; opaque
//! values are a MySQL column type byte, a variable-length size, and data.
//!
//! The text is exactly what the server prints for `SELECT json_col`
//! (`Json_wrapper::to_string` in `sql/json_dom.cc`, which calls
//! `wrapper_to_string`): see [`json_binary_to_text`] for the rules.

use crate::cursor::Cursor;
use crate::error::{DecodeError, Result};
use crate::types::{JsonDiff, JsonDiffOperation};

/// The deepest nesting of arrays and objects accepted, as MySQL's
/// `JSON_DOCUMENT_MAX_DEPTH`.
const MAX_DEPTH: u64 = 100;

/// The ceiling on the text of one document (1 GiB, the largest
/// `max_allowed_packet`, past which the server refuses to print it too).
const MAX_TEXT: usize = 1 << 30;

const SMALL_OBJECT: u8 = 0x00;
const LARGE_OBJECT: u8 = 0x01;
const SMALL_ARRAY: u8 = 0x02;
const LARGE_ARRAY: u8 = 0x03;
const LITERAL: u8 = 0x04;
const INT16: u8 = 0x05;
const UINT16: u8 = 0x06;
const INT32: u8 = 0x07;
const UINT32: u8 = 0x08;
const INT64: u8 = 0x09;
const UINT64: u8 = 0x0a;
const DOUBLE: u8 = 0x0b;
const STRING: u8 = 0x0c;
const OPAQUE: u8 = 0x0f;

/// MySQL column type codes that opaque JSON values use.
const MYSQL_TYPE_TIMESTAMP: u8 = 7;
const MYSQL_TYPE_DATE: u8 = 10;
const MYSQL_TYPE_TIME: u8 = 11;
const MYSQL_TYPE_DATETIME: u8 = 12;
const MYSQL_TYPE_NEWDECIMAL: u8 = 246;
const MYSQL_TYPE_VAR_STRING: u8 = 253;

/// Converts one MySQL binary JSON document to the JSON text the server
/// prints for it. `base_offset` is the absolute offset of `bytes[0]`, for
/// errors.
///
/// The text follows `wrapper_to_string` (MySQL `sql/json_dom.cc`):
///
/// - objects as `{"a": 1, "b": [1, 2]}` and arrays as `[1, 2]` (`": "` and
///   `", "` separators, no other spaces), members in stored order (the
///   server stores keys sorted by length, then bytes);
/// - strings and keys in double quotes, escaping `"`, `\`, and the control
///   characters U+0000 to U+001F: `\b`, `\t`, `\n`, `\f`, `\r` by name, the
///   others as `\u00XX` with lowercase hex (`double_quote`); everything else,
///   `/` and U+007F included, as is;
/// - integers in decimal;
/// - doubles as `my_gcvt(d, MY_GCVT_ARG_DOUBLE, 34)` prints them, plus `.0`
///   when that has neither a point nor an exponent: the shortest digits that
///   read back to the same double, in fixed notation when the decimal
///   exponent `e` (of `d.ddd × 10^e`) is between -15 and 14, or between 15
///   and 16 with fraction digits left (`123456789012345.0`, `0.1`,
///   `0.000000000000001`), else in `1.2345e-7` style with no `+` and no
///   leading exponent zeros (`1e100`, `1e15`, `1e-16`); `-0.0` for negative
///   zero. NaN and infinities (which MySQL never stores) are an error;
/// - opaque DECIMAL values as their exact text, unquoted (`1.50`);
/// - opaque DATE, TIME, DATETIME and TIMESTAMP values (an 8-byte packed
///   value) quoted as `my_TIME_to_str(t, 6)` prints them: `"2015-01-15"`,
///   `"23:24:25.000000"`, `"-838:59:59.000000"`,
///   `"2015-01-15 23:24:25.000000"`;
/// - opaque VAR_STRING values as strings (as the server does);
/// - other opaque values as `"base64:typeN:..."` with MySQL's base64 (a line
///   break, printed as `\n`, every 76 characters).
///
/// An empty document is the JSON null literal (`null`), as the server reads
/// it. Bytes after the top-level value are ignored, as the server ignores
/// them. Everything else the server would refuse is an error: an unknown
/// type, an offset or count outside its container, invalid UTF-8, nesting
/// deeper than 100, and text longer than 16 times the binary plus 64 KiB
/// (which no document the server writes can reach, but one whose entries
/// share values could) or 1 GiB.
pub fn json_binary_to_text(bytes: &[u8], base_offset: u64) -> Result<String> {
    let Some(&t) = bytes.first() else {
        return Ok("null".to_owned());
    };
    let mut w = Writer {
        doc: bytes,
        base: base_offset,
        out: String::with_capacity(bytes.len().min(1 << 20)),
        limit: bytes
            .len()
            .saturating_mul(16)
            .saturating_add(64 * 1024)
            .min(MAX_TEXT),
    };
    w.value(t, base_offset, 1, bytes.len(), 0)?;
    w.check_budget(bytes.len())?;
    Ok(w.out)
}

/// Decodes a MySQL partial JSON update (`binlog_row_value_options =
/// PARTIAL_JSON`, a JSON column's value in the after image of a
/// PARTIAL_UPDATE_ROWS event whose partial bit is set).
///
/// `bytes` is the column value without its length prefix; `base_offset` is
/// the absolute offset of `bytes[0]`. The layout is
/// `Json_diff_vector::read_binary` (MySQL `sql/json_diff.cc`): until the
/// bytes run out, each diff is an operation byte (0 replace, 1 insert,
/// 2 remove), the path as a length-encoded string, and unless the operation
/// is remove the new value as a length-encoded binary JSON document.
pub fn decode_json_diffs(bytes: &[u8], base_offset: u64) -> Result<Vec<JsonDiff>> {
    let mut cur = Cursor::new(bytes, base_offset);
    let mut diffs = Vec::new();
    while !cur.is_empty() {
        let at = cur.offset();
        let operation = match cur.u8("JSON diff operation")? {
            0 => JsonDiffOperation::Replace,
            1 => JsonDiffOperation::Insert,
            2 => JsonDiffOperation::Remove,
            op => {
                return Err(DecodeError::Invalid {
                    what: "JSON diff operation",
                    offset: at,
                    value: u64::from(op),
                    reason: "must be 0 (replace), 1 (insert) or 2 (remove)",
                })
            }
        };
        let path = cur.lenenc_bytes("JSON diff path")?;
        let path_at = cur.offset() - path.len() as u64;
        let path = utf8(path, path_at, "JSON diff path")?.to_owned();
        let value = if operation == JsonDiffOperation::Remove {
            None
        } else {
            let v = cur.lenenc_bytes("JSON diff value")?;
            let v_at = cur.offset() - v.len() as u64;
            Some(json_binary_to_text(v, v_at)?)
        };
        diffs.push(JsonDiff {
            operation,
            path,
            value,
        });
    }
    Ok(diffs)
}

/// The text being written for one document.
struct Writer<'a> {
    doc: &'a [u8],
    base: u64,
    out: String,
    limit: usize,
}

fn invalid(what: &'static str, offset: u64, value: u64, reason: &'static str) -> DecodeError {
    DecodeError::Invalid {
        what,
        offset,
        value,
        reason,
    }
}

impl<'a> Writer<'a> {
    /// A cursor over `doc[start..end]` (empty when out of range).
    fn cursor(&self, start: usize, end: usize) -> Cursor<'a> {
        Cursor::new(
            self.doc.get(start..end).unwrap_or_default(),
            self.abs(start),
        )
    }

    fn abs(&self, index: usize) -> u64 {
        self.base + index as u64
    }

    fn check_budget(&self, at: usize) -> Result<()> {
        if self.out.len() > self.limit {
            return Err(DecodeError::TooLarge {
                what: "JSON text",
                offset: self.abs(at),
                value: self.out.len() as u64,
                limit: self.limit as u64,
            });
        }
        Ok(())
    }

    /// Writes the value of type `t` (whose type byte is at absolute
    /// `type_at`) stored in `doc[start..end]`.
    fn value(&mut self, t: u8, type_at: u64, start: usize, end: usize, depth: u64) -> Result<()> {
        self.check_budget(start)?;
        match t {
            SMALL_OBJECT => self.container(start, end, true, false, depth),
            LARGE_OBJECT => self.container(start, end, true, true, depth),
            SMALL_ARRAY => self.container(start, end, false, false, depth),
            LARGE_ARRAY => self.container(start, end, false, true, depth),
            LITERAL | INT16 | UINT16 | INT32 | UINT32 | INT64 | UINT64 | DOUBLE => {
                let mut c = self.cursor(start, end);
                self.scalar(t, &mut c)
            }
            STRING => {
                let mut c = self.cursor(start, end);
                let s = varlen_bytes(&mut c, "JSON string")?;
                let s = utf8(s, c.offset() - s.len() as u64, "JSON string")?;
                quote(&mut self.out, s);
                Ok(())
            }
            OPAQUE => {
                let mut c = self.cursor(start, end);
                self.opaque(&mut c)
            }
            _ => Err(invalid(
                "JSON value type",
                type_at,
                u64::from(t),
                "not a MySQL binary JSON type",
            )),
        }
    }

    /// Writes a literal, integer or double read from `c`.
    fn scalar(&mut self, t: u8, c: &mut Cursor<'_>) -> Result<()> {
        use std::fmt::Write;
        let at = c.offset();
        // Writing to a String cannot fail.
        let _ = match t {
            LITERAL => match c.u8("JSON literal")? {
                0 => write!(self.out, "null"),
                1 => write!(self.out, "true"),
                2 => write!(self.out, "false"),
                v => {
                    return Err(invalid(
                        "JSON literal",
                        at,
                        u64::from(v),
                        "must be 0 (null), 1 (true) or 2 (false)",
                    ))
                }
            },
            INT16 => write!(self.out, "{}", c.u16_le("JSON int16")? as i16),
            UINT16 => write!(self.out, "{}", c.u16_le("JSON uint16")?),
            INT32 => write!(self.out, "{}", c.u32_le("JSON int32")? as i32),
            UINT32 => write!(self.out, "{}", c.u32_le("JSON uint32")?),
            INT64 => write!(self.out, "{}", c.u64_le("JSON int64")? as i64),
            UINT64 => write!(self.out, "{}", c.u64_le("JSON uint64")?),
            _ => {
                let bits = c.u64_le("JSON double")?;
                let d = f64::from_bits(bits);
                if !d.is_finite() {
                    return Err(invalid(
                        "JSON double",
                        at,
                        bits,
                        "not a finite number (JSON holds no NaN or infinity)",
                    ));
                }
                push_double(&mut self.out, d);
                Ok(())
            }
        };
        Ok(())
    }

    /// Writes an object or array stored in `doc[start..end]`
    /// (`parse_array_or_object`, `Value::key` and `Value::element` in
    /// `json_binary.cc`, with the same checks).
    fn container(
        &mut self,
        start: usize,
        end: usize,
        object: bool,
        large: bool,
        depth: u64,
    ) -> Result<()> {
        let depth = depth + 1;
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooLarge {
                what: "JSON nesting depth",
                offset: self.abs(start),
                value: depth,
                limit: MAX_DEPTH,
            });
        }
        let off: usize = if large { 4 } else { 2 };
        let key_entry = off + 2;
        let value_entry = off + 1;
        let mut c = self.cursor(start, end);
        let count = c.uint_le(off, "JSON element count")?;
        let size_at = c.offset();
        let size = c.uint_le(off, "JSON container size")?;
        if size > (end - start) as u64 {
            return Err(invalid(
                "JSON container size",
                size_at,
                size,
                "larger than the bytes available to the container",
            ));
        }
        // At most 2^32 entries of at most 6 + 5 bytes: no overflow in u64.
        let header = 2 * off as u64
            + count * (if object { key_entry as u64 } else { 0 } + value_entry as u64);
        if header > size {
            return Err(invalid(
                "JSON element count",
                self.abs(start),
                count,
                "its entries do not fit in the container",
            ));
        }
        // `count` and `size` now fit in the document, hence in usize.
        let (count, size, header) = (count as usize, size as usize, header as usize);
        let cend = start + size;
        let value_entries = 2 * off + if object { count * key_entry } else { 0 };

        self.out.push(if object { '{' } else { '[' });
        for i in 0..count {
            if i > 0 {
                self.out.push_str(", ");
            }
            if object {
                let ke = 2 * off + i * key_entry;
                let mut kc = self.cursor(start + ke, cend);
                let key_off = kc.uint_le(off, "JSON key offset")? as usize;
                let key_len = usize::from(kc.u16_le("JSON key length")?);
                if key_off < header || key_off.saturating_add(key_len) > size {
                    return Err(invalid(
                        "JSON key offset",
                        self.abs(start + ke),
                        key_off as u64,
                        "the key lies outside its object's key area",
                    ));
                }
                let key_at = start + key_off;
                let key = self.doc.get(key_at..key_at + key_len).unwrap_or_default();
                let key = utf8(key, self.abs(key_at), "JSON object key")?;
                quote(&mut self.out, key);
                self.out.push_str(": ");
            }
            let ve = value_entries + i * value_entry;
            let mut vc = self.cursor(start + ve, cend);
            let type_at = vc.offset();
            let vt = vc.u8("JSON value type")?;
            let inlined =
                matches!(vt, LITERAL | INT16 | UINT16) || (large && matches!(vt, INT32 | UINT32));
            if inlined {
                let inline_at = vc.offset();
                let mut ic = Cursor::new(vc.bytes(off, "JSON inline value")?, inline_at);
                self.scalar(vt, &mut ic)?;
            } else {
                let v_off = vc.uint_le(off, "JSON value offset")? as usize;
                if v_off < ve + value_entry || v_off > size {
                    return Err(invalid(
                        "JSON value offset",
                        self.abs(start + ve),
                        v_off as u64,
                        "the value lies outside its container",
                    ));
                }
                self.value(vt, type_at, start + v_off, cend, depth)?;
            }
            self.check_budget(start + ve)?;
        }
        self.out.push(if object { '}' } else { ']' });
        Ok(())
    }

    /// Writes an opaque value: a MySQL column type byte, then
    /// variable-length-sized data.
    fn opaque(&mut self, c: &mut Cursor<'_>) -> Result<()> {
        let field_type = c.u8("JSON opaque type")?;
        let data = varlen_bytes(c, "JSON opaque value")?;
        let data_at = c.offset() - data.len() as u64;
        match field_type {
            MYSQL_TYPE_NEWDECIMAL => {
                // `Json_decimal::convert_from_binary`: precision, scale, then
                // exactly the `bin2decimal` bytes.
                let (p, s, bin) = match data {
                    [p, s, bin @ ..] => (usize::from(*p), usize::from(*s), bin),
                    _ => {
                        return Err(invalid(
                            "JSON DECIMAL",
                            data_at,
                            data.len() as u64,
                            "shorter than its precision and scale",
                        ))
                    }
                };
                // A `my_decimal` holds at most 9 digit groups (81 digits).
                if s > p || p.saturating_sub(s).div_ceil(9) + s.div_ceil(9) > 9 {
                    return Err(invalid(
                        "JSON DECIMAL precision",
                        data_at,
                        p as u64,
                        "the precision and scale do not fit a MySQL decimal",
                    ));
                }
                if bin.len() != crate::value::decimal_bin_size(p, s) {
                    return Err(invalid(
                        "JSON DECIMAL",
                        data_at,
                        data.len() as u64,
                        "its size does not match its precision and scale",
                    ));
                }
                let text = crate::value::decimal_text(bin, p, s, data_at + 2)?;
                self.out.push_str(&text);
                Ok(())
            }
            MYSQL_TYPE_DATE | MYSQL_TYPE_TIME | MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIMESTAMP => {
                let Ok(packed) = <[u8; 8]>::try_from(data) else {
                    return Err(invalid(
                        "JSON date or time",
                        data_at,
                        data.len() as u64,
                        "a packed date or time is 8 bytes",
                    ));
                };
                let packed = i64::from_le_bytes(packed);
                self.out.push('"');
                if field_type == MYSQL_TYPE_TIME {
                    push_time(&mut self.out, packed, data_at)?;
                } else {
                    push_datetime(
                        &mut self.out,
                        packed,
                        field_type == MYSQL_TYPE_DATE,
                        data_at,
                    )?;
                }
                self.out.push('"');
                Ok(())
            }
            MYSQL_TYPE_VAR_STRING => {
                let s = utf8(data, data_at, "JSON opaque string")?;
                quote(&mut self.out, s);
                Ok(())
            }
            _ => {
                let mut text = format!("base64:type{field_type}:");
                push_mysql_base64(&mut text, data);
                quote(&mut self.out, &text);
                Ok(())
            }
        }
    }
}

/// Reads a variable-length size (`read_variable_length` in
/// `json_binary.cc`: 7 bits a byte, low bits first, the high bit set on all
/// but the last byte, at most 5 bytes, at most 2^32 - 1), then that many
/// bytes.
fn varlen_bytes<'a>(c: &mut Cursor<'a>, what: &'static str) -> Result<&'a [u8]> {
    let at = c.offset();
    let mut len = 0u64;
    for i in 0..5 {
        let b = c.u8(what)?;
        len |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if len > u64::from(u32::MAX) {
                return Err(invalid(what, at, len, "its size is over 2^32 - 1"));
            }
            return c.bytes_u64(len, what);
        }
    }
    Err(invalid(what, at, len, "its size takes more than 5 bytes"))
}

/// `bytes` as UTF-8, or an error naming the first bad byte.
fn utf8<'a>(bytes: &'a [u8], offset: u64, what: &'static str) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let i = e.valid_up_to();
        invalid(
            what,
            offset + i as u64,
            bytes.get(i).copied().map_or(0, u64::from),
            "not valid UTF-8",
        )
    })
}

/// Appends `s` in double quotes, escaped as MySQL's `double_quote` does.
fn quote(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) <= 0x1f => {
                let b = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX.get(b >> 4).copied().unwrap_or(b'0')));
                out.push(char::from(HEX.get(b & 15).copied().unwrap_or(b'0')));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends MySQL's base64 of `data` (`base64_encode` in
/// `mysys/base64.cc`: the standard alphabet with `=` padding, and a line
/// break before every 77th, 153rd, ... character).
fn push_mysql_base64(out: &mut String, data: &[u8]) {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |v: u32| char::from(TABLE.get((v & 63) as usize).copied().unwrap_or(b'A'));
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push('\n');
        }
        let b0 = u32::from(chunk.first().copied().unwrap_or(0));
        let b1 = chunk.get(1).copied().map(u32::from);
        let b2 = chunk.get(2).copied().map(u32::from);
        let v = (b0 << 16) | (b1.unwrap_or(0) << 8) | b2.unwrap_or(0);
        out.push(sym(v >> 18));
        out.push(sym(v >> 12));
        out.push(if b1.is_some() { sym(v >> 6) } else { '=' });
        out.push(if b2.is_some() { sym(v) } else { '=' });
    }
}

/// Appends a packed DATE, DATETIME or TIMESTAMP (`TIME_to_longlong_datetime_packed`
/// in `my_time.c`: `((ym * 32 + day) << 17 | hour << 12 | minute << 6 |
/// second) << 24 | micros`, with `ym = year * 13 + month`) as
/// `my_date_to_str` (`YYYY-MM-DD`) or `my_datetime_to_str(t, 6)`
/// (`YYYY-MM-DD hh:mm:ss.ffffff`) prints it.
fn push_datetime(out: &mut String, packed: i64, date_only: bool, at: u64) -> Result<()> {
    use std::fmt::Write;
    if packed < 0 {
        return Err(invalid(
            "JSON date or datetime",
            at,
            packed as u64,
            "negative (a date is never negative)",
        ));
    }
    let p = packed as u64;
    let micros = p & 0xff_ffff;
    let ymdhms = p >> 24;
    let ymd = ymdhms >> 17;
    let ym = ymd >> 5;
    let hms = ymdhms & 0x1_ffff;
    let (year, month, day) = (ym / 13, ym % 13, ymd & 31);
    let (hour, minute, second) = (hms >> 12, (hms >> 6) & 63, hms & 63);
    if year > 9999 || (!date_only && (hour > 23 || minute > 59 || second > 59 || micros > 999_999))
    {
        return Err(invalid(
            "JSON date or datetime",
            at,
            p,
            "a date or time field is out of range",
        ));
    }
    // Writing to a String cannot fail.
    let _ = write!(out, "{year:04}-{month:02}-{day:02}");
    if !date_only {
        let _ = write!(out, " {hour:02}:{minute:02}:{second:02}.{micros:06}");
    }
    Ok(())
}

/// Appends a packed TIME (`TIME_to_longlong_time_packed`: `(hour << 12 |
/// minute << 6 | second) << 24 | micros`, negated for negative times) as
/// `my_time_to_str(t, 6)` prints it: `[-]hh:mm:ss.ffffff`, hours with at
/// least two digits.
fn push_time(out: &mut String, packed: i64, at: u64) -> Result<()> {
    use std::fmt::Write;
    let a = packed.unsigned_abs();
    let micros = a & 0xff_ffff;
    let hms = a >> 24;
    let (hour, minute, second) = (hms >> 12, (hms >> 6) & 63, hms & 63);
    if hour > 1023 || minute > 59 || second > 59 || micros > 999_999 {
        return Err(invalid(
            "JSON time",
            at,
            packed as u64,
            "a time field is out of range",
        ));
    }
    let sign = if packed < 0 { "-" } else { "" };
    // Writing to a String cannot fail.
    let _ = write!(out, "{sign}{hour:02}:{minute:02}:{second:02}.{micros:06}");
    Ok(())
}

/// Appends a finite double as MySQL prints it in JSON: `my_gcvt(d,
/// MY_GCVT_ARG_DOUBLE, MY_GCVT_MAX_FIELD_WIDTH = 34)` (`strings/dtoa.cc`),
/// then `.0` if that printed neither a point nor an exponent.
///
/// `my_gcvt` takes the shortest round-trip digits (`dtoa` mode 4 with 34
/// digits asks for more than the 17 a double ever needs, so it stops at the
/// shortest; Rust's `{:e}` gives the same digits) and picks the fixed or the
/// exponent form by its width rules; with a width of 34 and at most 17
/// digits those reduce to: fixed when the point position `decpt` (the value
/// is `0.d1d2... × 10^decpt`) is in -14..=15, or above 15 while digits
/// remain after the point; exponent form otherwise.
fn push_double(out: &mut String, d: f64) {
    let text = format!("{:e}", d.abs());
    let (mantissa, exp) = text.split_once('e').unwrap_or((text.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i64 = exp.parse().unwrap_or(0);
    let decpt = exp + 1;
    let len = digits.len() as i64;

    // `if (x < 0.) width--;` (so not for -0.0).
    let width: i64 = if d < 0.0 { 33 } else { 34 };
    let exp_len =
        1 + i64::from(decpt >= 101 || decpt <= -99) + i64::from(decpt >= 11 || decpt <= -9);
    let f_len = if decpt <= 0 {
        len - decpt + 2
    } else if decpt < len {
        len + 1
    } else {
        decpt
    };
    let have_space = f_len <= width;
    let force_e = decpt <= 0 && width <= 2 - decpt && width >= 3 + exp_len;
    // MySQL's condition, with `(decpt == -2 && (len > 1 || !force_e_format))`
    // reduced to `decpt == -2` under the enclosing `!force_e_format`.
    let fixed = (have_space || (decpt <= width && (decpt >= -1 || decpt == -2) && !force_e))
        && (!have_space || (decpt >= -14 && (decpt <= 15 || len > decpt)));

    let start = out.len();
    if d.is_sign_negative() {
        out.push('-');
    }
    if fixed {
        if decpt <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', decpt.unsigned_abs() as usize));
            out.push_str(&digits);
        } else {
            for (i, ch) in digits.chars().enumerate() {
                out.push(ch);
                if i as i64 + 1 == decpt && (i as i64 + 1) < len {
                    out.push('.');
                }
            }
            if decpt > len {
                out.extend(std::iter::repeat_n('0', (decpt - len) as usize));
            }
        }
    } else {
        let mut chars = digits.chars();
        if let Some(first) = chars.next() {
            out.push(first);
        }
        let rest = chars.as_str();
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push_str(&(decpt - 1).to_string());
    }
    let printed = out.get(start..).unwrap_or_default();
    if !printed.contains(['.', 'e']) {
        out.push_str(".0");
    }
}

#[cfg(test)]
pub(crate) mod tests {}
