-- +goose Up
-- A preview keeps its input and nothing more. An officer makes previews
-- over and over; each used to write every child's line (150,000 for a
-- Hanoi grade-1 year) and the instance file as text, which took ten times
-- as long as placing the children. The lines are a function of the
-- instance (the engine is deterministic): a preview's pages and
-- comparisons place its instance again, and its lines are written once,
-- when it is published, the one time parents need them.
--
-- instance_encoding says how instance is kept: 'identity' (the file as it
-- is) or 'compact' (the service's compact form of it, a fifth of the size,
-- which PostgreSQL does not try to compress). kept holds, for a later round, the children who confirmed and
-- keep their school: they are not in the instance, and their lines are
-- written with the others at publishing.
ALTER TABLE placement_runs ADD COLUMN instance_encoding text NOT NULL DEFAULT 'identity'
    CHECK (instance_encoding IN ('identity', 'compact'));
ALTER TABLE placement_runs ADD COLUMN kept jsonb NOT NULL DEFAULT '[]';
ALTER TABLE placement_runs ALTER COLUMN instance SET STORAGE EXTERNAL;

-- The previews made before keep their kept children here, and lose their
-- lines, which publishing writes again.
UPDATE placement_runs r SET kept = k.lines
FROM (SELECT pa.run_id, jsonb_agg(jsonb_build_object('application_id', pa.application_id, 'pseudonym', pa.pseudonym,
        'school', pa.school_code, 'choice_rank', pa.choice_rank, 'lottery', pa.lottery) ORDER BY pa.pseudonym) AS lines
    FROM placement_assignments pa WHERE pa.via = 'kept' GROUP BY pa.run_id) k
WHERE r.id = k.run_id AND r.status = 'preview';
DELETE FROM placement_assignments pa USING placement_runs r WHERE pa.run_id = r.id AND r.status = 'preview';

-- +goose Down
-- Previews are made again at will; the earlier schema wants their lines.
DELETE FROM placement_runs WHERE status = 'preview';
ALTER TABLE placement_runs ALTER COLUMN instance SET STORAGE EXTENDED;
ALTER TABLE placement_runs DROP COLUMN kept;
ALTER TABLE placement_runs DROP COLUMN instance_encoding;
