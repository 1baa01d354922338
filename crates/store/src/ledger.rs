//! The ledger's vocabulary: which facts are recorded, how each is encoded as an event, and
//! how a company's state is folded back from the events with the core engine.
//!
//! Event ids are deterministic, so loading the same thing twice is a no-op and a re-run after
//! a crash writes exactly what an uninterrupted run would have:
//! - `company:<hash>`, `token:<hash>`, `person:<id>:<hash>`: settings and people, addressed by
//!   content (a change is a new event; the latest wins);
//! - `price:<currency>:<date>`: one close per day (a different close, or volume, for a recorded
//!   day is a conflict); `fx:<currency>:<date>`: one rate per day, likewise;
//! - `twap:<date>`: a Uniswap V2 pair's price cumulative at the end of the day, one per day
//!   (a different point for a recorded day is a conflict);
//! - `grant:<id>` issues a grant, `grant:<id>:terms:<hash>` corrects its terms,
//!   `grant:<id>:event:<event>` adds a lifecycle event, `…:reversed` reverses one;
//! - `vest:<grant>:<date>:<reason>:<period>`, `forfeit:…`: what a period run recognized (a
//!   later run records only differences, as new or reversing entries);
//! - `period:<id>`: the period's run is complete (written in the same transaction);
//! - `sale:<id>`: a sale of tokens from a person's wallet (the amount column is the amount sold);
//! - `payroll:<period>:closed`: the period's payroll export, frozen;
//! - `tokenomics:<hash>`: the `[tokenomics]` section, addressed by content (a changed section
//!   is a new event; the latest wins; read back through the company-file parser like grants).
//! - `gov.delegation:<from>:<effective>:<to or ->`: a delegation of voting power from a date
//!   on (`-` revokes); `gov.proposal:<id>`: a proposal (checked again when folded);
//!   `gov.ballot:<proposal>:<voter>:<cast_at>`: a ballot (a later one of the voter replaces it
//!   in the tally, and both stay in the ledger). What a new one may be is checked by
//!   [`crate::gov::validate_gov`] before it is appended.
//!
//! Keys added after the first ledgers (the company's policy, a person's salary and wallet, a
//! price's volume) are written only when they are set, and read as their defaults when absent:
//! an old ledger folds, and re-recording an unchanged company, person or price gives the same
//! event (the same id and payload) as before, never a conflict.
//!
//! Grant terms and events are stored as canonical TOML (`tokencomp_core::canonical`) and read
//! back through the company-file parser, so the ledger never holds a grant that would not
//! pass every check.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::Map;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokencomp_core::attestation::{Book, Fixed18, Met, Registry, Signer};
use tokencomp_core::company::MilestoneTerms;
use tokencomp_core::company::{
    AttributionPolicy, ClassificationPolicy, CompanySettings, FlatRuleInput, FmvSource, FxRate, GrantTerms,
    PayFrequency, Person, PersonKind, Policy, Price, TokenSettings, WithholdingMethod,
};
use tokencomp_core::diag::Diagnostic;
use tokencomp_core::fmv::TwapPoint;
use tokencomp_core::governance::{Ballot, Choice, Delegations, GovError, Proposal, check_proposal};
use tokencomp_core::tokenomics::Tokenomics;
use tokencomp_core::{ForfeitReason, VestReason, canonical};
use tokencomp_money::{Currency, Decimal, Token, TokenAmount};

use crate::{EventKind, NewEvent, StoredEvent, Subject};

/// Every key a payload may have (used to name the differing field of a conflict).
pub const PAYLOAD_KEYS: &[&str] = &[
    "name",
    "time_zone",
    "pay_frequency",
    "demo_through",
    "symbol",
    "decimals",
    "chain_id",
    "address",
    "id",
    "email",
    "kind",
    "country",
    "region",
    "hired",
    "date",
    "close",
    "currency",
    "grant",
    "holder",
    "terms",
    "event",
    "event_id",
    "amount",
    "reason",
    "period",
    "start",
    "end",
    "vests",
    "forfeitures",
    "withholding_method",
    "sale_fee_bps",
    "slippage_bps",
    "fmv",
    "fmv_days",
    "attribution",
    "classification",
    "flat_withholding",
    "salary",
    "wallet",
    "volume",
    "per_usd",
    "person",
    "price",
    "fee",
    "selection",
    "lots",
    "rows",
    "digest",
    "anchor",
    "pair",
    "at",
    "cumulative",
    "token_decimals",
    "quote_decimals",
    "block",
    "milestone",
    "oracle",
    "action",
    "status",
    "submission",
    "value",
    "signer",
    "nonce",
    "met_value",
    "oracles",
    "from",
    "to",
    "effective",
    "title",
    "description",
    "snapshot_date",
    "opens",
    "closes",
    "quorum_bps",
    "unvested_weight_bps",
    "proposal",
    "voter",
    "choice",
    "cast_at",
    "set_reason",
    "overrides",
];

/// How a sale picks the lots it disposes of.
pub const SALE_SELECTIONS: [&str; 4] = ["fifo", "lifo", "hifo", "specific"];

/// A fact, before it becomes an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    Company(CompanySettings),
    Token(TokenSettings),
    Person(Person),
    Price(Price),
    GrantIssued {
        grant: String,
        holder: String,
        terms: String,
    },
    GrantCorrected {
        grant: String,
        holder: String,
        terms: String,
    },
    GrantEvent {
        grant: String,
        event_id: String,
        event: String,
    },
    GrantEventReversed {
        grant: String,
        event_id: String,
    },
    Vest {
        grant: String,
        holder: String,
        date: Date,
        reason: VestReason,
        period: String,
        amount: TokenAmount,
    },
    VestReversal {
        grant: String,
        holder: String,
        date: Date,
        reason: VestReason,
        period: String,
        amount: TokenAmount,
    },
    Forfeiture {
        grant: String,
        holder: String,
        date: Date,
        reason: ForfeitReason,
        period: String,
        amount: TokenAmount,
    },
    ForfeitureReversal {
        grant: String,
        holder: String,
        date: Date,
        reason: ForfeitReason,
        period: String,
        amount: TokenAmount,
    },
    PeriodRun {
        period: String,
        start: Date,
        end: Date,
        vests: usize,
        forfeitures: usize,
    },
    FxRate(FxRate),
    /// A pair's price cumulative at the end of `date` (for the TWAP fair market value).
    TwapPoint {
        date: Date,
        point: TwapPoint,
    },
    /// Tokens sold from a person's wallet: `price` is USD per whole token, `fee` the sale's
    /// total fee in USD, `selection` one of [`SALE_SELECTIONS`]; `lots` are the (lot id, amount)
    /// pairs a specific identification names.
    Sale {
        id: String,
        person: String,
        wallet: String,
        date: Date,
        amount: TokenAmount,
        price: Decimal,
        fee: Decimal,
        selection: String,
        lots: Vec<(String, TokenAmount)>,
    },
    /// A pay period's payroll export, frozen: `rows` is kept verbatim, `digest` as given.
    /// A recorded close replaced (a price fixed after the fact); the latest correction wins.
    PriceCorrected {
        currency: Currency,
        date: Date,
        close: Decimal,
        reason: String,
    },
    PayrollClosed {
        period: String,
        rows: String,
        digest: String,
        /// The ledger's head when the period was closed (kept outside the ledger too, beside
        /// the export: see [`crate::anchor`]).
        anchor: Option<crate::anchor::Head>,
    },
    /// The `[tokenomics]` section as canonical TOML (`canonical::write_tokenomics`); the latest
    /// recorded one is the company's.
    Tokenomics {
        terms: String,
    },
    /// A `[[milestone]]` as canonical TOML (`canonical::write_milestone`); the latest recorded
    /// one of an id is the company's.
    Milestone {
        id: String,
        terms: String,
    },
    /// An oracle registry action at `at` (unix seconds): `register` and `rotate` carry the new
    /// key's address, `revoke` none.
    Oracle {
        action: OracleAction,
        oracle: String,
        address: Option<String>,
        at: u64,
    },
    /// An attestation submitted at `at`, as submitted (`submission`, the JSON file), with what
    /// came of it. `subject` is the grant (or team) the ledger files it under.
    Attestation(AttestationRecord),
    /// `from` delegates their voting power to `to` from `effective` on; `to: None` revokes.
    Delegation {
        from: String,
        to: Option<String>,
        effective: Date,
    },
    /// A governance proposal.
    Proposal(Proposal),
    /// A holder's ballot on a proposal, cast at `cast_at`.
    Ballot {
        proposal: String,
        voter: String,
        choice: Choice,
        cast_at: Timestamp,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OracleAction {
    Register,
    Rotate,
    Revoke,
}

impl OracleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            OracleAction::Register => "register",
            OracleAction::Rotate => "rotate",
            OracleAction::Revoke => "revoke",
        }
    }
}

