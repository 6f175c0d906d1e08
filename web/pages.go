package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
)

// Pages, pkgsite's way: every page is rendered per request, into a buffer
// (so a template error is a clean 500, never half a page), from a
// template set made of one layout per audience, the parts they share
// (base.html) and the page's own "main". What a page shows comes in one
// pageData. Labels of levels and statuses come from package enrollment:
// the templates call them, and the parents' scripts read them from
// /assets/labels.js, generated from the same Go.

//go:embed openapi.yaml
var openapiYAML []byte

// static holds the stylesheets, scripts and icon the pages use.
//
//go:embed static
var static embed.FS

// pageFiles holds the layouts, their shared parts and each page's main
// content.
//
//go:embed pages/*.html
var pageFiles embed.FS

// layout is a page's audience, and the template file that frames its
// pages: the public (parents), a school's clerk, the officers of an
// authority or of the city.
type layout string

// The layouts.
const (
	layoutPublic  layout = "layout.html"
	layoutSchool  layout = "layout-school.html"
	layoutOfficer layout = "layout-officer.html"
)

// Paths of the staff pages.
const (
	staffHome     = "/can-bo"
	signInPath    = "/can-bo/dang-nhap"
	signOutPath   = "/can-bo/dang-xuat"
	schoolsPath   = "/can-bo/truong"
	filePathStart = "/can-bo/ho-so/"
)

func schoolPath(code string) string       { return schoolsPath + "/" + url.PathEscape(code) }
func applicantsPath(code string) string   { return schoolPath(code) + "/ho-so" }
func directPath(code string) string       { return schoolPath(code) + "/dang-ky" }
func filePath(tracking string) string     { return filePathStart + url.PathEscape(tracking) }
func decisionPath(tracking string) string { return filePath(tracking) + "/xet-duyet" }

// csrfKey is where requireStaffPage leaves a CSRF token for the page's
// forms (error pages included).
const csrfKey = "page_csrf"

// fillStaffChrome sets what the staff layouts show of the user: the
// layout of the role, the navigation, the staff bar with its sign-out
// form.
func fillStaffChrome(c echo.Context, pd *pageData, u *staff.User) {
	pd.User = u
	pd.Layout = layoutOf(u)
	pd.Home = staffHome
	pd.Kicker = "Dành cho cán bộ · Staff"
	if tok, ok := c.Get(csrfKey).(string); ok {
		pd.CSRF = tok
	}
	var links []navLink
	school := ""
	if u.Role == staff.RoleSchool {
		school = u.Scope
	} else {
		links = append(links, navLink{Href: schoolsPath, Label: "Các trường"})
		if pd.School != nil {
			school = pd.School.Code
		}
	}
	if school != "" {
		links = append(links,
			navLink{Href: schoolPath(school), Label: "Tổng quan"},
			navLink{Href: applicantsPath(school), Label: "Danh sách hồ sơ"},
			navLink{Href: directPath(school), Label: "Đăng ký trực tiếp"})
	}
	for i := range links {
		links[i].Current = links[i].Href == pd.Path
	}
	pd.Nav = links
}

// layoutOf is the layout of a staff user's pages.
func layoutOf(u *staff.User) layout {
	switch {
	case u == nil:
		return layoutPublic
	case u.Role == staff.RoleSchool:
		return layoutSchool
	default:
		return layoutOfficer
	}
}

// pageData is everything a page's templates see.
type pageData struct {
	Title       string
	Description string
	Path        string // the path served; marks the current link of the nav
	Layout      layout
	Home        string // where the brand links to: / or the staff's home
	Kicker      string // the line above the brand's title
	Nav         []navLink
	User        *staff.User // the staff signed in; nil on public pages
	CSRF        string      // a CSRF token of the session, for the forms' hidden field
	Flash       *flash      // what the last action did, shown once
	Scripts     []string    // besides labels.js and common.js, which every page loads
	School      *schoolRef  // the school an officer is looking at
	Data        any         // the page's own
}

// navLink is one link of a layout's navigation.
type navLink struct {
	Href, Label string
	Current     bool
}

// flash is a message about what the previous request did, kept in the
// session across a redirect and shown once.
type flash struct {
	Kind      string // ok, info, warn or error: the notice's colour
	Message   string
	MessageEN string
}

