package allocation

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// fastDecode parses the common form of an instance file several times
// faster than encoding/json and with a few hundred allocations for a whole
// city instead of millions: repeated strings (school ids in choices,
// zones) are shared, and the student ids, the string lists and the
// locations are carved out of a few large blocks. It accepts only a strict
// subset of JSON for which it gives exactly what encoding/json gives: field
// names spelled exactly, each at most once per object, no nulls, strings
// without escapes and valid UTF-8. On anything else it reports false, and
// Decode falls back to encoding/json, which also writes the error
// messages. FuzzDecode checks that the two agree.
func fastDecode(data []byte) (*wireInstance, bool) {
	p := fastParser{data: data}
	var w wireInstance
	if !p.object(true, func(key []byte) bool { return p.topField(&w, key) }) {
		return nil, false
	}
	p.ws()
	if p.pos != len(p.data) {
		return nil, false
	}
	return &w, true
}

type fastParser struct {
	data   []byte
	pos    int
	intern interner
	// strs is the block that string lists (choices, catchments, siblings)
	// are cut from; locs the block of locations.
	strs []string
	locs []Location
	// scoreIDs, scoreEnds and scoreVals gather a school's scores before
	// its map is made; they serve one school after another.
	scoreIDs  []byte
	scoreEnds []int32
	scoreVals []float64
}

// The blocks are allocated this many elements at a time: large enough
// that a city costs a few allocations, small enough that a tiny file
// does not pay for a city.
const (
	strBlock = 16 << 10
	locBlock = 8 << 10
)

func (p *fastParser) ws() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// peek skips space and returns the next byte, or 0 at the end.
func (p *fastParser) peek() byte {
	if p.pos < len(p.data) && p.data[p.pos] > ' ' { // the common case: no space
		return p.data[p.pos]
	}
	p.ws()
	if p.pos < len(p.data) {
		return p.data[p.pos]
	}
	return 0
}

func (p *fastParser) eat(c byte) bool {
	if p.peek() == c {
		p.pos++
		return true
	}
	return false
}

// plainByte is true for the bytes a string can hold as they are and that
// need no further check: printable ASCII except the quote and backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Bytes of a word, for looking at eight string bytes at a time.
const (
	swarOnes = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// notPlain has the high bit set in a byte of x that is a quote, a
// backslash, a control character or not ASCII, and maybe in bytes after
// it; the first byte flagged is always one of those.
func notPlain(x uint64) uint64 {
	quote := x ^ (swarOnes * '"')
	backslash := x ^ (swarOnes * '\\')
	return ((quote - swarOnes) &^ quote) | ((backslash - swarOnes) &^ backslash) | ((x - swarOnes*0x20) &^ x) | x&swarHigh
}

// rawString returns the bytes of a string without escapes. They alias the
// input.
func (p *fastParser) rawString() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	d := p.data
	start, i := p.pos, p.pos
	ascii := true
	for i < len(d) {
		if len(d)-i >= 8 {
			if m := notPlain(binary.LittleEndian.Uint64(d[i:])) & swarHigh; m == 0 {
				i += 8
				continue
			} else {
				i += bits.TrailingZeros64(m) / 8
			}
		}
		c := d[i]
		if plainByte[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			b := d[start:i]
			p.pos = i + 1
			if !ascii && !utf8.Valid(b) {
				return nil, false
			}
			return b, true
		case c >= utf8.RuneSelf:
			ascii = false
			i++
		default: // an escape or a control character
			return nil, false
		}
	}
	return nil, false
}

func (p *fastParser) str() (string, bool) {
	b, ok := p.rawString()
	return string(b), ok
}

// shared returns a string equal to the next string value, reusing one
// already seen.
func (p *fastParser) shared() (string, bool) {
	// The common case, a string of up to seven plain bytes right at p.pos,
	// is read eight bytes at once, its closing quote found as rawString
	// finds it, and looked up with the same word.
	d, i := p.data, p.pos
	if i+9 <= len(d) && d[i] == '"' {
		w := binary.LittleEndian.Uint64(d[i+1:])
		if m := notPlain(w) & swarHigh; m != 0 {
			if n := bits.TrailingZeros64(m) / 8; d[i+1+n] == '"' {
				p.pos = i + 2 + n
				if n == 0 {
					return "", true
				}
				return p.intern.lookup(w&(math.MaxUint64>>(64-8*n)), d[i+1:i+1+n]), true
			}
		}
	}
	b, ok := p.rawString()
	if !ok {
		return "", false
	}
	return p.intern.get(b), true
}

