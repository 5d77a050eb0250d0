package analysis

import (
	"testing"

	"c10klab/runner/internal/results"
)

func TestFloor(t *testing.T) {
	sums := map[string]results.Summary{
		"c-epoll":              {Model: "c-epoll", Capacity: 1},
		"c-epoll@cpu=200us":    {Model: "c-epoll@cpu=200us", Capacity: 2},
		"c-epoll.r2":           {Model: "c-epoll.r2", Capacity: 3},
		"c-epoll@cpu=200us.r2": {Model: "c-epoll@cpu=200us.r2", Capacity: 4},
	}
	for _, c := range []struct {
		label string
		want  int // the floor's capacity; 0: none
	}{
		{"epoll", 1}, {"c-epoll", 1}, {"epoll@cpu=200us", 2}, {"py-asyncio.r2", 3},
		{"gnet@cpu=200us.r2", 4}, {"epoll@wait=50ms", 0}, {"epoll.r3", 0},
	} {
		f, ok := Floor(sums, c.label)
		if got := map[bool]int{true: f.Capacity}[ok]; got != c.want {
			t.Errorf("Floor(%q): capacity %d (found %v), want %d", c.label, f.Capacity, ok, c.want)
		}
	}
	if _, ok := Ratio(0, 5); ok {
		t.Error("a ratio of a missing figure")
	}
	if r, ok := Ratio(6, 3); !ok || r != 2 {
		t.Errorf("Ratio(6, 3) = %v, %v", r, ok)
	}
}
