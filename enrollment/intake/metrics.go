package intake

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Metrics are the intake's Prometheus metrics.
type Metrics struct {
	Accepted    prometheus.Counter
	Rejected    *prometheus.CounterVec
	Stored      *prometheus.CounterVec
	DeadLetters prometheus.Counter
	Reclaimed   prometheus.Counter
	StoreErrors *prometheus.CounterVec
	Latency     prometheus.Histogram
	BatchSize   prometheus.Histogram
}

// NewMetrics creates the intake metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tuyensinh_intake_accepted_total", Help: "Registrations accepted into the intake stream (answered 202)."}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tuyensinh_intake_rejected_total", Help: "Registrations not queued, by reason."}, []string{"reason"}),
		Stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tuyensinh_intake_stored_total", Help: "Stream entries drained into PostgreSQL, by outcome (inserted, already_stored, duplicate); its rate is the drain rate."}, []string{"outcome"}),
		DeadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tuyensinh_intake_dead_letters_total", Help: "Entries moved to the dead-letter stream."}),
		Reclaimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tuyensinh_intake_reclaimed_total", Help: "Entries reclaimed from idle consumers."}),
		StoreErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tuyensinh_intake_store_errors_total", Help: "Failed attempts to store a batch, by kind (transient: the database was unreachable, nothing counted; data: refused, retried entry by entry)."}, []string{"kind"}),
		Latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tuyensinh_intake_to_database_seconds",
			Help:    "Time from a registration's acceptance to its commit in PostgreSQL.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800}}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tuyensinh_intake_batch_size", Help: "Entries per stored batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12)}),
	}
	if reg != nil {
		reg.MustRegister(m.Accepted, m.Rejected, m.Stored, m.DeadLetters, m.Reclaimed, m.StoreErrors, m.Latency, m.BatchSize)
	}
	return m
}

func (m *Metrics) reject(reason string) { m.Rejected.WithLabelValues(reason).Inc() }

// Reject counts a registration refused before it reached the queue (a
// validation failure, a closed window, a malformed body).
func (m *Metrics) Reject(reason string) { m.reject(reason) }

// StreamCollector reports the stream's state at each scrape: its length
// (backlog), the group's lag (entries never delivered) and pending entries
// (delivered, not yet stored), and the dead-letter stream's length.
type StreamCollector struct {
	rdb                           *redis.Client
	keys                          Keys
	length, lag, pending, deadLen *prometheus.Desc
}

// NewStreamCollector returns a collector of the stream gauges.
func NewStreamCollector(rdb *redis.Client, keys Keys) *StreamCollector {
	return &StreamCollector{rdb: rdb, keys: keys,
		length:  prometheus.NewDesc("tuyensinh_intake_stream_length", "Entries in the intake stream: accepted, not yet stored.", nil, nil),
		lag:     prometheus.NewDesc("tuyensinh_intake_group_lag", "Entries not yet delivered to any worker.", nil, nil),
		pending: prometheus.NewDesc("tuyensinh_intake_pending", "Entries delivered to a worker and not yet stored.", nil, nil),
		deadLen: prometheus.NewDesc("tuyensinh_intake_dead_letter_length", "Entries in the dead-letter stream.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *StreamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.length
	ch <- c.lag
	ch <- c.pending
	ch <- c.deadLen
}

// Collect implements prometheus.Collector. Gauges whose value Redis does
// not give (it is down) are left out of the scrape.
func (c *StreamCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := ReadState(ctx, c.rdb, c.keys)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.length, prometheus.GaugeValue, float64(st.Length))
	ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(st.Lag))
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(c.deadLen, prometheus.GaugeValue, float64(st.DeadLetters))
}

// State is a snapshot of the intake stream.
type State struct {
	Length      int64 `json:"length"`       // entries in the stream (accepted, not yet stored)
	Lag         int64 `json:"lag"`          // entries not yet delivered to a worker
	Pending     int64 `json:"pending"`      // delivered, not yet stored
	DeadLetters int64 `json:"dead_letters"` // entries in the dead-letter stream
}

// ReadState reads the stream's state from Redis.
func ReadState(ctx context.Context, rdb *redis.Client, keys Keys) (State, error) {
	pipe := rdb.Pipeline()
	xlen := pipe.XLen(ctx, keys.Stream())
	dlen := pipe.XLen(ctx, keys.Dead())
	groups := pipe.XInfoGroups(ctx, keys.Stream())
	_, _ = pipe.Exec(ctx)
	var st State
	var err error
	if st.Length, err = xlen.Result(); err != nil {
		return State{}, err
	}
	if st.DeadLetters, err = dlen.Result(); err != nil {
		return State{}, err
	}
	gs, err := groups.Result()
	if err != nil {
		// No stream or group yet: nothing was ever queued.
		return st, nil
	}
	for _, g := range gs {
		if g.Name == keys.Group() {
			st.Pending = g.Pending
			st.Lag = g.Lag
			if g.Lag < 0 { // Redis cannot tell after deletions; the backlog bounds it
				st.Lag = st.Length - g.Pending
			}
		}
	}
	return st, nil
}
