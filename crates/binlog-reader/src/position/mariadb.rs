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

/// Parses a comma-separated list of MariaDB GTIDs (whitespace around each
/// ignored, a blank string the empty list) into (GTID, its text, its
/// character offset).
fn gtid_list(input: &str) -> Result<Vec<(MariadbGtid, &str, usize)>> {
    let mut out = Vec::new();
    if trim_ascii_ws(input).0.is_empty() {
        return Ok(out);
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
        out.push((gtid, text, at));
    }
    Ok(out)
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
        for (gtid, text, at) in gtid_list(input)? {
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

/// The GTIDs of one domain in a [`MariadbBinlogState`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DomainState {
    /// The last sequence number logged by each server id.
    servers: BTreeMap<u32, u64>,
    /// The domain's most recent GTID (one of `servers`).
    last: MariadbGtid,
}

/// A MariaDB binlog state: for each domain, the last GTID each server id
/// logged in it, and which of them is the domain's most recent.
///
/// This is what `@@gtid_binlog_state` says of a server's whole binlog, and
/// what a GTID_LIST event at the start of a binlog file says of the files
/// before it (so the GTID_LIST of the oldest file still on a server says
/// what it purged). Unlike a [`MariadbGtidPosition`] (one GTID per domain)
/// it keeps every server id, which tells transactions of another server
/// with the same sequence numbers apart, e.g. on a server that diverged.
///
/// Text form, as MariaDB prints it: comma-separated GTIDs, at most one per
/// (domain, server id), each domain's most recent GTID after the others of
/// the domain (MariaDB prints the others in no particular order, so the
/// order among them is not part of the value). Display sorts domains, then
/// the others of a domain by server id, then the most recent one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MariadbBinlogState {
    domains: BTreeMap<u32, DomainState>,
}

impl MariadbBinlogState {
    /// The empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the `@@gtid_binlog_state` text form (also the list of a
    /// GTID_LIST event): the last GTID listed for a domain is its most
    /// recent one. Whitespace around each GTID is ignored; a blank string
    /// is the empty state. An entry point for fuzzing.
    ///
    /// # Errors
    ///
    /// [`PositionParseError::InvalidMariadbGtid`] for a malformed or empty
    /// entry, or [`PositionParseError::DuplicateServer`] when a (domain,
    /// server id) pair appears twice, with the entry and its character
    /// offset.
    pub fn parse(input: &str) -> Result<Self> {
        let mut state = Self::new();
        for (gtid, text, at) in gtid_list(input)? {
            if state.get(gtid.domain_id, gtid.server_id).is_some() {
                return Err(PositionParseError::DuplicateServer {
                    domain: gtid.domain_id,
                    server_id: gtid.server_id,
                    text: capped(text),
                    at,
                });
            }
            state.record(gtid);
        }
        Ok(state)
    }

    /// The state a list of GTIDs in binlog order leaves, e.g. the GTIDs of
    /// a GTID_LIST event (each domain's most recent GTID last).
    pub fn from_gtids<'a>(gtids: impl IntoIterator<Item = &'a MariadbGtid>) -> Self {
        let mut state = Self::new();
        for gtid in gtids {
            state.record(*gtid);
        }
        state
    }

    /// Records a GTID as logged: it replaces the same server's entry of its
    /// domain and becomes the domain's most recent GTID, whatever its
    /// sequence number (without `gtid_strict_mode` a domain's sequence
    /// numbers need not grow).
    pub fn record(&mut self, gtid: MariadbGtid) {
        match self.domains.get_mut(&gtid.domain_id) {
            Some(domain) => {
                domain.servers.insert(gtid.server_id, gtid.sequence);
                domain.last = gtid;
            }
            None => {
                let servers = BTreeMap::from([(gtid.server_id, gtid.sequence)]);
                let domain = DomainState {
                    servers,
                    last: gtid,
                };
                self.domains.insert(gtid.domain_id, domain);
            }
        }
    }

    /// The most recent GTID of each domain: the server's
    /// `@@gtid_binlog_pos` when this is its `@@gtid_binlog_state`.
    pub fn position(&self) -> MariadbGtidPosition {
        let mut position = MariadbGtidPosition::new();
        for domain in self.domains.values() {
            position.update(domain.last);
        }
        position
    }

    /// The most recent GTID of a domain.
    pub fn last(&self, domain_id: u32) -> Option<&MariadbGtid> {
        self.domains.get(&domain_id).map(|d| &d.last)
    }

    /// The last GTID that `server_id` logged in a domain.
    pub fn get(&self, domain_id: u32, server_id: u32) -> Option<MariadbGtid> {
        let sequence = *self.domains.get(&domain_id)?.servers.get(&server_id)?;
        Some(MariadbGtid {
            domain_id,
            server_id,
            sequence,
        })
    }

    /// The highest of the servers' last sequence numbers in a domain: with
    /// `gtid_strict_mode`, where sequence numbers only grow, the highest
    /// logged in the domain.
    pub fn max_sequence(&self, domain_id: u32) -> Option<u64> {
        self.domains
            .get(&domain_id)
            .and_then(|d| d.servers.values().max().copied())
    }

    /// The domains of the state, in order.
    pub fn domains(&self) -> impl Iterator<Item = u32> + '_ {
        self.domains.keys().copied()
    }

    /// Every GTID of the state in display order: domains sorted, each
    /// domain's most recent GTID after its others.
    pub fn iter(&self) -> impl Iterator<Item = MariadbGtid> + '_ {
        self.domains.iter().flat_map(|(&domain_id, domain)| {
            let others = domain
                .servers
                .iter()
                .filter(move |(&server_id, _)| server_id != domain.last.server_id)
                .map(move |(&server_id, &sequence)| MariadbGtid {
                    domain_id,
                    server_id,
                    sequence,
                });
            others.chain(std::iter::once(domain.last))
        })
    }

    /// True when the state has no GTID.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }
}

