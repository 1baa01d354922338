//! The audit view, once for every face: the ledger's events newest first, filtered by actor,
//! kind, subject and the days they were recorded (combined), each with its hash, the previous
//! event's hash and whether the chain verifies up to it; and the same list as CSV.
//!
//! Pages are read from the store a chunk at a time ([`tokencomp_store::scan`]), so a ledger of
//! millions of events is filtered with a few hundred in memory. A page ends below a sequence
//! number; events appended later have higher ones, so the next page neither repeats nor skips
//! an event however much is appended between the two reads.
//!
//! Must never: read the clock (the days are in the company's zone, given), or write a CSV
//! text cell except through [`tokencomp_formats::csv_text::text_field`].

use jiff::civil::Date;
use jiff::tz::TimeZone;
use tokencomp_formats::csv_text::text_field;
use tokencomp_money::Token;
use tokencomp_store::scan::{ChainState, EventFilter, Start, chain_state, scan};
use tokencomp_store::{EventKind, Store, StoredEvent, Subject};

use crate::error::{Error, Result};

/// The longest actor or subject a filter takes (longer text names nothing in a ledger).
pub const MAX_FILTER_TEXT: usize = 256;

/// What an auditor asks for, as typed by [`kind`] and the faces' date parsing; every part that is
/// set must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub kind: Option<EventKind>,
    pub subject: Option<Subject>,
    /// Recorded on or after this day (in the company's zone).
    pub since: Option<Date>,
    /// Recorded on or before this day (in the company's zone).
    pub until: Option<Date>,
}

/// The kind named `text`, or bad input at `field` listing the kinds there are.
pub fn kind(text: &str, field: &str) -> Result<EventKind> {
    EventKind::parse(text).map_err(|_| {
        let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        Error::invalid(format!("`{text}` is not an event kind; the kinds are {}", known.join(", ")), field)
    })
}

/// An actor or subject filter: non-empty text of at most [`MAX_FILTER_TEXT`] bytes.
pub fn filter_text(text: &str, field: &str) -> Result<String> {
    if text.is_empty() || text.len() > MAX_FILTER_TEXT {
        return Err(Error::invalid(format!("must be 1 to {MAX_FILTER_TEXT} characters"), field));
    }
    Ok(text.to_owned())
}

impl AuditQuery {
    /// The store's filter: the days become instants in `tz` (`since` from its first moment,
    /// `until` through its last). A range that ends before it starts is bad input at
    /// `until_field`.
    pub fn filter(&self, tz: &TimeZone, until_field: &str) -> Result<EventFilter> {
        if let (Some(s), Some(u)) = (self.since, self.until)
            && u < s
        {
            return Err(Error::invalid(format!("{u} is before the range's first day {s}"), until_field));
        }
        // The day's first instant (the earliest, when a transition skips midnight).
        let start = |d: Date| {
            d.to_zoned_datetime(tz.clone())
                .and_then(|z| z.start_of_day())
                .map(|z| z.timestamp())
                .map_err(|e| Error::invalid(e, until_field))
        };
        let from = self.since.map(start).transpose()?;
        let before = match self.until {
            Some(u) => Some(start(u.tomorrow().map_err(|e| Error::invalid(e, until_field))?)?),
            None => None,
        };
        Ok(EventFilter { actor: self.actor.clone(), kind: self.kind, subject: self.subject.clone(), from, before })
    }
}

/// An actor or subject no event has is the caller's mistake (a typo finds nothing, and says so),
/// not an empty list: not found, naming `actor_field` or `subject_field`. Each is looked up alone,
/// stopping at the first event, so a combination that selects nothing is still an empty list.
pub fn known(store: &mut dyn Store, q: &AuditQuery, actor_field: &str, subject_field: &str) -> Result<()> {
    let mut any = |filter: EventFilter| -> Result<bool> {
        let mut found = false;
        scan(store, &filter, Start::NewestBelow(None), &mut |_| {
            found = true;
            Ok(false)
        })?;
        Ok(found)
    };
    if let Some(actor) = &q.actor
        && !any(EventFilter { actor: Some(actor.clone()), ..EventFilter::default() })?
    {
        return Err(Error::not_found(format!("no event was recorded by `{actor}`"), actor_field));
    }
    if let Some(subject) = &q.subject
        && !any(EventFilter { subject: Some(subject.clone()), ..EventFilter::default() })?
    {
        return Err(Error::not_found(format!("no event is about `{subject}`"), subject_field));
    }
    Ok(())
}

/// An event as the audit view shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub stored: StoredEvent,
    /// Whether the hash chain verifies from the first event through this one (`None` when the
    /// caller did not ask for the chain).
    pub chain_ok: Option<bool>,
}

/// One page, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Where the next page starts (below this sequence number); `None` on the last page.
    pub next_below: Option<i64>,
    /// How far the chain holds, when asked for.
    pub chain: Option<ChainState>,
}

/// Recomputes the chain from the first event (a chunk at a time): what [`page`] and
/// [`write_csv`] mark each event against.
pub fn chain(store: &mut dyn Store) -> Result<ChainState> {
    Ok(chain_state(store)?)
}

