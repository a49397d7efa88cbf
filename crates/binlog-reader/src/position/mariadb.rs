//! MariaDB GTIDs and replication positions (one GTID per domain).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{capped, char_offset, parse_decimal, PositionParseError, Result};

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

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use proptest::prelude::*;

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

    proptest! {
        #[test]
        fn mariadb_display_parse_is_identity(gtids in prop::collection::vec(any::<(u32, u32, u64)>(), 0..6)) {
            let mut p = MariadbGtidPosition::new();
            for (domain_id, server_id, sequence) in gtids {
                p.update(MariadbGtid { domain_id, server_id, sequence });
            }
            prop_assert_eq!(MariadbGtidPosition::parse(&p.to_string()).unwrap(), p);
        }
    }
}
