//! The rules of milestone attestations, without the cryptography: the oracle registry (keys,
//! rotation, revocation), the nonces already spent, the milestones (a predicate over an attested
//! metric, a subject and a deadline, an optional k-of-n quorum) and which of them were applied.
//!
//! The chain crate recovers the signer of an EIP-712 attestation and hands it here with the
//! claim; this module decides, with the same named reasons the contract uses, and records what an
//! accepted application spends. It never verifies a signature, hashes anything or reads a clock:
//! the recovered signer and `now` (unix seconds) are parameters.
//!
//! Values are the metric in 18-decimal fixed point, the full `int256` range, compared exactly.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use ruint::aliases::U256;

/// A metric's value: an `int256` in 18-decimal fixed point (0.8123 is 812300000000000000), held
/// as its two's-complement bits, as the contract holds it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fixed18(U256);

/// 10^18, one whole unit of a [`Fixed18`].
const ONE: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);
/// The sign bit of an `int256`.
const SIGN: U256 = U256::from_limbs([0, 0, 0, 1 << 63]);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("{text:?} is not a decimal number")]
    Malformed { text: String },
    #[error("{text:?} has more than 18 decimals; a metric is attested in 18-decimal fixed point and never rounded")]
    TooManyDecimals { text: String },
    #[error("{text:?} is out of the int256 range of an attested value")]
    OutOfRange { text: String },
    #[error("a JSON {kind} is not a number")]
    NotANumber { kind: &'static str },
}

impl Fixed18 {
    pub const ZERO: Fixed18 = Fixed18(U256::ZERO);

    /// The value from its `int256` two's-complement bits (big-endian), as ABI encoding holds it.
    pub fn from_be_bytes(bytes: [u8; 32]) -> Fixed18 {
        Fixed18(U256::from_be_bytes(bytes))
    }

    pub fn to_be_bytes(self) -> [u8; 32] {
        self.0.to_be_bytes()
    }

    pub fn is_negative(self) -> bool {
        self.0.bit(255)
    }

    /// The absolute value in base units (2^255 for the most negative value, which fits a U256).
    fn magnitude(self) -> U256 {
        if self.is_negative() { self.0.wrapping_neg() } else { self.0 }
    }

    fn from_sign_magnitude(negative: bool, magnitude: U256, text: &str) -> Result<Fixed18, ValueError> {
        let out_of_range = || ValueError::OutOfRange { text: text.to_owned() };
        if negative {
            // The most negative int256 is -2^255, whose magnitude is exactly the sign bit.
            if magnitude > SIGN {
                return Err(out_of_range());
            }
            Ok(Fixed18(magnitude.wrapping_neg()))
        } else if magnitude >= SIGN {
            Err(out_of_range())
        } else {
            Ok(Fixed18(magnitude))
        }
    }

    /// Base units as a signed decimal integer (`"812300000000000000"`, `"-5"`): how a value
    /// crosses JSON and how the contract's `int256` is written.
    pub fn parse_units(text: &str) -> Result<Fixed18, ValueError> {
        let malformed = || ValueError::Malformed { text: text.to_owned() };
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        let magnitude =
            U256::from_str_radix(digits, 10).map_err(|_| ValueError::OutOfRange { text: text.to_owned() })?;
        Fixed18::from_sign_magnitude(negative, magnitude, text)
    }

    /// A metric as people and result files write it (`"0.8123"`, `"81.2"`, `"-3"`, `"8.123e-1"`),
    /// exactly: more than 18 significant decimals is refused, never rounded (trailing zeros
    /// do not count), and so is a value beyond the `int256` range.
    pub fn parse_decimal(text: &str) -> Result<Fixed18, ValueError> {
        let malformed = || ValueError::Malformed { text: text.to_owned() };
        let out_of_range = || ValueError::OutOfRange { text: text.to_owned() };
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => {
                let e = &rest[i + 1..];
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(malformed());
                }
                (&rest[..i], e.parse::<i32>().map_err(|_| malformed())?)
            }
            None => (rest, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !is_digits(whole) || !is_digits(fraction) {
            return Err(malformed());
        }
        let fraction = fraction.trim_end_matches('0');
        let all: String = format!("{whole}{fraction}");
        let all = all.trim_start_matches('0');
        // The value is `all` × 10^(exponent − decimals); it is scaled to 18 decimals.
        let decimals = i32::try_from(fraction.len()).map_err(|_| malformed())? - exponent;
        let shift = 18 - decimals;
        if all.is_empty() {
            return Ok(Fixed18::ZERO);
        }
        if shift < 0 {
            return Err(ValueError::TooManyDecimals { text: text.to_owned() });
        }
        let mut magnitude = U256::from_str_radix(all, 10).map_err(|_| out_of_range())?;
        for _ in 0..shift {
            magnitude = magnitude.checked_mul(U256::from(10u8)).ok_or_else(out_of_range)?;
        }
        Fixed18::from_sign_magnitude(negative, magnitude, text)
    }