/// A submitted attestation as the ledger keeps it. An accepted one carries what applying its
/// set did: the milestone's grant event id, the (median) value it was met with, the oracles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationRecord {
    /// The EIP-712 digest, 0x hex.
    pub digest: String,
    pub milestone: String,
    pub subject: String,
    pub submission: String,
    pub at: u64,
    /// The recovered signer, when the signature recovered (0x hex).
    pub signer: Option<String>,
    pub nonce: u64,
    pub value: String,
    /// `Ok(event id)` when accepted; `Err(reason)` when refused: this file's own `Rejection`
    /// name, the set's when the set as a whole failed (`quorum_not_met`, `already_applied`), or
    /// `set_refused` when the file passed and another file of its set was refused.
    pub outcome: Result<Accepted, String>,
    /// A refused set's reason (the first refusal, as the contract reports it), on each of its
    /// files; `None` when accepted.
    pub set_reason: Option<String>,
    /// What the submission overrode (development chains only).
    pub overrides: Overrides,
}

/// An attestation checked at another instant than its recording (`clock`), or under another
/// domain than the company's deployment (`domain`: chain id and verifying contract).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    pub clock: bool,
    pub domain: Option<(u64, String)>,
}

impl Overrides {
    pub fn any(&self) -> bool {
        self.clock || self.domain.is_some()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub event_id: String,
    /// Base units of the value the milestone was met with.
    pub met_value: String,
    pub oracles: Vec<String>,
}

fn short_hash(s: &str) -> String {
    crate::hex(&Sha256::digest(s.as_bytes())[..8])
}

pub fn pay_frequency_name(f: PayFrequency) -> &'static str {
    match f {
        PayFrequency::Monthly => "monthly",
        PayFrequency::SemiMonthly => "semi-monthly",
        PayFrequency::Biweekly => "biweekly",
    }
}

fn kind_name(k: PersonKind) -> &'static str {
    match k {
        PersonKind::Employee => "employee",
        PersonKind::Contractor => "contractor",
        PersonKind::Advisor => "advisor",
    }
}

fn vest_reason(s: &str) -> Option<VestReason> {
    [VestReason::Cliff, VestReason::Vest, VestReason::Acceleration, VestReason::Milestone]
        .into_iter()
        .find(|r| r.as_str() == s)
}

fn forfeit_reason(s: &str) -> Option<ForfeitReason> {
    [ForfeitReason::Termination, ForfeitReason::Revocation].into_iter().find(|r| r.as_str() == s)
}

