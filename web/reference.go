package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
)

// Reference data for the authorities (issue 9): quotas, catchments,
// windows and placement policies.
//
// Who may do what. Reading a school's offers and audit: whoever covers the
// school (its clerk, the authorities above it, the city); editing them:
// the authorities above it and the city, never a clerk. Windows are the
// city's: every officer reads them, only the city edits them. A policy
// belongs to an authority: the city and the officers of that authority or
// of one above it read and edit it; clerks do neither. School codes and
// authority codes are public (the parents' form lists schools and wards),
// so a refusal is 403 and an unknown code 404; refusals carry no data.
//
// Every edit is audited in reference_events in the transaction that makes
// it (enrollment/postgres/refdata.go) and then pushed to this process's
// catalog at once (Deps.RefreshCatalog), so the intake checks the next
// registration against it; other serving processes pick it up on their
// own refresh, within 30 seconds.

// referenceRoutes registers the reference data routes and the dashboard.
func (s *server) referenceRoutes(e *echo.Echo, api *echo.Group) {
	r := s.staffRoute()
	api.GET("/reference/offers", s.listOffers, r...)
	api.GET("/reference/schools/:code/offers/:level/:year", s.getOffer, r...)
	api.PUT("/reference/schools/:code/offers/:level/:year", s.putQuota, r...)
	api.PUT("/reference/schools/:code/offers/:level/:year/catchment", s.putCatchment, r...)
	api.GET("/reference/schools/:code/events", s.schoolEvents, r...)
	api.POST("/reference/catchments/copy", s.copyCatchments, r...)
	api.GET("/reference/windows", s.listRefWindows, r...)
	api.PUT("/reference/windows/:level/:year", s.putWindow, r...)
	api.GET("/reference/policies/:authority/:level/:year", s.getPolicy, r...)
	api.PUT("/reference/policies/:authority/:level/:year", s.putPolicy, r...)
	api.GET("/dashboard", s.dashboardJSON, r...)
	s.officerPages(e)
}

var (
	errClerkReadOnly = enrollment.Errorf(enrollment.CodeForbidden,
		"Cán bộ nhà trường chỉ được xem chỉ tiêu và tuyến tuyển sinh; việc sửa thuộc cơ quan quản lý (phường/xã, thành phố)",
		"school clerks may read quotas and catchments only; editing them is the authority's")
	errCityOnly = enrollment.Errorf(enrollment.CodeForbidden,
		"Chỉ Sở Giáo dục và Đào tạo (tài khoản cấp thành phố) được sửa thời gian tuyển sinh",
		"only the city may edit registration windows")
	errOfficersOnly = enrollment.Errorf(enrollment.CodeForbidden,
		"Chức năng này dành cho cán bộ cơ quan quản lý (phường/xã, thành phố)",
		"this is for the authorities' officers")
)

// areaOf is what u covers, as a filter of lists.
func areaOf(u staff.User) postgres.Area {
	switch u.Role {
	case staff.RoleAuthority:
		return postgres.Area{Authority: u.Scope}
	case staff.RoleSchool:
		return postgres.Area{School: u.Scope}
	}
	return postgres.Area{}
}

// editSchool authorizes an edit of a school's reference data: the school
// covered, and not by a clerk.
func (s *server) editSchool(c echo.Context, code string) (staff.User, error) {
	if err := s.authorizeSchool(c, code); err != nil {
		return staff.User{}, err
	}
	u, _ := staffUser(c)
	if u.Role == staff.RoleSchool {
		return staff.User{}, errClerkReadOnly
	}
	return u, nil
}

