//! Wallets people prove (issue 18, item 3): an employee registers or changes their wallet by
//! signing a Sign-In with Ethereum (EIP-4361) message with it.
//!
//! [`challenge`] writes the message (the server's host, the company's chain id, a single-use
//! nonce kept in the store until it expires); [`prove`] checks a signed one and records the
//! proof, in effect after the company's `wallet_change_delay_hours`; [`cancel`] withdraws a
//! change before then; [`effective_wallet`] is what the chain part pays when the company sets
//! `require_proven_wallets`; [`notices`] is what the notices part sends about it.
//!
//! No clock and no randomness here: now comes in a [`Stamp`] (or as a parameter), the nonce from
//! the face. A refusal is `Error::Invalid` whose field names the reason (`message.domain`,
//! `message.nonce`, …) and records nothing.

use alloy_primitives::Address;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokencomp_chain::siwe::{self, Message};
use tokencomp_store::Store;
use tokencomp_store::ledger::{Company, Fact, WalletProof};

use crate::ledger::{Stamp, record, record_checked};
use crate::{Error, Result};

/// How long a challenge's nonce (and its message) stays valid.
pub const CHALLENGE_TTL: SignedDuration = SignedDuration::from_mins(10);

/// What the message asks the person to agree to.
pub const STATEMENT: &str = "Prove that this wallet is mine: tokencomp pays my vested tokens to it.";

/// Where the server is reached, as the person's browser sees it: the SIWE domain (host and
/// optional port, the server's configured public host) and the URI the message names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub domain: String,
    pub uri: String,
}

/// The message `person` is to sign with `address`, with its nonce kept until it expires.
pub fn challenge(
    store: &mut dyn Store,
    company: &Company,
    at: &Origin,
    person: &str,
    address: &str,
    nonce: &str,
    now: Timestamp,
) -> Result<String> {
    if !company.people.contains_key(person) {
        return Err(Error::not_found(format!("no person `{person}`"), "person"));
    }
    let address: Address = address.trim().parse().map_err(|_| {
        Error::invalid(format!("`{address}` is not an Ethereum address (0x and 40 hex digits)"), "body.address")
    })?;
    let message = Message {
        scheme: None,
        domain: at.domain.clone(),
        address,
        statement: Some(STATEMENT.to_owned()),
        uri: at.uri.clone(),
        version: "1".to_owned(),
        chain_id: crate::chain::chain_id(company),
        nonce: nonce.to_owned(),
        issued_at: whole_seconds(now),
        expiration_time: Some(whole_seconds(now + CHALLENGE_TTL)),
        not_before: None,
        request_id: None,
        resources: Vec::new(),
    };
    // Parsing our own text back proves it is a message a wallet (and the checker) will read.
    let text = message.to_text();
    Message::parse(&text).map_err(Error::internal)?;
    store.nonce_put(nonce, person, whole_seconds(now + CHALLENGE_TTL), now)?;
    Ok(text)
}

fn whole_seconds(t: Timestamp) -> Timestamp {
    // INVARIANT: an instant's own whole seconds are always in range.
    Timestamp::from_second(t.as_second()).expect("whole seconds of an instant")
}

