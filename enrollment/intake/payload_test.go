package intake

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// TestEntryPayloadRoundTrip: the spliced stream entry decodes as the very
// application it was made from, and the form hash ignores what intake adds.
func TestEntryPayloadRoundTrip(t *testing.T) {
	t.Parallel()
	a := &enrollment.Application{Registration: enrollment.Registration{
		Level: enrollment.LevelLop6, SchoolYear: 2027,
		Child:     enrollment.Child{IDNumber: "079216000123", FullName: "Hồ \"Bé\" Na", DateOfBirth: "2016-02-29", Sex: enrollment.Male, OverAgeReason: ""},
		Residence: enrollment.Residence{Current: enrollment.Address{Ward: "00004", Group: "TDP 1", Address: "Ngõ 3\\5"}},
		Guardian:  enrollment.Guardian{FullName: "Hồ Văn Nam", Relation: "father", Phone: "0912345678"},
		Choices:   []string{"THCS-A", "THCS-B"}, PriorityGroup: 2,
	}}
	c, err := json.Marshal(&a.Registration)
	if err != nil {
		t.Fatal(err)
	}
	hash := formHash(c)
	if err := stamp(a, time.Date(2027, 7, 7, 0, 0, 0, 123456789, time.FixedZone("ICT", 7*3600))); err != nil {
		t.Fatal(err)
	}
	var got enrollment.Application
	if err := json.Unmarshal(entryPayload(a, c), &got); err != nil {
		t.Fatalf("payload does not decode: %v\n%s", err, entryPayload(a, c))
	}
	if diff := cmp.Diff(*a, got); diff != "" {
		t.Errorf("decoded payload differs (-want +got):\n%s", diff)
	}
	c2, _ := json.Marshal(&got.Registration)
	if formHash(c2) != hash {
		t.Errorf("form hash changed once the id, code and time were set")
	}
	a.Choices = []string{"THCS-B", "THCS-A"}
	c3, _ := json.Marshal(&a.Registration)
	if formHash(c3) == hash {
		t.Errorf("form hash did not change with the choices' order")
	}
}