// authorizeAuthority returns nil when u may read and edit the reference
// data of the authority code: the city, or an officer of it or of one
// above it.
func (s *server) authorizeAuthority(c echo.Context, code string) error {
	u, ok := staffUser(c)
	if !ok {
		return errUnauthorized
	}
	if u.Role == staff.RoleSchool {
		return errOfficersOnly
	}
	chain, err := s.DB.AuthorityChain(c.Request().Context(), code)
	if err != nil {
		return s.storeError(err, "authority not loaded")
	}
	if u.Role == staff.RoleCity {
		return nil
	}
	for _, a := range chain {
		if a == u.Scope {
			return nil
		}
	}
	return errForbidden
}

func invalidField(field, vi, en string) *enrollment.Error {
	return &enrollment.Error{Code: enrollment.CodeInvalid, Message: vi, MessageEN: en,
		Problems: []enrollment.Problem{{Field: field, Message: vi, MessageEN: en}}}
}

// levelYear reads the level and school year of a path or query.
func levelYear(level, year string) (enrollment.Level, int, error) {
	l := enrollment.Level(level)
	if !l.Valid() {
		return "", 0, invalidField("level", "Cấp học phải là một trong: mg3, mg4, mg5, lop1, lop6",
			"level must be one of mg3, mg4, mg5, lop1, lop6")
	}
	y, err := strconv.Atoi(year)
	if err != nil || y < 2000 || y > 2100 {
		return "", 0, invalidField("school_year", "Năm học phải là năm bắt đầu của năm học, ví dụ 2027", "school_year must be the year the school year starts, e.g. 2027")
	}
	return l, y, nil
}

