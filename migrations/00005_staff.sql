-- +goose Up
-- Staff accounts: city officers, authority (district or ward) officers and
-- school clerks. scope is the authority code of an authority officer, the
-- school code of a clerk, empty for the city. A disabled account keeps its
-- row (its events refer to it) and cannot sign in. failed_logins counts
-- consecutive failed sign-ins; locked_until is set when they reach the
-- limit, and both are cleared by a successful sign-in.
CREATE TABLE staff_users (
    username      text PRIMARY KEY,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('city', 'authority', 'school')),
    scope         text NOT NULL DEFAULT '',
    name          text NOT NULL DEFAULT '',
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    CHECK ((role = 'city') = (scope = ''))
);

-- Staff sessions, in the shape github.com/alexedwards/scs/postgresstore
-- reads and writes.
CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- The audit of staff accounts: sign-ins, failed sign-ins (never the
-- password), sign-outs, lockouts and changes to accounts. username is the
-- account acted on or tried (an unknown one included); role is its role
-- when known; address is the client's network address, empty for commands
-- run on the server.
CREATE TABLE staff_events (
    id       bigserial PRIMARY KEY,
    username text NOT NULL,
    role     text NOT NULL DEFAULT '',
    action   text NOT NULL,
    detail   text NOT NULL DEFAULT '',
    address  text NOT NULL DEFAULT '',
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_events_username ON staff_events (username, at);

-- +goose Down
DROP TABLE staff_events;
DROP TABLE sessions;
DROP TABLE staff_users;
