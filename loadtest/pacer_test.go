package main

import (
	"math"
	"testing"
	"time"
)

// integrate integrates rate over [0, t] by the trapezoid rule.
func integrate(rate func(float64) float64, t float64) float64 {
	const steps = 20000
	h := t / steps
	sum := (rate(0) + rate(t)) / 2
	for i := 1; i < steps; i++ {
		sum += rate(float64(i) * h)
	}
	return sum * h
}

func TestProfilesHitsIsTheIntegralOfRate(t *testing.T) {
	t.Parallel()
	for _, p := range []profile{
		constantProfile(1000),
		rampProfile(5000, 3),
		midnightProfile(8000, 2, 10, 0.1),
	} {
		for _, at := range []float64{0.5, 1, 2, 2.5, 5, 20, 60} {
			want := integrate(p.rate, at)
			if got := p.hits(at); math.Abs(got-want) > 1e-3*math.Max(1, want) {
				t.Errorf("%s: hits(%g) = %g, want ∫rate = %g", p.name, at, got, want)
			}
		}
	}
}

func TestMidnightShape(t *testing.T) {
	t.Parallel()
	p := midnightProfile(10000, 5, 20, 0.1)
	checks := []struct{ t, want float64 }{{0, 1000}, {2.5, 5500}, {5, 10000}, {25, 1000 + 9000/math.E}}
	for _, c := range checks {
		if got := p.rate(c.t); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("rate(%g) = %g, want %g", c.t, got, c.want)
		}
	}
	if p.rate(1000) < 1000 || p.rate(1000) > 1000.001 {
		t.Errorf("rate long after the peak = %g, want the floor 1000", p.rate(1000))
	}
}

func TestPacerWaitsUntilTheNextHitIsDue(t *testing.T) {
	t.Parallel()
	pc := pacer{p: constantProfile(100)}
	if wait, stop := pc.Pace(0, 0); stop || math.Abs(wait.Seconds()-0.01) > 1e-6 {
		t.Errorf("Pace(0, 0) = %v, %v; want 10ms", wait, stop)
	}
	if wait, stop := pc.Pace(time.Second, 50); stop || wait != 0 {
		t.Errorf("Pace(1s, 50 hits) = %v, %v; want 0 (behind schedule)", wait, stop)
	}
	if wait, _ := pc.Pace(time.Second, 150); math.Abs(wait.Seconds()-0.51) > 1e-6 {
		t.Errorf("Pace(1s, 150 hits) = %v, want 510ms", wait)
	}
	ramp := pacer{p: rampProfile(1000, 2)}
	for _, hits := range []uint64{0, 10, 500, 1000, 3000} {
		el := 750 * time.Millisecond
		wait, _ := ramp.Pace(el, hits)
		at := (el + wait).Seconds()
		if got := ramp.p.hits(at); wait > 0 && math.Abs(got-float64(hits+1)) > 1e-3 {
			t.Errorf("ramp: Pace(%v, %d) = %v: hits then %g, want %d", el, hits, wait, got, hits+1)
		}
	}
}

func TestPacersStopAtMax(t *testing.T) {
	t.Parallel()
	if _, stop := (pacer{p: constantProfile(10), max: 5}).Pace(time.Hour, 5); !stop {
		t.Error("pacer did not stop at max")
	}
	if _, stop := (pacer{p: constantProfile(10), max: 5}).Pace(time.Hour, 4); stop {
		t.Error("pacer stopped before max")
	}
	if _, stop := (unlimitedPacer{max: 3}).Pace(0, 3); !stop {
		t.Error("unlimited pacer did not stop at max")
	}
	if w, stop := (unlimitedPacer{}).Pace(0, 1e9); stop || w != 0 {
		t.Error("unlimited pacer without max waited or stopped")
	}
}

func TestPacerStopsWhenTheProfileNeverGetsThere(t *testing.T) {
	t.Parallel()
	flat := profile{name: "flat", rate: func(float64) float64 { return 0 }, hits: func(float64) float64 { return 3 }}
	if _, stop := (pacer{p: flat}).Pace(time.Second, 3); !stop {
		t.Error("pacer on a profile that never reaches the next hit did not stop")
	}
}

func TestUnlimitedPacerRate(t *testing.T) {
	t.Parallel()
	if !math.IsInf(unlimitedPacer{}.Rate(0), 1) {
		t.Error("unlimited pacer's rate is not +Inf")
	}
}
