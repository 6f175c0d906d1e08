package enrollment

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Window is the registration window of one level and school year. Windows
// open at a fixed time (00:00 in Hanoi practice) and close three days later.
type Window struct {
	Level      Level     `json:"level" db:"level"`
	SchoolYear int       `json:"school_year" db:"school_year"` // the year the school year starts: 2027 = 2027-2028
	OpensAt    time.Time `json:"opens_at" db:"opens_at"`
	ClosesAt   time.Time `json:"closes_at" db:"closes_at"`
	BirthYear  int       `json:"birth_year" db:"birth_year"`   // the level's normal birth year
	MaxChoices int       `json:"max_choices" db:"max_choices"` // how many ranked schools a registration may name
	// VerifyRegistry turns on checking each registration against the
	// population register before it is queued (see Catalog.Verify). It is
	// off unless the authority turns it on for the window.
	VerifyRegistry bool `json:"verify_registry" db:"verify_registry"`
	// ConfirmBy is when placed children must confirm their school, once
	// the authority has set it (a published run may set its own).
	ConfirmBy *time.Time `json:"confirm_by,omitempty" db:"confirm_by"`
}

// Open reports whether the window takes registrations at t: from OpensAt
// inclusive to ClosesAt exclusive.
func (w Window) Open(t time.Time) bool { return !t.Before(w.OpensAt) && t.Before(w.ClosesAt) }

// Ward is a ward or commune (phường, xã) and its residential groups.
type Ward struct {
	Code   string   `json:"code"`
	Name   string   `json:"name"`
	Kind   string   `json:"kind"`
	Groups []string `json:"groups"`
	Lat    float64  `json:"lat,omitempty"`
	Lon    float64  `json:"lon,omitempty"`
}

// Zone is part of a catchment: a whole ward when Groups is empty, or the
// listed residential groups of the ward.
type Zone struct {
	Ward   string   `json:"ward"`
	Groups []string `json:"groups"`
}

// Offer is what a school offers for one level and school year: its quota
// and catchment.
type Offer struct {
	SchoolCode string  `json:"code"`
	Name       string  `json:"name"`
	Ward       string  `json:"ward"`
	Address    string  `json:"address"`
	Lat        float64 `json:"lat"`
	Lon        float64 `json:"lon"`
	Level      Level   `json:"level"`
	SchoolYear int     `json:"school_year"`
	Quota      int     `json:"quota"`
	Catchment  []Zone  `json:"catchment"`
}

// Catalog is the public reference data that registrations are checked
// against: windows, wards and school offers. It is read-only once built, so
// the intake path checks registrations against it without touching
// PostgreSQL and keeps taking them while PostgreSQL is down.
type Catalog struct {
	windows []Window
	wards   map[string]wardEntry
	offers  map[offerKey]*Offer
	byLevel map[windowKey][]*Offer
}

type wardEntry struct {
	Ward
	groups map[string]bool
}

type windowKey struct {
	level Level
	year  int
}

type offerKey struct {
	code  string
	level Level
	year  int
}

// NewCatalog builds a catalog from its parts.
func NewCatalog(windows []Window, wards []Ward, offers []Offer) *Catalog {
	c := &Catalog{
		windows: slices.Clone(windows),
		wards:   make(map[string]wardEntry, len(wards)),
		offers:  make(map[offerKey]*Offer, len(offers)),
		byLevel: make(map[windowKey][]*Offer),
	}
	slices.SortFunc(c.windows, func(a, b Window) int {
		return cmp.Or(a.OpensAt.Compare(b.OpensAt), cmp.Compare(a.Level, b.Level), cmp.Compare(a.SchoolYear, b.SchoolYear))
	})
	for _, w := range wards {
		e := wardEntry{Ward: w, groups: make(map[string]bool, len(w.Groups))}
		for _, g := range w.Groups {
			e.groups[g] = true
		}
		c.wards[w.Code] = e
	}
	for i := range offers {
		o := &offers[i]
		c.offers[offerKey{o.SchoolCode, o.Level, o.SchoolYear}] = o
		k := windowKey{o.Level, o.SchoolYear}
		c.byLevel[k] = append(c.byLevel[k], o)
	}
	for _, list := range c.byLevel {
		slices.SortFunc(list, func(a, b *Offer) int { return cmp.Compare(a.SchoolCode, b.SchoolCode) })
	}
	return c
}

