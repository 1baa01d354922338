//! The employee portal's document (`GET /api/people/{person}/portal`): value now at the latest
//! close with its date, upcoming vests valued at that price with the withholding the payroll
//! pass computes for them, no estimate where next year's rules are not published (never a
//! projection), the tax year so far equal to the tax report, and lots without internal ids.

use axum::http::{Method, StatusCode};
use serde_json::Value;
use tokencomp_money::{Decimal, MONEY_ROUNDING, TokenAmount, format_fiat, token_value};

use crate::web::{NOW, call, fixture, login};

fn dec(v: &Value) -> Decimal {
    v.as_str().expect("a decimal string").parse().expect("decimal")
}

fn units(v: &Value) -> TokenAmount {
    TokenAmount::from_base_units(v["base_units"].as_str().expect("base units").parse().expect("u128"))
}

#[tokio::test]
async fn the_portal_values_holdings_and_upcoming_vests_at_the_latest_close() {
    let f = fixture();
    let ada = login(&f.app, "ada").await;
    let r = call(&f.app, Method::GET, "/api/people/ada/portal", &ada, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let p = r.json();
    let person = call(&f.app, Method::GET, "/api/people/ada", &ada, None).await.json();
    assert_eq!(p["name"], person["name"]);
    assert_eq!(p["currency"], "USD");

    // The latest close on or before today, and its date.
    let company = tokencomp_service::ledger::load(
        &mut *tokencomp_service::ledger::open_store(&tokencomp_service::DataDir::new(f.data.clone()), None)
            .expect("store"),
    )
    .expect("company");
    let today: jiff::civil::Date = NOW[..10].parse().expect("date");
    let ((_, close_day), close) = company
        .prices
        .range((tokencomp_money::Currency::USD, jiff::civil::Date::MIN)..=(tokencomp_money::Currency::USD, today))
        .next_back()
        .expect("a close");
    assert_eq!(p["price"]["date"], close_day.to_string());
    assert_eq!(dec(&p["price"]["price"]), *close);
    let token = &company.token.token;
    let worth = |t: TokenAmount| token_value(token, t, *close, MONEY_ROUNDING).expect("value");
    assert_eq!(dec(&p["held_value"]["amount"]), worth(units(&p["held"])));
    assert_eq!(p["held_value"]["display"], format!("{} USD", format_fiat(worth(units(&p["held"])))));

    // Upcoming vests: after today, within a year, each valued at the same close. December's
    // is estimated; 2027 has no published rules, so its withholding is not estimated and the
    // note says why.
    let upcoming = p["upcoming"].as_array().expect("upcoming");
    assert!(!upcoming.is_empty());
    for u in upcoming {
        let day: jiff::civil::Date = u["date"].as_str().expect("date").parse().expect("date");
        assert!(day > today && day <= today.checked_add(jiff::ToSpan::months(12)).expect("date"), "{u}");
        assert_eq!(dec(&u["value"]["amount"]), worth(units(&u["tokens"])), "{u}");
        if day.year() == 2026 {
            let withheld = dec(&u["withholding"]["amount"]);
            assert!(withheld > Decimal::ZERO && withheld < dec(&u["value"]["amount"]), "{u}");
            assert!(units(&u["net_tokens"]) < units(&u["tokens"]), "{u}");
        } else {
            assert_eq!(u["withholding"], Value::Null, "{u}");
        }
    }
    assert!(upcoming.iter().any(|u| u["date"].as_str().is_some_and(|d| d.starts_with("2027"))));
    let note = p["estimate_note"].as_str().expect("a note for 2027");
    assert!(note.contains("after 2026-12-31") && note.contains("not published"), "{note}");

    // The tax year so far is the tax report's.
    let report = call(&f.app, Method::GET, "/api/people/ada/tax-report?year=2026", &ada, None).await.json();
    assert_eq!(dec(&p["income_to_date"]["amount"]), dec(&report["gross_income"]));
    let withheld: Decimal = report["withheld"].as_object().expect("withheld").values().map(dec).sum();
    assert_eq!(dec(&p["withheld_to_date"]["amount"]), withheld);

    // Lots: acquisition date, tokens and basis; never an internal id.
    for lot in p["lots"].as_array().expect("lots") {
        assert_eq!(lot.as_object().expect("lot").keys().collect::<Vec<_>>(), ["acquired", "tokens", "basis"]);
    }
    assert!(!r.text.contains("\"lot\""), "no lot ids");

    let omar = call(&f.app, Method::GET, "/api/people/omar/portal", &ada, None).await;
    assert_eq!(omar.status, StatusCode::FORBIDDEN);
}
