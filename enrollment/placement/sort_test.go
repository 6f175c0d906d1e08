package placement

import (
	"cmp"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// TestSortByKey: sortByKey orders as a sort by the comparison alone, on
// keys spread as hashes are, all alike, sharing their top bits, or with
// ties the comparison breaks.
func TestSortByKey(t *testing.T) {
	type item struct {
		key uint64
		tie int
	}
	compare := func(a, b item) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.tie, b.tie)
	}
	rapid.Check(t, func(t *rapid.T) {
		shift := rapid.SampledFrom([]uint{0, 16, 48, 60, 64}).Draw(t, "shift")
		xs := rapid.SliceOf(rapid.Custom(func(t *rapid.T) item {
			k := rapid.Uint64().Draw(t, "key")
			if shift == 64 {
				k = 0
			} else {
				k >>= shift
			}
			return item{key: k, tie: rapid.IntRange(0, 3).Draw(t, "tie")}
		})).Draw(t, "items")
		want := slices.Clone(xs)
		slices.SortFunc(want, compare)
		got := sortByKey(slices.Clone(xs), func(x *item) uint64 { return x.key }, compare)
		if !slices.Equal(got, want) {
			t.Fatalf("sortByKey = %v, want %v", got, want)
		}
	})
}

// TestNth: nth gives what sorting gives at every rank, on values drawn
// from a few (many alike) or from many.
func TestNth(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var gen *rapid.Generator[float64]
		if rapid.Bool().Draw(t, "few") {
			gen = rapid.SampledFrom([]float64{0, 0.5, 1.25, 3, 3, 7.75})
		} else {
			gen = rapid.Float64Range(-1e6, 1e6)
		}
		xs := rapid.SliceOfN(gen, 1, 400).Draw(t, "xs")
		k := rapid.IntRange(0, len(xs)-1).Draw(t, "k")
		want := slices.Clone(xs)
		slices.Sort(want)
		if got := nth(slices.Clone(xs), k); got != want[k] {
			t.Fatalf("nth(%v, %d) = %v, want %v", xs, k, got, want[k])
		}
	})
}
