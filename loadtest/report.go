package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// report is the outcome of one run, printed as text or JSON. Latencies are
// in milliseconds, rates per second.
type report struct {
	Label       string  `json:"label"`
	Scenario    string  `json:"scenario"`
	Target      string  `json:"target"`
	Profile     string  `json:"profile"`
	Connections int     `json:"connections"`
	Seed        uint64  `json:"seed,omitempty"`
	Started     string  `json:"started"`
	Seconds     float64 `json:"seconds"` // from the first request sent to the last answer

	Requests   int            `json:"requests"`    // sent
	AskedRate  float64        `json:"asked_rate"`  // mean rate the profile asked for; 0: as fast as possible
	SendRate   float64        `json:"send_rate"`   // requests sent per second
	Throughput float64        `json:"throughput"`  // answers below 500 per second
	AnswerRate float64        `json:"answer_rate"` // HTTP answers (any status) per second
	PeakRate   int            `json:"peak_rate"`   // most answers in one second of the run
	Accepted   int            `json:"accepted"`    // 202 (intake) or 200 (other scenarios)
	Rejected   int            `json:"rejected"`    // 4xx and 503: answered, not accepted
	Errored    int            `json:"errored"`     // no answer (transport error, timeout) or an unexpected status
	ByStatus   map[string]int `json:"by_status"`   // answers by HTTP status; "error" for no answer
	ByKind     map[string]int `json:"by_kind"`     // intake: requests sent by what they were meant to provoke
	ErrorKinds map[string]int `json:"error_kinds"` // error messages and unexpected statuses (a few)
	RetryAfter int            `json:"retry_after"` // 503 answers that carried Retry-After

	Latency latencyStats `json:"latency_ms"`
	CPU     *cpuReport   `json:"cpu,omitempty"`

	Queue  *queueReport  `json:"queue,omitempty"`
	RSSMax int64         `json:"rss_max_bytes,omitempty"` // largest process_resident_memory_bytes seen on /metrics
	Verify *verifyReport `json:"verify,omitempty"`
	Drain  *drainReport  `json:"drain,omitempty"`

	OK       bool     `json:"ok"`
	Problems []string `json:"problems,omitempty"`
}

// latencyStats are the latency percentiles of a run, in milliseconds.
type latencyStats struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// cpuReport is the CPU the run cost, in cores (CPU seconds per second of
// the run) and microseconds per request. CPU per request is far less
// sensitive to other load on the machine than throughput is.
type cpuReport struct {
	ServerCores  float64 `json:"server_cores"`          // from the server's process_cpu_seconds_total
	ServerUSReq  float64 `json:"server_us_per_request"` // server CPU per answered request
	LoadgenCores float64 `json:"loadgen_cores"`         // this process
	MachineCores float64 `json:"machine_busy_cores"`    // all CPUs, from /proc/stat
	OtherCores   float64 `json:"other_cores,omitempty"` // machine − server − load generator (Redis, PostgreSQL, other people's jobs)
}

// queueReport is what the intake stream did during and after a run.
type queueReport struct {
	Samples     int     `json:"samples"`
	MaxLength   int64   `json:"max_length"`
	MaxLag      int64   `json:"max_lag"`
	MaxPending  int64   `json:"max_pending"`
	EndLength   int64   `json:"end_length"`    // when sending stopped
	Drained     bool    `json:"drained"`       // length and pending reached 0 after the run
	DrainSecs   float64 `json:"drain_seconds"` // from the end of sending until drained
	DeadLetters int64   `json:"dead_letters"`
	PollErrors  int     `json:"poll_errors"`
}

// drainReport is the outcome of the drain scenario: how fast the workers
// emptied a backlog.
type drainReport struct {
	Backlog    int64   `json:"backlog"` // entries in the stream when draining began
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_second"`
	Drained    bool    `json:"drained"`
}

// verifyReport is the check against PostgreSQL.
type verifyReport struct {
	Checked        int    `json:"checked"`         // tracking codes of 202s
	StoredOnce     int    `json:"stored_once"`     // found exactly once
	Lost           int    `json:"lost"`            // not found
	Diverted       int    `json:"diverted"`        // stored as a duplicate submission of the child's earlier application
	Duplicates     int    `json:"duplicates"`      // found more than once
	Unexpected     int    `json:"unexpected"`      // stored for this run's children under a code no 202 gave out
	UnknownOutcome int    `json:"unknown_outcome"` // requests without an answer: these may be stored
	Skipped        string `json:"skipped,omitempty"`
	OK             bool   `json:"ok"`
}

