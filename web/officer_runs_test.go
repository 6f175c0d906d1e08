package web_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/placement"
)

// runsSite is the demo city with n accepted applications, school A first
// and school B second, school A's quota lowered to quota so that the
// mechanisms differ.
func runsSite(t *testing.T, n, quota int) (*refSite, []string) {
	t.Helper()
	s := newRefSite(t)
	clerk := s.signIn(t, "school-"+schoolA)
	var codes []string
	for range n {
		code, _ := s.stored(t, schoolA, s.schoolB.SchoolCode)
		if a := s.do(t, clerk, "POST", "/api/v1/applications/"+code+"/review", map[string]string{"decision": "accept"}); a.status != http.StatusOK {
			t.Fatalf("accept %s: %d %s", code, a.status, a.raw)
		}
		codes = append(codes, code)
	}
	admin := s.signIn(t, "admin")
	if a := s.do(t, admin, "PUT", s.offerPath(schoolA, s.year), map[string]any{"quota": quota}); a.status != http.StatusOK {
		t.Fatalf("quota: %d %s", a.status, a.raw)
	}
	return s, codes
}

// officerSignIn signs user in through the staff sign-in form and returns
// the browser (no script, no redirects followed) and a CSRF token.
func officerSignIn(t *testing.T, s *refSite, user string) (*http.Client, string) {
	t.Helper()
	c := noScriptClient(t, s)
	if status, _, _ := fetch(t, c, "POST", s.url+"/can-bo/dang-nhap", url.Values{"username": {user}, "password": {reviewPassword}}); status != http.StatusSeeOther {
		t.Fatalf("sign-in of %s: %d", user, status)
	}
	_, _, body := fetch(t, c, "GET", s.url+"/officer/truong", nil)
	return c, csrfOf(t, body)
}

var runLocation = regexp.MustCompile(`^/officer/phan-tuyen/luot/(\d+)$`)

// preview starts a preview from the runs page's form and returns its id.
func preview(t *testing.T, s *refSite, c *http.Client, token, mechanism string) string {
	t.Helper()
	status, h, body := fetch(t, c, "POST", s.url+"/officer/phan-tuyen/xem-truoc", url.Values{"csrf_token": {token},
		"level": {"lop1"}, "school_year": {strconv.Itoa(s.year)}, "mechanism": {mechanism}, "include": {"accepted"}, "round": {"1"}})
	m := runLocation.FindStringSubmatch(h.Get("Location"))
	if status != http.StatusSeeOther || m == nil {
		t.Fatalf("preview %s: %d to %q %s", mechanism, status, h.Get("Location"), body)
	}
	return m[1]
}

// seedCommitted commits the site's lop1 seed as admin and returns admin's
// API client.
func (s *refSite) seedCommitted(t *testing.T) *client {
	t.Helper()
	admin := s.signIn(t, "admin")
	if a := s.do(t, admin, "POST", "/api/v1/placement/seeds", map[string]any{"level": "lop1", "school_year": s.year}); a.status != http.StatusCreated {
		t.Fatalf("seed: %d %s", a.status, a.raw)
	}
	return admin
}

// TestRunsListReadsAhead: the runs list of a level and year reads its
// accepted children ahead of the officer's next run (placement.TestWarm
// has the rest: nothing read before the seed, changes read after).
func TestRunsListReadsAhead(t *testing.T) {
	t.Parallel()
	s, _ := runsSite(t, 4, 3)
	admin := s.seedCommitted(t)
	list := "/api/v1/placement/runs?level=lop1&school_year=" + strconv.Itoa(s.year)
	if a := s.do(t, admin, "GET", list, nil); a.status != http.StatusOK {
		t.Fatalf("runs list: %d %s", a.status, a.raw)
	}
	s.waitGauge(t, "tuyensinh_placement_pool_children", 4)
}

