package postgres_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// dashboard is the demo city with its demo staff (whose seeding gives
// every ward an authority of its own) on a fresh database.
func dashboard(t *testing.T) (*postgres.DB, *postgres.DB, *enrollment.Catalog, enrollment.Window) {
	t.Helper()
	db := testenv.DB(t)
	store := postgres.New(db)
	now := time.Now()
	if err := store.SaveReference(t.Context(), democity.Reference(now)); err != nil {
		t.Fatal(err)
	}
	if _, err := staff.NewStore(db).SeedDemo(t.Context(), "dashboard demo password"); err != nil {
		t.Fatal(err)
	}
	cat, err := store.LoadCatalog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	w, ok := cat.CurrentWindow(enrollment.LevelLop1, now)
	if !ok {
		t.Fatal("no open lop1 window in the demo city")
	}
	return store, store, cat, w
}

// TestSchoolCounts: a school's applicants at any rank, counted by level
// and status; other schools' applicants are not counted.
func TestSchoolCounts(t *testing.T) {
	t.Parallel()
	d, store, cat, w := dashboard(t)
	ctx := t.Context()
	const a = "TH-BADINH-01"
	var other string
	for _, o := range cat.Offers(enrollment.LevelLop1, w.SchoolYear) {
		if o.SchoolCode != a {
			other = o.SchoolCode
			break
		}
	}
	var codes []string
	for i, choices := range [][]string{{a}, {a, other}, {other, a}, {other}} {
		dob := time.Date(w.BirthYear, 5, 1+i, 0, 0, 0, 0, time.UTC)
		home := enrollment.Address{Ward: "00004", Group: "TDP 3", Address: "1 Quán Thánh"}
		app, err := cat.Check(&enrollment.Form{Registration: enrollment.Registration{Level: enrollment.LevelLop1, SchoolYear: w.SchoolYear,
			Child:     enrollment.Child{IDNumber: enrollment.MakeIDNumber("001", dob, enrollment.Male, i), FullName: "Lê Văn An", DateOfBirth: dob.Format(time.DateOnly), Sex: enrollment.Male},
			Residence: enrollment.Residence{Permanent: home, Current: home},
			Guardian:  enrollment.Guardian{FullName: "Lê Văn Bố", Relation: "father", Phone: "0912345678"},
			Choices:   choices}, Consent: true}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		res, err := store.RegisterDirect(ctx, app, enrollment.Actor{Name: "t", Role: enrollment.ActorSchool}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, res.TrackingCode)
	}
	if _, err := store.Transition(ctx, codes[1], enrollment.StatusAccepted, enrollment.Actor{Name: "t", Role: enrollment.ActorSchool}, "", nil); err != nil {
		t.Fatal(err)
	}
	got, err := d.SchoolCounts(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	want := []postgres.StatusCount{
		{Level: enrollment.LevelLop1, Status: enrollment.StatusAccepted, Count: 1},
		{Level: enrollment.LevelLop1, Status: enrollment.StatusReceived, Count: 2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SchoolCounts(%s) (-want +got):\n%s", a, diff)
	}
	if got, err := d.SchoolCounts(ctx, "KHONG-CO"); err != nil || len(got) != 0 {
		t.Errorf("SchoolCounts of an unknown school = %v, %v; want none", got, err)
	}
}

// TestSchoolsOfArea: a ward's officer gets the schools of the ward, the
// city all of them, each as staff.User.Covers decides; the search ignores
// accents and case.
func TestSchoolsOfArea(t *testing.T) {
	t.Parallel()
	d, _, _, _ := dashboard(t)
	ctx := t.Context()
	st := staff.NewStore(d.Handle())
	all, err := d.SchoolsOfArea(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ward, err := d.SchoolsOfArea(ctx, "00004", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ward) == 0 || len(ward) >= len(all) {
		t.Fatalf("ward 00004 has %d of the city's %d schools, want some but not all", len(ward), len(all))
	}
	officer := staff.User{Username: "ward-00004", Role: staff.RoleAuthority, Scope: "00004"}
	listed := map[string]bool{}
	for _, s := range ward {
		listed[s.Code] = true
	}
	for _, s := range all {
		sc, err := st.School(ctx, s.Code)
		if err != nil {
			t.Fatal(err)
		}
		if covers := officer.Covers(sc); covers != listed[s.Code] {
			t.Errorf("school %s: listed for ward 00004 = %v, covered = %v", s.Code, listed[s.Code], covers)
		}
	}
	found, err := d.SchoolsOfArea(ctx, "00004", "TIEU hoc ba dinh")
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Code != "TH-BADINH-01" {
		t.Errorf("search %q = %+v, want TH-BADINH-01 alone", "TIEU hoc ba dinh", found)
	}
	if name, err := d.SchoolName(ctx, "TH-BADINH-01"); err != nil || name == "" {
		t.Errorf("SchoolName = %q, %v", name, err)
	}
	if _, err := d.SchoolName(ctx, "KHONG-CO"); err == nil {
		t.Error("SchoolName of an unknown school: no error")
	}
}
