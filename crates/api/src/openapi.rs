//! The OpenAPI 3.1 document, built from [`crate::routes::table`] and the schemas below: one
//! schema per response, with every property the handler writes, so Schemathesis can check each
//! answer against it.

use serde_json::{Map, Value, json};

use crate::routes::{Access, Resp, table};

fn amount() -> Value {
    json!({"type": "string", "pattern": "^[0-9]+$", "description": "Token base units, as a decimal string."})
}
fn opt_amount() -> Value {
    json!({"type": ["string", "null"], "pattern": "^[0-9]+$"})
}
fn date() -> Value {
    json!({"type": "string", "format": "date"})
}
fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}
fn string() -> Value {
    json!({"type": "string"})
}
fn opt_string() -> Value {
    json!({"type": ["string", "null"]})
}
fn int() -> Value {
    json!({"type": "integer", "minimum": 0})
}
fn boolean() -> Value {
    json!({"type": "boolean"})
}
fn decimal() -> Value {
    json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$", "description": "An exact decimal."})
}
fn any_obj() -> Value {
    json!({"type": "object"})
}
fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}
fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}
fn nullable(v: Value) -> Value {
    json!({"oneOf": [v, {"type": "null"}]})
}

/// An object whose every listed property is required.
fn obj(props: &[(&str, Value)]) -> Value {
    let mut p = Map::new();
    for (k, v) in props {
        p.insert((*k).to_owned(), v.clone());
    }
    let required: Vec<&str> = props.iter().map(|(k, _)| *k).collect();
    json!({"type": "object", "properties": p, "required": required})
}

fn page(items: Value) -> Value {
    obj(&[("items", array(items)), ("next_cursor", opt_string())])
}

fn totals() -> Value {
    obj(&[("granted", amount()), ("vested", amount()), ("unvested", amount()), ("forfeited", amount())])
}

/// A person's tax profiles: `us`, `uk` and `de`, each an object of text fields named by the
/// profile's `FIELDS` (`tokencomp_core::tax_profile`), validated as the company file and the
/// CSV import validate them. In a view every jurisdiction is present, `null` when nothing is on
/// file (the authority's default applies); in a request an absent or `null` one is cleared.
fn tax_profiles(view: bool) -> Value {
    use tokencomp_core::tax_profile::{DeProfile, UkProfile, UsProfile};
    let one = |fields: &[&str], what: &str| {
        let props: Map<String, Value> = fields.iter().map(|f| ((*f).to_owned(), string())).collect();
        nullable(json!({"type": "object", "properties": props, "additionalProperties": false, "description": what}))
    };
    let props = [
        ("us", one(UsProfile::FIELDS, "State withholding certificate and residence; `region` stays the work state")),
        ("uk", one(UkProfile::FIELDS, "PAYE tax code, NI category letter, loan plans; default 0T week-1/month-1, A")),
        ("de", one(DeProfile::FIELDS, "ELStAM and social-insurance status; default tax class VI (§39c EStG)")),
    ];
    let mut p = Map::new();
    for (k, v) in props {
        p.insert(k.to_owned(), v);
    }
    let required: Vec<&str> = if view { vec!["us", "uk", "de"] } else { vec![] };
    json!({"type": "object", "properties": p, "required": required, "additionalProperties": false})
}

