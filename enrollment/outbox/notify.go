package outbox

import (
	"context"
	"fmt"
	"time"
)

// Kinds of the messages owed to a parent after the review and placement
// (issue 10). Each is enqueued once per cause, by its dedupe key.
const (
	// KindResultPublished tells the parent that a published placement run
	// decided for the child: once per application and run.
	KindResultPublished = "result_published"
	// KindReturned tells the parent the school returned the application
	// for correction: once per return (its event).
	KindReturned = "returned"
	// KindConfirmDeadline reminds the parent of a placed child, not yet
	// confirmed, that the confirmation deadline is within a day: once per
	// application and run.
	KindConfirmDeadline = "confirm_deadline"
)

// The owed messages are found by looking at the applications, not told by
// the code that changed them: the review, the placement run and the
// parent's decision each live in their own place and transaction, and a
// message missed by a crash between a change and its enqueueing is found
// again on the next look. The dedupe key makes every look after the first
// add nothing. Causes older than owedHorizon are not looked at, so that a
// new deployment does not send a season's old news.
const owedHorizon = 14 * 24 * time.Hour

const (
	qOwedResults = `
INSERT INTO outbox (kind, tracking_code, dedupe_key)
SELECT 'result_published', a.tracking_code, 'result_published:' || a.tracking_code || ':' || r.id
FROM applications a
JOIN placement_runs r ON r.id = a.placed_run_id AND r.status = 'published'
WHERE r.published_at > $1
ON CONFLICT (dedupe_key) DO NOTHING`

	qOwedReturns = `
INSERT INTO outbox (kind, tracking_code, dedupe_key)
SELECT 'returned', a.tracking_code, 'returned:' || e.id
FROM applications a
JOIN LATERAL (SELECT id, at FROM application_events WHERE application_id = a.id ORDER BY at DESC, id DESC LIMIT 1) e ON true
WHERE a.status = 'returned' AND e.at > $1
ON CONFLICT (dedupe_key) DO NOTHING`

	qOwedDeadlines = `
INSERT INTO outbox (kind, tracking_code, dedupe_key)
SELECT 'confirm_deadline', a.tracking_code, 'confirm_deadline:' || a.tracking_code || ':' || r.id
FROM applications a
JOIN placement_runs r ON r.id = a.placed_run_id AND r.status = 'published'
JOIN windows w ON w.level = a.level AND w.school_year = a.school_year
WHERE a.status = 'placed' AND COALESCE(r.confirm_by, w.confirm_by) > $1
  AND COALESCE(r.confirm_by, w.confirm_by) <= $1 + interval '24 hours'
ON CONFLICT (dedupe_key) DO NOTHING`
)

// EnqueueOwed adds every message owed to parents at now that is not in the
// outbox yet: results published, applications returned for correction,
// and confirmation deadlines within the next 24 hours. It returns how many
// it added.
func (s *Store) EnqueueOwed(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for _, q := range []struct {
		kind, sql string
		arg       time.Time
	}{
		{KindResultPublished, qOwedResults, now.Add(-owedHorizon)},
		{KindReturned, qOwedReturns, now.Add(-owedHorizon)},
		{KindConfirmDeadline, qOwedDeadlines, now},
	} {
		res, err := s.db.ExecContext(ctx, q.sql, q.arg)
		if err != nil {
			return total, fmt.Errorf("enqueue owed %s messages: %w", q.kind, err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	return total, nil
}

// subjects are the e-mail subjects of the kinds.
var subjects = map[string]string{
	KindCodeResend:      "Mã tra cứu hồ sơ tuyển sinh",
	KindResultPublished: "Đã có kết quả tuyển sinh",
	KindReturned:        "Hồ sơ tuyển sinh cần bổ sung",
	KindConfirmDeadline: "Nhắc hạn xác nhận nhập học",
}

// Subject is the e-mail subject of a message kind.
func Subject(kind string) string {
	if s, ok := subjects[kind]; ok {
		return s
	}
	return "Tuyển sinh đầu cấp"
}
