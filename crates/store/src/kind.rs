//! The ledger's event kinds: typed in memory, stored as the same strings as always.

/// What an event records. The ledger's `kind` column holds [`EventKind::as_str`]; reading a row
/// parses it back with [`EventKind::parse`], and a kind this version does not know is an error
/// naming the event, never a default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    Company,
    Token,
    Tokenomics,
    Person,
    Price,
    PriceCorrected,
    Fx,
    Twap,
    Sale,
    PayrollClosed,
    GrantIssued,
    GrantCorrected,
    GrantEvent,
    GrantEventReversed,
    Vest,
    VestReversal,
    Forfeiture,
    ForfeitureReversal,
    PeriodRun,
    Milestone,
    Oracle,
    Attestation,
    GovDelegation,
    GovProposal,
    GovBallot,
    RulesAdded,
    WalletProven,
    WalletCancelled,
}

/// A kind string this version does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind `{0}`")]
pub struct UnknownKind(pub String);

impl EventKind {
    /// Every kind, in the order above.
    pub const ALL: [EventKind; 28] = [
        EventKind::Company,
        EventKind::Token,
        EventKind::Tokenomics,
        EventKind::Person,
        EventKind::Price,
        EventKind::PriceCorrected,
        EventKind::Fx,
        EventKind::Twap,
        EventKind::Sale,
        EventKind::PayrollClosed,
        EventKind::GrantIssued,
        EventKind::GrantCorrected,
        EventKind::GrantEvent,
        EventKind::GrantEventReversed,
        EventKind::Vest,
        EventKind::VestReversal,
        EventKind::Forfeiture,
        EventKind::ForfeitureReversal,
        EventKind::PeriodRun,
        EventKind::Milestone,
        EventKind::Oracle,
        EventKind::Attestation,
        EventKind::GovDelegation,
        EventKind::GovProposal,
        EventKind::GovBallot,
        EventKind::RulesAdded,
        EventKind::WalletProven,
        EventKind::WalletCancelled,
    ];

    /// The stored form (hashed as it is: these strings never change).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Company => "company",
            EventKind::Token => "token",
            EventKind::Tokenomics => "tokenomics",
            EventKind::Person => "person",
            EventKind::Price => "price",
            EventKind::PriceCorrected => "price.corrected",
            EventKind::Fx => "fx",
            EventKind::Twap => "twap",
            EventKind::Sale => "sale",
            EventKind::PayrollClosed => "payroll.closed",
            EventKind::GrantIssued => "grant.issued",
            EventKind::GrantCorrected => "grant.corrected",
            EventKind::GrantEvent => "grant.event",
            EventKind::GrantEventReversed => "grant.event_reversed",
            EventKind::Vest => "vest",
            EventKind::VestReversal => "vest.reversal",
            EventKind::Forfeiture => "forfeiture",
            EventKind::ForfeitureReversal => "forfeiture.reversal",
            EventKind::PeriodRun => "period.run",
            EventKind::Milestone => "milestone",
            EventKind::Oracle => "oracle",
            EventKind::Attestation => "attestation",
            EventKind::GovDelegation => "gov.delegation",
            EventKind::GovProposal => "gov.proposal",
            EventKind::GovBallot => "gov.ballot",
            EventKind::RulesAdded => "rules.added",
            EventKind::WalletProven => "wallet.proven",
            EventKind::WalletCancelled => "wallet.cancelled",
        }
    }

    /// The kind a stored string names.
    pub fn parse(text: &str) -> Result<EventKind, UnknownKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == text).ok_or_else(|| UnknownKind(text.to_owned()))
    }

    /// The kind of a stored event (`seq`, `id`), or the error that names it.
    pub(crate) fn stored(seq: i64, id: &str, text: &str) -> Result<EventKind, crate::StoreError> {
        EventKind::parse(text).map_err(|e| crate::StoreError::Corrupt(format!("event {seq} ({id}): {e}")))
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<EventKind, UnknownKind> {
        EventKind::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_back_from_its_stored_form_and_others_are_refused() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Ok(k));
            assert_eq!(k.as_str().parse::<EventKind>(), Ok(k));
        }
        let names: std::collections::BTreeSet<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), EventKind::ALL.len(), "stored forms are distinct");
        for bad in ["", "Vest", "vest ", "bonus.paid", "grant"] {
            assert_eq!(EventKind::parse(bad), Err(UnknownKind(bad.to_owned())));
        }
        assert_eq!(EventKind::parse("bonus.paid").expect_err("unknown").to_string(), "unknown kind `bonus.paid`");
        let err = EventKind::stored(7, "bonus:ada", "bonus.paid").expect_err("unknown");
        assert_eq!(err.to_string(), "the ledger is damaged: event 7 (bonus:ada): unknown kind `bonus.paid`");
    }
}
