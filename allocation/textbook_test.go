package allocation

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// market builds an instance with strict priorities: each school ranks
// students by a score, best first, so the lottery never decides.
func market(mech Mechanism, quotas map[string]int, order []string, priorities map[string][]string, prefs map[string][]string, students []string) *Instance {
	inst := &Instance{Seed: "textbook", Mechanism: mech}
	for _, id := range order {
		sc := School{ID: id, Quota: quotas[id], Scores: map[string]float64{}}
		for k, st := range priorities[id] {
			sc.Scores[st] = float64(len(priorities[id]) - k)
		}
		inst.Schools = append(inst.Schools, sc)
	}
	for _, id := range students {
		inst.Students = append(inst.Students, Student{ID: id, Choices: prefs[id]})
	}
	return inst
}

// matching places inst and returns student id -> school id ("" for none).
func matching(t *testing.T, inst *Instance) map[string]string {
	t.Helper()
	r, err := Place(inst)
	if err != nil {
		t.Fatalf("Place: %v", err)
	}
	m := make(map[string]string)
	for _, a := range r.Assignments {
		m[a.Student] = a.School
	}
	return m
}

// TestGaleShapley1962 is the example of Gale and Shapley, "College
// Admissions and the Stability of Marriage" (1962): three men α, β, γ and
// three women A, B, C whose rankings are cyclic, so that there are three
// stable matchings. Men proposing, each man gets his first choice.
func TestGaleShapley1962(t *testing.T) {
	t.Parallel()
	prefs := map[string][]string{
		"α": {"A", "B", "C"},
		"β": {"B", "C", "A"},
		"γ": {"C", "A", "B"},
	}
	priorities := map[string][]string{
		"A": {"β", "γ", "α"},
		"B": {"γ", "α", "β"},
		"C": {"α", "β", "γ"},
	}
	quotas := map[string]int{"A": 1, "B": 1, "C": 1}
	want := map[string]string{"α": "A", "β": "B", "γ": "C"}
	for _, mech := range []Mechanism{MechanismDA, MechanismBoston} {
		inst := market(mech, quotas, []string{"A", "B", "C"}, priorities, prefs, []string{"α", "β", "γ"})
		if d := cmp.Diff(want, matching(t, inst)); d != "" {
			t.Errorf("%s (-want +got):\n%s", mech, d)
		}
	}
	// The women-optimal stable matching (αC, βA, γB) is what the women
	// would get by proposing; with the roles swapped, DA finds it.
	swapped := market(MechanismDA, quotas, []string{"α", "β", "γ"}, prefs, priorities, []string{"A", "B", "C"})
	for _, id := range []string{"α", "β", "γ"} {
		swapped.Schools[schoolIndex(swapped)[id]].Quota = 1
	}
	if d := cmp.Diff(map[string]string{"A": "β", "B": "γ", "C": "α"}, matching(t, swapped)); d != "" {
		t.Errorf("women proposing (-want +got):\n%s", d)
	}
}

