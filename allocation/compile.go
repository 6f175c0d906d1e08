package allocation

import (
	"crypto/sha256"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// maxProblems caps the problems an InputError lists.
const maxProblems = 20

// An InputError reports everything wrong with an instance, up to a cap,
// each problem naming its record, for example
// `students[12] (id "hs-0013"): choices[2]: unknown school "T99"`.
type InputError struct {
	// Problems lists the problems found, in input order within each part
	// (top-level fields, schools, students, scores).
	Problems []string
	// Omitted counts further problems that were found but not listed.
	Omitted int
}

// Error lists the problems, one per line.
func (e *InputError) Error() string {
	var b strings.Builder
	n := len(e.Problems) + e.Omitted
	if n == 1 {
		b.WriteString("invalid instance: ")
		b.WriteString(e.Problems[0])
		return b.String()
	}
	fmt.Fprintf(&b, "invalid instance: %d problems:", n)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p)
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, "\n  … and %d more", e.Omitted)
	}
	return b.String()
}

// problems collects input problems up to maxProblems.
type problems struct {
	list    []string
	omitted int
}

func (p *problems) add(format string, args ...any) {
	if len(p.list) >= maxProblems {
		p.omitted++
		return
	}
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) merge(q *problems) {
	for _, s := range q.list {
		p.add("%s", s)
	}
	p.omitted += q.omitted
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &InputError{Problems: p.list, Omitted: p.omitted}
}

// compiled is an instance turned into dense integer arrays: students and
// schools are numbered by input position, zones by first appearance in a
// catchment, and each student's choices are a slice of one flat array.
type compiled struct {
	inst     *Instance
	rules    []rule
	class    *[256]uint16
	multiple bool

	needZones, needGroups, needSibling bool

	schoolIdx map[string]int32
	quota     []int32   // clamped to the int32 range
	catch     [][]int32 // catchment zones, sorted
	scored    []bool    // the school has scores
	hasLoc    []bool

	off       []int32  // choices of student i are choice[off[i]:off[i+1]]
	choice    []int32  // school of each choice
	lotAt     []uint64 // multiple tie-break: digest prefix of each choice
	choiceKey []uint64 // score key of each choice, nil without scores
	sibOff    []int32
	sibling   []int32
	perm, cur []int32 // zone ids, -1 when none or in no catchment
	group     []uint8
	lot       []uint64 // single-lottery digest prefix of each student
	demand    []int32  // students choosing each school
}

// Validate reports whether inst can be placed; it returns an *InputError
// listing every problem found (up to a cap), or nil.
func Validate(inst *Instance) error {
	_, err := compile(inst)
	return err
}

