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
//! `VESTING_SCHEDULE_ABSOLUTE` conditions with exact portions. A [`Linear`](crate::Linear)
//! schedule cannot be written, because OCF has no per-second vesting. Every grant is written
//! as an RSU `TX_EQUITY_COMPENSATION_ISSUANCE`. The manifest carries each file's MD5.

use std::collections::{HashMap, HashSet};
use std::fmt;

use jiff::civil::Date;
use serde_json::{Map, Value, json};
use tokencomp_money::{Token, TokenAmount};

use crate::calendar;
use crate::diag::Diagnostic;
use crate::grant::Grant;
use crate::schedule::{Allocation, Calendar, Custom, DayOfMonth, MAX_DATE, Period, Schedule};

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

/// A JSON file that was read and parsed successfully.
struct Doc {
    file: String,
    text: String,
    value: Value,
}

impl Doc {
    fn diag(&self, ptr: &str, message: impl Into<String>) -> Diagnostic {
        let field = (!ptr.is_empty()).then(|| ptr.to_owned());
        Diagnostic::new(&self.file, field, message).at_offset(&self.text, locate(&self.text, ptr))
    }

    fn root(&self) -> Node<'_> {
        Node { doc: self, v: &self.value, ptr: String::new() }
    }
}

fn load(file: &str, read: &mut dyn FnMut(&str) -> Result<String, String>, errs: &mut Vec<Diagnostic>) -> Option<Doc> {
    let text = match read(file) {
        Ok(t) => t,
        Err(e) => {
            errs.push(Diagnostic::new(file, None, format!("cannot read the file: {e}")));
            return None;
        }
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(value) => Some(Doc { file: file.to_owned(), text, value }),
        Err(e) => {
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let msg = full.strip_suffix(&suffix).unwrap_or(&full);
            let mut d = Diagnostic::new(file, None, format!("invalid JSON: {msg}"));
            if e.line() > 0 {
                d = d.at(e.line(), e.column());
            }
            errs.push(d);
            None
        }
    }
}

/// A value inside a document, together with its JSON pointer.
#[derive(Clone)]
struct Node<'a> {
    doc: &'a Doc,
    v: &'a Value,
    ptr: String,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl<'a> Node<'a> {
    fn diag(&self, message: impl Into<String>) -> Diagnostic {
        self.doc.diag(&self.ptr, message)
    }

    fn field_ptr(&self, key: &str) -> String {
        format!("{}/{}", self.ptr, escape(key))
    }

    fn field_diag(&self, key: &str, message: impl Into<String>) -> Diagnostic {
        self.doc.diag(&self.field_ptr(key), message)
    }

    fn get(&self, key: &str) -> Option<Node<'a>> {
        self.v.get(key).map(|v| Node { doc: self.doc, v, ptr: self.field_ptr(key) })
    }

    fn req(&self, key: &str, errs: &mut Vec<Diagnostic>) -> Option<Node<'a>> {
        let n = self.get(key);
        if n.is_none() && self.v.is_object() {
            errs.push(self.field_diag(key, format!("missing required field `{key}`")));
        }
        n
    }

    fn object(&self, errs: &mut Vec<Diagnostic>) -> bool {
        if self.v.is_object() {
            true
        } else {
            errs.push(self.diag(format!("expected an object, found {}", kind(self.v))));
            false
        }
    }

    /// Reports every key not in `allowed` (OCF objects allow no other keys).
    fn only(&self, allowed: &[&str], errs: &mut Vec<Diagnostic>) {
        if let Some(m) = self.v.as_object() {
            for k in m.keys() {
                if !allowed.contains(&k.as_str()) {
                    errs.push(self.field_diag(k, format!("unknown field `{k}`; allowed here: {}", allowed.join(", "))));
                }
            }
        }
    }

    fn str(&self, errs: &mut Vec<Diagnostic>) -> Option<&'a str> {
        let s = self.v.as_str();
        if s.is_none() {
            errs.push(self.diag(format!("expected a string, found {}", kind(self.v))));
        }
        s
    }

    /// A non-empty string, as ids must be.
    fn id(&self, errs: &mut Vec<Diagnostic>) -> Option<&'a str> {
        let s = self.str(errs)?;
        if s.is_empty() {
            errs.push(self.diag("an id must not be empty"));
            return None;
        }
        Some(s)
    }

    fn array(&self, errs: &mut Vec<Diagnostic>) -> Option<Vec<Node<'a>>> {
        match self.v.as_array() {
            Some(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Node { doc: self.doc, v, ptr: format!("{}/{i}", self.ptr) })
                    .collect(),
            ),
            None => {
                errs.push(self.diag(format!("expected an array, found {}", kind(self.v))));
                None
            }
        }
    }

    fn uint(&self, errs: &mut Vec<Diagnostic>) -> Option<u32> {
        let n = self.v.as_u64().and_then(|n| u32::try_from(n).ok());
        if n.is_none() {
            errs.push(self.diag(format!("expected a whole number from 0 to {}, found {}", u32::MAX, self.v)));
        }
        n
    }

    fn boolean(&self, errs: &mut Vec<Diagnostic>) -> Option<bool> {
        let b = self.v.as_bool();
        if b.is_none() {
            errs.push(self.diag(format!("expected true or false, found {}", kind(self.v))));
        }
        b
    }

    fn date(&self, errs: &mut Vec<Diagnostic>) -> Option<Date> {
        let s = self.str(errs)?;
        let d = parse_date(s);
        if d.is_none() {
            errs.push(self.diag(format!("`{s}` is not a date of the form YYYY-MM-DD")));
        }
        d
    }

    fn numeric(&self, errs: &mut Vec<Diagnostic>) -> Option<Numeric<'a>> {
        let Some(s) = self.v.as_str() else {
            let msg = if self.v.is_number() {
                format!("OCF numbers are strings: write \"{}\"", self.v)
            } else {
                format!("expected a number as a string, found {}", kind(self.v))
            };
            errs.push(self.diag(msg));
            return None;
        };
        let n = Numeric::parse(s);
        if n.is_none() {
            errs.push(
                self.diag(format!("`{s}` is not an OCF number (digits, optionally a point and at most 10 decimals)")),
            );
        }
        n
    }

    /// A non-negative OCF number as an exact fraction.
    fn ratio(&self, what: &str, errs: &mut Vec<Diagnostic>) -> Option<Ratio> {
        let n = self.numeric(errs)?;
        if n.is_negative() {
            errs.push(self.diag(format!("{what} must not be negative")));
            return None;
        }
        let r = n.ratio();
        if r.is_none() {
            errs.push(self.diag(format!("{what} has too many digits")));
        }
        r
    }

    fn req_str(&self, key: &str, errs: &mut Vec<Diagnostic>) -> Option<&'a str> {
        self.req(key, errs)?.str(errs)
    }

    fn req_id(&self, key: &str, errs: &mut Vec<Diagnostic>) -> Option<&'a str> {
        self.req(key, errs)?.id(errs)
    }

    fn req_date(&self, key: &str, errs: &mut Vec<Diagnostic>) -> Option<Date> {
        self.req(key, errs)?.date(errs)
    }
}

/// Parses a strict ISO 8601 calendar date (`YYYY-MM-DD`).
fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    if !shape {
        return None;
    }
    let y: i16 = s.get(0..4)?.parse().ok()?;
    let m: i8 = s.get(5..7)?.parse().ok()?;
    let d: i8 = s.get(8..10)?.parse().ok()?;
    Date::new(y, m, d).ok()
}

