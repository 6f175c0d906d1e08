package placement_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"golang.org/x/sync/errgroup"
	"pgregory.net/rapid"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/placement"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
)

// TestRunsKeepUpWithChanges: a run's input, made from the children kept
// from the run before and the changes since, is the input read whole,
// byte for byte, whatever happened in between: applications changed in
// the fields placement reads, moved in and out of the run's states,
// removed, moved to another level and back, stored anew; and one changed
// by a transaction still running while a run read, committed after.
func TestRunsKeepUpWithChanges(t *testing.T) {
	t.Parallel()
	b := setup(t, 400)
	b.commit(t, enrollment.LevelLop1, "seed")
	ctx := t.Context()
	var codes []string
	if err := b.sql.SelectContext(ctx, &codes, `SELECT tracking_code FROM applications WHERE level = 'lop1' ORDER BY tracking_code`); err != nil {
		t.Fatal(err)
	}
	check := func(t fataler, what string) {
		t.Helper()
		b.keptIsWhole(t, placement.IncludeAccepted, what)
		b.keptIsWhole(t, placement.IncludeReceived, what)
	}
	check(t, "nothing")
	changes := []string{
		`UPDATE applications SET priority_group = (priority_group + 1) % 4 WHERE tracking_code = $1`,
		`UPDATE applications SET choices = ARRAY(SELECT c FROM unnest(choices) AS c ORDER BY c DESC) WHERE tracking_code = $1`,
		`UPDATE applications SET current_group = CASE current_group WHEN '' THEN 'TDP 1' ELSE '' END WHERE tracking_code = $1`,
		`UPDATE applications SET permanent_ward = current_ward WHERE tracking_code = $1`,
		`UPDATE applications SET status = 'accepted' WHERE tracking_code = $1`,
		`UPDATE applications SET status = 'received' WHERE tracking_code = $1`,
		`UPDATE applications SET status = 'returned' WHERE tracking_code = $1`,
		`UPDATE applications SET level = CASE level WHEN 'lop1' THEN 'lop6' ELSE 'lop1' END WHERE tracking_code = $1`,
		`WITH e AS (DELETE FROM application_events WHERE application_id = (SELECT id FROM applications WHERE tracking_code = $1))
DELETE FROM applications WHERE tracking_code = $1`,
		`INSERT INTO applications (id, tracking_code, level, school_year, child_id_number, child_name, date_of_birth, sex,
    permanent_ward, permanent_group, current_ward, current_group, guardian, priority_group, choices, status, submitted_at)
SELECT gen_random_uuid(), tracking_code || 'N', level, school_year, child_id_number || 'N', child_name, date_of_birth, sex,
    permanent_ward, permanent_group, current_ward, current_group, guardian, priority_group, choices, status, submitted_at
FROM applications WHERE tracking_code = $1 ON CONFLICT DO NOTHING`,
	}
	rapid.Check(t, func(rt *rapid.T) {
		for range rapid.IntRange(1, 5).Draw(rt, "changes") {
			k := rapid.IntRange(0, len(changes)-1).Draw(rt, "change")
			code := rapid.SampledFrom(codes).Draw(rt, "application")
			if _, err := b.sql.ExecContext(ctx, changes[k], code); err != nil {
				rt.Fatalf("change %d: %v", k, err)
			}
		}
		check(rt, "changes")
	})

	// Changed by a transaction that commits after a run read.
	tx, err := b.sql.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, code := range codes[:20] {
		if _, err := tx.ExecContext(ctx, changes[0], code); err != nil {
			t.Fatal(err)
		}
	}
	// A transaction begun after it and committed before the run reads:
	// the run's snapshot is past both, the first still running.
	if _, err := b.sql.ExecContext(ctx, changes[0], codes[len(codes)-1]); err != nil {
		t.Fatal(err)
	}
	check(t, "a change not committed yet")
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	check(t, fmt.Sprintf("a change committed after a run read (%d applications)", 20))

	// Emptied at once, and one stored again.
	var saved []*enrollment.Application
	for _, a := range b.apps[:50] {
		if a.Application.Level == enrollment.LevelLop1 {
			saved = append(saved, a.Application)
		}
	}
	if _, err := b.sql.ExecContext(ctx, `TRUNCATE applications CASCADE`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.SaveBatch(ctx, saved); err != nil {
		t.Fatal(err)
	}
	check(t, "the table emptied and a few stored again")
}

// TestRunsAtOnceShareTheirChildren: runs made at once while clerks
// change files each get an input, and the kept children stay the
// input read whole (run with -race, as make test does).
func TestRunsAtOnceShareTheirChildren(t *testing.T) {
	t.Parallel()
	b := setup(t, 300)
	b.commit(t, enrollment.LevelLop1, "seed")
	ctx := t.Context()
	req := placement.Request{Level: enrollment.LevelLop1, SchoolYear: b.year, Actor: city}
	var g errgroup.Group
	for k := range 6 {
		g.Go(func() error {
			for i := range 5 {
				if k == 0 {
					if _, err := b.sql.ExecContext(ctx, `UPDATE applications SET priority_group = (priority_group + 1) % 4
    WHERE id = (SELECT id FROM applications WHERE level = 'lop1' ORDER BY tracking_code OFFSET $1 LIMIT 1)`, i*7); err != nil {
						return err
					}
					continue
				}
				if _, err := placement.Load(ctx, b.db, req, b.now); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	b.keptIsWhole(t, placement.IncludeAccepted, "runs at once")
}

// TestWarm: opening a level's runs reads its children ahead of the run —
// only once its seed is committed — and brings them up to date after a
// clerk's change; the run then places the children read whole.
func TestWarm(t *testing.T) {
	t.Parallel()
	b := setup(t, 300)
	ctx := t.Context()
	failed := func(err error) { t.Errorf("warming failed: %v", err) }
	accepted := func() int {
		t.Helper()
		var n int
		if err := b.sql.GetContext(ctx, &n, `SELECT count(*) FROM applications WHERE level = 'lop1' AND status = 'accepted'`); err != nil {
			t.Fatal(err)
		}
		return n
	}

	placement.Warm(b.db, enrollment.LevelLop1, b.year, placement.IncludeAccepted, failed)
	if n := placement.Kept(b.db, enrollment.LevelLop1, b.year, placement.IncludeAccepted); n != -1 {
		t.Fatalf("before the seed is committed, warming kept %d children, want none read", n)
	}

	b.commit(t, enrollment.LevelLop1, "seed")
	placement.Warm(b.db, enrollment.LevelLop1, b.year, placement.IncludeAccepted, failed)
	if n, want := placement.Kept(b.db, enrollment.LevelLop1, b.year, placement.IncludeAccepted), accepted(); n != want || n == 0 {
		t.Fatalf("warming kept %d children, want the %d accepted", n, want)
	}
	if n := placement.Kept(b.db, enrollment.LevelLop1, b.year, placement.IncludeReceived); n != -1 {
		t.Errorf("warming the accepted read the received too: %d children", n)
	}

	// A clerk accepts one more file; opening the runs again reads it.
	if _, err := b.sql.ExecContext(ctx, `UPDATE applications SET status = 'accepted'
    WHERE id = (SELECT id FROM applications WHERE level = 'lop1' AND status = 'received' ORDER BY tracking_code LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	placement.Warm(b.db, enrollment.LevelLop1, b.year, placement.IncludeAccepted, failed)
	if n, want := placement.Kept(b.db, enrollment.LevelLop1, b.year, placement.IncludeAccepted), accepted(); n != want {
		t.Fatalf("after a clerk's accept, warming kept %d children, want the %d accepted", n, want)
	}

	b.keptIsWhole(t, placement.IncludeAccepted, "warming")
}

// fataler is what keptIsWhole needs of a test: *testing.T or *rapid.T.
type fataler interface {
	Helper()
	Fatalf(string, ...any)
}

// keptIsWhole fails t unless the input of a lop1 run (include as a
// run's) made from the children b.db keeps is the input a new handle
// reads whole, byte for byte.
func (b *bundle) keptIsWhole(t fataler, include, after string) {
	t.Helper()
	file := func(db *postgres.DB) []byte {
		t.Helper()
		snap, err := placement.Load(context.Background(), db, placement.Request{Level: enrollment.LevelLop1, SchoolYear: b.year, Include: include, Actor: city}, b.now)
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		var out bytes.Buffer
		if err := allocation.EncodeInstance(&out, snap.Instance); err != nil {
			t.Fatalf("encode: %v", err)
		}
		return out.Bytes()
	}
	kept, whole := file(b.db), file(postgres.New(b.sql))
	if !bytes.Equal(kept, whole) {
		t.Fatalf("after %s, include %s: the input from the kept children (%d bytes) differs from the input read whole (%d bytes)",
			after, include, len(kept), len(whole))
	}
}