    /// Base units as a signed decimal integer (the inverse of [`parse_units`](Self::parse_units)).
    pub fn units(self) -> String {
        let m = self.magnitude();
        if self.is_negative() { format!("-{m}") } else { m.to_string() }
    }
}

impl Ord for Fixed18 {
    // Flipping the sign bit turns two's-complement order into unsigned order.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0 ^ SIGN).cmp(&(other.0 ^ SIGN))
    }
}

impl PartialOrd for Fixed18 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The decimal form, with as few fraction digits as the value needs (`0.8123`, `-3`, `0`).
impl fmt::Display for Fixed18 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.magnitude();
        let (whole, fraction) = m.div_rem(ONE);
        let sign = if self.is_negative() { "-" } else { "" };
        if fraction.is_zero() {
            return write!(f, "{sign}{whole}");
        }
        let digits = format!("{fraction:0>18}");
        write!(f, "{sign}{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl fmt::Debug for Fixed18 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fixed18({self})")
    }
}

/// A 20-byte Ethereum address (an oracle's key), as the chain crate recovers it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signer(pub [u8; 20]);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an address (0x and 40 hex digits)")]
pub struct SignerError {
    pub text: String,
}

impl FromStr for Signer {
    type Err = SignerError;

    fn from_str(text: &str) -> Result<Signer, SignerError> {
        let bad = || SignerError { text: text.to_owned() };
        let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).ok_or_else(bad)?;
        if digits.len() != 40 {
            return Err(bad());
        }
        let mut out = [0u8; 20];
        for (i, pair) in digits.as_bytes().chunks(2).enumerate() {
            let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
            out[i] = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(Signer(out))
    }
}

/// Lower-case 0x hex.
impl fmt::Display for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("0x")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({self})")
    }
}

/// Why an attestation (or a set of them, for a quorum) is refused. The names are stable: the
/// ledger records them, the CLI prints them and the contract reverts with the same ones. The
/// variants are listed in the order they are checked; the first that applies is the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rejection {
    /// The chain id the submission was signed for is not this chain's.
    WrongChain,
    /// The verifying contract it was signed for is not this one.
    WrongContract,
    /// The signature is malformed (length, v, high s) or recovers to another address than the
    /// claimed `oracle`.
    BadSignature,
    /// The signer is no oracle's key (at `now`).
    UnregisteredOracle,
    /// The signer's key was revoked, or rotated away from, at or before `now`.
    RevokedOracle,
    /// `expiresAt ≤ now`.
    Expired,
    /// The oracle already spent this nonce.
    ReplayedNonce,
    /// No milestone has this id.
    UnknownMilestone,
    /// The subject is not the milestone's (`grant:<id>` or `team:<id>`).
    WrongSubject,
    /// The metric is not the one the milestone's predicate reads.
    WrongMetric,
    /// Observed after the milestone's deadline.
    PastDeadline,
    /// The value fails the milestone's predicate.
    BelowThreshold,
    /// Fewer than k distinct registered oracles attested a passing value.
    QuorumNotMet,
    /// The milestone's effect was already applied.
    AlreadyApplied,
}

impl Rejection {
    pub const ALL: [Rejection; 14] = [
        Rejection::WrongChain,
        Rejection::WrongContract,
        Rejection::BadSignature,
        Rejection::UnregisteredOracle,
        Rejection::RevokedOracle,
        Rejection::Expired,
        Rejection::ReplayedNonce,
        Rejection::UnknownMilestone,
        Rejection::WrongSubject,
        Rejection::WrongMetric,
        Rejection::PastDeadline,
        Rejection::BelowThreshold,
        Rejection::QuorumNotMet,
        Rejection::AlreadyApplied,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::WrongChain => "wrong_chain",
            Rejection::WrongContract => "wrong_contract",
            Rejection::BadSignature => "bad_signature",
            Rejection::UnregisteredOracle => "unregistered_oracle",
            Rejection::RevokedOracle => "revoked_oracle",
            Rejection::Expired => "expired",
            Rejection::ReplayedNonce => "replayed_nonce",
            Rejection::UnknownMilestone => "unknown_milestone",
            Rejection::WrongSubject => "wrong_subject",
            Rejection::WrongMetric => "wrong_metric",
            Rejection::PastDeadline => "past_deadline",
            Rejection::BelowThreshold => "below_threshold",
            Rejection::QuorumNotMet => "quorum_not_met",
            Rejection::AlreadyApplied => "already_applied",
        }
    }

    pub fn parse(name: &str) -> Option<Rejection> {
        Rejection::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Rejection {}

/// A set of attestations refused: the reason, and which attestation of the set it is about
/// (`None` for the set as a whole: quorum and already applied).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}{}", index.map(|i| format!(" (attestation {i})")).unwrap_or_default())]
pub struct Refused {
    pub reason: Rejection,
    pub index: Option<usize>,
}

/// What an attestation says, field for field as the EIP-712 `Attestation` struct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub milestone: String,
    pub metric: String,
    pub value: Fixed18,
    /// `grant:<id>` or `team:<id>`.
    pub subject: String,
    pub observed_at: u64,
    pub expires_at: u64,
    /// The claimed signer.
    pub oracle: Signer,
    pub nonce: u64,
}

