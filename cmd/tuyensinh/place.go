package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/tuyensinh/tuyensinh/allocation"
)

// runPlace runs the placement engine on an instance file and writes the
// result file; see the allocation package for both formats. The output is
// written to a temporary file beside it and renamed into place, so a
// failed run never leaves a partial output file.
//
// --generate N writes a generated instance of N students (with --schools,
// --choices, --gen-seed, --scored-schools, --mechanism) to --output
// instead of placing, so that anyone can try the engine at a city's size;
// --cpuprofile F writes a CPU profile and -v prints phase timings to
// stderr. Every flag is listed by place -h.
func runPlace(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("place", flag.ContinueOnError)
	fs.SetOutput(stderr)
	input := fs.String("input", "", "instance `file` (JSON; - for standard input)")
	output := fs.String("output", "", "result `file` (JSON; - for standard output)")
	generate := fs.Int("generate", 0, "write a generated instance of `N` students to --output instead of placing")
	schools := fs.Int("schools", 5000, "with --generate: the number of schools")
	choices := fs.Int("choices", 5, "with --generate: the longest choice list")
	genSeed := fs.Int64("gen-seed", 1, "with --generate: the generator's seed (equal seeds, equal instances)")
	scored := fs.Int("scored-schools", 0, "with --generate: how many schools rank applicants by score")
	mechanism := fs.String("mechanism", "", "with --generate or --run: the `mechanism`, da or boston (default da; with --run the authority's policy)")
	dbRun := fs.Bool("run", false, "place the applications stored in the database (DATABASE_URL) and keep the run as a preview")
	level := fs.String("level", "", "with --run: the `level` (mg3, mg4, mg5, lop1, lop6)")
	year := fs.Int("school-year", 0, "with --run: the school year's starting `year`, e.g. 2027")
	include := fs.String("include", "accepted", "with --run: which applications, accepted (reviewed) or received (unreviewed too)")
	round := fs.Int("round", 1, "with --run: the round, 1 or 2")
	confirmBy := fs.String("confirm-by", "", "with --run: the run's own confirmation `deadline` (RFC 3339, e.g. 2027-08-05T17:00:00+07:00; default: the window's for round 1, 7 days after publishing for round 2)")
	publish := fs.Int64("publish", 0, "publish the stored run `ID` (all or nothing; a published run never changes)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to `file`")
	verbose := fs.Bool("v", false, "print the time of each phase to standard error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tuyensinh place --input instance.json --output result.json")
		fmt.Fprintln(stderr, "       tuyensinh place --generate N [--schools S --choices C --gen-seed G] --output instance.json")
		fmt.Fprintln(stderr, "       tuyensinh place --run --level lop1 --school-year 2027 [--include received] [--output result.json]")
		fmt.Fprintln(stderr, "       tuyensinh place --publish ID")
		fmt.Fprintln(stderr, "Runs the placement engine on an instance file and writes the result file, or writes")
		fmt.Fprintln(stderr, "a generated instance file to try it on; with --run, places the applications stored")
		fmt.Fprintln(stderr, "in DATABASE_URL and keeps the run as a preview (its id on standard output), and")
		fmt.Fprintln(stderr, "with --publish publishes a stored run.")
		fs.VisitAll(func(f *flag.Flag) {
			if f.Usage != "" {
				name, usage := flag.UnquoteUsage(f)
				if def := f.DefValue; def != "" && def != "0" && def != "false" {
					usage += " (default " + def + ")"
				}
				if name != "" {
					name = " " + name
				}
				fmt.Fprintf(stderr, "  --%s%s\n    \t%s\n", f.Name, name, usage)
			}
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("place: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("place: unexpected argument %q", fs.Arg(0))
	}
	if *dbRun || *publish > 0 {
		sp := storedPlacement{run: *dbRun, publish: *publish, level: *level, year: *year, include: *include,
			round: *round, mechanism: *mechanism, output: *output, verbose: *verbose}
		if *confirmBy != "" {
			t, err := time.Parse(time.RFC3339, *confirmBy)
			if err != nil {
				return fmt.Errorf("place: --confirm-by: hạn xác nhận phải theo RFC 3339, ví dụ 2027-08-05T17:00:00+07:00 / a deadline in RFC 3339, e.g. 2027-08-05T17:00:00+07:00: %w", err)
			}
			sp.confirmBy = &t
		}
		return placeStored(ctx, sp, getenv, stdout, stderr)
	}
	if *output == "" && (*generate > 0 || *input != "") {
		return errors.New("place: --output is required")
	}
	if *generate > 0 {
		inst := allocation.Generate(allocation.GenConfig{
			Students: *generate, Schools: *schools, Choices: *choices, ScoredSchools: *scored,
			Seed: *genSeed, Mechanism: allocation.Mechanism(*mechanism),
		})
		return writeAtomic(*output, stdout, func(w io.Writer) error { return allocation.EncodeInstance(w, inst) })
	}
	if *input == "" {
		return errors.New("place: give --input FILE --output FILE to run on an instance file, or --run --level L --school-year Y to place the stored applications")
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return fmt.Errorf("place: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("place: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	// A run holds the instance, the engine's arrays and the result, about
	// 160 MB for 200,000 students, and little of what it allocates turns
	// to garbage before the end; collecting less often saved a tenth of
	// the CPU of a whole run for 10 MB more.
	defer tuneGC(os.Getenv)()

	t0 := time.Now()
	var data []byte
	var err error
	if *input == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(*input)
	}
	if err != nil {
		return fmt.Errorf("place: read input: %w", err)
	}
	t1 := time.Now()
	inst, err := allocation.Decode(data)
	if err != nil {
		return fmt.Errorf("place: %s: %w", *input, err)
	}
	data = nil // let the collector have the file
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("place: %w", err)
	}
	t2 := time.Now()
	res, err := allocation.Place(inst)
	if err != nil {
		return fmt.Errorf("place: %s: %w", *input, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("place: %w", err)
	}
	t3 := time.Now()
	if err := writeAtomic(*output, stdout, res.WriteJSON); err != nil {
		return err
	}
	t4 := time.Now()
	st := res.Stats
	fmt.Fprintf(stderr, "placed %d students at %d schools (%s): %d by choice, %d administratively, %d unassigned (%d of them guaranteed)\n",
		st.Students, st.Schools, res.Mechanism, st.AssignedByChoice, st.Administrative, st.Unassigned, st.UnassignedGuaranteed)
	if *verbose {
		fmt.Fprintf(stderr, "read %v, decode %v, place %v, write %v\n",
			t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond),
			t3.Sub(t2).Round(time.Millisecond), t4.Sub(t3).Round(time.Millisecond))
	}
	return nil
}

// writeAtomic writes through write to path ("-" means stdout) by way of a
// temporary file in the same directory, renamed over path only when every
// write succeeded.
func writeAtomic(path string, stdout io.Writer, write func(io.Writer) error) (err error) {
	if path == "-" {
		bw := bufio.NewWriterSize(stdout, 1<<20)
		if err := write(bw); err != nil {
			return fmt.Errorf("place: write output: %w", err)
		}
		return bw.Flush()
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("place: write output: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("place: write output %s: %w", path, err)
		}
	}()
	// The writers buffer themselves (WriteJSON in 256 KiB pieces, the
	// instance encoder in one piece); another buffer would only copy.
	if err := write(f); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
