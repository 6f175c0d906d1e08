package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// Placement runs (issue 9): the lottery seeds, the snapshot a run places,
// the runs with their assignments, and publishing.

// Seed is a level's lottery seed for a school year. Seed is the secret
// itself; callers show it only once RevealedAt is set.
type Seed struct {
	Level      string     `db:"level"`
	SchoolYear int        `db:"school_year"`
	Seed       string     `db:"seed"`
	Commitment string     `db:"commitment"`
	CreatedBy  string     `db:"created_by"`
	CreatedAt  time.Time  `db:"created_at"`
	RevealedAt *time.Time `db:"revealed_at"`
}

// ErrSeedCommitted is returned by CommitSeed when the level and year have
// a seed already: a commitment is made once, or it would commit to nothing.
var ErrSeedCommitted = enrollment.Errorf(enrollment.CodeConflict,
	"Hạt giống bốc thăm của cấp học và năm học này đã được cam kết; không thể thay đổi",
	"a lottery seed is already committed for this level and school year; it cannot change")

// ErrNoSeed is returned when a level and year have no committed seed.
var ErrNoSeed = enrollment.Errorf(enrollment.CodeConflict,
	"Chưa cam kết hạt giống bốc thăm cho cấp học và năm học này (POST /api/v1/placement/seeds)",
	"no lottery seed is committed for this level and school year yet (POST /api/v1/placement/seeds)")

const qCommitSeed = `
INSERT INTO placement_seeds (level, school_year, seed, commitment, created_by) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (level, school_year) DO NOTHING`

// CommitSeed stores a level's seed and its commitment. It returns
// ErrSeedCommitted when one is stored already.
func (d *DB) CommitSeed(ctx context.Context, s Seed) (err error) {
	defer wrap(&err, "commit seed %s/%d", s.Level, s.SchoolYear)
	res, err := d.db.ExecContext(ctx, qCommitSeed, s.Level, s.SchoolYear, s.Seed, s.Commitment, s.CreatedBy)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrSeedCommitted
	}
	return nil
}

const qSeeds = `SELECT level, school_year, seed, commitment, created_by, created_at, revealed_at FROM placement_seeds`

// Seed returns the seed of a level and year, or ErrNoSeed.
func (d *DB) Seed(ctx context.Context, level string, year int) (_ Seed, err error) {
	defer wrap(&err, "seed %s/%d", level, year)
	var s Seed
	err = d.db.GetContext(ctx, &s, qSeeds+` WHERE level = $1 AND school_year = $2`, level, year)
	if errors.Is(err, sql.ErrNoRows) {
		return Seed{}, ErrNoSeed
	}
	return s, err
}

// Seeds returns every seed, by school year (newest first) and level.
func (d *DB) Seeds(ctx context.Context) (_ []Seed, err error) {
	defer wrap(&err, "seeds")
	var out []Seed
	err = d.db.SelectContext(ctx, &out, qSeeds+` ORDER BY school_year DESC, level`)
	return out, err
}

// Offer is a school's offer of a level in a year, as a run places it.
type Offer struct {
	Code  string          `db:"code"`
	Ward  string          `db:"ward_code"`
	Quota int             `db:"quota"`
	Lat   sql.NullFloat64 `db:"lat"`
	Lon   sql.NullFloat64 `db:"lon"`
}

// qArea is the authorities at or below $1, to any depth (16 at most,
// against a cycle entered by mistake).
const qArea = `
WITH RECURSIVE area (code, depth) AS (
    SELECT code, 0 FROM authorities WHERE code = $1
  UNION
    SELECT a.code, area.depth + 1 FROM authorities a JOIN area ON a.parent_code = area.code WHERE area.depth < 16
)`

const qOffers = qArea + `
SELECT s.code, s.ward_code, o.quota, s.lat, s.lon
FROM school_offers o JOIN schools s ON s.code = o.school_code JOIN wards w ON w.code = s.ward_code
WHERE o.level = $2 AND o.school_year = $3 AND ($1 = '' OR w.authority_code IN (SELECT code FROM area))
ORDER BY s.code`

