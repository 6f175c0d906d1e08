package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// The staff pages, driven as a browser without JavaScript drives them:
// plain GETs and form POSTs with a cookie jar, redirects not followed so
// that each answer can be checked.

// pageClient is a browser on the staff pages.
type pageClient struct {
	http *http.Client
	name string
}

// pageAnswer is one answer of a page route.
type pageAnswer struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (s *reviewSite) browser(t testing.TB, name string) *pageClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &pageClient{name: name, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (s *reviewSite) get(t testing.TB, c *pageClient, path string) pageAnswer {
	t.Helper()
	req, err := http.NewRequest("GET", s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	return s.send(t, c, req)
}

func (s *reviewSite) post(t testing.TB, c *pageClient, path string, form url.Values) pageAnswer {
	t.Helper()
	req, err := http.NewRequest("POST", s.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	req.Header.Set("Origin", s.url)
	return s.send(t, c, req)
}

func (s *reviewSite) send(t testing.TB, c *pageClient, req *http.Request) pageAnswer {
	t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return pageAnswer{status: res.StatusCode, location: res.Header.Get("Location"), body: string(b), header: res.Header}
}

// pageSignIn signs in through the sign-in page's form.
func (s *reviewSite) pageSignIn(t testing.TB, user string) *pageClient {
	t.Helper()
	c := s.browser(t, user)
	p := s.post(t, c, "/can-bo/dang-nhap", url.Values{"username": {user}, "password": {reviewPassword}, "next": {"/can-bo"}})
	if p.status != http.StatusSeeOther || p.location != "/can-bo" {
		t.Fatalf("sign-in page of %s: %d to %q, want 303 to /can-bo: %s", user, p.status, p.location, p.body)
	}
	return c
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf returns a CSRF token from a page's forms.
func csrf(t testing.TB, p pageAnswer) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF field on the page: %.300s", p.body)
	}
	return m[1]
}

func wantPage(t testing.TB, what string, p pageAnswer, status int, texts ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d: %.500s", what, p.status, status, p.body)
	}
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s: Content-Type %q, want HTML", what, ct)
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Errorf("%s: page lacks %q", what, s)
		}
	}
}

// TestStaffPagesRender: a clerk signs in on the page and every staff page
// renders, in the school's layout, with the file's data and history.
func TestStaffPagesRender(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	code, f := s.stored(t, schoolA)

	anon := s.browser(t, "anonymous")
	wantPage(t, "sign-in page", s.get(t, anon, "/can-bo/dang-nhap"), 200, "Đăng nhập cán bộ", `name="username"`, `name="password"`)

	c := s.pageSignIn(t, "school-"+schoolA)
	if p := s.get(t, c, "/can-bo"); p.status != http.StatusSeeOther || p.location != "/can-bo/truong/"+schoolA {
		t.Fatalf("GET /can-bo for a clerk: %d to %q, want the school's dashboard", p.status, p.location)
	}
	if p := s.get(t, c, "/can-bo/truong"); p.status != http.StatusSeeOther || p.location != "/can-bo/truong/"+schoolA {
		t.Errorf("the school picker for a clerk: %d to %q, want the school's dashboard", p.status, p.location)
	}
	wantPage(t, "dashboard", s.get(t, c, "/can-bo/truong/"+schoolA), 200, `id="counts"`, "Lớp 1", "Đã lưu, chờ duyệt",
		`class="staff staff-school"`, "school-"+schoolA, `action="/can-bo/dang-xuat"`)
	wantPage(t, "applicant list", s.get(t, c, "/can-bo/truong/"+schoolA+"/ho-so"), 200, `id="applicants"`, code, f.Child.FullName,
		`href="/api/v1/schools/`+schoolA+`/applications.csv"`)
	filtered := s.get(t, c, "/can-bo/truong/"+schoolA+"/ho-so?level=lop1&status=received&category=dt1&priority=0&q=nguyen+thi+mai")
	wantPage(t, "filtered list", filtered, 200, code,
		`href="/api/v1/schools/`+schoolA+`/applications.xlsx?category=dt1&amp;level=lop1&amp;priority=0&amp;q=nguyen&#43;thi&#43;mai&amp;status=received"`)
	wantPage(t, "list filtered to nothing", s.get(t, c, "/can-bo/truong/"+schoolA+"/ho-so?q=khong+co+ai"), 200, `id="no-results"`)
	wantPage(t, "bad filter", s.get(t, c, "/can-bo/truong/"+schoolA+"/ho-so?level=lop9"), 400, "Tham số level")
	file := s.get(t, c, "/can-bo/ho-so/"+code)
	wantPage(t, "file", file, 200, f.Child.FullName, f.Child.IDNumber, f.Guardian.Phone, `id="accept-form"`, `id="return-form"`,
		`id="void-form"`, `id="history"`, "Trường Tiểu học")
	wantPage(t, "direct registration form", s.get(t, c, "/can-bo/truong/"+schoolA+"/dang-ky"), 200, `id="direct-form"`, `name="child.id_number"`)
	wantPage(t, "sign-out page", s.get(t, c, "/can-bo/dang-xuat"), 200, `action="/can-bo/dang-xuat"`)

	// Signing out ends the session: the pages send to sign-in again.
	out := s.post(t, c, "/can-bo/dang-xuat", url.Values{"csrf_token": {csrf(t, file)}})
	if out.status != http.StatusSeeOther || !strings.HasPrefix(out.location, "/can-bo/dang-nhap") {
		t.Fatalf("sign-out: %d to %q, want the sign-in page", out.status, out.location)
	}
	wantPage(t, "sign-in page after sign-out", s.get(t, c, out.location), 200, "Bạn đã đăng xuất")
	if p := s.get(t, c, "/can-bo/truong/"+schoolA); p.status != http.StatusSeeOther ||
		p.location != "/can-bo/dang-nhap?next="+url.QueryEscape("/can-bo/truong/"+schoolA) {
		t.Errorf("dashboard after sign-out: %d to %q, want sign-in with next", p.status, p.location)
	}
}

