//! books: the journal's checks, account components, escaping, hand-worked goldens of each
//! writer, property tests of the balances, and differential tests against the real tools
//! (beancount 3 + beanquery from TOKENCOMP_TEST_VENV, hledger from PATH; both installed by
//! scripts/tools.sh, which ./scripts/test sources). The differential tests fail, never skip,
//! when a tool is missing.

// Tests may unwrap: a failure panics at the line that says what was expected.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::rng::Rng;
use jiff::ToSpan;
use jiff::civil::{Date, date};
use proptest::prelude::*;
use tokencomp_compliance::books::{
    AccountNames, Amount, Balance, BooksError, Entry, HeldLot, Journal, LotRef, Posting, account_component,
    account_is_valid, to_beancount, to_csv, to_hledger,
};
use tokencomp_formats::csv_text::restore;
use tokencomp_money::{Currency, Decimal, MONEY_ROUNDING, Token, TokenAmount, token_value};

// ---------------------------------------------------------------------------------------------
// Building journals

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn fiat(account: &str, amount: &str) -> Posting {
    Posting { account: account.to_owned(), amount: Amount::Fiat(dec(amount)) }
}

fn lot(account: &str, token: &Token, units: &str, negative: bool, label: &str, acquired: Date, basis: &str) -> Posting {
    Posting {
        account: account.to_owned(),
        amount: Amount::Lot {
            units: token.parse(units).unwrap(),
            negative,
            lot: LotRef { label: label.to_owned(), acquired, basis: dec(basis) },
            price: None,
        },
    }
}

fn priced(mut p: Posting, price: &str) -> Posting {
    if let Amount::Lot { price: slot, .. } = &mut p.amount {
        *slot = Some(dec(price));
    }
    p
}

fn entry(date: Date, id: &str, narration: &str, postings: Vec<Posting>) -> Entry {
    Entry { date, id: id.to_owned(), narration: narration.to_owned(), postings }
}

fn grid() -> Token {
    Token::new("GRID", 18).unwrap()
}

/// The golden journal, worked by hand (docs/tax-rules.md#income-recognition: FMV at vesting is wages
/// and the lot's basis; sell-to-cover is a disposal of that lot; short term is one year or
/// less, IRS Pub. 544 / Form 8949; selling fees reduce the amount realized, Form 8949
/// instructions, column (g)/(e)).
///
/// 1. 2026-01-31 vest 1000 GRID at FMV 2.50: basis 1000 × 2.50 = 2500.00 (wages).
/// 2. same day, sell-to-cover 300 GRID at 2.49: proceeds 300 × 2.49 = 747.00, fee 0.75,
///    withheld cash 746.25; basis 300 × 2.50 = 750.00 (exactly pro-rata: 750/300 = 2500/1000);
///    gain 747.00 − 0.75 − 750.00 = −3.75 (a loss: +3.75 to the gains account).
///    Weights: −750.00 + 746.25 + 3.75 = 0.
/// 3. 2026-06-30 sell 233.333333333333333333 of the 700 left (basis 1750.00) at 3.10: our lots
///    round the basis to cents, 1750.00 × 233.333…/700 = 583.333… → 583.33, not the exact
///    pro-rata share, so beancount gets the restated form: −700 leaves, 466.666666666666666667
///    comes back at 1750.00 − 583.33 = 1166.67. Proceeds 233.333333333333333333 × 3.10 =
///    723.3333… → 723.33; fee 1.00; cash 722.33; gain 723.33 − 1.00 − 583.33 = 139.00 (short
///    term). Weights: −583.33 + 722.33 − 139.00 = 0.
/// 4. 2027-03-01 sell the remaining 466.666666666666666667 (basis 1166.67, the whole lot) at
///    4.00: proceeds 1866.666…668 → 1866.67, no fee; gain 1866.67 − 1166.67 = 700.00, long
///    term (held from 2026-02-01, more than a year). Weights: −1166.67 + 1866.67 − 700.00 = 0.
fn golden_journal() -> Journal {
    let t = grid();
    let vested = date(2026, 1, 31);
    let w = "Assets:Wallet:Main";
    Journal {
        title: "Ada's \"token\" book".to_owned(),
        token: t.clone(),
        currency: Currency::USD,
        entries: vec![
            entry(
                vested,
                "vest:g-1:2026-01-31",
                "Vest of g-1",
                vec![lot(w, &t, "1000", false, "vest-1", vested, "2500.00"), fiat("Income:Wages", "-2500.00")],
            ),
            entry(
                vested,
                "stc:g-1:2026-01-31",
                "Sell-to-cover",
                vec![
                    priced(lot(w, &t, "300", true, "vest-1", vested, "750.00"), "2.49"),
                    fiat("Expenses:Taxes:Withheld", "746.25"),
                    fiat("Income:CapitalGains:ShortTerm", "3.75"),
                ],
            ),
            entry(
                date(2026, 6, 30),
                "sale:1",
                "Sale to \"Zoë\"; fee 1.00",
                vec![
                    priced(lot(w, &t, "233.333333333333333333", true, "vest-1", vested, "583.33"), "3.1"),
                    fiat("Assets:Bank", "722.33"),
                    fiat("Income:CapitalGains:ShortTerm", "-139.00"),
                ],
            ),
            entry(
                date(2027, 3, 1),
                "sale:2",
                "Sale of the rest",
                vec![
                    priced(lot(w, &t, "466.666666666666666667", true, "vest-1", vested, "1166.67"), "4"),
                    fiat("Assets:Bank", "1866.67"),
                    fiat("Income:CapitalGains:LongTerm", "-700.00"),
                ],
            ),
        ],
    }
}

// ---------------------------------------------------------------------------------------------
// Checks: every refusal names the entry

#[test]
fn an_unbalanced_entry_is_refused_naming_it() {
    let mut j = golden_journal();
    // One cent short on the gain: −583.33 + 722.33 − 138.99 = 0.01.
    j.entries[2].postings[2] = fiat("Income:CapitalGains:ShortTerm", "-138.99");
    let err = j.check().unwrap_err();
    assert_eq!(err, BooksError::Unbalanced { id: "sale:1".into(), residual: dec("0.01"), currency: Currency::USD });
    assert!(err.to_string().contains("`sale:1`"), "{err}");
    assert!(err.to_string().contains("0.01 USD"), "{err}");
    // Every writer checks first.
    assert_eq!(to_beancount(&j).unwrap_err(), err);
    assert_eq!(to_hledger(&j).unwrap_err(), err);
    assert_eq!(to_csv(&j).unwrap_err(), err);
    assert_eq!(j.balances().unwrap_err(), err);
}

