package enrollment

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"
)

// realisticBody is a registration as the form page sends it.
const realisticBody = `{"level":"lop1","school_year":2027,"child":{"id_number":"001321012345","full_name":"Nguyễn Ngọc Minh Anh","date_of_birth":"2021-03-15","sex":"female","ethnicity":"Kinh","place_of_birth":"Bệnh viện Phụ sản Hà Nội"},"residence":{"permanent":{"ward":"00004","group":"TDP 3","address":"Số 12 ngõ 34 phố Quán Thánh"},"current":{"ward":"00004","group":"TDP 3","address":"Số 12 ngõ 34 phố Quán Thánh"}},"guardian":{"full_name":"Trần Thị Hoa","relation":"mother","id_number":"001190012345","phone":"0912345678","email":"hoa@example.vn"},"priority_group":0,"choices":["TH-BADINH-01","TH-BADINH-02","TH-BADINH-03"],"consent":true}`

func TestScanForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		wantField  string // "" = accepted
		wantIn     string // the English message mentions this
	}{
		{"realistic", realisticBody, "", ""},
		{"escaped key", `{"\u006cevel":"lop1"}`, "", ""},
		{"surrogate pair", `{"child":{"full_name":"\ud83d\ude00"}}`, "", ""},
		{"scalars", `{"school_year":-0.5e+3,"consent":false,"choices":[],"child":null}`, "", ""},
		{"invalid UTF-8", "{\"child\":{\"full_name\":\"Nguy\xe1\xbb n\"}}", "child.full_name", "UTF-8"},
		{"invalid UTF-8 in an array", "{\"choices\":[\"a\",\"\xff\"]}", "choices[1]", "UTF-8"},
		{"invalid UTF-8 in a key", "{\"child\":{\"\xff\":1}}", "child", "UTF-8"},
		{"invalid UTF-8 outside strings", "{\"level\":\xff}", "level", "UTF-8"},
		{"lone high surrogate", `{"child":{"full_name":"\ud800"}}`, "child.full_name", "surrogate"},
		{"lone low surrogate", `{"guardian":{"full_name":"a\udfffb"}}`, "guardian.full_name", "surrogate"},
		{"high then not low", `{"child":{"ethnicity":"\ud800\u0041"}}`, "child.ethnicity", "surrogate"},
		{"high then other escape", `{"child":{"ethnicity":"\ud800\n"}}`, "child.ethnicity", "surrogate"},
		{"two highs", `{"child":{"ethnicity":"\ud800\ud800"}}`, "child.ethnicity", "surrogate"},
		{"duplicate key", `{"level":"lop1","level":"mg5"}`, "level", "twice"},
		{"duplicate nested key", `{"child":{"sex":"male","full_name":"A","sex":"female"}}`, "child.sex", "twice"},
		{"duplicate by escape", `{"level":"lop1","\u006cevel":"mg5"}`, "level", "twice"},
		{"same key in two objects", `{"residence":{"current":{"ward":"1"},"permanent":{"ward":"2"}}}`, "", ""},
		{"upper-case key", `{"LEVEL":"lop1"}`, "LEVEL", `"level"`},
		{"title-case key", `{"Child":{}}`, "Child", `"child"`},
		{"nested case variant", `{"child":{"Full_Name":"A"}}`, "child.Full_Name", `"full_name"`},
		{"kelvin sign", "{\"child\":{\"\u212aey\":1}}", "child.\u212aey", "unknown"},
		{"long s", "{\"child\":{\"\u017fex\":\"male\"}}", "child.\u017fex", `"sex"`},
		{"unknown key", `{"hacker":1}`, "hacker", "unknown field"},
		{"deep nesting", `{"choices":` + strings.Repeat("[", 10_000), "", "nested too deeply"},
		{"truncated", `{"level":"lop1","child":{"full_name":"An`, "", "ends too early"},
		{"truncated escape", `{"level":"\u00`, "", "ends too early"},
		{"bad escape", `{"level":"\x"}`, "", "malformed JSON"},
		{"control character", "{\"level\":\"a\tb\"}", "", "malformed JSON"},
		{"bad number", `{"school_year":01}`, "", "malformed JSON"},
		{"trailing data", `{} {}`, "", "after the JSON"},
		{"bad literal", `{"consent":tru}`, "", "malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := scanForm([]byte(tt.body))
			if tt.wantIn == "" {
				if err != nil {
					t.Fatalf("scanForm(%q) = %v, want accepted", tt.body, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("scanForm(%q) accepted, want an error mentioning %q", tt.body, tt.wantIn)
			}
			if err.Code != CodeBadRequest || err.Message == "" || !strings.Contains(err.MessageEN, tt.wantIn) {
				t.Errorf("scanForm(%q) = %s %q / %q, want bad_request mentioning %q", tt.body, err.Code, err.Message, err.MessageEN, tt.wantIn)
			}
			var got string
			if len(err.Problems) > 0 {
				got = err.Problems[0].Field
			}
			if got != tt.wantField {
				t.Errorf("scanForm(%q) names field %q, want %q", tt.body, got, tt.wantField)
			}
		})
	}
}

