package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/placement"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
)

// Placement runs (issue 9).
//
// Who may. The city runs placement for the whole city; an authority
// officer for the schools of its area (a run's scope is then its
// authority). School clerks may do none of it (403). An authority officer
// sees the runs whose scope lies in its area; any other run answers 404,
// as an unknown one does. The seeds' commitments are public at once, and
// a seed itself once a run of its level and year is published. A run's
// instance and result files are shown to staff who see the run while it
// is a preview (the instance holds the seed) and to everyone once it is
// published, so that anyone can re-run it. Every write is audited.

// Audit actions of placement.
const (
	actionSeedCommitted = "placement_seed_committed"
	actionRunCreated    = "placement_run_created"
	actionRunPublished  = "placement_run_published"
)

// placementRoutes adds the routes of placement runs.
func (s *server) placementRoutes(api *echo.Group) {
	api.GET("/placement/seeds", s.listSeeds)
	api.POST("/placement/seeds", s.commitSeed, s.staffRoute()...)
	api.POST("/placement/runs", s.createRun, s.staffRoute()...)
	api.GET("/placement/runs", s.listRuns, s.staffRoute()...)
	api.GET("/placement/runs/:id", s.getRun, s.staffRoute()...)
	api.POST("/placement/runs/:id/publish", s.publishRun, s.staffRoute()...)
	api.GET("/placement/runs/:id/instance", s.runInstance, s.optionalStaff()...)
	api.GET("/placement/runs/:id/result", s.runResult, s.optionalStaff()...)
	api.GET("/placement/runs/:id/assignments.csv", s.runAssignmentsCSV, s.optionalStaff()...)
	api.GET("/placement/runs/:id/schools.csv", s.runSchoolsCSV, s.optionalStaff()...)
	api.GET("/placement/compare", s.compareRuns, s.staffRoute()...)
}

// optionalStaff loads the staff session when there is one, for routes
// that anyone may read in part.
func (s *server) optionalStaff() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{noStore, s.session, s.authenticate}
}

var errNotPlacer = enrollment.Errorf(enrollment.CodeForbidden,
	"Chỉ cán bộ Sở hoặc cơ quan quản lý (phường, xã) được thực hiện phân tuyến",
	"only the city's or an authority's officers run placement")

// placer returns the signed-in user when it may run placement.
func placer(c echo.Context) (staff.User, error) {
	u, ok := staffUser(c)
	if !ok {
		return u, errUnauthorized
	}
	if u.Role != staff.RoleCity && u.Role != staff.RoleAuthority {
		return u, errNotPlacer
	}
	return u, nil
}

// scopeOf is the scope of the runs a user makes.
func scopeOf(u staff.User) string {
	if u.Role == staff.RoleCity {
		return ""
	}
	return u.Scope
}

// mayOpen returns nil when u may see run r: the city always, an authority
// when the run's scope lies in its area; ErrNoRun otherwise.
func (s *server) mayOpen(c echo.Context, u staff.User, r postgres.Run) error {
	if u.Role == staff.RoleCity {
		return nil
	}
	if u.Role != staff.RoleAuthority || r.Scope == "" {
		return postgres.ErrNoRun
	}
	chain, err := s.DB.AuthorityChain(c.Request().Context(), r.Scope)
	if err != nil {
		return s.storeError(err, "authorities not loaded")
	}
	if !slices.Contains(chain, u.Scope) {
		return postgres.ErrNoRun
	}
	return nil
}

// audit records a staff action; a failure is logged, the action stands.
func (s *server) audit(c echo.Context, u staff.User, action, detail string) {
	ev := staff.Event{Username: u.Username, Role: string(u.Role), Action: action, Detail: detail,
		Address: clientKey(c.Request(), s.ClientIPHeader)}
	if err := s.Staff.Record(c.Request().Context(), ev); err != nil {
		s.Logger.Warn("placement action not audited", "user", u.Username, "action", action, "err", err)
	}
}

// decodeBody reads a small JSON body strictly into v.
func decodeBody(c echo.Context, v any, shape string) error {
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 8<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return enrollment.Errorf(enrollment.CodeBadRequest, "Cần gửi JSON "+shape+": "+err.Error(), "send JSON "+shape+": "+err.Error())
	}
	return nil
}

type seedBody struct {
	Level      enrollment.Level `json:"level"`
	SchoolYear int              `json:"school_year"`
	Seed       *string          `json:"seed"`
}

