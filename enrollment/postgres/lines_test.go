package postgres_test

import (
	"context"
	"fmt"
	neturl "net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// wantLine is an application's placement line as
// migrations/00015_placement_line.sql documents it, made here in Go.
func wantLine(a *enrollment.Application) string {
	return strings.Join([]string{a.TrackingCode, strings.Join(a.Choices, " "),
		a.Residence.Permanent.Ward, a.Residence.Permanent.Group, a.Residence.Current.Ward, a.Residence.Current.Group,
		fmt.Sprint(a.PriorityGroup)}, "\t")
}

// newApps returns n applications, newApp's from the from-th on.
func newApps(t *testing.T, cat *enrollment.Catalog, from, n int) []*enrollment.Application {
	apps := make([]*enrollment.Application, n)
	for i := range apps {
		apps[i] = newApp(t, cat, from+i)
	}
	return apps
}

// TestPlacementLines: PostgreSQL keeps each application's placement line
// as the service would write it, keeps it up to date when a correction changes the fields, and PlacementLines
// gives the lines of the asked states only.
func TestPlacementLines(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	ctx := t.Context()
	apps := newApps(t, cat, 40, 4)
	// No group, another priority, one choice.
	apps[1].Residence.Current = enrollment.Address{Ward: "00004", Address: "1 Phố"}
	apps[1].PriorityGroup = 2
	apps[2].Choices = apps[2].Choices[:1]
	for _, a := range apps {
		save(t, store, a)
	}
	lines := func(states ...enrollment.Status) []string {
		t.Helper()
		var out []string
		_, err := store.PlacementLines(ctx, "lop1", 2027, states, 1, func(_ int, line []byte) error {
			out = append(out, string(line))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	var want []string
	for _, a := range apps {
		want = append(want, wantLine(a))
	}
	slices.Sort(want)
	if got := lines(enrollment.StatusReceived); !slices.Equal(got, want) {
		t.Errorf("lines:\n%q\nwant\n%q", got, want)
	}
	if got := lines(enrollment.StatusAccepted); len(got) != 0 {
		t.Errorf("accepted lines before any review: %q", got)
	}
	n, err := store.EstimatePlacementLines(ctx, "lop1", 2027, []enrollment.Status{enrollment.StatusReceived})
	if err != nil || n < 1 {
		t.Errorf("estimate = %d, %v", n, err)
	}

	// A correction rewrites the line with the fields.
	a := apps[3]
	if _, err := store.Transition(ctx, a.TrackingCode, enrollment.StatusReturned, clerk, "Sai nơi cư trú", nil); err != nil {
		t.Fatal(err)
	}
	fixed := *a
	fixed.Residence.Current = enrollment.Address{Ward: "00004", Group: "TDP 5", Address: "3 Phố"}
	fixed.Choices = []string{"TH-BADINH-02"}
	if err := store.Correct(ctx, a.TrackingCode, &fixed); err != nil {
		t.Fatal(err)
	}
	if got := lines(enrollment.StatusReceived); !slices.Contains(got, wantLine(&fixed)) || slices.Contains(got, wantLine(a)) {
		t.Errorf("after correction the lines are\n%q\nwant one of them %q", got, wantLine(&fixed))
	}
}

// TestPlacementLinesInParts: read in parts at once, while other
// transactions keep rewriting the applications (each update a new row
// version elsewhere in the table), every application is read exactly once.
func TestPlacementLinesInParts(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	ctx := t.Context()
	const n = 600
	apps := newApps(t, cat, 100, n)
	save(t, store, apps...)
	stop := make(chan struct{})
	done := make(chan error)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			_, err := store.Handle().ExecContext(ctx, `UPDATE applications SET priority_group = (priority_group + 1) % 4
WHERE tracking_code = ANY($1)`, pq.StringArray{apps[i%n].TrackingCode, apps[(i*7+3)%n].TrackingCode})
			if err != nil {
				done <- err
				return
			}
		}
	}()
	for _, parts := range []int{1, 2, 3, 4, 1, 2, 3, 4} {
		var mu sync.Mutex
		seen := map[string]int{}
		_, err := store.PlacementLines(ctx, "lop1", 2027, []enrollment.Status{enrollment.StatusReceived}, parts, func(part int, line []byte) error {
			if part < 0 || part >= parts {
				t.Errorf("part %d of %d", part, parts)
			}
			code, _, _ := strings.Cut(string(line), "\t")
			mu.Lock()
			seen[code]++
			mu.Unlock()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		twice := 0
		for _, k := range seen {
			if k != 1 {
				twice++
			}
		}
		if len(seen) != n || twice > 0 {
			t.Errorf("%d parts: %d applications read, %d of them more than once; want %d once each", parts, len(seen), twice, n)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// A pool of fewer connections than parts reads in fewer parts rather
	// than wait for ever.
	var dbname string
	if err := store.Handle().GetContext(ctx, &dbname, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	u, err := neturl.Parse(testenv.DatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + dbname
	small, err := postgres.OpenLazy(u.String(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	read := 0
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = postgres.New(small).PlacementLines(lctx, "lop1", 2027, []enrollment.Status{enrollment.StatusReceived}, 4, func(int, []byte) error {
		read++
		return nil
	})
	if err != nil || read != n {
		t.Errorf("4 parts on a pool of one connection: %d read, %v", read, err)
	}
}

// TestPlacementChanges: the changes since a mark hold every application
// written since, of the level and year, in any state: one written by a
// transaction still running when the mark was taken and committed after
// it too (the next read gives it); and the applications removed from the
// level and year since, by a removal or a move, by their tracking code.
func TestPlacementChanges(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	ctx := t.Context()
	apps := newApps(t, cat, 300, 6)
	save(t, store, apps...)
	db := store.Handle()
	mark, err := store.PlacementLines(ctx, "lop1", 2027, []enrollment.Status{enrollment.StatusReceived}, 2, func(int, []byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	changes := func(since uint64) (map[string]string, uint64) {
		t.Helper()
		got := map[string]string{}
		mark, err := store.PlacementChanges(ctx, "lop1", 2027, since, func(status enrollment.Status, line []byte) error {
			code, _, _ := strings.Cut(string(line), "\t")
			if status == "" {
				status = "removed"
			}
			if got[code] == "" || status != "removed" {
				got[code] = string(status)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, mark
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	// apps[0] is changed by a transaction that commits only after the
	// next mark is taken.
	running, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer running.Rollback()
	if _, err := running.ExecContext(ctx, `UPDATE applications SET priority_group = 3 WHERE tracking_code = $1`, apps[0].TrackingCode); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE applications SET status = 'accepted' WHERE tracking_code = $1`, apps[1].TrackingCode)
	exec(`DELETE FROM application_events WHERE application_id = $1`, apps[2].ID)
	exec(`DELETE FROM applications WHERE tracking_code = $1`, apps[2].TrackingCode)
	exec(`UPDATE applications SET level = 'lop6' WHERE tracking_code = $1`, apps[3].TrackingCode)
	got, mark2 := changes(mark)
	want := map[string]string{apps[1].TrackingCode: "accepted", apps[2].TrackingCode: "removed", apps[3].TrackingCode: "removed"}
	for code, st := range want {
		if got[code] != st {
			t.Errorf("changes: %s is %q, want %q (all: %v)", code, got[code], st, got)
		}
	}
	if got[apps[0].TrackingCode] == "received" {
		// Its old line, not the uncommitted one: harmless, but look.
		t.Logf("the running transaction's application came as it was")
	}
	if err := running.Commit(); err != nil {
		t.Fatal(err)
	}
	var line string
	_, err = store.PlacementChanges(ctx, "lop1", 2027, mark2, func(status enrollment.Status, l []byte) error {
		if strings.HasPrefix(string(l), apps[0].TrackingCode+"\t") {
			line = string(l)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(line, "\t3") {
		t.Errorf("the change committed after the mark was taken: line %q, want its priority group 3", line)
	}
	// Back to its level: it is there again, not removed.
	exec(`UPDATE applications SET level = 'lop1' WHERE tracking_code = $1`, apps[3].TrackingCode)
	got, _ = changes(mark2)
	if got[apps[3].TrackingCode] != "received" {
		t.Errorf("moved back: %q, want received", got[apps[3].TrackingCode])
	}
}
