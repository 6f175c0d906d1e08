package allocation_test

// An independent check of the placement engine against the text of
// issue 3. It uses only the exported API (Decode, Place, WriteJSON) and
// reads the result through encoding/json; expected outcomes are worked out
// by hand from the spec, and TestSpecReference compares the engine with a
// deliberately naive re-implementation of the spec on random instances.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tuyensinh/tuyensinh/allocation"
)

// ---- reading results -------------------------------------------------

type specCutoff struct {
	Class   int      `json:"class"`
	Score   *float64 `json:"score"`
	Lottery string   `json:"lottery"`
}

type specExplanation struct {
	School     string     `json:"school"`
	ChoiceRank int        `json:"choice_rank"`
	Reason     string     `json:"reason"`
	MissedBy   string     `json:"missed_by"`
	Priority   specCutoff `json:"priority"`
	VI         string     `json:"vi"`
	EN         string     `json:"en"`
}

type specAssignment struct {
	Student      string            `json:"student"`
	School       *string           `json:"school"`
	ChoiceRank   int               `json:"choice_rank"`
	Via          string            `json:"via"`
	DistanceKm   float64           `json:"distance_km"`
	Explanations []specExplanation `json:"explanations"`
}

type specSchool struct {
	ID       string      `json:"id"`
	Quota    int         `json:"quota"`
	Admitted int         `json:"admitted"`
	Cutoff   *specCutoff `json:"cutoff"`
}

type specResult struct {
	Mechanism     string           `json:"mechanism"`
	TieBreak      string           `json:"tie_break"`
	PriorityRules []string         `json:"priority_rules"`
	Assignments   []specAssignment `json:"assignments"`
	Schools       []specSchool     `json:"schools"`
	Stats         map[string]any   `json:"stats"`
	raw           []byte
}

func (r *specResult) assignment(t *testing.T, id string) specAssignment {
	t.Helper()
	for _, a := range r.Assignments {
		if a.Student == id {
			return a
		}
	}
	t.Fatalf("no assignment for student %q", id)
	return specAssignment{}
}

func (r *specResult) school(t *testing.T, id string) specSchool {
	t.Helper()
	for _, s := range r.Schools {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no school %q in result", id)
	return specSchool{}
}

// placeJSON runs the engine on an instance file and decodes the result file.
func placeJSON(t *testing.T, src string) *specResult {
	t.Helper()
	r, err := tryPlaceJSON(src)
	if err != nil {
		t.Fatalf("place: %v\ninstance: %s", err, src)
	}
	return r
}

func tryPlaceJSON(src string) (*specResult, error) {
	inst, err := allocation.Decode([]byte(src))
	if err != nil {
		return nil, err
	}
	res, err := allocation.Place(inst)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		return nil, err
	}
	var r specResult
	if err := json.Unmarshal(buf.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("result is not JSON: %v\n%s", err, buf.Bytes())
	}
	r.raw = buf.Bytes()
	return &r, nil
}

// want asserts one assignment: school "" means null.
func want(t *testing.T, r *specResult, student, school string, rank int, via string) {
	t.Helper()
	a := r.assignment(t, student)
	got := ""
	if a.School != nil {
		got = *a.School
		if got == "" {
			t.Errorf("%s: school is the empty string, want null or an id", student)
		}
	}
	if got != school || a.ChoiceRank != rank || a.Via != via {
		t.Errorf("%s: got (%q, rank %d, %s), want (%q, rank %d, %s)", student, got, a.ChoiceRank, a.Via, school, rank, via)
	}
}

// wantCutoff asserts a school's admitted count and cutoff; class < 0 means
// a null cutoff. score nil means a null score.
func wantCutoff(t *testing.T, r *specResult, school string, admitted, class int, score *float64, lottery string) {
	t.Helper()
	s := r.school(t, school)
	if s.Admitted != admitted {
		t.Errorf("%s: admitted %d, want %d", school, s.Admitted, admitted)
	}
	if class < 0 {
		if s.Cutoff != nil {
			t.Errorf("%s: cutoff %+v, want null", school, *s.Cutoff)
		}
		return
	}
	if s.Cutoff == nil {
		t.Errorf("%s: cutoff null, want class %d", school, class)
		return
	}
	c := s.Cutoff
	if c.Class != class || !sameScore(c.Score, score) || c.Lottery != lottery {
		t.Errorf("%s: cutoff (class %d, score %v, lottery %s), want (class %d, score %v, lottery %s)",
			school, c.Class, fmtScore(c.Score), c.Lottery, class, fmtScore(score), lottery)
	}
}

