package allocation

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in        string
		mechanism Mechanism
		tieBreak  TieBreak
		admin     bool
	}{
		{`{"seed":"s"}`, MechanismDA, TieBreakSingle, true},
		{`{"seed":"s","administrative_placement":false}`, MechanismDA, TieBreakSingle, false},
		{`{"seed":"s","administrative_placement":null}`, MechanismDA, TieBreakSingle, true},
		{`{"seed":"s","mechanism":"boston","tie_break":"multiple","administrative_placement":true}`, MechanismBoston, TieBreakMultiple, true},
	}
	for _, tt := range tests {
		inst, err := Decode([]byte(tt.in))
		if err != nil {
			t.Fatalf("Decode(%s): %v", tt.in, err)
		}
		if inst.Mechanism != tt.mechanism || inst.TieBreak != tt.tieBreak || inst.AdministrativePlacement != tt.admin || len(inst.PriorityRules) != 0 {
			t.Errorf("Decode(%s) = mechanism %q, tie_break %q, admin %v, rules %v; want %q, %q, %v, none",
				tt.in, inst.Mechanism, inst.TieBreak, inst.AdministrativePlacement, inst.PriorityRules, tt.mechanism, tt.tieBreak, tt.admin)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"syntax", "{\n  \"seed\": \"s\",\n  \"students\": [\n    {\"id\": \"a\",}\n  ]\n}", []string{"malformed JSON at line 4, column 16", "students[0]"}},
		{"truncated", `{"seed":"s","students":[{"id":"a"`, []string{"malformed JSON", "unexpected end of input"}},
		{"empty", ``, []string{"malformed JSON", "line 1, column 1"}},
		{"wrong type in a list", "{\"seed\":\"s\",\n\"students\":[{\"id\":\"a\",\"choices\":[\"T1\", 7]}]}", []string{"line 2, column 40", "students[0].choices[1]", "cannot use JSON number as a string"}},
		{"wrong type of quota", `{"seed":"s","schools":[{"id":"T1","quota":"ten"}]}`, []string{"schools[0].quota", "cannot use JSON string as a number"}},
		{"fractional quota", `{"seed":"s","schools":[{"id":"T1","quota":1.5}]}`, []string{"schools[0].quota", "number 1.5"}},
		{"seed not a string", `{"seed":42}`, []string{"seed", "cannot use JSON number as a string"}},
		{"unknown top-level field", `{"seed":"s","mechanisms":"da"}`, []string{`line 1, column 13`, `(mechanisms): unknown field "mechanisms"`}},
		{"unknown student field", "{\"seed\":\"s\",\"students\":[{\"id\":\"a\"},\n{\"id\":\"b\",\"choise\":[]}]}", []string{"line 2", `students[1].choise`, `unknown field "choise"`}},
		{"unknown location field", `{"seed":"s","schools":[{"id":"T1","location":{"lat":1,"lng":2}}]}`, []string{`schools[0].location.lng`}},
		{"trailing data", `{"seed":"s"} {"seed":"t"}`, []string{"line 1, column 14", "unexpected data after the instance"}},
		{"not an object", `[1,2]`, []string{"cannot use JSON array"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.in))
			if err == nil {
				t.Fatalf("Decode(%q) = nil error, want %q", tt.in, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Decode(%q) error = %q, want it to contain %q", tt.in, err, w)
				}
			}
		})
	}
}

