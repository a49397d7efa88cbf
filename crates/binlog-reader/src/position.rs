//! Binlog positions: file offsets, MySQL GTID sets, MariaDB GTID positions.
//!
//! These are plain data with no I/O, so that checkpoints, readers and tests
//! can create, compare, print and parse positions without a server. Every
//! parser here is total: any input gives a value or a [`PositionParseError`]
//! naming the offending text and its character offset, never a panic, and no
//! parser allocates from a count it read from the input.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest GNO (GTID sequence number) MySQL accepts: GNOs are signed
/// 64-bit numbers on the server, and 0 is never a valid GNO.
pub const MAX_GNO: u64 = i64::MAX as u64;

/// The longest piece of input copied into an error, in characters, so that
/// an error about a huge input stays readable.
const MAX_SNIPPET_CHARS: usize = 64;

/// An error parsing or building a binlog position.
///
/// Parse errors carry the offending text (at most 64 characters of it) and
/// `at`, its offset in characters (Unicode scalar values, from 0) from the
/// start of the whole input, so that a message says what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PositionParseError {
    /// A `file:offset` position is malformed.
    #[error("invalid binlog file position {text:?} at character {at}: {reason}")]
    InvalidFilePosition {
        /// The whole position text.
        text: String,
        /// Character offset of the problem.
        at: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A UUID is not 32 hexadecimal digits in the 8-4-4-4-12 form.
    #[error("invalid UUID {} at character {at}: expected 8-4-4-4-12 hexadecimal digits such as 3e11fa47-71ca-11e1-9e33-c80aa9429562", found(.text))]
    InvalidUuid {
        /// The offending text.
        text: String,
        /// Character offset of the text.
        at: usize,
    },
    /// A GTID tag is not a letter or `_` followed by at most 31 letters,
    /// digits or `_`.
    #[error("invalid GTID tag {text:?} at character {at}: expected a letter or '_' followed by at most 31 letters, digits or '_'")]
    InvalidTag {
        /// The offending text.
        text: String,
        /// Character offset of the text.
        at: usize,
    },
    /// A GTID interval `a-b` ends before it starts.
    #[error("invalid GTID interval {text:?} at character {at}: the end is smaller than the start")]
    InvalidInterval {
        /// The offending interval.
        text: String,
        /// Character offset of the interval.
        at: usize,
    },
    /// A GNO in text is missing, 0, or over 9223372036854775807.
    #[error("invalid GNO {} at character {at}: expected a decimal number from 1 to 9223372036854775807", found(.text))]
    InvalidGno {
        /// The offending text.
        text: String,
        /// Character offset of the text.
        at: usize,
    },
    /// A GNO range given to a [`GtidSet`] method is empty, reversed, or
    /// outside `1..=9223372036854775807`.
    #[error(
        "GNO range {start}..{end} (end exclusive) is empty or outside 1..=9223372036854775807"
    )]
    GnoOutOfRange {
        /// First GNO of the range.
        start: u64,
        /// One past the last GNO of the range.
        end: u64,
    },
    /// The input does not follow the GTID set syntax at this point.
    #[error("expected {expected} at character {at}, found {}", found(.text))]
    Unexpected {
        /// What the syntax allows here.
        expected: &'static str,
        /// The text found instead (empty at the end of the input).
        text: String,
        /// Character offset of the text.
        at: usize,
    },
    /// A MariaDB GTID is not `domain-server-sequence` with each part a
    /// decimal number in range (`u32`, `u32`, `u64`).
    #[error("invalid MariaDB GTID {text:?} at character {at}: expected domain-server-sequence such as 0-1-100")]
    InvalidMariadbGtid {
        /// The offending text.
        text: String,
        /// Character offset of the text.
        at: usize,
    },
    /// A MariaDB GTID position lists a domain twice; the server rejects
    /// that too, since a position holds one GTID per domain.
    #[error("MariaDB GTID position lists domain {domain} twice; the second entry {text:?} is at character {at}")]
    DuplicateDomain {
        /// The repeated domain.
        domain: u32,
        /// The second GTID for that domain.
        text: String,
        /// Character offset of the second GTID.
        at: usize,
    },
}