impl Fact {
    /// The event that records this fact.
    pub fn to_event(&self, actor: &str) -> NewEvent {
        let (id, kind, subject, payload, amount) = match self {
            Fact::Company(c) => {
                let mut p = json!({"name": c.name, "time_zone": c.time_zone_name, "pay_frequency": pay_frequency_name(c.pay_frequency),
                               "demo_through": c.demo_through.map(|d| d.to_string())});
                if let Value::Object(m) = &mut p {
                    policy_keys(m, &c.policy);
                }
                (format!("company:{}", short_hash(&p.to_string())), EventKind::Company, "company".to_owned(), p, None)
            }
            Fact::Token(t) => {
                let p = json!({"symbol": t.token.symbol(), "decimals": t.token.decimals(), "chain_id": t.chain_id, "address": t.address});
                (format!("token:{}", short_hash(&p.to_string())), EventKind::Token, "token".to_owned(), p, None)
            }
            Fact::Person(p) => {
                let mut v = json!({"id": p.id, "name": p.name, "email": p.email, "kind": kind_name(p.kind), "country": p.country,
                               "region": p.region, "hired": p.hired.map(|d| d.to_string())});
                if let Value::Object(m) = &mut v {
                    if let Some(salary) = p.salary {
                        m.insert("salary".into(), json!(salary.to_string()));
                    }
                    if let Some(wallet) = &p.wallet {
                        m.insert("wallet".into(), json!(wallet));
                    }
                }
                (
                    format!("person:{}:{}", p.id, short_hash(&v.to_string())),
                    EventKind::Person,
                    Subject::Person(p.id.clone()).text(),
                    v,
                    None,
                )
            }
            Fact::Price(p) => {
                let mut v =
                    json!({"date": p.date.to_string(), "close": p.close.to_string(), "currency": p.currency.code()});
                if let (Value::Object(m), Some(volume)) = (&mut v, p.volume) {
                    m.insert("volume".into(), json!(volume.to_string()));
                }
                (format!("price:{}:{}", p.currency, p.date), EventKind::Price, format!("price:{}", p.date), v, None)
            }
            Fact::FxRate(r) => {
                let v = json!({"date": r.date.to_string(), "currency": r.currency.code(), "per_usd": r.per_usd.to_string()});
                (format!("fx:{}:{}", r.currency, r.date), EventKind::Fx, format!("fx:{}", r.date), v, None)
            }
            Fact::TwapPoint { date, point } => {
                let v = json!({"date": date.to_string(), "pair": point.pair, "at": point.at,
                               "cumulative": point.cumulative.to_string(), "token_decimals": point.decimals.0,
                               "quote_decimals": point.decimals.1, "block": point.block});
                (format!("twap:{date}"), EventKind::Twap, format!("twap:{date}"), v, None)
            }
            Fact::Sale { id, person, wallet, date, amount, price, fee, selection, lots } => {
                let lots: Vec<Value> =
                    lots.iter().map(|(lot, a)| json!({"lot": lot, "amount": a.base_units().to_string()})).collect();
                let v = json!({"id": id, "person": person, "wallet": wallet, "date": date.to_string(),
                               "price": price.to_string(), "fee": fee.to_string(), "selection": selection, "lots": lots});
                (format!("sale:{id}"), EventKind::Sale, Subject::Person(person.clone()).text(), v, Some(*amount))
            }
            Fact::PriceCorrected { currency, date, close, reason } => {
                let v = json!({"date": date.to_string(), "close": close.to_string(), "currency": currency.code(), "reason": reason});
                let id = format!("price:{currency}:{date}:corrected:{}", short_hash(&v.to_string()));
                (id, EventKind::PriceCorrected, format!("price:{date}"), v, None)
            }
            Fact::PayrollClosed { period, rows, digest, anchor } => {
                let mut v = json!({"period": period, "rows": rows, "digest": digest});
                if let Some(head) = anchor {
                    v["anchor"] = head.to_json();
                }
                (format!("payroll:{period}:closed"), EventKind::PayrollClosed, format!("payroll:{period}"), v, None)
            }
            Fact::Tokenomics { terms } => {
                let v = json!({"terms": terms});
                (format!("tokenomics:{}", short_hash(terms)), EventKind::Tokenomics, "tokenomics".to_owned(), v, None)
            }
            Fact::Milestone { id, terms } => {
                let v = json!({"id": id, "terms": terms});
                (
                    format!("milestone:{id}:{}", short_hash(terms)),
                    EventKind::Milestone,
                    format!("milestone:{id}"),
                    v,
                    None,
                )
            }
            Fact::Oracle { action, oracle, address, at } => {
                let v = json!({"action": action.as_str(), "oracle": oracle, "address": address, "at": at});
                let id = format!("oracle:{oracle}:{}:{}", action.as_str(), short_hash(&v.to_string()));
                (id, EventKind::Oracle, format!("oracle:{oracle}"), v, None)
            }
            Fact::Attestation(a) => {
                let mut v = json!({"digest": a.digest, "milestone": a.milestone, "subject": a.subject,
                                   "submission": a.submission, "at": a.at, "signer": a.signer,
                                   "nonce": a.nonce, "value": a.value});
                // Written only when set, so a plain submission's event is what it always was.
                if let Value::Object(m) = &mut v {
                    if let Some(r) = &a.set_reason {
                        m.insert("set_reason".into(), json!(r));
                    }
                    if a.overrides.any() {
                        let mut o = Map::new();
                        if a.overrides.clock {
                            o.insert("clock".into(), json!(true));
                        }
                        if let Some((chain_id, contract)) = &a.overrides.domain {
                            o.insert("domain".into(), json!({"chain_id": chain_id, "contract": contract}));
                        }
                        m.insert("overrides".into(), Value::Object(o));
                    }
                }
                let id = match (&a.outcome, &mut v) {
                    (Ok(ok), Value::Object(m)) => {
                        m.insert("status".into(), json!("accepted"));
                        m.insert("event_id".into(), json!(ok.event_id));
                        m.insert("met_value".into(), json!(ok.met_value));
                        m.insert("oracles".into(), json!(ok.oracles));
                        format!("attestation:{}", a.digest)
                    }
                    (Err(reason), Value::Object(m)) => {
                        m.insert("status".into(), json!("rejected"));
                        m.insert("reason".into(), json!(reason));
                        format!("attestation:{}:rejected:{}:{}", a.digest, reason, a.at)
                    }
                    _ => format!("attestation:{}", a.digest),
                };
                let subject = match a.subject.strip_prefix("team:") {
                    Some(team) => Subject::Team(team.to_owned()),
                    None => Subject::Grant(a.subject.strip_prefix("grant:").unwrap_or(&a.subject).to_owned()),
                };
                (id, EventKind::Attestation, subject.text(), v, None)
            }
            Fact::Delegation { from, to, effective } => {
                let v = json!({"from": from, "to": to, "effective": effective.to_string()});
                let id = format!("gov.delegation:{from}:{effective}:{}", to.as_deref().unwrap_or("-"));
                (id, EventKind::GovDelegation, Subject::Person(from.clone()).text(), v, None)
            }
            Fact::Proposal(p) => {
                let v = json!({"id": p.id, "title": p.title, "description": p.description,
                               "snapshot_date": p.snapshot_date.to_string(), "opens": p.opens.to_string(),
                               "closes": p.closes.to_string(), "quorum_bps": p.quorum_bps,
                               "unvested_weight_bps": p.unvested_weight_bps});
                (
                    format!("gov.proposal:{}", p.id),
                    EventKind::GovProposal,
                    Subject::Proposal(p.id.clone()).text(),
                    v,
                    None,
                )
            }
            Fact::Ballot { proposal, voter, choice, cast_at } => {
                let v = json!({"proposal": proposal, "voter": voter, "choice": choice.as_str(),
                               "cast_at": cast_at.to_string()});
                (
                    format!("gov.ballot:{proposal}:{voter}:{cast_at}"),
                    EventKind::GovBallot,
                    Subject::Proposal(proposal.clone()).text(),
                    v,
                    None,
                )
            }
            Fact::GrantIssued { grant, holder, terms } => {
                let v = json!({"grant": grant, "holder": holder, "terms": terms});
                (format!("grant:{grant}"), EventKind::GrantIssued, Subject::Grant(grant.clone()).text(), v, None)
            }
            Fact::GrantCorrected { grant, holder, terms } => {
                let v = json!({"grant": grant, "holder": holder, "terms": terms});
                (
                    format!("grant:{grant}:terms:{}", short_hash(terms)),
                    EventKind::GrantCorrected,
                    Subject::Grant(grant.clone()).text(),
                    v,
                    None,
                )
            }
            Fact::GrantEvent { grant, event_id, event } => {
                let v = json!({"grant": grant, "event_id": event_id, "event": event});
                (
                    format!("grant:{grant}:event:{event_id}"),
                    EventKind::GrantEvent,
                    Subject::Grant(grant.clone()).text(),
                    v,
                    None,
                )
            }
            Fact::GrantEventReversed { grant, event_id } => {
                let v = json!({"grant": grant, "event_id": event_id});
                (
                    format!("grant:{grant}:event:{event_id}:reversed"),
                    EventKind::GrantEventReversed,
                    Subject::Grant(grant.clone()).text(),
                    v,
                    None,
                )
            }
            Fact::Vest { grant, holder, date, reason, period, amount } => {
                recognition("vest", "", EventKind::Vest, grant, holder, *date, reason.as_str(), period, *amount)
            }
            Fact::VestReversal { grant, holder, date, reason, period, amount } => recognition(
                "vest",
                ":reversal",
                EventKind::VestReversal,
                grant,
                holder,
                *date,
                reason.as_str(),
                period,
                *amount,
            ),
            Fact::Forfeiture { grant, holder, date, reason, period, amount } => recognition(
                "forfeit",
                "",
                EventKind::Forfeiture,
                grant,
                holder,
                *date,
                reason.as_str(),
                period,
                *amount,
            ),
            Fact::ForfeitureReversal { grant, holder, date, reason, period, amount } => recognition(
                "forfeit",
                ":reversal",
                EventKind::ForfeitureReversal,
                grant,
                holder,
                *date,
                reason.as_str(),
                period,
                *amount,
            ),
            Fact::PeriodRun { period, start, end, vests, forfeitures } => {
                let v = json!({"period": period, "start": start.to_string(), "end": end.to_string(), "vests": vests, "forfeitures": forfeitures});
                (format!("period:{period}"), EventKind::PeriodRun, format!("period:{period}"), v, None)
            }
        };
        NewEvent { id, kind, subject, payload: payload.to_string(), amount, actor: actor.to_owned() }
    }
}

