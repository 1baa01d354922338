//! Notices end to end (issue 18, item 5): `tokencomp notify` on the demo company sends each
//! October 2026 vest by email to a real SMTP server on loopback (aiosmtpd, STARTTLS and AUTH
//! required) and by webhook to a receiver that verifies the signature with the independent
//! `standardwebhooks` package; a failed webhook is retried with the same id and processed once,
//! and running the scheduler again adds nothing to the outbox.
//!
//! The tools come from TOKENCOMP_TEST_VENV (scripts/tools.sh pins aiosmtpd and standardwebhooks).

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::ledger::Company;

fn venv_python() -> PathBuf {
    let dir = std::env::var_os("TOKENCOMP_TEST_VENV").expect(
        "TOKENCOMP_TEST_VENV is not set: run ./scripts/test (or scripts/tools.sh), which installs aiosmtpd and \
         standardwebhooks",
    );
    PathBuf::from(dir).join("bin/python")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/notices").join(name)
}

/// A helper process this test started, killed (by its own handle) when the test ends.
struct Helper(Child);

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a fixture script and reads its `ready PORT` line.
fn start(script: &str, args: &[&str]) -> (Helper, u16) {
    let mut child = Command::new(venv_python())
        .arg(fixture(script))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("ready line");
    let port = line.trim().strip_prefix("ready ").and_then(|p| p.parse().ok()).unwrap_or_else(|| {
        panic!("{script} did not start: {line:?}");
    });
    (Helper(child), port)
}

