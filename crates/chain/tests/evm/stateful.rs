//! The contract's invariant test: random sequences of every operation VestingManager has (create,
//! with the treasury's allowance or balance short at times; release by the beneficiary or pushed
//! by a stranger; releaseMany; pause and resume; revoke, dated before and after an applied
//! milestone; change of wallet; withholding; milestone definitions with every effect, funded from
//! the treasury (short at times); attestation sets with a quorum, some below the threshold, some
//! after the deadline) run on the embedded chain beside a model whose vested amounts come from the
//! engine (`Grant::timeline` with the matching events and performance tranches, and
//! `tokencomp_chain::attest::apply` for every set of attestations).
//!
//! After every step, from the chain alone (the manager's logs and views):
//! - for each grant, net released + withheld + returned to the treasury + still held = funded
//!   (`createGrants` and each milestone effect's funding), where still held is what the contract
//!   will still pay: for a revoked grant `vestedAt(id, 2^64 - 1)` less what it released, for any
//!   other its total, performance bonus and pending funding less what it released;
//! - the manager's balance is at least what it still holds for all grants;
//! - no grant released more than the engine says vested by now.
//!
//! And against the model: every balance (each wallet ever a beneficiary, the tax wallet, the
//! treasury, the stranger, the manager), every grant's state, milestone state and releasable amount
//! to the base unit, and every refusal by its exact revert data.
//!
//! It counts the steps that succeed by kind, and asserts that every kind succeeded at least
//! `AT_LEAST` times in a run of the default size. A failure prints the sequence's seed and its
//! steps; `TOKENCOMP_STATEFUL_SEED=0x…` replays that one sequence, and
//! `TOKENCOMP_STATEFUL_SEQUENCES=N` runs N sequences instead of `SEQUENCES` (the longer run).
//!
//! What keeps the engine and the contract answering the same question:
//! - Every transaction is mined at the last second of a UTC day. The engine states vesting as of
//!   the end of a date (`Timeline::position` with `as_of`), which for a linear grant is an
//!   instant, so the contract must be asked at that same instant.
//! - Pauses and resumes are at 00:00 UTC, and only on grants in UTC with day steps, custom
//!   tranches or a linear shape. The engine's leave moves later vests by whole days (instants by
//!   the leave's seconds), the contract moves them by the paused seconds: in UTC a day is always
//!   86,400 s, so the two coincide. Calendar-month grants get no leaves (a pause step picking one
//!   is dropped): the engine re-anchors month installments after a leave and clamps them to month
//!   ends, which no shift of instants reproduces. They are the only grants given other zones
//!   (vests at 00:00 local, still compared at the end of a UTC day).
//! - A revocation is effective at the last second of a UTC day, and becomes the engine's
//!   revocation or termination without acceleration on that instant's local date: both keep what
//!   vested by the end of the date, and the engine's forfeiture of the time-vesting part is what
//!   the treasury gets back, with the funding of milestones not applied yet.
//! - A pause the contract has not seen resumed is an engine leave running past every date asked
//!   about. A pause that starts after a revocation's effective instant is left out of the engine:
//!   the contract freezes a revoked grant at the revocation first, so such a pause changes
//!   nothing (and the engine refuses events after a grant ended). A resume at the pause's own
//!   instant is no leave at all (the engine needs a leave to last a day; the contract shifts by
//!   zero seconds).
//! - A grant a pull-forward milestone may move is pushed with one step per installment
//!   (`Schedule::installment_steps`, pre-cliff ones at zero), as the CLI pushes it; every other
//!   tranched grant as its timeline stands. A milestone's effect is the engine event of the local
//!   date of the block that applied it (the contract counts it from that block; every block is at
//!   the end of a UTC day, so the two agree at every instant asked about). Performance effects
//!   (unlock, scale, graded) are performance tranches of the engine's grant, targeted as the
//!   effect is; the contract funds an unlock's target, a scale's share, a graded effect's cap's
//!   share, and returns what the effect did not vest when it applies.
//! - An effect on a grant already revoked (by a transaction before it, whatever the effective
//!   date) does nothing on chain and is left out of the engine: the revocation returned its
//!   funding. A revocation dated before an applied milestone (the transaction after it) voids the
//!   applications after its effective instant, as the engine holds no event after a grant ended:
//!   their steps pulled forward no longer count, and their performance amount goes back to the
//!   treasury with the rest.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use alloy_primitives::{Address, B256, U256, address};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use tokencomp_chain::Key;
use tokencomp_chain::attest::{self, Attestation, Domain, Submission};
use tokencomp_core::attestation::{Book, Comparison, Fixed18, Milestone, Registry, Rejection, Signer, Subject};
use tokencomp_core::calendar::{date_of, end_of_day, start_of_day};
use tokencomp_core::grant::{EventKind, Grant, GrantEvent, MilestoneEffect, PerformanceTranche, TerminationCause};
use tokencomp_core::model::{MilestoneTerms, TermsEffect};
use tokencomp_core::schedule::{Allocation, Calendar, Custom, DayOfMonth, Linear, LinearModel, Period, Schedule};
use tokencomp_evm::{Receipt, TestToken, VestingManager as VM};
use tokencomp_money::{TokenAmount, mul_div_floor};

use crate::harness::{ADMIN, GENESIS, OPERATOR, Rng, STRANGER, TAX, TREASURY, World, id, linear, tranched, wallet};

const DAY: u64 = 86_400;
/// Sequences per run: CI's size (see docs/chain.md for the time it takes).
const SEQUENCES: u64 = 2_000;
const MIN_STEPS: u64 = 30;
const MAX_STEPS: u64 = 45;
/// Every kind of step succeeds at least this often in a run of `SEQUENCES` or more.
const AT_LEAST: u64 = 50;
/// Beneficiaries are drawn from `wallet(1..=WALLETS)`; a change of wallet may also pick one of
/// `wallet(101..=100 + WALLETS)`.
const WALLETS: u64 = 4;
const ZONES: [&str; 4] = ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"];
const METRIC: &str = "mmlu/acc,none";
const SUBJECT: &str = "team:ml";
const ORACLES: u64 = 3;
/// Holds the treasury's tokens while a step makes its balance short.
const SINK: Address = address!("00000000000000000000000000000000000000e1");
/// A timestamp past every schedule: what `vestedAt` says a grant will have vested in the end.
const FAR: u64 = u64::MAX;
/// The contract's effect kinds.
const UNLOCK: u8 = 1;
const PULL: u8 = 2;
const SCALE: u8 = 3;
const GRADED: u8 = 4;
/// The contract's kind of a tranched grant with one step per installment.
const INSTALLMENTS: u8 = 3;

/// Every kind of step counted, each of which must succeed `AT_LEAST` times a run.
const KINDS: [&str; 28] = [
    "create",
    "create refused: allowance short",
    "create refused: balance short",
    "advance",
    "release",
    "release refused: nothing to release",
    "release refused: paused",
    "releaseMany",
    "pause",
    "resume",
    "revoke",
    "revoke after an applied milestone",
    "revoke before an applied milestone",
    "revoke before an applied pull forward",
    "set beneficiary",
    "withhold",
    "define milestone",
    "define refused: allowance short",
    "define refused: invalid effect",
    "define refused: pull forward without installment steps",
    "define refused: revoked grant",
    "apply: unlock",
    "apply: scale",
    "apply: graded",
    "apply: pull forward",
    "apply refused: quorum not met",
    "apply refused: past deadline",
    "apply refused: below threshold",
];

// ------------------------------------------------------------------------------------ steps

#[derive(Clone, Debug)]
enum Shape {
    /// `occurrences` installments every `days` days.
    DaySteps { days: u32, occurrences: u32, cliff: u32, allocation: Allocation },
    /// Custom tranches: (days after the previous date, weight).
    Custom { tranches: Vec<(u16, u8)> },
    /// Calendar months in a zone, never paused (see the module comment).
    Months { months: u32, occurrences: u32, cliff: u32, day_of_month: DayOfMonth, allocation: Allocation, zone: usize },
    /// OpenZeppelin linear: start `delay` seconds into the start date, cliff and end after it.
    Linear { delay: u32, cliff: Option<u32>, duration: u32 },
}

