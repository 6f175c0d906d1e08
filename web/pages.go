package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed openapi.yaml
var openapiYAML []byte

// static holds the stylesheets, scripts and icon the pages use.
//
//go:embed static
var static embed.FS

// pageFiles holds the pages: one layout (head, header, footer) and each
// page's main content.
//
//go:embed pages/*.html
var pageFiles embed.FS

// page is one page people use, rendered from the layout.
type page struct {
	Path        string   // where it is served; also marks the current link in the header
	Aliases     []string // other paths serving the same page: the address without .html
	File        string   // its file under pages/
	Title       string
	Description string
	Scripts     []string // besides /assets/common.js, which every page loads
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

// notFoundPage is what a browser gets for an address with no page: the
// site's layout with a way home, not a JSON error it cannot read.
var notFoundPage = page{File: "404.html", Title: "Không tìm thấy trang · Page not found"}

// renderPages renders every page once: they hold no per-request data (the
// scripts fetch it from the API). It panics on a broken template, which the
// tests catch.
func renderPages() map[string][]byte {
	out := make(map[string][]byte, len(sitePages))
	for _, p := range sitePages {
		out[p.Path] = renderPage(p)
	}
	return out
}

func renderPage(p page) []byte {
	t := template.Must(template.ParseFS(pageFiles, "pages/layout.html", "pages/"+p.File))
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

var (
	renderedPages    = renderPages()
	renderedNotFound = renderPage(notFoundPage)
)

// pageMethods are those every page answers: HEAD too, for uptime checks.
var pageMethods = []string{http.MethodGet, http.MethodHead}

func (s *server) openapi(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml; charset=utf-8", openapiYAML)
}

// pages serves the pages people use and their assets.
func (s *server) pages(e *echo.Echo) {
	for _, p := range sitePages {
		body := renderedPages[p.Path]
		serve := func(c echo.Context) error { return c.HTMLBlob(http.StatusOK, body) }
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
	e.StaticFS("/assets", echo.MustSubFS(static, "static/assets"))
}

//go:embed static/assets/icon.svg
var iconSVG []byte

// wantsHTML reports whether an error should be answered with a page: a
// browser asking for a page (Accept names text/html), never the API, whose
// clients read JSON whatever they send.
func wantsHTML(r *http.Request) bool {
	if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	return strings.Contains(r.Header.Get(echo.HeaderAccept), echo.MIMETextHTML)
}
