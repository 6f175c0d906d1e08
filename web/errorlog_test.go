package web_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
	"github.com/tuyensinh/tuyensinh/web"
)

// TestRefusalLoggedOnce: a registration refused because Redis is down is
// answered 503 with the parent's messages only, and logged once, by the
// handler, with the cause the queue returned (the queue logs nothing).
func TestRefusalLoggedOnce(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ref := democity.Reference(now)
	cat := enrollment.NewCatalog(ref.Windows, ref.Wards, ref.Offers)

	rdb, prefix := testenv.Redis(t)
	proxy := testenv.NewProxy(t, rdb.Options().Addr)
	down := redis.NewClient(&redis.Options{Addr: proxy.Addr(), DB: rdb.Options().DB, MaxRetries: -1})
	t.Cleanup(func() { down.Close() })
	proxy.Down()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	metrics := intake.NewMetrics(nil)
	q, err := intake.NewQueue(down, intake.Config{Keys: intake.Keys{Prefix: prefix}, Logger: logger}, metrics, false)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.NewServer(web.Deps{
		Catalog:  func() *enrollment.Catalog { return cat },
		Intake:   q,
		Metrics:  metrics,
		Gatherer: prometheus.NewRegistry(),
		Logger:   logger,
	}))
	t.Cleanup(srv.Close)

	w, _ := cat.CurrentWindow(enrollment.LevelLop1, now)
	var child enrollment.Person
	for _, p := range democity.Population(now) {
		if strings.HasPrefix(p.DateOfBirth, time.Date(w.BirthYear, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006")) {
			child = p
			break
		}
	}
	sex := enrollment.Male
	if child.IDNumber[3]%2 == 1 {
		sex = enrollment.Female
	}
	form := enrollment.Form{Registration: enrollment.Registration{
		Level: enrollment.LevelLop1, SchoolYear: w.SchoolYear,
		Child:     enrollment.Child{IDNumber: child.IDNumber, FullName: child.FullName, DateOfBirth: child.DateOfBirth, Sex: sex},
		Residence: enrollment.Residence{Current: enrollment.Address{Ward: "00004"}},
		Guardian:  enrollment.Guardian{FullName: "Trần Thị Hoa", Relation: "mother", Phone: "0912345678"},
		Choices:   []string{cat.Offers(enrollment.LevelLop1, w.SchoolYear)[0].SchoolCode},
	}, Consent: true}
	b, err := json.Marshal(form)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(srv.URL+"/api/v1/applications", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(res.Body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body.String(), `"unavailable"`) {
		t.Fatalf("registration with Redis down = %d %s, want 503 unavailable", res.StatusCode, body.String())
	}
	for _, cause := range []string{"redis", proxy.Addr(), "dial", "connection"} {
		if strings.Contains(strings.ToLower(body.String()), cause) {
			t.Errorf("answer %s shows the cause (%q)", body.String(), cause)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "request refused") || !strings.Contains(lines[0], "(cause: redis") {
		t.Errorf("log = %q, want one line with the refusal and its cause", lines)
	}
	for _, personal := range []string{child.IDNumber, "0912345678", child.FullName} {
		if strings.Contains(logs.String(), personal) {
			t.Errorf("log carries personal data %q:\n%s", personal, logs.String())
		}
	}
}
