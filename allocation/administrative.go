package allocation

import (
	"bytes"
	"math"
	"slices"
)

// EarthRadiusKm is the mean Earth radius (IUGG) used for distances.
const EarthRadiusKm = 6371.0088

// Distance returns the great-circle distance in kilometres between a and
// b, by the haversine formula on a sphere of radius EarthRadiusKm.
// Administrative placement compares exactly these values.
func Distance(a, b Location) float64 {
	const rad = math.Pi / 180
	φ1, φ2 := a.Lat*rad, b.Lat*rad
	sφ := math.Sin((φ2 - φ1) / 2)
	sλ := math.Sin((b.Lon - a.Lon) * rad / 2)
	h := sφ*sφ + math.Cos(φ1)*math.Cos(φ2)*sλ*sλ
	return 2 * EarthRadiusKm * math.Asin(math.Min(1, math.Sqrt(h)))
}

// placement records one administrative placement.
type placement struct {
	school int32
	km     float64
}

// administrative places guaranteed students left without a seat, in order
// of their single-lottery digests, each at the nearest school (ties: the
// smaller school id) that still has a free seat at its turn. Students and
// schools without a location take no part. It returns the placement of
// each student (school -1 when none).
func (c *compiled) administrative(o *outcome) []placement {
	inst := c.inst
	// The queue carries each student's location so that placing students
	// in lottery order does not jump around the student records.
	type waiting struct {
		i   int32
		lot uint64
		loc Location
	}
	var queue []waiting
	for i := range inst.Students {
		st := &inst.Students[i]
		if st.Guaranteed && o.held[i] < 0 && st.Location != nil {
			queue = append(queue, waiting{int32(i), c.lot[i], *st.Location})
		}
	}
	if len(queue) == 0 {
		return nil
	}
	slices.SortFunc(queue, func(a, b waiting) int {
		if a.lot != b.lot {
			if a.lot < b.lot {
				return -1
			}
			return 1
		}
		da := LotteryDigest(inst.Seed, inst.Students[a.i].ID)
		db := LotteryDigest(inst.Seed, inst.Students[b.i].ID)
		if d := bytes.Compare(da[:], db[:]); d != 0 {
			return d
		}
		return cmpStr(inst.Students[a.i].ID, inst.Students[b.i].ID)
	})
	free := make([]int32, len(inst.Schools))
	var open []int32
	for s := range inst.Schools {
		free[s] = c.quota[s] - o.count[s]
		if free[s] > 0 && c.hasLoc[s] {
			open = append(open, int32(s))
		}
	}
	tree := newSchoolTree(inst.Schools, open)
	out := make([]placement, len(inst.Students))
	for i := range out {
		out[i].school = -1
	}
	for _, w := range queue {
		s, km, ok := tree.nearest(w.loc)
		if !ok {
			break // no free seat anywhere
		}
		out[w.i] = placement{school: s, km: km}
		free[s]--
		if free[s] == 0 {
			tree.remove(s)
		}
	}
	return out
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// A schoolTree is a static 3-d tree over schools as points on the unit
// sphere, with a count of live schools in every subtree so that full
// schools can be removed and empty subtrees skipped. The nearest school by
// chord length is the nearest by great-circle distance; the tree prunes
// with chord bounds, widened by a small margin, and decides between
// candidates with Distance itself, so it agrees exactly with a brute-force
// scan using Distance.
type schoolTree struct {
	schools []School
	nodes   []treeNode // implicit tree: range [lo,hi) has its node at (lo+hi)/2
	pos     map[int32]int
}

type treeNode struct {
	school int32
	p      [3]float64
	lo, hi [3]float64 // bounding box of the subtree
	axis   uint8
	live   int32 // live schools in the subtree
	alive  bool
}

func unitVector(l Location) [3]float64 {
	const rad = math.Pi / 180
	φ, λ := l.Lat*rad, l.Lon*rad
	return [3]float64{math.Cos(φ) * math.Cos(λ), math.Cos(φ) * math.Sin(λ), math.Sin(φ)}
}

func newSchoolTree(schools []School, open []int32) *schoolTree {
	t := &schoolTree{schools: schools, nodes: make([]treeNode, len(open)), pos: make(map[int32]int, len(open))}
	for k, s := range open {
		t.nodes[k] = treeNode{school: s, p: unitVector(*schools[s].Location), alive: true}
	}
	t.build(0, len(open))
	for k := range t.nodes {
		t.pos[t.nodes[k].school] = k
	}
	return t
}

// build arranges nodes[lo:hi] so that its median splits it along the
// axis of widest spread, recursively, and fills boxes and live counts.
func (t *schoolTree) build(lo, hi int) {
	if lo >= hi {
		return
	}
	var bmin, bmax [3]float64
	for a := range 3 {
		bmin[a], bmax[a] = math.Inf(1), math.Inf(-1)
	}
	for _, nd := range t.nodes[lo:hi] {
		for a := range 3 {
			bmin[a] = min(bmin[a], nd.p[a])
			bmax[a] = max(bmax[a], nd.p[a])
		}
	}
	axis := 0
	for a := 1; a < 3; a++ {
		if bmax[a]-bmin[a] > bmax[axis]-bmin[axis] {
			axis = a
		}
	}
	mid := (lo + hi) / 2
	slices.SortFunc(t.nodes[lo:hi], func(x, y treeNode) int {
		if x.p[axis] != y.p[axis] {
			if x.p[axis] < y.p[axis] {
				return -1
			}
			return 1
		}
		return int(x.school - y.school)
	})
	t.build(lo, mid)
	t.build(mid+1, hi)
	nd := &t.nodes[mid]
	nd.lo, nd.hi, nd.axis, nd.live = bmin, bmax, uint8(axis), int32(hi-lo)
}

// remove marks school s full.
func (t *schoolTree) remove(s int32) {
	k := t.pos[s]
	t.nodes[k].alive = false
	lo, hi := 0, len(t.nodes)
	for lo < hi {
		mid := (lo + hi) / 2
		t.nodes[mid].live--
		switch {
		case k == mid:
			return
		case k < mid:
			hi = mid
		default:
			lo = mid + 1
		}
	}
}

// nearest finds the live school nearest to l, ties to the smaller id.
// A first descent finds the smallest squared chord length d2 from l; as
// chord length grows with great-circle distance, the nearest school is
// among those within d2, widened by a margin for rounding. A second
// descent collects them and Distance picks the nearest, then the smaller
// id, exactly as a scan with Distance would.
func (t *schoolTree) nearest(l Location) (int32, float64, bool) {
	q := unitVector(l)
	d2 := math.Inf(1)
	t.closest(0, len(t.nodes), q, &d2)
	if math.IsInf(d2, 1) {
		return -1, 0, false
	}
	best := nearestState{school: -1, km: math.Inf(1)}
	t.within(0, len(t.nodes), l, q, d2*(1+1e-9)+1e-18, &best)
	return best.school, best.km, true
}

type nearestState struct {
	school int32
	km     float64
}

// closest lowers *d2 to the smallest squared chord length from q to a
// live school in nodes[lo:hi].
func (t *schoolTree) closest(lo, hi int, q [3]float64, d2 *float64) {
	if lo >= hi {
		return
	}
	mid := (lo + hi) / 2
	nd := &t.nodes[mid]
	if nd.live == 0 || boxDist2(q, &nd.lo, &nd.hi) > *d2 {
		return
	}
	if nd.alive {
		*d2 = min(*d2, dist2(q, nd.p))
	}
	if q[nd.axis] < nd.p[nd.axis] {
		t.closest(lo, mid, q, d2)
		t.closest(mid+1, hi, q, d2)
	} else {
		t.closest(mid+1, hi, q, d2)
		t.closest(lo, mid, q, d2)
	}
}

// within offers every live school in nodes[lo:hi] whose squared chord
// length from q is at most r2 to best, compared by Distance and then id.
func (t *schoolTree) within(lo, hi int, l Location, q [3]float64, r2 float64, best *nearestState) {
	if lo >= hi {
		return
	}
	mid := (lo + hi) / 2
	nd := &t.nodes[mid]
	if nd.live == 0 || boxDist2(q, &nd.lo, &nd.hi) > r2 {
		return
	}
	if nd.alive && dist2(q, nd.p) <= r2 {
		sc := &t.schools[nd.school]
		km := Distance(l, *sc.Location)
		if best.school < 0 || km < best.km || km == best.km && sc.ID < t.schools[best.school].ID {
			best.school, best.km = nd.school, km
		}
	}
	t.within(lo, mid, l, q, r2, best)
	t.within(mid+1, hi, l, q, r2, best)
}

func dist2(a, b [3]float64) float64 {
	x, y, z := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return x*x + y*y + z*z
}

// boxDist2 is the squared distance from q to the box [lo, hi], a lower
// bound of the squared chord length to any school inside it.
func boxDist2(q [3]float64, lo, hi *[3]float64) float64 {
	var d2 float64
	for a := range 3 {
		switch {
		case q[a] < lo[a]:
			d2 += (lo[a] - q[a]) * (lo[a] - q[a])
		case q[a] > hi[a]:
			d2 += (q[a] - hi[a]) * (q[a] - hi[a])
		}
	}
	return d2
}