// schoolRef names a school on a staff page.
type schoolRef struct {
	Code, Name string
}

// templateFuncs are the functions the templates may call: labels come
// from Go, once.
var templateFuncs = template.FuncMap{
	"levelName":   func(l enrollment.Level) string { return l.NameVI() },
	"levelNameEN": func(l enrollment.Level) string { return l.NameEN() },
	"statusLabel": func(st enrollment.Status) string { vi, _ := st.Label(); return vi },
	"statusLabelEN": func(st enrollment.Status) string {
		_, en := st.Label()
		return en
	},
	"statusText":   func(st enrollment.Status) string { vi, _ := st.Text(); return vi },
	"statusTextEN": func(st enrollment.Status) string { _, en := st.Text(); return en },
	"categoryLabel": func(c enrollment.ResidenceCategory) string {
		vi, _ := c.Label()
		return vi
	},
	"badge":     statusBadge,
	"roleLabel": roleLabel,
	"vnTime":    vnTime,
	"vnDate":    vnDate,
	"add":       func(a, b int) int { return a + b },
	"sexLabel": func(x enrollment.Sex) string {
		switch x {
		case enrollment.Male:
			return "Nam"
		case enrollment.Female:
			return "Nữ"
		}
		return string(x)
	},
	"relationLabel": relationLabel,
	"relations":     func() []string { return enrollment.Relations },
	"actorLabel": func(r string) string {
		if r == string(enrollment.ActorParent) {
			return "phụ huynh"
		}
		return roleLabel(staff.Role(r))
	},
}

// relationLabel names a guardian's relation to the child in Vietnamese.
func relationLabel(r string) string {
	switch r {
	case "father":
		return "cha"
	case "mother":
		return "mẹ"
	case "grandparent":
		return "ông/bà"
	case "sibling":
		return "anh/chị"
	case "guardian":
		return "người giám hộ"
	case "other":
		return "khác"
	}
	return r
}

// statusBadge is the badge class of a status: green when the application
// goes on, amber when someone must act, grey when it has ended.
func statusBadge(st enrollment.Status) string {
	switch st {
	case enrollment.StatusReceived, enrollment.StatusAccepted, enrollment.StatusPlaced, enrollment.StatusConfirmed:
		return "badge-ok"
	case enrollment.StatusReturned, enrollment.StatusDuplicate, enrollment.StatusNotStored, enrollment.StatusUnplaced:
		return "badge-warn"
	case enrollment.StatusVoided, enrollment.StatusDeclined:
		return "badge-closed"
	}
	return "badge-info"
}

// roleLabel names a staff role in Vietnamese.
func roleLabel(r staff.Role) string {
	switch r {
	case staff.RoleCity:
		return "Sở Giáo dục (toàn thành phố)"
	case staff.RoleAuthority:
		return "Cán bộ quản lý khu vực"
	case staff.RoleSchool:
		return "Cán bộ nhà trường"
	}
	return string(r)
}

// templates returns a parsed set per layout and page file, parsed on
// first use: the commands that serve no page (place, migrate, worker)
// do not pay for it at start.
var templates = sync.OnceValue(parseTemplates)

func templateKey(l layout, file string) string { return string(l) + "|" + file }

// parseTemplates parses every page with every layout. It panics on a
// broken template: the tests render every page.
func parseTemplates() map[string]*template.Template {
	files, err := fs.Glob(pageFiles, "pages/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimPrefix(f, "pages/")
		if name == "base.html" || strings.HasPrefix(name, "layout") {
			continue
		}
		for _, l := range []layout{layoutPublic, layoutSchool, layoutOfficer} {
			t := template.New(name).Funcs(templateFuncs)
			out[templateKey(l, name)] = template.Must(t.ParseFS(pageFiles, "pages/base.html", "pages/"+string(l), f))
		}
	}
	return out
}

// renderPage renders the page file in pd's layout into a buffer.
func renderPage(file string, pd *pageData) ([]byte, error) {
	if pd.Layout == "" {
		pd.Layout = layoutPublic
	}
	if pd.Home == "" {
		pd.Home = "/"
	}
	if pd.Kicker == "" {
		pd.Kicker = "Cổng thông tin tuyển sinh"
	}
	if pd.Nav == nil && pd.Layout == layoutPublic {
		pd.Nav = publicNav(pd.Path)
	}
	t, ok := templates()[templateKey(pd.Layout, file)]
	if !ok {
		return nil, fmt.Errorf("no page %s in %s", file, pd.Layout)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pd); err != nil {
		return nil, fmt.Errorf("render %s: %w", file, err)
	}
	return buf.Bytes(), nil
}

