package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// Config configures a Queue.
type Config struct {
	Keys Keys
	// Ceiling is the backlog (entries in the stream not yet stored) past
	// which Submit answers CodeBusy. Zero means no ceiling.
	Ceiling int64
	// RetryAfter is what a busy or unavailable answer tells clients to wait.
	RetryAfter time.Duration
	// KeyTTL is how long the duplicate guard of a registration lives in
	// Redis, and its status document until a worker stores it. It must
	// outlast the window; PostgreSQL answers for older codes.
	KeyTTL time.Duration
	// Timeout bounds every Redis call of a request (REDIS_TIMEOUT);
	// DefaultTimeout if zero.
	Timeout time.Duration
	// Resender, if set, is asked to send the tracking code of a child's
	// application again to the guardian who registered it, when another
	// registration of the child is refused.
	Resender Resender
	// NowFunc returns the current time; time.Now if nil.
	NowFunc func() time.Time
	Logger  *slog.Logger
}

func (c *Config) defaults() {
	if c.RetryAfter <= 0 {
		c.RetryAfter = 5 * time.Second
	}
	if c.KeyTTL <= 0 {
		c.KeyTTL = DefaultKeyTTL
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	if c.Keys.Prefix == "" {
		c.Keys.Prefix = "ts"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Queue is the producer side of the intake: it puts checked registrations
// on the stream and answers status lookups from Redis.
type Queue struct {
	rdb     *redis.Client
	cmd     cmdable
	cfg     Config
	metrics *Metrics
	log     *slog.Logger
	// batch sends registrations to Redis, those of concurrent requests
	// together.
	batch *batcher
	// retries is set when the client retries failed commands: a failure
	// then never proves that nothing was sent.
	retries bool
	// children names the child keys of registrations (Keys.Child).
	children *childNamer
}

// Resender queues a message that sends a child's tracking code again to the
// guardian phone of its application; *outbox.Store is one. It must return
// quickly and may fail (the database is down): the refusal is answered
// anyway.
type Resender interface {
	ResendCode(ctx context.Context, trackingCode string) error
}

// cmdable is what Queue needs of a Redis client or auto-pipeliner.
type cmdable interface {
	redis.Scripter
	Get(ctx context.Context, key string) *redis.StringCmd
}

// NewQueue returns a queue on rdb. Concurrent requests' registrations are
// sent to Redis together, in one script call per batch. With autoPipeline,
// the status lookups of concurrent requests are sent together in pipelines.
//
// Give rdb MaxRetries -1: Submit can then tell a registration that
// certainly was not saved (no connection) from one whose fate is unknown.
// With retries every failure is reported as unknown.
func NewQueue(rdb *redis.Client, cfg Config, m *Metrics, autoPipeline bool) (*Queue, error) {
	cfg.defaults()
	q := &Queue{rdb: rdb, cmd: rdb, cfg: cfg, metrics: m, log: cfg.Logger, retries: rdb.Options().MaxRetries > 0,
		children: newChildNamer(cfg.Keys)}
	q.batch = &batcher{rdb: rdb, stream: cfg.Keys.Stream(), ceiling: cfg.Ceiling, ttl: int64(cfg.KeyTTL / time.Second),
		timeout: cfg.Timeout, maxQueue: maxQueued}
	if autoPipeline {
		// A stalled Redis must not pile up requests without bound: past
		// maxQueued commands waiting, a registration is refused at once
		// (and certainly not saved) instead of joining the queue.
		opts := redis.DefaultBlockingAutoPipelineOptions()
		if o := rdb.Options().AutoPipelineOptions; o != nil {
			c := *o
			opts = &c
		}
		if opts.MaxQueuedCommands == 0 {
			opts.MaxQueuedCommands = maxQueued
		}
		ap, err := rdb.AutoPipelineWithOptions(opts)
		if err != nil {
			return nil, fmt.Errorf("redis auto-pipeline: %w", err)
		}
		q.cmd = ap
	}
	return q, nil
}

// maxQueued bounds the commands waiting in the auto-pipeliner, and the
// registrations waiting for a batch: far above what a healthy Redis ever
// has queued (it drains a batch per round trip), small enough to keep a
// stall's backlog to tens of MB.
const maxQueued = 20_000

// Receipt is the answer to a submission.
type Receipt struct {
	TrackingCode string
	// Repeated is true when the same registration had already been
	// submitted: TrackingCode is the first submission's and nothing new was
	// queued.
	Repeated bool
}

// Submit queues a checked application. It assigns the ID, tracking code and
// submission time, and returns once the registration is in the stream. A
// second, identical submission for the child returns the first receipt with
// Repeated set; a different one returns an *enrollment.Error with
// CodeDuplicate that reveals nothing of the first application, and asks the
// Resender to send its code again to the guardian who registered it.
//
// It returns CodeBusy when the backlog is past the ceiling (nothing was
// queued), and CodeUnavailable when Redis did not answer within
// Config.Timeout; its message then says whether the registration certainly
// was not saved (no connection to Redis) or may have been. Submitting the
// same form again is always safe: if it was saved, it answers Repeated with
// the same code.
func (q *Queue) Submit(ctx context.Context, a *enrollment.Application) (Receipt, error) {
	return q.SubmitLimited(ctx, a, Limit{})
}

// Limit is a rate limit a registration is counted against in the call that
// queues it: the GCRA of github.com/go-redis/redis_rate with a burst of
// PerMinute, on the Redis key Key (as redis_rate names it, with its
// "rate:" prefix). PerMinute 0 means no limit.
type Limit struct {
	Key       string
	PerMinute int
}

// LimitedError is returned by SubmitLimited for a registration past its
// rate limit: nothing was queued, and the client may retry after
// RetryAfter.
type LimitedError struct {
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("rate limit reached; retry after %v", e.RetryAfter)
}

// SubmitLimited is Submit with the registration first counted against
// limit, in the same Redis call: past the limit it returns a *LimitedError
// and queues nothing. Every call counts, whatever its outcome, as a
// request counted by redis_rate would.
func (q *Queue) SubmitLimited(ctx context.Context, a *enrollment.Application, limit Limit) (Receipt, error) {
	if err := stamp(a, q.cfg.NowFunc()); err != nil {
		return Receipt{}, err
	}
	payload, child := entry(a)
	// Until a worker stores the application and writes its full status
	// document, the status key holds only a mark and the submission time:
	// the intake path encodes nothing more.
	doc := a.SubmittedAt.AppendFormat(append(make([]byte, 0, len(queuedMark)+len(time.RFC3339Nano)), queuedMark...), time.RFC3339Nano)
	v := q.batch.submit(ctx, &submission{
		childKey: q.children.name(a.Level, a.SchoolYear, a.Child.IDNumber), statusKey: q.cfg.Keys.App(a.TrackingCode),
		child: child, payload: payload, doc: doc, limit: limit})
	if err := v.err; err != nil {
		if errors.Is(err, errNotSent) || errors.Is(err, errQueueFull) || !q.retries && notSent(err) {
			q.metrics.reject("redis_unavailable")
			return Receipt{}, notSaved(q.cfg.RetryAfter, fmt.Errorf("redis unreachable: %w", err))
		}
		q.metrics.reject("redis_unconfirmed") // possibly queued after all
		return Receipt{}, unconfirmed(q.cfg.RetryAfter, fmt.Errorf("redis did not confirm: %w", err))
	}
	kind, val := v.kind, v.val
	switch kind {
	case 3:
		secs, _ := strconv.ParseFloat(val, 64)
		return Receipt{}, &LimitedError{RetryAfter: time.Duration(secs * float64(time.Second))}
	case 1:
		q.metrics.Accepted.Inc()
		return Receipt{TrackingCode: a.TrackingCode}, nil
	case 2:
		q.metrics.reject("busy")
		return Receipt{}, busy(q.cfg.RetryAfter)
	}
	code, prevHash, _ := strings.Cut(val, " ")
	if prevHash == child[len(a.TrackingCode)+1:] {
		q.metrics.reject("repeated")
		return Receipt{TrackingCode: code, Repeated: true}, nil
	}
	q.metrics.reject("duplicate")
	q.resend(ctx, code)
	return Receipt{}, duplicate(a)
}

// resend asks for the first application's code to be sent to its guardian.
// A failure is logged and the refusal answered anyway: the parent can still
// go to the school.
func (q *Queue) resend(ctx context.Context, code string) {
	if q.cfg.Resender == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, q.cfg.Timeout)
	defer cancel()
	if err := q.cfg.Resender.ResendCode(ctx, code); err != nil {
		q.log.Warn("intake: re-sending a tracking code could not be queued", "err", err)
	}
}

// Status returns the status document (JSON) of a tracking code as kept in
// Redis, or ok false when Redis does not have it (then PostgreSQL is asked).
// It returns CodeUnavailable when Redis does not answer within
// Config.Timeout.
func (q *Queue) Status(ctx context.Context, code string) (doc []byte, ok bool, err error) {
	key := q.cfg.Keys.App(code)
	b, err := within(ctx, q.cfg.Timeout, func(ctx context.Context) ([]byte, error) {
		return q.cmd.Get(ctx, key).Bytes()
	})
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, lookupUnavailable(q.cfg.RetryAfter, fmt.Errorf("status lookup in redis: %w", err))
	}
	if at, ok := strings.CutPrefix(string(b), queuedMark); ok {
		return queuedDoc(code, at)
	}
	return b, true, nil
}

// queuedMark starts the status key of an application not yet stored.
const queuedMark = "q "

// queuedDoc is the status document of an application not yet stored: its
// code, its state and when it was submitted.
func queuedDoc(code, submittedAt string) ([]byte, bool, error) {
	t, err := time.Parse(time.RFC3339Nano, submittedAt)
	if err != nil {
		return nil, false, fmt.Errorf("status of %s: bad submission time %q", code, submittedAt)
	}
	v := enrollment.StatusView{TrackingCode: code, SubmittedAt: t}
	v.SetStatus(enrollment.StatusQueued)
	b, err := json.Marshal(v)
	return b, err == nil, err
}

// formHash identifies the content of a registration, to tell a repeated
// submission of the same form (answered 200 with the first code) from a
// different form for the same child (answered 409).
func formHash(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:formHashLen/2])
}

