package enrollment

import "fmt"

// ActorRole is who acts on an application: the holder of its tracking
// code (a parent), or a staff role. The staff roles have the names of
// staff.Role; enrollment cannot import staff (staff imports enrollment),
// so they are repeated here as the audit records them.
type ActorRole string

// Actor roles.
const (
	// ActorParent is whoever holds the tracking code: no parent accounts
	// exist yet, and the code is a 100-bit secret handed to the person
	// who registered the child.
	ActorParent    ActorRole = "parent"
	ActorSchool    ActorRole = "school"
	ActorAuthority ActorRole = "authority"
	ActorCity      ActorRole = "city"
	// ActorIntake is the intake storing an online application: it writes
	// the application's first event (queued → received, or
	// pending_verification), as actor "intake". It makes none of the
	// Transitions below.
	ActorIntake ActorRole = "intake"
)

// Actor is who made a transition, as the audit keeps it: a staff username
// with its role, or ActorParent with the name "parent".
type Actor struct {
	Name string
	Role ActorRole
}

// A Transition moves an application from one state to another. These are
// all the transitions there are; every other move is refused with
// CodeConflict (409), naming the current state:
//
//   - received → accepted: the reviewing staff (school, authority or city in
//     scope) accepts the file after checking it.
//   - received → returned: the reviewing staff returns it with a reason,
//     required, which the parent reads on the status page.
//   - returned → received: the holder of the tracking code (the parent)
//     corrects the file and sends it again, while the window is open.
//   - accepted (or, for a run that included unreviewed files, received or
//     pending_verification) → placed or unplaced: publishing a placement
//     run (authority or city); unplaced → placed in a later round.
//   - placed → confirmed or declined: the parent, or the school recording
//     what the parent said in person. placed → declined also when the
//     confirmation deadline passed unconfirmed (authority or city, when the
//     next round is published).
//   - received, returned or accepted → voided: the reviewing staff ends an
//     application after checking papers (a registration made by someone who
//     is not the child's guardian, say), with a reason, required. The file
//     stays in the history, its code answers voided, and the child may be
//     registered again.
//
// pending_verification is received whose population-register check is
// still owed: the reviewing staff checks the papers, so it moves like
// received. Who is "in scope" is decided where the request comes in (the
// school of the first choice, an authority above it, or the city); a role
// that is not among a transition's movers gets CodeForbidden.
type Transition struct {
	From, To Status
}

// transitions lists who may make each transition.
var transitions = map[Transition][]ActorRole{
	{StatusReceived, StatusAccepted}:            {ActorSchool, ActorAuthority, ActorCity},
	{StatusPendingVerification, StatusAccepted}: {ActorSchool, ActorAuthority, ActorCity},
	{StatusReceived, StatusReturned}:            {ActorSchool, ActorAuthority, ActorCity},
	{StatusPendingVerification, StatusReturned}: {ActorSchool, ActorAuthority, ActorCity},
	{StatusReturned, StatusReceived}:            {ActorParent},
	{StatusReceived, StatusVoided}:              {ActorSchool, ActorAuthority, ActorCity},
	{StatusPendingVerification, StatusVoided}:   {ActorSchool, ActorAuthority, ActorCity},
	{StatusReturned, StatusVoided}:              {ActorSchool, ActorAuthority, ActorCity},
	{StatusAccepted, StatusVoided}:              {ActorSchool, ActorAuthority, ActorCity},

	{StatusAccepted, StatusPlaced}:              {ActorAuthority, ActorCity},
	{StatusReceived, StatusPlaced}:              {ActorAuthority, ActorCity},
	{StatusPendingVerification, StatusPlaced}:   {ActorAuthority, ActorCity},
	{StatusAccepted, StatusUnplaced}:            {ActorAuthority, ActorCity},
	{StatusReceived, StatusUnplaced}:            {ActorAuthority, ActorCity},
	{StatusPendingVerification, StatusUnplaced}: {ActorAuthority, ActorCity},
	{StatusUnplaced, StatusPlaced}:              {ActorAuthority, ActorCity},
	{StatusPlaced, StatusConfirmed}:             {ActorParent, ActorSchool},
	{StatusPlaced, StatusDeclined}:              {ActorParent, ActorSchool, ActorAuthority, ActorCity},
}

// needsReason reports whether a move to st must say why.
func needsReason(st Status) bool { return st == StatusReturned || st == StatusVoided }

// MaxReasonLen is the longest reason a decision may give, in characters.
const MaxReasonLen = 1000

// CheckTransition returns nil when role may move an application from
// from to to with reason, and otherwise an *Error: CodeConflict for a move
// that does not exist (the message names the current state),
// CodeForbidden for a move this role does not make, CodeInvalid for a
// missing or overlong reason.
func CheckTransition(from, to Status, role ActorRole, reason string) error {
	movers, ok := transitions[Transition{from, to}]
	if !ok {
		return conflict(from, to)
	}
	allowed := false
	for _, r := range movers {
		allowed = allowed || r == role
	}
	if !allowed {
		return Errorf(CodeForbidden, "Bạn không có quyền thực hiện thay đổi này với hồ sơ", "your role may not make this change to the application")
	}
	if needsReason(to) && reason == "" {
		return &Error{Code: CodeInvalid,
			Message:   "Cần ghi rõ lý do (phụ huynh sẽ đọc lý do này)",
			MessageEN: "a reason is required (the parent reads it)",
			Problems:  []Problem{{Field: "reason", Message: "Chưa nhập lý do", MessageEN: "the reason is required"}}}
	}
	if n := len([]rune(reason)); n > MaxReasonLen {
		return &Error{Code: CodeInvalid,
			Message:   fmt.Sprintf("Lý do dài quá %d ký tự", MaxReasonLen),
			MessageEN: fmt.Sprintf("the reason is longer than %d characters", MaxReasonLen),
			Problems:  []Problem{{Field: "reason", Message: fmt.Sprintf("Dài quá %d ký tự (đã nhập %d)", MaxReasonLen, n), MessageEN: fmt.Sprintf("longer than %d characters (got %d)", MaxReasonLen, n)}}}
	}
	return nil
}

// conflict is the refusal of a move that does not exist from the current
// state.
func conflict(from, to Status) *Error {
	t := statusText[from]
	if t[0] == "" {
		t = [2]string{string(from), string(from)}
	}
	return Errorf(CodeConflict,
		fmt.Sprintf("Không thể chuyển hồ sơ sang trạng thái %q: hồ sơ đang ở trạng thái %q (%s)", to, from, t[0]),
		fmt.Sprintf("the application cannot move to %q: it is %q (%s)", to, from, t[1]))
}
