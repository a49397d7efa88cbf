//! Helpers shared by the position modules' tests.

use proptest::prelude::*;

use std::fmt;

use super::*;

pub(super) const U1: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
pub(super) const U2: &str = "4d22ab58-82db-22f2-af44-d91bb0000001";
pub(super) const U3: &str = "00000000-0000-0000-0000-000000000003";

/// Expands the placeholders U1, U2 and U3 to the UUIDs above.
pub(super) fn x(text: &str) -> String {
    text.replace("U1", U1).replace("U2", U2).replace("U3", U3)
}
pub(super) fn uuid(text: &str) -> Uuid {
    text.parse().unwrap()
}
pub(super) fn tag(text: &str) -> Tag {
    text.parse().unwrap()
}
pub(super) fn set(text: &str) -> GtidSet {
    x(text).parse().unwrap()
}
pub(super) fn fpos(text: &str) -> FilePosition {
    text.parse().unwrap()
}

/// An error as (variant name, text, at), for table-driven tests.
pub(super) fn parts<T: fmt::Debug>(r: Result<T>) -> (String, String, usize) {
    use PositionParseError as E;
    let e = r.unwrap_err();
    let name = format!("{e:?}")
        .split([' ', '{'])
        .next()
        .unwrap()
        .to_owned();
    let (text, at) = match e {
        E::InvalidFilePosition { text, at, .. }
        | E::InvalidUuid { text, at }
        | E::InvalidTag { text, at }
        | E::InvalidInterval { text, at }
        | E::InvalidGno { text, at }
        | E::Unexpected { text, at, .. }
        | E::InvalidMariadbGtid { text, at }
        | E::DuplicateDomain { text, at, .. }
        | E::DuplicateServer { text, at, .. } => (text, at),
        E::GnoOutOfRange { .. } => (String::new(), 0),
    };
    (name, text, at)
}
pub(super) fn kind<T: fmt::Debug>(r: Result<T>) -> String {
    parts(r).0
}

pub(super) fn any_set() -> impl Strategy<Value = GtidSet> {
    let len = prop_oneof![0..10u64, any::<u64>()];
    let tags = prop::option::of("[a-zA-Z_][a-zA-Z0-9_]{0,31}");
    let entry = (any::<[u8; 16]>(), tags, 1..=MAX_GNO, len);
    prop::collection::vec(entry, 0..8).prop_map(|entries| {
        let mut s = GtidSet::new();
        for (bytes, t, start, len) in entries {
            let end = start.saturating_add(len).min(MAX_GNO) + 1;
            let t = t.map(|t| tag(&t));
            s.add_range(Uuid::from_bytes(bytes), t.as_ref(), start..end)
                .unwrap();
        }
        s
    })
}
