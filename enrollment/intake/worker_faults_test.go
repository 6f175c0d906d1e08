package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// proxied is a database the workers reach through a proxy the test can
// cut, and a direct handle on it for the test's own checks.
type proxied struct {
	direct *sqlx.DB
	store  *postgres.DB // through the proxy
	proxy  *testenv.Proxy
}

func proxiedDatabase(t *testing.T) *proxied {
	t.Helper()
	dbURL := testenv.NewDatabase(t)
	direct, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Close() })
	if err := postgres.New(direct).SaveReference(t.Context(), democity.Reference(testNow)); err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, pgAddr(t))
	viaProxy, err := sqlx.Open("postgres", withHost(t, dbURL, proxy.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { viaProxy.Close() })
	return &proxied{direct: direct, store: postgres.New(viaProxy), proxy: proxy}
}

// startWorker runs a worker until stop is called (as a kill would stop it:
// what it holds stays pending with it) or the test ends.
func (b *bundle) startWorker(t *testing.T, cfg intake.WorkerConfig, saver intake.Saver) (stop func()) {
	t.Helper()
	cfg.Keys = b.keys
	w := intake.NewWorker(b.rdb, saver, cfg, b.metrics)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			t.Errorf("worker %s: %v", cfg.Consumer, err)
		}
	}()
	stop = sync.OnceFunc(func() {
		cancel()
		<-done
	})
	t.Cleanup(stop)
	return stop
}

// submit queues the registrations from..to-1 and returns their codes.
func (b *bundle) submit(t *testing.T, from, to int) []string {
	t.Helper()
	codes := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		rec, err := b.queue.Submit(t.Context(), b.app(t, i))
		if err != nil {
			t.Fatalf("Submit(%d) = %v", i, err)
		}
		codes = append(codes, rec.TrackingCode)
	}
	return codes
}

