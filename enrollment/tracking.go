package enrollment

import (
	"crypto/rand"
	"strings"
)

// trackingAlphabet is Crockford's base32: no I, L, O or U, so a code read
// aloud or copied by hand is not misread.
const trackingAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// TrackingCodeLen is the length of a tracking code: 20 characters of 5
// random bits each, 100 bits in all, far beyond guessing.
const TrackingCodeLen = 20

// NewTrackingCode returns a new random tracking code.
func NewTrackingCode() string {
	var raw [TrackingCodeLen]byte
	rand.Read(raw[:]) // never fails (crypto/rand panics rather than return an error)
	var b [TrackingCodeLen]byte
	for i, r := range raw {
		b[i] = trackingAlphabet[r&31]
	}
	return string(b[:])
}

// NormalizeTrackingCode reads a tracking code as a person may type it:
// lower case, with spaces or dashes, O for 0 and I or L for 1. It reports
// false when the result is not a well-formed code.
func NormalizeTrackingCode(s string) (string, bool) {
	var b strings.Builder
	b.Grow(TrackingCodeLen)
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if !strings.ContainsRune(trackingAlphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != TrackingCodeLen {
		return "", false
	}
	return b.String(), true
}
