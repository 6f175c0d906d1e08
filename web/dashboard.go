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

// dashboardTTL is how long a dashboard answer is reused.
const dashboardTTL = 3 * time.Second

// dashboardRefresh is how often the page reloads itself, in seconds.
const dashboardRefresh = 5

// dashboardCache keeps recent dashboard answers by query.
type dashboardCache struct {
	mu      sync.Mutex
	entries map[string]cachedDashboard
}

type cachedDashboard struct {
	at time.Time
	d  *dashboard
}

func (dc *dashboardCache) get(key string, now time.Time) *dashboard {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	e, ok := dc.entries[key]
	if !ok || now.Sub(e.at) > dashboardTTL || now.Before(e.at) {
		return nil
	}
	return e.d
}

func (dc *dashboardCache) put(key string, now time.Time, d *dashboard) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if dc.entries == nil {
		dc.entries = make(map[string]cachedDashboard)
	}
	for k, e := range dc.entries {
		if now.Sub(e.at) > dashboardTTL {
			delete(dc.entries, k)
		}
	}
	dc.entries[key] = cachedDashboard{now, d}
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
	if d := s.dash.get(key, now); d != nil {
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
	if d.Hourly, err = s.DB.HourlyRegistrations(ctx, year, level, d.Since, area); err != nil {
		return nil, s.storeError(err, "dashboard: registrations not counted")
	}
	d.tally(s.Catalog())
	d.Demand = []postgres.Demand{}
	for _, l := range d.Levels {
		list, err := s.DB.FirstChoiceDemand(ctx, l, year, area, 15)
		if err != nil {
			return nil, s.storeError(err, "dashboard: demand not counted")
		}
		d.Demand = append(d.Demand, list...)
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
	s.dash.put(key, now, d)
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
