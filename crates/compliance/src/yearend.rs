//! The year-end pack's figures: what the token income adds to each person's annual forms,
//! computed from the income events alone (never from the payroll rows, which [`check_rows`]
//! compares them with afterwards).
//!
//! - US employees: the Form W-2 boxes the token income adds (1–6; 14 for the state
//!   contributions states ask for there; 15–17 per state; 18–20 per locality).
//! - US contractors and advisors: Form 1099-NEC boxes 1 and 4.
//! - UK employees: the P60 figures of the tax year (6 April to 5 April) and the RTI FPS figures
//!   per tax month.
//! - Others (a company's flat rule): the year's gross and tax, for the person's own return.
//!
//! Which tax line feeds which box is one exhaustive `match` per form ([`w2_box`], [`uk_box`]):
//! a new tax kind does not compile until someone decides where it is reported. Amounts are sums
//! of the lines' own cents; nothing is rounded here.

use std::collections::BTreeMap;

use jiff::civil::Date;
use tokencomp_core::model::Person;
use tokencomp_core::period::uk_tax_month;
use tokencomp_money::Decimal;

use crate::payroll::{AMOUNT_COLUMNS, Form, IncomeEvent, PayrollRow};
use crate::withholding::{Payer, TaxKind};

/// Which box of a W-2 a tax line adds to (employer-only lines are on no W-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum W2Box {
    /// Box 2, federal income tax withheld.
    Federal,
    /// Box 3 (the line's base) and box 4 (its amount).
    SocialSecurity,
    /// Box 5 (the line's base) and box 6 (its amount).
    Medicare,
    /// Box 6 only: the additional Medicare tax is withheld into box 6, its wages are in box 5.
    MedicareAdditional,
    /// Box 17, state income tax, on the state's row.
    StateIncome,
    /// Box 14, a state contribution the state asks to see there, with its label.
    Box14(&'static str),
    /// Boxes 18–20, local income tax.
    Local,
    /// Not on a W-2 (employer taxes; other countries' lines).
    None,
}

/// Where a line of a US employee's withholding is reported.
pub fn w2_box(kind: TaxKind, payer: Payer) -> W2Box {
    if payer == Payer::Employer {
        return W2Box::None;
    }
    match kind {
        TaxKind::FederalIncome => W2Box::Federal,
        TaxKind::SocialSecurity => W2Box::SocialSecurity,
        TaxKind::Medicare => W2Box::Medicare,
        TaxKind::AdditionalMedicare => W2Box::MedicareAdditional,
        TaxKind::StateIncome => W2Box::StateIncome,
        TaxKind::StateDisability => W2Box::Box14("SDI"),
        TaxKind::StatePaidLeave => W2Box::Box14("PFML"),
        TaxKind::StateUnemploymentEmployee => W2Box::Box14("UI"),
        TaxKind::StateLongTermCare => W2Box::Box14("LTC"),
        TaxKind::StateTransit => W2Box::Box14("TRANSIT"),
        TaxKind::LocalIncome => W2Box::Local,
        TaxKind::Futa
        | TaxKind::Paye
        | TaxKind::EmployeeNic
        | TaxKind::EmployerNic
        | TaxKind::FlatIncome
        | TaxKind::FlatEmployer
        | TaxKind::StudentLoan
        | TaxKind::PostgraduateLoan
        | TaxKind::DeWageTax
        | TaxKind::DeSolidarity
        | TaxKind::DeChurch
        | TaxKind::DePension
        | TaxKind::DeUnemployment
        | TaxKind::DeHealth
        | TaxKind::DeCare => W2Box::None,
    }
}

/// Which P60/FPS figure a UK line adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UkBox {
    Tax,
    EmployeeNic,
    EmployerNic,
    StudentLoan,
    PostgraduateLoan,
    None,
}

