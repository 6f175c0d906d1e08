package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// Saver stores a batch of applications; *postgres.DB is one.
type Saver interface {
	SaveBatch(ctx context.Context, apps []*enrollment.Application) ([]enrollment.Stored, error)
}

// WorkerConfig configures a Worker.
type WorkerConfig struct {
	Keys Keys
	// Consumer names the worker in the consumer group. It must be stable
	// across restarts (a restarted worker re-reads its own pending entries)
	// and unique among running workers.
	Consumer string
	// BatchSize is how many entries are stored per transaction.
	BatchSize int
	// Block is how long a read waits for new entries.
	Block time.Duration
	// MinIdle is how long an entry must sit unacknowledged with another
	// worker before it is reclaimed. It must exceed the slowest batch.
	MinIdle time.Duration
	// ReclaimEvery is how often idle entries of other workers are looked for.
	ReclaimEvery time.Duration
	// MaxDeliveries is how many failures for the entry's own data (the
	// database refused it) send an entry to the dead-letter stream; an
	// entry that does not decode goes at once. The worker counts these
	// failures itself (Keys.Failures): outages, restarts and reclaims,
	// which Redis's delivery count also counts, never count against an
	// entry. The name is kept from when Redis's count decided.
	MaxDeliveries int64
	// StatusGrace is how long the status document of a stored application
	// stays in Redis (INTAKE_STATUS_GRACE); PostgreSQL answers after that.
	StatusGrace time.Duration
	Logger      *slog.Logger
}

func (c *WorkerConfig) defaults() {
	if c.Keys.Prefix == "" {
		c.Keys.Prefix = "ts"
	}
	if c.Consumer == "" {
		c.Consumer = "worker"
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	if c.Block <= 0 {
		c.Block = time.Second
	}
	if c.MinIdle <= 0 {
		c.MinIdle = time.Minute
	}
	if c.ReclaimEvery <= 0 {
		c.ReclaimEvery = 5 * time.Second
	}
	if c.MaxDeliveries <= 0 {
		c.MaxDeliveries = 5
	}
	if c.StatusGrace <= 0 {
		c.StatusGrace = DefaultStatusGrace
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Worker drains the intake stream into PostgreSQL.
type Worker struct {
	rdb     *redis.Client
	saver   Saver
	cfg     WorkerConfig
	metrics *Metrics
	log     *slog.Logger
}

// NewWorker returns a worker.
func NewWorker(rdb *redis.Client, saver Saver, cfg WorkerConfig, m *Metrics) *Worker {
	cfg.defaults()
	return &Worker{rdb: rdb, saver: saver, cfg: cfg, metrics: m,
		log: cfg.Logger.With("consumer", cfg.Consumer)}
}

// EnsureGroup creates the stream and its consumer group if they do not
// exist. A new group starts at the beginning of the stream, so entries
// added before any worker ran are stored too.
func EnsureGroup(ctx context.Context, rdb *redis.Client, keys Keys) error {
	err := rdb.XGroupCreateMkStream(ctx, keys.Stream(), keys.Group(), "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group: %w", err)
	}
	return nil
}

// Run drains the stream until ctx is done, then returns nil after the batch
// in hand is finished. It first re-reads the worker's own pending entries,
// then reads new ones, and every ReclaimEvery takes over entries that other
// workers left idle for MinIdle. Redis or PostgreSQL outages are waited out
// with back-off.
func (w *Worker) Run(ctx context.Context) error {
	var (
		ownPending  = true
		backoff     time.Duration
		nextReclaim time.Time
		// The group is made sure of at the start and after a failed read
		// (Redis restarted without its data, or the stream was deleted),
		// not before every read: a batch costs one read and one pipeline.
		ensureGroup = true
	)
	for ctx.Err() == nil {
		if backoff > 0 {
			sleep(ctx, backoff)
			if ctx.Err() != nil {
				break
			}
		}
		if ensureGroup {
			if err := EnsureGroup(ctx, w.rdb, w.cfg.Keys); err != nil {
				w.log.Warn("intake: redis unavailable", "err", err)
				backoff = grow(backoff)
				continue
			}
			ensureGroup = false
		}
		if now := time.Now(); now.After(nextReclaim) {
			nextReclaim = now.Add(w.cfg.ReclaimEvery)
			if err := w.reclaim(ctx); err != nil {
				w.log.Warn("intake: reclaim failed", "err", err)
				ensureGroup = true
			}
		}
		id, block := ">", w.cfg.Block
		if ownPending {
			id, block = "0", -1
		}
		streams, err := w.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: w.cfg.Keys.Group(), Consumer: w.cfg.Consumer,
			Streams: []string{w.cfg.Keys.Stream(), id},
			Count:   int64(w.cfg.BatchSize), Block: block,
		}).Result()
		if errors.Is(err, redis.Nil) {
			ownPending = false
			backoff = 0
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("intake: read failed", "err", err)
				backoff = grow(backoff)
				ensureGroup = true
			}
			continue
		}
		var msgs []redis.XMessage
		for _, s := range streams {
			msgs = append(msgs, s.Messages...)
		}
		if len(msgs) == 0 {
			ownPending = false
			continue
		}
		if w.process(ctx, msgs) {
			backoff = 0
		} else {
			// Something stays pending: read it again first, after a pause.
			ownPending = true
			backoff = grow(backoff)
		}
	}
	return nil
}

