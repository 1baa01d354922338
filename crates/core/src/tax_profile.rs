//! What a person's tax authority needs to know about them, per jurisdiction: the US state
//! withholding certificate and where they live and work, the UK tax code, NI category letter and
//! loans, and the German wage-tax characteristics (ELStAM) and social-insurance status.
//!
//! Every field is optional on file; when nothing is on file the default is the one the authority
//! prescribes (named on each `Default`). Each profile reads and writes itself as a flat map of
//! named text fields ([`Fields`]), so the company file, the CSV import, the API and the ledger
//! carry them without knowing each field: adding a field here needs no change in those faces.
//! Validation names the field and says why.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use tokencomp_money::Decimal;

/// A profile written as named text fields (`filing_status = "single"`).
pub type Fields = BTreeMap<String, String>;

/// One field's problem: which field and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError { field: field.to_owned(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A person's profiles; a jurisdiction with nothing on file is `None` and reads as its default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaxProfile {
    pub us: Option<UsProfile>,
    pub uk: Option<UkProfile>,
    pub de: Option<DeProfile>,
}

impl TaxProfile {
    /// The jurisdictions' names as the faces write them (`[people.us]`, `us.filing_status`).
    pub const JURISDICTIONS: [&'static str; 3] = ["us", "uk", "de"];

    pub fn is_empty(&self) -> bool {
        self.us.is_none() && self.uk.is_none() && self.de.is_none()
    }

    /// Sets one jurisdiction's profile from its fields (`jurisdiction` is one of
    /// [`TaxProfile::JURISDICTIONS`]); every problem is returned, none applied.
    pub fn set(&mut self, jurisdiction: &str, fields: &Fields) -> Result<(), Vec<FieldError>> {
        match jurisdiction {
            "us" => self.us = Some(UsProfile::from_fields(fields)?),
            "uk" => self.uk = Some(UkProfile::from_fields(fields)?),
            "de" => self.de = Some(DeProfile::from_fields(fields)?),
            other => return Err(vec![FieldError::new(other, "the tax profiles are us, uk and de")]),
        }
        Ok(())
    }

    /// Each jurisdiction on file with its fields, in [`TaxProfile::JURISDICTIONS`] order.
    pub fn to_fields(&self) -> Vec<(&'static str, Fields)> {
        let mut out = Vec::new();
        if let Some(p) = &self.us {
            out.push(("us", p.to_fields()));
        }
        if let Some(p) = &self.uk {
            out.push(("uk", p.to_fields()));
        }
        if let Some(p) = &self.de {
            out.push(("de", p.to_fields()));
        }
        out
    }
}

/// Reads fields, collecting every problem and refusing names no profile knows.
struct Reader<'f> {
    fields: &'f Fields,
    known: &'static [&'static str],
    errors: Vec<FieldError>,
}

impl<'f> Reader<'f> {
    fn new(fields: &'f Fields, known: &'static [&'static str]) -> Reader<'f> {
        let mut errors = Vec::new();
        for name in fields.keys() {
            if !known.contains(&name.as_str()) {
                errors.push(FieldError::new(name, format!("unknown field; the fields are {}", known.join(", "))));
            }
        }
        Reader { fields, known, errors }
    }

    fn get(&self, name: &str) -> Option<&'f str> {
        debug_assert!(self.known.contains(&name), "{name} is not declared");
        self.fields.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    fn parse<T>(&mut self, name: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let text = self.get(name)?;
        match parse(text) {
            Ok(v) => Some(v),
            Err(why) => {
                self.errors.push(FieldError::new(name, why));
                None
            }
        }
    }

    fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() { Ok(value) } else { Err(self.errors) }
    }
}

fn decimal(text: &str, what: &str) -> Result<Decimal, String> {
    let ok =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') && text.matches('.').count() <= 1;
    if !ok {
        return Err(format!("{text:?} is not {what}"));
    }
    Decimal::from_str(text).map_err(|_| format!("{text:?} is not {what}"))
}

fn percent(text: &str) -> Result<Decimal, String> {
    let what = "a percent such as \"2.5%\"";
    let number = text.strip_suffix('%').ok_or_else(|| format!("{text:?} is not {what}"))?;
    let p = decimal(number, what)?;
    if p > Decimal::ONE_HUNDRED {
        return Err(format!("{text:?} is above 100%"));
    }
    Ok((p / Decimal::ONE_HUNDRED).normalize())
}

fn yes_no(text: &str) -> Result<bool, String> {
    match text {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(format!("{text:?} is not yes or no")),
    }
}

fn state_code(text: &str) -> Result<String, String> {
    if text.len() == 2 && text.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(text.to_owned())
    } else {
        Err(format!("{text:?} is not a two-letter postal code such as \"NJ\""))
    }
}

