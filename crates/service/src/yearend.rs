//! `year-end`: the year's forms for every person (or one), computed from the income events, and
//! checked against the payroll rows that paid the year.
//!
//! The pack is one CSV per form plus a JSON document (columns in docs/year-end.md): the W-2
//! figures (`w2.csv`, and `w2-states.csv` for boxes 15–17), the 1099-NEC figures, the P60 and the
//! RTI FPS figures (UK staff: the tax year from 6 April of the year), the flat-rule statements,
//! the W-2c and earlier-year-update figures when a closed period of the year was corrected by an
//! adjustment paid in a later year, and every sale of the year with its lot, acquisition date and
//! basis (Form 8949's box for US people).
//!
//! Which rows paid the year: each payroll row carries the tax year its wages are reported in
//! (`tax_year`): a period's own rows the year of their income's dates, so a biweekly period that
//! straddles 1 January has a row per year, as the year-end counts the income by date (US wages
//! count for the year they are paid, and a vest's tokens are paid when delivered); an adjustment
//! row the year of the rows it corrects, wherever it was paid. An adjustment paid in a period of
//! a later year is a correction of a filed form (W-2c, the UK's earlier-year update).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use jiff::civil::Date;
use serde_json::{Value, json};
use tokencomp_compliance::lots::{self, Term};
use tokencomp_compliance::payroll::{IncomeEvent, PayrollRow};
use tokencomp_compliance::statements;
use tokencomp_compliance::yearend::{self, Difference, Figures, PersonYear};
use tokencomp_core::period::{PayPeriod, uk_tax_month};
use tokencomp_formats::csv_text::text_field;
use tokencomp_money::{Decimal, MONEY_ROUNDING, Token};
use tokencomp_store::ledger::Company;

use crate::error::{Result, bad_input};
use crate::payroll::{income_events, pay_period, price_book, rows_as_paid};
use crate::reports::recorded_sales;

/// A closed period of the year corrected by an adjustment paid in a later year: the figures as
/// the year's own payroll reported them, and as they are now (W-2c for US staff, the UK's
/// earlier-year update).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correction {
    pub person: String,
    /// `W-2c` or `EYU`.
    pub form: &'static str,
    /// The periods corrected and the periods that paid the corrections.
    pub corrected: Vec<String>,
    pub paid_in: Vec<String>,
    /// (figure, previously reported, correct), for the figures that differ.
    pub figures: Vec<(&'static str, Decimal, Decimal)>,
}

/// One sale piece of the year, with its lot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleLine {
    pub person: String,
    pub disposal: lots::Disposal,
    /// Form 8949's box for a US person; `None` elsewhere.
    pub form_8949_box: Option<char>,
}

/// The year-end pack.
#[derive(Clone, Debug)]
pub struct Pack {
    pub year: i16,
    pub token: Token,
    pub people: Vec<PersonYear>,
    pub corrections: Vec<Correction>,
    pub sales: Vec<SaleLine>,
    /// Figures the year-end and the payroll rows disagree on (empty when they agree).
    pub differences: Vec<Difference>,
    /// Periods of the year not closed yet: their rows may still change.
    pub open_periods: Vec<String>,
}

/// A row of some period, with the period that paid it.
struct PaidRow {
    paid_in: PayPeriod,
    row: PayrollRow,
}

/// The tax year a period belongs to: a UK tax month's tax year, else the year of its last day.
fn year_of(p: &PayPeriod) -> i16 {
    if p.uk { uk_tax_month(p.start).0 } else { p.end.year() }
}

/// The year-end pack for `year` (UK staff: the tax year from 6 April `year`), for everyone or
/// one person.
pub fn pack(company: &Company, year: i16, person: Option<&str>, field: &str) -> Result<Pack> {
    if let Some(id) = person {
        crate::reports::person(company, id)?;
    }
    let last = Date::new(year.saturating_add(1), 4, 5).map_err(|e| bad_input(format!("year: {e}"), field))?;
    let events = income_events(company, last)?;
    let people = yearend::year_end(&company.people, &events, year, person);
    let uk = people.iter().any(|p| matches!(p.figures, Figures::P60 { .. }));
    let (rows, open_periods) = paid_rows(company, &events, year, uk)?;
    let (mine, corrections) = attribute(&people, rows, year);
    let differences = yearend::check_rows(&people, &mine);
    let sales = sales(company, &events, year, person)?;
    Ok(Pack { year, token: company.token.token.clone(), people, corrections, sales, differences, open_periods })
}

