package enrollment

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"
	"golang.org/x/text/unicode/norm"
)

// ResidenceCategory places a child's residence against one school's
// catchment, as Hanoi's online system did: dt1 when both the permanent and
// the current residence lie in it, dt2 the permanent only, dt3 the current
// only, dt4 neither. A catchment zone with no residential groups is the
// whole ward, else the groups it lists (Offer.InCatchment).
type ResidenceCategory string

// Residence categories.
const (
	DT1 ResidenceCategory = "dt1"
	DT2 ResidenceCategory = "dt2"
	DT3 ResidenceCategory = "dt3"
	DT4 ResidenceCategory = "dt4"
)

// Valid reports whether c is one of the categories.
func (c ResidenceCategory) Valid() bool { return c == DT1 || c == DT2 || c == DT3 || c == DT4 }

// MaxPerPage is the most applicants one page of a list holds.
const MaxPerPage = 200

// ApplicantQuery selects a school's applicants: those who named the
// school at any rank, narrowed by the filters that are set. Q matches the
// child's name accent- and case-insensitively, anywhere in it, or a
// tracking code exactly. Page counts from 1.
type ApplicantQuery struct {
	School   string
	Level    Level
	Status   Status
	Category ResidenceCategory
	Priority *int
	Q        string
	Page     int
	PerPage  int
}

// Applicant is one line of a school's applicant list.
type Applicant struct {
	TrackingCode      string            `json:"tracking_code"`
	Status            Status            `json:"status"`
	Level             Level             `json:"level"`
	SchoolYear        int               `json:"school_year"`
	ChildName         string            `json:"child_name"`
	DateOfBirth       string            `json:"date_of_birth"`
	Sex               Sex               `json:"sex"`
	ResidenceCategory ResidenceCategory `json:"residence_category"`
	PriorityGroup     int               `json:"priority_group"`
	Choices           []string          `json:"choices"`
	ChoiceRank        int               `json:"choice_rank"`
	SubmittedAt       time.Time         `json:"submitted_at"`
}

// ApplicantPage is one page of a school's applicants and the count of all
// that match.
type ApplicantPage struct {
	Applications []Applicant `json:"applications"`
	Total        int         `json:"total"`
	Page         int         `json:"page"`
	PerPage      int         `json:"per_page"`
}

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
func (s *Store) Applicants(ctx context.Context, q ApplicantQuery) (ApplicantPage, error) {
	if q.PerPage <= 0 {
		q.PerPage = 50
	}
	q.PerPage = min(q.PerPage, MaxPerPage)
	q.Page = max(q.Page, 1)
	prio := -1
	if q.Priority != nil {
		prio = *q.Priority
	}
	like := escapeLike(norm.NFC.String(strings.TrimSpace(q.Q)))
	page := ApplicantPage{Applications: []Applicant{}, Page: q.Page, PerPage: q.PerPage}
	rows, err := s.db.QueryContext(ctx, applicantsQuery, q.School, string(q.Level), string(q.Status), prio, like,
		string(q.Category), q.PerPage, (q.Page-1)*q.PerPage)
	if err != nil {
		return ApplicantPage{}, fmt.Errorf("applicants of %s: %w", q.School, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Applicant
		var choices pq.StringArray
		if err := rows.Scan(&a.TrackingCode, &a.Status, &a.Level, &a.SchoolYear, &a.ChildName, &a.DateOfBirth, &a.Sex,
			&a.ResidenceCategory, &a.PriorityGroup, &choices, &a.ChoiceRank, &a.SubmittedAt, &page.Total); err != nil {
			return ApplicantPage{}, fmt.Errorf("applicants of %s: %w", q.School, err)
		}
		a.Choices, a.SubmittedAt = choices, a.SubmittedAt.UTC()
		page.Applications = append(page.Applications, a)
	}
	if err := rows.Err(); err != nil {
		return ApplicantPage{}, fmt.Errorf("applicants of %s: %w", q.School, err)
	}
	if len(page.Applications) == 0 && q.Page > 1 {
		// Past the end: the window count had no row to ride on.
		const qCount = `SELECT count(*) FROM (` + applicantsQuery + `) AS all_pages`
		if err := s.db.GetContext(ctx, &page.Total, qCount, q.School, string(q.Level), string(q.Status), prio, like,
			string(q.Category), nil, 0); err != nil {
			return ApplicantPage{}, fmt.Errorf("count applicants of %s: %w", q.School, err)
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