#[derive(Clone, Debug)]
struct Spec {
    shape: Shape,
    /// Start date, in days from the day of creation.
    start: i16,
    total: u128,
    beneficiary: u64,
    /// One step per installment on chain, so a pull forward may move it (not for linear shapes).
    installments: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Short {
    Allowance,
    Balance,
}

#[derive(Clone, Debug)]
struct EffectSpec {
    grant: u8,
    kind: u8,
    periods: u32,
    bps: u32,
    target: u128,
}

/// Grant and milestone references are raw numbers taken modulo what exists (or what fits), so a
/// sequence always refers to something.
#[derive(Clone, Debug)]
enum Step {
    Create {
        specs: Vec<Spec>,
        short: Option<Short>,
    },
    Advance {
        days: u16,
    },
    Release {
        grant: u8,
        by_stranger: bool,
    },
    ReleaseMany {
        grants: Vec<u8>,
    },
    Pause {
        grant: u8,
        days_back: u8,
    },
    Resume {
        grant: u8,
        days_back: u8,
    },
    Revoke {
        grant: u8,
        days_ahead: i16,
        how: u8,
    },
    /// A grant with an applied milestone, revoked as of a day before the (last) application.
    RevokeBeforeMilestone {
        grant: u8,
        days_before: u8,
        how: u8,
    },
    SetBeneficiary {
        grant: u8,
        wallet: u8,
    },
    Withhold {
        grant: u8,
        index: u16,
        permille: u16,
    },
    /// `invalid`: add a pull forward on a linear grant, or an effect on a revoked grant.
    Define {
        effects: Vec<EffectSpec>,
        quorum: u32,
        threshold: u8,
        deadline_days: u16,
        short: bool,
        invalid: Option<u8>,
    },
    /// `signers` oracles from `first` on attest `values` (hundredths; `below` marks one under the
    /// threshold).
    Apply {
        milestone: u8,
        signers: u8,
        first: u8,
        values: [u16; 3],
        below: Option<u8>,
    },
}

trait Draw {
    fn u128_in(&mut self, lo: u128, hi: u128) -> u128;
    fn u8(&mut self) -> u8;
    fn flip(&mut self, one_in: u64) -> bool;
}

impl Draw for Rng {
    fn u128_in(&mut self, lo: u128, hi: u128) -> u128 {
        let wide = (u128::from(self.next()) << 64) | u128::from(self.next());
        lo + wide % (hi - lo + 1)
    }
    fn u8(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
    fn flip(&mut self, one_in: u64) -> bool {
        self.range(1, one_in) == 1
    }
}

fn small<T: TryFrom<u64>>(r: &mut Rng, lo: u64, hi: u64) -> T
where
    T::Error: std::fmt::Debug,
{
    T::try_from(r.range(lo, hi)).unwrap()
}

fn gen_shape(r: &mut Rng) -> Shape {
    match r.range(0, 3) {
        0 => {
            let occurrences = small(r, 1, 30);
            Shape::DaySteps {
                days: small(r, 1, 60),
                occurrences,
                cliff: small::<u32>(r, 0, 12).min(occurrences),
                allocation: *r.pick(&Allocation::ALL),
            }
        }
        1 => {
            let n = r.range(1, 8);
            Shape::Custom { tranches: (0..n).map(|_| (small(r, 1, 200), small(r, 1, 100))).collect() }
        }
        2 => {
            let occurrences = small(r, 1, 24);
            let day_of_month = match r.range(0, 2) {
                0 => DayOfMonth::Day(small(r, 1, 28)),
                1 => DayOfMonth::OrLast(small(r, 29, 31)),
                _ => DayOfMonth::VestingStartDayOrLast,
            };
            Shape::Months {
                months: *r.pick(&[1, 1, 3, 6]),
                occurrences,
                cliff: small::<u32>(r, 0, 12).min(occurrences),
                day_of_month,
                allocation: *r.pick(&Allocation::ALL),
                zone: small(r, 0, 3),
            }
        }
        _ => {
            let duration: u32 = match r.range(0, 2) {
                0 => 0,
                1 => small(r, 1, 5_000),
                _ => small(r, 1, 800 * DAY),
            };
            let cliff = r.flip(2).then(|| small::<u32>(r, 0, u64::from(u32::MAX)) % (duration + 1));
            Shape::Linear { delay: small(r, 0, 3 * DAY), cliff, duration }
        }
    }
}

fn gen_spec(r: &mut Rng) -> Spec {
    let shape = gen_shape(r);
    let total = match r.range(0, 2) {
        0 => r.u128_in(1, 1_000),
        1 => r.u128_in(1, 10u128.pow(24)),
        _ => r.u128_in(10u128.pow(24), 10u128.pow(30)),
    };
    let installments = !matches!(shape, Shape::Linear { .. }) && r.flip(2);
    Spec { shape, start: small::<i16>(r, 0, 650) - 500, total, beneficiary: r.range(1, WALLETS), installments }
}

fn gen_specs(r: &mut Rng) -> Vec<Spec> {
    (0..r.range(1, 2)).map(|_| gen_spec(r)).collect()
}

fn gen_effect(r: &mut Rng) -> EffectSpec {
    let kind = small(r, 1, 4);
    let target = match r.range(0, 1) {
        0 => r.u128_in(1, 1_000),
        _ => r.u128_in(1, 10u128.pow(28)),
    };
    EffectSpec { grant: r.u8(), kind, periods: small(r, 1, 6), bps: small(r, 0, 20_000), target }
}

fn gen_step(r: &mut Rng) -> Step {
    match r.range(0, 32) {
        0..=1 => {
            let short = if r.flip(4) { Some(if r.flip(2) { Short::Allowance } else { Short::Balance }) } else { None };
            Step::Create { specs: gen_specs(r), short }
        }
        2..=6 => {
            let days = match r.range(0, 2) {
                0 => 0,
                1 => small(r, 1, 10),
                _ => small(r, 1, 120),
            };
            Step::Advance { days }
        }
        7..=10 => Step::Release { grant: r.u8(), by_stranger: r.flip(2) },
        11..=12 => Step::ReleaseMany { grants: (0..r.range(1, 4)).map(|_| r.u8()).collect() },
        13..=14 => Step::Pause { grant: r.u8(), days_back: small(r, 0, 10) },
        15..=16 => Step::Resume { grant: r.u8(), days_back: small(r, 0, 10) },
        17 => Step::Revoke { grant: r.u8(), days_ahead: small::<i16>(r, 0, 70) - 10, how: small(r, 0, 2) },
        18..=19 => Step::RevokeBeforeMilestone { grant: r.u8(), days_before: small(r, 1, 60), how: small(r, 0, 2) },
        20 => Step::SetBeneficiary { grant: r.u8(), wallet: r.u8() },
        21..=22 => {
            Step::Withhold { grant: r.u8(), index: small(r, 0, u64::from(u16::MAX)), permille: small(r, 0, 1_100) }
        }
        23..=25 => Step::Define {
            effects: (0..r.range(1, 3)).map(|_| gen_effect(r)).collect(),
            quorum: small(r, 1, ORACLES),
            threshold: small(r, 50, 90),
            deadline_days: small(r, 0, 90),
            short: r.flip(8),
            invalid: r.flip(5).then(|| r.u8()),
        },
        _ => Step::Apply {
            milestone: r.u8(),
            signers: small(r, 1, ORACLES),
            first: small(r, 0, ORACLES - 1),
            values: [small(r, 0, 150), small(r, 0, 150), small(r, 0, 150)],
            below: r.flip(8).then(|| small(r, 0, ORACLES - 1)),
        },
    }
}

// ------------------------------------------------------------------------------------ model

enum Kind {
    /// The (instant, cumulative) pairs sent to the contract: the engine timeline's, or one per
    /// installment (`installments`).
    Tranched {
        tranches: Vec<(u64, u128)>,
        leaves: bool,
        installments: bool,
    },
    Linear,
}

struct Revocation {
    at: u64,
    /// The local date of `at`: the engine event's date.
    date: Date,
    kind: EventKind,
}

/// A milestone effect applied to a grant not revoked at the time.
struct Applied {
    at: u64,
    /// The local date of `at`.
    date: Date,
    effect: MilestoneEffect,
    /// The performance amount it vested (0 for a pull forward).
    amount: u128,
}

struct Model {
    id: B256,
    tz: TimeZone,
    /// The engine's grant, without events: every vested amount comes from it plus `events`.
    base: Grant,
    kind: Kind,
    total: u128,
    beneficiary: Address,
    /// Released in all (schedule and performance bonus), withheld tokens included.
    released: u128,
    /// The contract's cursor: tranches [0, cursor) released.
    cursor: usize,
    /// Last release or resume.
    checkpoint: u64,
    paused_at: Option<u64>,
    paused_seconds: u64,
    /// Completed leaves: (first day, day vesting resumed).
    leaves: Vec<(Date, Date)>,
    revoked: Option<Revocation>,
    withholding: BTreeMap<usize, u128>,
    /// Milestone funding not resolved yet, performance amounts vested by milestones, steps pulled.
    pending: u128,
    bonus: u128,
    boost: u32,
    applied: Vec<Applied>,
    /// Funded in all: the total and every milestone effect's funding.
    funded: u128,
    /// (events changed, day) → vested: the engine's answer, until either changes.
    version: u64,
    cache: Option<(u64, Date, u128)>,
}

fn utc_day(instant: u64) -> Date {
    date_of(i64::try_from(instant).unwrap(), &TimeZone::UTC).unwrap()
}

fn utc_start(date: Date) -> u64 {
    u64::try_from(start_of_day(date, &TimeZone::UTC).unwrap()).unwrap()
}

fn utc_end(date: Date) -> u64 {
    u64::try_from(end_of_day(date, &TimeZone::UTC).unwrap()).unwrap()
}

fn plus_days(date: Date, days: i64) -> Date {
    date.checked_add(jiff::Span::new().days(days)).unwrap()
}

fn bps_of(amount: u128, bps: u32) -> u128 {
    mul_div_floor(amount, u128::from(bps), 10_000).unwrap()
}

fn fixed(hundredths: u16) -> Fixed18 {
    Fixed18::parse_decimal(&format!("{}.{:02}", hundredths / 100, hundredths % 100)).unwrap()
}

impl Model {
    fn new(id: B256, spec: &Spec, now: u64) -> Model {
        let start = plus_days(utc_day(now), i64::from(spec.start));
        let (schedule, zone) = match &spec.shape {
            Shape::DaySteps { days, occurrences, cliff, allocation } => {
                let c = Calendar::new(
                    start,
                    Period::Days(*days),
                    *occurrences,
                    *cliff,
                    DayOfMonth::VestingStartDayOrLast,
                    *allocation,
                );
                (Schedule::Calendar(c.unwrap()), "UTC")
            }
            Shape::Custom { tranches } => {
                let mut date = start;
                let mut dated = Vec::new();
                for &(gap, weight) in tranches {
                    dated.push((date, u128::from(weight)));
                    date = plus_days(date, i64::from(gap));
                }
                (Schedule::Custom(Custom::new(&dated).unwrap()), "UTC")
            }
            Shape::Months { months, occurrences, cliff, day_of_month, allocation, zone } => {
                let c = Calendar::new(start, Period::Months(*months), *occurrences, *cliff, *day_of_month, *allocation);
                (Schedule::Calendar(c.unwrap()), ZONES[*zone])
            }
            Shape::Linear { delay, cliff, duration } => {
                let t0 = start_of_day(start, &TimeZone::UTC).unwrap() + i64::from(*delay);
                // No cliff goes to the engine as none; the contract gets the start as its cliff
                // (`input`), the same formula.
                let cliff = cliff.map(|c| t0 + i64::from(c));
                let l = Linear::new(t0, cliff, t0 + i64::from(*duration), 1, LinearModel::OpenZeppelin);
                (Schedule::Linear(l.unwrap()), "UTC")
            }
        };
        let tz = TimeZone::get(zone).unwrap();
        let base = Grant {
            id: format!("g-{id}"),
            holder: format!("p-{}", spec.beneficiary),
            amount: TokenAmount::from_base_units(spec.total),
            schedule,
            performance: Vec::new(),
            events: Vec::new(),
        };
        let kind = match &spec.shape {
            Shape::Linear { .. } => Kind::Linear,
            shape => {
                let tranches: Vec<(u64, u128)> = if spec.installments {
                    let steps = base.schedule.installment_steps(spec.total, &tz).unwrap().unwrap();
                    steps.into_iter().map(|(at, c)| (u64::try_from(at).unwrap(), c)).collect()
                } else {
                    let timeline = base.timeline(&tz, None).unwrap();
                    timeline
                        .tranches
                        .iter()
                        .map(|t| {
                            (u64::try_from(start_of_day(t.date, &tz).unwrap()).unwrap(), t.cumulative.base_units())
                        })
                        .collect()
                };
                assert_eq!(tranches.last().map(|t| t.1), Some(spec.total), "the steps add up to the grant");
                Kind::Tranched {
                    tranches,
                    leaves: !matches!(shape, Shape::Months { .. }),
                    installments: spec.installments,
                }
            }
        };
        Model {
            id,
            tz,
            base,
            kind,
            total: spec.total,
            beneficiary: wallet(spec.beneficiary),
            released: 0,
            cursor: 0,
            checkpoint: 0,
            paused_at: None,
            paused_seconds: 0,
            leaves: Vec::new(),
            revoked: None,
            withholding: BTreeMap::new(),
            pending: 0,
            bonus: 0,
            boost: 0,
            applied: Vec::new(),
            funded: spec.total,
            version: 0,
            cache: None,
        }
    }

