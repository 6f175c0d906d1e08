package staff_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

const password = "correct horse battery"

// setup returns a store on a fresh database holding a small city: HN above
// district D1 above ward WA (school SA), and ward WB directly under HN
// (school SB), with a clerk of SA, "clerk-a".
func setup(t *testing.T) (*staff.Store, *sqlx.DB) {
	t.Helper()
	db := testenv.DB(t)
	const fixture = `
INSERT INTO authorities (code, name, kind, parent_code) VALUES
    ('HN', 'Hà Nội', 'city', NULL), ('D1', 'Quận 1', 'district', 'HN'),
    ('WA', 'Phường A', 'ward', 'D1'), ('WB', 'Phường B', 'ward', 'HN');
INSERT INTO wards (code, name, kind, authority_code) VALUES ('00001', 'Phường A', 'phuong', 'WA'), ('00002', 'Phường B', 'phuong', 'WB');
INSERT INTO schools (code, name, ward_code) VALUES ('SA', 'Trường A', '00001'), ('SB', 'Trường B', '00002');`
	if _, err := db.Exec(fixture); err != nil {
		t.Fatal(err)
	}
	st := staff.NewStore(db)
	add(t, st, staff.User{Username: "clerk-a", Role: staff.RoleSchool, Scope: "SA", Name: "Văn thư A"})
	return st, db
}

func add(t *testing.T, st *staff.Store, u staff.User) {
	t.Helper()
	hash, err := staff.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Add(t.Context(), u, hash); err != nil {
		t.Fatalf("Add(%+v): %v", u, err)
	}
}

func code(err error) enrollment.Code {
	var e *enrollment.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestSchoolChainAndCover(t *testing.T) {
	t.Parallel()
	st, _ := setup(t)
	ctx := t.Context()
	sa, err := st.School(ctx, "SA")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(staff.School{Code: "SA", Authorities: []string{"WA", "D1", "HN"}}, sa); diff != "" {
		t.Errorf("School(SA) (-want +got):\n%s", diff)
	}
	sb, err := st.School(ctx, "SB")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"WB", "HN"}, sb.Authorities); diff != "" {
		t.Errorf("School(SB) authorities (-want +got):\n%s", diff)
	}
	if _, err := st.School(ctx, "NOPE"); code(err) != enrollment.CodeNotFound {
		t.Errorf("School(NOPE) = %v, want not_found", err)
	}
	d1 := staff.User{Role: staff.RoleAuthority, Scope: "D1"}
	if !d1.Covers(sa) || d1.Covers(sb) {
		t.Errorf("district D1 covers SA %v, SB %v; want true, false", d1.Covers(sa), d1.Covers(sb))
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	st, db := setup(t)
	ctx := t.Context()
	u, err := st.Login(ctx, "clerk-a", password, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (staff.User{Username: "clerk-a", Role: staff.RoleSchool, Scope: "SA", Name: "Văn thư A", Stamp: u.Stamp}); u != want || len(u.Stamp) != 16 {
		t.Errorf("Login = %+v, want %+v", u, want)
	}
	for _, tt := range []struct{ user, pw string }{
		{"clerk-a", "wrong password!"},
		{"nobody", password},
		{"not a username \x00", password},
	} {
		if _, err := st.Login(ctx, tt.user, tt.pw, "192.0.2.1"); err != staff.ErrBadCredentials {
			t.Errorf("Login(%q, %q) = %v, want ErrBadCredentials", tt.user, tt.pw, err)
		}
	}
	if err := st.Disable(ctx, "clerk-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Login(ctx, "clerk-a", password, "192.0.2.1"); err != staff.ErrBadCredentials {
		t.Errorf("Login of a disabled account = %v, want ErrBadCredentials", err)
	}
	evs, err := st.Events(ctx, "clerk-a")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Action+" "+ev.Detail+" "+ev.Address)
	}
	want := []string{"account_added role school, scope \"SA\" ", "login  192.0.2.1", "login_failed wrong password 192.0.2.1",
		"account_disabled  ", "login_failed account disabled 192.0.2.1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events of clerk-a (-want +got):\n%s", diff)
	}
	// No event anywhere carries a password.
	var leaks int
	if err := db.Get(&leaks, `SELECT count(*) FROM staff_events WHERE detail LIKE '%' || $1 || '%' OR detail LIKE '%wrong password!%'`, password); err != nil {
		t.Fatal(err)
	}
	if leaks != 0 {
		t.Errorf("%d staff events carry a password", leaks)
	}
	if evs, _ := st.Events(ctx, "nobody"); len(evs) != 1 || evs[0].Detail != "unknown account" {
		t.Errorf("events of an unknown username = %+v, want one failed sign-in", evs)
	}
}

