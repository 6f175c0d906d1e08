package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/sync/errgroup"

	"github.com/tuyensinh/tuyensinh/allocation"
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

// qApplicants reads each application as one line of tab-separated
// fields, the choices space-separated within theirs (codes, wards and
// groups hold neither): the client then keeps one string a child, every
// field a part of it, where a column each cost a string each, and reading
// 150,000 rows took longer than placing the children. The school of an
// application's published run is looked up only for the applications
// that have one.
const qApplicants = `
SELECT concat_ws(E'\t', a.id, a.tracking_code, a.status, array_to_string(a.choices, ' '), a.permanent_ward,
    a.permanent_group, a.current_ward, a.current_group, a.priority_group, COALESCE(a.placed_run_id, 0),
    CASE WHEN a.placed_run_id IS NULL THEN '' ELSE COALESCE((SELECT pa.school_code FROM placement_assignments pa
        WHERE pa.run_id = a.placed_run_id AND pa.application_id = a.id), '') END)
FROM applications a
WHERE a.level = $1 AND a.school_year = $2 AND a.status = ANY($3)`

// PlacementApplicants returns the applications of a level and year in the given
// states, with where a published run placed them: for a later round, the
// children a published run placed (kept, holding their seat, or freeing
// it). The children a run places are read by PlacementLines.
func (d *DB) PlacementApplicants(ctx context.Context, level string, year int, states []enrollment.Status) (_ []Applicant, err error) {
	defer wrap(&err, "applicants %s/%d", level, year)
	rows, err := d.db.QueryContext(ctx, qApplicants, level, year, statusArray(states))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// Read into blocks, then copied once into a slice of the exact size:
	// growing one slice of 150,000 applicants by doubling copied and
	// scanned tens of megabytes again and again.
	var blocks [][]Applicant
	block := make([]Applicant, 0, 1<<12)
	// The choices of all share one array, three a child as a rule.
	var choices []string
	var raw sql.RawBytes
	var f [11]string
	for rows.Next() {
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		line := string(raw)
		n := 0
		for n < len(f)-1 {
			i := strings.IndexByte(line, '\t')
			if i < 0 {
				break
			}
			f[n], line = line[:i], line[i+1:]
			n++
		}
		f[n] = line
		if n != len(f)-1 {
			return nil, fmt.Errorf("applicant line of %d fields, want %d", n+1, len(f))
		}
		a := Applicant{ID: f[0], TrackingCode: f[1], Status: enrollment.Status(f[2]), PermanentWard: f[4], PermanentGroup: f[5],
			CurrentWard: f[6], CurrentGroup: f[7], PlacedSchool: f[10]}
		if a.PriorityGroup, err = strconv.Atoi(f[8]); err != nil {
			return nil, fmt.Errorf("priority group: %w", err)
		}
		if a.PlacedRunID, err = strconv.ParseInt(f[9], 10, 64); err != nil {
			return nil, fmt.Errorf("placed run: %w", err)
		}
		if cap(choices)-len(choices) < 8 {
			choices = make([]string, 0, 3<<12)
		}
		start := len(choices)
		for c := range strings.FieldsSeq(f[3]) {
			choices = append(choices, c)
		}
		a.Choices = choices[start:len(choices):len(choices)]
		if len(block) == cap(block) {
			blocks = append(blocks, block)
			block = make([]Applicant, 0, 2*cap(block))
		}
		block = append(block, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	n := len(block)
	for _, b := range blocks {
		n += len(b)
	}
	out := make([]Applicant, 0, n)
	for _, b := range blocks {
		out = append(out, b...)
	}
	return append(out, block...), nil
}

// statusArray is states as a text[] parameter.
func statusArray(states []enrollment.Status) pq.StringArray {
	st := make(pq.StringArray, len(states))
	for i, s := range states {
		st[i] = string(s)
	}
	return st
}

// qPlacementLines reads the line each application keeps for placement
// (migrations/00015_placement_line.sql): stored text, sent as it is.
const qPlacementLines = `
SELECT placement_line FROM applications WHERE level = $1 AND school_year = $2 AND status = ANY($3)`

// EstimatePlacementLines returns PostgreSQL's estimate of the number of
// lines PlacementLines gives, from the table's statistics, without
// reading them; 0 when it has none.
func (d *DB) EstimatePlacementLines(ctx context.Context, level string, year int, states []enrollment.Status) (_ int, err error) {
	defer wrap(&err, "estimate placement lines %s/%d", level, year)
	var plan []byte
	if err := d.db.QueryRowContext(ctx, `EXPLAIN (FORMAT JSON) `+qPlacementLines, level, year, statusArray(states)).Scan(&plan); err != nil {
		return 0, err
	}
	var out []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	if err := json.Unmarshal(plan, &out); err != nil || len(out) == 0 {
		return 0, err
	}
	return int(min(out[0].Plan.Rows, 1<<24)), nil
}

// PlacementLines calls fn with the placement line of every application of
// a level and year in the given states, in no particular order: its
// tracking code and the fields the engine places by, tab-separated
// (migrations/00015_placement_line.sql). line is valid until fn returns.
//
// The lines are read in parts at once, each part a range of the table's
// pages read by a connection of its own and handed to fn(part, line) by a
// goroutine of its own: one part's calls come one after another, the
// parts' at the same time. All parts read one snapshot of the database
// (pg_export_snapshot), so every application is read once, as it was at
// one moment, even while others change it.
//
// It returns the snapshot's mark: PlacementChanges(mark) gives every
// application that changed since (and perhaps a few that did not).
func (d *DB) PlacementLines(ctx context.Context, level string, year int, states []enrollment.Status, parts int,
	fn func(part int, line []byte) error) (mark uint64, err error) {
	defer wrap(&err, "placement lines %s/%d", level, year)
	// Every part holds a connection until all are read: never more parts
	// than the pool has connections, or the last would wait for ever.
	if m := d.db.Stats().MaxOpenConnections; m > 0 {
		parts = min(parts, m)
	}
	parts = max(parts, 1)
	opts := &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	first, err := d.db.BeginTxx(ctx, opts)
	if err != nil {
		return 0, err
	}
	defer first.Rollback()
	var snapshot string
	var pages int64
	err = first.QueryRowContext(ctx, `SELECT `+qMark+`, pg_export_snapshot(),
    pg_relation_size('applications') / current_setting('block_size')::bigint`).Scan(&mark, &snapshot, &pages)
	if err != nil {
		return 0, err
	}
	txs := []*sqlx.Tx{first}
	for range parts - 1 {
		tx, err := d.db.BeginTxx(ctx, opts)
		if err != nil {
			return 0, err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `SET TRANSACTION SNAPSHOT '`+snapshot+`'`); err != nil {
			return 0, err
		}
		txs = append(txs, tx)
	}
	g, gctx := errgroup.WithContext(ctx)
	for k, tx := range txs {
		q, args := qPlacementLines, []any{level, year, statusArray(states)}
		if parts > 1 {
			// Pages [from, to); the last part reads to the end.
			from, to := pages*int64(k)/int64(parts), pages*int64(k+1)/int64(parts)
			q += fmt.Sprintf(` AND ctid >= '(%d,0)'::tid`, from)
			if k < parts-1 {
				q += fmt.Sprintf(` AND ctid < '(%d,0)'::tid`, to)
			}
		}
		g.Go(func() error {
			rows, err := tx.QueryContext(gctx, q, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			var raw sql.RawBytes
			for rows.Next() {
				if err := rows.Scan(&raw); err != nil {
					return err
				}
				if err := fn(k, raw); err != nil {
					return err
				}
			}
			return rows.Err()
		})
	}
	return mark, g.Wait()
}

// qMark is the mark of the snapshot a statement reads in: the oldest
// transaction still running as it began (migrations/00018).
const qMark = `pg_snapshot_xmin(pg_current_snapshot())::text::numeric::bigint`

// qPlacementChanges gives the applications written since a mark, and the
// removed ones: the status "" and a line of the tracking code alone, or
// of nothing when the table was emptied (migrations/00018).
const qPlacementChanges = `
SELECT '' AS status, tracking_code AS line FROM application_removals
WHERE (level = $1 AND school_year = $2 OR level = '') AND line_xid >= $3::text::xid8
UNION ALL
SELECT status, placement_line FROM applications WHERE level = $1 AND school_year = $2 AND line_xid >= $3::text::xid8`

// PlacementChanges calls fn with the placement line and state of every
// application of a level and year written since mark (a mark
// PlacementLines or PlacementChanges returned), and of a few perhaps
// unchanged; and with the tracking code of every application removed
// from the level and year since, status "" (one removed and stored again
// comes twice), in no particular order; a removal of no tracking code
// says the table was emptied (TRUNCATE): every application may be gone.
// It returns the mark to ask from next time. All are read in one
// snapshot.
func (d *DB) PlacementChanges(ctx context.Context, level string, year int, since uint64,
	fn func(status enrollment.Status, line []byte) error) (mark uint64, err error) {
	defer wrap(&err, "placement changes of %s/%d since %d", level, year, since)
	tx, err := d.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT `+qMark).Scan(&mark); err != nil {
		return 0, err
	}
	rows, err := tx.QueryContext(ctx, qPlacementChanges, level, year, strconv.FormatUint(since, 10))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var status string
	var line sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&status, &line); err != nil {
			return 0, err
		}
		if err := fn(enrollment.Status(status), line); err != nil {
			return 0, err
		}
	}
	return mark, rows.Err()
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
	// Explanations are the engine's (a JSON array), written at
	// publishing.
	Explanations []byte
}

const runColumns = `id, level, school_year, round, mechanism, include, scope, status, seed_commitment, stats, confirm_by,
    created_by, created_at, published_by, published_at`

// The instance travels in its compact form (snapshot.go); the result
// file, kept from publishing on, as text turned into bytes by the server:
// a bytea parameter travels hex-encoded, twice its size, and encoding and
// decoding tens of megabytes cost more than placing them.
const qInsertRun = `
INSERT INTO placement_runs (level, school_year, round, mechanism, include, scope, seed_commitment, instance,
    instance_encoding, kept, stats, confirm_by, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'chunked', $9, '{}', $10, $11)
RETURNING id`

// The chunks of a compact instance are kept once for all the runs that
// hold them (migrations/00017_placement_input_chunks.sql): sent only when
// no run has kept them yet, inputsPerStatement to a statement.
const inputsPerStatement = 16

const (
	qInputsKept = `SELECT digest FROM placement_inputs WHERE digest = ANY($1)`
	qRunInputs  = `INSERT INTO placement_run_inputs (run_id, seq, digest)
SELECT $1, t.seq, t.digest FROM unnest($2::bytea[]) WITH ORDINALITY AS t (digest, seq)`
)

// keptLine is a kept child's line as placement_runs.kept holds it.
type keptLine struct {
	ApplicationID string `json:"application_id"`
	Pseudonym     string `json:"pseudonym"`
	School        string `json:"school"`
	ChoiceRank    int    `json:"choice_rank"`
	Lottery       string `json:"lottery"`
}

// InsertRun stores a run, a preview: StartRun, then Commit with r.Stats.
func (d *DB) InsertRun(ctx context.Context, r Run, inst *allocation.Instance, kept []Assignment) (Run, error) {
	p := d.StartRun(ctx, r, inst, kept)
	return p.Commit(ctx, r.Mechanism, r.Stats)
}

// PendingRun is a run being stored: its instance is written while the
// engine places it, and the run is committed with its figures.
type PendingRun struct {
	run  Run
	done chan struct{}
	tx   *sqlx.Tx
	id   int64
	err  error
}

// StartRun begins storing a run, a preview: its row, its instance (in the
// compact form of snapshot.go) and, for a later round, the lines of the
// children who keep their school (Via "kept"), in a transaction of its
// own, while the caller places the instance; Commit adds the figures and
// commits, Abort gives up. The other children's lines are written by
// Publish; until then they are a function of the instance. A preview is
// derived data an officer makes again at will: its commit does not wait
// for the disk. A crash in the next fraction of a second may lose the
// whole run, never half of it; publishing commits durably as ever.
func (d *DB) StartRun(ctx context.Context, r Run, inst *allocation.Instance, kept []Assignment) *PendingRun {
	p := &PendingRun{run: r, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.tx, p.id, p.err = d.startRun(ctx, r, inst, kept)
	}()
	return p
}

func (d *DB) startRun(ctx context.Context, r Run, inst *allocation.Instance, keep []Assignment) (_ *sqlx.Tx, id int64, err error) {
	head, chunks, err := encodeChunks(inst)
	if err != nil {
		return nil, 0, fmt.Errorf("instance: %w", err)
	}
	digests := make(pq.ByteaArray, len(chunks))
	for i, c := range chunks {
		d := sha256.Sum256(c)
		digests[i] = d[:]
	}
	lines := make([]keptLine, len(keep))
	for i, k := range keep {
		lines[i] = keptLine{ApplicationID: k.ApplicationID, Pseudonym: k.Pseudonym, School: k.School, ChoiceRank: k.ChoiceRank, Lottery: k.Lottery}
	}
	keptJSON, err := json.Marshal(lines)
	if err != nil {
		return nil, 0, fmt.Errorf("kept: %w", err)
	}
	// Through the binary handle, if any, every []byte parameter is sent
	// as the bytes of its column's type: the bytea ones as they are, the
	// jsonb ones go as text.
	db := d.db
	if d.binary != nil {
		db = d.binary
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, 0, err
	}
	var kept [][]byte
	_, err = tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`)
	if err == nil {
		err = tx.SelectContext(ctx, &kept, qInputsKept, digests)
	}
	have := make(map[string]bool, len(kept))
	for _, k := range kept {
		have[string(k)] = true
	}
	// The chunks not kept yet, a few to a statement.
	var q strings.Builder
	var args []any
	insert := func() {
		if len(args) > 0 && err == nil {
			_, err = tx.ExecContext(ctx, `INSERT INTO placement_inputs (digest, body) VALUES `+q.String()+
				` ON CONFLICT (digest) DO NOTHING`, args...)
		}
		q.Reset()
		args = args[:0]
	}
	for i := range chunks {
		if have[string(digests[i])] {
			continue
		}
		have[string(digests[i])] = true
		if len(args) > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "($%d, $%d)", len(args)+1, len(args)+2)
		args = append(args, digests[i], chunks[i])
		if len(args) == 2*inputsPerStatement {
			insert()
		}
	}
	insert()
	if err == nil {
		err = tx.GetContext(ctx, &id, qInsertRun, r.Level, r.SchoolYear, r.Round, r.Mechanism, r.Include, r.Scope,
			r.SeedCommitment, head, string(keptJSON), r.ConfirmBy, r.CreatedBy)
	}
	if err == nil {
		_, err = tx.ExecContext(ctx, qRunInputs, id, digests)
	}
	if err != nil {
		tx.Rollback()
		return nil, 0, err
	}
	return tx, id, nil
}

// Commit stores the run's mechanism (as the engine names it) and figures
// and commits it. It returns the run as stored.
func (p *PendingRun) Commit(ctx context.Context, mechanism string, stats json.RawMessage) (_ Run, err error) {
	r := p.run
	defer wrap(&err, "insert run %s/%d round %d", r.Level, r.SchoolYear, r.Round)
	<-p.done
	if p.err != nil {
		return Run{}, p.err
	}
	var out Run
	err = p.tx.GetContext(ctx, &out, `UPDATE placement_runs SET mechanism = $2, stats = $3 WHERE id = $1 RETURNING `+runColumns,
		p.id, mechanism, string(stats))
	if err != nil {
		p.tx.Rollback()
		return Run{}, err
	}
	return out, p.tx.Commit()
}

// Abort gives up storing the run.
func (p *PendingRun) Abort() {
	<-p.done
	if p.tx != nil {
		p.tx.Rollback()
	}
}

// RunKept returns the lines of the children a run of a later round keeps
// in their school, by pseudonym.
func (d *DB) RunKept(ctx context.Context, id int64) (_ []Assignment, err error) {
	defer wrap(&err, "kept of run %d", id)
	var b []byte
	err = d.db.QueryRowContext(ctx, `SELECT kept FROM placement_runs WHERE id = $1`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoRun
	}
	if err != nil {
		return nil, err
	}
	var lines []keptLine
	if err := json.Unmarshal(b, &lines); err != nil {
		return nil, err
	}
	out := make([]Assignment, len(lines))
	for i, k := range lines {
		out[i] = Assignment{ApplicationID: k.ApplicationID, Pseudonym: k.Pseudonym, School: k.School, ChoiceRank: k.ChoiceRank,
			Via: "kept", Lottery: k.Lottery}
	}
	return out, nil
}

// The lines of a run, written when it is published.
const qCopyAssignments = `copy placement_assignments (run_id, application_id, pseudonym, school_code, choice_rank, via,
    distance_km, lottery, explanations) from stdin`

// copyLines writes a run's lines into placement_assignments by COPY in tx.
func copyLines(ctx context.Context, tx *sqlx.Tx, id int64, each func(yield func(Assignment) error) error) error {
	stmt, err := tx.PrepareContext(ctx, qCopyAssignments)
	if err != nil {
		return err
	}
	defer stmt.Close()
	err = each(func(a Assignment) error {
		var school, distance any
		if a.School != "" {
			school = a.School
		}
		if a.Via == "administrative" {
			distance = a.DistanceKm
		}
		expl := "[]"
		if len(a.Explanations) > 0 {
			expl = string(a.Explanations)
		}
		_, err := stmt.ExecContext(ctx, id, a.ApplicationID, a.Pseudonym, school, a.ChoiceRank, a.Via, distance, a.Lottery, expl)
		return err
	})
	if err == nil {
		_, err = stmt.ExecContext(ctx)
	}
	if err == nil {
		err = stmt.Close()
	}
	return err
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
	if result {
		defer wrap(&err, "run %d result file", id)
		// As text, for the reason given at qInsertRun.
		var b []byte
		err = d.db.QueryRowContext(ctx, `SELECT convert_from(result, 'UTF8') FROM placement_runs WHERE id = $1`, id).Scan(&b)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNoRun
		}
		return b, err
	}
	b, encoding, err := d.runInstance(ctx, id)
	if err != nil || encoding == "identity" {
		return b, err
	}
	defer wrap(&err, "run %d instance file", id)
	return instanceFile(b)
}