type seedView struct {
	Level      string `json:"level"`
	SchoolYear int    `json:"school_year"`
	Commitment string `json:"commitment"`
	CreatedAt  string `json:"created_at"`
	// Seed and RevealedAt appear once a run of the level and year is
	// published.
	Seed       string `json:"seed,omitempty"`
	RevealedAt string `json:"revealed_at,omitempty"`
}

func viewSeed(sd postgres.Seed) seedView {
	v := seedView{Level: sd.Level, SchoolYear: sd.SchoolYear, Commitment: sd.Commitment, CreatedAt: sd.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")}
	if sd.RevealedAt != nil {
		v.Seed, v.RevealedAt = sd.Seed, sd.RevealedAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	return v
}

// maxSeedLen is the longest seed an officer may choose, in bytes.
const maxSeedLen = 256

// commitSeed answers POST /api/v1/placement/seeds: the level's lottery
// seed is committed, once; 201 {"level","school_year","commitment"}.
func (s *server) commitSeed(c echo.Context) error {
	u, err := placer(c)
	if err != nil {
		return err
	}
	var b seedBody
	if err := decodeBody(c, &b, `{"level", "school_year", "seed"?}`); err != nil {
		return err
	}
	sd, err := s.commitSeedAs(c, u, b)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"level": sd.Level, "school_year": sd.SchoolYear, "commitment": sd.Commitment})
}

// commitSeedAs commits the lottery seed of b as u (a placer): the one
// rule of commitments, for the API and the runs page.
func (s *server) commitSeedAs(c echo.Context, u staff.User, b seedBody) (postgres.Seed, error) {
	if !b.Level.Valid() {
		return postgres.Seed{}, badField("level", "Cấp học phải là một trong: mg3, mg4, mg5, lop1, lop6", "level must be one of mg3, mg4, mg5, lop1, lop6")
	}
	if b.SchoolYear < 2000 || b.SchoolYear > 2200 {
		return postgres.Seed{}, badField("school_year", "Năm học phải là năm bắt đầu, ví dụ 2027", "school_year must be the starting year, e.g. 2027")
	}
	var seed string
	if b.Seed == nil {
		var raw [32]byte
		rand.Read(raw[:])
		seed = hex.EncodeToString(raw[:])
	} else {
		seed = *b.Seed
		if strings.TrimSpace(seed) == "" || len(seed) > maxSeedLen || strings.IndexFunc(seed, unicode.IsControl) >= 0 {
			return postgres.Seed{}, badField("seed", fmt.Sprintf("Hạt giống phải là chuỗi ký tự in được, không rỗng, tối đa %d byte", maxSeedLen),
				fmt.Sprintf("seed must be printable text, not empty, at most %d bytes", maxSeedLen))
		}
	}
	sd := postgres.Seed{Level: string(b.Level), SchoolYear: b.SchoolYear, Seed: seed, Commitment: placement.Commitment(seed), CreatedBy: u.Username}
	if err := s.DB.CommitSeed(c.Request().Context(), sd); err != nil {
		return postgres.Seed{}, s.storeError(err, "seed not committed")
	}
	s.audit(c, u, actionSeedCommitted, fmt.Sprintf("%s/%d commitment %s", sd.Level, sd.SchoolYear, sd.Commitment))
	return sd, nil
}

func badField(field, vi, en string) *enrollment.Error {
	return &enrollment.Error{Code: enrollment.CodeInvalid, Message: vi, MessageEN: en,
		Problems: []enrollment.Problem{{Field: field, Message: vi, MessageEN: en}}}
}

// listSeeds answers GET /api/v1/placement/seeds, public: every
// commitment, and the seeds already revealed.
func (s *server) listSeeds(c echo.Context) error {
	seeds, err := s.DB.Seeds(c.Request().Context())
	if err != nil {
		return s.storeError(err, "seeds not loaded")
	}
	out := make([]seedView, len(seeds))
	for i, sd := range seeds {
		out[i] = viewSeed(sd)
	}
	return c.JSON(http.StatusOK, map[string]any{"seeds": out})
}

type runBody struct {
	Level      enrollment.Level     `json:"level"`
	SchoolYear int                  `json:"school_year"`
	Round      int                  `json:"round"`
	Mechanism  allocation.Mechanism `json:"mechanism"`
	Include    string               `json:"include"`
	ConfirmBy  *time.Time           `json:"confirm_by"`
}

