package report

import (
	"c10klab/runner/internal/report/derive"
	"c10klab/runner/internal/results"
)

// row is one model's line in every summary: the runner's summary, or one
// rebuilt from the steps when the run died before writing it.
type row struct {
	results.Summary
	derived bool // no summary file: rebuilt from the steps
}

func rows(l *results.Loaded) []row {
	var out []row
	for _, m := range l.Models() {
		s, derived := derive.Summary(l, m)
		out = append(out, row{Summary: s, derived: derived})
	}
	return out
}

// metric is one column of the summary that can be compared across runs.
type metric struct {
	name   string
	value  func(results.Summary) (float64, bool)
	format func(float64) string
}

var metrics = []metric{
	{"capacity (connections)", func(s results.Summary) (float64, bool) { return float64(s.Capacity), true }, derive.Count},
	{"p99 at capacity", func(s results.Summary) (float64, bool) { return s.Latency.P99, s.Latency.Count > 0 }, derive.Millis},
	{"user memory per connection", func(s results.Summary) (float64, bool) { return s.UserMemPerConn, s.Capacity > 0 }, derive.Bytes},
	{"kernel memory per connection", func(s results.Summary) (float64, bool) { return s.KernelMemPerConn, s.Capacity > 0 }, derive.Bytes},
	{"CPU per 1,000 echoes", func(s results.Summary) (float64, bool) { return s.CPUPer1kEchoes, s.CPUPer1kEchoes > 0 }, derive.Seconds},
}

func cell(m metric, s results.Summary) string {
	v, ok := m.value(s)
	if !ok {
		return "—"
	}
	return m.format(v)
}
