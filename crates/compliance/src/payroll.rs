//! Vests become income: fair value, wages, withholding, how it is funded, and the lot it leaves.
//!
//! `income_events` is the compliance pass: a pure function of what the ledger recorded
//! (recognized vests net of reversals, people, grant terms, prices, FX rates, the rules
//! table). Re-running it on the same ledger gives the same events, byte for byte; payroll
//! periods, tax reports and books are all views of its output. It never reads a clock and
//! never decides which periods are closed; `adjustments` compares a recomputation with the
//! rows frozen when a period was closed.
//!
//! Conventions (documented in docs/compliance.md):
//! - Income date: the vest date; for restricted token units with a later `settlement_date`,
//!   the settlement date (taxed at delivery); with an 83(b) election, the grant date, once, for
//!   the whole grant at grant-date value (later vests are then not income).
//! - Salary: `salary` is annual, paid in equal monthly instalments, the month's instalment
//!   before any token income of that month (US calendar months; UK tax months).
//! - A hybrid floor: the grant's `floor_usd` is spread over its vests in proportion to units;
//!   a vest worth less than its share gets a cash top-up, which is itself wages.
//! - Currency: US people are paid and taxed in USD, GB in GBP, DE in EUR, others in USD; the
//!   USD fair value converts at the day's rate (`PRICE_ROUNDING`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::civil::Date;
use tokencomp_money::{Currency, Decimal, MONEY_ROUNDING, Token, TokenAmount, mul_div_floor, token_value};

use crate::de::DeCase;
use crate::fmv::{Fmv, FmvError, PriceBook};
use crate::rules::{Need, Rules, RulesError};
use crate::settle::{SaleCosts, SettleError, Settlement, settle};
use crate::withholding::{Jurisdiction, Payer, TaxKind, Wages, Withholding, withhold_for};
use tokencomp_core::VestReason;
use tokencomp_core::model::{CompanySettings, GrantTerms, Person, PersonKind, WithholdingMethod};
use tokencomp_core::period::{PayFrequency, pay_period, uk_tax_month};

#[derive(Debug, thiserror::Error)]
pub enum PayrollError {
    #[error("grant {grant}: vest on {date}: {cause}")]
    Fmv { grant: String, date: Date, cause: FmvError },
    #[error("grant {grant}: vest on {date}: {message}")]
    Withholding { grant: String, date: Date, message: String },
    #[error("grant {grant}: vest on {date}: {cause}")]
    Settle { grant: String, date: Date, cause: SettleError },
    #[error("grant {grant} is held by {holder}, who is not in the company")]
    UnknownHolder { grant: String, holder: String },
    #[error("a vest names grant {grant}, which is not in the company")]
    UnknownGrant { grant: String },
    #[error("payroll arithmetic overflowed: {0}")]
    Overflow(String),
    #[error("{file}:{line}: {message}")]
    Csv { file: String, line: usize, message: String },
    /// The rules in force lack constants the period's payments need (every one named).
    #[error("{0}")]
    Rules(RulesError),
}

/// A vest the ledger recognized, net of reversals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecognizedVest {
    pub grant: String,
    pub date: Date,
    pub reason: VestReason,
    pub amount: TokenAmount,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum IncomeKind {
    /// Taxed when it vested.
    Vest,
    /// A restricted token unit taxed when it was delivered, after it vested.
    Settlement,
    /// Restricted tokens transferred at grant, taxed at grant-date value under §83(b).
    Election83b,
}

impl IncomeKind {
    pub fn name(self) -> &'static str {
        match self {
            IncomeKind::Vest => "vest",
            IncomeKind::Settlement => "settlement",
            IncomeKind::Election83b => "83b",
        }
    }
}

/// Which return reports the income.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Form {
    /// US employee wages.
    W2,
    /// US contractor or advisor: no withholding, income reported on Form 1099-NEC.
    Nec1099,
    /// UK employee: PAYE and Class 1 NICs.
    Paye,
    /// German employee: the Ministry's wage-tax programme; Lohnsteuerbescheinigung.
    Lstb,
    /// Another country's employee, under the company's flat rule.
    Flat,
    /// A non-US contractor or advisor: nothing withheld, reported by the person.
    None,
}

impl Form {
    pub fn name(self) -> &'static str {
        match self {
            Form::W2 => "W-2",
            Form::Nec1099 => "1099-NEC",
            Form::Paye => "PAYE",
            Form::Lstb => "LStB",
            Form::Flat => "flat",
            Form::None => "none",
        }
    }
}

/// The lot a vest leaves in the person's wallet (basis in their tax currency).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VestLot {
    pub id: String,
    pub wallet: String,
    pub acquired: Date,
    /// Units that reached the wallet: the vest less tokens withheld (tokens sold to cover are
    /// in the lot, and leave it by the covering sale).
    pub units: TokenAmount,
    pub basis: Decimal,
}

