package enrollment

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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
	if len(apps) == 0 {
		return nil, nil
	}
	n := len(apps)
	var (
		ids, codes, levels, idNumbers, names, dobs, sexes, ethnicities, births, reasons = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		pWards, pGroups, pAddrs, cWards, cGroups, cAddrs, guardians, choices, submitted = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		statuses                                                                        = make([]string, n)
		years, groups                                                                   = make([]int64, n), make([]int64, n)
	)
	for i, a := range apps {
		g, err := json.Marshal(a.Guardian)
		if err != nil {
			return nil, fmt.Errorf("encode guardian of %s: %w", a.ID, err)
		}
		ids[i], codes[i], levels[i], years[i] = a.ID, a.TrackingCode, string(a.Level), int64(a.SchoolYear)
		idNumbers[i], names[i], dobs[i], sexes[i] = a.Child.IDNumber, a.Child.FullName, a.Child.DateOfBirth, string(a.Child.Sex)
		ethnicities[i], births[i], reasons[i] = a.Child.Ethnicity, a.Child.PlaceOfBirth, a.Child.OverAgeReason
		p, c := a.Residence.Permanent, a.Residence.Current
		pWards[i], pGroups[i], pAddrs[i], cWards[i], cGroups[i], cAddrs[i] = p.Ward, p.Group, p.Address, c.Ward, c.Group, c.Address
		guardians[i], groups[i] = string(g), int64(a.PriorityGroup)
		arr, err := pq.StringArray(a.Choices).Value()
		if err != nil {
			return nil, fmt.Errorf("encode choices of %s: %w", a.ID, err)
		}
		choices[i] = arr.(string)
		submitted[i] = a.SubmittedAt.UTC().Format(time.RFC3339Nano)
		statuses[i] = string(a.StoredStatus())
	}

	// One statement inserts the whole batch from arrays: one round trip,
	// one parse, no temporary table. Rows that conflict on the id or on
	// the child (level, year) are skipped.
	const qInsert = `
INSERT INTO applications (id, tracking_code, level, school_year, child_id_number, child_name, date_of_birth, sex,
    ethnicity, place_of_birth, over_age_reason, permanent_ward, permanent_group, permanent_address,
    current_ward, current_group, current_address, guardian, priority_group, choices, submitted_at, status)
SELECT id, tracking_code, level, school_year, child_id_number, child_name, CAST(date_of_birth AS date), sex,
    ethnicity, place_of_birth, over_age_reason, permanent_ward, permanent_group, permanent_address,
    current_ward, current_group, current_address, CAST(guardian AS jsonb), priority_group, CAST(choices AS text[]),
    CAST(submitted_at AS timestamptz), status
FROM unnest(CAST($1 AS uuid[]), $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],
            $15::text[], $16::text[], $17::text[], $18::text[], $19::int[], $20::text[], $21::text[], $22::text[])
     AS s(id, tracking_code, level, school_year, child_id_number, child_name, date_of_birth, sex,
          ethnicity, place_of_birth, over_age_reason, permanent_ward, permanent_group, permanent_address,
          current_ward, current_group, current_address, guardian, priority_group, choices, submitted_at, status)
ORDER BY CAST(submitted_at AS timestamptz), id
ON CONFLICT DO NOTHING
RETURNING tracking_code, stored_at`

	out := make([]Stored, n)
	err := s.Transact(ctx, func(tx *sqlx.Tx) error {
		rows, err := tx.QueryContext(ctx, qInsert,
			pq.Array(ids), pq.Array(codes), pq.Array(levels), pq.Array(years), pq.Array(idNumbers), pq.Array(names),
			pq.Array(dobs), pq.Array(sexes), pq.Array(ethnicities), pq.Array(births), pq.Array(reasons),
			pq.Array(pWards), pq.Array(pGroups), pq.Array(pAddrs), pq.Array(cWards), pq.Array(cGroups), pq.Array(cAddrs),
			pq.Array(guardians), pq.Array(groups), pq.Array(choices), pq.Array(submitted), pq.Array(statuses))
		if err != nil {
			return fmt.Errorf("insert applications: %w", err)
		}
		inserted := make(map[string]time.Time, n)
		for rows.Next() {
			var code string
			var at time.Time
			if err := rows.Scan(&code, &at); err != nil {
				rows.Close()
				return fmt.Errorf("insert applications: %w", err)
			}
			inserted[code] = at
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("insert applications: %w", err)
		}
		var missing []int
		for i := range apps {
			if at, ok := inserted[codes[i]]; ok {
				out[i] = Stored{TrackingCode: codes[i], Outcome: OutcomeInserted, StoredAt: at}
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

// resolveSkipped finds out why rows were skipped: already stored under
// their own id (a redelivery), or another application of the same child.
// The second kind is recorded in duplicate_submissions, and the first
// application's code is queued to be sent again to its own guardian (the
// second registrant is told nothing of it), in the same transaction.
func (s *Store) resolveSkipped(ctx context.Context, tx *sqlx.Tx, apps []*Application, missing []int, out []Stored) error {
	const q = `
SELECT a.id, a.tracking_code, a.stored_at FROM applications a
WHERE a.id = $1 OR (a.child_id_number = $2 AND a.level = $3 AND a.school_year = $4 AND a.status <> 'voided')
ORDER BY a.id = $1 DESC LIMIT 1`
	const qDup = `
INSERT INTO duplicate_submissions (tracking_code, application_id, submitted_at) VALUES ($1, $2, $3)
ON CONFLICT (tracking_code) DO NOTHING`
	for _, i := range missing {
		a := apps[i]
		var id, code string
		var at time.Time
		err := tx.QueryRowContext(ctx, q, a.ID, a.Child.IDNumber, string(a.Level), a.SchoolYear).Scan(&id, &code, &at)
		if errors.Is(err, sql.ErrNoRows) {
			// Skipped for a conflict with another row of this same batch
			// that lost to... no: a row is only skipped for a row that is
			// stored, so this cannot happen; report it rather than drop it.
			return fmt.Errorf("application %s was neither stored nor matched", a.ID)
		}
		if err != nil {
			return fmt.Errorf("look up skipped application %s: %w", a.ID, err)
		}
		if id == a.ID {
			out[i] = Stored{TrackingCode: a.TrackingCode, Outcome: OutcomeAlreadyStored, StoredAt: at}
			continue
		}
		if _, err := tx.ExecContext(ctx, qDup, a.TrackingCode, id, a.SubmittedAt); err != nil {
			return fmt.Errorf("record duplicate submission %s: %w", a.TrackingCode, err)
		}
		if err := outbox.EnqueueCodeResend(ctx, tx, code, time.Now()); err != nil {
			return err
		}
		out[i] = Stored{TrackingCode: a.TrackingCode, Outcome: OutcomeDuplicate, FirstTrackingCode: code, StoredAt: at}
	}
	return nil
}
