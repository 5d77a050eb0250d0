package analysis

import (
	"slices"

	"c10klab/runner/internal/results"
)

// WorkMatrix is a run's models against the work settings each message cost
// them (bench --work): the same model under "none", "cpu=200us"... side by
// side.
type WorkMatrix struct {
	// Works are the columns: the plain echo ("") first when measured, then
	// the settings in the order the run measured them.
	Works []string
	Rows  []WorkRow
}

// WorkRow is one model (its label without the work) across the settings.
type WorkRow struct {
	Model string
	// Cells holds one summary per column of Works; nil where this model
	// was not measured under that setting.
	Cells []*results.Summary
}

// Work arranges summaries into the model × work matrix; ok is false when
// no summary was measured under any work, so a plain run has no matrix.
func Work(sums []results.Summary) (m WorkMatrix, ok bool) {
	at := map[string]int{}
	col := map[string]int{}
	for _, s := range sums {
		_, w := results.SplitWork(s.Model)
		ok = ok || w != ""
		if _, seen := col[w]; !seen {
			col[w] = len(m.Works)
			m.Works = append(m.Works, w)
		}
	}
	if !ok {
		return WorkMatrix{}, false
	}
	// The plain echo is the reference every other column is read against.
	if i := slices.Index(m.Works, ""); i > 0 {
		m.Works = append([]string{""}, slices.Delete(m.Works, i, i+1)...)
		for j, w := range m.Works {
			col[w] = j
		}
	}
	for _, s := range sums {
		base, w := results.SplitWork(s.Model)
		i, seen := at[base]
		if !seen {
			i = len(m.Rows)
			at[base] = i
			m.Rows = append(m.Rows, WorkRow{Model: base, Cells: make([]*results.Summary, len(m.Works))})
		}
		m.Rows[i].Cells[col[w]] = &s
	}
	return m, true
}

// WorkName is a column's heading: the setting, "none" for the plain echo.
func WorkName(work string) string {
	if work == "" {
		return "none"
	}
	return work
}
