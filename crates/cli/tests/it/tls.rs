//! `tokencomp serve --tls-cert --tls-key`: the server terminates TLS itself, on loopback, with a
//! certificate made in the test; a TLS client that trusts only that certificate logs in and
//! gets a `Secure` cookie; plain http to the TLS port gets no answer; a key others may read is
//! refused. And the login page of a company made with `init` shows no demo password.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::ledger::{Company, root};

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(c: &Company, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokencomp"))
        .arg("--data")
        .arg(c.data())
        .args(["serve", "--listen", "127.0.0.1:0", "--now", "2026-12-06T12:00:00Z"])
        .args(extra)
        .current_dir(root())
        .env_remove("TOKENCOMP_DATABASE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("the address line");
    let addr = line.trim().strip_prefix("listening on https://").unwrap_or_else(|| panic!("unexpected: {line}"));
    Server { addr: addr.parse().expect("an address"), child }
}

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM files (the key
/// owner-only), and the certificate to trust.
fn certificate(c: &Company) -> (String, String, CertificateDer<'static>) {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("certificate");
    let cert = c.write("cert.pem", &made.cert.pem());
    let key = c.write("key.pem", &made.signing_key.serialize_pem());
    set_mode(&key, 0o600);
    (cert, key, made.cert.der().clone())
}

fn set_mode(path: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// One HTTP/1.1 exchange over TLS, trusting only `trust`; the raw response text.
async fn https(addr: SocketAddr, trust: &CertificateDer<'static>, request: String) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trust.clone()).expect("root");
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let exchange = async {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        let mut tls = connector.connect(name, tcp).await.expect("handshake");
        tls.write_all(request.as_bytes()).await.expect("write");
        let mut out = Vec::new();
        // A close without close_notify is fine: the response is complete (Connection: close).
        let _ = tls.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    };
    tokio::time::timeout(Duration::from_secs(30), exchange).await.expect("an answer in 30 s")
}

fn get(path: &str, host: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_terminates_tls_and_its_cookie_is_secure() {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    let (cert, key, trust) = certificate(&c);
    let server = serve(&c, &["--tls-cert", &cert, "--tls-key", &key]);

    let health = https(server.addr, &trust, get("/healthz", "localhost")).await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"status\":\"ok\""), "{health}");

    // Over TLS, even on a LAN host name, the login page has no cookie warning.
    let page = https(server.addr, &trust, get("/api/login-page", "192.168.1.20:8443")).await;
    assert!(page.contains("\"cookie_warning\":null"), "{page}");

    let body = r#"{"user":"admin","password":"demo-admin-pw"}"#;
    let login = https(
        server.addr,
        &trust,
        format!(
            "POST /api/session HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");
    let cookie = login.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).expect("a cookie");
    assert!(cookie.contains("; Secure") && cookie.contains("HttpOnly"), "{cookie}");

    // Plain http to the TLS port: the handshake fails and no HTTP answer comes back.
    let mut plain = TcpStream::connect(server.addr).await.expect("connect");
    plain.write_all(get("/healthz", "localhost").as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), plain.read_to_end(&mut out)).await.expect("closed");
    assert!(!String::from_utf8_lossy(&out).contains("HTTP/1.1 200"), "plain http must not be served");
}

#[test]
fn a_key_others_may_read_and_a_bad_certificate_are_refused_by_file() {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    let (cert, key, _) = certificate(&c);
    set_mode(&key, 0o644);
    let out = c.run(&["serve", "--listen", "127.0.0.1:0", "--tls-cert", &cert, "--tls-key", &key]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("key.pem") && err.contains("chmod 600"), "{err}");

    set_mode(&key, 0o600);
    let not_pem = c.write("not-a-cert.pem", "hello\n");
    let out = c.run(&["serve", "--listen", "127.0.0.1:0", "--tls-cert", &not_pem, "--tls-key", &key]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not-a-cert.pem") && err.contains("CERTIFICATE"), "{err}");

    // One without the other is a usage error.
    let out = c.run(&["serve", "--listen", "127.0.0.1:0", "--tls-cert", &cert]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
}
