package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// The staff pages' summaries: a school's counts and the schools of an area.

// StatusCount is how many of a school's applicants (those who named it at
// any rank) are at one level and status.
type StatusCount struct {
	Level  enrollment.Level  `db:"level"`
	Status enrollment.Status `db:"status"`
	Count  int               `db:"count"`
}

const schoolCountsQuery = `
SELECT level, status, count(*) AS count
FROM applications
WHERE choices @> ARRAY[CAST($1 AS text)]
GROUP BY level, status
ORDER BY level, status`

// SchoolCounts returns the school's applicants counted per level and
// status, only the pairs that have any.
func (d *DB) SchoolCounts(ctx context.Context, school string) (_ []StatusCount, err error) {
	defer wrap(&err, "counts of school %s", school)
	counts := []StatusCount{}
	if err := d.db.SelectContext(ctx, &counts, schoolCountsQuery, school); err != nil {
		return nil, err
	}
	return counts, nil
}

// SchoolSummary is one school of an area as an officer's school picker
// lists it.
type SchoolSummary struct {
	Code       string `db:"code"`
	Name       string `db:"name"`
	WardCode   string `db:"ward_code"`
	WardName   string `db:"ward_name"`
	Applicants int    `db:"applicants"`
}

// schoolsOfAreaQuery walks the authority tree down from $1 (to any depth,
// at most 16 levels against a cycle entered by mistake) and lists the
// schools of its wards: the same schools staff.User.Covers grants an
// officer of $1, which walks the tree up from each school. $1 = ” is the
// whole city.
const schoolsOfAreaQuery = `
WITH RECURSIVE area (code, depth) AS (
    SELECT code, 0 FROM authorities WHERE code = $1
  UNION ALL
    SELECT a.code, area.depth + 1 FROM authorities a JOIN area ON a.parent_code = area.code
    WHERE area.depth < 16
)
SELECT s.code, s.name, w.code AS ward_code, w.name AS ward_name,
    (SELECT count(*) FROM applications ap WHERE ap.choices @> ARRAY[s.code]) AS applicants
FROM schools s JOIN wards w ON w.code = s.ward_code
WHERE ($1 = '' OR w.authority_code IN (SELECT code FROM area))
  AND ($2 = '' OR strpos(search_text(s.name || ' ' || s.code || ' ' || w.name), search_text($2)) > 0)
ORDER BY w.name, s.name, s.code`

// SchoolsOfArea returns the schools in the area of the authority with
// code authority, at any depth below it, with their applicant counts;
// an empty authority is the whole city. A non-empty q keeps the schools
// whose name, code or ward contains it, accent- and case-insensitively.
func (d *DB) SchoolsOfArea(ctx context.Context, authority, q string) (_ []SchoolSummary, err error) {
	defer wrap(&err, "schools of area %q", authority)
	schools := []SchoolSummary{}
	if err := d.db.SelectContext(ctx, &schools, schoolsOfAreaQuery, authority, q); err != nil {
		return nil, err
	}
	return schools, nil
}

const schoolNameQuery = `SELECT name FROM schools WHERE code = $1`

// SchoolName returns the name of the school with code, or
// enrollment.ErrNotFound.
func (d *DB) SchoolName(ctx context.Context, code string) (_ string, err error) {
	defer wrap(&err, "name of school %s", code)
	var name string
	err = d.db.GetContext(ctx, &name, schoolNameQuery, code)
	if errors.Is(err, sql.ErrNoRows) {
		return "", enrollment.ErrNotFound
	}
	return name, err
}
