package report

import (
	"bytes"
	"fmt"
	"strings"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
)

// cpuPerRequest is the model's CPU per echoed message: with --work every
// message is one request, so this is what a request cost, work included.
var cpuPerRequest = metric{"CPU per request", func(s results.Summary) (float64, bool) {
	return s.CPUPer1kEchoes / 1e3, s.CPUPer1kEchoes > 0
}, analysis.Seconds}

// workSection is the model × work matrix of a run measured with --work:
// each model's capacity, p99 and CPU per request under each setting.
func workSection(b *bytes.Buffer, rs []row, links map[string]string) {
	sums := make([]results.Summary, len(rs))
	for i, r := range rs {
		sums[i] = r.Summary
	}
	m, ok := analysis.Work(sums)
	if !ok {
		return
	}
	b.WriteString("\n## Work per message\n\n")
	b.WriteString("Each model measured with the work each message costs it before its echo (`--work`, the contract's `C10K_WORK`): " +
		"`cpu=D` burns D of the handling thread's CPU, `wait=D` waits D in the model's own non-blocking way, " +
		"`block=D` sleeps D in the handler, blocking whatever runs it. A cell is the capacity, the p99 at it and the model's CPU per request.\n\n")
	b.WriteString("| model |")
	for _, w := range m.Works {
		fmt.Fprintf(b, " %s |", cellMD(analysis.WorkName(w)))
	}
	b.WriteString("\n|---|" + strings.Repeat("--:|", len(m.Works)) + "\n")
	for _, r := range m.Rows {
		fmt.Fprintf(b, "| %s |", cellMD(r.Model))
		for _, s := range r.Cells {
			if s == nil {
				b.WriteString(" — |")
				continue
			}
			fmt.Fprintf(b, " %s<br>p99 %s<br>CPU %s |", capacityCell(*s), cell(metrics[1], *s), cell(cpuPerRequest, *s))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	embed(b, links, results.WorkChart, "Capacity under the work each message costs")
}