// entry returns the stream entry of a stamped application (entryPayload)
// and the value of its child key: its tracking code and the hash of its
// form (formHash), "code hash". It encodes the registration once, into
// the entry: the hash is taken of its JSON there before it is spliced.
// The hash names what the parent sent: for an application pending
// verification it is the registration's without Verification, so the
// same form sent again while the population register has come back is
// still the same.
func entry(a *enrollment.Application) (payload []byte, child string) {
	b := make([]byte, 0, 1280)
	b = append(b, `{"id":"`...)
	b = append(b, a.ID...)
	b = append(b, `","tracking_code":"`...)
	b = append(b, a.TrackingCode...)
	b = append(b, `","submitted_at":"`...)
	b = a.SubmittedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	at := len(b)
	b = a.Registration.AppendJSON(b)
	var sum [sha256.Size]byte
	if a.Verification == "" {
		sum = sha256.Sum256(b[at:])
	} else {
		r := a.Registration
		r.Verification = ""
		sum = sha256.Sum256(r.AppendJSON(nil))
	}
	b[at] = ',' // the registration's "{": its members follow the intake's
	v := make([]byte, 0, len(a.TrackingCode)+1+formHashLen)
	v = append(append(v, a.TrackingCode...), ' ')
	return b, string(hex.AppendEncode(v, sum[:formHashLen/2]))
}