/// The position of `pointer` in `text`, or of the deepest part of it that exists. The text
/// must be valid JSON.
fn locate(text: &str, pointer: &str) -> usize {
    let b = text.as_bytes();
    let mut pos = skip_ws(b, 0);
    if pointer.is_empty() {
        return pos;
    }
    for raw in pointer.split('/').skip(1) {
        let token = raw.replace("~1", "/").replace("~0", "~");
        match b.get(pos) {
            Some(b'{') => {
                let mut i = skip_ws(b, pos + 1);
                let mut found = None;
                while b.get(i) == Some(&b'"') {
                    let end = string_end(b, i);
                    let key: Option<String> = text.get(i..end).and_then(|k| serde_json::from_str(k).ok());
                    i = skip_ws(b, end); // at ':'
                    i = skip_ws(b, i + 1);
                    if key.as_deref() == Some(token.as_str()) {
                        found = Some(i);
                        break;
                    }
                    i = skip_ws(b, skip_value(b, i));
                    if b.get(i) == Some(&b',') {
                        i = skip_ws(b, i + 1);
                    }
                }
                match found {
                    Some(f) => pos = f,
                    None => return pos,
                }
            }
            Some(b'[') => {
                let Ok(n) = token.parse::<usize>() else {
                    return pos;
                };
                let mut i = skip_ws(b, pos + 1);
                if b.get(i) == Some(&b']') {
                    return pos;
                }
                for _ in 0..n {
                    i = skip_ws(b, skip_value(b, i));
                    if b.get(i) != Some(&b',') {
                        return pos;
                    }
                    i = skip_ws(b, i + 1);
                }
                pos = i;
            }
            _ => return pos,
        }
    }
    pos
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// The index just past the string that starts at `i` (a quote).
fn string_end(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while let Some(&c) = b.get(j) {
        match c {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// The index just past the value that starts at `i`.
fn skip_value(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => string_end(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while let Some(&c) = b.get(j) {
                match c {
                    b'"' => {
                        j = string_end(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            b.len()
        }
        _ => {
            let mut j = i;
            while b.get(j).is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace()) {
                j += 1;
            }
            j
        }
    }
}

// ---- exact numbers ------------------------------------------------------------------------

/// An OCF `Numeric`: `^[+-]?[0-9]+(\.[0-9]{1,10})?$`.
#[derive(Clone, Copy, Debug)]
struct Numeric<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
}

impl<'a> Numeric<'a> {
    fn parse(s: &'a str) -> Option<Numeric<'a>> {
        let (negative, body) = match s.as_bytes().first() {
            Some(b'-') => (true, s.get(1..)?),
            Some(b'+') => (false, s.get(1..)?),
            _ => (false, s),
        };
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => {
                if !digits(f) || f.len() > 10 {
                    return None;
                }
                (i, f)
            }
            None => (body, ""),
        };
        if !digits(int) {
            return None;
        }
        Some(Numeric { negative, int, frac })
    }

    fn is_negative(&self) -> bool {
        self.negative && self.int.bytes().chain(self.frac.bytes()).any(|c| c != b'0')
    }

    fn significant_frac(&self) -> &'a str {
        self.frac.trim_end_matches('0')
    }

    /// The value without sign, trailing zeros or `+`: what [`Token::parse`] accepts.
    fn canonical(&self) -> String {
        let f = self.significant_frac();
        if f.is_empty() { self.int.to_owned() } else { format!("{}.{f}", self.int) }
    }

    /// The magnitude as an exact fraction.
    fn ratio(&self) -> Option<Ratio> {
        let f = self.significant_frac();
        let mut n: u128 = 0;
        for c in self.int.bytes().chain(f.bytes()) {
            n = n.checked_mul(10)?.checked_add(u128::from(c - b'0'))?;
        }
        let d = 10u128.checked_pow(u32::try_from(f.len()).ok()?)?;
        Ratio::new(n, d)
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A non-negative fraction in lowest terms. Every operation is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ratio {
    n: u128,
    d: u128,
}

impl Ratio {
    const ZERO: Ratio = Ratio { n: 0, d: 1 };
    const ONE: Ratio = Ratio { n: 1, d: 1 };

    fn new(n: u128, d: u128) -> Option<Ratio> {
        if d == 0 {
            return None;
        }
        let g = gcd(n, d);
        Some(Ratio { n: n / g, d: d / g })
    }

    fn int(n: u128) -> Ratio {
        Ratio { n, d: 1 }
    }

    fn is_zero(self) -> bool {
        self.n == 0
    }

    fn add(self, o: Ratio) -> Option<Ratio> {
        let g = gcd(self.d, o.d);
        let d = (self.d / g).checked_mul(o.d)?;
        let n = self.n.checked_mul(o.d / g)?.checked_add(o.n.checked_mul(self.d / g)?)?;
        Ratio::new(n, d)
    }

    /// `self - o`, or `None` when it would be negative (or overflow).
    fn sub(self, o: Ratio) -> Option<Ratio> {
        let g = gcd(self.d, o.d);
        let d = (self.d / g).checked_mul(o.d)?;
        let n = self.n.checked_mul(o.d / g)?.checked_sub(o.n.checked_mul(self.d / g)?)?;
        Ratio::new(n, d)
    }

    fn mul(self, o: Ratio) -> Option<Ratio> {
        let g1 = gcd(self.n, o.d).max(1);
        let g2 = gcd(o.n, self.d).max(1);
        Ratio::new((self.n / g1).checked_mul(o.n / g2)?, (self.d / g2).checked_mul(o.d / g1)?)
    }

    fn div(self, o: Ratio) -> Option<Ratio> {
        if o.n == 0 {
            return None;
        }
        self.mul(Ratio { n: o.d, d: o.n })
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.d == 1 { write!(f, "{}", self.n) } else { write!(f, "{}/{}", self.n, self.d) }
    }
}

// ---- vesting terms --------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Months,
    Days,
}

#[derive(Clone, Debug)]
struct Rel {
    unit: Unit,
    length: u32,
    occurrences: u32,
    day_of_month: DayOfMonth,
    cliff_installment: u32,
    relative_to: String,
}

#[derive(Clone, Debug)]
enum Trig {
    Start,
    Absolute(Date),
    Relative(Rel),
    Event,
}

#[derive(Clone, Copy, Debug)]
enum Amount {
    Portion {
        ratio: Ratio,
        remainder: bool,
    },
    /// Shares per occurrence.
    Quantity(Ratio),
}

struct Cond<'a> {
    id: String,
    node: Node<'a>,
    amount: Amount,
    trigger: Trig,
    next: Vec<String>,
}

struct Terms<'a> {
    id: String,
    node: Node<'a>,
    allocation: Allocation,
    conds: Vec<Cond<'a>>,
    /// Already reported as invalid: issuances that use these terms add no further noise.
    broken: bool,
}

impl Terms<'_> {
    fn index(&self) -> HashMap<&str, usize> {
        let mut m = HashMap::new();
        for (i, c) in self.conds.iter().enumerate() {
            m.entry(c.id.as_str()).or_insert(i);
        }
        m
    }
}

const TERMS_KEYS: [&str; 7] =
    ["id", "object_type", "name", "description", "allocation_type", "vesting_conditions", "comments"];
const COND_KEYS: [&str; 6] = ["id", "description", "portion", "quantity", "trigger", "next_condition_ids"];

fn parse_terms<'a>(node: Node<'a>, errs: &mut Vec<Diagnostic>) -> Option<Terms<'a>> {
    if !node.object(errs) {
        return None;
    }
    let before = errs.len();
    node.only(&TERMS_KEYS, errs);
    let id = node.req_id("id", errs);
    if let Some(t) = node.req_str("object_type", errs)
        && t != "VESTING_TERMS"
    {
        errs.push(node.field_diag("object_type", format!("expected `VESTING_TERMS`, found `{t}`")));
    }
    node.req_str("name", errs);
    node.req_str("description", errs);
    let allocation = node.req("allocation_type", errs).and_then(|n| {
        let s = n.str(errs)?;
        let a = Allocation::from_ocf_name(s);
        if a.is_none() {
            let names = Allocation::OCF_NAMES.join(", ");
            errs.push(n.diag(format!("unknown allocation type `{s}`; expected one of {names}")));
        }
        a
    });
    let mut conds = Vec::new();
    let mut known: HashSet<String> = HashSet::new();
    if let Some(list) = node.req("vesting_conditions", errs).and_then(|n| n.array(errs)) {
        if list.is_empty() {
            errs.push(node.field_diag("vesting_conditions", "vesting terms need at least one condition"));
        }
        for c in list {
            if let Some(id) = c.v.get("id").and_then(Value::as_str) {
                known.insert(id.to_owned());
            }
            if let Some(cond) = parse_cond(c, errs) {
                conds.push(cond);
            }
        }
    }
    check_graph(&conds, &known, errs);
    let id = id?;
    Some(Terms {
        id: id.to_owned(),
        node,
        allocation: allocation.unwrap_or(Allocation::CumulativeRoundDown),
        conds,
        broken: errs.len() > before,
    })
}

fn parse_cond<'a>(node: Node<'a>, errs: &mut Vec<Diagnostic>) -> Option<Cond<'a>> {
    if !node.object(errs) {
        return None;
    }
    let before = errs.len();
    node.only(&COND_KEYS, errs);
    let id = node.req_id("id", errs);
    if let Some(d) = node.get("description") {
        d.str(errs);
    }
    let amount = match (node.get("portion"), node.get("quantity")) {
        (Some(_), Some(_)) => {
            errs.push(node.diag("a condition has either a `portion` or a `quantity`, not both"));
            None
        }
        (None, None) => {
            errs.push(node.diag("a condition needs a `portion` or a `quantity`"));
            None
        }
        (Some(p), None) => parse_portion(&p, errs),
        (None, Some(q)) => q.ratio("a quantity", errs).map(Amount::Quantity),
    };
    let trigger = node.req("trigger", errs).and_then(|t| parse_trigger(&t, errs));
    let mut next = Vec::new();
    if let Some(list) = node.req("next_condition_ids", errs).and_then(|n| n.array(errs)) {
        for n in list {
            if let Some(s) = n.id(errs) {
                if next.iter().any(|x| x == s) {
                    errs.push(n.diag(format!("condition `{s}` is listed twice")));
                } else {
                    next.push(s.to_owned());
                }
            }
        }
    }
    if errs.len() > before {
        return None;
    }
    Some(Cond { id: id?.to_owned(), node, amount: amount?, trigger: trigger?, next })
}

