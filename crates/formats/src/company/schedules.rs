//! Reading schedules (a grant's, or a tokenomics bucket's) and the `[tokenomics]` section.

use super::*;

pub(super) fn read_day_rule(cx: &mut Cx<'_>, t: &Tbl<'_, '_>) -> Option<DayOfMonth> {
    let Some((s, span)) = t.str(cx, "day_of_month", false) else { return Some(DayOfMonth::VestingStartDayOrLast) };
    match DayOfMonth::from_ocf_name(s) {
        Some(rule) => Some(rule),
        None => {
            cx.err(&t.field("day_of_month"), span, format!("`{s}` is not \"01\" to \"28\", 29/30/31_OR_LAST_DAY_OF_MONTH or VESTING_START_DAY_OR_LAST_DAY_OF_MONTH"));
            None
        }
    }
}

/// The schedule table; `total` is the amount it will carry (for tranche amounts that must add
/// up to it) when known.
pub(super) fn read_schedule(
    cx: &mut Cx<'_>,
    env: &Env<'_>,
    t: &Tbl<'_, '_>,
    total: Option<TokenAmount>,
) -> Option<Schedule> {
    let kind = t.choice(
        cx,
        "type",
        &[
            ("monthly", 1u32),
            ("quarterly", 3),
            ("annually", 12),
            ("days", 0),
            ("linear", 100),
            ("custom", 101),
            ("template", 102),
            ("months", 103),
        ],
        None,
    )?;
    let allocations: Vec<(&str, Allocation)> = Allocation::OCF_NAMES.into_iter().zip(Allocation::ALL).collect();
    let allocation = t.choice(cx, "allocation", &allocations, Some(Allocation::CumulativeRoundDown));
    let fail = |cx: &mut Cx<'_>, key: &str, e: tokencomp_core::schedule::ScheduleError| {
        let span = t.get(key).map_or(t.span.clone(), |v| v.span());
        cx.err(&t.field(key), span, e.to_string());
        None
    };
    match kind {
        1 | 3 | 12 => {
            t.allow(cx, &["type", "start", "duration_months", "cliff_months", "day_of_month", "allocation"]);
            let start = start_date(cx, env, t);
            let duration = t.u32(cx, "duration_months", true, 1..2761);
            let cliff = t.u32(cx, "cliff_months", false, 0..2761).unwrap_or(0);
            let rule = read_day_rule(cx, t);
            let duration = duration?;
            let mut ok = true;
            if duration % kind != 0 {
                cx.err(
                    &t.field("duration_months"),
                    t.get("duration_months").map_or(t.span.clone(), |v| v.span()),
                    format!("{duration} months is not a whole number of {kind}-month periods"),
                );
                ok = false;
            }
            if !cliff.is_multiple_of(kind) || cliff > duration {
                cx.err(&t.field("cliff_months"), t.get("cliff_months").map_or(t.span.clone(), |v| v.span()), format!("the cliff ({cliff} months) must be a whole number of {kind}-month periods, at most the duration"));
                ok = false;
            }
            if !ok {
                return None;
            }
            match Calendar::new(start?, Period::Months(kind), duration / kind, cliff / kind, rule?, allocation?) {
                Ok(c) => Some(Schedule::Calendar(c)),
                Err(e) => fail(cx, "start", e),
            }
        }
        103 => {
            t.allow(
                cx,
                &["type", "start", "every_months", "installments", "cliff_installments", "day_of_month", "allocation"],
            );
            let start = start_date(cx, env, t);
            let every = t.u32(cx, "every_months", true, 1..2761);
            let n = t.u32(cx, "installments", true, 1..2761);
            let cliff = t.u32(cx, "cliff_installments", false, 0..2761).unwrap_or(0);
            let rule = read_day_rule(cx, t);
            match Calendar::new(start?, Period::Months(every?), n?, cliff, rule?, allocation?) {
                Ok(c) => Some(Schedule::Calendar(c)),
                Err(e) => fail(cx, "installments", e),
            }
        }
        0 => {
            t.allow(cx, &["type", "start", "every_days", "installments", "cliff_installments", "allocation"]);
            let start = start_date(cx, env, t);
            let every = t.u32(cx, "every_days", true, 1..36_501);
            let n = t.u32(cx, "installments", true, 1..100_001);
            let cliff = t.u32(cx, "cliff_installments", false, 0..100_001).unwrap_or(0);
            match Calendar::new(start?, Period::Days(every?), n?, cliff, DayOfMonth::VestingStartDayOrLast, allocation?)
            {
                Ok(c) => Some(Schedule::Calendar(c)),
                Err(e) => fail(cx, "installments", e),
            }
        }
        100 => {
            t.allow(
                cx,
                &[
                    "type",
                    "start",
                    "end",
                    "duration_months",
                    "cliff",
                    "cliff_months",
                    "granularity_seconds",
                    "model",
                    "start_unlock",
                    "cliff_unlock",
                ],
            );
            let start = match env.default_start {
                Some(d) if t.get("start").is_none() => calendar::start_of_day(d, env.tz).ok(),
                _ => t.instant(cx, "start", true, env.tz),
            };
            let end = if t.get("end").is_some() {
                t.instant(cx, "end", true, env.tz)
            } else {
                let months = t.u32(cx, "duration_months", true, 1..2761);
                months_after(start, months, env.tz)
            };
            let cliff = if t.get("cliff").is_some() {
                t.instant(cx, "cliff", false, env.tz)
            } else {
                t.u32(cx, "cliff_months", false, 0..2761)
                    .filter(|&m| m > 0)
                    .and_then(|m| months_after(start, Some(m), env.tz))
            };
            let granularity = t.u32(cx, "granularity_seconds", false, 1..i64::from(u32::MAX)).unwrap_or(1);
            let sablier = t.choice(cx, "model", &[("openzeppelin", false), ("sablier", true)], Some(false))?;
            let model = if sablier {
                let su = env.amount(cx, t, "start_unlock", false).unwrap_or_default().base_units();
                let cu = env.amount(cx, t, "cliff_unlock", false).unwrap_or_default().base_units();
                LinearModel::Sablier { start_unlock: su, cliff_unlock: cu }
            } else {
                for k in ["start_unlock", "cliff_unlock"] {
                    if let Some(v) = t.get(k) {
                        cx.err(&t.field(k), v.span(), format!("`{k}` applies only to model = \"sablier\""));
                    }
                }
                LinearModel::OpenZeppelin
            };
            match Linear::new(start?, cliff, end?, granularity, model) {
                Ok(l) => {
                    let s = Schedule::Linear(l);
                    if let (Some(total), true) = (total, env.amounts_known)
                        && let Err(e) = s.check_total(total.base_units())
                    {
                        return fail(cx, "start_unlock", e);
                    }
                    Some(s)
                }
                Err(e) => fail(cx, if t.get("cliff").is_some() { "cliff" } else { "end" }, e),
            }
        }
        101 => {
            t.allow(cx, &["type", "tranche", "allocation"]);
            let items = t.array_of_tables(cx, "tranche");
            if items.is_empty() {
                t.missing(cx, "tranche");
                return None;
            }
            let mut tranches = Vec::new();
            let mut by_amount = None;
            for it in &items {
                it.allow(cx, &["date", "amount", "weight"]);
                let date = it.date(cx, "date", true);
                let has_amount = it.get("amount").is_some();
                if by_amount.is_some_and(|b| b != has_amount) {
                    cx.err(
                        &it.path,
                        it.span.clone(),
                        "give every tranche an `amount`, or every tranche a `weight`, not a mix",
                    );
                }
                by_amount = Some(has_amount);
                let w = if has_amount {
                    env.amount(cx, it, "amount", true).map(TokenAmount::base_units)
                } else {
                    read_weight(cx, it)
                };
                if let (Some(d), Some(w)) = (date, w) {
                    tranches.push((d, w));
                }
            }
            if tranches.len() != items.len() {
                return None;
            }
            if let (Some(true), Some(total), true) = (by_amount, total, env.amounts_known) {
                let sum = tranches.iter().try_fold(0u128, |a, t| a.checked_add(t.1));
                if sum != Some(total.base_units()) {
                    let shown =
                        sum.map_or("more than 2^128".to_owned(), |s| env.token.format(TokenAmount::from_base_units(s)));
                    cx.err(
                        &t.field("tranche"),
                        t.span.clone(),
                        format!("tranche amounts add up to {shown}, not the grant's {}", env.token.format(total)),
                    );
                    return None;
                }
            }
            match Custom::with_allocation(&tranches, allocation?) {
                Ok(c) => Some(Schedule::Custom(c)),
                Err(e) => fail(cx, "tranche", e),
            }
        }
        _ => {
            t.allow(cx, &["type", "start", "every_months", "weights", "allocation"]);
            let start = start_date(cx, env, t);
            let every = t.u32(cx, "every_months", true, 1..2761);
            let weights = match t.get("weights").map(|v| (v.get_ref(), v.span())) {
                Some((DeValue::Array(a), span)) => {
                    let w: Option<Vec<u128>> = a
                        .iter()
                        .map(|v| {
                            v.get_ref().as_integer().and_then(|i| i.as_str().parse::<u128>().ok()).filter(|&w| w > 0)
                        })
                        .collect();
                    if w.is_none() || a.is_empty() {
                        cx.err(
                            &t.field("weights"),
                            span,
                            "weights must be a non-empty list of positive integers, e.g. [5, 15, 40, 40]",
                        );
                    }
                    w
                }
                Some((_, span)) => {
                    cx.err(&t.field("weights"), span, "weights must be a list such as [5, 15, 40, 40]");
                    None
                }
                None => {
                    t.missing(cx, "weights");
                    None
                }
            };
            match Custom::periodic(start?, every?, &weights?) {
                Ok(c) => Some(Schedule::Custom(c)),
                Err(e) => fail(cx, "weights", e),
            }
        }
    }
}

