//! One year of German constants, read from `rules/de.toml` (`[de.<year>.…]`) into typed tables
//! with [`tokencomp_formats::rule_node::At`]: the income-tax tariff, the wage-tax allowances, the
//! Vorsorgepauschale's social-insurance figures, the solidarity surcharge, the church-tax rates
//! and the social-insurance ceilings and rates for one-off payments. A year with any constant
//! missing or invalid is refused with every problem's dotted path; nothing is filled in.

use std::collections::BTreeMap;

use tokencomp_core::tax_profile::LAENDER;
use tokencomp_formats::de_rules::DeRulesFile;
use tokencomp_formats::rule_node::{At, ProblemKind, Problems};
use tokencomp_money::Decimal;

use crate::source::Source;

/// Which edition of the PAP's structure a year follows. The constants are data; what the
/// programme does with them changed in 2026 (the Vorsorgepauschale of the Jahressteuergesetz
/// 2022 with the unemployment-insurance part, and class V/VI tariff steps in whole euros).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edition {
    /// PAP 2025 (BMF letter of 22 January 2025): UPEVP with the partial amount VSP2 (12% of
    /// wages, capped at 1,900 / 3,000 euros) and UP5_6 rounding X to cents.
    Pap2025,
    /// PAP 2026 (BMF letter of 12 November 2025): UPEVP with MVSPKVPV and MVSPHB and UP5_6
    /// rounding X to whole euros.
    Pap2026,
}

impl Edition {
    /// The edition whose structure governs `year`: 2025 follows PAP 2025, 2026 and later PAP
    /// 2026 (a later year's constants can be added as data; a later programme that changes the
    /// structure needs code). Before 2025 the programme differed (the Fünftelregelung of
    /// §39b (3) S. 9 EStG until 2024), so no edition: `None`.
    pub fn for_year(year: i16) -> Option<Edition> {
        match year {
            ..=2024 => None,
            2025 => Some(Edition::Pap2025),
            _ => Some(Edition::Pap2026),
        }
    }
}

/// §32a (1) EStG: the five zones of the income-tax tariff (PAP method UPTAB).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tariff {
    /// Grundfreibetrag (GFB).
    pub basic_allowance: Decimal,
    pub zone2_coefficient: Decimal,
    pub zone2_base_rate: Decimal,
    pub zone3_from: Decimal,
    pub zone3_coefficient: Decimal,
    pub zone3_base_rate: Decimal,
    pub zone3_constant: Decimal,
    pub zone4_from: Decimal,
    pub zone4_rate: Decimal,
    pub zone4_deduction: Decimal,
    pub zone5_from: Decimal,
    pub zone5_rate: Decimal,
    pub zone5_deduction: Decimal,
    pub source: Source,
}

/// The allowances worked into the wage-tax table and the class V/VI limits (§39b (2) S. 7 EStG).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WageTax {
    /// W1STKL5, W2STKL5, W3STKL5.
    pub class5_limit1: Decimal,
    pub class5_limit2: Decimal,
    pub class5_limit3: Decimal,
    /// The minimum rate of classes V and VI (MIST).
    pub class5_minimum_rate: Decimal,
    /// Arbeitnehmer-Pauschbetrag (ANP), §9a S. 1 Nr. 1a EStG.
    pub employee_allowance: Decimal,
    /// Sonderausgaben-Pauschbetrag (SAP), §10c EStG.
    pub special_expenses_allowance: Decimal,
    /// Entlastungsbetrag für Alleinerziehende (EFA), §24b EStG, class II.
    pub single_parent_relief: Decimal,
    /// Child allowances per child in classes I–III (KFB per ZKF 1).
    pub child_allowance: Decimal,
    /// Per child in class IV.
    pub child_allowance_class4: Decimal,
    pub source: Source,
}

/// The Vorsorgepauschale's figures (PAP MPARA and UPEVP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vorsorge {
    /// BBGRV (2025) / BBGRVALV (2026), annual.
    pub pension_ceiling: Decimal,
    /// RVSATZAN.
    pub pension_rate: Decimal,
    /// BBGKVPV, annual.
    pub health_ceiling: Decimal,
    /// The employee's half of the reduced health rate (the 0.07 in KVSATZAN).
    pub health_rate: Decimal,
    /// The year's average additional health rate: the default KVZ, and (2025) the employer's
    /// share for a privately insured employee with an employer subsidy.
    pub average_health_additional_rate: Decimal,
    /// PVSATZAN outside Saxony, and Saxony's.
    pub care_rate: Decimal,
    pub care_rate_saxony: Decimal,
    /// Added to PVSATZAN when PVZ = 1.
    pub care_childless_surcharge: Decimal,
    /// Subtracted from PVSATZAN per PVA.
    pub care_child_reduction: Decimal,
    /// 1,900 euros: the cap of VSP2 (2025) and of VSPHB (2026).
    pub partial_cap: Decimal,
    pub edition: VorsorgeEdition,
    pub source: Source,
}