fn parse_portion(node: &Node<'_>, errs: &mut Vec<Diagnostic>) -> Option<Amount> {
    if !node.object(errs) {
        return None;
    }
    node.only(&["numerator", "denominator", "remainder"], errs);
    let num = node.req("numerator", errs).and_then(|n| n.ratio("a numerator", errs));
    let den = node.req("denominator", errs).and_then(|n| {
        let r = n.ratio("a denominator", errs)?;
        if r.is_zero() {
            errs.push(n.diag("a denominator must not be zero"));
            return None;
        }
        Some(r)
    });
    let remainder = match node.get("remainder") {
        Some(r) => r.boolean(errs)?,
        None => false,
    };
    let ratio = num?.div(den?);
    if ratio.is_none() {
        errs.push(node.diag("the portion has too many digits to compute exactly"));
    }
    Some(Amount::Portion { ratio: ratio?, remainder })
}

fn parse_trigger(node: &Node<'_>, errs: &mut Vec<Diagnostic>) -> Option<Trig> {
    if !node.object(errs) {
        return None;
    }
    let t = node.req("type", errs)?;
    let ty = t.str(errs)?;
    match ty {
        "VESTING_START_DATE" => {
            node.only(&["type"], errs);
            Some(Trig::Start)
        }
        "VESTING_EVENT" => {
            node.only(&["type"], errs);
            Some(Trig::Event)
        }
        "VESTING_SCHEDULE_ABSOLUTE" => {
            node.only(&["type", "date"], errs);
            node.req_date("date", errs).map(Trig::Absolute)
        }
        "VESTING_SCHEDULE_RELATIVE" => {
            node.only(&["type", "period", "relative_to_condition_id"], errs);
            let period = node.req("period", errs);
            let to = node.req_id("relative_to_condition_id", errs);
            let rel = parse_period(&period?, to?, errs)?;
            Some(Trig::Relative(rel))
        }
        other => {
            errs.push(t.diag(format!(
                "unknown trigger type `{other}`; expected VESTING_START_DATE, VESTING_SCHEDULE_ABSOLUTE, VESTING_SCHEDULE_RELATIVE or VESTING_EVENT"
            )));
            None
        }
    }
}

fn parse_period(node: &Node<'_>, to: &str, errs: &mut Vec<Diagnostic>) -> Option<Rel> {
    if !node.object(errs) {
        return None;
    }
    let t = node.req("type", errs)?;
    let unit = match t.str(errs)? {
        "MONTHS" => Unit::Months,
        "DAYS" => Unit::Days,
        "YEARS" => {
            errs.push(t.diag("a vesting period is counted in MONTHS or DAYS; write calendar years as 12 MONTHS"));
            return None;
        }
        other => {
            errs.push(t.diag(format!("unknown period type `{other}`; expected MONTHS or DAYS")));
            return None;
        }
    };
    match unit {
        Unit::Months => node.only(&["length", "type", "occurrences", "day_of_month", "cliff_installment"], errs),
        Unit::Days => node.only(&["length", "type", "occurrences", "cliff_installment"], errs),
    }
    let length = node.req("length", errs).and_then(|n| n.uint(errs));
    let occurrences = node.req("occurrences", errs).and_then(|n| {
        let o = n.uint(errs)?;
        if o == 0 {
            errs.push(n.diag("occurrences must be at least 1"));
            return None;
        }
        Some(o)
    });
    let day_of_month = match unit {
        Unit::Days => Some(DayOfMonth::VestingStartDayOrLast),
        Unit::Months => node.req("day_of_month", errs).and_then(|n| {
            let s = n.str(errs)?;
            let d = DayOfMonth::from_ocf_name(s);
            if d.is_none() {
                errs.push(n.diag(format!(
                    "unknown day of month `{s}`; expected \"01\" to \"28\", \"29_OR_LAST_DAY_OF_MONTH\", \"30_OR_LAST_DAY_OF_MONTH\", \"31_OR_LAST_DAY_OF_MONTH\" or \"VESTING_START_DAY_OR_LAST_DAY_OF_MONTH\""
                )));
            }
            d
        }),
    };
    let cliff_installment = match node.get("cliff_installment") {
        Some(n) => n.uint(errs),
        None => Some(0),
    };
    let (occurrences, cliff_installment) = (occurrences?, cliff_installment?);
    if cliff_installment > occurrences {
        errs.push(node.field_diag(
            "cliff_installment",
            format!("the cliff installment {cliff_installment} is after the last of {occurrences} occurrences"),
        ));
        return None;
    }
    Some(Rel {
        unit,
        length: length?,
        occurrences,
        day_of_month: day_of_month?,
        cliff_installment,
        relative_to: to.to_owned(),
    })
}

/// Duplicate ids, unknown references and cycles among a terms object's conditions.
fn check_graph(conds: &[Cond<'_>], known: &HashSet<String>, errs: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, c) in conds.iter().enumerate() {
        if let Some(&j) = first.get(c.id.as_str()) {
            errs.push(
                c.node.field_diag(
                    "id",
                    format!("condition id `{}` is used twice (first at {})", c.id, conds[j].node.ptr),
                ),
            );
        } else {
            first.insert(&c.id, i);
        }
    }
    for c in conds {
        for (k, n) in c.next.iter().enumerate() {
            if !known.contains(n) {
                errs.push(c.node.doc.diag(
                    &format!("{}/next_condition_ids/{k}", c.node.ptr),
                    format!("unknown condition `{n}` in the next conditions of `{}`", c.id),
                ));
            }
        }
        if let Trig::Relative(r) = &c.trigger {
            let ptr = format!("{}/trigger/relative_to_condition_id", c.node.ptr);
            if r.relative_to == c.id {
                errs.push(c.node.doc.diag(&ptr, format!("condition `{}` is relative to itself", c.id)));
            } else if !known.contains(&r.relative_to) {
                errs.push(
                    c.node.doc.diag(
                        &ptr,
                        format!("condition `{}` is relative to unknown condition `{}`", c.id, r.relative_to),
                    ),
                );
            }
        }
    }
    // Cycles along next_condition_ids: depth-first, iteratively.
    let mut color = vec![0u8; conds.len()]; // 0 unseen, 1 on the stack, 2 done
    for s in 0..conds.len() {
        if color[s] != 0 {
            continue;
        }
        color[s] = 1;
        let mut stack: Vec<(usize, usize)> = vec![(s, 0)];
        while let Some(&(u, k)) = stack.last() {
            let Some(next) = conds[u].next.get(k) else {
                color[u] = 2;
                stack.pop();
                continue;
            };
            if let Some(top) = stack.last_mut() {
                top.1 += 1;
            }
            let Some(&v) = first.get(next.as_str()) else {
                continue;
            };
            match color[v] {
                0 => {
                    color[v] = 1;
                    stack.push((v, 0));
                }
                1 => {
                    let from = stack.iter().position(|e| e.0 == v).unwrap_or(0);
                    let names: Vec<&str> =
                        stack[from..].iter().map(|e| conds[e.0].id.as_str()).chain([conds[v].id.as_str()]).collect();
                    errs.push(conds[u].node.doc.diag(
                        &format!("{}/next_condition_ids/{k}", conds[u].node.ptr),
                        format!("the next conditions form a cycle: {}", names.join(" → ")),
                    ));
                }
                _ => {}
            }
        }
    }
}

// ---- transactions -------------------------------------------------------------------------

const ISSUANCES: [&str; 4] =
    ["TX_EQUITY_COMPENSATION_ISSUANCE", "TX_PLAN_SECURITY_ISSUANCE", "TX_STOCK_ISSUANCE", "TX_WARRANT_ISSUANCE"];

struct Vesting<'a> {
    date: Date,
    amount: Numeric<'a>,
    node: Node<'a>,
}

struct Issuance<'a> {
    node: Node<'a>,
    security_id: String,
    stakeholder_id: String,
    issued: Date,
    quantity: Numeric<'a>,
    terms_id: Option<(String, Node<'a>)>,
    vestings: Option<(Vec<Vesting<'a>>, Node<'a>)>,
}

struct VestingTx<'a> {
    node: Node<'a>,
    date: Date,
    condition_id: String,
}

#[derive(Default)]
struct Transactions<'a> {
    issuances: Vec<Issuance<'a>>,
    starts: HashMap<String, Vec<VestingTx<'a>>>,
    events: HashMap<String, Vec<VestingTx<'a>>>,
    accelerations: Vec<(String, Node<'a>)>,
}

