// Package analysis is c10klab's one judge: from the records of a run (as
// they are measured, or read back from a results folder) it gives each
// step its verdict and trust, each model its summary and diagnosis, and
// the figures reports and charts show. The run calls it as it goes and
// `c10klab plot` calls it on the saved files, with the same answers. It
// only reads results; it never measures, and it prints nothing.
package analysis

import (
	"sort"
	"time"

	"c10klab/runner/internal/results"
)

// UserMemPerConn is the model's PSS above its idle baseline per sustained
// connection, in bytes; ok is false when nothing was sustained or the PSS
// did not rise above the idle size (a collection can take it below).
func UserMemPerConn(s results.Step) (bytes float64, ok bool) {
	if s.Sustained <= 0 || s.UserMem <= 0 {
		return 0, false
	}
	return float64(s.UserMem) / float64(s.Sustained), true
}

// CPUPer1kEchoes is the model's CPU time (user+system, over the step) per
// 1,000 echoed messages, in seconds; ok is false when nothing was echoed.
func CPUPer1kEchoes(s results.Step) (seconds float64, ok bool) {
	if s.Echoes <= 0 {
		return 0, false
	}
	return s.Model.CPU() / float64(s.Echoes) * 1000, true
}

// SwarmCPUPer1kEchoes is the swarm agents' CPU time over a step's window
// per 1,000 echoes, in seconds: what the load costs to make, beside the
// model's CPUPer1kEchoes. ok is false when nothing was echoed or the
// agents' CPU was not recorded (agents on other hosts).
func SwarmCPUPer1kEchoes(s results.Step) (seconds float64, ok bool) {
	if s.Echoes <= 0 || s.AgentsCPU <= 0 {
		return 0, false
	}
	return s.AgentsCPU / float64(s.Echoes) * 1000, true
}

// CPUPerConnHeld is the CPU a connection held costs over a step's window,
// in CPUs (seconds of CPU a second) per connection, for the model and for
// the swarm; ok is false for a step that held nothing or has no window.
// The swarm's is 0 when its CPU was not recorded.
func CPUPerConnHeld(s results.Step) (model, swarm float64, ok bool) {
	if s.Open <= 0 || s.HoldSeconds <= 0 {
		return 0, 0, false
	}
	per := s.HoldSeconds * float64(s.Open)
	return s.Model.CPU() / per, s.AgentsCPU / per, true
}

// Total sums a failure map.
func Total(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// Keys returns the keys of the maps, sorted, each once.
func Keys(ms ...map[string]int64) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// FirstFailure returns the position in steps of the first step with any
// failure, server or client side, or -1.
func FirstFailure(steps []results.Step) int {
	for i, s := range steps {
		if Total(s.Failures)+Total(s.ClientFailures) > 0 {
			return i
		}
	}
	return -1
}

// Events returns a model's event records in file order.
func Events(l *results.Loaded, model string) []results.Event {
	var out []results.Event
	for _, r := range l.Timelines[model] {
		if r.Event != nil {
			out = append(out, *r.Event)
		}
	}
	return out
}

// Reports returns the failures a model reported itself, in file order.
func Reports(l *results.Loaded, model string) []results.ServerReport {
	var out []results.ServerReport
	for _, r := range l.Timelines[model] {
		if r.Report != nil {
			out = append(out, *r.Report)
		}
	}
	return out
}

// IsEnd reports whether an event kind ended the model's measurement
// abnormally: it crashed, the guard stopped it, or the run was interrupted.
func IsEnd(kind string) bool {
	switch kind {
	case results.EventExited, results.EventGuard, results.EventInterrupted:
		return true
	}
	return false
}

// Origin is the moment the model started, the zero of every timeline: the
// first sample's time less its elapsed seconds, else the model_started
// event, else the first event.
func Origin(l *results.Loaded, model string) (time.Time, bool) {
	for _, r := range l.Timelines[model] {
		if r.Sample != nil && !r.Sample.Time.IsZero() {
			return r.Sample.Time.Add(-time.Duration(r.Sample.Elapsed * float64(time.Second))), true
		}
	}
	evs := Events(l, model)
	for _, e := range evs {
		if e.Kind == results.EventStarted {
			return e.Time, true
		}
	}
	if len(evs) > 0 {
		return evs[0].Time, true
	}
	return time.Time{}, false
}

// Source says where a summary came from.
type Source int

const (
	// Recomputed from the folder's records by the analysis.
	Recomputed Source = iota
	// Stored: the folder predates the analysis inputs (run.json format
	// below results.FormatAnalysis), so its summary is shown as written.
	Stored
	// Partial: the run ended while the model was measured and wrote no
	// summary; what the records allow was computed.
	Partial
)

// Summary returns a model's summary computed from the folder's records,
// or, for a folder too old to hold the analysis's inputs, the summary it
// was written with.
func Summary(l *results.Loaded, model string) (results.Summary, Source) {
	stored, has := l.Summaries[model]
	recs, hasTimeline := l.Timelines[model]
	if l.Run.Format < results.FormatAnalysis && has {
		return stored, Stored
	}
	if !hasTimeline && has {
		return stored, Stored
	}
	s := Summarize(&l.Run, model, recs)
	for _, r := range recs {
		if r.Event != nil && r.Event.Kind == results.EventEnded {
			return s, Recomputed
		}
	}
	return s, Partial
}
