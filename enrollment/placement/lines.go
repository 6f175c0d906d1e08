package placement

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
)

// idLen is the length of a pseudonym: 64 hex digits.
const idLen = 2 * sha256.Size

// residence is what a run needs of a residence (a ward and a group): its
// zone, its location (the ward's), and whether some catchment of the run
// holds the zone.
type residence struct {
	zone      string
	noWard    bool
	catchment bool
	place     *allocation.Location
}

// home is a residence as a placement line names it.
type home struct{ ward, group string }

// kid is a child as read from its placement line, holding no pointer:
// the arrays grow by copying and the collector has nothing to follow in
// them.
type kid struct {
	choices   [2]int32 // start and end in its reader's or pool's picks
	perm, cur int32    // in its reader's or pool's homes
	priority  int32
	// out marks a child that is no longer among the pool's: changed to
	// another state, removed (a reader of changes only).
	out bool
}

// A pool is the children of a level and school year in some states, as
// their placement lines give them, whatever the run: the schools they
// chose, in or out of the run's scope, and their homes. A run makes its
// students from one (students). A pool never changes once made: runs
// share it, and the changes since it was read make a new one (refresh).
type pool struct {
	level  enrollment.Level
	year   int
	states []enrollment.Status
	// The children in pseudonym order: their pseudonyms one after another
	// in names, their first 16 hex digits as a number in keys.
	names   string
	keys    []uint64
	kids    []kid
	picks   []int32 // the choices, as numbers in schools
	schools []string
	homes   []home
	// mark is where the changes since the pool was read begin (see
	// postgres.DB.PlacementChanges).
	mark uint64
}

// lineReader reads placement lines (migrations/00015_placement_line.sql)
// into children, in the order they come. Each part of the lines read at
// once has a reader of its own.
type lineReader struct {
	level enrollment.Level
	year  int

	keys     []uint64
	names    strings.Builder // the pseudonyms, one after another
	kids     []kid
	picks    []int32 // as numbers in schools
	schools  []string
	schoolAt map[string]int32
	homes    []home
	homeAt   map[string]int32
	hashed   [128]byte
	name     [idLen]byte
}

// newLineReader returns a reader with room for about n children.
func newLineReader(level enrollment.Level, year, n int) *lineReader {
	r := &lineReader{level: level, year: year, keys: make([]uint64, 0, n),
		kids: make([]kid, 0, n), picks: make([]int32, 0, n*3), schoolAt: map[string]int32{}, homeAt: map[string]int32{}}
	r.names.Grow(n * idLen)
	return r
}

// school returns the number of a school code.
func (r *lineReader) school(code []byte) int32 {
	if n, ok := r.schoolAt[string(code)]; ok {
		return n
	}
	n := int32(len(r.schools))
	r.schools = append(r.schools, string(code))
	r.schoolAt[string(code)] = n
	return n
}

// home returns the number of the home whose ward and group are field
// ("ward\tgroup").
func (r *lineReader) home(field []byte) int32 {
	if n, ok := r.homeAt[string(field)]; ok {
		return n
	}
	ward, group, _ := strings.Cut(string(field), "\t")
	n := int32(len(r.homes))
	r.homes = append(r.homes, home{ward, group})
	r.homeAt[string(field)] = n
	return n
}

// named adds a child of tracking code code and returns it.
func (r *lineReader) named(code []byte) *kid {
	d := pseudonymDigest(r.hashed[:0], r.level, r.year, code)
	r.names.Write(hex.AppendEncode(r.name[:0], d[:]))
	r.keys = append(r.keys, binary.BigEndian.Uint64(d[:8]))
	r.kids = append(r.kids, kid{})
	return &r.kids[len(r.kids)-1]
}

// line reads one line.
func (r *lineReader) line(line []byte) error {
	// tab[n] is where field n ends.
	var tab [6]int
	at := 0
	for n := range tab {
		i := bytes.IndexByte(line[at:], '\t')
		if i < 0 {
			return fmt.Errorf("placement line of %d fields, want %d", n+1, len(tab)+1)
		}
		tab[n] = at + i
		at = tab[n] + 1
	}
	p, err := strconv.Atoi(string(line[tab[5]+1:]))
	if err != nil {
		return fmt.Errorf("placement line: priority group: %w", err)
	}
	c := r.named(line[:tab[0]])
	c.priority = int32(p)
	c.choices[0] = int32(len(r.picks))
	for choices := line[tab[0]+1 : tab[1]]; len(choices) > 0; {
		school := choices
		if i := bytes.IndexByte(choices, ' '); i >= 0 {
			school, choices = choices[:i], choices[i+1:]
		} else {
			choices = nil
		}
		r.picks = append(r.picks, r.school(school))
	}
	c.choices[1] = int32(len(r.picks))
	// A home is two fields: ward, tab, group.
	c.perm = r.home(line[tab[1]+1 : tab[3]])
	c.cur = r.home(line[tab[3]+1 : tab[5]])
	return nil
}