fn put(out: &mut Fields, name: &str, value: impl ToString) {
    out.insert(name.to_owned(), value.to_string());
}

fn percent_text(rate: Decimal) -> String {
    format!("{}%", (rate * Decimal::ONE_HUNDRED).normalize())
}

// ------------------------------------------------------------------------------------------
// United States

/// Filing status as state certificates name it (each state maps it to its own tables).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FilingStatus {
    Single,
    MarriedJoint,
    MarriedSeparate,
    HeadOfHousehold,
}

impl FilingStatus {
    pub const ALL: [FilingStatus; 4] = [
        FilingStatus::Single,
        FilingStatus::MarriedJoint,
        FilingStatus::MarriedSeparate,
        FilingStatus::HeadOfHousehold,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FilingStatus::Single => "single",
            FilingStatus::MarriedJoint => "married_joint",
            FilingStatus::MarriedSeparate => "married_separate",
            FilingStatus::HeadOfHousehold => "head_of_household",
        }
    }

    pub fn from_name(name: &str) -> Option<FilingStatus> {
        FilingStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A US employee's state withholding certificate and residence. The work state stays the
/// person's `region`; withholding follows it.
///
/// Default (nothing on file): resident of the work state, no locality, and the state's own
/// default for a missing certificate, which most states set as single with zero allowances
/// (the state rule applying it says which).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsProfile {
    /// State of residence when it differs from the work state (two-letter code).
    pub residence: Option<String>,
    /// A local income-tax jurisdiction: `NYC`, `YONKERS`, … (upper case).
    pub locality: Option<String>,
    pub filing_status: Option<FilingStatus>,
    /// Allowances (or exemptions) claimed on the state certificate.
    pub allowances: Option<u32>,
    /// Dependents' or credits' amount where the state certificate asks for a dollar figure.
    pub dependents_amount: Option<Decimal>,
    /// Extra withholding per pay period requested on the certificate.
    pub additional: Option<Decimal>,
    /// A percentage of gross the employee elected (Arizona Form A-4).
    pub elected_rate: Option<Decimal>,
    /// The certificate claims exemption from state withholding.
    pub exempt: bool,
}

impl UsProfile {
    pub const FIELDS: &'static [&'static str] = &[
        "residence",
        "locality",
        "filing_status",
        "allowances",
        "dependents_amount",
        "additional",
        "elected_rate",
        "exempt",
    ];

    pub fn from_fields(fields: &Fields) -> Result<UsProfile, Vec<FieldError>> {
        let mut r = Reader::new(fields, Self::FIELDS);
        let residence = r.parse("residence", state_code);
        let locality = r.parse("locality", |t| {
            if !t.is_empty() && t.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
                Ok(t.to_owned())
            } else {
                Err(format!("{t:?} is not a locality name in capitals such as \"NYC\" or \"YONKERS\""))
            }
        });
        let filing_status = r.parse("filing_status", |t| {
            FilingStatus::from_name(t).ok_or_else(|| {
                let names: Vec<_> = FilingStatus::ALL.iter().map(|s| s.as_str()).collect();
                format!("{t:?} is not a filing status; use one of {}", names.join(", "))
            })
        });
        let allowances = r.parse("allowances", |t| {
            t.parse::<u32>().map_err(|_| format!("{t:?} is not a whole number of allowances"))
        });
        let dependents_amount = r.parse("dependents_amount", |t| decimal(t, "an amount such as \"500\""));
        let additional = r.parse("additional", |t| decimal(t, "an amount such as \"25.00\""));
        let elected_rate = r.parse("elected_rate", percent);
        let exempt = r.parse("exempt", yes_no).unwrap_or(false);
        r.finish(UsProfile {
            residence,
            locality,
            filing_status,
            allowances,
            dependents_amount,
            additional,
            elected_rate,
            exempt,
        })
    }

    pub fn to_fields(&self) -> Fields {
        let mut out = Fields::new();
        if let Some(v) = &self.residence {
            put(&mut out, "residence", v);
        }
        if let Some(v) = &self.locality {
            put(&mut out, "locality", v);
        }
        if let Some(v) = self.filing_status {
            put(&mut out, "filing_status", v.as_str());
        }
        if let Some(v) = self.allowances {
            put(&mut out, "allowances", v);
        }
        if let Some(v) = self.dependents_amount {
            put(&mut out, "dependents_amount", v);
        }
        if let Some(v) = self.additional {
            put(&mut out, "additional", v);
        }
        if let Some(v) = self.elected_rate {
            put(&mut out, "elected_rate", percent_text(v));
        }
        if self.exempt {
            put(&mut out, "exempt", "yes");
        }
        out
    }
}

