package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// TestTransactRetriesSerializationFailure runs the textbook write skew at
// SERIALIZABLE on the real server: each of two transactions reads the
// other's kind of row and then writes its own, both having read before
// either writes. PostgreSQL lets one commit and fails the other with a
// serialization failure (40001); Transact runs that one again, and the
// second attempt, which reads the first's row, commits.
func TestTransactRetriesSerializationFailure(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE skew (kind text NOT NULL, seen bigint NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	store := postgres.New(db)

	var read sync.WaitGroup // both first attempts have read
	read.Add(2)
	var attempts [2]atomic.Int32
	done := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	run := func(i int, mine, theirs string) error {
		defer close(done[i])
		return store.Transact(ctx, sql.LevelSerializable, func(tx *sqlx.Tx) error {
			n := attempts[i].Add(1)
			var seen int64
			if err := tx.GetContext(ctx, &seen, `SELECT count(*) FROM skew WHERE kind = $1`, theirs); err != nil {
				return err
			}
			switch n {
			case 1:
				read.Done()
				read.Wait()
			case 2:
				// A retry that raced the other's commit could fail
				// again (Transact backs off, but this machine may be
				// slow): let the other finish first, within reason.
				select {
				case <-done[1-i]:
				case <-time.After(5 * time.Second):
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO skew (kind, seen) VALUES ($1, $2)`, mine, seen)
			return err
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- run(0, "a", "b") }()
	go func() { errs <- run(1, "b", "a") }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("Transact() = %v, want both transactions committed", err)
		}
	}

	a, b := attempts[0].Load(), attempts[1].Load()
	if !(a == 1 && b == 2 || a == 2 && b == 1) {
		t.Errorf("attempts = %d and %d, want one transaction run once and the other twice", a, b)
	}
	// The serial order: the one that ran again saw the other's row.
	var seen []int64
	if err := db.SelectContext(ctx, &seen, `SELECT seen FROM skew ORDER BY seen`); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != 0 || seen[1] != 1 {
		t.Errorf("rows saw %v of the other kind, want [0 1] (a serial order)", seen)
	}
}

// TestTransactRollsBack: an error of fn is returned as it is, after one
// attempt, and nothing fn wrote stays.
func TestTransactRollsBack(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `CREATE TABLE rolled (n int)`); err != nil {
		t.Fatal(err)
	}
	store := postgres.New(db)
	refused := errors.New("refused")
	attempts := 0
	err := store.Transact(ctx, 0, func(tx *sqlx.Tx) error {
		attempts++
		if _, err := tx.ExecContext(ctx, `INSERT INTO rolled VALUES (1)`); err != nil {
			return err
		}
		return refused
	})
	if !errors.Is(err, refused) || attempts != 1 {
		t.Errorf("Transact() = %v after %d attempts, want %v after 1", err, attempts, refused)
	}
	var n int
	if err := db.GetContext(ctx, &n, `SELECT count(*) FROM rolled`); err != nil || n != 0 {
		t.Errorf("rolled has %d rows (%v), want none", n, err)
	}
}

// TestTransactGivesUp: a transaction that keeps failing to serialize is
// tried five times, then its last error is returned.
func TestTransactGivesUp(t *testing.T) {
	t.Parallel()
	store := postgres.New(testenv.DB(t))
	attempts := 0
	err := store.Transact(context.Background(), sql.LevelSerializable, func(tx *sqlx.Tx) error {
		attempts++
		return &pq.Error{Code: "40001", Message: "could not serialize access"}
	})
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || pqErr.Code != "40001" || attempts != 5 {
		t.Errorf("Transact() = %v after %d attempts, want the serialization failure after 5", err, attempts)
	}
}
