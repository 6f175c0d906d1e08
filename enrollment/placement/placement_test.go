package placement_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/demoapps"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/placement"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

var city = enrollment.Actor{Name: "admin", Role: enrollment.ActorCity}

// bundle is a test's database with the demo city and generated
// applications, accepted as demoapps decides.
type bundle struct {
	sql  *sqlx.DB
	db   *postgres.DB
	year int
	now  time.Time
	apps []demoapps.App
}

func setup(t *testing.T, n int) *bundle {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	sdb := testenv.DB(t)
	store := postgres.New(sdb)
	ref := democity.Reference(now)
	if err := store.SaveReference(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := staff.NewStore(sdb).SeedDemo(ctx, "test password"); err != nil {
		t.Fatal(err)
	}
	b := &bundle{sql: sdb, db: postgres.New(sdb), year: ref.Windows[0].SchoolYear, now: now, apps: demoapps.Generate(ref, n)}
	var all []*enrollment.Application
	var ids []string
	for _, a := range b.apps {
		all = append(all, a.Application)
		if a.Accepted {
			ids = append(ids, a.ID)
		}
	}
	if _, err := store.SaveBatch(ctx, all); err != nil {
		t.Fatal(err)
	}
	if err := b.db.Accept(ctx, ids, enrollment.Actor{Name: "demo", Role: enrollment.ActorSchool}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *bundle) commit(t *testing.T, level enrollment.Level, seed string) {
	t.Helper()
	err := b.db.CommitSeed(t.Context(), postgres.Seed{Level: string(level), SchoolYear: b.year, Seed: seed,
		Commitment: placement.Commitment(seed), CreatedBy: "admin"})
	if err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) run(t *testing.T, req placement.Request) postgres.Run {
	t.Helper()
	if req.SchoolYear == 0 {
		req.SchoolYear = b.year
	}
	if req.Actor.Name == "" {
		req.Actor = city
	}
	r, err := placement.Run(t.Context(), b.db, req, b.now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkFiles checks that the stored result is what the engine writes for
// the stored instance, through the engine's own file round trip.
func checkFiles(t *testing.T, db *postgres.DB, id int64) *allocation.Instance {
	t.Helper()
	ctx := t.Context()
	instBytes, err := db.RunFile(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := placement.ResultFile(ctx, db, id)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := allocation.Decode(instBytes)
	if err != nil {
		t.Fatalf("stored instance does not decode: %v", err)
	}
	res, err := allocation.Place(inst)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := res.WriteJSON(&want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, want.Bytes()) {
		t.Fatalf("run %d: stored result (%d bytes) differs from Place(instance) (%d bytes)", id, len(stored), want.Len())
	}
	return inst
}

func TestRunStoresWhatTheEngineGives(t *testing.T) {
	t.Parallel()
	b := setup(t, 1500)
	b.commit(t, enrollment.LevelLop1, "test-seed-lop1")
	da := b.run(t, placement.Request{Level: enrollment.LevelLop1})
	boston := b.run(t, placement.Request{Level: enrollment.LevelLop1, Mechanism: allocation.MechanismBoston, Include: placement.IncludeReceived})
	if da.Status != postgres.RunPreview || da.Mechanism != "da" || boston.Mechanism != "boston" {
		t.Fatalf("runs = %+v, %+v", da, boston)
	}
	if da.SeedCommitment != placement.Commitment("test-seed-lop1") {
		t.Errorf("seed commitment = %s", da.SeedCommitment)
	}
	inst := checkFiles(t, b.db, da.ID)
	checkFiles(t, b.db, boston.ID)

	// Nothing personal in the instance: no name, ID number, tracking code
	// or address of any child.
	raw, _ := b.db.RunFile(t.Context(), da.ID, false)
	accepted := 0
	for _, a := range b.apps {
		if a.Level != enrollment.LevelLop1 {
			continue
		}
		for _, s := range []string{a.Child.FullName, a.Child.IDNumber, a.TrackingCode, a.Residence.Current.Address} {
			if bytes.Contains(raw, []byte(`"`+s+`"`)) {
				t.Fatalf("instance holds %q", s)
			}
		}
		if a.Accepted {
			accepted++
		}
	}
	if len(inst.Students) != accepted {
		t.Errorf("instance has %d students, want the %d accepted lop1 applications", len(inst.Students), accepted)
	}
	if inst.Seed != "test-seed-lop1" {
		t.Errorf("instance seed = %q", inst.Seed)
	}
	for i := 1; i < len(inst.Students); i++ {
		if inst.Students[i-1].ID >= inst.Students[i].ID {
			t.Fatal("students are not in pseudonym order")
		}
	}
	guaranteed := 0
	for _, s := range inst.Students {
		if s.Guaranteed {
			guaranteed++
		}
		if s.Location == nil {
			t.Errorf("student %s has no location", s.ID)
		}
	}
	if guaranteed == 0 {
		t.Error("no lop1 child is guaranteed a place")
	}

	// Every accepted child in the instance, pseudonyms as documented.
	want := map[string]bool{}
	for _, a := range b.apps {
		if a.Level == enrollment.LevelLop1 && a.Accepted {
			want[placement.Pseudonym(a.Level, a.SchoolYear, a.TrackingCode)] = true
		}
	}
	for _, s := range inst.Students {
		if !want[s.ID] {
			t.Errorf("student of unknown pseudonym %s", s.ID)
		}
	}
	// A preview writes no child's line: its lines are its instance
	// placed again, written at publishing.
	var lines int
	if err := b.sql.GetContext(t.Context(), &lines, `SELECT count(*) FROM placement_assignments WHERE run_id = $1`, da.ID); err != nil || lines != 0 {
		t.Errorf("a preview wrote %d lines (%v)", lines, err)
	}

	var st placement.Stats
	if err := json.Unmarshal(da.Stats, &st); err != nil {
		t.Fatal(err)
	}
	if st.Students != accepted || st.AssignedByChoice+st.Administrative+st.Unassigned != st.Students || st.MeanDistanceKm == nil {
		t.Errorf("stats = %+v", st)
	}
	d, err := placement.Compare(t.Context(), b.db, []int64{da.ID, boston.ID}, 5)
	if err != nil || d.Count == 0 || len(d.Sample) == 0 {
		t.Fatalf("differences DA/Boston (Boston with received too) = %+v %v, want some", d, err)
	}
	// Against the results themselves: a child differs when the runs give
	// it other schools, or one of them leaves it out.
	daRes, _ := placement.Result(t.Context(), b.db, da.ID)
	bostonRes, _ := placement.Result(t.Context(), b.db, boston.ID)
	schools := map[string][2]string{}
	seen := map[string]int{}
	for j, res := range []*allocation.Result{daRes, bostonRes} {
		for _, a := range res.Assignments {
			v := schools[a.Student]
			v[j] = a.School
			schools[a.Student] = v
			seen[a.Student]++
		}
	}
	differ := 0
	for p, v := range schools {
		if seen[p] < 2 || v[0] != v[1] {
			differ++
		}
	}
	if d.Count != differ {
		t.Errorf("differences = %d, want %d", d.Count, differ)
	}
	for i, p := range d.Sample {
		if got, want := d.Schools[p], schools[p]; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("schools of %s = %v, want %v", p, got, want)
		}
		if i > 0 && d.Sample[i-1] >= p {
			t.Error("sample out of pseudonym order")
		}
	}
}

func TestRunNeedsCommittedSeed(t *testing.T) {
	t.Parallel()
	b := setup(t, 50)
	_, err := placement.Run(t.Context(), b.db, placement.Request{Level: enrollment.LevelLop1, SchoolYear: b.year, Actor: city}, b.now)
	if !errors.Is(err, postgres.ErrNoSeed) {
		t.Fatalf("run without seed: %v, want ErrNoSeed", err)
	}
	b.commit(t, enrollment.LevelLop1, "s")
	err = b.db.CommitSeed(t.Context(), postgres.Seed{Level: "lop1", SchoolYear: b.year, Seed: "other", Commitment: placement.Commitment("other"), CreatedBy: "x"})
	if !errors.Is(err, postgres.ErrSeedCommitted) {
		t.Fatalf("second commitment: %v, want ErrSeedCommitted", err)
	}
	var e *enrollment.Error
	_, err = placement.Run(t.Context(), b.db, placement.Request{Level: "lop9", SchoolYear: 1, Round: 3, Include: "all", Actor: city}, b.now)
	if !errors.As(err, &e) || e.Code != enrollment.CodeInvalid || len(e.Problems) != 4 {
		t.Fatalf("bad request: %v", err)
	}
}

func statusCounts(t *testing.T, db *sqlx.DB, level enrollment.Level) map[string]int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT status, count(*) FROM applications WHERE level = $1 GROUP BY status`, string(level))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	return out
}

func TestPublishAndSecondRound(t *testing.T) {
	t.Parallel()
	b := setup(t, 3000)
	ctx := t.Context()
	level := enrollment.LevelLop6
	b.commit(t, level, "round-seed")
	// Small quotas, so that schools fill, children are refused and some
	// are placed administratively.
	if _, err := b.sql.ExecContext(ctx, `UPDATE school_offers SET quota = 6 WHERE level = $1`, string(level)); err != nil {
		t.Fatal(err)
	}
	r1 := b.run(t, placement.Request{Level: level})
	var st placement.Stats
	json.Unmarshal(r1.Stats, &st)
	before := statusCounts(t, b.sql, level)

	pub, err := placement.Publish(ctx, b.db, r1.ID, city, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pub.Status != postgres.RunPublished || pub.PublishedBy == nil || *pub.PublishedBy != "admin" {
		t.Fatalf("published run = %+v", pub)
	}
	after := statusCounts(t, b.sql, level)
	if after["placed"]+after["unplaced"] != before["accepted"] || after["accepted"] != 0 || after["received"] != before["received"] {
		t.Fatalf("statuses %v → %v", before, after)
	}
	if after["placed"] != st.AssignedByChoice+st.Administrative {
		t.Errorf("placed = %d, stats %+v", after["placed"], st)
	}
	var events int
	b.sql.GetContext(ctx, &events, `SELECT count(*) FROM application_events e JOIN applications a ON a.id = e.application_id
WHERE a.level = $1 AND e.to_status IN ('placed', 'unplaced') AND e.actor = 'admin'`, string(level))
	if events != before["accepted"] {
		t.Errorf("%d events of publishing, want %d", events, before["accepted"])
	}
	// The published run keeps its result and every child's explanations.
	res, err := placement.Result(ctx, b.db, r1.ID)
	if err != nil {
		t.Fatal(err)
	}
	explained := 0
	for i := range res.Assignments {
		if len(res.Explain(i)) > 0 {
			explained++
		}
	}
	var stored int
	b.sql.GetContext(ctx, &stored, `SELECT count(*) FROM placement_assignments WHERE run_id = $1 AND jsonb_array_length(explanations) > 0`, r1.ID)
	if kept, _ := b.db.RunFile(ctx, r1.ID, true); stored != explained || explained == 0 || len(kept) == 0 {
		t.Errorf("published run: %d children with explanations stored, the engine explains %d; result kept: %d bytes", stored, explained, len(kept))
	}
	sd, _ := b.db.Seed(ctx, string(level), b.year)
	if sd.RevealedAt == nil || placement.Commitment(sd.Seed) != sd.Commitment {
		t.Errorf("seed after publish = %+v", sd)
	}

	// Immutable: published again, or another run of the round, 409.
	var e *enrollment.Error
	if _, err := placement.Publish(ctx, b.db, r1.ID, city, nil); !errors.As(err, &e) || e.Code != enrollment.CodeConflict {
		t.Fatalf("second publish: %v", err)
	}
	other := b.run(t, placement.Request{Level: level, Include: placement.IncludeReceived})
	if _, err := placement.Publish(ctx, b.db, other.ID, city, nil); !errors.As(err, &e) || e.Code != enrollment.CodeConflict {
		t.Fatalf("publish of another run of round 1: %v", err)
	}

	// Round 2: some confirm, some decline, the deadline passes for the
	// rest; more applications were accepted meanwhile.
	q := func(sql string, args ...any) {
		t.Helper()
		if _, err := b.sql.ExecContext(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	q(`UPDATE applications SET status = 'confirmed' WHERE level = $1 AND status = 'placed' AND right(id::text, 1) < '8'`, string(level))
	q(`UPDATE applications SET status = 'declined' WHERE level = $1 AND status = 'placed' AND right(id::text, 1) < 'c'`, string(level))
	q(`UPDATE applications SET status = 'accepted' WHERE level = $1 AND status = 'received'`, string(level))
	q(`UPDATE placement_runs SET confirm_by = $2 WHERE id = $1`, r1.ID, b.now.Add(-time.Hour))
	type line struct{ id, status, school string }
	loadLines := func() map[string]line {
		rows, err := b.sql.QueryContext(ctx, `SELECT a.id, a.status, COALESCE(pa.school_code, '') FROM applications a
LEFT JOIN placement_assignments pa ON pa.run_id = a.placed_run_id AND pa.application_id = a.id WHERE a.level = $1`, string(level))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]line{}
		for rows.Next() {
			var l line
			rows.Scan(&l.id, &l.status, &l.school)
			out[l.id] = l
		}
		return out
	}
	mid := loadLines()
	r2 := b.run(t, placement.Request{Level: level, Round: 2})
	inst := checkFiles(t, b.db, r2.ID)
	var st2 placement.Stats
	json.Unmarshal(r2.Stats, &st2)
	if st2.Kept == 0 || st2.Released == 0 {
		t.Fatalf("round 2 stats = %+v", st2)
	}
	pub2, err := placement.Publish(ctx, b.db, r2.ID, city, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Round 2 came after the round-1 deadline: its families have a
	// deadline of their own, RoundConfirmDays after publishing, and
	// can confirm until then.
	if pub2.ConfirmBy == nil || pub2.PublishedAt == nil ||
		pub2.ConfirmBy.Sub(*pub2.PublishedAt) != placement.RoundConfirmDays*24*time.Hour {
		t.Fatalf("round 2 published at %v with confirm_by %v, want %d days later", pub2.PublishedAt, pub2.ConfirmBy, placement.RoundConfirmDays)
	}
	var round2 []string
	if err := b.sql.SelectContext(ctx, &round2, `SELECT tracking_code FROM applications WHERE level = $1 AND status = 'placed'
    AND placed_run_id = $2 ORDER BY tracking_code LIMIT 2`, string(level), r2.ID); err != nil || len(round2) < 2 {
		t.Fatalf("children placed by round 2: %v, %v", round2, err)
	}
	deadline := *pub2.ConfirmBy
	if _, err := b.db.DecideSeat(ctx, round2[0], enrollment.StatusConfirmed, enrollment.Actor{Name: "parent", Role: "parent"},
		deadline.Add(-time.Hour), nil); err != nil {
		t.Errorf("confirming a round-2 seat before its deadline: %v", err)
	}
	if _, err := b.db.DecideSeat(ctx, round2[1], enrollment.StatusConfirmed, enrollment.Actor{Name: "parent", Role: "parent"},
		deadline.Add(time.Hour), nil); !errors.As(err, &e) || e.Code != enrollment.CodeConflict {
		t.Errorf("confirming a round-2 seat after its deadline: %v, want a conflict", err)
	}
	q(`UPDATE applications SET status = 'placed' WHERE tracking_code = $1`, round2[0])
	end := loadLines()
	if len(inst.Students) == 0 {
		t.Fatal("round 2 places nobody")
	}
	perSchool := map[string]int{}
	for id, m := range mid {
		e := end[id]
		switch m.status {
		case "confirmed":
			if e.status != "confirmed" || e.school != m.school {
				t.Errorf("confirmed %s: %+v → %+v", id, m, e)
			}
		case "declined":
			if e != m {
				t.Errorf("declined %s: %+v → %+v", id, m, e)
			}
		case "placed":
			if e.status != "declined" {
				t.Errorf("placed unconfirmed after the deadline %s: %+v → %+v", id, m, e)
			}
		case "unplaced", "accepted":
			if e.status != "placed" && e.status != "unplaced" {
				t.Errorf("waiting %s: %+v → %+v", id, m, e)
			}
		}
		if e.status == "placed" || e.status == "confirmed" {
			perSchool[e.school]++
		}
	}
	offers, _ := b.db.ScopeOffers(ctx, "", string(level), b.year)
	for _, o := range offers {
		if perSchool[o.Code] > o.Quota {
			t.Errorf("school %s: %d children over a quota of %d", o.Code, perSchool[o.Code], o.Quota)
		}
	}
	var reasons int
	b.sql.GetContext(ctx, &reasons, `SELECT count(*) FROM applications WHERE level = $1 AND status = 'declined' AND status_reason = $2`, string(level), placement.MissedReason)
	if reasons != st2.Released {
		t.Errorf("%d declined with the deadline's reason, want %d", reasons, st2.Released)
	}
}

// TestPublishAllOrNothing fails the publish in its last statement (a
// trigger refusing to reveal the seed) and finds nothing published.
func TestPublishAllOrNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, 600)
	ctx := t.Context()
	b.commit(t, enrollment.LevelMG5, "atomic")
	r := b.run(t, placement.Request{Level: enrollment.LevelMG5})
	before := statusCounts(t, b.sql, enrollment.LevelMG5)
	for _, q := range []string{
		`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`,
		`CREATE TRIGGER refuse BEFORE UPDATE ON placement_seeds FOR EACH ROW EXECUTE FUNCTION refuse()`,
	} {
		if _, err := b.sql.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	_, err := placement.Publish(ctx, b.db, r.ID, city, nil)
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("publish = %v, want the injected failure", err)
	}
	assertUnpublished(t, b, r.ID, before)

	// A cancelled context mid-transaction: the same.
	b.sql.ExecContext(ctx, `DROP TRIGGER refuse ON placement_seeds`)
	if _, err := b.sql.ExecContext(ctx, `CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(5); RETURN NEW; END $$`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.sql.ExecContext(ctx, `CREATE TRIGGER slow BEFORE UPDATE ON placement_runs FOR EACH ROW EXECUTE FUNCTION slow()`); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, err := placement.Publish(cctx, b.db, r.ID, city, nil); err == nil {
		t.Fatal("publish with a cancelled context succeeded")
	}
	assertUnpublished(t, b, r.ID, before)
}

func assertUnpublished(t *testing.T, b *bundle, id int64, before map[string]int) {
	t.Helper()
	ctx := t.Context()
	if got := statusCounts(t, b.sql, enrollment.LevelMG5); len(got) != len(before) || got["accepted"] != before["accepted"] {
		t.Errorf("statuses after a failed publish = %v, want %v", got, before)
	}
	r, err := b.db.Run(ctx, id)
	if err != nil || r.Status != postgres.RunPreview {
		t.Errorf("run after a failed publish = %+v, %v", r, err)
	}
	var n int
	b.sql.GetContext(ctx, &n, `SELECT count(*) FROM applications WHERE placed_run_id IS NOT NULL`)
	var ev int
	b.sql.GetContext(ctx, &ev, `SELECT count(*) FROM application_events WHERE to_status IN ('placed', 'unplaced')`)
	sd, _ := b.db.Seed(ctx, "mg5", b.year)
	var lines int
	b.sql.GetContext(ctx, &lines, `SELECT count(*) FROM placement_assignments WHERE run_id = $1`, id)
	if n != 0 || ev != 0 || lines != 0 || sd.RevealedAt != nil {
		t.Errorf("after a failed publish: %d placed_run_id, %d events, %d lines, seed revealed %v", n, ev, lines, sd.RevealedAt)
	}
}

// TestPublishRefusesStaleRun: an application voided after the run was
// made makes its publish a conflict, and nothing is published.
func TestPublishRefusesStaleRun(t *testing.T) {
	t.Parallel()
	b := setup(t, 300)
	ctx := t.Context()
	b.commit(t, enrollment.LevelMG5, "stale")
	r := b.run(t, placement.Request{Level: enrollment.LevelMG5})
	before := statusCounts(t, b.sql, enrollment.LevelMG5)
	if _, err := b.sql.ExecContext(ctx, `UPDATE applications SET status = 'voided'
WHERE id = (SELECT id FROM applications WHERE level = 'mg5' AND status = 'accepted' ORDER BY id LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	var e *enrollment.Error
	if _, err := placement.Publish(ctx, b.db, r.ID, city, nil); !errors.As(err, &e) || e.Code != enrollment.CodeConflict || !strings.Contains(e.MessageEN, "changed state") {
		t.Fatalf("publish of a stale run: %v", err)
	}
	before["accepted"]--
	before["voided"]++
	assertUnpublished(t, b, r.ID, before)
}

// TestRunLinesKeptWithTheirRun: a run's lines carry no per-line foreign
// keys (they are written by COPY, 150,000 at once), yet keep what the keys
// kept: an application named by a line cannot be removed, a line cannot be
// re-keyed to an application or run that does not exist, and a run removed
// takes its lines with it.
func TestRunLinesKeptWithTheirRun(t *testing.T) {
	t.Parallel()
	b := setup(t, 200)
	ctx := t.Context()
	b.commit(t, enrollment.LevelMG5, "lines")
	r := b.run(t, placement.Request{Level: enrollment.LevelMG5})
	if _, err := placement.Publish(ctx, b.db, r.ID, city, nil); err != nil {
		t.Fatal(err)
	}
	var lines int
	if err := b.sql.GetContext(ctx, &lines, `SELECT count(*) FROM placement_assignments WHERE run_id = $1`, r.ID); err != nil || lines == 0 {
		t.Fatalf("run %d has %d lines: %v", r.ID, lines, err)
	}
	var app string
	if err := b.sql.GetContext(ctx, &app, `SELECT application_id FROM placement_assignments WHERE run_id = $1 LIMIT 1`, r.ID); err != nil {
		t.Fatal(err)
	}
	isFK := func(err error, want string) bool {
		var pqErr *pq.Error
		return errors.As(err, &pqErr) && pqErr.Code == "23503" && strings.Contains(pqErr.Message, want)
	}

	// Removing the application (and first whatever else names it, so that
	// only the run's line can refuse) fails and changes nothing.
	tx, err := b.sql.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var refs []struct {
		Table  string `db:"tbl"`
		Column string `db:"col"`
	}
	if err := tx.SelectContext(ctx, &refs, `SELECT c.conrelid::regclass::text AS tbl, a.attname AS col
FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'f' AND c.confrelid = 'applications'::regclass`); err != nil {
		t.Fatal(err)
	}
	for _, ref := range refs {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+pq.QuoteIdentifier(ref.Table)+` WHERE `+pq.QuoteIdentifier(ref.Column)+` = $1`, app); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM applications WHERE id = $1`, app); !isFK(err, "named by a placement run") {
		t.Errorf("removing an application a run names: %v", err)
	}
	tx.Rollback()

	for _, q := range []string{
		`UPDATE placement_assignments SET application_id = gen_random_uuid() WHERE run_id = $1 AND application_id = $2`,
		`UPDATE placement_assignments SET run_id = run_id + 1000 WHERE run_id = $1 AND application_id = $2`,
	} {
		if _, err := b.sql.ExecContext(ctx, q, r.ID, app); !isFK(err, "does not exist") {
			t.Errorf("%s: %v", q, err)
		}
	}
	// Setting a line's explanations (as publishing does) is no re-keying.
	if _, err := b.sql.ExecContext(ctx, `UPDATE placement_assignments SET explanations = '[]' WHERE run_id = $1`, r.ID); err != nil {
		t.Errorf("setting explanations: %v", err)
	}

	// The service never removes a run; once nothing else names it, its
	// lines go with it.
	if _, err := b.sql.ExecContext(ctx, `UPDATE applications SET placed_run_id = NULL WHERE placed_run_id = $1`, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.sql.ExecContext(ctx, `DELETE FROM placement_runs WHERE id = $1`, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.sql.GetContext(ctx, &lines, `SELECT count(*) FROM placement_assignments WHERE run_id = $1`, r.ID); err != nil || lines != 0 {
		t.Errorf("a removed run left %d lines (%v)", lines, err)
	}
}

// TestPublishLines: a preview keeps its instance file and its kept
// children exactly as given; the lines publishing writes by COPY come back
// exactly as given, whatever their text holds (COPY's own escapes
// included), and a failure while writing them publishes nothing: neither
// a line nor a change of any application.
func TestPublishLines(t *testing.T) {
	t.Parallel()
	b := setup(t, 100)
	ctx := t.Context()
	b.commit(t, enrollment.LevelMG5, "copy")
	run := postgres.Run{Level: "mg5", SchoolYear: b.year, Round: 1, Mechanism: "da", Include: "accepted",
		SeedCommitment: placement.Commitment("copy"), Stats: json.RawMessage(`{}`), CreatedBy: "admin"}
	odd := []string{"TH\tA", `TH\B`, "TH\nC", "TH\rD", `\N`, "Trường Tiểu học Ba Đình"}
	var accepted []demoapps.App
	for _, a := range b.apps {
		if a.Level == enrollment.LevelMG5 && a.Accepted {
			accepted = append(accepted, a)
		}
	}
	if len(accepted) < len(odd)+3 {
		t.Fatalf("%d accepted mg5 applications, want %d", len(accepted), len(odd)+3)
	}
	var want []postgres.Assignment
	for i, a := range accepted[:len(odd)+3] {
		l := postgres.Assignment{ApplicationID: a.ID, Pseudonym: placement.Pseudonym(enrollment.LevelMG5, b.year, a.TrackingCode),
			ChoiceRank: i % 3, Via: "choice", Lottery: strings.Repeat("ab", 32), Explanations: []byte(`[{"code": "x"}]`)}
		switch {
		case i < len(odd):
			l.School = odd[i]
		case i == len(odd):
			l.School, l.Via, l.DistanceKm = "TH-X", "administrative", 1.0/3
		case i == len(odd)+1:
			l.School, l.Via = "TH-K", "kept"
		default:
			l.Via, l.Explanations = "unassigned", nil
		}
		want = append(want, l)
	}
	slices.SortFunc(want, func(x, y postgres.Assignment) int { return strings.Compare(x.Pseudonym, y.Pseudonym) })
	var kept []postgres.Assignment
	for _, l := range want {
		if l.Via == "kept" {
			k := l
			k.Explanations = nil
			kept = append(kept, k)
		}
	}
	inst := allocation.Generate(allocation.GenConfig{Students: 500, Schools: 7, Choices: 3, Seed: 3})
	var file bytes.Buffer
	if err := allocation.EncodeInstance(&file, inst); err != nil {
		t.Fatal(err)
	}
	r, err := b.db.InsertRun(ctx, run, inst, kept)
	if err != nil {
		t.Fatal(err)
	}
	if f, err := b.db.RunFile(ctx, r.ID, false); err != nil || !bytes.Equal(f, file.Bytes()) {
		t.Errorf("instance file = %.40q (%d bytes), %v; want the %d bytes the engine writes", f, len(f), err, file.Len())
	}
	if got, err := b.db.RunKept(ctx, r.ID); err != nil || !slices.EqualFunc(got, kept, func(x, y postgres.Assignment) bool {
		return x.ApplicationID == y.ApplicationID && x.Pseudonym == y.Pseudonym && x.School == y.School && x.ChoiceRank == y.ChoiceRank &&
			x.Via == y.Via && x.Lottery == y.Lottery
	}) {
		t.Errorf("kept = %+v, %v; want %+v", got, err, kept)
	}
	lines := func() (n int) {
		b.sql.GetContext(ctx, &n, `SELECT count(*) FROM placement_assignments WHERE run_id = $1`, r.ID)
		return n
	}
	each := func(ls []postgres.Assignment, fail error) func(yield func(postgres.Assignment) error) error {
		return func(yield func(postgres.Assignment) error) error {
			for _, l := range ls {
				if err := yield(l); err != nil {
					return err
				}
			}
			return fail
		}
	}
	p := postgres.Publication{Actor: city, Allowed: []enrollment.Status{enrollment.StatusAccepted}}
	stop := errors.New("stopped half-way")
	p.Lines = each(want[:3], stop)
	if _, err := b.db.Publish(ctx, r.ID, p, nil); !errors.Is(err, stop) {
		t.Errorf("a failure while writing the lines: %v", err)
	}
	bad := want[0]
	bad.ApplicationID = "not-a-uuid"
	p.Lines = each([]postgres.Assignment{bad}, nil)
	if _, err := b.db.Publish(ctx, r.ID, p, nil); err == nil {
		t.Error("a line the server refuses published a run")
	}
	if n := lines(); n != 0 {
		t.Errorf("failed publishes left %d lines", n)
	}
	if got, _ := b.db.Run(ctx, r.ID); got.Status != postgres.RunPreview {
		t.Errorf("after failed publishes the run is %s", got.Status)
	}

	p.Lines = each(want, nil)
	if _, err := b.db.Publish(ctx, r.ID, p, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := b.sql.QueryxContext(ctx, `SELECT application_id, pseudonym, COALESCE(school_code, ''), choice_rank, via,
    COALESCE(distance_km, 0), lottery, explanations FROM placement_assignments WHERE run_id = $1 ORDER BY pseudonym`, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []postgres.Assignment
	for rows.Next() {
		var a postgres.Assignment
		var expl string
		if err := rows.Scan(&a.ApplicationID, &a.Pseudonym, &a.School, &a.ChoiceRank, &a.Via, &a.DistanceKm, &a.Lottery, &expl); err != nil {
			t.Fatal(err)
		}
		if expl != "[]" {
			a.Explanations = []byte(expl)
		}
		got = append(got, a)
	}
	if !slices.EqualFunc(got, want, func(x, y postgres.Assignment) bool {
		return x.ApplicationID == y.ApplicationID && x.Pseudonym == y.Pseudonym && x.School == y.School && x.ChoiceRank == y.ChoiceRank &&
			x.Via == y.Via && x.DistanceKm == y.DistanceKm && x.Lottery == y.Lottery && string(x.Explanations) == string(y.Explanations)
	}) {
		t.Errorf("lines read back:\n%+v\nwant\n%+v", got, want)
	}
}

// TestPseudonymsAsDocumented: every child of a run's instance is named
// hex(SHA-256("<level>/<school_year>/<tracking code>")), computed here
// from the definition rather than by the package, and Pseudonym agrees.
func TestPseudonymsAsDocumented(t *testing.T) {
	t.Parallel()
	b := setup(t, 120)
	b.commit(t, enrollment.LevelMG5, "names")
	snap, err := placement.Load(t.Context(), b.db, placement.Request{Level: enrollment.LevelMG5, SchoolYear: b.year, Actor: city}, b.now)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]bool{}
	for _, a := range b.apps {
		d := sha256.Sum256([]byte(fmt.Sprintf("%s/%d/%s", a.Level, a.SchoolYear, a.TrackingCode)))
		name := hex.EncodeToString(d[:])
		byName[name] = true
		if got := placement.Pseudonym(a.Level, a.SchoolYear, a.TrackingCode); got != name {
			t.Fatalf("Pseudonym(%s, %d, %s) = %s, want %s", a.Level, a.SchoolYear, a.TrackingCode, got, name)
		}
	}
	if len(snap.Instance.Students) == 0 {
		t.Fatal("no student in the instance")
	}
	for i, s := range snap.Instance.Students {
		if !byName[s.ID] {
			t.Errorf("student %d is named %s, no application's pseudonym", i, s.ID)
		}
		if i > 0 && snap.Instance.Students[i-1].ID >= s.ID {
			t.Errorf("students %d and %d out of pseudonym order", i-1, i)
		}
	}
}
