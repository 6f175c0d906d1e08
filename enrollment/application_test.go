package enrollment_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

func problemFields(err error) []string {
	var e *enrollment.Error
	if !errors.As(err, &e) {
		return nil
	}
	var out []string
	for _, p := range e.Problems {
		out = append(out, p.Field)
	}
	return out
}

func TestCheck(t *testing.T) {
	t.Parallel()
	cat := testCatalog()
	tests := []struct {
		name       string
		edit       func(f *enrollment.Form)
		wantFields []string // fields reported; nil means valid
		wantCode   enrollment.Code
	}{
		{name: "valid", edit: func(*enrollment.Form) {}},
		{name: "id too short", edit: func(f *enrollment.Form) { f.Child.IDNumber = "00132101234" }, wantFields: []string{"child.id_number"}},
		{name: "id with letters", edit: func(f *enrollment.Form) { f.Child.IDNumber = "00132101234A" }, wantFields: []string{"child.id_number"}},
		{name: "unknown province", edit: func(f *enrollment.Form) { f.Child.IDNumber = "003321012345" }, wantFields: []string{"child.id_number"}},
		{name: "sex digit disagrees", edit: func(f *enrollment.Form) { f.Child.IDNumber = "001221012345" }, wantFields: []string{"child.id_number"}},
		{name: "year digits disagree", edit: func(f *enrollment.Form) { f.Child.IDNumber = "001320012345" }, wantFields: []string{"child.id_number"}},
		{name: "century digit of 1900s", edit: func(f *enrollment.Form) { f.Child.IDNumber = "001121012345" }, wantFields: []string{"child.id_number"}},
		{name: "male child", edit: func(f *enrollment.Form) { f.Child.Sex = enrollment.Male; f.Child.IDNumber = "079221999999" }},
		{name: "missing name", edit: func(f *enrollment.Form) { f.Child.FullName = "  " }, wantFields: []string{"child.full_name"}},
		{name: "name with digits", edit: func(f *enrollment.Form) { f.Child.FullName = "Nguyễn Văn 2" }, wantFields: []string{"child.full_name"}},
		{name: "bidi override in name", edit: func(f *enrollment.Form) { f.Child.FullName = "Nguyễn \u202eVăn An" }, wantFields: []string{"child.full_name"}},
		{name: "bidi isolate in guardian name", edit: func(f *enrollment.Form) { f.Guardian.FullName = "Trần \u2067Hoa" }, wantFields: []string{"guardian.full_name"}},
		{name: "bidi mark in address", edit: func(f *enrollment.Form) { f.Residence.Current.Address = "12 Quán Thánh\u200f" }, wantFields: []string{"residence.current.address"}},
		{name: "arabic letter mark in place of birth", edit: func(f *enrollment.Form) { f.Child.PlaceOfBirth = "Hà\u061cNội" }, wantFields: []string{"child.place_of_birth"}},
		{name: "bidi embedding in reason", edit: func(f *enrollment.Form) {
			f.Child.DateOfBirth = "2019-05-01"
			f.Child.IDNumber = "001319012345"
			f.Child.OverAgeReason = "\u202aTrẻ khuyết tật"
		}, wantFields: []string{"child.over_age_reason"}},
		{name: "bidi in email", edit: func(f *enrollment.Form) { f.Guardian.Email = "hoa\u202e@example.vn" }, wantFields: []string{"guardian.email"}},
		{name: "bad date", edit: func(f *enrollment.Form) { f.Child.DateOfBirth = "2021-02-30" }, wantFields: []string{"child.date_of_birth"}},
		{name: "date in future", edit: func(f *enrollment.Form) { f.Child.DateOfBirth = "2027-01-01"; f.Child.IDNumber = "001327012345" }, wantFields: []string{"child.date_of_birth"}},
		{name: "too young", edit: func(f *enrollment.Form) { f.Child.DateOfBirth = "2022-01-01"; f.Child.IDNumber = "001322012345" }, wantFields: []string{"child.date_of_birth"}},
		{name: "older without reason", edit: func(f *enrollment.Form) { f.Child.DateOfBirth = "2019-05-01"; f.Child.IDNumber = "001319012345" }, wantFields: []string{"child.over_age_reason"}},
		{name: "older with reason", edit: func(f *enrollment.Form) {
			f.Child.DateOfBirth = "2019-05-01"
			f.Child.IDNumber = "001319012345"
			f.Child.OverAgeReason = "Trẻ khuyết tật"
		}},
		{name: "over three years older", edit: func(f *enrollment.Form) {
			f.Child.DateOfBirth = "2017-05-01"
			f.Child.IDNumber = "001317012345"
			f.Child.OverAgeReason = "Từ nước ngoài về"
		}, wantFields: []string{"child.date_of_birth"}},
		{name: "bad sex", edit: func(f *enrollment.Form) { f.Child.Sex = "girl" }, wantFields: []string{"child.sex"}},
		{name: "unknown level", edit: func(f *enrollment.Form) { f.Level = "lop2" }, wantFields: []string{"level"}},
		{name: "no window that year", edit: func(f *enrollment.Form) { f.SchoolYear = 2030 }, wantFields: []string{"school_year"}},
		{name: "missing current ward", edit: func(f *enrollment.Form) { f.Residence.Current = enrollment.Address{} }, wantFields: []string{"residence.current.ward"}},
		{name: "unknown ward", edit: func(f *enrollment.Form) { f.Residence.Current.Ward = "99999" }, wantFields: []string{"residence.current.ward"}},
		{name: "group not in ward", edit: func(f *enrollment.Form) { f.Residence.Current.Group = "TDP 99" }, wantFields: []string{"residence.current.group"}},
		{name: "permanent outside city", edit: func(f *enrollment.Form) { f.Residence.Permanent = enrollment.Address{} }},
		{name: "permanent address without ward", edit: func(f *enrollment.Form) { f.Residence.Permanent.Ward = "" }, wantFields: []string{"residence.permanent.ward"}},
		{name: "bad relation", edit: func(f *enrollment.Form) { f.Guardian.Relation = "aunt" }, wantFields: []string{"guardian.relation"}},
		{name: "bad guardian id", edit: func(f *enrollment.Form) { f.Guardian.IDNumber = "12345" }, wantFields: []string{"guardian.id_number"}},
		{name: "bad phone", edit: func(f *enrollment.Form) { f.Guardian.Phone = "0123" }, wantFields: []string{"guardian.phone"}},
		{name: "phone +84", edit: func(f *enrollment.Form) { f.Guardian.Phone = "+84 912 345 678" }},
		{name: "bad email", edit: func(f *enrollment.Form) { f.Guardian.Email = "hoa@" }, wantFields: []string{"guardian.email"}},
		{name: "priority out of range", edit: func(f *enrollment.Form) { f.PriorityGroup = 4 }, wantFields: []string{"priority_group"}},
		{name: "no choices", edit: func(f *enrollment.Form) { f.Choices = nil }, wantFields: []string{"choices"}},
		{name: "too many choices", edit: func(f *enrollment.Form) {
			f.Choices = []string{"TH-BADINH-01", "TH-BADINH-02", "TH-CUANAM-01", "TH-NGOCHA-01"}
		}, wantFields: []string{"choices"}},
		{name: "duplicate choice", edit: func(f *enrollment.Form) { f.Choices = []string{"TH-BADINH-01", "TH-BADINH-01"} }, wantFields: []string{"choices[1]"}},
		{name: "unknown school", edit: func(f *enrollment.Form) { f.Choices = []string{"TH-BADINH-01", "NOPE"} }, wantFields: []string{"choices[1]"}},
		{name: "school of another level", edit: func(f *enrollment.Form) { f.Choices = []string{"THCS-BADINH-01"} }, wantFields: []string{"choices[0]"}},
		{name: "no consent", edit: func(f *enrollment.Form) { f.Consent = false }, wantFields: []string{"consent"}},
		{name: "many problems at once", edit: func(f *enrollment.Form) {
			f.Child.FullName = ""
			f.Guardian.Phone = "x"
			f.Consent = false
		}, wantFields: []string{"child.full_name", "guardian.phone", "consent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := validForm()
			tt.edit(f)
			a, err := cat.Check(f, testNow)
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("Check() = %v, want no error", err)
				}
				if a == nil || len(a.Choices) == 0 {
					t.Fatalf("Check() returned %+v, want an application", a)
				}
				return
			}
			if diff := cmp.Diff(tt.wantFields, problemFields(err)); diff != "" {
				t.Errorf("Check() problems (-want +got):\n%s\nerr: %v", diff, err)
			}
			var e *enrollment.Error
			if !errors.As(err, &e) || e.Code != enrollment.CodeInvalid {
				t.Errorf("Check() error = %v, want code invalid", err)
			}
			for _, p := range e.Problems {
				if p.Message == "" || p.MessageEN == "" {
					t.Errorf("problem %q lacks a message: %+v", p.Field, p)
				}
			}
		})
	}
}

