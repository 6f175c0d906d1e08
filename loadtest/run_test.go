package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// fakeService serves the demo city and takes registrations the way the
// intake does: 202 for a new child, 200 for the same form again, 409 for a
// changed one, 422 for a form the catalog refuses. It is enough to drive
// runLoad end to end without Redis or PostgreSQL.
func fakeService(t *testing.T) *httptest.Server {
	t.Helper()
	now := time.Now()
	c, cat := demoCity(t, now)
	var mu sync.Mutex
	first := map[string]string{} // child ID → body
	codes := map[string]string{} // child ID → code
	n := 0
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/windows", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"windows": c.Windows})
	})
	mux.HandleFunc("GET /api/v1/wards", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"wards": c.Wards})
	})
	mux.HandleFunc("GET /api/v1/schools", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"schools": c.Schools[r.URL.Query().Get("level")]})
	})
	mux.HandleFunc("GET /api/v1/intake", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"length":0,"lag":0,"pending":0,"dead_letters":0}`)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "process_cpu_seconds_total 1.5\nprocess_resident_memory_bytes 2.5e+07\n")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"status":"ok"}`) })
	mux.HandleFunc("GET /api/v1/applications/{code}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"queued"}`)
	})
	mux.HandleFunc("POST /api/v1/applications", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f, err := enrollment.DecodeForm(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if _, err := cat.Check(f, now); err != nil {
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		id := f.Child.IDNumber
		if prev, ok := first[id]; ok {
			if prev == string(body) {
				w.WriteHeader(http.StatusOK)
			} else {
				w.WriteHeader(http.StatusConflict)
			}
			fmt.Fprintf(w, `{"tracking_code":%q}`, codes[id])
			return
		}
		n++
		first[id], codes[id] = string(body), fmt.Sprintf("CODE%016d", n)
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"tracking_code":%q,"status_url":"/api/v1/applications/%s"}`, codes[id], codes[id])
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestRunIntakeAgainstAFakeService(t *testing.T) {
	t.Parallel()
	srv := fakeService(t)
	out := filepath.Join(t.TempDir(), "codes")
	o, err := parseFlags([]string{"-target", srv.URL, "-max-requests", "3000", "-duration", "1m", "-connections", "4",
		"-dup", "0.1", "-invalid", "0.1", "-codes-out", out, "-seed", "7", "-quiet", "-poll", "20ms"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	r, err := runLoad(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 3000 {
		t.Errorf("requests = %d, want 3000 (-max-requests)", r.Requests)
	}
	sum := 0
	for _, n := range r.ByStatus {
		sum += n
	}
	kinds := 0
	for _, n := range r.ByKind {
		kinds += n
	}
	if sum != r.Requests || kinds != r.Requests {
		t.Errorf("by status adds up to %d, by kind to %d; want %d", sum, kinds, r.Requests)
	}
	// Every kind got the answer it was meant to provoke.
	for status, k := range map[string]string{"202": "fresh", "422": "invalid", "200": "repeat_same", "409": "repeat_changed"} {
		if r.ByStatus[status] != r.ByKind[k] || r.ByKind[k] == 0 {
			t.Errorf("%s answers = %d, %s requests = %d", status, r.ByStatus[status], k, r.ByKind[k])
		}
	}
	if r.Accepted != r.ByStatus["202"] || r.Rejected != r.Requests-r.Accepted || r.Errored != 0 || !r.OK {
		t.Errorf("accepted %d rejected %d errored %d ok %v; problems %v", r.Accepted, r.Rejected, r.Errored, r.OK, r.Problems)
	}
	if r.Verify == nil || r.Verify.Skipped == "" {
		t.Errorf("verification without -database-url: %+v, want skipped", r.Verify)
	}
	if r.Queue == nil || !r.Queue.Drained || r.Queue.Samples == 0 {
		t.Errorf("queue report %+v, want drained with samples", r.Queue)
	}
	if r.RSSMax != 25_000_000 {
		t.Errorf("RSS max = %d, want 25000000 from /metrics", r.RSSMax)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(b), "\n"); lines != r.Accepted {
		t.Errorf("-codes-out has %d codes, want %d", lines, r.Accepted)
	}

	// Status lookups of those codes.
	o2, err := parseFlags([]string{"-target", srv.URL, "-scenario", "status", "-codes", out, "-max-requests", "500",
		"-connections", "4", "-quiet"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := runLoad(context.Background(), o2, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Requests != 500 || r2.Accepted != 500 || r2.ByStatus["200"] != 500 || !r2.OK {
		t.Errorf("status run: requests %d accepted %d by status %v ok %v", r2.Requests, r2.Accepted, r2.ByStatus, r2.OK)
	}
}

func TestRunCountsUnexpectedAnswersAsErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	o, err := parseFlags([]string{"-target", srv.URL, "-scenario", "healthz", "-max-requests", "50", "-connections", "2", "-quiet"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	r, err := runLoad(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r.Errored != 50 || r.OK || r.Throughput != 0 {
		t.Errorf("errored %d, ok %v, throughput %g; want 50 errored, not OK, throughput 0", r.Errored, r.OK, r.Throughput)
	}
}

// TestBodiesDistinctFromEarlierRuns checks -distinct-from: bodies written
// after an intake run with another seed leave out the children that run
// drew, which without it some of them repeat (and the service refuses).
func TestBodiesDistinctFromEarlierRuns(t *testing.T) {
	t.Parallel()
	srv := fakeService(t)
	dir := t.TempDir()
	const n = 10_000
	o, err := parseFlags([]string{"-target", srv.URL, "-max-requests", fmt.Sprint(n), "-duration", "1m", "-connections", "4",
		"-seed", "7", "-quiet", "-poll", "20ms", "-wait-drain=false", "-verify=false"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	r, err := runLoad(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "intake.json")
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(report, b, 0o644); err != nil {
		t.Fatal(err)
	}

	// The children of the run, by ID number.
	drawn := map[string]bool{}
	c, _ := demoCity(t, time.Now())
	g, err := newGenerator(c, 7, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint64(n) {
		drawn[g.form(i).Child.IDNumber] = true
	}
	children := func(args ...string) (ids []string) {
		t.Helper()
		out := filepath.Join(dir, "bodies.txt")
		o, err := parseFlags(append([]string{"-target", srv.URL, "-bodies-out", out, "-max-requests", fmt.Sprint(n),
			"-dup", "0", "-invalid", "0", "-seed", "8"}, args...), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeBodies(context.Background(), o, io.Discard); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(raw)) {
			f, err := enrollment.DecodeForm([]byte(line))
			if err != nil {
				t.Fatalf("body %q: %v", line, err)
			}
			ids = append(ids, f.Child.IDNumber)
		}
		return ids
	}
	shared := func(ids []string) (k int) {
		for _, id := range ids {
			if drawn[id] {
				k++
			}
		}
		return k
	}
	plain := children()
	if k := shared(plain); k == 0 {
		t.Fatalf("seeds 7 and 8 share no child among %d; the test shows nothing", n)
	}
	distinct := children("-distinct-from", report)
	if len(distinct) != n {
		t.Errorf("%d bodies, want %d (-max-requests)", len(distinct), n)
	}
	if k := shared(distinct); k != 0 {
		t.Errorf("with -distinct-from, %d of %d bodies are children of the earlier run", k, n)
	}
	seen := map[string]bool{}
	for _, id := range distinct {
		if seen[id] {
			t.Fatalf("child %s twice among the bodies", id)
		}
		seen[id] = true
	}
}
