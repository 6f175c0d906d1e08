package enrollment_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// fakeRegistry answers with a fixed verdict or error and counts the calls.
type fakeRegistry struct {
	verdict enrollment.Verdict
	err     error
	block   bool // wait for the caller's deadline, then fail with it
	calls   int
	last    enrollment.RegistryQuery
}

func (r *fakeRegistry) Verify(ctx context.Context, q enrollment.RegistryQuery) (enrollment.Verdict, error) {
	r.calls++
	r.last = q
	if r.block {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return r.verdict, r.err
}

// verifyingCatalog is testCatalog with the lop1 window verifying
// registrations.
func verifyingCatalog(on bool) *enrollment.Catalog {
	ref := enrollment.DemoReference(testNow)
	for i := range ref.Windows {
		ref.Windows[i].VerifyRegistry = on && ref.Windows[i].Level == enrollment.LevelLop1
	}
	return enrollment.NewCatalog(ref.Windows, ref.Wards, ref.Offers)
}

func TestCatalogVerify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		on          bool
		reg         *fakeRegistry
		nilReg      bool
		wantCalls   int
		wantErr     bool // refused with CodeInvalid
		wantPending bool
	}{
		{name: "off by default: the register is not asked", on: false, reg: &fakeRegistry{verdict: enrollment.VerdictNoMatch}, wantCalls: 0},
		{name: "match", on: true, reg: &fakeRegistry{verdict: enrollment.VerdictMatch}, wantCalls: 1},
		{name: "no match", on: true, reg: &fakeRegistry{verdict: enrollment.VerdictNoMatch}, wantCalls: 1, wantErr: true},
		{name: "register error", on: true, reg: &fakeRegistry{err: errors.New("connection refused")}, wantCalls: 1, wantPending: true},
		{name: "register past the deadline", on: true, reg: &fakeRegistry{block: true}, wantCalls: 1, wantPending: true},
		{name: "unknown verdict", on: true, reg: &fakeRegistry{}, wantCalls: 1, wantPending: true},
		{name: "no register configured", on: true, nilReg: true, wantPending: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cat := verifyingCatalog(tt.on)
			a, err := cat.Check(validForm(), testNow)
			if err != nil {
				t.Fatal(err)
			}
			var reg enrollment.Registry = tt.reg
			if tt.nilReg {
				reg = nil
			}
			down, err := cat.Verify(t.Context(), reg, a)
			if tt.reg != nil && tt.reg.calls != tt.wantCalls {
				t.Errorf("register asked %d times, want %d", tt.reg.calls, tt.wantCalls)
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("Verify() err = %v, want error %v", err, tt.wantErr)
			}
			if (down != nil) != tt.wantPending {
				t.Errorf("Verify() unavailable = %v, want %v", down, tt.wantPending)
			}
			if got := a.Verification == enrollment.VerificationPending; got != tt.wantPending {
				t.Errorf("Verification = %q, want pending %v", a.Verification, tt.wantPending)
			}
			if tt.wantPending != (a.StoredStatus() == enrollment.StatusPendingVerification) {
				t.Errorf("StoredStatus() = %s", a.StoredStatus())
			}
			if tt.wantErr {
				var e *enrollment.Error
				if !errors.As(err, &e) || e.Code != enrollment.CodeInvalid || e.Message == "" || e.MessageEN == "" {
					t.Fatalf("Verify() err = %#v, want CodeInvalid with both messages", err)
				}
				want := []string{"child.id_number", "child.full_name", "child.date_of_birth", "guardian.id_number"}
				if diff := cmp.Diff(want, problemFields(err)); diff != "" {
					t.Errorf("problem fields (-want +got):\n%s", diff)
				}
				for _, p := range e.Problems {
					if !strings.Contains(p.Message, "không khớp với Cơ sở dữ liệu quốc gia về dân cư") || p.MessageEN == "" {
						t.Errorf("problem %+v does not say it does not match the population database", p)
					}
				}
				if p := e.Problems; len(p) > 1 && (p[0].Message != p[1].Message || p[0].MessageEN != p[1].MessageEN) {
					t.Errorf("problems differ between fields, which tells which one the register disagrees with: %+v", p)
				}
			}
		})
	}
}

func TestNewRegistryQuery(t *testing.T) {
	t.Parallel()
	cat := testCatalog()
	for _, tt := range []struct {
		relation     string
		wantGuardian bool
	}{{"mother", true}, {"father", true}, {"guardian", true}, {"grandparent", false}, {"sibling", false}, {"other", false}} {
		f := validForm()
		f.Guardian.Relation = tt.relation
		a, err := cat.Check(f, testNow)
		if err != nil {
			t.Fatal(err)
		}
		q := enrollment.NewRegistryQuery(a)
		want := enrollment.RegistryQuery{ChildIDNumber: a.Child.IDNumber, ChildName: a.Child.FullName, DateOfBirth: a.Child.DateOfBirth}
		if tt.wantGuardian {
			want.GuardianIDNumber = a.Guardian.IDNumber
		}
		if q != want {
			t.Errorf("relation %s: NewRegistryQuery() = %+v, want %+v", tt.relation, q, want)
		}
	}
}

