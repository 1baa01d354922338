//! Sign-In with Ethereum (EIP-4361) messages: writing one, reading one strictly to the EIP's
//! ABNF, and recovering who signed it (EIP-191 `personal_sign`).
//!
//! Pure: no clock, no store. Whether a message is acceptable now (its domain, nonce, chain and
//! times against the server's) is the service's decision; this module only says what the text
//! says and which address signed it. It never guesses: a line out of place, an address that is
//! not EIP-55 checksummed or a time that is not RFC 3339 is an error naming the line.

use alloy_primitives::{Address, B256, Signature, eip191_hash_message};
use jiff::Timestamp;

/// A SIWE message's fields, as EIP-4361 orders them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The optional `scheme://` before the domain.
    pub scheme: Option<String>,
    /// The RFC 3986 authority asking for the signature (host and optional port).
    pub domain: String,
    pub address: Address,
    pub statement: Option<String>,
    pub uri: String,
    /// Always "1".
    pub version: String,
    pub chain_id: u64,
    pub nonce: String,
    pub issued_at: Timestamp,
    pub expiration_time: Option<Timestamp>,
    pub not_before: Option<Timestamp>,
    pub request_id: Option<String>,
    pub resources: Vec<String>,
}

/// Why a message text is not a SIWE message, or a signature is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SiweError {
    #[error("not an EIP-4361 message: line {line}: {why}")]
    Malformed { line: usize, why: String },
    #[error("not a signature: {0}")]
    Signature(String),
}

const PREAMBLE: &str = " wants you to sign in with your Ethereum account:";

fn bad(line: usize, why: impl Into<String>) -> SiweError {
    SiweError::Malformed { line, why: why.into() }
}

