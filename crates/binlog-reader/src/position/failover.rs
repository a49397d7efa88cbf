//! Can a task resume on another server? Pure answers over the facts a
//! candidate server reports, for a source failover (catalogue S4).
//!
//! A task's checkpoint holds the GTID state the target has applied. Another
//! server (a promoted replica, a new primary behind the same address) can
//! continue it only if
//!
//! 1. it has every transaction the target already has: otherwise the
//!    target holds transactions the new source does not (a replica that has
//!    not caught up, or transactions lost in the failover), and continuing
//!    would make the target a state the source never was;
//! 2. it still has, in its binlog, every transaction the target has not
//!    applied: otherwise it would skip them (binlogs purged past the
//!    checkpoint, design rule 6).
//!
//! On MySQL both are set operations on exact GTID sets (every gap kept):
//! the checkpoint's executed set must be inside the candidate's
//! `@@gtid_executed`, and the candidate's `@@gtid_purged` inside the
//! checkpoint's set. On MariaDB, which keeps positions per domain rather
//! than sets, they are decided per domain from the candidate's
//! `@@gtid_binlog_state` (the last GTID of every server id in each domain)
//! and the GTID_LIST of its oldest binlog file (what it purged). Those
//! answers are exact under `gtid_strict_mode`, where sequence numbers only
//! grow within a domain and a server that logged `d-s-n` logged every
//! earlier transaction of `d` it replicated; without it, they are only as
//! good as the sequence numbers.
//!
//! A refusal names every transaction (MySQL) or every domain (MariaDB) at
//! fault and says what the user can do.

use std::fmt;

use super::{Flavor, GtidSet, GtidState, MariadbBinlogState, MariadbGtid, MariadbGtidPosition};

/// What a MySQL candidate server reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MysqlCandidate {
    /// `@@gtid_executed`: every transaction it has.
    pub gtid_executed: GtidSet,
    /// `@@gtid_purged`: the transactions no longer in its binlog.
    pub gtid_purged: GtidSet,
}

/// What a MariaDB candidate server reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MariadbCandidate {
    /// `@@gtid_binlog_state`: every transaction its binlog has logged.
    pub binlog_state: MariadbBinlogState,
    /// The GTID_LIST of its oldest binlog file: the state before it, that
    /// is, what it purged.
    pub purged: MariadbBinlogState,
}

/// What a candidate server reports, by flavor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidate {
    /// A MySQL server.
    Mysql(MysqlCandidate),
    /// A MariaDB server.
    Mariadb(MariadbCandidate),
}

impl Candidate {
    /// The candidate's flavor.
    pub fn flavor(&self) -> Flavor {
        match self {
            Candidate::Mysql(_) => Flavor::Mysql,
            Candidate::Mariadb(_) => Flavor::Mariadb,
        }
    }
}

/// A domain in which a MariaDB candidate is ahead of the checkpoint: the
/// transactions after `applied` up to `candidate_last` will be read from
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MariadbDomainAhead {
    /// The last GTID of the domain the target applied (none: the target has
    /// nothing of the domain yet).
    pub applied: Option<MariadbGtid>,
    /// The candidate's most recent GTID of the domain.
    pub candidate_last: MariadbGtid,
}

/// How a task continues on the candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResumePlan {
    /// MySQL: request the binlog with the checkpoint's set
    /// (`COM_BINLOG_DUMP_GTID`); the candidate will send `to_receive`, the
    /// transactions it has beyond the checkpoint.
    Mysql {
        /// The candidate's executed set minus the checkpoint's.
        to_receive: GtidSet,
    },
    /// MariaDB: request the binlog from `start` (the checkpoint's
    /// position, as `@slave_connect_state`); the candidate is ahead in the
    /// domains of `ahead`.
    Mariadb {
        /// The position to start from.
        start: MariadbGtidPosition,
        /// The domains with transactions to read, by domain.
        ahead: Vec<MariadbDomainAhead>,
    },
}

