package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/lib/pq"
	"github.com/tuyensinh/tuyensinh/enrollment"
)

// statusQuery finds an application by its tracking code, or by the code of
// a duplicate submission of it: two lookups by unique index, so an unknown
// code, which both miss, costs two index probes and never a scan of the
// applications (every lookup takes this path while Redis is down). A code
// is either an application's or a duplicate's, never both, so at most one
// row comes back.
const statusQuery = `
SELECT a.tracking_code, a.status, a.level, a.school_year, a.child_name, a.choices, a.submitted_at, a.stored_at,
       '', a.status_reason
FROM applications a
WHERE a.tracking_code = $1
UNION ALL
SELECT a.tracking_code, a.status, a.level, a.school_year, a.child_name, a.choices, a.submitted_at, a.stored_at,
       d.tracking_code, ''
FROM duplicate_submissions d JOIN applications a ON a.id = d.application_id
WHERE d.tracking_code = $1`

// Status returns the view of the application with a tracking code from
// PostgreSQL, or an error wrapping enrollment.ErrNotFound.
func (d *DB) Status(ctx context.Context, code string) (_ enrollment.StatusView, err error) {
	defer wrap(&err, "status of %s", code)
	const q = statusQuery
	var (
		v        enrollment.StatusView
		status   string
		name     string
		stored   time.Time
		dupCode  string
		choices  pq.StringArray
		realCode string
		reason   string
	)
	err = d.db.QueryRowContext(ctx, q, code).Scan(&realCode, &status, &v.Level, &v.SchoolYear, &name, &choices, &v.SubmittedAt, &stored, &dupCode, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return enrollment.StatusView{}, enrollment.ErrNotFound
	}
	if err != nil {
		return enrollment.StatusView{}, err
	}
	v.Child, v.Choices, v.SubmittedAt = enrollment.MaskName(name), choices, v.SubmittedAt.UTC()
	stored = stored.UTC()
	v.ReceivedAt = &stored
	if dupCode == code && realCode != code {
		// The holder of a duplicate's code learns nothing of the first
		// application, not even its code (FirstTrackingCode is not
		// encoded): whoever made the second registration may not be the
		// parent who made the first, whose guardian gets the code again.
		v.TrackingCode = code
		v.FirstTrackingCode = realCode
		v.Child, v.Choices = "", nil
		v.SetStatus(enrollment.StatusDuplicate)
		return v, nil
	}
	v.TrackingCode = realCode
	v.SetStatus(enrollment.Status(status))
	if v.Status == enrollment.StatusReturned {
		v.ReturnReason = reason
	}
	return v, nil
}
