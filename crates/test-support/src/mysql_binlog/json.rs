//! JSON documents, their MySQL binary form, their text as MySQL prints it,
//! and partial-update diffs.
//!
//! The binary layout is MySQL's `sql-common/json_binary.h` (documented at
//! the top of that header): a type byte, then the value. Objects and arrays
//! have a small form (2-byte counts, sizes and offsets) and a large form
//! (4-byte ones); the server serializes each container in the small form
//! and falls back to the large one when it does not fit in 64 KiB
//! (`serialize_json_value`). Object keys are stored sorted by length, then
//! bytes (`Json_key_comparator`), a later duplicate replacing an earlier one.
//! Literals and 16-bit integers (and, in the large form, 32-bit integers)
//! are stored inside their value entry.

use super::value::{datetime_packed, decimal_bin, decimal_text, time_packed};

/// A JSON value to write into a JSON column (or a JSON diff).
#[derive(Clone, Debug)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A signed integer: stored as int16, int32 or int64, the narrowest
    /// that holds it, as MySQL does.
    Int(i64),
    /// An unsigned integer (MySQL's J_UINT, e.g. above 2^63 - 1): uint16,
    /// uint32 or uint64, the narrowest that holds it.
    UInt(u64),
    /// A double.
    Double(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object; the binary form sorts the keys and keeps the last of
    /// duplicates.
    Object(Vec<(String, Json)>),
    /// An opaque DECIMAL (what `CAST(1.50 AS JSON)` stores).
    Decimal {
        /// The value's text.
        text: String,
        /// Its precision.
        precision: u8,
        /// Its scale.
        scale: u8,
    },
    /// An opaque DATE.
    Date {
        /// Year.
        year: u16,
        /// Month.
        month: u8,
        /// Day.
        day: u8,
    },
    /// An opaque DATETIME.
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
    /// An opaque TIME.
    Time {
        /// Negative.
        negative: bool,
        /// Hours.
        hours: u32,
        /// Minutes.
        minutes: u8,
        /// Seconds.
        seconds: u8,
        /// Microseconds.
        micros: u32,
    },
    /// Any other opaque value: a MySQL column type code and its bytes
    /// (e.g. 252, BLOB, for `CAST(x'00ff' AS JSON)`).
    Opaque {
        /// The MySQL column type code.
        field_type: u8,
        /// The data.
        data: Vec<u8>,
    },
}

impl PartialEq for Json {
    fn eq(&self, other: &Self) -> bool {
        use Json::*;
        match (self, other) {
            (Double(a), Double(b)) => a.to_bits() == b.to_bits(),
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (UInt(a), UInt(b)) => a == b,
            (String(a), String(b)) => a == b,
            (Array(a), Array(b)) => a == b,
            (Object(a), Object(b)) => a == b,
            (
                Decimal {
                    text: a,
                    precision: b,
                    scale: c,
                },
                Decimal {
                    text: x,
                    precision: y,
                    scale: z,
                },
            ) => (a, b, c) == (x, y, z),
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
                Opaque {
                    field_type: a,
                    data: b,
                },
                Opaque {
                    field_type: x,
                    data: y,
                },
            ) => (a, b) == (x, y),
            _ => false,
        }
    }
}

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

const LITERAL_NULL: u8 = 0;
const LITERAL_TRUE: u8 = 1;
const LITERAL_FALSE: u8 = 2;

/// MySQL column types of opaque values with their own meaning.
const MYSQL_TYPE_DATE: u8 = 10;
const MYSQL_TYPE_TIME: u8 = 11;
const MYSQL_TYPE_DATETIME: u8 = 12;
const MYSQL_TYPE_NEWDECIMAL: u8 = 246;

impl Json {
    /// A string.
    pub fn str(s: &str) -> Json {
        Json::String(s.to_owned())
    }

