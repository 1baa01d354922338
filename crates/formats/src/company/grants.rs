//! Reading `[[grant]]` tables (their size, policy keys and events) and `[[milestone]]` terms.

use super::*;

/// A grant and, when its amounts are known, its folded total (granted).
pub(super) fn read_grant(cx: &mut Cx<'_>, env: &Env<'_>, t: &Tbl<'_, '_>) -> Option<(GrantTerms, Option<TokenAmount>)> {
    t.allow(
        cx,
        &[
            "id",
            "holder",
            "grant_date",
            "amount",
            "value",
            "currency",
            "price",
            "price_average_days",
            "schedule",
            "performance",
            "event",
            "withholding_method",
            "floor_usd",
            "settlement_date",
            "transferred_at_grant",
            "election_83b",
            "attribution",
            "classification",
            "reverse",
        ],
    );
    let id = t.string(cx, "id");
    let holder = t.string(cx, "holder");
    let grant_date = t.date(cx, "grant_date", false);
    let (amount, size) = if t.get("value").is_some() {
        if let Some(v) = t.get("amount") {
            cx.err(&t.field("amount"), v.span(), "give `amount` (tokens) or `value` (fiat), not both");
        }
        let value = t.decimal(cx, "value", true);
        let currency = match t.str(cx, "currency", false) {
            None => Some(Currency::USD),
            Some((c, span)) => {
                Currency::from_str(c).map_err(|e| cx.err(&t.field("currency"), span, e.to_string())).ok()
            }
        };
        let avg_days = t.u32(cx, "price_average_days", false, 1..366);
        let price = if t.get("price").is_some() {
            t.decimal(cx, "price", true).filter(|p| {
                let ok = !p.is_zero();
                if !ok {
                    cx.err(
                        &t.field("price"),
                        t.get("price").map_or(t.span.clone(), |v| v.span()),
                        "the grant price must be positive",
                    );
                }
                ok
            })
        } else if let (Some(days), Some(currency)) = (avg_days, currency) {
            let Some(gd) = grant_date else {
                cx.err(&t.field("grant_date"), t.span.clone(), "`price_average_days` needs a `grant_date`");
                return None;
            };
            match average_close(env.prices, gd, days, currency) {
                Ok(p) if !p.is_zero() => Some(p),
                Ok(_) => {
                    cx.err(&t.field("price_average_days"), t.span.clone(), "the average price is zero");
                    None
                }
                Err(e) => {
                    let span = t.get("price_average_days").map_or(t.span.clone(), |v| v.span());
                    cx.err(&t.field("price_average_days"), span, e);
                    None
                }
            }
        } else {
            if avg_days.is_none() && t.get("price_average_days").is_none() {
                cx.err(
                    &t.field("price"),
                    t.span.clone(),
                    "a grant sized by `value` needs `price` or `price_average_days`",
                );
            }
            None
        };
        match (value, currency, price) {
            (Some(value), Some(currency), Some(price)) => match tokens_for_value(env.token, value, price) {
                Ok(a) => (Some(a), GrantSize::Fiat { value, currency, price, average_days: avg_days }),
                Err(e) => {
                    cx.err(&t.field("value"), t.get("value").map_or(t.span.clone(), |v| v.span()), e.to_string());
                    (None, GrantSize::Tokens)
                }
            },
            _ => (None, GrantSize::Tokens),
        }
    } else {
        (env.amount(cx, t, "amount", true), GrantSize::Tokens)
    };
    // A grant of nothing is refused at input, as the contract refuses one (`ZeroAmount`).
    let amount = amount.filter(|a| {
        let zero = a.is_zero() && env.amounts_known && !env.recorded;
        if zero {
            let key = if t.get("value").is_some() { "value" } else { "amount" };
            let message = match &size {
                GrantSize::Fiat { value, price, .. } => {
                    format!("a value of {value} at {price} buys 0 {}: a grant must be above zero", env.token.symbol())
                }
                GrantSize::Tokens => "a grant of 0 tokens: a grant must be above zero".to_owned(),
            };
            cx.err(&t.field(key), t.get(key).map_or(t.span.clone(), |v| v.span()), message);
        }
        !zero
    });
    let schedule = t.table(cx, "schedule", true).and_then(|s| read_schedule(cx, env, &s, amount));
    let performance: Vec<PerformanceTranche> = t
        .array_of_tables(cx, "performance")
        .iter()
        .filter_map(|p| {
            p.allow(cx, &["id", "target", "cap_percent"]);
            let id = p.string(cx, "id");
            let target = env.amount(cx, p, "target", true).filter(|a| {
                let zero = a.is_zero() && env.amounts_known && !env.recorded;
                if zero {
                    cx.err(&p.field("target"), p.span_of("target"), "a performance target must be above zero");
                }
                !zero
            });
            let cap =
                p.percent_bps(cx, "cap_percent", false, tokencomp_core::grant::MAX_PERFORMANCE_BPS).unwrap_or(FULL_BPS);
            Some(PerformanceTranche { id: id?, target: target?, cap_bps: cap })
        })
        .collect();
    let events: Vec<Option<GrantEvent>> =
        t.array_of_tables(cx, "event").iter().map(|e| read_event(cx, env, e)).collect();
    let events: Option<Vec<GrantEvent>> = events.into_iter().collect();
    let policy = read_grant_policy(cx, t);
    let (schedule, amount) = (schedule?, amount?);
    let grant = Grant { id: id?, holder: holder?, amount, schedule, performance, events: events? };
    let first = grant_date.or(match &grant.schedule {
        Schedule::Calendar(c) => Some(c.start()),
        Schedule::Custom(c) => c.tranches().next().map(|x| x.0),
        Schedule::Linear(l) => calendar::date_of(l.start(), env.tz).ok(),
    })?;
    // The whole lifecycle must fold: report a refusal at the event it names.
    let folded = if env.amounts_known { grant.timeline(env.tz, None).map(|t| Some(t.granted)) } else { Ok(None) };
    let granted = match folded {
        Ok(g) => g,
        Err(e) => {
            let events = t.array_of_tables(cx, "event");
            let at = e
                .event_id()
                .and_then(|id| events.iter().find(|ev| ev.get("id").and_then(|v| v.get_ref().as_str()) == Some(id)));
            let (field, span) = match at {
                Some(ev) => (ev.path.clone(), ev.span.clone()),
                None if grant.events.is_empty() => {
                    (t.field("schedule"), t.get("schedule").map_or(t.span.clone(), |v| v.span()))
                }
                None => (t.field("event"), t.get("event").map_or(t.span.clone(), |v| v.span())),
            };
            cx.err(&field, span, e.to_string());
            return None;
        }
    };
    let policy = policy?;
    if !check_grant_policy(cx, t, &policy, first) {
        return None;
    }
    Some((GrantTerms { grant, grant_date: first, size, policy }, granted))
}

