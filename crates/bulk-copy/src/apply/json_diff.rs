//! MySQL partial JSON updates (`binlog_row_value_options=PARTIAL_JSON`)
//! turned back into whole JSON values.
//!
//! A PARTIAL_UPDATE_ROWS event logs, for a JSON column an `UPDATE` changed
//! with `JSON_SET`, `JSON_REPLACE` or `JSON_REMOVE`, a list of diffs instead
//! of the new document. With `binlog_row_image=FULL` (which the precheck
//! requires with PARTIAL_JSON) the before image holds the whole old
//! document, so the apply computes the new one here, exactly as the source
//! did, and writes it as it writes any JSON value: the text the source
//! prints for it. No JSON function of the target is involved, so the value
//! is the same on a MySQL target (which parses the text back to the same
//! document) and on a MariaDB one (which stores the text).
//!
//! The rules are those of MySQL's `apply_json_diffs` (`sql/json_diff.cc`),
//! which a MySQL replica runs on the same events, reimplemented here on the
//! JSON text that binlog-reader prints for the before image and for each
//! diff's value (MySQL's own printing, see `binlog_reader::jsonb`):
//!
//! - a diff's path is a `Json_path` as MySQL prints it: `$`, then member
//!   legs (`.name`, or `."quoted name"` when the name is not an ECMAScript
//!   identifier) and array cells (`[3]`, `[last]`, `[last-2]`); no
//!   wildcard, range or ellipsis. A path with no leg (the whole document) is
//!   rejected, as MySQL rejects it;
//! - REPLACE: the value at the path must exist (a member present, an array
//!   cell within bounds), and is replaced;
//! - INSERT: the path's parent must exist; in an object the member must not
//!   exist yet and is added, in key order (MySQL keeps an object's keys
//!   sorted by byte length, then bytes); in an array the value is inserted
//!   at the cell's index, or appended when the index is past the end (a
//!   `last-N` past the start inserts first);
//! - REMOVE: the path's parent must exist and the member, or the array cell
//!   within bounds, is removed;
//! - diffs apply in order, each to the result of the one before; a diff of
//!   a NULL document is rejected.
//!
//! Whatever MySQL would reject (it then stops replication with
//! `ER_COULD_NOT_APPLY_JSON_DIFF`) is an error here too, never a guess.

use std::fmt::Write as _;

use binlog_reader::{JsonDiff, JsonDiffOperation};

/// One JSON value, with scalars kept as the exact text printed for them.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    /// Members in stored order: (key as printed with its quotes, key's
    /// bytes, value).
    Object(Vec<(String, Vec<u8>, Node)>),
    Array(Vec<Node>),
    /// A string, number or literal, as printed.
    Scalar(String),
}

/// The most nested containers accepted (MySQL's `JSON_DOCUMENT_MAX_DEPTH`
/// is 100; a document printed from a binlog never goes deeper).
const MAX_DEPTH: usize = 100;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("not valid JSON text at byte {}: {what}", self.i))
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// A string: its text as printed, with quotes, and its bytes.
    fn string(&mut self) -> Result<(String, Vec<u8>), String> {
        self.ws();
        let start = self.i;
        if !self.eat(b'"') {
            return self.err("a string was expected");
        }
        let mut bytes = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.i) else {
                return self.err("an unterminated string");
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return self.err("an unterminated escape");
                    };
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => bytes.push(e),
                        b'b' => bytes.push(8),
                        b'f' => bytes.push(12),
                        b'n' => bytes.push(b'\n'),
                        b'r' => bytes.push(b'\r'),
                        b't' => bytes.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xd800..0xdc00).contains(&cp) {
                                if self.s.get(self.i..self.i + 2) != Some(b"\\u") {
                                    return self.err("a lone surrogate");
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return self.err("a lone surrogate");
                                }
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                            }
                            let Some(ch) = char::from_u32(cp) else {
                                return self.err("an invalid code point");
                            };
                            let mut b = [0; 4];
                            bytes.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        _ => return self.err("an unknown escape"),
                    }
                }
                _ => bytes.push(c),
            }
        }
        let text = std::str::from_utf8(self.s.get(start..self.i).unwrap_or_default())
            .map_err(|_| format!("not UTF-8 at byte {start}"))?;
        Ok((text.to_string(), bytes))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.s.get(self.i..self.i + 4).unwrap_or_default();
        let v = std::str::from_utf8(h)
            .ok()
            .filter(|h| h.len() == 4)
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        match v {
            Some(v) => {
                self.i += 4;
                Ok(v)
            }
            None => self.err("a bad \\u escape"),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, String> {
        if depth > MAX_DEPTH {
            return self.err("nested deeper than 100");
        }
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut members = Vec::new();
                if self.eat(b'}') {
                    return Ok(Node::Object(members));
                }
                loop {
                    let (text, bytes) = self.string()?;
                    if !self.eat(b':') {
                        return self.err("':' was expected");
                    }
                    let v = self.value(depth + 1)?;
                    members.push((text, bytes, v));
                    if self.eat(b',') {
                        continue;
                    }
                    if self.eat(b'}') {
                        return Ok(Node::Object(members));
                    }
                    return self.err("',' or '}' was expected");
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Ok(Node::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b',') {
                        continue;
                    }
                    if self.eat(b']') {
                        return Ok(Node::Array(items));
                    }
                    return self.err("',' or ']' was expected");
                }
            }
            Some(b'"') => Ok(Node::Scalar(self.string()?.0)),
            Some(_) => {
                let start = self.i;
                while self.s.get(self.i).is_some_and(|c| {
                    !c.is_ascii_whitespace() && !matches!(c, b',' | b']' | b'}' | b':')
                }) {
                    self.i += 1;
                }
                let t = std::str::from_utf8(self.s.get(start..self.i).unwrap_or_default())
                    .unwrap_or_default();
                let ok = matches!(t, "true" | "false" | "null")
                    || (!t.is_empty()
                        && t.bytes().all(|c| {
                            c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E')
                        }));
                if !ok {
                    return self.err("a value was expected");
                }
                Ok(Node::Scalar(t.to_string()))
            }
            None => self.err("a value was expected"),
        }
    }
}