/// Every row that may pay `year`: the rows of its periods (closed: frozen; open: as they stand)
/// and of the following year's (which may hold adjustments of it); and the year's periods not
/// closed yet (UK tax months only when `uk` people are in the pack).
fn paid_rows(company: &Company, events: &[IncomeEvent], year: i16, uk: bool) -> Result<(Vec<PaidRow>, Vec<String>)> {
    let freq = company.company.pay_frequency;
    let mut ids: BTreeSet<String> = company.payroll_closed.keys().cloned().collect();
    for y in [year, year.saturating_add(1)] {
        for m in 1..=12 {
            ids.insert(format!("uk-{y}-m{m:02}"));
        }
        if let (Ok(from), Ok(to)) = (Date::new(y, 1, 1), Date::new(y, 12, 31)) {
            // The periods that end in the year, plus the one that straddles into it.
            for p in tokencomp_core::period::periods(freq, from, to) {
                ids.insert(p.id);
            }
            ids.insert(tokencomp_core::period::period_of(freq, to).id);
        }
    }
    let mut out = Vec::new();
    let mut open = Vec::new();
    for id in ids {
        let Some(period) = pay_period(company, &id) else { continue };
        if !(year..=year.saturating_add(1)).contains(&year_of(&period)) {
            continue;
        }
        // A period straddling 1 January pays wages of both years: it is open for both.
        let holds_year = year_of(&period) == year || (!period.uk && period.start.year() == year);
        if holds_year && (uk || !period.uk) && !company.payroll_closed.contains_key(&id) {
            open.push(id.clone());
        }
        let rows = rows_as_paid(company, events, &period)?;
        out.extend(rows.into_iter().map(|row| PaidRow { paid_in: period.clone(), row }));
    }
    Ok((out, open))
}

/// The rows that paid `year` (for the check) and the corrections paid in a later year.
fn attribute(people: &[PersonYear], rows: Vec<PaidRow>, year: i16) -> (Vec<PayrollRow>, Vec<Correction>) {
    let wanted: BTreeSet<&str> = people.iter().map(|p| p.person.as_str()).collect();
    let mut mine = Vec::new();
    let mut earlier: BTreeMap<String, Vec<PayrollRow>> = BTreeMap::new();
    let mut later: BTreeMap<String, Vec<PaidRow>> = BTreeMap::new();
    for r in rows {
        // Each row carries the tax year its wages are reported in: a period's own rows that of
        // their income's dates (a period straddling 1 January has a row per year), an adjustment
        // that of the rows it corrects.
        let for_year = r.row.tax_year;
        if for_year != year {
            continue;
        }
        // Only the people of the pack (one person's pack checks that person's rows).
        if !wanted.contains(r.row.person.as_str()) {
            continue;
        }
        // The year's own payroll reported its own rows and the adjustments paid within the year;
        // an adjustment paid in a later year's period corrects a form already filed.
        let later_adjustment = r.row.earning_code == "ADJUST" && year_of(&r.paid_in) > year;
        if !later_adjustment {
            earlier.entry(r.row.person.clone()).or_default().push(r.row.clone());
        } else {
            later
                .entry(r.row.person.clone())
                .or_default()
                .push(PaidRow { paid_in: r.paid_in.clone(), row: r.row.clone() });
        }
        mine.push(r.row);
    }
    let mut corrections = Vec::new();
    for (person, adjusting) in later {
        let Some(py) = people.iter().find(|p| p.person == person) else { continue };
        let reported = earlier.remove(&person).unwrap_or_default();
        // The year-end as reported: the year's figures less what the later adjustments add.
        let before = yearend::check_rows(std::slice::from_ref(py), &reported);
        let form = if matches!(py.figures, Figures::P60 { .. }) { "EYU" } else { "W-2c" };
        let figures: Vec<_> = before.iter().map(|d| (d.figure, d.payroll, d.year_end)).collect();
        if figures.is_empty() {
            continue;
        }
        let corrected: BTreeSet<String> =
            adjusting.iter().flat_map(|r| r.row.adjusts.split_whitespace().map(str::to_owned)).collect();
        let paid_in: BTreeSet<String> = adjusting.iter().map(|r| r.paid_in.id.clone()).collect();
        corrections.push(Correction {
            person,
            form,
            corrected: corrected.into_iter().collect(),
            paid_in: paid_in.into_iter().collect(),
            figures,
        });
    }
    (mine, corrections)
}

