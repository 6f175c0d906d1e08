package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
	"github.com/tuyensinh/tuyensinh/web"
)

// The browser tests drive the pages parents use in headless Chromium,
// against the real handler with real PostgreSQL, Redis and an intake
// worker. They skip when Chromium or a service is missing, except in CI
// (CI=true) or with TUYENSINH_TEST_REQUIRE_SERVICES=1, where they fail.
//
// Every test saves full-page screenshots: into a temporary directory, or
// into $TUYENSINH_SCREENSHOTS when set, to look at the pages by eye.

// viewport is a screen size the pages must fit.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var (
	desktop = viewport{"desktop", 1280, 900, false}
	phone   = viewport{"phone", 390, 844, true}
	// phone412 is a common Android width (Pixel 7, Galaxy S).
	phone412 = viewport{"phone412", 412, 915, true}
)

// site is a running service with the demo city and a browser to visit it.
type site struct {
	url     string
	cat     *enrollment.Catalog
	win     enrollment.Window // the lop1 window
	browser context.Context
	shots   string
}

func setup(t *testing.T) *site { return setupWith(t, options{}) }

// options vary the service of a test.
type options struct {
	ceiling  int64 // intake backlog past which registrations are refused; 0: none
	noWorker bool  // registrations stay queued
}

func setupWith(t *testing.T, opt options) *site {
	t.Helper()
	browser := newBrowser(t)
	ctx := t.Context()
	db := testenv.DB(t)
	rdb, prefix := testenv.Redis(t)

	store := postgres.New(db)
	if err := store.SaveReference(ctx, democity.Reference(time.Now())); err != nil {
		t.Fatalf("seed demo city: %v", err)
	}
	cat, err := store.LoadCatalog(ctx)
	if err != nil {
		t.Fatalf("load catalog: %v", err)
	}
	metrics := intake.NewMetrics(nil)
	keys := intake.Keys{Prefix: prefix}
	queue, err := intake.NewQueue(rdb, intake.Config{Keys: keys, Ceiling: opt.ceiling, RetryAfter: 3 * time.Second}, metrics, false)
	if err != nil {
		t.Fatalf("new queue: %v", err)
	}
	if !opt.noWorker {
		runWorker(t, rdb, store, keys, metrics, 200*time.Millisecond)
	}

	srv := httptest.NewServer(web.NewServer(web.Deps{
		Catalog:  func() *enrollment.Catalog { return cat },
		Intake:   queue,
		DB:       store,
		Metrics:  metrics,
		Gatherer: prometheus.NewRegistry(),
	}))
	t.Cleanup(srv.Close)

	s := &site{url: srv.URL, cat: cat, browser: browser, shots: shotDir(t)}
	var ok bool
	if s.win, ok = cat.CurrentWindow(enrollment.LevelLop1, time.Now()); !ok {
		t.Fatal("the demo city has no open lop1 window")
	}
	return s
}

// chromiumPath finds Chromium: $TUYENSINH_CHROMIUM, Debian's
// /usr/bin/chromium, or chromium on the PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv("TUYENSINH_CHROMIUM"); p != "" {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	return exec.LookPath("chromium")
}

