package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"
)

// options are the load test's flags, checked.
type options struct {
	Target      string // base URL of the service, loopback only
	Metrics     string // base URL of the service's metrics listener; "" = Target
	Scenario    string // intake, healthz, status, mixed, drain
	Profile     string // constant, ramp, midnight
	Rate        float64
	Ramp        time.Duration
	Decay       time.Duration
	Floor       float64
	Duration    time.Duration
	MaxRequests uint64
	Connections int
	Timeout     time.Duration
	DupShare    float64
	BadShare    float64
	PostShare   float64 // mixed: share of POSTs
	Seed        uint64
	Codes       string // file of tracking codes to read (status, drain)
	CodesOut    string // file to write the 202s' tracking codes to
	DatabaseURL string
	Verify      bool
	WaitDrain   bool
	DrainWait   time.Duration
	Poll        time.Duration
	AllowBusy   bool
	JSON        bool
	Quiet       bool
	Label       string
	Table       string // print the bench table of the reports in this directory
	BodiesOut   string // write -max-requests request bodies to this file, one a line, and exit
	// DistinctFrom lists JSON reports of earlier intake runs against the
	// same intake: -bodies-out leaves out the children they drew.
	DistinctFrom []string
}

var scenarios = []string{"intake", "healthz", "status", "mixed", "drain"}

// Limits that keep every run bounded.
const (
	maxDuration    = time.Hour
	maxConnections = 4096
)

