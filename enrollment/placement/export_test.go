package placement

import (
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
)

// Cached returns how many runs of db the results cache keeps, and how
// many children they hold.
var Cached = cached

// Kept waits for Warm to finish with the pool of a level, year and
// include, and returns how many children it keeps (-1: none kept).
func Kept(db *postgres.DB, level enrollment.Level, year int, include string) int {
	e := poolOf(keyOf(db, level, year, statesOf(include)))
	for e.warming.Load() {
		time.Sleep(5 * time.Millisecond)
	}
	e.Lock()
	defer e.Unlock()
	if e.p == nil {
		return -1
	}
	return len(e.p.kids)
}