    /// An object from (key, value) pairs.
    pub fn object(items: Vec<(&str, Json)>) -> Json {
        Json::Object(items.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// An opaque DECIMAL; `text` must fit DECIMAL(precision, scale).
    pub fn decimal(text: &str, precision: u8, scale: u8) -> Json {
        Json::Decimal {
            text: text.to_owned(),
            precision,
            scale,
        }
    }

    /// The document as MySQL stores it, normalized: object keys sorted by
    /// length then bytes, duplicates resolved (the last wins), and the
    /// opaque helpers (DECIMAL, DATE, DATETIME, TIME) turned into
    /// [`Json::Opaque`] with their bytes. Two documents a reader cannot
    /// tell apart have equal normalized forms.
    ///
    /// # Panics
    ///
    /// When an opaque DECIMAL does not fit its precision and scale.
    pub fn normalized(&self) -> Json {
        match self {
            Json::Array(items) => Json::Array(items.iter().map(Json::normalized).collect()),
            Json::Object(_) => Json::Object(
                self.sorted_members()
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.normalized()))
                    .collect(),
            ),
            Json::Decimal { .. }
            | Json::Date { .. }
            | Json::DateTime { .. }
            | Json::Time { .. } => {
                let (field_type, data) = self.opaque_bytes();
                Json::Opaque { field_type, data }
            }
            other => other.clone(),
        }
    }

    /// The members of an object in stored order: sorted by key length,
    /// then key bytes, keeping the last of duplicate keys.
    fn sorted_members(&self) -> Vec<(&str, &Json)> {
        let Json::Object(items) = self else {
            return Vec::new();
        };
        let mut out: Vec<(&str, &Json)> = Vec::new();
        for (k, v) in items {
            if let Some(slot) = out.iter_mut().find(|(key, _)| *key == k.as_str()) {
                slot.1 = v;
            } else {
                out.push((k.as_str(), v));
            }
        }
        out.sort_by(|a, b| {
            a.0.len()
                .cmp(&b.0.len())
                .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
        });
        out
    }

    /// The (field type, data) of an opaque value.
    fn opaque_bytes(&self) -> (u8, Vec<u8>) {
        match self {
            // `Json_decimal::get_binary`: precision, scale, `decimal2bin`.
            Json::Decimal {
                text,
                precision,
                scale,
            } => {
                let bin = decimal_bin(text, *precision, *scale)
                    .unwrap_or_else(|e| panic!("mysql_binlog: JSON decimal: {e}"));
                let mut data = vec![*precision, *scale];
                data.extend(bin);
                (MYSQL_TYPE_NEWDECIMAL, data)
            }
            // Temporal values are their packed form, 8 bytes little-endian.
            Json::Date { year, month, day } => (
                MYSQL_TYPE_DATE,
                datetime_packed(*year, *month, *day, 0, 0, 0, 0)
                    .to_le_bytes()
                    .to_vec(),
            ),
            Json::DateTime {
                year,
                month,
                day,
                hour,
                minute,
                second,
                micros,
            } => (
                MYSQL_TYPE_DATETIME,
                datetime_packed(*year, *month, *day, *hour, *minute, *second, *micros)
                    .to_le_bytes()
                    .to_vec(),
            ),
            Json::Time {
                negative,
                hours,
                minutes,
                seconds,
                micros,
            } => (
                MYSQL_TYPE_TIME,
                time_packed(*negative, *hours, *minutes, *seconds, *micros)
                    .to_le_bytes()
                    .to_vec(),
            ),
            Json::Opaque { field_type, data } => (*field_type, data.clone()),
            _ => (0, Vec::new()),
        }
    }

    /// The MySQL binary form of the document: its type byte, then its
    /// value.
    pub fn encode(&self) -> Vec<u8> {
        let (t, body) = self.encode_value();
        let mut out = Vec::with_capacity(body.len() + 1);
        out.push(t);
        out.extend(body);
        out
    }

