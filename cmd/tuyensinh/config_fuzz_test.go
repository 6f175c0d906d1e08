package main

import (
	"net"
	"slices"
	"strings"
	"testing"
)

// configNames are the variables loadConfig reads, in the order the fuzz
// input picks them by.
var configNames = []string{
	"DATABASE_URL", "REDIS_URL", "HTTP_ADDR", "REDIS_PREFIX", "INTAKE_CEILING", "INTAKE_RETRY_AFTER",
	"INTAKE_WORKERS", "INTAKE_BATCH", "INTAKE_CONSUMER", "INTAKE_MIN_IDLE", "INTAKE_MAX_DELIVERIES",
	"DB_MAX_CONNS", "REDIS_AUTOPIPELINE", "LOG_LEVEL", "LOG_FORMAT", "INTAKE_MODE", "PPROF_ADDR",
}

// FuzzLoadConfig sets one variable of a valid environment to any value:
// the configuration then either loads with every value in its range, or
// fails naming the variable.
func FuzzLoadConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		name := configNames[int(which)%len(configNames)]
		env := map[string]string{
			"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tuyensinh?sslmode=disable",
			"REDIS_URL":    "redis://127.0.0.1:6379/0",
		}
		env[name] = value
		c, err := loadConfig(func(k string) string { return env[k] })
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("%s=%q: error does not name the variable: %v", name, value, err)
			}
			return
		}
		if c.Workers < 1 || c.Workers > 64 || c.BatchSize < 1 || c.BatchSize > 10_000 || c.DBMaxConns < 1 || c.DBMaxConns > 1000 ||
			c.MaxDelivery < 1 || c.MaxDelivery > 1000 || c.Ceiling < 0 || c.RetryAfter <= 0 || c.MinIdle <= 0 {
			t.Fatalf("%s=%q: loaded a value out of range: %+v", name, value, c)
		}
		if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) || (c.LogFormat != "json" && c.LogFormat != "text") ||
			(c.IntakeMode != "buffered" && c.IntakeMode != "direct") {
			t.Fatalf("%s=%q: loaded an unknown choice: %+v", name, value, c)
		}
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			t.Fatalf("%s=%q: loaded HTTP_ADDR %q", name, value, c.HTTPAddr)
		}
	})
}

// FuzzConfigRedactsPasswords: whatever follows the password in DATABASE_URL
// or REDIS_URL, an error about the URL never shows the password (it is
// printed where operators and their log collectors read it).
func FuzzConfigRedactsPasswords(f *testing.F) {
	const secret = "Pw7xQ2secret"
	f.Fuzz(func(t *testing.T, scheme, rest string, redisURL bool) {
		if strings.Contains(scheme+rest, secret[:6]) {
			return
		}
		u := scheme + "://ts:" + secret + "@" + rest
		env := map[string]string{"DATABASE_URL": "postgres://127.0.0.1/ts", "REDIS_URL": "redis://127.0.0.1:6379/0"}
		name := "DATABASE_URL"
		if redisURL {
			name = "REDIS_URL"
		}
		env[name] = u
		if _, err := loadConfig(func(k string) string { return env[k] }); err != nil && strings.Contains(err.Error(), secret[:6]) {
			t.Fatalf("%s=%q: the error shows the password: %v", name, u, err)
		}
	})
}
