//! Governance on the API: voting power, delegations, proposals, ballots and tallies. The rules
//! are `tokencomp_core::governance`; every new fact passes `tokencomp_store::gov::validate_gov`
//! (the same check the CLI runs) before it is appended.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};
use tokencomp_core::governance::{Choice, GovError, Proposal, Tally};
use tokencomp_store::gov::{snapshot_of, tally_for, validate_gov};
use tokencomp_store::ledger::{Company, Fact};
use tokencomp_store::{Checked, StoreError};

use crate::routes::{page, require_admin, require_person, token_json};
use crate::{ApiError, AppState, Body, Caller, Ctx, Query, Role};

fn gov_error(e: GovError) -> ApiError {
    let message = e.to_string();
    match e {
        GovError::Cycle { path } => {
            ApiError::conflict(message).with_details(json!({"field": "body.to", "cycle": path}))
        }
        GovError::UnknownHolder { .. } => ApiError::invalid("body.to", message),
        GovError::UnknownProposal { .. } => ApiError::not_found("proposal"),
        GovError::SelfDelegation { .. } => ApiError::invalid("body.to", message),
        GovError::BadWeight { .. } => ApiError::invalid("unvested_weight_bps", message),
        GovError::BadQuorum { .. } => ApiError::invalid("body.quorum_bps", message),
        GovError::BadWindow { .. } => ApiError::invalid("body.closes", message),
        GovError::Empty { field } => ApiError::invalid(&format!("body.{field}"), message),
        GovError::BadId { .. } => ApiError::invalid("body.id", message),
        GovError::BadChoice { .. } => ApiError::invalid("body.choice", message),
        GovError::SnapshotAfterOpen { .. } => ApiError::invalid("body.snapshot_date", message),
        GovError::Balances { .. } | GovError::Overflow => ApiError::internal(message),
        GovError::NotDelegated { .. }
        | GovError::Backdated { .. }
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
    let (cached, len, now) = (cx.company, cx.len, cx.now);
    let appended = tokencomp_store::append_checked(cx.store, now, |ledger| {
        let head = ledger.head().map_err(ApiError::internal)?.map_or(0, |h| h.0);
        let fresh;
        let company = if head == len {
            cached
        } else {
            fresh = Company::fold(&ledger.events().map_err(ApiError::internal)?).map_err(ApiError::internal)?;
            &fresh
        };
        validate_gov(company, fact, now).map_err(gov_error)?;
        Ok(vec![fact.to_event(actor)])
    });
    match appended {
        Ok(a) => Ok(a.new),
        Err(Checked::Refused(e)) => Err(e),
        Err(Checked::Store(e @ StoreError::Conflict { .. })) => Err(ApiError::conflict(e.to_string())),
        Err(Checked::Store(e)) => Err(ApiError::internal(e)),
    }
}

fn weight(q: &Query) -> Result<u32, ApiError> {
    let w = q.int("unvested_weight_bps", 0, 10_000)?.unwrap_or(0);
    u32::try_from(w).map_err(|_| ApiError::invalid("query.unvested_weight_bps", "out of range"))
}

pub async fn power(State(st): State<AppState>, Caller { who, .. }: Caller, q: Query) -> Result<Json<Value>, ApiError> {
    let doc = st
        .with(move |cx| {
            let date = q.date("date")?.unwrap_or_else(|| cx.today());
            let w = weight(&q)?;
            let c = cx.company;
            // One pass over the grants: the balances shown and the snapshot come from it.
            let held = tokencomp_store::gov::holdings(c, date).map_err(gov_error)?;
            let snap = snapshot_of(c, held.clone(), date, w).map_err(gov_error)?;
            let rows: Vec<Value> = snap
                .power
                .iter()
                .filter(|(h, _)| who.role != Role::Employee || who.person.as_deref() == Some(h.as_str()))
                .map(|(h, p)| {
                    let hold = held.iter().find(|x| &x.holder == h);
                    json!({"holder": h,
                           "vested": hold.map_or("0".into(), |x| x.vested.to_string()),
                           "unvested": hold.map_or("0".into(), |x| x.unvested.to_string()),
                           "own": snap.own.get(h).map_or("0".into(), ToString::to_string),
                           "power": p.to_string(), "delegate": snap.delegates.get(h)})
                })
                .collect();
            Ok(json!({"token": token_json(c), "date": date.to_string(), "unvested_weight_bps": w,
                      "total": snap.total.to_string(), "holders": snap.power.len(), "rows": rows}))
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
    let to = body.opt_str("to")?.map(str::to_owned);
    let effective = match body.opt_str("effective")? {
        Some(s) => Some(
            s.parse::<Date>().map_err(|e| ApiError::invalid("body.effective", format!("`{s}` is not a date: {e}")))?,
        ),
        None => None,
    };
    let actor = who.actor();
    let doc = st
        .with(move |cx| {
            if !cx.company.people.contains_key(&from) {
                return Err(ApiError::not_found("person"));
            }
            let effective = effective.unwrap_or_else(|| cx.today());
            let fact = Fact::Delegation { from: from.clone(), to: to.clone(), effective };
            let new = record(cx, &fact, &actor)?;
            // The same record again is a no-op; if another one replaced it that day, saying
            // "done" would be false.
            if new == 0 && cx.company.governance.delegations_on(effective).get(&from) != to.as_ref() {
                return Err(ApiError::conflict(format!(
                    "that delegation was recorded on {effective} and replaced the same day; give a later `effective` date"
                )));
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
            let p = cx.company.governance.proposals.get(&id).ok_or_else(|| ApiError::not_found("proposal"))?;
            proposal_json(cx.company, p, &who, cx.now)
        })
        .await?;
    Ok(Json(doc))
}

fn instant(body: &Body, k: &str) -> Result<Timestamp, ApiError> {
    let s = body.str(k)?;
    s.parse::<Timestamp>()
        .map_err(|e| ApiError::invalid(&format!("body.{k}"), format!("`{s}` is not an RFC 3339 instant: {e}")))
}

pub async fn propose(State(st): State<AppState>, Caller { who, .. }: Caller, body: Body) -> Result<Response, ApiError> {
    require_admin(&who)?;
    let bps = |k: &str, default: u64| -> Result<u32, ApiError> {
        let v = body.opt_int(k, 0, 10_000)?.unwrap_or(default);
        u32::try_from(v).map_err(|_| ApiError::invalid(&format!("body.{k}"), "out of range"))
    };
    let snapshot = body.str("snapshot_date")?;
    let p = Proposal {
        id: body.str("id")?.to_owned(),
        title: body.str("title")?.to_owned(),
        description: body.opt_str("description")?.unwrap_or("").to_owned(),
        snapshot_date: snapshot
            .parse()
            .map_err(|e| ApiError::invalid("body.snapshot_date", format!("`{snapshot}` is not a date: {e}")))?,
        opens: instant(&body, "opens")?,
        closes: instant(&body, "closes")?,
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
                return Err(ApiError::not_found("proposal"));
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