// TestRunPages: the city's officer commits the seed, previews DA and
// Boston, looks at a run, a school and a child, compares, and publishes
// after the confirmation step, all with forms and no script; refusals are
// shown on the page in Vietnamese; every form needs the CSRF token.
func TestRunPages(t *testing.T) {
	t.Parallel()
	s, codes := runsSite(t, 9, 3)
	c, token := officerSignIn(t, s, "admin")
	y := strconv.Itoa(s.year)
	runs := s.url + "/officer/phan-tuyen?level=lop1&school_year=" + y

	status, _, body := fetch(t, c, "GET", runs, nil)
	if status != 200 || !strings.Contains(body, "Chưa cam kết hạt giống") || !strings.Contains(body, `href="/officer/phan-tuyen"`) {
		t.Fatalf("runs page before the seed: %d, want the seed form and the nav link", status)
	}
	// No run before the seed: the store's refusal, on the page.
	status, _, body = fetch(t, c, "POST", s.url+"/officer/phan-tuyen/xem-truoc", url.Values{"csrf_token": {token}, "level": {"lop1"}, "school_year": {y}, "mechanism": {"da"}})
	if status != http.StatusConflict || !strings.Contains(body, "Chưa cam kết hạt giống bốc thăm") {
		t.Errorf("preview before the seed: %d, want 409 saying the seed is missing", status)
	}
	seedForm := url.Values{"level": {"lop1"}, "school_year": {y}, "seed": {"page-seed"}}
	if status, _, _ := fetch(t, c, "POST", s.url+"/officer/phan-tuyen/hat-giong", seedForm); status != http.StatusForbidden {
		t.Errorf("seed form without the CSRF token: %d, want 403", status)
	}
	seedForm.Set("csrf_token", token)
	status, h, _ := fetch(t, c, "POST", s.url+"/officer/phan-tuyen/hat-giong", seedForm)
	if status != http.StatusSeeOther {
		t.Fatalf("seed form: %d", status)
	}
	sum := sha256.Sum256([]byte("page-seed"))
	commitment := hex.EncodeToString(sum[:])
	_, _, body = fetch(t, c, "GET", s.url+h.Get("Location"), nil)
	if !strings.Contains(body, commitment) || strings.Contains(body, "page-seed") {
		t.Errorf("runs page after the seed: want the commitment shown and the seed kept secret")
	}
	// The runs page, once the seed is committed, read the level's
	// accepted children ahead of the first preview.
	s.waitGauge(t, "tuyensinh_placement_pool_children", 9)
	if status, _, body := fetch(t, c, "POST", s.url+"/officer/phan-tuyen/hat-giong", seedForm); status != http.StatusConflict || !strings.Contains(body, "đã được cam kết") {
		t.Errorf("second seed: %d, want 409 on the page", status)
	}
	status, _, body = fetch(t, c, "POST", s.url+"/officer/phan-tuyen/xem-truoc", url.Values{"csrf_token": {token}, "level": {"lop1"}, "school_year": {y}, "mechanism": {"ttc"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "notice-error") || !strings.Contains(body, `value="boston"`) {
		t.Errorf("unknown mechanism: %d, want 422 with the form shown again", status)
	}
	if status, _, _ := fetch(t, c, "POST", s.url+"/officer/phan-tuyen/xem-truoc", url.Values{"level": {"lop1"}, "school_year": {y}, "mechanism": {"da"}}); status != http.StatusForbidden {
		t.Errorf("preview without the CSRF token: %d, want 403", status)
	}

	// Round 2 before round 1 is published, and a round that is no number.
	for _, round := range []string{"2", "x"} {
		status, _, body = fetch(t, c, "POST", s.url+"/officer/phan-tuyen/xem-truoc", url.Values{"csrf_token": {token}, "level": {"lop1"}, "school_year": {y}, "mechanism": {"da"}, "round": {round}})
		if status < 400 || status >= 500 || !strings.Contains(body, "notice-error") {
			t.Errorf("preview of round %s: %d, want a refusal on the page", round, status)
		}
	}
	da := preview(t, s, c, token, "da")
	boston := preview(t, s, c, token, "boston")
	s.waitGauge(t, "tuyensinh_placement_cached_children", 18) // both runs' results, kept
	status, _, body = fetch(t, c, "GET", runs, nil)
	if status != 200 || !strings.Contains(body, `id="run-`+da+`"`) || !strings.Contains(body, `id="run-`+boston+`"`) || !strings.Contains(body, "Đã chạy xem trước") {
		t.Errorf("runs page: %d, want both runs listed and the last preview's confirmation", status)
	}

	// The run: summary, per-school table with the cutoff counted from 1,
	// the downloads.
	run := s.url + "/officer/phan-tuyen/luot/" + da
	status, _, body = fetch(t, c, "GET", run, nil)
	if strings.Contains(body, "page-seed") {
		t.Errorf("a preview's page shows the secret seed")
	}
	for _, want := range []string{"trúng nguyện vọng 1", `id="run-commitment">` + commitment, `id="school-` + schoolA + `"`, "Mức ưu tiên ", "Mức 1: <code>",
		"/api/v1/placement/runs/" + da + "/instance", "/api/v1/placement/runs/" + da + "/schools.csv", "/api/v1/placement/runs/" + da + "/assignments.csv", "/api/v1/placement/runs/" + da + "/result"} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("run page (%d) lacks %q", status, want)
		}
	}
	// A child by tracking code, by pseudonym; an unknown one.
	pseudonym := placement.Pseudonym(enrollment.LevelLop1, s.year, codes[0])
	for _, q := range []string{codes[0], strings.ToLower(codes[0]), pseudonym} {
		status, _, body = fetch(t, c, "GET", run+"?tre="+url.QueryEscape(q), nil)
		if status != 200 || !strings.Contains(body, `id="child"`) || !strings.Contains(body, pseudonym) || !strings.Contains(body, "Nguyện vọng: 1. "+schoolA) {
			t.Errorf("child %q: %d, want its card", q, status)
		}
	}
	// Someone refused at school A is told why, in the engine's words.
	status, _, body = fetch(t, c, "GET", run+"/truong/"+schoolA, nil)
	if status != 200 || !strings.Contains(body, "Trúng tuyển (") || !strings.Contains(body, "Ngưỡng trúng tuyển") || !strings.Contains(body, "Mức ưu tiên ") {
		t.Errorf("school of the run: %d, want the admitted and the cutoff", status)
	}
	if strings.Count(body, "?tre=") != 9 {
		t.Errorf("school of the run links %d children, want the 9 who applied", strings.Count(body, "?tre="))
	}
	if status, _, _ := fetch(t, c, "GET", run+"/truong/NOPE", nil); status != http.StatusNotFound {
		t.Errorf("unknown school of a run: %d", status)
	}
	status, _, body = fetch(t, c, "GET", run+"?tre=nobody", nil)
	if status != http.StatusNotFound || !strings.Contains(body, "Không có trẻ nào") {
		t.Errorf("unknown child: %d, want 404 saying so", status)
	}

	// Compare.
	status, _, body = fetch(t, c, "GET", s.url+"/officer/phan-tuyen/so-sanh?runs="+da+"&runs="+boston, nil)
	if status != 200 || !strings.Contains(body, "Trúng nguyện vọng 1") || !strings.Contains(body, `id="diff-count"`) || !strings.Contains(body, "Lượt "+boston) {
		t.Errorf("compare: %d", status)
	}
	status, _, body = fetch(t, c, "GET", s.url+"/officer/phan-tuyen/so-sanh?runs="+da, nil)
	if status != http.StatusBadRequest || !strings.Contains(body, "từ 2 đến") {
		t.Errorf("compare of one run: %d, want 400 saying why", status)
	}

	// Publish: the confirmation page, the box to tick, CSRF, then done.
	status, _, body = fetch(t, c, "GET", run+"/cong-bo", nil)
	if status != 200 || !strings.Contains(body, "Không thể thay đổi") || !strings.Contains(body, "Công khai hạt giống") || !strings.Contains(body, "Thông báo phụ huynh") {
		t.Errorf("confirmation page: %d, want the consequences", status)
	}
	if status, _, _ := fetch(t, c, "POST", run+"/cong-bo", url.Values{"confirm": {"yes"}}); status != http.StatusForbidden {
		t.Errorf("publish without the CSRF token: %d, want 403", status)
	}
	if status, _, body := fetch(t, c, "POST", run+"/cong-bo", url.Values{"csrf_token": {token}}); status != http.StatusUnprocessableEntity || !strings.Contains(body, "xác nhận") {
		t.Errorf("publish without the box ticked: %d, want 422", status)
	}
	status, h, _ = fetch(t, c, "POST", run+"/cong-bo", url.Values{"csrf_token": {token}, "confirm": {"yes"}})
	if status != http.StatusSeeOther {
		t.Fatalf("publish: %d", status)
	}
	_, _, body = fetch(t, c, "GET", s.url+h.Get("Location"), nil)
	if !strings.Contains(body, "Đã công bố") || strings.Contains(body, `id="to-publish"`) || !strings.Contains(body, `id="run-seed">page-seed<`) {
		t.Errorf("run page after publishing: want it published, without the publish link")
	}
	var st enrollment.Status
	if err := s.db.GetContext(t.Context(), &st, `SELECT status FROM applications WHERE tracking_code = $1`, codes[0]); err != nil || (st != enrollment.StatusPlaced && st != enrollment.StatusUnplaced) {
		t.Errorf("application after publishing: %q %v", st, err)
	}
	_, _, body = fetch(t, c, "GET", runs, nil)
	if !strings.Contains(body, `id="revealed-seed">page-seed<`) {
		t.Errorf("runs page after publishing: the seed is not revealed")
	}
	// The other run of the round cannot be published: said before and after.
	other := s.url + "/officer/phan-tuyen/luot/" + boston + "/cong-bo"
	if _, _, body := fetch(t, c, "GET", other, nil); !strings.Contains(body, `id="already"`) {
		t.Errorf("confirmation page of a second run: no warning that the round is published")
	}
	status, _, body = fetch(t, c, "POST", other, url.Values{"csrf_token": {token}, "confirm": {"yes"}})
	if status != http.StatusConflict || !strings.Contains(body, "notice-error") {
		t.Errorf("second publish: %d, want 409 on the page", status)
	}
	var audited int
	if err := s.db.GetContext(t.Context(), &audited, `SELECT count(*) FROM staff_events WHERE username = 'admin' AND action LIKE 'placement_%'`); err != nil || audited != 4 {
		t.Errorf("audited placement actions: %d %v, want 4 (seed, two runs, publish)", audited, err)
	}
}

