//! The package as a whole: the manifest, its files and their hashes, and the walk from each
//! issuance's vesting terms to the engine's schedule.

use super::*;

// ---- the package --------------------------------------------------------------------------

pub(super) const MANIFEST_KEYS: [&str; 15] = [
    "ocf_version",
    "file_type",
    "issuer",
    "as_of",
    "generated_at",
    "stock_plans_files",
    "stock_legend_templates_files",
    "stock_classes_files",
    "vesting_terms_files",
    "valuations_files",
    "transactions_files",
    "stakeholders_files",
    "financings_files",
    "documents_files",
    "comments",
];

/// The manifest lists this module reads, with the `file_type` their files must have.
pub(super) const READ_LISTS: [(&str, &str); 3] = [
    ("vesting_terms_files", "OCF_VESTING_TERMS_FILE"),
    ("transactions_files", "OCF_TRANSACTIONS_FILE"),
    ("stakeholders_files", "OCF_STAKEHOLDERS_FILE"),
];

/// The `items` of a file wrapper (already checked to be an array, or reported).
pub(super) fn items(doc: &Doc) -> Vec<Node<'_>> {
    match doc.root().get("items") {
        Some(n) if n.v.is_array() => n.array(&mut Vec::new()).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// `rel` joined to the folder of `manifest`. Absolute paths and `..` are refused: a package
/// names only files inside itself.
pub(super) fn join(manifest: &str, rel: &str) -> Result<String, &'static str> {
    let rel = rel.strip_prefix("./").unwrap_or(rel);
    if rel.is_empty()
        || rel.starts_with('/')
        || rel.contains('\\')
        || rel.contains(':')
        || rel.split('/').any(|c| c == ".." || c.is_empty())
    {
        return Err("a file path must be relative to the manifest's folder and stay inside it");
    }
    let dir = manifest.rfind('/').and_then(|i| manifest.get(..=i)).unwrap_or("");
    Ok(format!("{dir}{rel}"))
}

