package postgres

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/tuyensinh/tuyensinh/enrollment"
)

// PopulationRegister is a Registry backed by the population_register table:
// the demo city's stand-in for the national population database, filled by
// SavePopulation (seed --demo). A real deployment implements Registry with
// an adapter to the national service instead.
type PopulationRegister struct{ db *sqlx.DB }

// NewPopulationRegister returns the register kept in db.
func NewPopulationRegister(db *sqlx.DB) *PopulationRegister { return &PopulationRegister{db: db} }

// Verify looks the child up by ID number and compares the name (SameName),
// the date of birth and, when the query has one, the guardian's ID number
// with those recorded. An unknown ID number is VerdictNoMatch. It returns an
// error, without the query's personal data, when the database cannot answer.
func (r *PopulationRegister) Verify(ctx context.Context, q enrollment.RegistryQuery) (_ enrollment.Verdict, err error) {
	defer wrap(&err, "population register lookup")
	const qPerson = `
SELECT full_name, to_char(date_of_birth, 'YYYY-MM-DD'), guardian_id_numbers
FROM population_register WHERE id_number = $1`
	var (
		name, dob string
		guardians pq.StringArray
	)
	err = r.db.QueryRowContext(ctx, qPerson, q.ChildIDNumber).Scan(&name, &dob, &guardians)
	if errors.Is(err, sql.ErrNoRows) {
		return enrollment.VerdictNoMatch, nil
	}
	if err != nil {
		return 0, err
	}
	if !enrollment.SameName(name, q.ChildName) || dob != q.DateOfBirth {
		return enrollment.VerdictNoMatch, nil
	}
	if q.GuardianIDNumber != "" && !slices.Contains(guardians, q.GuardianIDNumber) {
		return enrollment.VerdictNoMatch, nil
	}
	return enrollment.VerdictMatch, nil
}

// SavePopulation writes people into the population register in one
// statement, replacing the record of an ID number already there; running
// it twice changes nothing.
func (d *DB) SavePopulation(ctx context.Context, people []enrollment.Person) (err error) {
	defer wrap(&err, "save population register")
	n := len(people)
	ids, names, dobs, guardians := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, p := range people {
		ids[i], names[i], dobs[i] = p.IDNumber, p.FullName, p.DateOfBirth
		// ID numbers are digits: a comma separates them safely, and keeps
		// the statement to one-dimensional arrays that unnest pairs up.
		guardians[i] = strings.Join(p.GuardianIDNumbers, ",")
	}
	const q = `
INSERT INTO population_register (id_number, full_name, date_of_birth, guardian_id_numbers)
SELECT id, name, CAST(dob AS date), COALESCE(string_to_array(NULLIF(g, ''), ','), CAST('{}' AS text[]))
FROM unnest(CAST($1 AS text[]), CAST($2 AS text[]), CAST($3 AS text[]), CAST($4 AS text[])) AS s(id, name, dob, g)
ON CONFLICT (id_number) DO UPDATE SET full_name = excluded.full_name, date_of_birth = excluded.date_of_birth,
    guardian_id_numbers = excluded.guardian_id_numbers`
	if _, err := d.db.ExecContext(ctx, q, pq.Array(ids), pq.Array(names), pq.Array(dobs), pq.Array(guardians)); err != nil {
		return err
	}
	return nil
}
