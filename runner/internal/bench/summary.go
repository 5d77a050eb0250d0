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
	// Capacity is the most connections sustained at any step's end, a
	// step cut short by a crash, the guard or Ctrl-C included: those
	// connections were served. The costs per connection and the latency
	// come from the best step that ran its full hold, since a cut step
	// measured a dying model over a partial hold.
	capStep, costStep := -1, -1
	for i, st := range steps {
		if st.Untrusted != "" && !st.OK {
			continue
		}
		if capStep < 0 || st.Sustained > steps[capStep].Sustained {
			capStep = i
		}
		if !st.Cut && (costStep < 0 || st.Sustained > steps[costStep].Sustained) {
			costStep = i
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
	if capStep >= 0 {
		s.Capacity, s.CapacityOffered = steps[capStep].Sustained, steps[capStep].Offered
	}
	if costStep < 0 {
		costStep = capStep
	}
	if costStep >= 0 {
		b := steps[costStep]
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
