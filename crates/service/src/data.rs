//! [`DataDir`]: every file of a company's data directory, named once. The CLI, the API and the
//! service build no path of their own inside it.

use std::path::{Path, PathBuf};

/// The SQLite ledger's file name inside the data directory.
pub const LEDGER_FILE: &str = "ledger.sqlite";
/// The lock file beside the accounts (`auth/accounts.lock`).
pub const ACCOUNTS_LOCK: &str = "accounts.lock";
/// The data directory's own subdirectories: signing keys, logins, the chain's files, the demo
/// oracle's files, charts.
pub const SUBDIRS: [&str; 5] = ["keys", "auth", "chain", "evals", "charts"];

/// A company's data directory (one company per directory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A subdirectory of [`SUBDIRS`].
    pub fn subdir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The SQLite ledger (when no PostgreSQL database is named).
    pub fn ledger(&self) -> PathBuf {
        self.root.join(LEDGER_FILE)
    }

    /// Logins and API keys (`tokencomp user`, the API).
    pub fn auth_dir(&self) -> PathBuf {
        self.root.join("auth")
    }

    pub fn accounts(&self) -> PathBuf {
        self.auth_dir().join("accounts.json")
    }

    /// The mark `tokencomp demo` leaves: the login page lists the demo logins only where it
    /// exists, so a company's own login page never shows a password.
    pub fn demo_mark(&self) -> PathBuf {
        self.auth_dir().join("demo.mark")
    }

    /// The lock two `tokencomp user` commands take before they change the accounts.
    pub fn accounts_lock(&self) -> PathBuf {
        self.auth_dir().join(ACCOUNTS_LOCK)
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.root.join("keys")
    }

    /// The chain signer's key file.
    pub fn chain_key(&self) -> PathBuf {
        self.keys_dir().join("chain.key")
    }

    /// An oracle's key file (`oracle keygen`, the demo oracle).
    pub fn oracle_key(&self, oracle: &str) -> PathBuf {
        self.keys_dir().join(format!("oracle-{oracle}.key"))
    }

    /// Where a network's files live.
    pub fn chain_dir(&self) -> PathBuf {
        self.root.join("chain")
    }

    /// The embedded chain's state.
    pub fn embedded_chain(&self) -> PathBuf {
        self.chain_dir().join("embedded.json")
    }

    /// The VestingManager deployed on `network`.
    pub fn deployment(&self, network: &str) -> PathBuf {
        self.chain_dir().join(format!("{network}.deployment.json"))
    }

    /// The logs cache: every manager log read so far, and the next block to read.
    pub fn logs(&self, network: &str) -> PathBuf {
        self.chain_dir().join(format!("{network}.logs.json"))
    }

    /// The Safe contracts deployed on a development `network`.
    pub fn safe_contracts(&self, network: &str) -> PathBuf {
        self.chain_dir().join(format!("{network}.safe.json"))
    }

    /// The `LedgerAnchor` contract on `network`.
    pub fn anchor(&self, network: &str) -> PathBuf {
        self.chain_dir().join(format!("{network}.anchor.json"))
    }

    /// The demo market (a Uniswap V2 pair) on `network`.
    pub fn market(&self, network: &str) -> PathBuf {
        self.chain_dir().join(format!("{network}.market.json"))
    }

    /// The demo oracle's files.
    pub fn evals_dir(&self) -> PathBuf {
        self.root.join("evals")
    }

    /// Where charts go by default.
    pub fn charts_dir(&self) -> PathBuf {
        self.root.join("charts")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_inside_the_data_directory_and_named_once() {
        let d = DataDir::new("/data");
        let all = [
            d.ledger(),
            d.accounts(),
            d.accounts_lock(),
            d.chain_key(),
            d.oracle_key("evals"),
            d.embedded_chain(),
            d.deployment("n"),
            d.logs("n"),
            d.safe_contracts("n"),
            d.anchor("n"),
            d.market("n"),
            d.evals_dir(),
            d.charts_dir(),
        ];
        for p in &all {
            assert!(p.starts_with("/data"), "{}", p.display());
        }
        let distinct: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), all.len());
        assert_eq!(d.accounts(), Path::new("/data/auth/accounts.json"));
        assert_eq!(d.accounts_lock(), Path::new("/data/auth/accounts.lock"));
        assert_eq!(d.ledger(), Path::new("/data/ledger.sqlite"));
        assert_eq!(d.embedded_chain(), Path::new("/data/chain/embedded.json"));
        assert_eq!(d.chain_key(), Path::new("/data/keys/chain.key"));
    }
}
