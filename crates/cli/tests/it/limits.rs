//! `tokencomp serve` under abuse, as a real process on loopback: a login flood (memory stays
//! bounded and comes back), the lockout (counted before hashing, per client as well as per
//! name), connection limits under a low descriptor limit, oversized bodies, and sessions and
//! keys that end when `tokencomp user …` changes a login while the server runs.
//!
//! Clients bind their socket to other loopback addresses (127.0.0.2, 127.0.0.3, 127.0.1.x …)
//! so the server sees distinct peers; the server itself listens on 127.0.0.1 only.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::ledger::{Company, root};

const NOW: &str = "2026-12-06T12:00:00Z";

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// `tokencomp serve` on 127.0.0.1, optionally under a descriptor limit (`ulimit -n`, then
    /// `exec`, so the child's pid is the server's).
    fn start(c: &Company, extra: &[&str], nofile: Option<u32>) -> Server {
        let bin = env!("CARGO_BIN_EXE_tokencomp");
        let limit = nofile.map_or(String::new(), |n| format!("ulimit -n {n} && "));
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("{limit}exec \"$0\" \"$@\""))
            .arg(bin)
            .arg("--data")
            .arg(c.data())
            .args(["serve", "--listen", "127.0.0.1:0", "--now", NOW])
            .args(extra)
            .current_dir(root())
            .env_remove("TOKENCOMP_DATABASE")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("the address line");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected: {line}"))
            .parse()
            .expect("an address");
        Server { child, addr }
    }

    /// `(VmHWM, VmRSS)` of the server process, in bytes.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("/proc status");
        let kb = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{key} in {status}"))
                * 1024
        };
        (kb("VmHWM:"), kb("VmRSS:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("an address")
}

/// A socket from `from` (any loopback address) to the server.
async fn connect(server: SocketAddr, from: IpAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(server).await
}

#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn cookie(&self) -> String {
        self.header("set-cookie")
            .and_then(|v| v.split(';').next())
            .unwrap_or_else(|| panic!("no session cookie: {self:?}"))
            .to_owned()
    }
}

/// One HTTP/1.1 request from `from`; a server that does not answer in 30 s fails the test
/// instead of hanging it.
async fn request(
    server: SocketAddr,
    from: IpAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let exchange = async {
        let mut s = connect(server, from).await.expect("connect");
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        s.write_all(req.as_bytes()).await.expect("write");
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.expect("read");
        String::from_utf8_lossy(&out).into_owned()
    };
    let text = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path} from {from}: no answer in 30 s"));
    parse(&text)
}

async fn login(server: SocketAddr, from: IpAddr, user: &str, password: &str) -> Reply {
    let body = serde_json::json!({"user": user, "password": password}).to_string();
    request(server, from, "POST", "/api/session", &[("Content-Type", "application/json")], &body).await
}

fn demo() -> Company {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    c
}

const MB: u64 = 1024 * 1024;

/// Four bursts of 64 concurrent wrong logins, each from its own address, once grew the server
/// to gigabytes (every login an argon2 hash of 19 MiB, all at once on blocking threads). Now
/// at most one hash per core runs (at most 8), a bounded queue waits, and the rest are
/// refused at once with 503 and `Retry-After`: the hashes' memory is at most 8 × 19 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_flood_keeps_memory_bounded_and_the_owner_still_logs_in() {
    let c = demo();
    let server = Server::start(&c, &[], None);
    let addr = server.addr;
    let owner = ip("127.0.0.3");
    assert_eq!(request(addr, owner, "GET", "/healthz", &[], "").await.status, 200);
    let (_, start) = server.memory();
    // The owner logged in from this client before the flood.
    assert_eq!(login(addr, owner, "admin", "demo-admin-pw").await.status, 200);
    let mut answers = std::collections::BTreeMap::<u16, usize>::new();
    for burst in 0..4u8 {
        let mut tasks = Vec::new();
        for i in 0..64u8 {
            let from = IpAddr::V4(Ipv4Addr::new(127, 0, 1 + burst, 1 + i));
            tasks.push(tokio::spawn(async move {
                let r = login(addr, from, &format!("stranger-{burst}-{i}"), "not-the-password").await;
                if r.status == 503 {
                    assert!(r.header("retry-after").is_some(), "{r:?}");
                    assert_eq!(r.json()["code"], "overloaded", "{r:?}");
                } else {
                    assert_eq!((r.status, r.json()["code"].as_str()), (401, Some("invalid_credentials")), "{r:?}");
                }
                r.status
            }));
        }
        // The owner logs in again in the middle of the second burst.
        let mid = (burst == 1).then(|| tokio::spawn(async move { login(addr, owner, "admin", "demo-admin-pw").await }));
        for t in tasks {
            *answers.entry(t.await.expect("task")).or_default() += 1;
        }
        if let Some(mid) = mid {
            let r = mid.await.expect("owner");
            assert_eq!(r.status, 200, "the owner's login during the flood: {r:?}");
        }
    }
    assert_eq!(answers.values().sum::<usize>(), 256, "{answers:?}");
    let (peak, end) = server.memory();
    println!(
        "login flood: start {} MiB, peak {} MiB, end {} MiB, answers {answers:?}",
        start / MB,
        peak / MB,
        end / MB
    );
    assert!(peak < 300 * MB, "peak memory {} MiB under the flood (bound: 300 MiB)", peak / MB);
    assert!(end < start + 50 * MB, "memory after the flood {} MiB, at the start {} MiB", end / MB, start / MB);
}

