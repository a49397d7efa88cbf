//! The server stream survives: its connection killed mid-stream (N8),
//! rotations with `max_binlog_size=4096` and `FLUSH BINARY LOGS` (S2), and a
//! stalled connection (N2, a black hole: no FIN, no data) detected by the
//! heartbeat-based read timeout. Nothing is lost or repeated.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use binlog_reader::event::RowChange;
use binlog_reader::{BinlogStreamReader, EventBody, StreamConfig, StreamStart, Value};
use dts_test_support::{binlog_position, connect, exec, opts, Server, TestDatabases};
use mysql_async::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn server_id() -> u32 {
    2_000_000 + std::process::id() % 100_000 + rand_small()
}

fn rand_small() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 1000)
        .unwrap_or(0)
}

/// Counts the inserted ids of `db`.`t` seen in row events.
fn count_inserts(ev: &binlog_reader::Event, db: &str, seen: &mut BTreeMap<i64, u32>) {
    let EventBody::Rows(r) = &ev.body else { return };
    if r.table.schema != db {
        return;
    }
    for ch in &r.rows {
        if let RowChange::Insert { after } = ch {
            match after.first() {
                Some(Some(Value::Int(id))) => *seen.entry(*id).or_default() += 1,
                // binlog_row_metadata=NO_LOG (the default): signedness unknown.
                Some(Some(Value::IntUnknownSign { raw, bytes: 4 })) => {
                    *seen.entry(i64::from(*raw as u32 as i32)).or_default() += 1
                }
                other => panic!("unexpected id value {other:?}"),
            }
        }
    }
}

fn assert_exactly_once(seen: &BTreeMap<i64, u32>, n: i64) {
    let missing: Vec<i64> = (1..=n).filter(|i| !seen.contains_key(i)).collect();
    let repeated: Vec<(&i64, &u32)> = seen.iter().filter(|(_, c)| **c != 1).collect();
    assert!(missing.is_empty(), "rows lost: {missing:?}");
    assert!(repeated.is_empty(), "rows repeated: {repeated:?}");
    assert_eq!(seen.len() as i64, n, "unexpected ids: {seen:?}");
}

