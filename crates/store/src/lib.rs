//! The ledger: an append-only, hash-chained event store, on SQLite (the embedded default) and
//! PostgreSQL, behind one trait. This is the only crate with SQL.
//!
//! Every fact is an immutable event with its actor and record time. Each event's hash covers
//! the previous event's hash and every field of the event, so an edit anywhere in history is
//! found by [`verify`]. Creates are idempotent on the client-supplied event id: the same id
//! with the same content is a no-op, whoever records it again (the first writer stays the
//! event's actor, as TigerBeetle keeps a transfer's first create); the same id with other
//! content is a conflict naming the first differing field, and the whole batch is refused.
//!
//! Every rule that guards a write runs inside the write's transaction: [`append_checked`] reads
//! the ledger under a ledger-wide write lock (SQLite `BEGIN IMMEDIATE`, PostgreSQL
//! `pg_advisory_xact_lock`), lets the caller decide the batch from what it reads, and appends
//! it before the lock is released, so two writers never both pass a check that only one of
//! their writes can satisfy.
//!
//! Architecture invariant: a batch is one transaction; nothing here reads the clock (the
//! record time is a parameter).

pub mod anchor;
pub mod gov;
mod guards;
mod kind;
pub mod ledger;
pub mod logins;
mod migrate;
pub mod notices;
pub mod postgres;
pub mod private;
pub mod run;
pub mod scan;
pub mod sqlite;

use std::fmt::Write;

use jiff::Timestamp;
use sha2::{Digest, Sha256};
use tokencomp_money::TokenAmount;

pub use kind::{EventKind, UnknownKind};
pub use migrate::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

/// What an event is about, typed: a grant and a person with the same id are different subjects,
/// so a lookup by one never returns the other's events.
///
/// The ledger's `subject` column holds [`Subject::text`] (`grant:ID`, `person:ID`,
/// `proposal:ID`, `period:ID`, …). Ledgers written before subjects were typed hold a bare id for
/// grants, people and proposals; the event's kind says which namespace it is in, so
/// [`Subject::of`] reads both forms and old ledgers load, verify and are looked up unchanged.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    Company,
    Token,
    Tokenomics,
    Person(String),
    Grant(String),
    /// A milestone's team subject (`team:ID`), for attestations that name no grant.
    Team(String),
    Proposal(String),
    Period(String),
    Payroll(String),
    /// A price day (`YYYY-MM-DD`).
    Price(String),
    Fx(String),
    Twap(String),
    Milestone(String),
    Oracle(String),
    /// Text in no namespace (see [`Subject::parse`]).
    Other(String),
}

/// Makes a subject of one namespace from its id.
type Namespace = fn(String) -> Subject;

/// The namespaces whose subjects carry an id, with their text prefix.
const SUBJECT_PREFIXES: [(&str, Namespace); 11] = [
    ("person:", Subject::Person),
    ("grant:", Subject::Grant),
    ("team:", Subject::Team),
    ("proposal:", Subject::Proposal),
    ("period:", Subject::Period),
    ("payroll:", Subject::Payroll),
    ("price:", Subject::Price),
    ("fx:", Subject::Fx),
    ("twap:", Subject::Twap),
    ("milestone:", Subject::Milestone),
    ("oracle:", Subject::Oracle),
];

impl Subject {
    /// The column text new events carry.
    pub fn text(&self) -> String {
        let (prefix, id) = match self {
            Subject::Company => return "company".into(),
            Subject::Token => return "token".into(),
            Subject::Tokenomics => return "tokenomics".into(),
            Subject::Other(text) => return text.clone(),
            Subject::Person(id) => ("person", id),
            Subject::Grant(id) => ("grant", id),
            Subject::Team(id) => ("team", id),
            Subject::Proposal(id) => ("proposal", id),
            Subject::Period(id) => ("period", id),
            Subject::Payroll(id) => ("payroll", id),
            Subject::Price(id) => ("price", id),
            Subject::Fx(id) => ("fx", id),
            Subject::Twap(id) => ("twap", id),
            Subject::Milestone(id) => ("milestone", id),
            Subject::Oracle(id) => ("oracle", id),
        };
        format!("{prefix}:{id}")
    }

