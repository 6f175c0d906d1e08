package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// buildBinary builds the real tuyensinh binary once per test run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "tuyensinh-e2e")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "tuyensinh")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

type e2e struct {
	bin  string
	env  []string
	base string
	db   *sqlx.DB
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startService seeds a fresh database with the demo city and starts the
// real binary's serve command on it, stopping it (SIGTERM) at the end.
func startService(t *testing.T) *e2e {
	t.Helper()
	e := newE2E(t)
	e.serve(t, nil)
	return e
}

// newE2E builds the binary and seeds a fresh database and Redis prefix.
func newE2E(t *testing.T) *e2e {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dbURL := testenv.NewDatabase(t)
	_, prefix := testenv.Redis(t)
	e := &e2e{bin: bin}
	e.env = append(os.Environ(), "DATABASE_URL="+dbURL, "REDIS_URL="+testenv.RedisURL(), "REDIS_PREFIX="+prefix,
		"LOG_LEVEL=warn", "INTAKE_CONSUMER="+prefix,
		// The tests send thousands of requests from 127.0.0.1; the limits
		// have a test of their own (TestRateLimits).
		"RATE_LIMIT_REGISTER=0", "RATE_LIMIT_STATUS=0")
	if out, err := e.command("seed", "--demo").CombinedOutput(); err != nil {
		t.Fatalf("seed --demo: %v\n%s", err, out)
	}
	if e.db, err = sqlx.Open("postgres", dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	return e
}

// serve starts serve with flags on a free port, with extra environment,
// and waits until it is healthy.
func (e *e2e) serve(t *testing.T, flags []string, env ...string) {
	t.Helper()
	addr := freePort(t)
	e.base = "http://" + addr
	cmd := e.command(append([]string{"serve"}, flags...)...)
	cmd.Env = append(append(cmd.Env, "HTTP_ADDR="+addr), env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("serve exited with %v on SIGTERM; logs:\n%s", err, logs.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Errorf("serve did not stop on SIGTERM")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(e.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("serve exited early: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never became healthy:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *e2e) command(args ...string) *exec.Cmd {
	cmd := exec.Command(e.bin, args...)
	cmd.Env = e.env
	return cmd
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func (e *e2e) do(t *testing.T, client *http.Client, method, path, contentType string, body []byte) reply {
	t.Helper()
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &r.body); err != nil && len(raw) > 0 {
		t.Fatalf("%s %s answered %d with non-JSON: %q", method, path, resp.StatusCode, raw)
	}
	return r
}

// registration is the i-th distinct valid registration for the demo city.
func registration(i int, year int) map[string]any {
	dob := time.Date(year-6, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)
	sex := enrollment.Male
	if i%2 == 1 {
		sex = enrollment.Female
	}
	return map[string]any{
		"level": "lop1", "school_year": year,
		"child": map[string]any{"id_number": enrollment.MakeIDNumber("001", dob, sex, i), "full_name": "Phạm Thị Ngọc Ánh",
			"date_of_birth": dob.Format(time.DateOnly), "sex": sex, "ethnicity": "Kinh", "place_of_birth": "Hà Nội"},
		"residence": map[string]any{
			"permanent": map[string]any{"ward": "00004", "group": "TDP 1", "address": "Số 1 Quán Thánh"},
			"current":   map[string]any{"ward": "00004", "group": "TDP 1", "address": "Số 1 Quán Thánh"}},
		"guardian":       map[string]any{"full_name": "Phạm Văn Hùng", "relation": "father", "id_number": "001085000001", "phone": "0912000111"},
		"priority_group": i % 4,
		"choices":        []string{"TH-BADINH-01", "TH-BADINH-02"},
		"consent":        true,
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestEndToEnd drives the real binary: 10,000 registrations posted
// concurrently, with repeats and bad forms among them, are all answered
// without a 5xx, and every 202's tracking code is stored exactly once.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	e := startService(t)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	year := democity.SchoolYear(time.Now())

	const n = 10_000
	type result struct {
		i      int
		status int
		code   string
	}
	results := make(chan result, n+n/10)
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Go(func() {
			for i := w; i < n; i += 32 {
				r := e.do(t, client, "POST", "/api/v1/applications", "application/json", mustJSON(registration(i, year)))
				code, _ := r.body["tracking_code"].(string)
				results <- result{i, r.status, code}
				if i%10 == 0 { // a parent who pressed submit twice
					r := e.do(t, client, "POST", "/api/v1/applications", "application/json", mustJSON(registration(i, year)))
					code2, _ := r.body["tracking_code"].(string)
					if r.status != http.StatusOK || code2 != code {
						t.Errorf("repeat of %d = %d %q, want 200 with %q", i, r.status, code2, code)
					}
				}
			}
		})
	}
	wg.Wait()
	close(results)
	var codes []string
	for r := range results {
		if r.status != http.StatusAccepted || len(r.code) != enrollment.TrackingCodeLen {
			t.Fatalf("registration %d = %d %q, want 202 with a tracking code", r.i, r.status, r.code)
		}
		codes = append(codes, r.code)
	}
	if len(codes) != n {
		t.Fatalf("got %d answers, want %d", len(codes), n)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var stored int
		if err := e.db.Get(&stored, `SELECT count(*) FROM applications`); err != nil {
			t.Fatal(err)
		}
		if stored == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored %d of %d", stored, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var distinct, matched int
	if err := e.db.QueryRow(`SELECT count(DISTINCT tracking_code), count(*) FILTER (WHERE tracking_code = ANY($1)) FROM applications`, pq.Array(codes)).Scan(&distinct, &matched); err != nil {
		t.Fatal(err)
	}
	if distinct != n || matched != n {
		t.Errorf("stored %d distinct codes, %d of those given out; want %d and %d", distinct, matched, n, n)
	}

	// The parent follows the status link.
	r := e.do(t, client, "GET", "/api/v1/applications/"+strings.ToLower(codes[0]), "", nil)
	if r.status != http.StatusOK || r.body["status"] != "received" {
		t.Errorf("status of a stored registration = %d %v, want 200 received", r.status, r.body)
	}
	if _, ok := r.body["guardian"]; ok {
		t.Errorf("status shows the guardian's data: %v", r.body)
	}
}

// TestBadInput checks that what a client sends wrong gets a clear 4xx in
// both languages, never a 5xx.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := startService(t)
	client := &http.Client{Timeout: 10 * time.Second}
	year := democity.SchoolYear(time.Now())
	good := registration(1, year)
	withChild := func(k string, v any) map[string]any {
		r := registration(2, year)
		r["child"].(map[string]any)[k] = v
		return r
	}
	tests := []struct {
		name, method, path, ctype string
		body                      []byte
		want                      int
		wantField                 string
	}{
		{"malformed JSON", "POST", "/api/v1/applications", "application/json", []byte(`{"level":`), 400, ""},
		{"wrong type", "POST", "/api/v1/applications", "application/json", []byte(`{"school_year":"2027"}`), 400, "school_year"},
		{"unknown field", "POST", "/api/v1/applications", "application/json", []byte(`{"hacker":1}`), 400, "hacker"},
		{"not JSON", "POST", "/api/v1/applications", "text/html", mustJSON(good), 400, ""},
		{"huge body", "POST", "/api/v1/applications", "application/json", bytes.Repeat([]byte("x"), 1<<20), 413, ""},
		{"bad ID number", "POST", "/api/v1/applications", "application/json", mustJSON(withChild("id_number", "001321000000")), 422, "child.id_number"},
		{"too young", "POST", "/api/v1/applications", "application/json", mustJSON(withChild("date_of_birth", fmt.Sprintf("%d-01-01", year-5))), 422, "child.date_of_birth"},
		{"no window", "POST", "/api/v1/applications", "application/json", mustJSON(func() map[string]any { r := registration(3, year); r["school_year"] = year + 3; return r }()), 422, "school_year"},
		{"unknown code", "GET", "/api/v1/applications/" + enrollment.NewTrackingCode(), "", nil, 404, ""},
		{"malformed code", "GET", "/api/v1/applications/abc", "", nil, 404, ""},
		{"unknown route", "GET", "/api/v1/nope", "", nil, 404, ""},
		{"wrong method", "DELETE", "/api/v1/applications", "", nil, 405, ""},
		{"bad level", "GET", "/api/v1/schools?level=lop9", "", nil, 400, "level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, client, tt.method, tt.path, tt.ctype, tt.body)
			if r.status != tt.want {
				t.Fatalf("%s %s = %d %v, want %d", tt.method, tt.path, r.status, r.body, tt.want)
			}
			e, _ := r.body["error"].(map[string]any)
			if e == nil || e["message"] == "" || e["message_en"] == "" {
				t.Fatalf("error body %v lacks messages in both languages", r.body)
			}
			if tt.wantField != "" && !strings.Contains(fmt.Sprint(e["problems"]), tt.wantField) {
				t.Errorf("problems %v do not name %s", e["problems"], tt.wantField)
			}
		})
	}
	// Nothing of the above reached the database or the stream.
	r := e.do(t, client, "POST", "/api/v1/applications", "application/json", mustJSON(good))
	if r.status != http.StatusAccepted || r.header.Get("Location") == "" {
		t.Fatalf("a good registration after the bad ones = %d %v", r.status, r.body)
	}
	changed := registration(1, year)
	changed["choices"] = []string{"TH-BADINH-02"}
	r2 := e.do(t, client, "POST", "/api/v1/applications", "application/json", mustJSON(changed))
	// The refusal reveals nothing of the first application: anyone who knows
	// a child's ID number can send a form.
	if eb, _ := r2.body["error"].(map[string]any); r2.status != http.StatusConflict || eb["tracking_code"] != nil || eb["status_url"] != nil ||
		strings.Contains(fmt.Sprint(r2.body), fmt.Sprint(r.body["tracking_code"])) {
		t.Errorf("another form for the same child = %d %v, want 409 without the first code", r2.status, r2.body)
	}
	// The first code goes to the first registration's guardian instead,
	// through the outbox that the serving process drains.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var sent int
		if err := e.db.Get(&sent, `SELECT count(*) FROM outbox WHERE kind = 'code_resend' AND tracking_code = $1 AND sent_at IS NOT NULL`, r.body["tracking_code"]); err != nil {
			t.Fatal(err)
		}
		if sent == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first code was never re-sent to its guardian")
		}
	}
	// The same form again still answers with its code.
	r3 := e.do(t, client, "POST", "/api/v1/applications", "application/json", mustJSON(good))
	if r3.status != http.StatusOK || r3.body["tracking_code"] != r.body["tracking_code"] {
		t.Errorf("the same form again = %d %v, want 200 with %v", r3.status, r3.body, r.body["tracking_code"])
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), bin, "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HTTP_ADDR=nonsense", "INTAKE_WORKERS=zero", "REDIS_URL=http://x",
		"REDIS_TIMEOUT=soon", "INTAKE_HMAC_KEY=short", "INTAKE_STATUS_GRACE=-1m", "OUTBOX_SENDER=carrier-pigeon"}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("serve with a bad configuration succeeded:\n%s", out)
	}
	for _, want := range []string{"DATABASE_URL is not set", "REDIS_URL=", "HTTP_ADDR=", "INTAKE_WORKERS=",
		"REDIS_TIMEOUT=", "INTAKE_HMAC_KEY: want at least 16 bytes", "INTAKE_STATUS_GRACE=", "OUTBOX_SENDER="} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output does not mention %q:\n%s", want, out)
		}
	}
}