// servePage renders a page and writes it with status; a page that does
// not render is an error of ours, answered 500 by the error handler.
func servePage(c echo.Context, status int, file string, pd *pageData) error {
	body, err := renderPage(file, pd)
	if err != nil {
		return err
	}
	return c.HTMLBlob(status, body)
}

func publicNav(current string) []navLink {
	links := []navLink{{Href: "/", Label: "Trang chủ"}, {Href: "/dang-ky.html", Label: "Đăng ký"}, {Href: "/tra-cuu.html", Label: "Tra cứu hồ sơ"},
		{Href: "/ket-qua.html", Label: "Kết quả"}, {Href: "/ket-qua-cong-bo.html", Label: "Công bố"}}
	for i := range links {
		links[i].Current = links[i].Href == current
	}
	return links
}

// page is one public page, the same for everyone (its scripts fetch what
// varies from the API).
type page struct {
	Path        string   // where it is served; also marks the current link in the header
	Aliases     []string // other paths serving the same page: the address without .html
	File        string   // its file under pages/
	Title       string
	Description string
	Scripts     []string
}

var sitePages = []page{
	{Path: "/", File: "index.html", Title: "Tuyển sinh đầu cấp trực tuyến · Online school enrollment",
		Description: "Đăng ký tuyển sinh trực tuyến vào mẫu giáo 5 tuổi, lớp 1 và lớp 6; tra cứu hồ sơ bằng mã tra cứu.",
		Scripts:     []string{"/assets/home.js"}},
	{Path: "/dang-ky.html", Aliases: []string{"/dang-ky"}, File: "dang-ky.html",
		Title: "Đăng ký tuyển sinh · Register a child", Scripts: []string{"/assets/register.js"}},
	{Path: "/tra-cuu.html", Aliases: []string{"/tra-cuu"}, File: "tra-cuu.html",
		Title: "Tra cứu hồ sơ · Check an application", Scripts: []string{"/assets/status.js"}},
	{Path: "/ket-qua.html", Aliases: []string{"/ket-qua"}, File: "ket-qua.html",
		Title: "Kết quả tuyển sinh · Your child's result", Scripts: []string{"/assets/result.js"}},
	{Path: "/ket-qua-cong-bo.html", Aliases: []string{"/ket-qua-cong-bo"}, File: "ket-qua-cong-bo.html",
		Title: "Kết quả phân tuyến công bố · Published placement results", Scripts: []string{"/assets/result-public.js"}},
}

// pageMethods are those every page answers: HEAD too, for uptime checks.
var pageMethods = []string{http.MethodGet, http.MethodHead}

func (s *server) openapi(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml; charset=utf-8", openapiYAML)
}

// pages serves the public pages and their assets.
func (s *server) pages(e *echo.Echo) {
	for _, p := range sitePages {
		serve := func(c echo.Context) error {
			return servePage(c, http.StatusOK, p.File, &pageData{Title: p.Title, Description: p.Description,
				Path: p.Path, Scripts: p.Scripts})
		}
		e.Match(pageMethods, p.Path, serve)
		for _, alias := range p.Aliases {
			e.Match(pageMethods, alias, serve)
		}
		if p.Path == "/" {
			e.Match(pageMethods, "/index.html", serve)
		}
	}
	// Browsers ask for /favicon.ico whatever the pages link to; answer
	// with the site's icon rather than a 404 in every access log.
	e.Match(pageMethods, "/favicon.ico", func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=86400")
		return c.Blob(http.StatusOK, "image/svg+xml", iconSVG)
	})
	e.Match(pageMethods, "/assets/labels.js", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", labelsJS)
	})
	e.StaticFS("/assets", echo.MustSubFS(static, "static/assets"))
}

//go:embed static/assets/icon.svg
var iconSVG []byte

// labelsJS is /assets/labels.js: the names of levels and statuses from
// package enrollment, as window.TS_LABELS, for the parents' scripts.
var labelsJS = makeLabelsJS()

