package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
)

// The staff pages (issue 8): server-rendered, Vietnamese first, working
// without JavaScript. Their forms are plain HTML forms that POST to the
// page routes with the session's CSRF token in a hidden field; the
// handlers call the same code as the JSON API (signIn, applyDecision,
// direct, applicantQuery, reviewHead, authorizeSchool), so the rules exist
// once. Who sees what is the API's rule: a school's pages answer 403 to
// staff who do not cover the school, an application's file 404 to staff
// who may not review it.

// staffPages adds the staff pages' routes.
func (s *server) staffPages(e *echo.Echo) {
	open := []echo.MiddlewareFunc{noStore, s.session, s.authenticate}
	e.Match(pageMethods, signInPath, s.signInPage, open...)
	e.POST(signInPath, s.signInSubmit, noStore, sameOrigin, s.limit(RateLimit{LoginLimit, s.LoginPerMinute}), s.session)

	staffOnly := s.pageRoute()
	e.Match(pageMethods, signOutPath, s.signOutPage, staffOnly...)
	e.POST(signOutPath, s.signOutSubmit, staffOnly...)
	e.Match(pageMethods, staffHome, s.staffHomePage, staffOnly...)
	e.Match(pageMethods, schoolsPath, s.schoolsPage, staffOnly...)
	e.Match(pageMethods, schoolsPath+"/:school", s.dashboardPage, staffOnly...)
	e.Match(pageMethods, schoolsPath+"/:school/ho-so", s.applicantsPage, staffOnly...)
	e.Match(pageMethods, schoolsPath+"/:school/dang-ky", s.directPage, staffOnly...)
	e.POST(schoolsPath+"/:school/dang-ky", s.directSubmit, staffOnly...)
	e.Match(pageMethods, filePathStart+":code", s.filePage, staffOnly...)
	e.POST(filePathStart+":code/xet-duyet", s.decisionSubmit, staffOnly...)
}

// pageRoute is staffRoute for pages: a browser without a session is sent
// to the sign-in page instead of a 401.
func (s *server) pageRoute() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{noStore, s.session, s.authenticate, s.requireStaffPage, s.checkCSRF}
}

// requireStaffPage sends a GET without a staff session to the sign-in
// page, which comes back here after; other methods get the 401 page. For
// signed-in staff it makes a CSRF token for the forms of the page.
func (s *server) requireStaffPage(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := staffUser(c); !ok {
			r := c.Request()
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				return c.Redirect(http.StatusSeeOther, signInPath+"?next="+url.QueryEscape(r.URL.RequestURI()))
			}
			return errUnauthorized
		}
		c.Set(csrfKey, csrfToken(s.sessions.GetBytes(c.Request().Context(), sessionCSRF)))
		return next(c)
	}
}

// sameOrigin refuses a form posted from another site's page: without it,
// a page elsewhere could sign a clerk's browser into an account of the
// attacker's choosing. Browsers say where a request comes from in
// Sec-Fetch-Site; older ones in Origin, which is "null" under our
// Referrer-Policy (no-referrer) and so tells nothing then. A client that
// sends neither is no browser, and has no session to confuse.
func sameOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch r.Header.Get("Sec-Fetch-Site") {
		case "cross-site", "same-site":
			return errCSRF
		case "same-origin", "none":
			return next(c)
		}
		if o := r.Header.Get("Origin"); o != "" && o != "null" {
			u, err := url.Parse(o)
			if err != nil || u.Host != r.Host {
				return errCSRF
			}
		}
		return next(c)
	}
}

// staffPage is the pageData of a staff page for the signed-in user, with
// the flash left by the previous request.
func (s *server) staffPage(c echo.Context, title string, school *schoolRef, data any) *pageData {
	u, _ := staffUser(c)
	pd := &pageData{Title: title + " · Tuyển sinh", Path: c.Request().URL.Path, School: school, Data: data}
	fillStaffChrome(c, pd, &u)
	if f, ok := c.Get(pageFlashKey).(*flash); ok {
		pd.Flash = f
	} else if raw := s.sessions.PopString(c.Request().Context(), sessionFlash); raw != "" {
		var f flash
		if json.Unmarshal([]byte(raw), &f) == nil {
			pd.Flash = &f
		}
	}
	return pd
}

