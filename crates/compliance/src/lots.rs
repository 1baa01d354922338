//! Tax lots and sales: which acquisitions a disposal is matched with, and the gain of each piece.
//!
//! Three regimes, each the rule its tax authority prescribes:
//! - US: identification per wallet (Rev. Proc. 2024-28, from 2025): FIFO, LIFO, HIFO or specific
//!   lots, drawn only from the sale's wallet and only from lots acquired on or before the sale.
//!   Long term only when sold after the first anniversary of acquisition (IRC §1222). Every year
//!   is matched per wallet: the universal pool tolerated before 2025 is not modelled.
//! - UK: one pool per person across wallets (TCGA 1992 ss104–106A, HMRC CRYPTO22200): same day,
//!   then the 30 days after the disposal, then the section 104 pool at average cost.
//! - DE: FIFO per wallet (BMF letter of 6 March 2025); gains on tokens held more than one year are
//!   tax-free (§23 (1) Nr. 2 EStG), the rest is taxable above the annual exemption limit.
//!
//! The caller passes fiat in the person's tax currency; basis, fees and proceeds are whole cents.
//! Every split is rounded once to the cent (`MONEY_ROUNDING`) and the last piece takes the
//! remainder, so pieces always add up exactly to what was split: no cent of basis or proceeds is
//! created or lost, and no token base unit either.
//!
//! It must never read a clock or do IO, never round a token amount, and never let a sale draw on
//! a lot the rules forbid (another wallet in the US, a later acquisition outside the UK 30-day
//! rule).

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::fmt;

use jiff::ToSpan;
use jiff::civil::Date;
use tokencomp_money::{Decimal, FiatError, MONEY_ROUNDING, Token, TokenAmount, mul_div_floor, token_value};

/// The lot id of UK disposals matched with the section 104 pool, and of the pool left open.
pub const SECTION_104: &str = "section-104";

/// Tokens acquired together: a vest, a purchase. `basis` is the total cost in cents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lot {
    pub id: String,
    pub wallet: String,
    pub acquired: Date,
    pub amount: TokenAmount,
    pub basis: Decimal,
}

/// What the broker reports, which picks the Form 8949 box.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reporting {
    /// No 1099-DA (or 1099-B) was received: box I (short) or L (long).
    NoForm,
    /// Form received with basis reported to the IRS: box G or J.
    BasisReported,
    /// Form received without basis: box H or K.
    BasisNotReported,
}

/// A disposal of `amount` at `price` per whole token; `fee` is the total selling cost in cents
/// and reduces the proceeds (IRS Pub. 544, "amount realized"; 26 CFR 1.1001-7(b)(2)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sale {
    pub id: String,
    pub wallet: String,
    pub date: Date,
    pub amount: TokenAmount,
    pub price: Decimal,
    pub fee: Decimal,
    pub selection: Selection,
    pub reported: Reporting,
}

/// Which lots a US sale draws on. UK and DE match by statute and accept only `Fifo`, which
/// there means "no election".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Earliest acquired first; ties in input order.
    Fifo,
    /// Latest acquired first; ties in reverse input order.
    Lifo,
    /// Highest original basis per token first; ties earliest acquired, then input order.
    Hifo,
    /// Exactly these lots and amounts, which must add up to the sale amount.
    Specific(Vec<(String, TokenAmount)>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Regime {
    Us,
    Uk,
    De,
}

impl fmt::Display for Regime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Regime::Us => "US",
            Regime::Uk => "UK",
            Regime::De => "DE",
        })
    }
}

/// Holding period. The UK has no such distinction: its disposals are `NotApplicable`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Term {
    Short,
    Long,
    NotApplicable,
}

/// The rule that paired a piece of a sale with its lot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchRule {
    Fifo,
    Lifo,
    Hifo,
    Specific,
    /// UK: an acquisition on the day of the disposal (TCGA 1992 s105(1)(b)).
    SameDay,
    /// UK: an acquisition in the 30 days after the disposal (s106A(5)).
    ThirtyDay,
    /// UK: the section 104 pool at average cost (s104).
    Section104,
    /// DE: first in, first out per wallet (BMF 6 March 2025).
    DeFifo,
}

impl MatchRule {
    /// A US identification rule (the person reports on Form 8949).
    pub fn is_us(self) -> bool {
        matches!(self, MatchRule::Fifo | MatchRule::Lifo | MatchRule::Hifo | MatchRule::Specific)
    }
}