/// A tranche weight: a positive integer, or a string of digits for weights beyond 64 bits.
pub(super) fn read_weight(cx: &mut Cx<'_>, t: &Tbl<'_, '_>) -> Option<u128> {
    match t.get("weight").map(|v| (v.get_ref(), v.span())) {
        Some((DeValue::String(s), span)) => match s.parse::<u128>() {
            Ok(w) if w > 0 && s.bytes().all(|b| b.is_ascii_digit()) => Some(w),
            _ => {
                cx.err(&t.field("weight"), span, format!("`{s}` is not a positive whole number"));
                None
            }
        },
        _ => t.int(cx, "weight", true, 1..i64::MAX).and_then(|w| u128::try_from(w).ok()),
    }
}

/// `[tokenomics]`: the supply, its buckets (which must add up to it exactly, one of them the
/// team's), emissions and burns. See `tokencomp_core::tokenomics` for what each rule means.
pub(super) fn read_tokenomics(cx: &mut Cx<'_>, env: &Env<'_>, t: &Tbl<'_, '_>) -> Option<Tokenomics> {
    t.allow(cx, &["total_supply", "tge", "bucket", "emission", "burn"]);
    let total = env.amount(cx, t, "total_supply", true);
    if total.is_some_and(|a| a.is_zero()) {
        cx.err(&t.field("total_supply"), t.span_of("total_supply"), "the total supply must be above zero");
    }
    let tge = t.date(cx, "tge", true);
    let benv = Env { default_start: tge, ..*env };
    let items = t.array_of_tables(cx, "bucket");
    if items.is_empty() {
        t.missing(cx, "bucket");
    }
    let kinds: Vec<(&str, BucketKind)> = BucketKind::ALL.iter().map(|k| (k.as_str(), *k)).collect();
    let mut buckets = Vec::new();
    let mut ok = true;
    let mut seen = BTreeSet::new();
    let mut teams = 0;
    for b in &items {
        b.allow(cx, &["id", "name", "kind", "amount", "share", "schedule"]);
        let id = b.string(cx, "id");
        if let Some(id) = &id
            && !seen.insert(id.clone())
        {
            cx.err(&b.field("id"), b.span_of("id"), format!("bucket id `{id}` is used by an earlier bucket"));
        }
        let name = b.string(cx, "name");
        let kind = b.choice(cx, "kind", &kinds, None);
        if kind == Some(BucketKind::Team) {
            teams += 1;
            if teams > 1 {
                cx.err(&b.field("kind"), b.span_of("kind"), "only one bucket may be of kind `team` (the grant budget)");
            }
        }
        let amount = match (b.get("amount").is_some(), b.get("share").is_some()) {
            (true, true) => {
                cx.err(&b.field("share"), b.span_of("share"), "give a bucket an `amount` or a `share`, not both");
                None
            }
            (false, false) => {
                cx.err(
                    &b.field("amount"),
                    b.span.clone(),
                    "a bucket needs an `amount` or a `share` of the total supply",
                );
                None
            }
            (true, false) => benv.amount(cx, b, "amount", true),
            (false, true) => match (b.percent_bps(cx, "share", true, 10_000), total) {
                (Some(bps), Some(total)) => {
                    let units = mul_div_floor_exact(total.base_units(), bps);
                    if units.is_none() && env.amounts_known {
                        cx.err(
                            &b.field("share"),
                            b.span_of("share"),
                            format!(
                                "{}% of the total supply is not a whole number of base units",
                                canonical_percent(bps)
                            ),
                        );
                    }
                    units.map(TokenAmount::from_base_units)
                }
                _ => None,
            },
        };
        let schedule = match b.table(cx, "schedule", true) {
            Some(s) => read_schedule(cx, &benv, &s, amount),
            None => None,
        };
        match (id, name, kind, amount, schedule) {
            (Some(id), Some(name), Some(kind), Some(amount), Some(schedule)) => {
                buckets.push(Bucket { id, name, kind, amount, schedule });
            }
            _ => ok = false,
        }
    }
    if teams == 0 && !items.is_empty() {
        cx.err(&t.field("bucket"), t.span.clone(), "no bucket is of kind `team`: exactly one is the grant budget");
    }
    if let (true, Some(total)) = (ok && env.amounts_known && !buckets.is_empty(), total) {
        let sum = buckets.iter().try_fold(0u128, |a, b| a.checked_add(b.amount.base_units()));
        let fmt = |u: u128| env.token.format(TokenAmount::from_base_units(u));
        let problem = match sum {
            None => Some("the buckets add up to more than 2^128 base units".to_owned()),
            Some(s) if s < total.base_units() => Some(format!(
                "the buckets add up to {} {sym}, {} {sym} less than the total supply of {} {sym}",
                fmt(s),
                fmt(total.base_units() - s),
                fmt(total.base_units()),
                sym = env.token.symbol()
            )),
            Some(s) if s > total.base_units() => Some(format!(
                "the buckets add up to {} {sym}, {} {sym} more than the total supply of {} {sym}",
                fmt(s),
                fmt(s - total.base_units()),
                fmt(total.base_units()),
                sym = env.token.symbol()
            )),
            Some(_) => None,
        };
        if let Some(p) = problem {
            cx.err(&t.field("bucket"), t.span_of("bucket"), p);
        }
    }
    let ids: BTreeSet<String> = buckets.iter().map(|b| b.id.clone()).collect();
    let target = |cx: &mut Cx<'_>, e: &Tbl<'_, '_>, key: &str| -> Option<Target> {
        let (s, span) = e.str(cx, key, true)?;
        if s == "circulating" {
            Some(Target::Circulating)
        } else if ids.contains(s) || !ok {
            Some(Target::Bucket(s.to_owned()))
        } else {
            cx.err(&e.field(key), span, format!("`{s}` is neither `circulating` nor a bucket id"));
            None
        }
    };
    let window = |cx: &mut Cx<'_>, e: &Tbl<'_, '_>| -> Option<(Date, Option<Date>)> {
        let from = e.date(cx, "from", true);
        let to = e.date(cx, "to", false);
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            cx.err(&e.field("to"), e.span_of("to"), format!("`to` ({t}) is before `from` ({f})"));
            return None;
        }
        Some((from?, to))
    };
    let mut emissions = Vec::new();
    for e in t.array_of_tables(cx, "emission") {
        e.allow(cx, &["id", "kind", "rate", "amount", "from", "to", "into"]);
        let id = e.string(cx, "id");
        let rule = match e.choice(cx, "kind", &[("inflation", true), ("fixed", false)], None) {
            Some(true) => {
                e.percent_bps(cx, "rate", true, 10_000).map(|annual_bps| EmissionRule::Inflation { annual_bps })
            }
            Some(false) => benv.amount(cx, &e, "amount", true).map(|per_month| EmissionRule::Fixed { per_month }),
            None => None,
        };
        let w = window(cx, &e);
        let into = target(cx, &e, "into");
        if let (Some(id), Some(rule), Some((from, to)), Some(into)) = (id, rule, w, into) {
            emissions.push(Emission { id, rule, from, to, into });
        }
    }
    let mut burns = Vec::new();
    for e in t.array_of_tables(cx, "burn") {
        e.allow(cx, &["id", "kind", "rate", "amount", "from", "to", "of"]);
        let id = e.string(cx, "id");
        let rule = match e.choice(cx, "kind", &[("percent", true), ("fixed", false)], None) {
            Some(true) => e.percent_bps(cx, "rate", true, 10_000).map(|monthly_bps| BurnRule::Percent { monthly_bps }),
            Some(false) => benv.amount(cx, &e, "amount", true).map(|per_month| BurnRule::Fixed { per_month }),
            None => None,
        };
        let w = window(cx, &e);
        let of = target(cx, &e, "of");
        if let (Some(id), Some(rule), Some((from, to)), Some(of)) = (id, rule, w, of) {
            burns.push(Burn { id, rule, from, to, of });
        }
    }
    Some(Tokenomics { total_supply: total?, tge: tge?, buckets, emissions, burns }).filter(|_| ok)
}

