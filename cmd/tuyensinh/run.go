package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
	"github.com/tuyensinh/tuyensinh/enrollment/outbox"
	"github.com/tuyensinh/tuyensinh/enrollment/placement"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
	"github.com/tuyensinh/tuyensinh/web"
)

const usage = `usage: tuyensinh <command> [flags]

commands:
  serve     HTTP API, web pages and intake workers (-workers=false: API only)
  worker    intake workers only
  migrate   apply database migrations (migrate status: list them)
  seed      load reference data (seed --demo: the generated demo city and its
            population register; seed --demo --verify-registry lop1: the lop1
            window checks registrations against that register)
  place     run the placement engine (place --input F --output F), or on the stored
            applications (place --run --level lop1 --school-year 2027; place --publish ID)
  deadletters  entries the workers could not store: list | show ID | replay ID...|--all | drop ID...
  staff     staff accounts: add USERNAME --role city|authority|school [--scope CODE] [--name N]
            | passwd USERNAME | disable USERNAME (password from stdin or STAFF_PASSWORD)

configuration (environment): DATABASE_URL, REDIS_URL, HTTP_ADDR (default :8080);
see the README for the rest.
`

// run is the whole program; main only wires signals and exit codes, so
// tests can drive the real program.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, args, getenv, stdout, stderr)
	case "worker":
		return runWorker(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args, getenv, stdout, stderr)
	case "seed":
		return runSeed(ctx, args, getenv, stdout, stderr)
	case "place":
		return runPlace(ctx, args, getenv, stdout, stderr)
	case "deadletters":
		return runDeadLetters(ctx, args, getenv, stdout, stderr)
	case "staff":
		return runStaff(ctx, args, getenv, os.Stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// app holds the connections every long-running command needs.
type app struct {
	cfg  config
	log  *slog.Logger
	db   *sqlx.DB
	bin  *sqlx.DB // runs' inputs, sent in binary (postgres.OpenBinary)
	rdb  *redis.Client
	pg   *postgres.DB // the store on db
	reg  *prometheus.Registry
	met  *intake.Metrics
	keys intake.Keys
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// The collector as the service runs it. The service holds little memory
// (tens of MB even after a million registrations), and a placement run
// little that turns to garbage before its end: collecting less often
// (GOGC 400) buys CPU for intake and runs. The soft limit (GOMEMLIMIT
// 1 GiB) makes it collect more often rather than let a run of a million
// children grow the heap to five times what it holds (1.8 GB). GOGC and
// GOMEMLIMIT, when set, decide instead.
const (
	serviceGOGC     = 400
	serviceMemLimit = 1 << 30
)

// tuneGC sets the collector as the service runs it, where GOGC and
// GOMEMLIMIT leave it to the service, and returns what restores it.
func tuneGC(getenv func(string) string) (restore func()) {
	var undo []func()
	if getenv("GOGC") == "" {
		old := debug.SetGCPercent(serviceGOGC)
		undo = append(undo, func() { debug.SetGCPercent(old) })
	}
	if getenv("GOMEMLIMIT") == "" {
		old := debug.SetMemoryLimit(serviceMemLimit)
		undo = append(undo, func() { debug.SetMemoryLimit(old) })
	}
	return func() {
		for _, f := range undo {
			f()
		}
	}
}

// connect opens PostgreSQL and Redis. With waitDB, a PostgreSQL that is
// down is waited for (workers keep nothing from it until it is back).
func connect(ctx context.Context, getenv func(string) string, stderr io.Writer) (*app, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: newLogger(cfg, stderr), keys: intake.Keys{Prefix: cfg.RedisPrefix, ChildSecret: []byte(cfg.HMACKey)}}
	tuneGC(getenv)
	ropt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	ropt.PoolSize = max(ropt.PoolSize, 64)
	ropt.ContextTimeoutEnabled = true
	// A stalled Redis must not hold connections for long: requests give up
	// after REDIS_TIMEOUT, and the client drops what they left behind soon
	// after. A request that waits for a free connection gives up first, so
	// it can say truthfully that nothing was sent. Commands are not retried
	// (workers loop and retry by themselves; intake tells the parent to
	// resubmit), or a failure could not prove that nothing was saved.
	if ropt.DialTimeout == 0 {
		ropt.DialTimeout = cfg.RedisTimeout
	}
	if ropt.ReadTimeout == 0 {
		ropt.ReadTimeout = max(3*time.Second, cfg.RedisTimeout+time.Second)
	}
	if ropt.WriteTimeout == 0 {
		ropt.WriteTimeout = ropt.ReadTimeout
	}
	if ropt.PoolTimeout == 0 {
		ropt.PoolTimeout = cfg.RedisTimeout / 2
	}
	if ropt.MaxRetries == 0 {
		ropt.MaxRetries = -1
	}
	a.rdb = redis.NewClient(ropt)
	// PostgreSQL may be down: the API keeps taking registrations and the
	// workers wait for it.
	db, err := postgres.OpenLazy(cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		a.rdb.Close()
		return nil, err
	}
	a.db = db
	// Placement runs keep megabytes of input through a small pool of
	// their own that sends them in binary.
	if a.bin, err = postgres.OpenBinary(cfg.DatabaseURL, 2); err != nil {
		a.rdb.Close()
		db.Close()
		return nil, err
	}
	a.pg = postgres.New(db).WithBinaryWrites(a.bin)
	a.reg = prometheus.NewRegistry()
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.met = intake.NewMetrics(a.reg)
	a.reg.MustRegister(intake.NewStreamCollector(a.rdb, a.keys))
	placement.RegisterMetrics(a.reg, a.pg)
	return a, nil
}

func (a *app) close() {
	a.rdb.Close()
	a.db.Close()
	a.bin.Close()
}

func (a *app) workers(ctx context.Context, g *errgroup.Group) {
	for i := range a.cfg.Workers {
		w := intake.NewWorker(a.rdb, a.pg, intake.WorkerConfig{
			Keys:          a.keys,
			Consumer:      fmt.Sprintf("%s-%d", a.cfg.Consumer, i),
			BatchSize:     a.cfg.BatchSize,
			MinIdle:       a.cfg.MinIdle,
			MaxDeliveries: a.cfg.MaxDelivery,
			StatusGrace:   a.cfg.StatusGrace,
			Logger:        a.log,
		}, a.met)
		g.Go(func() error { return w.Run(ctx) })
	}
	a.log.Info("intake workers started", "workers", a.cfg.Workers, "consumer", a.cfg.Consumer)
	a.drainOutbox(ctx, g)
}

// drainOutbox sends the messages to parents waiting in the outbox. Every
// process that runs workers drains it; they share the work.
func (a *app) drainOutbox(ctx context.Context, g *errgroup.Group) {
	var sender outbox.Sender = outbox.LogSender{Log: a.log} // OUTBOX_SENDER=log
	if a.cfg.SMTP != nil {
		sender = a.cfg.SMTP // OUTBOX_SENDER=smtp
	}
	// Every minute it also looks for messages owed to parents: results
	// published, returns for correction, deadlines within a day.
	d := outbox.NewDrainer(outbox.NewStore(a.db), sender, outbox.DrainerConfig{Logger: a.log, OwedEvery: time.Minute})
	g.Go(func() error { return d.Run(ctx) })
	a.log.Info("outbox drainer started", "sender", a.cfg.OutboxSender)
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	withWorkers := fs.Bool("workers", true, "run intake workers in this process")
	migrate := fs.Bool("migrate", true, "apply database migrations at start")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := connect(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	cat, err := a.catalog(ctx, *migrate)
	if err != nil {
		return err
	}
	var current atomic.Pointer[enrollment.Catalog]
	current.Store(cat)
	var in web.Intake
	switch a.cfg.IntakeMode {
	case "direct":
		in = intake.NewDirect(a.pg, a.met)
		a.log.Warn("INTAKE_MODE=direct: registrations are inserted inside each request, without the Redis buffer")
	default:
		if a.cfg.HMACKey == "" {
			a.log.Warn("INTAKE_HMAC_KEY is not set: children are named in Redis with a public development key; set a secret shared by every API process")
		}
		q, err := intake.NewQueue(a.rdb, intake.Config{Keys: a.keys, Ceiling: a.cfg.Ceiling, RetryAfter: a.cfg.RetryAfter, Logger: a.log,
			Timeout: a.cfg.RedisTimeout, Resender: outbox.NewStore(a.db)}, a.met, a.cfg.AutoPipeline)
		if err != nil {
			return err
		}
		in = q
	}
	// refresh reloads the catalog from PostgreSQL and keeps a copy in
	// Redis: every 30 seconds below, and at once after an officer's edit
	// of reference data in this process (other processes see the edit at
	// their next tick, within 30 seconds).
	refresh := func(ctx context.Context) error {
		c, err := a.pg.LoadCatalog(ctx)
		if err != nil {
			return err
		}
		current.Store(c)
		if err := intake.SaveCatalog(ctx, a.rdb, a.keys, c); err != nil {
			a.log.Warn("catalog copy to Redis failed", "err", err)
		}
		return nil
	}
	var draining atomic.Bool // set on SIGTERM: /readyz answers 503
	handler := web.NewServer(web.Deps{
		Catalog:  current.Load,
		Intake:   in,
		DB:       a.pg,
		Metrics:  a.met,
		Gatherer: a.reg,
		Logger:   a.log,
		Ready: func(ctx context.Context) error {
			if draining.Load() {
				return errShuttingDown
			}
			return intake.Ping(ctx, a.rdb, time.Second)
		},
		Database: func(ctx context.Context) error { return postgres.Ping(ctx, a.db) },
		// Population register (issue 7, item 4): the demo city's table,
		// asked only for windows that verify registrations.
		Registry: postgres.NewPopulationRegister(a.db),

		RateLimiter:       web.NewRateLimiter(a.rdb, a.cfg.RedisPrefix, a.cfg.RedisTimeout, a.log),
		RegisterPerMinute: a.cfg.RateLimitRegister,
		StatusPerMinute:   a.cfg.RateLimitStatus,
		ClientIPHeader:    a.cfg.ClientIPHeader,

		// Staff accounts and sessions (issue 8).
		Staff: staff.NewStore(a.db),
		Sessions: web.SessionConfig{IdleTimeout: a.cfg.StaffSessionIdle, Lifetime: a.cfg.StaffSessionLifetime,
			CookieSecure: a.cfg.CookieSecure},
		LoginPerMinute: a.cfg.StaffLoginRate,

		// Reference data edits (issue 9) show in this process at once.
		RefreshCatalog: refresh,
	})
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.HTTPAddr, err)
	}
	var conns connCounter
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
		ConnState: conns.track}

	g, gctx := errgroup.WithContext(ctx)
	servePprof(gctx, g, a)
	// The workers stop when the listener closes, not at SIGTERM, so what
	// is accepted during the drain delay is stored by this process too.
	wctx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorkers()
	var workers errgroup.Group
	serveMetrics(gctx, g, a, a.cfg.MetricsAddr)
	if *withWorkers {
		a.workers(wctx, &workers)
	}
	g.Go(func() error {
		// Keep the catalog fresh; keep the last good one while PostgreSQL
		// is down, so intake goes on.
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-t.C:
				if err := refresh(gctx); err != nil {
					a.log.Warn("catalog refresh failed; keeping the last one", "err", err)
				}
			}
		}
	})
	g.Go(func() error {
		a.log.Info("serving", "addr", ln.Addr().String())
		fmt.Fprintf(stdout, "tuyensinh: listening on http://%s\n", ln.Addr())
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	var deadline time.Time
	g.Go(func() error {
		<-gctx.Done()
		deadline = a.shutdownHTTP(ctx, srv, &draining, &conns, stopWorkers)
		return nil
	})
	err = g.Wait()
	stopWorkers()
	if werr := a.waitWorkers(&workers, deadline); err == nil {
		err = werr
	}
	return err
}

// errShuttingDown is what /readyz reports from SIGTERM on, so that a load
// balancer sends new requests to the other replicas.
var errShuttingDown = errors.New("shutting down")

// shutdownHTTP stops the HTTP server once ctx is done or the server
// failed. After a SIGTERM, /readyz has answered 503 for the drain delay
// before the listener closes, so the load balancer has stopped sending;
// requests in flight then finish until the shutdown deadline, when the
// connections that remain (a client sending its form a byte a second) are
// cut. The workers are told to stop (stopWorkers) when the listener
// closes, so their last batch has until the same deadline, which is
// returned.
func (a *app) shutdownHTTP(ctx context.Context, srv *http.Server, draining *atomic.Bool, conns *connCounter, stopWorkers func()) time.Time {
	deadline := time.Now().Add(a.cfg.ShutdownTimeout)
	draining.Store(true)
	// Connections kept alive are closed after their next answer, so
	// clients reconnect through the load balancer to another replica.
	srv.SetKeepAlivesEnabled(false)
	if ctx.Err() != nil && a.cfg.ShutdownDrainDelay > 0 {
		a.log.Info("shutdown: draining; /readyz answers 503", "delay", a.cfg.ShutdownDrainDelay.String())
		time.Sleep(a.cfg.ShutdownDrainDelay)
	}
	stopWorkers()
	a.log.Info("shutdown: listener closed; finishing the requests in flight", "open_connections", conns.open())
	sctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		n := conns.open()
		srv.Close()
		a.log.Warn("shutdown: deadline passed; connections cut", "connections", n, "timeout", a.cfg.ShutdownTimeout.String())
	}
	return deadline
}

