//! A TCP proxy for network faults (test-catalogue N): forwards a local port
//! to a server, and can be cut (every open connection closed, new ones
//! refused) and healed while a test runs.
//!
//! Clients must connect with `prefer_socket=false` in their URL: otherwise
//! mysql_async moves a connection to 127.0.0.1 onto the server's Unix socket
//! after the handshake, around the proxy.

use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

/// A running proxy; it stops when dropped.
pub struct Proxy {
    /// The local port to connect to instead of the server's.
    pub port: u16,
    down: Arc<AtomicBool>,
    cut: broadcast::Sender<()>,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicU64>,
    upstream: Arc<AtomicU16>,
    /// Connections closed by [`Proxy::lose_reply_to`] so far.
    pub replies_lost: Arc<AtomicU64>,
    armed: Arc<Mutex<Option<Vec<u8>>>>,
    /// Connections closed by [`Proxy::cut_every`] so far.
    pub byte_cuts: Arc<AtomicU64>,
    every: Arc<AtomicU64>,
    paused: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

/// Forwards server bytes to the client; with `every` set (non-zero),
/// returns once that many bytes went through (the connection then closes).
async fn server_to_client(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    every: Arc<AtomicU64>,
    cuts: Arc<AtomicU64>,
    paused: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while_paused(&paused).await;
        let limit = every.load(Ordering::SeqCst);
        let n = if limit > 0 {
            n.min(usize::try_from(limit.saturating_sub(sent)).unwrap_or(n))
        } else {
            n
        };
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        sent += n as u64;
        if limit > 0 && sent >= limit {
            cuts.fetch_add(1, Ordering::SeqCst);
            return;
        }
    }
}

/// Holds a forwarding loop while the proxy is a black hole.
async fn while_paused(paused: &AtomicBool) {
    while paused.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Forwards client bytes to the server; when a read contains the armed
/// bytes, forwards it and returns at once (the connection then closes
/// before the server's answer comes back).
async fn client_to_server(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    armed: Arc<Mutex<Option<Vec<u8>>>>,
    lost: Arc<AtomicU64>,
    paused: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while_paused(&paused).await;
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        let hit = {
            let mut a = armed.lock().unwrap_or_else(|e| e.into_inner());
            let hit = a
                .as_ref()
                .is_some_and(|needle| buf[..n].windows(needle.len()).any(|w| w == needle));
            if hit {
                *a = None;
            }
            hit
        };
        if hit {
            let _ = to.flush().await;
            lost.fetch_add(1, Ordering::SeqCst);
            return;
        }
    }
}

impl Proxy {
    /// Starts a proxy to `127.0.0.1:upstream`.
    ///
    /// # Panics
    ///
    /// When no local port can be bound.
    pub async fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a proxy port");
        let port = listener.local_addr().expect("proxy address").port();
        let down = Arc::new(AtomicBool::new(false));
        let (cut, _) = broadcast::channel(4);
        let accepted = Arc::new(AtomicU64::new(0));
        let upstream = Arc::new(AtomicU16::new(upstream));
        let replies_lost = Arc::new(AtomicU64::new(0));
        let armed: Arc<Mutex<Option<Vec<u8>>>> = Arc::new(Mutex::new(None));
        let every = Arc::new(AtomicU64::new(0));
        let byte_cuts = Arc::new(AtomicU64::new(0));
        let paused = Arc::new(AtomicBool::new(false));
        let task = {
            let (down, cut, accepted) = (down.clone(), cut.clone(), accepted.clone());
            let to = upstream.clone();
            let (armed, lost) = (armed.clone(), replies_lost.clone());
            let (every, byte_cuts, paused) = (every.clone(), byte_cuts.clone(), paused.clone());
            tokio::spawn(async move {
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    if down.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let mut stop = cut.subscribe();
                    let upstream = to.load(Ordering::SeqCst);
                    let (armed, lost) = (armed.clone(), lost.clone());
                    let (every, cuts) = (every.clone(), byte_cuts.clone());
                    let (p1, p2) = (paused.clone(), paused.clone());
                    tokio::spawn(async move {
                        let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                            return;
                        };
                        let (cr, cw) = client.into_split();
                        let (sr, sw) = server.into_split();
                        tokio::select! {
                            _ = client_to_server(cr, sw, armed, lost, p1) => {}
                            _ = server_to_client(sr, cw, every, cuts, p2) => {}
                            _ = stop.recv() => {}
                        }
                    });
                }
            })
        };
        Proxy {
            port,
            down,
            cut,
            accepted,
            upstream,
            replies_lost,
            armed,
            byte_cuts,
            every,
            paused,
            task,
        }
    }

    /// Sends new connections to `127.0.0.1:upstream` from now on (another
    /// server behind the same address, as after a managed failover); open
    /// ones stay where they are until [`Proxy::cut`].
    pub fn retarget(&self, upstream: u16) {
        self.upstream.store(upstream, Ordering::SeqCst);
    }

    /// A black hole: nothing is forwarded either way, on open connections
    /// and on new ones (which are accepted), and nothing is closed: no FIN,
    /// no reset, as when a link silently drops everything. [`Proxy::heal`]
    /// lets the held bytes through, as TCP's retransmissions would.
    pub fn black_hole(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }

    /// Closes every connection once `bytes` have come from the server on
    /// it (0: never), as a link that drops every N bytes would.
    pub fn cut_every(&self, bytes: u64) {
        self.every.store(bytes, Ordering::SeqCst);
    }

    /// Arms a lost answer: the next bytes a client sends that contain
    /// `needle` (e.g. a `COMMIT` query) reach the server, then that
    /// connection is closed before the server's answer gets back, as when
    /// the network fails right after a request. Once.
    pub fn lose_reply_to(&self, needle: &[u8]) {
        *self.armed.lock().unwrap_or_else(|e| e.into_inner()) = Some(needle.to_vec());
    }

    /// Cuts the network: open connections are closed, new ones refused.
    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        let _ = self.cut.send(());
    }

    /// Heals it (a cut or a black hole).
    pub fn heal(&self) {
        self.down.store(false, Ordering::SeqCst);
        self.paused.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        let _ = self.cut.send(());
    }
}
