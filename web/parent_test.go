package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// doFrom is do with the request coming from address (X-Real-IP).
func (s *reviewSite) doFrom(t testing.TB, c *client, address, method, path string, body any) reply {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Real-IP", address)
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := reply{status: res.StatusCode}
	out.raw, _ = io.ReadAll(res.Body)
	if err := json.Unmarshal(out.raw, &out.body); err != nil {
		t.Fatalf("%s %s: %d %q is not JSON", method, path, res.StatusCode, out.raw)
	}
	if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
		t.Errorf("%s %s: 429 without Retry-After", method, path)
	}
	return out
}

// placedPair stores two children of ward 00004 choosing school A then B,
// school A with one seat, and publishes: one child gets A, the other B
// with an explanation of A. It returns the codes and forms, the one at A
// first.
func (s *reviewSite) placedPair(t *testing.T, confirmBy time.Time) (atA, atB string, fA, fB *enrollment.Form, r run) {
	t.Helper()
	c1, f1 := s.stored(t, schoolA, s.schoolB.SchoolCode)
	c2, f2 := s.stored(t, schoolA, s.schoolB.SchoolCode)
	r = s.publish(t, 1, confirmBy, map[string]int{schoolA: 1}, c1, c2)
	if r.res.Assignments[0].School == schoolA {
		return c1, c2, f1, f2, r
	}
	return c2, c1, f2, f1, r
}

// TestLookup: the right pair shows the whole file, its history and the
// result with its explanation, and opens a parent session; every wrong
// pair gets the very same 404.
func TestLookup(t *testing.T) {
	t.Parallel()
	s := newParentSite(t)
	_, atB, _, fB, r := s.placedPair(t, time.Now().Add(48*time.Hour))
	_, a := s.lookup(t, atB, fB.Child.IDNumber)
	if a.status != http.StatusOK {
		t.Fatalf("lookup: %d %s", a.status, a.raw)
	}
	if a.body["status"] != "placed" || a.body["csrf_token"] == "" || a.body["can_decide"] != true {
		t.Errorf("lookup view: %s", a.raw)
	}
	if child := a.body["child"].(map[string]any); child["full_name"] != "Nguyễn Thị Mai" {
		t.Errorf("child = %v", child)
	}
	if h := a.body["history"].([]any); len(h) != 2 {
		t.Errorf("history = %v, want received then placed", h)
	}
	res := a.body["result"].(map[string]any)
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	for _, k := range []string{"school", "school_name", "choice_rank", "via", "distance_km", "lottery", "explanations", "confirm_by"} {
		if _, ok := res[k]; !ok {
			t.Errorf("result lacks %q: %v", k, keys)
		}
	}
	if len(res) != 8 {
		t.Errorf("result has fields %v, want exactly the issue's eight", keys)
	}
	if res["school"] != s.schoolB.SchoolCode || res["choice_rank"] != 2.0 || res["via"] != "choice" || res["school_name"] != s.schoolB.Name {
		t.Errorf("result = %v", res)
	}
	ex := res["explanations"].([]any)
	if len(ex) != 1 {
		t.Fatalf("explanations = %v", ex)
	}
	e := ex[0].(map[string]any)
	if e["school"] != schoolA || e["reason"] != "full" || e["missed_by"] != "lottery" || !strings.Contains(e["vi"].(string), "bốc thăm") {
		t.Errorf("explanation = %v", e)
	}
	// The lottery number recomputes from the published seed.
	pl := a.body["placement"].(map[string]any)
	if pl["pseudonym"] != pseudonym(enrollment.LevelLop1, s.window.SchoolYear, atB) || pl["seed"] != testSeed || pl["run_id"] != float64(r.id) {
		t.Errorf("placement = %v", pl)
	}

	// Every wrong pair: the same status and the same bytes.
	_, want := s.lookup(t, atB, "001300000000")
	if want.status != http.StatusNotFound {
		t.Fatalf("wrong ID number: %d %s", want.status, want.raw)
	}
	other, _ := s.stored(t, schoolA)
	for name, pair := range map[string][2]string{
		"unknown code":          {enrollment.NewTrackingCode(), fB.Child.IDNumber},
		"malformed code":        {"not-a-code", fB.Child.IDNumber},
		"another child's code":  {other, fB.Child.IDNumber},
		"ID number with spaces": {atB, "0013 0000 0000"},
		"empty-ish ID number":   {atB, " "},
	} {
		_, got := s.lookup(t, pair[0], pair[1])
		if got.status != want.status || !bytes.Equal(got.raw, want.raw) {
			t.Errorf("%s: %d %s, want %d %s", name, got.status, got.raw, want.status, want.raw)
		}
	}
	// Bad JSON is the client's mistake, named as such.
	if got := s.do(t, s.anonymous(t), "POST", "/api/v1/lookup", map[string]string{"code": atB}); got.status != http.StatusBadRequest {
		t.Errorf("bad body: %d %s", got.status, got.raw)
	}
}