// ScopeOffers returns the offers of a level and year of the schools in scope:
// those whose ward belongs to the authority scope or one below it, or
// every school for the empty scope (the city).
func (d *DB) ScopeOffers(ctx context.Context, scope, level string, year int) (_ []Offer, err error) {
	defer wrap(&err, "offers %s/%d in %q", level, year, scope)
	var out []Offer
	err = d.db.SelectContext(ctx, &out, qOffers, scope, level, year)
	return out, err
}

// Catchment is one zone of a school's catchment: a whole ward, or the
// listed residential groups of it.
type Catchment struct {
	School string         `db:"school_code"`
	Ward   string         `db:"ward_code"`
	Groups pq.StringArray `db:"groups"`
}

const qCatchments = `
SELECT school_code, ward_code, groups FROM catchment_zones WHERE level = $1 AND school_year = $2
ORDER BY school_code, ward_code`

// Catchments returns the catchment zones of every school for a level and
// year.
func (d *DB) Catchments(ctx context.Context, level string, year int) (_ []Catchment, err error) {
	defer wrap(&err, "catchments %s/%d", level, year)
	var out []Catchment
	err = d.db.SelectContext(ctx, &out, qCatchments, level, year)
	return out, err
}

// Ward is a ward with its residential groups and its centroid, where a run
// places its residents.
type Ward struct {
	Code   string          `db:"code"`
	Groups pq.StringArray  `db:"groups"`
	Lat    sql.NullFloat64 `db:"lat"`
	Lon    sql.NullFloat64 `db:"lon"`
}

// Wards returns every ward.
func (d *DB) Wards(ctx context.Context) (_ []Ward, err error) {
	defer wrap(&err, "wards")
	var out []Ward
	err = d.db.SelectContext(ctx, &out, `SELECT code, groups, lat, lon FROM wards ORDER BY code`)
	return out, err
}

// Applicant is what a run reads of an application: never a name, an ID
// number or an address.
type Applicant struct {
	ID             string
	TrackingCode   string
	Status         enrollment.Status
	Choices        []string
	PermanentWard  string
	PermanentGroup string
	CurrentWard    string
	CurrentGroup   string
	PriorityGroup  int
	// PlacedRunID and PlacedSchool are the published run that last placed
	// the application and the school it gave (empty for none).
	PlacedRunID  int64
	PlacedSchool string
}

// qApplicants reads the choices as one space-separated text (school codes
// hold no spaces): parsing 150,000 arrays in the client took longer than
// placing the children. The school of an application's published run is
// looked up only for the applications that have one.
const qApplicants = `
SELECT a.id, a.tracking_code, a.status, array_to_string(a.choices, ' '), a.permanent_ward, a.permanent_group,
    a.current_ward, a.current_group, a.priority_group, COALESCE(a.placed_run_id, 0),
    CASE WHEN a.placed_run_id IS NULL THEN '' ELSE COALESCE((SELECT pa.school_code FROM placement_assignments pa
        WHERE pa.run_id = a.placed_run_id AND pa.application_id = a.id), '') END
FROM applications a
WHERE a.level = $1 AND a.school_year = $2 AND a.status = ANY($3)`

