package intake_test

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// returnsWithin runs fn and fails the test if it has not returned after
// bound. The bound is generous: it catches a call that hangs while Redis
// is stalled, it does not time a fast one.
func returnsWithin(t *testing.T, what string, bound time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(bound):
		t.Fatalf("%s did not return within %v while Redis was stalled", what, bound)
	}
}

func TestRedisStalled(t *testing.T) {
	t.Parallel()
	for _, autoPipeline := range []bool{false, true} {
		t.Run(fmt.Sprintf("autopipeline=%v", autoPipeline), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			own := testenv.StartRedis(t)
			addr, srv := own.Addr, own.Cmd
			rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
			t.Cleanup(func() { rdb.Close() })
			b.rdb = rdb // state() reads the test's own server
			const timeout = time.Second
			q := b.newQueue(t, intake.Config{Timeout: timeout}, rdb, autoPipeline)
			if _, err := q.Submit(t.Context(), b.app(t, 1)); err != nil {
				t.Fatalf("Submit before the stall = %v", err)
			}

			if err := srv.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			first := b.app(t, 0)
			var err error
			returnsWithin(t, "Submit", 3*timeout, func() { _, err = q.Submit(t.Context(), first) })
			var e *enrollment.Error
			if !errors.As(err, &e) || e.Code != enrollment.CodeUnavailable || e.RetryAfter == 0 {
				t.Fatalf("Submit while Redis is stalled = %v, want unavailable with Retry-After", err)
			}
			if !strings.Contains(e.Message, "có thể chưa được lưu") || !strings.Contains(e.MessageEN, "may not have been") || strings.Contains(e.Message, "CHƯA") {
				t.Errorf("Submit while Redis is stalled says %q / %q, want that the outcome is unknown", e.Message, e.MessageEN)
			}
			returnsWithin(t, "Status", 3*timeout, func() { _, _, err = q.Status(t.Context(), first.TrackingCode) })
			if !errors.As(err, &e) || e.Code != enrollment.CodeUnavailable {
				t.Errorf("Status while Redis is stalled = %v, want unavailable", err)
			}
			returnsWithin(t, "State", 3*timeout, func() { _, err = q.State(t.Context()) })
			if !errors.As(err, &e) || e.Code != enrollment.CodeUnavailable {
				t.Errorf("State while Redis is stalled = %v, want unavailable", err)
			}
			returnsWithin(t, "Ping", 3*timeout, func() { err = intake.Ping(t.Context(), rdb, timeout) })
			if err == nil {
				t.Errorf("Ping while Redis is stalled = nil, want an error")
			}

			if err := srv.Process.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			// The stalled registration was in the socket: Redis runs it once
			// it wakes up. Submitting the same form again then answers with
			// the code the unconfirmed submission was given.
			waitFor(t, "the stalled registration to land", func() bool { return b.state(t).Length == 2 })
			again, err := q.Submit(t.Context(), b.app(t, 0))
			if err != nil || !again.Repeated || again.TrackingCode != first.TrackingCode {
				t.Errorf("resubmission after the stall = %+v, %v; want repeated with %s", again, err, first.TrackingCode)
			}
			if st := b.state(t); st.Length != 2 {
				t.Errorf("stream length = %d, want 2: the resubmission queued nothing", st.Length)
			}
		})
	}
}

func TestRedisRefused(t *testing.T) {
	t.Parallel()
	for _, autoPipeline := range []bool{false, true} {
		t.Run(fmt.Sprintf("autopipeline=%v", autoPipeline), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close() // nothing listens there now: connections are refused
			for _, c := range []struct {
				retries int
				want    string
			}{
				{-1, "CHƯA được lưu"},
				// A client that retries cannot prove an earlier attempt was
				// not sent.
				{3, "có thể chưa được lưu"},
			} {
				rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: c.retries, MaxRetryBackoff: time.Millisecond})
				t.Cleanup(func() { rdb.Close() })
				q := b.newQueue(t, intake.Config{}, rdb, autoPipeline)
				_, err = q.Submit(t.Context(), b.app(t, 0))
				var e *enrollment.Error
				if !errors.As(err, &e) || e.Code != enrollment.CodeUnavailable || !strings.Contains(e.Message, c.want) {
					t.Errorf("Submit with connections refused (MaxRetries %d) = %v, want unavailable saying %q", c.retries, err, c.want)
				}
			}
		})
	}
}
