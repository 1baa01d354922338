//! The ledger's vocabulary: which facts are recorded, how each is encoded as an event, and
//! how a company's state is folded back from the events with the core engine.
//!
//! Event ids are deterministic, so loading the same thing twice is a no-op and a re-run after
//! a crash writes exactly what an uninterrupted run would have:
//! - `company:<hash>`, `token:<hash>`, `person:<id>:<hash>`: settings and people, addressed by
//!   content (a change is a new event; the latest wins);
//! - `price:<currency>:<date>`: one close per day (a different close, or volume, for a recorded
//!   day is a conflict); `fx:<currency>:<date>`: one rate per day, likewise;
//! - `twap:<date>`: a Uniswap V2 pair's price cumulative at the end of the day, one per day
//!   (a different point for a recorded day is a conflict);
//! - `grant:<id>` issues a grant, `grant:<id>:terms:<hash>` corrects its terms,
//!   `grant:<id>:event:<event>` adds a lifecycle event, `…:reversed` reverses one;
//! - `vest:<grant>:<date>:<reason>:<period>`, `forfeit:…`: what a period run recognized (a
//!   later run records only differences, as new or reversing entries);
//! - `period:<id>`: the period's run is complete (written in the same transaction), with the
//!   hash of the rule set it ran under (`rules`, absent in older ledgers);
//! - `rules:<sha256>`: a rules file the company recorded (`rules add`), verbatim; recorded again
//!   after a later file overrode it, `rules:<sha256>:<n>`;
//! - `sale:<id>`: a sale of tokens from a person's wallet (the amount column is the amount sold);
//! - `wallet:<person>:<message hash>`: a wallet the person proved by signing a SIWE message,
//!   in effect from its `effective_at`; `…:cancelled`: that change cancelled before then;
//! - `payroll:<period>:closed`: the period's payroll export, frozen;
//! - `tokenomics:<hash>`: the `[tokenomics]` section, addressed by content (a changed section
//!   is a new event; the latest wins; read back through the company-file parser like grants).
//! - `gov.delegation:<from>:<effective>:<to or ->`: a delegation of voting power from a date
//!   on (`-` revokes); `gov.proposal:<id>`: a proposal (checked again when folded);
//!   `gov.ballot:<proposal>:<voter>:<cast_at>`: a ballot (a later one of the voter replaces it
//!   in the tally, and both stay in the ledger). What a new one may be is checked by
//!   [`crate::gov::validate_gov`] before it is appended.
//!
//! Keys added after the first ledgers (the company's policy, a person's salary and wallet, a
//! price's volume) are written only when they are set, and read as their defaults when absent:
//! an old ledger folds, and re-recording an unchanged company, person or price gives the same
//! event (the same id and payload) as before, never a conflict.
//!
//! Grant terms and events are stored as canonical TOML (`tokencomp_formats::canonical`) and read
//! back through the company-file parser, so the ledger never holds a grant that would not
//! pass every check.//!
//! - [`fact`]: the facts and the events that record them;
//! - [`read`]: reading an event's payload back, field by field, and why one cannot be read;
//! - [`fold`]: the company's state folded from every event;
//! - [`origin`]: where each event came from (a file, the CLI, the API);
//! - [`revert`]: latest-wins facts recorded again after a change.

mod fact;
mod fold;
pub mod origin;
mod read;
mod revert;
mod wallets;

pub use fact::{Accepted, AttestationRecord, Fact, OracleAction, Overrides, SALE_SELECTIONS, SaleRecord};
pub use fold::{Company, DelegationRecord, Governance, GrantRecord, render};
pub use read::FoldError;
pub use revert::{distinct_reverts, latest_wins};
pub use wallets::{WalletProof, typed_wallet_refused};

/// Every key a payload may have (used to name the differing field of a conflict).
pub const PAYLOAD_KEYS: &[&str] = &[
    "name",
    "time_zone",
    "pay_frequency",
    "demo_through",
    "symbol",
    "decimals",
    "chain_id",
    "address",
    "id",
    "email",
    "kind",
    "country",
    "region",
    "hired",
    "date",
    "close",
    "currency",
    "grant",
    "holder",
    "terms",
    "event",
    "event_id",
    "amount",
    "reason",
    "period",
    "start",
    "end",
    "vests",
    "forfeitures",
    "withholding_method",
    "sale_fee_bps",
    "slippage_bps",
    "fmv",
    "fmv_days",
    "attribution",
    "classification",
    "flat_withholding",
    "salary",
    "wallet",
    "tax",
    "origin",
    "volume",
    "per_usd",
    "person",
    "price",
    "fee",
    "selection",
    "lots",
    "rows",
    "digest",
    "anchor",
    "pair",
    "at",
    "cumulative",
    "token_decimals",
    "quote_decimals",
    "block",
    "milestone",
    "oracle",
    "action",
    "status",
    "submission",
    "value",
    "signer",
    "nonce",
    "met_value",
    "oracles",
    "from",
    "to",
    "effective",
    "title",
    "description",
    "snapshot_date",
    "opens",
    "closes",
    "quorum_bps",
    "unvested_weight_bps",
    "proposal",
    "voter",
    "choice",
    "cast_at",
    "set_reason",
    "overrides",
    "text",
    "sha256",
    "rules",
    "message_hash",
    "proven_at",
    "effective_at",
    "wallet_change_delay_hours",
    "require_proven_wallets",
];
