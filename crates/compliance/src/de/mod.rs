//! Germany: wage tax, solidarity surcharge and church tax on a token payment by the Federal
//! Ministry of Finance's wage-tax programme ([`pap`]), and the employee's social-insurance
//! contributions on it as a one-off payment ([`social`]), from the year's constants in
//! `rules/de.toml` ([`params`]).
//!
//! A token payment is a sonstiger Bezug (§39b (3) EStG): its wage tax is the annual tax on the
//! expected annual wage with it minus the tax without it. The person's ELStAM and insurance
//! status ([`DeProfile`]) map to the PAP's inputs as [`pap_input`] documents; see also
//! `docs/tax-rules.md#germany-wage-tax-and-social-insurance`.

pub mod pap;
pub mod params;
pub mod social;

use jiff::civil::Date;
use tokencomp_core::tax_profile::{DeProfile, Health};
use tokencomp_formats::de_rules::DeRulesFile;
use tokencomp_money::Decimal;

use self::pap::{Lzz, PapInput, PapOutput, Pkv};
use self::params::{DeRulesError, DeYear, Edition, read_year};
use self::social::{Contributions, SocialError, SocialInput};
use crate::source::Source;

/// The German rules file in force (the shipped one unless a caller reads another).
#[derive(Clone, Debug, PartialEq)]
pub struct DeRules {
    file: DeRulesFile,
}

impl DeRules {
    pub fn new(file: DeRulesFile) -> DeRules {
        DeRules { file }
    }

    /// The German part of the rules tree in force.
    pub fn file(&self) -> &DeRulesFile {
        &self.file
    }

    /// One year's constants, or every one that is missing.
    pub fn year(&self, year: i16) -> Result<DeYear, DeError> {
        let edition = Edition::for_year(year).ok_or(DeError::NoEdition { year })?;
        Ok(read_year(&self.file, year, edition)?)
    }
}

/// A German employee's payment: the profile and the figures of the year the payroll knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeCase {
    pub profile: DeProfile,
    /// The expected annual wage of the calendar year without this payment (JRE4): the regular
    /// wages paid and still expected, and earlier other payments of the year, EUR.
    pub expected_annual_wage: Decimal,
    /// First day of employment when it began this calendar year (1 January included: then
    /// there was no employment in the previous year for the March clause); `None`: employed
    /// since before this year.
    pub employed_from: Option<Date>,
    /// The employer's monthly subsidy to a private health and care insurance (§257 SGB V,
    /// §61 SGB XI), EUR; zero when none is paid.
    pub private_subsidy_monthly: Decimal,
    /// Contribution-liable pay assessed so far this year for pension/unemployment and for
    /// health/care insurance; `None`: the year-to-date wages.
    pub liable_pension_to_date: Option<Decimal>,
    pub liable_health_to_date: Option<Decimal>,
    /// The pay assessed in the previous calendar year (regular and one-off), for a payment
    /// from January to March the March clause sends there; `None`: not known (such a payment
    /// is refused).
    pub previous_year_liable: Option<Decimal>,
    /// First day of employment when it began in the previous calendar year.
    pub previous_employed_from: Option<Date>,
}

