-- +goose Up
-- School review and direct registration (issue 8).
--
-- Names are searched accent-insensitively ("nguyen van an" finds "Nguyễn
-- Văn An") through PostgreSQL's unaccent extension (postgresql-contrib,
-- shipped with Debian's postgresql-15; a trusted extension, so the
-- database owner may create it). unaccent() itself is only STABLE (its
-- dictionary could change), so a generated column cannot call it: the
-- IMMUTABLE wrapper below names the dictionary explicitly, the usual way
-- to make it indexable. The normalised name is a stored generated column,
-- so every way an application is written (the intake's batch insert, a
-- direct registration, a correction) keeps it right without knowing of it.
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE FUNCTION search_text(s text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, s));

-- source says how an application came in: online through the intake, or
-- registered directly by a school clerk. status_reason is the reason of the
-- latest transition (the return reason the parent reads while returned).
ALTER TABLE applications
    ADD COLUMN source text NOT NULL DEFAULT 'online' CHECK (source IN ('online', 'direct')),
    ADD COLUMN status_reason text NOT NULL DEFAULT '',
    ADD COLUMN name_search text GENERATED ALWAYS AS (search_text(child_name)) STORED;

-- A voided application stays in the history, and the child may register
-- again: one application per child, level and year among those not voided.
ALTER TABLE applications DROP CONSTRAINT applications_child_id_number_level_school_year_key;
CREATE UNIQUE INDEX applications_one_per_child ON applications (child_id_number, level, school_year)
    WHERE status <> 'voided';

-- A school's applicant list: everyone who named the school at any rank.
CREATE INDEX applications_choices ON applications USING gin (choices);

-- Events say who (actor and role), from which state to which, and why.
-- status is kept, equal to to_status, for what already reads it.
ALTER TABLE application_events
    ADD COLUMN actor_role  text NOT NULL DEFAULT '',
    ADD COLUMN from_status text NOT NULL DEFAULT '',
    ADD COLUMN to_status   text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE application_events DROP COLUMN to_status, DROP COLUMN from_status, DROP COLUMN actor_role;
DROP INDEX applications_choices;
DROP INDEX applications_one_per_child;
-- Fails while a voided application and a later one of the same child both
-- exist: the old constraint cannot hold them.
ALTER TABLE applications ADD CONSTRAINT applications_child_id_number_level_school_year_key
    UNIQUE (child_id_number, level, school_year);
ALTER TABLE applications DROP COLUMN name_search, DROP COLUMN status_reason, DROP COLUMN source;
DROP FUNCTION search_text(text);
DROP EXTENSION IF EXISTS unaccent;
