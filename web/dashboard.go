package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
)

// The officers' live dashboard (issue 9): registrations per hour per level
// and ward, the intake backlog and lag, and the over-subscribed schools
// (first-choice applicants ÷ quota). GET /api/v1/dashboard answers the
// numbers as JSON; /officer/dashboard draws the same numbers as SVG
// charts rendered here, refreshed every few seconds.
//
// Officers only: an authority's officer sees the wards and schools of its
// area, the city everything. A clerk gets 403: the dashboard counts other
// schools' applicants. Each answer is kept for dashboardTTL, so a room of
// officers refreshing at once costs the database one query per area.

// How the counts are kept (see enrollment/postgres/dashboard_stats.go):
// registrations submitted before the edge, the start of the previous
// hour, are counted city-wide at most every coldTTL and whenever the edge
// moves; those submitted since the edge are counted city-wide at most
// every dashboardTTL, reading only the recent rows. Each officer's page
// adds the two up and keeps its area. A registration stored long after it
// was submitted (the intake held it through a database outage) or voided
// before the edge shows within coldTTL.
const (
	dashboardTTL = 3 * time.Second
	coldTTL      = 5 * time.Minute
	// maxHours is the longest history the dashboard shows.
	maxHours = 168
)

// dashboardRefresh is how often the page reloads itself, in seconds.
const dashboardRefresh = 5

// dashboardCache keeps the counts of each school year, and recent answers.
type dashboardCache struct {
	mu      sync.Mutex
	years   map[int]*yearCounts
	answers map[string]cachedDashboard
}

type yearCounts struct {
	mu            sync.Mutex // held while counting, so one request counts for all
	edge          time.Time
	coldAt, hotAt time.Time
	cold, hot     postgres.Counts
	coldSince     time.Time
}

type cachedDashboard struct {
	at time.Time
	d  *dashboard
}

func (dc *dashboardCache) answer(key string, now time.Time) *dashboard {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	e, ok := dc.answers[key]
	if !ok || now.Sub(e.at) > dashboardTTL || now.Before(e.at) {
		return nil
	}
	return e.d
}

func (dc *dashboardCache) keep(key string, now time.Time, d *dashboard) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if dc.answers == nil {
		dc.answers = make(map[string]cachedDashboard)
	}
	for k, e := range dc.answers {
		if now.Sub(e.at) > dashboardTTL {
			delete(dc.answers, k)
		}
	}
	dc.answers[key] = cachedDashboard{now, d}
}

func (dc *dashboardCache) year(y int) *yearCounts {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if dc.years == nil {
		dc.years = make(map[int]*yearCounts)
	}
	if dc.years[y] == nil {
		dc.years[y] = &yearCounts{}
	}
	return dc.years[y]
}

// counts returns the city-wide counts of a school year: those before the
// edge (hourly from maxHours back) and those since, recounted as they age.
func (s *server) counts(ctx context.Context, year int, now time.Time) (cold, hot postgres.Counts, err error) {
	yc := s.dash.year(year)
	yc.mu.Lock()
	defer yc.mu.Unlock()
	edge := now.Truncate(time.Hour).Add(-time.Hour)
	if !yc.edge.Equal(edge) || now.Sub(yc.coldAt) > coldTTL || now.Before(yc.coldAt) {
		since := now.Truncate(time.Hour).Add(-maxHours * time.Hour)
		c, err := s.DB.RegistrationCounts(ctx, year, time.Time{}, since, edge)
		if err != nil {
			return cold, hot, err
		}
		yc.cold, yc.coldAt, yc.edge, yc.coldSince = c, now, edge, since
		yc.hotAt = time.Time{}
	}
	if now.Sub(yc.hotAt) > dashboardTTL || now.Before(yc.hotAt) {
		c, err := s.DB.RegistrationCounts(ctx, year, edge, edge, now.Add(time.Hour))
		if err != nil {
			return cold, hot, err
		}
		yc.hot, yc.hotAt = c, now
	}
	return yc.cold, yc.hot, nil
}

