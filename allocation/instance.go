package allocation

import (
	"bytes"
	"encoding/json"
	"math"
)

// Mechanism names a placement mechanism.
type Mechanism string

// The mechanisms. MechanismDA is the default.
const (
	// MechanismDA is student-proposing deferred acceptance: strategy-proof
	// for families and stable.
	MechanismDA Mechanism = "da"
	// MechanismBoston is immediate acceptance: round k admits the k-th
	// choices, by priority, into the seats left after round k-1.
	MechanismBoston Mechanism = "boston"
)

// TieBreak names how the lottery breaks ties between students of equal
// class and score.
type TieBreak string

// The tie-breaking rules. TieBreakSingle is the default.
const (
	// TieBreakSingle gives every student one lottery number, used at every
	// school: SHA-256 of seed + "/" + student id.
	TieBreakSingle TieBreak = "single"
	// TieBreakMultiple gives every student a separate number at every
	// school: SHA-256 of seed + "/" + school id + "/" + student id.
	TieBreakMultiple TieBreak = "multiple"
)

// An Instance is everything a placement run needs: the schools with their
// quotas and catchments, the students with their ranked choices, the
// priority rules and the public lottery seed. The outcome of Place depends
// on nothing else, so anyone holding the instance can re-run it.
//
// The zero values of Mechanism and TieBreak mean MechanismDA and
// TieBreakSingle. Decode fills AdministrativePlacement with true when the
// input file leaves it out; a zero Instance built in Go has it off.
type Instance struct {
	// Level is the entry level code (mg3, mg4, mg5, lop1, lop6). It is
	// informational: guarantees come from each student's Guaranteed flag.
	Level string `json:"level,omitempty"`
	// Seed is the public lottery seed. It is required.
	Seed string `json:"seed"`
	// Mechanism is the placement mechanism.
	Mechanism Mechanism `json:"mechanism"`
	// TieBreak is the lottery tie-breaking rule.
	TieBreak TieBreak `json:"tie_break"`
	// PriorityRules are the priority classes in order, each a set of
	// atoms joined by "+", for example "in_catchment+group1". A student's
	// class at a school is the index of the first rule that holds.
	PriorityRules []string `json:"priority_rules"`
	// AdministrativePlacement enables điều tiết: guaranteed students left
	// without a seat are sent to the nearest school with a free seat.
	AdministrativePlacement bool `json:"administrative_placement"`
	// Schools are the schools, each with a unique id.
	Schools []School `json:"schools"`
	// Students are the students, each with a unique id.
	Students []Student `json:"students"`
}

// A School offers Quota seats. Its catchment is the set of residential
// zones it serves; Scores, when present, rank applicants above the lottery
// (higher first).
type School struct {
	// ID identifies the school; choices and siblings_at refer to it.
	ID string `json:"id"`
	// Quota is the number of seats; it may be zero but not negative.
	Quota int `json:"quota"`
	// Catchment lists the zones the school serves (tuyến tuyển sinh).
	Catchment []string `json:"catchment,omitempty"`
	// Location is where the school is; without it the school takes no
	// part in administrative placement.
	Location *Location `json:"location,omitempty"`
	// Scores maps student ids to their score at this school. A student
	// missing from a non-empty map ranks after every scored student of
	// the same class. Every key must name a student.
	Scores map[string]float64 `json:"scores,omitempty"`
}

// A Student applies with ranked choices, most wanted first.
type Student struct {
	// ID identifies the student, for example a tracking code.
	ID string `json:"id"`
	// Choices are school ids, most wanted first, without repeats.
	Choices []string `json:"choices"`
	// PermanentZone is the zone of permanent residence (thường trú).
	PermanentZone string `json:"permanent_zone,omitempty"`
	// CurrentZone is the zone of current residence (nơi ở hiện tại).
	CurrentZone string `json:"current_zone,omitempty"`
	// PriorityGroup is the priority group, 1 to 3, or 0 for none.
	PriorityGroup int `json:"priority_group,omitempty"`
	// SiblingsAt lists schools where a sibling studies.
	SiblingsAt []string `json:"siblings_at,omitempty"`
	// Guaranteed marks a student entitled to a public place; with
	// administrative placement on, such a student left without a seat is
	// placed at the nearest school with a free seat.
	Guaranteed bool `json:"guaranteed,omitempty"`
	// Location is where the student lives; without it the student takes
	// no part in administrative placement.
	Location *Location `json:"location,omitempty"`
}

// A Location is a point in decimal degrees (WGS 84). In a file both lat
// and lon are required: a location object that lacks one is an input error,
// never the point 0.
type Location struct {
	// Lat is the latitude, -90 to 90.
	Lat float64 `json:"lat"`
	// Lon is the longitude, -180 to 180.
	Lon float64 `json:"lon"`
}

// UnmarshalJSON decodes a location, leaving a missing coordinate NaN so
// that validation reports it.
func (l *Location) UnmarshalJSON(b []byte) error {
	type plain Location
	p := plain{Lat: math.NaN(), Lon: math.NaN()}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // as for the rest of the file
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*l = Location(p)
	return nil
}