// source is a sorted or unsorted run of children a pool is made from: a
// reader's, or a pool's, with the numbers its schools and homes have in
// the pool made.
type source struct {
	names  string
	keys   []uint64
	kids   []kid
	picks  []int32
	school []int32
	home   []int32
}

// poolBuilder makes a pool, child after child, in pseudonym order.
type poolBuilder struct {
	p       *pool
	names   strings.Builder
	schools numbering[string]
	homes   numbering[home]
}

// newPoolBuilder starts a pool with room for n children and npicks
// choices, whose schools and homes begin with base's (nil for none).
func newPoolBuilder(base *pool, n, npicks int) *poolBuilder {
	b := &poolBuilder{p: &pool{keys: make([]uint64, 0, n), kids: make([]kid, 0, n), picks: make([]int32, 0, npicks)}}
	b.schools = numbering[string]{&b.p.schools, map[string]int32{}}
	b.homes = numbering[home]{&b.p.homes, map[home]int32{}}
	b.names.Grow(n * idLen)
	if base != nil {
		b.p.level, b.p.year, b.p.states = base.level, base.year, base.states
		for _, s := range base.schools {
			b.schools.number(s)
		}
		for _, h := range base.homes {
			b.homes.number(h)
		}
	}
	return b
}

// numbering numbers values in the order they first come.
type numbering[K comparable] struct {
	list *[]K
	at   map[K]int32
}

// number returns the number of k, numbering it if new.
func (n numbering[K]) number(k K) int32 {
	i, ok := n.at[k]
	if !ok {
		i = int32(len(*n.list))
		*n.list = append(*n.list, k)
		n.at[k] = i
	}
	return i
}

// source returns the source of a reader's children.
func (b *poolBuilder) source(r *lineReader) *source {
	s := &source{names: r.names.String(), keys: r.keys, kids: r.kids, picks: r.picks,
		school: make([]int32, len(r.schools)), home: make([]int32, len(r.homes))}
	for i, code := range r.schools {
		s.school[i] = b.schools.number(code)
	}
	for i, h := range r.homes {
		s.home[i] = b.homes.number(h)
	}
	return s
}

// poolSource returns the source of a pool's children, whose schools and
// homes the builder began with.
func poolSource(p *pool) *source {
	s := &source{names: p.names, keys: p.keys, kids: p.kids, picks: p.picks,
		school: make([]int32, len(p.schools)), home: make([]int32, len(p.homes))}
	for i := range s.school {
		s.school[i] = int32(i)
	}
	for i := range s.home {
		s.home[i] = int32(i)
	}
	return s
}

// add adds child i of s.
func (b *poolBuilder) add(s *source, i int) {
	c := s.kids[i]
	start := len(b.p.picks)
	for _, k := range s.picks[c.choices[0]:c.choices[1]] {
		b.p.picks = append(b.p.picks, s.school[k])
	}
	c.choices = [2]int32{int32(start), int32(len(b.p.picks))}
	c.perm, c.cur = s.home[c.perm], s.home[c.cur]
	b.p.kids = append(b.p.kids, c)
	b.p.keys = append(b.p.keys, s.keys[i])
	b.names.WriteString(s.names[i*idLen : (i+1)*idLen])
}

// pool returns the pool made.
func (b *poolBuilder) pool(mark uint64) *pool {
	b.p.names, b.p.mark = b.names.String(), mark
	return b.p
}

// at is a child of a source: the one a sort moves.
type at struct {
	key uint64
	src int32
	i   int32
}

// order returns the children of srcs in pseudonym order; of one
// pseudonym in several sources, the earlier source's first.
func order(srcs []*source) []at {
	n := 0
	for _, s := range srcs {
		n += len(s.kids)
	}
	all := make([]at, 0, n)
	for k, s := range srcs {
		for i, key := range s.keys {
			all = append(all, at{key, int32(k), int32(i)})
		}
	}
	name := func(a at) string { return srcs[a.src].names[int(a.i)*idLen : int(a.i+1)*idLen] }
	return sortByKey(all, func(a *at) uint64 { return a.key }, func(a, b at) int {
		if a.key != b.key {
			return cmp.Compare(a.key, b.key)
		}
		return cmp.Or(strings.Compare(name(a), name(b)), cmp.Compare(a.src, b.src))
	})
}

// newPool makes the pool of the children readers read, up to mark.
func newPool(level enrollment.Level, year int, states []enrollment.Status, readers []*lineReader, mark uint64) *pool {
	n, npicks := 0, 0
	for _, r := range readers {
		n, npicks = n+len(r.kids), npicks+len(r.picks)
	}
	b := newPoolBuilder(nil, n, npicks)
	b.p.level, b.p.year, b.p.states = level, year, states
	srcs := make([]*source, len(readers))
	for k, r := range readers {
		srcs[k] = b.source(r)
	}
	for _, a := range order(srcs) {
		b.add(srcs[a.src], int(a.i))
	}
	return b.pool(mark)
}

