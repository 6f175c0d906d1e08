package intake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// submitBatchScript adds the registrations of concurrent requests to the
// stream in one call. Each registration is checked and added exactly as if
// it were alone, in the order given: it is first counted against its rate
// limit, if it has one, and refused past it; it is skipped when its child
// already has a registration for the level and year (including one added
// earlier in the same call); it is refused when the backlog has reached the
// ceiling. A script runs atomically, so each registration is one atomic
// step, and running a call twice is safe (the second finds the child keys
// set by the first and answers with the same codes; it counts the requests
// against their limits again, as a client's retry would).
//
// The rate limit is the GCRA of github.com/go-redis/redis_rate (v10) with
// burst = rate per period, on the same key: a registration counted here and
// a request counted by redis_rate draw on one budget.
//
// KEYS: the stream, then for each registration its child key, status key
// and rate-limit key. ARGV: ceiling (0: none), key TTL in seconds, then for
// each registration the value of its child key (its tracking code and form
// hash, "code hash"), its payload, its status document and its limit per
// minute (0: no limit).
// Returns two values per registration: {1, ""} when added, {0, "code
// hash"} for an existing child, {2, ""} when the backlog is at its
// ceiling, {3, "seconds"} past the rate limit (retry after).
var submitBatchScript = redis.NewScript(`
local ceiling = tonumber(ARGV[1])
local ttl = ARGV[2]
local backlog = 0
if ceiling > 0 then backlog = redis.call('XLEN', KEYS[1]) end
local now
local function limited(key, rate)
	if not now then
		local t = redis.call('TIME')
		now = (t[1] - 1483228800) + (t[2] / 1000000)
	end
	local emission = 60 / rate
	local tat = tonumber(redis.call('GET', key)) or now
	tat = math.max(tat, now)
	local new_tat = tat + emission
	local diff = now - (new_tat - emission * rate)
	if diff < 0 then return tostring(-diff) end
	redis.call('SET', key, new_tat, 'EX', math.ceil(new_tat - now))
	return nil
end
local out = {}
for i = 1, (#KEYS - 1) / 3 do
	local child, a = KEYS[3 * i - 1], 4 * i - 1
	local rate = tonumber(ARGV[a + 3])
	local retry = nil
	if rate > 0 then retry = limited(KEYS[3 * i + 1], rate) end
	if retry then
		out[2 * i - 1] = 3
		out[2 * i] = retry
	else
		local prev = redis.call('GET', child)
		if prev then
			out[2 * i - 1] = 0
			out[2 * i] = prev
		elseif ceiling > 0 and backlog >= ceiling then
			out[2 * i - 1] = 2
			out[2 * i] = ''
		else
			redis.call('XADD', KEYS[1], '*', 'a', ARGV[a + 1])
			redis.call('SET', child, ARGV[a], 'EX', ttl)
			redis.call('SET', KEYS[3 * i], ARGV[a + 2], 'EX', ttl)
			backlog = backlog + 1
			out[2 * i - 1] = 1
			out[2 * i] = ''
		end
	end
end
return out
`)

// Limits of the batcher. A batch of maxBatch registrations keeps Redis busy
// for about a millisecond. With maxFlushes calls in flight, one batch
// gathers while the other is on its way; more calls make smaller batches,
// each a script call and a round trip (at 64 connections: 4 in flight sent
// about 6 registrations a call, 2 about 10, 1 about 18, and 4 cost Redis
// and the server the most per registration).
const (
	maxBatch   = 128
	maxFlushes = 2
)

// submission is one registration waiting for its batch.
type submission struct {
	childKey, statusKey string
	child               string // the child key's value: "code hash"
	payload, doc        []byte
	limit               Limit
	// state moves from pending to taken when a flush sends it, or to
	// abandoned when its request gives up first: an abandoned submission
	// is never sent, so its request may say it certainly was not saved.
	state atomic.Int32
	done  chan verdict // buffered: the flush never waits for the request
}

const (
	pending int32 = iota
	taken
	abandoned
)

