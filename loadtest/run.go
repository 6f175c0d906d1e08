package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// runLoad runs one scenario and returns its report.
func runLoad(ctx context.Context, o options, stderr io.Writer) (*report, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}}
	r := &report{Label: o.Label, Scenario: o.Scenario, Target: o.Target, Connections: o.Connections,
		Started: time.Now().UTC().Format(time.RFC3339), ByStatus: map[string]int{}, ErrorKinds: map[string]int{}}
	w := newWatcher(client, o.Target, o.Metrics)

	if o.Scenario == "drain" {
		return runDrainScenario(ctx, o, w, r, stderr)
	}

	seed := o.Seed
	if seed == 0 {
		r := rng{s: uint64(time.Now().UnixNano())}
		seed = r.next()
	}
	var gen *generator
	if o.Scenario == "intake" || o.Scenario == "mixed" {
		c, err := fetchCity(ctx, client, o.Target)
		if err != nil {
			return nil, err
		}
		if gen, err = newGenerator(c, seed, o.DupShare, o.BadShare); err != nil {
			return nil, err
		}
		r.Seed = seed
		r.ByKind = map[string]int{}
	}
	var statusCodes []string
	if o.Scenario == "status" {
		var err error
		if statusCodes, err = readCodes(o.Codes); err != nil {
			return nil, err
		}
		if len(statusCodes) == 0 {
			return nil, fmt.Errorf("%s: no tracking codes", o.Codes)
		}
	}

	// The pacer.
	var pc vegeta.Pacer
	var prof profile
	switch {
	case o.Profile == "ramp":
		prof = rampProfile(o.Rate, o.Ramp.Seconds())
	case o.Profile == "midnight":
		prof = midnightProfile(o.Rate, o.Ramp.Seconds(), o.Decay.Seconds(), o.Floor)
	case o.Rate > 0:
		prof = constantProfile(o.Rate)
	}
	if prof.hits != nil {
		pc = pacer{p: prof, max: o.MaxRequests}
		r.Profile = prof.name
	} else {
		pc = unlimitedPacer{max: o.MaxRequests}
		r.Profile = "as fast as the connections allow"
	}
	if o.MaxRequests > 0 {
		r.Profile += fmt.Sprintf(", at most %d requests", o.MaxRequests)
	}

	// The targeter: each call builds the next request. It runs on many
	// goroutines at once.
	postURL := o.Target + "/api/v1/applications"
	jsonHeader := http.Header{"Content-Type": []string{"application/json"}}
	var next atomic.Uint64
	var kinds [numKinds]atomic.Int64
	var codesMu sync.Mutex
	var codes []string // tracking codes of the 202s
	post := func(t *vegeta.Target, i uint64) {
		body, k := gen.request(i)
		kinds[k].Add(1)
		t.Method, t.URL, t.Body, t.Header = http.MethodPost, postURL, body, jsonHeader
	}
	targeter := func(t *vegeta.Target) error {
		i := next.Add(1) - 1
		if i >= maxIndex {
			return errors.New("request limit reached")
		}
		switch o.Scenario {
		case "healthz":
			t.Method, t.URL = http.MethodGet, o.Target+"/healthz"
		case "status":
			t.Method, t.URL = http.MethodGet, o.Target+"/api/v1/applications/"+statusCodes[i%uint64(len(statusCodes))]
		case "intake":
			post(t, i)
		case "mixed":
			rr := gen.stream(i, 99)
			if rr.float() >= o.PostShare {
				codesMu.Lock()
				n := len(codes)
				var code string
				if n > 0 {
					code = codes[rr.intn(n)]
				}
				codesMu.Unlock()
				if code != "" {
					t.Method, t.URL, t.Body, t.Header = http.MethodGet, o.Target+"/api/v1/applications/"+code, nil, nil
					return nil
				}
			}
			post(t, i)
		}
		return nil
	}

	atk := vegeta.NewAttacker(
		vegeta.Workers(uint64(o.Connections)),
		vegeta.MaxWorkers(uint64(o.Connections)),
		vegeta.Connections(o.Connections),
		vegeta.MaxConnections(o.Connections),
		vegeta.Timeout(o.Timeout),
		vegeta.KeepAlive(true),
		vegeta.Redirects(vegeta.NoFollow),                                       // never leave the target
		vegeta.Proxy(func(*http.Request) (*url.URL, error) { return nil, nil }), // never through a proxy
		vegeta.MaxBody(64<<10),
	)

	watchQueue := o.Scenario == "intake" || o.Scenario == "mixed"
	wctx, stopWatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if watchQueue {
		wg.Go(func() { w.pollQueue(wctx, o.Poll) })
	}
	wg.Go(func() { w.pollRSS(wctx, time.Second) })

	lat := make([]time.Duration, 0, 1<<16)
	var window []time.Duration
	isIntake := func(res *vegeta.Result) bool {
		return o.Scenario == "intake" || (o.Scenario == "mixed" && res.Method == http.MethodPost)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	cpu0 := w.sampleCPU(ctx)
	start := time.Now()
	results := atk.Attack(targeter, pc, o.Duration, o.Label)
	var last struct{ n, ok, rej, errs, ans int }
	stopped := false
collect:
	for {
		select {
		case res, ok := <-results:
			if !ok {
				break collect
			}
			lat = append(lat, res.Latency)
			window = append(window, res.Latency)
			r.Requests++
			if res.Code == 0 {
				r.ByStatus["error"]++
				r.Errored++
				countError(r.ErrorKinds, res.Error)
				continue
			}
			st := strconv.Itoa(int(res.Code))
			r.ByStatus[st]++
			switch code := int(res.Code); {
			case isIntake(res):
				switch code {
				case http.StatusAccepted:
					r.Accepted++
					if c, ok := trackingCode(res.Body); ok {
						codesMu.Lock()
						codes = append(codes, c)
						codesMu.Unlock()
					} else {
						r.Errored++
						countError(r.ErrorKinds, "202 without a tracking code")
					}
				case http.StatusOK, http.StatusConflict, http.StatusUnprocessableEntity:
					r.Rejected++
				case http.StatusServiceUnavailable:
					r.Rejected++
					if res.Headers.Get("Retry-After") != "" {
						r.RetryAfter++
					}
					if !o.AllowBusy {
						r.Errored++
						countError(r.ErrorKinds, "503 busy (use -allow-busy for backpressure runs)")
					}
				default:
					r.Errored++
					countError(r.ErrorKinds, fmt.Sprintf("POST answered %d: %.120s", code, res.Body))
				}
			default: // GETs: healthz, status
				if code == http.StatusOK {
					r.Accepted++
				} else {
					r.Errored++
					countError(r.ErrorKinds, fmt.Sprintf("GET answered %d: %.120s", code, res.Body))
				}
			}
		case <-tick.C:
			answered := r.Requests - r.ByStatus["error"]
			r.PeakRate = max(r.PeakRate, answered-last.ans)
			if !o.Quiet {
				el := time.Since(start)
				ok, rej, errs := r.Accepted, r.Rejected, r.Errored
				p99 := summarize(window).P99
				line := fmt.Sprintf("[%5.1fs] %s: %d done (+%d/s) accepted %d (+%d) rejected %d (+%d) errored %d (+%d) p99(1s) %.1fms",
					el.Seconds(), o.Label, r.Requests, r.Requests-last.n, ok, ok-last.ok, rej, rej-last.rej, errs, errs-last.errs, p99)
				if st := w.lastState.Load(); watchQueue && st != nil {
					line += fmt.Sprintf(" | queue length %d lag %d pending %d", st.Length, st.Lag, st.Pending)
				}
				if prof.rate != nil {
					line += fmt.Sprintf(" | asked %.0f/s", prof.rate(el.Seconds()))
				}
				fmt.Fprintln(stderr, line)
			}
			last.n, last.ok, last.rej, last.errs, last.ans = r.Requests, r.Accepted, r.Rejected, r.Errored, answered
			window = window[:0]
		case <-ctx.Done():
			if !stopped {
				atk.Stop()
				stopped = true
			}
		}
	}
	end := time.Now()
	r.CPU = w.sampleCPU(ctx).since(cpu0, r.Requests-r.ByStatus["error"])
	r.Seconds = round3(end.Sub(start).Seconds())
	sent := next.Load()
	r.SendRate = round1(rate(r.Requests, r.Seconds))
	below500 := 0
	for st, n := range r.ByStatus {
		if c, err := strconv.Atoi(st); err == nil && c < 500 {
			below500 += n
		}
	}
	r.Throughput = round1(rate(below500, r.Seconds))
	r.AnswerRate = round1(rate(r.Requests-r.ByStatus["error"], r.Seconds))
	if dur := min(r.Seconds, o.Duration.Seconds()); prof.hits != nil && dur > 0 {
		// The mean rate the profile asked for over the time taken (the
		// attack may stop early at -max-requests).
		asked := prof.hits(dur)
		if o.MaxRequests > 0 {
			asked = min(asked, float64(o.MaxRequests))
		}
		r.AskedRate = round1(asked / dur)
	}
	if gen != nil {
		for k := range numKinds {
			if n := kinds[k].Load(); n > 0 {
				r.ByKind[kind(k).String()] = int(n)
			}
		}
	}
	r.Latency = summarize(lat)

	if watchQueue {
		var endLength int64
		if st := w.lastState.Load(); st != nil {
			endLength = st.Length
		}
		var drained bool
		var secs float64
		if o.WaitDrain && ctx.Err() == nil {
			drained, secs = w.waitDrained(ctx, o.DrainWait, min(o.Poll, 100*time.Millisecond), end)
		}
		q := w.queueReport()
		q.EndLength, q.Drained, q.DrainSecs = endLength, drained, round3(secs)
		if st := w.lastState.Load(); st != nil {
			q.DeadLetters = st.DeadLetters
		}
		r.Queue = q
	}
	stopWatch()
	wg.Wait()
	r.RSSMax = w.rssMax.Load()

	if o.CodesOut != "" && gen != nil {
		if err := writeCodes(o.CodesOut, codes); err != nil {
			return nil, err
		}
	}
	if gen != nil && o.Verify {
		switch {
		case o.DatabaseURL == "":
			r.Verify = &verifyReport{Checked: len(codes), Skipped: "no -database-url"}
		case o.WaitDrain && r.Queue != nil && !r.Queue.Drained:
			r.Verify = &verifyReport{Checked: len(codes), Skipped: "the stream did not drain"}
			r.Problems = append(r.Problems, "the intake stream did not drain: registrations are not all stored")
		case !o.WaitDrain:
			r.Verify = &verifyReport{Checked: len(codes), Skipped: "-wait-drain=false: verify after draining with -scenario drain -codes"}
		default:
			children := gen.childIDs(sent)
			v, err := verifyStored(ctx, o.DatabaseURL, codes, children, start, r.ByStatus["error"])
			if err != nil {
				return nil, fmt.Errorf("verify: %w", err)
			}
			r.Verify = v
		}
	}
	r.judge()
	return r, nil
}