// TestRunPagesAuthorization: a clerk is refused every runs page; a ward
// officer sees its area's runs only (another ward's answer 404 as unknown
// ones do); the city sees all; a browser without a session is sent to
// sign in.
func TestRunPagesAuthorization(t *testing.T) {
	t.Parallel()
	s, _ := runsSite(t, 3, 2)
	s.seedCommitted(t)
	city, cityToken := officerSignIn(t, s, "admin")
	ward, wardToken := officerSignIn(t, s, "ward-00004")
	other, otherToken := officerSignIn(t, s, "ward-"+s.wardB)
	clerk, clerkToken := officerSignIn(t, s, "school-"+schoolA)
	cityRun := preview(t, s, city, cityToken, "da")
	wardRun := preview(t, s, ward, wardToken, "da")
	if status, _, _ := fetch(t, clerk, "POST", s.url+"/officer/phan-tuyen/xem-truoc", url.Values{"csrf_token": {clerkToken}, "level": {"lop1"}, "school_year": {strconv.Itoa(s.year)}}); status != http.StatusForbidden {
		t.Errorf("clerk's preview: %d, want 403", status)
	}

	y := strconv.Itoa(s.year)
	pages := []struct {
		path string
		want [4]int // city, ward 00004, another ward, clerk
	}{
		{"/officer/phan-tuyen?level=lop1&school_year=" + y, [4]int{200, 200, 200, 403}},
		{"/officer/phan-tuyen/luot/" + cityRun, [4]int{200, 404, 404, 403}},
		{"/officer/phan-tuyen/luot/" + wardRun, [4]int{200, 200, 404, 403}},
		{"/officer/phan-tuyen/luot/" + wardRun + "/truong/" + schoolA, [4]int{200, 200, 404, 403}},
		{"/officer/phan-tuyen/luot/" + wardRun + "/cong-bo", [4]int{200, 200, 404, 403}},
		{"/officer/phan-tuyen/so-sanh?runs=" + cityRun + "," + wardRun, [4]int{200, 404, 404, 403}},
		{"/officer/phan-tuyen/luot/999999", [4]int{404, 404, 404, 403}},
	}
	for _, p := range pages {
		for i, c := range []*http.Client{city, ward, other, clerk} {
			status, _, body := fetch(t, c, "GET", s.url+p.path, nil)
			if status != p.want[i] {
				t.Errorf("GET %s as caller %d: %d, want %d", p.path, i, status, p.want[i])
			}
			if status == http.StatusForbidden && !strings.Contains(body, "Chỉ cán bộ Sở hoặc cơ quan quản lý") {
				t.Errorf("GET %s as caller %d: the refusal does not say why", p.path, i)
			}
		}
	}
	// The lists: each ward its own runs only.
	_, _, body := fetch(t, ward, "GET", s.url+pages[0].path, nil)
	if !strings.Contains(body, `id="run-`+wardRun+`"`) || strings.Contains(body, `id="run-`+cityRun+`"`) {
		t.Errorf("ward 00004's runs page: want its run and not the city's")
	}
	_, _, body = fetch(t, other, "GET", s.url+pages[0].path, nil)
	if strings.Contains(body, `id="run-`) {
		t.Errorf("another ward's runs page lists runs it may not see")
	}
	// Another ward cannot publish ward 00004's run.
	if status, _, _ := fetch(t, other, "POST", s.url+"/officer/phan-tuyen/luot/"+wardRun+"/cong-bo", url.Values{"csrf_token": {otherToken}, "confirm": {"yes"}}); status != http.StatusNotFound {
		t.Errorf("another ward publishing: %d, want 404", status)
	}
	// Without a session: to the sign-in page, back here after.
	anon := noScriptClient(t, s)
	status, h, _ := fetch(t, anon, "GET", s.url+"/officer/phan-tuyen/luot/"+wardRun, nil)
	if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/can-bo/dang-nhap?next=") {
		t.Errorf("anonymous run page: %d to %q", status, h.Get("Location"))
	}
	if status, _, _ := fetch(t, anon, "POST", s.url+"/officer/phan-tuyen/hat-giong", url.Values{"level": {"lop1"}}); status != http.StatusUnauthorized {
		t.Errorf("anonymous seed form: %d, want 401", status)
	}
}

