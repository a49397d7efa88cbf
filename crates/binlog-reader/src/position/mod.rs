//! Binlog positions: file offsets, MySQL GTID sets, MariaDB GTID positions
//! and binlog states, and the stored form of a checkpoint's position.
//!
//! - [`FilePosition`]: a file and a byte offset; file names compare
//!   numerically (design rule 4).
//! - [`GtidSet`] (MySQL, with 8.4's tagged GTIDs): exact sets that keep
//!   every gap, never merged into a range (merging lost data in Flink CDC,
//!   FLINK-38183).
//! - [`MariadbGtidPosition`] (the last GTID of each domain) and
//!   [`MariadbBinlogState`] (the last GTID of each domain and server id).
//! - [`SavedPosition`]: what a checkpoint stores, file position, source
//!   server and GTID state, in a versioned text with a strict parser.
//! - [`resume_on`]: whether a task can continue on another server after a
//!   failover, from the facts it reports (catalogue S4).
//! - [`GtidTracker`]: the GTID state after each event of a binlog, a GTID
//!   counted at its transaction's end, never at its GTID event.
//!
//! These are plain data and pure functions with no I/O, so that
//! checkpoints, readers and tests can create, compare, print and parse
//! positions without a server. Every
//! parser here is total: any input gives a value or an error naming the
//! offending text and where it is ([`PositionParseError`],
//! [`SavedPositionError`]), never a panic, and no parser allocates from a
//! count it read from the input.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

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
    /// A MariaDB binlog state lists a (domain, server id) pair twice; a
    /// state holds the last GTID of each.
    #[error("MariaDB binlog state lists domain {domain} and server id {server_id} twice; the second entry {text:?} is at character {at}")]
    DuplicateServer {
        /// The domain.
        domain: u32,
        /// The repeated server id.
        server_id: u32,
        /// The second GTID for that pair.
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
        impl std::str::FromStr for $ty {
            type Err = PositionParseError;
            fn from_str(text: &str) -> Result<Self> {
                $parse(text)
            }
        }
    };
    ($ty:ty, $parse:path, serde) => {
        text_form!($ty, $parse);
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> std::result::Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(d)?;
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

mod failover;
mod mariadb;
mod mysql;
mod stored;
#[cfg(test)]
mod testing;
mod tracker;

pub use failover::{
    mariadb_resume, mysql_resume, resume_on, Candidate, MariadbCandidate, MariadbDomainAhead,
    MariadbDomainProblem, MysqlCandidate, ResumePlan, ResumeRefusal,
};
pub use mariadb::{MariadbBinlogState, MariadbGtid, MariadbGtidPosition};
pub use mysql::{GtidSet, Tag, Uuid};
pub use stored::{
    Flavor, GtidState, SavedPosition, SavedPositionError, SourceIdentity, SAVED_POSITION_VERSION,
};
pub(crate) use tracker::query_ends_transaction;
pub use tracker::{Boundary, GtidTrackError, GtidTracker};

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use proptest::prelude::*;

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

    /// Runs every parser; whatever parses must print and parse back equal.
    fn check_parsers_total(text: &str) {
        if let Ok(s) = GtidSet::parse(text) {
            assert_eq!(GtidSet::parse(&s.to_string()).unwrap(), s);
        }
        if let Ok(p) = MariadbGtidPosition::parse(text) {
            assert_eq!(MariadbGtidPosition::parse(&p.to_string()).unwrap(), p);
        }
        if let Ok(s) = MariadbBinlogState::parse(text) {
            assert_eq!(MariadbBinlogState::parse(&s.to_string()).unwrap(), s);
        }
        if let Ok(p) = FilePosition::parse(text) {
            assert_eq!(FilePosition::parse(&p.to_string()).unwrap(), p);
        }
        let _ = (Uuid::parse(text), Tag::new(text), MariadbGtid::parse(text));
    }

    proptest! {
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
