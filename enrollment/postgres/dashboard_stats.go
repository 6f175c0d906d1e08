package postgres

import (
	"context"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// The numbers of the officers' live dashboard: registrations by hour,
// level and ward, and applicants by first choice. Counting a level-year of
// 150,000 applications takes a few hundred milliseconds however it is
// indexed (the cost is aggregating the rows), far too much for every
// officer's page every few seconds. So the counts come in two parts that
// the caller adds up: registrations submitted before an edge (an hour or
// two ago), counted rarely and kept, and those submitted since the edge,
// counted every few seconds through the index applications_submitted
// (migration 00009), which reads only the recent rows. See web/dashboard.go.

// HourCount is the registrations of one hour, level and ward (the ward of
// the child's current residence, where families live now).
type HourCount struct {
	Hour  time.Time        `json:"hour" db:"hour"`
	Level enrollment.Level `json:"level" db:"level"`
	Ward  string           `json:"ward" db:"ward"`
	Count int              `json:"count" db:"count"`
}

// FirstCount is the applications (voided ones aside) of a level naming a
// school first.
type FirstCount struct {
	Level  enrollment.Level `db:"level"`
	School string           `db:"school"`
	Count  int              `db:"count"`
}

// Counts are a school year's registrations submitted in a time range.
type Counts struct {
	// Hourly counts them by hour (UTC), level and current ward. Voided
	// applications count: they were registrations all the same.
	Hourly []HourCount
	// First counts them by level and first choice, voided ones aside.
	First []FirstCount
}

// RegistrationCounts counts the applications of a school year submitted
// at or after from and before to: Hourly from hourlyFrom on only (the
// dashboard shows the last days), First from from on.
func (d *DB) RegistrationCounts(ctx context.Context, year int, from, hourlyFrom, to time.Time) (c Counts, err error) {
	defer wrap(&err, "registration counts %d", year)
	const qHourly = `
SELECT date_trunc('hour', submitted_at) AS hour, level, current_ward AS ward, count(*) AS count
FROM applications
WHERE submitted_at >= $1 AND submitted_at < $2 AND school_year = $3
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3`
	const qFirst = `
SELECT level, choices[1] AS school, count(*) AS count
FROM applications
WHERE submitted_at >= $1 AND submitted_at < $2 AND school_year = $3 AND status <> 'voided'
GROUP BY 1, 2`
	c = Counts{Hourly: []HourCount{}, First: []FirstCount{}}
	if hourlyFrom.Before(from) {
		hourlyFrom = from
	}
	if err := d.db.SelectContext(ctx, &c.Hourly, qHourly, hourlyFrom, to, year); err != nil {
		return Counts{}, err
	}
	for i := range c.Hourly {
		c.Hourly[i].Hour = c.Hourly[i].Hour.UTC()
	}
	if err := d.db.SelectContext(ctx, &c.First, qFirst, from, to, year); err != nil {
		return Counts{}, err
	}
	return c, nil
}

// AreaWards returns the codes of the wards of an authority's area, at any
// depth below it.
func (d *DB) AreaWards(ctx context.Context, authority string) (wards []string, err error) {
	defer wrap(&err, "wards of %s", authority)
	const q = areaCTE + `
SELECT w.code FROM wards w WHERE w.authority_code IN (SELECT code FROM sub) ORDER BY w.code`
	wards = []string{}
	err = d.db.SelectContext(ctx, &wards, q, authority)
	return wards, err
}

// Demand is a school's first-choice applicants against its quota for one
// level and year.
type Demand struct {
	School string           `json:"school"`
	Name   string           `json:"name"`
	Ward   string           `json:"ward"`
	Level  enrollment.Level `json:"level"`
	Quota  int              `json:"quota"`
	First  int              `json:"first_choice"`
	// Ratio is First ÷ Quota; with a quota of 0 it is First (every
	// applicant is one too many).
	Ratio float64 `json:"ratio"`
}