/// Who a milestone is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    Grant(String),
    Team(String),
}

impl Subject {
    /// `grant:<id>` or `team:<id>` with a non-empty id.
    pub fn parse(text: &str) -> Option<Subject> {
        let (kind, id) = text.split_once(':')?;
        if id.is_empty() {
            return None;
        }
        match kind {
            "grant" => Some(Subject::Grant(id.to_owned())),
            "team" => Some(Subject::Team(id.to_owned())),
            _ => None,
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Grant(id) => write!(f, "grant:{id}"),
            Subject::Team(id) => write!(f, "team:{id}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comparison {
    Gte,
    Gt,
    Lte,
    Lt,
    Eq,
}

impl Comparison {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Gte => "gte",
            Comparison::Gt => "gt",
            Comparison::Lte => "lte",
            Comparison::Lt => "lt",
            Comparison::Eq => "eq",
        }
    }

    pub fn parse(name: &str) -> Option<Comparison> {
        [Comparison::Gte, Comparison::Gt, Comparison::Lte, Comparison::Lt, Comparison::Eq]
            .into_iter()
            .find(|c| c.as_str() == name)
    }

    /// `value <comparison> threshold`.
    pub fn holds(self, value: Fixed18, threshold: Fixed18) -> bool {
        match self {
            Comparison::Gte => value >= threshold,
            Comparison::Gt => value > threshold,
            Comparison::Lte => value <= threshold,
            Comparison::Lt => value < threshold,
            Comparison::Eq => value == threshold,
        }
    }
}

/// A milestone's condition: a predicate over an attested metric about a subject, observed by a
/// deadline, attested by `quorum` distinct oracles (1 for a single signer). Its effect belongs to
/// the grant's terms (`MilestoneEffect`); graded effects read [`Met::value`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Milestone {
    pub id: String,
    pub metric: String,
    pub comparison: Comparison,
    pub threshold: Fixed18,
    pub subject: Subject,
    /// The last instant (unix seconds) an observation counts for.
    pub deadline: u64,
    /// k of a k-of-n quorum; at least 1.
    pub quorum: u32,
}

impl Milestone {
    pub fn passes(&self, value: Fixed18) -> bool {
        self.comparison.holds(value, self.threshold)
    }
}

/// One key of an oracle: valid from `from`, until `until` (rotation or revocation), exclusive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleKey {
    pub address: Signer,
    pub from: u64,
    pub until: Option<u64>,
}

/// What the registry says about an address at an instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    Unregistered,
    Active {
        oracle: String,
    },
    /// Revoked, or replaced by a rotation, at `since`.
    Revoked {
        oracle: String,
        since: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("oracle {oracle:?} is already registered")]
    AlreadyRegistered { oracle: String },
    #[error("no oracle {oracle:?} is registered")]
    UnknownOracle { oracle: String },
    #[error("{address} is already a key of oracle {oracle:?}; a key is never reused")]
    AddressInUse { address: Signer, oracle: String },
    #[error("oracle {oracle:?} has no active key")]
    NoActiveKey { oracle: String },
    #[error("oracle {oracle:?}: {at} is before its current key's registration at {from}")]
    Backwards { oracle: String, at: u64, from: u64 },
}

