//! Milestone attestations: the oracle registry's actions, the domain an attestation is signed
//! under, signing a result file's metric, and checking and recording submissions (an accepted
//! set becomes the grant's milestone event through the checked grant-event path, so it applies
//! once). The rules are the core's (`attestation::Book`), the cryptography the chain crate's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use alloy_primitives::Address;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use tokencomp_chain::attest::{self, Attestation, Domain, Submission};
use tokencomp_chain::keys::Key;
use tokencomp_chain::ops::Deployment;
use tokencomp_core::attestation::Signer;
use tokencomp_core::grant::{EventKind, GrantEvent};
use tokencomp_formats::attestation::metric_at;
use tokencomp_formats::canonical::write_event;
use tokencomp_store::ledger::{Accepted, AttestationRecord, Company, Fact, OracleAction, Overrides};
use tokencomp_store::{Appended, Store};

pub use crate::chain::read_submission;
use crate::data::DataDir;
use crate::error::{Context, Error, Result, bad_input};
use crate::ledger::{Loaded, Stamp, record_checked};

/// Chains whose state nobody relies on: Hardhat's and Anvil's (31337) and Ganache's (1337).
pub const DEVELOPMENT_CHAINS: [u64; 2] = [31337, 1337];

/// The demo oracle's key: derived from a public phrase, so the demo is reproducible; never
/// register its address anywhere real.
const DEMO_ORACLE_KEY: &str = "tokencomp demo oracle key: public, never trust it";
/// The demo's evaluation results, lm-evaluation-harness's shape.
const DEMO_RESULTS: &str = include_str!("../../../examples/lm-eval-results.json");

/// An instant: RFC 3339, or a date meaning `day_end` (its end) or its start, in the zone.
pub fn instant(text: Option<&str>, tz: &TimeZone, flag: &str, day_end: bool, now: Timestamp) -> Result<u64> {
    let Some(text) = text else {
        return u64::try_from(now.as_second()).context("the clock is before 1970");
    };
    let seconds = if let Ok(d) = text.parse::<jiff::civil::Date>() {
        let f = if day_end { tokencomp_core::calendar::end_of_day } else { tokencomp_core::calendar::start_of_day };
        f(d, tz).map_err(|e| bad_input(e, flag))?
    } else {
        text.parse::<Timestamp>()
            .map_err(|_| bad_input(format!("`{text}` is not a date (YYYY-MM-DD) or an RFC 3339 time"), flag))?
            .as_second()
    };
    u64::try_from(seconds).map_err(|_| bad_input(format!("`{text}` is before 1970"), flag))
}

/// One registry action on a copy of the registry as it stands under the write lock first: what
/// it refuses is never recorded. `at` is when it takes effect.
pub fn register(
    store: &mut dyn Store,
    known: Option<&Loaded>,
    by: &Stamp,
    action: OracleAction,
    oracle: &str,
    signer: Option<Signer>,
    at: u64,
) -> Result<Appended> {
    let (a, ()) = record_checked(store, by, known, |l| {
        let mut r = l.company()?.registry.clone();
        let done = match (action, signer) {
            (OracleAction::Register, Some(s)) => r.register(oracle, s, at),
            (OracleAction::Rotate, Some(s)) => r.rotate(oracle, s, at),
            _ => r.revoke(oracle, at),
        };
        done.map_err(|e| bad_input(e, "--oracle"))?;
        Ok::<_, Error>((
            vec![Fact::Oracle { action, oracle: oracle.to_owned(), address: signer.map(|s| s.to_string()), at }],
            (),
        ))
    })?;
    Ok(a)
}

/// The domain: `chain_id` and `contract` when given, else the VestingManager deployed on the
/// company's chain.
pub fn domain(data: &DataDir, company: &Company, chain_id: Option<u64>, contract: Option<&str>) -> Result<Domain> {
    if let (Some(chain_id), Some(contract)) = (chain_id, contract) {
        let verifying_contract = contract
            .parse::<Address>()
            .map_err(|e| bad_input(format!("`{contract}` is not an address: {e}"), "--contract"))?;
        return Ok(Domain { chain_id, verifying_contract });
    }
    let want = company.token.chain_id;
    let dir = data.chain_dir();
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let path = e.path();
            if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".deployment.json"))
                && let Some(d) = Deployment::load(&path)?
                && want.is_none_or(|w| w == d.chain_id)
            {
                found.push(d);
            }
        }
    }
    match found.as_slice() {
        [d] => Ok(Domain { chain_id: d.chain_id, verifying_contract: d.manager }),
        [] => Err(bad_input(
            "no VestingManager is deployed for this company, so there is no domain to sign under",
            "run `tokencomp chain deploy`, or give --chain-id and --contract",
        )),
        _ => Err(bad_input("more than one deployment matches the company's chain", "give --chain-id and --contract")),
    }
}

