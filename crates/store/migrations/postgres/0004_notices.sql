-- Notices (issue 18, item 5): the outbox, its delivery log and each person's choices. Mutable
-- tables outside the hash chain: nothing here is a fact about the company, only what was sent.
-- Times are unix seconds so "due" compares as numbers on both backends; flags are 0 or 1, as
-- integers on both, so the two schemas stay alike.
CREATE TABLE IF NOT EXISTS notice_outbox (
    key TEXT NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    recipient TEXT NOT NULL,
    address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed'))
);
CREATE INDEX IF NOT EXISTS notice_outbox_due ON notice_outbox (state, next_at);
CREATE TABLE IF NOT EXISTS notice_attempts (
    key TEXT NOT NULL REFERENCES notice_outbox (key),
    attempt BIGINT NOT NULL,
    at BIGINT NOT NULL,
    ok BIGINT NOT NULL CHECK (ok IN (0, 1)),
    detail TEXT NOT NULL,
    PRIMARY KEY (key, attempt)
);
CREATE TABLE IF NOT EXISTS notice_prefs (
    person TEXT NOT NULL,
    kind TEXT NOT NULL,
    enabled BIGINT NOT NULL CHECK (enabled IN (0, 1)),
    PRIMARY KEY (person, kind)
);
