//! Writing a package: vesting terms from a schedule, and every file of the package.

use super::*;

// ------------------------------------------------------------------------------------------
// Writing
// ------------------------------------------------------------------------------------------

/// A schedule as an OCF `VESTING_TERMS` object with the given id. A calendar is written in
/// the classic v1.2.0 form: a `vesting-start` condition (which the security's
/// `TX_VESTING_START` names), then an optional `cliff`, then `installments`. Dated tranches
/// become a chain of `VESTING_SCHEDULE_ABSOLUTE` conditions with exact portions.
pub fn write_vesting_terms(id: &str, schedule: &Schedule) -> Result<Value, OcfWriteError> {
    let (name, description, allocation, conditions) = match schedule {
        Schedule::Linear(_) => return Err(OcfWriteError::Linear { id: id.to_owned() }),
        Schedule::Calendar(c) => calendar_conditions(c),
        Schedule::Custom(c) => custom_conditions(c),
    };
    Ok(json!({
        "id": id,
        "object_type": "VESTING_TERMS",
        "name": name,
        "description": description,
        "allocation_type": allocation.ocf_name(),
        "vesting_conditions": conditions,
    }))
}

/// The id of the start condition of every calendar the writer emits.
pub const START_CONDITION_ID: &str = "vesting-start";

pub(super) fn calendar_conditions(c: &Calendar) -> (String, String, Allocation, Vec<Value>) {
    let (len, unit, months) = match c.period() {
        Period::Months(n) => (n, "MONTHS", true),
        Period::Days(n) => (n, "DAYS", false),
    };
    let n = c.occurrences();
    let cliff = if c.cliff() >= 2 { c.cliff() } else { 0 };
    let dom = c.day_of_month().ocf_name();
    let relative = |length: u64, occurrences: u32, to: &str| -> Value {
        let mut p = Map::new();
        p.insert("length".into(), json!(length));
        p.insert("type".into(), json!(unit));
        p.insert("occurrences".into(), json!(occurrences));
        if months {
            p.insert("day_of_month".into(), json!(dom));
        }
        json!({
            "type": "VESTING_SCHEDULE_RELATIVE",
            "period": Value::Object(p),
            "relative_to_condition_id": to,
        })
    };
    let portion = |num: u32| json!({"numerator": num.to_string(), "denominator": n.to_string()});
    let len64 = u64::from(len);
    let unit_word = if months { "month" } else { "day" };
    let every = if len == 1 { format!("every {unit_word}") } else { format!("every {len} {unit_word}s") };
    let first = if cliff >= 2 { "cliff" } else { "installments" };
    let mut conds = vec![json!({
        "id": START_CONDITION_ID,
        "description": "Vesting commencement date",
        "quantity": "0",
        "trigger": {"type": "VESTING_START_DATE"},
        "next_condition_ids": [first],
    })];
    if cliff >= 2 {
        let rest: Vec<&str> = if cliff < n { vec!["installments"] } else { vec![] };
        conds.push(json!({
            "id": "cliff",
            "description": format!("{cliff}/{n} at installment {cliff}"),
            "portion": portion(cliff),
            "trigger": relative(len64 * u64::from(cliff), 1, START_CONDITION_ID),
            "next_condition_ids": rest,
        }));
    }
    if cliff < n {
        let (count, to) = if cliff >= 2 { (n - cliff, "cliff") } else { (n, START_CONDITION_ID) };
        conds.push(json!({
            "id": "installments",
            "description": format!("1/{n} {every}"),
            "portion": portion(1),
            "trigger": relative(len64, count, to),
            "next_condition_ids": [],
        }));
    }
    let name = if cliff >= 2 {
        format!("{n} installments {every}, cliff at installment {cliff}")
    } else {
        format!("{n} installments {every}")
    };
    let day = match (months, c.day_of_month()) {
        (false, _) => String::new(),
        (true, DayOfMonth::Day(d)) => format!(" on day {d} of the month"),
        (true, DayOfMonth::OrLast(d)) => {
            format!(" on day {d} of the month, or the month's last day when it is shorter")
        }
        (true, DayOfMonth::VestingStartDayOrLast) => {
            " on the vesting start's day of the month, or the month's last day when it is shorter".to_owned()
        }
    };
    let cliff_text = if cliff >= 2 {
        format!(" The first {cliff} installments vest together at installment {cliff}.")
    } else {
        String::new()
    };
    let description =
        format!("The shares vest in {n} installments, one {every} after the vesting start{day}.{cliff_text}");
    (name, description, c.allocation(), conds)
}

pub(super) fn custom_conditions(c: &Custom) -> (String, String, Allocation, Vec<Value>) {
    let total = c.total_weight().to_string();
    let tranches: Vec<(Date, u128)> = c.tranches().collect();
    let n = tranches.len();
    let conds = tranches
        .iter()
        .enumerate()
        .map(|(i, (date, w))| {
            let next: Vec<String> = if i + 1 < n { vec![format!("tranche-{}", i + 2)] } else { vec![] };
            json!({
                "id": format!("tranche-{}", i + 1),
                "description": format!("{w}/{total} on {date}"),
                "portion": {"numerator": w.to_string(), "denominator": total},
                "trigger": {"type": "VESTING_SCHEDULE_ABSOLUTE", "date": date.to_string()},
                "next_condition_ids": next,
            })
        })
        .collect();
    let name = format!("{n} dated tranches");
    let description = format!("The shares vest in {n} tranches on fixed dates, each its portion of the total.");
    (name, description, c.allocation(), conds)
}

