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
	t := textTable{right: []bool{false, true, true, true, false, true, true, true, true}}
	t.add("model", "capacity", "offered", "settle", "stopped by", "p99", "user/conn", "kernel/conn", "CPU/1k echoes")
	anyDerived := false
	for _, r := range rows(l) {
		name := r.Model
		if r.derived {
			name += " *"
			anyDerived = true
		}
		t.add(name, capacityCell(r.Summary), analysis.Count(float64(r.CapacityOffered)), settleCell(r), r.Stop,
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
	return nil
}

// Compare writes, for each metric, the two runs side by side with the
// change per model; a model measured in only one run is listed as such.
func Compare(w io.Writer, a, b *results.Loaded) error {
	ra, rb := byModel(rows(a)), byModel(rows(b))
	var models []string
	seen := map[string]bool{}
	for _, l := range []*results.Loaded{a, b} {
		for _, m := range l.Models() {
			if !seen[m] {
				seen[m] = true
				models = append(models, m)
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
			x, inA := ra[model]
			y, inB := rb[model]
			switch {
			case !inA:
				t.add(model, "—", cell(m, y.Summary), "only in B", "")
			case !inB:
				t.add(model, cell(m, x.Summary), "—", "only in A", "")
			default:
				abs, pct := change(m, x.Summary, y.Summary)
				t.add(model, cell(m, x.Summary)+mark(x), cell(m, y.Summary)+mark(y), abs, pct)
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

func byModel(rs []row) map[string]row {
	out := make(map[string]row, len(rs))
	for _, r := range rs {
		out[r.Model] = r
	}
	return out
}

// change is B − A in the metric's unit and as a percentage of A.
func change(m metric, a, b results.Summary) (abs, pct string) {
	x, okA := m.value(a)
	y, okB := m.value(b)
	if !okA || !okB {
		return "~", ""
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