// TestStableMarriageCS70 is the example of UC Berkeley CS 70, Note 4
// ("The Stable Marriage Problem"), whose Gale-Shapley run pairs Alex with
// Anita, Bob with Bridget and Charles with Christine.
func TestStableMarriageCS70(t *testing.T) {
	t.Parallel()
	prefs := map[string][]string{
		"Alex":    {"Anita", "Bridget", "Christine"},
		"Bob":     {"Bridget", "Anita", "Christine"},
		"Charles": {"Anita", "Bridget", "Christine"},
	}
	priorities := map[string][]string{
		"Anita":     {"Bob", "Alex", "Charles"},
		"Bridget":   {"Alex", "Bob", "Charles"},
		"Christine": {"Alex", "Bob", "Charles"},
	}
	quotas := map[string]int{"Anita": 1, "Bridget": 1, "Christine": 1}
	inst := market(MechanismDA, quotas, []string{"Anita", "Bridget", "Christine"}, priorities, prefs, []string{"Alex", "Bob", "Charles"})
	want := map[string]string{"Alex": "Anita", "Bob": "Bridget", "Charles": "Christine"}
	if d := cmp.Diff(want, matching(t, inst)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestAzevedoLeshno2016 is the example of Azevedo and Leshno, "A Supply and
// Demand Framework for Two-Sided Matching Markets" (JPE 2016, §IV.A), as
// encoded in the DeferredAcceptance.jl examples: two schools with 2 and 3
// seats ranking five students by score. When school 2 wins over student 2,
// school 1's cutoff falls and school 2 loses student 4, its best
// applicant by its own score.
func TestAzevedoLeshno2016(t *testing.T) {
	t.Parallel()
	scores := map[string]map[string]float64{
		"s1": {"1": 0.95, "2": 0.96, "3": 0.89, "4": 0.83, "5": 0.61},
		"s2": {"1": 0.97, "2": 0.84, "3": 0.82, "4": 0.90, "5": 0.68},
	}
	build := func(prefs map[string][]string) *Instance {
		inst := &Instance{Seed: "al2016", Schools: []School{
			{ID: "s1", Quota: 2, Scores: scores["s1"]},
			{ID: "s2", Quota: 3, Scores: scores["s2"]},
		}}
		for _, id := range []string{"1", "2", "3", "4", "5"} {
			inst.Students = append(inst.Students, Student{ID: id, Choices: prefs[id]})
		}
		return inst
	}
	s12, s21 := []string{"s1", "s2"}, []string{"s2", "s1"}
	normal := build(map[string][]string{"1": s21, "2": s12, "3": s12, "4": s12, "5": s12})
	delta := build(map[string][]string{"1": s21, "2": s21, "3": s12, "4": s12, "5": s12})
	if d := cmp.Diff(map[string]string{"1": "s2", "2": "s1", "3": "s1", "4": "s2", "5": "s2"}, matching(t, normal)); d != "" {
		t.Errorf("normal (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]string{"1": "s2", "2": "s2", "3": "s1", "4": "s1", "5": "s2"}, matching(t, delta)); d != "" {
		t.Errorf("delta (-want +got):\n%s", d)
	}
	r, _ := Place(normal)
	if c := r.Schools[0].Cutoff; c == nil || c.Score != 0.89 {
		t.Errorf("school s1 cutoff = %+v, want score 0.89 (student 3)", c)
	}
}

// TestBostonRewardsManipulation is a three-student example in the manner
// of Abdulkadiroğlu and Sönmez (2003, §2): under Boston, student i2 gains
// by ranking s2 (where it has top priority) above its true favourite s1;
// under deferred acceptance the same lie gains nothing, and the truthful
// DA outcome is stable.
func TestBostonRewardsManipulation(t *testing.T) {
	t.Parallel()
	priorities := map[string][]string{
		"s1": {"i1", "i3", "i2"},
		"s2": {"i2", "i1", "i3"},
		"s3": {"i1", "i2", "i3"},
	}
	quotas := map[string]int{"s1": 1, "s2": 1, "s3": 1}
	truth := map[string][]string{
		"i1": {"s2", "s1", "s3"},
		"i2": {"s1", "s2", "s3"},
		"i3": {"s1", "s2", "s3"},
	}
	lie := map[string][]string{"i1": truth["i1"], "i2": {"s2", "s1", "s3"}, "i3": truth["i3"]}
	run := func(mech Mechanism, prefs map[string][]string) map[string]string {
		return matching(t, market(mech, quotas, []string{"s1", "s2", "s3"}, priorities, prefs, []string{"i1", "i2", "i3"}))
	}
	tests := []struct {
		name  string
		mech  Mechanism
		prefs map[string][]string
		want  map[string]string
	}{
		// Round 1: i1 takes s2, i3 beats i2 at s1; s2 is full in round 2, so i2 ends at s3.
		{"boston truthful", MechanismBoston, truth, map[string]string{"i1": "s2", "i2": "s3", "i3": "s1"}},
		// Ranking s2 first, i2 takes it in round 1 (it outranks i1 there).
		{"boston lie", MechanismBoston, lie, map[string]string{"i1": "s3", "i2": "s2", "i3": "s1"}},
		// DA: i2 is rejected at s1, displaces i1 at s2, who displaces i3 at s1.
		{"da truthful", MechanismDA, truth, map[string]string{"i1": "s1", "i2": "s2", "i3": "s3"}},
		{"da lie", MechanismDA, lie, map[string]string{"i1": "s1", "i2": "s2", "i3": "s3"}},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, run(tt.mech, tt.prefs)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
}

// TestAdministrativePlacement checks the order (single lottery), nearest
// school with a free seat, the tie rule (smaller id by string comparison)
// and that students or schools without a location take no part.
func TestAdministrativePlacement(t *testing.T) {
	t.Parallel()
	at := func(lat, lon float64) *Location { return &Location{Lat: lat, Lon: lon} }
	inst := &Instance{
		Seed: "dieu-tiet", AdministrativePlacement: true,
		Schools: []School{
			{ID: "FULL", Quota: 1, Location: at(21.000, 105.800)},
			{ID: "B2", Quota: 1, Location: at(21.010, 105.800)},
			{ID: "B10", Quota: 1, Location: at(21.010, 105.800)}, // same place as B2; "B10" < "B2"
			{ID: "FAR", Quota: 5, Location: at(21.100, 105.800)},
			{ID: "NOWHERE", Quota: 5},
		},
		Students: []Student{
			{ID: "winner", Choices: []string{"FULL"}, Location: at(21.000, 105.800)},
			{ID: "g1", Choices: []string{"FULL"}, Guaranteed: true, Location: at(21.000, 105.800)},
			{ID: "g2", Choices: []string{"FULL"}, Guaranteed: true, Location: at(21.000, 105.800)},
			{ID: "g3", Guaranteed: true, Location: at(21.000, 105.800)},
			{ID: "not-guaranteed", Location: at(21.000, 105.800)},
			{ID: "no-location", Guaranteed: true},
		},
	}
	// winner must take FULL: give it the only score.
	inst.Schools[0].Scores = map[string]float64{"winner": 1}
	r, err := Place(inst)
	if err != nil {
		t.Fatal(err)
	}
	// g1, g2, g3 are equally far from B10, B2 and FAR; the lottery orders them.
	order := []string{"g1", "g2", "g3"}
	digest := func(id string) [32]byte { return LotteryDigest(inst.Seed, id) }
	for i := range order {
		for j := i + 1; j < len(order); j++ {
			if a, b := digest(order[i]), digest(order[j]); string(b[:]) < string(a[:]) {
				order[i], order[j] = order[j], order[i]
			}
		}
	}
	want := map[string]string{"winner": "FULL", order[0]: "B10", order[1]: "B2", order[2]: "FAR", "not-guaranteed": "", "no-location": ""}
	got := map[string]string{}
	for _, a := range r.Assignments {
		got[a.Student] = a.School
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if r.Stats.Administrative != 3 || r.Stats.UnassignedGuaranteedNoLocation != 1 || r.Stats.UnassignedGuaranteed != 1 {
		t.Errorf("stats = %+v", r.Stats)
	}
	inst.AdministrativePlacement = false
	r, _ = Place(inst)
	if r.Stats.Administrative != 0 || r.Stats.UnassignedGuaranteed != 4 {
		t.Errorf("with administrative placement off: stats = %+v", r.Stats)
	}
}
