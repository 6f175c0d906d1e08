package allocation

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// explanationInstances are generated instances that between them give
// every kind of explanation, with every priority atom in the rules.
func explanationInstances() map[string]*Instance {
	out := map[string]*Instance{}
	for _, m := range []Mechanism{MechanismDA, MechanismBoston} {
		for _, tb := range []TieBreak{TieBreakSingle, TieBreakMultiple} {
			inst := Generate(GenConfig{Students: 3000, Schools: 60, Choices: 4, ScoredSchools: 20, Seed: 5, Mechanism: m, TieBreak: tb})
			inst.PriorityRules = []string{"in_catchment+group1", "dt1", "dt2", "dt3", "group2", "group3+sibling", "sibling"}
			inst.Schools[0].Quota = 0 // a school without seats
			out[string(m)+"/"+string(tb)] = inst
		}
	}
	return out
}

// TestExplanationTextsPlain checks that the fixed words of every kind of
// explanation need no escaping in JSON, which WriteJSON relies on to copy
// the texts as they are (see plainTexts).
func TestExplanationTextsPlain(t *testing.T) {
	t.Parallel()
	type kind struct {
		reason   Reason
		missedBy MissedBy
		scored   bool
	}
	seen := map[kind]bool{}
	for name, inst := range explanationInstances() {
		r, err := Place(inst)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !r.plainTexts() {
			t.Fatalf("%s: plainTexts() = false for plain school ids", name)
		}
		for i := range r.Assignments {
			for _, e := range r.Explain(i) {
				seen[kind{e.Reason, e.MissedBy, e.Priority.HasScore}] = true
				for _, text := range []string{e.VI, e.EN} {
					if !isPlain(text) {
						t.Fatalf("%s: explanation %q needs escaping in JSON", name, text)
					}
				}
			}
		}
	}
	for _, k := range []kind{
		{ReasonFull, MissedByClass, false}, {ReasonFull, MissedByScore, true}, {ReasonFull, MissedByScore, false},
		{ReasonFull, MissedByLottery, false}, {ReasonFull, MissedByLottery, true},
		{ReasonFilledEarlier, "", false}, {ReasonNoSeats, "", false},
	} {
		if !seen[k] {
			t.Errorf("no explanation of kind %+v among the instances; the test no longer covers it", k)
		}
	}
}

// TestWriteJSONTexts checks that the explanation texts in a result file
// are exactly the texts of Explain escaped as encoding/json escapes them,
// both when WriteJSON copies them (plain school ids) and when it escapes
// them (ids with quotes, backslashes, control characters, U+2028 and
// invalid UTF-8).
func TestWriteJSONTexts(t *testing.T) {
	t.Parallel()
	insts := explanationInstances()
	odd := insts["da/single"]
	rename := map[string]string{}
	for k := range odd.Schools {
		id := odd.Schools[k].ID
		rename[id] = id + []string{`"q`, `\b`, "\t", "\u2028", "\xff", "é"}[k%6]
		odd.Schools[k].ID = rename[id]
	}
	for k := range odd.Students {
		st := &odd.Students[k]
		for j, c := range st.Choices {
			st.Choices[j] = rename[c]
		}
		for j, c := range st.SiblingsAt {
			st.SiblingsAt[j] = rename[c]
		}
	}
	insts = map[string]*Instance{"da/multiple": insts["da/multiple"], "boston/single": insts["boston/single"], "odd ids": odd}
	for name, inst := range insts {
		r, err := Place(inst)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, want := r.plainTexts(), name != "odd ids"; got != want {
			t.Fatalf("%s: plainTexts() = %v, want %v", name, got, want)
		}
		var out bytes.Buffer
		if err := r.WriteJSON(&out); err != nil {
			t.Fatal(err)
		}
		var file struct {
			Assignments []struct {
				Explanations []struct {
					School json.RawMessage `json:"school"`
					VI     json.RawMessage `json:"vi"`
					EN     json.RawMessage `json:"en"`
				} `json:"explanations"`
			} `json:"assignments"`
		}
		if err := json.Unmarshal(out.Bytes(), &file); err != nil {
			t.Fatalf("%s: the result file does not decode: %v", name, err)
		}
		n := 0
		for i, a := range file.Assignments {
			want := r.Explain(i)
			if len(a.Explanations) != len(want) {
				t.Fatalf("%s: student %d has %d explanations in the file, want %d", name, i, len(a.Explanations), len(want))
			}
			for k, e := range a.Explanations {
				for _, f := range []struct {
					field     string
					got, want []byte
				}{
					{"school", e.School, appendString(nil, want[k].School)},
					{"vi", e.VI, appendString(nil, want[k].VI)},
					{"en", e.EN, appendString(nil, want[k].EN)},
				} {
					if !bytes.Equal(f.got, f.want) {
						t.Fatalf("%s: student %d explanation %d: %s is %s in the file, want %s", name, i, k, f.field, f.got, f.want)
					}
				}
				n++
			}
		}
		if n == 0 {
			t.Fatalf("%s: no explanations", name)
		}
		if name == "odd ids" && !strings.Contains(out.String(), `\u2028`) {
			t.Errorf("%s: the file has no escaped U+2028; the ids did not reach the texts", name)
		}
	}
}

