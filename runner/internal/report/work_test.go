package report

import (
	"bytes"
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
