package postgres_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// benchRows is how many applications each iteration of BenchmarkDrain
// stores, and benchBatch the worker's default batch size.
const (
	benchRows  = 20000
	benchBatch = 1000
)

// BenchmarkDrain measures, in one run on the same PostgreSQL, how fast
// SaveBatch stores realistic applications in the worker's batches and how
// fast a plain COPY loads the same rows into a table of the same columns
// without indexes or constraints: the drain's target is a ratio between
// the two (issue 11), never an absolute figure. Each reports rows/s.
//
//	TUYENSINH_TEST_REQUIRE_SERVICES=1 go test -run '^$' -bench BenchmarkDrain -benchtime 3x ./enrollment/postgres/
func BenchmarkDrain(b *testing.B) {
	store, cat := newStore(b)
	// First and second choices spread over the level's schools, as a
	// city's applications are: the index on the first choice sees many
	// keys, each with many applications.
	var schools []string
	for _, o := range cat.Offers(enrollment.LevelLop1, 2027) {
		schools = append(schools, o.SchoolCode)
	}
	apps := make([]*enrollment.Application, benchRows)
	for i := range apps {
		apps[i] = newApp(b, cat, i)
		apps[i].Choices = []string{schools[i%len(schools)], schools[(i/len(schools)+i+1)%len(schools)]}
	}
	db := store.Handle()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE copy_scratch (LIKE applications INCLUDING DEFAULTS);
ALTER TABLE copy_scratch DROP COLUMN placement_line;
CREATE TABLE copy_indexed (LIKE applications INCLUDING ALL, FOREIGN KEY (level, school_year) REFERENCES windows)`); err != nil {
		b.Fatal(err)
	}
	reset := func(b *testing.B) {
		b.Helper()
		if _, err := db.ExecContext(ctx, `TRUNCATE applications, duplicate_submissions, outbox, copy_scratch, copy_indexed CASCADE`); err != nil {
			b.Fatal(err)
		}
	}
	saving := func(save func(context.Context, []*enrollment.Application) ([]enrollment.Stored, error)) func(*testing.B) {
		return func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				reset(b)
				b.StartTimer()
				for i := 0; i < len(apps); i += benchBatch {
					res, err := save(ctx, apps[i:min(i+benchBatch, len(apps))])
					if err != nil {
						b.Fatal(err)
					}
					if res[0].Outcome != enrollment.OutcomeInserted {
						b.Fatalf("outcome %v, want inserted", res[0].Outcome)
					}
				}
			}
			reportRows(b)
		}
	}
	// Two workers, as INTAKE_WORKERS defaults to: each stores every other
	// batch, at the same time as the other.
	saving2 := func(save func(context.Context, []*enrollment.Application) ([]enrollment.Stored, error)) func(*testing.B) {
		return func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				reset(b)
				b.StartTimer()
				var wg sync.WaitGroup
				errs := make(chan error, 2)
				for w := range 2 {
					wg.Go(func() {
						for i := w * benchBatch; i < len(apps); i += 2 * benchBatch {
							if _, err := save(ctx, apps[i:min(i+benchBatch, len(apps))]); err != nil {
								errs <- err
								return
							}
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
			}
			reportRows(b)
		}
	}
	// Rounds alternate the two ways of storing, so a neighbour's load on
	// the shared machine weighs on both alike.
	for range 3 {
		b.Run("unnest", saving(store.SaveBatchUnnest))
		b.Run("SaveBatch", saving(store.SaveBatch))
		b.Run("unnest2workers", saving2(store.SaveBatchUnnest))
		b.Run("SaveBatch2workers", saving2(store.SaveBatch))
	}
	// A batch delivered again after it was stored (a worker stopped
	// between its commit and its acknowledgement): every row is looked up.
	b.Run("redelivered", func(b *testing.B) {
		reset(b)
		for i := 0; i < len(apps); i += benchBatch {
			if _, err := store.SaveBatch(ctx, apps[i:min(i+benchBatch, len(apps))]); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for range b.N {
			for i := 0; i < len(apps); i += benchBatch {
				res, err := store.SaveBatch(ctx, apps[i:min(i+benchBatch, len(apps))])
				if err != nil {
					b.Fatal(err)
				}
				if res[0].Outcome != enrollment.OutcomeAlreadyStored {
					b.Fatalf("outcome %v, want already stored", res[0].Outcome)
				}
			}
		}
		reportRows(b)
	})
	plain := func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			reset(b)
			b.StartTimer()
			if err := plainCopy(ctx, db.DB, "copy_scratch", apps); err != nil {
				b.Fatal(err)
			}
		}
		reportRows(b)
	}
	for range 2 {
		b.Run("COPY", plain)
		b.Run("SaveBatch", saving(store.SaveBatch))
	}
	b.Run("COPYbatches", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			reset(b)
			b.StartTimer()
			for i := 0; i < len(apps); i += benchBatch {
				if err := plainCopy(ctx, db.DB, "copy_scratch", apps[i:min(i+benchBatch, len(apps))]); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportRows(b)
	})
	b.Run("COPYindexed", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			reset(b)
			b.StartTimer()
			for i := 0; i < len(apps); i += benchBatch {
				if err := plainCopy(ctx, db.DB, "copy_indexed", apps[i:min(i+benchBatch, len(apps))]); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportRows(b)
	})
	// What the schema costs the drain: applications_choice1 serves no
	// query today, yet every stored row updates it.
	if _, err := db.ExecContext(ctx, `DROP INDEX applications_choice1`); err != nil {
		b.Fatal(err)
	}
	b.Run("SaveBatchWithoutChoice1Index", saving(store.SaveBatch))
}

func reportRows(b *testing.B) {
	b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(0, "ns/op")
}

// plainCopy loads apps into copy_scratch with one COPY in one transaction,
// encoding each row from the application as SaveBatch does.
func plainCopy(ctx context.Context, db *sql.DB, table string, apps []*enrollment.Application) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `copy `+table+` (id, tracking_code, level, school_year, child_id_number, child_name, date_of_birth, sex,
    ethnicity, place_of_birth, over_age_reason, permanent_ward, permanent_group, permanent_address,
    current_ward, current_group, current_address, guardian, priority_group, choices, submitted_at, status) from stdin`)
	if err != nil {
		return err
	}
	for _, a := range apps {
		g, err := json.Marshal(a.Guardian)
		if err != nil {
			return err
		}
		choices, err := pq.StringArray(a.Choices).Value()
		if err != nil {
			return err
		}
		p, c := a.Residence.Permanent, a.Residence.Current
		if _, err := stmt.ExecContext(ctx, a.ID, a.TrackingCode, string(a.Level), a.SchoolYear, a.Child.IDNumber, a.Child.FullName,
			a.Child.DateOfBirth, string(a.Child.Sex), a.Child.Ethnicity, a.Child.PlaceOfBirth, a.Child.OverAgeReason,
			p.Ward, p.Group, p.Address, c.Ward, c.Group, c.Address, string(g), a.PriorityGroup, choices,
			a.SubmittedAt.UTC().Format(time.RFC3339Nano), string(a.StoredStatus())); err != nil {
			return fmt.Errorf("copy row: %w", err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if err := stmt.Close(); err != nil {
		return err
	}
	return tx.Commit()
}