/// Oracles by id, each with its keys in order; the last may be active. Rotation ends the
/// current key and starts a new one at the same instant; revocation ends it with no successor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registry {
    oracles: BTreeMap<String, Vec<OracleKey>>,
    owner: BTreeMap<Signer, String>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// A new oracle with its first key, valid from `at`.
    pub fn register(&mut self, oracle: &str, address: Signer, at: u64) -> Result<(), RegistryError> {
        if self.oracles.contains_key(oracle) {
            return Err(RegistryError::AlreadyRegistered { oracle: oracle.to_owned() });
        }
        self.claim_address(oracle, address)?;
        self.oracles.insert(oracle.to_owned(), vec![OracleKey { address, from: at, until: None }]);
        Ok(())
    }

    /// Replaces the oracle's active key by `address` at `at`: the old key counts as revoked from
    /// then on, the new one is valid from then on.
    /// An oracle whose key was revoked gets a new one the same way.
    pub fn rotate(&mut self, oracle: &str, address: Signer, at: u64) -> Result<(), RegistryError> {
        if let Some(owner) = self.owner.get(&address) {
            return Err(RegistryError::AddressInUse { address, oracle: owner.clone() });
        }
        match self.end_active(oracle, at) {
            Ok(()) | Err(RegistryError::NoActiveKey { .. }) => {}
            Err(e) => return Err(e),
        }
        self.claim_address(oracle, address)?;
        if let Some(keys) = self.oracles.get_mut(oracle) {
            keys.push(OracleKey { address, from: at, until: None });
        }
        Ok(())
    }

    /// Revokes the oracle's active key from `at`; the oracle signs nothing more until a
    /// rotation gives it a new key.
    pub fn revoke(&mut self, oracle: &str, at: u64) -> Result<(), RegistryError> {
        self.end_active(oracle, at)
    }

    fn claim_address(&mut self, oracle: &str, address: Signer) -> Result<(), RegistryError> {
        if let Some(owner) = self.owner.get(&address) {
            return Err(RegistryError::AddressInUse { address, oracle: owner.clone() });
        }
        self.owner.insert(address, oracle.to_owned());
        Ok(())
    }

    /// Ends the active key at `at` (not before it began).
    fn end_active(&mut self, oracle: &str, at: u64) -> Result<(), RegistryError> {
        let keys =
            self.oracles.get_mut(oracle).ok_or_else(|| RegistryError::UnknownOracle { oracle: oracle.to_owned() })?;
        match keys.last_mut() {
            Some(k) if k.until.is_none() => {
                if at < k.from {
                    return Err(RegistryError::Backwards { oracle: oracle.to_owned(), at, from: k.from });
                }
                k.until = Some(at);
                Ok(())
            }
            _ => Err(RegistryError::NoActiveKey { oracle: oracle.to_owned() }),
        }
    }

    /// Every oracle with its keys, oldest first, by oracle id.
    pub fn oracles(&self) -> impl Iterator<Item = (&str, &[OracleKey])> {
        self.oracles.iter().map(|(id, keys)| (id.as_str(), keys.as_slice()))
    }

    /// The oracle's keys, oldest first.
    pub fn keys(&self, oracle: &str) -> Option<&[OracleKey]> {
        self.oracles.get(oracle).map(Vec::as_slice)
    }

    /// What `address` is at `at`: a key not yet valid at `at` is unregistered then.
    pub fn status(&self, address: Signer, at: u64) -> KeyStatus {
        let Some(oracle) = self.owner.get(&address) else { return KeyStatus::Unregistered };
        let key = self.oracles.get(oracle).and_then(|keys| keys.iter().find(|k| k.address == address));
        match key {
            Some(k) if at < k.from => KeyStatus::Unregistered,
            Some(OracleKey { until: Some(until), .. }) if at >= *until => {
                KeyStatus::Revoked { oracle: oracle.clone(), since: *until }
            }
            Some(_) => KeyStatus::Active { oracle: oracle.clone() },
            None => KeyStatus::Unregistered,
        }
    }
}

/// A milestone met: what its effect is applied with, once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Met {
    pub milestone: String,
    /// The lower median of the passing values (for an even count, the smaller of the two middle
    /// ones), so it is always an attested value and needs no division; with one signer, its value.
    pub value: Fixed18,
    /// The oracles (ids) whose attestations counted, sorted.
    pub oracles: Vec<String>,
    /// When it was applied.
    pub at: u64,
}

/// The state attestations are checked against and change: the registry, the milestones, the
/// nonces each oracle key spent, and the milestones already applied.
#[derive(Clone, Debug, Default)]
pub struct Book {
    pub registry: Registry,
    milestones: BTreeMap<String, Milestone>,
    nonces: BTreeSet<(Signer, u64)>,
    applied: BTreeMap<String, Met>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MilestoneError {
    #[error("milestone {id:?} is already defined")]
    Duplicate { id: String },
    #[error("milestone {id:?}: a quorum is at least 1")]
    ZeroQuorum { id: String },
}

impl Book {
    pub fn new(registry: Registry) -> Book {
        Book { registry, ..Book::default() }
    }

