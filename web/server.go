// Package web is the HTTP face of tuyensinh: the JSON API, the pages for
// parents, the OpenAPI document, health checks and metrics. It is the only
// package that imports echo.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
)

// Deps is everything the server needs. Catalog returns the current
// reference data (refreshed in the background by the caller).
type Deps struct {
	Catalog func() *enrollment.Catalog
	Intake  Intake
	// DB is the PostgreSQL store (package postgres, the home of the
	// service's SQL): applications, review, reference data, placement runs
	// and parents' results.
	DB       *postgres.DB
	Metrics  *intake.Metrics
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	NowFunc  func() time.Time
	// Ready reports whether registrations can be taken: the intake's Redis
	// answers. /readyz fails without it.
	Ready func(ctx context.Context) error
	// Database reports whether PostgreSQL answers. /readyz shows it but does
	// not fail without it: registrations wait in Redis while it is down, so
	// a load balancer must keep sending them.
	Database func(ctx context.Context) error
	// Registry is the population register that windows with
	// VerifyRegistry ask before queueing a registration. Nil: such windows
	// queue every registration pending verification.
	Registry enrollment.Registry
	// RateLimiter, when set, holds registrations and status lookups to
	// RegisterPerMinute and StatusPerMinute per client address (0: that
	// limit off). Nil: no limits.
	RateLimiter                        *RateLimiter
	RegisterPerMinute, StatusPerMinute int
	// ClientIPHeader names the header a trusted proxy in front sets to the
	// client's address (X-Real-IP, X-Forwarded-For). Empty: the client is
	// the connection's address, and no header is believed.
	ClientIPHeader string

	// Staff accounts and sessions (issue 8). Staff, when set, keeps the
	// accounts; without it the staff routes answer 503. Sessions says how
	// long sessions last and whether the cookie is Secure.
	// LoginPerMinute holds sign-in attempts per client address (0: off).
	Staff          *staff.Store
	Sessions       SessionConfig
	LoginPerMinute int

	// RefreshCatalog, when set, reloads the catalog that Catalog returns
	// from PostgreSQL: called after every reference data edit (issue 9),
	// so the intake of this process checks the next registration against
	// it at once.
	RefreshCatalog func(ctx context.Context) error
}

// NewServer returns the HTTP handler of the whole service.
func NewServer(d Deps) http.Handler {
	e, _ := newServer(d)
	return e
}

func newServer(d Deps) (*echo.Echo, *server) {
	// Every page parsed now, so that a server with a broken page fails
	// to start rather than at its first visitor.
	templates()
	officerTemplates()
	if d.NowFunc == nil {
		d.NowFunc = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(d.Logger)
	e.Use(securityHeaders)
	s := &server{Deps: d}
	if d.Staff != nil {
		s.sessions = newSessions(d.Staff, d.Sessions)
	}
	s.routes(e)
	return e, s
}

type server struct {
	Deps
	sessions *scs.SessionManager // nil without Deps.Staff
	dash     dashboardCache      // the live dashboard's recent answers
}

// Intake takes checked registrations: the Redis-buffered *intake.Queue, or
// *intake.Direct for comparison.
type Intake interface {
	Submit(ctx context.Context, a *enrollment.Application) (intake.Receipt, error)
	Status(ctx context.Context, code string) (doc []byte, ok bool, err error)
	State(ctx context.Context) (intake.State, error)
}

func promHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// MetricsHandler serves Prometheus metrics alone, for processes that run
// only workers.
func MetricsHandler(g prometheus.Gatherer) http.Handler { return promHandler(g) }
