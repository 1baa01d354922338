//! A stateful property test: random sequences of steps (create, let time pass, release by the
//! beneficiary or pushed by a stranger, pause, resume, revoke, change of wallet, withholding)
//! applied both to VestingManager on the embedded chain and to a model whose vested amounts come
//! from the engine (`Grant::timeline` with the matching events). After every step every balance
//! (each wallet ever a beneficiary, the tax wallet, the treasury, the stranger, the manager) and
//! every grant's state and releasable amount are compared, and every refusal is asserted by its
//! exact revert data.
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
//!   vested by the end of the date, and the engine's forfeiture is what the treasury gets back.
//! - A pause the contract has not seen resumed is an engine leave running past every date asked
//!   about. A pause that starts after a revocation's effective instant is left out of the engine:
//!   the contract freezes a revoked grant at the revocation first, so such a pause changes
//!   nothing (and the engine refuses events after a grant ended). A resume at the pause's own
//!   instant is no leave at all (the engine needs a leave to last a day; the contract shifts by
//!   zero seconds).

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolError};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use proptest::prelude::*;
use tokencomp_core::calendar::{date_of, end_of_day, start_of_day};
use tokencomp_core::grant::{EventKind, Grant, GrantEvent, TerminationCause};
use tokencomp_core::schedule::{Allocation, Calendar, Custom, DayOfMonth, Linear, LinearModel, Period, Schedule};
use tokencomp_evm::VestingManager as VM;
use tokencomp_money::TokenAmount;

use crate::harness::{ADMIN, GENESIS, OPERATOR, STRANGER, TAX, TREASURY, World, id, linear, tranched, wallet};

const DAY: u64 = 86_400;
/// Sequences per run: about 25 s in a debug build (measured on a shared two-core machine).
const CASES: u32 = 96;
const MAX_STEPS: usize = 60;
/// Beneficiaries are drawn from `wallet(1..=WALLETS)`; a change of wallet may also pick one of
/// `wallet(101..=100 + WALLETS)`.
const WALLETS: u64 = 4;
const ZONES: [&str; 4] = ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"];

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
}

/// Grant references are raw numbers taken modulo the grants that exist, so a shrunk sequence
/// still refers to something.
#[derive(Clone, Debug)]
enum Step {
    Create(Vec<Spec>),
    Advance { days: u16 },
    Release { grant: u8, by_stranger: bool },
    Pause { grant: u8, days_back: u8 },
    Resume { grant: u8, days_back: u8 },
    Revoke { grant: u8, days_ahead: i16, how: u8 },
    SetBeneficiary { grant: u8, wallet: u8 },
    Withhold { grant: u8, index: u16, permille: u16 },
}

fn allocation() -> impl Strategy<Value = Allocation> {
    prop::sample::select(Allocation::ALL.to_vec())
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        (1u32..=60, 1u32..=30, 0u32..=12, allocation()).prop_map(|(days, occurrences, cliff, allocation)| {
            Shape::DaySteps { days, occurrences, cliff: cliff.min(occurrences), allocation }
        }),
        prop::collection::vec((1u16..=200, 1u8..=100), 1..=8).prop_map(|tranches| Shape::Custom { tranches }),
        (
            prop::sample::select(vec![1u32, 1, 3, 6]),
            1u32..=24,
            0u32..=12,
            prop_oneof![
                (1u8..=28).prop_map(DayOfMonth::Day),
                (29u8..=31).prop_map(DayOfMonth::OrLast),
                Just(DayOfMonth::VestingStartDayOrLast),
            ],
            allocation(),
            0..ZONES.len(),
        )
            .prop_map(|(months, occurrences, cliff, day_of_month, allocation, zone)| Shape::Months {
                months,
                occurrences,
                cliff: cliff.min(occurrences),
                day_of_month,
                allocation,
                zone,
            }),
        (0u32..=3 * 86_400, prop::option::of(any::<u32>()), prop_oneof![Just(0u32), 1u32..=5_000, 1u32..=800 * 86_400])
            .prop_map(|(delay, cliff, duration)| Shape::Linear {
                delay,
                cliff: cliff.map(|c| c % (duration + 1)),
                duration
            }),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let total = prop_oneof![1u128..=1_000, 1u128..=10u128.pow(24), 10u128.pow(24)..=10u128.pow(30)];
    (shape(), -500i16..=150, total, 1..=WALLETS).prop_map(|(shape, start, total, beneficiary)| Spec {
        shape,
        start,
        total,
        beneficiary,
    })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => prop::collection::vec(spec(), 1..=2).prop_map(Step::Create),
        6 => prop_oneof![Just(0u16), 1u16..=10, 1u16..=120].prop_map(|days| Step::Advance { days }),
        6 => (any::<u8>(), any::<bool>()).prop_map(|(grant, by_stranger)| Step::Release { grant, by_stranger }),
        2 => (any::<u8>(), 0u8..=10).prop_map(|(grant, days_back)| Step::Pause { grant, days_back }),
        2 => (any::<u8>(), 0u8..=10).prop_map(|(grant, days_back)| Step::Resume { grant, days_back }),
        1 => (any::<u8>(), -10i16..=60, 0u8..3).prop_map(|(grant, days_ahead, how)| Step::Revoke { grant, days_ahead, how }),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(grant, wallet)| Step::SetBeneficiary { grant, wallet }),
        2 => (any::<u8>(), any::<u16>(), 0u16..=1_100)
            .prop_map(|(grant, index, permille)| Step::Withhold { grant, index, permille }),
    ]
}

