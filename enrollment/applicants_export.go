package enrollment

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"
	"golang.org/x/text/unicode/norm"
)

// EachApplicant calls fn with every applicant of the school that matches
// q, in the list's order (oldest submission first), as the rows come from
// PostgreSQL: an export of thousands of applicants never holds them all
// in memory. Page and PerPage are ignored. The first error of fn stops the
// walk and is returned as it is; a database error is returned wrapped.
func (s *Store) EachApplicant(ctx context.Context, q ApplicantQuery, fn func(Applicant) error) error {
	prio := -1
	if q.Priority != nil {
		prio = *q.Priority
	}
	like := escapeLike(norm.NFC.String(strings.TrimSpace(q.Q)))
	// LIMIT NULL is no limit: the list's own query, every page at once.
	rows, err := s.db.QueryContext(ctx, applicantsQuery, q.School, string(q.Level), string(q.Status), prio, like,
		string(q.Category), nil, 0)
	if err != nil {
		return fmt.Errorf("export applicants of %s: %w", q.School, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Applicant
		var choices pq.StringArray
		var total int
		if err := rows.Scan(&a.TrackingCode, &a.Status, &a.Level, &a.SchoolYear, &a.ChildName, &a.DateOfBirth, &a.Sex,
			&a.ResidenceCategory, &a.PriorityGroup, &choices, &a.ChoiceRank, &a.SubmittedAt, &total); err != nil {
			return fmt.Errorf("export applicants of %s: %w", q.School, err)
		}
		a.Choices, a.SubmittedAt = choices, a.SubmittedAt.UTC()
		if err := fn(a); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export applicants of %s: %w", q.School, err)
	}
	return nil
}

// SubmittedInVietnam is the moment of submission on Vietnam's clock
// (UTC+7, no daylight saving), the time a school's staff read.
func (a Applicant) SubmittedInVietnam() time.Time { return a.SubmittedAt.In(vietnam()) }