// percentile returns the q-quantile (0 < q ≤ 1) of sorted by the
// nearest-rank method: the smallest value with at least q of the values at
// or below it. It returns 0 for no values.
func percentile(sorted []time.Duration, q float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(q*float64(n) - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// summarize returns the latency statistics of lat (which it sorts).
func summarize(lat []time.Duration) latencyStats {
	if len(lat) == 0 {
		return latencyStats{}
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	return latencyStats{
		N:    len(lat),
		Mean: ms(sum / time.Duration(len(lat))),
		P50:  ms(percentile(lat, 0.50)),
		P90:  ms(percentile(lat, 0.90)),
		P99:  ms(percentile(lat, 0.99)),
		P999: ms(percentile(lat, 0.999)),
		Max:  ms(lat[len(lat)-1]),
	}
}

// rate returns n per second over secs, or 0.
func rate(n int, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(n) / secs
}

// writeText prints the report for people.
func (r *report) writeText(w io.Writer) {
	fmt.Fprintf(w, "%s: %s against %s (%s, ≤ %d connections)\n", r.Label, r.Scenario, r.Target, r.Profile, r.Connections)
	if r.Requests > 0 {
		asked := "as fast as possible"
		if r.AskedRate > 0 {
			asked = fmt.Sprintf("asked %.0f/s", r.AskedRate)
		}
		fmt.Fprintf(w, "  requests     %d in %.2fs: sent %.0f/s (%s), answered below 500 %.0f/s (peak second %d)\n", r.Requests, r.Seconds, r.SendRate, asked, r.Throughput, r.PeakRate)
		fmt.Fprintf(w, "  outcome      accepted %d, rejected %d, errored %d\n", r.Accepted, r.Rejected, r.Errored)
		fmt.Fprintf(w, "  by status    %s\n", formatCounts(r.ByStatus))
		if len(r.ByKind) > 0 {
			fmt.Fprintf(w, "  sent as      %s\n", formatCounts(r.ByKind))
		}
		if r.RetryAfter > 0 || r.ByStatus["503"] > 0 {
			fmt.Fprintf(w, "  busy         %d × 503, %d with Retry-After\n", r.ByStatus["503"], r.RetryAfter)
		}
		if len(r.ErrorKinds) > 0 {
			fmt.Fprintf(w, "  errors       %s\n", formatCounts(r.ErrorKinds))
		}
		if c := r.CPU; c != nil {
			fmt.Fprintf(w, "  cpu          server %.2f cores (%.0f µs/request), load generator %.2f, machine busy %.2f of its cores, rest %.2f\n",
				c.ServerCores, c.ServerUSReq, c.LoadgenCores, c.MachineCores, c.OtherCores)
		}
		l := r.Latency
		fmt.Fprintf(w, "  latency ms   p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (mean %.2f)\n", l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean)
	}
	if q := r.Queue; q != nil {
		drain := "not waited for"
		switch {
		case q.Drained:
			drain = fmt.Sprintf("drained %.2fs after sending stopped", q.DrainSecs)
		case q.DrainSecs > 0:
			drain = fmt.Sprintf("NOT drained after %.0fs", q.DrainSecs)
		}
		fmt.Fprintf(w, "  queue        max length %d, max lag %d, max pending %d; %d at end of sending; %s; dead letters %d\n",
			q.MaxLength, q.MaxLag, q.MaxPending, q.EndLength, drain, q.DeadLetters)
	}
	if d := r.Drain; d != nil {
		fmt.Fprintf(w, "  drain        %d entries in %.2fs = %.0f rows/s (drained: %v)\n", d.Backlog, d.Seconds, d.RowsPerSec, d.Drained)
	}
	if r.RSSMax > 0 {
		fmt.Fprintf(w, "  server RSS   max %.1f MB (sampled each second)\n", float64(r.RSSMax)/(1<<20))
	}
	if v := r.Verify; v != nil {
		if v.Skipped != "" {
			fmt.Fprintf(w, "  verify       skipped: %s\n", v.Skipped)
		} else {
			fmt.Fprintf(w, "  verify       %d codes: stored once %d, lost %d, duplicates %d, unexpected %d (unknown outcome %d) → %s\n",
				v.Checked, v.StoredOnce, v.Lost, v.Duplicates, v.Unexpected, v.UnknownOutcome, passFail(v.OK))
			if v.Diverted > 0 {
				fmt.Fprintf(w, "               %d codes were stored as duplicate submissions of an earlier application (the Redis guard did not know the child)\n", v.Diverted)
			}
		}
	}
	fmt.Fprintf(w, "  result       %s\n", passFail(r.OK))
	for _, p := range r.Problems {
		fmt.Fprintf(w, "    - %s\n", p)
	}
}

func passFail(ok bool) string {
	if ok {
		return "OK"
	}
	return "FAIL"
}

// formatCounts prints counts sorted by key: "202=9000 409=100".
func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Itoa(m[k]))
	}
	return b.String()
}
