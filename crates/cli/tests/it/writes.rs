//! Writes that race and writes by two operators, through the binary, on SQLite and on
//! PostgreSQL (issue 15, items 13 and 14): every rule that guards a write is checked inside the
//! write's transaction under the ledger-wide write lock, and the same fact recorded again by
//! another operator is a no-op that keeps the first writer.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use crate::ops::TestDatabase;

/// A company's ledger (SQLite in `data`, or a PostgreSQL database) and who is acting.
struct Ledger {
    data: PathBuf,
    database: Option<String>,
}

impl Ledger {
    fn command(&self, actor: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokencomp"));
        cmd.arg("--data").arg(&self.data);
        if let Some(url) = &self.database {
            cmd.args(["--database", url]);
        }
        cmd.args(["--actor", actor])
            .args(args)
            .current_dir(self.data.parent().expect("a parent"))
            .env_remove("TOKENCOMP_DATABASE")
            .env_remove("TOKENCOMP_DATA")
            .env_remove("TOKENCOMP_ACTOR");
        cmd
    }

    fn run(&self, actor: &str, args: &[&str]) -> Output {
        self.command(actor, args).output().expect("runs")
    }

    fn spawn(&self, actor: &str, args: &[&str]) -> Child {
        self.command(actor, args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("starts")
    }

    fn ok(&self, actor: &str, args: &[&str]) -> String {
        let out = self.run(actor, args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    /// Every event as `seq actor id` lines, and the verify line (count and head hash).
    fn events(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let grants = serde_json::from_str::<Value>(&self.ok("user:test", &["grants", "--json"])).expect("JSON");
        for g in grants["grants"].as_array().expect("grants") {
            let id = g["id"].as_str().expect("id");
            let h: Value = serde_json::from_str(&self.ok("user:test", &["history", id, "--json"])).expect("JSON");
            for e in h["events"].as_array().expect("events") {
                out.push((e["id"].as_str().expect("id").to_owned(), e["actor"].as_str().expect("actor").to_owned()));
            }
        }
        out
    }

    fn verify(&self) -> String {
        self.ok("user:test", &["verify-ledger"])
    }

    /// Every event, straight from the store.
    fn stored(&self) -> Vec<tokencomp_store::StoredEvent> {
        use tokencomp_store::Store;
        let mut store: Box<dyn Store> = match &self.database {
            Some(url) => Box::new(tokencomp_store::postgres::PostgresStore::connect(url).expect("connects")),
            None => {
                Box::new(tokencomp_store::sqlite::SqliteStore::open(&self.data.join("ledger.sqlite")).expect("opens"))
            }
        };
        store.events().expect("events")
    }
}

fn sqlite(dir: &Path) -> Ledger {
    Ledger { data: dir.join("data"), database: None }
}

fn postgres(dir: &Path, db: &TestDatabase) -> Ledger {
    Ledger { data: dir.join("data"), database: Some(db.url.clone()) }
}

/// A company without decimals whose team bucket holds 100 tokens; grant `a-1` holds 10.
const TINY: &str = r#"[company]
name = "Tiny"
time_zone = "UTC"
[token]
symbol = "TT"
decimals = 0
[[person]]
id = "ann"
name = "Ann"
[[person]]
id = "bo"
name = "Bo"
[[grant]]
id = "a-1"
holder = "ann"
amount = "10"
[grant.schedule]
type = "monthly"
start = 2025-02-01
duration_months = 10
[tokenomics]
total_supply = "1000"
tge = 2025-01-01
[[tokenomics.bucket]]
id = "pool"
name = "Team pool"
kind = "team"
amount = "100"
[tokenomics.bucket.schedule]
type = "monthly"
duration_months = 12
[[tokenomics.bucket]]
id = "rest"
name = "Everything else"
kind = "treasury"
share = "90%"
[tokenomics.bucket.schedule]
type = "monthly"
duration_months = 24
"#;

const ROUNDS: usize = 100;

/// Issue 15, item 14: two `tokencomp grant add` processes of 50 tokens each race for the 90 the
/// pool has left, 100 rounds. Exactly one lands each round and the other is refused by name
/// (exit 2); the winner is then terminated before its cliff, so its 50 return to the pool for
/// the next round. Checked before the write's transaction (the binary before this fix), both
/// landed in 28 of 30 rounds and the pool held 110 of its 100.
fn racing_grant_adds_never_overdraw_the_pool(c: &Ledger) {
    let file = c.data.parent().expect("a parent").join("tiny.toml");
    std::fs::write(&file, TINY).expect("writes");
    c.ok("user:admin", &["init", file.to_str().expect("UTF-8")]);
    for round in 0..ROUNDS {
        let add = |who: &str| {
            let id = format!("r{round}-{who}");
            let args = ["grant", "add", "--id", &id, "--holder", "bo", "--amount", "50", "--start", "2025-03-01"];
            c.spawn("user:admin", &args)
        };
        let racers = [add("x"), add("y")];
        let outs: Vec<Output> = racers.into_iter().map(|r| r.wait_with_output().expect("finishes")).collect();
        let codes: Vec<Option<i32>> = outs.iter().map(|o| o.status.code()).collect();
        let winner = match codes.as_slice() {
            [Some(0), Some(2)] => "x",
            [Some(2), Some(0)] => "y",
            _ => panic!(
                "round {round}: exactly one grant must land, got {codes:?}:\n{}",
                outs.iter().map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).collect::<String>()
            ),
        };
        let loser = outs.iter().find(|o| o.status.code() == Some(2)).expect("a refused racer");
        let err = String::from_utf8_lossy(&loser.stderr);
        assert!(
            err.contains("of 50 TT would exceed the team budget: 40 TT remain of the 100 TT in bucket `pool`"),
            "round {round}: {err}"
        );
        // The winner leaves before its cliff (a year from March 1): all 50 return to the pool.
        c.ok("user:admin", &["grant", "terminate", &format!("r{round}-{winner}"), "--date", "2025-03-15"]);
    }
    let grants: Value = serde_json::from_str(&c.ok("user:test", &["grants", "--json"])).expect("JSON");
    let ids: Vec<&str> = grants["grants"].as_array().expect("grants").iter().filter_map(|g| g["id"].as_str()).collect();
    assert_eq!(ids.len(), ROUNDS + 1, "one grant per round, and a-1");
    let report: Value =
        serde_json::from_str(&c.ok("user:test", &["tokenomics", "--json", "--through", "2025-12-31"])).expect("JSON");
    let budget = &report["team_budget"];
    assert_eq!(budget["outstanding"].as_str(), Some("10"), "{budget}");
}

#[test]
fn racing_grant_adds_never_overdraw_the_pool_on_sqlite() {
    let tmp = tempfile::tempdir().expect("temp dir");
    racing_grant_adds_never_overdraw_the_pool(&sqlite(tmp.path()));
}

#[test]
fn racing_grant_adds_never_overdraw_the_pool_on_postgres() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::create();
    racing_grant_adds_never_overdraw_the_pool(&postgres(tmp.path(), &db));
}

/// Issue 15, item 13: a second operator's `apply`, `import` and `run` of what the first recorded
/// are no-ops (exit 0, nothing written; before the fix: "already exists with a different actor",
/// exit 2), every event keeps its first writer, and what the second operator changes is recorded
/// as theirs. A changed fact under a recorded id is still refused, whoever writes it.
fn a_second_operator_re_recording_is_a_no_op(c: &Ledger) {
    let dir = c.data.parent().expect("a parent").to_owned();
    let file = dir.join("tiny.toml");
    std::fs::write(&file, TINY).expect("writes");
    let prices = dir.join("prices.csv");
    std::fs::write(&prices, "date,close_usd\n2025-03-03,1.25\n2025-04-01,1.50\n").expect("writes");
    let (file, prices) = (file.to_str().expect("UTF-8"), prices.to_str().expect("UTF-8"));
    c.ok("user:alice", &["init", file]);
    c.ok("user:alice", &["import", "prices", prices]);
    c.ok("user:alice", &["run", "--through", "2025-06-30", "--quiet"]);
    let (events, head) = (c.events(), c.verify());
    assert!(events.len() > 4 && events.iter().all(|(_, a)| a == "user:alice"), "{events:?}");

    // Bob does it all again: nothing new, nothing refused.
    assert!(c.ok("user:bob", &["apply", file]).contains(": 0 new events ("), "apply");
    assert!(c.ok("user:bob", &["import", "prices", prices]).contains(": 0 new events ("), "import");
    assert!(c.ok("user:bob", &["run", "--through", "2025-06-30", "--quiet"]).contains("nothing to run"), "run");
    assert_eq!(c.verify(), head, "the same head: not one event written");
    assert_eq!(c.events(), events, "the first writer stays recorded");

    // A change of Bob's is his.
    let changed = TINY.replace("name = \"Bo\"", "name = \"Bo\"\n[[person]]\nid = \"cy\"\nname = \"Cy\"");
    let changed_file = dir.join("changed.toml");
    std::fs::write(&changed_file, changed).expect("writes");
    assert!(c.ok("user:bob", &["apply", changed_file.to_str().expect("UTF-8")]).contains(": 1 new events ("));
    c.ok("user:bob", &["grant", "add", "--id", "c-1", "--holder", "cy", "--amount", "5", "--start", "2025-03-01"]);
    let after = c.events();
    assert!(after.contains(&("grant:c-1".to_owned(), "user:bob".to_owned())), "{after:?}");
    assert_eq!(after.iter().filter(|(_, a)| a == "user:alice").count(), events.len());

    // A different close for a recorded day is refused for Bob as for anyone, naming the price
    // and the correction to run instead.
    std::fs::write(dir.join("other.csv"), "date,close_usd\n2025-03-03,9.99\n").expect("writes");
    let other = dir.join("other.csv");
    let out = c.run("user:bob", &["import", "prices", other.to_str().expect("UTF-8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("price USD 2025-03-03: the ledger has 1.25, this file 9.99"), "{err}");
    assert!(err.contains("tokencomp price correct --date 2025-03-03 --currency USD --close 9.99"), "{err}");
}

#[test]
fn a_second_operator_re_recording_is_a_no_op_on_sqlite() {
    let tmp = tempfile::tempdir().expect("temp dir");
    a_second_operator_re_recording_is_a_no_op(&sqlite(tmp.path()));
}

#[test]
fn a_second_operator_re_recording_is_a_no_op_on_postgres() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::create();
    a_second_operator_re_recording_is_a_no_op(&postgres(tmp.path(), &db));
}

/// Issue 15, item 13, the other half: a fact set back to what it was before (a person's name
/// reverted) is a change, recorded as the reverting operator's new event. Addressed by content,
/// it used to find the first writer's old event and change nothing: the revert lost and the old
/// writer shown for it.
fn a_revert_is_the_reverting_operators_change(c: &Ledger) {
    let dir = c.data.parent().expect("a parent").to_owned();
    let (tiny, renamed) = (dir.join("tiny.toml"), dir.join("renamed.toml"));
    std::fs::write(&tiny, TINY).expect("writes");
    std::fs::write(&renamed, TINY.replace("name = \"Bo\"", "name = \"Bob\"")).expect("writes");
    let (tiny, renamed) = (tiny.to_str().expect("UTF-8"), renamed.to_str().expect("UTF-8"));
    c.ok("user:alice", &["init", tiny]);
    assert!(c.ok("user:alice", &["apply", renamed]).contains(": 1 new events ("));
    assert!(c.ok("user:bob", &["apply", tiny]).contains(": 1 new events ("), "the revert is recorded");
    let events = c.stored();
    let last = &events.last().expect("events").event;
    assert_eq!((last.kind.as_str(), last.actor.as_str()), ("person", "user:bob"));
    assert!(last.id.starts_with("person:bo:") && last.id.contains(":again:"), "{}", last.id);
    assert!(last.payload.contains("\"name\":\"Bo\""), "{}", last.payload);
    // Bo is Bo again; the same file once more, by anyone, changes nothing.
    assert!(c.ok("user:carol", &["apply", tiny]).contains(": 0 new events ("));
    assert_eq!(c.stored().len(), events.len());
    assert!(c.ok("user:carol", &["apply", renamed]).contains(": 1 new events ("), "and forward again");
}

#[test]
fn a_revert_is_the_reverting_operators_change_on_sqlite() {
    let tmp = tempfile::tempdir().expect("temp dir");
    a_revert_is_the_reverting_operators_change(&sqlite(tmp.path()));
}

#[test]
fn a_revert_is_the_reverting_operators_change_on_postgres() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = TestDatabase::create();
    a_revert_is_the_reverting_operators_change(&postgres(tmp.path(), &db));
}
