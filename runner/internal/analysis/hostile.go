package analysis

import (
	"fmt"

	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// A model's memory grows without bound under a hostile kind when, over
// the step's window, its PSS grows by at least memGrowthLimit, and by at
// least perHostileGrowth for each hostile connection, while its tasks and
// descriptors hold still: a model still taking on the hostile connections
// (a process or a thread each) grows for that reason, and is settling, not
// leaking. A MiB a second is a GiB in under twenty minutes; a non-reader's
// bursts come at 64 KiB a second.
const (
	memGrowthLimit   = 1 << 20
	perHostileGrowth = 4 << 10
)

// HostileEffects compares each hostile step of a model with the baseline
// step before them: the last without hostiles, at the same offer.
func HostileEffects(m Model, stop results.Stop, cfg results.Config) []results.HostileEffect {
	var base *results.Step
	var out []results.HostileEffect
	for i := range m.Steps {
		st := &m.Steps[i]
		if st.Hostile == nil {
			if st.Window {
				base = st
			}
			continue
		}
		growth, still := memGrowth(*st, m.Samples, st.Hostile.Offered)
		e := results.HostileEffect{Kind: st.Hostile.Kind, Offered: st.Offered, Hostile: st.Hostile.Offered,
			Sustained: st.Sustained, Latency: st.Latency, MemGrowth: growth}
		if base != nil {
			e.Baseline, e.BaselineP99 = base.Sustained, base.Latency.P99
		}
		switch {
		case !Trusted(*st):
			e.Untrusted = st.Untrusted
		case st.Cut && (stop == results.StopExited || stop == results.StopGuard):
			e.Failed = "the model died: " + string(stop)
		case still && e.MemGrowth >= max(memGrowthLimit, perHostileGrowth*float64(e.Hostile)):
			e.Failed = fmt.Sprintf("its memory grew without bound (%s/s over the window, its tasks and descriptors steady)", units.Bytes(e.MemGrowth))
		case !st.Cut && float64(st.Sustained) < cfg.SustainRatio*float64(st.Offered):
			e.Failed = fmt.Sprintf("well-behaved connections sustained fell to %.0f%%", 100*float64(st.Sustained)/float64(max(st.Offered, 1)))
		}
		out = append(out, e)
	}
	return out
}

// memGrowth is the model's user memory growth (results.Proc.UserMemory)
// over the step's window, bytes/s, and whether its tasks and descriptors
// (when read each second: not through the cgroups) held still meanwhile (within 2% of the
// hostile connections, or 10).
func memGrowth(st results.Step, samples []results.Sample, hostile int) (float64, bool) {
	var first, last *results.Sample
	for i := range samples {
		s := &samples[i]
		if s.Step != st.Index || st.WindowStart.IsZero() || s.Time.Before(st.WindowStart) {
			continue
		}
		if first == nil {
			first = s
		}
		last = s
	}
	if first == nil || last == first {
		return 0, false
	}
	slack := max(10, hostile/50)
	moved := func(a, b int) bool { return a-b > slack || b-a > slack }
	still := !moved(first.Model.Threads, last.Model.Threads) && !moved(first.Model.Procs, last.Model.Procs) && !moved(first.Model.FDs, last.Model.FDs)
	return float64(last.Model.UserMemory()-first.Model.UserMemory()) / last.Time.Sub(first.Time).Seconds(), still
}
