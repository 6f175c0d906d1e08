package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
	"github.com/tuyensinh/tuyensinh/migrations"
)

func migrateUp(ctx context.Context, db *sqlx.DB, log *slog.Logger) error {
	_, err := migrations.Up(ctx, db.DB, log)
	return err
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	action := "up"
	if fs.NArg() > 0 {
		action = fs.Arg(0)
	}
	db, err := openDatabase(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	switch action {
	case "up":
		res, err := migrations.Up(ctx, db.DB, nil)
		for _, r := range res {
			fmt.Fprintf(stdout, "applied %s (%s)\n", r.Source.Path, r.Duration.Round(time.Millisecond))
		}
		if err != nil {
			return err
		}
		if len(res) == 0 {
			fmt.Fprintln(stdout, "database is up to date")
		}
		return nil
	case "status":
		st, err := migrations.Status(ctx, db.DB)
		if err != nil {
			return err
		}
		for _, s := range st {
			at := "pending"
			if !s.AppliedAt.IsZero() {
				at = "applied " + s.AppliedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%-40s %s\n", s.Source.Path, at)
		}
		return nil
	}
	return fmt.Errorf("migrate: unknown action %q (want up or status)", action)
}

func runSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	demo := fs.Bool("demo", false, "load the generated demo city with windows open now")
	applications := fs.Int("applications", 0, "with --demo: also store `N` generated applications for the open windows, about 7 in 10 accepted (deterministic for a given N)")
	verify := fs.String("verify-registry", "", "levels whose demo windows verify registrations against the population register, comma-separated (e.g. lop1 or mg5,lop1,lop6); default none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	verifyLevels, err := parseLevels(*verify)
	if err != nil {
		return fmt.Errorf("seed: --verify-registry: %w", err)
	}
	if !*demo {
		fs.Usage()
		return errors.New("seed: only --demo is available; real reference data is entered by the authorities")
	}
	db, err := openDatabase(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := migrations.Up(ctx, db.DB, nil); err != nil {
		return err
	}
	now := time.Now()
	ref := democity.Reference(now)
	for i := range ref.Windows {
		ref.Windows[i].VerifyRegistry = slices.Contains(verifyLevels, ref.Windows[i].Level)
	}
	store := postgres.New(db)
	if err := store.SaveReference(ctx, ref); err != nil {
		return err
	}
	// A week after a demo window closes, its placed children's seats must
	// be confirmed; an officer's own deadline is kept.
	windows, err := store.Windows(ctx)
	if err != nil {
		return err
	}
	for _, w := range windows {
		if w.ConfirmBy != nil {
			continue
		}
		by := w.ClosesAt.AddDate(0, 0, 7)
		w.ConfirmBy = &by
		if _, err := store.SetWindow(ctx, w, enrollment.Actor{Name: "seed", Role: enrollment.ActorCity}); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "demo city loaded: %s, %d wards, %d school offers, windows %d-%d open until %s\n",
		ref.Authority.Name, len(ref.Wards), len(ref.Offers), ref.Windows[0].SchoolYear, ref.Windows[0].SchoolYear+1,
		ref.Windows[0].ClosesAt.Format(time.RFC3339))
	people := democity.Population(now)
	if err := store.SavePopulation(ctx, people); err != nil {
		return err
	}
	verifying := "none (turn on with --verify-registry LEVELS)"
	if len(verifyLevels) > 0 {
		verifying = fmt.Sprint(verifyLevels)
	}
	p := people[0]
	fmt.Fprintf(stdout, "demo population register: %d children (%d per level: mg5, lop1, lop6), e.g. %s %s born %s, mother %s; windows verifying registrations: %s\n",
		len(people), democity.PopulationPerLevel, p.IDNumber, p.FullName, p.DateOfBirth, p.GuardianIDNumbers[0], verifying)
	// Staff accounts (issue 8): one per ward and school, and the city's.
	password := getenv("DEMO_PASSWORD")
	if password == "" {
		password = defaultDemoPassword
	}
	n, err := staff.NewStore(db).SeedDemo(ctx, password)
	if err != nil {
		return fmt.Errorf("seed: demo staff accounts (DEMO_PASSWORD): %w", err)
	}
	fmt.Fprintf(stdout, "demo staff accounts: %d (%s for the city, %s<WARD CODE> per ward, %s<SCHOOL CODE> per school, e.g. %sTH-BADINH-01), password: %s\n",
		n, staff.DemoCityUsername, staff.DemoWardPrefix, staff.DemoSchoolPrefix, staff.DemoSchoolPrefix, password)
	if *applications > 0 {
		stored, accepted, err := seedDemoApplications(ctx, db, ref, *applications)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "demo applications: %d generated (%d stored now), %d of them accepted\n", *applications, stored, accepted)
	}
	return nil
}

// defaultDemoPassword is the demo staff accounts' password unless
// DEMO_PASSWORD says otherwise. It is public: demo accounts are for trying
// the service, never for real data.
const defaultDemoPassword = "tuyensinh-demo"

// parseLevels reads a comma-separated list of the demo windows' levels;
// empty is none.
func parseLevels(s string) ([]enrollment.Level, error) {
	var out []enrollment.Level
	for _, f := range strings.Split(s, ",") {
		l := enrollment.Level(strings.TrimSpace(f))
		if l == "" {
			continue
		}
		if !slices.Contains([]enrollment.Level{enrollment.LevelMG5, enrollment.LevelLop1, enrollment.LevelLop6}, l) {
			return nil, fmt.Errorf("%q is not a level of the demo windows (mg5, lop1, lop6)", l)
		}
		out = append(out, l)
	}
	return out, nil
}

// openDatabase connects to DATABASE_URL alone, for the commands that need
// nothing else.
func openDatabase(ctx context.Context, getenv func(string) string) (*sqlx.DB, error) {
	url := getenv("DATABASE_URL")
	if err := checkDatabaseURL(url); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return postgres.Open(ctx, url, 2)
}