// ------------------------------------------------------------------------------------ model

enum Kind {
    /// The engine timeline's (instant, cumulative) pairs, as sent to the contract.
    Tranched {
        tranches: Vec<(u64, u128)>,
        leaves: bool,
    },
    Linear,
}

struct Revocation {
    at: u64,
    /// The local date of `at`: the engine event's date.
    date: Date,
    kind: EventKind,
}

struct Model {
    id: B256,
    tz: TimeZone,
    /// The engine's grant, without events: every vested amount comes from it plus `events`.
    base: Grant,
    kind: Kind,
    total: u128,
    beneficiary: Address,
    released: u128,
    /// Last release or resume.
    checkpoint: u64,
    paused_at: Option<u64>,
    /// Completed leaves: (first day, day vesting resumed).
    leaves: Vec<(Date, Date)>,
    revoked: Option<Revocation>,
    withholding: BTreeMap<usize, u128>,
}

fn utc_day(instant: u64) -> Date {
    date_of(i64::try_from(instant).unwrap(), &TimeZone::UTC).unwrap()
}

fn utc_start(date: Date) -> u64 {
    u64::try_from(start_of_day(date, &TimeZone::UTC).unwrap()).unwrap()
}

fn plus_days(date: Date, days: i64) -> Date {
    date.checked_add(jiff::Span::new().days(days)).unwrap()
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
                let timeline = base.timeline(&tz, None).unwrap();
                let tranches: Vec<(u64, u128)> = timeline
                    .tranches
                    .iter()
                    .map(|t| (u64::try_from(start_of_day(t.date, &tz).unwrap()).unwrap(), t.cumulative.base_units()))
                    .collect();
                assert_eq!(tranches.last().map(|t| t.1), Some(spec.total), "the timeline adds up to the grant");
                Kind::Tranched { tranches, leaves: !matches!(shape, Shape::Months { .. }) }
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
            checkpoint: 0,
            paused_at: None,
            leaves: Vec::new(),
            revoked: None,
            withholding: BTreeMap::new(),
        }
    }

    fn input(&self) -> VM::GrantInput {
        match (&self.kind, &self.base.schedule) {
            (Kind::Tranched { tranches, .. }, _) => tranched(self.id, self.beneficiary, tranches),
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

    /// The engine events standing for the contract's state, evaluated on `today` (local).
    fn events(&self, today: Date) -> Vec<GrantEvent> {
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
        if let Some(r) = &self.revoked {
            events.push(event(events.len(), r.date, r.kind.clone()));
        }
        events
    }

    fn timeline(&self, now: u64) -> (tokencomp_core::grant::Timeline, Date) {
        let today = date_of(i64::try_from(now).unwrap(), &self.tz).unwrap();
        let grant = Grant { events: self.events(today), ..self.base.clone() };
        let timeline = grant.timeline(&self.tz, Some(today)).unwrap_or_else(|e| panic!("engine: {e} for {grant:?}"));
        (timeline, today)
    }

    /// The engine's vested amount at `now` (the last second of a UTC day).
    fn vested(&self, now: u64) -> u128 {
        let (timeline, today) = self.timeline(now);
        timeline.position(today).vested.base_units()
    }

    /// Tranches released: the contract's cursor. What the engine says vested is always one of
    /// the schedule's cumulatives, as the tranches released are.
    fn cursor(&self, released: u128) -> usize {
        let Kind::Tranched { tranches, .. } = &self.kind else { return 0 };
        let n = tranches.partition_point(|t| t.1 <= released);
        assert!(n == 0 && released == 0 || n > 0 && tranches[n - 1].1 == released, "{released} is no cumulative");
        n
    }

    fn paused(&self) -> bool {
        self.paused_at.is_some() && self.revoked.is_none()
    }
}

struct Run {
    w: World,
    now: u64,
    grants: Vec<Model>,
    balances: BTreeMap<Address, u128>,
    created: u64,
}

impl Run {
    fn new() -> Run {
        let w = World::new();
        let mut balances = BTreeMap::from([(TREASURY, u128::MAX), (TAX, 0), (STRANGER, 0), (w.manager, 0)]);
        for n in 1..=WALLETS {
            balances.insert(wallet(n), 0);
        }
        Run { w, now: GENESIS + DAY - 1, grants: Vec::new(), balances, created: 0 }
    }

    fn moved(&mut self, from: Address, to: Address, amount: u128) {
        *self.balances.get_mut(&from).unwrap() -= amount;
        *self.balances.entry(to).or_insert(0) += amount;
    }

    /// Sends `call` to the manager now; it must succeed (`expected` is `None`) or revert with
    /// exactly the given error.
    fn send<C: SolCall>(&mut self, from: Address, call: &C, expected: Option<Vec<u8>>) {
        self.w.at(self.now);
        let manager = self.w.manager;
        let r = self.w.chain.send(from, manager, call).unwrap();
        match expected {
            None => assert!(r.success, "{} reverted with {}", C::SIGNATURE, r.output),
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
    }

    fn pick(&self, raw: u8) -> Option<usize> {
        (!self.grants.is_empty()).then(|| usize::from(raw) % self.grants.len())
    }

    fn apply(&mut self, step: &Step) {
        match step {
            Step::Create(specs) => self.create(specs),
            Step::Advance { days } => self.now += u64::from(*days) * DAY,
            Step::Release { grant, by_stranger } => {
                if let Some(g) = self.pick(*grant) {
                    self.release(g, *by_stranger);
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
                    self.revoke(g, *days_ahead, *how);
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
                }
            }
            Step::Withhold { grant, index, permille } => {
                if let Some(g) = self.pick(*grant) {
                    self.withhold(g, *index, *permille);
                }
            }
        }
    }

    fn create(&mut self, specs: &[Spec]) {
        let mut inputs = Vec::new();
        let mut sum = 0;
        for spec in specs {
            self.created += 1;
            let model = Model::new(id(self.created), spec, self.now);
            inputs.push(model.input());
            sum += model.total;
            self.grants.push(model);
        }
        self.send(OPERATOR, &VM::createGrantsCall { inputs }, None);
        let manager = self.w.manager;
        self.moved(TREASURY, manager, sum);
    }

    fn release(&mut self, g: usize, by_stranger: bool) {
        let now = self.now;
        let m = &self.grants[g];
        let (id, from) = (m.id, if by_stranger { STRANGER } else { m.beneficiary });
        let call = VM::releaseCall { id };
        if m.paused() {
            return self.send(from, &call, Some(VM::GrantPaused { id }.abi_encode()));
        }
        let vested = m.vested(now);
        assert!(vested >= m.released, "engine: vested {vested} below the {} released", m.released);
        let amount = vested - m.released;
        if amount == 0 {
            return self.send(from, &call, Some(VM::NothingToRelease { id }.abi_encode()));
        }
        let withheld: u128 = m.withholding.range(m.cursor(m.released)..m.cursor(vested)).map(|(_, t)| t).sum();
        let beneficiary = m.beneficiary;
        self.send(from, &call, None);
        let manager = self.w.manager;
        self.moved(manager, beneficiary, amount - withheld);
        self.moved(manager, TAX, withheld);
        let m = &mut self.grants[g];
        m.released = vested;
        m.checkpoint = now;
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
            m.checkpoint = at;
        }
    }

    fn revoke(&mut self, g: usize, days_ahead: i16, how: u8) {
        let day = plus_days(utc_day(self.now), i64::from(days_ahead));
        let at = u64::try_from(end_of_day(day, &TimeZone::UTC).unwrap()).unwrap();
        let m = &self.grants[g];
        let id = m.id;
        let call = VM::revokeCall { id, effectiveAt: at };
        if m.revoked.is_some() {
            return self.send(ADMIN, &call, Some(VM::GrantRevoked { id }.abi_encode()));
        }
        if at < m.checkpoint {
            let e = VM::TimestampOutOfRange { id, at, earliest: m.checkpoint.max(1), latest: u64::MAX };
            return self.send(ADMIN, &call, Some(e.abi_encode()));
        }
        let kind = match how {
            0 => EventKind::Revocation,
            1 => EventKind::Termination { cause: TerminationCause::Voluntary, acceleration: None },
            _ => EventKind::Termination { cause: TerminationCause::ForCause, acceleration: None },
        };
        let date = date_of(i64::try_from(at).unwrap(), &m.tz).unwrap();
        self.grants[g].revoked = Some(Revocation { at, date, kind });
        let (timeline, _) = self.grants[g].timeline(self.now);
        let forfeited: u128 = timeline.forfeitures.iter().map(|f| f.amount.base_units()).sum();
        self.send(ADMIN, &call, None);
        let manager = self.w.manager;
        self.moved(manager, TREASURY, forfeited);
    }

    fn withhold(&mut self, g: usize, raw_index: u16, permille: u16) {
        let m = &self.grants[g];
        let id = m.id;
        let Kind::Tranched { tranches, .. } = &m.kind else {
            let call = VM::postWithholdingCall { id, index: U256::ZERO, tokens: 1 };
            return self.send(OPERATOR, &call, Some(VM::NotTranched { id }.abi_encode()));
        };
        let count = tranches.len();
        let index = usize::from(raw_index) % (count + 1);
        let amount = tranches.get(index).map_or(0, |t| t.1 - if index == 0 { 0 } else { tranches[index - 1].1 });
        let tokens = amount * u128::from(permille) / 1_000;
        let (i, n) = (U256::from(index), U256::from(count));
        let expected = if index >= count {
            Some(VM::TrancheOutOfRange { id, index: i, count: n }.abi_encode())
        } else if index < m.cursor(m.released) {
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
        }
    }

    /// Every balance, and every grant's state and releasable amount, against the model.
    fn check(&mut self, step: usize) {
        let token_balances: Vec<(Address, u128)> = self.balances.iter().map(|(&a, &b)| (a, b)).collect();
        for (who, expected) in token_balances {
            assert_eq!(self.w.balance(who), U256::from(expected), "step {step}: balance of {who}");
        }
        let manager = self.w.manager;
        for m in &self.grants {
            let state = self.w.grant(m.id);
            assert_eq!(state.released, m.released, "step {step}: released of {}", m.id);
            assert_eq!(state.beneficiary, m.beneficiary, "step {step}: beneficiary of {}", m.id);
            assert_eq!(state.pausedAt, m.paused_at.unwrap_or(0), "step {step}: pause of {}", m.id);
            assert_eq!(state.revokedAt, m.revoked.as_ref().map_or(0, |r| r.at), "step {step}: revocation of {}", m.id);
            assert_eq!(usize::try_from(state.cursor).unwrap(), m.cursor(m.released), "step {step}: cursor of {}", m.id);
            let expected = if m.paused() { 0 } else { m.vested(self.now) - m.released };
            self.w.at(self.now);
            let releasable = self.w.chain.call(STRANGER, manager, &VM::releasableCall { id: m.id }).unwrap();
            assert_eq!(releasable, expected, "step {step}: releasable of {}", m.id);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn random_histories_move_every_token_as_the_engine_says(
        first in prop::collection::vec(spec(), 1..=2),
        steps in prop::collection::vec(step(), 1..=MAX_STEPS),
    ) {
        let mut run = Run::new();
        run.apply(&Step::Create(first));
        run.check(0);
        for (n, step) in steps.iter().enumerate() {
            run.apply(step);
            run.check(n + 1);
        }
    }
}
