// Package demoapps generates registrations for the demo city (package
// democity, as democity.Reference loads it), so that a new user has
// applications to review and to place.
//
// The applications look like a real window's: children spread over the
// city's residential groups in proportion to each level's nominal cohort
// (democity's 20, 24 and 22 children per group for mg5, lop1 and lop6);
// most live where they are permanently registered, some elsewhere in the
// city; most put their catchment school first, one in five one of the
// level's few popular schools (so that some schools fill and children are
// refused), some a school nearby that they prefer, and the rest of their
// choices are the schools nearest home; a few belong to priority groups. About seven in ten are accepted
// by the school, the rest still wait for review.
//
// Generation is pure and deterministic: the same reference and the same n
// give the same applications (ids and tracking codes included), on every
// machine. Nothing of it is real.
package demoapps

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// Accepted is the share of generated applications that the demo marks
// accepted, as if their school had reviewed them.
const Accepted = 0.7

// App is a generated application and whether the demo accepts it.
type App struct {
	*enrollment.Application
	Accepted bool
}

var cohort = map[enrollment.Level]int{enrollment.LevelMG5: 20, enrollment.LevelLop1: 24, enrollment.LevelLop6: 22}

// trackingAlphabet is the tracking codes' alphabet (enrollment's).
const trackingAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Generate returns n applications for the windows of ref, submitted at
// the window's opening plus a few seconds each (submission time plays no
// part in placement).
func Generate(ref enrollment.Reference, n int) []App {
	type home struct {
		ward  *enrollment.Ward
		group string
	}
	var homes []home
	for i := range ref.Wards {
		for _, g := range ref.Wards[i].Groups {
			homes = append(homes, home{&ref.Wards[i], g})
		}
	}
	var windows []enrollment.Window
	total := 0
	for _, w := range ref.Windows {
		if cohort[w.Level] > 0 {
			windows = append(windows, w)
			total += cohort[w.Level]
		}
	}
	if len(homes) == 0 || len(windows) == 0 || n <= 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(uint64(n), 0x7475796e73696e68))
	out := make([]App, 0, n)
	serial := map[enrollment.Level]int{}
	counts := make([]int, len(windows))
	rest := n
	for k, w := range windows {
		counts[k] = n * cohort[w.Level] / total
		rest -= counts[k]
	}
	counts[0] += rest
	for k, w := range windows {
		count := counts[k]
		offers := offersOf(ref, w)
		if len(offers) == 0 {
			continue
		}
		popular := popularOf(offers)
		for range count {
			h := homes[rng.IntN(len(homes))]
			cur := h
			if rng.Float64() < 0.15 {
				cur = homes[rng.IntN(len(homes))]
			}
			sex := enrollment.Male
			if rng.IntN(2) == 1 {
				sex = enrollment.Female
			}
			born := w.BirthYear
			dob := time.Date(born, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(365))
			i := serial[w.Level]
			serial[w.Level]++
			pg := 0
			switch r := rng.Float64(); {
			case r < 0.01:
				pg = 1
			case r < 0.03:
				pg = 2
			case r < 0.07:
				pg = 3
			}
			key := fmt.Sprintf("demo/%d/%s/%d/%d", n, w.Level, w.SchoolYear, i)
			a := &enrollment.Application{
				ID:           idOf(key),
				TrackingCode: codeOf(key),
				Registration: enrollment.Registration{
					Level: w.Level, SchoolYear: w.SchoolYear,
					Child: enrollment.Child{
						IDNumber: enrollment.MakeIDNumber("001", dob, sex, 100000+i), FullName: name(rng, sex),
						DateOfBirth: dob.Format(time.DateOnly), Sex: sex, Ethnicity: "Kinh", PlaceOfBirth: "Hà Nội",
					},
					Residence: enrollment.Residence{
						Permanent: enrollment.Address{Ward: h.ward.Code, Group: h.group, Address: fmt.Sprintf("Số %d, %s", 1+rng.IntN(200), h.group)},
						Current:   enrollment.Address{Ward: cur.ward.Code, Group: cur.group, Address: fmt.Sprintf("Số %d, %s", 1+rng.IntN(200), cur.group)},
					},
					Guardian: enrollment.Guardian{
						FullName: name(rng, enrollment.Female), Relation: "mother",
						IDNumber: enrollment.MakeIDNumber("001", dob.AddDate(-28, 0, 0), enrollment.Female, 300000+i),
						Phone:    fmt.Sprintf("09%08d", rng.IntN(100000000)),
					},
					PriorityGroup: pg,
					Choices:       choose(rng, offers, popular, cur.ward, cur.group, w.MaxChoices),
				},
				SubmittedAt: w.OpensAt.Add(time.Duration(i) * 3 * time.Second),
			}
			out = append(out, App{Application: a, Accepted: rng.Float64() < Accepted})
		}
	}
	return out
}

