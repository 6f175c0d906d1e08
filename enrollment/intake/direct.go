package intake

import (
	"context"
	"fmt"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// directRetryAfter is how long a client is asked to wait when the direct
// intake's database cannot be reached.
const directRetryAfter = 5 * time.Second

// Direct is the intake without a buffer: each registration is inserted into
// PostgreSQL inside its request. It exists to measure the buffered design
// against (INTAKE_MODE=direct); during a real window it would turn the
// first minutes' rush into database contention and timeouts.
type Direct struct {
	saver   Saver
	metrics *Metrics
	nowFunc func() time.Time
}

// NewDirect returns a direct intake storing through saver.
func NewDirect(saver Saver, m *Metrics) *Direct {
	return &Direct{saver: saver, metrics: m, nowFunc: time.Now}
}

// Submit stores the application at once. A second application of the same
// child answers CodeDuplicate, which, as with the queue, reveals nothing of
// the first application (storing it queued the re-send of the first code to
// its guardian); a database that cannot be reached answers CodeUnavailable.
func (d *Direct) Submit(ctx context.Context, a *enrollment.Application) (Receipt, error) {
	if err := stamp(a, d.nowFunc()); err != nil {
		return Receipt{}, err
	}
	res, err := d.saver.SaveBatch(ctx, []*enrollment.Application{a})
	if err != nil {
		d.metrics.reject("database_unavailable")
		return Receipt{}, notSaved(directRetryAfter, fmt.Errorf("store directly: %w", err))
	}
	if r := res[0]; r.Outcome == enrollment.OutcomeDuplicate {
		d.metrics.reject("duplicate")
		return Receipt{}, duplicate(a)
	}
	d.metrics.Accepted.Inc()
	return Receipt{TrackingCode: a.TrackingCode}, nil
}

// Status always defers to PostgreSQL.
func (d *Direct) Status(context.Context, string) ([]byte, bool, error) { return nil, false, nil }

// State reports an empty buffer: there is none.
func (d *Direct) State(context.Context) (State, error) { return State{}, nil }
