package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment/placement"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// placeDB is a fresh database with the demo city, n generated
// applications and a committed lop1 seed.
func placeDB(t *testing.T, n int) (string, *sqlx.DB, int) {
	t.Helper()
	dbURL := testenv.NewDatabase(t)
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return dbURL
		}
		return ""
	}
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"seed", "--demo", "--applications", strconv.Itoa(n)}, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("seed: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "demo applications: "+strconv.Itoa(n)+" generated") {
		t.Errorf("seed output: %s", stdout.String())
	}
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var year int
	if err := db.GetContext(t.Context(), &year, `SELECT school_year FROM windows WHERE level = 'lop1'`); err != nil {
		t.Fatal(err)
	}
	err = postgres.New(db).CommitSeed(t.Context(), postgres.Seed{Level: "lop1", SchoolYear: year, Seed: "cli-seed",
		Commitment: placement.Commitment("cli-seed"), CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return dbURL, db, year
}

// TestPlaceRunFromDatabase: place --run stores a preview whose result is
// the file it writes, and the engine's for the stored instance; the demo
// applications are deterministic; place --publish publishes it.
func TestPlaceRunFromDatabase(t *testing.T) {
	t.Parallel()
	dbURL, db, year := placeDB(t, 900)
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return dbURL
		}
		return ""
	}
	out := filepath.Join(t.TempDir(), "result.json")
	var stdout, stderr bytes.Buffer
	args := []string{"place", "--run", "--level", "lop1", "--school-year", strconv.Itoa(year), "--include", "received", "--output", out, "-v"}
	if err := run(t.Context(), args, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("place --run: %v\n%s", err, stderr.String())
	}
	id, err := strconv.ParseInt(strings.TrimSpace(stdout.String()), 10, 64)
	if err != nil || !strings.Contains(stderr.String(), "load ") {
		t.Fatalf("place --run printed %q, %q", stdout.String(), stderr.String())
	}
	pdb := postgres.New(db)
	stored, err := placement.ResultFile(t.Context(), pdb, id)
	if err != nil {
		t.Fatal(err)
	}
	written, _ := os.ReadFile(out)
	if !bytes.Equal(stored, written) {
		t.Error("the stored result differs from the file written")
	}
	inst, _ := pdb.RunFile(t.Context(), id, false)
	instFile := filepath.Join(t.TempDir(), "instance.json")
	os.WriteFile(instFile, inst, 0o644)
	again := filepath.Join(t.TempDir(), "again.json")
	if msg, err := runPlaceT(t, "--input", instFile, "--output", again); err != nil {
		t.Fatalf("place --input on the stored instance: %v %s", err, msg)
	}
	if b, _ := os.ReadFile(again); !bytes.Equal(b, stored) {
		t.Error("place --input on the downloaded instance does not give the stored result")
	}
	in, err := allocation.Decode(inst)
	if err != nil || len(in.Students) == 0 {
		t.Fatalf("instance: %v, %d students", err, len(in.Students))
	}

	stdout.Reset()
	if err := run(t.Context(), []string{"place", "--publish", strconv.FormatInt(id, 10)}, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("place --publish: %v", err)
	}
	if kept, err := pdb.RunFile(t.Context(), id, true); err != nil || !bytes.Equal(kept, stored) {
		t.Errorf("the published run keeps a result of %d bytes (%v), want the preview's %d", len(kept), err, len(stored))
	}
	if err := run(t.Context(), []string{"place", "--publish", strconv.FormatInt(id, 10)}, getenv, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "already published") {
		t.Errorf("second place --publish: %v", err)
	}
	if err := run(t.Context(), []string{"place", "--run", "--level", "lop7", "--school-year", strconv.Itoa(year)}, getenv, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "invalid") {
		t.Errorf("place --run --level lop7: %v", err)
	}
	// A run's own confirmation deadline: kept with the run; a bad one refused.
	if err := run(t.Context(), []string{"place", "--run", "--level", "lop1", "--school-year", strconv.Itoa(year), "--confirm-by", "next week"}, getenv, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Errorf("place --run --confirm-by 'next week': %v", err)
	}
	stdout.Reset()
	args = []string{"place", "--run", "--level", "lop1", "--school-year", strconv.Itoa(year), "--include", "received", "--confirm-by", "2099-08-05T17:00:00+07:00"}
	if err := run(t.Context(), args, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("place --run --confirm-by: %v", err)
	}
	id2, _ := strconv.ParseInt(strings.TrimSpace(stdout.String()), 10, 64)
	if r, err := pdb.Run(t.Context(), id2); err != nil || r.ConfirmBy == nil || !r.ConfirmBy.Equal(time.Date(2099, 8, 5, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("run %d made with --confirm-by: %+v, %v", id2, r.ConfirmBy, err)
	}
}