// TestRunsJourneyInBrowser: in Chromium, at a phone's size and a
// desktop's, an officer lowers a quota in the quota editor, commits the
// seed, previews DA and Boston, compares them, looks up a child, and
// publishes after ticking the confirmation; screenshots of each step.
func TestRunsJourneyInBrowser(t *testing.T) {
	t.Parallel()
	shots := shotDir(t)
	for _, v := range []viewport{phone412, desktop} {
		r, codes := runsSite(t, 8, 6)
		y := strconv.Itoa(r.year)
		// Three children put school B first, and B gets three seats: DA
		// and Boston then place some children differently.
		clerkB := r.signIn(t, "school-"+r.schoolB.SchoolCode)
		for range 3 {
			code, _ := r.stored(t, r.schoolB.SchoolCode, schoolA)
			if a := r.do(t, clerkB, "POST", "/api/v1/applications/"+code+"/review", map[string]string{"decision": "accept"}); a.status != http.StatusOK {
				t.Fatalf("accept %s: %d %s", code, a.status, a.raw)
			}
		}
		if a := r.do(t, r.signIn(t, "admin"), "PUT", r.offerPath(r.schoolB.SchoolCode, r.year), map[string]any{"quota": 3}); a.status != http.StatusOK {
			t.Fatalf("quota of school B: %d %s", a.status, a.raw)
		}
		s := &site{url: r.url, cat: r.cat, browser: newBrowser(t), shots: shots}
		tb := s.newTab(t, v)
		tb.open("/officer/truong?level=lop1&school_year=" + y)
		tb.typeInto("#username", "admin")
		tb.typeInto("#password", reviewPassword)
		tb.do(chromedp.Click(chromedp.CSS(`#sign-in-button`)))
		settleLoaded(tb, "the quota table", `!!document.querySelector("#quota-`+schoolA+`")`)
		tb.typeInto("#quota-"+schoolA, "3")
		tb.do(chromedp.Click(chromedp.CSS(`#row-` + schoolA + ` button`)))
		settleLoaded(tb, "the quota saved", `(document.querySelector("#flash") || {}).innerText?.includes("Đã lưu chỉ tiêu") || false`)

		tb.do(chromedp.Click(chromedp.CSS(`a[href="/officer/phan-tuyen"]`)))
		settleLoaded(tb, "the runs page", `!!document.querySelector(".seed-form")`)
		tb.shoot("runs-empty")
		// A round 2 before round 1 is published, and before the seed: refused
		// on the page, in words, the form as it was.
		tb.set("#round", "2")
		tb.do(chromedp.Click(chromedp.CSS(`#start-preview`)))
		settleLoaded(tb, "the refusal", `!!document.querySelector("#form-error")`)
		if txt := tb.text("#form-error"); !strings.Contains(txt, "hạt giống") && !strings.Contains(txt, "vòng 1") {
			t.Errorf("%s: a round 2 without seed or round 1 is refused with %q", v.name, txt)
		}
		if round := eval[string](tb, `document.querySelector("#round").value`); round != "2" {
			t.Errorf("%s: after the refusal the round field says %q, want the 2 asked for", v.name, round)
		}
		tb.shoot("runs-error")
		tb.do(chromedp.Click(chromedp.CSS(`.seed-form button`)))
		settleLoaded(tb, "the commitment", `/^[0-9a-f]{64}$/.test((document.querySelector("#commitment") || {}).innerText || "")`)
		for _, m := range []string{"da", "boston"} {
			tb.open("/officer/phan-tuyen?level=lop1&school_year=" + y)
			tb.set("#mechanism", m)
			tb.do(chromedp.Click(chromedp.CSS(`#start-preview`)))
			settleLoaded(tb, "the run page of "+m, `!!document.querySelector("#run-status") && location.pathname.includes("/luot/")`)
			tb.shoot("run-" + m)
		}
		full := eval[int](tb, `document.querySelectorAll(".schools-table .badge-warn").length`)
		if full < 2 {
			t.Errorf("%s: %d schools shown full, want schools A and B", v.name, full)
		}
		tb.do(chromedp.Click(chromedp.CSS(`#school-` + schoolA + ` a`)))
		settleLoaded(tb, "the school of the run", `!!document.querySelector("#cutoff")`)
		if txt := tb.text("#cutoff"); !strings.Contains(txt, "Mức ưu tiên") {
			t.Errorf("%s: the school's cutoff says %q", v.name, txt)
		}
		tb.shoot("run-school")

		tb.open("/officer/phan-tuyen?level=lop1&school_year=" + y)
		tb.shoot("runs")
		eval[bool](tb, `(document.querySelectorAll('input[name="runs"]').forEach(e => e.click()), true)`)
		tb.do(chromedp.Click(chromedp.CSS(`#compare`)))
		settleLoaded(tb, "the comparison", `!!document.querySelector("#diff-count")`)
		if n := eval[int](tb, `document.querySelectorAll(".compare-table thead th").length`); n != 3 {
			t.Errorf("%s: compare table has %d header cells, want 3", v.name, n)
		}
		tb.shoot("compare")

		// The DA run (the older): look up a child, then publish it.
		tb.do(chromedp.Click(chromedp.CSS(`.compare-table thead th:nth-child(2) a`)))
		settleLoaded(tb, "the DA run", `!!document.querySelector("#tre")`)
		tb.typeInto("#tre", codes[len(codes)-1])
		tb.do(chromedp.Click(chromedp.CSS(`.child-form button`)))
		settleLoaded(tb, "the child", `!!document.querySelector("#child")`)
		tb.shoot("child")
		tb.do(chromedp.Click(chromedp.CSS(`#to-publish`)))
		settleLoaded(tb, "the confirmation", `!!document.querySelector("#publish")`)
		tb.shoot("confirm")
		tb.do(chromedp.Click(chromedp.CSS(`#confirm`)), chromedp.Click(chromedp.CSS(`#publish`)))
		settleLoaded(tb, "the published run", `(document.querySelector("#flash") || {}).innerText?.includes("Đã công bố") || false`)
		tb.shoot("published")
		var published int
		if err := r.db.GetContext(t.Context(), &published, `SELECT count(*) FROM placement_runs WHERE status = 'published'`); err != nil || published != 1 {
			t.Errorf("%s: %d runs published (%v), want 1", v.name, published, err)
		}
	}
}

// settleLoaded is settle once the page has loaded: a screenshot of a page
// still loading can fail.
func settleLoaded(tb *tab, what, expr string) {
	tb.t.Helper()
	settle(tb, what, `document.readyState === "complete" && (`+expr+`)`)
}