/// One income event: a vest (or settlement, or 83(b) transfer) made taxable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomeEvent {
    pub person: String,
    pub grant: String,
    pub kind: IncomeKind,
    pub reason: VestReason,
    pub vest_date: Date,
    pub income_date: Date,
    pub units: TokenAmount,
    pub fmv: Fmv,
    pub currency: Currency,
    /// `currency` per USD on the income date.
    pub fx_rate: Decimal,
    /// Fair value per token in `currency`.
    pub price: Decimal,
    /// Token income in `currency`, cents.
    pub token_income: Decimal,
    /// Cash top-up owed under a hybrid floor, in `currency`, cents (itself wages).
    pub top_up: Decimal,
    pub form: Form,
    pub withholding: Withholding,
    pub settlement: Settlement,
    pub lot: VestLot,
}

impl IncomeEvent {
    /// Wages of this event: token income plus any top-up.
    pub fn gross(&self) -> Decimal {
        self.token_income + self.top_up
    }

    pub fn id(&self) -> String {
        self.lot.id.clone()
    }
}

/// Everything the pass reads.
pub struct Context<'a> {
    pub settings: &'a CompanySettings,
    pub token: &'a Token,
    pub people: &'a BTreeMap<String, Person>,
    pub grants: &'a BTreeMap<String, GrantTerms>,
    pub prices: PriceBook<'a>,
    pub rules: &'a Rules,
    /// Income dated after this day is left out (a report never needs a later price); `None`
    /// takes everything the vests and grants give.
    pub through: Option<Date>,
}

/// The currency a person is paid and taxed in.
pub fn pay_currency(person: &Person) -> Currency {
    match person.country.as_deref() {
        Some("GB") => Currency::GBP,
        Some("DE") => Currency::EUR,
        _ => Currency::USD,
    }
}

/// The person's UK tax code, NI letter and loans.
// TODO(issue 17, integrator): `person.tax.uk.clone().unwrap_or_default()` once `Person` carries
// its `TaxProfile` (HMRC's default 0T M1 when nothing is on file); until then the code every
// UK employee was taxed on before profiles existed, 1257L cumulative, category A, no loans.
/// Where the person is taxed and the form that reports it. Employees' profiles come from the
/// person (`tax`), each authority's default when nothing is on file. A German employee is under
/// the Ministry's wage-tax programme, unless the company configured a flat rule for DE (kept so
/// a company file written before the programme existed keeps its results).
fn jurisdiction(person: &Person, rules: &Rules) -> (Option<Jurisdiction>, Form) {
    let country = person.country.as_deref().unwrap_or("US");
    match (person.kind, country) {
        (PersonKind::Employee, "US") => (Some(Jurisdiction::Us { state: person.region.clone() }), Form::W2),
        (PersonKind::Employee, "GB") => {
            (Some(Jurisdiction::Uk { profile: person.tax.uk.clone().unwrap_or_default() }), Form::Paye)
        }
        (PersonKind::Employee, "DE") if !rules.has_flat("DE") => {
            let profile = person.tax.de.clone().unwrap_or_default();
            (Some(Jurisdiction::De(Box::new(DeCase::new(profile, Decimal::ZERO)))), Form::Lstb)
        }
        (PersonKind::Employee, c) => (Some(Jurisdiction::Flat { country: c.to_owned() }), Form::Flat),
        (_, "US") => (None, Form::Nec1099),
        _ => (None, Form::None),
    }
}

/// A month's instalment of the person's annual salary, rounded once to cents.
fn monthly_salary(person: &Person) -> Decimal {
    MONEY_ROUNDING.apply(person.salary.unwrap_or(Decimal::ZERO) / Decimal::from(12))
}

/// The regular wage a person is expected to earn in `date`'s calendar year: the monthly
/// instalment for each month employed (from the hire month when hired that year).
fn expected_regular_wage(person: &Person, date: Date) -> Decimal {
    let monthly = monthly_salary(person);
    let first = match person.hired {
        Some(h) if h.year() == date.year() => h.month(),
        Some(h) if h.year() > date.year() => 13,
        _ => 1,
    };
    monthly * Decimal::from((13 - first).max(0))
}

/// What a payment to `person` on `date` needs from the statutory rules: the US calendar year and
/// the person's state, or the UK tax year; `None` for flat rules and people nothing is withheld for.
pub fn rules_need(person: &Person, date: Date, rules: &Rules) -> Option<Need> {
    match jurisdiction(person, rules).0? {
        Jurisdiction::Us { state } => Some(Need::Us { year: date.year(), state }),
        Jurisdiction::Uk { .. } => Some(Need::Uk { tax_year: uk_tax_month(date).0 }),
        Jurisdiction::De(_) => Some(Need::De { year: date.year() }),
        Jurisdiction::Flat { .. } => None,
    }
}

