package intake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// Keys names the Redis keys of one intake. Tests give each intake its own
// prefix so they can share a Redis server.
type Keys struct {
	Prefix string
	// ChildSecret keys the hash of a child's ID number in the name of its
	// duplicate guard, so the ID number itself is never a key name (key
	// names show in SCAN, MONITOR, slow logs and memory reports). Every
	// process of an intake must use the same secret, or a second
	// registration of a child is only caught when it is stored. Empty
	// means DevelopmentChildSecret.
	ChildSecret []byte
}

// DevelopmentChildSecret is the ChildSecret used when none is configured.
// It is public, so with it a key name can be matched to an ID number by
// trying the ID numbers of a birth year; production sets its own.
const DevelopmentChildSecret = "tuyensinh development key - not secret"

// Stream is the intake stream.
func (k Keys) Stream() string { return k.Prefix + ":intake" }

// Dead is the dead-letter stream.
func (k Keys) Dead() string { return k.Prefix + ":intake:dead" }

// Failures is the hash counting, per intake entry id, how many times the
// entry failed to be stored for its own data. Only these failures lead to
// the dead letters; Redis's delivery count also counts outages and
// re-reads, and must never decide that an entry is poison.
func (k Keys) Failures() string { return k.Prefix + ":intake:failures" }

// Group is the consumer group of the workers that store entries.
func (k Keys) Group() string { return "store" }

// Child is the key guarding one application per child, level and year. It
// names the child by a keyed hash (HMAC-SHA256, truncated to 128 bits) of
// the ID number, never by the number.
func (k Keys) Child(level enrollment.Level, year int, idNumber string) string {
	return k.child(k.newChildMAC(), level, year, idNumber)
}

func (k Keys) newChildMAC() *childMAC {
	secret := k.ChildSecret
	if len(secret) == 0 {
		secret = []byte(DevelopmentChildSecret)
	}
	return &childMAC{m: hmac.New(sha256.New, secret)}
}

// childMAC is an HMAC-SHA256 keyed with the child secret, with room to
// write an ID number and take the sum without allocating.
type childMAC struct {
	m   hash.Hash
	in  [32]byte
	sum [sha256.Size]byte
}

// child is Child with c, not yet written to.
func (k Keys) child(c *childMAC, level enrollment.Level, year int, idNumber string) string {
	if len(idNumber) <= len(c.in) {
		c.m.Write(append(c.in[:0], idNumber...))
	} else {
		c.m.Write([]byte(idNumber))
	}
	var digits [20]byte
	var hexSum [32]byte
	hex.Encode(hexSum[:], c.m.Sum(c.sum[:0])[:16])
	y := strconv.AppendInt(digits[:0], int64(year), 10)
	var b strings.Builder
	b.Grow(len(k.Prefix) + len(":child:") + len(level) + 1 + len(y) + 1 + len(hexSum))
	b.WriteString(k.Prefix)
	b.WriteString(":child:")
	b.WriteString(string(level))
	b.WriteByte(':')
	b.Write(y)
	b.WriteByte(':')
	b.Write(hexSum[:])
	return b.String()
}

// childNamer names child keys as Keys.Child does, with HMACs kept for
// reuse: keying one costs as much as hashing an ID number twice.
type childNamer struct {
	keys Keys
	macs sync.Pool
}

func newChildNamer(k Keys) *childNamer {
	n := &childNamer{keys: k}
	n.macs.New = func() any { return k.newChildMAC() }
	return n
}

func (n *childNamer) name(level enrollment.Level, year int, idNumber string) string {
	c := n.macs.Get().(*childMAC)
	c.m.Reset()
	key := n.keys.child(c, level, year, idNumber)
	n.macs.Put(c)
	return key
}

// App is the key of the public status document of a tracking code.
func (k Keys) App(code string) string { return k.Prefix + ":app:" + code }

// Catalog is the key of the copy of the reference data.
func (k Keys) Catalog() string { return k.Prefix + ":catalog" }

// DefaultKeyTTL is how long a registration's duplicate guard (and its
// status document while it waits to be stored) stays in Redis: past the
// window and its placement, so a second registration of the child is
// refused at once for as long as it could arrive.
const DefaultKeyTTL = 60 * 24 * time.Hour

// DefaultStatusGrace is how long the status document of a stored
// application stays in Redis. Parents usually look their code up in the
// minutes after submitting; later lookups are answered by PostgreSQL,
// which holds the truth.
const DefaultStatusGrace = 10 * time.Minute
