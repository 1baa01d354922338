//! Governance on the API: voting power, delegations, proposals, ballots and tallies. The rules
//! are `tokencomp_core::governance`; every new fact passes `tokencomp_store::gov::validate_gov`
//! (the same check the CLI runs) before it is appended.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};
use tokencomp_core::governance::{Choice, GovError, Proposal, Tally};
use tokencomp_store::gov::{Roster, snapshot_of, tally_for, validate_gov, validate_gov_for};
use tokencomp_store::ledger::{Company, Fact};

use super::{page, require_admin, require_person, token_json};
use crate::{ApiError, AppState, Body, Caller, Ctx, Query, Role};

fn gov_error(e: GovError) -> ApiError {
    let message = e.to_string();
    match e {
        GovError::Cycle { path } => {
            ApiError::conflict(message).with_details(json!({"field": "body.to", "cycle": path}))
        }
        GovError::UnknownHolder { .. } | GovError::BadTarget { .. } => ApiError::invalid("body.to", message),
        GovError::UnknownProposal { .. } => ApiError::not_found_at("path.proposal", "proposal"),
        GovError::SelfDelegation { .. } => ApiError::invalid("body.to", message),
        GovError::BadWeight { .. } => ApiError::invalid("query.unvested_weight_bps", message),
        GovError::BadQuorum { .. } => ApiError::invalid("body.quorum_bps", message),
        GovError::BadWindow { .. } => ApiError::invalid("body.closes", message),
        GovError::Empty { field } => ApiError::invalid(&format!("body.{field}"), message),
        GovError::BadId { .. } => ApiError::invalid("body.id", message),
        GovError::BadChoice { .. } => ApiError::invalid("body.choice", message),
        GovError::SnapshotAfterOpen { .. } => ApiError::invalid("body.snapshot_date", message),
        GovError::TooFarAhead { .. } => ApiError::invalid("body.effective", message),
        GovError::Balances { .. } | GovError::Overflow => ApiError::internal(message),
        GovError::Backdated { .. } | GovError::SnapshotTaken { .. } => {
            ApiError::conflict(message).with_details(json!({"field": "body.effective"}))
        }
        GovError::NotDelegated { .. }
        | GovError::DuplicateProposal { .. }
        | GovError::NotOpen { .. }
        | GovError::NoVotingPower { .. }
        | GovError::Delegated { .. }
        | GovError::CastAt { .. } => ApiError::conflict(message),
    }
}

/// Validates `fact` and appends it in one transaction under the ledger-wide write lock: the
/// rules run on the ledger as it stands then (the cached fold when nothing was appended since;
/// another process, the CLI, may write the same ledger).
fn record(cx: &mut Ctx<'_>, fact: &Fact, actor: &str) -> Result<usize, ApiError> {
    let now = cx.now;
    record_with(cx, fact, actor, |company| validate_gov(company, fact, now).map_err(gov_error))
}

/// [`record`] with the caller's own check (an employee's delegation is checked in the form that
/// reveals nothing of other people).
fn record_with(
    cx: &mut Ctx<'_>,
    fact: &Fact,
    actor: &str,
    check: impl FnOnce(&Company) -> Result<(), ApiError>,
) -> Result<usize, ApiError> {
    let by = cx.stamp(actor);
    tokencomp_service::gov::record_fact(cx.store, (cx.company, cx.len), fact, &by, check)
}

/// A refused delegation as an employee may read it: nothing about other people's delegations
/// (a cycle's path runs through them, the latest record's date is someone else's).
fn employee_delegation_error(e: GovError, to: Option<&str>) -> ApiError {
    match e {
        GovError::Cycle { .. } => ApiError::conflict(format!(
            "the delegation would make a cycle: the voting power delegated along `{}`'s chain already comes back to you",
            to.unwrap_or_default()
        ))
        .with_details(json!({"field": "body.to"})),
        e => gov_error(e),
    }
}

fn weight(q: &Query) -> Result<u32, ApiError> {
    let w = crate::routes::WEIGHT.int_from(q)?.unwrap_or(0);
    u32::try_from(w).map_err(|_| ApiError::invalid("query.unvested_weight_bps", "out of range"))
}

