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
	if !d.open('{') {
		return nil, false
	}
	var seen uint16
	for first := true; ; first = false {
		key, done, ok := d.member(first)
		if !ok {
			return nil, false
		}
		if done {
			break
		}
		var bit uint16
		var s string
		switch key {
		case "level":
			bit = 1 << 0
			s, ok = d.str()
			f.Level = Level(s)
		case "school_year":
			bit = 1 << 1
			f.SchoolYear, ok = d.int()
		case "child":
			bit = 1 << 2
			ok = d.child(&f.Child)
		case "residence":
			bit = 1 << 3
			ok = d.residence(&f.Residence)
		case "guardian":
			bit = 1 << 4
			ok = d.guardian(&f.Guardian)
		case "priority_group":
			bit = 1 << 5
			f.PriorityGroup, ok = d.int()
		case "choices":
			bit = 1 << 6
			f.Choices, ok = d.strings()
		case "verification":
			bit = 1 << 7
			s, ok = d.str()
			f.Verification = Verification(s)
		case "consent":
			bit = 1 << 8
			f.Consent, ok = d.boolean()
		}
		if bit == 0 || !ok || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
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
	if !d.open('{') {
		return false
	}
	var seen uint8
	for first := true; ; first = false {
		key, done, ok := d.member(first)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var bit uint8
		var s string
		s, ok = d.str()
		switch key {
		case "id_number":
			bit = 1 << 0
			c.IDNumber = s
		case "full_name":
			bit = 1 << 1
			c.FullName = s
		case "date_of_birth":
			bit = 1 << 2
			c.DateOfBirth = s
		case "sex":
			bit = 1 << 3
			c.Sex = Sex(s)
		case "ethnicity":
			bit = 1 << 4
			c.Ethnicity = s
		case "place_of_birth":
			bit = 1 << 5
			c.PlaceOfBirth = s
		case "over_age_reason":
			bit = 1 << 6
			c.OverAgeReason = s
		}
		if bit == 0 || !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

func (d *formDecoder) residence(r *Residence) bool {
	if !d.open('{') {
		return false
	}
	var seen uint8
	for first := true; ; first = false {
		key, done, ok := d.member(first)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var bit uint8
		switch key {
		case "permanent":
			bit = 1 << 0
			ok = d.address(&r.Permanent)
		case "current":
			bit = 1 << 1
			ok = d.address(&r.Current)
		}
		if bit == 0 || !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

func (d *formDecoder) address(a *Address) bool {
	if !d.open('{') {
		return false
	}
	var seen uint8
	for first := true; ; first = false {
		key, done, ok := d.member(first)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var bit uint8
		var s string
		s, ok = d.str()
		switch key {
		case "ward":
			bit = 1 << 0
			a.Ward = s
		case "group":
			bit = 1 << 1
			a.Group = s
		case "address":
			bit = 1 << 2
			a.Address = s
		}
		if bit == 0 || !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

func (d *formDecoder) guardian(g *Guardian) bool {
	if !d.open('{') {
		return false
	}
	var seen uint8
	for first := true; ; first = false {
		key, done, ok := d.member(first)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var bit uint8
		var s string
		s, ok = d.str()
		switch key {
		case "full_name":
			bit = 1 << 0
			g.FullName = s
		case "relation":
			bit = 1 << 1
			g.Relation = s
		case "id_number":
			bit = 1 << 2
			g.IDNumber = s
		case "phone":
			bit = 1 << 3
			g.Phone = s
		case "email":
			bit = 1 << 4
			g.Email = s
		}
		if bit == 0 || !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}
