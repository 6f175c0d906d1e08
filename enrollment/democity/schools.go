package democity

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
)

// classSize is the class-size cap the quotas are counted in: 35 children
// for both kindergarten (5-6 years) and grade 1, and used for grade 6 too so
// that all demo quotas are whole classes of the same size.
const classSize = 35

// minClasses and maxClasses bound a school's quota: 105 to 525 seats.
const (
	minClasses = 3
	maxClasses = 15
)

// The bounding box of the demo city, in millionths of a degree.
const (
	minLatE6 = 20_850_000
	maxLatE6 = 21_250_000
	minLonE6 = 105_700_000
	maxLonE6 = 106_000_000
)

// spread is how far, in millionths of a degree (about 650 m), a school may
// stand from its ward's centroid in each direction.
const spread = 6000

// pcgStream is the second PCG seed word, shared by every school; the first
// is a hash of the school's key.
const pcgStream = 0x7475_7965_6e73_696e // "tuyensin"

// levelSpec says how the schools of one level are laid out over the wards.
type levelSpec struct {
	level  string
	prefix string // school code prefix
	title  string // school name prefix
	// Wards with at least split groups get two schools that share the
	// ward by residential group; others get one school for the whole ward.
	split int
	// Wards with fewer than adoptBelow groups get no school of the level:
	// the first school of the nearest ward that has one takes them in.
	adoptBelow int
	// perGroup is the nominal number of children of the level per
	// residential group, from which quotas are sized.
	perGroup int
	// names are given, in order, to the second school of split wards; the
	// first school of a ward is named after the ward.
	names []string
}

var levelSpecs = []levelSpec{
	{
		level: levelMG5, prefix: "MG", title: "Trường Mầm non",
		split: 24, perGroup: 20,
		names: []string{
			"Hoa Sen", "Họa Mi", "Sơn Ca", "Hoa Mai", "Ánh Dương", "Hoa Hồng",
			"Bình Minh", "Hướng Dương", "Sao Mai", "Hoa Phượng", "Hoa Đào", "Tuổi Thơ",
		},
	},
	{
		level: levelLop1, prefix: "TH", title: "Trường Tiểu học",
		split: 22, perGroup: 24,
		names: []string{
			"Kim Đồng", "Nguyễn Du", "Lê Quý Đôn", "Trần Quốc Toản", "Điện Biên",
			"Võ Thị Sáu", "Lý Thường Kiệt", "Đoàn Kết", "Nguyễn Bá Ngọc", "Thăng Long",
			"Hoàng Diệu", "Phan Chu Trinh", "Lê Ngọc Hân", "Nguyễn Siêu", "Ngô Quyền",
		},
	},
	{
		level: levelLop6, prefix: "THCS", title: "Trường THCS",
		split: 26, adoptBelow: 14, perGroup: 22,
		names: []string{
			"Trưng Vương", "Ngô Sĩ Liên", "Nguyễn Trãi", "Chu Văn An",
			"Thành Công", "Tô Hoàng", "Nguyễn Huy Tưởng", "Lê Lợi",
		},
	},
}

// rngFor returns a generator seeded from key alone, so each school's
// choices do not depend on how many draws other schools made.
func rngFor(key string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(key))
	return rand.New(rand.NewPCG(h.Sum64(), pcgStream))
}

// buildSchools lays out the schools of every level over wards, which must
// be the wards built from wardTable, in the same order.
func buildSchools(wards []Ward) []School {
	var ss []School
	for _, l := range levelSpecs {
		ss = append(ss, l.build(wards)...)
	}
	return ss
}

