package report

import (
	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// workExplained says what the model × work matrix holds.
const workExplained = "Each model measured with the work each message costs it before its echo (`--work`, the contract's `C10K_WORK`): " +
	"`cpu=D` burns D of the handling thread's CPU, `wait=D` waits D in the model's own non-blocking way, " +
	"`block=D` sleeps D in the handler, blocking whatever runs it. A cell is the capacity, then the p99 at it and the model's CPU per request."

// cpuPerRequest is the model's CPU per echoed message: with --work every
// message is one request, so this is what a request cost, work included.
var cpuPerRequest = metric{"CPU per request", func(s results.Summary) (float64, bool) {
	return s.CPUPer1kEchoes / 1e3, s.CPUPer1kEchoes > 0
}, units.Seconds}

// workTable is the model × work matrix of a run measured with --work:
// each model's capacity, p99 and CPU per request under each setting; ok
// is false for a run without work.
func workTable(rs []row) (t table, ok bool) {
	sums := make([]results.Summary, len(rs))
	for i, r := range rs {
		sums[i] = r.Summary
	}
	m, ok := analysis.Work(sums)
	if !ok {
		return table{}, false
	}
	t.head, t.right = []string{"model"}, []bool{false}
	for _, w := range m.Works {
		t.head = append(t.head, analysis.WorkName(w))
		t.right = append(t.right, true)
	}
	for _, r := range m.Rows {
		cells := []Cell{text(r.Model)}
		for _, s := range r.Cells {
			if s == nil {
				cells = append(cells, text("—")) // not measured under this setting
				continue
			}
			c := text(CapacityCell(*s))
			c.Note = " · p99 " + cell(metrics[1], *s) + " · CPU " + cell(cpuPerRequest, *s)
			cells = append(cells, c)
		}
		t.rows = append(t.rows, cells)
	}
	return t, true
}
