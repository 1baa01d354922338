//! Vesting terms (conditions, portions, triggers, periods and the condition graph),
//! transactions, stakeholders and the issuer, each read from its JSON object.

use super::*;

// ---- vesting terms --------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unit {
    Months,
    Days,
}

#[derive(Clone, Debug)]
pub(super) struct Rel {
    pub(super) unit: Unit,
    pub(super) length: u32,
    pub(super) occurrences: u32,
    pub(super) day_of_month: DayOfMonth,
    pub(super) cliff_installment: u32,
    pub(super) relative_to: String,
}

#[derive(Clone, Debug)]
pub(super) enum Trig {
    Start,
    Absolute(Date),
    Relative(Rel),
    Event,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Amount {
    Portion {
        ratio: Ratio,
        remainder: bool,
    },
    /// Shares per occurrence.
    Quantity(Ratio),
}

pub(super) struct Cond<'a> {
    pub(super) id: String,
    pub(super) node: Node<'a>,
    pub(super) amount: Amount,
    pub(super) trigger: Trig,
    pub(super) next: Vec<String>,
}

pub(super) struct Terms<'a> {
    pub(super) id: String,
    pub(super) node: Node<'a>,
    pub(super) allocation: Allocation,
    pub(super) conds: Vec<Cond<'a>>,
    /// Already reported as invalid: issuances that use these terms add no further noise.
    pub(super) broken: bool,
}

impl Terms<'_> {
    pub(super) fn index(&self) -> HashMap<&str, usize> {
        let mut m = HashMap::new();
        for (i, c) in self.conds.iter().enumerate() {
            m.entry(c.id.as_str()).or_insert(i);
        }
        m
    }
}

pub(super) const TERMS_KEYS: [&str; 7] =
    ["id", "object_type", "name", "description", "allocation_type", "vesting_conditions", "comments"];
pub(super) const COND_KEYS: [&str; 6] = ["id", "description", "portion", "quantity", "trigger", "next_condition_ids"];

pub(super) fn parse_terms<'a>(node: Node<'a>, errs: &mut Vec<Diagnostic>) -> Option<Terms<'a>> {
    if !node.object(errs) {
        return None;
    }
    let before = errs.len();
    node.only(&TERMS_KEYS, errs);
    let id = node.req_id("id", errs);
    if let Some(t) = node.req_str("object_type", errs)
        && t != "VESTING_TERMS"
    {
        errs.push(node.field_diag("object_type", format!("expected `VESTING_TERMS`, found `{t}`")));
    }
    node.req_str("name", errs);
    node.req_str("description", errs);
    let allocation = node.req("allocation_type", errs).and_then(|n| {
        let s = n.str(errs)?;
        let a = Allocation::from_ocf_name(s);
        if a.is_none() {
            let names = Allocation::OCF_NAMES.join(", ");
            errs.push(n.diag(format!("unknown allocation type `{s}`; expected one of {names}")));
        }
        a
    });
    let mut conds = Vec::new();
    let mut known: HashSet<String> = HashSet::new();
    if let Some(list) = node.req("vesting_conditions", errs).and_then(|n| n.array(errs)) {
        if list.is_empty() {
            errs.push(node.field_diag("vesting_conditions", "vesting terms need at least one condition"));
        }
        for c in list {
            if let Some(id) = c.v.get("id").and_then(Value::as_str) {
                known.insert(id.to_owned());
            }
            if let Some(cond) = parse_cond(c, errs) {
                conds.push(cond);
            }
        }
    }
    check_graph(&conds, &known, errs);
    let id = id?;
    Some(Terms {
        id: id.to_owned(),
        node,
        allocation: allocation.unwrap_or(Allocation::CumulativeRoundDown),
        conds,
        broken: errs.len() > before,
    })
}

pub(super) fn parse_cond<'a>(node: Node<'a>, errs: &mut Vec<Diagnostic>) -> Option<Cond<'a>> {
    if !node.object(errs) {
        return None;
    }
    let before = errs.len();
    node.only(&COND_KEYS, errs);
    let id = node.req_id("id", errs);
    if let Some(d) = node.get("description") {
        d.str(errs);
    }
    let amount = match (node.get("portion"), node.get("quantity")) {
        (Some(_), Some(_)) => {
            errs.push(node.diag("a condition has either a `portion` or a `quantity`, not both"));
            None
        }
        (None, None) => {
            errs.push(node.diag("a condition needs a `portion` or a `quantity`"));
            None
        }
        (Some(p), None) => parse_portion(&p, errs),
        (None, Some(q)) => q.ratio("a quantity", errs).map(Amount::Quantity),
    };
    let trigger = node.req("trigger", errs).and_then(|t| parse_trigger(&t, errs));
    let mut next = Vec::new();
    if let Some(list) = node.req("next_condition_ids", errs).and_then(|n| n.array(errs)) {
        for n in list {
            if let Some(s) = n.id(errs) {
                if next.iter().any(|x| x == s) {
                    errs.push(n.diag(format!("condition `{s}` is listed twice")));
                } else {
                    next.push(s.to_owned());
                }
            }
        }
    }
    if errs.len() > before {
        return None;
    }
    Some(Cond { id: id?.to_owned(), node, amount: amount?, trigger: trigger?, next })
}