// waitWorkers waits for the workers to finish and acknowledge the batch in
// hand, until the deadline. A batch not finished by then stays pending in
// Redis; the next worker stores it again, idempotently.
func (a *app) waitWorkers(workers *errgroup.Group, deadline time.Time) error {
	done := make(chan error, 1)
	go func() { done <- workers.Wait() }()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		a.log.Warn("shutdown: deadline passed with a batch unfinished; its entries stay pending and are stored by the next worker",
			"timeout", a.cfg.ShutdownTimeout.String())
		return nil
	}
}

// connCounter counts the open connections of an HTTP server, to log how
// many a shutdown cut.
type connCounter struct{ n atomic.Int64 }

func (c *connCounter) track(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		c.n.Add(1)
	case http.StateHijacked, http.StateClosed:
		c.n.Add(-1)
	}
}

func (c *connCounter) open() int64 { return c.n.Load() }

func runWorker(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	metricsAddr := fs.String("metrics-addr", getenv("METRICS_ADDR"), "serve /metrics on this address, e.g. 127.0.0.1:9091 (default $METRICS_ADDR; empty: not served)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := connect(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	g, gctx := errgroup.WithContext(ctx)
	servePprof(gctx, g, a)
	// On SIGTERM each worker finishes and acknowledges the batch in hand.
	var workers errgroup.Group
	a.workers(gctx, &workers)
	serveMetrics(gctx, g, a, *metricsAddr)
	<-gctx.Done()
	deadline := time.Now().Add(a.cfg.ShutdownTimeout)
	err = g.Wait()
	if werr := a.waitWorkers(&workers, deadline); err == nil {
		err = werr
	}
	return err
}

// serveMetrics serves /metrics on addr, if set: a listener apart from the
// public port, since metrics reveal the backlog and internals to anyone.
func serveMetrics(ctx context.Context, g *errgroup.Group, a *app, addr string) {
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", web.MetricsHandler(a.reg))
	a.log.Info("metrics serving", "addr", addr)
	goServe(ctx, g, &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second})
}

