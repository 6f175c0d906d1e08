package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// verifyChunk is how many codes one query checks.
const verifyChunk = 10_000

// verifyStored checks in PostgreSQL that every tracking code handed out
// with a 202 is stored exactly once, and, when children is given, that no
// other application submitted since the run began is stored for the run's
// children (unknown is how many requests got no answer: each of those may
// have been stored under a code the load test never saw). Applications of
// earlier runs are left out: a child of this run may, rarely, have the ID
// number of a child of an earlier run against the same database.
func verifyStored(ctx context.Context, dbURL string, codes, children []string, since time.Time, unknown int) (*verifyReport, error) {
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	v := &verifyReport{Checked: len(codes), UnknownOutcome: unknown}
	found := 0         // rows holding one of the codes
	var foundSince int // of which submitted since the run began
	seen := make(map[string]bool, len(codes))
	for start := 0; start < len(codes); start += verifyChunk {
		chunk := codes[start:min(start+verifyChunk, len(codes))]
		rows, err := db.QueryContext(ctx, `SELECT tracking_code, count(*), count(*) FILTER (WHERE submitted_at >= $2) FROM applications WHERE tracking_code = ANY($1) GROUP BY 1`, pq.Array(chunk), since)
		if err != nil {
			return nil, fmt.Errorf("count stored codes: %w", err)
		}
		for rows.Next() {
			var code string
			var n, nSince int
			if err := rows.Scan(&code, &n, &nSince); err != nil {
				rows.Close()
				return nil, err
			}
			seen[code] = true
			found += n
			foundSince += nSince
			if n == 1 {
				v.StoredOnce++
			} else {
				v.Duplicates++
			}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	uniq := make(map[string]bool, len(codes))
	var missing []string
	for _, c := range codes {
		if !seen[c] {
			missing = append(missing, c)
		}
		if uniq[c] {
			v.Duplicates++ // the service handed out one code twice
		}
		uniq[c] = true
	}
	// A code missing from applications may have been stored as a duplicate
	// submission of the child's earlier application: kept, not lost, but a
	// sign the Redis guard did not know the child (another Redis prefix on
	// the same database, or a lost Redis key).
	for start := 0; start < len(missing); start += verifyChunk {
		chunk := missing[start:min(start+verifyChunk, len(missing))]
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duplicate_submissions WHERE tracking_code = ANY($1)`, pq.Array(chunk)).Scan(&n); err != nil {
			return nil, fmt.Errorf("count duplicate submissions: %w", err)
		}
		v.Diverted += n
	}
	v.Lost = len(missing) - v.Diverted
	if children != nil {
		rowsForChildren := 0
		for start := 0; start < len(children); start += verifyChunk {
			chunk := children[start:min(start+verifyChunk, len(children))]
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM applications WHERE child_id_number = ANY($1) AND submitted_at >= $2`, pq.Array(chunk), since).Scan(&n); err != nil {
				return nil, fmt.Errorf("count stored children: %w", err)
			}
			rowsForChildren += n
		}
		v.Unexpected = max(rowsForChildren-foundSince, 0)
	}
	v.OK = v.Lost == 0 && v.Duplicates == 0 && v.Unexpected <= v.UnknownOutcome
	return v, nil
}
