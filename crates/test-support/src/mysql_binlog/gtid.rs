//! GTIDs of transactions and GTID sets of PREVIOUS_GTIDS events.

use std::collections::BTreeMap;
use std::fmt;

/// The GTID a transaction is written with.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Gtid {
    /// ANONYMOUS_GTID (`gtid_mode=OFF`): no identity, a zero source id.
    Anonymous,
    /// GTID `uuid:gno`.
    Uuid {
        /// The source's server_uuid.
        sid: [u8; 16],
        /// The transaction number (1 to 2^63 - 1).
        gno: u64,
    },
    /// A tagged GTID `uuid:tag:gno` (MySQL 8.3 and later; GTID_TAGGED event).
    Tagged {
        /// The source's server_uuid.
        sid: [u8; 16],
        /// The tag: 1 to 32 characters, a lowercase letter or underscore
        /// first, then lowercase letters, digits or underscores.
        tag: String,
        /// The transaction number.
        gno: u64,
    },
}

impl Gtid {
    /// `uuid:gno` from the UUID's text.
    ///
    /// # Panics
    ///
    /// When `uuid` is not a UUID.
    pub fn uuid(uuid: &str, gno: u64) -> Gtid {
        Gtid::Uuid {
            sid: parse_uuid(uuid),
            gno,
        }
    }

    /// `uuid:tag:gno` from the UUID's text.
    ///
    /// # Panics
    ///
    /// When `uuid` is not a UUID.
    pub fn tagged(uuid: &str, tag: &str, gno: u64) -> Gtid {
        Gtid::Tagged {
            sid: parse_uuid(uuid),
            tag: tag.to_owned(),
            gno,
        }
    }

    /// (sid, tag, gno) for a non-anonymous GTID.
    pub fn parts(&self) -> Option<([u8; 16], Option<&str>, u64)> {
        match self {
            Gtid::Anonymous => None,
            Gtid::Uuid { sid, gno } => Some((*sid, None, *gno)),
            Gtid::Tagged { sid, tag, gno } => Some((*sid, Some(tag.as_str()), *gno)),
        }
    }
}

impl fmt::Display for Gtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gtid::Anonymous => f.write_str("ANONYMOUS"),
            Gtid::Uuid { sid, gno } => write!(f, "{}:{gno}", uuid_text(sid)),
            Gtid::Tagged { sid, tag, gno } => write!(f, "{}:{tag}:{gno}", uuid_text(sid)),
        }
    }
}

/// Parses `3e11fa47-71ca-11e1-9e33-c80aa9429562`.
///
/// # Panics
///
/// When `s` is not a UUID (a test bug).
pub fn parse_uuid(s: &str) -> [u8; 16] {
    let hex: Vec<u8> = s.bytes().filter(|c| *c != b'-').collect();
    assert!(
        hex.len() == 32 && hex.iter().all(u8::is_ascii_hexdigit),
        "mysql_binlog: {s:?} is not a UUID"
    );
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).unwrap_or("00");
        out[i] = u8::from_str_radix(text, 16).unwrap_or(0);
    }
    out
}

/// The UUID's text, lowercase with dashes.
pub fn uuid_text(sid: &[u8; 16]) -> String {
    let h: String = sid.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A set's key: the source uuid and the tag (empty for none).
type SetKey = ([u8; 16], String);

/// A MySQL GTID set: per (source uuid, tag) a list of closed intervals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GtidSet {
    /// (sid, tag) to sorted, disjoint, non-adjacent [start, end] intervals.
    pub(crate) sets: BTreeMap<SetKey, Vec<(u64, u64)>>,
}

impl GtidSet {
    /// The empty set.
    pub fn new() -> Self {
        GtidSet::default()
    }

    /// Adds one GTID (anonymous ones are ignored).
    pub fn add(&mut self, gtid: &Gtid) {
        if let Some((sid, tag, gno)) = gtid.parts() {
            self.add_interval(sid, tag, gno, gno);
        }
    }

    /// Adds the interval `start..=end` of `sid` (and `tag`).
    pub fn add_interval(&mut self, sid: [u8; 16], tag: Option<&str>, start: u64, end: u64) {
        let list = self
            .sets
            .entry((sid, tag.unwrap_or_default().to_owned()))
            .or_default();
        list.push((start, end));
        list.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(list.len());
        for (s, e) in list.drain(..) {
            match merged.last_mut() {
                Some(last) if s <= last.1.saturating_add(1) => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        *list = merged;
    }

    /// Adds every GTID of `other`.
    pub fn extend(&mut self, other: &GtidSet) {
        for ((sid, tag), list) in &other.sets {
            for (s, e) in list {
                let tag = (!tag.is_empty()).then_some(tag.as_str());
                self.add_interval(*sid, tag, *s, *e);
            }
        }
    }

    /// True when the set holds no GTID.
    pub fn is_empty(&self) -> bool {
        self.sets.values().all(Vec::is_empty)
    }

    /// True when any GTID of the set has a tag.
    pub fn is_tagged(&self) -> bool {
        self.sets.keys().any(|(_, tag)| !tag.is_empty())
    }

    /// (sid, tag, intervals) in MySQL's order: by uuid, untagged first,
    /// then tags in byte order.
    pub fn entries(&self) -> impl Iterator<Item = ([u8; 16], Option<&str>, &[(u64, u64)])> {
        self.sets
            .iter()
            .filter(|(_, l)| !l.is_empty())
            .map(|((sid, tag), l)| {
                (
                    *sid,
                    (!tag.is_empty()).then_some(tag.as_str()),
                    l.as_slice(),
                )
            })
    }
}

impl fmt::Display for GtidSet {
    /// MySQL's text: `uuid:1-5:7:tag_a:1-2,uuid2:3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last_sid: Option<[u8; 16]> = None;
        for (sid, tag, list) in self.entries() {
            if last_sid == Some(sid) {
                if let Some(tag) = tag {
                    write!(f, ":{tag}")?;
                }
            } else {
                if last_sid.is_some() {
                    f.write_str(",")?;
                }
                f.write_str(&uuid_text(&sid))?;
                if let Some(tag) = tag {
                    write!(f, ":{tag}")?;
                }
                last_sid = Some(sid);
            }
            for (s, e) in list {
                if s == e {
                    write!(f, ":{s}")?;
                } else {
                    write!(f, ":{s}-{e}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_merge_and_print_like_mysql() {
        let u = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        let mut s = GtidSet::new();
        for g in [1, 2, 3, 5, 4, 7] {
            s.add(&Gtid::uuid(u, g));
        }
        s.add(&Gtid::tagged(u, "tag_a", 1));
        s.add(&Gtid::Anonymous);
        assert_eq!(s.to_string(), format!("{u}:1-5:7:tag_a:1"));
        assert_eq!(Gtid::tagged(u, "t", 9).to_string(), format!("{u}:t:9"));
    }
}
