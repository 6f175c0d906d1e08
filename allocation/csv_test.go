package allocation

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

// notesInstance has one administrative placement, one guaranteed child
// without a location left without a seat, and a full school with a
// cutoff.
func notesInstance() *Instance {
	return &Instance{
		Seed: "notes", PriorityRules: []string{"dt1"}, AdministrativePlacement: true,
		Schools: []School{
			{ID: "T1", Quota: 1, Catchment: []string{"A"}, Location: &Location{Lat: 21.03, Lon: 105.84}},
			{ID: "T2", Quota: 1, Location: &Location{Lat: 21.04, Lon: 105.85}},
		},
		Students: []Student{
			{ID: "local", Choices: []string{"T1"}, PermanentZone: "A", CurrentZone: "A", Guaranteed: true, Location: &Location{Lat: 21.03, Lon: 105.84}},
			{ID: "moved", Choices: []string{"T1"}, Guaranteed: true, Location: &Location{Lat: 21.031, Lon: 105.841}},
			{ID: "nowhere", Choices: []string{"T1"}, Guaranteed: true},
		},
	}
}

// TestAssignmentNotes: an administrative placement says why this school,
// and a guaranteed child left without a seat says why, in its own line of
// the result file.
func TestAssignmentNotes(t *testing.T) {
	t.Parallel()
	r, err := Place(notesInstance())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var file struct {
		Assignments []struct {
			Student, Via string
			School       *string
			VI, EN       string
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &file); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		"local":   {"", ""},
		"moved":   {"được điều tiết vào trường T2: trường gần nơi ở của con nhất (khoảng 1,37 km)", "placed by the authority at school T2: the school nearest home (about 1.37 km)"},
		"nowhere": {"không có vị trí nơi ở", "has no home location"},
	}
	for _, a := range file.Assignments {
		w := want[a.Student]
		if w[0] == "" {
			if a.VI != "" || a.EN != "" {
				t.Errorf("%s: note %q", a.Student, a.VI)
			}
			continue
		}
		if !strings.Contains(a.VI, w[0]) || !strings.Contains(a.EN, w[1]) {
			t.Errorf("%s (%s): note\n%s\n%s\nwant them to say %q / %q", a.Student, a.Via, a.VI, a.EN, w[0], w[1])
		}
	}
}

// TestCSVTables: the tables hold a line per student and per school, in
// the result's order, a priority level counted from 1 with its rule.
func TestCSVTables(t *testing.T) {
	t.Parallel()
	r, err := Place(notesInstance())
	if err != nil {
		t.Fatal(err)
	}
	var a, s bytes.Buffer
	if err := r.WriteAssignmentsCSV(&a); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteSchoolsCSV(&s); err != nil {
		t.Fatal(err)
	}
	as, err := csv.NewReader(&a).ReadAll()
	if err != nil || len(as) != 4 || strings.Join(as[0], ",") != strings.Join(AssignmentsCSVHeader, ",") {
		t.Fatalf("assignments.csv: %v %q", err, as)
	}
	if got := as[2]; got[0] != "moved" || got[1] != "T2" || got[3] != "administrative" || got[4] == "" ||
		!strings.Contains(got[5], "Nguyện vọng 1, trường T1") || !strings.Contains(got[5], "điều tiết") {
		t.Errorf("line of moved = %q", got)
	}
	ss, err := csv.NewReader(&s).ReadAll()
	if err != nil || len(ss) != 3 {
		t.Fatalf("schools.csv: %v %q", err, ss)
	}
	// T1 filled with "local", class 0 (dt1): level 1, rule dt1.
	if got := ss[1]; got[0] != "T1" || got[2] != "1" || got[5] != "0" || got[6] != "1" || got[7] != "dt1" || len(got[9]) != 64 {
		t.Errorf("line of T1 = %q", got)
	}
}