/// The grant's policy keys, each read on its own; how they fit together is `check_grant_policy`.
pub(super) fn read_grant_policy(cx: &mut Cx<'_>, t: &Tbl<'_, '_>) -> Option<GrantPolicy> {
    let withholding = t.opt_choice(cx, "withholding_method", &withholding_choices());
    let withholding_ok = withholding.is_some() || t.get("withholding_method").is_none();
    let floor = t.quantity(cx, "floor_usd");
    let floor_ok = floor.is_some() || t.get("floor_usd").is_none();
    let settlement_date = t.date(cx, "settlement_date", false);
    let settlement_ok = settlement_date.is_some() || t.get("settlement_date").is_none();
    let transferred = t.bool(cx, "transferred_at_grant");
    let transferred_ok = transferred.is_some() || t.get("transferred_at_grant").is_none();
    let election_83b = t.date(cx, "election_83b", false);
    let election_ok = election_83b.is_some() || t.get("election_83b").is_none();
    let attribution = t.opt_choice(cx, "attribution", &attribution_choices());
    let attribution_ok = attribution.is_some() || t.get("attribution").is_none();
    let classification = t.opt_choice(cx, "classification", &classification_choices());
    let classification_ok = classification.is_some() || t.get("classification").is_none();
    let all_ok = withholding_ok
        && floor_ok
        && settlement_ok
        && transferred_ok
        && election_ok
        && attribution_ok
        && classification_ok;
    all_ok.then_some(GrantPolicy {
        withholding,
        floor,
        settlement_date,
        transferred_at_grant: transferred.unwrap_or(false),
        election_83b,
        attribution,
        classification,
    })
}

