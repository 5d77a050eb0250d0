package analysis

import (
	"math"

	"c10klab/runner/internal/diagnose"
	"c10klab/runner/internal/results"
)

// Where runs of one model disagree by more than RunTolerance (issue 18),
// the comparison names the noise and its source from the records: what,
// outside the model, took its CPU or delayed it at the step that decided
// the outlying run's capacity, against the same model's other runs at
// comparable counts; or the search, when its budget stopped it at another
// place. The figures below come from the six saved default runs of
// 20261203 (163812, 165156, 170559, 172047, 195712, 202001: 882 steps),
// and in particular from the models whose runs agreed there (rust-tokio,
// netpoll, goroutine, gnet, py-twisted, py-forking, forked-reexec,
// py-threading: 314 steps), whose differences are the noise a run has
// anyway.

// noiseNear is how close, as a fraction of a step's count, the other runs'
// steps must be to compare with it: the search's resolution (10%).
const noiseNear = 0.10

// noiseOthersCPU is how many CPUs more than at comparable counts in the
// other runs the processes outside the model and c10klab must have taken
// of the model's CPUs to be named. Such processes (mostly kernel workers)
// are common: in the agreeing models' steps they took p75 0.29 and p90
// 0.58 CPU, and p90 0.55 CPU more than the other runs at comparable
// counts; half a CPU more is as much as one step in ten of runs that
// agree.
const noiseOthersCPU = 0.5

// noiseWaitRatio and noiseWaitCPU: the model's run delay (its threads
// runnable but not running) is named when it is at least twice its median
// at comparable counts in the other runs and at least a quarter of a CPU
// more (0.5 s in a 2 s window). Most of a model's run delay is its own
// (epoll's instances, pinned to one CPU, waited 5–13 s in every 2 s
// window above 30k in all six runs), so only the excess counts: in the
// agreeing models' steps the ratio to the other runs was p90 1.49, p95
// 1.93.
const (
	noiseWaitRatio = 2.0
	noiseWaitCPU   = 0.25
)

// noiseLagMs and noiseLagRatio: the swarm is named when it fell at least
// 200 ms behind its send schedule in the step (a fifth of the default 1 s
// deadline gone before the echo was sent; the agreeing models' steps had
// p99 183 ms) and at least twice its median at comparable counts (p95 of
// the ratio in the agreeing runs 2.55, p90 1.92). A step the swarm could
// not be trusted in is the swarm's whatever its lag.
const (
	noiseLagMs    = 200.0
	noiseLagRatio = 2.0
)

// noiseStall is the share of the window some task must have waited on
// memory for memory pressure to be named: the diagnosis's own (a tenth;
// no step of the six runs came near it: the most was 0.007 s).
const noiseStall = 0.1

// NoiseKind is a source of noise in a run's records.
type NoiseKind string

// The sources of noise a comparison names.
const (
	NoiseOthers NoiseKind = "other processes" // processes outside the model and c10klab took its CPUs
	NoiseWait   NoiseKind = "run delay"       // the model waited for a CPU far more than in the other runs
	NoiseSwarm  NoiseKind = "the swarm"       // the swarm fell behind its schedule, or could not be trusted
	NoiseMemory NoiseKind = "memory pressure" // tasks waited on memory (PSI)
	NoiseBudget NoiseKind = "budget"          // the search's budget stopped it: not the machine's noise but the search's
)

// NoiseRun is one run's records of a model, as the comparison reads them.
type NoiseRun struct {
	Summary   results.Summary
	Range     CapacityRange
	Steps     []results.Step // judged again, as the summary was
	ModelCPUs []int          // the CPUs the model was pinned to (nil: any)
}

// NoiseRunOf is model's records in the run l, with the summary and the
// capacity range the comparison already has for it.
func NoiseRunOf(l *results.Loaded, model string, s results.Summary, r CapacityRange) NoiseRun {
	m := Split(model, l.Timelines[model], l.Run.Config, true)
	return NoiseRun{Summary: s, Range: r, Steps: m.Steps, ModelCPUs: l.Run.Config.ModelCPUs}
}

// NoiseSource is one source of noise found in one run's records.
type NoiseSource struct {
	Kind NoiseKind
	Run  int     // the run whose records show it (index into the runs compared)
	At   int     // the offered count of the step that shows it
	Hold float64 // that step's evaluation window, seconds
	// Value is the step's figure: CPUs (others), seconds of run delay over
	// the window summed over threads (wait), worst lag in ms (the swarm),
	// seconds some task stalled on memory (memory); Usual is its median
	// at comparable counts in the other runs (scaled to this window), -1
	// when they had no step there. Both 0 for the budget.
	Value, Usual float64
	Named        []results.ProcCPU // other processes: who, CPUs each
	Detail       string            // the swarm's untrusted reason; the budget's search detail
}

// Noise is what the records say of one run that landed outside the
// tolerance of a model's median.
type Noise struct {
	Run int     // index into the runs compared
	Off float64 // its signed distance from the median, a fraction
	// At is the offered count of the step that decided its capacity: the
	// failing step, or the last one run when nothing above failed; 0 when
	// it ran none.
	At int
	// Sources are what the records show, in this run's records when it
	// landed under the median; when it landed over, in the records of the
	// runs under it (their failing steps, their search's end). None: no
	// source of noise is in the records: the model's own variation.
	Sources []NoiseSource
	// Examined is the runs whose records were read for Sources: this one
	// under the median, the runs under it over.
	Examined []int
}

