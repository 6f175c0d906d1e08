package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
)

// TestRateLimits: past its budget a client address gets 429 with
// Retry-After and a message in both languages; behind a proxy each address
// in the trusted header has its own budget.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.serve(t, nil, "RATE_LIMIT_REGISTER=5")
	client := &http.Client{Timeout: 10 * time.Second}
	year := democity.SchoolYear(time.Now())
	for i := range 5 {
		if r := e.do(t, client, "POST", "/api/v1/applications", "application/json", mustJSON(registration(i, year))); r.status != http.StatusAccepted {
			t.Fatalf("registration %d = %d %v, want 202", i+1, r.status, r.body)
		}
	}
	r := e.do(t, client, "POST", "/api/v1/applications", "application/json", mustJSON(registration(5, year)))
	checkTooMany(t, r)
	// Status lookups have their own budget (off here).
	if r := e.do(t, client, "GET", "/api/v1/applications/"+enrollment.NewTrackingCode(), "", nil); r.status != http.StatusNotFound {
		t.Errorf("a lookup after the registrations' budget is spent = %d, want 404", r.status)
	}

	// Behind a proxy that sets X-Real-IP.
	e.serve(t, nil, "RATE_LIMIT_REGISTER=5", "CLIENT_IP_HEADER=X-Real-IP")
	post := func(i int, ip string) reply {
		t.Helper()
		req, err := http.NewRequest("POST", e.base+"/api/v1/applications", strings.NewReader(string(mustJSON(registration(i, year)))))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Real-IP", ip)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		rep := reply{status: resp.StatusCode, header: resp.Header}
		_ = json.Unmarshal(raw, &rep.body)
		return rep
	}
	for i := range 5 {
		if r := post(100+i, "203.0.113.7"); r.status != http.StatusAccepted {
			t.Fatalf("registration %d from 203.0.113.7 = %d %v, want 202", i+1, r.status, r.body)
		}
	}
	checkTooMany(t, post(105, "203.0.113.7"))
	if r := post(106, "203.0.113.8"); r.status != http.StatusAccepted {
		t.Errorf("the first registration from 203.0.113.8 = %d %v, want 202: each address has its own budget", r.status, r.body)
	}

	// A request refused before it is queued counts too: four forms and
	// an empty one spend the budget.
	for i := range 4 {
		if r := post(110+i, "203.0.113.9"); r.status != http.StatusAccepted {
			t.Fatalf("registration %d from 203.0.113.9 = %d %v, want 202", i+1, r.status, r.body)
		}
	}
	req, err := http.NewRequest("POST", e.base+"/api/v1/applications", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Real-IP", "203.0.113.9")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		t.Fatalf("an empty form within the budget = %d, want a 4xx refusal of the form", resp.StatusCode)
	}
	checkTooMany(t, post(114, "203.0.113.9"))
}

func checkTooMany(t *testing.T, r reply) {
	t.Helper()
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("past the budget = %d %v, want 429", r.status, r.body)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Errorf("Retry-After = %q, want 1 to 60 seconds", r.header.Get("Retry-After"))
	}
	eb, _ := r.body["error"].(map[string]any)
	if eb["code"] != "too_many_requests" || eb["message"] == "" || eb["message_en"] == "" {
		t.Errorf("429 body = %v, want code too_many_requests with both messages", r.body)
	}
}

// TestEdgeHeadersAndMetrics: every answer carries the security headers,
// answers about an application are not cached, and /metrics is served on
// METRICS_ADDR only.
func TestEdgeHeadersAndMetrics(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	metrics := freePort(t)
	e.serve(t, nil, "METRICS_ADDR="+metrics)
	client := &http.Client{Timeout: 10 * time.Second}
	year := democity.SchoolYear(time.Now())
	r := e.do(t, client, "POST", "/api/v1/applications", "application/json", mustJSON(registration(1, year)))
	if r.status != http.StatusAccepted {
		t.Fatalf("registration = %d %v", r.status, r.body)
	}
	code, _ := r.body["tracking_code"].(string)
	repeat := e.do(t, client, "POST", "/api/v1/applications", "application/json", mustJSON(registration(1, year)))
	status := e.do(t, client, "GET", "/api/v1/applications/"+code, "", nil)
	for name, rep := range map[string]reply{"202": r, "200 repeat": repeat, "status": status} {
		if rep.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control = %q, want no-store", name, rep.header.Get("Cache-Control"))
		}
	}
	for _, path := range []string{"/", "/tra-cuu.html", "/assets/site.css", "/healthz", "/api/v1/windows", "/api/v1/nope"} {
		resp, err := client.Get(e.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s headers = %v, want CSP, nosniff, DENY, no-referrer", path, h)
		}
	}
	// A malformed code and an unknown one get the same answer.
	unknown := e.do(t, client, "GET", "/api/v1/applications/"+enrollment.NewTrackingCode(), "", nil)
	malformed := e.do(t, client, "GET", "/api/v1/applications/abc", "", nil)
	if unknown.status != http.StatusNotFound || malformed.status != unknown.status || fmt.Sprint(malformed.body) != fmt.Sprint(unknown.body) {
		t.Errorf("malformed code = %d %v, unknown code = %d %v; want the same 404", malformed.status, malformed.body, unknown.status, unknown.body)
	}
	if resp, err := client.Get(e.base + "/metrics"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the public port = %v %v, want 404", resp, err)
	} else {
		resp.Body.Close()
	}
	resp, err := client.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "tuyensinh_intake_accepted_total") {
		t.Errorf("GET /metrics on METRICS_ADDR = %d, want 200 with the intake metrics", resp.StatusCode)
	}
}