/// `7d`, `12h`, `30m`, `90s` or plain seconds.
pub fn duration(text: &str) -> Result<u64> {
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| bad_input(format!("`{text}` is not a duration (7d, 12h, 30m, 90s)"), "--expires-in"))?;
    let unit = match unit {
        'd' => 86_400,
        'h' => 3_600,
        'm' => 60,
        's' => 1,
        _ => return Err(bad_input(format!("`{text}`: the unit is d, h, m or s"), "--expires-in")),
    };
    n.checked_mul(unit).ok_or_else(|| bad_input(format!("`{text}` is too long"), "--expires-in"))
}

/// A signed attestation and what it says.
pub struct Signed {
    pub submission: Submission,
    pub attestation: Attestation,
    pub domain: Domain,
    /// The metric's value as read from the result file.
    pub value: String,
    pub metric: String,
    pub milestone: String,
    pub subject: String,
}

/// What to sign: the metric at `pointer` of `result_text` (`result_name` names the file).
pub struct SignRequest<'a> {
    pub key: &'a Key,
    pub milestone: &'a str,
    pub result_name: &'a str,
    pub result_text: &'a str,
    pub pointer: &'a str,
    pub domain: Domain,
    pub observed_at: u64,
    pub expires_in: &'a str,
    pub nonce: u64,
}

/// Signs the metric for `milestone` under `domain`.
pub fn sign(company: &Company, r: &SignRequest<'_>) -> Result<Signed> {
    let Some(terms) = company.milestones.get(r.milestone) else {
        return Err(bad_input(format!("no milestone has id `{}`", r.milestone), "--milestone"));
    };
    let value =
        metric_at(r.result_text, r.pointer).map_err(|e| bad_input(e, &format!("{} ({})", r.result_name, r.pointer)))?;
    let expires_at = r
        .observed_at
        .checked_add(duration(r.expires_in)?)
        .ok_or_else(|| bad_input("the expiry is beyond 2^64 seconds", "--expires-in"))?;
    let attestation = Attestation {
        milestone: terms.milestone.id.clone(),
        metric: terms.milestone.metric.clone(),
        value: attest::value(value),
        subject: terms.milestone.subject.to_string(),
        observedAt: r.observed_at,
        expiresAt: expires_at,
        oracle: r.key.address(),
        nonce: r.nonce,
    };
    let submission = attest::sign(r.key, &attestation, &r.domain)?;
    Ok(Signed {
        submission,
        attestation,
        domain: r.domain,
        value: value.to_string(),
        metric: terms.milestone.metric.clone(),
        milestone: terms.milestone.id.clone(),
        subject: terms.milestone.subject.to_string(),
    })
}

/// The ledger's record of one submission and what came of it.
fn record_of(
    company: &Company,
    s: &Submission,
    json: &str,
    at: u64,
    outcome: Result<Accepted, String>,
    set_reason: Option<String>,
    overrides: &Overrides,
) -> Fact {
    let a = &s.attestation;
    let digest = attest::digest(a, &s.domain).to_string();
    let signer = attest::recover(&attest::digest(a, &s.domain), &s.signature).ok().map(|x| x.to_string());
    let subject = match company.milestones.get(&a.milestone).and_then(|m| m.grants.first()) {
        Some(grant) => grant.clone(),
        None => a.subject.strip_prefix("grant:").unwrap_or(&a.subject).to_owned(),
    };
    Fact::Attestation(AttestationRecord {
        digest,
        milestone: a.milestone.clone(),
        subject,
        submission: json.to_owned(),
        at,
        signer,
        nonce: a.nonce,
        value: attest::claim(a).value.units(),
        outcome,
        set_reason,
        overrides: overrides.clone(),
    })
}

/// What `submit` overrides, refused unless asked for by name and on a development chain: a
/// recorded acceptance must hold at the time it is recorded, under the company's own domain, or
/// the ledger and the chain disagree about what was applied.
/// `submit`'s flags that can override a check.
#[derive(Clone, Debug, Default)]
pub struct CheckFlags {
    pub at: Option<String>,
    pub chain_id: Option<u64>,
    pub override_clock: bool,
    pub override_domain: bool,
}