// instanceFile writes the instance file of a compact instance.
func instanceFile(compact []byte) ([]byte, error) {
	inst, err := decodeCompact(compact)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(256 * len(inst.Students))
	err = allocation.EncodeInstance(&out, inst)
	return out.Bytes(), err
}

// RunInstance returns a run's instance.
func (d *DB) RunInstance(ctx context.Context, id int64) (_ *allocation.Instance, err error) {
	b, encoding, err := d.runInstance(ctx, id)
	if err != nil {
		return nil, err
	}
	defer wrap(&err, "run %d instance", id)
	if encoding == "identity" {
		return allocation.Decode(b)
	}
	return decodeCompact(b)
}

// runInstance returns a run's instance as stored, and its encoding:
// "identity" or "compact".
func (d *DB) runInstance(ctx context.Context, id int64) (_ []byte, encoding string, err error) {
	defer wrap(&err, "run %d instance", id)
	var b, body []byte
	err = d.db.QueryRowContext(ctx, `SELECT r.instance, r.instance_encoding, i.body FROM placement_runs r
    LEFT JOIN placement_inputs i ON i.digest = r.input_digest WHERE r.id = $1`, id).Scan(&b, &encoding, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ErrNoRun
	}
	if err != nil {
		return nil, "", err
	}
	switch encoding {
	case "shared":
		b, encoding = append(b, body...), "compact"
	case "chunked":
		rows, err := d.db.QueryContext(ctx, `SELECT i.body FROM placement_run_inputs ri
    JOIN placement_inputs i ON i.digest = ri.digest WHERE ri.run_id = $1 ORDER BY ri.seq`, id)
		if err != nil {
			return nil, "", err
		}
		defer rows.Close()
		for rows.Next() {
			var c sql.RawBytes
			if err := rows.Scan(&c); err != nil {
				return nil, "", err
			}
			b = append(b, c...)
		}
		if err := rows.Err(); err != nil {
			return nil, "", err
		}
		encoding = "compact"
	}
	return b, encoding, nil
}