fn parse_transaction<'a>(node: Node<'a>, txs: &mut Transactions<'a>, errs: &mut Vec<Diagnostic>) {
    if !node.object(errs) {
        return;
    }
    let Some(ty) = node.req_str("object_type", errs) else {
        return;
    };
    if ISSUANCES.contains(&ty) {
        let terms_node = node.get("vesting_terms_id");
        let vestings_node = node.get("vestings");
        if terms_node.is_none() && vestings_node.is_none() {
            return; // fully vested on issuance: nothing to schedule
        }
        let before = errs.len();
        node.req_id("id", errs);
        let security_id = node.req_id("security_id", errs);
        let stakeholder_id = node.req_id("stakeholder_id", errs);
        let issued = node.req_date("date", errs);
        let quantity = node.req("quantity", errs).and_then(|n| {
            let q = n.numeric(errs)?;
            if q.is_negative() {
                errs.push(n.diag("a quantity must not be negative"));
                return None;
            }
            Some(q)
        });
        let terms_id = terms_node.and_then(|n| Some((n.id(errs)?.to_owned(), n)));
        let vestings = vestings_node.and_then(|n| {
            let list = n.array(errs)?;
            if list.is_empty() {
                errs.push(n.diag("`vestings` needs at least one entry"));
            }
            let mut out = Vec::new();
            for v in list {
                if !v.object(errs) {
                    continue;
                }
                v.only(&["date", "amount"], errs);
                let date = v.req_date("date", errs);
                let amount = v.req("amount", errs).and_then(|a| {
                    let x = a.numeric(errs)?;
                    if x.is_negative() {
                        errs.push(a.diag("a vesting amount must not be negative"));
                        return None;
                    }
                    Some(x)
                });
                if let (Some(date), Some(amount)) = (date, amount) {
                    out.push(Vesting { date, amount, node: v });
                }
            }
            Some((out, n))
        });
        if errs.len() > before {
            return;
        }
        if let (Some(security_id), Some(stakeholder_id), Some(issued), Some(quantity)) =
            (security_id, stakeholder_id, issued, quantity)
        {
            txs.issuances.push(Issuance {
                node,
                security_id: security_id.to_owned(),
                stakeholder_id: stakeholder_id.to_owned(),
                issued,
                quantity,
                terms_id,
                vestings,
            });
        }
    } else if ty == "TX_VESTING_START" || ty == "TX_VESTING_EVENT" {
        node.only(&["id", "object_type", "security_id", "date", "vesting_condition_id", "comments"], errs);
        node.req_id("id", errs);
        let security_id = node.req_id("security_id", errs);
        let date = node.req_date("date", errs);
        let condition = node.req_id("vesting_condition_id", errs);
        if let (Some(s), Some(date), Some(c)) = (security_id, date, condition) {
            let map = if ty == "TX_VESTING_START" { &mut txs.starts } else { &mut txs.events };
            map.entry(s.to_owned()).or_default().push(VestingTx { node, date, condition_id: c.to_owned() });
        }
    } else if ty == "TX_VESTING_ACCELERATION"
        && let Some(s) = node.get("security_id").and_then(|n| n.v.as_str())
    {
        txs.accelerations.push((s.to_owned(), node));
    }
}

fn parse_stakeholder(node: &Node<'_>, errs: &mut Vec<Diagnostic>) -> Option<OcfStakeholder> {
    if !node.object(errs) {
        return None;
    }
    let id = node.req_id("id", errs);
    if let Some(t) = node.req_str("object_type", errs)
        && t != "STAKEHOLDER"
    {
        errs.push(node.field_diag("object_type", format!("expected `STAKEHOLDER`, found `{t}`")));
    }
    let name = node.req("name", errs).and_then(|n| n.req_str("legal_name", errs));
    let ty = node.req("stakeholder_type", errs).and_then(|n| match n.str(errs)? {
        "INDIVIDUAL" => Some(StakeholderType::Individual),
        "INSTITUTION" => Some(StakeholderType::Institution),
        other => {
            errs.push(n.diag(format!("unknown stakeholder type `{other}`; expected INDIVIDUAL or INSTITUTION")));
            None
        }
    });
    Some(OcfStakeholder { id: id?.to_owned(), legal_name: name?.to_owned(), stakeholder_type: ty? })
}

fn parse_issuer(node: &Node<'_>, errs: &mut Vec<Diagnostic>) -> Option<OcfIssuer> {
    if !node.object(errs) {
        return None;
    }
    if let Some(t) = node.req_str("object_type", errs)
        && t != "ISSUER"
    {
        errs.push(node.field_diag("object_type", format!("expected `ISSUER`, found `{t}`")));
    }
    let id = node.req_id("id", errs);
    let legal_name = node.req_str("legal_name", errs);
    let formation_date = node.req_date("formation_date", errs);
    let country = node.req_str("country_of_formation", errs);
    Some(OcfIssuer {
        id: id?.to_owned(),
        legal_name: legal_name?.to_owned(),
        formation_date: formation_date?,
        country_of_formation: country?.to_owned(),
    })
}

// ---- the package --------------------------------------------------------------------------

const MANIFEST_KEYS: [&str; 15] = [
    "ocf_version",
    "file_type",
    "issuer",
    "as_of",
    "generated_at",
    "stock_plans_files",
    "stock_legend_templates_files",
    "stock_classes_files",
    "vesting_terms_files",
    "valuations_files",
    "transactions_files",
    "stakeholders_files",
    "financings_files",
    "documents_files",
    "comments",
];

/// The manifest lists this module reads, with the `file_type` their files must have.
const READ_LISTS: [(&str, &str); 3] = [
    ("vesting_terms_files", "OCF_VESTING_TERMS_FILE"),
    ("transactions_files", "OCF_TRANSACTIONS_FILE"),
    ("stakeholders_files", "OCF_STAKEHOLDERS_FILE"),
];

/// The `items` of a file wrapper (already checked to be an array, or reported).
fn items(doc: &Doc) -> Vec<Node<'_>> {
    match doc.root().get("items") {
        Some(n) if n.v.is_array() => n.array(&mut Vec::new()).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// `rel` joined to the folder of `manifest`. Absolute paths and `..` are refused: a package
/// names only files inside itself.
fn join(manifest: &str, rel: &str) -> Result<String, &'static str> {
    let rel = rel.strip_prefix("./").unwrap_or(rel);
    if rel.is_empty()
        || rel.starts_with('/')
        || rel.contains('\\')
        || rel.contains(':')
        || rel.split('/').any(|c| c == ".." || c.is_empty())
    {
        return Err("a file path must be relative to the manifest's folder and stay inside it");
    }
    let dir = manifest.rfind('/').and_then(|i| manifest.get(..=i)).unwrap_or("");
    Ok(format!("{dir}{rel}"))
}

