package analysis

import (
	"testing"

	"c10klab/runner/internal/results"
)

func TestRepeatLabels(t *testing.T) {
	for _, tc := range []struct {
		label string
		base  string
		n     int
	}{{"epoll.r2", "epoll", 2}, {"forked-seed.r10", "forked-seed", 10}, {"epoll", "epoll", 0}, {"a.rx", "a.rx", 0}, {"b.r0", "b.r0", 0}} {
		if b, n := BaseLabel(tc.label); b != tc.base || n != tc.n {
			t.Errorf("BaseLabel(%q) = %q, %d; want %q, %d", tc.label, b, n, tc.base, tc.n)
		}
	}
	if b, n := BaseLabel(RepeatLabel("gnet", 3)); b != "gnet" || n != 3 {
		t.Errorf("round trip: %q %d", b, n)
	}
}

func TestSpreadAndGroups(t *testing.T) {
	s := SpreadOf([]float64{3, 1, 2})
	if s.Median != 2 || s.Min != 1 || s.Max != 3 || s.N != 3 {
		t.Fatalf("spread %v", s)
	}
	if m := SpreadOf([]float64{1, 2, 3, 10}).Median; m != 2.5 {
		t.Fatalf("median of four = %v", m)
	}
	if !s.Overlaps(SpreadOf([]float64{2.5, 9})) || s.Overlaps(SpreadOf([]float64{3.5, 9})) {
		t.Fatal("overlap wrong")
	}
	g := Group([]results.Summary{{Model: "a.r1", Capacity: 10}, {Model: "b.r1"}, {Model: "a.r2", Capacity: 30}})
	if len(g) != 2 || g[0].Model != "a" || len(g[0].Runs) != 2 {
		t.Fatalf("groups %+v", g)
	}
	c := g[0].Figure(func(s results.Summary) (float64, bool) { return float64(s.Capacity), true })
	if c.Median != 20 || c.Min != 10 || c.Max != 30 {
		t.Fatalf("capacity spread %v", c)
	}
}
