package placement_test

import (
	"bytes"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/placement"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
)

// TestPlacedAtOnce: pages asking for several runs' results at once, with
// a cache too small for them all, each get the engine's result for the
// run's instance, and the cache keeps no more children than its bound
// (run with -race, as make test does). Not parallel: it lowers the
// package's bound while it runs.
func TestPlacedAtOnce(t *testing.T) {
	b := setup(t, 300)
	b.commit(t, enrollment.LevelLop1, "seed")
	ctx := t.Context()
	var ids []int64
	for _, mech := range []allocation.Mechanism{allocation.MechanismDA, allocation.MechanismBoston} {
		for _, include := range []string{placement.IncludeAccepted, placement.IncludeReceived} {
			r := b.run(t, placement.Request{Level: enrollment.LevelLop1, Mechanism: mech, Include: include})
			ids = append(ids, r.ID)
		}
	}
	// What each run places: its result file, checked against the engine
	// on its stored instance.
	want := map[int64][]byte{}
	students := 0
	for _, id := range ids {
		inst := checkFiles(t, b.db, id)
		file, err := placement.ResultFile(ctx, b.db, id)
		if err != nil {
			t.Fatal(err)
		}
		want[id] = file
		students = max(students, len(inst.Students))
	}

	defer func(n int) { placement.CacheStudents = n }(placement.CacheStudents)
	placement.CacheStudents = 2 * students
	db := postgres.New(b.sql) // a handle of its own: nothing of it cached yet
	var g errgroup.Group
	for k := range 8 {
		g.Go(func() error {
			for i := range 6 {
				id := ids[(k+i)%len(ids)]
				_, res, err := placement.Placed(ctx, db, id)
				if err != nil {
					return err
				}
				var out bytes.Buffer
				if err := res.WriteJSON(&out); err != nil {
					return err
				}
				if !bytes.Equal(out.Bytes(), want[id]) {
					t.Errorf("run %d: the cached result differs from Place(instance)", id)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	runs, kept := placement.Cached(db)
	if runs == 0 || kept > placement.CacheStudents {
		t.Errorf("the cache keeps %d runs of %d children, want at least one and at most %d children", runs, kept, placement.CacheStudents)
	}
}