    fn input(&self) -> VM::GrantInput {
        match (&self.kind, &self.base.schedule) {
            (Kind::Tranched { tranches, installments, .. }, _) => {
                let mut input = tranched(self.id, self.beneficiary, tranches);
                if *installments {
                    input.kind = INSTALLMENTS;
                }
                input
            }
            (Kind::Linear, Schedule::Linear(l)) => {
                let u = |t: i64| u64::try_from(t).unwrap();
                linear(
                    self.id,
                    self.beneficiary,
                    self.total,
                    u(l.start()),
                    u(l.cliff().unwrap_or(l.start())),
                    u(l.end()),
                )
            }
            (Kind::Linear, _) => unreachable!("a linear model holds a linear schedule"),
        }
    }

    fn takes_leave(&self) -> bool {
        !matches!(self.kind, Kind::Tranched { leaves: false, .. })
    }

    fn pullable(&self) -> bool {
        matches!(self.kind, Kind::Tranched { installments: true, .. })
    }

    fn changed(&mut self) {
        self.version += 1;
    }

    /// The engine events standing for the contract's state, evaluated on `today` (local).
    /// `performance`: with the performance effects (else the time-vesting part only).
    fn events(&self, today: Date, performance: bool) -> Vec<GrantEvent> {
        let event = |n: usize, date: Date, kind: EventKind| GrantEvent { id: format!("e{n}"), date, kind };
        let mut events: Vec<GrantEvent> = self
            .leaves
            .iter()
            .enumerate()
            .map(|(n, &(from, until))| event(n, from, EventKind::Leave { until }))
            .collect();
        let ignored = |p: u64| self.revoked.as_ref().is_some_and(|r| p > r.at);
        if let Some(p) = self.paused_at.filter(|&p| !ignored(p)) {
            // Still paused: a leave lasting past every date this evaluation looks at.
            let last = self.revoked.as_ref().map_or(today, |r| r.date.max(today));
            events.push(event(events.len(), utc_day(p), EventKind::Leave { until: plus_days(last, 1) }));
        }
        // A revocation drops the applications after its effective instant (see the module
        // comment), so every one left precedes it.
        for a in &self.applied {
            if performance || matches!(a.effect, MilestoneEffect::PullForward { .. }) {
                events.push(event(events.len(), a.date, EventKind::Milestone { effect: a.effect.clone() }));
            }
        }
        if let Some(r) = &self.revoked {
            events.push(event(events.len(), r.date, r.kind.clone()));
        }
        events
    }