type Result<T> = std::result::Result<T, PositionParseError>;

/// Quotes an error fragment, or says "end of input" for an empty one.
fn found(text: &str) -> String {
    if text.is_empty() {
        "end of input".to_owned()
    } else {
        format!("{text:?}")
    }
}

/// Converts a byte offset into `input` to a character offset.
fn char_offset(input: &str, byte: usize) -> usize {
    input.get(..byte).map_or(0, |p| p.chars().count())
}

/// Copies at most [`MAX_SNIPPET_CHARS`] characters of `text`.
fn capped(text: &str) -> String {
    text.chars().take(MAX_SNIPPET_CHARS).collect()
}

/// The token at byte `at` (up to the next separator) for an error: at
/// least one character unless `at` is the end of the input.
fn fragment(input: &str, at: usize) -> String {
    let rest = input.get(at..).unwrap_or("");
    let stop = |c: char| matches!(c, ',' | ':') || c.is_whitespace();
    let token = capped(rest.split(stop).next().unwrap_or(""));
    if token.is_empty() {
        rest.chars().take(1).collect()
    } else {
        token
    }
}

/// Parses a non-empty string of ASCII digits, without overflow.
fn parse_decimal(digits: &str) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.bytes().try_fold(0u64, |acc, b| {
        let digit = b.is_ascii_digit().then(|| u64::from(b - b'0'))?;
        acc.checked_mul(10)?.checked_add(digit)
    })
}

/// Implements `FromStr` with `$parse` and, given `serde`, serde as text.
macro_rules! text_form {
    ($ty:ty, $parse:path) => {
        impl FromStr for $ty {
            type Err = PositionParseError;
            fn from_str(text: &str) -> Result<Self> {
                $parse(text)
            }
        }
    };
    ($ty:ty, $parse:path, serde) => {
        text_form!($ty, $parse);
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                $parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A position in a binlog file: a file name and a byte offset in it.
///
/// The offset is `u64` because binlog files can grow past 4 GiB (a large
/// transaction is never split across files). Text form: `file:offset`.
///
/// Positions are only partially ordered (see [`compare_binlog_file_names`]):
/// files with different base names belong to different binlog series, and
/// guessing an order between them could skip or replay events.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FilePosition {
    /// The binlog file name, e.g. `mysql-bin.000042`.
    pub file: String,
    /// The byte offset in the file.
    pub offset: u64,
}

impl FilePosition {
    /// Makes a position from a file name and a byte offset.
    pub fn new(file: impl Into<String>, offset: u64) -> Self {
        Self {
            file: file.into(),
            offset,
        }
    }

    /// Parses `file:offset`, splitting at the last colon so that file names
    /// containing colons still parse. Nothing is trimmed.
    ///
    /// # Errors
    ///
    /// [`PositionParseError::InvalidFilePosition`] when there is no colon,
    /// the file name is empty, or the offset is not a decimal `u64`.
    pub fn parse(text: &str) -> Result<Self> {
        let err = |at, reason| PositionParseError::InvalidFilePosition {
            text: capped(text),
            at,
            reason,
        };
        let Some((file, offset)) = text.rsplit_once(':') else {
            let at = text.chars().count();
            return Err(err(at, "missing ':' between the file name and the offset"));
        };
        if file.is_empty() {
            return Err(err(0, "the file name is empty"));
        }
        let Some(offset) = parse_decimal(offset) else {
            let at = char_offset(text, file.len().saturating_add(1));
            return Err(err(
                at,
                "the offset is not a decimal number that fits in 64 bits",
            ));
        };
        Ok(Self::new(file, offset))
    }
}

text_form!(FilePosition, FilePosition::parse);

/// Splits a binlog file name into its base name and numeric extension, if
/// it has one (`mysql-bin.000042` → `("mysql-bin", Some("000042"))`).
fn split_file_name(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('.') {
        Some((base, ext)) if !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_digit()) => {
            (base, Some(ext))
        }
        _ => (name, None),
    }
}

