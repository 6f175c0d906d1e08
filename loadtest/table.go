package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

// benchMeta is meta.json, written by scripts/bench.sh.
type benchMeta struct {
	Quick        bool   `json:"quick"`
	Duration     string `json:"duration"`
	Connections  int    `json:"connections"`
	Ceiling      int    `json:"ceiling"`
	Seconds      int    `json:"seconds"`
	NProc        int    `json:"nproc"`
	Go           string `json:"go"`
	LoadavgStart string `json:"loadavg_start"`
	LoadavgEnd   string `json:"loadavg_end"`
}

// benchMemory is memory-rss.json: the memory run's server, measured from
// /proc by scripts/bench.sh.
type benchMemory struct {
	N          int     `json:"n"`
	Seconds    float64 `json:"seconds"`
	VmHWM      int64   `json:"vmhwm_bytes"`
	VmRSSEnd   int64   `json:"vmrss_end_bytes"`
	RedisBytes int64   `json:"redis_used_memory_bytes"`
	PGBytes    int64   `json:"pg_database_bytes"`
}

// benchInput is everything make bench measured.
type benchInput struct {
	meta       benchMeta
	mem        *benchMemory
	reports    map[string]*report // by label
	redisUS    map[string]float64 // Redis CPU µs per answer, by label (NAME.rcpu)
	allocation []string           // the benchmark result lines of ./allocation
	allocError string
}

// row is one line of the bench table.
type row struct {
	name, figure, p50, p99, ratio, target, verdict string
	usReq                                          string // server CPU per request
	redisUS                                        string // Redis CPU per request
	cores                                          string // cores used: server / load generator / the rest
}

// Targets of issue 4.
const (
	targetIntakeRatio = 0.60
	targetP99         = 50.0 // ms, at 64 connections
	targetStatusRatio = 0.50
	targetDrain       = 20_000.0 // rows/s
	targetRSS         = 500 << 20
	targetNaiveTimes  = 3.0 // "well ahead": our reading
	targetAchieved    = 0.97
	targetOneMachine  = 0.60 // issue 11: × the API-alone intake
)

// oneMachine returns the fastest onemachine-* run (scripts/bench.sh tries
// falling rates) that sustained its rate with the backlog under one second
// of arrivals, and its label; or the slowest run tried and "" when none
// did.
func oneMachine(in *benchInput) (*report, string) {
	var best, slowest *report
	bestLabel := ""
	for _, l := range sortedKeys(in.reports) {
		r := in.reports[l]
		if !strings.HasPrefix(l, "onemachine-") || r.Requests == 0 {
			continue
		}
		if slowest == nil || r.AskedRate < slowest.AskedRate {
			slowest = r
		}
		ok := r.OK && r.Queue != nil && float64(r.Queue.MaxLength) < r.AskedRate && r.Throughput >= targetAchieved*r.AskedRate
		if ok && (best == nil || r.AskedRate > best.AskedRate) {
			best, bestLabel = r, l
		}
	}
	if best != nil {
		return best, bestLabel
	}
	return slowest, ""
}

func mk(name, figure, p50, p99, ratio, target, verdict string) row {
	return row{name: name, figure: figure, p50: p50, p99: p99, ratio: ratio, target: target, verdict: verdict}
}