// An interner hands out one string per distinct byte sequence. Ids and
// zones of up to eight bytes, nearly all of them, are packed into an
// integer and looked up in an open-addressing table without hashing or
// comparing bytes: a string value holds no zero byte (rawString refuses
// control characters), so the packed integer identifies it. The packed
// keys sit in an array of their own, small enough to stay in cache.
// Longer strings go to a map.
type interner struct {
	keys  []uint64 // the packed bytes, 0 for a free slot; len is a power of two
	strs  []string // strs[k] is the string of keys[k]
	shift uint     // 64 - log2(len(keys))
	n     int
	long  map[string]string
}

// get returns the string of b. It may read bytes of b's array past its
// end, within its capacity, and ignores them.
func (t *interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > 8 {
		if s, ok := t.long[string(b)]; ok {
			return s
		}
		if t.long == nil {
			t.long = make(map[string]string)
		}
		s := string(b)
		t.long[s] = s
		return s
	}
	var key uint64
	if cap(b) >= 8 {
		// b is a piece of the input: load eight bytes at once and keep
		// those of b.
		key = binary.LittleEndian.Uint64(b[:8]) & (math.MaxUint64 >> (64 - 8*len(b)))
	} else {
		for i, c := range b {
			key |= uint64(c) << (8 * i)
		}
	}
	return t.lookup(key, b)
}

// lookup is get for a string of one to eight bytes, b, packed into key.
func (t *interner) lookup(key uint64, b []byte) string {
	if 4*(t.n+1) > 3*len(t.keys) {
		t.grow()
	}
	mask := uint64(len(t.keys) - 1)
	for i := (key * 0x9e3779b97f4a7c15) >> t.shift; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case key:
			return t.strs[i]
		case 0:
			s := string(b)
			t.keys[i], t.strs[i] = key, s
			t.n++
			return s
		}
	}
}

func (t *interner) grow() {
	keys, strs := t.keys, t.strs
	n := max(1024, 2*len(keys))
	t.keys, t.strs = make([]uint64, n), make([]string, n)
	t.shift = uint(64 - bits.TrailingZeros(uint(n)))
	mask := uint64(n - 1)
	for k, key := range keys {
		if key == 0 {
			continue
		}
		i := (key * 0x9e3779b97f4a7c15) >> t.shift
		for t.keys[i] != 0 {
			i = (i + 1) & mask
		}
		t.keys[i], t.strs[i] = key, strs[k]
	}
}

