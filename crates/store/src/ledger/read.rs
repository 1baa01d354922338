//! An event's payload read back, field by field, each field checked; and why an event cannot be
//! read ([`FoldError`], naming its sequence number and id).

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::Value;
use tokencomp_compliance::fmv::TwapPoint;
use tokencomp_core::governance::{Choice, Proposal, check_proposal};
use tokencomp_core::model::{
    AttributionPolicy, ClassificationPolicy, FlatRuleInput, FmvSource, Policy, WithholdingMethod,
};
use tokencomp_core::{ForfeitReason, VestReason};
use tokencomp_money::{Decimal, TokenAmount};

use super::fact::{Accepted, AttestationRecord, Fact, Overrides, SALE_SELECTIONS, SaleRecord};
use crate::{EventKind, StoredEvent};

#[derive(Debug, thiserror::Error)]
pub enum FoldError {
    #[error("the ledger has no company yet: run `tokencomp init FILE` first")]
    Empty,
    #[error("event {seq} ({id}) cannot be read: {reason}")]
    Bad { seq: i64, id: String, reason: String },
}

pub(super) fn bad(e: &StoredEvent, reason: impl Into<String>) -> FoldError {
    FoldError::Bad { seq: e.seq, id: e.event.id.clone(), reason: reason.into() }
}

pub(super) fn vest_reason(s: &str) -> Option<VestReason> {
    [VestReason::Cliff, VestReason::Vest, VestReason::Acceleration, VestReason::Milestone]
        .into_iter()
        .find(|r| r.as_str() == s)
}

pub(super) fn forfeit_reason(s: &str) -> Option<ForfeitReason> {
    [ForfeitReason::Termination, ForfeitReason::Revocation].into_iter().find(|r| r.as_str() == s)
}

pub(super) fn s<'a>(v: &'a Value, key: &str, e: &StoredEvent) -> Result<&'a str, FoldError> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| bad(e, format!("payload has no `{key}`")))
}

pub(super) fn date(v: &Value, key: &str, e: &StoredEvent) -> Result<Date, FoldError> {
    s(v, key, e)?.parse().map_err(|_| bad(e, format!("`{key}` is not a date")))
}

pub(super) fn opt_date(v: &Value, key: &str, e: &StoredEvent) -> Result<Option<Date>, FoldError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => date(v, key, e).map(Some),
    }
}

pub(super) fn opt_str(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A decimal written as a string, exactly; `what` says which rule it must meet.
pub(super) fn decimal(
    v: &Value,
    key: &str,
    e: &StoredEvent,
    ok: fn(&Decimal) -> bool,
    what: &str,
) -> Result<Decimal, FoldError> {
    let d = Decimal::from_str_exact(s(v, key, e)?).map_err(|x| bad(e, format!("`{key}`: {x}")))?;
    if ok(&d) { Ok(d) } else { Err(bad(e, format!("`{key}` must be {what}"))) }
}

pub(super) fn opt_decimal(
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

pub(super) fn non_negative(d: &Decimal) -> bool {
    !d.is_sign_negative()
}

pub(super) fn positive(d: &Decimal) -> bool {
    d.is_sign_positive() && !d.is_zero()
}

/// An optional name read with `from_name`; absent means the default.
pub(super) fn named<T: Default>(
    v: &Value,
    key: &str,
    e: &StoredEvent,
    from_name: fn(&str) -> Option<T>,
) -> Result<T, FoldError> {
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
pub(super) fn read_policy(v: &Value, e: &StoredEvent) -> Result<Policy, FoldError> {
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
        wallet_change_delay_hours: opt_u32(v, "wallet_change_delay_hours", e)?,
        require_proven_wallets: match v.get("require_proven_wallets") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(bad(e, "`require_proven_wallets` is not true or false")),
        },
    })
}

pub(super) fn units(v: &Value, key: &str, e: &StoredEvent) -> Result<TokenAmount, FoldError> {
    let text = s(v, key, e)?;
    let ok = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let n = text.parse::<u128>().ok().filter(|_| ok).ok_or_else(|| bad(e, format!("`{key}` is not base units")))?;
    Ok(TokenAmount::from_base_units(n))
}

/// A TWAP point from its payload, every field checked: a pair address, a cumulative that is an
/// integer below 2^256, decimals up to `MAX_TWAP_DECIMALS`.
pub(super) fn read_twap(v: &Value, e: &StoredEvent) -> Result<(Date, TwapPoint), FoldError> {
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

pub(super) fn read_sale(v: &Value, e: &StoredEvent) -> Result<SaleRecord, FoldError> {
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

pub(super) fn timestamp(v: &Value, key: &str, e: &StoredEvent) -> Result<Timestamp, FoldError> {
    s(v, key, e)?.parse().map_err(|_| bad(e, format!("`{key}` is not an RFC 3339 time")))
}

pub(super) fn bps_of(v: &Value, key: &str, e: &StoredEvent) -> Result<u32, FoldError> {
    opt_u32(v, key, e)?.ok_or_else(|| bad(e, format!("payload has no `{key}`")))
}

/// A governance event back as its fact; a proposal must pass [`check_proposal`] again.
pub(super) fn read_gov(v: &Value, e: &StoredEvent) -> Result<Fact, FoldError> {
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

pub(super) fn read_attestation(v: &Value, e: &StoredEvent) -> Result<AttestationRecord, FoldError> {
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

/// A person's tax profiles from the payload's `tax` object (`{"us": {"residence": "NJ"}, …}`),
/// each read through `TaxProfile::set`; a payload without one (every person recorded before the
/// profiles existed) has nothing on file.
pub(super) fn read_tax(v: &Value, e: &StoredEvent) -> Result<tokencomp_core::tax_profile::TaxProfile, FoldError> {
    let mut tax = tokencomp_core::tax_profile::TaxProfile::default();
    let Some(t) = v.get("tax").filter(|t| !t.is_null()) else { return Ok(tax) };
    let t = t.as_object().ok_or_else(|| bad(e, "`tax` is not an object"))?;
    for (jurisdiction, fields) in t {
        let fields = fields.as_object().ok_or_else(|| bad(e, format!("`tax.{jurisdiction}` is not an object")))?;
        let mut map = tokencomp_core::tax_profile::Fields::new();
        for (k, x) in fields {
            let text = x.as_str().ok_or_else(|| bad(e, format!("`tax.{jurisdiction}.{k}` is not a string")))?;
            map.insert(k.clone(), text.to_owned());
        }
        tax.set(jurisdiction, &map).map_err(|errs| {
            let why: Vec<String> = errs.iter().map(|x| format!("tax.{jurisdiction}.{x}")).collect();
            bad(e, why.join("; "))
        })?;
    }
    Ok(tax)
}