// dashboard is the answer of GET /api/v1/dashboard.
type dashboard struct {
	GeneratedAt time.Time          `json:"generated_at"`
	SchoolYear  int                `json:"school_year"`
	Level       enrollment.Level   `json:"level,omitempty"` // empty: every level of the year
	Levels      []enrollment.Level `json:"levels"`
	Since       time.Time          `json:"since"`
	// Hours are the hour buckets, oldest first (UTC).
	Hours []time.Time `json:"hours"`
	// PerLevel counts the registrations of each level per hour, one count
	// per entry of Hours.
	PerLevel map[enrollment.Level][]int `json:"per_level"`
	// PerWard counts the registrations since Since by ward of current
	// residence, the most first.
	PerWard []wardCount `json:"per_ward"`
	// Hourly is every non-zero count by hour, level and ward.
	Hourly []postgres.HourCount `json:"hourly"`
	// Intake is the intake stream now; null (with IntakeError) when Redis
	// does not answer.
	Intake      *intake.State `json:"intake"`
	IntakeError string        `json:"intake_error,omitempty"`
	// Demand lists the schools by first-choice applicants ÷ quota, the most
	// over-subscribed first (at most 15); OverSubscribed counts those above 1.
	Demand         []postgres.Demand `json:"demand"`
	OverSubscribed int               `json:"over_subscribed"`
}

