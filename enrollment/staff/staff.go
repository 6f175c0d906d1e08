// Package staff is the people who work on applications: city officers,
// authority officers and school clerks, their accounts and what each may
// see. It decides who covers which school; the web package asks it on every
// staff request.
//
// Authorities are modelled as the schema's authorities table models them:
// a tree of any depth (city → district → ward, or city → ward since Hanoi
// dropped its districts in 2025), each ward of the city pointing at the
// authority it belongs to. Nothing here names a level of that tree. The
// demo city has one authority, HN (the city); for its ward officers the
// demo seed (SeedDemo) adds one authority per ward, of kind ward, whose
// code is the ward's code and whose parent is HN, and points the ward at
// it, so that ward-00004 is an ordinary authority officer with scope 00004.
// Mapping ward officers by ward code instead would have made a ward a
// second kind of scope and every rule twice as long.
package staff

import (
	"fmt"
	"regexp"
	"slices"
)

// Role is what a staff account is for.
type Role string

// Roles.
const (
	// RoleCity is the city's department of education: it sees everything.
	RoleCity Role = "city"
	// RoleAuthority is an officer of an authority (a district, a ward or
	// commune): it sees the schools of its area.
	RoleAuthority Role = "authority"
	// RoleSchool is a school's clerk: it sees its own school only.
	RoleSchool Role = "school"
)

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r == RoleCity || r == RoleAuthority || r == RoleSchool }

// User is a staff account as the service sees it once signed in.
//
// Who covers what: a school clerk (RoleSchool) sees only its own school,
// the one its Scope names; an authority officer (RoleAuthority) sees the
// schools whose ward lies in its area, at any depth below the authority its
// Scope names; the city (RoleCity, empty Scope) sees everything. A disabled
// account sees nothing, and its open sessions stop working.
type User struct {
	Username string
	Role     Role
	// Scope is the authority code for RoleAuthority, the school code for
	// RoleSchool, and empty for RoleCity (all).
	Scope    string
	Name     string
	Disabled bool
	// Stamp changes whenever the account's password does. A session
	// records it at sign-in and ends when it no longer matches, so that a
	// new password (staff passwd, after a leak) closes every session opened
	// with the old one.
	Stamp string
}

// School is what the authorization rules need to know of a school: its
// code and the chain of authorities above it, from the authority its ward
// belongs to up to the top of the tree (e.g. ["00004", "HN"], or
// ["BADINH", "HN"] where a district sits between ward and city).
type School struct {
	Code        string
	Authorities []string
}

// Covers reports whether u may see and act on the school s, by the rules
// written on User.
func (u User) Covers(s School) bool {
	if u.Disabled {
		return false
	}
	switch u.Role {
	case RoleCity:
		return true
	case RoleAuthority:
		return u.Scope != "" && slices.Contains(s.Authorities, u.Scope)
	case RoleSchool:
		return u.Scope != "" && u.Scope == s.Code
	}
	return false
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckUsername returns an error unless name is a possible username: 1 to
// 64 ASCII letters, digits, dots, dashes and underscores, starting with a
// letter or digit.
func CheckUsername(name string) error {
	if !usernameRE.MatchString(name) {
		return fmt.Errorf("username %q: want 1 to 64 letters, digits, '.', '-' or '_', starting with a letter or digit", name)
	}
	return nil
}