func TestCheckNormalizes(t *testing.T) {
	t.Parallel()
	f := validForm()
	// "Nguyễn" written with combining marks (NFD) is stored composed (NFC).
	f.Child.FullName = "  Nguye\u0302\u0303n Minh Anh "
	f.Guardian.Phone = "+84 91 234 5678"
	a, err := testCatalog().Check(f, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Nguyễn Minh Anh"; a.Child.FullName != want {
		t.Errorf("FullName = %q, want %q", a.Child.FullName, want)
	}
	if want := "0912345678"; a.Guardian.Phone != want {
		t.Errorf("Phone = %q, want %q", a.Guardian.Phone, want)
	}
}

func TestCheckWindowClosed(t *testing.T) {
	t.Parallel()
	cat := testCatalog()
	w, _ := cat.Window(enrollment.LevelLop1, 2027)
	for _, at := range []time.Time{w.OpensAt.Add(-time.Second), w.ClosesAt} {
		_, err := cat.Check(validForm(), at)
		var e *enrollment.Error
		if !errors.As(err, &e) || e.Code != enrollment.CodeWindowClosed {
			t.Errorf("Check() at %v = %v, want window_closed", at, err)
		}
		if e != nil && (e.Message == "" || e.MessageEN == "") {
			t.Errorf("window_closed lacks a message: %+v", e)
		}
	}
	if _, err := cat.Check(validForm(), w.OpensAt); err != nil {
		t.Errorf("Check() at opening = %v, want accepted", err)
	}
}