type wardCount struct {
	Ward  string `json:"ward"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// dashboardQuery reads ?level=&school_year=&hours=, defaulting the year to
// that of a window open now (else the latest window) and hours to 72.
func (s *server) dashboardQuery(c echo.Context) (enrollment.Level, int, int, error) {
	level := enrollment.Level(c.QueryParam("level"))
	if level != "" && !level.Valid() {
		return "", 0, 0, badQuery("level", "Tham số level phải là một trong: mg3, mg4, mg5, lop1, lop6", "query parameter level must be one of mg3, mg4, mg5, lop1, lop6")
	}
	year := 0
	if y := c.QueryParam("school_year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < 2000 || n > 2100 {
			return "", 0, 0, badQuery("school_year", "Tham số school_year phải là một năm, ví dụ 2027", "query parameter school_year must be a year, e.g. 2027")
		}
		year = n
	} else {
		now := s.NowFunc()
		for _, w := range s.Catalog().Windows() {
			if w.Open(now) || year == 0 || w.SchoolYear > year {
				year = w.SchoolYear
			}
			if w.Open(now) {
				break
			}
		}
	}
	hours := 72
	if h := c.QueryParam("hours"); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || n < 1 || n > 168 {
			return "", 0, 0, badQuery("hours", "Tham số hours phải từ 1 đến 168", "query parameter hours must be 1 to 168")
		}
		hours = n
	}
	return level, year, hours, nil
}

// buildDashboard gathers the dashboard's numbers for u, or takes them from
// the cache.
func (s *server) buildDashboard(c echo.Context) (*dashboard, error) {
	u, _ := staffUser(c)
	if u.Role == staff.RoleSchool {
		return nil, errOfficersOnly
	}
	level, year, hours, err := s.dashboardQuery(c)
	if err != nil {
		return nil, err
	}
	area := areaOf(u)
	now := s.NowFunc().UTC()
	key := fmt.Sprintf("%d|%s|%d|%s", year, level, hours, area.Authority)
	if d := s.dash.answer(key, now); d != nil {
		return d, nil
	}
	ctx := c.Request().Context()
	d := &dashboard{GeneratedAt: now, SchoolYear: year, Level: level, PerLevel: map[enrollment.Level][]int{}}
	last := now.Truncate(time.Hour)
	d.Since = last.Add(-time.Duration(hours-1) * time.Hour)
	for h := d.Since; !h.After(last); h = h.Add(time.Hour) {
		d.Hours = append(d.Hours, h)
	}
	if level != "" {
		d.Levels = []enrollment.Level{level}
	} else {
		for _, w := range s.Catalog().Windows() {
			if w.SchoolYear == year && !slices.Contains(d.Levels, w.Level) {
				d.Levels = append(d.Levels, w.Level)
			}
		}
	}
	if d.Levels == nil {
		d.Levels = []enrollment.Level{}
	}
	cold, hot, err := s.counts(ctx, year, now)
	if err != nil {
		return nil, s.storeError(err, "dashboard: registrations not counted")
	}
	var inArea func(ward string) bool
	if area.Authority != "" {
		wards, err := s.DB.AreaWards(ctx, area.Authority)
		if err != nil {
			return nil, s.storeError(err, "dashboard: wards not loaded")
		}
		inArea = func(w string) bool { return slices.Contains(wards, w) }
	}
	d.Hourly = []postgres.HourCount{}
	for _, part := range [][]postgres.HourCount{cold.Hourly, hot.Hourly} {
		for _, hc := range part {
			if hc.Hour.Before(d.Since) || (level != "" && hc.Level != level) || (inArea != nil && !inArea(hc.Ward)) {
				continue
			}
			d.Hourly = append(d.Hourly, hc)
		}
	}
	d.tally(s.Catalog())
	first := map[string]int{}
	for _, part := range [][]postgres.FirstCount{cold.First, hot.First} {
		for _, fc := range part {
			first[string(fc.Level)+"/"+fc.School] += fc.Count
		}
	}
	d.Demand = []postgres.Demand{}
	for _, l := range d.Levels {
		offers, err := s.DB.Offers(ctx, l, year, area)
		if err != nil {
			return nil, s.storeError(err, "dashboard: offers not loaded")
		}
		for _, o := range offers {
			n := first[string(l)+"/"+o.School]
			d.Demand = append(d.Demand, postgres.Demand{School: o.School, Name: o.Name, Ward: o.Ward, Level: l, Quota: o.Quota,
				First: n, Ratio: float64(n) / float64(max(o.Quota, 1))})
		}
	}
	slices.SortStableFunc(d.Demand, func(a, b postgres.Demand) int {
		switch {
		case a.Ratio > b.Ratio:
			return -1
		case a.Ratio < b.Ratio:
			return 1
		}
		return 0
	})
	for _, x := range d.Demand {
		if x.Ratio > 1 {
			d.OverSubscribed++
		}
	}
	if len(d.Demand) > 15 {
		d.Demand = d.Demand[:15]
	}
	if s.Intake != nil {
		ictx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := s.Intake.State(ictx)
		cancel()
		if err != nil {
			s.Logger.Warn("dashboard: intake state not read", "err", err)
			d.IntakeError = "Không đọc được trạng thái hàng đợi (Redis); số liệu khác vẫn đúng"
		} else {
			d.Intake = &st
		}
	}
	s.dash.keep(key, now, d)
	return d, nil
}

// tally fills PerLevel and PerWard from Hourly.
func (d *dashboard) tally(cat *enrollment.Catalog) {
	index := make(map[time.Time]int, len(d.Hours))
	for i, h := range d.Hours {
		index[h] = i
	}
	for _, l := range d.Levels {
		d.PerLevel[l] = make([]int, len(d.Hours))
	}
	wards := map[string]int{}
	for _, hc := range d.Hourly {
		if i, ok := index[hc.Hour]; ok {
			if d.PerLevel[hc.Level] == nil {
				d.PerLevel[hc.Level] = make([]int, len(d.Hours))
				d.Levels = append(d.Levels, hc.Level)
			}
			d.PerLevel[hc.Level][i] += hc.Count
		}
		wards[hc.Ward] += hc.Count
	}
	d.PerWard = []wardCount{}
	for code, n := range wards {
		name := code
		if w, ok := cat.Ward(code); ok {
			name = w.Name
		}
		d.PerWard = append(d.PerWard, wardCount{Ward: code, Name: name, Count: n})
	}
	slices.SortFunc(d.PerWard, func(a, b wardCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		if a.Ward < b.Ward {
			return -1
		}
		return 1
	})
}

// dashboardJSON answers GET /api/v1/dashboard.
func (s *server) dashboardJSON(c echo.Context) error {
	d, err := s.buildDashboard(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}