/// One piece of a sale: the part matched with one lot (or with the UK pool).
///
/// `acquired` is the lot's date; for a section 104 piece, which has none, it is the sale date.
/// `exempt` is true when the gain is outside tax by holding period (DE, held more than a year).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disposal {
    pub sale: String,
    pub lot: String,
    pub wallet: String,
    pub acquired: Date,
    pub sold: Date,
    pub amount: TokenAmount,
    pub proceeds: Decimal,
    pub basis: Decimal,
    pub gain: Decimal,
    pub term: Term,
    pub rule: MatchRule,
    pub reported: Reporting,
    pub exempt: bool,
}

/// The result of matching: the pieces of every sale, in processing order (sale date, then input
/// order), and what remains of each lot with its remaining basis (US, DE), or the section 104
/// pool as one lot `SECTION_104` with an empty wallet, dated at its last addition (UK).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Book {
    pub disposals: Vec<Disposal>,
    pub open: Vec<Lot>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LotError {
    #[error("lot `{lot}` appears more than once: lot ids must be unique")]
    DuplicateLot { lot: String },
    #[error("sale `{sale}` appears more than once: sale ids must be unique")]
    DuplicateSale { sale: String },
    #[error("lot `{lot}` holds no tokens: a lot must hold a positive amount")]
    EmptyLot { lot: String },
    #[error("sale `{sale}` sells nothing: a sale must have a positive amount")]
    ZeroSale { sale: String },
    #[error("{what} is {value}: it must be whole cents and not negative")]
    BadMoney { what: String, value: Decimal },
    #[error("sale `{sale}` has price {price}: a price cannot be negative")]
    NegativePrice { sale: String, price: Decimal },
    #[error("sale `{sale}` sells {asked} from {wallet} on {date}, which then holds only {held}")]
    Insufficient { sale: String, wallet: String, date: Date, held: String, asked: String },
    #[error("sale `{sale}` names lot `{lot}`, which does not exist")]
    UnknownLot { sale: String, lot: String },
    #[error(
        "sale `{sale}` from wallet `{sale_wallet}` names lot `{lot}` of wallet `{lot_wallet}`: \
         lots are identified per wallet (Rev. Proc. 2024-28)"
    )]
    WrongWallet { sale: String, lot: String, sale_wallet: String, lot_wallet: String },
    #[error("sale `{sale}` on {sold} names lot `{lot}`, which was acquired later, on {acquired}")]
    LotAfterSale { sale: String, lot: String, sold: Date, acquired: Date },
    #[error("sale `{sale}` takes {asked} from lot `{lot}`, which has only {available} left")]
    OverDraw { sale: String, lot: String, available: String, asked: String },
    #[error("sale `{sale}` names lot `{lot}` with a zero amount: list only the lots it draws on")]
    SpecificZero { sale: String, lot: String },
    #[error("sale `{sale}` identifies {listed} in its lots but sells {amount}: the two must be equal")]
    SpecificSum { sale: String, listed: String, amount: String },
    #[error("sale `{sale}` asks for {selection}, but {regime} disposals are matched by statute: use FIFO")]
    SelectionNotAllowed { sale: String, regime: Regime, selection: &'static str },
    #[error("sale `{sale}`: {source}")]
    Money { sale: String, source: FiatError },
    #[error("amounts overflow while matching {what}")]
    Overflow { what: String },
    #[error("{what}: the date is out of range")]
    DateRange { what: String },
}

/// Matches every sale with lots under `regime` and returns the pieces and what stays open.
///
/// Sales are processed in date order (ties: input order). Amounts are checked, never wrapped;
/// basis, fee and proceeds must be whole cents. See the module doc for the rules.
pub fn match_sales(regime: Regime, token: &Token, lots: &[Lot], sales: &[Sale]) -> Result<Book, LotError> {
    let mut state = validate(lots, sales)?;
    let original: Vec<u128> = state.iter().map(|left| left.basis).collect();
    let mut order: Vec<usize> = (0..sales.len()).collect();
    // A stable sort keeps input order among sales of the same day.
    order.sort_by_key(|&i| sales[i].date);
    match regime {
        Regime::Us | Regime::De => match_per_wallet(regime, token, (lots, &original), sales, &order, &mut state),
        Regime::Uk => match_uk(token, lots, sales, &order, &mut state),
    }
}

/// US and DE holding period: long only when sold after the first anniversary of acquisition, so
/// a sale on the anniversary is short term (IRC §1222 "more than 1 year"; §§187–188 BGB). jiff
/// clamps 29 February + 1 year to 28 February, which is the anniversary both rules use.
pub fn holding_term(acquired: Date, sold: Date) -> Result<Term, LotError> {
    let anniversary = acquired
        .checked_add(1.year())
        .map_err(|_| LotError::DateRange { what: format!("anniversary of {acquired}") })?;
    Ok(if sold > anniversary { Term::Long } else { Term::Short })
}

