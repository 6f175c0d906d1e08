package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchFixture is a made-up bench run: the intake reaches 0.65 of the
// ceiling with p99 under 50 ms, status lookups only 0.4.
func benchFixture() *benchInput {
	lat := func(p99 float64) latencyStats { return latencyStats{P50: 1, P99: p99} }
	return &benchInput{
		meta: benchMeta{Connections: 64, Ceiling: 2000},
		mem:  &benchMemory{N: 1_000_000, Seconds: 200, VmHWM: 300 << 20},
		reports: map[string]*report{
			"healthz": {Requests: 100, Throughput: 20000, Latency: lat(5), OK: true},
			"intake": {Requests: 100, Throughput: 13000, Latency: lat(30), OK: true,
				Verify: &verifyReport{Checked: 1000, StoredOnce: 1000, OK: true}, CPU: &cpuReport{ServerUSReq: 71.4}},
			"intake60": {Requests: 100, AskedRate: 12000, Throughput: 11900, Latency: lat(20), OK: true},
			"direct":   {Requests: 100, Throughput: 2000, Latency: lat(150), OK: true, Verify: &verifyReport{Checked: 500, StoredOnce: 499, Lost: 1}},
			"status":   {Requests: 100, Throughput: 8000, Latency: lat(9), OK: true},
			"backpressure": {Requests: 100, ByStatus: map[string]int{"202": 2000, "503": 98000}, RetryAfter: 98000,
				Latency: lat(10), OK: true},
			"drain":  {Drain: &drainReport{Backlog: 100000, Seconds: 4, RowsPerSec: 25000, Drained: true}, OK: true},
			"memory": {Requests: 1_000_000, Accepted: 1_000_000, RSSMax: 310 << 20, Latency: lat(40), OK: true},
		},
	}
}

func findRow(t *testing.T, rows []row, prefix string) row {
	t.Helper()
	for _, r := range rows {
		if strings.HasPrefix(r.name, prefix) {
			return r
		}
	}
	t.Fatalf("no row %q", prefix)
	return row{}
}

func TestBuildRows(t *testing.T) {
	t.Parallel()
	rows := buildRows(benchFixture())
	tests := []struct {
		prefix, ratio, verdict string
	}{
		{"healthz ceiling", "1.00", ""},
		{"intake, buffered (", "0.65", "PASS"},
		{"intake, buffered, open loop", "0.59", "PASS"},
		{"intake, naive", "0.10", "PASS"}, // 13000 / 2000 = 6.5×
		{"status lookups", "0.40", "MISS"},
		{"backpressure", "", "PASS"},
		{"draining", "", "PASS"},
		{"memory", "", "PASS"},
		{"verified", "", "MISS"}, // one code lost in the direct run
	}
	for _, tt := range tests {
		r := findRow(t, rows, tt.prefix)
		if r.ratio != tt.ratio || r.verdict != tt.verdict {
			t.Errorf("row %q: ratio %q verdict %q, want %q %q", tt.prefix, r.ratio, r.verdict, tt.ratio, tt.verdict)
		}
	}
	if r := findRow(t, rows, "intake, naive"); !strings.Contains(r.target, "6.5×") {
		t.Errorf("naive row target %q does not say buffered/naive = 6.5×", r.target)
	}
	if r := findRow(t, rows, "intake, buffered ("); r.usReq != "71" {
		t.Errorf("intake row server µs/req = %q, want 71", r.usReq)
	}
	if r := findRow(t, rows, "verified"); !strings.Contains(r.figure, "1,500 codes: lost 1") {
		t.Errorf("verification row figure %q", r.figure)
	}
}

func TestBuildRowsMisses(t *testing.T) {
	t.Parallel()
	in := benchFixture()
	in.reports["intake"].Latency.P99 = 80 // ratio fine, tail too long
	in.reports["drain"].Drain.RowsPerSec = 15000
	in.mem.VmHWM = 600 << 20
	in.reports["backpressure"].RetryAfter = 10 // some 503s without Retry-After
	rows := buildRows(in)
	for _, prefix := range []string{"intake, buffered (", "draining", "memory", "backpressure"} {
		if r := findRow(t, rows, prefix); r.verdict != "MISS" {
			t.Errorf("row %q: verdict %q, want MISS", prefix, r.verdict)
		}
	}
	delete(in.reports, "healthz")
	if r := findRow(t, buildRows(in), "intake, buffered ("); r.verdict != "n/a" {
		t.Errorf("without a ceiling the intake verdict is %q, want n/a", r.verdict)
	}
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -12345: "-12,345"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%g) = %q, want %q", in, got, want)
		}
	}
}

func TestPrintTableReadsABenchDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("meta.json", `{"quick": true, "duration": "6s", "connections": 64, "ceiling": 2000, "nproc": 2}`)
	write("healthz.json", `{"label": "healthz", "requests": 10, "throughput": 20000, "ok": true}`)
	write("intake.json", `{"label": "intake", "requests": 10, "throughput": 13000, "ok": true}`)
	write("status.json", ``) // a run that crashed
	write("allocation.txt", "goos: linux\nBenchmarkPlace-2   \t 10\t 100 ns/op\nPASS\n")
	var b bytes.Buffer
	if err := printTable(&b, dir); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"quick (BENCH_QUICK=1) run", "20,000 req/s", "0.65", "BenchmarkPlace-2", "problems in status: no report"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
