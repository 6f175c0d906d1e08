package enrollment

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// TestPlainText: every rune plainText lets through is NFC on its own,
// starts a segment nothing before it joins (so text made of them is NFC
// as it is), and is neither a control nor a bidirectional formatting
// character; what it refuses includes those.
func TestPlainText(t *testing.T) {
	t.Parallel()
	var all strings.Builder
	for r := rune(0); r <= 0x10ffff; r++ {
		s := string(r)
		if !plainText(s) {
			continue
		}
		if !norm.NFC.IsNormalString(s) || !norm.NFC.PropertiesString(s).BoundaryBefore() {
			t.Errorf("plainText lets U+%04X through, which is not NFC or joins what comes before it", r)
		}
		if unicode.IsControl(r) || isBidiControl(r) {
			t.Errorf("plainText lets U+%04X through, a control or bidirectional formatting character", r)
		}
		all.WriteRune(r)
	}
	if s := all.String(); !plainText(s) || !norm.NFC.IsNormalString(s) {
		t.Errorf("the runes plainText lets through, together, are not NFC")
	}
	for _, s := range []string{"Nguyễn Ngọc Minh Anh", "Số 12 ngõ 34 phố Quán Thánh", "Ơ ư Đ đ", ""} {
		if !plainText(s) {
			t.Errorf("plainText(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"Nguye\u0303n", "a\u202eb", "a\tb", "\x7f", "\u0085", "\xff", "a\u200fb", "Ω\u2126"} {
		if plainText(s) {
			t.Errorf("plainText(%q) = true, want false", s)
		}
	}
}

// FuzzPlainTextChecks: the checks of text and names take their short way
// for plainText and come to what the full way does.
func FuzzPlainTextChecks(f *testing.F) {
	for _, s := range []string{"Nguyễn Ngọc Minh Anh", " Số 12\u00a0", "", "  ", "Tom 2", "a.-'b", strings.Repeat("ắ", 101), "\u00a0x\u00a0"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if !plainText(s) {
			return
		}
		var fast, full checker
		for _, required := range []bool{false, true} {
			a, b := fast.text("f", s, max, required), full.anyText("f", s, max, required)
			if a != b {
				t.Fatalf("text(%q) = %q, full way %q", s, a, b)
			}
		}
		a, b := fast.name("n", s, "tên", "the name"), full.nameOf("n", s, "tên", "the name", false)
		if a != b {
			t.Fatalf("name(%q) = %q, full way %q", s, a, b)
		}
		if !slices.Equal(fast.problems, full.problems) {
			t.Fatalf("problems of %q: %+v, full way %+v", s, fast.problems, full.problems)
		}
	})
}

func TestIsLetter(t *testing.T) {
	t.Parallel()
	for r := rune(0); r <= 0x10ffff; r++ {
		if isLetter(r) != unicode.IsLetter(r) {
			t.Fatalf("isLetter(U+%04X) = %v, unicode.IsLetter says %v", r, isLetter(r), unicode.IsLetter(r))
		}
	}
}
