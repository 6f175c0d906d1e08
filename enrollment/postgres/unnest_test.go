package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/tuyensinh/tuyensinh/enrollment"
)

// SaveBatchUnnest is SaveBatch as it was before it loaded batches with
// COPY: one INSERT from one array per column. BenchmarkDrain measures it
// beside SaveBatch in the same run.
func (d *DB) SaveBatchUnnest(ctx context.Context, apps []*enrollment.Application) ([]enrollment.Stored, error) {
	return d.saveBatch(ctx, apps, unnestApplications)
}

func unnestApplications(ctx context.Context, tx *sqlx.Tx, apps []*enrollment.Application) (map[string]time.Time, error) {
	cols := make([][]any, 22)
	for _, a := range apps {
		row, err := applicationRow(a)
		if err != nil {
			return nil, err
		}
		for j, v := range row {
			cols[j] = append(cols[j], v)
		}
	}
	const qInsert = `
INSERT INTO applications (` + applicationColumns + `)
SELECT id, tracking_code, level, school_year, child_id_number, child_name, CAST(date_of_birth AS date), sex,
    ethnicity, place_of_birth, over_age_reason, permanent_ward, permanent_group, permanent_address,
    current_ward, current_group, current_address, CAST(guardian AS jsonb), priority_group, CAST(choices AS text[]),
    CAST(submitted_at AS timestamptz), status
FROM unnest(CAST($1 AS uuid[]), $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],
            $15::text[], $16::text[], $17::text[], $18::text[], $19::int[], $20::text[], $21::text[], $22::text[])
     AS s(` + applicationColumns + `)
ORDER BY CAST(submitted_at AS timestamptz), id
ON CONFLICT DO NOTHING
RETURNING tracking_code, stored_at`
	args := make([]any, len(cols))
	for j, c := range cols {
		args[j] = pq.Array(stringsOf(c))
	}
	return scanInserted(tx.QueryContext(ctx, qInsert, args...))
}

func stringsOf(vs []any) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		switch v := v.(type) {
		case string:
			out[i] = v
		case int64:
			out[i] = strconv.FormatInt(v, 10)
		}
	}
	return out
}