// ------------------------------------------------------------------------------------------
// United Kingdom

/// Which income-tax rates a tax code selects: its `S` (Scotland) or `C` (Wales) prefix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UkRegion {
    /// England and Northern Ireland (no prefix).
    #[default]
    RestOfUk,
    Scotland,
    Wales,
}

/// The part of a tax code after the prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CodeKind {
    /// A tax-free allowance of `number × 10` a year with a suffix letter (`1257L`, `0T`).
    Allowance { number: u32, suffix: char },
    /// `K` codes: `number × 10` added to taxable pay a year.
    K { number: u32 },
    /// All pay at the basic rate.
    BasicRate,
    /// All pay at one higher band: `D0`, `D1`, … (Scotland has more bands than the rest).
    Band(u8),
    /// No tax.
    NoTax,
}

/// A UK PAYE tax code, as HMRC issues it (`1257L`, `S1257L`, `C0T M1`, `K475`, `BR`, `SD2`,
/// `NT`). `non_cumulative` is the week-1/month-1 basis (`W1`, `M1` or `X`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaxCode {
    pub region: UkRegion,
    pub kind: CodeKind,
    pub non_cumulative: bool,
}

impl Default for TaxCode {
    /// HMRC's code when an employee gives no P45 and no starter checklist: 0T on a
    /// week-1/month-1 basis (HMRC, PAYE starter checklist guidance for employers).
    fn default() -> TaxCode {
        TaxCode {
            region: UkRegion::RestOfUk,
            kind: CodeKind::Allowance { number: 0, suffix: 'T' },
            non_cumulative: true,
        }
    }
}

impl FromStr for TaxCode {
    type Err = String;

    fn from_str(text: &str) -> Result<TaxCode, String> {
        let upper = text.trim().to_ascii_uppercase();
        let bad = || {
            format!(
                "{text:?} is not a tax code: an optional S or C prefix, then digits and a suffix letter L, M, N or T \
                 (1257L), K and digits (K475), BR, D0, D1 (Scotland D0 to D3), 0T or NT, optionally followed by W1, M1 or X"
            )
        };
        let mut words = upper.split_whitespace();
        let code = words.next().ok_or_else(bad)?;
        let (code, mut non_cumulative) = match code.strip_suffix("W1").or_else(|| code.strip_suffix("M1")) {
            Some(c) if c.len() > 1 => (c.trim_end_matches('/'), true),
            _ => match code.strip_suffix('X') {
                Some(c) if !c.is_empty() && !c.ends_with('/') => (c, true),
                _ => (code, false),
            },
        };
        for word in words {
            match word {
                "W1" | "M1" | "X" | "W1/M1" => non_cumulative = true,
                _ => return Err(bad()),
            }
        }
        let (region, rest) = if let Some(r) = code.strip_prefix('S') {
            (UkRegion::Scotland, r)
        } else if let Some(r) = code.strip_prefix('C') {
            (UkRegion::Wales, r)
        } else {
            (UkRegion::RestOfUk, code)
        };
        let digits = |s: &str| !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit());
        let kind = if rest == "BR" {
            CodeKind::BasicRate
        } else if rest == "NT" {
            CodeKind::NoTax
        } else if let Some(n) = rest.strip_prefix('D') {
            let band: u8 = n.parse().map_err(|_| bad())?;
            let max = if region == UkRegion::Scotland { 3 } else { 1 };
            if n.len() != 1 || band > max {
                return Err(format!("{text:?}: D{n} is not a band of this code's rates (D0 to D{max})"));
            }
            CodeKind::Band(band)
        } else if let Some(n) = rest.strip_prefix('K') {
            if !digits(n) {
                return Err(bad());
            }
            CodeKind::K { number: n.parse().map_err(|_| bad())? }
        } else {
            let suffix = rest.chars().last().ok_or_else(bad)?;
            // By characters, not bytes: the last one may be any letter a person types.
            let n = &rest[..rest.len() - suffix.len_utf8()];
            if !matches!(suffix, 'L' | 'M' | 'N' | 'T') || !digits(n) {
                return Err(bad());
            }
            CodeKind::Allowance { number: n.parse().map_err(|_| bad())?, suffix }
        };
        Ok(TaxCode { region, kind, non_cumulative })
    }
}

