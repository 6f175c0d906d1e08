package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
	"github.com/tuyensinh/tuyensinh/enrollment/placement"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
	"github.com/tuyensinh/tuyensinh/web"
)

// refSite is the service on the demo city with its demo staff accounts,
// whose catalog is refreshed after every reference edit as the serving
// process does. It reuses reviewSite's clients and helpers.
type refSite struct {
	*reviewSite
	catalog   atomic.Pointer[enrollment.Catalog]
	refreshes atomic.Int64
	year      int    // the open lop1 window's school year
	wardB     string // the ward of school B
	// reg has the placement metrics of the server's store.
	reg *prometheus.Registry
}

func newRefSite(t testing.TB) *refSite {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	db := testenv.DB(t)
	store := postgres.New(db)
	if err := store.SaveReference(ctx, democity.Reference(now)); err != nil {
		t.Fatal(err)
	}
	cat, err := store.LoadCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := staff.NewStore(db)
	if _, err := st.SeedDemo(ctx, reviewPassword); err != nil {
		t.Fatal(err)
	}
	s := &refSite{reviewSite: &reviewSite{db: db, store: store, cat: cat}}
	s.catalog.Store(cat)
	s.now.Store(now.UnixNano())
	s.window, _ = cat.CurrentWindow(enrollment.LevelLop1, now)
	s.year = s.window.SchoolYear
	for _, o := range cat.Offers(enrollment.LevelLop1, s.year) {
		if o.Ward != "00004" {
			s.schoolB = *o
			break
		}
	}
	s.wardB = s.schoolB.Ward
	rdb, prefix := testenv.Redis(t)
	q, err := intake.NewQueue(rdb, intake.Config{Keys: intake.Keys{Prefix: prefix}}, intake.NewMetrics(nil), false)
	if err != nil {
		t.Fatal(err)
	}
	pg := postgres.New(db)
	s.reg = prometheus.NewRegistry()
	placement.RegisterMetrics(s.reg, pg)
	srv := httptest.NewServer(web.NewServer(web.Deps{
		Catalog:  s.catalog.Load,
		Intake:   q,
		DB:       pg,
		Gatherer: s.reg,
		Staff:    st,
		NowFunc:  func() time.Time { return time.Unix(0, s.now.Load()) },
		RefreshCatalog: func(ctx context.Context) error {
			c, err := store.LoadCatalog(ctx)
			if err != nil {
				return err
			}
			s.catalog.Store(c)
			s.refreshes.Add(1)
			return nil
		},
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *refSite) offerPath(school string, year int) string {
	return "/api/v1/reference/schools/" + school + "/offers/lop1/" + strconv.Itoa(year)
}

// events returns the reference_events rows of an object, oldest first.
func (s *refSite) events(t testing.TB, kind, object string) []map[string]any {
	t.Helper()
	rows, err := s.db.QueryxContext(t.Context(), `SELECT actor, actor_role, COALESCE(before::text, 'null') AS before, COALESCE(after::text, 'null') AS after
FROM reference_events WHERE kind = $1 AND object = $2 ORDER BY id`, kind, object)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		m := map[string]any{}
		if err := rows.MapScan(m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"before", "after"} {
			var v any
			if err := json.Unmarshal([]byte(m[k].(string)), &v); err != nil {
				t.Fatal(err)
			}
			m[k] = v
		}
		out = append(out, m)
	}
	return out
}

func countEvents(t testing.TB, db *sqlx.DB) int {
	t.Helper()
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM reference_events`); err != nil {
		t.Fatal(err)
	}
	return n
}

// publish inserts a published placement run of lop1 in year, as a
// publish would leave it.
func publish(t testing.TB, db *sqlx.DB, year int) {
	t.Helper()
	_, err := db.Exec(`
INSERT INTO placement_seeds (level, school_year, seed, commitment, created_by) VALUES ('lop1', $1, 'seed', 'c', 'admin')
ON CONFLICT DO NOTHING`, year)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`
INSERT INTO placement_runs (level, school_year, round, mechanism, include, status, seed_commitment, instance, created_by, published_by, published_at)
VALUES ('lop1', $1, 1, 'da', 'accepted', 'published', 'c', '\x7b7d', 'admin', 'admin', now())`, year)
	if err != nil {
		t.Fatal(err)
	}
}

// TestReferenceAuthorizationMatrix: every reference route and the
// dashboard × every kind of caller, on school A (ward 00004). Refusals
// carry no reference data.
func TestReferenceAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	s := newRefSite(t)
	callers := []*client{
		s.anonymous(t),
		s.signIn(t, "school-"+schoolA),
		s.signIn(t, "school-"+s.schoolB.SchoolCode),
		s.signIn(t, "ward-00004"),
		s.signIn(t, "ward-"+s.wardB),
		s.signIn(t, "admin"),
	}
	y := strconv.Itoa(s.year)
	a, _ := s.cat.Offer(schoolA, enrollment.LevelLop1, s.year)
	opens := time.Date(s.year, 7, 1, 0, 0, 0, 0, time.UTC)
	routes := []struct {
		name   string
		want   [6]int
		method string
		path   string
		body   any
	}{
		{"list offers", [6]int{401, 200, 200, 200, 200, 200}, "GET", "/api/v1/reference/offers?level=lop1&school_year=" + y, nil},
		{"offer", [6]int{401, 200, 403, 200, 403, 200}, "GET", s.offerPath(schoolA, s.year), nil},
		{"set quota", [6]int{401, 403, 403, 200, 403, 200}, "PUT", s.offerPath(schoolA, s.year), map[string]int{"quota": a.Quota}},
		{"set catchment", [6]int{401, 403, 403, 200, 403, 200}, "PUT", s.offerPath(schoolA, s.year) + "/catchment", map[string]any{"catchment": a.Catchment}},
		{"school audit", [6]int{401, 200, 403, 200, 403, 200}, "GET", "/api/v1/reference/schools/" + schoolA + "/events", nil},
		{"copy catchments", [6]int{401, 403, 403, 200, 200, 200}, "POST", "/api/v1/reference/catchments/copy",
			map[string]any{"level": "lop1", "from_year": s.year, "to_year": s.year + 1}},
		{"windows", [6]int{401, 403, 403, 200, 200, 200}, "GET", "/api/v1/reference/windows", nil},
		{"set window", [6]int{401, 403, 403, 403, 403, 200}, "PUT", "/api/v1/reference/windows/lop1/" + strconv.Itoa(s.year+1),
			map[string]any{"opens_at": opens, "closes_at": opens.Add(72 * time.Hour), "max_choices": 3}},
		{"policy", [6]int{401, 403, 403, 200, 403, 200}, "GET", "/api/v1/reference/policies/00004/lop1/" + y, nil},
		{"set policy", [6]int{401, 403, 403, 200, 403, 200}, "PUT", "/api/v1/reference/policies/00004/lop1/" + y,
			map[string]any{"priority_rules": []string{"in_catchment+group1", "dt1", "dt2", "dt3"}}},
		{"dashboard", [6]int{401, 403, 403, 200, 200, 200}, "GET", "/api/v1/dashboard", nil},
	}
	for _, r := range routes {
		for i, c := range callers {
			got := s.do(t, c, r.method, r.path, r.body)
			if got.status != r.want[i] {
				t.Errorf("%s by %s: %d %s, want %d", r.name, c.name, got.status, got.raw, r.want[i])
			}
			if got.status >= 400 {
				raw := string(got.raw)
				for _, secret := range []string{a.Name, `"quota"`, `"catchment"`, `"priority_rules"`, `"hourly"`, `"opens_at"`, "TDP"} {
					if strings.Contains(raw, secret) {
						t.Errorf("%s by %s: refusal %s carries %q", r.name, c.name, raw, secret)
					}
				}
			}
		}
	}
	// Lists hold only what the caller covers.
	for _, c := range []struct {
		who  *client
		only func(postgres.SchoolOffer) bool
	}{
		{callers[1], func(o postgres.SchoolOffer) bool { return o.School == schoolA }},
		{callers[3], func(o postgres.SchoolOffer) bool { return o.Ward == "00004" }},
		{callers[4], func(o postgres.SchoolOffer) bool { return o.Ward == s.wardB }},
	} {
		got := s.do(t, c.who, "GET", "/api/v1/reference/offers?level=lop1&school_year="+y, nil)
		var body struct{ Offers []postgres.SchoolOffer }
		if err := json.Unmarshal(got.raw, &body); err != nil || len(body.Offers) == 0 {
			t.Fatalf("offers of %s: %s (%v)", c.who.name, got.raw, err)
		}
		for _, o := range body.Offers {
			if !c.only(o) {
				t.Errorf("offers of %s list %s of ward %s", c.who.name, o.School, o.Ward)
			}
		}
	}
	// The copy of the officer of B's ward reached no school of ward 00004.
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM reference_events e JOIN schools sc ON e.object LIKE sc.code || '/%'
		WHERE e.actor = $1 AND sc.ward_code <> $2`, "ward-"+s.wardB, s.wardB); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the officer of ward %s changed %d objects of other wards", s.wardB, n)
	}
}

