package analysis

import (
	"slices"
	"testing"

	"c10klab/runner/internal/results"
)

func TestWorkMatrix(t *testing.T) {
	if _, ok := Work([]results.Summary{{Model: "epoll"}, {Model: "gnet"}}); ok {
		t.Fatal("a run without work has a matrix")
	}
	sums := []results.Summary{
		{Model: "epoll@cpu=200us", Capacity: 4000},
		{Model: "epoll", Capacity: 40000},
		{Model: "py-asyncio@block=5ms", Capacity: 190},
		{Model: "py-asyncio-executor@block=5ms", Capacity: 900},
		{Model: "epoll@block=5ms", Capacity: 180},
	}
	m, ok := Work(sums)
	if !ok {
		t.Fatal("no matrix")
	}
	if got, want := m.Works, []string{"", "cpu=200us", "block=5ms"}; !slices.Equal(got, want) {
		t.Errorf("columns %q, want %q", got, want)
	}
	want := map[string][]int{ // capacity per column, -1: not measured
		"epoll":               {40000, 4000, 180},
		"py-asyncio":          {-1, -1, 190},
		"py-asyncio-executor": {-1, -1, 900},
	}
	if len(m.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(m.Rows), len(want))
	}
	for _, r := range m.Rows {
		for i, c := range r.Cells {
			got := -1
			if c != nil {
				got = c.Capacity
			}
			if got != want[r.Model][i] {
				t.Errorf("%s under %q: capacity %d, want %d", r.Model, WorkName(m.Works[i]), got, want[r.Model][i])
			}
		}
	}
	if m.Rows[0].Model != "epoll" {
		t.Errorf("first row %s, want the first model measured (epoll)", m.Rows[0].Model)
	}
}
