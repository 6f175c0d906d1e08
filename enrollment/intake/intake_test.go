package intake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

var testNow = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

type bundle struct {
	db      *sqlx.DB
	store   *postgres.DB
	cat     *enrollment.Catalog
	rdb     *redis.Client
	keys    intake.Keys
	metrics *intake.Metrics
	queue   *intake.Queue
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{db: testenv.DB(t)}
	b.store = postgres.New(b.db)
	if err := b.store.SaveReference(t.Context(), democity.Reference(testNow)); err != nil {
		t.Fatal(err)
	}
	var err error
	if b.cat, err = b.store.LoadCatalog(t.Context()); err != nil {
		t.Fatal(err)
	}
	var prefix string
	b.rdb, prefix = testenv.Redis(t)
	b.keys = intake.Keys{Prefix: prefix}
	b.metrics = intake.NewMetrics(nil)
	b.queue = b.newQueue(t, intake.Config{}, b.rdb, false)
	return b
}

func (b *bundle) newQueue(t *testing.T, cfg intake.Config, rdb *redis.Client, autoPipeline bool) *intake.Queue {
	t.Helper()
	cfg.Keys = b.keys
	cfg.NowFunc = func() time.Time { return testNow }
	q, err := intake.NewQueue(rdb, cfg, b.metrics, autoPipeline)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// form returns the i-th distinct valid registration.
func form(i int) *enrollment.Form {
	dob := time.Date(2021, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)
	sex := enrollment.Female
	if i%2 == 0 {
		sex = enrollment.Male
	}
	return &enrollment.Form{Registration: enrollment.Registration{
		Level: enrollment.LevelLop1, SchoolYear: 2027,
		Child: enrollment.Child{IDNumber: enrollment.MakeIDNumber("001", dob, sex, i), FullName: "Lê Văn Bình",
			DateOfBirth: dob.Format(time.DateOnly), Sex: sex},
		Residence: enrollment.Residence{Current: enrollment.Address{Ward: "00004", Group: "TDP 2"}},
		Guardian:  enrollment.Guardian{FullName: "Lê Văn Cường", Relation: "father", Phone: "0987654321"},
		Choices:   []string{"TH-BADINH-01"},
	}, Consent: true}
}

func (b *bundle) app(t *testing.T, i int) *enrollment.Application {
	t.Helper()
	a, err := b.cat.Check(form(i), testNow)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// runWorker runs a worker until the test ends.
func (b *bundle) runWorker(t *testing.T, cfg intake.WorkerConfig, saver intake.Saver) {
	t.Helper()
	cfg.Keys = b.keys
	if cfg.Consumer == "" {
		cfg.Consumer = "w1"
	}
	if saver == nil {
		saver = b.store
	}
	w := intake.NewWorker(b.rdb, saver, cfg, b.metrics)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			t.Errorf("worker: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// waitFor polls cond until it holds, failing the test after a generous
// bound. It bounds how long a broken build hangs, it times nothing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *bundle) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := b.db.GetContext(context.Background(), &n, q, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

func (b *bundle) state(t *testing.T) intake.State {
	t.Helper()
	st, err := intake.ReadState(context.Background(), b.rdb, b.keys)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSubmitAndDrain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.queue = b.newQueue(t, intake.Config{}, b.rdb, true) // as served: requests' commands pipelined together
	const n = 600
	codes := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range 16 {
		wg.Go(func() {
			for i := g; i < n; i += 16 {
				rec, err := b.queue.Submit(t.Context(), b.app(t, i))
				if err != nil {
					errs <- err
					return
				}
				codes[i] = rec.TrackingCode
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := b.state(t); st.Length != n {
		t.Fatalf("stream length = %d, want %d before any worker runs", st.Length, n)
	}
	doc, ok, err := b.queue.Status(t.Context(), codes[0])
	var queued enrollment.StatusView
	if err != nil || !ok || json.Unmarshal(doc, &queued) != nil {
		t.Fatalf("Status before draining = %s, %v, %v", doc, ok, err)
	}
	if queued.Status != enrollment.StatusQueued || queued.TrackingCode != codes[0] || !queued.SubmittedAt.Equal(testNow) || queued.StatusText == "" {
		t.Errorf("Status before draining = %+v, want queued with its code and submission time", queued)
	}

	b.runWorker(t, intake.WorkerConfig{BatchSize: 100}, nil)
	b.runWorker(t, intake.WorkerConfig{BatchSize: 100, Consumer: "w2"}, nil)
	waitFor(t, "every registration stored", func() bool { return b.count(t, `SELECT count(*) FROM applications`) == n })
	waitFor(t, "the stream emptied", func() bool { st := b.state(t); return st.Length == 0 && st.Pending == 0 })
	if got := b.count(t, `SELECT count(DISTINCT tracking_code) FROM applications WHERE tracking_code = ANY($1)`, codesArray(codes)); got != n {
		t.Errorf("stored %d of the %d tracking codes given out", got, n)
	}
	doc, ok, err = b.queue.Status(t.Context(), codes[n-1])
	if err != nil || !ok || !contains(doc, `"status":"received"`) {
		t.Errorf("Status after draining = %s, %v, %v; want received", doc, ok, err)
	}
}

func TestSubmitSameChild(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first, err := b.queue.Submit(t.Context(), b.app(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.queue.Submit(t.Context(), b.app(t, 1))
	if err != nil || !again.Repeated || again.TrackingCode != first.TrackingCode {
		t.Errorf("identical resubmission = %+v, %v; want repeated with %s", again, err, first.TrackingCode)
	}
	changed := b.app(t, 1)
	changed.Choices = []string{"TH-BADINH-02"}
	_, err = b.queue.Submit(t.Context(), changed)
	var e *enrollment.Error
	if !errors.As(err, &e) || e.Code != enrollment.CodeDuplicate {
		t.Fatalf("changed resubmission = %v, want duplicate", err)
	}
	// The refusal tells nothing of the first application: whoever knows a
	// child's ID number can send a form.
	if e.TrackingCode != "" || strings.Contains(e.Message+e.MessageEN, first.TrackingCode) || strings.Contains(e.Message+e.MessageEN, changed.Child.IDNumber) {
		t.Errorf("duplicate refusal %+v reveals the first code or the ID number", e)
	}
	if st := b.state(t); st.Length != 1 {
		t.Errorf("stream length = %d, want 1", st.Length)
	}
}

func TestSubmitRace(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Twenty tabs submit the same child at the same instant: one entry.
	var wg sync.WaitGroup
	codes := make(chan string, 20)
	for range 20 {
		wg.Go(func() {
			rec, err := b.queue.Submit(context.Background(), b.app(t, 5))
			if err == nil {
				codes <- rec.TrackingCode
			}
		})
	}
	wg.Wait()
	close(codes)
	seen := map[string]bool{}
	for c := range codes {
		seen[c] = true
	}
	if len(seen) != 1 {
		t.Errorf("tracking codes given out = %d, want 1", len(seen))
	}
	if st := b.state(t); st.Length != 1 {
		t.Errorf("stream length = %d, want 1", st.Length)
	}
}

func TestCeiling(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.newQueue(t, intake.Config{Ceiling: 3, RetryAfter: 7 * time.Second}, b.rdb, false)
	for i := range 3 {
		if _, err := q.Submit(t.Context(), b.app(t, i)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := q.Submit(t.Context(), b.app(t, 3))
	var e *enrollment.Error
	if !errors.As(err, &e) || e.Code != enrollment.CodeBusy || e.RetryAfter != 7*time.Second {
		t.Fatalf("Submit past the ceiling = %v, want busy with Retry-After 7s", err)
	}
	if st := b.state(t); st.Length != 3 {
		t.Errorf("stream length = %d, want 3 (nothing added past the ceiling)", st.Length)
	}
	// The refused child was not marked as registered: it can come back.
	b.runWorker(t, intake.WorkerConfig{}, nil)
	waitFor(t, "the backlog drained", func() bool { return b.state(t).Length == 0 })
	if _, err := q.Submit(t.Context(), b.app(t, 3)); err != nil {
		t.Errorf("Submit after draining = %v, want accepted", err)
	}
}

func TestRedisDown(t *testing.T) {
	t.Parallel()
	for _, autoPipeline := range []bool{false, true} {
		t.Run(fmt.Sprintf("autopipeline=%v", autoPipeline), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			proxy := testenv.NewProxy(t, b.rdb.Options().Addr)
			rdb := redis.NewClient(&redis.Options{Addr: proxy.Addr(), DB: b.rdb.Options().DB, MaxRetries: -1})
			t.Cleanup(func() { rdb.Close() })
			q := b.newQueue(t, intake.Config{}, rdb, autoPipeline)
			if _, err := q.Submit(t.Context(), b.app(t, 0)); err != nil {
				t.Fatalf("Submit with Redis up = %v", err)
			}
			proxy.Down()
			_, err := q.Submit(t.Context(), b.app(t, 1))
			var e *enrollment.Error
			if !errors.As(err, &e) || e.Code != enrollment.CodeUnavailable || e.RetryAfter == 0 {
				t.Fatalf("Submit with Redis down = %v, want unavailable with Retry-After", err)
			}
			proxy.Up()
			if _, err := q.Submit(t.Context(), b.app(t, 1)); err != nil {
				t.Errorf("Submit after Redis is back = %v, want accepted", err)
			}
			if st := b.state(t); st.Length != 2 {
				t.Errorf("stream length = %d, want 2", st.Length)
			}
		})
	}
}

func TestDuplicateDeliveryInsertsOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := b.queue.Submit(t.Context(), b.app(t, 1)); err != nil {
		t.Fatal(err)
	}
	// The same entry appears twice in the stream (a producer retried after
	// a lost reply).
	msgs, err := b.rdb.XRange(t.Context(), b.keys.Stream(), "-", "+").Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("XRANGE = %v, %v", msgs, err)
	}
	if err := b.rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: b.keys.Stream(), Values: msgs[0].Values}).Err(); err != nil {
		t.Fatal(err)
	}
	b.runWorker(t, intake.WorkerConfig{BatchSize: 1}, nil)
	waitFor(t, "both entries handled", func() bool { st := b.state(t); return st.Length == 0 && st.Pending == 0 })
	if n := b.count(t, `SELECT count(*) FROM applications`); n != 1 {
		t.Errorf("applications = %d, want 1", n)
	}
	if st := b.state(t); st.DeadLetters != 0 {
		t.Errorf("dead letters = %d, want 0", st.DeadLetters)
	}
}

// readAndAbandon delivers entries to consumer as a worker that then died
// would have: read, never acknowledged.
func (b *bundle) readAndAbandon(t *testing.T, consumer string) int {
	t.Helper()
	if err := intake.EnsureGroup(t.Context(), b.rdb, b.keys); err != nil {
		t.Fatal(err)
	}
	res, err := b.rdb.XReadGroup(t.Context(), &redis.XReadGroupArgs{Group: b.keys.Group(), Consumer: consumer,
		Streams: []string{b.keys.Stream(), ">"}, Count: 100, Block: -1}).Result()
	if err != nil {
		t.Fatal(err)
	}
	return len(res[0].Messages)
}

func TestRestartRereadsOwnPending(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 5 {
		if _, err := b.queue.Submit(t.Context(), b.app(t, i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.readAndAbandon(t, "w1"); n != 5 {
		t.Fatalf("abandoned %d entries, want 5", n)
	}
	// The same worker restarts; reclaiming is far off, so only re-reading
	// its own pending entries can store them.
	b.runWorker(t, intake.WorkerConfig{Consumer: "w1", MinIdle: time.Hour}, nil)
	waitFor(t, "pending entries stored", func() bool { return b.count(t, `SELECT count(*) FROM applications`) == 5 })
	waitFor(t, "pending cleared", func() bool { return b.state(t).Pending == 0 })
}

func TestReclaimFromDeadWorker(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 5 {
		if _, err := b.queue.Submit(t.Context(), b.app(t, i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.readAndAbandon(t, "dead"); n != 5 {
		t.Fatalf("abandoned %d entries, want 5", n)
	}
	b.runWorker(t, intake.WorkerConfig{Consumer: "alive", MinIdle: 200 * time.Millisecond, ReclaimEvery: 100 * time.Millisecond}, nil)
	waitFor(t, "reclaimed entries stored", func() bool { return b.count(t, `SELECT count(*) FROM applications`) == 5 })
	waitFor(t, "pending cleared", func() bool { return b.state(t).Pending == 0 })
}

func TestDeadLetters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	good := []string{}
	for i := range 3 {
		rec, err := b.queue.Submit(t.Context(), b.app(t, i))
		if err != nil {
			t.Fatal(err)
		}
		good = append(good, rec.TrackingCode)
	}
	// An entry that is not an application at all.
	if err := b.rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: b.keys.Stream(), Values: []any{"a", "{not json"}}).Err(); err != nil {
		t.Fatal(err)
	}
	// An application the database refuses: its level and year have no
	// window, so the foreign key fails every time.
	bad := b.app(t, 99)
	bad.SchoolYear = 2031
	bad.ID, bad.TrackingCode = "00000000-0000-7000-8000-000000000099", enrollment.NewTrackingCode()
	payload := fmt.Sprintf(`{"id":%q,"tracking_code":%q,"level":"lop1","school_year":2031,"child":{"id_number":%q,"full_name":"X","date_of_birth":"2021-01-01","sex":"male"},"residence":{"permanent":{},"current":{"ward":"00004"}},"guardian":{"full_name":"Y","relation":"father","phone":"0987654321"},"priority_group":0,"choices":["TH-BADINH-01"],"submitted_at":"2026-11-27T03:00:00Z"}`,
		bad.ID, bad.TrackingCode, bad.Child.IDNumber)
	if err := b.rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: b.keys.Stream(), Values: []any{"a", payload}}).Err(); err != nil {
		t.Fatal(err)
	}
	for i := 3; i < 6; i++ {
		rec, err := b.queue.Submit(t.Context(), b.app(t, i))
		if err != nil {
			t.Fatal(err)
		}
		good = append(good, rec.TrackingCode)
	}

	b.runWorker(t, intake.WorkerConfig{MaxDeliveries: 3}, nil)
	waitFor(t, "two dead letters", func() bool { return b.state(t).DeadLetters == 2 })
	waitFor(t, "the stream emptied", func() bool { st := b.state(t); return st.Length == 0 && st.Pending == 0 })
	if n := b.count(t, `SELECT count(*) FROM applications WHERE tracking_code = ANY($1)`, codesArray(good)); n != len(good) {
		t.Errorf("good applications stored = %d, want %d", n, len(good))
	}
	dead, err := b.rdb.XRange(t.Context(), b.keys.Dead(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	// The undecodable entry goes at once; the refused one after its third
	// refusal, counted by the worker.
	failures := map[string]string{}
	for _, m := range dead {
		r, _ := m.Values["reason"].(string)
		n, _ := m.Values["failures"].(string)
		failures[r[:min(len(r), 22)]] = n
		if m.Values["a"] == nil || m.Values["entry"] == nil {
			t.Errorf("dead letter %v lacks the entry or its payload", m.Values)
		}
	}
	want := map[string]string{"cannot decode applicat": "1", "database refused: SQLS": "3"}
	if diff := cmp.Diff(want, failures); diff != "" {
		t.Errorf("dead letters by reason and failures (-want +got):\n%s", diff)
	}
	if n, err := b.rdb.HLen(t.Context(), b.keys.Failures()).Result(); err != nil || n != 0 {
		t.Errorf("failure counts left = %d, %v; want none once the entries are dead-lettered", n, err)
	}
}

func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dbURL := testenv.NewDatabase(t)
	// The worker reaches PostgreSQL through a proxy the test can cut.
	direct, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	store := postgres.New(direct)
	if err := store.SaveReference(t.Context(), democity.Reference(testNow)); err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, pgAddr(t))
	viaProxy, err := sqlx.Open("postgres", withHost(t, dbURL, proxy.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer viaProxy.Close()
	proxy.Down()

	const n = 50
	for i := range n {
		if _, err := b.queue.Submit(t.Context(), b.app(t, i)); err != nil {
			t.Fatalf("Submit while PostgreSQL is down = %v, want accepted", err)
		}
	}
	b.runWorker(t, intake.WorkerConfig{BatchSize: 20, MaxDeliveries: 2}, postgres.New(viaProxy))
	time.Sleep(time.Second) // let the worker fail a few times
	if got := count(t, direct, `SELECT count(*) FROM applications`); got != 0 {
		t.Fatalf("stored %d while PostgreSQL was unreachable", got)
	}
	if st := b.state(t); st.Length != n || st.DeadLetters != 0 {
		t.Fatalf("during the outage: %+v, want %d entries kept and no dead letters", st, n)
	}
	proxy.Up()
	waitFor(t, "the backlog drained after the outage", func() bool { return count(t, direct, `SELECT count(*) FROM applications`) == n })
	waitFor(t, "the stream emptied", func() bool { st := b.state(t); return st.Length == 0 && st.Pending == 0 })
	if st := b.state(t); st.DeadLetters != 0 {
		t.Errorf("dead letters = %d, want 0: an outage is not the entries' fault", st.DeadLetters)
	}
}

func count(t *testing.T, db *sqlx.DB, q string) int {
	t.Helper()
	var n int
	if err := db.Get(&n, q); err != nil {
		t.Fatal(err)
	}
	return n
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

func codesArray(codes []string) any { return pq.Array(codes) }

// pgAddr is the host:port of the test PostgreSQL server.
func pgAddr(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(testenv.DatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func withHost(t *testing.T, dbURL, host string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = host
	return u.String()
}

// A form queued as pending verification (the population register did not
// answer) and sent again once the register answers is the same form: 200
// with its code, never 409.
func TestSubmitSameChildPendingVerification(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pending := b.app(t, 1)
	pending.Verification = enrollment.VerificationPending
	first, err := b.queue.Submit(t.Context(), pending)
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.queue.Submit(t.Context(), b.app(t, 1))
	if err != nil || !again.Repeated || again.TrackingCode != first.TrackingCode {
		t.Errorf("resubmission after the register came back = %+v, %v; want repeated with %s", again, err, first.TrackingCode)
	}
}

func TestCeilingConcurrent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Registrations arriving together are sent to Redis together; the
	// ceiling still counts each one.
	q := b.newQueue(t, intake.Config{Ceiling: 10}, b.rdb, true)
	var wg sync.WaitGroup
	var accepted, busy atomic.Int64
	for i := range 40 {
		wg.Go(func() {
			_, err := q.Submit(t.Context(), b.app(t, i))
			var e *enrollment.Error
			switch {
			case err == nil:
				accepted.Add(1)
			case errors.As(err, &e) && e.Code == enrollment.CodeBusy:
				busy.Add(1)
			default:
				t.Errorf("Submit = %v, want accepted or busy", err)
			}
		})
	}
	wg.Wait()
	if accepted.Load() != 10 || busy.Load() != 30 {
		t.Errorf("accepted %d and busy %d, want 10 and 30", accepted.Load(), busy.Load())
	}
	if st := b.state(t); st.Length != 10 {
		t.Errorf("stream length = %d, want 10", st.Length)
	}
}

// TestSubmitLimited: a registration counted against a rate limit in the
// call that queues it draws on the budget redis_rate keeps on the same key;
// past it nothing is queued and the answer says when to retry.
func TestSubmitLimited(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key := "rate:" + b.keys.Prefix + ":rl:register:203.0.113.9"
	res, err := redis_rate.NewLimiter(b.rdb).Allow(t.Context(), strings.TrimPrefix(key, "rate:"), redis_rate.PerMinute(3))
	if err != nil || res.Allowed != 1 {
		t.Fatalf("redis_rate Allow = %+v, %v", res, err)
	}
	lim := intake.Limit{Key: key, PerMinute: 3}
	for i := range 2 {
		if _, err := b.queue.SubmitLimited(t.Context(), b.app(t, i), lim); err != nil {
			t.Fatalf("registration %d within the limit = %v", i+1, err)
		}
	}
	_, err = b.queue.SubmitLimited(t.Context(), b.app(t, 2), lim)
	var le *intake.LimitedError
	if !errors.As(err, &le) || le.RetryAfter <= 0 || le.RetryAfter > 20*time.Second {
		t.Fatalf("registration past the limit = %v, want a LimitedError with a retry within 20s", err)
	}
	if st := b.state(t); st.Length != 2 {
		t.Errorf("stream length = %d, want 2: nothing queued past the limit", st.Length)
	}
	res, err = redis_rate.NewLimiter(b.rdb).Allow(t.Context(), strings.TrimPrefix(key, "rate:"), redis_rate.PerMinute(3))
	if err != nil || res.Allowed != 0 {
		t.Errorf("redis_rate Allow after the budget is spent = %+v, %v; want refused", res, err)
	}
	// Another address has its own budget; no limit means none.
	if _, err := b.queue.SubmitLimited(t.Context(), b.app(t, 3), intake.Limit{Key: key + "0", PerMinute: 3}); err != nil {
		t.Errorf("another address = %v", err)
	}
	if _, err := b.queue.SubmitLimited(t.Context(), b.app(t, 4), intake.Limit{Key: key}); err != nil {
		t.Errorf("no limit = %v", err)
	}
}

// TestWorkerRecreatesLostGroup: the worker makes sure of its consumer
// group once, not before every read, so it must make it again when Redis
// loses the stream (a restart without its data) while it runs.
func TestWorkerRecreatesLostGroup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.runWorker(t, intake.WorkerConfig{BatchSize: 10, Block: 50 * time.Millisecond}, nil)
	if _, err := b.queue.Submit(t.Context(), b.app(t, 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first registration stored", func() bool { return b.count(t, `SELECT count(*) FROM applications`) == 1 })
	if err := b.rdb.Del(t.Context(), b.keys.Stream()).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.queue.Submit(t.Context(), b.app(t, 2)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the registration after the loss stored", func() bool { return b.count(t, `SELECT count(*) FROM applications`) == 2 })
}