/// Orders two binlog file names the way the server creates them.
///
/// Names with the same base name compare by their numeric extension as an
/// integer of any length (`.999999` < `.1000000`; leading zeros only break
/// ties, which keeps the order consistent with string equality). Identical
/// names are equal. Anything else (different base names, or a name without
/// a numeric extension) is `None`, because such files are from different
/// series.
pub fn compare_binlog_file_names(a: &str, b: &str) -> Option<Ordering> {
    match (split_file_name(a), split_file_name(b)) {
        ((base_a, Some(num_a)), (base_b, Some(num_b))) if base_a == base_b => {
            let (za, zb) = (num_a.trim_start_matches('0'), num_b.trim_start_matches('0'));
            let by_value = za.len().cmp(&zb.len()).then_with(|| za.cmp(zb));
            Some(by_value.then_with(|| num_a.cmp(num_b)))
        }
        _ if a == b => Some(Ordering::Equal),
        _ => None,
    }
}

impl PartialOrd for FilePosition {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        let by_file = compare_binlog_file_names(&self.file, &other.file)?;
        Some(by_file.then_with(|| self.offset.cmp(&other.offset)))
    }
}

impl fmt::Display for FilePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.offset)
    }
}

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

/// A MariaDB GTID: replication domain, originating server, sequence number.
/// Text form: `domain-server-sequence`, e.g. `0-1-100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MariadbGtid {
    /// The replication domain (an independent stream of transactions).
    pub domain_id: u32,
    /// The server that originated the transaction.
    pub server_id: u32,
    /// The sequence number within the domain.
    pub sequence: u64,
}

impl MariadbGtid {
    /// Parses `domain-server-sequence`, ignoring surrounding whitespace.
    ///
    /// # Errors
    ///
    /// [`PositionParseError::InvalidMariadbGtid`] when the text is not three
    /// decimal numbers separated by `-`, or a number is out of range.
    pub fn parse(input: &str) -> Result<Self> {
        let (text, lead) = trim_ascii_ws(input);
        let at = char_offset(input, lead);
        parse_mariadb_gtid(text).ok_or_else(|| PositionParseError::InvalidMariadbGtid {
            text: capped(text),
            at,
        })
    }
}

text_form!(MariadbGtid, MariadbGtid::parse);

/// Parses `domain-server-sequence` exactly; `None` for anything else.
fn parse_mariadb_gtid(text: &str) -> Option<MariadbGtid> {
    let mut parts = text.split('-').map(parse_decimal);
    let domain_id = u32::try_from(parts.next()??).ok()?;
    let server_id = u32::try_from(parts.next()??).ok()?;
    let sequence = parts.next()??;
    let gtid = MariadbGtid {
        domain_id,
        server_id,
        sequence,
    };
    parts.next().is_none().then_some(gtid)
}

/// Trims ASCII whitespace, returning the rest and the bytes cut at the start.
fn trim_ascii_ws(text: &str) -> (&str, usize) {
    let start = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let lead = text.len() - start.len();
    (
        start.trim_end_matches(|c: char| c.is_ascii_whitespace()),
        lead,
    )
}

impl fmt::Display for MariadbGtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain_id, self.server_id, self.sequence)
    }
}

/// A MariaDB replication position: the last applied GTID of each domain,
/// as in `@@gtid_slave_pos`.
///
/// Text form: comma-separated GTIDs such as `0-1-100,1-2-5`, at most one per
/// domain; the empty string is the empty position. Display sorts by domain,
/// so that equal positions print identically. Serde uses this text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MariadbGtidPosition {
    domains: BTreeMap<u32, MariadbGtid>,
}