pub fn overrides(
    company: &Company,
    args: &CheckFlags,
    expected: &Domain,
    deployed: Option<&Domain>,
) -> Result<Overrides> {
    if args.at.is_some() && !args.override_clock {
        return Err(bad_input(
            "`submit --at` checks the files at another time than now, so an expired attestation could be recorded as accepted; pass --override-clock to do so on a development chain",
            "--at",
        ));
    }
    // Flags naming the deployment's own domain override nothing.
    let other_domain = args.chain_id.is_some() && deployed != Some(expected);
    if other_domain && !args.override_domain {
        return Err(bad_input(
            "`submit --chain-id/--contract` accepts attestations signed for another domain than the company's deployment; pass --override-domain to do so on a development chain",
            "--chain-id",
        ));
    }
    let o = Overrides {
        clock: args.override_clock,
        domain: (other_domain && args.override_domain)
            .then(|| (expected.chain_id, expected.verifying_contract.to_string())),
    };
    if o.any() {
        let flag = if o.clock { "--override-clock" } else { "--override-domain" };
        development_chain_only(company, &[expected.chain_id], flag)?;
    }
    Ok(o)
}

/// Refuses `flag` (an override of the clock or the domain) unless the company's chain and each
/// of `others` is a development chain.
pub fn development_chain_only(company: &Company, others: &[u64], flag: &str) -> Result<()> {
    let company_chain = company.token.chain_id.unwrap_or(crate::chain::DEFAULT_CHAIN_ID);
    for &chain in std::iter::once(&company_chain).chain(others) {
        if !DEVELOPMENT_CHAINS.contains(&chain) {
            return Err(bad_input(
                format!(
                    "{flag} is refused on chain id {chain}: overrides are for development chains only ({})",
                    DEVELOPMENT_CHAINS.map(|c| c.to_string()).join(", ")
                ),
                flag,
            ));
        }
    }
    Ok(())
}

/// Each file checked alone against the book (`oracle verify`): a line per file, and whether any
/// was rejected.
pub fn verify(
    company: &Company,
    subs: &[(PathBuf, (Submission, String))],
    expected: &Domain,
    now: u64,
) -> (Vec<String>, bool) {
    let book = company.book();
    let mut refused = false;
    let mut lines = Vec::new();
    for (path, (s, _)) in subs {
        match attest::check(&book, s, expected, now) {
            Ok(oracle) => lines.push(format!(
                "{}: accepted ({} = {} by oracle {oracle})",
                path.display(),
                s.attestation.metric,
                attest::claim(&s.attestation).value
            )),
            Err(reason) => {
                refused = true;
                lines.push(format!("{}: rejected: {reason}", path.display()));
            }
        }
    }
    (lines, refused)
}

/// What submissions are checked against: the domain, the instant, the company's zone (for the
/// milestone event's day) and what the caller overrode.
#[derive(Clone, Copy)]
pub struct Checks<'a> {
    pub expected: &'a Domain,
    pub now: u64,
    pub tz: &'a TimeZone,
    pub overrides: &'a Overrides,
}

/// Submits the files as sets by milestone, in the order their milestones first appear, each
/// checked against the book as it stands under the write lock (so two submissions of one
/// milestone at once cannot both apply it, nor both spend a nonce). The lines to print, and
/// whether any set was refused (a refused set records each file with its reason).
pub fn submit(
    store: &mut dyn Store,
    known: Option<&Loaded>,
    by: &Stamp,
    subs: &[(PathBuf, (Submission, String))],
    checks: &Checks<'_>,
) -> Result<(Vec<String>, bool)> {
    let Checks { expected, now, tz, overrides } = *checks;
    let mut sets: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut order = Vec::new();
    for (i, (_, (s, _))) in subs.iter().enumerate() {
        let m = s.attestation.milestone.clone();
        if !sets.contains_key(&m) {
            order.push(m.clone());
        }
        sets.entry(m).or_default().push(i);
    }
    let cx = SetContext { subs, expected, now, tz, overrides };
    let (mut all, mut refused) = (Vec::new(), false);
    for milestone in order {
        let idx = &sets[&milestone];
        let (_, (lines, set_refused)) = record_checked(store, by, known, |l| cx.decide(l.company()?, &milestone, idx))?;
        refused |= set_refused;
        all.extend(lines);
    }
    Ok((all, refused))
}

/// What a set came to: the lines to print, and whether it was refused.
type SetOutcome = (Vec<String>, bool);

