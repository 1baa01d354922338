//! Germany's wage-tax programme (PAP) against the Ministry's check tables and hand-derived
//! cases: every row of `tests/data/de/pruef-<year>.csv` runs through `de::pap::run` and must
//! give the printed annual wage tax exactly.

use std::str::FromStr;

use tokencomp_compliance::de::DeRules;
use tokencomp_compliance::de::pap::{Lzz, PapInput, Pkv, run};
use tokencomp_compliance::de::params::DeYear;
use tokencomp_money::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal literal")
}

fn year(y: i16) -> DeYear {
    DeRules::builtin().expect("rules/de.toml parses").year(y).expect("the year ships")
}

/// The inputs a check-table row states (see the CSV's header).
fn check_row_input(table: &str, wage_eur: &str, stkl: u8) -> PapInput {
    let mut i = PapInput::new(Lzz::Year, stkl);
    i.re4 = d(wage_eur) * Decimal::ONE_HUNDRED;
    match table {
        "allgemeine" => {
            i.kvz = d("2.90");
            i.pvz = stkl != 2;
        }
        "besondere" => {
            i.krv_exempt = true;
            i.alv_exempt = true;
            i.pkv = Pkv::PrivateWithoutSubsidy;
            i.pkpv = match stkl {
                3 => d("50000"),
                6 => Decimal::ZERO,
                _ => d("30000"),
            };
        }
        other => panic!("unknown check table {other:?}"),
    }
    i
}

fn check_table(text: &str, y: &DeYear) -> usize {
    let mut rows = 0;
    let mut wrong = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 4, "malformed row {line:?}");
        let stkl: u8 = f[2].parse().expect("tax class");
        let out = run(y, &check_row_input(f[0], f[1], stkl));
        let expected = d(f[3]) * Decimal::ONE_HUNDRED;
        if out.lstlzz != expected {
            wrong.push(format!("{line}: got {} cents", out.lstlzz));
        }
        rows += 1;
    }
    assert!(wrong.is_empty(), "{} of {rows} rows differ:\n{}", wrong.len(), wrong.join("\n"));
    rows
}

#[test]
fn pap_2026_matches_every_row_of_the_ministrys_check_tables() {
    let rows = check_table(include_str!("../data/de/pruef-2026.csv"), &year(2026));
    assert_eq!(rows, 2 * 43 * 6);
}