#[test]
fn lot_flow_errors_name_entry_account_and_lot() {
    let t = grid();
    let d = date(2026, 1, 31);
    let w = "Assets:Wallet:Main";
    let vest = entry(d, "v", "vest", vec![lot(w, &t, "10", false, "L", d, "20.00"), fiat("Income:Wages", "-20.00")]);
    let sale = |units: &str, label: &str, acquired: Date, basis: &str, cash: &str| {
        entry(
            date(2026, 3, 1),
            "s",
            "sale",
            vec![lot(w, &t, units, true, label, acquired, basis), fiat("Assets:Bank", cash)],
        )
    };
    let run = |e: Entry| {
        Journal { title: "t".into(), token: t.clone(), currency: Currency::USD, entries: vec![vest.clone(), e] }
            .check()
            .err()
    };
    let (s, acct) = ("s".to_owned(), w.to_owned());
    assert_eq!(
        run(sale("1", "M", d, "2.00", "2.00")),
        Some(BooksError::LotNotHeld { id: s.clone(), account: acct.clone(), label: "M".into() })
    );
    assert_eq!(
        run(sale("11", "L", d, "20.00", "20.00")),
        Some(BooksError::LotOverdrawn {
            id: s.clone(),
            account: acct.clone(),
            label: "L".into(),
            held: t.parse("10").unwrap(),
            wanted: t.parse("11").unwrap(),
        })
    );
    assert_eq!(
        run(sale("1", "L", date(2026, 1, 30), "2.00", "2.00")),
        Some(BooksError::LotDateMismatch {
            id: s.clone(),
            account: acct.clone(),
            label: "L".into(),
            held: d,
            posted: date(2026, 1, 30)
        })
    );
    // Closing every unit must take the whole basis, or a basis would be left with no units.
    assert!(matches!(run(sale("10", "L", d, "19.99", "19.99")), Some(BooksError::LotBasisMismatch { .. })));
    assert!(matches!(run(sale("5", "L", d, "20.01", "20.01")), Some(BooksError::LotBasisMismatch { .. })));
    // A lot label is opened once per account while it is held.
    let again = entry(d, "v2", "vest", vec![lot(w, &t, "1", false, "L", d, "2.00"), fiat("Income:Wages", "-2.00")]);
    assert_eq!(
        run(again),
        Some(BooksError::LotAlreadyOpen { id: "v2".into(), account: acct.clone(), label: "L".into() })
    );
    assert!(run(sale("10", "L", d, "20.00", "20.00")).is_none());
    assert!(run(sale("5", "L", d, "10.00", "10.00")).is_none());
}

#[test]
fn malformed_journals_are_refused() {
    let t = grid();
    let d = date(2026, 1, 31);
    let ok = || entry(d, "a", "x", vec![fiat("Assets:Bank", "1.00"), fiat("Equity:Capital", "-1.00")]);
    let journal =
        |entries: Vec<Entry>| Journal { title: "t".into(), token: t.clone(), currency: Currency::USD, entries };
    let mut b = ok();
    b.id = "b".into();
    assert!(journal(vec![ok(), b.clone()]).check().is_ok());
    assert_eq!(journal(vec![ok(), ok()]).check(), Err(BooksError::DuplicateId { id: "a".into() }));
    let mut early = b.clone();
    early.date = date(2026, 1, 30);
    assert_eq!(
        journal(vec![ok(), early]).check(),
        Err(BooksError::OutOfOrder { id: "b".into(), date: date(2026, 1, 30), previous: d })
    );
    let mut empty = ok();
    empty.postings.clear();
    assert_eq!(journal(vec![empty]).check(), Err(BooksError::EmptyEntry { id: "a".into() }));
    for bad in ["", "a\nb"] {
        let mut e = ok();
        e.id = bad.into();
        assert!(matches!(journal(vec![e]).check(), Err(BooksError::BadId { .. })), "{bad:?}");
    }
    for bad in ["Bank", "Assets", "Assets:bank", "Assets:Main wallet", "Assets::X", "Asset:X", "Assets:Zoë"] {
        let mut e = ok();
        e.postings[0].account = bad.into();
        let err = journal(vec![e]).check().unwrap_err();
        assert!(matches!(&err, BooksError::BadAccount { id, account, .. } if id == "a" && account == bad), "{bad}");
    }
    let mut e = ok();
    e.postings = vec![fiat("Assets:Bank", "1.005"), fiat("Equity:Capital", "-1.005")];
    assert!(matches!(journal(vec![e]).check(), Err(BooksError::NotCents { .. })));
    let mut e = ok();
    e.postings = vec![lot("Assets:W", &t, "0", false, "L", d, "0.00"), fiat("Equity:Capital", "0.00")];
    assert!(matches!(journal(vec![e]).check(), Err(BooksError::ZeroUnits { .. })));
    let mut e = ok();
    e.postings = vec![lot("Assets:W", &t, "1", false, "L", d, "-1.00"), fiat("Equity:Capital", "1.00")];
    assert!(matches!(journal(vec![e]).check(), Err(BooksError::NegativeBasis { .. })));
    let mut e = ok();
    e.postings = vec![priced(lot("Assets:W", &t, "1", false, "L", d, "1.00"), "0"), fiat("Equity:Capital", "-1.00")];
    assert!(matches!(journal(vec![e]).check(), Err(BooksError::NonPositivePrice { .. })));
    let mut e = ok();
    e.postings = vec![
        lot("Assets:W", &t, "1", false, "L", d, "1.00"),
        lot("Assets:W", &t, "1", false, "L", d, "1.00"),
        fiat("Equity:Capital", "-2.00"),
    ];
    assert!(matches!(journal(vec![e]).check(), Err(BooksError::LotTwiceInEntry { .. })));

    // Beancount spells commodities in capitals; hledger and CSV take the symbol as it is.
    let mut j = journal(vec![ok()]);
    j.token = Token::new("wETH", 18).unwrap();
    assert!(matches!(to_beancount(&j), Err(BooksError::BeancountSymbol { .. })));
    assert!(to_hledger(&j).unwrap().contains("commodity 1000.000000000000000000 wETH\n"));
    j.token = Token::new("USD", 2).unwrap();
    assert!(matches!(j.check(), Err(BooksError::TokenIsCurrency { .. })));
}

// ---------------------------------------------------------------------------------------------
// Account components

#[test]
fn account_components_examples() {
    assert_eq!(account_component("ada"), "Ada");
    assert_eq!(account_component("employer_nic"), "EmployerNic");
    assert_eq!(account_component("g-1"), "G1");
    assert_eq!(account_component("2026-q1"), "2026Q1");
    assert_eq!(account_component("main wallet"), "MainWallet");
    assert_eq!(account_component("Zoë Łukasz"), "ZoUkasz");
    for id in ["", "-", "李", "  "] {
        assert_eq!(account_component(id), "X", "{id:?}");
    }
    for id in ["", "-", "Zoë Łukasz", "李", "a:b", "  x  ", "\"quoted\"", "UPPER"] {
        let c = account_component(id);
        assert!(account_is_valid(&format!("Assets:Wallet:{c}")), "{id:?} → {c}");
    }
}

/// Two different ids that read the same after sanitising: the first in byte order keeps the
/// readable name, the second gets `-2` (and a third `-3`); an id that collides with nothing
/// keeps its name, and a reserved fixed account is never given to an id.
#[test]
fn colliding_account_names_get_a_numeric_suffix() {
    let names = AccountNames::new(
        ["Expenses:TokenCompensation:TopUps"],
        [
            ("Assets:Wallet", "main-wallet"),
            ("Assets:Wallet", "main wallet"),
            ("Assets:Wallet", "main_wallet"),
            ("Assets:Wallet", "cold"),
            ("Expenses:TokenCompensation", "top-ups"),
            ("Liabilities:PayrollTaxes", "employer_nic"),
        ],
    );
    assert_eq!(names.get("Assets:Wallet", "main wallet"), Some("Assets:Wallet:MainWallet"));
    assert_eq!(names.get("Assets:Wallet", "main-wallet"), Some("Assets:Wallet:MainWallet-2"));
    assert_eq!(names.get("Assets:Wallet", "main_wallet"), Some("Assets:Wallet:MainWallet-3"));
    assert_eq!(names.get("Assets:Wallet", "cold"), Some("Assets:Wallet:Cold"));
    assert_eq!(names.get("Expenses:TokenCompensation", "top-ups"), Some("Expenses:TokenCompensation:TopUps-2"));
    assert_eq!(names.get("Liabilities:PayrollTaxes", "employer_nic"), Some("Liabilities:PayrollTaxes:EmployerNic"));
    assert_eq!(names.get("Assets:Wallet", "hot"), None);
    // The order ids are given in does not matter.
    let reversed = AccountNames::new(
        ["Expenses:TokenCompensation:TopUps"],
        [
            ("Liabilities:PayrollTaxes", "employer_nic"),
            ("Expenses:TokenCompensation", "top-ups"),
            ("Assets:Wallet", "cold"),
            ("Assets:Wallet", "main_wallet"),
            ("Assets:Wallet", "main wallet"),
            ("Assets:Wallet", "main-wallet"),
        ],
    );
    assert_eq!(names, reversed);
}

