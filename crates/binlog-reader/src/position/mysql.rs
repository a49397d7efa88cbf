//! MySQL GTIDs: server UUIDs, tags, and GTID sets with every gap kept.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use super::{capped, char_offset, fragment, parse_decimal, PositionParseError, Result, MAX_GNO};

/// A server UUID, the source part of a MySQL GTID.
///
/// The text form is the canonical lowercase 8-4-4-4-12 form MySQL prints;
/// uppercase is accepted on input. Ordering is by bytes, which is also the
/// order of the text, so GTID sets print in MySQL's order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Uuid([u8; 16]);

impl Uuid {
    /// Makes a UUID from its 16 bytes, as stored in binlog events.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes of the UUID, as stored in binlog events.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parses the 8-4-4-4-12 text form, in any case.
    ///
    /// # Errors
    ///
    /// [`PositionParseError::InvalidUuid`] (with `at` 0) for anything else.
    pub fn parse(text: &str) -> Result<Self> {
        let err = || PositionParseError::InvalidUuid {
            text: capped(text),
            at: 0,
        };
        parse_uuid(text).ok_or_else(err)
    }
}

text_form!(Uuid, Uuid::parse, serde);

/// Parses the 36-character 8-4-4-4-12 form; `None` for anything else.
fn parse_uuid(text: &str) -> Option<Uuid> {
    if text.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut nibbles = 0usize;
    for (i, b) in text.bytes().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if b != b'-' {
                return None;
            }
            continue;
        }
        let value = u8::try_from(char::from(b).to_digit(16)?).ok()?;
        let slot = out.get_mut(nibbles / 2)?;
        *slot = (*slot << 4) | value;
        nibbles += 1;
    }
    Some(Uuid(out))
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

/// A GTID tag (MySQL 8.4 tagged GTIDs, `uuid:tag:gno`).
///
/// A tag is a letter or `_` followed by at most 31 letters, digits or `_`.
/// MySQL compares tags case-insensitively, so they are kept in lowercase,
/// which keeps equality and ordering consistent with the server.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

impl Tag {
    /// Checks and lowercases a tag.
    ///
    /// # Errors
    ///
    /// [`PositionParseError::InvalidTag`] (with `at` 0) when the text is
    /// empty, over 32 characters, starts with a digit, or has a character
    /// other than an ASCII letter, digit or `_`.
    pub fn new(text: &str) -> Result<Self> {
        let mut bytes = text.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
        let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if first_ok && rest_ok && text.len() <= 32 {
            Ok(Self(text.to_ascii_lowercase()))
        } else {
            Err(PositionParseError::InvalidTag {
                text: capped(text),
                at: 0,
            })
        }
    }

