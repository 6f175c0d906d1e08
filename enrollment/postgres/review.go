package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/tuyensinh/tuyensinh/enrollment"
)

const headColumns = `id, tracking_code, status, level, school_year, choices[1], child_id_number`

func scanHead(row interface{ Scan(...any) error }) (enrollment.Head, error) {
	var h enrollment.Head
	err := row.Scan(&h.ID, &h.TrackingCode, &h.Status, &h.Level, &h.SchoolYear, &h.FirstChoice, &h.ChildIDNumber)
	if errors.Is(err, sql.ErrNoRows) {
		return enrollment.Head{}, enrollment.ErrNotFound
	}
	return h, err
}

// Head returns the head of the application with a tracking code, or
// ErrNotFound.
func (d *DB) Head(ctx context.Context, code string) (_ enrollment.Head, err error) {
	defer wrap(&err, "application %s", code)
	const q = `SELECT ` + headColumns + ` FROM applications WHERE tracking_code = $1`
	h, err := scanHead(d.db.QueryRowContext(ctx, q, code))
	if err != nil && !errors.Is(err, enrollment.ErrNotFound) {
		return enrollment.Head{}, err
	}
	return h, err
}

// lockHead reads and locks the application's row until the end of tx:
// two decisions on one application are made one after the other, and the
// second sees the first's state.
func lockHead(ctx context.Context, tx *sqlx.Tx, code string) (enrollment.Head, error) {
	const q = `SELECT ` + headColumns + ` FROM applications WHERE tracking_code = $1 FOR UPDATE`
	h, err := scanHead(tx.QueryRowContext(ctx, q, code))
	if err != nil && !errors.Is(err, enrollment.ErrNotFound) {
		return enrollment.Head{}, fmt.Errorf("lock: %w", err)
	}
	return h, err
}

// recordEvent writes one transition into application_events (status is
// the old column, kept equal to to_status).
func recordEvent(ctx context.Context, tx *sqlx.Tx, id string, from, to enrollment.Status, actor enrollment.Actor, reason string) error {
	const q = `
INSERT INTO application_events (application_id, status, actor, actor_role, from_status, to_status, reason)
VALUES ($1, $2, $3, $4, $5, $2, $6)`
	if _, err := tx.ExecContext(ctx, q, id, string(to), actor.Name, string(actor.Role), string(from), reason); err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	return nil
}

// Transition moves the application with a tracking code to the state to,
// by the rules written on Transition, and records the event, in one
// transaction that holds the application's row: of two decisions made at
// once, one wins and the other gets CodeConflict. authorize, when not nil,
// is asked under the lock whether the actor may act on the application
// (its first choice may have changed meanwhile); its error is returned
// wrapped, as every error is (errors.As finds an *enrollment.Error). It returns the head as it was before the move, ErrNotFound for an
// unknown code, and the errors of CheckTransition.
func (d *DB) Transition(ctx context.Context, code string, to enrollment.Status, actor enrollment.Actor, reason string, authorize func(enrollment.Head) error) (_ enrollment.Head, err error) {
	defer wrap(&err, "move application %s to %s", code, to)
	reason = strings.TrimSpace(reason)
	var h enrollment.Head
	err = d.Transact(ctx, 0, func(tx *sqlx.Tx) error {
		var err error
		if h, err = lockHead(ctx, tx, code); err != nil {
			return err
		}
		if authorize != nil {
			if err := authorize(h); err != nil {
				return err
			}
		}
		if err := enrollment.CheckTransition(h.Status, to, actor.Role, reason); err != nil {
			return err
		}
		const q = `UPDATE applications SET status = $2, status_reason = $3 WHERE id = $1`
		if _, err := tx.ExecContext(ctx, q, h.ID, string(to), reason); err != nil {
			return fmt.Errorf("update status: %w", err)
		}
		return recordEvent(ctx, tx, h.ID, h.Status, to, actor, reason)
	})
	return h, err
}

