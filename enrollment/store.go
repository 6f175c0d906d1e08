package enrollment

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/tuyensinh/tuyensinh/enrollment/outbox"
)

// Store keeps applications and reference data in PostgreSQL.
type Store struct{ db *sqlx.DB }

// NewStore returns a store on db.
func NewStore(db *sqlx.DB) *Store { return &Store{db: db} }

// DB returns the store's database handle.
func (s *Store) DB() *sqlx.DB { return s.db }

// Open connects to PostgreSQL at url and checks the connection.
func Open(ctx context.Context, url string, maxConns int) (*sqlx.DB, error) {
	db, err := OpenLazy(url, maxConns)
	if err != nil {
		return nil, err
	}
	if err := Ping(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// OpenLazy returns a handle on PostgreSQL at url without connecting: the
// connections are made when needed, so a process can start while the
// database is down and use it once it is back.
func OpenLazy(url string, maxConns int) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// Ping checks that the database answers within five seconds.
func Ping(ctx context.Context, db *sqlx.DB) error {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	return nil
}

// Transact runs fn in a transaction, committing when fn returns nil and
// rolling back otherwise (or on panic).
func (s *Store) Transact(ctx context.Context, fn func(*sqlx.Tx) error) (err error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
			return
		}
		if err = tx.Commit(); err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
	}()
	return fn(tx)
}

// LoadCatalog reads windows, wards and school offers with their catchments.
func (s *Store) LoadCatalog(ctx context.Context) (*Catalog, error) {
	const qWindows = `SELECT level, school_year, opens_at, closes_at, birth_year, max_choices, verify_registry FROM windows`
	var windows []Window
	if err := s.db.SelectContext(ctx, &windows, qWindows); err != nil {
		return nil, fmt.Errorf("load windows: %w", err)
	}
	for i := range windows {
		windows[i].OpensAt = windows[i].OpensAt.UTC()
		windows[i].ClosesAt = windows[i].ClosesAt.UTC()
	}

	const qWards = `SELECT code, name, kind, groups FROM wards ORDER BY code`
	rows, err := s.db.QueryContext(ctx, qWards)
	if err != nil {
		return nil, fmt.Errorf("load wards: %w", err)
	}
	var wards []Ward
	for rows.Next() {
		var w Ward
		if err := rows.Scan(&w.Code, &w.Name, &w.Kind, pq.Array(&w.Groups)); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load wards: %w", err)
		}
		wards = append(wards, w)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("load wards: %w", err)
	}

	const qOffers = `
SELECT o.school_code, s.name, s.ward_code, s.address, COALESCE(s.lat, 0), COALESCE(s.lon, 0),
       o.level, o.school_year, o.quota,
       COALESCE((SELECT json_agg(json_build_object('ward', z.ward_code, 'groups', z.groups) ORDER BY z.ward_code)
                 FROM catchment_zones z
                 WHERE z.school_code = o.school_code AND z.level = o.level AND z.school_year = o.school_year), '[]')
FROM school_offers o JOIN schools s ON s.code = o.school_code
ORDER BY o.level, o.school_year, o.school_code`
	rows, err = s.db.QueryContext(ctx, qOffers)
	if err != nil {
		return nil, fmt.Errorf("load offers: %w", err)
	}
	var offers []Offer
	for rows.Next() {
		var o Offer
		var zones []byte
		if err := rows.Scan(&o.SchoolCode, &o.Name, &o.Ward, &o.Address, &o.Lat, &o.Lon, &o.Level, &o.SchoolYear, &o.Quota, &zones); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load offers: %w", err)
		}
		if err := json.Unmarshal(zones, &o.Catchment); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load offers: catchment of %s: %w", o.SchoolCode, err)
		}
		for i := range o.Catchment {
			if o.Catchment[i].Groups == nil {
				o.Catchment[i].Groups = []string{}
			}
		}
		offers = append(offers, o)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("load offers: %w", err)
	}
	return NewCatalog(windows, wards, offers), nil
}

// Stored is what happened to one application handed to SaveBatch.
type Stored struct {
	TrackingCode string
	// Outcome is OutcomeInserted, OutcomeAlreadyStored (a redelivery of an
	// application already in the database) or OutcomeDuplicate (the child
	// already had another application for the level and year).
	Outcome Outcome
	// FirstTrackingCode is the code of the child's application, with
	// OutcomeDuplicate.
	FirstTrackingCode string
	StoredAt          time.Time
}

// Outcome is the result of storing one application.
type Outcome int

// Outcomes of SaveBatch.
const (
	OutcomeInserted Outcome = iota
	OutcomeAlreadyStored
	OutcomeDuplicate
)

// SaveBatch stores applications in one transaction and reports the outcome
// of each, in order. It is idempotent: an application whose ID is already
// stored is left alone, and one for a child who already has an application
// for the level and year is recorded as a duplicate submission pointing at
// the first, never as a second application. Within the batch the earliest
// submission of a child wins.
func (s *Store) SaveBatch(ctx context.Context, apps []*Application) ([]Stored, error) {
	return s.saveBatch(ctx, apps, copyApplications)
}

// inserter inserts a batch of applications in tx, skipping those that
// conflict with a stored one on the id or on the child (level, year), the
// earliest submission first, and returns the stored time of each inserted
// application by tracking code.
type inserter func(ctx context.Context, tx *sqlx.Tx, apps []*Application) (map[string]time.Time, error)

func (s *Store) saveBatch(ctx context.Context, apps []*Application, insert inserter) ([]Stored, error) {
	if len(apps) == 0 {
		return nil, nil
	}
	out := make([]Stored, len(apps))
	err := s.Transact(ctx, func(tx *sqlx.Tx) error {
		inserted, err := insert(ctx, tx, apps)
		if err != nil {
			return err
		}
		var missing []int
		for i, a := range apps {
			if at, ok := inserted[a.TrackingCode]; ok {
				out[i] = Stored{TrackingCode: a.TrackingCode, Outcome: OutcomeInserted, StoredAt: at}
			} else {
				missing = append(missing, i)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		return s.resolveSkipped(ctx, tx, apps, missing, out)
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
func applicationRow(a *Application) ([]any, error) {
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
func copyApplications(ctx context.Context, tx *sqlx.Tx, apps []*Application) (map[string]time.Time, error) {
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
func (s *Store) resolveSkipped(ctx context.Context, tx *sqlx.Tx, apps []*Application, missing []int, out []Stored) error {
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
			out[i] = Stored{TrackingCode: a.TrackingCode, Outcome: OutcomeAlreadyStored, StoredAt: f.at}
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
		out[i] = Stored{TrackingCode: a.TrackingCode, Outcome: OutcomeDuplicate, FirstTrackingCode: f.code, StoredAt: f.at}
	}
	return nil
}
