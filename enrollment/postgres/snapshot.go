package postgres

import (
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"slices"

	"github.com/tuyensinh/tuyensinh/allocation"
)

// A run's instance is kept in a compact form of its own (instance_encoding
// 'compact', 'shared', 'chunked'), not as the JSON file it is served as: a
// Hanoi grade-1 year is 35 MB of JSON, whose writing, sending and storing
// took several times as long as placing the children, and whose reading
// took longer than the placing again each time a page needed the run. The
// compact form holds exactly what the file holds, so the file written
// from it is the same, byte for byte (EncodeInstance is deterministic), in
// a fifth of the size: each child's pseudonym as its 32 bytes, every
// school code, zone and place once, and each child's fields as small
// numbers.
//
// Layout (integers are unsigned varints unless said otherwise):
//
//	"TSI2"
//	header length, header: the instance without its students, as JSON
//	student count
//	chunks, to the end, each:
//	  string count, then each string: length, bytes
//	  place count, then each place: latitude, longitude (float64 bits, little endian)
//	  student count, then each student:
//	    flags (a byte: 1 the id is 64 lowercase hex digits, kept as 32 bytes;
//	      2 guaranteed; 4 choices is null)
//	    id: 32 bytes, or length and bytes
//	    choice count, each choice's string number
//	    permanent zone, current zone: string number + 1, 0 for ""
//	    priority group (zigzag varint)
//	    sibling count, each sibling school's string number
//	    place number + 1, 0 for none
//
// A chunk's strings and places follow those of the chunks before it, and
// its students' numbers count them all; the students of the chunks are
// the instance's, in order, as many as the head says. The first chunk
// holds the tables (in a fixed order: sorted) and no student, the others
// the students by the first digits of their pseudonyms (see encodeChunks).
// The runs of 00014 and 00016 kept "TSI1": the header, then one chunk
// that holds everything, with no student count before it.
const (
	compactMagic = "TSI2"
	legacyMagic  = "TSI1"
)

const (
	flagHexID = 1 << iota
	flagGuaranteed
	flagNullChoices
)

// chunkStudents is about how many students a chunk holds at most: between
// half of it and all of it. A change to one child writes its chunk again,
// some 100 KB; 150,000 children make 64 chunks, a million 256.
const chunkStudents = 4096

// encodeChunks returns inst in the compact form, as its head (the magic,
// the header and the student count) and its chunks: the tables', then
// the students'. The students' chunks are cut where the first bits of
// their pseudonyms change (as many bits as make chunks of chunkStudents
// at most), so that runs of the same children, or of nearly the same,
// have the same chunks but where they differ. Students not in order of
// their names make one chunk.
func encodeChunks(inst *allocation.Instance) (head []byte, chunks [][]byte, err error) {
	h := *inst
	h.Students = nil
	header, err := json.Marshal(h)
	if err != nil {
		return nil, nil, err
	}
	head = append([]byte(compactMagic), binary.AppendUvarint(nil, uint64(len(header)))...)
	head = append(head, header...)
	head = binary.AppendUvarint(head, uint64(len(inst.Students)))

	t := tablesOf(inst.Students)
	chunks = append(chunks, t.appendTables(nil))
	bits := chunkBits(inst.Students)
	for from := 0; from < len(inst.Students); {
		to := from + 1
		if bits > 0 {
			for to < len(inst.Students) && prefix(inst.Students[to].ID, bits) == prefix(inst.Students[from].ID, bits) {
				to++
			}
		} else {
			to = len(inst.Students)
		}
		chunks = append(chunks, t.appendStudents(make([]byte, 0, 48*(to-from)+4), inst.Students[from:to]))
		from = to
	}
	return head, chunks, nil
}

// encodeCompact appends inst in the compact form, in one piece, to b.
func encodeCompact(b []byte, inst *allocation.Instance) ([]byte, error) {
	head, chunks, err := encodeChunks(inst)
	if err != nil {
		return nil, err
	}
	b = append(b, head...)
	for _, c := range chunks {
		b = append(b, c...)
	}
	return b, nil
}

// chunkBits returns how many first bits of the pseudonyms cut students
// into chunks: 0 (one chunk) for students not in increasing order of
// their names, which would cut them into chunks of a few. (Any cut gives
// the same instance back; pseudonyms, hex hashes, give even ones.)
func chunkBits(students []allocation.Student) int {
	n := len(students) / chunkStudents
	if n == 0 {
		return 0
	}
	for i := range students {
		if len(students[i].ID) < 4 || i > 0 && students[i].ID <= students[i-1].ID {
			return 0
		}
	}
	return min(bits.Len(uint(n)), 16)
}