// NoiseOf is what the records say of run k of runs (one model's), which
// landed outside RunTolerance of the median capacity. A run under the
// median is explained by its own records; a run over it by those of the
// runs under it that hold the median, within the tolerance (all the runs
// under it when none does): what held them back.
func NoiseOf(runs []NoiseRun, k int, median float64) Noise {
	n := Noise{Run: k}
	if median > 0 {
		n.Off = (float64(runs[k].Range.Lo) - median) / median
	}
	if st := decidingStep(runs[k]); st != nil {
		n.At = st.Offered
	}
	if n.Off < 0 {
		n.Sources, n.Examined = sourcesIn(runs, k), []int{k}
		return n
	}
	var under, held []int
	for j := range runs {
		if j == k || runs[j].Range.Lo >= runs[k].Range.Lo || runs[j].Steps == nil {
			continue
		}
		under = append(under, j)
		if median > 0 && math.Abs(float64(runs[j].Range.Lo)-median) <= RunTolerance*median {
			held = append(held, j)
		}
	}
	if len(held) > 0 {
		under = held
	}
	n.Examined = under
	for _, j := range under {
		n.Sources = append(n.Sources, sourcesIn(runs, j)...)
	}
	return n
}

// sourcesIn is the noise in run j's records at the end of its search:
// the budget that stopped it, then what differed at its deciding step
// from the other runs at comparable counts.
func sourcesIn(runs []NoiseRun, j int) []NoiseSource {
	r := runs[j]
	var out []NoiseSource
	if r.Summary.Search == results.SearchBudget {
		out = append(out, NoiseSource{Kind: NoiseBudget, Run: j, At: r.Summary.CapacityOffered, Detail: r.Summary.SearchDetail})
	}
	st := decidingStep(r)
	if st == nil {
		return out
	}
	for _, s := range stepNoise(*st, comparable(runs, j, st.Offered), r.ModelCPUs) {
		s.Run = j
		out = append(out, s)
	}
	return out
}

// decidingStep is the step that decided a run's capacity: the trusted
// step that failed at the top of its bracket (the last such, the one the
// bracket names), or, with the bracket open, the highest count it ran.
func decidingStep(r NoiseRun) *results.Step {
	var top *results.Step
	for i := range r.Steps {
		st := &r.Steps[i]
		if r.Range.Hi > 0 {
			if st.Offered == r.Range.Hi && !st.OK && st.Untrusted == "" {
				top = st
			}
			continue
		}
		if top == nil || st.Offered >= top.Offered {
			top = st
		}
	}
	return top
}

// comparable is the other runs' steps within noiseNear of at.
func comparable(runs []NoiseRun, j, at int) []results.Step {
	var out []results.Step
	for i, r := range runs {
		if i == j {
			continue
		}
		for _, st := range r.Steps {
			if st.HoldSeconds > 0 && math.Abs(float64(st.Offered-at)) <= noiseNear*float64(at) {
				out = append(out, st)
			}
		}
	}
	return out
}

// stepNoise is what in st, outside the model, exceeds the comparable
// steps by the thresholds above.
func stepNoise(st results.Step, comp []results.Step, cpus []int) []NoiseSource {
	h := st.HoldSeconds
	if h <= 0 {
		return nil
	}
	// Each figure per second of window, so that windows of different
	// lengths compare.
	usual := func(f func(results.Step) (float64, bool)) float64 {
		var vs []float64
		for _, c := range comp {
			if v, ok := f(c); ok {
				vs = append(vs, v)
			}
		}
		if len(vs) == 0 {
			return -1
		}
		return SpreadOf(vs).Median
	}
	base := NoiseSource{At: st.Offered, Hold: h}
	var out []NoiseSource

	others := func(s results.Step) (float64, bool) {
		v, _ := diagnose.OthersOn(s.Others, cpus, s.HoldSeconds)
		return v, true
	}
	if v, named := diagnose.OthersOn(st.Others, cpus, h); v >= max(usual(others), 0)+noiseOthersCPU {
		s := base
		s.Kind, s.Value, s.Usual, s.Named = NoiseOthers, v, usual(others), named
		out = append(out, s)
	}

	wait := func(s results.Step) (float64, bool) { return s.ModelWait / s.HoldSeconds, s.ModelWait >= 0 }
	if u := usual(wait); st.ModelWait > 0 && u >= 0 {
		if w := st.ModelWait / h; w >= noiseWaitRatio*u && w-u >= noiseWaitCPU {
			s := base
			s.Kind, s.Value, s.Usual = NoiseWait, st.ModelWait, u*h
			out = append(out, s)
		}
	}

	lag := func(s results.Step) (float64, bool) { return s.LagMaxMs, true }
	if u := usual(lag); st.Untrusted != "" || (st.LagMaxMs >= noiseLagMs && (u < 0 || st.LagMaxMs >= noiseLagRatio*u)) {
		s := base
		s.Kind, s.Value, s.Usual, s.Detail = NoiseSwarm, st.LagMaxMs, u, st.Untrusted
		out = append(out, s)
	}

	stall := func(s results.Step) (float64, bool) { return s.MemStall / s.HoldSeconds, true }
	if st.MemStall >= noiseStall*h {
		s := base
		s.Kind, s.Value, s.Usual = NoiseMemory, st.MemStall, usual(stall)
		if s.Usual > 0 {
			s.Usual *= h
		}
		out = append(out, s)
	}
	return out
}
