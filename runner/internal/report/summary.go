package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// row is one model's line in every summary, as the analysis computes it
// from the folder's records.
type row struct {
	results.Summary
	source  analysis.Source
	derived bool // the run ended while this model was measured
	old     bool // the folder predates the analysis inputs (no settle, no window)
	family  string
}

func rows(l *results.Loaded) []row {
	var out []row
	for _, m := range l.Models() {
		s, src := analysis.Summary(l, m)
		fam := l.Run.Families[m]
		if fam == "" {
			fam = "—"
		}
		out = append(out, row{Summary: s, source: src, derived: src == analysis.Partial, old: l.Run.Format < results.FormatAnalysis, family: fam})
	}
	return out
}

// byCapacity is rows for a summary table: most capacity first, so sixteen
// models read as a ranking; ties keep the measuring order.
func byCapacity(rs []row) []row {
	out := slices.Clone(rs)
	slices.SortStableFunc(out, func(a, b row) int { return cmp.Compare(b.Capacity, a.Capacity) })
	return out
}

// CapacityCell is the capacity as a person should read it, the one
// formatting of it that REPORT.md, REPORT.html and the terminal share: the
// capacity search's bracket ("27.5k sustained, 30k failed"), or, when
// nothing above the sustained count failed the model, what stopped the
// search ("≥ 40k (the swarm's limit)", "≥ 80k (budget spent)"); "—" for a
// model never measured (refused, or stopped before its first step), never
// a 0 it was not measured at.
func CapacityCell(s results.Summary) string {
	cell := capacityFigure(s)
	switch s.Search {
	case results.SearchSwarm, results.SearchMachine, results.SearchCeiling, results.SearchBudget:
		if cell != "—" {
			cell += " (" + string(s.Search) + ")"
		}
	}
	return cell
}

// capacityFigure is CapacityCell without what stopped the search.
func capacityFigure(s results.Summary) string {
	c := units.Count(float64(s.Capacity))
	switch {
	case s.Stop == results.StopRefused:
		return "—" // never measured
	case s.BracketFailed > 0 && s.Capacity > 0:
		return c + " sustained, " + units.Count(float64(s.BracketFailed)) + " failed"
	case s.BracketFailed > 0:
		// Nothing was sustained, down to the smallest offer tried.
		return "< " + units.Count(float64(s.BracketFailed))
	case s.Search != "" && s.Search != results.SearchOff && s.Search != results.SearchBracketed && s.Capacity > 0:
		return "≥ " + c // the search stopped before anything above failed the model
	case s.AtLeast && s.Capacity == 0:
		return "— (the swarm's limit)" // not even the first step could be trusted
	case s.AtLeast:
		return "≥ " + c
	case s.Capacity == 0 && len(s.Untrusted) > 0:
		return "— (untrusted)" // no step could be trusted: no capacity known
	case s.Capacity == 0 && s.FailedOffered > 0:
		// Its first step failed: it holds fewer than that, how many fewer
		// this run did not measure.
		return "< " + units.Count(float64(s.FailedOffered))
	case s.Capacity == 0:
		return "—" // stopped before a step measured anything: never measured
	}
	return c
}

// measured reports whether a step measured the model, so that it has a
// capacity, if only a bound ("< 1k", "≥ 48k"); CapacityCell writes "—"
// for one that has none.
func measured(s results.Summary) bool { return !strings.HasPrefix(capacityFigure(s), "—") }

// offeredCell is the offer of the capacity step; "—" without one.
func offeredCell(s results.Summary) string {
	if s.CapacityOffered == 0 {
		return "—"
	}
	return units.Count(float64(s.CapacityOffered))
}

// settleCell is how long the capacity step took to serve every new
// connection after its ramp; "—" with no capacity step, or from a folder
// older than the settle.
func settleCell(r row) string {
	if r.Capacity == 0 || r.old {
		return "—"
	}
	return fmt.Sprintf("%.0f s", r.SettleSeconds)
}

// metric is one column of the summary that can be compared across runs.
type metric struct {
	name   string
	value  func(results.Summary) (float64, bool)
	format func(float64) string
}

var metrics = []metric{
	// A model never measured (refused, or stopped before its first step)
	// has no capacity, not one of 0.
	{"capacity (connections)", func(s results.Summary) (float64, bool) { return float64(s.Capacity), measured(s) }, units.Count},
	// A figure below its resolution is no figure: no p99 without an echo,
	// no memory that did not rise measurably above idle.
	{"p99 at capacity", func(s results.Summary) (float64, bool) { return s.Latency.P99, s.Latency.Count > 0 }, units.Millis},
	{"user memory per connection", func(s results.Summary) (float64, bool) {
		return s.UserMemPerConn, s.Capacity > 0 && s.UserMemPerConn > 0
	}, units.Bytes},
	{"kernel memory per connection", func(s results.Summary) (float64, bool) {
		return s.KernelMemPerConn, s.Capacity > 0 && s.KernelMemPerConn > 0 && (s.KernelMemResolved || s.Cause == nil)
	}, units.Bytes},
	{"CPU per 1,000 echoes", func(s results.Summary) (float64, bool) { return s.CPUPer1kEchoes, s.CPUPer1kEchoes > 0 }, units.Seconds},
}

func cell(m metric, s results.Summary) string {
	v, ok := m.value(s)
	if !ok {
		return "—"
	}
	return m.format(v)
}
