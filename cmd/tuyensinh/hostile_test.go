package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"golang.org/x/text/unicode/norm"
)

// setField sets the value at a dotted path ("child.full_name",
// "choices.0") of a registration.
func setField(r map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	var cur any = r
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[p] = v
				return
			}
			cur = c[p]
		case []string:
			var n int
			fmt.Sscan(p, &n)
			c[n] = fmt.Sprint(v)
			return
		}
	}
}

// storedColumn is the column an accepted free-text field is stored in.
var storedColumn = map[string]string{
	"child.full_name":             "child_name",
	"child.ethnicity":             "ethnicity",
	"child.place_of_birth":        "place_of_birth",
	"residence.current.address":   "current_address",
	"residence.permanent.address": "permanent_address",
	"guardian.full_name":          "guardian->>'full_name'",
}

// TestHostileRequests sends the real binary what an attacker or a broken
// client would: each gets a clear 4xx with a Vietnamese message, never a
// 5xx; free text that is only text is stored exactly as sent (after NFC);
// and the server is healthy after.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	e := startService(t)
	client := &http.Client{Timeout: 30 * time.Second}
	year := democity.SchoolYear(time.Now())
	serial := 5000
	fresh := func() map[string]any { serial++; return registration(serial, year) }
	with := func(path string, v any) []byte {
		r := fresh()
		setField(r, path, v)
		return mustJSON(r)
	}
	// raw puts bytes where json.Marshal would not: invalid UTF-8, escapes.
	const mark = "\u2603MARK\u2603"
	raw := func(path, replacement string) []byte {
		return bytes.Replace(with(path, mark), []byte(mark), []byte(replacement), 1)
	}
	good := mustJSON(fresh())
	edited := func(old, new string) []byte {
		b := mustJSON(fresh())
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("registration lacks %s", old)
		}
		return bytes.Replace(b, []byte(old), []byte(new), 1)
	}

	type hostile struct {
		name   string
		path   string // default: POST /api/v1/applications
		body   []byte
		want   int
		field  string // a problem names it
		stored string // with 202: the field whose stored text must equal what was sent, after NFC
		sent   string
	}
	tests := []hostile{
		{name: "truncated JSON", body: good[:len(good)/2], want: 400},
		{name: "truncated inside an escape", body: []byte(`{"level":"\u00`), want: 400},
		{name: "deep nesting", body: []byte(`{"choices":` + strings.Repeat("[", 10_000)), want: 400},
		{name: "deep nesting at the top", body: bytes.Repeat([]byte("["), 10_000), want: 400},
		{name: "wrong century digit", body: with("child.id_number", "001121000001"), want: 422, field: "child.id_number"},
		{name: "2021-02-29", body: func() []byte {
			r := fresh()
			setField(r, "child.date_of_birth", "2021-02-29")
			return mustJSON(r)
		}(), want: 422, field: "child.date_of_birth"},
		{name: "invalid UTF-8 in a name", body: raw("child.full_name", "Nguy\xe1\xbb n V\xffn"), want: 400, field: "child.full_name"},
		{name: "invalid UTF-8 in an address", body: raw("residence.current.address", "S\xc3 1"), want: 400, field: "residence.current.address"},
		{name: "lone high surrogate", body: raw("guardian.full_name", `Tr\ud800n`), want: 400, field: "guardian.full_name"},
		{name: "lone low surrogate", body: raw("child.place_of_birth", `H\udfff`), want: 400, field: "child.place_of_birth"},
		{name: "duplicate key", body: edited(`"level":"lop1"`, `"level":"lop1","level":"mg5"`), want: 400, field: "level"},
		{name: "duplicate nested key", body: edited(`"sex":`, `"sex":"male","sex":`), want: 400, field: "child.sex"},
		{name: "case-variant key", body: edited(`"level":`, `"LEVEL":`), want: 400, field: "LEVEL"},
		{name: "case-variant object key", body: edited(`"child":`, `"Child":`), want: 400, field: "Child"},
		{name: "bidi override in a name", body: with("child.full_name", "Nguyễn \u202eVăn An"), want: 422, field: "child.full_name"},
		{name: "bidi isolate in an address", body: with("residence.current.address", "Số 1 \u2066Quán Thánh\u2069"), want: 422, field: "residence.current.address"},
		{name: "bidi mark in place of birth", body: with("child.place_of_birth", "Hà Nội\u200f"), want: 422, field: "child.place_of_birth"},
		{name: "status of an injected code", path: "/api/v1/applications/" + url.PathEscape("'; DROP TABLE applications;--"), want: 404},
		{name: "status of a long code", path: "/api/v1/applications/" + strings.Repeat("A", 4000), want: 404},
	}
	injections := []string{"'; DROP TABLE applications;--", "<script>alert(1)</script>", "{{.}}", "%00", "a\x00b"}
	strict := []string{"child.full_name", "guardian.full_name", "child.id_number", "guardian.id_number", "guardian.phone",
		"guardian.email", "guardian.relation", "child.date_of_birth", "child.sex", "level", "residence.current.ward",
		"residence.current.group", "choices.0"}
	free := []string{"child.ethnicity", "child.place_of_birth", "residence.current.address", "residence.permanent.address"}
	for _, s := range injections {
		for _, f := range strict {
			field := strings.Replace(f, ".0", "[0]", 1)
			tests = append(tests, hostile{name: fmt.Sprintf("%q in %s", s, f), body: with(f, s), want: 422, field: field})
		}
		for _, f := range free {
			if strings.ContainsRune(s, 0) {
				tests = append(tests, hostile{name: fmt.Sprintf("%q in %s", s, f), body: with(f, s), want: 422, field: f})
				continue
			}
			tests = append(tests, hostile{name: fmt.Sprintf("%q in %s", s, f), body: with(f, s), want: 202, stored: f, sent: s})
		}
	}
	// Text in decomposed form (NFD, as some keyboards and PDFs give it) is
	// taken and stored composed.
	nfd := map[string]string{
		"child.full_name":           norm.NFD.String("Nguyễn Ngọc Ánh"),
		"guardian.full_name":        norm.NFD.String("Trần Thị Hoà"),
		"child.place_of_birth":      norm.NFD.String("Bệnh viện Phụ sản Hà Nội"),
		"residence.current.address": norm.NFD.String("Số 12 ngõ Quán Thánh"),
	}
	for f, s := range nfd {
		tests = append(tests, hostile{name: "NFD in " + f, body: with(f, s), want: 202, stored: f, sent: s})
	}

	type accepted struct {
		name, code, field, sent string
	}
	var stored []accepted
	for _, tt := range tests {
		method, path := "POST", "/api/v1/applications"
		if tt.path != "" {
			method, path = "GET", tt.path
		}
		r := e.do(t, client, method, path, "application/json", tt.body)
		if r.status >= 500 || r.status != tt.want {
			t.Errorf("%s: %s %s = %d %v, want %d", tt.name, method, path, r.status, r.body, tt.want)
			continue
		}
		if tt.want == http.StatusAccepted {
			code, _ := r.body["tracking_code"].(string)
			stored = append(stored, accepted{tt.name, code, tt.stored, tt.sent})
			continue
		}
		eb, _ := r.body["error"].(map[string]any)
		msg, _ := eb["message"].(string)
		if !vietnamese(msg) || eb["message_en"] == "" {
			t.Errorf("%s: error %v lacks a Vietnamese message and an English one", tt.name, r.body)
		}
		if tt.field != "" && !strings.Contains(fmt.Sprint(eb["problems"]), "field:"+tt.field+" ") {
			t.Errorf("%s: problems %v do not name %s", tt.name, eb["problems"], tt.field)
		}
	}

	t.Run("100 MB body with its length", func(t *testing.T) { hugeBody(t, e.base, true) })
	t.Run("100 MB body chunked", func(t *testing.T) { hugeBody(t, e.base, false) })

	// The server is healthy after, and takes a valid registration.
	if r := e.do(t, client, "GET", "/healthz", "", nil); r.status != http.StatusOK {
		t.Fatalf("healthz after the hostile requests = %d", r.status)
	}
	r := e.do(t, client, "POST", "/api/v1/applications", "application/json", mustJSON(fresh()))
	if r.status != http.StatusAccepted {
		t.Fatalf("a valid registration after the hostile requests = %d %v, want 202", r.status, r.body)
	}

	// What was accepted is stored as sent, composed (NFC).
	deadline := time.Now().Add(time.Minute)
	for _, a := range stored {
		col := storedColumn[a.field]
		var got string
		for {
			err := e.db.Get(&got, `SELECT `+col+` FROM applications WHERE tracking_code = $1`, a.code)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s not stored: %v", a.name, a.code, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if want := norm.NFC.String(a.sent); got != want {
			t.Errorf("%s: stored %s = %q, want %q (what was sent, NFC)", a.name, col, got, want)
		}
	}
}

