package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
)

// SessionConfig is how staff sessions are kept.
type SessionConfig struct {
	// IdleTimeout ends a session this long after its last request.
	IdleTimeout time.Duration
	// Lifetime ends a session this long after sign-in, however busy.
	Lifetime time.Duration
	// CookieSecure marks the session cookie Secure: browsers then send it
	// over HTTPS only. Set it whenever the service is behind TLS; it is
	// off by default for the demo on http://localhost.
	CookieSecure bool
}

// Defaults of SessionConfig.
const (
	DefaultSessionIdle     = 30 * time.Minute
	DefaultSessionLifetime = 12 * time.Hour
)

// SessionCookie is the name of the staff session cookie.
const SessionCookie = "tuyensinh_staff"

// Keys of a session's values.
const (
	sessionUser  = "user"  // the username signed in
	sessionCSRF  = "csrf"  // the session's CSRF secret, 32 random bytes
	sessionStamp = "stamp" // the account's staff.User.Stamp at sign-in
)

// LoginLimit is the named rate limit on sign-ins per client address.
const LoginLimit = "login"

// newSessions returns the session manager keeping staff sessions in the
// sessions table through scs's postgresstore (which deletes expired
// sessions every five minutes). The cookie is HttpOnly (no script reads
// it), SameSite=Lax (other sites' forms and scripts do not send it; a
// plain link to a page still does) and, without Persist, ends with the
// browser: clerks share computers.
func newSessions(st *staff.Store, cfg SessionConfig) *scs.SessionManager {
	sm := scs.New()
	sm.Store = postgresstore.New(st.DB().DB)
	sm.IdleTimeout = cmpOr(cfg.IdleTimeout, DefaultSessionIdle)
	sm.Lifetime = cmpOr(cfg.Lifetime, DefaultSessionLifetime)
	sm.Cookie.Name = SessionCookie
	sm.Cookie.Path = "/"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = cfg.CookieSecure
	sm.Cookie.Persist = false
	return sm
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Staff routes are chained session → authenticate → requireStaff →
// checkCSRF. Only staff routes load sessions: the parents' routes must
// not wait for PostgreSQL.
func (s *server) staffRoute(more ...echo.MiddlewareFunc) []echo.MiddlewareFunc {
	return append([]echo.MiddlewareFunc{noStore, s.session, s.authenticate, s.requireStaff, s.checkCSRF}, more...)
}

// session loads the request's staff session (scs's LoadAndSave, by hand:
// scs wraps net/http handlers, and echo writes its answers, errors
// included, after a handler returns). The session is saved and its cookie
// written just before the answer's headers, so every answer of a staff
// route, errors included, extends the idle timeout.
func (s *server) session(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.sessions == nil {
			return staffUnavailable(nil) // no staff store: nothing to log per request
		}
		r := c.Request()
		var token string
		if ck, err := r.Cookie(SessionCookie); err == nil {
			token = ck.Value
		}
		ctx, err := s.sessions.Load(r.Context(), token)
		if err != nil {
			return staffUnavailable(fmt.Errorf("staff session not loaded: %w", err))
		}
		c.SetRequest(r.WithContext(ctx))
		c.Response().Header().Add("Vary", "Cookie")
		c.Response().Before(func() {
			if c.Get("session_saved") != nil {
				return
			}
			switch s.sessions.Status(ctx) {
			case scs.Modified:
				token, expiry, err := s.sessions.Commit(ctx)
				if err != nil {
					s.Logger.Warn("staff session not saved", "err", err)
					return
				}
				s.sessions.WriteSessionCookie(ctx, c.Response().Writer, token, expiry)
			case scs.Destroyed:
				s.sessions.WriteSessionCookie(ctx, c.Response().Writer, "", time.Time{})
			}
		})
		return next(c)
	}
}

// saveSession saves the session now and writes its cookie, for the
// answers that must not claim a sign-in the database did not keep.
func (s *server) saveSession(c echo.Context) error {
	ctx := c.Request().Context()
	token, expiry, err := s.sessions.Commit(ctx)
	if err != nil {
		return staffUnavailable(fmt.Errorf("staff session not saved: %w", err))
	}
	s.sessions.WriteSessionCookie(ctx, c.Response().Writer, token, expiry)
	c.Set("session_saved", true)
	return nil
}

type userKey struct{}

