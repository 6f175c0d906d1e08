package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// Published placement runs, for anyone (issue 10): each run's seed with
// its earlier commitment and the engine's files exactly as stored. The
// files name children by pseudonym only.

// PublishedRun is a published placement run as the public sees it.
type PublishedRun struct {
	ID             int64  `json:"id"`
	Level          string `json:"level"`
	SchoolYear     int    `json:"school_year"`
	Round          int    `json:"round"`
	Mechanism      string `json:"mechanism"`
	Scope          string `json:"scope"`
	Seed           string `json:"seed"`
	SeedCommitment string `json:"seed_commitment"`
	// CommittedAt is when the seed's commitment was made public, before
	// the window closed.
	CommittedAt time.Time       `json:"seed_committed_at"`
	PublishedAt time.Time       `json:"published_at"`
	ConfirmBy   *time.Time      `json:"confirm_by"`
	Stats       json.RawMessage `json:"stats"`
}

const qPublishedRuns = `
SELECT r.id, r.level, r.school_year, r.round, r.mechanism, r.scope, s.seed, r.seed_commitment, s.created_at,
    r.published_at, r.confirm_by, r.stats
FROM placement_runs r
JOIN placement_seeds s ON s.level = r.level AND s.school_year = r.school_year
WHERE r.status = 'published' AND ($1 = '' OR r.level = $1) AND ($2 = 0 OR r.school_year = $2)
ORDER BY r.school_year DESC, r.level, r.round, r.id`

// PublishedRuns returns the published runs of a level and school year
// (either may be empty or 0 for all), latest school year first.
func (d *DB) PublishedRuns(ctx context.Context, level string, schoolYear int) (runs []PublishedRun, err error) {
	defer wrap(&err, "published runs")
	rows, err := d.db.QueryContext(ctx, qPublishedRuns, level, schoolYear)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	runs = []PublishedRun{}
	for rows.Next() {
		var (
			r         PublishedRun
			confirmBy sql.NullTime
			stats     []byte
		)
		if err := rows.Scan(&r.ID, &r.Level, &r.SchoolYear, &r.Round, &r.Mechanism, &r.Scope, &r.Seed, &r.SeedCommitment,
			&r.CommittedAt, &r.PublishedAt, &confirmBy, &stats); err != nil {
			return nil, err
		}
		r.CommittedAt, r.PublishedAt = r.CommittedAt.UTC(), r.PublishedAt.UTC()
		if confirmBy.Valid {
			t := confirmBy.Time.UTC()
			r.ConfirmBy = &t
		}
		r.Stats = stats
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

// Files of a published run.
const (
	FileInstance = "instance"
	FileResult   = "result"
)

const (
	qPublishedInstance = `SELECT instance, instance_encoding FROM placement_runs WHERE id = $1 AND status = 'published'`
	qPublishedResult   = `SELECT result, 'identity' FROM placement_runs WHERE id = $1 AND status = 'published' AND result IS NOT NULL`
)

// PublishedFile returns the instance or result file (FileInstance,
// FileResult) of a published run, exactly the bytes stored, or
// enrollment.ErrNotFound for a run that is not published (a preview is
// nobody's business outside the authority). Publishing keeps the instance
// file itself; a run published while that was not so kept its instance in
// the compact form, from which the file is written again, the same bytes.
func (d *DB) PublishedFile(ctx context.Context, id int64, file string) (b []byte, err error) {
	q := qPublishedInstance
	if file == FileResult {
		q = qPublishedResult
	}
	var encoding string
	err = d.db.QueryRowContext(ctx, q, id).Scan(&b, &encoding)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, enrollment.ErrNotFound
	}
	defer wrap(&err, "%s file of run %d", file, id)
	if err != nil || encoding == "identity" {
		return b, err
	}
	return instanceFile(b)
}