// TestPlaceKilledMidPublish kills the real binary (SIGKILL) in the middle
// of publishing a run: every application of the run already written,
// the seed's row not yet (held by the test), nothing committed. Nothing
// may be published, and publishing again afterwards works.
func TestPlaceKilledMidPublish(t *testing.T) {
	t.Parallel()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dbURL, db, year := placeDB(t, 6000)
	ctx := t.Context()
	env := append(os.Environ(), "DATABASE_URL="+dbURL)
	p := startProc(t, "place", bin, []string{"place", "--run", "--level", "lop1", "--school-year", strconv.Itoa(year)}, env)
	if err, ok := p.wait(2 * time.Minute); !ok || err != nil {
		t.Fatalf("place --run: %v\n%s", err, p.logs.String())
	}
	lines := strings.Split(strings.TrimSpace(p.logs.String()), "\n")
	id := strings.TrimSpace(lines[len(lines)-1])
	if _, err := strconv.Atoi(id); err != nil {
		t.Fatalf("place --run printed %q", p.logs.String())
	}

	// The test holds the seed's row: the publish blocks on its last step.
	hold, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	if _, err := hold.ExecContext(ctx, `SELECT * FROM placement_seeds WHERE level = 'lop1' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	pub := startProc(t, "publish", bin, []string{"place", "--publish", id}, env)
	var backend int
	deadline := time.Now().Add(time.Minute)
	for backend == 0 {
		db.GetContext(ctx, &backend, `SELECT COALESCE(max(pid), 0) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE placement_seeds%'`)
		if time.Now().After(deadline) || !pub.running() {
			t.Fatalf("the publish never reached the seed: %s", pub.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var written int
	hold.GetContext(ctx, &written, `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.pid = $1 AND l.mode = 'RowExclusiveLock'`, backend)
	pub.cmd.Process.Kill()
	pub.wait(10 * time.Second)
	hold.Rollback()
	for gone := false; !gone; {
		var n int
		db.GetContext(ctx, &n, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, backend)
		gone = n == 0
		if time.Now().After(deadline) {
			t.Fatal("the killed publish's backend stays")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var placed, events, published, revealed int
	db.GetContext(ctx, &placed, `SELECT count(*) FROM applications WHERE placed_run_id IS NOT NULL OR status IN ('placed', 'unplaced')`)
	db.GetContext(ctx, &events, `SELECT count(*) FROM application_events WHERE to_status IN ('placed', 'unplaced')`)
	db.GetContext(ctx, &published, `SELECT count(*) FROM placement_runs WHERE status = 'published'`)
	db.GetContext(ctx, &revealed, `SELECT count(*) FROM placement_seeds WHERE revealed_at IS NOT NULL`)
	if placed+events+published+revealed != 0 {
		t.Fatalf("after a kill mid-publish: %d applications placed, %d events, %d runs published, %d seeds revealed", placed, events, published, revealed)
	}
	if written == 0 {
		t.Error("the publish had written nothing when killed: not mid-publish")
	}
	again := startProc(t, "publish-again", bin, []string{"place", "--publish", id}, env)
	if err, ok := again.wait(time.Minute); !ok || err != nil {
		t.Fatalf("publish after the kill: %v\n%s", err, again.logs.String())
	}
	db.GetContext(ctx, &placed, `SELECT count(*) FROM applications WHERE status IN ('placed', 'unplaced')`)
	if placed == 0 {
		t.Error("publish after the kill placed nobody")
	}
}