impl DeCase {
    pub fn new(profile: DeProfile, expected_annual_wage: Decimal) -> DeCase {
        DeCase {
            profile,
            expected_annual_wage,
            employed_from: None,
            private_subsidy_monthly: Decimal::ZERO,
            liable_pension_to_date: None,
            liable_health_to_date: None,
            previous_year_liable: None,
            previous_employed_from: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeError {
    #[error(transparent)]
    Rules(#[from] DeRulesError),
    #[error(transparent)]
    Social(#[from] SocialError),
    #[error(
        "tokencomp implements the German wage-tax programme from 2025 (the PAP editions 2025 and 2026); {year} used an earlier programme"
    )]
    NoEdition { year: i16 },
    #[error("church tax needs the Land of the place of work (8% in BW and BY, 9% elsewhere)")]
    ChurchWithoutLand,
}

/// The amounts of one payment, EUR (cents), before they become tax lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeAmounts {
    pub wage_tax: Decimal,
    pub solidarity: Decimal,
    /// The church-tax base (BKS) and the church tax on it.
    pub church_base: Decimal,
    pub church_rate: Decimal,
    pub church: Decimal,
    pub social: Contributions,
}

fn cents(eur: Decimal) -> Decimal {
    pap::down(eur * Decimal::ONE_HUNDRED, 0)
}

fn eur(cents: Decimal) -> Decimal {
    let mut e = cents / Decimal::ONE_HUNDRED;
    e.rescale(2);
    e
}

/// The PAP's inputs for `gross` paid as a sonstiger Bezug:
///
/// | PAP | from |
/// |---|---|
/// | LZZ | 2 (month; the regular wage is not computed here, RE4 = 0) |
/// | STKL | `tax_class` |
/// | af, f | `factor` (class IV with factor); none: af = 0 |
/// | ZKF | `child_allowances` in classes I–IV, 0 in V and VI (the PAP counts them only there) |
/// | R | `church` |
/// | SONSTB | the payment, cents |
/// | JRE4 | [`DeCase::expected_annual_wage`], cents |
/// | JFREIB | `allowance` (the annual ELStAM allowance), cents |
/// | KRV | 0 if `pension_insured`, else 1 |
/// | ALV (2026) | 0 if `unemployment_insured`, else 1 |
/// | KVZ | the statutory fund's additional rate in percent, else the year's average |
/// | PKV | 0 statutory; private: 2 with an employer subsidy, 1 without (2025) |
/// | PKPV, PKPVAGZ | the private monthly premium and the employer's monthly subsidy, cents |
/// | PVS | 1 when `land` is SN |
/// | PVZ, PVA | parenthood not proven or no child: PVZ = 1; else PVA = children − 1, at most 4 |
///
/// Not used (0): RE4, LZZFREIB, LZZHINZU, JHINZU, JRE4ENT, SONSTENT, MBV and the pension-payment
/// and old-age inputs.
pub fn pap_input(year: &DeYear, case: &DeCase, gross: Decimal) -> PapInput {
    let p = &case.profile;
    let mut i = PapInput::new(Lzz::Month, p.tax_class);
    i.f = p.factor;
    i.zkf = if p.tax_class <= 4 { p.child_allowances } else { Decimal::ZERO };
    i.r = p.church;
    i.sonstb = cents(gross);
    i.jre4 = cents(case.expected_annual_wage);
    i.jfreib = cents(p.allowance);
    i.krv_exempt = !p.pension_insured;
    i.alv_exempt = !p.unemployment_insured;
    match &p.health {
        Health::Statutory { additional_rate } => {
            let rate = additional_rate.unwrap_or(year.vorsorge.average_health_additional_rate);
            i.kvz = rate * Decimal::ONE_HUNDRED;
            i.pkv = Pkv::Statutory;
        }
        Health::Private { monthly_premium } => {
            i.pkpv = cents(*monthly_premium);
            let subsidy = case.private_subsidy_monthly;
            match year.edition {
                Edition::Pap2025 => {
                    i.pkv = if subsidy.is_zero() { Pkv::PrivateWithoutSubsidy } else { Pkv::PrivateWithSubsidy };
                }
                Edition::Pap2026 => {
                    i.pkv = Pkv::PrivateWithoutSubsidy;
                    i.pkpvagz = cents(subsidy);
                }
            }
        }
    }
    i.pvs = p.land.as_deref() == Some("SN");
    match p.care_children {
        None | Some(0) => i.pvz = true,
        Some(k) => i.pva = Decimal::from(k.saturating_sub(1).min(4)),
    }
    i
}

/// Wage tax, solidarity surcharge, church tax and the employee's contributions on `gross`
/// paid on `date`; `year_to_date` stands in for the liable pay when the case gives none.
pub fn amounts(
    rules: &DeRules,
    case: &DeCase,
    date: Date,
    year_to_date: Decimal,
    gross: Decimal,
) -> Result<(DeYear, DeAmounts), DeError> {
    let year = rules.year(date.year())?;
    if case.profile.church && case.profile.land.is_none() {
        return Err(DeError::ChurchWithoutLand);
    }
    let out: PapOutput = pap::run(&year, &pap_input(&year, case, gross));
    let church_base = eur(out.bks);
    let church_rate = match &case.profile.land {
        Some(land) if case.profile.church => year.church.rate_for(land),
        _ => Decimal::ZERO,
    };
    // Church tax: the base times the Land's rate, fractions of a cent dropped.
    let mut church = pap::down(church_base * church_rate, 2);
    church.rescale(2);
    let social_input = SocialInput {
        date,
        employed_from: case.employed_from,
        liable_pension_to_date: case.liable_pension_to_date.unwrap_or(year_to_date),
        liable_health_to_date: case.liable_health_to_date.unwrap_or(year_to_date),
        gross,
        previous: previous_year(rules, case, date),
    };
    let social = social::contributions(&year.social, &case.profile, &social_input)?;
    let amounts =
        DeAmounts { wage_tax: eur(out.sts), solidarity: eur(out.solzs), church_base, church_rate, church, social };
    Ok((year, amounts))
}

/// The previous year for the March clause, when the case knows its assessed pay and the rules
/// ship its constants (only asked for payments from January to March).
fn previous_year(rules: &DeRules, case: &DeCase, date: Date) -> Option<social::PreviousYear> {
    let liable = case.previous_year_liable.filter(|_| date.month() <= 3)?;
    let year = rules.year(date.year() - 1).ok()?;
    Some(social::PreviousYear {
        social: year.social.clone(),
        employed_from: case.previous_employed_from,
        liable_pension: liable,
        liable_health: liable,
    })
}

/// What a German line is for; `withholding` gives each its `TaxKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeLineKind {
    WageTax,
    Solidarity,
    Church,
    Pension,
    Unemployment,
    Health,
    Care,
}

/// One German deduction, all borne by the employee: `amount` from `base` (EUR).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeLine {
    pub kind: DeLineKind,
    pub base: Decimal,
    /// A fraction. The PAP's lines (wage tax, surcharge) carry the effective rate, amount / base
    /// to six places, for display; their amount is the PAP's. The others' amount is base × rate
    /// rounded at the named point.
    pub rate: Decimal,
    pub amount: Decimal,
    pub source: Source,
}