func TestLockout(t *testing.T) {
	t.Parallel()
	st, db := setup(t)
	ctx := t.Context()
	fail := func(n int) {
		t.Helper()
		for i := range n {
			if _, err := st.Login(ctx, "clerk-a", "wrong password!", ""); err != staff.ErrBadCredentials {
				t.Fatalf("wrong password %d: %v, want ErrBadCredentials", i+1, err)
			}
		}
	}
	// Four failures and a success: the count starts again.
	fail(staff.DefaultMaxFailures - 1)
	if _, err := st.Login(ctx, "clerk-a", password, ""); err != nil {
		t.Fatalf("sign-in after 4 failures: %v", err)
	}
	fail(staff.DefaultMaxFailures - 1)
	if _, err := st.Login(ctx, "clerk-a", password, ""); err != nil {
		t.Fatalf("sign-in after a success and 4 failures: %v", err)
	}
	// Five in a row lock the account, even against the right password.
	fail(staff.DefaultMaxFailures)
	_, err := st.Login(ctx, "clerk-a", password, "")
	var e *enrollment.Error
	if !errors.As(err, &e) || e.Code != enrollment.CodeTooMany || e.RetryAfter <= 0 || e.RetryAfter > staff.DefaultLockFor {
		t.Fatalf("sign-in while locked = %#v, want too_many_requests with RetryAfter in (0, 15m]", err)
	}
	// A new password clears the lock.
	hash, _ := staff.HashPassword("another good password")
	if err := st.SetPassword(ctx, "clerk-a", hash); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Login(ctx, "clerk-a", "another good password", ""); err != nil {
		t.Fatalf("sign-in with the new password: %v", err)
	}
	// So does the end of the lock; the count is then zero.
	fail(staff.DefaultMaxFailures)
	if _, err := db.Exec(`UPDATE staff_users SET locked_until = now() - interval '1 second' WHERE username = 'clerk-a'`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Login(ctx, "clerk-a", "another good password", ""); err != nil {
		t.Fatalf("sign-in after the lock: %v", err)
	}
	var failed int
	db.Get(&failed, `SELECT failed_logins FROM staff_users WHERE username = 'clerk-a'`)
	if failed != 0 {
		t.Errorf("failed_logins after a success = %d, want 0", failed)
	}
	evs, _ := st.Events(ctx, "clerk-a")
	var locks int
	for _, ev := range evs {
		if ev.Action == staff.ActionLocked {
			locks++
		}
	}
	if locks != 2 {
		t.Errorf("%d lockouts audited, want 2", locks)
	}
}

func TestAddChecksScope(t *testing.T) {
	t.Parallel()
	st, _ := setup(t)
	hash, _ := staff.HashPassword(password)
	for _, u := range []staff.User{
		{Username: "city-x", Role: staff.RoleCity, Scope: "HN"},
		{Username: "ward-x", Role: staff.RoleAuthority, Scope: "NOPE"},
		{Username: "ward-y", Role: staff.RoleAuthority},
		{Username: "school-x", Role: staff.RoleSchool, Scope: "WA"},
		{Username: "x", Role: "parent"},
		{Username: "bad name", Role: staff.RoleCity},
	} {
		if err := st.Add(t.Context(), u, hash); err == nil {
			t.Errorf("Add(%+v) succeeded, want an error", u)
		}
	}
	add(t, st, staff.User{Username: "officer-d1", Role: staff.RoleAuthority, Scope: "D1"})
	add(t, st, staff.User{Username: "city", Role: staff.RoleCity})
	if err := st.Add(t.Context(), staff.User{Username: "clerk-a", Role: staff.RoleCity}, hash); !errors.Is(err, staff.ErrAccountExists) {
		t.Errorf("Add of an existing username = %v, want ErrAccountExists", err)
	}
	for _, f := range []func() error{
		func() error { return st.Disable(t.Context(), "nobody") },
		func() error { return st.SetPassword(t.Context(), "nobody", hash) },
		func() error { _, err := st.User(t.Context(), "nobody"); return err },
	} {
		if err := f(); !errors.Is(err, staff.ErrNoAccount) {
			t.Errorf("change of an unknown account = %v, want ErrNoAccount", err)
		}
	}
}

func TestSeedDemo(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := t.Context()
	now := time.Date(2027, 7, 1, 9, 0, 0, 0, time.UTC)
	ref := democity.Reference(now)
	if err := postgres.New(db).SaveReference(ctx, ref); err != nil {
		t.Fatal(err)
	}
	st := staff.NewStore(db)
	schools := map[string]string{}
	for _, o := range ref.Offers {
		schools[o.SchoolCode] = o.Ward
	}
	want := 1 + len(ref.Wards) + len(schools)
	if n, err := st.SeedDemo(ctx, "tuyensinh-demo"); err != nil || n != want {
		t.Fatalf("SeedDemo = %d, %v; want %d accounts", n, err, want)
	}
	// Seeding again after the reference data was saved again (which points
	// the wards back at the city) keeps the accounts and the ward
	// authorities, re-enables a disabled account and sets a new password.
	if err := st.Disable(ctx, "school-TH-BADINH-01"); err != nil {
		t.Fatal(err)
	}
	if err := postgres.New(db).SaveReference(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if n, err := st.SeedDemo(ctx, "another-demo-password"); err != nil || n != want {
		t.Fatalf("SeedDemo again = %d, %v; want %d accounts", n, err, want)
	}
	if _, err := st.Login(ctx, "school-TH-BADINH-01", "tuyensinh-demo", ""); err != staff.ErrBadCredentials {
		t.Errorf("old demo password after re-seeding: %v, want ErrBadCredentials", err)
	}
	clerk, err := st.Login(ctx, "school-TH-BADINH-01", "another-demo-password", "")
	if err != nil {
		t.Fatal(err)
	}
	if clerk.Role != staff.RoleSchool || clerk.Scope != "TH-BADINH-01" {
		t.Errorf("demo clerk = %+v, want school TH-BADINH-01", clerk)
	}
	admin, err := st.Login(ctx, "admin", "another-demo-password", "")
	if err != nil || admin.Role != staff.RoleCity || admin.Scope != "" {
		t.Errorf("demo admin = %+v, %v; want city", admin, err)
	}
	// Every ward officer covers exactly the schools of its ward.
	for _, w := range ref.Wards {
		officer, err := st.User(ctx, staff.DemoWardPrefix+w.Code)
		if err != nil || officer.Role != staff.RoleAuthority || officer.Scope != w.Code {
			t.Fatalf("officer of ward %s = %+v, %v", w.Code, officer, err)
		}
		for code, ward := range schools {
			s, err := st.School(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			if got := officer.Covers(s); got != (ward == w.Code) {
				t.Errorf("officer of ward %s covers %s (ward %s) = %v", w.Code, code, ward, got)
			}
			if !admin.Covers(s) {
				t.Errorf("admin does not cover %s", code)
			}
		}
	}
}
