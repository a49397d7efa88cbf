//! Values as text: the one place where a value becomes an SQL literal or a
//! line a person reads.
//!
//! Two kinds of value are rendered here:
//! - a binlog row [`Value`](crate::Value), decoded by this crate: as an SQL
//!   literal the server reads back to exactly the same bytes ([`literal`]),
//!   as the text of `dts binlog dump` ([`text`]) and, for whole events, as
//!   the lines of `dts binlog dump` ([`event_text`]) and the JSON line of
//!   `dts binlog dump --json` ([`event_json`]);
//! - a value read from a server through the binary protocol
//!   ([`mysql_async::Value`], as verification reads rows): as an SQL literal
//!   ([`protocol_literal`]), as a short text for a report
//!   ([`protocol_text`]) and as JSON ([`protocol_json`]).
//!
//! The literals are written for a session with `time_zone = '+00:00'` and a
//! non-strict `sql_mode` whose warnings the caller checks:
//! - integers, DECIMAL (its exact text), YEAR, BIT, ENUM indexes and SET
//!   masks of the binlog are unquoted numbers (an ENUM's index 0 is its
//!   empty error value, which the server stores with warning 1265: see
//!   [`Literal::EnumEmpty`]);
//! - FLOAT and DOUBLE are in exponent form, which the server reads as a
//!   DOUBLE with correct rounding: the shortest form that reads back to the
//!   same bits (a FLOAT through the double it widens to exactly);
//! - strings, blobs, JSON and GEOMETRY (SRID then WKB, the servers' own
//!   form) are hex literals, so no byte is transcoded or escaped, with the
//!   character set introducer the caller names ([`SqlColumn::charset`]);
//! - temporal values are quoted text with all six fractional digits (none
//!   when the column has no fraction and the value none), a TIMESTAMP as its
//!   UTC time, a zero date as stored, a TIME beyond ±255 hours as it is.
//!
//! ```
//! use binlog_reader::render::{literal, text, Literal, SqlColumn};
//! use binlog_reader::Value;
//!
//! let mut sql = String::new();
//! let col = SqlColumn::new("c");
//! assert_eq!(literal(&mut sql, &Value::Double(0.1), &col), Ok(Literal::Exact));
//! assert_eq!(sql, "1e-1");
//! assert_eq!(text(&Value::Bytes(b"it's".to_vec()), None), r"'it\'s'");
//! ```

mod dump;
mod event;
mod protocol;
mod row;

#[cfg(test)]
mod golden;

use std::fmt::Write as _;

pub use dump::event_text;
pub use event::event_json;
pub use protocol::{protocol_json, protocol_literal, protocol_text};
pub use row::{literal, text};

/// What a literal needs to know about the column it is written for.
///
/// Built with [`SqlColumn::new`] and the setters; what is not set is
/// unknown: signed, no padding, no character set introducer, no type name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SqlColumn<'a> {
    name: &'a str,
    data_type: &'a str,
    unsigned: bool,
    binary_length: usize,
    charset: Option<&'a str>,
}

impl<'a> SqlColumn<'a> {
    /// A column called `name` (used in error messages only).
    pub fn new(name: &'a str) -> Self {
        SqlColumn {
            name,
            ..SqlColumn::default()
        }
    }

    /// The column's type as `information_schema.COLUMNS.DATA_TYPE` spells
    /// it (`year`, `bit`, `decimal`, `enum`, ...). A value read through the
    /// binary protocol needs it: YEAR comes as an integer, and DECIMAL,
    /// BIT, ENUM and strings all come as bytes. Compared in lowercase.
    #[must_use]
    pub fn data_type(mut self, data_type: &'a str) -> Self {
        self.data_type = data_type;
        self
    }

    /// Whether an integer column is unsigned: decides how a binlog integer
    /// whose signedness the binlog did not carry is read.
    #[must_use]
    pub fn unsigned(mut self, unsigned: bool) -> Self {
        self.unsigned = unsigned;
        self
    }

    /// A `BINARY(n)` column's length: the binlog leaves out the trailing
    /// zero bytes the server pads the value with, and the literal puts them
    /// back so that it compares equal to the stored value. 0 for any other
    /// column.
    #[must_use]
    pub fn binary_length(mut self, n: usize) -> Self {
        self.binary_length = n;
        self
    }

