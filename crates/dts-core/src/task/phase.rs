//! The phases of a task, in order, and their names as stored in
//! `<meta>.task_state.phase`.

use serde::{Deserialize, Serialize};

/// A phase of a task. Its name (`Display`, `FromStr`, serde) is what
/// `task_state` stores and `dts status` shows; the names are those stored
/// before phases were an enum, so existing state rows keep working.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Checking both servers and the selection.
    #[default]
    Precheck,
    /// Creating databases, tables without foreign keys, views, routines.
    Schema,
    /// Recording the source schema for incremental migration.
    Prepare,
    /// The full copy.
    Full,
    /// Adding the foreign keys.
    ForeignKeys,
    /// Applying the source's binlog until stopped or cut over.
    Incremental,
    /// Cutting over (with incremental migration: `dts cutover`; without:
    /// creating triggers and events, then finishing).
    Cutover,
    /// Done: the task does not run again.
    Finished,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 8] = [
        Phase::Precheck,
        Phase::Schema,
        Phase::Prepare,
        Phase::Full,
        Phase::ForeignKeys,
        Phase::Incremental,
        Phase::Cutover,
        Phase::Finished,
    ];

    /// The stored name (`foreign_keys`).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Precheck => "precheck",
            Phase::Schema => "schema",
            Phase::Prepare => "prepare",
            Phase::Full => "full",
            Phase::ForeignKeys => "foreign_keys",
            Phase::Incremental => "incremental",
            Phase::Cutover => "cutover",
            Phase::Finished => "finished",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored phase name that is not a phase.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a task phase (the phases: precheck, schema, prepare, full, foreign_keys, \
     incremental, cutover, finished)"
)]
pub struct UnknownPhase(pub String);

impl std::str::FromStr for Phase {
    type Err = UnknownPhase;

    fn from_str(s: &str) -> Result<Phase, UnknownPhase> {
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPhase(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names stored in `task_state` before phases were an enum: every
    /// existing row must still read.
    #[test]
    fn names_are_the_stored_strings() {
        let stored = [
            "precheck",
            "schema",
            "prepare",
            "full",
            "foreign_keys",
            "incremental",
            "cutover",
            "finished",
        ];
        for (p, s) in Phase::ALL.into_iter().zip(stored) {
            assert_eq!(p.to_string(), s);
            assert_eq!(s.parse::<Phase>(), Ok(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{s}\""));
            assert_eq!(
                serde_json::from_str::<Phase>(&format!("\"{s}\"")).unwrap(),
                p
            );
        }
        assert!("foreign-keys".parse::<Phase>().is_err());
        assert!("".parse::<Phase>().is_err());
    }
}