func grow(d time.Duration) time.Duration {
	if d == 0 {
		return 100 * time.Millisecond
	}
	return min(2*d, 5*time.Second)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// process stores a batch of entries and acknowledges what was stored or
// dead-lettered. It reports false when some entries stay pending.
//
// Only a failure for an entry's own data counts towards its dead letter,
// in the Failures hash: an entry that does not decode goes at once, and
// one the database refuses goes on its MaxDeliveries-th refusal. How often
// Redis delivered an entry counts nothing, since outages, restarts and
// reclaims all add to it.
func (w *Worker) process(ctx context.Context, msgs []redis.XMessage) bool {
	// Finish the batch in hand even while shutting down.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()

	var (
		apps    []*enrollment.Application
		appMsgs []redis.XMessage
		done    []string // entry ids to acknowledge and delete
	)
	for _, m := range msgs {
		if len(m.Values) == 0 {
			done = append(done, m.ID) // deleted while pending
			continue
		}
		a, err := decodeEntry(m)
		if err != nil {
			w.deadLetter(ctx, m, err.Error(), 1)
			continue
		}
		apps = append(apps, a)
		appMsgs = append(appMsgs, m)
	}
	if len(apps) == 0 {
		return w.finish(ctx, done, nil, nil) == nil
	}

	stored, err := w.saver.SaveBatch(ctx, apps)
	if err == nil {
		return w.finish(ctx, append(done, ids(appMsgs)...), apps, stored) == nil
	}
	if unreachable(ctx, err) {
		w.metrics.StoreErrors.WithLabelValues("transient").Inc()
		w.log.Warn("intake: database unavailable; entries stay queued", "entries", len(apps), "err", describe(err))
		_ = w.finish(ctx, done, nil, nil)
		return false
	}
	// Any other error fails the whole batch, whatever its cause: store one
	// entry at a time, so the good ones are stored now and only the ones
	// at fault are counted.
	w.metrics.StoreErrors.WithLabelValues("data").Inc()
	w.log.Warn("intake: batch failed; storing one by one", "entries", len(apps), "err", describe(err))
	allDone := true
	var okApps []*enrollment.Application
	var okStored []enrollment.Stored
	for i, a := range apps {
		s, err := w.saver.SaveBatch(ctx, apps[i:i+1])
		if err == nil {
			okApps = append(okApps, a)
			okStored = append(okStored, s[0])
			done = append(done, appMsgs[i].ID)
			continue
		}
		allDone = false
		if unreachable(ctx, err) {
			// The database went away meanwhile: the rest waits, uncounted.
			w.metrics.StoreErrors.WithLabelValues("transient").Inc()
			w.log.Warn("intake: database unavailable; entries stay queued", "entries", len(apps)-i, "err", describe(err))
			break
		}
		w.failed(ctx, appMsgs[i], err)
	}
	return w.finish(ctx, done, okApps, okStored) == nil && allDone
}

// decodeEntry returns the application of a stream entry.
func decodeEntry(m redis.XMessage) (*enrollment.Application, error) {
	raw, ok := m.Values["a"].(string)
	if !ok {
		return nil, errors.New("entry has no application field")
	}
	var a enrollment.Application
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		return nil, fmt.Errorf("cannot decode application: %v", err)
	}
	if a.ID == "" || a.TrackingCode == "" {
		return nil, errors.New("cannot decode application: no id or tracking code")
	}
	return &a, nil
}

