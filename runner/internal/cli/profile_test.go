package cli

import "testing"

func TestProfileArg(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "default"},
		{[]string{"--models", "epoll"}, "default"},
		{[]string{"--profile", "scale"}, "scale"},
		{[]string{"--rate", "5", "-profile=scale"}, "scale"},
		{[]string{"--quiet", "--profile", "scale", "--hold", "2s"}, "scale"},
		{[]string{"--", "--profile", "scale"}, "default"},
	}
	for _, c := range cases {
		if got := profileArg(c.args); got != c.want {
			t.Errorf("profileArg(%q) = %q, want %q", c.args, got, c.want)
		}
	}
}
