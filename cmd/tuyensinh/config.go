package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment/outbox"
)

// config is the service's configuration, read from the environment.
type config struct {
	DatabaseURL  string        // DATABASE_URL (required)
	RedisURL     string        // REDIS_URL (required)
	HTTPAddr     string        // HTTP_ADDR, default :8080
	RedisPrefix  string        // REDIS_PREFIX, default "ts": names every Redis key
	Ceiling      int64         // INTAKE_CEILING: backlog past which intake answers 503
	RetryAfter   time.Duration // INTAKE_RETRY_AFTER
	Workers      int           // INTAKE_WORKERS: workers per process
	BatchSize    int           // INTAKE_BATCH
	Consumer     string        // INTAKE_CONSUMER: this process's consumer name prefix
	MinIdle      time.Duration // INTAKE_MIN_IDLE: reclaim entries idle this long
	MaxDelivery  int64         // INTAKE_MAX_DELIVERIES: failures for the entry's own data before it is dead-lettered
	DBMaxConns   int           // DB_MAX_CONNS
	AutoPipeline bool          // REDIS_AUTOPIPELINE
	LogLevel     string        // LOG_LEVEL: debug, info, warn, error
	LogFormat    string        // LOG_FORMAT: json or text
	IntakeMode   string        // INTAKE_MODE: buffered (default) or direct
	PprofAddr    string        // PPROF_ADDR: serve /debug/pprof here if set

	// Shutdown on SIGTERM.
	ShutdownDrainDelay time.Duration // SHUTDOWN_DRAIN_DELAY: /readyz answers 503 this long before the listener closes
	ShutdownTimeout    time.Duration // SHUTDOWN_TIMEOUT: from SIGTERM to exit, at most

	// Intake queue, outbox and the lifetime of data in Redis.
	RedisTimeout time.Duration // REDIS_TIMEOUT, default 2s: deadline on every Redis call of a request
	// HMACKey (INTAKE_HMAC_KEY, at least 16 bytes) keys the hash that names
	// a child in Redis instead of its ID number. Every API process of a
	// deployment must share it (otherwise a second registration of a child
	// is caught only when stored) and keep it for the window; unset, a
	// public development key is used with a warning. Generate one with
	// `openssl rand -base64 32`.
	HMACKey      string
	StatusGrace  time.Duration // INTAKE_STATUS_GRACE, default 10m: status documents stay in Redis this long once stored
	OutboxSender string        // OUTBOX_SENDER: how messages to parents are sent: "log" (the demo) or "smtp"
	// SMTP is the e-mail sender of OUTBOX_SENDER=smtp, from SMTP_ADDR,
	// SMTP_FROM, SMTP_USERNAME and SMTP_PASSWORD; nil otherwise.
	SMTP *outbox.SMTPSender
	// The HTTP edge: rate limits, client addresses, metrics listener.

	// RateLimitRegister (RATE_LIMIT_REGISTER, default 60, 0 = off) is the
	// registrations per minute allowed per client address (an IPv6 /64),
	// counted in Redis across all replicas, with a burst of as many. A
	// family registers one to three children and may resend each a few
	// times; a school desk or a ward office helping parents on one shared
	// connection takes at least a minute per form, so even thirty desks
	// behind one address stay at half the limit. An attacker is held to
	// 86,400 IDs a day per address instead of the 1,400 a second seen
	// without a limit. Raise it for a carrier NAT that puts many
	// households behind one address, or set CLIENT_IP_HEADER.
	RateLimitRegister int
	// RateLimitStatus (RATE_LIMIT_STATUS, default 600, 0 = off) is the
	// status lookups per minute per client address, with a burst of as
	// many. The status page polls a queued application every 2 s at first
	// and every 15 s after a minute: a hundred parents following their
	// applications from one school's connection make about 400 a minute.
	RateLimitStatus int
	// ClientIPHeader (CLIENT_IP_HEADER) is the header a trusted proxy in
	// front sets to the client's address, e.g. X-Real-IP, or
	// X-Forwarded-For (its right-most entry is used). Empty: the
	// connection's address, and no header is believed (any client can
	// write any header).
	ClientIPHeader string
	// MetricsAddr (METRICS_ADDR) is where /metrics is served, apart from
	// the public port (e.g. 127.0.0.1:9090). Empty: not served.
	MetricsAddr string

	// Staff accounts and sessions (issue 8).
	// StaffSessionIdle (STAFF_SESSION_IDLE, default 30m) ends a staff
	// session after this long without a request; StaffSessionLifetime
	// (STAFF_SESSION_LIFETIME, default 12h, a working day) after this long
	// however busy.
	StaffSessionIdle     time.Duration
	StaffSessionLifetime time.Duration
	// CookieSecure (COOKIE_SECURE, default false) marks the session cookie
	// Secure, sent over HTTPS only: set it to true behind TLS. Off for the
	// demo on http://localhost, where a Secure cookie would never be sent.
	CookieSecure bool
	// StaffLoginRate (STAFF_LOGIN_RATE, default 10, 0 = off) is the
	// sign-in attempts per minute per client address, counted in Redis.
	// Apart from it, an account is locked for 15 minutes after 5
	// consecutive wrong passwords.
	StaffLoginRate int
}

