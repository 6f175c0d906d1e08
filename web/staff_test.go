package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/labstack/echo/v4"

	"github.com/tuyensinh/tuyensinh/enrollment/staff"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

const testPassword = "correct horse battery"

// staffBundle is a server with staff sessions on a fresh database holding
// two schools in two wards and their clerks, clerk-a and clerk-b.
type staffBundle struct {
	srv   *httptest.Server
	db    *sqlx.DB
	store *staff.Store
}

func setupStaff(t *testing.T, d Deps) *staffBundle {
	t.Helper()
	db := testenv.DB(t)
	const fixture = `
INSERT INTO authorities (code, name, kind, parent_code) VALUES ('HN', 'Hà Nội', 'city', NULL),
    ('WA', 'Phường A', 'ward', 'HN'), ('WB', 'Phường B', 'ward', 'HN');
INSERT INTO wards (code, name, kind, authority_code) VALUES ('00001', 'Phường A', 'phuong', 'WA'), ('00002', 'Phường B', 'phuong', 'WB');
INSERT INTO schools (code, name, ward_code) VALUES ('SA', 'Trường A', '00001'), ('SB', 'Trường B', '00002');`
	if _, err := db.Exec(fixture); err != nil {
		t.Fatal(err)
	}
	st := staff.NewStore(db)
	hash, err := staff.HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []staff.User{{Username: "clerk-a", Role: staff.RoleSchool, Scope: "SA"}, {Username: "clerk-b", Role: staff.RoleSchool, Scope: "SB"}} {
		if err := st.Add(t.Context(), u, hash); err != nil {
			t.Fatal(err)
		}
	}
	d.Staff = st
	rdb, prefix := testenv.Redis(t)
	d.RateLimiter = NewRateLimiter(rdb, prefix, 2*time.Second, nil)
	e, s := newServer(d)
	// A state-changing route like those the pages' forms will post to.
	e.POST("/test/form", func(c echo.Context) error { return c.JSON(200, map[string]string{"status": "done"}) }, s.staffRoute()...)
	// A route of one school, like the review routes to come.
	e.GET("/test/schools/:code", func(c echo.Context) error {
		if err := s.authorizeSchool(c, c.Param("code")); err != nil {
			return err
		}
		return c.JSON(200, map[string]string{"school": c.Param("code")})
	}, s.staffRoute()...)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &staffBundle{srv: srv, db: db, store: st}
}

// browser is a client with its own cookie jar.
func (b *staffBundle) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

type answer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (b *staffBundle) do(t *testing.T, c *http.Client, method, path string, body string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	a.raw, _ = io.ReadAll(resp.Body)
	if err := json.Unmarshal(a.raw, &a.body); err != nil {
		t.Fatalf("%s %s: %d %q is not JSON", method, path, resp.StatusCode, a.raw)
	}
	return a
}

func loginBody(user, pw string) string {
	b, _ := json.Marshal(map[string]string{"username": user, "password": pw})
	return string(b)
}

func (b *staffBundle) login(t *testing.T, c *http.Client, user string) answer {
	t.Helper()
	a := b.do(t, c, "POST", "/api/v1/session", loginBody(user, testPassword))
	if a.status != http.StatusOK {
		t.Fatalf("sign-in of %s = %d %s, want 200", user, a.status, a.raw)
	}
	return a
}

func (b *staffBundle) cookie(t *testing.T, c *http.Client) string {
	t.Helper()
	u, _ := url.Parse(b.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == SessionCookie {
			return ck.Value
		}
	}
	return ""
}