// number returns the text of a JSON number.
func (p *fastParser) number() ([]byte, bool) {
	p.peek()
	start := p.pos
	d := p.data
	i := p.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	digits := func() bool {
		s := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		return i > s
	}
	if i < len(d) && d[i] == '0' {
		i++
	} else if !digits() {
		return nil, false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	p.pos = i
	return d[start:i], true
}

// exactPow10 are the powers of ten that a float64 holds exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// float reads a number as strconv.ParseFloat does, as encoding/json does.
// A number written with at most 15 significant digits, no exponent and at
// most 22 decimals (every coordinate and score of an instance) is
// computed as its digits are read: the digits and the power of ten are
// exact in a float64, so one IEEE division rounds correctly, which is
// what ParseFloat returns. Any other number goes to ParseFloat.
func (p *fastParser) float() (float64, bool) {
	p.peek()
	d := p.data
	i := p.pos
	neg := i < len(d) && d[i] == '-'
	if neg {
		i++
	}
	var mant uint64
	ndig, frac := 0, 0
	if i < len(d) && d[i] == '0' {
		i++ // JSON allows no digit after a leading zero
		ndig = 1
	} else {
		for ; i < len(d) && d[i]-'0' < 10; i++ {
			mant = mant*10 + uint64(d[i]-'0')
			ndig++
		}
		if ndig == 0 {
			return 0, false
		}
	}
	if i < len(d) && d[i] == '.' {
		i++
		s := i
		for ; i < len(d) && d[i]-'0' < 10; i++ {
			mant = mant*10 + uint64(d[i]-'0')
		}
		if frac = i - s; frac == 0 {
			return 0, false
		}
		ndig += frac
	}
	if (i < len(d) && d[i]|0x20 == 'e') || ndig > 15 || frac >= len(exactPow10) {
		b, ok := p.number()
		if !ok {
			return 0, false
		}
		f, err := strconv.ParseFloat(string(b), 64)
		return f, err == nil
	}
	p.pos = i
	f := float64(mant) / exactPow10[frac]
	if neg {
		f = -f
	}
	return f, true
}

// int reads an integer as encoding/json reads one into an int: a fraction
// or an exponent is an error, even "1.0".
func (p *fastParser) int() (int, bool) {
	b, ok := p.number()
	if !ok {
		return 0, false
	}
	neg := b[0] == '-'
	digits := b
	if neg {
		digits = b[1:]
	}
	if len(digits) <= 18 { // cannot overflow
		n := 0
		for _, c := range digits {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		if neg {
			n = -n
		}
		return n, true
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return int(n), err == nil
}

func (p *fastParser) bool() (bool, bool) {
	p.peek()
	d := p.data[p.pos:]
	switch {
	case len(d) >= 4 && string(d[:4]) == "true":
		p.pos += 4
		return true, true
	case len(d) >= 5 && string(d[:5]) == "false":
		p.pos += 5
		return false, true
	}
	return false, false
}

// object parses an object, calling field for each member name with the
// parser at its value; field reports false for an unknown name or a bad
// value. When unique is set, a repeated name gives up: encoding/json would
// merge the values in ways not worth copying. The students, the hot
// path, have their own loop.
func (p *fastParser) object(unique bool, field func(key []byte) bool) bool {
	if !p.eat('{') {
		return false
	}
	if p.eat('}') {
		return true
	}
	var buf [12][]byte
	seen := buf[:0]
	for {
		k, ok := p.rawString()
		if !ok || !p.eat(':') {
			return false
		}
		if unique {
			for _, s := range seen {
				if string(s) == string(k) {
					return false
				}
			}
			seen = append(seen, k)
		}
		if !field(k) {
			return false
		}
		if p.eat(',') {
			continue
		}
		return p.eat('}')
	}
}

// member reads a member name and the colon after it and returns the
// name's index in names, trying names[from] first (files list the members
// in the same order, object after object), or -1 when it is none of them.
// The name is compared as it is written, which is the name itself when it
// matches: one with an escape, or in another case, matches none and is
// left to encoding/json, as in object.
func (p *fastParser) member(names []memberName, from int) int {
	if p.peek() != '"' {
		return -1
	}
	d := p.data[p.pos+1:]
	var w0, w1 uint64
	if len(d) >= 16 {
		w0, w1 = binary.LittleEndian.Uint64(d), binary.LittleEndian.Uint64(d[8:])
	}
	for range names {
		if from >= len(names) {
			from = 0
		}
		n := &names[from]
		var match bool
		if len(d) >= 16 {
			match = w0&n.mask[0] == n.word[0] && w1&n.mask[1] == n.word[1]
		} else {
			match = len(d) >= len(n.quoted) && string(d[:len(n.quoted)]) == n.quoted
		}
		if match {
			p.pos += 1 + len(n.quoted)
			if !p.eat(':') {
				return -1
			}
			return from
		}
		from++
	}
	return -1
}

// A memberName is a member name followed by its closing quote, also
// packed into two words with masks, to be compared with the sixteen bytes
// after an opening quote at once.
type memberName struct {
	quoted     string
	word, mask [2]uint64
}

// memberNames packs names of up to fifteen bytes.
func memberNames(names ...string) []memberName {
	out := make([]memberName, len(names))
	for k, name := range names {
		n := &out[k]
		n.quoted = name + `"`
		if len(n.quoted) > 16 {
			panic("allocation: member name too long: " + name)
		}
		for i := range len(n.quoted) {
			n.word[i/8] |= uint64(n.quoted[i]) << (8 * (i % 8))
			n.mask[i/8] |= 0xff << (8 * (i % 8))
		}
	}
	return out
}

// array parses an array, calling elem for each element.
func (p *fastParser) array(elem func() bool) bool {
	if !p.eat('[') {
		return false
	}
	if p.eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if p.eat(',') {
			continue
		}
		return p.eat(']')
	}
}

// strings parses an array of strings, cut from the parser's block so that
// a city's lists cost a few allocations; [] gives an empty, non-nil slice,
// as encoding/json does. The slice's capacity is its length, so appending
// to it never writes over the next list.
func (p *fastParser) strings(share bool) ([]string, bool) {
	if !p.eat('[') {
		return nil, false
	}
	if cap(p.strs)-len(p.strs) < 16 {
		p.strs = make([]string, 0, strBlock)
	}
	start := len(p.strs)
	if p.eat(']') {
		return p.strs[start:start:start], true
	}
	for {
		var s string
		var ok bool
		if share {
			s, ok = p.shared()
		} else {
			s, ok = p.str()
		}
		if !ok {
			return nil, false
		}
		if len(p.strs) == cap(p.strs) {
			// The block is full: move this list to a new one.
			n := len(p.strs) - start
			block := make([]string, n, max(strBlock, 2*n))
			copy(block, p.strs[start:])
			p.strs, start = block, 0
		}
		p.strs = append(p.strs, s)
		if p.eat(',') {
			continue
		}
		if !p.eat(']') {
			return nil, false
		}
		end := len(p.strs)
		return p.strs[start:end:end], true
	}
}

// locationNames are the member names of a location.
var locationNames = memberNames("lat", "lon")

// location parses a location into the parser's block of locations.
func (p *fastParser) location() (*Location, bool) {
	if len(p.locs) == cap(p.locs) {
		p.locs = make([]Location, 0, locBlock)
	}
	p.locs = append(p.locs, Location{Lat: math.NaN(), Lon: math.NaN()}) // a missing coordinate stays NaN; see Location.UnmarshalJSON
	l := &p.locs[len(p.locs)-1]
	if !p.eat('{') {
		return nil, false
	}
	if p.eat('}') {
		return l, true
	}
	var seen uint8
	next := 0
	for {
		k := p.member(locationNames, next)
		var ok bool
		switch k {
		case 0:
			l.Lat, ok = p.float()
		case 1:
			l.Lon, ok = p.float()
		default:
			return nil, false
		}
		if !ok || seen&(1<<k) != 0 {
			return nil, false
		}
		seen |= 1 << k
		next = k + 1
		if p.eat(',') {
			continue
		}
		return l, p.eat('}')
	}
}

func (p *fastParser) topField(w *wireInstance, key []byte) bool {
	var ok bool
	switch string(key) {
	case "level":
		w.Level, ok = p.str()
	case "seed":
		w.Seed, ok = p.str()
	case "mechanism":
		var s string
		s, ok = p.str()
		w.Mechanism = Mechanism(s)
	case "tie_break":
		var s string
		s, ok = p.str()
		w.TieBreak = TieBreak(s)
	case "priority_rules":
		w.PriorityRules, ok = p.strings(false)
	case "administrative_placement":
		var b bool
		b, ok = p.bool()
		w.AdministrativePlacement = &b
	case "schools":
		w.Schools = []School{}
		ok = p.array(func() bool {
			w.Schools = append(w.Schools, School{})
			return p.school(&w.Schools[len(w.Schools)-1])
		})
	case "students":
		w.Students, ok = p.students()
	}
	return ok
}

func (p *fastParser) school(s *School) bool {
	return p.object(true, func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "id":
			s.ID, ok = p.shared()
		case "quota":
			s.Quota, ok = p.int()
		case "catchment":
			s.Catchment, ok = p.strings(true)
		case "location":
			s.Location, ok = p.location()
		case "scores":
			s.Scores, ok = p.scores()
		}
		return ok
	})
}

