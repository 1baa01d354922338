//! The facts the ledger records, and the event (id, kind, subject, payload, amount) each becomes.

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::Map;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokencomp_compliance::fmv::TwapPoint;
use tokencomp_core::governance::{Choice, Proposal};
use tokencomp_core::model::{
    AttributionPolicy, ClassificationPolicy, CompanySettings, FmvSource, FxRate, Person, Policy, Price, TokenSettings,
    WithholdingMethod,
};
use tokencomp_core::{ForfeitReason, VestReason};
use tokencomp_money::{Currency, Decimal, TokenAmount};

use crate::{EventKind, NewEvent, Subject};

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
        /// The SHA-256 of the rule set in force when the period ran (`rules::rules_hash` in the
        /// service); absent in runs recorded before rules were data.
        rules: Option<String>,
    },
    /// A rules file the company recorded (`tokencomp rules add`): its name as given, its text
    /// verbatim, the SHA-256 of the text, and when it was recorded (RFC 3339; the actor is the
    /// event's). `id_suffix` tells a re-recording of the same text apart (empty the first time).
    RulesAdded {
        name: String,
        text: String,
        sha256: String,
        at: String,
        id_suffix: String,
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
    /// A wallet the person proved with a signed SIWE message (`message_hash`, its EIP-191
    /// digest), their wallet from `effective_at` on.
    WalletProven {
        person: String,
        address: String,
        message_hash: String,
        proven_at: Timestamp,
        effective_at: Timestamp,
    },
    /// A proven wallet change cancelled at `at`, before it took effect.
    WalletCancelled {
        person: String,
        message_hash: String,
        at: Timestamp,
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

pub(super) fn short_hash(s: &str) -> String {
    crate::hex(&Sha256::digest(s.as_bytes())[..8])
}

impl Fact {
    /// The event that records this fact, with where it came from (see [`super::origin`]).
    pub fn to_event_from(&self, actor: &str, origin: &super::origin::Origin) -> NewEvent {
        let mut e = self.to_event(actor);
        e.payload = super::origin::with_origin(&e.payload, origin);
        e
    }

    /// The event that records this fact.
    pub fn to_event(&self, actor: &str) -> NewEvent {
        let (id, kind, subject, payload, amount) = match self {
            Fact::Company(c) => {
                let mut p = json!({"name": c.name, "time_zone": c.time_zone_name, "pay_frequency": c.pay_frequency.as_str(),
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
                let mut v = json!({"id": p.id, "name": p.name, "email": p.email, "kind": p.kind.as_str(), "country": p.country,
                               "region": p.region, "hired": p.hired.map(|d| d.to_string())});
                if let Value::Object(m) = &mut v {
                    if let Some(salary) = p.salary {
                        m.insert("salary".into(), json!(salary.to_string()));
                    }
                    if let Some(wallet) = &p.wallet {
                        m.insert("wallet".into(), json!(wallet));
                    }
                    // Only when something is on file, so a person without tax data records the
                    // same event (id and payload) as before the profiles existed.
                    if !p.tax.is_empty() {
                        let tax: Map<String, Value> =
                            p.tax.to_fields().into_iter().map(|(j, f)| (j.to_owned(), json!(f))).collect();
                        m.insert("tax".into(), Value::Object(tax));
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
            Fact::WalletProven { person, address, message_hash, proven_at, effective_at } => {
                let (id, kind, subject, v) =
                    super::wallets::proven(person, address, message_hash, *proven_at, *effective_at);
                (id, kind, subject, v, None)
            }
            Fact::WalletCancelled { person, message_hash, at } => {
                let (id, kind, subject, v) = super::wallets::cancelled(person, message_hash, *at);
                (id, kind, subject, v, None)
            }
            Fact::RulesAdded { name, text, sha256, at, id_suffix } => {
                let v = json!({"name": name, "text": text, "sha256": sha256, "at": at});
                (format!("rules:{sha256}{id_suffix}"), EventKind::RulesAdded, "rules".to_owned(), v, None)
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
            Fact::PeriodRun { period, start, end, vests, forfeitures, rules } => {
                let mut v = json!({"period": period, "start": start.to_string(), "end": end.to_string(), "vests": vests, "forfeitures": forfeitures});
                // Written only when set, so a run recorded before rules were data reads the same.
                if let (Value::Object(m), Some(hash)) = (&mut v, rules) {
                    m.insert("rules".into(), json!(hash));
                }
                (format!("period:{period}"), EventKind::PeriodRun, format!("period:{period}"), v, None)
            }
        };
        NewEvent { id, kind, subject, payload: payload.to_string(), amount, actor: actor.to_owned() }
    }
}

/// The company's policy keys that differ from the defaults (see the module doc).
pub(super) fn policy_keys(m: &mut Map<String, Value>, p: &Policy) {
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
    // Wallet proofs (issue 18, item 3): written only when set, so older companies record alike.
    if let Some(hours) = p.wallet_change_delay_hours {
        m.insert("wallet_change_delay_hours".into(), json!(hours));
    }
    if p.require_proven_wallets {
        m.insert("require_proven_wallets".into(), json!(true));
    }
}

/// The id, kind, subject, payload and amount of what a period run recognized (or reversed):
/// `{prefix}:{grant}:{date}:{reason}:{period}{suffix}`.
#[allow(clippy::too_many_arguments)]
pub(super) fn recognition(
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
