package placement

import (
	"math"
	"slices"
	"testing"

	"github.com/tuyensinh/tuyensinh/allocation"
)

// TestFigures: the run's figures counted in chunks at once are those
// counted one child after another, as the definitions say.
func TestFigures(t *testing.T) {
	for seed := int64(1); seed <= 4; seed++ {
		inst := allocation.Generate(allocation.GenConfig{Students: 3000 * int(seed), Schools: 5 * int(seed), Choices: 3, Seed: seed})
		s := &Snapshot{Instance: inst, catchment: map[string]map[string]bool{}}
		for _, sc := range inst.Schools {
			s.catchment[sc.ID] = map[string]bool{}
			for _, z := range sc.Catchment {
				s.catchment[sc.ID][z] = true
			}
		}
		res, err := allocation.Place(inst)
		if err != nil {
			t.Fatal(err)
		}
		got := s.Figures(res)

		in := 0
		var km []float64
		sum := 0.0
		for i, a := range res.Assignments {
			if a.School == "" {
				continue
			}
			stu := inst.Students[i]
			k := slices.IndexFunc(inst.Schools, func(sc allocation.School) bool { return sc.ID == a.School })
			if slices.Contains(inst.Schools[k].Catchment, stu.PermanentZone) || slices.Contains(inst.Schools[k].Catchment, stu.CurrentZone) {
				in++
			}
			if stu.Location != nil && inst.Schools[k].Location != nil {
				d := allocation.Distance(*stu.Location, *inst.Schools[k].Location)
				km = append(km, d)
				sum += d
			}
		}
		slices.Sort(km)
		if got.InCatchment != in {
			t.Errorf("seed %d: in catchment %d, want %d", seed, got.InCatchment, in)
		}
		if len(km) == 0 || got.MeanDistanceKm == nil || got.P90DistanceKm == nil {
			t.Fatalf("seed %d: no distances (%d placed with a location)", seed, len(km))
		}
		if want := sum / float64(len(km)); math.Abs(*got.MeanDistanceKm-want) > 0.0006 {
			t.Errorf("seed %d: mean %v km, want %.4f", seed, *got.MeanDistanceKm, want)
		}
		if want := round3(km[int(math.Ceil(0.9*float64(len(km))))-1]); *got.P90DistanceKm != want {
			t.Errorf("seed %d: p90 %v km, want %v", seed, *got.P90DistanceKm, want)
		}
	}
}
