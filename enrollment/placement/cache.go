package placement

import (
	"context"
	"slices"
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

	// students is how many children res holds, once placed: written
	// and read under the cache's lock (res itself is written under
	// once, which trimming another entry must not wait for).
	students int
}

type cacheKey struct {
	db *postgres.DB
	id int64
}

var cache struct {
	sync.Mutex
	lru[cacheKey, placed]
}

// lru holds entries by key, the least recently used first in order. Its
// user locks it.
type lru[K comparable, V any] struct {
	entries map[K]*V
	order   []K
}

// use returns the entry of key, made if missing, as the most recently
// used.
func (l *lru[K, V]) use(key K) *V {
	if l.entries == nil {
		l.entries = map[K]*V{}
	}
	v := l.entries[key]
	if v == nil {
		v = new(V)
		l.entries[key] = v
	}
	if i := slices.Index(l.order, key); i >= 0 {
		l.order = slices.Delete(l.order, i, i+1)
	}
	l.order = append(l.order, key)
	return v
}

// drop drops the entry of key.
func (l *lru[K, V]) drop(key K) {
	delete(l.entries, key)
	if i := slices.Index(l.order, key); i >= 0 {
		l.order = slices.Delete(l.order, i, i+1)
	}
}

// trim drops the least recently used entries past limit in all (size
// gives an entry's), never the entry of keep.
func (l *lru[K, V]) trim(limit int, keep K, size func(*V) int) {
	total := 0
	for i := len(l.order) - 1; i >= 0; i-- {
		k := l.order[i]
		n := size(l.entries[k])
		if k != keep && total+n > limit {
			l.drop(k)
			continue
		}
		total += n
	}
}

// touch returns the entry of key, made if missing, as most recently used.
func touch(key cacheKey) *placed {
	cache.Lock()
	defer cache.Unlock()
	return cache.use(key)
}

// keep records the size of entry p, placed, and drops the least
// recently used ones past CacheStudents (never the newest).
func keep(key cacheKey, p *placed) {
	cache.Lock()
	defer cache.Unlock()
	p.students = len(p.res.Assignments)
	cache.trim(CacheStudents, key, func(p *placed) int { return p.students })
}

// forget drops an entry that failed, so that a later call tries again.
func forget(key cacheKey, p *placed) {
	cache.Lock()
	defer cache.Unlock()
	if cache.entries[key] == p {
		cache.drop(key)
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
	keep(key, p)
	return p.inst, p.res, nil
}

// remember keeps the result a run was just made with.
func remember(db *postgres.DB, id int64, inst *allocation.Instance, res *allocation.Result) {
	key := cacheKey{db, id}
	p := touch(key)
	p.once.Do(func() { p.inst, p.res = inst, res })
	if p.err != nil {
		// Placing the run failed at once somewhere else: keep the
		// result in hand instead.
		forget(key, p)
		return
	}
	keep(key, p)
}