pub(super) fn read_impl(
    manifest_path: &str,
    token: Option<&Token>,
    read: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<OcfImport, Vec<Diagnostic>> {
    let mut errs = Vec::new();
    let mut warns = Vec::new();
    let Some(manifest) = load(manifest_path, read, &mut errs) else {
        return Err(errs);
    };
    let m = manifest.root();
    if !m.object(&mut errs) {
        return Err(errs);
    }
    m.only(&MANIFEST_KEYS, &mut errs);
    if let Some(t) = m.req_str("file_type", &mut errs)
        && t != "OCF_MANIFEST_FILE"
    {
        errs.push(m.field_diag("file_type", format!("expected `OCF_MANIFEST_FILE`, found `{t}`")));
    }
    if let Some(v) = m.req("ocf_version", &mut errs)
        && let Some(s) = v.str(&mut errs)
        && !s.starts_with("1.")
    {
        errs.push(v.diag(format!("OCF version `{s}` is not supported; this reader understands OCF 1.x")));
    }
    let issuer = m.req("issuer", &mut errs).and_then(|n| parse_issuer(&n, &mut errs));
    let as_of = m.req_date("as_of", &mut errs);
    let generated_at = m.req("generated_at", &mut errs).and_then(|n| {
        let s = n.str(&mut errs)?;
        let t = s.parse::<jiff::Timestamp>().ok();
        if t.is_none() {
            errs.push(
                n.diag(format!("`{s}` is not a date-time with an offset (RFC 3339, e.g. 2022-03-22T01:23:45-06:00)")),
            );
        }
        t
    });

    // Load every listed file this module needs.
    let mut docs: [Vec<Doc>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (slot, (list, file_type)) in READ_LISTS.iter().enumerate() {
        let Some(entries) = m.req(list, &mut errs).and_then(|n| n.array(&mut errs)) else {
            continue;
        };
        for e in entries {
            if !e.object(&mut errs) {
                continue;
            }
            e.only(&["filepath", "md5"], &mut errs);
            let Some(fp) = e.req("filepath", &mut errs) else {
                continue;
            };
            let Some(rel) = fp.str(&mut errs) else {
                continue;
            };
            let path = match join(manifest_path, rel) {
                Ok(p) => p,
                Err(msg) => {
                    errs.push(fp.diag(format!("`{rel}`: {msg}")));
                    continue;
                }
            };
            let Some(doc) = load(&path, read, &mut errs) else {
                continue;
            };
            if let Some(md5) = e.get("md5").and_then(|n| n.str(&mut errs)) {
                let actual = md5_hex(doc.text.as_bytes());
                if !md5.eq_ignore_ascii_case(&actual) {
                    warns.push(e.field_diag("md5", format!("`{rel}` has MD5 {actual}, but the manifest says {md5}")));
                }
            }
            let root = doc.root();
            if root.object(&mut errs) {
                root.only(&["file_type", "items"], &mut errs);
                if let Some(t) = root.req_str("file_type", &mut errs)
                    && t != *file_type
                {
                    errs.push(root.field_diag(
                            "file_type",
                            format!(
                                "the manifest lists this file under `{list}`, so its file type must be `{file_type}`, not `{t}`"
                            ),
                        ));
                }
                if let Some(items) = root.req("items", &mut errs) {
                    items.array(&mut errs);
                }
            }
            docs[slot].push(doc);
        }
    }
    let [terms_docs, tx_docs, sh_docs] = &docs;

    // Vesting terms.
    let mut terms: Vec<Terms<'_>> = Vec::new();
    let mut terms_index: HashMap<String, usize> = HashMap::new();
    for doc in terms_docs {
        for item in items(doc) {
            if let Some(t) = parse_terms(item, &mut errs) {
                if let Some(&first) = terms_index.get(&t.id) {
                    errs.push(t.node.field_diag(
                        "id",
                        format!(
                            "vesting terms id `{}` is used twice (first in {} at {})",
                            t.id, terms[first].node.doc.file, terms[first].node.ptr
                        ),
                    ));
                } else {
                    terms_index.insert(t.id.clone(), terms.len());
                    terms.push(t);
                }
            }
        }
    }

    // Stakeholders.
    let mut stakeholders = Vec::new();
    let mut stakeholder_ids = HashSet::new();
    for doc in sh_docs {
        for item in items(doc) {
            if let Some(s) = parse_stakeholder(&item, &mut errs) {
                if !stakeholder_ids.insert(s.id.clone()) {
                    errs.push(item.field_diag("id", format!("stakeholder id `{}` is used twice", s.id)));
                    continue;
                }
                stakeholders.push(s);
            }
        }
    }

    // Transactions.
    let mut txs = Transactions::default();
    for doc in tx_docs {
        for item in items(doc) {
            parse_transaction(item, &mut txs, &mut errs);
        }
    }

    // The token: the caller's, or SHARE with the decimals the quantities need.
    let token = match token {
        Some(t) => t.clone(),
        None => {
            let mut d = 0usize;
            for i in &txs.issuances {
                d = d.max(i.quantity.significant_frac().len());
                if let Some((vs, _)) = &i.vestings {
                    for v in vs {
                        d = d.max(v.amount.significant_frac().len());
                    }
                }
            }
            // Numerics have at most 10 decimals, so this always fits.
            let d = u8::try_from(d).unwrap_or(10);
            match Token::new(SHARE_SYMBOL, d) {
                Ok(t) => t,
                Err(e) => {
                    errs.push(Diagnostic::new(manifest_path, None, e.to_string()));
                    return Err(errs);
                }
            }
        }
    };

    // Grants.
    let mut grants = Vec::new();
    let mut seen_securities: HashMap<String, String> = HashMap::new();
    for iss in &txs.issuances {
        if let Some(first) = seen_securities.get(&iss.security_id) {
            errs.push(iss.node.field_diag(
                "security_id",
                format!(
                    "security `{}` is issued twice (first at {first}); a grant needs a unique security id",
                    iss.security_id
                ),
            ));
            continue;
        }
        seen_securities.insert(iss.security_id.clone(), iss.node.ptr.clone());
        if !stakeholders.is_empty() && !stakeholder_ids.contains(&iss.stakeholder_id) {
            warns.push(iss.node.field_diag(
                "stakeholder_id",
                format!("stakeholder `{}` is not in the package's stakeholders", iss.stakeholder_id),
            ));
        }
        let amount = match token.parse(&iss.quantity.canonical()) {
            Ok(a) => a,
            Err(e) => {
                errs.push(iss.node.field_diag("quantity", e.to_string()));
                continue;
            }
        };
        if amount.is_zero() {
            errs.push(iss.node.field_diag("quantity", "a vesting grant's quantity must be positive"));
            continue;
        }
        let schedule = if let Some((vestings, vnode)) = &iss.vestings {
            explicit_schedule(iss, vestings, vnode, &token, amount, &mut errs)
        } else if let Some((terms_id, tnode)) = &iss.terms_id {
            match terms_index.get(terms_id) {
                None => {
                    errs.push(
                        tnode.diag(format!("unknown vesting terms `{terms_id}` for security `{}`", iss.security_id)),
                    );
                    None
                }
                Some(&ti) if terms[ti].broken => None,
                Some(&ti) => terms_schedule(iss, &terms[ti], &txs, as_of, &mut errs, &mut warns),
            }
        } else {
            None
        };
        let Some(schedule) = schedule else {
            continue;
        };
        grants.push(OcfGrant {
            grant: Grant {
                id: iss.security_id.clone(),
                holder: iss.stakeholder_id.clone(),
                amount,
                schedule,
                performance: Vec::new(),
                events: Vec::new(),
            },
            issued: iss.issued,
        });
    }
    for (security, node) in &txs.accelerations {
        if seen_securities.contains_key(security) {
            warns.push(node.diag(format!(
                "the acceleration of security `{security}` is not imported; only its vesting schedule is"
            )));
        }
    }

    if !errs.is_empty() {
        return Err(errs);
    }
    match (issuer, as_of, generated_at) {
        (Some(issuer), Some(as_of), Some(generated_at)) => Ok(OcfImport {
            package: OcfPackage { issuer, as_of, generated_at, token, stakeholders, grants },
            warnings: warns,
        }),
        // INVARIANT: each missing part pushed a diagnostic above, so errs was not empty.
        _ => Err(vec![Diagnostic::new(manifest_path, None, "the manifest is incomplete")]),
    }
}

/// An issuance's explicit `vestings` as a custom schedule weighted by the exact amounts.
pub(super) fn explicit_schedule(
    iss: &Issuance<'_>,
    vestings: &[Vesting<'_>],
    vnode: &Node<'_>,
    token: &Token,
    total: TokenAmount,
    errs: &mut Vec<Diagnostic>,
) -> Option<Schedule> {
    let before = errs.len();
    let mut rows: Vec<(Date, u128)> = Vec::new();
    for v in vestings {
        match token.parse(&v.amount.canonical()) {
            Ok(a) => rows.push((v.date, a.base_units())),
            Err(e) => errs.push(v.node.field_diag("amount", e.to_string())),
        }
    }
    if errs.len() > before {
        return None;
    }
    rows.sort_by_key(|r| r.0);
    let mut merged: Vec<(Date, u128)> = Vec::new();
    let mut sum: u128 = 0;
    for (d, a) in rows {
        sum = sum.saturating_add(a);
        match merged.last_mut() {
            Some(last) if last.0 == d => last.1 = last.1.saturating_add(a),
            _ => merged.push((d, a)),
        }
    }
    if sum != total.base_units() {
        errs.push(vnode.diag(format!(
            "the vestings of security `{}` add up to {}, but its quantity is {}",
            iss.security_id,
            token.format(TokenAmount::from_base_units(sum)),
            token.format(total)
        )));
        return None;
    }
    merged.retain(|r| r.1 > 0);
    let g = merged.iter().fold(0, |g, r| gcd(g, r.1)).max(1);
    for r in &mut merged {
        r.1 /= g;
    }
    match Custom::with_allocation(&merged, Allocation::CumulativeRoundDown) {
        Ok(c) => Some(Schedule::Custom(c)),
        Err(e) => {
            errs.push(vnode.diag(format!("security `{}`: {e}", iss.security_id)));
            None
        }
    }
}

/// One condition on the taken path: its occurrence dates and the share of the quantity each
/// occurrence vests.
pub(super) struct Step {
    pub(super) cond: usize,
    pub(super) dates: Vec<Date>,
    pub(super) per: Ratio,
    pub(super) cliff: u32,
}

pub(super) struct Path {
    pub(super) steps: Vec<Step>,
    pub(super) vested: Ratio,
    /// Event successors that could not fire because no event was recorded.
    pub(super) skipped_events: Vec<usize>,
    /// Those of them that could still happen before the successor taken instead (which
    /// fires after the package's `as_of`), and so might change the path.
    pub(super) pending_events: Vec<usize>,
    /// Relative successors whose anchor is not on the path.
    pub(super) stuck: Vec<usize>,
}

/// Occurrence `k` of a relative condition anchored at `anchor`. This is the anchor month plus
/// `k × length`, with the day rule applied again (seed = the vesting start day), or the anchor
/// plus `k × length` days. Returns `None` past the engine's last date.
pub(super) fn occurrence(anchor: Date, r: &Rel, k: u32, seed: u8) -> Option<Date> {
    let offset = i64::from(k) * i64::from(r.length);
    match r.unit {
        Unit::Months => {
            let base = calendar::month_index(i32::from(anchor.year()), anchor.month().unsigned_abs());
            let last = calendar::month_index(i32::from(MAX_DATE.year()), MAX_DATE.month().unsigned_abs());
            let mi = i64::from(base) + offset;
            if mi > i64::from(last) {
                return None;
            }
            let (y, m) = calendar::from_month_index(i32::try_from(mi).ok()?);
            let dim = calendar::days_in_month(y, m);
            let d = match r.day_of_month {
                DayOfMonth::Day(d) => d.min(dim),
                DayOfMonth::OrLast(d) => d.min(dim),
                DayOfMonth::VestingStartDayOrLast => seed.min(dim),
            };
            Some(calendar::to_date(calendar::day_from_civil(y, m, d)))
        }
        Unit::Days => {
            let day = i64::from(calendar::to_day(anchor)) + offset;
            if day > i64::from(calendar::to_day(MAX_DATE)) {
                return None;
            }
            Some(calendar::to_date(i32::try_from(day).ok()?))
        }
    }
}

pub(super) fn too_large(node: &Node<'_>, security: &str) -> Diagnostic {
    node.diag(format!("security `{security}`: the portions are too large to compute exactly"))
}

/// Walks the condition graph of `t` for one security and returns the path it takes.
pub(super) fn walk(
    t: &Terms<'_>,
    iss: &Issuance<'_>,
    q: Ratio,
    start: Option<&VestingTx<'_>>,
    events: &HashMap<&str, Date>,
    as_of: Option<Date>,
) -> Result<Path, Diagnostic> {
    let security = iss.security_id.as_str();
    let index = t.index();
    let head = match start {
        Some(st) => match index.get(st.condition_id.as_str()) {
            None => {
                return Err(st.node.field_diag(
                    "vesting_condition_id",
                    format!(
                        "condition `{}` is not in vesting terms `{}` of security `{security}`",
                        st.condition_id, t.id
                    ),
                ));
            }
            Some(&i) if !matches!(t.conds[i].trigger, Trig::Start) => {
                return Err(st.node.field_diag(
                    "vesting_condition_id",
                    format!(
                        "condition `{}` of vesting terms `{}` is not a VESTING_START_DATE condition",
                        st.condition_id, t.id
                    ),
                ));
            }
            Some(&i) => i,
        },
        None => {
            let mut targeted = vec![false; t.conds.len()];
            for c in &t.conds {
                for n in &c.next {
                    if let Some(&j) = index.get(n.as_str()) {
                        targeted[j] = true;
                    }
                }
            }
            let Some(i) = targeted.iter().position(|x| !x) else {
                return Err(t.node.field_diag(
                    "vesting_conditions",
                    "every condition follows another: the terms have no first condition",
                ));
            };
            i
        }
    };
    let head_cond = &t.conds[head];
    let head_date = match &head_cond.trigger {
        Trig::Start => match start {
            Some(st) => st.date,
            None => {
                return Err(iss.node.diag(format!(
                    "security `{security}` has no TX_VESTING_START for condition `{}` of vesting terms `{}`, so its vesting has no start date",
                    head_cond.id, t.id
                )));
            }
        },
        Trig::Absolute(d) => *d,
        Trig::Event => match events.get(head_cond.id.as_str()) {
            Some(d) => *d,
            None => {
                return Err(head_cond.node.diag(format!(
                    "security `{security}`: vesting terms `{}` start with event condition `{}`, which has no TX_VESTING_EVENT for this security; an event that has not happened has no date to schedule",
                    t.id, head_cond.id
                )));
            }
        },
        Trig::Relative(r) => {
            return Err(head_cond.node.diag(format!(
                "condition `{}` comes first in vesting terms `{}` but is relative to `{}`, which cannot have happened before it",
                head_cond.id, t.id, r.relative_to
            )));
        }
    };
    let seed = head_date.day().unsigned_abs();
    let mut fired: HashMap<usize, Date> = HashMap::new();
    let mut visited = vec![false; t.conds.len()];
    let mut path = Path {
        steps: Vec::new(),
        vested: Ratio::ZERO,
        skipped_events: Vec::new(),
        pending_events: Vec::new(),
        stuck: Vec::new(),
    };
    let mut installments: u64 = 0;
    let mut cur = head;
    let mut dates = vec![head_date];
    loop {
        visited[cur] = true;
        let cond = &t.conds[cur];
        let count = u128::try_from(dates.len()).unwrap_or(u128::MAX);
        let per = match cond.amount {
            Amount::Portion { ratio, remainder: false } => Some(ratio),
            Amount::Portion { ratio, remainder: true } => match Ratio::ONE.sub(path.vested) {
                Some(left) => ratio.mul(left),
                None => {
                    return Err(cond.node.diag(format!(
                        "security `{security}`: the conditions before `{}` already vest more than the whole quantity",
                        cond.id
                    )));
                }
            },
            Amount::Quantity(x) => x.div(q),
        }
        .ok_or_else(|| too_large(&cond.node, security))?;
        path.vested = per
            .mul(Ratio::int(count))
            .and_then(|v| path.vested.add(v))
            .ok_or_else(|| too_large(&cond.node, security))?;
        let cliff = match &cond.trigger {
            Trig::Relative(r) if r.cliff_installment >= 2 => r.cliff_installment,
            _ => 0,
        };
        let last = dates.last().copied().unwrap_or(head_date);
        fired.insert(cur, last);
        path.steps.push(Step { cond: cur, dates: std::mem::take(&mut dates), per, cliff });

        // The successor that fires first; ties go to the one listed first.
        let mut best: Option<(Date, usize)> = None;
        let mut unrecorded: Vec<usize> = Vec::new();
        for id in &cond.next {
            let Some(&j) = index.get(id.as_str()) else {
                continue;
            };
            if visited[j] {
                return Err(cond.node.diag(format!("condition `{id}` is reached twice")));
            }
            let first = match &t.conds[j].trigger {
                Trig::Start => None,
                Trig::Absolute(d) => Some(*d),
                Trig::Event => {
                    let e = events.get(id.as_str()).copied();
                    if e.is_none() {
                        unrecorded.push(j);
                    }
                    e
                }
                Trig::Relative(r) => {
                    let anchor = index.get(r.relative_to.as_str()).and_then(|a| fired.get(a));
                    match anchor {
                        Some(a) => Some(
                            occurrence(*a, r, 1, seed)
                                .ok_or_else(|| past_max(&t.conds[j].node, security, &t.conds[j].id))?,
                        ),
                        None => {
                            path.stuck.push(j);
                            None
                        }
                    }
                }
            };
            if let Some(d) = first {
                let d = d.max(last);
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, j));
                }
            }
        }
        for &j in &unrecorded {
            if !path.skipped_events.contains(&j) {
                path.skipped_events.push(j);
            }
        }
        let Some((first, j)) = best else {
            break;
        };
        if as_of.is_none_or(|a| first > a) {
            path.pending_events.extend(unrecorded);
        }
        let next = &t.conds[j];
        dates = match &next.trigger {
            Trig::Relative(r) => {
                installments += u64::from(r.occurrences);
                if installments > MAX_INSTALLMENTS {
                    return Err(next.node.diag(format!(
                        "security `{security}`: the schedule has more than {MAX_INSTALLMENTS} installments"
                    )));
                }
                let anchor = index.get(r.relative_to.as_str()).and_then(|a| fired.get(a)).copied().unwrap_or(last);
                (1..=r.occurrences)
                    .map(|k| occurrence(anchor, r, k, seed).map(|d| d.max(last)))
                    .collect::<Option<Vec<Date>>>()
                    .ok_or_else(|| past_max(&next.node, security, &next.id))?
            }
            _ => vec![first],
        };
        cur = j;
    }
    Ok(path)
}