pub fn uk_box(kind: TaxKind) -> UkBox {
    match kind {
        TaxKind::Paye => UkBox::Tax,
        TaxKind::EmployeeNic => UkBox::EmployeeNic,
        TaxKind::EmployerNic => UkBox::EmployerNic,
        TaxKind::StudentLoan => UkBox::StudentLoan,
        TaxKind::PostgraduateLoan => UkBox::PostgraduateLoan,
        TaxKind::FederalIncome
        | TaxKind::SocialSecurity
        | TaxKind::Medicare
        | TaxKind::AdditionalMedicare
        | TaxKind::Futa
        | TaxKind::StateIncome
        | TaxKind::FlatIncome
        | TaxKind::FlatEmployer
        | TaxKind::StateDisability
        | TaxKind::StatePaidLeave
        | TaxKind::StateUnemploymentEmployee
        | TaxKind::StateLongTermCare
        | TaxKind::StateTransit
        | TaxKind::LocalIncome
        | TaxKind::DeWageTax
        | TaxKind::DeSolidarity
        | TaxKind::DeChurch
        | TaxKind::DePension
        | TaxKind::DeUnemployment
        | TaxKind::DeHealth
        | TaxKind::DeCare => UkBox::None,
    }
}

/// Which line of the Lohnsteuerbescheinigung a German line adds to (the employee's shares; the
/// lines are those of the BMF's form for the year, e.g. line 23a for the statutory pension).
pub fn lstb_line(kind: TaxKind) -> Option<&'static str> {
    match kind {
        TaxKind::DeWageTax => Some("line4_lohnsteuer"),
        TaxKind::DeSolidarity => Some("line5_solidaritaetszuschlag"),
        TaxKind::DeChurch => Some("line6_kirchensteuer"),
        TaxKind::DePension => Some("line23a_rentenversicherung_an"),
        TaxKind::DeHealth => Some("line25_krankenversicherung_an"),
        TaxKind::DeCare => Some("line26_pflegeversicherung_an"),
        TaxKind::DeUnemployment => Some("line27_arbeitslosenversicherung_an"),
        TaxKind::FederalIncome
        | TaxKind::SocialSecurity
        | TaxKind::Medicare
        | TaxKind::AdditionalMedicare
        | TaxKind::Futa
        | TaxKind::StateIncome
        | TaxKind::Paye
        | TaxKind::EmployeeNic
        | TaxKind::EmployerNic
        | TaxKind::FlatIncome
        | TaxKind::FlatEmployer
        | TaxKind::StudentLoan
        | TaxKind::PostgraduateLoan
        | TaxKind::StateDisability
        | TaxKind::StatePaidLeave
        | TaxKind::StateUnemploymentEmployee
        | TaxKind::StateLongTermCare
        | TaxKind::StateTransit
        | TaxKind::LocalIncome => None,
    }
}

/// The Lohnsteuerbescheinigung lines, in the form's order (line 3 is the gross wage).
pub const LSTB_LINES: [&str; 8] = [
    "line3_bruttoarbeitslohn",
    "line4_lohnsteuer",
    "line5_solidaritaetszuschlag",
    "line6_kirchensteuer",
    "line23a_rentenversicherung_an",
    "line25_krankenversicherung_an",
    "line26_pflegeversicherung_an",
    "line27_arbeitslosenversicherung_an",
];

/// The W-2 figures the token income adds for one employee and calendar year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct W2 {
    /// Box 1: wages, tips, other compensation.
    pub box1_wages: Decimal,
    /// Box 2: federal income tax withheld.
    pub box2_federal_income_tax: Decimal,
    /// Box 3: social security wages (up to the wage base).
    pub box3_social_security_wages: Decimal,
    /// Box 4: social security tax withheld.
    pub box4_social_security_tax: Decimal,
    /// Box 5: Medicare wages and tips (no cap).
    pub box5_medicare_wages: Decimal,
    /// Box 6: Medicare tax withheld, the additional Medicare tax included.
    pub box6_medicare_tax: Decimal,
    /// Box 14: state contributions by label (empty until a state programme reports there).
    pub box14: BTreeMap<String, Decimal>,
    /// Boxes 15–17 per state.
    pub states: BTreeMap<String, W2State>,
    /// Boxes 18–20 per locality (box 20 is the key: `NYC`, `YONKERS`).
    pub locals: BTreeMap<String, W2Local>,
}

