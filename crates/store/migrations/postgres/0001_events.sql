-- The ledger: every fact is an immutable, hash-chained event.
CREATE TABLE events (
    seq         BIGINT        PRIMARY KEY,
    event_id    TEXT          NOT NULL UNIQUE,
    kind        TEXT          NOT NULL,
    subject     TEXT          NOT NULL,
    payload     TEXT          NOT NULL,
    -- Base units (u128 fits in 39 digits), or NULL.
    amount      NUMERIC(39,0) CHECK (amount IS NULL OR amount >= 0),
    actor       TEXT          NOT NULL,
    recorded_at TEXT          NOT NULL,
    prev_hash   TEXT          NOT NULL,
    hash        TEXT          NOT NULL
);
CREATE INDEX events_subject ON events (subject, seq);
CREATE INDEX events_kind ON events (kind, seq);

-- Append-only: corrections are new (reversing) events, never edits.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only';
END;
$$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only();