/// The German annual exemption limit (Freigrenze) for private sales, §23 (3) S. 5 EStG: €1,000
/// from 2024 (Wachstumschancengesetz), €600 for 2009–2023; earlier years are not modelled.
pub fn de_exemption_limit(year: i16) -> Decimal {
    const LIMITS: [(i16, i64); 2] = [(2024, 1000), (2009, 600)];
    let euros = LIMITS.iter().find(|(from, _)| year >= *from).map_or(600, |(_, limit)| *limit);
    Decimal::from(euros)
}

/// The year's taxable German private-sale gain from these disposals: the net gain of the DE
/// disposals sold in `year` that are not exempt by holding period, or zero when that net is below
/// the exemption limit. It is a Freigrenze, not an allowance: at or above it, all of it is taxable.
///
/// The limit applies to all §23 sales of the year together; a caller with other private sales
/// must add them before applying it. A net loss gives zero here (its carry is the caller's).
pub fn de_taxable_gain(book: &Book, year: i16) -> Decimal {
    let total = book
        .disposals
        .iter()
        .filter(|d| d.rule == MatchRule::DeFifo && !d.exempt && d.sold.year() == year)
        .fold(Decimal::ZERO, |sum, d| sum.saturating_add(d.gain));
    if total < de_exemption_limit(year) { Decimal::ZERO } else { total }
}

/// Form 8949 lines for the US disposals (FIFO, LIFO, HIFO, specific) sold in `year`, as CSV.
///
/// Columns, in order: `box` (tax years from 2025, digital assets: G/H/I short term with a
/// 1099-DA showing basis / a 1099-DA without basis / no 1099-DA; J/K/L long term likewise;
/// before 2025 the 1099-B boxes A/B/C and D/E/F), `description` ("1234.5 GRID"),
/// `date_acquired` and `date_sold` (MM/DD/YYYY), `proceeds`, `cost_basis`, `adjustment_code`,
/// `adjustment_amount`, `gain_or_loss`. Proceeds are already net of fees, as 1099-DA proceeds
/// are, so no code E adjustment is written; the adjustment columns are left empty.
///
/// Rows are sorted by box, then date sold, then date acquired; after each box a row
/// `<box>,Total,,,<proceeds>,<basis>,,,<gain>` sums it.
pub fn form_8949_csv(disposals: &[Disposal], token: &Token, year: i16) -> String {
    let mut rows: Vec<(char, &Disposal)> = disposals
        .iter()
        .filter(|d| d.rule.is_us() && d.sold.year() == year)
        .filter_map(|d| form_8949_box(year, d.term, d.reported).map(|b| (b, d)))
        .collect();
    // Stable: equal keys keep the order of the book.
    rows.sort_by_key(|(b, d)| (*b, d.sold, d.acquired));
    let mut out = String::from(
        "box,description,date_acquired,date_sold,proceeds,cost_basis,adjustment_code,adjustment_amount,gain_or_loss\n",
    );
    let mut i = 0;
    while i < rows.len() {
        let current = rows[i].0;
        let (mut proceeds, mut basis, mut gain) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        while i < rows.len() && rows[i].0 == current {
            let d = rows[i].1;
            let description = format!("{} {}", token.format(d.amount), token.symbol());
            out.push_str(&format!(
                "{current},{},{},{},{},{},,,{}\n",
                tokencomp_formats::csv_text::text_field(&description),
                us_date(d.acquired),
                us_date(d.sold),
                money(d.proceeds),
                money(d.basis),
                money(d.gain)
            ));
            // Saturating: a sum past Decimal's 7.9e28 cannot occur with real money.
            proceeds = proceeds.saturating_add(d.proceeds);
            basis = basis.saturating_add(d.basis);
            gain = gain.saturating_add(d.gain);
            i += 1;
        }
        out.push_str(&format!("{current},Total,,,{},{},,,{}\n", money(proceeds), money(basis), money(gain)));
    }
    out
}

/// Form 8949's box letter for a piece: G/H/I (short) and J/K/L (long) from tax year 2025, A–F
/// before; `None` when the term does not apply.
pub fn form_8949_box(year: i16, term: Term, reported: Reporting) -> Option<char> {
    // Digital assets moved to their own boxes with the 1099-DA, from tax year 2025.
    let (short, long) =
        if year >= 2025 { (['G', 'H', 'I'], ['J', 'K', 'L']) } else { (['A', 'B', 'C'], ['D', 'E', 'F']) };
    let letters = match term {
        Term::Short => short,
        Term::Long => long,
        Term::NotApplicable => return None,
    };
    Some(match reported {
        Reporting::BasisReported => letters[0],
        Reporting::BasisNotReported => letters[1],
        Reporting::NoForm => letters[2],
    })
}

