// Package outbox keeps the messages the service sends parents (today: a
// child's tracking code sent again to the guardian phone of its
// application) in a PostgreSQL table, and drains it through a Sender with
// retries.
//
// A message is enqueued in the same transaction as the change that calls
// for it where there is one, and idempotently (a dedupe key), so it is
// neither lost nor sent twice for one cause. It names its application by
// tracking code only: the recipient's phone is read from the application
// when the message is sent, so the outbox holds no personal data and a
// message for an application not stored yet simply waits.
//
// Several drainers may run at once (every worker process runs one): each
// claims due messages with FOR UPDATE SKIP LOCKED and leases them for a
// while; a drainer that dies mid-send leaves its messages to come due again
// when the lease ends. A message can therefore be handed to the Sender
// twice in that case; the Sender passes the message id to its provider as
// an idempotency key so the parent gets it once.
package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// KindCodeResend is the message sending a child's tracking code again to the
// guardian of its application, after another registration of the child was
// refused.
const KindCodeResend = "code_resend"

// Entry is a message waiting in the outbox.
type Entry struct {
	ID           int64
	Kind         string
	TrackingCode string
	// Attempts counts the sends tried, this one included once claimed.
	Attempts  int
	CreatedAt time.Time
}

// Execer runs a statement: a database handle or a transaction, so a message
// can be enqueued in the transaction of the change that calls for it.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Enqueue adds a message unless one with the same dedupe key exists, and
// reports whether it was added.
func Enqueue(ctx context.Context, db Execer, kind, trackingCode, dedupeKey string) (bool, error) {
	const q = `
INSERT INTO outbox (kind, tracking_code, dedupe_key) VALUES ($1, $2, $3)
ON CONFLICT (dedupe_key) DO NOTHING`
	res, err := db.ExecContext(ctx, q, kind, trackingCode, dedupeKey)
	if err != nil {
		return false, fmt.Errorf("enqueue %s message: %w", kind, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("enqueue %s message: %w", kind, err)
	}
	return n == 1, nil
}

// EnqueueCodeResend queues the re-send of a tracking code to the guardian
// of its application: at most one per application and UTC day, however
// often it is asked for, so refused registrations cannot flood a parent's
// phone.
func EnqueueCodeResend(ctx context.Context, db Execer, trackingCode string, now time.Time) error {
	_, err := Enqueue(ctx, db, KindCodeResend, trackingCode, CodeResendKey(trackingCode, now))
	return err
}

// CodeResendKey is the dedupe key of a code re-send: one per code and UTC
// day.
func CodeResendKey(trackingCode string, now time.Time) string {
	return KindCodeResend + ":" + trackingCode + ":" + now.UTC().Format(time.DateOnly)
}

// Store keeps the outbox in PostgreSQL.
type Store struct {
	db  *sqlx.DB
	now func() time.Time
}

// NewStore returns the outbox on db.
func NewStore(db *sqlx.DB) *Store { return &Store{db: db, now: time.Now} }

// ResendCode queues the re-send of a tracking code to the guardian of its
// application (see EnqueueCodeResend).
func (s *Store) ResendCode(ctx context.Context, trackingCode string) error {
	return EnqueueCodeResend(ctx, s.db, trackingCode, s.now())
}

// Claim leases up to n due messages for lease and counts an attempt for
// each. Concurrent callers get disjoint messages; a message comes due again
// when its lease ends unless MarkSent, MarkFailed or Postpone says when.
func (s *Store) Claim(ctx context.Context, n int, lease time.Duration) ([]Entry, error) {
	const q = `
UPDATE outbox o SET attempts = o.attempts + 1,
       next_attempt_at = now() + CAST($2 AS double precision) * interval '1 second'
FROM (SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= now()
      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) due
WHERE o.id = due.id
RETURNING o.id, o.kind, o.tracking_code, o.attempts, o.created_at`
	rows, err := s.db.QueryContext(ctx, q, n, lease.Seconds())
	if err != nil {
		return nil, fmt.Errorf("claim outbox messages: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.ID, &e.Kind, &e.TrackingCode, &e.Attempts, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("claim outbox messages: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim outbox messages: %w", err)
	}
	return out, nil
}

// MarkSent records that a message was sent.
func (s *Store) MarkSent(ctx context.Context, id int64) error {
	const q = `UPDATE outbox SET sent_at = now(), last_error = '' WHERE id = $1`
	if _, err := s.db.ExecContext(ctx, q, id); err != nil {
		return fmt.Errorf("mark outbox message %d sent: %w", id, err)
	}
	return nil
}

// Backoff says when a message that failed is tried again: after Base, then
// twice as long each time up to Max, and never again after MaxAttempts.
type Backoff struct {
	Base, Max   time.Duration
	MaxAttempts int
}

// DefaultBackoff tries a message for about eight hours: 30s, 1m, 2m, … up to
// an hour apart, twelve times.
var DefaultBackoff = Backoff{Base: 30 * time.Second, Max: time.Hour, MaxAttempts: 12}

// Delay is the wait after a message's attempts-th failed attempt.
func (b Backoff) Delay(attempts int) time.Duration {
	d := b.Base
	for i := 1; i < attempts && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// MarkFailed records a failed attempt with its reason (which must not hold
// personal data) and schedules the next by b, or gives the message up
// (next_attempt_at 'infinity') after b.MaxAttempts. It reports whether the
// message was given up.
func (s *Store) MarkFailed(ctx context.Context, e Entry, reason string, b Backoff) (gaveUp bool, err error) {
	gaveUp = e.Attempts >= b.MaxAttempts
	const q = `
UPDATE outbox SET last_error = $2,
       next_attempt_at = CASE WHEN $3 THEN CAST('infinity' AS timestamptz)
                              ELSE now() + CAST($4 AS double precision) * interval '1 second' END
WHERE id = $1 AND sent_at IS NULL`
	if _, err := s.db.ExecContext(ctx, q, e.ID, reason, gaveUp, b.Delay(e.Attempts).Seconds()); err != nil {
		return false, fmt.Errorf("mark outbox message %d failed: %w", e.ID, err)
	}
	return gaveUp, nil
}

// Postpone puts a message off by d without counting the attempt, for a
// message that cannot be sent yet (its application is not stored).
func (s *Store) Postpone(ctx context.Context, id int64, reason string, d time.Duration) error {
	const q = `
UPDATE outbox SET attempts = GREATEST(attempts - 1, 0), last_error = $2,
       next_attempt_at = now() + CAST($3 AS double precision) * interval '1 second'
WHERE id = $1 AND sent_at IS NULL`
	if _, err := s.db.ExecContext(ctx, q, id, reason, d.Seconds()); err != nil {
		return fmt.Errorf("postpone outbox message %d: %w", id, err)
	}
	return nil
}

// GiveUp stops trying a message, with the reason.
func (s *Store) GiveUp(ctx context.Context, id int64, reason string) error {
	const q = `
UPDATE outbox SET last_error = $2, next_attempt_at = CAST('infinity' AS timestamptz)
WHERE id = $1 AND sent_at IS NULL`
	if _, err := s.db.ExecContext(ctx, q, id, reason); err != nil {
		return fmt.Errorf("give up outbox message %d: %w", id, err)
	}
	return nil
}

// Recipient is where a message to the guardian of an application goes.
type Recipient struct {
	Phone string
	Email string
}

// errNotStored is returned by recipient for an application not stored yet.
var errNotStored = errors.New("application not stored yet")

// recipient reads the guardian's phone and email from the application with
// a tracking code, or returns errNotStored.
func (s *Store) recipient(ctx context.Context, trackingCode string) (Recipient, error) {
	const q = `
SELECT COALESCE(guardian->>'phone', ''), COALESCE(guardian->>'email', '')
FROM applications WHERE tracking_code = $1`
	var r Recipient
	err := s.db.QueryRowContext(ctx, q, trackingCode).Scan(&r.Phone, &r.Email)
	if errors.Is(err, sql.ErrNoRows) {
		return Recipient{}, errNotStored
	}
	if err != nil {
		return Recipient{}, fmt.Errorf("recipient of a message: %w", err)
	}
	return r, nil
}
