package postgres

import (
	"context"
	"fmt"
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