    /// A subject as a person writes it (`grant:ID`, `person:ID`, `company`, …); text in no
    /// namespace is [`Subject::Other`].
    pub fn parse(text: &str) -> Subject {
        match text {
            "company" => return Subject::Company,
            "token" => return Subject::Token,
            "tokenomics" => return Subject::Tokenomics,
            _ => {}
        }
        for (prefix, make) in SUBJECT_PREFIXES {
            if let Some(id) = text.strip_prefix(prefix) {
                return make(id.to_owned());
            }
        }
        Subject::Other(text.to_owned())
    }

    /// The subject of a stored event of `kind` whose column holds `text`: the typed text, or
    /// the bare id an older ledger wrote, read in the namespace the kind implies.
    pub fn of(kind: EventKind, text: &str) -> Subject {
        let namespace: Namespace = match kind {
            EventKind::Company => return Subject::Company,
            EventKind::Token => return Subject::Token,
            EventKind::Tokenomics => return Subject::Tokenomics,
            EventKind::Person
            | EventKind::Sale
            | EventKind::GovDelegation
            | EventKind::WalletProven
            | EventKind::WalletCancelled => Subject::Person,
            EventKind::GrantIssued
            | EventKind::GrantCorrected
            | EventKind::GrantEvent
            | EventKind::GrantEventReversed
            | EventKind::Vest
            | EventKind::VestReversal
            | EventKind::Forfeiture
            | EventKind::ForfeitureReversal => Subject::Grant,
            EventKind::GovProposal | EventKind::GovBallot => Subject::Proposal,
            // An attestation is filed under its grant, or a team when it names no grant.
            EventKind::Attestation => match text.strip_prefix("team:") {
                Some(team) => return Subject::Team(team.to_owned()),
                None => Subject::Grant,
            },
            EventKind::PeriodRun => Subject::Period,
            EventKind::PayrollClosed => Subject::Payroll,
            EventKind::Price | EventKind::PriceCorrected => Subject::Price,
            EventKind::Fx => Subject::Fx,
            EventKind::Twap => Subject::Twap,
            EventKind::Milestone => Subject::Milestone,
            EventKind::Oracle => Subject::Oracle,
            // Rules files are the company's, filed under `rules`.
            EventKind::RulesAdded => return Subject::Other(text.to_owned()),
        };
        let typed = namespace(String::new()).text();
        match text.strip_prefix(typed.as_str()) {
            Some(id) => namespace(id.to_owned()),
            None => namespace(text.to_owned()),
        }
    }