    fn grant(&self, today: Date, performance: bool) -> Grant {
        let mut grant = Grant { events: self.events(today, performance), ..self.base.clone() };
        if !performance {
            grant.performance.clear();
        }
        grant
    }

    fn timeline(&self, now: u64, performance: bool) -> (tokencomp_core::grant::Timeline, Date) {
        let today = date_of(i64::try_from(now).unwrap(), &self.tz).unwrap();
        let grant = self.grant(today, performance);
        let timeline = grant.timeline(&self.tz, Some(today)).unwrap_or_else(|e| panic!("engine: {e} for {grant:?}"));
        (timeline, today)
    }

    /// The engine's vested amount at `now` (the last second of a UTC day), performance included.
    fn vested(&mut self, now: u64) -> u128 {
        let today = date_of(i64::try_from(now).unwrap(), &self.tz).unwrap();
        if let Some((v, d, vested)) = self.cache
            && v == self.version
            && d == today
        {
            return vested;
        }
        let (timeline, today) = self.timeline(now, true);
        let vested = timeline.position(today).vested.base_units();
        self.cache = Some((self.version, today, vested));
        vested
    }

    /// The contract's schedule time at `now`: frozen at the revocation and while paused, less the
    /// completed pauses.
    fn effective(&self, now: u64) -> u64 {
        let mut t = now;
        if let Some(r) = &self.revoked {
            t = t.min(r.at);
        }
        if let Some(p) = self.paused_at {
            t = t.min(p);
        }
        t.saturating_sub(self.paused_seconds)
    }

    /// The cursor a release at `now` leaves: every step due by the schedule time, and the steps
    /// pulled forward.
    fn due(&self, now: u64) -> usize {
        let Kind::Tranched { tranches, .. } = &self.kind else { return 0 };
        let t = self.effective(now);
        let elapsed = tranches.partition_point(|s| s.0 <= t);
        let boost = usize::try_from(self.boost).unwrap();
        self.cursor.max(tranches.len().min(elapsed + boost))
    }

    fn step_amount(&self, index: usize) -> Option<u128> {
        let Kind::Tranched { tranches, .. } = &self.kind else { return None };
        tranches.get(index).map(|t| t.1 - if index == 0 { 0 } else { tranches[index - 1].1 })
    }

    fn paused(&self) -> bool {
        self.paused_at.is_some() && self.revoked.is_none()
    }
}

struct MilestoneModel {
    input: VM::MilestoneInput,
    /// Per effect: the grant's index and what the contract funded.
    effects: Vec<(usize, u128)>,
    threshold: u16,
}

/// What the manager's logs say of one grant.
#[derive(Clone, Copy, Default, Debug)]
struct Logged {
    funded: u128,
    net: u128,
    withheld: u128,
    returned: u128,
}

struct Run {
    w: World,
    now: u64,
    grants: Vec<Model>,
    balances: BTreeMap<Address, u128>,
    created: u64,
    keys: Vec<Key>,
    book: Book,
    domain: Domain,
    milestones: Vec<MilestoneModel>,
    defined: u64,
    nonce: u64,
    logged: BTreeMap<B256, Logged>,
    counts: BTreeMap<&'static str, u64>,
    /// Whether a transaction was mined since the last check.
    mined: bool,
}

impl Run {
    fn new() -> Run {
        let mut w = World::new();
        let now = GENESIS + DAY - 1;
        w.at(now);
        let manager = w.manager;
        let mut registry = Registry::new();
        let keys: Vec<Key> =
            (0..ORACLES).map(|i| Key::from_hex(&format!("0x{:064x}", 0xa11ce_u64 + i), "test").unwrap()).collect();
        for (i, k) in keys.iter().enumerate() {
            let name = format!("oracle-{i}");
            w.at(now);
            w.ok(ADMIN, manager, &VM::registerOracleCall { name: name.clone(), key: k.address() });
            registry.register(&name, Signer(k.address().into_array()), now).unwrap();
        }
        let mut balances = BTreeMap::from([(TREASURY, u128::MAX), (TAX, 0), (STRANGER, 0), (manager, 0), (SINK, 0)]);
        for n in 1..=WALLETS {
            balances.insert(wallet(n), 0);
        }
        Run {
            domain: Domain { chain_id: 31337, verifying_contract: manager },
            w,
            now,
            grants: Vec::new(),
            balances,
            created: 0,
            keys,
            book: Book::new(registry),
            milestones: Vec::new(),
            defined: 0,
            nonce: 0,
            logged: BTreeMap::new(),
            counts: BTreeMap::new(),
            mined: true,
        }
    }

    fn count(&mut self, kind: &'static str) {
        debug_assert!(KINDS.contains(&kind), "{kind} is not a counted kind");
        *self.counts.entry(kind).or_insert(0) += 1;
    }

    fn moved(&mut self, from: Address, to: Address, amount: u128) {
        *self.balances.get_mut(&from).unwrap() -= amount;
        *self.balances.entry(to).or_insert(0) += amount;
    }

    /// Sends `call` to the manager now; it must succeed (`expected` is `None`) or revert with
    /// exactly the given data. A success's logs go to `logged`.
    fn send<C: SolCall>(&mut self, from: Address, call: &C, expected: Option<Vec<u8>>) -> Receipt {
        self.w.at(self.now);
        self.mined = true;
        let manager = self.w.manager;
        let r = self.w.chain.send(from, manager, call).unwrap();
        match expected {
            None => {
                assert!(r.success, "{} reverted with {}", C::SIGNATURE, r.output);
                self.observe(&r);
            }
            Some(data) => {
                assert!(
                    !r.success,
                    "{} succeeded; expected the revert 0x{}",
                    C::SIGNATURE,
                    alloy_primitives::hex::encode(&data)
                );
                assert_eq!(r.output.as_ref(), data.as_slice(), "{} reverted otherwise than expected", C::SIGNATURE);
            }
        }
        r
    }

    /// A token call by the treasury or the sink (setting up or undoing a shortfall).
    fn token<C: SolCall>(&mut self, from: Address, call: &C) {
        self.w.at(self.now);
        self.mined = true;
        let token = self.w.token;
        self.w.ok(from, token, call);
    }

    /// The funding, returns and payments the manager's logs record, per grant.
    fn observe(&mut self, r: &Receipt) {
        let manager = self.w.manager;
        for log in r.logs.iter().filter(|l| l.address == manager) {
            if let Ok(e) = VM::GrantCreated::decode_log_data(&log.data) {
                self.logged.entry(e.id).or_default().funded += e.total;
            } else if let Ok(e) = VM::Released::decode_log_data(&log.data) {
                let l = self.logged.entry(e.id).or_default();
                l.net += e.net;
                l.withheld += e.withheld;
            } else if let Ok(e) = VM::Revoked::decode_log_data(&log.data) {
                self.logged.entry(e.id).or_default().returned += e.returned;
            } else if let Ok(e) = VM::MilestoneDefined::decode_log_data(&log.data) {
                for effect in self.effects_of(e.milestone) {
                    self.logged.entry(effect.grant).or_default().funded += effect.funded;
                }
            } else if let Ok(e) = VM::MilestoneEffectApplied::decode_log_data(&log.data)
                && e.kind != PULL
            {
                // What the effect did not vest of its funding went back to the treasury.
                let funded = self.effects_of(e.milestone).iter().find(|x| x.grant == e.id).unwrap().funded;
                self.logged.entry(e.id).or_default().returned += funded - e.amount;
            }
        }
    }

