//! The finance year's routes: the year-end pack (its JSON and each form's CSV), payroll in a
//! provider's import layout with its sidecar, and the books as an ERP's journal import with the
//! company's chart-of-accounts mapping. Each maps its arguments and calls `tokencomp_service`,
//! so what the browser downloads is what the CLI writes (docs/web.md).

use std::path::PathBuf;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::Date;
use serde_json::{Value, json};
use tokencomp_service::Error;
use tokencomp_service::layouts::LayoutExport;

use super::reports::{download, for_caller, named};
use super::{YEAR, known_person, period_path, require_staff};
use crate::{ApiError, AppState, Caller, Ctx, Principal, Query, Role};

/// The files of a year-end pack, as `Pack::files` names them (a test holds the two equal).
pub const YEAR_END_FILES: &[&str] = &[
    "w2.csv",
    "w2-states.csv",
    "w2-locals.csv",
    "1099-nec.csv",
    "p60.csv",
    "fps.csv",
    "lohnsteuerbescheinigung.csv",
    "flat.csv",
    "corrections.csv",
    "sales.csv",
];

/// The ERP journal imports `POST /api/books/erp` writes.
pub const ERP_FORMATS: &[&str] = &["quickbooks", "xero", "netsuite"];

/// The year-end pack of `year` (default this year) as `who` may read it: staff everyone's or
/// the `person` named; an employee only their own, whatever `person` says (as `/api/grants`).
fn pack(cx: &Ctx<'_>, who: &Principal, q: &Query) -> Result<tokencomp_service::yearend::Pack, ApiError> {
    let this_year = u64::try_from(cx.today().year()).unwrap_or(2000);
    let year = YEAR.int_from(q)?.unwrap_or(this_year);
    let year = i16::try_from(year).map_err(|_| ApiError::invalid("query.year", "out of range"))?;
    let only = match (&who.role, q.get("person")) {
        (Role::Employee, _) => Some(who.person.clone().ok_or_else(ApiError::forbidden)?),
        (_, Some(p)) => {
            known_person(cx.company, p, "query.person")?;
            Some(p.to_owned())
        }
        (_, None) => None,
    };
    tokencomp_service::yearend::pack(cx.company, year, only.as_deref(), "query.year").map_err(|e| for_caller(who, e))
}

pub(crate) async fn year_end(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    let doc = st.with(move |cx| Ok(pack(cx, &who, &q)?.to_json())).await?;
    Ok(Json(doc))
}

pub(crate) async fn year_end_file(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path(form): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    if !YEAR_END_FILES.contains(&form.as_str()) {
        let list = YEAR_END_FILES.join(", ");
        return Err(ApiError::invalid("path.form", format!("`{form}` is not a file of the year-end pack ({list})")));
    }
    let name = form.clone();
    let (year, csv) = st
        .with(move |cx| {
            let pack = pack(cx, &who, &q)?;
            let csv = pack.files().into_iter().find(|(n, _)| *n == name).map(|(_, csv)| csv);
            let csv = csv.ok_or_else(|| ApiError::internal(format!("the pack has no file {name}")))?;
            Ok((pack.year, csv))
        })
        .await?;
    download("text/csv; charset=utf-8", format!("year-end-{year}-{form}"), csv)
}

/// The provider named by the path, one of the layouts the service ships.
fn provider_path(provider: &str) -> Result<(), ApiError> {
    let known = tokencomp_service::layouts::providers();
    if known.contains(&provider) {
        return Ok(());
    }
    Err(ApiError::invalid("path.provider", format!("`{provider}` is not a payroll layout ({})", known.join(", "))))
}

/// `period`'s payroll in `provider`'s layout with the shipped column map, as of the request's
/// now. A refused layout (cash-only, or a map that needs the company's own values) is 422
/// `layout_refused` with the service's reason.
async fn export(st: &AppState, who: &Principal, period: String, provider: String) -> Result<LayoutExport, ApiError> {
    require_staff(who)?;
    period_path(&period)?;
    provider_path(&provider)?;
    st.with(move |cx| {
        let p = tokencomp_service::payroll::check_period(cx.company, &period, "path.period")?;
        let provisional = tokencomp_service::exports::is_provisional(cx.company, &p.id);
        let out = PathBuf::from(format!("{provider}-{}.csv", p.id));
        tokencomp_service::layouts::layout_export(cx.company, &p, &provider, None, provisional, cx.now, &out).map_err(
            |e| match e {
                Error::Invalid { field, message } | Error::Rejected { field, text: message } if field == "--layout" => {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "layout_refused", message.trim_end())
                        .with_details(json!({"field": "path.provider"}))
                }
                e => e.into(),
            },
        )
    })
    .await
}

pub(crate) async fn layout(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path((period, provider)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let export = export(&st, &who, period, provider).await?;
    let file = export.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    download("text/csv; charset=utf-8", file, export.csv)
}

pub(crate) async fn layout_sidecar(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    Path((period, provider)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(export(&st, &who, period, provider).await?.sidecar))
}

/// The books from `from` (default 1 January of `to`'s year) to `to` (default today) in an
/// ERP's journal import, accounts translated by the mapping file sent in the body (`map`, the
/// TOML `tokencomp books --map` reads): the data directory keeps no mapping of its own.
pub(crate) async fn erp_books(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    body: crate::Body,
) -> Result<Response, ApiError> {
    require_staff(&who)?;
    let format = body.str("format")?.to_owned();
    if !ERP_FORMATS.contains(&format.as_str()) {
        return Err(ApiError::invalid("body.format", format!("`{format}` is not quickbooks, xero or netsuite")));
    }
    let map = body.str("map")?.to_owned();
    let (from, to) = (body.opt_date("from")?, body.opt_date("to")?);
    let f = format.clone();
    let text = st
        .with(move |cx| {
            let to = to.unwrap_or_else(|| cx.today());
            let from = match from {
                Some(d) => d,
                None => Date::new(to.year(), 1, 1).map_err(|e| ApiError::invalid("body.to", e.to_string()))?,
            };
            if to < from {
                return Err(ApiError::invalid("body.to", "`to` is before `from`"));
            }
            let names = [("--from", "body.from"), ("--format", "body.format"), ("--map", "body.map")];
            tokencomp_service::reports::erp_books(cx.company, from, to, &f, "body.map", &map)
                .map_err(|e| named(e, &names))
        })
        .await?;
    download("text/csv; charset=utf-8", format!("books-{format}.csv"), text)
}