// TestQuotaEditAuditedAndVisible: an officer's quota edit is stored, audited
// before → after with who, pushed to the catalog the intake reads, and
// shown in the school's audit trail.
func TestQuotaEditAuditedAndVisible(t *testing.T) {
	t.Parallel()
	s := newRefSite(t)
	officer := s.signIn(t, "ward-00004")
	old, _ := s.cat.Offer(schoolA, enrollment.LevelLop1, s.year)
	got := s.do(t, officer, "PUT", s.offerPath(schoolA, s.year), map[string]int{"quota": old.Quota + 7})
	if got.status != 200 || got.body["quota"] != float64(old.Quota+7) {
		t.Fatalf("set quota: %d %s", got.status, got.raw)
	}
	object := schoolA + "/lop1/" + strconv.Itoa(s.year)
	ev := s.events(t, "offer", object)
	if len(ev) != 1 {
		t.Fatalf("events of %s: %v, want one", object, ev)
	}
	if ev[0]["actor"] != "ward-00004" || ev[0]["actor_role"] != "authority" ||
		ev[0]["before"].(map[string]any)["quota"] != float64(old.Quota) || ev[0]["after"].(map[string]any)["quota"] != float64(old.Quota+7) {
		t.Errorf("audit row %v, want ward-00004 (authority) %d → %d", ev[0], old.Quota, old.Quota+7)
	}
	if o, _ := s.catalog.Load().Offer(schoolA, enrollment.LevelLop1, s.year); o.Quota != old.Quota+7 {
		t.Errorf("catalog after the edit: quota %d, want %d", o.Quota, old.Quota+7)
	}
	// The same value again changes nothing and audits nothing.
	s.do(t, officer, "PUT", s.offerPath(schoolA, s.year), map[string]int{"quota": old.Quota + 7})
	if ev := s.events(t, "offer", object); len(ev) != 1 {
		t.Errorf("unchanged quota audited: %d rows", len(ev))
	}
	trail := s.do(t, s.signIn(t, "school-"+schoolA), "GET", "/api/v1/reference/schools/"+schoolA+"/events", nil)
	events, _ := trail.body["events"].([]any)
	if trail.status != 200 || len(events) != 1 || events[0].(map[string]any)["actor"] != "ward-00004" {
		t.Errorf("school A's audit trail: %d %s", trail.status, trail.raw)
	}

	// A catchment: ward 00004's TDP 1 and TDP 2 and the whole of B's ward.
	zones := []map[string]any{{"ward": "00004", "groups": []string{"TDP 2", "TDP 1"}}, {"ward": s.wardB, "groups": []string{}}}
	got = s.do(t, officer, "PUT", s.offerPath(schoolA, s.year)+"/catchment", map[string]any{"catchment": zones})
	if got.status != 200 {
		t.Fatalf("set catchment: %d %s", got.status, got.raw)
	}
	o, _ := s.catalog.Load().Offer(schoolA, enrollment.LevelLop1, s.year)
	if !o.InCatchment("00004", "TDP 1") || o.InCatchment("00004", "TDP 3") || !o.InCatchment(s.wardB, "anything") {
		t.Errorf("catalog catchment after the edit: %+v", o.Catchment)
	}
	cev := s.events(t, "catchment", object)
	if len(cev) != 1 || len(cev[0]["after"].(map[string]any)["catchment"].([]any)) != 2 {
		t.Errorf("catchment audit: %v", cev)
	}
	if s.refreshes.Load() < 2 {
		t.Errorf("catalog refreshed %d times after two edits", s.refreshes.Load())
	}
}

