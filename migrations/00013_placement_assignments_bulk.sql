-- +goose Up
-- A placement run writes every child's line at once by COPY: 150,000 for
-- a Hanoi grade-1 year, a million for a whole city. The two foreign keys of
-- placement_assignments checked each line on its own (one trigger and one
-- index probe per line and key), which took most of a preview's time,
-- several times the placing itself (and a check of the whole set per
-- statement, against applications and runs, still cost as much as the
-- placing). A run's lines are written only by the service, in the
-- transaction that creates the run, for the applications it has just
-- read; what the keys kept otherwise is kept here once per statement:
--   * a run removed takes its lines with it (ON DELETE CASCADE before);
--   * an application named by a line cannot be removed (the service never
--     removes one);
--   * a line re-keyed must name an existing run and application.
ALTER TABLE placement_assignments DROP CONSTRAINT placement_assignments_run_id_fkey;
ALTER TABLE placement_assignments DROP CONSTRAINT placement_assignments_application_id_fkey;

-- A line is never re-keyed by the service (publishing sets only its
-- explanations); should one be, it is checked as the keys did.
-- +goose StatementBegin
CREATE FUNCTION placement_assignments_rekey() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM placement_runs WHERE id = NEW.run_id)
        OR NOT EXISTS (SELECT 1 FROM applications WHERE id = NEW.application_id) THEN
        RAISE EXCEPTION 'placement_assignments: run % or application % does not exist', NEW.run_id, NEW.application_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER placement_assignments_rekey AFTER UPDATE OF run_id, application_id ON placement_assignments
    FOR EACH ROW EXECUTE FUNCTION placement_assignments_rekey();

-- +goose StatementBegin
CREATE FUNCTION placement_runs_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM placement_assignments pa USING old_runs o WHERE pa.run_id = o.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER placement_runs_cascade AFTER DELETE ON placement_runs
    REFERENCING OLD TABLE AS old_runs FOR EACH STATEMENT EXECUTE FUNCTION placement_runs_cascade();

-- Applications are never removed by the service, and their ids never
-- change; a removal that would leave a run's line naming nothing fails.
-- +goose StatementBegin
CREATE FUNCTION applications_placed_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad uuid;
BEGIN
    SELECT o.id INTO bad FROM old_apps o JOIN placement_assignments pa ON pa.application_id = o.id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'application % is named by a placement run', bad
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER applications_placed_delete AFTER DELETE ON applications
    REFERENCING OLD TABLE AS old_apps FOR EACH STATEMENT EXECUTE FUNCTION applications_placed_check();

-- +goose Down
DROP TRIGGER applications_placed_delete ON applications;
DROP FUNCTION applications_placed_check();
DROP TRIGGER placement_runs_cascade ON placement_runs;
DROP FUNCTION placement_runs_cascade();
DROP TRIGGER placement_assignments_rekey ON placement_assignments;
DROP FUNCTION placement_assignments_rekey();
ALTER TABLE placement_assignments ADD FOREIGN KEY (application_id) REFERENCES applications (id);
ALTER TABLE placement_assignments ADD FOREIGN KEY (run_id) REFERENCES placement_runs (id) ON DELETE CASCADE;