impl MariadbGtidPosition {
    /// The empty position.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the `gtid_slave_pos` text form; an entry point for fuzzing.
    /// Whitespace around each GTID is ignored; a blank string is the empty
    /// position.
    ///
    /// # Errors
    ///
    /// [`PositionParseError::InvalidMariadbGtid`] for a malformed or empty
    /// entry, or [`PositionParseError::DuplicateDomain`] when a domain
    /// appears twice (MariaDB rejects that too), with the entry and its
    /// character offset.
    pub fn parse(input: &str) -> Result<Self> {
        let mut position = Self::new();
        if trim_ascii_ws(input).0.is_empty() {
            return Ok(position);
        }
        let mut offset = 0usize;
        for part in input.split(',') {
            let (text, lead) = trim_ascii_ws(part);
            let at = char_offset(input, offset.saturating_add(lead));
            offset = offset.saturating_add(part.len()).saturating_add(1);
            let Some(gtid) = parse_mariadb_gtid(text) else {
                return Err(PositionParseError::InvalidMariadbGtid {
                    text: capped(text),
                    at,
                });
            };
            if let Some(previous) = position.domains.insert(gtid.domain_id, gtid) {
                let (domain, text) = (previous.domain_id, capped(text));
                return Err(PositionParseError::DuplicateDomain { domain, text, at });
            }
        }
        Ok(position)
    }

    /// Records `gtid` as the last applied GTID of its domain and returns
    /// the one it replaces.
    ///
    /// The GTID is kept as given even when its sequence number is lower:
    /// within a domain, sequence numbers from different servers can arrive
    /// out of order (e.g. after a failover), and the position is the last
    /// GTID applied, not the highest.
    pub fn update(&mut self, gtid: MariadbGtid) -> Option<MariadbGtid> {
        self.domains.insert(gtid.domain_id, gtid)
    }

    /// The last applied GTID of a domain.
    pub fn get(&self, domain_id: u32) -> Option<&MariadbGtid> {
        self.domains.get(&domain_id)
    }

    /// True when the position has an entry for `gtid`'s domain with a
    /// sequence number of at least `gtid.sequence`: `gtid` counts as applied.
    ///
    /// Server ids are deliberately ignored. This simple comparison is exact
    /// only while a domain has a single writer at a time, which is how
    /// MariaDB expects domains to be used.
    pub fn contains(&self, gtid: &MariadbGtid) -> bool {
        self.get(gtid.domain_id)
            .is_some_and(|mine| mine.sequence >= gtid.sequence)
    }

    /// The GTIDs of the position, sorted by domain.
    pub fn iter(&self) -> impl Iterator<Item = &MariadbGtid> + '_ {
        self.domains.values()
    }

    /// The number of domains in the position.
    pub fn len(&self) -> usize {
        self.domains.len()
    }

    /// True when the position has no domain.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }
}

text_form!(MariadbGtidPosition, MariadbGtidPosition::parse, serde);

impl fmt::Display for MariadbGtidPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, gtid) in self.domains.values().enumerate() {
            write!(f, "{}{gtid}", if i > 0 { "," } else { "" })?;
        }
        Ok(())
    }
}

/// A replication position as stored in checkpoints.
///
/// It serializes to JSON with a `kind` field (`file`, `mysql_gtid`,
/// `mariadb_gtid`), GTID sets and positions as their canonical text, so
/// that a checkpoint row is readable and stable; golden tests pin the
/// format. The GTID variants keep an optional file position because
/// reading binlog files still needs a file to start from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Position {
    /// A file position, for servers without GTIDs.
    File(FilePosition),
    /// A MySQL GTID position: the executed GTID set.
    MysqlGtid {
        /// The GTIDs applied so far.
        set: GtidSet,
        /// The file position matching the set, when known.
        file: Option<FilePosition>,
    },
    /// A MariaDB GTID position.
    MariadbGtid {
        /// The last GTID applied in each domain.
        pos: MariadbGtidPosition,
        /// The file position matching the GTIDs, when known.
        file: Option<FilePosition>,
    },
}

