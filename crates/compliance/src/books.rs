//! Books: a small double-entry journal and its writers for beancount 3, hledger and CSV.
//!
//! The payroll, lots and accounting modules fill a [`Journal`]; this module checks that every
//! entry balances exactly at cost and that every lot it reduces is really held, then spells the
//! journal in each tool's syntax so that the tools compute the same balances we do
//! ([`Journal::balances`]). Tokens held at cost are [`Amount::Lot`] postings: units, a lot label,
//! the acquisition date and the total basis of those units in cents.
//!
//! This module only builds text: it must never run a tool, touch a file or read the clock, and
//! it never rounds a token amount (units are written with the token's exact decimals) nor
//! invents a fiat amount (every figure written is one the journal holds, or a difference of
//! two of them).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use jiff::civil::Date;
use tokencomp_money::{Currency, Decimal, MONEY_ROUNDING, Token, TokenAmount};

/// A book: one token, one fiat currency, entries in date order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Journal {
    pub title: String,
    pub token: Token,
    /// The book's fiat: USD unless a person's books are kept in GBP or EUR.
    pub currency: Currency,
    pub entries: Vec<Entry>,
}

/// One balanced transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub date: Date,
    /// Stable and unique in the journal, e.g. `vest:g-1:2026-01-31`.
    pub id: String,
    pub narration: String,
    pub postings: Vec<Posting>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posting {
    /// `Assets:Wallet:Main`, `Income:Wages`, `Expenses:Compensation` …: see [`account_is_valid`].
    pub account: String,
    pub amount: Amount,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Amount {
    /// Whole cents in the journal's currency.
    Fiat(Decimal),
    /// Tokens entering (positive) or leaving (negative) a lot held at cost. Its weight is
    /// ±`lot.basis`.
    Lot {
        units: TokenAmount,
        negative: bool,
        lot: LotRef,
        /// Per-token sale (or purchase) price, for information: it never enters the weight.
        price: Option<Decimal>,
    },
}

/// Which lot, and the basis of the units this posting moves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LotRef {
    /// The lot's id; unique among the lots an account holds at one time.
    pub label: String,
    pub acquired: Date,
    /// Total basis of THESE units, whole cents, not negative.
    pub basis: Decimal,
}

impl Amount {
    /// What the posting weighs in the journal's currency: the fiat amount, or ±basis.
    pub fn weight(&self) -> Decimal {
        match self {
            Amount::Fiat(d) => *d,
            Amount::Lot { negative: true, lot, .. } => -lot.basis,
            Amount::Lot { negative: false, lot, .. } => lot.basis,
        }
    }
}

/// An account's balance by our own arithmetic: the fiat weight at cost and the tokens that
/// went in and out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Balance {
    /// Σ fiat amounts and ±lot bases.
    pub fiat: Decimal,
    pub tokens_in: TokenAmount,
    pub tokens_out: TokenAmount,
}

impl Balance {
    /// Net tokens as (negative, magnitude).
    pub fn net_tokens(&self) -> (bool, TokenAmount) {
        if self.tokens_in >= self.tokens_out {
            (false, self.tokens_in.saturating_sub(self.tokens_out))
        } else {
            (true, self.tokens_out.saturating_sub(self.tokens_in))
        }
    }
}

/// What is left of a lot in an account after the whole journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldLot {
    pub units: TokenAmount,
    pub basis: Decimal,
    pub acquired: Date,
}

