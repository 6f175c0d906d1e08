package enrollment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	gojson "github.com/goccy/go-json"
)

// MaxFormBytes is the largest registration body accepted. A real one is
// under 2 KB.
const MaxFormBytes = 64 << 10

// DecodeForm reads a registration from its JSON body. It returns an *Error
// with CodeBadRequest naming what is wrong when the body is not one JSON
// object of the form's shape: malformed JSON, invalid UTF-8, an escaped lone
// surrogate, a duplicate key, a key that differs only in case from a field,
// nesting too deep, a value of the wrong type, an unknown field, or
// trailing data; CodeTooLarge past MaxFormBytes. Rules about values are
// checked later, by Catalog.Check.
func DecodeForm(body []byte) (*Form, error) {
	if len(body) > MaxFormBytes {
		return nil, tooLarge()
	}
	if f, ok := decodeFormFast(body); ok {
		return f, nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, emptyBody()
	}
	// The decoders below would accept what the scan refuses (replacing bad
	// text, taking the last of two keys, matching keys in any case).
	if err := scanForm(body); err != nil {
		return nil, err
	}
	var f Form
	if fastDecode(body, &f) {
		return &f, nil
	}
	f = Form{} // whatever the fast decoder left
	if err := decodeStrict(body, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return emptyBody()
	}
	if len(body) > MaxFormBytes {
		return tooLarge()
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Errorf(CodeBadRequest, "Có dữ liệu thừa sau đối tượng JSON", "unexpected data after the JSON object")
	}
	return nil
}

func emptyBody() *Error {
	return Errorf(CodeBadRequest, "Nội dung yêu cầu trống; cần gửi hồ sơ dạng JSON", "the request body is empty; send the registration as JSON")
}

func tooLarge() *Error {
	return Errorf(CodeTooLarge, fmt.Sprintf("Hồ sơ quá lớn (tối đa %d KB)", MaxFormBytes>>10), fmt.Sprintf("the registration is too large (at most %d KB)", MaxFormBytes>>10))
}

// TooLarge returns the error for a body over MaxFormBytes.
func TooLarge() *Error { return tooLarge() }

func jsonError(err error) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return Errorf(CodeBadRequest,
			fmt.Sprintf("JSON không hợp lệ tại vị trí %d: %s", syn.Offset, syn.Error()),
			fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error()))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return &Error{Code: CodeBadRequest,
			Message:   fmt.Sprintf("Mục %q có kiểu dữ liệu sai: cần %s, đã gửi %s", field, typeVI(typ.Type.Kind().String()), typ.Value),
			MessageEN: fmt.Sprintf("field %q has the wrong type: want %s, got %s", field, typ.Type.Kind(), typ.Value),
			Problems: []Problem{{Field: field,
				Message:   fmt.Sprintf("Kiểu dữ liệu sai: cần %s, đã gửi %s", typeVI(typ.Type.Kind().String()), typ.Value),
				MessageEN: fmt.Sprintf("wrong type: want %s, got %s", typ.Type.Kind(), typ.Value)}}}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return Errorf(CodeBadRequest, "JSON bị cắt cụt, chưa kết thúc", "the JSON ends too early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return &Error{Code: CodeBadRequest,
			Message:   fmt.Sprintf("Mục %s không có trong mẫu đăng ký", name),
			MessageEN: fmt.Sprintf("unknown field %s", name),
			Problems:  []Problem{{Field: strings.Trim(name, `"`), Message: "Mục không có trong mẫu đăng ký", MessageEN: "unknown field"}}}
	}
	return Errorf(CodeBadRequest, "Không đọc được hồ sơ JSON: "+err.Error(), "cannot read the JSON registration: "+err.Error())
}

func typeVI(kind string) string {
	switch kind {
	case "string":
		return "chuỗi ký tự (string)"
	case "int", "int64", "float64":
		return "số (number)"
	case "bool":
		return "true/false (boolean)"
	case "slice":
		return "danh sách (array)"
	case "struct", "map":
		return "đối tượng (object)"
	}
	return kind
}

// fastDecode decodes body into v with github.com/goccy/go-json, about four
// times faster than encoding/json on a registration, and reports whether
// it succeeded. It is held to the same strictness (no unknown fields, no
// trailing data) and FuzzFastDecode checks it agrees with encoding/json;
// any failure or panic falls back to encoding/json, whose error messages
// the client then gets.
func fastDecode(body []byte, v any) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	dec := gojson.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return false
	}
	return true
}