// parseFlags reads the command line. It reports every bad value at once,
// and refuses targets and databases that are not on the loopback
// interface.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./loadtest [flags]   (see loadtest/README.md)\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.Target, "target", "http://127.0.0.1:8080", "base URL of the service (loopback only: 127.0.0.0/8, ::1, localhost)")
	fs.StringVar(&o.Metrics, "metrics", "", "base URL of the service's metrics listener (its METRICS_ADDR), read for its memory and CPU (loopback only); empty: the -target")
	fs.StringVar(&o.Scenario, "scenario", "intake", "intake (POST registrations), healthz (ceiling), status (GET status of -codes), mixed (POST and status GETs), drain (watch the backlog drain)")
	fs.StringVar(&o.Profile, "profile", "constant", "arrival rate profile: constant, ramp (linear to -rate over -ramp) or midnight (steep ramp to the peak -rate, then exponential decay)")
	fs.Float64Var(&o.Rate, "rate", 0, "requests per second (peak rate for ramp and midnight); 0 with constant: as fast as -connections allow")
	fs.DurationVar(&o.Ramp, "ramp", 5*time.Second, "ramp and midnight: time to reach the peak")
	fs.DurationVar(&o.Decay, "decay", 15*time.Second, "midnight: time constant of the decay after the peak")
	fs.Float64Var(&o.Floor, "floor", 0.1, "midnight: the rate before and long after the peak, as a share of the peak")
	fs.DurationVar(&o.Duration, "duration", 15*time.Second, "how long to send (at most 1h)")
	fs.Uint64Var(&o.MaxRequests, "max-requests", 0, fmt.Sprintf("stop after this many requests (0: -duration only; at most %d)", maxIndex))
	fs.IntVar(&o.Connections, "connections", 64, "at most this many connections, and so requests in flight")
	fs.DurationVar(&o.Timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.Float64Var(&o.DupShare, "dup", 0.04, "intake: share of resubmissions of an earlier child (half unchanged → 200, half changed → 409)")
	fs.Float64Var(&o.BadShare, "invalid", 0.02, "intake: share of invalid forms (→ 422)")
	fs.Float64Var(&o.PostShare, "post-share", 0.8, "mixed: share of POSTs; the rest are status GETs of codes handed out so far")
	fs.Uint64Var(&o.Seed, "seed", 0, "seed of the generated children (0: from the clock, so runs do not collide)")
	fs.StringVar(&o.Codes, "codes", "", "status, drain: file of tracking codes (one per line) to look up or verify")
	fs.StringVar(&o.CodesOut, "codes-out", "", "intake, mixed: write the tracking codes of the 202s to this file")
	fs.StringVar(&o.DatabaseURL, "database-url", "", "PostgreSQL to verify against (loopback only); empty: no verification")
	fs.BoolVar(&o.Verify, "verify", true, "after the run (and the drain), check every 202's tracking code is stored exactly once")
	fs.BoolVar(&o.WaitDrain, "wait-drain", true, "intake, mixed: after sending, wait until the stream is empty and report the time")
	fs.DurationVar(&o.DrainWait, "drain-timeout", 10*time.Minute, "give up waiting for the drain after this long")
	fs.DurationVar(&o.Poll, "poll", 250*time.Millisecond, "how often to read the queue's state (GET /api/v1/intake)")
	fs.BoolVar(&o.AllowBusy, "allow-busy", false, "count 503 busy answers as expected (backpressure runs), not as errors")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON instead of text")
	fs.BoolVar(&o.Quiet, "quiet", false, "no progress line each second on stderr")
	fs.StringVar(&o.Label, "label", "", "name of the run in the report (default: the scenario)")
	fs.StringVar(&o.Table, "table", "", "print the bench table of the JSON reports in this directory (make bench), and exit")
	fs.StringVar(&o.BodiesOut, "bodies-out", "", "intake: write the bodies of the first -max-requests requests to this file, one a line (for wrk), and exit")
	fs.Func("distinct-from", "with -bodies-out: JSON reports (-json, comma-separated) of earlier intake runs against the same intake; leave out the children their requests drew, so that none is refused as a duplicate (409)", func(v string) error {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				o.DistinctFrom = append(o.DistinctFrom, f)
			}
		}
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.Table != "" {
		return o, nil
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := checkTarget(o.Target); err != nil {
		bad("-target: %v", err)
	}
	o.Target = strings.TrimRight(o.Target, "/")
	if o.Metrics == "" {
		o.Metrics = o.Target
	} else if err := checkTarget(o.Metrics); err != nil {
		bad("-metrics: %v", err)
	}
	o.Metrics = strings.TrimRight(o.Metrics, "/")
	if !contains(scenarios, o.Scenario) {
		bad("-scenario %q: want one of %s", o.Scenario, strings.Join(scenarios, ", "))
	}
	switch o.Profile {
	case "constant":
	case "ramp", "midnight":
		if o.Rate <= 0 {
			bad("-profile %s needs a peak -rate above 0", o.Profile)
		}
		if o.Ramp <= 0 {
			bad("-ramp %v: want a positive duration", o.Ramp)
		}
		if o.Profile == "midnight" && o.Decay <= 0 {
			bad("-decay %v: want a positive duration", o.Decay)
		}
		if o.Profile == "midnight" && (o.Floor <= 0 || o.Floor > 1) {
			bad("-floor %g: want a share above 0 and at most 1", o.Floor)
		}
	default:
		bad("-profile %q: want constant, ramp or midnight", o.Profile)
	}
	if o.Rate < 0 {
		bad("-rate %g: want 0 or more", o.Rate)
	}
	if o.Duration <= 0 || o.Duration > maxDuration {
		bad("-duration %v: want a positive duration of at most %v", o.Duration, maxDuration)
	}
	if o.MaxRequests > maxIndex {
		bad("-max-requests %d: at most %d", o.MaxRequests, maxIndex)
	}
	if o.Connections < 1 || o.Connections > maxConnections {
		bad("-connections %d: want 1 to %d", o.Connections, maxConnections)
	}
	if o.Timeout <= 0 {
		bad("-timeout %v: want a positive duration", o.Timeout)
	}
	if o.DupShare < 0 || o.BadShare < 0 || o.DupShare+o.BadShare > 1 {
		bad("-dup %g and -invalid %g: want shares ≥ 0 that add up to at most 1", o.DupShare, o.BadShare)
	}
	if o.PostShare < 0 || o.PostShare > 1 {
		bad("-post-share %g: want a share from 0 to 1", o.PostShare)
	}
	if o.Poll < 10*time.Millisecond {
		bad("-poll %v: want at least 10ms", o.Poll)
	}
	if o.Scenario == "status" && o.Codes == "" {
		bad("-scenario status needs -codes FILE (written by an intake run with -codes-out)")
	}
	if o.DatabaseURL != "" {
		if err := checkDatabaseURL(o.DatabaseURL); err != nil {
			bad("-database-url: %v", err)
		}
	}
	if o.BodiesOut != "" && (o.Scenario != "intake" || o.MaxRequests == 0) {
		bad("-bodies-out needs -scenario intake and -max-requests N")
	}
	if len(o.DistinctFrom) > 0 && o.BodiesOut == "" {
		bad("-distinct-from goes with -bodies-out")
	}
	if o.Label == "" {
		o.Label = o.Scenario
	}
	return o, errors.Join(errs...)
}

// checkTarget accepts an http URL whose host is on the loopback interface.
func checkTarget(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "http" {
		return fmt.Errorf("%q: want an http:// URL", s)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("%q: want a base URL such as http://127.0.0.1:8080, without path, query or user", s)
	}
	return checkLoopback(u.Hostname())
}

// checkLoopback accepts localhost and the addresses 127.0.0.0/8 and ::1:
// the load test never sends traffic off the machine.
func checkLoopback(host string) error {
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("host %q is not loopback (127.0.0.0/8, ::1 or localhost): the load test only runs against this machine", host)
	}
	return nil
}

// checkDatabaseURL accepts a postgres:// URL whose host is loopback or a
// Unix socket directory.
func checkDatabaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return errors.New("want a postgres:// URL")
	}
	for _, h := range []string{u.Hostname(), u.Query().Get("host")} {
		if h == "" || strings.HasPrefix(h, "/") {
			continue // default host or a Unix socket: this machine
		}
		if err := checkLoopback(h); err != nil {
			return err
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
