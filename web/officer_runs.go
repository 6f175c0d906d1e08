package web

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/placement"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
)

// The officers' pages of placement runs (issue 9), Vietnamese first and
// without script: the runs of a level and year (commit the lottery seed,
// start a preview, the list with each run's figures), a run (summary,
// per-school table with cutoffs, downloads), a school of a run (who
// applied, who was admitted, the cutoff), a child of a run by pseudonym
// or tracking code (why this school), two or more runs side by side, and
// publishing behind a confirmation page. Every form posts with the CSRF
// hidden field to a page route whose handler calls the same code as the
// JSON API (placement.go: commitSeedAs, createRunAs, visibleRuns,
// loadRun, comparison, publishAs), so the rules and who may do what are
// written once.

// Paths of the runs pages.
const runsPath = "/officer/phan-tuyen"

func runPath(id int64) string { return fmt.Sprintf("%s/luot/%d", runsPath, id) }

func runsListPath(level string, year int) string {
	return fmt.Sprintf("%s?level=%s&school_year=%d", runsPath, url.QueryEscape(level), year)
}

// runTemplateNames are the runs pages' templates (pages/officer/<name>.html).
var runTemplateNames = []string{"runs", "runs-run", "runs-school", "runs-compare", "runs-publish"}

// addRunTemplates adds the runs pages to the officer pages' template
// sets, so that officerRender finds them.
func addRunTemplates(officerTemplates map[string]*template.Template) {
	funcs := template.FuncMap{}
	for k, v := range templateFuncs {
		funcs[k] = v
	}
	extra := template.FuncMap{
		"inc":              func(n int) int { return n + 1 },
		"f1":               func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
		"f2":               func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) },
		"pct":              percent,
		"short":            func(p string) string { return p[:min(len(p), 12)] },
		"viaLabel":         viaLabel,
		"runLabel":         runLabel,
		"mechLabel":        mechanismLabel,
		"roundConfirmDays": func() int { return placement.RoundConfirmDays },
		"runPath":          runPath,
		"lvName":           func(l string) string { return enrollment.Level(l).NameVI() },
	}
	for k, v := range extra {
		funcs[k] = v
	}
	for _, name := range runTemplateNames {
		for _, l := range []layout{layoutPublic, layoutSchool, layoutOfficer} {
			t := template.Must(template.New(name).Funcs(funcs).ParseFS(pageFiles, "pages/base.html", "pages/"+string(l)))
			officerTemplates[templateKey(l, name)] = template.Must(t.ParseFS(officerFiles, "pages/officer/chart.html", "pages/officer/"+name+".html"))
		}
	}
}

// percent is part of whole in per cent, one decimal, Vietnamese comma.
func percent(part, whole int) string {
	if whole == 0 {
		return "—"
	}
	return strings.Replace(strconv.FormatFloat(100*float64(part)/float64(whole), 'f', 1, 64), ".", ",", 1) + " %"
}

// mechanismLabel names a mechanism for officers.
func mechanismLabel(m string) string {
	switch m {
	case string(allocation.MechanismDA):
		return "Chấp nhận trì hoãn (DA)"
	case string(allocation.MechanismBoston):
		return "Ưu tiên nguyện vọng (Boston)"
	}
	return m
}

// runLabel names a run in one line: "Lượt 3 · DA · vòng 1".
func runLabel(r postgres.Run) string {
	return fmt.Sprintf("Lượt %d · %s · vòng %d", r.ID, strings.ToUpper(r.Mechanism), r.Round)
}

// viaLabel says how a child got its seat.
func viaLabel(v allocation.Via, rank int) string {
	switch v {
	case allocation.ViaChoice:
		return fmt.Sprintf("Nguyện vọng %d", rank)
	case allocation.ViaAdministrative:
		return "Điều tiết (trường gần nhất còn chỗ)"
	}
	return "Chưa có chỗ"
}

// officerRunRoutes adds the runs pages to the officer pages (mw: the
// officer pages' session, sign-in and CSRF checks).
func (s *server) officerRunRoutes(e *echo.Echo, mw []echo.MiddlewareFunc) {
	e.GET(runsPath, s.runsPage, mw...)
	e.POST(runsPath+"/hat-giong", s.seedForm, mw...)
	e.POST(runsPath+"/xem-truoc", s.previewForm, mw...)
	e.GET(runsPath+"/so-sanh", s.comparePage, mw...)
	e.GET(runsPath+"/luot/:id", s.runPage, mw...)
	e.GET(runsPath+"/luot/:id/truong/:code", s.runSchoolPage, mw...)
	e.GET(runsPath+"/luot/:id/cong-bo", s.publishPage, mw...)
	e.POST(runsPath+"/luot/:id/cong-bo", s.publishForm, mw...)
}

