package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
)

func (s *server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 while registrations can be taken (Redis answers),
// saying whether PostgreSQL answers too, and 503 otherwise.
func (s *server) readyz(c echo.Context) error {
	ctx := c.Request().Context()
	if s.Ready != nil {
		if err := s.Ready(ctx); err != nil {
			return enrollment.Errorf(enrollment.CodeUnavailable, "Dịch vụ chưa sẵn sàng: "+err.Error(), "not ready: "+err.Error())
		}
	}
	body := map[string]string{"status": "ready", "postgres": "ok"}
	if s.Database != nil {
		if err := s.Database(ctx); err != nil {
			body["postgres"] = "unreachable: registrations are buffered until it is back"
		}
	}
	return c.JSON(http.StatusOK, body)
}

type windowJSON struct {
	enrollment.Window
	Open bool `json:"open"`
}

func (s *server) listWindows(c echo.Context) error {
	now := s.NowFunc()
	ws := s.Catalog().Windows()
	out := make([]windowJSON, len(ws))
	for i, w := range ws {
		out[i] = windowJSON{Window: w, Open: w.Open(now)}
	}
	return c.JSON(http.StatusOK, map[string]any{"windows": out})
}

// listSchools lists the schools offering a level, for the level's current
// window's school year unless school_year is given.
func (s *server) listSchools(c echo.Context) error {
	cat := s.Catalog()
	level := enrollment.Level(c.QueryParam("level"))
	if !level.Valid() {
		return &enrollment.Error{Code: enrollment.CodeBadRequest,
			Message:   "Tham số level phải là một trong: mg3, mg4, mg5, lop1, lop6",
			MessageEN: "query parameter level must be one of mg3, mg4, mg5, lop1, lop6",
			Problems:  []enrollment.Problem{{Field: "level", Message: "Cấp học không hợp lệ", MessageEN: "unknown level"}}}
	}
	year := 0
	if y := c.QueryParam("school_year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil {
			return enrollment.Errorf(enrollment.CodeBadRequest, "Tham số school_year phải là một năm, ví dụ 2027", "query parameter school_year must be a year, e.g. 2027")
		}
		year = n
	} else if w, ok := cat.CurrentWindow(level, s.NowFunc()); ok {
		year = w.SchoolYear
	}
	offers := cat.Offers(level, year)
	if offers == nil {
		offers = []*enrollment.Offer{}
	}
	return c.JSON(http.StatusOK, map[string]any{"level": level, "school_year": year, "schools": offers})
}

func (s *server) listWards(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"wards": s.Catalog().Wards()})
}

// receipt is the answer to a registration. It is assembled from parts
// encoded once, since the intake path answers tens of thousands a second.
type receipt struct {
	TrackingCode string `json:"tracking_code"`
	StatusURL    string `json:"status_url"`
	StatusPage   string `json:"status_page"` // the page a parent opens to follow the application
	Status       string `json:"status"`
	Message      string `json:"message"`
	MessageEN    string `json:"message_en"`
}

var (
	queuedTail   = receiptTail(string(enrollment.StatusQueued), "Đã tiếp nhận hồ sơ. Hãy lưu mã tra cứu để theo dõi kết quả.", "registration accepted. Keep the tracking code to follow its status.")
	repeatedTail = receiptTail("repeated", "Hồ sơ này đã được gửi trước đó; mã tra cứu vẫn là mã cũ", "this registration was already submitted; the tracking code is the first one")
)

// receiptTail encodes the constant fields of a receipt, from "status" on.
func receiptTail(status, vi, en string) []byte {
	b, err := json.Marshal(struct {
		Status    string `json:"status"`
		Message   string `json:"message"`
		MessageEN string `json:"message_en"`
	}{status, vi, en})
	if err != nil {
		panic(err)
	}
	return b[1:] // without "{"
}