func TestCheckIDNumber(t *testing.T) {
	t.Parallel()
	dob := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	tests := []struct {
		id   string
		dob  time.Time
		sex  enrollment.Sex
		want bool
	}{
		{"001321012345", dob("2021-03-15"), enrollment.Female, true},
		{"001221012345", dob("2021-03-15"), enrollment.Male, true},
		{"079099123456", dob("1999-01-01"), enrollment.Male, true},
		{"079199123456", dob("1999-01-01"), enrollment.Female, true},
		{"096400000001", dob("2100-01-01"), enrollment.Male, true},
		{"001321012345", dob("2021-03-15"), enrollment.Male, false},
		{"001322012345", dob("2021-03-15"), enrollment.Female, false},
		{"000321012345", dob("2021-03-15"), enrollment.Female, false},
		{"001621012345", time.Time{}, "", false},
		{"001921012345", time.Time{}, "", false},
		{"0013210123456", time.Time{}, "", false},
	}
	for _, tt := range tests {
		p, got := enrollment.CheckIDNumber(tt.id, tt.dob, tt.sex)
		if got != tt.want {
			t.Errorf("CheckIDNumber(%q, %v, %q) = %v (%s), want %v", tt.id, tt.dob.Format(time.DateOnly), tt.sex, got, p.EN, tt.want)
		}
	}
	d := dob("2016-12-31")
	if id := enrollment.MakeIDNumber("001", d, enrollment.Male, 42); !must(enrollment.CheckIDNumber(id, d, enrollment.Male)) {
		t.Errorf("MakeIDNumber made %q, which does not check", id)
	}
}