/// How a grant's delivery keys fit together: an §83(b) election needs tokens transferred at
/// grant and is filed within 30 days of it (IRC §83(b)(2)); restricted token units (a settlement
/// date) are a promise, so they are never transferred at grant; nothing settles before the grant.
pub(super) fn check_grant_policy(cx: &mut Cx<'_>, t: &Tbl<'_, '_>, p: &GrantPolicy, grant_date: Date) -> bool {
    let before = cx.diags.len();
    if let Some(election) = p.election_83b {
        if !p.transferred_at_grant {
            cx.err(
                &t.field("election_83b"),
                t.span_of("election_83b"),
                "an §83(b) election needs tokens transferred at grant: set `transferred_at_grant = true` (restricted token units cannot make one)",
            );
        }
        let last = grant_date.checked_add(ELECTION_83B_DAYS.days()).unwrap_or(grant_date);
        if election < grant_date || election > last {
            cx.err(
                &t.field("election_83b"),
                t.span_of("election_83b"),
                format!(
                    "the §83(b) election on {election} must be filed from the grant date {grant_date} to 30 days after it ({last})"
                ),
            );
        }
    }
    if let Some(settles) = p.settlement_date {
        if p.transferred_at_grant {
            cx.err(
                &t.field("settlement_date"),
                t.span_of("settlement_date"),
                "give `settlement_date` (restricted token units, delivered later) or `transferred_at_grant = true` (restricted tokens), not both",
            );
        }
        if settles < grant_date {
            cx.err(
                &t.field("settlement_date"),
                t.span_of("settlement_date"),
                format!("the settlement date {settles} is before the grant date {grant_date}"),
            );
        }
    }
    cx.diags.len() == before
}

