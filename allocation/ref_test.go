package allocation

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"pgregory.net/rapid"
)

// This file holds a slow, obviously correct reference of the semantics,
// written from the specification without the engine's data structures:
// priorities from the rule strings, digests from crypto/sha256, mechanisms
// as rounds over whole applicant lists, and nearest schools by scanning.

// refPriority computes the priority of student i at school s.
func refPriority(inst *Instance, i, s int) Priority {
	st, sc := &inst.Students[i], &inst.Schools[s]
	var p Priority
	p.Class = len(inst.PriorityRules)
	for k, rule := range inst.PriorityRules {
		if refRuleHolds(rule, st, sc) {
			p.Class = k
			break
		}
	}
	if len(sc.Scores) > 0 {
		p.Score, p.HasScore = sc.Scores[st.ID]
	}
	msg := inst.Seed + "/" + st.ID
	if inst.TieBreak == TieBreakMultiple {
		msg = inst.Seed + "/" + sc.ID + "/" + st.ID
	}
	p.Lottery = sha256.Sum256([]byte(msg))
	return p
}

func refRuleHolds(rule string, st *Student, sc *School) bool {
	permIn := st.PermanentZone != "" && slices.Contains(sc.Catchment, st.PermanentZone)
	curIn := st.CurrentZone != "" && slices.Contains(sc.Catchment, st.CurrentZone)
	for _, a := range strings.Split(rule, "+") {
		var ok bool
		switch a {
		case "dt1":
			ok = permIn && curIn
		case "dt2":
			ok = permIn && !curIn
		case "dt3":
			ok = curIn && !permIn
		case "in_catchment":
			ok = permIn || curIn
		case "group1", "group2", "group3":
			ok = fmt.Sprintf("group%d", st.PriorityGroup) == a
		case "sibling":
			ok = slices.Contains(st.SiblingsAt, sc.ID)
		default:
			panic("unknown atom " + a)
		}
		if !ok {
			return false
		}
	}
	return true
}

// refBefore reports whether p comes strictly before q, written out from
// the specification rather than with Priority.Compare.
func refBefore(p, q Priority) bool {
	if p.Class != q.Class {
		return p.Class < q.Class
	}
	if p.HasScore != q.HasScore {
		return p.HasScore
	}
	if p.HasScore && p.Score != q.Score {
		return p.Score > q.Score
	}
	return bytes.Compare(p.Lottery[:], q.Lottery[:]) < 0
}

// refOutcome is a matching by choice: the school index of each student or
// -1, with the priority of the last student admitted at full schools.
type refOutcome struct {
	school []int
}

// refDA runs deferred acceptance in rounds: every school re-sorts all its
// held and new applicants each round.
func refDA(inst *Instance) refOutcome {
	idx := schoolIndex(inst)
	n := len(inst.Students)
	next := make([]int, n)
	held := make(map[int][]int) // school -> students
	at := make([]int, n)
	for i := range at {
		at[i] = -1
	}
	for {
		proposals := make(map[int][]int)
		any := false
		for i := range n {
			if at[i] >= 0 || next[i] >= len(inst.Students[i].Choices) {
				continue
			}
			s := idx[inst.Students[i].Choices[next[i]]]
			next[i]++
			proposals[s] = append(proposals[s], i)
			any = true
		}
		if !any {
			break
		}
		for s, ps := range proposals {
			all := append(slices.Clone(held[s]), ps...)
			slices.SortFunc(all, func(a, b int) int {
				pa, pb := refPriority(inst, a, s), refPriority(inst, b, s)
				if refBefore(pa, pb) {
					return -1
				}
				if refBefore(pb, pa) {
					return 1
				}
				return 0
			})
			q := inst.Schools[s].Quota
			if len(all) > q {
				for _, r := range all[q:] {
					at[r] = -1
				}
				all = all[:q]
			}
			for _, a := range all {
				at[a] = s
			}
			held[s] = all
		}
	}
	return refOutcome{school: at}
}

// refBoston runs immediate acceptance round by round.
func refBoston(inst *Instance) refOutcome {
	idx := schoolIndex(inst)
	n := len(inst.Students)
	at := make([]int, n)
	for i := range at {
		at[i] = -1
	}
	left := make([]int, len(inst.Schools))
	for s := range left {
		left[s] = inst.Schools[s].Quota
	}
	for r := 0; ; r++ {
		apps := make(map[int][]int)
		more := false
		for i := range n {
			if at[i] < 0 && r < len(inst.Students[i].Choices) {
				more = true
				s := idx[inst.Students[i].Choices[r]]
				apps[s] = append(apps[s], i)
			}
		}
		if !more {
			break
		}
		for s, as := range apps {
			slices.SortFunc(as, func(a, b int) int {
				if refBefore(refPriority(inst, a, s), refPriority(inst, b, s)) {
					return -1
				}
				return 1
			})
			for _, a := range as[:min(len(as), left[s])] {
				at[a] = s
			}
			left[s] -= min(len(as), left[s])
		}
	}
	return refOutcome{school: at}
}

