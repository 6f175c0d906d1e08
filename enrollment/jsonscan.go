package enrollment

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxJSONDepth is the deepest nesting a registration body may have. A
// registration nests four levels (residence.current.ward); the limit stops
// a body of ten thousand '[' before any decoder recurses into it.
const maxJSONDepth = 16

// formFields is every JSON field name of a Form, at any depth. Keys that
// equal one of them only when case is ignored are refused: encoding/json
// and goccy/go-json match names without regard to case, so "LEVEL" would
// otherwise be read as "level", and a body with both could be read
// differently by two decoders.
var (
	formFields = jsonFieldNames(reflect.TypeFor[Form]())
	// fieldsByLen holds the names by length, each with its bit in
	// frame.seen: a key is compared with the few names of its length.
	fieldsByLen = func() (t [maxFieldLen + 1][]fieldBit) {
		for i, n := range formFields {
			if i >= 64 || len(n) > maxFieldLen {
				panic("enrollment: form field names outgrow the scan's table")
			}
			t[len(n)] = append(t[len(n)], fieldBit{n, 1 << i})
		}
		return t
	}()
)

const maxFieldLen = 31

type fieldBit struct {
	name string
	bit  uint64
}

// fieldBitOf returns the bit of the form field named exactly key, or 0.
func fieldBitOf(key []byte) uint64 {
	if len(key) > maxFieldLen {
		return 0
	}
	for _, f := range fieldsByLen[len(key)] {
		if string(key) == f.name {
			return f.bit
		}
	}
	return 0
}

// plainByte marks the bytes a string holds as they are: printable ASCII
// other than '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func jsonFieldNames(t reflect.Type) []string {
	var names []string
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous && name == "" {
				walk(f.Type)
				continue
			}
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			names = append(names, name)
			walk(f.Type)
		}
	}
	walk(t)
	return names
}

// scanForm is one pass over a registration body, before any decoder sees
// it. It refuses, with a CodeBadRequest *Error naming the field, what the
// decoders would silently accept or read differently: invalid UTF-8 (they
// replace it with U+FFFD), escaped lone surrogates (likewise), duplicate
// keys (the last one wins), keys that differ only in case from a field of
// the form, and nesting deeper than maxJSONDepth; and unknown keys and
// malformed JSON, which the decoders would refuse too. It allocates nothing
// on a valid registration whose keys have no escapes.
func scanForm(body []byte) *Error {
	s := jsonScanner{buf: body}
	s.space()
	if err := s.value(); err != nil {
		return err
	}
	s.space()
	if s.pos < len(s.buf) {
		if !utf8.Valid(s.buf[s.pos:]) {
			return s.badUTF8()
		}
		return Errorf(CodeBadRequest, "Có dữ liệu thừa sau đối tượng JSON", "unexpected data after the JSON object")
	}
	return nil
}

// jsonScanner is a JSON tokenizer that keeps the path to the value it is
// in, for messages.
type jsonScanner struct {
	buf   []byte
	pos   int
	depth int
	// path holds the frames of the enclosing objects and arrays, up to
	// maxJSONDepth; it lives in the scanner so a scan does not allocate.
	path [maxJSONDepth]frame
}

type frame struct {
	array bool
	index int    // in an array: the element being read
	key   []byte // in an object: the member being read (unescaped)
	seen  uint64 // in an object: the fields read so far, a bit each
}

