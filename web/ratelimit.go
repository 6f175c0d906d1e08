package web

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
)

// RateLimit is a named limit on requests per client address: registration,
// status lookup, staff sign-in. Each name has its own budget.
type RateLimit struct {
	Name string
	// PerMinute is the sustained rate allowed per client address, and also
	// its burst: a client that was quiet may send PerMinute requests at
	// once. 0 turns the limit off.
	PerMinute int
}

// RateLimiter counts requests per named limit and client address in Redis,
// so every replica of the API shares one budget per client. It fails open:
// when Redis does not answer within its timeout the request goes on (a
// registration then answers 503 from the intake, which needs the same
// Redis), since refusing every parent because a counter is away would be
// worse than an hour without limits.
type RateLimiter struct {
	rl      *redis_rate.Limiter
	prefix  string
	timeout time.Duration
	log     *slog.Logger
	warned  atomic.Int64 // unix seconds of the last "failing open" warning
}

// RateRedis is the part of a Redis client the limiter uses: a
// *redis.Client, or anything else that runs Lua scripts (an auto-pipeliner
// would save a round trip per request, once its calls honour deadlines).
type RateRedis interface {
	redis.Scripter
	Del(ctx context.Context, keys ...string) *redis.IntCmd
}

// NewRateLimiter returns a limiter keeping its counters in rdb under keys
// named with prefix, each call bounded by timeout.
func NewRateLimiter(rdb RateRedis, prefix string, timeout time.Duration, log *slog.Logger) *RateLimiter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RateLimiter{rl: redis_rate.NewLimiter(rdb), prefix: prefix, timeout: timeout, log: log}
}

// Allow counts one request of client under limit and reports whether it
// may go on, and if not, when to retry. An error means the count could not
// be made (Redis down or slow); the caller lets the request go on.
func (l *RateLimiter) Allow(ctx context.Context, limit RateLimit, client string) (ok bool, retryAfter time.Duration, err error) {
	if limit.PerMinute <= 0 {
		return true, 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	res, err := l.rl.Allow(ctx, l.key(limit.Name, client),
		redis_rate.Limit{Rate: limit.PerMinute, Burst: limit.PerMinute, Period: time.Minute})
	if err != nil {
		return true, 0, fmt.Errorf("rate limit %s: %w", limit.Name, err)
	}
	if res.Allowed > 0 {
		return true, 0, nil
	}
	return false, res.RetryAfter, nil
}

func (l *RateLimiter) key(name, client string) string { return l.prefix + ":rl:" + name + ":" + client }

// Key is the Redis key holding the count of client under the limit named
// name, as redis_rate names it: a script that counts a request in another
// call (intake.Limit) draws on the same budget.
func (l *RateLimiter) Key(name, client string) string { return "rate:" + l.key(name, client) }

// limitedIntake is an Intake that counts a registration against a rate
// limit in the Redis call that queues it (*intake.Queue).
type limitedIntake interface {
	SubmitLimited(ctx context.Context, a *enrollment.Application, limit intake.Limit) (intake.Receipt, error)
}

// ridesLimit reports whether the registration limit is on and counted in
// the intake's own Redis call (submitApplication) instead of by the
// route's middleware.
func (s *server) ridesLimit() bool {
	_, ok := s.Intake.(limitedIntake)
	return ok && s.RateLimiter != nil && s.RegisterPerMinute > 0
}

// allowRegister counts a registration request on its own, for one that
// does not reach the intake's call; it returns the 429 refusal past the
// limit, or nil (also when Redis does not answer: limits fail open).
func (s *server) allowRegister(c echo.Context) error {
	ok, retry, err := s.RateLimiter.Allow(c.Request().Context(), RateLimit{RegisterLimit, s.RegisterPerMinute}, clientKey(c.Request(), s.ClientIPHeader))
	if err != nil {
		s.RateLimiter.warnOpen(err)
		return nil
	}
	if !ok {
		s.Metrics.Reject(string(enrollment.CodeTooMany))
		return tooManyRequests(retry)
	}
	return nil
}

// limit returns middleware holding a route to limit per client address.
// Without a limiter, or with the limit off, it lets everything through.
func (s *server) limit(limit RateLimit) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if s.RateLimiter == nil || limit.PerMinute <= 0 || limit.Name == RegisterLimit && s.ridesLimit() {
			return next
		}
		return func(c echo.Context) error {
			client := clientKey(c.Request(), s.ClientIPHeader)
			ok, retry, err := s.RateLimiter.Allow(c.Request().Context(), limit, client)
			if err != nil {
				s.RateLimiter.warnOpen(err)
				return next(c)
			}
			if !ok {
				if limit.Name == RegisterLimit && s.Metrics != nil {
					s.Metrics.Reject(string(enrollment.CodeTooMany))
				}
				if limit.Name == LoginLimit {
					return tooManySignIns(retry)
				}
				return tooManyRequests(retry)
			}
			return next(c)
		}
	}
}

// warnOpen logs that limits are not applied, at most every 10 seconds:
// while Redis is away every request would say it.
func (l *RateLimiter) warnOpen(err error) {
	now := time.Now().Unix()
	if last := l.warned.Load(); now-last >= 10 && l.warned.CompareAndSwap(last, now) {
		l.log.Warn("rate limits not applied: Redis does not answer", "err", err)
	}
}

// Names of the limits.
const (
	RegisterLimit = "register"
	StatusLimit   = "status"
)

func tooManyRequests(retry time.Duration) *enrollment.Error {
	secs := max(1, int(math.Ceil(retry.Seconds())))
	return &enrollment.Error{Code: enrollment.CodeTooMany,
		Message:    fmt.Sprintf("Có quá nhiều yêu cầu từ địa chỉ mạng của bạn. Vui lòng thử lại sau %d giây; hồ sơ đã gửi không bị ảnh hưởng", secs),
		MessageEN:  fmt.Sprintf("too many requests from your network address; please try again in %d seconds. Registrations already sent are not affected", secs),
		RetryAfter: time.Duration(secs) * time.Second}
}

func tooManySignIns(retry time.Duration) *enrollment.Error {
	secs := max(1, int(math.Ceil(retry.Seconds())))
	return &enrollment.Error{Code: enrollment.CodeTooMany,
		Message:    fmt.Sprintf("Có quá nhiều lần đăng nhập từ địa chỉ mạng của bạn. Vui lòng thử lại sau %d giây", secs),
		MessageEN:  fmt.Sprintf("Too many sign-in attempts from your network address; please try again in %d seconds", secs),
		RetryAfter: time.Duration(secs) * time.Second}
}

// clientKey returns the address a request is counted under. Behind a
// proxy it comes from the trusted header only (for X-Forwarded-For, its
// right-most entry: the one the proxy itself added; entries to its left
// are whatever the client wrote); without a configured header, from the
// connection, since anyone can send any header. An IPv6 client is counted
// by its /64, the block one subscriber holds: counting single addresses
// would give each client 2^64 budgets.
func clientKey(r *http.Request, header string) string {
	var addr netip.Addr
	if header != "" {
		if vs := r.Header.Values(header); len(vs) > 0 {
			v := vs[len(vs)-1]
			if i := strings.LastIndexByte(v, ','); i >= 0 {
				v = v[i+1:]
			}
			addr, _ = netip.ParseAddr(strings.TrimSpace(v))
		}
	}
	if !addr.IsValid() {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		addr, _ = netip.ParseAddr(host)
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	if !addr.IsValid() {
		return "unknown"
	}
	return addr.String()
}
