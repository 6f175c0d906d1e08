package allocation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// wireInstance is the input file: an Instance whose
// administrative_placement can be told apart from absent.
type wireInstance struct {
	Level                   string    `json:"level"`
	Seed                    string    `json:"seed"`
	Mechanism               Mechanism `json:"mechanism"`
	TieBreak                TieBreak  `json:"tie_break"`
	PriorityRules           []string  `json:"priority_rules"`
	AdministrativePlacement *bool     `json:"administrative_placement"`
	Schools                 []School  `json:"schools"`
	Students                []Student `json:"students"`
}

// Decode parses an instance file (JSON, described in the package
// documentation) and applies the defaults: mechanism "da", tie_break
// "single", administrative_placement true. It rejects malformed JSON,
// values of the wrong type and unknown fields with an error that gives the
// line and column and the path of the offending value, for example
// `line 7, column 18 (students[2].choices[0]): cannot use number as a string`.
// Field names match case-insensitively, as with encoding/json. Decode does
// not check the records against each other; Place and Validate do.
//
// Files in the common form (exact field names, no nulls, strings without
// escapes) take a fast path that allocates each school id and zone once;
// anything else goes through encoding/json. Both give the same Instance.
func Decode(data []byte) (*Instance, error) {
	w, ok := fastDecode(data)
	if !ok {
		var err error
		if w, err = decodeStd(data); err != nil {
			return nil, err
		}
	}
	return w.instance(), nil
}

// decodeStd decodes with encoding/json, which also explains every error.
func decodeStd(data []byte) (*wireInstance, error) {
	var w wireInstance
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&w); err != nil {
		return nil, decodeError(data, err)
	}
	// Decode stops after one value; anything but space after it is an error.
	if off := d.InputOffset(); len(bytes.TrimSpace(data[off:])) > 0 {
		rest := off + int64(len(data[off:])-len(bytes.TrimLeft(data[off:], " \t\r\n")))
		return nil, fmt.Errorf("%s: unexpected data after the instance object", position(data, rest))
	}
	return &w, nil
}

// instance applies the defaults.
func (w *wireInstance) instance() *Instance {
	inst := &Instance{
		Level:                   w.Level,
		Seed:                    w.Seed,
		Mechanism:               w.Mechanism,
		TieBreak:                w.TieBreak,
		PriorityRules:           w.PriorityRules,
		AdministrativePlacement: w.AdministrativePlacement == nil || *w.AdministrativePlacement,
		Schools:                 w.Schools,
		Students:                w.Students,
	}
	inst.Mechanism, inst.TieBreak = withDefaults(inst.Mechanism, inst.TieBreak)
	return inst
}

// withDefaults fills in the default mechanism and tie-break.
func withDefaults(m Mechanism, t TieBreak) (Mechanism, TieBreak) {
	if m == "" {
		m = MechanismDA
	}
	if t == "" {
		t = TieBreakSingle
	}
	return m, t
}