// TestLookupThrottle: per address, and per tracking code across
// addresses, past the limit → 429 with Retry-After.
func TestLookupThrottle(t *testing.T) {
	t.Parallel()
	s := newParentSite(t)
	code, f := s.stored(t, schoolA)
	body := map[string]string{"tracking_code": code, "child_id_number": "001300000000"}

	// One address trying many codes.
	addr := fromAddress()
	for i := range 10 {
		b := map[string]string{"tracking_code": enrollment.NewTrackingCode(), "child_id_number": f.Child.IDNumber}
		if a := s.doFrom(t, s.anonymous(t), addr, "POST", "/api/v1/lookup", b); a.status != http.StatusNotFound {
			t.Fatalf("lookup %d from one address: %d %s", i+1, a.status, a.raw)
		}
	}
	if a := s.doFrom(t, s.anonymous(t), addr, "POST", "/api/v1/lookup", body); a.status != http.StatusTooManyRequests {
		t.Errorf("11th lookup from one address: %d %s", a.status, a.raw)
	}

	// Many addresses trying one code.
	for i := range 5 {
		if a := s.doFrom(t, s.anonymous(t), fromAddress(), "POST", "/api/v1/lookup", body); a.status != http.StatusNotFound {
			t.Fatalf("lookup %d of one code: %d %s", i+1, a.status, a.raw)
		}
	}
	a := s.doFrom(t, s.anonymous(t), fromAddress(), "POST", "/api/v1/lookup", map[string]string{"tracking_code": code, "child_id_number": f.Child.IDNumber})
	if a.status != http.StatusTooManyRequests {
		t.Errorf("6th lookup of one code, right pair: %d %s", a.status, a.raw)
	}
	// Another code from a fresh address is not held back.
	code2, f2 := s.stored(t, schoolA)
	if a := s.doFrom(t, s.anonymous(t), fromAddress(), "POST", "/api/v1/lookup", map[string]string{"tracking_code": code2, "child_id_number": f2.Child.IDNumber}); a.status != http.StatusOK {
		t.Errorf("another code: %d %s", a.status, a.raw)
	}
}

