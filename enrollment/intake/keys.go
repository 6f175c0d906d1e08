package intake

import (
	"strconv"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// Keys names the Redis keys of one intake. Tests give each intake its own
// prefix so they can share a Redis server.
type Keys struct {
	Prefix string
}

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

// Child is the key guarding one application per child, level and year.
func (k Keys) Child(level enrollment.Level, year int, idNumber string) string {
	return k.Prefix + ":child:" + string(level) + ":" + strconv.Itoa(year) + ":" + idNumber
}

// App is the key of the public status document of a tracking code.
func (k Keys) App(code string) string { return k.Prefix + ":app:" + code }

// Catalog is the key of the copy of the reference data.
func (k Keys) Catalog() string { return k.Prefix + ":catalog" }

// DefaultKeyTTL is how long a registration's duplicate guard and status
// document stay in Redis: past the window and its placement, after which
// PostgreSQL answers for the code.
const DefaultKeyTTL = 60 * 24 * time.Hour
