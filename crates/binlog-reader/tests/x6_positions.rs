//! X6: positions past 4 GiB inside one binlog file. The events' 32-bit
//! `end_log_pos` wraps there; the stream decoder widens it with its running
//! offset. Real files' events (MySQL 8.0's and MariaDB's, from the
//! mariadb-test-data package) are replayed as a server would stream them
//! from an offset just below 4 GiB: each event's `end_log_pos` rewritten to
//! its offset there modulo 2^32 (and its CRC32 recomputed), so that the file
//! crosses the 4 GiB boundary in its middle. Every position the decoder
//! reports must be the 64-bit one (the FORMAT_DESCRIPTION aside: beyond
//! offset 4 a stream's FORMAT_DESCRIPTION is the resent one, which has
//! none).

use binlog_reader::event::ChecksumAlg;
use binlog_reader::{Decoder, Step};

const STD_DATA: &str = "/usr/share/mysql/mysql-test/std_data";

/// The events of a binlog file: (offset, bytes).
fn events(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    assert_eq!(bytes.get(..4), Some(&b"\xfebin"[..]), "a binlog file");
    let mut out = Vec::new();
    let mut at = 4usize;
    while at + 19 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 9..at + 13].try_into().expect("4 bytes")) as usize;
        assert!(
            len >= 19 && at + len <= bytes.len(),
            "a whole event at {at}"
        );
        out.push((at as u64, bytes[at..at + len].to_vec()));
        at += len;
    }
    out
}

fn replay_past_4_gib(name: &str) -> usize {
    let path = format!("{STD_DATA}/{name}");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{path}: {e}. Install the package mariadb-test-data (scripts/ensure-mariadb does)")
    });
    let evs = events(&bytes);
    // The boundary falls in the middle of the file.
    let base: u64 = (1 << 32) - bytes.len() as u64 / 2;
    let with_crc = |e: &[u8]| {
        let n = e.len();
        n > 23 && crc32fast::hash(&e[..n - 4]).to_le_bytes() == e[n - 4..]
    };
    let checksum = if evs.iter().any(|(_, e)| with_crc(e)) {
        ChecksumAlg::Crc32
    } else {
        ChecksumAlg::Off
    };
    let mut d = Decoder::for_stream(Some(name.to_string()), base + 4, checksum);
    let mut crossed = 0;
    for (at, mut e) in evs {
        let crc = with_crc(&e);
        let end = base + at + e.len() as u64;
        e[13..17].copy_from_slice(&((end & 0xffff_ffff) as u32).to_le_bytes());
        if crc {
            let n = e.len();
            let sum = crc32fast::hash(&e[..n - 4]).to_le_bytes();
            e[n - 4..].copy_from_slice(&sum);
        }
        match d.decode(&e) {
            Ok(Step::Event { event, consumed }) => {
                assert_eq!(consumed, e.len(), "{name} at {at}");
                if event.header.event_type == binlog_reader::EventType::FORMAT_DESCRIPTION {
                    // Past offset 4 a FORMAT_DESCRIPTION is the one a server
                    // resends when a stream starts mid-file: no position.
                    continue;
                }
                assert_eq!(
                    (event.pos, event.end_pos),
                    (base + at, end),
                    "{name}: the event at {at} ({:?})",
                    event.header.event_type
                );
                if event.pos < 1 << 32 && event.end_pos > 1 << 32 || event.pos > 1 << 32 {
                    crossed += 1;
                }
            }
            other => panic!("{name} at {at}: {other:?}"),
        }
    }
    assert!(crossed > 0, "{name}: no event past 4 GiB");
    crossed
}

#[test]
fn x6_mysql_80_events_streamed_past_4_gib_keep_64_bit_positions() {
    replay_past_4_gib("mdev35643_mysql_80_binlog.000001");
}

#[test]
fn x6_mariadb_events_streamed_past_4_gib_keep_64_bit_positions() {
    replay_past_4_gib("binlog_transaction.000001");
    replay_past_4_gib("mdev-4645-binlog_checksum.binlog");
}