// refresh returns the pool as the applications are now: p itself if none
// changed since it was read, else a new pool, p with the changes made;
// nil if the table was emptied since, or the database is not the one it
// was read from: the pool must be read whole.
func (p *pool) refresh(ctx context.Context, db *postgres.DB) (*pool, error) {
	// The removed children, and the children written since: in a state
	// of the pool's or not (out).
	gone, rows := newLineReader(p.level, p.year, 0), newLineReader(p.level, p.year, 0)
	emptied := false
	mark, err := db.PlacementChanges(ctx, string(p.level), p.year, p.mark, func(status enrollment.Status, line []byte) error {
		switch {
		case status == "" && len(line) == 0:
			emptied = true
			return nil
		case status == "":
			gone.named(line).out = true
			return nil
		}
		if err := rows.line(line); err != nil {
			return err
		}
		rows.kids[len(rows.kids)-1].out = !slices.Contains(p.states, status)
		return nil
	})
	// A mark never goes back on one cluster: one that did says the
	// database is another (restored elsewhere), whose transactions the
	// pool's mark does not count.
	if err != nil || emptied || mark < p.mark {
		return nil, err
	}
	if len(gone.kids)+len(rows.kids) == 0 {
		if mark == p.mark {
			return p, nil
		}
		q := *p
		q.mark = mark
		return &q, nil
	}
	b := newPoolBuilder(p, len(p.kids)+len(rows.kids), len(p.picks)+len(rows.picks))
	old := poolSource(p)
	srcs := []*source{b.source(gone), b.source(rows)}
	name := func(s *source, i int) string { return s.names[i*idLen : (i+1)*idLen] }
	// The changes in pseudonym order, each child once: the removals
	// before the lines, and of one child the last (a child removed and
	// stored again is stored).
	var changes []at
	for _, a := range order(srcs) {
		if n := len(changes); n > 0 && changes[n-1].key == a.key &&
			name(srcs[changes[n-1].src], int(changes[n-1].i)) == name(srcs[a.src], int(a.i)) {
			changes[n-1] = a
			continue
		}
		changes = append(changes, a)
	}
	// The old children and the changes, merged.
	i := 0
	for _, a := range changes {
		s, j := srcs[a.src], int(a.i)
		for ; i < len(p.kids) && cmp.Or(cmp.Compare(p.keys[i], a.key), strings.Compare(name(old, i), name(s, j))) < 0; i++ {
			b.add(old, i)
		}
		if i < len(p.kids) && p.keys[i] == a.key && name(old, i) == name(s, j) {
			i++ // its old line goes
		}
		if !s.kids[j].out {
			b.add(s, j)
		}
	}
	for ; i < len(p.kids); i++ {
		b.add(old, i)
	}
	return b.pool(mark), nil
}

// students returns a run's students from the pool: the children whose
// first choice is a school of the run (inScope gives its number in
// offers), with their choices of the run's schools, in pseudonym order.
// A child whose first choice is outside the run's scope is left out: the
// run of that scope places it.
func (p *pool) students(inScope map[string]int32, offers []string, makeResidence func(ward, group string) residence,
	guaranteed bool) []allocation.Student {
	offer := make([]int32, len(p.schools))
	for i, s := range p.schools {
		offer[i] = -1
		if k, ok := inScope[s]; ok {
			offer[i] = k
		}
	}
	homes := make([]residence, len(p.homes))
	for i, h := range p.homes {
		homes[i] = makeResidence(h.ward, h.group)
	}
	placed := func(c *kid) bool { return c.choices[0] < c.choices[1] && offer[p.picks[c.choices[0]]] >= 0 }
	n, npicks := 0, 0
	for i := range p.kids {
		if c := &p.kids[i]; placed(c) {
			n, npicks = n+1, npicks+int(c.choices[1]-c.choices[0])
		}
	}
	// The choices in one array in the students' order: whatever reads the
	// students one after another (the engine's lottery, the files) then
	// reads them one after another too.
	flat := make([]string, 0, npicks)
	out := make([]allocation.Student, 0, n)
	for i := range p.kids {
		c := &p.kids[i]
		if !placed(c) {
			continue
		}
		start := len(flat)
		for _, k := range p.picks[c.choices[0]:c.choices[1]] {
			if o := offer[k]; o >= 0 {
				flat = append(flat, offers[o])
			}
		}
		perm, cur := &homes[c.perm], &homes[c.cur]
		s := allocation.Student{ID: p.names[i*idLen : (i+1)*idLen], Choices: flat[start:len(flat):len(flat)],
			PermanentZone: perm.zone, CurrentZone: cur.zone, PriorityGroup: int(c.priority),
			Location:   cur.place,
			Guaranteed: guaranteed && (perm.catchment || cur.catchment)}
		if cur.noWard {
			s.Location = perm.place
		}
		out = append(out, s)
	}
	return out
}