/// The company's policy keys that differ from the defaults (see the module doc).
fn policy_keys(m: &mut Map<String, Value>, p: &Policy) {
    if p.withholding != WithholdingMethod::default() {
        m.insert("withholding_method".into(), json!(p.withholding.as_str()));
    }
    if p.sale_fee_bps != 0 {
        m.insert("sale_fee_bps".into(), json!(p.sale_fee_bps));
    }
    if p.slippage_bps != 0 {
        m.insert("slippage_bps".into(), json!(p.slippage_bps));
    }
    if p.fmv != FmvSource::default() {
        m.insert("fmv".into(), json!(p.fmv.as_str()));
        m.insert("fmv_days".into(), json!(p.fmv.days()));
    }
    if p.attribution != AttributionPolicy::default() {
        m.insert("attribution".into(), json!(p.attribution.as_str()));
    }
    if p.classification != ClassificationPolicy::default() {
        m.insert("classification".into(), json!(p.classification.as_str()));
    }
    if !p.flat_rules.is_empty() {
        let rules: Vec<Value> = p
            .flat_rules
            .iter()
            .map(|r| json!({"country": r.country, "employee_bps": r.employee_bps, "employer_bps": r.employer_bps}))
            .collect();
        m.insert("flat_withholding".into(), Value::Array(rules));
    }
}

/// The id, kind, subject, payload and amount of what a period run recognized (or reversed):
/// `{prefix}:{grant}:{date}:{reason}:{period}{suffix}`.
#[allow(clippy::too_many_arguments)]
fn recognition(
    prefix: &str,
    suffix: &str,
    kind: EventKind,
    grant: &str,
    holder: &str,
    date: Date,
    reason: &str,
    period: &str,
    amount: TokenAmount,
) -> (String, EventKind, String, Value, Option<TokenAmount>) {
    let v = json!({"grant": grant, "holder": holder, "date": date.to_string(), "reason": reason, "period": period});
    (
        format!("{prefix}:{grant}:{date}:{reason}:{period}{suffix}"),
        kind,
        Subject::Grant(grant.to_owned()).text(),
        v,
        Some(amount),
    )
}

/// A grant as the ledger holds it: its current terms and active events (canonical TOML), and
/// the terms they fold to.
#[derive(Clone, Debug)]
pub struct GrantRecord {
    pub terms_toml: String,
    /// (event id, canonical TOML), in the order they were recorded; reversed ones removed.
    pub events: Vec<(String, String)>,
    pub terms: GrantTerms,
    pub issued_seq: i64,
}

/// A recorded sale, as `Fact::Sale` gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleRecord {
    pub id: String,
    pub person: String,
    pub wallet: String,
    pub date: Date,
    pub amount: TokenAmount,
    /// USD per whole token.
    pub price: Decimal,
    /// The sale's total fee, USD.
    pub fee: Decimal,
    /// One of [`SALE_SELECTIONS`].
    pub selection: String,
    pub lots: Vec<(String, TokenAmount)>,
}

impl From<SaleRecord> for Fact {
    fn from(s: SaleRecord) -> Fact {
        Fact::Sale {
            id: s.id,
            person: s.person,
            wallet: s.wallet,
            date: s.date,
            amount: s.amount,
            price: s.price,
            fee: s.fee,
            selection: s.selection,
            lots: s.lots,
        }
    }
}

/// A company's state, folded from its events.
#[derive(Clone, Debug)]
pub struct Company {
    pub company: CompanySettings,
    pub token: TokenSettings,
    pub people: BTreeMap<String, Person>,
    /// Closes; a day's volume, when recorded, is in `volumes`.
    pub prices: BTreeMap<(Currency, Date), Decimal>,
    /// Tokens traded per day, keyed like `prices`.
    pub volumes: BTreeMap<(Currency, Date), Decimal>,
    /// Units of the currency per 1 USD, by day.
    pub fx: BTreeMap<(Currency, Date), Decimal>,
    /// A pair's price cumulative at the end of each day (`tokencomp chain price`).
    pub twap: BTreeMap<Date, TwapPoint>,
    /// In ledger order.
    pub sales: Vec<SaleRecord>,
    /// Period → (the frozen export, its digest).
    pub payroll_closed: BTreeMap<String, (String, String)>,
    pub grants: BTreeMap<String, GrantRecord>,
    /// Net recognized vest amounts per (grant, date, reason).
    pub recognized: BTreeMap<(String, Date, VestReason), u128>,
    pub forfeits_recognized: BTreeMap<(String, Date, ForfeitReason), u128>,
    pub periods_run: BTreeSet<String>,
    /// The latest recorded `[tokenomics]`, when any.
    pub tokenomics: Option<Tokenomics>,
    /// The latest recorded terms of each `[[milestone]]`, by id.
    pub milestones: BTreeMap<String, MilestoneTerms>,
    /// The oracle registry as its recorded actions leave it.
    pub registry: Registry,
    /// Every attestation submitted, in ledger order.
    pub attestations: Vec<AttestationRecord>,
    /// Delegations, proposals and ballots.
    pub governance: Governance,
}

/// A recorded delegation (`to: None` revokes) in force from `effective` on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelegationRecord {
    pub from: String,
    pub to: Option<String>,
    pub effective: Date,
}

/// What the ledger holds of governance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Governance {
    /// In ledger order.
    pub delegations: Vec<DelegationRecord>,
    pub proposals: BTreeMap<String, Proposal>,
    /// Per proposal, every ballot in ledger order (changed ones included).
    pub ballots: BTreeMap<String, Vec<Ballot>>,
}

impl Governance {
    /// The delegations in force on `date`: per delegator, the latest record (by effective date,
    /// then ledger order) effective on or before it; a revocation removes the delegator.
    pub fn delegations_on(&self, date: Date) -> Delegations {
        let mut records: Vec<&DelegationRecord> = self.delegations.iter().filter(|r| r.effective <= date).collect();
        // Stable: records of one day keep their ledger order.
        records.sort_by_key(|r| r.effective);
        let mut out = Delegations::new();
        for r in records {
            match &r.to {
                Some(to) => out.insert(r.from.clone(), to.clone()),
                None => out.remove(&r.from),
            };
        }
        out
    }

    /// The latest effective date of any delegation record.
    pub fn latest_delegation(&self) -> Option<Date> {
        self.delegations.iter().map(|r| r.effective).max()
    }