/// The lines of one payment, in a fixed order: wage tax, solidarity surcharge, church tax, then
/// pension, unemployment, health and care insurance; a zero amount gives no line.
pub fn lines(
    rules: &DeRules,
    case: &DeCase,
    date: Date,
    year_to_date: Decimal,
    gross: Decimal,
) -> Result<Vec<DeLine>, DeError> {
    let (year, a) = amounts(rules, case, date, year_to_date, gross)?;
    let mut lines = Vec::new();
    let effective = |amount: Decimal, base: Decimal| (amount / base).round_dp(6).normalize();
    let mut push = |kind, base: Decimal, rate: Decimal, amount: Decimal, source: &Source| {
        if !amount.is_zero() && !base.is_zero() {
            lines.push(DeLine { kind, base, rate, amount, source: Source::clone(source) });
        }
    };
    if !a.wage_tax.is_zero() {
        push(DeLineKind::WageTax, gross, effective(a.wage_tax, gross), a.wage_tax, &year.wage_tax.source);
        let soli = a.solidarity;
        push(DeLineKind::Solidarity, a.wage_tax, effective(soli, a.wage_tax), soli, &year.solidarity.source);
    }
    push(DeLineKind::Church, a.church_base, a.church_rate, a.church, &year.church.source);
    let s = &year.social.source;
    let branches = [
        (DeLineKind::Pension, &a.social.pension),
        (DeLineKind::Unemployment, &a.social.unemployment),
        (DeLineKind::Health, &a.social.health),
        (DeLineKind::Care, &a.social.care),
    ];
    for (kind, c) in branches {
        if let Some(c) = c {
            push(kind, c.base, c.rate, c.amount, s);
        }
    }
    Ok(lines)
}