/// The USD floor a vest of `units` base units carries, when its grant has one: the grant's
/// `floor_usd` spread over its vests in proportion to units (`floor_share` over the grant's
/// amount). The one rule both payroll (what is paid) and `simulate` (what it is worth) use, in
/// exact base units, so a vest that is not a whole number of tokens gets its full share.
pub fn vest_floor(terms: &GrantTerms, units: TokenAmount) -> Result<Option<Decimal>, PayrollError> {
    match terms.policy.floor {
        Some(floor) if !terms.grant.amount.is_zero() => floor_share(floor, units, terms.grant.amount).map(Some),
        _ => Ok(None),
    }
}

/// A vest's share of a grant's floor, `floor × units / granted`, rounded once to cents (half away
/// from zero). Formed in 256-bit integers: as a `Decimal`, floor × base units overflows (and
/// panicked) for an 18-decimal token ($3,000,000 × 5 × 10^22 base units > 7.9 × 10^28).
fn floor_share(floor: Decimal, units: TokenAmount, granted: TokenAmount) -> Result<Decimal, PayrollError> {
    let overflow = || PayrollError::Overflow(format!("the floor share of {} base units", units.base_units()));
    // A negative floor guarantees nothing (the company file refuses one anyway).
    let floor = floor.max(Decimal::ZERO);
    let mantissa = u128::try_from(floor.mantissa()).map_err(|_| overflow())?;
    // floor = mantissa / 10^scale, so the share in cents is mantissa × 10^(2 − scale) × units / granted.
    let (cents_numerator, divisor) = match floor.scale().checked_sub(2) {
        None => (mantissa.checked_mul(10u128.pow(2 - floor.scale())).ok_or_else(overflow)?, 1),
        Some(extra) => (mantissa, 10u128.checked_pow(extra).ok_or_else(overflow)?),
    };
    // Twice the exact share, floored: ⌊2x⌋; then x rounded half up is ⌊(⌊2x⌋ + 1) / 2⌋.
    let twice = cents_numerator.checked_mul(2).ok_or_else(overflow)?;
    let q = mul_div_floor(twice, units.base_units(), granted.base_units()).ok_or_else(overflow)? / divisor;
    let cents = i128::try_from(q / 2 + q % 2).map_err(|_| overflow())?;
    Decimal::try_from_i128_with_scale(cents, 2).map_err(|_| overflow())
}

/// A person's wage totals within one tax year, as the pass walks forward in time.
#[derive(Default)]
struct YearToDate {
    year: Option<i16>,
    month: i8,
    wages: Decimal,
    supplemental: Decimal,
    month_income: Decimal,
    /// The tax year before `year` and the token wages paid in it (the German March clause).
    previous: Option<(i16, Decimal)>,
}

/// Salary earned through the month that `date` falls in, and that month's instalment, with
/// the tax year and month it belongs to (US calendar, UK tax months 6th to 5th). Someone hired
/// during the year is paid from their hire month on.
fn salary_to_date(person: &Person, uk: bool, date: Date) -> (i16, i8, Decimal, Decimal) {
    let month_of = |d: Date| if uk { uk_tax_month(d) } else { (d.year(), d.month()) };
    let (year, month) = month_of(date);
    let first = match person.hired.map(month_of) {
        Some((y, m)) if y == year => m,
        Some((y, _)) if y > year => month + 1,
        _ => 1,
    };
    let monthly = monthly_salary(person);
    let months = (month - first + 1).max(0);
    let this_month = if months > 0 { monthly } else { Decimal::ZERO };
    (year, month, monthly * Decimal::from(months), this_month)
}

