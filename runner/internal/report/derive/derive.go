// Package derive computes the figures that reports and charts show from a
// loaded run: per-step ratios, the events that ended a model, and a summary
// rebuilt from the steps when the runner died before writing one. It only
// reads results; it never measures.
package derive

import (
	"fmt"
	"regexp"
	"sort"
	"time"

	"c10klab/runner/internal/results"
)

// FileName turns a model name into something safe in a file name and in a
// relative Markdown link: "forked:seed" would otherwise read as a URL scheme.
func FileName(model string) string {
	return unsafeChars.ReplaceAllString(model, "_")
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// UserMemPerConn is the model's PSS above its idle baseline per sustained
// connection, in bytes; ok is false when nothing was sustained.
func UserMemPerConn(s results.Step) (bytes float64, ok bool) {
	if s.Sustained <= 0 {
		return 0, false
	}
	return float64(s.UserMem) / float64(s.Sustained), true
}

// KernelMemPerConn is kernel socket memory above baseline per sustained
// connection, in bytes; ok is false when nothing was sustained.
func KernelMemPerConn(s results.Step) (bytes float64, ok bool) {
	if s.Sustained <= 0 {
		return 0, false
	}
	return float64(s.KernelMem) / float64(s.Sustained), true
}

// CPUPer1kEchoes is the model's CPU time (user+system, over the step) per
// 1,000 echoed messages, in seconds; ok is false when nothing was echoed.
func CPUPer1kEchoes(s results.Step) (seconds float64, ok bool) {
	if s.Echoes <= 0 {
		return 0, false
	}
	return (s.Model.CPUUser + s.Model.CPUSys) / float64(s.Echoes) * 1000, true
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

// Summary returns a model's summary. When the runner wrote none (it died,
// or was killed, while measuring the model), it rebuilds what the steps,
// samples and events can tell and reports derived = true.
func Summary(l *results.Loaded, model string) (s results.Summary, derived bool) {
	if s, ok := l.Summaries[model]; ok {
		return s, false
	}
	s = results.Summary{Model: model}
	steps := l.Steps(model)
	best := -1
	for i, st := range steps {
		if best < 0 || st.Sustained > steps[best].Sustained {
			best = i
		}
		if !st.OK && s.FailedOffered == 0 {
			s.FailedOffered = st.Offered
		}
		if st.Untrusted != "" {
			s.Untrusted = append(s.Untrusted, fmt.Sprintf("step %d (%d offered): %s", st.Index, st.Offered, st.Untrusted))
		}
	}
	if best >= 0 {
		b := steps[best]
		s.Capacity, s.CapacityOffered, s.Latency = b.Sustained, b.Offered, b.Latency
		s.UserMemPerConn, _ = UserMemPerConn(b)
		s.KernelMemPerConn, _ = KernelMemPerConn(b)
		s.CPUPer1kEchoes, _ = CPUPer1kEchoes(b)
	}
	for _, sm := range l.Samples(model) {
		s.PeakProcs = max(s.PeakProcs, sm.Model.Procs)
		s.PeakThreads = max(s.PeakThreads, sm.Model.Threads)
	}
	s.Stop, s.Diagnosis = "no summary", "No summary was written: the run ended while this model was being measured; figures are derived from its saved steps."
	for _, e := range Events(l, model) {
		if !IsEnd(e.Kind) {
			continue
		}
		switch e.Kind {
		case results.EventExited:
			s.Stop = results.StopExited
		case results.EventGuard:
			s.Stop = results.StopGuard
		case results.EventInterrupted:
			s.Stop = results.StopInterrupted
		}
		s.Diagnosis = fmt.Sprintf("No summary was written (%s): %s; figures are derived from its saved steps.", s.Stop, e.Msg)
		// The step in progress when the model stopped was not sustained.
		if samples := l.Samples(model); s.FailedOffered == 0 && len(samples) > 0 {
			s.FailedOffered = samples[len(samples)-1].Offered
		}
		break
	}
	return s, true
}