/// Every component schema, by name.
pub fn schemas() -> Map<String, Value> {
    let token = obj(&[("symbol", string()), ("decimals", json!({"type": "integer", "minimum": 0, "maximum": 38}))]);
    let tranche = obj(&[
        ("date", date()),
        ("amount", amount()),
        ("cumulative", amount()),
        ("reason", json!({"enum": ["cliff", "vest", "acceleration", "milestone"]})),
    ]);
    let forfeiture = obj(&[("date", date()), ("amount", amount()), ("reason", string())]);
    let grant_row = obj(&[
        ("id", string()),
        ("holder", string()),
        ("grant_date", date()),
        ("granted", amount()),
        ("vested", amount()),
        ("unvested", amount()),
        ("forfeited", amount()),
        ("pending", amount()),
        ("next_vest", nullable(obj(&[("date", date()), ("amount", amount())]))),
    ]);
    let person = obj(&[
        ("id", string()),
        ("name", string()),
        ("kind", json!({"enum": ["employee", "contractor", "advisor"]})),
        ("country", opt_string()),
        ("region", opt_string()),
        ("hired", json!({"type": ["string", "null"], "format": "date"})),
        ("wallet", opt_string()),
        ("tax", r("TaxProfiles")),
    ]);
    let event = obj(&[
        ("seq", int()),
        ("id", string()),
        ("kind", string()),
        ("subject", string()),
        ("actor", string()),
        ("recorded_at", time()),
        ("amount", opt_amount()),
        ("payload", json!({})),
        ("prev_hash", string()),
        ("hash", string()),
    ]);
    let tally = obj(&[
        ("status", json!({"enum": ["pending", "open", "closed"]})),
        ("outcome", json!({"enum": ["undecided", "passed", "rejected", "no_quorum"]})),
        ("for", amount()),
        ("against", amount()),
        ("abstain", amount()),
        ("voters", int()),
        ("total", amount()),
        ("turnout", amount()),
        ("quorum", amount()),
        ("quorum_reached", boolean()),
    ]);
    let choice = json!({"enum": ["for", "against", "abstain"]});
    let ballot = obj(&[("voter", string()), ("choice", choice.clone()), ("cast_at", time())]);
    let proposal = obj(&[
        ("token", r("Token")),
        ("id", string()),
        ("title", string()),
        ("description", string()),
        ("snapshot_date", date()),
        ("opens", time()),
        ("closes", time()),
        ("quorum_bps", int()),
        ("unvested_weight_bps", int()),
        ("tally", r("Tally")),
        ("ballots", array(r("BallotRow"))),
        ("my_power", opt_amount()),
    ]);
    let recon_item = obj(&[
        ("kind", string()),
        ("grant", opt_string()),
        ("grant_id", string()),
        ("tx_hash", opt_string()),
        ("block", json!({"type": ["integer", "null"]})),
        ("ledger_events", array(string())),
        ("expected", json!({})),
        ("on_chain", json!({})),
    ]);
    let quantiles = obj(&[
        ("p5", json!({"type": "number"})),
        ("p50", json!({"type": "number"})),
        ("p95", json!({"type": "number"})),
    ]);
    // Each notice kind to on or off (every kind in an answer; any of them in a request).
    let notice_kinds = {
        let mut p = Map::new();
        for k in tokencomp_service::notices::KINDS {
            p.insert(k.to_owned(), boolean());
        }
        json!({"type": "object", "properties": p, "additionalProperties": false})
    };
    let list = [
        ("Token", token),
        (
            "Error",
            obj(&[("code", json!({"enum": crate::error::CODES})), ("message", string()), ("details", json!({}))]),
        ),
        ("Ok", obj(&[("ok", boolean())])),
        (
            "OpenApi",
            obj(&[("openapi", string()), ("info", any_obj()), ("paths", any_obj()), ("components", any_obj())]),
        ),
        ("Health", obj(&[("status", json!({"const": "ok"})), ("version", string()), ("ledger_events", int())])),
        ("Login", obj(&[("user", string()), ("password", string())])),
        ("Portal", {
            let tokens = obj(&[("base_units", string()), ("display", string())]);
            let fiat = nullable(obj(&[("amount", string()), ("display", string())]));
            let price = nullable(obj(&[
                ("price", string()),
                ("currency", string()),
                ("date", date()),
                ("fx_date", nullable(date())),
            ]));
            obj(&[
                ("person", string()),
                ("name", string()),
                ("as_of", date()),
                ("currency", string()),
                ("token", r("Token")),
                ("price", price.clone()),
                ("granted", tokens.clone()),
                ("vested", tokens.clone()),
                ("unvested", tokens.clone()),
                ("forfeited", tokens.clone()),
                ("held", tokens.clone()),
                ("held_value", fiat.clone()),
                ("unvested_value", fiat.clone()),
                (
                    "grants",
                    array(obj(&[
                        ("grant", string()),
                        ("grant_date", date()),
                        ("granted", tokens.clone()),
                        ("price", price),
                        ("value", fiat.clone()),
                    ])),
                ),
                (
                    "upcoming",
                    array(obj(&[
                        ("date", date()),
                        ("grant", string()),
                        ("tokens", tokens.clone()),
                        ("value", fiat.clone()),
                        ("withholding", fiat.clone()),
                        ("net_tokens", nullable(tokens.clone())),
                    ])),
                ),
                ("estimate_note", opt_string()),
                ("year", string()),
                ("income_to_date", fiat.clone()),
                ("withheld_to_date", fiat.clone()),
                ("lots", array(obj(&[("acquired", date()), ("tokens", tokens), ("basis", fiat)]))),
            ])
        }),
        (
            "LoginPage",
            obj(&[
                ("demo", boolean()),
                (
                    "demo_accounts",
                    array(obj(&[
                        ("user", string()),
                        ("password", string()),
                        ("role", json!({"enum": ["admin", "employee", "auditor"]})),
                        ("person", opt_string()),
                    ])),
                ),
                ("cookie_warning", opt_string()),
            ]),
        ),
        ("SessionsEnded", obj(&[("user", string()), ("ended", int())])),
        (
            "SignInLog",
            obj(&[(
                "items",
                array(obj(&[
                    ("seq", int()),
                    ("at", time()),
                    ("user", string()),
                    ("actor", string()),
                    ("what", json!({"enum": ["login", "logout", "sign_out_everywhere", "revoked", "ended_by_change"]})),
                    ("detail", string()),
                ])),
            )]),
        ),
        (
            "Session",
            obj(&[
                ("user", string()),
                ("role", json!({"enum": ["admin", "employee", "auditor"]})),
                ("person", opt_string()),
                ("csrf_token", opt_string()),
                ("company", string()),
                ("token", r("Token")),
            ]),
        ),
        (
            "Company",
            obj(&[
                ("token", r("Token")),
                ("as_of", date()),
                ("name", string()),
                ("time_zone", string()),
                ("pay_frequency", json!({"enum": ["monthly", "semi-monthly", "biweekly"]})),
                ("people", int()),
                ("holders", int()),
                ("grants", int()),
                ("totals", totals()),
                ("periods_run", int()),
                ("ledger_events", int()),
            ]),
        ),
        ("TaxProfiles", tax_profiles(true)),
        ("TaxProfilesRequest", tax_profiles(false)),
        ("PersonRow", person.clone()),
        ("PersonList", page(r("PersonRow"))),
        ("Person", {
            let mut p = person;
            if let (Some(props), Some(req)) =
                (p["properties"].as_object_mut().cloned(), p["required"].as_array().cloned())
            {
                let mut props = props;
                let mut req = req;
                for (k, v) in
                    [("token", r("Token")), ("as_of", date()), ("grants", array(string())), ("totals", totals())]
                {
                    props.insert(k.into(), v);
                    req.push(json!(k));
                }
                p["properties"] = Value::Object(props);
                p["required"] = Value::Array(req);
            }
            p
        }),
        ("GrantRow", grant_row),
        (
            "GrantList",
            obj(&[
                ("token", r("Token")),
                ("as_of", date()),
                ("items", array(r("GrantRow"))),
                ("next_cursor", opt_string()),
            ]),
        ),
        ("Tranche", tranche),
        ("Forfeiture", forfeiture),
        (
            "GrantSchedule",
            obj(&[
                ("token", r("Token")),
                ("as_of", date()),
                (
                    "grant",
                    obj(&[
                        ("id", string()),
                        ("holder", string()),
                        ("grant_date", date()),
                        ("granted", amount()),
                        ("vested", amount()),
                        ("unvested", amount()),
                        ("forfeited", amount()),
                        ("pending", amount()),
                        ("tranches", array(r("Tranche"))),
                        ("forfeitures", array(r("Forfeiture"))),
                    ]),
                ),
            ]),
        ),
        ("Event", event.clone()),
        ("History", obj(&[("token", r("Token")), ("grant", string()), ("events", array(r("Event")))])),
        ("AuditEvent", {
            let mut e = event.clone();
            e["properties"]["chain_ok"] = json!({"type": ["boolean", "null"]});
            if let Some(r) = e["required"].as_array_mut() {
                r.push(json!("chain_ok"));
            }
            e
        }),
        (
            "EventList",
            obj(&[
                ("token", r("Token")),
                ("items", array(r("AuditEvent"))),
                (
                    "chain",
                    nullable(obj(&[
                        ("verified_through", int()),
                        ("break", nullable(obj(&[("seq", int()), ("id", string()), ("reason", string())]))),
                    ])),
                ),
                ("next_cursor", opt_string()),
            ]),
        ),
        (
            "LedgerVerify",
            obj(&[
                ("ok", boolean()),
                ("events", int()),
                ("head_hash", opt_string()),
                ("break", nullable(obj(&[("seq", int()), ("id", string()), ("reason", string())]))),
                ("problems", array(string())),
            ]),
        ),
        (
            "Calendar",
            obj(&[
                ("token", r("Token")),
                ("from", date()),
                ("to", date()),
                (
                    "vests",
                    array(obj(&[
                        ("date", date()),
                        ("holder", string()),
                        ("grant", string()),
                        ("amount", amount()),
                        ("reason", string()),
                    ])),
                ),
                ("per_person", array(obj(&[("holder", string()), ("amount", amount())]))),
                ("total", amount()),
            ]),
        ),
        (
            "PeriodList",
            obj(&[(
                "items",
                array(obj(&[
                    ("id", string()),
                    ("calendar", json!({"enum": ["company", "uk"]})),
                    ("runs_with", opt_string()),
                    ("start", date()),
                    ("end", date()),
                    ("run", boolean()),
                    ("closed", boolean()),
                    ("rules_sha256", opt_string()),
                ])),
            )]),
        ),
        (
            "RuleValueList",
            obj(&[(
                "items",
                array(obj(&[("path", string()), ("value", string()), ("origin", any_obj()), ("source", string())])),
            )]),
        ),
        ("RulesAddRequest", obj(&[("name", string()), ("text", string())])),
        (
            "ErpBooksRequest",
            json!({
                "type": "object",
                "properties": {
                    "format": {"type": "string", "enum": crate::routes::ERP_FORMATS},
                    "map": {"type": "string", "description": "The chart-of-accounts mapping file (TOML, docs/exports.md), as `tokencomp books --map FILE` reads it."},
                    "from": {"type": ["string", "null"], "format": "date", "description": "First day (default 1 January of `to`'s year)."},
                    "to": {"type": ["string", "null"], "format": "date", "description": "Last day (default today)."},
                },
                "required": ["format", "map"],
            }),
        ),
        (
            "LayoutSidecar",
            obj(&[
                ("period", string()),
                ("status", json!({"type": "string", "enum": ["provisional", "final"]})),
                ("layout", string()),
                ("file", string()),
                ("rows", int()),
                ("sha256", string()),
                ("rules", obj(&[("rules_sha256", string()), ("flat_rules", array(any_obj()))])),
                ("exported_at", time()),
                (
                    "map",
                    obj(&[
                        ("source", string()),
                        ("documented", boolean()),
                        ("non_cash_earning", string()),
                        ("cash_path", string()),
                    ]),
                ),
            ]),
        ),
        (
            "YearEnd",
            obj(&[
                ("year", json!({"type": "integer"})),
                (
                    "people",
                    array(obj(&[
                        ("person", string()),
                        ("name", string()),
                        ("currency", string()),
                        (
                            "figures",
                            json!({"type": "object", "properties": {"form": string()}, "required": ["form"],
                            "description": "The form's boxes as exact decimal strings, named as in docs/year-end.md"}),
                        ),
                        ("income_events", array(string())),
                    ])),
                ),
                (
                    "corrections",
                    array(obj(&[
                        ("person", string()),
                        ("form", string()),
                        ("corrected_periods", array(string())),
                        ("paid_in", array(string())),
                        (
                            "figures",
                            array(obj(&[
                                ("figure", string()),
                                ("previously_reported", decimal()),
                                ("correct", decimal()),
                                ("difference", decimal()),
                            ])),
                        ),
                    ])),
                ),
                ("sales", int()),
                (
                    "payroll_check",
                    obj(&[
                        ("agrees", boolean()),
                        (
                            "differences",
                            array(obj(&[
                                ("person", string()),
                                ("figure", string()),
                                ("year_end", decimal()),
                                ("payroll", decimal()),
                            ])),
                        ),
                    ]),
                ),
                ("open_periods", array(string())),
            ]),
        ),
        (
            "RulesAdded",
            obj(&[
                ("file", string()),
                ("sha256", string()),
                ("recorded", boolean()),
                ("years", array(string())),
                ("values", int()),
            ]),
        ),
        (
            "PeriodRun",
            obj(&[("period", string()), ("through", date()), ("periods_run", int()), ("events_recorded", int())]),
        ),
        (
            "PeriodClose",
            obj(&[("period", string()), ("closed", boolean()), ("digest", string()), ("events_recorded", int())]),
        ),
        (
            "TaxReport",
            obj(&[
                ("token", r("Token")),
                ("person", string()),
                ("year", json!({"type": "integer"})),
                ("currency", string()),
                ("regime", string()),
                (
                    "income",
                    array(obj(&[
                        ("id", string()),
                        ("grant", string()),
                        ("vest_date", date()),
                        ("income_date", date()),
                        ("units", amount()),
                        ("fmv_usd", decimal()),
                        ("token_income", decimal()),
                        (
                            "withholding",
                            array(obj(&[
                                ("kind", string()),
                                ("payer", json!({"enum": ["employee", "employer"]})),
                                ("amount", decimal()),
                            ])),
                        ),
                        ("method", json!({"enum": ["sell_to_cover", "net_settlement", "cash"]})),
                        ("tokens_sold", amount()),
                        ("tokens_withheld", amount()),
                        ("net_tokens", amount()),
                        (
                            "lot",
                            obj(&[("id", string()), ("acquired", date()), ("units", amount()), ("basis", decimal())]),
                        ),
                    ])),
                ),
                ("gross_income", decimal()),
                ("withheld", json!({"type": "object", "additionalProperties": decimal()})),
                (
                    "disposals",
                    array(obj(&[
                        ("sale", string()),
                        ("lot", string()),
                        ("sold", date()),
                        ("units", amount()),
                        ("proceeds", decimal()),
                        ("basis", decimal()),
                        ("gain", decimal()),
                        ("term", string()),
                    ])),
                ),
                ("short_term_gain", decimal()),
                ("long_term_gain", decimal()),
            ]),
        ),
        ("Quantiles", quantiles),
        (
            "Simulation",
            obj(&[
                ("token", r("Token")),
                ("as_of", date()),
                ("spot", obj(&[("date", date()), ("close_usd", decimal())])),
                ("model", any_obj()),
                ("paths", int()),
                ("seed", int()),
                ("person", opt_string()),
                ("vests", array(obj(&[("date", date()), ("grant", string()), ("amount", amount())]))),
                ("package", nullable(obj(&[("mean", json!({"type": "number"})), ("fan", array(r("Quantiles")))]))),
                ("floor", json!({"type": ["object", "null"]})),
                ("liquidity", json!({"type": ["object", "null"]})),
                ("token_vs_equity", json!({"type": ["object", "null"]})),
            ]),
        ),
        (
            "Tokenomics",
            obj(&[
                ("token", r("Token")),
                ("total_supply", amount()),
                ("tge", date()),
                (
                    "buckets",
                    array(obj(&[("id", string()), ("name", string()), ("kind", string()), ("amount", amount())])),
                ),
                (
                    "team_budget",
                    obj(&[
                        ("bucket", string()),
                        ("allocation", amount()),
                        ("outstanding", amount()),
                        ("remaining", amount()),
                    ]),
                ),
                ("months", array(obj(&[("date", date()), ("total_supply", amount()), ("circulating", amount())]))),
                ("unlock_calendar", array(obj(&[("date", date()), ("bucket", string()), ("amount", amount())]))),
            ]),
        ),
        (
            "ChainStatus",
            obj(&[
                ("deployed", boolean()),
                ("network", opt_string()),
                ("chain_id", json!({"type": ["integer", "null"]})),
                ("manager", opt_string()),
                ("token_address", opt_string()),
                ("head_block", json!({"type": ["integer", "null"]})),
                ("head_timestamp", json!({"type": ["integer", "null"]})),
            ]),
        ),
        ("ReconItem", recon_item),
        (
            "Reconciliation",
            obj(&[
                ("token", r("Token")),
                ("chain_id", int()),
                ("manager", string()),
                ("head_block", int()),
                ("head_timestamp", int()),
                ("matched", array(r("ReconItem"))),
                ("missing_on_chain", array(r("ReconItem"))),
                ("unexpected_on_chain", array(r("ReconItem"))),
                ("amount_mismatch", array(r("ReconItem"))),
            ]),
        ),
        (
            "VotingPower",
            obj(&[
                ("token", r("Token")),
                ("date", date()),
                ("unvested_weight_bps", int()),
                ("published", boolean()),
                ("total", opt_amount()),
                ("holders", json!({"type": ["integer", "null"], "minimum": 0})),
                (
                    "rows",
                    array(obj(&[
                        ("holder", string()),
                        ("vested", amount()),
                        ("unvested", amount()),
                        ("own", amount()),
                        ("power", opt_amount()),
                        ("delegate", opt_string()),
                    ])),
                ),
            ]),
        ),
        ("Delegation", obj(&[("from", string()), ("to", opt_string()), ("effective", date())])),
        ("DelegationList", obj(&[("date", date()), ("items", array(r("Delegation")))])),
        ("DelegationRequest", {
            let mut d = obj(&[("to", opt_string())]);
            // Optional: today in the company's time zone when absent.
            d["properties"]["effective"] = json!({"type": ["string", "null"], "format": "date",
                "description": "In force from this day on (default today); at most 366 days after today."});
            d
        }),
        ("Tally", tally),
        // Wallet proofs (issue 18, item 3).
        ("WalletChallengeRequest", obj(&[("address", string())])),
        ("WalletChallenge", obj(&[("message", string()), ("nonce", string()), ("expires_at", time())])),
        ("WalletProofRequest", obj(&[("message", string()), ("signature", string())])),
        (
            "WalletProof",
            obj(&[
                ("person", string()),
                ("address", string()),
                ("message_hash", string()),
                ("proven_at", time()),
                ("effective_at", time()),
                ("state", json!({"enum": ["pending", "effective"]})),
            ]),
        ),
        (
            "WalletProofRow",
            obj(&[
                ("address", string()),
                ("message_hash", string()),
                ("proven_at", time()),
                ("effective_at", time()),
                ("actor", string()),
                ("state", json!({"enum": ["pending", "effective", "replaced", "cancelled"]})),
                ("cancelled_at", json!({"type": ["string", "null"], "format": "date-time"})),
                ("cancelled_by", opt_string()),
            ]),
        ),
        (
            "PersonWallet",
            obj(&[
                ("person", string()),
                ("wallet", opt_string()),
                ("typed_wallet", opt_string()),
                ("require_proven_wallets", boolean()),
                ("wallet_change_delay_hours", int()),
                ("proofs", array(r("WalletProofRow"))),
            ]),
        ),
        ("WalletCancelled", obj(&[("person", string()), ("cancelled", array(string())), ("cancelled_at", time())])),
        ("BallotRow", ballot),
        ("Proposal", proposal),
        ("ProposalList", page(r("Proposal"))),
        (
            "ProposalRequest",
            obj(&[
                ("id", string()),
                ("title", string()),
                ("snapshot_date", date()),
                ("opens", time()),
                ("closes", time()),
            ]),
        ),
        // Notices (issue 18, item 5).
        ("NoticePrefs", obj(&[("person", string()), ("kinds", notice_kinds.clone())])),
        ("NoticePrefsRequest", obj(&[("kinds", notice_kinds)])),
        ("BallotRequest", obj(&[("choice", choice)])),
        (
            "Ballot",
            obj(&[
                ("proposal", string()),
                ("voter", string()),
                ("choice", string()),
                ("cast_at", time()),
                ("power", amount()),
                ("recorded", json!({"type": "boolean"})),
            ]),
        ),
    ];
    list.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// The period ids the pay calendars define: monthly `2026-10`, semi-monthly `2026-10-a` and
/// `2026-10-b`, biweekly `bw-2026-10-05`, and UK tax months `uk-2026-m06` (docs/compliance.md).
pub const PERIOD_PATTERN: &str = "^([0-9]{4}-[0-9]{2}(-[ab])?|bw-[0-9]{4}-[0-9]{2}-[0-9]{2}|uk-[0-9]{4}-m[0-9]{2})$";

/// A route's `operationId`: `get_api_grants_grant` for `GET /api/grants/{grant}`.
pub fn operation_id(method: &axum::http::Method, path: &str) -> String {
    format!(
        "{}_{}",
        method.as_str().to_lowercase(),
        path.trim_start_matches('/').replace(['/', '.', '-'], "_").replace(['{', '}'], "")
    )
}

/// How one answer leads to the next request (OpenAPI links), so a stateful run can walk
/// from a list to its items and from a new proposal to its page and ballots: per operation,
/// `(name, target operation, target parameter, runtime expression)`.
fn links(op: &str) -> &'static [(&'static str, &'static str, &'static str, &'static str)] {
    match op {
        "get_api_grants" => &[
            ("Grant", "get_api_grants_grant", "grant", "$response.body#/items/0/id"),
            ("History", "get_api_grants_grant_history", "grant", "$response.body#/items/0/id"),
            ("Holder", "get_api_people_person", "person", "$response.body#/items/0/holder"),
        ],
        "get_api_people" => &[
            ("Person", "get_api_people_person", "person", "$response.body#/items/0/id"),
            ("TaxReport", "get_api_people_person_tax_report", "person", "$response.body#/items/0/id"),
            ("Delegate", "put_api_gov_delegations_person", "person", "$response.body#/items/0/id"),
        ],
        "get_api_people_person" => &[("Grant", "get_api_grants_grant", "grant", "$response.body#/grants/0")],
        "get_api_periods" => &[
            ("Payroll", "get_api_periods_period_payroll", "period", "$response.body#/items/0/id"),
            ("Run", "post_api_periods_period_run", "period", "$response.body#/items/0/id"),
            ("Close", "post_api_periods_period_close", "period", "$response.body#/items/0/id"),
        ],
        "get_api_gov_proposals" => &[
            ("Proposal", "get_api_gov_proposals_proposal", "proposal", "$response.body#/items/0/id"),
            ("Ballot", "post_api_gov_proposals_proposal_ballots", "proposal", "$response.body#/items/0/id"),
        ],
        "post_api_gov_proposals" => &[
            ("Proposal", "get_api_gov_proposals_proposal", "proposal", "$response.body#/id"),
            ("Ballot", "post_api_gov_proposals_proposal_ballots", "proposal", "$response.body#/id"),
        ],
        "post_api_gov_proposals_proposal_ballots" => {
            &[("Proposal", "get_api_gov_proposals_proposal", "proposal", "$response.body#/proposal")]
        }
        "get_api_session" => &[("Person", "get_api_people_person", "person", "$response.body#/person")],
        _ => &[],
    }
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in table() {
        let mut op = Map::new();
        let id = operation_id(&route.method, route.path);
        op.insert("operationId".into(), json!(id));
        op.insert("summary".into(), json!(route.summary));
        op.insert("tags".into(), json!([route.tag]));
        op.insert("x-access".into(), json!(route.access.as_str()));
        let mut params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                let mut schema = json!({"type": "string", "minLength": 1});
                match name {
                    "period" => schema["pattern"] = json!(PERIOD_PATTERN),
                    "form" => schema["enum"] = json!(crate::routes::YEAR_END_FILES),
                    "provider" => schema["enum"] = json!(tokencomp_service::layouts::providers()),
                    _ => {}
                }
                json!({"name": name, "in": "path", "required": true, "schema": schema})
            })
            .collect();
        let (first, last) = crate::DATES;
        for p in &route.params {
            let mut schema = json!({"type": p.kind});
            let mut description = p.description.to_owned();
            if let Some(f) = p.format {
                schema["format"] = json!(f);
                if f == "date" {
                    description.push_str(&format!(" From {first} to {last}."));
                }
            }
            if let Some((lo, hi)) = p.range {
                schema["minimum"] = json!(lo);
                schema["maximum"] = json!(hi);
            }
            if !p.choices.is_empty() {
                schema["enum"] = json!(p.choices);
            }
            params.push(
                json!({"name": p.name, "in": "query", "required": false, "description": description, "schema": schema}),
            );
        }
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        if let Some(body) = route.body {
            op.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": r(body)}}}),
            );
        }
        if route.access != Access::Public {
            op.insert("security".into(), json!([{"session": []}, {"api_key": []}]));
        }
        let ok = match route.response {
            Resp::Json(schema) => json!({"description": "OK", "content": {"application/json": {"schema": r(schema)}}}),
            Resp::Text(types) => {
                let content: Map<String, Value> =
                    types.iter().map(|ct| ((*ct).to_owned(), json!({"schema": file_schema(ct)}))).collect();
                json!({"description": "A file", "content": content})
            }
            Resp::Html => json!({"description": "A page", "content": {"text/html": {"schema": {"type": "string"}}}}),
        };
        let err = |d: &str| json!({"description": d, "content": {"application/json": {"schema": r("Error")}}});
        let mut ok = ok;
        let walk = links(&id);
        if !walk.is_empty() {
            let l: Map<String, Value> = walk
                .iter()
                .map(|(name, target, param, expr)| {
                    ((*name).to_owned(), json!({"operationId": target, "parameters": {*param: expr}}))
                })
                .collect();
            ok["links"] = Value::Object(l);
        }
        let mut responses = Map::new();
        responses.insert(route.status.as_u16().to_string(), ok);
        responses.insert("400".into(), err("Bad input: `details.field` names the parameter or body field"));
        if route.access != Access::Public {
            responses.insert("401".into(), err("Not logged in"));
            responses.insert("403".into(), err("The caller's role may not do this, or it is someone else's"));
        } else if route.path == "/api/session" {
            responses.insert("401".into(), err("Wrong user name or password"));
            responses.insert("429".into(), err("Too many failed logins for this name: locked for a while"));
        }
        responses.insert("404".into(), err("No such resource"));
        if route.access != Access::Public {
            responses.insert(
                "422".into(),
                err("The ledger lacks something this needs (a price, a rate): `incomplete_data`; a payroll layout the service refuses: `layout_refused`"),
            );
        }
        if route.method != axum::http::Method::GET && route.access != Access::Public {
            responses.insert("409".into(), err("Refused by the ledger's rules (a cycle, a closed window, a conflict)"));
        }
        if route.body.is_some() {
            responses.insert("415".into(), err("The body is not JSON"));
        }
        // Limits (crates/api/src/limits.rs): every route caps its body; writes are limited per
        // login; password and key checks pass a bounded queue.
        responses.insert("413".into(), err("The body is larger than 64 KiB: `payload_too_large`"));
        if route.body.is_some() {
            responses.insert("408".into(), err("The body did not arrive in time: `request_timeout`"));
        }
        if route.access != Access::Public && route.method != axum::http::Method::GET && route.path != "/api/session" {
            responses.insert(
                "429".into(),
                err("Too many changes from this login (by default 30 at once, then one every 2 s): `rate_limited`, with `Retry-After`"),
            );
        }
        if route.access != Access::Public || route.path == "/api/session" {
            responses.insert(
                "503".into(),
                err("Too many password or key checks waiting: `overloaded`, with `Retry-After`; try again"),
            );
        }
        op.insert("responses".into(), Value::Object(responses));
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        entry[route.method.as_str().to_lowercase()] = Value::Object(op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "tokencomp", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Token grants, vesting, payroll, books, chain reconciliation and governance. Token amounts are strings of base units; every document with amounts carries its token."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": crate::SESSION_COOKIE,
                            "description": "From POST /api/session; requests that change something also send `x-csrf-token`."},
                "api_key": {"type": "http", "scheme": "bearer", "description": "`tc_<id>_<secret>` from `tokencomp user key`."},
            },
        },
    })
}

/// A download's schema: text, or bytes for a binary type such as a PDF.
fn file_schema(content_type: &str) -> Value {
    if content_type.starts_with("text/") {
        json!({"type": "string"})
    } else {
        json!({"type": "string", "format": "binary"})
    }
}
