// Command loadtest is the load generator of the intake: it sends
// registrations (or health checks, or status lookups) to a tuyensinh server
// on this machine at an open-loop arrival rate, reports what came back, how
// the intake queue behaved, and verifies in PostgreSQL that every accepted
// registration was stored exactly once. See README.md.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// LOADTEST_CPUPROFILE=file profiles the load generator itself, to see
	// what it costs the machine it shares with the server.
	if path := os.Getenv("LOADTEST_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	// The generator shares the cores with the server it measures: spend
	// little of them on garbage collection (GOGC, when set, decides).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// errFailed is returned when a run finished but did not pass (errors,
// lost or duplicate registrations); the report says why.
type errFailed struct{ problems []string }

func (e errFailed) Error() string {
	return fmt.Sprintf("the run failed (%d problems; see the report)", len(e.problems))
}

// run is the whole program.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.Table != "" {
		return printTable(stdout, o.Table)
	}
	if o.BodiesOut != "" {
		return writeBodies(ctx, o, stderr)
	}
	r, err := runLoad(ctx, o, stderr)
	if err != nil {
		return err
	}
	if o.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		r.writeText(stdout)
	}
	if !r.OK {
		return errFailed{r.Problems}
	}
	return nil
}
