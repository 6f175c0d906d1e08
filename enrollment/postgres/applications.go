package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/outbox"
)

// SaveBatch stores applications in one transaction and reports the outcome
// of each, in order. It is idempotent: an application whose ID is already
// stored is left alone, and one for a child who already has an application
// for the level and year is recorded as a duplicate submission pointing at
// the first, never as a second application. Within the batch the earliest
// submission of a child wins.
func (d *DB) SaveBatch(ctx context.Context, apps []*enrollment.Application) (_ []enrollment.Stored, err error) {
	defer wrap(&err, "save batch of %d applications", len(apps))
	return d.saveBatch(ctx, apps, copyApplications)
}

// inserter inserts a batch of applications in tx, skipping those that
// conflict with a stored one on the id or on the child (level, year), the
// earliest submission first, and returns the stored time of each inserted
// application by tracking code.
type inserter func(ctx context.Context, tx *sqlx.Tx, apps []*enrollment.Application) (map[string]time.Time, error)

func (d *DB) saveBatch(ctx context.Context, apps []*enrollment.Application, insert inserter) ([]enrollment.Stored, error) {
	if len(apps) == 0 {
		return nil, nil
	}
	out := make([]enrollment.Stored, len(apps))
	err := d.Transact(ctx, 0, func(tx *sqlx.Tx) error {
		inserted, err := insert(ctx, tx, apps)
		if err != nil {
			return err
		}
		var missing []int
		for i, a := range apps {
			if at, ok := inserted[a.TrackingCode]; ok {
				out[i] = enrollment.Stored{TrackingCode: a.TrackingCode, Outcome: enrollment.OutcomeInserted, StoredAt: at}
			} else {
				missing = append(missing, i)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		return d.resolveSkipped(ctx, tx, apps, missing, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// applicationColumns are the columns of applications that SaveBatch
// writes, in the order of applicationRow's values.
const applicationColumns = `id, tracking_code, level, school_year, child_id_number, child_name, date_of_birth, sex,
    ethnicity, place_of_birth, over_age_reason, permanent_ward, permanent_group, permanent_address,
    current_ward, current_group, current_address, guardian, priority_group, choices, submitted_at, status`

// applicationRow returns the values of applicationColumns for a, as text
// PostgreSQL parses into the columns' types.
func applicationRow(a *enrollment.Application) ([]any, error) {
	g, err := json.Marshal(a.Guardian)
	if err != nil {
		return nil, fmt.Errorf("encode guardian of %s: %w", a.ID, err)
	}
	choices, err := pq.StringArray(a.Choices).Value()
	if err != nil {
		return nil, fmt.Errorf("encode choices of %s: %w", a.ID, err)
	}
	p, c := a.Residence.Permanent, a.Residence.Current
	return []any{a.ID, a.TrackingCode, string(a.Level), int64(a.SchoolYear), a.Child.IDNumber, a.Child.FullName,
		a.Child.DateOfBirth, string(a.Child.Sex), a.Child.Ethnicity, a.Child.PlaceOfBirth, a.Child.OverAgeReason,
		p.Ward, p.Group, p.Address, c.Ward, c.Group, c.Address, string(g), int64(a.PriorityGroup), choices,
		a.SubmittedAt.UTC().Format(time.RFC3339Nano), string(a.StoredStatus())}, nil
}

// copyApplications loads the batch with COPY into a temporary table of the
// connection, then moves it into applications with one INSERT … SELECT …
// ON CONFLICT DO NOTHING: COPY parses rows faster than a statement with
// one array per column, and the temporary table writes no WAL. The table
// is created once per connection and emptied at every commit or rollback.
func copyApplications(ctx context.Context, tx *sqlx.Tx, apps []*enrollment.Application) (map[string]time.Time, error) {
	const qTemp = `
CREATE TEMPORARY TABLE IF NOT EXISTS incoming_applications (
    id uuid, tracking_code text, level text, school_year integer, child_id_number text, child_name text,
    date_of_birth date, sex text, ethnicity text, place_of_birth text, over_age_reason text,
    permanent_ward text, permanent_group text, permanent_address text,
    current_ward text, current_group text, current_address text,
    guardian jsonb, priority_group integer, choices text[], submitted_at timestamptz, status text
) ON COMMIT DELETE ROWS`
	const qCopy = `copy incoming_applications (` + applicationColumns + `) from stdin`
	// Inserting in the order of submission makes the earliest submission
	// of a child the one stored when the batch holds several.
	const qInsert = `
INSERT INTO applications (` + applicationColumns + `)
SELECT ` + applicationColumns + ` FROM incoming_applications
ORDER BY submitted_at, id
ON CONFLICT DO NOTHING
RETURNING tracking_code, stored_at`

	if _, err := tx.ExecContext(ctx, qTemp); err != nil {
		return nil, fmt.Errorf("create incoming applications table: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, qCopy)
	if err != nil {
		return nil, fmt.Errorf("copy applications: %w", err)
	}
	defer stmt.Close()
	for _, a := range apps {
		row, err := applicationRow(a)
		if err != nil {
			return nil, err
		}
		if _, err := stmt.ExecContext(ctx, row...); err != nil {
			return nil, fmt.Errorf("copy applications: %w", err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("copy applications: %w", err)
	}
	if err := stmt.Close(); err != nil {
		return nil, fmt.Errorf("copy applications: %w", err)
	}
	return scanInserted(tx.QueryContext(ctx, qInsert))
}

// scanInserted reads the tracking_code, stored_at rows an INSERT returned.
func scanInserted(rows *sql.Rows, err error) (map[string]time.Time, error) {
	if err != nil {
		return nil, fmt.Errorf("insert applications: %w", err)
	}
	inserted := make(map[string]time.Time)
	for rows.Next() {
		var code string
		var at time.Time
		if err := rows.Scan(&code, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("insert applications: %w", err)
		}
		inserted[code] = at
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("insert applications: %w", err)
	}
	return inserted, nil
}

// The lookups of resolveSkipped.
const (
	skippedByIDQuery    = `SELECT id, tracking_code, stored_at FROM applications WHERE id = ANY(CAST($1 AS uuid[]))`
	skippedByChildQuery = `
SELECT id, tracking_code, stored_at, child_id_number, level, school_year FROM applications
WHERE child_id_number = ANY(CAST($1 AS text[])) AND status <> 'voided'`
)

// resolveSkipped finds out why rows were skipped: already stored under
// their own id (a redelivery), or another application of the same child.
// The second kind is recorded in duplicate_submissions, and the first
// application's code is queued to be sent again to its own guardian (the
// second registrant is told nothing of it), in the same transaction.
//
// A whole batch comes back after a worker stopped between its commit and
// its acknowledgement, so the skipped rows are looked up together: one
// query by id, then one by child for those not found. Each query can be
// served by one index only (the primary key; the child's unique key, of
// which child_id_number leads), whatever the planner's statistics say:
// a freshly filled table once had the child lookup scan every application
// of the level and year through applications_choice1.
func (d *DB) resolveSkipped(ctx context.Context, tx *sqlx.Tx, apps []*enrollment.Application, missing []int, out []enrollment.Stored) error {
	const qByID, qByChild = skippedByIDQuery, skippedByChildQuery
	const qDup = `
INSERT INTO duplicate_submissions (tracking_code, application_id, submitted_at) VALUES ($1, $2, $3)
ON CONFLICT (tracking_code) DO NOTHING`

	type found struct {
		id, code string
		at       time.Time
	}
	ids := make([]string, len(missing))
	for j, i := range missing {
		ids[j] = apps[i].ID
	}
	byID := make(map[string]found, len(missing))
	rows, err := tx.QueryContext(ctx, qByID, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("look up skipped applications: %w", err)
	}
	for rows.Next() {
		var f found
		if err := rows.Scan(&f.id, &f.code, &f.at); err != nil {
			rows.Close()
			return fmt.Errorf("look up skipped applications: %w", err)
		}
		byID[f.id] = f
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("look up skipped applications: %w", err)
	}

	var dups []int
	for _, i := range missing {
		a := apps[i]
		if f, ok := byID[a.ID]; ok {
			out[i] = enrollment.Stored{TrackingCode: a.TrackingCode, Outcome: enrollment.OutcomeAlreadyStored, StoredAt: f.at}
			continue
		}
		dups = append(dups, i)
	}
	if len(dups) == 0 {
		return nil
	}

	type childKey struct {
		child, level string
		year         int
	}
	children := make([]string, len(dups))
	for j, i := range dups {
		children[j] = apps[i].Child.IDNumber
	}
	byChild := make(map[childKey]found, len(dups))
	rows, err = tx.QueryContext(ctx, qByChild, pq.Array(children))
	if err != nil {
		return fmt.Errorf("look up applications of the same children: %w", err)
	}
	for rows.Next() {
		var f found
		var k childKey
		if err := rows.Scan(&f.id, &f.code, &f.at, &k.child, &k.level, &k.year); err != nil {
			rows.Close()
			return fmt.Errorf("look up applications of the same children: %w", err)
		}
		byChild[k] = f
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("look up applications of the same children: %w", err)
	}

	for _, i := range dups {
		a := apps[i]
		f, ok := byChild[childKey{a.Child.IDNumber, string(a.Level), a.SchoolYear}]
		if !ok {
			// A row is only skipped for a row that is stored, so this
			// cannot happen; report it rather than drop it.
			return fmt.Errorf("application %s was neither stored nor matched", a.ID)
		}
		if _, err := tx.ExecContext(ctx, qDup, a.TrackingCode, f.id, a.SubmittedAt); err != nil {
			return fmt.Errorf("record duplicate submission %s: %w", a.TrackingCode, err)
		}
		if err := outbox.EnqueueCodeResend(ctx, tx, f.code, time.Now()); err != nil {
			return err
		}
		out[i] = enrollment.Stored{TrackingCode: a.TrackingCode, Outcome: enrollment.OutcomeDuplicate, FirstTrackingCode: f.code, StoredAt: f.at}
	}
	return nil
}
