package web_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/web"
)

// FuzzParentBodies: whatever body the parents' routes are sent, the
// answer is a client error or "unavailable" (no database here), never a
// 500, and always JSON.
func FuzzParentBodies(f *testing.F) {
	for _, s := range []string{`{"tracking_code":"ABCDE-FGHJK-MNPQR-STVWX","child_id_number":"001320001234"}`,
		`{"decision":"confirm"}`, `{"decision":"x","extra":1}`, `[]`, `{`, `{"tracking_code":1}`, "\x00", `{"tracking_code":"\ud800"}`} {
		f.Add(s)
	}
	h := web.NewServer(web.Deps{Catalog: func() *enrollment.Catalog { return enrollment.NewCatalog(nil, nil, nil) }})
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/api/v1/lookup", "/api/v1/applications/ABCDEFGHJKMNPQRSTVWX/decision"} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 && rec.Code != 503 {
				t.Errorf("POST %s %q = %d %s", path, body, rec.Code, rec.Body)
			}
			if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
				t.Errorf("POST %s %q: Content-Type %q", path, body, rec.Header().Get("Content-Type"))
			}
		}
	})
}
