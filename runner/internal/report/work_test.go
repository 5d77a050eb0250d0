package report

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"c10klab/runner/internal/results"
)

func TestWorkTable(t *testing.T) {
	if _, ok := workTable([]row{{Summary: results.Summary{Model: "epoll", Capacity: 100}}}); ok {
		t.Fatal("a run without work has a work table")
	}
	rs := []row{
		{Summary: results.Summary{Model: "epoll", Capacity: 40000, Latency: results.Percentiles{Count: 10, P99: 2.5}, CPUPer1kEchoes: 0.012}},
		{Summary: results.Summary{Model: "epoll@block=5ms", Capacity: 180, Latency: results.Percentiles{Count: 10, P99: 900}, CPUPer1kEchoes: 0.02}},
		{Summary: results.Summary{Model: "py-asyncio@block=5ms", Stop: results.StopRefused}},
	}
	tb, ok := workTable(rs)
	if !ok {
		t.Fatal("no work table")
	}
	var b bytes.Buffer
	writeMD(&b, tb)
	got := b.String()
	for _, want := range []string{
		"| model | none | block=5ms |",
		"| epoll | 40k · p99 2.5 ms · CPU 12 µs | 180 · p99 900 ms · CPU 20 µs |",
		// Not measured under none; refused under block: never a 0.
		"| py-asyncio | — | — · p99 — · CPU — |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("work table lacks %q:\n%s", want, got)
		}
	}
}

// With the floor (c-epoll) in the run, the summary gives every model's CPU
// per echo and user memory per connection as a multiple of the floor's;
// without it, no such columns.
func TestFloorColumns(t *testing.T) {
	base := []row{{Summary: results.Summary{Model: "epoll", Capacity: 40000, CPUPer1kEchoes: 0.0165, UserMemPerConn: 323}}}
	if tb, _ := summaryTable(base); slices.Contains(tb.head, "CPU / echo × floor") {
		t.Fatalf("floor columns without the floor: %q", tb.head)
	}
	rs := append(base,
		row{Summary: results.Summary{Model: "c-epoll", Capacity: 40000, CPUPer1kEchoes: 0.0168, UserMemPerConn: 64}},
		row{Summary: results.Summary{Model: "node", Capacity: 10000, CPUPer1kEchoes: 0.046, UserMemPerConn: 9933}},
		row{Summary: results.Summary{Model: "py-circuits", Stop: results.StopRefused}})
	tb, order := summaryTable(rs)
	var b bytes.Buffer
	writeMD(&b, tb)
	got := b.String()
	if !strings.Contains(got, "| CPU / echo × floor | user memory × floor |") {
		t.Fatalf("no floor columns:\n%s", got)
	}
	want := map[string][2]string{"c-epoll": {"1×", "1×"}, "epoll": {"0.98×", "5×"}, "node": {"2.7×", "155×"}, "py-circuits": {"—", "—"}}
	for i, r := range order {
		cells := tb.rows[i]
		cpu, mem := cells[len(cells)-2].Text, cells[len(cells)-1].Text
		if w := want[r.Model]; cpu != w[0] || mem != w[1] {
			t.Errorf("%s: × floor %q / %q, want %q / %q", r.Model, cpu, mem, w[0], w[1])
		}
	}
}