/// One locality's row of a W-2.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct W2Local {
    /// Box 18: local wages.
    pub box18_local_wages: Decimal,
    /// Box 19: local income tax.
    pub box19_local_income_tax: Decimal,
}

/// One state's row of a W-2.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct W2State {
    /// Box 16: state wages.
    pub box16_state_wages: Decimal,
    /// Box 17: state income tax.
    pub box17_state_income_tax: Decimal,
}

/// Form 1099-NEC figures for one contractor and calendar year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nec1099 {
    /// Box 1: nonemployee compensation.
    pub box1_nonemployee_compensation: Decimal,
    /// Box 4: federal income tax withheld (backup withholding; none is applied on token pay).
    pub box4_federal_income_tax: Decimal,
}

/// The P60 figures of the token pay for one tax year (6 April to 5 April).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct P60 {
    /// Pay in this employment.
    pub pay: Decimal,
    /// Tax deducted in this employment.
    pub tax: Decimal,
    /// Earnings on which employee NICs were due (the NIC lines' bases).
    pub ni_earnings: Decimal,
    /// Employee's contributions.
    pub employee_nic: Decimal,
    /// Employer's contributions (on the FPS, not the P60; kept for the pack's totals).
    pub employer_nic: Decimal,
    /// Student loan deductions (plans 1, 2, 4, 5).
    pub student_loan: Decimal,
    /// Postgraduate loan deductions.
    pub postgraduate_loan: Decimal,
}

/// A person's figures for the year, by the form that reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Figures {
    W2(W2),
    Nec1099(Nec1099),
    P60 {
        p60: P60,
        /// The FPS figures per tax month (`uk-2026-m01` … `m12`).
        fps: BTreeMap<String, P60>,
    },
    /// German employees: the Lohnsteuerbescheinigung lines ([`LSTB_LINES`] order).
    Lstb([Decimal; 8]),
    /// A company's flat rule: gross and tax for the person's own return.
    Flat {
        gross: Decimal,
        tax: Decimal,
    },
}

/// One person's year-end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonYear {
    pub person: String,
    pub name: String,
    pub currency: String,
    pub figures: Figures,
    /// The income events counted, by id, for the audit trail.
    pub events: Vec<String>,
}

/// Whether `date` belongs to the year a person's form covers: the calendar year, or for UK
/// PAYE the tax year starting 6 April of `year`.
pub fn in_form_year(form: Form, year: i16, date: Date) -> bool {
    crate::payroll::tax_year(form, date) == year
}

fn add(slot: &mut Decimal, amount: Decimal) {
    // Each amount is at most 10^15 and a year holds at most a few thousand events.
    *slot += amount;
}

