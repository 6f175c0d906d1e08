package main

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/unicode/norm"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
)

// demoCity returns the demo city as the API serves it, and the catalog the
// server checks registrations against, both built from
// democity.Reference at now.
func demoCity(t *testing.T, now time.Time) (*city, *enrollment.Catalog) {
	t.Helper()
	ref := democity.Reference(now)
	c := &city{Schools: map[string][]citySchool{}}
	for _, w := range ref.Windows {
		c.Windows = append(c.Windows, cityWindow{Level: string(w.Level), SchoolYear: w.SchoolYear, OpensAt: w.OpensAt,
			ClosesAt: w.ClosesAt, BirthYear: w.BirthYear, MaxChoices: w.MaxChoices, Open: w.Open(now)})
	}
	for _, w := range ref.Wards {
		c.Wards = append(c.Wards, cityWard{Code: w.Code, Name: w.Name, Groups: w.Groups})
	}
	for _, o := range ref.Offers {
		s := citySchool{Code: o.SchoolCode, Name: o.Name, Ward: o.Ward}
		for _, z := range o.Catchment {
			s.Catchment = append(s.Catchment, cityZone{Ward: z.Ward, Groups: z.Groups})
		}
		c.Schools[string(o.Level)] = append(c.Schools[string(o.Level)], s)
	}
	return c, enrollment.NewCatalog(ref.Windows, ref.Wards, ref.Offers)
}

func setup(t *testing.T, dup, bad float64) (*generator, *enrollment.Catalog, time.Time) {
	t.Helper()
	now := time.Now()
	c, cat := demoCity(t, now)
	g, err := newGenerator(c, 12345, dup, bad)
	if err != nil {
		t.Fatal(err)
	}
	return g, cat, now
}

// TestBodiesAreWhatTheyClaim checks every generated body against the
// server's own decoder and rules: fresh ones and resubmissions are valid,
// invalid ones break a field rule (422, not 400), resubmissions repeat an
// earlier child, identically or not.
func TestBodiesAreWhatTheyClaim(t *testing.T) {
	t.Parallel()
	g, cat, now := setup(t, 0.1, 0.1)
	const n = 20_000
	ids := map[string]uint64{}
	counts := map[kind]int{}
	inCatchment, withCatchment, multi := 0, 0, 0
	for i := range uint64(n) {
		body, k := g.request(i)
		counts[k]++
		f, err := enrollment.DecodeForm(body)
		if err != nil {
			t.Fatalf("request %d (%v): DecodeForm: %v\n%s", i, k, err, body)
		}
		app, err := cat.Check(f, now)
		switch k {
		case kindInvalid:
			var e *enrollment.Error
			if !errors.As(err, &e) || e.Code != enrollment.CodeInvalid {
				t.Fatalf("request %d: invalid form checked as %v, want CodeInvalid\n%s", i, err, body)
			}
			continue
		default:
			if err != nil {
				t.Fatalf("request %d (%v): Check: %v\n%s", i, k, err, body)
			}
		}
		if !norm.NFC.IsNormalString(f.Child.FullName) || !norm.NFC.IsNormalString(f.Guardian.FullName) {
			t.Errorf("request %d: names not NFC: %q, %q", i, f.Child.FullName, f.Guardian.FullName)
		}
		if len(app.Choices) > 1 {
			multi++
		}
		cur := app.Residence.Current
		if slices.ContainsFunc(cat.Offers(app.Level, app.SchoolYear), func(o *enrollment.Offer) bool { return o.InCatchment(cur.Ward, cur.Group) }) {
			withCatchment++
			first, _ := cat.Offer(app.Choices[0], app.Level, app.SchoolYear)
			if first.InCatchment(app.Residence.Current.Ward, app.Residence.Current.Group) {
				inCatchment++
			}
		}
		switch k {
		case kindFresh:
			if j, dup := ids[f.Child.IDNumber]; dup {
				t.Fatalf("requests %d and %d have the same child ID %s", j, i, f.Child.IDNumber)
			}
			ids[f.Child.IDNumber] = i
		case kindSame, kindChanged:
			j, ok := ids[f.Child.IDNumber]
			if !ok {
				t.Fatalf("resubmission %d (%v) is of child %s, not an earlier fresh request", i, k, f.Child.IDNumber)
			}
			if i-j < dupMinLag {
				t.Errorf("resubmission %d repeats request %d, less than %d before", i, j, dupMinLag)
			}
			orig, _ := g.request(j)
			if same := string(orig) == string(body); same != (k == kindSame) {
				t.Errorf("resubmission %d (%v) of %d: identical body = %v", i, k, j, same)
			}
		}
	}
	for k, want := range map[kind]float64{kindInvalid: 0.1, kindSame: 0.05, kindChanged: 0.05, kindFresh: 0.8} {
		if got := float64(counts[k]) / n; got < want-0.015 || got > want+0.015 {
			t.Errorf("share of %v = %.3f, want about %.2f", k, got, want)
		}
	}
	if withCatchment < n/2 || inCatchment != withCatchment {
		t.Errorf("first choice in catchment for %d of %d children who have a catchment school", inCatchment, withCatchment)
	}
	if multi < n/10 {
		t.Errorf("only %d of %d registrations name more than one school", multi, n)
	}
}