// readBench reads the reports of a make bench run from dir.
func readBench(dir string) (*benchInput, error) {
	in := &benchInput{reports: map[string]*report{}, redisUS: map[string]float64{}}
	if err := readJSON(filepath.Join(dir, "meta.json"), &in.meta); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var mem benchMemory
	if err := readJSON(filepath.Join(dir, "memory-rss.json"), &mem); err == nil {
		in.mem = &mem
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".json")
		if base == "meta" || base == "memory-rss" {
			continue
		}
		var r report
		if err := readJSON(f, &r); err != nil {
			// A run that crashed leaves an empty or partial report: say so
			// in the table rather than stop.
			in.reports[base] = &report{Label: base, Problems: []string{"no report: " + err.Error()}}
			continue
		}
		in.reports[base] = &r
	}
	rcpu, err := filepath.Glob(filepath.Join(dir, "*.rcpu"))
	if err != nil {
		return nil, err
	}
	for _, f := range rcpu {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var us float64
		if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &us); err == nil {
			in.redisUS[strings.TrimSuffix(filepath.Base(f), ".rcpu")] = us
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "allocation.txt")); err == nil {
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "Benchmark") {
				in.allocation = append(in.allocation, line)
			}
			if strings.TrimSpace(line) == "FAILED" || strings.HasPrefix(line, "FAIL") || strings.Contains(line, "build failed") {
				in.allocError = "the placement benchmarks failed: see allocation.txt"
			}
		}
		if len(in.allocation) == 0 && in.allocError == "" {
			in.allocError = "no benchmark lines in allocation.txt"
		}
	}
	return in, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return errors.New("empty file")
	}
	return json.Unmarshal(b, v)
}

// printTable prints the bench table of the reports in dir.
func printTable(w io.Writer, dir string) error {
	in, err := readBench(dir)
	if err != nil {
		return err
	}
	renderTable(w, in)
	return nil
}

// verdict is PASS or MISS for a target, or "" when it was not measured.
func verdict(measured, ok bool) string {
	switch {
	case !measured:
		return "n/a"
	case ok:
		return "PASS"
	}
	return "MISS"
}