    /// The column texts an event about this subject may carry: the typed text, and the bare id
    /// of an older ledger where the namespace had none.
    pub fn texts(&self) -> Vec<String> {
        match self {
            Subject::Person(id) | Subject::Grant(id) | Subject::Proposal(id) => vec![self.text(), id.clone()],
            _ => vec![self.text()],
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

/// An event to append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// Client-supplied idempotency key.
    pub id: String,
    /// What the event records (stored as [`EventKind::as_str`]).
    pub kind: EventKind,
    /// What the event is about, as the ledger's column holds it (hashed as stored): the text
    /// of a [`Subject`] (an older ledger's bare id for grants, people and proposals). Read it
    /// typed with [`NewEvent::about`].
    pub subject: String,
    /// Canonical JSON.
    pub payload: String,
    /// The event's principal amount, in base units, when it has one (kept as a column so SQL
    /// can sum it exactly).
    pub amount: Option<TokenAmount>,
    /// Who: `user:<name>`, `key:<id>`, `oracle:<id>` or `system`.
    pub actor: String,
}

impl NewEvent {
    /// What the event is about, typed by its kind.
    pub fn about(&self) -> Subject {
        Subject::of(self.kind, &self.subject)
    }
}

/// An event as the ledger holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: i64,
    pub event: NewEvent,
    pub recorded_at: Timestamp,
    pub prev_hash: String,
    pub hash: String,
}

/// What an append did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Appended {
    pub new: usize,
    /// Already present with the same content.
    pub existing: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("event `{id}` already exists with a different {field}: stored {stored:?}, given {given:?}")]
    Conflict { id: String, field: &'static str, stored: String, given: String },
    /// Restoring (or migrating) needs a ledger with no events.
    #[error("restoring needs an empty ledger; this one has {events} events")]
    NotEmpty { events: i64 },
    #[error("database error: {0}")]
    Backend(String),
    /// A guarded write's check refused it (see [`append_checked`], which returns the reason).
    #[error("the write was refused by its check")]
    Refused,
    #[error("the ledger is damaged: {0}")]
    Corrupt(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> Self {
        // `postgres::Error` displays only its kind ("db error", "error connecting to server");
        // the server's message, or the I/O error, is its source.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        StoreError::Backend(message)
    }
}

/// The ledger as a guarded write sees it: read inside the write's transaction, under the
/// ledger-wide write lock, so nothing is appended between this read and the write.
pub trait LedgerRead {
    /// The last event's sequence and hash; `None` for an empty ledger. Equal heads mean equal
    /// ledgers (the hash chain covers every event), so a caller can reuse what it folded before.
    fn head(&mut self) -> Result<Option<(i64, String)>, StoreError>;
    /// Every event, in sequence order.
    fn events(&mut self) -> Result<Vec<StoredEvent>, StoreError>;
}

/// What a guarded write's decision returns: the batch to append, or `StoreError::Refused`.
pub type Decide<'a> = dyn FnMut(&mut dyn LedgerRead) -> Result<Vec<NewEvent>, StoreError> + 'a;

/// One ledger, whatever holds it.
pub trait Store {
    /// Appends `batch` in order, in one transaction. Events already present with the same
    /// content are skipped (whoever appends them again); one present with other content
    /// refuses the whole batch.
    fn append(&mut self, batch: &[NewEvent], recorded_at: Timestamp) -> Result<Appended, StoreError>;
    /// Takes the ledger-wide write lock, lets `decide` read the ledger and return the batch,
    /// and appends it in the same transaction (as [`Store::append`]). `decide` runs once; when
    /// it fails, nothing is written. Use [`append_checked`], which carries the caller's error.
    fn append_guarded(&mut self, recorded_at: Timestamp, decide: &mut Decide<'_>) -> Result<Appended, StoreError>;
    /// Every event, in sequence order.
    fn events(&mut self) -> Result<Vec<StoredEvent>, StoreError>;
    /// The events about one subject, in sequence order: a grant's never include a person's
    /// with the same id, in a typed ledger or an older one.
    fn events_for(&mut self, subject: &Subject) -> Result<Vec<StoredEvent>, StoreError>;
    /// Up to `limit` events from `start` in its order, narrowed in SQL by the filter's actor,
    /// kind and subject columns (the caller decides with [`scan::EventFilter::matches`]; use
    /// [`scan::scan`], which loops over chunks).
    fn events_chunk(
        &mut self,
        filter: &scan::EventFilter,
        start: scan::Start,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError>;
    /// The number of events.
    fn len(&mut self) -> Result<i64, StoreError>;
    /// Whether the ledger has no events yet.
    fn is_empty(&mut self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }
    /// Which backend, for messages: `sqlite:PATH` or `postgres`.
    fn describe(&self) -> String;
    /// Writes `events` verbatim (sequence, record times and hashes kept) into an empty ledger,
    /// in one transaction: restoring a backup, moving to another backend.
    fn restore(&mut self, events: &[StoredEvent]) -> Result<(), StoreError>;
    /// What is wrong with the triggers that keep the events append-only (missing, disabled or
    /// altered), one line each; empty when they are as the migrations made them. The hash chain
    /// finds an edit; these keep one from being made through SQL in the first place.
    fn append_only_problems(&mut self) -> Result<Vec<String>, StoreError>;
    /// A connection of its own to the same database, for the sessions, failed-login counts and
    /// sign-in log kept beside the ledger (outside its hash chain: see [`logins`]).
    fn logins(&self) -> Result<Box<dyn logins::Logins>, StoreError>;
    /// The notices' outbox, delivery log and preferences (mutable tables beside the ledger,
    /// outside its hash chain: [`notices`]).
    fn outbox(&mut self) -> &mut dyn notices::Outbox;

    // Wallet proofs (issue 18, item 3): single-use SIWE nonces, in a mutable table outside the
    // hash chain (`wallet_nonces`), so a nonce is known to every server sharing the database.
    /// Keeps `nonce` for `person` until `expires_at`, and drops every nonce expired by `now`.
    fn nonce_put(&mut self, nonce: &str, person: &str, expires_at: Timestamp, now: Timestamp)
    -> Result<(), StoreError>;
    /// Removes `nonce` and says whose it was and when it expires: a nonce is taken once, so a
    /// second take of the same nonce (a replay) finds `None`.
    fn nonce_take(&mut self, nonce: &str) -> Result<Option<(String, Timestamp)>, StoreError>;
}

/// Why a guarded write did not happen: its own check refused it, or the store failed.
#[derive(Debug)]
pub enum Checked<E> {
    Refused(E),
    Store(StoreError),
}

impl<E: std::fmt::Display> std::fmt::Display for Checked<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Checked::Refused(e) => e.fmt(f),
            Checked::Store(e) => e.fmt(f),
        }
    }
}

impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for Checked<E> {}

/// The guarded write: under the ledger-wide write lock, `decide` reads the ledger as it stands,
/// runs every rule that guards the write and returns the batch (or its refusal), and the batch is
/// appended in the same transaction. A rule checked before the lock (on a ledger read earlier)
/// could pass for two writers at once; checked here, the second writer sees the first's events.
pub fn append_checked<E>(
    store: &mut dyn Store,
    recorded_at: Timestamp,
    decide: impl FnOnce(&mut dyn LedgerRead) -> Result<Vec<NewEvent>, E>,
) -> Result<Appended, Checked<E>> {
    let mut decide = Some(decide);
    let mut refusal = None;
    let result = store.append_guarded(recorded_at, &mut |ledger| {
        let Some(f) = decide.take() else { return Err(StoreError::Refused) };
        f(ledger).map_err(|e| {
            refusal = Some(e);
            StoreError::Refused
        })
    });
    match (result, refusal) {
        (Ok(a), _) => Ok(a),
        (Err(StoreError::Refused), Some(e)) => Err(Checked::Refused(e)),
        (Err(e), _) => Err(Checked::Store(e)),
    }
}

/// A stored event as one line of JSON: the portable form backups and migrations use.
pub fn event_to_json(e: &StoredEvent) -> serde_json::Value {
    serde_json::json!({
        "seq": e.seq, "id": e.event.id, "kind": e.event.kind.as_str(), "subject": e.event.subject,
        "payload": e.event.payload, "amount": e.event.amount.map(|a| a.to_string()), "actor": e.event.actor,
        "recorded_at": format_time(e.recorded_at), "prev_hash": e.prev_hash, "hash": e.hash,
    })
}

/// A stored event from its line of JSON; a kind this version does not know is refused, naming
/// the event.
pub fn event_from_json(v: &serde_json::Value) -> Result<StoredEvent, StoreError> {
    let s = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| StoreError::Corrupt(format!("missing `{k}`")))
    };
    let amount = match v.get("amount") {
        Some(serde_json::Value::String(a)) => {
            Some(a.parse::<TokenAmount>().map_err(|e| StoreError::Corrupt(e.to_string()))?)
        }
        _ => None,
    };
    let seq =
        v.get("seq").and_then(serde_json::Value::as_i64).ok_or_else(|| StoreError::Corrupt("missing `seq`".into()))?;
    let id = s("id")?;
    Ok(StoredEvent {
        seq,
        event: NewEvent {
            kind: EventKind::stored(seq, &id, &s("kind")?)?,
            id,
            subject: s("subject")?,
            payload: s("payload")?,
            amount,
            actor: s("actor")?,
        },
        recorded_at: s("recorded_at")?.parse().map_err(|e: jiff::Error| StoreError::Corrupt(e.to_string()))?,
        prev_hash: s("prev_hash")?,
        hash: s("hash")?,
    })
}

/// The hash of the genesis event's predecessor.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// `sha256` over the previous hash and every field, each length-prefixed so no two different
/// events can encode to the same bytes.
pub fn hash_event(prev_hash: &str, seq: i64, e: &NewEvent, recorded_at: &str) -> String {
    let mut h = Sha256::new();
    let amount = e.amount.map(|a| a.to_string()).unwrap_or_default();
    for field in
        [prev_hash, &seq.to_string(), &e.id, e.kind.as_str(), &e.subject, &e.payload, &amount, &e.actor, recorded_at]
    {
        h.update(u64::try_from(field.len()).unwrap_or(u64::MAX).to_le_bytes());
        h.update(field.as_bytes());
    }
    hex(&h.finalize())
}

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The SHA-256 of `text`, in hexadecimal (content digests and derived ids).
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// Record times are stored as RFC 3339 UTC with as many fractional digits as the instant needs
/// (up to nanoseconds), so they round-trip exactly and hash the same on every backend. As text
/// they do not sort (`…:00Z` sorts after `…:00.5Z`): the ledger's order is `seq`.
pub fn format_time(t: Timestamp) -> String {
    t.to_string()
}