fn throwaway_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"])
        // An end-entity certificate (not a CA), as a TLS client accepts for a server.
        .args(["-addext", "subjectAltName=DNS:localhost", "-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "keyUsage=critical,digitalSignature,keyEncipherment"])
        .args(["-addext", "extendedKeyUsage=serverAuth", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
    (cert, key)
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect()
}

#[test]
fn a_vest_arrives_by_email_and_by_signed_webhook_once() {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    let work = c.dir_path().join("notices-test");
    let (mail, hooks) = (work.join("mail"), work.join("hooks"));
    std::fs::create_dir_all(&mail).expect("mail dir");
    std::fs::create_dir_all(&hooks).expect("hooks dir");
    let (cert, key) = throwaway_certificate(&work);
    let (_smtp, smtp_port) = start(
        "smtp_server.py",
        &[cert.to_str().expect("path"), key.to_str().expect("path"), mail.to_str().expect("path"), "payroll", "s3cret"],
    );
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let (_hook, hook_port) = start("webhook_receiver.py", &[secret, hooks.to_str().expect("path")]);

    // Only October's vests (the demo records every month from 2025), only the vest kind to the
    // webhook, and no upcoming vests, so the counts below are the October payroll's.
    let config = format!(
        "since = \"2026-10-01\"\nupcoming_days = 0\nbackoff_seconds = 60\nmax_attempts = 3\n\
         [smtp]\nhost = \"localhost\"\nport = {smtp_port}\nusername = \"payroll\"\npassword = \"s3cret\"\n\
         from = \"Gridline payroll <payroll@gridline.example>\"\nca_file = \"{}\"\n\
         [[webhook]]\nname = \"hr\"\nurl = \"http://127.0.0.1:{hook_port}/hooks\"\nsecret = \"{secret}\"\n\
         kinds = [\"vest\"]\n",
        cert.display()
    );
    let path = c.data().join("notices.toml");
    std::fs::write(&path, &config).expect("notices.toml");
    // Readable by others: refused, because it holds the SMTP password and the webhook secret.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = c.run(&["notify", "--through", "2026-10-31"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("can be read by others"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");

    // The receiver checks the timestamp against its own clock (five minutes either way), so the
    // runs are at the real now and two minutes later.
    let t0 = Timestamp::now();
    let t1 = t0 + SignedDuration::from_secs(120);
    let first = c.ok(&["notify", "--through", "2026-10-31", "--now", &t0.to_string()]);
    // The webhook's first delivery was answered 500: one to retry, everything else sent.
    assert!(first.contains(" 1 to retry, 0 failed"), "{first}");

    // Ada's October vest (tests/it/snapshots/it__compliance__payroll_2026_10.snap, row `ada`):
    // 10000 GRID of token income 8449.00 USD; the employee's withholding is federal 1858.78 +
    // Medicare 122.51 + additional Medicare 76.04 + CA income tax 864.33 + CA SDI 109.84
    // = 3031.50 USD (social security 0.00: her year's wages passed the base).
    let mails: Vec<String> = {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&mail)
            .expect("mail")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names.iter().map(|p| std::fs::read_to_string(p).expect("eml")).collect()
    };
    let ada: Vec<&String> = mails.iter().filter(|m| m.contains("X-Test-Rcpt: ada@gridline.example")).collect();
    assert_eq!(ada.len(), 1, "one vest notice for Ada:\n{mails:#?}");
    let m = ada[0];
    assert!(m.contains("X-Test-Authenticated: True"), "{m}");
    assert!(m.contains("Vested on 2026-10-"), "{m}");
    assert!(m.contains("10,000.00 GRID"), "{m}");
    assert!(m.contains("Income: USD 8,449.00"), "{m}");
    assert!(m.contains("Tax withheld: USD 3,031.50."), "{m}");

    // Every signature verified; the first id arrived once and (after its 500) once more.
    assert_eq!(read_lines(&hooks.join("rejected.log")), Vec::<String>::new());
    let received = read_lines(&hooks.join("received.log"));
    let processed: Vec<Value> = read_lines(&hooks.join("processed.jsonl"))
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let failed_id = received.first().expect("a delivery").clone();
    assert_eq!(received.iter().filter(|id| **id == failed_id).count(), 1);

    let second = c.ok(&["notify", "--through", "2026-10-31", "--now", &t1.to_string()]);
    assert!(second.contains(": 0 new in the outbox, 1 sent, 0 to retry, 0 failed"), "{second}");
    let received_after = read_lines(&hooks.join("received.log"));
    let processed_after = read_lines(&hooks.join("processed.jsonl"));
    // The retry carried the same webhook-id, so the receiver processed nothing new.
    assert_eq!(received_after.len(), received.len() + 1);
    assert_eq!(received_after.last(), Some(&failed_id));
    assert_eq!(processed_after.len(), processed.len());
    assert_eq!(processed_after.iter().filter(|l| l.contains(&failed_id)).count(), 1);
    // One webhook per email'd vest plus the vests of people without an address: as many
    // webhooks as October's vest notices, each processed once.
    let ada_hook: Vec<&Value> = processed.iter().filter(|p| p["payload"]["data"]["person"] == "ada").collect();
    assert_eq!(ada_hook.len(), 1);
    let data = &ada_hook[0]["payload"]["data"];
    assert_eq!(ada_hook[0]["payload"]["type"], "tokencomp.vest");
    assert_eq!((data["income"].as_str(), data["tax"].as_str()), (Some("8449.00"), Some("3031.50")));
    assert_eq!(data["tax_display"], "USD 3,031.50");

    // The log keeps both attempts of the retried webhook; no secret is anywhere in the listing.
    let list = c.ok(&["notify", "--list"]);
    assert!(list.contains("attempt 1 at") && list.contains("failed http 500"), "{list}");
    assert!(list.contains("attempt 2 at") && list.contains("ok http 204"), "{list}");
    assert!(!list.contains("s3cret") && !list.contains("MfKQ9r8"), "{list}");
    // No mail was sent twice.
    let mails_after = std::fs::read_dir(&mail)
        .expect("mail")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml")));
    assert_eq!(mails_after.count(), mails.len());
}

/// `tokencomp serve` with its address line read, killed (by its own handle) when dropped.
fn serve(c: &Company, now: &str) -> (Helper, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokencomp"))
        .arg("--data")
        .arg(c.data())
        .args(["serve", "--listen", "127.0.0.1:0", "--now", now])
        .env_remove("TOKENCOMP_DATABASE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("the address line");
    let host = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("{line}")).to_owned();
    (Helper(child), host)
}

/// A bare HTTP/1.1 request; the whole response as text.
fn http(host: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

fn json_body(res: &str) -> Value {
    let body = res.split("\r\n\r\n").nth(1).unwrap_or_default();
    let (start, end) = (body.find('{').unwrap_or(0), body.rfind('}').map_or(0, |i| i + 1));
    serde_json::from_str(&body[start..end]).unwrap_or_else(|e| panic!("{e}: {res}"))
}

#[test]
fn serve_runs_the_scheduler_and_a_person_who_turned_vests_off_gets_none() {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    let now = Timestamp::now().to_string();

    // Ada turns vest notices off through the API (the demo's logins); the server has no
    // notices file yet, so its scheduler does not run.
    {
        let (_server, host) = serve(&c, &now);
        let login = http(&host, "POST", "/api/session", &[], r#"{"user":"ada","password":"demo-ada-pw"}"#);
        let cookie = login
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: "))
            .and_then(|v| v.split(';').next())
            .unwrap_or_else(|| panic!("no session cookie:\n{login}"))
            .to_owned();
        let csrf = json_body(&login)["csrf_token"].as_str().expect("csrf").to_owned();
        let before = json_body(&http(&host, "GET", "/api/me/notices", &[("Cookie", &cookie)], ""));
        assert_eq!(before["kinds"]["vest"], true, "on by default: {before}");
        let body = r#"{"kinds":{"vest":false}}"#;
        let put = http(&host, "PUT", "/api/me/notices", &[("Cookie", &cookie), ("x-csrf-token", &csrf)], body);
        assert!(put.starts_with("HTTP/1.1 200"), "{put}");
        let after = json_body(&put);
        assert_eq!((after["person"].clone(), after["kinds"]["vest"].clone()), (Value::from("ada"), Value::from(false)));
        assert_eq!(after["kinds"]["milestone"], true, "{after}");
        // An unknown kind is refused, naming the field.
        let bad = r#"{"kinds":{"spam":false}}"#;
        let res = http(&host, "PUT", "/api/me/notices", &[("Cookie", &cookie), ("x-csrf-token", &csrf)], bad);
        assert!(res.starts_with("HTTP/1.1 400") && res.contains("body.kinds"), "{res}");
    }

    let work = c.dir_path().join("notices-serve");
    let mail = work.join("mail");
    std::fs::create_dir_all(&mail).expect("mail dir");
    let (cert, key) = throwaway_certificate(&work);
    let (_smtp, smtp_port) = start(
        "smtp_server.py",
        &[cert.to_str().expect("path"), key.to_str().expect("path"), mail.to_str().expect("path"), "payroll", "s3cret"],
    );
    let config = format!(
        "since = \"2026-10-01\"\nupcoming_days = 0\ninterval_seconds = 10\n\
         [smtp]\nhost = \"localhost\"\nport = {smtp_port}\nusername = \"payroll\"\npassword = \"s3cret\"\n\
         from = \"payroll@gridline.example\"\nca_file = \"{}\"\n",
        cert.display()
    );
    let path = c.data().join("notices.toml");
    std::fs::write(&path, &config).expect("notices.toml");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");

    // The scheduler's first run starts with the server; wait (bounded) until the outbox has
    // notices and none is pending.
    let (_server, _host) = serve(&c, &now);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let list = loop {
        let list = c.ok(&["notify", "--list"]);
        if list.contains(" sent ") && !list.contains(" pending ") {
            break list;
        }
        assert!(std::time::Instant::now() < deadline, "the scheduler sent nothing in 120 s:\n{list}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let mails: Vec<String> = std::fs::read_dir(&mail)
        .expect("mail")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| std::fs::read_to_string(p).expect("eml"))
        .collect();
    assert_eq!(mails.len(), list.lines().filter(|l| l.contains(" sent ")).count(), "{list}");
    // Noor gets her October vests; Ada, who turned vests off, none (and none is queued for her).
    assert!(mails.iter().any(|m| m.contains("X-Test-Rcpt: noor@gridline.example")), "{mails:#?}");
    assert!(!mails.iter().any(|m| m.contains("ada@gridline.example")), "{mails:#?}");
    assert!(!list.contains("person:ada"), "{list}");
}

#[test]
fn milestones_closes_and_upcoming_vests_are_queued_once_and_retried_with_backoff() {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    c.ok(&["payroll", "close", "--period", "2026-10"]);
    // The demo's attestation and the close were recorded now: notify from yesterday on (UTC),
    // through today in the company's zone, with vests due in the next 40 days.
    let now = Timestamp::now();
    let since = (now - SignedDuration::from_hours(24)).to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    // Nothing listens on the endpoint: a closed loopback port refuses each attempt.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let config = format!(
        "since = \"{since}\"\nupcoming_days = 40\nbackoff_seconds = 30\nmax_attempts = 2\nbatch = 1000\n\
         [[webhook]]\nname = \"ops\"\nurl = \"http://127.0.0.1:{port}/\"\nsecret = \"whsec_c2VjcmV0\"\n"
    );
    let path = c.data().join("notices.toml");
    std::fs::write(&path, &config).expect("notices.toml");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");

    let first = c.ok(&["notify", "--now", &now.to_string()]);
    let list = c.ok(&["notify", "--list"]);
    let kinds = |kind: &str| list.lines().filter(|l| l.split_whitespace().nth(1) == Some(kind)).count();
    assert_eq!(kinds("period_closed"), 1, "{list}");
    assert!(list.contains("Period 2026-10 closed"), "{list}");
    assert!(kinds("milestone") >= 1, "the demo's accepted attestation:\n{list}");
    assert!(kinds("upcoming_vest") >= 1, "{list}");
    assert_eq!(kinds("vest"), 0, "no vest since yesterday:\n{list}");
    let queued = kinds("period_closed") + kinds("milestone") + kinds("upcoming_vest");
    assert!(first.contains(&format!("{queued} new in the outbox, 0 sent, {queued} to retry, 0 failed")), "{first}");
    // Every attempt failed to connect and is logged once.
    assert_eq!(
        list.lines().filter(|l| l.trim_start().starts_with("attempt 1 at") && l.contains("failed http")).count(),
        queued
    );

    // Again before the backoff: nothing new, nothing due. After it: the second and last attempt.
    let again = c.ok(&["notify", "--now", &(now + SignedDuration::from_secs(29)).to_string()]);
    assert!(again.contains(": 0 new in the outbox, 0 sent, 0 to retry, 0 failed"), "{again}");
    let last = c.ok(&["notify", "--now", &(now + SignedDuration::from_secs(30)).to_string()]);
    assert!(last.contains(&format!(": 0 new in the outbox, 0 sent, 0 to retry, {queued} failed")), "{last}");
    let list = c.ok(&["notify", "--list"]);
    assert_eq!(list.lines().filter(|l| l.split_whitespace().nth(3) == Some("failed")).count(), queued, "{list}");
}