// TestOfficerPages: a ward officer picks among the schools of the ward
// and sees a school's pages in the officers' layout; the city sees every
// school.
func TestOfficerPages(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	code, _ := s.stored(t, schoolA)
	ward := s.pageSignIn(t, "ward-00004")
	if p := s.get(t, ward, "/can-bo"); p.status != http.StatusSeeOther || p.location != "/can-bo/truong" {
		t.Fatalf("GET /can-bo for an officer: %d to %q, want the school picker", p.status, p.location)
	}
	picker := s.get(t, ward, "/can-bo/truong")
	wantPage(t, "ward's school picker", picker, 200, `href="/can-bo/truong/`+schoolA+`"`, `class="staff staff-officer"`)
	if strings.Contains(picker.body, s.schoolB.SchoolCode) {
		t.Errorf("the picker of ward 00004 lists %s of another ward", s.schoolB.SchoolCode)
	}
	wantPage(t, "picker searched without accents", s.get(t, ward, "/can-bo/truong?q=tieu+hoc"), 200, schoolA)
	wantPage(t, "officer's dashboard", s.get(t, ward, "/can-bo/truong/"+schoolA), 200, `id="change-school"`, `id="counts"`)
	wantPage(t, "officer's file view", s.get(t, ward, "/can-bo/ho-so/"+code), 200, `id="accept-form"`)

	city := s.pageSignIn(t, "admin")
	both := s.get(t, city, "/can-bo/truong")
	wantPage(t, "city's school picker", both, 200, schoolA, s.schoolB.SchoolCode)
}

