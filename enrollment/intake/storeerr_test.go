package intake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// TestUnreachableRealErrors: the errors a real PostgreSQL connection gives
// when the server is away or goes away are taken for an outage, and the
// errors of a bad row are not.
func TestUnreachableRealErrors(t *testing.T) {
	t.Parallel()
	dbURL := testenv.NewDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	open := func(host string) *sqlx.DB {
		v := *u
		v.Host = host
		db, err := sqlx.Open("postgres", v.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	ctx := context.Background()

	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	refused := open(closed).PingContext(ctx)

	// A proxy that is down accepts and hangs up at once.
	proxy := testenv.NewProxy(t, u.Host)
	viaProxy := open(proxy.Addr())
	tx, err := viaProxy.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	proxy.Down()
	_, cut := tx.ExecContext(ctx, `SELECT 1`)
	tx.Rollback()
	_, hungUp := viaProxy.ExecContext(ctx, `SELECT 1`)

	direct := open(u.Host)
	_, shutdown := direct.ExecContext(ctx, `SELECT pg_terminate_backend(pg_backend_pid())`)
	_, checkViolation := direct.ExecContext(ctx, `CREATE TEMP TABLE t (n int CHECK (n < 3)); INSERT INTO t VALUES (9)`)
	_, tooBig := direct.ExecContext(ctx, `CREATE TEMP TABLE u (s text UNIQUE); INSERT INTO u SELECT string_agg(floor(random() * 10)::int::text, '') FROM generate_series(1, 9000)`)
	_, badDate := direct.ExecContext(ctx, `SELECT CAST('2021-02-29' AS date)`)

	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", refused, true},
		{"connection cut in a transaction", cut, true},
		{"server hangs up", hungUp, true},
		{"backend terminated", shutdown, true},
		{"check violation", checkViolation, false},
		{"index row too large (54000)", tooBig, false},
		{"invalid date", badDate, false},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if got := unreachable(ctx, fmt.Errorf("insert applications: %w", c.err)); got != c.want {
			t.Errorf("unreachable(%s: %v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
	if d := describe(badDate); strings.Contains(d, "2021-02-29") {
		t.Errorf("describe(%v) = %q: quotes the value", badDate, d)
	}
}

func TestUnreachableCodes(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]bool{
		"08006": true, "53100": true, "53300": true, "57P01": true, "57P03": true, "40001": true, "40P01": true,
		"25006": true, "28P01": true, "58030": true,
		"23505": false, "23514": false, "23503": false, "22P02": false, "54000": false, "42703": false, "XX000": false,
	} {
		err := &pq.Error{Code: pqerror.Code(code), Message: "m"}
		if got := unreachable(context.Background(), err); got != want {
			t.Errorf("unreachable(SQLSTATE %s) = %v, want %v", code, got, want)
		}
	}
	if unreachable(context.Background(), errors.New("application x was neither stored nor matched")) {
		t.Errorf("an error of no known kind was taken for an outage")
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if !unreachable(done, errors.New("whatever")) {
		t.Errorf("an error after the worker's own deadline was counted against the entry")
	}
}
