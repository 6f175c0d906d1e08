package enrollment_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// The fuzz tests below hold the parsers of what parents type to properties,
// not only to "no panic". Their seed corpora are in testdata/fuzz/<Name>/
// and run with every go test; make fuzz explores beyond them.

// FuzzCheckIDNumber: an accepted personal ID number has 12 digits, a known
// province and a century-and-sex digit from 0 to 5; checked against a date
// of birth and sex, that digit and digits 5–6 agree with them. A refusal
// says why in both languages. Every number MakeIDNumber builds is accepted.
func FuzzCheckIDNumber(f *testing.F) {
	provinces := slices.Sorted(maps.Keys(enrollment.Provinces))
	f.Fuzz(func(t *testing.T, id string, year int, female bool, serial int) {
		var dob time.Time
		sex := enrollment.Male
		if female {
			sex = enrollment.Female
		}
		if year >= 1900 && year < 2200 {
			dob = time.Date(year, 6, 15, 0, 0, 0, 0, time.UTC)
		}
		p, ok := enrollment.CheckIDNumber(id, dob, sex)
		if !ok {
			if p.VI == "" || p.EN == "" || !utf8.ValidString(p.VI) || !utf8.ValidString(p.EN) {
				t.Fatalf("CheckIDNumber(%q) refused without a message in both languages: %+v", id, p)
			}
		} else {
			if p != (enrollment.IDProblem{}) {
				t.Fatalf("CheckIDNumber(%q) accepted with a problem %+v", id, p)
			}
			if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
				t.Fatalf("CheckIDNumber(%q) accepted a number that is not 12 digits", id)
			}
			if _, known := enrollment.Provinces[id[:3]]; !known {
				t.Fatalf("CheckIDNumber(%q) accepted unknown province %s", id, id[:3])
			}
			d := int(id[3] - '0')
			if d > 5 {
				t.Fatalf("CheckIDNumber(%q) accepted century-and-sex digit %d", id, d)
			}
			if !dob.IsZero() {
				if d/2 != (year-1900)/100 || (d%2 == 1) != female {
					t.Fatalf("CheckIDNumber(%q, %d, %s) accepted digit %d of another century or sex", id, year, sex, d)
				}
				if id[4:6] != dob.Format("06") {
					t.Fatalf("CheckIDNumber(%q, %d) accepted birth-year digits %s", id, year, id[4:6])
				}
				if _, ok := enrollment.CheckIDNumber(id, time.Time{}, ""); !ok {
					t.Fatalf("CheckIDNumber(%q) accepted with a date of birth but not without", id)
				}
			}
		}
		if dob.IsZero() || serial < 0 {
			return
		}
		code := provinces[serial%len(provinces)]
		made := enrollment.MakeIDNumber(code, dob, sex, serial)
		if p, ok := enrollment.CheckIDNumber(made, dob, sex); !ok {
			t.Fatalf("MakeIDNumber(%s, %d, %s, %d) = %q, refused: %s", code, year, sex, serial, made, p.EN)
		}
	})
}

// FuzzDateOfBirth: a date of birth is accepted exactly when it is a real
// calendar date written YYYY-MM-DD, not in the future, and of a birth year
// the level admits; the stored date is the date in that canonical form, so
// PostgreSQL reads the same day. A refusal names the date field alone.
func FuzzDateOfBirth(f *testing.F) {
	cat := testCatalog()
	win, _ := cat.Window(enrollment.LevelLop1, 2027)
	f.Fuzz(func(t *testing.T, dob string) {
		form := validForm()
		form.Child.DateOfBirth = dob
		form.Child.OverAgeReason = "Trẻ khuyết tật"
		parsed, perr := time.Parse(time.DateOnly, strings.TrimSpace(dob))
		if perr == nil {
			if parsed.Year() < 1900 || parsed.Year() >= 2200 {
				return // no personal ID number can agree with it
			}
			form.Child.IDNumber = enrollment.MakeIDNumber("001", parsed, enrollment.Female, 12345)
		}
		a, err := cat.Check(form, testNow)
		want := perr == nil && !parsed.After(testNow) && parsed.Year() <= win.BirthYear && parsed.Year() >= win.BirthYear-enrollment.MaxOverAge
		if (err == nil) != want {
			t.Fatalf("Check(date of birth %q) = %v, want accepted %v", dob, err, want)
		}
		if err != nil {
			if fields := problemFields(err); !slices.Equal(fields, []string{"child.date_of_birth"}) {
				t.Fatalf("Check(date of birth %q) problems on %v, want child.date_of_birth alone", dob, fields)
			}
			return
		}
		if a.Child.DateOfBirth != parsed.Format(time.DateOnly) {
			t.Fatalf("Check(date of birth %q) stored %q, not the canonical %s", dob, a.Child.DateOfBirth, parsed.Format(time.DateOnly))
		}
		if keep := parsed.Year() < win.BirthYear; (a.Child.OverAgeReason != "") != keep {
			t.Fatalf("Check(date of birth %q) kept the over-age reason %q; want kept %v", dob, a.Child.OverAgeReason, keep)
		}
	})
}