pub(super) fn past_max(node: &Node<'_>, security: &str, id: &str) -> Diagnostic {
    node.diag(format!(
        "security `{security}`: condition `{id}` falls after {MAX_DATE}, the latest date the engine supports"
    ))
}

/// An issuance's schedule from its vesting terms.
pub(super) fn terms_schedule(
    iss: &Issuance<'_>,
    t: &Terms<'_>,
    txs: &Transactions<'_>,
    as_of: Option<Date>,
    errs: &mut Vec<Diagnostic>,
    warns: &mut Vec<Diagnostic>,
) -> Option<Schedule> {
    let security = iss.security_id.as_str();
    let starts = txs.starts.get(security).map_or(&[][..], Vec::as_slice);
    if let Some(second) = starts.get(1) {
        errs.push(second.node.diag(format!("security `{security}` has more than one TX_VESTING_START")));
        return None;
    }
    let mut events: HashMap<&str, Date> = HashMap::new();
    for e in txs.events.get(security).map_or(&[][..], Vec::as_slice) {
        if events.insert(e.condition_id.as_str(), e.date).is_some() {
            errs.push(e.node.diag(format!(
                "condition `{}` of security `{security}` has more than one TX_VESTING_EVENT",
                e.condition_id
            )));
            return None;
        }
    }
    let Some(q) = iss.quantity.ratio() else {
        errs.push(iss.node.field_diag("quantity", "the quantity has too many digits"));
        return None;
    };
    let path = match walk(t, iss, q, starts.first(), &events, as_of) {
        Ok(p) => p,
        Err(d) => {
            errs.push(d);
            return None;
        }
    };
    let names: Vec<&str> = path.steps.iter().map(|s| t.conds[s.cond].id.as_str()).collect();
    let route = names.join(" → ");
    let quote = |ids: &[usize]| -> String {
        ids.iter().map(|&i| format!("`{}`", t.conds[i].id)).collect::<Vec<_>>().join(", ")
    };
    if path.vested != Ratio::ONE {
        let d = if path.vested.n > path.vested.d {
            t.node.field_diag(
                "vesting_conditions",
                format!(
                    "security `{security}`: the path {route} of vesting terms `{}` vests {} of the quantity, more than all of it",
                    t.id, path.vested
                ),
            )
        } else if let Some(&first) = path.skipped_events.first() {
            t.conds[first].node.diag(format!(
                "security `{security}`: vesting terms `{}` vest only {} of the quantity by time (path {route}); the rest depends on event condition {}, which has no TX_VESTING_EVENT for this security, and an event that has not happened has no date to schedule",
                t.id,
                path.vested,
                quote(&path.skipped_events)
            ))
        } else if let Some(&first) = path.stuck.first() {
            t.conds[first].node.diag(format!(
                "security `{security}`: vesting terms `{}` vest only {} of the quantity (path {route}); condition {} is relative to a condition that is not on the path, so it never fires",
                t.id,
                path.vested,
                quote(&path.stuck)
            ))
        } else {
            t.node.field_diag(
                "vesting_conditions",
                format!(
                    "security `{security}`: the path {route} of vesting terms `{}` vests {} of the quantity, not all of it",
                    t.id, path.vested
                ),
            )
        };
        errs.push(d);
        return None;
    }
    if let Some(&first) = path.pending_events.first() {
        warns.push(t.conds[first].node.diag(format!(
            "security `{security}`: event condition {} has no TX_VESTING_EVENT and is skipped; the grant follows the time-based path {route}, which an event before its next step would change",
            quote(&path.pending_events)
        )));
    }

    // Ticks: (date, share of the quantity), a cliff_installment paying the first c together.
    let mut ticks: Vec<(Date, Ratio)> = Vec::new();
    for s in &path.steps {
        let c = usize::try_from(s.cliff).unwrap_or(0);
        for (k, d) in s.dates.iter().enumerate() {
            if c >= 2 && k + 1 < c {
                continue;
            }
            let share = if c >= 2 && k + 1 == c { s.per.mul(Ratio::int(u128::from(s.cliff))) } else { Some(s.per) };
            let Some(share) = share else {
                errs.push(too_large(&t.node, security));
                return None;
            };
            ticks.push((*d, share));
        }
    }
    ticks.sort_by_key(|x| x.0);
    let mut merged: Vec<(Date, Ratio)> = Vec::new();
    for (d, r) in ticks {
        match merged.last_mut() {
            Some(last) if last.0 == d => match last.1.add(r) {
                Some(x) => last.1 = x,
                None => {
                    errs.push(too_large(&t.node, security));
                    return None;
                }
            },
            _ => merged.push((d, r)),
        }
    }
    merged.retain(|x| !x.1.is_zero());

    let start = starts.first().map(|s| s.date);
    if let Some(cal) = start.and_then(|s| as_calendar(t, &path, s)) {
        let from = cal.cliff().max(1);
        let same = merged.len() == usize::try_from(cal.occurrences() - from + 1).unwrap_or(0)
            && merged.iter().zip(from..=cal.occurrences()).all(|(tick, k)| tick.0 == cal.installment_date(k));
        if same {
            return Some(Schedule::Calendar(cal));
        }
    }

    // Custom: exact shares over a common denominator.
    let mut l: u128 = 1;
    for (_, r) in &merged {
        let Some(next) = (l / gcd(l, r.d)).checked_mul(r.d) else {
            errs.push(too_large(&t.node, security));
            return None;
        };
        l = next;
    }
    let mut tranches = Vec::with_capacity(merged.len());
    for (d, r) in &merged {
        let Some(w) = r.n.checked_mul(l / r.d) else {
            errs.push(too_large(&t.node, security));
            return None;
        };
        tranches.push((*d, w));
    }
    let g = tranches.iter().fold(0, |g, x| gcd(g, x.1)).max(1);
    for x in &mut tranches {
        x.1 /= g;
    }
    match Custom::with_allocation(&tranches, t.allocation) {
        Ok(c) => Some(Schedule::Custom(c)),
        Err(e) => {
            errs.push(iss.node.diag(format!("security `{security}` with vesting terms `{}`: {e}", t.id)));
            None
        }
    }
}