// createRun answers POST /api/v1/placement/runs: a preview run on the
// stored applications; 201 with the run.
func (s *server) createRun(c echo.Context) error {
	u, err := placer(c)
	if err != nil {
		return err
	}
	var b runBody
	if err := decodeBody(c, &b, `{"level", "school_year", "round": 1 | 2, "mechanism": "da" | "boston", "include": "accepted" | "received", "confirm_by"?: "2027-08-05T17:00:00+07:00"}`); err != nil {
		return err
	}
	r, err := s.createRunAs(c, u, b)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r)
}

// longWorkTime is how long a placement run or a publishing may take: a
// city of a million children takes tens of seconds to place and store,
// and a minute or two to publish, past the server's write timeout.
const longWorkTime = 10 * time.Minute

// longWork gives the request c up to longWorkTime to answer, and returns
// the context to do the work in: once begun, it is finished (or given up
// as a whole) even if the officer closes the page, as one transaction
// either way.
func longWork(c echo.Context) (context.Context, context.CancelFunc) {
	_ = http.NewResponseController(c.Response().Writer).SetWriteDeadline(time.Now().Add(longWorkTime))
	return context.WithTimeout(context.WithoutCancel(c.Request().Context()), longWorkTime)
}

// createRunAs makes a preview run of b as u (a placer), in u's scope:
// for the API and the runs page.
func (s *server) createRunAs(c echo.Context, u staff.User, b runBody) (postgres.Run, error) {
	req := placement.Request{Level: b.Level, SchoolYear: b.SchoolYear, Round: b.Round, Mechanism: b.Mechanism,
		Include: b.Include, Scope: scopeOf(u), Actor: actorOf(u), ConfirmBy: b.ConfirmBy}
	ctx, cancel := longWork(c)
	defer cancel()
	r, err := placement.Run(ctx, s.DB, req, s.NowFunc())
	if err != nil {
		return postgres.Run{}, s.storeError(err, "placement run not made")
	}
	s.audit(c, u, actionRunCreated, fmt.Sprintf("run %d: %s/%d round %d %s include %s scope %q", r.ID, r.Level, r.SchoolYear, r.Round, r.Mechanism, r.Include, r.Scope))
	s.Logger.Info("placement run made", "run", r.ID, "user", u.Username, "level", r.Level, "school_year", r.SchoolYear)
	return r, nil
}

// listRuns answers GET /api/v1/placement/runs?level=&school_year=: the
// runs the user may see, oldest first.
func (s *server) listRuns(c echo.Context) error {
	u, err := placer(c)
	if err != nil {
		return err
	}
	level := c.QueryParam("level")
	if level != "" && !enrollment.Level(level).Valid() {
		return badQuery("level", "Tham số level phải là một trong: mg3, mg4, mg5, lop1, lop6", "query parameter level must be one of mg3, mg4, mg5, lop1, lop6")
	}
	year := 0
	if y := c.QueryParam("school_year"); y != "" {
		if year, err = strconv.Atoi(y); err != nil || year < 2000 || year > 2200 {
			return badQuery("school_year", "Tham số school_year phải là năm bắt đầu của năm học, ví dụ 2027", "query parameter school_year must be a starting year, e.g. 2027")
		}
	}
	out, err := s.visibleRuns(c, u, level, year)
	if err != nil {
		return err
	}
	if level != "" && year != 0 {
		s.warmRuns(enrollment.Level(level), year, placement.IncludeAccepted)
	}
	return c.JSON(http.StatusOK, map[string]any{"runs": out})
}

// warmRuns reads the children of a level and year in the background for
// the run an officer who lists its runs is likely to make next (see
// placement.Warm).
func (s *server) warmRuns(level enrollment.Level, year int, include string) {
	placement.Warm(s.DB, level, year, include, func(err error) {
		s.Logger.Warn("placement: children not read ahead of a run", "level", level, "school_year", year, "err", err)
	})
}

