package enrollment

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
)

// Source says how an application came in.
type Source string

// Sources.
const (
	SourceOnline Source = "online" // through the online intake
	SourceDirect Source = "direct" // registered in person by school staff
)

// Head is what the review routes need to know of an application before
// showing or changing it: whose it is to review (the school of its first
// choice) and where it stands.
type Head struct {
	ID           string
	TrackingCode string
	Status       Status
	Level        Level
	SchoolYear   int
	FirstChoice  string
	// ChildIDNumber is personal data: used to release the child's
	// duplicate guard after a void, never logged.
	ChildIDNumber string
}

const headColumns = `id, tracking_code, status, level, school_year, choices[1], child_id_number`

func scanHead(row interface{ Scan(...any) error }) (Head, error) {
	var h Head
	err := row.Scan(&h.ID, &h.TrackingCode, &h.Status, &h.Level, &h.SchoolYear, &h.FirstChoice, &h.ChildIDNumber)
	if errors.Is(err, sql.ErrNoRows) {
		return Head{}, ErrNotFound
	}
	return h, err
}

// Head returns the head of the application with a tracking code, or
// ErrNotFound.
func (s *Store) Head(ctx context.Context, code string) (Head, error) {
	const q = `SELECT ` + headColumns + ` FROM applications WHERE tracking_code = $1`
	h, err := scanHead(s.db.QueryRowContext(ctx, q, code))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Head{}, fmt.Errorf("application %s: %w", code, err)
	}
	return h, err
}

// lockHead reads and locks the application's row until the end of tx:
// two decisions on one application are made one after the other, and the
// second sees the first's state.
func lockHead(ctx context.Context, tx *sqlx.Tx, code string) (Head, error) {
	const q = `SELECT ` + headColumns + ` FROM applications WHERE tracking_code = $1 FOR UPDATE`
	h, err := scanHead(tx.QueryRowContext(ctx, q, code))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Head{}, fmt.Errorf("lock application %s: %w", code, err)
	}
	return h, err
}

