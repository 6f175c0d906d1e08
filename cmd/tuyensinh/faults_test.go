//go:build faults

// The fault suite (make faults): scripted faults against the real
// binaries, real PostgreSQL and a Redis server of each scenario's own
// (so that it can be killed, stalled and restarted), each bounded in time.
// Each scenario reports one line of the table printed at the end and kept
// in loadtest/out/faults.md; a lost or duplicated registration, a wrong
// dead letter, a form never answered or a 409 for a parent's own form
// fails it.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

func TestFaults(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("the fault suite starts its own Redis servers: redis-server is not installed (apt-get install redis-server)")
	}
	var rows []faultRow
	scenario := func(name string, f func(t *testing.T) faultRow) {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			row := faultRow{Note: "did not finish"}
			defer func() {
				row.Scenario = name
				if row.Took == 0 {
					row.Took = time.Since(start)
				}
				if t.Failed() {
					row.Note = strings.TrimSuffix("FAILED; "+row.Note, "; ")
				}
				rows = append(rows, row)
				t.Log("\n" + faultHeader + "\n" + row.String())
			}()
			row = f(t)
			row.Took = time.Since(start)
		})
	}
	scenario("server kill -9 mid-burst", faultServerKill)
	scenario("worker kill -9 mid-batch", faultWorkerKill)
	scenario("Redis kill -9, AOF everysec", func(t *testing.T) faultRow { return faultRedisKill(t, "everysec") })
	scenario("Redis kill -9, AOF always", func(t *testing.T) faultRow { return faultRedisKill(t, "always") })
	scenario("Redis stalled 30s (SIGSTOP)", faultRedisStall)
	scenario("PostgreSQL down 60s, worker killed and replaced", faultPostgresOutage)
	scenario("poison entries among 2,000", faultPoison)
	scenario("SIGTERM mid-burst", func(t *testing.T) faultRow {
		return sigtermBurst(t, newRig(t, startRedis(t, "everysec").url()), "", 3000)
	})
	scenario("2 API replicas + 3 workers", faultScaleOut)

	table := faultHeader + "\n"
	for _, r := range rows {
		table += r.String() + "\n"
	}
	t.Log("fault table:\n" + table)
	fmt.Print("\n" + table)
	out := filepath.Join("..", "..", "loadtest", "out")
	if err := os.MkdirAll(out, 0o755); err == nil {
		os.WriteFile(filepath.Join(out, "faults.md"), []byte(table), 0o644)
	}
}

// kill9 kills the process without warning and waits for it to be gone.
func (p *proc) kill9() {
	p.cmd.Process.Kill()
	<-p.done
}

// faultHeader heads the fault table.
const faultHeader = "| scenario | sent | 202 | 200 (repeat) | no answer, retried | 503, retried | stored | duplicates | lost | dead-lettered | longest answer | took | note |\n" +
	"|---|---|---|---|---|---|---|---|---|---|---|---|---|"

// redisServer is a Redis server of one scenario's own, with AOF on, so the
// scenario can kill -9, stall and restart it.
type redisServer struct {
	t     *testing.T
	addr  string
	dir   string
	fsync string
	p     *proc
}

func startRedis(t *testing.T, fsync string) *redisServer {
	t.Helper()
	s := &redisServer{t: t, addr: freePort(t), dir: t.TempDir(), fsync: fsync}
	s.start()
	return s
}

func (s *redisServer) url() string { return "redis://" + s.addr + "/0" }

