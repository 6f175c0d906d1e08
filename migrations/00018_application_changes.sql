-- +goose Up
-- Which applications changed since a moment: what a placement run needs to
-- bring the children it read before up to date, rather than read them all
-- again (150,000 for a Hanoi grade-1 year, while officers preview over and
-- over and clerks review a few at a time in between).
--
-- line_xid is the transaction that last wrote the application: its
-- insert, by default, and every update, by the trigger. A reader takes,
-- in the snapshot it reads in, the oldest transaction still running
-- (pg_snapshot_xmin): every application written by an older transaction
-- is as it read it, so the next time it reads only those of its level and
-- year with a line_xid at least that one. xid8 never wraps around.
ALTER TABLE applications ADD COLUMN line_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX applications_line_xid ON applications (level, school_year, line_xid);

-- The service never removes an application, nor moves one to another
-- level or year; whoever does leaves a note in application_removals, so
-- that a reader of the level and year it left knows it is gone.
CREATE TABLE application_removals (
    line_xid      xid8 NOT NULL DEFAULT pg_current_xact_id(),
    level         text NOT NULL,
    school_year   integer NOT NULL,
    tracking_code text NOT NULL
);
CREATE INDEX application_removals_line_xid ON application_removals (level, school_year, line_xid);

-- +goose StatementBegin
CREATE FUNCTION applications_line_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.line_xid := pg_current_xact_id();
    IF (NEW.level, NEW.school_year, NEW.tracking_code) IS DISTINCT FROM (OLD.level, OLD.school_year, OLD.tracking_code) THEN
        INSERT INTO application_removals (level, school_year, tracking_code)
        VALUES (OLD.level, OLD.school_year, OLD.tracking_code);
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd

CREATE TRIGGER applications_line_xid BEFORE UPDATE ON applications
    FOR EACH ROW EXECUTE FUNCTION applications_line_xid();

-- +goose StatementBegin
CREATE FUNCTION applications_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO application_removals (level, school_year, tracking_code)
    SELECT level, school_year, tracking_code FROM removed_apps;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER applications_removed AFTER DELETE ON applications
    REFERENCING OLD TABLE AS removed_apps FOR EACH STATEMENT EXECUTE FUNCTION applications_removed();

-- Emptied at once, the table says so with a note of no level: a reader
-- then reads every application again.
-- +goose StatementBegin
CREATE FUNCTION applications_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO application_removals (level, school_year, tracking_code) VALUES ('', 0, '');
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER applications_truncated AFTER TRUNCATE ON applications
    FOR EACH STATEMENT EXECUTE FUNCTION applications_truncated();

-- +goose Down
DROP TRIGGER applications_truncated ON applications;
DROP FUNCTION applications_truncated();
DROP TRIGGER applications_removed ON applications;
DROP FUNCTION applications_removed();
DROP TABLE application_removals;
DROP TRIGGER applications_line_xid ON applications;
DROP FUNCTION applications_line_xid();
ALTER TABLE applications DROP COLUMN line_xid;