/// Every sale piece of the year (UK people: their tax year), person by person.
fn sales(company: &Company, events: &[IncomeEvent], year: i16, only: Option<&str>) -> Result<Vec<SaleLine>> {
    let token = &company.token.token;
    let recorded = recorded_sales(company);
    let prices = price_book(company);
    let mut out = Vec::new();
    for p in company.people.values().filter(|p| only.is_none_or(|id| id == p.id)) {
        if !recorded.iter().any(|s| s.person == p.id) {
            continue;
        }
        let y = statements::tax_year(token, p, events, &recorded, &prices, year)?;
        for d in y.disposals {
            let form_8949_box = if d.rule.is_us() { lots::form_8949_box(year, d.term, d.reported) } else { None };
            out.push(SaleLine { person: p.id.clone(), disposal: d, form_8949_box });
        }
    }
    Ok(out)
}

fn cents(d: Decimal) -> String {
    let mut v = MONEY_ROUNDING.apply(d);
    v.rescale(2);
    v.to_string()
}

impl Pack {
    /// The pack's files: (name, CSV), one per form, in a fixed order; a form nobody has is
    /// still written with its header, so a script reading the pack finds every file.
    pub fn files(&self) -> Vec<(&'static str, String)> {
        let mut w2 = String::from(
            "employee_id,employee_name,year,currency,box1_wages,box2_federal_income_tax,box3_social_security_wages,\
             box4_social_security_tax,box5_medicare_wages,box6_medicare_tax,box14\n",
        );
        let mut w2_states = String::from("employee_id,year,box15_state,box16_state_wages,box17_state_income_tax\n");
        let mut w2_locals = String::from("employee_id,year,box18_local_wages,box19_local_income_tax,box20_locality\n");
        let mut nec = String::from(
            "recipient_id,recipient_name,year,currency,box1_nonemployee_compensation,box4_federal_income_tax\n",
        );
        let mut p60 = String::from(
            "employee_id,employee_name,tax_year,currency,pay_in_this_employment,tax_deducted,ni_earnings,employee_nic,employer_nic,student_loan_deductions,postgraduate_loan_deductions\n",
        );
        let mut fps = String::from(
            "employee_id,tax_year,tax_month,currency,taxable_pay_in_period,tax_deducted_in_period,ni_earnings_in_period,employee_nic_in_period,employer_nic_in_period,student_loan_in_period,postgraduate_loan_in_period\n",
        );
        let mut flat = String::from("person_id,person_name,year,currency,gross,tax_withheld\n");
        let mut lstb = format!("employee_id,employee_name,year,currency,{}\n", yearend::LSTB_LINES.join(","));
        let uk_year = format!("{}-{:02}", self.year, (i32::from(self.year) + 1).rem_euclid(100));
        for p in &self.people {
            let (id, name, cur, y) = (text_field(&p.person), text_field(&p.name), &p.currency, self.year);
            match &p.figures {
                Figures::W2(w) => {
                    let box14: Vec<String> = w.box14.iter().map(|(k, v)| format!("{k} {}", cents(*v))).collect();
                    let _ = writeln!(
                        w2,
                        "{id},{name},{y},{cur},{},{},{},{},{},{},{}",
                        cents(w.box1_wages),
                        cents(w.box2_federal_income_tax),
                        cents(w.box3_social_security_wages),
                        cents(w.box4_social_security_tax),
                        cents(w.box5_medicare_wages),
                        cents(w.box6_medicare_tax),
                        text_field(&box14.join("; "))
                    );
                    for (locality, l) in &w.locals {
                        let _ = writeln!(
                            w2_locals,
                            "{id},{y},{},{},{}",
                            cents(l.box18_local_wages),
                            cents(l.box19_local_income_tax),
                            text_field(locality)
                        );
                    }
                    for (state, s) in &w.states {
                        let _ = writeln!(
                            w2_states,
                            "{id},{y},{},{},{}",
                            text_field(state),
                            cents(s.box16_state_wages),
                            cents(s.box17_state_income_tax)
                        );
                    }
                }
                Figures::Nec1099(n) => {
                    let _ = writeln!(
                        nec,
                        "{id},{name},{y},{cur},{},{}",
                        cents(n.box1_nonemployee_compensation),
                        cents(n.box4_federal_income_tax)
                    );
                }
                Figures::P60 { p60: t, fps: months } => {
                    let _ = writeln!(
                        p60,
                        "{id},{name},{uk_year},{cur},{},{},{},{},{},{},{}",
                        cents(t.pay),
                        cents(t.tax),
                        cents(t.ni_earnings),
                        cents(t.employee_nic),
                        cents(t.employer_nic),
                        cents(t.student_loan),
                        cents(t.postgraduate_loan)
                    );
                    for (month, m) in months {
                        let _ = writeln!(
                            fps,
                            "{id},{uk_year},{},{cur},{},{},{},{},{},{},{}",
                            month.rsplit('m').next().unwrap_or_default(),
                            cents(m.pay),
                            cents(m.tax),
                            cents(m.ni_earnings),
                            cents(m.employee_nic),
                            cents(m.employer_nic),
                            cents(m.student_loan),
                            cents(m.postgraduate_loan)
                        );
                    }
                }
                Figures::Lstb(lines) => {
                    let values: Vec<String> = lines.iter().map(|v| cents(*v)).collect();
                    let _ = writeln!(lstb, "{id},{name},{y},{cur},{}", values.join(","));
                }
                Figures::Flat { gross, tax } => {
                    let _ = writeln!(flat, "{id},{name},{y},{cur},{},{}", cents(*gross), cents(*tax));
                }
            }
        }
        let mut corrections =
            String::from("person_id,form,figure,previously_reported,correct,difference,corrected_periods,paid_in\n");
        for c in &self.corrections {
            for (figure, before, now) in &c.figures {
                let _ = writeln!(
                    corrections,
                    "{},{},{figure},{},{},{},{},{}",
                    text_field(&c.person),
                    c.form,
                    cents(*before),
                    cents(*now),
                    cents(*now - *before),
                    text_field(&c.corrected.join(" ")),
                    text_field(&c.paid_in.join(" "))
                );
            }
        }
        let mut sales = String::from(
            "person_id,sale,lot,wallet,date_acquired,date_sold,tokens,proceeds,cost_basis,gain_or_loss,term,form_8949_box\n",
        );
        for s in &self.sales {
            let d = &s.disposal;
            let term = match d.term {
                Term::Short => "short",
                Term::Long => "long",
                Term::NotApplicable => "",
            };
            let _ = writeln!(
                sales,
                "{},{},{},{},{},{},{},{},{},{},{term},{}",
                text_field(&s.person),
                text_field(&d.sale),
                text_field(&d.lot),
                text_field(&d.wallet),
                d.acquired,
                d.sold,
                self.token.format(d.amount),
                cents(d.proceeds),
                cents(d.basis),
                cents(d.gain),
                s.form_8949_box.map(String::from).unwrap_or_default()
            );
        }
        vec![
            ("w2.csv", w2),
            ("w2-states.csv", w2_states),
            ("w2-locals.csv", w2_locals),
            ("1099-nec.csv", nec),
            ("p60.csv", p60),
            ("fps.csv", fps),
            ("lohnsteuerbescheinigung.csv", lstb),
            ("flat.csv", flat),
            ("corrections.csv", corrections),
            ("sales.csv", sales),
        ]
    }

