package web_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// The staff pages in headless Chromium: a clerk's day, and the parent's
// side of a returned file. Screenshots at phone (412×915) and desktop
// sizes go where the parents' browser tests put theirs.

// staffSite is the review site (demo city, demo staff accounts, Redis
// intake and worker) with a browser.
func staffSite(t *testing.T) (*site, *reviewSite) {
	t.Helper()
	browser := newBrowser(t) // first: skips without Chromium
	rs := newReviewSite(t)
	return &site{url: rs.url, cat: rs.cat, win: rs.window, browser: browser, shots: shotDir(t)}, rs
}

// registered stores an online registration of c (first choice its
// school) through the intake, as a parent's would be.
func registered(t *testing.T, s *site, rs *reviewSite, c child) string {
	t.Helper()
	home := enrollment.Address{Ward: c.ward, Group: c.group, Address: c.address}
	f := &enrollment.Form{Registration: enrollment.Registration{Level: s.win.Level, SchoolYear: s.win.SchoolYear,
		Child:     enrollment.Child{IDNumber: c.id, FullName: c.name, DateOfBirth: c.dob, Sex: enrollment.Sex(c.sex)},
		Residence: enrollment.Residence{Permanent: home, Current: home},
		Guardian:  enrollment.Guardian{FullName: "Trần Thị Hương", Relation: "mother", Phone: "0912345678"},
		Choices:   []string{c.school.SchoolCode}}, Consent: true}
	return rs.submit(t, f)
}

// waitPath waits until the tab shows a page at path (a prefix, with
// prefix) and has loaded it.
func (tb *tab) waitPath(path string, prefix bool) {
	tb.t.Helper()
	cond := fmt.Sprintf(`location.pathname === %s`, jsString(path))
	if prefix {
		cond = fmt.Sprintf(`location.pathname.startsWith(%s)`, jsString(path))
	}
	tb.waitFor("the page "+path, cond+` && document.readyState === "complete"`, 20*time.Second)
}

// click clicks the element sel finds, once visible.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// follow clicks a link or a form's button and waits for the page it
// leads to (after any redirect) to load.
func (tb *tab) follow(sel string) {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	if _, err := chromedp.Run(tb.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		tb.shoot("follow-failed")
		tb.t.Fatalf("follow %s: %v", sel, err)
	}
}

// signOut ends the browser's staff session, if any: the tabs of a test
// share their cookies.
func (tb *tab) signOut() {
	tb.t.Helper()
	tb.open("/can-bo/dang-xuat")
	if eval[string](tb, `location.pathname`) == "/can-bo/dang-xuat" {
		tb.follow("#sign-out")
	}
}

// signIn signs in on the sign-in page the tab shows.
func (tb *tab) signIn(user string) {
	tb.t.Helper()
	tb.typeInto("#username", user)
	tb.typeInto("#password", reviewPassword)
	tb.follow("#sign-in-button")
}

