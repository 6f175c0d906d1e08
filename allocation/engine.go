package allocation

import (
	"bytes"
	"slices"
)

// A key is a proposal's priority in compact form: class, score key and
// lottery prefix compare as integers; the rare tie of prefixes falls back
// to the full digests (see compiled.tieLess).
type key struct {
	class uint32
	st    int32 // student index
	score uint64
	lot   uint64
}

// keyOf returns the priority key of student i's choice at flat position j.
func (c *compiled) keyOf(i int32, j int32) key {
	s := c.choice[j]
	k := key{class: uint32(c.class[c.atomsOf(i, s)]), st: i}
	if c.choiceKey != nil && c.scored[s] {
		k.score = c.choiceKey[j]
	}
	if c.multiple {
		k.lot = c.lotAt[j]
	} else {
		k.lot = c.lot[i]
	}
	return k
}

// less reports whether a has higher priority than b at school s.
func (c *compiled) less(a, b key, s int32) bool {
	if a.class != b.class {
		return a.class < b.class
	}
	if a.score != b.score {
		return a.score < b.score
	}
	if a.lot != b.lot {
		return a.lot < b.lot
	}
	return c.tieLess(a.st, b.st, s)
}

// tieLess breaks a tie of digest prefixes (about one in 2^64 pairs) by
// the full digests and, should they be equal too, by student id, so the
// order never depends on input positions.
func (c *compiled) tieLess(a, b int32, s int32) bool {
	da, db := c.digest(a, s), c.digest(b, s)
	if d := bytes.Compare(da[:], db[:]); d != 0 {
		return d < 0
	}
	return c.inst.Students[a].ID < c.inst.Students[b].ID
}

// digest recomputes the lottery digest of student i at school s.
func (c *compiled) digest(i, s int32) [32]byte {
	if c.multiple {
		return LotteryDigestAt(c.inst.Seed, c.inst.Schools[s].ID, c.inst.Students[i].ID)
	}
	return LotteryDigest(c.inst.Seed, c.inst.Students[i].ID)
}

// priority expands the key of student i at school s into a Priority.
func (c *compiled) priority(k key, s int32) Priority {
	p := Priority{Class: int(k.class), Lottery: c.digest(k.st, s)}
	if c.scored[s] && k.score != noScore {
		p.HasScore, p.Score = true, scoreFromKey(k.score)
	}
	return p
}

// outcome is what a mechanism produces.
type outcome struct {
	held      []int32 // flat choice position held by each student, or -1
	count     []int32 // students admitted by choice at each school
	cutoff    []key   // key of the last admitted student at full schools
	full      []bool  // the school's seats were all taken by choice
	filled    []int32 // Boston: round (1-based) in which the school filled
	proposals int
}

func newOutcome(n, m int) *outcome {
	o := &outcome{
		held:   make([]int32, n),
		count:  make([]int32, m),
		cutoff: make([]key, m),
		full:   make([]bool, m),
	}
	for i := range o.held {
		o.held[i] = -1
	}
	return o
}

