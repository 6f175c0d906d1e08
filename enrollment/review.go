package enrollment

import (
	"time"
)

// Source says how an application came in.
type Source string

// Sources.
const (
	SourceOnline Source = "online" // through the online intake
	SourceDirect Source = "direct" // registered in person by school staff
)

// Head is what the review routes need to know of an application before
// showing or changing it: whose it is to review (the school of its first
// choice) and where it stands.
type Head struct {
	ID           string
	TrackingCode string
	Status       Status
	Level        Level
	SchoolYear   int
	FirstChoice  string
	// ChildIDNumber is personal data: used to release the child's
	// duplicate guard after a void, never logged.
	ChildIDNumber string
}

// DirectResult is what RegisterDirect did.
type DirectResult struct {
	TrackingCode string
	SubmittedAt  time.Time
	// Existing is the child's application already there, when the
	// registration was refused as a duplicate.
	Existing *Head
}

// Event is one entry of an application's history.
type Event struct {
	Actor     string    `json:"actor" db:"actor"`
	ActorRole string    `json:"actor_role" db:"actor_role"`
	From      Status    `json:"from" db:"from_status"`
	To        Status    `json:"to" db:"to_status"`
	Reason    string    `json:"reason" db:"reason"`
	At        time.Time `json:"at" db:"at"`
}

// File is the whole application as staff review it: everything submitted,
// guardian included, with its history.
type File struct {
	TrackingCode string `json:"tracking_code"`
	Status       Status `json:"status"`
	StatusReason string `json:"status_reason,omitempty"`
	Source       Source `json:"source"`
	Registration
	SubmittedAt time.Time `json:"submitted_at"`
	StoredAt    time.Time `json:"stored_at"`
	History     []Event   `json:"history"`
}
