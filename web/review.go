package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
)

// Review and direct registration (issue 8).
//
// Who sees what. A school's applicant list and its direct registration
// are routes of the school: authorizeSchool answers 403 to staff who do
// not cover it (school codes are public, so refusing them hides nothing).
// An application's file and its decisions belong to the school of its
// FIRST choice, the authorities above that school and the city; to
// everyone else the application answers 404, the same as an unknown code,
// so that a clerk of another school cannot learn from the answer that a
// tracking code exists. Refusals carry no application data.

// releaser is what a void needs of the intake: the release of the child's
// duplicate guard (*intake.Queue has it; the Direct intake keeps none).
type releaser interface {
	Release(ctx context.Context, level enrollment.Level, year int, idNumber, code string) error
}

// actorOf is the audit's name for a staff user.
func actorOf(u staff.User) enrollment.Actor {
	return enrollment.Actor{Name: u.Username, Role: enrollment.ActorRole(u.Role)}
}

func badQuery(field, vi, en string) *enrollment.Error {
	return &enrollment.Error{Code: enrollment.CodeBadRequest, Message: vi, MessageEN: en,
		Problems: []enrollment.Problem{{Field: field, Message: vi, MessageEN: en}}}
}

// listApplicants answers GET /api/v1/schools/{code}/applications: the
// applicants who named the school at any rank, filtered and paged.
func (s *server) listApplicants(c echo.Context) error {
	code := c.Param("code")
	if err := s.authorizeSchool(c, code); err != nil {
		return err
	}
	q, err := applicantQuery(c, code)
	if err != nil {
		return err
	}
	page, err := s.DB.Applicants(c.Request().Context(), q)
	if err != nil {
		return staffUnavailable(fmt.Errorf("applicant list of %s not loaded: %w", code, err))
	}
	return c.JSON(http.StatusOK, page)
}

// applicantQuery reads a list's filters and its page (page, per_page)
// from the query string: the API's list and the list page share it.
func applicantQuery(c echo.Context, code string) (enrollment.ApplicantQuery, error) {
	q, err := applicantFilter(c, code)
	if err != nil {
		return q, err
	}
	q.Page, q.PerPage = 1, 50
	for _, p := range []struct {
		name string
		to   *int
	}{{"page", &q.Page}, {"per_page", &q.PerPage}} {
		if v := c.QueryParam(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return q, badQuery(p.name, "Tham số "+p.name+" phải là số nguyên dương", "query parameter "+p.name+" must be a positive integer")
			}
			*p.to = n
		}
	}
	return q, nil
}

// applicantFilter reads the filters of a school's applicant list (level,
// status, category, priority, q) from the query string; the list and its
// exports share them. A bad value is 400.
func applicantFilter(c echo.Context, school string) (enrollment.ApplicantQuery, error) {
	q := enrollment.ApplicantQuery{School: school, Level: enrollment.Level(c.QueryParam("level")),
		Status: enrollment.Status(c.QueryParam("status")), Category: enrollment.ResidenceCategory(c.QueryParam("category")),
		Q: c.QueryParam("q")}
	if q.Level != "" && !q.Level.Valid() {
		return q, badQuery("level", "Tham số level phải là một trong: mg3, mg4, mg5, lop1, lop6", "query parameter level must be one of mg3, mg4, mg5, lop1, lop6")
	}
	if q.Status != "" && !q.Status.Known() {
		return q, badQuery("status", "Tham số status không phải một trạng thái hồ sơ", "query parameter status is not an application status")
	}
	if q.Category != "" && !q.Category.Valid() {
		return q, badQuery("category", "Tham số category phải là dt1, dt2, dt3 hoặc dt4", "query parameter category must be dt1, dt2, dt3 or dt4")
	}
	if p := c.QueryParam("priority"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 3 {
			return q, badQuery("priority", "Tham số priority phải từ 0 đến 3", "query parameter priority must be 0 to 3")
		}
		q.Priority = &n
	}
	if len([]rune(q.Q)) > 100 {
		return q, badQuery("q", "Từ khóa tìm kiếm dài quá 100 ký tự", "the search text is longer than 100 characters")
	}
	return q, nil
}

