//! The report routes: tax reports, simulations, pay periods (list, run, close, payroll file),
//! books, tokenomics and the chain. Each calls `tokencomp_service` directly, so a file the
//! browser downloads is the file the CLI writes; a service error becomes a status in one place
//! (`ApiError::from`), with the route's own field names.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::ToSpan;
use jiff::civil::Date;
use serde_json::{Value, json};
use tokencomp_service::Error;

use super::{
    BOOKS_FORMATS, PATHS, SEED, YEAR, as_of, known_person, period_path, require_admin, require_person, require_staff,
};
use crate::{ApiError, AppState, Caller, Principal, Query};

/// A use case's failure as `who` may read it. A report's gap names what is missing, and the
/// company-wide pass behind a person's report can miss another person's price or rate ("grant
/// aisha-2025-hire: vest on …"): an employee is told only that something is missing.
pub(super) fn for_caller(who: &Principal, e: Error) -> ApiError {
    match e {
        Error::Incomplete(_) if !who.is_staff() => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "incomplete_data",
            "the ledger lacks a price or an exchange rate this report needs; an administrator can see which",
        ),
        e => e.into(),
    }
}

/// A refusal of the request's input as the API names its fields: the service's own names
/// (the CLI's flags) become the parameters this route takes, per `names` (service → API).
pub(super) fn named(e: Error, names: &[(&str, &str)]) -> ApiError {
    let rename = |field: &str| names.iter().find(|(from, _)| *from == field).map_or(field, |(_, to)| to).to_owned();
    match e {
        Error::Invalid { field, message } => ApiError::invalid(&rename(&field), message),
        Error::Rejected { field, text } => Error::Rejected { field: rename(&field), text }.into(),
        e => e.into(),
    }
}

/// A report over the ledger: what it cannot compute from what is recorded (a missing price or
/// rate, a wallet that is a label) is the ledger's gap, said as such, not a server failure.
fn incomplete(e: Error) -> ApiError {
    match e {
        Error::Internal(m) => Error::Incomplete(m).into(),
        e => e.into(),
    }
}

/// The `year` a person's report is for: the query's, or this year.
fn tax_year(cx: &crate::Ctx<'_>, q: &Query) -> Result<i16, ApiError> {
    let this_year = u64::try_from(cx.today().year()).unwrap_or(2000);
    let year = YEAR.int_from(q)?.unwrap_or(this_year);
    i16::try_from(year).map_err(|_| ApiError::invalid("query.year", "out of range"))
}

pub(crate) async fn tax_report(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    require_person(&who, &id)?;
    let doc = st
        .with(move |cx| {
            known_person(cx.company, &id, "path.person")?;
            let year = tax_year(cx, &q)?;
            let report = tokencomp_service::reports::tax_report(cx.company, &id, year, "query.year")
                .map_err(|e| for_caller(&who, e))?;
            Ok(report.to_json())
        })
        .await?;
    Ok(Json(doc))
}

/// What the person's portal shows (`tokencomp_service::portal`).
pub(crate) async fn portal(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    require_person(&who, &id)?;
    let doc = st
        .with(move |cx| {
            known_person(cx.company, &id, "path.person")?;
            let as_of = as_of(cx, &q)?;
            let p = tokencomp_service::portal::portal(cx.company, &id, as_of).map_err(|e| for_caller(&who, e))?;
            Ok(p.to_json(cx.company))
        })
        .await?;
    Ok(Json(doc))
}

/// The formats `GET /api/people/{person}/statement` writes.
pub(crate) const STATEMENT_FORMATS: &[&str] = &["pdf", "csv"];

/// A person's yearly statement as PDF (default) or CSV: the tax report's events laid out for
/// the person (`tokencomp_service::statement`).
pub(crate) async fn statement(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    require_person(&who, &id)?;
    let format = q.get("format").unwrap_or("pdf").to_owned();
    if !STATEMENT_FORMATS.contains(&format.as_str()) {
        return Err(ApiError::invalid("query.format", format!("`{format}` is not pdf or csv")));
    }
    let pdf = format == "pdf";
    let (file, body) = st
        .with(move |cx| {
            known_person(cx.company, &id, "path.person")?;
            let year = tax_year(cx, &q)?;
            let report = tokencomp_service::reports::tax_report(cx.company, &id, year, "query.year")
                .map_err(|e| for_caller(&who, e))?;
            let s = tokencomp_service::statement::statement(&cx.company.company.name, report);
            let file = format!("statement-{id}-{}.{}", s.year_label(), if pdf { "pdf" } else { "csv" });
            let body = if pdf { s.to_pdf()? } else { s.to_csv()?.into_bytes() };
            Ok((file, body))
        })
        .await?;
    let mut res = body.into_response();
    let h = res.headers_mut();
    let ct = if pdf { "application/pdf" } else { "text/csv; charset=utf-8" };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")).map_err(ApiError::internal)?,
    );
    Ok(res)
}

