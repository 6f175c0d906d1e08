package web_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/placement"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
)

// raw fetches a route's bytes as c.
func (s *reviewSite) raw(t *testing.T, c *client, path string) (int, []byte, string) {
	t.Helper()
	res, err := c.http.Get(s.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header.Get("Content-Type")
}

// accepted registers n children through the API (two) and the store (the
// rest), with school A first, and accepts them all as school A's clerk.
func (s *reviewSite) accepted(t *testing.T, n int) []string {
	t.Helper()
	clerk := s.signIn(t, "school-"+schoolA)
	var codes []string
	for i := range n {
		var code string
		if i < 2 {
			code = s.submit(t, s.form(schoolA, s.schoolB.SchoolCode))
		} else {
			code, _ = s.stored(t, schoolA)
		}
		a := s.do(t, clerk, "POST", "/api/v1/applications/"+code+"/review", map[string]string{"decision": "accept"})
		if a.status != http.StatusOK {
			t.Fatalf("accept %s: %d %s", code, a.status, a.raw)
		}
		codes = append(codes, code)
	}
	return codes
}

func idOf(t *testing.T, a reply) string {
	t.Helper()
	id, ok := a.body["id"].(float64)
	if !ok {
		t.Fatalf("no run id in %s", a.raw)
	}
	return fmt.Sprint(int64(id))
}

// TestPlacementEndToEnd: register through the API, review, commit a
// seed, preview DA and Boston, compare, publish, and check with the
// engine's own file round trip that the stored result is what the engine
// gives for the stored instance; the seed is revealed and matches its
// commitment; the run is immutable.
func TestPlacementEndToEnd(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	codes := s.accepted(t, 45)
	admin := s.signIn(t, "admin")
	anon := s.anonymous(t)
	year := s.window.SchoolYear

	a := s.do(t, admin, "POST", "/api/v1/placement/seeds", map[string]any{"level": "lop1", "school_year": year, "seed": "e2e-seed"})
	sum := sha256.Sum256([]byte("e2e-seed"))
	if a.status != http.StatusCreated || a.body["commitment"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("commit seed: %d %s", a.status, a.raw)
	}
	if a := s.do(t, admin, "POST", "/api/v1/placement/seeds", map[string]any{"level": "lop1", "school_year": year}); a.status != http.StatusConflict {
		t.Errorf("second commitment: %d %s", a.status, a.raw)
	}
	pub := s.do(t, anon, "GET", "/api/v1/placement/seeds", nil)
	if pub.status != http.StatusOK || !bytes.Contains(pub.raw, []byte(hex.EncodeToString(sum[:]))) || bytes.Contains(pub.raw, []byte("e2e-seed")) {
		t.Fatalf("public seeds before publishing: %d %s", pub.status, pub.raw)
	}

	da := s.do(t, admin, "POST", "/api/v1/placement/runs", map[string]any{"level": "lop1", "school_year": year, "round": 1, "mechanism": "da", "include": "accepted"})
	// A run may set its own confirmation deadline.
	boston := s.do(t, admin, "POST", "/api/v1/placement/runs", map[string]any{"level": "lop1", "school_year": year, "mechanism": "boston",
		"confirm_by": "2099-08-05T17:00:00+07:00"})
	if da.status != http.StatusCreated || boston.status != http.StatusCreated {
		t.Fatalf("runs: %d %s; %d %s", da.status, da.raw, boston.status, boston.raw)
	}
	if boston.body["confirm_by"] != "2099-08-05T10:00:00Z" {
		t.Errorf("the Boston run's confirm_by = %v, want the one asked for", boston.body["confirm_by"])
	}
	for _, k := range []string{"id", "level", "school_year", "round", "mechanism", "status", "seed_commitment", "created_by", "created_at", "stats"} {
		if _, ok := da.body[k]; !ok {
			t.Errorf("run lacks %q: %s", k, da.raw)
		}
	}
	if da.body["status"] != "preview" || da.body["created_by"] != "admin" {
		t.Errorf("run = %s", da.raw)
	}
	daID, bostonID := idOf(t, da), idOf(t, boston)

	list := s.do(t, admin, "GET", fmt.Sprintf("/api/v1/placement/runs?level=lop1&school_year=%d", year), nil)
	if runs, _ := list.body["runs"].([]any); len(runs) != 2 {
		t.Errorf("runs listed: %s", list.raw)
	}
	cmp := s.do(t, admin, "GET", "/api/v1/placement/compare?runs="+daID+","+bostonID, nil)
	if runs, _ := cmp.body["runs"].([]any); cmp.status != http.StatusOK || len(runs) != 2 || cmp.body["differences"] == nil {
		t.Fatalf("compare: %d %s", cmp.status, cmp.raw)
	}
	if a := s.do(t, admin, "GET", "/api/v1/placement/compare?runs="+daID, nil); a.status != http.StatusBadRequest {
		t.Errorf("compare of one run: %d", a.status)
	}

	// The preview's files are staff's; the result is the engine's.
	if st, _, _ := s.raw(t, anon, "/api/v1/placement/runs/"+daID+"/instance"); st != http.StatusNotFound {
		t.Errorf("anonymous instance of a preview: %d", st)
	}
	st, inst, _ := s.raw(t, admin, "/api/v1/placement/runs/"+daID+"/instance")
	if st != http.StatusOK || bytes.Contains(inst, []byte(codes[0])) || bytes.Contains(inst, []byte("Nguyễn")) {
		t.Fatalf("instance: %d, or it holds personal data", st)
	}
	_, result, _ := s.raw(t, admin, "/api/v1/placement/runs/"+daID+"/result")
	in, err := allocation.Decode(inst)
	if err != nil {
		t.Fatal(err)
	}
	res, err := allocation.Place(in)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	res.WriteJSON(&want)
	if !bytes.Equal(result, want.Bytes()) {
		t.Fatal("the served result is not what the engine writes for the served instance")
	}
	if len(in.Students) != len(codes) || res.Stats.Unassigned+res.Stats.Administrative == 0 && res.Stats.AssignedByChoice != len(codes) {
		t.Errorf("instance of %d students for %d accepted; stats %+v", len(in.Students), len(codes), res.Stats)
	}
	st, table, ctype := s.raw(t, admin, "/api/v1/placement/runs/"+daID+"/assignments.csv")
	recs, err := csv.NewReader(bytes.NewReader(table)).ReadAll()
	if st != http.StatusOK || !strings.HasPrefix(ctype, "text/csv") || err != nil || len(recs) != len(codes)+1 {
		t.Errorf("assignments.csv: %d %s %v, %d lines", st, ctype, err, len(recs))
	}
	st, table, _ = s.raw(t, admin, "/api/v1/placement/runs/"+daID+"/schools.csv")
	if recs, err := csv.NewReader(bytes.NewReader(table)).ReadAll(); st != http.StatusOK || err != nil || len(recs) != len(in.Schools)+1 {
		t.Errorf("schools.csv: %d %v", st, err)
	}

	p := s.do(t, admin, "POST", "/api/v1/placement/runs/"+daID+"/publish", nil)
	if p.status != http.StatusOK || p.body["status"] != "published" {
		t.Fatalf("publish: %d %s", p.status, p.raw)
	}
	for _, id := range []string{daID, bostonID} {
		if a := s.do(t, admin, "POST", "/api/v1/placement/runs/"+id+"/publish", nil); a.status != http.StatusConflict {
			t.Errorf("publish run %s after run %s: %d %s", id, daID, a.status, a.raw)
		}
	}
	pub = s.do(t, anon, "GET", "/api/v1/placement/seeds", nil)
	if !bytes.Contains(pub.raw, []byte(`"seed":"e2e-seed"`)) {
		t.Errorf("seed not revealed after publishing: %s", pub.raw)
	}
	if st, b, _ := s.raw(t, anon, "/api/v1/placement/runs/"+daID+"/result"); st != http.StatusOK || !bytes.Equal(b, result) {
		t.Errorf("anonymous result of the published run: %d", st)
	}
	// The public files are the engine's own: the instance file as staff
	// saw it, the result the engine writes for it.
	if st, b, _ := s.raw(t, anon, "/api/v1/placement/published/"+daID+"/instance.json"); st != http.StatusOK || !bytes.Equal(b, inst) {
		t.Errorf("public instance.json of the published run: %d, %d bytes, not the instance file (%d bytes)", st, len(b), len(inst))
	}
	if st, b, _ := s.raw(t, anon, "/api/v1/placement/published/"+daID+"/result.json"); st != http.StatusOK || !bytes.Equal(b, result) {
		t.Errorf("public result.json of the published run: %d", st)
	}
	placed := 0
	for _, code := range codes {
		switch s.status(t, code)["status"] {
		case "placed":
			placed++
		case "unplaced":
		default:
			t.Errorf("status of %s after publishing: %v", code, s.status(t, code))
		}
	}
	if placed != res.Stats.AssignedByChoice+res.Stats.Administrative {
		t.Errorf("%d placed, the engine placed %d", placed, res.Stats.AssignedByChoice+res.Stats.Administrative)
	}
	// Every publish is audited.
	evs, err := staff.NewStore(s.db).Events(t.Context(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.Action] = true
	}
	for _, act := range []string{"placement_seed_committed", "placement_run_created", "placement_run_published"} {
		if !seen[act] {
			t.Errorf("no audit event %s", act)
		}
	}
	if got := placement.Pseudonym(enrollment.LevelLop1, year, codes[0]); !bytes.Contains(inst, []byte(got)) {
		t.Errorf("pseudonym of %s not in the instance", codes[0])
	}
}

// TestPlacementAuthorizationMatrix: the placement routes × anonymous, a
// school clerk, the ward officer of school A's ward, an officer of
// another ward and the city, on a run of that ward and a run of the city.
func TestPlacementAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	s.accepted(t, 3)
	callers := []*client{
		s.anonymous(t),
		s.signIn(t, "school-"+schoolA),
		s.signIn(t, "ward-00004"),
		s.signIn(t, "ward-"+s.schoolB.Ward),
		s.signIn(t, "admin"),
	}
	ward, admin := callers[2], callers[4]
	year := s.window.SchoolYear
	if a := s.do(t, admin, "POST", "/api/v1/placement/seeds", map[string]any{"level": "lop1", "school_year": year}); a.status != http.StatusCreated {
		t.Fatalf("seed: %d %s", a.status, a.raw)
	}
	body := map[string]any{"level": "lop1", "school_year": year}
	w := s.do(t, ward, "POST", "/api/v1/placement/runs", body)
	if w.status != http.StatusCreated || w.body["scope"] != "00004" {
		t.Fatalf("ward run: %d %s", w.status, w.raw)
	}
	c := s.do(t, admin, "POST", "/api/v1/placement/runs", body)
	wid, cid := idOf(t, w), idOf(t, c)

	routes := []struct {
		method, path string
		body         any
		want         [5]int
	}{
		{"POST", "/api/v1/placement/seeds", map[string]any{"level": "mg5", "school_year": year}, [5]int{401, 403, 201, 409, 409}},
		{"GET", "/api/v1/placement/seeds", nil, [5]int{200, 200, 200, 200, 200}},
		{"POST", "/api/v1/placement/runs", body, [5]int{401, 403, 201, 201, 201}},
		{"GET", "/api/v1/placement/runs", nil, [5]int{401, 403, 200, 200, 200}},
		{"GET", "/api/v1/placement/runs/" + wid, nil, [5]int{401, 403, 200, 404, 200}},
		{"GET", "/api/v1/placement/runs/" + cid, nil, [5]int{401, 403, 404, 404, 200}},
		{"GET", "/api/v1/placement/runs/" + wid + "/instance", nil, [5]int{404, 403, 200, 404, 200}},
		{"GET", "/api/v1/placement/runs/" + cid + "/result", nil, [5]int{404, 403, 404, 404, 200}},
		{"GET", "/api/v1/placement/compare?runs=" + wid + "," + cid, nil, [5]int{401, 403, 404, 404, 200}},
		{"POST", "/api/v1/placement/runs/" + cid + "/publish", nil, [5]int{401, 403, 404, 404, 200}},
	}
	for _, r := range routes {
		for i, cl := range callers {
			a := s.do(t, cl, r.method, r.path, r.body)
			if a.status != r.want[i] {
				t.Errorf("%s %s as %s: %d %s, want %d", r.method, r.path, cl.name, a.status, a.raw, r.want[i])
			}
		}
	}
	// The ward officer lists only runs of its area.
	a := s.do(t, ward, "GET", "/api/v1/placement/runs", nil)
	for _, r := range a.body["runs"].([]any) {
		if r.(map[string]any)["scope"] != "00004" {
			t.Errorf("ward officer lists %v", r)
		}
	}
	// Writes need the session's CSRF token.
	noToken := *admin
	noToken.csrf = ""
	if a := s.do(t, &noToken, "POST", "/api/v1/placement/runs", body); a.status != http.StatusForbidden {
		t.Errorf("run without CSRF token: %d", a.status)
	}
}

