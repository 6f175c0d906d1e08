package main

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// TestRedisStalled stops the real binary's Redis (SIGSTOP) while it serves:
// registrations and readiness answer 503 in bounded time, the registration
// caught in the stall is told its fate is unknown, and once Redis is back
// sending the same form again answers 200 with the code that was stored.
func TestRedisStalled(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	own := testenv.StartRedis(t)
	addr, srv := own.Addr, own.Cmd
	e.serve(t, nil, "REDIS_URL=redis://"+addr+"/0", "REDIS_TIMEOUT=1s")
	year := 2027
	client := &http.Client{Timeout: 10 * time.Second}
	if r := e.do(t, client, "POST", "/api/v1/applications", "application/json", mustJSON(registration(1, year))); r.status != http.StatusAccepted {
		t.Fatalf("a registration before the stall = %d %v", r.status, r.body)
	}

	if err := srv.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The bound catches a request held by the stall; it does not time a
	// fast one.
	bounded := &http.Client{Timeout: 4 * time.Second}
	form := registration(2, year)
	r := e.do(t, bounded, "POST", "/api/v1/applications", "application/json", mustJSON(form))
	eb, _ := r.body["error"].(map[string]any)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !strings.Contains(fmt.Sprint(eb["message"]), "có thể chưa được lưu") {
		t.Fatalf("a registration while Redis is stalled = %d %v, want 503 saying it may not be saved", r.status, r.body)
	}
	if r := e.do(t, bounded, "GET", "/readyz", "", nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz while Redis is stalled = %d %v, want 503", r.status, r.body)
	}

	if err := srv.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// The stalled registration was on its way: once Redis wakes up it is
	// queued and stored.
	id := form["child"].(map[string]any)["id_number"]
	var code string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err := e.db.Get(&code, `SELECT tracking_code FROM applications WHERE child_id_number = $1`, id); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the registration caught in the stall was never stored")
		}
	}
	r = e.do(t, client, "POST", "/api/v1/applications", "application/json", mustJSON(form))
	if r.status != http.StatusOK || r.body["tracking_code"] != code {
		t.Errorf("the same form after the stall = %d %v, want 200 with the stored code %s", r.status, r.body, code)
	}
}
