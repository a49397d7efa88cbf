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

/// Position text: GTID sets, MariaDB positions and binlog states, file
/// positions, stored checkpoint positions; the display of what parsed must parse back to the same value.
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
    if let Ok(st) = crate::position::MariadbBinlogState::parse(s) {
        let again = crate::position::MariadbBinlogState::parse(&st.to_string());
        assert_eq!(
            again.ok().as_ref(),
            Some(&st),
            "MariaDB binlog state display does not parse back"
        );
    }
    if let Ok(p) = crate::position::SavedPosition::parse(s) {
        let again = crate::position::SavedPosition::parse(&p.to_string());
        assert_eq!(
            again.ok().as_ref(),
            Some(&p),
            "a stored position does not parse back"
        );
    }
    let _ = s.parse::<crate::position::FilePosition>();
}

/// Post-header lengths of a MariaDB 10.11 FORMAT_DESCRIPTION (as the server
/// writes them), used for the synthetic format description of
/// [`event_body`]. (Indexing here runs at compile time: an out-of-bounds
/// index would fail the build, not panic.)
#[allow(clippy::indexing_slicing)]
const MARIADB_POST_HEADER: [u8; 171] = {
    let mut a = [0u8; 171];
    let head: [u8; 41] = [
        56, 13, 0, 8, 0, 18, 0, 4, 4, 4, 4, 18, 0, 0, 228, 0, 4, 26, 8, 0, 0, 0, 8, 8, 8, 2, 0, 0,
        0, 10, 10, 10, 0, 0, 0, 0, 0, 0, 10, 10, 10,
    ];
    let tail: [u8; 11] = [4, 19, 4, 0, 13, 8, 8, 8, 10, 10, 10];
    let mut i = 0;
    while i < head.len() {
        a[i] = head[i];
        i += 1;
    }
    let mut j = 0;
    while j < tail.len() {
        a[160 + j] = tail[j];
        j += 1;
    }
    a
};

fn synthetic_event(t: u8, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(19 + body.len()).unwrap_or(u32::MAX);
    let mut v = Vec::with_capacity(19 + body.len());
    v.extend_from_slice(&1u32.to_le_bytes());
    v.push(t);
    v.extend_from_slice(&1u32.to_le_bytes());
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&0u16.to_le_bytes());
    v.extend_from_slice(body);
    v
}

/// One event body of any type after a synthetic FORMAT_DESCRIPTION (byte 0:
/// bit 0 picks a MySQL 8.4 or MariaDB 10.11 server, bits 1.. how many of the
/// following events are table maps fed first), so every body decoder is
/// reached without first guessing a valid header. Input: `[flags, (type,
/// len_lo, len_hi, body...)...]`.
pub fn event_body(data: &[u8]) {
    let Some((flags, mut rest)) = data.split_first() else {
        return;
    };
    let version: &[u8] = if flags & 1 == 0 {
        b"10.11.19-MariaDB-log"
    } else {
        b"8.4.3"
    };
    let mut fde = Vec::new();
    fde.extend_from_slice(&4u16.to_le_bytes());
    let mut ver = version.to_vec();
    ver.resize(50, 0);
    fde.extend_from_slice(&ver);
    fde.extend_from_slice(&0u32.to_le_bytes());
    fde.push(19);
    fde.extend_from_slice(&MARIADB_POST_HEADER);
    fde.push(0); // no checksums
    fde.extend_from_slice(&[0; 4]);
    let mut d = Decoder::for_stream(None, 4, ChecksumAlg::Off).with_limits(limits());
    let _ = d.decode(&synthetic_event(15, &fde));
    // Up to 8 events, each `type, length (2 bytes LE), body`.
    for _ in 0..8 {
        let [t, lo, hi, tail @ ..] = rest else {
            return;
        };
        let n = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (body, after) = tail.split_at(n);
        rest = after;
        let _ = d.decode(&synthetic_event(*t, body));
    }
}