// decodeJSON reads a JSON body of at most 64 KiB into v, refusing unknown
// fields, and names what is wrong.
func decodeJSON(c echo.Context, v any, shape string) error {
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return enrollment.TooLarge()
	case errors.As(err, &te) && te.Field != "":
		return &enrollment.Error{Code: enrollment.CodeBadRequest,
			Message: fmt.Sprintf("Trường %s có kiểu dữ liệu sai; cần gửi JSON %s", te.Field, shape), MessageEN: fmt.Sprintf("field %s has the wrong type; send JSON %s", te.Field, shape),
			Problems: []enrollment.Problem{{Field: te.Field, Message: "Kiểu dữ liệu sai", MessageEN: "wrong type"}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &enrollment.Error{Code: enrollment.CodeBadRequest,
			Message: fmt.Sprintf("Không có trường %q; cần gửi JSON %s", name, shape), MessageEN: fmt.Sprintf("unknown field %q; send JSON %s", name, shape),
			Problems: []enrollment.Problem{{Field: name, Message: "Trường không được hỗ trợ", MessageEN: "unknown field"}}}
	}
	return enrollment.Errorf(enrollment.CodeBadRequest, "Không đọc được JSON; cần gửi "+shape, "cannot read the JSON body; send "+shape)
}

// refreshCatalog pushes an edit to this process's catalog at once. A
// failure is logged: the edit is stored, and the periodic refresh brings
// it within 30 seconds.
func (s *server) refreshCatalog(ctx context.Context) {
	if s.RefreshCatalog == nil {
		return
	}
	if err := s.RefreshCatalog(context.WithoutCancel(ctx)); err != nil {
		s.Logger.Warn("catalog not refreshed after a reference edit; the periodic refresh will bring it", "err", err)
	}
}

// listOffers answers GET /api/v1/reference/offers?level=&school_year=:
// the offers of the schools the caller covers.
func (s *server) listOffers(c echo.Context) error {
	u, _ := staffUser(c)
	level, year, err := levelYear(c.QueryParam("level"), c.QueryParam("school_year"))
	if err != nil {
		return err
	}
	list, err := s.DB.Offers(c.Request().Context(), level, year, areaOf(u))
	if err != nil {
		return s.storeError(err, "offers not loaded")
	}
	return c.JSON(http.StatusOK, map[string]any{"level": level, "school_year": year, "offers": list})
}

func (s *server) offerKey(c echo.Context) (postgres.OfferKey, error) {
	level, year, err := levelYear(c.Param("level"), c.Param("year"))
	return postgres.OfferKey{School: c.Param("code"), Level: level, Year: year}, err
}

// getOffer answers GET /api/v1/reference/schools/{code}/offers/{level}/{year}.
func (s *server) getOffer(c echo.Context) error {
	if err := s.authorizeSchool(c, c.Param("code")); err != nil {
		return err
	}
	k, err := s.offerKey(c)
	if err != nil {
		return err
	}
	o, err := s.DB.Offer(c.Request().Context(), k)
	if err != nil {
		return s.storeError(err, "offer not loaded")
	}
	return c.JSON(http.StatusOK, o)
}

type quotaBody struct {
	Quota *int `json:"quota"`
}

// maxQuota bounds a quota: far above any school's intake, low enough to
// catch a typing slip of extra zeros.
const maxQuota = 5000

func checkQuota(q *int) error {
	switch {
	case q == nil:
		return invalidField("quota", "Thiếu chỉ tiêu (quota)", "quota is missing")
	case *q < 0 || *q > maxQuota:
		return invalidField("quota", fmt.Sprintf("Chỉ tiêu phải từ 0 đến %d", maxQuota), fmt.Sprintf("quota must be 0 to %d", maxQuota))
	}
	return nil
}

// putQuota answers PUT /api/v1/reference/schools/{code}/offers/{level}/{year}
// {"quota": N}: sets the quota, creating the offer if the school had none.
func (s *server) putQuota(c echo.Context) error {
	u, err := s.editSchool(c, c.Param("code"))
	if err != nil {
		return err
	}
	k, err := s.offerKey(c)
	if err != nil {
		return err
	}
	var b quotaBody
	if err := decodeJSON(c, &b, `{"quota": 120}`); err != nil {
		return err
	}
	if err := checkQuota(b.Quota); err != nil {
		return err
	}
	o, err := s.DB.SetQuota(c.Request().Context(), k, *b.Quota, actorOf(u))
	if err != nil {
		return s.storeError(err, "quota not stored")
	}
	s.refreshCatalog(c.Request().Context())
	s.Logger.Info("quota set", "user", u.Username, "school", k.School, "level", string(k.Level), "year", k.Year, "quota", o.Quota)
	return c.JSON(http.StatusOK, o)
}

type catchmentBody struct {
	Catchment []enrollment.Zone `json:"catchment"`
}

// maxZones bounds a catchment's zones.
const maxZones = 200

// putCatchment answers PUT …/offers/{level}/{year}/catchment
// {"catchment": [{"ward": "00004", "groups": ["TDP 1"]}, {"ward": "00007", "groups": []}]}.
func (s *server) putCatchment(c echo.Context) error {
	u, err := s.editSchool(c, c.Param("code"))
	if err != nil {
		return err
	}
	k, err := s.offerKey(c)
	if err != nil {
		return err
	}
	var b catchmentBody
	if err := decodeJSON(c, &b, `{"catchment": [{"ward": "00004", "groups": ["TDP 1"]}]}`); err != nil {
		return err
	}
	if b.Catchment == nil {
		return invalidField("catchment", "Thiếu danh sách tuyến (catchment); gửi [] để xóa tuyến", "catchment is missing; send [] to clear it")
	}
	if len(b.Catchment) > maxZones {
		return invalidField("catchment", fmt.Sprintf("Tuyến tuyển sinh có tối đa %d dòng", maxZones), fmt.Sprintf("a catchment has at most %d zones", maxZones))
	}
	o, err := s.DB.SetCatchment(c.Request().Context(), k, b.Catchment, actorOf(u))
	if err != nil {
		return s.storeError(err, "catchment not stored")
	}
	s.refreshCatalog(c.Request().Context())
	s.Logger.Info("catchment set", "user", u.Username, "school", k.School, "level", string(k.Level), "year", k.Year, "zones", len(o.Catchment))
	return c.JSON(http.StatusOK, o)
}

// schoolEvents answers GET /api/v1/reference/schools/{code}/events: the
// audit of the school's quotas and catchments, newest first.
func (s *server) schoolEvents(c echo.Context) error {
	code := c.Param("code")
	if err := s.authorizeSchool(c, code); err != nil {
		return err
	}
	list, err := s.DB.SchoolEvents(c.Request().Context(), code, 200)
	if err != nil {
		return s.storeError(err, "reference events not loaded")
	}
	return c.JSON(http.StatusOK, map[string]any{"school": code, "events": list})
}

type copyBody struct {
	Level    enrollment.Level `json:"level"`
	FromYear int              `json:"from_year"`
	ToYear   int              `json:"to_year"`
}

// copyCatchments answers POST /api/v1/reference/catchments/copy
// {"level", "from_year", "to_year"}: the catchments of every school the
// caller covers are copied from one year to the other, in one
// transaction.
func (s *server) copyCatchments(c echo.Context) error {
	u, _ := staffUser(c)
	if u.Role == staff.RoleSchool {
		return errClerkReadOnly
	}
	var b copyBody
	shape := `{"level": "lop1", "from_year": 2026, "to_year": 2027}`
	if err := decodeJSON(c, &b, shape); err != nil {
		return err
	}
	if _, _, err := levelYear(string(b.Level), strconv.Itoa(b.FromYear)); err != nil {
		if e := (*enrollment.Error)(nil); errors.As(err, &e) && e.Problems[0].Field == "school_year" {
			return invalidField("from_year", "Năm học nguồn (from_year) không hợp lệ", "from_year is not a school year")
		}
		return err
	}
	if b.ToYear < 2000 || b.ToYear > 2100 || b.ToYear == b.FromYear {
		return invalidField("to_year", "Năm học đích (to_year) phải là một năm học khác năm nguồn", "to_year must be a school year other than from_year")
	}
	res, err := s.DB.CopyCatchments(c.Request().Context(), b.Level, b.FromYear, b.ToYear, areaOf(u), actorOf(u))
	if err != nil {
		return s.storeError(err, "catchments not copied")
	}
	s.refreshCatalog(c.Request().Context())
	s.Logger.Info("catchments copied", "user", u.Username, "level", string(b.Level), "from", b.FromYear, "to", b.ToYear, "changed", len(res.Copied))
	return c.JSON(http.StatusOK, res)
}

// listRefWindows answers GET /api/v1/reference/windows: every window with
// its confirmation deadline, for the officers.
func (s *server) listRefWindows(c echo.Context) error {
	u, _ := staffUser(c)
	if u.Role == staff.RoleSchool {
		return errOfficersOnly
	}
	list, err := s.DB.Windows(c.Request().Context())
	if err != nil {
		return s.storeError(err, "windows not loaded")
	}
	return c.JSON(http.StatusOK, map[string]any{"windows": list})
}

type windowBody struct {
	OpensAt    *time.Time `json:"opens_at"`
	ClosesAt   *time.Time `json:"closes_at"`
	MaxChoices *int       `json:"max_choices"`
	ConfirmBy  *time.Time `json:"confirm_by"`
}

// checkWindow returns every problem of a window's settings at once.
func checkWindow(b windowBody) error {
	var ps []enrollment.Problem
	add := func(field, vi, en string) {
		ps = append(ps, enrollment.Problem{Field: field, Message: vi, MessageEN: en})
	}
	if b.OpensAt == nil {
		add("opens_at", "Thiếu thời điểm mở cổng (opens_at)", "opens_at is missing")
	}
	if b.ClosesAt == nil {
		add("closes_at", "Thiếu thời điểm đóng cổng (closes_at)", "closes_at is missing")
	}
	if b.OpensAt != nil && b.ClosesAt != nil && !b.ClosesAt.After(*b.OpensAt) {
		add("closes_at", "Thời điểm đóng cổng phải sau thời điểm mở cổng", "closes_at must be after opens_at")
	}
	if b.MaxChoices == nil || *b.MaxChoices < 1 || *b.MaxChoices > 20 {
		add("max_choices", "Số nguyện vọng tối đa (max_choices) phải từ 1 đến 20", "max_choices must be 1 to 20")
	}
	if b.ConfirmBy != nil && b.ClosesAt != nil && !b.ConfirmBy.After(*b.ClosesAt) {
		add("confirm_by", "Hạn xác nhận nhập học (confirm_by) phải sau thời điểm đóng cổng", "confirm_by must be after closes_at")
	}
	if len(ps) == 0 {
		return nil
	}
	return &enrollment.Error{Code: enrollment.CodeInvalid, Message: "Thời gian tuyển sinh chưa hợp lệ, vui lòng sửa các mục được nêu",
		MessageEN: "the window is not valid; please correct the fields listed", Problems: ps}
}

// putWindow answers PUT /api/v1/reference/windows/{level}/{year}
// {"opens_at", "closes_at", "max_choices", "confirm_by"}: the city creates
// or edits a registration window.
func (s *server) putWindow(c echo.Context) error {
	u, _ := staffUser(c)
	if u.Role != staff.RoleCity {
		return errCityOnly
	}
	level, year, err := levelYear(c.Param("level"), c.Param("year"))
	if err != nil {
		return err
	}
	var b windowBody
	if err := decodeJSON(c, &b, `{"opens_at": "2027-07-01T00:00:00+07:00", "closes_at": "2027-07-04T00:00:00+07:00", "max_choices": 1, "confirm_by": "2027-07-20T17:00:00+07:00"}`); err != nil {
		return err
	}
	if err := checkWindow(b); err != nil {
		return err
	}
	w, err := s.DB.SetWindow(c.Request().Context(), postgres.WindowSettings{Level: level, SchoolYear: year,
		OpensAt: *b.OpensAt, ClosesAt: *b.ClosesAt, MaxChoices: *b.MaxChoices, ConfirmBy: b.ConfirmBy}, actorOf(u))
	if err != nil {
		return s.storeError(err, "window not stored")
	}
	s.refreshCatalog(c.Request().Context())
	s.Logger.Info("window set", "user", u.Username, "level", string(level), "year", year)
	return c.JSON(http.StatusOK, w)
}

// getPolicy answers GET /api/v1/reference/policies/{authority}/{level}/{year}:
// the policy that applies (the authority's own, an authority's above it,
// or the defaults; "source" says which).
func (s *server) getPolicy(c echo.Context) error {
	code := c.Param("authority")
	if err := s.authorizeAuthority(c, code); err != nil {
		return err
	}
	level, year, err := levelYear(c.Param("level"), c.Param("year"))
	if err != nil {
		return err
	}
	p, err := s.DB.Policy(c.Request().Context(), code, level, year)
	if err != nil {
		return s.storeError(err, "policy not loaded")
	}
	return c.JSON(http.StatusOK, p)
}

type policyBody struct {
	PriorityRules           []string `json:"priority_rules"`
	Mechanism               string   `json:"mechanism"`
	TieBreak                string   `json:"tie_break"`
	AdministrativePlacement *bool    `json:"administrative_placement"`
}

// checkPolicy checks a policy with the placement engine's own parser
// (allocation.Validate on an instance holding only the policy), so that a
// stored policy is one every run can use.
func checkPolicy(b *policyBody) error {
	var ps []enrollment.Problem
	if b.Mechanism == "" {
		b.Mechanism = string(allocation.MechanismDA)
	}
	if b.TieBreak == "" {
		b.TieBreak = string(allocation.TieBreakSingle)
	}
	if b.AdministrativePlacement == nil {
		t := true
		b.AdministrativePlacement = &t
	}
	if b.PriorityRules == nil {
		ps = append(ps, enrollment.Problem{Field: "priority_rules", Message: `Thiếu danh sách quy tắc ưu tiên (priority_rules), ví dụ ["in_catchment+group1", "dt1", "dt2", "dt3"]`,
			MessageEN: `priority_rules is missing, e.g. ["in_catchment+group1", "dt1", "dt2", "dt3"]`})
	}
	if len(b.PriorityRules) > 32 {
		ps = append(ps, enrollment.Problem{Field: "priority_rules", Message: "Tối đa 32 quy tắc ưu tiên", MessageEN: "at most 32 priority rules"})
	}
	for i, r := range b.PriorityRules {
		b.PriorityRules[i] = strings.TrimSpace(r)
	}
	inst := &allocation.Instance{Seed: "policy check", Mechanism: allocation.Mechanism(b.Mechanism),
		TieBreak: allocation.TieBreak(b.TieBreak), PriorityRules: b.PriorityRules}
	var ie *allocation.InputError
	if err := allocation.Validate(inst); errors.As(err, &ie) {
		for _, p := range ie.Problems {
			field, _, _ := strings.Cut(p, " ")
			field = strings.TrimSuffix(field, ":")
			vi := "Giá trị không hợp lệ"
			switch {
			case strings.HasPrefix(field, "priority_rules"):
				vi = "Quy tắc ưu tiên không hợp lệ; mỗi quy tắc gồm các điều kiện nối bằng dấu +, trong số: dt1, dt2, dt3, in_catchment, group1, group2, group3, sibling"
			case field == "mechanism":
				vi = `Cơ chế xét tuyển (mechanism) phải là "da" (chấp nhận trì hoãn) hoặc "boston"`
			case field == "tie_break":
				vi = `Cách bốc thăm (tie_break) phải là "single" (một số cho mọi trường) hoặc "multiple" (mỗi trường một số)`
			}
			ps = append(ps, enrollment.Problem{Field: field, Message: vi, MessageEN: p})
		}
	} else if err != nil {
		return err
	}
	if len(ps) == 0 {
		return nil
	}
	return &enrollment.Error{Code: enrollment.CodeInvalid, Message: "Chính sách xét tuyển chưa hợp lệ, vui lòng sửa các mục được nêu",
		MessageEN: "the placement policy is not valid; please correct the fields listed", Problems: ps}
}

// putPolicy answers PUT /api/v1/reference/policies/{authority}/{level}/{year}
// {"priority_rules": [...], "mechanism", "tie_break", "administrative_placement"}.
func (s *server) putPolicy(c echo.Context) error {
	code := c.Param("authority")
	if err := s.authorizeAuthority(c, code); err != nil {
		return err
	}
	u, _ := staffUser(c)
	level, year, err := levelYear(c.Param("level"), c.Param("year"))
	if err != nil {
		return err
	}
	var b policyBody
	if err := decodeJSON(c, &b, `{"priority_rules": ["in_catchment+group1", "dt1", "dt2", "dt3"], "mechanism": "da", "tie_break": "single", "administrative_placement": true}`); err != nil {
		return err
	}
	if err := checkPolicy(&b); err != nil {
		if _, ok := err.(*enrollment.Error); !ok {
			return staffUnavailable(fmt.Errorf("policy not checked: %w", err))
		}
		return err
	}
	p, err := s.DB.SetPolicy(c.Request().Context(), postgres.Policy{Authority: code, Level: level, SchoolYear: year,
		PriorityRules: b.PriorityRules, Mechanism: b.Mechanism, TieBreak: b.TieBreak, AdministrativePlacement: *b.AdministrativePlacement}, actorOf(u))
	if err != nil {
		return s.storeError(err, "policy not stored")
	}
	s.Logger.Info("policy set", "user", u.Username, "authority", code, "level", string(level), "year", year)
	return c.JSON(http.StatusOK, p)
}
