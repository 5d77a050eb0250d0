package bench

import (
	"fmt"

	"c10klab/runner/internal/diagnose"
	"c10klab/runner/internal/results"
)

// summarize condenses a model's steps into its summary. It reads only what
// was recorded, so it gives the same answer when run again from the files.
func summarize(label string, instances int, steps []results.Step, reports []results.ServerReport,
	events []results.Event, cause stopCause, opt *Options, env results.Environment, modelCPUs int) results.Summary {
	s := results.Summary{Model: label, Instances: instances, Stop: cause.stop}
	// A step cut short by a crash, the guard or Ctrl-C measured a dying
	// model: its memory and CPU say nothing per connection, so it counts
	// for capacity only when no step ran its full hold.
	best := -1
	better := func(i int) bool {
		if best < 0 {
			return true
		}
		if steps[i].Cut != steps[best].Cut {
			return !steps[i].Cut
		}
		return steps[i].Sustained > steps[best].Sustained
	}
	for i, st := range steps {
		if st.Untrusted != "" && !st.OK {
			continue
		}
		if better(i) {
			best = i
		}
		s.PeakProcs = max(s.PeakProcs, st.Model.Procs)
		s.PeakThreads = max(s.PeakThreads, st.Model.Threads)
		if !st.OK && s.FailedOffered == 0 {
			s.FailedOffered = st.Offered
		}
		if st.Untrusted != "" {
			s.Untrusted = append(s.Untrusted, fmt.Sprintf("step %d (%d offered): %s", st.Index, st.Offered, st.Untrusted))
		}
	}
	if best >= 0 {
		b := steps[best]
		s.Capacity, s.CapacityOffered = b.Sustained, b.Offered
		s.Latency = b.Latency
		if b.Sustained > 0 {
			s.UserMemPerConn = float64(b.UserMem) / float64(b.Sustained)
			s.KernelMemPerConn = float64(b.KernelMem) / float64(b.Sustained)
		}
		if b.Echoes > 0 {
			s.CPUPer1kEchoes = (b.Model.CPUUser + b.Model.CPUSys) / float64(b.Echoes) * 1000
		}
	}
	d := diagnose.Diagnose(diagnose.Input{
		Model: label, Instances: instances, Steps: steps, Reports: reports, Events: events,
		Stop: cause.stop, StopDetail: cause.detail, Env: env, SustainRatio: opt.SustainRatio,
		ModelCPUs: modelCPUs, ModelNoFile: opt.ModelNoFile,
	})
	s.Diagnosis = d.Sentence
	s.Warnings = d.Warnings
	return s
}
