//! The GTID state after each event of a binlog: what the source had
//! executed at that point, for checkpoints and failover.
//!
//! A [`GtidTracker`] is fed the events of a binlog in order (from a file or
//! a stream) and keeps the GTID state after the last complete transaction.
//! A GTID enters the state when its transaction ends (XID, a COMMIT or
//! ROLLBACK query, XA PREPARE, the end of a DDL or of a compressed
//! transaction), never at the GTID event that opens it (design rule 2), so
//! that a position saved with the state never claims a transaction whose
//! rows are still queued.
//!
//! The state starts from what the caller knows (a checkpoint's, or the copy
//! snapshot's) or unknown ([`GtidState::None`]); a file's PREVIOUS_GTIDS
//! (MySQL) or GTID_LIST (MariaDB) then gives it, and later ones are checked
//! against it: a file that says earlier files hold transactions this
//! reader never saw (a missing file, or `gtid_purged` extended by hand)
//! is an error naming them, never a silent jump.

use std::fmt;

use crate::event::{Event, EventBody, MARIADB_FL_STANDALONE};

use super::{Flavor, GtidSet, GtidState, MariadbBinlogState, MariadbGtid, Tag, Uuid};

/// Where an event is, for messages: `file:offset`, or the offset alone.
fn at(event: &Event) -> String {
    match &event.file {
        Some(file) => format!("{file}:{}", event.pos),
        None => format!("offset {}", event.pos),
    }
}

/// What an event means for transactions and the GTID state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// Between transactions (FORMAT_DESCRIPTION, ROTATE, PREVIOUS_GTIDS,
    /// heartbeats, ...): the state is unchanged, and a position after the
    /// event is as good as the one before it.
    Between,
    /// Inside a transaction (its GTID event included): not a place to
    /// save a position.
    Inside,
    /// The event ends a transaction: [`GtidTracker::state`] now includes
    /// its GTID, and the position after the event is safe to save.
    Commit,
}

/// The GTID of the transaction being read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Open {
    /// A MySQL transaction: `None` for ANONYMOUS_GTID (`gtid_mode=OFF`).
    Mysql(Option<(Uuid, Option<Tag>, u64)>),
    /// A MariaDB event group.
    Mariadb(MariadbGtid),
}

impl fmt::Display for Open {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Open::Mysql(None) => f.write_str("an anonymous transaction"),
            Open::Mysql(Some((uuid, None, gno))) => write!(f, "GTID {uuid}:{gno}"),
            Open::Mysql(Some((uuid, Some(tag), gno))) => write!(f, "GTID {uuid}:{tag}:{gno}"),
            Open::Mariadb(g) => write!(f, "GTID {g}"),
        }
    }
}

/// An event sequence that no server writes, or one that shows a gap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GtidTrackError {
    /// A GTID event or a file header inside a transaction that never ended.
    #[error("binlog at {at}: {event} while {open} has not ended (no XID or COMMIT): the binlog is cut inside a transaction")]
    UnfinishedTransaction {
        /// Where the event is.
        at: String,
        /// What the event is.
        event: &'static str,
        /// The transaction still open.
        open: String,
    },
    /// A PREVIOUS_GTIDS lists transactions this reader never saw.
    #[error("binlog at {at}: PREVIOUS_GTIDS says the earlier files hold {missing}, which this reader never saw: a binlog file is missing before this one, or gtid_purged was extended on the source; read the missing file, or start from a full copy")]
    MysqlGap {
        /// Where the PREVIOUS_GTIDS is.
        at: String,
        /// The GTIDs it lists that the state lacks.
        missing: GtidSet,
    },
    /// A GTID_LIST says the earlier files went further in some domains
    /// than this reader saw.
    #[error("binlog at {at}: GTID_LIST says the earlier files reach {}, which this reader never saw: a binlog file is missing before this one; read the missing file, or start from a full copy", list(.missing))]
    MariadbGap {
        /// Where the GTID_LIST is.
        at: String,
        /// Each domain's GTID that the state is behind.
        missing: Vec<MariadbGtid>,
    },
    /// GTIDs of one flavor in a binlog whose state is of the other.
    #[error("binlog at {at}: a {event} event, but the GTID state is {state}'s: MySQL and MariaDB GTIDs do not mix")]
    MixedFlavors {
        /// Where the event is.
        at: String,
        /// The event.
        event: &'static str,
        /// The state's flavor.
        state: Flavor,
    },
    /// A GTID event whose GTID is not valid.
    #[error("binlog at {at}: invalid GTID: {reason}")]
    InvalidGtid {
        /// Where the event is.
        at: String,
        /// What is wrong.
        reason: String,
    },
}

