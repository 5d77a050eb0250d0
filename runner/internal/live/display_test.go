package live

import (
	"strings"
	"testing"
	"time"
)

// TestAside: text written to the screen another way (the Ctrl-C notice
// on stderr) goes on a line of its own, the status line cleared before
// and drawn again after; with no status line shown, nothing is added.
func TestAside(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st := State{Label: "epoll", Phase: PhaseWindow, Model: 1, Models: 1, Step: 1, Steps: 1, Left: -1}
	for _, c := range []struct {
		name string
		tty  bool
		want string
	}{
		{"terminal", true, "\r\x1b[K" + Render(st, 0) + "\r\x1b[K\nnotice\n" + Render(st, 0)},
		{"log", false, "\nnotice\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out strings.Builder
			d := NewDisplay(&out, c.tty, nil)
			d.Status(st, t0)
			d.Aside(func() { out.WriteString("\nnotice\n") })
			if out.String() != c.want {
				t.Errorf("output %q, want %q", out.String(), c.want)
			}
		})
	}
}