// receiptJSON encodes a receipt. Tracking codes are letters and digits, so
// they need no escaping.
func receiptJSON(code string, tail []byte) []byte {
	b := make([]byte, 0, 160+len(tail))
	b = append(b, `{"tracking_code":"`...)
	b = append(b, code...)
	b = append(b, `","status_url":"`...)
	b = append(b, statusURLPrefix...)
	b = append(b, code...)
	b = append(b, `","status_page":"`...)
	b = append(b, statusPagePrefix...)
	b = append(b, code...)
	b = append(b, `",`...)
	return append(b, tail...)
}

// submitApplication checks a registration in full and queues it. It answers
// 202 once the registration is durably in the intake stream, 200 with the
// first tracking code for a repeated identical submission, and a 4xx or 503
// with a clear message otherwise.
//
// When the intake can count a registration against the rate limit in the
// Redis call that queues it (ridesLimit), the limit is checked here rather
// than by the route's middleware: a form that is queued costs one Redis
// call instead of two, and a request refused before it reaches the queue
// (unreadable, invalid, or for a window that asks the population register
// first) is counted on its own, so every request still counts.
func (s *server) submitApplication(c echo.Context) error {
	ride := s.ridesLimit()
	app, reason, err := s.checkRegistration(c)
	if err != nil {
		if ride {
			if refused := s.allowRegister(c); refused != nil {
				return refused
			}
		}
		s.Metrics.Reject(reason)
		return err
	}
	req := c.Request()
	cat := s.Catalog()
	if w, ok := cat.Window(app.Level, app.SchoolYear); ride && ok && w.VerifyRegistry && s.Registry != nil {
		// The population register is asked before the queue: count the
		// request first, so a client past its limit never reaches it.
		if refused := s.allowRegister(c); refused != nil {
			return refused
		}
		ride = false
	}
	// A window may verify registrations against the population register;
	// an unanswered register queues the registration pending verification.
	if down, err := cat.Verify(req.Context(), s.Registry, app); err != nil {
		s.Metrics.Reject("registry_mismatch")
		return err
	} else if down != nil {
		s.Logger.Warn("population register unavailable: registration queued pending verification", "err", down)
	}
	var rec intake.Receipt
	if ride {
		lim := intake.Limit{Key: s.RateLimiter.Key(RegisterLimit, clientKey(req, s.ClientIPHeader)), PerMinute: s.RegisterPerMinute}
		rec, err = s.Intake.(limitedIntake).SubmitLimited(req.Context(), app, lim)
	} else {
		rec, err = s.Intake.Submit(req.Context(), app)
	}
	if err != nil {
		var le *intake.LimitedError
		if errors.As(err, &le) {
			s.Metrics.Reject(string(enrollment.CodeTooMany))
			return tooManyRequests(le.RetryAfter)
		}
		return err
	}
	h := c.Response().Header()
	h[echo.HeaderLocation] = []string{statusURL(rec.TrackingCode)}
	h[echo.HeaderContentType] = jsonValue // as JSONBlob sets it, without allocating
	if rec.Repeated {
		return c.JSONBlob(http.StatusOK, receiptJSON(rec.TrackingCode, repeatedTail))
	}
	return c.JSONBlob(http.StatusAccepted, receiptJSON(rec.TrackingCode, queuedTail))
}

