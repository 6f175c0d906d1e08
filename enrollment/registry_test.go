package enrollment_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
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
	ref := democity.Reference(testNow)
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

// TestDemoPopulation: the demo register (democity.Population) is the same on every run, its ID
// numbers are distinct and agree with the dates of birth, and every child
// in it can be registered for its level.
func TestDemoPopulation(t *testing.T) {
	t.Parallel()
	people := democity.Population(testNow)
	if want := 3 * democity.PopulationPerLevel; len(people) != want {
		t.Fatalf("democity.Population() has %d people, want %d", len(people), want)
	}
	if diff := cmp.Diff(people, democity.Population(testNow)); diff != "" {
		t.Fatalf("democity.Population() differs between calls:\n%s", diff)
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