// sessionFlash is the session key of the flash message.
const sessionFlash = "flash"

// setFlash keeps a message for the next page the user sees.
func (s *server) setFlash(c echo.Context, f flash) {
	b, _ := json.Marshal(f)
	s.sessions.Put(c.Request().Context(), sessionFlash, string(b))
}

// seeOther redirects after a form: the page the browser lands on can be
// reloaded without sending the form again.
func seeOther(c echo.Context, to string) error { return c.Redirect(http.StatusSeeOther, to) }

// --- signing in and out ---

// signInData is the Data of sign-in.html.
type signInData struct {
	Username string
	Next     string
	Error    *enrollment.Error
}

// safeNext returns where to go after signing in: a staff page of this
// site, never another site (an open redirect would lend our name to a
// phishing link).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		if u, err := url.Parse(next); err == nil && u.Host == "" && u.Scheme == "" && u.User == nil && path.Clean(u.Path) == u.Path {
			for _, home := range []string{staffHome, officerHome} {
				if u.Path == home || strings.HasPrefix(u.Path, home+"/") {
					return next
				}
			}
		}
	}
	return staffHome
}

// officerHome is where the officers' pages of reference data, runs and the
// live dashboard live.
const officerHome = "/officer"

func (s *server) signInPage(c echo.Context) error {
	if _, ok := staffUser(c); ok {
		return seeOther(c, safeNext(c.QueryParam("next")))
	}
	pd := &pageData{Title: "Đăng nhập cán bộ · Staff sign-in", Path: signInPath, Data: signInData{Next: safeNext(c.QueryParam("next"))}}
	if c.QueryParam("da-dang-xuat") == "1" {
		pd.Flash = &flash{Kind: "info", Message: "Bạn đã đăng xuất.", MessageEN: "You are signed out."}
	}
	return servePage(c, http.StatusOK, "sign-in.html", pd)
}

// signInSubmit is the sign-in form's POST: the same sign-in (and the same
// throttling) as POST /api/v1/session, then on to the page asked for.
func (s *server) signInSubmit(c echo.Context) error {
	cr := credentials{Username: strings.TrimSpace(c.FormValue("username")), Password: c.FormValue("password")}
	data := signInData{Username: cr.Username, Next: safeNext(c.FormValue("next"))}
	again := func(e *enrollment.Error) error {
		data.Error = e
		status, ok := statusOf[e.Code]
		if !ok {
			status = http.StatusInternalServerError
		}
		if e.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.5)))
		}
		return servePage(c, status, "sign-in.html", &pageData{Title: "Đăng nhập cán bộ · Staff sign-in", Path: signInPath, Data: data})
	}
	if cr.Username == "" || cr.Password == "" {
		return again(enrollment.Errorf(enrollment.CodeBadRequest, "Cần nhập tên đăng nhập và mật khẩu", "Enter the username and the password"))
	}
	if _, err := s.signIn(c, cr); err != nil {
		var e *enrollment.Error
		if errors.As(err, &e) {
			return again(e)
		}
		return err
	}
	return seeOther(c, data.Next)
}

func (s *server) signOutPage(c echo.Context) error {
	return servePage(c, http.StatusOK, "sign-out.html", s.staffPage(c, "Đăng xuất", nil, nil))
}

func (s *server) signOutSubmit(c echo.Context) error {
	if err := s.signOut(c); err != nil {
		return err
	}
	return seeOther(c, signInPath+"?da-dang-xuat=1")
}

// --- schools ---

// staffHomePage sends a clerk to the school's dashboard, an officer to
// the schools of the area.
func (s *server) staffHomePage(c echo.Context) error {
	u, _ := staffUser(c)
	if u.Role == staff.RoleSchool {
		return seeOther(c, schoolPath(u.Scope))
	}
	return seeOther(c, schoolsPath)
}

