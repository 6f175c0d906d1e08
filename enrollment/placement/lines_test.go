package placement

import (
	"slices"
	"testing"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/demoapps"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// TestPoolOfAnotherDatabase: a kept pool whose mark is ahead of the
// database's (the database restored elsewhere, its transactions counted
// anew) is read whole again, not brought up to date from a mark that
// misses every change.
func TestPoolOfAnotherDatabase(t *testing.T) {
	t.Parallel()
	sdb := testenv.DB(t)
	db := postgres.New(sdb)
	ctx := t.Context()
	ref := democity.Reference(time.Now())
	if err := db.SaveReference(ctx, ref); err != nil {
		t.Fatal(err)
	}
	var apps []*enrollment.Application
	for _, a := range demoapps.Generate(ref, 200) {
		apps = append(apps, a.Application)
	}
	if _, err := db.SaveBatch(ctx, apps); err != nil {
		t.Fatal(err)
	}
	year := ref.Windows[0].SchoolYear
	states := []enrollment.Status{enrollment.StatusReceived}
	if _, err := readPool(ctx, db, enrollment.LevelLop1, year, states); err != nil {
		t.Fatal(err)
	}
	e := poolOf(poolKey{db, enrollment.LevelLop1, year, string(enrollment.StatusReceived)})
	e.Lock()
	ahead := *e.p
	ahead.mark = 1 << 62
	e.p = &ahead
	e.Unlock()
	if _, err := sdb.ExecContext(ctx, `UPDATE applications SET priority_group = (priority_group + 1) % 4 WHERE level = 'lop1'`); err != nil {
		t.Fatal(err)
	}
	got, err := readPool(ctx, db, enrollment.LevelLop1, year, states)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := readPool(ctx, postgres.New(sdb), enrollment.LevelLop1, year, states)
	if err != nil {
		t.Fatal(err)
	}
	if got.names != whole.names || !slices.Equal(got.kids, whole.kids) {
		t.Errorf("a pool whose mark was ahead of the database's was brought up to date from it: it misses the changes")
	}
}