// TestSeatDecisionMatrix: every state × decision × deadline, by the
// parent with the lookup's session.
func TestSeatDecisionMatrix(t *testing.T) {
	t.Parallel()
	s := newParentSite(t)
	states := []enrollment.Status{enrollment.StatusReceived, enrollment.StatusPendingVerification, enrollment.StatusReturned,
		enrollment.StatusAccepted, enrollment.StatusPlaced, enrollment.StatusUnplaced, enrollment.StatusConfirmed,
		enrollment.StatusDeclined, enrollment.StatusVoided}
	now := time.Unix(0, s.now.Load())
	for _, late := range []bool{false, true} {
		confirmBy := now.Add(time.Hour)
		if late {
			confirmBy = now.Add(-time.Minute)
		}
		// One placed application per state and decision, moved to the
		// state by hand (the run placed them all).
		type row struct {
			code, id string
			st       enrollment.Status
			decision string
		}
		var rows []row
		var codes []string
		for _, st := range states {
			for _, d := range []string{"confirm", "decline"} {
				code, f := s.stored(t, s.schoolB.SchoolCode)
				rows = append(rows, row{code, f.Child.IDNumber, st, d})
				codes = append(codes, code)
			}
		}
		s.publish(t, map[bool]int{false: 1, true: 2}[late], confirmBy, nil, codes...)
		for _, r := range rows {
			if _, err := s.db.ExecContext(t.Context(), `UPDATE applications SET status = $2 WHERE tracking_code = $1`, r.code, r.st); err != nil {
				t.Fatal(err)
			}
			c, a := s.lookup(t, r.code, r.id)
			if a.status != http.StatusOK {
				t.Fatalf("lookup of a %s application: %d %s", r.st, a.status, a.raw)
			}
			want := http.StatusConflict
			if r.st == enrollment.StatusPlaced && !late {
				want = http.StatusOK
			}
			got := s.do(t, c, "POST", "/api/v1/applications/"+r.code+"/decision", map[string]string{"decision": r.decision})
			if got.status != want {
				t.Errorf("%s, %s, late %v: %d %s, want %d", r.st, r.decision, late, got.status, got.raw, want)
				continue
			}
			var status string
			s.db.GetContext(t.Context(), &status, `SELECT status FROM applications WHERE tracking_code = $1`, r.code)
			wantStatus := string(r.st)
			if want == http.StatusOK {
				wantStatus = map[string]string{"confirm": "confirmed", "decline": "declined"}[r.decision]
				var n int
				s.db.GetContext(t.Context(), &n, `SELECT count(*) FROM application_events e JOIN applications a ON a.id = e.application_id
WHERE a.tracking_code = $1 AND e.from_status = 'placed' AND e.to_status = $2 AND e.actor_role = 'parent'`, r.code, wantStatus)
				if n != 1 {
					t.Errorf("%s → %s: %d events, want 1", r.st, wantStatus, n)
				}
				// Once per round: a second decision, either way, is 409.
				for _, again := range []string{"confirm", "decline"} {
					if a := s.do(t, c, "POST", "/api/v1/applications/"+r.code+"/decision", map[string]string{"decision": again}); a.status != http.StatusConflict {
						t.Errorf("%s then %s: %d %s", r.decision, again, a.status, a.raw)
					}
				}
			}
			if status != wantStatus {
				t.Errorf("%s, %s, late %v: status %s, want %s", r.st, r.decision, late, status, wantStatus)
			}
			if late && r.st == enrollment.StatusPlaced && !strings.Contains(got.body["error"].(map[string]any)["message"].(string), "hết hạn") {
				t.Errorf("late decision's refusal does not say the deadline passed: %s", got.raw)
			}
		}
	}
}