// Correct replaces a returned application's registration with a
// corrected one (checked by Catalog.Check) and makes it received again,
// recording the event; the history is kept. The child's ID number, level
// and school year must be those of the application (CodeInvalid
// otherwise): a correction is of the same child's same application. It
// returns ErrNotFound, and CodeConflict unless the application is
// returned.
func (d *DB) Correct(ctx context.Context, code string, a *enrollment.Application) (err error) {
	defer wrap(&err, "correct application %s", code)
	g, err := json.Marshal(a.Guardian)
	if err != nil {
		return fmt.Errorf("encode guardian: %w", err)
	}
	return d.Transact(ctx, 0, func(tx *sqlx.Tx) error {
		h, err := lockHead(ctx, tx, code)
		if err != nil {
			return err
		}
		if err := enrollment.CheckTransition(h.Status, enrollment.StatusReceived, enrollment.ActorParent, ""); err != nil {
			return err
		}
		var problems []enrollment.Problem
		if a.Child.IDNumber != h.ChildIDNumber {
			problems = append(problems, enrollment.Problem{Field: "child.id_number",
				Message: "Số định danh của trẻ phải giữ nguyên như hồ sơ đã nộp", MessageEN: "the child's ID number must stay as in the application"})
		}
		if a.Level != h.Level || a.SchoolYear != h.SchoolYear {
			problems = append(problems, enrollment.Problem{Field: "level",
				Message: "Cấp học và năm học phải giữ nguyên như hồ sơ đã nộp", MessageEN: "the level and school year must stay as in the application"})
		}
		if len(problems) > 0 {
			return &enrollment.Error{Code: enrollment.CodeInvalid, Message: "Hồ sơ sửa lại phải là hồ sơ của cùng trẻ",
				MessageEN: "a corrected application must be the same child's", Problems: problems}
		}
		const q = `
UPDATE applications SET child_name = $2, date_of_birth = CAST($3 AS date), sex = $4, ethnicity = $5,
    place_of_birth = $6, over_age_reason = $7, permanent_ward = $8, permanent_group = $9, permanent_address = $10,
    current_ward = $11, current_group = $12, current_address = $13, guardian = CAST($14 AS jsonb),
    priority_group = $15, choices = $16, status = $17, status_reason = ''
WHERE id = $1`
		p, c := a.Residence.Permanent, a.Residence.Current
		if _, err := tx.ExecContext(ctx, q, h.ID, a.Child.FullName, a.Child.DateOfBirth, string(a.Child.Sex), a.Child.Ethnicity,
			a.Child.PlaceOfBirth, a.Child.OverAgeReason, p.Ward, p.Group, p.Address, c.Ward, c.Group, c.Address, string(g),
			a.PriorityGroup, pq.StringArray(a.Choices), string(enrollment.StatusReceived)); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		return recordEvent(ctx, tx, h.ID, h.Status, enrollment.StatusReceived, enrollment.Actor{Name: string(enrollment.ActorParent), Role: enrollment.ActorParent}, "")
	})
}