// TestStaffPagesAuthorization: every staff page × every kind of caller,
// on school A and an application of school A, in the style of the API's
// matrix. Anonymous browsers are sent to sign in; staff who do not cover
// the school get a Vietnamese refusal page (403; 404 for a file, as the
// API) carrying none of the application's data.
func TestStaffPagesAuthorization(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	code, f := s.stored(t, schoolA)
	otherWard := ""
	for _, w := range s.cat.Wards() {
		if w.Code != "00004" {
			otherWard = w.Code
			break
		}
	}
	callers := []struct {
		user   string
		school int // status of the school's pages
		file   int // status of the file page
	}{
		{"", http.StatusSeeOther, http.StatusSeeOther},
		{"school-" + schoolA, 200, 200},
		{"school-" + s.schoolB.SchoolCode, 403, 404},
		{"ward-00004", 200, 200},
		{"ward-" + otherWard, 403, 404},
		{"admin", 200, 200},
	}
	routes := []struct {
		path string
		file bool
	}{
		{"/can-bo/truong/" + schoolA, false},
		{"/can-bo/truong/" + schoolA + "/ho-so", false},
		{"/can-bo/truong/" + schoolA + "/ho-so?q=mai", false},
		{"/can-bo/truong/" + schoolA + "/dang-ky", false},
		{"/can-bo/ho-so/" + code, true},
	}
	for _, cl := range callers {
		var c *pageClient
		if cl.user == "" {
			c = s.browser(t, "anonymous")
		} else {
			c = s.pageSignIn(t, cl.user)
		}
		for _, r := range routes {
			want := cl.school
			if r.file {
				want = cl.file
			}
			p := s.get(t, c, r.path)
			if p.status != want {
				t.Errorf("%s GET %s: %d, want %d", c.name, r.path, p.status, want)
				continue
			}
			if want == http.StatusSeeOther && !strings.HasPrefix(p.location, "/can-bo/dang-nhap?next=") {
				t.Errorf("%s GET %s: sent to %q, want the sign-in page", c.name, r.path, p.location)
			}
			if want == 403 || want == 404 {
				for _, secret := range []string{code, f.Child.FullName, f.Child.IDNumber, f.Guardian.Phone} {
					if strings.Contains(p.body, secret) {
						t.Errorf("%s GET %s: the refusal carries %q", c.name, r.path, secret)
					}
				}
				if want == 403 && !strings.Contains(p.body, "không có quyền") {
					t.Errorf("%s GET %s: the refusal does not say why in Vietnamese: %.300s", c.name, r.path, p.body)
				}
			}
		}
		// The forms: a decision on A's file and a direct registration at A.
		if cl.user == "" {
			if p := s.post(t, c, "/can-bo/ho-so/"+code+"/xet-duyet", url.Values{"decision": {"accept"}}); p.status != 401 {
				t.Errorf("anonymous decision: %d, want 401", p.status)
			}
			continue
		}
		token := csrf(t, s.get(t, c, "/can-bo/dang-xuat"))
		if cl.file == 404 {
			p := s.post(t, c, "/can-bo/ho-so/"+code+"/xet-duyet", url.Values{"csrf_token": {token}, "decision": {"accept"}})
			if p.status != 404 || strings.Contains(p.body, f.Child.FullName) {
				t.Errorf("%s decision on A's file: %d, want 404 without data", c.name, p.status)
			}
			p = s.post(t, c, "/can-bo/truong/"+schoolA+"/dang-ky", url.Values{"csrf_token": {token}})
			if p.status != 403 {
				t.Errorf("%s direct registration at A: %d, want 403", c.name, p.status)
			}
		}
	}
	if st := s.status(t, code)["status"]; st != "received" {
		t.Errorf("after the refused decisions the status is %v, want received", st)
	}
}