/// MariaDB GTIDs as a comma-separated list.
fn list(gtids: &[MariadbGtid]) -> String {
    let texts: Vec<String> = gtids.iter().map(ToString::to_string).collect();
    texts.join(",")
}

/// Follows the GTID state through a binlog. See the module documentation.
#[derive(Debug, Clone)]
pub struct GtidTracker {
    /// The state after the last complete transaction.
    state: GtidState,
    /// The transaction being read, from its GTID event to its end.
    open: Option<Open>,
    /// Whether a transaction is open (BEGIN seen, or a MariaDB group that
    /// is not a standalone statement).
    in_transaction: bool,
}

impl GtidTracker {
    /// A tracker starting from `state` (`GtidState::None` when unknown: the
    /// next PREVIOUS_GTIDS or GTID_LIST gives it).
    pub fn new(state: GtidState) -> Self {
        Self {
            state,
            open: None,
            in_transaction: false,
        }
    }

    /// The GTID state after the last complete transaction.
    pub fn state(&self) -> &GtidState {
        &self.state
    }

    /// Whether the last event left a transaction open.
    pub fn in_transaction(&self) -> bool {
        self.open.is_some() || self.in_transaction
    }

    /// Takes in the next event of the binlog and says what it meant.
    ///
    /// # Errors
    ///
    /// A [`GtidTrackError`] for a sequence no server writes (a GTID event
    /// or a file header inside an unfinished transaction, GTIDs of both
    /// flavors, an invalid GTID) or a PREVIOUS_GTIDS / GTID_LIST that lists
    /// transactions this tracker never saw. The state is then unchanged.
    pub fn observe(&mut self, event: &Event) -> Result<Boundary, GtidTrackError> {
        // Every variant has its own arm, so that a new event type has to be
        // thought about here.
        match &event.body {
            EventBody::PreviousGtids(p) => {
                self.check_closed(event, "PREVIOUS_GTIDS")?;
                self.previous_gtids(event, &p.gtid_set)?;
                Ok(Boundary::Between)
            }
            EventBody::MariadbGtidList(l) => {
                self.check_closed(event, "GTID_LIST")?;
                self.gtid_list(event, &MariadbBinlogState::from_gtids(&l.gtids))?;
                Ok(Boundary::Between)
            }
            EventBody::Gtid(g) => {
                self.check_closed(event, "GTID")?;
                self.check_flavor(event, "MySQL GTID", Flavor::Mysql)?;
                let gtid = if g.anonymous {
                    None
                } else {
                    let invalid = |reason: String| GtidTrackError::InvalidGtid {
                        at: at(event),
                        reason,
                    };
                    let gno = u64::try_from(g.gno)
                        .ok()
                        .filter(|&n| n >= 1)
                        .ok_or_else(|| invalid(format!("GNO {} is not positive", g.gno)))?;
                    let tag = g
                        .tag
                        .as_deref()
                        .filter(|t| !t.is_empty())
                        .map(Tag::new)
                        .transpose()
                        .map_err(|e| invalid(e.to_string()))?;
                    Some((g.sid, tag, gno))
                };
                self.open = Some(Open::Mysql(gtid));
                self.in_transaction = false;
                Ok(Boundary::Inside)
            }
            EventBody::MariadbGtid(g) => {
                self.check_closed(event, "GTID")?;
                self.check_flavor(event, "MariaDB GTID", Flavor::Mariadb)?;
                self.open = Some(Open::Mariadb(g.gtid));
                self.in_transaction = g.flags2 & MARIADB_FL_STANDALONE == 0;
                Ok(Boundary::Inside)
            }
            EventBody::Query(q) => {
                if query_ends_transaction(&q.query, &mut self.in_transaction) {
                    Ok(self.commit())
                } else {
                    Ok(Boundary::Inside)
                }
            }
            EventBody::Xid(_) | EventBody::XaPrepare(_) | EventBody::TransactionPayload(_) => {
                Ok(self.commit())
            }
            EventBody::TableMap(_)
            | EventBody::Rows(_)
            | EventBody::RowsQuery(_)
            | EventBody::IntVar(_)
            | EventBody::Rand(_)
            | EventBody::UserVar(_) => Ok(Boundary::Inside),
            // Events about the file or the connection, and events the
            // tracker has nothing to learn from (the apply decides what to
            // do with an INCIDENT or an unknown event): the state stays.
            EventBody::FormatDescription(_)
            | EventBody::Rotate(_)
            | EventBody::Heartbeat(_)
            | EventBody::Incident(_)
            | EventBody::Stop
            | EventBody::MariadbBinlogCheckpoint(_)
            | EventBody::MariadbStartEncryption { .. }
            | EventBody::Other { .. } => Ok(if self.in_transaction() {
                Boundary::Inside
            } else {
                Boundary::Between
            }),
        }
    }