    fn effects_of(&mut self, milestone: B256) -> Vec<VM::Effect> {
        let manager = self.w.manager;
        self.w.chain.call(STRANGER, manager, &VM::milestoneOfCall { milestone }).unwrap()._1
    }

    fn pick(&self, raw: u8) -> Option<usize> {
        (!self.grants.is_empty()).then(|| usize::from(raw) % self.grants.len())
    }

    fn apply(&mut self, step: &Step) {
        match step {
            Step::Create { specs, short } => self.create(specs, *short),
            Step::Advance { days } => {
                self.now += u64::from(*days) * DAY;
                self.count("advance");
            }
            Step::Release { grant, by_stranger } => {
                if let Some(g) = self.pick(*grant) {
                    self.release(g, *by_stranger);
                }
            }
            Step::ReleaseMany { grants } => {
                if !self.grants.is_empty() {
                    let picked: Vec<usize> = grants.iter().map(|&g| usize::from(g) % self.grants.len()).collect();
                    self.release_many(&picked);
                }
            }
            Step::Pause { grant, days_back } => {
                if let Some(g) = self.pick(*grant).filter(|&g| self.grants[g].takes_leave()) {
                    self.pause(g, *days_back);
                }
            }
            Step::Resume { grant, days_back } => {
                // Mostly a paused grant: any grant would nearly always be refused as not paused.
                let paused: Vec<usize> =
                    (0..self.grants.len()).filter(|&g| self.grants[g].paused_at.is_some()).collect();
                let g = if paused.is_empty() || *grant % 8 == 0 {
                    self.pick(*grant)
                } else {
                    Some(paused[usize::from(*grant) % paused.len()])
                };
                if let Some(g) = g.filter(|&g| self.grants[g].takes_leave()) {
                    self.resume(g, *days_back);
                }
            }
            Step::Revoke { grant, days_ahead, how } => {
                if let Some(g) = self.pick(*grant) {
                    let day = plus_days(utc_day(self.now), i64::from(*days_ahead));
                    self.revoke(g, utc_end(day), *how);
                }
            }
            Step::RevokeBeforeMilestone { grant, days_before, how } => {
                // A grant not revoked with a milestone applied after a day the revocation may
                // still be dated (its checkpoint's); half the time one with a pull forward, dated
                // before that.
                let find = |only_pulls: bool| -> Vec<(usize, Date)> {
                    let last = |m: &Model| {
                        let pull = |a: &&Applied| matches!(a.effect, MilestoneEffect::PullForward { .. });
                        let day = m.applied.iter().filter(|a| !only_pulls || pull(a)).map(|a| utc_day(a.at)).max();
                        day.filter(|&d| d > utc_day(m.checkpoint.max(GENESIS)))
                    };
                    let live = (0..self.grants.len()).filter(|&g| self.grants[g].revoked.is_none());
                    live.filter_map(|g| last(&self.grants[g]).map(|d| (g, d))).collect()
                };
                let mut candidates = find(grant % 2 == 0);
                if candidates.is_empty() {
                    candidates = find(false);
                }
                if !candidates.is_empty() {
                    let (g, applied) = candidates[usize::from(*grant / 2) % candidates.len()];
                    let earliest = utc_day(self.grants[g].checkpoint.max(GENESIS));
                    let day = plus_days(applied, -i64::from(*days_before)).max(earliest);
                    self.revoke(g, utc_end(day), *how);
                }
            }
            Step::SetBeneficiary { grant, wallet: n } => {
                if let Some(g) = self.pick(*grant) {
                    let k = u64::from(*n) % (2 * WALLETS);
                    let to = if k < WALLETS { wallet(1 + k) } else { wallet(101 + k - WALLETS) };
                    let id = self.grants[g].id;
                    self.send(ADMIN, &VM::setBeneficiaryCall { id, beneficiary: to }, None);
                    self.grants[g].beneficiary = to;
                    self.balances.entry(to).or_insert(0);
                    self.count("set beneficiary");
                }
            }
            Step::Withhold { grant, index, permille } => {
                if let Some(g) = self.pick(*grant) {
                    self.withhold(g, *index, *permille);
                }
            }
            Step::Define { effects, quorum, threshold, deadline_days, short, invalid } => {
                self.define(effects, *quorum, *threshold, *deadline_days, *short, *invalid);
            }
            Step::Apply { milestone, signers, first, values, below } => {
                if !self.milestones.is_empty() {
                    let k = usize::from(*milestone) % self.milestones.len();
                    self.apply_milestone(k, *signers, *first, values, *below);
                }
            }
        }
    }

    /// Makes the treasury's allowance or balance one base unit short of `sum`; returns the
    /// token's error, and the undo to run after the refused call.
    fn shortfall(&mut self, short: Short, sum: u128) -> (Vec<u8>, Short) {
        let manager = self.w.manager;
        let have = sum - 1;
        let error = match short {
            Short::Allowance => {
                self.token(TREASURY, &TestToken::approveCall { spender: manager, value: U256::from(have) });
                TestToken::ERC20InsufficientAllowance {
                    spender: manager,
                    allowance: U256::from(have),
                    needed: U256::from(sum),
                }
                .abi_encode()
            }
            Short::Balance => {
                let away = self.balances[&TREASURY] - have;
                self.token(TREASURY, &TestToken::transferCall { to: SINK, value: U256::from(away) });
                TestToken::ERC20InsufficientBalance {
                    sender: TREASURY,
                    balance: U256::from(have),
                    needed: U256::from(sum),
                }
                .abi_encode()
            }
        };
        (error, short)
    }

    fn undo_shortfall(&mut self, short: Short) {
        let manager = self.w.manager;
        match short {
            Short::Allowance => self.token(TREASURY, &TestToken::approveCall { spender: manager, value: U256::MAX }),
            Short::Balance => {
                let back = self.w.balance(SINK);
                self.token(SINK, &TestToken::transferCall { to: TREASURY, value: back });
            }
        }
    }

    fn create(&mut self, specs: &[Spec], short: Option<Short>) {
        let mut models = Vec::new();
        let mut sum = 0;
        for spec in specs {
            self.created += 1;
            let model = Model::new(id(self.created), spec, self.now);
            sum += model.total;
            models.push(model);
        }
        let inputs = models.iter().map(Model::input).collect();
        let call = VM::createGrantsCall { inputs };
        if let Some(short) = short {
            let (error, undo) = self.shortfall(short, sum);
            self.send(OPERATOR, &call, Some(error));
            self.undo_shortfall(undo);
            return self.count(match short {
                Short::Allowance => "create refused: allowance short",
                Short::Balance => "create refused: balance short",
            });
        }
        self.send(OPERATOR, &call, None);
        let manager = self.w.manager;
        self.moved(TREASURY, manager, sum);
        self.grants.extend(models);
        self.count("create");
    }

    /// What releasing grant `g` now pays (gross, withheld) and leaves as its cursor, or the reason
    /// it is refused.
    fn releasing(&mut self, g: usize) -> Result<(u128, u128, usize, u128), Vec<u8>> {
        let now = self.now;
        let id = self.grants[g].id;
        if self.grants[g].paused() {
            return Err(VM::GrantPaused { id }.abi_encode());
        }
        let vested = self.grants[g].vested(now);
        let m = &self.grants[g];
        assert!(vested >= m.released, "engine: vested {vested} below the {} released", m.released);
        let amount = vested - m.released;
        if amount == 0 {
            return Err(VM::NothingToRelease { id }.abi_encode());
        }
        let cursor = m.due(now);
        let withheld: u128 = m.withholding.range(m.cursor..cursor).map(|(_, t)| t).sum();
        Ok((amount, withheld, cursor, vested))
    }