/// Why a journal cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BooksError {
    #[error("entry `{id}` does not balance: its postings weigh {residual} {currency} in total instead of zero")]
    Unbalanced { id: String, residual: Decimal, currency: Currency },
    #[error("entry `{id}` has no postings")]
    EmptyEntry { id: String },
    #[error("entry id `{id}` is not usable: {reason}")]
    BadId { id: String, reason: &'static str },
    #[error("entry id `{id}` appears more than once; ids must be unique in a journal")]
    DuplicateId { id: String },
    #[error("entry `{id}` is dated {date}, before the entry above it ({previous}); entries must be in date order")]
    OutOfOrder { id: String, date: Date, previous: Date },
    #[error("entry `{id}`: account `{account}` is not valid in beancount and hledger: {reason}")]
    BadAccount { id: String, account: String, reason: &'static str },
    #[error("entry `{id}`, account `{account}`: {amount} is not a whole number of cents")]
    NotCents { id: String, account: String, amount: Decimal },
    #[error("entry `{id}`, account `{account}`: lot `{label}` has a negative basis {basis}")]
    NegativeBasis { id: String, account: String, label: String, basis: Decimal },
    #[error("entry `{id}`, account `{account}`: a lot posting must move at least one base unit")]
    ZeroUnits { id: String, account: String },
    #[error("entry `{id}`, account `{account}`: price {price} must be positive")]
    NonPositivePrice { id: String, account: String, price: Decimal },
    #[error("entry `{id}`, account `{account}`: lot label `{label}` is not usable: {reason}")]
    BadLabel { id: String, account: String, label: String, reason: &'static str },
    #[error("entry `{id}` moves lot `{label}` of `{account}` twice; post it once per entry")]
    LotTwiceInEntry { id: String, account: String, label: String },
    #[error("entry `{id}` opens lot `{label}` in `{account}`, which already holds a lot with that label")]
    LotAlreadyOpen { id: String, account: String, label: String },
    #[error("entry `{id}` reduces lot `{label}` of `{account}`, which holds no such lot")]
    LotNotHeld { id: String, account: String, label: String },
    #[error("entry `{id}` reduces lot `{label}` of `{account}` by {wanted} base units, but only {held} are held")]
    LotOverdrawn { id: String, account: String, label: String, held: TokenAmount, wanted: TokenAmount },
    #[error("entry `{id}` says lot `{label}` of `{account}` was acquired {posted}, but it was acquired {held}")]
    LotDateMismatch { id: String, account: String, label: String, held: Date, posted: Date },
    #[error("entry `{id}` reduces lot `{label}` of `{account}` with basis {posted}, but {reason} (held basis {held})")]
    LotBasisMismatch {
        id: String,
        account: String,
        label: String,
        held: Decimal,
        posted: Decimal,
        reason: &'static str,
    },
    #[error("token symbol `{symbol}` is the journal's currency too; the two must differ")]
    TokenIsCurrency { symbol: String },
    #[error("token symbol `{symbol}` cannot be written in beancount: {reason}")]
    BeancountSymbol { symbol: String, reason: &'static str },
    #[error("entry `{id}`: a sum overflows")]
    Overflow { id: String },
    #[error("CSV writing failed: {reason}")]
    Csv { reason: String },
}

/// The five account types both tools accept as the first component.
const ROOTS: [&str; 5] = ["Assets", "Liabilities", "Equity", "Income", "Expenses"];

/// Why `name` is not an account both beancount and hledger accept, or `None` when it is: a
/// root type, then one or more components, each starting with an ASCII capital or digit and
/// holding only ASCII letters, digits and dashes.
fn account_problem(name: &str) -> Option<&'static str> {
    let mut parts = name.split(':');
    let root = parts.next().unwrap_or_default();
    if !ROOTS.contains(&root) {
        return Some("the first component must be Assets, Liabilities, Equity, Income or Expenses");
    }
    let mut count = 0;
    for part in parts {
        count += 1;
        let mut chars = part.chars();
        match chars.next() {
            Some(c) if c.is_ascii_uppercase() || c.is_ascii_digit() => {}
            _ => return Some("every component must start with a capital letter or a digit"),
        }
        if !chars.all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Some("components may hold only ASCII letters, digits and dashes");
        }
    }
    if count == 0 {
        return Some("an account needs at least one component below its type");
    }
    None
}

/// Whether both beancount and hledger accept `name` as an account.
pub fn account_is_valid(name: &str) -> bool {
    account_problem(name).is_none()
}

/// A readable account component for any id, deterministically: the id's words (runs of
/// ASCII letters and digits; every other character separates words and is dropped), each
/// word's first letter in capitals, joined — "employer_nic" → "EmployerNic", "ada" → "Ada",
/// "main wallet" → "MainWallet", "g-1" → "G1"; an id with no ASCII letter or digit → "X".
///
/// The result holds only ASCII letters and digits, so it is valid under any account type, and
/// never contains a dash: [`AccountNames`] adds `-2`, `-3` … when two different ids of one
/// journal come out the same ("main wallet" and "main-wallet"), and a suffix cannot be mistaken
/// for part of a component.
pub fn account_component(id: &str) -> String {
    let mut out = String::new();
    for word in id.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        out.push_str(&capitalize_first(word));
    }
    if out.is_empty() {
        out.push('X');
    }
    out
}

