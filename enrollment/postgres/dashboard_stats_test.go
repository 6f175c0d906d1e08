package postgres_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
)

// BenchmarkDashboardStats measures the dashboard's queries on a
// level-year of 150,000 applications registered over three days (a Hanoi
// grade-1 window), and logs their plans (go test -bench DashboardStats
// -benchtime 3x -v). Run short: it is a check of the plans' cost, not a
// load test.
func BenchmarkDashboardStats(b *testing.B) {
	r := setupRef(b)
	ctx := b.Context()
	now := time.Now().UTC()
	if _, err := r.db.Exec(`INSERT INTO windows (level, school_year, opens_at, closes_at, birth_year, max_choices)
		VALUES ('lop1', 2027, '2027-07-01', '2027-07-04', 2021, 3)`); err != nil {
		b.Fatal(err)
	}
	// 150,000 applications spread evenly over the last 72 hours.
	if _, err := r.db.Exec(`
INSERT INTO applications (id, tracking_code, level, school_year, child_id_number, child_name, date_of_birth, sex,
    permanent_ward, current_ward, guardian, priority_group, choices, submitted_at)
SELECT gen_random_uuid(), 'T' || i, 'lop1', 2027, 'C' || i, 'Trẻ', '2021-01-01', 'female',
    CASE WHEN i % 2 = 0 THEN '00001' ELSE '00002' END, CASE WHEN i % 2 = 0 THEN '00001' ELSE '00002' END,
    '{}', 0, CASE WHEN i % 3 = 0 THEN ARRAY['S2', 'S1'] ELSE ARRAY['S1', 'S2'] END,
    CAST($1 AS timestamptz) - (i % 259200) * interval '1 second'
FROM generate_series(1, 150000) AS i`, now); err != nil {
		b.Fatal(err)
	}
	if _, err := r.db.Exec(`VACUUM ANALYZE applications`); err != nil {
		b.Fatal(err)
	}
	since := now.Truncate(time.Hour).Add(-71 * time.Hour)
	explain := func(q string, args ...any) {
		var lines []string
		if err := r.db.Select(&lines, "EXPLAIN (ANALYZE, BUFFERS) "+q, args...); err != nil {
			b.Fatal(err)
		}
		b.Log("\n" + strings.Join(lines, "\n"))
	}
	edge := now.Truncate(time.Hour).Add(-time.Hour)
	explain(`SELECT date_trunc('hour', submitted_at), level, current_ward, count(*) FROM applications
WHERE submitted_at >= $1 AND submitted_at < $2 AND school_year = 2027 GROUP BY 1, 2, 3`, edge, now.Add(time.Hour))
	explain(`SELECT level, choices[1], count(*) FROM applications
WHERE submitted_at >= $1 AND submitted_at < $2 AND school_year = 2027 AND status <> 'voided' GROUP BY 1, 2`, edge, now.Add(time.Hour))
	// What the dashboard counts every few seconds: since the edge.
	b.Run("recent", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.store.RegistrationCounts(ctx, 2027, edge, edge, now.Add(time.Hour)); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What it counts every five minutes: everything before the edge.
	b.Run("before-edge", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.store.RegistrationCounts(ctx, 2027, time.Time{}, since, edge); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("area-wards", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.store.AreaWards(ctx, "HN"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("offers", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.store.Offers(ctx, enrollment.LevelLop1, 2027, postgres.Area{Authority: "HN"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
