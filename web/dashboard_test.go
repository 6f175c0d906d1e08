package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// TestDashboardNumbers: registrations stored now show in the hour, level
// and ward they belong to, and in the first-choice demand of their school;
// an officer of another ward sees none of them; the intake state is there.
func TestDashboardNumbers(t *testing.T) {
	t.Parallel()
	s := newRefSite(t)
	const n = 5
	for range n {
		s.stored(t, schoolA)
	}
	s.stored(t, s.schoolB.SchoolCode, schoolA)
	type dash struct {
		Hours    []time.Time
		PerLevel map[string][]int `json:"per_level"`
		PerWard  []struct {
			Ward  string
			Count int
		} `json:"per_ward"`
		Intake *struct{ Length int }
		Demand []struct {
			School string
			First  int `json:"first_choice"`
			Quota  int
			Ratio  float64
		}
	}
	get := func(c *client, query string) dash {
		t.Helper()
		got := s.do(t, c, "GET", "/api/v1/dashboard"+query, nil)
		if got.status != 200 {
			t.Fatalf("dashboard of %s: %d %s", c.name, got.status, got.raw)
		}
		var d dash
		if err := json.Unmarshal(got.raw, &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := get(s.signIn(t, "ward-00004"), "?level=lop1&hours=6")
	if len(d.Hours) != 6 || d.PerLevel["lop1"][5] != n+1 {
		t.Errorf("hours %v, lop1 per hour %v: want 6 hours, %d in the last", d.Hours, d.PerLevel["lop1"], n+1)
	}
	if len(d.PerWard) != 1 || d.PerWard[0].Ward != "00004" || d.PerWard[0].Count != n+1 {
		t.Errorf("per ward %+v, want %d in 00004", d.PerWard, n+1)
	}
	if d.Intake == nil {
		t.Error("no intake state")
	}
	var a *struct {
		School string
		First  int `json:"first_choice"`
		Quota  int
		Ratio  float64
	}
	for i := range d.Demand {
		if d.Demand[i].School == schoolA {
			a = &d.Demand[i]
		}
		if d.Demand[i].School == s.schoolB.SchoolCode {
			t.Errorf("ward 00004's dashboard shows school %s of ward %s", s.schoolB.SchoolCode, s.wardB)
		}
	}
	if a == nil || a.First != n || a.Ratio != float64(n)/float64(a.Quota) {
		t.Errorf("demand of school A: %+v, want %d first choices", a, n)
	}
	// The other ward's officer: no registrations of ward 00004, school B
	// with its one first choice.
	d = get(s.signIn(t, "ward-"+s.wardB), "?level=lop1")
	for _, w := range d.PerWard {
		if w.Ward == "00004" {
			t.Errorf("ward %s's dashboard counts ward 00004: %+v", s.wardB, w)
		}
	}
	for _, x := range d.Demand {
		if x.School == schoolA {
			t.Errorf("ward %s's dashboard shows school A", s.wardB)
		}
		if x.School == s.schoolB.SchoolCode && x.First != 1 {
			t.Errorf("school B's first choices: %d, want 1", x.First)
		}
	}
	// Bad queries name the parameter.
	for _, q := range []string{"?level=lop9", "?hours=0", "?school_year=abc"} {
		got := s.do(t, s.signIn(t, "admin"), "GET", "/api/v1/dashboard"+q, nil)
		if got.status != 400 || !strings.Contains(string(got.raw), `"field"`) {
			t.Errorf("dashboard%s: %d %s, want 400 naming the parameter", q, got.status, got.raw)
		}
	}
}

// noScriptClient is a browser without JavaScript: it follows no redirects,
// so each answer can be looked at.
func noScriptClient(t *testing.T, s *refSite) *http.Client {
	c := s.anonymous(t).http
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values) (int, http.Header, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

var csrfAttr = `name="csrf_token" value="`

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	i := strings.Index(page, csrfAttr)
	if i < 0 {
		t.Fatalf("no CSRF field in the page")
	}
	rest := page[i+len(csrfAttr):]
	return rest[:strings.IndexByte(rest, '"')]
}

// TestOfficerPagesWithoutScript: the sign-in, the dashboard's SVG, the
// quota form with its CSRF token, refusals for clerks.
func TestOfficerPagesWithoutScript(t *testing.T) {
	t.Parallel()
	s := newRefSite(t)
	s.stored(t, schoolA)
	c := noScriptClient(t, s)
	status, h, _ := fetch(t, c, "GET", s.url+"/officer/truong", nil)
	if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/can-bo/dang-nhap?next=") {
		t.Fatalf("anonymous officer page: %d to %q, want the sign-in page", status, h.Get("Location"))
	}
	status, _, body := fetch(t, c, "POST", s.url+"/can-bo/dang-nhap", url.Values{"username": {"ward-00004"}, "password": {"wrong"}, "next": {"/officer/truong"}})
	if status != http.StatusUnauthorized || !strings.Contains(body, "notice-error") {
		t.Errorf("wrong password: %d, want 401 with the reason on the page", status)
	}
	status, h, _ = fetch(t, c, "POST", s.url+"/can-bo/dang-nhap", url.Values{"username": {"ward-00004"}, "password": {reviewPassword}, "next": {"//evil.example/"}})
	if status != http.StatusSeeOther || h.Get("Location") != "/can-bo" {
		t.Fatalf("sign-in: %d to %q, want the staff home (never another site)", status, h.Get("Location"))
	}
	status, h, body = fetch(t, c, "GET", s.url+"/officer/dashboard", nil)
	if status != 200 || !strings.Contains(body, `<svg class="chart"`) || h.Get("Refresh") != "5" || !strings.Contains(body, "<rect") {
		t.Errorf("dashboard page: %d, refresh %q; want SVG charts that refresh every 5 s", status, h.Get("Refresh"))
	}
	if _, h, _ := fetch(t, c, "GET", s.url+"/officer/dashboard?refresh=0", nil); h.Get("Refresh") != "" {
		t.Errorf("dashboard with refresh=0 still reloads: %q", h.Get("Refresh"))
	}
	y := strconv.Itoa(s.year)
	status, _, body = fetch(t, c, "GET", s.url+"/officer/truong?level=lop1&school_year="+y, nil)
	if status != 200 || !strings.Contains(body, `id="quota-`+schoolA+`"`) || strings.Contains(body, `id="quota-`+s.schoolB.SchoolCode+`"`) {
		t.Fatalf("quota table: %d; want school A's form and not school B's", status)
	}
	token := csrfOf(t, body)
	action := s.url + "/officer/truong/" + schoolA + "/lop1/" + y + "/chi-tieu"
	if status, _, _ := fetch(t, c, "POST", action, url.Values{"quota": {"77"}}); status != http.StatusForbidden {
		t.Errorf("quota form without the CSRF token: %d, want 403", status)
	}
	status, h, _ = fetch(t, c, "POST", action, url.Values{"quota": {"77"}, "csrf_token": {token}, "back": {"/officer/truong?level=lop1&school_year=" + y}})
	if status != http.StatusSeeOther {
		t.Fatalf("quota form: %d", status)
	}
	_, _, body = fetch(t, c, "GET", s.url+h.Get("Location"), nil)
	if !strings.Contains(body, "Đã lưu chỉ tiêu") || !strings.Contains(body, `value="77"`) {
		t.Errorf("after the quota form: no confirmation or no new value")
	}
	// The catchment picker: TDP 1 and TDP 2 of ward 00004 only.
	page := s.url + "/officer/truong/" + schoolA + "/lop1/" + y
	status, _, body = fetch(t, c, "POST", page+"/tuyen", url.Values{"group": {"00004|TDP 1", "00004|TDP 2"}, "csrf_token": {token}})
	if status != http.StatusSeeOther {
		t.Fatalf("catchment form: %d %s", status, body)
	}
	if o, _ := s.catalog.Load().Offer(schoolA, enrollment.LevelLop1, s.year); len(o.Catchment) != 1 || len(o.Catchment[0].Groups) != 2 {
		t.Errorf("catchment after the form: %+v", o.Catchment)
	}
	status, _, body = fetch(t, c, "POST", page+"/tuyen", url.Values{"group": {"00004|TDP 999"}, "csrf_token": {token}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "TDP 999") {
		t.Errorf("bad group: %d, want 422 naming it on the page", status)
	}
	_, _, body = fetch(t, c, "GET", page, nil)
	if !strings.Contains(body, "ward-00004") || !strings.Contains(body, "Nhật ký thay đổi") {
		t.Errorf("school page lacks the audit trail of the edits")
	}
	// Policy editor: a bad rule is shown, the typed text kept.
	pol := s.url + "/officer/chinh-sach/00004/lop1/" + y
	status, _, body = fetch(t, c, "POST", pol, url.Values{"priority_rules": {"dt1\ndt9"}, "mechanism": {"da"}, "tie_break": {"single"}, "csrf_token": {token}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "priority_rules[1]") || !strings.Contains(body, "dt9") {
		t.Errorf("bad policy: %d, want 422 naming priority_rules[1]", status)
	}
	status, _, _ = fetch(t, c, "POST", pol, url.Values{"priority_rules": {"in_catchment+group1\ndt1\ndt2"}, "mechanism": {"boston"}, "tie_break": {"single"}, "csrf_token": {token}})
	if status != http.StatusSeeOther {
		t.Errorf("policy form: %d", status)
	}
	// A clerk reads its school, edits nothing, sees no dashboard.
	clerk := noScriptClient(t, s)
	fetch(t, clerk, "POST", s.url+"/can-bo/dang-nhap", url.Values{"username": {"school-" + schoolA}, "password": {reviewPassword}})
	if status, _, body := fetch(t, clerk, "GET", page, nil); status != 200 || strings.Contains(body, "Lưu tuyến") {
		t.Errorf("clerk's school page: %d, want read-only", status)
	}
	if status, _, _ := fetch(t, clerk, "GET", s.url+"/officer/dashboard", nil); status != http.StatusForbidden {
		t.Errorf("clerk's dashboard: %d, want 403", status)
	}
}

// TestOfficerEditsQuotaInBrowser: an officer signs in, changes a quota in
// the table, sees it saved and audited, and looks at the dashboard.
func TestOfficerEditsQuotaInBrowser(t *testing.T) {
	t.Parallel()
	r := newRefSite(t)
	for range 3 {
		r.stored(t, schoolA)
	}
	shots := shotDir(t)
	for _, v := range []viewport{desktop, phone} {
		// A browser each, so each signs in afresh.
		s := &site{url: r.url, cat: r.cat, browser: newBrowser(t), shots: shots}
		tb := s.newTab(t, v)
		tb.open("/officer/truong?level=lop1&school_year=" + strconv.Itoa(r.year))
		tb.set("#username", "ward-00004")
		tb.set("#password", reviewPassword)
		tb.shoot("sign-in")
		// Clicks by script: chromedp's node ids go stale across the
		// navigations a form's submission makes.
		click(tb, `#sign-in-button`)
		settle(tb, "the quota table", `!!document.querySelector("#quota-`+schoolA+`")`)
		want := 40 + int(v.width%7)
		tb.set("#quota-"+schoolA, strconv.Itoa(want))
		click(tb, `#row-`+schoolA+` button`)
		settle(tb, "the confirmation", `(document.querySelector("#flash") || {}).innerText?.includes("Đã lưu chỉ tiêu") || false`)
		tb.shoot("quota-saved")
		if got := eval[string](tb, `document.querySelector("#quota-`+schoolA+`").value`); got != strconv.Itoa(want) {
			t.Errorf("%s: quota shown %s, want %d", v.name, got, want)
		}
		if o, _ := r.catalog.Load().Offer(schoolA, enrollment.LevelLop1, r.year); o.Quota != want {
			t.Errorf("%s: catalog quota %d, want %d", v.name, o.Quota, want)
		}
		tb.open("/officer/truong/" + schoolA + "/lop1/" + strconv.Itoa(r.year))
		if txt := tb.text("main"); !strings.Contains(txt, "ward-00004") || !strings.Contains(txt, strconv.Itoa(want)) {
			t.Errorf("%s: the school's audit trail lacks the edit", v.name)
		}
		tb.shoot("school")
		tb.open("/officer/dashboard?level=lop1&refresh=0") // no reload while the screenshot is taken
		settle(tb, "the charts", `document.querySelectorAll("svg.chart rect").length > 0`)
		tb.shoot("dashboard")
	}
}

// settle waits until expr is true on the tab's page, across the
// navigation a form's submission starts (an evaluation that the
// navigation interrupts is tried again).
func settle(tb *tab, what, expr string) {
	tb.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			tb.shoot("timeout")
			tb.t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// click clicks the element sel finds, as a person's click does.
func click(tb *tab, sel string) {
	tb.t.Helper()
	if !eval[bool](tb, `(() => { const n = document.querySelector(`+jsString(sel)+`); if (!n) return false; n.click(); return true; })()`) {
		tb.t.Fatalf("no %s to click", sel)
	}
}