// compile validates inst and builds the dense representation.
func compile(inst *Instance) (*compiled, error) {
	var p problems
	c := &compiled{inst: inst}
	if inst.Seed == "" {
		p.add("seed: missing; the public lottery seed is required")
	}
	switch inst.Mechanism {
	case "", MechanismDA, MechanismBoston:
	default:
		p.add("mechanism: unknown mechanism %q (want \"da\" or \"boston\")", inst.Mechanism)
	}
	switch inst.TieBreak {
	case "", TieBreakSingle:
	case TieBreakMultiple:
		c.multiple = true
	default:
		p.add("tie_break: unknown tie-break %q (want \"single\" or \"multiple\")", inst.TieBreak)
	}
	if inst.Level != "" && !validLevel(inst.Level) {
		p.add("level: unknown level %q (want mg3, mg4, mg5, lop1 or lop6)", inst.Level)
	}
	rules, rp := parseRules(inst.PriorityRules)
	for _, s := range rp {
		p.add("%s", s)
	}
	if len(inst.PriorityRules) > math.MaxUint16-1 {
		p.add("priority_rules: %d rules, at most %d allowed", len(inst.PriorityRules), math.MaxUint16-1)
	}
	if len(inst.Students) > math.MaxInt32-1 || len(inst.Schools) > math.MaxInt32-1 {
		p.add("too many records")
		return nil, p.err()
	}
	c.rules = rules
	c.class = classTable(rules)
	for _, r := range rules {
		c.needZones = c.needZones || r.need&(atomDT1|atomDT2|atomDT3|atomInCatchment) != 0
		c.needGroups = c.needGroups || r.need&(atomGroup1|atomGroup2|atomGroup3) != 0
		c.needSibling = c.needSibling || r.need&atomSibling != 0
	}

	zoneIdx := c.compileSchools(&p)

	// Students: the per-student work (digests, choices, zones) runs on
	// all cores in chunks, while one goroutine checks ids for repeats.
	n := len(inst.Students)
	c.off = make([]int32, n+1)
	total := 0
	for i := range inst.Students {
		c.off[i] = int32(total)
		total += len(inst.Students[i].Choices)
		if total > math.MaxInt32 {
			p.add("students: more than %d choices in all", math.MaxInt32)
			return nil, p.err()
		}
	}
	c.off[n] = int32(total)
	c.choice = make([]int32, total)
	if c.multiple {
		c.lotAt = make([]uint64, total)
	}
	c.lot = make([]uint64, n)
	if c.needZones {
		c.perm = make([]int32, n)
		c.cur = make([]int32, n)
	}
	if c.needGroups {
		c.group = make([]uint8, n)
	}

	anyScores := false
	for _, sc := range c.scored {
		anyScores = anyScores || sc
	}
	if anyScores {
		c.choiceKey = make([]uint64, total)
	}

	// The per-student work (digests, choices, zones, scores) runs on all
	// cores in chunks; problems are kept per chunk to stay in input order.
	const chunk = 8192
	chunks := (n + chunk - 1) / chunk
	workers := min(runtime.GOMAXPROCS(0), max(chunks, 1))
	perChunk := make([]problems, chunks)
	sibCount := make([]int32, n)
	found := make([][]int32, workers) // scores found per school, per worker
	var next atomic.Int64
	var wg sync.WaitGroup
	for k := range workers {
		found[k] = make([]int32, len(inst.Schools))
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := studentWorker{c: c, zoneIdx: zoneIdx, seen: make([]int32, len(inst.Schools)), found: found[k]}
			for {
				ch := int(next.Add(1) - 1)
				if ch >= chunks {
					return
				}
				for i := ch * chunk; i < min(n, (ch+1)*chunk); i++ {
					sibCount[i] = w.student(i, &perChunk[ch])
				}
			}
		}()
	}
	wg.Wait()
	for k := range perChunk {
		p.merge(&perChunk[k])
	}
	c.checkDuplicateStudents(&p)
	if c.needSibling {
		c.compileSiblings(sibCount)
	}
	if anyScores {
		c.checkScores(found, &p)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	c.demand = make([]int32, len(inst.Schools))
	for _, s := range c.choice {
		c.demand[s]++
	}
	return c, nil
}

// compileSchools numbers schools and zones and checks the school records.
func (c *compiled) compileSchools(p *problems) map[string]int32 {
	inst := c.inst
	m := len(inst.Schools)
	c.schoolIdx = make(map[string]int32, m)
	c.quota = make([]int32, m)
	c.catch = make([][]int32, m)
	c.scored = make([]bool, m)
	c.hasLoc = make([]bool, m)
	zoneIdx := make(map[string]int32)
	for k := range inst.Schools {
		s := &inst.Schools[k]
		name := fmt.Sprintf("schools[%d] (id %q)", k, s.ID)
		if s.ID == "" {
			p.add("schools[%d]: missing id", k)
		} else if j, ok := c.schoolIdx[s.ID]; ok {
			p.add("%s: duplicate id, first used by schools[%d]", name, j)
		} else {
			c.schoolIdx[s.ID] = int32(k)
		}
		switch {
		case s.Quota < 0:
			p.add("%s: quota: negative quota %d", name, s.Quota)
		case s.Quota > math.MaxInt32:
			c.quota[k] = math.MaxInt32
		default:
			c.quota[k] = int32(s.Quota)
		}
		for j, z := range s.Catchment {
			if z == "" {
				p.add("%s: catchment[%d]: empty zone", name, j)
				continue
			}
			id, ok := zoneIdx[z]
			if !ok {
				id = int32(len(zoneIdx))
				zoneIdx[z] = id
			}
			c.catch[k] = append(c.catch[k], id)
		}
		slices.Sort(c.catch[k])
		c.catch[k] = slices.Compact(c.catch[k])
		if s.Location != nil {
			if msg := checkLocation(*s.Location); msg != "" {
				p.add("%s: location: %s", name, msg)
			}
			c.hasLoc[k] = true
		}
		c.scored[k] = len(s.Scores) > 0
	}
	return zoneIdx
}