// PlacementApplicants returns the applications of a level and year in the given
// states, with where a published run placed them.
func (d *DB) PlacementApplicants(ctx context.Context, level string, year int, states []enrollment.Status) (_ []Applicant, err error) {
	defer wrap(&err, "applicants %s/%d", level, year)
	st := make([]string, len(states))
	for i, s := range states {
		st[i] = string(s)
	}
	rows, err := d.db.QueryContext(ctx, qApplicants, level, year, pq.StringArray(st))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Applicant
	var choices string
	for rows.Next() {
		var a Applicant
		if err := rows.Scan(&a.ID, &a.TrackingCode, &a.Status, &choices, &a.PermanentWard, &a.PermanentGroup,
			&a.CurrentWard, &a.CurrentGroup, &a.PriorityGroup, &a.PlacedRunID, &a.PlacedSchool); err != nil {
			return nil, err
		}
		a.Choices = strings.Fields(choices)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Run is a placement run without its files.
type Run struct {
	ID             int64           `db:"id" json:"id"`
	Level          string          `db:"level" json:"level"`
	SchoolYear     int             `db:"school_year" json:"school_year"`
	Round          int             `db:"round" json:"round"`
	Mechanism      string          `db:"mechanism" json:"mechanism"`
	Include        string          `db:"include" json:"include"`
	Scope          string          `db:"scope" json:"scope"`
	Status         string          `db:"status" json:"status"`
	SeedCommitment string          `db:"seed_commitment" json:"seed_commitment"`
	Stats          json.RawMessage `db:"stats" json:"stats"`
	ConfirmBy      *time.Time      `db:"confirm_by" json:"confirm_by,omitempty"`
	CreatedBy      string          `db:"created_by" json:"created_by"`
	CreatedAt      time.Time       `db:"created_at" json:"created_at"`
	PublishedBy    *string         `db:"published_by" json:"published_by,omitempty"`
	PublishedAt    *time.Time      `db:"published_at" json:"published_at,omitempty"`
}

// Run statuses.
const (
	RunPreview   = "preview"
	RunPublished = "published"
)

// Assignment is one application's line of a run (placement_assignments).
// School is empty for an unassigned child; DistanceKm counts only for an
// administrative placement.
type Assignment struct {
	ApplicationID string
	Pseudonym     string
	School        string
	ChoiceRank    int
	Via           string
	DistanceKm    float64
	Lottery       string
}

const runColumns = `id, level, school_year, round, mechanism, include, scope, status, seed_commitment, stats, confirm_by,
    created_by, created_at, published_by, published_at`

// The files are JSON (UTF-8) and travel as text, turned into bytes by
// the server: a bytea parameter travels hex-encoded, twice its size, and
// encoding and decoding tens of megabytes cost more than placing them.
const qInsertRun = `
INSERT INTO placement_runs (level, school_year, round, mechanism, include, scope, seed_commitment, instance, result, stats,
    confirm_by, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, convert_to($8, 'UTF8'), convert_to($9, 'UTF8'), $10, $11, $12)
RETURNING ` + runColumns

// The explanations are left to their default, []: a preview has none
// (see package placement), and publishing writes them.
const qCopyAssignments = `copy placement_assignments (run_id, application_id, pseudonym, school_code, choice_rank, via,
    distance_km, lottery) from stdin`

// InsertRun stores a run (a preview), its instance file (JSON text), its result file
// when given (nil: kept NULL until publishing) and, by COPY, its
// assignments, which each calls yield with in turn, all in one
// transaction. It returns the run as stored.
func (d *DB) InsertRun(ctx context.Context, r Run, instance string, result []byte, each func(yield func(Assignment) error) error) (_ Run, err error) {
	defer wrap(&err, "insert run %s/%d round %d", r.Level, r.SchoolYear, r.Round)
	// One connection of our own: the lines go to the driver's COPY stream
	// as raw text (copyLines), inside the transaction begun on it. Inserts
	// at read committed meet no serialization failure: no retry is needed.
	conn, err := d.db.Connx(ctx)
	if err != nil {
		return Run{}, err
	}
	defer conn.Close()
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return Run{}, fmt.Errorf("begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	// A preview is derived data an officer makes again at will: its
	// commit does not wait for the disk (tens of megabytes of WAL). A
	// crash in the next fraction of a second may lose the whole run,
	// never half of it; publishing commits durably as ever.
	if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return Run{}, err
	}
	var res any
	if result != nil {
		res = string(result)
	}
	var out Run
	if err := tx.GetContext(ctx, &out, qInsertRun, r.Level, r.SchoolYear, r.Round, r.Mechanism, r.Include, r.Scope,
		r.SeedCommitment, instance, res, []byte(r.Stats), r.ConfirmBy, r.CreatedBy); err != nil {
		return Run{}, err
	}
	if err := copyLines(ctx, conn, out.ID, each); err != nil {
		return Run{}, fmt.Errorf("copy assignments: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Run{}, fmt.Errorf("commit: %w", err)
	}
	committed = true
	return out, nil
}

// copyData is lib/pq's COPY statement taking raw lines of COPY's text
// format.
type copyData interface {
	CopyData(ctx context.Context, line string) (driver.Result, error)
}

// copyLines writes a run's lines into placement_assignments by COPY on
// conn (in its transaction), formatted here in COPY's text format and
// handed to the driver 64 kB at a time: through database/sql, each line's
// eight values were checked and converted one by one, which cost more
// than placing the children.
func copyLines(ctx context.Context, conn *sqlx.Conn, id int64, each func(yield func(Assignment) error) error) error {
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("driver %T cannot prepare a COPY", dc)
		}
		st, err := pc.PrepareContext(ctx, qCopyAssignments)
		if err != nil {
			return err
		}
		defer st.Close()
		cd, ok := st.(copyData)
		if !ok {
			return fmt.Errorf("driver statement %T takes no raw COPY lines", st)
		}
		buf := make([]byte, 0, 1<<16+512)
		flush := func() error {
			if len(buf) == 0 {
				return nil
			}
			// CopyData ends the text with a newline itself.
			_, err := cd.CopyData(ctx, string(buf[:len(buf)-1]))
			buf = buf[:0]
			return err
		}
		err = each(func(a Assignment) error {
			buf = appendLine(buf, id, &a)
			if len(buf) >= 1<<16 {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return err
		}
		// Ends the COPY and reports what the server refused. lib/pq's COPY
		// statement has no ExecContext: Exec without values is how it ends.
		//lint:ignore SA1019 the only way lib/pq ends a COPY
		_, err = st.Exec(nil)
		return err
	})
}

// appendLine appends a's line of COPY text format (columns as in
// qCopyAssignments), ending in a newline.
func appendLine(b []byte, id int64, a *Assignment) []byte {
	b = strconv.AppendInt(b, id, 10)
	b = append(b, '\t')
	b = appendCopyText(b, a.ApplicationID)
	b = append(b, '\t')
	b = appendCopyText(b, a.Pseudonym)
	b = append(b, '\t')
	if a.School == "" {
		b = append(b, `\N`...)
	} else {
		b = appendCopyText(b, a.School)
	}
	b = append(b, '\t')
	b = strconv.AppendInt(b, int64(a.ChoiceRank), 10)
	b = append(b, '\t')
	b = appendCopyText(b, a.Via)
	b = append(b, '\t')
	if a.Via == "administrative" {
		b = strconv.AppendFloat(b, a.DistanceKm, 'g', -1, 64)
	} else {
		b = append(b, `\N`...)
	}
	b = append(b, '\t')
	b = appendCopyText(b, a.Lottery)
	return append(b, '\n')
}

// appendCopyText appends s escaped for COPY's text format.
func appendCopyText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '\t':
			b = append(b, `\t`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// ErrNoRun is the answer for a run that does not exist (or that the
// caller may not see).
var ErrNoRun = enrollment.Errorf(enrollment.CodeNotFound, "Không tìm thấy lượt phân tuyến này", "no such placement run")

// Run returns one run, or ErrNoRun.
func (d *DB) Run(ctx context.Context, id int64) (_ Run, err error) {
	defer wrap(&err, "run %d", id)
	var r Run
	err = d.db.GetContext(ctx, &r, `SELECT `+runColumns+` FROM placement_runs WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, ErrNoRun
	}
	return r, err
}

// Runs returns the runs of a level and year, oldest first; an empty level
// or a zero year matches all.
func (d *DB) Runs(ctx context.Context, level string, year int) (_ []Run, err error) {
	defer wrap(&err, "runs %s/%d", level, year)
	const q = `SELECT ` + runColumns + ` FROM placement_runs
WHERE ($1 = '' OR level = $1) AND ($2 = 0 OR school_year = $2) ORDER BY id`
	out := []Run{}
	err = d.db.SelectContext(ctx, &out, q, level, year)
	return out, err
}

// RunFile returns a run's instance file (result false) or result file
// (result true), as the engine reads and writes them. A preview's result
// file is nil: it is kept from publishing on.
func (d *DB) RunFile(ctx context.Context, id int64, result bool) (_ []byte, err error) {
	defer wrap(&err, "run %d file", id)
	// As text, for the reason given at qInsertRun.
	q := `SELECT convert_from(instance, 'UTF8') FROM placement_runs WHERE id = $1`
	if result {
		q = `SELECT convert_from(result, 'UTF8') FROM placement_runs WHERE id = $1`
	}
	var b []byte
	err = d.db.QueryRowContext(ctx, q, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoRun
	}
	return b, err
}

// RunAssignments calls fn with each assignment of a run in the order of
// its pseudonyms.
func (d *DB) RunAssignments(ctx context.Context, id int64, fn func(Assignment) error) (err error) {
	defer wrap(&err, "assignments of run %d", id)
	const q = `
SELECT application_id, pseudonym, COALESCE(school_code, ''), choice_rank, via, COALESCE(distance_km, 0), lottery
FROM placement_assignments WHERE run_id = $1 ORDER BY pseudonym`
	rows, err := d.db.QueryContext(ctx, q, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var a Assignment
		if err := rows.Scan(&a.ApplicationID, &a.Pseudonym, &a.School, &a.ChoiceRank, &a.Via, &a.DistanceKm, &a.Lottery); err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Differences counts the applications whose school differs between the
// runs (or that some of the runs leave out), and returns up to sample of
// their pseudonyms, smallest first.
func (d *DB) Differences(ctx context.Context, ids []int64, sample int) (count int, pseudonyms []string, err error) {
	defer wrap(&err, "differences of runs %v", ids)
	const q = `
WITH diff AS (
    SELECT min(pseudonym) AS pseudonym FROM placement_assignments WHERE run_id = ANY($1)
    GROUP BY application_id
    HAVING count(*) < $2 OR count(DISTINCT COALESCE(school_code, '')) > 1
)
SELECT (SELECT count(*) FROM diff), COALESCE((SELECT array_agg(pseudonym) FROM (SELECT pseudonym FROM diff ORDER BY pseudonym LIMIT $3) s), '{}')`
	var sampled pq.StringArray
	err = d.db.QueryRowContext(ctx, q, pq.Int64Array(ids), len(ids), sample).Scan(&count, &sampled)
	return count, []string(sampled), err
}

// Publication is what publishing a run does besides marking it: who
// publishes, and, for a later round, which placed applications missed
// their confirmation deadline (they move to declined with Reason).
type Publication struct {
	Actor enrollment.Actor
	// Allowed are the states the run's applications must still be in:
	// the states the run read them in.
	Allowed []enrollment.Status
	// Missed are the applications a later round freed the seats of,
	// placed and unconfirmed after the deadline; MissedReason is why.
	Missed       []string
	MissedReason string
	// Result is the run's result file, kept from now on; Explanations
	// calls yield with the explanations (a JSON array) of each child of
	// the run who has any, by pseudonym.
	Result       []byte
	Explanations func(yield func(pseudonym string, explanations []byte) error) error
}

// ErrPublished is the answer to publishing a level, year and round that
// has a published run already, or a run published already.
var ErrPublished = enrollment.Errorf(enrollment.CodeConflict,
	"Đã công bố một lượt phân tuyến cho cấp học, năm học và vòng này; kết quả đã công bố không thể thay đổi",
	"a placement run is already published for this level, school year and round; a published result cannot change")

// errChanged is the answer when applications moved since the run read
// them: publishing it would place children on stale data.
func errChanged(n int) *enrollment.Error {
	return enrollment.Errorf(enrollment.CodeConflict,
		fmt.Sprintf("Có %d hồ sơ đã thay đổi trạng thái sau khi chạy lượt phân tuyến này; hãy chạy lượt mới rồi công bố", n),
		fmt.Sprintf("%d applications changed state after this run was made; make a new run and publish that", n))
}

const (
	qLockRun      = `SELECT ` + runColumns + ` FROM placement_runs WHERE id = $1 FOR UPDATE`
	qPublishedFor = `SELECT count(*) FROM placement_runs WHERE level = $1 AND school_year = $2 AND round = $3 AND status = 'published'`
	// The run's applications, locked in one order so that two publishes
	// never deadlock, counted where their state is not one the run read.
	qLockApplications = `
SELECT count(*) FILTER (WHERE NOT (a.status = ANY($2))) FROM (
    SELECT a.status FROM applications a JOIN placement_assignments pa ON pa.application_id = a.id
    WHERE pa.run_id = $1 AND pa.via <> 'kept' ORDER BY a.id FOR UPDATE OF a
) a`
	qPublishEvents = `
INSERT INTO application_events (application_id, status, actor, actor_role, from_status, to_status, reason)
SELECT a.id, t.to_status, $2, $3, a.status, t.to_status, $4
FROM applications a JOIN placement_assignments pa ON pa.application_id = a.id,
    LATERAL (SELECT CASE WHEN pa.school_code IS NULL THEN 'unplaced' ELSE 'placed' END AS to_status) t
WHERE pa.run_id = $1 AND pa.via <> 'kept'`
	qPublishApplications = `
UPDATE applications a SET status = CASE WHEN pa.school_code IS NULL THEN 'unplaced' ELSE 'placed' END,
    placed_run_id = pa.run_id, status_reason = ''
FROM placement_assignments pa WHERE pa.run_id = $1 AND pa.application_id = a.id AND pa.via <> 'kept'`
	qMissedLock = `SELECT count(*) FILTER (WHERE status <> 'placed') FROM (
    SELECT status FROM applications WHERE id = ANY($1) ORDER BY id FOR UPDATE) a`
	qMissedEvents = `
INSERT INTO application_events (application_id, status, actor, actor_role, from_status, to_status, reason)
SELECT id, 'declined', $2, $3, 'placed', 'declined', $4 FROM applications WHERE id = ANY($1)`
	qMissed     = `UPDATE applications SET status = 'declined', status_reason = $2 WHERE id = ANY($1)`
	qMarkRun    = `UPDATE placement_runs SET status = 'published', published_by = $2, published_at = now(), result = convert_to($3, 'UTF8') WHERE id = $1`
	qExplTemp   = `CREATE TEMPORARY TABLE IF NOT EXISTS incoming_explanations (pseudonym text, explanations jsonb) ON COMMIT DELETE ROWS`
	qExplCopy   = `copy incoming_explanations (pseudonym, explanations) from stdin`
	qExplUpdate = `UPDATE placement_assignments pa SET explanations = e.explanations FROM incoming_explanations e
WHERE pa.run_id = $1 AND pa.pseudonym = e.pseudonym`
	qRevealSeed  = `UPDATE placement_seeds SET revealed_at = now() WHERE level = $1 AND school_year = $2 AND revealed_at IS NULL`
	publishEvent = "Kết quả phân tuyến đã công bố (lượt %d) / placement published (run %d)"
)

// Publish publishes a run in one transaction: every application of the
// run moves to placed or unplaced with the run as its placed_run_id and an
// application_events row, the missed deadlines of p move to declined, the
// seed is revealed and the run becomes published, immutable. A failure
// anywhere publishes nothing. check, called under the run's lock, may
// refuse (its error is returned as it is). It returns ErrNoRun,
// ErrPublished for a run already published or a level, year and round
// with a published run, and a conflict when applications changed state
// since the run read them.
func (d *DB) Publish(ctx context.Context, id int64, p Publication, check func(Run) error) (_ Run, err error) {
	defer wrap(&err, "publish run %d", id)
	var r Run
	err = d.Transact(ctx, 0, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &r, qLockRun, id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNoRun
			}
			return err
		}
		if check != nil {
			if err := check(r); err != nil {
				return err
			}
		}
		if r.Status == RunPublished {
			return ErrPublished
		}
		// Serializes the publishes of one level, year and round: the
		// second waits here and then finds the first's run.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`,
			fmt.Sprintf("publish/%s/%d/%d", r.Level, r.SchoolYear, r.Round)); err != nil {
			return err
		}
		var n int
		if err := tx.GetContext(ctx, &n, qPublishedFor, r.Level, r.SchoolYear, r.Round); err != nil {
			return err
		}
		if n > 0 {
			return ErrPublished
		}
		allowed := make([]string, len(p.Allowed))
		for i, s := range p.Allowed {
			allowed[i] = string(s)
		}
		if err := tx.GetContext(ctx, &n, qLockApplications, id, pq.StringArray(allowed)); err != nil {
			return err
		}
		if n > 0 {
			return errChanged(n)
		}
		if len(p.Missed) > 0 {
			if err := tx.GetContext(ctx, &n, qMissedLock, pq.StringArray(p.Missed)); err != nil {
				return err
			}
			if n > 0 {
				return errChanged(n)
			}
		}
		if p.Explanations != nil {
			if err := copyExplanations(ctx, tx, id, p.Explanations); err != nil {
				return err
			}
		}
		actor, role := p.Actor.Name, string(p.Actor.Role)
		steps := []struct {
			q    string
			args []any
		}{
			{qPublishEvents, []any{id, actor, role, fmt.Sprintf(publishEvent, id, id)}},
			{qPublishApplications, []any{id}},
			{qMissedEvents, []any{pq.StringArray(p.Missed), actor, role, p.MissedReason}},
			{qMissed, []any{pq.StringArray(p.Missed), p.MissedReason}},
			{qMarkRun, []any{id, actor, string(p.Result)}},
			{qRevealSeed, []any{r.Level, r.SchoolYear}},
		}
		for i, st := range steps {
			if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
				var pqErr *pq.Error
				if errors.As(err, &pqErr) && pqErr.Code == "23505" {
					return ErrPublished
				}
				return fmt.Errorf("step %s: %w", strconv.Itoa(i+1), err)
			}
		}
		return tx.GetContext(ctx, &r, `SELECT `+runColumns+` FROM placement_runs WHERE id = $1`, id)
	})
	return r, err
}

