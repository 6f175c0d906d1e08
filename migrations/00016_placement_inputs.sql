-- +goose Up
-- Previews of the same children share their stored input. An officer
-- previews DA against Boston, this year's quotas against raised ones, on
-- the same applications: the runs' instances differ in their header (the
-- mechanism, the rules, the schools and their quotas) and nothing else.
-- The rest of the compact form (snapshot.go: the strings, the places and
-- every child, 6.5 MB for a Hanoi grade-1 year) is kept once, in
-- placement_inputs, under its SHA-256, and a run whose children are the
-- same as an earlier run's writes only its header.
--
-- instance_encoding 'shared': instance holds the compact form's header
-- part, placement_inputs.body (by input_digest) the rest.
CREATE TABLE placement_inputs (
    digest     bytea PRIMARY KEY CHECK (length(digest) = 32),
    body       bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE placement_inputs ALTER COLUMN body SET STORAGE EXTERNAL;

ALTER TABLE placement_runs ADD COLUMN input_digest bytea REFERENCES placement_inputs (digest);
ALTER TABLE placement_runs DROP CONSTRAINT placement_runs_instance_encoding_check;
ALTER TABLE placement_runs ADD CONSTRAINT placement_runs_instance_encoding_check
    CHECK (instance_encoding IN ('identity', 'compact', 'shared') AND (instance_encoding = 'shared') = (input_digest IS NOT NULL));

-- +goose Down
UPDATE placement_runs r SET instance = r.instance || i.body, instance_encoding = 'compact', input_digest = NULL
FROM placement_inputs i WHERE r.input_digest = i.digest;
ALTER TABLE placement_runs DROP CONSTRAINT placement_runs_instance_encoding_check;
ALTER TABLE placement_runs ADD CONSTRAINT placement_runs_instance_encoding_check
    CHECK (instance_encoding IN ('identity', 'compact'));
ALTER TABLE placement_runs DROP COLUMN input_digest;
DROP TABLE placement_inputs;
