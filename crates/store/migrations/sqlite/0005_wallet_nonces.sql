-- Wallet proofs (issue 18, item 3): single-use Sign-In with Ethereum nonces, mutable and outside
-- the hash chain; a nonce is taken (deleted) once, so a replayed proof finds nothing.
CREATE TABLE IF NOT EXISTS wallet_nonces (
    nonce TEXT PRIMARY KEY,
    person TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