// newBrowser starts a headless Chromium of the test's own, with a fresh
// profile, stopped when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := chromiumPath()
	if err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("TUYENSINH_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("chromium is required but not found (apt-get install -y chromium): %v", err)
		}
		t.Skipf("chromium not found, skipping browser test: %v", err)
	}
	profile, err := os.MkdirTemp("", "tuyensinh-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// tab is one browser tab at a viewport size. Uncaught JavaScript errors
// of its pages fail the test.
type tab struct {
	t    *testing.T
	s    *site
	ctx  context.Context
	view viewport

	mu     sync.Mutex
	errors []string
}

func (s *site) newTab(t *testing.T, v viewport) *tab {
	t.Helper()
	tb := &tab{t: t, s: s, view: v}
	ctx, cancel := chromedp.NewContext(s.browser, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil && e.ExceptionDetails.Exception.Description != "" {
				msg = e.ExceptionDetails.Exception.Description
			}
			tb.mu.Lock()
			tb.errors = append(tb.errors, fmt.Sprintf("%s (%s:%d)", msg, e.ExceptionDetails.URL, e.ExceptionDetails.LineNumber))
			tb.mu.Unlock()
		}
		// What the Content-Security-Policy blocks (an inline style or
		// script the page relied on) is reported here.
		if e, ok := ev.(*cdplog.EventEntryAdded); ok && e.Entry.Source == cdplog.EntrySourceSecurity ||
			ok && strings.Contains(e.Entry.Text, "Content Security Policy") {
			tb.mu.Lock()
			tb.errors = append(tb.errors, fmt.Sprintf("blocked by the Content-Security-Policy: %s (%s)", e.Entry.Text, e.Entry.URL))
			tb.mu.Unlock()
		}
	}))
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	tb.ctx = ctx
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
	})
	opts := []chromedp.EmulateViewportOption{}
	if v.mobile {
		opts = append(opts, chromedp.EmulateScale(2), chromedp.EmulateMobile)
	}
	tb.do(chromedp.EmulateViewport(v.width, v.height, opts...))

	t.Cleanup(func() {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, e := range tb.errors {
			t.Errorf("JavaScript error on the page: %s", e)
		}
	})
	return tb
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.s.url + path))
}

