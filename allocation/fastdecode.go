package allocation

import (
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// fastDecode parses the common form of an instance file several times
// faster than encoding/json and with far fewer allocations: repeated
// strings (school ids in choices, zones) are shared. It accepts only a
// strict subset of JSON for which it gives exactly what encoding/json
// gives: field names spelled exactly, each at most once per object, no
// nulls, strings without escapes and valid UTF-8. On anything else it
// reports false, and Decode falls back to encoding/json, which also writes
// the error messages. FuzzDecode checks that the two agree.
func fastDecode(data []byte) (*wireInstance, bool) {
	p := fastParser{data: data, intern: make(map[string]string)}
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
	intern map[string]string
}

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

// rawString returns the bytes of a string without escapes.
func (p *fastParser) rawString() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	start := p.pos
	ascii := true
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			b := p.data[start:p.pos]
			p.pos++
			if !ascii && !utf8.Valid(b) {
				return nil, false
			}
			return b, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		p.pos++
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
	b, ok := p.rawString()
	if !ok {
		return "", false
	}
	if s, found := p.intern[string(b)]; found {
		return s, true
	}
	s := string(b)
	p.intern[s] = s
	return s, true
}

// number returns the text of a JSON number.
func (p *fastParser) number() ([]byte, bool) {
	p.ws()
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

func (p *fastParser) float() (float64, bool) {
	b, ok := p.number()
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(b), 64)
	return f, err == nil
}

func (p *fastParser) int() (int, bool) {
	b, ok := p.number()
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64) // rejects fractions and exponents
	return int(n), err == nil
}

func (p *fastParser) bool() (bool, bool) {
	p.ws()
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
// merge the values in ways not worth copying.
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

// strings parses an array of strings; [] gives an empty, non-nil slice,
// as encoding/json does.
func (p *fastParser) strings(share bool) ([]string, bool) {
	out := []string{}
	ok := p.array(func() bool {
		var s string
		var ok bool
		if share {
			s, ok = p.shared()
		} else {
			s, ok = p.str()
		}
		out = append(out, s)
		return ok
	})
	return out, ok
}

func (p *fastParser) location() (*Location, bool) {
	l := Location{Lat: math.NaN(), Lon: math.NaN()} // a missing coordinate stays NaN; see Location.UnmarshalJSON
	ok := p.object(true, func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "lat":
			l.Lat, ok = p.float()
		case "lon":
			l.Lon, ok = p.float()
		}
		return ok
	})
	return &l, ok
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
		w.Students = []Student{}
		start := p.pos
		ok = p.array(func() bool {
			if n := len(w.Students); n == 1024 {
				// Size the slice from the bytes the first students took,
				// rather than copying a million records while doubling.
				per := (p.pos - start) / n
				w.Students = slices.Grow(w.Students, (len(p.data)-p.pos)/per*21/20)
			}
			w.Students = append(w.Students, Student{})
			return p.student(&w.Students[len(w.Students)-1])
		})
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
			s.Scores = map[string]float64{}
			ok = p.object(false, func(id []byte) bool {
				v, ok := p.float()
				s.Scores[string(id)] = v // a repeated id: the last wins, as with encoding/json
				return ok
			})
		}
		return ok
	})
}

func (p *fastParser) student(s *Student) bool {
	return p.object(true, func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "id":
			s.ID, ok = p.str()
		case "choices":
			s.Choices, ok = p.strings(true)
		case "permanent_zone":
			s.PermanentZone, ok = p.shared()
		case "current_zone":
			s.CurrentZone, ok = p.shared()
		case "priority_group":
			s.PriorityGroup, ok = p.int()
		case "siblings_at":
			s.SiblingsAt, ok = p.strings(true)
		case "guaranteed":
			s.Guaranteed, ok = p.bool()
		case "location":
			s.Location, ok = p.location()
		}
		return ok
	})
}