// validInstance is a small instance that every validation case breaks in
// one way.
func validInstance() *Instance {
	return &Instance{
		Level: "lop1", Seed: "s", PriorityRules: []string{"dt1", "sibling"},
		Schools: []School{
			{ID: "S1", Quota: 1, Catchment: []string{"A"}, Scores: map[string]float64{"a": 1}},
			{ID: "S2", Quota: 2, Location: &Location{Lat: 21, Lon: 105.8}},
		},
		Students: []Student{
			{ID: "a", Choices: []string{"S1", "S2"}},
			{ID: "b", Choices: []string{"S2"}, SiblingsAt: []string{"elsewhere"}},
		},
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	if err := Validate(validInstance()); err != nil {
		t.Fatalf("Validate(valid instance) = %v", err)
	}
	tests := []struct {
		name   string
		change func(*Instance)
		want   string
	}{
		{"missing seed", func(in *Instance) { in.Seed = "" }, "seed: missing"},
		{"unknown mechanism", func(in *Instance) { in.Mechanism = "ttc" }, `mechanism: unknown mechanism "ttc"`},
		{"unknown tie-break", func(in *Instance) { in.TieBreak = "coin" }, `tie_break: unknown tie-break "coin"`},
		{"unknown level", func(in *Instance) { in.Level = "lop9" }, `level: unknown level "lop9"`},
		{"unknown atom", func(in *Instance) { in.PriorityRules = []string{"dt1", "dt1+near"} }, `priority_rules[1] "dt1+near": unknown atom "near"`},
		{"empty atom", func(in *Instance) { in.PriorityRules = []string{"dt1+"} }, `priority_rules[0] "dt1+": unknown atom ""`},
		{"duplicate school", func(in *Instance) { in.Schools[1].ID = "S1" }, `schools[1] (id "S1"): duplicate id, first used by schools[0]`},
		{"missing school id", func(in *Instance) { in.Schools[1].ID = "" }, `schools[1]: missing id`},
		{"negative quota", func(in *Instance) { in.Schools[0].Quota = -1 }, `schools[0] (id "S1"): quota: negative quota -1`},
		{"empty zone", func(in *Instance) { in.Schools[0].Catchment = []string{"A", ""} }, `schools[0] (id "S1"): catchment[1]: empty zone`},
		{"bad school location", func(in *Instance) { in.Schools[1].Location.Lat = 91 }, `schools[1] (id "S2"): location: latitude 91 out of range`},
		{"score for unknown student", func(in *Instance) { in.Schools[0].Scores["ghost"] = 3 }, `schools[0] (id "S1"): scores["ghost"]: unknown student "ghost"`},
		{"score not finite", func(in *Instance) { in.Schools[0].Scores["a"] = math.NaN() }, `schools[0] (id "S1"): scores["a"]: score NaN is not a finite number`},
		{"duplicate student", func(in *Instance) { in.Students[1].ID = "a" }, `students[1] (id "a"): duplicate id, first used by students[0]`},
		{"missing student id", func(in *Instance) { in.Students[1].ID = "" }, `students[1]: missing id`},
		{"unknown school in choices", func(in *Instance) { in.Students[0].Choices[1] = "T99" }, `students[0] (id "a"): choices[1]: unknown school "T99"`},
		{"duplicate choice", func(in *Instance) { in.Students[0].Choices[1] = "S1" }, `students[0] (id "a"): choices[1]: school "S1" chosen twice`},
		{"priority group too high", func(in *Instance) { in.Students[1].PriorityGroup = 4 }, `students[1] (id "b"): priority_group: 4 out of range 0..3`},
		{"priority group negative", func(in *Instance) { in.Students[1].PriorityGroup = -1 }, `students[1] (id "b"): priority_group: -1 out of range 0..3`},
		{"bad student location", func(in *Instance) { in.Students[0].Location = &Location{Lat: 21, Lon: 181} }, `students[0] (id "a"): location: longitude 181 out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inst := validInstance()
			tt.change(inst)
			err := Validate(inst)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Validate = %v, want an *InputError", err)
			}
			if !strings.HasPrefix(ie.Problems[0], tt.want) {
				t.Errorf("Validate problems = %q, want the first to start with %q", ie.Problems, tt.want)
			}
			if _, err := Place(inst); !errors.As(err, &ie) {
				t.Errorf("Place = %v, want an *InputError", err)
			}
		})
	}
}

func TestValidateCollectsProblems(t *testing.T) {
	t.Parallel()
	inst := validInstance()
	inst.Seed = ""
	for i := range 25 {
		inst.Students = append(inst.Students, Student{ID: fmt.Sprintf("x%d", i), Choices: []string{"T99"}})
	}
	err := Validate(inst)
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("Validate = %v, want an *InputError", err)
	}
	if len(ie.Problems) != maxProblems || ie.Omitted != 26-maxProblems {
		t.Errorf("got %d problems listed and %d omitted, want %d and %d", len(ie.Problems), ie.Omitted, maxProblems, 26-maxProblems)
	}
	if ie.Problems[0] != "seed: missing; the public lottery seed is required" || ie.Problems[1] != `students[2] (id "x0"): choices[0]: unknown school "T99"` {
		t.Errorf("problems not in input order: %q", ie.Problems[:2])
	}
	for _, w := range []string{"26 problems", "… and 6 more"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestDecodeThenValidate(t *testing.T) {
	t.Parallel()
	in := `{"seed":"s","schools":[{"id":"T1","quota":1}],
	"students":[{"id":"hs-1","choices":["T1"]},{"id":"hs-2","choices":["T1","T2"]}]}`
	inst, err := Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	err = Validate(inst)
	if want := `invalid instance: students[1] (id "hs-2"): choices[1]: unknown school "T2"`; err == nil || err.Error() != want {
		t.Errorf("Validate = %v, want %s", err, want)
	}
}

// TestDuplicateStudentsLarge exercises the radix-sorted duplicate check.
func TestDuplicateStudentsLarge(t *testing.T) {
	t.Parallel()
	inst := &Instance{Seed: "s", Schools: []School{{ID: "T", Quota: 1}}}
	for i := range 40_000 {
		inst.Students = append(inst.Students, Student{ID: fmt.Sprintf("hs-%d", i)})
	}
	inst.Students = append(inst.Students, Student{ID: "hs-17"}, Student{ID: "hs-39999"}, Student{ID: "hs-17"})
	err := Validate(inst)
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("Validate = %v, want an *InputError", err)
	}
	want := []string{
		`students[40000] (id "hs-17"): duplicate id, first used by students[17]`,
		`students[40001] (id "hs-39999"): duplicate id, first used by students[39999]`,
		`students[40002] (id "hs-17"): duplicate id, first used by students[17]`,
	}
	if d := cmp.Diff(want, ie.Problems); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if got := radixSort([]uint64{5, 1 << 63, 3, 1 << 20, 0}); !slices.IsSorted(got) {
		t.Errorf("radixSort = %v", got)
	}
	xs := make([]uint64, 1<<15)
	for k := range xs {
		xs[k] = uint64(k) * 0x9e3779b97f4a7c15
	}
	if got := radixSort(xs); !slices.IsSorted(got) {
		t.Errorf("radixSort of %d numbers is not sorted", len(xs))
	}
}
