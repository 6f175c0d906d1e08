package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/placement"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/migrations"
)

// storedPlacement is what place --run and place --publish were asked.
type storedPlacement struct {
	run                       bool
	publish                   int64
	level, include, mechanism string
	year, round               int
	output                    string
	verbose                   bool
	confirmBy                 *time.Time
}

// placeStored runs placement on the applications stored in DATABASE_URL
// (a preview run of the whole city, kept like one made through the API)
// or publishes a stored run. Whoever can run it holds the database, so it
// acts with the city's rights, recorded as "cli:<USER>".
func placeStored(ctx context.Context, p storedPlacement, getenv func(string) string, stdout, stderr io.Writer) error {
	if p.run && p.publish > 0 {
		return errors.New("place: give --run or --publish, not both")
	}
	sdb, err := openDatabase(ctx, getenv)
	if err != nil {
		return fmt.Errorf("place: %w", err)
	}
	defer sdb.Close()
	if _, err := migrations.Up(ctx, sdb.DB, nil); err != nil {
		return fmt.Errorf("place: %w", err)
	}
	bin, err := postgres.OpenBinary(getenv("DATABASE_URL"), 1)
	if err != nil {
		return fmt.Errorf("place: %w", err)
	}
	defer bin.Close()
	db := postgres.New(sdb).WithBinaryWrites(bin)
	actor := enrollment.Actor{Name: "cli:" + cmp.Or(getenv("USER"), "operator"), Role: enrollment.ActorCity}
	if p.publish > 0 {
		r, err := placement.Publish(ctx, db, p.publish, actor, nil)
		if err != nil {
			return fmt.Errorf("place: %w", err)
		}
		fmt.Fprintf(stdout, "run %d published: %s %d-%d round %d; seed revealed\n", r.ID, r.Level, r.SchoolYear, r.SchoolYear+1, r.Round)
		return nil
	}
	req := placement.Request{Level: enrollment.Level(p.level), SchoolYear: p.year, Round: p.round, ConfirmBy: p.confirmBy,
		Mechanism: allocation.Mechanism(p.mechanism), Include: p.include, Actor: actor}
	t0 := time.Now()
	snap, err := placement.Load(ctx, db, req, time.Now())
	if err != nil {
		return fmt.Errorf("place: %w", err)
	}
	load := time.Since(t0)
	out, err := placement.PlaceAndStore(ctx, db, snap)
	if err != nil {
		return fmt.Errorf("place: %w", err)
	}
	r, res := out.Run, out.Result
	if p.output != "" {
		if err := writeAtomic(p.output, stdout, res.WriteJSON); err != nil {
			return err
		}
	}
	var st placement.Stats
	_ = json.Unmarshal(r.Stats, &st)
	fmt.Fprintf(stderr, "run %d (preview): %s %d-%d round %d (%s, include %s): %d children at %d schools, %d by choice (%d first choice), %d administratively, %d unassigned (%d of them guaranteed)\n",
		r.ID, r.Level, r.SchoolYear, r.SchoolYear+1, r.Round, r.Mechanism, r.Include, st.Students, st.Schools,
		st.AssignedByChoice, st.FirstChoice, st.Administrative, st.Unassigned, st.UnassignedGuaranteed)
	if p.verbose {
		fmt.Fprintf(stderr, "load %v, place %v, store %v (the instance written while placing)\n", load.Round(time.Millisecond),
			out.Place.Round(time.Millisecond), out.Store.Round(time.Millisecond))
	}
	fmt.Fprintf(stdout, "%d\n", r.ID)
	return nil
}
