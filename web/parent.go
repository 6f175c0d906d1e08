package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
)

// Parents after placement (issue 10).
//
// Who may see and act on an application's whole file. The tracking code
// alone shows only the state (GET /api/v1/applications/{code}). To see
// the file, its history and its result, and to confirm or decline the
// seat, a parent proves they hold it: the tracking code together with the
// child's ID number (POST /api/v1/lookup). That opens a parent session
// for that one application: a cookie (HttpOnly, SameSite=Strict, kept
// server-side in the sessions table, ended after ParentSessionLifetime)
// and a CSRF token the page sends back on the decision. Every wrong pair
// gets the same 404, and the lookup is throttled per client address and
// per tracking code, so neither codes nor ID numbers can be guessed
// through it. Staff act on the same routes through their own session, in
// scope: the school the child was placed at (or of the first choice), an
// authority above it, or the city; to others the application is 404.

// ParentCookie is the name of the parent session cookie.
const ParentCookie = "tuyensinh_parent"

// ParentSessionLifetime is how long a parent session lasts after the
// lookup that opened it: long enough to read, decide and print, short
// enough for a shared phone or an internet café.
const ParentSessionLifetime = 30 * time.Minute

// Limits of the lookup: per client address, and per tracking code
// whatever the address (an ID number guessed from many addresses).
const (
	LookupLimit            = "lookup"
	LookupCodeLimit        = "lookup_code"
	LookupPerMinute        = 10
	LookupPerCodePerMinute = 5
)

// Keys of a parent session's values.
const (
	parentCode = "code" // the tracking code the session was opened for
	parentCSRF = "csrf" // the session's CSRF secret
)

// parents serves the parents' routes after placement and the public
// results.
type parents struct {
	*server
	sm *scs.SessionManager // nil without a database
	// summaries caches each published run's per-school table: a
	// published run never changes, and its result file may be tens of
	// megabytes.
	summaries sync.Map // int64 → []publishedSchool
}

// parentRoutes adds the routes of parents after placement and of the
// public results.
func (s *server) parentRoutes(api *echo.Group) {
	p := &parents{server: s}
	if s.DB != nil {
		sm := scs.New()
		sm.Store = postgresstore.New(s.DB.Handle().DB)
		sm.Lifetime = ParentSessionLifetime
		sm.IdleTimeout = 0
		sm.Cookie.Name = ParentCookie
		sm.Cookie.Path = "/"
		sm.Cookie.HttpOnly = true
		sm.Cookie.SameSite = http.SameSiteStrictMode
		sm.Cookie.Secure = s.Sessions.CookieSecure
		sm.Cookie.Persist = false
		p.sm = sm
	}
	api.POST("/lookup", p.lookup, noStore)
	api.POST("/applications/:code/decision", p.decision, noStore)
	api.GET("/applications/:code/slip.pdf", p.slipPDF, noStore)
	api.GET("/placement/published", p.published)
	api.GET("/placement/published/:id/instance.json", p.publishedFile(postgres.FileInstance))
	api.GET("/placement/published/:id/result.json", p.publishedFile(postgres.FileResult))
}

func parentsUnavailable() *enrollment.Error {
	return &enrollment.Error{Code: enrollment.CodeUnavailable,
		Message:    "Tạm thời không tra cứu được hồ sơ; vui lòng thử lại sau ít phút",
		MessageEN:  "applications cannot be looked up right now; please try again in a few minutes",
		RetryAfter: 30 * time.Second}
}

// errNoMatch is the one answer to every wrong pair of tracking code and
// ID number, whichever of them is wrong.
var errNoMatch = enrollment.Errorf(enrollment.CodeNotFound,
	"Không tìm thấy hồ sơ với mã tra cứu và số định danh này. Kiểm tra lại cả hai (số định danh của trẻ gồm 12 chữ số)",
	"no application matches this tracking code and ID number; check both (the child's ID number has 12 digits)")

var errParentSession = enrollment.Errorf(enrollment.CodeUnauthorized,
	"Phiên tra cứu đã hết hạn hoặc chưa có: hãy tra cứu lại bằng mã tra cứu và số định danh của trẻ",
	"the lookup session has ended or was never opened: look the application up again with its tracking code and the child's ID number")

var errParentCSRF = enrollment.Errorf(enrollment.CodeForbidden,
	"Yêu cầu thiếu mã chống giả mạo (CSRF) của phiên tra cứu; hãy tải lại trang và tra cứu lại",
	"the request lacks the lookup session's CSRF token; reload the page and look the application up again")

type lookupBody struct {
	TrackingCode  string `json:"tracking_code"`
	ChildIDNumber string `json:"child_id_number"`
}

