//! A TCP proxy for network faults (test-catalogue N): forwards a local port
//! to a server, and can be cut (every open connection closed, new ones
//! refused) and healed while a test runs.
//!
//! Clients must connect with `prefer_socket=false` in their URL: otherwise
//! mysql_async moves a connection to 127.0.0.1 onto the server's Unix socket
//! after the handshake, around the proxy.

use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;

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
    task: tokio::task::JoinHandle<()>,
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
        let task = {
            let (down, cut, accepted) = (down.clone(), cut.clone(), accepted.clone());
            let to = upstream.clone();
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
                    tokio::spawn(async move {
                        let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                            return;
                        };
                        let (mut cr, mut cw) = client.into_split();
                        let (mut sr, mut sw) = server.into_split();
                        tokio::select! {
                            _ = tokio::io::copy(&mut cr, &mut sw) => {}
                            _ = tokio::io::copy(&mut sr, &mut cw) => {}
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
            task,
        }
    }

    /// Sends new connections to `127.0.0.1:upstream` from now on (another
    /// server behind the same address, as after a managed failover); open
    /// ones stay where they are until [`Proxy::cut`].
    pub fn retarget(&self, upstream: u16) {
        self.upstream.store(upstream, Ordering::SeqCst);
    }

    /// Cuts the network: open connections are closed, new ones refused.
    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        let _ = self.cut.send(());
    }

    /// Heals it.
    pub fn heal(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        let _ = self.cut.send(());
    }
}
