//! A delay line: a TCP proxy that adds a fixed round-trip time to every
//! connection through it, for measuring dts and its peers as if across a
//! network (these machines' kernels have no `netem` qdisc, so `tc` cannot
//! do it; benches/network.sh runs it as the `delayline` binary).
//!
//! Each direction of a connection is delayed by half the round trip: a
//! reader thread stamps every chunk it reads with the instant it is due and
//! queues it; a writer thread sleeps until that instant and writes it. The
//! delay is latency only: chunks keep flowing while earlier ones wait, so a
//! stream is not slowed beyond its first bytes (like a link with a large
//! bandwidth-delay product; the queue holds at most [`QUEUE_CHUNKS`] chunks of
//! [`CHUNK`] bytes per direction, 16 MiB, before the reader waits). Threads
//! sleep with the OS timer (microsecond precision), not tokio's, whose
//! millisecond wheel would round every delay up. With a zero delay a
//! connection is a plain copy in each direction, two threads and no queue,
//! so that the 0 ms row of a benchmark costs little more than a direct one.
//!
//! Bytes pass unchanged, in order, and half-closes are forwarded. Clients
//! must connect with `prefer_socket=false` (see [`crate::proxy`]).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The largest chunk one read takes.
pub const CHUNK: usize = 64 * 1024;
/// Chunks queued per direction of a delayed connection before its reader
/// waits.
pub const QUEUE_CHUNKS: usize = 256;

/// A running delay line; it stops, and closes its connections, when dropped.
pub struct DelayLine {
    /// The local port to connect to instead of the server's.
    pub port: u16,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<thread::JoinHandle<()>>,
}

impl DelayLine {
    /// Starts a delay line to `upstream_host:upstream_port` adding `rtt` to
    /// every round trip, listening on `127.0.0.1:listen` (0 for any free
    /// port).
    ///
    /// # Errors
    ///
    /// When the port cannot be bound.
    pub fn start(
        listen: u16,
        upstream_host: &str,
        upstream_port: u16,
        rtt: Duration,
    ) -> std::io::Result<DelayLine> {
        let listener = TcpListener::bind(("127.0.0.1", listen))?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let upstream = (upstream_host.to_string(), upstream_port);
        let one_way = rtt / 2;
        let accept = {
            let (stop, accepted, open) = (stop.clone(), accepted.clone(), open.clone());
            thread::Builder::new()
                .name("delayline-accept".into())
                .spawn(move || {
                    for client in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(client) = client else { continue };
                        accepted.fetch_add(1, Ordering::SeqCst);
                        let upstream = upstream.clone();
                        let open = open.clone();
                        // Connecting upstream off the accept thread: a slow
                        // connect does not hold up the next client.
                        let _ =
                            thread::Builder::new()
                                .name("delayline-conn".into())
                                .spawn(move || {
                                    let Ok(server) =
                                        TcpStream::connect((upstream.0.as_str(), upstream.1))
                                    else {
                                        return;
                                    };
                                    let _ = connect_pair(client, server, one_way, &open);
                                });
                    }
                })?
        };
        Ok(DelayLine {
            port,
            accepted,
            stop,
            open,
            accept: Some(accept),
        })
    }
}

/// Starts the two directions of one proxied connection.
fn connect_pair(
    client: TcpStream,
    server: TcpStream,
    one_way: Duration,
    open: &Mutex<Vec<TcpStream>>,
) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    {
        let mut open = open.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|s| s.peer_addr().is_ok());
        open.push(client.try_clone()?);
        open.push(server.try_clone()?);
    }
    let (c2, s2) = (client.try_clone()?, server.try_clone()?);
    thread::Builder::new()
        .name("delayline-up".into())
        .spawn(move || pump(client, server, one_way))?;
    thread::Builder::new()
        .name("delayline-down".into())
        .spawn(move || pump(s2, c2, one_way))?;
    Ok(())
}

/// Forwards `from` to `to`, `delay` late; at `from`'s end, half-closes `to`.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    if delay.is_zero() {
        let mut buf = vec![0u8; CHUNK * 4];
        loop {
            match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        let _ = from.shutdown(Shutdown::Both);
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    let _ = to.shutdown(Shutdown::Both);
                    return;
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
        return;
    }
    let (tx, rx) = sync_channel::<(Instant, Vec<u8>)>(QUEUE_CHUNKS);
    let writer = {
        let from = match from.try_clone() {
            Ok(f) => f,
            Err(_) => return,
        };
        thread::Builder::new()
            .name("delayline-write".into())
            .spawn(move || {
                while let Ok((due, chunk)) = rx.recv() {
                    let now = Instant::now();
                    if due > now {
                        thread::sleep(due - now);
                    }
                    if to.write_all(&chunk).is_err() {
                        let _ = from.shutdown(Shutdown::Both);
                        return;
                    }
                }
                let _ = to.shutdown(Shutdown::Write);
            })
    };
    let Ok(writer) = writer else { return };
    let mut buf = vec![0u8; CHUNK];
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let due = Instant::now() + delay;
                if tx.send((due, buf[..n].to_vec())).is_err() {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    // The queued chunks are still written, then `to` is half-closed.
    drop(tx);
    let _ = writer.join();
}

impl Drop for DelayLine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept thread, which sees the stop flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for s in self
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}
