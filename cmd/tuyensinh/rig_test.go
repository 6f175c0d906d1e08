package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// rig runs real tuyensinh processes against a fresh PostgreSQL database
// and a Redis key space, and starts, kills and signals them as a fault
// scenario or a shutdown test scripts it.
type rig struct {
	t      *testing.T
	bin    string
	dbURL  string
	db     *sqlx.DB
	rdb    *redis.Client
	prefix string
	env    []string
	year   int
}

// newRig seeds a fresh database with the demo city. redisURL names the
// Redis server the processes use; empty means the shared test server.
func newRig(t *testing.T, redisURL string) *rig {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, bin: bin, dbURL: testenv.NewDatabase(t), year: democity.SchoolYear(time.Now())}
	if redisURL == "" {
		r.rdb, r.prefix = testenv.Redis(t)
		redisURL = testenv.RedisURL()
	} else {
		opt, err := redis.ParseURL(redisURL)
		if err != nil {
			t.Fatal(err)
		}
		r.rdb, r.prefix = redis.NewClient(opt), testenv.RandomName("flt")
		t.Cleanup(func() { r.rdb.Close() })
	}
	r.env = append(os.Environ(), "DATABASE_URL="+r.dbURL, "REDIS_URL="+redisURL, "REDIS_PREFIX="+r.prefix,
		"LOG_LEVEL=warn", "INTAKE_RETRY_AFTER=1s",
		// Clients of a scenario all come from one address.
		"RATE_LIMIT_REGISTER=0", "RATE_LIMIT_STATUS=0")
	seed := exec.Command(bin, "seed", "--demo")
	seed.Env = r.env
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("seed --demo: %v\n%s", err, out)
	}
	if r.db, err = sqlx.Open("postgres", r.dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.db.Close() })
	return r
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a running process of the real binary (or of redis-server).
type proc struct {
	name string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
	err  error // the exit status, once done is closed
}