// reviewHead loads the application a review route names and checks that
// the signed-in user may review it; everything else is the same 404.
func (s *server) reviewHead(c echo.Context) (enrollment.Head, error) {
	u, ok := staffUser(c)
	if !ok {
		return enrollment.Head{}, errUnauthorized
	}
	code, ok := enrollment.NormalizeTrackingCode(c.Param("code"))
	if !ok {
		return enrollment.Head{}, enrollment.ErrNotFound
	}
	h, err := s.DB.Head(c.Request().Context(), code)
	if err != nil {
		return enrollment.Head{}, s.storeError(err, "application not loaded")
	}
	if err := s.mayReview(c.Request().Context(), u, h); err != nil {
		return enrollment.Head{}, err
	}
	return h, nil
}

// mayReview returns nil when u covers the school of h's first choice, and
// ErrNotFound otherwise (see the comment at the top of this file).
func (s *server) mayReview(ctx context.Context, u staff.User, h enrollment.Head) error {
	school, err := s.Staff.School(ctx, h.FirstChoice)
	if err != nil {
		var e *enrollment.Error
		if errors.As(err, &e) {
			return enrollment.ErrNotFound
		}
		return staffUnavailable(fmt.Errorf("school authorities not loaded: %w", err))
	}
	if !u.Covers(school) {
		return enrollment.ErrNotFound
	}
	return nil
}

// storeError passes the store's *enrollment.Error on and turns anything
// else (PostgreSQL down) into 503, logged once.
func (s *server) storeError(err error, msg string) error {
	var e *enrollment.Error
	if errors.As(err, &e) {
		return e
	}
	return staffUnavailable(fmt.Errorf("%s: %w", msg, err))
}

// reviewFile answers GET /api/v1/applications/{code}/review: the whole
// file with its history.
func (s *server) reviewFile(c echo.Context) error {
	h, err := s.reviewHead(c)
	if err != nil {
		return err
	}
	f, err := s.DB.File(c.Request().Context(), h.TrackingCode)
	if err != nil {
		return s.storeError(err, "application file not loaded")
	}
	return c.JSON(http.StatusOK, f)
}

// decisionBody is the body of POST /api/v1/applications/{code}/review.
type decisionBody struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

// decisionTo maps a decision to the state it moves an application to.
var decisionTo = map[string]enrollment.Status{
	"accept": enrollment.StatusAccepted,
	"return": enrollment.StatusReturned,
	"void":   enrollment.StatusVoided,
}

// decide answers POST /api/v1/applications/{code}/review: accept, return
// (with a reason) or void (with a reason) an application, by the rules of
// enrollment.Transition. Every decision is recorded in application_events
// with the staff account and its role. After a void the child's duplicate
// guard in Redis is released, so the child may register again online.
func (s *server) decide(c echo.Context) error {
	var d decisionBody
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 8<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return enrollment.Errorf(enrollment.CodeBadRequest,
			`Cần gửi JSON {"decision": "accept" | "return" | "void", "reason": "..."}`,
			`send JSON {"decision": "accept" | "return" | "void", "reason": "..."}`)
	}
	h, to, err := s.applyDecision(c, d)
	if err != nil {
		return err
	}
	vi, en := to.Text()
	return c.JSON(http.StatusOK, map[string]any{"tracking_code": h.TrackingCode, "status": to, "status_text": vi, "status_text_en": en})
}

