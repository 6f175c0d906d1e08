package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func request(t *testing.T, h http.Handler, method, path, accept string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// browserAccept is what Chromium sends for a page.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

// TestNotFoundPageForBrowsers: a mistyped address in a browser shows a page
// in the site's layout with a link home; the API and JSON clients keep the
// JSON error.
func TestNotFoundPageForBrowsers(t *testing.T) {
	t.Parallel()
	h := NewServer(Deps{})
	for _, path := range []string{"/khong-co", "/dang-ky.htm", "/assets/khong-co.js"} {
		w := request(t, h, http.MethodGet, path, browserAccept)
		if w.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, w.Code)
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET %s: Content-Type %q, want text/html", path, ct)
		}
		body := w.Body.String()
		for _, want := range []string{"Không tìm thấy trang", "Page not found", `href="/"`, `<link rel="stylesheet" href="/assets/site.css">`} {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s: page lacks %q", path, want)
			}
		}
		if w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", path)
		}
	}
	for _, c := range []struct{ path, accept string }{
		{"/api/v1/khong-co", browserAccept},
		{"/api/khong-co", ""},
		{"/khong-co", "application/json"},
		{"/khong-co", ""},
	} {
		w := request(t, h, http.MethodGet, c.path, c.accept)
		if w.Code != http.StatusNotFound {
			t.Errorf("GET %s (Accept %q): status %d, want 404", c.path, c.accept, w.Code)
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("GET %s (Accept %q): Content-Type %q, want JSON", c.path, c.accept, ct)
		}
		if !strings.Contains(w.Body.String(), `"code":"not_found"`) {
			t.Errorf("GET %s (Accept %q): body %s, want the not_found error", c.path, c.accept, w.Body)
		}
	}
}

// TestPagesWithoutExtension: the addresses people type without .html serve
// the same page as the .html ones that links use.
func TestPagesWithoutExtension(t *testing.T) {
	t.Parallel()
	h := NewServer(Deps{})
	for short, full := range map[string]string{"/dang-ky": "/dang-ky.html", "/tra-cuu": "/tra-cuu.html", "/index.html": "/"} {
		a := request(t, h, http.MethodGet, short, browserAccept)
		b := request(t, h, http.MethodGet, full, browserAccept)
		if a.Code != http.StatusOK || b.Code != http.StatusOK {
			t.Errorf("GET %s: %d, GET %s: %d, want 200 both", short, a.Code, full, b.Code)
			continue
		}
		if a.Body.String() != b.Body.String() {
			t.Errorf("GET %s serves another page than %s", short, full)
		}
	}
}

// TestHeadOfPages: uptime checks send HEAD; every page answers it 200 with
// no body.
func TestHeadOfPages(t *testing.T) {
	t.Parallel()
	h := NewServer(Deps{})
	for _, path := range []string{"/", "/index.html", "/dang-ky.html", "/dang-ky", "/tra-cuu.html", "/tra-cuu", "/favicon.ico"} {
		w := request(t, h, http.MethodHead, path, "")
		if w.Code != http.StatusOK {
			t.Errorf("HEAD %s: status %d, want 200", path, w.Code)
		}
	}
	if w := request(t, h, http.MethodHead, "/khong-co", browserAccept); w.Code != http.StatusNotFound {
		t.Errorf("HEAD /khong-co: status %d, want 404", w.Code)
	}
}

// TestFavicon: /favicon.ico answers the site's icon.
func TestFavicon(t *testing.T) {
	t.Parallel()
	w := request(t, NewServer(Deps{}), http.MethodGet, "/favicon.ico", browserAccept)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(w.Body.String(), "<svg") {
		t.Errorf("GET /favicon.ico: %d %q %.40s, want the SVG icon", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
}

// renderedPublicPages renders each public page as it is served.
func renderedPublicPages(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range sitePages {
		b, err := renderPage(p.File, &pageData{Title: p.Title, Path: p.Path, Scripts: p.Scripts})
		if err != nil {
			t.Fatalf("render %s: %v", p.Path, err)
		}
		out[p.Path] = b
	}
	return out
}