// parentView is the answer of the lookup: the whole application as
// submitted with its history, the state in words, the names of the
// schools it names, and after publication its result and the public
// facts of the run that placed it.
type parentView struct {
	enrollment.File
	StatusText   string              `json:"status_text"`
	StatusTextEN string              `json:"status_text_en"`
	SchoolNames  map[string]string   `json:"school_names"`
	Result       *postgres.Result    `json:"result,omitempty"`
	Placement    *postgres.Placement `json:"placement,omitempty"`
	CanDecide    bool                `json:"can_decide"`
	CSRFToken    string              `json:"csrf_token,omitempty"`
	ExpiresAt    *time.Time          `json:"session_expires_at,omitempty"`
}

// lookup answers POST /api/v1/lookup.
func (p *parents) lookup(c echo.Context) error {
	var b lookupBody
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil || b.TrackingCode == "" || b.ChildIDNumber == "" {
		return enrollment.Errorf(enrollment.CodeBadRequest,
			`Cần gửi JSON {"tracking_code": "...", "child_id_number": "..."}`,
			`send JSON {"tracking_code": "...", "child_id_number": "..."}`)
	}
	if err := p.allow(c, RateLimit{LookupLimit, LookupPerMinute}, clientKey(c.Request(), p.ClientIPHeader)); err != nil {
		return err
	}
	code, ok := enrollment.NormalizeTrackingCode(b.TrackingCode)
	if !ok {
		return errNoMatch
	}
	if err := p.allow(c, RateLimit{LookupCodeLimit, LookupPerCodePerMinute}, code); err != nil {
		return err
	}
	if p.sm == nil {
		return parentsUnavailable()
	}
	ctx := c.Request().Context()
	f, err := p.DB.File(ctx, code)
	stored := f.Child.IDNumber
	if errors.Is(err, enrollment.ErrNotFound) {
		stored = "" // compared all the same, so a missing code takes as long as a wrong number
	} else if err != nil {
		p.Logger.Warn("parent lookup: application not loaded", "err", err)
		return parentsUnavailable()
	}
	given := strings.Join(strings.Fields(b.ChildIDNumber), "")
	if !sameSecret(given, stored) || err != nil {
		return errNoMatch
	}
	view, err := p.view(ctx, f)
	if err != nil {
		return err
	}
	// A new session for this application alone, replacing any other the
	// browser had: one lookup, one child.
	sctx, err := p.sm.Load(ctx, "")
	if err != nil {
		return parentsUnavailable()
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	p.sm.Put(sctx, parentCode, code)
	p.sm.Put(sctx, parentCSRF, secret)
	token, expiry, err := p.sm.Commit(sctx)
	if err != nil {
		p.Logger.Warn("parent session not saved", "err", err)
		return parentsUnavailable()
	}
	p.sm.WriteSessionCookie(sctx, c.Response().Writer, token, expiry)
	view.CSRFToken = csrfToken(secret)
	exp := expiry.UTC()
	view.ExpiresAt = &exp
	return c.JSON(http.StatusOK, view)
}

// sameSecret compares two ID numbers in constant time: their SHA-256
// digests, so that neither the length nor the first differing digit of
// the stored number shows in the time taken. An empty stored number
// matches nothing.
func sameSecret(given, stored string) bool {
	g, s := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(stored))
	return subtle.ConstantTimeCompare(g[:], s[:]) == 1 && stored != ""
}

// allow counts a lookup under limit for key, answering 429 past it. Like
// every limit here it fails open when Redis does not answer.
func (p *parents) allow(c echo.Context, limit RateLimit, key string) error {
	if p.RateLimiter == nil {
		return nil
	}
	ok, retry, err := p.RateLimiter.Allow(c.Request().Context(), limit, key)
	if err != nil {
		p.RateLimiter.warnOpen(err)
		return nil
	}
	if !ok {
		return tooManyRequests(retry)
	}
	return nil
}

// view builds the parent's view of an application.
func (p *parents) view(ctx context.Context, f enrollment.File) (parentView, error) {
	v := parentView{File: f}
	v.StatusText, v.StatusTextEN = f.Status.Text()
	res, pl, ok, err := p.DB.Result(ctx, f.TrackingCode)
	if err != nil {
		p.Logger.Warn("parent lookup: result not loaded", "err", err)
		return v, parentsUnavailable()
	}
	codes := append([]string(nil), f.Choices...)
	if ok {
		v.Result, v.Placement = &res, &pl
		v.CanDecide = f.Status == enrollment.StatusPlaced && (res.ConfirmBy == nil || p.NowFunc().Before(*res.ConfirmBy))
		if res.School != nil {
			codes = append(codes, *res.School)
		}
	}
	if v.SchoolNames, err = p.DB.SchoolNames(ctx, codes); err != nil {
		p.Logger.Warn("parent lookup: school names not loaded", "err", err)
		return v, parentsUnavailable()
	}
	return v, nil
}

