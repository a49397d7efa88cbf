//! Golden tests of the stored form of checkpoint positions
//! (`binlog_reader::position::SavedPosition`): each case's text is pinned in
//! `tests/golden/saved_positions.txt`, so that any change of the format is
//! a visible diff of that file (and needs a new format version: stored
//! checkpoints of running tasks must stay readable).

use binlog_reader::position::{
    FilePosition, GtidSet, GtidState, MariadbGtidPosition, SavedPosition, SourceIdentity, Uuid,
};

const GOLDEN: &str = include_str!("golden/saved_positions.txt");

fn uuid(text: &str) -> Uuid {
    text.parse().unwrap()
}

fn position(file: &str, offset: u64, source: SourceIdentity, gtid: GtidState) -> SavedPosition {
    SavedPosition::new(FilePosition::new(file, offset), source, gtid).unwrap()
}

/// The cases, by name.
fn cases() -> Vec<(&'static str, SavedPosition)> {
    let mysql = SourceIdentity::Mysql {
        server_uuid: uuid("3e11fa47-71ca-11e1-9e33-c80aa9429562"),
        server_id: 1,
    };
    let set = |text: &str| GtidState::Mysql(text.parse::<GtidSet>().unwrap());
    let mariadb = |text: &str| GtidState::Mariadb(text.parse::<MariadbGtidPosition>().unwrap());
    vec![
        (
            "mysql_gtids_with_gaps_and_tags",
            position(
                "binlog.000003",
                157,
                mysql,
                set(
                    "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7:9-12:tag_a:1-3:5,\
                     4d22ab58-82db-22f2-af44-d91bb0000001:2",
                ),
            ),
        ),
        (
            "mysql_empty_gtid_set",
            position("binlog.000001", 4, mysql, set("")),
        ),
        (
            "mysql_gtid_mode_off",
            position("mysql-bin.1000000", 4, mysql, GtidState::None),
        ),
        (
            "mariadb_several_domains_out_of_order",
            position(
                "mariadb-bin.000002",
                1234,
                SourceIdentity::Mariadb { server_id: 2 },
                mariadb("5-3-7,0-1-100,2-1-3"),
            ),
        ),
        (
            "mariadb_empty_position",
            position(
                "mariadb-bin.000001",
                4,
                SourceIdentity::Mariadb { server_id: 1 },
                mariadb(""),
            ),
        ),
        (
            "file_past_4_gib_named_with_quotes",
            position(
                "bin \"q\" é.000001",
                5_000_000_000,
                SourceIdentity::Mariadb {
                    server_id: 4_294_967_295,
                },
                GtidState::None,
            ),
        ),
    ]
}

#[test]
fn the_stored_form_is_pinned_by_golden_text() {
    let golden: Vec<(&str, &str)> = GOLDEN
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once(" = ").expect("golden lines are `name = text`"))
        .collect();
    let cases = cases();
    assert_eq!(
        golden.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        cases.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        "the golden file lists the cases in order"
    );
    for ((name, position), (_, text)) in cases.iter().zip(&golden) {
        assert_eq!(
            &position.to_string(),
            text,
            "{name}: the stored form changed; if on purpose, a new version is needed"
        );
        assert_eq!(&SavedPosition::parse(text).unwrap(), position, "{name}");
    }
}
