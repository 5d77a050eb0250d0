package report

import (
	"strings"
	"testing"

	"c10klab/runner/internal/results"
)

func TestWarningsNameUnstampedEchoes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		unstamped int64
		want      string // "" for no warning
	}{
		{"all stamped", 0, ""},
		{"a few while timestamping switched on", 5, ""},
		{"1.5% timed when read", 600, "m: step 2 (40k offered): 600 of 40k echoes were timed when read, not on arrival"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &results.Loaded{
				Run: results.Run{Models: []string{"m"}},
				Timelines: map[string][]results.Record{"m": {{Type: "step", Step: &results.Step{
					StepCost: results.StepCost{Echoes: 40000, Unstamped: tc.unstamped},
					Index:    2,
					Offered:  40000,
				}}}},
			}
			got := strings.Join(collectWarnings(l, nil), "\n")
			switch {
			case tc.want == "" && got != "":
				t.Errorf("warnings %q, want none", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("warnings %q, want one containing %q", got, tc.want)
			}
		})
	}
}

func TestCapacityCellSaysWhatWasMeasured(t *testing.T) {
	for _, c := range []struct {
		s    results.Summary
		want string
	}{
		{results.Summary{Capacity: 40000}, "40k"},
		{results.Summary{Capacity: 1000000, AtLeast: true}, "≥ 1M"},
		{results.Summary{AtLeast: true}, "— (the swarm's limit)"},
		{results.Summary{FailedOffered: 1000000, Stop: results.StopNotSustained}, "< 1M"},
		{results.Summary{Stop: results.StopRefused}, "—"},
		// Interrupted before its first step: never measured, not 0.
		{results.Summary{Stop: results.StopInterrupted}, "—"},
		// The capacity search's bracket, and what stopped an open one.
		{results.Summary{Capacity: 27500, BracketFailed: 30000, Search: results.SearchBracketed, Stop: results.StopNotSustained}, "27.5k sustained, 30k failed"},
		{results.Summary{Capacity: 1300, BracketFailed: 1380, Search: results.SearchBracketed}, "1.3k sustained, 1.38k failed"},
		{results.Summary{Capacity: 40000, Search: results.SearchSwarm, AtLeast: true, Stop: results.StopSwarm}, "≥ 40k (the swarm's limit)"},
		{results.Summary{Capacity: 80000, Search: results.SearchBudget, Stop: results.StopTarget}, "≥ 80k (budget spent)"},
		{results.Summary{Capacity: 128000, Search: results.SearchCeiling, Stop: results.StopTarget}, "≥ 128k (the run's ceiling)"},
		{results.Summary{Capacity: 28000, Search: results.SearchMachine, Stop: results.StopTarget}, "≥ 28k (the machine's limit)"},
		{results.Summary{Capacity: 16000, BracketFailed: 64000, Search: results.SearchBudget, Stop: results.StopNotSustained}, "16k sustained, 64k failed (budget spent)"},
		{results.Summary{BracketFailed: 1, Search: results.SearchBracketed, Stop: results.StopNotSustained}, "< 1"},
		{results.Summary{Stop: results.StopInterrupted, Search: results.SearchEnded}, "—"},
		// A folder from before the search: the grid's capacity as it was.
		{results.Summary{Capacity: 20000, FailedOffered: 40000, Stop: results.StopNotSustained}, "20k"},
	} {
		if got := CapacityCell(c.s); got != c.want {
			t.Errorf("CapacityCell(%+v) = %q, want %q", c.s, got, c.want)
		}
	}
}