// visibleRuns returns the runs of a level and year (empty, 0: all) that
// u may see, oldest first.
func (s *server) visibleRuns(c echo.Context, u staff.User, level string, year int) ([]postgres.Run, error) {
	runs, err := s.DB.Runs(c.Request().Context(), level, year)
	if err != nil {
		return nil, s.storeError(err, "runs not loaded")
	}
	out := []postgres.Run{}
	for _, r := range runs {
		if s.mayOpen(c, u, r) == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// loadRun reads the run the route names and checks that the staff user
// may see it.
func (s *server) loadRun(c echo.Context, u staff.User) (postgres.Run, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return postgres.Run{}, postgres.ErrNoRun
	}
	r, err := s.DB.Run(c.Request().Context(), id)
	if err != nil {
		return postgres.Run{}, s.storeError(err, "run not loaded")
	}
	if err := s.mayOpen(c, u, r); err != nil {
		return postgres.Run{}, err
	}
	return r, nil
}

// getRun answers GET /api/v1/placement/runs/{id}.
func (s *server) getRun(c echo.Context) error {
	u, err := placer(c)
	if err != nil {
		return err
	}
	r, err := s.loadRun(c, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// publishRun answers POST /api/v1/placement/runs/{id}/publish.
func (s *server) publishRun(c echo.Context) error {
	u, err := placer(c)
	if err != nil {
		return err
	}
	r, err := s.loadRun(c, u)
	if err != nil {
		return err
	}
	if r, err = s.publishAs(c, u, r); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// publishAs publishes run r, which u may see, as u: for the API and the
// run's confirmation page.
func (s *server) publishAs(c echo.Context, u staff.User, r postgres.Run) (postgres.Run, error) {
	ctx, cancel := longWork(c)
	defer cancel()
	r, err := placement.Publish(ctx, s.DB, r.ID, actorOf(u), nil)
	if err != nil {
		return postgres.Run{}, s.storeError(err, "run not published")
	}
	s.audit(c, u, actionRunPublished, fmt.Sprintf("run %d: %s/%d round %d", r.ID, r.Level, r.SchoolYear, r.Round))
	s.Logger.Info("placement run published", "run", r.ID, "user", u.Username)
	return r, nil
}

// openRunFile returns the run of a file route: a published run to anyone,
// a preview to the staff who see it (and 404 to everyone else).
func (s *server) openRunFile(c echo.Context) (postgres.Run, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return postgres.Run{}, postgres.ErrNoRun
	}
	r, err := s.DB.Run(c.Request().Context(), id)
	if err != nil {
		return postgres.Run{}, s.storeError(err, "run not loaded")
	}
	if r.Status == postgres.RunPublished {
		return r, nil
	}
	u, ok := staffUser(c)
	if !ok {
		return postgres.Run{}, postgres.ErrNoRun
	}
	if u.Role != staff.RoleCity && u.Role != staff.RoleAuthority {
		return postgres.Run{}, errNotPlacer
	}
	return r, s.mayOpen(c, u, r)
}

func (s *server) runFile(c echo.Context, result bool, name string) error {
	r, err := s.openRunFile(c)
	if err != nil {
		return err
	}
	var b []byte
	if result {
		b, err = placement.ResultFile(c.Request().Context(), s.DB, r.ID)
	} else {
		b, err = s.DB.RunFile(c.Request().Context(), r.ID, false)
	}
	if err != nil {
		return s.storeError(err, "run file not loaded")
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="run-%d-%s.json"`, r.ID, name))
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

// runInstance answers GET /api/v1/placement/runs/{id}/instance: the
// engine's input file, exactly as `tuyensinh place --input` reads it.
func (s *server) runInstance(c echo.Context) error { return s.runFile(c, false, "instance") }

// runResult answers GET /api/v1/placement/runs/{id}/result: the engine's
// output file for the instance, byte for byte (a preview's written afresh
// from its instance, a published run's as kept).
func (s *server) runResult(c echo.Context) error { return s.runFile(c, true, "result") }

// runCSV decodes a run's files and writes one of the engine's tables.
func (s *server) runCSV(c echo.Context, name string, write func(res *allocation.Result, w *csvOut) error) error {
	r, err := s.openRunFile(c)
	if err != nil {
		return err
	}
	res, err := placement.Result(c.Request().Context(), s.DB, r.ID)
	if err != nil {
		return s.storeError(err, "run result not made")
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="run-%d-%s.csv"`, r.ID, name))
	c.Response().WriteHeader(http.StatusOK)
	return write(res, &csvOut{w: c.Response()})
}

// csvOut is where a CSV table is written.
type csvOut struct{ w http.ResponseWriter }

// runAssignmentsCSV answers GET /api/v1/placement/runs/{id}/assignments.csv.
func (s *server) runAssignmentsCSV(c echo.Context) error {
	return s.runCSV(c, "assignments", func(res *allocation.Result, o *csvOut) error { return res.WriteAssignmentsCSV(o.w) })
}

// runSchoolsCSV answers GET /api/v1/placement/runs/{id}/schools.csv.
func (s *server) runSchoolsCSV(c echo.Context) error {
	return s.runCSV(c, "schools", func(res *allocation.Result, o *csvOut) error { return res.WriteSchoolsCSV(o.w) })
}

// compareLine is one run in a comparison.
type compareLine struct {
	ID        int64  `json:"id"`
	Mechanism string `json:"mechanism"`
	Round     int    `json:"round"`
	Include   string `json:"include"`
	Status    string `json:"status"`
	placement.Stats
}

// maxCompared is how many runs one comparison holds.
const maxCompared = 10

// compareRuns answers GET /api/v1/placement/compare?runs=ID,ID[,…]: the
// runs' figures side by side, and the children whose school differs
// between them (their count and a sample of pseudonyms).
func (s *server) compareRuns(c echo.Context) error {
	u, err := placer(c)
	if err != nil {
		return err
	}
	cmp, err := s.comparison(c, u, strings.Split(c.QueryParam("runs"), ","))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"level": cmp.Level, "school_year": cmp.SchoolYear, "runs": cmp.Lines,
		"differences": map[string]any{"count": cmp.Differ, "sample": cmp.Sample}})
}