// TestStaffPagesCSRF: every page form needs the session's token; a
// sign-in posted from another site's page is refused.
func TestStaffPagesCSRF(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	code, _ := s.stored(t, schoolA)
	c := s.pageSignIn(t, "school-"+schoolA)
	forms := []struct {
		path string
		form url.Values
	}{
		{"/can-bo/ho-so/" + code + "/xet-duyet", url.Values{"decision": {"accept"}}},
		{"/can-bo/truong/" + schoolA + "/dang-ky", url.Values{"child.full_name": {"Nguyễn Văn An"}}},
		{"/can-bo/dang-xuat", url.Values{}},
	}
	for _, f := range forms {
		for _, token := range []string{"", "AAAA", csrf(t, s.get(t, s.pageSignIn(t, "school-"+schoolA), "/can-bo/dang-xuat"))} {
			v := url.Values{}
			for k, vs := range f.form {
				v[k] = vs
			}
			if token != "" {
				v.Set("csrf_token", token)
			}
			p := s.post(t, c, f.path, v)
			wantPage(t, "POST "+f.path+" with token "+token, p, 403, "CSRF")
		}
	}
	if st := s.status(t, code)["status"]; st != "received" {
		t.Errorf("status after refused forms = %v, want received", st)
	}
	// Still signed in: the refused sign-out did nothing.
	wantPage(t, "dashboard", s.get(t, c, "/can-bo/truong/"+schoolA), 200)

	evil := s.browser(t, "evil")
	req, _ := http.NewRequest("POST", s.url+"/can-bo/dang-nhap", strings.NewReader(url.Values{"username": {"admin"}, "password": {reviewPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if p := s.send(t, evil, req); p.status != 403 {
		t.Errorf("sign-in posted from another site (Origin): %d, want 403", p.status)
	}
	req, _ = http.NewRequest("POST", s.url+"/can-bo/dang-nhap", strings.NewReader(url.Values{"username": {"admin"}, "password": {reviewPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "null")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := s.send(t, evil, req); p.status != 403 {
		t.Errorf("sign-in posted from another site (Sec-Fetch-Site): %d, want 403", p.status)
	}
}

// TestSignInPageRefusals: wrong passwords show the page again with a
// Vietnamese message and the same status as the API; the account's
// lockout shows as 429 with Retry-After; next never leads off the site.
func TestSignInPageRefusals(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	c := s.browser(t, "x")
	p := s.post(t, c, "/can-bo/dang-nhap", url.Values{"username": {"school-" + schoolA}, "password": {"sai"}})
	wantPage(t, "wrong password", p, 401, `id="sign-in-error"`, `value="school-`+schoolA+`"`)
	wantPage(t, "empty form", s.post(t, c, "/can-bo/dang-nhap", url.Values{}), 400, "Cần nhập tên đăng nhập và mật khẩu")
	var last pageAnswer
	for range 10 {
		last = s.post(t, c, "/can-bo/dang-nhap", url.Values{"username": {"school-" + schoolA}, "password": {"sai"}})
		if last.status == http.StatusTooManyRequests {
			break
		}
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" {
		t.Errorf("repeated failures: %d Retry-After %q, want 429 with Retry-After", last.status, last.header.Get("Retry-After"))
	}
	for _, next := range []string{"https://evil.example/", "//evil.example/can-bo", "/can-bo/../../x", "/can-bonus", "/dang-ky", "/can-bo\\evil.example"} {
		d := s.browser(t, "admin")
		p := s.post(t, d, "/can-bo/dang-nhap", url.Values{"username": {"admin"}, "password": {reviewPassword}, "next": {next}})
		if p.status != http.StatusSeeOther || p.location != "/can-bo" {
			t.Errorf("sign-in with next=%q: %d to %q, want /can-bo", next, p.status, p.location)
		}
	}
	d := s.browser(t, "admin")
	want := "/can-bo/truong/" + schoolA + "/ho-so?q=an"
	if p := s.post(t, d, "/can-bo/dang-nhap", url.Values{"username": {"admin"}, "password": {reviewPassword}, "next": {want}}); p.location != want {
		t.Errorf("sign-in with next=%q: to %q", want, p.location)
	}
}

// TestFilePageDecisions: the file page's forms return with a reason,
// refuse a return without one (the page comes back with the message and
// 422/409), accept after the parent's correction, and list it all in the
// history.
func TestFilePageDecisions(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	code, f := s.stored(t, schoolA)
	c := s.pageSignIn(t, "school-"+schoolA)
	file := s.get(t, c, "/can-bo/ho-so/"+code)
	token := csrf(t, file)
	decide := func(decision, reason string) pageAnswer {
		return s.post(t, c, "/can-bo/ho-so/"+code+"/xet-duyet", url.Values{"csrf_token": {token}, "decision": {decision}, "reason": {reason}})
	}
	p := decide("return", "  ")
	if p.status < 400 || p.status >= 500 || !strings.Contains(p.body, `id="flash"`) || !strings.Contains(p.body, `id="return-form"`) {
		t.Fatalf("return without a reason: %d, want a 4xx page with the message and the form: %.400s", p.status, p.body)
	}
	const reason = "Thiếu giấy khai sinh bản sao; vui lòng bổ sung"
	p = decide("return", reason)
	if p.status != http.StatusSeeOther || p.location != "/can-bo/ho-so/"+code {
		t.Fatalf("return: %d to %q, want 303 to the file", p.status, p.location)
	}
	wantPage(t, "file after return", s.get(t, c, p.location), 200, "Đã trả lại hồ sơ", reason, `data-status="returned"`)
	if got := s.status(t, code); got["status"] != "returned" || got["return_reason"] != reason {
		t.Errorf("the parent sees %v / %v, want returned with the reason", got["status"], got["return_reason"])
	}
	// Returned: the clerk cannot accept until the parent corrects.
	p = decide("accept", "")
	wantPage(t, "accept a returned file", p, 409, `id="flash"`)
	if strings.Contains(s.get(t, c, "/can-bo/ho-so/"+code).body, `id="accept-form"`) {
		t.Errorf("the returned file offers to accept it")
	}
	// The parent corrects: PUT with the full form.
	f.Child.PlaceOfBirth = "Hà Nội"
	if a := s.do(t, s.anonymous(t), "PUT", "/api/v1/applications/"+code, f); a.status != 200 {
		t.Fatalf("correction: %d %s", a.status, a.raw)
	}
	p = decide("accept", "")
	if p.status != http.StatusSeeOther {
		t.Fatalf("accept: %d, want 303: %.300s", p.status, p.body)
	}
	after := s.get(t, c, "/can-bo/ho-so/"+code)
	wantPage(t, "file after accept", after, 200, "Đã duyệt hồ sơ", `data-status="accepted"`, "school-"+schoolA, "phụ huynh")
	if n := strings.Count(after.body, "<li>\n          <strong>"); n != 4 {
		t.Errorf("history has %d entries, want 4 (registered, returned, corrected, accepted)", n)
	}
	// The flash is shown once.
	if strings.Contains(s.get(t, c, "/can-bo/ho-so/"+code).body, `id="flash"`) {
		t.Errorf("the flash shows again on the next page")
	}
}

// TestDirectRegistrationPage: the form registers a child (303 to the new
// file), shows every problem at its field, and a second registration of
// the same child links to the existing file.
func TestDirectRegistrationPage(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	c := s.pageSignIn(t, "school-"+schoolA)
	form := s.get(t, c, "/can-bo/truong/"+schoolA+"/dang-ky")
	token := csrf(t, form)
	window := regexp.MustCompile(`<option value="(lop1:\d+)"`).FindStringSubmatch(form.body)
	if window == nil {
		t.Fatalf("the form offers no lop1 intake: %.500s", form.body)
	}
	f := s.form(schoolA)
	v := url.Values{"csrf_token": {token}, "window": {window[1]},
		"child.full_name": {f.Child.FullName}, "child.id_number": {f.Child.IDNumber}, "child.date_of_birth": {f.Child.DateOfBirth},
		"child.sex": {string(f.Child.Sex)}, "residence.permanent.ward": {"00004"}, "residence.permanent.group": {"TDP 3"},
		"residence.permanent.address": {"12 Quán Thánh"}, "same_residence": {"1"},
		"guardian.full_name": {"Trần Thị Hoa"}, "guardian.relation": {"mother"}, "guardian.phone": {"0912345678"}, "consent": {"1"}}

	bad := url.Values{}
	for k, vs := range v {
		bad[k] = vs
	}
	bad.Del("child.full_name")
	bad.Set("guardian.phone", "12")
	p := s.post(t, c, "/can-bo/truong/"+schoolA+"/dang-ky", bad)
	wantPage(t, "form with problems", p, 422, `id="direct-error"`, `class="field-error"`, `value="`+f.Child.IDNumber+`"`)
	if n := strings.Count(p.body, `class="field-error"`); n < 2 {
		t.Errorf("%d field errors shown, want the name's and the phone's", n)
	}

	p = s.post(t, c, "/can-bo/truong/"+schoolA+"/dang-ky", v)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/can-bo/ho-so/") {
		t.Fatalf("direct registration: %d to %q, want 303 to the new file: %.500s", p.status, p.location, p.body)
	}
	code := strings.TrimPrefix(p.location, "/can-bo/ho-so/")
	wantPage(t, "the new file", s.get(t, c, p.location), 200, "Đã đăng ký trực tiếp", "đăng ký trực tiếp tại trường", f.Child.FullName)
	h, err := s.store.Head(t.Context(), code)
	if err != nil || h.Status != enrollment.StatusReceived {
		t.Fatalf("stored application: %+v %v, want received", h, err)
	}

	p = s.post(t, c, "/can-bo/truong/"+schoolA+"/dang-ky", v)
	wantPage(t, "the same child again", p, 409, `id="existing-file"`, `href="/can-bo/ho-so/`+code+`"`)
}

// BenchmarkStaffPages loads the staff pages of a school with 5,000
// applicants through the whole service (session, authorization, queries,
// rendering into a buffer); B/page is the size of the HTML.
//
//	TUYENSINH_TEST_REQUIRE_SERVICES=1 go test -run '^$' -bench BenchmarkStaffPages -benchtime 10x ./web/
func BenchmarkStaffPages(b *testing.B) {
	s := newReviewSite(b)
	s.bulk(b, 5000)
	c := s.pageSignIn(b, "school-"+schoolA)
	list := "/can-bo/truong/" + schoolA + "/ho-so"
	for _, bc := range []struct{ name, path string }{
		{"dashboard", "/can-bo/truong/" + schoolA},
		{"list", list},
		{"list-200", list + "?per_page=200"},
		{"list-last-page", list + "?page=100"},
		{"list-filtered", list + "?level=lop1&status=received&category=dt1"},
		{"list-search", list + "?q=nguyen+thi"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				p := s.get(b, c, bc.path)
				if p.status != 200 {
					b.Fatalf("%s: %d", bc.path, p.status)
				}
				size = len(p.body)
			}
			b.ReportMetric(float64(size), "B/page")
		})
	}
}