/// The accounts of one journal that are named after ids (wallets, grants, people, tax lines),
/// readable and distinct.
///
/// Each `(parent, id)` becomes `parent:` + [`account_component`]`(id)`. When that name is
/// reserved (one of the journal's fixed accounts) or already given to a different id, the id
/// gets the first free of `-2`, `-3` …; ids are taken in byte order of `(parent, id)`, so the
/// names depend only on the set of ids, never on the order entries are built in. The only
/// suffixed names are those of real collisions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountNames {
    names: BTreeMap<(String, String), String>,
}

impl AccountNames {
    pub fn new<'a>(
        reserved: impl IntoIterator<Item = &'a str>,
        ids: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> AccountNames {
        let mut taken: BTreeSet<String> = reserved.into_iter().map(str::to_owned).collect();
        let wanted: BTreeSet<(&str, &str)> = ids.into_iter().collect();
        let mut names = BTreeMap::new();
        for (parent, id) in wanted {
            let base = format!("{parent}:{}", account_component(id));
            let mut name = base.clone();
            let mut n = 1u32;
            while taken.contains(&name) {
                n += 1;
                name = format!("{base}-{n}");
            }
            taken.insert(name.clone());
            names.insert((parent.to_owned(), id.to_owned()), name);
        }
        AccountNames { names }
    }

    /// The account of `id` under `parent`, when it was given to [`AccountNames::new`].
    pub fn get(&self, parent: &str, id: &str) -> Option<&str> {
        self.names.get(&(parent.to_owned(), id.to_owned())).map(String::as_str)
    }
}

fn capitalize_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// How a lot posting is booked against what the account holds.
#[derive(Clone, Debug, PartialEq, Eq)]
enum LotAction {
    /// A new lot.
    Open,
    /// A reduction whose basis is the exact pro-rata share of the held lot (or all of it).
    Reduce,
    /// A reduction whose basis is not the exact pro-rata share: the whole lot (`held` units)
    /// leaves and `remaining` units come back at `remaining_basis`. See [`to_beancount`].
    Restate { held: TokenAmount, remaining: TokenAmount, remaining_basis: Decimal },
}

/// The journal checked, with how each lot posting books (`None` for fiat postings).
struct Plan {
    actions: Vec<Vec<Option<LotAction>>>,
    lots: BTreeMap<(String, String), HeldLot>,
}

fn is_cents(d: Decimal) -> bool {
    MONEY_ROUNDING.apply(d) == d
}

/// A non-negative whole-cent amount as a count of cents.
fn cents(d: Decimal) -> Option<u128> {
    let mut x = d;
    x.rescale(2);
    if x != d {
        return None;
    }
    u128::try_from(x.mantissa()).ok()
}

/// Whether `part_basis / part_units == basis / units` exactly, i.e. the part's basis is the
/// exact pro-rata share of the lot's (cross-multiplied, in 256-bit intermediates).
fn exact_share(part_units: TokenAmount, part_basis: Decimal, units: TokenAmount, basis: Decimal) -> bool {
    let (Some(b), Some(big_b)) = (cents(part_basis), cents(basis)) else {
        return false;
    };
    let (u, big_u) = (part_units.base_units(), units.base_units());
    // b·U = B·u  ⇔  ⌊B·u/U⌋ = b and ⌊b·U/u⌋ = B (each floor bounds the product from one side).
    let forward = TokenAmount::from_base_units(big_b).mul_div_floor(u, big_u);
    let backward = TokenAmount::from_base_units(b).mul_div_floor(big_u, u);
    matches!((forward, backward), (Ok(f), Ok(r)) if f.base_units() == b && r.base_units() == big_b)
}

fn text_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        Some("it is empty")
    } else if s.chars().any(char::is_control) {
        Some("it contains a control character (a line break, a tab …)")
    } else {
        None
    }
}

