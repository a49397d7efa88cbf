//! The delay line (benches/network.sh's latency harness) adds its round trip
//! to every exchange and passes bytes exactly, in both directions.

use std::time::{Duration, Instant};

use dts_test_support::delay::DelayLine;
use dts_test_support::{opts, Server};
use mysql_async::prelude::*;

/// Pseudo-random bytes with every byte value in them.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i < 256 {
                i as u8
            } else {
                x as u8
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delay_line_adds_its_round_trip_and_passes_bytes_exactly() {
    let port = opts(Server::Source, None).tcp_port();
    // 3 MiB each way: many chunks of the line, queued behind one another.
    let blob = noise(3 << 20);
    for rtt_ms in [0u64, 10] {
        let rtt = Duration::from_millis(rtt_ms);
        let line = DelayLine::start(0, "127.0.0.1", port, rtt).expect("delay line");
        let url = format!("mysql://root@127.0.0.1:{}?prefer_socket=false", line.port);
        let mut c = mysql_async::Conn::from_url(url.as_str())
            .await
            .expect("connecting through the delay line");

        // Each statement is one round trip, so N of them take at least N
        // times the delay (a lower bound: no assumption on the machine's speed).
        let n = 5u32;
        let t0 = Instant::now();
        for _ in 0..n {
            c.query_drop("DO 1").await.expect("DO 1");
        }
        let took = t0.elapsed();
        assert!(
            took >= rtt * n,
            "{n} round trips through a {rtt_ms} ms line took {took:?}"
        );

        let back: Option<Vec<u8>> = c
            .exec_first("SELECT ?", (blob.clone(),))
            .await
            .expect("echoing the blob");
        let back = back.expect("a row");
        assert_eq!(back.len(), blob.len(), "{rtt_ms} ms: length");
        assert!(back == blob, "{rtt_ms} ms: the bytes came back changed");
        c.disconnect().await.expect("disconnect");
        assert!(
            line.accepted.load(std::sync::atomic::Ordering::SeqCst) >= 1,
            "{rtt_ms} ms: the connection went around the line"
        );
    }
}
