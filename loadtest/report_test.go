package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestPercentile(t *testing.T) {
	t.Parallel()
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(i + 1)
	}
	thousand := make([]time.Duration, 1000)
	for i := range thousand {
		thousand[i] = ms(i + 1)
	}
	tests := []struct {
		vals []time.Duration
		q    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{[]time.Duration{ms(7)}, 0.5, ms(7)},
		{[]time.Duration{ms(7)}, 0.999, ms(7)},
		{hundred, 0.50, ms(50)},
		{hundred, 0.90, ms(90)},
		{hundred, 0.99, ms(99)},
		{hundred, 0.999, ms(100)},
		{hundred, 1, ms(100)},
		{thousand, 0.999, ms(999)},
		{[]time.Duration{ms(1), ms(2), ms(3)}, 0.5, ms(2)},
		{[]time.Duration{ms(1), ms(2)}, 0.5, ms(1)},
	}
	for _, tt := range tests {
		if got := percentile(tt.vals, tt.q); got != tt.want {
			t.Errorf("percentile(%d values, %g) = %v, want %v", len(tt.vals), tt.q, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	// 1..1000 ms, shuffled: summarize must sort.
	lat := make([]time.Duration, 1000)
	for i := range lat {
		lat[i] = ms((i*7919)%1000 + 1)
	}
	got := summarize(lat)
	want := latencyStats{N: 1000, Mean: 500.5, P50: 500, P90: 900, P99: 990, P999: 999, Max: 1000}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summarize (-want +got):\n%s", diff)
	}
	if got := summarize(nil); got != (latencyStats{}) {
		t.Errorf("summarize(nil) = %+v, want zero", got)
	}
}

func TestRate(t *testing.T) {
	t.Parallel()
	if got := rate(1500, 3); got != 500 {
		t.Errorf("rate(1500, 3) = %g, want 500", got)
	}
	if got := rate(10, 0); got != 0 {
		t.Errorf("rate(10, 0) = %g, want 0", got)
	}
}

func TestTrackingCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want string
		ok   bool
	}{
		{`{"tracking_code":"0123456789ABCDEFGHJK","status_url":"/api/v1/applications/0123456789ABCDEFGHJK"}`, "0123456789ABCDEFGHJK", true},
		{`{"status":"queued","tracking_code":"ABC"}`, "ABC", true},
		{`{"tracking_code":""}`, "", false},
		{`{"error":{"code":"busy"}}`, "", false},
		{`{"tracking_code":"unterminated`, "", false},
	}
	for _, tt := range tests {
		got, ok := trackingCode([]byte(tt.body))
		if got != tt.want || ok != tt.ok {
			t.Errorf("trackingCode(%s) = %q, %v; want %q, %v", tt.body, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMetricValue(t *testing.T) {
	t.Parallel()
	text := `# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes_total 1
process_resident_memory_bytes{x="y"} 2
process_resident_memory_bytes 2.7787264e+07
go_goroutines 12
`
	got, err := metricValue(strings.NewReader(text), "process_resident_memory_bytes")
	if err != nil || got != 27787264 {
		t.Errorf("metricValue = %d, %v; want 27787264", got, err)
	}
	if _, err := metricValue(strings.NewReader(text), "absent_metric"); err == nil {
		t.Error("metricValue of an absent metric: no error")
	}
}

func TestCountErrorKeepsAFewKinds(t *testing.T) {
	t.Parallel()
	m := map[string]int{}
	for i := range 30 {
		countError(m, strings.Repeat("x", i+1))
	}
	countError(m, "x")
	if len(m) != 13 || m["(other)"] != 18 || m["x"] != 2 {
		t.Errorf("countError kept %d kinds (other %d, x %d), want 12 + (other) = 18, x = 2", len(m), m["(other)"], m["x"])
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	ok := &report{Verify: &verifyReport{OK: true}}
	ok.judge()
	if !ok.OK {
		t.Errorf("clean run judged failed: %v", ok.Problems)
	}
	for name, r := range map[string]*report{
		"errored": {Errored: 1},
		"lost":    {Verify: &verifyReport{Lost: 1}},
		"dead":    {Queue: &queueReport{DeadLetters: 3}},
		"drain":   {Drain: &drainReport{}},
	} {
		r.judge()
		if r.OK || len(r.Problems) == 0 {
			t.Errorf("%s: judged OK", name)
		}
	}
	skipped := &report{Verify: &verifyReport{Skipped: "no -database-url"}}
	skipped.judge()
	if !skipped.OK {
		t.Errorf("skipped verification judged failed: %v", skipped.Problems)
	}
}

func TestWriteText(t *testing.T) {
	t.Parallel()
	r := &report{Label: "intake", Scenario: "intake", Requests: 10, Seconds: 1, ByStatus: map[string]int{"202": 9, "409": 1},
		Accepted: 9, Rejected: 1, Latency: latencyStats{P99: 12.5}, Verify: &verifyReport{Checked: 9, StoredOnce: 9, OK: true}, OK: true}
	var b bytes.Buffer
	r.writeText(&b)
	for _, want := range []string{"202=9 409=1", "p99 12.50", "stored once 9, lost 0", "result       OK"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestProcStatBusy(t *testing.T) {
	t.Parallel()
	stat := "cpu  1000 50 300 5000 200 10 40 0 0 0\ncpu0 500 25 150 2500 100 5 20 0 0 0\n"
	// busy = user+nice+system+irq+softirq+steal = 1000+50+300+10+40+0 = 1400 ticks
	got, err := procStatBusy([]byte(stat))
	if err != nil || got != 14 {
		t.Errorf("procStatBusy = %g, %v; want 14 s", got, err)
	}
	if _, err := procStatBusy([]byte("intr 1 2 3\n")); err == nil {
		t.Error("procStatBusy of a bad first line: no error")
	}
}

func TestCPUSince(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(100, 0)
	s0 := cpuSample{at: t0, server: 10, self: 1, machine: 50}
	s1 := cpuSample{at: t0.Add(2 * time.Second), server: 11.5, self: 1.8, machine: 53.8}
	got := s1.since(s0, 20000)
	want := &cpuReport{ServerCores: 0.75, ServerUSReq: 75, LoadgenCores: 0.4, MachineCores: 1.9, OtherCores: 0.75}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("since (-want +got):\n%s", diff)
	}
	unknown := cpuSample{at: t0.Add(time.Second), server: -1, self: 1.5, machine: -1}
	if got := unknown.since(s0, 10); got.ServerCores != 0 || got.MachineCores != 0 || got.LoadgenCores != 0.5 {
		t.Errorf("since with unknown server and machine = %+v", got)
	}
}