/// Every person's figures for `year`, from their income events (`events` in any order; each
/// person's form is the one their events carry). People without income in the year are left
/// out; `only` keeps one person.
pub fn year_end(
    people: &BTreeMap<String, Person>,
    events: &[IncomeEvent],
    year: i16,
    only: Option<&str>,
) -> Vec<PersonYear> {
    let mut out: BTreeMap<(String, &'static str), PersonYear> = BTreeMap::new();
    for e in events.iter().filter(|e| only.is_none_or(|p| p == e.person)) {
        if e.form == Form::None || !in_form_year(e.form, year, e.income_date) {
            continue;
        }
        let person = people.get(&e.person);
        let key = (e.person.clone(), e.form.name());
        let entry = out.entry(key).or_insert_with(|| PersonYear {
            person: e.person.clone(),
            name: person.map(|p| p.name.clone()).unwrap_or_default(),
            currency: e.currency.code().to_owned(),
            figures: match e.form {
                Form::W2 => Figures::W2(W2::default()),
                Form::Nec1099 => Figures::Nec1099(Nec1099::default()),
                Form::Paye => Figures::P60 { p60: P60::default(), fps: BTreeMap::new() },
                Form::Lstb => Figures::Lstb([Decimal::ZERO; 8]),
                Form::Flat | Form::None => Figures::Flat { gross: Decimal::ZERO, tax: Decimal::ZERO },
            },
            events: Vec::new(),
        });
        entry.events.push(e.id());
        let gross = e.gross();
        match &mut entry.figures {
            Figures::W2(w) => {
                add(&mut w.box1_wages, gross);
                let state = person.and_then(|p| p.region.clone()).unwrap_or_default();
                let locality = person
                    .and_then(|p| p.tax.us.as_ref())
                    .and_then(|u| u.locality.clone())
                    .unwrap_or_else(|| "LOCAL".to_owned());
                let mut state_taxed = false;
                let mut local_taxed = false;
                for l in &e.withholding.lines {
                    match w2_box(l.kind, l.payer) {
                        W2Box::Federal => add(&mut w.box2_federal_income_tax, l.amount),
                        W2Box::SocialSecurity => {
                            add(&mut w.box3_social_security_wages, l.base);
                            add(&mut w.box4_social_security_tax, l.amount);
                        }
                        W2Box::Medicare => {
                            add(&mut w.box5_medicare_wages, l.base);
                            add(&mut w.box6_medicare_tax, l.amount);
                        }
                        W2Box::MedicareAdditional => add(&mut w.box6_medicare_tax, l.amount),
                        W2Box::StateIncome => {
                            state_taxed = true;
                            add(&mut w.states.entry(state.clone()).or_default().box17_state_income_tax, l.amount);
                        }
                        W2Box::Box14(label) => add(w.box14.entry(format!("{state} {label}")).or_default(), l.amount),
                        W2Box::Local => {
                            local_taxed = true;
                            add(&mut w.locals.entry(locality.clone()).or_default().box19_local_income_tax, l.amount);
                        }
                        W2Box::None => {}
                    }
                }
                if local_taxed {
                    add(&mut w.locals.entry(locality).or_default().box18_local_wages, gross);
                }
                // State wages are reported for a state that taxes them (boxes 15–17 stay empty
                // for a state without a wage income tax).
                if state_taxed {
                    add(&mut w.states.entry(state).or_default().box16_state_wages, gross);
                }
            }
            Figures::Nec1099(n) => {
                add(&mut n.box1_nonemployee_compensation, gross);
                for l in e.withholding.lines.iter().filter(|l| l.payer == Payer::Employee) {
                    if l.kind == TaxKind::FederalIncome {
                        add(&mut n.box4_federal_income_tax, l.amount);
                    }
                }
            }
            Figures::P60 { p60, fps } => {
                let (y, m) = uk_tax_month(e.income_date);
                let month = fps.entry(format!("uk-{y}-m{m:02}")).or_default();
                for slot in [&mut *p60, month] {
                    add(&mut slot.pay, gross);
                    for l in &e.withholding.lines {
                        match uk_box(l.kind) {
                            UkBox::Tax => add(&mut slot.tax, l.amount),
                            UkBox::EmployeeNic => {
                                add(&mut slot.ni_earnings, l.base);
                                add(&mut slot.employee_nic, l.amount);
                            }
                            UkBox::EmployerNic => add(&mut slot.employer_nic, l.amount),
                            UkBox::StudentLoan => add(&mut slot.student_loan, l.amount),
                            UkBox::PostgraduateLoan => add(&mut slot.postgraduate_loan, l.amount),
                            UkBox::None => {}
                        }
                    }
                }
            }
            Figures::Lstb(lines) => {
                add(&mut lines[0], gross);
                for l in e.withholding.lines.iter().filter(|l| l.payer == Payer::Employee) {
                    if let Some(i) = lstb_line(l.kind).and_then(|n| LSTB_LINES.iter().position(|x| *x == n)) {
                        add(&mut lines[i], l.amount);
                    }
                }
            }
            Figures::Flat { gross: g, tax } => {
                add(g, gross);
                for l in e.withholding.lines.iter().filter(|l| l.payer == Payer::Employee) {
                    add(tax, l.amount);
                }
            }
        }
    }
    out.into_values().collect()
}

// ------------------------------------------------------------------------------------------
// The check against the payroll rows

/// The payroll-row total each year-end figure must equal: (figure, the row columns it sums).
pub const ROW_CHECKS: [(&str, &[&str]); CHECKS] = [
    ("gross", &["gross_supplemental_wages"]),
    ("federal_income_tax", &["federal_income_tax"]),
    ("social_security_tax", &["social_security_ee"]),
    ("medicare_tax", &["medicare_ee", "additional_medicare_ee"]),
    ("state_income_tax", &["state_income_tax"]),
    ("uk_paye", &["uk_paye"]),
    ("uk_nic_ee", &["uk_nic_ee"]),
    ("uk_nic_er", &["uk_nic_er"]),
    ("flat_income_tax", &["flat_income_tax"]),
    ("uk_student_loan", &["uk_student_loan"]),
    ("uk_postgraduate_loan", &["uk_postgraduate_loan"]),
    ("de_wage_tax", &["de_wage_tax"]),
    ("de_solidarity_surcharge", &["de_solidarity_surcharge"]),
    ("de_church_tax", &["de_church_tax"]),
    ("de_social_insurance_ee", &["de_social_insurance_ee"]),
    ("state_contributions", &["state_contributions_ee"]),
    ("local_income_tax", &["local_income_tax"]),
    ("social_security_wages", &["social_security_wages"]),
    ("medicare_wages", &["medicare_wages"]),
];

const CHECKS: usize = 19;

/// The [`ROW_CHECKS`] figures summed from the rows' wage-base columns (boxes 3 and 5), which a
/// row read from an export written before those columns existed does not know.
const WAGE_BASE_CHECKS: [usize; 2] = [17, 18];

/// A figure the year-end and the payroll rows disagree on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub person: String,
    pub figure: &'static str,
    pub year_end: Decimal,
    pub payroll: Decimal,
}