// TestPublishedYearFrozen: once a run of the level and year is published,
// its quotas and catchments answer 409 in Vietnamese and change nothing;
// another year stays editable.
func TestPublishedYearFrozen(t *testing.T) {
	t.Parallel()
	s := newRefSite(t)
	publish(t, s.db, s.year)
	admin := s.signIn(t, "admin")
	old, _ := s.cat.Offer(schoolA, enrollment.LevelLop1, s.year)
	before := countEvents(t, s.db)
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"PUT", s.offerPath(schoolA, s.year), map[string]int{"quota": old.Quota + 1}},
		{"PUT", s.offerPath(schoolA, s.year) + "/catchment", map[string]any{"catchment": []any{}}},
		{"POST", "/api/v1/reference/catchments/copy", map[string]any{"level": "lop1", "from_year": s.year - 1, "to_year": s.year}},
	} {
		got := s.do(t, admin, r.method, r.path, r.body)
		msg, _ := got.body["error"].(map[string]any)["message"].(string)
		if got.status != http.StatusConflict || !strings.Contains(msg, "đã được công bố") {
			t.Errorf("%s %s after publish: %d %s, want 409 saying it was published", r.method, r.path, got.status, got.raw)
		}
	}
	if n := countEvents(t, s.db); n != before {
		t.Errorf("refused edits wrote %d audit rows", n-before)
	}
	got := s.do(t, admin, "GET", s.offerPath(schoolA, s.year), nil)
	if got.body["quota"] != float64(old.Quota) || got.body["frozen"] != true || len(got.body["catchment"].([]any)) != len(old.Catchment) {
		t.Errorf("offer after refused edits: %s, want quota %d, frozen, catchment unchanged", got.raw, old.Quota)
	}
	if got := s.do(t, admin, "PUT", s.offerPath(schoolA, s.year+1), map[string]int{"quota": 35}); got.status != 200 || got.body["frozen"] != false {
		t.Errorf("next year's quota: %d %s, want 200", got.status, got.raw)
	}
}