    /// Adds a governance fact as folding its event would, and says whether it changed anything:
    /// a record already held (the same event recorded again) is not added twice, and any other
    /// fact is ignored. A ballot needs its proposal; a proposal id keeps its first terms.
    pub fn apply(&mut self, fact: &Fact) -> Result<bool, GovError> {
        match fact {
            Fact::Delegation { from, to, effective } => {
                let r = DelegationRecord { from: from.clone(), to: to.clone(), effective: *effective };
                if self.delegations.contains(&r) {
                    return Ok(false);
                }
                self.delegations.push(r);
                Ok(true)
            }
            Fact::Proposal(p) => match self.proposals.get(&p.id) {
                Some(held) if held == p => Ok(false),
                Some(_) => Err(GovError::DuplicateProposal { id: p.id.clone() }),
                None => {
                    self.proposals.insert(p.id.clone(), p.clone());
                    Ok(true)
                }
            },
            Fact::Ballot { proposal, voter, choice, cast_at } => {
                if !self.proposals.contains_key(proposal) {
                    return Err(GovError::UnknownProposal { id: proposal.clone() });
                }
                let b = Ballot { proposal: proposal.clone(), voter: voter.clone(), choice: *choice, cast_at: *cast_at };
                let list = self.ballots.entry(proposal.clone()).or_default();
                if list.contains(&b) {
                    return Ok(false);
                }
                list.push(b);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FoldError {
    #[error("the ledger has no company yet: run `tokencomp init FILE` first")]
    Empty,
    #[error("event {seq} ({id}) cannot be read: {reason}")]
    Bad { seq: i64, id: String, reason: String },
}

fn bad(e: &StoredEvent, reason: impl Into<String>) -> FoldError {
    FoldError::Bad { seq: e.seq, id: e.event.id.clone(), reason: reason.into() }
}

fn s<'a>(v: &'a Value, key: &str, e: &StoredEvent) -> Result<&'a str, FoldError> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| bad(e, format!("payload has no `{key}`")))
}

fn date(v: &Value, key: &str, e: &StoredEvent) -> Result<Date, FoldError> {
    s(v, key, e)?.parse().map_err(|_| bad(e, format!("`{key}` is not a date")))
}

fn opt_date(v: &Value, key: &str, e: &StoredEvent) -> Result<Option<Date>, FoldError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => date(v, key, e).map(Some),
    }
}

fn opt_str(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A decimal written as a string, exactly; `what` says which rule it must meet.
fn decimal(v: &Value, key: &str, e: &StoredEvent, ok: fn(&Decimal) -> bool, what: &str) -> Result<Decimal, FoldError> {
    let d = Decimal::from_str_exact(s(v, key, e)?).map_err(|x| bad(e, format!("`{key}`: {x}")))?;
    if ok(&d) { Ok(d) } else { Err(bad(e, format!("`{key}` must be {what}"))) }
}

fn opt_decimal(
    v: &Value,
    key: &str,
    e: &StoredEvent,
    ok: fn(&Decimal) -> bool,
    what: &str,
) -> Result<Option<Decimal>, FoldError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => decimal(v, key, e, ok, what).map(Some),
    }
}

fn non_negative(d: &Decimal) -> bool {
    !d.is_sign_negative()
}

fn positive(d: &Decimal) -> bool {
    d.is_sign_positive() && !d.is_zero()
}

/// An optional name read with `from_name`; absent means the default.
fn named<T: Default>(v: &Value, key: &str, e: &StoredEvent, from_name: fn(&str) -> Option<T>) -> Result<T, FoldError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(x) => {
            let name = x.as_str().ok_or_else(|| bad(e, format!("`{key}` is not a string")))?;
            from_name(name).ok_or_else(|| bad(e, format!("`{key}` = `{name}` is not known")))
        }
    }
}

fn opt_u32(v: &Value, key: &str, e: &StoredEvent) -> Result<Option<u32>, FoldError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| bad(e, format!("`{key}` is not a whole number"))),
    }
}

/// The company's policy from its payload; every key absent from older ledgers is its default.
fn read_policy(v: &Value, e: &StoredEvent) -> Result<Policy, FoldError> {
    let withholding = named(v, "withholding_method", e, WithholdingMethod::from_name)?;
    let fmv = match opt_str(v, "fmv") {
        None if v.get("fmv").is_none_or(Value::is_null) => FmvSource::default(),
        None => return Err(bad(e, "`fmv` is not a string")),
        Some(name) => FmvSource::from_parts(&name, opt_u32(v, "fmv_days", e)?).map_err(|x| bad(e, x))?,
    };
    let mut flat_rules = Vec::new();
    if let Some(rules) = v.get("flat_withholding") {
        let rules = rules.as_array().ok_or_else(|| bad(e, "`flat_withholding` is not a list"))?;
        for r in rules {
            let bps = |k: &str| opt_u32(r, k, e)?.ok_or_else(|| bad(e, format!("a flat rule has no `{k}`")));
            flat_rules.push(FlatRuleInput {
                country: s(r, "country", e)?.to_owned(),
                employee_bps: bps("employee_bps")?,
                employer_bps: bps("employer_bps")?,
            });
        }
    }
    Ok(Policy {
        withholding,
        sale_fee_bps: opt_u32(v, "sale_fee_bps", e)?.unwrap_or(0),
        slippage_bps: opt_u32(v, "slippage_bps", e)?.unwrap_or(0),
        fmv,
        attribution: named(v, "attribution", e, AttributionPolicy::from_name)?,
        classification: named(v, "classification", e, ClassificationPolicy::from_name)?,
        flat_rules,
    })
}

fn units(v: &Value, key: &str, e: &StoredEvent) -> Result<TokenAmount, FoldError> {
    let text = s(v, key, e)?;
    let ok = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let n = text.parse::<u128>().ok().filter(|_| ok).ok_or_else(|| bad(e, format!("`{key}` is not base units")))?;
    Ok(TokenAmount::from_base_units(n))
}

/// A TWAP point from its payload, every field checked: a pair address, a cumulative that is an
/// integer below 2^256, decimals up to `MAX_TWAP_DECIMALS`.
fn read_twap(v: &Value, e: &StoredEvent) -> Result<(Date, TwapPoint), FoldError> {
    let field = |key: &str| v.get(key).ok_or_else(|| bad(e, format!("payload has no `{key}`")));
    let at = field("at")?.as_i64().ok_or_else(|| bad(e, "`at` is not a whole number of seconds"))?;
    let block = field("block")?.as_u64().ok_or_else(|| bad(e, "`block` is not a block number"))?;
    let decimals = |key: &str| {
        field(key)?
            .as_u64()
            .and_then(|d| u8::try_from(d).ok())
            .ok_or_else(|| bad(e, format!("`{key}` is not decimals")))
    };
    let text = s(v, "cumulative", e)?;
    // Only digits: U256's parser would also take `0x…` and other radixes.
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let cumulative = digits
        .then(|| text.parse().ok())
        .flatten()
        .ok_or_else(|| bad(e, "`cumulative` is not an integer below 2^256"))?;
    let point = TwapPoint {
        pair: s(v, "pair", e)?.to_owned(),
        at,
        cumulative,
        decimals: (decimals("token_decimals")?, decimals("quote_decimals")?),
        block,
    };
    point.check().map_err(|x| bad(e, x))?;
    Ok((date(v, "date", e)?, point))
}