/// Income events for every recognized vest, in (person, income date, grant) order.
pub fn income_events(cx: &Context<'_>, vests: &[RecognizedVest]) -> Result<Vec<IncomeEvent>, PayrollError> {
    struct Pending<'v> {
        person: String,
        grant: &'v str,
        kind: IncomeKind,
        reason: VestReason,
        vest_date: Date,
        income_date: Date,
        units: TokenAmount,
    }
    let mut pending = Vec::with_capacity(vests.len());
    // §83(b): restricted tokens transferred at grant are income once, at grant-date value, as
    // soon as the grant exists (no vest needed); their vests are not income again.
    for (id, terms) in cx.grants {
        let elected = terms.policy.transferred_at_grant && terms.policy.election_83b.is_some();
        if elected && cx.through.is_none_or(|t| terms.grant_date <= t) && !terms.grant.amount.is_zero() {
            pending.push(Pending {
                person: terms.grant.holder.clone(),
                grant: id.as_str(),
                kind: IncomeKind::Election83b,
                reason: VestReason::Vest,
                vest_date: terms.grant_date,
                income_date: terms.grant_date,
                units: terms.grant.amount,
            });
        }
    }
    for v in vests.iter().filter(|v| !v.amount.is_zero()) {
        let terms = cx.grants.get(&v.grant).ok_or_else(|| PayrollError::UnknownGrant { grant: v.grant.clone() })?;
        let holder = terms.grant.holder.clone();
        if terms.policy.transferred_at_grant && terms.policy.election_83b.is_some() {
            continue;
        }
        let (kind, income_date) = match terms.policy.settlement_date {
            Some(s) if s > v.date => (IncomeKind::Settlement, s),
            _ => (IncomeKind::Vest, v.date),
        };
        if cx.through.is_some_and(|t| income_date > t) {
            continue;
        }
        pending.push(Pending {
            person: holder,
            grant: &v.grant,
            kind,
            reason: v.reason,
            vest_date: v.date,
            income_date,
            units: v.amount,
        });
    }
    pending.sort_by(|a, b| {
        (&a.person, a.income_date, a.grant, a.vest_date, a.reason).cmp(&(
            &b.person,
            b.income_date,
            b.grant,
            b.vest_date,
            b.reason,
        ))
    });

    // Every rules year (and state) the payments need, checked at once, so a year without rules
    // is refused naming every missing constant rather than the first payment's.
    let mut needs: Vec<Need> = pending
        .iter()
        .filter_map(|p| cx.people.get(&p.person).and_then(|person| rules_need(person, p.income_date, cx.rules)))
        .collect();
    needs.sort();
    needs.dedup();
    cx.rules.require(&needs).map_err(PayrollError::Rules)?;

    let policy = &cx.settings.policy;
    let costs = SaleCosts { fee_bps: policy.sale_fee_bps, slippage_bps: policy.slippage_bps };
    let mut out = Vec::with_capacity(pending.len());
    let mut ytd = YearToDate::default();
    let mut current: Option<&str> = None;
    for p in &pending {
        let person = cx
            .people
            .get(&p.person)
            .ok_or_else(|| PayrollError::UnknownHolder { grant: p.grant.to_owned(), holder: p.person.clone() })?;
        if current != Some(p.person.as_str()) {
            ytd = YearToDate::default();
            current = Some(p.person.as_str());
        }
        let terms = &cx.grants[p.grant];
        let grant = p.grant.to_owned();
        let date = p.income_date;
        let fmv_err = |cause| PayrollError::Fmv { grant: grant.clone(), date, cause };
        let fmv = cx.prices.fmv(policy.fmv, date).map_err(fmv_err)?;
        let currency = pay_currency(person);
        let fx_rate = cx.prices.rate(currency, date).map_err(fmv_err)?;
        let price = cx.prices.convert_price(fmv.price, currency, date).map_err(fmv_err)?;
        let money = |e: tokencomp_money::FiatError| PayrollError::Overflow(e.to_string());
        let token_income = token_value(cx.token, p.units, price, MONEY_ROUNDING).map_err(money)?;

        let top_up = match vest_floor(terms, p.units)? {
            Some(share) => {
                let usd = token_value(cx.token, p.units, fmv.price, MONEY_ROUNDING).map_err(money)?;
                let short_usd = (share - usd).max(Decimal::ZERO);
                MONEY_ROUNDING.apply(short_usd * fx_rate)
            }
            _ => Decimal::ZERO,
        };
        let gross = token_income + top_up;

        let (mut jur, form) = jurisdiction(person, cx.rules);
        let uk = matches!(jur, Some(Jurisdiction::Uk { .. }));
        let (year, month, salary_ytd, monthly) = salary_to_date(person, uk, date);
        if ytd.year != Some(year) {
            let previous = ytd.year.map(|y| (y, ytd.wages));
            ytd = YearToDate { year: Some(year), previous, ..YearToDate::default() };
        }
        if ytd.month != month {
            ytd.month = month;
            ytd.month_income = Decimal::ZERO;
        }
        // The German programme taxes the vest as an other payment (sonstiger Bezug) against the
        // year's expected regular wage plus the other payments already made this year.
        if let Some(Jurisdiction::De(case)) = &mut jur {
            case.expected_annual_wage = expected_regular_wage(person, date) + ytd.wages;
            case.employed_from = person.hired.filter(|h| h.year() == date.year());
            // The previous year's assessed pay, for a payment the March clause sends there: its
            // salary and the token wages paid in it.
            let last = date.year() - 1;
            if let Ok(december) = Date::new(last, 12, 31) {
                let tokens = match ytd.previous {
                    Some((y, wages)) if y == last => wages,
                    _ => Decimal::ZERO,
                };
                case.previous_year_liable = Some(expected_regular_wage(person, december) + tokens);
                case.previous_employed_from = person.hired.filter(|h| h.year() == last);
            }
        }
        let withholding = match &jur {
            Some(j) => {
                let wages = Wages {
                    year_to_date: salary_ytd + ytd.wages,
                    supplemental_year_to_date: ytd.supplemental,
                    period_to_date: monthly + ytd.month_income,
                };
                let rules = cx.rules;
                withhold_for(rules, j, date, &wages, gross, person.tax.us.as_ref())
                    .map_err(|e| PayrollError::Withholding { grant: grant.clone(), date, message: e.to_string() })?
            }
            None => Withholding { lines: Vec::new() },
        };
        ytd.wages += gross;
        ytd.supplemental += gross;
        ytd.month_income += gross;

        let employee_tax = withholding.employee_total();
        // Restricted tokens under §83(b) cannot be sold at grant: the tax is paid in cash.
        let method = if p.kind == IncomeKind::Election83b {
            WithholdingMethod::Cash
        } else {
            terms.policy.withholding.unwrap_or(policy.withholding)
        };
        // The top-up is paid in cash, so it funds its own tax first.
        let token_tax = (employee_tax - top_up).max(Decimal::ZERO);
        let mut settlement = settle(cx.token, p.units, price, token_tax, method, costs)
            .map_err(|cause| PayrollError::Settle { grant: grant.clone(), date, cause })?;
        settlement.cash_remitted = employee_tax;
        settlement.cash_to_person += (top_up - employee_tax).max(Decimal::ZERO);

        let lot_units =
            p.units.checked_sub(settlement.tokens_withheld).map_err(|e| PayrollError::Overflow(e.to_string()))?;
        let basis = token_value(cx.token, lot_units, price, MONEY_ROUNDING).map_err(money)?;
        let lot = VestLot {
            id: format!("{}:{}:{}:{}", p.kind.name(), p.grant, p.vest_date, p.reason.as_str()),
            wallet: person.wallet.clone().unwrap_or_else(|| "main".to_owned()),
            acquired: date,
            units: lot_units,
            basis,
        };
        out.push(IncomeEvent {
            person: p.person.clone(),
            grant,
            kind: p.kind,
            reason: p.reason,
            vest_date: p.vest_date,
            income_date: date,
            units: p.units,
            fmv,
            currency,
            fx_rate,
            price,
            token_income,
            top_up,
            form,
            withholding,
            settlement,
            lot,
        });
    }
    Ok(out)
}