proptest! {
    #[test]
    fn account_components_are_valid_and_deterministic(id in any::<String>()) {
        let c = account_component(&id);
        prop_assert!(account_is_valid(&format!("Liabilities:Payable:{c}")), "{:?} → {}", id, c);
        prop_assert_eq!(&c, &account_component(&id));
    }

    /// Within one journal distinct ids always get distinct, valid accounts.
    #[test]
    fn distinct_ids_get_distinct_accounts(
        ids in proptest::collection::vec(
            prop_oneof![any::<String>(), "[a-z0-9][a-z0-9-]{0,8}", "[A-Za-z0-9 _-]{0,8}"],
            0..12,
        ),
    ) {
        let names = AccountNames::new([], ids.iter().map(|id| ("Assets:Wallet", id.as_str())));
        let mut seen = std::collections::BTreeMap::new();
        for id in &ids {
            let account = names.get("Assets:Wallet", id).expect("every id is named");
            prop_assert!(account_is_valid(account), "{:?} → {}", id, account);
            if let Some(other) = seen.insert(account.to_owned(), id.clone()) {
                prop_assert_eq!(&other, id, "two ids share {}", account);
            }
        }
    }

    #[test]
    fn lower_case_words_only_gain_a_capital(id in "[a-z][a-z0-9]{0,20}") {
        let c = account_component(&id);
        prop_assert_eq!(c.to_ascii_lowercase(), id);
    }

    /// Whatever narrations, ids and labels hold, the texts stay well formed: one line per
    /// posting, beancount strings closed, nothing control-like left.
    #[test]
    fn texts_survive_any_strings(narration in any::<String>(), id in "[^\\p{Cc}]{1,20}", label in "[^\\p{Cc}]{1,20}") {
        let t = grid();
        let d = date(2026, 1, 31);
        let j = Journal {
            title: narration.clone(),
            token: t.clone(),
            currency: Currency::EUR,
            entries: vec![entry(d, &id, &narration, vec![
                lot("Assets:Wallet:Main", &t, "1.5", false, &label, d, "3.00"),
                fiat("Income:Wages", "-3.00"),
            ])],
        };
        let bean = to_beancount(&j).unwrap();
        prop_assert!(!bean.chars().any(|c| c.is_control() && c != '\n'));
        // Three options, a blank line, a commodity, two opens, a blank line, the header, the id
        // and two postings: 12 lines whatever the strings.
        prop_assert_eq!(bean.lines().count(), 12, "{}", bean);
        for line in bean.lines() {
            prop_assert_eq!(unescaped_quotes(line) % 2, 0, "{}", line);
        }
        let hl = to_hledger(&j).unwrap();
        prop_assert!(!hl.chars().any(|c| c.is_control() && c != '\n'));
        let header = hl.lines().find(|l| l.starts_with("2026-01-31 * ")).unwrap();
        // The description holds no `;`, so hledger sees the whole of it and the id tag after it.
        let (description, comment) = header.split_once("  ; id:").unwrap();
        prop_assert!(!description.contains(';'));
        prop_assert_eq!(percent_decode(comment), id.clone());
        let csv = to_csv(&j).unwrap();
        let mut rows = csv::Reader::from_reader(csv.as_bytes());
        let row = rows.records().next().unwrap().unwrap();
        // Issue 15 item 18: a text cell never starts a formula (a quote goes before one), and
        // the text reads back exactly through `csv_text::restore`.
        for k in [0, 2, 7] {
            prop_assert!(!row[k].starts_with(['=', '+', '-', '@', '\t', '\r']), "{:?}", &row[k]);
        }
        prop_assert_eq!(restore(&row[0]), id.as_str());
        prop_assert_eq!(restore(&row[2]), narration.as_str());
        prop_assert_eq!(restore(&row[7]), label.as_str());
    }
}