// text returns the visible text of the element sel finds, once visible.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// eval runs a JavaScript expression and decodes its result into T.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until a JavaScript expression is true.
func (tb *tab) waitFor(what, expr string, timeout time.Duration) {
	tb.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(time.Until(deadline)), chromedp.WithPollingInterval(100*time.Millisecond)))
		if err == nil {
			return
		}
		// A redirect that lands while the poll starts destroys the
		// page's script context under it: poll again in the new page.
		if navigatedAway(err) && time.Until(deadline) > 200*time.Millisecond {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		tb.shoot("timeout")
		tb.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// navigatedAway reports whether err says the page went away under a
// script: its execution context was replaced by a navigation.
func navigatedAway(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Cannot find context with specified id") ||
		strings.Contains(msg, "Execution context was destroyed") ||
		strings.Contains(msg, "Inspected target navigated or closed")
}

// set sets the value of a select or an input the way a person does, with
// input and change events.
func (tb *tab) set(sel, value string) {
	tb.t.Helper()
	js := fmt.Sprintf(`(() => {
	const n = document.querySelector(%s);
	if (!n) return "no element";
	n.value = %s;
	if (n.value !== %[2]s) return "value not accepted: " + n.value;
	n.dispatchEvent(new Event("input", {bubbles: true}));
	n.dispatchEvent(new Event("change", {bubbles: true}));
	return "";
})()`, jsString(sel), jsString(value))
	if msg := eval[string](tb, js); msg != "" {
		tb.t.Fatalf("set %s to %q: %s", sel, value, msg)
	}
}

func (tb *tab) typeInto(sel, text string) {
	tb.t.Helper()
	tb.set(sel, "") // what select-all and delete do
	tb.do(chromedp.SendKeys(chromedp.CSS(sel), text))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// shoot saves a full-page screenshot and checks that nothing sticks out
// sideways: a page wider than the screen hides content on a phone.
func (tb *tab) shoot(name string) {
	tb.t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(tb.s.shots, fmt.Sprintf("%s-%s-%s.png", safeName(tb.t.Name()), name, tb.view.name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		tb.t.Errorf("save screenshot: %v", err)
	}
	tb.t.Logf("screenshot: %s", file)
	over := eval[int](tb, `document.documentElement.scrollWidth - document.documentElement.clientWidth`)
	if over > 0 {
		tb.t.Errorf("%s at %s width: the page is %dpx wider than the screen", name, tb.view.name, over)
	}
}

func safeName(s string) string {
	return strings.NewReplacer("/", "_", " ", "_").Replace(s)
}

func shotDir(t *testing.T) string {
	if d := os.Getenv("TUYENSINH_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// child is what a parent types about a child.
type child struct {
	name, id, dob, sex   string
	ward, group, address string
	school               *enrollment.Offer
}

// validChild returns a girl of the level's birth year living in the
// catchment of a lop1 school, with ID serial n.
func (s *site) validChild(t *testing.T, n int) child {
	t.Helper()
	var school *enrollment.Offer
	for _, o := range s.cat.Offers(s.win.Level, s.win.SchoolYear) {
		if len(o.Catchment) > 0 && len(o.Catchment[0].Groups) > 0 {
			school = o
			break
		}
	}
	if school == nil {
		t.Fatal("no lop1 school with a catchment of residential groups in the demo city")
	}
	z := school.Catchment[0]
	dob := time.Date(s.win.BirthYear, time.March, 15, 0, 0, 0, 0, time.UTC)
	return child{
		name:    "Nguyễn Thị Minh Anh",
		id:      enrollment.MakeIDNumber("001", dob, enrollment.Female, n),
		dob:     dob.Format(time.DateOnly),
		sex:     "female",
		ward:    z.Ward,
		group:   z.Groups[0],
		address: "Số 12 ngõ 34",
		school:  school,
	}
}

// fill fills the registration form as a parent would.
func (tb *tab) fill(c child) {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.ID("level-lop1")), chromedp.Click(chromedp.ID("level-lop1")))
	tb.typeInto("#child-full_name", c.name)
	tb.typeInto("#child-id_number", c.id)
	tb.set("#dob-day", c.dob[8:10])
	tb.set("#dob-month", c.dob[5:7])
	tb.set("#dob-year", c.dob[0:4])
	tb.do(chromedp.Click(chromedp.ID("sex-" + c.sex)))
	tb.typeInto("#child-ethnicity", "Kinh")
	tb.set("#perm-ward", c.ward)
	tb.set("#perm-group", c.group)
	tb.typeInto("#perm-address", c.address)

	// The school whose catchment covers the residence comes first, marked.
	tb.waitFor("the schools of the level", `document.querySelectorAll("#choice-0 option").length > 1`, 10*time.Second)
	first := eval[string](tb, `document.querySelector("#choice-0 optgroup option").textContent`)
	inCatchment := eval[[]string](tb, `Array.from(document.querySelectorAll("#choice-0 optgroup:first-of-type option")).map(o => o.value)`)
	if !strings.HasSuffix(first, "đúng tuyến") || !contains(inCatchment, c.school.SchoolCode) {
		tb.t.Errorf("first schools offered = %q %v, want catchment schools marked \"đúng tuyến\", with %s", first, inCatchment, c.school.SchoolCode)
	}
	if got := tb.text("#catchment"); !strings.Contains(got, c.school.Name) {
		tb.t.Errorf("catchment box = %q, want it to name %s", got, c.school.Name)
	}
	tb.set("#choice-0", c.school.SchoolCode)

	tb.typeInto("#guardian-full_name", "Trần Thị Hương")
	tb.set("#guardian-relation", "mother")
	tb.typeInto("#guardian-phone", "0912 345 678")
	tb.do(chromedp.Click(chromedp.ID("consent")))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var codeShape = regexp.MustCompile(`^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$`)

// TestRegisterAndFollowStatus: a parent fills the form with valid data,
// submits, sees a tracking code, follows the link and sees the status page
// turn to "received" once the worker stored the registration.
func TestRegisterAndFollowStatus(t *testing.T) {
	t.Parallel()
	s := setup(t)
	for i, v := range []viewport{desktop, phone} {
		t.Run(v.name, func(t *testing.T) {
			tb := s.newTab(t, v)
			c := s.validChild(t, 100+i)
			tb.open("/dang-ky.html")
			tb.fill(c)
			tb.shoot("filled")
			tb.do(chromedp.Click(chromedp.ID("submit-btn")))

			shown := tb.text("#result-code")
			code := eval[string](tb, `document.getElementById("result-code").dataset.code`)
			if !codeShape.MatchString(shown) || strings.ReplaceAll(shown, "-", "") != code {
				t.Fatalf("tracking code shown = %q (data %q), want 4 groups of 5 letters and digits", shown, code)
			}
			if got := tb.text("#result"); !strings.Contains(got, "Hãy ghi lại mã này") || !strings.Contains(got, "Sao chép mã") {
				t.Errorf("result = %q, want advice to write the code down and a copy button", got)
			} else if n := strings.Count(got, "Đã tiếp nhận hồ sơ"); n != 1 {
				t.Errorf("result = %q says %q %d times, want once", got, "Đã tiếp nhận hồ sơ", n)
			}
			tb.shoot("submitted")

			if _, err := chromedp.Run(tb.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.ID("status-link")))); err != nil {
				t.Fatalf("follow the status link: %v", err)
			}
			tb.waitFor(`the status "received"`, `(document.getElementById("status-text") || {}).innerText === "Hồ sơ đã được lưu, chờ nhà trường xét duyệt"`, 30*time.Second)
			if got := eval[string](tb, `location.search`); got != "?code="+code {
				t.Errorf("status page query = %q, want ?code=%s", got, code)
			}
			card := tb.text("#status-card")
			for _, want := range []string{
				shown, "stored, waiting for the school's review", "Lớp 1",
				fmt.Sprintf("%d–%d", s.win.SchoolYear, s.win.SchoolYear+1),
				"N. T. M. Anh", c.school.Name, "Gửi lúc", "Lưu vào hệ thống lúc",
			} {
				if !strings.Contains(card, want) {
					t.Errorf("status card = %q, want it to show %q", card, want)
				}
			}
			if strings.Contains(card, c.name) || strings.Contains(card, c.id) {
				t.Errorf("status card = %q shows the child's full name or ID number", card)
			}
			tb.shoot("status-received")
		})
	}
}

// TestRegisterWrongIDNumber: a wrong ID number is answered by the server,
// and its Vietnamese message appears next to the ID field and in the
// summary; the form keeps what was typed, and once corrected it goes
// through.
func TestRegisterWrongIDNumber(t *testing.T) {
	t.Parallel()
	s := setup(t)
	for i, v := range []viewport{desktop, phone} {
		t.Run(v.name, func(t *testing.T) {
			tb := s.newTab(t, v)
			c := s.validChild(t, 200+i)
			good := c.id
			c.id = good[:3] + "2" + good[4:] // the digit of a boy, for a girl
			tb.open("/dang-ky.html?level=lop1")
			tb.fill(c)
			tb.do(chromedp.Click(chromedp.ID("submit-btn")))

			want := fmt.Sprintf("Chữ số thứ 4 là 2 nhưng trẻ sinh năm %d, giới tính nữ thì phải là 3", s.win.BirthYear)
			got := tb.text("#child-id_number-error")
			if !strings.Contains(got, want) {
				t.Errorf("error next to the ID field = %q, want %q", got, want)
			}
			next := eval[bool](tb, `document.getElementById("child-id_number").parentElement.contains(document.getElementById("child-id_number-error"))`)
			invalid := eval[string](tb, `document.getElementById("child-id_number").getAttribute("aria-invalid") || ""`)
			described := eval[string](tb, `document.getElementById("child-id_number").getAttribute("aria-describedby") || ""`)
			if !next || invalid != "true" || !strings.Contains(described, "child-id_number-error") {
				t.Errorf("ID field: error in its field %v, aria-invalid %q, aria-describedby %q; want the error tied to the field", next, invalid, described)
			}
			summary := tb.text("#form-alert")
			if !strings.Contains(summary, "Hồ sơ đăng ký chưa hợp lệ") || !strings.Contains(summary, want) {
				t.Errorf("summary = %q, want the server's message and the problem", summary)
			}
			if n := eval[int](tb, `document.querySelectorAll(".field.has-error").length`); n != 1 {
				t.Errorf("%d fields marked wrong, want 1", n)
			}
			if got := eval[string](tb, `document.getElementById("child-full_name").value`); got != c.name {
				t.Errorf("child's name after the error = %q, want %q kept", got, c.name)
			}
			tb.shoot("id-error")

			tb.typeInto("#child-id_number", good)
			if n := eval[int](tb, `document.querySelectorAll(".field.has-error").length`); n != 0 {
				t.Errorf("%d fields still marked wrong after the fix, want 0", n)
			}
			tb.do(chromedp.Click(chromedp.ID("submit-btn")))
			if got := tb.text("#result-code"); !codeShape.MatchString(got) {
				t.Errorf("tracking code after the fix = %q", got)
			}
		})
	}
}

// TestRegisterEveryProblemAtItsField: an empty form comes back with a
// problem for each required field, and each one is shown at its field and
// linked from the summary. A child living away from the permanent
// residence and older than the level's age brings up the fields for that.
func TestRegisterEveryProblemAtItsField(t *testing.T) {
	t.Parallel()
	s := setup(t)
	for _, v := range []viewport{desktop, phone412} {
		t.Run(v.name, func(t *testing.T) { everyProblemAtItsField(t, s, v) })
	}
}

func everyProblemAtItsField(t *testing.T, s *site, v viewport) {
	tb := s.newTab(t, v)
	tb.open("/dang-ky.html?level=lop1")
	tb.waitFor("the schools", `document.querySelectorAll("#choice-0 option").length > 1`, 10*time.Second)
	tb.shoot("blank")
	tb.do(chromedp.Click(chromedp.ID("submit-btn")))
	tb.text("#problem-list")
	links := eval[[]string](tb, `Array.from(document.querySelectorAll("#problem-list li")).map(li => li.querySelector("a[data-focus]") ? li.querySelector("a").dataset.focus : "UNMAPPED: " + li.textContent)`)
	// In the order of the form.
	want := []string{"child-full_name", "child-id_number", "dob-day", "sex-male", "perm-ward", "guardian-full_name", "guardian-relation", "guardian-phone", "choice-0", "consent"}
	var got []string
	for _, l := range links {
		if contains(want, l) && !contains(got, l) {
			got = append(got, l)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("summary links to %v, want links to %v in this order", links, want)
	}
	for _, l := range links {
		if strings.HasPrefix(l, "UNMAPPED") {
			t.Errorf("problem not shown at a field: %s", l)
		}
	}
	if n := eval[int](tb, `document.querySelectorAll(".field.has-error").length`); n != len(links) {
		t.Errorf("%d fields marked wrong, want %d (one per problem)", n, len(links))
	}
	// Only the required choice is marked, not the optional ones.
	if marked := eval[[]string](tb, `Array.from(document.querySelectorAll("#choice-rows [aria-invalid]")).map(n => n.id)`); len(marked) != 1 || marked[0] != "choice-0" {
		t.Errorf("choices marked wrong: %v, want only choice-0", marked)
	}
	// Each field's message names its own field: the permanent ward's does
	// not speak of the current residence.
	if got := tb.text("#perm-ward-error"); strings.Contains(got, "hiện tại") || !strings.Contains(got, "thường trú") {
		t.Errorf("error at the permanent ward = %q, want it to name the permanent residence", got)
	}
	if hidden := eval[bool](tb, `document.getElementById("perm-ward-req").hidden`); hidden {
		t.Error("the permanent ward is not marked required while it is also the current residence")
	}
	tb.shoot("empty")

	// Living elsewhere than the permanent residence, born a year early.
	c := s.validChild(t, 500)
	tb.set("#perm-ward", "__outside")
	if eval[bool](tb, `document.getElementById("same-as").checked || document.getElementById("current-residence").hidden`) {
		t.Error("outside the city: the current residence is not asked for")
	}
	tb.set("#cur-ward", c.ward)
	tb.set("#cur-group", c.group)
	if got := tb.text("#catchment"); !strings.Contains(got, c.school.Name) {
		t.Errorf("catchment box = %q, want it to follow the current residence to %s", got, c.school.Name)
	}
	tb.set("#dob-year", fmt.Sprint(s.win.BirthYear-1))
	tb.waitFor("the over-age reason field", `!document.getElementById("f-over-age").hidden`, 5*time.Second)
}

// TestRegisterSameChildAgain: a second, different registration of a child
// is refused without the first tracking code (whoever knows a child's ID
// number can send a form), saying how the first's parent gets it back.
func TestRegisterSameChildAgain(t *testing.T) {
	t.Parallel()
	s := setup(t)
	tb := s.newTab(t, desktop)
	c := s.validChild(t, 300)
	tb.open("/dang-ky.html")
	tb.fill(c)
	tb.do(chromedp.Click(chromedp.ID("submit-btn")))
	tb.text("#result-code")
	first := eval[string](tb, `document.getElementById("result-code").dataset.code`)

	tb.open("/dang-ky.html")
	c.address = "Số 5 ngõ 34" // moved down the lane: a different registration
	tb.fill(c)
	tb.do(chromedp.Click(chromedp.ID("submit-btn")))
	got := tb.text("#form-alert")
	if !strings.Contains(got, "Trẻ này đã có hồ sơ đăng ký") || !strings.Contains(got, "gửi lại") || !strings.Contains(got, "đến trường") {
		t.Errorf("alert = %q, want the child already registered, the code re-sent to the first guardian, or the school", got)
	}
	if strings.Contains(got, first[:5]) || eval[bool](tb, `document.querySelector("a[href*='code=']") !== null`) {
		t.Errorf("alert = %q shows the first code %s or links to it", got, first)
	}
	tb.shoot("duplicate")
}

// TestRegisterWhenBusy: when intake is past its ceiling the parent is told
// nothing was saved, the form keeps every answer, and submitting waits for
// the Retry-After the server asked for.
func TestRegisterWhenBusy(t *testing.T) {
	t.Parallel()
	s := setupWith(t, options{ceiling: 1, noWorker: true})
	tb := s.newTab(t, phone)
	tb.open("/dang-ky.html")
	tb.fill(s.validChild(t, 400))
	tb.do(chromedp.Click(chromedp.ID("submit-btn")))
	tb.text("#result-code") // the first fills the backlog to its ceiling

	tb.open("/dang-ky.html")
	c := s.validChild(t, 401)
	c.name = "Lê Văn Bình"
	c.id = enrollment.MakeIDNumber("001", time.Date(s.win.BirthYear, time.March, 15, 0, 0, 0, 0, time.UTC), enrollment.Male, 401)
	c.sex = "male"
	tb.fill(c)
	tb.do(chromedp.Click(chromedp.ID("submit-btn")))
	got := tb.text("#form-alert")
	for _, want := range []string{"hồ sơ CHƯA được lưu", "vẫn được giữ nguyên", "Thời điểm gửi không ảnh hưởng"} {
		if !strings.Contains(got, want) {
			t.Errorf("alert = %q, want %q", got, want)
		}
	}
	if got := eval[string](tb, `document.getElementById("child-full_name").value`); got != c.name {
		t.Errorf("child's name after 503 = %q, want %q kept", got, c.name)
	}
	if got := eval[string](tb, `document.getElementById("choice-0").value`); got != c.school.SchoolCode {
		t.Errorf("choice 1 after 503 = %q, want %q kept", got, c.school.SchoolCode)
	}
	if !eval[bool](tb, `document.getElementById("submit-btn").disabled && document.getElementById("submit-btn").textContent.startsWith("Gửi lại sau")`) {
		t.Error("the submit button does not wait for Retry-After")
	}
	tb.shoot("busy")
	tb.waitFor("the submit button to come back", `!document.getElementById("submit-btn").disabled`, 10*time.Second)
}

// TestStatusUnknownCode: the status page says clearly that no application
// has a code, for a well-formed code typed in lower case with dashes and
// for a malformed one.
func TestStatusUnknownCode(t *testing.T) {
	t.Parallel()
	s := setup(t)
	for _, v := range []viewport{desktop, phone} {
		t.Run(v.name, func(t *testing.T) {
			tb := s.newTab(t, v)
			tb.open("/tra-cuu.html?code=abcde-fghjk-mnpqr-stvwx")
			if got, want := tb.text("#not-found-message"), "Không tìm thấy hồ sơ với mã tra cứu này"; got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
			if got := eval[string](tb, `document.getElementById("code").value`); got != "ABCDE-FGHJK-MNPQR-STVWX" {
				t.Errorf("code field = %q, want the code from the URL, normalized", got)
			}
			tb.shoot("not-found")

			tb.typeInto("#code", "12345")
			tb.do(chromedp.Click(chromedp.ID("lookup-btn")))
			tb.waitFor("the malformed-code message", `(document.getElementById("not-found-message") || {}).innerText?.startsWith("Mã tra cứu không đúng dạng")`, 10*time.Second)
			if got := eval[string](tb, `location.search`); got != "?code=12345" {
				t.Errorf("query after a lookup = %q, want ?code=12345", got)
			}
		})
	}
}

// TestHomePage: the home page lists the open windows in Vietnam time and
// leads to the form and the lookup.
func TestHomePage(t *testing.T) {
	t.Parallel()
	s := setup(t)
	for _, v := range []viewport{desktop, phone} {
		t.Run(v.name, func(t *testing.T) {
			tb := s.newTab(t, v)
			tb.open("/")
			tb.waitFor("the windows", `document.querySelectorAll("#windows .window").length > 0`, 10*time.Second)
			got := tb.text("#windows")
			opens := s.win.OpensAt.In(time.FixedZone("ICT", 7*3600)).Format("15:04 ngày 02/01/2006")
			for _, want := range []string{"Lớp 1", "Đang mở", opens, fmt.Sprintf("%d", s.win.BirthYear)} {
				if !strings.Contains(got, want) {
					t.Errorf("windows = %q, want %q", got, want)
				}
			}
			if got := tb.text("main"); !strings.Contains(got, "thời điểm nộp hồ sơ không ảnh hưởng đến kết quả") {
				t.Errorf("home page does not say that submission time does not matter: %q", got)
			}
			href := eval[string](tb, `document.querySelector('#windows [data-level="lop1"] a').getAttribute("href")`)
			if href != "/dang-ky.html?level=lop1" {
				t.Errorf("lop1 register link = %q", href)
			}
			tb.shoot("home")

			tb.open(href)
			tb.waitFor("lop1 to be chosen", `document.getElementById("level-lop1")?.checked === true`, 10*time.Second)
			tb.waitFor("the schools", `document.querySelectorAll("#choice-0 option").length > 1`, 10*time.Second)
			tb.shoot("form-empty")
		})
	}
}

// TestNotFoundPage: a mistyped address shows a page in the site's layout,
// in Vietnamese and English, with a way home.
func TestNotFoundPage(t *testing.T) {
	t.Parallel()
	s := setup(t)
	for _, v := range []viewport{desktop, phone412} {
		t.Run(v.name, func(t *testing.T) {
			tb := s.newTab(t, v)
			tb.open("/dang-ki")
			if got := tb.text("main"); !strings.Contains(got, "Không tìm thấy trang") || !strings.Contains(got, "Page not found") {
				t.Errorf("page = %q, want it to say the page was not found", got)
			}
			if href := eval[string](tb, `document.getElementById("home-link").getAttribute("href")`); href != "/" {
				t.Errorf("home link = %q, want /", href)
			}
			tb.shoot("not-found")
		})
	}
}

// TestRegisterWithoutJavaScript: with scripts off the form cannot work, and
// says so, in Vietnamese and English.
func TestRegisterWithoutJavaScript(t *testing.T) {
	t.Parallel()
	s := setup(t)
	tb := s.newTab(t, phone412)
	tb.do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return chromedp.Void{}, err
	})
	tb.open("/dang-ky.html")
	if got := tb.text("main"); !strings.Contains(got, "Biểu mẫu cần JavaScript") || !strings.Contains(got, "This form needs JavaScript") {
		t.Errorf("page without JavaScript = %q, want it to say the form needs JavaScript", got)
	}
	tb.shoot("no-javascript")
}

// TestPagesServed checks the pages and their assets are served, so a
// missing file shows up even without Chromium.
func TestPagesServed(t *testing.T) {
	t.Parallel()
	h := web.NewServer(web.Deps{Catalog: func() *enrollment.Catalog { return enrollment.NewCatalog(nil, nil, nil) }})
	for _, path := range []string{"/", "/dang-ky.html", "/tra-cuu.html", "/assets/site.css", "/assets/common.js",
		"/assets/home.js", "/assets/register.js", "/assets/status.js", "/assets/icon.svg"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			t.Errorf("GET %s = %d, want 200", path, rec.Code)
		}
		if strings.HasSuffix(path, ".html") || path == "/" {
			// Every script and stylesheet a page names must exist.
			for _, m := range regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(rec.Body.String(), -1) {
				r := httptest.NewRecorder()
				h.ServeHTTP(r, httptest.NewRequest("GET", m[1], nil))
				if r.Code != 200 {
					t.Errorf("%s names %s: GET = %d", path, m[1], r.Code)
				}
			}
		}
	}
}