pub(crate) async fn simulation(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    require_person(&who, &id)?;
    let doc = st
        .with(move |cx| {
            known_person(cx.company, &id, "path.person")?;
            let paths = usize::try_from(PATHS.int_from(&q)?.unwrap_or(2000)).unwrap_or(2000);
            let seed = SEED.int_from(&q)?.unwrap_or(1);
            let as_of = as_of(cx, &q)?;
            let request = tokencomp_service::analytics::SimulateRequest {
                person: Some(id.clone()),
                paths,
                seed,
                ..Default::default()
            };
            let names = [("--as-of", "query.as_of"), ("--paths", "query.paths"), ("--person", "path.person")];
            let sim = tokencomp_service::analytics::simulate(cx.company, &request, as_of, &mut |_| {}).map_err(
                |e| match e {
                    e @ Error::Invalid { .. } => named(e, &names),
                    e => for_caller(&who, e),
                },
            )?;
            Ok(sim.to_json()?)
        })
        .await?;
    Ok(Json(doc))
}

pub(crate) async fn rules_list(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    require_staff(&who)?;
    let year = q.int("year", 1000, 9998)?.map(|y| i16::try_from(y).unwrap_or_default());
    let jurisdiction = q.get("jurisdiction").map(str::to_owned);
    if let Some(j) = &jurisdiction
        && !tokencomp_service::rules::JURISDICTIONS.contains(&j.as_str())
    {
        return Err(ApiError::invalid("query.jurisdiction", format!("`{j}` is not a rules jurisdiction (us, uk)")));
    }
    let doc = st
        .with(move |cx| {
            let values = tokencomp_service::rules::list(cx.company, year, jurisdiction.as_deref())?;
            let items: Vec<Value> = values.iter().map(tokencomp_service::rules::RuleValue::to_json).collect();
            Ok(json!({"items": items}))
        })
        .await?;
    Ok(Json(doc))
}

pub(crate) async fn rules_add(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    body: crate::Body,
) -> Result<Json<Value>, ApiError> {
    require_admin(&who)?;
    let name = body.str("name")?.to_owned();
    let text = body.str("text")?.to_owned();
    if name.trim().is_empty() {
        return Err(ApiError::invalid("body.name", "the file needs a name (it is recorded with its values)"));
    }
    let actor = who.actor();
    let doc = st
        .with(move |cx| {
            let by = cx.stamp(&actor);
            let added = tokencomp_service::rules::add(cx.store, None, &name, &text, &by)?;
            Ok(added.to_json())
        })
        .await?;
    Ok(Json(doc))
}

pub(crate) async fn periods(State(st): State<AppState>, Caller { who, .. }: Caller) -> Result<Json<Value>, ApiError> {
    require_staff(&who)?;
    let doc = st
        .with(move |cx| {
            let list = tokencomp_service::payroll::periods(cx.company, cx.today());
            let items: Vec<Value> = list.iter().rev().map(tokencomp_service::payroll::PeriodInfo::to_json).collect();
            Ok(json!({"items": items}))
        })
        .await?;
    Ok(Json(doc))
}

pub(crate) async fn run_period(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&who)?;
    period_path(&id)?;
    let actor = who.actor();
    Ok(Json(
        st.with(move |cx| {
            let (today, by) = (cx.today(), cx.stamp(&actor));
            let run = tokencomp_service::payroll::run_period(cx.store, cx.company, &id, "path.period", &by, today)?;
            Ok(run.to_json())
        })
        .await?,
    ))
}

pub(crate) async fn close_period(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&who)?;
    period_path(&id)?;
    let actor = who.actor();
    let doc = st
        .with(move |cx| {
            let by = cx.stamp(&actor);
            let closed = tokencomp_service::payroll::close_period(cx.store, cx.company, None, &id, "path.period", &by)?;
            Ok(closed.to_json())
        })
        .await?;
    Ok(Json(doc))
}

