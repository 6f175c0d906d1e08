-- +goose Up
-- Placement on the stored applications (issue 9) and the parents' results
-- (issue 10): the authorities' placement policies, the lottery seeds
-- committed before a window closes, placement runs with their snapshot,
-- each run's assignments, and which published run placed an application.

-- The last moment a parent may confirm (xác nhận nhập học) a seat of the
-- level's first round; a later round sets its own on the run.
ALTER TABLE windows ADD COLUMN confirm_by timestamptz;

-- How an authority places a level in a school year: the engine's ordered
-- priority rules (allocation/doc.go), mechanism and tie-break. The city's
-- row (authority HN) applies where an authority below has none.
CREATE TABLE placement_policies (
    authority_code text NOT NULL REFERENCES authorities (code),
    level          text NOT NULL CHECK (level IN ('mg3', 'mg4', 'mg5', 'lop1', 'lop6')),
    school_year    integer NOT NULL,
    priority_rules text[] NOT NULL DEFAULT '{}',
    mechanism      text NOT NULL DEFAULT 'da' CHECK (mechanism IN ('da', 'boston')),
    tie_break      text NOT NULL DEFAULT 'single' CHECK (tie_break IN ('single', 'multiple')),
    administrative_placement boolean NOT NULL DEFAULT true,
    PRIMARY KEY (authority_code, level, school_year)
);

-- The audit of reference data (schools, quotas, catchments, windows,
-- policies): who changed which object, and what it was before and after.
CREATE TABLE reference_events (
    id         bigserial PRIMARY KEY,
    actor      text NOT NULL,
    actor_role text NOT NULL,
    kind       text NOT NULL,
    object     text NOT NULL,
    before     jsonb,
    after      jsonb,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reference_events_object ON reference_events (kind, object, at);

-- A level's lottery seed, committed before its window closes: the
-- commitment (hex SHA-256 of the seed) is public at once; the seed is
-- revealed when a run of the level and year is published.
CREATE TABLE placement_seeds (
    level       text NOT NULL,
    school_year integer NOT NULL,
    seed        text NOT NULL,
    commitment  text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revealed_at timestamptz,
    PRIMARY KEY (level, school_year)
);

-- A placement run: a preview until published, immutable after. scope is
-- the authority whose schools the run covers, '' for the whole city.
-- instance is the engine's input file exactly as served; result the
-- engine's output file (kept so a published run is served as it was).
CREATE TABLE placement_runs (
    id              bigserial PRIMARY KEY,
    level           text NOT NULL,
    school_year     integer NOT NULL,
    round           integer NOT NULL CHECK (round >= 1),
    mechanism       text NOT NULL CHECK (mechanism IN ('da', 'boston')),
    include         text NOT NULL CHECK (include IN ('accepted', 'received')),
    scope           text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'preview' CHECK (status IN ('preview', 'published')),
    seed_commitment text NOT NULL,
    instance        bytea NOT NULL,
    result          bytea,
    stats           jsonb NOT NULL DEFAULT '{}',
    confirm_by      timestamptz,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    published_by    text,
    published_at    timestamptz,
    FOREIGN KEY (level, school_year) REFERENCES placement_seeds
);
CREATE INDEX placement_runs_level ON placement_runs (level, school_year, created_at);
-- One published run per level, school year and round.
CREATE UNIQUE INDEX placement_runs_published ON placement_runs (level, school_year, round)
    WHERE status = 'published';

-- What a run decided for each application, by the application's pseudonym
-- (hex SHA-256 of "<level>/<school_year>/<tracking code>"). school_code is
-- NULL for an unassigned child; via is choice, administrative, unassigned
-- or kept (a round-2 child who had confirmed keeps its school). lottery is
-- the hex digest; explanations the engine's, as in the result file.
CREATE TABLE placement_assignments (
    run_id         bigint NOT NULL REFERENCES placement_runs (id) ON DELETE CASCADE,
    application_id uuid NOT NULL REFERENCES applications (id),
    pseudonym      text NOT NULL,
    school_code    text,
    choice_rank    integer NOT NULL DEFAULT 0,
    via            text NOT NULL,
    distance_km    double precision,
    lottery        text NOT NULL,
    explanations   jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (run_id, application_id)
);

-- The published run that last placed (or left unplaced) an application;
-- its row in placement_assignments is the result a parent is shown.
ALTER TABLE applications ADD COLUMN placed_run_id bigint REFERENCES placement_runs (id);

-- +goose Down
ALTER TABLE applications DROP COLUMN placed_run_id;
DROP TABLE placement_assignments;
DROP TABLE placement_runs;
DROP TABLE placement_seeds;
DROP TABLE reference_events;
DROP TABLE placement_policies;
ALTER TABLE windows DROP COLUMN confirm_by;