fn parse(text: &str) -> Result<Node, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return p.err("text after the value");
    }
    Ok(v)
}

/// Prints as MySQL prints a document: `{"a": 1, "b": [1, 2]}`.
fn print(n: &Node, out: &mut String) {
    match n {
        Node::Scalar(s) => out.push_str(s),
        Node::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                print(v, out);
            }
            out.push(']');
        }
        Node::Object(members) => {
            out.push('{');
            for (i, (k, _, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                print(v, out);
            }
            out.push('}');
        }
    }
}

/// One leg of a diff's path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Leg {
    /// A member: its name as printed in JSON (with quotes) and its bytes.
    Member(String, Vec<u8>),
    /// An array cell: the index, and whether it counts from the end
    /// (`last-N`).
    Cell(usize, bool),
}

fn parse_path(path: &str) -> Result<Vec<Leg>, String> {
    let bad = |why: &str| Err(format!("the path {path:?} {why}"));
    let s = path.trim();
    let Some(mut rest) = s.strip_prefix('$') else {
        return bad("does not start with '$'");
    };
    let mut legs = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(legs);
        }
        if let Some(r) = rest.strip_prefix('.') {
            let r = r.trim_start();
            if r.starts_with('"') {
                let mut p = Parser {
                    s: r.as_bytes(),
                    i: 0,
                };
                let (_, bytes) = p.string()?;
                let name = String::from_utf8(bytes.clone()).map_err(|_| {
                    format!("the path {path:?} has a member name that is not UTF-8")
                })?;
                legs.push(Leg::Member(json_quote(&name), bytes));
                rest = r.get(p.i..).unwrap_or_default();
            } else {
                let end = r
                    .find(|c: char| c == '.' || c == '[' || c.is_whitespace())
                    .unwrap_or(r.len());
                let name = r.get(..end).unwrap_or_default();
                if name.is_empty() || name == "*" || name.starts_with('*') {
                    return bad("has a wildcard or an empty member name");
                }
                legs.push(Leg::Member(json_quote(name), name.as_bytes().to_vec()));
                rest = r.get(end..).unwrap_or_default();
            }
        } else if let Some(r) = rest.strip_prefix('[') {
            let Some(close) = r.find(']') else {
                return bad("has an unclosed '['");
            };
            let inner: String = r
                .get(..close)
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let leg = if let Some(tail) = inner.strip_prefix("last") {
                if tail.is_empty() {
                    Leg::Cell(0, true)
                } else if let Some(n) = tail.strip_prefix('-').and_then(|n| n.parse().ok()) {
                    Leg::Cell(n, true)
                } else {
                    return bad("has an array cell that is not an index");
                }
            } else if let Ok(n) = inner.parse() {
                Leg::Cell(n, false)
            } else {
                return bad("has a wildcard, a range or an array cell that is not an index");
            };
            legs.push(leg);
            rest = r.get(close + 1..).unwrap_or_default();
        } else {
            return bad("has a leg that is neither a member nor an array cell (a wildcard?)");
        }
    }
}

