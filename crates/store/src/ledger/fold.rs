//! A company's state folded from its events: settings, people, prices, grants, recognized vests,
//! governance and attestations.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use serde_json::Value;
use tokencomp_compliance::fmv::TwapPoint;
use tokencomp_compliance::rules::RecordedRules;
use tokencomp_core::attestation::{Book, Fixed18, Met, Registry, Signer};
use tokencomp_core::governance::{Ballot, Delegations, GovError, Proposal};
use tokencomp_core::model::MilestoneTerms;
use tokencomp_core::model::{CompanySettings, FxRate, GrantTerms, Person, PersonKind, Price, TokenSettings};
use tokencomp_core::period::PayFrequency;
use tokencomp_core::tokenomics::Tokenomics;
use tokencomp_core::{ForfeitReason, VestReason};
use tokencomp_formats::canonical;
use tokencomp_formats::diag::Diagnostic;
use tokencomp_money::{Currency, Decimal, Token};

use super::fact::{AttestationRecord, Fact, SaleRecord};
use super::read::{
    FoldError, bad, date, decimal, forfeit_reason, non_negative, opt_date, opt_decimal, opt_str, positive,
    read_attestation, read_gov, read_policy, read_sale, read_tax, read_twap, s, vest_reason,
};
use crate::{EventKind, StoredEvent};

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
    /// Period → the hash of the rule set it ran under (runs recorded with one).
    pub period_rules: BTreeMap<String, String>,
    /// The rules files the company recorded, in ledger order.
    pub rules: Vec<RecordedRules>,
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
    /// Every wallet proof, in ledger order, with its cancellation when it was cancelled.
    pub wallet_proofs: Vec<super::wallets::WalletProof>,
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
        let mut period_rules = BTreeMap::new();
        let mut rules = Vec::new();
        let mut tokenomics: Option<(String, i64)> = None;
        let mut milestone_raw: BTreeMap<String, (String, i64)> = BTreeMap::new();
        let mut registry = Registry::new();
        let mut attestations = Vec::new();
        let mut governance = Governance::default();
        let mut wallet_proofs = Vec::new();
        for e in events {
            let v: Value = serde_json::from_str(&e.event.payload).map_err(|x| bad(e, x.to_string()))?;
            match e.event.kind {
                EventKind::Company => {
                    let tz_name = s(&v, "time_zone", e)?;
                    let tz = jiff::tz::TimeZone::get(tz_name).map_err(|x| bad(e, x.to_string()))?;
                    let name = s(&v, "pay_frequency", e)?;
                    let pay_frequency = PayFrequency::from_name(name)
                        .ok_or_else(|| bad(e, format!("unknown pay frequency `{name}`")))?;
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
                    let name = s(&v, "kind", e)?;
                    let kind =
                        PersonKind::from_name(name).ok_or_else(|| bad(e, format!("unknown person kind `{name}`")))?;
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
                        tax: read_tax(&v, e)?,
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
                    let period = s(&v, "period", e)?.to_owned();
                    if let Some(hash) = opt_str(&v, "rules") {
                        period_rules.insert(period.clone(), hash);
                    }
                    periods.insert(period);
                }
                EventKind::RulesAdded => rules.push(RecordedRules {
                    seq: e.seq,
                    actor: e.event.actor.clone(),
                    at: s(&v, "at", e)?.to_owned(),
                    name: s(&v, "name", e)?.to_owned(),
                    text: s(&v, "text", e)?.to_owned(),
                }),
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
                EventKind::WalletProven | EventKind::WalletCancelled => {
                    super::wallets::fold(&mut wallet_proofs, &v, e)?
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
            period_rules,
            rules,
            governance,
            wallet_proofs,
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
