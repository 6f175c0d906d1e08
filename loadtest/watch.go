package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// intakeState is GET /api/v1/intake: the intake stream's backlog.
type intakeState struct {
	Length      int64 `json:"length"`
	Lag         int64 `json:"lag"`
	Pending     int64 `json:"pending"`
	DeadLetters int64 `json:"dead_letters"`
}

// watcher reads the service's queue state and memory while a run goes on,
// on its own connections (not the attack's).
type watcher struct {
	client  *http.Client
	base    string
	metrics string // base URL of the metrics listener

	lastState atomic.Pointer[intakeState]
	rssMax    atomic.Int64

	mu         sync.Mutex
	samples    int
	maxLength  int64
	maxLag     int64
	maxPending int64
	pollErrors int
}

func newWatcher(client *http.Client, base, metrics string) *watcher {
	return &watcher{client: client, base: base, metrics: metrics}
}

// readState reads the queue's state once and records it.
func (w *watcher) readState(ctx context.Context) (intakeState, error) {
	var st intakeState
	if err := getJSON(ctx, w.client, w.base+"/api/v1/intake", &st); err != nil {
		w.mu.Lock()
		w.pollErrors++
		w.mu.Unlock()
		return st, err
	}
	w.lastState.Store(&st)
	w.mu.Lock()
	w.samples++
	w.maxLength = max(w.maxLength, st.Length)
	w.maxLag = max(w.maxLag, st.Lag)
	w.maxPending = max(w.maxPending, st.Pending)
	w.mu.Unlock()
	return st, nil
}

// pollQueue reads the queue's state every interval until ctx ends.
func (w *watcher) pollQueue(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		_, _ = w.readState(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// waitDrained polls until the stream is empty and nothing is pending, or
// timeout passes. It returns whether it drained and the seconds since
// since.
func (w *watcher) waitDrained(ctx context.Context, timeout, every time.Duration, since time.Time) (bool, float64) {
	deadline := time.Now().Add(timeout)
	for {
		st, err := w.readState(ctx)
		if err == nil && st.Length == 0 && st.Pending == 0 {
			return true, time.Since(since).Seconds()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false, time.Since(since).Seconds()
		}
		time.Sleep(every)
	}
}

// queueReport returns what the polls saw.
func (w *watcher) queueReport() *queueReport {
	w.mu.Lock()
	defer w.mu.Unlock()
	return &queueReport{Samples: w.samples, MaxLength: w.maxLength, MaxLag: w.maxLag, MaxPending: w.maxPending, PollErrors: w.pollErrors}
}

// pollRSS reads the server's resident memory from /metrics every interval
// and keeps the largest value.
func (w *watcher) pollRSS(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if v, err := w.readRSS(ctx); err == nil && v > w.rssMax.Load() {
			w.rssMax.Store(v)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *watcher) readRSS(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.metrics+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return metricValue(resp.Body, "process_resident_memory_bytes")
}

// metricValue finds an unlabelled metric's value in Prometheus text format,
// as a whole number.
func metricValue(r io.Reader, name string) (int64, error) {
	f, err := metricFloat(r, name)
	return int64(f), err
}

// metricFloat finds an unlabelled metric's value in Prometheus text format.
func metricFloat(r io.Reader, name string) (float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	prefix := []byte(name + " ")
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, prefix) {
			f, err := strconv.ParseFloat(string(bytes.TrimSpace(line[len(prefix):])), 64)
			if err != nil {
				return 0, fmt.Errorf("metric %s: %w", name, err)
			}
			return f, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("metric %s not found", name)
}

// cpuSample is a reading of the CPU time used so far by the server, by this
// process and by the whole machine.
type cpuSample struct {
	at      time.Time
	server  float64 // seconds; <0 if unknown
	self    float64 // seconds
	machine float64 // busy seconds over all CPUs; <0 if unknown
}

// sampleCPU reads the CPU clocks.
func (w *watcher) sampleCPU(ctx context.Context) cpuSample {
	s := cpuSample{at: time.Now(), server: -1, machine: -1}
	if req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.metrics+"/metrics", nil); err == nil {
		if resp, err := w.client.Do(req); err == nil {
			if resp.StatusCode == http.StatusOK {
				if v, err := metricFloat(resp.Body, "process_cpu_seconds_total"); err == nil {
					s.server = v
				}
			}
			resp.Body.Close()
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		if busy, err := procStatBusy(b); err == nil {
			s.machine = busy
		}
	}
	return s
}

// since returns the CPU used between s0 and s, for n answered requests.
func (s cpuSample) since(s0 cpuSample, n int) *cpuReport {
	secs := s.at.Sub(s0.at).Seconds()
	if secs <= 0 {
		return nil
	}
	r := &cpuReport{LoadgenCores: round3((s.self - s0.self) / secs)}
	if s.server >= 0 && s0.server >= 0 {
		r.ServerCores = round3((s.server - s0.server) / secs)
		if n > 0 {
			r.ServerUSReq = round1((s.server - s0.server) / float64(n) * 1e6)
		}
	}
	if s.machine >= 0 && s0.machine >= 0 {
		r.MachineCores = round3((s.machine - s0.machine) / secs)
		r.OtherCores = round3(max(r.MachineCores-r.ServerCores-r.LoadgenCores, 0))
	}
	return r
}

// clockTicks is USER_HZ, the unit of /proc/stat: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// procStatBusy returns the busy CPU seconds (all but idle and iowait,
// summed over CPUs) from the first line of /proc/stat.
func procStatBusy(stat []byte) (float64, error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var total, idle float64
	for i, x := range f[1:] {
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		v, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return (total - idle) / clockTicks, nil
}