/// One `[[milestone]]`. Grants and tranches are checked against the file's grants when it has
/// any (a ledger fragment has none; the CLI checks it against the ledger's).
pub(super) fn read_milestone(
    cx: &mut Cx<'_>,
    tz: &TimeZone,
    grants: &[GrantTerms],
    t: &Tbl<'_, '_>,
) -> Option<MilestoneTerms> {
    t.allow(
        cx,
        &[
            "id",
            "grant",
            "team",
            "grants",
            "metric",
            "comparison",
            "threshold",
            "deadline",
            "quorum",
            "effect",
            "tranche",
            "periods",
            "percent",
            "graded",
        ],
    );
    let id = t.string(cx, "id");
    let metric = t.string(cx, "metric");
    let comparison = t.choice(
        cx,
        "comparison",
        &[
            ("gte", Comparison::Gte),
            ("gt", Comparison::Gt),
            ("lte", Comparison::Lte),
            ("lt", Comparison::Lt),
            ("eq", Comparison::Eq),
        ],
        None,
    );
    let threshold = match t.str(cx, "threshold", true) {
        Some((text, span)) => match Fixed18::parse_decimal(text.trim()) {
            Ok(v) => Some(v),
            Err(e) => {
                cx.err(&t.field("threshold"), span, format!("`{text}` is not a threshold: {e}"));
                None
            }
        },
        None => None,
    };
    let deadline_date = t.date(cx, "deadline", true);
    let deadline = deadline_date.and_then(|d| calendar::end_of_day(d, tz).ok()).and_then(|i| u64::try_from(i).ok());
    let quorum = t.u32(cx, "quorum", false, 1..1001).unwrap_or(1);
    let grant = t.str(cx, "grant", false);
    let team = t.str(cx, "team", false);
    let mut targets: Vec<(String, Range<usize>)> = Vec::new();
    let subject = match (grant, team) {
        (Some((g, span)), None) => {
            targets.push((g.to_owned(), span));
            Some(Subject::Grant(g.to_owned()))
        }
        (None, Some((team, span))) => {
            match t.get("grants").map(|v| (v.get_ref(), v.span())) {
                Some((DeValue::Array(items), _)) if !items.is_empty() => {
                    for item in items {
                        match item.get_ref() {
                            DeValue::String(g) => targets.push((g.to_string(), item.span())),
                            other => cx.err(
                                &t.field("grants"),
                                item.span(),
                                format!("expected a grant id, found {}", other.type_str()),
                            ),
                        }
                    }
                }
                _ => cx.err(
                    &t.field("grants"),
                    span,
                    "a team milestone names the grants its effect applies to: `grants = [\"…\"]`",
                ),
            }
            Some(Subject::Team(team.to_owned()))
        }
        (Some(_), Some((_, span))) => {
            cx.err(&t.field("team"), span, "give `grant` or `team`, not both");
            None
        }
        (None, None) => {
            cx.err(&t.field("grant"), t.span.clone(), "missing field `grant` (or `team`) in the milestone");
            None
        }
    };
    let effect = t.choice(cx, "effect", &[("unlock", 0u8), ("pull_forward", 1), ("scale", 2)], None);
    let effect = match effect? {
        0 => TermsEffect::Fixed(MilestoneEffect::Unlock { tranche: t.string(cx, "tranche")? }),
        1 => TermsEffect::Fixed(MilestoneEffect::PullForward { periods: t.u32(cx, "periods", true, 1..1201)? }),
        _ => {
            let tranche = t.string(cx, "tranche");
            let graded = t.bool(cx, "graded").unwrap_or(false);
            if graded {
                if t.get("percent").is_some() {
                    cx.err(&t.field("percent"), t.span_of("percent"), "give `percent` or `graded = true`, not both");
                    return None;
                }
                if threshold.is_some_and(|v| v.is_negative() || v == Fixed18::ZERO) {
                    cx.err(
                        &t.field("threshold"),
                        t.span_of("threshold"),
                        "a graded scale divides by the threshold: it must be above zero",
                    );
                    return None;
                }
                TermsEffect::Graded { tranche: tranche? }
            } else {
                let bps = t.percent_bps(cx, "percent", true, tokencomp_core::grant::MAX_PERFORMANCE_BPS);
                TermsEffect::Fixed(MilestoneEffect::Scale { tranche: tranche?, bps: bps? })
            }
        }
    };
    if !grants.is_empty() {
        for (g, span) in &targets {
            match grants.iter().find(|x| &x.grant.id == g) {
                None => cx.err(&t.field("grant"), span.clone(), format!("no [[grant]] has id `{g}`")),
                Some(terms) => {
                    let tranche = match &effect {
                        TermsEffect::Fixed(MilestoneEffect::Unlock { tranche })
                        | TermsEffect::Fixed(MilestoneEffect::Scale { tranche, .. })
                        | TermsEffect::Graded { tranche } => Some(tranche),
                        TermsEffect::Fixed(MilestoneEffect::PullForward { .. }) => None,
                    };
                    if let Some(tr) = tranche
                        && !terms.grant.performance.iter().any(|p| &p.id == tr)
                    {
                        cx.err(
                            &t.field("tranche"),
                            t.span_of("tranche"),
                            format!("grant `{g}` has no performance tranche `{tr}`"),
                        );
                    }
                }
            }
        }
    }
    let milestone = Milestone {
        id: id?,
        metric: metric?,
        comparison: comparison?,
        threshold: threshold?,
        subject: subject?,
        deadline: deadline?,
        quorum,
    };
    Some(MilestoneTerms {
        milestone,
        deadline_date: deadline_date?,
        grants: targets.into_iter().map(|(g, _)| g).collect(),
        effect,
    })
}

