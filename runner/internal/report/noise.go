package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// noiseLines is, for each model whose runs disagree beyond the tolerance
// (the verdict "outside ±15%"), one line per outlying run naming the noise
// and its source from the records (analysis.NoiseOf), or saying that the
// records show none; nil when every model's runs agree.
func noiseLines(models []acrossRuns, runs []*results.Loaded) []string {
	var out []string
	for _, a := range models {
		ranges := knownRanges(a)
		if len(ranges) < 2 || analysis.AllOverlap(ranges) {
			continue
		}
		var nr []analysis.NoiseRun
		for _, o := range outliers(a) {
			if !o.measured {
				continue // no median to be off from: nothing to explain
			}
			if nr == nil {
				nr = noiseRuns(a, runs)
			}
			out = append(out, noiseLine(a, runs, nr, analysis.NoiseOf(nr, o.run, a.spread.Median)))
		}
	}
	return out
}

// noiseRuns is a's model's records in each run.
func noiseRuns(a acrossRuns, runs []*results.Loaded) []analysis.NoiseRun {
	out := make([]analysis.NoiseRun, len(runs))
	for k, l := range runs {
		if a.known[k] {
			out[k] = analysis.NoiseRunOf(l, a.model, a.summaries[k], a.ranges[k])
		}
	}
	return out
}

// noiseLine is one outlying run and what its records (or, when it landed
// over the median, those of the runs under it) say of the difference.
func noiseLine(a acrossRuns, runs []*results.Loaded, nr []analysis.NoiseRun, n analysis.Noise) string {
	side := "under"
	if n.Off > 0 {
		side = "over"
	}
	head := fmt.Sprintf("%s in %s: %s, %.0f%% %s the median; ", a.model, runName(runs[n.Run]), a.cells[n.Run].Text, math.Abs(n.Off)*100, side)
	if len(n.Sources) == 0 {
		if n.Off > 0 {
			return head + "no source of noise found in the records (at the failing steps of the runs under it): the model's own variation"
		}
		return head + "no source of noise found in the records: the model's own variation"
	}
	// The sources, grouped by the run whose records hold them, in the
	// order found.
	var parts []string
	for i := 0; i < len(n.Sources); {
		j := i
		for j < len(n.Sources) && n.Sources[j].Run == n.Sources[i].Run {
			j++
		}
		parts = append(parts, runNoise(a, runs, nr, n, n.Sources[i:j]))
		i = j
	}
	if n.Off > 0 {
		var quiet []string
		for _, j := range n.Examined {
			if !slices.ContainsFunc(n.Sources, func(s analysis.NoiseSource) bool { return s.Run == j }) {
				quiet = append(quiet, runName(runs[j]))
			}
		}
		if len(quiet) > 0 {
			parts = append(parts, "none in the records of "+strings.Join(quiet, ", "))
		}
		return head + "in the runs under it: " + strings.Join(parts, "; ")
	}
	return head + strings.Join(parts, "; ")
}

// runNoise words the sources found in one run's records.
func runNoise(a acrossRuns, runs []*results.Loaded, nr []analysis.NoiseRun, n analysis.Noise, srcs []analysis.NoiseSource) string {
	j := srcs[0].Run
	var who string
	if j != n.Run {
		who = runName(runs[j]) + ": "
	}
	var budget string
	var step []string
	at := 0
	for _, s := range srcs {
		if s.Kind == analysis.NoiseBudget {
			budget = budgetWords(nr[j])
			continue
		}
		at = s.At
		step = append(step, sourceWords(s, nr[j].ModelCPUs != nil))
	}
	var out []string
	if budget != "" {
		out = append(out, who+budget)
		who = ""
	}
	if len(step) > 0 {
		where := "failing step"
		if nr[j].Range.Hi == 0 {
			where = "last step"
		}
		out = append(out, fmt.Sprintf("%sat its %s (%s) %s", who, where, units.Count(float64(at)), strings.Join(step, ", ")))
	}
	return strings.Join(out, "; ")
}

// budgetWords: the search stopped on its budget, with the bracket open
// or still wider than the search's resolution.
func budgetWords(r analysis.NoiseRun) string {
	cell := capacityFigure(r.Summary) + ", budget spent"
	if r.Range.Hi == 0 {
		return fmt.Sprintf("the search's budget ran out at %s with the bracket still open (%s): not the machine's noise but the search's", units.Count(float64(r.Range.Lo)), cell)
	}
	return fmt.Sprintf("the search's budget ran out with the bracket still wider than 10%% (%s): not the machine's noise but the search's", cell)
}

// sourceWords is one source at a step, with its figures and, where the
// other runs had comparable counts, theirs.
func sourceWords(s analysis.NoiseSource, pinned bool) string {
	usual := func(format string, v float64) string {
		if s.Usual < 0 {
			return " (the other runs had no step within 10% of it)"
		}
		return fmt.Sprintf(" ("+format+" at comparable counts in the other runs)", v)
	}
	switch s.Kind {
	case analysis.NoiseOthers:
		var named []string
		for i, p := range s.Named {
			if i == 3 {
				break
			}
			named = append(named, fmt.Sprintf("%s %.2f", p.Comm, p.CPU))
		}
		where := "the machine's CPUs" // the model was not pinned: any CPU was its
		if pinned {
			where = "the model's CPUs"
		}
		return fmt.Sprintf("other processes took %.2f CPU of %s (%s)", s.Value, where, strings.Join(named, ", ")) + usual("%.2f", s.Usual)
	case analysis.NoiseWait:
		return fmt.Sprintf("the model's threads waited %.1f s for a CPU in its %.1f s window", s.Value, s.Hold) + usual("%.1f s", s.Usual)
	case analysis.NoiseSwarm:
		if s.Detail != "" {
			return "the swarm could not be trusted: " + s.Detail
		}
		return fmt.Sprintf("the swarm fell %.0f ms behind its send schedule", s.Value) + usual("%.0f ms", s.Usual)
	case analysis.NoiseMemory:
		return fmt.Sprintf("tasks waited %.1f s on memory in its %.1f s window", s.Value, s.Hold) + usual("%.1f s", s.Usual)
	}
	return string(s.Kind)
}