func (b *bundle) pending(t *testing.T) []redis.XPendingExt {
	t.Helper()
	p, err := b.rdb.XPendingExt(t.Context(), &redis.XPendingExtArgs{
		Stream: b.keys.Stream(), Group: b.keys.Group(), Start: "-", End: "+", Count: 100_000}).Result()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// failures is how many entries have data failures counted.
func (b *bundle) failures(t *testing.T) int64 {
	t.Helper()
	n, err := b.rdb.HLen(t.Context(), b.keys.Failures()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (b *bundle) deadLetters(t *testing.T) []redis.XMessage {
	t.Helper()
	dead, err := b.rdb.XRange(t.Context(), b.keys.Dead(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	return dead
}

// checkReceived fails the test unless every code's status document says
// the application is stored.
func (b *bundle) checkReceived(t *testing.T, codes []string) {
	t.Helper()
	for _, c := range codes {
		doc, ok, err := b.queue.Status(t.Context(), c)
		if err != nil || !ok || !contains(doc, `"status":"received"`) {
			t.Errorf("Status(%s) = %s, %v, %v; want received", c, doc, ok, err)
			return
		}
	}
}

// TestOutageWithWorkerReplaced: two workers, PostgreSQL unreachable, one
// worker killed during the outage and replaced by a worker with another
// name that reclaims quickly. Redis counts a delivery at every re-read and
// every reclaim, so during the outage each pending entry is delivered
// more often than the allowed failures; none of that is the entries' fault.
// Once PostgreSQL is back every application is stored exactly once and
// nothing is dead-lettered.
func TestOutageWithWorkerReplaced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pg := proxiedDatabase(t)
	const n, maxFailures = 400, 2
	stopA := b.startWorker(t, intake.WorkerConfig{Consumer: "a", BatchSize: 50, MaxDeliveries: maxFailures}, pg.store)
	b.startWorker(t, intake.WorkerConfig{Consumer: "b", BatchSize: 50, MaxDeliveries: maxFailures}, pg.store)

	codes := b.submit(t, 0, n/2)
	pg.proxy.Down()
	codes = append(codes, b.submit(t, n/2, n)...)
	waitFor(t, "worker a holding entries during the outage", func() bool {
		for _, e := range b.pending(t) {
			if e.Consumer == "a" {
				return true
			}
		}
		return false
	})
	stopA()
	// The replacement reclaims in pages larger than the backlog, so that it
	// takes over every idle entry during the outage.
	b.startWorker(t, intake.WorkerConfig{Consumer: "c", BatchSize: 1000, MaxDeliveries: maxFailures,
		MinIdle: 100 * time.Millisecond, ReclaimEvery: 50 * time.Millisecond}, pg.store)
	// Keep PostgreSQL away until the replacement has taken over what the
	// killed worker held and Redis has delivered every pending entry more
	// than maxFailures times (or something was dead-lettered already).
	waitFor(t, "the killed worker's entries reclaimed and redelivered", func() bool {
		if b.state(t).DeadLetters > 0 {
			return true
		}
		p := b.pending(t)
		for _, e := range p {
			if e.Consumer == "a" || e.RetryCount <= maxFailures {
				return false
			}
		}
		return len(p) > 0
	})
	if got := count(t, pg.direct, `SELECT count(*) FROM applications`); got >= n {
		t.Fatalf("stored %d of %d before PostgreSQL came back", got, n)
	}
	pg.proxy.Up()

	waitFor(t, "the stream emptied", func() bool { st := b.state(t); return st.Length == 0 && st.Pending == 0 })
	if st := b.state(t); st.DeadLetters != 0 {
		t.Errorf("dead letters = %d, want 0: an outage and a restart are not the entries' fault", st.DeadLetters)
	}
	if got := count(t, pg.direct, `SELECT count(*) FROM applications`); got != n {
		t.Errorf("applications = %d, want %d", got, n)
	}
	var stored int
	if err := pg.direct.Get(&stored, `SELECT count(DISTINCT tracking_code) FROM applications WHERE tracking_code = ANY($1)`, codesArray(codes)); err != nil {
		t.Fatal(err)
	}
	if stored != n {
		t.Errorf("stored %d of the %d tracking codes given out", stored, n)
	}
	if got := count(t, pg.direct, `SELECT count(*) FROM duplicate_submissions`); got != 0 {
		t.Errorf("duplicate submissions = %d, want 0", got)
	}
	if got := b.failures(t); got != 0 {
		t.Errorf("entries with data failures counted = %d, want 0", got)
	}
	b.checkReceived(t, codes)
}

// poisonApp returns an application as a producer would queue it, changed
// by spoil into one the database refuses.
func (b *bundle) poisonApp(t *testing.T, i int, spoil func(*enrollment.Application)) string {
	t.Helper()
	a := b.app(t, i)
	a.ID, a.TrackingCode, a.SubmittedAt = uuid.Must(uuid.NewV7()).String(), enrollment.NewTrackingCode(), testNow
	spoil(a)
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// xadd puts a raw entry on the intake stream and returns its id.
func (b *bundle) xadd(t *testing.T, payload string) string {
	t.Helper()
	id, err := b.rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: b.keys.Stream(), Values: []any{"a", payload}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// digits returns n pseudo-random decimal digits: unlike a repeated
// pattern, they do not compress small enough to fit in an index row.
func digits(n int) string {
	r := rand.New(rand.NewPCG(1, 2))
	var s strings.Builder
	for range n {
		s.WriteByte(byte('0' + r.IntN(10)))
	}
	return s.String()
}

// TestPoisonEntries: an entry of each kind of poison among 2,000 good
// ones — one that does not decode, one the database refuses by a
// constraint, one it refuses with an error of no known kind (an index row
// too large, SQLSTATE 54000). Every good one is stored, exactly the three
// are dead-lettered, nothing stays pending.
func TestPoisonEntries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 2000
	var codes []string
	poison := map[string]string{} // entry id → what the reason must say
	codes = append(codes, b.submit(t, 0, 500)...)
	poison[b.xadd(t, "{not json")] = "cannot decode"
	codes = append(codes, b.submit(t, 500, 1000)...)
	poison[b.xadd(t, b.poisonApp(t, n+1, func(a *enrollment.Application) { a.PriorityGroup = 9 }))] = "23514"
	codes = append(codes, b.submit(t, 1000, 1500)...)
	poison[b.xadd(t, b.poisonApp(t, n+2, func(a *enrollment.Application) { a.Child.IDNumber = digits(9000) }))] = "54000"
	codes = append(codes, b.submit(t, 1500, n)...)

	cfg := intake.WorkerConfig{BatchSize: 500, MaxDeliveries: 3}
	b.runWorker(t, cfg, nil)
	cfg.Consumer = "w2"
	b.runWorker(t, cfg, nil)
	waitFor(t, "the stream emptied", func() bool { st := b.state(t); return st.Length == 0 && st.Pending == 0 })

	if got := b.count(t, `SELECT count(*) FROM applications WHERE tracking_code = ANY($1)`, codesArray(codes)); got != n {
		t.Errorf("good applications stored = %d, want %d", got, n)
	}
	if got := b.count(t, `SELECT count(*) FROM applications`); got != n {
		t.Errorf("applications = %d, want %d", got, n)
	}
	dead := b.deadLetters(t)
	if len(dead) != len(poison) {
		t.Errorf("dead letters = %d, want %d", len(dead), len(poison))
	}
	for _, m := range dead {
		entry, _ := m.Values["entry"].(string)
		reason, _ := m.Values["reason"].(string)
		want, ok := poison[entry]
		if !ok {
			t.Errorf("entry %s dead-lettered (%s), want only the poison ones", entry, reason)
			continue
		}
		if !strings.Contains(reason, want) {
			t.Errorf("entry %s dead-lettered with reason %q, want it to say %q", entry, reason, want)
		}
	}
	if got := b.failures(t); got != 0 {
		t.Errorf("entries with data failures still counted = %d, want 0", got)
	}
	b.checkReceived(t, codes[:10])
}

// buggySaver stores through the real store but refuses, as a bug would,
// every batch holding one of some tracking codes.
type buggySaver struct {
	store  *postgres.DB
	refuse map[string]bool
}

func (s buggySaver) SaveBatch(ctx context.Context, apps []*enrollment.Application) ([]enrollment.Stored, error) {
	for _, a := range apps {
		if s.refuse[a.TrackingCode] {
			return nil, errors.New("a bug in the store")
		}
	}
	return s.store.SaveBatch(ctx, apps)
}

// TestDeadLetterTooling: dead letters are listed without personal data,
// shown with their payload, replayed into PostgreSQL (idempotently: an
// application already stored is not stored twice) and dropped; a replayed
// or dropped one leaves the dead-letter stream, one that fails again stays.
func TestDeadLetterTooling(t *testing.T) {
	t.Parallel()
	b := setup(t)
	codes := b.submit(t, 0, 5)
	garbage := b.xadd(t, "{not json")
	bug := buggySaver{store: b.store, refuse: map[string]bool{codes[1]: true, codes[3]: true}}
	b.runWorker(t, intake.WorkerConfig{MaxDeliveries: 2}, bug)
	waitFor(t, "the stream emptied", func() bool { st := b.state(t); return st.Length == 0 && st.Pending == 0 })

	var logs bytes.Buffer
	d := intake.NewDeadLetters(b.rdb, b.store, intake.DeadLettersConfig{Keys: b.keys,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	list, err := d.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string]intake.DeadLetter{}
	for _, dl := range list {
		if dl.Payload != "" {
			t.Errorf("List gave the payload of %s", dl.ID)
		}
		if dl.ID == "" || dl.Entry == "" || dl.Consumer != "w1" || dl.At.IsZero() {
			t.Errorf("List entry %+v lacks its ids, consumer or time", dl)
		}
		byCode[dl.TrackingCode] = dl
	}
	if len(list) != 3 {
		t.Fatalf("List = %d dead letters, want 3: %+v", len(list), list)
	}
	if dl := byCode[""]; dl.Entry != garbage || dl.Failures != 1 || !strings.HasPrefix(dl.Reason, "cannot decode") {
		t.Errorf("undecodable dead letter = %+v, want entry %s, 1 failure, a decoding reason", dl, garbage)
	}
	for _, c := range []string{codes[1], codes[3]} {
		if dl := byCode[c]; dl.Failures != 2 || dl.Reason != "a bug in the store" || dl.ApplicationID == "" {
			t.Errorf("dead letter of %s = %+v, want 2 failures and the store's reason", c, dl)
		}
	}

	first := byCode[codes[1]]
	shown, err := d.Get(t.Context(), first.ID)
	if err != nil {
		t.Fatal(err)
	}
	var payload enrollment.Application
	if err := json.Unmarshal([]byte(shown.Payload), &payload); err != nil || payload.TrackingCode != codes[1] {
		t.Fatalf("Get(%s).Payload = %q, %v; want the application %s", first.ID, shown.Payload, err, codes[1])
	}
	if shown.Reason != first.Reason || shown.Entry != first.Entry {
		t.Errorf("Get = %+v, want what List said: %+v", shown, first)
	}

	// The application of the second was stored meanwhile (say by an
	// earlier replay whose answer was lost): replaying it stores nothing.
	second := byCode[codes[3]]
	shown2, err := d.Get(t.Context(), second.ID)
	if err != nil {
		t.Fatal(err)
	}
	var app2 enrollment.Application
	if err := json.Unmarshal([]byte(shown2.Payload), &app2); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.SaveBatch(t.Context(), []*enrollment.Application{&app2}); err != nil {
		t.Fatal(err)
	}

	// While PostgreSQL is unreachable a replay fails and keeps the entry.
	pg := proxiedDatabase(t)
	pg.proxy.Down()
	down := intake.NewDeadLetters(b.rdb, pg.store, intake.DeadLettersConfig{Keys: b.keys})
	if _, err := down.Replay(t.Context(), first.ID); !errors.Is(err, intake.ErrStoreUnavailable) {
		t.Errorf("Replay with PostgreSQL down = %v, want ErrStoreUnavailable", err)
	}

	for c, want := range map[string]string{codes[1]: "inserted", codes[3]: "already_stored"} {
		r, err := d.Replay(t.Context(), byCode[c].ID)
		if err != nil || r.Outcome != want || r.TrackingCode != c {
			t.Errorf("Replay(%s) = %+v, %v; want %s", byCode[c].ID, r, err, want)
		}
	}
	if got := b.count(t, `SELECT count(*) FROM applications WHERE tracking_code = ANY($1)`, codesArray(codes)); got != len(codes) {
		t.Errorf("applications stored = %d, want %d, each once", got, len(codes))
	}
	b.checkReceived(t, codes)
	if _, err := d.Replay(t.Context(), first.ID); !errors.Is(err, intake.ErrNoDeadLetter) {
		t.Errorf("second Replay(%s) = %v, want ErrNoDeadLetter", first.ID, err)
	}
	if got := b.count(t, `SELECT count(*) FROM applications`); got != len(codes) {
		t.Errorf("applications after replaying twice = %d, want %d", got, len(codes))
	}

	// The undecodable one cannot be replayed: it stays, then is dropped.
	junk := byCode[""]
	if _, err := d.Replay(t.Context(), junk.ID); err == nil || !strings.Contains(err.Error(), "cannot decode") {
		t.Errorf("Replay(undecodable) = %v, want a decoding error", err)
	}
	if list, err := d.List(t.Context()); err != nil || len(list) != 1 || list[0].ID != junk.ID {
		t.Errorf("List after replays = %+v, %v; want only the undecodable one", list, err)
	}
	if _, err := d.Drop(t.Context(), junk.ID); err != nil {
		t.Errorf("Drop(%s) = %v", junk.ID, err)
	}
	if _, err := d.Drop(t.Context(), junk.ID); !errors.Is(err, intake.ErrNoDeadLetter) {
		t.Errorf("second Drop(%s) = %v, want ErrNoDeadLetter", junk.ID, err)
	}
	for _, id := range []string{"0-1", "not-an-id"} {
		if _, err := d.Get(t.Context(), id); !errors.Is(err, intake.ErrNoDeadLetter) {
			t.Errorf("Get(%q) = %v, want ErrNoDeadLetter", id, err)
		}
	}
	if st := b.state(t); st.DeadLetters != 0 {
		t.Errorf("dead letters left = %d, want 0", st.DeadLetters)
	}
	if got := b.failures(t); got != 0 {
		t.Errorf("failure counts left = %d, want 0", got)
	}

	// Every use is logged, and no personal data with it.
	for _, what := range []string{`"command":"list"`, `"command":"show"`, `"command":"replay"`, `"command":"drop"`, `"outcome":"already_stored"`} {
		if !strings.Contains(logs.String(), what) {
			t.Errorf("log lacks %s:\n%s", what, logs.String())
		}
	}
	for _, secret := range []string{payload.Child.IDNumber, payload.Child.FullName, payload.Guardian.FullName, payload.Guardian.Phone, codes[1]} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log holds personal data or a tracking code %q:\n%s", secret, logs.String())
		}
	}
}

// outageMidSplit fails the first whole batch for no known reason and cuts
// the database at that moment, so that the worker's entry-by-entry retries
// meet an outage.
type outageMidSplit struct {
	store   *postgres.DB
	proxy   *testenv.Proxy
	mu      sync.Mutex
	cut     bool
	singles int // single-entry attempts while cut
	calls   int // attempts while cut
}

func (s *outageMidSplit) SaveBatch(ctx context.Context, apps []*enrollment.Application) ([]enrollment.Stored, error) {
	s.mu.Lock()
	if len(apps) > 1 && !s.cut {
		s.cut = true
		s.proxy.Down()
		s.mu.Unlock()
		return nil, errors.New("a bug in the store")
	}
	if s.cut {
		s.calls++
		if len(apps) == 1 {
			s.singles++
		}
	}
	s.mu.Unlock()
	return s.store.SaveBatch(ctx, apps)
}

func (s *outageMidSplit) tried() (singles, calls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.singles, s.calls
}

// TestOutageWhileSplitting: when the entry-by-entry retries of a failed
// batch meet an unreachable database, the worker stops and counts nothing
// against the entries; they are all stored once it is back.
func TestOutageWhileSplitting(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pg := proxiedDatabase(t)
	codes := b.submit(t, 0, 20)
	saver := &outageMidSplit{store: pg.store, proxy: pg.proxy}
	b.runWorker(t, intake.WorkerConfig{BatchSize: 20, MaxDeliveries: 1}, saver)
	// The split's first try meets the outage, and the worker keeps trying
	// the whole batch after it.
	waitFor(t, "entries tried during the outage", func() bool { singles, calls := saver.tried(); return singles > 0 && calls >= 3 })
	if got := b.failures(t); got != 0 {
		t.Errorf("entries with failures counted during the outage = %d, want 0", got)
	}
	if st := b.state(t); st.DeadLetters != 0 || st.Length != int64(len(codes)) {
		t.Errorf("during the outage: %+v, want all %d entries kept, none dead-lettered", st, len(codes))
	}
	pg.proxy.Up()
	waitFor(t, "the stream emptied", func() bool { st := b.state(t); return st.Length == 0 && st.Pending == 0 })
	if got := count(t, pg.direct, `SELECT count(*) FROM applications`); got != len(codes) {
		t.Errorf("applications = %d, want %d", got, len(codes))
	}
	if st := b.state(t); st.DeadLetters != 0 {
		t.Errorf("dead letters = %d, want 0", st.DeadLetters)
	}
}

// TestDropFreesTheChild: a registration dropped from the dead letters will
// never be stored, so its code says so and the child can be registered
// again (with a new code); a later registration's guard is never released.
func TestDropFreesTheChild(t *testing.T) {
	t.Parallel()
	b := setup(t)
	codes := b.submit(t, 0, 2)
	bug := buggySaver{store: b.store, refuse: map[string]bool{codes[0]: true}}
	b.runWorker(t, intake.WorkerConfig{MaxDeliveries: 1}, bug)
	waitFor(t, "the stream emptied", func() bool { st := b.state(t); return st.Length == 0 && st.Pending == 0 })
	d := intake.NewDeadLetters(b.rdb, b.store, intake.DeadLettersConfig{Keys: b.keys})
	list, err := d.List(t.Context())
	if err != nil || len(list) != 1 || list[0].TrackingCode != codes[0] {
		t.Fatalf("List = %+v, %v; want the dead letter of %s", list, err, codes[0])
	}
	if _, err := d.Drop(t.Context(), list[0].ID); err != nil {
		t.Fatal(err)
	}
	doc, ok, err := b.queue.Status(t.Context(), codes[0])
	var view enrollment.StatusView
	if err != nil || !ok || json.Unmarshal(doc, &view) != nil || view.Status != enrollment.StatusNotStored {
		t.Errorf("status of the dropped %s = %s, %v, %v; want not_stored", codes[0], doc, ok, err)
	}
	again, err := b.queue.Submit(t.Context(), b.app(t, 0))
	if err != nil || again.Repeated || again.TrackingCode == codes[0] {
		t.Errorf("registering the dropped child again = %+v, %v; want a new code", again, err)
	}
	// The other child's guard was not touched: a different form is refused.
	other := b.app(t, 1)
	other.Choices = []string{"TH-BADINH-02"}
	if _, err := b.queue.Submit(t.Context(), other); err == nil {
		t.Errorf("a second, different registration of a stored child was accepted")
	}
}