    /// The type byte and the bytes of a value.
    fn encode_value(&self) -> (u8, Vec<u8>) {
        match self {
            Json::Null => (LITERAL, vec![LITERAL_NULL]),
            Json::Bool(true) => (LITERAL, vec![LITERAL_TRUE]),
            Json::Bool(false) => (LITERAL, vec![LITERAL_FALSE]),
            Json::Int(i) => {
                if let Ok(v) = i16::try_from(*i) {
                    (INT16, v.to_le_bytes().to_vec())
                } else if let Ok(v) = i32::try_from(*i) {
                    (INT32, v.to_le_bytes().to_vec())
                } else {
                    (INT64, i.to_le_bytes().to_vec())
                }
            }
            Json::UInt(u) => {
                if let Ok(v) = u16::try_from(*u) {
                    (UINT16, v.to_le_bytes().to_vec())
                } else if let Ok(v) = u32::try_from(*u) {
                    (UINT32, v.to_le_bytes().to_vec())
                } else {
                    (UINT64, u.to_le_bytes().to_vec())
                }
            }
            Json::Double(d) => (DOUBLE, d.to_bits().to_le_bytes().to_vec()),
            Json::String(s) => {
                let mut v = Vec::with_capacity(s.len() + 5);
                varlen(s.len(), &mut v);
                v.extend_from_slice(s.as_bytes());
                (STRING, v)
            }
            Json::Array(items) => {
                let entries: Vec<(Option<&str>, &Json)> = items.iter().map(|v| (None, v)).collect();
                container(&entries, false)
            }
            Json::Object(_) => {
                let members = self.sorted_members();
                let entries: Vec<(Option<&str>, &Json)> =
                    members.into_iter().map(|(k, v)| (Some(k), v)).collect();
                container(&entries, true)
            }
            Json::Decimal { .. }
            | Json::Date { .. }
            | Json::DateTime { .. }
            | Json::Time { .. }
            | Json::Opaque { .. } => {
                let (field_type, data) = self.opaque_bytes();
                let mut v = vec![field_type];
                varlen(data.len(), &mut v);
                v.extend(data);
                (OPAQUE, v)
            }
        }
    }

    /// The text MySQL prints for the document (`SELECT json_col`,
    /// `Json_wrapper::to_string`): `{"a": 1, "b": [1, 2]}` with `": "` and
    /// `", "` separators, keys in stored order, strings escaped as
    /// `double_quote` does, doubles in the shortest form that reads back
    /// (with `.0` when it has neither point nor exponent, and the exponent
    /// form outside 1e-15 to 1e15), opaque DECIMALs bare, temporal values
    /// quoted with six fraction digits.
    pub fn to_mysql_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out);
        out
    }

    fn write_text(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => out.push_str(&i.to_string()),
            Json::UInt(u) => out.push_str(&u.to_string()),
            Json::Double(d) => out.push_str(&double_text(*d)),
            Json::String(s) => quote(out, s),
            Json::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_text(out);
                }
                out.push(']');
            }
            Json::Object(_) => {
                out.push('{');
                for (i, (k, v)) in self.sorted_members().into_iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    quote(out, k);
                    out.push_str(": ");
                    v.write_text(out);
                }
                out.push('}');
            }
            Json::Decimal {
                text,
                precision,
                scale,
            } => out.push_str(
                &decimal_text(text, *precision, *scale)
                    .unwrap_or_else(|e| panic!("mysql_binlog: JSON decimal: {e}")),
            ),
            Json::Date { year, month, day } => {
                out.push_str(&format!("\"{year:04}-{month:02}-{day:02}\""));
            }
            Json::DateTime {
                year,
                month,
                day,
                hour,
                minute,
                second,
                micros,
            } => out.push_str(&format!(
                "\"{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}.{micros:06}\""
            )),
            Json::Time {
                negative,
                hours,
                minutes,
                seconds,
                micros,
            } => out.push_str(&format!(
                "\"{}{hours:02}:{minutes:02}:{seconds:02}.{micros:06}\"",
                if *negative { "-" } else { "" }
            )),
            Json::Opaque { field_type, data } => {
                let mut s = format!("base64:type{field_type}:");
                s.push_str(&base64(data));
                quote(out, &s);
            }
        }
    }
}

/// `append_variable_length`: 7 bits a byte, low bits first, the high bit
/// set on every byte but the last.
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

/// An object or array: the small form when everything fits in 16-bit
/// offsets and sizes, else the large form.
fn container(entries: &[(Option<&str>, &Json)], object: bool) -> (u8, Vec<u8>) {
    let values: Vec<(u8, Vec<u8>)> = entries.iter().map(|(_, v)| v.encode_value()).collect();
    if let Some(small) = build(entries, &values, object, false) {
        return (if object { SMALL_OBJECT } else { SMALL_ARRAY }, small);
    }
    let large = build(entries, &values, object, true).unwrap_or_default();
    (if object { LARGE_OBJECT } else { LARGE_ARRAY }, large)
}

