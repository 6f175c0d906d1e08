//go:build unix

package allocation

import (
	"syscall"
	"time"
)

// cpuTime is the user and system CPU time used by the process so far. The
// benchmarks report it per operation because the machine they run on is
// shared and wall time varies with the load.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