fn us_date(d: Date) -> String {
    format!("{:02}/{:02}/{:04}", d.month(), d.day(), d.year())
}

fn money(d: Decimal) -> String {
    format!("{:.2}", MONEY_ROUNDING.apply(d))
}

/// What is left of each lot while sales draw on it: units and basis in cents.
#[derive(Clone, Copy, Debug)]
struct Left {
    units: u128,
    basis: u128,
}

/// Checks ids, amounts and money once, and returns each lot's starting `Left`.
fn validate(lots: &[Lot], sales: &[Sale]) -> Result<Vec<Left>, LotError> {
    let mut seen = HashSet::new();
    let mut state = Vec::with_capacity(lots.len());
    for lot in lots {
        if !seen.insert(lot.id.as_str()) {
            return Err(LotError::DuplicateLot { lot: lot.id.clone() });
        }
        if lot.amount.is_zero() {
            return Err(LotError::EmptyLot { lot: lot.id.clone() });
        }
        let basis = cents(lot.basis, || format!("the basis of lot `{}`", lot.id))?;
        state.push(Left { units: lot.amount.base_units(), basis });
    }
    let mut seen = HashSet::new();
    for sale in sales {
        if !seen.insert(sale.id.as_str()) {
            return Err(LotError::DuplicateSale { sale: sale.id.clone() });
        }
        if sale.amount.is_zero() {
            return Err(LotError::ZeroSale { sale: sale.id.clone() });
        }
        if sale.price.is_sign_negative() && !sale.price.is_zero() {
            return Err(LotError::NegativePrice { sale: sale.id.clone(), price: sale.price });
        }
        cents(sale.fee, || format!("the fee of sale `{}`", sale.id))?;
    }
    Ok(state)
}

/// A non-negative whole-cent amount as a count of cents.
fn cents(d: Decimal, what: impl Fn() -> String) -> Result<u128, LotError> {
    let bad = || LotError::BadMoney { what: what(), value: d };
    if (d.is_sign_negative() && !d.is_zero()) || MONEY_ROUNDING.apply(d) != d {
        return Err(bad());
    }
    let scaled = d.checked_mul(Decimal::ONE_HUNDRED).ok_or_else(bad)?.normalize();
    if scaled.scale() != 0 {
        return Err(bad());
    }
    u128::try_from(scaled.mantissa()).map_err(|_| bad())
}

fn to_money(c: i128, what: &str) -> Result<Decimal, LotError> {
    Decimal::try_from_i128_with_scale(c, 2).map_err(|_| LotError::Overflow { what: what.to_owned() })
}

fn signed(c: u128, what: &str) -> Result<i128, LotError> {
    i128::try_from(c).map_err(|_| LotError::Overflow { what: what.to_owned() })
}

/// `round(x × t / a)` to a whole cent, half away from zero, exactly (x, the cents, is not
/// negative): `floor(2xt/a)` rounded up to even then halved. `t ≤ a` keeps the result ≤ x.
fn prorate(x: u128, t: u128, a: u128, what: &str) -> Result<u128, LotError> {
    let overflow = || LotError::Overflow { what: what.to_owned() };
    let twice = x.checked_mul(2).ok_or_else(overflow)?;
    let q = mul_div_floor(twice, t, a).ok_or_else(overflow)?;
    Ok(q / 2 + q % 2)
}

/// Takes `units` from what is left of a lot (or pool): its pro-rata basis rounded to the cent,
/// or all of the basis when it takes the last unit, so basis is conserved exactly.
fn take(left: &mut Left, units: u128, what: &str) -> Result<u128, LotError> {
    let basis = if units == left.units { left.basis } else { prorate(left.basis, units, left.units, what)? };
    left.units -= units;
    left.basis -= basis;
    Ok(basis)
}

/// Net proceeds of a sale in cents: `token_value(amount, price)` rounded once, less the fee.
fn net_proceeds(token: &Token, sale: &Sale) -> Result<i128, LotError> {
    let gross = token_value(token, sale.amount, sale.price, MONEY_ROUNDING)
        .map_err(|source| LotError::Money { sale: sale.id.clone(), source })?;
    let what = format!("sale `{}`", sale.id);
    let gross = signed(cents(gross, || format!("the proceeds of sale `{}`", sale.id))?, &what)?;
    let fee = signed(cents(sale.fee, || format!("the fee of sale `{}`", sale.id))?, &what)?;
    gross.checked_sub(fee).ok_or(LotError::Overflow { what })
}

