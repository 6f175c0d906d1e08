-- +goose Up
-- A run's input is kept in chunks, each once for every run that holds it.
-- Officers preview, review goes on, and they preview again: between two
-- previews a few applications changed, not 150,000. Kept whole (00016),
-- the input of the second preview differed from the first's, and all of
-- it (6.5 MB for a Hanoi grade-1 year) was written again. Kept in chunks,
-- only the chunks that hold a changed child are.
--
-- The compact form (enrollment/postgres/snapshot.go) is its header, then
-- a chunk of the tables (the strings and places, in a fixed order: the
-- same children and schools give the same tables), then the children in
-- chunks by the first digits of their pseudonyms: a pseudonym is a hash,
-- so a chunk holds the same children from run to run until one of them
-- changes, whatever happened to the others.
--
-- instance_encoding 'chunked': instance holds the header; the chunks are
-- placement_inputs bodies, in the order placement_run_inputs gives.
CREATE TABLE placement_run_inputs (
    run_id bigint NOT NULL REFERENCES placement_runs (id) ON DELETE CASCADE,
    seq    integer NOT NULL,
    digest bytea NOT NULL REFERENCES placement_inputs (digest),
    PRIMARY KEY (run_id, seq)
);

ALTER TABLE placement_runs DROP CONSTRAINT placement_runs_instance_encoding_check;
ALTER TABLE placement_runs ADD CONSTRAINT placement_runs_instance_encoding_check
    CHECK (instance_encoding IN ('identity', 'compact', 'shared', 'chunked')
        AND (instance_encoding = 'shared') = (input_digest IS NOT NULL));

-- +goose Down
-- A published run keeps its instance file itself (identity); previews are
-- made again at will.
DELETE FROM placement_runs WHERE instance_encoding = 'chunked';
DROP TABLE placement_run_inputs;
ALTER TABLE placement_runs DROP CONSTRAINT placement_runs_instance_encoding_check;
ALTER TABLE placement_runs ADD CONSTRAINT placement_runs_instance_encoding_check
    CHECK (instance_encoding IN ('identity', 'compact', 'shared') AND (instance_encoding = 'shared') = (input_digest IS NOT NULL));
