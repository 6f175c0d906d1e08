package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// TestSeedVerifyRegistry: seed --demo fills the demo population register
// and says how many children it holds; --verify-registry turns verification
// on for the named levels' windows only, and a second seed without it turns
// it off again.
func TestSeedVerifyRegistry(t *testing.T) {
	t.Parallel()
	dbURL := testenv.NewDatabase(t)
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return dbURL
		}
		return ""
	}
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	verifying := func() []string {
		var levels []string
		if err := db.SelectContext(t.Context(), &levels, `SELECT level FROM windows WHERE verify_registry ORDER BY level`); err != nil {
			t.Fatal(err)
		}
		return levels
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"seed", "--demo", "--verify-registry", "lop1,mg5"}, "lop1 mg5"},
		{[]string{"seed", "--demo"}, ""},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(t.Context(), tt.args, getenv, &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v\n%s", tt.args, err, stderr.String())
		}
		if got := strings.Join(verifying(), " "); got != tt.want {
			t.Errorf("%v: windows verifying = %q, want %q", tt.args, got, tt.want)
		}
		wantLine := fmt.Sprintf("demo population register: %d children", 3*democity.PopulationPerLevel)
		if !strings.Contains(stdout.String(), wantLine) {
			t.Errorf("%v: output does not say %q:\n%s", tt.args, wantLine, stdout.String())
		}
	}
	var n int
	if err := db.GetContext(t.Context(), &n, `SELECT count(*) FROM population_register`); err != nil || n != 3*democity.PopulationPerLevel {
		t.Errorf("population_register has %d rows (%v), want %d", n, err, 3*democity.PopulationPerLevel)
	}
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"seed", "--demo", "--verify-registry", "lop2"}, getenv, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "lop2") {
		t.Errorf("seed --verify-registry lop2 = %v, want an error naming lop2", err)
	}
}
