-- +goose Up
-- placement_line is what a placement run reads of an application, kept
-- with it, ready: the fields the engine places by, tab-separated, the
-- choices space-separated within theirs (codes, wards and groups hold
-- neither):
--
--   tracking_code  choices  permanent_ward  permanent_group  current_ward  current_group  priority_group
--
-- A run of a Hanoi grade-1 year reads 150,000 of them. Formatting them at
-- each run (the text of the choices, of the numbers) took PostgreSQL
-- longer than placing the children; it now formats each once, when the
-- application is stored or changed, and a run reads the stored text as it
-- is. The service hashes the pseudonyms itself: PostgreSQL's sha256 cost
-- the intake a microsecond a child, the service's a tenth of that at run
-- time. Never a name, an ID number or an address.
--
-- The function is written so that PostgreSQL inlines it into the column's
-- expression, which takes every function in it to be immutable: the
-- choices are joined one by one, up to the 20 a window may allow
-- (windows.max_choices), array_to_string being only stable. Called as a
-- function it cost several microseconds a row.
CREATE FUNCTION placement_line(tracking_code text, choices text[], permanent_ward text, permanent_group text,
        current_ward text, current_group text, priority_group smallint)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN tracking_code || E'\t' || COALESCE(
            choices[1] || COALESCE(' ' || choices[2], '') || COALESCE(' ' || choices[3], '') || COALESCE(' ' || choices[4], '') ||
            COALESCE(' ' || choices[5], '') || COALESCE(' ' || choices[6], '') || COALESCE(' ' || choices[7], '') || COALESCE(' ' || choices[8], '') ||
            COALESCE(' ' || choices[9], '') || COALESCE(' ' || choices[10], '') || COALESCE(' ' || choices[11], '') || COALESCE(' ' || choices[12], '') ||
            COALESCE(' ' || choices[13], '') || COALESCE(' ' || choices[14], '') || COALESCE(' ' || choices[15], '') || COALESCE(' ' || choices[16], '') ||
            COALESCE(' ' || choices[17], '') || COALESCE(' ' || choices[18], '') || COALESCE(' ' || choices[19], '') || COALESCE(' ' || choices[20], ''), '')
        || E'\t' || permanent_ward || E'\t' || permanent_group || E'\t' || current_ward || E'\t' || current_group
        || E'\t' || priority_group::text;

ALTER TABLE applications ADD COLUMN placement_line text NOT NULL
    GENERATED ALWAYS AS (placement_line(tracking_code, choices, permanent_ward, permanent_group,
        current_ward, current_group, priority_group)) STORED;

-- +goose Down
ALTER TABLE applications DROP COLUMN placement_line;
DROP FUNCTION placement_line(text, text[], text, text, text, text, smallint);