pub(super) fn parse_portion(node: &Node<'_>, errs: &mut Vec<Diagnostic>) -> Option<Amount> {
    if !node.object(errs) {
        return None;
    }
    node.only(&["numerator", "denominator", "remainder"], errs);
    let num = node.req("numerator", errs).and_then(|n| n.ratio("a numerator", errs));
    let den = node.req("denominator", errs).and_then(|n| {
        let r = n.ratio("a denominator", errs)?;
        if r.is_zero() {
            errs.push(n.diag("a denominator must not be zero"));
            return None;
        }
        Some(r)
    });
    let remainder = match node.get("remainder") {
        Some(r) => r.boolean(errs)?,
        None => false,
    };
    let ratio = num?.div(den?);
    if ratio.is_none() {
        errs.push(node.diag("the portion has too many digits to compute exactly"));
    }
    Some(Amount::Portion { ratio: ratio?, remainder })
}

pub(super) fn parse_trigger(node: &Node<'_>, errs: &mut Vec<Diagnostic>) -> Option<Trig> {
    if !node.object(errs) {
        return None;
    }
    let t = node.req("type", errs)?;
    let ty = t.str(errs)?;
    match ty {
        "VESTING_START_DATE" => {
            node.only(&["type"], errs);
            Some(Trig::Start)
        }
        "VESTING_EVENT" => {
            node.only(&["type"], errs);
            Some(Trig::Event)
        }
        "VESTING_SCHEDULE_ABSOLUTE" => {
            node.only(&["type", "date"], errs);
            node.req_date("date", errs).map(Trig::Absolute)
        }
        "VESTING_SCHEDULE_RELATIVE" => {
            node.only(&["type", "period", "relative_to_condition_id"], errs);
            let period = node.req("period", errs);
            let to = node.req_id("relative_to_condition_id", errs);
            let rel = parse_period(&period?, to?, errs)?;
            Some(Trig::Relative(rel))
        }
        other => {
            errs.push(t.diag(format!(
                "unknown trigger type `{other}`; expected VESTING_START_DATE, VESTING_SCHEDULE_ABSOLUTE, VESTING_SCHEDULE_RELATIVE or VESTING_EVENT"
            )));
            None
        }
    }
}

pub(super) fn parse_period(node: &Node<'_>, to: &str, errs: &mut Vec<Diagnostic>) -> Option<Rel> {
    if !node.object(errs) {
        return None;
    }
    let t = node.req("type", errs)?;
    let unit = match t.str(errs)? {
        "MONTHS" => Unit::Months,
        "DAYS" => Unit::Days,
        "YEARS" => {
            errs.push(t.diag("a vesting period is counted in MONTHS or DAYS; write calendar years as 12 MONTHS"));
            return None;
        }
        other => {
            errs.push(t.diag(format!("unknown period type `{other}`; expected MONTHS or DAYS")));
            return None;
        }
    };
    match unit {
        Unit::Months => node.only(&["length", "type", "occurrences", "day_of_month", "cliff_installment"], errs),
        Unit::Days => node.only(&["length", "type", "occurrences", "cliff_installment"], errs),
    }
    let length = node.req("length", errs).and_then(|n| n.uint(errs));
    let occurrences = node.req("occurrences", errs).and_then(|n| {
        let o = n.uint(errs)?;
        if o == 0 {
            errs.push(n.diag("occurrences must be at least 1"));
            return None;
        }
        Some(o)
    });
    let day_of_month = match unit {
        Unit::Days => Some(DayOfMonth::VestingStartDayOrLast),
        Unit::Months => node.req("day_of_month", errs).and_then(|n| {
            let s = n.str(errs)?;
            let d = DayOfMonth::from_ocf_name(s);
            if d.is_none() {
                errs.push(n.diag(format!(
                    "unknown day of month `{s}`; expected \"01\" to \"28\", \"29_OR_LAST_DAY_OF_MONTH\", \"30_OR_LAST_DAY_OF_MONTH\", \"31_OR_LAST_DAY_OF_MONTH\" or \"VESTING_START_DAY_OR_LAST_DAY_OF_MONTH\""
                )));
            }
            d
        }),
    };
    let cliff_installment = match node.get("cliff_installment") {
        Some(n) => n.uint(errs),
        None => Some(0),
    };
    let (occurrences, cliff_installment) = (occurrences?, cliff_installment?);
    if cliff_installment > occurrences {
        errs.push(node.field_diag(
            "cliff_installment",
            format!("the cliff installment {cliff_installment} is after the last of {occurrences} occurrences"),
        ));
        return None;
    }
    Some(Rel {
        unit,
        length: length?,
        occurrences,
        day_of_month: day_of_month?,
        cliff_installment,
        relative_to: to.to_owned(),
    })
}