// schoolsData is the Data of schools.html.
type schoolsData struct {
	Schools []schoolRow
	Q       string
}

type schoolRow struct {
	Code, Name, WardName string
	Applicants           int
}

// schoolsPage is an officer's school picker: the schools of the area
// (the city: all), filtered by name or code.
func (s *server) schoolsPage(c echo.Context) error {
	u, _ := staffUser(c)
	if u.Role == staff.RoleSchool {
		return seeOther(c, schoolPath(u.Scope))
	}
	q := strings.TrimSpace(c.QueryParam("q"))
	if len([]rune(q)) > 100 {
		return badQuery("q", "Từ khóa tìm kiếm dài quá 100 ký tự", "the search text is longer than 100 characters")
	}
	list, err := s.DB.SchoolsOfArea(c.Request().Context(), u.Scope, q)
	if err != nil {
		return s.storeError(err, "schools of area not loaded")
	}
	data := schoolsData{Q: q}
	for _, sc := range list {
		data.Schools = append(data.Schools, schoolRow{Code: sc.Code, Name: sc.Name, WardName: sc.WardName, Applicants: sc.Applicants})
	}
	return servePage(c, http.StatusOK, "schools.html", s.staffPage(c, "Các trường", nil, data))
}

// school authorizes the signed-in user for the route's school and names
// it.
func (s *server) school(c echo.Context) (*schoolRef, error) {
	code := c.Param("school")
	if err := s.authorizeSchool(c, code); err != nil {
		return nil, err
	}
	name, err := s.DB.SchoolName(c.Request().Context(), code)
	if err != nil {
		return nil, s.storeError(err, "school not loaded")
	}
	return &schoolRef{Code: code, Name: name}, nil
}

// dashboardData is the Data of dashboard.html: a table of levels by
// statuses.
type dashboardData struct {
	Code     string
	Statuses []enrollment.Status
	Rows     []dashboardRow
	Totals   []int // per status, then the grand total
}

type dashboardRow struct {
	Level  enrollment.Level
	Counts []int // per status of dashboardData.Statuses, then the row's total
}

func (s *server) dashboardPage(c echo.Context) error {
	sc, err := s.school(c)
	if err != nil {
		return err
	}
	counts, err := s.DB.SchoolCounts(c.Request().Context(), sc.Code)
	if err != nil {
		return s.storeError(err, "school counts not loaded")
	}
	has := map[enrollment.Status]bool{}
	byLevel := map[enrollment.Level]map[enrollment.Status]int{}
	for _, n := range counts {
		has[n.Status] = true
		if byLevel[n.Level] == nil {
			byLevel[n.Level] = map[enrollment.Status]int{}
		}
		byLevel[n.Level][n.Status] += n.Count
	}
	d := dashboardData{Code: sc.Code}
	for _, st := range enrollment.Statuses {
		if has[st] {
			d.Statuses = append(d.Statuses, st)
		}
	}
	d.Totals = make([]int, len(d.Statuses)+1)
	for _, l := range enrollment.Levels {
		if byLevel[l] == nil {
			continue
		}
		row := dashboardRow{Level: l, Counts: make([]int, len(d.Statuses)+1)}
		for i, st := range d.Statuses {
			n := byLevel[l][st]
			row.Counts[i] = n
			row.Counts[len(d.Statuses)] += n
			d.Totals[i] += n
		}
		d.Totals[len(d.Statuses)] += row.Counts[len(d.Statuses)]
		d.Rows = append(d.Rows, row)
	}
	return servePage(c, http.StatusOK, "dashboard.html", s.staffPage(c, "Tổng quan "+sc.Name, sc, d))
}

// --- the applicant list ---

// applicantsData is the Data of applicants.html.
type applicantsData struct {
	Code     string
	Query    enrollment.ApplicantQuery
	Priority string // the priority filter as typed ("" = any)
	Page     enrollment.ApplicantPage
	Pages    int
	Prev     string // links to the previous and next pages, "" at the ends
	Next     string
	CSV      string // export links, with the same filters
	XLSX     string
	Levels   []enrollment.Level
	Statuses []enrollment.Status
	Cats     []enrollment.ResidenceCategory
	First    int // the rank of the first row shown, from 1
}

