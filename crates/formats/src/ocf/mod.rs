//! Open Cap Format (OCF) packages in and out: vesting terms, issuances and vesting starts
//! become engine grants, and grants become an OCF package again.
//!
//! The module is pure. The caller reads the package's files through a callback, so nothing
//! here touches the file system. Nothing here reads the clock either: a written manifest's
//! `generated_at` is a parameter. Every problem in a package is reported together, each as
//! a [`Diagnostic`] that names the file, the line and column, and the field as a JSON pointer
//! (`/items/2/vesting_conditions/1/portion/numerator`).
//!
//! It must never round an amount. Quantities are exact decimal strings, and portions are
//! exact rationals. It must never make up a date for an event that has not happened. When
//! it writes, it must never emit a key that the OCF schema does not allow.
//!
//! # Reading: how OCF maps onto the engine
//!
//! * Each issuance that carries `vesting_terms_id` or `vestings` becomes one [`Grant`]. This
//!   covers `TX_EQUITY_COMPENSATION_ISSUANCE`, the legacy `TX_PLAN_SECURITY_ISSUANCE`,
//!   `TX_STOCK_ISSUANCE` and `TX_WARRANT_ISSUANCE`. The grant's id is the `security_id`, its
//!   holder is the `stakeholder_id`, and its amount is the `quantity`. Issuances with neither
//!   field vest fully on issuance, so they are not imported.
//! * An explicit `vestings` array takes precedence over `vesting_terms_id`, as the schema
//!   says ("`vesting_terms_id` may be ignored"). The reference implementation does the
//!   opposite. The array becomes a [`Custom`] schedule weighted by its exact amounts.
//! * Vesting terms are evaluated along one path through the condition graph. The path
//!   starts at the condition named by the security's `TX_VESTING_START`. Without one, it
//!   starts at the first condition (in array order) that no other condition lists as a
//!   successor. At each step the path takes the successor that fires first. A tie goes to
//!   the one listed first in `next_condition_ids`, because that list is a priority list.
//!   This is the daily evaluation the OCF explainer describes. Its Example 2 relies on it:
//!   an absolute expiration listed second still wins when its date comes first.
//! * A `VESTING_EVENT` condition fires on the date of a `TX_VESTING_EVENT` recorded for the
//!   security. If no such transaction exists, the condition has no date, so it is skipped.
//!   This is an error, naming the condition, when the rest of the vesting depends on it.
//!   It is a warning when the event could still happen before the step taken instead, that
//!   is, when that step falls after the manifest's `as_of`. Otherwise the unrecorded event
//!   no longer matters.
//! * Relative months are counted from the anchor condition's month, and the
//!   `day_of_month` rule is applied again in every month. A fixed day `"01"`–`"28"` means
//!   that day of month *anchor + k × length*. The vesting start day is the day of the path's
//!   first date. Relative days are calendar days.
//! * Portions are per occurrence. `remainder: true` means that share of whatever is still
//!   unvested when the condition is reached. A condition `quantity` is the number of shares
//!   each occurrence vests. The shares on the path must add up to exactly the whole quantity.
//!   The engine always vests a grant in full, so any other total is an error.
//! * These chains become an exact [`Calendar`], keeping the allocation type and the day of
//!   month, and supporting both MONTHS and DAYS periods:
//!   - start → periodic (portion 1/N, N occurrences), with or without `cliff_installment`
//!     (a plain periodic chain, or the post-v1.2.0 cliff form);
//!   - the classic start → cliff (portion c/N, c × length, 1 occurrence) → periodic
//!     (portion 1/N, N − c occurrences).
//!
//!   The cliff pays the sum of the first c installments as they are allocated over all N,
//!   as in issue #514 and `cliff_installment`. The classic form and the `cliff_installment`
//!   form therefore give the same schedule. A calendar is used only when its installment
//!   dates equal the dates that the condition-by-condition evaluation gives.
//! * Any other chain becomes a [`Custom`] schedule whose weights are the exact portions over
//!   a common denominator, with the terms' allocation type. Examples are unequal phases,
//!   absolute dates and recorded events. With equal weights, every allocation type applies
//!   as it does for a calendar. With unequal weights, the engine rounds the cumulative
//!   amount half up for CUMULATIVE_ROUNDING and down for every other type. The amounts then
//!   always add up to the quantity, but where they do not divide evenly a FRONT_LOADED or
//!   BACK_LOADED type is not spread per condition the way the reference implementation
//!   spreads it.
//! * The token is `SHARE`. Its number of decimals is the largest number of significant
//!   decimals among the imported quantities and `vestings` amounts, or 0 for whole shares.
//!   Callers who need another token use [`read_package_with_token`].
//! * The issuance date does not move any vest. A vest before the grant date simply lies in
//!   the past.
//! * Manifest `md5` values are optional when reading. A value that does not match its file
//!   is a warning, not an error.
//!
//! # Writing
//!
//! A [`Calendar`] is written in the classic v1.2.0 form, start → (cliff →) periodic. It is
//! read back as the same calendar, with three exceptions. A cliff of one installment reads
//! back as no cliff. A cliff covering every installment reads back as a single installment.
//! The day rule of a DAYS calendar, which OCF does not carry, reads back as the vesting
//! start day. The timelines are identical in every case, and what a read produces
//! round-trips exactly. A [`Custom`] schedule is written as a chain of
//! `VESTING_SCHEDULE_ABSOLUTE` conditions with exact portions. A [`Linear`](tokencomp_core::Linear)
//! schedule cannot be written, because OCF has no per-second vesting. Every grant is written
//! as an RSU `TX_EQUITY_COMPENSATION_ISSUANCE`. The manifest carries each file's MD5.