// servePprof serves the Go profiler on PPROF_ADDR, if set. Keep it on
// loopback: profiles reveal internals.
func servePprof(ctx context.Context, g *errgroup.Group, a *app) {
	if a.cfg.PprofAddr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	a.log.Info("pprof serving", "addr", a.cfg.PprofAddr)
	goServe(ctx, g, &http.Server{Addr: a.cfg.PprofAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second})
}

// goServe runs a side server (metrics, pprof) in g until ctx is done.
func goServe(ctx context.Context, g *errgroup.Group, srv *http.Server) {
	g.Go(func() error {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve %s: %w", srv.Addr, err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		return srv.Close()
	})
}

// catalog loads the reference data from PostgreSQL, migrating first, and
// keeps a copy in Redis. While PostgreSQL is down it takes that copy, so
// intake starts anyway.
func (a *app) catalog(ctx context.Context, migrate bool) (*enrollment.Catalog, error) {
	pgErr := postgres.Ping(ctx, a.db)
	if pgErr == nil {
		if migrate {
			if err := migrateUp(ctx, a.db, a.log); err != nil {
				return nil, err
			}
		}
		c, err := a.pg.LoadCatalog(ctx)
		if err != nil {
			return nil, err
		}
		if err := intake.SaveCatalog(ctx, a.rdb, a.keys, c); err != nil {
			a.log.Warn("catalog copy to Redis failed", "err", err)
		}
		return c, nil
	}
	c, err := intake.LoadCatalog(ctx, a.rdb, a.keys)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL is unreachable (%v) and Redis has no copy of the reference data (%v)", pgErr, err)
	}
	a.log.Warn("PostgreSQL unreachable: starting with the reference data kept in Redis; registrations are queued", "err", pgErr)
	return c, nil
}