#[tokio::test]
async fn n8_killed_dump_connection_resumes_without_loss_or_repeat() {
    let dbs = TestDatabases::new("stream_kill").await;
    let mut src = dbs.source().await;
    exec(
        &mut src,
        "CREATE TABLE t (id INT PRIMARY KEY, pad VARCHAR(100))",
    )
    .await;
    let (file, pos) = binlog_position(&mut src).await;
    let mut cfg = StreamConfig::new(
        opts(Server::Source, None),
        server_id(),
        StreamStart::File(Some(file), pos),
    );
    cfg.read_timeout = Duration::from_secs(10);
    let mut reader = BinlogStreamReader::connect(cfg).await.expect("stream");

    const N: i64 = 300;
    let db = dbs.name.clone();
    let writer = tokio::spawn(async move {
        let mut c = connect(Server::Source, Some(&db)).await;
        for i in 1..=N {
            // Multi-statement transactions, so a kill can land inside one.
            c.query_drop(format!(
                "BEGIN; INSERT INTO t VALUES ({i}, REPEAT('x', 50)); UPDATE t SET pad = 'y' WHERE id = {i}; COMMIT"
            ))
            .await
            .expect("write");
            // Paced, so that most kills land while rows are still coming.
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    });
    let mut admin = connect(Server::Source, None).await;
    let mut seen = BTreeMap::new();
    let mut kills = 0u64;
    while seen.len() < N as usize {
        let ev = tokio::time::timeout(Duration::from_secs(60), reader.next())
            .await
            .expect("the stream made no progress for 60 s")
            .expect("stream error")
            .expect("stream ended");
        count_inserts(&ev, &dbs.name, &mut seen);
        if std::env::var("DTS_DEBUG").is_ok() {
            eprintln!(
                "{} {} log_pos={} {:?} {} seen={}",
                ev.pos,
                ev.end_pos,
                ev.header.log_pos,
                ev.file,
                ev.header.event_type.name(),
                seen.len()
            );
        }
        // Kill the dump thread three times, mid-stream.
        // Kill again only once the previous kill was noticed (a reconnect).
        let due = [50usize, 120, 200]
            .get(kills as usize)
            .is_some_and(|at| seen.len() >= *at);
        if due && reader.reconnects >= kills {
            let id = reader.connection_id().expect("connection id");
            if let Err(e) = admin.query_drop(format!("KILL {id}")).await {
                let list: Vec<(u64, String, String)> = admin
                    .query("SELECT id, command, state FROM information_schema.processlist")
                    .await
                    .unwrap_or_default();
                panic!(
                    "KILL {id} (kill #{kills}, reconnects {}): {e}; processlist: {list:?}",
                    reader.reconnects
                );
            }
            kills += 1;
        }
    }
    writer.await.expect("writer");
    assert_eq!(kills, 3);
    // Every kill that was noticed before the last row caused a reconnect; the
    // last one may land after the last row was already in the socket buffer.
    assert!(
        reader.reconnects >= 2,
        "expected reconnections, got {}",
        reader.reconnects
    );
    assert_exactly_once(&seen, N);
    dbs.cleanup().await;
}

#[tokio::test]
async fn s2_rotations_and_flush_binary_logs_lose_nothing() {
    let dbs = TestDatabases::new("stream_rotate").await;
    let mut src = dbs.source().await;
    exec(
        &mut src,
        "CREATE TABLE t (id INT PRIMARY KEY, pad VARCHAR(200))",
    )
    .await;
    let old: u64 = src
        .query_first("SELECT @@global.max_binlog_size")
        .await
        .expect("read")
        .expect("row");
    let (file, pos) = binlog_position(&mut src).await;
    exec(&mut src, "SET GLOBAL max_binlog_size = 4096").await;
    const N: i64 = 200;
    for i in 1..=N {
        exec(
            &mut src,
            &format!("INSERT INTO t VALUES ({i}, REPEAT('r', 150))"),
        )
        .await;
        if i == 70 || i == 140 {
            exec(&mut src, "FLUSH BINARY LOGS").await;
        }
    }
    exec(&mut src, &format!("SET GLOBAL max_binlog_size = {old}")).await;
    let mut cfg = StreamConfig::new(
        opts(Server::Source, None),
        server_id(),
        StreamStart::File(Some(file.clone()), pos),
    );
    cfg.non_blocking = true;
    let mut reader = BinlogStreamReader::connect(cfg).await.expect("stream");
    let mut seen = BTreeMap::new();
    let mut rotations = 0;
    let mut files = std::collections::BTreeSet::new();
    while let Some(ev) = reader.next().await.expect("stream error") {
        if let EventBody::Rotate(r) = &ev.body {
            if !r.fake {
                rotations += 1;
            }
        }
        if let Some(f) = ev.file.as_deref() {
            files.insert(f.to_string());
        }
        if std::env::var("DTS_DEBUG").is_ok() {
            eprintln!(
                "{} {} log_pos={} {:?} {}",
                ev.pos,
                ev.end_pos,
                ev.header.log_pos,
                ev.file,
                ev.header.event_type.name()
            );
        }
        count_inserts(&ev, &dbs.name, &mut seen);
    }
    assert!(
        rotations >= 10,
        "expected many rotations at 4 KiB, saw {rotations}"
    );
    assert!(files.len() >= 10, "events from {} files", files.len());
    assert_exactly_once(&seen, N);
    dbs.cleanup().await;
}

/// A TCP proxy to the source that can freeze the connections open at the
/// time: no FIN, no data, in either direction (a black hole). Connections
/// opened later are forwarded normally.
async fn freezable_proxy() -> (u16, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let freeze = Arc::new(AtomicBool::new(false));
    let target = opts(Server::Source, None);
    let upstream = format!("{}:{}", target.ip_or_hostname(), target.tcp_port());
    let f = freeze.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(&upstream).await else {
                continue;
            };
            // Only connections that were open before the freeze are frozen.
            let frozen_already = f.load(Ordering::SeqCst);
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::spawn(pump(cr, sw, f.clone(), frozen_already));
            tokio::spawn(pump(sr, cw, f.clone(), frozen_already));
        }
    });
    (port, freeze)
}

