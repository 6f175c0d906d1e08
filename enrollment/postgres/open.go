package postgres

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Open connects to PostgreSQL at url and checks the connection.
func Open(ctx context.Context, url string, maxConns int) (*sqlx.DB, error) {
	db, err := OpenLazy(url, maxConns)
	if err != nil {
		return nil, err
	}
	if err := Ping(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// OpenLazy returns a handle on PostgreSQL at url without connecting: the
// connections are made when needed, so a process can start while the
// database is down and use it once it is back.
func OpenLazy(url string, maxConns int) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// Ping checks that the database answers within five seconds.
func Ping(ctx context.Context, db *sqlx.DB) error {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	return nil
}

// OpenBinary returns a handle on PostgreSQL at dsn whose connections send
// []byte parameters in binary (lib/pq's binary_parameters), for
// WithBinaryWrites: a bytea parameter otherwise travels as hex text, twice
// its size, encoded by the service and decoded by the server, which took a
// third of the time of storing a run's input. dsn is a URL or a
// key=value string.
func OpenBinary(dsn string, maxConns int) (*sqlx.DB, error) {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		q := u.Query()
		q.Set("binary_parameters", "yes")
		u.RawQuery = q.Encode()
		dsn = u.String()
	} else {
		dsn += " binary_parameters=yes"
	}
	return OpenLazy(dsn, maxConns)
}