func must(_ enrollment.IDProblem, ok bool) bool { return ok }

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"0912345678": "0912345678", "091.234.5678": "0912345678", "+84912345678": "0912345678",
		"84 3 2345 6789": "0323456789", "02438234567": "02438234567",
		"0112345678": "", "091234567": "", "09123456789": "", "abc": "", "": "", "+8491234567a": "",
	}
	for in, want := range tests {
		got, ok := enrollment.NormalizePhone(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestTrackingCode(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		c := enrollment.NewTrackingCode()
		if len(c) != enrollment.TrackingCodeLen || seen[c] {
			t.Fatalf("NewTrackingCode() = %q: wrong length or repeated", c)
		}
		seen[c] = true
		if got, ok := enrollment.NormalizeTrackingCode(strings.ToLower(c[:5] + "-" + c[5:])); !ok || got != c {
			t.Errorf("NormalizeTrackingCode(lower, dashed %q) = %q, %v", c, got, ok)
		}
	}
	for _, bad := range []string{"", "ABC", strings.Repeat("U", 20), strings.Repeat("A", 21)} {
		if _, ok := enrollment.NormalizeTrackingCode(bad); ok {
			t.Errorf("NormalizeTrackingCode(%q) ok, want rejected", bad)
		}
	}
	if got, _ := enrollment.NormalizeTrackingCode("OIL" + strings.Repeat("0", 17)); got != "011"+strings.Repeat("0", 17) {
		t.Errorf("NormalizeTrackingCode reads O/I/L as 0/1/1: got %q", got)
	}
}

func TestDecodeForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		wantCode   enrollment.Code
		wantIn     string // the English message mentions this
	}{
		{"empty", ``, enrollment.CodeBadRequest, "empty"},
		{"malformed", `{"level": "lop1",`, enrollment.CodeBadRequest, "ends too early"},
		{"syntax", `{"level" "lop1"}`, enrollment.CodeBadRequest, "malformed JSON"},
		{"wrong type", `{"school_year": "2027"}`, enrollment.CodeBadRequest, "school_year"},
		{"nested wrong type", `{"child": {"full_name": 5}}`, enrollment.CodeBadRequest, "child.full_name"},
		{"unknown field", `{"levle": "lop1"}`, enrollment.CodeBadRequest, "levle"},
		{"trailing data", `{} {}`, enrollment.CodeBadRequest, "after the JSON"},
		{"array", `[]`, enrollment.CodeBadRequest, "wrong type"},
		{"too large", `{"level":"` + strings.Repeat("x", enrollment.MaxFormBytes) + `"}`, enrollment.CodeTooLarge, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := enrollment.DecodeForm([]byte(tt.body))
			var e *enrollment.Error
			if !errors.As(err, &e) || e.Code != tt.wantCode {
				t.Fatalf("DecodeForm() = %v, want code %s", err, tt.wantCode)
			}
			if !strings.Contains(e.MessageEN, tt.wantIn) || e.Message == "" {
				t.Errorf("DecodeForm() message = %q / %q, want it to mention %q", e.Message, e.MessageEN, tt.wantIn)
			}
		})
	}
}

// FuzzDecodeCheck feeds arbitrary bodies through the whole intake check:
// it must never panic, and every rejection is an *Error with a message in
// both languages; whatever passes has the shape the store expects.
func FuzzDecodeCheck(f *testing.F) {
	f.Add([]byte(`{"level":"lop1","school_year":2027,"child":{"id_number":"001321012345","full_name":"Nguyễn Minh Anh","date_of_birth":"2021-03-15","sex":"female"},"residence":{"current":{"ward":"00004","group":"TDP 3"}},"guardian":{"full_name":"Trần Thị Hoa","relation":"mother","phone":"0912345678"},"choices":["TH-BADINH-01"],"consent":true}`))
	f.Add([]byte(`{"child":{"full_name":"\u0000"}}`))
	f.Add([]byte(`{"choices":[1,2]}`))
	f.Add([]byte(`{"priority_group":1e400}`))
	f.Add([]byte("\xff\xfe"))
	cat := testCatalog()
	f.Fuzz(func(t *testing.T, body []byte) {
		form, err := enrollment.DecodeForm(body)
		if err != nil {
			checkError(t, err)
			return
		}
		a, err := cat.Check(form, testNow)
		if err != nil {
			checkError(t, err)
			return
		}
		if len(a.Child.IDNumber) != 12 || len(a.Choices) == 0 || !a.Level.Valid() || !slices.Contains([]enrollment.Sex{enrollment.Male, enrollment.Female}, a.Child.Sex) {
			t.Fatalf("Check accepted an application of the wrong shape: %+v", a)
		}
	})
}

func checkError(t *testing.T, err error) {
	t.Helper()
	var e *enrollment.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *enrollment.Error", err, err)
	}
	if e.Message == "" || e.MessageEN == "" {
		t.Fatalf("error without a message in both languages: %+v", e)
	}
}

func TestCatalogJSONRoundTrip(t *testing.T) {
	t.Parallel()
	cat := testCatalog()
	b, err := json.Marshal(cat)
	if err != nil {
		t.Fatal(err)
	}
	back, err := enrollment.UnmarshalCatalog(b)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if string(again) != string(b) {
		t.Errorf("catalog changed in a JSON round trip")
	}
	if _, err := back.Check(validForm(), testNow); err != nil {
		t.Errorf("Check against the decoded catalog = %v", err)
	}
	if len(back.Offers(enrollment.LevelLop6, 2027)) == 0 || len(back.Wards()) != len(cat.Wards()) {
		t.Errorf("decoded catalog lost offers or wards")
	}
}