// vietnamese reports whether a message reads as Vietnamese: it has a
// letter with a diacritic.
func vietnamese(s string) bool {
	for _, r := range s {
		if r > unicode.MaxASCII && unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

// hugeBody streams 100 MB at the registration route and expects a 413
// before the server has read more than a sliver of it.
func hugeBody(t *testing.T, base string, withLength bool) {
	const total = 100 << 20
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST /api/v1/applications HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\n"
	if withLength {
		head += fmt.Sprintf("Content-Length: %d\r\n\r\n", total)
	} else {
		head += "Transfer-Encoding: chunked\r\n\r\n"
	}
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	written := make(chan int64, 1)
	go func() {
		chunk := append([]byte(`{"level":"`), bytes.Repeat([]byte("x"), 64<<10-10)...)
		var n int64
		for n < total {
			var err error
			if withLength {
				_, err = conn.Write(chunk)
			} else {
				_, err = fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk)
			}
			if err != nil {
				break
			}
			n += int64(len(chunk))
		}
		written <- n
	}()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a 100 MB body: %v", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	conn.Close() // stops the writer
	n := <-written
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "too_large") {
		t.Errorf("100 MB body = %d %s, want 413 too_large", resp.StatusCode, body)
	}
	if n >= total {
		t.Errorf("the whole 100 MB body was sent before the answer; want the server to answer without reading it")
	}
	t.Logf("sent %d MB before the answer", n>>20)
}
