package postgres

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tuyensinh/tuyensinh/allocation"
)

// fileOf is the instance file the engine writes for inst.
func fileOf(t *testing.T, inst *allocation.Instance) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := allocation.EncodeInstance(&b, inst); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestCompactInstance: the file written from an instance kept in the
// compact form is the file of the instance, byte for byte: generated
// cities of every shape, and the corners the generator does not make.
func TestCompactInstance(t *testing.T) {
	var cases []*allocation.Instance
	for seed := int64(1); seed <= 6; seed++ {
		inst := allocation.Generate(allocation.GenConfig{Students: 300 * int(seed), Schools: 3 + int(seed), Choices: int(seed%3) + 1, Seed: seed})
		if seed%2 == 0 {
			inst.Mechanism, inst.TieBreak = allocation.MechanismBoston, allocation.TieBreakMultiple
		}
		cases = append(cases, inst)
	}
	odd := &allocation.Instance{Level: "lop6", Seed: "s", Mechanism: allocation.MechanismDA, TieBreak: allocation.TieBreakSingle,
		PriorityRules: []string{}, AdministrativePlacement: true,
		Schools: []allocation.School{
			{ID: "A", Quota: 2, Catchment: []string{"w1", "w1/g2"}, Location: &allocation.Location{Lat: 21.0, Lon: 105.8},
				Scores: map[string]float64{"x": 1.0 / 3}},
			{ID: "Trường \"B\"\t\\", Quota: 0},
		},
		Students: []allocation.Student{
			{ID: "NOT-HEX", Choices: nil},
			{ID: "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789", Choices: []string{}},
			{ID: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Choices: []string{"A", "Trường \"B\"\t\\"},
				PermanentZone: "w1", CurrentZone: "w1/g2", PriorityGroup: -3, SiblingsAt: []string{"A"}, Guaranteed: true,
				Location: &allocation.Location{Lat: math.SmallestNonzeroFloat64, Lon: math.Copysign(0, -1)}},
			{ID: "", PriorityGroup: 1 << 40, Location: &allocation.Location{Lat: 21.0, Lon: 105.8}},
		}}
	// Named by pseudonyms in their order, as a run's children are: they
	// go in chunks.
	named := allocation.Generate(allocation.GenConfig{Students: 9000, Schools: 5, Choices: 3, Seed: 9})
	for i := range named.Students {
		h := sha256.Sum256([]byte(named.Students[i].ID))
		named.Students[i].ID = hex.EncodeToString(h[:])
	}
	slices.SortFunc(named.Students, func(a, b allocation.Student) int { return strings.Compare(a.ID, b.ID) })
	if _, chunks, _ := encodeChunks(named); len(chunks) != 1+4 {
		t.Errorf("9,000 children in %d chunks, want the tables' and 4", len(chunks))
	}
	cases = append(cases, odd, &allocation.Instance{}, named)
	for i, inst := range cases {
		want := fileOf(t, inst)
		b, err := encodeCompact(nil, inst)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeCompact(b)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if f := fileOf(t, got); !bytes.Equal(f, want) {
			t.Errorf("case %d: the file from the compact form differs:\n%.300s\nwant\n%.300s", i, f, want)
		}
		// The runs kept before the chunks read as they did.
		got, err = decodeCompact(legacyCompact(t, inst))
		if err != nil {
			t.Fatalf("case %d, TSI1: %v", i, err)
		}
		if f := fileOf(t, got); !bytes.Equal(f, want) {
			t.Errorf("case %d: the file from the TSI1 form differs:\n%.300s\nwant\n%.300s", i, f, want)
		}
		if len(inst.Students) > 1000 && len(b)*3 > len(want) {
			t.Errorf("case %d: compact form of %d bytes for a file of %d", i, len(b), len(want))
		}
		// Every cut of the form is refused, never a panic.
		for n := 0; n < len(b); n += 1 + len(b)/200 {
			if _, err := decodeCompact(b[:n]); err == nil {
				t.Errorf("case %d: %d of %d bytes decoded", i, n, len(b))
			}
		}
		if _, err := decodeCompact(append(b, 0)); err == nil {
			t.Errorf("case %d: a trailing byte was accepted", i)
		}
	}
}

// legacyCompact returns inst in the form the runs of 00014 and 00016
// kept: "TSI1", the header, then one chunk of the tables and every
// student.
func legacyCompact(t *testing.T, inst *allocation.Instance) []byte {
	head, _, err := encodeChunks(inst)
	if err != nil {
		t.Fatal(err)
	}
	// The head without its student count.
	h, n := binary.Uvarint(head[len(compactMagic):])
	b := append([]byte(legacyMagic), head[len(compactMagic):len(compactMagic)+n+int(h)]...)
	tab := tablesOf(inst.Students)
	b = append(b, tab.appendTables(nil)...)
	b = b[:len(b)-1] // the tables' student count, 0
	return append(b, tab.appendStudents(nil, inst.Students)[2:]...)
}

// FuzzDecodeCompact: no input makes the compact reader panic or allocate
// beyond what the input can hold.
func FuzzDecodeCompact(f *testing.F) {
	b, _ := encodeCompact(nil, allocation.Generate(allocation.GenConfig{Students: 20, Schools: 3, Choices: 2, Seed: 1}))
	f.Add(b)
	f.Add([]byte(compactMagic))
	f.Add(legacyCompact(&testing.T{}, allocation.Generate(allocation.GenConfig{Students: 20, Schools: 3, Choices: 2, Seed: 1})))
	f.Fuzz(func(t *testing.T, b []byte) {
		inst, err := decodeCompact(b)
		if err == nil {
			var out bytes.Buffer
			_ = allocation.EncodeInstance(&out, inst)
		}
	})
}

// BenchmarkCompactInstance measures keeping and reading back a Hanoi
// grade-1 year, against the JSON file (the ratio is what counts).
func BenchmarkCompactInstance(b *testing.B) {
	inst := allocation.Generate(allocation.GenConfig{Students: 150_000, Schools: 45, Choices: 3, Seed: 7})
	var file bytes.Buffer
	if err := allocation.EncodeInstance(&file, inst); err != nil {
		b.Fatal(err)
	}
	c, _ := encodeCompact(nil, inst)
	b.Run("encode-compact", func(b *testing.B) {
		b.ReportMetric(float64(len(c)), "bytes")
		for b.Loop() {
			if _, err := encodeCompact(nil, inst); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-compact", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeCompact(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode-json", func(b *testing.B) {
		b.ReportMetric(float64(file.Len()), "bytes")
		for b.Loop() {
			var out bytes.Buffer
			out.Grow(file.Len())
			if err := allocation.EncodeInstance(&out, inst); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := allocation.Decode(file.Bytes()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