func TestEveryInvalidationIsAFieldProblem(t *testing.T) {
	t.Parallel()
	g, cat, now := setup(t, 0, 0)
	for _, inv := range invalidations {
		for i := range uint64(50) {
			f := g.form(i)
			inv.fn(f)
			f2, err := enrollment.DecodeForm(appendForm(nil, f))
			if err != nil {
				t.Fatalf("%s: DecodeForm: %v", inv.name, err)
			}
			_, err = cat.Check(f2, now)
			var e *enrollment.Error
			if !errors.As(err, &e) || e.Code != enrollment.CodeInvalid {
				t.Fatalf("%s on child %d: Check = %v, want CodeInvalid", inv.name, i, err)
			}
		}
	}
}

func TestRequestIsDeterministic(t *testing.T) {
	t.Parallel()
	g, _, _ := setup(t, 0.05, 0.05)
	for _, i := range []uint64{0, 1, 1500, 77_777, 2_500_000} {
		a, ka := g.request(i)
		b, kb := g.request(i)
		if string(a) != string(b) || ka != kb {
			t.Errorf("request(%d) differs between calls", i)
		}
	}
}

// TestIdentityIsOneToOne checks child identities do not repeat, around the
// places where the mapping changes: the start, where Hà Nội's serials run
// out (i ≈ 2.29M) and the end of the range.
func TestIdentityIsOneToOne(t *testing.T) {
	t.Parallel()
	g, _, _ := setup(t, 0, 0)
	seen := map[[3]any]uint64{}
	hanoi := 0
	for _, r := range [][2]uint64{{0, 200_000}, {2_200_000, 2_400_000}, {maxIndex - 100_000, maxIndex}} {
		for i := r[0]; i < r[1]; i++ {
			p, s, n := g.identity(i)
			if _, ok := enrollment.Provinces[p]; !ok {
				t.Fatalf("identity(%d): unknown province %q", i, p)
			}
			if n < 0 || n >= 1_000_000 {
				t.Fatalf("identity(%d): serial %d out of range", i, n)
			}
			if i < 200_000 && p == "001" {
				hanoi++
			}
			key := [3]any{p, s, n}
			if j, ok := seen[key]; ok {
				t.Fatalf("identity(%d) = identity(%d) = %v", i, j, key)
			}
			seen[key] = i
		}
	}
	if share := float64(hanoi) / 200_000; share < 0.85 || share > 0.9 {
		t.Errorf("share of Hà Nội births = %.3f, want 7/8", share)
	}
}

// TestAppendFormMatchesEncodingJSON checks the hand-written encoder says
// what encoding/json would, including text that needs escaping.
func TestAppendFormMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	g, _, _ := setup(t, 0, 0)
	forms := []*enrollment.Form{g.form(1), g.form(2), g.form(3)}
	odd := g.form(4)
	odd.Child.FullName = "Nguyễn \"Tí\" \\ \n\t\x01 <b>&"
	odd.Guardian.Email = "\xff\xfe invalid utf-8"
	odd.Child.OverAgeReason = "Lý do: chậm phát triển"
	odd.Choices = nil
	forms = append(forms, odd)
	for i, f := range forms {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var a, b enrollment.Form
		if err := json.Unmarshal(want, &a); err != nil {
			t.Fatal(err)
		}
		got := appendForm(nil, f)
		if err := json.Unmarshal(got, &b); err != nil {
			t.Fatalf("form %d: appendForm wrote invalid JSON: %v\n%s", i, err, got)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("form %d: appendForm differs from encoding/json (-want +got):\n%s", i, diff)
		}
	}
}

func TestNamesAreNFC(t *testing.T) {
	t.Parallel()
	var all []string
	for _, w := range familyNames {
		all = append(all, w.v)
	}
	for _, w := range ethnicities {
		all = append(all, w.v)
	}
	all = append(all, middleMale...)
	all = append(all, middleFemale...)
	all = append(all, givenMale...)
	all = append(all, givenFemale...)
	all = append(all, streets...)
	all = append(all, overAgeReasons...)
	for _, s := range all {
		if !norm.NFC.IsNormalString(s) {
			t.Errorf("%q is not NFC", s)
		}
		if strings.TrimSpace(s) != s || s == "" {
			t.Errorf("%q: empty or padded", s)
		}
	}
}

func TestNewGeneratorRejectsBadShares(t *testing.T) {
	t.Parallel()
	c, _ := demoCity(t, time.Now())
	for _, s := range [][2]float64{{-0.1, 0}, {0, -0.1}, {0.6, 0.5}} {
		if _, err := newGenerator(c, 1, s[0], s[1]); err == nil {
			t.Errorf("newGenerator(dup %g, invalid %g): no error", s[0], s[1])
		}
	}
}

// TestSeedsRarelyShareChildren checks two runs with different seeds draw
// their children's serials in unrelated orders: their identities overlap
// about as much as random draws would (n₁·n₂/10^6 per province and sex),
// not wholesale.
func TestSeedsRarelyShareChildren(t *testing.T) {
	t.Parallel()
	c, _ := demoCity(t, time.Now())
	g1, _ := newGenerator(c, 1, 0, 0)
	g2, _ := newGenerator(c, 2, 0, 0)
	const n = 100_000
	seen := make(map[[3]any]bool, n)
	for i := range uint64(n) {
		p, s, k := g1.identity(i)
		seen[[3]any{p, s, k}] = true
	}
	shared := 0
	for i := range uint64(n) {
		p, s, k := g2.identity(i)
		if seen[[3]any{p, s, k}] {
			shared++
		}
	}
	// About 2 × (n·7/16)² / 10^6 ≈ 3,800 expected for Hà Nội.
	if shared > 8_000 {
		t.Errorf("seeds 1 and 2 share %d of %d child identities, want about 3,800", shared, n)
	}
}
