package web

import (
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestOpenAPIListsEveryRoute keeps the served OpenAPI document in step with
// the routes.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	t.Parallel()
	e := NewServer(Deps{}).(*echo.Echo)
	param := regexp.MustCompile(`:(\w+)`)
	doc := string(openapiYAML)
	n := 0
	for _, r := range e.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") && !strings.HasPrefix(r.Path, "/can-bo") && r.Path != "/healthz" && r.Path != "/readyz" ||
			r.Method == "HEAD" { // every GET page answers HEAD too
			continue
		}
		n++
		path := param.ReplaceAllString(r.Path, "{$1}")
		i := strings.Index(doc, "\n  "+path+":\n")
		if i < 0 {
			t.Errorf("openapi.yaml lacks the path %s", path)
			continue
		}
		rest := doc[i+len(path)+4:] // from the newline ending the path's line
		if j := strings.Index(rest, "\n  /"); j >= 0 {
			rest = rest[:j]
		}
		if !strings.Contains(rest, "\n    "+strings.ToLower(r.Method)+":") {
			t.Errorf("openapi.yaml lacks %s %s", r.Method, path)
		}
	}
	if n < 8 {
		t.Errorf("checked %d routes, want at least 8", n)
	}
}
