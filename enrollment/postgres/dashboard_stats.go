package postgres

import (
	"context"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// The numbers of the officers' live dashboard. Both queries are read by
// every officer's dashboard every few seconds during a window, so they
// are built to stay cheap at a city's 150,000 applications of a level:
// the hourly counts read the index applications_submitted (migration
// 00009) by time, the last hours only; the first-choice counts read the
// applications of one level and year through applications_choice1. The
// web package keeps each answer for a few seconds, so many officers cost
// the database what one does.

// HourCount is the registrations of one hour, level and ward (the ward of
// the child's current residence, where families live now).
type HourCount struct {
	Hour  time.Time        `json:"hour" db:"hour"`
	Level enrollment.Level `json:"level" db:"level"`
	Ward  string           `json:"ward" db:"ward"`
	Count int              `json:"count" db:"count"`
}

// HourlyRegistrations counts the applications of a school year submitted
// since the given time, by hour (UTC), level and current ward, of the
// wards in area (Area.School is ignored: a school has no wards). level
// "" counts every level. Voided applications count: they were
// registrations all the same.
func (d *DB) HourlyRegistrations(ctx context.Context, year int, level enrollment.Level, since time.Time, area Area) (list []HourCount, err error) {
	defer wrap(&err, "hourly registrations %d", year)
	const q = areaCTE + `
SELECT date_trunc('hour', a.submitted_at) AS hour, a.level, a.current_ward AS ward, count(*) AS count
FROM applications a
WHERE a.submitted_at >= $2 AND a.school_year = $3 AND (CAST($4 AS text) = '' OR a.level = $4)
  AND (CAST($1 AS text) = '' OR a.current_ward IN (SELECT w.code FROM wards w WHERE w.authority_code IN (SELECT code FROM sub)))
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3`
	list = []HourCount{}
	if err := d.db.SelectContext(ctx, &list, q, area.Authority, since, year, string(level)); err != nil {
		return nil, err
	}
	for i := range list {
		list[i].Hour = list[i].Hour.UTC()
	}
	return list, nil
}

// Demand is a school's first-choice applicants against its quota for one
// level and year.
type Demand struct {
	School string           `json:"school" db:"school"`
	Name   string           `json:"name" db:"name"`
	Ward   string           `json:"ward" db:"ward"`
	Level  enrollment.Level `json:"level" db:"level"`
	Quota  int              `json:"quota" db:"quota"`
	First  int              `json:"first_choice" db:"first_choice"`
	// Ratio is First ÷ Quota; with a quota of 0 it is First (every
	// applicant is one too many).
	Ratio float64 `json:"ratio" db:"ratio"`
}

// FirstChoiceDemand returns, for the offers of a level and year in area,
// the applicants who named each school first (voided applications aside)
// against its quota, the most over-subscribed first, at most limit.
func (d *DB) FirstChoiceDemand(ctx context.Context, level enrollment.Level, year int, area Area, limit int) (list []Demand, err error) {
	defer wrap(&err, "first-choice demand %s %d", level, year)
	const q = areaCTE + `,
firsts AS (
    SELECT a.choices[1] AS school, count(*) AS n
    FROM applications a
    WHERE a.level = $3 AND a.school_year = $4 AND a.status <> 'voided'
    GROUP BY 1
)
SELECT s.code AS school, s.name, s.ward_code AS ward, o.level, o.quota, COALESCE(f.n, 0) AS first_choice,
       CAST(COALESCE(f.n, 0) AS double precision) / GREATEST(o.quota, 1) AS ratio
FROM school_offers o JOIN schools s ON s.code = o.school_code JOIN wards w ON w.code = s.ward_code
LEFT JOIN firsts f ON f.school = o.school_code
WHERE ` + areaWhere + ` AND o.level = $3 AND o.school_year = $4
ORDER BY ratio DESC, s.code
LIMIT $5`
	list = []Demand{}
	if err := d.db.SelectContext(ctx, &list, q, area.Authority, area.School, level, year, limit); err != nil {
		return nil, err
	}
	return list, nil
}
