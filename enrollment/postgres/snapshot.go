package postgres

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/tuyensinh/tuyensinh/allocation"
)

// A run's instance is kept in a compact form of its own (instance_encoding
// 'compact'), not as the JSON file it is served as: a Hanoi grade-1 year
// is 35 MB of JSON, whose writing, sending and storing took several times
// as long as placing the children, and whose reading took longer than the
// placing again each time a page needed the run. The compact form holds
// exactly what the file holds, so the file written from it is the same,
// byte for byte (EncodeInstance is deterministic), in a fifth of the
// size: each child's pseudonym as its 32 bytes, every school code, zone
// and place once, and each child's fields as small numbers.
//
// Layout (integers are unsigned varints unless said otherwise):
//
//	"TSI1"
//	header length, header: the instance without its students, as JSON
//	string count, then each string: length, bytes
//	place count, then each place: latitude, longitude (float64 bits, little endian)
//	student count, then each student:
//	  flags (a byte: 1 the id is 64 lowercase hex digits, kept as 32 bytes;
//	    2 guaranteed; 4 choices is null)
//	  id: 32 bytes, or length and bytes
//	  choice count, each choice's string number
//	  permanent zone, current zone: string number + 1, 0 for ""
//	  priority group (zigzag varint)
//	  sibling count, each sibling school's string number
//	  place number + 1, 0 for none
const compactMagic = "TSI1"

const (
	flagHexID = 1 << iota
	flagGuaranteed
	flagNullChoices
)

// encodeCompact appends inst in the compact form to b.
func encodeCompact(b []byte, inst *allocation.Instance) ([]byte, error) {
	head := *inst
	head.Students = nil
	h, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	strs := map[string]uint64{}
	var strList []string
	str := func(s string) uint64 {
		n, ok := strs[s]
		if !ok {
			n = uint64(len(strList))
			strs[s] = n
			strList = append(strList, s)
		}
		return n
	}
	places := map[allocation.Location]uint64{}
	var placeList []allocation.Location
	// The students' part first, into a buffer of its own: the tables
	// come before it and are known only at its end.
	body := make([]byte, 0, 48*len(inst.Students))
	body = binary.AppendUvarint(body, uint64(len(inst.Students)))
	var id [32]byte
	for i := range inst.Students {
		s := &inst.Students[i]
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
		body = append(body, flags)
		if flags&flagHexID != 0 {
			body = append(body, id[:]...)
		} else {
			body = binary.AppendUvarint(body, uint64(len(s.ID)))
			body = append(body, s.ID...)
		}
		body = binary.AppendUvarint(body, uint64(len(s.Choices)))
		for _, c := range s.Choices {
			body = binary.AppendUvarint(body, str(c))
		}
		for _, z := range [2]string{s.PermanentZone, s.CurrentZone} {
			if z == "" {
				body = append(body, 0)
			} else {
				body = binary.AppendUvarint(body, str(z)+1)
			}
		}
		body = binary.AppendVarint(body, int64(s.PriorityGroup))
		body = binary.AppendUvarint(body, uint64(len(s.SiblingsAt)))
		for _, c := range s.SiblingsAt {
			body = binary.AppendUvarint(body, str(c))
		}
		if s.Location == nil {
			body = append(body, 0)
			continue
		}
		n, ok := places[*s.Location]
		if !ok {
			n = uint64(len(placeList))
			places[*s.Location] = n
			placeList = append(placeList, *s.Location)
		}
		body = binary.AppendUvarint(body, n+1)
	}
	b = append(b, compactMagic...)
	b = binary.AppendUvarint(b, uint64(len(h)))
	b = append(b, h...)
	b = binary.AppendUvarint(b, uint64(len(strList)))
	for _, s := range strList {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(placeList)))
	for _, p := range placeList {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Lat))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Lon))
	}
	return append(b, body...), nil
}

// compactHeadLen returns the length of a compact instance's header part
// (the magic and the header): what differs between runs of the same
// children. b is as encodeCompact made it.
func compactHeadLen(b []byte) int {
	h, n := binary.Uvarint(b[len(compactMagic):])
	return len(compactMagic) + n + int(h)
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

// decodeCompact reads an instance in the compact form.
func decodeCompact(b []byte) (*allocation.Instance, error) {
	if len(b) < len(compactMagic) || string(b[:len(compactMagic)]) != compactMagic {
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
	strs := make([]string, r.count(1))
	for i := range strs {
		strs[i] = string(r.bytes(r.uvarint()))
	}
	places := make([]allocation.Location, r.count(16))
	for i := range places {
		p := r.bytes(16)
		if r.err != nil {
			return nil, r.err
		}
		places[i] = allocation.Location{Lat: math.Float64frombits(binary.LittleEndian.Uint64(p)),
			Lon: math.Float64frombits(binary.LittleEndian.Uint64(p[8:]))}
	}
	str := func() string {
		n := r.uvarint()
		if n >= uint64(len(strs)) {
			r.err = errCompact
			return ""
		}
		return strs[n]
	}
	inst.Students = make([]allocation.Student, r.count(6))
	// The ids share one string, and the choices one array.
	ids := make([]byte, 0, 64*len(inst.Students))
	var idAt []int
	flat := make([]string, 0, 3*len(inst.Students))
	for i := range inst.Students {
		s := &inst.Students[i]
		f := r.bytes(1)
		if r.err != nil {
			return nil, r.err
		}
		flags := f[0]
		start := len(ids)
		if flags&flagHexID != 0 {
			ids = hex.AppendEncode(ids, r.bytes(32))
		} else {
			ids = append(ids, r.bytes(r.uvarint())...)
		}
		idAt = append(idAt, start)
		s.Guaranteed = flags&flagGuaranteed != 0
		n := r.count(1)
		c0 := len(flat)
		for range n {
			flat = append(flat, str())
		}
		if flags&flagNullChoices == 0 {
			s.Choices = flat[c0:len(flat):len(flat)]
		}
		for _, z := range [2]*string{&s.PermanentZone, &s.CurrentZone} {
			if k := r.uvarint(); k > 0 {
				if k > uint64(len(strs)) {
					r.err = errCompact
				} else {
					*z = strs[k-1]
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
			if k > uint64(len(places)) {
				r.err = errCompact
			} else {
				s.Location = &places[k-1]
			}
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, errCompact
	}
	all := string(ids)
	for i := range inst.Students {
		end := len(all)
		if i+1 < len(idAt) {
			end = idAt[i+1]
		}
		inst.Students[i].ID = all[idAt[i]:end]
	}
	return inst, nil
}
