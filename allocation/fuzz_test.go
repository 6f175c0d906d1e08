package allocation

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// checkFastDecode checks that whatever the fast decoder accepts,
// encoding/json accepts too, with the same result.
func checkFastDecode(t *testing.T, data []byte) {
	t.Helper()
	fast, ok := fastDecode(data)
	if !ok {
		return
	}
	std, err := decodeStd(data)
	if err != nil {
		t.Fatalf("fast decoder accepted what encoding/json rejects (%v):\n%q", err, data)
	}
	if d := cmp.Diff(std, fast, cmpopts.EquateNaNs()); d != "" {
		t.Fatalf("fast decoder differs from encoding/json (-std +fast):\n%s\ninput %q", d, data)
	}
}

// FuzzDecode feeds arbitrary bytes to Decode and, when they decode, to
// Place and WriteJSON: nothing may panic, problems must be errors, and a
// result must be valid JSON.
func FuzzDecode(f *testing.F) {
	if data, err := os.ReadFile("testdata/ba-dinh-lop1.json"); err == nil {
		f.Add(data)
	}
	// A file as EncodeInstance writes it, the form the fast decoder is
	// tuned for.
	var gen bytes.Buffer
	if err := EncodeInstance(&gen, Generate(GenConfig{Students: 12, Schools: 3, Choices: 2, ScoredSchools: 1, Seed: 2})); err == nil {
		f.Add(gen.Bytes())
	}
	for _, s := range []string{
		`{"seed":"s"}`,
		`{"seed":"s","mechanism":"boston","tie_break":"multiple","priority_rules":["dt1+group1","sibling"],
		  "schools":[{"id":"A","quota":1,"catchment":["z"],"location":{"lat":21,"lon":105},"scores":{"x":1}}],
		  "students":[{"id":"x","choices":["A"],"permanent_zone":"z","guaranteed":true,"location":{"lat":21,"lon":105.1}},
		              {"id":"y","choices":["A"],"siblings_at":["A"],"priority_group":3,"guaranteed":true,"location":{"lat":20,"lon":105}}]}`,
		`{"seed":"s","students":[{"id":"a","choices":["A","A"]}]}`,
		`{"seed":"s","schools":[{"id":"A","quota":-1}]}`,
		`{"seed":"\u0000\ud800","students":[{"id":"\"<>&\u2028"}]}`,
		`{"seed":"s"}x`,
		`[`,
		``,
		`{"seed":"s","Seed":"t"}`,
		`{"seed":"s","seed":"t"}`,
		`{"seed":"caf\u00e9","students":[{"id":"a","choices":null}]}`,
		`{"seed":"s","schools":[{"id":"A","quota":1.0,"scores":{"x":1e400}}]}`,
		`{"seed":"s","schools":[{"id":"A","quota":-0,"scores":{"x":1,"x":2}}],"students":[]}`,
		`{"seed":"s","schools":[],"students":[{"id":"a","choices":[],"location":{"lat":-0.5,"lon":1E2}}]}`,
		"{\"seed\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastDecode(t, data)
		inst, err := Decode(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("Decode(%q) returned an empty error", data)
			}
			return
		}
		r, err := Place(inst)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || len(ie.Problems) == 0 {
				t.Fatalf("Place error %v is not an InputError with problems", err)
			}
			return
		}
		var out bytes.Buffer
		if err := r.WriteJSON(&out); err != nil {
			t.Fatalf("WriteJSON: %v", err)
		}
		if !json.Valid(out.Bytes()) {
			t.Fatalf("WriteJSON wrote invalid JSON:\n%s", out.Bytes())
		}
	})
}