/// Splits `net` cents over pieces pro rata by units (which add up to `total`); the last piece
/// takes the remainder so the pieces add up to `net` exactly.
fn split(net: i128, units: &[u128], total: u128, what: &str) -> Result<Vec<i128>, LotError> {
    let magnitude = net.unsigned_abs();
    let mut out = Vec::with_capacity(units.len());
    let mut given: i128 = 0;
    for (i, &t) in units.iter().enumerate() {
        let share = if i + 1 == units.len() {
            net - given
        } else {
            let m = signed(prorate(magnitude, t, total, what)?, what)?;
            if net < 0 { -m } else { m }
        };
        given += share;
        out.push(share);
    }
    Ok(out)
}

fn format_units(token: &Token, units: u128) -> String {
    format!("{} {}", token.format(TokenAmount::from_base_units(units)), token.symbol())
}

/// A piece before proceeds are split: which lot (None = the UK pool), units, basis in cents.
struct Piece {
    lot: Option<usize>,
    units: u128,
    basis: u128,
    rule: MatchRule,
}

fn selection_name(selection: &Selection) -> &'static str {
    match selection {
        Selection::Fifo => "FIFO",
        Selection::Lifo => "LIFO",
        Selection::Hifo => "HIFO",
        Selection::Specific(_) => "specific identification",
    }
}

/// Turns a sale's pieces into disposals: splits its proceeds and sets term and exemption.
fn emit(
    regime: Regime,
    token: &Token,
    lots: &[Lot],
    sale: &Sale,
    pieces: &[Piece],
    out: &mut Vec<Disposal>,
) -> Result<(), LotError> {
    let what = format!("sale `{}`", sale.id);
    let net = net_proceeds(token, sale)?;
    let units: Vec<u128> = pieces.iter().map(|p| p.units).collect();
    let shares = split(net, &units, sale.amount.base_units(), &what)?;
    for (piece, proceeds) in pieces.iter().zip(shares) {
        let basis = signed(piece.basis, &what)?;
        let gain = proceeds.checked_sub(basis).ok_or_else(|| LotError::Overflow { what: what.clone() })?;
        let (lot_id, acquired) = match piece.lot {
            Some(i) => (lots[i].id.clone(), lots[i].acquired),
            None => (SECTION_104.to_owned(), sale.date),
        };
        let term = match regime {
            Regime::Uk => Term::NotApplicable,
            Regime::Us | Regime::De => holding_term(acquired, sale.date)?,
        };
        out.push(Disposal {
            sale: sale.id.clone(),
            lot: lot_id,
            wallet: sale.wallet.clone(),
            acquired,
            sold: sale.date,
            amount: TokenAmount::from_base_units(piece.units),
            proceeds: to_money(proceeds, &what)?,
            basis: to_money(basis, &what)?,
            gain: to_money(gain, &what)?,
            term,
            rule: piece.rule,
            reported: sale.reported,
            // §23 (1) Nr. 2 EStG: a private sale more than a year after acquisition is not taxed.
            exempt: regime == Regime::De && term == Term::Long,
        });
    }
    Ok(())
}

/// `lots` comes with each lot's original basis in cents (HIFO ranks by it).
fn match_per_wallet(
    regime: Regime,
    token: &Token,
    (lots, original): (&[Lot], &[u128]),
    sales: &[Sale],
    order: &[usize],
    state: &mut [Left],
) -> Result<Book, LotError> {
    let mut disposals = Vec::new();
    for &s in order {
        let sale = &sales[s];
        let picks = match (regime, &sale.selection) {
            (Regime::Us, Selection::Specific(list)) => pick_specific(token, lots, sale, list, state)?,
            (Regime::Us, selection) => pick_ordered(token, (lots, original), sale, selection, state)?,
            (_, Selection::Fifo) => pick_ordered(token, (lots, original), sale, &Selection::Fifo, state)?,
            (_, other) => {
                return Err(LotError::SelectionNotAllowed {
                    sale: sale.id.clone(),
                    regime,
                    selection: selection_name(other),
                });
            }
        };
        let rule = match (regime, &sale.selection) {
            (Regime::De | Regime::Uk, _) => MatchRule::DeFifo,
            (Regime::Us, Selection::Fifo) => MatchRule::Fifo,
            (Regime::Us, Selection::Lifo) => MatchRule::Lifo,
            (Regime::Us, Selection::Hifo) => MatchRule::Hifo,
            (Regime::Us, Selection::Specific(_)) => MatchRule::Specific,
        };
        let what = format!("sale `{}`", sale.id);
        let mut pieces = Vec::with_capacity(picks.len());
        for (lot, units) in picks {
            let basis = take(&mut state[lot], units, &what)?;
            pieces.push(Piece { lot: Some(lot), units, basis, rule });
        }
        emit(regime, token, lots, sale, &pieces, &mut disposals)?;
    }
    let open = lots
        .iter()
        .zip(state.iter())
        .filter(|(_, left)| left.units > 0)
        .map(|(lot, left)| {
            Ok(Lot {
                amount: TokenAmount::from_base_units(left.units),
                basis: to_money(signed(left.basis, &lot.id)?, &lot.id)?,
                ..lot.clone()
            })
        })
        .collect::<Result<Vec<_>, LotError>>()?;
    Ok(Book { disposals, open })
}