// runRow is a run with its figures.
type runRow struct {
	Run   postgres.Run
	Stats placement.Stats
}

func rowOf(r postgres.Run) (runRow, error) {
	row := runRow{Run: r}
	if err := json.Unmarshal(r.Stats, &row.Stats); err != nil {
		return row, fmt.Errorf("run %d stats: %w", r.ID, err)
	}
	return row, nil
}

// seedShown is a seed as the runs page shows it: the commitment, and the
// seed once revealed.
type seedShown struct {
	Commitment string
	CreatedAt  time.Time
	CreatedBy  string
	Revealed   string
}

func showSeed(sd postgres.Seed) *seedShown {
	v := &seedShown{Commitment: sd.Commitment, CreatedAt: sd.CreatedAt, CreatedBy: sd.CreatedBy}
	if sd.RevealedAt != nil {
		v.Revealed = sd.Seed
	}
	return v
}

// runsView is the runs page's data.
type runsView struct {
	Level  enrollment.Level
	Year   int
	Levels []enrollment.Level
	// Seed is the level's committed seed (its secret shown only once
	// revealed), nil before the commitment.
	Seed *seedShown
	Runs []runRow
	// Form is what the preview form shows: the values last sent.
	Form runBody
}

func (s *server) runsPage(c echo.Context) error {
	return s.renderRuns(c, http.StatusOK, nil, nil)
}

// renderRuns renders the runs page of the level and year the query (or
// the form just sent) names, with a refusal when there is one.
func (s *server) renderRuns(c echo.Context, status int, failure *enrollment.Error, form *runBody) error {
	u, err := placer(c)
	if err != nil {
		return err
	}
	level, year := s.pageLevelYear(c)
	if form != nil && form.Level.Valid() && form.SchoolYear >= 2000 && form.SchoolYear <= 2200 {
		level, year = form.Level, form.SchoolYear
	}
	v := runsView{Level: level, Year: year, Levels: enrollment.Levels,
		Form: runBody{Mechanism: allocation.MechanismDA, Include: "accepted", Round: 1}}
	if form != nil {
		v.Form = *form
	}
	sd, err := s.DB.Seed(c.Request().Context(), string(level), year)
	switch {
	case err == nil:
		v.Seed = showSeed(sd)
		s.warmRuns(level, year, v.Form.Include)
	case !errors.Is(err, postgres.ErrNoSeed):
		return s.storeError(err, "seed not loaded")
	}
	runs, err := s.visibleRuns(c, u, string(level), year)
	if err != nil {
		return err
	}
	for i := len(runs) - 1; i >= 0; i-- { // newest first
		row, err := rowOf(runs[i])
		if err != nil {
			return err
		}
		v.Runs = append(v.Runs, row)
	}
	return s.officerRender(c, status, "runs", officerPage{Title: "Phân tuyến · Placement runs", Nav: "runs", Error: failure, Data: v})
}

// formLevelYear reads the level and school year fields of a runs form.
func formLevelYear(c echo.Context) (enrollment.Level, int) {
	year, _ := strconv.Atoi(strings.TrimSpace(c.FormValue("school_year")))
	return enrollment.Level(c.FormValue("level")), year
}

// seedForm commits the level's lottery seed from the runs page: an empty
// seed field draws 256 random bits, as the API does without "seed".
func (s *server) seedForm(c echo.Context) error {
	u, err := placer(c)
	if err != nil {
		return err
	}
	level, year := formLevelYear(c)
	b := seedBody{Level: level, SchoolYear: year}
	if seed := c.FormValue("seed"); seed != "" {
		b.Seed = &seed
	}
	sd, err := s.commitSeedAs(c, u, b)
	if err != nil {
		return s.formFailure(c, err, func(e *enrollment.Error) error {
			return s.renderRuns(c, statusOf[e.Code], e, &runBody{Level: level, SchoolYear: year, Mechanism: allocation.MechanismDA, Include: "accepted", Round: 1})
		})
	}
	s.setFlash(c, flash{Kind: "ok", Message: fmt.Sprintf("Đã cam kết hạt giống bốc thăm %s năm học %d-%d. Mã cam kết (công khai): %s",
		level.NameVI(), year, year+1, sd.Commitment)})
	return c.Redirect(http.StatusSeeOther, runsListPath(sd.Level, sd.SchoolYear))
}

