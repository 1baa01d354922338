//! The tokencomp engine: schedules, grants and their lifecycle.
//!
//! Pure: no IO, no clock, no global state. Dates and the company's time zone come in as
//! parameters; amounts are exact base units (`tokencomp_money`).

pub mod calendar;
pub mod canonical;
pub mod company;
pub mod diag;
pub mod grant;
pub mod import;
pub mod ocf;
pub mod schedule;

pub use grant::{
    Acceleration, EventKind, ForfeitReason, Forfeiture, Grant, GrantError, GrantEvent, MilestoneEffect,
    PerformanceTranche, Position, TerminationCause, Timeline, Tranche, Trigger, VestReason,
};
pub use schedule::{
    Allocation, At, Calendar, Custom, DayOfMonth, Linear, LinearModel, Period, Schedule, ScheduleError,
};