// scores parses a school's scores. The student ids are gathered into the
// parser's buffers, reused from school to school, and the map is made at
// its size once they are all read, so that a school scoring thousands of
// students costs a few allocations.
func (p *fastParser) scores() (map[string]float64, bool) {
	p.scoreIDs, p.scoreEnds, p.scoreVals = p.scoreIDs[:0], p.scoreEnds[:0], p.scoreVals[:0]
	ok := p.object(false, func(id []byte) bool {
		v, ok := p.float()
		p.scoreIDs = append(p.scoreIDs, id...)
		p.scoreEnds = append(p.scoreEnds, int32(len(p.scoreIDs)))
		p.scoreVals = append(p.scoreVals, v)
		return ok && len(p.scoreIDs) <= math.MaxInt32
	})
	if !ok {
		return nil, false
	}
	m := make(map[string]float64, len(p.scoreVals))
	all := string(p.scoreIDs)
	from := int32(0)
	for k, v := range p.scoreVals {
		m[all[from:p.scoreEnds[k]]] = v // a repeated id: the last wins, as with encoding/json
		from = p.scoreEnds[k]
	}
	return m, true
}

// students parses the array of students. The array is allocated once, at
// a size estimated from the bytes the first students took, rather than
// grown by doubling through a city. Their ids are gathered into a buffer
// and cut from one string per idChunk bytes of ids, rather than allocated
// one by one.
func (p *fastParser) students() ([]Student, bool) {
	out := []Student{}
	if !p.eat('[') {
		return nil, false
	}
	if p.eat(']') {
		return out, true
	}
	ids := make([]byte, 0, idChunk+64)
	var idEnd []int32 // idEnd[k] is where student first+k's id ends in ids
	first := 0
	start := p.pos
	for {
		if n := len(out); n == 1024 {
			// make, unlike append or slices.Grow, leaves memory that is
			// already zero (fresh from the system) as it is.
			per := (p.pos - start) / n
			grown := make([]Student, n, n+(len(p.data)-p.pos)/per*21/20)
			copy(grown, out)
			out = grown
		}
		out = append(out, Student{})
		var ok bool
		if ids, ok = p.student(&out[len(out)-1], ids); !ok || len(ids) > math.MaxInt32 {
			return nil, false
		}
		idEnd = append(idEnd, int32(len(ids)))
		if len(ids) >= idChunk {
			cutIDs(out[first:], ids, idEnd)
			first = len(out)
			ids, idEnd = ids[:0], idEnd[:0]
		}
		if p.eat(',') {
			continue
		}
		if !p.eat(']') {
			return nil, false
		}
		break
	}
	cutIDs(out[first:], ids, idEnd)
	return out, true
}

