package analysis

import (
	"fmt"

	"c10klab/runner/internal/results"
)

// memGrowthLimit is the PSS growth, over a hostile step's window, that
// names a model as growing without bound: a MiB a second is a GiB in
// under twenty minutes.
const memGrowthLimit = 1 << 20

// HostileEffects compares each hostile step of a model with the baseline
// step before them: the last without hostiles, at the same offer.
func HostileEffects(m Model, stop string, cfg results.Config) []results.HostileEffect {
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
		e := results.HostileEffect{Kind: st.Hostile.Kind, Offered: st.Offered, Hostile: st.Hostile.Offered,
			Sustained: st.Sustained, Latency: st.Latency, MemGrowth: memGrowth(*st, m.Samples)}
		if base != nil {
			e.Baseline, e.BaselineP99 = base.Sustained, base.Latency.P99
		}
		switch {
		case !Trusted(*st):
			e.Untrusted = st.Untrusted
		case st.Cut && (stop == results.StopExited || stop == results.StopGuard):
			e.Failed = "the model died: " + stop
		case e.MemGrowth >= memGrowthLimit:
			e.Failed = fmt.Sprintf("its memory grew without bound (%s/s over the window)", Bytes(e.MemGrowth))
		case !st.Cut && float64(st.Sustained) < cfg.SustainRatio*float64(st.Offered):
			e.Failed = fmt.Sprintf("well-behaved connections sustained fell to %.0f%%", 100*float64(st.Sustained)/float64(max(st.Offered, 1)))
		}
		out = append(out, e)
	}
	return out
}

// memGrowth is the model's PSS growth over the step's window, bytes/s.
func memGrowth(st results.Step, samples []results.Sample) float64 {
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
		return 0
	}
	return float64(last.Model.PSS-first.Model.PSS) / last.Time.Sub(first.Time).Seconds()
}
