package democity

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// goldenSHA256 is the SHA-256 of the JSON encoding of Generate(). Other
// packages' tests and recorded demo data depend on the city staying the
// same: change it only on purpose, and say so in the commit message.
const goldenSHA256 = "956b50acb132d391d4ab309b61d088c05406c99c9a61388c11149751c06effe4"

// The bounding box every ward and school must lie in.
const (
	boxMinLat, boxMaxLat = 20.85, 21.25
	boxMinLon, boxMaxLon = 105.70, 106.00
)

var levels = []string{levelMG5, levelLop1, levelLop6}

// setup returns a freshly generated city and its wards by code.
func setup(t *testing.T) (City, map[string]Ward) {
	t.Helper()
	c := Generate()
	byCode := make(map[string]Ward, len(c.Wards))
	for _, w := range c.Wards {
		byCode[w.Code] = w
	}
	return c, byCode
}

func inBox(lat, lon float64) bool {
	return lat >= boxMinLat && lat <= boxMaxLat && lon >= boxMinLon && lon <= boxMaxLon
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	a, b := Generate(), Generate()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("Generate() returned two different cities")
	}

	// Each call builds a fresh city: changing one result must not change
	// the next.
	a.Wards[0].Groups[0] = "changed"
	a.Schools[0].Name = "changed"
	a.Schools[0].Catchment[0].Ward = "changed"
	if !reflect.DeepEqual(b, Generate()) {
		t.Error("changing one Generate() result changed another")
	}

	// Zones copy the groups they name rather than share the ward's slice.
	c := Generate()
	for i := range c.Wards {
		for k := range c.Wards[i].Groups {
			c.Wards[i].Groups[k] = "changed"
		}
	}
	for _, s := range c.Schools {
		for _, z := range s.Catchment {
			if contains(z.Groups, "changed") {
				t.Fatalf("school %s: a zone shares its Groups with the ward's", s.Code)
			}
		}
	}
}

func TestGenerateGolden(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)

	wantWard := Ward{Code: "00004", Name: "Phường Ba Đình", Kind: "phuong", Lat: 21.0368, Lon: 105.8342}
	w := c.Wards[0]
	if w.Code != wantWard.Code || w.Name != wantWard.Name || w.Kind != wantWard.Kind ||
		w.Lat != wantWard.Lat || w.Lon != wantWard.Lon || len(w.Groups) != 24 || w.Groups[0] != "TDP 1" {
		t.Errorf("first ward = %+v, want %+v with groups TDP 1..TDP 24", w, wantWard)
	}
	s := c.Schools[0]
	if s.Code != "MG-BADINH-01" || s.Name != "Trường Mầm non Ba Đình" || s.Level != "mg5" || s.Ward != "00004" {
		t.Errorf("first school = %s %q %s %s, want MG-BADINH-01 %q mg5 00004",
			s.Code, s.Name, s.Level, s.Ward, "Trường Mầm non Ba Đình")
	}

	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("json.Marshal(Generate()): %v", err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != goldenSHA256 {
		t.Errorf("SHA-256 of the JSON city = %s, want %s; if the change is intended, update goldenSHA256", got, goldenSHA256)
	}
}

func TestAuthority(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	if want := (Authority{Code: "HN", Name: "Thành phố Hà Nội"}); c.Authority != want {
		t.Errorf("Authority = %+v, want %+v", c.Authority, want)
	}
}

