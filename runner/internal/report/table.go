package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
)

// Table writes the run's summary for a terminal: one aligned line per
// model, numbers in human units, right-aligned so they can be compared.
func Table(w io.Writer, l *results.Loaded) error {
	t := textTable{right: []bool{false, false, true, true, true, false, true, true, true, true}}
	t.add("model", "family", "capacity", "offered", "settle", "stopped by", "p99", "user/conn", "kernel/conn", "CPU/1k echoes")
	anyDerived := false
	for _, r := range byCapacity(rows(l)) {
		name := r.Model
		if r.derived {
			name += " *"
			anyDerived = true
		}
		t.add(name, r.family, CapacityCell(r.Summary), offeredCell(r.Summary), settleCell(r), string(r.Stop),
			cell(metrics[1], r.Summary), cell(metrics[2], r.Summary), cell(metrics[3], r.Summary), cell(metrics[4], r.Summary))
	}
	if _, err := fmt.Fprintf(w, "run %s\n\n", l.Run.ID); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	if err := t.write(w); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	if anyDerived {
		if _, err := fmt.Fprintln(w, "\n* no summary (the model or the run ended abnormally): derived from its saved steps"); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	}
	if l.Run.Config.Repeat > 1 {
		r := textTable{right: []bool{false, true, true, true, true, true, true}}
		r.add(fmt.Sprintf("over %d repeats: median [range]", l.Run.Config.Repeat), "n", "capacity", "p99", "user/conn", "kernel/conn", "CPU/1k echoes")
		for _, g := range groups(l) {
			r.add(g.Model, fmt.Sprint(len(g.rows)), groupCell(metrics[0], g), groupCell(metrics[1], g), groupCell(metrics[2], g), groupCell(metrics[3], g), groupCell(metrics[4], g))
		}
		if _, err := fmt.Fprintln(w); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
		if err := r.write(w); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	}
	return nil
}

// Compare writes, for each metric, the two runs side by side with the
// change per model; a model measured in only one run is listed as such.
// A model measured several times (bench --repeat) shows its median and
// range, and a change whose ranges overlap is "~": inside the noise.
func Compare(w io.Writer, a, b *results.Loaded) error {
	ga, gb := byGroup(groups(a)), byGroup(groups(b))
	var models []string
	seen := map[string]bool{}
	for _, l := range []*results.Loaded{a, b} {
		for _, g := range groups(l) {
			if !seen[g.Model] {
				seen[g.Model] = true
				models = append(models, g.Model)
			}
		}
	}
	if _, err := fmt.Fprintf(w, "A: %s\nB: %s\n", a.Run.ID, b.Run.ID); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	for _, m := range metrics {
		t := textTable{right: []bool{false, true, true, true, true}}
		t.add(m.name, "A", "B", "change", "")
		for _, model := range models {
			x, inA := ga[model]
			y, inB := gb[model]
			switch {
			case !inA:
				t.add(model, "—", groupCell(m, y), "only in B", "")
			case !inB:
				t.add(model, groupCell(m, x), "—", "only in A", "")
			case len(x.rows) > 1 && len(y.rows) > 1 && x.spread(m).Overlaps(y.spread(m)):
				t.add(model, groupCell(m, x), groupCell(m, y), "~", "(ranges overlap)")
			default:
				mx, okA := x.median(m)
				my, okB := y.median(m)
				abs, pct := change(m, mx, my, okA, okB)
				t.add(model, groupCell(m, x), groupCell(m, y), abs, pct)
			}
		}
		if _, err := fmt.Fprintln(w); err != nil {
			return fmt.Errorf("write comparison: %w", err)
		}
		if err := t.write(w); err != nil {
			return fmt.Errorf("write comparison: %w", err)
		}
	}
	_, err := fmt.Fprintln(w, "\n* no summary: derived from the model's saved steps")
	if err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

func mark(r row) string {
	if r.derived {
		return " *"
	}
	return ""
}

// group is a model's rows: one, or one per repeat.
type group struct {
	Model string
	rows  []row
}

func groups(l *results.Loaded) []group {
	var out []group
	at := map[string]int{}
	for _, r := range rows(l) {
		base := r.Model
		if l.Run.Config.Repeat > 1 {
			base, _ = analysis.BaseLabel(r.Model)
		}
		i, ok := at[base]
		if !ok {
			i = len(out)
			at[base] = i
			out = append(out, group{Model: base})
		}
		out[i].rows = append(out[i].rows, r)
	}
	return out
}

func byGroup(gs []group) map[string]group {
	out := make(map[string]group, len(gs))
	for _, g := range gs {
		out[g.Model] = g
	}
	return out
}

func (g group) spread(m metric) analysis.Spread {
	var vs []float64
	for _, r := range g.rows {
		if v, ok := m.value(r.Summary); ok {
			vs = append(vs, v)
		}
	}
	return analysis.SpreadOf(vs)
}

// median is the metric's median over the group, and whether any repeat had it.
func (g group) median(m metric) (float64, bool) {
	if len(g.rows) == 1 {
		return m.value(g.rows[0].Summary)
	}
	s := g.spread(m)
	return s.Median, s.N > 0
}

// groupCell is the metric of a model measured once, or "median [min–max]"
// over its repeats.
func groupCell(m metric, g group) string {
	if len(g.rows) == 1 {
		return cell(m, g.rows[0].Summary) + mark(g.rows[0])
	}
	s := g.spread(m)
	if s.N == 0 {
		return "—"
	}
	return fmt.Sprintf("%s [%s–%s]", m.format(s.Median), m.format(s.Min), m.format(s.Max))
}

// change is B − A in the metric's unit and as a percentage of A; "—"
// when either run has no figure (a model never measured, a p99 without
// echoes): there is no change to tell, not one inside the noise.
func change(m metric, x, y float64, okA, okB bool) (abs, pct string) {
	if !okA || !okB {
		return "—", ""
	}
	d := y - x
	abs = m.format(math.Abs(d))
	switch {
	case d > 0:
		abs = "+" + abs
	case d < 0:
		abs = "-" + abs
	}
	if x == 0 {
		return abs, "n/a"
	}
	return abs, fmt.Sprintf("(%+.1f%%)", d/x*100)
}

// textTable aligns columns on display width (µ and — are one column wide
// but more than one byte).
type textTable struct {
	right []bool
	cells [][]string
}

func (t *textTable) add(cells ...string) { t.cells = append(t.cells, cells) }

func (t *textTable) write(w io.Writer) error {
	var widths []int
	for _, r := range t.cells {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range t.cells {
		var b strings.Builder
		for i, c := range r {
			gap := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < len(t.right) && t.right[i] {
				b.WriteString(gap + c)
			} else {
				b.WriteString(c + gap)
			}
		}
		if _, err := fmt.Fprintln(w, strings.TrimRight(b.String(), " ")); err != nil {
			return err
		}
	}
	return nil
}