/// Checks a signed challenge of `person` and records the proof (effective after the company's
/// delay). Every refusal names its reason and records nothing: a malformed message or
/// signature, another server's domain, another chain, a message expired or not yet valid, a
/// signature by another address than the message's, a nonce unknown, used or expired, or a
/// message issued to another person. The nonce is spent by any attempt that reaches it.
pub fn prove(
    store: &mut dyn Store,
    company: &Company,
    at: &Origin,
    person: &str,
    text: &str,
    signature: &str,
    by: &Stamp,
) -> Result<WalletProof> {
    let now = by.at;
    let m = Message::parse(text).map_err(|e| Error::invalid(e, "body.message"))?;
    if m.domain != at.domain {
        let why = format!("the message is for `{}`, not this server (`{}`)", m.domain, at.domain);
        return Err(Error::invalid(why, "message.domain"));
    }
    let chain = crate::chain::chain_id(company);
    if m.chain_id != chain {
        return Err(Error::invalid(
            format!("the message is for chain {}, the company's is {chain}", m.chain_id),
            "message.chain_id",
        ));
    }
    if m.expiration_time.is_some_and(|t| t <= now) {
        return Err(Error::invalid("the message has expired: ask for a new challenge", "message.expiration_time"));
    }
    if m.not_before.is_some_and(|t| t > now) || m.issued_at > now {
        return Err(Error::invalid("the message is not valid yet", "message.not_before"));
    }
    let signer = siwe::recover(text, signature).map_err(|e| Error::invalid(e, "body.signature"))?;
    if signer != m.address {
        let why = format!(
            "the signature is by {}, not by the message's address {}",
            signer.to_checksum(None),
            m.address.to_checksum(None)
        );
        return Err(Error::invalid(why, "body.signature"));
    }
    match store.nonce_take(&m.nonce)? {
        None => return Err(Error::invalid("unknown or already used nonce: ask for a new challenge", "message.nonce")),
        Some((_, expires)) if expires <= now => {
            return Err(Error::invalid("the challenge has expired: ask for a new one", "message.nonce"));
        }
        Some((owner, _)) if owner != person => {
            return Err(Error::invalid("this challenge was issued to another person", "message.nonce"));
        }
        Some(_) => {}
    }
    let hours = company.company.policy.wallet_change_delay_hours();
    let fact = Fact::WalletProven {
        person: person.to_owned(),
        address: m.address.to_checksum(None),
        message_hash: siwe::message_hash(text).to_string(),
        proven_at: now,
        effective_at: now + SignedDuration::from_hours(i64::from(hours)),
    };
    record(store, std::slice::from_ref(&fact), by)?;
    let Fact::WalletProven { person, address, message_hash, proven_at, effective_at } = fact else {
        unreachable!("built above")
    };
    Ok(WalletProof { person, address, message_hash, proven_at, effective_at, actor: by.actor.clone(), cancelled: None })
}

/// Cancels `person`'s pending change `message_hash` (by the person or an admin, as `by`): only
/// before it takes effect, decided under the write lock.
pub fn cancel(store: &mut dyn Store, person: &str, message_hash: &str, by: &Stamp) -> Result<()> {
    record_checked(store, by, None, |loaded| {
        let company = loaded.company()?;
        let proof =
            company.wallet_proofs.iter().find(|p| p.person == person && p.message_hash == message_hash).ok_or_else(
                || Error::not_found(format!("no wallet change {message_hash} of `{person}`"), "path.change"),
            )?;
        if proof.cancelled.is_some() {
            return Err(Error::Conflict {
                field: "path.change".into(),
                message: "this change was already cancelled".into(),
            });
        }
        if !proof.pending(by.at) {
            let why = format!("this change took effect at {}: prove another wallet instead", proof.effective_at);
            return Err(Error::Conflict { field: "path.change".into(), message: why });
        }
        let fact =
            Fact::WalletCancelled { person: person.to_owned(), message_hash: message_hash.to_owned(), at: by.at };
        Ok((vec![fact], ()))
    })?;
    Ok(())
}

/// Cancels every change of `person` still waiting for its delay at `by.at`, under the write
/// lock, and says which (their message hashes; none pending: an empty list, nothing recorded).
pub fn cancel_pending(store: &mut dyn Store, person: &str, by: &Stamp) -> Result<Vec<String>> {
    let (_, hashes) = record_checked(store, by, None, |loaded| {
        let company = loaded.company()?;
        let hashes: Vec<String> = company
            .wallet_proofs
            .iter()
            .filter(|p| p.person == person && p.pending(by.at))
            .map(|p| p.message_hash.clone())
            .collect();
        let facts = hashes
            .iter()
            .map(|h| Fact::WalletCancelled { person: person.to_owned(), message_hash: h.clone(), at: by.at })
            .collect();
        Ok::<_, Error>((facts, hashes))
    })?;
    Ok(hashes)
}

