// Package postgres is the one home of the service's SQL: a file per concern
// (applications, reference data, staff, placement, parents' results), each
// query a constant beside the method that runs it, and one Transact helper
// that every multi-statement write goes through.
//
// Every exported method wraps its error once with what it was doing
// (defer wrap(&err, "…")), so a caller handles an error once and the log
// line says where it came from. Errors the business owns (an
// *enrollment.Error) pass through unwrapped in meaning: errors.As still
// finds them.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// DB is the service's PostgreSQL store.
type DB struct {
	db *sqlx.DB
	// binary, when set, stores the runs (see WithBinaryWrites).
	binary *sqlx.DB
}

// New returns the store on db.
func New(db *sqlx.DB) *DB { return &DB{db: db} }

// WithBinaryWrites makes the store keep placement runs through binary, a
// handle opened by OpenBinary on the same database, and returns it: their
// inputs (megabytes of bytea) then travel as they are. The caller closes
// binary.
func (d *DB) WithBinaryWrites(binary *sqlx.DB) *DB {
	d.binary = binary
	return d
}

// Handle returns the underlying database handle, for the few places that
// hand it to a library of their own (the session store, migrations).
func (d *DB) Handle() *sqlx.DB { return d.db }

// maxTxAttempts bounds how often Transact runs a transaction that failed on
// a serialization failure or a deadlock.
const maxTxAttempts = 5

// Transact runs fn in a transaction at the isolation level iso (0 for the
// server's default, read committed), committing when fn returns nil and
// rolling back when it returns an error or panics. A transaction that fails
// with a serialization failure (40001) or a deadlock (40P01) is run again,
// up to five times in all, after a short pause that grows with each
// attempt, so fn must do nothing outside the transaction that cannot be
// repeated.
func (d *DB) Transact(ctx context.Context, iso sql.IsolationLevel, fn func(*sqlx.Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		if attempt > 1 && !pause(ctx, attempt) {
			return err
		}
		err = d.transactOnce(ctx, iso, fn)
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return fmt.Errorf("transaction failed %d times: %w", maxTxAttempts, err)
}

// pause waits before the attempt-th run of a transaction, and reports
// false when ctx ends first. A retry run at once meets the transaction it
// conflicted with still committing and fails again; 5 ms times the attempt,
// plus up to as much again at random so that two losers do not meet
// again, lets the winner finish.
func pause(ctx context.Context, attempt int) bool {
	step := time.Duration(attempt-1) * 5 * time.Millisecond
	t := time.NewTimer(step + rand.N(step))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (d *DB) transactOnce(ctx context.Context, iso sql.IsolationLevel, fn func(*sqlx.Tx) error) (err error) {
	tx, err := d.db.BeginTxx(ctx, &sql.TxOptions{Isolation: iso})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
			return
		}
		if err = tx.Commit(); err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
	}()
	return fn(tx)
}

// retryable reports whether err is a serialization failure or a deadlock,
// which PostgreSQL asks the client to retry.
func retryable(err error) bool {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return false
	}
	return pqErr.Code == "40001" || pqErr.Code == "40P01"
}

// wrap adds context to *errp when it is not nil: the one place an exported
// method's error is given its "what was being done".
func wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}