// prefix is the number the first n bits (n ≤ 16) of a hex pseudonym make
// (of the first four bytes of any other name, some number).
func prefix(id string, n int) int {
	v := int(unhex[id[0]])<<12 | int(unhex[id[1]])<<8 | int(unhex[id[2]])<<4 | int(unhex[id[3]])
	return v >> (16 - n)
}

// tables are the strings and places of some students, numbered in a
// fixed order: sorted.
type tables struct {
	strs   map[string]uint64
	places map[allocation.Location]uint64
}

// tablesOf returns the tables of students.
func tablesOf(students []allocation.Student) tables {
	t := tables{strs: map[string]uint64{}, places: map[allocation.Location]uint64{}}
	for i := range students {
		s := &students[i]
		for _, c := range s.Choices {
			t.strs[c] = 0
		}
		for _, c := range s.SiblingsAt {
			t.strs[c] = 0
		}
		for _, z := range [2]string{s.PermanentZone, s.CurrentZone} {
			if z != "" {
				t.strs[z] = 0
			}
		}
		if s.Location != nil {
			t.places[*s.Location] = 0
		}
	}
	for n, s := range slices.Sorted(maps.Keys(t.strs)) {
		t.strs[s] = uint64(n)
	}
	places := slices.SortedFunc(maps.Keys(t.places), func(a, b allocation.Location) int {
		return cmp.Or(cmp.Compare(math.Float64bits(a.Lat), math.Float64bits(b.Lat)), cmp.Compare(math.Float64bits(a.Lon), math.Float64bits(b.Lon)))
	})
	for n, p := range places {
		t.places[p] = uint64(n)
	}
	return t
}

// appendTables appends the chunk of the tables, with no student, to b.
func (t tables) appendTables(b []byte) []byte {
	strs := make([]string, len(t.strs))
	for s, n := range t.strs {
		strs[n] = s
	}
	b = binary.AppendUvarint(b, uint64(len(strs)))
	for _, s := range strs {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	places := make([]allocation.Location, len(t.places))
	for p, n := range t.places {
		places[n] = p
	}
	b = binary.AppendUvarint(b, uint64(len(places)))
	for _, p := range places {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Lat))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Lon))
	}
	return binary.AppendUvarint(b, 0)
}

// appendStudents appends the chunk of students, with no table of its
// own, to b.
func (t tables) appendStudents(b []byte, students []allocation.Student) []byte {
	b = append(b, 0, 0)
	b = binary.AppendUvarint(b, uint64(len(students)))
	var id [32]byte
	for i := range students {
		s := &students[i]
		var flags byte
		if unhexID(&id, s.ID) {
			flags |= flagHexID
		}
		if s.Guaranteed {
			flags |= flagGuaranteed
		}
		if s.Choices == nil {
			flags |= flagNullChoices
		}
		b = append(b, flags)
		if flags&flagHexID != 0 {
			b = append(b, id[:]...)
		} else {
			b = binary.AppendUvarint(b, uint64(len(s.ID)))
			b = append(b, s.ID...)
		}
		b = binary.AppendUvarint(b, uint64(len(s.Choices)))
		for _, c := range s.Choices {
			b = binary.AppendUvarint(b, t.strs[c])
		}
		for _, z := range [2]string{s.PermanentZone, s.CurrentZone} {
			if z == "" {
				b = append(b, 0)
			} else {
				b = binary.AppendUvarint(b, t.strs[z]+1)
			}
		}
		b = binary.AppendVarint(b, int64(s.PriorityGroup))
		b = binary.AppendUvarint(b, uint64(len(s.SiblingsAt)))
		for _, c := range s.SiblingsAt {
			b = binary.AppendUvarint(b, t.strs[c])
		}
		if s.Location == nil {
			b = append(b, 0)
		} else {
			b = binary.AppendUvarint(b, t.places[*s.Location]+1)
		}
	}
	return b
}

// unhexID decodes s into id if it is 64 lowercase hex digits.
func unhexID(id *[32]byte, s string) bool {
	if len(s) != 64 {
		return false
	}
	for k := range id {
		hi, lo := unhex[s[2*k]], unhex[s[2*k+1]]
		if hi|lo > 15 {
			return false
		}
		id[k] = hi<<4 | lo
	}
	return true
}

// unhex is the value of each lowercase hex digit, 255 for other bytes.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 255
	}
	for i, c := range "0123456789abcdef" {
		t[c] = byte(i)
	}
	return t
}()

var errCompact = errors.New("compact instance: malformed")

// compactReader reads the compact form; the first failure sticks.
type compactReader struct {
	b   []byte
	err error
}