// RoundConfirmDays is how long the families placed by a later round have
// to confirm their seat, from its publishing, when its run sets no
// deadline of its own: the window's has passed by then (a later round
// offers the seats of those who missed it).
const RoundConfirmDays = 7

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
	// Instance is the run's instance file and Result its result file,
	// both kept as they are from now on, the files anyone downloads;
	// Lines calls
	// yield with each child's line of the run, explanations included,
	// kept children too.
	Instance []byte
	Result   []byte
	Lines    func(yield func(Assignment) error) error
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
	qMissed  = `UPDATE applications SET status = 'declined', status_reason = $2 WHERE id = ANY($1)`
	qMarkRun = `UPDATE placement_runs SET status = 'published', published_by = $2, published_at = now(), result = convert_to($3, 'UTF8'),
    instance = convert_to($4, 'UTF8'), instance_encoding = 'identity', input_digest = NULL,
    confirm_by = CASE WHEN confirm_by IS NULL AND round > 1 THEN now() + make_interval(days => $5) ELSE confirm_by END
WHERE id = $1`
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
		if err := copyLines(ctx, tx, id, p.Lines); err != nil {
			return fmt.Errorf("lines: %w", err)
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
		actor, role := p.Actor.Name, string(p.Actor.Role)
		steps := []struct {
			q    string
			args []any
		}{
			{qPublishEvents, []any{id, actor, role, fmt.Sprintf(publishEvent, id, id)}},
			{qPublishApplications, []any{id}},
			{qMissedEvents, []any{pq.StringArray(p.Missed), actor, role, p.MissedReason}},
			{qMissed, []any{pq.StringArray(p.Missed), p.MissedReason}},
			{qMarkRun, []any{id, actor, string(p.Result), string(p.Instance), RoundConfirmDays}},
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

// ApplicationCodes calls fn with the id and tracking code of every
// application of a level and year.
func (d *DB) ApplicationCodes(ctx context.Context, level string, year int, fn func(id, code string)) (err error) {
	defer wrap(&err, "application codes %s/%d", level, year)
	rows, err := d.db.QueryContext(ctx, `SELECT id, tracking_code FROM applications WHERE level = $1 AND school_year = $2`, level, year)
	if err != nil {
		return err
	}
	defer rows.Close()
	var id, code string
	for rows.Next() {
		if err := rows.Scan(&id, &code); err != nil {
			return err
		}
		fn(id, code)
	}
	return rows.Err()
}