/// Compares a stored event with one being appended under the same id. The actor is not part of
/// the content: the same fact recorded again by someone else is the same fact (a no-op that keeps
/// the first writer), never a conflict that only impersonating the first writer would get past.
pub(crate) fn same_content(stored: &NewEvent, given: &NewEvent) -> Result<(), StoreError> {
    let fields: [(&'static str, String, String); 4] = [
        ("kind", stored.kind.as_str().to_owned(), given.kind.as_str().to_owned()),
        // Typed: an older ledger's bare id and today's `grant:ID` are the same subject.
        (
            "subject",
            if stored.about() == given.about() { given.subject.clone() } else { stored.subject.clone() },
            given.subject.clone(),
        ),
        ("payload", stored.payload.clone(), given.payload.clone()),
        (
            "amount",
            stored.amount.map(|a| a.to_string()).unwrap_or_default(),
            given.amount.map(|a| a.to_string()).unwrap_or_default(),
        ),
    ];
    for (field, s, g) in fields {
        // The origin is not part of the content either (see `ledger::origin`).
        if s != g && !(field == "payload" && ledger::origin::same_payload(&s, &g)) {
            // Name the JSON field that differs, when the payloads are objects.
            let field = if field == "payload" { payload_field(&s, &g).unwrap_or("payload") } else { field };
            return Err(StoreError::Conflict { id: given.id.clone(), field, stored: s, given: g });
        }
    }
    Ok(())
}

fn payload_field(a: &str, b: &str) -> Option<&'static str> {
    let (a, b): (serde_json::Value, serde_json::Value) = (serde_json::from_str(a).ok()?, serde_json::from_str(b).ok()?);
    let (a, b) = (a.as_object()?, b.as_object()?);
    let key = a.keys().chain(b.keys()).find(|k| *k != "origin" && a.get(*k) != b.get(*k))?;
    // Leak-free: the set of payload keys is small and fixed by the ledger module.
    ledger::PAYLOAD_KEYS.iter().copied().find(|k| *k == key.as_str())
}

/// Where the chain breaks, if it does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {seq} ({id}): {reason}")]
pub struct ChainBreak {
    pub seq: i64,
    pub id: String,
    pub reason: String,
}

/// Recomputes every hash: an edit to any field of any event, a deleted or reordered event,
/// is reported at the first event where the chain no longer holds.
pub fn verify(events: &[StoredEvent]) -> Result<usize, ChainBreak> {
    let mut prev = GENESIS.to_owned();
    for (i, e) in events.iter().enumerate() {
        let brk = |reason: String| ChainBreak { seq: e.seq, id: e.event.id.clone(), reason };
        let expected_seq = i64::try_from(i).unwrap_or(i64::MAX) + 1;
        if e.seq != expected_seq {
            return Err(brk(format!("sequence {} where {expected_seq} was expected (an event is missing)", e.seq)));
        }
        if e.prev_hash != prev {
            return Err(brk("its link to the previous event does not match".into()));
        }
        let h = hash_event(&prev, e.seq, &e.event, &format_time(e.recorded_at));
        if h != e.hash {
            return Err(brk("its content does not match its hash (edited after it was recorded)".into()));
        }
        prev = h;
    }
    Ok(events.len())
}

/// The ledger as text, record times and hashes left out: two ledgers that recorded the same
/// facts in the same order have the same dump, whenever and however often they were run.
pub fn canonical_dump(events: &[StoredEvent]) -> String {
    let mut out = String::new();
    for e in events {
        let ev = &e.event;
        let amount = ev.amount.map(|a| a.to_string()).unwrap_or_default();
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            e.seq, ev.id, ev.kind, ev.subject, amount, ev.actor, ev.payload
        );
    }
    out
}