impl fmt::Display for TaxCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.region {
            UkRegion::RestOfUk => {}
            UkRegion::Scotland => f.write_str("S")?,
            UkRegion::Wales => f.write_str("C")?,
        }
        match self.kind {
            CodeKind::Allowance { number, suffix } => write!(f, "{number}{suffix}")?,
            CodeKind::K { number } => write!(f, "K{number}")?,
            CodeKind::BasicRate => f.write_str("BR")?,
            CodeKind::Band(n) => write!(f, "D{n}")?,
            CodeKind::NoTax => f.write_str("NT")?,
        }
        if self.non_cumulative {
            f.write_str(" M1")?;
        }
        Ok(())
    }
}

/// Student and postgraduate loan plans whose repayments the employer deducts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LoanPlan {
    Plan1,
    Plan2,
    Plan4,
    Plan5,
    Postgraduate,
}

impl LoanPlan {
    pub const ALL: [LoanPlan; 5] =
        [LoanPlan::Plan1, LoanPlan::Plan2, LoanPlan::Plan4, LoanPlan::Plan5, LoanPlan::Postgraduate];

    pub fn as_str(self) -> &'static str {
        match self {
            LoanPlan::Plan1 => "plan1",
            LoanPlan::Plan2 => "plan2",
            LoanPlan::Plan4 => "plan4",
            LoanPlan::Plan5 => "plan5",
            LoanPlan::Postgraduate => "postgraduate",
        }
    }

    pub fn from_name(name: &str) -> Option<LoanPlan> {
        LoanPlan::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// A UK employee's PAYE and NICs data.
///
/// Default (nothing on file): tax code 0T week-1/month-1 (see [`TaxCode::default`]), NI
/// category A (the standard category for an employee with no other letter), no loans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UkProfile {
    pub tax_code: TaxCode,
    /// NI category letter (`A`, `B`, `C`, `H`, `J`, `M`, `V`, `X`, `Z`, …).
    pub ni_category: char,
    /// The loan plans to deduct, in [`LoanPlan::ALL`] order, no repeats.
    pub loans: Vec<LoanPlan>,
}

impl Default for UkProfile {
    fn default() -> UkProfile {
        UkProfile { tax_code: TaxCode::default(), ni_category: 'A', loans: Vec::new() }
    }
}

impl UkProfile {
    pub const FIELDS: &'static [&'static str] = &["tax_code", "ni_category", "loans"];

    /// The NI category letters HMRC defines for employees (RTI data item; letters of the
    /// freeport and investment-zone categories included).
    pub const NI_CATEGORIES: &'static str = "ABCFHIJLMNSVXZ";

    pub fn from_fields(fields: &Fields) -> Result<UkProfile, Vec<FieldError>> {
        let mut r = Reader::new(fields, Self::FIELDS);
        let tax_code = r.parse("tax_code", TaxCode::from_str).unwrap_or_default();
        let ni_category = r
            .parse("ni_category", |t| {
                let c = t.chars().next().filter(|c| t.len() == 1 && Self::NI_CATEGORIES.contains(*c));
                c.ok_or_else(|| format!("{t:?} is not an NI category letter ({})", Self::NI_CATEGORIES))
            })
            .unwrap_or('A');
        let loans = r
            .parse("loans", |t| {
                let mut plans = Vec::new();
                for name in t.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let plan = LoanPlan::from_name(name).ok_or_else(|| {
                        let names: Vec<_> = LoanPlan::ALL.iter().map(|p| p.as_str()).collect();
                        format!("{name:?} is not a loan plan; use {} separated by commas", names.join(", "))
                    })?;
                    if plans.contains(&plan) {
                        return Err(format!("{name} is listed twice"));
                    }
                    plans.push(plan);
                }
                plans.sort();
                Ok(plans)
            })
            .unwrap_or_default();
        r.finish(UkProfile { tax_code, ni_category, loans })
    }

    pub fn to_fields(&self) -> Fields {
        let mut out = Fields::new();
        put(&mut out, "tax_code", self.tax_code);
        put(&mut out, "ni_category", self.ni_category);
        if !self.loans.is_empty() {
            let names: Vec<_> = self.loans.iter().map(|p| p.as_str()).collect();
            put(&mut out, "loans", names.join(","));
        }
        out
    }
}