async fn pump(
    mut r: tokio::net::tcp::OwnedReadHalf,
    mut w: tokio::net::tcp::OwnedWriteHalf,
    freeze: Arc<AtomicBool>,
    exempt: bool,
) {
    let mut buf = vec![0u8; 16384];
    loop {
        let n = match tokio::time::timeout(Duration::from_millis(100), r.read(&mut buf)).await {
            Err(_) => 0usize,
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(n)) => n,
        };
        if freeze.load(Ordering::SeqCst) && !exempt {
            // Hold the sockets open and drop everything: a black hole.
            tokio::time::sleep(Duration::from_secs(120)).await;
            return;
        }
        if n > 0 && w.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn n2_stalled_connection_is_detected_by_the_heartbeat_timeout() {
    let dbs = TestDatabases::new("stream_stall").await;
    let mut src = dbs.source().await;
    exec(&mut src, "CREATE TABLE t (id INT PRIMARY KEY)").await;
    let (file, pos) = binlog_position(&mut src).await;
    let (port, freeze) = freezable_proxy().await;
    let via_proxy: mysql_async::Opts =
        mysql_async::OptsBuilder::from_opts(opts(Server::Source, None))
            .ip_or_hostname("127.0.0.1")
            .tcp_port(port)
            .into();
    let mut cfg = StreamConfig::new(via_proxy, server_id(), StreamStart::File(Some(file), pos));
    cfg.heartbeat = Duration::from_millis(500);
    cfg.read_timeout = Duration::from_secs(2);
    let mut reader = BinlogStreamReader::connect(cfg).await.expect("stream");
    for i in 1..=10 {
        exec(&mut src, &format!("INSERT INTO t VALUES ({i})")).await;
    }
    let mut seen = BTreeMap::new();
    while seen.len() < 10 {
        let ev = reader.next().await.expect("stream").expect("not ended");
        count_inserts(&ev, &dbs.name, &mut seen);
    }
    // Black-hole the connection, write more, and let the freeze lift only for
    // new connections (the freeze flag stays on for the old one).
    freeze.store(true, Ordering::SeqCst);
    for i in 11..=20 {
        exec(&mut src, &format!("INSERT INTO t VALUES ({i})")).await;
    }
    let started = std::time::Instant::now();
    while seen.len() < 20 {
        let ev = tokio::time::timeout(Duration::from_secs(60), reader.next())
            .await
            .expect("the stall was not detected within 60 s")
            .expect("stream")
            .expect("not ended");
        count_inserts(&ev, &dbs.name, &mut seen);
    }
    assert!(
        reader.reconnects >= 1,
        "the stalled connection must be replaced"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "rows after the freeze can only arrive through a new connection"
    );
    assert_exactly_once(&seen, 20);
    dbs.cleanup().await;
}

#[tokio::test]
async fn mariadb_gtid_start_sends_exactly_the_later_transactions() {
    let dbs = TestDatabases::new("stream_gtid").await;
    let mut src = dbs.source().await;
    exec(&mut src, "CREATE TABLE t (id INT PRIMARY KEY)").await;
    for i in 1..=5 {
        exec(&mut src, &format!("INSERT INTO t VALUES ({i})")).await;
    }
    let pos: String = src
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .expect("read")
        .expect("row");
    for i in 6..=30 {
        exec(&mut src, &format!("INSERT INTO t VALUES ({i})")).await;
    }
    let start = binlog_reader::position::MariadbGtidPosition::parse(&pos)
        .unwrap_or_else(|e| panic!("gtid_binlog_pos {pos:?}: {e}"));
    let mut cfg = StreamConfig::new(
        opts(Server::Source, None),
        server_id(),
        StreamStart::MariadbGtid(start),
    );
    cfg.non_blocking = true;
    let mut reader = BinlogStreamReader::connect(cfg).await.expect("stream");
    let mut seen = BTreeMap::new();
    let mut gtids = 0;
    while let Some(ev) = reader.next().await.expect("stream error") {
        if matches!(ev.body, EventBody::MariadbGtid(_)) {
            gtids += 1;
        }
        count_inserts(&ev, &dbs.name, &mut seen);
    }
    assert!(
        gtids >= 25,
        "GTID events are sent as they are (capability 4): saw {gtids}"
    );
    let ids: Vec<i64> = seen.keys().copied().collect();
    assert_eq!(
        ids,
        (6..=30).collect::<Vec<_>>(),
        "exactly the transactions after {pos}"
    );
    assert!(seen.values().all(|c| *c == 1), "each once: {seen:?}");
    dbs.cleanup().await;
}