/// A string as MySQL prints it in JSON (`double_quote` in `json_dom.cc`).
fn json_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Where an array cell leg points in an array of `len`: (position, within
/// bounds), as MySQL's `Json_array_index`.
fn cell(index: usize, from_end: bool, len: usize) -> (usize, bool) {
    let pos = if from_end {
        if index < len {
            len - index - 1
        } else {
            0
        }
    } else {
        index.min(len)
    };
    (pos, index < len)
}

/// The value at `legs`, when every leg exists.
fn seek<'n>(mut n: &'n mut Node, legs: &[Leg]) -> Option<&'n mut Node> {
    for leg in legs {
        n = match (n, leg) {
            (Node::Array(items), Leg::Cell(i, from_end)) => {
                let (pos, within) = cell(*i, *from_end, items.len());
                if !within {
                    return None;
                }
                items.get_mut(pos)?
            }
            (Node::Object(members), Leg::Member(_, key)) => {
                &mut members.iter_mut().find(|(_, k, _)| k == key)?.2
            }
            _ => return None,
        };
    }
    Some(n)
}

/// Whether key `a` sorts before key `b` in a MySQL object: by byte length,
/// then bytes.
fn key_before(a: &[u8], b: &[u8]) -> bool {
    (a.len(), a) < (b.len(), b)
}

fn op_name(op: JsonDiffOperation) -> &'static str {
    match op {
        JsonDiffOperation::Replace => "REPLACE",
        JsonDiffOperation::Insert => "INSERT",
        JsonDiffOperation::Remove => "REMOVE",
    }
}

fn apply_one(doc: &mut Node, d: &JsonDiff) -> Result<(), String> {
    let legs = parse_path(&d.path)?;
    let Some((last, parent_legs)) = legs.split_last() else {
        return Err(format!(
            "the diff {} {:?} has a path with no leg (the whole document), which MySQL rejects",
            op_name(d.operation),
            d.path
        ));
    };
    let missing = || {
        format!(
            "the diff {} {:?} does not fit the row's old document: MySQL rejects it too \
             (ER_COULD_NOT_APPLY_JSON_DIFF), so the target already differs from the source",
            op_name(d.operation),
            d.path
        )
    };
    let value = || -> Result<Node, String> {
        match &d.value {
            Some(v) => parse(v),
            None => Err(format!(
                "the diff {} {:?} carries no value",
                op_name(d.operation),
                d.path
            )),
        }
    };
    match d.operation {
        JsonDiffOperation::Replace => {
            let v = value()?;
            let slot = seek(doc, &legs).ok_or_else(missing)?;
            *slot = v;
        }
        JsonDiffOperation::Insert => {
            let v = value()?;
            let parent = seek(doc, parent_legs).ok_or_else(missing)?;
            match (parent, last) {
                (Node::Object(members), Leg::Member(text, key)) => {
                    if members.iter().any(|(_, k, _)| k == key) {
                        return Err(missing());
                    }
                    let at = members
                        .iter()
                        .position(|(_, k, _)| key_before(key, k))
                        .unwrap_or(members.len());
                    members.insert(at, (text.clone(), key.clone(), v));
                }
                (Node::Array(items), Leg::Cell(i, from_end)) => {
                    let (pos, _) = cell(*i, *from_end, items.len());
                    items.insert(pos.min(items.len()), v);
                }
                _ => return Err(missing()),
            }
        }
        JsonDiffOperation::Remove => {
            let parent = seek(doc, parent_legs).ok_or_else(missing)?;
            match (parent, last) {
                (Node::Object(members), Leg::Member(_, key)) => {
                    let at = members
                        .iter()
                        .position(|(_, k, _)| k == key)
                        .ok_or_else(missing)?;
                    members.remove(at);
                }
                (Node::Array(items), Leg::Cell(i, from_end)) => {
                    let (pos, within) = cell(*i, *from_end, items.len());
                    if !within {
                        return Err(missing());
                    }
                    items.remove(pos);
                }
                _ => return Err(missing()),
            }
        }
    }
    Ok(())
}

