package enrollment

import "time"

// Stored is what happened to one application handed to SaveBatch.
type Stored struct {
	TrackingCode string
	// Outcome is OutcomeInserted, OutcomeAlreadyStored (a redelivery of an
	// application already in the database) or OutcomeDuplicate (the child
	// already had another application for the level and year).
	Outcome Outcome
	// FirstTrackingCode is the code of the child's application, with
	// OutcomeDuplicate.
	FirstTrackingCode string
	StoredAt          time.Time
}

// Outcome is the result of storing one application.
type Outcome int

// Outcomes of SaveBatch.
const (
	OutcomeInserted Outcome = iota
	OutcomeAlreadyStored
	OutcomeDuplicate
)