// authenticate puts the signed-in user into the request's context. A
// session whose account was disabled, deleted or given a new password
// since is destroyed, and the request goes on as anonymous.
func (s *server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		name := s.sessions.GetString(ctx, sessionUser)
		if name == "" {
			return next(c)
		}
		u, err := s.Staff.User(ctx, name)
		switch {
		case errors.Is(err, staff.ErrNoAccount) || (err == nil && (u.Disabled || u.Stamp != s.sessions.GetString(ctx, sessionStamp))):
			if err := s.sessions.Destroy(ctx); err != nil {
				return staffUnavailable(fmt.Errorf("staff session not destroyed: %w", err))
			}
			return next(c)
		case err != nil:
			return staffUnavailable(fmt.Errorf("staff account not loaded: %w", err))
		}
		c.SetRequest(c.Request().WithContext(context.WithValue(ctx, userKey{}, u)))
		return next(c)
	}
}

// staffUser returns the signed-in user of the request, if any.
func staffUser(c echo.Context) (staff.User, bool) {
	u, ok := c.Request().Context().Value(userKey{}).(staff.User)
	return u, ok
}

// requireStaff answers 401 to a request without a staff session.
func (s *server) requireStaff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := staffUser(c); !ok {
			return errUnauthorized
		}
		return next(c)
	}
}

// authorizeSchool returns nil when the signed-in user covers the school
// (staff.User.Covers), a forbidden error when not, and the store's
// not_found for an unknown school (school codes are public: the parents'
// form lists them). Refusals carry nothing of the school.
func (s *server) authorizeSchool(c echo.Context, code string) error {
	u, ok := staffUser(c)
	if !ok {
		return errUnauthorized
	}
	school, err := s.Staff.School(c.Request().Context(), code)
	if err != nil {
		var e *enrollment.Error
		if errors.As(err, &e) {
			return e
		}
		return staffUnavailable(fmt.Errorf("school authorities not loaded: %w", err))
	}
	if !u.Covers(school) {
		return errForbidden
	}
	return nil
}

var (
	errUnauthorized = enrollment.Errorf(enrollment.CodeUnauthorized,
		"Cần đăng nhập bằng tài khoản cán bộ", "Sign in with a staff account first")
	errForbidden = enrollment.Errorf(enrollment.CodeForbidden,
		"Tài khoản của bạn không có quyền với trường hoặc hồ sơ này", "Your account has no rights over this school or application")
	errCSRF = enrollment.Errorf(enrollment.CodeForbidden,
		"Yêu cầu thiếu mã chống giả mạo (CSRF) của phiên đăng nhập; hãy tải lại trang",
		"The request lacks the session's CSRF token; reload the page")
)

// checkCSRF refuses, with 403, a state-changing request of a signed-in
// user that does not carry the session's CSRF token in the X-CSRF-Token
// header or, for an HTML form, the csrf_token field. The cookie is sent
// by the browser whoever made the page; the token only the pages of this
// service can read.
func (s *server) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if _, ok := staffUser(c); !ok {
			return next(c)
		}
		given := c.Request().Header.Get("X-CSRF-Token")
		if given == "" {
			if mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType)); mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
				given = c.FormValue("csrf_token")
			}
		}
		if !validCSRF(s.sessions.GetBytes(c.Request().Context(), sessionCSRF), given) {
			return errCSRF
		}
		return next(c)
	}
}