// EncodeInstance writes inst as an instance file that Decode reads back
// to an equal Instance: one line per school and per student, every field
// of the instance written, so the defaults of the reader do not matter,
// and the fields of a school or student left out when empty, as
// encoding/json's omitempty would. It is written by hand, a few times
// faster than encoding/json, since every placement run on the database
// keeps its instance. It returns an error for a location or score that is
// not a finite number, which no JSON can hold.
func EncodeInstance(w io.Writer, inst *Instance) error {
	m, t := withDefaults(inst.Mechanism, inst.TieBreak)
	b := make([]byte, 0, 1<<20)
	b = append(b, `{"level":`...)
	b = appendString(b, inst.Level)
	b = append(b, `,"seed":`...)
	b = appendString(b, inst.Seed)
	b = append(b, `,"mechanism":`...)
	b = appendString(b, string(m))
	b = append(b, `,"tie_break":`...)
	b = appendString(b, string(t))
	b = append(b, `,"priority_rules":`...)
	b = appendStrings(b, inst.PriorityRules)
	b = append(b, `,"administrative_placement":`...)
	b = strconv.AppendBool(b, inst.AdministrativePlacement)
	b = append(b, ",\n\"schools\":["...)
	var bad bool
	for k := range inst.Schools {
		s := &inst.Schools[k]
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n{\"id\":"...)
		b = appendString(b, s.ID)
		b = append(b, `,"quota":`...)
		b = strconv.AppendInt(b, int64(s.Quota), 10)
		if len(s.Catchment) > 0 {
			b = append(b, `,"catchment":`...)
			b = appendStrings(b, s.Catchment)
		}
		b, bad = appendLocation(b, s.Location, bad)
		if len(s.Scores) > 0 {
			ids := make([]string, 0, len(s.Scores))
			for id := range s.Scores {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			b = append(b, `,"scores":{`...)
			for j, id := range ids {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, id)
				b = append(b, ':')
				f := s.Scores[id]
				bad = bad || math.IsNaN(f) || math.IsInf(f, 0)
				b = appendFloat(b, f)
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = append(b, "],\n\"students\":["...)
	for i := range inst.Students {
		s := &inst.Students[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n{\"id\":"...)
		b = appendString(b, s.ID)
		b = append(b, `,"choices":`...)
		b = appendStrings(b, s.Choices)
		if s.PermanentZone != "" {
			b = append(b, `,"permanent_zone":`...)
			b = appendString(b, s.PermanentZone)
		}
		if s.CurrentZone != "" {
			b = append(b, `,"current_zone":`...)
			b = appendString(b, s.CurrentZone)
		}
		if s.PriorityGroup != 0 {
			b = append(b, `,"priority_group":`...)
			b = strconv.AppendInt(b, int64(s.PriorityGroup), 10)
		}
		if len(s.SiblingsAt) > 0 {
			b = append(b, `,"siblings_at":`...)
			b = appendStrings(b, s.SiblingsAt)
		}
		if s.Guaranteed {
			b = append(b, `,"guaranteed":true`...)
		}
		b, bad = appendLocation(b, s.Location, bad)
		b = append(b, '}')
		if len(b) > 1<<20-4096 {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	if bad {
		return errors.New("encode instance: a location or a score is not a finite number")
	}
	b = append(b, "\n]}\n"...)
	_, err := w.Write(b)
	return err
}

// appendStrings appends a JSON array of strings ([] for none).
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for k, s := range ss {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendLocation appends a location field when l is set, reporting
// through bad a coordinate that is not finite.
func appendLocation(b []byte, l *Location, bad bool) ([]byte, bool) {
	if l == nil {
		return b, bad
	}
	for _, f := range []float64{l.Lat, l.Lon} {
		bad = bad || math.IsNaN(f) || math.IsInf(f, 0)
	}
	b = append(b, `,"location":{"lat":`...)
	b = appendFloat(b, l.Lat)
	b = append(b, `,"lon":`...)
	b = appendFloat(b, l.Lon)
	return append(b, '}'), bad
}

// decodeError turns an encoding/json error into one that says where.
func decodeError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		msg := strings.TrimPrefix(syn.Error(), "json: ")
		off := syn.Offset
		if off > 0 && off <= int64(len(data)) && !strings.Contains(msg, "unexpected end") {
			off-- // Offset counts the offending byte; point at it
		}
		return fmt.Errorf("malformed JSON at %s%s: %s", position(data, off), pathSuffix(data, off), msg)
	case errors.As(err, &typ):
		// typ.Offset is just past the bad value; point at its start.
		start := valueStart(data, typ.Offset)
		return fmt.Errorf("%s%s: cannot use JSON %s as %s", position(data, start), pathSuffix(data, start), typ.Value, goTypeName(typ.Type.String()))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("malformed JSON at %s: unexpected end of input", position(data, int64(len(data))))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		if off, path, ok := findUnknownField(data); ok {
			return fmt.Errorf("%s (%s): unknown field %s", position(data, off), path, name)
		}
		return fmt.Errorf("unknown field %s", name)
	}
	return fmt.Errorf("decode instance: %w", err)
}

// goTypeName says a Go type in JSON words.
func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "."):
		return "an object"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "float"):
		return "a number (" + t + ")"
	case t == "bool":
		return "a boolean"
	}
	return "a " + t
}

// position gives a byte offset as a 1-based line and column (in bytes).
func position(data []byte, off int64) string {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return "line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col) + " (offset " + strconv.FormatInt(off, 10) + ")"
}

// valueStart walks back from just past a scalar value to its first byte.
func valueStart(data []byte, end int64) int64 {
	if end > int64(len(data)) {
		end = int64(len(data))
	}
	i := end
	for i > 0 && isSpace(data[i-1]) {
		i--
	}
	if i > 0 && data[i-1] == '"' { // a string: find its opening quote
		for j := i - 2; j >= 0; j-- {
			if data[j] == '"' && (j == 0 || data[j-1] != '\\') {
				return j
			}
		}
	}
	for i > 0 && !isSpace(data[i-1]) && !strings.ContainsRune(",:[{", rune(data[i-1])) {
		i--
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// pathSuffix names the JSON value at off, as " (students[3].choices[1])",
// or "" when it cannot tell.
func pathSuffix(data []byte, off int64) string {
	p := pathAt(data, off)
	if p == "" {
		return ""
	}
	return " (" + p + ")"
}

// A pathWalker follows a JSON text token by token, keeping the path to
// the current value. It serves error messages only, so speed is no concern.
type pathWalker struct {
	d     *json.Decoder
	stack []pathElem
}

type pathElem struct {
	key   string // object member name, or "" in an array
	index int    // array index, or -1 in an object
	isObj bool
	// expectKey is true in an object when the next string is a member name.
	expectKey bool
}

func newPathWalker(data []byte) *pathWalker {
	return &pathWalker{d: json.NewDecoder(bytes.NewReader(data))}
}

// next reads one token and updates the path; it reports the token, whether
// it was an object key, and the offset where the token started.
func (w *pathWalker) next() (tok json.Token, isKey bool, start int64, err error) {
	// The decoder skips separators lazily; the token starts after them.
	tok, err = w.d.Token()
	if err != nil {
		return nil, false, 0, err
	}
	end := w.d.InputOffset()
	start = end
	if n := len(w.stack); n > 0 {
		top := &w.stack[n-1]
		if top.isObj && top.expectKey {
			if s, ok := tok.(string); ok {
				top.key, top.expectKey = s, false
				return tok, true, end - int64(len(strconv.Quote(s))), nil
			}
		}
	}
	switch tok {
	case json.Delim('{'):
		w.advance()
		w.stack = append(w.stack, pathElem{index: -1, isObj: true, expectKey: true})
	case json.Delim('['):
		w.advance()
		w.stack = append(w.stack, pathElem{index: -1})
	case json.Delim('}'), json.Delim(']'):
		w.stack = w.stack[:len(w.stack)-1]
	default:
		w.advance()
	}
	return tok, false, start, nil
}

// advance records that a value begins in the innermost container.
func (w *pathWalker) advance() {
	if n := len(w.stack); n > 0 {
		top := &w.stack[n-1]
		if top.isObj {
			top.expectKey = true // after this value comes the next key
		} else {
			top.index++
		}
	}
}

// path renders the path of the current value.
func (w *pathWalker) path() string {
	var b strings.Builder
	for i, e := range w.stack {
		if e.isObj {
			if e.key == "" {
				continue
			}
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.key)
		} else if e.index >= 0 {
			b.WriteString("[" + strconv.Itoa(e.index) + "]")
		}
	}
	return b.String()
}

// pathAt names the value at or just before off.
func pathAt(data []byte, off int64) string {
	w := newPathWalker(data)
	last := ""
	for {
		if w.d.InputOffset() >= off {
			return last
		}
		tok, _, _, err := w.next()
		if err != nil {
			return last
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			continue
		}
		last = w.path()
	}
}

// knownFields lists the member names allowed in each kind of object.
var knownFields = map[string][]string{
	"":                  {"level", "seed", "mechanism", "tie_break", "priority_rules", "administrative_placement", "schools", "students"},
	"schools":           {"id", "quota", "catchment", "location", "scores"},
	"students":          {"id", "choices", "permanent_zone", "current_zone", "priority_group", "siblings_at", "guaranteed", "location"},
	"schools.location":  {"lat", "lon"},
	"students.location": {"lat", "lon"},
}

// findUnknownField finds the first member name that the instance format
// does not know, matching case-insensitively as encoding/json does.
func findUnknownField(data []byte) (int64, string, bool) {
	w := newPathWalker(data)
	for {
		tok, isKey, start, err := w.next()
		if err != nil {
			return 0, "", false
		}
		if !isKey {
			continue
		}
		// The kind of object is the path without indices and this key.
		var kind []string
		for _, e := range w.stack[:len(w.stack)-1] {
			if e.isObj && e.key != "" {
				kind = append(kind, e.key)
			}
		}
		known, ok := knownFields[strings.Join(kind, ".")]
		if !ok {
			continue // inside scores, whose keys are student ids
		}
		name := tok.(string)
		found := false
		for _, k := range known {
			if strings.EqualFold(k, name) {
				found = true
				break
			}
		}
		if !found {
			return start, w.path(), true
		}
	}
}