impl Journal {
    /// Checks everything the writers rely on: unique usable ids in date order, valid accounts,
    /// whole cents, every entry balancing exactly (Σ weights = 0), and every lot reduced being
    /// held in that account with that acquisition date, enough units and a basis that fits.
    pub fn check(&self) -> Result<(), BooksError> {
        self.plan().map(|_| ())
    }

    /// Our balances per account, for every account the journal uses.
    pub fn balances(&self) -> Result<BTreeMap<String, Balance>, BooksError> {
        self.check()?;
        let mut out: BTreeMap<String, Balance> = BTreeMap::new();
        for entry in &self.entries {
            let overflow = || BooksError::Overflow { id: entry.id.clone() };
            for p in &entry.postings {
                let b = out.entry(p.account.clone()).or_default();
                b.fiat = b.fiat.checked_add(p.amount.weight()).ok_or_else(overflow)?;
                if let Amount::Lot { units, negative, .. } = &p.amount {
                    let side = if *negative { &mut b.tokens_out } else { &mut b.tokens_in };
                    *side = side.checked_add(*units).map_err(|_| overflow())?;
                }
            }
        }
        Ok(out)
    }

    /// The lots still held at the end, per (account, label).
    pub fn open_lots(&self) -> Result<BTreeMap<(String, String), HeldLot>, BooksError> {
        self.plan().map(|p| p.lots)
    }

    fn plan(&self) -> Result<Plan, BooksError> {
        if self.token.symbol() == self.currency.code() {
            return Err(BooksError::TokenIsCurrency { symbol: self.token.symbol().to_owned() });
        }
        let mut ids = BTreeSet::new();
        let mut previous: Option<Date> = None;
        let mut lots: BTreeMap<(String, String), HeldLot> = BTreeMap::new();
        let mut actions = Vec::with_capacity(self.entries.len());
        for entry in &self.entries {
            let id = || entry.id.clone();
            if let Some(reason) = text_problem(&entry.id) {
                return Err(BooksError::BadId { id: id(), reason });
            }
            if !ids.insert(entry.id.as_str()) {
                return Err(BooksError::DuplicateId { id: id() });
            }
            if let Some(previous) = previous.filter(|p| entry.date < *p) {
                return Err(BooksError::OutOfOrder { id: id(), date: entry.date, previous });
            }
            previous = Some(entry.date);
            if entry.postings.is_empty() {
                return Err(BooksError::EmptyEntry { id: id() });
            }

            let mut sum = Decimal::ZERO;
            let mut seen = BTreeSet::new();
            let mut entry_actions = Vec::with_capacity(entry.postings.len());
            for p in &entry.postings {
                let account = || p.account.clone();
                if let Some(reason) = account_problem(&p.account) {
                    return Err(BooksError::BadAccount { id: id(), account: account(), reason });
                }
                let action = match &p.amount {
                    Amount::Fiat(d) => {
                        if !is_cents(*d) {
                            return Err(BooksError::NotCents { id: id(), account: account(), amount: *d });
                        }
                        None
                    }
                    Amount::Lot { units, negative, lot, price } => {
                        let label = || lot.label.clone();
                        if units.is_zero() {
                            return Err(BooksError::ZeroUnits { id: id(), account: account() });
                        }
                        if let Some(reason) = text_problem(&lot.label) {
                            return Err(BooksError::BadLabel { id: id(), account: account(), label: label(), reason });
                        }
                        if !is_cents(lot.basis) {
                            return Err(BooksError::NotCents { id: id(), account: account(), amount: lot.basis });
                        }
                        if lot.basis.is_sign_negative() && !lot.basis.is_zero() {
                            let basis = lot.basis;
                            return Err(BooksError::NegativeBasis {
                                id: id(),
                                account: account(),
                                label: label(),
                                basis,
                            });
                        }
                        if let Some(price) = price.filter(|p| *p <= Decimal::ZERO) {
                            return Err(BooksError::NonPositivePrice { id: id(), account: account(), price });
                        }
                        if !seen.insert((p.account.as_str(), lot.label.as_str())) {
                            return Err(BooksError::LotTwiceInEntry { id: id(), account: account(), label: label() });
                        }
                        Some(book_lot(&mut lots, &entry.id, &p.account, *units, *negative, lot)?)
                    }
                };
                sum = sum.checked_add(p.amount.weight()).ok_or_else(|| BooksError::Overflow { id: id() })?;
                entry_actions.push(action);
            }
            if !sum.is_zero() {
                return Err(BooksError::Unbalanced { id: id(), residual: sum, currency: self.currency });
            }
            actions.push(entry_actions);
        }
        Ok(Plan { actions, lots })
    }
}