/// The document `before` (JSON text as binlog-reader prints it) after
/// `diffs`, printed the same way: what the source stored.
///
/// # Errors
///
/// Why the diffs cannot be applied (a path that does not fit the document,
/// text that is not JSON): the source's MySQL replicas would stop there too.
pub(crate) fn apply_json_diffs(before: &str, diffs: &[JsonDiff]) -> Result<String, String> {
    let mut doc = parse(before)?;
    for d in diffs {
        apply_one(&mut doc, d)?;
    }
    let mut out = String::with_capacity(before.len() + 64);
    print(&doc, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(op: JsonDiffOperation, path: &str, value: Option<&str>) -> JsonDiff {
        JsonDiff {
            operation: op,
            path: path.into(),
            value: value.map(Into::into),
        }
    }
    use JsonDiffOperation::{Insert, Remove, Replace};

    #[test]
    fn printed_documents_round_trip_byte_for_byte() {
        for doc in [
            r#"{"a": 1, "b": [1, 2.5e-7, "x\"\\\n\u001f"], "cc": {}, "ddd": []}"#,
            r#"[]"#,
            r#"{}"#,
            r#"null"#,
            r#""base64:type15:AAE=""#,
            r#"[true, false, null, -0.0, 1e100, 18446744073709551615]"#,
        ] {
            assert_eq!(apply_json_diffs(doc, &[]).unwrap(), doc);
        }
    }

    #[test]
    fn replace_insert_remove_as_mysql_applies_them() {
        let doc = r#"{"a": 1, "b": "oOo", "arr": [1, 2, 3]}"#;
        let cases: Vec<(Vec<JsonDiff>, &str)> = vec![
            (
                vec![diff(Replace, "$.b", Some(r#""x""#))],
                r#"{"a": 1, "b": "x", "arr": [1, 2, 3]}"#,
            ),
            (
                vec![diff(Replace, "$.arr[1]", Some(r#"{"k": [null]}"#))],
                r#"{"a": 1, "b": "oOo", "arr": [1, {"k": [null]}, 3]}"#,
            ),
            (
                vec![diff(Replace, "$.arr[last]", Some("9"))],
                r#"{"a": 1, "b": "oOo", "arr": [1, 2, 9]}"#,
            ),
            // Keys sorted by length, then bytes, as MySQL stores them.
            (
                vec![diff(Insert, "$.c", Some("true"))],
                r#"{"a": 1, "b": "oOo", "c": true, "arr": [1, 2, 3]}"#,
            ),
            (
                vec![diff(Insert, "$.zzzz", Some("[]"))],
                r#"{"a": 1, "b": "oOo", "arr": [1, 2, 3], "zzzz": []}"#,
            ),
            (
                vec![diff(Insert, "$.\"a b\"", Some("0"))],
                r#"{"a": 1, "b": "oOo", "a b": 0, "arr": [1, 2, 3]}"#,
            ),
            (
                vec![diff(Insert, "$.arr[0]", Some("0"))],
                r#"{"a": 1, "b": "oOo", "arr": [0, 1, 2, 3]}"#,
            ),
            // Past the end: appended.
            (
                vec![diff(Insert, "$.arr[10]", Some("4"))],
                r#"{"a": 1, "b": "oOo", "arr": [1, 2, 3, 4]}"#,
            ),
            (
                vec![diff(Insert, "$.arr[last-1]", Some("7"))],
                r#"{"a": 1, "b": "oOo", "arr": [1, 7, 2, 3]}"#,
            ),
            (
                vec![diff(Remove, "$.b", None)],
                r#"{"a": 1, "arr": [1, 2, 3]}"#,
            ),
            (
                vec![diff(Remove, "$.arr[0]", None)],
                r#"{"a": 1, "b": "oOo", "arr": [2, 3]}"#,
            ),
            // In order, each on the result of the one before.
            (
                vec![
                    diff(Remove, "$.arr[0]", None),
                    diff(Replace, "$.arr[0]", Some("5")),
                    diff(Insert, "$.arr[5]", Some("6")),
                ],
                r#"{"a": 1, "b": "oOo", "arr": [5, 3, 6]}"#,
            ),
        ];
        for (diffs, want) in cases {
            assert_eq!(apply_json_diffs(doc, &diffs).unwrap(), want, "{diffs:?}");
        }
    }

    #[test]
    fn what_mysql_rejects_is_an_error() {
        let doc = r#"{"a": 1, "arr": [1]}"#;
        for d in [
            diff(Replace, "$.missing", Some("1")),
            diff(Replace, "$.arr[1]", Some("1")),
            diff(Replace, "$", Some("1")),
            diff(Insert, "$.a", Some("1")),
            diff(Insert, "$.missing.x", Some("1")),
            diff(Insert, "$.a[0]", Some("1")),
            diff(Remove, "$.arr[1]", None),
            diff(Remove, "$.nope", None),
            diff(Remove, "$.arr.x", None),
            diff(Replace, "$.*", Some("1")),
            diff(Replace, "$.arr[0 to 1]", Some("1")),
        ] {
            assert!(
                apply_json_diffs(doc, std::slice::from_ref(&d)).is_err(),
                "{d:?}"
            );
        }
        assert!(apply_json_diffs("null", &[diff(Remove, "$.a", None)]).is_err());
        assert!(apply_json_diffs("{\"a\": 1", &[]).is_err());
    }

    #[test]
    fn quoted_member_names_in_paths() {
        let doc = r#"{"a.b": 1, "x\"y": 2}"#;
        let d = diff(Replace, r#"$."a.b""#, Some("3"));
        assert_eq!(
            apply_json_diffs(doc, &[d]).unwrap(),
            r#"{"a.b": 3, "x\"y": 2}"#
        );
        let d = diff(Remove, r#"$."x\"y""#, None);
        assert_eq!(apply_json_diffs(doc, &[d]).unwrap(), r#"{"a.b": 1}"#);
    }
}
