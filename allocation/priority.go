package allocation

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"strconv"
)

// A Priority is the rank of a student at a school: the tuple
// (Class, Score, Lottery), compared in that order, smaller first.
//
// Class is the index of the first priority rule the student meets at the
// school (len(rules) if none). Score counts only at schools that have
// scores: a higher score comes first and a student without one comes
// after every student with one. Lottery is the student's SHA-256 lottery
// digest, compared as bytes.
type Priority struct {
	// Class is the index of the first rule that holds, 0 is the best.
	Class int
	// HasScore reports whether Score is meaningful: the school has scores
	// and the student has one there.
	HasScore bool
	// Score is the student's score at the school when HasScore is set.
	Score float64
	// Lottery is the lottery digest that breaks ties.
	Lottery [32]byte
}

// LotteryHex returns the lottery digest in lowercase hexadecimal, the
// form published to parents.
func (p Priority) LotteryHex() string { return hex.EncodeToString(p.Lottery[:]) }

// MarshalJSON encodes p as {"class":2,"score":27.5,"lottery":"<hex>"},
// with "score" null when HasScore is false.
func (p Priority) MarshalJSON() ([]byte, error) { return appendPriority(nil, p), nil }

func appendPriority(b []byte, p Priority) []byte {
	b = append(b, `{"class":`...)
	b = strconv.AppendInt(b, int64(p.Class), 10)
	b = append(b, `,"score":`...)
	if p.HasScore {
		b = appendFloat(b, p.Score)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"lottery":"`...)
	b = hex.AppendEncode(b, p.Lottery[:])
	return append(b, `"}`...)
}

// Compare returns -1 if p comes before q (higher priority), +1 if after,
// and 0 if the tuples are equal.
func (p Priority) Compare(q Priority) int {
	switch {
	case p.Class != q.Class:
		return cmpInt(p.Class, q.Class)
	case p.HasScore != q.HasScore:
		if p.HasScore {
			return -1
		}
		return 1
	case p.HasScore && p.Score != q.Score:
		if p.Score > q.Score {
			return -1
		}
		return 1
	}
	for k := range p.Lottery {
		if p.Lottery[k] != q.Lottery[k] {
			return cmpInt(int(p.Lottery[k]), int(q.Lottery[k]))
		}
	}
	return 0
}

func cmpInt(a, b int) int {
	if a < b {
		return -1
	}
	return 1
}

// LotteryDigest returns the single-lottery digest of a student: SHA-256 of
// the UTF-8 string seed + "/" + studentID. Anyone can recompute it from
// the published seed.
func LotteryDigest(seed, studentID string) [32]byte {
	return sha256.Sum256([]byte(seed + "/" + studentID))
}

// LotteryDigestAt returns the multiple-lottery digest of a student at a
// school: SHA-256 of seed + "/" + schoolID + "/" + studentID.
func LotteryDigestAt(seed, schoolID, studentID string) [32]byte {
	return sha256.Sum256([]byte(seed + "/" + schoolID + "/" + studentID))
}

// scoreKey maps a score to a uint64 that orders higher scores first; a
// missing score maps to noScore, after all of them.
func scoreKey(f float64) uint64 {
	if f == 0 {
		f = 0 // fold -0 into +0
	}
	b := math.Float64bits(f)
	if b>>63 == 1 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return ^b
}

// noScore is the score key of a student without a score.
const noScore = math.MaxUint64

// scoreFromKey inverts scoreKey.
func scoreFromKey(k uint64) float64 {
	b := ^k
	if b>>63 == 1 {
		b &^= 1 << 63
	} else {
		b = ^b
	}
	return math.Float64frombits(b)
}

// prefix is the first eight bytes of a digest as a big-endian integer, so
// that comparing prefixes compares digests, up to ties.
func prefix(d *[32]byte) uint64 { return binary.BigEndian.Uint64(d[:8]) }

// appendFloat formats f as encoding/json does.
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}