/// Up to `limit` events `filter` selects, newest first, below the sequence number `below`
/// (from the head when `None`), each marked against `chain` when given.
pub fn page(
    store: &mut dyn Store,
    filter: &EventFilter,
    below: Option<i64>,
    limit: usize,
    chain: Option<ChainState>,
) -> Result<AuditPage> {
    let limit = limit.max(1);
    let mut events = Vec::with_capacity(limit.min(1024));
    let mut more = false;
    scan(store, filter, Start::NewestBelow(below), &mut |e| {
        if events.len() == limit {
            more = true;
            return Ok(false);
        }
        let chain_ok = chain.as_ref().map(|c| c.holds_through(e.seq));
        events.push(AuditEvent { stored: e, chain_ok });
        Ok(true)
    })?;
    let next_below = if more { events.last().map(|e| e.stored.seq) } else { None };
    Ok(AuditPage { events, next_below, chain })
}

/// The CSV's header line (RFC 4180, CRLF line ends).
pub const CSV_HEADER: &str =
    "seq,recorded_at,kind,subject,actor,amount,amount_base_units,event_id,prev_hash,hash,chain_verified,payload\r\n";

/// One event as a CSV line: text cells neutralised and quoted by the one rule every CSV the
/// product writes uses; the amount exact in tokens and in base units.
pub fn csv_line(e: &AuditEvent, token: &Token, out: &mut String) {
    let s = &e.stored;
    let ev = &s.event;
    let amount = ev.amount.map(|a| token.format(a)).unwrap_or_default();
    let base = ev.amount.map(|a| a.to_string()).unwrap_or_default();
    let chain = match e.chain_ok {
        Some(true) => "yes",
        Some(false) => "no",
        None => "",
    };
    let cells: [&str; 12] = [
        &s.seq.to_string(),
        &s.recorded_at.to_string(),
        &text_field(ev.kind.as_str()),
        &text_field(&ev.subject),
        &text_field(&ev.actor),
        &amount,
        &base,
        &text_field(&ev.id),
        &s.prev_hash,
        &s.hash,
        chain,
        &text_field(&ev.payload),
    ];
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

/// The whole filtered list as CSV, newest first, handed to `write` a page at a time (the
/// header first), each event marked against the chain as it stood when the export began.
pub fn write_csv(
    store: &mut dyn Store,
    filter: &EventFilter,
    token: &Token,
    write: &mut dyn FnMut(&str) -> Result<()>,
) -> Result<()> {
    let chain = chain(store)?;
    write(CSV_HEADER)?;
    let mut below = None;
    loop {
        let p = page(store, filter, below, tokencomp_store::scan::CHUNK, Some(chain.clone()))?;
        let mut text = String::new();
        for e in &p.events {
            csv_line(e, token, &mut text);
        }
        write(&text)?;
        match p.next_below {
            Some(b) => below = Some(b),
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use tokencomp_money::TokenAmount;
    use tokencomp_store::NewEvent;

    #[test]
    fn days_are_the_companys_and_a_reversed_range_names_until() {
        let ny = TimeZone::get("America/New_York").expect("zone");
        // 8 March 2026: New York moves from EST (UTC-5) to EDT (UTC-4) at 02:00, so the day
        // begins at 05:00 UTC and the next at 04:00 UTC.
        let day: Date = "2026-03-08".parse().expect("date");
        let q = AuditQuery { since: Some(day), until: Some(day), ..AuditQuery::default() };
        let f = q.filter(&ny, "--until").expect("filter");
        assert_eq!(f.from, Some("2026-03-08T05:00:00Z".parse::<Timestamp>().expect("t")));
        assert_eq!(f.before, Some("2026-03-09T04:00:00Z".parse::<Timestamp>().expect("t")));
        let reversed = AuditQuery { since: Some(day), until: Some("2026-03-07".parse().expect("d")), ..q };
        let e = reversed.filter(&ny, "query.until").expect_err("reversed");
        assert_eq!(
            (e.field(), e.to_string().as_str()),
            (Some("query.until"), "2026-03-07 is before the range's first day 2026-03-08")
        );
        assert_eq!(kind("vest", "--kind"), Ok(EventKind::Vest));
        assert_eq!(kind("Vest", "--kind").expect_err("case").field(), Some("--kind"));
        assert_eq!(filter_text(&"x".repeat(257), "query.actor").expect_err("long").field(), Some("query.actor"));
    }

    #[test]
    fn a_csv_line_quotes_as_rfc_4180_and_neutralises_formula_cells() {
        let token = Token::new("GRID", 18).expect("token");
        let e = AuditEvent {
            stored: StoredEvent {
                seq: 7,
                event: NewEvent {
                    id: "v:1".into(),
                    kind: EventKind::Vest,
                    subject: "grant:ada".into(),
                    payload: r#"{"date":"2026-10-01","reason":"time"}"#.into(),
                    amount: Some(TokenAmount::from_base_units(1_500_000_000_000_000_000)),
                    actor: "@admin".into(),
                },
                recorded_at: "2026-10-02T00:00:00.5Z".parse().expect("t"),
                prev_hash: "aa".into(),
                hash: "bb".into(),
            },
            chain_ok: Some(false),
        };
        let mut out = String::new();
        csv_line(&e, &token, &mut out);
        assert_eq!(
            out,
            "7,2026-10-02T00:00:00.5Z,vest,grant:ada,'@admin,1.5,1500000000000000000,v:1,aa,bb,no,\
             \"{\"\"date\"\":\"\"2026-10-01\"\",\"\"reason\"\":\"\"time\"\"}\"\r\n"
        );
        assert_eq!(
            CSV_HEADER.matches(',').count(),
            out.matches(',').count() - 1,
            "12 columns (the payload's one comma is inside its quotes)"
        );
    }
}
