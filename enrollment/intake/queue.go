package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// submitScript adds one registration to the stream unless the child already
// has one for the level and year, or the backlog is past its ceiling. It is
// one atomic step, so two registrations of a child racing each other yield
// one entry, and it is safe to run twice (a retried pipeline finds the child
// key it set and answers with the same code).
//
// KEYS: child key, stream, status key. ARGV: tracking code, form hash,
// ceiling (0: none), payload, status document, key TTL in seconds.
// Returns {1, entry id}, {0, "code hash"} for an existing child, or {2, ""}
// when the backlog is at its ceiling.
var submitScript = redis.NewScript(`
local prev = redis.call('GET', KEYS[1])
if prev then return {0, prev} end
local ceiling = tonumber(ARGV[3])
if ceiling > 0 and redis.call('XLEN', KEYS[2]) >= ceiling then return {2, ''} end
local id = redis.call('XADD', KEYS[2], '*', 'a', ARGV[4])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'EX', ARGV[6])
redis.call('SET', KEYS[3], ARGV[5], 'EX', ARGV[6])
return {1, id}
`)

// Config configures a Queue.
type Config struct {
	Keys Keys
	// Ceiling is the backlog (entries in the stream not yet stored) past
	// which Submit answers CodeBusy. Zero means no ceiling.
	Ceiling int64
	// RetryAfter is what a busy or unavailable answer tells clients to wait.
	RetryAfter time.Duration
	// KeyTTL is how long the duplicate guard and status document of a
	// registration live in Redis. It must outlast the window; PostgreSQL
	// answers for older codes.
	KeyTTL time.Duration
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
}

// cmdable is what Queue needs of a Redis client or auto-pipeliner.
type cmdable interface {
	redis.Scripter
	Get(ctx context.Context, key string) *redis.StringCmd
}

// NewQueue returns a queue on rdb. With autoPipeline, concurrent requests'
// commands are sent to Redis together in pipelines, which roughly halves
// the CPU each registration costs under load.
func NewQueue(rdb *redis.Client, cfg Config, m *Metrics, autoPipeline bool) (*Queue, error) {
	cfg.defaults()
	q := &Queue{rdb: rdb, cmd: rdb, cfg: cfg, metrics: m, log: cfg.Logger}
	if autoPipeline {
		ap, err := rdb.AutoPipeline()
		if err != nil {
			return nil, fmt.Errorf("redis auto-pipeline: %w", err)
		}
		q.cmd = ap
	}
	return q, nil
}

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
// CodeDuplicate and the first tracking code. It returns CodeBusy when the
// backlog is past the ceiling and CodeUnavailable when Redis cannot be
// reached; in both cases nothing was queued.
func (q *Queue) Submit(ctx context.Context, a *enrollment.Application) (Receipt, error) {
	content, err := json.Marshal(&a.Registration)
	if err != nil {
		return Receipt{}, fmt.Errorf("encode application: %w", err)
	}
	hash := formHash(content)
	if err := stamp(a, q.cfg.NowFunc()); err != nil {
		return Receipt{}, err
	}
	payload := entryPayload(a, content)
	// Until a worker stores the application and writes its full status
	// document, the status key holds only a mark and the submission time:
	// the intake path encodes nothing more.
	doc := a.SubmittedAt.AppendFormat([]byte(queuedMark), time.RFC3339Nano)
	k := q.cfg.Keys
	keys := []string{k.Child(a.Level, a.SchoolYear, a.Child.IDNumber), k.Stream(), k.App(a.TrackingCode)}
	res, err := submitScript.Run(ctx, q.cmd, keys,
		a.TrackingCode, hash, q.cfg.Ceiling, payload, doc, int64(q.cfg.KeyTTL/time.Second)).Slice()
	if err != nil {
		q.metrics.reject("redis_unavailable")
		q.log.Error("intake: redis unavailable; registration refused with 503", "err", err)
		return Receipt{}, q.unavailable()
	}
	if len(res) != 2 {
		return Receipt{}, fmt.Errorf("submit script: unexpected reply %v", res)
	}
	kind, _ := res[0].(int64)
	val, _ := res[1].(string)
	switch kind {
	case 1:
		q.metrics.Accepted.Inc()
		return Receipt{TrackingCode: a.TrackingCode}, nil
	case 2:
		q.metrics.reject("busy")
		return Receipt{}, &enrollment.Error{Code: enrollment.CodeBusy,
			Message:    fmt.Sprintf("Hệ thống đang nhận rất nhiều hồ sơ; vui lòng gửi lại sau %d giây. Thời điểm nộp không ảnh hưởng đến kết quả tuyển sinh.", int(q.cfg.RetryAfter/time.Second)),
			MessageEN:  fmt.Sprintf("the system is receiving very many registrations; please submit again in %d seconds. The time of submission does not affect placement.", int(q.cfg.RetryAfter/time.Second)),
			RetryAfter: q.cfg.RetryAfter}
	}
	code, prevHash, _ := strings.Cut(val, " ")
	if prevHash == hash {
		q.metrics.reject("repeated")
		return Receipt{TrackingCode: code, Repeated: true}, nil
	}
	q.metrics.reject("duplicate")
	return Receipt{}, &enrollment.Error{Code: enrollment.CodeDuplicate,
		Message:      fmt.Sprintf("Trẻ có số định danh %s đã được đăng ký %s năm học %d-%d (mã tra cứu %s). Mỗi trẻ chỉ có một hồ sơ; để sửa hồ sơ hãy liên hệ nhà trường.", a.Child.IDNumber, a.Level.NameVI(), a.SchoolYear, a.SchoolYear+1, code),
		MessageEN:    fmt.Sprintf("the child with ID number %s is already registered for %s in %d-%d (tracking code %s). A child has one application; contact the school to change it.", a.Child.IDNumber, a.Level, a.SchoolYear, a.SchoolYear+1, code),
		TrackingCode: code}
}

