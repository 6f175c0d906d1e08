package allocation

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"testing"
)

// classAt compiles inst and returns the class of student 0 at school 0.
func classAt(t *testing.T, inst *Instance) int {
	t.Helper()
	c, err := compile(inst)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return c.priority(c.keyOf(0, 0), 0).Class
}

func TestClass(t *testing.T) {
	t.Parallel()
	hanoi := []string{"in_catchment+group1", "dt1", "dt2", "dt3", "group1", "sibling"}
	tests := []struct {
		name      string
		rules     []string
		perm, cur string
		group     int
		siblings  []string
		want      int
	}{
		{"dt1 both in", hanoi, "A", "A", 0, nil, 1},
		{"dt1 both in, two catchment zones", hanoi, "A", "B", 0, nil, 1},
		{"dt2 permanent only", hanoi, "A", "X", 0, nil, 2},
		{"dt2 no current zone", hanoi, "A", "", 0, nil, 2},
		{"dt3 current only", hanoi, "X", "A", 0, nil, 3},
		{"in_catchment+group1 via permanent", hanoi, "A", "X", 1, nil, 0},
		{"in_catchment+group1 via current", hanoi, "X", "B", 1, nil, 0},
		{"group1 out of catchment", hanoi, "X", "X", 1, nil, 4},
		{"sibling", hanoi, "X", "X", 0, []string{"S"}, 5},
		{"sibling at another school", hanoi, "X", "X", 0, []string{"O"}, 6},
		{"nothing holds", hanoi, "X", "Y", 2, nil, 6},
		{"empty zones", hanoi, "", "", 0, nil, 6},
		{"no rules", nil, "A", "A", 1, []string{"S"}, 0},
		{"group2", []string{"group1", "group2", "group3"}, "", "", 2, nil, 1},
		{"group3", []string{"group1", "group2", "group3"}, "", "", 3, nil, 2},
		{"group0 in no group", []string{"group1", "group2", "group3"}, "", "", 0, nil, 3},
		{"in_catchment alone", []string{"in_catchment"}, "X", "A", 0, nil, 0},
		{"dt1 needs both", []string{"dt1"}, "A", "X", 0, nil, 1},
		{"first matching rule wins", []string{"sibling", "dt1", "dt1+sibling"}, "A", "A", 0, []string{"S"}, 0},
		{"all atoms of a rule must hold", []string{"dt1+sibling", "dt1"}, "A", "A", 0, nil, 1},
		{"atoms with spaces", []string{" dt3 + group3 "}, "X", "A", 3, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inst := &Instance{
				Seed:          "s",
				PriorityRules: tt.rules,
				Schools: []School{
					{ID: "S", Quota: 1, Catchment: []string{"A", "B"}},
					{ID: "O", Quota: 1, Catchment: []string{"X"}},
				},
				Students: []Student{{ID: "hs", Choices: []string{"S"}, PermanentZone: tt.perm, CurrentZone: tt.cur,
					PriorityGroup: tt.group, SiblingsAt: tt.siblings}},
			}
			if got := classAt(t, inst); got != tt.want {
				t.Errorf("class of (perm %q, cur %q, group %d, siblings %v) under %q = %d, want %d",
					tt.perm, tt.cur, tt.group, tt.siblings, tt.rules, got, tt.want)
			}
		})
	}
}

// admittedAt places inst and returns the ids admitted by choice at school.
func admittedAt(t *testing.T, inst *Instance, school string) []string {
	t.Helper()
	r, err := Place(inst)
	if err != nil {
		t.Fatalf("Place: %v", err)
	}
	var ids []string
	for _, a := range r.Assignments {
		if a.School == school && a.Via == ViaChoice {
			ids = append(ids, a.Student)
		}
	}
	return ids
}