/// The OCF quantity string of an amount: whole tokens, at most 10 decimals.
pub(super) fn quantity(token: &Token, amount: TokenAmount, id: &str) -> Result<String, OcfWriteError> {
    let s = token.format(amount);
    if s.split_once('.').is_some_and(|(_, f)| f.len() > 10) {
        return Err(OcfWriteError::TooPrecise { id: id.to_owned(), decimals: token.decimals() });
    }
    Ok(s)
}

pub(super) fn to_text(v: &Value) -> Result<String, OcfWriteError> {
    serde_json::to_string_pretty(v).map(|s| s + "\n").map_err(|e| OcfWriteError::Json(e.to_string()))
}

/// Writes a whole package as `(path relative to the package folder, file text)` pairs:
/// `Manifest.ocf.json` first, then `VestingTerms.ocf.json`, `Transactions.ocf.json` and
/// `Stakeholders.ocf.json`. Each grant becomes an RSU `TX_EQUITY_COMPENSATION_ISSUANCE`
/// (security id = grant id), and calendar grants also get a `TX_VESTING_START`. Grants with
/// the same terms share one terms object. Holders missing from `stakeholders` are written as
/// individuals named by their id. Quantities are written in `package.token`. To read them
/// back as the same base units, use [`read_package_with_token`] with that token. Lifecycle
/// events and performance tranches cannot be exported, so they are refused.
pub fn write_package(package: &OcfPackage) -> Result<Vec<(String, String)>, OcfWriteError> {
    let mut terms: Vec<Value> = Vec::new();
    let mut bodies: Vec<Value> = Vec::new();
    let mut txs: Vec<Value> = Vec::new();
    let mut ids: HashSet<&str> = HashSet::new();
    for g in &package.grants {
        let grant = &g.grant;
        if !ids.insert(&grant.id) {
            return Err(OcfWriteError::DuplicateGrant { id: grant.id.clone() });
        }
        if !grant.events.is_empty() || !grant.performance.is_empty() {
            return Err(OcfWriteError::Lifecycle { id: grant.id.clone() });
        }
        let body =
            write_vesting_terms("", &grant.schedule).map_err(|_| OcfWriteError::Linear { id: grant.id.clone() })?;
        let terms_id = match bodies.iter().position(|b| *b == body) {
            Some(i) => format!("terms-{}", i + 1),
            None => {
                let id = format!("terms-{}", bodies.len() + 1);
                let mut t = body.clone();
                t["id"] = json!(id);
                terms.push(t);
                bodies.push(body);
                id
            }
        };
        txs.push(json!({
            "object_type": "TX_EQUITY_COMPENSATION_ISSUANCE",
            "id": format!("issuance-{}", grant.id),
            "security_id": grant.id,
            "date": g.issued.to_string(),
            "custom_id": grant.id,
            "stakeholder_id": grant.holder,
            "security_law_exemptions": [],
            "compensation_type": "RSU",
            "quantity": quantity(&package.token, grant.amount, &grant.id)?,
            "vesting_terms_id": terms_id,
            "expiration_date": null,
            "termination_exercise_windows": [],
        }));
        if let Schedule::Calendar(c) = &grant.schedule {
            txs.push(json!({
                "object_type": "TX_VESTING_START",
                "id": format!("vesting-start-{}", grant.id),
                "security_id": grant.id,
                "date": c.start().to_string(),
                "vesting_condition_id": START_CONDITION_ID,
            }));
        }
    }
    let mut stakeholders: Vec<Value> = Vec::new();
    let mut named: HashSet<&str> = HashSet::new();
    let individual = |s: StakeholderType| match s {
        StakeholderType::Individual => "INDIVIDUAL",
        StakeholderType::Institution => "INSTITUTION",
    };
    for s in &package.stakeholders {
        named.insert(&s.id);
        stakeholders.push(json!({
            "object_type": "STAKEHOLDER",
            "id": s.id,
            "name": {"legal_name": s.legal_name},
            "stakeholder_type": individual(s.stakeholder_type),
        }));
    }
    for g in &package.grants {
        if named.insert(&g.grant.holder) {
            stakeholders.push(json!({
                "object_type": "STAKEHOLDER",
                "id": g.grant.holder,
                "name": {"legal_name": g.grant.holder},
                "stakeholder_type": "INDIVIDUAL",
            }));
        }
    }
    let wrap = |file_type: &str, items: Vec<Value>| json!({"file_type": file_type, "items": items});
    let files = [
        ("VestingTerms.ocf.json", to_text(&wrap("OCF_VESTING_TERMS_FILE", terms))?),
        ("Transactions.ocf.json", to_text(&wrap("OCF_TRANSACTIONS_FILE", txs))?),
        ("Stakeholders.ocf.json", to_text(&wrap("OCF_STAKEHOLDERS_FILE", stakeholders))?),
    ];
    let entry = |i: usize| json!([{"filepath": files[i].0, "md5": md5_hex(files[i].1.as_bytes())}]);
    let issuer = &package.issuer;
    let manifest = json!({
        "ocf_version": OCF_VERSION,
        "file_type": "OCF_MANIFEST_FILE",
        "issuer": {
            "object_type": "ISSUER",
            "id": issuer.id,
            "legal_name": issuer.legal_name,
            "formation_date": issuer.formation_date.to_string(),
            "country_of_formation": issuer.country_of_formation,
        },
        "as_of": package.as_of.to_string(),
        "generated_at": package.generated_at.to_string(),
        "stock_plans_files": [],
        "stock_legend_templates_files": [],
        "stock_classes_files": [],
        "vesting_terms_files": entry(0),
        "valuations_files": [],
        "transactions_files": entry(1),
        "stakeholders_files": entry(2),
    });
    let mut out = vec![("Manifest.ocf.json".to_owned(), to_text(&manifest)?)];
    out.extend(files.into_iter().map(|(p, t)| (p.to_owned(), t)));
    Ok(out)
}