// unavailable is the answer while Redis cannot be reached. The cause is
// logged, not shown to parents.
func (q *Queue) unavailable() error {
	return &enrollment.Error{Code: enrollment.CodeUnavailable,
		Message:    fmt.Sprintf("Hệ thống tạm thời không nhận được hồ sơ; hồ sơ CHƯA được lưu. Vui lòng gửi lại sau %d giây.", int(q.cfg.RetryAfter/time.Second)),
		MessageEN:  fmt.Sprintf("registrations cannot be taken right now; this one was NOT saved. Please submit again in %d seconds.", int(q.cfg.RetryAfter/time.Second)),
		RetryAfter: q.cfg.RetryAfter}
}

// Status returns the status document (JSON) of a tracking code as kept in
// Redis, or ok false when Redis does not have it (then PostgreSQL is asked).
func (q *Queue) Status(ctx context.Context, code string) (doc []byte, ok bool, err error) {
	b, err := q.cmd.Get(ctx, q.cfg.Keys.App(code)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		q.log.Warn("intake: status lookup in redis failed", "err", err)
		return nil, false, q.unavailable()
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
	return hex.EncodeToString(sum[:12])
}

// entryPayload is the stream entry of an application: its content with the
// id, tracking code and submission time spliced in front, which decodes as
// an enrollment.Application. The content is encoded once per request.
func entryPayload(a *enrollment.Application, content []byte) []byte {
	b := make([]byte, 0, len(content)+128)
	b = append(b, `{"id":"`...)
	b = append(b, a.ID...)
	b = append(b, `","tracking_code":"`...)
	b = append(b, a.TrackingCode...)
	b = append(b, `","submitted_at":"`...)
	b = a.SubmittedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `",`...)
	return append(b, content[1:]...) // content is a JSON object: drop its "{"
}

// State returns a snapshot of the intake stream, or CodeUnavailable.
func (q *Queue) State(ctx context.Context) (State, error) {
	st, err := ReadState(ctx, q.rdb, q.cfg.Keys)
	if err != nil {
		q.log.Warn("intake: reading the stream state failed", "err", err)
		return State{}, q.unavailable()
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