// TestClerkJourney: the clerk signs in, filters the list, returns a file
// with a reason; the parent sees the reason, corrects and resubmits; the
// clerk accepts it, then registers a child who came in person. At desktop
// and phone sizes.
func TestClerkJourney(t *testing.T) {
	t.Parallel()
	s, rs := staffSite(t)
	for i, v := range []viewport{desktop, phone412} {
		t.Run(v.name, func(t *testing.T) {
			c := s.validChild(t, 300+i)
			school := c.school.SchoolCode
			code := registered(t, s, rs, c)
			clerk := s.newTab(t, v)
			clerk.signOut()

			// Asked for the list without a session: the sign-in page, then back.
			clerk.open("/can-bo/truong/" + school + "/ho-so")
			clerk.waitPath("/can-bo/dang-nhap", false)
			clerk.shoot("sign-in")
			clerk.signIn("school-" + school)
			clerk.waitPath("/can-bo/truong/"+school+"/ho-so", false)
			if got := clerk.text("#staff-user"); got != "school-"+school {
				t.Errorf("staff bar names %q, want the clerk", got)
			}

			// Filter: lop1, received, searched without accents.
			clerk.set("#f-level", "lop1")
			clerk.set("#f-status", "received")
			clerk.typeInto("#f-q", "nguyen thi minh anh")
			clerk.follow("#apply-filters")
			clerk.waitFor("the filtered list", `location.search.includes("q=nguyen") && document.readyState === "complete"`, 20*time.Second)
			if n := eval[int](clerk, fmt.Sprintf(`document.querySelectorAll('#applicants tr[data-code=%s]').length`, jsString(code))); n != 1 {
				t.Fatalf("the filtered list shows the application %d times, want once", n)
			}
			if href := eval[string](clerk, `document.getElementById("export-xlsx").getAttribute("href")`); !strings.Contains(href, "q=nguyen") || !strings.Contains(href, "status=received") {
				t.Errorf("Excel export link %q lacks the filters", href)
			}
			clerk.shoot("list-filtered")

			// Open the file and return it with a reason.
			clerk.follow(fmt.Sprintf(`#applicants a[href="/can-bo/ho-so/%s"]`, code))
			clerk.waitPath("/can-bo/ho-so/"+code, false)
			clerk.shoot("file")
			const reason = "Ảnh giấy khai sinh bị mờ; vui lòng khai lại đúng tổ dân phố nơi thường trú"
			clerk.typeInto("#return-reason", reason)
			clerk.follow("#return")
			clerk.waitFor("the returned file", `document.getElementById("file-status")?.dataset.status === "returned" && !!document.getElementById("flash")`, 20*time.Second)
			if got := clerk.text("#file-reason"); got != reason {
				t.Errorf("reason on the file = %q, want %q", got, reason)
			}
			clerk.shoot("returned")

			// The parent sees the reason and corrects.
			parent := s.newTab(t, v)
			parent.open("/tra-cuu.html?code=" + code)
			parent.waitFor("the reason", fmt.Sprintf(`(document.getElementById("return-reason") || {}).textContent === %s`, jsString(reason)), 20*time.Second)
			parent.shoot("parent-returned")
			parent.follow("#correct-link")
			parent.waitPath("/dang-ky.html", false)
			parent.waitFor("the correction box", fmt.Sprintf(`!document.getElementById("correction").hidden && document.getElementById("correction-reason").textContent === %s`, jsString(reason)), 20*time.Second)
			parent.fill(c)
			parent.typeInto("#child-place_of_birth", "Hà Nội")
			parent.shoot("parent-correcting")
			parent.click("#submit-btn")
			parent.waitFor("the resubmission", `!document.getElementById("result").hidden`, 20*time.Second)
			if got := parent.text("#result-title"); !strings.Contains(got, "Đã gửi lại hồ sơ đã sửa") {
				t.Errorf("result title = %q, want the resubmission's", got)
			}
			parent.shoot("parent-resubmitted")

			// The clerk accepts the corrected file. (A fresh tab of the same
			// browser, signed in: each tab has a time limit of its own.)
			clerk = s.newTab(t, v)
			clerk.open("/can-bo/ho-so/" + code)
			clerk.waitFor("the received file", `document.getElementById("file-status")?.dataset.status === "received"`, 20*time.Second)
			clerk.follow("#accept")
			clerk.waitFor("the accepted file", `document.getElementById("file-status")?.dataset.status === "accepted"`, 20*time.Second)
			history := clerk.text("#history")
			for _, want := range []string{reason, "phụ huynh", "school-" + school, "Trả lại → Đã lưu, chờ duyệt", "Đã lưu, chờ duyệt → Đã duyệt"} {
				if !strings.Contains(history, want) {
					t.Errorf("history = %q, want %q", history, want)
				}
			}
			clerk.shoot("accepted")
			if got := rs.status(t, code)["status"]; got != "accepted" {
				t.Errorf("the parent's status = %v, want accepted", got)
			}

			// A child comes in person.
			clerk = s.newTab(t, v)
			clerk.open("/can-bo/truong/" + school)
			clerk.follow(`.site-nav a[href="/can-bo/truong/` + school + `/dang-ky"]`)
			clerk.waitPath("/can-bo/truong/"+school+"/dang-ky", false)
			d := s.validChild(t, 400+i)
			clerk.set("#window", fmt.Sprintf("lop1:%d", s.win.SchoolYear))
			clerk.typeInto("#child-name", "Lê Văn Bình")
			clerk.typeInto("#child-id", enrollment.MakeIDNumber("001", mustDate(t, d.dob), enrollment.Male, 400+i))
			clerk.set("#child-dob", d.dob)
			clerk.click("#sex-male")
			clerk.set("#perm-ward", d.ward)
			clerk.typeInto("#perm-group", d.group)
			clerk.typeInto("#perm-address", "Số 5 phố Hàng Bông")
			clerk.typeInto("#g-name", "Lê Văn Cường")
			clerk.set("#g-relation", "father")
			clerk.typeInto("#g-phone", "0987654321")
			clerk.click("#consent")
			clerk.shoot("direct-filled")
			clerk.follow("#direct-submit")
			clerk.waitPath("/can-bo/ho-so/", true)
			clerk.waitFor("the new file", `document.getElementById("file-status")?.dataset.status === "received" && !!document.getElementById("flash")`, 20*time.Second)
			if got := clerk.text("#file-child"); got != "Lê Văn Bình" {
				t.Errorf("new file's child = %q", got)
			}
			clerk.shoot("direct-done")
			clerk.open("/can-bo/truong/" + school)
			clerk.waitPath("/can-bo/truong/"+school, false)
			clerk.shoot("dashboard")
		})
	}
}