// Windows returns every window, earliest first.
func (c *Catalog) Windows() []Window { return slices.Clone(c.windows) }

// Window returns the window of a level and school year.
func (c *Catalog) Window(level Level, schoolYear int) (Window, bool) {
	for _, w := range c.windows {
		if w.Level == level && w.SchoolYear == schoolYear {
			return w, true
		}
	}
	return Window{}, false
}

// CurrentWindow returns the window of level that is open at t, or else the
// next one to open, or else the latest one.
func (c *Catalog) CurrentWindow(level Level, t time.Time) (Window, bool) {
	var next, last *Window
	for i := range c.windows {
		w := &c.windows[i]
		if w.Level != level {
			continue
		}
		if w.Open(t) {
			return *w, true
		}
		if w.OpensAt.After(t) && (next == nil || w.OpensAt.Before(next.OpensAt)) {
			next = w
		}
		if last == nil || w.ClosesAt.After(last.ClosesAt) {
			last = w
		}
	}
	if next != nil {
		return *next, true
	}
	if last != nil {
		return *last, true
	}
	return Window{}, false
}

// Offers returns the schools offering level in schoolYear, by code.
func (c *Catalog) Offers(level Level, schoolYear int) []*Offer {
	return c.byLevel[windowKey{level, schoolYear}]
}

// Offer returns a school's offer for a level and school year.
func (c *Catalog) Offer(code string, level Level, schoolYear int) (*Offer, bool) {
	o, ok := c.offers[offerKey{code, level, schoolYear}]
	return o, ok
}

// Ward returns a ward by code.
func (c *Catalog) Ward(code string) (Ward, bool) {
	w, ok := c.wards[code]
	return w.Ward, ok
}

// Wards returns every ward, by code.
func (c *Catalog) Wards() []Ward {
	out := make([]Ward, 0, len(c.wards))
	for _, w := range c.wards {
		out = append(out, w.Ward)
	}
	slices.SortFunc(out, func(a, b Ward) int { return cmp.Compare(a.Code, b.Code) })
	return out
}

// InCatchment reports whether a residence (ward and residential group) lies
// in the offer's catchment.
func (o *Offer) InCatchment(ward, group string) bool {
	for _, z := range o.Catchment {
		if z.Ward != ward {
			continue
		}
		if len(z.Groups) == 0 || slices.Contains(z.Groups, group) {
			return true
		}
	}
	return false
}

// catalogSnapshot is a catalog as JSON, to be kept where intake can reach
// it while PostgreSQL cannot be.
type catalogSnapshot struct {
	Windows []Window `json:"windows"`
	Wards   []Ward   `json:"wards"`
	Offers  []Offer  `json:"offers"`
}

// MarshalJSON encodes the catalog's contents.
func (c *Catalog) MarshalJSON() ([]byte, error) {
	s := catalogSnapshot{Windows: c.windows, Wards: c.Wards()}
	for _, list := range c.byLevel {
		for _, o := range list {
			s.Offers = append(s.Offers, *o)
		}
	}
	slices.SortFunc(s.Offers, func(a, b Offer) int {
		return cmp.Or(cmp.Compare(a.Level, b.Level), cmp.Compare(a.SchoolYear, b.SchoolYear), cmp.Compare(a.SchoolCode, b.SchoolCode))
	})
	return json.Marshal(s)
}

// UnmarshalCatalog decodes a catalog encoded by MarshalJSON.
func UnmarshalCatalog(b []byte) (*Catalog, error) {
	var s catalogSnapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode catalog: %w", err)
	}
	return NewCatalog(s.Windows, s.Wards, s.Offers), nil
}
