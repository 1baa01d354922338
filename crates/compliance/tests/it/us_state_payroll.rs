//! The 2026 state goldens through the payroll pass: a company with one employee working in each
//! state and DC, each vesting 25,000 GRID at $2.00 on 15 January 2026 ($50,000.00 of earlier
//! wages) and 5,000 GRID at $2.00 on 15 June 2026 (the $10,000.00 payment of the goldens), no
//! salary and no certificate on file. Each June state line equals the state's golden case in
//! `us_state.rs` to the cent; each state the goldens refuse is refused by the pass, naming it.

use std::fmt::Write as _;

use jiff::civil::date;

use crate::payroll::{World, vest};
use crate::us_state::{Expect, GOLDEN_2026, STATE_KINDS};

/// The company file for `states`: one employee `p-XX` working in each, with grant `g-XX`.
fn company(states: &[&str]) -> String {
    let mut toml = String::from(
        "[company]\nname = \"Fifty-One Inc.\"\nwithholding_method = \"sell_to_cover\"\n\n\
         [token]\nsymbol = \"GRID\"\ndecimals = 18\n\n\
         [[price]]\ndate = 2026-01-15\nclose = \"2.00\"\n[[price]]\ndate = 2026-06-15\nclose = \"2.00\"\n",
    );
    for s in states {
        let _ = write!(
            toml,
            "\n[[person]]\nid = \"p-{s}\"\nname = \"Employee {s}\"\ncountry = \"US\"\nregion = \"{s}\"\n\n\
             [[grant]]\nid = \"g-{s}\"\nholder = \"p-{s}\"\ngrant_date = 2025-06-15\namount = \"30000\"\n\
             [grant.schedule]\ntype = \"annually\"\nstart = 2025-06-15\nduration_months = 12\n"
        );
    }
    toml
}

#[test]
fn one_employee_in_each_state_and_dc_is_withheld_as_the_state_goldens_through_payroll() {
    let computed: Vec<&str> =
        GOLDEN_2026.iter().filter(|(_, e)| matches!(e, Expect::Lines(_))).map(|(s, _)| *s).collect();
    let w = World::new(&company(&computed));
    let mut vests = Vec::new();
    for s in &computed {
        vests.push(vest(&w, &format!("g-{s}"), date(2026, 1, 15), "25000"));
        vests.push(vest(&w, &format!("g-{s}"), date(2026, 6, 15), "5000"));
    }
    let events = w.events(&vests).expect("every computed state runs through payroll");
    for (state, expect) in &GOLDEN_2026 {
        let Expect::Lines(lines) = expect else { continue };
        let june = events
            .iter()
            .find(|e| e.person == format!("p-{state}") && e.income_date == date(2026, 6, 15))
            .expect("the June vest");
        assert_eq!(june.gross().to_string(), "10000.00", "{state}");
        let got: Vec<(&str, String)> = june
            .withholding
            .lines
            .iter()
            .filter(|l| STATE_KINDS.contains(&l.kind))
            .map(|l| (l.kind.name(), l.amount.to_string()))
            .collect();
        let want: Vec<(&str, String)> = lines.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        assert_eq!(got, want, "{state}");
    }
    // Each state the goldens refuse is refused by the pass too, naming the state.
    for (state, expect) in &GOLDEN_2026 {
        if matches!(expect, Expect::Lines(_)) {
            continue;
        }
        let w = World::new(&company(&[state]));
        let err =
            w.events(&[vest(&w, &format!("g-{state}"), date(2026, 6, 15), "5000")]).expect_err("refused").to_string();
        assert!(err.contains(state), "{state}: {err}");
    }
}
