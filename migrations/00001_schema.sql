-- +goose Up
-- Authorities own quotas, catchments and placement runs. The level above a
-- ward is optional: after 2025 Hanoi has no district level.
CREATE TABLE authorities (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('city', 'district', 'ward')),
    parent_code text REFERENCES authorities (code)
);

-- Wards and communes (phường, xã): the codes residences use.
CREATE TABLE wards (
    code           text PRIMARY KEY,
    name           text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('phuong', 'xa')),
    authority_code text NOT NULL REFERENCES authorities (code),
    groups         text[] NOT NULL DEFAULT '{}',
    lat            double precision,
    lon            double precision
);

CREATE TABLE schools (
    code      text PRIMARY KEY,
    name      text NOT NULL,
    ward_code text NOT NULL REFERENCES wards (code),
    address   text NOT NULL DEFAULT '',
    lat       double precision,
    lon       double precision
);

-- What a school offers for one level and school year: its quota (chỉ tiêu).
CREATE TABLE school_offers (
    school_code text NOT NULL REFERENCES schools (code),
    level       text NOT NULL CHECK (level IN ('mg3', 'mg4', 'mg5', 'lop1', 'lop6')),
    school_year integer NOT NULL,
    quota       integer NOT NULL CHECK (quota >= 0),
    PRIMARY KEY (school_code, level, school_year)
);

-- Catchment (tuyến tuyển sinh) zones, versioned per school year. A zone with
-- no groups is the whole ward.
CREATE TABLE catchment_zones (
    school_code text NOT NULL,
    level       text NOT NULL,
    school_year integer NOT NULL,
    ward_code   text NOT NULL REFERENCES wards (code),
    groups      text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (school_code, level, school_year, ward_code),
    FOREIGN KEY (school_code, level, school_year) REFERENCES school_offers ON DELETE CASCADE
);

-- Registration windows: one per level and school year.
CREATE TABLE windows (
    level       text NOT NULL CHECK (level IN ('mg3', 'mg4', 'mg5', 'lop1', 'lop6')),
    school_year integer NOT NULL,
    opens_at    timestamptz NOT NULL,
    closes_at   timestamptz NOT NULL CHECK (closes_at > opens_at),
    birth_year  integer NOT NULL,
    max_choices integer NOT NULL CHECK (max_choices BETWEEN 1 AND 20),
    PRIMARY KEY (level, school_year)
);

-- Applications as stored from the intake stream. id is assigned at intake and
-- makes redelivery idempotent; (child_id_number, level, school_year) makes a
-- child apply once per level and year.
CREATE TABLE applications (
    id              uuid PRIMARY KEY,
    tracking_code   text NOT NULL UNIQUE,
    level           text NOT NULL,
    school_year     integer NOT NULL,
    child_id_number text NOT NULL,
    child_name      text NOT NULL,
    date_of_birth   date NOT NULL,
    sex             text NOT NULL CHECK (sex IN ('male', 'female')),
    ethnicity       text NOT NULL DEFAULT '',
    place_of_birth  text NOT NULL DEFAULT '',
    over_age_reason text NOT NULL DEFAULT '',
    permanent_ward  text NOT NULL,
    permanent_group text NOT NULL DEFAULT '',
    permanent_address text NOT NULL DEFAULT '',
    current_ward    text NOT NULL,
    current_group   text NOT NULL DEFAULT '',
    current_address text NOT NULL DEFAULT '',
    guardian        jsonb NOT NULL,
    priority_group  smallint NOT NULL CHECK (priority_group BETWEEN 0 AND 3),
    choices         text[] NOT NULL,
    status          text NOT NULL DEFAULT 'received',
    submitted_at    timestamptz NOT NULL,
    stored_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (child_id_number, level, school_year),
    FOREIGN KEY (level, school_year) REFERENCES windows
);
CREATE INDEX applications_choice1 ON applications (level, school_year, (choices[1]));

-- A registration that reached the stream for a child who already had an
-- application (possible only if the intake's duplicate guard in Redis was
-- lost). Its tracking code then answers with the first application's code.
CREATE TABLE duplicate_submissions (
    tracking_code  text PRIMARY KEY,
    application_id uuid NOT NULL REFERENCES applications (id),
    submitted_at   timestamptz NOT NULL,
    stored_at      timestamptz NOT NULL DEFAULT now()
);

-- Every state change, with who and when.
CREATE TABLE application_events (
    id             bigserial PRIMARY KEY,
    application_id uuid NOT NULL REFERENCES applications (id),
    status         text NOT NULL,
    actor          text NOT NULL,
    reason         text NOT NULL DEFAULT '',
    at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX application_events_application ON application_events (application_id, at);

-- +goose Down
DROP TABLE application_events;
DROP TABLE duplicate_submissions;
DROP TABLE applications;
DROP TABLE windows;
DROP TABLE catchment_zones;
DROP TABLE school_offers;
DROP TABLE schools;
DROP TABLE wards;
DROP TABLE authorities;
