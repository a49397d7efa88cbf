//! `delayline --upstream PORT --rtt-ms MS [--listen PORT] [--host HOST]`:
//! forwards 127.0.0.1:LISTEN to HOST:UPSTREAM adding MS milliseconds
//! (fractions allowed) to every round trip, until killed. Prints the port it
//! listens on, then a line per 1,000 connections. For benchmarks across a
//! simulated network (benches/network.sh); see `dts_test_support::delay`.

use std::time::Duration;

use dts_test_support::delay::DelayLine;

fn usage() -> ! {
    eprintln!("usage: delayline --upstream PORT --rtt-ms MS [--listen PORT] [--host HOST]");
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut upstream, mut rtt, mut listen, mut host) = (None, None, 0u16, "127.0.0.1".to_string());
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--upstream" => upstream = Some(v.parse::<u16>().unwrap_or_else(|_| usage())),
            "--rtt-ms" => rtt = Some(v.parse::<f64>().unwrap_or_else(|_| usage())),
            "--listen" => listen = v.parse().unwrap_or_else(|_| usage()),
            "--host" => host = v,
            _ => usage(),
        }
    }
    let (Some(upstream), Some(rtt)) = (upstream, rtt) else {
        usage()
    };
    if !(0.0..=10_000.0).contains(&rtt) {
        usage();
    }
    let line = DelayLine::start(
        listen,
        &host,
        upstream,
        Duration::from_secs_f64(rtt / 1000.0),
    )
    .unwrap_or_else(|e| {
        eprintln!("delayline: cannot listen on port {listen}: {e}");
        std::process::exit(1)
    });
    println!("{}", line.port);
    loop {
        std::thread::park();
    }
}