    /// The tag, in lowercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

text_form!(Tag, Tag::new);

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A half-open GNO interval `[start, end)`, `1 <= start < end <= MAX_GNO + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Interval {
    start: u64,
    end: u64,
}

/// Checks a half-open GNO range against the valid GNOs.
fn checked_interval(start: u64, end: u64) -> Result<Interval> {
    if start >= 1 && start < end && end <= MAX_GNO + 1 {
        Ok(Interval { start, end })
    } else {
        Err(PositionParseError::GnoOutOfRange { start, end })
    }
}

/// Sorts intervals and merges those that overlap or touch.
fn normalize(list: &mut Vec<Interval>) {
    list.sort_unstable_by_key(|iv| iv.start);
    let mut out: Vec<Interval> = Vec::with_capacity(list.len());
    for iv in list.drain(..) {
        match out.last_mut() {
            Some(last) if iv.start <= last.end => last.end = last.end.max(iv.end),
            _ => out.push(iv),
        }
    }
    *list = out;
}

/// Inserts an interval into a normalized list, keeping it normalized.
fn insert_interval(list: &mut Vec<Interval>, new: Interval) {
    // Intervals lo..hi overlap or touch `new`; those before lo end before
    // it and those from hi on start after it.
    let lo = list.partition_point(|iv| iv.end < new.start);
    let hi = list.partition_point(|iv| iv.start <= new.end).max(lo);
    let mut merged = new;
    if let (Some(first), Some(last)) = (list.get(lo), hi.checked_sub(1).and_then(|h| list.get(h))) {
        if lo < hi {
            merged.start = merged.start.min(first.start);
            merged.end = merged.end.max(last.end);
        }
    }
    list.splice(lo..hi, std::iter::once(merged));
}

/// The intersection of two normalized lists (normalized too).
fn intersect(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        let (start, end) = (x.start.max(y.start), x.end.min(y.end));
        if start < end {
            out.push(Interval { start, end });
        }
        if x.end < y.end {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// `a` minus `b`, both normalized (the result is normalized too).
fn subtract(a: &[Interval], b: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    let mut j = 0;
    for x in a {
        let mut start = x.start;
        while b.get(j).is_some_and(|y| y.end <= start) {
            j += 1;
        }
        let mut k = j;
        while let Some(y) = b.get(k).filter(|y| y.start < x.end) {
            if y.start > start {
                out.push(Interval {
                    start,
                    end: y.start,
                });
            }
            start = start.max(y.end);
            k += 1;
        }
        if start < x.end {
            out.push(Interval { start, end: x.end });
        }
    }
    out
}

/// Intervals keyed by source: UUID and tag (`None` for untagged GTIDs).
type GtidMap = BTreeMap<(Uuid, Option<Tag>), Vec<Interval>>;

/// A set of MySQL GTIDs, such as `@@gtid_executed`.
///
/// It maps (UUID, tag) to sorted, non-overlapping, coalesced half-open GNO
/// intervals with no empty entries, so that equal sets are equal values and
/// print identically.
///
/// Text form, as MySQL prints and accepts it:
/// `3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7:tag_a:1-3,<uuid>:...`: each
/// UUID is followed by its untagged intervals, then any `:tag:intervals`
/// groups; intervals are inclusive, `a-b` or a single `a`. Display prints
/// the canonical form: UUIDs sorted, untagged intervals first, tags sorted,
/// intervals coalesced, elements separated by `,` (MySQL separates them by
/// `,\n`; both parse). Serde uses this text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct GtidSet {
    map: GtidMap,
}

impl GtidSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the MySQL text form; this is an entry point for fuzzing.
    ///
    /// ASCII whitespace (newlines too) may surround any token, so MySQL's
    /// multi-line `gtid_executed` parses. As in MySQL, empty elements between
    /// commas are skipped, so an empty or blank string is the empty set, and
    /// a UUID may appear in several elements. UUIDs and tags may be in any
    /// case. A UUID or a tag must be followed by at least one interval.
    ///
    /// # Errors
    ///
    /// `InvalidUuid`, `InvalidTag`, `InvalidGno` (0, over
    /// 9223372036854775807, or missing), `InvalidInterval` (end before
    /// start) or `Unexpected` (any other syntax error) from
    /// [`PositionParseError`], with the offending text and its offset.
    pub fn parse(input: &str) -> Result<Self> {
        let mut map = GtidMap::new();
        let mut c = Cursor { input, pos: 0 };
        loop {
            c.skip_ws();
            match c.peek() {
                None => break,
                Some(b',') => c.bump(),
                Some(_) => {
                    parse_element(&mut c, &mut map)?;
                    c.skip_ws();
                    if !c.eat(b',') && c.peek().is_some() {
                        return Err(c.unexpected("',' or ':'"));
                    }
                }
            }
        }
        map.values_mut().for_each(normalize);
        Ok(Self { map })
    }

    /// True when the set holds no GTID.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The number of GTIDs in the set. It is a `u128` because a set can hold
    /// 2^63 - 1 GTIDs per source, which overflows `u64` with two sources.
    pub fn len(&self) -> u128 {
        self.map
            .values()
            .flatten()
            .map(|iv| u128::from(iv.end - iv.start))
            .sum()
    }

    /// Adds one GTID; returns true when it was not in the set yet.
    ///
    /// # Errors
    ///
    /// [`PositionParseError::GnoOutOfRange`] when `gno` is 0 or over
    /// [`MAX_GNO`]; the set is then unchanged.
    pub fn add(&mut self, uuid: Uuid, tag: Option<&Tag>, gno: u64) -> Result<bool> {
        let interval = checked_interval(gno, gno.saturating_add(1))?;
        if self.contains(uuid, tag, gno) {
            return Ok(false);
        }
        insert_interval(self.map.entry((uuid, tag.cloned())).or_default(), interval);
        Ok(true)
    }

    /// Adds the GTIDs whose GNOs are in the half-open range `gnos`.
    ///
    /// # Errors
    ///
    /// [`PositionParseError::GnoOutOfRange`] when the range is empty or
    /// reversed, starts at 0, or ends past `MAX_GNO + 1`; the set is then
    /// unchanged.
    pub fn add_range(&mut self, uuid: Uuid, tag: Option<&Tag>, gnos: Range<u64>) -> Result<()> {
        let interval = checked_interval(gnos.start, gnos.end)?;
        insert_interval(self.map.entry((uuid, tag.cloned())).or_default(), interval);
        Ok(())
    }

    /// Adds the half-open GNO range `start..end` with the tag as text
    /// (`None` or empty for untagged GTIDs), the shape in which
    /// `Previous_gtids` events store their intervals.
    ///
    /// # Errors
    ///
    /// [`PositionParseError::InvalidTag`] for an invalid tag, or
    /// [`PositionParseError::GnoOutOfRange`] as for
    /// [`GtidSet::add_range`]; the set is then unchanged.
    pub fn add_interval(
        &mut self,
        uuid: Uuid,
        tag: Option<&str>,
        start: u64,
        end: u64,
    ) -> Result<()> {
        let tag = tag.filter(|t| !t.is_empty()).map(Tag::new).transpose()?;
        self.add_range(uuid, tag.as_ref(), start..end)
    }

    /// True when the set holds the GTID `uuid[:tag]:gno`.
    pub fn contains(&self, uuid: Uuid, tag: Option<&Tag>, gno: u64) -> bool {
        let Some(list) = self.map.get(&(uuid, tag.cloned())) else {
            return false;
        };
        let i = list.partition_point(|iv| iv.end <= gno);
        list.get(i).is_some_and(|iv| iv.start <= gno)
    }

    /// The GTIDs in either set.
    pub fn union(&self, other: &GtidSet) -> GtidSet {
        let mut map = self.map.clone();
        for (key, list) in &other.map {
            let entry = map.entry(key.clone()).or_default();
            entry.extend_from_slice(list);
            normalize(entry);
        }
        GtidSet { map }
    }

    /// The GTIDs in `self` but not in `other`, e.g. what a replica still
    /// has to apply.
    pub fn difference(&self, other: &GtidSet) -> GtidSet {
        self.combine(other, |mine, theirs| match theirs {
            Some(theirs) => subtract(mine, theirs),
            None => mine.to_vec(),
        })
    }

    /// The GTIDs in both sets.
    pub fn intersection(&self, other: &GtidSet) -> GtidSet {
        self.combine(other, |mine, theirs| intersect(mine, theirs.unwrap_or(&[])))
    }

    /// Applies `op` to each source of `self` and the same source of
    /// `other`, dropping sources left empty.
    fn combine(
        &self,
        other: &GtidSet,
        op: impl Fn(&[Interval], Option<&[Interval]>) -> Vec<Interval>,
    ) -> GtidSet {
        let mut map = GtidMap::new();
        for (key, mine) in &self.map {
            let list = op(mine, other.map.get(key).map(Vec::as_slice));
            if !list.is_empty() {
                map.insert(key.clone(), list);
            }
        }
        GtidSet { map }
    }

    /// True when every GTID of `self` is in `other`.
    pub fn is_subset(&self, other: &GtidSet) -> bool {
        self.map.iter().all(|(key, mine)| {
            let theirs = other.map.get(key).map_or(&[][..], Vec::as_slice);
            // Both lists are coalesced: one interval of `theirs` must cover `iv`.
            mine.iter().all(|iv| {
                let i = theirs.partition_point(|t| t.end <= iv.start);
                theirs
                    .get(i)
                    .is_some_and(|t| t.start <= iv.start && iv.end <= t.end)
            })
        })
    }

    /// The intervals of the set in canonical order as (UUID, tag, half-open
    /// GNO range), e.g. to write a `Previous_gtids` event.
    pub fn iter(&self) -> impl Iterator<Item = (Uuid, Option<&Tag>, Range<u64>)> + '_ {
        self.map.iter().flat_map(|((uuid, tag), list)| {
            list.iter()
                .map(move |iv| (*uuid, tag.as_ref(), iv.start..iv.end))
        })
    }
}

text_form!(GtidSet, GtidSet::parse, serde);

/// A byte cursor over a GTID set's text. It only steps over ASCII bytes, so
/// its position is always a character boundary.
struct Cursor<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }

    fn bump(&mut self) {
        self.pos = self.pos.saturating_add(1);
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.bump();
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.peek() == Some(byte);
        if hit {
            self.bump();
        }
        hit
    }

    /// Consumes ASCII bytes while `keep` holds, returning them.
    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii() && keep(b)) {
            self.bump();
        }
        self.input.get(start..self.pos).unwrap_or("")
    }

    /// The token at byte `at` and its character offset, for an error.
    fn fragment(&self, at: usize) -> (String, usize) {
        (fragment(self.input, at), char_offset(self.input, at))
    }

    fn unexpected(&self, expected: &'static str) -> PositionParseError {
        let (text, at) = self.fragment(self.pos);
        PositionParseError::Unexpected { expected, text, at }
    }
}

/// Parses one `uuid[:intervals][:tag:intervals]...` element into `map`.
fn parse_element(c: &mut Cursor<'_>, map: &mut GtidMap) -> Result<()> {
    let uuid_at = c.pos;
    let token = c.take_while(|b| b.is_ascii_hexdigit() || b == b'-');
    let Some(uuid) = parse_uuid(token) else {
        let (text, at) = c.fragment(uuid_at);
        return Err(PositionParseError::InvalidUuid { text, at });
    };
    let mut tag: Option<Tag> = None;
    let mut pending: Vec<Interval> = Vec::new();
    let mut any = false;
    loop {
        c.skip_ws();
        if !c.eat(b':') {
            break;
        }
        c.skip_ws();
        let at = c.pos;
        match c.peek() {
            Some(b) if b.is_ascii_digit() => pending.push(parse_interval(c)?),
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => {
                if pending.is_empty() && tag.is_some() {
                    return Err(c.unexpected("an interval after the tag"));
                }
                let token = c.take_while(|b| b.is_ascii_alphanumeric() || b == b'_');
                let Ok(new_tag) = Tag::new(token) else {
                    let (text, at) = c.fragment(at);
                    return Err(PositionParseError::InvalidTag { text, at });
                };
                if !pending.is_empty() {
                    map.entry((uuid, tag.take()))
                        .or_default()
                        .append(&mut pending);
                    any = true;
                }
                tag = Some(new_tag);
            }
            _ => return Err(c.unexpected("an interval or a tag")),
        }
    }
    if pending.is_empty() {
        return Err(c.unexpected(match (&tag, any) {
            (Some(_), _) => "':' and an interval after the tag",
            (None, true) => "':' and an interval",
            (None, false) => "':' and an interval after the UUID",
        }));
    }
    map.entry((uuid, tag)).or_default().append(&mut pending);
    Ok(())
}

/// Parses an inclusive interval, `a` or `a-b`.
fn parse_interval(c: &mut Cursor<'_>) -> Result<Interval> {
    let at = c.pos;
    let start = parse_gno(c)?;
    c.skip_ws();
    let end = if c.eat(b'-') {
        c.skip_ws();
        parse_gno(c)?
    } else {
        start
    };
    if end < start {
        let text = capped(c.input.get(at..c.pos).unwrap_or(""));
        let at = char_offset(c.input, at);
        return Err(PositionParseError::InvalidInterval { text, at });
    }
    // end <= MAX_GNO, so end + 1 cannot overflow.
    Ok(Interval {
        start,
        end: end + 1,
    })
}

/// Parses a GNO in `1..=MAX_GNO`.
fn parse_gno(c: &mut Cursor<'_>) -> Result<u64> {
    let at = c.pos;
    let digits = c.take_while(|b| b.is_ascii_digit());
    match parse_decimal(digits) {
        Some(gno) if (1..=MAX_GNO).contains(&gno) => Ok(gno),
        _ => {
            let text = if digits.is_empty() {
                fragment(c.input, at)
            } else {
                capped(digits)
            };
            Err(PositionParseError::InvalidGno {
                text,
                at: char_offset(c.input, at),
            })
        }
    }
}

impl fmt::Display for GtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut previous: Option<&Uuid> = None;
        for ((uuid, tag), list) in &self.map {
            if previous != Some(uuid) {
                f.write_str(if previous.is_some() { "," } else { "" })?;
                write!(f, "{uuid}")?;
                previous = Some(uuid);
            }
            if let Some(tag) = tag {
                write!(f, ":{tag}")?;
            }
            for iv in list {
                let last = iv.end - 1;
                if last == iv.start {
                    write!(f, ":{last}")?;
                } else {
                    write!(f, ":{}-{last}", iv.start)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn uuids_and_tags() {
        let u = uuid("3E11FA47-71CA-11E1-9E33-C80AA9429562");
        assert_eq!((u.to_string().as_str(), u.as_bytes()[0]), (U1, 0x3e));
        assert_eq!(Uuid::from_bytes(*u.as_bytes()), u);
        assert_eq!(serde_json::to_string(&u).unwrap(), format!("\"{U1}\""));
        for bad in [
            "",
            "3e11fa47-71ca-11e1-9e33-c80aa942956",
            "3e11fa47-71ca-11e1-9e33-c80aa94295622",
            "3e11fa4771ca11e19e33c80aa9429562",
            "3e11fa47-71ca-11e1-9e33-c80aa942956g",
            "3e11fa47+71ca-11e1-9e33-c80aa9429562",
            "+e11fa47-71ca-11e1-9e33-c80aa9429562",
        ] {
            assert_eq!(kind(Uuid::parse(bad)), "InvalidUuid", "{bad}");
        }
        assert_eq!((tag("Tag_A1").as_str(), tag("_").as_str()), ("tag_a1", "_"));
        assert!(Tag::new(&"a".repeat(32)).is_ok());
        for bad in ["", "1abc", "a-b", "é", &"a".repeat(33)] {
            assert_eq!(kind(Tag::new(bad)), "InvalidTag", "{bad}");
        }
    }

    #[test]
    fn gtid_set_text_is_canonical() {
        for (input, canonical) in [
            ("", ""),
            (" \n\t", ""),
            (",,", ""),
            ("U1:1", "U1:1"),
            ("U1:1-5:7-9,U2:3", "U1:1-5:7-9,U2:3"),
            ("U1:1-5:tag_a:1-3", "U1:1-5:tag_a:1-3"),
            (
                "U1:tag_a:1-3:7:tag_b:9223372036854775807",
                "U1:tag_a:1-3:7:tag_b:9223372036854775807",
            ),
            ("U1:1-9223372036854775807", "U1:1-9223372036854775807"),
            (" U1 : 1 - 3 : 5 ,, ", "U1:1-3:5"),
            ("U1:1-3:4-5", "U1:1-5"),
            ("U1:1-5:3-8:10", "U1:1-8:10"),
            ("U1:7:1-3:2", "U1:1-3:7"),
            ("U1:5:4:3:2:1", "U1:1-5"),
            (
                "U2:3,U1:tag_b:1:tag_a:2:5,U1:1,U1:tag_a:3-4",
                "U1:1:tag_a:2-5:tag_b:1,U2:3",
            ),
            // MySQL's multi-line `gtid_executed`, in any case.
            (
                "U1:1-5:TAG_A:1-3,\nU2:1-100,\r\n  U3:7\n",
                "U3:7,U1:1-5:tag_a:1-3,U2:1-100",
            ),
            ("3E11FA47-71CA-11E1-9E33-C80AA9429562:1", "U1:1"),
        ] {
            assert_eq!(set(input).to_string(), x(canonical), "{input}");
        }
    }

    #[test]
    fn gtid_set_errors_name_text_and_place() {
        let bad_uuid = "3e11fa47-71ca-11e1-9e33-c80aa942956X";
        for (input, kind, text, at) in [
            ("U1:0", "InvalidGno", "0", 37),
            (
                "U1:9223372036854775808",
                "InvalidGno",
                "9223372036854775808",
                37,
            ),
            ("U1:3-", "InvalidGno", "", 39),
            ("U1:1-x", "InvalidGno", "x", 39),
            ("U1:5-3", "InvalidInterval", "5-3", 37),
            (
                "U1:1,3e11fa47-71ca-11e1-9e33-c80aa942956X:1",
                "InvalidUuid",
                bad_uuid,
                39,
            ),
            ("é", "InvalidUuid", "é", 0),
            ("U1", "Unexpected", "", 36),
            ("U1:", "Unexpected", "", 37),
            ("U1:tag", "Unexpected", "", 40),
            ("U1:tag:", "Unexpected", "", 41),
            ("U1:a:b:1", "Unexpected", "b", 39),
            ("U1::1", "Unexpected", ":", 37),
            ("U1:-1", "Unexpected", "-1", 37),
            ("U1:1 x", "Unexpected", "x", 39),
            ("U1:1e5", "Unexpected", "e5", 38),
            ("U1:1;", "Unexpected", ";", 38),
            ("U1:t-x:1", "Unexpected", "-x", 38),
        ] {
            let expected = (kind.to_owned(), text.to_owned(), at);
            assert_eq!(parts(GtidSet::parse(&x(input))), expected, "{input}");
        }
        let long_tag = x(&format!("U1:{}:1", "t".repeat(33)));
        assert_eq!(kind(GtidSet::parse(&long_tag)), "InvalidTag");
        let msg = GtidSet::parse(&x("U1:")).unwrap_err().to_string();
        assert!(
            msg.contains("end of input") && msg.contains("character 37"),
            "{msg}"
        );
    }

    #[test]
    fn gtid_set_operations() {
        let (a, b) = (set("U1:1-10:tag_a:1-5,U2:1-3"), set("U1:5-15:tag_a:3,U3:1"));
        assert_eq!(a.union(&b), set("U3:1,U1:1-15:tag_a:1-5,U2:1-3"));
        assert_eq!(a.intersection(&b), set("U1:5-10:tag_a:3"));
        assert_eq!(a.difference(&b), set("U1:1-4:tag_a:1-2:4-5,U2:1-3"));
        assert_eq!(b.difference(&a), set("U3:1,U1:11-15"));
        assert!(a.intersection(&b).is_subset(&a) && a.intersection(&b).is_subset(&b));
        assert!(!a.is_subset(&b) && GtidSet::new().is_subset(&a));
        assert!(a.difference(&a).is_empty() && !a.is_empty());
        assert_eq!((a.len(), GtidSet::new().len()), (18, 0));
        let huge = set("U1:1-9223372036854775807,U2:1-9223372036854775807");
        assert_eq!(huge.len(), 2 * u128::from(MAX_GNO));
        assert!(huge.contains(uuid(U1), None, MAX_GNO));
    }

    #[test]
    fn gtid_set_add_and_contains() {
        let (mut s, t, u) = (GtidSet::new(), tag("tag_a"), uuid(U1));
        assert!(s.add(u, None, 3).unwrap() && !s.add(u, None, 3).unwrap());
        assert!(s.add(u, None, 1).unwrap() && s.add(u, None, 2).unwrap());
        assert!(s.add(u, Some(&t), 2).unwrap());
        assert_eq!(s, set("U1:1-3:tag_a:2"));
        assert!(s.contains(u, None, 2) && !s.contains(u, None, 4) && !s.contains(u, None, 0));
        assert!(!s.contains(u, Some(&t), 1) && !s.contains(uuid(U2), None, 1));
        let out_of_range = PositionParseError::GnoOutOfRange { start: 0, end: 1 };
        assert_eq!(s.add(u, None, 0), Err(out_of_range));
        assert!(s.add(u, None, MAX_GNO + 1).is_err() && s.add(u, None, u64::MAX).is_err());
        #[allow(clippy::reversed_empty_ranges)]
        let bad_ranges = [5..5, 6..5, 0..3, 1..MAX_GNO + 2];
        for range in bad_ranges {
            assert_eq!(kind(s.add_range(u, None, range)), "GnoOutOfRange");
        }
        s.add_range(u, None, 4..8).unwrap();
        s.add_interval(u, Some(""), 9, 10).unwrap();
        s.add_interval(u, Some("TAG_A"), 3, 4).unwrap();
        assert_eq!(kind(s.add_interval(u, Some("1x"), 3, 4)), "InvalidTag");
        assert_eq!(kind(s.add_interval(u, None, 0, 4)), "GnoOutOfRange");
        assert_eq!(s, set("U1:1-7:9:tag_a:2-3"));
        let listed: Vec<_> = s.iter().map(|(u, t, r)| (u, t.cloned(), r)).collect();
        assert_eq!(
            listed,
            vec![(u, None, 1..8), (u, None, 9..10), (u, Some(t), 2..4)]
        );
    }

    const POOL: [&str; 3] = [U1, U2, U3];
    const TAGS: [Option<&str>; 3] = [None, Some("a"), Some("tag_b")];
    type Model = BTreeSet<(usize, usize, u64)>;
    type Spec = Vec<(usize, usize, u64, u64)>;

    /// (uuid index, tag index, first GNO, extra length) over small ranges.
    fn small_spec() -> impl Strategy<Value = Spec> {
        prop::collection::vec((0..3usize, 0..3usize, 1..30u64, 0..6u64), 0..10)
    }

    fn source(u: usize, t: usize) -> (Uuid, Option<Tag>) {
        (uuid(POOL[u]), TAGS[t].map(tag))
    }

    fn build(spec: &Spec) -> (GtidSet, Model) {
        let (mut s, mut model) = (GtidSet::new(), Model::new());
        for &(u, t, start, extra) in spec {
            let ((id, tg), end) = (source(u, t), start + extra + 1);
            s.add_range(id, tg.as_ref(), start..end).unwrap();
            model.extend((start..end).map(|g| (u, t, g)));
        }
        (s, model)
    }

    /// The model's runs of consecutive GNOs as (uuid index, tag index,
    /// first, last), in MySQL's order: UUIDs by their text, untagged GTIDs
    /// first, then tags by name. Worked out GTID by GTID, so that every gap
    /// of the model is a break between two runs.
    fn naive_runs(model: &Model) -> Vec<(usize, usize, u64, u64)> {
        let mut gtids: Vec<_> = model.iter().copied().collect();
        gtids.sort_by_key(|&(u, t, g)| (POOL[u], t, g));
        let mut runs: Vec<(usize, usize, u64, u64)> = Vec::new();
        for (u, t, g) in gtids {
            match runs.last_mut() {
                Some(run) if (run.0, run.1) == (u, t) && run.3 + 1 == g => run.3 = g,
                _ => runs.push((u, t, g, g)),
            }
        }
        runs
    }

    /// The canonical text of the model, written from its runs.
    fn naive_text(model: &Model) -> String {
        let mut text = String::new();
        let mut last: Option<(usize, Option<usize>)> = None;
        for (u, t, first, end) in naive_runs(model) {
            if last.map(|l| l.0) != Some(u) {
                if last.is_some() {
                    text.push(',');
                }
                text.push_str(POOL[u]);
                last = Some((u, None));
            }
            if t != 0 && last != Some((u, Some(t))) {
                text.push(':');
                text.push_str(TAGS[t].unwrap());
                last = Some((u, Some(t)));
            }
            if first == end {
                text.push_str(&format!(":{first}"));
            } else {
                text.push_str(&format!(":{first}-{end}"));
            }
        }
        text
    }

    /// Checks `s` against the model: the same GTIDs one by one, the same
    /// size, the same intervals (gaps included) and the same text as the
    /// model's runs, and the value the model's GTIDs make when added one
    /// at a time.
    fn check(s: &GtidSet, model: &Model) {
        let mut expected = GtidSet::new();
        for &(u, t, g) in model {
            let (id, tg) = source(u, t);
            assert!(expected.add(id, tg.as_ref(), g).unwrap());
        }
        assert_eq!(s, &expected);
        assert_eq!(s.len(), model.len() as u128);
        for (u, t, g) in
            (0..3).flat_map(|u| (0..3).flat_map(move |t| (0..40).map(move |g| (u, t, g))))
        {
            let (id, tg) = source(u, t);
            assert_eq!(s.contains(id, tg.as_ref(), g), model.contains(&(u, t, g)));
        }
        let intervals: Vec<_> = s
            .iter()
            .map(|(id, tg, r)| (id.to_string(), tg.map(|t| t.to_string()), r))
            .collect();
        let runs: Vec<_> = naive_runs(model)
            .into_iter()
            .map(|(u, t, first, last)| {
                let (id, tg) = source(u, t);
                (id.to_string(), tg.map(|t| t.to_string()), first..last + 1)
            })
            .collect();
        assert_eq!(intervals, runs);
        assert_eq!(s.to_string(), naive_text(model));
    }

    /// One element of a GTID set's text per range of `spec` (inclusive
    /// `a-b`, or `a`) and one per GTID of the model: a spelling of the
    /// model's set with overlaps and repeats, for the parser.
    fn spelling(spec: &Spec, model: &Model) -> Vec<String> {
        let element = |u: usize, t: usize, first: u64, last: u64| {
            let tag = TAGS[t].map(|t| format!(":{t}")).unwrap_or_default();
            let gnos = if first == last {
                first.to_string()
            } else {
                format!("{first}-{last}")
            };
            format!("{}{tag}:{gnos}", POOL[u])
        };
        let ranges = spec.iter().map(|&(u, t, s, e)| element(u, t, s, s + e));
        let single = model.iter().map(|&(u, t, g)| element(u, t, g, g));
        ranges.chain(single).collect()
    }

    /// A spec, its model, and a shuffled spelling of the model's set.
    fn spelled() -> impl Strategy<Value = (Spec, Model, Vec<String>)> {
        small_spec().prop_flat_map(|spec| {
            let model = build(&spec).1;
            let elements = spelling(&spec, &model);
            (Just(spec), Just(model), Just(elements).prop_shuffle())
        })
    }

    proptest! {
        #[test]
        fn display_parse_is_identity(s in any_set()) {
            let text = s.to_string();
            prop_assert_eq!(GtidSet::parse(&text).unwrap(), s.clone());
            prop_assert_eq!(GtidSet::parse(&text.to_uppercase()).unwrap(), s.clone());
            prop_assert_eq!(GtidSet::parse(&text.replace(',', ",\n")).unwrap(), s);
        }

        #[test]
        fn set_ops_agree_with_a_naive_model(a in small_spec(), b in small_spec()) {
            let ((sa, ma), (sb, mb)) = (build(&a), build(&b));
            check(&sa, &ma);
            check(&sa.union(&sb), &ma.union(&mb).copied().collect());
            check(&sa.intersection(&sb), &ma.intersection(&mb).copied().collect());
            check(&sa.difference(&sb), &ma.difference(&mb).copied().collect());
            prop_assert_eq!(sa.is_subset(&sb), ma.is_subset(&mb));
            prop_assert_eq!(sb.is_subset(&sa), mb.is_subset(&ma));
        }

        #[test]
        fn add_and_add_range_agree_with_a_naive_model(
            ops in prop::collection::vec(
                (any::<bool>(), 0..3usize, 0..3usize, 0..32u64, 0..6u64),
                0..24,
            )
        ) {
            let (mut s, mut model) = (GtidSet::new(), Model::new());
            for (single, u, t, start, len) in ops {
                let (id, tg) = source(u, t);
                if single {
                    // GNO 0 is refused and changes nothing.
                    let added = s.add(id, tg.as_ref(), start);
                    if start == 0 {
                        prop_assert!(added.is_err());
                    } else {
                        prop_assert_eq!(added.unwrap(), model.insert((u, t, start)));
                    }
                } else {
                    // An empty range or one from GNO 0 is refused.
                    let added = s.add_range(id, tg.as_ref(), start..start + len);
                    if start == 0 || len == 0 {
                        prop_assert!(added.is_err());
                    } else {
                        added.unwrap();
                        model.extend((start..start + len).map(|g| (u, t, g)));
                    }
                }
                check(&s, &model);
            }
        }

        #[test]
        fn parse_reads_any_spelling_of_a_set_exactly(
            (spec, model, elements) in spelled(),
            newlines in any::<bool>(),
            upper in any::<bool>(),
        ) {
            let mut text = elements.join(if newlines { ",\n" } else { "," });
            if upper {
                text = text.to_uppercase();
            }
            let parsed = GtidSet::parse(&text).unwrap();
            check(&parsed, &model);
            prop_assert_eq!(&parsed, &build(&spec).0);
            // Display then parse gives the set back, and the same text.
            let shown = parsed.to_string();
            prop_assert_eq!(GtidSet::parse(&shown).unwrap(), parsed);
            prop_assert_eq!(shown, naive_text(&model));
        }
    }
}