// build returns the schools of level l, ward by ward in table order.
func (l levelSpec) build(wards []Ward) []School {
	own := make([]int, len(wardTable))
	for i, w := range wardTable {
		switch {
		case w.ngroups < l.adoptBelow:
			own[i] = 0
		case w.ngroups >= l.split:
			own[i] = 2
		default:
			own[i] = 1
		}
	}

	var ss []School
	first := make([]int, len(wardTable)) // index in ss of a ward's first school
	named := 0
	for i, w := range wardTable {
		first[i] = -1
		if own[i] == 0 {
			continue
		}
		first[i] = len(ss)
		zones := []Zone{{Ward: w.code}}
		if own[i] == 2 {
			// Split the ward's groups near the middle; in some wards the
			// boundary group is in both catchments, as happens where a
			// street sits between two schools.
			gs := wards[i].Groups
			r := rngFor(l.level + "/split/" + w.code)
			h := len(gs)/2 + r.IntN(3) - 1
			end := h
			if r.IntN(2) == 0 {
				end++
			}
			zones = []Zone{
				{Ward: w.code, Groups: slices.Clone(gs[:end])},
				{Ward: w.code, Groups: slices.Clone(gs[h:])},
			}
		}
		for k, z := range zones {
			name := l.title + " " + w.stem
			if k > 0 {
				if named < len(l.names) {
					name = l.title + " " + l.names[named]
				} else {
					name += " " + strconv.Itoa(k+1)
				}
				named++
			}
			ss = append(ss, School{
				Code:      fmt.Sprintf("%s-%s-%02d", l.prefix, w.slug, k+1),
				Name:      name,
				Level:     l.level,
				Ward:      w.code,
				Catchment: []Zone{z},
			})
		}
	}

	// Wards without a school of their own go whole to the nearest ward's
	// first school.
	for i, w := range wardTable {
		if own[i] > 0 {
			continue
		}
		j := nearest(i, func(j int) bool { return own[j] > 0 })
		s := &ss[first[j]]
		s.Catchment = append(s.Catchment, Zone{Ward: w.code})
	}

	// In about one ward in four the first school also takes two adjacent
	// groups of the nearest ward, standing for streets on the boundary that
	// are closer to it than to their own ward's school.
	for i, w := range wardTable {
		if own[i] == 0 {
			continue
		}
		r := rngFor(l.level + "/spill/" + w.code)
		if r.IntN(4) != 0 {
			continue
		}
		j := nearest(i, func(int) bool { return true })
		s := &ss[first[i]]
		if slices.ContainsFunc(s.Catchment, func(z Zone) bool { return z.Ward == wardTable[j].code }) {
			continue
		}
		gs := wards[j].Groups
		at := r.IntN(len(gs) - 1)
		s.Catchment = append(s.Catchment, Zone{Ward: wardTable[j].code, Groups: slices.Clone(gs[at : at+2])})
	}

	byCode := make(map[string]int, len(wardTable))
	for i, w := range wardTable {
		byCode[w.code] = i
	}
	for k := range ss {
		s := &ss[k]
		slices.SortStableFunc(s.Catchment[1:], func(a, b Zone) int {
			return byCode[a.Ward] - byCode[b.Ward]
		})
		l.finish(s, byCode, wards)
	}
	return ss
}

// finish fills in a school's position, address and quota once its
// catchment is final. byCode maps ward codes to table rows.
func (l levelSpec) finish(s *School, byCode map[string]int, wards []Ward) {
	i := byCode[s.Ward]
	w := wardTable[i]
	r := rngFor(s.Code)

	lat := clamp(micro(w.lat)+int64(r.IntN(2*spread+1))-spread, minLatE6, maxLatE6)
	lon := clamp(micro(w.lon)+int64(r.IntN(2*spread+1))-spread, minLonE6, maxLonE6)
	s.Lat = float64(lat) / 1e6
	s.Lon = float64(lon) / 1e6

	if w.kind == "phuong" {
		s.Address = fmt.Sprintf("Số %d %s, %s, Thành phố Hà Nội",
			1+r.IntN(180), w.roads[r.IntN(len(w.roads))], wards[i].Name)
	} else {
		// A commune school stands in one of the villages it serves.
		gs := s.Catchment[0].Groups
		if len(gs) == 0 {
			gs = wards[i].Groups
		}
		s.Address = fmt.Sprintf("%s, %s, Thành phố Hà Nội", gs[r.IntN(len(gs))], wards[i].Name)
	}

	// Size the quota to the groups served, at 85% to 135% of their nominal
	// cohort (a tenth spare on average), in whole classes. One school in
	// eight is small for its catchment: the popular old school in a
	// cramped building that is always over-subscribed.
	load := 0
	for _, z := range s.Catchment {
		if len(z.Groups) == 0 {
			load += len(wards[byCode[z.Ward]].Groups)
		} else {
			load += len(z.Groups)
		}
	}
	seats := load * l.perGroup * (85 + r.IntN(51)) / 100
	classes := int(clamp(int64((seats+classSize/2)/classSize), minClasses, maxClasses))
	if r.IntN(8) == 0 {
		classes = minClasses + r.IntN(2)
	}
	s.Quota = classes * classSize
}

// clamp limits v to [lo, hi].
func clamp(v, lo, hi int64) int64 { return min(max(v, lo), hi) }
