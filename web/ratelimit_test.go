package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

func TestClientKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, remote, header string
		values               []string
		want                 string
	}{
		{"connection", "198.51.100.7:5123", "", nil, "198.51.100.7"},
		{"header ignored when not configured", "198.51.100.7:5123", "", []string{"203.0.113.9"}, "198.51.100.7"},
		{"real ip", "10.0.0.2:5123", "X-Real-IP", []string{"203.0.113.9"}, "203.0.113.9"},
		{"forwarded for: right-most", "10.0.0.2:5123", "X-Forwarded-For", []string{"1.2.3.4, 203.0.113.9"}, "203.0.113.9"},
		{"forwarded for: last line", "10.0.0.2:5123", "X-Forwarded-For", []string{"1.2.3.4", "5.6.7.8, 203.0.113.10"}, "203.0.113.10"},
		{"header missing", "10.0.0.2:5123", "X-Real-IP", nil, "10.0.0.2"},
		{"header garbage", "10.0.0.2:5123", "X-Real-IP", []string{"nonsense"}, "10.0.0.2"},
		{"ipv6 by /64", "[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:443", "", nil, "2001:db8:1:2::/64"},
		{"ipv6 neighbour same /64", "[2001:db8:1:2::1]:443", "", nil, "2001:db8:1:2::/64"},
		{"ipv6 in header", "10.0.0.2:5123", "X-Real-IP", []string{"2001:db8:9::5"}, "2001:db8:9::/64"},
		{"ipv4-mapped", "[::ffff:198.51.100.7]:80", "", nil, "198.51.100.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.values {
				r.Header.Add("X-Real-IP", v)
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientKey(r, tt.header); got != tt.want {
				t.Errorf("clientKey(%s, %q) = %q, want %q", tt.remote, tt.header, got, tt.want)
			}
		})
	}
}

// TestRateLimiter: a client gets its burst, then a refusal with a wait; the
// next client and the next limit have their own budgets; a Redis that does
// not answer lets requests through.
func TestRateLimiter(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	l := NewRateLimiter(rdb, prefix, 2*time.Second, nil)
	ctx := t.Context()
	reg := RateLimit{RegisterLimit, 5}
	for i := range 5 {
		if ok, _, err := l.Allow(ctx, reg, "203.0.113.9"); !ok || err != nil {
			t.Fatalf("request %d = %v, %v; want allowed", i+1, ok, err)
		}
	}
	ok, retry, err := l.Allow(ctx, reg, "203.0.113.9")
	if ok || err != nil || retry <= 0 || retry > 12*time.Second {
		t.Fatalf("6th request = %v, retry %v, %v; want refused, retry within 12s", ok, retry, err)
	}
	if ok, _, _ := l.Allow(ctx, reg, "203.0.113.10"); !ok {
		t.Error("another client was refused")
	}
	if ok, _, _ := l.Allow(ctx, RateLimit{StatusLimit, 5}, "203.0.113.9"); !ok {
		t.Error("the client was refused under another limit")
	}
	if ok, _, _ := l.Allow(ctx, RateLimit{RegisterLimit, 0}, "203.0.113.9"); !ok {
		t.Error("a limit of 0 refused")
	}

	proxy := testenv.NewProxy(t, rdb.Options().Addr)
	proxy.Down()
	opt := *rdb.Options()
	opt.Addr = proxy.Addr()
	opt.MaxRetries = -1
	opt.ContextTimeoutEnabled = true
	down := redis.NewClient(&opt)
	t.Cleanup(func() { down.Close() })
	dl := NewRateLimiter(down, prefix, 200*time.Millisecond, nil)
	if ok, _, err := dl.Allow(ctx, reg, "203.0.113.9"); !ok || err == nil {
		t.Errorf("with Redis away = %v, %v; want allowed with an error", ok, err)
	}
}

// TestTooManyRequests: the refusal is a 429 with Retry-After in whole
// seconds and messages in both languages.
func TestTooManyRequests(t *testing.T) {
	t.Parallel()
	rdb, prefix := testenv.Redis(t)
	h := NewServer(Deps{RateLimiter: NewRateLimiter(rdb, prefix, 2*time.Second, nil), StatusPerMinute: 2})
	var last *httptest.ResponseRecorder
	for range 3 {
		last = httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/api/v1/applications/abc", nil)
		r.RemoteAddr = "203.0.113.9:1000"
		h.ServeHTTP(last, r)
	}
	if last.Code != http.StatusTooManyRequests || last.Header().Get("Retry-After") == "" || last.Header().Get("Retry-After") == "0" {
		t.Fatalf("3rd lookup = %d, Retry-After %q; want 429 with a wait\n%s", last.Code, last.Header().Get("Retry-After"), last.Body)
	}
	body := last.Body.String()
	for _, want := range []string{`"too_many_requests"`, "Vui lòng thử lại sau", "try again in"} {
		if !strings.Contains(body, want) {
			t.Errorf("429 body %s lacks %q", body, want)
		}
	}
}
