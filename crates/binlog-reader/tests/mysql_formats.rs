//! MySQL-only formats, which no server here can write: events built with
//! mysql_common's serializers (an independent implementation of MySQL's
//! layouts) and decoded by ours. MySQL 8.4 tagged GTIDs, tagged
//! PREVIOUS_GTIDS, and a zstd TRANSACTION_PAYLOAD with a transaction inside.

use binlog_reader::{Decoder, EventBody, Step};
use mysql_common::binlog::consts::{
    BinlogVersion, EventFlags, EventType, TransactionPayloadCompressionType,
};
use mysql_common::binlog::events::{
    BinlogEventHeader, FormatDescriptionEvent, GtidEvent, PreviousGtidsEvent, PreviousGtidsSid,
    TransactionPayloadEvent,
};
use mysql_common::packets::{GnoInterval, Tag};
use mysql_common::proto::MySerialize;

const SID: [u8; 16] = [
    0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62,
];

/// A whole event: header, body and (with `crc`) a CRC32 of both.
fn event(t: EventType, body: &[u8], crc: bool, log_pos: u32) -> Vec<u8> {
    let size = 19 + body.len() + if crc { 4 } else { 0 };
    let h = BinlogEventHeader::new(
        1_700_000_000,
        t,
        1,
        size as u32,
        log_pos,
        EventFlags::empty(),
    );
    let mut out = Vec::new();
    h.serialize(&mut out);
    out.extend_from_slice(body);
    if crc {
        let c = crc32fast::hash(&out);
        out.extend_from_slice(&c.to_le_bytes());
    }
    out
}

/// A MySQL 8.4 binlog file start: magic and a FORMAT_DESCRIPTION with CRC32.
fn file_start() -> Vec<u8> {
    let fde =
        FormatDescriptionEvent::new(BinlogVersion::Version4).with_server_version(&b"8.4.3"[..]);
    let mut body = Vec::new();
    fde.serialize(&mut body);
    body.push(1); // checksum algorithm: CRC32 (the CRC32 follows)
    let mut out = b"\xfebin".to_vec();
    out.extend(event(EventType::FORMAT_DESCRIPTION_EVENT, &body, true, 0));
    out
}

fn decode_all(bytes: &[u8]) -> Vec<binlog_reader::Event> {
    let mut d = Decoder::for_file(Some("binlog.000001".into()));
    let mut rest = bytes;
    let mut out = Vec::new();
    loop {
        match d.decode(rest).unwrap_or_else(|e| panic!("decode: {e}")) {
            Step::Magic { consumed } => rest = &rest[consumed..],
            Step::Event { event, consumed } => {
                out.push(event);
                rest = &rest[consumed..];
            }
            Step::NeedMore { .. } => {
                assert!(rest.is_empty(), "{} bytes left undecoded", rest.len());
                return out;
            }
        }
    }
}