/// The payroll export's money and token columns, in order (after the identity columns).
pub const AMOUNT_COLUMNS: [&str; COLUMNS] = [
    "token_income",
    "cash_top_up",
    "gross_supplemental_wages",
    "social_security_wages",
    "medicare_wages",
    "federal_income_tax",
    "social_security_ee",
    "medicare_ee",
    "additional_medicare_ee",
    "state_income_tax",
    "uk_paye",
    "uk_nic_ee",
    "flat_income_tax",
    "state_contributions_ee",
    "local_income_tax",
    "uk_student_loan",
    "uk_postgraduate_loan",
    "de_wage_tax",
    "de_solidarity_surcharge",
    "de_church_tax",
    "de_social_insurance_ee",
    "social_security_er",
    "medicare_er",
    "futa_er",
    "uk_nic_er",
    "flat_employer_tax",
    "tax_remitted",
    "owed_from_salary",
    "cash_to_employee",
    "tokens_vested",
    "tokens_sold",
    "tokens_withheld",
    "net_tokens",
];

/// How many amount columns a row has.
pub const COLUMNS: usize = 33;

/// The wage-base columns: the Social Security and Medicare wages of the row (the employee
/// lines' bases, as boxes 3 and 5 of Form W-2 sum them). An export written before they existed
/// lacks them ([`parse_csv`] still reads it).
pub const WAGE_BASE_COLUMNS: [usize; 2] = [column("social_security_wages"), column("medicare_wages")];

/// The index of amount column `name`; a name that is not a column fails the build where it is
/// used in a constant (every use below is one).
pub const fn column(name: &str) -> usize {
    let mut i = 0;
    while i < COLUMNS {
        if eq(AMOUNT_COLUMNS[i], name) {
            return i;
        }
        i += 1;
    }
    panic!("not a payroll column")
}

const fn eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The `AMOUNT_COLUMNS` withheld from the employee (federal income tax to the flat rule).
pub const EMPLOYEE_TAX_COLUMNS: std::ops::Range<usize> = column("federal_income_tax")..column("social_security_er");

/// `AMOUNT_COLUMNS` from this index on are token counts.
pub const TOKEN_COLUMNS_FROM: usize = column("tokens_vested");

/// The identity columns that come first.
pub const ID_COLUMNS: [&str; 9] = [
    "employee_id",
    "employee_name",
    "pay_period",
    "earning_code",
    "tax_form",
    "currency",
    "work_state",
    "adjusts",
    "tax_year",
];

