package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/lib/pq"
	"github.com/tuyensinh/tuyensinh/enrollment"
	"golang.org/x/text/unicode/norm"
)

// applicantsQuery finds the applicants of school $1 (through the GIN
// index on choices once the school is a small share of the applications),
// places each residence against the catchment the school has for the
// application's own level and year, filters, and returns one page with the
// count of all matches. A school has at most one zone per ward (the
// primary key), so each residence joins at most one zone: two hash joins
// against the school's few zones, where a subquery per row would cost a
// probe per applicant (and, by the planner's estimate, a JIT compilation).
// Oldest submissions first, then by code, so pages do not overlap.
const applicantsQuery = `
WITH z AS (
    SELECT level, school_year, ward_code, groups FROM catchment_zones WHERE school_code = $1
), a AS (
    SELECT a.tracking_code, a.status, a.level, a.school_year, a.child_name, a.date_of_birth,
        a.sex, a.priority_group, a.choices, array_position(a.choices, $1) AS choice_rank, a.submitted_at,
        zp.ward_code IS NOT NULL AND (cardinality(zp.groups) = 0 OR a.permanent_group = ANY (zp.groups)) AS permanent_in,
        zc.ward_code IS NOT NULL AND (cardinality(zc.groups) = 0 OR a.current_group = ANY (zc.groups)) AS current_in
    FROM applications a
    LEFT JOIN z zp ON zp.level = a.level AND zp.school_year = a.school_year AND zp.ward_code = a.permanent_ward
    LEFT JOIN z zc ON zc.level = a.level AND zc.school_year = a.school_year AND zc.ward_code = a.current_ward
    WHERE a.choices @> ARRAY[CAST($1 AS text)]
      AND ($2 = '' OR a.level = $2)
      AND ($3 = '' OR a.status = $3)
      AND ($4 < 0 OR a.priority_group = $4)
      AND ($5 = '' OR a.name_search LIKE '%' || search_text($5) || '%' OR a.tracking_code = upper($5))
), c AS (
    SELECT *, CASE WHEN permanent_in AND current_in THEN 'dt1' WHEN permanent_in THEN 'dt2'
                   WHEN current_in THEN 'dt3' ELSE 'dt4' END AS category
    FROM a
)
SELECT tracking_code, status, level, school_year, child_name, to_char(date_of_birth, 'YYYY-MM-DD'), sex, category,
    priority_group, choices, choice_rank, submitted_at, count(*) OVER () AS total
FROM c
WHERE $6 = '' OR category = $6
ORDER BY submitted_at, tracking_code
LIMIT $7 OFFSET $8`

// Applicants returns one page of a school's applicants (see
// ApplicantQuery). PerPage is clamped to 1..MaxPerPage (0: 50) and Page to
// at least 1. A page past the end has no applications and the true total.
func (d *DB) Applicants(ctx context.Context, q enrollment.ApplicantQuery) (_ enrollment.ApplicantPage, err error) {
	defer wrap(&err, "applicants of %s", q.School)
	if q.PerPage <= 0 {
		q.PerPage = 50
	}
	q.PerPage = min(q.PerPage, enrollment.MaxPerPage)
	q.Page = max(q.Page, 1)
	prio := -1
	if q.Priority != nil {
		prio = *q.Priority
	}
	like := escapeLike(norm.NFC.String(strings.TrimSpace(q.Q)))
	page := enrollment.ApplicantPage{Applications: []enrollment.Applicant{}, Page: q.Page, PerPage: q.PerPage}
	rows, err := d.db.QueryContext(ctx, applicantsQuery, q.School, string(q.Level), string(q.Status), prio, like,
		string(q.Category), q.PerPage, (q.Page-1)*q.PerPage)
	if err != nil {
		return enrollment.ApplicantPage{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var a enrollment.Applicant
		var choices pq.StringArray
		if err := rows.Scan(&a.TrackingCode, &a.Status, &a.Level, &a.SchoolYear, &a.ChildName, &a.DateOfBirth, &a.Sex,
			&a.ResidenceCategory, &a.PriorityGroup, &choices, &a.ChoiceRank, &a.SubmittedAt, &page.Total); err != nil {
			return enrollment.ApplicantPage{}, err
		}
		a.Choices, a.SubmittedAt = choices, a.SubmittedAt.UTC()
		page.Applications = append(page.Applications, a)
	}
	if err := rows.Err(); err != nil {
		return enrollment.ApplicantPage{}, err
	}
	if len(page.Applications) == 0 && q.Page > 1 {
		// Past the end: the window count had no row to ride on.
		const qCount = `SELECT count(*) FROM (` + applicantsQuery + `) AS all_pages`
		if err := d.db.GetContext(ctx, &page.Total, qCount, q.School, string(q.Level), string(q.Status), prio, like,
			string(q.Category), nil, 0); err != nil {
			return enrollment.ApplicantPage{}, fmt.Errorf("count: %w", err)
		}
	}
	return page, nil
}

// escapeLike escapes LIKE's wildcards, so that a searched "%" or "_" is
// itself.
func escapeLike(s string) string {
	r := make([]rune, 0, len(s))
	for _, c := range s {
		if c == '%' || c == '_' || c == '\\' {
			r = append(r, '\\')
		}
		r = append(r, c)
	}
	return string(r)
}

// EachApplicant calls fn with every applicant of the school that matches
// q, in the list's order (oldest submission first), as the rows come from
// PostgreSQL: an export of thousands of applicants never holds them all
// in memory. Page and PerPage are ignored. The first error of fn stops the
// walk and is returned wrapped (errors.Is and errors.As find it), as is a
// database error.
func (d *DB) EachApplicant(ctx context.Context, q enrollment.ApplicantQuery, fn func(enrollment.Applicant) error) (err error) {
	defer wrap(&err, "export applicants of %s", q.School)
	prio := -1
	if q.Priority != nil {
		prio = *q.Priority
	}
	like := escapeLike(norm.NFC.String(strings.TrimSpace(q.Q)))
	// LIMIT NULL is no limit: the list's own query, every page at once.
	rows, err := d.db.QueryContext(ctx, applicantsQuery, q.School, string(q.Level), string(q.Status), prio, like,
		string(q.Category), nil, 0)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var a enrollment.Applicant
		var choices pq.StringArray
		var total int
		if err := rows.Scan(&a.TrackingCode, &a.Status, &a.Level, &a.SchoolYear, &a.ChildName, &a.DateOfBirth, &a.Sex,
			&a.ResidenceCategory, &a.PriorityGroup, &choices, &a.ChoiceRank, &a.SubmittedAt, &total); err != nil {
			return err
		}
		a.Choices, a.SubmittedAt = choices, a.SubmittedAt.UTC()
		if err := fn(a); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return nil
}
