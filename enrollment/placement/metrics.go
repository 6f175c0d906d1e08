package placement

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
)

// RegisterMetrics registers on reg what the placement runs of db keep in
// memory between runs, for an operator sizing a replica's memory:
//
//	tuyensinh_placement_pool_children    children kept in pools (read by runs or ahead of them)
//	tuyensinh_placement_cached_children  children of the placed results kept
func RegisterMetrics(reg prometheus.Registerer, db *postgres.DB) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tuyensinh_placement_pool_children",
			Help: "Children kept between placement runs, in pools of a level, school year and states (about 110 bytes each; at most PoolStudents).",
		}, func() float64 { return float64(poolChildren(db)) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tuyensinh_placement_cached_children",
			Help: "Children of the placed runs' results kept for the pages, comparisons and publishing (about 400 bytes each; at most CacheStudents).",
		}, func() float64 {
			_, n := cached(db)
			return float64(n)
		}),
	)
}

// poolChildren returns how many children the pools of db keep; a pool
// being read or brought up to date counts for nothing until it is.
func poolChildren(db *postgres.DB) int {
	pools.Lock()
	entries := make([]*poolEntry, 0, len(pools.entries))
	for k, e := range pools.entries {
		if k.db == db {
			entries = append(entries, e)
		}
	}
	pools.Unlock()
	n := 0
	for _, e := range entries {
		n += e.size()
	}
	return n
}

// cached returns how many runs of db the results cache keeps, and how
// many children they hold.
func cached(db *postgres.DB) (runs, students int) {
	cache.Lock()
	defer cache.Unlock()
	for k, p := range cache.entries {
		if k.db == db {
			runs++
			students += p.students
		}
	}
	return runs, students
}