// previewForm starts a preview run from the runs page.
func (s *server) previewForm(c echo.Context) error {
	u, err := placer(c)
	if err != nil {
		return err
	}
	level, year := formLevelYear(c)
	b := runBody{Level: level, SchoolYear: year, Mechanism: allocation.Mechanism(c.FormValue("mechanism")), Include: c.FormValue("include")}
	if r := strings.TrimSpace(c.FormValue("round")); r != "" {
		n, err := strconv.Atoi(r)
		if err != nil {
			return s.renderRuns(c, http.StatusUnprocessableEntity, badField("round", "Vòng phải là 1 hoặc 2", "round must be 1 or 2"), &b)
		}
		b.Round = n
	}
	r, err := s.createRunAs(c, u, b)
	if err != nil {
		return s.formFailure(c, err, func(e *enrollment.Error) error { return s.renderRuns(c, statusOf[e.Code], e, &b) })
	}
	s.setFlash(c, flash{Kind: "ok", Message: fmt.Sprintf("Đã chạy xem trước %s (%s). Kết quả chưa công bố: phụ huynh chưa thấy.", runLabel(r), mechanismLabel(r.Mechanism))})
	return c.Redirect(http.StatusSeeOther, runPath(r.ID))
}

// placed is a run with its engine result, placed again from the stored
// instance (the engine is deterministic: it is the run's result).
type placed struct {
	Run  postgres.Run
	Inst *allocation.Instance
	Res  *allocation.Result
	// Names are the schools' names by code.
	Names map[string]string
}

// placeRun loads the run the route names, if u may see it, and its result.
func (s *server) placeRun(c echo.Context, u staff.User) (*placed, error) {
	r, err := s.loadRun(c, u)
	if err != nil {
		return nil, err
	}
	inst, res, err := placement.Placed(c.Request().Context(), s.DB, r.ID)
	if err != nil {
		return nil, s.storeError(err, "run not placed")
	}
	p := &placed{Run: r, Inst: inst, Res: res, Names: map[string]string{}}
	for _, o := range s.Catalog().Offers(enrollment.Level(r.Level), r.SchoolYear) {
		p.Names[o.SchoolCode] = o.Name
	}
	return p, nil
}

// priorityText says a priority in words, the class counted from 1 as
// officers and parents count, with the rule it is: "Mức ưu tiên 2 (dt1)".
func priorityText(res *allocation.Result, p *allocation.Priority) string {
	if p == nil {
		return ""
	}
	rule := "không thuộc quy tắc ưu tiên nào"
	if p.Class < len(res.PriorityRules) {
		rule = res.RuleText(p.Class)
	}
	out := fmt.Sprintf("Mức ưu tiên %d (%s)", p.Class+1, rule)
	if p.HasScore {
		out += ", điểm " + strings.Replace(strconv.FormatFloat(p.Score, 'f', -1, 64), ".", ",", 1)
	}
	return out + ", số bốc thăm " + p.LotteryHex()[:8] + "…"
}

// ruleLine is one rule of a run's priority, numbered from 1.
type ruleLine struct {
	Class int // as the files write it, from 0
	N     int // as people count, from 1
	Rule  string
	// None is the class after the last rule: children no rule covers.
	None bool
}

func rulesOf(res *allocation.Result) []ruleLine {
	out := make([]ruleLine, 0, len(res.PriorityRules)+1)
	for k := range len(res.PriorityRules) + 1 {
		out = append(out, ruleLine{Class: k, N: k + 1, Rule: res.RuleText(k), None: k == len(res.PriorityRules)})
	}
	return out
}

// schoolLine is one school of a run.
type schoolLine struct {
	Code, Name                           string
	Quota, Admitted, ByChoice, Admin     int
	Applicants, FirstChoice, FilledRound int
	Full                                 bool
	// Cutoff says the priority of the last child admitted by choice; empty
	// while the school had a free seat.
	Cutoff string
}