fn read_impl(
    manifest_path: &str,
    token: Option<&Token>,
    read: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<OcfImport, Vec<Diagnostic>> {
    let mut errs = Vec::new();
    let mut warns = Vec::new();
    let Some(manifest) = load(manifest_path, read, &mut errs) else {
        return Err(errs);
    };
    let m = manifest.root();
    if !m.object(&mut errs) {
        return Err(errs);
    }
    m.only(&MANIFEST_KEYS, &mut errs);
    if let Some(t) = m.req_str("file_type", &mut errs)
        && t != "OCF_MANIFEST_FILE"
    {
        errs.push(m.field_diag("file_type", format!("expected `OCF_MANIFEST_FILE`, found `{t}`")));
    }
    if let Some(v) = m.req("ocf_version", &mut errs)
        && let Some(s) = v.str(&mut errs)
        && !s.starts_with("1.")
    {
        errs.push(v.diag(format!("OCF version `{s}` is not supported; this reader understands OCF 1.x")));
    }
    let issuer = m.req("issuer", &mut errs).and_then(|n| parse_issuer(&n, &mut errs));
    let as_of = m.req_date("as_of", &mut errs);
    let generated_at = m.req("generated_at", &mut errs).and_then(|n| {
        let s = n.str(&mut errs)?;
        let t = s.parse::<jiff::Timestamp>().ok();
        if t.is_none() {
            errs.push(
                n.diag(format!("`{s}` is not a date-time with an offset (RFC 3339, e.g. 2022-03-22T01:23:45-06:00)")),
            );
        }
        t
    });

    // Load every listed file this module needs.
    let mut docs: [Vec<Doc>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (slot, (list, file_type)) in READ_LISTS.iter().enumerate() {
        let Some(entries) = m.req(list, &mut errs).and_then(|n| n.array(&mut errs)) else {
            continue;
        };
        for e in entries {
            if !e.object(&mut errs) {
                continue;
            }
            e.only(&["filepath", "md5"], &mut errs);
            let Some(fp) = e.req("filepath", &mut errs) else {
                continue;
            };
            let Some(rel) = fp.str(&mut errs) else {
                continue;
            };
            let path = match join(manifest_path, rel) {
                Ok(p) => p,
                Err(msg) => {
                    errs.push(fp.diag(format!("`{rel}`: {msg}")));
                    continue;
                }
            };
            let Some(doc) = load(&path, read, &mut errs) else {
                continue;
            };
            if let Some(md5) = e.get("md5").and_then(|n| n.str(&mut errs)) {
                let actual = md5_hex(doc.text.as_bytes());
                if !md5.eq_ignore_ascii_case(&actual) {
                    warns.push(e.field_diag("md5", format!("`{rel}` has MD5 {actual}, but the manifest says {md5}")));
                }
            }
            let root = doc.root();
            if root.object(&mut errs) {
                root.only(&["file_type", "items"], &mut errs);
                if let Some(t) = root.req_str("file_type", &mut errs)
                    && t != *file_type
                {
                    errs.push(root.field_diag(
                            "file_type",
                            format!(
                                "the manifest lists this file under `{list}`, so its file type must be `{file_type}`, not `{t}`"
                            ),
                        ));
                }
                if let Some(items) = root.req("items", &mut errs) {
                    items.array(&mut errs);
                }
            }
            docs[slot].push(doc);
        }
    }
    let [terms_docs, tx_docs, sh_docs] = &docs;

    // Vesting terms.
    let mut terms: Vec<Terms<'_>> = Vec::new();
    let mut terms_index: HashMap<String, usize> = HashMap::new();
    for doc in terms_docs {
        for item in items(doc) {
            if let Some(t) = parse_terms(item, &mut errs) {
                if let Some(&first) = terms_index.get(&t.id) {
                    errs.push(t.node.field_diag(
                        "id",
                        format!(
                            "vesting terms id `{}` is used twice (first in {} at {})",
                            t.id, terms[first].node.doc.file, terms[first].node.ptr
                        ),
                    ));
                } else {
                    terms_index.insert(t.id.clone(), terms.len());
                    terms.push(t);
                }
            }
        }
    }

    // Stakeholders.
    let mut stakeholders = Vec::new();
    let mut stakeholder_ids = HashSet::new();
    for doc in sh_docs {
        for item in items(doc) {
            if let Some(s) = parse_stakeholder(&item, &mut errs) {
                if !stakeholder_ids.insert(s.id.clone()) {
                    errs.push(item.field_diag("id", format!("stakeholder id `{}` is used twice", s.id)));
                    continue;
                }
                stakeholders.push(s);
            }
        }
    }

    // Transactions.
    let mut txs = Transactions::default();
    for doc in tx_docs {
        for item in items(doc) {
            parse_transaction(item, &mut txs, &mut errs);
        }
    }

    // The token: the caller's, or SHARE with the decimals the quantities need.
    let token = match token {
        Some(t) => t.clone(),
        None => {
            let mut d = 0usize;
            for i in &txs.issuances {
                d = d.max(i.quantity.significant_frac().len());
                if let Some((vs, _)) = &i.vestings {
                    for v in vs {
                        d = d.max(v.amount.significant_frac().len());
                    }
                }
            }
            // Numerics have at most 10 decimals, so this always fits.
            let d = u8::try_from(d).unwrap_or(10);
            match Token::new(SHARE_SYMBOL, d) {
                Ok(t) => t,
                Err(e) => {
                    errs.push(Diagnostic::new(manifest_path, None, e.to_string()));
                    return Err(errs);
                }
            }
        }
    };

    // Grants.
    let mut grants = Vec::new();
    let mut seen_securities: HashMap<String, String> = HashMap::new();
    for iss in &txs.issuances {
        if let Some(first) = seen_securities.get(&iss.security_id) {
            errs.push(iss.node.field_diag(
                "security_id",
                format!(
                    "security `{}` is issued twice (first at {first}); a grant needs a unique security id",
                    iss.security_id
                ),
            ));
            continue;
        }
        seen_securities.insert(iss.security_id.clone(), iss.node.ptr.clone());
        if !stakeholders.is_empty() && !stakeholder_ids.contains(&iss.stakeholder_id) {
            warns.push(iss.node.field_diag(
                "stakeholder_id",
                format!("stakeholder `{}` is not in the package's stakeholders", iss.stakeholder_id),
            ));
        }
        let amount = match token.parse(&iss.quantity.canonical()) {
            Ok(a) => a,
            Err(e) => {
                errs.push(iss.node.field_diag("quantity", e.to_string()));
                continue;
            }
        };
        if amount.is_zero() {
            errs.push(iss.node.field_diag("quantity", "a vesting grant's quantity must be positive"));
            continue;
        }
        let schedule = if let Some((vestings, vnode)) = &iss.vestings {
            explicit_schedule(iss, vestings, vnode, &token, amount, &mut errs)
        } else if let Some((terms_id, tnode)) = &iss.terms_id {
            match terms_index.get(terms_id) {
                None => {
                    errs.push(
                        tnode.diag(format!("unknown vesting terms `{terms_id}` for security `{}`", iss.security_id)),
                    );
                    None
                }
                Some(&ti) if terms[ti].broken => None,
                Some(&ti) => terms_schedule(iss, &terms[ti], &txs, as_of, &mut errs, &mut warns),
            }
        } else {
            None
        };
        let Some(schedule) = schedule else {
            continue;
        };
        grants.push(OcfGrant {
            grant: Grant {
                id: iss.security_id.clone(),
                holder: iss.stakeholder_id.clone(),
                amount,
                schedule,
                performance: Vec::new(),
                events: Vec::new(),
            },
            issued: iss.issued,
        });
    }
    for (security, node) in &txs.accelerations {
        if seen_securities.contains_key(security) {
            warns.push(node.diag(format!(
                "the acceleration of security `{security}` is not imported; only its vesting schedule is"
            )));
        }
    }

    if !errs.is_empty() {
        return Err(errs);
    }
    match (issuer, as_of, generated_at) {
        (Some(issuer), Some(as_of), Some(generated_at)) => Ok(OcfImport {
            package: OcfPackage { issuer, as_of, generated_at, token, stakeholders, grants },
            warnings: warns,
        }),
        // INVARIANT: each missing part pushed a diagnostic above, so errs was not empty.
        _ => Err(vec![Diagnostic::new(manifest_path, None, "the manifest is incomplete")]),
    }
}

/// An issuance's explicit `vestings` as a custom schedule weighted by the exact amounts.
fn explicit_schedule(
    iss: &Issuance<'_>,
    vestings: &[Vesting<'_>],
    vnode: &Node<'_>,
    token: &Token,
    total: TokenAmount,
    errs: &mut Vec<Diagnostic>,
) -> Option<Schedule> {
    let before = errs.len();
    let mut rows: Vec<(Date, u128)> = Vec::new();
    for v in vestings {
        match token.parse(&v.amount.canonical()) {
            Ok(a) => rows.push((v.date, a.base_units())),
            Err(e) => errs.push(v.node.field_diag("amount", e.to_string())),
        }
    }
    if errs.len() > before {
        return None;
    }
    rows.sort_by_key(|r| r.0);
    let mut merged: Vec<(Date, u128)> = Vec::new();
    let mut sum: u128 = 0;
    for (d, a) in rows {
        sum = sum.saturating_add(a);
        match merged.last_mut() {
            Some(last) if last.0 == d => last.1 = last.1.saturating_add(a),
            _ => merged.push((d, a)),
        }
    }
    if sum != total.base_units() {
        errs.push(vnode.diag(format!(
            "the vestings of security `{}` add up to {}, but its quantity is {}",
            iss.security_id,
            token.format(TokenAmount::from_base_units(sum)),
            token.format(total)
        )));
        return None;
    }
    merged.retain(|r| r.1 > 0);
    let g = merged.iter().fold(0, |g, r| gcd(g, r.1)).max(1);
    for r in &mut merged {
        r.1 /= g;
    }
    match Custom::with_allocation(&merged, Allocation::CumulativeRoundDown) {
        Ok(c) => Some(Schedule::Custom(c)),
        Err(e) => {
            errs.push(vnode.diag(format!("security `{}`: {e}", iss.security_id)));
            None
        }
    }
}

/// One condition on the taken path: its occurrence dates and the share of the quantity each
/// occurrence vests.
struct Step {
    cond: usize,
    dates: Vec<Date>,
    per: Ratio,
    cliff: u32,
}

struct Path {
    steps: Vec<Step>,
    vested: Ratio,
    /// Event successors that could not fire because no event was recorded.
    skipped_events: Vec<usize>,
    /// Those of them that could still happen before the successor taken instead (which
    /// fires after the package's `as_of`), and so might change the path.
    pending_events: Vec<usize>,
    /// Relative successors whose anchor is not on the path.
    stuck: Vec<usize>,
}

/// Occurrence `k` of a relative condition anchored at `anchor`. This is the anchor month plus
/// `k × length`, with the day rule applied again (seed = the vesting start day), or the anchor
/// plus `k × length` days. Returns `None` past the engine's last date.
fn occurrence(anchor: Date, r: &Rel, k: u32, seed: u8) -> Option<Date> {
    let offset = i64::from(k) * i64::from(r.length);
    match r.unit {
        Unit::Months => {
            let base = calendar::month_index(i32::from(anchor.year()), anchor.month().unsigned_abs());
            let last = calendar::month_index(i32::from(MAX_DATE.year()), MAX_DATE.month().unsigned_abs());
            let mi = i64::from(base) + offset;
            if mi > i64::from(last) {
                return None;
            }
            let (y, m) = calendar::from_month_index(i32::try_from(mi).ok()?);
            let dim = calendar::days_in_month(y, m);
            let d = match r.day_of_month {
                DayOfMonth::Day(d) => d.min(dim),
                DayOfMonth::OrLast(d) => d.min(dim),
                DayOfMonth::VestingStartDayOrLast => seed.min(dim),
            };
            Some(calendar::to_date(calendar::day_from_civil(y, m, d)))
        }
        Unit::Days => {
            let day = i64::from(calendar::to_day(anchor)) + offset;
            if day > i64::from(calendar::to_day(MAX_DATE)) {
                return None;
            }
            Some(calendar::to_date(i32::try_from(day).ok()?))
        }
    }
}

fn too_large(node: &Node<'_>, security: &str) -> Diagnostic {
    node.diag(format!("security `{security}`: the portions are too large to compute exactly"))
}

/// Walks the condition graph of `t` for one security and returns the path it takes.
fn walk(
    t: &Terms<'_>,
    iss: &Issuance<'_>,
    q: Ratio,
    start: Option<&VestingTx<'_>>,
    events: &HashMap<&str, Date>,
    as_of: Option<Date>,
) -> Result<Path, Diagnostic> {
    let security = iss.security_id.as_str();
    let index = t.index();
    let head = match start {
        Some(st) => match index.get(st.condition_id.as_str()) {
            None => {
                return Err(st.node.field_diag(
                    "vesting_condition_id",
                    format!(
                        "condition `{}` is not in vesting terms `{}` of security `{security}`",
                        st.condition_id, t.id
                    ),
                ));
            }
            Some(&i) if !matches!(t.conds[i].trigger, Trig::Start) => {
                return Err(st.node.field_diag(
                    "vesting_condition_id",
                    format!(
                        "condition `{}` of vesting terms `{}` is not a VESTING_START_DATE condition",
                        st.condition_id, t.id
                    ),
                ));
            }
            Some(&i) => i,
        },
        None => {
            let mut targeted = vec![false; t.conds.len()];
            for c in &t.conds {
                for n in &c.next {
                    if let Some(&j) = index.get(n.as_str()) {
                        targeted[j] = true;
                    }
                }
            }
            let Some(i) = targeted.iter().position(|x| !x) else {
                return Err(t.node.field_diag(
                    "vesting_conditions",
                    "every condition follows another: the terms have no first condition",
                ));
            };
            i
        }
    };
    let head_cond = &t.conds[head];
    let head_date = match &head_cond.trigger {
        Trig::Start => match start {
            Some(st) => st.date,
            None => {
                return Err(iss.node.diag(format!(
                    "security `{security}` has no TX_VESTING_START for condition `{}` of vesting terms `{}`, so its vesting has no start date",
                    head_cond.id, t.id
                )));
            }
        },
        Trig::Absolute(d) => *d,
        Trig::Event => match events.get(head_cond.id.as_str()) {
            Some(d) => *d,
            None => {
                return Err(head_cond.node.diag(format!(
                    "security `{security}`: vesting terms `{}` start with event condition `{}`, which has no TX_VESTING_EVENT for this security; an event that has not happened has no date to schedule",
                    t.id, head_cond.id
                )));
            }
        },
        Trig::Relative(r) => {
            return Err(head_cond.node.diag(format!(
                "condition `{}` comes first in vesting terms `{}` but is relative to `{}`, which cannot have happened before it",
                head_cond.id, t.id, r.relative_to
            )));
        }
    };
    let seed = head_date.day().unsigned_abs();
    let mut fired: HashMap<usize, Date> = HashMap::new();
    let mut visited = vec![false; t.conds.len()];
    let mut path = Path {
        steps: Vec::new(),
        vested: Ratio::ZERO,
        skipped_events: Vec::new(),
        pending_events: Vec::new(),
        stuck: Vec::new(),
    };
    let mut installments: u64 = 0;
    let mut cur = head;
    let mut dates = vec![head_date];
    loop {
        visited[cur] = true;
        let cond = &t.conds[cur];
        let count = u128::try_from(dates.len()).unwrap_or(u128::MAX);
        let per = match cond.amount {
            Amount::Portion { ratio, remainder: false } => Some(ratio),
            Amount::Portion { ratio, remainder: true } => match Ratio::ONE.sub(path.vested) {
                Some(left) => ratio.mul(left),
                None => {
                    return Err(cond.node.diag(format!(
                        "security `{security}`: the conditions before `{}` already vest more than the whole quantity",
                        cond.id
                    )));
                }
            },
            Amount::Quantity(x) => x.div(q),
        }
        .ok_or_else(|| too_large(&cond.node, security))?;
        path.vested = per
            .mul(Ratio::int(count))
            .and_then(|v| path.vested.add(v))
            .ok_or_else(|| too_large(&cond.node, security))?;
        let cliff = match &cond.trigger {
            Trig::Relative(r) if r.cliff_installment >= 2 => r.cliff_installment,
            _ => 0,
        };
        let last = dates.last().copied().unwrap_or(head_date);
        fired.insert(cur, last);
        path.steps.push(Step { cond: cur, dates: std::mem::take(&mut dates), per, cliff });

        // The successor that fires first; ties go to the one listed first.
        let mut best: Option<(Date, usize)> = None;
        let mut unrecorded: Vec<usize> = Vec::new();
        for id in &cond.next {
            let Some(&j) = index.get(id.as_str()) else {
                continue;
            };
            if visited[j] {
                return Err(cond.node.diag(format!("condition `{id}` is reached twice")));
            }
            let first = match &t.conds[j].trigger {
                Trig::Start => None,
                Trig::Absolute(d) => Some(*d),
                Trig::Event => {
                    let e = events.get(id.as_str()).copied();
                    if e.is_none() {
                        unrecorded.push(j);
                    }
                    e
                }
                Trig::Relative(r) => {
                    let anchor = index.get(r.relative_to.as_str()).and_then(|a| fired.get(a));
                    match anchor {
                        Some(a) => Some(
                            occurrence(*a, r, 1, seed)
                                .ok_or_else(|| past_max(&t.conds[j].node, security, &t.conds[j].id))?,
                        ),
                        None => {
                            path.stuck.push(j);
                            None
                        }
                    }
                }
            };
            if let Some(d) = first {
                let d = d.max(last);
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, j));
                }
            }
        }
        for &j in &unrecorded {
            if !path.skipped_events.contains(&j) {
                path.skipped_events.push(j);
            }
        }
        let Some((first, j)) = best else {
            break;
        };
        if as_of.is_none_or(|a| first > a) {
            path.pending_events.extend(unrecorded);
        }
        let next = &t.conds[j];
        dates = match &next.trigger {
            Trig::Relative(r) => {
                installments += u64::from(r.occurrences);
                if installments > MAX_INSTALLMENTS {
                    return Err(next.node.diag(format!(
                        "security `{security}`: the schedule has more than {MAX_INSTALLMENTS} installments"
                    )));
                }
                let anchor = index.get(r.relative_to.as_str()).and_then(|a| fired.get(a)).copied().unwrap_or(last);
                (1..=r.occurrences)
                    .map(|k| occurrence(anchor, r, k, seed).map(|d| d.max(last)))
                    .collect::<Option<Vec<Date>>>()
                    .ok_or_else(|| past_max(&next.node, security, &next.id))?
            }
            _ => vec![first],
        };
        cur = j;
    }
    Ok(path)
}