/// Books one lot posting against the account's held lots.
fn book_lot(
    lots: &mut BTreeMap<(String, String), HeldLot>,
    id: &str,
    account: &str,
    units: TokenAmount,
    negative: bool,
    lot: &LotRef,
) -> Result<LotAction, BooksError> {
    let key = (account.to_owned(), lot.label.clone());
    let id = || id.to_owned();
    let account = || key.0.clone();
    let label = || key.1.clone();
    if !negative {
        if lots.contains_key(&key) {
            return Err(BooksError::LotAlreadyOpen { id: id(), account: account(), label: label() });
        }
        lots.insert(key, HeldLot { units, basis: lot.basis, acquired: lot.acquired });
        return Ok(LotAction::Open);
    }
    let Some(held) = lots.get(&key).cloned() else {
        return Err(BooksError::LotNotHeld { id: id(), account: account(), label: label() });
    };
    if held.acquired != lot.acquired {
        let (held, posted) = (held.acquired, lot.acquired);
        return Err(BooksError::LotDateMismatch { id: id(), account: account(), label: label(), held, posted });
    }
    let mismatch = |reason| BooksError::LotBasisMismatch {
        id: id(),
        account: account(),
        label: label(),
        held: held.basis,
        posted: lot.basis,
        reason,
    };
    let Ok(remaining) = held.units.checked_sub(units) else {
        let wanted = units;
        return Err(BooksError::LotOverdrawn {
            id: id(),
            account: account(),
            label: label(),
            held: held.units,
            wanted,
        });
    };
    if remaining.is_zero() {
        if lot.basis != held.basis {
            return Err(mismatch("closing every unit of a lot must take its whole remaining basis"));
        }
        lots.remove(&key);
        return Ok(LotAction::Reduce);
    }
    if lot.basis > held.basis {
        return Err(mismatch("a partial reduction cannot take more than the lot's basis"));
    }
    let remaining_basis = held.basis - lot.basis;
    let action = if exact_share(units, lot.basis, held.units, held.basis) {
        LotAction::Reduce
    } else {
        LotAction::Restate { held: held.units, remaining, remaining_basis }
    };
    lots.insert(key, HeldLot { units: remaining, basis: remaining_basis, acquired: held.acquired });
    Ok(action)
}

/// Fiat with exactly two places (amounts are whole cents, checked), never `-0.00`.
fn money(d: Decimal) -> String {
    let mut x = if d.is_zero() { Decimal::ZERO } else { d };
    x.rescale(2);
    x.to_string()
}

/// A price as given, with at least two places.
fn price_text(d: Decimal) -> String {
    let mut x = d.normalize();
    if x.scale() < 2 {
        x.rescale(2);
    }
    x.to_string()
}

fn signed_units(token: &Token, units: TokenAmount, negative: bool) -> String {
    let s = token.format(units);
    if negative { format!("-{s}") } else { s }
}

/// One line of text: control characters (line breaks, tabs) become spaces.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// A beancount string literal: one line, `\` and `"` escaped.
fn bean_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in one_line(s).chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Beancount commodities start with a capital letter and (for our ASCII alphanumeric
/// symbols) hold only capitals and digits.
fn beancount_symbol(token: &Token) -> Result<&str, BooksError> {
    let symbol = token.symbol();
    let fail = |reason| BooksError::BeancountSymbol { symbol: symbol.to_owned(), reason };
    if !symbol.bytes().next().is_some_and(|b| b.is_ascii_uppercase()) {
        return Err(fail("it must start with a capital letter"));
    }
    if !symbol.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return Err(fail("it may hold only capital letters and digits"));
    }
    Ok(symbol)
}

