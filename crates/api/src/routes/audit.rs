//! The audit view's routes: the ledger's events newest first, filtered by actor, kind, subject
//! and record days (combined), each with its hash, the previous hash and whether the chain
//! verifies up to it, and the same list as CSV. The work is `tokencomp_service::audit`'s (the
//! CLI's `tokencomp audit` reads the same); this parses the query and renders.
//!
//! Must never: read more than a page of events into memory (the CSV is streamed a page at a
//! time), or show an employee anything (staff only, refused before anything is read).

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Frame;
use serde_json::{Value, json};
use tokencomp_service::audit::{self, AuditQuery};
use tokencomp_store::Subject;
use tokencomp_store::scan::{CHUNK, EventFilter};

use super::{CURSOR, LIMIT, Param, choice, date, event_json, require_staff, text, token_json, unhex};
use crate::{ApiError, AppState, Caller, Query};

/// The filters both routes take.
pub(super) const FILTERS: [Param; 5] = [
    text("actor", "Only events recorded by this actor: `user:NAME`, `key:ID`, `oracle:ID`, `system`."),
    text(
        "kind",
        "Only events of this kind (`grant.issued`, `vest`, `period.run`, … as `GET /api/ledger/events` shows them); another is refused.",
    ),
    text(
        "subject",
        "Only events about this subject: `grant:ID`, `person:ID`, `proposal:ID`, `period:ID`, `price:DATE`, `company` …",
    ),
    date("since", "Only events recorded on or after this day (the company's time zone)."),
    date("until", "Only events recorded on or before this day (the company's time zone)."),
];

/// The list's own parameters: the filters, the chain check, the page.
pub(super) const LIST: [Param; 8] = [
    FILTERS[0],
    FILTERS[1],
    FILTERS[2],
    FILTERS[3],
    FILTERS[4],
    choice(
        "chain",
        &["verify", "skip"],
        "`verify` (default) recomputes the hash chain and marks each event; `skip` leaves `chain` and `chain_ok` null.",
    ),
    CURSOR,
    LIMIT,
];

/// The query's filters, each checked, naming the parameter that is wrong.
fn query(q: &Query) -> Result<AuditQuery, ApiError> {
    let text = |k: &str| q.get(k).map(|v| audit::filter_text(v, &format!("query.{k}"))).transpose();
    Ok(AuditQuery {
        actor: text("actor")?,
        kind: q.get("kind").map(|k| audit::kind(k, "query.kind")).transpose()?,
        subject: text("subject")?.map(|s| Subject::parse(&s)),
        since: q.date("since")?,
        until: q.date("until")?,
    })
}

/// The page's start: below the sequence number the previous page's `next_cursor` carries.
fn cursor(q: &Query) -> Result<Option<i64>, ApiError> {
    let bad = || ApiError::invalid("query.cursor", "not a cursor this API returned");
    q.get("cursor").map(|c| unhex(c).and_then(|s| s.parse::<i64>().ok()).filter(|n| *n > 0).ok_or_else(bad)).transpose()
}

pub(super) async fn events(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    require_staff(&who)?;
    let wanted = query(&q)?;
    let below = cursor(&q)?;
    let limit = usize::try_from(LIMIT.int_from(&q)?.unwrap_or(100)).unwrap_or(100);
    let verify = match q.get("chain") {
        None | Some("verify") => true,
        Some("skip") => false,
        Some(other) => return Err(ApiError::invalid("query.chain", format!("`{other}` is not verify or skip"))),
    };
    let doc = st
        .with(move |cx| {
            let filter = wanted.filter(&cx.company.company.time_zone, "query.until")?;
            audit::known(cx.store, &wanted, "query.actor", "query.subject")?;
            let chain = if verify { Some(audit::chain(cx.store)?) } else { None };
            let p = audit::page(cx.store, &filter, below, limit, chain)?;
            let items: Vec<Value> = p
                .events
                .iter()
                .map(|e| {
                    let mut v = event_json(&e.stored);
                    v["chain_ok"] = json!(e.chain_ok);
                    v
                })
                .collect();
            let chain = p.chain.map(|c| {
                json!({"verified_through": c.verified_through,
                       "break": c.broken.map(|b| json!({"seq": b.seq, "id": b.id, "reason": b.reason}))})
            });
            Ok(json!({"token": token_json(cx.company), "items": items, "chain": chain,
                      "next_cursor": p.next_below.map(|b| tokencomp_store::hex(b.to_string().as_bytes()))}))
        })
        .await?;
    Ok(Json(doc))
}

/// A body fed a page at a time by the task that reads the ledger.
struct Pages(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl hyper::body::Body for Pages {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data)))
    }
}

/// One page of the CSV (the header before the first) and where the next starts.
fn csv_page(
    cx: &mut crate::Ctx<'_>,
    filter: &EventFilter,
    chain: &tokencomp_store::scan::ChainState,
    below: Option<i64>,
) -> Result<(String, Option<i64>), ApiError> {
    let p = audit::page(cx.store, filter, below, CHUNK, Some(chain.clone()))?;
    let mut out = String::new();
    if below.is_none() {
        out.push_str(audit::CSV_HEADER);
    }
    for e in &p.events {
        audit::csv_line(e, &cx.company.token.token, &mut out);
    }
    Ok((out, p.next_below))
}

pub(super) async fn events_csv(
    State(st): State<AppState>,
    Caller { who, .. }: Caller,
    q: Query,
) -> Result<Response, ApiError> {
    require_staff(&who)?;
    let wanted = query(&q)?;
    // The filter, the chain as the export begins, and the first page: a refusal is a status.
    let (filter, chain, first, next) = st
        .with(move |cx| {
            let filter = wanted.filter(&cx.company.company.time_zone, "query.until")?;
            audit::known(cx.store, &wanted, "query.actor", "query.subject")?;
            let chain = audit::chain(cx.store)?;
            let (text, next) = csv_page(cx, &filter, &chain, None)?;
            Ok((filter, chain, text, next))
        })
        .await?;
    let mut res = match next {
        None => first.into_response(),
        Some(mut below) => {
            let (tx, rx) = tokio::sync::mpsc::channel(2);
            let (st, filter, chain) = (st.clone(), filter.clone(), chain.clone());
            tokio::spawn(async move {
                if tx.send(Ok(Bytes::from(first))).await.is_err() {
                    return;
                }
                loop {
                    let (f, c) = (filter.clone(), chain.clone());
                    let page = st.with(move |cx| csv_page(cx, &f, &c, Some(below))).await;
                    let (text, next) = match page {
                        Ok(p) => p,
                        Err(e) => {
                            // Logged by `ApiError::internal`; the client sees a cut-off body.
                            let _ = tx.send(Err(std::io::Error::other(e.message))).await;
                            return;
                        }
                    };
                    if tx.send(Ok(Bytes::from(text))).await.is_err() {
                        return;
                    }
                    match next {
                        Some(b) => below = b,
                        None => return,
                    }
                }
            });
            axum::body::Body::new(Pages(rx)).into_response()
        }
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"ledger-events.csv\""));
    Ok(res)
}