/// The bytes of a container, or `None` when the small form cannot hold
/// them. Layout: element count, total size, key entries (key offset, key
/// length), value entries (type, inline value or offset), keys, values;
/// offsets from the start of the container.
fn build(
    entries: &[(Option<&str>, &Json)],
    values: &[(u8, Vec<u8>)],
    object: bool,
    large: bool,
) -> Option<Vec<u8>> {
    let off = if large { 4 } else { 2 };
    let n = entries.len();
    let key_entries = if object { n * (off + 2) } else { 0 };
    let header = 2 * off + key_entries + n * (1 + off);
    let fits = |v: usize| large || v <= usize::from(u16::MAX);
    let mut keys = Vec::new();
    let mut key_entry_bytes = Vec::new();
    let mut pos = header;
    if object {
        for (k, _) in entries {
            let k = k.unwrap_or_default();
            if !fits(pos) || k.len() > usize::from(u16::MAX) {
                return None;
            }
            push_off(&mut key_entry_bytes, pos, off);
            key_entry_bytes.extend_from_slice(&(k.len() as u16).to_le_bytes());
            keys.extend_from_slice(k.as_bytes());
            pos += k.len();
        }
    }
    let mut value_entry_bytes = Vec::new();
    let mut data = Vec::new();
    for (t, v) in values {
        value_entry_bytes.push(*t);
        let inline =
            matches!(*t, LITERAL | INT16 | UINT16) || (large && matches!(*t, INT32 | UINT32));
        if inline {
            let mut slot = v.clone();
            slot.resize(off, 0);
            value_entry_bytes.extend(slot);
        } else {
            if !fits(pos) {
                return None;
            }
            push_off(&mut value_entry_bytes, pos, off);
            data.extend_from_slice(v);
            pos += v.len();
        }
    }
    if !fits(pos) || !fits(n) {
        return None;
    }
    let mut out = Vec::with_capacity(pos);
    push_off(&mut out, n, off);
    push_off(&mut out, pos, off);
    out.extend(key_entry_bytes);
    out.extend(value_entry_bytes);
    out.extend(keys);
    out.extend(data);
    Some(out)
}

fn push_off(out: &mut Vec<u8>, v: usize, off: usize) {
    out.extend_from_slice(&(v as u64).to_le_bytes()[..off]);
}

/// A string in double quotes, escaped as MySQL's `double_quote` does.
fn quote(out: &mut String, s: &str) {
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
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A double as MySQL prints it in JSON (`my_gcvt` with the double
/// argument): the shortest digits that read back, in fixed notation for
/// decimal exponents -15 to 14 (and 15 when digits remain after the
/// point), else `d.ddde-7`-style; `.0` added to a bare integer.
pub fn double_text(d: f64) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let sci = format!("{d:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    let fixed = (-15..=14).contains(&exp) || (exp == 15 && digits.len() > 16);
    if fixed {
        let mut s = String::from(sign);
        if exp < 0 {
            s.push_str("0.");
            s.push_str(&"0".repeat((-exp - 1) as usize));
            s.push_str(&digits);
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                s.push_str(&digits);
                s.push_str(&"0".repeat(int_len - digits.len()));
                s.push_str(".0");
            } else {
                s.push_str(&digits[..int_len]);
                s.push('.');
                s.push_str(&digits[int_len..]);
            }
        }
        s
    } else {
        let mut s = String::from(sign);
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push_str(&exp.to_string());
        s
    }
}

/// MySQL's base64 (`base64_encode` in `mysys/base64.cc`): the standard
/// alphabet with padding, a line break every 76 characters.
fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    let mut line = 0;
    for chunk in data.chunks(3) {
        if line == 76 {
            out.push('\n');
            line = 0;
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
        line += 4;
    }
    out
}

/// The operation of a [`JsonDiff`] (`enum_json_diff_operation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonDiffOp {
    /// `JSON_REPLACE` / `JSON_SET` of an existing path (0).
    Replace,
    /// `JSON_INSERT` / `JSON_ARRAY_INSERT` / `JSON_SET` of a new path (1).
    Insert,
    /// `JSON_REMOVE` (2).
    Remove,
}

/// One operation of a partial JSON update.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonDiff {
    /// The operation.
    pub op: JsonDiffOp,
    /// The path, as text (`$.a[1]`).
    pub path: String,
    /// The new value (`None` for remove).
    pub value: Option<Json>,
}

impl JsonDiff {
    /// A replace of `path` by `value`.
    pub fn replace(path: &str, value: Json) -> Self {
        JsonDiff {
            op: JsonDiffOp::Replace,
            path: path.to_owned(),
            value: Some(value),
        }
    }

    /// An insert of `value` at `path`.
    pub fn insert(path: &str, value: Json) -> Self {
        JsonDiff {
            op: JsonDiffOp::Insert,
            path: path.to_owned(),
            value: Some(value),
        }
    }