/// Each account with the date of its first posting and the commodities posted to it, in order
/// of first use.
fn accounts_in_use(journal: &Journal) -> Vec<(&str, Date, BTreeSet<&str>)> {
    let mut order: Vec<(&str, Date, BTreeSet<&str>)> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in &journal.entries {
        for p in &entry.postings {
            let commodity = match p.amount {
                Amount::Fiat(_) => journal.currency.code(),
                Amount::Lot { .. } => journal.token.symbol(),
            };
            let i = *index.entry(p.account.as_str()).or_insert_with(|| {
                order.push((p.account.as_str(), entry.date, BTreeSet::new()));
                order.len() - 1
            });
            if let Some(slot) = order.get_mut(i) {
                slot.2.insert(commodity);
            }
        }
    }
    order
}

fn account_width(entry: &Entry) -> usize {
    entry.postings.iter().map(|p| p.account.chars().count()).max().unwrap_or(0)
}

/// The journal in beancount 3 syntax.
///
/// Lots. Booking is STRICT on every account that holds lots, so a reduction must match
/// exactly one held lot and beancount refuses one that matches none: we write augmentations
/// as `400 GRID {{800.00 USD, 2026-01-31, "vest-1"}}` (the total basis, as we hold it, not a
/// per-unit cost we would have to round) and reductions as `-100 GRID {2026-01-31, "vest-1"}`,
/// matched by date and label. Beancount turns a total cost into a per-unit cost
/// (basis ÷ units, 28 significant digits) and weighs a reduction at units × that cost. When
/// our basis for the reduced units is exactly that pro-rata share (always so for a whole lot)
/// the weight is ours to within 10⁻²⁰. When it is not — our lots round each disposal's basis
/// to cents, and the last disposal takes what is left — beancount's weight differs from ours
/// by up to half a cent per disposal, and the last disposal of a lot carries what the earlier
/// ones rounded away: past beancount's 0.005 tolerance (bean-check then fails the entry), and
/// enough to make its balances drift from ours. So such a reduction is written as two
/// postings: the whole lot leaves (weight −held basis) and the remaining units come back under
/// the same label and date at the remaining basis (`{{…}}` again). Together they weigh exactly
/// −(our basis of the units sold), beancount's lot keeps our basis to the cent, and the gain
/// the entry posts is the gain beancount sees. Booking NONE would take reductions at any cost
/// we wrote, but would no longer check that the lot exists, so it was not chosen.
///
/// Every account is opened on the date of its first posting, limited to the commodities it
/// uses; each transaction carries its id as metadata.
///
/// Limit: beancount sums in Python decimals of 28 significant digits, so an account's token
/// total is exact only while it has at most 28 digits (below 10¹⁰ whole tokens of an
/// 18-decimal token); hledger has no such limit.
pub fn to_beancount(journal: &Journal) -> Result<String, BooksError> {
    let plan = journal.plan()?;
    let symbol = beancount_symbol(&journal.token)?;
    let currency = journal.currency.code();
    let mut out = String::new();
    let _ = writeln!(out, "option \"title\" {}", bean_string(&journal.title));
    let _ = writeln!(out, "option \"operating_currency\" \"{currency}\"");
    // Tolerance for entries with no fiat posting (a transfer of lots between wallets), where
    // beancount cannot infer one and the 28-digit per-unit division leaves ~10⁻²⁰ of noise.
    let _ = writeln!(out, "option \"inferred_tolerance_default\" \"{currency}:0.005\"");
    if let Some(first) = journal.entries.first() {
        let _ = writeln!(out);
        let _ = writeln!(out, "{} commodity {symbol}", first.date);
    }
    for (account, date, commodities) in accounts_in_use(journal) {
        let list: Vec<&str> = commodities.iter().copied().collect();
        let booking = if commodities.contains(symbol) { " \"STRICT\"" } else { "" };
        let _ = writeln!(out, "{date} open {account} {}{booking}", list.join(","));
    }
    for (entry, actions) in journal.entries.iter().zip(&plan.actions) {
        let _ = writeln!(out);
        let _ = writeln!(out, "{} * {}", entry.date, bean_string(&entry.narration));
        let _ = writeln!(out, "  id: {}", bean_string(&entry.id));
        let width = account_width(entry);
        for (p, action) in entry.postings.iter().zip(actions) {
            let account = &p.account;
            let (units, negative, lot, price) = match &p.amount {
                Amount::Fiat(d) => {
                    let _ = writeln!(out, "  {account:width$}  {} {currency}", money(*d));
                    continue;
                }
                Amount::Lot { units, negative, lot, price } => (*units, *negative, lot, price),
            };
            let at = price.map(|x| format!(" @ {} {currency}", price_text(x))).unwrap_or_default();
            let (acquired, label) = (lot.acquired, bean_string(&lot.label));
            match action {
                Some(LotAction::Restate { held, remaining, remaining_basis }) => {
                    let held = signed_units(&journal.token, *held, true);
                    let _ = writeln!(out, "  {account:width$}  {held} {symbol} {{{acquired}, {label}}}{at}");
                    let back = journal.token.format(*remaining);
                    let basis = money(*remaining_basis);
                    let _ = writeln!(
                        out,
                        "  {account:width$}  {back} {symbol} {{{{{basis} {currency}, {acquired}, {label}}}}} ; remainder at its exact basis"
                    );
                }
                _ if negative => {
                    let u = signed_units(&journal.token, units, true);
                    let _ = writeln!(out, "  {account:width$}  {u} {symbol} {{{acquired}, {label}}}{at}");
                }
                _ => {
                    let u = journal.token.format(units);
                    let basis = money(lot.basis);
                    let _ = writeln!(
                        out,
                        "  {account:width$}  {u} {symbol} {{{{{basis} {currency}, {acquired}, {label}}}}}{at}"
                    );
                }
            }
        }
    }
    Ok(out)
}