/// The person's proven wallet in effect at `now` ([`Company::effective_wallet`]).
pub fn effective_wallet<'a>(company: &'a Company, person: &str, now: Timestamp) -> Option<&'a WalletProof> {
    company.effective_wallet(person, now)
}

/// The grant holders who have no proven wallet in effect at `now`, sorted.
pub fn lacking_proven_wallets(company: &Company, now: Timestamp) -> Vec<String> {
    company.lacking_proven_wallets(now)
}

/// The person's proofs, newest first, with each one's state at `now`.
pub fn wallets_json(company: &Company, person: &str, now: Timestamp) -> Value {
    let effective = effective_wallet(company, person, now).map(|p| p.message_hash.clone());
    let proofs: Vec<Value> = company
        .wallet_proofs
        .iter()
        .rev()
        .filter(|p| p.person == person)
        .map(|p| {
            let state = if p.cancelled.is_some() {
                "cancelled"
            } else if p.pending(now) {
                "pending"
            } else if effective.as_deref() == Some(p.message_hash.as_str()) {
                "effective"
            } else {
                "replaced"
            };
            json!({"address": p.address, "message_hash": p.message_hash, "proven_at": p.proven_at.to_string(),
                   "effective_at": p.effective_at.to_string(), "actor": p.actor, "state": state,
                   "cancelled_at": p.cancelled.as_ref().map(|c| c.0.to_string()),
                   "cancelled_by": p.cancelled.as_ref().map(|c| c.1.clone())})
        })
        .collect();
    let policy = &company.company.policy;
    json!({"person": person, "wallet": effective_wallet(company, person, now).map(|p| p.address.clone()),
           "typed_wallet": company.people.get(person).and_then(|p| p.wallet.clone()),
           "require_proven_wallets": policy.require_proven_wallets,
           "wallet_change_delay_hours": policy.wallet_change_delay_hours(), "proofs": proofs})
}

/// A notice the notices part sends about a wallet change: to the person and to every admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletNotice {
    /// Stable across calls: the notices part's idempotency key (`wallet:<person>:<hash>:<what>`).
    pub id: String,
    /// `proven` (a change waits for its delay), `cancelled`, or `effective` (it took effect).
    pub what: &'static str,
    pub person: String,
    pub address: String,
    /// When the notice became due.
    pub at: Timestamp,
    pub effective_at: Timestamp,
}

/// Every wallet notice due by `through`, oldest first: each proof when it was proven, its
/// cancellation, and its taking effect once `effective_at` passed uncancelled. The notices part
/// sends each id once (its outbox); this function only says what is due.
pub fn notices(company: &Company, through: Timestamp) -> Vec<WalletNotice> {
    let mut out = Vec::new();
    for p in &company.wallet_proofs {
        let mut push = |what: &'static str, at: Timestamp| {
            if at <= through {
                out.push(WalletNotice {
                    id: format!("wallet:{}:{}:{what}", p.person, p.message_hash),
                    what,
                    person: p.person.clone(),
                    address: p.address.clone(),
                    at,
                    effective_at: p.effective_at,
                });
            }
        };
        push("proven", p.proven_at);
        match &p.cancelled {
            Some((at, _)) => push("cancelled", *at),
            None => push("effective", p.effective_at),
        }
    }
    out.sort_by_key(|n| n.at);
    out
}

#[cfg(test)]
mod tests {
    use alloy_primitives::keccak256;
    use alloy_signer::SignerSync;
    use alloy_signer_local::PrivateKeySigner;
    use tokencomp_store::sqlite::SqliteStore;

    use super::*;
    use crate::demo::SAMPLE_COMPANY;
    use crate::ledger::{init_with, load, parse_company};

    const NONCE: &str = "k3Jd93hQ0pLm2XzA";

    fn at() -> Origin {
        Origin { domain: "comp.gridline.example".into(), uri: "https://comp.gridline.example/me".into() }
    }

    fn t(s: &str) -> Timestamp {
        s.parse().expect("instant")
    }