// TestFormFields: the scan knows the form's fields at every depth.
func TestFormFields(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"level", "consent", "child", "id_number", "over_age_reason", "permanent", "ward", "email"} {
		if fieldBitOf([]byte(name)) == 0 {
			t.Errorf("formFields lacks %q: %v", name, formFields)
		}
	}
	if fieldBitOf([]byte("Registration")) != 0 {
		t.Errorf("formFields has the embedded struct's name")
	}
}

func TestScanFormAllocates(t *testing.T) {
	body := []byte(realisticBody)
	if n := testing.AllocsPerRun(100, func() { _ = scanForm(body) }); n != 0 {
		t.Errorf("scanForm allocates %v times on a registration, want 0", n)
	}
}

// FuzzScan holds the scan to its promises: it never panics; a body it
// accepts is valid JSON, and what encoding/json reads from it a
// case-sensitive decoder that refuses duplicate keys and invalid UTF-8
// reads the same; a body with invalid UTF-8 is refused.
func FuzzScan(f *testing.F) {
	f.Add([]byte(realisticBody))
	f.Add([]byte(`{"LEVEL":"lop1","Child":{"FULL_NAME":"a"}}`))
	f.Add([]byte(`{"level":"lop1","level":"mg5"}`))
	f.Add([]byte(`{"child":{"full_name":"\ud800"}}`))
	f.Add([]byte(`{"child":{"full_name":"\ud83d\ude00\u00e9\""}}`))
	f.Add([]byte("{\"child\":{\"full_name\":\"\xff\"}}"))
	f.Add([]byte(`{"choices":[[[[[[1]]]]]]}`))
	f.Add([]byte(`{"school_year":2027.0,"priority_group":-0}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		err := scanForm(body)
		if !utf8.Valid(body) && err == nil {
			t.Fatalf("scanForm(%q) accepted invalid UTF-8", body)
		}
		if err != nil {
			if err.Code != CodeBadRequest || err.Message == "" || err.MessageEN == "" {
				t.Fatalf("scanForm(%q) = %+v, want bad_request with both messages", body, err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("scanForm(%q) accepted what encoding/json calls invalid", body)
		}
		var std Form
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&std) != nil {
			return // a wrong type: refused by the decoder, as it should be
		}
		var strict Form
		if err := jsonv2.Unmarshal(body, &strict, jsonv2.RejectUnknownMembers(true)); err != nil {
			t.Fatalf("scanForm(%q) accepted and encoding/json decoded, but a case-sensitive strict decoder says %v", body, err)
		}
		if diff := cmp.Diff(strict, std); diff != "" {
			t.Fatalf("scanForm(%q) accepted, and encoding/json reads it differently from a case-sensitive strict decoder (-strict +std):\n%s", body, diff)
		}
	})
}

// TestDecodeFormFast: a registration as forms send it is decoded in one
// pass, into one copy of the body and the choices.
func TestDecodeFormFast(t *testing.T) {
	for _, body := range []string{realisticBody, " " + realisticBody + "\n",
		`{"level":"mg5","school_year":2027,"child":{"over_age_reason":"ốm"},"residence":{},"guardian":{},"choices":[],"consent":false}`} {
		f, ok := decodeFormFast([]byte(body))
		if !ok {
			t.Fatalf("decodeFormFast(%s) = false, want the one-pass decoding", body)
		}
		var want Form
		if err := decodeStrict([]byte(body), &want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, *f); diff != "" {
			t.Errorf("decodeFormFast(%s) differs from encoding/json (-want +got):\n%s", body, diff)
		}
	}
	body := []byte(realisticBody)
	if n := testing.AllocsPerRun(100, func() { _, _ = DecodeForm(body) }); n > 3 {
		t.Errorf("DecodeForm allocates %v times on a registration, want at most 3 (the form, the body's copy, the choices)", n)
	}
}

// BenchmarkScanForm measures the scan against the decoding it guards.
func BenchmarkScanForm(b *testing.B) {
	body := []byte(realisticBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := scanForm(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeForm measures the whole decoding of a registration, scan
// included.
func BenchmarkDecodeForm(b *testing.B) {
	body := []byte(realisticBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeForm(body); err != nil {
			b.Fatal(err)
		}
	}
}