func mustDate(t *testing.T, d string) time.Time {
	t.Helper()
	v, err := time.Parse(time.DateOnly, d)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestStaffRefusalPage: a clerk who opens another school's pages gets a
// clear Vietnamese refusal in the staff layout, and an officer's school
// picker leads to the schools of the area.
func TestStaffRefusalPage(t *testing.T) {
	t.Parallel()
	s, rs := staffSite(t)
	for _, v := range []viewport{desktop, phone412} {
		t.Run(v.name, func(t *testing.T) {
			tb := s.newTab(t, v)
			tb.signOut()
			tb.open("/can-bo/dang-nhap")
			tb.signIn("school-" + schoolA)
			tb.waitPath("/can-bo/truong/"+schoolA, false)
			tb.shoot("dashboard-empty")
			tb.open("/can-bo/truong/" + rs.schoolB.SchoolCode + "/ho-so")
			if got := tb.text("#error-message"); !strings.Contains(got, "không có quyền") {
				t.Errorf("refusal = %q, want it to say the account has no rights", got)
			}
			tb.shoot("refused")

			officer := s.newTab(t, v)
			officer.signOut()
			officer.waitPath("/can-bo/dang-nhap", false)
			officer.signIn("ward-00004")
			officer.waitPath("/can-bo/truong", false)
			officer.shoot("school-picker")
			officer.follow(`#schools a[href="/can-bo/truong/` + schoolA + `"]`)
			officer.waitPath("/can-bo/truong/"+schoolA, false)
			officer.shoot("officer-dashboard")
		})
	}
}

// TestStaffPagesWithoutJavaScript: with scripts off, a clerk signs in and
// returns a file: the pages are plain HTML forms.
func TestStaffPagesWithoutJavaScript(t *testing.T) {
	t.Parallel()
	s, rs := staffSite(t)
	code, _ := rs.stored(t, schoolA)
	tb := s.newTab(t, phone412)
	tb.do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return chromedp.Void{}, err
	})
	tb.open("/can-bo/ho-so/" + code)
	tb.do(chromedp.WaitVisible(chromedp.ID("username")))
	tb.do(chromedp.SendKeys(chromedp.ID("username"), "school-"+schoolA), chromedp.SendKeys(chromedp.ID("password"), reviewPassword))
	tb.follow("#sign-in-button")
	tb.do(chromedp.WaitVisible(chromedp.ID("return-reason")))
	tb.do(chromedp.SendKeys(chromedp.ID("return-reason"), "Thiếu giấy xác nhận cư trú"))
	tb.follow("#return")
	tb.do(chromedp.WaitVisible(chromedp.ID("flash")))
	tb.shoot("returned-without-js")
	if got := rs.status(t, code); got["status"] != "returned" || got["return_reason"] != "Thiếu giấy xác nhận cư trú" {
		t.Errorf("after the form without JavaScript: %v %v, want returned with the reason", got["status"], got["return_reason"])
	}
}

// axeViolations runs axe-core (WCAG 2.1 A and AA rules) on the tab's page
// and returns its violations as "rule (impact): n nodes". axe-core comes
// from npm, never from the repository: TUYENSINH_AXE names axe.min.js
// (npm install axe-core; node_modules/axe-core/axe.min.js). It is
// evaluated through the DevTools protocol, which the page's
// Content-Security-Policy does not govern.
func (tb *tab) axeViolations(src string) []string {
	tb.t.Helper()
	js := src + `;
(async () => {
  const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}});
  return r.violations.map(v => v.id + " (" + v.impact + "): " + v.nodes.length + " nodes, " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join("; "));
})()`
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]string](js, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("axe: %v", err)
	}
	return v
}

// TestStaffPagesAccessibility: every staff page at phone and desktop
// width has no WCAG 2.1 A/AA violation that axe-core finds. Skipped
// without TUYENSINH_AXE.
func TestStaffPagesAccessibility(t *testing.T) {
	t.Parallel()
	path := os.Getenv("TUYENSINH_AXE")
	if path == "" {
		t.Skip("TUYENSINH_AXE (the path of axe-core's axe.min.js) not set")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, rs := staffSite(t)
	code, _ := rs.stored(t, schoolA)
	pages := []string{
		"/can-bo/truong/" + schoolA,
		"/can-bo/truong/" + schoolA + "/ho-so",
		"/can-bo/ho-so/" + code,
		"/can-bo/truong/" + schoolA + "/dang-ky",
		"/can-bo/dang-xuat",
		"/can-bo/truong/" + rs.schoolB.SchoolCode, // the refusal
	}
	for _, v := range []viewport{desktop, phone412} {
		t.Run(v.name, func(t *testing.T) {
			tb := s.newTab(t, v)
			tb.signOut()
			tb.open("/can-bo/dang-nhap")
			for _, p := range append([]string{"/can-bo/dang-nhap"}, pages...) {
				if p == pages[0] {
					tb.signIn("school-" + schoolA)
				}
				tb.open(p)
				for _, bad := range tb.axeViolations(string(src)) {
					t.Errorf("%s at %s: %s", p, v.name, bad)
				}
			}
			officer := s.newTab(t, v)
			officer.signOut()
			officer.open("/can-bo/dang-nhap")
			officer.signIn("ward-00004")
			officer.waitPath("/can-bo/truong", false)
			for _, bad := range officer.axeViolations(string(src)) {
				t.Errorf("the school picker at %s: %s", v.name, bad)
			}
		})
	}
}
