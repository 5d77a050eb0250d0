package analysis

import (
	"math"
	"testing"

	"c10klab/runner/internal/results"
)

// step is a step of a 2 s window at offered, sustained or not, with the
// figures a quiet machine shows: no other process, the model waiting
// 0.4 s, the swarm 30 ms behind.
func noiseStep(offered int, ok bool) results.Step {
	st := results.Step{Offered: offered, OK: ok}
	st.HoldSeconds, st.ModelWait, st.LagMaxMs = 2, 0.4, 30
	return st
}

// bracketed is a run that sustained lo and failed hi, its failing step
// changed by edit.
func bracketed(lo, hi int, edit func(*results.Step)) NoiseRun {
	fail := noiseStep(hi, false)
	if edit != nil {
		edit(&fail)
	}
	return NoiseRun{
		Summary:   results.Summary{Capacity: lo, CapacityOffered: lo, BracketFailed: hi, Search: results.SearchBracketed},
		Range:     CapacityRange{Lo: lo, Hi: hi},
		Steps:     []results.Step{noiseStep(lo/2, true), noiseStep(lo, true), fail},
		ModelCPUs: []int{0},
	}
}

func TestNoiseOfUnderTheMedian(t *testing.T) {
	// Two runs that agree at 30k (sustained 30k, 31.5k steps quiet), and
	// the run under test, which failed at 22k: its failing step is edited
	// per case. The others' steps at 22k–24k are the comparison.
	agree := func() []NoiseRun {
		a := bracketed(30000, 33000, nil)
		a.Steps = append(a.Steps, noiseStep(22500, true))
		b := bracketed(31000, 34000, nil)
		b.Steps = append(b.Steps, noiseStep(21500, true))
		return []NoiseRun{a, b}
	}
	for _, tc := range []struct {
		name string
		run  NoiseRun
		want []NoiseKind
		// value and usual of the first source, when one is wanted.
		value, usual float64
	}{
		{"quiet: the model's own variation", bracketed(20000, 22000, nil), nil, 0, 0},
		{"other processes on the model's CPU", bracketed(20000, 22000, func(s *results.Step) {
			s.Others = []results.ProcCPU{{PID: 7, Comm: "kworker/u4:2", CPU: 1.2}, {PID: 8, Comm: "cron", CPU: 0.2}}
		}), []NoiseKind{NoiseOthers}, 0.7, 0},
		{"a worker bound to another CPU is not on the model's", bracketed(20000, 22000, func(s *results.Step) {
			s.Others = []results.ProcCPU{{PID: 7, Comm: "kworker/1:0-events", CPU: 1.8}}
		}), nil, 0, 0},
		{"the runner's own CPU is no excuse", bracketed(20000, 22000, func(s *results.Step) {
			s.Others = []results.ProcCPU{{PID: 1, Comm: "c10klab" + results.RunnerMark, CPU: 1.8}}
		}), nil, 0, 0},
		{"other processes under the threshold", bracketed(20000, 22000, func(s *results.Step) {
			s.Others = []results.ProcCPU{{PID: 7, Comm: "kworker/u4:2", CPU: 0.8}}
		}), nil, 0, 0},
		{"the model waited for a CPU", bracketed(20000, 22000, func(s *results.Step) { s.ModelWait = 2.6 }),
			[]NoiseKind{NoiseWait}, 2.6, 0.4},
		{"a wait under twice the usual", bracketed(20000, 22000, func(s *results.Step) { s.ModelWait = 0.7 }), nil, 0, 0},
		{"the swarm fell behind", bracketed(20000, 22000, func(s *results.Step) { s.LagMaxMs = 420 }),
			[]NoiseKind{NoiseSwarm}, 420, 30},
		{"a lag under 200 ms", bracketed(20000, 22000, func(s *results.Step) { s.LagMaxMs = 150 }), nil, 0, 0},
		{"memory pressure", bracketed(20000, 22000, func(s *results.Step) { s.MemStall = 0.5 }),
			[]NoiseKind{NoiseMemory}, 0.5, 0},
		{"two sources at once", bracketed(20000, 22000, func(s *results.Step) {
			s.Others = []results.ProcCPU{{PID: 7, Comm: "backup", CPU: 1.4}}
			s.ModelWait = 3
		}), []NoiseKind{NoiseOthers, NoiseWait}, 0.7, 0},
		{"the budget ran out with the bracket open", NoiseRun{
			Summary: results.Summary{Capacity: 20000, CapacityOffered: 20000, Search: results.SearchBudget, SearchDetail: "35s of the 40s budget spent"},
			Range:   CapacityRange{Lo: 20000},
			Steps:   []results.Step{noiseStep(10000, true), noiseStep(20000, true)},
		}, []NoiseKind{NoiseBudget}, 0, 0},
		{"the swarm could not be trusted at the last step", NoiseRun{
			Summary: results.Summary{Capacity: 20000, CapacityOffered: 20000, Search: results.SearchSwarm},
			Range:   CapacityRange{Lo: 20000},
			Steps: []results.Step{noiseStep(20000, true), func() results.Step {
				s := noiseStep(22000, false)
				s.Untrusted = "the swarm's CPUs were saturated"
				return s
			}()},
		}, []NoiseKind{NoiseSwarm}, 30, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs := append(agree(), tc.run)
			n := NoiseOf(runs, 2, 30000)
			if math.Abs(n.Off-(float64(tc.run.Range.Lo)-30000)/30000) > 1e-9 || n.Off >= 0 {
				t.Errorf("Off = %v, want under the median", n.Off)
			}
			if len(n.Examined) != 1 || n.Examined[0] != 2 {
				t.Errorf("Examined = %v, want [2]: its own records", n.Examined)
			}
			var got []NoiseKind
			for _, s := range n.Sources {
				got = append(got, s.Kind)
				if s.Run != 2 {
					t.Errorf("%s found in run %d, want 2", s.Kind, s.Run)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("sources %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("sources %v, want %v", got, tc.want)
				}
			}
			if len(got) == 0 || got[0] == NoiseBudget || tc.want[0] == NoiseSwarm && tc.run.Range.Hi == 0 {
				return
			}
			s := n.Sources[0]
			if math.Abs(s.Value-tc.value) > 1e-9 || math.Abs(s.Usual-tc.usual) > 1e-9 {
				t.Errorf("%s: value %v usual %v, want %v and %v", s.Kind, s.Value, s.Usual, tc.value, tc.usual)
			}
			if s.At != 22000 || s.Hold != 2 {
				t.Errorf("at %d, window %v s; want the failing step, 22000 in 2 s", s.At, s.Hold)
			}
		})
	}
}