// ------------------------------------------------------------------------------------------
// Germany

/// The 16 Länder by their usual two-letter abbreviations.
pub const LAENDER: [&str; 16] =
    ["BW", "BY", "BE", "BB", "HB", "HH", "HE", "MV", "NI", "NW", "RP", "SL", "SN", "ST", "SH", "TH"];

/// Health insurance: statutory (GKV) with the fund's additional contribution rate, or private
/// (PKV) with the monthly basic premium the employee reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    Statutory { additional_rate: Option<Decimal> },
    Private { monthly_premium: Decimal },
}

/// A German employee's wage-tax characteristics (ELStAM) and social-insurance status.
///
/// Default (nothing on file): tax class VI, which the employer must apply while it cannot
/// retrieve the employee's ELStAM (§39c(1) EStG); no child allowances; no church tax; statutory
/// health insurance at the year's average additional rate; pension and unemployment insured;
/// the long-term-care surcharge for the childless applies until parenthood is proven
/// (§55(3) SGB XI).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeProfile {
    /// Steuerklasse 1 to 6.
    pub tax_class: u8,
    /// The factor of class IV with factor (0.001 to 0.999), §39f EStG.
    pub factor: Option<Decimal>,
    /// Kinderfreibeträge, in steps of 0.5.
    pub child_allowances: Decimal,
    /// Member of a church that levies church tax through the employer.
    pub church: bool,
    /// Land of the place of work (church-tax rate, Saxony's care-insurance split).
    pub land: Option<String>,
    pub health: Health,
    pub pension_insured: bool,
    pub unemployment_insured: bool,
    /// Children counted for long-term care insurance; `None` = parenthood not proven.
    pub care_children: Option<u8>,
    /// Annual tax-free amount on the ELStAM (Freibetrag).
    pub allowance: Decimal,
}

impl Default for DeProfile {
    fn default() -> DeProfile {
        DeProfile {
            tax_class: 6,
            factor: None,
            child_allowances: Decimal::ZERO,
            church: false,
            land: None,
            health: Health::Statutory { additional_rate: None },
            pension_insured: true,
            unemployment_insured: true,
            care_children: None,
            allowance: Decimal::ZERO,
        }
    }
}