// deferredAcceptance runs student-proposing deferred acceptance. Each full
// school keeps its tentatively admitted students in a max-heap whose root
// is the admitted student of lowest priority, so a proposal to a full
// school costs one comparison and, on admission, one O(log q) sift. The
// outcome (the student-optimal stable matching) does not depend on the
// order in which students propose.
func (c *compiled) deferredAcceptance() *outcome {
	n, m := len(c.inst.Students), len(c.inst.Schools)
	o := newOutcome(n, m)
	// Heaps are slices of one array, each sized min(quota, demand).
	start := make([]int32, m+1)
	var total int64
	for s := range m {
		start[s] = int32(total)
		total += int64(min(c.quota[s], c.demand[s]))
	}
	start[m] = int32(total)
	heapBuf := make([]key, total)
	next := slices.Clone(c.off[:n])
	proposals := 0
	for i := range int32(n) {
		st := i
		for st >= 0 && next[st] < c.off[st+1] {
			j := next[st]
			next[st]++
			s := c.choice[j]
			proposals++
			h := heapBuf[start[s]:start[s+1]]
			if len(h) == 0 {
				continue // no seats
			}
			k := c.keyOf(st, j)
			if cnt := o.count[s]; cnt < int32(len(h)) {
				// While seats are free the order does not matter; the heap
				// is built once, when the last seat is taken.
				h[cnt] = k
				o.count[s] = cnt + 1
				if int(cnt)+1 == len(h) {
					for x := len(h)/2 - 1; x >= 0; x-- {
						c.siftDown(h, x, s)
					}
				}
				o.held[st] = j
				st = -1
				continue
			}
			if !c.less(k, h[0], s) {
				continue // rejected; propose to the next choice
			}
			evicted := h[0].st
			h[0] = k
			c.siftDown(h, 0, s)
			o.held[st] = j
			o.held[evicted] = -1
			st = evicted
		}
	}
	o.proposals = proposals
	for s := range int32(m) {
		if c.quota[s] > 0 && o.count[s] == c.quota[s] {
			o.full[s] = true
			o.cutoff[s] = heapBuf[start[s]]
		}
	}
	return o
}

// siftDown restores the max-heap order of h below i: the root of the heap
// is the admitted student who comes last.
func (c *compiled) siftDown(h []key, i int, s int32) {
	n := len(h)
	for {
		worst := i
		l, r := 2*i+1, 2*i+2
		if l < n && c.less(h[worst], h[l], s) {
			worst = l
		}
		if r < n && c.less(h[worst], h[r], s) {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
}

// boston runs immediate acceptance. In round k every student still
// without a seat applies to its k-th choice; each school admits its
// applicants by priority into the seats it still has, and those admitted
// keep their seats for good. Applicants are bucketed by school with a
// counting sort each round; only schools with more applicants than seats
// sort theirs.
func (c *compiled) boston() *outcome {
	n, m := len(c.inst.Students), len(c.inst.Schools)
	o := newOutcome(n, m)
	o.filled = make([]int32, m)
	maxK := int32(0)
	for i := range n {
		maxK = max(maxK, c.off[i+1]-c.off[i])
	}
	for s := range m {
		o.full[s] = c.quota[s] == 0 // no seats from the start: filled in round 0
	}
	bucketStart := make([]int32, m+1)
	fill := make([]int32, m)
	var apps []key
	for r := range maxK {
		clear(bucketStart)
		napps := 0
		for i := range n {
			j := c.off[i] + r
			if o.held[i] < 0 && j < c.off[i+1] {
				o.proposals++
				if s := c.choice[j]; !o.full[s] {
					bucketStart[s+1]++
					napps++
				}
			}
		}
		for s := range m {
			bucketStart[s+1] += bucketStart[s]
		}
		copy(fill, bucketStart[:m])
		apps = slices.Grow(apps[:0], napps)[:napps]
		for i := range int32(n) {
			j := c.off[i] + r
			if o.held[i] < 0 && j < c.off[i+1] {
				if s := c.choice[j]; !o.full[s] {
					apps[fill[s]] = c.keyOf(i, j)
					fill[s]++
				}
			}
		}
		for s := range int32(m) {
			b := apps[bucketStart[s]:bucketStart[s+1]]
			if len(b) == 0 {
				continue
			}
			seats := int(c.quota[s] - o.count[s])
			if len(b) >= seats {
				slices.SortFunc(b, func(x, y key) int {
					if c.less(x, y, s) {
						return -1
					}
					if c.less(y, x, s) {
						return 1
					}
					return 0
				})
				b = b[:seats]
				o.full[s] = true
				o.filled[s] = r + 1
				o.cutoff[s] = b[seats-1]
			}
			for _, k := range b {
				o.held[k.st] = c.off[k.st] + r
			}
			o.count[s] += int32(len(b))
		}
	}
	for s := range m {
		o.full[s] = o.full[s] && c.quota[s] > 0
	}
	return o
}