func TestScores(t *testing.T) {
	t.Parallel()
	students := func() []Student {
		return []Student{
			{ID: "a", Choices: []string{"S"}},
			{ID: "b", Choices: []string{"S"}},
			{ID: "c", Choices: []string{"S"}},
			{ID: "d", Choices: []string{"S"}, PriorityGroup: 1},
		}
	}
	t.Run("higher first, missing last, class before score", func(t *testing.T) {
		t.Parallel()
		inst := &Instance{Seed: "s", PriorityRules: []string{"group1"},
			Schools:  []School{{ID: "S", Quota: 3, Scores: map[string]float64{"a": 20, "b": 25.5, "c": -1}}},
			Students: append(students(), Student{ID: "e", Choices: []string{"S"}})}
		// d is in group 1 with no score: class first. Then b (25.5), a (20);
		// c's -1 still beats e's missing score.
		r, err := Place(inst)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, a := range r.Assignments {
			got[a.Student] = a.School
		}
		want := map[string]string{"a": "S", "b": "S", "c": "", "d": "S", "e": ""}
		for id, s := range want {
			if got[id] != s {
				t.Errorf("student %s got %q, want %q (all: %v)", id, got[id], s, got)
			}
		}
		cut := r.Schools[0].Cutoff
		if cut == nil || cut.Class != 1 || !cut.HasScore || cut.Score != 20 {
			t.Errorf("cutoff = %+v, want class 1 score 20", cut)
		}
	})
	t.Run("scored student beats unscored whatever the lottery", func(t *testing.T) {
		t.Parallel()
		for seed := range 8 {
			inst := &Instance{Seed: fmt.Sprint(seed),
				Schools:  []School{{ID: "S", Quota: 1, Scores: map[string]float64{"c": 0}}},
				Students: students()[:3]}
			if got := admittedAt(t, inst, "S"); len(got) != 1 || got[0] != "c" {
				t.Errorf("seed %d: admitted %v, want [c]", seed, got)
			}
		}
	})
	t.Run("no scores: lottery decides", func(t *testing.T) {
		t.Parallel()
		inst := &Instance{Seed: "seed", Schools: []School{{ID: "S", Quota: 1}}, Students: students()[:3]}
		want := ""
		var best []byte
		for _, id := range []string{"a", "b", "c"} {
			d := sha256.Sum256([]byte("seed/" + id))
			if best == nil || bytes.Compare(d[:], best) < 0 {
				best, want = d[:], id
			}
		}
		if got := admittedAt(t, inst, "S"); len(got) != 1 || got[0] != want {
			t.Errorf("admitted %v, want [%s], the smallest sha256(seed/id)", got, want)
		}
	})
}

func TestScoreKeyOrder(t *testing.T) {
	t.Parallel()
	vals := []float64{math.Inf(1), 1e300, 30, 27.5, 1, 1e-300, 0, -1e-300, -2, -1e300, math.Inf(-1)}
	for k := 1; k < len(vals); k++ {
		if !(scoreKey(vals[k-1]) < scoreKey(vals[k])) {
			t.Errorf("scoreKey(%v) >= scoreKey(%v); higher scores must come first", vals[k-1], vals[k])
		}
		if got := scoreFromKey(scoreKey(vals[k])); got != vals[k] {
			t.Errorf("scoreFromKey(scoreKey(%v)) = %v", vals[k], got)
		}
	}
	if scoreKey(math.Inf(-1)) >= noScore {
		t.Errorf("a missing score must come after every score")
	}
	if scoreKey(math.Copysign(0, -1)) != scoreKey(0) {
		t.Errorf("-0 and 0 must tie")
	}
}