/// hledger reads `;` in a description as the start of a comment and has no escape for it, so
/// descriptions get `,` instead; control characters become spaces. A description starting
/// with `(` would be read as a transaction code, so an empty code `()` goes first.
fn hledger_description(s: &str) -> String {
    let d = one_line(s).replace(';', ",");
    if d.starts_with('(') { format!("() {d}") } else { d }
}

/// A tag value ends at a comma or the line's end: `%`, `,` and control characters are
/// percent-encoded, so every value comes back whole.
fn hledger_tag_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '%' || c == ',' || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// hledger takes a bare commodity symbol only when it is letters; others are quoted.
fn hledger_symbol(symbol: &str) -> String {
    if symbol.chars().all(|c| c.is_ascii_alphabetic()) { symbol.to_owned() } else { format!("\"{symbol}\"") }
}

/// The journal in hledger syntax (checked with hledger 1.25).
///
/// hledger ignores lot costs, so each lot posting carries its basis as a total price:
/// `400 GRID @@ 800.00 USD`, `-100 GRID @@ 200.00 USD` (the price takes the sign of the
/// units). Entries already balance at cost, gains posted explicitly, so `hledger bal --cost`
/// gives our fiat balances. The lot label, acquisition date and sale price go in a posting
/// comment as tags (`lot:`, `acquired:`, `price:`), the entry id in the transaction comment
/// (`id:`). Commodities are declared with their full precision (so reports show every digit)
/// and every account is declared, so `hledger check accounts commodities` passes.
pub fn to_hledger(journal: &Journal) -> Result<String, BooksError> {
    journal.check()?;
    let currency = journal.currency.code();
    let token = hledger_symbol(journal.token.symbol());
    let mut out = String::new();
    let _ = writeln!(out, "; {}", one_line(&journal.title));
    let _ = writeln!(out, "decimal-mark .");
    let _ = writeln!(out, "commodity 1000.00 {currency}");
    let places = "0".repeat(usize::from(journal.token.decimals()));
    let _ = writeln!(out, "commodity 1000.{places} {token}");
    let _ = writeln!(out);
    for (account, _, _) in accounts_in_use(journal) {
        let _ = writeln!(out, "account {account}");
    }
    for entry in &journal.entries {
        let _ = writeln!(out);
        let description = hledger_description(&entry.narration);
        let _ = writeln!(out, "{} * {description}  ; id:{}", entry.date, hledger_tag_value(&entry.id));
        let width = account_width(entry);
        for p in &entry.postings {
            let account = &p.account;
            match &p.amount {
                Amount::Fiat(d) => {
                    let _ = writeln!(out, "    {account:width$}  {} {currency}", money(*d));
                }
                Amount::Lot { units, negative, lot, price } => {
                    let u = signed_units(&journal.token, *units, *negative);
                    let basis = money(lot.basis);
                    let mut tags = format!("lot:{}, acquired:{}", hledger_tag_value(&lot.label), lot.acquired);
                    if let Some(price) = price {
                        let _ = write!(tags, ", price:{} {currency}", price_text(*price));
                    }
                    let _ = writeln!(out, "    {account:width$}  {u} {token} @@ {basis} {currency}  ; {tags}");
                }
            }
        }
    }
    Ok(out)
}