// TestReferenceValidation: bad input is refused with a clear error naming
// the field, and writes nothing.
func TestReferenceValidation(t *testing.T) {
	t.Parallel()
	s := newRefSite(t)
	admin := s.signIn(t, "admin")
	y := strconv.Itoa(s.year)
	opens := time.Date(s.year+1, 7, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"negative quota", "PUT", s.offerPath(schoolA, s.year), map[string]int{"quota": -1}, 422, "quota"},
		{"missing quota", "PUT", s.offerPath(schoolA, s.year), map[string]int{}, 422, "quota"},
		{"quota as text", "PUT", s.offerPath(schoolA, s.year), map[string]string{"quota": "ba mươi"}, 400, "quota"},
		{"unknown field", "PUT", s.offerPath(schoolA, s.year), map[string]int{"quota": 3, "seats": 4}, 400, "seats"},
		{"unknown level", "PUT", "/api/v1/reference/schools/" + schoolA + "/offers/lop2/" + y, map[string]int{"quota": 3}, 422, "level"},
		{"bad year", "GET", "/api/v1/reference/schools/" + schoolA + "/offers/lop1/1890", nil, 422, "school_year"},
		{"unknown ward", "PUT", s.offerPath(schoolA, s.year) + "/catchment", map[string]any{"catchment": []map[string]any{{"ward": "99999"}}}, 422, "catchment[0].ward"},
		{"unknown group", "PUT", s.offerPath(schoolA, s.year) + "/catchment",
			map[string]any{"catchment": []map[string]any{{"ward": "00004", "groups": []string{"TDP 1", "TDP 999"}}}}, 422, "catchment[0].groups[1]"},
		{"ward twice", "PUT", s.offerPath(schoolA, s.year) + "/catchment",
			map[string]any{"catchment": []map[string]any{{"ward": "00004"}, {"ward": "00004", "groups": []string{"TDP 1"}}}}, 422, "catchment[1].ward"},
		{"missing catchment", "PUT", s.offerPath(schoolA, s.year) + "/catchment", map[string]any{}, 422, "catchment"},
		{"bad rule", "PUT", "/api/v1/reference/policies/HN/lop1/" + y, map[string]any{"priority_rules": []string{"dt1", "dt1+rich"}}, 422, "priority_rules[1]"},
		{"bad mechanism", "PUT", "/api/v1/reference/policies/HN/lop1/" + y, map[string]any{"priority_rules": []string{"dt1"}, "mechanism": "fcfs"}, 422, "mechanism"},
		{"missing rules", "PUT", "/api/v1/reference/policies/HN/lop1/" + y, map[string]any{"mechanism": "da"}, 422, "priority_rules"},
		{"window backwards", "PUT", "/api/v1/reference/windows/lop1/" + strconv.Itoa(s.year+1),
			map[string]any{"opens_at": opens, "closes_at": opens.Add(-time.Hour), "max_choices": 3}, 422, "closes_at"},
		{"too many choices", "PUT", "/api/v1/reference/windows/lop1/" + strconv.Itoa(s.year+1),
			map[string]any{"opens_at": opens, "closes_at": opens.Add(time.Hour), "max_choices": 40}, 422, "max_choices"},
		{"confirm before close", "PUT", "/api/v1/reference/windows/lop1/" + strconv.Itoa(s.year+1),
			map[string]any{"opens_at": opens, "closes_at": opens.Add(time.Hour), "max_choices": 3, "confirm_by": opens}, 422, "confirm_by"},
		{"copy to same year", "POST", "/api/v1/reference/catchments/copy", map[string]any{"level": "lop1", "from_year": s.year, "to_year": s.year}, 422, "to_year"},
		{"unknown school", "GET", "/api/v1/reference/schools/NOPE/offers/lop1/" + y, nil, 404, ""},
		{"unknown authority", "GET", "/api/v1/reference/policies/NOPE/lop1/" + y, nil, 404, ""},
		{"catchment without offer", "PUT", s.offerPath(schoolA, s.year+5) + "/catchment", map[string]any{"catchment": []any{}}, 404, ""},
	}
	before := countEvents(t, s.db)
	for _, c := range cases {
		got := s.do(t, admin, c.method, c.path, c.body)
		if got.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, got.status, got.raw, c.status)
			continue
		}
		e, _ := got.body["error"].(map[string]any)
		if e["message"] == "" || e["message_en"] == "" {
			t.Errorf("%s: %s lacks the Vietnamese or English message", c.name, got.raw)
		}
		if c.field == "" {
			continue
		}
		found := false
		problems, _ := e["problems"].([]any)
		for _, p := range problems {
			if p.(map[string]any)["field"] == c.field {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: %s does not name the field %s", c.name, got.raw, c.field)
		}
	}
	if n := countEvents(t, s.db); n != before {
		t.Errorf("refused edits wrote %d audit rows", n-before)
	}
}

