//! Grants and their lifecycle: a schedule plus events, folded into a timeline.
//!
//! Events (leave, termination, change of control, revocation, amendment, milestones) are
//! applied in date order as layers over the grant's parametric schedule; the grant itself
//! is never edited. Evaluating the layered schedule at any point is exact, so the timeline's
//! tranches always sum, with its forfeitures, to what was granted.
//!
//! Architecture invariant: no IO and no clock; `as_of` and the company's time zone are
//! parameters.

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use tokencomp_money::{TokenAmount, mul_div_floor};

use crate::calendar::{self, Day, Instant};
use crate::schedule::{At, Calendar, LinearModel, Schedule, ScheduleError, check_date};

/// Basis points: 10,000 = 100%.
pub const FULL_BPS: u32 = 10_000;
/// A performance tranche may scale to at most 200% of its target.
pub const MAX_PERFORMANCE_BPS: u32 = 20_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub holder: String,
    /// The time-vesting amount, vested by `schedule`.
    pub amount: TokenAmount,
    pub schedule: Schedule,
    /// Tranches that vest only when a milestone says so, on top of `amount`.
    pub performance: Vec<PerformanceTranche>,
    pub events: Vec<GrantEvent>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PerformanceTranche {
    pub id: String,
    pub target: TokenAmount,
    /// The most a milestone may scale the tranche to, in basis points of `target` (≤ 200%).
    pub cap_bps: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantEvent {
    pub id: String,
    /// The effective date: the first day of a leave, the last day of employment, the day of
    /// a change of control, revocation, amendment or milestone.
    pub date: Date,
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Vesting pauses from `date` and resumes on `until`; every later vest moves by the
    /// leave's length in days.
    Leave {
        until: Date,
    },
    /// Employment ends on `date`: vests on or before it stand, the rest is forfeited, less any
    /// post-termination acceleration.
    Termination {
        cause: TerminationCause,
        acceleration: Option<Acceleration>,
    },
    ChangeOfControl {
        trigger: Trigger,
    },
    /// For cause: every unvested unit is forfeited on `date`.
    Revocation,
    /// From `date` the grant follows new terms; what vested by then stays vested. `amount` is
    /// the new time-vesting total, `schedule` the new shape for what remains.
    Amendment {
        amount: Option<TokenAmount>,
        schedule: Option<Schedule>,
    },
    Milestone {
        effect: MilestoneEffect,
    },
}

impl EventKind {
    /// A termination or revocation: nothing vests after its day.
    pub fn ends_grant(&self) -> bool {
        matches!(self, EventKind::Termination { .. } | EventKind::Revocation)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TerminationCause {
    Voluntary,
    WithoutCause,
    GoodReason,
    ForCause,
    DeathOrDisability,
}

impl TerminationCause {
    /// Whether this ends a double-trigger window with acceleration.
    pub fn qualifies_for_double_trigger(self) -> bool {
        matches!(self, TerminationCause::WithoutCause | TerminationCause::GoodReason)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acceleration {
    /// What would have vested in the next N months vests on the termination date.
    Months(u32),
    /// This share of the unvested amount vests on the termination date.
    Percent { bps: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// This share of the unvested amount vests on the day of the change of control; the rest
    /// of the schedule shrinks pro rata.
    Single { bps: u32 },
    /// This share of the unvested amount vests on a qualifying termination within
    /// `window_months` after the change of control.
    Double { bps: u32, window_months: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MilestoneEffect {
    /// A performance tranche vests in full on the milestone's date.
    Unlock { tranche: String },
    /// The remaining schedule moves `periods` installments earlier; what falls due on or
    /// before the milestone's date vests on it.
    PullForward { periods: u32 },
    /// A performance tranche vests on the milestone's date at this share of its target.
    Scale { tranche: String, bps: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VestReason {
    Cliff,
    Vest,
    Acceleration,
    Milestone,
}

impl VestReason {
    pub fn as_str(self) -> &'static str {
        match self {
            VestReason::Cliff => "cliff",
            VestReason::Vest => "vest",
            VestReason::Acceleration => "acceleration",
            VestReason::Milestone => "milestone",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ForfeitReason {
    Termination,
    Revocation,
}

impl ForfeitReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ForfeitReason::Termination => "termination",
            ForfeitReason::Revocation => "revocation",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tranche {
    pub date: Date,
    pub amount: TokenAmount,
    pub cumulative: TokenAmount,
    pub reason: VestReason,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forfeiture {
    pub date: Date,
    pub amount: TokenAmount,
    pub reason: ForfeitReason,
}

/// A grant's whole vesting history and future, as it stands after its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline {
    pub granted: TokenAmount,
    pub tranches: Vec<Tranche>,
    pub forfeitures: Vec<Forfeiture>,
}

/// Where a grant stands on a date; the three parts add up to `granted`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub granted: TokenAmount,
    pub vested: TokenAmount,
    pub unvested: TokenAmount,
    pub forfeited: TokenAmount,
}

impl Timeline {
    /// `vested` is the cumulative of the last tranche on or before `as_of`; `forfeited` sums
    /// the forfeitures on or before it.
    pub fn position(&self, as_of: Date) -> Position {
        let vested =
            self.tranches.iter().take_while(|t| t.date <= as_of).last().map_or(TokenAmount::ZERO, |t| t.cumulative);
        let forfeited = self
            .forfeitures
            .iter()
            .filter(|f| f.date <= as_of)
            .fold(0u128, |a, f| a.saturating_add(f.amount.base_units()));
        let forfeited = TokenAmount::from_base_units(forfeited);
        // INVARIANT: tranches and forfeitures sum to granted (checked when built), so the
        // subtraction cannot go below zero.
        let unvested = self.granted.saturating_sub(vested).saturating_sub(forfeited);
        Position { granted: self.granted, vested, unvested, forfeited }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error("event `{event}` on {date} comes after the grant ended on {ended} (`{ended_by}`)")]
    AfterEnd { event: String, date: Date, ended: Date, ended_by: String },
    #[error("leave `{event}` must end after it starts")]
    LeaveOrder { event: String },
    #[error("leave `{event}` overlaps an earlier leave")]
    LeaveOverlap { event: String },
    #[error("amendment `{event}` sets {amount} base units, below the {vested} already vested")]
    AmendmentBelowVested { event: String, amount: TokenAmount, vested: TokenAmount },
    #[error("amendment `{event}` changes nothing: give an amount, a schedule or both")]
    EmptyAmendment { event: String },
    #[error("amendment `{event}` rescales a fully vested remainder; give a schedule")]
    RescaleNothing { event: String },
    #[error("event `{event}` names performance tranche `{tranche}`, which the grant does not have")]
    UnknownTranche { event: String, tranche: String },
    #[error("event `{event}` resolves performance tranche `{tranche}` a second time")]
    TrancheResolved { event: String, tranche: String },
    #[error("event `{event}` scales `{tranche}` to {bps} bps, above its cap of {cap} bps")]
    AboveCap { event: String, tranche: String, bps: u32, cap: u32 },
    #[error("performance tranche `{tranche}` has a cap of {cap} bps; at most {MAX_PERFORMANCE_BPS} is allowed")]
    CapTooHigh { tranche: String, cap: u32 },
    #[error("duplicate performance tranche id `{0}`")]
    DuplicateTranche(String),
    #[error("event `{event}` gives {bps} bps; a share is 0 to 10000 bps")]
    Share { event: String, bps: u32 },
    #[error("event `{event}` pulls the schedule forward, but a continuous linear schedule has no periods")]
    NotPeriodic { event: String },
    #[error("event `{event}`: {reason}")]
    Invalid { event: String, reason: String },
    #[error("amounts overflow 128 bits")]
    Overflow,
    #[error("time zone arithmetic failed: {0}")]
    Time(String),
    #[error("internal check failed: {0}")]
    Internal(&'static str),
}

impl GrantError {
    /// The event a refusal is about, when it is about one.
    pub fn event_id(&self) -> Option<&str> {
        match self {
            GrantError::AfterEnd { event, .. }
            | GrantError::LeaveOrder { event }
            | GrantError::LeaveOverlap { event }
            | GrantError::AmendmentBelowVested { event, .. }
            | GrantError::EmptyAmendment { event }
            | GrantError::RescaleNothing { event }
            | GrantError::UnknownTranche { event, .. }
            | GrantError::TrancheResolved { event, .. }
            | GrantError::AboveCap { event, .. }
            | GrantError::Share { event, .. }
            | GrantError::NotPeriodic { event }
            | GrantError::Invalid { event, .. } => Some(event),
            _ => None,
        }
    }
}

fn time_err(e: jiff::Error) -> GrantError {
    GrantError::Time(e.to_string())
}

/// One layer of the evaluated schedule. Days compare against the company-local date.
#[derive(Clone, Debug)]
enum Layer {
    /// Leave: frozen from `from` (inclusive) to `until` (exclusive), then `days`/`seconds`
    /// later than before.
    Shift { from: Day, from_instant: Instant, until: Day, days: i32, seconds: i64 },
    /// From `from`, `periods` more installments count as elapsed.
    Pull { from: Day, periods: u32 },
    /// From `day`, nothing more vests: `vested` (as of the end of `day`) plus `bonus`.
    Cut { day: Day, end: At, bonus: u128 },
    /// From `day`: `base + bonus + floor((inner - base) × (remaining - bonus) / remaining)`.
    Scale { day: Day, base: u128, bonus: u128, remaining: u128 },
    /// From `day`: `base` plus a new schedule over `total`, or the inner remainder rescaled.
    Amend { day: Day, base: u128, new: AmendShape },
}

#[derive(Clone, Debug)]
enum AmendShape {
    Schedule { schedule: Schedule, total: u128 },
    Rescale { to: u128, from: u128 },
}

/// The base schedule with its layers: evaluates the cumulative time-vested amount.
#[derive(Clone, Debug)]
struct Layered<'a> {
    base: &'a Schedule,
    total: u128,
    layers: Vec<Layer>,
}

impl Layered<'_> {
    fn eval(&self, at: At) -> u128 {
        eval_layers(self.base, self.total, &self.layers, Pt { at, cal_at: at, shift: 0, boost: 0 })
    }
}

/// Where evaluation stands while it walks the layers inwards: `at` moved back by the leaves
/// (for custom and linear shapes), `cal_at` with the leaves kept as an anchor `shift` (for
/// calendar shapes), and the installments a milestone pulled forward.
#[derive(Clone, Copy, Debug)]
struct Pt {
    at: At,
    cal_at: At,
    shift: i32,
    boost: u32,
}

fn eval_layers(base: &Schedule, total: u128, layers: &[Layer], p: Pt) -> u128 {
    let Some((layer, inner)) = layers.split_last() else {
        return base.vested_shifted(total, &p.at, &p.cal_at, p.shift, p.boost);
    };
    match layer {
        Layer::Shift { from, from_instant, until, days, seconds } => {
            if p.at.day < *from {
                eval_layers(base, total, inner, p)
            } else if p.at.day < *until {
                let frozen = At::new(*from, *from_instant);
                // The frozen point is where the inner layers were when the leave began.
                let cal_at =
                    At::new(p.cal_at.day - (p.at.day - *from), p.cal_at.instant - (p.at.instant - *from_instant));
                eval_layers(base, total, inner, Pt { at: frozen, cal_at, ..p })
            } else {
                eval_layers(base, total, inner, Pt { at: p.at.earlier(*days, *seconds), shift: p.shift + days, ..p })
            }
        }
        Layer::Pull { from, periods } => {
            let boost = if p.at.day >= *from { p.boost.saturating_add(*periods) } else { p.boost };
            eval_layers(base, total, inner, Pt { boost, ..p })
        }
        Layer::Cut { day, end, bonus } => {
            if p.at.day < *day {
                eval_layers(base, total, inner, p)
            } else if p.at.instant < end.instant {
                eval_layers(base, total, inner, p).saturating_add(*bonus)
            } else {
                eval_layers(base, total, inner, Pt { at: *end, cal_at: *end, shift: 0, ..p }).saturating_add(*bonus)
            }
        }
        Layer::Scale { day, base: b, bonus, remaining } => {
            let v = eval_layers(base, total, inner, p);
            if p.at.day < *day || *remaining == 0 {
                return v;
            }
            let grown = v.saturating_sub(*b);
            let scaled = mul_div_floor(grown, remaining - bonus, *remaining).unwrap_or(grown);
            b + bonus + scaled
        }
        Layer::Amend { day, base: b, new } => {
            if p.at.day < *day {
                return eval_layers(base, total, inner, p);
            }
            match new {
                AmendShape::Schedule { schedule, total: t } => {
                    b + schedule.vested_shifted(*t, &p.at, &p.cal_at, p.shift, p.boost)
                }
                AmendShape::Rescale { to, from } => {
                    let grown = eval_layers(base, total, inner, p).saturating_sub(*b);
                    b + mul_div_floor(grown, *to, *from).unwrap_or(*to)
                }
            }
        }
    }
}

/// Converts dates to engine points in the company's time zone.
struct Clock<'a> {
    tz: &'a TimeZone,
}

impl Clock<'_> {
    fn end(&self, day: Day) -> Result<At, GrantError> {
        let instant = calendar::end_of_day(calendar::to_date(day), self.tz).map_err(time_err)?;
        Ok(At::new(day, instant))
    }
    fn local_day(&self, instant: Instant) -> Result<Day, GrantError> {
        Ok(calendar::to_day(calendar::date_of(instant, self.tz).map_err(time_err)?))
    }
    fn start_instant(&self, day: Day) -> Result<Instant, GrantError> {
        calendar::start_of_day(calendar::to_date(day), self.tz).map_err(time_err)
    }
}

struct PerfState<'a> {
    tranche: &'a PerformanceTranche,
    resolved: Option<(Day, u128)>,
    forfeited: Option<(Day, ForfeitReason)>,
}

fn share(event: &GrantEvent, bps: u32) -> Result<u32, GrantError> {
    if bps > FULL_BPS { Err(GrantError::Share { event: event.id.clone(), bps }) } else { Ok(bps) }
}

fn bps_of(amount: u128, bps: u32) -> u128 {
    // bps ≤ 20,000, so the quotient never exceeds twice the amount; saturate if it would.
    mul_div_floor(amount, u128::from(bps), u128::from(FULL_BPS)).unwrap_or(u128::MAX)
}

impl Grant {
    /// Refuses recording `event` as a new event when it is a milestone dated after the grant
    /// ended: the timeline lets such a milestone count for nothing (so that a termination recorded
    /// later with an earlier date voids it), but recording a new one would only record nothing.
    pub fn check_new_event(&self, event: &GrantEvent) -> Result<(), GrantError> {
        if !matches!(event.kind, EventKind::Milestone { .. }) {
            return Ok(());
        }
        let end = self.events.iter().filter(|e| e.kind.ends_grant()).min_by_key(|e| e.date);
        match end {
            Some(end) if event.date > end.date => Err(GrantError::AfterEnd {
                event: event.id.clone(),
                date: event.date,
                ended: end.date,
                ended_by: end.id.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Applies every event in date order and expands the result into a timeline. For linear
    /// schedules the table samples the end of each month, each event date and `as_of`.
    pub fn timeline(&self, tz: &TimeZone, as_of: Option<Date>) -> Result<Timeline, GrantError> {
        self.schedule.check_total(self.amount.base_units())?;
        let clock = Clock { tz };
        let mut perf: Vec<PerfState<'_>> = Vec::with_capacity(self.performance.len());
        for p in &self.performance {
            if p.cap_bps > MAX_PERFORMANCE_BPS {
                return Err(GrantError::CapTooHigh { tranche: p.id.clone(), cap: p.cap_bps });
            }
            if perf.iter().any(|s| s.tranche.id == p.id) {
                return Err(GrantError::DuplicateTranche(p.id.clone()));
            }
            perf.push(PerfState { tranche: p, resolved: None, forfeited: None });
        }

        let mut events: Vec<&GrantEvent> = self.events.iter().collect();
        // Stable: same-day events keep their given order, except that a termination or revocation
        // comes last on its day (it takes effect at the day's end, after a milestone met that day).
        events.sort_by_key(|e| (e.date, e.kind.ends_grant()));
        let mut layered = Layered { base: &self.schedule, total: self.amount.base_units(), layers: Vec::new() };
        let mut time_total = self.amount.base_units();
        let mut bonuses: Vec<(Day, u128, VestReason)> = Vec::new();
        let mut forfeits: Vec<(Day, u128, ForfeitReason)> = Vec::new();
        let mut ended: Option<(Date, &str)> = None;
        let mut double: Option<(Day, Day, u32)> = None; // (from, until inclusive, bps)
        let mut last_leave_end: Option<Day> = None;
        let mut amend_schedules: Vec<&Schedule> = Vec::new();

        for e in events {
            check_date(e.date)?;
            if let Some((end, by)) = ended {
                // A milestone met after the grant ended counts for nothing (a termination recorded
                // later with an earlier date voids it), as on the chain, where a revocation dated
                // before a milestone's application leaves that application out.
                if matches!(e.kind, EventKind::Milestone { .. }) {
                    continue;
                }
                return Err(GrantError::AfterEnd {
                    event: e.id.clone(),
                    date: e.date,
                    ended: end,
                    ended_by: by.to_owned(),
                });
            }
            let day = calendar::to_day(e.date);
            match &e.kind {
                EventKind::Leave { until } => {
                    check_date(*until)?;
                    if *until <= e.date {
                        return Err(GrantError::LeaveOrder { event: e.id.clone() });
                    }
                    if last_leave_end.is_some_and(|end| day < end) {
                        return Err(GrantError::LeaveOverlap { event: e.id.clone() });
                    }
                    let until_day = calendar::to_day(*until);
                    last_leave_end = Some(until_day);
                    let from_instant = clock.start_instant(day)?;
                    let seconds = clock.start_instant(until_day)? - from_instant;
                    layered.layers.push(Layer::Shift {
                        from: day,
                        from_instant,
                        until: until_day,
                        days: until_day - day,
                        seconds,
                    });
                }
                EventKind::Termination { cause, acceleration } => {
                    let end = clock.end(day)?;
                    let vested = layered.eval(end);
                    let unvested = time_total.saturating_sub(vested);
                    let mut bonus = match acceleration {
                        None => 0,
                        Some(Acceleration::Percent { bps }) => bps_of(unvested, share(e, *bps)?),
                        Some(Acceleration::Months(m)) => {
                            let later = e.date.checked_add(i64::from(*m).months()).map_err(time_err)?;
                            let later = later.min(crate::schedule::MAX_DATE);
                            layered.eval(clock.end(calendar::to_day(later))?).saturating_sub(vested)
                        }
                    };
                    if let Some((from, until, bps)) = double
                        && cause.qualifies_for_double_trigger()
                        && day >= from
                        && day <= until
                    {
                        bonus = bonus.max(bps_of(unvested, bps));
                    }
                    let bonus = bonus.min(unvested);
                    layered.layers.push(Layer::Cut { day, end, bonus });
                    if bonus > 0 {
                        bonuses.push((day, bonus, VestReason::Acceleration));
                    }
                    let reason = if *cause == TerminationCause::ForCause {
                        ForfeitReason::Revocation
                    } else {
                        ForfeitReason::Termination
                    };
                    self.end_grant(day, unvested - bonus, reason, &mut perf, &mut forfeits);
                    ended = Some((e.date, &e.id));
                }
                EventKind::Revocation => {
                    let end = clock.end(day)?;
                    let vested = layered.eval(end);
                    layered.layers.push(Layer::Cut { day, end, bonus: 0 });
                    self.end_grant(
                        day,
                        time_total.saturating_sub(vested),
                        ForfeitReason::Revocation,
                        &mut perf,
                        &mut forfeits,
                    );
                    ended = Some((e.date, &e.id));
                }
                EventKind::ChangeOfControl { trigger } => match *trigger {
                    Trigger::Single { bps } => {
                        let base = layered.eval(clock.end(day)?);
                        let remaining = time_total.saturating_sub(base);
                        let bonus = bps_of(remaining, share(e, bps)?);
                        layered.layers.push(Layer::Scale { day, base, bonus, remaining });
                        if bonus > 0 {
                            bonuses.push((day, bonus, VestReason::Acceleration));
                        }
                    }
                    Trigger::Double { bps, window_months } => {
                        let until = e.date.checked_add(i64::from(window_months).months()).map_err(time_err)?;
                        double = Some((day, calendar::to_day(until), share(e, bps)?));
                    }
                },
                EventKind::Amendment { amount, schedule } => {
                    let base = layered.eval(clock.end(day)?);
                    let new_total = amount.map_or(time_total, TokenAmount::base_units);
                    if new_total < base {
                        return Err(GrantError::AmendmentBelowVested {
                            event: e.id.clone(),
                            amount: TokenAmount::from_base_units(new_total),
                            vested: TokenAmount::from_base_units(base),
                        });
                    }
                    let rest = new_total - base;
                    let shape = match schedule {
                        Some(s) => {
                            s.check_total(rest)?;
                            amend_schedules.push(s);
                            AmendShape::Schedule { schedule: s.clone(), total: rest }
                        }
                        None if amount.is_none() => {
                            return Err(GrantError::EmptyAmendment { event: e.id.clone() });
                        }
                        None => {
                            let from = time_total - base;
                            if from == 0 && rest > 0 {
                                return Err(GrantError::RescaleNothing { event: e.id.clone() });
                            }
                            AmendShape::Rescale { to: rest, from: from.max(1) }
                        }
                    };
                    layered.layers.push(Layer::Amend { day, base, new: shape });
                    time_total = new_total;
                }
                EventKind::Milestone { effect } => match effect {
                    MilestoneEffect::PullForward { periods } => {
                        let periodic = amend_schedules.last().copied().unwrap_or(&self.schedule).is_periodic();
                        if !periodic {
                            return Err(GrantError::NotPeriodic { event: e.id.clone() });
                        }
                        let end = clock.end(day)?;
                        let before = layered.eval(end);
                        layered.layers.push(Layer::Pull { from: day, periods: *periods });
                        let bonus = layered.eval(end).saturating_sub(before);
                        if bonus > 0 {
                            bonuses.push((day, bonus, VestReason::Milestone));
                        }
                    }
                    MilestoneEffect::Unlock { tranche } | MilestoneEffect::Scale { tranche, .. } => {
                        let state = perf.iter_mut().find(|s| s.tranche.id == *tranche).ok_or_else(|| {
                            GrantError::UnknownTranche { event: e.id.clone(), tranche: tranche.clone() }
                        })?;
                        if state.resolved.is_some() {
                            return Err(GrantError::TrancheResolved { event: e.id.clone(), tranche: tranche.clone() });
                        }
                        let target = state.tranche.target.base_units();
                        let amount = match effect {
                            MilestoneEffect::Scale { bps, .. } => {
                                if *bps > state.tranche.cap_bps {
                                    return Err(GrantError::AboveCap {
                                        event: e.id.clone(),
                                        tranche: tranche.clone(),
                                        bps: *bps,
                                        cap: state.tranche.cap_bps,
                                    });
                                }
                                bps_of(target, *bps)
                            }
                            _ => target,
                        };
                        state.resolved = Some((day, amount));
                    }
                },
            }
        }

        self.expand(&clock, &layered, time_total, &amend_schedules, &bonuses, &forfeits, &perf, as_of)
    }

    fn end_grant(
        &self,
        day: Day,
        time_forfeit: u128,
        reason: ForfeitReason,
        perf: &mut [PerfState<'_>],
        forfeits: &mut Vec<(Day, u128, ForfeitReason)>,
    ) {
        let mut amount = time_forfeit;
        for p in perf.iter_mut().filter(|p| p.resolved.is_none()) {
            p.forfeited = Some((day, reason));
            amount = amount.saturating_add(p.tranche.target.base_units());
        }
        if amount > 0 {
            forfeits.push((day, amount, reason));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn expand(
        &self,
        clock: &Clock<'_>,
        layered: &Layered<'_>,
        time_total: u128,
        amend_schedules: &[&Schedule],
        bonuses: &[(Day, u128, VestReason)],
        forfeits: &[(Day, u128, ForfeitReason)],
        perf: &[PerfState<'_>],
        as_of: Option<Date>,
    ) -> Result<Timeline, GrantError> {
        // Candidate days where the cumulative may step, with the reason a base step carries and
        // what a leave does to them (see `Src`).
        let mut calendars: Vec<(&Calendar, i32)> = Vec::new();
        let mut cands: Vec<Cand> = base_candidates(&self.schedule, clock, &mut calendars)?;
        // Linear tables sample month ends from the earliest linear start.
        let linear_start = |s: &Schedule| match s {
            Schedule::Linear(l) => clock.local_day(l.start()).map(Some),
            _ => Ok(None),
        };
        let mut linear_lo: Option<Day> = linear_start(&self.schedule)?;
        let mut amend_idx = 0;
        let plain = |day: Day| Cand { day, reason: VestReason::Vest, src: Src::Day };
        for layer in &layered.layers {
            match layer {
                Layer::Shift { from, from_instant, days, seconds, .. } => {
                    for cal in &mut calendars {
                        cal.1 += days;
                    }
                    for c in &mut cands {
                        match c.src {
                            Src::Installment(i, k) if c.day > *from => {
                                c.day = calendars[i].0.installment_day_shifted(k, calendars[i].1);
                            }
                            Src::Day if c.day > *from => c.day += days,
                            // A linear step after the leave's first instant (even on its first
                            // day) moves by the pause in seconds, which a DST change makes
                            // differ from whole days: its local day is recomputed.
                            Src::Instant { t, granularity } if t > *from_instant => {
                                let t = t.checked_add(*seconds).ok_or(GrantError::Internal("leave shift"))?;
                                c.src = Src::Instant { t, granularity };
                                c.day = clock.local_day(t)?;
                            }
                            _ => {}
                        }
                    }
                }
                Layer::Pull { from, periods } => {
                    // From the milestone's day a linear step comes `periods` granules early, but
                    // not before that day begins.
                    let from_start = clock.start_instant(*from)?;
                    for c in &mut cands {
                        if let Src::Instant { t, granularity } = c.src
                            && c.day >= *from
                        {
                            let t = t.saturating_sub(i64::from(*periods) * i64::from(granularity)).max(from_start);
                            c.src = Src::Instant { t, granularity };
                            c.day = clock.local_day(t)?;
                        }
                    }
                    cands.push(plain(*from));
                }
                Layer::Cut { day, .. } => {
                    cands.retain(|c| c.day < *day);
                    cands.push(plain(*day));
                }
                Layer::Scale { day, .. } => cands.push(plain(*day)),
                Layer::Amend { day, new, .. } => {
                    if let AmendShape::Schedule { .. } = new {
                        cands.retain(|c| c.day < *day);
                        let s = amend_schedules.get(amend_idx).copied().ok_or(GrantError::Internal("amendment"))?;
                        amend_idx += 1;
                        if let Some(d) = linear_start(s)? {
                            linear_lo = Some(linear_lo.map_or(d.max(*day), |lo| lo.min(d.max(*day))));
                        }
                        cands.extend(base_candidates(s, clock, &mut calendars)?.into_iter().filter(|c| c.day > *day));
                    }
                    cands.push(plain(*day));
                }
            }
        }
        for p in perf {
            if let Some((d, _)) = p.resolved {
                cands.push(plain(d));
            }
        }
        if let Some(linear_lo) = linear_lo {
            let lo = cands.iter().map(|c| c.day).min().map_or(linear_lo, |m| m.min(linear_lo));
            if let Some(hi) = cands.iter().map(|c| c.day).max() {
                cands.extend(month_ends_between(lo, hi).into_iter().map(plain));
                // `as_of` is a row whenever the linear part may have moved by its end — its
                // first day included: a schedule without a cliff vests from its start instant,
                // so the start's own day already holds a partial amount.
                if let Some(a) = as_of {
                    let a = calendar::to_day(a);
                    if a >= lo && a < hi {
                        cands.push(plain(a));
                    }
                }
            }
        }
        let mut cands: Vec<(Day, VestReason)> = cands.into_iter().map(|c| (c.day, c.reason)).collect();
        // Sort by day; a cliff tag wins over a plain vest on the same day.
        cands.sort_by_key(|c| (c.0, c.1 != VestReason::Cliff));
        cands.dedup_by_key(|c| c.0);

        let mut tranches = Vec::new();
        let mut prev_time = 0u128;
        let mut cumulative = 0u128;
        let mut push = |day: Day, amount: u128, reason: VestReason, cumulative: &mut u128| -> Result<(), GrantError> {
            if amount == 0 {
                return Ok(());
            }
            *cumulative = cumulative.checked_add(amount).ok_or(GrantError::Overflow)?;
            tranches.push(Tranche {
                date: calendar::to_date(day),
                amount: TokenAmount::from_base_units(amount),
                cumulative: TokenAmount::from_base_units(*cumulative),
                reason,
            });
            Ok(())
        };
        for &(day, tag) in &cands {
            let v = layered.eval(clock.end(day)?);
            if v < prev_time {
                return Err(GrantError::Internal("cumulative vested went down"));
            }
            let jump = v - prev_time;
            prev_time = v;
            let event_bonus: u128 = bonuses.iter().filter(|b| b.0 == day).map(|b| b.1).sum();
            let regular = jump.checked_sub(event_bonus).ok_or(GrantError::Internal("bonus exceeds the step"))?;
            push(day, regular, tag, &mut cumulative)?;
            for b in bonuses.iter().filter(|b| b.0 == day) {
                push(day, b.1, b.2, &mut cumulative)?;
            }
            for p in perf {
                if let Some((d, amount)) = p.resolved
                    && d == day
                {
                    push(day, amount, VestReason::Milestone, &mut cumulative)?;
                }
            }
        }

        let forfeitures: Vec<Forfeiture> = forfeits
            .iter()
            .map(|&(d, a, r)| Forfeiture {
                date: calendar::to_date(d),
                amount: TokenAmount::from_base_units(a),
                reason: r,
            })
            .collect();
        let perf_granted = perf.iter().try_fold(0u128, |acc, p| {
            let amount = p.resolved.map_or(p.tranche.target.base_units(), |r| r.1);
            acc.checked_add(amount).ok_or(GrantError::Overflow)
        })?;
        let granted = time_total.checked_add(perf_granted).ok_or(GrantError::Overflow)?;
        let forfeited: u128 = forfeitures
            .iter()
            .try_fold(0u128, |acc, f| acc.checked_add(f.amount.base_units()))
            .ok_or(GrantError::Overflow)?;
        // The whole grant is accounted for: every unit either vests in a tranche or is forfeited
        // (or, with unresolved performance tranches, is still waiting for its milestone).
        let pending: u128 = perf
            .iter()
            .filter(|p| p.resolved.is_none() && p.forfeited.is_none())
            .map(|p| p.tranche.target.base_units())
            .sum();
        if cumulative.checked_add(forfeited).and_then(|s| s.checked_add(pending)) != Some(granted) {
            return Err(GrantError::Internal("tranches and forfeitures do not add up to the grant"));
        }
        let timeline = Timeline { granted: TokenAmount::from_base_units(granted), tranches, forfeitures };
        // The table must agree with direct evaluation: a step missing from the candidates would
        // put its amount on a later date. Checked at `as_of`, always (not only in debug builds).
        if let Some(a) = as_of {
            let day = calendar::to_day(a);
            let perf_vested: u128 = perf.iter().filter_map(|p| p.resolved).filter(|r| r.0 <= day).map(|r| r.1).sum();
            let direct = layered.eval(clock.end(day)?).saturating_add(perf_vested);
            if timeline.position(a).vested.base_units() != direct {
                return Err(GrantError::Internal("the vesting table disagrees with direct evaluation"));
            }
        }
        Ok(timeline)
    }
}

#[derive(Clone, Copy, Debug)]
struct Cand {
    day: Day,
    reason: VestReason,
    src: Src,
}

/// Where a candidate step comes from, which decides how a leave (or a pull forward) moves it,
/// as evaluation does.
#[derive(Clone, Copy, Debug)]
enum Src {
    /// A dated step (custom tranche, event day): later days move by the leave's whole days.
    Day,
    /// Installment `k` of calendar `i`: recomputed from the moved anchor.
    Installment(usize, u32),
    /// A linear step at instant `t`: moved by a leave's pause in seconds, and by a pull forward
    /// in granules of its schedule.
    Instant { t: Instant, granularity: u32 },
}

fn base_candidates<'s>(
    s: &'s Schedule,
    clock: &Clock<'_>,
    calendars: &mut Vec<(&'s Calendar, i32)>,
) -> Result<Vec<Cand>, GrantError> {
    let at = |t: Instant, granularity: u32, reason| -> Result<Cand, GrantError> {
        Ok(Cand { day: clock.local_day(t)?, reason, src: Src::Instant { t, granularity } })
    };
    Ok(match s {
        Schedule::Calendar(c) => {
            let i = calendars.len();
            calendars.push((c, 0));
            (1..=c.occurrences())
                .map(|k| Cand {
                    day: c.installment_day(k),
                    reason: if k == c.cliff() && k >= 2 { VestReason::Cliff } else { VestReason::Vest },
                    src: Src::Installment(i, k),
                })
                .collect()
        }
        Schedule::Custom(c) => c
            .tranches()
            .map(|(d, _)| Cand { day: calendar::to_day(d), reason: VestReason::Vest, src: Src::Day })
            .collect(),
        Schedule::Linear(l) => {
            let g = l.granularity();
            let mut v = vec![at(l.end(), g, VestReason::Vest)?];
            if let Some(c) = l.cliff() {
                v.push(at(c, g, VestReason::Cliff)?);
            }
            if matches!(l.model(), LinearModel::Sablier { start_unlock, .. } if start_unlock > 0) {
                v.push(at(l.start(), g, VestReason::Vest)?);
            }
            v
        }
    })
}

fn month_ends_between(lo: Day, hi: Day) -> Vec<Day> {
    let (y0, m0, _) = calendar::civil_from_day(lo);
    let (y1, m1, _) = calendar::civil_from_day(hi);
    let (a, b) = (calendar::month_index(y0, m0), calendar::month_index(y1, m1));
    (a..=b)
        .map(|mi| {
            let (y, m) = calendar::from_month_index(mi);
            calendar::day_from_civil(y, m, calendar::days_in_month(y, m))
        })
        .filter(|d| *d >= lo && *d <= hi)
        .collect()
}