impl PersonYear {
    /// This year-end's totals in the payroll rows' terms ([`ROW_CHECKS`] order).
    pub fn row_terms(&self) -> [Decimal; CHECKS] {
        let mut t = [Decimal::ZERO; CHECKS];
        match &self.figures {
            Figures::W2(w) => {
                t[0] = w.box1_wages;
                t[1] = w.box2_federal_income_tax;
                t[2] = w.box4_social_security_tax;
                t[3] = w.box6_medicare_tax;
                t[4] = w.states.values().map(|s| s.box17_state_income_tax).sum();
                t[15] = w.box14.values().copied().sum();
                t[16] = w.locals.values().map(|l| l.box19_local_income_tax).sum();
                t[17] = w.box3_social_security_wages;
                t[18] = w.box5_medicare_wages;
            }
            Figures::Nec1099(n) => {
                t[0] = n.box1_nonemployee_compensation;
                t[1] = n.box4_federal_income_tax;
            }
            Figures::P60 { p60, .. } => {
                t[0] = p60.pay;
                t[5] = p60.tax;
                t[6] = p60.employee_nic;
                t[7] = p60.employer_nic;
                t[9] = p60.student_loan;
                t[10] = p60.postgraduate_loan;
            }
            Figures::Lstb(lines) => {
                t[0] = lines[0];
                t[11] = lines[1];
                t[12] = lines[2];
                t[13] = lines[3];
                t[14] = lines[4..].iter().copied().sum();
            }
            Figures::Flat { gross, tax } => {
                t[0] = *gross;
                t[8] = *tax;
            }
        }
        t
    }
}