func makeLabelsJS() []byte {
	type levelLabel struct {
		VI    string `json:"vi"`
		EN    string `json:"en"`
		Order int    `json:"order"`
	}
	type statusLabel struct {
		Label   string `json:"label"`
		LabelEN string `json:"label_en"`
		Text    string `json:"text"`
		TextEN  string `json:"text_en"`
		Badge   string `json:"badge"`
	}
	levels := map[enrollment.Level]levelLabel{}
	for i, l := range enrollment.Levels {
		levels[l] = levelLabel{VI: l.NameVI(), EN: l.NameEN(), Order: i + 1}
	}
	statuses := map[enrollment.Status]statusLabel{}
	for _, st := range enrollment.Statuses {
		l, lEN := st.Label()
		t, ten := st.Text()
		statuses[st] = statusLabel{Label: l, LabelEN: lEN, Text: t, TextEN: ten, Badge: statusBadge(st)}
	}
	b, err := json.Marshal(map[string]any{"levels": levels, "statuses": statuses})
	if err != nil {
		panic(err)
	}
	return []byte("// Generated by the server from package enrollment: the one source of these names.\n" +
		"\"use strict\";\nwindow.TS_LABELS = Object.freeze(" + string(b) + ");\n")
}

// wantsHTML reports whether an error should be answered with a page: a
// browser asking for a page (Accept names text/html), never the API, whose
// clients read JSON whatever they send.
func wantsHTML(r *http.Request) bool {
	if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	return strings.Contains(r.Header.Get(echo.HeaderAccept), echo.MIMETextHTML)
}

// errorPage is the Data of error.html.
type errorPage struct {
	Status             int
	Title, TitleEN     string
	Message, MessageEN string
	Problems           []enrollment.Problem
	SignIn             string // a sign-in link, for a staff page asked without a session
}

// errorTitles are the headings of error pages by status.
var errorTitles = map[int][2]string{
	http.StatusBadRequest:            {"Yêu cầu không hợp lệ", "Bad request"},
	http.StatusUnauthorized:          {"Cần đăng nhập", "Sign-in needed"},
	http.StatusForbidden:             {"Không có quyền truy cập", "Not allowed"},
	http.StatusMethodNotAllowed:      {"Không thực hiện được", "Not allowed here"},
	http.StatusConflict:              {"Không thực hiện được", "Cannot be done"},
	http.StatusUnprocessableEntity:   {"Thông tin chưa hợp lệ", "Invalid information"},
	http.StatusTooManyRequests:       {"Quá nhiều yêu cầu", "Too many requests"},
	http.StatusRequestEntityTooLarge: {"Nội dung quá lớn", "Too large"},
	http.StatusServiceUnavailable:    {"Tạm thời không phục vụ được", "Unavailable for the moment"},
}

// writeErrorPage answers a browser's failed request with a page in the
// layout of whoever asked: the public one, or the staff user's (the
// user and a CSRF token are in the request when a staff page failed).
func writeErrorPage(c echo.Context, status int, e *enrollment.Error) error {
	pd := &pageData{Path: c.Request().URL.Path}
	if u, ok := staffUser(c); ok {
		fillStaffChrome(c, pd, &u)
	}
	if status == http.StatusNotFound {
		pd.Title = "Không tìm thấy trang · Page not found"
		return servePage(c, status, "404.html", pd)
	}
	t, ok := errorTitles[status]
	if !ok {
		t = [2]string{"Lỗi hệ thống", "Internal error"}
	}
	data := errorPage{Status: status, Title: t[0], TitleEN: t[1], Message: e.Message, MessageEN: e.MessageEN, Problems: e.Problems}
	if status == http.StatusUnauthorized {
		data.SignIn = signInPath
	}
	pd.Title = t[0] + " · " + t[1]
	pd.Data = data
	return servePage(c, status, "error.html", pd)
}

// vnTime formats an instant in Vietnam's time (UTC+7, no daylight
// saving), as the pages show every time: "14:05 04/12/2026".
func vnTime(t time.Time) string {
	return t.In(vietnam).Format("15:04 02/01/2006")
}

// vnDate formats a YYYY-MM-DD date as people write it: 04/12/2026.
func vnDate(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return d
	}
	return t.Format("02/01/2006")
}

var vietnam = time.FixedZone("ICT", 7*3600)
