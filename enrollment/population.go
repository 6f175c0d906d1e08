package enrollment

// Person is one child as the population register records it: ID number,
// name, date of birth and the ID numbers of the parents and guardian
// recorded for the child.
type Person struct {
	IDNumber          string
	FullName          string
	DateOfBirth       string // YYYY-MM-DD
	GuardianIDNumbers []string
}
