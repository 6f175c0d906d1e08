package placement

import "github.com/tuyensinh/tuyensinh/enrollment/postgres"

// Cached returns how many runs of db the results cache keeps, and how
// many children they hold.
func Cached(db *postgres.DB) (runs, students int) {
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