// failed counts a refusal of an entry for its data and dead-letters the
// entry on its MaxDeliveries-th; until then it stays pending and is tried
// again. If the count cannot be kept (Redis is away), the entry stays
// pending uncounted.
func (w *Worker) failed(ctx context.Context, m redis.XMessage, err error) {
	reason := describe(err)
	k := w.cfg.Keys.Failures()
	pipe := w.rdb.TxPipeline()
	incr := pipe.HIncrBy(ctx, k, m.ID, 1)
	// Counts are cleared when their entry is stored or dead-lettered; the
	// expiry only sees that one left by an entry deleted by hand does not
	// stay forever. Failures are counted while the database answers, so
	// an entry's tries lie minutes apart, not weeks.
	pipe.Expire(ctx, k, failuresTTL)
	if _, xerr := pipe.Exec(ctx); xerr != nil {
		w.log.Warn("intake: entry not stored, failure not counted; will retry", "entry", m.ID, "err", reason, "redis_err", xerr)
		return
	}
	n := incr.Val()
	if n >= w.cfg.MaxDeliveries {
		w.deadLetter(ctx, m, reason, n)
		return
	}
	w.log.Warn("intake: entry not stored; will retry", "entry", m.ID, "failures", n, "err", reason)
}

// failuresTTL is how long the failure counts last after the last failure.
const failuresTTL = 7 * 24 * time.Hour

