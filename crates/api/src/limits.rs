//! What one client or one login may cost the server: password and key hashing through a
//! bounded gate, writes per login through a token bucket, and who "the client" is.
//!
//! Architecture invariant: everything here is bounded in memory (per-client counts are removed
//! when they reach zero, buckets exist only for logins), and a refusal is immediate: nothing
//! waits in an unbounded queue.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use jiff::{SignedDuration, Timestamp};
use tokio::sync::Semaphore;

use crate::{ApiError, AppState};

/// The server's limits (`tokencomp serve` flags set some of them).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections held at once; `serve` lowers it further to fit the descriptor limit.
    pub max_connections: usize,
    /// Connections held at once from one client address (a trusted proxy is not limited).
    pub connections_per_client: usize,
    /// Time to send a request's headers, and the idle time allowed between requests.
    pub header_timeout: Duration,
    /// Time to send a request's body.
    pub body_timeout: Duration,
    /// The largest request body on any route, in bytes.
    pub max_body: usize,
    /// Writes (any request that is not GET/HEAD/OPTIONS, logout aside) per login and minute;
    /// a login may also spend them at once.
    pub writes_per_minute: u32,
    /// Proxies whose `X-Forwarded-For` names the client; from anyone else it is ignored.
    pub trusted_proxies: Vec<IpAddr>,
    /// Password and key hashes run at once (each holds [`crate::auth::M_COST_KIB`] of memory).
    pub hashers: usize,
    /// Hashes that may wait for a hasher; beyond them a login is refused at once (503).
    pub hash_queue: usize,
}

/// The largest request body: logins, ballots, delegations and proposals are far smaller.
pub const MAX_BODY: usize = 64 * 1024;

impl Default for Limits {
    fn default() -> Limits {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Limits {
            max_connections: 1024,
            connections_per_client: 64,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_body: MAX_BODY,
            writes_per_minute: 30,
            trusted_proxies: Vec::new(),
            // About one per core, and never more than 8 (8 × 19 MiB of argon2 memory).
            hashers: cores.clamp(1, 8),
            hash_queue: 32,
        }
    }
}

/// The client's address: the peer, or the address a trusted proxy forwarded. `None` when the
/// request did not come over a socket (tests through `oneshot`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    pub fn of(parts: &Parts, trusted: &[IpAddr]) -> ClientAddr {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let Some(peer) = peer else { return ClientAddr(None) };
        if !trusted.contains(&peer) {
            return ClientAddr(Some(peer));
        }
        // The right-most address a trusted proxy did not add is the client (the ones to its
        // left are whatever the client claimed).
        let forwarded: Vec<IpAddr> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().parse::<IpAddr>())
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        ClientAddr(Some(forwarded.into_iter().rev().find(|a| !trusted.contains(a)).unwrap_or(peer)))
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        Ok(ClientAddr::of(parts, &st.inner.cfg.limits.trusted_proxies))
    }
}

/// 503 `overloaded`, retry after a second.
pub fn overloaded() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "the server is busy checking passwords; try again shortly",
    )
    .retry_after(1)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Password and key hashing: at most `hashers` at once, at most `queue` waiting; a client
/// may hold [`HashGate::PER_CLIENT`] of those places; a client that logged in as this name
/// before may also use a few reserved places, so a flood from strangers does not keep the
/// owner out.
pub struct HashGate {
    hashers: Arc<Semaphore>,
    places: Mutex<Places>,
    general: usize,
    reserved: usize,
}

#[derive(Default)]
struct Places {
    general: usize,
    reserved: usize,
    per_client: HashMap<Option<IpAddr>, usize>,
}

/// Why the gate did not run the work.
#[derive(Debug, PartialEq, Eq)]
pub enum GateError {
    /// No place free: answer 503 at once.
    Busy,
    /// The work panicked.
    Failed,
}

impl From<GateError> for ApiError {
    fn from(e: GateError) -> ApiError {
        match e {
            GateError::Busy => overloaded(),
            GateError::Failed => ApiError::internal("a password check failed"),
        }
    }
}

struct Place {
    gate: Arc<HashGate>,
    client: Option<IpAddr>,
    reserved: bool,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut p = lock(&self.gate.places);
        if self.reserved {
            p.reserved = p.reserved.saturating_sub(1);
        } else {
            p.general = p.general.saturating_sub(1);
        }
        if let Some(n) = p.per_client.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                p.per_client.remove(&self.client);
            }
        }
    }
}

impl HashGate {
    /// Places one client may hold (waiting or hashing).
    pub const PER_CLIENT: usize = 8;

    pub fn new(hashers: usize, queue: usize) -> Arc<HashGate> {
        let hashers = hashers.max(1);
        Arc::new(HashGate {
            hashers: Arc::new(Semaphore::new(hashers)),
            places: Mutex::new(Places::default()),
            general: hashers.saturating_add(queue),
            reserved: hashers.saturating_mul(2),
        })
    }

    fn admit(self: &Arc<Self>, client: Option<IpAddr>, known: bool) -> Option<Place> {
        let mut p = lock(&self.places);
        if p.per_client.get(&client).copied().unwrap_or(0) >= Self::PER_CLIENT {
            return None;
        }
        let reserved = if p.general < self.general {
            p.general += 1;
            false
        } else if known && p.reserved < self.reserved {
            p.reserved += 1;
            true
        } else {
            return None;
        };
        *p.per_client.entry(client).or_default() += 1;
        Some(Place { gate: self.clone(), client, reserved })
    }