/// An RFC 3339 instant as EIP-4361 writes it (UTC, whole seconds: `2026-12-07T21:00:00Z`).
pub fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Message {
    /// The text to sign, exactly as EIP-4361 lays it out.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(s) = &self.scheme {
            out.push_str(s);
            out.push_str("://");
        }
        out.push_str(&self.domain);
        out.push_str(PREAMBLE);
        out.push('\n');
        out.push_str(&self.address.to_checksum(None));
        out.push_str("\n\n");
        if let Some(s) = &self.statement {
            out.push_str(s);
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&format!(
            "URI: {}\nVersion: {}\nChain ID: {}\nNonce: {}\nIssued At: {}",
            self.uri,
            self.version,
            self.chain_id,
            self.nonce,
            rfc3339(self.issued_at)
        ));
        if let Some(t) = self.expiration_time {
            out.push_str(&format!("\nExpiration Time: {}", rfc3339(t)));
        }
        if let Some(t) = self.not_before {
            out.push_str(&format!("\nNot Before: {}", rfc3339(t)));
        }
        if let Some(r) = &self.request_id {
            out.push_str(&format!("\nRequest ID: {r}"));
        }
        if !self.resources.is_empty() {
            out.push_str("\nResources:");
            for r in &self.resources {
                out.push_str(&format!("\n- {r}"));
            }
        }
        out
    }

    /// Reads a message strictly: every line in the EIP's order, nothing after the last field.
    pub fn parse(text: &str) -> Result<Message, SiweError> {
        if text.contains('\r') {
            return Err(bad(1, "lines end with LF only (a CR was found)"));
        }
        let lines: Vec<&str> = text.split('\n').collect();
        let mut i = 0;
        let line = |i: usize| -> Result<&str, SiweError> {
            lines.get(i).copied().ok_or_else(|| bad(i + 1, "the message ends early"))
        };
        // Line 1: [scheme "://"] domain " wants you to sign in with your Ethereum account:".
        let first = line(i)?;
        let head = first.strip_suffix(PREAMBLE).ok_or_else(|| bad(1, format!("must end with {PREAMBLE:?}")))?;
        let (scheme, domain) = match head.split_once("://") {
            Some((s, d)) => {
                let ok = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
                if !ok {
                    return Err(bad(1, format!("`{s}` is not a URI scheme")));
                }
                (Some(s.to_owned()), d)
            }
            None => (None, head),
        };
        if domain.is_empty() || !domain.chars().all(|c| c.is_ascii_graphic() && !"/?#".contains(c)) {
            return Err(bad(1, format!("`{domain}` is not an RFC 3986 authority")));
        }
        i += 1;
        // Line 2: the EIP-55 address.
        let addr = line(i)?;
        let hex_ok = addr.len() == 42 && addr.starts_with("0x") && addr[2..].chars().all(|c| c.is_ascii_hexdigit());
        if !hex_ok {
            return Err(bad(i + 1, "the address must be 0x and 40 hex digits"));
        }
        let address = Address::parse_checksummed(addr, None)
            .map_err(|_| bad(i + 1, format!("`{addr}` is not EIP-55 checksummed")))?;
        i += 1;
        if !line(i)?.is_empty() {
            return Err(bad(i + 1, "an empty line must follow the address"));
        }
        i += 1;
        // [statement LF] LF
        let statement = if line(i)?.is_empty() {
            None
        } else {
            let s = line(i)?;
            if !s.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
                return Err(bad(i + 1, "the statement may hold printable ASCII and spaces only"));
            }
            i += 1;
            if !line(i)?.is_empty() {
                return Err(bad(i + 1, "an empty line must follow the statement"));
            }
            Some(s.to_owned())
        };
        i += 1;
        let field = |i: usize, tag: &str| -> Result<String, SiweError> {
            let l = line(i)?;
            l.strip_prefix(tag).map(str::to_owned).ok_or_else(|| bad(i + 1, format!("expected `{tag}…`")))
        };
        let uri = field(i, "URI: ")?;
        if uri.is_empty() || !uri.contains(':') || uri.chars().any(|c| c.is_ascii_whitespace() || c.is_control()) {
            return Err(bad(i + 1, format!("`{uri}` is not an RFC 3986 URI")));
        }
        i += 1;
        let version = field(i, "Version: ")?;
        if version != "1" {
            return Err(bad(i + 1, format!("version `{version}` is not 1")));
        }
        i += 1;
        let chain = field(i, "Chain ID: ")?;
        let chain_ok = !chain.is_empty() && chain.chars().all(|c| c.is_ascii_digit()) && !chain.starts_with('0');
        let chain_id = chain
            .parse::<u64>()
            .ok()
            .filter(|_| chain_ok)
            .ok_or_else(|| bad(i + 1, format!("`{chain}` is not a chain id")))?;
        i += 1;
        let nonce = field(i, "Nonce: ")?;
        if nonce.len() < 8 || !nonce.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad(i + 1, "the nonce must be at least 8 letters or digits"));
        }
        i += 1;
        let time = |i: usize, s: &str| -> Result<Timestamp, SiweError> {
            // RFC 3339 date-time: a `T` between date and time and an explicit offset.
            let shaped = s.len() >= 20
                && s.as_bytes().get(10) == Some(&b'T')
                && (s.ends_with('Z') || s[19..].contains(['+', '-']));
            s.parse::<Timestamp>()
                .ok()
                .filter(|_| shaped)
                .ok_or_else(|| bad(i + 1, format!("`{s}` is not an RFC 3339 date-time")))
        };
        let issued_at = time(i, &field(i, "Issued At: ")?)?;
        i += 1;
        let mut m = Message {
            scheme,
            domain: domain.to_owned(),
            address,
            statement,
            uri,
            version,
            chain_id,
            nonce,
            issued_at,
            expiration_time: None,
            not_before: None,
            request_id: None,
            resources: Vec::new(),
        };
        if let Some(s) = lines.get(i).and_then(|l| l.strip_prefix("Expiration Time: ")) {
            m.expiration_time = Some(time(i, s)?);
            i += 1;
        }
        if let Some(s) = lines.get(i).and_then(|l| l.strip_prefix("Not Before: ")) {
            m.not_before = Some(time(i, s)?);
            i += 1;
        }
        if let Some(s) = lines.get(i).and_then(|l| l.strip_prefix("Request ID: ")) {
            if !s.chars().all(|c| c.is_ascii_graphic()) {
                return Err(bad(i + 1, "the request id may hold printable ASCII only"));
            }
            m.request_id = Some(s.to_owned());
            i += 1;
        }
        if lines.get(i) == Some(&"Resources:") {
            i += 1;
            while let Some(r) = lines.get(i).and_then(|l| l.strip_prefix("- ")) {
                if r.is_empty() || r.chars().any(|c| c.is_ascii_whitespace() || c.is_control()) {
                    return Err(bad(i + 1, format!("`{r}` is not a URI")));
                }
                m.resources.push(r.to_owned());
                i += 1;
            }
        }
        if i < lines.len() {
            return Err(bad(i + 1, "unexpected text after the message's last field"));
        }
        Ok(m)
    }
}