func ids(msgs []redis.XMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// finish publishes the new status of stored applications, then
// acknowledges and deletes their entries, in one round trip. Deleting keeps
// the stream's length equal to its backlog; only stored or dead-lettered
// entries are ever deleted.
func (w *Worker) finish(ctx context.Context, done []string, apps []*enrollment.Application, stored []enrollment.Stored) error {
	if len(done) == 0 {
		return nil
	}
	now := time.Now()
	pipe := w.rdb.Pipeline()
	for i, a := range apps {
		s := stored[i]
		w.metrics.Stored.WithLabelValues(outcomeName(s.Outcome)).Inc()
		if s.Outcome == enrollment.OutcomeInserted {
			w.metrics.Latency.Observe(now.Sub(a.SubmittedAt).Seconds())
		}
		pipe.Set(ctx, w.cfg.Keys.App(a.TrackingCode), storedStatus(a, s), w.cfg.StatusGrace)
	}
	pipe.XAck(ctx, w.cfg.Keys.Stream(), w.cfg.Keys.Group(), done...)
	pipe.XDel(ctx, w.cfg.Keys.Stream(), done...)
	// An entry that failed before and is stored now leaves no count
	// behind (a no-op for the usual batch: the hash rarely exists).
	pipe.HDel(ctx, w.cfg.Keys.Failures(), done...)
	if _, err := pipe.Exec(ctx); err != nil {
		// The applications are stored; the entries stay pending and are
		// stored again idempotently on redelivery.
		w.log.Warn("intake: acknowledge failed", "entries", len(done), "err", err)
		return err
	}
	if len(apps) > 0 {
		w.metrics.BatchSize.Observe(float64(len(apps)))
	}
	return nil
}

// storedStatus is the status document of an application once stored: it
// replaces the queued mark Submit left.
func storedStatus(a *enrollment.Application, s enrollment.Stored) []byte {
	var view enrollment.StatusView
	if s.Outcome == enrollment.OutcomeDuplicate {
		// Nothing of the first application, not even its code: storing
		// the duplicate queued the code's re-send to its own guardian.
		view = enrollment.NewStatusView(a, enrollment.StatusDuplicate, s.StoredAt)
		view.Child, view.Choices = "", nil
	} else {
		view = enrollment.NewStatusView(a, enrollment.StatusReceived, s.StoredAt)
	}
	doc, _ := json.Marshal(view) // a struct of strings and times always encodes
	return doc
}

// outcomeName names a storing outcome in metrics and in what the operator
// reads.
func outcomeName(o enrollment.Outcome) string {
	switch o {
	case enrollment.OutcomeDuplicate:
		return "duplicate"
	case enrollment.OutcomeAlreadyStored:
		return "already_stored"
	}
	return "inserted"
}

// deadLetter moves an entry to the dead-letter stream with the reason and
// its count of failures, and acknowledges and deletes it and its count, in
// one transaction: it is never in neither. The reason carries no personal
// data (see describe): `tuyensinh deadletters list` shows it.
func (w *Worker) deadLetter(ctx context.Context, m redis.XMessage, reason string, failures int64) {
	raw, _ := m.Values["a"].(string)
	_, err := w.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: w.cfg.Keys.Dead(), Values: []any{
			"entry", m.ID, "reason", reason, "failures", failures, "consumer", w.cfg.Consumer,
			"at", time.Now().UTC().Format(time.RFC3339Nano), "a", raw}})
		p.XAck(ctx, w.cfg.Keys.Stream(), w.cfg.Keys.Group(), m.ID)
		p.XDel(ctx, w.cfg.Keys.Stream(), m.ID)
		p.HDel(ctx, w.cfg.Keys.Failures(), m.ID)
		return nil
	})
	if err != nil {
		w.log.Error("intake: dead-letter failed; entry stays pending", "entry", m.ID, "err", err)
		return
	}
	w.metrics.DeadLetters.Inc()
	w.log.Error("intake: entry moved to dead letters", "entry", m.ID, "reason", reason, "failures", failures)
}

// reclaim takes over entries idle with other consumers for MinIdle and
// stores them like any others. How often they were delivered before says
// nothing about them: the worker holding them may have been waiting out an
// outage, or been killed.
func (w *Worker) reclaim(ctx context.Context) error {
	start := "0-0"
	for range 100 { // bounded: at most 100 pages per round
		msgs, next, deleted, err := w.rdb.XAutoClaimWithDeleted(ctx, &redis.XAutoClaimArgs{
			Stream: w.cfg.Keys.Stream(), Group: w.cfg.Keys.Group(), Consumer: w.cfg.Consumer,
			MinIdle: w.cfg.MinIdle, Start: start, Count: int64(w.cfg.BatchSize),
		}).Result()
		if err != nil {
			return fmt.Errorf("autoclaim: %w", err)
		}
		if len(deleted) > 0 {
			w.rdb.XAck(ctx, w.cfg.Keys.Stream(), w.cfg.Keys.Group(), deleted...)
			w.rdb.HDel(ctx, w.cfg.Keys.Failures(), deleted...)
		}
		if len(msgs) > 0 {
			w.metrics.Reclaimed.Add(float64(len(msgs)))
			w.log.Info("intake: reclaimed idle entries", "entries", len(msgs))
			if !w.process(ctx, msgs) {
				return nil // they stay pending with us; the main loop retries
			}
		}
		if next == "0-0" || next == "" {
			return nil
		}
		start = next
	}
	return nil
}