// filterValues are the list's filters as a query string: the list, its
// pages and its exports share them.
func filterValues(q enrollment.ApplicantQuery) url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("level", string(q.Level))
	set("status", string(q.Status))
	set("category", string(q.Category))
	if q.Priority != nil {
		v.Set("priority", strconv.Itoa(*q.Priority))
	}
	set("q", q.Q)
	return v
}

func (s *server) applicantsPage(c echo.Context) error {
	sc, err := s.school(c)
	if err != nil {
		return err
	}
	q, err := applicantQuery(c, sc.Code)
	if err != nil {
		return err
	}
	page, err := s.DB.Applicants(c.Request().Context(), q)
	if err != nil {
		return staffUnavailable(fmt.Errorf("applicant list of %s not loaded: %w", sc.Code, err))
	}
	d := applicantsData{Code: sc.Code, Query: q, Page: page, Levels: enrollment.Levels, Statuses: enrollment.Statuses,
		Cats:  []enrollment.ResidenceCategory{enrollment.DT1, enrollment.DT2, enrollment.DT3, enrollment.DT4},
		First: (page.Page-1)*page.PerPage + 1}
	if q.Priority != nil {
		d.Priority = strconv.Itoa(*q.Priority)
	}
	d.Pages = max(1, (page.Total+page.PerPage-1)/page.PerPage)
	filters := filterValues(q)
	link := func(p int) string {
		v := filterValues(q)
		if p > 1 {
			v.Set("page", strconv.Itoa(p))
		}
		if page.PerPage != 50 {
			v.Set("per_page", strconv.Itoa(page.PerPage))
		}
		if len(v) == 0 {
			return applicantsPath(sc.Code)
		}
		return applicantsPath(sc.Code) + "?" + v.Encode()
	}
	if page.Page > 1 {
		d.Prev = link(min(page.Page-1, d.Pages))
	}
	if page.Page < d.Pages {
		d.Next = link(page.Page + 1)
	}
	export := "/api/v1/schools/" + url.PathEscape(sc.Code) + "/applications"
	d.CSV, d.XLSX = export+".csv", export+".xlsx"
	if enc := filters.Encode(); enc != "" {
		d.CSV += "?" + enc
		d.XLSX += "?" + enc
	}
	return servePage(c, http.StatusOK, "applicants.html", s.staffPage(c, "Danh sách hồ sơ "+sc.Name, sc, d))
}

// --- an application's file ---

// fileData is the Data of file.html.
type fileData struct {
	File         enrollment.File
	Schools      map[string]string // names of the choices
	Wards        map[string]string
	CanAccept    bool
	CanReturn    bool
	CanVoid      bool
	Reason       string // the reason typed, when a decision was refused
	DecisionPath string
	SchoolCode   string // the first choice, the reviewing school
}

func (s *server) filePage(c echo.Context) error {
	return s.renderFile(c, http.StatusOK, "")
}