/// The figures only one edition uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VorsorgeEdition {
    Pap2025 {
        /// 12%: VSP2 = 12% of wages.
        partial_rate: Decimal,
        /// VHB in class III.
        partial_cap_class3: Decimal,
        /// The employer's care share in Saxony (PVSATZAG with PVS = 1).
        employer_care_rate_saxony: Decimal,
    },
    Pap2026 {
        /// AVSATZAN.
        unemployment_rate: Decimal,
    },
}

/// The solidarity surcharge (§3, §4 SolZG 1995; PAP MSOLZ).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Solidarity {
    pub rate: Decimal,
    /// SOLZFREI: the annual wage tax up to which nothing is levied (doubled in class III).
    pub exemption: Decimal,
    /// The transition zone: at most this share of the wage tax above the exemption.
    pub transition_rate: Decimal,
    pub source: Source,
}

/// Church tax as a share of the assessment base (Maßstabsteuer), by Land.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Church {
    pub rate: Decimal,
    pub by_land: BTreeMap<String, Decimal>,
    pub source: Source,
}

impl Church {
    pub fn rate_for(&self, land: &str) -> Decimal {
        self.by_land.get(land).copied().unwrap_or(self.rate)
    }
}

/// The social-insurance figures for contributions on one-off payments (§23a SGB IV).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Social {
    /// Annual contribution ceiling of pension and unemployment insurance.
    pub pension_ceiling: Decimal,
    /// Annual contribution ceiling of health and long-term care insurance.
    pub health_ceiling: Decimal,
    /// Total rates; the employee bears half (care: see below).
    pub pension_rate: Decimal,
    pub unemployment_rate: Decimal,
    pub health_rate: Decimal,
    pub average_health_additional_rate: Decimal,
    pub care_rate: Decimal,
    /// The employee's care share in Saxony (elsewhere half of `care_rate`).
    pub care_employee_rate_saxony: Decimal,
    pub care_childless_surcharge: Decimal,
    pub care_child_reduction: Decimal,
    pub source: Source,
}

/// Everything one calendar year needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeYear {
    pub year: i16,
    pub edition: Edition,
    pub tariff: Tariff,
    pub wage_tax: WageTax,
    pub vorsorge: Vorsorge,
    pub solidarity: Solidarity,
    pub church: Church,
    pub social: Social,
}

/// A year that cannot be used, with every constant that is missing or invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "no complete German rules for {year}: {}; add them with `tokencomp rules add FILE` (a TOML file in the shape of rules/de.toml)",
    .problems.join(", ")
)]
pub struct DeRulesError {
    pub year: i16,
    /// `"de.2027.tariff.basic_allowance (missing)"`, one per problem.
    pub problems: Vec<String>,
}

/// Reads `year` from `file` under `edition`, or names every problem.
pub fn read_year(file: &DeRulesFile, year: i16, edition: Edition) -> Result<DeYear, DeRulesError> {
    let mut p = Problems::default();
    let root = file.year(year);
    let tariff = read_tariff(&root.child("tariff", &mut p), &mut p);
    let wage_tax = read_wage_tax(&root.child("wage_tax", &mut p), &mut p);
    let vorsorge = read_vorsorge(&root.child("vorsorge", &mut p), edition, &mut p);
    let solidarity = read_solidarity(&root.child("solidarity", &mut p), &mut p);
    let church = read_church(&root.child("church", &mut p), &mut p);
    let social = read_social(&root.child("social", &mut p), &mut p);
    if !p.is_empty() {
        let problems =
            p.0.iter()
                .map(|r| match &r.kind {
                    ProblemKind::Missing => format!("{} (missing)", r.path),
                    ProblemKind::Invalid(why) => format!("{} ({why})", r.path),
                })
                .collect();
        return Err(DeRulesError { year, problems });
    }
    Ok(DeYear { year, edition, tariff, wage_tax, vorsorge, solidarity, church, social })
}