// startProc starts a program; it is killed when the test ends if still
// running.
func startProc(t *testing.T, name, bin string, args, env []string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if p.running() {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// start runs the tuyensinh binary with args; env adds to the rig's.
func (r *rig) start(name string, args []string, env ...string) *proc {
	r.t.Helper()
	return startProc(r.t, name, r.bin, args, append(slices.Clone(r.env), append([]string{"INTAKE_CONSUMER=" + name}, env...)...))
}

// serve starts serve on addr and waits until it answers /healthz.
func (r *rig) serve(name, addr string, flags []string, env ...string) *proc {
	r.t.Helper()
	p := r.start(name, append([]string{"serve"}, flags...), append([]string{"HTTP_ADDR=" + addr}, env...)...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if !p.running() {
			r.t.Fatalf("%s exited early: %v\n%s", name, p.err, p.logs)
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s never became healthy:\n%s", name, p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *proc) signal(s syscall.Signal) { p.cmd.Process.Signal(s) }

// wait waits up to d for the process to exit; ok is false if it did not.
func (p *proc) wait(d time.Duration) (err error, ok bool) {
	select {
	case <-p.done:
		return p.err, true
	case <-time.After(d):
		return nil, false
	}
}

// stream is the intake stream and dead is its dead-letter stream.
func (r *rig) stream() string { return r.prefix + ":intake" }
func (r *rig) dead() string   { return r.prefix + ":intake:dead" }

// drain waits until the intake stream is empty (every entry stored or
// dead-lettered: entries are deleted only then), up to timeout.
func (r *rig) drain(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		n, err := r.rdb.XLen(ctx, r.stream()).Result()
		cancel()
		if err == nil && n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("backlog not drained after %s: %d entries left (err %v)", timeout, n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// burst is a crowd of parents registering children: form i is the i-th
// distinct registration. A parent who gets no answer (connection cut,
// timeout) or a 503 submits the same form again, after Retry-After for a
// 503, until it gets 202 or 200; so every form ends with a tracking code
// unless the scenario's time runs out.
type burst struct {
	urls   []string // base URLs of the API replicas, taken in turn
	year   int
	client *http.Client

	mu         sync.Mutex
	codes      map[int]string // form → tracking code it was given
	violations []string

	sent, accepted, repeated, cut, busy, unanswered atomic.Int64
	maxWait                                         atomic.Int64 // longest time to an answer or a cut, ns
	// stopNew ends the burst: no new form is started, those under way
	// are answered.
	stopNew atomic.Bool
}

func newBurst(year int, urls ...string) *burst {
	return &burst{urls: urls, year: year, codes: map[int]string{},
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// run sends forms from..to-1 with conc parents at once, each pausing pace
// between forms, and returns when all are answered or ctx is done.
func (b *burst) run(ctx context.Context, from, to, conc int, pace time.Duration) {
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			for i := from + w; i < to; i += conc {
				if ctx.Err() != nil || b.stopNew.Load() {
					return
				}
				b.submit(ctx, i)
				if pace > 0 {
					sleepCtx(ctx, pace)
				}
			}
		})
	}
	wg.Wait()
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (b *burst) submit(ctx context.Context, i int) {
	body := mustJSON(registration(i, b.year))
	b.sent.Add(1)
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			b.unanswered.Add(1)
			return
		}
		url := b.urls[(i+attempt)%len(b.urls)] + "/api/v1/applications"
		start := time.Now()
		status, raw, retryAfter, err := b.post(ctx, url, body)
		if wait := time.Since(start); int64(wait) > b.maxWait.Load() && ctx.Err() == nil {
			b.maxWait.Store(int64(wait)) // racy max: good enough for a report
		}
		switch {
		case err != nil:
			b.cut.Add(1)
			sleepCtx(ctx, 200*time.Millisecond)
		case status == http.StatusAccepted || status == http.StatusOK:
			var v struct {
				Code string `json:"tracking_code"`
			}
			if json.Unmarshal(raw, &v) != nil || len(v.Code) != enrollment.TrackingCodeLen {
				b.violate("form %d: %d without a tracking code: %.200s", i, status, raw)
				return
			}
			b.record(i, v.Code, status == http.StatusOK)
			return
		case status == http.StatusServiceUnavailable:
			b.busy.Add(1)
			if retryAfter <= 0 {
				retryAfter = time.Second
			}
			sleepCtx(ctx, min(retryAfter, 5*time.Second))
		default:
			// A 409 never answers the same form: it was the parent's own.
			b.violate("form %d: answered %d: %.300s", i, status, raw)
			return
		}
	}
}

func (b *burst) post(ctx context.Context, url string, body []byte) (int, []byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, 0, err
	}
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, raw, time.Duration(secs) * time.Second, nil
}

func (b *burst) record(i int, code string, repeated bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if prev, ok := b.codes[i]; ok && prev != code {
		b.violations = append(b.violations, fmt.Sprintf("form %d was given %s, then %s", i, prev, code))
	}
	b.codes[i] = code
	if repeated {
		b.repeated.Add(1)
	} else {
		b.accepted.Add(1)
	}
}

func (b *burst) violate(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.violations = append(b.violations, fmt.Sprintf(format, args...))
}

func (b *burst) codeList() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, 0, len(b.codes))
	for _, c := range b.codes {
		out = append(out, c)
	}
	return out
}

// faultRow is one line of the fault table.
type faultRow struct {
	Scenario                                   string
	Sent, Accepted, Repeated, Cut, Busy        int64
	Stored, Duplicates, Lost, Dead, Unanswered int64
	MaxWait, Took                              time.Duration
	Note                                       string
}

// tally counts, once the backlog is drained, what became of the codes the
// burst was given: stored, stored twice (a second application of a child
// the duplicate guard missed), lost, dead-lettered.
func (r *rig) tally(name string, b *burst, took time.Duration) faultRow {
	r.t.Helper()
	codes := b.codeList()
	row := faultRow{Scenario: name, Sent: b.sent.Load(), Accepted: b.accepted.Load(), Repeated: b.repeated.Load(),
		Cut: b.cut.Load(), Busy: b.busy.Load(), Unanswered: b.unanswered.Load(),
		MaxWait: time.Duration(b.maxWait.Load()), Took: took}
	var inDup, twice int64
	err := r.db.QueryRow(`SELECT
  (SELECT count(*) FROM applications WHERE tracking_code = ANY($1)),
  (SELECT count(*) FROM duplicate_submissions WHERE tracking_code = ANY($1)),
  (SELECT count(*) FROM duplicate_submissions),
  (SELECT count(*) - count(DISTINCT tracking_code) FROM applications)`, pq.Array(codes)).
		Scan(&row.Stored, &inDup, &row.Duplicates, &twice)
	if err != nil {
		r.t.Fatalf("tally: %v", err)
	}
	row.Duplicates += twice
	row.Lost = int64(len(codes)) - row.Stored - inDup
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if row.Dead, err = r.rdb.XLen(ctx, r.dead()).Result(); err != nil {
		r.t.Fatalf("tally: dead letters: %v", err)
	}
	return row
}

// check fails the test on what a scenario must never show: a lost or
// duplicated registration, a dead letter beyond those expected, a form
// left without an answer, a 409 or a changed code for a parent's own form.
func (row faultRow) check(t *testing.T, b *burst, wantDead int64) {
	t.Helper()
	row.checkLoss(t)
	row.checkRest(t, b, wantDead)
}

func (row faultRow) checkLoss(t *testing.T) {
	t.Helper()
	if row.Lost != 0 {
		t.Errorf("%d registrations answered 202/200 are not in PostgreSQL", row.Lost)
	}
	if row.Duplicates != 0 {
		t.Errorf("%d duplicate applications", row.Duplicates)
	}
}

func (row faultRow) checkRest(t *testing.T, b *burst, wantDead int64) {
	t.Helper()
	if row.Dead != wantDead {
		t.Errorf("%d dead letters, want %d", row.Dead, wantDead)
	}
	if row.Unanswered != 0 {
		t.Errorf("%d forms never got 202 or 200 in the scenario's time", row.Unanswered)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, v := range b.violations {
		if i == 10 {
			t.Errorf("… and %d more", len(b.violations)-10)
			break
		}
		t.Error(v)
	}
}

func (row faultRow) String() string {
	return fmt.Sprintf("| %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %s | %s | %s |",
		row.Scenario, row.Sent, row.Accepted, row.Repeated, row.Cut, row.Busy, row.Stored, row.Duplicates, row.Lost,
		row.Dead, row.MaxWait.Round(10*time.Millisecond), row.Took.Round(time.Second), row.Note)
}

// untilAccepted waits until the burst has n codes, or fails the test.
func untilAccepted(t *testing.T, b *burst, n int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for b.accepted.Load()+b.repeated.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d registrations answered in %s, waited for %d", b.accepted.Load()+b.repeated.Load(), timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func logTail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
