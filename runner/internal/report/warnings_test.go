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
					Index: 2, Offered: 40000, Echoes: 40000, Unstamped: tc.unstamped}}}},
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
	} {
		if got := capacityCell(c.s); got != c.want {
			t.Errorf("capacityCell(%+v) = %q, want %q", c.s, got, c.want)
		}
	}
}