// FuzzFastDecode holds DecodeForm's fast decoders (the one-pass decoder,
// then goccy/go-json) to the standard one: every body DecodeForm accepts
// encoding/json accepts too, decoded to the same form; it
// accepts all those encoding/json does except what the scan before them
// refuses (duplicate or case-variant keys, invalid UTF-8, lone surrogates).
func FuzzFastDecode(f *testing.F) {
	f.Add([]byte(`{"level":"lop1","school_year":2027,"child":{"id_number":"001321012345","full_name":"Nguyễn Minh Anh","date_of_birth":"2021-03-15","sex":"female"},"residence":{"current":{"ward":"00004","group":"TDP 3"}},"guardian":{"full_name":"Trần Thị Hoa","relation":"mother","phone":"0912345678"},"choices":["TH-BADINH-01"],"consent":true}`))
	f.Add([]byte(`{"LEVEL":"lop1","Child":{"FULL_NAME":"a"}}`))
	f.Add([]byte(`{"level":"lop1","level":"mg5"}`))
	f.Add([]byte(`{"choices":null,"child":null}`))
	f.Add([]byte(`{"school_year":2027.0}`))
	f.Add([]byte(`{"child":{"full_name":"\ud800"}}`))
	f.Add([]byte("{\"child\":{\"full_name\":\"\xff\"}}"))
	f.Add([]byte(`{"priority_group":-0,"consent":true} `))
	f.Add([]byte(`{"a":1}`))
	// Around the one-pass decoder: what it takes, and what it leaves to
	// the scan and the decoders.
	f.Add([]byte(" {\n\t\"level\" : \"mg5\" , \"school_year\":2027,\"priority_group\":0,\"choices\":[ ],\"consent\":false}\r\n"))
	f.Add([]byte(`{"school_year":02027}`))
	f.Add([]byte(`{"school_year":2027e0}`))
	f.Add([]byte(`{"school_year":123456789012345678901}`))
	f.Add([]byte(`{"priority_group":-1}`))
	f.Add([]byte(`{"consent":null}`))
	f.Add([]byte(`{"consent":truex}`))
	f.Add([]byte(`{"child":{"full_name":"Tr\u1ea7n \"B\""}}`))
	f.Add([]byte("{\"child\":{\"full_name\":\"\uFFFD\"},\"verification\":\"pending\"}")) // U+FFFD as it is
	f.Add([]byte(`{"child":{"ward":"00004"}}`))
	f.Add([]byte(`{"ward":"00004"}`))
	f.Add([]byte(`{"residence":{"current":{"ward":"00004","ward":"00005"}}}`))
	f.Add([]byte(`{"choices":["a",]}`))
	f.Add([]byte(`{"choices":["a"],"choices":["b"]}`))
	f.Add([]byte(`{"guardian":{"phone":"09"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > enrollment.MaxFormBytes {
			return // refused before decoding
		}
		var std enrollment.Form
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		stdErr := dec.Decode(&std)
		if stdErr == nil {
			if _, err := dec.Token(); !errors.Is(err, io.EOF) {
				stdErr = errors.New("trailing data")
			}
		}
		got, err := enrollment.DecodeForm(body)
		if err == nil && stdErr != nil {
			t.Fatalf("DecodeForm(%q) accepted, encoding/json says %v", body, stdErr)
		}
		if err != nil && stdErr == nil {
			var e *enrollment.Error
			if !errors.As(err, &e) || e.Code != enrollment.CodeBadRequest {
				t.Fatalf("DecodeForm(%q) = %v, want a bad_request refusal where encoding/json accepts", body, err)
			}
			return // refused by the scan
		}
		if err == nil {
			if diff := cmp.Diff(std, *got); diff != "" {
				t.Fatalf("DecodeForm(%q) differs from encoding/json (-std +got):\n%s", body, diff)
			}
		}
	})
}

// BenchmarkCheck measures the checks of a registration as forms send it
// (the intake runs them on every request).
func BenchmarkCheck(b *testing.B) {
	cat := testCatalog()
	f, err := enrollment.DecodeForm([]byte(`{"level":"lop1","school_year":2027,"child":{"id_number":"001321012345","full_name":"Nguyễn Ngọc Minh Anh","date_of_birth":"2021-03-15","sex":"female","ethnicity":"Kinh","place_of_birth":"Bệnh viện Phụ sản Hà Nội"},"residence":{"permanent":{"ward":"00004","group":"TDP 3","address":"Số 12 ngõ 34 phố Quán Thánh"},"current":{"ward":"00004","group":"TDP 3","address":"Số 12 ngõ 34 phố Quán Thánh"}},"guardian":{"full_name":"Trần Thị Hoa","relation":"mother","id_number":"001190012345","phone":"0912345678","email":"hoa@example.vn"},"priority_group":0,"choices":["TH-BADINH-01","TH-BADINH-02"],"consent":true}`))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cat.Check(f, testNow); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cat.Check(f, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
