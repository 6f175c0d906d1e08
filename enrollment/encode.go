package enrollment

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the JSON encoding of r to b, byte for byte what
// json.Marshal(r) writes (the intake hashes it to tell a repeated
// submission from a changed one, so the bytes must not change), without
// reflection and without allocating beyond b's growth.
func (r *Registration) AppendJSON(b []byte) []byte {
	b = append(b, `{"level":`...)
	b = appendJSONString(b, string(r.Level))
	b = append(b, `,"school_year":`...)
	b = strconv.AppendInt(b, int64(r.SchoolYear), 10)
	c := &r.Child
	b = append(b, `,"child":{"id_number":`...)
	b = appendJSONString(b, c.IDNumber)
	b = append(b, `,"full_name":`...)
	b = appendJSONString(b, c.FullName)
	b = append(b, `,"date_of_birth":`...)
	b = appendJSONString(b, c.DateOfBirth)
	b = append(b, `,"sex":`...)
	b = appendJSONString(b, string(c.Sex))
	b = append(b, `,"ethnicity":`...)
	b = appendJSONString(b, c.Ethnicity)
	b = append(b, `,"place_of_birth":`...)
	b = appendJSONString(b, c.PlaceOfBirth)
	if c.OverAgeReason != "" {
		b = append(b, `,"over_age_reason":`...)
		b = appendJSONString(b, c.OverAgeReason)
	}
	b = append(b, `},"residence":{"permanent":`...)
	b = r.Residence.Permanent.appendJSON(b)
	b = append(b, `,"current":`...)
	b = r.Residence.Current.appendJSON(b)
	g := &r.Guardian
	b = append(b, `},"guardian":{"full_name":`...)
	b = appendJSONString(b, g.FullName)
	b = append(b, `,"relation":`...)
	b = appendJSONString(b, g.Relation)
	b = append(b, `,"id_number":`...)
	b = appendJSONString(b, g.IDNumber)
	b = append(b, `,"phone":`...)
	b = appendJSONString(b, g.Phone)
	b = append(b, `,"email":`...)
	b = appendJSONString(b, g.Email)
	b = append(b, `},"priority_group":`...)
	b = strconv.AppendInt(b, int64(r.PriorityGroup), 10)
	b = append(b, `,"choices":`...)
	if r.Choices == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range r.Choices {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	if r.Verification != "" {
		b = append(b, `,"verification":`...)
		b = appendJSONString(b, string(r.Verification))
	}
	return append(b, '}')
}

func (a *Address) appendJSON(b []byte) []byte {
	b = append(b, `{"ward":`...)
	b = appendJSONString(b, a.Ward)
	b = append(b, `,"group":`...)
	b = appendJSONString(b, a.Group)
	b = append(b, `,"address":`...)
	b = appendJSONString(b, a.Address)
	return append(b, '}')
}

// appendJSONString appends s as encoding/json writes a string. Text that
// needs no escape in its eyes (valid UTF-8 without control characters,
// quotes, backslashes, <, >, &, U+2028 or U+2029) is copied as it is; the
// rare string with any of them is encoded by encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !jsonPlain[c] {
				return appendEscaped(b, s)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r == '\u2028' || r == '\u2029' {
			return appendEscaped(b, s)
		}
		i += n
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendEscaped(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// jsonPlain marks the ASCII bytes encoding/json writes as they are.
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
