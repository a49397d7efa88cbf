//! The apply's decisions, without I/O: the net effect of a batch's changes
//! per key ([`Coalesced`]), when the target transaction commits
//! ([`CommitInputs::commit_due`], [`may_commit`]), when a run is done
//! ([`done`]), whether the copy's overlap window is still open
//! ([`idempotent`]) and what an event costs of the reader's queue
//! ([`queue_cost`]). The `Applier` and the batch writer call these and do
//! the I/O; the unit tests below prove the rules without a server, and the
//! live tests (`tests/apply.rs`) prove them with one.

use std::collections::HashMap;
use std::time::Duration;

use binlog_reader::position::FilePosition;

/// A row image rendered as a values tuple, and whether it holds an ENUM's
/// index 0 (whose warning the write accepts).
pub(crate) type Row = (String, bool);

/// The net effect of one key in a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeyState {
    /// The key existed on the target before the batch's first change to it
    /// (the first change was an update or a delete of it).
    pub(crate) expect_exists: bool,
    /// The final row, or `None` when the key ends absent.
    pub(crate) row: Option<Row>,
    /// Where the first change was (for conflict messages).
    pub(crate) first_at: String,
}

/// The pending changes of one table with a usable key, merged per key into
/// the key's net effect: whether it existed before the batch and its final
/// row. Writing that effect (delete every touched key, insert the final
/// rows) gives the source's state for those keys whatever order the keys
/// are written in, and the counts of the deletes detect every conflict.
#[derive(Debug, Default)]
pub(crate) struct Coalesced {
    pub(crate) keys: HashMap<String, KeyState>,
    /// Keys in the order of their first change.
    pub(crate) order: Vec<String>,
    /// Changes merged.
    pub(crate) changes: u64,
    /// About the bytes held (keys and rows), for the batch limit.
    pub(crate) bytes: usize,
}

impl Coalesced {
    fn set_row(&mut self, key: String, row: Option<Row>, expect_exists: bool, at: &str) {
        let add = row.as_ref().map_or(0, |r| r.0.len());
        if !self.keys.contains_key(&key) {
            self.order.push(key.clone());
            self.bytes += key.len() + 32;
            self.keys.insert(
                key.clone(),
                KeyState {
                    expect_exists,
                    row: None,
                    first_at: at.to_string(),
                },
            );
        }
        let st = self.keys.get_mut(&key).expect("inserted above");
        let old = st.row.as_ref().map_or(0, |r| r.0.len());
        st.row = row;
        self.bytes = (self.bytes + add).saturating_sub(old);
    }

    /// A row inserted with `key`.
    pub(crate) fn insert(&mut self, key: String, row: Row, at: &str) {
        self.changes += 1;
        self.set_row(key, Some(row), false, at);
    }

    /// The row of `key` deleted.
    pub(crate) fn delete(&mut self, key: String, at: &str) {
        self.changes += 1;
        self.set_row(key, None, true, at);
    }

    /// The row of `before_key` updated to `row` with `after_key` (a key
    /// change moves the row: the old key ends absent, the new one present).
    pub(crate) fn update(&mut self, before_key: String, after_key: String, row: Row, at: &str) {
        self.changes += 1;
        if before_key != after_key {
            self.set_row(before_key, None, true, at);
            self.set_row(after_key, Some(row), false, at);
        } else {
            self.set_row(before_key, Some(row), true, at);
        }
    }

    /// The touched keys expected on the target (each delete must find one
    /// row), then those expected absent (their deletes must find none), in
    /// first-change order.
    pub(crate) fn expected(&self) -> (Vec<&String>, Vec<&String>) {
        self.order
            .iter()
            .partition(|k| self.keys[k.as_str()].expect_exists)
    }

    /// Drops keys (conflicts skipped by the ignore policy).
    pub(crate) fn remove(&mut self, keys: &[String]) {
        for k in keys {
            self.keys.remove(k);
        }
        self.order.retain(|k| self.keys.contains_key(k));
    }

    /// The final rows to insert, in first-change order.
    pub(crate) fn final_rows(&self) -> impl Iterator<Item = &Row> + '_ {
        self.order
            .iter()
            .filter_map(|k| self.keys[k.as_str()].row.as_ref())
    }
}

/// What decides whether the open batch commits now.
#[derive(Clone, Debug)]
pub(crate) struct CommitInputs<'a> {
    /// Nothing is waiting in the queue from the reader (caught up: commit
    /// so that the target is as fresh as the source).
    pub(crate) queue_empty: bool,
    /// Bytes of SQL pending, against the batch limit.
    pub(crate) pending_bytes: usize,
    pub(crate) batch_bytes: usize,
    /// How long the first uncommitted change has waited, against the
    /// commit interval.
    pub(crate) batch_age: Option<Duration>,
    pub(crate) commit_interval: Duration,
    /// A stop was asked for.
    pub(crate) stopped: bool,
    /// The last source transaction boundary read, and the position to stop
    /// at.
    pub(crate) boundary: Option<&'a FilePosition>,
    pub(crate) until: Option<&'a FilePosition>,
}

