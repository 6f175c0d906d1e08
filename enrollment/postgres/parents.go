package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// Parents after placement (issue 10): what a published run decided for one
// application, and the parent's confirmation or refusal of the seat.

// Result is what the published run that last placed an application decided
// for it, as its parent is shown it. Its JSON is the "result" object of
// the parents' lookup, field for field.
type Result struct {
	// School is the school's code, nil for a child given no seat.
	School *string `json:"school"`
	// SchoolName is the school's name, "" for a child given no seat.
	SchoolName string `json:"school_name"`
	// ChoiceRank is the school's rank among the choices, 0 for an
	// administrative placement or none.
	ChoiceRank int `json:"choice_rank"`
	// Via is choice, administrative, unassigned or kept.
	Via string `json:"via"`
	// DistanceKm is set for an administrative placement.
	DistanceKm *float64 `json:"distance_km"`
	// Lottery is the child's lottery number, the hex SHA-256 digest.
	Lottery string `json:"lottery"`
	// Explanations say why the child did not get each school ranked above
	// the one it got.
	Explanations []Explanation `json:"explanations"`
	// ConfirmBy is the last moment to confirm the seat: the run's own, or
	// the window's for the first round; nil when none is set.
	ConfirmBy *time.Time `json:"confirm_by"`
}

// Explanation is one school the child ranked higher and did not get, and
// why, in Vietnamese and in English (the engine's words).
type Explanation struct {
	School   string `json:"school"`
	Reason   string `json:"reason"`
	MissedBy string `json:"missed_by,omitempty"`
	VI       string `json:"vi"`
	EN       string `json:"en"`
}

// Placement is the public facts of the run behind a Result, so that a
// parent can recompute the child's lottery number: sha256 of
// "<seed>/<pseudonym>", the pseudonym being sha256 of
// "<level>/<school_year>/<tracking code>".
type Placement struct {
	RunID          int64     `json:"run_id"`
	Round          int       `json:"round"`
	Level          string    `json:"level"`
	SchoolYear     int       `json:"school_year"`
	Seed           string    `json:"seed"`
	SeedCommitment string    `json:"seed_commitment"`
	Pseudonym      string    `json:"pseudonym"`
	PublishedAt    time.Time `json:"published_at"`
	// SchoolAddress is the placed school's address, for the admission
	// notice; not part of the JSON result.
	SchoolAddress string `json:"-"`
}

const qResult = `
SELECT r.id, r.round, r.level, r.school_year, s.seed, r.seed_commitment, pa.pseudonym, r.published_at,
    pa.school_code, COALESCE(sc.name, ''), COALESCE(sc.address, ''), pa.choice_rank, pa.via, pa.distance_km,
    pa.lottery, pa.explanations, COALESCE(r.confirm_by, w.confirm_by)
FROM applications a
JOIN placement_runs r ON r.id = a.placed_run_id AND r.status = 'published'
JOIN placement_seeds s ON s.level = r.level AND s.school_year = r.school_year
JOIN placement_assignments pa ON pa.run_id = r.id AND pa.application_id = a.id
JOIN windows w ON w.level = a.level AND w.school_year = a.school_year
LEFT JOIN schools sc ON sc.code = pa.school_code
WHERE a.tracking_code = $1`

// Result returns the published result of the application with a tracking
// code, or ok false while no published run has placed it (or for an
// unknown code).
func (d *DB) Result(ctx context.Context, code string) (res Result, p Placement, ok bool, err error) {
	defer wrap(&err, "placement result of an application")
	var (
		school    sql.NullString
		distance  sql.NullFloat64
		confirmBy sql.NullTime
		expl      []byte
	)
	err = d.db.QueryRowContext(ctx, qResult, code).Scan(&p.RunID, &p.Round, &p.Level, &p.SchoolYear, &p.Seed,
		&p.SeedCommitment, &p.Pseudonym, &p.PublishedAt, &school, &res.SchoolName, &p.SchoolAddress, &res.ChoiceRank,
		&res.Via, &distance, &res.Lottery, &expl, &confirmBy)
	if errors.Is(err, sql.ErrNoRows) {
		return Result{}, Placement{}, false, nil
	}
	if err != nil {
		return Result{}, Placement{}, false, err
	}
	if school.Valid {
		res.School = &school.String
	}
	if distance.Valid {
		res.DistanceKm = &distance.Float64
	}
	if confirmBy.Valid {
		t := confirmBy.Time.UTC()
		res.ConfirmBy = &t
	}
	p.PublishedAt = p.PublishedAt.UTC()
	res.Explanations = []Explanation{}
	if err := json.Unmarshal(expl, &res.Explanations); err != nil {
		return Result{}, Placement{}, false, fmt.Errorf("explanations: %w", err)
	}
	return res, p, true, nil
}

// SchoolNames returns the names of the schools with the given codes,
// those unknown left out.
func (d *DB) SchoolNames(ctx context.Context, codes []string) (names map[string]string, err error) {
	defer wrap(&err, "school names")
	const q = `SELECT code, name FROM schools WHERE code = ANY($1)`
	rows, err := d.db.QueryContext(ctx, q, pq.StringArray(codes))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names = make(map[string]string, len(codes))
	for rows.Next() {
		var c, n string
		if err := rows.Scan(&c, &n); err != nil {
			return nil, err
		}
		names[c] = n
	}
	return names, rows.Err()
}

