//! The GTID state after each event (`binlog_reader::position::GtidTracker`)
//! computed while decoding MySQL 8.4 binlog files written by
//! `dts_test_support::mysql_binlog`: PREVIOUS_GTIDS with gaps and tags,
//! GTIDs out of order across UUIDs, DDL, compressed transactions and a
//! rotation. Each transaction's GTID must enter the state exactly at the
//! event that ends it (design rule 2), and the state must equal the
//! writer's own account of what was executed.

use binlog_reader::position::{Boundary, GtidSet as Ours, GtidState, GtidTrackError, GtidTracker};
use binlog_reader::{Decoder, Event, EventBody, Step};
use dts_test_support::mysql_binlog::*;

const U1: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const U2: &str = "4d22ab58-82db-22f2-af44-d91bb0000001";
const U3: &str = "00000000-0000-0000-0000-000000000003";

/// Decodes a whole file.
fn decode(name: &str, bytes: &[u8]) -> Vec<Event> {
    let mut d = Decoder::for_file(Some(name.into()));
    let mut rest = bytes;
    let mut out = Vec::new();
    loop {
        match d.decode(rest).unwrap_or_else(|e| panic!("{name}: {e}")) {
            Step::Magic { consumed } => rest = &rest[consumed..],
            Step::Event { event, consumed } => {
                out.push(event);
                rest = &rest[consumed..];
            }
            Step::NeedMore { .. } => return out,
        }
    }
}

/// The writer's set as ours, through its MySQL text.
fn ours(set: &GtidSet) -> Ours {
    set.to_string().parse().unwrap()
}

/// The tracker's state as text (MySQL states only).
fn state_text(t: &GtidTracker) -> String {
    match t.state() {
        GtidState::Mysql(set) => set.to_string(),
        other => panic!("not a MySQL state: {other:?}"),
    }
}

fn table() -> TableDef {
    TableDef::new("d", "t", 11)
        .col("id", ColumnType::Int { unsigned: false })
        .primary_key(&["id"])
}

/// Writes a transaction of one row; returns where it ends.
fn insert(f: &mut BinlogFile, gtid: Gtid, id: i64, compressed: bool) -> u64 {
    let mut tx = f.transaction(gtid);
    tx.insert(&table(), vec![vec![Value::Int(id)]]);
    let committed = if compressed {
        tx.commit_compressed()
    } else {
        tx.commit()
    };
    committed.end
}

/// Two files: the first starts after files that left gaps (GNO 6, 8 and 9
/// of U1, tag_a's 4 to 8) and commits GTIDs out of order across UUIDs,
/// filling some gaps and making others; the second follows a rotation and
/// is left open (a test may rotate again).
/// Returns the set and, per file, the GTIDs in commit order with the
/// offset just past each transaction.
fn files() -> (BinlogSet, Vec<Vec<(Gtid, u64)>>) {
    let mut previous = GtidSet::new();
    for (uuid, tag, start, end) in [
        (U1, None, 1, 5),
        (U1, None, 7, 7),
        (U1, None, 10, 12),
        (U1, Some("tag_a"), 1, 3),
        (U1, Some("tag_a"), 9, 9),
        (U2, None, 2, 2),
    ] {
        previous.add_interval(parse_uuid(uuid), tag, start, end);
    }
    let options = FileOptions {
        previous_gtids: previous,
        ..FileOptions::default()
    };
    let mut set = BinlogSet::with_options(MySqlVersion::V8_4_3, "binlog", 7, options);
    let mut commits = vec![Vec::new(), Vec::new()];
    let f = set.current();
    for (i, (gtid, compressed)) in [
        (Gtid::uuid(U2, 5), false),
        (Gtid::uuid(U1, 6), false),
        (Gtid::tagged(U1, "tag_a", 5), true),
        (Gtid::uuid(U3, 1), false),
        (Gtid::uuid(U1, 20), false),
    ]
    .into_iter()
    .enumerate()
    {
        let end = insert(f, gtid.clone(), i as i64, compressed);
        commits[0].push((gtid, end));
    }
    let ddl = Gtid::uuid(U2, 3);
    let end = f
        .ddl(ddl.clone(), "d", "CREATE TABLE u (id INT PRIMARY KEY)")
        .end;
    commits[0].push((ddl, end));
    let f = set.rotate();
    for (i, gtid) in [
        Gtid::uuid(U1, 9),
        Gtid::tagged(U1, "tag_a", 4),
        Gtid::uuid(U2, 4),
    ]
    .into_iter()
    .enumerate()
    {
        let end = insert(f, gtid.clone(), 100 + i as i64, false);
        commits[1].push((gtid, end));
    }
    (set, commits)
}

