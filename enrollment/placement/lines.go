package placement

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment"
)

// residence is what a run needs of a residence (a ward and a group): its
// zone, its location (the ward's), and whether some catchment of the run
// holds the zone.
type residence struct {
	zone      string
	noWard    bool
	catchment bool
	place     *allocation.Location
}

// child is a child as read from its placement line, holding no pointer:
// the arrays grow by copying and the collector has nothing to follow in
// them.
type child struct {
	// key is the pseudonym's first 16 hex digits as a number: they order
	// the students as the pseudonyms do, at the cost of a number
	// comparison, but where two agree.
	key       uint64
	part      int32    // the lineReader that read it
	name      int32    // the pseudonym's number in its reader's names
	choices   [2]int32 // start and end in its reader's picks
	perm, cur int32    // in its reader's residences
	priority  int32
}

// lineReader reads placement lines (migrations/00015_placement_line.sql)
// into children. Each part of the lines read at once has a reader of its
// own; what they share (the offers in scope, the residences' making) is
// only read.
type lineReader struct {
	part    int32
	level   enrollment.Level
	year    int
	inScope map[string]int32
	// makeResidence makes the residence of a ward and group.
	makeResidence func(ward, group string) residence

	children    []child
	names       []byte  // the pseudonyms, one after another
	picks       []int32 // the choices in scope, as offer numbers
	residences  []residence
	residenceAt map[string]int32
	hashed      [128]byte
}

// grow makes the reader's arrays, with room for about n children.
func (r *lineReader) grow(n int) {
	r.children = make([]child, 0, n)
	r.names = make([]byte, 0, n*2*sha256.Size)
	r.picks = make([]int32, 0, n*3)
	r.residenceAt = map[string]int32{}
}

// residence returns the number of the residence whose ward and group are
// field ("ward\tgroup").
func (r *lineReader) residence(field []byte) int32 {
	if n, ok := r.residenceAt[string(field)]; ok {
		return n
	}
	ward, group, _ := strings.Cut(string(field), "\t")
	n := int32(len(r.residences))
	r.residences = append(r.residences, r.makeResidence(ward, group))
	r.residenceAt[string(field)] = n
	return n
}

// line reads one line. A child whose first choice is outside the run's
// scope is left out: the run of that scope places it.
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
	code, choices := line[:tab[0]], line[tab[0]+1:tab[1]]
	c := child{part: r.part, name: int32(len(r.children)), choices: [2]int32{int32(len(r.picks)), 0}}
	for first := true; len(choices) > 0; first = false {
		school := choices
		if i := bytes.IndexByte(choices, ' '); i >= 0 {
			school, choices = choices[:i], choices[i+1:]
		} else {
			choices = nil
		}
		k, ok := r.inScope[string(school)]
		if first && !ok {
			r.picks = r.picks[:c.choices[0]]
			return nil
		}
		if ok {
			r.picks = append(r.picks, k)
		}
	}
	c.choices[1] = int32(len(r.picks))
	if c.choices[1] == c.choices[0] {
		return nil
	}
	// A residence is two fields: ward, tab, group.
	c.perm = r.residence(line[tab[1]+1 : tab[3]])
	c.cur = r.residence(line[tab[3]+1 : tab[5]])
	p, err := strconv.Atoi(string(line[tab[5]+1:]))
	if err != nil {
		return fmt.Errorf("placement line: priority group: %w", err)
	}
	c.priority = int32(p)
	from := len(r.names)
	r.names = appendPseudonym(r.names, r.hashed[:0], r.level, r.year, code)
	for _, h := range r.names[from : from+16] {
		c.key = c.key<<4 | uint64(unhex(h))
	}
	r.children = append(r.children, c)
	return nil
}

// students returns the children the readers read as the instance's
// students, in pseudonym order, their choices the offers' codes.
func students(readers []*lineReader, offers []string, guaranteed bool) []allocation.Student {
	n, npicks := 0, 0
	for _, r := range readers {
		n, npicks = n+len(r.children), npicks+len(r.picks)
	}
	children := make([]child, 0, n)
	for _, r := range readers {
		children = append(children, r.children...)
	}
	nameOf := func(c *child) []byte {
		return readers[c.part].names[int(c.name)*2*sha256.Size : int(c.name+1)*2*sha256.Size]
	}
	children = sortByKey(children, func(c *child) uint64 { return c.key }, func(a, b child) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return bytes.Compare(nameOf(&a), nameOf(&b))
	})
	// The pseudonyms and the choices again, in the students' order:
	// whatever reads the students one after another (the engine's
	// lottery, the files) then reads their names and choices one after
	// another too. 150,000 small strings or slices cost more than the
	// placing.
	var sorted strings.Builder
	sorted.Grow(n * 2 * sha256.Size)
	for i := range children {
		sorted.Write(nameOf(&children[i]))
	}
	all := sorted.String()
	flat := make([]string, 0, npicks)
	out := make([]allocation.Student, len(children))
	for i := range children {
		c := &children[i]
		r := readers[c.part]
		start := len(flat)
		for _, k := range r.picks[c.choices[0]:c.choices[1]] {
			flat = append(flat, offers[k])
		}
		perm, cur := &r.residences[c.perm], &r.residences[c.cur]
		s := allocation.Student{ID: all[i*2*sha256.Size : (i+1)*2*sha256.Size],
			Choices:       flat[start:len(flat):len(flat)],
			PermanentZone: perm.zone, CurrentZone: cur.zone, PriorityGroup: int(c.priority),
			Location:   cur.place,
			Guaranteed: guaranteed && (perm.catchment || cur.catchment)}
		if cur.noWard {
			s.Location = perm.place
		}
		out[i] = s
	}
	return out
}