/// Why the candidate's binlog cannot continue one MariaDB domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MariadbDomainProblem {
    /// The candidate's binlog does not have the last transaction of the
    /// domain that the target applied.
    Missing {
        /// The target's last GTID of the domain.
        applied: MariadbGtid,
        /// What the candidate logged last in the domain (none: nothing).
        candidate_last: Option<MariadbGtid>,
        /// The candidate's last GTID of `applied`'s server id in the
        /// domain, when it has one (below `applied`: it is behind; absent
        /// while the domain is ahead: it diverged).
        candidate_same_server: Option<MariadbGtid>,
    },
    /// The candidate purged transactions of the domain that the target has
    /// not applied: its oldest binlog starts after them.
    Purged {
        /// The target's last GTID of the domain (none: nothing of it).
        applied: Option<MariadbGtid>,
        /// The last GTID of the domain before the candidate's oldest binlog
        /// file.
        purged_up_to: MariadbGtid,
    },
}

impl MariadbDomainProblem {
    /// The domain.
    pub fn domain(&self) -> u32 {
        match self {
            MariadbDomainProblem::Missing { applied, .. } => applied.domain_id,
            MariadbDomainProblem::Purged { purged_up_to, .. } => purged_up_to.domain_id,
        }
    }
}

impl fmt::Display for MariadbDomainProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MariadbDomainProblem::Missing {
                applied,
                candidate_last,
                candidate_same_server,
            } => {
                write!(
                    f,
                    "domain {}: the target has applied {applied}, which the candidate's binlog lacks",
                    applied.domain_id
                )?;
                match (candidate_last, candidate_same_server) {
                    (None, _) => f.write_str(" (it has nothing of the domain)"),
                    (Some(last), Some(same))
                        if last.sequence < applied.sequence && same != last =>
                    {
                        write!(
                            f,
                            " (it is behind: its last is {last}, of server {} {same})",
                            applied.server_id
                        )
                    }
                    (Some(last), _) if last.sequence < applied.sequence => {
                        write!(f, " (it is behind: its last is {last})")
                    }
                    (Some(last), Some(same)) => write!(
                        f,
                        " (it diverged: its last is {last}, but of server {} only {same})",
                        applied.server_id
                    ),
                    (Some(last), None) => write!(
                        f,
                        " (it diverged: its last is {last}, and it has nothing of server {})",
                        applied.server_id
                    ),
                }
            }
            MariadbDomainProblem::Purged {
                applied,
                purged_up_to,
            } => {
                let domain = purged_up_to.domain_id;
                match applied {
                    Some(a) => write!(
                        f,
                        "domain {domain}: the candidate purged the transactions after {a} up to {purged_up_to}, which the target has not applied"
                    ),
                    None => write!(
                        f,
                        "domain {domain}: the candidate purged the transactions up to {purged_up_to}, none of which the target has applied"
                    ),
                }
            }
        }
    }
}

/// Why a task cannot resume on a candidate server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeRefusal {
    /// The checkpoint has no GTID state: positions on two servers cannot
    /// be compared.
    #[error("the checkpoint has no GTID state (the source ran without GTIDs), so it cannot continue on another server: binlog file offsets mean nothing there; enable GTIDs on the source (MySQL gtid_mode=ON) and start the task again from a full copy")]
    NoGtidState,
    /// The candidate is of the other flavor.
    #[error("the checkpoint's GTIDs are {checkpoint} GTIDs but the candidate is a {candidate} server; a task cannot move between MySQL and MariaDB: point the task at a {checkpoint} server")]
    OtherFlavor {
        /// The checkpoint's flavor.
        checkpoint: Flavor,
        /// The candidate's flavor.
        candidate: Flavor,
    },
    /// A MySQL candidate lacks transactions the target has, or purged
    /// transactions it has not applied (one of the sets is not empty).
    #[error("{}", mysql_refusal(.missing_on_candidate, .purged_not_applied))]
    Mysql {
        /// Transactions the target has applied and the candidate lacks:
        /// the checkpoint's set minus the candidate's `@@gtid_executed`.
        missing_on_candidate: GtidSet,
        /// Transactions the candidate purged and the target has not
        /// applied: its `@@gtid_purged` minus the checkpoint's set.
        purged_not_applied: GtidSet,
    },
    /// A MariaDB candidate cannot continue some domains.
    #[error("{}", mariadb_refusal(.problems))]
    Mariadb {
        /// What is wrong, by domain (a domain may be both missing and
        /// purged).
        problems: Vec<MariadbDomainProblem>,
    },
}