#[test]
fn mysql_gtid_sets_with_gaps_through_the_decoder_enter_the_state_at_commit() {
    let (set, commits) = files();
    let files = set.files();
    let mut tracker = GtidTracker::new(GtidState::None);
    // The writer's account: the first file's PREVIOUS_GTIDS, then each
    // transaction's GTID once it is written.
    let mut expected = files[0].1.previous_gtids().clone();
    for ((name, file), commits) in files.iter().zip(&commits) {
        let mut commits = commits.iter();
        let mut next = commits.next();
        for event in decode(name, file.bytes()) {
            let before = tracker.state().clone();
            let boundary = tracker.observe(&event).unwrap();
            match &event.body {
                EventBody::PreviousGtids(p) => {
                    assert_eq!(boundary, Boundary::Between);
                    // The second file's PREVIOUS_GTIDS is everything so far.
                    assert_eq!(p.gtid_set, ours(&expected), "{name}");
                    assert_eq!(state_text(&tracker), expected.to_string(), "{name}");
                }
                // Never at the GTID event.
                EventBody::Gtid(_) => {
                    assert_eq!(boundary, Boundary::Inside);
                    assert_eq!(tracker.state(), &before);
                }
                _ => {}
            }
            if boundary == Boundary::Commit {
                let (gtid, end) = next.expect("a commit the writer did not write");
                assert_eq!(event.end_pos, *end, "{name}: {gtid} ends here");
                expected.add(gtid);
                assert_eq!(state_text(&tracker), expected.to_string(), "after {gtid}");
                next = commits.next();
            } else if !matches!(event.body, EventBody::PreviousGtids(_)) {
                assert_eq!(tracker.state(), &before, "{name} at {}", event.pos);
            }
        }
        assert!(next.is_none(), "{name}: a transaction without a commit");
        assert!(!tracker.in_transaction());
    }
    // The gaps that remain, exactly.
    assert_eq!(
        state_text(&tracker),
        format!("{U3}:1,{U1}:1-7:9-12:20:tag_a:1-5:9,{U2}:2-5")
    );
    let mut all = files[0].1.previous_gtids().clone();
    all.extend(files[0].1.executed_gtids());
    all.extend(files[1].1.executed_gtids());
    assert_eq!(state_text(&tracker), all.to_string());
}

#[test]
fn a_missing_binlog_file_is_a_gap_that_names_its_gtids() {
    let (mut set, _) = files();
    // A third file; then the second is left out.
    let third = set.rotate();
    insert(third, Gtid::uuid(U1, 30), 1, false);
    let files = set.files();
    let mut tracker = GtidTracker::new(GtidState::None);
    for event in decode(&files[0].0, files[0].1.bytes()) {
        tracker.observe(&event).unwrap();
    }
    let third = decode(&files[2].0, files[2].1.bytes());
    let mut error = None;
    for event in &third {
        if let Err(e) = tracker.observe(event) {
            error = Some(e);
            break;
        }
    }
    let Some(GtidTrackError::MysqlGap { at, missing }) = error else {
        panic!("expected a gap, got {error:?}");
    };
    // At the third file's PREVIOUS_GTIDS, which follows its
    // FORMAT_DESCRIPTION.
    assert!(matches!(third[1].body, EventBody::PreviousGtids(_)));
    assert_eq!(at, format!("binlog.000009:{}", third[1].pos));
    // Exactly the second file's transactions, with their gaps.
    assert_eq!(missing.to_string(), format!("{U1}:9:tag_a:4,{U2}:4"));
    assert_eq!(missing, ours(files[1].1.executed_gtids()));
}

#[test]
fn a_file_cut_inside_a_transaction_is_refused_at_the_next_file() {
    let (set, commits) = files();
    let files = set.files();
    // The first file cut in the middle of its third transaction (the
    // compressed one), as a crash could leave it.
    let cut = (commits[0][1].1 + commits[0][2].1) as usize / 2;
    let mut tracker = GtidTracker::new(GtidState::None);
    for event in decode(&files[0].0, &files[0].1.bytes()[..cut]) {
        tracker.observe(&event).unwrap();
    }
    assert!(tracker.in_transaction());
    let committed = format!("{U1}:1-7:10-12:tag_a:1-3:9,{U2}:2:5");
    assert_eq!(state_text(&tracker), committed);
    let events = decode(&files[1].0, files[1].1.bytes());
    let e = tracker.observe(&events[1]).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&format!(
            "PREVIOUS_GTIDS while GTID {U1}:tag_a:5 has not ended (no XID or COMMIT)"
        )),
        "{msg}"
    );
    // The state stays at the last complete transaction.
    assert_eq!(state_text(&tracker), committed);
}