/// The lots a sale may draw on: its wallet, acquired on or before the sale, not yet used up.
fn candidates(lots: &[Lot], sale: &Sale, state: &[Left]) -> Vec<usize> {
    (0..lots.len())
        .filter(|&i| lots[i].wallet == sale.wallet && lots[i].acquired <= sale.date && state[i].units > 0)
        .collect()
}

fn pick_ordered(
    token: &Token,
    (lots, original): (&[Lot], &[u128]),
    sale: &Sale,
    selection: &Selection,
    state: &[Left],
) -> Result<Vec<(usize, u128)>, LotError> {
    let mut pool = candidates(lots, sale, state);
    let held = pool.iter().try_fold(0u128, |sum, &i| sum.checked_add(state[i].units));
    let asked = sale.amount.base_units();
    let held = held.ok_or_else(|| LotError::Overflow { what: format!("wallet `{}`", sale.wallet) })?;
    if held < asked {
        return Err(LotError::Insufficient {
            sale: sale.id.clone(),
            wallet: format!("wallet `{}`", sale.wallet),
            date: sale.date,
            held: format_units(token, held),
            asked: format_units(token, asked),
        });
    }
    match selection {
        Selection::Lifo => pool.sort_by_key(|&i| (Reverse(lots[i].acquired), Reverse(i))),
        Selection::Hifo => pool.sort_by(|&a, &b| {
            // Original basis per token, compared exactly by cross-multiplying in 256 bits.
            let per_token = |x: usize, y: usize| wide_mul(original[x], lots[y].amount.base_units());
            per_token(b, a).cmp(&per_token(a, b)).then(lots[a].acquired.cmp(&lots[b].acquired)).then(a.cmp(&b))
        }),
        Selection::Fifo | Selection::Specific(_) => pool.sort_by_key(|&i| (lots[i].acquired, i)),
    }
    let mut need = asked;
    let mut picks = Vec::new();
    for i in pool {
        if need == 0 {
            break;
        }
        let units = need.min(state[i].units);
        picks.push((i, units));
        need -= units;
    }
    Ok(picks)
}

/// The full 256-bit product of two `u128`, as (high, low) halves: compares like the product.
fn wide_mul(a: u128, b: u128) -> (u128, u128) {
    const LOW: u128 = (1u128 << 64) - 1;
    let (a1, a0) = (a >> 64, a & LOW);
    let (b1, b0) = (b >> 64, b & LOW);
    // Each partial product of two 64-bit halves fits in 128 bits.
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let mid = (p00 >> 64) + (p01 & LOW) + (p10 & LOW);
    let low = (p00 & LOW) | ((mid & LOW) << 64);
    let high = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (high, low)
}