// recordEvent writes one transition into application_events (status is
// the old column, kept equal to to_status).
func recordEvent(ctx context.Context, tx *sqlx.Tx, id string, from, to Status, actor Actor, reason string) error {
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
// (its first choice may have changed meanwhile); its error is returned as
// it is. It returns the head as it was before the move, ErrNotFound for an
// unknown code, and the errors of CheckTransition.
func (s *Store) Transition(ctx context.Context, code string, to Status, actor Actor, reason string, authorize func(Head) error) (Head, error) {
	reason = strings.TrimSpace(reason)
	var h Head
	err := s.Transact(ctx, func(tx *sqlx.Tx) error {
		var err error
		if h, err = lockHead(ctx, tx, code); err != nil {
			return err
		}
		if authorize != nil {
			if err := authorize(h); err != nil {
				return err
			}
		}
		if err := CheckTransition(h.Status, to, actor.Role, reason); err != nil {
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
func (s *Store) Correct(ctx context.Context, code string, a *Application) error {
	g, err := json.Marshal(a.Guardian)
	if err != nil {
		return fmt.Errorf("encode guardian: %w", err)
	}
	return s.Transact(ctx, func(tx *sqlx.Tx) error {
		h, err := lockHead(ctx, tx, code)
		if err != nil {
			return err
		}
		if err := CheckTransition(h.Status, StatusReceived, ActorParent, ""); err != nil {
			return err
		}
		var problems []Problem
		if a.Child.IDNumber != h.ChildIDNumber {
			problems = append(problems, Problem{Field: "child.id_number",
				Message: "Số định danh của trẻ phải giữ nguyên như hồ sơ đã nộp", MessageEN: "the child's ID number must stay as in the application"})
		}
		if a.Level != h.Level || a.SchoolYear != h.SchoolYear {
			problems = append(problems, Problem{Field: "level",
				Message: "Cấp học và năm học phải giữ nguyên như hồ sơ đã nộp", MessageEN: "the level and school year must stay as in the application"})
		}
		if len(problems) > 0 {
			return &Error{Code: CodeInvalid, Message: "Hồ sơ sửa lại phải là hồ sơ của cùng trẻ",
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
			a.PriorityGroup, pq.StringArray(a.Choices), string(StatusReceived)); err != nil {
			return fmt.Errorf("correct application: %w", err)
		}
		return recordEvent(ctx, tx, h.ID, h.Status, StatusReceived, Actor{Name: string(ActorParent), Role: ActorParent}, "")
	})
}

// DirectResult is what RegisterDirect did.
type DirectResult struct {
	TrackingCode string
	SubmittedAt  time.Time
	// Existing is the child's application already there, when the
	// registration was refused as a duplicate.
	Existing *Head
}

// RegisterDirect stores an application a school clerk registers in person,
// straight in PostgreSQL (the intake buffers the midnight rush, which
// staff do not make), with source direct and status received, and records
// the event. It assigns the ID, tracking code and submission time. A child
// who already has an application for the level and year (not voided) is
// refused with CodeDuplicate and the existing application's head in
// DirectResult.Existing, for the caller to decide what to show.
func (s *Store) RegisterDirect(ctx context.Context, a *Application, actor Actor, now time.Time) (DirectResult, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return DirectResult{}, fmt.Errorf("new application id: %w", err)
	}
	a.ID, a.TrackingCode, a.SubmittedAt = id.String(), NewTrackingCode(), now.UTC()
	g, err := json.Marshal(a.Guardian)
	if err != nil {
		return DirectResult{}, fmt.Errorf("encode guardian: %w", err)
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
	var res DirectResult
	err = s.Transact(ctx, func(tx *sqlx.Tx) error {
		p, c := a.Residence.Permanent, a.Residence.Current
		r, err := tx.ExecContext(ctx, qInsert, a.ID, a.TrackingCode, string(a.Level), a.SchoolYear, a.Child.IDNumber,
			a.Child.FullName, a.Child.DateOfBirth, string(a.Child.Sex), a.Child.Ethnicity, a.Child.PlaceOfBirth,
			a.Child.OverAgeReason, p.Ward, p.Group, p.Address, c.Ward, c.Group, c.Address, string(g), a.PriorityGroup,
			pq.StringArray(a.Choices), a.SubmittedAt, string(StatusReceived))
		if err != nil {
			return fmt.Errorf("insert direct registration: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			h, err := scanHead(tx.QueryRowContext(ctx, qExisting, a.Child.IDNumber, string(a.Level), a.SchoolYear))
			if err != nil {
				return fmt.Errorf("look up the child's application: %w", err)
			}
			res.Existing = &h
			return Errorf(CodeDuplicate,
				fmt.Sprintf("Trẻ này đã có hồ sơ đăng ký %s năm học %d-%d; mỗi trẻ chỉ có một hồ sơ", a.Level.NameVI(), a.SchoolYear, a.SchoolYear+1),
				fmt.Sprintf("this child already has an application for %s in %d-%d; a child has one application", a.Level, a.SchoolYear, a.SchoolYear+1))
		}
		res.TrackingCode, res.SubmittedAt = a.TrackingCode, a.SubmittedAt
		return recordEvent(ctx, tx, a.ID, "", StatusReceived, actor, "")
	})
	return res, err
}

// Event is one entry of an application's history.
type Event struct {
	Actor     string    `json:"actor" db:"actor"`
	ActorRole string    `json:"actor_role" db:"actor_role"`
	From      Status    `json:"from" db:"from_status"`
	To        Status    `json:"to" db:"to_status"`
	Reason    string    `json:"reason" db:"reason"`
	At        time.Time `json:"at" db:"at"`
}

// File is the whole application as staff review it: everything submitted,
// guardian included, with its history.
type File struct {
	TrackingCode string `json:"tracking_code"`
	Status       Status `json:"status"`
	StatusReason string `json:"status_reason,omitempty"`
	Source       Source `json:"source"`
	Registration
	SubmittedAt time.Time `json:"submitted_at"`
	StoredAt    time.Time `json:"stored_at"`
	History     []Event   `json:"history"`
}

// File returns the whole application with a tracking code and its events,
// oldest first, or ErrNotFound.
func (s *Store) File(ctx context.Context, code string) (File, error) {
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
		f        File
		id       string
		guardian []byte
		choices  pq.StringArray
	)
	ch, p, c := &f.Child, &f.Residence.Permanent, &f.Residence.Current
	err := s.db.QueryRowContext(ctx, q, code).Scan(&id, &f.TrackingCode, &f.Status, &f.StatusReason, &f.Source, &f.Level, &f.SchoolYear,
		&ch.IDNumber, &ch.FullName, &ch.DateOfBirth, &ch.Sex, &ch.Ethnicity, &ch.PlaceOfBirth, &ch.OverAgeReason,
		&p.Ward, &p.Group, &p.Address, &c.Ward, &c.Group, &c.Address, &guardian, &f.PriorityGroup, &choices, &f.SubmittedAt, &f.StoredAt)
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, ErrNotFound
	}
	if err != nil {
		return File{}, fmt.Errorf("application file: %w", err)
	}
	if err := json.Unmarshal(guardian, &f.Guardian); err != nil {
		return File{}, fmt.Errorf("application file: guardian: %w", err)
	}
	f.Choices, f.SubmittedAt, f.StoredAt = choices, f.SubmittedAt.UTC(), f.StoredAt.UTC()
	f.History = []Event{}
	if err := s.db.SelectContext(ctx, &f.History, qEvents, id); err != nil {
		return File{}, fmt.Errorf("application history: %w", err)
	}
	for i := range f.History {
		f.History[i].At = f.History[i].At.UTC()
	}
	return f, nil
}