// Seat is what a decision on a seat needs to know of an application: where
// it stands, whose it is (its first choice and the school it was placed
// at, for staff scope) and until when it may be confirmed.
type Seat struct {
	ID           string
	TrackingCode string
	Status       enrollment.Status
	FirstChoice  string
	// School is the school the published run placed it at, "" if none.
	School    string
	ConfirmBy *time.Time
}

const qLockSeat = `
SELECT a.id, a.tracking_code, a.status, a.choices[1], COALESCE(pa.school_code, ''), COALESCE(r.confirm_by, w.confirm_by)
FROM applications a
JOIN windows w ON w.level = a.level AND w.school_year = a.school_year
LEFT JOIN placement_runs r ON r.id = a.placed_run_id AND r.status = 'published'
LEFT JOIN placement_assignments pa ON pa.run_id = r.id AND pa.application_id = a.id
WHERE a.tracking_code = $1
FOR UPDATE OF a`

const qSetStatus = `UPDATE applications SET status = $2, status_reason = $3 WHERE id = $1`

const qEvent = `
INSERT INTO application_events (application_id, status, actor, actor_role, from_status, to_status, reason)
VALUES ($1, $2, $3, $4, $5, $2, $6)`

// errPastConfirmBy is the refusal of a confirmation or refusal made after
// the seat's confirmation deadline.
func errPastConfirmBy(t time.Time) *enrollment.Error {
	local := t.In(vietnam)
	return enrollment.Errorf(enrollment.CodeConflict,
		fmt.Sprintf("Đã hết hạn xác nhận nhập học (hạn cuối %s); chỗ học được xét lại ở vòng tiếp theo. Liên hệ nhà trường nếu cần", local.Format("15:04 02/01/2006")),
		fmt.Sprintf("the confirmation deadline has passed (%s); the seat is offered again in the next round. Contact the school if need be", local.Format("15:04 02/01/2006")))
}

// vietnam is the time zone deadlines are written in for parents.
var vietnam = time.FixedZone("ICT", 7*60*60)

// DecideSeat moves a placed application to confirmed or declined by the
// rules of enrollment.Transition, in one transaction that holds the
// application's row and records the event: the parent's own decision, or
// the school's record of one made in person. authorize, when not nil, is
// asked under the lock whether the actor may act on the application; its
// error is returned as it is. A parent or school acting after the seat's
// confirmation deadline gets CodeConflict (an authority or the city
// declining an unconfirmed seat after it is the deadline's own
// consequence). It returns the seat as it was before the move,
// enrollment.ErrNotFound for an unknown code, and the errors of
// enrollment.CheckTransition (CodeConflict once the seat was decided).
func (d *DB) DecideSeat(ctx context.Context, code string, to enrollment.Status, actor enrollment.Actor, now time.Time, authorize func(Seat) error) (seat Seat, err error) {
	defer func() {
		var e *enrollment.Error
		if !errors.As(err, &e) {
			wrap(&err, "decide the seat of %s", code)
		}
	}()
	if to != enrollment.StatusConfirmed && to != enrollment.StatusDeclined {
		return Seat{}, fmt.Errorf("decision %q is not on a seat", to)
	}
	err = d.Transact(ctx, 0, func(tx *sqlx.Tx) error {
		var confirmBy sql.NullTime
		err := tx.QueryRowContext(ctx, qLockSeat, code).Scan(&seat.ID, &seat.TrackingCode, &seat.Status, &seat.FirstChoice, &seat.School, &confirmBy)
		if errors.Is(err, sql.ErrNoRows) {
			return enrollment.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("lock application: %w", err)
		}
		if confirmBy.Valid {
			t := confirmBy.Time.UTC()
			seat.ConfirmBy = &t
		}
		if authorize != nil {
			if err := authorize(seat); err != nil {
				return err
			}
		}
		if err := enrollment.CheckTransition(seat.Status, to, actor.Role, ""); err != nil {
			return err
		}
		late := seat.ConfirmBy != nil && now.After(*seat.ConfirmBy)
		if late && (actor.Role == enrollment.ActorParent || actor.Role == enrollment.ActorSchool) {
			return errPastConfirmBy(*seat.ConfirmBy)
		}
		if _, err := tx.ExecContext(ctx, qSetStatus, seat.ID, string(to), ""); err != nil {
			return fmt.Errorf("update status: %w", err)
		}
		reason := ""
		if actor.Role == enrollment.ActorSchool {
			reason = "Phụ huynh xác nhận trực tiếp tại trường"
			if to == enrollment.StatusDeclined {
				reason = "Phụ huynh từ chối trực tiếp tại trường"
			}
		}
		if _, err := tx.ExecContext(ctx, qEvent, seat.ID, string(to), actor.Name, string(actor.Role), string(seat.Status), strings.TrimSpace(reason)); err != nil {
			return fmt.Errorf("record event: %w", err)
		}
		return nil
	})
	return seat, err
}