#[test]
fn tagged_gtid_and_tagged_previous_gtids_of_mysql_8_4() {
    let mut bytes = file_start();
    let prev = PreviousGtidsEvent::new(vec![
        PreviousGtidsSid::new(SID, None, vec![GnoInterval::new(1, 6)]),
        PreviousGtidsSid::new(
            SID,
            Some(Tag::new("tag_a").expect("tag")),
            vec![GnoInterval::new(1, 3), GnoInterval::new(7, 8)],
        ),
    ]);
    let mut body = Vec::new();
    prev.serialize(&mut body);
    bytes.extend(event(EventType::PREVIOUS_GTIDS_EVENT, &body, true, 0));
    let gtid = GtidEvent::new_tagged(SID, Tag::new("tag_a").expect("tag"), 42)
        .with_last_committed(7)
        .with_sequence_number(8)
        .with_immediate_commit_timestamp(1_700_000_000_123_456)
        .with_original_commit_timestamp(1_700_000_000_000_001)
        .with_tx_length(1234)
        .with_immediate_server_version(80403)
        .with_original_server_version(80036);
    let mut body = Vec::new();
    gtid.serialize(&mut body);
    bytes.extend(event(gtid.event_type(), &body, true, 0));

    let evs = decode_all(&bytes);
    let EventBody::PreviousGtids(p) = &evs[1].body else {
        panic!("{:?}", evs[1].body)
    };
    assert_eq!(
        p.gtid_set.to_string(),
        "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:tag_a:1-2:7"
    );
    let EventBody::Gtid(g) = &evs[2].body else {
        panic!("{:?}", evs[2].body)
    };
    assert_eq!(g.tag.as_deref(), Some("tag_a"));
    assert_eq!(g.sid.to_string(), "3e11fa47-71ca-11e1-9e33-c80aa9429562");
    assert_eq!(g.gno, 42);
    assert_eq!((g.last_committed, g.sequence_number), (Some(7), Some(8)));
    assert_eq!(g.immediate_commit_timestamp, Some(1_700_000_000_123_456));
    assert_eq!(g.original_commit_timestamp, Some(1_700_000_000_000_001));
    assert_eq!(g.transaction_length, Some(1234));
    assert_eq!(
        (g.immediate_server_version, g.original_server_version),
        (Some(80403), Some(80036))
    );
}

#[test]
fn zstd_transaction_payload_with_its_events_inside() {
    let mut bytes = file_start();
    // Inside a payload, events have no checksum.
    let mut inner = Vec::new();
    let gtid = GtidEvent::new(SID, 9)
        .with_lc_typecode()
        .with_last_committed(1)
        .with_sequence_number(2);
    let mut body = Vec::new();
    gtid.serialize(&mut body);
    inner.extend(event(EventType::GTID_EVENT, &body, false, 0));
    inner.extend(event(EventType::XID_EVENT, &77u64.to_le_bytes(), false, 0));
    let compressed = zstd::encode_all(&inner[..], 3).expect("zstd");
    let tpe = TransactionPayloadEvent::new(
        compressed.len() as u64,
        TransactionPayloadCompressionType::ZSTD,
        inner.len() as u64,
        compressed,
    );
    let mut body = Vec::new();
    tpe.serialize(&mut body);
    bytes.extend(event(EventType::TRANSACTION_PAYLOAD_EVENT, &body, true, 0));

    let evs = decode_all(&bytes);
    let EventBody::TransactionPayload(p) = &evs[1].body else {
        panic!("{:?}", evs[1].body)
    };
    assert_eq!(p.compression_type, 0);
    assert_eq!(p.uncompressed_size, inner.len() as u64);
    assert_eq!(p.events.len(), 2);
    let EventBody::Gtid(g) = &p.events[0].body else {
        panic!("{:?}", p.events[0].body)
    };
    assert_eq!(
        (g.gno, g.last_committed, g.sequence_number),
        (9, Some(1), Some(2))
    );
    assert!(matches!(p.events[1].body, EventBody::Xid(ref x) if x.xid == 77));

    // A payload that declares more bytes than it holds is an error, not a
    // silently dropped transaction (mysql_async's behaviour).
    let mut bad = file_start();
    let compressed = zstd::encode_all(&inner[..], 3).expect("zstd");
    let tpe = TransactionPayloadEvent::new(
        compressed.len() as u64,
        TransactionPayloadCompressionType::ZSTD,
        inner.len() as u64 + 10,
        compressed,
    );
    let mut body = Vec::new();
    tpe.serialize(&mut body);
    bad.extend(event(EventType::TRANSACTION_PAYLOAD_EVENT, &body, true, 0));
    let mut d = Decoder::for_file(None);
    let mut rest = &bad[..];
    let err = loop {
        match d.decode(rest) {
            Ok(Step::Magic { consumed }) | Ok(Step::Event { consumed, .. }) => {
                rest = &rest[consumed..]
            }
            Ok(Step::NeedMore { .. }) => panic!("the bad payload was accepted"),
            Err(e) => break e,
        }
    };
    assert!(err.to_string().contains("declares"), "{err}");
}