func TestSameName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"Nguyễn Minh Anh", "Nguyễn Minh Anh", true},
		{"Nguyễn Minh Anh", "nguyễn  minh ANH ", true},
		{"Nguyễn Minh Anh", "Nguye\u0302\u0303n Minh Anh", true}, // NFD
		{"Đặng Thu Hà", "đặng thu hà", true},
		{"Trần Thị Lan", "Trần Thị Lân", false},
		{"Trần Thị Lan", "Tran Thi Lan", false},
		{"Trần Thị Lan", "Trần Lan", false},
	} {
		if got := enrollment.SameName(tt.a, tt.b); got != tt.want {
			t.Errorf("SameName(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestDemoPopulation: the demo register is the same on every run, its ID
// numbers are distinct and agree with the dates of birth, and every child
// in it can be registered for its level.
func TestDemoPopulation(t *testing.T) {
	t.Parallel()
	people := enrollment.DemoPopulation(testNow)
	if want := 3 * enrollment.DemoPopulationPerLevel; len(people) != want {
		t.Fatalf("DemoPopulation() has %d people, want %d", len(people), want)
	}
	if diff := cmp.Diff(people, enrollment.DemoPopulation(testNow)); diff != "" {
		t.Fatalf("DemoPopulation() differs between calls:\n%s", diff)
	}
	cat := testCatalog()
	seen := map[string]bool{}
	levels := map[int]enrollment.Level{}
	for _, w := range cat.Windows() {
		levels[w.BirthYear] = w.Level
	}
	for _, p := range people {
		if seen[p.IDNumber] {
			t.Fatalf("ID number %s recorded twice", p.IDNumber)
		}
		seen[p.IDNumber] = true
		dob, err := time.Parse(time.DateOnly, p.DateOfBirth)
		if err != nil {
			t.Fatalf("date of birth %q: %v", p.DateOfBirth, err)
		}
		f := validForm()
		f.Level = levels[dob.Year()]
		f.Child.IDNumber, f.Child.FullName, f.Child.DateOfBirth = p.IDNumber, p.FullName, p.DateOfBirth
		f.Child.Sex = enrollment.Male
		if p.IDNumber[3]%2 == 1 {
			f.Child.Sex = enrollment.Female
		}
		f.Guardian.IDNumber = p.GuardianIDNumbers[0]
		f.Choices = []string{cat.Offers(f.Level, f.SchoolYear)[0].SchoolCode}
		if _, err := cat.Check(f, testNow); err != nil {
			t.Fatalf("%+v cannot be registered: %v", p, err)
		}
	}
}

// registerDB is a migrated database with the demo population saved.
func registerDB(t *testing.T) (*sqlx.DB, []enrollment.Person) {
	t.Helper()
	db := testenv.DB(t)
	people := enrollment.DemoPopulation(testNow)
	store := enrollment.NewStore(db)
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
	reg := enrollment.NewPopulationRegister(db)
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
	db, err := enrollment.OpenLazy(u.String(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	proxy.Down()
	p := enrollment.DemoPopulation(testNow)[0]
	ctx, cancel := context.WithTimeout(t.Context(), enrollment.RegistryTimeout)
	defer cancel()
	v, err := enrollment.NewPopulationRegister(db).Verify(ctx, enrollment.RegistryQuery{ChildIDNumber: p.IDNumber, ChildName: p.FullName, DateOfBirth: p.DateOfBirth})
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
	store := enrollment.NewStore(testenv.DB(t))
	ref := enrollment.DemoReference(testNow)
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

// TestFormCannotSetVerification: only intake marks an application pending
// verification; a "verification" a client sends is dropped by Check.
func TestFormCannotSetVerification(t *testing.T) {
	t.Parallel()
	f := validForm()
	f.Verification = enrollment.VerificationPending
	body, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"verification":"pending"`) {
		t.Fatalf("test form does not carry verification: %s", body)
	}
	form, err := enrollment.DecodeForm(body)
	if err != nil {
		t.Fatal(err)
	}
	a, err := testCatalog().Check(form, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if a.Verification != "" || a.StoredStatus() != enrollment.StatusReceived {
		t.Errorf("Check kept the form's verification %q (stored status %s)", a.Verification, a.StoredStatus())
	}
}