// judge sets OK and the problems of a finished run.
func (r *report) judge() {
	if r.Errored > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d requests errored (no answer or an unexpected status)", r.Errored))
	}
	if v := r.Verify; v != nil && v.Skipped == "" && !v.OK {
		r.Problems = append(r.Problems, fmt.Sprintf("verification failed: lost %d, duplicates %d, unexpected %d", v.Lost, v.Duplicates, v.Unexpected))
	}
	if r.Queue != nil && r.Queue.DeadLetters > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("%d entries in the dead-letter stream", r.Queue.DeadLetters))
	}
	if d := r.Drain; d != nil && !d.Drained {
		r.Problems = append(r.Problems, "the backlog did not drain in time")
	}
	r.OK = len(r.Problems) == 0
}

// runDrainScenario watches a backlog drain: it records the stream's length,
// waits for it to start shrinking (start the workers now) and then for it to
// empty, and reports entries per second. With -codes it then verifies those
// codes are stored exactly once.
func runDrainScenario(ctx context.Context, o options, w *watcher, r *report, stderr io.Writer) (*report, error) {
	r.Profile = "none (watching)"
	poll := min(o.Poll, 50*time.Millisecond)
	st, err := w.readState(ctx)
	if err != nil {
		return nil, err
	}
	d := &drainReport{Backlog: st.Length}
	r.Drain = d
	lastFull := time.Now()
	deadline := lastFull.Add(o.DrainWait)
	tick := time.NewTicker(poll)
	defer tick.Stop()
	lastPrint := time.Now()
watch:
	for st.Length > 0 || st.Pending > 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		now := time.Now()
		if now.After(deadline) {
			break watch
		}
		s, err := w.readState(ctx)
		if err != nil {
			continue
		}
		st = s
		if st.Length >= d.Backlog {
			lastFull = now // not started yet
		}
		if !o.Quiet && now.Sub(lastPrint) >= time.Second {
			fmt.Fprintf(stderr, "[drain] length %d lag %d pending %d\n", st.Length, st.Lag, st.Pending)
			lastPrint = now
		}
		if st.Length == 0 && st.Pending == 0 {
			d.Drained = true
			d.Seconds = round3(now.Sub(lastFull).Seconds())
		}
	}
	if d.Backlog == 0 {
		d.Drained = true
	}
	if !d.Drained {
		d.Seconds = round3(time.Since(lastFull).Seconds())
	}
	d.RowsPerSec = round1(rate(int(d.Backlog), d.Seconds))
	r.Queue = &queueReport{MaxLength: d.Backlog, EndLength: st.Length, Drained: d.Drained, DrainSecs: d.Seconds, DeadLetters: st.DeadLetters}
	if o.Codes != "" && o.Verify {
		codes, err := readCodes(o.Codes)
		if err != nil {
			return nil, err
		}
		if o.DatabaseURL == "" {
			r.Verify = &verifyReport{Checked: len(codes), Skipped: "no -database-url"}
		} else {
			v, err := verifyStored(ctx, o.DatabaseURL, codes, nil, time.Time{}, 0)
			if err != nil {
				return nil, fmt.Errorf("verify: %w", err)
			}
			r.Verify = v
		}
	}
	r.judge()
	return r, nil
}

// trackingCode finds the tracking code in a 202 answer without decoding
// all of it: the collector handles every answer on one goroutine.
func trackingCode(body []byte) (string, bool) {
	const key = `"tracking_code":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return "", false
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j <= 0 || j > 64 {
		return "", false
	}
	return string(rest[:j]), true
}

// countError counts an error message, keeping at most a few distinct ones.
func countError(m map[string]int, msg string) {
	msg = strings.TrimSpace(msg)
	if len(msg) > 160 {
		msg = msg[:160]
	}
	if _, ok := m[msg]; !ok && len(m) >= 12 {
		msg = "(other)"
	}
	m[msg]++
}

func readCodes(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

func writeCodes(path string, codes []string) error {
	var b bytes.Buffer
	for _, c := range codes {
		b.WriteString(c)
		b.WriteByte('\n')
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// childIDs returns the ID numbers of the children of the fresh requests
// among the first n: every registration of the run is for one of them.
func (g *generator) childIDs(n uint64) []string {
	out := make([]string, 0, n)
	for i := range n {
		if g.kindOf(i) == kindFresh {
			out = append(out, g.form(i).Child.IDNumber)
		}
	}
	return out
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
