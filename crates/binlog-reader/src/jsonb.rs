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
///   exponent `e` (of `d.ddd × 10^e`) is between -15 and 14, or is 15 with
///   digits left after the point (`123456789012345.0`, `0.1`,
///   `0.000000000000001`, `1234567890123456.8`), else in `1.2345e-7` style
///   with no `+` and no leading exponent zeros (`1e100`, `1e15`, `1e-16`,
///   `1.234567890123456e15`); `-0.0` for negative zero. NaN and infinities
///   (which MySQL never stores) are an error;
/// - opaque DECIMAL values as their exact text, unquoted (`1.50`);
/// - opaque DATE, TIME, DATETIME and TIMESTAMP values (an 8-byte packed
///   value) quoted as `my_TIME_to_str(t, 6)` prints them: `"2015-01-15"`,
///   `"23:24:25.000000"`, `"-838:59:59.000000"`,
///   `"2015-01-15 23:24:25.000000"`;
/// - opaque VAR_STRING values as strings (as MySQL 8.0's `wrapper_to_string`
///   does);
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
        if size > end.saturating_sub(start) as u64 {
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
/// is `0.d1d2... × 10^decpt`) is in -14..=15, or is 16 while digits remain
/// after the point (17 digits); exponent form otherwise.
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
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value as J;
    use std::collections::BTreeMap;

    /// A JSON value with MySQL's number kinds kept apart, for the encoder.
    #[derive(Clone, Debug)]
    pub(crate) enum Jv {
        Null,
        Bool(bool),
        Int(i64),
        UInt(u64),
        Double(f64),
        Str(String),
        Arr(Vec<Jv>),
        Obj(BTreeMap<String, Jv>),
        /// An opaque value: MySQL field type and data.
        Opaque(u8, Vec<u8>),
    }

    impl Jv {
        /// The value as serde_json sees it (`None` for opaque values).
        fn to_json(&self) -> Option<J> {
            Some(match self {
                Jv::Null => J::Null,
                Jv::Bool(b) => J::Bool(*b),
                Jv::Int(i) => J::from(*i),
                Jv::UInt(u) => J::from(*u),
                Jv::Double(d) => J::Number(serde_json::Number::from_f64(*d)?),
                Jv::Str(s) => J::String(s.clone()),
                Jv::Arr(a) => J::Array(a.iter().map(Jv::to_json).collect::<Option<_>>()?),
                Jv::Obj(o) => J::Object(
                    o.iter()
                        .map(|(k, v)| Some((k.clone(), v.to_json()?)))
                        .collect::<Option<_>>()?,
                ),
                Jv::Opaque(..) => return None,
            })
        }
    }

    fn varlen(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    /// Encodes a document as the server does (`json_binary::serialize`):
    /// the small form where everything fits, unless `large`.
    pub(crate) fn encode(v: &Jv, large: bool) -> Vec<u8> {
        let (t, body) = enc_value(v, large);
        let mut out = vec![t];
        out.extend(body);
        out
    }

    fn enc_value(v: &Jv, large: bool) -> (u8, Vec<u8>) {
        match v {
            Jv::Null => (LITERAL, vec![0]),
            Jv::Bool(b) => (LITERAL, vec![if *b { 1 } else { 2 }]),
            Jv::Int(i) => {
                if let Ok(x) = i16::try_from(*i) {
                    (INT16, x.to_le_bytes().to_vec())
                } else if let Ok(x) = i32::try_from(*i) {
                    (INT32, x.to_le_bytes().to_vec())
                } else {
                    (INT64, i.to_le_bytes().to_vec())
                }
            }
            Jv::UInt(u) => {
                if let Ok(x) = u16::try_from(*u) {
                    (UINT16, x.to_le_bytes().to_vec())
                } else if let Ok(x) = u32::try_from(*u) {
                    (UINT32, x.to_le_bytes().to_vec())
                } else {
                    (UINT64, u.to_le_bytes().to_vec())
                }
            }
            Jv::Double(d) => (DOUBLE, d.to_bits().to_le_bytes().to_vec()),
            Jv::Str(s) => {
                let mut out = Vec::new();
                varlen(s.len(), &mut out);
                out.extend_from_slice(s.as_bytes());
                (STRING, out)
            }
            Jv::Opaque(t, data) => {
                let mut out = vec![*t];
                varlen(data.len(), &mut out);
                out.extend_from_slice(data);
                (OPAQUE, out)
            }
            Jv::Arr(a) => {
                let entries: Vec<(Option<&str>, &Jv)> = a.iter().map(|v| (None, v)).collect();
                container(&entries, false, large)
            }
            Jv::Obj(o) => {
                // The server sorts keys by length, then bytes.
                let mut entries: Vec<(Option<&str>, &Jv)> =
                    o.iter().map(|(k, v)| (Some(k.as_str()), v)).collect();
                entries.sort_by(|a, b| {
                    let (ka, kb) = (a.0.unwrap_or(""), b.0.unwrap_or(""));
                    (ka.len(), ka).cmp(&(kb.len(), kb))
                });
                container(&entries, true, large)
            }
        }
    }

    fn container(entries: &[(Option<&str>, &Jv)], object: bool, large: bool) -> (u8, Vec<u8>) {
        let t = |large: bool| match (object, large) {
            (true, false) => SMALL_OBJECT,
            (true, true) => LARGE_OBJECT,
            (false, false) => SMALL_ARRAY,
            (false, true) => LARGE_ARRAY,
        };
        if !large {
            if let Some(b) = build(entries, object, false) {
                return (t(false), b);
            }
        }
        (
            t(true),
            build(entries, object, true).expect("large always fits"),
        )
    }

    fn build(entries: &[(Option<&str>, &Jv)], object: bool, large: bool) -> Option<Vec<u8>> {
        let off = if large { 4 } else { 2 };
        let n = entries.len();
        let header = 2 * off + n * (if object { off + 2 } else { 0 }) + n * (off + 1);
        let put = |v: usize, out: &mut Vec<u8>| -> Option<()> {
            if large {
                out.extend_from_slice(&u32::try_from(v).ok()?.to_le_bytes());
            } else {
                out.extend_from_slice(&u16::try_from(v).ok()?.to_le_bytes());
            }
            Some(())
        };
        let mut keys = Vec::new();
        let mut key_entries = Vec::new();
        for (k, _) in entries {
            let k = k.unwrap_or("");
            if object {
                put(header + keys.len(), &mut key_entries)?;
                key_entries.extend_from_slice(&u16::try_from(k.len()).ok()?.to_le_bytes());
                keys.extend_from_slice(k.as_bytes());
            }
        }
        let mut values = Vec::new();
        let mut value_entries = Vec::new();
        for (_, v) in entries {
            let (vt, body) = enc_value(v, large);
            let inlined =
                matches!(vt, LITERAL | INT16 | UINT16) || (large && matches!(vt, INT32 | UINT32));
            value_entries.push(vt);
            if inlined {
                let mut inline = body;
                inline.resize(off, 0);
                value_entries.extend(inline);
            } else {
                put(header + keys.len() + values.len(), &mut value_entries)?;
                values.extend(body);
            }
        }
        let total = header + keys.len() + values.len();
        let mut out = Vec::with_capacity(total);
        put(n, &mut out)?;
        put(total, &mut out)?;
        out.extend(key_entries);
        out.extend(value_entries);
        out.extend(keys);
        out.extend(values);
        Some(out)
    }

    fn text(v: &Jv) -> String {
        json_binary_to_text(&encode(v, false), 0).expect("valid document")
    }

    fn obj(items: &[(&str, Jv)]) -> Jv {
        Jv::Obj(
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn hand_built_documents() {
        // [1, "x"]: small array, an inlined int16 and a string at offset 10.
        let doc = [0x02, 2, 0, 12, 0, 0x05, 1, 0, 0x0c, 10, 0, 1, b'x'];
        assert_eq!(json_binary_to_text(&doc, 0).unwrap(), r#"[1, "x"]"#);
        // {"a": true}: the key at offset 11, an inlined literal.
        let doc = [0x00, 1, 0, 12, 0, 11, 0, 1, 0, 0x04, 1, 0, b'a'];
        assert_eq!(json_binary_to_text(&doc, 0).unwrap(), r#"{"a": true}"#);
        // The encoder agrees with the hand-built bytes.
        assert_eq!(
            encode(&Jv::Arr(vec![Jv::Int(1), Jv::Str("x".into())]), false),
            doc_arr()
        );
        // Empty containers.
        assert_eq!(text(&Jv::Arr(vec![])), "[]");
        assert_eq!(text(&Jv::Obj(BTreeMap::new())), "{}");
        assert_eq!(text(&Jv::Obj(BTreeMap::new())), "{}");
        // Trailing bytes after the top-level value are ignored.
        let mut doc = encode(&Jv::Int(7), false);
        doc.extend_from_slice(&[1, 2, 3]);
        assert_eq!(json_binary_to_text(&doc, 0).unwrap(), "7");
    }

    fn doc_arr() -> Vec<u8> {
        vec![0x02, 2, 0, 12, 0, 0x05, 1, 0, 0x0c, 10, 0, 1, b'x']
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(json_binary_to_text(&[], 0).unwrap(), "null");
    }

    #[test]
    fn nested_layout_and_separators() {
        let v = obj(&[
            ("a", Jv::Int(1)),
            ("b", Jv::Arr(vec![Jv::Int(1), Jv::Int(2)])),
            ("cc", Jv::Null),
            ("d", obj(&[("x", Jv::Bool(false))])),
        ]);
        // Keys as the server stores them: by length, then bytes.
        let expected = r#"{"a": 1, "b": [1, 2], "d": {"x": false}, "cc": null}"#;
        assert_eq!(text(&v), expected);
        assert_eq!(json_binary_to_text(&encode(&v, true), 0).unwrap(), expected);
    }

    #[test]
    fn scalars() {
        for (v, t) in [
            (Jv::Null, "null"),
            (Jv::Bool(true), "true"),
            (Jv::Bool(false), "false"),
            (Jv::Int(-32768), "-32768"),
            (Jv::Int(i64::from(i32::MIN)), "-2147483648"),
            (Jv::Int(i64::MIN), "-9223372036854775808"),
            (Jv::UInt(65535), "65535"),
            (Jv::UInt(u64::from(u32::MAX)), "4294967295"),
            (Jv::UInt(u64::MAX), "18446744073709551615"),
            (Jv::Str(String::new()), r#""""#),
        ] {
            assert_eq!(text(&v), t);
            assert_eq!(text(&Jv::Arr(vec![v.clone()])), format!("[{t}]"));
            assert_eq!(
                json_binary_to_text(&encode(&Jv::Arr(vec![v]), true), 0).unwrap(),
                format!("[{t}]")
            );
        }
    }

    #[test]
    fn string_escapes_match_double_quote() {
        let s = "q\"b\\n\nt\tr\rb\u{8}f\u{c}\u{0}\u{1}\u{1f} \u{7f}/é😀";
        assert_eq!(
            text(&Jv::Str(s.into())),
            "\"q\\\"b\\\\n\\nt\\tr\\rb\\bf\\f\\u0000\\u0001\\u001f \u{7f}/é😀\""
        );
        // Keys are escaped the same way.
        assert_eq!(text(&obj(&[("k\"\n", Jv::Int(1))])), "{\"k\\\"\\n\": 1}");
    }

    fn dbl(d: f64) -> String {
        let mut s = String::new();
        push_double(&mut s, d);
        s
    }

    #[test]
    fn doubles_print_like_my_gcvt() {
        for (d, t) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (2.0, "2.0"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (std::f64::consts::PI, "3.141592653589793"),
            (1e100, "1e100"),
            (-1e100, "-1e100"),
            (1e15, "1e15"),
            (1e14, "100000000000000.0"),
            (123456789012345.0, "123456789012345.0"),
            (1234567890123456.0, "1.234567890123456e15"),
            (1234567890123456.7, "1234567890123456.8"),
            (12345678901234567890.0, "1.2345678901234567e19"),
            (1e-15, "0.000000000000001"),
            (1e-16, "1e-16"),
            (1.5e-7, "0.00000015"),
            (-1e-7, "-0.0000001"),
            (1.7976931348623157e308, "1.7976931348623157e308"),
            (-1.7976931348623157e308, "-1.7976931348623157e308"),
            (5e-324, "5e-324"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (123.456, "123.456"),
            (1e21, "1e21"),
            (1.0e-5, "0.00001"),
        ] {
            assert_eq!(dbl(d), t, "{d:e}");
        }
        assert_eq!(
            text(&Jv::Arr(vec![Jv::Double(2.0), Jv::Double(1e100)])),
            "[2.0, 1e100]"
        );
    }

    #[test]
    fn non_finite_double_is_an_error() {
        let mut doc = vec![DOUBLE];
        doc.extend(f64::NAN.to_bits().to_le_bytes());
        assert!(matches!(
            json_binary_to_text(&doc, 0),
            Err(DecodeError::Invalid {
                what: "JSON double",
                ..
            })
        ));
    }

    fn packed_datetime(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, us: i64) -> i64 {
        ((((y * 13 + mo) << 5 | d) << 17 | h << 12 | mi << 6 | s) << 24) + us
    }

    fn packed_time(neg: bool, h: i64, mi: i64, s: i64, us: i64) -> i64 {
        let p = ((h << 12 | mi << 6 | s) << 24) + us;
        if neg {
            -p
        } else {
            p
        }
    }

    #[test]
    fn opaque_temporal_values() {
        let op = |t: u8, p: i64| text(&Jv::Opaque(t, p.to_le_bytes().to_vec()));
        assert_eq!(
            op(MYSQL_TYPE_DATE, packed_datetime(2015, 1, 15, 0, 0, 0, 0)),
            r#""2015-01-15""#
        );
        assert_eq!(op(MYSQL_TYPE_DATE, 0), r#""0000-00-00""#);
        assert_eq!(
            op(
                MYSQL_TYPE_DATETIME,
                packed_datetime(2015, 1, 15, 23, 24, 25, 0)
            ),
            r#""2015-01-15 23:24:25.000000""#
        );
        assert_eq!(
            op(
                MYSQL_TYPE_TIMESTAMP,
                packed_datetime(2038, 1, 19, 3, 14, 7, 999_999)
            ),
            r#""2038-01-19 03:14:07.999999""#
        );
        assert_eq!(
            op(MYSQL_TYPE_TIME, packed_time(false, 23, 24, 25, 0)),
            r#""23:24:25.000000""#
        );
        assert_eq!(
            op(MYSQL_TYPE_TIME, packed_time(true, 838, 59, 59, 0)),
            r#""-838:59:59.000000""#
        );
        assert_eq!(
            op(MYSQL_TYPE_TIME, packed_time(true, 0, 0, 0, 1)),
            r#""-00:00:00.000001""#
        );
        assert_eq!(
            op(MYSQL_TYPE_TIME, packed_time(false, 1, 2, 3, 450_000)),
            r#""01:02:03.450000""#
        );
        // Not 8 bytes, a negative date, an out-of-range field.
        assert!(
            json_binary_to_text(&encode(&Jv::Opaque(MYSQL_TYPE_DATE, vec![0; 7]), false), 0)
                .is_err()
        );
        assert!(json_binary_to_text(
            &encode(
                &Jv::Opaque(MYSQL_TYPE_DATETIME, (-1i64).to_le_bytes().to_vec()),
                false
            ),
            0
        )
        .is_err());
        let bad_minute = packed_datetime(2015, 1, 1, 0, 61, 0, 0);
        assert!(json_binary_to_text(
            &encode(
                &Jv::Opaque(MYSQL_TYPE_DATETIME, bad_minute.to_le_bytes().to_vec()),
                false
            ),
            0
        )
        .is_err());
    }

    #[test]
    fn opaque_decimal_and_others() {
        // DECIMAL(3,2) 1.50: one integer digit (1 byte), two fraction digits (1 byte).
        let dec = Jv::Opaque(MYSQL_TYPE_NEWDECIMAL, vec![3, 2, 0x81, 50]);
        assert_eq!(text(&dec), "1.50");
        assert_eq!(text(&Jv::Arr(vec![dec])), "[1.50]");
        // -1.50: bits inverted.
        assert_eq!(
            text(&Jv::Opaque(MYSQL_TYPE_NEWDECIMAL, vec![3, 2, 0x7e, !50])),
            "-1.50"
        );
        // Size mismatch.
        assert!(json_binary_to_text(
            &encode(&Jv::Opaque(MYSQL_TYPE_NEWDECIMAL, vec![3, 2, 0x81]), false),
            0
        )
        .is_err());
        // VAR_STRING opaque values print as strings.
        assert_eq!(
            text(&Jv::Opaque(MYSQL_TYPE_VAR_STRING, b"a\"b".to_vec())),
            r#""a\"b""#
        );
        // Others in base64, with MySQL's line break every 76 characters.
        assert_eq!(
            text(&Jv::Opaque(15, b"abc".to_vec())),
            r#""base64:type15:YWJj""#
        );
        assert_eq!(text(&Jv::Opaque(16, vec![1])), r#""base64:type16:AQ==""#);
        assert_eq!(text(&Jv::Opaque(252, vec![])), r#""base64:type252:""#);
        let long = text(&Jv::Opaque(252, vec![0xff; 60]));
        let b64 = "/".repeat(76) + "\\n" + &"/".repeat(4);
        assert_eq!(long, format!("\"base64:type252:{b64}\""));
    }

    #[test]
    fn depth_is_bounded_at_100() {
        let mut v = Jv::Int(1);
        for _ in 0..100 {
            v = Jv::Arr(vec![v]);
        }
        assert!(text(&v).starts_with(&"[".repeat(100)));
        let too_deep = encode(&Jv::Arr(vec![v]), false);
        assert!(matches!(
            json_binary_to_text(&too_deep, 0),
            Err(DecodeError::TooLarge {
                what: "JSON nesting depth",
                value: 101,
                ..
            })
        ));
    }

    #[test]
    fn malformed_documents_are_errors() {
        // Unknown type.
        assert!(matches!(
            json_binary_to_text(&[0x0d], 5),
            Err(DecodeError::Invalid { offset: 5, .. })
        ));
        // Literal out of range.
        assert!(json_binary_to_text(&[LITERAL, 3], 0).is_err());
        // Truncated scalars and strings.
        assert!(matches!(
            json_binary_to_text(&[INT64, 1, 2], 0),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(json_binary_to_text(&[STRING, 5, b'a'], 0).is_err());
        // A variable-length size that never ends.
        assert!(json_binary_to_text(&[STRING, 0x80, 0x80, 0x80, 0x80, 0x80, 0], 0).is_err());
        // Invalid UTF-8.
        assert!(json_binary_to_text(&[STRING, 1, 0xff], 0).is_err());
        // A count whose entries cannot fit: no allocation, an error.
        assert!(
            json_binary_to_text(&[LARGE_ARRAY, 0xff, 0xff, 0xff, 0xff, 8, 0, 0, 0], 0).is_err()
        );
        // A size larger than the document.
        assert!(json_binary_to_text(&[SMALL_ARRAY, 0, 0, 0xff, 0], 0).is_err());
        // A value offset inside the header, and one past the end.
        assert!(json_binary_to_text(&[SMALL_ARRAY, 1, 0, 7, 0, STRING, 1, 0], 0).is_err());
        assert!(json_binary_to_text(&[SMALL_ARRAY, 1, 0, 7, 0, STRING, 9, 0], 0).is_err());
        // A key offset past the end of the object.
        assert!(json_binary_to_text(
            &[SMALL_OBJECT, 1, 0, 12, 0, 11, 0, 5, 0, LITERAL, 0, 0, b'a'],
            0
        )
        .is_err());
    }

    #[test]
    fn shared_values_cannot_blow_up_the_output() {
        // A large array whose 10,000 entries all point at one 100 KB string.
        let n = 10_000usize;
        let header = 8 + n * 5;
        let s_len = 100_000usize;
        let mut doc = vec![LARGE_ARRAY];
        doc.extend((n as u32).to_le_bytes());
        doc.extend(((header + 3 + s_len) as u32).to_le_bytes());
        for _ in 0..n {
            doc.push(STRING);
            doc.extend((header as u32).to_le_bytes());
        }
        varlen(s_len, &mut doc);
        doc.extend(std::iter::repeat_n(b'a', s_len));
        assert!(matches!(
            json_binary_to_text(&doc, 0),
            Err(DecodeError::TooLarge {
                what: "JSON text",
                ..
            })
        ));

        // 90 levels of arrays whose two entries share one child: 2^90 leaves.
        let mut body: Vec<u8> = vec![0, 0, 4, 0]; // [] as the innermost value
        let mut t = SMALL_ARRAY;
        for _ in 0..90 {
            let mut outer = vec![2, 0];
            let size = 4 + 2 * 3 + body.len();
            outer.extend((size as u16).to_le_bytes());
            for _ in 0..2 {
                outer.push(t);
                outer.extend(10u16.to_le_bytes());
            }
            outer.extend(&body);
            body = outer;
            t = SMALL_ARRAY;
        }
        let mut doc = vec![SMALL_ARRAY];
        doc.extend(body);
        assert!(matches!(
            json_binary_to_text(&doc, 0),
            Err(DecodeError::TooLarge {
                what: "JSON text",
                ..
            })
        ));
    }

    fn lenenc(b: &[u8], out: &mut Vec<u8>) {
        assert!(b.len() < 251);
        out.push(b.len() as u8);
        out.extend_from_slice(b);
    }

    #[test]
    fn json_diffs() {
        let mut b = vec![0];
        lenenc(b"$.a", &mut b);
        lenenc(&encode(&Jv::Int(5), false), &mut b);
        b.push(2);
        lenenc(b"$.b", &mut b);
        b.push(1);
        lenenc(b"$.c[0]", &mut b);
        lenenc(&encode(&Jv::Str("x".into()), false), &mut b);
        let d = decode_json_diffs(&b, 100).unwrap();
        assert_eq!(
            d,
            vec![
                JsonDiff {
                    operation: JsonDiffOperation::Replace,
                    path: "$.a".into(),
                    value: Some("5".into())
                },
                JsonDiff {
                    operation: JsonDiffOperation::Remove,
                    path: "$.b".into(),
                    value: None
                },
                JsonDiff {
                    operation: JsonDiffOperation::Insert,
                    path: "$.c[0]".into(),
                    value: Some("\"x\"".into())
                },
            ]
        );
        assert_eq!(decode_json_diffs(&[], 0).unwrap(), vec![]);
        // Unknown operation, truncated path, missing value.
        assert!(matches!(
            decode_json_diffs(&[3, 0], 10),
            Err(DecodeError::Invalid { offset: 10, .. })
        ));
        assert!(decode_json_diffs(&[0, 5, b'$'], 0).is_err());
        assert!(decode_json_diffs(&[0, 1, b'$'], 0).is_err());
        // Offsets in errors are absolute: the bad value type is at 100 + 4.
        let bad = [0, 1, b'$', 1, 0x0d];
        assert!(matches!(
            decode_json_diffs(&bad, 100),
            Err(DecodeError::Invalid { offset: 104, .. })
        ));
    }

    /// Compares two JSON values, doubles within two units in the last place
    /// (serde_json's default float parser is not always exact).
    fn same(a: &J, b: &J) -> bool {
        match (a, b) {
            (J::Number(x), J::Number(y)) if x.is_f64() || y.is_f64() => {
                match (x.as_f64(), y.as_f64()) {
                    (Some(x), Some(y)) => {
                        x == y
                            || (x.is_sign_negative() == y.is_sign_negative()
                                && x.to_bits().abs_diff(y.to_bits()) <= 2)
                    }
                    _ => false,
                }
            }
            (J::Array(x), J::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
            }
            (J::Object(x), J::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
            }
            _ => a == b,
        }
    }

    fn finite_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>().prop_filter("finite", |d| d.is_finite()),
            (-1e6f64..1e6).prop_map(|d| d.trunc()),
            Just(0.0),
            Just(-0.0),
        ]
    }

    pub(crate) fn jv_strategy() -> impl Strategy<Value = Jv> {
        let leaf = prop_oneof![
            Just(Jv::Null),
            any::<bool>().prop_map(Jv::Bool),
            any::<i64>().prop_map(Jv::Int),
            any::<i16>().prop_map(|i| Jv::Int(i.into())),
            any::<i32>().prop_map(|i| Jv::Int(i.into())),
            any::<u64>().prop_map(Jv::UInt),
            any::<u32>().prop_map(|u| Jv::UInt(u.into())),
            finite_f64().prop_map(Jv::Double),
            any::<String>().prop_map(Jv::Str),
        ];
        leaf.prop_recursive(5, 96, 10, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..10).prop_map(Jv::Arr),
                prop::collection::btree_map(any::<String>(), inner, 0..10).prop_map(Jv::Obj),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
            ..ProptestConfig::default()
        })]

        /// Valid documents: our text parses to the original value and to
        /// what mysql_common's JSONB reader makes of the same bytes.
        #[test]
        fn valid_documents_match_mysql_common(v in jv_strategy(), large in any::<bool>()) {
            let doc = encode(&v, large);
            let ours = json_binary_to_text(&doc, 0).unwrap();
            let parsed: J = serde_json::from_str(&ours).unwrap();
            let original = v.to_json().unwrap();
            prop_assert!(same(&parsed, &original), "{ours} vs {original}");
            let mc: mysql_common::binlog::jsonb::Value<'_> =
                mysql_common::io::ParseBuf(&doc).parse(()).unwrap();
            let mc = J::try_from(mc).unwrap();
            prop_assert!(same(&parsed, &mc), "{ours} vs mysql_common {mc}");
        }

        /// Doubles print in a form that reads back to the same bits.
        #[test]
        fn doubles_round_trip(d in finite_f64()) {
            let s = dbl(d);
            let back: f64 = s.parse().unwrap();
            prop_assert_eq!(back.to_bits(), d.to_bits(), "{}", s);
            prop_assert!(s.contains('.') || s.contains('e'));
        }

        /// Arbitrary bytes never panic.
        #[test]
        fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..256), base in any::<u32>()) {
            let _ = json_binary_to_text(&b, u64::from(base));
            let _ = decode_json_diffs(&b, u64::from(base));
        }

        /// Valid documents with a few bytes changed never panic.
        #[test]
        fn mutated_documents_never_panic(
            v in jv_strategy(),
            large in any::<bool>(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut doc = encode(&v, large);
            for (i, b) in edits {
                let i = i.index(doc.len());
                doc[i] = b;
            }
            let _ = json_binary_to_text(&doc, 0);
            let mut diff = vec![0, 1, b'$'];
            if doc.len() < 251 {
                diff.push(doc.len() as u8);
                diff.extend(&doc);
                let _ = decode_json_diffs(&diff, 0);
            }
        }
    }
}
