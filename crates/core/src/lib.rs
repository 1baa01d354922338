//! The tokencomp award domain: schedules, grants and their lifecycle, the company's model, pay
//! periods, tokenomics, the AMM and fairness views, governance and the attestation rules.
//!
//! Pure: no IO, no clock, no global state, no parsing of files (that is `tokencomp_formats`).
//! Dates and the company's time zone come in as parameters; amounts are exact base units
//! (`tokencomp_money`).

pub mod amm;
pub mod attestation;
pub mod calendar;
pub mod fairness;
pub mod governance;
pub mod grant;
pub mod model;
pub mod period;
pub mod schedule;
pub mod tax_profile;
pub mod tokenomics;

pub use grant::{
    Acceleration, EventKind, ForfeitReason, Forfeiture, Grant, GrantError, GrantEvent, MilestoneEffect,
    PerformanceTranche, Position, TerminationCause, Timeline, Tranche, Trigger, VestReason,
};
pub use schedule::{
    Allocation, At, Calendar, Custom, DayOfMonth, Linear, LinearModel, Period, Schedule, ScheduleError,
};