// applyDecision makes a staff decision on the application the route's
// :code names, for the API and the file page alike. It returns the
// application's head as it was and the state it moved to.
func (s *server) applyDecision(c echo.Context, d decisionBody) (enrollment.Head, enrollment.Status, error) {
	u, _ := staffUser(c)
	to, ok := decisionTo[d.Decision]
	if !ok {
		return enrollment.Head{}, "", &enrollment.Error{Code: enrollment.CodeInvalid,
			Message: `Quyết định phải là "accept" (duyệt), "return" (trả lại) hoặc "void" (hủy)`, MessageEN: `decision must be "accept", "return" or "void"`,
			Problems: []enrollment.Problem{{Field: "decision", Message: "Quyết định không hợp lệ", MessageEN: "unknown decision"}}}
	}
	code, ok := enrollment.NormalizeTrackingCode(c.Param("code"))
	if !ok {
		return enrollment.Head{}, "", enrollment.ErrNotFound
	}
	ctx := c.Request().Context()
	authorize := func(h enrollment.Head) error { return s.mayReview(ctx, u, h) }
	h, err := s.DB.Transition(ctx, code, to, actorOf(u), d.Reason, authorize)
	if err != nil {
		return enrollment.Head{}, "", s.storeError(err, "decision not stored")
	}
	if to == enrollment.StatusVoided {
		if r, ok := s.Intake.(releaser); ok {
			if err := r.Release(ctx, h.Level, h.SchoolYear, h.ChildIDNumber, h.TrackingCode); err != nil {
				// The void stands; until the guard expires the child can
				// be registered directly by the school.
				s.Logger.Warn("voided application: duplicate guard not released", "application", h.ID, "err", err)
			}
		}
	}
	s.Logger.Info("application decided", "application", h.ID, "user", u.Username, "role", string(u.Role), "from", string(h.Status), "to", string(to))
	return h, to, nil
}

// readForm reads a registration form from the request, as
// submitApplication does.
func readForm(c echo.Context) (*enrollment.Form, error) {
	req := c.Request()
	if req.ContentLength > enrollment.MaxFormBytes {
		return nil, enrollment.TooLarge()
	}
	body, err := readBody(req, nil)
	if err != nil {
		return nil, enrollment.Errorf(enrollment.CodeBadRequest, "Không đọc được nội dung yêu cầu", "cannot read the request body")
	}
	if len(body) > enrollment.MaxFormBytes {
		return nil, enrollment.TooLarge()
	}
	return enrollment.DecodeForm(body)
}

// correctApplication answers PUT /api/v1/applications/{code}: the parent
// sends a returned application again, corrected, with the full form (the
// same checks as a registration; the child's ID number, level and year
// unchanged). It becomes received again; its history is kept.
//
// Who may: the holder of the tracking code. There are no parent accounts
// yet; the code is a 100-bit random secret given only to whoever
// registered the child, which is what GET on the same address trusts too.
// The route is rate-limited per address like registrations. Not returned
// → 409; window closed → 403.
func (s *server) correctApplication(c echo.Context) error {
	code, ok := enrollment.NormalizeTrackingCode(c.Param("code"))
	if !ok {
		return enrollment.ErrNotFound
	}
	form, err := readForm(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	h, err := s.DB.Head(ctx, code)
	if err != nil {
		return s.publicStoreError(err)
	}
	if err := enrollment.CheckTransition(h.Status, enrollment.StatusReceived, enrollment.ActorParent, ""); err != nil {
		return err
	}
	now := s.NowFunc()
	cat := s.Catalog()
	if w, ok := cat.Window(h.Level, h.SchoolYear); !ok || !w.Open(now) {
		return enrollment.WindowClosedError(w, now)
	}
	app, err := cat.Check(form, now)
	if err != nil {
		return err
	}
	if err := s.DB.Correct(ctx, code, app); err != nil {
		return s.publicStoreError(err)
	}
	view, err := s.DB.Status(ctx, code)
	if err != nil {
		return s.publicStoreError(err)
	}
	return c.JSON(http.StatusOK, view)
}

// publicStoreError is storeError for the parents' routes.
func (s *server) publicStoreError(err error) error {
	var e *enrollment.Error
	if errors.As(err, &e) {
		return e
	}
	return &enrollment.Error{Code: enrollment.CodeUnavailable, Message: "Tạm thời không xử lý được hồ sơ; vui lòng thử lại sau ít phút",
		MessageEN: "applications cannot be handled right now; please try again in a few minutes", Err: fmt.Errorf("application store unavailable: %w", err)}
}

// registerDirect answers POST /api/v1/schools/{code}/applications: a
// clerk (or an authority or the city, in scope) registers a child who came
// in person. The same checks as online except the window, which must
// exist but may be closed; the school must be among the choices. Stored
// straight in PostgreSQL with source direct; 201.
//
// A child who already has an application for the level and year gets 409.
// The staff are trusted, and the 409 carries the existing application's
// tracking code when the caller covers that application (it is theirs to
// review: its first choice is their school or in their area), so the
// clerk can open it. When the existing application belongs to a school
// the caller does not cover, the code is not given: it is the parent's
// key to that file.
func (s *server) registerDirect(c echo.Context) error {
	school := c.Param("code")
	if err := s.authorizeSchool(c, school); err != nil {
		return err
	}
	form, err := readForm(c)
	if err != nil {
		return err
	}
	res, err := s.direct(c, school, form)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, statusURL(res.TrackingCode))
	vi, en := enrollment.StatusReceived.Text()
	return c.JSON(http.StatusCreated, map[string]any{"tracking_code": res.TrackingCode, "status": enrollment.StatusReceived,
		"status_text": vi, "status_text_en": en, "source": enrollment.SourceDirect,
		"status_url": statusURL(res.TrackingCode), "status_page": statusPage(res.TrackingCode), "submitted_at": res.SubmittedAt})
}