/// What one `submit` checks its sets with.
pub struct SetContext<'a> {
    subs: &'a [(PathBuf, (Submission, String))],
    expected: &'a Domain,
    now: u64,
    tz: &'a TimeZone,
    overrides: &'a Overrides,
}

impl SetContext<'_> {
    /// One milestone's set against `company`: the facts to record, the lines to print, and
    /// whether it was refused. A refused set records each file with its own reason.
    fn decide(&self, company: &Company, milestone: &str, idx: &[usize]) -> Result<(Vec<Fact>, SetOutcome)> {
        let (subs, expected, now, tz) = (self.subs, self.expected, self.now, self.tz);
        let book = company.book();
        let set: Vec<Submission> = idx.iter().map(|&i| subs[i].1.0.clone()).collect();
        let met = match attest::apply(&mut book.clone(), milestone, &set, expected, now) {
            Err(r) => {
                let (mut facts, mut lines) = (Vec::new(), Vec::new());
                let culprit = r.index.and_then(|p| idx.get(p)).map(|&i| subs[i].0.display().to_string());
                for (pos, &i) in idx.iter().enumerate() {
                    let (path, (s, json)) = &subs[i];
                    // The file's own refusal when it has one; the set's when the set as a whole
                    // failed; else it passed and was refused with its set.
                    let own = if r.index == Some(pos) {
                        Some(r.reason)
                    } else {
                        attest::check(&book, s, expected, now).err()
                    };
                    let reason = match (own, r.index) {
                        (Some(own), _) => own.as_str().to_owned(),
                        (None, None) => r.reason.as_str().to_owned(),
                        (None, Some(_)) => "set_refused".to_owned(),
                    };
                    lines.push(match (&culprit, reason.as_str()) {
                        (Some(c), "set_refused") => {
                            format!(
                                "{}: rejected: set_refused (its set was refused: {c}: {})",
                                path.display(),
                                r.reason
                            )
                        }
                        _ => format!("{}: rejected: {reason}", path.display()),
                    });
                    let set_reason = Some(r.reason.as_str().to_owned());
                    facts.push(record_of(company, s, json, now, Err(reason), set_reason, self.overrides));
                }
                return Ok((facts, (lines, true)));
            }
            Ok(met) => met,
        };
        let Some(terms) = company.milestones.get(milestone) else {
            return Err(bad_input(format!("milestone `{milestone}` has no terms"), "[[milestone]]"));
        };
        let first = attest::digest(&set[0].attestation, &set[0].domain).to_string();
        let event_id = format!("attest-{}", &first[2..18]);
        let observed = set.iter().map(|s| s.attestation.observedAt).max().unwrap_or(now);
        let day = tz.to_datetime(Timestamp::from_second(i64::try_from(observed)?)?).date();
        let mut facts = Vec::new();
        let mut lines = Vec::new();
        let token = &company.token.token;
        for grant_id in &terms.grants {
            let Some(rec) = company.grants.get(grant_id) else {
                return Err(bad_input(
                    format!("milestone `{milestone}` names grant `{grant_id}`, which the ledger does not have"),
                    "[[milestone]]",
                ));
            };
            let cap = match &terms.effect {
                tokencomp_core::model::TermsEffect::Graded { tranche } => {
                    rec.terms.grant.performance.iter().find(|p| &p.id == tranche).map_or(0, |p| p.cap_bps)
                }
                tokencomp_core::model::TermsEffect::Fixed(_) => 0,
            };
            let effect = terms.effect_for(met.value, cap).ok_or_else(|| {
                bad_input(format!("milestone `{milestone}`: no graded share for {}", met.value), "[[milestone]]")
            })?;
            let event = GrantEvent { id: event_id.clone(), date: day, kind: EventKind::Milestone { effect } };
            let mut grant = rec.terms.grant.clone();
            grant.check_new_event(&event).map_err(|e| bad_input(e, &format!("grant {grant_id}")))?;
            grant.events.push(event.clone());
            let before = rec.terms.grant.timeline(tz, None).map_err(|e| bad_input(e, &format!("grant {grant_id}")))?;
            let after = grant.timeline(tz, None).map_err(|e| bad_input(e, &format!("grant {grant_id}")))?;
            let sum = |t: &tokencomp_core::Timeline| {
                t.tranches.iter().fold(0u128, |a, x| a.saturating_add(x.amount.base_units()))
            };
            let delta = sum(&after).saturating_sub(sum(&before));
            lines.push(format!(
                "applied {milestone} (value {}, oracles {}) to {grant_id} as event {event_id} on {day}: {} {} more scheduled",
                met.value,
                met.oracles.join(", "),
                token.format(tokencomp_money::TokenAmount::from_base_units(delta)),
                token.symbol()
            ));
            facts.push(Fact::GrantEvent {
                grant: grant_id.clone(),
                event_id: event_id.clone(),
                event: write_event(&event, token),
            });
        }
        let accepted =
            Accepted { event_id: event_id.clone(), met_value: met.value.units(), oracles: met.oracles.clone() };
        for &i in idx {
            let (_, (s, json)) = &subs[i];
            facts.push(record_of(company, s, json, now, Ok(accepted.clone()), None, self.overrides));
        }
        Ok((facts, (lines, false)))
    }
}