    pub fn add_milestone(&mut self, milestone: Milestone) -> Result<(), MilestoneError> {
        if milestone.quorum == 0 {
            return Err(MilestoneError::ZeroQuorum { id: milestone.id });
        }
        if self.milestones.contains_key(&milestone.id) {
            return Err(MilestoneError::Duplicate { id: milestone.id });
        }
        self.milestones.insert(milestone.id.clone(), milestone);
        Ok(())
    }

    pub fn milestone(&self, id: &str) -> Option<&Milestone> {
        self.milestones.get(id)
    }

    pub fn applied(&self, milestone: &str) -> Option<&Met> {
        self.applied.get(milestone)
    }

    /// Restores what an earlier `apply` did (as a ledger recorded it): the milestone met and
    /// the nonces its set spent. Nothing is checked; the ledger checked it when it recorded it.
    pub fn restore(&mut self, met: Met, nonces: impl IntoIterator<Item = (Signer, u64)>) {
        self.nonces.extend(nonces);
        self.applied.insert(met.milestone.clone(), met);
    }

    pub fn nonce_spent(&self, oracle: Signer, nonce: u64) -> bool {
        self.nonces.contains(&(oracle, nonce))
    }

    /// Checks one attestation whose signature recovered to `signer`, in the order of
    /// [`Rejection`] from `bad_signature` to `below_threshold`, and returns the oracle id of its
    /// key. Nothing is recorded.
    pub fn check(&self, claim: &Claim, signer: Signer, now: u64) -> Result<String, Rejection> {
        if signer != claim.oracle {
            return Err(Rejection::BadSignature);
        }
        let oracle = match self.registry.status(signer, now) {
            KeyStatus::Unregistered => return Err(Rejection::UnregisteredOracle),
            KeyStatus::Revoked { .. } => return Err(Rejection::RevokedOracle),
            KeyStatus::Active { oracle } => oracle,
        };
        if claim.expires_at <= now {
            return Err(Rejection::Expired);
        }
        if self.nonce_spent(signer, claim.nonce) {
            return Err(Rejection::ReplayedNonce);
        }
        let milestone = self.milestones.get(&claim.milestone).ok_or(Rejection::UnknownMilestone)?;
        if Subject::parse(&claim.subject).as_ref() != Some(&milestone.subject) {
            return Err(Rejection::WrongSubject);
        }
        if claim.metric != milestone.metric {
            return Err(Rejection::WrongMetric);
        }
        if claim.observed_at > milestone.deadline {
            return Err(Rejection::PastDeadline);
        }
        if !milestone.passes(claim.value) {
            return Err(Rejection::BelowThreshold);
        }
        Ok(oracle)
    }

    /// Applies `milestone` from a set of attestations (each with its recovered signer), all or
    /// nothing: every attestation must pass [`check`](Self::check) and be about this milestone
    /// (one about another is `unknown_milestone` here), no nonce may appear twice, at least
    /// `quorum` distinct oracles must have attested, and the milestone must not have been
    /// applied. On success the nonces are spent and the milestone is marked applied; on a
    /// refusal nothing changes.
    pub fn apply(&mut self, milestone: &str, set: &[(Claim, Signer)], now: u64) -> Result<Met, Refused> {
        self.apply_verified(milestone, set.iter().map(|(c, s)| Ok((c, *s))), now)
    }

