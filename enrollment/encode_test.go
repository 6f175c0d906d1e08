package enrollment_test

import (
	"encoding/json"
	"testing"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/demoapps"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
)

// TestAppendJSON: Registration.AppendJSON writes what json.Marshal writes,
// byte for byte, for the demo city's registrations and for text that
// encoding/json escapes.
func TestAppendJSON(t *testing.T) {
	t.Parallel()
	var regs []enrollment.Registration
	for _, a := range demoapps.Generate(democity.Reference(testNow), 200) {
		regs = append(regs, a.Registration)
	}
	odd := validForm().Registration
	odd.Child.FullName = "Tom & \"Jerry\" <b>\\</b>"
	odd.Child.OverAgeReason = "line\nbreak\ttab\x00\x1f\b\f"
	odd.Residence.Current.Address = "a\u2028b\u2029c\u00a0đ😀"
	odd.Residence.Permanent.Group = "bad \xff\xfe UTF-8 \xed\xa0\x80"
	odd.Guardian.Email = "\ufffd"
	odd.Verification = enrollment.VerificationPending
	odd.Choices = []string{}
	regs = append(regs, odd)
	odd.Choices, odd.PriorityGroup, odd.SchoolYear = nil, -3, 0
	regs = append(regs, odd, enrollment.Registration{})
	for i := range regs {
		checkAppendJSON(t, &regs[i])
	}
}

func checkAppendJSON(t *testing.T, r *enrollment.Registration) {
	t.Helper()
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte("prefix")
	got := r.AppendJSON(prefix)
	if string(got[:len(prefix)]) != "prefix" || string(got[len(prefix):]) != string(want) {
		t.Fatalf("AppendJSON:\n got %s\nwant prefix%s", got, want)
	}
}

// FuzzAppendJSON: AppendJSON agrees with json.Marshal on any text.
func FuzzAppendJSON(f *testing.F) {
	f.Add("Nguyễn Minh Anh", "Số 12 ngõ 34", "TH-BADINH-01", 0)
	f.Add("<script>&amp;</script>", "\u2028\x7f\x00", "\xff", -1)
	f.Fuzz(func(t *testing.T, name, address, choice string, n int) {
		r := validForm().Registration
		r.Child.FullName, r.Guardian.FullName = name, address
		r.Residence.Current.Address, r.Child.OverAgeReason = address, name
		r.Choices = append(r.Choices, choice)
		r.PriorityGroup = n
		checkAppendJSON(t, &r)
	})
}