func (s *jsonScanner) space() {
	for s.pos < len(s.buf) {
		switch s.buf[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// field returns the path of the value being read, as Problem.Field spells
// it: "child.full_name", "choices[2]"; "(body)" at the top.
func (s *jsonScanner) field() string {
	var b strings.Builder
	for _, f := range s.path[:s.depth] {
		if f.array {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(f.index))
			b.WriteByte(']')
			continue
		}
		if f.key == nil {
			break // between members
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.Write(f.key)
	}
	if b.Len() == 0 {
		return "(body)"
	}
	return b.String()
}

func (s *jsonScanner) fieldError(vi, en string) *Error {
	field := s.field()
	return &Error{Code: CodeBadRequest,
		Message:   fmt.Sprintf("Mục %q: %s", field, vi),
		MessageEN: fmt.Sprintf("field %q: %s", field, en),
		Problems:  []Problem{{Field: field, Message: vi, MessageEN: en}}}
}

func (s *jsonScanner) badUTF8() *Error {
	return s.fieldError("nội dung không phải văn bản UTF-8 hợp lệ", "the text is not valid UTF-8")
}

func (s *jsonScanner) syntax(what, whatEN string) *Error {
	if s.pos >= len(s.buf) {
		return Errorf(CodeBadRequest, "JSON bị cắt cụt, chưa kết thúc", "the JSON ends too early")
	}
	return Errorf(CodeBadRequest,
		fmt.Sprintf("JSON không hợp lệ tại vị trí %d: %s", s.pos+1, what),
		fmt.Sprintf("malformed JSON at byte %d: %s", s.pos+1, whatEN))
}

func (s *jsonScanner) value() *Error {
	if s.pos >= len(s.buf) {
		return s.syntax("", "")
	}
	switch c := s.buf[s.pos]; {
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == '"':
		_, err := s.str(false)
		return err
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c >= utf8.RuneSelf && !utf8.Valid(s.buf[s.pos:min(len(s.buf), s.pos+utf8.UTFMax)]):
		return s.badUTF8()
	}
	return s.syntax("cần một giá trị", "want a value")
}

func (s *jsonScanner) literal(word string) *Error {
	for i := 0; i < len(word); i++ {
		if s.pos >= len(s.buf) || s.buf[s.pos] != word[i] {
			return s.syntax("cần "+word, "want "+word)
		}
		s.pos++
	}
	return nil
}

func (s *jsonScanner) number() *Error {
	digits := func() int {
		n := 0
		for s.pos < len(s.buf) && s.buf[s.pos] >= '0' && s.buf[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	if s.buf[s.pos] == '-' {
		s.pos++
	}
	switch {
	case s.pos < len(s.buf) && s.buf[s.pos] == '0':
		s.pos++
	case digits() == 0:
		return s.syntax("số không hợp lệ", "bad number")
	}
	if s.pos < len(s.buf) && s.buf[s.pos] == '.' {
		s.pos++
		if digits() == 0 {
			return s.syntax("số không hợp lệ", "bad number")
		}
	}
	if s.pos < len(s.buf) && (s.buf[s.pos] == 'e' || s.buf[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.buf) && (s.buf[s.pos] == '+' || s.buf[s.pos] == '-') {
			s.pos++
		}
		if digits() == 0 {
			return s.syntax("số không hợp lệ", "bad number")
		}
	}
	return nil
}

func (s *jsonScanner) push(array bool) *Error {
	if s.depth == maxJSONDepth {
		return Errorf(CodeBadRequest,
			fmt.Sprintf("JSON lồng nhau quá sâu (tối đa %d cấp)", maxJSONDepth),
			fmt.Sprintf("the JSON is nested too deeply (at most %d levels)", maxJSONDepth))
	}
	s.path[s.depth] = frame{array: array}
	s.depth++
	s.pos++ // '{' or '['
	return nil
}

func (s *jsonScanner) array() *Error {
	if err := s.push(true); err != nil {
		return err
	}
	f := &s.path[s.depth-1]
	s.space()
	if s.pos < len(s.buf) && s.buf[s.pos] == ']' {
		s.pos++
		s.depth--
		return nil
	}
	for {
		s.space()
		if err := s.value(); err != nil {
			return err
		}
		s.space()
		if s.pos >= len(s.buf) {
			return s.syntax("", "")
		}
		switch s.buf[s.pos] {
		case ',':
			s.pos++
			f.index++
		case ']':
			s.pos++
			s.depth--
			return nil
		default:
			return s.syntax("cần ',' hoặc ']'", "want ',' or ']'")
		}
	}
}

func (s *jsonScanner) object() *Error {
	if err := s.push(false); err != nil {
		return err
	}
	f := &s.path[s.depth-1]
	s.space()
	if s.pos < len(s.buf) && s.buf[s.pos] == '}' {
		s.pos++
		s.depth--
		return nil
	}
	for {
		f.key = nil // between members: a message names the object
		s.space()
		if s.pos >= len(s.buf) || s.buf[s.pos] != '"' {
			return s.syntax("cần tên mục trong dấu \"", "want a quoted key")
		}
		key, err := s.str(true)
		if err != nil {
			return err
		}
		if err := s.checkKey(f, key); err != nil {
			return err
		}
		s.space()
		if s.pos >= len(s.buf) || s.buf[s.pos] != ':' {
			return s.syntax("cần ':' sau tên mục", "want ':' after a key")
		}
		s.pos++
		s.space()
		if err := s.value(); err != nil {
			return err
		}
		s.space()
		if s.pos >= len(s.buf) {
			return s.syntax("", "")
		}
		switch s.buf[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			s.depth--
			return nil
		default:
			return s.syntax("cần ',' hoặc '}'", "want ',' or '}'")
		}
	}
}

// checkKey refuses a key that is no field of the form, one that differs
// only in case from a field, and one seen before in the same object. Since
// an object may hold only field names, a bit per name finds duplicates.
func (s *jsonScanner) checkKey(f *frame, key []byte) *Error {
	f.key = key
	bit := fieldBitOf(key)
	if bit == 0 {
		for _, n := range formFields {
			if strings.EqualFold(string(key), n) {
				return s.fieldError(fmt.Sprintf("tên mục phải viết đúng là %q (chữ thường)", n),
					fmt.Sprintf("the key must be spelled exactly %q", n))
			}
		}
		field := s.field()
		return &Error{Code: CodeBadRequest,
			Message:   fmt.Sprintf("Mục %q không có trong mẫu đăng ký", field),
			MessageEN: fmt.Sprintf("unknown field %q", field),
			Problems:  []Problem{{Field: field, Message: "Mục không có trong mẫu đăng ký", MessageEN: "unknown field"}}}
	}
	if f.seen&bit != 0 {
		return s.fieldError("mục xuất hiện hai lần", "the key appears twice")
	}
	f.seen |= bit
	return nil
}

// str reads a string from its opening quote. For a key it returns the
// string's value: the raw bytes when it has no escapes, else unescaped into
// a new slice.
func (s *jsonScanner) str(key bool) ([]byte, *Error) {
	s.pos++ // '"'
	start := s.pos
	escaped := false
	for s.pos < len(s.buf) {
		pos := s.pos
		for pos < len(s.buf) && plainByte[s.buf[pos]] {
			pos++
		}
		s.pos = pos
		if pos == len(s.buf) {
			break
		}
		c := s.buf[pos]
		switch {
		case c == '"':
			raw := s.buf[start:s.pos]
			s.pos++
			if key && escaped {
				return unescape(raw), nil
			}
			return raw, nil
		case c == '\\':
			escaped = true
			if err := s.escape(key); err != nil {
				return nil, err
			}
		case c < 0x20:
			return nil, s.syntax("ký tự điều khiển trong chuỗi", "control character in a string")
		case c < utf8.RuneSelf:
			s.pos++
		default:
			r, n := utf8.DecodeRune(s.buf[s.pos:])
			if r == utf8.RuneError && n <= 1 {
				return nil, s.badUTF8() // in a key: names the enclosing object
			}
			s.pos += n
		}
	}
	return nil, s.syntax("", "")
}

// escape reads one escape sequence from its backslash. A \u escape of a
// UTF-16 surrogate must be a high one followed at once by a low one.
func (s *jsonScanner) escape(key bool) *Error {
	s.pos++ // '\\'
	if s.pos >= len(s.buf) {
		return s.syntax("", "")
	}
	switch s.buf[s.pos] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.pos++
		return nil
	case 'u':
	default:
		return s.syntax("ký tự thoát không hợp lệ", "bad escape")
	}
	r, err := s.hex4()
	if err != nil {
		return err
	}
	if r < 0xD800 || r > 0xDFFF {
		return nil
	}
	lone := func() *Error {
		return s.fieldError("có ký tự thoát \\u của nửa cặp UTF-16 đứng riêng (không phải ký tự hợp lệ)",
			"contains an escaped lone UTF-16 surrogate (not a valid character)")
	}
	if r >= 0xDC00 || s.pos+1 >= len(s.buf) || s.buf[s.pos] != '\\' || s.buf[s.pos+1] != 'u' {
		return lone()
	}
	s.pos++ // '\\'
	low, err := s.hex4()
	if err != nil {
		return err
	}
	if low < 0xDC00 || low > 0xDFFF {
		return lone()
	}
	return nil
}

// hex4 reads the 'u' and four hex digits of a \u escape.
func (s *jsonScanner) hex4() (rune, *Error) {
	s.pos++ // 'u'
	var r rune
	for range 4 {
		if s.pos >= len(s.buf) {
			return 0, s.syntax("", "")
		}
		c := s.buf[s.pos]
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, s.syntax("ký tự thoát \\u cần 4 chữ số hệ 16", "a \\u escape needs 4 hex digits")
		}
		s.pos++
	}
	return r, nil
}

// unescape returns the value of a string's contents, already checked by
// str: valid escapes, valid UTF-8, surrogates in pairs.
func unescape(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hexRune(raw[i+1 : i+5])
			i += 4
			if r >= 0xD800 && r < 0xDC00 {
				low := hexRune(raw[i+3 : i+7])
				r = (r-0xD800)<<10 | (low - 0xDC00) + 0x10000
				i += 6
			}
			out = utf8.AppendRune(out, r)
		default: // " \ /
			out = append(out, raw[i])
		}
		i++
	}
	return out
}

func hexRune(h []byte) rune {
	n, _ := strconv.ParseUint(string(h), 16, 32)
	return rune(n)
}