    /// The character set introducer of string literals: `Some("utf8mb4")`
    /// writes `_utf8mb4 X'..'` (the bytes are taken as they are, and the
    /// column's collation still applies to comparisons, so an index is
    /// used); a name that is not a plain word is never spliced in and
    /// writes `_binary X'..'`. `None` writes a bare `X'..'` (a binary
    /// string).
    #[must_use]
    pub fn charset(mut self, charset: Option<&'a str>) -> Self {
        self.charset = charset;
        self
    }

    /// The column's name, as given.
    pub fn name(&self) -> &'a str {
        self.name
    }

    fn is_type(&self, t: &str) -> bool {
        self.data_type.eq_ignore_ascii_case(t)
    }
}

/// What the server does when it stores a literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Literal {
    /// It stores exactly the value, silently.
    Exact,
    /// It stores exactly the value, an ENUM's empty value (index 0), and
    /// warns about it (1265, "Data truncated"): the caller expects that one
    /// warning.
    EnumEmpty,
}

/// Why a value cannot be written as a literal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A DECIMAL whose text is not a number (the decoder never produces
    /// one; a caller-built value may).
    #[error("a DECIMAL that is not a number: {text:?}")]
    DecimalNotANumber {
        /// The offending text.
        text: String,
    },
    /// A MySQL partial JSON update: the diffs need the row's before image,
    /// not a literal.
    #[error(
        "column {} carries a partial JSON update (binlog_row_value_options=PARTIAL_JSON); \
         set binlog_row_value_options='' on the source so that whole JSON values are logged",
        server_dialect::quote(.column)
    )]
    PartialJson {
        /// The column's name.
        column: String,
    },
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `X'..'`: the bytes as an uppercase hex literal (a binary string).
pub fn hex_literal(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len().saturating_mul(2).saturating_add(3));
    out.push_str("X'");
    for b in bytes {
        for nibble in [b >> 4, b & 15] {
            out.push(char::from(
                HEX_UPPER.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    out.push('\'');
}

/// Appends a string literal: `_cs X'..'` with the column's character set
/// introducer (or `_binary` when its name is not a plain word), or a bare
/// `X'..'` when the column names none.
fn string_literal(out: &mut String, bytes: &[u8], col: &SqlColumn<'_>) {
    if let Some(cs) = col.charset {
        let cs = if !cs.is_empty() && cs.bytes().all(|x| x.is_ascii_alphanumeric() || x == b'_') {
            cs
        } else {
            "binary"
        };
        let _ = write!(out, "_{cs} ");
    }
    hex_literal(out, bytes);
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's civil-from-days algorithm), without a date library.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    // Both are in range by construction (1..=12, 1..=31).
    (y, m as u32, d as u32)
}

/// `YYYY-MM-DD hh:mm:ss`: the UTC time of a Unix timestamp (seconds since
/// 1970-01-01 00:00:00 UTC).
///
/// ```
/// assert_eq!(binlog_reader::render::utc_datetime(2_147_483_647), "2038-01-19 03:14:07");
/// ```
pub fn utc_datetime(seconds: u32) -> String {
    let s = i64::from(seconds);
    let (y, m, d) = civil(s.div_euclid(86_400));
    let r = s.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        r / 3600,
        r % 3600 / 60,
        r % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(24_855), (2038, 1, 19));
        assert_eq!(civil(-1), (1969, 12, 31));
        assert_eq!(civil(11_016), (2000, 2, 29));
    }

    #[test]
    fn utc_times() {
        assert_eq!(utc_datetime(0), "1970-01-01 00:00:00");
        assert_eq!(utc_datetime(1), "1970-01-01 00:00:01");
        assert_eq!(utc_datetime(951_825_600), "2000-02-29 12:00:00");
        assert_eq!(utc_datetime(u32::MAX), "2106-02-07 06:28:15");
    }

    #[test]
    fn hex_literals_are_uppercase_and_quoted() {
        let mut s = String::new();
        hex_literal(&mut s, &[0, 0x27, 0x5c, 0xff]);
        assert_eq!(s, "X'00275CFF'");
        s.clear();
        hex_literal(&mut s, &[]);
        assert_eq!(s, "X''");
    }

    #[test]
    fn introducers_are_plain_words_or_binary() {
        let lit = |cs: Option<&str>| {
            let mut s = String::new();
            string_literal(&mut s, b"x", &SqlColumn::new("c").charset(cs));
            s
        };
        assert_eq!(lit(None), "X'78'");
        assert_eq!(lit(Some("utf8mb4")), "_utf8mb4 X'78'");
        assert_eq!(lit(Some("x' OR 1")), "_binary X'78'");
        assert_eq!(lit(Some("")), "_binary X'78'");
    }
}
