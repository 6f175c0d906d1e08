package postgres

// StatusQuery is the status lookup's SQL, for the test of its plan.
const StatusQuery = statusQuery

// SkippedByIDQuery and SkippedByChildQuery are SaveBatch's lookups of
// skipped rows, for the test of their plans.
const (
	SkippedByIDQuery    = skippedByIDQuery
	SkippedByChildQuery = skippedByChildQuery
)