impl DeProfile {
    pub const FIELDS: &'static [&'static str] = &[
        "tax_class",
        "factor",
        "child_allowances",
        "church",
        "land",
        "health",
        "health_additional_rate",
        "private_premium",
        "pension_insured",
        "unemployment_insured",
        "care_children",
        "allowance",
    ];

    pub fn from_fields(fields: &Fields) -> Result<DeProfile, Vec<FieldError>> {
        let d = DeProfile::default();
        let mut r = Reader::new(fields, Self::FIELDS);
        let tax_class = r
            .parse("tax_class", |t| match t {
                "1" | "2" | "3" | "4" | "5" | "6" => Ok(t.as_bytes()[0] - b'0'),
                _ => Err(format!("{t:?} is not a tax class 1 to 6")),
            })
            .unwrap_or(d.tax_class);
        let factor = r.parse("factor", |t| {
            let f = decimal(t, "a factor such as \"0.915\"")?;
            if f <= Decimal::ZERO || f >= Decimal::ONE || f.scale() > 3 {
                return Err(format!("{t:?} is not a factor from 0.001 to 0.999"));
            }
            Ok(f)
        });
        if factor.is_some() && tax_class != 4 {
            r.errors.push(FieldError::new("factor", "a factor belongs to tax class 4 only"));
        }
        let child_allowances = r
            .parse("child_allowances", |t| {
                let n = decimal(t, "a number of child allowances such as \"1.5\"")?;
                // The bound first: a number near Decimal's range would overflow when doubled.
                if n > Decimal::from(99) || (n * Decimal::TWO).fract() != Decimal::ZERO {
                    return Err(format!("{t:?} is not a number of child allowances in steps of 0.5"));
                }
                Ok(n)
            })
            .unwrap_or(d.child_allowances);
        let church = r.parse("church", yes_no).unwrap_or(d.church);
        let land = r.parse("land", |t| {
            if LAENDER.contains(&t) {
                Ok(t.to_owned())
            } else {
                Err(format!("{t:?} is not a Land; use one of {}", LAENDER.join(", ")))
            }
        });
        if church && land.is_none() && !fields.contains_key("land") {
            r.errors
                .push(FieldError::new("land", "church tax needs the Land of the place of work (its rate is 8% or 9%)"));
        }
        let kind = r.parse("health", |t| match t {
            "statutory" | "private" => Ok(t.to_owned()),
            _ => Err(format!("{t:?} is not statutory or private")),
        });
        let additional_rate = r.parse("health_additional_rate", percent);
        let premium = r.parse("private_premium", |t| decimal(t, "a monthly amount such as \"450.00\""));
        let health = match kind.as_deref() {
            Some("private") => {
                if premium.is_none() {
                    r.errors.push(FieldError::new(
                        "private_premium",
                        "private health insurance needs the monthly basic premium",
                    ));
                }
                Health::Private { monthly_premium: premium.unwrap_or_default() }
            }
            _ => {
                if premium.is_some() {
                    r.errors
                        .push(FieldError::new("private_premium", "a premium belongs to private health insurance only"));
                }
                Health::Statutory { additional_rate }
            }
        };
        let pension_insured = r.parse("pension_insured", yes_no).unwrap_or(d.pension_insured);
        let unemployment_insured = r.parse("unemployment_insured", yes_no).unwrap_or(d.unemployment_insured);
        let care_children =
            r.parse("care_children", |t| t.parse::<u8>().map_err(|_| format!("{t:?} is not a number of children")));
        let allowance =
            r.parse("allowance", |t| decimal(t, "an annual amount such as \"1200\"")).unwrap_or(d.allowance);
        r.finish(DeProfile {
            tax_class,
            factor,
            child_allowances,
            church,
            land,
            health,
            pension_insured,
            unemployment_insured,
            care_children,
            allowance,
        })
    }

    pub fn to_fields(&self) -> Fields {
        let mut out = Fields::new();
        put(&mut out, "tax_class", self.tax_class);
        if let Some(v) = self.factor {
            put(&mut out, "factor", v);
        }
        if self.child_allowances != Decimal::ZERO {
            put(&mut out, "child_allowances", self.child_allowances.normalize());
        }
        if self.church {
            put(&mut out, "church", "yes");
        }
        if let Some(v) = &self.land {
            put(&mut out, "land", v);
        }
        match &self.health {
            Health::Statutory { additional_rate } => {
                put(&mut out, "health", "statutory");
                if let Some(r) = additional_rate {
                    put(&mut out, "health_additional_rate", percent_text(*r));
                }
            }
            Health::Private { monthly_premium } => {
                put(&mut out, "health", "private");
                put(&mut out, "private_premium", monthly_premium);
            }
        }
        if !self.pension_insured {
            put(&mut out, "pension_insured", "no");
        }
        if !self.unemployment_insured {
            put(&mut out, "unemployment_insured", "no");
        }
        if let Some(n) = self.care_children {
            put(&mut out, "care_children", n);
        }
        if self.allowance != Decimal::ZERO {
            put(&mut out, "allowance", self.allowance);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// Regression (found by Schemathesis through `PUT /api/people/{person}/tax`): a code ending in
    /// a character wider than one byte was cut inside it, and the server's task panicked.
    #[test]
    fn a_code_ending_in_a_wide_character_is_refused_not_cut() {
        for text in ["\u{80}", "1257\u{e9}", "S\u{20ac}", "K12\u{1f600}"] {
            let e = text.parse::<TaxCode>().expect_err(text);
            assert!(e.contains("is not a tax code"), "{text}: {e}");
        }
    }

    #[test]
    fn tax_codes_read_as_hmrc_writes_them() {
        let c: TaxCode = "S1257L".parse().expect("code");
        assert_eq!(
            c,
            TaxCode {
                region: UkRegion::Scotland,
                kind: CodeKind::Allowance { number: 1257, suffix: 'L' },
                non_cumulative: false
            }
        );
        let c: TaxCode = "C0T M1".parse().expect("code");
        assert_eq!(
            (c.region, c.kind, c.non_cumulative),
            (UkRegion::Wales, CodeKind::Allowance { number: 0, suffix: 'T' }, true)
        );
        assert!("1257LX".parse::<TaxCode>().expect("code").non_cumulative);
        assert_eq!("K475".parse::<TaxCode>().expect("code").kind, CodeKind::K { number: 475 });
        assert_eq!("SD3".parse::<TaxCode>().expect("code").kind, CodeKind::Band(3));
        assert!("D3".parse::<TaxCode>().is_err(), "the rest of the UK has D0 and D1 only");
        assert_eq!("BR".parse::<TaxCode>().expect("code").kind, CodeKind::BasicRate);
        assert_eq!("NT".parse::<TaxCode>().expect("code").kind, CodeKind::NoTax);
        // Unicode included: the suffix was once cut by bytes, and a fuzzer's `1257é` panicked.
        for bad in ["", "1257", "L", "1257Q", "SK", "12 57L", "1257L W2", "1257é", "é", "Sé", "K1é", "D€"] {
            assert!(bad.parse::<TaxCode>().is_err(), "{bad:?}");
        }
        for text in ["S1257L", "C0T M1", "K475", "SD2", "BR", "NT"] {
            assert_eq!(text.parse::<TaxCode>().expect("code").to_string(), text);
        }
    }

    #[test]
    fn every_problem_is_named_and_round_trips_hold() {
        let err = UkProfile::from_fields(&fields(&[("tax_code", "12X7"), ("ni_category", "Q"), ("loan", "plan2")]))
            .expect_err("three problems");
        let named: Vec<_> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["loan", "tax_code", "ni_category"]);
        let uk =
            UkProfile::from_fields(&fields(&[("tax_code", "S1257L"), ("loans", "postgraduate, plan2")])).expect("uk");
        assert_eq!(uk.loans, [LoanPlan::Plan2, LoanPlan::Postgraduate]);
        assert_eq!(UkProfile::from_fields(&uk.to_fields()).expect("again"), uk);
        let de = DeProfile::from_fields(&fields(&[
            ("tax_class", "4"),
            ("factor", "0.915"),
            ("church", "yes"),
            ("land", "BY"),
            ("health_additional_rate", "2.5%"),
        ]))
        .expect("de");
        assert_eq!(DeProfile::from_fields(&de.to_fields()).expect("again"), de);
        let err = DeProfile::from_fields(&fields(&[("tax_class", "3"), ("factor", "0.9"), ("church", "yes")]))
            .expect_err("two");
        let named: Vec<_> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["factor", "land"]);
        let us = UsProfile::from_fields(&fields(&[
            ("residence", "NJ"),
            ("filing_status", "married_joint"),
            ("elected_rate", "2.5%"),
        ]))
        .expect("us");
        assert_eq!(UsProfile::from_fields(&us.to_fields()).expect("again"), us);
        assert_eq!(DeProfile::default().tax_class, 6);
        // A number at the edge of Decimal's range is refused, not overflowed (an API fuzzer found
        // the doubling of the child allowances panicking).
        for huge in ["9999999999999999999999999999", "79228162514264337593543950335"] {
            let err = DeProfile::from_fields(&fields(&[("child_allowances", huge)])).expect_err("too many");
            assert_eq!(err[0].field, "child_allowances");
            for f in ["allowance", "health_additional_rate", "private_premium", "factor"] {
                let v = if f == "health_additional_rate" { format!("{huge}%") } else { huge.to_owned() };
                let _ = DeProfile::from_fields(&fields(&[(f, &v), ("health", "private")]));
            }
            let _ = UsProfile::from_fields(&fields(&[
                ("dependents_amount", huge),
                ("additional", huge),
                ("elected_rate", "100%"),
            ]));
        }
        assert_eq!(UkProfile::default().tax_code.to_string(), "0T M1");
    }
}
