package staff_test

import (
	"testing"

	"github.com/tuyensinh/tuyensinh/enrollment/staff"
)

// TestCovers is the authorization rule table: each kind of user × a school
// of ward A, which lies in district D under the city.
func TestCovers(t *testing.T) {
	t.Parallel()
	schoolA := staff.School{Code: "SCH-A", Authorities: []string{"WARD-A", "DIST-D", "HN"}}
	tests := []struct {
		name string
		user staff.User
		want bool
	}{
		{"city", staff.User{Role: staff.RoleCity}, true},
		{"authority of the ward", staff.User{Role: staff.RoleAuthority, Scope: "WARD-A"}, true},
		{"authority of the district above the ward", staff.User{Role: staff.RoleAuthority, Scope: "DIST-D"}, true},
		{"authority of the city", staff.User{Role: staff.RoleAuthority, Scope: "HN"}, true},
		{"authority of another ward", staff.User{Role: staff.RoleAuthority, Scope: "WARD-B"}, false},
		{"school A", staff.User{Role: staff.RoleSchool, Scope: "SCH-A"}, true},
		{"school B", staff.User{Role: staff.RoleSchool, Scope: "SCH-B"}, false},
		{"school clerk scoped to an authority code", staff.User{Role: staff.RoleSchool, Scope: "WARD-A"}, false},
		{"authority without scope", staff.User{Role: staff.RoleAuthority}, false},
		{"school without scope", staff.User{Role: staff.RoleSchool}, false},
		{"disabled city", staff.User{Role: staff.RoleCity, Disabled: true}, false},
		{"unknown role", staff.User{Role: "parent", Scope: "SCH-A"}, false},
	}
	for _, tt := range tests {
		if got := tt.user.Covers(schoolA); got != tt.want {
			t.Errorf("%s: %+v.Covers(%v) = %v, want %v", tt.name, tt.user, schoolA, got, tt.want)
		}
	}
}

func TestCheckUsername(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"admin": true, "ward-00004": true, "school-TH-BADINH-01": true, "a.b_c": true,
		"": false, "-admin": false, "ad min": false, "quản-trị": false, "a\x00b": false,
		"a1234567890123456789012345678901234567890123456789012345678901234": false,
		"a123456789012345678901234567890123456789012345678901234567890123":  true,
	} {
		if got := staff.CheckUsername(name) == nil; got != ok {
			t.Errorf("CheckUsername(%q) ok = %v, want %v", name, got, ok)
		}
	}
}
