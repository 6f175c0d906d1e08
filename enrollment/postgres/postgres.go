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

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// DB is the service's PostgreSQL store.
type DB struct{ db *sqlx.DB }

// New returns the store on db.
func New(db *sqlx.DB) *DB { return &DB{db: db} }

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
// up to five times in all, so fn must do nothing outside the transaction
// that cannot be repeated.
func (d *DB) Transact(ctx context.Context, iso sql.IsolationLevel, fn func(*sqlx.Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		err = d.transactOnce(ctx, iso, fn)
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return fmt.Errorf("transaction failed %d times: %w", maxTxAttempts, err)
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