func schoolLines(p *placed) []schoolLine {
	applied, first := map[string]int{}, map[string]int{}
	for i := range p.Inst.Students {
		for k, sc := range p.Inst.Students[i].Choices {
			applied[sc]++
			if k == 0 {
				first[sc]++
			}
		}
	}
	out := make([]schoolLine, len(p.Res.Schools))
	for k, sc := range p.Res.Schools {
		out[k] = schoolLine{Code: sc.ID, Name: cmpName(p.Names[sc.ID], sc.ID), Quota: sc.Quota, Admitted: sc.Admitted,
			ByChoice: sc.AdmittedByChoice, Admin: sc.Administrative, Applicants: applied[sc.ID], FirstChoice: first[sc.ID],
			FilledRound: sc.FilledRound, Full: sc.Quota > 0 && sc.Admitted >= sc.Quota, Cutoff: priorityText(p.Res, sc.Cutoff)}
	}
	return out
}

func cmpName(name, code string) string {
	if name == "" {
		return code
	}
	return name
}

// childLine is one child of a run, and why it is where it is.
type childLine struct {
	Pseudonym  string
	School     string // code; empty without a seat
	SchoolName string
	Via        allocation.Via
	ChoiceRank int
	DistanceKm float64
	Guaranteed bool
	Choices    []string
	// Refusals explain each school ranked above the one obtained; Note
	// explains an administrative seat or a guaranteed child left out.
	Refusals []allocation.Explanation
	Note     string
	NoteEN   string
}

func (p *placed) child(i int, explain bool) childLine {
	a := p.Res.Assignments[i]
	st := &p.Inst.Students[i]
	l := childLine{Pseudonym: a.Student, School: a.School, SchoolName: p.Names[a.School], Via: a.Via, ChoiceRank: a.ChoiceRank,
		DistanceKm: a.DistanceKm, Guaranteed: st.Guaranteed, Choices: st.Choices}
	if explain {
		l.Refusals = p.Res.Explain(i)
		l.Note, l.NoteEN = p.Res.AssignmentNote(i)
	}
	return l
}

var hexPseudonym = regexp.MustCompile(`^[0-9a-f]{64}$`)

// findChild finds a child of the run by its pseudonym or by the tracking
// code it is made of; -1 when the run has no such child.
func (p *placed) findChild(q string) int {
	q = strings.TrimSpace(q)
	pseudonym := strings.ToLower(q)
	if !hexPseudonym.MatchString(pseudonym) {
		code, ok := enrollment.NormalizeTrackingCode(q)
		if !ok {
			return -1
		}
		pseudonym = placement.Pseudonym(enrollment.Level(p.Run.Level), p.Run.SchoolYear, code)
	}
	for i := range p.Res.Assignments {
		if p.Res.Assignments[i].Student == pseudonym {
			return i
		}
	}
	return -1
}

// runView is a run page's data.
type runView struct {
	runRow
	Rules   []ruleLine
	Schools []schoolLine
	// Quiet counts the schools of the run nobody chose nor was placed
	// at, left out of the table.
	Quiet int
	// Seed is the run's seed: its commitment, and the seed once revealed.
	Seed *seedShown
	// Query is the child looked for; Child what was found (nil: nobody).
	Query string
	Child *childLine
}

func (s *server) runPage(c echo.Context) error {
	u, err := placer(c)
	if err != nil {
		return err
	}
	p, err := s.placeRun(c, u)
	if err != nil {
		return err
	}
	row, err := rowOf(p.Run)
	if err != nil {
		return err
	}
	v := runView{runRow: row, Rules: rulesOf(p.Res), Query: strings.TrimSpace(c.QueryParam("tre"))}
	for _, l := range schoolLines(p) {
		if l.Applicants == 0 && l.Admitted == 0 {
			v.Quiet++
			continue
		}
		v.Schools = append(v.Schools, l)
	}
	sd, err := s.DB.Seed(c.Request().Context(), p.Run.Level, p.Run.SchoolYear)
	if err != nil {
		return s.storeError(err, "seed not loaded")
	}
	v.Seed = showSeed(sd)
	status := http.StatusOK
	var failure *enrollment.Error
	if v.Query != "" {
		if i := p.findChild(v.Query); i >= 0 {
			l := p.child(i, true)
			v.Child = &l
		} else {
			status = http.StatusNotFound
			failure = enrollment.Errorf(enrollment.CodeNotFound,
				"Không có trẻ nào trong lượt này với mã tra cứu hoặc mã ẩn danh đã nhập",
				"no child of this run has that tracking code or pseudonym")
		}
	}
	return s.officerRender(c, status, "runs-run", officerPage{Title: runLabel(p.Run) + " · Placement run", Nav: "runs", Error: failure, Data: v})
}

