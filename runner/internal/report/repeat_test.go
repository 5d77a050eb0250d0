package report

import (
	"bytes"
	"strings"
	"testing"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
)

// repeated is a loaded run of two models measured three times each, with
// the capacities given; the folder is an older one, so its summaries
// stand as written.
func repeated(id string, caps map[string][3]int) *results.Loaded {
	l := &results.Loaded{Run: results.Run{ID: id, Config: results.Config{Pacing: results.Pacing{Repeat: 3}}},
		Timelines: map[string][]results.Record{}, Summaries: map[string]results.Summary{}}
	for r := 1; r <= 3; r++ {
		for _, m := range []string{"epoll", "gnet"} {
			label := analysis.RepeatLabel(m, r)
			l.Run.Models = append(l.Run.Models, label)
			l.Timelines[label] = nil
			c := caps[m][r-1]
			l.Summaries[label] = results.Summary{Model: label, Capacity: c, CapacityOffered: c,
				Latency: results.Percentiles{Count: 100, P99: float64(r)}}
		}
	}
	return l
}

func TestCompareRepeatsMarksNoise(t *testing.T) {
	a := repeated("A", map[string][3]int{"epoll": {40000, 38000, 39000}, "gnet": {30000, 31000, 29000}})
	b := repeated("B", map[string][3]int{"epoll": {39500, 40500, 41000}, "gnet": {36000, 37000, 35000}})
	var out bytes.Buffer
	if err := Compare(&out, a, b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	find := func(prefix string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		t.Fatalf("no line %q in\n%s", prefix, out.String())
		return ""
	}
	// Capacity is the first metric: epoll's ranges overlap, gnet's do not.
	if l := find("epoll "); !strings.Contains(l, "39k [38k–40k]") || !strings.Contains(l, "~") {
		t.Errorf("epoll: %q, want medians with ranges and ~", l)
	}
	if l := find("gnet "); strings.Contains(l, "~") || !strings.Contains(l, "+6k") {
		t.Errorf("gnet: %q, want the change of the medians, +6k", l)
	}
	var table bytes.Buffer
	if err := Table(&table, a); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "over 3 repeats") || !strings.Contains(table.String(), "39k [38k–40k]") {
		t.Errorf("table lacks the repeats:\n%s", table.String())
	}
}
