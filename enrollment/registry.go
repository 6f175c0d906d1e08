package enrollment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// Registry is the population register (Cơ sở dữ liệu quốc gia về dân cư)
// as intake asks it: does the register hold this child, with this name and
// date of birth, and this parent or guardian? A window asks it only when
// the authority turned verification on (Window.VerifyRegistry).
//
// The register belongs to another agency and may be slow or down on the
// morning a window opens. An answer it cannot give is never held against a
// parent: the registration is queued anyway, pending verification.
type Registry interface {
	// Verify answers VerdictMatch or VerdictNoMatch. An error means the
	// register could not answer (down, refused, or past ctx's deadline);
	// it is logged, so it must not carry the query's personal data.
	Verify(ctx context.Context, q RegistryQuery) (Verdict, error)
}

// RegistryQuery is what a registration states that the register records.
// GuardianIDNumber is empty when the registration names no guardian the
// register would know (see NewRegistryQuery): then it is not compared.
type RegistryQuery struct {
	ChildIDNumber    string
	ChildName        string
	DateOfBirth      string // YYYY-MM-DD
	GuardianIDNumber string
}

// Verdict is the register's answer to a query.
type Verdict int

// The register's answers. The zero Verdict is neither: a Registry that
// returns an error returns it.
const (
	VerdictMatch Verdict = iota + 1
	VerdictNoMatch
)

// Verification records what the population register said of an
// application before it was queued.
type Verification string

// VerificationPending means the window verifies registrations and the
// register could not answer: the application is stored with
// StatusPendingVerification. The empty Verification means nothing is
// pending: the window does not verify, or the register matched.
const VerificationPending Verification = "pending"

// RegistryTimeout bounds the wait for the register's answer. A parent's
// submission must not hang on another agency's service; past it the
// registration is queued pending verification.
const RegistryTimeout = time.Second

// registryRelations are the relations the register records for a child:
// parents and a legal guardian. Grandparents, siblings and others are not
// recorded, so their ID numbers are not compared.
var registryRelations = []string{"father", "mother", "guardian"}

// NewRegistryQuery returns the query for a checked application: the child's
// ID number, name and date of birth, and the guardian's ID number when one
// is given and the guardian is a parent or legal guardian.
func NewRegistryQuery(a *Application) RegistryQuery {
	q := RegistryQuery{ChildIDNumber: a.Child.IDNumber, ChildName: a.Child.FullName, DateOfBirth: a.Child.DateOfBirth}
	for _, r := range registryRelations {
		if a.Guardian.Relation == r {
			q.GuardianIDNumber = a.Guardian.IDNumber
		}
	}
	return q
}

// Verify asks reg about a checked application when its window verifies
// registrations, within RegistryTimeout; otherwise it asks nothing. When
// the register does not match it returns an *Error with CodeInvalid naming
// the fields compared, without saying which of them differs. When the
// register cannot answer (or reg is nil) it sets a.Verification to
// VerificationPending, returns a nil err, and returns the cause in
// unavailable for the caller to log: the registration goes ahead.
func (c *Catalog) Verify(ctx context.Context, reg Registry, a *Application) (unavailable, err error) {
	w, ok := c.Window(a.Level, a.SchoolYear)
	if !ok || !w.VerifyRegistry {
		return nil, nil
	}
	if reg == nil {
		a.Verification = VerificationPending
		return errors.New("the window verifies registrations but no population register is configured"), nil
	}
	q := NewRegistryQuery(a)
	ctx, cancel := context.WithTimeout(ctx, RegistryTimeout)
	defer cancel()
	v, verr := reg.Verify(ctx, q)
	switch {
	case verr != nil:
		a.Verification = VerificationPending
		return verr, nil
	case v == VerdictMatch:
		return nil, nil
	case v == VerdictNoMatch:
		return nil, registryMismatch(q)
	}
	a.Verification = VerificationPending
	return fmt.Errorf("population register: unknown verdict %d", v), nil
}

// registryMismatch is the refusal of a registration the register does not
// match. Every compared field is named with the same words, so the answer
// tells a stranger holding a child's ID number nothing about the record.
func registryMismatch(q RegistryQuery) *Error {
	const (
		vi = "Thông tin không khớp với Cơ sở dữ liệu quốc gia về dân cư"
		en = "does not match the national population database"
	)
	fields := []string{"child.id_number", "child.full_name", "child.date_of_birth"}
	whatVI, whatEN := "số định danh, họ tên, ngày sinh của trẻ", "the child's ID number, full name and date of birth"
	if q.GuardianIDNumber != "" {
		fields = append(fields, "guardian.id_number")
		whatVI, whatEN = "số định danh, họ tên, ngày sinh của trẻ và số định danh của cha mẹ/người giám hộ",
			"the child's ID number, full name, date of birth and the parent's or guardian's ID number"
	}
	e := &Error{Code: CodeInvalid,
		Message: "Thông tin không khớp với Cơ sở dữ liệu quốc gia về dân cư. Hãy kiểm tra lại " + whatVI +
			" theo giấy khai sinh hoặc ứng dụng VNeID; nếu thông tin đúng mà vẫn không khớp, hãy liên hệ công an phường/xã hoặc nhà trường.",
		MessageEN: "the registration does not match the national population database. Check " + whatEN +
			" against the birth certificate or the VNeID app; if they are right and still do not match, contact the ward police or the school."}
	for _, f := range fields {
		e.Problems = append(e.Problems, Problem{Field: f, Message: vi, MessageEN: en})
	}
	return e
}

// SameName reports whether two spellings of a person's name are the same
// name as the register compares them: equal after NFC normalisation, with
// letter case and runs of spaces ignored. Diacritics count: "Lan" is not
// "Lân".
func SameName(a, b string) bool {
	fold := func(s string) string { return strings.Join(strings.Fields(norm.NFC.String(s)), " ") }
	return strings.EqualFold(fold(a), fold(b))
}