impl Position {
    /// The file position, when the position has one.
    pub fn file_position(&self) -> Option<&FilePosition> {
        match self {
            Position::File(file) => Some(file),
            Position::MysqlGtid { file, .. } | Position::MariadbGtid { file, .. } => file.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    const U1: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const U2: &str = "4d22ab58-82db-22f2-af44-d91bb0000001";
    const U3: &str = "00000000-0000-0000-0000-000000000003";

    /// Expands the placeholders U1, U2 and U3 to the UUIDs above.
    fn x(text: &str) -> String {
        text.replace("U1", U1).replace("U2", U2).replace("U3", U3)
    }
    fn uuid(text: &str) -> Uuid {
        text.parse().unwrap()
    }
    fn tag(text: &str) -> Tag {
        text.parse().unwrap()
    }
    fn set(text: &str) -> GtidSet {
        x(text).parse().unwrap()
    }
    fn fpos(text: &str) -> FilePosition {
        text.parse().unwrap()
    }

    /// An error as (variant name, text, at), for table-driven tests.
    fn parts<T: fmt::Debug>(r: Result<T>) -> (String, String, usize) {
        use PositionParseError as E;
        let e = r.unwrap_err();
        let name = format!("{e:?}")
            .split([' ', '{'])
            .next()
            .unwrap()
            .to_owned();
        let (text, at) = match e {
            E::InvalidFilePosition { text, at, .. }
            | E::InvalidUuid { text, at }
            | E::InvalidTag { text, at }
            | E::InvalidInterval { text, at }
            | E::InvalidGno { text, at }
            | E::Unexpected { text, at, .. }
            | E::InvalidMariadbGtid { text, at }
            | E::DuplicateDomain { text, at, .. } => (text, at),
            E::GnoOutOfRange { .. } => (String::new(), 0),
        };
        (name, text, at)
    }
    fn kind<T: fmt::Debug>(r: Result<T>) -> String {
        parts(r).0
    }

    #[test]
    fn file_positions_order_parse_and_print() {
        let lt = |a: &str, b: &str| fpos(a) < fpos(b);
        assert!(lt("mysql-bin.999999:10", "mysql-bin.1000000:4"));
        assert!(lt("mysql-bin.000001:100", "mysql-bin.000002:4"));
        assert!(lt("mysql-bin.000002:4", "mysql-bin.000002:5"));
        assert!(lt(
            "mysql-bin.000001:4294967295",
            "mysql-bin.000001:5000000000"
        ));
        let cmp = compare_binlog_file_names;
        let (nines, power) = (
            format!("b.{}", "9".repeat(40)),
            format!("b.1{}", "0".repeat(40)),
        );
        assert_eq!(cmp(&nines, &power), Some(Ordering::Less));
        for (a, b, expected) in [
            ("b.01", "b.1", Some(Ordering::Less)), // leading zeros only break ties
            ("b.000001", "b.000001", Some(Ordering::Equal)),
            ("foo", "foo", Some(Ordering::Equal)),
            ("foo", "bar", None),
            ("mysql-bin.index", "mysql-bin.000001", None),
            ("mysql-bin.000001", "relay-bin.000002", None),
        ] {
            assert_eq!(cmp(a, b), expected, "{a} {b}");
        }
        let (a, b) = (fpos("mysql-bin.000001:4"), fpos("relay-bin.000002:4"));
        assert!(a.partial_cmp(&b).is_none() && !a.lt(&b) && !a.gt(&b) && a != b);
        assert_eq!(
            fpos("b.1:4").partial_cmp(&fpos("b.1:4")),
            Some(Ordering::Equal)
        );
        // 4 GiB offsets and colons in file names.
        assert_eq!(fpos("mysql-bin.000001:5000000000").offset, 5_000_000_000);
        assert_eq!(fpos("C:\\b\\b.000003:157").file, "C:\\b\\b.000003");
        for text in [
            "b.000001:5000000000",
            "x.1:18446744073709551615",
            "C:\\b.1:157",
        ] {
            assert_eq!(fpos(text).to_string(), text);
        }
        for (bad, at) in [
            ("mysql-bin.000001", 16),
            (":4", 0),
            ("é:x", 2),
            ("f:", 2),
            ("f:+4", 2),
            ("f:-1", 2),
            ("f:4 ", 2),
            ("f:18446744073709551616", 2),
        ] {
            let expected = ("InvalidFilePosition".to_owned(), bad.to_owned(), at);
            assert_eq!(parts(FilePosition::parse(bad)), expected);
        }
        assert!(FilePosition::parse("f:x")
            .unwrap_err()
            .to_string()
            .contains("character 2"));
    }

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

    #[test]
    fn mariadb_positions_keep_the_last_gtid_per_domain() {
        let g = |s: &str| s.parse::<MariadbGtid>().unwrap();
        let mut p = MariadbGtidPosition::parse(" 1-2-5 ,\n 0-1-100").unwrap();
        assert_eq!((p.to_string().as_str(), p.len()), ("0-1-100,1-2-5", 2));
        assert_eq!((p.get(1), p.get(7)), (Some(&g("1-2-5")), None));
        assert!(MariadbGtidPosition::parse("  ").unwrap().is_empty());
        let big = "4294967295-4294967295-18446744073709551615";
        assert_eq!(MariadbGtidPosition::parse(big).unwrap().to_string(), big);
        // Out-of-order sequences within a domain: the last applied wins.
        assert_eq!(p.update(g("0-2-50")), Some(g("0-1-100")));
        assert_eq!(p.get(0), Some(&g("0-2-50")));
        assert_eq!(p.update(g("2-1-1")), None);
        assert_eq!(p.to_string(), "0-2-50,1-2-5,2-1-1");
        assert!(p.contains(&g("0-1-50")) && p.contains(&g("0-9-49")));
        assert!(!p.contains(&g("0-2-51")) && !p.contains(&g("3-1-1")));
        assert_eq!(
            p.iter().map(|x| x.domain_id).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn mariadb_errors() {
        for (input, kind, text, at) in [
            ("0-1-100, 0-2-5", "DuplicateDomain", "0-2-5", 9),
            ("0-1", "InvalidMariadbGtid", "0-1", 0),
            ("0-1-2-3", "InvalidMariadbGtid", "0-1-2-3", 0),
            ("a-1-2", "InvalidMariadbGtid", "a-1-2", 0),
            ("-1-1-1", "InvalidMariadbGtid", "-1-1-1", 0),
            ("0-1-+2", "InvalidMariadbGtid", "0-1-+2", 0),
            ("4294967296-1-1", "InvalidMariadbGtid", "4294967296-1-1", 0),
            ("0-4294967296-1", "InvalidMariadbGtid", "0-4294967296-1", 0),
            (
                "0-1-18446744073709551616",
                "InvalidMariadbGtid",
                "0-1-18446744073709551616",
                0,
            ),
            ("0-1-1,", "InvalidMariadbGtid", "", 6),
            ("0-1-1,,1-1-1", "InvalidMariadbGtid", "", 6),
            ("0-1-1, é", "InvalidMariadbGtid", "é", 7),
        ] {
            let expected = (kind.to_owned(), text.to_owned(), at);
            assert_eq!(
                parts(MariadbGtidPosition::parse(input)),
                expected,
                "{input}"
            );
        }
        assert_eq!(parts(MariadbGtid::parse(" 0-1")).2, 1);
    }

    #[test]
    fn checkpoint_json_is_stable() {
        let file = |name: &str, offset| Some(FilePosition::new(name, offset));
        let cases = [
            (
                Position::File(FilePosition::new("mysql-bin.000042", 5_000_000_000)),
                r#"{"kind":"file","file":"mysql-bin.000042","offset":5000000000}"#,
            ),
            (
                Position::MysqlGtid {
                    set: set("U1:1-5:7:TAG_A:1-3,U2:1"),
                    file: file("binlog.000003", 157),
                },
                r#"{"kind":"mysql_gtid","set":"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7:tag_a:1-3,4d22ab58-82db-22f2-af44-d91bb0000001:1","file":{"file":"binlog.000003","offset":157}}"#,
            ),
            (
                Position::MysqlGtid {
                    set: GtidSet::new(),
                    file: None,
                },
                r#"{"kind":"mysql_gtid","set":"","file":null}"#,
            ),
            (
                Position::MariadbGtid {
                    pos: "1-2-5,0-1-100".parse().unwrap(),
                    file: None,
                },
                r#"{"kind":"mariadb_gtid","pos":"0-1-100,1-2-5","file":null}"#,
            ),
            (
                Position::MariadbGtid {
                    pos: MariadbGtidPosition::new(),
                    file: file("m.000001", 4),
                },
                r#"{"kind":"mariadb_gtid","pos":"","file":{"file":"m.000001","offset":4}}"#,
            ),
        ];
        for (position, json) in cases {
            assert_eq!(serde_json::to_string(&position).unwrap(), json);
            assert_eq!(serde_json::from_str::<Position>(json).unwrap(), position);
        }
        let from = |json: &str| serde_json::from_str::<Position>(json);
        let bad_set = from(r#"{"kind":"mysql_gtid","set":"x:1","file":null}"#).unwrap_err();
        assert!(bad_set.to_string().contains("invalid UUID"), "{bad_set}");
        assert!(from(r#"{"kind":"mariadb_gtid","pos":"0-1-1,0-1-2","file":null}"#).is_err());
        let no_file = from(r#"{"kind":"mariadb_gtid","pos":"0-1-1"}"#).unwrap();
        assert_eq!(no_file.file_position(), None);
        assert_eq!(
            Position::File(fpos("a.1:4")).file_position(),
            Some(&fpos("a.1:4"))
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

    /// Checks `s` against the model: same canonical value, size, members.
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
    }

    fn any_set() -> impl Strategy<Value = GtidSet> {
        let len = prop_oneof![0..10u64, any::<u64>()];
        let tags = prop::option::of("[a-zA-Z_][a-zA-Z0-9_]{0,31}");
        let entry = (any::<[u8; 16]>(), tags, 1..=MAX_GNO, len);
        prop::collection::vec(entry, 0..8).prop_map(|entries| {
            let mut s = GtidSet::new();
            for (bytes, t, start, len) in entries {
                let end = start.saturating_add(len).min(MAX_GNO) + 1;
                let t = t.map(|t| tag(&t));
                s.add_range(Uuid::from_bytes(bytes), t.as_ref(), start..end)
                    .unwrap();
            }
            s
        })
    }

    /// Runs every parser; whatever parses must print and parse back equal.
    fn check_parsers_total(text: &str) {
        if let Ok(s) = GtidSet::parse(text) {
            assert_eq!(GtidSet::parse(&s.to_string()).unwrap(), s);
        }
        if let Ok(p) = MariadbGtidPosition::parse(text) {
            assert_eq!(MariadbGtidPosition::parse(&p.to_string()).unwrap(), p);
        }
        if let Ok(p) = FilePosition::parse(text) {
            assert_eq!(FilePosition::parse(&p.to_string()).unwrap(), p);
        }
        let _ = (Uuid::parse(text), Tag::new(text), MariadbGtid::parse(text));
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
        fn mariadb_display_parse_is_identity(gtids in prop::collection::vec(any::<(u32, u32, u64)>(), 0..6)) {
            let mut p = MariadbGtidPosition::new();
            for (domain_id, server_id, sequence) in gtids {
                p.update(MariadbGtid { domain_id, server_id, sequence });
            }
            prop_assert_eq!(MariadbGtidPosition::parse(&p.to_string()).unwrap(), p);
        }

        #[test]
        fn parsers_never_panic_on_any_string(text in any::<String>()) {
            check_parsers_total(&text);
        }

        #[test]
        fn parsers_never_panic_on_near_misses(
            text in "[0-9a-fA-F:,\\- \n_tgé.]{0,80}",
            base in any_set(),
            cut in any::<prop::sample::Index>(),
            noise in "[0-9a-z:,\\- ]{0,4}",
        ) {
            check_parsers_total(&text);
            // Valid (ASCII) text with noise inserted or as its tail.
            let valid = base.to_string();
            let (head, tail) = valid.split_at(cut.index(valid.len() + 1));
            check_parsers_total(&format!("{head}{noise}{tail}"));
            check_parsers_total(&format!("{head}{noise}"));
        }
    }
}
