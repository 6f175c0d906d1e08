-- +goose Up
-- Placement runs on the database (issue 9). A run keeps its instance file
-- (tens of megabytes for a city's level) and, once published, its result
-- file: compressed with lz4 rather than the default pglz, which took
-- longer than placing the children; JSON shrinks about as well.
ALTER TABLE placement_runs ALTER COLUMN instance SET COMPRESSION lz4;
ALTER TABLE placement_runs ALTER COLUMN result SET COMPRESSION lz4;

-- +goose Down
ALTER TABLE placement_runs ALTER COLUMN result SET COMPRESSION default;
ALTER TABLE placement_runs ALTER COLUMN instance SET COMPRESSION default;