    fn released(&mut self, g: usize, (amount, withheld, cursor, vested): (u128, u128, usize, u128)) {
        let manager = self.w.manager;
        let beneficiary = self.grants[g].beneficiary;
        self.moved(manager, beneficiary, amount - withheld);
        self.moved(manager, TAX, withheld);
        let now = self.now;
        let m = &mut self.grants[g];
        m.released = vested;
        m.cursor = cursor;
        m.checkpoint = now;
    }

    fn release(&mut self, g: usize, by_stranger: bool) {
        let m = &self.grants[g];
        let (id, from) = (m.id, if by_stranger { STRANGER } else { m.beneficiary });
        let call = VM::releaseCall { id };
        match self.releasing(g) {
            Err(data) => {
                let paused = self.grants[g].paused();
                self.send(from, &call, Some(data));
                self.count(if paused { "release refused: paused" } else { "release refused: nothing to release" });
            }
            Ok(due) => {
                self.send(from, &call, None);
                self.released(g, due);
                self.count("release");
            }
        }
    }

    /// One `releaseMany` (from the stranger): paused grants and grants with nothing due are
    /// skipped, the others released in order; it returns how many released.
    fn release_many(&mut self, picked: &[usize]) {
        let mut paid = 0u64;
        for &g in picked {
            match self.releasing(g) {
                Ok(due) => {
                    self.released(g, due);
                    paid += 1;
                }
                // A skipped grant not paused still has its cursor moved past the steps due (all
                // of zero amount: pre-cliff installments), where `release` reverts.
                Err(_) if !self.grants[g].paused() => self.grants[g].cursor = self.grants[g].due(self.now),
                Err(_) => {}
            }
        }
        let ids = picked.iter().map(|&g| self.grants[g].id).collect();
        let r = self.send(STRANGER, &VM::releaseManyCall { ids }, None);
        assert_eq!(U256::from_be_slice(&r.output), U256::from(paid), "releaseMany's count");
        if paid > 0 {
            self.count("releaseMany");
        }
    }

    /// 00:00 UTC, `days_back` days before today.
    fn midnight(&self, days_back: u8) -> u64 {
        utc_start(plus_days(utc_day(self.now), -i64::from(days_back)))
    }

    fn pause(&mut self, g: usize, days_back: u8) {
        let (now, at) = (self.now, self.midnight(days_back));
        let m = &self.grants[g];
        let id = m.id;
        let expected = if m.revoked.is_some() {
            Some(VM::GrantRevoked { id }.abi_encode())
        } else if m.paused_at.is_some() {
            Some(VM::GrantPaused { id }.abi_encode())
        } else if at < m.checkpoint {
            Some(VM::TimestampOutOfRange { id, at, earliest: m.checkpoint.max(1), latest: now }.abi_encode())
        } else {
            None
        };
        let ok = expected.is_none();
        self.send(OPERATOR, &VM::pauseCall { id, at }, expected);
        if ok {
            self.grants[g].paused_at = Some(at);
            self.grants[g].changed();
            self.count("pause");
        }
    }

    fn resume(&mut self, g: usize, days_back: u8) {
        let (now, at) = (self.now, self.midnight(days_back));
        let m = &self.grants[g];
        let id = m.id;
        let expected = match m.paused_at {
            _ if m.revoked.is_some() => Some(VM::GrantRevoked { id }.abi_encode()),
            None => Some(VM::GrantNotPaused { id }.abi_encode()),
            Some(p) if at < p => Some(VM::TimestampOutOfRange { id, at, earliest: p, latest: now }.abi_encode()),
            Some(_) => None,
        };
        let ok = expected.is_none();
        self.send(OPERATOR, &VM::resumeCall { id, at }, expected);
        if ok {
            let m = &mut self.grants[g];
            let p = m.paused_at.take().unwrap();
            if at > p {
                m.leaves.push((utc_day(p), utc_day(at)));
            }
            m.paused_seconds += at - p;
            m.checkpoint = at;
            m.changed();
            self.count("resume");
        }
    }

    /// Revokes grant `g` as of `at` (the last second of a UTC day).
    fn revoke(&mut self, g: usize, at: u64, how: u8) {
        let m = &self.grants[g];
        let id = m.id;
        let call = VM::revokeCall { id, effectiveAt: at };
        if m.revoked.is_some() {
            self.send(ADMIN, &call, Some(VM::GrantRevoked { id }.abi_encode()));
            return;
        }
        if at < m.checkpoint {
            let e = VM::TimestampOutOfRange { id, at, earliest: m.checkpoint.max(1), latest: u64::MAX };
            self.send(ADMIN, &call, Some(e.abi_encode()));
            return;
        }
        let kind = match how {
            0 => EventKind::Revocation,
            1 => EventKind::Termination { cause: TerminationCause::Voluntary, acceleration: None },
            _ => EventKind::Termination { cause: TerminationCause::ForCause, acceleration: None },
        };
        let counted = match m.applied.iter().map(|a| a.at).max() {
            None => "revoke",
            Some(last) if last <= at => "revoke after an applied milestone",
            Some(_) => "revoke before an applied milestone",
        };
        let before_pull =
            m.applied.iter().any(|a| a.at > at && matches!(a.effect, MilestoneEffect::PullForward { .. }));
        let date = date_of(i64::try_from(at).unwrap(), &m.tz).unwrap();
        let m = &mut self.grants[g];
        m.revoked = Some(Revocation { at, date, kind });
        m.changed();
        // Applications after the effective instant are void: their steps no longer count, their
        // performance amount goes back.
        let (dropped, kept): (Vec<Applied>, Vec<Applied>) = m.applied.drain(..).partition(|a| a.at > at);
        m.applied = kept;
        let mut returned = 0;
        for a in dropped {
            match a.effect {
                MilestoneEffect::PullForward { periods } => m.boost -= periods,
                _ => {
                    m.bonus -= a.amount;
                    returned += a.amount;
                }
            }
        }
        // The time-vesting part's forfeiture, and the funding still waiting for a milestone.
        let (timeline, _) = m.timeline(self.now, false);
        let vested = timeline.tranches.last().map_or(0, |t| t.cumulative.base_units());
        returned += m.total - vested + m.pending;
        m.pending = 0;
        self.send(ADMIN, &call, None);
        let manager = self.w.manager;
        self.moved(manager, TREASURY, returned);
        self.count(counted);
        if before_pull {
            self.count("revoke before an applied pull forward");
        }
    }

    fn withhold(&mut self, g: usize, raw_index: u16, permille: u16) {
        let m = &self.grants[g];
        let id = m.id;
        let Kind::Tranched { tranches, .. } = &m.kind else {
            let call = VM::postWithholdingCall { id, index: U256::ZERO, tokens: 1 };
            self.send(OPERATOR, &call, Some(VM::NotTranched { id }.abi_encode()));
            return;
        };
        let count = tranches.len();
        let index = usize::from(raw_index) % (count + 1);
        let amount = m.step_amount(index).unwrap_or(0);
        let tokens = amount * u128::from(permille) / 1_000;
        let (i, n) = (U256::from(index), U256::from(count));
        let expected = if index >= count {
            Some(VM::TrancheOutOfRange { id, index: i, count: n }.abi_encode())
        } else if index < m.cursor {
            Some(VM::TrancheAlreadyReleased { id, index: i }.abi_encode())
        } else if tokens > amount {
            Some(VM::WithholdingExceedsTranche { id, index: i, tokens, trancheAmount: amount }.abi_encode())
        } else {
            None
        };
        let ok = expected.is_none();
        self.send(OPERATOR, &VM::postWithholdingCall { id, index: i, tokens }, expected);
        if ok {
            self.grants[g].withholding.insert(index, tokens);
            self.count("withhold");
        }
    }

