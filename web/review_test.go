package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
	"github.com/tuyensinh/tuyensinh/web"
)

const reviewPassword = "review demo password"

// reviewSite is the whole service on a fresh database and Redis prefix:
// the demo city, its demo staff accounts, the Redis intake and a worker.
// School A is TH-BADINH-01 (ward 00004); school B a lop1 school of
// another ward.
type reviewSite struct {
	url     string
	db      *sqlx.DB
	store   *postgres.DB
	cat     *enrollment.Catalog
	window  enrollment.Window
	schoolB enrollment.Offer
	now     atomic.Int64 // the server's clock, Unix nanoseconds
	n       atomic.Int64 // children made so far
}

func newReviewSite(t testing.TB) *reviewSite {
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
	s := &reviewSite{db: db, store: store, cat: cat}
	s.now.Store(now.UnixNano())
	s.window, _ = cat.CurrentWindow(enrollment.LevelLop1, now)
	for _, o := range cat.Offers(enrollment.LevelLop1, s.window.SchoolYear) {
		if o.Ward != "00004" {
			s.schoolB = *o
			break
		}
	}
	rdb, prefix := testenv.Redis(t)
	keys := intake.Keys{Prefix: prefix}
	metrics := intake.NewMetrics(nil)
	q, err := intake.NewQueue(rdb, intake.Config{Keys: keys}, metrics, false)
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, rdb, store, keys, metrics, 100*time.Millisecond)
	srv := httptest.NewServer(web.NewServer(web.Deps{
		Catalog:  func() *enrollment.Catalog { return cat },
		Intake:   q,
		DB:       store,
		Metrics:  metrics,
		Gatherer: prometheus.NewRegistry(),
		Staff:    st,
		NowFunc:  func() time.Time { return time.Unix(0, s.now.Load()) },
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

const schoolA = "TH-BADINH-01"

// form is a new child's lop1 registration living in TDP 3 of ward 00004,
// with the given choices.
func (s *reviewSite) form(choices ...string) *enrollment.Form {
	i := int(s.n.Add(1))
	dob := time.Date(s.window.BirthYear, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)
	home := enrollment.Address{Ward: "00004", Group: "TDP 3", Address: "12 Quán Thánh"}
	return &enrollment.Form{Registration: enrollment.Registration{
		Level: enrollment.LevelLop1, SchoolYear: s.window.SchoolYear,
		Child: enrollment.Child{IDNumber: enrollment.MakeIDNumber("001", dob, enrollment.Female, i), FullName: "Nguyễn Thị Mai",
			DateOfBirth: dob.Format(time.DateOnly), Sex: enrollment.Female},
		Residence: enrollment.Residence{Permanent: home, Current: home},
		Guardian:  enrollment.Guardian{FullName: "Trần Thị Hoa", Relation: "mother", Phone: "0912345678"},
		Choices:   choices,
	}, Consent: true}
}

// client is a browser: a cookie jar and, once signed in, the CSRF token.
type client struct {
	http *http.Client
	csrf string
	name string
}

func (s *reviewSite) anonymous(t testing.TB) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{http: &http.Client{Jar: jar}, name: "anonymous"}
}

func (s *reviewSite) signIn(t testing.TB, user string) *client {
	t.Helper()
	c := s.anonymous(t)
	c.name = user
	a := s.do(t, c, "POST", "/api/v1/session", map[string]string{"username": user, "password": reviewPassword})
	if a.status != http.StatusOK {
		t.Fatalf("sign-in of %s: %d %s", user, a.status, a.raw)
	}
	c.csrf, _ = a.body["csrf_token"].(string)
	return c
}

type reply struct {
	status int
	raw    []byte
	body   map[string]any
}

func (s *reviewSite) do(t testing.TB, c *client, method, path string, body any) reply {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
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
	return out
}

// submit registers online and waits for the worker to store it.
func (s *reviewSite) submit(t *testing.T, f *enrollment.Form) string {
	t.Helper()
	a := s.do(t, s.anonymous(t), "POST", "/api/v1/applications", f)
	if a.status != http.StatusAccepted {
		t.Fatalf("registration: %d %s", a.status, a.raw)
	}
	code := a.body["tracking_code"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := s.store.Head(t.Context(), code); err == nil {
			return code
		}
		if time.Now().After(deadline) {
			t.Fatalf("application %s not stored", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stored saves an application of school A (first choice) straight into
// the database, for tests that need many.
func (s *reviewSite) stored(t *testing.T, choices ...string) (string, *enrollment.Form) {
	t.Helper()
	f := s.form(choices...)
	a, err := s.cat.Check(f, time.Unix(0, s.now.Load()))
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.store.RegisterDirect(t.Context(), a, enrollment.Actor{Name: "test", Role: enrollment.ActorSchool}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return res.TrackingCode, f
}

func (s *reviewSite) status(t *testing.T, code string) map[string]any {
	t.Helper()
	a := s.do(t, s.anonymous(t), "GET", "/api/v1/applications/"+code, nil)
	if a.status != http.StatusOK {
		t.Fatalf("status of %s: %d %s", code, a.status, a.raw)
	}
	return a.body
}

// TestReviewAuthorizationMatrix: every review route × every kind of
// caller, on an application (and the school) of school A. Refusals carry
// no application data.
func TestReviewAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	callers := []*client{
		s.anonymous(t),
		s.signIn(t, "school-"+schoolA),
		s.signIn(t, "school-"+s.schoolB.SchoolCode),
		s.signIn(t, "ward-00004"),
		s.signIn(t, "ward-"+s.schoolB.Ward),
		s.signIn(t, "admin"),
	}
	// Expected statuses, in the order of callers.
	type route struct {
		name   string
		want   [6]int
		method string
		path   func(code string) string
		body   func() any
	}
	fresh := func() string { code, _ := s.stored(t, schoolA); return code }
	routes := []route{
		{"list", [6]int{401, 200, 403, 200, 403, 200}, "GET", func(string) string { return "/api/v1/schools/" + schoolA + "/applications" }, nil},
		{"file", [6]int{401, 200, 404, 200, 404, 200}, "GET", func(c string) string { return "/api/v1/applications/" + c + "/review" }, nil},
		{"decide", [6]int{401, 200, 404, 200, 404, 200}, "POST", func(c string) string { return "/api/v1/applications/" + c + "/review" },
			func() any { return map[string]string{"decision": "accept"} }},
		{"direct", [6]int{401, 201, 403, 201, 403, 201}, "POST", func(string) string { return "/api/v1/schools/" + schoolA + "/applications" },
			func() any { return s.form(schoolA) }},
		// The parent's correction: the code is the key, whoever sends it;
		// a received application is not returned.
		{"correct", [6]int{409, 409, 409, 409, 409, 409}, "PUT", func(c string) string { return "/api/v1/applications/" + c },
			func() any { return s.form(schoolA) }},
	}
	for _, r := range routes {
		for i, c := range callers {
			code, f := s.stored(t, schoolA)
			var body any
			if r.body != nil {
				body = r.body()
			}
			a := s.do(t, c, r.method, r.path(code), body)
			if a.status != r.want[i] {
				t.Errorf("%s by %s: %d %s, want %d", r.name, c.name, a.status, a.raw, r.want[i])
			}
			if a.status >= 400 {
				raw := string(a.raw)
				for _, secret := range []string{f.Child.FullName, f.Child.IDNumber, f.Guardian.Phone, "tracking_code", "choices"} {
					if strings.Contains(raw, secret) {
						t.Errorf("%s by %s: refusal %s carries %q", r.name, c.name, raw, secret)
					}
				}
				other := strings.ReplaceAll(raw, code, "")
				for _, known := range []string{fresh()} {
					if strings.Contains(other, known) {
						t.Errorf("%s by %s: refusal names another code", r.name, c.name)
					}
				}
			}
		}
	}
	// Out of scope is the same answer as a code nobody has.
	b := callers[2]
	unknown := s.do(t, b, "GET", "/api/v1/applications/0000000000000000000Z/review", nil)
	code, _ := s.stored(t, schoolA)
	hidden := s.do(t, b, "GET", "/api/v1/applications/"+code+"/review", nil)
	if unknown.status != hidden.status || string(unknown.raw) != string(hidden.raw) {
		t.Errorf("another school's application answers %d %s, an unknown code %d %s: want the same", hidden.status, hidden.raw, unknown.status, unknown.raw)
	}
	// School B is the second choice: B lists the applicant but may not
	// open the file.
	code, _ = s.stored(t, schoolA, s.schoolB.SchoolCode)
	list := s.do(t, b, "GET", "/api/v1/schools/"+s.schoolB.SchoolCode+"/applications?q="+code, nil)
	if list.status != 200 || list.body["total"] != 1.0 {
		t.Errorf("school B's list: %d %s, want the applicant who named it second", list.status, list.raw)
	}
	if a := s.do(t, b, "GET", "/api/v1/applications/"+code+"/review", nil); a.status != 404 {
		t.Errorf("school B opens a file whose first choice is A: %d", a.status)
	}
}

// TestReviewNeedsCSRF: a decision without the session's token is refused
// and changes nothing.
func TestReviewNeedsCSRF(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	c := s.signIn(t, "school-"+schoolA)
	code, _ := s.stored(t, schoolA)
	noToken := &client{http: c.http, name: c.name}
	if a := s.do(t, noToken, "POST", "/api/v1/applications/"+code+"/review", map[string]string{"decision": "accept"}); a.status != 403 {
		t.Errorf("decision without CSRF token: %d, want 403", a.status)
	}
	if st := s.status(t, code)["status"]; st != "received" {
		t.Errorf("status after a refused decision = %v, want received", st)
	}
}

// TestReturnCorrectAccept: the clerk returns a file with a reason, the
// parent sees it at once, corrects and resubmits; the clerk accepts; the
// history holds it all.
func TestReturnCorrectAccept(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	clerk := s.signIn(t, "school-"+schoolA)
	f := s.form(schoolA)
	code := s.submit(t, f)
	path := "/api/v1/applications/" + code
	if a := s.do(t, clerk, "POST", path+"/review", map[string]string{"decision": "return"}); a.status != 422 {
		t.Errorf("return without a reason: %d, want 422", a.status)
	}
	a := s.do(t, clerk, "POST", path+"/review", map[string]string{"decision": "return", "reason": "Thiếu giấy xác nhận cư trú"})
	if a.status != 200 || a.body["status"] != "returned" {
		t.Fatalf("return: %d %s", a.status, a.raw)
	}
	// The Redis status document (received) is still within its grace.
	st := s.status(t, code)
	if st["status"] != "returned" || st["return_reason"] != "Thiếu giấy xác nhận cư trú" {
		t.Errorf("parent sees %v, want returned with the reason", st)
	}
	if a := s.do(t, clerk, "POST", path+"/review", map[string]string{"decision": "accept"}); a.status != 409 {
		t.Errorf("accepting a returned file: %d, want 409", a.status)
	}
	parent := s.anonymous(t)
	other := *f
	other.Child.IDNumber = s.form().Child.IDNumber
	if a := s.do(t, parent, "PUT", path, &other); a.status != 422 {
		t.Errorf("correction with another child's ID number: %d %s, want 422", a.status, a.raw)
	}
	bad := *f
	bad.Guardian.Phone = "12"
	if a := s.do(t, parent, "PUT", path, &bad); a.status != 422 {
		t.Errorf("correction with a bad phone: %d, want 422", a.status)
	}
	fixed := *f
	fixed.Residence.Current.Address = "14 Quán Thánh"
	a = s.do(t, parent, "PUT", path, &fixed)
	if a.status != 200 || a.body["status"] != "received" {
		t.Fatalf("correction: %d %s", a.status, a.raw)
	}
	if a := s.do(t, parent, "PUT", path, &fixed); a.status != 409 {
		t.Errorf("correcting a received application: %d, want 409", a.status)
	}
	if a := s.do(t, clerk, "POST", path+"/review", map[string]string{"decision": "accept"}); a.status != 200 {
		t.Fatalf("accept: %d %s", a.status, a.raw)
	}
	if st := s.status(t, code); st["status"] != "accepted" || st["return_reason"] != nil {
		t.Errorf("parent sees %v, want accepted without a reason", st)
	}
	file := s.do(t, clerk, "GET", path+"/review", nil)
	hist, _ := file.body["history"].([]any)
	var moves []string
	for _, e := range hist {
		m := e.(map[string]any)
		moves = append(moves, m["from"].(string)+">"+m["to"].(string)+":"+m["actor_role"].(string))
	}
	if got := strings.Join(moves, " "); got != "received>returned:school returned>received:parent received>accepted:school" {
		t.Errorf("history = %s", got)
	}
	if res := file.body["residence"].(map[string]any)["current"].(map[string]any)["address"]; res != "14 Quán Thánh" {
		t.Errorf("file after correction: address %v", res)
	}
	if g := file.body["guardian"].(map[string]any); g["phone"] != "0912345678" {
		t.Errorf("file lacks the guardian: %v", g)
	}

	// Once the window has closed, a returned file cannot be corrected.
	code2, f2 := s.stored(t, schoolA)
	if a := s.do(t, clerk, "POST", "/api/v1/applications/"+code2+"/review", map[string]string{"decision": "return", "reason": "Sai ngày sinh"}); a.status != 200 {
		t.Fatal(a.status)
	}
	s.now.Store(s.window.ClosesAt.Add(time.Hour).UnixNano())
	if a := s.do(t, parent, "PUT", "/api/v1/applications/"+code2, f2); a.status != 403 {
		t.Errorf("correction after the window: %d %s, want 403", a.status, a.raw)
	}
}

// TestVoidFreesChildThroughIntake: a voided application answers voided,
// and the same child's new online registration is taken and stored.
func TestVoidFreesChildThroughIntake(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	officer := s.signIn(t, "ward-00004")
	f := s.form(schoolA)
	code := s.submit(t, f)
	again := *f
	again.Guardian.FullName = "Nguyễn Văn Bình"
	again.Guardian.Relation = "father"
	if a := s.do(t, s.anonymous(t), "POST", "/api/v1/applications", &again); a.status != 409 {
		t.Fatalf("second registration before the void: %d, want 409", a.status)
	}
	if a := s.do(t, officer, "POST", "/api/v1/applications/"+code+"/review", map[string]string{"decision": "void"}); a.status != 422 {
		t.Errorf("void without a reason: %d, want 422", a.status)
	}
	a := s.do(t, officer, "POST", "/api/v1/applications/"+code+"/review", map[string]string{"decision": "void", "reason": "Người đăng ký không phải người giám hộ của trẻ"})
	if a.status != 200 || a.body["status"] != "voided" {
		t.Fatalf("void: %d %s", a.status, a.raw)
	}
	if st := s.status(t, code)["status"]; st != "voided" {
		t.Errorf("voided code answers %v", st)
	}
	code2 := s.submit(t, &again)
	if code2 == code {
		t.Fatal("the new registration got the voided code")
	}
	if st := s.status(t, code2)["status"]; st != "received" {
		t.Errorf("new registration answers %v, want received", st)
	}
	if a := s.do(t, officer, "POST", "/api/v1/applications/"+code+"/review", map[string]string{"decision": "void", "reason": "lại"}); a.status != 409 {
		t.Errorf("voiding twice: %d, want 409", a.status)
	}
	if a := s.do(t, officer, "GET", "/api/v1/applications/"+code+"/review", nil); a.status != 200 || a.body["status"] != "voided" {
		t.Errorf("the voided file is no longer in the history: %d", a.status)
	}
}

// TestDecisionsAtOnce: two staff deciding one file at once: one 200, one
// 409.
func TestDecisionsAtOnce(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	clerk, officer := s.signIn(t, "school-"+schoolA), s.signIn(t, "ward-00004")
	for range 5 {
		code, _ := s.stored(t, schoolA)
		var wg sync.WaitGroup
		got := make([]int, 2)
		start := make(chan struct{})
		for i, c := range []*client{clerk, officer} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				got[i] = s.do(t, c, "POST", "/api/v1/applications/"+code+"/review", map[string]string{"decision": []string{"accept", "return"}[i], "reason": "x"}).status
			}()
		}
		close(start)
		wg.Wait()
		if !(got[0] == 200 && got[1] == 409 || got[0] == 409 && got[1] == 200) {
			t.Errorf("two decisions at once: %v, want one 200 and one 409", got)
		}
	}
}

// TestDirectRegistration: 201 with source direct after the window; a
// second registration of the child is 409, with the existing code only
// for staff who cover it; the school must be among the choices.
func TestDirectRegistration(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	clerk := s.signIn(t, "school-"+schoolA)
	s.now.Store(s.window.ClosesAt.Add(24 * time.Hour).UnixNano())
	path := "/api/v1/schools/" + schoolA + "/applications"
	f := s.form(schoolA, s.schoolB.SchoolCode)
	a := s.do(t, clerk, "POST", path, f)
	if a.status != 201 || a.body["status"] != "received" || a.body["source"] != "direct" {
		t.Fatalf("direct registration: %d %s", a.status, a.raw)
	}
	code := a.body["tracking_code"].(string)
	if st := s.status(t, code)["status"]; st != "received" {
		t.Errorf("status %v, want received", st)
	}
	file := s.do(t, clerk, "GET", "/api/v1/applications/"+code+"/review", nil)
	if file.body["source"] != "direct" {
		t.Errorf("file source %v", file.body["source"])
	}
	dup := s.do(t, clerk, "POST", path, f)
	if dup.status != 409 || dup.body["error"].(map[string]any)["tracking_code"] != code {
		t.Errorf("duplicate by the school in scope: %d %s, want 409 with %s", dup.status, dup.raw, code)
	}
	clerkB := s.signIn(t, "school-"+s.schoolB.SchoolCode)
	dupB := s.do(t, clerkB, "POST", "/api/v1/schools/"+s.schoolB.SchoolCode+"/applications", f)
	if dupB.status != 409 || strings.Contains(string(dupB.raw), code) {
		t.Errorf("duplicate by a school not reviewing the file: %d %s, want 409 without the code", dupB.status, dupB.raw)
	}
	if a := s.do(t, clerk, "POST", path, s.form(s.schoolB.SchoolCode)); a.status != 422 {
		t.Errorf("school not among the choices: %d, want 422", a.status)
	}
	noWindow := s.form(schoolA)
	noWindow.SchoolYear += 5
	if a := s.do(t, clerk, "POST", path, noWindow); a.status != 422 {
		t.Errorf("a year without a window: %d, want 422", a.status)
	}
}

// TestApplicantListAPI: filters and search through the route, and bad
// parameters are 400.
func TestApplicantListAPI(t *testing.T) {
	t.Parallel()
	s := newReviewSite(t)
	clerk := s.signIn(t, "school-"+schoolA)
	code, _ := s.stored(t, schoolA)
	s.stored(t, schoolA)
	base := "/api/v1/schools/" + schoolA + "/applications"
	a := s.do(t, clerk, "GET", base+"?q=nguyen+thi+mai&level=lop1&status=received&category=dt1&priority=0&page=1&per_page=1", nil)
	if a.status != 200 || a.body["total"] != 2.0 || a.body["per_page"] != 1.0 || len(a.body["applications"].([]any)) != 1 {
		t.Fatalf("list: %d %s", a.status, a.raw)
	}
	row := a.body["applications"].([]any)[0].(map[string]any)
	for _, k := range []string{"tracking_code", "status", "level", "school_year", "child_name", "date_of_birth", "sex", "residence_category", "priority_group", "choices", "choice_rank", "submitted_at"} {
		if _, ok := row[k]; !ok {
			t.Errorf("row lacks %s: %v", k, row)
		}
	}
	if a := s.do(t, clerk, "GET", base+"?q="+strings.ToLower(code), nil); a.body["total"] != 1.0 {
		t.Errorf("search by code: %s", a.raw)
	}
	for _, q := range []string{"level=lop9", "status=nope", "category=dt5", "priority=7", "page=0", "per_page=x"} {
		if a := s.do(t, clerk, "GET", base+"?"+q, nil); a.status != 400 {
			t.Errorf("%s: %d, want 400", q, a.status)
		}
	}
}
