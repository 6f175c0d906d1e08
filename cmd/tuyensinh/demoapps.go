package main

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/demoapps"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
)

// demoReviewer is who the demo's accepted applications were accepted by.
var demoReviewer = enrollment.Actor{Name: "demo-review", Role: enrollment.ActorSchool}

// seedDemoApplications stores n generated applications for the windows of
// ref (package demoapps) and accepts about seven in ten of them, as a
// school would have. Running it again with the same n changes nothing.
// It returns how many were stored new and how many are accepted.
func seedDemoApplications(ctx context.Context, db *sqlx.DB, ref enrollment.Reference, n int) (stored, accepted int, err error) {
	apps := demoapps.Generate(ref, n)
	store := postgres.New(db)
	const batch = 2000
	var ids []string
	for lo := 0; lo < len(apps); lo += batch {
		hi := min(lo+batch, len(apps))
		chunk := make([]*enrollment.Application, hi-lo)
		for i := range chunk {
			chunk[i] = apps[lo+i].Application
		}
		res, err := store.SaveBatch(ctx, chunk)
		if err != nil {
			return stored, 0, fmt.Errorf("seed: demo applications: %w", err)
		}
		for i, r := range res {
			if r.Outcome == enrollment.OutcomeInserted {
				stored++
			}
			if apps[lo+i].Accepted {
				ids = append(ids, apps[lo+i].ID)
			}
		}
	}
	if err := postgres.New(db).Accept(ctx, ids, demoReviewer); err != nil {
		return stored, 0, fmt.Errorf("seed: demo applications: %w", err)
	}
	return stored, len(ids), nil
}
