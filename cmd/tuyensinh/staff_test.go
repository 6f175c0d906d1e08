package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/tuyensinh/tuyensinh/enrollment/staff"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// TestStaffCommand drives `tuyensinh staff` through its real entry point:
// add, passwd (from standard input) and disable, each audited, and the
// password never taken from an argument.
func TestStaffCommand(t *testing.T) {
	t.Parallel()
	dbURL := testenv.NewDatabase(t)
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO authorities (code, name, kind) VALUES ('HN', 'Hà Nội', 'city')`); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": dbURL}
	getenv := func(k string) string { return env[k] }
	cmd := func(stdin string, args ...string) (string, error) {
		var out, errs bytes.Buffer
		err := runStaff(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errs)
		return out.String() + errs.String(), err
	}
	st := staff.NewStore(db)
	ctx := t.Context()

	// Through run, with the password from STAFF_PASSWORD.
	env["STAFF_PASSWORD"] = "first password 1"
	var out bytes.Buffer
	if err := run(ctx, []string{"staff", "add", "officer-hn", "--role", "authority", "--scope", "HN", "--name", "Cán bộ HN"}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("staff add: %v\n%s", err, out.String())
	}
	delete(env, "STAFF_PASSWORD")
	u, err := st.Login(ctx, "officer-hn", "first password 1", "")
	if err != nil || u != (staff.User{Username: "officer-hn", Role: staff.RoleAuthority, Scope: "HN", Name: "Cán bộ HN", Stamp: u.Stamp}) {
		t.Fatalf("sign-in of the added account = %+v, %v", u, err)
	}
	if out, err := cmd("second password 2\n", "passwd", "officer-hn"); err != nil {
		t.Fatalf("staff passwd: %v\n%s", err, out)
	}
	if _, err := st.Login(ctx, "officer-hn", "first password 1", ""); err != staff.ErrBadCredentials {
		t.Errorf("old password after passwd: %v, want ErrBadCredentials", err)
	}
	if _, err := st.Login(ctx, "officer-hn", "second password 2", ""); err != nil {
		t.Errorf("new password after passwd: %v", err)
	}
	if out, err := cmd("", "disable", "officer-hn"); err != nil {
		t.Fatalf("staff disable: %v\n%s", err, out)
	}
	if _, err := st.Login(ctx, "officer-hn", "second password 2", ""); err != staff.ErrBadCredentials {
		t.Errorf("sign-in of a disabled account: %v, want ErrBadCredentials", err)
	}
	evs, err := st.Events(ctx, "officer-hn")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range evs {
		actions = append(actions, ev.Action)
	}
	want := []string{staff.ActionAdded, staff.ActionLogin, staff.ActionPasswordChange,
		staff.ActionLoginFailed, staff.ActionLogin, staff.ActionDisabled, staff.ActionLoginFailed}
	if !slices.Equal(actions, want) {
		t.Errorf("events = %v, want %v", actions, want)
	}

	for _, tt := range []struct {
		stdin string
		args  []string
	}{
		{"a good password\n", []string{"add", "x", "--role", "city", "--password", "a good password"}},
		{"a good password\n", []string{"add", "x", "--role", "school", "--scope", "NO-SUCH-SCHOOL"}},
		{"a good password\n", []string{"add", "officer-hn", "--role", "city"}},
		{"short\n", []string{"add", "y", "--role", "city"}},
		{"", []string{"add", "y", "--role", "city"}},
		{"a good password\n", []string{"passwd", "nobody"}},
		{"", []string{"disable", "nobody"}},
		{"", []string{"disable"}},
		{"", []string{"disable", "a", "b"}},
		{"", []string{"remove", "officer-hn"}},
		{"", nil},
	} {
		if out, err := cmd(tt.stdin, tt.args...); err == nil {
			t.Errorf("staff %q succeeded, want an error\n%s", tt.args, out)
		}
	}
	if _, err := cmd("", "disable", "nobody"); !errors.Is(err, staff.ErrNoAccount) {
		t.Errorf("disable of an unknown account = %v, want ErrNoAccount", err)
	}
	var n int
	db.Get(&n, `SELECT count(*) FROM staff_users`)
	if n != 1 {
		t.Errorf("%d accounts after the refused commands, want 1", n)
	}
}

// TestStaffEndToEnd: after seed --demo, the real binary signs in a demo
// school clerk with the password seed printed.
func TestStaffEndToEnd(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	// Seeding again is harmless and prints the password.
	out, err := e.command("seed", "--demo").CombinedOutput()
	if err != nil {
		t.Fatalf("seed --demo again: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`demo staff accounts: (\d+) .*school-TH-BADINH-01.*password: (\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("seed printed no demo staff password:\n%s", out)
	}
	password := string(m[2])
	e.serve(t, nil)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	r := e.do(t, client, "POST", "/api/v1/session", "application/json",
		mustJSON(map[string]string{"username": "school-TH-BADINH-01", "password": password}))
	if r.status != http.StatusOK || r.body["role"] != "school" || r.body["scope"] != "TH-BADINH-01" || r.body["csrf_token"] == "" {
		t.Fatalf("sign-in as school-TH-BADINH-01 = %d %v, want 200 role school, scope TH-BADINH-01", r.status, r.body)
	}
	if r := e.do(t, client, "GET", "/api/v1/session", "", nil); r.status != http.StatusOK || r.body["user"] != "school-TH-BADINH-01" {
		t.Errorf("GET session = %d %v", r.status, r.body)
	}
	r = e.do(t, client, "POST", "/api/v1/session", "application/json",
		mustJSON(map[string]string{"username": "ward-00004", "password": password}))
	if r.status != http.StatusOK || r.body["role"] != "authority" || r.body["scope"] != "00004" {
		t.Errorf("sign-in as ward-00004 = %d %v, want 200 role authority, scope 00004", r.status, r.body)
	}
	r = e.do(t, client, "POST", "/api/v1/session", "application/json",
		mustJSON(map[string]string{"username": "admin", "password": password + "x"}))
	if r.status != http.StatusUnauthorized {
		t.Errorf("sign-in with a wrong password = %d %v, want 401", r.status, r.body)
	}
}