// checkLocation says what is wrong with a location, or "".
func checkLocation(l Location) string {
	switch {
	case math.IsNaN(l.Lat) && math.IsNaN(l.Lon):
		return "location without lat and lon (omit location, or give both)"
	case math.IsNaN(l.Lat):
		return "location without lat (a location needs both lat and lon)"
	case math.IsNaN(l.Lon):
		return "location without lon (a location needs both lat and lon)"
	case l.Lat < -90 || l.Lat > 90:
		return fmt.Sprintf("latitude %v out of range -90..90", l.Lat)
	case l.Lon < -180 || l.Lon > 180:
		return fmt.Sprintf("longitude %v out of range -180..180", l.Lon)
	}
	return ""
}

// A studentWorker checks and compiles students; each goroutine has one.
type studentWorker struct {
	c       *compiled
	zoneIdx map[string]int32
	seen    []int32 // seen[s] == i+1 when student i already chose s
	found   []int32 // finite scores found at each school
	buf     []byte
}

// student compiles student i and returns its number of siblings_at
// entries naming known schools.
func (w *studentWorker) student(i int, p *problems) int32 {
	c := w.c
	st := &c.inst.Students[i]
	seed := c.inst.Seed
	if st.ID == "" {
		p.add("students[%d]: missing id", i)
	}
	w.buf = append(append(append(w.buf[:0], seed...), '/'), st.ID...)
	d := sha256.Sum256(w.buf)
	c.lot[i] = prefix(&d)

	base := int(c.off[i])
	for j, id := range st.Choices {
		s, ok := c.schoolIdx[id]
		switch {
		case !ok:
			p.add("%s: choices[%d]: unknown school %q", studentName(i, st.ID), j, id)
			s = 0
		case w.seen[s] == int32(i+1):
			p.add("%s: choices[%d]: school %q chosen twice", studentName(i, st.ID), j, id)
		default:
			w.seen[s] = int32(i + 1)
		}
		c.choice[base+j] = s
		if c.choiceKey != nil {
			c.choiceKey[base+j] = noScore
			if ok && c.scored[s] {
				if v, has := c.inst.Schools[s].Scores[st.ID]; has && !math.IsNaN(v) && !math.IsInf(v, 0) {
					c.choiceKey[base+j] = scoreKey(v)
					w.found[s]++
				}
			}
		}
		if c.multiple && ok {
			w.buf = append(append(append(append(append(w.buf[:0], seed...), '/'), id...), '/'), st.ID...)
			d := sha256.Sum256(w.buf)
			c.lotAt[base+j] = prefix(&d)
		}
	}
	if st.PriorityGroup < 0 || st.PriorityGroup > 3 {
		p.add("%s: priority_group: %d out of range 0..3", studentName(i, st.ID), st.PriorityGroup)
	} else if c.group != nil {
		c.group[i] = uint8(st.PriorityGroup)
	}
	if c.perm != nil {
		c.perm[i], c.cur[i] = -1, -1
		if z, ok := w.zoneIdx[st.PermanentZone]; ok && st.PermanentZone != "" {
			c.perm[i] = z
		}
		if z, ok := w.zoneIdx[st.CurrentZone]; ok && st.CurrentZone != "" {
			c.cur[i] = z
		}
	}
	if st.Location != nil {
		if msg := checkLocation(*st.Location); msg != "" {
			p.add("%s: location: %s", studentName(i, st.ID), msg)
		}
	}
	var sib int32
	if !c.needSibling {
		return 0
	}
	for _, id := range st.SiblingsAt {
		if _, ok := c.schoolIdx[id]; ok {
			sib++
		}
	}
	return sib
}

// compileSiblings flattens siblings_at into school numbers. Schools that
// are not in the instance are dropped: they can give no priority here.
func (c *compiled) compileSiblings(count []int32) {
	n := len(count)
	c.sibOff = make([]int32, n+1)
	var total int32
	for i, k := range count {
		c.sibOff[i] = total
		total += k
	}
	c.sibOff[n] = total
	c.sibling = make([]int32, 0, total)
	for i := range c.inst.Students {
		for _, id := range c.inst.Students[i].SiblingsAt {
			if s, ok := c.schoolIdx[id]; ok {
				c.sibling = append(c.sibling, s)
			}
		}
	}
}