// runSchoolView is the data of a school of a run.
type runSchoolView struct {
	Run      postgres.Run
	School   schoolLine
	Rules    []ruleLine
	Admitted []childLine
	// Refused are the children who chose the school and are elsewhere,
	// with where they went.
	Refused []childLine
}

func (s *server) runSchoolPage(c echo.Context) error {
	u, err := placer(c)
	if err != nil {
		return err
	}
	p, err := s.placeRun(c, u)
	if err != nil {
		return err
	}
	code := c.Param("code")
	v := runSchoolView{Run: p.Run, Rules: rulesOf(p.Res)}
	found := false
	for _, l := range schoolLines(p) {
		if l.Code == code {
			v.School, found = l, true
		}
	}
	if !found {
		return enrollment.Errorf(enrollment.CodeNotFound, "Trường này không có trong lượt phân tuyến", "the school is not in this run")
	}
	for i := range p.Res.Assignments {
		if p.Res.Assignments[i].School == code {
			v.Admitted = append(v.Admitted, p.child(i, false))
			continue
		}
		for _, ch := range p.Inst.Students[i].Choices {
			if ch == code {
				v.Refused = append(v.Refused, p.child(i, false))
				break
			}
		}
	}
	return s.officerRender(c, http.StatusOK, "runs-school", officerPage{Title: v.School.Name + " · " + runLabel(p.Run), Nav: "runs", Data: v})
}

// compareView is the compare page's data.
type compareView struct {
	comparison
	Rows []compareRow
	// Diffs are the sampled children whose school differs, with their
	// school in each run ("" without a seat).
	Diffs []diffLine
	Names map[string]string
}

// compareRow is one figure across the runs.
type compareRow struct {
	Label, LabelEN string
	Values         []string
	// Differs is set when the runs do not all have the same value.
	Differs bool
}

// diffLine is a child whose school differs between the runs.
type diffLine struct {
	Pseudonym string
	Schools   []string
}

func compareRows(lines []compareLine) []compareRow {
	type fig struct {
		vi, en string
		get    func(st *placement.Stats) string
	}
	n := func(f func(st *placement.Stats) int) func(st *placement.Stats) string {
		return func(st *placement.Stats) string { return strconv.Itoa(f(st)) }
	}
	km := func(f func(st *placement.Stats) *float64) func(st *placement.Stats) string {
		return func(st *placement.Stats) string {
			if v := f(st); v != nil {
				return strings.Replace(strconv.FormatFloat(*v, 'f', 2, 64), ".", ",", 1) + " km"
			}
			return "—"
		}
	}
	figs := []fig{
		{"Số trẻ được xếp", "Children placed", n(func(st *placement.Stats) int { return st.Students })},
		{"Trúng tuyển theo nguyện vọng", "Placed by choice", func(st *placement.Stats) string {
			return strconv.Itoa(st.AssignedByChoice) + " (" + percent(st.AssignedByChoice, st.Students) + ")"
		}},
		{"Trúng nguyện vọng 1", "First choice", func(st *placement.Stats) string {
			return strconv.Itoa(st.FirstChoice) + " (" + percent(st.FirstChoice, st.Students) + ")"
		}},
		{"Học trường đúng tuyến", "In a catchment school", n(func(st *placement.Stats) int { return st.InCatchment })},
		{"Điều tiết", "Placed administratively", n(func(st *placement.Stats) int { return st.Administrative })},
		{"Chưa có chỗ", "Unassigned", n(func(st *placement.Stats) int { return st.Unassigned })},
		{"Chưa có chỗ dù được bảo đảm", "Unassigned though guaranteed", n(func(st *placement.Stats) int { return st.UnassignedGuaranteed })},
		{"Khoảng cách trung bình", "Mean distance", km(func(st *placement.Stats) *float64 { return st.MeanDistanceKm })},
		{"Khoảng cách bách phân vị 90", "90th-percentile distance", km(func(st *placement.Stats) *float64 { return st.P90DistanceKm })},
		{"Trường hết chỗ", "Full schools", n(func(st *placement.Stats) int { return st.FullSchools })},
		{"Chỗ còn trống", "Free seats", n(func(st *placement.Stats) int { return st.FreeSeats })},
	}
	out := make([]compareRow, len(figs))
	for k, f := range figs {
		out[k] = compareRow{Label: f.vi, LabelEN: f.en}
		for i := range lines {
			out[k].Values = append(out[k].Values, f.get(&lines[i].Stats))
			out[k].Differs = out[k].Differs || out[k].Values[i] != out[k].Values[0]
		}
	}
	return out
}

