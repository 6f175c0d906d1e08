package enrollment

import (
	"fmt"
	"strings"
	"time"
)

// Code classifies an Error. The web package maps each code to one HTTP
// status, in one table.
type Code string

// Error codes.
const (
	CodeBadRequest   Code = "bad_request"        // the request could not be read (malformed JSON, wrong types)
	CodeTooLarge     Code = "too_large"          // the request body is larger than allowed
	CodeMethod       Code = "method_not_allowed" // the route does not take this HTTP method
	CodeInvalid      Code = "invalid"            // the registration was read but breaks a rule; see Problems
	CodeWindowClosed Code = "window_closed"      // the level's registration window is not open
	CodeDuplicate    Code = "duplicate"          // the child already has an application for the level and year
	CodeNotFound     Code = "not_found"          // no such application, school or page
	CodeBusy         Code = "busy"               // the intake buffer is past its ceiling; retry later
	CodeTooMany      Code = "too_many_requests"  // the client address sent more than its share; retry later
	CodeUnavailable  Code = "unavailable"        // a backing service is down; retry later
	CodeInternal     Code = "internal"           // a fault of ours, never of the client's input
	CodeUnauthorized Code = "unauthorized"       // no staff session, or a sign-in with wrong credentials
	CodeForbidden    Code = "forbidden"          // a staff session that may not do this (scope, role or CSRF token)
	CodeConflict     Code = "conflict"           // the application's state does not allow this change (e.g. accepting a returned one)
)

// Problem is one thing wrong with one field of a registration.
type Problem struct {
	Field     string `json:"field"`      // JSON path of the field, e.g. "child.id_number" or "choices[2]"
	Message   string `json:"message"`    // Vietnamese
	MessageEN string `json:"message_en"` // English
}

// Error is the application's error: a code, a message in Vietnamese and
// English, and for CodeInvalid the field problems. The store (package
// postgres) and intake return *Error, possibly wrapped (find it with
// errors.As), for everything a client caused or can act on; any other
// error is a fault of ours.
type Error struct {
	Code      Code
	Message   string // Vietnamese
	MessageEN string // English
	Problems  []Problem
	// RetryAfter is set with CodeBusy, CodeUnavailable and CodeTooMany
	// (also for a staff account locked after failed sign-ins).
	RetryAfter time.Duration
	// TrackingCode, when set, is shown with a link to its status. It is
	// never set with CodeDuplicate on a public route: a refusal reveals
	// nothing of the child's existing application to whoever sent the
	// second form. A direct registration by staff who cover the existing
	// application may carry it (see web's registerDirect).
	TrackingCode string
}

// Error returns the English message, with the problems for CodeInvalid.
func (e *Error) Error() string {
	if len(e.Problems) == 0 {
		return e.MessageEN
	}
	var b strings.Builder
	b.WriteString(e.MessageEN)
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", p.Field, p.MessageEN)
	}
	return b.String()
}

// Errorf returns an *Error with the given code and messages.
func Errorf(code Code, vi, en string) *Error {
	return &Error{Code: code, Message: vi, MessageEN: en}
}

// ErrNotFound is returned when no application has the tracking code asked for.
var ErrNotFound = Errorf(CodeNotFound,
	"Không tìm thấy hồ sơ với mã tra cứu này",
	"no application has this tracking code")