// TestStartWhilePostgresDown starts an API process while PostgreSQL cannot
// be reached: it takes registrations with the reference data kept in
// Redis, and they are stored once PostgreSQL is back.
func TestStartWhilePostgresDown(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	// A first process, without workers, copies the reference data to Redis.
	e.serve(t, []string{"-workers=false"})

	var dbURL string
	for _, kv := range e.env {
		if v, ok := strings.CutPrefix(kv, "DATABASE_URL="); ok {
			dbURL = v
		}
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	proxy.Down()
	u.Host = proxy.Addr()
	e.serve(t, nil, "DATABASE_URL="+u.String(), "INTAKE_CONSUMER=second")

	client := &http.Client{Timeout: 10 * time.Second}
	year := democity.SchoolYear(time.Now())
	r := e.do(t, client, "POST", "/api/v1/applications", "application/json", mustJSON(registration(77, year)))
	if r.status != http.StatusAccepted {
		t.Fatalf("registration while PostgreSQL is down = %d %v, want 202", r.status, r.body)
	}
	code := r.body["tracking_code"].(string)
	// Still ready, so a load balancer keeps sending registrations; it says
	// PostgreSQL is away.
	if r := e.do(t, client, "GET", "/readyz", "", nil); r.status != http.StatusOK || !strings.HasPrefix(fmt.Sprint(r.body["postgres"]), "unreachable") {
		t.Errorf("readyz while PostgreSQL is down = %d %v, want 200 naming PostgreSQL unreachable", r.status, r.body)
	}
	proxy.Up()
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		if err := e.db.Get(&n, `SELECT count(*) FROM applications WHERE tracking_code = $1`, code); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the registration was not stored after PostgreSQL came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMigrateNeedsOnlyTheDatabase: migrate and seed read DATABASE_URL alone.
func TestMigrateNeedsOnlyTheDatabase(t *testing.T) {
	t.Parallel()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dbURL := testenv.NewDatabase(t)
	for _, args := range [][]string{{"migrate"}, {"migrate", "status"}, {"seed", "--demo"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DATABASE_URL=" + dbURL}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%v with only DATABASE_URL: %v\n%s", args, err, out)
		}
		if args[0] == "migrate" && len(args) == 2 && !strings.Contains(string(out), "applied") {
			t.Errorf("migrate status does not list applied migrations:\n%s", out)
		}
	}
}