    /// The JSON document of the pack (`year-end.json`, `--json`).
    pub fn to_json(&self) -> Value {
        let people: Vec<Value> = self
            .people
            .iter()
            .map(|p| {
                let figures = match &p.figures {
                    Figures::W2(w) => json!({
                        "form": "W-2",
                        "box1_wages": cents(w.box1_wages),
                        "box2_federal_income_tax": cents(w.box2_federal_income_tax),
                        "box3_social_security_wages": cents(w.box3_social_security_wages),
                        "box4_social_security_tax": cents(w.box4_social_security_tax),
                        "box5_medicare_wages": cents(w.box5_medicare_wages),
                        "box6_medicare_tax": cents(w.box6_medicare_tax),
                        "box14": w.box14.iter().map(|(k, v)| json!({"label": k, "amount": cents(*v)})).collect::<Vec<_>>(),
                        "states": w.states.iter().map(|(s, v)| json!({"box15_state": s,
                            "box16_state_wages": cents(v.box16_state_wages),
                            "box17_state_income_tax": cents(v.box17_state_income_tax)})).collect::<Vec<_>>(),
                        "locals": w.locals.iter().map(|(n, v)| json!({"box20_locality": n,
                            "box18_local_wages": cents(v.box18_local_wages),
                            "box19_local_income_tax": cents(v.box19_local_income_tax)})).collect::<Vec<_>>(),
                    }),
                    Figures::Nec1099(n) => json!({
                        "form": "1099-NEC",
                        "box1_nonemployee_compensation": cents(n.box1_nonemployee_compensation),
                        "box4_federal_income_tax": cents(n.box4_federal_income_tax),
                    }),
                    Figures::P60 { p60, fps } => json!({
                        "form": "P60",
                        "pay_in_this_employment": cents(p60.pay),
                        "tax_deducted": cents(p60.tax),
                        "ni_earnings": cents(p60.ni_earnings),
                        "employee_nic": cents(p60.employee_nic),
                        "employer_nic": cents(p60.employer_nic),
                        "student_loan_deductions": cents(p60.student_loan),
                        "postgraduate_loan_deductions": cents(p60.postgraduate_loan),
                        "fps": fps.iter().map(|(m, t)| json!({"period": m, "taxable_pay": cents(t.pay),
                            "tax_deducted": cents(t.tax), "employee_nic": cents(t.employee_nic),
                            "employer_nic": cents(t.employer_nic)})).collect::<Vec<_>>(),
                    }),
                    Figures::Lstb(lines) => {
                        let mut doc = serde_json::Map::new();
                        doc.insert("form".into(), Value::from("Lohnsteuerbescheinigung"));
                        for (name, v) in yearend::LSTB_LINES.iter().zip(lines) {
                            doc.insert((*name).into(), Value::from(cents(*v)));
                        }
                        Value::Object(doc)
                    }
                    Figures::Flat { gross, tax } => json!({"form": "flat", "gross": cents(*gross), "tax_withheld": cents(*tax)}),
                };
                json!({"person": p.person, "name": p.name, "currency": p.currency, "figures": figures,
                       "income_events": p.events})
            })
            .collect();
        json!({
            "year": self.year,
            "people": people,
            "corrections": self.corrections.iter().map(|c| json!({"person": c.person, "form": c.form,
                "corrected_periods": c.corrected, "paid_in": c.paid_in,
                "figures": c.figures.iter().map(|(f, b, n)| json!({"figure": f, "previously_reported": cents(*b),
                    "correct": cents(*n), "difference": cents(*n - *b)})).collect::<Vec<_>>()})).collect::<Vec<_>>(),
            "sales": self.sales.len(),
            "payroll_check": {
                "agrees": self.differences.is_empty(),
                "differences": self.differences.iter().map(|d| json!({"person": d.person, "figure": d.figure,
                    "year_end": cents(d.year_end), "payroll": cents(d.payroll)})).collect::<Vec<_>>(),
            },
            "open_periods": self.open_periods,
        })
    }
}
