package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
	"github.com/tuyensinh/tuyensinh/web"
)

// countingRegistry counts the questions put to a registry.
type countingRegistry struct {
	enrollment.Registry
	calls int
}

func (r *countingRegistry) Verify(ctx context.Context, q enrollment.RegistryQuery) (enrollment.Verdict, error) {
	r.calls++
	return r.Registry.Verify(ctx, q)
}

// registrySite is a server on real PostgreSQL (and, with queued, Redis and
// a worker) whose demo lop1 window verifies registrations when verify is
// set, asking reg.
type registrySite struct {
	url   string
	db    *sqlx.DB
	cat   *enrollment.Catalog
	child enrollment.Person // in the demo register, born in lop1's year
}

func newRegistrySite(t *testing.T, verify, queued bool, reg func(db *sqlx.DB) enrollment.Registry) *registrySite {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	db := testenv.DB(t)
	store := postgres.New(db)
	ref := democity.Reference(now)
	for i := range ref.Windows {
		ref.Windows[i].VerifyRegistry = verify && ref.Windows[i].Level == enrollment.LevelLop1
	}
	if err := store.SaveReference(ctx, ref); err != nil {
		t.Fatal(err)
	}
	people := democity.Population(now)
	if err := store.SavePopulation(ctx, people); err != nil {
		t.Fatal(err)
	}
	cat, err := store.LoadCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := &registrySite{db: db, cat: cat}
	lop1, _ := cat.CurrentWindow(enrollment.LevelLop1, now)
	for _, p := range people {
		if p.DateOfBirth[:4] == time.Date(lop1.BirthYear, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006") {
			s.child = p
			break
		}
	}
	metrics := intake.NewMetrics(nil)
	var in web.Intake = intake.NewDirect(store, metrics)
	if queued {
		rdb, prefix := testenv.Redis(t)
		keys := intake.Keys{Prefix: prefix}
		q, err := intake.NewQueue(rdb, intake.Config{Keys: keys}, metrics, false)
		if err != nil {
			t.Fatal(err)
		}
		in = q
		runWorker(t, rdb, store, keys, metrics, 200*time.Millisecond)
	}
	srv := httptest.NewServer(web.NewServer(web.Deps{
		Catalog:  func() *enrollment.Catalog { return cat },
		Intake:   in,
		DB:       store,
		Metrics:  metrics,
		Gatherer: prometheus.NewRegistry(),
		Registry: reg(db),
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// form is a lop1 registration of the site's child as the register records
// it, by the child's mother.
func (s *registrySite) form(t *testing.T) *enrollment.Form {
	t.Helper()
	w, _ := s.cat.CurrentWindow(enrollment.LevelLop1, time.Now())
	p := s.child
	sex := enrollment.Male
	if p.IDNumber[3]%2 == 1 {
		sex = enrollment.Female
	}
	return &enrollment.Form{Registration: enrollment.Registration{
		Level: enrollment.LevelLop1, SchoolYear: w.SchoolYear,
		Child:     enrollment.Child{IDNumber: p.IDNumber, FullName: p.FullName, DateOfBirth: p.DateOfBirth, Sex: sex},
		Residence: enrollment.Residence{Current: enrollment.Address{Ward: "00004"}},
		Guardian:  enrollment.Guardian{FullName: "Trần Thị Hoa", Relation: "mother", IDNumber: p.GuardianIDNumbers[0], Phone: "0912345678"},
		Choices:   []string{s.cat.Offers(enrollment.LevelLop1, w.SchoolYear)[0].SchoolCode},
	}, Consent: true}
}

type submitAnswer struct {
	status int
	body   struct {
		TrackingCode string `json:"tracking_code"`
		Error        struct {
			Code      string               `json:"code"`
			Message   string               `json:"message"`
			MessageEN string               `json:"message_en"`
			Problems  []enrollment.Problem `json:"problems"`
		} `json:"error"`
	}
}

func (s *registrySite) submit(t *testing.T, f *enrollment.Form) submitAnswer {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(s.url+"/api/v1/applications", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a submitAnswer
	a.status = res.StatusCode
	if err := json.NewDecoder(res.Body).Decode(&a.body); err != nil {
		t.Fatalf("answer %d is not JSON: %v", res.StatusCode, err)
	}
	return a
}

// storedStatus waits (boundedly) for the application to be stored and
// returns its status column.
func (s *registrySite) storedStatus(t *testing.T, code string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st string
		err := s.db.GetContext(t.Context(), &st, `SELECT status FROM applications WHERE tracking_code = $1`, code)
		if err == nil {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("application %s not stored: %v", code, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *registrySite) lookup(t *testing.T, code string) enrollment.StatusView {
	t.Helper()
	res, err := http.Get(s.url + "/api/v1/applications/" + code)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v enrollment.StatusView
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatalf("status lookup %d: %v", res.StatusCode, err)
	}
	return v
}

// cutRegistry is a population register whose database connection goes
// through a proxy that is down.
func cutRegistry(t *testing.T) func(*sqlx.DB) enrollment.Registry {
	return func(*sqlx.DB) enrollment.Registry {
		u, err := url.Parse(testenv.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		proxy := testenv.NewProxy(t, u.Host)
		u.Host = proxy.Addr()
		db, err := postgres.OpenLazy(u.String(), 2)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		proxy.Down()
		return postgres.NewPopulationRegister(db)
	}
}

func TestSubmitVerifiesRegistry(t *testing.T) {
	t.Parallel()
	demo := func(db *sqlx.DB) enrollment.Registry { return postgres.NewPopulationRegister(db) }

	t.Run("match is queued and received", func(t *testing.T) {
		t.Parallel()
		s := newRegistrySite(t, true, false, demo)
		a := s.submit(t, s.form(t))
		if a.status != http.StatusAccepted {
			t.Fatalf("submit = %d %+v, want 202", a.status, a.body.Error)
		}
		if st := s.storedStatus(t, a.body.TrackingCode); st != string(enrollment.StatusReceived) {
			t.Errorf("stored status %q, want received", st)
		}
	})

	t.Run("no match is refused with 422", func(t *testing.T) {
		t.Parallel()
		s := newRegistrySite(t, true, false, demo)
		for name, edit := range map[string]func(f *enrollment.Form){
			"name":          func(f *enrollment.Form) { f.Child.FullName = "Lê Văn Tám" },
			"date of birth": func(f *enrollment.Form) { f.Child.DateOfBirth = f.Child.DateOfBirth[:5] + "12-31" },
			"guardian":      func(f *enrollment.Form) { f.Guardian.IDNumber = "001190999999" },
		} {
			f := s.form(t)
			edit(f)
			a := s.submit(t, f)
			if a.status != http.StatusUnprocessableEntity || a.body.Error.Code != string(enrollment.CodeInvalid) {
				t.Fatalf("%s differs: submit = %d %+v, want 422 invalid", name, a.status, a.body)
			}
			var fields []string
			for _, p := range a.body.Error.Problems {
				fields = append(fields, p.Field)
			}
			if want := []string{"child.id_number", "child.full_name", "child.date_of_birth", "guardian.id_number"}; !slices.Equal(fields, want) {
				t.Errorf("%s differs: problem fields %v, want %v", name, fields, want)
			}
			if a.body.Error.Message == "" || a.body.Error.MessageEN == "" {
				t.Errorf("%s differs: messages %q / %q", name, a.body.Error.Message, a.body.Error.MessageEN)
			}
		}
		var n int
		if err := s.db.GetContext(t.Context(), &n, `SELECT count(*) FROM applications`); err != nil || n != 0 {
			t.Errorf("%d applications stored (%v), want none", n, err)
		}
	})

	for _, queued := range []bool{false, true} {
		name := "unavailable register: queued pending verification (direct intake)"
		if queued {
			name = "unavailable register: queued pending verification (Redis stream and worker)"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newRegistrySite(t, true, queued, cutRegistry(t))
			a := s.submit(t, s.form(t))
			if a.status != http.StatusAccepted {
				t.Fatalf("submit = %d %+v, want 202", a.status, a.body.Error)
			}
			if st := s.storedStatus(t, a.body.TrackingCode); st != string(enrollment.StatusPendingVerification) {
				t.Errorf("stored status %q, want %s", st, enrollment.StatusPendingVerification)
			}
			// The status lookup says so too, once the worker has written
			// the stored application's status document.
			deadline := time.Now().Add(30 * time.Second)
			for {
				v := s.lookup(t, a.body.TrackingCode)
				if v.Status == enrollment.StatusPendingVerification {
					break
				}
				if v.Status != enrollment.StatusQueued || time.Now().After(deadline) {
					t.Fatalf("status lookup says %q, want %s", v.Status, enrollment.StatusPendingVerification)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}

	t.Run("off by default: the register is not asked", func(t *testing.T) {
		t.Parallel()
		var reg *countingRegistry
		s := newRegistrySite(t, false, false, func(db *sqlx.DB) enrollment.Registry {
			reg = &countingRegistry{Registry: postgres.NewPopulationRegister(db)}
			return reg
		})
		f := s.form(t)
		f.Child.FullName = "Lê Văn Tám" // would not match
		a := s.submit(t, f)
		if a.status != http.StatusAccepted {
			t.Fatalf("submit = %d %+v, want 202", a.status, a.body.Error)
		}
		if reg.calls != 0 {
			t.Errorf("register asked %d times with verification off", reg.calls)
		}
		if st := s.storedStatus(t, a.body.TrackingCode); st != string(enrollment.StatusReceived) {
			t.Errorf("stored status %q, want received", st)
		}
	})
}
