package auth

import (
	"slices"
	"testing"
)

func TestLowerAndRolesAbove(t *testing.T) {
	for _, c := range []struct{ a, b, want string }{
		{RoleAdmin, RoleViewer, RoleViewer}, {RoleViewer, RoleAdmin, RoleViewer},
		{RoleOperator, RoleAdmin, RoleOperator}, {RoleAdmin, RoleAdmin, RoleAdmin},
		{"root", RoleAdmin, ""}, {RoleViewer, "", ""},
	} {
		if got := Lower(c.a, c.b); got != c.want {
			t.Errorf("Lower(%q, %q) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
	for role, want := range map[string][]string{
		RoleViewer: {RoleOperator, RoleAdmin}, RoleOperator: {RoleAdmin}, RoleAdmin: nil,
		"nobody": {RoleViewer, RoleOperator, RoleAdmin},
	} {
		if got := RolesAbove(role); !slices.Equal(got, want) {
			t.Errorf("RolesAbove(%q) = %v, want %v", role, got, want)
		}
	}
}
