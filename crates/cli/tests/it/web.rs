//! `tokencomp serve` as a real server on loopback: Schemathesis against its OpenAPI document,
//! a wrk load test, and the dashboards in headless Chromium. The tools are installed by
//! `scripts/test` (Chromium and wrk with apt-get, playwright-core with npm, Schemathesis with
//! pip into the tools venv); run outside it, these tests fail and say so.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::ledger::{Company, root};

/// Where screenshots and downloads are kept: `target/web-artifacts/<test>`.
fn artifacts(test: &str) -> PathBuf {
    let dir = root().join("target").join("web-artifacts").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

const NOW: &str = "2026-12-06T12:00:00Z";

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(c: &Company) -> Server {
        Server::start_on(c, None)
    }

    /// The company's server, its ledger in PostgreSQL when `database` names one.
    fn start_on(c: &Company, database: Option<&str>) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokencomp"));
        cmd.arg("--data").arg(c.data());
        if let Some(url) = database {
            cmd.args(["--database", url]);
        }
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0", "--label-wallets", "--now", NOW])
            // One address plays every client here: wrk's 2 x 50 connections and Schemathesis's
            // writes (under a fixed clock the write bucket never refills). The limits have
            // their own tests (limits.rs).
            .args(["--connections-per-client", "256", "--writes-per-minute", "1000000"])
            .current_dir(root())
            .env_remove("TOKENCOMP_DATABASE")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("the address line");
        let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected: {line}")).to_owned();
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bare HTTP/1.1 request (no client library needed); the whole response as text.
fn http(base: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    use std::io::{Read, Write};
    let host = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

fn post_json(base: &str, path: &str, body: &str) -> String {
    http(base, "POST", path, &[("Content-Type", "application/json")], body)
}

/// Logs in; the session cookie and CSRF token.
fn session(base: &str, user: &str) -> (String, String) {
    let res = post_json(base, "/api/session", &format!(r#"{{"user":"{user}","password":"demo-{user}-pw"}}"#));
    let cookie = res
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie:\n{res}"))
        .to_owned();
    let body: Value = serde_json::from_str(res.split("\r\n\r\n").nth(1).expect("body")).expect("json");
    (cookie, body["csrf_token"].as_str().expect("csrf").to_owned())
}

/// A GET's status line and JSON body (chunked transfer decoded by taking the JSON's bounds).
fn get_json(base: &str, path: &str, cookie: &str) -> (String, Value) {
    let res = http(base, "GET", path, &[("Cookie", cookie)], "");
    let status = res.lines().next().unwrap_or_default().to_owned();
    let body = res.split("\r\n\r\n").nth(1).unwrap_or_default();
    let (start, end) = (body.find('{').unwrap_or(0), body.rfind('}').map_or(0, |i| i + 1));
    (status, serde_json::from_str(&body[start..end]).unwrap_or_else(|e| panic!("{e}: {res}")))
}

fn demo() -> Company {
    let c = Company::new();
    c.ok(&["demo", "--quiet"]);
    c
}

fn tool(env: &str, what: &str) -> PathBuf {
    PathBuf::from(
        std::env::var_os(env).unwrap_or_else(|| panic!("{env} is not set: run ./scripts/test, which installs {what}")),
    )
}

fn ledger_state(c: &Company) -> (Value, String) {
    let verify = c.ok(&["verify-ledger"]);
    (c.json(&["grants", "--json", "--as-of", "2026-12-06"]), verify)
}

/// Every Schemathesis check runs except `positive_data_acceptance`: the document's strings
/// (person, grant and proposal ids, cursors, dates) admit values that name nothing — an id no one
/// has, a cursor this API never issued, a date outside `tokencomp_api::DATES` or before `from` —
/// and refusing those (400, 403, 404) is the right answer, which that check counts as a failure.
const EXCLUDED_CHECKS: &str = "positive_data_acceptance";

/// The routes each of whose calls is a whole report over the ledger (seconds apiece in a debug
/// build): they get fewer test cases so the run fits CI's time.
const REPORT_ROUTES: &str = "^/api/(books|calendar|tokenomics|chain|ledger/|year-end|payroll/|people/[^/]+/(simulation|tax-report)|periods/[^/]+/payroll)";

/// Test cases per operation: `(admin, auditor and employee, report routes)`; 300, 50 and 50
/// unless `TOKENCOMP_ST_EXAMPLES=A,B,C` says otherwise (a longer local run, e.g. 1000,300,300).
fn examples() -> (u32, u32, u32) {
    let given = std::env::var("TOKENCOMP_ST_EXAMPLES").ok();
    let n: Vec<u32> = given.iter().flat_map(|s| s.split(',')).filter_map(|x| x.trim().parse().ok()).collect();
    match n[..] {
        [a, b, c] => (a, b, c),
        _ => (300, 50, 50),
    }
}

/// Schemathesis against the running server with one login's API key, given to it as the
/// document's `api_key` scheme (so its authentication checks know which scheme it is): every
/// phase (coverage, fuzzing, and stateful runs along the document's links), `examples` test cases
/// per operation (`report` on the report routes). A line for the results file; fails the test on
/// any failure or error.
fn schemathesis(venv: &Path, url: &str, dir: &Path, who: &str, key: &str, examples: u32, report: u32) -> String {
    let config = dir.join(format!("schemathesis-{who}.toml"));
    let text = format!(
        "seed = 1\nworkers = 1\n\n[auth.openapi.api_key]\nbearer = \"{key}\"\n\n[generation]\nmax-examples = {examples}\n\n\
         [[operations]]\ninclude-path-regex = \"{REPORT_ROUTES}\"\ngeneration.max-examples = {report}\n"
    );
    std::fs::write(&config, text).expect("config");
    let started = std::time::Instant::now();
    let out = Command::new(venv.join("bin").join("st"))
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{url}/openapi.json")])
        .args(["--checks", "all", "--exclude-checks", EXCLUDED_CHECKS, "--no-color"])
        .env("SCHEMATHESIS_HOOKS", "")
        // Its cache directory (`.schemathesis/`) goes with the test's data, not into the tree.
        .current_dir(dir)
        .output()
        .expect("st runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "schemathesis ({who}) found problems:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases = text.lines().find(|l| l.contains(" generated,")).unwrap_or_default().trim().to_owned();
    format!(
        "schemathesis {who}: {examples} test cases per operation ({report} on report routes), {:.0} s: {cases}",
        started.elapsed().as_secs_f64()
    )
}

#[test]
fn schemathesis_finds_no_failure_for_an_admin_an_auditor_or_an_employee() {
    let venv = tool("TOKENCOMP_TEST_VENV", "schemathesis");
    let c = demo();
    let keys: Vec<(&str, String)> =
        ["admin", "auditor", "ada"].into_iter().map(|u| (u, c.ok(&["user", "key", u]).trim().to_owned())).collect();
    let server = Server::start(&c);
    let dir = c.data().parent().expect("the data directory's parent").to_owned();
    // The admin reaches every route; the auditor's reads repeat the admin's and most of the
    // employee's calls are refusals, so they run fewer (the times are in the results file).
    let (admin, others, report) = examples();
    let mut lines = String::new();
    for ((who, key), n) in keys.iter().zip([admin, others, others]) {
        let line = schemathesis(&venv, &server.url, &dir, who, key, n, report.min(n));
        println!("{line}");
        lines.push_str(&line);
        lines.push('\n');
    }
    std::fs::write(artifacts("schemathesis").join("schemathesis.txt"), &lines).expect("report");
}

/// The load each route gets: requests a second, over this many connections. wrk's connections
/// each wait a fixed delay between requests, so a request's own time lowers the rate they make;
/// many connections, each slow, keep that loss small.
const RATE: u32 = 500;
const CONNECTIONS: u32 = 50;

/// One wrk run at about `rate` requests a second: `(requests, errors, p50 µs, p99 µs, output)`.
fn wrk(url: &str, cookie: &str, rate: u32, seconds: u32, script: &Path) -> (u64, u64, u64, u64, String) {
    let connections = CONNECTIONS;
    let out = Command::new("wrk")
        .args([
            "-t",
            "2",
            "-c",
            &connections.to_string(),
            "-d",
            &format!("{seconds}s"),
            "--latency",
            "--timeout",
            "10s",
            "-s",
        ])
        .arg(script)
        .args(["-H", &format!("Cookie: tc_session={cookie}"), url])
        // A millisecond or two of each cycle is the request itself.
        .env("WRK_DELAY_MS", (1000 * connections / rate).saturating_sub(2).to_string())
        .output()
        .expect("wrk runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = text
        .lines()
        .find_map(|l| l.strip_prefix("SUMMARY "))
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_else(|| panic!("no summary in:\n{text}"));
    let n = |k: &str| summary[k].as_u64().unwrap_or_else(|| panic!("{k} in {summary}"));
    let errors = n("connect") + n("read") + n("write") + n("timeout") + n("status");
    (n("requests"), errors, n("p50_us"), n("p99_us"), text)
}

#[test]
fn under_load_the_grant_view_and_the_calendar_answer_every_request_and_change_nothing() {
    let c = demo();
    let before = ledger_state(&c);
    let server = Server::start(&c);
    let head = post_json(&server.url, "/api/session", r#"{"user":"ada","password":"demo-ada-pw"}"#);
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: tc_session="))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie:\n{head}"))
        .to_owned();
    let script = root().join("scripts").join("load.lua");
    let seconds: u32 = std::env::var("TOKENCOMP_LOAD_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let grant = format!("{}/api/grants/ada-2024-hire", server.url);
    let calendar = format!("{}/api/calendar?from=2026-12-01&to=2027-11-30", server.url);
    // Both at once, each at 500 requests a second.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| wrk(&grant, &cookie, RATE, seconds, &script));
        let b = s.spawn(|| wrk(&calendar, &cookie, RATE, seconds, &script));
        (a.join().expect("grant run"), b.join().expect("calendar run"))
    });
    // What ran is recorded, never timed: the rate, p50 and p99 go to a results file
    // (scripts/test prints it); the test asserts no errors and that at least 90% of the
    // scheduled requests were answered.
    let scheduled = u64::from(RATE) * u64::from(seconds);
    let mut report = String::new();
    let mut results = Vec::new();
    for (name, (requests, errors, p50, p99, _)) in [("grant view", &a), ("calendar", &b)] {
        let rate = requests / u64::from(seconds);
        let line = format!(
            "load: {name}: {requests} of {scheduled} scheduled requests in {seconds} s ({rate}/s), p50 {p50} µs, p99 {p99} µs, {errors} errors"
        );
        println!("{line}");
        report.push_str(&line);
        report.push('\n');
        results
            .push(serde_json::json!({"route": name, "scheduled": scheduled, "requests": requests, "seconds": seconds,
                                        "rate_per_s": rate, "p50_us": p50, "p99_us": p99, "errors": errors}));
    }
    let dir = artifacts("load");
    std::fs::write(dir.join("load.txt"), &report).expect("load report");
    let doc = serde_json::json!({"rate_per_route": RATE, "connections": CONNECTIONS, "results": results});
    std::fs::write(dir.join("load.json"), serde_json::to_string_pretty(&doc).expect("json")).expect("load results");
    for (name, (requests, errors, _, _, text)) in [("grant view", &a), ("calendar", &b)] {
        assert_eq!(*errors, 0, "{name}: errors under load:\n{text}");
        assert!(
            *requests * 10 >= scheduled * 9,
            "{name}: {requests} of {scheduled} scheduled requests answered:\n{text}"
        );
    }
    drop(server);
    assert_eq!(ledger_state(&c), before, "reads under load changed the ledger");
}

#[test]
fn the_dashboards_work_in_headless_chromium() {
    let chromium = tool("TOKENCOMP_CHROMIUM", "Debian's chromium");
    let browser = tool("TOKENCOMP_BROWSER_DIR", "playwright-core (npm ci in crates/api/tests/browser)");
    // The wallet-proof step signs with eth-account, installed with siwe in the tools venv.
    let venv = tool("TOKENCOMP_TEST_VENV", "eth-account (with siwe, scripts/tools.sh)");
    let c = demo();
    let cli_payroll = c.ok(&["payroll", "--period", "2026-10"]);
    // The demo's prices and exchange rates end with October; the admin runs November below, and
    // an employee's tax year then needs November's closes and rates (without them her page
    // rightly shows the gap).
    let (mut prices, mut fx) = (String::from("date,close_usd\n"), String::from("date,currency,per_usd\n"));
    let mut day: jiff::civil::Date = "2026-11-01".parse().expect("date");
    while day <= "2026-12-06".parse().expect("date") {
        prices.push_str(&format!("{day},0.78\n"));
        fx.push_str(&format!("{day},GBP,0.79\n{day},EUR,0.92\n"));
        day = day.tomorrow().expect("a later day");
    }
    for (kind, text) in [("prices", prices), ("fx", fx)] {
        let file = c.data().parent().expect("parent").join(format!("november-{kind}.csv"));
        std::fs::write(&file, text).expect("csv");
        c.ok(&["import", kind, file.to_str().expect("utf-8 path")]);
    }
    let server = Server::start(&c);
    let out_dir = artifacts("dashboards");
    let out = Command::new("node")
        .arg(browser.join("dashboards.mjs"))
        .args(["--base", &server.url, "--payroll-period", "2026-10", "--out"])
        .arg(&out_dir)
        .env("CHROMIUM", &chromium)
        .env("TOKENCOMP_TEST_VENV", &venv)
        .current_dir(&browser)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the browser run failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON summary:\n{stdout}"));
    assert_eq!(summary["ok"], true, "{summary}");
    assert!(summary["tranches"].as_u64().is_some_and(|n| n > 1), "{summary}");
    // The demo's data runs through October; at NOW November has ended and is the one to run.
    assert_eq!(summary["ran_period"], "2026-11", "{summary}");
    assert_eq!(summary.get("api_errors"), None, "{summary}");
    let downloaded = std::fs::read_to_string(out_dir.join("payroll-2026-10.csv")).expect("the downloaded payroll file");
    assert_eq!(downloaded, cli_payroll, "the browser's payroll file differs from the CLI's");
    // The statement the employee downloaded from /me is a PDF whose text can be read back.
    let statement = out_dir.join("statement.pdf");
    let text = std::process::Command::new("pdftotext")
        .arg(&statement)
        .arg("-")
        .output()
        .expect("pdftotext (scripts/tools.sh installs it)");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("token compensation statement 2026") && text.contains("(ada)"), "{text}");
    for shot in ["admin.png", "employee.png", "audit.png", "governance.png", "wallet.png"] {
        let len = std::fs::metadata(out_dir.join(shot)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 10_000, "{shot} is missing or blank ({len} bytes)");
    }
}

#[test]
fn the_api_serves_a_company_from_postgresql_as_it_does_from_sqlite() {
    let c = demo();
    let db = crate::ops::TestDatabase::create();
    c.ok(&["migrate-store", "--to", &db.url]);
    let lite = Server::start(&c);
    let pg = Server::start_on(&c, Some(&db.url));
    for (user, paths) in [
        (
            "ada",
            &[
                "/api/grants/ada-2024-hire?as_of=2026-10-31",
                "/api/calendar?from=2026-11-01&to=2027-10-31",
                "/api/gov/power?date=2026-10-31",
            ][..],
        ),
        (
            "auditor",
            &[
                "/api/company?as_of=2026-10-31",
                "/api/ledger/verify",
                "/api/ledger/events?limit=50",
                "/api/gov/proposals",
            ][..],
        ),
    ] {
        let (a, _) = session(&lite.url, user);
        let (b, _) = session(&pg.url, user);
        for path in paths {
            let (sa, va) = get_json(&lite.url, path, &a);
            let (sb, vb) = get_json(&pg.url, path, &b);
            assert!(sa.contains(" 200 "), "{path}: {sa}");
            assert_eq!((sa, va), (sb, vb), "{path} differs between SQLite and PostgreSQL");
        }
    }
    // A period run through the API lands in PostgreSQL, with its actor.
    let (cookie, csrf) = session(&pg.url, "admin");
    let res = http(&pg.url, "POST", "/api/periods/2026-11/run", &[("Cookie", &cookie), ("x-csrf-token", &csrf)], "");
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    let (_, ev) = get_json(&pg.url, "/api/ledger/events?subject=period:2026-11", &cookie);
    assert_eq!(ev["items"][0]["actor"], "user:admin", "{ev}");
    let (_, verify) = get_json(&pg.url, "/api/ledger/verify", &cookie);
    assert_eq!(verify["ok"], true);
}