    /// Defines a milestone with effects on distinct grants not revoked (a pull forward only on a
    /// grant pushed by installments; without one it becomes an unlock).
    fn define(
        &mut self,
        specs: &[EffectSpec],
        quorum: u32,
        threshold: u8,
        deadline_days: u16,
        short: bool,
        invalid: Option<u8>,
    ) {
        let live: Vec<usize> = (0..self.grants.len()).filter(|&g| self.grants[g].revoked.is_none()).collect();
        if live.is_empty() {
            return;
        }
        let pullable: Vec<usize> = live.iter().copied().filter(|&g| self.grants[g].pullable()).collect();
        self.defined += 1;
        let name = format!("m{}", self.defined);
        let key = alloy_primitives::keccak256(name.as_bytes());
        let mut effects: Vec<(usize, VM::EffectInput, u128)> = Vec::new();
        for e in specs {
            let mut g = live[usize::from(e.grant) % live.len()];
            let mut kind = e.kind;
            if kind == PULL && !self.grants[g].pullable() {
                if pullable.is_empty() {
                    kind = UNLOCK;
                } else {
                    g = pullable[usize::from(e.grant) % pullable.len()];
                }
            }
            if effects.iter().any(|x| x.0 == g) {
                continue;
            }
            let funded = match kind {
                UNLOCK => e.target,
                PULL => 0,
                _ => bps_of(e.target, e.bps),
            };
            let input =
                VM::EffectInput { grant: self.grants[g].id, kind, periods: e.periods, bps: e.bps, target: e.target };
            effects.push((g, input, funded));
        }
        // One invalid effect last, refused by name: a pull forward on a grant without one step
        // per installment (linear, or tranched with its pre-cliff installments merged), a pull
        // forward of no periods, or an effect on a revoked grant.
        let mut refusal = None;
        if let Some(x) = invalid {
            let index = U256::from(effects.len());
            let unpullable: Vec<usize> = live.iter().copied().filter(|&g| !self.grants[g].pullable()).collect();
            let revoked: Vec<usize> = (0..self.grants.len()).filter(|&g| self.grants[g].revoked.is_some()).collect();
            let pick = |from: &[usize]| from[usize::from(x / 3) % from.len()];
            // The variant `x` names, or the next one the grants allow.
            let variant = (0..3u8).map(|k| (x % 3 + k) % 3).find(|v| match v {
                0 => !unpullable.is_empty(),
                1 => !pullable.is_empty(),
                _ => !revoked.is_empty(),
            });
            match variant {
                Some(0) => {
                    let g = pick(&unpullable);
                    let id = self.grants[g].id;
                    effects.push((g, VM::EffectInput { grant: id, kind: PULL, periods: 1, bps: 0, target: 0 }, 0));
                    let e = VM::NoInstallmentSteps { milestone: key, index, id };
                    refusal = Some((e.abi_encode(), "define refused: pull forward without installment steps"));
                }
                Some(1) => {
                    let g = pick(&pullable);
                    let id = self.grants[g].id;
                    effects.push((g, VM::EffectInput { grant: id, kind: PULL, periods: 0, bps: 0, target: 0 }, 0));
                    let e = VM::InvalidEffect { milestone: key, index };
                    refusal = Some((e.abi_encode(), "define refused: invalid effect"));
                }
                Some(_) => {
                    let g = pick(&revoked);
                    let id = self.grants[g].id;
                    effects.push((g, VM::EffectInput { grant: id, kind: UNLOCK, periods: 0, bps: 0, target: 1 }, 1));
                    refusal = Some((VM::GrantRevoked { id }.abi_encode(), "define refused: revoked grant"));
                }
                None => {}
            }
        }
        let sum: u128 = effects.iter().map(|e| e.2).sum();
        let threshold = u16::from(threshold);
        let input = VM::MilestoneInput {
            id: name.clone(),
            metric: METRIC.into(),
            comparison: 0,
            threshold: attest::value(fixed(threshold)),
            subject: SUBJECT.into(),
            deadline: self.now + u64::from(deadline_days) * DAY,
            quorum,
            effects: effects.iter().map(|e| e.1.clone()).collect(),
        };
        let call = VM::defineMilestonesCall { inputs: vec![input.clone()] };
        if let Some((error, counted)) = refusal {
            self.send(OPERATOR, &call, Some(error));
            return self.count(counted);
        }
        if short && sum > 0 {
            let (error, undo) = self.shortfall(Short::Allowance, sum);
            self.send(OPERATOR, &call, Some(error));
            self.undo_shortfall(undo);
            return self.count("define refused: allowance short");
        }
        self.send(OPERATOR, &call, None);
        let manager = self.w.manager;
        self.moved(TREASURY, manager, sum);
        self.book
            .add_milestone(Milestone {
                id: name.clone(),
                metric: METRIC.into(),
                comparison: Comparison::Gte,
                threshold: fixed(threshold),
                subject: Subject::parse(SUBJECT).unwrap(),
                deadline: input.deadline,
                quorum,
            })
            .unwrap();
        for (g, e, funded) in &effects {
            let m = &mut self.grants[*g];
            m.pending += funded;
            m.funded += funded;
            if e.kind != PULL {
                let cap_bps = match e.kind {
                    GRADED => e.bps,
                    _ => 20_000,
                };
                let target = TokenAmount::from_base_units(e.target);
                m.base.performance.push(PerformanceTranche { id: name.clone(), target, cap_bps });
                m.changed();
            }
        }
        self.milestones.push(MilestoneModel {
            input,
            effects: effects.iter().map(|e| (e.0, e.2)).collect(),
            threshold,
        });
        self.count("define milestone");
    }

    fn apply_milestone(&mut self, k: usize, signers: u8, first: u8, values: &[u16; 3], below: Option<u8>) {
        let now = self.now;
        let (name, threshold) = (self.milestones[k].input.id.clone(), self.milestones[k].threshold);
        let mut set: Vec<Submission> = Vec::new();
        for j in 0..signers {
            let key = &self.keys[usize::from((first + j) % 3)];
            let value =
                if below == Some(j) { values[usize::from(j)] % threshold } else { threshold + values[usize::from(j)] };
            self.nonce += 1;
            let a = Attestation {
                milestone: name.clone(),
                metric: METRIC.into(),
                value: attest::value(fixed(value)),
                subject: SUBJECT.into(),
                observedAt: now - 3_600,
                expiresAt: now + DAY,
                oracle: key.address(),
                nonce: self.nonce,
            };
            set.push(attest::sign(key, &a, &self.domain).unwrap());
        }
        let engine = attest::apply(&mut self.book, &name, &set, &self.domain, now);
        self.w.at(now);
        self.mined = true;
        let manager = self.w.manager;
        let call =
            VM::applyMilestoneCall { milestone: name.clone(), set: set.iter().map(attest::to_contract).collect() };
        let r = self.w.chain.send(STRANGER, manager, &call).unwrap();
        let met = match (&engine, r.success) {
            (Ok(met), true) => {
                let applied = r.logs.iter().find_map(|l| VM::MilestoneApplied::decode_log_data(&l.data).ok()).unwrap();
                assert_eq!(applied.value, attest::value(met.value), "the median of {name}");
                self.observe(&r);
                met.clone()
            }
            (Err(refused), false) => {
                assert_eq!(attest::rejection_of(&r.output).as_ref(), Some(refused), "{name}: refused alike");
                match refused.reason {
                    Rejection::QuorumNotMet => self.count("apply refused: quorum not met"),
                    Rejection::PastDeadline => self.count("apply refused: past deadline"),
                    Rejection::BelowThreshold => self.count("apply refused: below threshold"),
                    _ => {}
                }
                return;
            }
            _ => panic!("{name}: the engine says {engine:?}, the contract success={} {}", r.success, r.output),
        };
        let milestone = self.book.milestone(&name).unwrap().clone();
        let deadline_date = utc_day(self.milestones[k].input.deadline);
        let manager = self.w.manager;
        for (n, &(g, funded)) in self.milestones[k].effects.clone().iter().enumerate() {
            let e = self.milestones[k].input.effects[n].clone();
            if self.grants[g].revoked.is_some() {
                continue;
            }
            let (effect, amount, counted) = match e.kind {
                PULL => (MilestoneEffect::PullForward { periods: e.periods }, 0, "apply: pull forward"),
                UNLOCK => (MilestoneEffect::Unlock { tranche: name.clone() }, e.target, "apply: unlock"),
                SCALE => (
                    MilestoneEffect::Scale { tranche: name.clone(), bps: e.bps },
                    bps_of(e.target, e.bps),
                    "apply: scale",
                ),
                _ => {
                    let terms = MilestoneTerms {
                        milestone: milestone.clone(),
                        deadline_date,
                        grants: Vec::new(),
                        effect: TermsEffect::Graded { tranche: name.clone() },
                    };
                    let effect = terms.effect_for(met.value, e.bps).unwrap();
                    let MilestoneEffect::Scale { bps, .. } = effect else { unreachable!("a graded effect scales") };
                    (effect, bps_of(e.target, bps), "apply: graded")
                }
            };
            let m = &mut self.grants[g];
            if let MilestoneEffect::PullForward { periods } = effect {
                m.boost += periods;
            } else {
                m.pending -= funded;
                m.bonus += amount;
            }
            let date = date_of(i64::try_from(now).unwrap(), &m.tz).unwrap();
            m.applied.push(Applied { at: now, date, effect, amount });
            m.changed();
            self.moved(manager, TREASURY, funded - amount);
            self.count(counted);
        }
    }

