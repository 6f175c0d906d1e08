package allocation

import (
	"bytes"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// place runs Place and fails the test on error.
func place(t interface {
	Helper()
	Fatalf(string, ...any)
}, inst *Instance) *Result {
	t.Helper()
	r, err := Place(inst)
	if err != nil {
		t.Fatalf("Place: %v", err)
	}
	return r
}

// byChoice returns the school index each student got by choice, or -1.
func byChoice(inst *Instance, r *Result) []int {
	idx := schoolIndex(inst)
	out := make([]int, len(r.Assignments))
	for i, a := range r.Assignments {
		out[i] = -1
		if a.Via == ViaChoice {
			out[i] = idx[a.School]
		}
	}
	return out
}

// TestPropertyMatchesReference checks the engine against the reference
// mechanisms and administrative placement, and checks quotas, counts and
// cutoffs.
func TestPropertyMatchesReference(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		inst := genInstance(t)
		r := place(t, inst)
		got := byChoice(inst, r)
		var want refOutcome
		if inst.Mechanism == MechanismBoston {
			want = refBoston(inst)
		} else {
			want = refDA(inst)
		}
		if d := cmp.Diff(want.school, got); d != "" {
			t.Fatalf("%s seats by choice differ from the reference (-want +got):\n%s", inst.Mechanism, d)
		}
		idx := schoolIndex(inst)
		adminWant := make([]int, len(inst.Students))
		for i := range adminWant {
			adminWant[i] = -1
		}
		if inst.AdministrativePlacement {
			adminWant = refAdministrative(inst, got)
		}
		count := make([]int, len(inst.Schools))
		byChoiceCount := make([]int, len(inst.Schools))
		for i, a := range r.Assignments {
			st := &inst.Students[i]
			if a.Student != st.ID {
				t.Fatalf("assignments[%d].Student = %q, want %q", i, a.Student, st.ID)
			}
			adminGot := -1
			switch a.Via {
			case ViaChoice:
				if a.ChoiceRank < 1 || st.Choices[a.ChoiceRank-1] != a.School {
					t.Fatalf("student %s: choice_rank %d does not name %s in %v", st.ID, a.ChoiceRank, a.School, st.Choices)
				}
				byChoiceCount[idx[a.School]]++
			case ViaAdministrative:
				adminGot = idx[a.School]
				if a.ChoiceRank != 0 || !st.Guaranteed || st.Location == nil {
					t.Fatalf("student %s: bad administrative placement %+v", st.ID, a)
				}
				if km := Distance(*st.Location, *inst.Schools[adminGot].Location); km != a.DistanceKm {
					t.Fatalf("student %s: distance_km %v, want %v", st.ID, a.DistanceKm, km)
				}
			case ViaUnassigned:
				if a.School != "" || a.ChoiceRank != 0 {
					t.Fatalf("student %s: unassigned with school %q rank %d", st.ID, a.School, a.ChoiceRank)
				}
			default:
				t.Fatalf("student %s: via %q", st.ID, a.Via)
			}
			if adminGot != adminWant[i] {
				t.Fatalf("student %s: administrative school %d, want %d (brute force)", st.ID, adminGot, adminWant[i])
			}
			if a.School != "" {
				count[idx[a.School]]++
			}
		}
		for s, sr := range r.Schools {
			q := inst.Schools[s].Quota
			if count[s] > q {
				t.Fatalf("school %s: %d students for %d seats", sr.ID, count[s], q)
			}
			if sr.Admitted != count[s] || sr.AdmittedByChoice != byChoiceCount[s] || sr.Administrative != count[s]-byChoiceCount[s] {
				t.Fatalf("school %s: counts %+v, want admitted %d, by choice %d", sr.ID, sr, count[s], byChoiceCount[s])
			}
			checkCutoff(t, inst, r, s, byChoiceCount[s])
		}
	})
}

