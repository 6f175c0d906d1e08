-- +goose Up
-- Messages to parents waiting to be sent (tracking code re-sends, later the
-- parents' notices). A drainer claims due rows with FOR UPDATE SKIP LOCKED
-- and leases them by moving next_attempt_at ahead, so several can drain at
-- once and a crashed one's rows come due again. The recipient is not
-- stored: it is read from the application when the message is sent.
-- dedupe_key makes enqueueing idempotent (e.g. one code re-send per
-- application and day). A row given up on has next_attempt_at 'infinity'.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL,
    tracking_code   text NOT NULL,
    dedupe_key      text NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    last_error      text NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL;

-- +goose Down
DROP TABLE outbox;