    /// A removal of `path`.
    pub fn remove(path: &str) -> Self {
        JsonDiff {
            op: JsonDiffOp::Remove,
            path: path.to_owned(),
            value: None,
        }
    }

    /// `Json_diff_vector::write_binary` for one diff: the operation byte,
    /// the path as a length-encoded string, and unless the operation is a
    /// removal the value as a length-encoded binary document.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.push(match self.op {
            JsonDiffOp::Replace => 0,
            JsonDiffOp::Insert => 1,
            JsonDiffOp::Remove => 2,
        });
        lenenc_bytes(self.path.as_bytes(), out);
        if self.op != JsonDiffOp::Remove {
            let doc = self.value.as_ref().unwrap_or(&Json::Null).encode();
            lenenc_bytes(&doc, out);
        }
    }

    /// The diff with its value normalized (see [`Json::normalized`]).
    pub fn normalized(&self) -> JsonDiff {
        JsonDiff {
            op: self.op,
            path: self.path.clone(),
            value: self.value.as_ref().map(Json::normalized),
        }
    }
}

/// A length-encoded integer (`net_store_length`).
pub(crate) fn lenenc_int(v: u64, out: &mut Vec<u8>) {
    if v < 251 {
        out.push(v as u8);
    } else if v < 1 << 16 {
        out.push(0xfc);
        out.extend_from_slice(&(v as u16).to_le_bytes());
    } else if v < 1 << 24 {
        out.push(0xfd);
        out.extend_from_slice(&(v as u32).to_le_bytes()[..3]);
    } else {
        out.push(0xfe);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// A length-encoded string.
pub(crate) fn lenenc_bytes(b: &[u8], out: &mut Vec<u8>) {
    lenenc_int(b.len() as u64, out);
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_take_the_narrowest_type() {
        assert_eq!(Json::Int(5).encode(), vec![INT16, 5, 0]);
        assert_eq!(Json::Int(70_000).encode()[0], INT32);
        assert_eq!(Json::Int(1 << 40).encode()[0], INT64);
        assert_eq!(Json::UInt(u64::MAX).encode()[0], UINT64);
    }

    #[test]
    fn object_layout_matches_the_header_documentation() {
        // {"a": 1}: small object, count 1, size 12; key entry (offset 11,
        // length 1); value entry INT16 inline 1; key "a".
        assert_eq!(
            Json::object(vec![("a", Json::Int(1))]).encode(),
            vec![SMALL_OBJECT, 1, 0, 12, 0, 11, 0, 1, 0, INT16, 1, 0, b'a']
        );
    }

    #[test]
    fn keys_sort_by_length_then_bytes_and_the_last_duplicate_wins() {
        let j = Json::object(vec![
            ("bb", Json::Int(1)),
            ("a", Json::Int(2)),
            ("c", Json::Int(3)),
            ("a", Json::Int(4)),
        ]);
        assert_eq!(j.to_mysql_text(), r#"{"a": 4, "c": 3, "bb": 1}"#);
    }

    #[test]
    fn large_containers_past_64k() {
        let big = Json::Array(vec![Json::String("x".repeat(70_000))]);
        assert_eq!(big.encode()[0], LARGE_ARRAY);
        let small = Json::Array(vec![Json::String("x".repeat(100))]);
        assert_eq!(small.encode()[0], SMALL_ARRAY);
    }

    #[test]
    fn doubles_print_like_mysql() {
        for (d, t) in [
            (0.1, "0.1"),
            (1.5, "1.5"),
            (-0.0, "-0.0"),
            (100.0, "100.0"),
            (1e15, "1e15"),
            (1e100, "1e100"),
            (1e-16, "1e-16"),
            (0.000000000000001, "0.000000000000001"),
            (123456789012345.0, "123456789012345.0"),
            (1234567890123456.8, "1234567890123456.8"),
            (-1.2345e-7, "-0.00000012345"),
            (1.2345e-16, "1.2345e-16"),
        ] {
            assert_eq!(double_text(d), t, "{d:e}");
        }
    }

    #[test]
    fn base64_lines() {
        assert_eq!(base64(b"\x00\xff"), "AP8=");
        assert_eq!(base64(&[0u8; 57]).len(), 76);
        assert_eq!(base64(&[0u8; 60]).len(), 76 + 1 + 4);
    }
}
