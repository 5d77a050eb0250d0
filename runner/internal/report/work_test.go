package report

import (
	"bytes"
	"strings"
	"testing"

	"c10klab/runner/internal/results"
)

func TestWorkSection(t *testing.T) {
	var none bytes.Buffer
	workSection(&none, []row{{Summary: results.Summary{Model: "epoll", Capacity: 100}}}, nil)
	if none.Len() != 0 {
		t.Fatalf("a run without work has a work section:\n%s", none.String())
	}
	rs := []row{
		{Summary: results.Summary{Model: "epoll", Capacity: 40000, Latency: results.Percentiles{Count: 10, P99: 2.5}, CPUPer1kEchoes: 0.012}},
		{Summary: results.Summary{Model: "epoll@block=5ms", Capacity: 180, Latency: results.Percentiles{Count: 10, P99: 900}, CPUPer1kEchoes: 0.02}},
		{Summary: results.Summary{Model: "py-asyncio@block=5ms", Stop: results.StopRefused}},
	}
	var b bytes.Buffer
	workSection(&b, rs, map[string]string{results.WorkChart: "work.png"})
	got := b.String()
	for _, want := range []string{
		"| model | none | block=5ms |",
		"| epoll | 40k<br>p99 2.5 ms<br>CPU 12 µs | 180<br>p99 900 ms<br>CPU 20 µs |",
		// Not measured under none; refused under block: never a 0.
		"| py-asyncio | — | —<br>p99 —<br>CPU — |",
		"work.png",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("work section lacks %q:\n%s", want, got)
		}
	}
}