fn read_sale(v: &Value, e: &StoredEvent) -> Result<SaleRecord, FoldError> {
    let selection = s(v, "selection", e)?;
    if !SALE_SELECTIONS.contains(&selection) {
        return Err(bad(e, format!("`selection` = `{selection}` is not one of: {}", SALE_SELECTIONS.join(", "))));
    }
    let mut lots = Vec::new();
    for l in v.get("lots").and_then(Value::as_array).ok_or_else(|| bad(e, "payload has no `lots` list"))? {
        lots.push((s(l, "lot", e)?.to_owned(), units(l, "amount", e)?));
    }
    Ok(SaleRecord {
        id: s(v, "id", e)?.to_owned(),
        person: s(v, "person", e)?.to_owned(),
        wallet: s(v, "wallet", e)?.to_owned(),
        date: date(v, "date", e)?,
        amount: e.event.amount.ok_or_else(|| bad(e, "no amount"))?,
        price: decimal(v, "price", e, non_negative, "a non-negative decimal")?,
        fee: decimal(v, "fee", e, non_negative, "a non-negative decimal")?,
        selection: selection.to_owned(),
        lots,
    })
}

fn timestamp(v: &Value, key: &str, e: &StoredEvent) -> Result<Timestamp, FoldError> {
    s(v, key, e)?.parse().map_err(|_| bad(e, format!("`{key}` is not an RFC 3339 time")))
}

fn bps_of(v: &Value, key: &str, e: &StoredEvent) -> Result<u32, FoldError> {
    opt_u32(v, key, e)?.ok_or_else(|| bad(e, format!("payload has no `{key}`")))
}

/// A governance event back as its fact; a proposal must pass [`check_proposal`] again.
fn read_gov(v: &Value, e: &StoredEvent) -> Result<Fact, FoldError> {
    match e.event.kind {
        EventKind::GovDelegation => {
            let to = match v.get("to") {
                None | Some(Value::Null) => None,
                Some(Value::String(t)) => Some(t.clone()),
                Some(_) => return Err(bad(e, "`to` is not a person id")),
            };
            Ok(Fact::Delegation { from: s(v, "from", e)?.to_owned(), to, effective: date(v, "effective", e)? })
        }
        EventKind::GovProposal => {
            let p = Proposal {
                id: s(v, "id", e)?.to_owned(),
                title: s(v, "title", e)?.to_owned(),
                description: s(v, "description", e)?.to_owned(),
                snapshot_date: date(v, "snapshot_date", e)?,
                opens: timestamp(v, "opens", e)?,
                closes: timestamp(v, "closes", e)?,
                quorum_bps: bps_of(v, "quorum_bps", e)?,
                unvested_weight_bps: bps_of(v, "unvested_weight_bps", e)?,
            };
            check_proposal(&p).map_err(|x| bad(e, x.to_string()))?;
            Ok(Fact::Proposal(p))
        }
        _ => {
            let choice = s(v, "choice", e)?.parse::<Choice>().map_err(|x| bad(e, x.to_string()))?;
            Ok(Fact::Ballot {
                proposal: s(v, "proposal", e)?.to_owned(),
                voter: s(v, "voter", e)?.to_owned(),
                choice,
                cast_at: timestamp(v, "cast_at", e)?,
            })
        }
    }
}

fn read_attestation(v: &Value, e: &StoredEvent) -> Result<AttestationRecord, FoldError> {
    let num = |key: &str| v.get(key).and_then(Value::as_u64).ok_or_else(|| bad(e, format!("`{key}` is not a number")));
    let outcome = match s(v, "status", e)? {
        "accepted" => Ok(Accepted {
            event_id: s(v, "event_id", e)?.to_owned(),
            met_value: s(v, "met_value", e)?.to_owned(),
            oracles: v
                .get("oracles")
                .and_then(Value::as_array)
                .map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
        }),
        "rejected" => Err(s(v, "reason", e)?.to_owned()),
        other => return Err(bad(e, format!("unknown status `{other}`"))),
    };
    Ok(AttestationRecord {
        digest: s(v, "digest", e)?.to_owned(),
        milestone: s(v, "milestone", e)?.to_owned(),
        subject: s(v, "subject", e)?.to_owned(),
        submission: s(v, "submission", e)?.to_owned(),
        at: num("at")?,
        signer: opt_str(v, "signer"),
        nonce: num("nonce")?,
        value: s(v, "value", e)?.to_owned(),
        outcome,
        set_reason: opt_str(v, "set_reason"),
        overrides: match v.get("overrides") {
            None => Overrides::default(),
            Some(o) => Overrides {
                clock: o.get("clock").and_then(Value::as_bool).unwrap_or(false),
                domain: match o.get("domain") {
                    None => None,
                    Some(d) => Some((
                        d.get("chain_id")
                            .and_then(Value::as_u64)
                            .ok_or_else(|| bad(e, "`overrides.domain.chain_id`"))?,
                        s(d, "contract", e)?.to_owned(),
                    )),
                },
            },
        },
    })
}

impl Company {
    /// The attestation book the ledger's state amounts to: the registry, the milestones and
    /// what accepted attestations spent and applied.
    pub fn book(&self) -> Book {
        let mut book = Book::new(self.registry.clone());
        for m in self.milestones.values() {
            // Ids are unique keys of the map and quorums are ≥ 1 by the parser, so this cannot fail.
            let _ = book.add_milestone(m.milestone.clone());
        }
        for a in &self.attestations {
            let Ok(ok) = &a.outcome else { continue };
            let signer = a.signer.as_deref().and_then(|t| t.parse::<Signer>().ok());
            let value = Fixed18::parse_units(&ok.met_value).unwrap_or(Fixed18::ZERO);
            let met = Met { milestone: a.milestone.clone(), value, oracles: ok.oracles.clone(), at: a.at };
            book.restore(met, signer.map(|s| (s, a.nonce)));
        }
        book
    }