fn source(at: &At<'_>, p: &mut Problems) -> Source {
    Source::from(at.source(p))
}

fn read_tariff(t: &At<'_>, p: &mut Problems) -> Tariff {
    Tariff {
        basic_allowance: t.amount("basic_allowance", p),
        zone2_coefficient: t.amount("zone2_coefficient", p),
        zone2_base_rate: t.amount("zone2_base_rate", p),
        zone3_from: t.amount("zone3_from", p),
        zone3_coefficient: t.amount("zone3_coefficient", p),
        zone3_base_rate: t.amount("zone3_base_rate", p),
        zone3_constant: t.amount("zone3_constant", p),
        zone4_from: t.amount("zone4_from", p),
        zone4_rate: t.percent("zone4_rate", p),
        zone4_deduction: t.amount("zone4_deduction", p),
        zone5_from: t.amount("zone5_from", p),
        zone5_rate: t.percent("zone5_rate", p),
        zone5_deduction: t.amount("zone5_deduction", p),
        source: source(t, p),
    }
}

fn read_wage_tax(t: &At<'_>, p: &mut Problems) -> WageTax {
    WageTax {
        class5_limit1: t.amount("class5_limit1", p),
        class5_limit2: t.amount("class5_limit2", p),
        class5_limit3: t.amount("class5_limit3", p),
        class5_minimum_rate: t.percent("class5_minimum_rate", p),
        employee_allowance: t.amount("employee_allowance", p),
        special_expenses_allowance: t.amount("special_expenses_allowance", p),
        single_parent_relief: t.amount("single_parent_relief", p),
        child_allowance: t.amount("child_allowance", p),
        child_allowance_class4: t.amount("child_allowance_class4", p),
        source: source(t, p),
    }
}

fn read_vorsorge(t: &At<'_>, edition: Edition, p: &mut Problems) -> Vorsorge {
    let edition_figures = match edition {
        Edition::Pap2025 => VorsorgeEdition::Pap2025 {
            partial_rate: t.percent("partial_rate", p),
            partial_cap_class3: t.amount("partial_cap_class3", p),
            employer_care_rate_saxony: t.percent("employer_care_rate_saxony", p),
        },
        Edition::Pap2026 => VorsorgeEdition::Pap2026 { unemployment_rate: t.percent("unemployment_rate", p) },
    };
    Vorsorge {
        pension_ceiling: t.amount("pension_ceiling", p),
        pension_rate: t.percent("pension_rate", p),
        health_ceiling: t.amount("health_ceiling", p),
        health_rate: t.percent("health_rate", p),
        average_health_additional_rate: t.percent("average_health_additional_rate", p),
        care_rate: t.percent("care_rate", p),
        care_rate_saxony: t.percent("care_rate_saxony", p),
        care_childless_surcharge: t.percent("care_childless_surcharge", p),
        care_child_reduction: t.percent("care_child_reduction", p),
        partial_cap: t.amount("partial_cap", p),
        edition: edition_figures,
        source: source(t, p),
    }
}

fn read_solidarity(t: &At<'_>, p: &mut Problems) -> Solidarity {
    Solidarity {
        rate: t.percent("rate", p),
        exemption: t.amount("exemption", p),
        transition_rate: t.percent("transition_rate", p),
        source: source(t, p),
    }
}

fn read_church(t: &At<'_>, p: &mut Problems) -> Church {
    let rate = t.percent("rate", p);
    let by_land = LAENDER
        .iter()
        .filter_map(|land| t.opt_percent(&format!("rate_{land}"), p).map(|r| ((*land).to_owned(), r)))
        .collect();
    Church { rate, by_land, source: source(t, p) }
}

fn read_social(t: &At<'_>, p: &mut Problems) -> Social {
    Social {
        pension_ceiling: t.amount("pension_ceiling", p),
        health_ceiling: t.amount("health_ceiling", p),
        pension_rate: t.percent("pension_rate", p),
        unemployment_rate: t.percent("unemployment_rate", p),
        health_rate: t.percent("health_rate", p),
        average_health_additional_rate: t.percent("average_health_additional_rate", p),
        care_rate: t.percent("care_rate", p),
        care_employee_rate_saxony: t.percent("care_employee_rate_saxony", p),
        care_childless_surcharge: t.percent("care_childless_surcharge", p),
        care_child_reduction: t.percent("care_child_reduction", p),
        source: source(t, p),
    }
}