// direct checks and stores a direct registration at school, whose
// authorization the caller has checked: the API's and the registration
// page's one way in.
func (s *server) direct(c echo.Context, school string, form *enrollment.Form) (enrollment.DirectResult, error) {
	u, _ := staffUser(c)
	now := s.NowFunc()
	app, err := s.Catalog().CheckDirect(form, now)
	if err != nil {
		return enrollment.DirectResult{}, err
	}
	if !slices.Contains(app.Choices, school) {
		return enrollment.DirectResult{}, &enrollment.Error{Code: enrollment.CodeInvalid,
			Message:   fmt.Sprintf("Trường %s phải có trong các nguyện vọng của hồ sơ đăng ký trực tiếp tại trường", school),
			MessageEN: fmt.Sprintf("school %s must be among the choices of a registration made there in person", school),
			Problems:  []enrollment.Problem{{Field: "choices", Message: "Thiếu trường đang đăng ký", MessageEN: "the registering school is missing"}}}
	}
	ctx := c.Request().Context()
	res, err := s.DB.RegisterDirect(ctx, app, actorOf(u), now)
	if err != nil {
		var e *enrollment.Error
		if errors.As(err, &e) && e.Code == enrollment.CodeDuplicate && res.Existing != nil {
			dup := *e
			if s.mayReview(ctx, u, *res.Existing) == nil {
				dup.TrackingCode = res.Existing.TrackingCode
				dup.Message += "; mở hồ sơ đã có theo mã tra cứu kèm theo"
				dup.MessageEN += "; open the existing application by the tracking code given"
			} else {
				dup.Message += "; hồ sơ đó thuộc trường khác: đề nghị phụ huynh liên hệ trường của nguyện vọng 1, hoặc cơ quan quản lý"
				dup.MessageEN += "; it belongs to another school: ask the parent to contact the school of its first choice, or the authority"
			}
			return res, &dup
		}
		return res, s.storeError(err, "direct registration not stored")
	}
	s.Logger.Info("direct registration", "application", app.ID, "user", u.Username, "school", school)
	return res, nil
}

// preferStored reports whether a status document from Redis must give way
// to PostgreSQL: every state but queued is PostgreSQL's to tell, so a
// school's decision shows at once.
func preferStored(doc []byte) bool {
	var d struct {
		Status enrollment.Status `json:"status"`
	}
	return json.Unmarshal(doc, &d) != nil || !strings.EqualFold(string(d.Status), string(enrollment.StatusQueued))
}