// csrfToken returns a fresh token for the session's secret: a random mask
// followed by the secret XOR the mask, so that no two answers carry the
// same bytes (a compressed HTTPS answer then leaks nothing of it, BREACH)
// while every token handed out stays valid for the session.
func csrfToken(secret []byte) string {
	b := make([]byte, 2*len(secret))
	rand.Read(b[:len(secret)])
	for i := range secret {
		b[len(secret)+i] = b[i] ^ secret[i]
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// validCSRF reports whether token was made by csrfToken from secret,
// comparing in constant time.
func validCSRF(secret []byte, token string) bool {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if len(secret) == 0 || err != nil || len(b) != 2*len(secret) {
		return false
	}
	got := make([]byte, len(secret))
	for i := range got {
		got[i] = b[i] ^ b[len(secret)+i]
	}
	return subtle.ConstantTimeCompare(got, secret) == 1
}

// sessionBody is the answer of the session routes.
type sessionBody struct {
	User      string     `json:"user"`
	Role      staff.Role `json:"role"`
	Scope     string     `json:"scope"`
	CSRFToken string     `json:"csrf_token"`
}

func (s *server) sessionJSON(c echo.Context, u staff.User) error {
	secret := s.sessions.GetBytes(c.Request().Context(), sessionCSRF)
	return c.JSON(http.StatusOK, sessionBody{User: u.Username, Role: u.Role, Scope: u.Scope, CSRFToken: csrfToken(secret)})
}

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// login signs a staff user in: POST /api/v1/session.
func (s *server) login(c echo.Context) error {
	var cr credentials
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cr); err != nil || cr.Username == "" || cr.Password == "" {
		return enrollment.Errorf(enrollment.CodeBadRequest,
			`Cần gửi JSON {"username": "...", "password": "..."}`, `send JSON {"username": "...", "password": "..."}`)
	}
	u, err := s.signIn(c, cr)
	if err != nil {
		return err
	}
	return s.sessionJSON(c, u)
}

// signIn checks the credentials (with the account's and the address's
// throttling) and opens the session: the sign-in of the API and of the
// sign-in page alike. The session token is renewed, so a token planted in
// the browser before sign-in is worthless after it; the absolute lifetime
// starts again.
func (s *server) signIn(c echo.Context, cr credentials) (staff.User, error) {
	address := clientKey(c.Request(), s.ClientIPHeader)
	u, err := s.Staff.Login(c.Request().Context(), cr.Username, cr.Password, address)
	if err != nil {
		var e *enrollment.Error
		if errors.As(err, &e) {
			// Logged without the password, and without a username no
			// account has: it may be a password typed in the wrong box.
			if e.Code == enrollment.CodeTooMany {
				s.Logger.Warn("staff sign-in refused: account locked", "user", cr.Username, "address", address)
			} else {
				s.Logger.Info("staff sign-in failed", "address", address)
			}
			return staff.User{}, e
		}
		return staff.User{}, staffUnavailable(fmt.Errorf("staff sign-in not checked: %w", err))
	}
	ctx := c.Request().Context()
	if err := s.sessions.RenewToken(ctx); err != nil {
		return staff.User{}, staffUnavailable(fmt.Errorf("renew session token: %w", err))
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	s.sessions.Put(ctx, sessionUser, u.Username)
	s.sessions.Put(ctx, sessionCSRF, secret)
	s.sessions.Put(ctx, sessionStamp, u.Stamp)
	s.sessions.SetDeadline(ctx, time.Now().Add(s.sessions.Lifetime))
	if err := s.saveSession(c); err != nil {
		return staff.User{}, err
	}
	s.Logger.Info("staff signed in", "user", u.Username, "role", string(u.Role), "address", address)
	return u, nil
}

// currentSession answers GET /api/v1/session.
func (s *server) currentSession(c echo.Context) error {
	u, _ := staffUser(c)
	return s.sessionJSON(c, u)
}

// logout ends the session: DELETE /api/v1/session.
func (s *server) logout(c echo.Context) error {
	if err := s.signOut(c); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "signed_out"})
}

// signOut ends the session and audits it, for the API and the pages.
func (s *server) signOut(c echo.Context) error {
	u, _ := staffUser(c)
	ctx := c.Request().Context()
	if err := s.sessions.Destroy(ctx); err != nil {
		return staffUnavailable(fmt.Errorf("end session: %w", err))
	}
	address := clientKey(c.Request(), s.ClientIPHeader)
	if err := s.Staff.Record(ctx, staff.Event{Username: u.Username, Role: string(u.Role), Action: staff.ActionLogout, Address: address}); err != nil {
		s.Logger.Warn("staff sign-out not audited", "user", u.Username, "err", err)
	}
	return nil
}

// staffUnavailable is the answer of a staff route whose store or session
// cannot be reached; cause, when not nil, is logged once by the error
// handler.
func staffUnavailable(cause error) *enrollment.Error {
	return &enrollment.Error{Code: enrollment.CodeUnavailable,
		Message:    "Dịch vụ dành cho cán bộ tạm thời không sẵn sàng; vui lòng thử lại sau ít phút",
		MessageEN:  "Staff services are unavailable for the moment; please try again in a few minutes",
		RetryAfter: 30 * time.Second, Err: cause}
}
