package analysis

import (
	"fmt"
	"slices"
	"time"

	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// Judge gives a step its verdict from its own figures and the run's
// settings: OK, or Why not; and whether it measured the model at all or
// the swarm (Untrusted). The step controller calls it to decide whether to
// go on, and the analysis of a saved folder calls it again, so a verdict
// can always be recomputed from the files.
//
// A step is OK only when it ran its whole evaluation window, enough
// connections were sustained through it, and the window's p99 is within
// the deadline: no step is sustained whose own latency says otherwise.
//
// Only a failure can be the swarm's doing: a swarm behind its schedule, out
// of descriptors or short of CPU makes echoes look later and connections
// fewer, never the other way round. So a sustained step stands whatever
// the swarm went through, and a failed one is untrusted when the swarm
// could have caused it.
func Judge(st *results.Step, cfg results.Config) {
	deadlineMs := float64(cfg.Deadline) / float64(time.Millisecond)
	switch {
	case st.Cut:
		st.Why = results.WhyCut
	case !st.Window:
		st.Why = results.WhyNoWindow
	case st.Latency.Count == 0:
		st.Why = results.WhyNoEcho
	case float64(st.Sustained) < cfg.SustainRatio*float64(st.Offered):
		st.Why = results.WhyTooFew
	case cfg.Deadline > 0 && st.Latency.P99 > deadlineMs:
		st.Why = results.WhyLatency
	default:
		st.Why = ""
	}
	st.OK = st.Why == ""
	switch {
	case st.OK:
		st.UntrustedBy, st.Untrusted = "", ""
	case st.Untrusted == "": // an agent that died says so itself
		st.UntrustedBy, st.Untrusted = untrusted(st, cfg)
	}
}

// Trusted reports whether a step measured the model: the swarm kept its
// schedule, had its own resources and CPU to spare.
func Trusted(st results.Step) bool { return st.Untrusted == "" }

// untrusted says why a step measured the swarm rather than the model.
func untrusted(st *results.Step, cfg results.Config) (mech results.Mechanism, why string) {
	if len(st.ClientFailures) > 0 {
		return results.MechSwarm, fmt.Sprintf("the swarm ran out of its own resources: %s", units.Tally(st.ClientFailures))
	}
	// A lag of half the deadline turns an echo the server returned in half
	// the deadline into a miss: past that, a miss may be the swarm's. But a
	// late swarm still sends every message, late, and gets it back: when
	// most echoes due in the window never came, the silence is the model's.
	// Nor can a lag of L make an echo more than L late: a p99 past the
	// deadline by more than the lag is the model's (goroutine at 1M: p99
	// 20.6 s, the swarm 0.9 s behind).
	lag := time.Duration(st.LagMaxMs * float64(time.Millisecond))
	modelLate := st.Latency.Count > 0 && time.Duration(st.Latency.P99*float64(time.Millisecond)) > cfg.Deadline+lag
	if cfg.Deadline > 0 && lag > cfg.Deadline/2 && !modelLate &&
		(!st.Window || float64(st.Echoes) >= 0.5*results.DueEchoes(st, cfg.Interval) || lag.Seconds() >= st.HoldSeconds/2) {
		return results.MechSwarmLag, fmt.Sprintf("the swarm fell %v behind its send schedule", lag.Round(time.Millisecond))
	}
	// The agents hold back their ramps while behind on their own sends:
	// a step whose offer they never tried in full is the swarm's, whatever
	// its window (a connection the model refused or dropped was tried).
	if st.RampPauses > 0 && float64(st.Unattempted) > (1-cfg.SustainRatio)*float64(st.Offered) {
		return results.MechSwarmCPU, fmt.Sprintf("the swarm never tried %d of %d connections: its agents held their ramps back %d ticks, behind on their own sends", st.Unattempted, st.Offered, st.RampPauses)
	}
	if st.HoldSeconds > 0 {
		busy := st.AgentsCPU / st.HoldSeconds
		modelBusy := st.Model.CPU() / st.HoldSeconds
		if share := SwarmShare(cfg.SwarmCPUs, cfg.ModelCPUs, modelBusy); share > 0 && busy > 0.9*share {
			return results.MechSwarmCPU, fmt.Sprintf("the swarm's CPUs were saturated (its agents used %.2f of the %.2f CPUs the model left them)", busy, share)
		}
	}
	return "", ""
}

// SwarmShare is how many CPUs the swarm had to itself during a step: its
// CPUs, less the model's use of those it shares with the model (an unpinned
// model shares them all). 0 when the swarm is unpinned: not known.
func SwarmShare(swarm, model []int, modelBusy float64) float64 {
	if len(swarm) == 0 {
		return 0
	}
	shared := 0
	for _, c := range swarm {
		if len(model) == 0 || slices.Contains(model, c) {
			shared++
		}
	}
	return float64(len(swarm)) - min(modelBusy, float64(shared))
}