/// The message of [`ResumeRefusal::Mysql`].
fn mysql_refusal(missing: &GtidSet, purged: &GtidSet) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "it lacks transactions the target has already applied: {missing} (a replica that \
             has not caught up: wait until its gtid_executed holds them; transactions lost in \
             the failover: the target now holds changes the new source does not, so start the \
             task again from a full copy)"
        ));
    }
    if !purged.is_empty() {
        parts.push(format!(
            "it purged binlogs holding transactions the target has not applied: {purged} \
             (restore those binlog files into [source] binlog_archive, or start the task again \
             from a full copy)"
        ));
    }
    format!(
        "the candidate MySQL server cannot continue this task: {}",
        parts.join("; and ")
    )
}

/// The message of [`ResumeRefusal::Mariadb`].
fn mariadb_refusal(problems: &[MariadbDomainProblem]) -> String {
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let missing = problems
        .iter()
        .any(|p| matches!(p, MariadbDomainProblem::Missing { .. }));
    let purged = problems
        .iter()
        .any(|p| matches!(p, MariadbDomainProblem::Purged { .. }));
    let mut advice = Vec::new();
    if missing {
        advice.push(
            "a replica that has not caught up: wait until its gtid_binlog_pos reaches the \
             checkpoint (it needs log_slave_updates to log what it replicates); transactions \
             lost in the failover: the target holds changes the new source does not, so start \
             the task again from a full copy",
        );
    }
    if purged {
        advice.push(
            "purged binlogs: restore them into [source] binlog_archive, or start the task \
             again from a full copy",
        );
    }
    format!(
        "the candidate MariaDB server cannot continue this task: {} ({})",
        list.join("; "),
        advice.join("; ")
    )
}

/// Decides whether a task whose checkpoint holds `applied` can continue on
/// `candidate`, and how.
///
/// # Errors
///
/// A [`ResumeRefusal`] naming what the candidate lacks or purged, or that
/// the checkpoint has no GTIDs, or is of the other flavor.
pub fn resume_on(applied: &GtidState, candidate: &Candidate) -> Result<ResumePlan, ResumeRefusal> {
    match (applied, candidate) {
        (GtidState::None, _) => Err(ResumeRefusal::NoGtidState),
        (GtidState::Mysql(set), Candidate::Mysql(c)) => mysql_resume(set, c),
        (GtidState::Mariadb(pos), Candidate::Mariadb(c)) => mariadb_resume(pos, c),
        (state, candidate) => Err(ResumeRefusal::OtherFlavor {
            // The GTID state has a flavor in these arms.
            checkpoint: state.flavor().unwrap_or(Flavor::Mysql),
            candidate: candidate.flavor(),
        }),
    }
}

/// [`resume_on`] for MySQL: the checkpoint's set must be inside the
/// candidate's executed set, and its purged set inside the checkpoint's.
///
/// # Errors
///
/// [`ResumeRefusal::Mysql`] with both differences.
pub fn mysql_resume(
    applied: &GtidSet,
    candidate: &MysqlCandidate,
) -> Result<ResumePlan, ResumeRefusal> {
    let missing_on_candidate = applied.difference(&candidate.gtid_executed);
    let purged_not_applied = candidate.gtid_purged.difference(applied);
    if missing_on_candidate.is_empty() && purged_not_applied.is_empty() {
        Ok(ResumePlan::Mysql {
            to_receive: candidate.gtid_executed.difference(applied),
        })
    } else {
        Err(ResumeRefusal::Mysql {
            missing_on_candidate,
            purged_not_applied,
        })
    }
}