/// The journal as CSV, one row per posting, with a header row:
///
/// | column | content |
/// |---|---|
/// | `entry_id` | the entry's id |
/// | `date` | the entry's date, `YYYY-MM-DD` |
/// | `narration` | the entry's narration, as given |
/// | `account` | the posting's account |
/// | `amount_fiat` | the posting's weight in `currency`, exact cents: the fiat amount, or ±basis for a lot |
/// | `currency` | the journal's currency code |
/// | `units_tokens` | for a lot posting, signed units in whole tokens, exact (`-1.5`); empty for fiat |
/// | `lot` | the lot label; empty for fiat |
/// | `lot_acquired` | the lot's acquisition date; empty for fiat |
///
/// Returns an error instead of writing a journal that does not pass [`Journal::check`].
pub fn to_csv(journal: &Journal) -> Result<String, BooksError> {
    journal.check()?;
    let csv_err = |e: csv::Error| BooksError::Csv { reason: e.to_string() };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "entry_id",
        "date",
        "narration",
        "account",
        "amount_fiat",
        "currency",
        "units_tokens",
        "lot",
        "lot_acquired",
    ])
    .map_err(csv_err)?;
    let currency = journal.currency.code();
    for entry in &journal.entries {
        let date = entry.date.to_string();
        for p in &entry.postings {
            let weight = money(p.amount.weight());
            let (units, lot, acquired) = match &p.amount {
                Amount::Fiat(_) => (String::new(), "", String::new()),
                Amount::Lot { units, negative, lot, .. } => {
                    (signed_units(&journal.token, *units, *negative), lot.label.as_str(), lot.acquired.to_string())
                }
            };
            // Text cells through `csv_text` (no formula runs when the file is opened);
            // numbers as they are.
            let text = tokencomp_formats::csv_text::neutralise;
            w.write_record([
                &*text(&entry.id),
                date.as_str(),
                &*text(&entry.narration),
                &*text(&p.account),
                weight.as_str(),
                currency,
                units.as_str(),
                &*text(lot),
                acquired.as_str(),
            ])
            .map_err(csv_err)?;
        }
    }
    let bytes = w.into_inner().map_err(|e| BooksError::Csv { reason: e.to_string() })?;
    String::from_utf8(bytes).map_err(|e| BooksError::Csv { reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_share_cross_multiplies() {
        let t = TokenAmount::from_base_units;
        let d = |s: &str| s.parse::<Decimal>().expect("a decimal literal");
        assert!(exact_share(t(400), d("800.00"), t(1000), d("2000.00")));
        assert!(!exact_share(t(1), d("3.33"), t(3), d("10.00")));
        assert!(exact_share(t(3), d("10.00"), t(3), d("10.00")));
        assert!(exact_share(t(1), d("0.00"), t(7), d("0.00")));
        // b·U overflows u128: not exact (it cannot be, as B·u fits).
        assert!(!exact_share(t(1), d("1.00"), t(u128::MAX), d("2.00")));
    }

    #[test]
    fn tag_values_are_percent_encoded() {
        assert_eq!(hledger_tag_value("a,b%c\nd"), "a%2Cb%25c%0Ad");
        assert_eq!(hledger_tag_value("Zoë \"x\""), "Zoë \"x\"");
    }

    #[test]
    fn strings_are_escaped_for_beancount() {
        assert_eq!(bean_string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(bean_string("line\nbreak"), "\"line break\"");
    }
}
