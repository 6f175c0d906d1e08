package enrollment

import "unicode/utf8"

// decodeFormFast decodes a registration in one pass over the body, without
// reflection, when it is written the way forms are: one object of the
// form's fields, each at most once and spelled exactly, strings of valid
// UTF-8 without escapes, school_year and priority_group plain
// non-negative integers, consent true or false, no null. The form's
// strings are substrings of one copy of the body.
//
// It reports false for anything else, leaving DecodeForm to the scan and
// the decoders, which refuse what must be refused with the message that
// says why, and decode the rare form this does not (escaped text, a null,
// a negative number). What it accepts they accept too, decoded to the
// same form (FuzzFastDecode holds DecodeForm to encoding/json).
func decodeFormFast(body []byte) (*Form, bool) {
	d := formDecoder{buf: body}
	f := new(Form)
	d.src = string(body)
	var s string
	ok := d.object(func(key string) (uint16, bool) {
		ok := false
		switch key {
		case "level":
			s, ok = d.str()
			f.Level = Level(s)
			return 1 << 0, ok
		case "school_year":
			f.SchoolYear, ok = d.int()
			return 1 << 1, ok
		case "child":
			return 1 << 2, d.child(&f.Child)
		case "residence":
			return 1 << 3, d.residence(&f.Residence)
		case "guardian":
			return 1 << 4, d.guardian(&f.Guardian)
		case "priority_group":
			f.PriorityGroup, ok = d.int()
			return 1 << 5, ok
		case "choices":
			f.Choices, ok = d.strings()
			return 1 << 6, ok
		case "verification":
			s, ok = d.str()
			f.Verification = Verification(s)
			return 1 << 7, ok
		case "consent":
			f.Consent, ok = d.boolean()
			return 1 << 8, ok
		}
		return 0, false
	})
	if !ok {
		return nil, false
	}
	d.space()
	if d.pos != len(d.buf) {
		return nil, false
	}
	return f, true
}

// formDecoder reads the JSON of a registration (decodeFormFast).
type formDecoder struct {
	buf []byte
	src string // buf as a string: the decoded strings are its substrings
	pos int
}

