package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tuyensinh/tuyensinh/enrollment"
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
	if err := fs.Parse(args); err != nil {
		return err
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
	ref := enrollment.DemoReference(time.Now())
	if err := enrollment.NewStore(db).SaveReference(ctx, ref); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo city loaded: %s, %d wards, %d school offers, windows %d-%d open until %s\n",
		ref.Authority.Name, len(ref.Wards), len(ref.Offers), ref.Windows[0].SchoolYear, ref.Windows[0].SchoolYear+1,
		ref.Windows[0].ClosesAt.Format(time.RFC3339))
	return nil
}

// openDatabase connects to DATABASE_URL alone, for the commands that need
// nothing else.
func openDatabase(ctx context.Context, getenv func(string) string) (*sqlx.DB, error) {
	url := getenv("DATABASE_URL")
	if err := checkDatabaseURL(url); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return enrollment.Open(ctx, url, 2)
}