func errorCode(a answer) string {
	e, _ := a.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// TestSessionLogin: a sign-in answers the user and a CSRF token with an
// HttpOnly, SameSite=Lax session cookie; unknown user, wrong password and
// disabled account get the very same 401.
func TestSessionLogin(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	b := setupStaff(t, Deps{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	c := b.browser(t)
	defer func() {
		// Sign-ins and failures are logged, never with a password, nor
		// with a username no account has (it may be a password typed in
		// the wrong box).
		out := logs.String()
		if !strings.Contains(out, "staff signed in") || !strings.Contains(out, "staff sign-in failed") {
			t.Errorf("logs lack the sign-ins:\n%s", out)
		}
		for _, secret := range []string{testPassword, "wrong password!", "nobody"} {
			if strings.Contains(out, secret) {
				t.Errorf("logs carry %q:\n%s", secret, out)
			}
		}
	}()
	req, _ := http.NewRequest("POST", b.srv.URL+"/api/v1/session", strings.NewReader(loginBody("clerk-a", testPassword)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var ck *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == SessionCookie {
			ck = k
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Path != "/" || ck.Value == "" {
		t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Lax, not Secure, path /", ck)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") == "" {
		t.Errorf("sign-in = %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}

	a := b.login(t, c, "clerk-a")
	if a.body["user"] != "clerk-a" || a.body["role"] != "school" || a.body["scope"] != "SA" || a.body["csrf_token"] == "" || len(a.body) != 4 {
		t.Errorf("sign-in body = %v, want user, role, scope, csrf_token", a.body)
	}
	again := b.do(t, c, "GET", "/api/v1/session", "")
	if again.status != 200 || again.body["user"] != "clerk-a" || again.body["csrf_token"] == a.body["csrf_token"] || again.body["csrf_token"] == "" {
		t.Errorf("GET session = %d %v, want the user and a fresh token", again.status, again.body)
	}
	if anon := b.do(t, b.browser(t), "GET", "/api/v1/session", ""); anon.status != 401 || errorCode(anon) != "unauthorized" {
		t.Errorf("GET session without a session = %d %s, want 401 unauthorized", anon.status, anon.raw)
	}

	if err := b.store.Disable(t.Context(), "clerk-b"); err != nil {
		t.Fatal(err)
	}
	var first []byte
	for _, cr := range [][2]string{{"clerk-a", "wrong password!"}, {"nobody", testPassword}, {"clerk-b", testPassword}} {
		a := b.do(t, b.browser(t), "POST", "/api/v1/session", loginBody(cr[0], cr[1]))
		if a.status != 401 || errorCode(a) != "unauthorized" {
			t.Errorf("sign-in %s/%s = %d %s, want 401", cr[0], cr[1], a.status, a.raw)
		}
		if a.header.Get("Set-Cookie") != "" {
			t.Errorf("refused sign-in %s sets a cookie", cr[0])
		}
		if first == nil {
			first = a.raw
		} else if !bytes.Equal(a.raw, first) {
			t.Errorf("sign-in %s answers %s, but the first refusal was %s", cr[0], a.raw, first)
		}
	}
	for _, body := range []string{"", "{}", `{"username":"clerk-a"}`, `{"username":"clerk-a","password":"x","extra":1}`, "[1]"} {
		if a := b.do(t, c, "POST", "/api/v1/session", body); a.status != 400 {
			t.Errorf("sign-in with %q = %d, want 400", body, a.status)
		}
	}
}

func TestSessionCookieSecure(t *testing.T) {
	t.Parallel()
	b := setupStaff(t, Deps{Sessions: SessionConfig{CookieSecure: true}})
	req, _ := http.NewRequest("POST", b.srv.URL+"/api/v1/session", strings.NewReader(loginBody("clerk-a", testPassword)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cks := resp.Cookies(); len(cks) != 1 || !cks[0].Secure {
		t.Errorf("cookies with CookieSecure = %+v, want one Secure cookie", cks)
	}
}

// TestSessionLockout: five wrong passwords lock the account: 429 with
// Retry-After, also for the right password, until the lock ends.
func TestSessionLockout(t *testing.T) {
	t.Parallel()
	b := setupStaff(t, Deps{})
	c := b.browser(t)
	for i := range staff.DefaultMaxFailures {
		if a := b.do(t, c, "POST", "/api/v1/session", loginBody("clerk-a", "wrong password!")); a.status != 401 {
			t.Fatalf("wrong password %d = %d, want 401", i+1, a.status)
		}
	}
	a := b.do(t, c, "POST", "/api/v1/session", loginBody("clerk-a", testPassword))
	secs, _ := strconv.Atoi(a.header.Get("Retry-After"))
	if a.status != 429 || errorCode(a) != "too_many_requests" || secs <= 0 || secs > 15*60 {
		t.Fatalf("sign-in while locked = %d, Retry-After %q, %s; want 429 with Retry-After in (0, 900]", a.status, a.header.Get("Retry-After"), a.raw)
	}
	// The other clerk is not locked.
	b.login(t, b.browser(t), "clerk-b")
	if _, err := b.db.Exec(`UPDATE staff_users SET locked_until = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	b.login(t, c, "clerk-a")
}

// TestSessionAddressThrottle: the login limit counts sign-ins per client
// address, whatever the account.
func TestSessionAddressThrottle(t *testing.T) {
	t.Parallel()
	b := setupStaff(t, Deps{LoginPerMinute: 3, ClientIPHeader: "X-Real-IP"})
	for i := range 3 {
		user := []string{"clerk-a", "nobody", "clerk-b"}[i]
		if a := b.do(t, b.browser(t), "POST", "/api/v1/session", loginBody(user, "wrong password!"), "X-Real-IP", "203.0.113.7"); a.status != 401 {
			t.Fatalf("attempt %d = %d, want 401", i+1, a.status)
		}
	}
	a := b.do(t, b.browser(t), "POST", "/api/v1/session", loginBody("clerk-a", testPassword), "X-Real-IP", "203.0.113.7")
	if secs, _ := strconv.Atoi(a.header.Get("Retry-After")); a.status != 429 || secs <= 0 || errorCode(a) != "too_many_requests" {
		t.Errorf("fourth attempt = %d, Retry-After %q, %s; want 429", a.status, a.header.Get("Retry-After"), a.raw)
	}
	if a := b.do(t, b.browser(t), "POST", "/api/v1/session", loginBody("clerk-a", testPassword), "X-Real-IP", "203.0.113.8"); a.status != 200 {
		t.Errorf("another address = %d %s, want 200", a.status, a.raw)
	}
}

// TestSessionRenewedOnLogin: signing in gives a new session token; the one
// held before no longer opens a session.
func TestSessionRenewedOnLogin(t *testing.T) {
	t.Parallel()
	b := setupStaff(t, Deps{})
	c := b.browser(t)
	b.login(t, c, "clerk-a")
	before := b.cookie(t, c)
	b.login(t, c, "clerk-b")
	after := b.cookie(t, c)
	if before == "" || after == "" || before == after {
		t.Fatalf("session token before sign-in %q, after %q; want two different tokens", before, after)
	}
	old := &http.Client{}
	a := b.do(t, old, "GET", "/api/v1/session", "", "Cookie", SessionCookie+"="+before)
	if a.status != 401 {
		t.Errorf("the token from before sign-in = %d %s, want 401", a.status, a.raw)
	}
	if a := b.do(t, c, "GET", "/api/v1/session", ""); a.status != 200 || a.body["user"] != "clerk-b" {
		t.Errorf("the new token = %d %v, want clerk-b", a.status, a.body)
	}
}

// TestSessionExpiry: a session ends after IdleTimeout without requests,
// and after Lifetime however busy.
func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		b := setupStaff(t, Deps{Sessions: SessionConfig{IdleTimeout: 2 * time.Second, Lifetime: time.Hour}})
		c := b.browser(t)
		b.login(t, c, "clerk-a")
		var expiry time.Time
		b.db.Get(&expiry, `SELECT expiry FROM sessions`)
		if until := time.Until(expiry); until > 2*time.Second {
			t.Errorf("session expires in %s, want at most the idle timeout", until)
		}
		time.Sleep(3 * time.Second)
		if a := b.do(t, c, "GET", "/api/v1/session", ""); a.status != 401 {
			t.Errorf("after the idle timeout = %d %s, want 401", a.status, a.raw)
		}
	})
	t.Run("lifetime", func(t *testing.T) {
		t.Parallel()
		b := setupStaff(t, Deps{Sessions: SessionConfig{IdleTimeout: time.Hour, Lifetime: 3 * time.Second}})
		c := b.browser(t)
		b.login(t, c, "clerk-a")
		deadline := time.Now().Add(4 * time.Second)
		for time.Now().Before(deadline) {
			b.do(t, c, "GET", "/api/v1/session", "")
			time.Sleep(500 * time.Millisecond)
		}
		if a := b.do(t, c, "GET", "/api/v1/session", ""); a.status != 401 {
			t.Errorf("after the lifetime, busy all along = %d %s, want 401", a.status, a.raw)
		}
	})
}

// TestSessionCSRF: signing out changes state, so it needs the session's
// CSRF token: absent, wrong or another session's → 403.
func TestSessionCSRF(t *testing.T) {
	t.Parallel()
	b := setupStaff(t, Deps{})
	c := b.browser(t)
	token := b.login(t, c, "clerk-a").body["csrf_token"].(string)
	other := b.login(t, b.browser(t), "clerk-b").body["csrf_token"].(string)
	for name, header := range map[string][]string{
		"no token":              nil,
		"empty token":           {"X-CSRF-Token", ""},
		"garbage":               {"X-CSRF-Token", "garbage"},
		"another session's":     {"X-CSRF-Token", other},
		"token cut short":       {"X-CSRF-Token", token[:len(token)-2]},
		"token in another case": {"X-CSRF-Token", strings.ToUpper(token)},
	} {
		a := b.do(t, c, "DELETE", "/api/v1/session", "", header...)
		if a.status != 403 || errorCode(a) != "forbidden" {
			t.Errorf("DELETE session, %s = %d %s, want 403 forbidden", name, a.status, a.raw)
		}
	}
	if a := b.do(t, c, "GET", "/api/v1/session", ""); a.status != 200 {
		t.Fatalf("session after refused sign-outs = %d, want 200", a.status)
	}
	// Any token handed out for the session is good.
	fresh := b.do(t, c, "GET", "/api/v1/session", "").body["csrf_token"].(string)
	if a := b.do(t, c, "DELETE", "/api/v1/session", "", "X-CSRF-Token", token); a.status != 200 {
		t.Errorf("DELETE session with the sign-in's token = %d %s, want 200", a.status, a.raw)
	}
	if a := b.do(t, c, "GET", "/api/v1/session", ""); a.status != 401 {
		t.Errorf("session after sign-out = %d, want 401", a.status)
	}
	if a := b.do(t, c, "DELETE", "/api/v1/session", "", "X-CSRF-Token", fresh); a.status != 401 {
		t.Errorf("sign-out without a session = %d, want 401", a.status)
	}
	// HTML forms post the token as a field.
	c2 := b.browser(t)
	b.login(t, c2, "clerk-a")
	good := b.do(t, c2, "GET", "/api/v1/session", "").body["csrf_token"].(string)
	for tok, want := range map[string]int{good: 200, other: 403, "": 403} {
		req, _ := http.NewRequest("POST", b.srv.URL+"/test/form", strings.NewReader(url.Values{"csrf_token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c2.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("form posted with token %q = %d, want %d", tok, resp.StatusCode, want)
		}
	}
	if a := b.do(t, b.browser(t), "POST", "/test/form", "{}"); a.status != 401 {
		t.Errorf("form posted without a session = %d, want 401", a.status)
	}
	evs, _ := b.store.Events(t.Context(), "clerk-a")
	var actions []string
	for _, ev := range evs {
		actions = append(actions, ev.Action)
	}
	if want := []string{staff.ActionAdded, staff.ActionLogin, staff.ActionLogout, staff.ActionLogin}; !slices.Equal(actions, want) {
		t.Errorf("events of clerk-a = %v, want %v", actions, want)
	}
}

// TestSessionOfDisabledAccount: disabling or deleting an account, or
// giving it a new password, ends its open sessions at their next request.
func TestSessionOfDisabledAccount(t *testing.T) {
	t.Parallel()
	b := setupStaff(t, Deps{})
	hash, _ := staff.HashPassword("a new password, after a leak")
	if err := b.store.Add(t.Context(), staff.User{Username: "clerk-c", Role: staff.RoleSchool, Scope: "SB"}, hash); err != nil {
		t.Fatal(err)
	}
	ca, cb, cc := b.browser(t), b.browser(t), b.browser(t)
	b.login(t, ca, "clerk-a")
	b.login(t, cb, "clerk-b")
	if a := b.do(t, cc, "POST", "/api/v1/session", loginBody("clerk-c", "a new password, after a leak")); a.status != 200 {
		t.Fatalf("sign-in of clerk-c = %d", a.status)
	}
	// Untouched, the sessions work.
	for _, c := range []*http.Client{ca, cb, cc} {
		if a := b.do(t, c, "GET", "/api/v1/session", ""); a.status != 200 {
			t.Fatalf("session before the changes = %d %s", a.status, a.raw)
		}
	}
	if err := b.store.Disable(t.Context(), "clerk-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Exec(`DELETE FROM staff_users WHERE username = 'clerk-b'`); err != nil {
		t.Fatal(err)
	}
	hash, _ = staff.HashPassword("a new password, after a leak")
	if err := b.store.SetPassword(t.Context(), "clerk-c", hash); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*http.Client{"disabled": ca, "deleted": cb, "new password": cc} {
		a := b.do(t, c, "GET", "/api/v1/session", "")
		if a.status != 401 || bytes.Contains(a.raw, []byte("clerk")) {
			t.Errorf("session of a %s account = %d %s, want 401 naming nobody", name, a.status, a.raw)
		}
		if b.cookie(t, c) != "" {
			t.Errorf("the %s account's cookie is kept", name)
		}
	}
	var n int
	b.db.Get(&n, `SELECT count(*) FROM sessions`)
	if n != 0 {
		t.Errorf("%d sessions left in the store, want 0", n)
	}
}

// TestSessionWithoutStaffStore: without a staff store the routes answer 503.
func TestSessionWithoutStaffStore(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(NewServer(Deps{}))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/api/v1/session", "application/json", strings.NewReader(loginBody("a", "b")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("sign-in without a staff store = %d, want 503", resp.StatusCode)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// FuzzValidCSRF: every token made for a secret is valid for it, and no
// input makes the check panic or accept a token that does not unmask to
// the secret.
func FuzzValidCSRF(f *testing.F) {
	secret := bytes.Repeat([]byte{0x5a}, 32)
	f.Add(csrfToken(secret))
	f.Add("")
	f.Add("garbage")
	f.Add(strings.Repeat("A", 86))
	f.Fuzz(func(t *testing.T, token string) {
		if !validCSRF(secret, csrfToken(secret)) {
			t.Fatal("a fresh token is refused")
		}
		if validCSRF(secret, token) {
			b, err := base64.RawURLEncoding.DecodeString(token)
			if err != nil || len(b) != 64 {
				t.Fatalf("validCSRF accepted %q", token)
			}
			for i := range 32 {
				if b[i]^b[32+i] != secret[i] {
					t.Fatalf("validCSRF accepted %q, which does not unmask to the secret", token)
				}
			}
		}
		if validCSRF(nil, token) {
			t.Fatalf("validCSRF accepted %q for a session without a secret", token)
		}
	})
}

// TestAuthorizeSchool is the authorization matrix of a school route:
// anonymous / clerk of school A / clerk of school B / officer of A's ward /
// officer of another ward / city × school A; refusals name nothing of it.
func TestAuthorizeSchool(t *testing.T) {
	t.Parallel()
	b := setupStaff(t, Deps{})
	hash, _ := staff.HashPassword(testPassword)
	for _, u := range []staff.User{{Username: "officer-wa", Role: staff.RoleAuthority, Scope: "WA"},
		{Username: "officer-wb", Role: staff.RoleAuthority, Scope: "WB"}, {Username: "city", Role: staff.RoleCity}} {
		if err := b.store.Add(t.Context(), u, hash); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		user string
		want int
	}{
		{"", 401}, {"clerk-a", 200}, {"clerk-b", 403}, {"officer-wa", 200}, {"officer-wb", 403}, {"city", 200},
	} {
		c := b.browser(t)
		if tt.user != "" {
			b.login(t, c, tt.user)
		}
		a := b.do(t, c, "GET", "/test/schools/SA", "")
		if a.status != tt.want {
			t.Errorf("%q on school SA = %d %s, want %d", tt.user, a.status, a.raw, tt.want)
		}
		if a.status != 200 && (bytes.Contains(a.raw, []byte("SA")) || bytes.Contains(a.raw, []byte("Trường A"))) {
			t.Errorf("%q refused with a body naming the school: %s", tt.user, a.raw)
		}
		if tt.user == "city" {
			if a := b.do(t, c, "GET", "/test/schools/NOPE", ""); a.status != 404 {
				t.Errorf("city on an unknown school = %d, want 404", a.status)
			}
		}
	}
}
