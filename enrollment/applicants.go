package enrollment

import (
	"time"
)

// ResidenceCategory places a child's residence against one school's
// catchment, as Hanoi's online system did: dt1 when both the permanent and
// the current residence lie in it, dt2 the permanent only, dt3 the current
// only, dt4 neither. A catchment zone with no residential groups is the
// whole ward, else the groups it lists (Offer.InCatchment).
type ResidenceCategory string

// Residence categories.
const (
	DT1 ResidenceCategory = "dt1"
	DT2 ResidenceCategory = "dt2"
	DT3 ResidenceCategory = "dt3"
	DT4 ResidenceCategory = "dt4"
)

// Valid reports whether c is one of the categories.
func (c ResidenceCategory) Valid() bool { return c == DT1 || c == DT2 || c == DT3 || c == DT4 }

// MaxPerPage is the most applicants one page of a list holds.
const MaxPerPage = 200

// ApplicantQuery selects a school's applicants: those who named the
// school at any rank, narrowed by the filters that are set. Q matches the
// child's name accent- and case-insensitively, anywhere in it, or a
// tracking code exactly. Page counts from 1.
type ApplicantQuery struct {
	School   string
	Level    Level
	Status   Status
	Category ResidenceCategory
	Priority *int
	Q        string
	Page     int
	PerPage  int
}

// Applicant is one line of a school's applicant list.
type Applicant struct {
	TrackingCode      string            `json:"tracking_code"`
	Status            Status            `json:"status"`
	Level             Level             `json:"level"`
	SchoolYear        int               `json:"school_year"`
	ChildName         string            `json:"child_name"`
	DateOfBirth       string            `json:"date_of_birth"`
	Sex               Sex               `json:"sex"`
	ResidenceCategory ResidenceCategory `json:"residence_category"`
	PriorityGroup     int               `json:"priority_group"`
	Choices           []string          `json:"choices"`
	ChoiceRank        int               `json:"choice_rank"`
	SubmittedAt       time.Time         `json:"submitted_at"`
}

// ApplicantPage is one page of a school's applicants and the count of all
// that match.
type ApplicantPage struct {
	Applications []Applicant `json:"applications"`
	Total        int         `json:"total"`
	Page         int         `json:"page"`
	PerPage      int         `json:"per_page"`
}

// SubmittedInVietnam is the moment of submission on Vietnam's clock
// (UTC+7, no daylight saving), the time a school's staff read.
func (a Applicant) SubmittedInVietnam() time.Time { return a.SubmittedAt.In(vietnam()) }