// idChunk is how many bytes of student ids share one string.
const idChunk = 64 << 10

// cutIDs sets the ids of students from ids, where student k's ends at
// ends[k].
func cutIDs(students []Student, ids []byte, ends []int32) {
	all := string(ids)
	from := int32(0)
	for k, end := range ends {
		students[k].ID = all[from:end]
		from = end
	}
}

// studentNames are the member names of a student, in the order
// EncodeInstance writes them; the st bits below are 1 << index.
var studentNames = memberNames("id", "choices", "permanent_zone", "current_zone", "priority_group", "siblings_at", "guaranteed", "location")

// The fields of a student, as bits to tell a repeated one.
const (
	stID = 1 << iota
	stChoices
	stPermanentZone
	stCurrentZone
	stPriorityGroup
	stSiblingsAt
	stGuaranteed
	stLocation
)

// student parses one student into s, appending its id to ids rather than
// setting s.ID.
func (p *fastParser) student(s *Student, ids []byte) ([]byte, bool) {
	if !p.eat('{') {
		return ids, false
	}
	if p.eat('}') {
		return ids, true
	}
	var seen uint
	next := 0
	for {
		k := p.member(studentNames, next)
		if k < 0 {
			return ids, false
		}
		next = k + 1
		var ok bool
		switch uint(1) << k {
		case stID:
			var b []byte
			if b, ok = p.rawString(); ok {
				ids = append(ids, b...)
			}
		case stChoices:
			s.Choices, ok = p.strings(true)
		case stPermanentZone:
			s.PermanentZone, ok = p.shared()
		case stCurrentZone:
			s.CurrentZone, ok = p.shared()
		case stPriorityGroup:
			s.PriorityGroup, ok = p.int()
		case stSiblingsAt:
			s.SiblingsAt, ok = p.strings(true)
		case stGuaranteed:
			s.Guaranteed, ok = p.bool()
		case stLocation:
			s.Location, ok = p.location()
		}
		if !ok || seen&(1<<k) != 0 {
			return ids, false
		}
		seen |= 1 << k
		if p.eat(',') {
			continue
		}
		return ids, p.eat('}')
	}
}
