package demoapps_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/demoapps"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
)

// TestGenerate: n applications, the same for the same n, each one that
// the registration checks accept (apart from the window's time), and some
// of them accepted.
func TestGenerate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	ref := democity.Reference(now)
	a, b := demoapps.Generate(ref, 700), demoapps.Generate(ref, 700)
	if len(a) != 700 || !reflect.DeepEqual(a, b) {
		t.Fatalf("Generate(700) gave %d applications, twice equal: %v", len(a), reflect.DeepEqual(a, b))
	}
	cat := enrollment.NewCatalog(ref.Windows, ref.Wards, ref.Offers)
	accepted, levels := 0, map[enrollment.Level]int{}
	codes := map[string]bool{}
	for _, x := range a {
		if x.Accepted {
			accepted++
		}
		levels[x.Level]++
		if codes[x.TrackingCode] {
			t.Fatalf("tracking code %s twice", x.TrackingCode)
		}
		codes[x.TrackingCode] = true
		if _, ok := enrollment.NormalizeTrackingCode(x.TrackingCode); !ok {
			t.Fatalf("tracking code %q is not one", x.TrackingCode)
		}
		f := &enrollment.Form{Registration: x.Registration, Consent: true}
		if _, err := cat.Check(f, now); err != nil {
			t.Fatalf("application %s does not pass the checks: %v", x.TrackingCode, err)
		}
	}
	if accepted < 400 || accepted > 580 || len(levels) != 3 {
		t.Errorf("%d accepted of 700, levels %v", accepted, levels)
	}
}
