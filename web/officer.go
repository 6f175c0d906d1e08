package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
)

// The officers' pages (issue 9), Vietnamese first: the live dashboard, the
// quota and catchment editor per school (a table, no map, with ward and
// residential-group pickers), a school's audit trail and the placement
// policy editor. They are rendered on the server for each request and
// need no script: forms post with the session's CSRF token in a hidden
// field, and the dashboard reloads itself every few seconds. They call
// the same store methods as the JSON API, with the same rules.

//go:embed pages/officer/*.html
var officerFiles embed.FS

//go:embed pages/officer/officer.css
var officerCSS []byte

// officerTemplates returns each officer page parsed with each layout (the
// page infrastructure's base.html and layouts, pages.go) and the charts,
// the runs pages too; parsed on first use, as the pages' are.
var officerTemplates = sync.OnceValue(func() map[string]*template.Template {
	funcs := template.FuncMap{}
	for k, v := range templateFuncs {
		funcs[k] = v
	}
	extra := template.FuncMap{
		"join":     strings.Join,
		"f1":       func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
		"f2":       func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) },
		"hasGroup": func(z map[string]map[string]bool, ward, group string) bool { return z[ward][group] },
		"whole":    func(z map[string]map[string]bool, ward string) bool { g, ok := z[ward]; return ok && len(g) == 0 },
		"inZone":   func(z map[string]map[string]bool, ward string) bool { _, ok := z[ward]; return ok },
		"raw":      func(b []byte) string { return string(b) },
		"inc":      func(n int) int { return n + 1 },
		"dec":      func(n int) int { return n - 1 },
	}
	for k, v := range extra {
		funcs[k] = v
	}
	out := map[string]*template.Template{}
	for _, name := range []string{"dashboard", "schools", "school", "policy"} {
		for _, l := range []layout{layoutPublic, layoutSchool, layoutOfficer} {
			t := template.Must(template.New(name).Funcs(funcs).ParseFS(pageFiles, "pages/base.html", "pages/"+string(l)))
			out[templateKey(l, name)] = template.Must(t.ParseFS(officerFiles, "pages/officer/chart.html", "pages/officer/"+name+".html"))
		}
	}
	addRunTemplates(out)
	return out
})

// officerPage is an officer page's own data (pageData.Data).
type officerPage struct {
	Title string
	Nav   string // the current section: dashboard, schools, policy
	// Error is a refusal of the form just sent, shown above the form.
	Error *enrollment.Error
	// Refresh, when set, reloads the page every so many seconds (the
	// Refresh header: the layout's head is shared, and no script runs).
	Refresh int
	Data    any
}

// officerNav is the officers' sections, after the links of the staff
// layout (the schools' pages).
func officerNav(u staff.User, current string, year int) []navLink {
	if u.Role == staff.RoleSchool {
		return []navLink{{Href: "/officer/truong", Label: "Chỉ tiêu & tuyến", Current: current == "schools"}}
	}
	authority := u.Scope
	if u.Role == staff.RoleCity {
		authority = "HN"
	}
	return []navLink{
		{Href: "/officer/dashboard", Label: "Theo dõi trực tiếp", Current: current == "dashboard"},
		{Href: "/officer/truong", Label: "Chỉ tiêu & tuyến", Current: current == "schools"},
		{Href: fmt.Sprintf("/officer/chinh-sach/%s/lop1/%d", url.PathEscape(authority), year), Label: "Chính sách xét tuyển", Current: current == "policy"},
		{Href: runsPath, Label: "Phân tuyến", Current: current == "runs"},
	}
}