fn pick_specific(
    token: &Token,
    lots: &[Lot],
    sale: &Sale,
    list: &[(String, TokenAmount)],
    state: &[Left],
) -> Result<Vec<(usize, u128)>, LotError> {
    let index: HashMap<&str, usize> = lots.iter().enumerate().map(|(i, l)| (l.id.as_str(), i)).collect();
    // A lot listed twice draws twice: track what this sale has already asked of each lot.
    let mut asked_of: HashMap<usize, u128> = HashMap::new();
    let mut picks = Vec::with_capacity(list.len());
    let mut listed: u128 = 0;
    for (id, amount) in list {
        let err_sale = || sale.id.clone();
        let &i = index.get(id.as_str()).ok_or_else(|| LotError::UnknownLot { sale: err_sale(), lot: id.clone() })?;
        let lot = &lots[i];
        if amount.is_zero() {
            return Err(LotError::SpecificZero { sale: err_sale(), lot: id.clone() });
        }
        if lot.wallet != sale.wallet {
            return Err(LotError::WrongWallet {
                sale: err_sale(),
                lot: id.clone(),
                sale_wallet: sale.wallet.clone(),
                lot_wallet: lot.wallet.clone(),
            });
        }
        if lot.acquired > sale.date {
            return Err(LotError::LotAfterSale {
                sale: err_sale(),
                lot: id.clone(),
                sold: sale.date,
                acquired: lot.acquired,
            });
        }
        let before = asked_of.get(&i).copied().unwrap_or(0);
        let total = before.checked_add(amount.base_units());
        match total {
            Some(t) if t <= state[i].units => {
                asked_of.insert(i, t);
            }
            _ => {
                return Err(LotError::OverDraw {
                    sale: err_sale(),
                    lot: id.clone(),
                    available: format_units(token, state[i].units.saturating_sub(before)),
                    asked: format_units(token, amount.base_units()),
                });
            }
        }
        listed = listed.checked_add(amount.base_units()).ok_or_else(|| LotError::Overflow { what: sale.id.clone() })?;
        picks.push((i, amount.base_units()));
    }
    if listed != sale.amount.base_units() {
        return Err(LotError::SpecificSum {
            sale: sale.id.clone(),
            listed: format_units(token, listed),
            amount: format_units(token, sale.amount.base_units()),
        });
    }
    // The same lot listed twice becomes one piece, so a book never holds two pieces of one pair.
    let mut merged: Vec<(usize, u128)> = Vec::with_capacity(picks.len());
    for (i, units) in picks {
        match merged.iter_mut().find(|(j, _)| *j == i) {
            Some(entry) => entry.1 += units,
            None => merged.push((i, units)),
        }
    }
    Ok(merged)
}

/// UK matching in three passes, so that each acquisition serves the rules in their statutory
/// priority whatever the order of dates: (1) same-day acquisitions for every disposal; (2) for
/// each disposal, earliest first, the acquisitions of the 30 days after it that are still
/// unmatched, earliest first; (3) walking the days, what is left of each acquisition joins the
/// section 104 pool, and what is left of each disposal is taken from it at average cost.
///
/// Several disposals on one day are matched in input order; together they take the same units
/// from the same sources as the single disposal of s105(1)(a), only the split between them is an
/// allocation. Holdings are checked per person (all wallets), as the pool is.
fn match_uk(
    token: &Token,
    lots: &[Lot],
    sales: &[Sale],
    order: &[usize],
    state: &mut [Left],
) -> Result<Book, LotError> {
    for &s in order {
        if sales[s].selection != Selection::Fifo {
            return Err(LotError::SelectionNotAllowed {
                sale: sales[s].id.clone(),
                regime: Regime::Uk,
                selection: selection_name(&sales[s].selection),
            });
        }
    }
    check_uk_holdings(token, lots, sales, order)?;

    let mut by_date: Vec<usize> = (0..lots.len()).collect();
    by_date.sort_by_key(|&i| (lots[i].acquired, i));
    let mut pieces: Vec<Vec<Piece>> = (0..sales.len()).map(|_| Vec::new()).collect();
    let mut matched = vec![0u128; sales.len()];

    // (1) Same day.
    for &s in order {
        let sale = &sales[s];
        for &i in by_date.iter().filter(|&&i| lots[i].acquired == sale.date) {
            draw_uk(s, sale, i, MatchRule::SameDay, state, &mut matched, &mut pieces)?;
        }
    }
    // (2) The 30 days after the disposal.
    for &s in order {
        let sale = &sales[s];
        let last = sale
            .date
            .checked_add(30.days())
            .map_err(|_| LotError::DateRange { what: format!("30 days after sale `{}`", sale.id) })?;
        for &i in by_date.iter().filter(|&&i| lots[i].acquired > sale.date && lots[i].acquired <= last) {
            draw_uk(s, sale, i, MatchRule::ThirtyDay, state, &mut matched, &mut pieces)?;
        }
    }
    // (3) The pool, day by day: that day's disposals first, then its acquisitions join.
    let mut pool = Left { units: 0, basis: 0 };
    let mut pool_date: Option<Date> = None;
    let mut events: Vec<(Date, u8, usize)> = order.iter().map(|&s| (sales[s].date, 0, s)).collect();
    events.extend(by_date.iter().map(|&i| (lots[i].acquired, 1, i)));
    events.sort();
    for (date, kind, k) in events {
        if kind == 1 {
            let overflow = || LotError::Overflow { what: "the section 104 pool".to_owned() };
            pool.units = pool.units.checked_add(state[k].units).ok_or_else(overflow)?;
            pool.basis = pool.basis.checked_add(state[k].basis).ok_or_else(overflow)?;
            if state[k].units > 0 {
                pool_date = Some(date);
            }
            state[k] = Left { units: 0, basis: 0 };
            continue;
        }
        let sale = &sales[k];
        let need = sale.amount.base_units() - matched[k];
        if need == 0 {
            continue;
        }
        if pool.units < need {
            // Unreachable after check_uk_holdings; kept as an error rather than a panic.
            return Err(LotError::Insufficient {
                sale: sale.id.clone(),
                wallet: "the section 104 pool".to_owned(),
                date,
                held: format_units(token, pool.units),
                asked: format_units(token, need),
            });
        }
        let basis = take(&mut pool, need, &format!("sale `{}`", sale.id))?;
        matched[k] += need;
        pieces[k].push(Piece { lot: None, units: need, basis, rule: MatchRule::Section104 });
    }

    let mut disposals = Vec::new();
    for &s in order {
        emit(Regime::Uk, token, lots, &sales[s], &pieces[s], &mut disposals)?;
    }
    let mut open = Vec::new();
    if let (true, Some(acquired)) = (pool.units > 0, pool_date) {
        open.push(Lot {
            id: SECTION_104.to_owned(),
            wallet: String::new(),
            acquired,
            amount: TokenAmount::from_base_units(pool.units),
            basis: to_money(signed(pool.basis, SECTION_104)?, SECTION_104)?,
        });
    }
    Ok(Book { disposals, open })
}