use std::collections::{HashMap, HashSet};
use std::fmt;

use jiff::civil::Date;
use serde_json::{Map, Value, json};
use tokencomp_money::{Token, TokenAmount};

use crate::diag::Diagnostic;
use tokencomp_core::calendar;
use tokencomp_core::grant::Grant;
use tokencomp_core::schedule::{Allocation, Calendar, Custom, DayOfMonth, MAX_DATE, Period, Schedule};

/// The OCF version written into manifests. Everything written is valid v1.2.0:
/// `cliff_installment` is never emitted.
pub const OCF_VERSION: &str = "1.2.0";

/// The symbol of the token quantities are read in, unless the caller gives another.
pub const SHARE_SYMBOL: &str = "SHARE";

/// The most schedule installments one security may expand to when read. This guards against
/// absurd `occurrences` values.
pub const MAX_INSTALLMENTS: u64 = 100_000;

/// The company a package describes. These are the required fields of the manifest's `issuer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcfIssuer {
    pub id: String,
    pub legal_name: String,
    pub formation_date: Date,
    pub country_of_formation: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StakeholderType {
    Individual,
    Institution,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcfStakeholder {
    pub id: String,
    pub legal_name: String,
    pub stakeholder_type: StakeholderType,
}

/// A grant together with its issuance date. An engine grant has no issuance date of its
/// own, but OCF requires one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcfGrant {
    pub grant: Grant,
    pub issued: Date,
}

/// What a package holds that the engine uses. [`read_package`] returns it and
/// [`write_package`] writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcfPackage {
    pub issuer: OcfIssuer,
    pub as_of: Date,
    pub generated_at: jiff::Timestamp,
    /// The token in which the grants' amounts are counted.
    pub token: Token,
    pub stakeholders: Vec<OcfStakeholder>,
    pub grants: Vec<OcfGrant>,
}

/// A package that was read successfully, with the warnings found on the way. A warning
/// covers things like a skipped event condition, an MD5 mismatch, an unknown stakeholder,
/// or an acceleration that was not imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcfImport {
    pub package: OcfPackage,
    pub warnings: Vec<Diagnostic>,
}

impl OcfImport {
    pub fn grants(&self) -> impl Iterator<Item = &Grant> {
        self.package.grants.iter().map(|g| &g.grant)
    }
}

/// Why a schedule or package cannot be written as OCF.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OcfWriteError {
    #[error("`{id}`: OCF has no per-second linear vesting; convert the schedule to a calendar or dated tranches first")]
    Linear { id: String },
    #[error("grant `{id}` has lifecycle events or performance tranches, which an OCF vesting export cannot carry")]
    Lifecycle { id: String },
    #[error("grant `{id}`: its amount needs {decimals} decimals, and OCF numbers have at most 10")]
    TooPrecise { id: String, decimals: u8 },
    #[error("grant id `{id}` is used twice; OCF security ids must be unique")]
    DuplicateGrant { id: String },
    #[error("internal: {0}")]
    Json(String),
}

// ------------------------------------------------------------------------------------------

mod json;
mod package;
mod terms;
mod write;