impl CommitInputs<'_> {
    /// The batch commits at its boundary: the reader is caught up, the
    /// batch is full or old enough, a stop was asked for, or the boundary
    /// reached the stop position.
    pub(crate) fn commit_due(&self) -> bool {
        self.queue_empty
            || self.pending_bytes >= self.batch_bytes
            || self.batch_age.is_some_and(|a| a >= self.commit_interval)
            || self.stopped
            || self
                .until
                .is_some_and(|u| self.boundary.is_some_and(|b| b >= u))
    }
}

/// A commit may happen only between source transactions: never while rows
/// of an unfinished source transaction are written (they would be
/// committed with a position before them, a partial transaction visible on
/// the target and applied again after a restart).
pub(crate) fn may_commit(in_source_transaction: bool, transaction_wrote: bool) -> bool {
    !(in_source_transaction && transaction_wrote)
}

/// The run is done when nothing is left uncommitted and a stop was asked
/// for or the checkpoint reached the stop position.
pub(crate) fn done(
    boundary: Option<&FilePosition>,
    stopped: bool,
    until: Option<&FilePosition>,
    committed: &FilePosition,
) -> bool {
    boundary.is_none() && (stopped || until.is_some_and(|u| committed >= u))
}

/// Inside the copy's overlap window (design rule 8): the checkpoint has
/// not passed the highest snapshot position, so a key may already be in its
/// final state and the count checks are off.
pub(crate) fn idempotent(committed: &FilePosition, overlap_end: Option<&FilePosition>) -> bool {
    overlap_end.is_some_and(|e| committed < e)
}

/// The permits of the queue's byte budget: `queue_bytes`, at least 1 and
/// at most what one acquisition can take.
pub(crate) fn queue_budget(queue_bytes: usize) -> usize {
    queue_bytes.clamp(1, u32::MAX as usize)
}

