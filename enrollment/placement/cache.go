package placement

import (
	"context"
	"sync"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
)

// A run never changes once stored (its instance is its input, and the
// engine is deterministic), so its placed result can be kept in memory
// and shared by the pages, comparisons and publishing that need it: an
// officer who makes a preview and opens its summary, a school of it, a
// child and a comparison places it once, not at every page. The results
// are kept most recently used first, up to CacheStudents children in all.

// CacheStudents bounds how many children the kept results hold together
// (a child costs some 400 bytes of instance and result): about two Hanoi
// grade-6 years, or one city-wide year of a million children.
var CacheStudents = 1_200_000

// placed is a run's instance and result, placed once.
type placed struct {
	once sync.Once
	inst *allocation.Instance
	res  *allocation.Result
	err  error
}

type cacheKey struct {
	db *postgres.DB
	id int64
}

var cache struct {
	sync.Mutex
	runs  map[cacheKey]*placed
	order []cacheKey // least recently used first
}

// touch returns the entry of key, made if missing, as most recently used.
func touch(key cacheKey) *placed {
	cache.Lock()
	defer cache.Unlock()
	if cache.runs == nil {
		cache.runs = map[cacheKey]*placed{}
	}
	p := cache.runs[key]
	if p == nil {
		p = &placed{}
		cache.runs[key] = p
	}
	for i, k := range cache.order {
		if k == key {
			cache.order = append(cache.order[:i], cache.order[i+1:]...)
			break
		}
	}
	cache.order = append(cache.order, key)
	return p
}

// keep records the size of an entry placed and drops the least recently
// used ones past CacheStudents (never the newest).
func keep(key cacheKey) {
	cache.Lock()
	defer cache.Unlock()
	total := 0
	for i := len(cache.order) - 1; i >= 0; i-- {
		k := cache.order[i]
		p := cache.runs[k]
		n := 0
		if p.res != nil {
			n = len(p.res.Assignments)
		}
		if k != key && total+n > CacheStudents {
			delete(cache.runs, k)
			cache.order = append(cache.order[:i], cache.order[i+1:]...)
			continue
		}
		total += n
	}
}

// forget drops an entry that failed, so that a later call tries again.
func forget(key cacheKey, p *placed) {
	cache.Lock()
	defer cache.Unlock()
	if cache.runs[key] == p {
		delete(cache.runs, key)
		for i, k := range cache.order {
			if k == key {
				cache.order = append(cache.order[:i], cache.order[i+1:]...)
				break
			}
		}
	}
}

// Placed returns run id's instance and result, placing its instance once
// for every caller. Callers must change neither.
func Placed(ctx context.Context, db *postgres.DB, id int64) (*allocation.Instance, *allocation.Result, error) {
	key := cacheKey{db, id}
	p := touch(key)
	p.once.Do(func() {
		p.inst, p.res, p.err = place(ctx, db, id)
	})
	if p.err != nil {
		forget(key, p)
		return nil, nil, p.err
	}
	keep(key)
	return p.inst, p.res, nil
}

// remember keeps the result a run was just made with.
func remember(db *postgres.DB, id int64, inst *allocation.Instance, res *allocation.Result) {
	key := cacheKey{db, id}
	p := touch(key)
	p.once.Do(func() { p.inst, p.res = inst, res })
	keep(key)
}
