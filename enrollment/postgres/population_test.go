package postgres_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// registerDB is a migrated database with the demo population saved.
func registerDB(t *testing.T) (*sqlx.DB, []enrollment.Person) {
	t.Helper()
	db := testenv.DB(t)
	people := democity.Population(testNow)
	store := postgres.New(db)
	if err := store.SavePopulation(t.Context(), people); err != nil {
		t.Fatal(err)
	}
	// Saving again changes nothing.
	if err := store.SavePopulation(t.Context(), people); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.GetContext(t.Context(), &n, `SELECT count(*) FROM population_register`); err != nil || n != len(people) {
		t.Fatalf("population_register has %d rows (%v), want %d", n, err, len(people))
	}
	return db, people
}

func TestPopulationRegister(t *testing.T) {
	t.Parallel()
	db, people := registerDB(t)
	reg := postgres.NewPopulationRegister(db)
	p := people[len(people)/2]
	q := enrollment.RegistryQuery{ChildIDNumber: p.IDNumber, ChildName: p.FullName, DateOfBirth: p.DateOfBirth}
	other := people[len(people)/2+1]
	tests := []struct {
		name string
		edit func(q *enrollment.RegistryQuery)
		want enrollment.Verdict
	}{
		{"as recorded, no guardian", func(*enrollment.RegistryQuery) {}, enrollment.VerdictMatch},
		{"mother", func(q *enrollment.RegistryQuery) { q.GuardianIDNumber = p.GuardianIDNumbers[0] }, enrollment.VerdictMatch},
		{"father", func(q *enrollment.RegistryQuery) { q.GuardianIDNumber = p.GuardianIDNumbers[1] }, enrollment.VerdictMatch},
		{"name in other case and spacing", func(q *enrollment.RegistryQuery) { q.ChildName = " " + strings.ToUpper(q.ChildName) }, enrollment.VerdictMatch},
		{"another child's parent", func(q *enrollment.RegistryQuery) { q.GuardianIDNumber = other.GuardianIDNumbers[0] }, enrollment.VerdictNoMatch},
		{"another name", func(q *enrollment.RegistryQuery) { q.ChildName = other.FullName }, enrollment.VerdictNoMatch},
		{"another date of birth", func(q *enrollment.RegistryQuery) { q.DateOfBirth = other.DateOfBirth }, enrollment.VerdictNoMatch},
		{"unknown ID number", func(q *enrollment.RegistryQuery) { q.ChildIDNumber = "001321999999" }, enrollment.VerdictNoMatch},
	}
	for _, tt := range tests {
		q := q
		tt.edit(&q)
		got, err := reg.Verify(t.Context(), q)
		if err != nil || got != tt.want {
			t.Errorf("%s: Verify() = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

// TestPopulationRegisterUnavailable: a register whose database cannot be
// reached answers an error, never a verdict, and the error does not carry
// the query's personal data.
func TestPopulationRegisterUnavailable(t *testing.T) {
	t.Parallel()
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
	defer db.Close()
	proxy.Down()
	p := democity.Population(testNow)[0]
	ctx, cancel := context.WithTimeout(t.Context(), enrollment.RegistryTimeout)
	defer cancel()
	v, err := postgres.NewPopulationRegister(db).Verify(ctx, enrollment.RegistryQuery{ChildIDNumber: p.IDNumber, ChildName: p.FullName, DateOfBirth: p.DateOfBirth})
	if err == nil {
		t.Fatalf("Verify() through a cut connection = %v, nil; want an error", v)
	}
	if strings.Contains(err.Error(), p.IDNumber) || strings.Contains(err.Error(), p.FullName) {
		t.Errorf("error %q carries personal data", err)
	}
}

// TestSavePendingVerification: an application queued while the register
// could not answer is stored pending verification, and its status says so.
func TestSavePendingVerification(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	pending, plain := newApp(t, cat, 1), newApp(t, cat, 2)
	pending.Verification = enrollment.VerificationPending
	res, err := store.SaveBatch(t.Context(), []*enrollment.Application{pending, plain})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []enrollment.Status{enrollment.StatusPendingVerification, enrollment.StatusReceived} {
		a := []*enrollment.Application{pending, plain}[i]
		if res[i].Outcome != enrollment.OutcomeInserted {
			t.Fatalf("application %d: outcome %v", i, res[i].Outcome)
		}
		v, err := store.Status(t.Context(), a.TrackingCode)
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != want || v.StatusText == "" || v.StatusTextEN == "" {
			t.Errorf("application %d: stored status %q (%q / %q), want %q with its texts", i, v.Status, v.StatusText, v.StatusTextEN, want)
		}
		if got := enrollment.NewStatusView(a, enrollment.StatusReceived, res[i].StoredAt).Status; got != want {
			t.Errorf("application %d: worker's status view says %q, the store %q", i, got, want)
		}
	}
}

// TestVerifyRegistrySurvives: the window's switch survives PostgreSQL and
// the JSON copy of the catalog kept in Redis.
func TestVerifyRegistrySurvives(t *testing.T) {
	t.Parallel()
	store := postgres.New(testenv.DB(t))
	ref := democity.Reference(testNow)
	for i := range ref.Windows {
		ref.Windows[i].VerifyRegistry = ref.Windows[i].Level == enrollment.LevelLop1
	}
	if err := store.SaveReference(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	cat, err := store.LoadCatalog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(cat)
	if err != nil {
		t.Fatal(err)
	}
	back, err := enrollment.UnmarshalCatalog(b)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*enrollment.Catalog{"loaded": cat, "from JSON": back} {
		var on []enrollment.Level
		for _, w := range c.Windows() {
			if w.VerifyRegistry {
				on = append(on, w.Level)
			}
		}
		if !slices.Equal(on, []enrollment.Level{enrollment.LevelLop1}) {
			t.Errorf("%s catalog: windows verifying = %v, want [lop1]", name, on)
		}
	}
}