/// What an event costs of the queue's byte budget: its size in the binlog,
/// at least 1 (artificial events have none) and at most the whole budget
/// (an event larger than the budget waits for an empty queue instead of
/// for ever).
pub(crate) fn queue_cost(pos: u64, end_pos: u64, queue_bytes: usize) -> u32 {
    let size = end_pos.saturating_sub(pos).max(1);
    size.min(queue_budget(queue_bytes) as u64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(s: &str) -> Row {
        (s.to_string(), false)
    }

    fn state(c: &Coalesced, k: &str) -> (bool, Option<String>) {
        let s = &c.keys[k];
        (s.expect_exists, s.row.as_ref().map(|r| r.0.clone()))
    }

    #[test]
    fn an_insert_then_a_delete_leaves_the_key_absent_and_expected_absent() {
        let mut c = Coalesced::default();
        c.insert("1".into(), row("(1,'a')"), "f:1");
        c.delete("1".into(), "f:2");
        assert_eq!(state(&c, "1"), (false, None));
        let (exist, absent) = c.expected();
        assert!(exist.is_empty());
        assert_eq!(absent, vec!["1"]);
        assert_eq!(c.final_rows().count(), 0);
        assert_eq!(c.changes, 2);
        assert_eq!(c.keys["1"].first_at, "f:1");
    }

    #[test]
    fn a_delete_then_an_insert_expects_the_row_and_ends_with_the_new_one() {
        let mut c = Coalesced::default();
        c.delete("1".into(), "f:1");
        c.insert("1".into(), row("(1,'b')"), "f:2");
        assert_eq!(state(&c, "1"), (true, Some("(1,'b')".into())));
        assert_eq!(
            c.final_rows().cloned().collect::<Vec<_>>(),
            vec![row("(1,'b')")]
        );
    }

    #[test]
    fn updates_keep_the_last_image_and_the_first_expectation() {
        let mut c = Coalesced::default();
        c.update("1".into(), "1".into(), row("(1,'x')"), "f:1");
        c.update("1".into(), "1".into(), row("(1,'y')"), "f:2");
        assert_eq!(state(&c, "1"), (true, Some("(1,'y')".into())));
        assert_eq!(c.order, vec!["1"]);
    }

    #[test]
    fn a_key_change_moves_the_row_and_a_swap_in_one_batch_ends_as_the_source() {
        // UPDATE t SET id = 3 WHERE id = 1; UPDATE t SET id = 1 WHERE id = 2;
        // UPDATE t SET id = 2 WHERE id = 3: rows 1 and 2 swapped through 3.
        let mut c = Coalesced::default();
        c.update("1".into(), "3".into(), row("(3,'one')"), "f:1");
        c.update("2".into(), "1".into(), row("(1,'two')"), "f:2");
        c.update("3".into(), "2".into(), row("(2,'one')"), "f:3");
        assert_eq!(state(&c, "1"), (true, Some("(1,'two')".into())));
        assert_eq!(state(&c, "2"), (true, Some("(2,'one')".into())));
        // Key 3 was first inserted by the batch: expected absent, ends absent.
        assert_eq!(state(&c, "3"), (false, None));
        let (exist, absent) = c.expected();
        assert_eq!(exist, vec!["1", "2"]);
        assert_eq!(absent, vec!["3"]);
        let rows: Vec<_> = c.final_rows().map(|r| r.0.as_str()).collect();
        assert_eq!(rows, vec!["(1,'two')", "(2,'one')"]);
    }

    #[test]
    fn removed_keys_leave_the_batch_and_its_order() {
        let mut c = Coalesced::default();
        c.insert("1".into(), row("(1)"), "f:1");
        c.insert("2".into(), row("(2)"), "f:2");
        c.insert("3".into(), row("(3)"), "f:3");
        c.remove(&["2".to_string()]);
        assert_eq!(c.order, vec!["1", "3"]);
        assert!(!c.keys.contains_key("2"));
    }

    #[test]
    fn bytes_follow_the_rows_held_and_never_underflow() {
        let mut c = Coalesced::default();
        c.insert("1".into(), row("(1,'aaaaaaaaaa')"), "f:1");
        let full = c.bytes;
        assert_eq!(full, 1 + 32 + "(1,'aaaaaaaaaa')".len());
        c.delete("1".into(), "f:2");
        assert_eq!(c.bytes, 1 + 32);
        c.update("1".into(), "1".into(), row("(1,'b')"), "f:3");
        assert_eq!(c.bytes, 1 + 32 + "(1,'b')".len());
    }

    fn p(file: &str, offset: u64) -> FilePosition {
        FilePosition::new(file, offset)
    }

    fn inputs<'a>() -> CommitInputs<'a> {
        CommitInputs {
            queue_empty: false,
            pending_bytes: 10,
            batch_bytes: 100,
            batch_age: Some(Duration::from_millis(10)),
            commit_interval: Duration::from_millis(500),
            stopped: false,
            boundary: None,
            until: None,
        }
    }

    #[test]
    fn a_batch_commits_when_caught_up_full_old_stopped_or_at_the_stop_position() {
        assert!(
            !inputs().commit_due(),
            "a young small batch with a backlog waits"
        );
        assert!(CommitInputs {
            queue_empty: true,
            ..inputs()
        }
        .commit_due());
        assert!(CommitInputs {
            pending_bytes: 100,
            ..inputs()
        }
        .commit_due());
        assert!(CommitInputs {
            batch_age: Some(Duration::from_millis(500)),
            ..inputs()
        }
        .commit_due());
        assert!(CommitInputs {
            stopped: true,
            ..inputs()
        }
        .commit_due());
        let (b, u) = (p("bin.000002", 4), p("bin.000001", 900));
        assert!(CommitInputs {
            boundary: Some(&b),
            until: Some(&u),
            ..inputs()
        }
        .commit_due());
        let before = p("bin.000001", 899);
        assert!(!CommitInputs {
            boundary: Some(&before),
            until: Some(&u),
            ..inputs()
        }
        .commit_due());
    }

    #[test]
    fn no_commit_inside_a_source_transaction_that_wrote_rows() {
        assert!(!may_commit(true, true));
        assert!(may_commit(true, false));
        assert!(may_commit(false, true));
        assert!(may_commit(false, false));
    }

    #[test]
    fn a_run_is_done_only_with_nothing_uncommitted() {
        let c = p("bin.000001", 500);
        let u = p("bin.000001", 500);
        assert!(done(None, false, Some(&u), &c));
        assert!(
            !done(Some(&c), true, Some(&u), &c),
            "a boundary is still pending"
        );
        assert!(done(None, true, None, &c));
        assert!(!done(None, false, None, &c), "no stop and no end: go on");
        assert!(!done(None, false, Some(&p("bin.000002", 4)), &c));
    }

    #[test]
    fn an_event_costs_its_binlog_bytes_within_the_budget() {
        assert_eq!(queue_cost(100, 400, 1 << 20), 300);
        assert_eq!(queue_cost(100, 100, 1 << 20), 1, "artificial events cost 1");
        assert_eq!(
            queue_cost(0, 10 << 20, 4 << 20),
            4 << 20,
            "never more than the budget"
        );
        assert_eq!(queue_cost(500, 4, 1 << 20), 1, "no underflow");
        assert_eq!(queue_budget(0), 1);
        assert_eq!(queue_budget(usize::MAX), u32::MAX as usize);
    }

    #[test]
    fn the_overlap_window_is_open_until_the_checkpoint_reaches_its_end() {
        let end = p("bin.000002", 100);
        assert!(idempotent(&p("bin.000001", 9999), Some(&end)));
        assert!(idempotent(&p("bin.000002", 99), Some(&end)));
        assert!(!idempotent(&p("bin.000002", 100), Some(&end)));
        assert!(!idempotent(&p("bin.000001", 4), None));
    }
}