/// How many columns an export written before rows carried their tax year and wage bases has at
/// the front (`ID_COLUMNS` without `tax_year`); its amount columns are `AMOUNT_COLUMNS` without
/// the [`WAGE_BASE_COLUMNS`]. Closed periods keep such exports, so they are still read.
const LEGACY_ID_COLUMNS: usize = 8;

/// The tax year a payment on `date` is reported in: the calendar year (US forms: wages count
/// for the year they are paid, 26 CFR 31.3121(a)-2; a vest's tokens are paid when delivered),
/// or for UK PAYE the tax year from 6 April (by the calendar year it starts in).
pub fn tax_year(form: Form, date: Date) -> i16 {
    match form {
        Form::Paye => uk_tax_month(date).0,
        _ => date.year(),
    }
}

/// One row of the payroll export: a person's totals for a period (or an adjustment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayrollRow {
    pub person: String,
    pub name: String,
    pub period: String,
    /// `TOKEN` for the period's own income, `ADJUST` for a correction of closed periods.
    pub earning_code: String,
    pub form: String,
    pub currency: String,
    pub state: String,
    /// For an adjustment, the closed periods it corrects (space separated).
    pub adjusts: String,
    /// The tax year the row's wages are reported in ([`tax_year`]): a period that straddles
    /// 1 January (a biweekly one) has a row per year. An adjustment's is the year of the rows it
    /// corrects. A row read from an export written before the column existed gets the year of
    /// its period's last day (UK: its tax month's tax year), or for an adjustment the latest year
    /// of the periods it corrects, as the year-end counted such rows then.
    pub tax_year: i16,
    /// Whether the row's wage-base columns were recorded: `false` only for a row read from an
    /// export written before they existed (they then read as zero and are unknown).
    pub wage_bases: bool,
    /// `AMOUNT_COLUMNS` in order; tokens as whole-token decimals.
    pub values: [Decimal; COLUMNS],
}

fn tax_column(kind: TaxKind, payer: Payer) -> usize {
    const fn c(name: &str) -> usize {
        column(name)
    }
    match (kind, payer) {
        (TaxKind::FederalIncome, _) => const { c("federal_income_tax") },
        (TaxKind::SocialSecurity, Payer::Employee) => const { c("social_security_ee") },
        (TaxKind::Medicare, Payer::Employee) => const { c("medicare_ee") },
        (TaxKind::AdditionalMedicare, _) => const { c("additional_medicare_ee") },
        (TaxKind::StateIncome, _) => const { c("state_income_tax") },
        (TaxKind::Paye, _) => const { c("uk_paye") },
        (TaxKind::EmployeeNic, _) => const { c("uk_nic_ee") },
        (TaxKind::FlatIncome, _) => const { c("flat_income_tax") },
        (
            TaxKind::StateDisability
            | TaxKind::StatePaidLeave
            | TaxKind::StateUnemploymentEmployee
            | TaxKind::StateLongTermCare
            | TaxKind::StateTransit,
            _,
        ) => const { c("state_contributions_ee") },
        (TaxKind::LocalIncome, _) => const { c("local_income_tax") },
        (TaxKind::StudentLoan, _) => const { c("uk_student_loan") },
        (TaxKind::PostgraduateLoan, _) => const { c("uk_postgraduate_loan") },
        (TaxKind::DeWageTax, _) => const { c("de_wage_tax") },
        (TaxKind::DeSolidarity, _) => const { c("de_solidarity_surcharge") },
        (TaxKind::DeChurch, _) => const { c("de_church_tax") },
        (TaxKind::DePension | TaxKind::DeUnemployment | TaxKind::DeHealth | TaxKind::DeCare, _) => {
            const { c("de_social_insurance_ee") }
        }
        (TaxKind::SocialSecurity, Payer::Employer) => const { c("social_security_er") },
        (TaxKind::Medicare, Payer::Employer) => const { c("medicare_er") },
        (TaxKind::Futa, _) => const { c("futa_er") },
        (TaxKind::EmployerNic, _) => const { c("uk_nic_er") },
        (TaxKind::FlatEmployer, _) => const { c("flat_employer_tax") },
    }
}

fn whole_tokens(token: &Token, units: TokenAmount) -> Result<Decimal, PayrollError> {
    let u = i128::try_from(units.base_units()).map_err(|e| PayrollError::Overflow(e.to_string()))?;
    Decimal::try_from_i128_with_scale(u, u32::from(token.decimals())).map_err(|e| PayrollError::Overflow(e.to_string()))
}