// TestNoiseOfOthersNamed: the processes named are those counted, each in
// CPUs (its seconds over the window), the runner's entry left out.
func TestNoiseOfOthersNamed(t *testing.T) {
	run := bracketed(20000, 22000, func(s *results.Step) {
		s.Others = []results.ProcCPU{{PID: 7, Comm: "kworker/u4:2", CPU: 1.0}, {PID: 1, Comm: "c10klab" + results.RunnerMark, CPU: 0.4}, {PID: 9, Comm: "kworker/0:1", CPU: 0.2}}
	})
	n := NoiseOf([]NoiseRun{bracketed(30000, 33000, nil), bracketed(31000, 34000, nil), run}, 2, 30000)
	if len(n.Sources) != 1 || n.Sources[0].Kind != NoiseOthers {
		t.Fatalf("sources %+v, want other processes", n.Sources)
	}
	s := n.Sources[0]
	if math.Abs(s.Value-0.6) > 1e-9 || s.Usual != -1 {
		t.Errorf("value %v usual %v, want 0.6 CPU and -1 (no comparable step)", s.Value, s.Usual)
	}
	if len(s.Named) != 2 || s.Named[0].Comm != "kworker/u4:2" || s.Named[0].CPU != 0.5 || s.Named[1].Comm != "kworker/0:1" {
		t.Errorf("named %+v, want kworker/u4:2 0.5 and kworker/0:1 0.1", s.Named)
	}
}

// TestNoiseOfOverTheMedian: a run over the median is explained by the
// runs under it that hold the median: here one stopped on its budget and
// one failed with another process on the model's CPU; the run far under
// the median is not read.
func TestNoiseOfOverTheMedian(t *testing.T) {
	budget := NoiseRun{
		Summary: results.Summary{Capacity: 30000, CapacityOffered: 30000, Search: results.SearchBudget},
		Range:   CapacityRange{Lo: 30000},
		Steps:   []results.Step{noiseStep(30000, true)},
	}
	noisy := bracketed(31000, 34000, func(s *results.Step) {
		s.Others = []results.ProcCPU{{PID: 7, Comm: "backup", CPU: 2}}
	})
	far := bracketed(10000, 11000, func(s *results.Step) { s.LagMaxMs = 900 })
	high := bracketed(40000, 44000, nil)
	runs := []NoiseRun{budget, noisy, far, high}
	n := NoiseOf(runs, 3, 30500)
	if n.Off <= RunTolerance {
		t.Errorf("Off = %v, want over the tolerance", n.Off)
	}
	if len(n.Examined) != 2 || n.Examined[0] != 0 || n.Examined[1] != 1 {
		t.Errorf("Examined = %v, want the runs holding the median [0 1]", n.Examined)
	}
	if len(n.Sources) != 2 || n.Sources[0].Kind != NoiseBudget || n.Sources[0].Run != 0 ||
		n.Sources[1].Kind != NoiseOthers || n.Sources[1].Run != 1 || n.Sources[1].At != 34000 {
		t.Errorf("sources %+v, want run 0's budget and run 1's other processes at 34000", n.Sources)
	}
	if n.At != 44000 {
		t.Errorf("At = %d, want its own failing step 44000", n.At)
	}
}