func (s *server) officerRender(c echo.Context, status int, name string, p officerPage) error {
	ctx := c.Request().Context()
	pd := &pageData{Title: p.Title, Path: c.Request().URL.Path, Data: p}
	if u, ok := staffUser(c); ok {
		c.Set(csrfKey, csrfToken(s.sessions.GetBytes(ctx, sessionCSRF)))
		fillStaffChrome(c, pd, &u)
		_, year := s.pageLevelYear(c)
		pd.Nav = append(officerNav(u, p.Nav, year), pd.Nav...)
		if raw := s.sessions.PopString(ctx, sessionFlash); raw != "" {
			var f flash
			if json.Unmarshal([]byte(raw), &f) == nil {
				pd.Flash = &f
			}
		}
	}
	if p.Refresh > 0 {
		c.Response().Header().Set("Refresh", strconv.Itoa(p.Refresh))
	}
	t := officerTemplates()[templateKey(pd.Layout, name)]
	if pd.Layout == "" {
		pd.Layout, pd.Home, pd.Kicker = layoutPublic, "/", "Dành cho cán bộ · Staff"
		pd.Nav = publicNav(pd.Path)
		t = officerTemplates()[templateKey(layoutPublic, name)]
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pd); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// officerOnly sends a browser without a staff session to the sign-in page.
func (s *server) officerOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := staffUser(c); !ok {
			if c.Request().Method != http.MethodGet {
				return errUnauthorized
			}
			return seeOther(c, signInPath+"?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		return next(c)
	}
}

func (s *server) officerPages(e *echo.Echo) {
	e.GET("/officer/officer.css", func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=300")
		return c.Blob(http.StatusOK, "text/css; charset=utf-8", officerCSS)
	})
	pub := []echo.MiddlewareFunc{noStore, s.session, s.authenticate}
	// One sign-in page for all staff: the officers' old address leads there.
	e.GET("/officer/dang-nhap", func(c echo.Context) error {
		return seeOther(c, signInPath+"?next="+url.QueryEscape(safeNext(c.QueryParam("next"))))
	}, pub...)
	mw := []echo.MiddlewareFunc{noStore, s.session, s.authenticate, s.officerOnly, s.checkCSRF}
	e.GET("/officer", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/officer/dashboard") }, mw...)
	e.GET("/officer/dashboard", s.officerDashboardPage, mw...)
	e.GET("/officer/truong", s.quotaSchoolsPage, mw...)
	e.GET("/officer/truong/:code/:level/:year", s.schoolPage, mw...)
	e.POST("/officer/truong/:code/:level/:year/chi-tieu", s.quotaForm, mw...)
	e.POST("/officer/truong/:code/:level/:year/tuyen", s.catchmentForm, mw...)
	e.POST("/officer/sao-chep-tuyen", s.copyForm, mw...)
	e.GET("/officer/chinh-sach/:authority/:level/:year", s.policyPage, mw...)
	e.POST("/officer/chinh-sach/:authority/:level/:year", s.policyForm, mw...)
	s.officerRunRoutes(e, mw)
}

// dashboardView is the dashboard page's data.
type dashboardView struct {
	D                      *dashboard
	Hourly, Wards, Demand  chart
	LevelColors            map[enrollment.Level]string
	Levels                 []enrollment.Level
	Query                  string
	TotalSince, TotalHours int
	Refresh                int // seconds between reloads; 0: none
}

func (s *server) officerDashboardPage(c echo.Context) error {
	d, err := s.buildDashboard(c)
	if err != nil {
		var e *enrollment.Error
		if errors.As(err, &e) {
			return s.officerRender(c, statusOf[e.Code], "dashboard", officerPage{Title: "Theo dõi tuyển sinh · Live dashboard", Nav: "dashboard", Error: e})
		}
		return err
	}
	v := dashboardView{D: d, Hourly: hourlyChart(d), Wards: wardChart(d), Demand: demandChart(d), LevelColors: levelColors, Levels: enrollment.Levels}
	for _, w := range d.PerWard {
		v.TotalSince += w.Count
	}
	// ?refresh=N reloads every N seconds (2 to 300) instead, 0 never:
	// for reading the page at leisure.
	refresh := dashboardRefresh
	if r, err := strconv.Atoi(c.QueryParam("refresh")); err == nil && (r == 0 || (r >= 2 && r <= 300)) {
		refresh = r
	}
	v.Refresh = refresh
	return s.officerRender(c, http.StatusOK, "dashboard", officerPage{Title: "Theo dõi tuyển sinh · Live dashboard", Nav: "dashboard",
		Refresh: refresh, Data: v})
}

// schoolsView is the data of the quota table.
type schoolsView struct {
	Level    enrollment.Level
	Year     int
	Levels   []enrollment.Level
	Offers   []postgres.SchoolOffer
	CanEdit  bool
	WardName map[string]string
}

func (s *server) pageLevelYear(c echo.Context) (enrollment.Level, int) {
	level := enrollment.Level(c.QueryParam("level"))
	if !level.Valid() {
		level = enrollment.LevelLop1
	}
	year, err := strconv.Atoi(c.QueryParam("school_year"))
	if err != nil || year < 2000 || year > 2100 {
		year = 0
		if w, ok := s.Catalog().CurrentWindow(level, s.NowFunc()); ok {
			year = w.SchoolYear
		}
		for _, w := range s.Catalog().Windows() {
			if year == 0 && w.Level == level {
				year = w.SchoolYear
			}
		}
		if year == 0 {
			year = s.NowFunc().Year()
		}
	}
	return level, year
}

func (s *server) quotaSchoolsPage(c echo.Context) error {
	u, _ := staffUser(c)
	level, year := s.pageLevelYear(c)
	list, err := s.DB.Offers(c.Request().Context(), level, year, areaOf(u))
	if err != nil {
		return s.storeError(err, "offers not loaded")
	}
	names := map[string]string{}
	for _, w := range s.Catalog().Wards() {
		names[w.Code] = w.Name
	}
	return s.officerRender(c, http.StatusOK, "schools", officerPage{Title: "Chỉ tiêu và tuyến tuyển sinh · Quotas and catchments", Nav: "schools",
		Data: schoolsView{Level: level, Year: year, Levels: enrollment.Levels, Offers: list, CanEdit: u.Role != staff.RoleSchool, WardName: names}})
}

// schoolView is the data of one school's page.
type schoolView struct {
	Offer   postgres.SchoolOffer
	Wards   []enrollment.Ward
	Zones   map[string]map[string]bool // ward → groups chosen (empty: the whole ward)
	Events  []postgres.RefEvent
	CanEdit bool
}

func (s *server) schoolPage(c echo.Context) error {
	return s.renderSchool(c, http.StatusOK, nil)
}

func (s *server) renderSchool(c echo.Context, status int, failure *enrollment.Error) error {
	if err := s.authorizeSchool(c, c.Param("code")); err != nil {
		return err
	}
	u, _ := staffUser(c)
	k, err := s.offerKey(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	o, err := s.DB.Offer(ctx, k)
	if err != nil {
		return s.storeError(err, "offer not loaded")
	}
	events, err := s.DB.SchoolEvents(ctx, k.School, 50)
	if err != nil {
		return s.storeError(err, "reference events not loaded")
	}
	zones := map[string]map[string]bool{}
	for _, z := range o.Catchment {
		zones[z.Ward] = map[string]bool{}
		for _, g := range z.Groups {
			zones[z.Ward][g] = true
		}
	}
	return s.officerRender(c, status, "school", officerPage{Title: o.Name + " · " + o.Level.NameVI(), Nav: "schools", Error: failure,
		Data: schoolView{Offer: o, Wards: s.Catalog().Wards(), Zones: zones, Events: events, CanEdit: u.Role != staff.RoleSchool}})
}

// formFailure shows a refused form's reasons on the page it came from;
// other errors go to the error handler.
func (s *server) formFailure(c echo.Context, err error, render func(*enrollment.Error) error) error {
	var e *enrollment.Error
	if errors.As(err, &e) && e.Code != enrollment.CodeUnauthorized {
		return render(e)
	}
	return err
}

func (s *server) schoolPath(k postgres.OfferKey) string {
	return fmt.Sprintf("/officer/truong/%s/%s/%d", url.PathEscape(k.School), k.Level, k.Year)
}

func (s *server) quotaForm(c echo.Context) error {
	u, err := s.editSchool(c, c.Param("code"))
	if err != nil {
		return err
	}
	k, err := s.offerKey(c)
	if err != nil {
		return err
	}
	back := c.FormValue("back")
	fail := func(e *enrollment.Error) error {
		s.setFlash(c, flash{Kind: "error", Message: "Không lưu được chỉ tiêu của " + k.School + ": " + e.Message})
		return c.Redirect(http.StatusSeeOther, officerBack(back, s.schoolPath(k)))
	}
	n, convErr := strconv.Atoi(strings.TrimSpace(c.FormValue("quota")))
	if convErr != nil {
		return fail(invalidField("quota", "Chỉ tiêu phải là một số nguyên", "quota must be a whole number"))
	}
	if err := checkQuota(&n); err != nil {
		return s.formFailure(c, err, fail)
	}
	o, err := s.DB.SetQuota(c.Request().Context(), k, n, actorOf(u))
	if err != nil {
		return s.formFailure(c, s.storeError(err, "quota not stored"), fail)
	}
	s.refreshCatalog(c.Request().Context())
	s.setFlash(c, flash{Kind: "ok", Message: fmt.Sprintf("Đã lưu chỉ tiêu %s của %s: %d", o.Level.NameVI(), o.Name, o.Quota)})
	return c.Redirect(http.StatusSeeOther, officerBack(back, s.schoolPath(k)))
}

// officerBack is where a form returns to: the page it names, if one of
// ours, else def.
func officerBack(back, def string) string {
	if strings.HasPrefix(back, "/officer/") && !strings.HasPrefix(back, "//") && !strings.Contains(back, "\\") {
		return back
	}
	return def
}

func (s *server) catchmentForm(c echo.Context) error {
	u, err := s.editSchool(c, c.Param("code"))
	if err != nil {
		return err
	}
	k, err := s.offerKey(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return enrollment.Errorf(enrollment.CodeBadRequest, "Không đọc được biểu mẫu", "cannot read the form")
	}
	// "ward" names a whole ward; "group" is "<ward>|<group>".
	byWard := map[string][]string{}
	var order []string
	add := func(w string) {
		if _, ok := byWard[w]; !ok {
			byWard[w] = []string{}
			order = append(order, w)
		}
	}
	for _, w := range form["ward"] {
		add(w)
	}
	whole := map[string]bool{}
	for _, w := range form["ward"] {
		whole[w] = true
	}
	for _, wg := range form["group"] {
		w, g, ok := strings.Cut(wg, "|")
		if !ok || whole[w] {
			continue
		}
		add(w)
		byWard[w] = append(byWard[w], g)
	}
	zones := make([]enrollment.Zone, 0, len(order))
	for _, w := range order {
		zones = append(zones, enrollment.Zone{Ward: w, Groups: byWard[w]})
	}
	_, err = s.DB.SetCatchment(c.Request().Context(), k, zones, actorOf(u))
	if err != nil {
		return s.formFailure(c, s.storeError(err, "catchment not stored"), func(e *enrollment.Error) error {
			return s.renderSchool(c, statusOf[e.Code], e)
		})
	}
	s.refreshCatalog(c.Request().Context())
	s.setFlash(c, flash{Kind: "ok", Message: fmt.Sprintf("Đã lưu tuyến tuyển sinh: %d phường/xã", len(zones))})
	return c.Redirect(http.StatusSeeOther, s.schoolPath(k))
}

func (s *server) copyForm(c echo.Context) error {
	u, _ := staffUser(c)
	if u.Role == staff.RoleSchool {
		return errClerkReadOnly
	}
	level, from, err := levelYear(c.FormValue("level"), c.FormValue("from_year"))
	if err != nil {
		return err
	}
	to := from + 1
	back := fmt.Sprintf("/officer/truong?level=%s&school_year=%d", level, to)
	res, err := s.DB.CopyCatchments(c.Request().Context(), level, from, to, areaOf(u), actorOf(u))
	if err != nil {
		return s.formFailure(c, s.storeError(err, "catchments not copied"), func(e *enrollment.Error) error {
			s.setFlash(c, flash{Kind: "error", Message: "Không sao chép được tuyến: " + e.Message})
			return c.Redirect(http.StatusSeeOther, back)
		})
	}
	s.refreshCatalog(c.Request().Context())
	s.sessions.Put(c.Request().Context(), sessionFlash, fmt.Sprintf("Đã sao chép tuyến năm học %d-%d sang %d-%d: %d trường thay đổi, %d giữ nguyên, %d trường được tạo chỉ tiêu",
		from, from+1, to, to+1, len(res.Copied), res.Unchanged, len(res.Created)))
	return c.Redirect(http.StatusSeeOther, back)
}

// policyView is the policy editor's data.
type policyView struct {
	Policy postgres.Policy
	Rules  string // one per line
}

func (s *server) policyPage(c echo.Context) error {
	return s.renderPolicy(c, http.StatusOK, nil, nil)
}

func (s *server) renderPolicy(c echo.Context, status int, failure *enrollment.Error, typed *postgres.Policy) error {
	code := c.Param("authority")
	if err := s.authorizeAuthority(c, code); err != nil {
		return err
	}
	level, year, err := levelYear(c.Param("level"), c.Param("year"))
	if err != nil {
		return err
	}
	p, err := s.DB.Policy(c.Request().Context(), code, level, year)
	if err != nil {
		return s.storeError(err, "policy not loaded")
	}
	if typed != nil {
		p = *typed
	}
	return s.officerRender(c, status, "policy", officerPage{Title: "Chính sách xét tuyển · Placement policy", Nav: "policy", Error: failure,
		Data: policyView{Policy: p, Rules: strings.Join(p.PriorityRules, "\n")}})
}

func (s *server) policyForm(c echo.Context) error {
	code := c.Param("authority")
	if err := s.authorizeAuthority(c, code); err != nil {
		return err
	}
	u, _ := staffUser(c)
	level, year, err := levelYear(c.Param("level"), c.Param("year"))
	if err != nil {
		return err
	}
	rules := []string{}
	for _, r := range strings.Split(c.FormValue("priority_rules"), "\n") {
		if r = strings.TrimSpace(r); r != "" {
			rules = append(rules, r)
		}
	}
	admin := c.FormValue("administrative_placement") == "on"
	b := policyBody{PriorityRules: rules, Mechanism: c.FormValue("mechanism"), TieBreak: c.FormValue("tie_break"), AdministrativePlacement: &admin}
	typed := postgres.Policy{Authority: code, Level: level, SchoolYear: year, PriorityRules: rules, Mechanism: b.Mechanism, TieBreak: b.TieBreak, AdministrativePlacement: admin}
	if err := checkPolicy(&b); err != nil {
		return s.formFailure(c, err, func(e *enrollment.Error) error { return s.renderPolicy(c, statusOf[e.Code], e, &typed) })
	}
	_, err = s.DB.SetPolicy(c.Request().Context(), postgres.Policy{Authority: code, Level: level, SchoolYear: year,
		PriorityRules: b.PriorityRules, Mechanism: b.Mechanism, TieBreak: b.TieBreak, AdministrativePlacement: *b.AdministrativePlacement}, actorOf(u))
	if err != nil {
		return s.formFailure(c, s.storeError(err, "policy not stored"), func(e *enrollment.Error) error { return s.renderPolicy(c, statusOf[e.Code], e, &typed) })
	}
	s.setFlash(c, flash{Kind: "ok", Message: "Đã lưu chính sách xét tuyển"})
	return c.Redirect(http.StatusSeeOther, c.Request().URL.Path)
}
