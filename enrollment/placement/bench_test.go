package placement_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/placement"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

const benchYear = 2027

// loadGenerated stores a generated city (allocation.Generate) as reference
// data and accepted lop1 applications: each generated zone a ward (its
// centroid the middle of the zone's students), each school an offer, each
// student an application. Setting up is not measured.
func loadGenerated(b *testing.B, db *sqlx.DB, students, schools int) {
	b.Helper()
	ctx := b.Context()
	inst := allocation.Generate(allocation.GenConfig{Students: students, Schools: schools, Choices: 3, Seed: 7})
	type acc struct{ lat, lon, n float64 }
	zones := map[string]*acc{}
	for _, s := range inst.Students {
		for _, z := range []string{s.PermanentZone, s.CurrentZone} {
			if zones[z] == nil {
				zones[z] = &acc{}
			}
		}
		if s.Location != nil {
			a := zones[s.CurrentZone]
			a.lat, a.lon, a.n = a.lat+s.Location.Lat, a.lon+s.Location.Lon, a.n+1
		}
	}
	for _, s := range inst.Schools {
		for _, z := range s.Catchment {
			if zones[z] == nil {
				zones[z] = &acc{}
			}
		}
	}
	exec := func(q string, args ...any) {
		b.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO authorities (code, name, kind) VALUES ('HN', 'Thành phố Hà Nội', 'city')`)
	for z, a := range zones {
		lat, lon := 21.0, 105.8
		if a.n > 0 {
			lat, lon = a.lat/a.n, a.lon/a.n
		}
		exec(`INSERT INTO wards (code, name, kind, authority_code, lat, lon) VALUES ($1, $1, 'phuong', 'HN', $2, $3)`, z, lat, lon)
	}
	for _, s := range inst.Schools {
		exec(`INSERT INTO schools (code, name, ward_code, lat, lon) VALUES ($1, $1, $2, $3, $4)`, s.ID, s.Catchment[0], s.Location.Lat, s.Location.Lon)
		exec(`INSERT INTO school_offers (school_code, level, school_year, quota) VALUES ($1, 'lop1', $2, $3)`, s.ID, benchYear, s.Quota)
		for _, z := range s.Catchment {
			exec(`INSERT INTO catchment_zones (school_code, level, school_year, ward_code) VALUES ($1, 'lop1', $2, $3)`, s.ID, benchYear, z)
		}
	}
	exec(`INSERT INTO windows (level, school_year, opens_at, closes_at, birth_year, max_choices) VALUES ('lop1', $1, now() - interval '2 days', now() - interval '1 day', $2, 3)`,
		benchYear, benchYear-6)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.PrepareContext(ctx, `copy applications (id, tracking_code, level, school_year, child_id_number, child_name, date_of_birth,
    sex, permanent_ward, current_ward, guardian, priority_group, choices, status, submitted_at) from stdin`)
	if err != nil {
		b.Fatal(err)
	}
	dob := time.Date(benchYear-6, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, s := range inst.Students {
		d := sha256.Sum256(fmt.Appendf(nil, "bench/%d", i))
		id, _ := uuid.FromBytes(d[:16])
		choices, _ := pq.StringArray(s.Choices).Value()
		if _, err := stmt.ExecContext(ctx, id.String(), fmt.Sprintf("BENCH%015d", i), "lop1", benchYear,
			enrollment.MakeIDNumber("001", dob, enrollment.Male, i), "Trẻ "+s.ID, "2021-03-01", "male",
			s.PermanentZone, s.CurrentZone, "{}", s.PriorityGroup, choices, "accepted", "2027-07-01T00:00:00Z"); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		b.Fatal(err)
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	// As autovacuum leaves the table once the window has closed: its
	// pages marked visible and their rows' commits noted, its statistics
	// taken (the first read of a freshly written table does that work).
	exec(`VACUUM (ANALYZE) applications`)
	exec(`ANALYZE`)
	err = postgres.New(db).CommitSeed(ctx, postgres.Seed{Level: "lop1", SchoolYear: benchYear, Seed: "bench-seed",
		Commitment: placement.Commitment("bench-seed"), CreatedBy: "bench"})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRun measures a run end to end (load the snapshot from
// PostgreSQL, place, store the run with its instance) against the engine
// alone (allocation.Place) on the same instance, in the same benchmark,
// and reports the split: load_ms, place_ms (the engine inside the run,
// while the instance is being written), store_ms (what storing added
// beyond placing) and x_engine (end to end ÷ engine_ms) for:
//
//   - cold_: the first run of the process, which reads every child;
//   - (no prefix): a run after an application changed, as officers
//     preview while clerks review, which reads the changes since the run
//     before and writes the chunk of its input that changed;
//   - shared_: a run of the same children (another mechanism, other
//     quotas), which shares the input.
//
// And heap_MB and peak_rss_MB (the process's peak resident memory during
// the runs); and publish_ms, the publishing of the last run (once).
// 150,000 applications × 45 schools (a Hanoi grade-1 year) always;
// 1,000,000 × 5,000 with TUYENSINH_BENCH_MILLION=1 (too big for a shared
// machine). The garbage collector runs as in the server (cmd/tuyensinh:
// GOGC 400 and a soft limit of 1 GiB, unless GOGC or GOMEMLIMIT is set).
func BenchmarkRun(b *testing.B) {
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 30))
	}
	sizes := [][2]int{{150_000, 45}}
	if os.Getenv("TUYENSINH_BENCH_MILLION") != "" {
		sizes = append(sizes, [2]int{1_000_000, 5_000})
	}
	for _, sz := range sizes {
		b.Run(fmt.Sprintf("applications=%d/schools=%d", sz[0], sz[1]), func(b *testing.B) {
			url := testenv.NewDatabase(b)
			sdb, err := postgres.OpenLazy(url, 8)
			if err != nil {
				b.Fatal(err)
			}
			defer sdb.Close()
			// As the service does: the runs' inputs go in binary.
			bin, err := postgres.OpenBinary(url, 2)
			if err != nil {
				b.Fatal(err)
			}
			defer bin.Close()
			loadGenerated(b, sdb, sz[0], sz[1])
			ctx := context.Background()
			req := placement.Request{Level: enrollment.LevelLop1, SchoolYear: benchYear, Actor: city}
			type split struct{ load, place, store, engine time.Duration }
			var cold, fresh, shared split
			var peak uint64
			var last postgres.Run
			// run makes a run and places its instance again with the
			// engine alone.
			run := func(db *postgres.DB, sp *split) {
				t0 := time.Now()
				snap, err := placement.Load(ctx, db, req, time.Now())
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				out, err := placement.PlaceAndStore(ctx, db, snap)
				if err != nil {
					b.Fatal(err)
				}
				last = out.Run
				sp.load, sp.place, sp.store = sp.load+t1.Sub(t0), sp.place+out.Place, sp.store+time.Since(t1)-out.Place
				t0 = time.Now()
				if _, err := allocation.Place(snap.Instance); err != nil {
					b.Fatal(err)
				}
				sp.engine += time.Since(t0)
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			change := func() {
				if _, err := sdb.ExecContext(ctx, `UPDATE applications SET priority_group = (priority_group + 1) % 4
    WHERE tracking_code = 'BENCH000000000000000'`); err != nil {
					b.Fatal(err)
				}
			}
			// The peak resident memory of the runs alone: what setting up
			// left is returned to the system first, and the kernel's peak
			// (VmHWM) is reset.
			runtime.GC()
			debug.FreeOSMemory()
			resetPeakRSS := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
			// The first run, once per benchmark run: b.Loop runs this
			// function once per count.
			db := postgres.New(sdb).WithBinaryWrites(bin)
			change()
			if os.Getenv("TUYENSINH_BENCH_WARM") != "" {
				// As when an officer opened the level's runs first: its
				// children read ahead (placement.Warm), not measured.
				placement.Warm(db, req.Level, req.SchoolYear, placement.IncludeAccepted, func(err error) { b.Error(err) })
				placement.Kept(db, req.Level, req.SchoolYear, placement.IncludeAccepted)
			}
			run(db, &cold)
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				change()
				b.StartTimer()
				run(db, &fresh)
				run(db, &shared)
			}
			if resetPeakRSS {
				if kb, ok := peakRSSkB(); ok {
					b.ReportMetric(float64(kb)/1024, "peak_rss_MB")
				}
			}
			// Publishing, once: it writes every child's line, explanation
			// and new state, the one time they are needed.
			t0 := time.Now()
			if _, err := placement.Publish(ctx, db, last.ID, city, nil); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(t0).Milliseconds()), "publish_ms")
			for _, r := range []struct {
				name string
				sp   split
				n    int
			}{{"cold_", cold, 1}, {"", fresh, b.N}, {"shared_", shared, b.N}} {
				ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(r.n) }
				b.ReportMetric(ms(r.sp.load), r.name+"load_ms")
				b.ReportMetric(ms(r.sp.place), r.name+"place_ms")
				b.ReportMetric(ms(r.sp.store), r.name+"store_ms")
				b.ReportMetric(float64(r.sp.load+r.sp.place+r.sp.store)/float64(r.sp.engine), r.name+"x_engine")
			}
			b.ReportMetric(float64((fresh.engine+shared.engine).Microseconds())/1000/float64(2*b.N), "engine_ms")
			b.ReportMetric(float64(cold.engine.Microseconds())/1000, "cold_engine_ms")
			b.ReportMetric(float64(peak)/(1<<20), "heap_MB")
		})
	}
}

// peakRSSkB returns the process's peak resident memory (VmHWM), in kB.
func peakRSSkB() (int, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n, err == nil
		}
	}
	return 0, false
}