    /// Ends the open transaction: its GTID joins the state.
    fn commit(&mut self) -> Boundary {
        match (self.open.take(), &mut self.state) {
            (Some(Open::Mysql(Some((uuid, tag, gno)))), GtidState::Mysql(set)) => {
                // The GNO was checked when the GTID event was read.
                let _ = set.add(uuid, tag.as_ref(), gno);
            }
            (Some(Open::Mariadb(gtid)), GtidState::Mariadb(position)) => {
                position.update(gtid);
            }
            // Anonymous transactions, transactions without a GTID event
            // (servers before GTIDs), and an unknown state: nothing to add.
            _ => {}
        }
        self.in_transaction = false;
        Boundary::Commit
    }

    /// Refuses a GTID event or a file header while a transaction is open.
    fn check_closed(&self, event: &Event, what: &'static str) -> Result<(), GtidTrackError> {
        match &self.open {
            Some(open) => Err(GtidTrackError::UnfinishedTransaction {
                at: at(event),
                event: what,
                open: open.to_string(),
            }),
            None if self.in_transaction => Err(GtidTrackError::UnfinishedTransaction {
                at: at(event),
                event: what,
                open: "a transaction (BEGIN)".into(),
            }),
            None => Ok(()),
        }
    }

    /// Refuses GTIDs of the other flavor than the state's.
    fn check_flavor(
        &self,
        event: &Event,
        what: &'static str,
        flavor: Flavor,
    ) -> Result<(), GtidTrackError> {
        match self.state.flavor() {
            Some(state) if state != flavor => Err(GtidTrackError::MixedFlavors {
                at: at(event),
                event: what,
                state,
            }),
            _ => Ok(()),
        }
    }

    /// A PREVIOUS_GTIDS: the state when unknown, else a check that the
    /// state holds it.
    fn previous_gtids(&mut self, event: &Event, previous: &GtidSet) -> Result<(), GtidTrackError> {
        self.check_flavor(event, "PREVIOUS_GTIDS", Flavor::Mysql)?;
        match &self.state {
            GtidState::Mysql(set) => {
                let missing = previous.difference(set);
                if !missing.is_empty() {
                    return Err(GtidTrackError::MysqlGap {
                        at: at(event),
                        missing,
                    });
                }
            }
            _ => self.state = GtidState::Mysql(previous.clone()),
        }
        Ok(())
    }