func (d *formDecoder) space() {
	for d.pos < len(d.buf) {
		switch d.buf[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// open reads c ('{' or '['), after white space.
func (d *formDecoder) open(c byte) bool {
	d.space()
	if d.pos < len(d.buf) && d.buf[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

// member reads up to the value of an object's next member and returns its
// key, or done at the object's end. first is true for the first member.
func (d *formDecoder) member(first bool) (key string, done, ok bool) {
	d.space()
	if d.pos >= len(d.buf) {
		return "", false, false
	}
	switch c := d.buf[d.pos]; {
	case c == '}':
		d.pos++
		return "", true, true
	case !first && c == ',':
		d.pos++
	case !first:
		return "", false, false
	}
	if key, ok = d.str(); !ok {
		return "", false, false
	}
	d.space()
	if d.pos >= len(d.buf) || d.buf[d.pos] != ':' {
		return "", false, false
	}
	d.pos++
	return key, false, true
}

// str reads a string without escapes or control characters, of valid
// UTF-8.
func (d *formDecoder) str() (string, bool) {
	d.space()
	if d.pos >= len(d.buf) || d.buf[d.pos] != '"' {
		return "", false
	}
	start := d.pos + 1
	for i := start; i < len(d.buf); {
		c := d.buf[i]
		switch {
		case plainByte[c]:
			i++
		case c == '"':
			d.pos = i + 1
			return d.src[start:i], true
		case c < utf8.RuneSelf: // a backslash or a control character
			return "", false
		default:
			r, n := utf8.DecodeRune(d.buf[i:])
			if r == utf8.RuneError && n <= 1 {
				return "", false
			}
			i += n
		}
	}
	return "", false
}

// int reads a non-negative integer of at most 15 digits. A fraction or an
// exponent after it fails the member that follows.
func (d *formDecoder) int() (int, bool) {
	d.space()
	n, digits := 0, 0
	for d.pos < len(d.buf) && d.buf[d.pos] >= '0' && d.buf[d.pos] <= '9' {
		if digits > 0 && n == 0 || digits == 15 { // a leading zero, or too long
			return 0, false
		}
		n = n*10 + int(d.buf[d.pos]-'0')
		digits++
		d.pos++
	}
	return n, digits > 0
}

func (d *formDecoder) boolean() (bool, bool) {
	d.space()
	rest := d.buf[d.pos:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		d.pos += 4
		return true, true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		d.pos += 5
		return false, true
	}
	return false, false
}

// strings reads an array of strings; [] is an empty slice, as
// encoding/json decodes it.
func (d *formDecoder) strings() ([]string, bool) {
	if !d.open('[') {
		return nil, false
	}
	out := make([]string, 0, 3)
	d.space()
	if d.pos < len(d.buf) && d.buf[d.pos] == ']' {
		d.pos++
		return out, true
	}
	for {
		s, ok := d.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		d.space()
		if d.pos >= len(d.buf) {
			return nil, false
		}
		switch d.buf[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return out, true
		default:
			return nil, false
		}
	}
}

func (d *formDecoder) child(c *Child) bool {
	return d.object(func(key string) (uint16, bool) {
		switch key {
		case "id_number":
			return 1 << 0, d.strTo(&c.IDNumber)
		case "full_name":
			return 1 << 1, d.strTo(&c.FullName)
		case "date_of_birth":
			return 1 << 2, d.strTo(&c.DateOfBirth)
		case "sex":
			var s string
			ok := d.strTo(&s)
			c.Sex = Sex(s)
			return 1 << 3, ok
		case "ethnicity":
			return 1 << 4, d.strTo(&c.Ethnicity)
		case "place_of_birth":
			return 1 << 5, d.strTo(&c.PlaceOfBirth)
		case "over_age_reason":
			return 1 << 6, d.strTo(&c.OverAgeReason)
		}
		return 0, false
	})
}

func (d *formDecoder) residence(r *Residence) bool {
	return d.object(func(key string) (uint16, bool) {
		switch key {
		case "permanent":
			return 1 << 0, d.address(&r.Permanent)
		case "current":
			return 1 << 1, d.address(&r.Current)
		}
		return 0, false
	})
}

func (d *formDecoder) address(a *Address) bool {
	return d.object(func(key string) (uint16, bool) {
		switch key {
		case "ward":
			return 1 << 0, d.strTo(&a.Ward)
		case "group":
			return 1 << 1, d.strTo(&a.Group)
		case "address":
			return 1 << 2, d.strTo(&a.Address)
		}
		return 0, false
	})
}

func (d *formDecoder) guardian(g *Guardian) bool {
	return d.object(func(key string) (uint16, bool) {
		switch key {
		case "full_name":
			return 1 << 0, d.strTo(&g.FullName)
		case "relation":
			return 1 << 1, d.strTo(&g.Relation)
		case "id_number":
			return 1 << 2, d.strTo(&g.IDNumber)
		case "phone":
			return 1 << 3, d.strTo(&g.Phone)
		case "email":
			return 1 << 4, d.strTo(&g.Email)
		}
		return 0, false
	})
}

// object reads an object, each member by field, which decodes the value
// of the member named key and returns the member's bit and whether its
// value decoded (bit 0: no such member). A member may come at most once.
func (d *formDecoder) object(field func(key string) (bit uint16, ok bool)) bool {
	if !d.open('{') {
		return false
	}
	var seen uint16
	for first := true; ; first = false {
		key, done, ok := d.member(first)
		if !ok {
			return false
		}
		if done {
			return true
		}
		bit, ok := field(key)
		if bit == 0 || !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// strTo reads a string into *p.
func (d *formDecoder) strTo(p *string) bool {
	s, ok := d.str()
	*p = s
	return ok
}
