package cli

import (
	"fmt"
	"io"
	"sync"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/diagnose"
	"c10klab/runner/internal/results"
)

// progress prints the record stream of a run as it happens.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	quiet bool
	// reported holds the server report kinds already printed for a model;
	// a model failing accept() in a loop reports every second.
	reported map[string]int64
}

func (p *progress) observe(label string, r results.Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case r.Step != nil:
		st := r.Step
		verdict := "ok"
		if !st.OK {
			verdict = "NOT SUSTAINED"
		}
		if st.Untrusted != "" {
			verdict += " (untrusted: " + st.Untrusted + ")"
		}
		fmt.Fprintf(p.w, "[%s] step %d: offered %6d  open %6d  sustained %6d  failures %-5d p99 %7.2f ms  %s\n",
			label, st.Index, st.Offered, st.Open, st.Sustained, analysis.Total(st.Failures)+analysis.Total(st.ClientFailures), st.Latency.P99, verdict)
		if len(st.Failures) > 0 {
			fmt.Fprintf(p.w, "[%s]         failures: %s\n", label, diagnose.FormatCounts(st.Failures))
		}
		if len(st.ServerReports) > 0 {
			fmt.Fprintf(p.w, "[%s]         server reports: %s\n", label, diagnose.FormatCounts(st.ServerReports))
		}
		if len(st.ClientFailures) > 0 {
			fmt.Fprintf(p.w, "[%s]         client-side: %s\n", label, diagnose.FormatCounts(st.ClientFailures))
		}
	case r.Event != nil && !p.quiet:
		fmt.Fprintf(p.w, "[%s] %s: %s\n", label, r.Event.Kind, r.Event.Msg)
	case r.Report != nil && !p.quiet:
		rep := r.Report
		key := label + "/" + rep.Kind + "/" + rep.Errno
		if p.reported == nil {
			p.reported = map[string]int64{}
		}
		if _, seen := p.reported[key]; !seen {
			fmt.Fprintf(p.w, "[%s] server reports: %s %s at %d connections (instance %d); repeats are counted in the step lines\n",
				label, rep.Kind, rep.Errno, rep.Conns, rep.Instance)
		}
		p.reported[key] += rep.Count
	}
}