use json::*;
use package::*;
use terms::*;

pub use write::{START_CONDITION_ID, write_package, write_vesting_terms};

// Reading
// ------------------------------------------------------------------------------------------

/// Reads a package given the path of its manifest. Paths listed in the manifest are relative
/// to the manifest's folder, and `read` receives the joined path. Quantities are read in
/// the `SHARE` token, with as many decimals as the package's quantities need.
pub fn read_package(
    manifest_path: &str,
    read: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<OcfImport, Vec<Diagnostic>> {
    read_impl(manifest_path, None, read)
}

/// Like [`read_package`], but counts every quantity in `token`. A quantity with more
/// decimals than `token` has is an error.
pub fn read_package_with_token(
    manifest_path: &str,
    token: &Token,
    read: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<OcfImport, Vec<Diagnostic>> {
    read_impl(manifest_path, Some(token), read)
}

// ------------------------------------------------------------------------------------------
// MD5, for the manifest's file hashes: an integrity check against accidents, not security.
// ------------------------------------------------------------------------------------------

/// The MD5 digest of `data` as 32 lowercase hex digits.
pub fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(data).iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_matches_rfc_1321_test_suite() {
        let cases = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(md5_hex(input.as_bytes()), want, "{input:?}");
        }
    }

    #[test]
    fn numerics_are_exact_and_strict() {
        let r = |s| Numeric::parse(s).and_then(|n| n.ratio());
        assert_eq!(r("12"), Ratio::new(12, 1));
        assert_eq!(r("1.25"), Ratio::new(5, 4));
        assert_eq!(r("+0.5000000000"), Ratio::new(1, 2));
        assert_eq!(r("0.0000000001"), Ratio::new(1, 10_000_000_000));
        for bad in ["", ".5", "1.", "1e3", "1.00000000001", "1,5", " 1", "--1", "0x1"] {
            assert!(Numeric::parse(bad).is_none(), "{bad:?}");
        }
        let n = Numeric::parse("-0.00").expect("parses");
        assert!(!n.is_negative());
        assert!(Numeric::parse("-3").expect("parses").is_negative());
        assert_eq!(Numeric::parse("480.500").expect("parses").canonical(), "480.5");
    }

    #[test]
    fn ratios_reduce_and_check() {
        let a = Ratio::new(12, 48).expect("ratio");
        assert_eq!(a, Ratio::new(1, 4).expect("ratio"));
        let b = Ratio::new(1, 48).expect("ratio");
        let sum = a.add(b.mul(Ratio::int(36)).expect("mul")).expect("add");
        assert_eq!(sum, Ratio::ONE);
        assert_eq!(Ratio::ZERO.sub(b), None);
        assert_eq!(Ratio::new(1, 0), None);
        assert_eq!(Ratio::int(u128::MAX).add(Ratio::ONE), None);
    }

    #[test]
    fn locate_finds_nested_fields_and_falls_back_to_the_parent() {
        let text = "{\n  \"a\": [1, {\"b\": \"x\"}],\n  \"c~/\": {\"d\": 2}\n}";
        let at = |p: &str| crate::diag::line_column(text, locate(text, p));
        assert_eq!(at(""), (1, 1));
        assert_eq!(at("/a"), (2, 8));
        assert_eq!(at("/a/1/b"), (2, 18));
        assert_eq!(at("/a/1/missing"), (2, 12));
        assert_eq!(at("/c~0~1/d"), (3, 16));
        assert_eq!(at("/a/7"), (2, 8));
    }

    #[test]
    fn dates_are_strict_iso() {
        assert_eq!(parse_date("2024-02-29"), Some(Date::constant(2024, 2, 29)));
        for bad in ["2023-02-29", "2024-2-01", "20240201", "2024-02-01T00:00", "+2024-02-01"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn paths_stay_inside_the_package() {
        assert_eq!(join("pkg/Manifest.ocf.json", "./T.ocf.json"), Ok("pkg/T.ocf.json".into()));
        assert_eq!(join("Manifest.ocf.json", "T.ocf.json"), Ok("T.ocf.json".into()));
        assert_eq!(join("a/b/M.json", "sub/T.json"), Ok("a/b/sub/T.json".into()));
        for bad in ["/etc/passwd", "../x.json", "a/../../x", "C:\\x", ""] {
            assert!(join("pkg/M.json", bad).is_err(), "{bad}");
        }
    }
}