/// Compares the year-end with the payroll rows that paid the year: the rows of the year's own
/// periods and the adjustment rows (wherever they were paid) that correct them. `rows` are
/// those rows, already chosen by the caller. Every difference is returned, by person and figure.
/// Boxes 3 and 5 are not checked for a person any of whose rows predates the wage-base columns
/// ([`PayrollRow::wage_bases`]): what those rows reported there is unknown.
pub fn check_rows(year_end: &[PersonYear], rows: &[PayrollRow]) -> Vec<Difference> {
    let column = |name: &str| AMOUNT_COLUMNS.iter().position(|c| *c == name);
    let mut paid: BTreeMap<&str, [Decimal; CHECKS]> = BTreeMap::new();
    let unknown_bases: std::collections::BTreeSet<&str> =
        rows.iter().filter(|r| !r.wage_bases).map(|r| r.person.as_str()).collect();
    for r in rows {
        let t = paid.entry(r.person.as_str()).or_default();
        for (i, (_, columns)) in ROW_CHECKS.iter().enumerate() {
            for c in columns.iter().filter_map(|c| column(c)) {
                t[i] += r.values[c];
            }
        }
    }
    let mut expected: BTreeMap<&str, [Decimal; CHECKS]> = BTreeMap::new();
    for p in year_end {
        let t = expected.entry(p.person.as_str()).or_default();
        for (slot, v) in t.iter_mut().zip(p.row_terms()) {
            *slot += v;
        }
    }
    let people: std::collections::BTreeSet<&str> = paid.keys().chain(expected.keys()).copied().collect();
    let mut out = Vec::new();
    for person in people {
        let a = expected.get(person).copied().unwrap_or_default();
        let b = paid.get(person).copied().unwrap_or_default();
        for (i, (figure, _)) in ROW_CHECKS.iter().enumerate() {
            if unknown_bases.contains(person) && WAGE_BASE_CHECKS.contains(&i) {
                continue;
            }
            if a[i] != b[i] {
                out.push(Difference { person: person.to_owned(), figure, year_end: a[i], payroll: b[i] });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_checked_column_is_a_payroll_column() {
        for (figure, columns) in ROW_CHECKS {
            for c in columns {
                assert!(AMOUNT_COLUMNS.contains(c), "{figure}: {c} is not a payroll column");
            }
        }
    }

    #[test]
    fn the_wage_base_checks_are_boxes_3_and_5() {
        let names: Vec<&str> = WAGE_BASE_CHECKS.iter().map(|i| ROW_CHECKS[*i].0).collect();
        assert_eq!(names, ["social_security_wages", "medicare_wages"]);
    }

    #[test]
    fn a_planted_difference_is_named_by_person_and_figure() {
        let d = |s: &str| s.parse::<Decimal>().expect("decimal");
        let w2 = W2 { box1_wages: d("1000.00"), box2_federal_income_tax: d("220.00"), ..W2::default() };
        let year = vec![PersonYear {
            person: "ada".into(),
            name: "Ada".into(),
            currency: "USD".into(),
            figures: Figures::W2(w2),
            events: Vec::new(),
        }];
        let mut values = [Decimal::ZERO; crate::payroll::COLUMNS];
        let c = crate::payroll::column;
        values[c("gross_supplemental_wages")] = d("1000.00");
        values[c("federal_income_tax")] = d("219.99");
        let row = PayrollRow {
            person: "ada".into(),
            name: "Ada".into(),
            period: "2026-12".into(),
            earning_code: "TOKEN".into(),
            form: "W-2".into(),
            currency: "USD".into(),
            state: "CA".into(),
            adjusts: String::new(),
            tax_year: 2026,
            wage_bases: true,
            values,
        };
        assert_eq!(
            check_rows(&year, std::slice::from_ref(&row)),
            [Difference {
                person: "ada".into(),
                figure: "federal_income_tax",
                year_end: d("220.00"),
                payroll: d("219.99")
            }]
        );
        values[c("federal_income_tax")] = d("220.00");
        assert!(check_rows(&year, &[PayrollRow { values, ..row }]).is_empty());
    }
}
