package intake_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
	"github.com/tuyensinh/tuyensinh/enrollment/outbox"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

func TestChildKeyHidesIDNumber(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.app(t, 3)
	id := a.Child.IDNumber
	k := intake.Keys{Prefix: "ts", ChildSecret: []byte("0123456789abcdef")}
	name := k.Child(a.Level, a.SchoolYear, id)
	if strings.Contains(name, id) || strings.Contains(name, id[3:]) {
		t.Errorf("Child(%s) = %q, contains the ID number", id, name)
	}
	if again := k.Child(a.Level, a.SchoolYear, id); again != name {
		t.Errorf("Child is not stable: %q then %q", name, again)
	}
	other := intake.Keys{Prefix: "ts", ChildSecret: []byte("another secret of 16+")}
	if o := other.Child(a.Level, a.SchoolYear, id); o == name {
		t.Errorf("Child gives %q under two secrets: the secret does not key it", o)
	}
	// Nothing the intake writes names the child by number.
	if _, err := b.queue.Submit(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	keys, err := b.rdb.Keys(t.Context(), b.keys.Prefix+":*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("KEYS = %v, %v", keys, err)
	}
	for _, key := range keys {
		if strings.Contains(key, id) {
			t.Errorf("Redis key %q contains the child's ID number", key)
		}
	}
}

func TestDuplicateQueuesCodeResend(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.newQueue(t, intake.Config{Resender: outbox.NewStore(b.db)}, b.rdb, true)
	first, err := q.Submit(t.Context(), b.app(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // a stranger tries again and again: one message a day
		changed := b.app(t, 1)
		changed.Choices = []string{"TH-BADINH-02"}
		_, err = q.Submit(t.Context(), changed)
		var e *enrollment.Error
		if !errors.As(err, &e) || e.Code != enrollment.CodeDuplicate || e.TrackingCode != "" {
			t.Fatalf("changed resubmission = %v, want duplicate without a code", err)
		}
	}
	if n := b.count(t, `SELECT count(*) FROM outbox WHERE kind = 'code_resend' AND tracking_code = $1`, first.TrackingCode); n != 1 {
		t.Errorf("code re-sends queued for the first application = %d, want 1", n)
	}
}

func TestDuplicateAnsweredWithoutOutbox(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The outbox's database cannot be reached: the refusal is answered
	// anyway.
	down, err := sqlx.Open("postgres", "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	q := b.newQueue(t, intake.Config{Resender: outbox.NewStore(down)}, b.rdb, false)
	if _, err := q.Submit(t.Context(), b.app(t, 1)); err != nil {
		t.Fatal(err)
	}
	changed := b.app(t, 1)
	changed.Choices = []string{"TH-BADINH-02"}
	_, err = q.Submit(t.Context(), changed)
	var e *enrollment.Error
	if !errors.As(err, &e) || e.Code != enrollment.CodeDuplicate {
		t.Errorf("changed resubmission with the outbox down = %v, want duplicate", err)
	}
}

func TestStoredStatusLeavesRedis(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.app(t, 2)
	rec, err := b.queue.Submit(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	const grace = time.Minute
	b.runWorker(t, intake.WorkerConfig{StatusGrace: grace}, nil)
	waitFor(t, "the status document of the stored application", func() bool {
		doc, ok, err := b.queue.Status(t.Context(), rec.TrackingCode)
		return err == nil && ok && contains(doc, `"status":"received"`)
	})
	if ttl := b.rdb.TTL(t.Context(), b.keys.App(rec.TrackingCode)).Val(); ttl <= 0 || ttl > grace {
		t.Errorf("status document TTL = %v, want at most the grace %v", ttl, grace)
	}
	// The duplicate guard outlives the window.
	if ttl := b.rdb.TTL(t.Context(), b.keys.Child(a.Level, a.SchoolYear, a.Child.IDNumber)).Val(); ttl < 30*24*time.Hour {
		t.Errorf("duplicate guard TTL = %v, want the window's length at least", ttl)
	}
}

func TestStoredDuplicateHidesFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.app(t, 4)
	first, err := b.queue.Submit(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	b.runWorker(t, intake.WorkerConfig{}, nil)
	waitFor(t, "the first application stored", func() bool {
		return b.count(t, `SELECT count(*) FROM applications WHERE tracking_code = $1`, first.TrackingCode) == 1
	})
	// The duplicate guard is lost (Redis restored from an old file): a
	// second registration of the child gets through intake.
	if err := b.rdb.Del(t.Context(), b.keys.Child(a.Level, a.SchoolYear, a.Child.IDNumber)).Err(); err != nil {
		t.Fatal(err)
	}
	changed := b.app(t, 4)
	changed.Choices = []string{"TH-BADINH-02"}
	second, err := b.queue.Submit(t.Context(), changed)
	if err != nil || second.Repeated {
		t.Fatalf("second registration with the guard lost = %+v, %v; want accepted", second, err)
	}
	var doc []byte
	waitFor(t, "the second registration stored as a duplicate", func() bool {
		d, ok, err := b.queue.Status(t.Context(), second.TrackingCode)
		doc = d
		return err == nil && ok && contains(d, `"status":"duplicate"`)
	})
	if contains(doc, first.TrackingCode) {
		t.Errorf("duplicate's status %s reveals the first code", doc)
	}
	if n := b.count(t, `SELECT count(*) FROM outbox WHERE kind = 'code_resend' AND tracking_code = $1`, first.TrackingCode); n != 1 {
		t.Errorf("code re-sends queued for the first application = %d, want 1", n)
	}
}

func TestDirectDuplicateHidesFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := intake.NewDirect(b.store, b.metrics)
	first, err := d.Submit(t.Context(), b.app(t, 6))
	if err != nil {
		t.Fatal(err)
	}
	changed := b.app(t, 6)
	changed.Choices = []string{"TH-BADINH-02"}
	_, err = d.Submit(t.Context(), changed)
	var e *enrollment.Error
	if !errors.As(err, &e) || e.Code != enrollment.CodeDuplicate || e.TrackingCode != "" || strings.Contains(e.Message+e.MessageEN, first.TrackingCode) {
		t.Errorf("second registration in direct mode = %v (%+v), want duplicate without the first code", err, e)
	}
	if n := b.count(t, `SELECT count(*) FROM outbox WHERE kind = 'code_resend' AND tracking_code = $1`, first.TrackingCode); n != 1 {
		t.Errorf("code re-sends queued for the first application = %d, want 1", n)
	}
}

// TestDirectAndQueueRefuseAlike: with its PostgreSQL down the direct
// intake refuses with the queue's own words for Redis down (one refusal,
// built once), carrying the cause for the log and never in the messages.
func TestDirectAndQueueRefuseAlike(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dbURL := testenv.NewDatabase(t)
	proxy := testenv.NewProxy(t, pgAddr(t))
	viaProxy, err := sqlx.Open("postgres", withHost(t, dbURL, proxy.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer viaProxy.Close()
	proxy.Down()
	_, err = intake.NewDirect(postgres.New(viaProxy), b.metrics).Submit(t.Context(), b.app(t, 1))
	var direct *enrollment.Error
	if !errors.As(err, &direct) || direct.Code != enrollment.CodeUnavailable || direct.Err == nil {
		t.Fatalf("direct Submit with PostgreSQL down = %v, want unavailable with its cause", err)
	}
	if strings.Contains(direct.Message+direct.MessageEN, "pq") || strings.Contains(direct.Message+direct.MessageEN, proxy.Addr()) {
		t.Errorf("direct refusal %q / %q shows its cause", direct.Message, direct.MessageEN)
	}

	// A Redis that refuses connections: the queue knows the registration
	// was not saved, as the direct intake knows when it cannot connect.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	rdb := redis.NewClient(&redis.Options{Addr: closed, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	q := b.newQueue(t, intake.Config{RetryAfter: 5 * time.Second}, rdb, false)
	_, err = q.Submit(t.Context(), b.app(t, 2))
	var queued *enrollment.Error
	if !errors.As(err, &queued) {
		t.Fatalf("queue Submit with Redis down = %v, want an *enrollment.Error", err)
	}
	if direct.Message != queued.Message || direct.MessageEN != queued.MessageEN || direct.RetryAfter != queued.RetryAfter {
		t.Errorf("direct refusal %q / %q (%v), queue's %q / %q (%v): want the same words",
			direct.Message, direct.MessageEN, direct.RetryAfter, queued.Message, queued.MessageEN, queued.RetryAfter)
	}
}