// RegisterDirect stores an application a school clerk registers in person,
// straight in PostgreSQL (the intake buffers the midnight rush, which
// staff do not make), with source direct and status received, and records
// the event. It assigns the ID, tracking code and submission time. A child
// who already has an application for the level and year (not voided) is
// refused with CodeDuplicate and the existing application's head in
// DirectResult.Existing, for the caller to decide what to show.
func (d *DB) RegisterDirect(ctx context.Context, a *enrollment.Application, actor enrollment.Actor, now time.Time) (_ enrollment.DirectResult, err error) {
	defer wrap(&err, "direct registration")
	id, err := uuid.NewV7()
	if err != nil {
		return enrollment.DirectResult{}, fmt.Errorf("new application id: %w", err)
	}
	a.ID, a.TrackingCode, a.SubmittedAt = id.String(), enrollment.NewTrackingCode(), now.UTC()
	g, err := json.Marshal(a.Guardian)
	if err != nil {
		return enrollment.DirectResult{}, fmt.Errorf("encode guardian: %w", err)
	}
	const qInsert = `
INSERT INTO applications (id, tracking_code, level, school_year, child_id_number, child_name, date_of_birth, sex,
    ethnicity, place_of_birth, over_age_reason, permanent_ward, permanent_group, permanent_address,
    current_ward, current_group, current_address, guardian, priority_group, choices, submitted_at, status, source)
VALUES ($1, $2, $3, $4, $5, $6, CAST($7 AS date), $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, CAST($18 AS jsonb),
    $19, $20, $21, $22, 'direct')
ON CONFLICT DO NOTHING`
	const qExisting = `SELECT ` + headColumns + ` FROM applications
WHERE child_id_number = $1 AND level = $2 AND school_year = $3 AND status <> 'voided'`
	var res enrollment.DirectResult
	err = d.Transact(ctx, 0, func(tx *sqlx.Tx) error {
		p, c := a.Residence.Permanent, a.Residence.Current
		r, err := tx.ExecContext(ctx, qInsert, a.ID, a.TrackingCode, string(a.Level), a.SchoolYear, a.Child.IDNumber,
			a.Child.FullName, a.Child.DateOfBirth, string(a.Child.Sex), a.Child.Ethnicity, a.Child.PlaceOfBirth,
			a.Child.OverAgeReason, p.Ward, p.Group, p.Address, c.Ward, c.Group, c.Address, string(g), a.PriorityGroup,
			pq.StringArray(a.Choices), a.SubmittedAt, string(enrollment.StatusReceived))
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			h, err := scanHead(tx.QueryRowContext(ctx, qExisting, a.Child.IDNumber, string(a.Level), a.SchoolYear))
			if err != nil {
				return fmt.Errorf("look up the child's application: %w", err)
			}
			res.Existing = &h
			return enrollment.Errorf(enrollment.CodeDuplicate,
				fmt.Sprintf("Trẻ này đã có hồ sơ đăng ký %s năm học %d-%d; mỗi trẻ chỉ có một hồ sơ", a.Level.NameVI(), a.SchoolYear, a.SchoolYear+1),
				fmt.Sprintf("this child already has an application for %s in %d-%d; a child has one application", a.Level, a.SchoolYear, a.SchoolYear+1))
		}
		res.TrackingCode, res.SubmittedAt = a.TrackingCode, a.SubmittedAt
		return recordEvent(ctx, tx, a.ID, "", enrollment.StatusReceived, actor, "")
	})
	return res, err
}

// File returns the whole application with a tracking code and its events,
// oldest first, or an error wrapping enrollment.ErrNotFound.
func (d *DB) File(ctx context.Context, code string) (_ enrollment.File, err error) {
	defer wrap(&err, "file of application %s", code)
	const q = `
SELECT id, tracking_code, status, status_reason, source, level, school_year, child_id_number, child_name,
    to_char(date_of_birth, 'YYYY-MM-DD'), sex, ethnicity, place_of_birth, over_age_reason,
    permanent_ward, permanent_group, permanent_address, current_ward, current_group, current_address,
    guardian, priority_group, choices, submitted_at, stored_at
FROM applications WHERE tracking_code = $1`
	const qEvents = `
SELECT actor, actor_role, from_status, CASE WHEN to_status = '' THEN status ELSE to_status END AS to_status, reason, at
FROM application_events WHERE application_id = $1 ORDER BY at, id`
	var (
		f        enrollment.File
		id       string
		guardian []byte
		choices  pq.StringArray
	)
	ch, p, c := &f.Child, &f.Residence.Permanent, &f.Residence.Current
	err = d.db.QueryRowContext(ctx, q, code).Scan(&id, &f.TrackingCode, &f.Status, &f.StatusReason, &f.Source, &f.Level, &f.SchoolYear,
		&ch.IDNumber, &ch.FullName, &ch.DateOfBirth, &ch.Sex, &ch.Ethnicity, &ch.PlaceOfBirth, &ch.OverAgeReason,
		&p.Ward, &p.Group, &p.Address, &c.Ward, &c.Group, &c.Address, &guardian, &f.PriorityGroup, &choices, &f.SubmittedAt, &f.StoredAt)
	if errors.Is(err, sql.ErrNoRows) {
		return enrollment.File{}, enrollment.ErrNotFound
	}
	if err != nil {
		return enrollment.File{}, err
	}
	if err := json.Unmarshal(guardian, &f.Guardian); err != nil {
		return enrollment.File{}, fmt.Errorf("decode guardian: %w", err)
	}
	f.Choices, f.SubmittedAt, f.StoredAt = choices, f.SubmittedAt.UTC(), f.StoredAt.UTC()
	f.History = []enrollment.Event{}
	if err := d.db.SelectContext(ctx, &f.History, qEvents, id); err != nil {
		return enrollment.File{}, fmt.Errorf("history: %w", err)
	}
	for i := range f.History {
		f.History[i].At = f.History[i].At.UTC()
	}
	return f, nil
}