// copyExplanations writes the explanations of a run's children: COPY into
// a temporary table, then one UPDATE.
func copyExplanations(ctx context.Context, tx *sqlx.Tx, id int64, each func(yield func(string, []byte) error) error) error {
	if _, err := tx.ExecContext(ctx, qExplTemp); err != nil {
		return fmt.Errorf("explanations: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, qExplCopy)
	if err != nil {
		return fmt.Errorf("explanations: %w", err)
	}
	defer stmt.Close()
	err = each(func(p string, e []byte) error {
		_, err := stmt.ExecContext(ctx, p, string(e))
		return err
	})
	if err == nil {
		_, err = stmt.ExecContext(ctx)
	}
	if err == nil {
		err = stmt.Close()
	}
	if err == nil {
		_, err = tx.ExecContext(ctx, qExplUpdate, id)
	}
	if err != nil {
		return fmt.Errorf("explanations: %w", err)
	}
	return nil
}

// PublishedRun returns the published run of a level, year and round, or
// ErrNoRun.
func (d *DB) PublishedRun(ctx context.Context, level string, year, round int) (_ Run, err error) {
	defer wrap(&err, "published run %s/%d round %d", level, year, round)
	var r Run
	err = d.db.GetContext(ctx, &r, `SELECT `+runColumns+` FROM placement_runs
WHERE level = $1 AND school_year = $2 AND round = $3 AND status = 'published'`, level, year, round)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, ErrNoRun
	}
	return r, err
}

// WindowConfirmBy returns the confirmation deadline of a level's window,
// if it has one.
func (d *DB) WindowConfirmBy(ctx context.Context, level string, year int) (_ *time.Time, err error) {
	defer wrap(&err, "confirmation deadline %s/%d", level, year)
	var t *time.Time
	err = d.db.QueryRowContext(ctx, `SELECT confirm_by FROM windows WHERE level = $1 AND school_year = $2`, level, year).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return t, err
}
