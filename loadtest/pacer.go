package main

import (
	"fmt"
	"math"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// profile is an arrival-rate curve: rate(t) requests per second at t
// seconds after the start, and hits(t), its integral (how many requests
// should have been sent by t). Both are pure.
type profile struct {
	name string
	rate func(t float64) float64
	hits func(t float64) float64
}

// constantProfile sends r requests per second from the start.
func constantProfile(r float64) profile {
	return profile{
		name: fmt.Sprintf("constant %g/s", r),
		rate: func(float64) float64 { return r },
		hits: func(t float64) float64 { return r * t },
	}
}

// rampProfile rises linearly from 0 to peak over ramp seconds, then stays
// at peak.
func rampProfile(peak, ramp float64) profile {
	return profile{
		name: fmt.Sprintf("ramp to %g/s over %gs", peak, ramp),
		rate: func(t float64) float64 {
			if t < ramp {
				return peak * t / ramp
			}
			return peak
		},
		hits: func(t float64) float64 {
			if t < ramp {
				return peak * t * t / (2 * ramp)
			}
			return peak*ramp/2 + peak*(t-ramp)
		},
	}
}

// midnightProfile is a window opening at 00:00: the rate climbs steeply
// from floor×peak to peak over ramp seconds, then decays exponentially
// back towards floor×peak with time constant decay seconds.
func midnightProfile(peak, ramp, decay, floor float64) profile {
	base := peak * floor
	return profile{
		name: fmt.Sprintf("midnight: %g/s → peak %g/s in %gs, decay τ=%gs to %g/s", base, peak, ramp, decay, base),
		rate: func(t float64) float64 {
			if t < ramp {
				return base + (peak-base)*t/ramp
			}
			return base + (peak-base)*math.Exp(-(t-ramp)/decay)
		},
		hits: func(t float64) float64 {
			if t < ramp {
				return base*t + (peak-base)*t*t/(2*ramp)
			}
			up := base*ramp + (peak-base)*ramp/2
			return up + base*(t-ramp) + (peak-base)*decay*(1-math.Exp(-(t-ramp)/decay))
		},
	}
}

// pacer drives a vegeta attack along a profile, and stops after max hits
// (0: no limit).
type pacer struct {
	p   profile
	max uint64
}

var _ vegeta.Pacer = pacer{}

// Pace returns how long to wait before the next hit: nothing when the
// attack is behind the profile, else until the profile reaches hits+1.
func (pc pacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if pc.max > 0 && hits >= pc.max {
		return 0, true
	}
	t := elapsed.Seconds()
	target := float64(hits + 1)
	if pc.p.hits(t) >= target {
		return 0, false
	}
	// hits is non-decreasing: find the time it reaches target by doubling
	// then bisection. A profile that never gets there stops the attack.
	lo, hi := t, t+0.001
	for pc.p.hits(hi) < target {
		lo, hi = hi, t+2*(hi-t)
		if hi-t > 24*3600 {
			return 0, true
		}
	}
	for range 60 {
		mid := (lo + hi) / 2
		if pc.p.hits(mid) < target {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo < 1e-7 {
			break
		}
	}
	return time.Duration((hi - t) * float64(time.Second)), false
}

// Rate returns the profile's rate at elapsed.
func (pc pacer) Rate(elapsed time.Duration) float64 { return pc.p.rate(elapsed.Seconds()) }

// unlimitedPacer sends as fast as the attack's connections allow (closed
// loop at saturation), up to max hits (0: no limit).
type unlimitedPacer struct{ max uint64 }

// Pace never waits.
func (u unlimitedPacer) Pace(_ time.Duration, hits uint64) (time.Duration, bool) {
	return 0, u.max > 0 && hits >= u.max
}

// Rate is infinite.
func (unlimitedPacer) Rate(time.Duration) float64 { return math.Inf(1) }