/// The demo's oracle, as its commands would do it: the oracle `evals` with the demo key,
/// registered from 2026-10-01; the sample results file (`DATA/evals/results.json`) signed for
/// `omar-mmlu` under the deployment's domain, observed 2026-10-20, into
/// `DATA/evals/omar-mmlu.json`; and that file submitted to the ledger. Returns the file, which the
/// demo submits to the chain too.
/// What the demo's oracle did: the files it signed, and what its commands would have printed.
pub struct DemoOracle {
    pub files: Vec<PathBuf>,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

pub fn demo(data: &DataDir, store: &mut dyn Store, by: &Stamp) -> Result<DemoOracle> {
    let key =
        Key::from_hex(&alloy_primitives::keccak256(DEMO_ORACLE_KEY.as_bytes()).to_string(), "the demo oracle key")?;
    let key_file = data.oracle_key("evals");
    if !key_file.exists() {
        key.save(&key_file)?;
    }
    let dir = data.evals_dir();
    tokencomp_store::private::dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let results = dir.join("results.json");
    tokencomp_store::private::write(&results, DEMO_RESULTS.as_bytes())
        .with_context(|| format!("writing {}", results.display()))?;
    let out = dir.join("omar-mmlu.json");
    let company = crate::ledger::load(store)?;
    let tz = company.company.time_zone.clone();
    let fixed = |s: &str| s.parse::<Timestamp>().map_err(Error::internal);
    let at = instant(Some("2026-10-01"), &tz, "--at", false, Timestamp::UNIX_EPOCH)?;
    let signer = key.address().to_string().parse::<Signer>().map_err(|e| Error::internal(e.text))?;
    let a = register(store, None, by, OracleAction::Register, "evals", Some(signer), at)?;
    let mut stdout = vec![format!(
        "registered oracle evals key {signer} at {} ({} new events)",
        Timestamp::from_second(i64::try_from(at)?)?,
        a.new
    )];
    let company = crate::ledger::load(store)?;
    let domain = domain(data, &company, None, None)?;
    let observed_at = u64::try_from(fixed("2026-10-20T15:00:00Z")?.as_second())?;
    let signed = sign(
        &company,
        &SignRequest {
            key: &key,
            milestone: "omar-mmlu",
            result_name: &results.display().to_string(),
            result_text: DEMO_RESULTS,
            pointer: "/results/mmlu/acc,none",
            domain,
            observed_at,
            expires_in: "30d",
            nonce: 1,
        },
    )?;
    let json = serde_json::to_string_pretty(&signed.submission.to_json())?;
    tokencomp_store::private::write(&out, format!("{json}\n").as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    let stderr = vec![format!(
        "signed {} = {} for {} ({}), digest {}",
        signed.metric,
        signed.value,
        signed.milestone,
        signed.subject,
        attest::digest(&signed.attestation, &signed.domain)
    )];
    stdout.push(out.display().to_string());
    // The demo's fixed "today" is in the past: its embedded chain is a development chain.
    let flags = CheckFlags {
        at: Some("2026-10-20T18:00:00Z".into()),
        chain_id: None,
        override_clock: true,
        override_domain: false,
    };
    let loaded = crate::ledger::load_all(store)?;
    let company = loaded.company()?;
    let expected = domain;
    let deployed = Some(expected);
    let o = overrides(company, &flags, &expected, deployed.as_ref())?;
    let now = instant(flags.at.as_deref(), &tz, "--at", true, Timestamp::UNIX_EPOCH)?;
    let subs = vec![(out.clone(), read_submission(&out)?)];
    let (lines, refused) =
        submit(store, Some(&loaded), by, &subs, &Checks { expected: &expected, now, tz: &tz, overrides: &o })?;
    stdout.extend(lines);
    if refused {
        return Err(Error::Rejected { field: "demo".into(), text: String::new() });
    }
    Ok(DemoOracle { files: vec![out], stdout, stderr })
}
