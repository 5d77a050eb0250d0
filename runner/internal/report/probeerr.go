package report

import (
	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
)

// probeErrorWarnings names each read that failed while a model was
// measured (results.EventProbeError): its figures are missing from then on
// and, when the read was the guard's, the guard may not have worked. The
// event itself is also in the model's events table; here it is said where
// a reader looks first.
func probeErrorWarnings(l *results.Loaded) []string {
	var out []string
	for _, m := range l.Models() {
		for _, e := range analysis.Events(l, m) {
			if e.Kind == results.EventProbeError {
				out = append(out, m+": "+e.Msg)
			}
		}
	}
	return out
}