fn past_max(node: &Node<'_>, security: &str, id: &str) -> Diagnostic {
    node.diag(format!(
        "security `{security}`: condition `{id}` falls after {MAX_DATE}, the latest date the engine supports"
    ))
}

/// An issuance's schedule from its vesting terms.
fn terms_schedule(
    iss: &Issuance<'_>,
    t: &Terms<'_>,
    txs: &Transactions<'_>,
    as_of: Option<Date>,
    errs: &mut Vec<Diagnostic>,
    warns: &mut Vec<Diagnostic>,
) -> Option<Schedule> {
    let security = iss.security_id.as_str();
    let starts = txs.starts.get(security).map_or(&[][..], Vec::as_slice);
    if let Some(second) = starts.get(1) {
        errs.push(second.node.diag(format!("security `{security}` has more than one TX_VESTING_START")));
        return None;
    }
    let mut events: HashMap<&str, Date> = HashMap::new();
    for e in txs.events.get(security).map_or(&[][..], Vec::as_slice) {
        if events.insert(e.condition_id.as_str(), e.date).is_some() {
            errs.push(e.node.diag(format!(
                "condition `{}` of security `{security}` has more than one TX_VESTING_EVENT",
                e.condition_id
            )));
            return None;
        }
    }
    let Some(q) = iss.quantity.ratio() else {
        errs.push(iss.node.field_diag("quantity", "the quantity has too many digits"));
        return None;
    };
    let path = match walk(t, iss, q, starts.first(), &events, as_of) {
        Ok(p) => p,
        Err(d) => {
            errs.push(d);
            return None;
        }
    };
    let names: Vec<&str> = path.steps.iter().map(|s| t.conds[s.cond].id.as_str()).collect();
    let route = names.join(" → ");
    let quote = |ids: &[usize]| -> String {
        ids.iter().map(|&i| format!("`{}`", t.conds[i].id)).collect::<Vec<_>>().join(", ")
    };
    if path.vested != Ratio::ONE {
        let d = if path.vested.n > path.vested.d {
            t.node.field_diag(
                "vesting_conditions",
                format!(
                    "security `{security}`: the path {route} of vesting terms `{}` vests {} of the quantity, more than all of it",
                    t.id, path.vested
                ),
            )
        } else if let Some(&first) = path.skipped_events.first() {
            t.conds[first].node.diag(format!(
                "security `{security}`: vesting terms `{}` vest only {} of the quantity by time (path {route}); the rest depends on event condition {}, which has no TX_VESTING_EVENT for this security, and an event that has not happened has no date to schedule",
                t.id,
                path.vested,
                quote(&path.skipped_events)
            ))
        } else if let Some(&first) = path.stuck.first() {
            t.conds[first].node.diag(format!(
                "security `{security}`: vesting terms `{}` vest only {} of the quantity (path {route}); condition {} is relative to a condition that is not on the path, so it never fires",
                t.id,
                path.vested,
                quote(&path.stuck)
            ))
        } else {
            t.node.field_diag(
                "vesting_conditions",
                format!(
                    "security `{security}`: the path {route} of vesting terms `{}` vests {} of the quantity, not all of it",
                    t.id, path.vested
                ),
            )
        };
        errs.push(d);
        return None;
    }
    if let Some(&first) = path.pending_events.first() {
        warns.push(t.conds[first].node.diag(format!(
            "security `{security}`: event condition {} has no TX_VESTING_EVENT and is skipped; the grant follows the time-based path {route}, which an event before its next step would change",
            quote(&path.pending_events)
        )));
    }

    // Ticks: (date, share of the quantity), a cliff_installment paying the first c together.
    let mut ticks: Vec<(Date, Ratio)> = Vec::new();
    for s in &path.steps {
        let c = usize::try_from(s.cliff).unwrap_or(0);
        for (k, d) in s.dates.iter().enumerate() {
            if c >= 2 && k + 1 < c {
                continue;
            }
            let share = if c >= 2 && k + 1 == c { s.per.mul(Ratio::int(u128::from(s.cliff))) } else { Some(s.per) };
            let Some(share) = share else {
                errs.push(too_large(&t.node, security));
                return None;
            };
            ticks.push((*d, share));
        }
    }
    ticks.sort_by_key(|x| x.0);
    let mut merged: Vec<(Date, Ratio)> = Vec::new();
    for (d, r) in ticks {
        match merged.last_mut() {
            Some(last) if last.0 == d => match last.1.add(r) {
                Some(x) => last.1 = x,
                None => {
                    errs.push(too_large(&t.node, security));
                    return None;
                }
            },
            _ => merged.push((d, r)),
        }
    }
    merged.retain(|x| !x.1.is_zero());

    let start = starts.first().map(|s| s.date);
    if let Some(cal) = start.and_then(|s| as_calendar(t, &path, s)) {
        let from = cal.cliff().max(1);
        let same = merged.len() == usize::try_from(cal.occurrences() - from + 1).unwrap_or(0)
            && merged.iter().zip(from..=cal.occurrences()).all(|(tick, k)| tick.0 == cal.installment_date(k));
        if same {
            return Some(Schedule::Calendar(cal));
        }
    }

    // Custom: exact shares over a common denominator.
    let mut l: u128 = 1;
    for (_, r) in &merged {
        let Some(next) = (l / gcd(l, r.d)).checked_mul(r.d) else {
            errs.push(too_large(&t.node, security));
            return None;
        };
        l = next;
    }
    let mut tranches = Vec::with_capacity(merged.len());
    for (d, r) in &merged {
        let Some(w) = r.n.checked_mul(l / r.d) else {
            errs.push(too_large(&t.node, security));
            return None;
        };
        tranches.push((*d, w));
    }
    let g = tranches.iter().fold(0, |g, x| gcd(g, x.1)).max(1);
    for x in &mut tranches {
        x.1 /= g;
    }
    match Custom::with_allocation(&tranches, t.allocation) {
        Ok(c) => Some(Schedule::Custom(c)),
        Err(e) => {
            errs.push(iss.node.diag(format!("security `{security}` with vesting terms `{}`: {e}", t.id)));
            None
        }
    }
}