    /// A GTID_LIST: the state when unknown, else a check that the state is
    /// not behind it in any domain. The check compares sequence numbers: it
    /// assumes they grow within a domain (gtid_strict_mode), and after a
    /// start in the middle of a file whose earlier part took a domain back
    /// to a lower sequence number it may see a gap that is not one.
    fn gtid_list(
        &mut self,
        event: &Event,
        before: &MariadbBinlogState,
    ) -> Result<(), GtidTrackError> {
        self.check_flavor(event, "GTID_LIST", Flavor::Mariadb)?;
        match &self.state {
            GtidState::Mariadb(position) => {
                // Each domain's most recent GTID before the file, not its
                // highest: without gtid_strict_mode a domain can go back to
                // a lower sequence number, and the position follows it.
                let missing: Vec<MariadbGtid> = before
                    .domains()
                    .filter_map(|d| before.last(d).copied())
                    .filter(|last| {
                        position
                            .get(last.domain_id)
                            .is_none_or(|g| g.sequence < last.sequence)
                    })
                    .collect();
                if !missing.is_empty() {
                    return Err(GtidTrackError::MariadbGap {
                        at: at(event),
                        missing,
                    });
                }
            }
            _ => self.state = GtidState::Mariadb(before.position()),
        }
        Ok(())
    }
}

/// Whether a QUERY event ends a transaction, given and updating whether
/// one is open. BEGIN and XA START open one; inside one, only COMMIT,
/// ROLLBACK (not ROLLBACK TO SAVEPOINT) and XA PREPARE / COMMIT / ROLLBACK
/// end it (SAVEPOINT and other statements do not); outside one, any
/// statement (a DDL) is complete by itself.
/// The stream reader uses this rule too, for its safe resume position.
pub(crate) fn query_ends_transaction(query: &[u8], in_transaction: &mut bool) -> bool {
    let q = query.trim_ascii();
    let upper: Vec<u8> = q.iter().take(32).map(u8::to_ascii_uppercase).collect();
    let starts = |p: &[u8]| upper.starts_with(p);
    if upper == b"BEGIN" || starts(b"XA START") || starts(b"XA BEGIN") {
        *in_transaction = true;
        return false;
    }
    if !*in_transaction {
        return true;
    }
    let ends = upper == b"COMMIT"
        || (starts(b"ROLLBACK") && !starts(b"ROLLBACK TO"))
        || starts(b"XA PREPARE")
        || starts(b"XA COMMIT")
        || starts(b"XA ROLLBACK");
    if ends {
        *in_transaction = false;
    }
    ends
}

#[cfg(test)]
mod tests {
    use super::query_ends_transaction;

    #[test]
    fn transaction_boundaries_from_query_events() {
        let mut open = false;
        assert!(query_ends_transaction(b"CREATE TABLE t (a INT)", &mut open));
        assert!(!query_ends_transaction(b"BEGIN", &mut open));
        assert!(open);
        assert!(!query_ends_transaction(b"SAVEPOINT `a`", &mut open));
        assert!(!query_ends_transaction(b"ROLLBACK TO `a`", &mut open));
        assert!(!query_ends_transaction(
            b"INSERT INTO m VALUES (1)",
            &mut open
        ));
        assert!(query_ends_transaction(b"COMMIT", &mut open));
        assert!(!open);
        assert!(!query_ends_transaction(b"XA START X'78',X'',1", &mut open));
        assert!(query_ends_transaction(b"XA PREPARE X'78',X'',1", &mut open));
        assert!(!query_ends_transaction(b" begin ", &mut open));
        assert!(query_ends_transaction(b"ROLLBACK", &mut open));
    }
}
