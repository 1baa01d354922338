//! The accept loop: HTTP/1.1 connections through hyper, within limits `axum::serve` does not
//! have. A connection must send its headers within `header_timeout` (which also ends a
//! connection idle between requests), one client address holds at most
//! `connections_per_client`, and all together at most `max_connections`, lowered to fit the
//! process's descriptor limit. At the cap, the oldest idle connection is closed to make room,
//! so sockets that send nothing cannot keep `/healthz` from answering.
//!
//! Architecture invariant: the server never accepts more connections than it has descriptors
//! for, and no connection is held without a deadline unless a request on it is being answered.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

use crate::limits::Limits;

/// Descriptors kept free for the ledger, the accounts file, logs and the listener.
const SPARE_DESCRIPTORS: u64 = 64;
/// The most a request's headers may take (hyper's read buffer).
const MAX_HEAD: usize = 64 * 1024;

/// The connection cap: the configured one, lowered to the descriptor limit less a margin.
pub fn connection_cap(configured: usize) -> usize {
    #[cfg(unix)]
    {
        let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        if let Some(n) = soft {
            let fit = usize::try_from(n.saturating_sub(SPARE_DESCRIPTORS)).unwrap_or(usize::MAX);
            return configured.min(fit.max(8));
        }
    }
    configured
}

struct Conn {
    client: IpAddr,
    /// Requests being answered on it.
    busy: Arc<AtomicUsize>,
    close: Arc<Notify>,
    closing: bool,
}

#[derive(Default)]
struct Table {
    next: u64,
    /// By id, so the first is the oldest.
    open: BTreeMap<u64, Conn>,
    per_client: HashMap<IpAddr, usize>,
}

struct Conns {
    table: Mutex<Table>,
    cap: usize,
    per_client: usize,
    trusted: Vec<IpAddr>,
    /// Woken when the last connection ends (shutdown waits for it).
    empty: Notify,
}

fn lock(m: &Mutex<Table>) -> MutexGuard<'_, Table> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// One admitted connection; dropping it gives its place back.
struct Slot {
    conns: Arc<Conns>,
    id: u64,
    busy: Arc<AtomicUsize>,
    close: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut t = lock(&self.conns.table);
        if let Some(c) = t.open.remove(&self.id)
            && let Some(n) = t.per_client.get_mut(&c.client)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                t.per_client.remove(&c.client);
            }
        }
        if t.open.is_empty() {
            self.conns.empty.notify_waiters();
        }
    }
}

impl Conns {
    /// A place for a connection from `client`, or `None` (the connection is closed at once).
    fn admit(self: &Arc<Self>, client: IpAddr) -> Option<Slot> {
        let mut t = lock(&self.table);
        let from_client = t.per_client.get(&client).copied().unwrap_or(0);
        if from_client >= self.per_client && !self.trusted.contains(&client) {
            return None;
        }
        let held = t.open.values().filter(|c| !c.closing).count();
        if held >= self.cap {
            // Make room: the oldest connection with no request in flight is closed.
            let idle = t.open.values_mut().find(|c| !c.closing && c.busy.load(Ordering::SeqCst) == 0)?;
            idle.closing = true;
            idle.close.notify_one();
        }
        let id = t.next;
        t.next += 1;
        let busy = Arc::new(AtomicUsize::new(0));
        let close = Arc::new(Notify::new());
        t.open.insert(id, Conn { client, busy: busy.clone(), close: close.clone(), closing: false });
        *t.per_client.entry(client).or_default() += 1;
        Some(Slot { conns: self.clone(), id, busy, close })
    }
}

/// Counts a request in flight on its connection while it is answered.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn new(n: &Arc<AtomicUsize>) -> Busy {
        n.fetch_add(1, Ordering::SeqCst);
        Busy(n.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<crate::tls::ServerTls>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let conns = Arc::new(Conns {
        table: Mutex::new(Table::default()),
        cap: connection_cap(limits.max_connections),
        per_client: limits.connections_per_client.max(1),
        trusted: limits.trusted_proxies.clone(),
        empty: Notify::new(),
    });
    let (stop, stopped) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            // Out of descriptors (or a connection reset before it was accepted): wait a little
            // rather than spin; the cap makes this rare.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = conns.admit(peer.ip()) else {
            drop(stream);
            continue;
        };
        let (app, timeout, stopped) = (app.clone(), limits.header_timeout, stopped.clone());
        match &acceptor {
            None => {
                tokio::spawn(connection(stream, peer, app, slot, timeout, stopped));
            }
            Some(acceptor) => {
                // The handshake holds the connection's slot and has the header timeout to
                // finish, so a client that opens sockets and never says hello costs no more
                // than one that never sends headers.
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(tls)) = tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                        connection(tls, peer, app, slot, timeout, stopped).await;
                    }
                });
            }
        }
    }
    let _ = stop.send(true);
    // Give requests in flight a moment to finish, as axum's graceful shutdown does.
    let drained = async {
        loop {
            let wait = conns.empty.notified();
            if lock(&conns.table).open.is_empty() {
                return;
            }
            wait.await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), drained).await;
    Ok(())
}

async fn connection<S>(
    stream: S,
    peer: SocketAddr,
    app: Router,
    slot: Slot,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let busy = slot.busy.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let guard = Busy::new(&busy);
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        let app = app.clone();
        async move {
            let res = app.oneshot(req).await;
            drop(guard);
            res
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_timeout).max_buf_size(MAX_HEAD);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    let close = slot.close.clone();
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            () = close.notified() => {
                if slot.busy.load(Ordering::SeqCst) == 0 {
                    // Idle (no request, or headers still arriving): closed at once.
                    break;
                }
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    drop(slot);
}
