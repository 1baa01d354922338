-- Logins beside the ledger: sessions, failed-login counts and the sign-in log. Mutable tables
-- outside the hash chain: no trigger guards them, no event hash covers them, `canonical_dump`,
-- backups and `migrate-store` leave them out. A session is kept as the SHA-256 of its token only.
CREATE TABLE auth_sessions (
    token_sha256 TEXT    NOT NULL PRIMARY KEY,
    login        TEXT    NOT NULL,
    role         TEXT    NOT NULL,
    person       TEXT,
    csrf         TEXT    NOT NULL,
    -- SHA-256 of the login's password hash when the session opened: a reset changes it.
    password_fp  TEXT    NOT NULL,
    -- Instants in nanoseconds since 1970 (UTC).
    created_ns   BIGINT  NOT NULL,
    expires_ns   BIGINT  NOT NULL
);
CREATE INDEX auth_sessions_login ON auth_sessions (login, expires_ns);
CREATE INDEX auth_sessions_expires ON auth_sessions (expires_ns);

-- Failed logins per name (`name`, client ''), per (name, client) (`pair`), and the clients a
-- name logged in from (`known`, failures 0).
CREATE TABLE auth_counts (
    kind     TEXT    NOT NULL,
    login    TEXT    NOT NULL,
    client   TEXT    NOT NULL,
    failures BIGINT  NOT NULL,
    last_ns  BIGINT  NOT NULL,
    PRIMARY KEY (kind, login, client)
);
CREATE INDEX auth_counts_last ON auth_counts (kind, last_ns);

-- What happened to sessions (login, logout, revocation), for the audit view: never a token or
-- a hash of one.
CREATE TABLE auth_log (
    seq    BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ns  BIGINT  NOT NULL,
    login  TEXT    NOT NULL,
    actor  TEXT    NOT NULL,
    what   TEXT    NOT NULL,
    detail TEXT    NOT NULL
);
CREATE INDEX auth_log_at ON auth_log (at_ns);