/// Voting power at a date. Staff see every holder. An employee sees their own balances at any
/// date, and their power with the total only where a recorded proposal publishes them: at its
/// snapshot date and unvested weight (its tally shows the total, its page their power). Power at
/// any other date or weight would tell the delegators' balances, and the total the company's.
pub async fn power(State(st): State<AppState>, Caller { who, .. }: Caller, q: Query) -> Result<Json<Value>, ApiError> {
    let doc = st
        .with(move |cx| {
            let date = q.date("date")?.unwrap_or_else(|| cx.today());
            let w = weight(&q)?;
            let c = cx.company;
            let employee = who.role == Role::Employee;
            let published =
                c.governance.proposals.values().any(|p| p.snapshot_date == date && p.unvested_weight_bps == w);
            // One pass over the grants: the balances shown and the snapshot come from it.
            let held = tokencomp_store::gov::holdings(c, date).map_err(gov_error)?;
            let snap = snapshot_of(c, held.clone(), date, w).map_err(gov_error)?;
            let direct = c.governance.delegations_on(date);
            let mut rows: Vec<Value> = Vec::new();
            for (h, p) in &snap.power {
                if employee && who.person.as_deref() != Some(h.as_str()) {
                    continue;
                }
                let hold = held.iter().find(|x| &x.holder == h);
                let power = if employee && !published { Value::Null } else { json!(p.to_string()) };
                rows.push(json!({"holder": h,
                       "vested": hold.map_or("0".into(), |x| x.vested.to_string()),
                       "unvested": hold.map_or("0".into(), |x| x.unvested.to_string()),
                       "own": snap.own.get(h).map_or("0".into(), ToString::to_string),
                       "power": power,
                       // Whom this holder delegates to; the end of the chain is others' choice.
                       "delegate": direct.get(h)}));
            }
            let (total, holders) = match (employee, published) {
                (false, _) => (json!(snap.total.to_string()), json!(snap.power.len())),
                (true, true) => (json!(snap.total.to_string()), Value::Null),
                (true, false) => (Value::Null, Value::Null),
            };
            Ok(json!({"token": token_json(c), "date": date.to_string(), "unvested_weight_bps": w,
                      "published": published, "total": total, "holders": holders, "rows": rows}))
        })
        .await?;
    Ok(Json(doc))
}

pub async fn delegations(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    let doc = st
        .with(move |cx| {
            let date = q.date("date")?.unwrap_or_else(|| cx.today());
            let gov = &cx.company.governance;
            let mine = |p: &str| who.role != Role::Employee || who.person.as_deref() == Some(p);
            let in_force = gov.delegations_on(date);
            let items: Vec<Value> = in_force
                .iter()
                .filter(|(f, t)| mine(f) || mine(t))
                .map(|(f, t)| {
                    let effective = gov
                        .delegations
                        .iter()
                        .filter(|r| &r.from == f && r.to.as_ref() == Some(t) && r.effective <= date)
                        .map(|r| r.effective)
                        .max();
                    json!({"from": f, "to": t, "effective": effective.map(|d| d.to_string())})
                })
                .collect();
            Ok(json!({"date": date.to_string(), "items": items}))
        })
        .await?;
    Ok(Json(doc))
}

pub async fn delegate(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(from): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    // Admins may record a delegation on someone's behalf; an auditor changes nothing.
    if who.role == Role::Auditor {
        return Err(ApiError::forbidden());
    }
    require_person(&who, &from)?;
    // Required, as the document says: a string, or null to take the delegation back.
    if body.0.get("to").is_none() {
        return Err(ApiError::invalid("body.to", "`to` is required (a person's id, or null to vote your own power)"));
    }
    let to = body.opt_str("to")?.map(str::to_owned);
    let effective = body.opt_date("effective")?;
    let actor = who.actor();
    let employee = who.role == Role::Employee;
    let doc = st
        .with(move |cx| {
            if !cx.company.people.contains_key(&from) {
                return Err(ApiError::not_found_at("path.person", "person"));
            }
            let today = cx.today();
            let effective = effective.unwrap_or(today);
            // Whether an earlier date is allowed depends on others' records: an employee is
            // told only that their own change starts today or later.
            let held = cx.company.governance.delegations.iter().any(|r| r.from == from && r.to == to && r.effective == effective);
            if employee && effective < today && !held {
                return Err(ApiError::invalid(
                    "body.effective",
                    format!("a delegation you record takes effect today ({today}) or later"),
                ));
            }
            let fact = Fact::Delegation { from: from.clone(), to: to.clone(), effective };
            let roster = if employee { Roster::Hidden } else { Roster::Visible };
            let now = cx.now;
            let new = record_with(cx, &fact, &actor, |company| {
                validate_gov_for(company, &fact, now, roster).map_err(|e| {
                    if employee { employee_delegation_error(e, to.as_deref()) } else { gov_error(e) }
                })
            })?;
            // The same record again is a no-op; if another one replaced it that day, saying
            // "done" would be false.
            if new == 0 && cx.company.governance.delegations_on(effective).get(&from) != to.as_ref() {
                return Err(ApiError::conflict(format!(
                    "that delegation was recorded on {effective} and replaced the same day; give a later `effective` date"
                ))
                .with_details(json!({"field": "body.effective"})));
            }
            Ok(json!({"from": from, "to": to, "effective": effective.to_string(), "recorded": new > 0}))
        })
        .await?;
    Ok(Json(doc))
}

fn tally_json(t: &Tally) -> Value {
    json!({"status": t.status.as_str(), "outcome": t.outcome.as_str(), "for": t.for_.to_string(),
           "against": t.against.to_string(), "abstain": t.abstain.to_string(), "voters": t.voters,
           "total": t.total.to_string(), "turnout": t.turnout.to_string(), "quorum": t.quorum.to_string(),
           "quorum_reached": t.quorum_reached})
}

