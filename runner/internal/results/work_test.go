package results

import (
	"strings"
	"testing"
)

func TestWorkLabel(t *testing.T) {
	for _, c := range []struct{ label, work, want string }{
		{"epoll", "", "epoll"},
		{"epoll", "cpu=200us", "epoll@cpu=200us"},
		{"py-asyncio-executor", "cpu=100us,wait=20ms", "py-asyncio-executor@cpu=100us,wait=20ms"},
	} {
		got := WorkLabel(c.label, c.work)
		if got != c.want {
			t.Errorf("WorkLabel(%q, %q) = %q, want %q", c.label, c.work, got, c.want)
		}
		if m, w := SplitWork(got); m != c.label || w != c.work {
			t.Errorf("SplitWork(%q) = %q, %q, want %q, %q", got, m, w, c.label, c.work)
		}
		if f := FileName(got); strings.ContainsAny(f, "@=,:/") {
			t.Errorf("FileName(%q) = %q: not safe in a file name or a Markdown link", got, f)
		}
	}
}