/// `total × bps / 10 000` when it is exact (compared in 256 bits).
pub(super) fn mul_div_floor_exact(total: u128, bps: u32) -> Option<u128> {
    use ruint::aliases::U256;
    let q = tokencomp_money::mul_div_floor(total, u128::from(bps), 10_000)?;
    (U256::from(q) * U256::from(10_000u32) == U256::from(total) * U256::from(bps)).then_some(q)
}

pub(super) fn canonical_percent(bps: u32) -> String {
    percent(bps)
}

/// A schedule's `start` date, or the environment's default when it has none.
pub(super) fn start_date(cx: &mut Cx<'_>, env: &Env<'_>, t: &Tbl<'_, '_>) -> Option<Date> {
    match env.default_start {
        Some(d) if t.get("start").is_none() => Some(d),
        _ => t.date(cx, "start", true),
    }
}

pub(super) fn months_after(start: Option<Instant>, months: Option<u32>, tz: &TimeZone) -> Option<Instant> {
    let (start, months) = (start?, months?);
    let date = calendar::date_of(start, tz).ok()?;
    let end = date.checked_add(i64::from(months).months()).ok()?;
    let offset = start - calendar::start_of_day(date, tz).ok()?;
    Some(calendar::start_of_day(end, tz).ok()? + offset)
}
