package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"

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
	Path        string // where it is served; also marks the current link in the header
	File        string // its file under pages/
	Title       string
	Description string
	Scripts     []string // besides /assets/common.js, which every page loads
}

var sitePages = []page{
	{Path: "/", File: "index.html", Title: "Tuyển sinh đầu cấp trực tuyến · Online school enrollment",
		Description: "Đăng ký tuyển sinh trực tuyến vào mẫu giáo 5 tuổi, lớp 1 và lớp 6; tra cứu hồ sơ bằng mã tra cứu.",
		Scripts:     []string{"/assets/home.js"}},
	{Path: "/dang-ky.html", File: "dang-ky.html", Title: "Đăng ký tuyển sinh · Register a child",
		Scripts: []string{"/assets/register.js"}},
	{Path: "/tra-cuu.html", File: "tra-cuu.html", Title: "Tra cứu hồ sơ · Check an application",
		Scripts: []string{"/assets/status.js"}},
}

// renderPages renders every page once: they hold no per-request data (the
// scripts fetch it from the API). It panics on a broken template, which the
// tests catch.
func renderPages() map[string][]byte {
	out := make(map[string][]byte, len(sitePages))
	for _, p := range sitePages {
		t := template.Must(template.ParseFS(pageFiles, "pages/layout.html", "pages/"+p.File))
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
			panic(err)
		}
		out[p.Path] = buf.Bytes()
	}
	return out
}

var renderedPages = renderPages()

func (s *server) openapi(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml; charset=utf-8", openapiYAML)
}

// pages serves the pages people use and their assets.
func (s *server) pages(e *echo.Echo) {
	for path, body := range renderedPages {
		serve := func(c echo.Context) error { return c.HTMLBlob(http.StatusOK, body) }
		e.GET(path, serve)
		if path == "/" {
			e.GET("/index.html", serve)
		}
	}
	e.StaticFS("/assets", echo.MustSubFS(static, "static/assets"))
}