    /// The invariants, from the chain alone; then every grant's state and releasable amount, and
    /// (when the step mined a transaction: nothing else moves a token) every balance, against the
    /// model.
    fn check(&mut self) {
        let manager = self.w.manager;
        self.w.at(self.now);
        let mut owed_all = 0u128;
        for g in 0..self.grants.len() {
            let id = self.grants[g].id;
            let state = self.w.grant(id);
            let perf = self.w.chain.call(STRANGER, manager, &VM::perfOfCall { id }).unwrap();
            let releasable = self.w.chain.call(STRANGER, manager, &VM::releasableCall { id }).unwrap();
            let logged = self.logged.get(&id).copied().unwrap_or_default();
            assert_eq!(logged.net + logged.withheld, state.released, "grant {id}: released as logged");
            let owed = if state.revokedAt != 0 {
                let eventually: u128 =
                    self.w.chain.call(STRANGER, manager, &VM::vestedAtCall { id, timestamp: FAR }).unwrap();
                eventually.checked_sub(state.released).unwrap_or_else(|| {
                    panic!("grant {id}: released {} beyond the {eventually} it ever vests", state.released)
                }) + perf.pending
            } else {
                (state.total + perf.bonus + perf.pending).checked_sub(state.released).unwrap_or_else(|| {
                    panic!("grant {id}: released {} beyond its total, bonus and pending funding", state.released)
                })
            };
            assert_eq!(
                logged.net + logged.withheld + logged.returned + owed,
                logged.funded,
                "grant {id}: released {} + withheld {} + returned {} + still held {owed} = funded",
                logged.net,
                logged.withheld,
                logged.returned
            );
            owed_all += owed;
            let now = self.now;
            let vested = self.grants[g].vested(now);
            assert!(
                state.released <= vested,
                "grant {id}: released {} before the engine says it vested ({vested})",
                state.released
            );

            let m = &self.grants[g];
            assert_eq!(state.released, m.released, "released of {id}");
            assert_eq!(state.beneficiary, m.beneficiary, "beneficiary of {id}");
            assert_eq!(state.pausedAt, m.paused_at.unwrap_or(0), "pause of {id}");
            assert_eq!(state.revokedAt, m.revoked.as_ref().map_or(0, |r| r.at), "revocation of {id}");
            assert_eq!(usize::try_from(state.cursor).unwrap(), m.cursor, "cursor of {id}");
            assert_eq!((perf.pending, perf.bonus, perf.boost), (m.pending, m.bonus, m.boost), "milestones of {id}");
            assert_eq!(logged.funded, m.funded, "funding of {id}");
            let expected = if m.paused() { 0 } else { vested - m.released };
            assert_eq!(releasable, expected, "releasable of {id}");
        }
        let held = self.w.balance(manager);
        assert!(held >= U256::from(owed_all), "the manager holds {held}, and owes {owed_all}");
        if std::mem::take(&mut self.mined) {
            let token_balances: Vec<(Address, u128)> = self.balances.iter().map(|(&a, &b)| (a, b)).collect();
            for (who, expected) in token_balances {
                assert_eq!(self.w.balance(who), U256::from(expected), "balance of {who}");
            }
        }
    }
}

// ------------------------------------------------------------------------------------ runner

fn sequence(seed: u64) -> (Vec<Spec>, Vec<Step>) {
    let mut r = Rng::new(seed);
    let first = gen_specs(&mut r);
    let steps = (0..r.range(MIN_STEPS, MAX_STEPS)).map(|_| gen_step(&mut r)).collect();
    (first, steps)
}

/// Runs one sequence; on a failure, the report (seed, the step that failed, every step).
fn run(seed: u64) -> Result<BTreeMap<&'static str, u64>, String> {
    let (first, steps) = sequence(seed);
    let mut run = Run::new();
    let mut at = 0;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        run.apply(&Step::Create { specs: first.clone(), short: None });
        run.check();
        for (n, step) in steps.iter().enumerate() {
            at = n + 1;
            run.apply(step);
            run.check();
        }
    }));
    match outcome {
        Ok(()) => Ok(run.counts),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            let mut report = format!(
                "sequence {seed:#018x} failed at step {at} of {}: {message}\n\
                 replay: TOKENCOMP_STATEFUL_SEED={seed:#x} cargo test -p tokencomp-chain --test evm stateful\n\
                 step 0: Create {first:?}\n",
                steps.len()
            );
            for (n, step) in steps.iter().enumerate().take(at) {
                writeln!(report, "step {}: {step:?}", n + 1).unwrap();
            }
            Err(report)
        }
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|e| panic!("{name}={text}: {e}")))
}

#[test]
fn random_histories_keep_the_manager_solvent_and_agree_with_the_engine() {
    let seeds: Vec<u64> = match env_u64("TOKENCOMP_STATEFUL_SEED") {
        Some(seed) => vec![seed],
        None => {
            let n = env_u64("TOKENCOMP_STATEFUL_SEQUENCES").unwrap_or(SEQUENCES);
            (0..n).map(|i| 0x0015_5eed_0000_0000 ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect()
        }
    };
    let next = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let counts = Mutex::new(BTreeMap::<&'static str, u64>::new());
    let failures = Mutex::new(Vec::<String>::new());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = usize::try_from(next.fetch_add(1, Ordering::Relaxed)).unwrap();
                    if i >= seeds.len() || failed.load(Ordering::Relaxed) {
                        break;
                    }
                    match run(seeds[i]) {
                        Ok(c) => {
                            let mut all = counts.lock().unwrap();
                            for (kind, n) in c {
                                *all.entry(kind).or_insert(0) += n;
                            }
                        }
                        Err(report) => {
                            failed.store(true, Ordering::Relaxed);
                            failures.lock().unwrap().push(report);
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    if let Some(first) = failures.first() {
        panic!("{first}");
    }
    let counts = counts.into_inner().unwrap();
    let table: String = KINDS.iter().map(|k| format!("  {k}: {}\n", counts.get(k).copied().unwrap_or(0))).collect();
    println!("{} sequences; steps that succeeded, by kind:\n{table}", seeds.len());
    if u64::try_from(seeds.len()).unwrap() >= SEQUENCES {
        let rare: Vec<&str> =
            KINDS.iter().copied().filter(|k| counts.get(k).copied().unwrap_or(0) < AT_LEAST).collect();
        assert!(rare.is_empty(), "kinds that succeeded fewer than {AT_LEAST} times: {rare:?}\n{table}");
    }
}
