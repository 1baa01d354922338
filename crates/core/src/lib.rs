//! The tokencomp engine: schedules, grants and their lifecycle.
//!
//! Pure: no IO, no clock, no global state. Dates and the company's time zone come in as
//! parameters; amounts are exact base units (`tokencomp_money`).

pub mod accounting;
pub mod amm;
pub mod attestation;
pub mod books;
pub mod calendar;
pub mod canonical;
pub mod company;
pub mod csv_text;
pub mod diag;
pub mod fairness;
pub mod fmv;
pub mod governance;
pub mod grant;
pub mod import;
pub mod lots;
pub mod ocf;
pub mod payroll;
pub mod rules;
pub mod schedule;
pub mod settle;
pub mod statements;
pub mod tokenomics;
pub mod withholding;

pub use grant::{
    Acceleration, EventKind, ForfeitReason, Forfeiture, Grant, GrantError, GrantEvent, MilestoneEffect,
    PerformanceTranche, Position, TerminationCause, Timeline, Tranche, Trigger, VestReason,
};
pub use schedule::{
    Allocation, At, Calendar, Custom, DayOfMonth, Linear, LinearModel, Period, Schedule, ScheduleError,
};