func sameScore(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func fmtScore(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func f64(v float64) *float64 { return &v }

// lot is the single-lottery digest, computed from the spec text.
func lot(seed, student string) string {
	d := sha256.Sum256([]byte(seed + "/" + student))
	return hex.EncodeToString(d[:])
}

// lotAt is the multiple-lottery digest.
func lotAt(seed, school, student string) string {
	d := sha256.Sum256([]byte(seed + "/" + school + "/" + student))
	return hex.EncodeToString(d[:])
}

// wantExplained asserts the schools (in order) explained for a student
// and their reasons ("full/class" etc.).
func wantExplained(t *testing.T, r *specResult, student string, want ...string) {
	t.Helper()
	a := r.assignment(t, student)
	var got []string
	for _, e := range a.Explanations {
		s := e.School + ":" + e.Reason
		if e.MissedBy != "" {
			s += "/" + e.MissedBy
		}
		got = append(got, s)
		if e.VI == "" || e.EN == "" {
			t.Errorf("%s: explanation for %s lacks words (vi %q, en %q)", student, e.School, e.VI, e.EN)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: explanations %q, want %q", student, got, want)
	}
}

// ---- hand-made cases -----------------------------------------------------

// classAt places one student alone at a quota-1 school S (catchment Z, Z2)
// under the given rules; the school is then full and its cutoff is the
// student's priority, so the cutoff's class is the student's class.
func classAt(t *testing.T, rules []string, student string) int {
	t.Helper()
	rj, _ := json.Marshal(rules)
	src := `{"seed":"atoms","priority_rules":` + string(rj) + `,
	  "schools":[{"id":"S","quota":1,"catchment":["Z","Z2"]},{"id":"O","quota":0,"catchment":["W"]}],
	  "students":[{"id":"st","choices":["S"]` + student + `}]}`
	r := placeJSON(t, src)
	c := r.school(t, "S").Cutoff
	if c == nil {
		t.Fatalf("rules %v, student %s: S has no cutoff", rules, student)
	}
	return c.Class
}

func TestSpecAtoms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		rule    string
		student string // extra student fields
		holds   bool
	}{
		{"dt1", `,"permanent_zone":"Z","current_zone":"Z"`, true},
		{"dt1", `,"permanent_zone":"Z","current_zone":"Z2"`, true},
		{"dt1", `,"permanent_zone":"Z","current_zone":"W"`, false},
		{"dt1", `,"permanent_zone":"W","current_zone":"Z"`, false},
		{"dt1", ``, false},
		{"dt2", `,"permanent_zone":"Z","current_zone":"W"`, true},
		{"dt2", `,"permanent_zone":"Z"`, true},
		{"dt2", `,"permanent_zone":"Z","current_zone":"Z"`, false},
		{"dt2", `,"permanent_zone":"W","current_zone":"Z"`, false},
		{"dt3", `,"permanent_zone":"W","current_zone":"Z"`, true},
		{"dt3", `,"current_zone":"Z2"`, true},
		{"dt3", `,"permanent_zone":"Z","current_zone":"Z"`, false},
		{"dt3", `,"permanent_zone":"Z","current_zone":"W"`, false},
		{"in_catchment", `,"permanent_zone":"Z","current_zone":"Z"`, true},
		{"in_catchment", `,"permanent_zone":"Z","current_zone":"W"`, true},
		{"in_catchment", `,"permanent_zone":"W","current_zone":"Z2"`, true},
		{"in_catchment", `,"permanent_zone":"W","current_zone":"W"`, false},
		{"in_catchment", ``, false},
		{"group1", `,"priority_group":1`, true},
		{"group1", `,"priority_group":2`, false},
		{"group1", ``, false},
		{"group2", `,"priority_group":2`, true},
		{"group2", `,"priority_group":3`, false},
		{"group3", `,"priority_group":3`, true},
		{"group3", `,"priority_group":1`, false},
		{"sibling", `,"siblings_at":["S"]`, true},
		{"sibling", `,"siblings_at":["O","S"]`, true},
		{"sibling", `,"siblings_at":["O"]`, false},
		{"sibling", ``, false},
		{"in_catchment+group1", `,"permanent_zone":"Z","current_zone":"W","priority_group":1`, true},
		{"in_catchment+group1", `,"permanent_zone":"Z","current_zone":"W","priority_group":0`, false},
		{"in_catchment+group1", `,"permanent_zone":"W","current_zone":"W","priority_group":1`, false},
		{"dt2+sibling+group3", `,"permanent_zone":"Z2","siblings_at":["S"],"priority_group":3`, true},
		{"dt2+sibling+group3", `,"permanent_zone":"Z2","priority_group":3`, false},
	}
	for _, tc := range cases {
		want := 1 // len(rules) when the only rule does not hold
		if tc.holds {
			want = 0
		}
		if got := classAt(t, []string{tc.rule}, tc.student); got != want {
			t.Errorf("rule %q, student {%s}: class %d, want %d", tc.rule, tc.student, got, want)
		}
	}
}

func TestSpecRuleOrder(t *testing.T) {
	t.Parallel()
	rules := []string{"group1", "dt1"}
	for _, tc := range []struct {
		student string
		class   int
	}{
		{`,"priority_group":1`, 0},
		{`,"priority_group":1,"permanent_zone":"Z","current_zone":"Z"`, 0}, // first rule that holds
		{`,"permanent_zone":"Z","current_zone":"Z"`, 1},
		{`,"permanent_zone":"Z","current_zone":"W","priority_group":2`, 2}, // none: len(rules)
		{``, 2},
	} {
		if got := classAt(t, rules, tc.student); got != tc.class {
			t.Errorf("student {%s}: class %d, want %d", tc.student, got, tc.class)
		}
	}
	if got := classAt(t, nil, `,"priority_group":1,"permanent_zone":"Z","current_zone":"Z"`); got != 0 {
		t.Errorf("no rules: class %d, want 0 (len(rules))", got)
	}

	// Placement: with seed "ro" the lottery orders d1 (137d…) < g1 (3720…)
	// < n (9917…), but g1 is of class 0 and wins the one seat at R.
	r := placeJSON(t, `{"seed":"ro","priority_rules":["group1","dt1"],
	  "schools":[{"id":"R","quota":1,"catchment":["Z"]},{"id":"BIG","quota":10}],
	  "students":[
	    {"id":"d1","choices":["R","BIG"],"permanent_zone":"Z","current_zone":"Z"},
	    {"id":"n","choices":["R","BIG"]},
	    {"id":"g1","choices":["R","BIG"],"priority_group":1}]}`)
	if !(lot("ro", "d1") < lot("ro", "g1")) {
		t.Fatal("test premise: d1 should have the smaller lottery number")
	}
	want(t, r, "g1", "R", 1, "choice")
	want(t, r, "d1", "BIG", 2, "choice")
	want(t, r, "n", "BIG", 2, "choice")
	wantCutoff(t, r, "R", 1, 0, nil, lot("ro", "g1"))
	wantCutoff(t, r, "BIG", 2, -1, nil, "")
	wantExplained(t, r, "d1", "R:full/class")
	wantExplained(t, r, "n", "R:full/class")
	wantExplained(t, r, "g1")
	if e := r.assignment(t, "n").Explanations; len(e) == 1 && e[0].Priority.Class != 2 {
		t.Errorf("n at R: explained class %d, want 2", e[0].Priority.Class)
	}
}

func TestSpecScores(t *testing.T) {
	t.Parallel()
	// Seed sc2: c 2fb7… < b 61e9… < e ae46… < d ca0f… < a dfae…; f 10a9… < g c773….
	r := placeJSON(t, `{"seed":"sc2",
	  "schools":[
	    {"id":"T","quota":2,"scores":{"a":20,"b":25}},
	    {"id":"V","quota":1,"scores":{"d":10,"e":10}},
	    {"id":"W","quota":1,"scores":{}},
	    {"id":"U","quota":10}],
	  "students":[
	    {"id":"a","choices":["T","U"]},{"id":"b","choices":["T","U"]},{"id":"c","choices":["T","U"]},
	    {"id":"d","choices":["V","U"]},{"id":"e","choices":["V","U"]},
	    {"id":"f","choices":["W"]},{"id":"g","choices":["W","U"]}]}`)
	for _, p := range [][2]string{{"c", "b"}, {"b", "e"}, {"e", "d"}, {"d", "a"}, {"f", "g"}} {
		if !(lot("sc2", p[0]) < lot("sc2", p[1])) {
			t.Fatalf("test premise: lottery %s < %s", p[0], p[1])
		}
	}
	// Higher score first; c has the best lottery number but no score at a
	// school that has scores, so it comes after a and b.
	want(t, r, "b", "T", 1, "choice")
	want(t, r, "a", "T", 1, "choice")
	want(t, r, "c", "U", 2, "choice")
	wantCutoff(t, r, "T", 2, 0, f64(20), lot("sc2", "a"))
	wantExplained(t, r, "c", "T:full/score")
	// Equal scores: the lottery decides.
	want(t, r, "e", "V", 1, "choice")
	want(t, r, "d", "U", 2, "choice")
	wantCutoff(t, r, "V", 1, 0, f64(10), lot("sc2", "e"))
	wantExplained(t, r, "d", "V:full/lottery")
	// An empty scores object scores nobody: only the lottery counts, and
	// the cutoff has no score (same outcome whether {} counts as "has
	// scores" or not: nobody has a score there).
	want(t, r, "f", "W", 1, "choice")
	want(t, r, "g", "U", 2, "choice")
	wantCutoff(t, r, "W", 1, 0, nil, lot("sc2", "f"))
	// No scores: no effect, and a school with seats left has no cutoff.
	wantCutoff(t, r, "U", 3, -1, nil, "")

	// The class comes before the score: a student of a better class and
	// no score beats a scored one.
	r = placeJSON(t, `{"seed":"sc2","priority_rules":["sibling"],
	  "schools":[{"id":"T","quota":1,"scores":{"a":30}}],
	  "students":[{"id":"a","choices":["T"]},{"id":"z","choices":["T"],"siblings_at":["T"]}]}`)
	want(t, r, "z", "T", 1, "choice")
	want(t, r, "a", "", 0, "unassigned")
	wantCutoff(t, r, "T", 1, 0, nil, lot("sc2", "z"))
	wantExplained(t, r, "a", "T:full/class")
}

func TestSpecTieBreak(t *testing.T) {
	t.Parallel()
	// Seed s3: single q 15e1… < p 66bb…; at X multiple p 6a99… < q 9e53….
	if !(lot("s3", "q") < lot("s3", "p")) || !(lotAt("s3", "X", "p") < lotAt("s3", "X", "q")) {
		t.Fatal("test premise: single and multiple lotteries disagree at X")
	}
	const base = `"schools":[{"id":"X","quota":1},{"id":"Y","quota":1}],
	  "students":[{"id":"p","choices":["X","Y"]},{"id":"q","choices":["X","Y"]}]}`
	for _, mech := range []string{"da", "boston"} {
		r := placeJSON(t, `{"seed":"s3","mechanism":"`+mech+`","tie_break":"single",`+base)
		want(t, r, "q", "X", 1, "choice")
		want(t, r, "p", "Y", 2, "choice")
		wantCutoff(t, r, "X", 1, 0, nil, lot("s3", "q"))
		wantCutoff(t, r, "Y", 1, 0, nil, lot("s3", "p"))
		wantExplained(t, r, "p", "X:full/lottery")

		r = placeJSON(t, `{"seed":"s3","mechanism":"`+mech+`","tie_break":"multiple",`+base)
		want(t, r, "p", "X", 1, "choice")
		want(t, r, "q", "Y", 2, "choice")
		wantCutoff(t, r, "X", 1, 0, nil, lotAt("s3", "X", "p"))
		wantCutoff(t, r, "Y", 1, 0, nil, lotAt("s3", "Y", "q"))
		if e := r.assignment(t, "q").Explanations; len(e) != 1 || e[0].Priority.Lottery != lotAt("s3", "X", "q") {
			t.Errorf("%s multiple: q's explanation at X should carry its number at X: %+v", mech, e)
		}
	}
}

// daBostonInstance gives different outcomes under the two mechanisms.
// Rules: sibling. A, B quota 1: z has a sibling at A, x at B.
// C quota 2, E quota 0: c3 has a sibling at C; seed db orders c1 43c5… < c2 5f58….
const daBostonInstance = `"priority_rules":["sibling"],"administrative_placement":false,
  "schools":[{"id":"A","quota":1},{"id":"B","quota":1},{"id":"C","quota":2},{"id":"E","quota":0}],
  "students":[
    {"id":"x","choices":["A","B"],"siblings_at":["B"]},
    {"id":"y","choices":["B","A"]},
    {"id":"z","choices":["A"],"siblings_at":["A"]},
    {"id":"c1","choices":["E","C"]},
    {"id":"c2","choices":["C"]},
    {"id":"c3","choices":["E","C"],"siblings_at":["C"]}]}`

func TestSpecDAvsBoston(t *testing.T) {
	t.Parallel()
	if !(lot("db", "c1") < lot("db", "c2")) {
		t.Fatal("test premise: c1 before c2 in the lottery")
	}
	// DA: z holds A; x is refused at A, proposes to B and displaces y
	// (sibling); y proposes to A and is refused (z has class 0). At C, c3
	// (class 0) and c1 (better lottery than c2) hold the two seats.
	da := placeJSON(t, `{"seed":"db","mechanism":"da",`+daBostonInstance)
	want(t, da, "z", "A", 1, "choice")
	want(t, da, "x", "B", 2, "choice")
	want(t, da, "y", "", 0, "unassigned")
	want(t, da, "c3", "C", 2, "choice")
	want(t, da, "c1", "C", 2, "choice")
	want(t, da, "c2", "", 0, "unassigned")
	wantCutoff(t, da, "A", 1, 0, nil, lot("db", "z"))
	wantCutoff(t, da, "B", 1, 0, nil, lot("db", "x"))
	wantCutoff(t, da, "C", 2, 1, nil, lot("db", "c1"))
	wantCutoff(t, da, "E", 0, -1, nil, "")
	wantExplained(t, da, "y", "B:full/class", "A:full/class")
	wantExplained(t, da, "x", "A:full/class")
	wantExplained(t, da, "c2", "C:full/lottery")
	wantExplained(t, da, "c1", "E:no_seats")
	wantExplained(t, da, "z")

	// Boston: round 1 admits z at A (over x), y at B, c2 at C; E has no
	// seats. Round 2: x applies to B, already full; c1 and c3 compete for
	// the one seat C has left and c3 wins it (sibling).
	bo := placeJSON(t, `{"seed":"db","mechanism":"boston",`+daBostonInstance)
	want(t, bo, "z", "A", 1, "choice")
	want(t, bo, "y", "B", 1, "choice")
	want(t, bo, "x", "", 0, "unassigned")
	want(t, bo, "c2", "C", 1, "choice")
	want(t, bo, "c3", "C", 2, "choice")
	want(t, bo, "c1", "", 0, "unassigned")
	wantCutoff(t, bo, "A", 1, 0, nil, lot("db", "z"))
	wantCutoff(t, bo, "B", 1, 1, nil, lot("db", "y"))
	// The last student admitted at C is c3, in round 2.
	wantCutoff(t, bo, "C", 2, 0, nil, lot("db", "c3"))
	wantExplained(t, bo, "x", "A:full/class", "B:filled_earlier_round")
	wantExplained(t, bo, "c1", "E:no_seats", "C:full/class")
}

func TestSpecAdministrative(t *testing.T) {
	t.Parallel()
	// Seed ad: v 0015… < w bcef… < u bd0b…; input order u, w, v.
	for _, p := range [][2]string{{"v", "w"}, {"w", "u"}} {
		if !(lot("ad", p[0]) < lot("ad", p[1])) {
			t.Fatalf("test premise: lottery %s < %s", p[0], p[1])
		}
	}
	home := `"location":{"lat":10,"lon":20}`
	// tie_break multiple: administrative placement still uses the single
	// digest. N (no seats) and FULL (filled by k) are nearest; S1 and S2
	// are at exactly the same distance, on either side; S0 and SN have
	// seats but no location.
	r := placeJSON(t, `{"seed":"ad","tie_break":"multiple",
	  "schools":[
	    {"id":"S0","quota":5},
	    {"id":"SN","quota":5,"location":null},
	    {"id":"S2","quota":1,"location":{"lat":10,"lon":21}},
	    {"id":"N","quota":0,"location":{"lat":10,"lon":20}},
	    {"id":"S1","quota":1,"location":{"lat":10,"lon":19}},
	    {"id":"FULL","quota":1,"location":{"lat":10,"lon":20}},
	    {"id":"FAR","quota":1,"location":{"lat":10,"lon":25}}],
	  "students":[
	    {"id":"u","choices":[],"guaranteed":true,`+home+`},
	    {"id":"w","choices":["N"],"guaranteed":true,`+home+`},
	    {"id":"v","choices":[],"guaranteed":true,`+home+`},
	    {"id":"k","choices":["FULL"],`+home+`},
	    {"id":"nl","choices":[],"guaranteed":true},
	    {"id":"nn","choices":[],"guaranteed":true,"location":null},
	    {"id":"ng","choices":[],`+home+`}]}`)
	want(t, r, "v", "S1", 0, "administrative")
	want(t, r, "w", "S2", 0, "administrative")
	want(t, r, "u", "FAR", 0, "administrative")
	want(t, r, "k", "FULL", 1, "choice")
	want(t, r, "nl", "", 0, "unassigned")
	want(t, r, "nn", "", 0, "unassigned")
	want(t, r, "ng", "", 0, "unassigned")
	wantExplained(t, r, "w", "N:no_seats")
	wantCutoff(t, r, "S0", 0, -1, nil, "")
	wantCutoff(t, r, "SN", 0, -1, nil, "")
	wantCutoff(t, r, "N", 0, -1, nil, "")
	wantCutoff(t, r, "FULL", 1, 0, nil, lotAt("ad", "FULL", "k"))
	for id, lon := range map[string]float64{"v": 19, "w": 21, "u": 25} {
		got := r.assignment(t, id).DistanceKm
		if want := haversine(10, 20, 10, lon); math.Abs(got-want) > 1e-9*want {
			t.Errorf("%s: distance_km %v, want %v", id, got, want)
		}
	}
	st := r.Stats
	for k, v := range map[string]float64{"administrative": 3, "unassigned": 3, "assigned_by_choice": 1, "unassigned_guaranteed": 2} {
		if st[k] != v {
			t.Errorf("stats.%s = %v, want %v", k, st[k], v)
		}
	}

	// Off: nobody is placed administratively.
	r = placeJSON(t, `{"seed":"ad","administrative_placement":false,
	  "schools":[{"id":"S1","quota":1,"location":{"lat":10,"lon":19}}],
	  "students":[{"id":"v","choices":[],"guaranteed":true,`+home+`}]}`)
	want(t, r, "v", "", 0, "unassigned")

	// {"lat":0,"lon":0} is a real location (Gulf of Guinea), not "none".
	r = placeJSON(t, `{"seed":"ad",
	  "schools":[{"id":"P","quota":1,"location":{"lat":0,"lon":1}},{"id":"Q","quota":1,"location":{"lat":0,"lon":0}}],
	  "students":[{"id":"v","choices":[],"guaranteed":true,"location":{"lat":0,"lon":0}}]}`)
	want(t, r, "v", "Q", 0, "administrative")
}

// TestSpecLocationWithoutCoordinates: a location object without lat and
// lon is not a location. The spec says schools without a location take no
// part; the engine instead reads {} as (0, 0) and places children there.
// Either rejecting the record or ignoring the school satisfies the spec.
func TestSpecLocationWithoutCoordinates(t *testing.T) {
	t.Parallel()
	r, err := tryPlaceJSON(`{"seed":"ad",
	  "schools":[{"id":"E","quota":1,"location":{}},{"id":"P","quota":1,"location":{"lat":0,"lon":1}}],
	  "students":[{"id":"v","choices":[],"guaranteed":true,"location":{"lat":0,"lon":0.1}}]}`)
	if err != nil {
		if !strings.Contains(err.Error(), `schools[0]`) {
			t.Errorf("error does not name the school: %v", err)
		}
		return
	}
	a := r.assignment(t, "v")
	if a.School != nil && *a.School == "E" {
		t.Errorf(`a school with "location":{} took part in administrative placement as if at (0, 0); want an input error or no part`)
	}
}

func TestSpecDefaults(t *testing.T) {
	t.Parallel()
	// Absent mechanism: deferred acceptance.
	r := placeJSON(t, `{"seed":"db",`+daBostonInstance)
	if r.Mechanism != "da" || r.TieBreak != "single" {
		t.Errorf("echoed mechanism %q, tie_break %q", r.Mechanism, r.TieBreak)
	}
	want(t, r, "x", "B", 2, "choice")
	want(t, r, "y", "", 0, "unassigned")

	// Absent tie_break: single.
	r = placeJSON(t, `{"seed":"s3","schools":[{"id":"X","quota":1},{"id":"Y","quota":1}],
	  "students":[{"id":"p","choices":["X","Y"]},{"id":"q","choices":["X","Y"]}]}`)
	want(t, r, "q", "X", 1, "choice")

	// Everything absent: the same bytes as with the defaults spelt out,
	// administrative placement on and no priority rules (everyone class 0).
	body := `"schools":[{"id":"A","quota":1,"catchment":["Z"],"location":{"lat":21,"lon":105}},
	    {"id":"B","quota":1,"location":{"lat":21,"lon":106}}],
	  "students":[
	    {"id":"x","choices":["A"],"permanent_zone":"Z","current_zone":"Z","priority_group":1,"siblings_at":["A"]},
	    {"id":"y","choices":["A"],"guaranteed":true,"location":{"lat":21,"lon":105}}]}`
	absent := placeJSON(t, `{"seed":"dflt",`+body)
	explicit := placeJSON(t, `{"seed":"dflt","mechanism":"da","tie_break":"single","priority_rules":[],"administrative_placement":true,`+body)
	nulls := placeJSON(t, `{"seed":"dflt","mechanism":null,"tie_break":null,"priority_rules":null,"administrative_placement":null,`+body)
	if !bytes.Equal(absent.raw, explicit.raw) {
		t.Errorf("absent fields differ from explicit defaults:\n%s\n%s", absent.raw, explicit.raw)
	}
	if !bytes.Equal(absent.raw, nulls.raw) {
		t.Errorf("null fields differ from explicit defaults:\n%s\n%s", nulls.raw, explicit.raw)
	}
	// Seed dflt: x 6060… < y b13b…; no rules, so the lottery decides.
	want(t, absent, "x", "A", 1, "choice")
	want(t, absent, "y", "B", 0, "administrative")
	wantCutoff(t, absent, "A", 1, 0, nil, lot("dflt", "x"))
	if absent.PriorityRules == nil || len(absent.PriorityRules) != 0 {
		t.Errorf("priority_rules echoed as %v, want []", absent.PriorityRules)
	}
}

func TestSpecQuotaZero(t *testing.T) {
	t.Parallel()
	for _, mech := range []string{"da", "boston"} {
		r := placeJSON(t, `{"seed":"q0","mechanism":"`+mech+`",
		  "schools":[{"id":"Q0","quota":0,"location":{"lat":21,"lon":105}},
		    {"id":"B","quota":1,"location":{"lat":21,"lon":106}},
		    {"id":"C","quota":1,"location":{"lat":21,"lon":107}}],
		  "students":[{"id":"s","choices":["Q0","B"],"location":{"lat":21,"lon":105}},
		    {"id":"g","choices":["Q0"],"guaranteed":true,"location":{"lat":21,"lon":105}}]}`)
		want(t, r, "s", "B", 2, "choice")
		want(t, r, "g", "C", 0, "administrative")
		wantCutoff(t, r, "Q0", 0, -1, nil, "")
		wantCutoff(t, r, "B", 1, 0, nil, lot("q0", "s"))
		wantExplained(t, r, "s", "Q0:no_seats")
		wantExplained(t, r, "g", "Q0:no_seats")
	}
}

// TestSpecCutoffAfterAdministrative: the spec says a school's cutoff is
// "the priority of the last admitted student ... null while the school has
// free seats". A school partly filled by choice and then filled by
// administrative placement had free seats when the mechanism ended: nobody
// who applied there was refused, so it has no cutoff to miss, and its
// cutoff stays null (documented in doc.go and SchoolResult.Cutoff).
func TestSpecCutoffAfterAdministrative(t *testing.T) {
	t.Parallel()
	r := placeJSON(t, `{"seed":"ca",
	  "schools":[{"id":"A","quota":2,"location":{"lat":21,"lon":105}}],
	  "students":[{"id":"a","choices":["A"]},
	    {"id":"g","choices":[],"guaranteed":true,"location":{"lat":21,"lon":105}}]}`)
	want(t, r, "a", "A", 1, "choice")
	want(t, r, "g", "A", 0, "administrative")
	if c := r.school(t, "A").Cutoff; c != nil {
		t.Errorf("cutoff of a school no applicant was refused from = %+v, want null", c)
	}
}

// TestSpecEmptySeed: "seed is a string and required". An empty seed is no
// public seed at all (every lottery number would be predictable from the
// ids alone), so it is rejected like a missing one.
func TestSpecEmptySeed(t *testing.T) {
	t.Parallel()
	_, err := tryPlaceJSON(`{"seed":"","schools":[{"id":"A","quota":1}],"students":[{"id":"x","choices":["A"]}]}`)
	if err == nil || !strings.Contains(err.Error(), "seed") {
		t.Errorf("empty seed: error = %v, want one naming the seed", err)
	}
}

func TestSpecOutputShape(t *testing.T) {
	t.Parallel()
	r := placeJSON(t, `{"seed":"db",`+daBostonInstance)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"assignments", "schools", "stats"} {
		if _, ok := m[k]; !ok {
			t.Errorf("result lacks %q", k)
		}
	}
	var as []map[string]json.RawMessage
	var ss []map[string]json.RawMessage
	var st map[string]json.RawMessage
	if json.Unmarshal(m["assignments"], &as) != nil || json.Unmarshal(m["schools"], &ss) != nil || json.Unmarshal(m["stats"], &st) != nil {
		t.Fatalf("bad shape: %s", r.raw)
	}
	for _, a := range as {
		for _, k := range []string{"student", "school", "choice_rank", "via"} {
			if _, ok := a[k]; !ok {
				t.Errorf("assignment %s lacks %q", a["student"], k)
			}
		}
	}
	for _, s := range ss {
		for _, k := range []string{"id", "quota", "admitted", "cutoff"} {
			if _, ok := s[k]; !ok {
				t.Errorf("school %s lacks %q", s["id"], k)
			}
		}
		if string(s["cutoff"]) != "null" {
			var c map[string]json.RawMessage
			if err := json.Unmarshal(s["cutoff"], &c); err != nil || len(c) != 3 || c["class"] == nil || c["score"] == nil || c["lottery"] == nil {
				t.Errorf("school %s: cutoff %s is not {class, score, lottery}", s["id"], s["cutoff"])
			}
		}
	}
	// Assignments follow the input order of students, schools of schools.
	var ids []string
	for _, a := range r.Assignments {
		ids = append(ids, a.Student)
	}
	if !slices.Equal(ids, []string{"x", "y", "z", "c1", "c2", "c3"}) {
		t.Errorf("assignment order %v", ids)
	}
}

func TestSpecBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"unknown school", `{"seed":"s","schools":[{"id":"A","quota":1}],"students":[{"id":"a","choices":["A"]},{"id":"b","choices":["A","ZZ"]}]}`,
			[]string{`students[1]`, `"b"`, `"ZZ"`}},
		{"negative quota", `{"seed":"s","schools":[{"id":"A","quota":-1}],"students":[]}`, []string{`schools[0]`, `"A"`, "negative"}},
		{"duplicate school", `{"seed":"s","schools":[{"id":"A","quota":1},{"id":"A","quota":2}],"students":[]}`, []string{`schools[1]`, `"A"`, "duplicate"}},
		{"duplicate student", `{"seed":"s","schools":[{"id":"A","quota":1}],"students":[{"id":"a","choices":[]},{"id":"a","choices":[]}]}`, []string{`students[1]`, `"a"`, "duplicate"}},
		{"missing seed", `{"schools":[],"students":[]}`, []string{"seed"}},
		{"unknown mechanism", `{"seed":"s","mechanism":"ttc","schools":[],"students":[]}`, []string{"mechanism", "ttc"}},
		{"unknown tie_break", `{"seed":"s","tie_break":"double","schools":[],"students":[]}`, []string{"tie_break", "double"}},
		{"unknown atom", `{"seed":"s","priority_rules":["dt1","dt4+group1"],"schools":[],"students":[]}`, []string{"priority_rules[1]", "dt4"}},
		{"malformed", `{"seed":"s","schools":[{"id":"A","quota":1},],"students":[]}`, []string{"line 1"}},
		{"wrong type", `{"seed":"s","schools":[{"id":"A","quota":"1"}],"students":[]}`, []string{"schools[0].quota"}},
	} {
		_, err := tryPlaceJSON(tc.src)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
	}
	// The error of Place is an *InputError naming the record.
	inst, err := allocation.Decode([]byte(`{"seed":"s","schools":[],"students":[{"id":"b","choices":["ZZ"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var ie *allocation.InputError
	if _, err := allocation.Place(inst); !errors.As(err, &ie) {
		t.Errorf("Place: %v, want an *InputError", err)
	}
}

// TestSpecCLIBadRecord builds the tuyensinh command and runs `place` on a
// file with a bad record: non-zero exit, an error naming the record, and
// no output file.
func TestSpecCLIBadRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tuyensinh")
	build := exec.Command(gobin, "build", "-o", bin, "github.com/tuyensinh/tuyensinh/cmd/tuyensinh")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	in := filepath.Join(dir, "bad.json")
	outFile := filepath.Join(dir, "result.json")
	if err := os.WriteFile(in, []byte(`{"seed":"s","schools":[{"id":"A","quota":1}],
	  "students":[{"id":"a","choices":["A"]},{"id":"b","choices":["A","NOPE"]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "place", "--input", in, "--output", outFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Errorf("place on a bad file: %v, want a non-zero exit", err)
	}
	for _, w := range []string{`students[1]`, `"b"`, `"NOPE"`} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("stderr %q does not mention %s", stderr.String(), w)
		}
	}
	if _, err := os.Stat(outFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output file exists after a failed run (%v)", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only the binary and the input", names)
	}

	// The same file, fixed, gives a result file.
	if err := os.WriteFile(in, []byte(`{"seed":"s","schools":[{"id":"A","quota":1}],
	  "students":[{"id":"a","choices":["A"]},{"id":"b","choices":["A"]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "place", "--input", in, "--output", outFile).CombinedOutput(); err != nil {
		t.Fatalf("place: %v\n%s", err, out)
	}
	data, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	var r specResult
	if err := json.Unmarshal(data, &r); err != nil || len(r.Assignments) != 2 {
		t.Fatalf("result file: %v\n%s", err, data)
	}
}

// ---- an independent reference, from the spec text alone ------------------

type refLoc struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

type refSchool struct {
	ID        string             `json:"id"`
	Quota     int                `json:"quota"`
	Catchment []string           `json:"catchment,omitempty"`
	Location  *refLoc            `json:"location,omitempty"`
	Scores    map[string]float64 `json:"scores,omitempty"`
}

type refStudent struct {
	ID            string   `json:"id"`
	Choices       []string `json:"choices"`
	PermanentZone string   `json:"permanent_zone,omitempty"`
	CurrentZone   string   `json:"current_zone,omitempty"`
	PriorityGroup int      `json:"priority_group,omitempty"`
	SiblingsAt    []string `json:"siblings_at,omitempty"`
	Guaranteed    bool     `json:"guaranteed,omitempty"`
	Location      *refLoc  `json:"location,omitempty"`
}

type refInstance struct {
	Seed          string       `json:"seed"`
	Mechanism     string       `json:"mechanism"`
	TieBreak      string       `json:"tie_break"`
	PriorityRules []string     `json:"priority_rules"`
	Admin         bool         `json:"administrative_placement"`
	Schools       []refSchool  `json:"schools"`
	Students      []refStudent `json:"students"`
}

type refPrio struct {
	class    int
	hasScore bool
	score    float64
	lottery  [32]byte
}

// before reports whether p comes before q at a school; scored says
// whether the school has scores.
func (p refPrio) before(q refPrio) bool {
	if p.class != q.class {
		return p.class < q.class
	}
	if p.hasScore != q.hasScore {
		return p.hasScore
	}
	if p.hasScore && p.score != q.score {
		return p.score > q.score
	}
	return bytes.Compare(p.lottery[:], q.lottery[:]) < 0
}

func (in *refInstance) prio(i, s int) refPrio {
	st, sc := &in.Students[i], &in.Schools[s]
	in2 := func(z string) bool { return z != "" && slices.Contains(sc.Catchment, z) }
	holds := func(atom string) bool {
		p, c := in2(st.PermanentZone), in2(st.CurrentZone)
		switch atom {
		case "dt1":
			return p && c
		case "dt2":
			return p && !c
		case "dt3":
			return c && !p
		case "in_catchment":
			return p || c
		case "group1":
			return st.PriorityGroup == 1
		case "group2":
			return st.PriorityGroup == 2
		case "group3":
			return st.PriorityGroup == 3
		case "sibling":
			return slices.Contains(st.SiblingsAt, sc.ID)
		}
		panic(atom)
	}
	var pr refPrio
	pr.class = len(in.PriorityRules)
	for k, r := range in.PriorityRules {
		all := true
		for _, a := range strings.Split(r, "+") {
			all = all && holds(a)
		}
		if all {
			pr.class = k
			break
		}
	}
	if v, ok := sc.Scores[st.ID]; ok {
		pr.hasScore, pr.score = true, v
	}
	if in.TieBreak == "multiple" {
		pr.lottery = sha256.Sum256([]byte(in.Seed + "/" + sc.ID + "/" + st.ID))
	} else {
		pr.lottery = sha256.Sum256([]byte(in.Seed + "/" + st.ID))
	}
	return pr
}

type refOut struct {
	school []int // school of each student, -1 none
	rank   []int // 1-based choice rank, 0 when not by choice
	via    []string
	km     []float64
	cutoff []*refPrio
	count  []int
}

func (in *refInstance) schoolIdx(id string) int {
	for k := range in.Schools {
		if in.Schools[k].ID == id {
			return k
		}
	}
	panic(id)
}

// place is a naive implementation of the spec.
func (in *refInstance) place() *refOut {
	n, m := len(in.Students), len(in.Schools)
	o := &refOut{school: make([]int, n), rank: make([]int, n), via: make([]string, n), km: make([]float64, n),
		cutoff: make([]*refPrio, m), count: make([]int, m)}
	for i := range o.school {
		o.school[i], o.via[i] = -1, "unassigned"
	}
	held := make([][]int, m) // students held by each school
	if in.Mechanism == "boston" {
		maxK := 0
		for _, st := range in.Students {
			maxK = max(maxK, len(st.Choices))
		}
		for k := 0; k < maxK; k++ {
			apps := make([][]int, m)
			for i, st := range in.Students {
				if o.school[i] < 0 && k < len(st.Choices) {
					s := in.schoolIdx(st.Choices[k])
					apps[s] = append(apps[s], i)
				}
			}
			for s := range m {
				a := apps[s]
				sort.Slice(a, func(x, y int) bool { return in.prio(a[x], s).before(in.prio(a[y], s)) })
				for _, i := range a {
					if len(held[s]) < in.Schools[s].Quota {
						held[s] = append(held[s], i)
						o.school[i], o.rank[i], o.via[i] = s, k+1, "choice"
						if len(held[s]) == in.Schools[s].Quota {
							p := in.prio(i, s) // the last admitted
							o.cutoff[s] = &p
						}
					}
				}
			}
		}
	} else {
		// Textbook rounds: every free student proposes to its next choice;
		// each school keeps the best quota of held and new applicants.
		next := make([]int, n)
		for {
			props := make([][]int, m)
			any := false
			for i, st := range in.Students {
				if o.school[i] < 0 && next[i] < len(st.Choices) {
					s := in.schoolIdx(st.Choices[next[i]])
					next[i]++
					props[s] = append(props[s], i)
					any = true
				}
			}
			if !any {
				break
			}
			for s := range m {
				if len(props[s]) == 0 {
					continue
				}
				all := append(held[s], props[s]...)
				sort.Slice(all, func(x, y int) bool { return in.prio(all[x], s).before(in.prio(all[y], s)) })
				q := min(len(all), in.Schools[s].Quota)
				for _, i := range all[q:] {
					o.school[i] = -1
				}
				held[s] = slices.Clone(all[:q])
				for _, i := range held[s] {
					o.school[i] = s
				}
			}
		}
		for s := range m {
			for _, i := range held[s] {
				o.rank[i] = slices.Index(in.Students[i].Choices, in.Schools[s].ID) + 1
				o.via[i] = "choice"
			}
			if q := in.Schools[s].Quota; q > 0 && len(held[s]) == q {
				worst := in.prio(held[s][0], s)
				for _, i := range held[s][1:] {
					if p := in.prio(i, s); worst.before(p) {
						worst = p
					}
				}
				o.cutoff[s] = &worst
			}
		}
	}
	for s := range m {
		o.count[s] = len(held[s])
	}
	if !in.Admin {
		return o
	}
	var queue []int
	for i, st := range in.Students {
		if st.Guaranteed && o.school[i] < 0 && st.Location != nil {
			queue = append(queue, i)
		}
	}
	sort.Slice(queue, func(x, y int) bool {
		a := sha256.Sum256([]byte(in.Seed + "/" + in.Students[queue[x]].ID))
		b := sha256.Sum256([]byte(in.Seed + "/" + in.Students[queue[y]].ID))
		return bytes.Compare(a[:], b[:]) < 0
	})
	for _, i := range queue {
		best, bestKm := -1, 0.0
		l := in.Students[i].Location
		for s, sc := range in.Schools {
			if sc.Location == nil || o.count[s] >= sc.Quota {
				continue
			}
			km := haversine(l.Lat, l.Lon, sc.Location.Lat, sc.Location.Lon)
			if best < 0 || km < bestKm || km == bestKm && sc.ID < in.Schools[best].ID {
				best, bestKm = s, km
			}
		}
		if best < 0 {
			break
		}
		o.school[i], o.via[i], o.km[i] = best, "administrative", bestKm
		o.count[best]++
	}
	return o
}

// haversine is the great-circle distance in km, Earth radius 6371.0088.
func haversine(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088
	rad := math.Pi / 180
	p1, p2 := lat1*rad, lat2*rad
	dp, dl := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

func randomRefInstance(rng *rand.Rand) *refInstance {
	atoms := []string{"dt1", "dt2", "dt3", "in_catchment", "group1", "group2", "group3", "sibling"}
	zones := []string{"Z0", "Z1", "Z2", "Z3"}
	in := &refInstance{Seed: fmt.Sprintf("seed-%d", rng.IntN(1000)), Mechanism: []string{"da", "boston"}[rng.IntN(2)],
		TieBreak: []string{"single", "multiple"}[rng.IntN(2)], Admin: rng.IntN(4) > 0, PriorityRules: []string{}}
	for range rng.IntN(4) {
		r := atoms[rng.IntN(len(atoms))]
		if rng.IntN(3) == 0 {
			r += "+" + atoms[rng.IntN(len(atoms))]
		}
		in.PriorityRules = append(in.PriorityRules, r)
	}
	// Locations on two parallels and whole degrees of longitude: equal
	// distances are then exact (mirror images), unequal ones far apart.
	loc := func() *refLoc {
		if rng.IntN(6) == 0 {
			return nil
		}
		return &refLoc{Lat: float64(10 * rng.IntN(2)), Lon: float64(rng.IntN(5))}
	}
	m := 1 + rng.IntN(5)
	n := rng.IntN(10)
	for k := range m {
		// Ids not in input order: k*7 mod 10 is one-to-one for k < 10.
		sc := refSchool{ID: fmt.Sprintf("S%d", (k*7)%10), Quota: rng.IntN(4), Location: loc()}
		for _, z := range zones {
			if rng.IntN(3) == 0 {
				sc.Catchment = append(sc.Catchment, z)
			}
		}
		in.Schools = append(in.Schools, sc)
	}
	for i := range n {
		st := refStudent{ID: fmt.Sprintf("h%d", i), Guaranteed: rng.IntN(2) == 0, Location: loc(),
			PriorityGroup: rng.IntN(4)}
		if rng.IntN(4) > 0 {
			st.PermanentZone = zones[rng.IntN(len(zones))]
		}
		if rng.IntN(4) > 0 {
			st.CurrentZone = zones[rng.IntN(len(zones))]
		}
		perm := rng.Perm(m)
		for _, s := range perm[:rng.IntN(min(m, 4)+1)] {
			st.Choices = append(st.Choices, in.Schools[s].ID)
		}
		if st.Choices == nil {
			st.Choices = []string{}
		}
		for _, s := range in.Schools {
			if rng.IntN(4) == 0 {
				st.SiblingsAt = append(st.SiblingsAt, s.ID)
			}
		}
		in.Students = append(in.Students, st)
	}
	for k := range in.Schools {
		switch rng.IntN(3) {
		case 0:
			in.Schools[k].Scores = map[string]float64{}
			for _, st := range in.Students {
				if rng.IntN(3) > 0 {
					in.Schools[k].Scores[st.ID] = float64(rng.IntN(3)) * 0.5
				}
			}
		}
	}
	return in
}

func TestSpecReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(2026, 3))
	for iter := range 3000 {
		in := randomRefInstance(rng)
		src, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		r, err := tryPlaceJSON(string(src))
		if err != nil {
			t.Fatalf("instance %d: %v\n%s", iter, err, src)
		}
		ref := in.place()
		bad := func(format string, args ...any) {
			t.Helper()
			t.Errorf("instance %d: "+format+"\n%s\n%s", append(append([]any{iter}, args...), src, r.raw)...)
		}
		failed := false
		for i, st := range in.Students {
			a := r.Assignments[i]
			wantSchool := ""
			if s := ref.school[i]; s >= 0 {
				wantSchool = in.Schools[s].ID
			}
			got := ""
			if a.School != nil {
				got = *a.School
			}
			if a.Student != st.ID || got != wantSchool || a.ChoiceRank != ref.rank[i] || a.Via != ref.via[i] {
				bad("student %s: got (%q, %d, %s), want (%q, %d, %s)", st.ID, got, a.ChoiceRank, a.Via, wantSchool, ref.rank[i], ref.via[i])
				failed = true
			}
			if a.Via == "administrative" && math.Abs(a.DistanceKm-ref.km[i]) > 1e-9*(1+ref.km[i]) {
				bad("student %s: distance %v, want %v", st.ID, a.DistanceKm, ref.km[i])
			}
			// Explanations: every school ranked above the one obtained.
			above := st.Choices
			if ref.rank[i] > 0 {
				above = st.Choices[:ref.rank[i]-1]
			}
			var ex []string
			for k, e := range a.Explanations {
				ex = append(ex, e.School)
				s := in.schoolIdx(e.School)
				p := in.prio(i, s)
				if e.ChoiceRank != k+1 || e.Priority.Class != p.class || e.Priority.Lottery != hex.EncodeToString(p.lottery[:]) {
					bad("student %s at %s: explanation %+v, priority %+v", st.ID, e.School, e, p)
				}
				switch {
				case in.Schools[s].Quota == 0:
					if e.Reason != "no_seats" {
						bad("student %s at %s: reason %s, want no_seats", st.ID, e.School, e.Reason)
					}
				case in.Mechanism == "da":
					c := ref.cutoff[s]
					want := "lottery"
					if c == nil {
						want = "?"
					} else if c.class != p.class {
						want = "class"
					} else if c.hasScore != p.hasScore || c.score != p.score {
						want = "score"
					}
					if e.Reason != "full" || e.MissedBy != want {
						bad("student %s at %s: %s/%s, want full/%s", st.ID, e.School, e.Reason, e.MissedBy, want)
					}
				default:
					if e.Reason != "full" && e.Reason != "filled_earlier_round" {
						bad("student %s at %s: reason %s", st.ID, e.School, e.Reason)
					}
				}
			}
			if !slices.Equal(ex, above) && !(len(ex) == 0 && len(above) == 0) {
				bad("student %s: explained %v, want %v", st.ID, ex, above)
			}
		}
		for s, sc := range in.Schools {
			got := r.Schools[s]
			if got.ID != sc.ID || got.Quota != sc.Quota || got.Admitted != ref.count[s] {
				bad("school %s: id %s quota %d admitted %d, want admitted %d", sc.ID, got.ID, got.Quota, got.Admitted, ref.count[s])
			}
			wc := ref.cutoff[s]
			switch {
			case wc == nil && got.Cutoff != nil:
				bad("school %s: cutoff %+v, want null", sc.ID, *got.Cutoff)
			case wc != nil && got.Cutoff == nil:
				bad("school %s: cutoff null, want %+v", sc.ID, *wc)
			case wc != nil:
				var ws *float64
				if wc.hasScore {
					ws = f64(wc.score)
				}
				if got.Cutoff.Class != wc.class || !sameScore(got.Cutoff.Score, ws) || got.Cutoff.Lottery != hex.EncodeToString(wc.lottery[:]) {
					bad("school %s: cutoff %+v, want %+v", sc.ID, *got.Cutoff, *wc)
				}
			}
		}
		if failed && t.Failed() {
			return
		}
	}
}
