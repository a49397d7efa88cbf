//! Entry points for the fuzz targets in `fuzz/` and the fuzz smoke test:
//! each drives one decoder entry point over arbitrary bytes. They return
//! nothing; the property is that they return at all (no panic, no hang, no
//! unbounded allocation).

use crate::decoder::{Decoder, Step};
use crate::event::{ChecksumAlg, Limits};
use crate::types::{ColumnInfo, ColumnType};

/// Small limits, so that a fuzzer finds over-allocation instead of running
/// out of memory legitimately.
fn limits() -> Limits {
    Limits {
        max_event_size: 16 << 20,
        max_uncompressed_size: 16 << 20,
        max_row_values: 1 << 20,
    }
}

/// Feeds `data` as a binlog file, as far as it decodes.
pub fn decode_all_file(data: &[u8]) {
    let mut d = Decoder::for_file(Some("fuzz-bin.000001".into())).with_limits(limits());
    let mut rest = data;
    loop {
        match d.decode(rest) {
            Ok(Step::Magic { consumed }) | Ok(Step::Event { consumed, .. }) => {
                // Progress is required: a step that consumes nothing is a bug.
                assert!(consumed > 0, "a decode step consumed nothing");
                rest = rest.get(consumed..).unwrap_or_default();
            }
            Ok(Step::NeedMore { needed }) => {
                assert!(needed > rest.len(), "NeedMore with enough input");
                return;
            }
            Err(_) => return,
        }
    }
}

/// Feeds `data` as a sequence of stream events; the first byte chooses the
/// negotiated checksum.
pub fn decode_all_stream(data: &[u8]) {
    let (first, mut rest) = match data.split_first() {
        Some((f, r)) => (*f, r),
        None => return,
    };
    let alg = if first & 1 == 1 {
        ChecksumAlg::Crc32
    } else {
        ChecksumAlg::Off
    };
    let mut d = Decoder::for_stream(Some("fuzz-bin.000001".into()), 4, alg)
        .with_limits(limits())
        .verify_checksums(first & 2 == 0);
    loop {
        match d.decode(rest) {
            Ok(Step::Magic { consumed }) | Ok(Step::Event { consumed, .. }) => {
                assert!(consumed > 0, "a decode step consumed nothing");
                rest = rest.get(consumed..).unwrap_or_default();
            }
            Ok(Step::NeedMore { .. }) | Err(_) => return,
        }
    }
}

/// One row value: byte 0 is the column type, bytes 1-2 the metadata, byte 3
/// the signedness and collation choice; the rest is the value.
pub fn row_value(data: &[u8]) {
    let [t, m0, m1, flags, rest @ ..] = data else {
        return;
    };
    let mut col = ColumnInfo::new(ColumnType(*t), u16::from_le_bytes([*m0, *m1]));
    col.unsigned = match flags & 3 {
        0 => None,
        1 => Some(true),
        _ => Some(false),
    };
    if flags & 4 != 0 {
        col.collation = Some(63);
    }
    if let Ok((_, used)) = crate::value::decode_value_bytes(rest, &col) {
        assert!(used <= rest.len(), "a value used more bytes than it had");
    }
}

/// MySQL binary JSON (byte 0 even) or JSON diffs (odd).
pub fn json(data: &[u8]) {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    if first & 1 == 0 {
        let _ = crate::jsonb::json_binary_to_text(rest, 0);
    } else {
        let _ = crate::jsonb::decode_json_diffs(rest, 0);
    }
}

/// Position text: GTID sets, MariaDB positions and file positions, and the
/// display of what parsed must parse back to the same value.
pub fn gtid_text(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(g) = crate::position::GtidSet::parse(s) {
        let again = crate::position::GtidSet::parse(&g.to_string());
        assert_eq!(
            again.ok().as_ref(),
            Some(&g),
            "GTID set display does not parse back"
        );
    }
    if let Ok(p) = crate::position::MariadbGtidPosition::parse(s) {
        let again = crate::position::MariadbGtidPosition::parse(&p.to_string());
        assert_eq!(
            again.ok().as_ref(),
            Some(&p),
            "MariaDB position display does not parse back"
        );
    }
    let _ = s.parse::<crate::position::FilePosition>();
}