/// 40 parallel guesses at one name from one client: the attempts are counted before any hash,
/// so exactly the budget (5) is checked and the rest refused. That stranger does not lock the
/// admin out; strangers together spend the name's budget (20) and lock it for new clients,
/// while the owner, from a client that logged in before, still gets in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_lockout_counts_before_hashing_and_a_stranger_cannot_lock_out_the_admin() {
    let c = demo();
    let server = Server::start(&c, &[], None);
    let addr = server.addr;
    let stranger = ip("127.0.0.2");
    let owner = ip("127.0.0.3");
    let tasks: Vec<_> =
        (0..40).map(|_| tokio::spawn(async move { login(addr, stranger, "admin", "guess-guess").await })).collect();
    let mut statuses = Vec::new();
    for t in tasks {
        let r = t.await.expect("task");
        if r.status == 429 {
            assert_eq!(r.json()["code"], "too_many_attempts", "{r:?}");
            assert!(r.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok()), "{r:?}");
        }
        statuses.push(r.status);
    }
    statuses.sort_unstable();
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 35, "{statuses:?}");
    // The stranger's client is locked for this name, even with the right password ...
    assert_eq!(login(addr, stranger, "admin", "demo-admin-pw").await.status, 429);
    // ... but the admin, from another client, is not.
    assert_eq!(login(addr, owner, "admin", "demo-admin-pw").await.status, 200);
    // Strangers on three more clients spend the rest of the name's budget (20 guesses).
    for n in 1..=3u8 {
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 2, n));
        for _ in 0..5 {
            assert_eq!(login(addr, from, "admin", "guess-guess").await.status, 401);
        }
    }
    let newcomer = ip("127.0.0.4");
    let r = login(addr, newcomer, "admin", "demo-admin-pw").await;
    assert_eq!((r.status, r.json()["code"].as_str()), (429, Some("too_many_attempts")), "{r:?}");
    // The owner's client logged in before: it still gets in.
    assert_eq!(login(addr, owner, "admin", "demo-admin-pw").await.status, 200);
    // Other names are untouched.
    assert_eq!(login(addr, newcomer, "auditor", "demo-auditor-pw").await.status, 200);
}

/// 300 idle sockets under a 256-descriptor limit once left `/healthz` unanswered. Now each
/// client holds at most 64 connections, the total is capped below the descriptor limit (the
/// oldest idle connection makes room for a new one), a connection that has not sent its
/// headers in time is closed, and a body over the limit is 413 on any route.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_and_slow_connections_cannot_starve_the_server() {
    let c = demo();
    let server = Server::start(&c, &["--header-timeout", "2", "--body-timeout", "2"], Some(256));
    let addr = server.addr;
    let other = ip("127.0.0.3");
    let mut held = Vec::new();
    for _ in 0..300 {
        held.push(connect(addr, ip("127.0.0.2")).await.expect("connect"));
    }
    let r = request(addr, other, "GET", "/healthz", &[], "").await;
    assert_eq!(r.status, 200, "{r:?}");
    // Slow headers from many clients, more than the server may hold in total.
    for n in 0..200u16 {
        let [hi, lo] = [n / 8, n % 8].map(|x| u8::try_from(x).expect("small"));
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 3 + hi, 1 + lo));
        let mut s = connect(addr, from).await.expect("connect");
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.expect("a partial head");
        held.push(s);
    }
    let r = request(addr, other, "GET", "/healthz", &[], "").await;
    assert_eq!(r.status, 200, "{r:?}");
    // A connection that never finishes its headers is closed by the server.
    let mut slow = connect(addr, ip("127.0.0.5")).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\n").await.expect("write");
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(30), slow.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "the slow connection was not closed: {read:?}");
    drop(held);
    // A body that stops arriving is answered 408 (the headers came in time).
    let head = "POST /api/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"user\":";
    let r = raw(addr, other, head.as_bytes()).await;
    assert_eq!((r.status, r.json()["code"].as_str()), (408, Some("request_timeout")), "{r:?}");
    // Bodies over the limit (64 KiB): declared, also on a route that reads none, and streamed.
    // Only the head (and, streamed, exactly one byte too many) is sent, so the server has read
    // everything when it answers and closes.
    for (method, path) in [("POST", "/api/session"), ("GET", "/healthz")] {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            200 * 1024
        );
        let r = raw(addr, other, head.as_bytes()).await;
        assert_eq!((r.status, r.json()["code"].as_str()), (413, Some("payload_too_large")), "{method} {path}: {r:?}");
    }
    let over = 64 * 1024 + 1;
    let mut streamed = format!(
        "POST /api/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{over:x}\r\n"
    )
    .into_bytes();
    streamed.extend(std::iter::repeat_n(b' ', over));
    let r = raw(addr, other, &streamed).await;
    assert_eq!((r.status, r.json()["code"].as_str()), (413, Some("payload_too_large")), "streamed: {r:?}");
}