    /// [`apply`](Self::apply) over attestations whose signature checks ran first: an `Err` is
    /// that attestation's refusal (wrong chain, wrong contract, bad signature), reported at its
    /// index once the ones before it passed, as the contract walks a set.
    pub fn apply_verified<'c>(
        &mut self,
        milestone: &str,
        set: impl IntoIterator<Item = Result<(&'c Claim, Signer), Rejection>>,
        now: u64,
    ) -> Result<Met, Refused> {
        let at = |index: usize| move |reason: Rejection| Refused { reason, index: Some(index) };
        let mut spent = BTreeSet::new();
        let mut votes: BTreeMap<String, Fixed18> = BTreeMap::new();
        for (i, verified) in set.into_iter().enumerate() {
            let (claim, signer) = verified.map_err(at(i))?;
            let oracle = self.check(claim, signer, now).map_err(at(i))?;
            if claim.milestone != milestone {
                return Err(at(i)(Rejection::UnknownMilestone));
            }
            if !spent.insert((signer, claim.nonce)) {
                return Err(at(i)(Rejection::ReplayedNonce));
            }
            // An oracle that attests twice counts once, with its first value.
            votes.entry(oracle).or_insert(claim.value);
        }
        let Some(m) = self.milestones.get(milestone) else {
            return Err(Refused { reason: Rejection::UnknownMilestone, index: None });
        };
        let need = usize::try_from(m.quorum).unwrap_or(usize::MAX);
        if votes.len() < need {
            return Err(Refused { reason: Rejection::QuorumNotMet, index: None });
        }
        if self.applied.contains_key(milestone) {
            return Err(Refused { reason: Rejection::AlreadyApplied, index: None });
        }
        let mut values: Vec<Fixed18> = votes.values().copied().collect();
        values.sort_unstable();
        // INVARIANT: votes.len() ≥ quorum ≥ 1, so the list is not empty.
        let value = values[(values.len() - 1) / 2];
        let met = Met { milestone: milestone.to_owned(), value, oracles: votes.into_keys().collect(), at: now };
        self.nonces.extend(spent);
        self.applied.insert(milestone.to_owned(), met.clone());
        Ok(met)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn d(text: &str) -> Fixed18 {
        Fixed18::parse_decimal(text).unwrap()
    }

    #[test]
    fn decimals_are_read_exactly_and_refused_rather_than_rounded() {
        assert_eq!(d("0.8123").units(), "812300000000000000");
        assert_eq!(d("81.2").units(), "81200000000000000000");
        assert_eq!(d("-3").units(), "-3000000000000000000");
        assert_eq!(d("8.123e-1"), d("0.8123"));
        assert_eq!(d("1E2"), d("100"));
        assert_eq!(d(".5"), d("0.5"));
        assert_eq!(d("0.000000000000000001").units(), "1");
        // Trailing zeros are no decimals: nothing is rounded.
        assert_eq!(d("0.10000000000000000000"), d("0.1"));
        assert_eq!(d("-0"), Fixed18::ZERO);
        for bad in ["", "-", ".", "1.2.3", "0x10", "1e", "1e+", "abc", "1 ", "--1", "1e99999"] {
            assert!(matches!(Fixed18::parse_decimal(bad), Err(ValueError::Malformed { .. })), "{bad}");
        }
        assert!(matches!(Fixed18::parse_decimal("0.0000000000000000001"), Err(ValueError::TooManyDecimals { .. })));
        assert!(matches!(Fixed18::parse_decimal("1e-19"), Err(ValueError::TooManyDecimals { .. })));
        // int256's largest is 2^255 − 1 ≈ 5.79e76 base units, i.e. ≈ 5.79e58 whole units.
        assert!(matches!(Fixed18::parse_decimal("1e59"), Err(ValueError::OutOfRange { .. })));
        assert!(Fixed18::parse_decimal("1e58").is_ok());
    }

    #[test]
    fn units_cover_the_int256_range_and_order_as_signed() {
        let max = "57896044618658097711785492504343953926634992332820282019728792003956564819967";
        let min = "-57896044618658097711785492504343953926634992332820282019728792003956564819968";
        assert_eq!(Fixed18::parse_units(max).unwrap().units(), max);
        assert_eq!(Fixed18::parse_units(min).unwrap().units(), min);
        assert!(Fixed18::parse_units(&max.replace("967", "968")).is_err());
        assert!(Fixed18::parse_units(&min.replace("968", "969")).is_err());
        assert!(Fixed18::parse_units("1.5").is_err() && Fixed18::parse_units("+1").is_err());
        let mut v: Vec<Fixed18> =
            ["3", "-1", "0", min, max, "-2"].iter().map(|s| Fixed18::parse_units(s).unwrap()).collect();
        v.sort();
        let sorted: Vec<String> = v.iter().map(|x| x.units()).collect();
        assert_eq!(sorted, [min, "-2", "-1", "0", "3", max]);
        assert_eq!(Fixed18::parse_units("-1").unwrap().to_be_bytes(), [0xff; 32]);
        assert_eq!(d("-0.8123").to_string(), "-0.8123");
        assert_eq!(d("12").to_string(), "12");
    }

    #[test]
    fn signers_and_subjects_parse() {
        let s: Signer = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23".parse().unwrap();
        assert_eq!(s.to_string(), "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23");
        for bad in
            ["", "0x12", "2c7536E3605D9C16a7a3D7b1898e529396a65c23", "0xzz7536E3605D9C16a7a3D7b1898e529396a65c23"]
        {
            assert!(bad.parse::<Signer>().is_err(), "{bad}");
        }
        assert_eq!(Subject::parse("grant:g-1"), Some(Subject::Grant("g-1".into())));
        assert_eq!(Subject::parse("team:ml").map(|s| s.to_string()), Some("team:ml".into()));
        for bad in ["grant:", "person:x", "g-1", ""] {
            assert_eq!(Subject::parse(bad), None, "{bad}");
        }
        for r in Rejection::ALL {
            assert_eq!(Rejection::parse(r.as_str()), Some(r));
        }
    }

    const A: Signer = Signer([0xa1; 20]);
    const B: Signer = Signer([0xb1; 20]);
    const C: Signer = Signer([0xc1; 20]);
    const STRANGER: Signer = Signer([0xee; 20]);
    const NOW: u64 = 1_000;

    fn book(quorum: u32) -> Book {
        let mut r = Registry::new();
        r.register("alpha", A, 0).unwrap();
        r.register("beta", B, 0).unwrap();
        r.register("gamma", C, 0).unwrap();
        let mut b = Book::new(r);
        b.add_milestone(Milestone {
            id: "mmlu".into(),
            metric: "mmlu/acc".into(),
            comparison: Comparison::Gte,
            threshold: d("0.8"),
            subject: Subject::Grant("g-1".into()),
            deadline: 900,
            quorum,
        })
        .unwrap();
        b
    }

    fn claim(oracle: Signer, value: &str, nonce: u64) -> Claim {
        Claim {
            milestone: "mmlu".into(),
            metric: "mmlu/acc".into(),
            value: d(value),
            subject: "grant:g-1".into(),
            observed_at: 800,
            expires_at: 2_000,
            oracle,
            nonce,
        }
    }

    #[test]
    fn each_rule_is_told_apart_by_its_reason() {
        let mut b = book(1);
        b.registry.rotate("beta", Signer([0xb2; 20]), 500).unwrap();
        b.registry.revoke("gamma", 1_000).unwrap();
        let ok = claim(A, "0.81", 1);
        assert_eq!(b.check(&ok, A, NOW), Ok("alpha".into()));
        let with = |f: &dyn Fn(&mut Claim)| {
            let mut c = ok.clone();
            f(&mut c);
            c
        };
        let cases: Vec<(Claim, Signer, Rejection)> = vec![
            (ok.clone(), B, Rejection::BadSignature),
            (with(&|c| c.oracle = STRANGER), STRANGER, Rejection::UnregisteredOracle),
            // beta's first key was rotated away at 500; gamma's key revoked at exactly now.
            (with(&|c| c.oracle = B), B, Rejection::RevokedOracle),
            (with(&|c| c.oracle = C), C, Rejection::RevokedOracle),
            (with(&|c| c.expires_at = NOW), A, Rejection::Expired),
            (with(&|c| c.milestone = "helm".into()), A, Rejection::UnknownMilestone),
            (with(&|c| c.subject = "grant:g-2".into()), A, Rejection::WrongSubject),
            (with(&|c| c.subject = "g-1".into()), A, Rejection::WrongSubject),
            (with(&|c| c.metric = "mmlu/acc_norm".into()), A, Rejection::WrongMetric),
            (with(&|c| c.observed_at = 901), A, Rejection::PastDeadline),
            (with(&|c| c.value = d("0.799999999999999999")), A, Rejection::BelowThreshold),
        ];
        for (c, signer, want) in &cases {
            assert_eq!(b.check(c, *signer, NOW), Err(*want), "{want}");
            assert_eq!(b.apply("mmlu", &[(c.clone(), *signer)], NOW).unwrap_err().reason, *want);
        }
        // The rotated-to key is beta's now; before its registration it was nobody's.
        let new_b = with(&|c| c.oracle = Signer([0xb2; 20]));
        assert_eq!(b.check(&new_b, Signer([0xb2; 20]), NOW), Ok("beta".into()));
        assert_eq!(b.check(&new_b, Signer([0xb2; 20]), 499), Err(Rejection::UnregisteredOracle));
        // Before its revocation gamma's key was good.
        assert_eq!(b.check(&with(&|c| c.oracle = C), C, NOW - 1), Ok("gamma".into()));
        // Nothing refused changed anything: the good claim applies, once.
        let met = b.apply("mmlu", &[(ok.clone(), A)], NOW).unwrap();
        assert_eq!((met.value, met.oracles.clone()), (d("0.81"), vec!["alpha".to_owned()]));
        assert_eq!(b.apply("mmlu", &[(ok.clone(), A)], NOW).unwrap_err().reason, Rejection::ReplayedNonce);
        let fresh = with(&|c| c.nonce = 2);
        assert_eq!(
            b.apply("mmlu", &[(fresh, A)], NOW),
            Err(Refused { reason: Rejection::AlreadyApplied, index: None })
        );
        assert_eq!(b.applied("mmlu"), Some(&met));
    }

    #[test]
    fn a_quorum_counts_distinct_oracles_and_grades_by_the_lower_median() {
        let mut b = book(3);
        let a = claim(A, "0.95", 1);
        let bb = claim(B, "0.81", 1);
        let c = claim(C, "0.90", 1);
        let quorum = |r: Result<Met, Refused>| r.unwrap_err().reason;
        assert_eq!(quorum(b.apply("mmlu", &[(a.clone(), A), (bb.clone(), B)], NOW)), Rejection::QuorumNotMet);
        // The same oracle twice (another nonce) counts once.
        let a_again = claim(A, "0.99", 2);
        assert_eq!(
            quorum(b.apply("mmlu", &[(a.clone(), A), (a_again, A), (bb.clone(), B)], NOW)),
            Rejection::QuorumNotMet
        );
        // The same nonce twice in a set is a replay of the second.
        assert_eq!(
            b.apply("mmlu", &[(a.clone(), A), (a.clone(), A)], NOW),
            Err(Refused { reason: Rejection::ReplayedNonce, index: Some(1) })
        );
        // One failing value refuses the set, naming it.
        let low = claim(C, "0.5", 1);
        assert_eq!(
            b.apply("mmlu", &[(a.clone(), A), (bb.clone(), B), (low, C)], NOW),
            Err(Refused { reason: Rejection::BelowThreshold, index: Some(2) })
        );
        assert!(b.applied("mmlu").is_none() && !b.nonce_spent(A, 1));
        // 0.81, 0.90, 0.95: the median is 0.90.
        let met = b.apply("mmlu", &[(a.clone(), A), (bb.clone(), B), (c.clone(), C)], NOW).unwrap();
        assert_eq!(met.value, d("0.90"));
        assert_eq!(met.oracles, ["alpha", "beta", "gamma"]);
        assert!(b.nonce_spent(A, 1) && b.nonce_spent(B, 1) && b.nonce_spent(C, 1));
        // Four values 0.81, 0.85, 0.90, 0.95 with k = 2: the lower median is 0.85.
        let mut r = Registry::new();
        for (i, s) in [A, B, C, STRANGER].into_iter().enumerate() {
            r.register(&format!("o{i}"), s, 0).unwrap();
        }
        let mut b4 = Book::new(r);
        b4.add_milestone(Milestone { quorum: 2, ..book(1).milestone("mmlu").unwrap().clone() }).unwrap();
        let set = [(a, A), (bb, B), (c, C), (claim(STRANGER, "0.85", 9), STRANGER)];
        assert_eq!(b4.apply("mmlu", &set, NOW).unwrap().value, d("0.85"));
    }

    #[test]
    fn the_registry_refuses_reused_keys_and_unknown_oracles() {
        let mut r = Registry::new();
        r.register("alpha", A, 10).unwrap();
        assert_eq!(r.register("alpha", B, 10), Err(RegistryError::AlreadyRegistered { oracle: "alpha".into() }));
        assert_eq!(r.register("beta", A, 10), Err(RegistryError::AddressInUse { address: A, oracle: "alpha".into() }));
        assert_eq!(r.rotate("nobody", B, 10), Err(RegistryError::UnknownOracle { oracle: "nobody".into() }));
        assert_eq!(r.rotate("alpha", B, 5), Err(RegistryError::Backwards { oracle: "alpha".into(), at: 5, from: 10 }));
        r.revoke("alpha", 20).unwrap();
        assert_eq!(r.revoke("alpha", 30), Err(RegistryError::NoActiveKey { oracle: "alpha".into() }));
        assert_eq!(r.status(A, 19), KeyStatus::Active { oracle: "alpha".into() });
        assert_eq!(r.status(A, 20), KeyStatus::Revoked { oracle: "alpha".into(), since: 20 });
        assert_eq!(r.status(A, 9), KeyStatus::Unregistered);
        // A revoked key never comes back, even by rotation; a fresh key does.
        assert!(r.rotate("alpha", A, 30).is_err());
        assert_eq!(r.keys("alpha").map(<[OracleKey]>::len), Some(1));
        r.rotate("alpha", B, 30).unwrap();
        assert_eq!(r.status(B, 30), KeyStatus::Active { oracle: "alpha".into() });
        assert_eq!(r.status(A, 30), KeyStatus::Revoked { oracle: "alpha".into(), since: 20 });
    }
}
