package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// BenchmarkLookup measures POST /api/v1/lookup end to end on a published
// result: the file, the result, the school names and a new parent
// session, each from its own address and code so the limits stay out of
// the way (go test -run XXX -bench Lookup -benchtime 20x ./web).
func BenchmarkLookup(b *testing.B) {
	s := newParentSite(b)
	const n = 40
	codes, ids := make([]string, n), make([]string, n)
	forms := make([]*enrollment.Form, n)
	for i := range n {
		f := s.form(schoolA, s.schoolB.SchoolCode)
		a, err := s.cat.Check(f, time.Unix(0, s.now.Load()))
		if err != nil {
			b.Fatal(err)
		}
		res, err := s.store.RegisterDirect(b.Context(), a, enrollment.Actor{Name: "test", Role: enrollment.ActorSchool}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		codes[i], ids[i], forms[i] = res.TrackingCode, f.Child.IDNumber, f
	}
	s.publish(b, 1, time.Now().Add(48*time.Hour), map[string]int{schoolA: 10}, codes...)
	i := 0
	for b.Loop() {
		_, a := s.lookup(b, codes[i%n], ids[i%n])
		if a.status != http.StatusOK {
			b.Fatalf("lookup: %d %s", a.status, a.raw)
		}
		i++
	}
}
