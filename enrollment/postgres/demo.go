package postgres

import (
	"context"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

const (
	qAcceptEvents = `
INSERT INTO application_events (application_id, status, actor, actor_role, from_status, to_status, reason)
SELECT id, 'accepted', $2, $3, status, 'accepted', '' FROM applications
WHERE id = ANY($1) AND status IN ('received', 'pending_verification')`
	qAccept = `
UPDATE applications SET status = 'accepted' WHERE id = ANY($1) AND status IN ('received', 'pending_verification')`
)

// Accept marks the received applications among ids accepted by actor, as a
// school's review would, with their events, in one transaction; others
// are left as they are. The demo data (seed --demo --applications) uses it.
func (d *DB) Accept(ctx context.Context, ids []string, actor enrollment.Actor) (err error) {
	defer wrap(&err, "accept %d applications", len(ids))
	return d.Transact(ctx, 0, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, qAcceptEvents, pq.StringArray(ids), actor.Name, string(actor.Role)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, qAccept, pq.StringArray(ids))
		return err
	})
}