// formHashLen is the length of a form hash: 12 bytes of SHA-256, in hex.
const formHashLen = 24

// State returns a snapshot of the intake stream, or CodeUnavailable when
// Redis does not answer within Config.Timeout.
func (q *Queue) State(ctx context.Context) (State, error) {
	st, err := within(ctx, q.cfg.Timeout, func(ctx context.Context) (State, error) {
		return ReadState(ctx, q.rdb, q.cfg.Keys)
	})
	if err != nil {
		return State{}, lookupUnavailable(q.cfg.RetryAfter, fmt.Errorf("read the stream state: %w", err))
	}
	return st, nil
}

// stamp assigns a new application its ID, tracking code and submission
// time. IDs are UUIDv7, so consecutive inserts land close in the index.
func stamp(a *enrollment.Application, now time.Time) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("new application id: %w", err)
	}
	a.ID = id.String()
	a.TrackingCode = enrollment.NewTrackingCode()
	a.SubmittedAt = now.UTC()
	return nil
}

// SaveCatalog keeps a copy of the reference data in Redis, so that an API
// process starting while PostgreSQL is down can still check registrations.
func SaveCatalog(ctx context.Context, rdb *redis.Client, keys Keys, c *enrollment.Catalog) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode catalog: %w", err)
	}
	if err := rdb.Set(ctx, keys.Catalog(), b, 0).Err(); err != nil {
		return fmt.Errorf("save catalog: %w", err)
	}
	return nil
}

// LoadCatalog reads the copy kept by SaveCatalog.
func LoadCatalog(ctx context.Context, rdb *redis.Client, keys Keys) (*enrollment.Catalog, error) {
	b, err := rdb.Get(ctx, keys.Catalog()).Bytes()
	if err != nil {
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	return enrollment.UnmarshalCatalog(b)
}