/// Duplicate ids, unknown references and cycles among a terms object's conditions.
pub(super) fn check_graph(conds: &[Cond<'_>], known: &HashSet<String>, errs: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, c) in conds.iter().enumerate() {
        if let Some(&j) = first.get(c.id.as_str()) {
            errs.push(
                c.node.field_diag(
                    "id",
                    format!("condition id `{}` is used twice (first at {})", c.id, conds[j].node.ptr),
                ),
            );
        } else {
            first.insert(&c.id, i);
        }
    }
    for c in conds {
        for (k, n) in c.next.iter().enumerate() {
            if !known.contains(n) {
                errs.push(c.node.doc.diag(
                    &format!("{}/next_condition_ids/{k}", c.node.ptr),
                    format!("unknown condition `{n}` in the next conditions of `{}`", c.id),
                ));
            }
        }
        if let Trig::Relative(r) = &c.trigger {
            let ptr = format!("{}/trigger/relative_to_condition_id", c.node.ptr);
            if r.relative_to == c.id {
                errs.push(c.node.doc.diag(&ptr, format!("condition `{}` is relative to itself", c.id)));
            } else if !known.contains(&r.relative_to) {
                errs.push(
                    c.node.doc.diag(
                        &ptr,
                        format!("condition `{}` is relative to unknown condition `{}`", c.id, r.relative_to),
                    ),
                );
            }
        }
    }
    // Cycles along next_condition_ids: depth-first, iteratively.
    let mut color = vec![0u8; conds.len()]; // 0 unseen, 1 on the stack, 2 done
    for s in 0..conds.len() {
        if color[s] != 0 {
            continue;
        }
        color[s] = 1;
        let mut stack: Vec<(usize, usize)> = vec![(s, 0)];
        while let Some(&(u, k)) = stack.last() {
            let Some(next) = conds[u].next.get(k) else {
                color[u] = 2;
                stack.pop();
                continue;
            };
            if let Some(top) = stack.last_mut() {
                top.1 += 1;
            }
            let Some(&v) = first.get(next.as_str()) else {
                continue;
            };
            match color[v] {
                0 => {
                    color[v] = 1;
                    stack.push((v, 0));
                }
                1 => {
                    let from = stack.iter().position(|e| e.0 == v).unwrap_or(0);
                    let names: Vec<&str> =
                        stack[from..].iter().map(|e| conds[e.0].id.as_str()).chain([conds[v].id.as_str()]).collect();
                    errs.push(conds[u].node.doc.diag(
                        &format!("{}/next_condition_ids/{k}", conds[u].node.ptr),
                        format!("the next conditions form a cycle: {}", names.join(" → ")),
                    ));
                }
                _ => {}
            }
        }
    }
}

// ---- transactions -------------------------------------------------------------------------

pub(super) const ISSUANCES: [&str; 4] =
    ["TX_EQUITY_COMPENSATION_ISSUANCE", "TX_PLAN_SECURITY_ISSUANCE", "TX_STOCK_ISSUANCE", "TX_WARRANT_ISSUANCE"];

pub(super) struct Vesting<'a> {
    pub(super) date: Date,
    pub(super) amount: Numeric<'a>,
    pub(super) node: Node<'a>,
}

pub(super) struct Issuance<'a> {
    pub(super) node: Node<'a>,
    pub(super) security_id: String,
    pub(super) stakeholder_id: String,
    pub(super) issued: Date,
    pub(super) quantity: Numeric<'a>,
    pub(super) terms_id: Option<(String, Node<'a>)>,
    pub(super) vestings: Option<(Vec<Vesting<'a>>, Node<'a>)>,
}

pub(super) struct VestingTx<'a> {
    pub(super) node: Node<'a>,
    pub(super) date: Date,
    pub(super) condition_id: String,
}

#[derive(Default)]
pub(super) struct Transactions<'a> {
    pub(super) issuances: Vec<Issuance<'a>>,
    pub(super) starts: HashMap<String, Vec<VestingTx<'a>>>,
    pub(super) events: HashMap<String, Vec<VestingTx<'a>>>,
    pub(super) accelerations: Vec<(String, Node<'a>)>,
}

