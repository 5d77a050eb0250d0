package report

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// CompareRuns writes, as one Markdown table, each model's capacity in
// each of several runs, as the report prints it, with the median, the
// spread against it and a verdict; the last row is each run's duration.
// It is the README's table made from the run folders themselves, so the
// table and the records can never disagree.
func CompareRuns(w io.Writer, runs []*results.Loaded) error {
	var b bytes.Buffer
	models := modelsAcross(runs)
	t := runsTable(runs, models)
	writeMD(&b, t)
	fmt.Fprintf(&b, "\nspread: the largest |run − median| / median of the sustained counts. "+
		"~: every two runs' brackets overlap, so their differences are inside the noise. "+
		"outside ±%.0f%%: the runs that landed farther than that from the median. "+
		"— in a run's column: that run never measured the model; in spread and verdict: fewer than two runs did.\n", analysis.RunTolerance*100)
	if anyMarked(t) {
		b.WriteString("\n\\* no summary (the model or the run ended abnormally): derived from its saved steps\n")
	}
	if lines := noiseLines(models, runs); len(lines) > 0 {
		fmt.Fprintf(&b, "\nthe noise, where a run landed outside ±%.0f%%: what differed, in the records, at the step that decided its capacity from the other runs at comparable counts (within 10%%)\n\n", analysis.RunTolerance*100)
		for _, l := range lines {
			b.WriteString("- " + l + "\n")
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// acrossRuns is one model's capacity in each run.
type acrossRuns struct {
	model  string
	cells  []Cell // the capacity as each run's report prints it
	ranges []analysis.CapacityRange
	known  []bool // the run measured the model
	spread analysis.Spread
	// summaries is each run's summary of the model, for the noise lines.
	summaries []results.Summary
}

func runsTable(runs []*results.Loaded, models []acrossRuns) table {
	t := table{head: []string{"model"}, right: []bool{false}}
	for _, l := range runs {
		t.head = append(t.head, runName(l))
		t.right = append(t.right, true)
	}
	t.head = append(t.head, "median", "spread", "verdict")
	t.right = append(t.right, true, true, false)
	for _, a := range models {
		r := []Cell{text(a.model)}
		r = append(r, a.cells...)
		r = append(r, medianCell(a), spreadCell(a.spread), verdictCell(a, runs))
		t.rows = append(t.rows, r)
	}
	took := []Cell{{Text: "run took", Strong: true}}
	for _, l := range runs {
		d := factsOf(l.Run).Took
		if d == "" {
			d = "— (did not finish)"
		}
		took = append(took, text(d))
	}
	t.rows = append(t.rows, append(took, text(""), text(""), text("")))
	return t
}

// runName is a run's column head: its ID, which is its start time.
func runName(l *results.Loaded) string {
	if l.Run.ID != "" {
		return l.Run.ID
	}
	return filepath.Base(l.Dir)
}

// modelsAcross is every model of any run, most median capacity first;
// models no run measured last, in the order first seen.
func modelsAcross(runs []*results.Loaded) []acrossRuns {
	var out []acrossRuns
	at := map[string]int{}
	for i, l := range runs {
		for _, r := range rows(l) {
			j, ok := at[r.Model]
			if !ok {
				j = len(out)
				at[r.Model] = j
				a := acrossRuns{model: r.Model, cells: make([]Cell, len(runs)),
					ranges: make([]analysis.CapacityRange, len(runs)), known: make([]bool, len(runs)),
					summaries: make([]results.Summary, len(runs))}
				for k := range a.cells {
					a.cells[k] = text("—")
				}
				out = append(out, a)
			}
			out[j].cells[i] = Cell{Text: CapacityCell(r.Summary), Marked: r.derived}
			out[j].ranges[i], out[j].known[i] = capacityRange(r.Summary)
			out[j].summaries[i] = r.Summary
		}
	}
	for i := range out {
		var vs []float64
		for k, ok := range out[i].known {
			if ok {
				vs = append(vs, float64(out[i].ranges[k].Lo))
			}
		}
		out[i].spread = analysis.SpreadOf(vs)
	}
	slices.SortStableFunc(out, func(a, b acrossRuns) int {
		if (a.spread.N == 0) != (b.spread.N == 0) {
			return cmp.Compare(b.spread.N, a.spread.N) // unmeasured last
		}
		return cmp.Compare(b.spread.Median, a.spread.Median)
	})
	return out
}

// capacityRange is the range a summary puts the capacity in, as
// CapacityCell prints it; false for a model the run never measured.
func capacityRange(s results.Summary) (analysis.CapacityRange, bool) {
	if !measured(s) {
		return analysis.CapacityRange{}, false
	}
	switch {
	case s.BracketFailed > 0:
		return analysis.CapacityRange{Lo: s.Capacity, Hi: s.BracketFailed}, true
	case s.Capacity == 0 && s.FailedOffered > 0:
		return analysis.CapacityRange{Hi: s.FailedOffered}, true // "< 1k"
	case s.Search == "" && !s.AtLeast && s.FailedOffered > s.Capacity:
		// A folder from before the search: its steps are the bracket.
		return analysis.CapacityRange{Lo: s.Capacity, Hi: s.FailedOffered}, true
	}
	return analysis.CapacityRange{Lo: s.Capacity}, true // open above: "≥ 48k"
}

// medianCell is the median sustained count, "≥" when no run found what
// failed the model; when it is 0 (most runs sustained nothing of their
// first step), the bound they put on it: "< 1k", not a 0 that was never
// measured.
func medianCell(a acrossRuns) Cell {
	open := true
	for k, ok := range a.known {
		if ok && a.ranges[k].Hi > 0 {
			open = false
		}
	}
	switch {
	case a.spread.N == 0:
		return text("—")
	case a.spread.Median > 0 && open:
		return num("≥ "+units.Count(a.spread.Median), a.spread.Median)
	case a.spread.Median > 0:
		return num(units.Count(a.spread.Median), a.spread.Median)
	}
	hi := 0
	for k, ok := range a.known {
		if ok && a.ranges[k].Lo == 0 {
			hi = max(hi, a.ranges[k].Hi)
		}
	}
	return text("< " + units.Count(float64(hi)))
}

// spreadCell is the largest distance of a run from the median, in %.
func spreadCell(s analysis.Spread) Cell {
	d, ok := s.Deviation()
	if !ok || s.N < 2 {
		return text("—")
	}
	return num(fmt.Sprintf("%.0f%%", d*100), d*100)
}

// verdictCell is benchstat's mark for a model: "~" when the runs agree
// within their resolution, else whether every run is within the
// tolerance of the median, naming the runs that are not.
func verdictCell(a acrossRuns, runs []*results.Loaded) Cell {
	ranges := knownRanges(a)
	tol := fmt.Sprintf("±%.0f%%", analysis.RunTolerance*100)
	switch {
	case len(ranges) < 2:
		return text("—")
	case analysis.AllOverlap(ranges):
		return text("~")
	}
	var outside []string
	for _, o := range outliers(a) {
		if !o.measured {
			outside = append(outside, runName(runs[o.run])+" "+a.cells[o.run].Text) // against a median of nothing sustained
			continue
		}
		outside = append(outside, fmt.Sprintf("%s %+.0f%%", runName(runs[o.run]), o.off*100))
	}
	if len(outside) == 0 {
		return text("within " + tol)
	}
	return Cell{Text: "outside " + tol, Strong: true, Note: ": " + strings.Join(outside, ", ")}
}

// knownRanges is the capacity ranges of the runs that measured a's model.
func knownRanges(a acrossRuns) []analysis.CapacityRange {
	var out []analysis.CapacityRange
	for k, ok := range a.known {
		if ok {
			out = append(out, a.ranges[k])
		}
	}
	return out
}

// outlier is a run of a model that landed outside the tolerance of its
// median: off is its signed distance; measured is false when there is no
// median to measure against (most runs sustained nothing) and the run
// sustained something.
type outlier struct {
	run      int
	off      float64
	measured bool
}

// outliers is the runs of a that landed outside the tolerance, in run
// order: the verdict names them and the noise lines explain them.
func outliers(a acrossRuns) []outlier {
	var out []outlier
	for k, ok := range a.known {
		if !ok {
			continue
		}
		lo := float64(a.ranges[k].Lo)
		off, ok := a.spread.Off(lo)
		switch {
		case !ok && lo > 0:
			out = append(out, outlier{run: k})
		case ok && (off > analysis.RunTolerance || off < -analysis.RunTolerance):
			out = append(out, outlier{run: k, off: off, measured: true})
		}
	}
	return out
}

// anyMarked reports whether a cell of t is derived from saved steps.
func anyMarked(t table) bool {
	for _, r := range t.rows {
		for _, c := range r {
			if c.Marked {
				return true
			}
		}
	}
	return false
}