/// Writes `bytes` from `from` and reads the answer until the server closes.
async fn raw(server: SocketAddr, from: IpAddr, bytes: &[u8]) -> Reply {
    let exchange = async {
        let mut s = connect(server, from).await.expect("connect");
        s.write_all(bytes).await.expect("write");
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.expect("read");
        String::from_utf8_lossy(&out).into_owned()
    };
    let text = tokio::time::timeout(Duration::from_secs(30), exchange).await.expect("an answer in 30 s");
    parse(&text)
}

fn parse(text: &str) -> Reply {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status: {text}"));
    Reply { status, head: head.to_owned(), body: body.to_owned() }
}

/// `tokencomp user add` (a reset or a role change) and `user remove`, run while the server
/// runs, end that login's sessions, and its API keys stop working; other logins are untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_a_role_change_or_a_removal_ends_sessions_and_keys() {
    let c = demo();
    let server = Server::start(&c, &[], None);
    let addr = server.addr;
    let me = ip("127.0.0.2");
    let get = |cookie: Option<String>, key: Option<String>| async move {
        let mut h = Vec::new();
        let cookie = cookie.unwrap_or_default();
        let bearer = key.map(|k| format!("Bearer {k}")).unwrap_or_default();
        if !cookie.is_empty() {
            h.push(("Cookie", cookie.as_str()));
        }
        if !bearer.is_empty() {
            h.push(("Authorization", bearer.as_str()));
        }
        request(addr, me, "GET", "/api/session", &h, "").await.status
    };
    let user = |args: &[&str], password: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_tokencomp"))
            .arg("--data")
            .arg(c.data())
            .arg("user")
            .args(args)
            .env("TOKENCOMP_PASSWORD", password)
            .env_remove("TOKENCOMP_DATABASE")
            .output()
            .expect("user runs");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    // Each case: the login, what changes it, and the password that works afterwards.
    let cases: [(&str, Vec<&str>, Option<&str>); 3] = [
        ("ada", vec!["add", "ada", "--role", "employee", "--person", "ada"], Some("a-new-password")),
        ("auditor", vec!["add", "auditor", "--role", "admin"], Some("demo-auditor-pw")),
        ("omar", vec!["remove", "omar"], None),
    ];
    let admin = login(addr, me, "admin", "demo-admin-pw").await.cookie();
    for (name, change, after) in cases {
        let password = format!("demo-{name}-pw");
        let cookie = login(addr, me, name, &password).await.cookie();
        let key = user(&["key", name], "");
        assert_eq!(get(Some(cookie.clone()), None).await, 200, "{name}: the session works");
        assert_eq!(get(None, Some(key.clone())).await, 200, "{name}: the key works");
        user(&change, after.unwrap_or(""));
        assert_eq!(get(Some(cookie), None).await, 401, "{name}: the session outlived {change:?}");
        assert_eq!(get(None, Some(key)).await, 401, "{name}: the key outlived {change:?}");
        if let Some(p) = after {
            assert_eq!(login(addr, me, name, p).await.status, 200, "{name}: the new terms log in");
        }
        assert_eq!(get(Some(admin.clone()), None).await, 200, "other logins keep their sessions");
    }
}

/// Found with issue 15 (same class as item 14): `tokencomp user …` read, changed and renamed
/// `accounts.json` with no lock, so two at once could lose one's change. Eight logins added at
/// once all stay.
#[test]
fn logins_added_at_once_are_all_kept() {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    let names: Vec<String> = (0..8).map(|i| format!("racer{i}")).collect();
    let children: Vec<Child> = names
        .iter()
        .map(|n| {
            Command::new(env!("CARGO_BIN_EXE_tokencomp"))
                .arg("--data")
                .arg(c.data())
                .args(["user", "add", n, "--role", "auditor"])
                .env("TOKENCOMP_PASSWORD", "a-long-enough-password")
                .env_remove("TOKENCOMP_DATABASE")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("user add starts")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("user add ends");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let list = c.ok(&["user", "list"]);
    for n in &names {
        assert!(list.lines().any(|l| l.split_whitespace().next() == Some(n.as_str())), "{n} was lost:\n{list}");
    }
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(c.data().join("auth").join("accounts.lock")).expect("lock file").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}