// TestCopyCatchments: an officer copies its ward's catchments to the next
// year in one action; the city's copy does the rest; a second copy
// changes nothing.
func TestCopyCatchments(t *testing.T) {
	t.Parallel()
	s := newRefSite(t)
	body := map[string]any{"level": "lop1", "from_year": s.year, "to_year": s.year + 1}
	got := s.do(t, s.signIn(t, "ward-00004"), "POST", "/api/v1/reference/catchments/copy", body)
	if got.status != 200 {
		t.Fatalf("copy: %d %s", got.status, got.raw)
	}
	var inWard int
	for _, o := range s.cat.Offers(enrollment.LevelLop1, s.year) {
		if o.Ward == "00004" {
			inWard++
		}
	}
	if created := got.body["created"].([]any); len(created) != inWard || len(got.body["copied"].([]any)) == 0 {
		t.Errorf("ward copy: %s, want the %d schools of ward 00004 created", got.raw, inWard)
	}
	next := s.catalog.Load().Offers(enrollment.LevelLop1, s.year+1)
	if len(next) != inWard {
		t.Errorf("next year's offers in the catalog: %d, want %d", len(next), inWard)
	}
	for _, o := range next {
		was, _ := s.cat.Offer(o.SchoolCode, enrollment.LevelLop1, s.year)
		if o.Quota != was.Quota || len(o.Catchment) != len(was.Catchment) {
			t.Errorf("%s next year: %+v, want as this year %+v", o.SchoolCode, o, was)
		}
	}
	admin := s.signIn(t, "admin")
	got = s.do(t, admin, "POST", "/api/v1/reference/catchments/copy", body)
	if got.status != 200 || got.body["unchanged"] != float64(inWard) {
		t.Errorf("city copy: %s, want %d unchanged (ward 00004's)", got.raw, inWard)
	}
	got = s.do(t, admin, "POST", "/api/v1/reference/catchments/copy", body)
	if len(got.body["copied"].([]any)) != 0 || len(got.body["created"].([]any)) != 0 {
		t.Errorf("second copy: %s, want nothing changed", got.raw)
	}
}