func (s *server) comparePage(c echo.Context) error {
	u, err := placer(c)
	if err != nil {
		return err
	}
	// The runs page's check boxes send runs=1&runs=2; a link may send
	// runs=1,2 as the API takes it.
	// Oldest first, whatever order the boxes were ticked in.
	var parts []string
	for _, v := range c.QueryParams()["runs"] {
		parts = append(parts, strings.Split(v, ",")...)
	}
	slices.SortStableFunc(parts, func(a, b string) int {
		x, errA := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
		y, errB := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
		if errA != nil || errB != nil {
			return 0
		}
		return cmp.Compare(x, y)
	})
	title := "So sánh các lượt phân tuyến · Compare runs"
	cmpd, err := s.comparison(c, u, parts)
	if err != nil {
		return s.formFailure(c, err, func(e *enrollment.Error) error {
			if e.Code == enrollment.CodeNotFound {
				return e
			}
			return s.officerRender(c, statusOf[e.Code], "runs-compare", officerPage{Title: title, Nav: "runs", Error: e})
		})
	}
	v := compareView{comparison: cmpd, Rows: compareRows(cmpd.Lines), Names: map[string]string{}}
	for _, o := range s.Catalog().Offers(enrollment.Level(cmpd.Level), cmpd.SchoolYear) {
		v.Names[o.SchoolCode] = o.Name
	}
	for _, ps := range cmpd.Sample {
		v.Diffs = append(v.Diffs, diffLine{Pseudonym: ps, Schools: cmpd.Schools[ps]})
	}
	return s.officerRender(c, http.StatusOK, "runs-compare", officerPage{Title: title, Nav: "runs", Data: v})
}

// publishView is the confirmation page's data.
type publishView struct {
	runRow
	// Published is the run of the same level, year and round published
	// already, if any: publishing this one would be refused.
	Published *postgres.Run
}

func (s *server) publishPage(c echo.Context) error {
	return s.renderPublish(c, http.StatusOK, nil)
}

func (s *server) renderPublish(c echo.Context, status int, failure *enrollment.Error) error {
	u, err := placer(c)
	if err != nil {
		return err
	}
	r, err := s.loadRun(c, u)
	if err != nil {
		return err
	}
	row, err := rowOf(r)
	if err != nil {
		return err
	}
	v := publishView{runRow: row}
	if pr, err := s.DB.PublishedRun(c.Request().Context(), r.Level, r.SchoolYear, r.Round); err == nil {
		v.Published = &pr
	}
	return s.officerRender(c, status, "runs-publish", officerPage{Title: "Công bố " + runLabel(r) + " · Publish", Nav: "runs", Error: failure, Data: v})
}

// publishForm publishes a run after its confirmation page.
func (s *server) publishForm(c echo.Context) error {
	u, err := placer(c)
	if err != nil {
		return err
	}
	r, err := s.loadRun(c, u)
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != "yes" {
		return s.renderPublish(c, http.StatusUnprocessableEntity, badField("confirm",
			"Hãy đánh dấu ô xác nhận rằng bạn đã đọc các hệ quả của việc công bố",
			"tick the box confirming you have read what publishing does"))
	}
	r, err = s.publishAs(c, u, r)
	if err != nil {
		return s.formFailure(c, err, func(e *enrollment.Error) error { return s.renderPublish(c, statusOf[e.Code], e) })
	}
	s.setFlash(c, flash{Kind: "ok", Message: fmt.Sprintf("Đã công bố %s. Hạt giống đã được công khai; phụ huynh được thông báo kết quả.", runLabel(r))})
	return c.Redirect(http.StatusSeeOther, runPath(r.ID))
}