// verdict is the script's answer for one registration, or the error of the
// call that carried it.
type verdict struct {
	kind int64
	val  string
	err  error
}

// batcher sends the registrations of concurrent requests to Redis together,
// one script call per batch: Redis runs one script instead of one per
// registration, and the server encodes and waits on one command. A flush
// starts as soon as a registration arrives and no more than maxFlushes are
// in flight, so a lone request waits for no one; under load, registrations
// arriving during a round trip form the next batch.
type batcher struct {
	rdb      redis.Scripter
	stream   string
	ceiling  int64
	ttl      int64
	timeout  time.Duration
	maxQueue int

	mu       sync.Mutex
	queue    []*submission
	flushing int
}

// errQueueFull is returned when maxQueue registrations already wait: Redis
// is not keeping up (stalled), and waiting longer would only pile up
// requests. Nothing was sent.
var errQueueFull = errors.New("too many registrations already wait for Redis")

// submit waits for s's verdict, or until ctx ends or the timeout passes.
func (b *batcher) submit(ctx context.Context, s *submission) verdict {
	s.done = make(chan verdict, 1)
	b.mu.Lock()
	if len(b.queue) >= b.maxQueue {
		b.mu.Unlock()
		return verdict{err: errQueueFull}
	}
	b.queue = append(b.queue, s)
	start := b.flushing < maxFlushes
	if start {
		b.flushing++
	}
	b.mu.Unlock()
	if start {
		go b.flush()
	}
	t := timers.Get().(*time.Timer)
	t.Reset(b.timeout)
	defer func() {
		t.Stop() // and, since Go 1.23, no value is left to receive
		timers.Put(t)
	}()
	var cause error
	select {
	case v := <-s.done:
		return v
	case <-t.C:
		cause = context.DeadlineExceeded
	case <-ctx.Done():
		cause = context.Cause(ctx)
	}
	if s.state.CompareAndSwap(pending, abandoned) {
		return verdict{err: fmt.Errorf("%w before it was sent (%w)", errNotSent, cause)}
	}
	return verdict{err: fmt.Errorf("%w (%w)", errTimeout, cause)}
}

// timers are the stopped timers of requests no longer waiting, for the
// next ones to wait with.
var timers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// errNotSent marks a registration given up before any of it reached Redis.
var errNotSent = errors.New("redis did not take the registration in time")

// flush sends batches until none is waiting.
func (b *batcher) flush() {
	batch := make([]*submission, 0, maxBatch)
	for {
		batch = batch[:0]
		b.mu.Lock()
		n := 0
		for n < len(b.queue) && len(batch) < maxBatch {
			s := b.queue[n]
			n++
			if s.state.CompareAndSwap(pending, taken) {
				batch = append(batch, s)
			}
		}
		rest := copy(b.queue, b.queue[n:])
		clear(b.queue[rest:])
		b.queue = b.queue[:rest]
		if n == 0 {
			b.flushing--
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		if len(batch) > 0 {
			b.send(batch)
		}
	}
}

// send runs the script for batch and hands each submission its verdict.
func (b *batcher) send(batch []*submission) {
	keys := make([]string, 1, 1+3*len(batch))
	keys[0] = b.stream
	args := make([]any, 2, 2+4*len(batch))
	args[0], args[1] = b.ceiling, b.ttl
	for _, s := range batch {
		keys = append(keys, s.childKey, s.statusKey, s.limit.Key)
		args = append(args, s.child, s.payload, s.doc, max(s.limit.PerMinute, 0))
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	res, err := submitBatchScript.Run(ctx, b.rdb, keys, args...).Slice()
	cancel()
	if err == nil && len(res) != 2*len(batch) {
		err = fmt.Errorf("submit script: %d values for %d registrations", len(res), len(batch))
	}
	for i, s := range batch {
		if err != nil {
			s.done <- verdict{err: err}
			continue
		}
		kind, _ := res[2*i].(int64)
		val, _ := res[2*i+1].(string)
		s.done <- verdict{kind: kind, val: val}
	}
}