// TestAppendStringMatchesEncodingJSON checks the string escaping of the
// result file against encoding/json without HTML escaping.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "T1", `a"b\c`, "\x00\x1f\t\n\r", "Nguyện vọng", "\u2028\u2029", "\xff\xe2\x80", "<>&", "…"} {
		var want bytes.Buffer
		e := json.NewEncoder(&want)
		e.SetEscapeHTML(false)
		if err := e.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want.String())
		}
	}
}

// TestWriteJSONWorkers checks that the result file is the same bytes
// whether its students' lines are formatted on one goroutine or on
// several, for a result of many chunks and one of a few students, and
// that a write error stops WriteJSON with that error.
func TestWriteJSONWorkers(t *testing.T) {
	t.Parallel()
	for name, inst := range map[string]*Instance{
		"many chunks": Generate(GenConfig{Students: 5*assignmentChunk + 7, Schools: 40, Choices: 4, ScoredSchools: 5, Seed: 7}),
		"one chunk":   Generate(GenConfig{Students: 30, Schools: 4, Choices: 3, Seed: 7}),
	} {
		r, err := Place(inst)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := r.writeJSON(&want, 1); err != nil {
			t.Fatal(err)
		}
		for _, workers := range []int{2, 3, 8} {
			var got bytes.Buffer
			if err := r.writeJSON(&got, workers); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("%s: the file written with %d workers differs from the one written with one", name, workers)
			}
			for _, after := range []int{0, 1, want.Len() / 2, want.Len() - 1} {
				w := &failingWriter{left: after}
				if err := r.writeJSON(w, workers); err != errWriteFailed {
					t.Fatalf("%s, %d workers, failing after %d bytes: error %v, want %v", name, workers, after, err, errWriteFailed)
				}
			}
		}
	}
}

var errWriteFailed = errors.New("disk full")

// failingWriter takes left bytes, then fails.
type failingWriter struct{ left int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, errWriteFailed
	}
	w.left -= len(p)
	return len(p), nil
}

// TestNoteTexts checks that the note of every kind of student's line needs
// no escaping in JSON when the school ids need none (WriteJSON then copies
// it, see plainTexts), and that the file holds each line's note exactly,
// copied or escaped.
func TestNoteTexts(t *testing.T) {
	t.Parallel()
	off := notesInstance()
	off.AdministrativePlacement = false
	late := notesInstance() // a guaranteed child with a location, after the last free seat
	late.Students = append(late.Students, Student{ID: "late", Choices: []string{"T1"}, Guaranteed: true, Location: &Location{Lat: 21.05, Lon: 105.86}})
	odd := notesInstance()
	for k := range odd.Schools {
		odd.Schools[k].ID += "\"\u2028"
	}
	for k := range odd.Students {
		for j := range odd.Students[k].Choices {
			odd.Students[k].Choices[j] += "\"\u2028"
		}
	}
	seen := map[string]bool{}
	for name, inst := range map[string]*Instance{"notes": notesInstance(), "off": off, "late": late, "odd ids": odd} {
		r, err := Place(inst)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var out bytes.Buffer
		if err := r.WriteJSON(&out); err != nil {
			t.Fatal(err)
		}
		var file struct{ Assignments []struct{ VI, EN string } }
		if err := json.Unmarshal(out.Bytes(), &file); err != nil {
			t.Fatalf("%s: the result file does not decode: %v", name, err)
		}
		for i, a := range file.Assignments {
			vi, en := r.AssignmentNote(i)
			if a.VI != vi || a.EN != en {
				t.Errorf("%s: student %d's note in the file is %q / %q, want %q / %q", name, i, a.VI, a.EN, vi, en)
			}
			if vi == "" {
				continue
			}
			kind := en
			if r.Assignments[i].Via == ViaAdministrative {
				kind = "administrative"
			}
			seen[kind] = true
			if name != "odd ids" && (!isPlain(vi) || !isPlain(en)) {
				t.Errorf("%s: note %q / %q needs escaping in JSON", name, vi, en)
			}
		}
	}
	if len(seen) != 4 {
		t.Errorf("%d kinds of note among the instances, want 4: %v", len(seen), seen)
	}
}