/// [`resume_on`] for MariaDB, domain by domain: the candidate's binlog must
/// have the last GTID the target applied in each domain (its server id
/// logged that sequence number or a later one), and its oldest binlog
/// must not start after it (nor, for a domain the target has nothing of,
/// after any transaction of that domain).
///
/// # Errors
///
/// [`ResumeRefusal::Mariadb`] listing every domain at fault.
pub fn mariadb_resume(
    applied: &MariadbGtidPosition,
    candidate: &MariadbCandidate,
) -> Result<ResumePlan, ResumeRefusal> {
    let state = &candidate.binlog_state;
    let mut domains: Vec<u32> = applied.iter().map(|g| g.domain_id).collect();
    domains.extend(state.domains());
    domains.extend(candidate.purged.domains());
    domains.sort_unstable();
    domains.dedup();
    let mut problems = Vec::new();
    let mut ahead = Vec::new();
    for domain in domains {
        let mine = applied.get(domain).copied();
        let last = state.last(domain).copied();
        if let Some(g) = mine {
            let same_server = state.get(domain, g.server_id);
            if same_server.is_none_or(|s| s.sequence < g.sequence) {
                problems.push(MariadbDomainProblem::Missing {
                    applied: g,
                    candidate_last: last,
                    candidate_same_server: same_server,
                });
            }
        }
        // The oldest file's list says what came before it: anything later
        // than what the target applied in the domain is gone.
        if let Some(purged_last) = candidate.purged.last(domain) {
            let purged_max = candidate.purged.max_sequence(domain).unwrap_or(0);
            if mine.is_none_or(|g| purged_max > g.sequence) {
                problems.push(MariadbDomainProblem::Purged {
                    applied: mine,
                    purged_up_to: *purged_last,
                });
            }
        }
        if let Some(last) = last {
            if mine.is_none_or(|g| last != g && last.sequence >= g.sequence) {
                ahead.push(MariadbDomainAhead {
                    applied: mine,
                    candidate_last: last,
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(ResumePlan::Mariadb {
            start: applied.clone(),
            ahead,
        })
    } else {
        Err(ResumeRefusal::Mariadb { problems })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    fn mysql(executed: &str, purged: &str) -> Candidate {
        Candidate::Mysql(MysqlCandidate {
            gtid_executed: set(executed),
            gtid_purged: set(purged),
        })
    }

    fn mariadb(state: &str, purged: &str) -> Candidate {
        Candidate::Mariadb(MariadbCandidate {
            binlog_state: state.parse().unwrap(),
            purged: purged.parse().unwrap(),
        })
    }

    fn applied_set(text: &str) -> GtidState {
        GtidState::Mysql(set(text))
    }

    fn applied_pos(text: &str) -> GtidState {
        GtidState::Mariadb(text.parse().unwrap())
    }

    #[test]
    fn s4_mysql_resumes_only_when_executed_holds_ours_and_purged_is_inside_ours() {
        let ok = |applied: &str, executed: &str, purged: &str| match resume_on(
            &applied_set(applied),
            &mysql(executed, purged),
        ) {
            Ok(ResumePlan::Mysql { to_receive }) => to_receive.to_string(),
            other => panic!("{applied} on {executed} / {purged}: {other:?}"),
        };
        // A caught-up replica: it sends what it has beyond the checkpoint.
        assert_eq!(ok("U1:1-10", "U1:1-15", "U1:1-5"), x("U1:11-15"));
        assert_eq!(ok("U1:1-10", "U1:1-10", ""), "");
        // The checkpoint's gap (GNO 6 not applied) is sent, not skipped:
        // a set merged into U1:1-10 would lose it (FLINK-38183).
        assert_eq!(ok("U1:1-5:7-10", "U1:1-12", "U1:1-4"), x("U1:6:11-12"));
        // The new primary's own transactions and tagged GTIDs.
        assert_eq!(
            ok("U1:1-10:tag_a:1-2", "U1:1-10:tag_a:1-3,U2:1-3", "U1:1-10"),
            x("U1:tag_a:3,U2:1-3")
        );
        let refused = |applied: &str, executed: &str, purged: &str| match resume_on(
            &applied_set(applied),
            &mysql(executed, purged),
        ) {
            Err(e @ ResumeRefusal::Mysql { .. }) => {
                let ResumeRefusal::Mysql {
                    missing_on_candidate,
                    purged_not_applied,
                } = &e
                else {
                    unreachable!()
                };
                (
                    missing_on_candidate.to_string(),
                    purged_not_applied.to_string(),
                    e.to_string(),
                )
            }
            other => panic!("{applied} on {executed} / {purged}: {other:?}"),
        };
        // A replica that has not caught up lacks GNOs 9-10.
        let (missing, purged, msg) = refused("U1:1-10", "U1:1-8", "");
        assert_eq!((missing, purged), (x("U1:9-10"), String::new()));
        assert!(msg.contains(&x(
            "lacks transactions the target has already applied: U1:9-10"
        )));
        assert!(
            msg.contains("wait until its gtid_executed holds them"),
            "{msg}"
        );
        assert!(!msg.contains("purged"), "{msg}");
        // The candidate purged exactly the gap the target has not applied.
        let (missing, purged, msg) = refused("U1:1-5:7-10", "U1:1-12", "U1:1-6");
        assert_eq!((missing, purged), (String::new(), x("U1:6")));
        assert!(msg.contains(&x(
            "purged binlogs holding transactions the target has not applied: U1:6"
        )));
        assert!(msg.contains("binlog_archive"), "{msg}");
        // Both at once, tags and several sources named exactly.
        let (missing, purged, msg) =
            refused("U1:1-10:tag_a:1-2,U2:5", "U1:1-9:tag_a:1,U3:1-4", "U3:1-2");
        assert_eq!(missing, x("U1:10:tag_a:2,U2:5"));
        assert_eq!(purged, x("U3:1-2"));
        assert!(msg.contains("; and "), "{msg}");
        // No GTIDs, or the other flavor.
        let none = resume_on(&GtidState::None, &mysql("U1:1", ""));
        assert_eq!(none, Err(ResumeRefusal::NoGtidState));
        assert!(none.unwrap_err().to_string().contains("gtid_mode=ON"));
        let other = resume_on(&applied_set("U1:1"), &mariadb("0-1-1", ""));
        assert_eq!(
            other,
            Err(ResumeRefusal::OtherFlavor {
                checkpoint: Flavor::Mysql,
                candidate: Flavor::Mariadb
            })
        );
        let other = resume_on(&applied_pos("0-1-1"), &mysql("U1:1", "")).unwrap_err();
        assert!(other
            .to_string()
            .contains("MariaDB GTIDs but the candidate is a MySQL server"));
    }

    #[test]
    fn s4_s5_mariadb_resumes_domain_by_domain() {
        let g = |s: &str| s.parse::<MariadbGtid>().unwrap();
        let plan = |applied: &str, state: &str, purged: &str| match resume_on(
            &applied_pos(applied),
            &mariadb(state, purged),
        ) {
            Ok(ResumePlan::Mariadb { start, ahead }) => {
                assert_eq!(start.to_string(), applied);
                ahead
                    .iter()
                    .map(|a| {
                        let from = a.applied.map_or("-".into(), |g| g.to_string());
                        format!("{from}..{}", a.candidate_last)
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            other => panic!("{applied} on {state} / {purged}: {other:?}"),
        };
        // A promoted replica, caught up, in two domains whose sequence
        // numbers are far apart (catalogue S5), with its own writes after
        // the promotion (server id 2).
        assert_eq!(plan("0-1-100,2-1-5", "0-1-100,2-1-5", "0-1-40"), "");
        assert_eq!(
            plan("0-1-100,2-1-5", "0-1-100,0-2-103,2-1-7", "0-1-40,2-1-1"),
            "0-1-100..0-2-103 2-1-5..2-1-7"
        );
        // A domain the target has nothing of, not purged: read from the
        // start.
        assert_eq!(plan("0-1-100", "0-1-100,3-2-9", ""), "-..3-2-9");
        let refused = |applied: &str, state: &str, purged: &str| match resume_on(
            &applied_pos(applied),
            &mariadb(state, purged),
        ) {
            Err(e @ ResumeRefusal::Mariadb { .. }) => {
                let ResumeRefusal::Mariadb { problems } = &e else {
                    unreachable!()
                };
                (problems.clone(), e.to_string())
            }
            other => panic!("{applied} on {state} / {purged}: {other:?}"),
        };
        // Behind: the replica stopped at 0-1-97.
        let (problems, msg) = refused("0-1-100,2-1-5", "0-1-97,2-1-5", "");
        assert_eq!(
            problems,
            vec![MariadbDomainProblem::Missing {
                applied: g("0-1-100"),
                candidate_last: Some(g("0-1-97")),
                candidate_same_server: Some(g("0-1-97")),
            }]
        );
        assert!(msg.contains("domain 0: the target has applied 0-1-100, which the candidate's binlog lacks (it is behind: its last is 0-1-97)"), "{msg}");
        assert!(msg.contains("log_slave_updates"), "{msg}");
        // Diverged: another server wrote sequence 100 (and more).
        let (problems, msg) = refused("0-1-100", "0-1-90,0-3-104", "");
        assert_eq!(problems.len(), 1);
        assert!(
            msg.contains("(it diverged: its last is 0-3-104, but of server 1 only 0-1-90)"),
            "{msg}"
        );
        let (_, msg) = refused("0-1-100", "0-3-100", "");
        assert!(msg.contains("it has nothing of server 1"), "{msg}");
        // A domain the candidate has nothing of.
        let (problems, msg) = refused("0-1-100,2-1-5", "0-1-100", "");
        assert_eq!(problems[0].domain(), 2);
        assert!(msg.contains("domain 2: the target has applied 2-1-5, which the candidate's binlog lacks (it has nothing of the domain)"), "{msg}");
        // Purged past the checkpoint, in a domain the target has and in one
        // it has not; and purged exactly up to the checkpoint is fine.
        let (problems, msg) = refused(
            "0-1-100,2-1-5",
            "0-1-120,2-1-9,3-2-9",
            "0-1-110,2-1-5,3-2-4",
        );
        assert_eq!(
            problems,
            vec![
                MariadbDomainProblem::Purged {
                    applied: Some(g("0-1-100")),
                    purged_up_to: g("0-1-110"),
                },
                MariadbDomainProblem::Purged {
                    applied: None,
                    purged_up_to: g("3-2-4"),
                },
            ]
        );
        assert!(msg.contains("domain 0: the candidate purged the transactions after 0-1-100 up to 0-1-110, which the target has not applied"), "{msg}");
        assert!(
            msg.contains(
                "domain 3: the candidate purged the transactions up to 3-2-4, none of which"
            ),
            "{msg}"
        );
        assert!(msg.contains("binlog_archive"), "{msg}");
        let (_, msg) = refused("0-1-100", "0-1-95,0-2-97", "");
        assert!(
            msg.contains("(it is behind: its last is 0-2-97, of server 1 0-1-95)"),
            "{msg}"
        );
        // Missing and purged in the same domain, both named.
        let (problems, _) = refused("0-1-100", "0-1-97", "0-1-97,0-4-101");
        assert_eq!(problems.len(), 2);
    }
}