// parentSession returns the tracking code and CSRF secret of the
// request's parent session, ok false without one.
func (p *parents) parentSession(c echo.Context) (code string, csrf []byte, ok bool) {
	if p.sm == nil {
		return "", nil, false
	}
	ck, err := c.Request().Cookie(ParentCookie)
	if err != nil || ck.Value == "" {
		return "", nil, false
	}
	ctx, err := p.sm.Load(c.Request().Context(), ck.Value)
	if err != nil {
		p.Logger.Warn("parent session not loaded", "err", err)
		return "", nil, false
	}
	code = p.sm.GetString(ctx, parentCode)
	return code, p.sm.GetBytes(ctx, parentCSRF), code != ""
}

// hasStaffCookie reports whether the request carries a staff session
// cookie: its routes then go through the staff chain.
func hasStaffCookie(c echo.Context) bool {
	ck, err := c.Request().Cookie(SessionCookie)
	return err == nil && ck.Value != ""
}

// asStaff runs h behind the staff routes' chain (session, authenticate,
// requireStaff, checkCSRF).
func (p *parents) asStaff(c echo.Context, h echo.HandlerFunc) error {
	return p.session(p.authenticate(p.requireStaff(p.checkCSRF(h))))(c)
}

type seatDecisionBody struct {
	Decision string `json:"decision"`
}

var seatDecisionTo = map[string]enrollment.Status{
	"confirm": enrollment.StatusConfirmed,
	"decline": enrollment.StatusDeclined,
}

// decision answers POST /api/v1/applications/{code}/decision: the parent
// (with the lookup's session and X-CSRF-Token) or a school clerk in scope
// recording what a parent said in person confirms or declines the seat.
func (p *parents) decision(c echo.Context) error {
	var d seatDecisionBody
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return enrollment.Errorf(enrollment.CodeBadRequest,
			`Cần gửi JSON {"decision": "confirm" | "decline"}`, `send JSON {"decision": "confirm" | "decline"}`)
	}
	to, ok := seatDecisionTo[d.Decision]
	if !ok {
		return &enrollment.Error{Code: enrollment.CodeInvalid,
			Message: `Quyết định phải là "confirm" (xác nhận nhập học) hoặc "decline" (từ chối)`, MessageEN: `decision must be "confirm" or "decline"`,
			Problems: []enrollment.Problem{{Field: "decision", Message: "Quyết định không hợp lệ", MessageEN: "unknown decision"}}}
	}
	code, ok := enrollment.NormalizeTrackingCode(c.Param("code"))
	if !ok {
		return enrollment.ErrNotFound
	}
	if p.DB == nil {
		return parentsUnavailable()
	}
	if hasStaffCookie(c) {
		return p.asStaff(c, func(c echo.Context) error {
			u, _ := staffUser(c)
			ctx := c.Request().Context()
			authorize := func(seat postgres.Seat) error { return p.mayActOnSeat(ctx, c, seat.School, seat.FirstChoice) }
			seat, err := p.DB.DecideSeat(ctx, code, to, actorOf(u), p.NowFunc(), authorize)
			if err != nil {
				return p.storeError(err, "seat decision not stored")
			}
			p.Logger.Info("seat decided by staff", "application", seat.ID, "user", u.Username, "role", string(u.Role), "from", string(seat.Status), "to", string(to))
			return decided(c, code, to)
		})
	}
	sessCode, secret, ok := p.parentSession(c)
	if !ok || sessCode != code {
		return errParentSession
	}
	if !validCSRF(secret, c.Request().Header.Get("X-CSRF-Token")) {
		return errParentCSRF
	}
	parent := enrollment.Actor{Name: string(enrollment.ActorParent), Role: enrollment.ActorParent}
	seat, err := p.DB.DecideSeat(c.Request().Context(), code, to, parent, p.NowFunc(), nil)
	if err != nil {
		return p.publicStoreError(err)
	}
	p.Logger.Info("seat decided by the parent", "application", seat.ID, "to", string(to))
	return decided(c, code, to)
}

func decided(c echo.Context, code string, to enrollment.Status) error {
	vi, en := to.Text()
	return c.JSON(http.StatusOK, map[string]any{"tracking_code": code, "status": to, "status_text": vi, "status_text_en": en})
}

// mayActOnSeat returns nil when the signed-in user covers the school a
// child was placed at or, failing that, the school of its first choice,
// and ErrNotFound otherwise (as for review: another school's clerk learns
// nothing of the application).
func (p *parents) mayActOnSeat(ctx context.Context, c echo.Context, schools ...string) error {
	u, ok := staffUser(c)
	if !ok {
		return errUnauthorized
	}
	for _, code := range schools {
		if code == "" {
			continue
		}
		school, err := p.Staff.School(ctx, code)
		if err != nil {
			var e *enrollment.Error
			if errors.As(err, &e) {
				continue
			}
			return staffUnavailable(fmt.Errorf("school authorities not loaded: %w", err))
		}
		if u.Covers(school) {
			return nil
		}
	}
	return enrollment.ErrNotFound
}