// renderFile shows an application's file to staff who may review it; a
// refused decision comes back here with its status, the reason typed and
// the refusal in the flash.
func (s *server) renderFile(c echo.Context, status int, reason string) error {
	h, err := s.reviewHead(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	f, err := s.DB.File(ctx, h.TrackingCode)
	if err != nil {
		return s.storeError(err, "application file not loaded")
	}
	u, _ := staffUser(c)
	role := enrollment.ActorRole(u.Role)
	can := func(to enrollment.Status) bool {
		return enrollment.CheckTransition(f.Status, to, role, "lý do") == nil
	}
	d := fileData{File: f, Schools: map[string]string{}, Wards: map[string]string{},
		CanAccept: can(enrollment.StatusAccepted), CanReturn: can(enrollment.StatusReturned), CanVoid: can(enrollment.StatusVoided),
		Reason: reason, DecisionPath: decisionPath(f.TrackingCode), SchoolCode: h.FirstChoice}
	cat := s.Catalog()
	for _, code := range f.Choices {
		if o, ok := cat.Offer(code, f.Level, f.SchoolYear); ok {
			d.Schools[code] = o.Name
		}
	}
	for _, w := range []string{f.Residence.Permanent.Ward, f.Residence.Current.Ward} {
		if ward, ok := cat.Ward(w); ok {
			d.Wards[w] = ward.Name
		}
	}
	var sc *schoolRef
	if name, ok := d.Schools[h.FirstChoice]; ok {
		sc = &schoolRef{Code: h.FirstChoice, Name: name}
	}
	pd := s.staffPage(c, "Hồ sơ "+f.TrackingCode, sc, d)
	return servePage(c, status, "file.html", pd)
}

// decisionSubmit is the file page's accept / return / void form: the
// decision of POST /api/v1/applications/{code}/review, then back to the
// file, with what was done (or why not) on top.
func (s *server) decisionSubmit(c echo.Context) error {
	d := decisionBody{Decision: c.FormValue("decision"), Reason: c.FormValue("reason")}
	h, to, err := s.applyDecision(c, d)
	if err != nil {
		var e *enrollment.Error
		if !errors.As(err, &e) || e.Code == enrollment.CodeNotFound || e.Code == enrollment.CodeUnavailable {
			return err
		}
		c.Set(pageFlashKey, &flash{Kind: "error", Message: e.Message, MessageEN: e.MessageEN})
		return s.renderFile(c, statusOf[e.Code], d.Reason)
	}
	done := map[enrollment.Status][2]string{
		enrollment.StatusAccepted: {"Đã duyệt hồ sơ", "The application is accepted"},
		enrollment.StatusReturned: {"Đã trả lại hồ sơ cho phụ huynh kèm lý do; phụ huynh thấy lý do ngay trên trang tra cứu", "The application is returned with the reason, which the parent sees at once"},
		enrollment.StatusVoided:   {"Đã hủy hồ sơ; trẻ có thể được đăng ký lại", "The application is voided; the child may be registered again"},
	}[to]
	s.setFlash(c, flash{Kind: "ok", Message: done[0], MessageEN: done[1]})
	return seeOther(c, filePath(h.TrackingCode))
}

// pageFlashKey carries a flash to the page rendered by the same request
// (a refused form shown again), where the session's is for the next one.
const pageFlashKey = "page_flash"

// --- direct registration ---

// directData is the Data of direct.html.
type directData struct {
	School   schoolRef
	Windows  []windowOption
	Window   string // the chosen window, "level:year"
	Form     enrollment.Form
	Same     bool // current residence is the permanent one
	Wards    []enrollment.Ward
	Problems map[string]string
	Error    *enrollment.Error
	Existing string // the file page of the child's existing application, on a duplicate
}

type windowOption struct {
	Value, Label string
}

// directWindows are the windows the school takes direct registrations
// for: those of the levels it offers, from the current season on.
func (s *server) directWindows(school string) []windowOption {
	cat := s.Catalog()
	now := s.NowFunc()
	var out []windowOption
	for _, w := range cat.Windows() {
		if _, ok := cat.Offer(school, w.Level, w.SchoolYear); !ok {
			continue
		}
		if w.ClosesAt.Before(now.AddDate(-1, 0, 0)) {
			continue // last year's season
		}
		out = append(out, windowOption{Value: string(w.Level) + ":" + strconv.Itoa(w.SchoolYear),
			Label: w.Level.NameVI() + " — năm học " + strconv.Itoa(w.SchoolYear) + "–" + strconv.Itoa(w.SchoolYear+1)})
	}
	return out
}

func (s *server) directPage(c echo.Context) error {
	sc, err := s.school(c)
	if err != nil {
		return err
	}
	d := directData{School: *sc, Windows: s.directWindows(sc.Code), Wards: s.Catalog().Wards(), Same: true}
	if len(d.Windows) > 0 {
		d.Window = d.Windows[0].Value
	}
	return servePage(c, http.StatusOK, "direct.html", s.staffPage(c, "Đăng ký trực tiếp", sc, d))
}

// directForm reads the direct registration form's fields into a
// registration form, as the parents' page builds its JSON.
func directForm(c echo.Context, school string) (enrollment.Form, string, bool) {
	f := enrollment.Form{}
	win := c.FormValue("window")
	if lv, y, ok := strings.Cut(win, ":"); ok {
		f.Level = enrollment.Level(lv)
		f.SchoolYear, _ = strconv.Atoi(y)
	}
	f.Child = enrollment.Child{IDNumber: c.FormValue("child.id_number"), FullName: c.FormValue("child.full_name"),
		DateOfBirth: c.FormValue("child.date_of_birth"), Sex: enrollment.Sex(c.FormValue("child.sex")),
		Ethnicity: c.FormValue("child.ethnicity"), PlaceOfBirth: c.FormValue("child.place_of_birth"),
		OverAgeReason: c.FormValue("child.over_age_reason")}
	f.Residence.Permanent = enrollment.Address{Ward: c.FormValue("residence.permanent.ward"),
		Group: c.FormValue("residence.permanent.group"), Address: c.FormValue("residence.permanent.address")}
	same := c.FormValue("same_residence") == "1"
	if same {
		f.Residence.Current = f.Residence.Permanent
	} else {
		f.Residence.Current = enrollment.Address{Ward: c.FormValue("residence.current.ward"),
			Group: c.FormValue("residence.current.group"), Address: c.FormValue("residence.current.address")}
	}
	f.Guardian = enrollment.Guardian{FullName: c.FormValue("guardian.full_name"), Relation: c.FormValue("guardian.relation"),
		IDNumber: c.FormValue("guardian.id_number"), Phone: c.FormValue("guardian.phone"), Email: c.FormValue("guardian.email")}
	f.PriorityGroup, _ = strconv.Atoi(c.FormValue("priority_group"))
	f.Choices = []string{school}
	f.Consent = c.FormValue("consent") == "1"
	return f, win, same
}

// directSubmit registers the child through the same checks and store as
// POST /api/v1/schools/{code}/applications; a refused form comes back
// with every problem at its field.
func (s *server) directSubmit(c echo.Context) error {
	sc, err := s.school(c)
	if err != nil {
		return err
	}
	form, win, same := directForm(c, sc.Code)
	res, err := s.direct(c, sc.Code, &form)
	if err == nil {
		s.setFlash(c, flash{Kind: "ok", Message: "Đã đăng ký trực tiếp hồ sơ của trẻ; mã tra cứu " + groupCode(res.TrackingCode) +
			" (đưa cho phụ huynh để tra cứu)", MessageEN: "The child is registered in person; give the parent the tracking code"})
		return seeOther(c, filePath(res.TrackingCode))
	}
	var e *enrollment.Error
	if !errors.As(err, &e) || e.Code == enrollment.CodeUnavailable {
		return err
	}
	d := directData{School: *sc, Windows: s.directWindows(sc.Code), Window: win, Form: form, Same: same,
		Wards: s.Catalog().Wards(), Problems: map[string]string{}, Error: e}
	for _, p := range e.Problems {
		if _, dup := d.Problems[p.Field]; !dup {
			d.Problems[p.Field] = p.Message
		}
		if p.Field == "level" || p.Field == "school_year" {
			d.Problems["window"] = p.Message
		}
	}
	if e.TrackingCode != "" {
		d.Existing = filePath(e.TrackingCode)
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusUnprocessableEntity
	}
	return servePage(c, status, "direct.html", s.staffPage(c, "Đăng ký trực tiếp", sc, d))
}

// groupCode writes a tracking code in groups of five, as the parents'
// pages show it (ABCDE-FGHJK-MNPQR-STVWX), to be read out or copied.
func groupCode(code string) string {
	var b strings.Builder
	for i, r := range code {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}