// checkDuplicateStudents reports repeated student ids. Equal ids have
// equal single-lottery digests, so it sorts the digest prefixes (radix
// sort, no map of a million strings) and compares ids only where prefixes
// repeat.
func (c *compiled) checkDuplicateStudents(p *problems) {
	sorted := radixSort(slices.Clone(c.lot))
	var repeated map[uint64][]int32
	for k := 1; k < len(sorted); k++ {
		if sorted[k] == sorted[k-1] {
			if repeated == nil {
				repeated = make(map[uint64][]int32)
			}
			repeated[sorted[k]] = nil
		}
	}
	if repeated == nil {
		return
	}
	for i, l := range c.lot {
		if g, ok := repeated[l]; ok {
			repeated[l] = append(g, int32(i))
		}
	}
	type dup struct{ i, first int32 }
	var dups []dup
	for _, g := range repeated {
		for a, i := range g {
			id := c.inst.Students[i].ID
			for _, j := range g[:a] {
				if id != "" && c.inst.Students[j].ID == id {
					dups = append(dups, dup{i, j})
					break
				}
			}
		}
	}
	slices.SortFunc(dups, func(a, b dup) int { return int(a.i - b.i) })
	for _, d := range dups {
		p.add("%s: duplicate id, first used by students[%d]", studentName(int(d.i), c.inst.Students[d.i].ID), d.first)
	}
}

// radixSort sorts xs in place (least significant digit first, 16 bits a
// pass) and returns it.
func radixSort(xs []uint64) []uint64 {
	if len(xs) < 1<<14 {
		slices.Sort(xs)
		return xs
	}
	tmp := make([]uint64, len(xs))
	var count [1 << 16]int
	for shift := 0; shift < 64; shift += 16 {
		clear(count[:])
		for _, x := range xs {
			count[(x>>shift)&0xffff]++
		}
		sum := 0
		for d, k := range count {
			count[d] = sum
			sum += k
		}
		for _, x := range xs {
			d := (x >> shift) & 0xffff
			tmp[count[d]] = x
			count[d]++
		}
		xs, tmp = tmp, xs
	}
	return xs // after four passes the data is back in the caller's slice
}

// checkScores reports score keys that name no student and scores that are
// not finite. The workers looked up every (student, scored school) choice
// in the school's map; a school whose map holds exactly the scores found
// that way, all finite, needs no further check. Only the others are
// walked, with an index of student ids built for them.
func (c *compiled) checkScores(found [][]int32, p *problems) {
	var studentIdx map[string]int32
	for k := range c.inst.Schools {
		sc := &c.inst.Schools[k]
		var n int32
		for _, f := range found {
			n += f[k]
		}
		if !c.scored[k] || int(n) == len(sc.Scores) {
			continue
		}
		if studentIdx == nil {
			studentIdx = make(map[string]int32, len(c.inst.Students))
			for i := range c.inst.Students {
				studentIdx[c.inst.Students[i].ID] = int32(i)
			}
		}
		var msgs []string
		for id, v := range sc.Scores {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				msgs = append(msgs, fmt.Sprintf("scores[%q]: score %v is not a finite number", id, v))
			} else if _, ok := studentIdx[id]; !ok {
				msgs = append(msgs, fmt.Sprintf("scores[%q]: unknown student %q", id, id))
			}
		}
		slices.Sort(msgs) // map order is random; messages must not be
		for _, m := range msgs {
			p.add("schools[%d] (id %q): %s", k, sc.ID, m)
		}
	}
}

// atomsOf computes the atom set of student i at school s.
func (c *compiled) atomsOf(i int32, s int32) atom {
	var a atom
	if c.needZones {
		pIn := c.perm[i] >= 0 && inZones(c.catch[s], c.perm[i])
		cIn := c.cur[i] >= 0 && inZones(c.catch[s], c.cur[i])
		switch {
		case pIn && cIn:
			a |= atomDT1 | atomInCatchment
		case pIn:
			a |= atomDT2 | atomInCatchment
		case cIn:
			a |= atomDT3 | atomInCatchment
		}
	}
	if c.needGroups {
		switch c.group[i] {
		case 1:
			a |= atomGroup1
		case 2:
			a |= atomGroup2
		case 3:
			a |= atomGroup3
		}
	}
	if c.needSibling {
		for _, t := range c.sibling[c.sibOff[i]:c.sibOff[i+1]] {
			if t == s {
				a |= atomSibling
				break
			}
		}
	}
	return a
}

func inZones(zones []int32, z int32) bool {
	if len(zones) > 8 {
		_, ok := slices.BinarySearch(zones, z)
		return ok
	}
	for _, x := range zones {
		if x == z {
			return true
		}
	}
	return false
}

// studentName names a student record in problems.
func studentName(i int, id string) string { return fmt.Sprintf("students[%d] (id %q)", i, id) }

// validLevel reports whether l is an entry level code. The list is
// enrollment's; allocation imports nothing of the service, so it is
// repeated here.
func validLevel(l string) bool {
	switch l {
	case "mg3", "mg4", "mg5", "lop1", "lop6":
		return true
	}
	return false
}
