-- The ledger: every fact is an immutable, hash-chained event.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    event_id    TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    -- Base units as a decimal string (at most 39 digits: u128), or NULL.
    amount      TEXT    CHECK (amount IS NULL OR (length(amount) BETWEEN 1 AND 39 AND amount NOT GLOB '*[^0-9]*')),
    actor       TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);
CREATE INDEX events_subject ON events (subject, seq);
CREATE INDEX events_kind ON events (kind, seq);

-- Append-only: corrections are new (reversing) events, never edits.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