// TestFastDecode checks that the fast decoder takes the files the engine
// writes and reads (so that it is really used) and agrees with encoding/json.
func TestFastDecode(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/ba-dinh-lop1.json")
	if err != nil {
		t.Fatal(err)
	}
	// 10,000 students: more than the first 1,024 the student array is
	// sized from, and ids beyond one idChunk.
	var gen bytes.Buffer
	if err := EncodeInstance(&gen, Generate(GenConfig{Students: 10000, Schools: 40, Choices: 4, ScoredSchools: 5, Seed: 3})); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{"testdata": data, "generated": gen.Bytes()} {
		if _, ok := fastDecode(in); !ok {
			t.Errorf("%s: the fast decoder gave up", name)
		}
		checkFastDecode(t, in)
	}
	// Spacing and member order other than the encoder's take the slower
	// path of the fast decoder, which must still agree.
	for _, in := range []string{
		`{"seed":"s","students":[{"id" : "a" , "choices" :[ "A" ],"guaranteed":false, "location":{ "lon" :1 , "lat":2 }}]}`,
		`{"students":[{"location":{"lat":1,"lon":2},"siblings_at":[],"priority_group":2,"current_zone":"z","permanent_zone":"y","choices":["A","B"],"id":"x"}],"seed":"s"}`,
		"{\"seed\":\"s\",\"students\":[{\"id\"\t:\"é\",\n\"choices\"\r\n:[]}]}",
		`{"seed":"s","students":[{"location":{"lon":1},"id":"a"},{"guaranteed":true,"choices":["A"]},{"location":{"lat":1}}]}`,
	} {
		if _, ok := fastDecode([]byte(in)); !ok {
			t.Errorf("fastDecode(%s) gave up", in)
		}
		checkFastDecode(t, []byte(in))
	}
	for _, in := range []string{`{"seed":"s","students":[{"idx":"a"}]}`, `{"seed":"s","students":[{"i":"a"}]}`, `{"seed":"s","students":[{"choices":[],"choices":[]}]}`,
		`{"seed":"s","Seed":"t"}`, `{"seed":"a\u0041"}`, `{"seed":"s","level":null}`, `{"seed":"s"} x`,
		`{"seed":"s","students":[{"i\u0064":"a"}]}`, `{"seed":"s","students":[{"ID":"a"}]}`, `{"seed":"s","students":[{"id":"a","choices":[],"id":"b"}]}`,
		`{"seed":"s","students":[{"location":{"lat":1,"lat":2}}]}`, `{"seed":"s","students":[{"location":{"la":1}}]}`,
		`{"seed":"s","students":[{"location":{"Lat":1}}]}`, `{"seed":"s","students":[{"id"`, `{"seed":"s","students":[{"id" "a"}]}`} {
		if _, ok := fastDecode([]byte(in)); ok {
			t.Errorf("fastDecode(%s) accepted input it must leave to encoding/json", in)
		}
	}
}

// TestNotPlain checks the eight-bytes-at-a-time test of rawString: the
// first byte it flags in a word is the first that is not plain.
func TestNotPlain(t *testing.T) {
	t.Parallel()
	for c := range 256 {
		for pos := range 8 {
			for _, fill := range []byte{'a', ' ', '~', 0x1f, 0xc3} {
				var w [8]byte
				for k := range w {
					w[k] = 'a'
					if k > pos {
						w[k] = fill // bytes after the first flagged one must not matter
					}
				}
				w[pos] = byte(c)
				m := notPlain(binary.LittleEndian.Uint64(w[:])) & swarHigh
				want := 8
				for k := range w {
					if !plainByte[w[k]] {
						want = k
						break
					}
				}
				if got := bits.TrailingZeros64(m) / 8; got != want {
					t.Fatalf("notPlain(%q): first flagged byte %d, want %d", w, got, want)
				}
			}
		}
	}
}

// TestFastFloat checks the decoder's number reading against
// strconv.ParseFloat, bit for bit, on numbers of every length.
func TestFastFloat(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	nums := []string{"0", "-0", "0.0", "-0.0", "1", "-1", "21.028511", "105.804817", "27.5", "0.1", "0.3",
		"9007199254740993", "123456789012345", "1234567890123456", "0.0000000000000000000001", "1e5", "1E-5", "-2.5e+3",
		"1.7976931348623157e308", "1e400", "4.9e-324", "999999999999999.9"}
	for range 20000 {
		digits := make([]byte, 1+rng.IntN(17))
		for k := range digits {
			digits[k] = byte('0' + rng.IntN(10))
		}
		if digits[0] == '0' {
			digits = digits[:1]
		}
		n := string(digits)
		if rng.IntN(2) == 0 {
			frac := make([]byte, 1+rng.IntN(24))
			for k := range frac {
				frac[k] = byte('0' + rng.IntN(10))
			}
			n += "." + string(frac)
		}
		if rng.IntN(4) == 0 {
			n = "-" + n
		}
		nums = append(nums, n)
	}
	for _, n := range nums {
		p := fastParser{data: []byte(n)}
		got, ok := p.float()
		want, err := strconv.ParseFloat(n, 64)
		if ok != (err == nil) || (ok && math.Float64bits(got) != math.Float64bits(want)) || (ok && p.pos != len(n)) {
			t.Fatalf("float(%s) = %v, %v (read %d bytes), want %v, %v", n, got, ok, p.pos, want, err)
		}
	}
}
