package migrations_test

import (
	"testing"

	"github.com/tuyensinh/tuyensinh/internal/testenv"
	"github.com/tuyensinh/tuyensinh/migrations"
)

// TestDownUp rolls every migration back and applies them again on a real
// database: each Down undoes its Up exactly.
func TestDownUp(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t) // migrated up
	ctx := t.Context()
	tables := func() int {
		var n int
		if err := db.GetContext(ctx, &n, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'goose_db_version'`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	up := tables()
	if up == 0 {
		t.Fatal("no tables after migrating up")
	}
	if err := migrations.Reset(ctx, db.DB); err != nil {
		t.Fatal(err)
	}
	if n := tables(); n != 0 {
		t.Errorf("%d tables left after rolling everything back", n)
	}
	res, err := migrations.Up(ctx, db.DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 || tables() != up {
		t.Errorf("applied %d migrations, %d tables; want them all back (%d tables)", len(res), tables(), up)
	}
	st, err := migrations.Status(ctx, db.DB)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.AppliedAt.IsZero() {
			t.Errorf("migration %s not applied", s.Source.Path)
		}
	}
}