pub(super) fn parse_transaction<'a>(node: Node<'a>, txs: &mut Transactions<'a>, errs: &mut Vec<Diagnostic>) {
    if !node.object(errs) {
        return;
    }
    let Some(ty) = node.req_str("object_type", errs) else {
        return;
    };
    if ISSUANCES.contains(&ty) {
        let terms_node = node.get("vesting_terms_id");
        let vestings_node = node.get("vestings");
        if terms_node.is_none() && vestings_node.is_none() {
            return; // fully vested on issuance: nothing to schedule
        }
        let before = errs.len();
        node.req_id("id", errs);
        let security_id = node.req_id("security_id", errs);
        let stakeholder_id = node.req_id("stakeholder_id", errs);
        let issued = node.req_date("date", errs);
        let quantity = node.req("quantity", errs).and_then(|n| {
            let q = n.numeric(errs)?;
            if q.is_negative() {
                errs.push(n.diag("a quantity must not be negative"));
                return None;
            }
            Some(q)
        });
        let terms_id = terms_node.and_then(|n| Some((n.id(errs)?.to_owned(), n)));
        let vestings = vestings_node.and_then(|n| {
            let list = n.array(errs)?;
            if list.is_empty() {
                errs.push(n.diag("`vestings` needs at least one entry"));
            }
            let mut out = Vec::new();
            for v in list {
                if !v.object(errs) {
                    continue;
                }
                v.only(&["date", "amount"], errs);
                let date = v.req_date("date", errs);
                let amount = v.req("amount", errs).and_then(|a| {
                    let x = a.numeric(errs)?;
                    if x.is_negative() {
                        errs.push(a.diag("a vesting amount must not be negative"));
                        return None;
                    }
                    Some(x)
                });
                if let (Some(date), Some(amount)) = (date, amount) {
                    out.push(Vesting { date, amount, node: v });
                }
            }
            Some((out, n))
        });
        if errs.len() > before {
            return;
        }
        if let (Some(security_id), Some(stakeholder_id), Some(issued), Some(quantity)) =
            (security_id, stakeholder_id, issued, quantity)
        {
            txs.issuances.push(Issuance {
                node,
                security_id: security_id.to_owned(),
                stakeholder_id: stakeholder_id.to_owned(),
                issued,
                quantity,
                terms_id,
                vestings,
            });
        }
    } else if ty == "TX_VESTING_START" || ty == "TX_VESTING_EVENT" {
        node.only(&["id", "object_type", "security_id", "date", "vesting_condition_id", "comments"], errs);
        node.req_id("id", errs);
        let security_id = node.req_id("security_id", errs);
        let date = node.req_date("date", errs);
        let condition = node.req_id("vesting_condition_id", errs);
        if let (Some(s), Some(date), Some(c)) = (security_id, date, condition) {
            let map = if ty == "TX_VESTING_START" { &mut txs.starts } else { &mut txs.events };
            map.entry(s.to_owned()).or_default().push(VestingTx { node, date, condition_id: c.to_owned() });
        }
    } else if ty == "TX_VESTING_ACCELERATION"
        && let Some(s) = node.get("security_id").and_then(|n| n.v.as_str())
    {
        txs.accelerations.push((s.to_owned(), node));
    }
}

pub(super) fn parse_stakeholder(node: &Node<'_>, errs: &mut Vec<Diagnostic>) -> Option<OcfStakeholder> {
    if !node.object(errs) {
        return None;
    }
    let id = node.req_id("id", errs);
    if let Some(t) = node.req_str("object_type", errs)
        && t != "STAKEHOLDER"
    {
        errs.push(node.field_diag("object_type", format!("expected `STAKEHOLDER`, found `{t}`")));
    }
    let name = node.req("name", errs).and_then(|n| n.req_str("legal_name", errs));
    let ty = node.req("stakeholder_type", errs).and_then(|n| match n.str(errs)? {
        "INDIVIDUAL" => Some(StakeholderType::Individual),
        "INSTITUTION" => Some(StakeholderType::Institution),
        other => {
            errs.push(n.diag(format!("unknown stakeholder type `{other}`; expected INDIVIDUAL or INSTITUTION")));
            None
        }
    });
    Some(OcfStakeholder { id: id?.to_owned(), legal_name: name?.to_owned(), stakeholder_type: ty? })
}

pub(super) fn parse_issuer(node: &Node<'_>, errs: &mut Vec<Diagnostic>) -> Option<OcfIssuer> {
    if !node.object(errs) {
        return None;
    }
    if let Some(t) = node.req_str("object_type", errs)
        && t != "ISSUER"
    {
        errs.push(node.field_diag("object_type", format!("expected `ISSUER`, found `{t}`")));
    }
    let id = node.req_id("id", errs);
    let legal_name = node.req_str("legal_name", errs);
    let formation_date = node.req_date("formation_date", errs);
    let country = node.req_str("country_of_formation", errs);
    Some(OcfIssuer {
        id: id?.to_owned(),
        legal_name: legal_name?.to_owned(),
        formation_date: formation_date?,
        country_of_formation: country?.to_owned(),
    })
}