text_form!(MariadbBinlogState, MariadbBinlogState::parse, serde);

impl fmt::Display for MariadbBinlogState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, gtid) in self.iter().enumerate() {
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

    #[test]
    fn binlog_states_keep_every_server_and_each_domains_most_recent() {
        let g = |s: &str| s.parse::<MariadbGtid>().unwrap();
        // What MariaDB 10.11 printed after writes from server ids 1, 7 and 9
        // in domains 0 and 2 (domain 0's most recent is 0-1-5).
        let state = MariadbBinlogState::parse("0-9-4,0-1-5,2-1-1,2-7-2").unwrap();
        assert_eq!(state.position().to_string(), "0-1-5,2-7-2");
        assert_eq!((state.last(0), state.last(1)), (Some(&g("0-1-5")), None));
        assert_eq!((state.get(0, 9), state.get(0, 7)), (Some(g("0-9-4")), None));
        assert_eq!(
            (state.max_sequence(0), state.max_sequence(3)),
            (Some(5), None)
        );
        assert_eq!(state.domains().collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(state.to_string(), "0-9-4,0-1-5,2-1-1,2-7-2");
        // The others of a domain in any order are the same state; the most
        // recent one is not.
        let a = MariadbBinlogState::parse("0-3-1, 0-9-4 ,0-1-5").unwrap();
        let b = MariadbBinlogState::parse("0-9-4,0-3-1,0-1-5").unwrap();
        let c = MariadbBinlogState::parse("0-9-4,0-1-5,0-3-1").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.to_string(), "0-3-1,0-9-4,0-1-5");
        assert_eq!(c.to_string(), "0-1-5,0-9-4,0-3-1");
        // A recorded GTID becomes its domain's most recent even with a
        // lower sequence number (no gtid_strict_mode), and replaces its
        // server's entry.
        let mut s = a.clone();
        s.record(g("0-9-2"));
        assert_eq!(s.to_string(), "0-1-5,0-3-1,0-9-2");
        assert_eq!((s.last(0), s.max_sequence(0)), (Some(&g("0-9-2")), Some(5)));
        s.record(g("4-1-1"));
        assert_eq!(s.position().to_string(), "0-9-2,4-1-1");
        let list = [g("1-1-10"), g("1-2-3"), g("1-1-11")];
        assert_eq!(
            MariadbBinlogState::from_gtids(&list).to_string(),
            "1-2-3,1-1-11"
        );
        assert!(MariadbBinlogState::parse(" ").unwrap().is_empty());
        for (input, kind, text, at) in [
            ("0-1-5,0-1-6", "DuplicateServer", "0-1-6", 6),
            ("0-1-5,,0-2-6", "InvalidMariadbGtid", "", 6),
            ("0-1", "InvalidMariadbGtid", "0-1", 0),
        ] {
            let expected = (kind.to_owned(), text.to_owned(), at);
            assert_eq!(parts(MariadbBinlogState::parse(input)), expected, "{input}");
        }
        let msg = MariadbBinlogState::parse("0-1-5,0-1-6")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("domain 0 and server id 1 twice"), "{msg}");
    }

    proptest! {
        #[test]
        fn binlog_states_agree_with_a_naive_model(
            gtids in prop::collection::vec((0..3u32, 1..4u32, 1..50u64), 0..20)
        ) {
            // The model: every GTID logged, in order.
            let logged: Vec<MariadbGtid> = gtids
                .iter()
                .map(|&(domain_id, server_id, sequence)| MariadbGtid { domain_id, server_id, sequence })
                .collect();
            let state = MariadbBinlogState::from_gtids(&logged);
            for domain in 0..3u32 {
                let of_domain: Vec<&MariadbGtid> =
                    logged.iter().filter(|g| g.domain_id == domain).collect();
                prop_assert_eq!(state.last(domain), of_domain.last().copied());
                let mut max = None;
                for server in 1..4u32 {
                    let last_of_server =
                        of_domain.iter().rev().find(|g| g.server_id == server).map(|g| **g);
                    prop_assert_eq!(state.get(domain, server), last_of_server);
                    max = max.max(last_of_server.map(|g| g.sequence));
                }
                prop_assert_eq!(state.max_sequence(domain), max);
            }
            let text = state.to_string();
            prop_assert_eq!(MariadbBinlogState::parse(&text).unwrap(), state.clone());
            prop_assert_eq!(state.iter().count(), text.split(',').filter(|s| !s.is_empty()).count());
        }

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