/// The calendar a path describes, when it is one of the three calendar chains:
/// start → periodic (1/N × N, optional `cliff_installment`), or start → cliff (c/N after
/// c periods) → periodic (1/N × (N − c)).
pub(super) fn as_calendar(t: &Terms<'_>, path: &Path, start: Date) -> Option<Calendar> {
    let rel = |s: &Step| match &t.conds[s.cond].trigger {
        Trig::Relative(r) => Some(r.clone()),
        _ => None,
    };
    let head = path.steps.first()?;
    if !matches!(t.conds[head.cond].trigger, Trig::Start) || !head.per.is_zero() {
        return None;
    }
    let head_id = t.conds[head.cond].id.as_str();
    let period = |r: &Rel, len: u32| match r.unit {
        Unit::Months => Period::Months(len),
        Unit::Days => Period::Days(len),
    };
    let (period, n, cliff, dom) = match &path.steps[1..] {
        [p] => {
            let r = rel(p)?;
            let n = r.occurrences;
            if r.relative_to != head_id || r.length == 0 || p.per != Ratio::new(1, u128::from(n))? {
                return None;
            }
            (period(&r, r.length), n, r.cliff_installment, r.day_of_month)
        }
        [c, p] => {
            let (rc, rp) = (rel(c)?, rel(p)?);
            if rc.relative_to != head_id
                || rp.relative_to != t.conds[c.cond].id
                || rc.occurrences != 1
                || rc.unit != rp.unit
                || rp.length == 0
                || rp.cliff_installment >= 2
                || rc.length % rp.length != 0
                || (rc.unit == Unit::Months && rc.day_of_month != rp.day_of_month)
            {
                return None;
            }
            let k = rc.length / rp.length;
            let n = k.checked_add(rp.occurrences)?;
            let n128 = u128::from(n);
            if k == 0 || c.per != Ratio::new(u128::from(k), n128)? || p.per != Ratio::new(1, n128)? {
                return None;
            }
            (period(&rp, rp.length), n, k, rp.day_of_month)
        }
        _ => return None,
    };
    let cliff = if cliff >= 2 { cliff } else { 0 };
    let dom = match period {
        Period::Days(_) => DayOfMonth::VestingStartDayOrLast,
        Period::Months(_) => dom,
    };
    Calendar::new(start, period, n, cliff, dom, t.allocation).ok()
}