// TestPlacementBadRequests: each bad body or query is refused with a
// message naming what is wrong, never a 500.
func TestPlacementBadRequests(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	admin := s.signIn(t, "admin")
	year := s.window.SchoolYear
	for _, tc := range []struct {
		method, path string
		body         any
		want         int
		field        string
	}{
		{"POST", "/api/v1/placement/seeds", map[string]any{"level": "lop9", "school_year": year}, 422, "level"},
		{"POST", "/api/v1/placement/seeds", map[string]any{"level": "lop1", "school_year": year, "seed": ""}, 422, "seed"},
		{"POST", "/api/v1/placement/seeds", map[string]any{"level": "lop1", "school_year": year, "colour": 1}, 400, ""},
		{"POST", "/api/v1/placement/runs", map[string]any{"level": "lop1", "school_year": year, "mechanism": "ttc"}, 422, "mechanism"},
		{"POST", "/api/v1/placement/runs", map[string]any{"level": "lop1", "school_year": year}, 409, ""}, // no seed yet
		{"POST", "/api/v1/placement/runs", map[string]any{"level": "lop1", "school_year": year, "round": 3, "include": "x"}, 422, "round"},
		{"POST", "/api/v1/placement/runs", map[string]any{"level": "lop1", "school_year": year, "round": 2, "confirm_by": "2020-01-01T00:00:00Z"}, 422, "confirm_by"},
		{"POST", "/api/v1/placement/runs", map[string]any{"level": "lop1", "school_year": year, "confirm_by": "next week"}, 400, ""},
		{"GET", "/api/v1/placement/runs?level=x", nil, 400, "level"},
		{"GET", "/api/v1/placement/runs/abc", nil, 404, ""},
		{"GET", "/api/v1/placement/runs/999999", nil, 404, ""},
		{"GET", "/api/v1/placement/compare?runs=1,x", nil, 400, "runs"},
		{"GET", "/api/v1/placement/compare?runs=1,1", nil, 400, "runs"},
	} {
		a := s.do(t, admin, tc.method, tc.path, tc.body)
		e, _ := a.body["error"].(map[string]any)
		if a.status != tc.want || e == nil || e["message"] == "" || e["message_en"] == "" {
			t.Errorf("%s %s %v: %d %s, want %d", tc.method, tc.path, tc.body, a.status, a.raw, tc.want)
			continue
		}
		if tc.field != "" && !bytes.Contains(a.raw, []byte(`"field":"`+tc.field+`"`)) {
			t.Errorf("%s %s %v: %s does not name %s", tc.method, tc.path, tc.body, a.raw, tc.field)
		}
	}
}