/// A proposal with its tally at `at`; ballots are everyone's for staff, the caller's own for an
/// employee (a ballot is a person's choice).
fn proposal_json(c: &Company, p: &Proposal, who: &crate::Principal, at: Timestamp) -> Result<Value, ApiError> {
    let (snap, t) = tally_for(c, &p.id, at).map_err(gov_error)?;
    let ballots: Vec<Value> = c
        .governance
        .ballots
        .get(&p.id)
        .map(|bs| {
            tokencomp_core::governance::final_ballots(p, bs, at)
                .into_iter()
                .filter(|(v, _)| who.is_staff() || who.person.as_deref() == Some(*v))
                .map(|(v, b)| json!({"voter": v, "choice": b.choice.as_str(), "cast_at": b.cast_at.to_string()}))
                .collect()
        })
        .unwrap_or_default();
    let my_power = who.person.as_ref().map(|me| snap.power.get(me).map_or("0".to_owned(), ToString::to_string));
    Ok(json!({"token": token_json(c), "id": p.id, "title": p.title, "description": p.description,
              "snapshot_date": p.snapshot_date.to_string(), "opens": p.opens.to_string(), "closes": p.closes.to_string(),
              "quorum_bps": p.quorum_bps, "unvested_weight_bps": p.unvested_weight_bps,
              "tally": tally_json(&t), "ballots": ballots, "my_power": my_power}))
}

pub async fn proposals(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    let doc = st
        .with(move |cx| {
            let c = cx.company;
            let mut items = Vec::new();
            for p in c.governance.proposals.values() {
                items.push((p.id.clone(), proposal_json(c, p, &who, cx.now)?));
            }
            let (items, next) = page(items, &q)?;
            Ok(json!({"items": items, "next_cursor": next}))
        })
        .await?;
    Ok(Json(doc))
}

pub async fn proposal(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let doc = st
        .with(move |cx| {
            let p = cx
                .company
                .governance
                .proposals
                .get(&id)
                .ok_or_else(|| ApiError::not_found_at("path.proposal", "proposal"))?;
            proposal_json(cx.company, p, &who, cx.now)
        })
        .await?;
    Ok(Json(doc))
}

pub async fn propose(State(st): State<AppState>, Caller { who, .. }: Caller, body: Body) -> Result<Response, ApiError> {
    require_admin(&who)?;
    let bps = |k: &str, default: u64| -> Result<u32, ApiError> {
        let v = body.opt_int(k, 0, 10_000)?.unwrap_or(default);
        u32::try_from(v).map_err(|_| ApiError::invalid(&format!("body.{k}"), "out of range"))
    };
    let p = Proposal {
        id: body.str("id")?.to_owned(),
        title: body.str("title")?.to_owned(),
        description: body.opt_str("description")?.unwrap_or("").to_owned(),
        snapshot_date: body.date("snapshot_date")?,
        opens: body.instant("opens")?,
        closes: body.instant("closes")?,
        quorum_bps: bps("quorum_bps", 2000)?,
        unvested_weight_bps: bps("unvested_weight_bps", 0)?,
    };
    let actor = who.actor();
    let doc = st
        .with(move |cx| {
            record(cx, &Fact::Proposal(p.clone()), &actor)?;
            // The tally reads the company as folded after the append.
            let mut c = cx.company.clone();
            c.governance.proposals.insert(p.id.clone(), p.clone());
            proposal_json(&c, &p, &who, cx.now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(doc)).into_response())
}

pub async fn vote(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    // A ballot is a person's own: staff logins without a person have none to cast.
    let voter = match (&who.role, &who.person) {
        (Role::Employee, Some(p)) => p.clone(),
        _ => return Err(ApiError::forbidden()),
    };
    let choice: Choice = body.str("choice")?.parse().map_err(gov_error)?;
    let actor = who.actor();
    let doc = st
        .with(move |cx| {
            if !cx.company.governance.proposals.contains_key(&id) {
                return Err(ApiError::not_found_at("path.proposal", "proposal"));
            }
            let at = cx.now;
            let p = &cx.company.governance.proposals[&id];
            // The same choice as the voter's ballot in force appends nothing: repeating it
            // cannot grow the ledger.
            let held = cx.company.governance.ballots.get(&id).and_then(|bs| {
                tokencomp_core::governance::final_ballots(p, bs, at).get(voter.as_str()).map(|b| (b.choice, b.cast_at))
            });
            let (cast_at, recorded) = match held {
                Some((c, cast)) if c == choice && p.is_open(at) => (cast, false),
                _ => {
                    let fact = Fact::Ballot { proposal: id.clone(), voter: voter.clone(), choice, cast_at: at };
                    record(cx, &fact, &actor)?;
                    (at, true)
                }
            };
            let p = &cx.company.governance.proposals[&id];
            let snap = tokencomp_store::gov::snapshot_for(cx.company, p).map_err(gov_error)?;
            let power = snap.power.get(&voter).copied().unwrap_or_default();
            Ok(json!({"proposal": id, "voter": voter, "choice": choice.as_str(), "cast_at": cast_at.to_string(),
                      "power": power.to_string(), "recorded": recorded}))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(doc)).into_response())
}