pub(super) fn read_event(cx: &mut Cx<'_>, env: &Env<'_>, t: &Tbl<'_, '_>) -> Option<GrantEvent> {
    let kind = t.choice(
        cx,
        "type",
        &[
            ("leave", 0u8),
            ("termination", 1),
            ("change_of_control", 2),
            ("revocation", 3),
            ("amendment", 4),
            ("milestone", 5),
        ],
        None,
    );
    let id = t.string(cx, "id");
    let date = t.date(cx, "date", true);
    let kind = match kind? {
        0 => {
            t.allow(cx, &["id", "type", "date", "until"]);
            EventKind::Leave { until: t.date(cx, "until", true)? }
        }
        1 => {
            t.allow(cx, &["id", "type", "date", "cause", "accelerate_months", "accelerate_percent"]);
            let cause = t.choice(
                cx,
                "cause",
                &[
                    ("voluntary", TerminationCause::Voluntary),
                    ("without_cause", TerminationCause::WithoutCause),
                    ("good_reason", TerminationCause::GoodReason),
                    ("for_cause", TerminationCause::ForCause),
                    ("death_or_disability", TerminationCause::DeathOrDisability),
                ],
                Some(TerminationCause::Voluntary),
            );
            let months = t.u32(cx, "accelerate_months", false, 0..1201);
            let pct = t.percent_bps(cx, "accelerate_percent", false, FULL_BPS);
            if months.is_some() && pct.is_some() {
                cx.err(
                    &t.field("accelerate_percent"),
                    t.span.clone(),
                    "give `accelerate_months` or `accelerate_percent`, not both",
                );
            }
            let acceleration = months.map(Acceleration::Months).or(pct.map(|bps| Acceleration::Percent { bps }));
            EventKind::Termination { cause: cause?, acceleration }
        }
        2 => {
            t.allow(cx, &["id", "type", "date", "trigger", "percent", "window_months"]);
            let double = t.choice(cx, "trigger", &[("single", false), ("double", true)], None);
            let bps = t.percent_bps(cx, "percent", true, FULL_BPS);
            let trigger = if double? {
                Trigger::Double { bps: bps?, window_months: t.u32(cx, "window_months", true, 1..1201)? }
            } else {
                Trigger::Single { bps: bps? }
            };
            EventKind::ChangeOfControl { trigger }
        }
        3 => {
            t.allow(cx, &["id", "type", "date"]);
            EventKind::Revocation
        }
        4 => {
            t.allow(cx, &["id", "type", "date", "amount", "schedule"]);
            let amount = env.amount(cx, t, "amount", false);
            let schedule = match t.table(cx, "schedule", false) {
                Some(s) => Some(read_schedule(cx, env, &s, None)?),
                None => None,
            };
            EventKind::Amendment { amount, schedule }
        }
        _ => {
            t.allow(cx, &["id", "type", "date", "effect", "tranche", "periods", "percent"]);
            let effect = t.choice(cx, "effect", &[("unlock", 0u8), ("pull_forward", 1), ("scale", 2)], None)?;
            let effect = match effect {
                0 => MilestoneEffect::Unlock { tranche: t.string(cx, "tranche")? },
                1 => MilestoneEffect::PullForward { periods: t.u32(cx, "periods", true, 1..1201)? },
                _ => MilestoneEffect::Scale {
                    tranche: t.string(cx, "tranche")?,
                    bps: t.percent_bps(cx, "percent", true, tokencomp_core::grant::MAX_PERFORMANCE_BPS)?,
                },
            };
            EventKind::Milestone { effect }
        }
    };
    Some(GrantEvent { id: id?, date: date?, kind })
}