// checkRegistration reads, decodes and checks a registration. A refusal
// comes with the reason the metrics count it under.
func (s *server) checkRegistration(c echo.Context) (*enrollment.Application, string, error) {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" && ct != echo.MIMEApplicationJSON {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != echo.MIMEApplicationJSON {
			return nil, "bad_request", enrollment.Errorf(enrollment.CodeBadRequest,
				"Cần gửi hồ sơ dạng JSON (Content-Type: application/json), đã gửi "+ct,
				"send the registration as JSON (Content-Type: application/json), got "+ct)
		}
	}
	if req.ContentLength > enrollment.MaxFormBytes {
		return nil, "too_large", enrollment.TooLarge() // refused before a byte of it is read
	}
	// The body's buffer is used again for another request once the form
	// is decoded: the form keeps copies of what it holds.
	bp := bodyBuffers.Get().(*[]byte)
	body, err := readBody(req, (*bp)[:0])
	defer func() {
		if cap(body) <= maxPooledBody {
			*bp = body[:0]
			bodyBuffers.Put(bp)
		}
	}()
	if err != nil {
		return nil, "bad_request", enrollment.Errorf(enrollment.CodeBadRequest, "Không đọc được nội dung yêu cầu", "cannot read the request body")
	}
	if len(body) > enrollment.MaxFormBytes {
		return nil, "too_large", enrollment.TooLarge()
	}
	form, err := enrollment.DecodeForm(body)
	if err != nil {
		return nil, "bad_request", err
	}
	app, err := s.Catalog().Check(form, s.NowFunc())
	if err != nil {
		reason := "bad_request"
		var e *enrollment.Error
		if errors.As(err, &e) {
			reason = string(e.Code)
		}
		return nil, reason, err
	}
	return app, "", nil
}

// applicationStatus answers from the status document in Redis while it
// says queued (only Redis knows the application then), and otherwise from
// PostgreSQL, which holds the truth once an application is stored: a
// school's decision shows at once. The Redis document is answered when
// PostgreSQL does not know the code (a registration dropped from the dead
// letters, not_stored) or does not answer.
func (s *server) applicationStatus(c echo.Context) error {
	code, ok := enrollment.NormalizeTrackingCode(c.Param("code"))
	if !ok {
		// The same answer as an unknown code: a prober learns nothing from
		// which codes are well formed.
		return enrollment.ErrNotFound
	}
	ctx := c.Request().Context()
	doc, ok, err := s.Intake.Status(ctx, code)
	if err == nil && ok {
		if preferStored(doc) {
			if view, serr := s.DB.Status(ctx, code); serr == nil {
				c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
				return c.JSON(http.StatusOK, view)
			}
		}
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		return c.JSONBlob(http.StatusOK, doc)
	}
	// Redis is down or no longer has the code: PostgreSQL knows every
	// stored application.
	view, serr := s.DB.Status(ctx, code)
	if serr != nil {
		var e *enrollment.Error
		if errors.As(serr, &e) {
			if err != nil && e.Code == enrollment.CodeNotFound {
				return err // Redis down and not stored yet: unknown, not absent
			}
			return e
		}
		var re *enrollment.Error
		if errors.As(err, &re) {
			// Both are down: answer Redis's refusal, with both causes.
			both := *re
			both.Err = errors.Join(re.Err, serr)
			return &both
		}
		return &enrollment.Error{Code: enrollment.CodeUnavailable, Message: "Tạm thời không tra cứu được; vui lòng thử lại sau",
			MessageEN: "status lookups are unavailable; please try again later", Err: serr}
	}
	if err != nil {
		// PostgreSQL answered for Redis: Redis's failure ends here.
		s.Logger.Warn("status from PostgreSQL: redis lookup failed", "err", err)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, view)
}

// intakeState shows the intake buffer's state, for the authorities'
// live view of a window.
func (s *server) intakeState(c echo.Context) error {
	st, err := s.Intake.State(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, struct {
		intake.State
		At time.Time `json:"at"`
	}{st, s.NowFunc().UTC()})
}

// bodyBuffers holds buffers for registration bodies, up to maxPooledBody
// bytes (a registration is under 2 KB).
var bodyBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 4<<10)
	return &b
}}

const maxPooledBody = 16 << 10

// readBody reads at most MaxFormBytes+1 bytes of a request body, appending
// them to buf, which it first grows to the Content-Length when the client
// sent one.
func readBody(req *http.Request, buf []byte) ([]byte, error) {
	if n := req.ContentLength; n >= 0 && n <= enrollment.MaxFormBytes {
		buf = slices.Grow(buf, int(n)+1)
	}
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 512)
		}
		n, err := req.Body.Read(buf[len(buf):min(cap(buf), enrollment.MaxFormBytes+1)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil || len(buf) > enrollment.MaxFormBytes {
			return buf, err
		}
	}
}