func ratioOf(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func ms2(x float64) string { return fmt.Sprintf("%.2f", x) }

// thousands formats n with thin separators: 12,345.
func thousands(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// buildRows computes the table's rows from what was measured. It is pure.
func buildRows(in *benchInput) []row {
	var rows []row
	// cost notes the server CPU per request of r on the last row.
	cost := func(r *report) {
		if r != nil && r.CPU != nil && r.CPU.ServerUSReq > 0 {
			rows[len(rows)-1].usReq = fmt.Sprintf("%.0f", r.CPU.ServerUSReq)
			if r.CPU.ServerCores > 0 {
				rows[len(rows)-1].cores = fmt.Sprintf("%.2f/%.2f/%.2f", r.CPU.ServerCores, r.CPU.LoadgenCores, r.CPU.OtherCores)
			}
		}
		if r != nil {
			if us, ok := in.redisUS[r.Label]; ok {
				rows[len(rows)-1].redisUS = fmt.Sprintf("%.1f", us)
			}
		}
	}
	get := func(l string) *report {
		r := in.reports[l]
		if r == nil || r.Requests == 0 && r.Drain == nil {
			return nil
		}
		return r
	}
	ceil := get("healthz")
	ceiling := 0.0
	if ceil != nil {
		ceiling = ceil.Throughput
		rows = append(rows, mk("healthz ceiling (GET /healthz)", thousands(ceiling)+" req/s",
			ms2(ceil.Latency.P50), ms2(ceil.Latency.P99), "1.00", "(reference)", ""))
		cost(ceil)
	} else {
		rows = append(rows, row{name: "healthz ceiling", figure: "not measured", verdict: "n/a"})
	}
	intake := get("intake")
	if intake != nil {
		ratio := ratioOf(intake.Throughput, ceiling)
		rows = append(rows, mk("intake, buffered (→ Redis stream → 202; API alone)",
			thousands(intake.Throughput)+" req/s", ms2(intake.Latency.P50), ms2(intake.Latency.P99), fmt.Sprintf("%.2f", ratio),
			fmt.Sprintf("≥ %.2f and p99 < %.0f ms", targetIntakeRatio, targetP99),
			verdict(ceiling > 0, ratio >= targetIntakeRatio && intake.Latency.P99 < targetP99)))
		cost(intake)
	}
	if r := get("intake60"); r != nil {
		ach := ratioOf(r.Throughput, r.AskedRate)
		rows = append(rows, mk(fmt.Sprintf("intake, buffered, open loop %s/s (0.6×ceiling)", thousands(r.AskedRate)),
			thousands(r.Throughput)+" req/s", ms2(r.Latency.P50), ms2(r.Latency.P99), fmt.Sprintf("%.2f", ratioOf(r.Throughput, ceiling)),
			fmt.Sprintf("≥ %.0f%% of asked, p99 < %.0f ms", targetAchieved*100, targetP99),
			verdict(true, ach >= targetAchieved && r.Latency.P99 < targetP99)))
		cost(r)
	}
	intakeTarget := fmt.Sprintf("≥ %.2f and p99 < %.0f ms", targetIntakeRatio, targetP99)
	wrkCeil := get("wrk-healthz")
	wrkCeiling := 0.0
	if wrkCeil != nil {
		wrkCeiling = wrkCeil.Throughput
		rows = append(rows, mk("healthz ceiling, wrk (C client, 2 threads)", thousands(wrkCeiling)+" req/s",
			ms2(wrkCeil.Latency.P50), ms2(wrkCeil.Latency.P99), "1.00", "(reference for wrk rows)", ""))
		cost(wrkCeil)
	}
	// intakeRow adds an intake run measured against ceiling c.
	intakeRow := func(label, name string, c float64) {
		r := get(label)
		if r == nil {
			return
		}
		ratio := ratioOf(r.Throughput, c)
		rows = append(rows, mk(name, thousands(r.Throughput)+" req/s", ms2(r.Latency.P50), ms2(r.Latency.P99), fmt.Sprintf("%.2f", ratio),
			intakeTarget, verdict(c > 0, ratio >= targetIntakeRatio && r.Latency.P99 < targetP99 && r.OK)))
		cost(r)
	}
	intakeRow("wrk-intake", "intake, wrk (distinct children, all 202; API alone)", wrkCeiling)
	intakeRow("intake-limited", "intake, rate limit on (RATE_LIMIT_REGISTER)", ceiling)
	intakeRow("wrk-intake-limited", "intake, wrk, rate limit on", wrkCeiling)
	if r, step := oneMachine(in); r != nil {
		ratio := ratioOf(r.Throughput, valueOr(intake, func(r *report) float64 { return r.Throughput }))
		fig := fmt.Sprintf("%s req/s sustained", thousands(r.Throughput))
		if step == "" {
			fig = fmt.Sprintf("no step sustained (lowest tried %s/s: %s req/s, max backlog %s)", thousands(r.AskedRate), thousands(r.Throughput),
				thousands(float64(valueOr(r.Queue, func(q *queueReport) int64 { return q.MaxLength }))))
		} else if r.Queue != nil {
			fig += fmt.Sprintf(" (asked %s/s; max backlog %s, under 1 s)", thousands(r.AskedRate), thousands(float64(r.Queue.MaxLength)))
		}
		rows = append(rows, mk("one machine (make run shape: API+workers+Redis+PG)", fig, ms2(r.Latency.P50), ms2(r.Latency.P99),
			fmt.Sprintf("%.2f of intake", ratio), "≥ 0.60 × API-alone intake", verdict(step != "" && intake != nil, step != "" && ratio >= targetOneMachine)))
		cost(r)
	}
	if r := in.reports["surgedrain"]; r != nil && r.Drain != nil {
		d := r.Drain
		rows = append(rows, mk("  then the backlog drained (worker started after)",
			fmt.Sprintf("%s rows in %.2fs (%s rows/s)", thousands(float64(d.Backlog)), d.Seconds, thousands(d.RowsPerSec)), "", "", "",
			"(drains in seconds)", verdict(true, d.Drained)))
	}
	if r := get("direct"); r != nil {
		times := ratioOf(valueOr(intake, func(r *report) float64 { return r.Throughput }), r.Throughput)
		rows = append(rows, mk("intake, naive (INSERT inside the request)",
			thousands(r.Throughput)+" req/s", ms2(r.Latency.P50), ms2(r.Latency.P99), fmt.Sprintf("%.2f", ratioOf(r.Throughput, ceiling)),
			fmt.Sprintf("buffered/naive ≥ %.0f× (is %.1f×)", targetNaiveTimes, times), verdict(intake != nil, times >= targetNaiveTimes)))
		cost(r)
	} else {
		rows = append(rows, row{name: "intake, naive direct insert", figure: "not measured (INTAKE_MODE=direct unavailable?)", verdict: "n/a"})
	}
	if r := get("status"); r != nil {
		ratio := ratioOf(r.Throughput, ceiling)
		rows = append(rows, mk("status lookups (GET /applications/{code})",
			thousands(r.Throughput)+" req/s", ms2(r.Latency.P50), ms2(r.Latency.P99), fmt.Sprintf("%.2f", ratio),
			fmt.Sprintf("≥ %.2f", targetStatusRatio), verdict(ceiling > 0, ratio >= targetStatusRatio)))
		cost(r)
	}
	if r := get("midnight"); r != nil {
		q := valueOr(r.Queue, func(q *queueReport) string {
			return fmt.Sprintf("; max backlog %s, lag %s; drained +%.1fs", thousands(float64(q.MaxLength)), thousands(float64(q.MaxLag)), q.DrainSecs)
		})
		rows = append(rows, mk("midnight profile (peak 1.3×intake, 256 conns)",
			fmt.Sprintf("%s sent, mean %s/s, peak second %s/s%s", thousands(float64(r.Requests)), thousands(r.Throughput), thousands(float64(r.PeakRate)), q),
			ms2(r.Latency.P50), ms2(r.Latency.P99), "", "(shape; no target)", ""))
		cost(r)
	}
	if r := get("backpressure"); r != nil {
		busy := r.ByStatus["503"]
		ok := busy > 0 && r.RetryAfter == busy && r.Latency.P99 < targetP99 && r.Errored == 0
		rows = append(rows, mk(fmt.Sprintf("backpressure (INTAKE_CEILING=%d, no workers)", in.meta.Ceiling),
			fmt.Sprintf("%s × 202, then %s × 503 (%s with Retry-After), %s answers/s", thousands(float64(r.ByStatus["202"])), thousands(float64(busy)),
				thousands(float64(r.RetryAfter)), thousands(r.AnswerRate)),
			ms2(r.Latency.P50), ms2(r.Latency.P99), "", fmt.Sprintf("503 + Retry-After, p99 < %.0f ms", targetP99), verdict(true, ok)))
		cost(r)
	}
	if r := in.reports["drain"]; r != nil && r.Drain != nil {
		d := r.Drain
		rows = append(rows, mk("draining (tuyensinh worker → PostgreSQL)",
			fmt.Sprintf("%s rows/s (%s rows in %.2fs)", thousands(d.RowsPerSec), thousands(float64(d.Backlog)), d.Seconds), "", "", "",
			fmt.Sprintf("≥ %s rows/s", thousands(targetDrain)), verdict(d.Drained, d.RowsPerSec >= targetDrain)))
	}
	if r := get("memory"); r != nil || in.mem != nil {
		var rss int64
		n, secs := 0, 0.0
		if in.mem != nil {
			rss, n, secs = in.mem.VmHWM, in.mem.N, in.mem.Seconds
		}
		fig := ""
		if r != nil {
			rss = max(rss, r.RSSMax)
			fig = fmt.Sprintf("%s stored in %.0fs (%s/s); ", thousands(float64(r.Accepted)), secs, thousands(r.Throughput))
			if n == 0 {
				n = r.Requests
			}
		}
		if in.mem != nil {
			fig += fmt.Sprintf("Redis %.0f MB, PG %.0f MB; ", float64(in.mem.RedisBytes)/(1<<20), float64(in.mem.PGBytes)/(1<<20))
		}
		rows = append(rows, mk(fmt.Sprintf("memory (%s registrations, one server)", thousands(float64(n))),
			fmt.Sprintf("server RSS max %.0f MB; ", float64(rss)/(1<<20))+strings.TrimSuffix(fig, "; "), valueOr(r, func(r *report) string { return ms2(r.Latency.P50) }),
			valueOr(r, func(r *report) string { return ms2(r.Latency.P99) }), "", "RSS < 500 MB", verdict(rss > 0, rss < targetRSS)))
		cost(r)
	}
	// Verification over every run that verified.
	var checked, lost, dups, unexpected, runs int
	var failed []string
	labels := make([]string, 0, len(in.reports))
	for l := range in.reports {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, l := range labels {
		r := in.reports[l]
		if v := r.Verify; v != nil && v.Skipped == "" {
			runs++
			checked += v.Checked
			lost += v.Lost
			dups += v.Duplicates
			unexpected += v.Unexpected
		}
		if !r.OK {
			failed = append(failed, l)
		}
	}
	rows = append(rows, mk(fmt.Sprintf("verified in PostgreSQL (%d runs)", runs),
		fmt.Sprintf("%s codes: lost %d, duplicates %d, unexpected %d", thousands(float64(checked)), lost, dups, unexpected), "", "", "",
		"lost = 0, duplicates = 0", verdict(runs > 0, lost == 0 && dups == 0 && unexpected == 0)))
	if len(failed) > 0 {
		rows = append(rows, row{name: "runs with errors or failed checks", figure: strings.Join(failed, ", "), verdict: "FAIL"})
	}
	return rows
}

func valueOr[T any, V any](p *T, f func(*T) V) V {
	var zero V
	if p == nil {
		return zero
	}
	return f(p)
}

// renderTable prints the header, the table and the placement benchmarks.
func renderTable(w io.Writer, in *benchInput) {
	m := in.meta
	mode := "full"
	if m.Quick {
		mode = "quick (BENCH_QUICK=1)"
	}
	fmt.Fprintf(w, "\ntuyensinh make bench — %s run, %s per load phase, %d CPUs, %s, took %ds; load average %s at start, %s at end\n",
		mode, m.Duration, m.NProc, m.Go, m.Seconds, m.LoadavgStart, m.LoadavgEnd)
	fmt.Fprintf(w, `Method: the load generator (vegeta, open loop) and the servers share this machine's cores. Unless
a rate is named, a run asks an unlimited rate through at most %d connections (= %d requests in
flight): throughput is then the most the server sustains at %d connections, and latency includes
the queueing at that concurrency (closed loop at saturation, like wrk -c%d). Throughput counts
answers below 500 per second; "× ceiling" divides by the healthz ceiling of this same run; "srv
µs/req" is the server process's CPU per answer (from its process_cpu_seconds_total), which other
load on the machine disturbs far less than throughput; "cores s/g/r" are the cores used by the
server / the load generator / the rest (Redis, PostgreSQL, kernel, and other people's jobs);
"redis µs/req" is the CPU of the run's own Redis server (INFO cpu, user+sys) per answer. wrk rows
divide by the wrk healthz ceiling. "one machine" is the fastest of falling open-loop rates it
sustained with the backlog under one second of arrivals, divided by the API-alone intake.
One run per phase: treat differences under ~20%% as noise.

`, m.Connections, m.Connections, m.Connections, m.Connections)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\tfigure\tp50 ms\tp99 ms\t× ceiling\tsrv µs/req\tredis µs/req\tcores s/g/r\ttarget\tresult")
	fmt.Fprintln(tw, "-----------\t------\t------\t------\t---------\t----------\t------------\t-----------\t------\t------")
	for _, r := range buildRows(in) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.name, r.figure, r.p50, r.p99, r.ratio, r.usReq, r.redisUS, r.cores, r.target, r.verdict)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nplacement benchmarks (go test -bench . -benchmem ./allocation/):")
	for _, l := range in.allocation {
		fmt.Fprintln(w, "  "+l)
	}
	if in.allocError != "" {
		fmt.Fprintln(w, "  "+in.allocError)
	}
	if in.allocation == nil && in.allocError == "" {
		fmt.Fprintln(w, "  not run")
	}
	for _, l := range sortedKeys(in.reports) {
		if r := in.reports[l]; len(r.Problems) > 0 {
			fmt.Fprintf(w, "problems in %s: %s\n", l, strings.Join(r.Problems, "; "))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