// loadConfig reads the configuration and reports every missing or bad value
// at once.
func loadConfig(getenv func(string) string) (config, error) {
	var errs []error
	str := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	integer := func(name string, def, lo, hi int64) int64 {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number from %d to %d", name, v, lo, hi))
			return def
		}
		return n
	}
	duration := func(name string, def time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as 30s or 2m", name, v))
			return def
		}
		return d
	}
	boolean := func(name string, def bool) bool {
		v := getenv(name)
		if v == "" {
			return def
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want true or false", name, v))
			return def
		}
		return b
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "tuyensinh"
	}
	c := config{
		DatabaseURL:  getenv("DATABASE_URL"),
		RedisURL:     getenv("REDIS_URL"),
		HTTPAddr:     str("HTTP_ADDR", ":8080"),
		RedisPrefix:  str("REDIS_PREFIX", "ts"),
		Ceiling:      integer("INTAKE_CEILING", 500_000, 0, 1<<40),
		RetryAfter:   duration("INTAKE_RETRY_AFTER", 5*time.Second),
		Workers:      int(integer("INTAKE_WORKERS", 2, 1, 64)),
		BatchSize:    int(integer("INTAKE_BATCH", 1000, 1, 10_000)),
		Consumer:     str("INTAKE_CONSUMER", host),
		MinIdle:      duration("INTAKE_MIN_IDLE", time.Minute),
		MaxDelivery:  integer("INTAKE_MAX_DELIVERIES", 5, 1, 1000),
		DBMaxConns:   int(integer("DB_MAX_CONNS", 20, 1, 1000)),
		AutoPipeline: boolean("REDIS_AUTOPIPELINE", true),
		LogLevel:     str("LOG_LEVEL", "info"),
		LogFormat:    str("LOG_FORMAT", "json"),
		IntakeMode:   str("INTAKE_MODE", "buffered"),
		PprofAddr:    getenv("PPROF_ADDR"),

		// Shutdown on SIGTERM.
		ShutdownDrainDelay: 5 * time.Second,
		ShutdownTimeout:    duration("SHUTDOWN_TIMEOUT", 25*time.Second),

		RedisTimeout: duration("REDIS_TIMEOUT", 2*time.Second),
		HMACKey:      getenv("INTAKE_HMAC_KEY"),
		StatusGrace:  duration("INTAKE_STATUS_GRACE", 10*time.Minute),
		OutboxSender: str("OUTBOX_SENDER", "log"),

		// The HTTP edge.
		RateLimitRegister: int(integer("RATE_LIMIT_REGISTER", 60, 0, 1_000_000)),
		RateLimitStatus:   int(integer("RATE_LIMIT_STATUS", 600, 0, 1_000_000)),
		ClientIPHeader:    getenv("CLIENT_IP_HEADER"),
		MetricsAddr:       getenv("METRICS_ADDR"),

		// Staff accounts and sessions.
		StaffSessionIdle:     duration("STAFF_SESSION_IDLE", 30*time.Minute),
		StaffSessionLifetime: duration("STAFF_SESSION_LIFETIME", 12*time.Hour),
		CookieSecure:         boolean("COOKIE_SECURE", false),
		StaffLoginRate:       int(integer("STAFF_LOGIN_RATE", 10, 0, 1_000_000)),
	}
	// A drain delay of 0 is allowed: without a load balancer there is
	// nobody to wait for.
	if v := getenv("SHUTDOWN_DRAIN_DELAY"); v != "" {
		if d, err := time.ParseDuration(v); err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("SHUTDOWN_DRAIN_DELAY=%q: want a duration such as 5s, or 0", v))
		} else {
			c.ShutdownDrainDelay = d
		}
	}
	if c.ShutdownDrainDelay >= c.ShutdownTimeout {
		errs = append(errs, fmt.Errorf("SHUTDOWN_DRAIN_DELAY=%s must be shorter than SHUTDOWN_TIMEOUT=%s: in-flight requests need time to finish", c.ShutdownDrainDelay, c.ShutdownTimeout))
	}
	if c.StaffSessionIdle > c.StaffSessionLifetime {
		errs = append(errs, fmt.Errorf("STAFF_SESSION_IDLE=%s must not be longer than STAFF_SESSION_LIFETIME=%s", c.StaffSessionIdle, c.StaffSessionLifetime))
	}
	if c.HMACKey != "" && len(c.HMACKey) < 16 {
		errs = append(errs, fmt.Errorf("INTAKE_HMAC_KEY: want at least 16 bytes (got %d), e.g. from openssl rand -base64 32", len(c.HMACKey)))
	}
	switch c.OutboxSender {
	case "log":
	case "smtp":
		smtp, err := outbox.SMTPFromEnv(getenv)
		if err != nil {
			errs = append(errs, err)
		}
		c.SMTP = smtp
	default:
		errs = append(errs, fmt.Errorf("OUTBOX_SENDER=%q: want log or smtp", c.OutboxSender))
	}
	if c.IntakeMode != "buffered" && c.IntakeMode != "direct" {
		errs = append(errs, fmt.Errorf("INTAKE_MODE=%q: want buffered or direct", c.IntakeMode))
	}
	if c.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(c.PprofAddr); err != nil {
			errs = append(errs, fmt.Errorf("PPROF_ADDR=%q: want host:port", c.PprofAddr))
		}
	}
	if h := c.ClientIPHeader; h != "" && (strings.ContainsAny(h, " \t:,;") || http.CanonicalHeaderKey(h) == "") {
		errs = append(errs, fmt.Errorf("CLIENT_IP_HEADER=%q: want a header name such as X-Real-IP", h))
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("METRICS_ADDR=%q: want host:port", c.MetricsAddr))
		}
	}
	if err := checkDatabaseURL(c.DatabaseURL); err != nil {
		errs = append(errs, err)
	}
	if c.RedisURL == "" {
		errs = append(errs, errors.New("REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)"))
	} else if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		errs = append(errs, fmt.Errorf("REDIS_URL=%q: want a redis:// URL", redact(c.RedisURL)))
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("HTTP_ADDR=%q: want host:port or :port", c.HTTPAddr))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT=%q: want json or text", c.LogFormat))
	}
	if len(errs) > 0 {
		return config{}, fmt.Errorf("configuration:\n  %w", joinLines(errs))
	}
	return c, nil
}

type lines []error

func (l lines) Error() string {
	s := ""
	for i, e := range l {
		if i > 0 {
			s += "\n  "
		}
		s += e.Error()
	}
	return s
}

func joinLines(errs []error) error { return lines(errs) }

// redact hides a password in a URL, also in one that does not parse: the
// error naming it is printed where operators and log collectors read it.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	// Not parsed, or parsed with no user information where the parser
	// looked for it ("#://user:pw@host"): whatever precedes the last @ may
	// be a password.
	if at := strings.LastIndex(s, "@"); at >= 0 {
		prefix := ""
		if i := strings.Index(s, "://"); i >= 0 && i < at {
			prefix = s[:i+3]
		}
		return prefix + "xxxxx" + s[at:]
	}
	return s
}

func checkDatabaseURL(v string) error {
	if v == "" {
		return errors.New("DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/tuyensinh?sslmode=disable)")
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("DATABASE_URL=%q: want a postgres:// URL", redact(v))
	}
	return nil
}
