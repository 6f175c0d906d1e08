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

// TestEntry: the entry and hash SubmitLimited makes, encoding the
// registration once, are those of json.Marshal's encoding: the entry
// decodes as the application, and the hash is the one every earlier
// version took (a repeated form must still be recognized).
func TestEntry(t *testing.T) {
	t.Parallel()
	a := &enrollment.Application{Registration: enrollment.Registration{
		Level: enrollment.LevelLop6, SchoolYear: 2027,
		Child:     enrollment.Child{IDNumber: "079216000123", FullName: "Hồ \"Bé\" Na <&>", DateOfBirth: "2015-02-28", Sex: enrollment.Male, OverAgeReason: "ốm"},
		Residence: enrollment.Residence{Current: enrollment.Address{Ward: "00004", Group: "TDP 1", Address: "Ngõ 3\\5"}},
		Guardian:  enrollment.Guardian{FullName: "Hồ Văn Nam", Relation: "father", Phone: "0912345678"},
		Choices:   []string{"THCS-A", "THCS-B"}, PriorityGroup: 2,
	}}
	if err := stamp(a, time.Date(2027, 7, 7, 0, 0, 0, 120000000, time.UTC)); err != nil {
		t.Fatal(err)
	}
	for _, v := range []enrollment.Verification{"", enrollment.VerificationPending} {
		a.Verification = v
		content, err := json.Marshal(&a.Registration)
		if err != nil {
			t.Fatal(err)
		}
		plain := a.Registration
		plain.Verification = ""
		pc, _ := json.Marshal(&plain)
		payload, child := entry(a)
		if want := entryPayload(a, content); string(payload) != string(want) {
			t.Errorf("verification %q: entry\n%s\nwant\n%s", v, payload, want)
		}
		if want := a.TrackingCode + " " + formHash(pc); child != want {
			t.Errorf("verification %q: child key value %s, want %s", v, child, want)
		}
		var got enrollment.Application
		if err := json.Unmarshal(payload, &got); err != nil {
			t.Fatalf("entry does not decode: %v\n%s", err, payload)
		}
		if diff := cmp.Diff(*a, got); diff != "" {
			t.Errorf("decoded entry differs (-want +got):\n%s", diff)
		}
	}
}

// TestChildKeys: the child keys keep their names (every process of an
// intake, old and new, must name a child alike), with or without HMACs
// kept for reuse.
func TestChildKeys(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		keys     Keys
		level    enrollment.Level
		year     int
		id, want string
	}{
		{Keys{Prefix: "ts"}, enrollment.LevelLop1, 2027, "001321012345", "ts:child:lop1:2027:0b1836f5ece77a09800d5c60866766a0"},
		{Keys{Prefix: "bench1", ChildSecret: []byte("s3cret")}, enrollment.LevelMG5, 2026, "079216000123", "bench1:child:mg5:2026:829cf84198b449358df9daf756c759ed"},
	} {
		if got := tt.keys.Child(tt.level, tt.year, tt.id); got != tt.want {
			t.Errorf("Child = %s, want %s", got, tt.want)
		}
		n := newChildNamer(tt.keys)
		for range 3 {
			if got := n.name(tt.level, tt.year, tt.id); got != tt.want {
				t.Errorf("childNamer.name = %s, want %s", got, tt.want)
			}
		}
	}
}

// entryPayload is the stream entry of an application as entry makes it,
// spelled out: its content (the registration's JSON) with the id, tracking
// code and submission time spliced in front, which decodes as an
// enrollment.Application.
func entryPayload(a *enrollment.Application, content []byte) []byte {
	b := make([]byte, 0, len(content)+128)
	b = append(b, `{"id":"`...)
	b = append(b, a.ID...)
	b = append(b, `","tracking_code":"`...)
	b = append(b, a.TrackingCode...)
	b = append(b, `","submitted_at":"`...)
	b = a.SubmittedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `",`...)
	return append(b, content[1:]...) // content is a JSON object: drop its "{"
}
