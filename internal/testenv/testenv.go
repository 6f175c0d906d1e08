// Package testenv gives tests their own PostgreSQL database and Redis key
// space on the real servers. Tests skip when a server is unreachable,
// except in CI (CI=true) or with TUYENSINH_TEST_REQUIRE_SERVICES=1, where
// they fail.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the PostgreSQL driver
	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/migrations"
)

// DatabaseURL is the server tests create their databases on:
// TUYENSINH_TEST_DATABASE_URL, or the local default.
func DatabaseURL() string {
	if u := os.Getenv("TUYENSINH_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// RedisURL is the Redis server of the tests: TUYENSINH_TEST_REDIS_URL, or
// the local default.
func RedisURL() string {
	if u := os.Getenv("TUYENSINH_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

func required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("TUYENSINH_TEST_REQUIRE_SERVICES") == "1"
}

func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if required() {
		t.Fatalf("%s is required (CI) but unreachable: %v", what, err)
	}
	t.Skipf("%s unreachable, skipping: %v", what, err)
}

// RandomName returns a short random lowercase name with a prefix.
func RandomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

var (
	templateOnce sync.Once
	template     string
	templateErr  error
)

// WithDatabase returns url with its database name replaced.
func WithDatabase(u, name string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Path = "/" + name
	return p.String()
}

// NewDatabase creates a fresh, migrated database for one test, dropped when
// the test ends, and returns its URL. Databases are cloned from a migrated
// template (see makeTemplate), which takes milliseconds.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin, err := sqlx.Open("postgres", DatabaseURL())
	if err != nil {
		unavailable(t, "PostgreSQL", err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		unavailable(t, "PostgreSQL", err)
	}
	templateOnce.Do(func() { template, templateErr = makeTemplate(ctx, admin) })
	if templateErr != nil {
		t.Fatalf("migrate template database: %v", templateErr)
	}
	name := RandomName("ts_test_")
	for attempt := 0; ; attempt++ {
		_, err = admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, template))
		if err == nil {
			break
		}
		// Another process may be cloning the same template this instant.
		if attempt < 50 && strings.Contains(err.Error(), "is being accessed by other users") {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sqlx.Open("postgres", DatabaseURL())
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name))
	})
	return WithDatabase(DatabaseURL(), name)
}

// DB returns a connection to a fresh, migrated database for one test.
func DB(t testing.TB) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(8)
	t.Cleanup(func() { db.Close() })
	return db
}

// makeTemplate returns the database, migrated to the latest schema, that
// test databases are cloned from. Its name carries a digest of the
// migrations, so every test process of every run shares it until the
// schema changes; an advisory lock lets one process build it while the
// others wait. Templates of older schemas, and test databases that killed
// runs left behind, are dropped.
func makeTemplate(ctx context.Context, admin *sqlx.DB) (string, error) {
	name, err := templateName()
	if err != nil {
		return "", err
	}
	conn, err := admin.Connx(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	const lockKey = 0x74730001 // "ts" templates
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey)

	var exists bool
	if err := conn.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name); err != nil {
		return "", err
	}
	if !exists {
		// Built under another name and renamed once complete, so a
		// template is never seen half-migrated.
		building := RandomName("ts_build_")
		if _, err := conn.ExecContext(ctx, `CREATE DATABASE `+building); err != nil {
			return "", err
		}
		db, err := sqlx.Open("postgres", WithDatabase(DatabaseURL(), building))
		if err != nil {
			return "", err
		}
		_, err = migrations.Up(ctx, db.DB, nil)
		db.Close()
		if err != nil {
			return "", err
		}
		if _, err := conn.ExecContext(ctx, `ALTER DATABASE `+building+` RENAME TO `+name); err != nil {
			return "", err
		}
	}
	dropStale(ctx, conn, name)
	return name, nil
}

// templateName names the template after a digest of the migrations.
func templateName() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	return "ts_tmpl_" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

// dropStale drops templates of other schemas, and test or build databases
// that killed runs left, once they are two hours old and nobody is
// connected to them (a run of another checkout may still clone its own).
func dropStale(ctx context.Context, conn *sqlx.Conn, keep string) {
	var names []string
	const q = `SELECT datname FROM pg_database
WHERE datname <> $1 AND (datname LIKE 'ts_tmpl_%' OR datname LIKE 'ts_test_%' OR datname LIKE 'ts_build_%')
AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = pg_database.datname)
AND (pg_stat_file('base/' || oid || '/PG_VERSION')).modification < now() - interval '2 hours'`
	if err := conn.SelectContext(ctx, &names, q, keep); err != nil {
		return
	}
	for _, n := range names {
		conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+n)
	}
}

// Redis returns a client of the test Redis server and a key prefix of the
// test's own; keys under the prefix are deleted when the test ends.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opt, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("TUYENSINH_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		unavailable(t, "Redis", err)
	}
	prefix := RandomName("tst")
	t.Cleanup(func() {
		defer rdb.Close()
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	return rdb, prefix
}
