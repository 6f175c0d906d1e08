package intake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultTimeout is how long a request waits for Redis (REDIS_TIMEOUT).
const DefaultTimeout = 2 * time.Second

// errTimeout is returned when Redis did not answer within the deadline.
var errTimeout = errors.New("redis did not answer in time")

type result[T any] struct {
	v   T
	err error
}

// within runs fn with a deadline d from now and returns its result, or
// errTimeout as soon as the deadline passes (or ctx ends), even if fn is
// still waiting.
//
// The deadline is enforced here rather than left to the client because
// go-redis' auto-pipeliner does not honour a command's context once the
// command is queued (see the AutoPipeliner documentation in v9.23): a
// stalled Redis would hold every request until it wakes up. fn then goes
// on in the background until the client gives up on its connection (its
// read timeout); it must return its results, never store them where the
// caller reads.
func within[T any](ctx context.Context, d time.Duration, fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	done := make(chan result[T], 1)
	go func() {
		v, err := fn(ctx)
		done <- result[T]{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("%w (%w)", errTimeout, context.Cause(ctx))
	}
}

// notSent reports whether err proves that a command never reached Redis:
// no connection could be made or had, or the client refused it before
// writing. Anything else (a timeout, a connection lost after writing) leaves
// the outcome unknown. It is only sound for a client that does not retry:
// a retry's refusal may follow an attempt that was sent.
func notSent(err error) bool {
	switch {
	case errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted),
		errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrAutoPipelineQueueFull),
		errors.Is(err, redis.ErrAutoPipelineTimeout):
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// Ping checks that Redis answers within d, for readiness probes: a stalled
// Redis must fail the probe, not hold it.
func Ping(ctx context.Context, rdb *redis.Client, d time.Duration) error {
	_, err := within(ctx, d, func(ctx context.Context) (string, error) { return rdb.Ping(ctx).Result() })
	if err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}