// TestSeatDecisionWho: the decision needs the session of that
// application and its CSRF token; a school clerk in scope records one
// made in person (audited); others learn nothing.
func TestSeatDecisionWho(t *testing.T) {
	t.Parallel()
	s := newParentSite(t)
	atA, atB, fA, fB, _ := s.placedPair(t, time.Now().Add(48*time.Hour))
	confirm := map[string]string{"decision": "confirm"}
	path := func(code string) string { return "/api/v1/applications/" + code + "/decision" }

	if a := s.do(t, s.anonymous(t), "POST", path(atA), confirm); a.status != http.StatusUnauthorized {
		t.Errorf("no session: %d %s", a.status, a.raw)
	}
	cB, _ := s.lookup(t, atB, fB.Child.IDNumber)
	if a := s.do(t, cB, "POST", path(atA), confirm); a.status != http.StatusUnauthorized {
		t.Errorf("the session of another application: %d %s", a.status, a.raw)
	}
	token := cB.csrf
	cB.csrf = ""
	if a := s.do(t, cB, "POST", path(atB), confirm); a.status != http.StatusForbidden {
		t.Errorf("no CSRF token: %d %s", a.status, a.raw)
	}
	cB.csrf = token
	if a := s.do(t, cB, "POST", path(atB), map[string]string{"decision": "maybe"}); a.status != http.StatusUnprocessableEntity {
		t.Errorf("unknown decision: %d %s", a.status, a.raw)
	}

	// Staff: the clerk of the school of another run's seat sees 404; the
	// ward of school A may not confirm (only the parent or the school
	// does) but learns the application is its own; school A's clerk
	// records the confirmation.
	if a := s.do(t, s.signIn(t, "school-"+s.schoolB.SchoolCode), "POST", path(atA), confirm); a.status != http.StatusNotFound {
		t.Errorf("another school's clerk: %d %s", a.status, a.raw)
	}
	if a := s.do(t, s.signIn(t, "ward-00004"), "POST", path(atA), confirm); a.status != http.StatusForbidden {
		t.Errorf("the ward confirming: %d %s", a.status, a.raw)
	}
	if a := s.do(t, s.signIn(t, "school-"+schoolA), "POST", path(atA), confirm); a.status != http.StatusOK || a.body["status"] != "confirmed" {
		t.Errorf("school A's clerk: %d %s", a.status, a.raw)
	}
	var actor, role, reason string
	if err := s.db.QueryRowContext(t.Context(), `SELECT actor, actor_role, reason FROM application_events e JOIN applications a ON a.id = e.application_id
WHERE a.tracking_code = $1 AND e.to_status = 'confirmed'`, atA).Scan(&actor, &role, &reason); err != nil {
		t.Fatal(err)
	}
	if actor != "school-"+schoolA || role != "school" || reason == "" {
		t.Errorf("audit: %s %s %q", actor, role, reason)
	}
	// The parent of A, looking up afterwards, sees it confirmed.
	if _, a := s.lookup(t, atA, fA.Child.IDNumber); a.body["status"] != "confirmed" || a.body["can_decide"] != false {
		t.Errorf("after the school's confirmation: %s", a.raw)
	}
	if a := s.do(t, cB, "POST", path(atB), map[string]string{"decision": "decline"}); a.status != http.StatusOK || a.body["status"] != "declined" {
		t.Errorf("the parent declines: %d %s", a.status, a.raw)
	}
}

// pdftotext extracts a PDF's text with poppler's pdftotext.
func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("TUYENSINH_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("pdftotext is not installed (apt-get install poppler-utils)")
		}
		t.Skip("pdftotext is not installed")
	}
	in := filepath.Join(t.TempDir(), "slip.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func (s *reviewSite) getPDF(t *testing.T, c *client, path string) (int, []byte) {
	t.Helper()
	res, err := c.http.Get(s.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK && res.Header.Get("Content-Type") != "application/pdf" {
		t.Errorf("%s: Content-Type %q", path, res.Header.Get("Content-Type"))
	}
	return res.StatusCode, b
}

// TestSlip: the parent's slip names the child exactly as submitted; after
// confirmation it is the admission notice with the school's address;
// staff in scope print it, others get 404, nobody else anything.
func TestSlip(t *testing.T) {
	t.Parallel()
	s := newParentSite(t)
	atA, _, fA, _, _ := s.placedPair(t, time.Now().Add(48*time.Hour))
	path := "/api/v1/applications/" + atA + "/slip.pdf"
	if st, _ := s.getPDF(t, s.anonymous(t), path); st != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", st)
	}
	c, _ := s.lookup(t, atA, fA.Child.IDNumber)
	st, pdf := s.getPDF(t, c, path)
	if st != http.StatusOK {
		t.Fatalf("parent's slip: %d %s", st, pdf)
	}
	text := pdftotext(t, pdf)
	for _, want := range []string{"PHIẾU ĐĂNG KÝ TUYỂN SINH", fA.Child.FullName, fA.Child.IDNumber, fA.Guardian.FullName, "Nguyện vọng 2"} {
		if !strings.Contains(text, want) {
			t.Errorf("slip lacks %q:\n%s", want, text)
		}
	}
	if a := s.do(t, c, "POST", "/api/v1/applications/"+atA+"/decision", map[string]string{"decision": "confirm"}); a.status != http.StatusOK {
		t.Fatalf("confirm: %d %s", a.status, a.raw)
	}
	_, pdf = s.getPDF(t, c, path)
	text = pdftotext(t, pdf)
	var schoolName, schoolAddress string
	s.db.QueryRowContext(t.Context(), `SELECT name, address FROM schools WHERE code = $1`, schoolA).Scan(&schoolName, &schoolAddress)
	for _, want := range []string{"GIẤY BÁO NHẬP HỌC", fA.Child.FullName, schoolName, schoolAddress, "mang theo"} {
		if !strings.Contains(text, want) {
			t.Errorf("admission notice lacks %q:\n%s", want, text)
		}
	}
	if os.Getenv("SLIP_PNG") != "" {
		os.WriteFile(os.Getenv("SLIP_PNG")+".pdf", pdf, 0o600)
	}
	for user, want := range map[string]int{"school-" + schoolA: 200, "ward-00004": 200, "admin": 200,
		"school-" + s.schoolB.SchoolCode: 404, "ward-" + s.schoolB.Ward: 404} {
		if st, b := s.getPDF(t, s.signIn(t, user), path); st != want {
			t.Errorf("%s: %d %.200s, want %d", user, st, b, want)
		}
	}
}