    /// Folds every event, in order, into the company's state.
    pub fn fold(events: &[StoredEvent]) -> Result<Company, FoldError> {
        let mut company: Option<CompanySettings> = None;
        let mut token: Option<TokenSettings> = None;
        let mut people = BTreeMap::new();
        let mut prices = BTreeMap::new();
        let mut volumes = BTreeMap::new();
        let mut fx = BTreeMap::new();
        let mut twap = BTreeMap::new();
        let mut sales = Vec::new();
        let mut payroll_closed = BTreeMap::new();
        // grant id → (terms TOML, active events, sequence of the issuing event)
        type Raw = (String, Vec<(String, String)>, i64);
        let mut raw: BTreeMap<String, Raw> = BTreeMap::new();
        let mut recognized: BTreeMap<(String, Date, VestReason), u128> = BTreeMap::new();
        let mut forfeits: BTreeMap<(String, Date, ForfeitReason), u128> = BTreeMap::new();
        let mut periods = BTreeSet::new();
        let mut tokenomics: Option<(String, i64)> = None;
        let mut milestone_raw: BTreeMap<String, (String, i64)> = BTreeMap::new();
        let mut registry = Registry::new();
        let mut attestations = Vec::new();
        let mut governance = Governance::default();
        for e in events {
            let v: Value = serde_json::from_str(&e.event.payload).map_err(|x| bad(e, x.to_string()))?;
            match e.event.kind {
                EventKind::Company => {
                    let tz_name = s(&v, "time_zone", e)?;
                    let tz = jiff::tz::TimeZone::get(tz_name).map_err(|x| bad(e, x.to_string()))?;
                    let pay_frequency = match s(&v, "pay_frequency", e)? {
                        "monthly" => PayFrequency::Monthly,
                        "semi-monthly" => PayFrequency::SemiMonthly,
                        "biweekly" => PayFrequency::Biweekly,
                        other => return Err(bad(e, format!("unknown pay frequency `{other}`"))),
                    };
                    company = Some(CompanySettings {
                        name: s(&v, "name", e)?.to_owned(),
                        time_zone: tz,
                        time_zone_name: tz_name.to_owned(),
                        pay_frequency,
                        demo_through: opt_date(&v, "demo_through", e)?,
                        policy: read_policy(&v, e)?,
                    });
                }
                EventKind::Token => {
                    let decimals = v.get("decimals").and_then(Value::as_u64).and_then(|d| u8::try_from(d).ok());
                    let t = Token::new(s(&v, "symbol", e)?, decimals.ok_or_else(|| bad(e, "bad decimals"))?)
                        .map_err(|x| bad(e, x.to_string()))?;
                    token = Some(TokenSettings {
                        token: t,
                        chain_id: v.get("chain_id").and_then(Value::as_u64),
                        address: opt_str(&v, "address"),
                    });
                }
                EventKind::Person => {
                    let kind = match s(&v, "kind", e)? {
                        "employee" => PersonKind::Employee,
                        "contractor" => PersonKind::Contractor,
                        "advisor" => PersonKind::Advisor,
                        other => return Err(bad(e, format!("unknown person kind `{other}`"))),
                    };
                    let p = Person {
                        id: s(&v, "id", e)?.to_owned(),
                        name: s(&v, "name", e)?.to_owned(),
                        email: opt_str(&v, "email"),
                        kind,
                        country: opt_str(&v, "country"),
                        region: opt_str(&v, "region"),
                        hired: opt_date(&v, "hired", e)?,
                        salary: opt_decimal(&v, "salary", e, non_negative, "a non-negative decimal")?,
                        wallet: opt_str(&v, "wallet"),
                    };
                    people.insert(p.id.clone(), p);
                }
                EventKind::Price => {
                    let currency: Currency = s(&v, "currency", e)?.parse().map_err(|_| bad(e, "bad currency"))?;
                    let close = Decimal::from_str_exact(s(&v, "close", e)?).map_err(|x| bad(e, x.to_string()))?;
                    let day = date(&v, "date", e)?;
                    prices.insert((currency, day), close);
                    if let Some(volume) = opt_decimal(&v, "volume", e, positive, "above zero")? {
                        volumes.insert((currency, day), volume);
                    }
                }
                EventKind::Fx => {
                    let currency: Currency = s(&v, "currency", e)?.parse().map_err(|_| bad(e, "bad currency"))?;
                    let rate = decimal(&v, "per_usd", e, positive, "above zero")?;
                    fx.insert((currency, date(&v, "date", e)?), rate);
                }
                EventKind::Twap => {
                    let (day, point) = read_twap(&v, e)?;
                    twap.insert(day, point);
                }
                EventKind::Sale => sales.push(read_sale(&v, e)?),
                EventKind::PriceCorrected => {
                    let currency: Currency = s(&v, "currency", e)?.parse().map_err(|_| bad(e, "bad currency"))?;
                    let close = Decimal::from_str_exact(s(&v, "close", e)?).map_err(|x| bad(e, x.to_string()))?;
                    if close <= Decimal::ZERO {
                        return Err(bad(e, "a corrected close must be above zero"));
                    }
                    prices.insert((currency, date(&v, "date", e)?), close);
                }
                EventKind::PayrollClosed => {
                    let rows = s(&v, "rows", e)?.to_owned();
                    payroll_closed.insert(s(&v, "period", e)?.to_owned(), (rows, s(&v, "digest", e)?.to_owned()));
                }
                EventKind::GrantIssued | EventKind::GrantCorrected => {
                    let id = s(&v, "grant", e)?.to_owned();
                    let terms = s(&v, "terms", e)?.to_owned();
                    let entry = raw.entry(id).or_insert_with(|| (String::new(), Vec::new(), e.seq));
                    entry.0 = terms;
                }
                EventKind::GrantEvent => {
                    let id = s(&v, "grant", e)?;
                    let entry = raw.get_mut(id).ok_or_else(|| bad(e, format!("grant `{id}` was never issued")))?;
                    entry.1.push((s(&v, "event_id", e)?.to_owned(), s(&v, "event", e)?.to_owned()));
                }
                EventKind::GrantEventReversed => {
                    let id = s(&v, "grant", e)?;
                    let event_id = s(&v, "event_id", e)?;
                    let entry = raw.get_mut(id).ok_or_else(|| bad(e, format!("grant `{id}` was never issued")))?;
                    entry.1.retain(|x| x.0 != event_id);
                }
                EventKind::Vest | EventKind::VestReversal => {
                    let reason = vest_reason(s(&v, "reason", e)?).ok_or_else(|| bad(e, "bad reason"))?;
                    let key = (s(&v, "grant", e)?.to_owned(), date(&v, "date", e)?, reason);
                    let amount = e.event.amount.ok_or_else(|| bad(e, "no amount"))?.base_units();
                    let slot = recognized.entry(key).or_insert(0);
                    *slot = if e.event.kind == EventKind::Vest {
                        slot.checked_add(amount).ok_or_else(|| bad(e, "overflow"))?
                    } else {
                        slot.checked_sub(amount).ok_or_else(|| bad(e, "reverses more than was recognized"))?
                    };
                }
                EventKind::Forfeiture | EventKind::ForfeitureReversal => {
                    let reason = forfeit_reason(s(&v, "reason", e)?).ok_or_else(|| bad(e, "bad reason"))?;
                    let key = (s(&v, "grant", e)?.to_owned(), date(&v, "date", e)?, reason);
                    let amount = e.event.amount.ok_or_else(|| bad(e, "no amount"))?.base_units();
                    let slot = forfeits.entry(key).or_insert(0);
                    *slot = if e.event.kind == EventKind::Forfeiture {
                        slot.checked_add(amount).ok_or_else(|| bad(e, "overflow"))?
                    } else {
                        slot.checked_sub(amount).ok_or_else(|| bad(e, "reverses more than was forfeited"))?
                    };
                }
                EventKind::PeriodRun => {
                    periods.insert(s(&v, "period", e)?.to_owned());
                }
                EventKind::Tokenomics => tokenomics = Some((s(&v, "terms", e)?.to_owned(), e.seq)),
                EventKind::Milestone => {
                    milestone_raw.insert(s(&v, "id", e)?.to_owned(), (s(&v, "terms", e)?.to_owned(), e.seq));
                }
                EventKind::Oracle => {
                    let oracle = s(&v, "oracle", e)?;
                    let at = v.get("at").and_then(Value::as_u64).ok_or_else(|| bad(e, "`at` is not seconds"))?;
                    let address = || -> Result<Signer, FoldError> {
                        s(&v, "address", e)?.parse::<Signer>().map_err(|x| bad(e, x.text))
                    };
                    let done = match s(&v, "action", e)? {
                        "register" => registry.register(oracle, address()?, at),
                        "rotate" => registry.rotate(oracle, address()?, at),
                        "revoke" => registry.revoke(oracle, at),
                        other => return Err(bad(e, format!("unknown oracle action `{other}`"))),
                    };
                    done.map_err(|x| bad(e, x.to_string()))?;
                }
                EventKind::Attestation => attestations.push(read_attestation(&v, e)?),
                EventKind::GovDelegation | EventKind::GovProposal | EventKind::GovBallot => {
                    governance.apply(&read_gov(&v, e)?).map_err(|x| bad(e, x.to_string()))?;
                }
            }
        }
        let (Some(company), Some(token)) = (company, token) else { return Err(FoldError::Empty) };
        let mut grants = BTreeMap::new();
        for (id, (terms_toml, events, issued_seq)) in raw {
            let refs: Vec<&str> = events.iter().map(|e| e.1.as_str()).collect();
            let terms = canonical::read_grant(&token.token, &company.time_zone_name, &terms_toml, &refs)
                .map_err(|d| FoldError::Bad { seq: issued_seq, id: format!("grant:{id}"), reason: render(&d) })?;
            grants.insert(id, GrantRecord { terms_toml, events, terms, issued_seq });
        }
        let tokenomics = match tokenomics {
            None => None,
            Some((toml, seq)) => Some(
                canonical::read_tokenomics(&token.token, &company.time_zone_name, &toml)
                    .map_err(|d| FoldError::Bad { seq, id: "tokenomics".into(), reason: render(&d) })?,
            ),
        };
        let mut milestones = BTreeMap::new();
        for (id, (toml, seq)) in milestone_raw {
            let m = canonical::read_milestone(&company.time_zone_name, &toml).map_err(|d| FoldError::Bad {
                seq,
                id: format!("milestone:{id}"),
                reason: render(&d),
            })?;
            milestones.insert(id, m);
        }
        Ok(Company {
            milestones,
            registry,
            attestations,
            tokenomics,
            company,
            token,
            people,
            prices,
            volumes,
            fx,
            twap,
            sales,
            payroll_closed,
            grants,
            recognized,
            forfeits_recognized: forfeits,
            periods_run: periods,
            governance,
        })
    }