/// The EIP-191 digest a wallet signs for `text` (`personal_sign`): what the ledger records.
pub fn message_hash(text: &str) -> B256 {
    eip191_hash_message(text.as_bytes())
}

/// The address that signed `text` with `personal_sign`, from a 65-byte signature in hex
/// (`0x` r ‖ s ‖ v, v as 27/28 or 0/1).
pub fn recover(text: &str, signature: &str) -> Result<Address, SiweError> {
    let hex = signature.trim().strip_prefix("0x").unwrap_or(signature.trim());
    if hex.len() != 130 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(SiweError::Signature("expected 0x and 130 hex digits (r, s, v)".to_owned()));
    }
    let sig: Signature = format!("0x{hex}").parse().map_err(|e| SiweError::Signature(format!("{e}")))?;
    sig.recover_address_from_msg(text.as_bytes()).map_err(|e| SiweError::Signature(format!("it does not recover: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_signer::SignerSync;
    use alloy_signer_local::PrivateKeySigner;

    /// The example message of EIP-4361 ("Example message"), verbatim.
    const EIP_EXAMPLE: &str = "example.com wants you to sign in with your Ethereum account:\n\
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n\
\n\
I accept the ExampleOrg Terms of Service: https://example.com/tos\n\
\n\
URI: https://example.com/login\n\
Version: 1\n\
Chain ID: 1\n\
Nonce: 32891756\n\
Issued At: 2021-09-30T16:25:24Z\n\
Resources:\n\
- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n\
- https://example.com/my-web2-claim.json";

    #[test]
    fn the_eips_example_reads_and_writes_back_unchanged() {
        let m = Message::parse(EIP_EXAMPLE).expect("the EIP's example");
        assert_eq!(m.domain, "example.com");
        assert_eq!(m.address.to_checksum(None), "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2");
        assert_eq!(m.statement.as_deref(), Some("I accept the ExampleOrg Terms of Service: https://example.com/tos"));
        assert_eq!((m.chain_id, m.nonce.as_str(), m.version.as_str()), (1, "32891756", "1"));
        assert_eq!(m.issued_at.to_string(), "2021-09-30T16:25:24Z");
        assert_eq!(m.resources.len(), 2);
        assert_eq!(m.to_text(), EIP_EXAMPLE);
    }

    #[test]
    fn a_message_out_of_shape_is_refused_naming_its_line() {
        let cases = [
            (
                EIP_EXAMPLE.replace(
                    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
                    "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
                ),
                2,
                "checksummed",
            ),
            (EIP_EXAMPLE.replace("Version: 1", "Version: 2"), 7, "version `2`"),
            (EIP_EXAMPLE.replace("Chain ID: 1", "Chain ID: 01"), 8, "not a chain id"),
            (EIP_EXAMPLE.replace("Nonce: 32891756", "Nonce: 1234"), 9, "at least 8"),
            (EIP_EXAMPLE.replace("2021-09-30T16:25:24Z", "2021-09-30 16:25:24"), 10, "RFC 3339"),
            (EIP_EXAMPLE.replace(" wants you", " wants"), 1, "must end with"),
            (format!("{EIP_EXAMPLE}\nextra"), 14, "after the message's last field"),
            (EIP_EXAMPLE.replace('\n', "\r\n"), 1, "CR"),
        ];
        for (text, line, why) in cases {
            match Message::parse(&text) {
                Err(SiweError::Malformed { line: l, why: w }) => {
                    assert_eq!(l, line, "{why}: {w}");
                    assert!(w.contains(why), "{w} should say {why}");
                }
                other => panic!("{why}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_personal_sign_signature_recovers_its_signer_and_another_text_does_not() {
        // Hardhat's first development key: a key anyone can reproduce, holding nothing.
        let key: PrivateKeySigner =
            "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".parse().expect("key");
        assert_eq!(key.address().to_checksum(None), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        let sig = key.sign_message_sync(EIP_EXAMPLE.as_bytes()).expect("sign");
        let hex = format!("0x{}", alloy_primitives::hex::encode(sig.as_bytes()));
        assert_eq!(recover(EIP_EXAMPLE, &hex), Ok(key.address()));
        assert_ne!(recover(&EIP_EXAMPLE.replace("Nonce: 32891756", "Nonce: 32891757"), &hex), Ok(key.address()));
        assert!(matches!(recover(EIP_EXAMPLE, "0x1234"), Err(SiweError::Signature(_))));
        assert_eq!(message_hash(EIP_EXAMPLE), alloy_primitives::eip191_hash_message(EIP_EXAMPLE));
    }
}
