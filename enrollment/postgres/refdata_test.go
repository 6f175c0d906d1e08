package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// refBundle is a fresh database with a city HN, a district D1 below it
// and two wards: W1 (in D1, groups TDP 1–3) and W2 (directly under HN,
// groups TDP A, TDP B); school S1 in W1, school S2 in W2, both with a
// lop1 quota in 2027.
type refBundle struct {
	db    *sqlx.DB
	store *postgres.DB
}

var officer = enrollment.Actor{Name: "ward-w1", Role: enrollment.ActorAuthority}

func setupRef(t testing.TB) refBundle {
	t.Helper()
	db := testenv.DB(t)
	for _, q := range []string{
		`INSERT INTO authorities (code, name, kind, parent_code) VALUES ('HN', 'Hà Nội', 'city', NULL), ('D1', 'Quận 1', 'district', 'HN'),
		    ('W1', 'Phường 1', 'ward', 'D1'), ('W2', 'Phường 2', 'ward', 'HN')`,
		`INSERT INTO wards (code, name, kind, authority_code, groups) VALUES ('00001', 'Phường 1', 'phuong', 'W1', '{TDP 1,TDP 2,TDP 3}'),
		    ('00002', 'Phường 2', 'phuong', 'W2', '{TDP A,TDP B}')`,
		`INSERT INTO schools (code, name, ward_code) VALUES ('S1', 'Trường 1', '00001'), ('S2', 'Trường 2', '00002')`,
		`INSERT INTO school_offers (school_code, level, school_year, quota) VALUES ('S1', 'lop1', 2027, 70), ('S2', 'lop1', 2027, 35)`,
		`INSERT INTO catchment_zones (school_code, level, school_year, ward_code, groups) VALUES ('S1', 'lop1', 2027, '00001', '{}')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return refBundle{db: db, store: postgres.New(db)}
}

func TestCheckZones(t *testing.T) {
	t.Parallel()
	wards := map[string][]string{"00001": {"TDP 1", "TDP 2"}, "00002": {}}
	for _, c := range []struct {
		zones []enrollment.Zone
		want  []string // the fields named
	}{
		{nil, nil},
		{[]enrollment.Zone{{Ward: "00001"}, {Ward: "00002", Groups: []string{}}}, nil},
		{[]enrollment.Zone{{Ward: "00001", Groups: []string{"TDP 2", "TDP 1"}}}, nil},
		{[]enrollment.Zone{{Ward: ""}}, []string{"catchment[0].ward"}},
		{[]enrollment.Zone{{Ward: "00009"}}, []string{"catchment[0].ward"}},
		{[]enrollment.Zone{{Ward: "00001"}, {Ward: "00001", Groups: []string{"TDP 1"}}}, []string{"catchment[1].ward"}},
		{[]enrollment.Zone{{Ward: "00001", Groups: []string{"TDP 1", "TDP 9", "TDP 1"}}}, []string{"catchment[0].groups[1]", "catchment[0].groups[2]"}},
		{[]enrollment.Zone{{Ward: "00002", Groups: []string{"TDP 1"}}}, []string{"catchment[0].groups[0]"}},
	} {
		err := postgres.CheckZones(c.zones, wards)
		var got []string
		var e *enrollment.Error
		if errors.As(err, &e) {
			for _, p := range e.Problems {
				got = append(got, p.Field)
				if p.Message == "" || p.MessageEN == "" {
					t.Errorf("CheckZones(%v): problem %+v lacks a message", c.zones, p)
				}
			}
		} else if err != nil {
			t.Fatalf("CheckZones(%v) = %v, not an *enrollment.Error", c.zones, err)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("CheckZones(%v) fields (-want +got):\n%s", c.zones, diff)
		}
	}
}

// TestQuotaAndCatchmentStore: edits are stored with their audit row, in
// normal order, and a second identical edit writes nothing.
func TestQuotaAndCatchmentStore(t *testing.T) {
	t.Parallel()
	b := setupRef(t)
	ctx := t.Context()
	k := postgres.OfferKey{School: "S1", Level: enrollment.LevelLop1, Year: 2027}
	o, err := b.store.SetQuota(ctx, k, 105, officer)
	if err != nil || o.Quota != 105 {
		t.Fatalf("SetQuota = %+v, %v", o, err)
	}
	zones := []enrollment.Zone{{Ward: "00002"}, {Ward: "00001", Groups: []string{"TDP 3", "TDP 1"}}}
	o, err = b.store.SetCatchment(ctx, k, zones, officer)
	if err != nil {
		t.Fatal(err)
	}
	want := []enrollment.Zone{{Ward: "00001", Groups: []string{"TDP 1", "TDP 3"}}, {Ward: "00002", Groups: []string{}}}
	if diff := cmp.Diff(want, o.Catchment); diff != "" {
		t.Errorf("catchment (-want +got):\n%s", diff)
	}
	if _, err := b.store.SetCatchment(ctx, k, zones, officer); err != nil {
		t.Fatal(err)
	}
	events, err := b.store.SchoolEvents(ctx, "S1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].Kind != postgres.EventCatchment || events[1].Kind != postgres.EventOffer {
		t.Fatalf("events %+v, want the catchment and the quota", events)
	}
	if string(events[1].Before) != `{"quota": 70}` || string(events[1].After) != `{"quota": 105}` || events[1].Actor != "ward-w1" || events[1].ActorRole != "authority" {
		t.Errorf("quota event %+v", events[1])
	}
	if !strings.Contains(string(events[0].Before), `"ward": "00001", "groups": []`) {
		t.Errorf("catchment event before %s, want the whole ward 00001", events[0].Before)
	}
	// A new offer: no before.
	k2 := postgres.OfferKey{School: "S2", Level: enrollment.LevelLop1, Year: 2028}
	if _, err := b.store.SetQuota(ctx, k2, 40, officer); err != nil {
		t.Fatal(err)
	}
	if ev, _ := b.store.SchoolEvents(ctx, "S2", 10); len(ev) != 1 || string(ev[0].Before) != "null" {
		t.Errorf("new offer's event %+v, want before null", ev)
	}
	// Unknown school, catchment without an offer, a bad group.
	if _, err := b.store.SetQuota(ctx, postgres.OfferKey{School: "S9", Level: enrollment.LevelLop1, Year: 2027}, 1, officer); code(err) != enrollment.CodeNotFound {
		t.Errorf("quota of an unknown school: %v", err)
	}
	if _, err := b.store.SetCatchment(ctx, postgres.OfferKey{School: "S1", Level: enrollment.LevelLop6, Year: 2027}, nil, officer); code(err) != enrollment.CodeNotFound {
		t.Errorf("catchment without an offer: %v", err)
	}
	if _, err := b.store.SetCatchment(ctx, k, []enrollment.Zone{{Ward: "00001", Groups: []string{"TDP 9"}}}, officer); code(err) != enrollment.CodeInvalid {
		t.Errorf("unknown group: %v", err)
	}
}

// TestFrozenAfterPublish: a published run freezes its level and year only.
func TestFrozenAfterPublish(t *testing.T) {
	t.Parallel()
	b := setupRef(t)
	ctx := t.Context()
	if _, err := b.db.Exec(`INSERT INTO placement_seeds (level, school_year, seed, commitment, created_by) VALUES ('lop1', 2027, 's', 'c', 'x')`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Exec(`INSERT INTO placement_runs (level, school_year, round, mechanism, include, seed_commitment, instance, created_by)
		VALUES ('lop1', 2027, 1, 'da', 'accepted', 'c', '\x7b7d', 'x')`); err != nil {
		t.Fatal(err)
	}
	k := postgres.OfferKey{School: "S1", Level: enrollment.LevelLop1, Year: 2027}
	if _, err := b.store.SetQuota(ctx, k, 71, officer); err != nil {
		t.Fatalf("a preview run freezes nothing: %v", err)
	}
	if _, err := b.db.Exec(`UPDATE placement_runs SET status = 'published'`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.SetQuota(ctx, k, 72, officer); code(err) != enrollment.CodeConflict {
		t.Errorf("quota after publish: %v, want conflict", err)
	}
	if _, err := b.store.SetCatchment(ctx, k, nil, officer); code(err) != enrollment.CodeConflict {
		t.Errorf("catchment after publish: %v, want conflict", err)
	}
	if _, err := b.store.CopyCatchments(ctx, enrollment.LevelLop1, 2026, 2027, postgres.Area{}, officer); code(err) != enrollment.CodeConflict {
		t.Errorf("copy into a published year: %v, want conflict", err)
	}
	if o, _ := b.store.Offer(ctx, k); o.Quota != 71 || !o.Frozen {
		t.Errorf("offer %+v, want 71 and frozen", o)
	}
	if _, err := b.store.SetQuota(ctx, postgres.OfferKey{School: "S1", Level: enrollment.LevelLop6, Year: 2027}, 5, officer); err != nil {
		t.Errorf("another level of the year: %v", err)
	}
}

// TestConcurrentQuotaEdits: edits racing on one offer all land, one after
// the other, and the audit chains them: each before is the previous after.
func TestConcurrentQuotaEdits(t *testing.T) {
	t.Parallel()
	b := setupRef(t)
	k := postgres.OfferKey{School: "S1", Level: enrollment.LevelLop1, Year: 2027}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			_, err := b.store.SetQuota(context.Background(), k, 100+i, enrollment.Actor{Name: fmt.Sprint("u", i), Role: enrollment.ActorCity})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("SetQuota: %v", err)
		}
	}
	events, err := b.store.SchoolEvents(t.Context(), "S1", 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 8 {
		t.Fatalf("%d events, want 8", len(events))
	}
	for i := len(events) - 1; i > 0; i-- {
		if string(events[i].After) != string(events[i-1].Before) {
			t.Errorf("event %d after %s, next before %s: the audit chain is broken", events[i].ID, events[i].After, events[i-1].Before)
		}
	}
	o, _ := b.store.Offer(t.Context(), k)
	if fmt.Sprintf(`{"quota": %d}`, o.Quota) != string(events[0].After) {
		t.Errorf("quota %d, last audited %s", o.Quota, events[0].After)
	}
}

// TestAreasAndPolicies: a district's officer covers the schools of its
// wards at any depth; policies are inherited down the tree.
func TestAreasAndPolicies(t *testing.T) {
	t.Parallel()
	b := setupRef(t)
	ctx := t.Context()
	for _, c := range []struct {
		area postgres.Area
		want []string
	}{
		{postgres.Area{}, []string{"S1", "S2"}},
		{postgres.Area{Authority: "HN"}, []string{"S1", "S2"}},
		{postgres.Area{Authority: "D1"}, []string{"S1"}},
		{postgres.Area{Authority: "W2"}, []string{"S2"}},
		{postgres.Area{School: "S2"}, []string{"S2"}},
		{postgres.Area{Authority: "NOPE"}, []string{}},
	} {
		list, err := b.store.Offers(ctx, enrollment.LevelLop1, 2027, c.area)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, o := range list {
			got = append(got, o.School)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("Offers(%+v) (-want +got):\n%s", c.area, diff)
		}
	}
	res, err := b.store.CopyCatchments(ctx, enrollment.LevelLop1, 2027, 2028, postgres.Area{Authority: "D1"}, officer)
	if err != nil || len(res.Created) != 1 || res.Created[0] != "S1" || len(res.Copied) != 1 {
		t.Errorf("district copy = %+v, %v; want S1 created and copied", res, err)
	}
	if chain, err := b.store.AuthorityChain(ctx, "W1"); err != nil || strings.Join(chain, ",") != "W1,D1,HN" {
		t.Errorf("AuthorityChain(W1) = %v, %v", chain, err)
	}
	if _, err := b.store.SetPolicy(ctx, postgres.Policy{Authority: "D1", Level: enrollment.LevelLop1, SchoolYear: 2027,
		PriorityRules: []string{"dt1"}, Mechanism: "da", TieBreak: "single", AdministrativePlacement: true}, officer); err != nil {
		t.Fatal(err)
	}
	for authority, source := range map[string]string{"W1": "D1", "D1": "D1", "W2": "", "HN": ""} {
		p, err := b.store.Policy(ctx, authority, enrollment.LevelLop1, 2027)
		if err != nil || p.Source != source {
			t.Errorf("Policy(%s) = %+v, %v; want from %q", authority, p, err, source)
		}
	}
	if _, err := b.store.Policy(ctx, "NOPE", enrollment.LevelLop1, 2027); code(err) != enrollment.CodeNotFound {
		t.Errorf("policy of an unknown authority: %v", err)
	}
}

// addApplications stores n lop1 applications for 2027 living in ward,
// naming first first, submitted at the given time.
func addApplications(t testing.TB, db *sqlx.DB, n int, ward, first string, at time.Time) {
	t.Helper()
	if _, err := db.Exec(`INSERT INTO windows (level, school_year, opens_at, closes_at, birth_year, max_choices)
		VALUES ('lop1', 2027, '2027-07-01', '2027-07-04', 2021, 3) ON CONFLICT DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	_, err := db.Exec(`
INSERT INTO applications (id, tracking_code, level, school_year, child_id_number, child_name, date_of_birth, sex,
    permanent_ward, current_ward, guardian, priority_group, choices, submitted_at)
SELECT gen_random_uuid(), md5(random()::text), 'lop1', 2027, md5(random()::text), 'Trẻ', '2021-01-01', 'female',
    $2, $2, '{}', 0, ARRAY[$3, 'S2'], CAST($4 AS timestamptz) + (i % 3600) * interval '1 second'
FROM generate_series(1, $1) AS i`, n, ward, first, at)
	if err != nil {
		t.Fatal(err)
	}
}

func TestDashboardStats(t *testing.T) {
	t.Parallel()
	b := setupRef(t)
	ctx := t.Context()
	hour := time.Now().UTC().Truncate(time.Hour)
	addApplications(t, b.db, 30, "00001", "S1", hour.Add(-2*time.Hour))
	addApplications(t, b.db, 5, "00002", "S2", hour)
	c, err := b.store.RegistrationCounts(ctx, 2027, time.Time{}, hour.Add(-3*time.Hour), hour.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []postgres.HourCount{{hour.Add(-2 * time.Hour), "lop1", "00001", 30}, {hour, "lop1", "00002", 5}}
	if diff := cmp.Diff(want, c.Hourly); diff != "" {
		t.Errorf("hourly (-want +got):\n%s", diff)
	}
	wantFirst := map[string]int{"S1": 30, "S2": 5}
	if len(c.First) != 2 || wantFirst[c.First[0].School] != c.First[0].Count || wantFirst[c.First[1].School] != c.First[1].Count {
		t.Errorf("first choices %+v, want %v", c.First, wantFirst)
	}
	// The two parts of the dashboard: before the edge and since.
	before, _ := b.store.RegistrationCounts(ctx, 2027, time.Time{}, time.Time{}, hour.Add(-time.Hour))
	since, _ := b.store.RegistrationCounts(ctx, 2027, hour.Add(-time.Hour), hour.Add(-time.Hour), hour.Add(time.Hour))
	if len(before.Hourly) != 1 || before.Hourly[0].Count != 30 || len(since.Hourly) != 1 || since.Hourly[0].Count != 5 {
		t.Errorf("split counts: before %+v, since %+v", before.Hourly, since.Hourly)
	}
	// A voided application leaves the first choices, not the registrations.
	if _, err := b.db.Exec(`UPDATE applications SET status = 'voided' WHERE ctid IN (SELECT ctid FROM applications WHERE current_ward = '00002' LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	since, _ = b.store.RegistrationCounts(ctx, 2027, hour.Add(-time.Hour), hour.Add(-time.Hour), hour.Add(time.Hour))
	if since.Hourly[0].Count != 5 || len(since.First) != 1 || since.First[0].Count != 4 {
		t.Errorf("after a void: %+v", since)
	}
	wards, err := b.store.AreaWards(ctx, "D1")
	if err != nil || len(wards) != 1 || wards[0] != "00001" {
		t.Errorf("AreaWards(D1) = %v, %v", wards, err)
	}
}