// PoolStudents bounds how many children the pools kept between runs hold
// together (a child costs some 110 bytes): two Hanoi grade-6 years and
// more, or a city-wide year of a million children.
var PoolStudents = 2_000_000

type poolKey struct {
	db     *postgres.DB
	level  enrollment.Level
	year   int
	states string
}

// pools are the pools kept between runs.
var pools struct {
	sync.Mutex
	lru[poolKey, poolEntry]
}

// poolEntry is a kept pool; its lock is held while it is brought up to
// date, so that runs at once read the changes once.
type poolEntry struct {
	sync.Mutex
	p *pool
	// warming is set while Warm reads it in the background.
	warming atomic.Bool
}

// poolOf returns the entry of key, made if missing, as the most recently
// used; it drops the least recently used entries past PoolStudents (an
// entry being brought up to date counts for nothing).
func poolOf(key poolKey) *poolEntry {
	pools.Lock()
	defer pools.Unlock()
	e := pools.use(key)
	pools.trim(PoolStudents, key, (*poolEntry).size)
	return e
}

// size is how many children the entry keeps: none while it is being
// read or brought up to date.
func (e *poolEntry) size() int {
	if !e.TryLock() {
		return 0
	}
	defer e.Unlock()
	if e.p == nil {
		return 0
	}
	return len(e.p.kids)
}

// readPool returns the pool of the children of a level and year in
// states as they are now: the kept one brought up to date, else read
// whole (see postgres.DB.PlacementLines), in parts at once, as the lines
// come: nothing is allocated a child but its place in its part's arrays.
func readPool(ctx context.Context, db *postgres.DB, level enrollment.Level, year int, states []enrollment.Status) (*pool, error) {
	return poolOf(keyOf(db, level, year, states)).read(ctx, db, level, year, states)
}

// keyOf is the key of the pool of a level, year and states.
func keyOf(db *postgres.DB, level enrollment.Level, year int, states []enrollment.Status) poolKey {
	names := make([]string, len(states))
	for i, s := range states {
		names[i] = string(s)
	}
	slices.Sort(names)
	return poolKey{db, level, year, strings.Join(names, ",")}
}

// warmTimeout bounds how long Warm reads.
const warmTimeout = 5 * time.Minute

// Warm reads, in the background, the children a run of level and year
// would place (include as a run's) into their kept pool, or brings the
// kept pool up to date, so that the run an officer is about to make
// finds them read: the runs page calls it when an officer opens a level
// and year. The first run after the process started would otherwise read
// every child while the officer waits. It does nothing while the pool is
// being warmed already, nor before the level's seed is committed (no run
// can be made then). An error, which only delays that read to the run,
// goes to failed.
func Warm(db *postgres.DB, level enrollment.Level, year int, include string, failed func(error)) {
	states := statesOf(include)
	e := poolOf(keyOf(db, level, year, states))
	if !e.warming.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer e.warming.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), warmTimeout)
		defer cancel()
		if _, err := db.Seed(ctx, string(level), year); err != nil {
			if !errors.Is(err, postgres.ErrNoSeed) {
				failed(err)
			}
			return
		}
		if _, err := e.read(ctx, db, level, year, states); err != nil {
			failed(fmt.Errorf("warming the children of %s %d: %w", level, year, err))
		}
	}()
}

// read returns the entry's pool brought up to date, or read whole.
func (e *poolEntry) read(ctx context.Context, db *postgres.DB, level enrollment.Level, year int, states []enrollment.Status) (*pool, error) {
	e.Lock()
	defer e.Unlock()
	if e.p != nil {
		p, err := e.p.refresh(ctx, db)
		if err != nil || p != nil {
			if p != nil {
				e.p = p
			}
			return p, err
		}
		e.p = nil // the table was emptied: read it whole
	}
	// Each reader's arrays are made as large as its share of PostgreSQL's
	// estimate of the children: growing them copied as much again.
	rows, err := db.EstimatePlacementLines(ctx, string(level), year, states)
	if err != nil {
		return nil, err
	}
	readers := make([]*lineReader, linesParts)
	for k := range readers {
		readers[k] = newLineReader(level, year, rows/linesParts+1)
	}
	mark, err := db.PlacementLines(ctx, string(level), year, states, linesParts, func(part int, line []byte) error {
		return readers[part].line(line)
	})
	if err != nil {
		return nil, err
	}
	e.p = newPool(level, year, states, readers, mark)
	return e.p, nil
}