/// Matches as much of sale `s` as is still unmatched with what is left of acquisition `i`.
fn draw_uk(
    s: usize,
    sale: &Sale,
    i: usize,
    rule: MatchRule,
    state: &mut [Left],
    matched: &mut [u128],
    pieces: &mut [Vec<Piece>],
) -> Result<(), LotError> {
    let units = (sale.amount.base_units() - matched[s]).min(state[i].units);
    if units == 0 {
        return Ok(());
    }
    let basis = take(&mut state[i], units, &format!("sale `{}`", sale.id))?;
    matched[s] += units;
    pieces[s].push(Piece { lot: Some(i), units, basis, rule });
    Ok(())
}

/// Everything acquired up to each disposal's day must cover everything disposed of up to it.
fn check_uk_holdings(token: &Token, lots: &[Lot], sales: &[Sale], order: &[usize]) -> Result<(), LotError> {
    let mut sold: u128 = 0;
    for &s in order {
        let sale = &sales[s];
        let overflow = || LotError::Overflow { what: "UK holdings".to_owned() };
        let held = lots
            .iter()
            .filter(|l| l.acquired <= sale.date)
            .try_fold(0u128, |sum, l| sum.checked_add(l.amount.base_units()))
            .ok_or_else(overflow)?;
        let available = held.saturating_sub(sold);
        if available < sale.amount.base_units() {
            return Err(LotError::Insufficient {
                sale: sale.id.clone(),
                wallet: "all wallets".to_owned(),
                date: sale.date,
                held: format_units(token, available),
                asked: format_units(token, sale.amount.base_units()),
            });
        }
        sold = sold.checked_add(sale.amount.base_units()).ok_or_else(overflow)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prorate_rounds_half_away_from_zero() {
        // 10.00 × 1/3 = 3.333… → 3.33; 10.00 × 2/3 = 6.666… → 6.67; 0.01 × 1/2 = 0.005 → 0.01.
        assert_eq!(prorate(1000, 1, 3, "t").expect("in range"), 333);
        assert_eq!(prorate(1000, 2, 3, "t").expect("in range"), 667);
        assert_eq!(prorate(1, 1, 2, "t").expect("in range"), 1);
        assert_eq!(prorate(u128::MAX / 2, u128::MAX, u128::MAX, "t").expect("in range"), u128::MAX / 2);
    }

    #[test]
    fn split_gives_the_remainder_to_the_last_piece() {
        // -10.00 over 1:1:1 → -3.33, -3.33, -3.34: sums back to -10.00.
        assert_eq!(split(-1000, &[1, 1, 1], 3, "t").expect("in range"), vec![-333, -333, -334]);
        assert_eq!(split(1000, &[2, 1], 3, "t").expect("in range"), vec![667, 333]);
    }

    #[test]
    fn wide_mul_is_the_true_product() {
        assert_eq!(wide_mul(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
        assert_eq!(wide_mul(1 << 64, 1 << 64), (1, 0));
        assert_eq!(wide_mul(3, 5), (0, 15));
    }

    #[test]
    fn cents_refuse_fractions_and_negatives() {
        assert_eq!(cents(Decimal::new(12345, 2), String::new).expect("in range"), 12345);
        assert_eq!(cents(Decimal::new(7, 0), String::new).expect("in range"), 700);
        assert!(cents(Decimal::new(12345, 3), String::new).is_err());
        assert!(cents(Decimal::new(-1, 2), String::new).is_err());
    }
}