// refAdministrative places guaranteed students without a seat by scanning
// every school for the nearest one with a free seat.
func refAdministrative(inst *Instance, byChoice []int) []int {
	n := len(inst.Students)
	free := make([]int, len(inst.Schools))
	for s := range free {
		free[s] = inst.Schools[s].Quota
	}
	for _, s := range byChoice {
		if s >= 0 {
			free[s]--
		}
	}
	var queue []int
	for i := range n {
		if inst.Students[i].Guaranteed && byChoice[i] < 0 && inst.Students[i].Location != nil {
			queue = append(queue, i)
		}
	}
	slices.SortFunc(queue, func(a, b int) int {
		da := sha256.Sum256([]byte(inst.Seed + "/" + inst.Students[a].ID))
		db := sha256.Sum256([]byte(inst.Seed + "/" + inst.Students[b].ID))
		return bytes.Compare(da[:], db[:])
	})
	out := make([]int, n)
	for i := range out {
		out[i] = -1
	}
	for _, i := range queue {
		best, bestKm := -1, 0.0
		for s := range inst.Schools {
			sc := &inst.Schools[s]
			if free[s] <= 0 || sc.Location == nil {
				continue
			}
			km := Distance(*inst.Students[i].Location, *sc.Location)
			if best < 0 || km < bestKm || km == bestKm && sc.ID < inst.Schools[best].ID {
				best, bestKm = s, km
			}
		}
		if best >= 0 {
			out[i] = best
			free[best]--
		}
	}
	return out
}

func schoolIndex(inst *Instance) map[string]int {
	m := make(map[string]int)
	for s := range inst.Schools {
		m[inst.Schools[s].ID] = s
	}
	return m
}

// genInstance draws a small valid instance. Zones, coordinates and scores
// come from small sets so that ties of every kind happen often.
func genInstance(t *rapid.T) *Instance {
	ns := rapid.IntRange(1, 6).Draw(t, "schools")
	nst := rapid.IntRange(0, 14).Draw(t, "students")
	zones := []string{"", "Z1", "Z2", "Z3"}
	coord := func(label string) *Location {
		if rapid.IntRange(0, 9).Draw(t, label+"-none") == 0 {
			return nil
		}
		return &Location{Lat: 21 + 0.01*float64(rapid.IntRange(0, 3).Draw(t, label+"-lat")),
			Lon: 105.8 + 0.01*float64(rapid.IntRange(0, 3).Draw(t, label+"-lon"))}
	}
	inst := &Instance{
		Seed:                    rapid.SampledFrom([]string{"s", "2026-lop1", "seed/with/slash"}).Draw(t, "seed"),
		Mechanism:               rapid.SampledFrom([]Mechanism{MechanismDA, MechanismBoston}).Draw(t, "mechanism"),
		TieBreak:                rapid.SampledFrom([]TieBreak{TieBreakSingle, TieBreakMultiple}).Draw(t, "tie_break"),
		AdministrativePlacement: rapid.Bool().Draw(t, "admin"),
		PriorityRules: rapid.SliceOfN(rapid.SampledFrom([]string{
			"dt1", "dt2", "dt3", "in_catchment", "group1", "group2", "group3", "sibling",
			"in_catchment+group1", "dt1+sibling", "group2+dt3",
		}), 0, 4).Draw(t, "rules"),
	}
	for s := range ns {
		sc := School{ID: fmt.Sprintf("S%d", s), Quota: rapid.IntRange(0, 3).Draw(t, "quota")}
		for _, z := range zones[1:] {
			if rapid.Bool().Draw(t, "catch") {
				sc.Catchment = append(sc.Catchment, z)
			}
		}
		sc.Location = coord("school")
		inst.Schools = append(inst.Schools, sc)
	}
	ids := make([]string, ns)
	for s := range ids {
		ids[s] = inst.Schools[s].ID
	}
	for i := range nst {
		st := Student{
			ID:            fmt.Sprintf("hs-%d", i),
			Choices:       rapid.SliceOfNDistinct(rapid.SampledFrom(ids), 0, ns, rapid.ID[string]).Draw(t, "choices"),
			PermanentZone: rapid.SampledFrom(zones).Draw(t, "perm"),
			CurrentZone:   rapid.SampledFrom(zones).Draw(t, "cur"),
			PriorityGroup: rapid.IntRange(0, 3).Draw(t, "group"),
			SiblingsAt:    rapid.SliceOfNDistinct(rapid.SampledFrom(ids), 0, 2, rapid.ID[string]).Draw(t, "siblings"),
			Guaranteed:    rapid.Bool().Draw(t, "guaranteed"),
			Location:      coord("student"),
		}
		inst.Students = append(inst.Students, st)
	}
	for s := range inst.Schools {
		if rapid.IntRange(0, 2).Draw(t, "scored") == 0 {
			inst.Schools[s].Scores = map[string]float64{}
			for i := range inst.Students {
				if rapid.IntRange(0, 3).Draw(t, "has-score") > 0 {
					inst.Schools[s].Scores[inst.Students[i].ID] = float64(rapid.IntRange(0, 3).Draw(t, "score")) / 2
				}
			}
		}
	}
	return inst
}