// TestLottery checks single and multiple tie-breaks against digests
// computed here with crypto/sha256, on a seed where they disagree.
func TestLottery(t *testing.T) {
	t.Parallel()
	digest := func(s string) []byte { d := sha256.Sum256([]byte(s)); return d[:] }
	smaller := func(a, b []byte) bool { return bytes.Compare(a, b) < 0 }
	// Find a seed where x wins S1 under one lottery and loses it under the other.
	var seed string
	for k := 0; ; k++ {
		seed = fmt.Sprintf("lottery-%d", k)
		single := smaller(digest(seed+"/x"), digest(seed+"/y"))
		multiple := smaller(digest(seed+"/S1/x"), digest(seed+"/S1/y"))
		if single != multiple {
			break
		}
	}
	for _, tb := range []TieBreak{TieBreakSingle, TieBreakMultiple} {
		inst := &Instance{Seed: seed, TieBreak: tb,
			Schools:  []School{{ID: "S1", Quota: 1}},
			Students: []Student{{ID: "x", Choices: []string{"S1"}}, {ID: "y", Choices: []string{"S1"}}}}
		dx, dy := digest(seed+"/x"), digest(seed+"/y")
		if tb == TieBreakMultiple {
			dx, dy = digest(seed+"/S1/x"), digest(seed+"/S1/y")
		}
		want, lot := "y", dy
		if smaller(dx, dy) {
			want, lot = "x", dx
		}
		r, err := Place(inst)
		if err != nil {
			t.Fatal(err)
		}
		if got := admittedAt(t, inst, "S1"); len(got) != 1 || got[0] != want {
			t.Errorf("%s tie-break with seed %q: admitted %v, want [%s]", tb, seed, got, want)
		}
		if got := r.Schools[0].Cutoff.LotteryHex(); got != hex.EncodeToString(lot) {
			t.Errorf("%s tie-break: cutoff lottery %s, want %x", tb, got, lot)
		}
	}
	if got, want := LotteryDigest("2026/lop1", "hs-1"), sha256.Sum256([]byte("2026/lop1/hs-1")); got != want {
		t.Errorf("LotteryDigest = %x, want %x", got, want)
	}
	if got, want := LotteryDigestAt("s", "T1", "hs-1"), sha256.Sum256([]byte("s/T1/hs-1")); got != want {
		t.Errorf("LotteryDigestAt = %x, want %x", got, want)
	}
}

func TestPriorityCompareAndJSON(t *testing.T) {
	t.Parallel()
	a := Priority{Class: 1, HasScore: true, Score: 27.5, Lottery: [32]byte{1}}
	b := Priority{Class: 1, HasScore: true, Score: 27.5, Lottery: [32]byte{2}}
	c := Priority{Class: 1, Lottery: [32]byte{0}}
	d := Priority{Class: 0, Lottery: [32]byte{9}}
	for _, tt := range []struct {
		p, q Priority
		want int
	}{{a, b, -1}, {b, a, 1}, {a, a, 0}, {a, c, -1}, {c, a, 1}, {d, a, -1}} {
		if got := tt.p.Compare(tt.q); got != tt.want {
			t.Errorf("%+v.Compare(%+v) = %d, want %d", tt.p, tt.q, got, tt.want)
		}
	}
	got, _ := a.MarshalJSON()
	want := `{"class":1,"score":27.5,"lottery":"01` + fmt.Sprintf("%062d", 0) + `"}`
	if string(got) != want {
		t.Errorf("MarshalJSON = %s, want %s", got, want)
	}
	if got, _ := c.MarshalJSON(); !bytes.Contains(got, []byte(`"score":null`)) {
		t.Errorf("MarshalJSON without score = %s, want score null", got)
	}
}

func TestDistance(t *testing.T) {
	t.Parallel()
	const r = EarthRadiusKm
	tests := []struct {
		a, b Location
		want float64
	}{
		{Location{0, 0}, Location{0, 0}, 0},
		{Location{0, 0}, Location{0, 90}, math.Pi / 2 * r},
		{Location{0, 0}, Location{90, 0}, math.Pi / 2 * r},
		{Location{90, 0}, Location{-90, 0}, math.Pi * r},
		{Location{0, 179.5}, Location{0, -179.5}, math.Pi / 180 * r},
		{Location{21.0285, 105.8542}, Location{21.0285, 105.8542}, 0},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Distance(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if Distance(tt.a, tt.b) != Distance(tt.b, tt.a) {
			t.Errorf("Distance(%v, %v) is not symmetric", tt.a, tt.b)
		}
	}
}