func (r *compactReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errCompact
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *compactReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errCompact
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *compactReader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errCompact
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// count reads a count of items of at least min bytes each, refusing one
// the rest of the input cannot hold.
func (r *compactReader) count(min int) int {
	n := r.uvarint()
	if n > uint64(len(r.b)/min) {
		r.err = errCompact
		return 0
	}
	return int(n)
}

// decodeCompact reads an instance in the compact form ("TSI2", or the
// earlier "TSI1").
func decodeCompact(b []byte) (*allocation.Instance, error) {
	if len(b) < len(compactMagic) {
		return nil, errCompact
	}
	legacy := string(b[:len(legacyMagic)]) == legacyMagic
	if !legacy && string(b[:len(compactMagic)]) != compactMagic {
		return nil, errCompact
	}
	r := &compactReader{b: b[len(compactMagic):]}
	h := r.bytes(r.uvarint())
	if r.err != nil {
		return nil, r.err
	}
	inst := &allocation.Instance{}
	if err := json.Unmarshal(h, inst); err != nil {
		return nil, fmt.Errorf("compact instance header: %w", err)
	}
	// A student takes 6 bytes at least.
	total := -1
	if !legacy {
		total = r.count(6)
	}
	d := chunkDecoder{r: r, inst: inst}
	if total >= 0 {
		d.ids = make([]byte, 0, 64*total)
		d.flat = make([]string, 0, 3*total)
		inst.Students = make([]allocation.Student, 0, total)
	}
	chunks := 0
	for len(r.b) > 0 || r.err != nil {
		if err := d.chunk(); err != nil {
			return nil, err
		}
		if chunks++; legacy {
			break
		}
	}
	if chunks == 0 || len(r.b) != 0 || total >= 0 && len(inst.Students) != total {
		return nil, errCompact
	}
	// The ids share one string, and the choices one array.
	all := string(d.ids)
	for i := range inst.Students {
		end := len(all)
		if i+1 < len(d.idAt) {
			end = d.idAt[i+1]
		}
		inst.Students[i].ID = all[d.idAt[i]:end]
	}
	if len(inst.Students) == 0 {
		inst.Students = []allocation.Student{}
	}
	return inst, nil
}

// chunkDecoder reads the chunks of a compact instance one after another.
type chunkDecoder struct {
	r      *compactReader
	inst   *allocation.Instance
	strs   []string
	places []*allocation.Location
	ids    []byte
	idAt   []int
	flat   []string
}

// chunk reads one chunk.
func (d *chunkDecoder) chunk() error {
	r := d.r
	for range r.count(1) {
		d.strs = append(d.strs, string(r.bytes(r.uvarint())))
	}
	for range r.count(16) {
		p := r.bytes(16)
		if r.err != nil {
			return r.err
		}
		d.places = append(d.places, &allocation.Location{Lat: math.Float64frombits(binary.LittleEndian.Uint64(p)),
			Lon: math.Float64frombits(binary.LittleEndian.Uint64(p[8:]))})
	}
	str := func() string {
		n := r.uvarint()
		if n >= uint64(len(d.strs)) {
			r.err = errCompact
			return ""
		}
		return d.strs[n]
	}
	n := r.count(6)
	if r.err != nil {
		return r.err
	}
	if d.inst.Students == nil {
		d.inst.Students = make([]allocation.Student, 0, n)
	}
	for range n {
		d.inst.Students = append(d.inst.Students, allocation.Student{})
		s := &d.inst.Students[len(d.inst.Students)-1]
		f := r.bytes(1)
		if r.err != nil {
			return r.err
		}
		flags := f[0]
		d.idAt = append(d.idAt, len(d.ids))
		if flags&flagHexID != 0 {
			d.ids = hex.AppendEncode(d.ids, r.bytes(32))
		} else {
			d.ids = append(d.ids, r.bytes(r.uvarint())...)
		}
		s.Guaranteed = flags&flagGuaranteed != 0
		n := r.count(1)
		c0 := len(d.flat)
		for range n {
			d.flat = append(d.flat, str())
		}
		if flags&flagNullChoices == 0 {
			s.Choices = d.flat[c0:len(d.flat):len(d.flat)]
		}
		for _, z := range [2]*string{&s.PermanentZone, &s.CurrentZone} {
			if k := r.uvarint(); k > 0 {
				if k > uint64(len(d.strs)) {
					r.err = errCompact
				} else {
					*z = d.strs[k-1]
				}
			}
		}
		s.PriorityGroup = int(r.varint())
		if n := r.count(1); n > 0 {
			s.SiblingsAt = make([]string, n)
			for k := range s.SiblingsAt {
				s.SiblingsAt[k] = str()
			}
		}
		if k := r.uvarint(); k > 0 {
			if k > uint64(len(d.places)) {
				r.err = errCompact
			} else {
				s.Location = d.places[k-1]
			}
		}
		if r.err != nil {
			return r.err
		}
	}
	return r.err
}