// comparison is what the compare route and page show of runs.
type comparison struct {
	Level      string
	SchoolYear int
	Runs       []postgres.Run
	Lines      []compareLine
	// Differ counts the children whose school differs between the runs;
	// Sample holds up to 20 of their pseudonyms.
	Differ int
	Sample []string
	// Schools are, by pseudonym of the sample, the school each run gives.
	Schools map[string][]string
}

// comparison loads the runs whose ids parts lists, which u must see, and
// their differences: for the API and the compare page.
func (s *server) comparison(c echo.Context, u staff.User, parts []string) (comparison, error) {
	if len(parts) < 2 || len(parts) > maxCompared {
		return comparison{}, badQuery("runs", fmt.Sprintf("Tham số runs phải liệt kê từ 2 đến %d mã lượt chạy, cách nhau bởi dấu phẩy", maxCompared),
			fmt.Sprintf("query parameter runs must list 2 to %d run ids, comma-separated", maxCompared))
	}
	var ids []int64
	for _, p := range parts {
		id, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil || id < 1 {
			return comparison{}, badQuery("runs", fmt.Sprintf("Mã lượt chạy %q không hợp lệ", p), fmt.Sprintf("run id %q is not a number", p))
		}
		if slices.Contains(ids, id) {
			return comparison{}, badQuery("runs", fmt.Sprintf("Lượt chạy %d được nêu hai lần", id), fmt.Sprintf("run %d is listed twice", id))
		}
		ids = append(ids, id)
	}
	var lines []compareLine
	var runs []postgres.Run
	var first postgres.Run
	for i, id := range ids {
		r, err := s.DB.Run(c.Request().Context(), id)
		if err != nil {
			return comparison{}, s.storeError(err, "run not loaded")
		}
		if err := s.mayOpen(c, u, r); err != nil {
			return comparison{}, err
		}
		if i == 0 {
			first = r
		} else if r.Level != first.Level || r.SchoolYear != first.SchoolYear {
			return comparison{}, badQuery("runs", "Chỉ so sánh được các lượt chạy cùng cấp học và năm học", "only runs of the same level and school year can be compared")
		}
		l := compareLine{ID: r.ID, Mechanism: r.Mechanism, Round: r.Round, Include: r.Include, Status: r.Status}
		if err := json.Unmarshal(r.Stats, &l.Stats); err != nil {
			return comparison{}, fmt.Errorf("run %d stats: %w", r.ID, err)
		}
		lines = append(lines, l)
		runs = append(runs, r)
	}
	d, err := placement.Compare(c.Request().Context(), s.DB, ids, 20)
	if err != nil {
		return comparison{}, s.storeError(err, "run differences not loaded")
	}
	return comparison{Level: first.Level, SchoolYear: first.SchoolYear, Runs: runs, Lines: lines, Differ: d.Count, Sample: d.Sample,
		Schools: d.Schools}, nil
}
