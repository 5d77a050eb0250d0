package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
)

func TestCapacityRange(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     results.Summary
		cell  string // CapacityCell, which the range must say the same as
		want  analysis.CapacityRange
		known bool
	}{
		{"bracketed", results.Summary{Capacity: 27500, BracketFailed: 30000, FailedOffered: 30000, Search: results.SearchBracketed},
			"27.5k sustained, 30k failed", analysis.CapacityRange{Lo: 27500, Hi: 30000}, true},
		{"the swarm's limit", results.Summary{Capacity: 48000, Search: results.SearchSwarm},
			"≥ 48k (the swarm's limit)", analysis.CapacityRange{Lo: 48000}, true},
		{"nothing sustained", results.Summary{BracketFailed: 1000, FailedOffered: 1000, Search: results.SearchBracketed},
			"< 1k", analysis.CapacityRange{Hi: 1000}, true},
		{"an older folder: its steps bracket it", results.Summary{Capacity: 3980, FailedOffered: 8000},
			"3.98k", analysis.CapacityRange{Lo: 3980, Hi: 8000}, true},
		{"an older folder, the swarm's limit", results.Summary{Capacity: 3980, FailedOffered: 8000, AtLeast: true},
			"≥ 3.98k", analysis.CapacityRange{Lo: 3980}, true},
		{"interrupted before its first step", results.Summary{Stop: results.StopInterrupted, Search: results.SearchEnded},
			"—", analysis.CapacityRange{}, false},
		{"refused", results.Summary{Stop: results.StopRefused}, "—", analysis.CapacityRange{}, false},
		{"no step trusted", results.Summary{AtLeast: true}, "— (the swarm's limit)", analysis.CapacityRange{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CapacityCell(tc.s); got != tc.cell {
				t.Errorf("CapacityCell = %q, want %q", got, tc.cell)
			}
			got, known := capacityRange(tc.s)
			if got != tc.want || known != tc.known {
				t.Errorf("capacityRange = %v, %v; want %v, %v", got, known, tc.want, tc.known)
			}
		})
	}
}

// runOf is an in-memory run of the given summaries, stored as written.
func runOf(id string, took time.Duration, sums ...results.Summary) *results.Loaded {
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	l := &results.Loaded{Run: results.Run{ID: id, Started: start, Finished: start.Add(took)},
		Timelines: map[string][]results.Record{}, Summaries: map[string]results.Summary{}}
	if took == 0 {
		l.Run.Finished = time.Time{}
	}
	for _, s := range sums {
		l.Run.Models = append(l.Run.Models, s.Model)
		l.Summaries[s.Model] = s
	}
	return l
}

func bracket(model string, sustained, failed int) results.Summary {
	return results.Summary{Model: model, Capacity: sustained, BracketFailed: failed, FailedOffered: failed, Search: results.SearchBracketed}
}

// TestCompareRunsVerdicts checks each model's row: the median, the spread
// and the verdict, and that a model not measured reads "—", never 0.
func TestCompareRunsVerdicts(t *testing.T) {
	never := results.Summary{Model: "py-gevent", Stop: results.StopInterrupted, Search: results.SearchEnded}
	runs := []*results.Loaded{
		runOf("A", 14*time.Minute, bracket("forked", 20000, 22000), bracket("goroutine", 27500, 30000), bracket("py-gevent", 16000, 17600)),
		runOf("B", 13*time.Minute+41*time.Second, bracket("forked", 10000, 11000), bracket("goroutine", 30000, 33000), bracket("py-gevent", 16500, 18000)),
		runOf("C", 0, bracket("forked", 19000, 21000), bracket("goroutine", 26000, 28600), never),
	}
	var out bytes.Buffer
	if err := CompareRuns(&out, runs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| model | A | B | C | median | spread | verdict |",
		"| goroutine | 27.5k sustained, 30k failed | 30k sustained, 33k failed | 26k sustained, 28.6k failed | 27.5k | 9% | within ±15% |",
		"| forked | 20k sustained, 22k failed | 10k sustained, 11k failed | 19k sustained, 21k failed | 19k | 47% | **outside ±15%**: B -47% |",
		"| py-gevent | 16k sustained, 17.6k failed | 16.5k sustained, 18k failed | — | 16.2k | 2% | ~ |",
		"| **run took** | 14m0s | 13m41s | — (did not finish) |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
	// Rows go by median capacity, most first.
	if g, f := strings.Index(out.String(), "| goroutine"), strings.Index(out.String(), "| forked"); g > f {
		t.Errorf("goroutine (median 27.5k) after forked (19k):\n%s", out.String())
	}
	if strings.Contains(out.String(), "| 0 |") || strings.Contains(out.String(), "NaN") {
		t.Errorf("a figure that was never measured:\n%s", out.String())
	}
}

func TestCompareRunsMedianBounds(t *testing.T) {
	for _, tc := range []struct {
		name            string
		sums            []results.Summary
		median, verdict string
	}{
		{"all open above: the median is a lower bound",
			[]results.Summary{{Model: "m", Capacity: 47900, Search: results.SearchSwarm}, {Model: "m", Capacity: 48000, Search: results.SearchSwarm}},
			"≥ 48k", "~"},
		{"nothing sustained in most runs: the bound, not 0",
			[]results.Summary{bracket("m", 0, 1000), bracket("m", 4000, 4400), bracket("m", 0, 1000)},
			"< 1k", "**outside ±15%**: 2 4k sustained, 4.4k failed"},
		{"measured in one run only",
			[]results.Summary{{Model: "m", Stop: results.StopRefused}, bracket("m", 40, 44)},
			"40", "—"},
		{"never measured",
			[]results.Summary{{Model: "m", Stop: results.StopRefused}, {Model: "m", Stop: results.StopRefused}},
			"—", "—"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var runs []*results.Loaded
			for i, s := range tc.sums {
				runs = append(runs, runOf(string(rune('1'+i)), time.Minute, s))
			}
			a := modelsAcross(runs)[0]
			if got := mdCell(medianCell(a)); got != tc.median {
				t.Errorf("median %q, want %q", got, tc.median)
			}
			if got := mdCell(verdictCell(a, runs)); got != tc.verdict {
				t.Errorf("verdict %q, want %q", got, tc.verdict)
			}
		})
	}
}

// TestCompareRunsMarksDerived: a model whose summary is missing (it
// crashed) is derived from its steps, and the table says so.
func TestCompareRunsMarksDerived(t *testing.T) {
	l := mustLoad(t, runSmall)
	var out bytes.Buffer
	if err := CompareRuns(&out, []*results.Loaded{l, l, l}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| threaded | 1k \\* | 1k \\* | 1k \\* | 1k |", "\\* no summary", "| **run took** | 55s | 55s | 55s |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
}