/// The calendar a path describes, when it is one of the three calendar chains:
/// start → periodic (1/N × N, optional `cliff_installment`), or start → cliff (c/N after
/// c periods) → periodic (1/N × (N − c)).
fn as_calendar(t: &Terms<'_>, path: &Path, start: Date) -> Option<Calendar> {
    let rel = |s: &Step| match &t.conds[s.cond].trigger {
        Trig::Relative(r) => Some(r.clone()),
        _ => None,
    };
    let head = path.steps.first()?;
    if !matches!(t.conds[head.cond].trigger, Trig::Start) || !head.per.is_zero() {
        return None;
    }
    let head_id = t.conds[head.cond].id.as_str();
    let period = |r: &Rel, len: u32| match r.unit {
        Unit::Months => Period::Months(len),
        Unit::Days => Period::Days(len),
    };
    let (period, n, cliff, dom) = match &path.steps[1..] {
        [p] => {
            let r = rel(p)?;
            let n = r.occurrences;
            if r.relative_to != head_id || r.length == 0 || p.per != Ratio::new(1, u128::from(n))? {
                return None;
            }
            (period(&r, r.length), n, r.cliff_installment, r.day_of_month)
        }
        [c, p] => {
            let (rc, rp) = (rel(c)?, rel(p)?);
            if rc.relative_to != head_id
                || rp.relative_to != t.conds[c.cond].id
                || rc.occurrences != 1
                || rc.unit != rp.unit
                || rp.length == 0
                || rp.cliff_installment >= 2
                || rc.length % rp.length != 0
                || (rc.unit == Unit::Months && rc.day_of_month != rp.day_of_month)
            {
                return None;
            }
            let k = rc.length / rp.length;
            let n = k.checked_add(rp.occurrences)?;
            let n128 = u128::from(n);
            if k == 0 || c.per != Ratio::new(u128::from(k), n128)? || p.per != Ratio::new(1, n128)? {
                return None;
            }
            (period(&rp, rp.length), n, k, rp.day_of_month)
        }
        _ => return None,
    };
    let cliff = if cliff >= 2 { cliff } else { 0 };
    let dom = match period {
        Period::Days(_) => DayOfMonth::VestingStartDayOrLast,
        Period::Months(_) => dom,
    };
    Calendar::new(start, period, n, cliff, dom, t.allocation).ok()
}

// ------------------------------------------------------------------------------------------
// Writing
// ------------------------------------------------------------------------------------------

/// A schedule as an OCF `VESTING_TERMS` object with the given id. A calendar is written in
/// the classic v1.2.0 form: a `vesting-start` condition (which the security's
/// `TX_VESTING_START` names), then an optional `cliff`, then `installments`. Dated tranches
/// become a chain of `VESTING_SCHEDULE_ABSOLUTE` conditions with exact portions.
pub fn write_vesting_terms(id: &str, schedule: &Schedule) -> Result<Value, OcfWriteError> {
    let (name, description, allocation, conditions) = match schedule {
        Schedule::Linear(_) => return Err(OcfWriteError::Linear { id: id.to_owned() }),
        Schedule::Calendar(c) => calendar_conditions(c),
        Schedule::Custom(c) => custom_conditions(c),
    };
    Ok(json!({
        "id": id,
        "object_type": "VESTING_TERMS",
        "name": name,
        "description": description,
        "allocation_type": allocation.ocf_name(),
        "vesting_conditions": conditions,
    }))
}

/// The id of the start condition of every calendar the writer emits.
pub const START_CONDITION_ID: &str = "vesting-start";

