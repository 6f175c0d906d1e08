package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestSecurityHeaders: every answer, page, asset, API or error, carries
// the policy headers; answers about an application are never cached.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := NewServer(Deps{})
	for _, path := range []string{"/", "/dang-ky.html", "/tra-cuu.html", "/assets/site.css", "/healthz", "/openapi.yaml",
		"/api/v1/nope", "/api/v1/applications/abc", "/metrics"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		for name, want := range map[string]string{
			"Content-Security-Policy": contentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := rec.Header().Get(name); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, name, got, want)
			}
		}
		if strings.HasPrefix(path, "/api/v1/applications/") && rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control = %q, want no-store", path, rec.Header().Get("Cache-Control"))
		}
		if path == "/metrics" && rec.Code != http.StatusNotFound {
			t.Errorf("GET /metrics on the public handler = %d, want 404", rec.Code)
		}
	}
}

// TestNoInlineScriptOrStyle: the pages and scripts use nothing the
// Content-Security-Policy blocks: no inline <script> or <style>, no style
// or on… attributes, no style set as an attribute from script.
func TestNoInlineScriptOrStyle(t *testing.T) {
	t.Parallel()
	inline := regexp.MustCompile(`(?i)<script(\s[^>]*)?>\s*[^<\s]|<style|\sstyle\s*=|\son[a-z]+\s*=|javascript:`)
	for path, body := range renderedPublicPages(t) {
		if m := inline.Find(body); m != nil {
			t.Errorf("page %s has inline script or style: %q", path, m)
		}
		for _, tag := range regexp.MustCompile(`(?i)<script[^>]*>`).FindAll(body, -1) {
			if !strings.Contains(string(tag), "src=") {
				t.Errorf("page %s has a script without src: %q", path, tag)
			}
		}
	}
	styleAttr := regexp.MustCompile(`\bstyle:\s*["']|setAttribute\(\s*["']style|\.innerHTML\s*=\s*[^;]*<(script|style)|cssText`)
	err := fs.WalkDir(static, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".js") {
			return err
		}
		b, err := fs.ReadFile(static, path)
		if err != nil {
			return err
		}
		if m := styleAttr.Find(b); m != nil {
			t.Errorf("%s sets a style attribute, which the policy blocks: %q", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