    /// Runs `work` (a hash) on a blocking thread when a hasher is free, or refuses at once.
    /// The place and the hasher are held by the blocking task itself, so a client that hangs
    /// up cannot make the server hash more at once.
    pub async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        client: Option<IpAddr>,
        known: bool,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, GateError> {
        let place = self.admit(client, known).ok_or(GateError::Busy)?;
        let hasher = self.hashers.clone().acquire_owned().await.map_err(|_| GateError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let _held = (place, hasher);
            work()
        })
        .await
        .map_err(|_| GateError::Failed)
    }
}

/// Writes per login: a token bucket (as GCRA: one "theoretical arrival time" per login), so a
/// login spends up to `per_minute` writes at once and then one every `60 s / per_minute`.
pub struct WriteLimiter {
    per_minute: u32,
    next: Mutex<HashMap<String, Timestamp>>,
}

impl WriteLimiter {
    pub fn new(per_minute: u32) -> WriteLimiter {
        WriteLimiter { per_minute: per_minute.max(1), next: Mutex::new(HashMap::new()) }
    }

    /// Takes one write for `login` at `now`; `Err(seconds)` to wait when the bucket is empty.
    pub fn take(&self, login: &str, now: Timestamp) -> Result<(), u64> {
        let interval = SignedDuration::from_mins(1) / i32::try_from(self.per_minute).unwrap_or(i32::MAX);
        let burst = interval * i32::try_from(self.per_minute - 1).unwrap_or(i32::MAX);
        let mut next = lock(&self.next);
        let tat = next.get(login).copied().filter(|t| *t > now).unwrap_or(now);
        let early = tat.duration_since(now);
        if early > burst {
            let wait = early - burst;
            let secs = wait.as_secs() + i64::from(wait.subsec_nanos() > 0);
            return Err(u64::try_from(secs).unwrap_or(1).max(1));
        }
        let tat = tat.checked_add(interval).unwrap_or(tat);
        next.insert(login.to_owned(), tat);
        // Buckets that are full again say nothing: drop them (the map holds logins only).
        if next.len() > 1024 {
            next.retain(|_, t| *t > now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).expect("t")
    }

    #[test]
    fn a_login_spends_its_burst_then_one_write_per_interval_and_others_are_untouched() {
        let w = WriteLimiter::new(30);
        for _ in 0..30 {
            assert_eq!(w.take("ada", at(0)), Ok(()));
        }
        assert_eq!(w.take("ada", at(0)), Err(2));
        assert_eq!(w.take("omar", at(0)), Ok(()));
        assert_eq!(w.take("ada", at(1)), Err(1));
        assert_eq!(w.take("ada", at(2)), Ok(()));
        assert_eq!(w.take("ada", at(2)), Err(2));
        // A minute later the bucket is full again.
        for _ in 0..30 {
            assert_eq!(w.take("ada", at(62)), Ok(()));
        }
        assert!(w.take("ada", at(62)).is_err());
    }

    fn parts(peer: &str, forwarded: Option<&str>) -> Parts {
        let mut req = axum::http::Request::builder().uri("/");
        if let Some(f) = forwarded {
            req = req.header("x-forwarded-for", f);
        }
        let (mut parts, ()) = req.body(()).expect("request").into_parts();
        parts.extensions.insert(ConnectInfo(peer.parse::<SocketAddr>().expect("peer")));
        parts
    }

    #[test]
    fn a_forwarded_address_counts_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let client = |p: &Parts, trusted: &[IpAddr]| ClientAddr::of(p, trusted).0.map(|a| a.to_string());
        // A client cannot pick its own address.
        let direct = parts("127.0.0.2:5000", Some("1.2.3.4"));
        assert_eq!(client(&direct, &[proxy]), Some("127.0.0.2".into()));
        // Behind the proxy: the right-most address it did not add; the rest is the client's claim.
        let behind = parts("10.0.0.1:5000", Some("6.6.6.6, 203.0.113.9"));
        assert_eq!(client(&behind, &[proxy]), Some("203.0.113.9".into()));
        assert_eq!(client(&behind, &[]), Some("10.0.0.1".into()));
        assert_eq!(client(&parts("10.0.0.1:5000", Some("garbage")), &[proxy]), Some("10.0.0.1".into()));
        let (no_socket, ()) = axum::http::Request::builder().body(()).expect("request").into_parts();
        assert_eq!(client(&no_socket, &[proxy]), None);
    }

    #[tokio::test]
    async fn the_gate_refuses_at_once_beyond_its_places_and_keeps_some_for_known_clients() {
        let gate = HashGate::new(1, 1);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = Arc::new(Mutex::new(rx));
        let a: Option<IpAddr> = Some("127.0.0.2".parse().expect("ip"));
        // One hashing (blocked until told), one waiting: the general places are full.
        let mut running = Vec::new();
        for n in 0..2u8 {
            let (g, rx) = (gate.clone(), rx.clone());
            let client = Some(IpAddr::from([127, 0, 1, n]));
            running.push(tokio::spawn(async move { g.run(client, false, move || lock(&rx).recv().is_ok()).await }));
        }
        while lock(&gate.places).general < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.run(a, false, || ()).await, Err(GateError::Busy));
        // A client that logged in before gets one of the reserved places.
        let place = gate.admit(a, true).expect("a reserved place");
        assert!(place.reserved);
        drop(place);
        tx.send(()).expect("send");
        tx.send(()).expect("send");
        for r in running {
            assert_eq!(r.await.expect("task"), Ok(true));
        }
        assert_eq!(gate.run(a, true, || 7).await, Ok(7));
        let p = lock(&gate.places);
        assert_eq!((p.general, p.reserved, p.per_client.len()), (0, 0, 0), "every place was given back");
    }
}
