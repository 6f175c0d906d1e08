package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tuyensinh/tuyensinh/allocation"
)

// The -update flag rewrites golden files. Another test file of this
// package may define it too; then both share it.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

const (
	placeInput  = "../../allocation/testdata/ba-dinh-lop1.json"
	placeGolden = "../../allocation/testdata/ba-dinh-lop1.golden.json"
)

// runPlaceT runs the place subcommand and returns its error and stderr.
func runPlaceT(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := runPlace(context.Background(), args, os.Getenv, &stdout, &stderr)
	return stdout.String() + stderr.String(), err
}

func TestPlaceGolden(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "result.json")
	if msg, err := runPlaceT(t, "--input", placeInput, "--output", out); err != nil {
		t.Fatalf("place: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if updateGolden() {
		if err := os.WriteFile(placeGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(placeGolden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("result differs from %s (-want +got):\n%s", placeGolden, d)
	}
}

func TestPlaceDeterministic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var outs [2][]byte
	for k := range outs {
		out := filepath.Join(dir, "result.json")
		if msg, err := runPlaceT(t, "--input", placeInput, "--output", out); err != nil {
			t.Fatalf("place: %v\n%s", err, msg)
		}
		outs[k], _ = os.ReadFile(out)
	}
	if !bytes.Equal(outs[0], outs[1]) || len(outs[0]) == 0 {
		t.Errorf("two runs wrote different bytes (%d and %d)", len(outs[0]), len(outs[1]))
	}
	// Standard output gets the same bytes.
	var stdout, stderr bytes.Buffer
	if err := runPlace(context.Background(), []string{"--input", placeInput, "--output", "-"}, os.Getenv, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdout.Bytes(), outs[0]) {
		t.Errorf("--output - wrote other bytes than the file")
	}
}

func TestPlaceBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input string
		want        []string
	}{
		{"bad records", `{"seed":"s","schools":[{"id":"T1","quota":1},{"id":"T1","quota":-1}],
			"students":[{"id":"hs-1","choices":["T1"]},{"id":"hs-2","choices":["T9"]},{"id":"hs-1","choices":[]}]}`,
			[]string{`schools[1] (id "T1"): duplicate id`, `schools[1] (id "T1"): quota: negative quota -1`,
				`students[1] (id "hs-2"): choices[0]: unknown school "T9"`, `students[2] (id "hs-1"): duplicate id, first used by students[0]`}},
		{"missing seed", `{"schools":[],"students":[]}`, []string{"seed: missing"}},
		{"unknown mechanism", `{"seed":"s","mechanism":"lottery"}`, []string{`unknown mechanism "lottery"`}},
		{"malformed", "{\"seed\":\"s\",\n\"students\":[{\"id\":\"a\" \"choices\":[]}]}", []string{"malformed JSON at line 2", "students[0]"}},
		{"unknown field", `{"seed":"s","students":[{"id":"a","priority":1}]}`, []string{`students[0].priority`, `unknown field "priority"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			in := filepath.Join(dir, "instance.json")
			if err := os.WriteFile(in, []byte(tt.input), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "result.json")
			_, err := runPlaceT(t, "--input", in, "--output", out)
			if err == nil {
				t.Fatalf("place on a bad instance returned no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("output directory holds %v, want only the input (no output, no temporary file)", entries)
			}
		})
	}
}

func TestPlaceFailureKeepsOldOutput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "bad.json"), filepath.Join(dir, "result.json")
	os.WriteFile(in, []byte(`{"seed":""}`), 0o644)
	os.WriteFile(out, []byte("previous result"), 0o644)
	if _, err := runPlaceT(t, "--input", in, "--output", out); err == nil {
		t.Fatal("no error")
	}
	if got, _ := os.ReadFile(out); string(got) != "previous result" {
		t.Errorf("output file now holds %q, want it untouched", got)
	}
}

func TestPlaceUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "give --input FILE --output FILE to run on an instance file, or --run"},
		{[]string{"--output", "x.json"}, "or --run --level L --school-year Y"},
		{[]string{"--run", "--publish", "3"}, "not both"},
		{[]string{"--input", placeInput}, "--output is required"},
		{[]string{"--input", "/nonexistent/instance.json", "--output", "x.json"}, "read input"},
		{[]string{"--input", placeInput, "--output", "/nonexistent/dir/result.json"}, "write output"},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"--input", placeInput, "--output", "x", "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		_, err := runPlaceT(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("place %q = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

// TestPlaceHelp checks that place -h lists every flag the README uses,
// the generator's included.
func TestPlaceHelp(t *testing.T) {
	t.Parallel()
	msg, err := runPlaceT(t, "-h")
	if err != nil {
		t.Fatalf("place -h: %v", err)
	}
	for _, flag := range []string{"--input file", "--output file", "--generate N", "--schools int", "--choices int",
		"--gen-seed int", "--scored-schools int", "--mechanism mechanism", "--cpuprofile file", "--v\n"} {
		if !strings.Contains(msg, flag) {
			t.Errorf("place -h does not list %q:\n%s", flag, msg)
		}
	}
}

func TestPlaceGenerate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gen, out := filepath.Join(dir, "instance.json"), filepath.Join(dir, "result.json")
	if msg, err := runPlaceT(t, "--generate", "300", "--schools", "12", "--choices", "3", "--gen-seed", "7", "--output", gen); err != nil {
		t.Fatalf("generate: %v\n%s", err, msg)
	}
	data, err := os.ReadFile(gen)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := allocation.Decode(data)
	if err != nil {
		t.Fatalf("generated file does not decode: %v", err)
	}
	if len(inst.Students) != 300 || len(inst.Schools) != 12 {
		t.Errorf("generated %d students and %d schools, want 300 and 12", len(inst.Students), len(inst.Schools))
	}
	msg, err := runPlaceT(t, "--input", gen, "--output", out)
	if err != nil {
		t.Fatalf("place on a generated file: %v\n%s", err, msg)
	}
	if !strings.Contains(msg, "placed 300 students at 12 schools (da)") {
		t.Errorf("summary = %q", msg)
	}
}
