//! Numbered migrations, one list per backend, embedded in the binary.

/// (version, name, SQL) for SQLite.
pub const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "events", include_str!("../migrations/sqlite/0001_events.sql")),
    (2, "no_truncate", include_str!("../migrations/sqlite/0002_no_truncate.sql")),
    (3, "logins", include_str!("../migrations/sqlite/0003_logins.sql")),
    // Notices (issue 18, item 5): outbox, delivery log, preferences; outside the hash chain.
    (4, "notices", include_str!("../migrations/sqlite/0004_notices.sql")),
    // Wallet proofs (issue 18, item 3): single-use SIWE nonces; outside the hash chain.
    (5, "wallet_nonces", include_str!("../migrations/sqlite/0005_wallet_nonces.sql")),
];

/// (version, name, SQL) for PostgreSQL: the same versions as SQLite.
pub const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "events", include_str!("../migrations/postgres/0001_events.sql")),
    (2, "no_truncate", include_str!("../migrations/postgres/0002_no_truncate.sql")),
    (3, "logins", include_str!("../migrations/postgres/0003_logins.sql")),
    // Notices (issue 18, item 5): outbox, delivery log, preferences; outside the hash chain.
    (4, "notices", include_str!("../migrations/postgres/0004_notices.sql")),
    // Wallet proofs (issue 18, item 3): single-use SIWE nonces; outside the hash chain.
    (5, "wallet_nonces", include_str!("../migrations/postgres/0005_wallet_nonces.sql")),
];