// TestParentAuthorizationMatrix: the parents' routes × every kind of
// caller, on an application placed at school A (its first choice).
// Refusals carry no application data.
func TestParentAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	s := newParentSite(t)
	type caller struct {
		name string
		c    func(code, id, other, otherID string) *client
	}
	callers := []caller{
		{"anonymous", func(string, string, string, string) *client { return s.anonymous(t) }},
		{"its parent", func(code, id, _, _ string) *client { c, _ := s.lookup(t, code, id); return c }},
		{"another parent", func(_, _, other, otherID string) *client { c, _ := s.lookup(t, other, otherID); return c }},
		{"school A", func(string, string, string, string) *client { return s.signIn(t, "school-"+schoolA) }},
		{"school B", func(string, string, string, string) *client { return s.signIn(t, "school-"+s.schoolB.SchoolCode) }},
		{"ward of A", func(string, string, string, string) *client { return s.signIn(t, "ward-00004") }},
		{"ward of B", func(string, string, string, string) *client { return s.signIn(t, "ward-"+s.schoolB.Ward) }},
		{"city", func(string, string, string, string) *client { return s.signIn(t, "admin") }},
	}
	routes := []struct {
		name string
		want [8]int
		do   func(c *client, code string) int
	}{
		{"confirm", [8]int{401, 200, 401, 200, 404, 403, 404, 403}, func(c *client, code string) int {
			return s.do(t, c, "POST", "/api/v1/applications/"+code+"/decision", map[string]string{"decision": "confirm"}).status
		}},
		{"decline", [8]int{401, 200, 401, 200, 404, 200, 404, 200}, func(c *client, code string) int {
			return s.do(t, c, "POST", "/api/v1/applications/"+code+"/decision", map[string]string{"decision": "decline"}).status
		}},
		{"slip", [8]int{401, 200, 401, 200, 404, 200, 404, 200}, func(c *client, code string) int {
			st, _ := s.getPDF(t, c, "/api/v1/applications/"+code+"/slip.pdf")
			return st
		}},
		{"published", [8]int{200, 200, 200, 200, 200, 200, 200, 200}, func(c *client, _ string) int {
			res, err := c.http.Get(s.url + "/api/v1/placement/published")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}},
	}
	for _, r := range routes {
		// Fresh applications for each route: a decision is once per round.
		var codes, ids []string
		for range callers {
			code, f := s.stored(t, schoolA)
			codes, ids = append(codes, code), append(ids, f.Child.IDNumber)
		}
		other, fo := s.stored(t, schoolA)
		round := map[string]int{"confirm": 1, "decline": 2, "slip": 3, "published": 4}[r.name]
		s.publish(t, round, time.Now().Add(48*time.Hour), nil, append(codes, other)...)
		for i, cl := range callers {
			c := cl.c(codes[i], ids[i], other, fo.Child.IDNumber)
			if got := r.do(c, codes[i]); got != r.want[i] {
				t.Errorf("%s by %s: %d, want %d", r.name, cl.name, got, r.want[i])
			}
		}
	}
}