/// Adds one event into a row's values, every sum checked (a `Decimal` sum past its range
/// would panic).
fn accumulate(values: &mut [Decimal; COLUMNS], token: &Token, e: &IncomeEvent) -> Result<(), PayrollError> {
    let mut add = |column: usize, amount: Decimal| -> Result<(), PayrollError> {
        let slot = &mut values[column];
        *slot = slot.checked_add(amount).ok_or_else(|| {
            PayrollError::Overflow(format!("{}'s {} total for {}", e.person, AMOUNT_COLUMNS[column], e.grant))
        })?;
        Ok(())
    };
    add(const { column("token_income") }, e.token_income)?;
    add(const { column("cash_top_up") }, e.top_up)?;
    add(const { column("gross_supplemental_wages") }, e.gross())?;
    for l in &e.withholding.lines {
        add(tax_column(l.kind, l.payer), l.amount)?;
        // The wages each FICA tax was due on: box 3 (below the Social Security wage base, as
        // the line's base is) and box 5 of Form W-2, summed as the year-end sums them.
        match (l.kind, l.payer) {
            (TaxKind::SocialSecurity, Payer::Employee) => add(const { column("social_security_wages") }, l.base)?,
            (TaxKind::Medicare, Payer::Employee) => add(const { column("medicare_wages") }, l.base)?,
            _ => {}
        }
    }
    add(const { column("tax_remitted") }, e.settlement.cash_remitted)?;
    add(const { column("owed_from_salary") }, e.settlement.person_owes)?;
    add(const { column("cash_to_employee") }, e.settlement.cash_to_person)?;
    add(const { column("tokens_vested") }, whole_tokens(token, e.units)?)?;
    add(const { column("tokens_sold") }, whole_tokens(token, e.settlement.tokens_sold)?)?;
    add(const { column("tokens_withheld") }, whole_tokens(token, e.settlement.tokens_withheld)?)?;
    add(const { column("net_tokens") }, whole_tokens(token, e.settlement.net_tokens)?)?;
    Ok(())
}

/// The period's own rows: one per person and tax year with income in it (a period that
/// straddles 1 January pays wages of two years), ordered by person id and year.
pub fn period_rows<'e>(
    token: &Token,
    people: &BTreeMap<String, Person>,
    events: impl IntoIterator<Item = &'e IncomeEvent>,
    period: &str,
    period_of: &dyn Fn(Date) -> String,
) -> Result<Vec<PayrollRow>, PayrollError> {
    let mut rows: BTreeMap<(&str, i16), PayrollRow> = BTreeMap::new();
    // Many events share a day: ask for each day's period once.
    let mut in_period: BTreeMap<Date, bool> = BTreeMap::new();
    let mut belongs = |d: Date| *in_period.entry(d).or_insert_with(|| period_of(d) == period);
    for e in events.into_iter().filter(|e| belongs(e.income_date)) {
        let year = tax_year(e.form, e.income_date);
        let row = rows.entry((e.person.as_str(), year)).or_insert_with(|| {
            let p = people.get(&e.person);
            PayrollRow {
                person: e.person.clone(),
                name: p.map(|p| p.name.clone()).unwrap_or_default(),
                period: period.to_owned(),
                earning_code: "TOKEN".into(),
                form: e.form.name().into(),
                currency: e.currency.code().into(),
                state: p.and_then(|p| p.region.clone()).unwrap_or_default(),
                adjusts: String::new(),
                tax_year: year,
                wage_bases: true,
                values: [Decimal::ZERO; COLUMNS],
            }
        });
        accumulate(&mut row.values, token, e)?;
    }
    Ok(rows.into_values().collect())
}

/// Corrections of closed periods, to be paid in `period` (the first open one): per person and
/// tax year, what the closed periods' income comes to now minus what their frozen rows paid
/// (their adjustment rows included), so a correction counts for the year it corrects. Only rows
/// with a non-zero difference are returned. Where a frozen row predates the wage-base columns,
/// what it reported in them is unknown: that person's and period's wage bases are left out of
/// the difference (the correction then carries no wage bases for it).
pub fn adjustments(recomputed: &[PayrollRow], frozen: &[PayrollRow], period: &str) -> Vec<PayrollRow> {
    let unknown: std::collections::BTreeSet<(&str, &str)> =
        frozen.iter().filter(|r| !r.wage_bases).map(|r| (r.person.as_str(), r.period.as_str())).collect();
    let mut diff: BTreeMap<(String, i16), (PayrollRow, Vec<String>)> = BTreeMap::new();
    let mut add = |r: &PayrollRow, sign: Decimal| {
        let e = diff.entry((r.person.clone(), r.tax_year)).or_insert_with(|| {
            let mut base = r.clone();
            base.values = [Decimal::ZERO; COLUMNS];
            base.wage_bases = true;
            (base, Vec::new())
        });
        let skip_bases = unknown.contains(&(r.person.as_str(), r.period.as_str()));
        for (i, (acc, v)) in e.0.values.iter_mut().zip(r.values.iter()).enumerate() {
            if !(skip_bases && WAGE_BASE_COLUMNS.contains(&i)) {
                *acc += *v * sign;
            }
        }
        if !e.1.contains(&r.period) {
            e.1.push(r.period.clone());
        }
    };
    for r in recomputed {
        add(r, Decimal::ONE);
    }
    for r in frozen {
        add(r, Decimal::NEGATIVE_ONE);
    }
    diff.into_values()
        .filter(|(r, _)| r.values.iter().any(|v| !v.is_zero()))
        .map(|(mut r, mut periods)| {
            periods.sort();
            r.period = period.to_owned();
            r.earning_code = "ADJUST".into();
            r.adjusts = periods.join(" ");
            r
        })
        .collect()
}

