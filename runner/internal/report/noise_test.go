package report

import (
	"strings"
	"testing"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
)

// TestSourceWords checks each source's sentence carries its figures and
// the other runs' at comparable counts, or says they had none.
func TestSourceWords(t *testing.T) {
	for _, tc := range []struct {
		name   string
		s      analysis.NoiseSource
		pinned bool
		want   string
	}{
		{"other processes, pinned", analysis.NoiseSource{Kind: analysis.NoiseOthers, Value: 0.41, Usual: 0.05,
			Named: []results.ProcCPU{{Comm: "kworker/u4:2", CPU: 0.22}, {Comm: "cron", CPU: 0.19}}}, true,
			"other processes took 0.41 CPU of the model's CPUs (kworker/u4:2 0.22, cron 0.19) (0.05 at comparable counts in the other runs)"},
		{"other processes, unpinned, no comparable step", analysis.NoiseSource{Kind: analysis.NoiseOthers, Value: 0.6, Usual: -1,
			Named: []results.ProcCPU{{Comm: "backup", CPU: 0.6}}}, false,
			"other processes took 0.60 CPU of the machine's CPUs (backup 0.60) (the other runs had no step within 10% of it)"},
		{"run delay", analysis.NoiseSource{Kind: analysis.NoiseWait, Value: 1.3, Usual: 0.4, Hold: 2}, true,
			"the model's threads waited 1.3 s for a CPU in its 2.0 s window (0.4 s at comparable counts in the other runs)"},
		{"the swarm's lag", analysis.NoiseSource{Kind: analysis.NoiseSwarm, Value: 215, Usual: 58}, true,
			"the swarm fell 215 ms behind its send schedule (58 ms at comparable counts in the other runs)"},
		{"the swarm untrusted", analysis.NoiseSource{Kind: analysis.NoiseSwarm, Value: 90, Detail: "the swarm's CPUs were saturated"}, true,
			"the swarm could not be trusted: the swarm's CPUs were saturated"},
		{"memory", analysis.NoiseSource{Kind: analysis.NoiseMemory, Value: 0.5, Usual: 0, Hold: 2}, true,
			"tasks waited 0.5 s on memory in its 2.0 s window (0.0 s at comparable counts in the other runs)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sourceWords(tc.s, tc.pinned); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestBudgetWords(t *testing.T) {
	open := analysis.NoiseRun{Summary: results.Summary{Capacity: 16000, Search: results.SearchBudget}, Range: analysis.CapacityRange{Lo: 16000}}
	if got, want := budgetWords(open), "the search's budget ran out at 16k with the bracket still open (≥ 16k, budget spent): not the machine's noise but the search's"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	wide := analysis.NoiseRun{Summary: results.Summary{Capacity: 23400, BracketFailed: 27000, Search: results.SearchBudget}, Range: analysis.CapacityRange{Lo: 23400, Hi: 27000}}
	if got := budgetWords(wide); !strings.Contains(got, "still wider than 10% (23.4k sustained, 27k failed, budget spent)") {
		t.Errorf("got %q", got)
	}
}
