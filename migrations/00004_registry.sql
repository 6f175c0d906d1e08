-- +goose Up
-- A window may verify each registration against the population register
-- (Cơ sở dữ liệu quốc gia về dân cư) before queueing it. Off unless the
-- authority turns it on: the register is a service of another agency, and
-- intake must not depend on it.
ALTER TABLE windows ADD COLUMN verify_registry boolean NOT NULL DEFAULT false;

-- The demo city's stand-in for the population register: one row per child,
-- with the ID numbers of the parents and guardian recorded for the child.
-- A real deployment asks the national database through an adapter instead.
CREATE TABLE population_register (
    id_number           text PRIMARY KEY,
    full_name           text NOT NULL,
    date_of_birth       date NOT NULL,
    guardian_id_numbers text[] NOT NULL DEFAULT '{}'
);

-- +goose Down
DROP TABLE population_register;
ALTER TABLE windows DROP COLUMN verify_registry;
