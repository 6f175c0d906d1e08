-- +goose Up
-- The officers' live dashboard (issue 9) counts registrations per hour,
-- level and ward over the last hours, every few seconds during a window.
-- This index lets that count read only the recent entries, by time, and
-- (with the table's visibility map set) never the rows themselves.
CREATE INDEX applications_submitted ON applications (submitted_at) INCLUDE (school_year, level, current_ward);

-- +goose Down
DROP INDEX applications_submitted;