// offersOf returns the offers of a window's level and year.
func offersOf(ref enrollment.Reference, w enrollment.Window) []*enrollment.Offer {
	var out []*enrollment.Offer
	for i := range ref.Offers {
		if o := &ref.Offers[i]; o.Level == w.Level && o.SchoolYear == w.SchoolYear {
			out = append(out, o)
		}
	}
	return out
}

// popularOf returns a level's popular schools: the four smallest (then by
// code), which families all over the city ask for, so that some schools
// fill, children are refused there, and mechanisms differ.
func popularOf(offers []*enrollment.Offer) []string {
	byQuota := slices.Clone(offers)
	slices.SortFunc(byQuota, func(a, b *enrollment.Offer) int {
		if a.Quota != b.Quota {
			return a.Quota - b.Quota
		}
		return strings.Compare(a.SchoolCode, b.SchoolCode)
	})
	var out []string
	for _, o := range byQuota[:min(4, len(byQuota))] {
		out = append(out, o.SchoolCode)
	}
	return out
}

// choose returns a child's ranked choices: one of the level's popular
// schools first and its catchment school second (one child in five), or
// its catchment school first (most children), or one of the three
// nearest schools, then the nearest schools, up to a random number of
// choices from 1 to max.
func choose(rng *rand.Rand, offers []*enrollment.Offer, popular []string, ward *enrollment.Ward, group string, maxChoices int) []string {
	type near struct {
		code string
		d    float64
	}
	ns := make([]near, len(offers))
	var catch []string
	for k, o := range offers {
		dx, dy := (o.Lon-ward.Lon)*math.Cos(ward.Lat*math.Pi/180), o.Lat-ward.Lat
		ns[k] = near{o.SchoolCode, dx*dx + dy*dy}
		for _, z := range o.Catchment {
			if z.Ward == ward.Code && (len(z.Groups) == 0 || slices.Contains(z.Groups, group)) {
				catch = append(catch, o.SchoolCode)
			}
		}
	}
	sort.Slice(ns, func(i, j int) bool { return ns[i].d < ns[j].d || ns[i].d == ns[j].d && ns[i].code < ns[j].code })
	k := 1 + rng.IntN(max(1, maxChoices))
	var out []string
	switch r := rng.Float64(); {
	case r < 0.2 && len(popular) > 0:
		out = append(out, popular[rng.IntN(len(popular))])
		if len(catch) > 0 && !slices.Contains(out, catch[0]) {
			out = append(out, catch[0])
		}
	case len(catch) > 0 && r < 0.85:
		out = append(out, catch[rng.IntN(len(catch))])
	default:
		out = append(out, ns[rng.IntN(min(3, len(ns)))].code)
	}
	for _, x := range ns {
		if len(out) >= k {
			break
		}
		if !slices.Contains(out, x.code) {
			out = append(out, x.code)
		}
	}
	return out
}

var (
	families = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
	middles  = map[enrollment.Sex][]string{enrollment.Male: {"Văn", "Minh", "Đức", "Quang", "Gia", "Hữu", "Anh"}, enrollment.Female: {"Thị", "Ngọc", "Thu", "Minh", "Bảo", "Khánh", "Phương"}}
	givens   = map[enrollment.Sex][]string{
		enrollment.Male:   {"An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Huy", "Khang", "Khoa", "Long", "Nam", "Phúc", "Quân", "Sơn", "Tuấn", "Vinh"},
		enrollment.Female: {"Anh", "Chi", "Diệp", "Hà", "Hân", "Hoa", "Lan", "Linh", "Mai", "My", "Ngân", "Nhi", "Thảo", "Trang", "Vy", "Yến"},
	}
)

func name(rng *rand.Rand, sex enrollment.Sex) string {
	return families[rng.IntN(len(families))] + " " + middles[sex][rng.IntN(len(middles[sex]))] + " " + givens[sex][rng.IntN(len(givens[sex]))]
}

// idOf is a version 8 (custom) UUID from a hash of key.
func idOf(key string) string {
	d := sha256.Sum256([]byte("id/" + key))
	id, _ := uuid.FromBytes(d[:16])
	id[6] = id[6]&0x0f | 0x80
	id[8] = id[8]&0x3f | 0x80
	return id.String()
}

// codeOf is a tracking code from a hash of key.
func codeOf(key string) string {
	d := sha256.Sum256([]byte("code/" + key))
	var b [enrollment.TrackingCodeLen]byte
	x := binary.BigEndian.Uint64(d[:8])
	y := binary.BigEndian.Uint64(d[8:16])
	for i := range b {
		if i < 12 {
			b[i] = trackingAlphabet[x&31]
			x >>= 5
		} else {
			b[i] = trackingAlphabet[y&31]
			y >>= 5
		}
	}
	return string(b[:])
}