fn calendar_conditions(c: &Calendar) -> (String, String, Allocation, Vec<Value>) {
    let (len, unit, months) = match c.period() {
        Period::Months(n) => (n, "MONTHS", true),
        Period::Days(n) => (n, "DAYS", false),
    };
    let n = c.occurrences();
    let cliff = if c.cliff() >= 2 { c.cliff() } else { 0 };
    let dom = c.day_of_month().ocf_name();
    let relative = |length: u64, occurrences: u32, to: &str| -> Value {
        let mut p = Map::new();
        p.insert("length".into(), json!(length));
        p.insert("type".into(), json!(unit));
        p.insert("occurrences".into(), json!(occurrences));
        if months {
            p.insert("day_of_month".into(), json!(dom));
        }
        json!({
            "type": "VESTING_SCHEDULE_RELATIVE",
            "period": Value::Object(p),
            "relative_to_condition_id": to,
        })
    };
    let portion = |num: u32| json!({"numerator": num.to_string(), "denominator": n.to_string()});
    let len64 = u64::from(len);
    let unit_word = if months { "month" } else { "day" };
    let every = if len == 1 { format!("every {unit_word}") } else { format!("every {len} {unit_word}s") };
    let first = if cliff >= 2 { "cliff" } else { "installments" };
    let mut conds = vec![json!({
        "id": START_CONDITION_ID,
        "description": "Vesting commencement date",
        "quantity": "0",
        "trigger": {"type": "VESTING_START_DATE"},
        "next_condition_ids": [first],
    })];
    if cliff >= 2 {
        let rest: Vec<&str> = if cliff < n { vec!["installments"] } else { vec![] };
        conds.push(json!({
            "id": "cliff",
            "description": format!("{cliff}/{n} at installment {cliff}"),
            "portion": portion(cliff),
            "trigger": relative(len64 * u64::from(cliff), 1, START_CONDITION_ID),
            "next_condition_ids": rest,
        }));
    }
    if cliff < n {
        let (count, to) = if cliff >= 2 { (n - cliff, "cliff") } else { (n, START_CONDITION_ID) };
        conds.push(json!({
            "id": "installments",
            "description": format!("1/{n} {every}"),
            "portion": portion(1),
            "trigger": relative(len64, count, to),
            "next_condition_ids": [],
        }));
    }
    let name = if cliff >= 2 {
        format!("{n} installments {every}, cliff at installment {cliff}")
    } else {
        format!("{n} installments {every}")
    };
    let day = match (months, c.day_of_month()) {
        (false, _) => String::new(),
        (true, DayOfMonth::Day(d)) => format!(" on day {d} of the month"),
        (true, DayOfMonth::OrLast(d)) => {
            format!(" on day {d} of the month, or the month's last day when it is shorter")
        }
        (true, DayOfMonth::VestingStartDayOrLast) => {
            " on the vesting start's day of the month, or the month's last day when it is shorter".to_owned()
        }
    };
    let cliff_text = if cliff >= 2 {
        format!(" The first {cliff} installments vest together at installment {cliff}.")
    } else {
        String::new()
    };
    let description =
        format!("The shares vest in {n} installments, one {every} after the vesting start{day}.{cliff_text}");
    (name, description, c.allocation(), conds)
}

fn custom_conditions(c: &Custom) -> (String, String, Allocation, Vec<Value>) {
    let total = c.total_weight().to_string();
    let tranches: Vec<(Date, u128)> = c.tranches().collect();
    let n = tranches.len();
    let conds = tranches
        .iter()
        .enumerate()
        .map(|(i, (date, w))| {
            let next: Vec<String> = if i + 1 < n { vec![format!("tranche-{}", i + 2)] } else { vec![] };
            json!({
                "id": format!("tranche-{}", i + 1),
                "description": format!("{w}/{total} on {date}"),
                "portion": {"numerator": w.to_string(), "denominator": total},
                "trigger": {"type": "VESTING_SCHEDULE_ABSOLUTE", "date": date.to_string()},
                "next_condition_ids": next,
            })
        })
        .collect();
    let name = format!("{n} dated tranches");
    let description = format!("The shares vest in {n} tranches on fixed dates, each its portion of the total.");
    (name, description, c.allocation(), conds)
}

/// The OCF quantity string of an amount: whole tokens, at most 10 decimals.
fn quantity(token: &Token, amount: TokenAmount, id: &str) -> Result<String, OcfWriteError> {
    let s = token.format(amount);
    if s.split_once('.').is_some_and(|(_, f)| f.len() > 10) {
        return Err(OcfWriteError::TooPrecise { id: id.to_owned(), decimals: token.decimals() });
    }
    Ok(s)
}

fn to_text(v: &Value) -> Result<String, OcfWriteError> {
    serde_json::to_string_pretty(v).map(|s| s + "\n").map_err(|e| OcfWriteError::Json(e.to_string()))
}

/// Writes a whole package as `(path relative to the package folder, file text)` pairs:
/// `Manifest.ocf.json` first, then `VestingTerms.ocf.json`, `Transactions.ocf.json` and
/// `Stakeholders.ocf.json`. Each grant becomes an RSU `TX_EQUITY_COMPENSATION_ISSUANCE`
/// (security id = grant id), and calendar grants also get a `TX_VESTING_START`. Grants with
/// the same terms share one terms object. Holders missing from `stakeholders` are written as
/// individuals named by their id. Quantities are written in `package.token`. To read them
/// back as the same base units, use [`read_package_with_token`] with that token. Lifecycle
/// events and performance tranches cannot be exported, so they are refused.
pub fn write_package(package: &OcfPackage) -> Result<Vec<(String, String)>, OcfWriteError> {
    let mut terms: Vec<Value> = Vec::new();
    let mut bodies: Vec<Value> = Vec::new();
    let mut txs: Vec<Value> = Vec::new();
    let mut ids: HashSet<&str> = HashSet::new();
    for g in &package.grants {
        let grant = &g.grant;
        if !ids.insert(&grant.id) {
            return Err(OcfWriteError::DuplicateGrant { id: grant.id.clone() });
        }
        if !grant.events.is_empty() || !grant.performance.is_empty() {
            return Err(OcfWriteError::Lifecycle { id: grant.id.clone() });
        }
        let body =
            write_vesting_terms("", &grant.schedule).map_err(|_| OcfWriteError::Linear { id: grant.id.clone() })?;
        let terms_id = match bodies.iter().position(|b| *b == body) {
            Some(i) => format!("terms-{}", i + 1),
            None => {
                let id = format!("terms-{}", bodies.len() + 1);
                let mut t = body.clone();
                t["id"] = json!(id);
                terms.push(t);
                bodies.push(body);
                id
            }
        };
        txs.push(json!({
            "object_type": "TX_EQUITY_COMPENSATION_ISSUANCE",
            "id": format!("issuance-{}", grant.id),
            "security_id": grant.id,
            "date": g.issued.to_string(),
            "custom_id": grant.id,
            "stakeholder_id": grant.holder,
            "security_law_exemptions": [],
            "compensation_type": "RSU",
            "quantity": quantity(&package.token, grant.amount, &grant.id)?,
            "vesting_terms_id": terms_id,
            "expiration_date": null,
            "termination_exercise_windows": [],
        }));
        if let Schedule::Calendar(c) = &grant.schedule {
            txs.push(json!({
                "object_type": "TX_VESTING_START",
                "id": format!("vesting-start-{}", grant.id),
                "security_id": grant.id,
                "date": c.start().to_string(),
                "vesting_condition_id": START_CONDITION_ID,
            }));
        }
    }
    let mut stakeholders: Vec<Value> = Vec::new();
    let mut named: HashSet<&str> = HashSet::new();
    let individual = |s: StakeholderType| match s {
        StakeholderType::Individual => "INDIVIDUAL",
        StakeholderType::Institution => "INSTITUTION",
    };
    for s in &package.stakeholders {
        named.insert(&s.id);
        stakeholders.push(json!({
            "object_type": "STAKEHOLDER",
            "id": s.id,
            "name": {"legal_name": s.legal_name},
            "stakeholder_type": individual(s.stakeholder_type),
        }));
    }
    for g in &package.grants {
        if named.insert(&g.grant.holder) {
            stakeholders.push(json!({
                "object_type": "STAKEHOLDER",
                "id": g.grant.holder,
                "name": {"legal_name": g.grant.holder},
                "stakeholder_type": "INDIVIDUAL",
            }));
        }
    }
    let wrap = |file_type: &str, items: Vec<Value>| json!({"file_type": file_type, "items": items});
    let files = [
        ("VestingTerms.ocf.json", to_text(&wrap("OCF_VESTING_TERMS_FILE", terms))?),
        ("Transactions.ocf.json", to_text(&wrap("OCF_TRANSACTIONS_FILE", txs))?),
        ("Stakeholders.ocf.json", to_text(&wrap("OCF_STAKEHOLDERS_FILE", stakeholders))?),
    ];
    let entry = |i: usize| json!([{"filepath": files[i].0, "md5": md5_hex(files[i].1.as_bytes())}]);
    let issuer = &package.issuer;
    let manifest = json!({
        "ocf_version": OCF_VERSION,
        "file_type": "OCF_MANIFEST_FILE",
        "issuer": {
            "object_type": "ISSUER",
            "id": issuer.id,
            "legal_name": issuer.legal_name,
            "formation_date": issuer.formation_date.to_string(),
            "country_of_formation": issuer.country_of_formation,
        },
        "as_of": package.as_of.to_string(),
        "generated_at": package.generated_at.to_string(),
        "stock_plans_files": [],
        "stock_legend_templates_files": [],
        "stock_classes_files": [],
        "vesting_terms_files": entry(0),
        "valuations_files": [],
        "transactions_files": entry(1),
        "stakeholders_files": entry(2),
    });
    let mut out = vec![("Manifest.ocf.json".to_owned(), to_text(&manifest)?)];
    out.extend(files.into_iter().map(|(p, t)| (p.to_owned(), t)));
    Ok(out)
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
