package main

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// getStatus is the status code of a GET, or 0 when there is no answer.
func getStatus(url string) int {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// sigtermBurst sends n registrations to serve and SIGTERMs it after a
// quarter were answered: /readyz answers 503 during the drain delay while
// /healthz stays 200, the process exits 0 within SHUTDOWN_TIMEOUT, and a
// new process on the same address takes the parents who retry. Every 202
// is stored.
func sigtermBurst(t *testing.T, r *rig, name string, n int) faultRow {
	t.Helper()
	addr := freePort(t)
	env := []string{"SHUTDOWN_DRAIN_DELAY=1s", "SHUTDOWN_TIMEOUT=10s"}
	first := r.serve("api", addr, nil, env...)
	b := newBurst(r.year, "http://"+addr)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	done := make(chan struct{})
	// Paced so that the burst outlasts the drain delay.
	go func() { b.run(ctx, 0, n, 16, 40*time.Millisecond); close(done) }()
	untilAccepted(t, b, int64(n/4), time.Minute)

	first.signal(syscall.SIGTERM)
	termAt := time.Now()
	saw503 := false
	for time.Since(termAt) < 900*time.Millisecond {
		if getStatus("http://"+addr+"/readyz") == http.StatusServiceUnavailable {
			saw503 = true
			if h := getStatus("http://" + addr + "/healthz"); h != http.StatusOK {
				t.Errorf("/healthz during the drain delay = %d, want 200 (the process is alive)", h)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !saw503 {
		t.Errorf("/readyz did not answer 503 during the drain delay after SIGTERM")
	}
	err, ok := first.wait(15 * time.Second)
	if !ok {
		t.Fatalf("serve still running 15s after SIGTERM with SHUTDOWN_TIMEOUT=10s:\n%s", logTail(first.logs.String(), 3000))
	}
	if err != nil {
		t.Errorf("serve exited with %v on SIGTERM, want 0:\n%s", err, logTail(first.logs.String(), 3000))
	}
	// The same consumer name: the new process re-reads what the old one
	// left pending, if anything.
	second := r.serve("api", addr, nil, env...)
	<-done
	if err := r.drain(time.Minute); err != nil {
		t.Error(err)
	}
	row := r.tally(name, b, time.Since(start))
	row.check(t, b, 0)
	second.signal(syscall.SIGTERM)
	if err, ok := second.wait(15 * time.Second); !ok || err != nil {
		t.Errorf("second serve on SIGTERM: exited %v (in time: %v)", err, ok)
	}
	return row
}

// TestShutdownDuringBurst: SIGTERM in the middle of a burst loses nothing
// and exits 0.
func TestShutdownDuringBurst(t *testing.T) {
	t.Parallel()
	r := newRig(t, "")
	row := sigtermBurst(t, r, "sigterm-burst", 800)
	t.Log(row)
}

// TestShutdownSlowUpload: a client sending its form a byte a second does
// not keep the process from exiting 0 at SHUTDOWN_TIMEOUT; its connection
// is cut and counted in the log.
func TestShutdownSlowUpload(t *testing.T) {
	t.Parallel()
	r := newRig(t, "")
	addr := freePort(t)
	p := r.serve("api", addr, nil, "SHUTDOWN_DRAIN_DELAY=1s", "SHUTDOWN_TIMEOUT=3s", "LOG_LEVEL=info")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := mustJSON(registration(5, r.year))
	fmt.Fprintf(conn, "POST /api/v1/applications HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, len(body))
	go func() {
		for _, c := range body {
			if _, err := conn.Write([]byte{c}); err != nil {
				return
			}
			time.Sleep(time.Second)
		}
	}()
	time.Sleep(1500 * time.Millisecond) // the upload is under way
	p.signal(syscall.SIGTERM)
	err, ok := p.wait(5 * time.Second)
	if !ok {
		t.Fatalf("serve still running 5s after SIGTERM with SHUTDOWN_TIMEOUT=3s and a slow upload:\n%s", logTail(p.logs.String(), 3000))
	}
	if err != nil {
		t.Errorf("serve exited with %v, want 0:\n%s", err, logTail(p.logs.String(), 3000))
	}
	if logs := p.logs.String(); !strings.Contains(logs, "connections cut") || !strings.Contains(logs, `"connections":1`) {
		t.Errorf("the log does not say one connection was cut:\n%s", logTail(logs, 3000))
	}
}

// TestWorkerShutdown: SIGTERM while a worker drains a backlog; it exits 0
// having acknowledged the batch in hand, so nothing stays pending with it.
func TestWorkerShutdown(t *testing.T) {
	t.Parallel()
	r := newRig(t, "")
	addr := freePort(t)
	r.serve("api", addr, []string{"-workers=false"})
	b := newBurst(r.year, "http://"+addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n = 2000
	b.run(ctx, 0, n, 16, 0)

	w := r.start("w1", []string{"worker"}, "INTAKE_BATCH=20")
	deadline := time.Now().Add(time.Minute)
	for stored := 0; stored == 0; {
		if err := r.db.Get(&stored, `SELECT count(*) FROM applications`); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker stored nothing:\n%s", w.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.signal(syscall.SIGTERM)
	err, ok := w.wait(30 * time.Second)
	if !ok || err != nil {
		t.Fatalf("worker on SIGTERM: exited %v (in time: %v)\n%s", err, ok, logTail(w.logs.String(), 3000))
	}
	pending, err := r.rdb.XPending(ctx, r.stream(), "store").Result()
	if err != nil {
		t.Fatal(err)
	}
	if pending.Count != 0 {
		t.Errorf("%d entries left pending by the worker after SIGTERM, want 0 (its batch finished and acknowledged)", pending.Count)
	}
	left, err := r.rdb.XLen(ctx, r.stream()).Result()
	if err != nil {
		t.Fatal(err)
	}
	if left == 0 {
		t.Log("the worker drained the whole backlog before SIGTERM; the test proves less")
	}

	r.start("w2", []string{"worker"})
	if err := r.drain(time.Minute); err != nil {
		t.Fatal(err)
	}
	row := r.tally("worker-sigterm", b, 0)
	row.check(t, b, 0)
}

func TestShutdownConfig(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db", "REDIS_URL": "redis://127.0.0.1:6379/0"}
	load := func(kv ...string) (config, error) {
		env := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return loadConfig(func(k string) string { return env[k] })
	}
	c, err := load()
	if err != nil || c.ShutdownDrainDelay != 5*time.Second || c.ShutdownTimeout != 25*time.Second {
		t.Errorf("defaults: drain %s, timeout %s, err %v; want 5s, 25s", c.ShutdownDrainDelay, c.ShutdownTimeout, err)
	}
	if c, err := load("SHUTDOWN_DRAIN_DELAY", "0"); err != nil || c.ShutdownDrainDelay != 0 {
		t.Errorf("SHUTDOWN_DRAIN_DELAY=0: %s, %v; want 0 allowed", c.ShutdownDrainDelay, err)
	}
	for _, kv := range [][]string{
		{"SHUTDOWN_DRAIN_DELAY", "-1s"},
		{"SHUTDOWN_DRAIN_DELAY", "soon"},
		{"SHUTDOWN_TIMEOUT", "0"},
		{"SHUTDOWN_DRAIN_DELAY", "30s"}, // longer than the timeout
	} {
		if _, err := load(kv...); err == nil || !strings.Contains(err.Error(), kv[0]) {
			t.Errorf("%s=%s: error %v, want one naming %s", kv[0], kv[1], err, kv[0])
		}
	}
}