/// Quotes in a beancount line not preceded by an escaping backslash.
fn unescaped_quotes(line: &str) -> usize {
    let mut n = 0;
    let mut escaped = false;
    for c in line.chars() {
        match (escaped, c) {
            (false, '\\') => escaped = true,
            (false, '"') => n += 1,
            _ => escaped = false,
        }
    }
    n
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Goldens (see golden_journal for the arithmetic)

#[test]
fn golden_beancount() {
    let expected = r#"option "title" "Ada's \"token\" book"
option "operating_currency" "USD"
option "inferred_tolerance_default" "USD:0.005"

2026-01-31 commodity GRID
2026-01-31 open Assets:Wallet:Main GRID "STRICT"
2026-01-31 open Income:Wages USD
2026-01-31 open Expenses:Taxes:Withheld USD
2026-01-31 open Income:CapitalGains:ShortTerm USD
2026-06-30 open Assets:Bank USD
2027-03-01 open Income:CapitalGains:LongTerm USD

2026-01-31 * "Vest of g-1"
  id: "vest:g-1:2026-01-31"
  Assets:Wallet:Main  1000 GRID {{2500.00 USD, 2026-01-31, "vest-1"}}
  Income:Wages        -2500.00 USD

2026-01-31 * "Sell-to-cover"
  id: "stc:g-1:2026-01-31"
  Assets:Wallet:Main             -300 GRID {2026-01-31, "vest-1"} @ 2.49 USD
  Expenses:Taxes:Withheld        746.25 USD
  Income:CapitalGains:ShortTerm  3.75 USD

2026-06-30 * "Sale to \"Zoë\"; fee 1.00"
  id: "sale:1"
  Assets:Wallet:Main             -700 GRID {2026-01-31, "vest-1"} @ 3.10 USD
  Assets:Wallet:Main             466.666666666666666667 GRID {{1166.67 USD, 2026-01-31, "vest-1"}} ; remainder at its exact basis
  Assets:Bank                    722.33 USD
  Income:CapitalGains:ShortTerm  -139.00 USD

2027-03-01 * "Sale of the rest"
  id: "sale:2"
  Assets:Wallet:Main            -466.666666666666666667 GRID {2026-01-31, "vest-1"} @ 4.00 USD
  Assets:Bank                   1866.67 USD
  Income:CapitalGains:LongTerm  -700.00 USD
"#;
    assert_eq!(to_beancount(&golden_journal()).unwrap(), expected);
}

#[test]
fn golden_hledger() {
    let expected = r#"; Ada's "token" book
decimal-mark .
commodity 1000.00 USD
commodity 1000.000000000000000000 GRID

account Assets:Wallet:Main
account Income:Wages
account Expenses:Taxes:Withheld
account Income:CapitalGains:ShortTerm
account Assets:Bank
account Income:CapitalGains:LongTerm

2026-01-31 * Vest of g-1  ; id:vest:g-1:2026-01-31
    Assets:Wallet:Main  1000 GRID @@ 2500.00 USD  ; lot:vest-1, acquired:2026-01-31
    Income:Wages        -2500.00 USD

2026-01-31 * Sell-to-cover  ; id:stc:g-1:2026-01-31
    Assets:Wallet:Main             -300 GRID @@ 750.00 USD  ; lot:vest-1, acquired:2026-01-31, price:2.49 USD
    Expenses:Taxes:Withheld        746.25 USD
    Income:CapitalGains:ShortTerm  3.75 USD

2026-06-30 * Sale to "Zoë", fee 1.00  ; id:sale:1
    Assets:Wallet:Main             -233.333333333333333333 GRID @@ 583.33 USD  ; lot:vest-1, acquired:2026-01-31, price:3.10 USD
    Assets:Bank                    722.33 USD
    Income:CapitalGains:ShortTerm  -139.00 USD

2027-03-01 * Sale of the rest  ; id:sale:2
    Assets:Wallet:Main            -466.666666666666666667 GRID @@ 1166.67 USD  ; lot:vest-1, acquired:2026-01-31, price:4.00 USD
    Assets:Bank                   1866.67 USD
    Income:CapitalGains:LongTerm  -700.00 USD
"#;
    assert_eq!(to_hledger(&golden_journal()).unwrap(), expected);
}

#[test]
fn golden_csv() {
    let expected = "\
entry_id,date,narration,account,amount_fiat,currency,units_tokens,lot,lot_acquired
vest:g-1:2026-01-31,2026-01-31,Vest of g-1,Assets:Wallet:Main,2500.00,USD,1000,vest-1,2026-01-31
vest:g-1:2026-01-31,2026-01-31,Vest of g-1,Income:Wages,-2500.00,USD,,,
stc:g-1:2026-01-31,2026-01-31,Sell-to-cover,Assets:Wallet:Main,-750.00,USD,-300,vest-1,2026-01-31
stc:g-1:2026-01-31,2026-01-31,Sell-to-cover,Expenses:Taxes:Withheld,746.25,USD,,,
stc:g-1:2026-01-31,2026-01-31,Sell-to-cover,Income:CapitalGains:ShortTerm,3.75,USD,,,
sale:1,2026-06-30,\"Sale to \"\"Zoë\"\"; fee 1.00\",Assets:Wallet:Main,-583.33,USD,-233.333333333333333333,vest-1,2026-01-31
sale:1,2026-06-30,\"Sale to \"\"Zoë\"\"; fee 1.00\",Assets:Bank,722.33,USD,,,
sale:1,2026-06-30,\"Sale to \"\"Zoë\"\"; fee 1.00\",Income:CapitalGains:ShortTerm,-139.00,USD,,,
sale:2,2027-03-01,Sale of the rest,Assets:Wallet:Main,-1166.67,USD,-466.666666666666666667,vest-1,2026-01-31
sale:2,2027-03-01,Sale of the rest,Assets:Bank,1866.67,USD,,,
sale:2,2027-03-01,Sale of the rest,Income:CapitalGains:LongTerm,-700.00,USD,,,
";
    assert_eq!(to_csv(&golden_journal()).unwrap(), expected);
}

#[test]
fn golden_balances() {
    // Wallet: +2500.00 − 750.00 − 583.33 − 1166.67 = 0 and 1000 − 300 − 233.33… − 466.66… = 0
    // tokens; short-term gains: +3.75 − 139.00 = −135.25; bank: 722.33 + 1866.67 = 2589.00.
    let b = golden_journal().balances().unwrap();
    let t = grid();
    let wallet = &b["Assets:Wallet:Main"];
    assert_eq!(wallet.fiat, Decimal::ZERO);
    assert_eq!(wallet.tokens_in, t.parse("1000").unwrap());
    assert_eq!(wallet.net_tokens(), (false, TokenAmount::ZERO));
    assert_eq!(b["Income:CapitalGains:ShortTerm"].fiat, dec("-135.25"));
    assert_eq!(b["Income:CapitalGains:LongTerm"].fiat, dec("-700.00"));
    assert_eq!(b["Assets:Bank"].fiat, dec("2589.00"));
    assert_eq!(b["Income:Wages"].fiat, dec("-2500.00"));
    assert_eq!(b.len(), 6);
    assert!(golden_journal().open_lots().unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Seeded generators: a person's multi-year book and a company's

fn cents_of(d: Decimal) -> u128 {
    let mut x = d;
    x.rescale(2);
    u128::try_from(x.mantissa()).unwrap()
}

fn from_cents(c: u128) -> Decimal {
    Decimal::from_i128_with_scale(i128::try_from(c).unwrap(), 2)
}

fn lot_posting(
    account: &str,
    units: TokenAmount,
    negative: bool,
    label: &str,
    acquired: Date,
    basis: Decimal,
) -> Posting {
    Posting {
        account: account.to_owned(),
        amount: Amount::Lot { units, negative, lot: LotRef { label: label.to_owned(), acquired, basis }, price: None },
    }
}

fn fiat_posting(account: &str, amount: Decimal) -> Posting {
    Posting { account: account.to_owned(), amount: Amount::Fiat(amount) }
}

struct Held {
    wallet: String,
    label: String,
    acquired: Date,
    units: TokenAmount,
    basis: Decimal,
}

/// A person's book over three years: monthly vests credited to wages at FMV (the lot's
/// basis), sell-to-cover on some vest days, and sales of partial or whole lots from two
/// wallets at other prices with a fee. Per disposal (docs/tax-rules.md#us-lots): the basis
/// of u of U held units is ⌊B·u/U⌋ cents (the whole remaining basis for the last units), the
/// fee reduces the amount realized, gain = proceeds − fee − basis, short term when sold within
/// a year of vesting (on the anniversary still short). Entries balance at cost by construction.
fn person_book(seed: u64, token: Token, currency: Currency) -> Journal {
    let mut rng = Rng(seed);
    let one = token.one();
    let wallets = [
        format!("Assets:Wallet:{}", account_component("main")),
        format!("Assets:Wallet:{}", account_component("cold storage")),
    ];
    let bank = "Assets:Bank:Checking";
    let mut held: Vec<Held> = Vec::new();
    let mut entries = Vec::new();
    let mut price = rng.decimal(5_000, 40_000, 4); // 0.5000 to 4.0000 per token
    let grants = ["g-1", "g-2"];
    for month in 0..36i32 {
        let day = date(2023, 1, 1).checked_add(month.months()).unwrap().last_of_month();
        // Prices wander ±20% a month, kept positive, 4 places.
        let step = rng.decimal(80, 121, 2);
        price = (price * step).round_dp(4).max(Decimal::new(1, 4));
        for grant in grants {
            if !rng.chance(70) {
                continue;
            }
            let units = TokenAmount::from_base_units(rng.range(1, 5_000).into())
                .mul_div_floor(one, 1)
                .unwrap()
                .checked_add(TokenAmount::from_base_units(u128::from(rng.next()) % one))
                .unwrap();
            let basis = token_value(&token, units, price, MONEY_ROUNDING).unwrap();
            let label = format!("vest:{grant}:{day}");
            let wallet = wallets[usize::from(rng.chance(30))].clone();
            entries.push(Entry {
                date: day,
                id: label.clone(),
                narration: format!("Vest of {grant}: {} {} at {price}", token.format(units), token.symbol()),
                postings: vec![
                    lot_posting(&wallet, units, false, &label, day, basis),
                    fiat_posting("Income:Wages", -basis),
                ],
            });
            held.push(Held { wallet, label: label.clone(), acquired: day, units, basis });
            if rng.chance(50) {
                // Sell-to-cover: 20–45% of the vest, the same day, slightly below FMV.
                let pct = rng.range(20, 46);
                let sold = units.mul_div_floor(u128::from(pct), 100).unwrap();
                let slipped = (price * rng.decimal(990, 1001, 3)).round_dp(4).max(Decimal::new(1, 4));
                let id = format!("stc:{grant}:{day}");
                // A one-token vest of a token without decimals has nothing to sell.
                if !sold.is_zero() {
                    let h = held.last_mut().unwrap();
                    entries.push(dispose(&token, h, sold, slipped, day, &id, "Expenses:Taxes:Withheld"));
                }
            }
        }
        // Up to two sales a month, after the vests, before the next month end.
        let mut sale_day = day;
        for _ in 0..2 {
            if held.is_empty() || !rng.chance(40) {
                continue;
            }
            sale_day = sale_day.checked_add(i32::try_from(rng.range(1, 12)).unwrap().days()).unwrap();
            let i = usize::try_from(rng.range(0, u64::try_from(held.len()).unwrap())).unwrap();
            let h = &mut held[i];
            let sold = match rng.range(0, 4) {
                0 => h.units,
                // Exactly half, when that is also exactly half of the basis: the plain reduction.
                1 if h.units.base_units().is_multiple_of(2) && cents_of(h.basis).is_multiple_of(2) => {
                    TokenAmount::from_base_units(h.units.base_units() / 2)
                }
                _ => h.units.mul_div_floor(u128::from(rng.range(5, 96)), 100).unwrap(),
            };
            if sold.is_zero() {
                continue;
            }
            let sale_price = (price * rng.decimal(95, 106, 2)).round_dp(4).max(Decimal::new(1, 4));
            let id = format!("sale:{}:{sale_day}:{}", h.label, rng.next() % 1000);
            entries.push(dispose(&token, h, sold, sale_price, sale_day, &id, bank));
        }
        held.retain(|h| !h.units.is_zero());
    }
    Journal { title: format!("Person book (seed {seed})"), token, currency, entries }
}

/// A disposal of `sold` units of `h` at `price`, cash (proceeds − fee) to `cash_account`.
fn dispose(token: &Token, h: &mut Held, sold: TokenAmount, price: Decimal, day: Date, id: &str, cash: &str) -> Entry {
    let basis = if sold == h.units {
        h.basis
    } else {
        from_cents(
            TokenAmount::from_base_units(cents_of(h.basis))
                .mul_div_floor(sold.base_units(), h.units.base_units())
                .unwrap()
                .base_units(),
        )
    };
    let proceeds = token_value(token, sold, price, MONEY_ROUNDING).unwrap();
    // A 0.1% fee, at least a cent when anything was received.
    let fee = MONEY_ROUNDING
        .apply(proceeds * Decimal::new(1, 3))
        .max(if proceeds.is_zero() { Decimal::ZERO } else { Decimal::new(1, 2) })
        .min(proceeds);
    let gain = proceeds - fee - basis;
    let long = day > h.acquired.checked_add(1.year()).unwrap();
    let gains = if long { "Income:CapitalGains:LongTerm" } else { "Income:CapitalGains:ShortTerm" };
    let mut out = lot_posting(&h.wallet, sold, true, &h.label, h.acquired, basis);
    if let Amount::Lot { price: slot, .. } = &mut out.amount {
        *slot = Some(price);
    }
    h.units = h.units.checked_sub(sold).unwrap();
    h.basis -= basis;
    Entry {
        date: day,
        id: id.to_owned(),
        narration: format!("Sale of {} {} from {}", token.format(sold), token.symbol(), h.label),
        postings: vec![out, fiat_posting(cash, proceeds - fee), fiat_posting(gains, -gain)],
    }
}

/// A company's book over three years, all fiat: token compensation expense against equity
/// (equity-classified plans, ASC 718 analogy) or a liability (liability-classified plans,
/// remeasured monthly), employer payroll taxes accrued and remitted the next month, employee
/// withholding accrued per person and remitted, cash funded by capital. Every entry is built
/// as debits equal to credits.
fn company_book(seed: u64, token: Token, currency: Currency) -> Journal {
    let mut rng = Rng(seed);
    let people = ["ada", "Zoë Łukasz", "bob smith", "g-7"];
    let bank = "Assets:Bank:Operating";
    let mut entries = Vec::new();
    let mut payable_employer = Decimal::ZERO;
    let mut payable_withholding: Vec<Decimal> = vec![Decimal::ZERO; people.len()];
    entries.push(Entry {
        date: date(2023, 1, 1),
        id: "capital:2023-01-01".into(),
        narration: "Seed capital".into(),
        postings: vec![
            fiat_posting(bank, rng.decimal(500_000_000, 900_000_000, 2)),
            fiat_posting("Equity:Capital:Paid-in", Decimal::ZERO),
        ],
    });
    let e0 = &mut entries[0];
    let seed_cash = e0.postings[0].amount.weight();
    e0.postings[1] = fiat_posting("Equity:Capital:Paid-in", -seed_cash);
    for month in 0..36i32 {
        let day = date(2023, 1, 1).checked_add(month.months()).unwrap().last_of_month();
        let remit_day = day.checked_add(15.days()).unwrap();
        // Remit what the previous month accrued.
        if !payable_employer.is_zero() {
            let mut postings = vec![fiat_posting("Liabilities:TaxesPayable:Employer", payable_employer)];
            let mut total = payable_employer;
            for (person, owed) in people.iter().zip(&mut payable_withholding) {
                if !owed.is_zero() {
                    postings.push(fiat_posting(
                        &format!("Liabilities:TaxesPayable:Withholding:{}", account_component(person)),
                        *owed,
                    ));
                    total += *owed;
                    *owed = Decimal::ZERO;
                }
            }
            postings.push(fiat_posting(bank, -total));
            entries.push(Entry {
                date: remit_day,
                id: format!("remit:{remit_day}"),
                narration: "Tax remittance".into(),
                postings,
            });
            payable_employer = Decimal::ZERO;
        }
        let equity_expense = rng.decimal(100_000, 8_000_000, 2);
        let liability_expense = rng.decimal(0, 3_000_000, 2);
        entries.push(Entry {
            date: day,
            id: format!("expense:{day}"),
            narration: format!("Token compensation for {}", day.strftime("%B %Y")),
            postings: vec![
                fiat_posting("Expenses:Compensation:Tokens", equity_expense + liability_expense),
                fiat_posting("Equity:TokenAwards", -equity_expense),
                fiat_posting("Liabilities:TokenAwards", -liability_expense),
            ],
        });
        // Remeasurement of the liability awards: a gain or a loss.
        let remeasure = rng.decimal(0, 1_000_000, 2) - Decimal::new(500_000, 2);
        entries.push(Entry {
            date: day,
            id: format!("remeasure:{day}"),
            narration: "Liability awards remeasured at month-end fair value".into(),
            postings: vec![
                fiat_posting("Expenses:Compensation:Remeasurement", remeasure),
                fiat_posting("Liabilities:TokenAwards", -remeasure),
            ],
        });
        // Vest payroll: per person, wages settled in tokens; employer FICA accrued; employee
        // withholding funded by sell-to-cover cash the company receives.
        let mut postings = Vec::new();
        let mut employer_tax = Decimal::ZERO;
        for (i, person) in people.iter().enumerate() {
            if !rng.chance(60) {
                continue;
            }
            let wages = rng.decimal(50_000, 4_000_000, 2);
            let withheld = MONEY_ROUNDING.apply(wages * Decimal::new(22, 2));
            let fica = MONEY_ROUNDING.apply(wages * Decimal::new(765, 4));
            employer_tax += fica;
            payable_withholding[i] += withheld;
            let who = account_component(person);
            postings.push(fiat_posting(bank, withheld));
            postings.push(fiat_posting(&format!("Liabilities:TaxesPayable:Withholding:{who}"), -withheld));
            postings.push(fiat_posting("Expenses:PayrollTaxes:Employer", fica));
        }
        if !postings.is_empty() {
            payable_employer += employer_tax;
            postings.push(fiat_posting("Liabilities:TaxesPayable:Employer", -employer_tax));
            entries.push(Entry {
                date: day,
                id: format!("payroll:{day}"),
                narration: format!("Vest payroll {day}, \"{}\" run", token.symbol()),
                postings,
            });
        }
        if month % 12 == 11 {
            let top_up = rng.decimal(10_000_000, 90_000_000, 2);
            entries.push(Entry {
                date: day,
                id: format!("capital:{day}"),
                narration: "Capital raise".into(),
                postings: vec![fiat_posting(bank, top_up), fiat_posting("Equity:Capital:Paid-in", -top_up)],
            });
        }
    }
    // Remittance entries were pushed before the month's own entries but are dated later: sort
    // stably by date (ids are unique, so order within a date stays deterministic).
    entries.sort_by_key(|e| e.date);
    Journal { title: format!("Company book (seed {seed})"), token, currency, entries }
}

/// Strings that have broken exporters: quotes, backslashes, `;`, `,`, `%`, non-ASCII, tabs and
/// line breaks; and a transfer between wallets that restates a lot (an entry with no fiat
/// posting at all).
fn nasty_book() -> Journal {
    let t = Token::new("GRID2", 6).unwrap();
    let d = date(2025, 2, 28);
    let main = format!("Assets:Wallet:{}", account_component("Zoë's \"main\" wallet"));
    let cold = format!("Assets:Wallet:{}", account_component("cold; storage, 100%"));
    let label = "vest \"1\"; 100%, \\ Zoë";
    let u = |s: &str| t.parse(s).unwrap();
    let mut entries = vec![
        Entry {
            date: d,
            id: "vest:\"zoë\",g-1;100%".into(),
            narration: "(draft) Vest \"quoted\"; a\\b, 100% — 李\tand a\nline\u{2028}break".into(),
            postings: vec![
                lot_posting(&main, u("3"), false, label, d, dec("10.00")),
                fiat_posting("Income:Wages", dec("-10.00")),
            ],
        },
        Entry {
            date: date(2025, 3, 1),
            id: "move:1".into(),
            narration: "Move a third to cold storage".into(),
            postings: vec![
                lot_posting(&main, u("1"), true, label, d, dec("3.33")),
                lot_posting(&cold, u("1"), false, label, d, dec("3.33")),
            ],
        },
    ];
    let mut sale = lot_posting(&cold, u("0.5"), true, label, d, dec("1.66"));
    if let Amount::Lot { price, .. } = &mut sale.amount {
        *price = Some(dec("7.123456"));
    }
    entries.push(Entry {
        date: date(2026, 3, 2),
        id: "sale:%41".into(),
        narration: "".into(),
        postings: vec![
            sale,
            fiat_posting("Assets:Bank", dec("3.56")),
            fiat_posting("Income:CapitalGains:LongTerm", dec("-1.90")),
        ],
    });
    Journal { title: "Nasty \"book\"\\; 100%".into(), token: t, currency: Currency::GBP, entries }
}

fn differential_journals() -> Vec<(String, Journal)> {
    let mut out = vec![("golden".to_owned(), golden_journal()), ("nasty".to_owned(), nasty_book())];
    let tokens = [("GRID", 18), ("TKN", 6), ("NODEC", 0), ("SAT8", 8)];
    let currencies = [Currency::USD, Currency::EUR, Currency::GBP, Currency::USD];
    for (i, seed) in [11u64, 42, 2024, 90_210].into_iter().enumerate() {
        let (sym, decimals) = tokens[i];
        out.push((format!("person-{seed}"), person_book(seed, Token::new(sym, decimals).unwrap(), currencies[i])));
    }
    for (i, seed) in [7u64, 1_000_003].into_iter().enumerate() {
        out.push((format!("company-{seed}"), company_book(seed, grid(), [Currency::USD, Currency::GBP][i])));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Properties of the generated books (pure: no tools)

/// Σ over accounts of the fiat balances is zero (every entry balances); per account, the
/// tokens in and out are the lot postings' units; the lots still held add up to the wallet's
/// tokens and basis; the CSV has one row per posting and its amounts sum to zero per entry.
fn assert_book_invariants(j: &Journal) {
    j.check().unwrap();
    let balances = j.balances().unwrap();
    let total: Decimal = balances.values().map(|b| b.fiat).sum();
    assert_eq!(total, Decimal::ZERO);
    let lots = j.open_lots().unwrap();
    let mut per_account: BTreeMap<&str, (TokenAmount, Decimal)> = BTreeMap::new();
    for ((account, _), HeldLot { units, basis, .. }) in &lots {
        let slot = per_account.entry(account).or_insert((TokenAmount::ZERO, Decimal::ZERO));
        slot.0 = slot.0.checked_add(*units).unwrap();
        slot.1 += *basis;
    }
    for (account, b) in &balances {
        let (units, basis) = per_account.get(account.as_str()).copied().unwrap_or((TokenAmount::ZERO, Decimal::ZERO));
        assert_eq!(b.net_tokens(), (false, units), "{account}");
        if !b.tokens_in.is_zero() {
            // Accounts holding lots hold nothing else in these books.
            assert_eq!(b.fiat, basis, "{account}");
        }
    }
    let csv = to_csv(j).unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut n = 0;
    for row in rows.records() {
        let row = row.unwrap();
        *sums.entry(row[0].to_owned()).or_default() += dec(&row[4]);
        n += 1;
    }
    assert_eq!(n, j.entries.iter().map(|e| e.postings.len()).sum::<usize>());
    assert!(sums.values().all(Decimal::is_zero));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn generated_person_books_hold_their_invariants(seed in any::<u64>(), decimals in prop_oneof![Just(0u8), Just(6), Just(18)]) {
        assert_book_invariants(&person_book(seed, Token::new("GRID", decimals).unwrap(), Currency::USD));
    }

    #[test]
    fn generated_company_books_hold_their_invariants(seed in any::<u64>()) {
        assert_book_invariants(&company_book(seed, grid(), Currency::EUR));
    }

    /// Dropping any one posting of a balanced entry with a non-zero weight unbalances it, and
    /// the error names that entry.
    #[test]
    fn any_dropped_posting_is_caught(seed in any::<u64>(), pick in any::<prop::sample::Index>()) {
        let mut j = company_book(seed, grid(), Currency::USD);
        let e = pick.index(j.entries.len());
        let p = pick.index(j.entries[e].postings.len());
        let weight = j.entries[e].postings[p].amount.weight();
        prop_assume!(!weight.is_zero());
        j.entries[e].postings.remove(p);
        let id = j.entries[e].id.clone();
        prop_assume!(!j.entries[e].postings.is_empty());
        prop_assert_eq!(j.check(), Err(BooksError::Unbalanced { id, residual: -weight, currency: Currency::USD }));
    }
}

#[test]
fn generated_books_exercise_every_path() {
    // The differential journals must hold whole-lot closings, plain partial reductions (basis
    // exactly pro-rata), restated ones (not), long- and short-term gains, both wallets and a
    // transfer with no fiat posting, or the tools would never see them.
    let (mut whole, mut plain, mut restated, mut lot_only) = (0, 0, 0, 0);
    for (_, j) in differential_journals() {
        let mut held: BTreeMap<(String, String), (u128, u128)> = BTreeMap::new();
        for e in &j.entries {
            if e.postings.iter().all(|p| matches!(p.amount, Amount::Lot { .. })) {
                lot_only += 1;
            }
            for p in &e.postings {
                let Amount::Lot { units, negative, lot, .. } = &p.amount else { continue };
                let key = (p.account.clone(), lot.label.clone());
                let (u, b) = (units.base_units(), cents_of(lot.basis));
                if !negative {
                    held.insert(key, (u, b));
                    continue;
                }
                let (hu, hb) = held[&key];
                if u == hu {
                    whole += 1;
                } else if b * hu == hb * u {
                    plain += 1;
                } else {
                    restated += 1;
                }
                held.insert(key, (hu - u, hb - b));
            }
        }
    }
    assert!(whole > 5 && plain > 2 && restated > 10 && lot_only > 0, "{whole} {plain} {restated} {lot_only}");
    let text: String = differential_journals().iter().map(|(_, j)| to_beancount(j).unwrap()).collect();
    assert_eq!(text.matches("; remainder at its exact basis").count(), restated);
    assert!(text.contains("Income:CapitalGains:LongTerm"));
    assert!(text.contains("Income:CapitalGains:ShortTerm"));
    assert!(text.contains(&format!("Assets:Wallet:{}", account_component("cold storage"))));
    for (name, j) in differential_journals() {
        assert_book_invariants(&j);
        assert!(j.entries.len() >= 3, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Differential: the real tools

struct Tools {
    venv: PathBuf,
    hledger: PathBuf,
}

fn tools() -> Tools {
    let Some(venv) = std::env::var_os("TOKENCOMP_TEST_VENV").map(PathBuf::from) else {
        panic!(
            "TOKENCOMP_TEST_VENV is not set: the books tests compare our balances with beancount 3, beanquery and \
             hledger. Run ./scripts/test, or `scripts/tools.sh cargo test -p tokencomp-compliance --test it books`, \
             which installs them and sets it."
        );
    };
    for tool in ["bean-check", "python"] {
        assert!(
            venv.join("bin").join(tool).is_file(),
            "{} has no bin/{tool}: run ./scripts/test (scripts/tools.sh reinstalls the venv)",
            venv.display()
        );
    }
    let hledger = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("hledger"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("hledger is not on PATH: run ./scripts/test (scripts/tools.sh installs it with apt-get)")
        });
    Tools { venv, hledger }
}

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tokencomp-books-{}-{n}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn helper() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/books_check.py")
}

fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::Reader::from_reader(bytes).records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

/// A signed token amount from a decimal string, exactly.
fn signed_tokens(token: &Token, s: &str) -> (bool, TokenAmount) {
    match s.strip_prefix('-') {
        Some(abs) => (true, token.parse(abs).unwrap()),
        None => (false, token.parse(s).unwrap()),
    }
}

/// Normalizes a sign-and-magnitude pair so that zero is never negative.
fn norm((negative, units): (bool, TokenAmount)) -> (bool, TokenAmount) {
    (negative && !units.is_zero(), units)
}

/// Equal to the cent, and the difference is only beancount's 28-digit division noise.
fn assert_fiat_close(what: &str, theirs: Decimal, ours: Decimal) {
    assert_eq!(MONEY_ROUNDING.apply(theirs), ours, "{what}: tool {theirs}, ours {ours}");
    assert!((theirs - ours).abs() < Decimal::new(1, 12), "{what}: tool {theirs}, ours {ours}");
}

fn check_beancount(tools: &Tools, dir: &Path, name: &str, j: &Journal, ours: &BTreeMap<String, Balance>) {
    let file = dir.join(format!("{name}.beancount"));
    std::fs::write(&file, to_beancount(j).unwrap()).unwrap();
    run(Command::new(tools.venv.join("bin/bean-check")).arg(&file));
    let python = tools.venv.join("bin/python");
    let currency = j.currency.code();

    // Balances per account: cost in the journal's currency, units of the token.
    let out = run(Command::new(&python).arg(helper()).arg("balances").arg(&file));
    let mut cost: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut units: BTreeMap<String, (bool, TokenAmount)> = BTreeMap::new();
    for row in csv_rows(&out.stdout) {
        let [account, kind, commodity, number] = &row[..] else { panic!("{name}: bad row {row:?}") };
        match kind.as_str() {
            "cost" => {
                assert_eq!(commodity, currency, "{name} {account}: cost in {commodity}");
                assert!(cost.insert(account.clone(), dec(number)).is_none());
            }
            "units" if commodity == j.token.symbol() => {
                assert!(units.insert(account.clone(), signed_tokens(&j.token, number)).is_none());
            }
            "units" => assert_eq!(commodity, currency, "{name} {account}"),
            _ => panic!("{name}: bad kind in {row:?}"),
        }
    }
    for (account, b) in ours {
        let theirs = cost.remove(account).unwrap_or_default();
        assert_fiat_close(&format!("{name} beancount {account} at cost"), theirs, b.fiat);
        let theirs_units = units.remove(account).unwrap_or((false, TokenAmount::ZERO));
        assert_eq!(norm(theirs_units), norm(b.net_tokens()), "{name} beancount {account} units");
    }
    assert!(cost.values().all(Decimal::is_zero), "{name}: beancount has accounts we do not: {cost:?}");
    assert!(units.is_empty(), "{name}: beancount has token accounts we do not: {units:?}");

    // Lots still held: the same labels, dates, units, and basis to the cent.
    let out = run(Command::new(&python).arg(helper()).arg("lots").arg(&file));
    let mut theirs: BTreeMap<(String, String), HeldLot> = BTreeMap::new();
    for row in csv_rows(&out.stdout) {
        let [account, label, acquired, u, _commodity, c] = &row[..] else { panic!("{name}: bad row {row:?}") };
        let (negative, units) = signed_tokens(&j.token, u);
        assert!(!negative, "{name}: {account} {label} holds a negative lot");
        let lot = HeldLot { units, basis: dec(c), acquired: acquired.parse().unwrap() };
        theirs.insert((account.clone(), label.clone()), lot);
    }
    let ours_lots = j.open_lots().unwrap();
    assert_eq!(theirs.keys().collect::<Vec<_>>(), ours_lots.keys().collect::<Vec<_>>(), "{name}: lots held");
    for (key, lot) in &ours_lots {
        let t = &theirs[key];
        assert_eq!((t.units, t.acquired), (lot.units, lot.acquired), "{name} {key:?}");
        assert_fiat_close(&format!("{name} lot {key:?}"), t.basis, lot.basis);
    }

    // Entries come back with their ids and narrations (control characters became spaces).
    let out = run(Command::new(&python).arg(helper()).arg("entries").arg(&file));
    let rows = csv_rows(&out.stdout);
    assert_eq!(rows.len(), j.entries.len(), "{name}");
    for (row, e) in rows.iter().zip(&j.entries) {
        assert_eq!(row[0], e.id, "{name}");
        assert_eq!(row[1], e.date.to_string(), "{name}");
        let expected: String = e.narration.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        assert_eq!(row[2], expected, "{name}");
    }
}

/// hledger's `bal -O csv` cell: `0`, or `AMOUNT, AMOUNT…` with each `NUMBER SYMBOL`.
fn hledger_amounts(cell: &str) -> Vec<(String, String)> {
    if cell == "0" {
        return Vec::new();
    }
    cell.split(", ")
        .map(|a| {
            let (n, sym) = a.split_once(' ').unwrap_or_else(|| panic!("amount without a commodity: {a:?}"));
            (n.to_owned(), sym.trim_matches('"').to_owned())
        })
        .collect()
}

fn check_hledger(tools: &Tools, dir: &Path, name: &str, j: &Journal, ours: &BTreeMap<String, Balance>) {
    let file = dir.join(format!("{name}.journal"));
    std::fs::write(&file, to_hledger(j).unwrap()).unwrap();
    let hledger = || {
        let mut c = Command::new(&tools.hledger);
        c.arg("-f").arg(&file);
        c
    };
    run(hledger().arg("check"));
    run(hledger().args(["check", "accounts", "commodities"]));
    let currency = j.currency.code();

    let out = run(hledger().args(["bal", "--cost", "-O", "csv", "-E", "--flat", "--no-total"]));
    let mut cost: BTreeMap<String, Decimal> = BTreeMap::new();
    for row in csv_rows(&out.stdout) {
        let mut sum = Decimal::ZERO;
        for (n, sym) in hledger_amounts(&row[1]) {
            assert_eq!(sym, currency, "{name} {}: at cost in {sym}", row[0]);
            sum += dec(&n);
        }
        cost.insert(row[0].clone(), sum);
    }
    let out = run(hledger().args(["bal", "-O", "csv", "-E", "--flat", "--no-total"]));
    let mut units: BTreeMap<String, (bool, TokenAmount)> = BTreeMap::new();
    for row in csv_rows(&out.stdout) {
        for (n, sym) in hledger_amounts(&row[1]) {
            if sym == j.token.symbol() {
                units.insert(row[0].clone(), signed_tokens(&j.token, &n));
            }
        }
    }
    for (account, b) in ours {
        // hledger is exact: no tolerance at all.
        assert_eq!(cost.remove(account).unwrap_or_default(), b.fiat, "{name} hledger {account} at cost");
        let theirs = units.remove(account).unwrap_or((false, TokenAmount::ZERO));
        assert_eq!(norm(theirs), norm(b.net_tokens()), "{name} hledger {account} units");
    }
    assert!(cost.is_empty(), "{name}: hledger has accounts we do not: {cost:?}");
    assert!(units.is_empty(), "{name}: hledger has token accounts we do not: {units:?}");

    // Descriptions and the id tag come back (`;` became `,`, the id percent-decoded).
    let out = run(hledger().args(["print", "-O", "csv"]));
    let rows = csv_rows(&out.stdout);
    let mut seen = Vec::new();
    for row in &rows {
        let (description, comment) = (&row[5], &row[6]);
        if seen.last() != Some(&row[0]) {
            seen.push(row[0].clone());
            let e = &j.entries[seen.len() - 1];
            let expected: String =
                e.narration.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().replace(';', ",");
            // The empty code `()` that keeps a leading `(` in the description is not part of it.
            assert_eq!(description.trim_end(), expected.trim_end(), "{name}");
            let id = comment.strip_prefix("id:").unwrap_or_else(|| panic!("{name}: comment {comment:?}"));
            assert_eq!(percent_decode(id), e.id, "{name}");
        }
    }
    assert_eq!(seen.len(), j.entries.len(), "{name}");
}

#[test]
fn beancount_agrees_with_our_balances() {
    let tools = tools();
    let dir = TempDir::new("beancount");
    for (name, j) in differential_journals() {
        let ours = j.balances().unwrap();
        check_beancount(&tools, &dir.0, &name, &j, &ours);
    }
}

#[test]
fn hledger_agrees_with_our_balances() {
    let tools = tools();
    let dir = TempDir::new("hledger");
    for (name, j) in differential_journals() {
        let ours = j.balances().unwrap();
        check_hledger(&tools, &dir.0, &name, &j, &ours);
    }
}

#[test]
fn beancount_refuses_what_we_would_refuse() {
    // The tools are a second opinion only if they can fail: a hand-edited unbalanced entry and
    // a reduction of a lot that is not held must make bean-check and hledger exit non-zero.
    let tools = tools();
    let dir = TempDir::new("refuse");
    let good = to_beancount(&golden_journal()).unwrap();
    let unbalanced =
        good.replace("Income:CapitalGains:ShortTerm  -139.00 USD", "Income:CapitalGains:ShortTerm  -138.99 USD");
    let unknown_lot = good.replace("-300 GRID {2026-01-31, \"vest-1\"}", "-300 GRID {2026-01-31, \"vest-9\"}");
    for (name, text) in [("unbalanced", unbalanced), ("unknown-lot", unknown_lot)] {
        assert_ne!(text, good, "{name}: the edit did not apply");
        let file = dir.0.join(format!("{name}.beancount"));
        std::fs::write(&file, text).unwrap();
        let out = Command::new(tools.venv.join("bin/bean-check")).arg(&file).output().unwrap();
        assert!(!out.status.success(), "bean-check accepted the {name} edit");
    }
    let good = to_hledger(&golden_journal()).unwrap();
    let unbalanced =
        good.replace("Income:CapitalGains:ShortTerm  -139.00 USD", "Income:CapitalGains:ShortTerm  -138.99 USD");
    assert_ne!(unbalanced, good);
    let file = dir.0.join("unbalanced.journal");
    std::fs::write(&file, unbalanced).unwrap();
    let out = Command::new(&tools.hledger).arg("-f").arg(&file).arg("check").output().unwrap();
    assert!(!out.status.success(), "hledger accepted the unbalanced edit");
}

/// Issue 15 item 18: text cells that would start a formula (an entry id, a narration) get a
/// single quote before them (OWASP); amounts and units, negative ones too, stay numbers.
#[test]
fn csv_text_cells_that_start_a_formula_are_neutralised() {
    let mut j = golden_journal();
    j.entries[1].id = "+stc:g-1".to_owned();
    j.entries[1].narration = "=cmd|' /C calc'!A0".to_owned();
    j.entries[3].narration = "@SUM(1,2)".to_owned();
    let csv = to_csv(&j).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[3],
        "'+stc:g-1,2026-01-31,'=cmd|' /C calc'!A0,Assets:Wallet:Main,-750.00,USD,-300,vest-1,2026-01-31"
    );
    assert_eq!(
        lines[9],
        "sale:2,2027-03-01,\"'@SUM(1,2)\",Assets:Wallet:Main,-1166.67,USD,-466.666666666666666667,vest-1,2026-01-31"
    );
    // Everything else is byte for byte the golden file.
    assert_eq!(
        lines[1],
        "vest:g-1:2026-01-31,2026-01-31,Vest of g-1,Assets:Wallet:Main,2500.00,USD,1000,vest-1,2026-01-31"
    );
}