func TestWards(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	if n := len(c.Wards); n < 25 || n > 40 {
		t.Errorf("len(Wards) = %d, want about 30", n)
	}
	codeRE := regexp.MustCompile(`^[0-9]{5}$`)
	codes := map[string]bool{}
	names := map[string]bool{}
	kinds := map[string]int{}
	for _, w := range c.Wards {
		if !codeRE.MatchString(w.Code) {
			t.Errorf("ward %q: code %q is not five digits", w.Name, w.Code)
		}
		if codes[w.Code] {
			t.Errorf("ward code %q is used twice", w.Code)
		}
		codes[w.Code] = true
		if names[w.Name] {
			t.Errorf("ward name %q is used twice", w.Name)
		}
		names[w.Name] = true
		kinds[w.Kind]++
		switch w.Kind {
		case "phuong":
			if !strings.HasPrefix(w.Name, "Phường ") {
				t.Errorf("ward %s: phuong named %q, want prefix %q", w.Code, w.Name, "Phường ")
			}
		case "xa":
			if !strings.HasPrefix(w.Name, "Xã ") {
				t.Errorf("ward %s: xa named %q, want prefix %q", w.Code, w.Name, "Xã ")
			}
		default:
			t.Errorf("ward %s: Kind = %q, want phuong or xa", w.Code, w.Kind)
		}
		if n := len(w.Groups); n < 6 || n > 30 {
			t.Errorf("ward %s: %d groups, want 6..30", w.Code, n)
		}
		seen := map[string]bool{}
		for _, g := range w.Groups {
			if strings.TrimSpace(g) == "" || g != strings.TrimSpace(g) {
				t.Errorf("ward %s: group %q is blank or padded", w.Code, g)
			}
			if seen[g] {
				t.Errorf("ward %s: group %q is listed twice", w.Code, g)
			}
			seen[g] = true
		}
		if !inBox(w.Lat, w.Lon) {
			t.Errorf("ward %s: centroid (%v, %v) outside the box", w.Code, w.Lat, w.Lon)
		}
	}
	if kinds["phuong"] == 0 || kinds["xa"] == 0 {
		t.Errorf("ward kinds = %v, want both phuong and xa", kinds)
	}
}

func TestSchools(t *testing.T) {
	t.Parallel()
	c, wards := setup(t)
	if n := len(c.Schools); n < 100 {
		t.Errorf("len(Schools) = %d, want at least 100", n)
	}
	titles := map[string]string{
		levelMG5:  "Trường Mầm non ",
		levelLop1: "Trường Tiểu học ",
		levelLop6: "Trường THCS ",
	}
	codeRE := regexp.MustCompile(`^[A-Z0-9]+(-[A-Z0-9]+)*$`)
	perLevel := map[string]int{}
	codes := map[string]bool{}
	names := map[string]bool{}
	for _, s := range c.Schools {
		perLevel[s.Level]++
		if !codeRE.MatchString(s.Code) || len(s.Code) > 20 {
			t.Errorf("school %q: code %q is not short uppercase ASCII with dashes", s.Name, s.Code)
		}
		if codes[s.Code] {
			t.Errorf("school code %q is used twice", s.Code)
		}
		codes[s.Code] = true
		title, ok := titles[s.Level]
		if !ok {
			t.Errorf("school %s: Level = %q, want mg5, lop1 or lop6", s.Code, s.Level)
		} else if !strings.HasPrefix(s.Name, title) {
			t.Errorf("school %s: Name = %q, want prefix %q", s.Code, s.Name, title)
		}
		if names[s.Name] {
			t.Errorf("school name %q is used twice", s.Name)
		}
		names[s.Name] = true
		w, ok := wards[s.Ward]
		if !ok {
			t.Errorf("school %s: Ward = %q, not a ward of the city", s.Code, s.Ward)
			continue
		}
		if want := ", " + w.Name + ", Thành phố Hà Nội"; !strings.HasSuffix(s.Address, want) || len(s.Address) <= len(want) {
			t.Errorf("school %s: Address = %q, want a street or village then %q", s.Code, s.Address, want)
		}
		if !inBox(s.Lat, s.Lon) {
			t.Errorf("school %s: position (%v, %v) outside the box", s.Code, s.Lat, s.Lon)
		}
		if dlat, dlon := s.Lat-w.Lat, s.Lon-w.Lon; dlat < -0.01 || dlat > 0.01 || dlon < -0.01 || dlon > 0.01 {
			t.Errorf("school %s: position (%v, %v) is far from its ward's centroid (%v, %v)", s.Code, s.Lat, s.Lon, w.Lat, w.Lon)
		}
		if s.Quota < 105 || s.Quota > 525 || s.Quota%35 != 0 {
			t.Errorf("school %s: Quota = %d, want whole classes of 35 in 105..525", s.Code, s.Quota)
		}
		if len(s.Catchment) == 0 || s.Catchment[0].Ward != s.Ward {
			t.Errorf("school %s: catchment %v does not start with its own ward %s", s.Code, s.Catchment, s.Ward)
		}
	}
	for _, l := range levels {
		if perLevel[l] < 30 {
			t.Errorf("%d schools offer %s, want at least 30", perLevel[l], l)
		}
	}
	if len(perLevel) != len(levels) {
		t.Errorf("schools per level = %v, want exactly the levels %v", perLevel, levels)
	}
}