// checkCutoff checks a school's cutoff against the admitted students.
func checkCutoff(t *rapid.T, inst *Instance, r *Result, s, admitted int) {
	sr := r.Schools[s]
	q := inst.Schools[s].Quota
	if q == 0 || admitted < q {
		if sr.Cutoff != nil {
			t.Fatalf("school %s with free seats (or none) has cutoff %+v", sr.ID, *sr.Cutoff)
		}
		return
	}
	if sr.Cutoff == nil {
		t.Fatalf("full school %s has no cutoff", sr.ID)
	}
	// The cutoff is the last priority among the students admitted by
	// choice, under Boston among those admitted in the round that filled it
	// (which is their choice rank).
	var worst *Priority
	round := 0
	for _, a := range r.Assignments {
		if a.Via == ViaChoice && a.School == sr.ID {
			round = max(round, a.ChoiceRank)
		}
	}
	for i, a := range r.Assignments {
		if a.Via != ViaChoice || a.School != sr.ID || (inst.Mechanism == MechanismBoston && a.ChoiceRank != round) {
			continue
		}
		p := refPriority(inst, i, s)
		if worst == nil || refBefore(*worst, p) {
			worst = &p
		}
	}
	if d := cmp.Diff(*worst, *sr.Cutoff); d != "" {
		t.Fatalf("school %s cutoff (-want +got):\n%s", sr.ID, d)
	}
	if inst.Mechanism == MechanismBoston && sr.FilledRound != round {
		t.Fatalf("school %s filled_round = %d, want %d", sr.ID, sr.FilledRound, round)
	}
}

// TestPropertyStable checks that deferred acceptance leaves no blocking
// pair in the choice phase: no student prefers a school that has a free
// seat after the mechanism or admitted by choice someone of lower
// priority. Administrative placements come after and never count: they
// fill only seats that no applicant was refused.
func TestPropertyStable(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		inst := genInstance(t)
		inst.Mechanism = MechanismDA
		r := place(t, inst)
		got := byChoice(inst, r)
		idx := schoolIndex(inst)
		admitted := make([][]int, len(inst.Schools))
		for i, s := range got {
			if s >= 0 {
				admitted[s] = append(admitted[s], i)
			}
		}
		for i, st := range inst.Students {
			for rank, id := range st.Choices {
				s := idx[id]
				if s == got[i] {
					break // schools below the one obtained do not matter
				}
				if len(admitted[s]) < inst.Schools[s].Quota {
					t.Fatalf("blocking pair: %s prefers %s, which has a free seat", st.ID, id)
				}
				mine := refPriority(inst, i, s)
				for _, j := range admitted[s] {
					if refBefore(mine, refPriority(inst, j, s)) {
						t.Fatalf("blocking pair: %s (choice %d) has priority over %s, admitted at %s", st.ID, rank+1, inst.Students[j].ID, id)
					}
				}
			}
		}
	})
}

// TestPropertyOrderIndependent shuffles students and schools and checks
// that every student and school gets the same result.
func TestPropertyOrderIndependent(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		inst := genInstance(t)
		r := place(t, inst)
		shuffled := *inst
		shuffled.Students = rapid.Permutation(inst.Students).Draw(t, "students order")
		shuffled.Schools = rapid.Permutation(inst.Schools).Draw(t, "schools order")
		r2 := place(t, &shuffled)

		type outcome struct {
			A  Assignment
			Ex []Explanation
		}
		want := make(map[string]outcome)
		for i, a := range r.Assignments {
			want[a.Student] = outcome{a, r.Explain(i)}
		}
		for i, a := range r2.Assignments {
			if d := cmp.Diff(want[a.Student], outcome{a, r2.Explain(i)}); d != "" {
				t.Fatalf("student %s after shuffling (-before +after):\n%s", a.Student, d)
			}
		}
		schools := make(map[string]SchoolResult)
		for _, s := range r.Schools {
			schools[s.ID] = s
		}
		for _, s := range r2.Schools {
			if d := cmp.Diff(schools[s.ID], s); d != "" {
				t.Fatalf("school %s after shuffling (-before +after):\n%s", s.ID, d)
			}
		}
		r.Stats.Proposals, r2.Stats.Proposals = 0, 0 // Boston counts per round; DA does not depend on order either, but need not
		if d := cmp.Diff(r.Stats, r2.Stats); d != "" {
			t.Fatalf("stats after shuffling (-before +after):\n%s", d)
		}
	})
}