// FuzzName: a name is accepted for the child exactly when it is accepted
// for the guardian. An accepted name is stored trimmed and in NFC, has at
// least one letter and only letters, marks, spaces and ' - .; checking it
// again changes nothing, and the register's comparison takes it for the
// name typed. A refusal names the name fields alone.
func FuzzName(f *testing.F) {
	cat := testCatalog()
	f.Fuzz(func(t *testing.T, name string) {
		form := validForm()
		form.Child.FullName, form.Guardian.FullName = name, name
		a, err := cat.Check(form, testNow)
		if err != nil {
			fields := problemFields(err)
			if !slices.Equal(fields, []string{"child.full_name", "guardian.full_name"}) {
				t.Fatalf("Check(name %q) problems on %v, want both name fields and only them", name, fields)
			}
			return
		}
		got := a.Child.FullName
		if got != a.Guardian.FullName {
			t.Fatalf("name %q stored as %q for the child and %q for the guardian", name, got, a.Guardian.FullName)
		}
		if !utf8.ValidString(got) || !norm.NFC.IsNormalString(got) || got != strings.TrimSpace(got) || got == "" {
			t.Fatalf("name %q stored as %q: not trimmed, non-empty NFC", name, got)
		}
		if n := utf8.RuneCountInString(got); n > 100 {
			t.Fatalf("name %q stored with %d characters", name, n)
		}
		letter := false
		for _, r := range got {
			letter = letter || unicode.IsLetter(r)
			if !(unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || strings.ContainsRune(" '-.", r)) {
				t.Fatalf("name %q stored as %q with %q", name, got, r)
			}
		}
		if !letter {
			t.Fatalf("name %q accepted without a letter", name)
		}
		again := &enrollment.Form{Registration: a.Registration, Consent: true}
		b, err := cat.Check(again, testNow)
		if err != nil || b.Child.FullName != got {
			t.Fatalf("checking the stored name %q again = %v, %q; want it unchanged", got, err, b.Child.FullName)
		}
		if !enrollment.SameName(name, got) {
			t.Fatalf("SameName(%q, %q) = false for the name as typed and as stored", name, got)
		}
	})
}

// FuzzNormalizePhone: an accepted phone number is all digits, a 10-digit
// mobile (03, 05, 07, 08, 09) or an 11-digit landline (02); normalizing it
// again, or writing it with +84 and spaces, gives the same number.
func FuzzNormalizePhone(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := enrollment.NormalizePhone(s)
		if !ok {
			if d != "" {
				t.Fatalf("NormalizePhone(%q) refused but returned %q", s, d)
			}
			return
		}
		if strings.Trim(d, "0123456789") != "" {
			t.Fatalf("NormalizePhone(%q) = %q, not all digits", s, d)
		}
		mobile := len(d) == 10 && d[0] == '0' && strings.ContainsRune("35789", rune(d[1]))
		landline := len(d) == 11 && strings.HasPrefix(d, "02")
		if !mobile && !landline {
			t.Fatalf("NormalizePhone(%q) = %q, neither a mobile nor a landline number", s, d)
		}
		for _, variant := range []string{d, "+84" + d[1:], "84" + d[1:], d[:4] + " " + d[4:7] + "." + d[7:], " +84-" + d[1:] + " "} {
			if got, ok := enrollment.NormalizePhone(variant); !ok || got != d {
				t.Fatalf("NormalizePhone(%q) = %q, %v; want %q as for %q", variant, got, ok, d, s)
			}
		}
	})
}

// FuzzNormalizeTrackingCode: an accepted code has 20 characters of the
// code alphabet; normalizing it again, in lower case or with dashes and
// spaces, gives the same code. Every new code reads as itself.
func FuzzNormalizeTrackingCode(f *testing.F) {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	f.Fuzz(func(t *testing.T, s string) {
		fresh := enrollment.NewTrackingCode()
		if got, ok := enrollment.NormalizeTrackingCode(fresh); !ok || got != fresh {
			t.Fatalf("NormalizeTrackingCode(new code %q) = %q, %v", fresh, got, ok)
		}
		code, ok := enrollment.NormalizeTrackingCode(s)
		if !ok {
			if code != "" {
				t.Fatalf("NormalizeTrackingCode(%q) refused but returned %q", s, code)
			}
			return
		}
		if len(code) != enrollment.TrackingCodeLen || strings.Trim(code, alphabet) != "" {
			t.Fatalf("NormalizeTrackingCode(%q) = %q, not %d characters of the alphabet", s, code, enrollment.TrackingCodeLen)
		}
		for _, variant := range []string{code, strings.ToLower(code), code[:5] + "-" + code[5:10] + " " + code[10:15] + "-" + code[15:]} {
			if got, ok := enrollment.NormalizeTrackingCode(variant); !ok || got != code {
				t.Fatalf("NormalizeTrackingCode(%q) = %q, %v; want %q as for %q", variant, got, ok, code, s)
			}
		}
	})
}

// FuzzGuardianEmail: an accepted e-mail address is stored as typed less
// surrounding spaces, is valid UTF-8, has an @ and at most 200 bytes; a
// refusal names the e-mail field alone.
func FuzzGuardianEmail(f *testing.F) {
	cat := testCatalog()
	f.Fuzz(func(t *testing.T, email string) {
		form := validForm()
		form.Guardian.Email = email
		a, err := cat.Check(form, testNow)
		if err != nil {
			if fields := problemFields(err); !slices.Equal(fields, []string{"guardian.email"}) {
				t.Fatalf("Check(email %q) problems on %v, want guardian.email alone", email, fields)
			}
			return
		}
		got := a.Guardian.Email
		if got != strings.TrimSpace(email) {
			t.Fatalf("email %q stored as %q", email, got)
		}
		if got != "" && (!utf8.ValidString(got) || !strings.Contains(got, "@") || len(got) > 200) {
			t.Fatalf("email %q accepted", got)
		}
	})
}
