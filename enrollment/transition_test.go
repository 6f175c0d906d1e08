package enrollment_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// TestCheckTransition tries every state × every state × every role and
// holds the answers to the rules written on enrollment.Transition.
func TestCheckTransition(t *testing.T) {
	t.Parallel()
	states := []enrollment.Status{enrollment.StatusQueued, enrollment.StatusReceived, enrollment.StatusPendingVerification,
		enrollment.StatusDuplicate, enrollment.StatusNotStored, enrollment.StatusReturned, enrollment.StatusAccepted,
		enrollment.StatusPlaced, enrollment.StatusUnplaced, enrollment.StatusConfirmed, enrollment.StatusDeclined, enrollment.StatusVoided}
	roles := []enrollment.ActorRole{enrollment.ActorParent, enrollment.ActorSchool, enrollment.ActorAuthority, enrollment.ActorCity, enrollment.ActorIntake}
	staffOnly := "school authority city"
	// from>to → the roles that may make it; every other pair is a conflict.
	allowed := map[string]string{
		"received>accepted":             staffOnly,
		"pending_verification>accepted": staffOnly,
		"received>returned":             staffOnly,
		"pending_verification>returned": staffOnly,
		"returned>received":             "parent",
		"received>voided":               staffOnly,
		"pending_verification>voided":   staffOnly,
		"returned>voided":               staffOnly,
		"accepted>voided":               staffOnly,
		"accepted>placed":               "authority city",
		"received>placed":               "authority city",
		"pending_verification>placed":   "authority city",
		"accepted>unplaced":             "authority city",
		"received>unplaced":             "authority city",
		"pending_verification>unplaced": "authority city",
		"unplaced>placed":               "authority city",
		"placed>confirmed":              "parent school",
		"placed>declined":               "parent school authority city",
	}
	for _, from := range states {
		for _, to := range states {
			for _, role := range roles {
				movers, exists := allowed[string(from)+">"+string(to)]
				err := enrollment.CheckTransition(from, to, role, "giấy tờ không khớp")
				var e *enrollment.Error
				switch {
				case !exists:
					if !errors.As(err, &e) || e.Code != enrollment.CodeConflict {
						t.Errorf("CheckTransition(%s, %s, %s) = %v, want conflict", from, to, role, err)
					} else if !strings.Contains(e.Message, string(from)) || !strings.Contains(e.MessageEN, string(from)) {
						t.Errorf("conflict %s → %s: message %q does not name the current state", from, to, e.Message)
					}
				case strings.Contains(movers, string(role)):
					if err != nil {
						t.Errorf("CheckTransition(%s, %s, %s) = %v, want nil", from, to, role, err)
					}
				default:
					if !errors.As(err, &e) || e.Code != enrollment.CodeForbidden {
						t.Errorf("CheckTransition(%s, %s, %s) = %v, want forbidden", from, to, role, err)
					}
				}
			}
		}
	}
}

// TestTransitionReasons: returning and voiding need a reason; accepting
// does not.
func TestTransitionReasons(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		from, to enrollment.Status
		reason   string
		want     enrollment.Code
	}{
		{enrollment.StatusReceived, enrollment.StatusReturned, "", enrollment.CodeInvalid},
		{enrollment.StatusReceived, enrollment.StatusVoided, "", enrollment.CodeInvalid},
		{enrollment.StatusAccepted, enrollment.StatusVoided, "", enrollment.CodeInvalid},
		{enrollment.StatusReceived, enrollment.StatusReturned, strings.Repeat("x", enrollment.MaxReasonLen+1), enrollment.CodeInvalid},
		{enrollment.StatusReceived, enrollment.StatusAccepted, "", ""},
		{enrollment.StatusReceived, enrollment.StatusReturned, "Thiếu giấy khai sinh", ""},
	} {
		t.Run(fmt.Sprintf("%s>%s/%d", tc.from, tc.to, len(tc.reason)), func(t *testing.T) {
			err := enrollment.CheckTransition(tc.from, tc.to, enrollment.ActorSchool, tc.reason)
			var e *enrollment.Error
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want nil", err)
			case tc.want != "" && (!errors.As(err, &e) || e.Code != tc.want):
				t.Errorf("got %v, want %s", err, tc.want)
			}
		})
	}
}