// start (re)starts the server on its address and directory, so a restart
// reloads the append-only file, and waits until it answers.
func (s *redisServer) start() {
	s.t.Helper()
	host, port, _ := net.SplitHostPort(s.addr)
	s.p = startProc(s.t, "redis-server", "redis-server", []string{"--bind", host, "--port", port, "--dir", s.dir,
		"--appendonly", "yes", "--appendfsync", s.fsync, "--save", "", "--maxmemory-policy", "noeviction"}, os.Environ())
	c := redis.NewClient(&redis.Options{Addr: s.addr})
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if !s.p.running() || time.Now().After(deadline) {
			s.t.Fatalf("redis-server did not start: %v\n%s", err, s.p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func faultServerKill(t *testing.T) faultRow {
	r := newRig(t, startRedis(t, "everysec").url())
	addr := freePort(t)
	api := r.serve("api", addr, nil)
	b := newBurst(r.year, "http://"+addr)
	done := b.background(t, 0, 4000, 16, 5*time.Millisecond)
	untilAccepted(t, b, 1000, time.Minute)
	api.kill9()
	time.Sleep(time.Second)
	// Restarted under the same consumer name: it re-reads what the killed
	// process had read and not acknowledged.
	r.serve("api", addr, nil)
	<-done
	if err := r.drain(time.Minute); err != nil {
		t.Error(err)
	}
	row := r.tally("", b, 0)
	row.check(t, b, 0)
	return row
}

// pendingOf is how many entries consumers whose names start with prefix
// have read and not acknowledged.
func (r *rig) pendingOf(prefix string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p, err := r.rdb.XPending(ctx, r.stream(), "store").Result()
	if err != nil {
		return 0
	}
	var n int64
	for c, k := range p.Consumers {
		if strings.HasPrefix(c, prefix) {
			n += k
		}
	}
	return n
}

func faultWorkerKill(t *testing.T) faultRow {
	r := newRig(t, startRedis(t, "everysec").url())
	addr := freePort(t)
	r.serve("api", addr, []string{"-workers=false"})
	a := r.start("A", []string{"worker"}, "INTAKE_BATCH=200")
	b := newBurst(r.year, "http://"+addr)
	done := b.background(t, 0, 4000, 16, 5*time.Millisecond)
	untilAccepted(t, b, 1000, time.Minute)
	// Kill A while it holds a batch it has read and not acknowledged.
	var held int64
	deadline := time.Now().Add(30 * time.Second)
	for held = r.pendingOf("A-"); held == 0; held = r.pendingOf("A-") {
		if time.Now().After(deadline) {
			t.Fatal("worker A never held a batch")
		}
	}
	a.kill9()
	held = r.pendingOf("A-") // what B must reclaim
	r.start("B", []string{"worker"}, "INTAKE_MIN_IDLE=2s")
	<-done
	if err := r.drain(time.Minute); err != nil {
		t.Error(err)
	}
	if n := r.pendingOf("A-"); n != 0 {
		t.Errorf("%d entries still pending with the killed worker A", n)
	}
	row := r.tally("", b, 0)
	row.Note = fmt.Sprintf("A killed holding %d entries; B (INTAKE_MIN_IDLE=2s) took them", held)
	row.check(t, b, 0)
	return row
}

// faultRedisKill kills Redis -9 mid-burst and restarts it from its
// append-only file; lost must be 0 with either fsync policy. A kill of the
// Redis process loses nothing even with appendfsync everysec: Redis
// write(2)s the AOF before it answers, and the operating system keeps what
// was written (unless a disk slower than a second per fsync makes Redis
// postpone that write). What everysec risks, up to about a second of 202s,
// is a crash of the host (power, kernel), which this test cannot cause;
// appendfsync always closes that gap too.
func faultRedisKill(t *testing.T, fsync string) faultRow {
	red := startRedis(t, fsync)
	r := newRig(t, red.url())
	addr := freePort(t)
	r.serve("api", addr, nil)
	b := newBurst(r.year, "http://"+addr)
	done := b.background(t, 0, 4000, 16, 5*time.Millisecond)
	untilAccepted(t, b, 1000, time.Minute)
	red.p.kill9()
	time.Sleep(2 * time.Second)
	red.start()
	<-done
	if err := r.drain(time.Minute); err != nil {
		t.Error(err)
	}
	row := r.tally("", b, 0)
	if fsync == "always" {
		row.Note = "process killed: nothing answered 202 may be lost"
		row.check(t, b, 0)
		return row
	}
	// With everysec Redis may postpone writing the append-only file for up
	// to two seconds while an fsync is still running (a busy disk), and
	// still answers: a crash then loses what it acknowledged meanwhile. The
	// README says so and recommends always for a window; this line only
	// measures what everysec lost.
	row.Note = "process killed; measured, not required: everysec may lose up to ~2s of 202s when the disk is busy"
	row.checkRest(t, b, 0)
	if row.Duplicates != 0 {
		t.Errorf("%d duplicate applications", row.Duplicates)
	}
	return row
}

// faultRedisStall stops Redis (SIGSTOP) for 30 s under a steady stream of
// registrations: every request answers within a bounded time (a 503 the
// parent retries after Retry-After), none hangs, /readyz says 503 in time,
// and nothing answered 202 is lost.
func faultRedisStall(t *testing.T) faultRow {
	red := startRedis(t, "everysec")
	r := newRig(t, red.url())
	addr := freePort(t)
	r.serve("api", addr, nil)
	b := newBurst(r.year, "http://"+addr)
	done := b.background(t, 0, 1_000_000, 8, 50*time.Millisecond)
	untilAccepted(t, b, 200, time.Minute)

	red.p.signal(syscall.SIGSTOP)
	stalled := time.Now()
	time.Sleep(3 * time.Second)
	c := &http.Client{Timeout: 15 * time.Second}
	readyStart := time.Now()
	resp, err := c.Get("http://" + addr + "/readyz")
	readyTook := time.Since(readyStart)
	readyNote := fmt.Sprintf("/readyz answered in %s during the stall", readyTook.Round(10*time.Millisecond))
	switch {
	case err != nil:
		readyNote = fmt.Sprintf("/readyz: no answer in %s during the stall", readyTook.Round(time.Second))
		t.Errorf("/readyz while Redis is stalled: no answer after %s: %v", readyTook, err)
	case resp.StatusCode != http.StatusServiceUnavailable || readyTook > 5*time.Second:
		resp.Body.Close()
		t.Errorf("/readyz while Redis is stalled = %d after %s, want 503 within 5s", resp.StatusCode, readyTook)
	default:
		resp.Body.Close()
	}
	time.Sleep(30*time.Second - time.Since(stalled))
	red.p.signal(syscall.SIGCONT)
	time.Sleep(5 * time.Second)
	b.stopNew.Store(true)
	<-done
	if err := r.drain(time.Minute); err != nil {
		t.Error(err)
	}
	row := r.tally("", b, 0)
	row.Note = readyNote
	row.check(t, b, 0)
	// REDIS_TIMEOUT is 2s by default: a request answers within it, plus
	// the time to check the form.
	if row.MaxWait > 5*time.Second {
		t.Errorf("a request waited %s for its answer while Redis was stalled, want under 5s", row.MaxWait)
	}
	if row.Cut > 0 {
		t.Errorf("%d requests got no answer within the client's 10s while Redis was stalled", row.Cut)
	}
	return row
}

// faultPostgresOutage cuts PostgreSQL for 60 s (through a proxy, not by
// stopping the shared server) while registrations keep coming, with two
// workers A and B; A is killed -9 during the outage and replaced by C,
// which reclaims A's entries after 5 s. An outage is not the entries'
// fault: none may be dead-lettered, none lost.
func faultPostgresOutage(t *testing.T) faultRow {
	r := newRig(t, startRedis(t, "everysec").url())
	u, err := url.Parse(r.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	viaProxy := "DATABASE_URL=" + u.String()
	addr := freePort(t)
	r.serve("api", addr, []string{"-workers=false"}, viaProxy)
	wenv := []string{viaProxy, "INTAKE_MIN_IDLE=5s", "INTAKE_MAX_DELIVERIES=3", "INTAKE_BATCH=200"}
	a := r.start("A", []string{"worker"}, wenv...)
	r.start("B", []string{"worker"}, wenv...)
	b := newBurst(r.year, "http://"+addr)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	done := make(chan struct{})
	go func() { b.run(ctx, 0, 1_000_000, 8, 100*time.Millisecond); close(done) }()
	untilAccepted(t, b, 300, time.Minute)

	proxy.Down()
	down := time.Now()
	time.Sleep(20 * time.Second)
	held := r.pendingOf("A-")
	a.kill9()
	r.start("C", []string{"worker"}, wenv...)
	time.Sleep(60*time.Second - time.Since(down))
	proxy.Up()
	time.Sleep(5 * time.Second)
	b.stopNew.Store(true)
	<-done
	if err := r.drain(2 * time.Minute); err != nil {
		t.Error(err)
	}
	row := r.tally("", b, 0)
	row.Note = fmt.Sprintf("A killed at 20s holding %d entries; C (INTAKE_MIN_IDLE=5s, INTAKE_MAX_DELIVERIES=3) took over", held)
	row.check(t, b, 0)
	return row
}

// faultPoison puts one bad entry of each kind into the stream, among 2,000
// good registrations: one that does not decode, one that violates a
// constraint (priority group 9), and one that fails with an error of no
// known class (a 9,000-character child ID number: the index entry is too
// big, SQLSTATE 54000). Exactly those three are dead-lettered; every good
// one is stored, none held back by them.
func faultPoison(t *testing.T) faultRow {
	r := newRig(t, startRedis(t, "everysec").url())
	addr := freePort(t)
	r.serve("api", addr, []string{"-workers=false"})
	b := newBurst(r.year, "http://"+addr)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	poison := func(i int, mod func(m map[string]any)) string {
		m := registration(900_000+i, r.year)
		m["id"], m["tracking_code"], m["submitted_at"] = uuid.NewString(), enrollment.NewTrackingCode(), time.Now().UTC().Format(time.RFC3339Nano)
		mod(m)
		return string(mustJSON(m))
	}
	payloads := []string{
		`{"id":"0190a1b2-0000-7000-8000-000000000001","tracking_code":`, // does not decode
		poison(1, func(m map[string]any) { m["priority_group"] = 9 }),
		poison(2, func(m map[string]any) { m["child"].(map[string]any)["id_number"] = incompressible(9000) }),
	}
	var bad []string
	b.run(ctx, 0, 500, 16, 0)
	for i, p := range payloads {
		id, err := r.rdb.XAdd(ctx, &redis.XAddArgs{Stream: r.stream(), Values: []any{"a", p}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		bad = append(bad, id)
		b.run(ctx, 500*(i+1), 500*(i+2), 16, 0)
	}
	w := r.start("W", []string{"worker"}, "INTAKE_MAX_DELIVERIES=3")
	if err := r.drain(time.Minute); err != nil {
		t.Errorf("%v\n%s", err, logTail(w.logs.String(), 2000))
	}
	row := r.tally("", b, 0)
	row.check(t, b, int64(len(bad)))
	dead, err := r.rdb.XRange(ctx, r.dead(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range dead {
		got = append(got, fmt.Sprint(m.Values["entry"]))
	}
	slices.Sort(got)
	if !slices.Equal(got, bad) {
		t.Errorf("dead-lettered entries %v, want exactly the poison ones %v", got, bad)
	}
	row.Note = "3 poison entries XADDed: undecodable, CHECK violation, SQLSTATE 54000"
	return row
}

// incompressible is n characters PostgreSQL cannot compress into an index
// entry (a run of one character it can).
func incompressible(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// faultScaleOut runs the scale-out the README describes on one machine:
// two API replicas and three worker processes take one burst together.
func faultScaleOut(t *testing.T) faultRow {
	r := newRig(t, startRedis(t, "everysec").url())
	a1, a2 := freePort(t), freePort(t)
	r.serve("api1", a1, []string{"-workers=false"})
	r.serve("api2", a2, []string{"-workers=false"})
	for _, w := range []string{"A", "B", "C"} {
		r.start(w, []string{"worker"})
	}
	b := newBurst(r.year, "http://"+a1, "http://"+a2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b.run(ctx, 0, 6000, 32, 0)
	if err := r.drain(time.Minute); err != nil {
		t.Error(err)
	}
	row := r.tally("", b, 0)
	row.check(t, b, 0)
	return row
}

// background runs b.run in the background for at most three minutes and
// returns a channel closed when it is done; the run is cancelled, and
// waited for, when the test ends.
func (b *burst) background(t *testing.T, from, to, conc int, pace time.Duration) <-chan struct{} {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	done := make(chan struct{})
	go func() { b.run(ctx, from, to, conc, pace); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return done
}
