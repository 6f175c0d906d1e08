package allocation

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// GenConfig sizes a generated instance.
type GenConfig struct {
	// Students, Schools and Choices size the instance; Choices is the
	// longest choice list (lists are 1..Choices long).
	Students, Schools, Choices int
	// ScoredSchools is how many schools rank applicants by score.
	ScoredSchools int
	// Seed seeds the generator; equal configs give equal instances.
	Seed int64
	// Mechanism and TieBreak are copied into the instance.
	Mechanism Mechanism
	TieBreak  TieBreak
}

// The generated city is a box around Hanoi's inner districts.
const (
	genLatMin, genLatMax = 20.90, 21.10
	genLonMin, genLonMax = 105.70, 105.95
)

// Generate builds a realistic instance: the city is a grid of zones
// (wards), each school serves its own zone and sometimes a neighbouring
// one, seats total about 1.05 per student with quotas varying by school,
// and popularity is skewed (Zipf): most families put the school of their
// zone first and fill the rest of the list from a few popular schools.
// About 4% of children are in a priority group, 8% have a sibling at a
// chosen school, 90% are guaranteed a place and 98% have a location.
// Generate uses only a PCG generator seeded from cfg, so it is
// deterministic.
func Generate(cfg GenConfig) *Instance {
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7475796e)) // "tuyn"
	ns, nst := max(cfg.Schools, 1), cfg.Students
	k := max(cfg.Choices, 1)
	g := int(math.Ceil(math.Sqrt(float64(ns) / 1.5))) // about 1.5 schools per zone
	zone := func(r, c int) string { return fmt.Sprintf("Z%02d-%02d", r, c) }
	cellOf := func(lat, lon float64) (int, int) {
		r := min(int((lat-genLatMin)/(genLatMax-genLatMin)*float64(g)), g-1)
		c := min(int((lon-genLonMin)/(genLonMax-genLonMin)*float64(g)), g-1)
		return r, c
	}
	randLoc := func() Location {
		return Location{
			Lat: math.Round((genLatMin+rng.Float64()*(genLatMax-genLatMin))*1e6) / 1e6,
			Lon: math.Round((genLonMin+rng.Float64()*(genLonMax-genLonMin))*1e6) / 1e6,
		}
	}

	inst := &Instance{
		Level:                   "lop1",
		Seed:                    fmt.Sprintf("tuyensinh-generated-%d", cfg.Seed),
		Mechanism:               cfg.Mechanism,
		TieBreak:                cfg.TieBreak,
		PriorityRules:           []string{"in_catchment+group1", "dt1", "dt2", "dt3", "group1", "sibling"},
		AdministrativePlacement: true,
		Schools:                 make([]School, ns),
		Students:                make([]Student, nst),
	}
	inst.Mechanism, inst.TieBreak = withDefaults(inst.Mechanism, inst.TieBreak)
	byCell := make([][]int, g*g)
	mean := 1.05 * float64(nst) / float64(ns)
	for s := range ns {
		loc := randLoc()
		r, c := cellOf(loc.Lat, loc.Lon)
		byCell[r*g+c] = append(byCell[r*g+c], s)
		catch := []string{zone(r, c)}
		if rng.IntN(3) == 0 { // a third also serve a neighbouring zone
			nr, nc := min(r+rng.IntN(2), g-1), min(c+1-rng.IntN(2), g-1)
			if nr != r || nc != c {
				catch = append(catch, zone(nr, nc))
			}
		}
		q := int(math.Round(mean * (0.7 + 0.6*rng.Float64())))
		inst.Schools[s] = School{ID: fmt.Sprintf("T%04d", s+1), Quota: max(q, 1), Catchment: catch, Location: &loc}
	}
	// Popularity: a Zipf draw over a random order of the schools.
	order := rng.Perm(ns)
	zipf := rand.NewZipf(rng, 1.1, 20, uint64(ns-1))

	chosen := make([]int, 0, k)
	for i := range nst {
		loc := randLoc()
		r, c := cellOf(loc.Lat, loc.Lon)
		st := Student{ID: fmt.Sprintf("HS%07d", i+1), CurrentZone: zone(r, c), PermanentZone: zone(r, c)}
		if rng.IntN(5) == 0 { // permanent residence elsewhere
			st.PermanentZone = zone(rng.IntN(g), rng.IntN(g))
		}
		if rng.IntN(50) > 0 {
			st.Location = &loc
		}
		st.Guaranteed = rng.IntN(10) > 0
		switch x := rng.IntN(100); {
		case x < 1:
			st.PriorityGroup = 1
		case x < 2:
			st.PriorityGroup = 2
		case x < 4:
			st.PriorityGroup = 3
		}
		n := 1 + rng.IntN(k)
		chosen = chosen[:0]
		if local := byCell[r*g+c]; len(local) > 0 && rng.IntN(10) < 6 {
			chosen = append(chosen, local[rng.IntN(len(local))])
		}
		for tries := 0; len(chosen) < n && tries < 4*n+8; tries++ {
			s := order[zipf.Uint64()]
			if !containsInt(chosen, s) {
				chosen = append(chosen, s)
			}
		}
		st.Choices = make([]string, len(chosen))
		for j, s := range chosen {
			st.Choices[j] = inst.Schools[s].ID
		}
		if rng.IntN(100) < 8 && len(chosen) > 0 {
			st.SiblingsAt = []string{st.Choices[rng.IntN(len(chosen))]}
		}
		inst.Students[i] = st
	}
	// Scores at the first ScoredSchools schools (in popularity order), for
	// nine in ten of their applicants, in quarter points from 15 to 30.
	if cfg.ScoredSchools > 0 {
		scored := make(map[string]int)
		for _, s := range order[:min(cfg.ScoredSchools, ns)] {
			scored[inst.Schools[s].ID] = s
			inst.Schools[s].Scores = make(map[string]float64)
		}
		for i := range inst.Students {
			for _, id := range inst.Students[i].Choices {
				if s, ok := scored[id]; ok && rng.IntN(10) > 0 {
					inst.Schools[s].Scores[inst.Students[i].ID] = 15 + float64(rng.IntN(61))/4
				}
			}
		}
	}
	return inst
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
