#![allow(missing_docs)]
//! Decode throughput (MB/s and events/s) of our decoder, side by side with
//! mysql_common's parser on the same bytes, doing the same work: every event
//! framed and parsed, and every row of every rows event decoded to values.
//!
//! The binlog comes from the test server: `benches/gen-binlog.sh` writes it to
//! `target/bench/bench.binlog` (or set `DTS_BENCH_BINLOG`).

use std::io::Cursor;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn binlog() -> Vec<u8> {
    let path = std::env::var("DTS_BENCH_BINLOG").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench/bench.binlog").to_string()
    });
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{path}: {e}. Generate it with benches/gen-binlog.sh (needs scripts/testenv up).")
    })
}

/// Ours: returns (events, rows).
fn ours(bytes: &[u8]) -> (u64, u64) {
    use binlog_reader::{Decoder, EventBody, Step};
    let mut d = Decoder::for_file(None);
    let mut rest = bytes;
    let (mut events, mut rows) = (0u64, 0u64);
    loop {
        match d.decode(rest).expect("decode") {
            Step::Magic { consumed } => rest = &rest[consumed..],
            Step::Event { event, consumed } => {
                rest = &rest[consumed..];
                events += 1;
                if let EventBody::Rows(r) = &event.body {
                    rows += r.rows.len() as u64;
                }
            }
            Step::NeedMore { .. } => break,
        }
    }
    (events, rows)
}

/// mysql_common: returns (events, rows).
fn theirs(bytes: &[u8]) -> (u64, u64) {
    use mysql_common::binlog::consts::BinlogVersion;
    use mysql_common::binlog::events::EventData;
    use mysql_common::binlog::EventStreamReader;
    let mut esr = EventStreamReader::new(BinlogVersion::Version4);
    let mut input = Cursor::new(&bytes[4..]);
    let (mut events, mut rows) = (0u64, 0u64);
    while let Some(ev) = esr.read(&mut input).expect("read") {
        events += 1;
        if let Ok(Some(EventData::RowsEvent(re))) = ev.read_data() {
            if let Some(tme) = esr.get_tme(re.table_id()) {
                for row in re.rows(tme) {
                    let (before, after) = row.expect("row");
                    // Touch every value so that it is decoded.
                    for r in [before, after].into_iter().flatten() {
                        for i in 0..r.len() {
                            std::hint::black_box(r.as_ref(i));
                        }
                    }
                    rows += 1;
                }
            }
        }
    }
    (events, rows)
}

fn bench(c: &mut Criterion) {
    let bytes = binlog();
    let (e1, r1) = ours(&bytes);
    let (e2, r2) = theirs(&bytes);
    eprintln!(
        "binlog: {:.1} MB; ours: {e1} events, {r1} rows; mysql_common: {e2} events, {r2} rows",
        bytes.len() as f64 / 1e6
    );
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(10);
    g.bench_function("dts binlog-reader", |b| b.iter(|| ours(&bytes)));
    g.bench_function("mysql_common", |b| b.iter(|| theirs(&bytes)));
    g.finish();
    let mut g = c.benchmark_group("decode-events");
    g.throughput(Throughput::Elements(e1));
    g.sample_size(10);
    g.bench_function("dts binlog-reader", |b| b.iter(|| ours(&bytes)));
    g.throughput(Throughput::Elements(e2));
    g.bench_function("mysql_common", |b| b.iter(|| theirs(&bytes)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