/// The export: a header, then one line per row. Money columns have two decimals, token
/// columns the token's decimals, so every row of every export looks the same.
pub fn to_csv(rows: &[PayrollRow], token: &Token) -> String {
    let mut out = String::new();
    let header: Vec<&str> = ID_COLUMNS.iter().chain(AMOUNT_COLUMNS.iter()).copied().collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for r in rows {
        let year = r.tax_year.to_string();
        let ids = [&r.person, &r.name, &r.period, &r.earning_code, &r.form, &r.currency, &r.state, &r.adjusts, &year];
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&tokencomp_formats::csv_text::text_field(id));
        }
        for (i, v) in r.values.iter().enumerate() {
            let mut v = *v;
            v.rescale(if i < TOKEN_COLUMNS_FROM { 2 } else { u32::from(token.decimals()) });
            let _ = write!(out, ",{v}");
        }
        out.push('\n');
    }
    out
}

/// Reads an export back (a closed period's frozen rows), in today's columns or in those of an
/// export written before rows carried their tax year and wage bases (see [`PayrollRow::tax_year`]
/// and [`PayrollRow::wage_bases`] for what such a row gets).
pub fn parse_csv(file: &str, text: &str) -> Result<Vec<PayrollRow>, PayrollError> {
    let bad = |line: usize, message: String| PayrollError::Csv { file: file.to_owned(), line, message };
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let expected: Vec<&str> = ID_COLUMNS.iter().chain(AMOUNT_COLUMNS.iter()).copied().collect();
    let legacy: Vec<&str> = ID_COLUMNS[..LEGACY_ID_COLUMNS]
        .iter()
        .chain(AMOUNT_COLUMNS.iter().enumerate().filter(|(i, _)| !WAGE_BASE_COLUMNS.contains(i)).map(|(_, c)| c))
        .copied()
        .collect();
    let headers = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let header: Vec<&str> = headers.iter().collect();
    let current = header == expected;
    if !current && header != legacy {
        return Err(bad(1, "the header is not the payroll export's".into()));
    }
    let ids = if current { ID_COLUMNS.len() } else { LEGACY_ID_COLUMNS };
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| bad(line, e.to_string()))?;
        // The text cells as they were before `csv_text` neutralised them.
        let s = |k: usize| tokencomp_formats::csv_text::restore(rec.get(k).unwrap_or_default()).to_owned();
        let mut values = [Decimal::ZERO; COLUMNS];
        let mut at = ids;
        for (k, v) in values.iter_mut().enumerate() {
            if !current && WAGE_BASE_COLUMNS.contains(&k) {
                continue;
            }
            let cell = rec.get(at).unwrap_or_default();
            at += 1;
            *v = cell.parse().map_err(|_| bad(line, format!("{}: not a decimal: {cell:?}", AMOUNT_COLUMNS[k])))?;
        }
        let (period, earning_code, adjusts) = (s(2), s(3), s(7));
        let tax_year = if current {
            let cell = s(8);
            cell.parse().map_err(|_| bad(line, format!("tax_year: not a year: {cell:?}")))?
        } else {
            let corrected = adjusts.split_whitespace().filter_map(period_year).max();
            match corrected.filter(|_| earning_code == "ADJUST").or_else(|| period_year(&period)) {
                Some(y) => y,
                None => return Err(bad(line, format!("pay_period: not a period id: {period:?}"))),
            }
        };
        rows.push(PayrollRow {
            person: s(0),
            name: s(1),
            period,
            earning_code,
            form: s(4),
            currency: s(5),
            state: s(6),
            adjusts,
            tax_year,
            wage_bases: current,
            values,
        });
    }
    Ok(rows)
}

/// The year a period id belongs to, whatever the calendar (the id forms do not overlap): the year
/// of its last day, a UK tax month's tax year. How rows were counted before they carried a year.
fn period_year(id: &str) -> Option<i16> {
    PayFrequency::ALL
        .iter()
        .find_map(|f| pay_period(*f, id))
        .map(|p| if p.uk { uk_tax_month(p.start).0 } else { p.end.year() })
}