func TestZonesReferenceWardsAndGroups(t *testing.T) {
	t.Parallel()
	c, wards := setup(t)
	for _, s := range c.Schools {
		zoneWards := map[string]bool{}
		for _, z := range s.Catchment {
			w, ok := wards[z.Ward]
			if !ok {
				t.Errorf("school %s: zone names ward %q, not a ward of the city", s.Code, z.Ward)
				continue
			}
			if zoneWards[z.Ward] {
				t.Errorf("school %s: ward %s appears in two zones", s.Code, z.Ward)
			}
			zoneWards[z.Ward] = true
			seen := map[string]bool{}
			for _, g := range z.Groups {
				if !contains(w.Groups, g) {
					t.Errorf("school %s: zone of ward %s names group %q, not a group of that ward", s.Code, z.Ward, g)
				}
				if seen[g] {
					t.Errorf("school %s: zone of ward %s names group %q twice", s.Code, z.Ward, g)
				}
				seen[g] = true
			}
		}
	}
}

func TestEveryGroupIsInACatchmentOfEveryLevel(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	// covered[level][ward][group]; a "" group means the whole ward.
	covered := map[string]map[string]map[string]bool{}
	for _, s := range c.Schools {
		if covered[s.Level] == nil {
			covered[s.Level] = map[string]map[string]bool{}
		}
		for _, z := range s.Catchment {
			if covered[s.Level][z.Ward] == nil {
				covered[s.Level][z.Ward] = map[string]bool{}
			}
			if len(z.Groups) == 0 {
				covered[s.Level][z.Ward][""] = true
			}
			for _, g := range z.Groups {
				covered[s.Level][z.Ward][g] = true
			}
		}
	}
	for _, l := range levels {
		for _, w := range c.Wards {
			for _, g := range w.Groups {
				if cw := covered[l][w.Code]; !cw[""] && !cw[g] {
					t.Errorf("%s: group %q of ward %s (%s) is in no school's catchment", l, g, w.Code, w.Name)
				}
			}
		}
	}
}

// TestCatchmentShapes checks the city has the variety the demos rely on:
// split wards, schools taking in a whole second ward, and schools taking a
// few groups of a neighbour.
func TestCatchmentShapes(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	var split, wholeNeighbour, partNeighbour int
	schoolsIn := map[string]int{}
	for _, s := range c.Schools {
		schoolsIn[s.Level+"/"+s.Ward]++
		for _, z := range s.Catchment[1:] {
			if len(z.Groups) == 0 {
				wholeNeighbour++
			} else {
				partNeighbour++
			}
		}
	}
	for _, n := range schoolsIn {
		if n > 1 {
			split++
		}
	}
	if split < 5 || wholeNeighbour < 2 || partNeighbour < 5 {
		t.Errorf("split wards %d, schools with a whole neighbouring ward %d, with part of one %d; want at least 5, 2, 5",
			split, wholeNeighbour, partNeighbour)
	}
}

func TestSeatsPerLevel(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	groups := 0
	for _, w := range c.Wards {
		groups += len(w.Groups)
	}
	for _, l := range levelSpecs {
		seats, lo, hi := 0, 0, 0
		for _, s := range c.Schools {
			if s.Level != l.level {
				continue
			}
			seats += s.Quota
			if lo == 0 || s.Quota < lo {
				lo = s.Quota
			}
			hi = max(hi, s.Quota)
		}
		if seats < 10_000 || seats > 20_000 {
			t.Errorf("%s: %d seats, want 10,000..20,000", l.level, seats)
		}
		if cohort := groups * l.perGroup; seats < cohort {
			t.Errorf("%s: %d seats for a nominal cohort of %d, want at least as many seats", l.level, seats, cohort)
		}
		if lo > 140 || hi < 455 {
			t.Errorf("%s: quotas range %d..%d, want a skew from at most 140 to at least 455", l.level, lo, hi)
		}
	}
}

func TestStringsAreNFC(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	check := func(what, s string) {
		if !norm.NFC.IsNormalString(s) {
			t.Errorf("%s %q is not NFC", what, s)
		}
	}
	check("authority name", c.Authority.Name)
	for _, w := range c.Wards {
		check("ward name", w.Name)
		for _, g := range w.Groups {
			check("group of "+w.Code, g)
		}
	}
	for _, s := range c.Schools {
		check("school name", s.Name)
		check("address of "+s.Code, s.Address)
		for _, z := range s.Catchment {
			for _, g := range z.Groups {
				check("zone group of "+s.Code, g)
			}
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