    pub fn prices_vec(&self) -> Vec<Price> {
        self.prices
            .iter()
            .map(|(&(currency, date), &close)| Price {
                date,
                close,
                currency,
                volume: self.volumes.get(&(currency, date)).copied(),
            })
            .collect()
    }

    pub fn fx_vec(&self) -> Vec<FxRate> {
        self.fx.iter().map(|(&(currency, date), &per_usd)| FxRate { date, currency, per_usd }).collect()
    }
}

pub fn render(d: &[Diagnostic]) -> String {
    d.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// The kinds whose latest event is the company's state (addressed by content, the latest wins).
const LATEST_WINS: [EventKind; 6] = [
    EventKind::Company,
    EventKind::Token,
    EventKind::Person,
    EventKind::Tokenomics,
    EventKind::Milestone,
    EventKind::PriceCorrected,
];

/// What a latest-wins event replaces: its id without the content hash (and without an `:again:`
/// suffix), e.g. `person:ada` for `person:ada:<hash>`.
fn slot(e: &NewEvent) -> Option<&str> {
    if !LATEST_WINS.contains(&e.kind) {
        return None;
    }
    let base = e.id.split(":again:").next().unwrap_or(&e.id);
    Some(base.rsplit_once(':').map_or(base, |(slot, _)| slot))
}

/// Whether `e` is a latest-wins event (see [`distinct_reverts`]).
pub fn latest_wins(e: &NewEvent) -> bool {
    slot(e).is_some()
}

/// Gives a reverted fact an event of its own. Latest-wins facts are addressed by content, so
/// recording one whose content was recorded before and later superseded (a salary set back, a
/// company setting reverted) would find the old event and change nothing: the revert lost, and
/// the old event's writer shown for what someone else just did. Such an event gets the id
/// `<id>:again:<n>` (`n` the ledger's length plus its place in the batch: deterministic for the
/// ledger it is decided on, under the write lock) and is recorded as a change by its actor. A
/// fact equal to what its slot already holds takes that event's id, so recording it again is a
/// no-op whoever does it, and the first writer stays recorded.
pub fn distinct_reverts(before: &[StoredEvent], batch: &mut [NewEvent]) {
    let mut current: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for e in before {
        ids.insert(e.event.id.clone());
        if let Some(slot) = slot(&e.event) {
            current.insert(slot.to_owned(), (e.event.id.clone(), e.event.payload.clone()));
        }
    }
    let len = before.len();
    for (i, e) in batch.iter_mut().enumerate() {
        let Some(slot) = slot(e).map(str::to_owned) else { continue };
        match current.get(&slot) {
            Some((id, payload)) if *payload == e.payload => e.id.clone_from(id),
            _ if ids.contains(&e.id) => {
                let base = e.id.split(":again:").next().unwrap_or(&e.id).to_owned();
                e.id = format!("{base}:again:{}", len + i + 1);
            }
            _ => {}
        }
        ids.insert(e.id.clone());
        current.insert(slot, (e.id.clone(), e.payload.clone()));
    }
}

#[cfg(test)]
mod revert_tests {
    use super::*;

    fn stored(events: &[NewEvent]) -> Vec<StoredEvent> {
        events
            .iter()
            .zip(1..)
            .map(|(e, seq)| StoredEvent {
                seq,
                event: e.clone(),
                recorded_at: jiff::Timestamp::UNIX_EPOCH,
                prev_hash: String::new(),
                hash: String::new(),
            })
            .collect()
    }

    fn person(name: &str, actor: &str) -> NewEvent {
        Fact::Person(Person {
            id: "ada".into(),
            name: name.into(),
            email: None,
            kind: PersonKind::Employee,
            country: None,
            region: None,
            hired: None,
            salary: None,
            wallet: None,
        })
        .to_event(actor)
    }

    #[test]
    fn a_reverted_fact_is_a_new_event_and_an_unchanged_one_keeps_its_event() {
        let (a, b) = (person("Ada", "user:alice"), person("Ada B", "user:alice"));
        let before = stored(&[a.clone(), b.clone()]);
        // Bob sets the name back: a change of his, under an id of its own.
        let mut batch = vec![person("Ada", "user:bob")];
        distinct_reverts(&before, &mut batch);
        assert_eq!(batch[0].id, format!("{}:again:3", a.id));
        // Recording what the slot holds is the same event (a no-op), whoever records it.
        let mut again = vec![person("Ada B", "user:bob")];
        distinct_reverts(&before, &mut again);
        assert_eq!(again[0].id, b.id);
        // After the revert, setting it back once more is again a new event, and the current one
        // (under its `again` id) is matched by content.
        let after = stored(&[a.clone(), b.clone(), batch[0].clone()]);
        let mut same = vec![person("Ada", "user:carol")];
        distinct_reverts(&after, &mut same);
        assert_eq!(same[0].id, batch[0].id);
        let mut back = vec![person("Ada B", "user:carol")];
        distinct_reverts(&after, &mut back);
        assert_eq!(back[0].id, format!("{}:again:4", b.id));
        // Other kinds are left alone.
        let mut other = vec![NewEvent { kind: EventKind::Vest, ..a.clone() }];
        distinct_reverts(&after, &mut other);
        assert_eq!(other[0].id, a.id);
    }
}