    /// Hardhat's first development key: public, holds nothing.
    fn key() -> PrivateKeySigner {
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".parse().expect("key")
    }

    fn sign(key: &PrivateKeySigner, text: &str) -> String {
        let sig = key.sign_message_sync(text.as_bytes()).expect("signs");
        format!("0x{}", alloy_primitives::hex::encode(sig.as_bytes()))
    }

    fn setup(company_keys: &str) -> (tempfile::TempDir, SqliteStore, Company) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = SqliteStore::open(&dir.path().join("ledger.sqlite")).expect("opens");
        let text = SAMPLE_COMPANY.replacen("[company]\n", &format!("[company]\n{company_keys}"), 1);
        let file = parse_company("examples/company.toml", &text).expect("the sample company");
        init_with(&mut store, &file, &Stamp::new("system", t("2026-12-01T00:00:00Z"))).expect("init");
        let company = load(&mut store).expect("folds");
        (dir, store, company)
    }

    #[test]
    fn a_message_signed_by_the_wallet_is_recorded_and_takes_effect_after_the_default_48_hours() {
        let (_dir, mut store, company) = setup("");
        let now = t("2026-12-07T21:00:00Z");
        let text =
            challenge(&mut store, &company, &at(), "ada", &key().address().to_string(), NONCE, now).expect("challenge");
        // The message as EIP-4361 lays it out: our host, the company's chain (the sample sets
        // none: the default), a 10-minute expiry.
        assert_eq!(
            text,
            format!(
                "comp.gridline.example wants you to sign in with your Ethereum account:\n\
                 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n\n{STATEMENT}\n\n\
                 URI: https://comp.gridline.example/me\nVersion: 1\nChain ID: {}\nNonce: {NONCE}\n\
                 Issued At: 2026-12-07T21:00:00Z\nExpiration Time: 2026-12-07T21:10:00Z",
                crate::chain::chain_id(&company)
            )
        );
        let before = store.len().expect("len");
        let by = Stamp::new("ada", t("2026-12-07T21:01:00Z"));
        let proof = prove(&mut store, &company, &at(), "ada", &text, &sign(&key(), &text), &by).expect("proved");
        assert_eq!(store.len().expect("len"), before + 1);
        assert_eq!(proof.address, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        assert_eq!(proof.message_hash, siwe::message_hash(&text).to_string());
        assert_eq!(proof.effective_at, t("2026-12-09T21:01:00Z"), "48 hours after the proof");
        let company = load(&mut store).expect("folds");
        assert_eq!(company.wallet_proofs, vec![proof.clone()]);
        assert_eq!(effective_wallet(&company, "ada", t("2026-12-09T21:00:59Z")), None);
        assert_eq!(effective_wallet(&company, "ada", t("2026-12-09T21:01:00Z")), Some(&proof));
        // The notices part's view: proven now, effective once the delay has passed.
        let due: Vec<&str> = notices(&company, t("2026-12-08T00:00:00Z")).iter().map(|n| n.what).collect();
        assert_eq!(due, ["proven"]);
        let all = notices(&company, t("2026-12-10T00:00:00Z"));
        assert_eq!(
            all.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
            [
                format!("wallet:ada:{}:proven", proof.message_hash),
                format!("wallet:ada:{}:effective", proof.message_hash)
            ]
        );
    }

    /// The notices part sends each wallet notice once, to the person and to the admins: a
    /// proof when it is made, and its taking effect once the delay has passed.
    #[test]
    fn a_proof_is_notified_to_the_person_and_the_admins_once() {
        let (_dir, mut store, company) = setup("");
        let now = t("2026-12-07T21:00:00Z");
        let text =
            challenge(&mut store, &company, &at(), "ada", &key().address().to_string(), NONCE, now).expect("challenge");
        let by = Stamp::new("ada", t("2026-12-07T21:01:00Z"));
        prove(&mut store, &company, &at(), "ada", &text, &sign(&key(), &text), &by).expect("proved");
        let company = load(&mut store).expect("folds");
        let cfg = tokencomp_formats::notice_config::parse(
            "admins = [\"ops@gridline.example\"]\nsince = \"2026-12-07\"\n\
             [smtp]\nhost = \"127.0.0.1\"\nusername = \"u\"\npassword = \"p\"\nfrom = \"comp@gridline.example\"\n",
        )
        .expect("config");
        let wallet_notices = |store: &mut SqliteStore| {
            let queued = store.outbox().queued(1000).expect("queued");
            queued
                .iter()
                .filter(|q| q.notice.kind == "wallet_change")
                .map(|q| (q.notice.recipient.clone(), q.notice.subject.clone()))
                .collect::<Vec<_>>()
        };
        let day = |s: &str| s.parse::<jiff::civil::Date>().expect("date");
        crate::notices::enqueue(&mut store, &company, &cfg, day("2026-12-07"), t("2026-12-07T22:00:00Z"))
            .expect("enqueues");
        let proven = wallet_notices(&mut store);
        assert_eq!(
            proven,
            [
                ("person:ada".to_owned(), "Wallet change for Ada Okafor".to_owned()),
                ("admin:ops@gridline.example".to_owned(), "Wallet change for Ada Okafor".to_owned()),
            ]
        );
        // Again, and after the delay: the proof is not notified twice; its taking effect is.
        crate::notices::enqueue(&mut store, &company, &cfg, day("2026-12-07"), t("2026-12-07T23:00:00Z"))
            .expect("enqueues");
        assert_eq!(wallet_notices(&mut store), proven);
        crate::notices::enqueue(&mut store, &company, &cfg, day("2026-12-10"), t("2026-12-10T00:00:00Z"))
            .expect("enqueues");
        let all = wallet_notices(&mut store);
        assert_eq!(all.len(), 4, "{all:?}");
        assert_eq!(all.iter().filter(|(_, s)| s == "Wallet changed for Ada Okafor").count(), 2, "{all:?}");
    }

    #[test]
    fn each_refusal_names_its_reason_and_records_nothing() {
        let (_dir, mut store, company) = setup("");
        let now = t("2026-12-07T21:00:00Z");
        let by = Stamp::new("ada", t("2026-12-07T21:01:00Z"));
        let before = store.len().expect("len");
        let chain = crate::chain::chain_id(&company);
        let refused = |store: &mut SqliteStore, text: &str, sig: &str, person: &str| -> (String, String) {
            match prove(store, &company, &at(), person, text, sig, &by) {
                Err(Error::Invalid { field, message }) => (field, message),
                other => panic!("{other:?}"),
            }
        };
        let fresh = |store: &mut SqliteStore, nonce: &str, who: &str| {
            challenge(store, &company, &at(), who, &key().address().to_string(), nonce, now).expect("challenge")
        };
        let text = fresh(&mut store, "nonceAAAA1", "ada");
        // Another server's domain.
        let other = text.replace("comp.gridline.example wants", "evil.example wants");
        assert_eq!(refused(&mut store, &other, &sign(&key(), &other), "ada").0, "message.domain");
        // Another chain.
        let wrong_chain = text.replace(&format!("Chain ID: {chain}"), "Chain ID: 999");
        assert_eq!(refused(&mut store, &wrong_chain, &sign(&key(), &wrong_chain), "ada").0, "message.chain_id");
        // Expired: checked at 21:10:00, the expiration time itself.
        let late = Stamp::new("ada", t("2026-12-07T21:10:00Z"));
        match prove(&mut store, &company, &at(), "ada", &text, &sign(&key(), &text), &late) {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "message.expiration_time"),
            other => panic!("{other:?}"),
        }
        // Not yet valid: issued after the instant it is checked at.
        let early = Stamp::new("ada", t("2026-12-07T20:59:59Z"));
        match prove(&mut store, &company, &at(), "ada", &text, &sign(&key(), &text), &early) {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "message.not_before"),
            other => panic!("{other:?}"),
        }
        // Signed by another key than the message's address.
        let stranger = PrivateKeySigner::from_bytes(&keccak256("stranger")).expect("key");
        let (field, why) = refused(&mut store, &text, &sign(&stranger, &text), "ada");
        assert_eq!(field, "body.signature");
        assert!(why.contains("not by the message's address 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"), "{why}");
        // A nonce the server never issued.
        let unknown = text.replace("Nonce: nonceAAAA1", "Nonce: nonceZZZZ9");
        assert_eq!(refused(&mut store, &unknown, &sign(&key(), &unknown), "ada").0, "message.nonce");
        // Ben's challenge, sent by Ada.
        let bens = fresh(&mut store, "nonceBBBB2", "ben");
        let (field, why) = refused(&mut store, &bens, &sign(&key(), &bens), "ada");
        assert_eq!((field.as_str(), why.as_str()), ("message.nonce", "this challenge was issued to another person"));
        assert_eq!(store.len().expect("len"), before, "nothing recorded");
        // A used nonce: accepted once, refused the second time.
        prove(&mut store, &company, &at(), "ada", &text, &sign(&key(), &text), &by).expect("first use");
        let (field, why) = refused(&mut store, &text, &sign(&key(), &text), "ada");
        assert_eq!(field, "message.nonce");
        assert!(why.starts_with("unknown or already used nonce"), "{why}");
        assert_eq!(store.len().expect("len"), before + 1);
    }

    #[test]
    fn a_change_can_be_cancelled_before_its_delay_ends_and_not_after() {
        let (_dir, mut store, company) = setup("wallet_change_delay_hours = 24\n");
        let now = t("2026-12-07T21:00:00Z");
        let text =
            challenge(&mut store, &company, &at(), "ada", &key().address().to_string(), NONCE, now).expect("challenge");
        let proof = prove(&mut store, &company, &at(), "ada", &text, &sign(&key(), &text), &Stamp::new("ada", now))
            .expect("proved");
        assert_eq!(proof.effective_at, t("2026-12-08T21:00:00Z"));
        // After the delay: too late.
        match cancel(&mut store, "ada", &proof.message_hash, &Stamp::new("admin", t("2026-12-08T21:00:00Z"))) {
            Err(Error::Conflict { field, message }) => {
                assert_eq!(field, "path.change");
                assert!(message.starts_with("this change took effect"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // One second before: the admin cancels it; it never takes effect; a second cancel is refused.
        cancel(&mut store, "ada", &proof.message_hash, &Stamp::new("admin", t("2026-12-08T20:59:59Z")))
            .expect("cancelled");
        let company = load(&mut store).expect("folds");
        assert_eq!(company.wallet_proofs[0].cancelled, Some((t("2026-12-08T20:59:59Z"), "admin".to_owned())));
        assert_eq!(effective_wallet(&company, "ada", t("2027-01-01T00:00:00Z")), None);
        let whats: Vec<&str> = notices(&company, t("2027-01-01T00:00:00Z")).iter().map(|n| n.what).collect();
        assert_eq!(whats, ["proven", "cancelled"]);
        assert!(matches!(
            cancel(&mut store, "ada", &proof.message_hash, &Stamp::new("ada", t("2026-12-08T00:00:00Z"))),
            Err(Error::Conflict { .. })
        ));
        assert!(matches!(
            cancel(&mut store, "ben", &proof.message_hash, &Stamp::new("ben", now)),
            Err(Error::NotFound { .. })
        ));
        // Every pending change at once (the API's cancel): a second proof, cancelled by Ada;
        // nothing pending afterwards is an empty list and records nothing.
        let later = t("2026-12-09T09:00:00Z");
        let text = challenge(&mut store, &company, &at(), "ada", &key().address().to_string(), "nonceCCCC3", later)
            .expect("challenge");
        let second = prove(&mut store, &company, &at(), "ada", &text, &sign(&key(), &text), &Stamp::new("ada", later))
            .expect("proved");
        assert_eq!(
            cancel_pending(&mut store, "ada", &Stamp::new("ada", later)).expect("cancels"),
            [second.message_hash]
        );
        let len = store.len().expect("len");
        assert_eq!(
            cancel_pending(&mut store, "ada", &Stamp::new("ada", later)).expect("nothing"),
            Vec::<String>::new()
        );
        assert_eq!(store.len().expect("len"), len);
    }

    #[test]
    fn a_company_requiring_proofs_refuses_a_typed_wallet_address_but_keeps_labels() {
        let (_dir, mut store, company) = setup("require_proven_wallets = true\n");
        let by = Stamp::new("admin", t("2026-12-07T21:00:00Z"));
        let mut ada = company.people["ada"].clone();
        ada.wallet = Some(key().address().to_string());
        let before = store.len().expect("len");
        match record(&mut store, &[Fact::Person(ada.clone())], &by) {
            Err(Error::Invalid { field, message }) => {
                assert_eq!(field, "person `ada`.wallet");
                assert!(message.contains("requires proven wallets"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(store.len().expect("len"), before, "nothing recorded");
        ada.wallet = Some("ada-cold".into());
        record(&mut store, &[Fact::Person(ada)], &by).expect("a label is not an address");
        // A company file that requires proofs and types an address is refused at init.
        let dir = tempfile::tempdir().expect("temp dir");
        let mut fresh = SqliteStore::open(&dir.path().join("ledger.sqlite")).expect("opens");
        let text = SAMPLE_COMPANY.replacen("[company]\n", "[company]\nrequire_proven_wallets = true\n", 1).replacen(
            "wallet = \"ada-ledger\"",
            "wallet = \"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\"",
            1,
        );
        let file = parse_company("examples/company.toml", &text).expect("parses");
        match init_with(&mut fresh, &file, &by) {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "person `ada`.wallet"),
            other => panic!("{other:?}"),
        }
        // Without the requirement the admin may type it.
        let (_dir2, mut free, company) = setup("");
        let mut ada = company.people["ada"].clone();
        ada.wallet = Some(key().address().to_string());
        record(&mut free, &[Fact::Person(ada)], &by).expect("typed");
    }

    #[test]
    fn a_company_requiring_proofs_plans_payouts_only_to_proven_effective_wallets() {
        let (_dir, mut store, company) = setup("wallet_change_delay_hours = 0\nrequire_proven_wallets = true\n");
        let now = t("2026-12-07T21:00:00Z");
        let holders = lacking_proven_wallets(&company, now);
        assert!(holders.len() > 2, "{holders:?}");
        // No proofs: the plan names every holder.
        let err = crate::chain::Plan::build_at(&company, false, false, Some(now)).err().expect("refused");
        assert!(err.to_string().ends_with(&format!("have none in effect: {}", holders.join(", "))), "{err}");
        // Without the instant, only a view that pays nothing may be planned.
        assert!(crate::chain::Plan::build_at(&company, false, false, None).is_err());
        // Each holder proves a key of their own (delay 0: in effect at once).
        let mut addresses = std::collections::BTreeMap::new();
        for (i, h) in holders.iter().enumerate() {
            let k = PrivateKeySigner::from_bytes(&keccak256(h.as_bytes())).expect("key");
            let nonce = format!("nonce{i:06}");
            let text =
                challenge(&mut store, &company, &at(), h, &k.address().to_string(), &nonce, now).expect("challenge");
            prove(&mut store, &company, &at(), h, &text, &sign(&k, &text), &Stamp::new(h.as_str(), now))
                .expect("proved");
            addresses.insert(h.clone(), k.address());
        }
        let company = load(&mut store).expect("folds");
        assert_eq!(lacking_proven_wallets(&company, now), Vec::<String>::new());
        let plan = crate::chain::Plan::build_at(&company, false, false, Some(now)).expect("planned");
        for g in &plan.grants {
            let holder = &company.grants[&g.grant].terms.grant.holder;
            assert_eq!(g.beneficiary, addresses[holder], "{}", g.grant);
        }
        // The instant before the proofs, nobody has one.
        assert!(crate::chain::Plan::build_at(&company, false, false, Some(t("2026-12-07T20:59:59Z"))).is_err());
    }
}