pub(super) fn download(content_type: &'static str, file: String, body: String) -> Result<Response, ApiError> {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")).map_err(ApiError::internal)?,
    );
    Ok(res)
}

pub(crate) async fn payroll(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_staff(&who)?;
    period_path(&id)?;
    let name = id.clone();
    let csv = st.with(move |cx| Ok(tokencomp_service::payroll::payroll_csv(cx.company, &id, "path.period")?)).await?;
    let safe: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    download("text/csv; charset=utf-8", format!("payroll-{safe}.csv"), csv)
}

pub(crate) async fn books(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    q: Query,
) -> Result<Response, ApiError> {
    require_staff(&who)?;
    let format = q.get("format").unwrap_or("csv").to_owned();
    if !BOOKS_FORMATS.contains(&format.as_str()) {
        let erp = if super::finance::ERP_FORMATS.contains(&format.as_str()) {
            " (an ERP's journal import needs the company's account map: POST /api/books/erp)"
        } else {
            ""
        };
        return Err(ApiError::invalid("query.format", format!("`{format}` is not csv, beancount or hledger{erp}")));
    }
    let f = format.clone();
    let text = st
        .with(move |cx| {
            let to = q.date("to")?.unwrap_or_else(|| cx.today());
            let from = match q.date("from")? {
                Some(d) => d,
                None => Date::new(to.year(), 1, 1).map_err(|e| ApiError::invalid("query.to", e.to_string()))?,
            };
            if to < from {
                return Err(ApiError::invalid("query.to", "`to` is before `from`"));
            }
            tokencomp_service::reports::books_text(cx.company, from, to, &f, None)
                .map_err(|e| named(e, &[("--from", "query.from"), ("--format", "query.format")]))
        })
        .await?;
    let (ct, ext) = match format.as_str() {
        "csv" => ("text/csv; charset=utf-8", "csv"),
        "beancount" => ("text/plain; charset=utf-8", "beancount"),
        _ => ("text/plain; charset=utf-8", "journal"),
    };
    download(ct, format!("books.{ext}"), text)
}

pub(crate) async fn tokenomics(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    require_staff(&who)?;
    let doc = st
        .with(move |cx| {
            let through = match q.date("through")? {
                Some(d) => d,
                None => cx.today().checked_add(36.months()).map_err(ApiError::internal)?,
            };
            // A monthly projection is work per month: a century is plenty.
            if cx.today().checked_add(100.years()).is_ok_and(|limit| through > limit) {
                return Err(ApiError::invalid("query.through", "a projection reaches at most 100 years ahead"));
            }
            let today = cx.today();
            let report = tokencomp_service::analytics::tokenomics(cx.company, Some(through), today, "query.through")
                .map_err(|e| match e {
                    Error::NotFound { .. } => {
                        ApiError::not_found("tokenomics: the company has no [tokenomics] section")
                    }
                    e => e.into(),
                })?;
            Ok(report.to_json())
        })
        .await?;
    Ok(Json(doc))
}

pub(crate) async fn chain_status(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
) -> Result<Json<Value>, ApiError> {
    require_staff(&who)?;
    let doc = st
        .with(move |cx| {
            // What the chain lacks to answer (a deployment's genesis needs no price) is a gap.
            tokencomp_service::chain::status_doc(&cx.data(), cx.cfg.rpc.as_deref(), cx.company).map_err(incomplete)
        })
        .await?;
    Ok(Json(doc))
}

pub(crate) async fn reconciliation(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
) -> Result<Json<Value>, ApiError> {
    require_staff(&who)?;
    let doc = st
        .with(move |cx| {
            let (data, rpc, wallets) = (cx.data(), cx.cfg.rpc.clone(), cx.cfg.label_wallets);
            tokencomp_service::chain::reconcile_doc(&data, rpc.as_deref(), cx.store, cx.company, wallets).map_err(|e| {
                match e {
                    // Nothing deployed is "no such thing", not bad input.
                    Error::NotFound { .. } => ApiError::not_found("deployment: nothing is deployed on this chain"),
                    e => incomplete(e),
                }
            })
        })
        .await?;
    Ok(Json(doc))
}