// TestPropertyStrategyProof checks sampled manipulations under deferred
// acceptance: no student gets a school it truly prefers by submitting a
// different list (a reordering, truncation or another set of schools).
// Administrative placement is off here: a school the student did not list
// counts as no better than having no seat.
func TestPropertyStrategyProof(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		inst := genInstance(t)
		if len(inst.Students) == 0 {
			return
		}
		inst.Mechanism = MechanismDA
		inst.AdministrativePlacement = false
		k := rapid.IntRange(0, len(inst.Students)-1).Draw(t, "manipulator")
		truth := inst.Students[k].Choices
		trueRank := func(school string) int {
			if i := slices.Index(truth, school); i >= 0 && school != "" {
				return i
			}
			return len(truth) // unlisted or nothing
		}
		honest := trueRank(place(t, inst).Assignments[k].School)

		ids := make([]string, len(inst.Schools))
		for s := range ids {
			ids[s] = inst.Schools[s].ID
		}
		lie := *inst
		lie.Students = slices.Clone(inst.Students)
		lie.Students[k].Choices = rapid.SliceOfNDistinct(rapid.SampledFrom(ids), 0, len(ids), rapid.ID[string]).Draw(t, "lie")
		if got := trueRank(place(t, &lie).Assignments[k].School); got < honest {
			t.Fatalf("student %s gains by lying: true list %v gives rank %d, list %v gives rank %d",
				inst.Students[k].ID, truth, honest+1, lie.Students[k].Choices, got+1)
		}
	})
}

// TestPropertyDeterministicBytes checks that placing the same instance
// twice, or after a round trip through the file format, writes the same
// bytes.
func TestPropertyDeterministicBytes(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		inst := genInstance(t)
		var a, b, file bytes.Buffer
		if err := place(t, inst).WriteJSON(&a); err != nil {
			t.Fatal(err)
		}
		if err := place(t, inst).WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("two runs differ:\n%s\n%s", a.Bytes(), b.Bytes())
		}
		if err := EncodeInstance(&file, inst); err != nil {
			t.Fatal(err)
		}
		back, err := Decode(file.Bytes())
		if err != nil {
			t.Fatalf("Decode(EncodeInstance(inst)): %v\n%s", err, file.Bytes())
		}
		b.Reset()
		if err := place(t, back).WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("result after a file round trip differs:\n%s\n%s", a.Bytes(), b.Bytes())
		}
	})
}

// TestPropertyExplanations checks every explanation against the reference
// priorities and the school's cutoff.
func TestPropertyExplanations(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		inst := genInstance(t)
		r := place(t, inst)
		idx := schoolIndex(inst)
		for i, a := range r.Assignments {
			st := &inst.Students[i]
			above := len(st.Choices)
			if a.Via == ViaChoice {
				above = a.ChoiceRank - 1
			}
			ex := r.Explain(i)
			if len(ex) != above {
				t.Fatalf("student %s: %d explanations, want %d", st.ID, len(ex), above)
			}
			for k, e := range ex {
				s := idx[e.School]
				sr := r.Schools[s]
				if e.School != st.Choices[k] || e.ChoiceRank != k+1 {
					t.Fatalf("student %s: explanation %d is about %s rank %d", st.ID, k, e.School, e.ChoiceRank)
				}
				if d := cmp.Diff(refPriority(inst, i, s), e.Priority); d != "" {
					t.Fatalf("student %s at %s: priority (-want +got):\n%s", st.ID, e.School, d)
				}
				if e.VI == "" || e.EN == "" {
					t.Fatalf("student %s at %s: empty text", st.ID, e.School)
				}
				switch e.Reason {
				case ReasonNoSeats:
					if sr.Quota != 0 {
						t.Fatalf("student %s: no_seats at %s with quota %d", st.ID, e.School, sr.Quota)
					}
				case ReasonFilledEarlier:
					if inst.Mechanism != MechanismBoston || sr.FilledRound >= e.ChoiceRank {
						t.Fatalf("student %s: filled_earlier_round at %s filled in round %d, choice %d", st.ID, e.School, sr.FilledRound, e.ChoiceRank)
					}
				case ReasonFull:
					if sr.Cutoff == nil || !refBefore(*sr.Cutoff, e.Priority) {
						t.Fatalf("student %s at %s: reason full but priority %+v not after cutoff %+v", st.ID, e.School, e.Priority, sr.Cutoff)
					}
					c, p := *sr.Cutoff, e.Priority
					want := MissedByLottery
					switch {
					case c.Class != p.Class:
						want = MissedByClass
					case c.HasScore != p.HasScore || c.Score != p.Score:
						want = MissedByScore
					}
					if e.MissedBy != want {
						t.Fatalf("student %s at %s: missed_by %q, want %q", st.ID, e.School, e.MissedBy, want)
					}
				default:
					t.Fatalf("student %s: reason %q", st.ID, e.Reason)
				}
			}
		}
	})
}