// TestPolicyInheritance: without a row an authority has the defaults;
// the city's policy applies below it until a ward sets its own; every
// change audited.
func TestPolicyInheritance(t *testing.T) {
	t.Parallel()
	s := newRefSite(t)
	y := strconv.Itoa(s.year)
	ward := s.signIn(t, "ward-00004")
	admin := s.signIn(t, "admin")
	path := "/api/v1/reference/policies/00004/lop1/" + y
	if got := s.do(t, ward, "GET", path, nil); got.body["source"] != "" || got.body["mechanism"] != "da" {
		t.Errorf("default policy: %s", got.raw)
	}
	s.do(t, admin, "PUT", "/api/v1/reference/policies/HN/lop1/"+y, map[string]any{"priority_rules": []string{"in_catchment+group1", "dt1", "dt2", "dt3"}, "mechanism": "boston"})
	if got := s.do(t, ward, "GET", path, nil); got.body["source"] != "HN" || got.body["mechanism"] != "boston" {
		t.Errorf("inherited policy: %s", got.raw)
	}
	got := s.do(t, ward, "PUT", path, map[string]any{"priority_rules": []string{" dt1 ", "dt2"}, "tie_break": "multiple", "administrative_placement": false})
	if got.status != 200 || got.body["source"] != "00004" || got.body["tie_break"] != "multiple" || got.body["administrative_placement"] != false {
		t.Errorf("own policy: %d %s", got.status, got.raw)
	}
	ev := s.events(t, "policy", "00004/lop1/"+y)
	if len(ev) != 1 || ev[0]["before"] != nil || ev[0]["actor"] != "ward-00004" {
		t.Errorf("policy audit: %v", ev)
	}
	if rules := ev[0]["after"].(map[string]any)["priority_rules"].([]any); len(rules) != 2 || rules[0] != "dt1" {
		t.Errorf("audited rules %v, want trimmed [dt1 dt2]", rules)
	}
}

// TestWindowEdit: the city moves a window and sets the confirmation
// deadline; audited; the catalog's window moves at once.
func TestWindowEdit(t *testing.T) {
	t.Parallel()
	s := newRefSite(t)
	admin := s.signIn(t, "admin")
	w := s.window
	closes := w.ClosesAt.Add(24 * time.Hour)
	confirm := closes.Add(10 * 24 * time.Hour)
	got := s.do(t, admin, "PUT", "/api/v1/reference/windows/lop1/"+strconv.Itoa(s.year),
		map[string]any{"opens_at": w.OpensAt, "closes_at": closes, "max_choices": 2, "confirm_by": confirm})
	if got.status != 200 || got.body["max_choices"] != 2.0 || got.body["birth_year"] != float64(w.BirthYear) {
		t.Fatalf("set window: %d %s", got.status, got.raw)
	}
	if cw, _ := s.catalog.Load().Window(enrollment.LevelLop1, s.year); !cw.ClosesAt.Equal(closes) || cw.MaxChoices != 2 {
		t.Errorf("catalog window %+v, want closing %v with 2 choices", cw, closes)
	}
	ev := s.events(t, "window", "lop1/"+strconv.Itoa(s.year))
	if len(ev) != 1 || ev[0]["before"].(map[string]any)["confirm_by"] != nil || ev[0]["after"].(map[string]any)["confirm_by"] == nil {
		t.Errorf("window audit: %v", ev)
	}
}

// waitGauge waits until the gauge name of the site's metrics is want.
func (s *refSite) waitGauge(t *testing.T, name string, want float64) {
	t.Helper()
	got := -1.0
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		families, err := s.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == name {
				got = f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		if got == want {
			return
		}
	}
	t.Fatalf("%s = %v, want %v", name, got, want)
}
