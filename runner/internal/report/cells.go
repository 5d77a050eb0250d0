package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// The report's tables, as cells: REPORT.md and REPORT.html print these
// same cells, each in its own markup, so the two can never disagree on a
// figure or on where a figure is "—".

// Cell is one table cell.
type Cell struct {
	Text   string
	Strong bool   // emphasised: what went wrong
	Code   bool   // a command to copy
	Note   string // plain text after Text (": the reason")
	Marked bool   // footnote: no summary, figures derived from saved steps
	// Num is the figure Text stands for, so a table can be sorted on the
	// number rather than on "1.2k" against "950"; HasNum is false for a
	// cell with no figure ("—").
	Num    float64
	HasNum bool
}

func text(s string) Cell { return Cell{Text: s} }

// num is a figure's cell: its text and the number to sort by.
func num(s string, v float64) Cell { return Cell{Text: s, Num: v, HasNum: true} }

// count is a count's cell, formatted as people read counts.
func count(v int64) Cell { return num(units.Count(float64(v)), float64(v)) }

// table is a report table: a header, which columns hold figures (right
// aligned), and rows of cells.
type table struct {
	head  []string
	right []bool
	rows  [][]Cell
}

// summaryTable is the summary, most capacity first; order is the rows in
// the table's order, for a renderer that says more about each row.
func summaryTable(rs []row) (t table, order []row) {
	t = table{
		head: []string{"model", "family", "capacity", "at offered", "settle", "first failed at", "stopped by",
			"p99 at capacity", "user memory / conn", "kernel memory / conn", "CPU / 1k echoes", "peak procs / threads"},
		right: []bool{false, false, true, true, true, true, false, true, true, true, true, true},
	}
	order = byCapacity(rs)
	// With the floor in the run, every model's CPU per echo and user
	// memory per connection also as a multiple of the floor's: how far it
	// is from what this machine can do at all.
	sums := map[string]results.Summary{}
	for _, r := range rs {
		sums[r.Model] = r.Summary
	}
	floored := slices.ContainsFunc(rs, func(r row) bool { _, ok := analysis.Floor(sums, r.Model); return ok })
	if floored {
		t.head = append(t.head, "CPU / echo × floor", "user memory × floor")
		t.right = append(t.right, true, true)
	}
	for _, r := range order {
		capacity := text(CapacityCell(r.Summary))
		if !strings.HasPrefix(capacity.Text, "—") {
			capacity = num(capacity.Text, float64(r.Capacity))
		}
		offered := text(offeredCell(r.Summary))
		if r.CapacityOffered > 0 {
			offered.Num, offered.HasNum = float64(r.CapacityOffered), true
		}
		settle := text(settleCell(r))
		if settle.Text != "—" {
			settle.Num, settle.HasNum = r.SettleSeconds, true
		}
		failed := text("—")
		if r.FailedOffered > 0 {
			failed = count(int64(r.FailedOffered))
		}
		t.rows = append(t.rows, []Cell{
			{Text: r.Model, Marked: r.derived}, text(r.family), capacity, offered, settle, failed, text(string(r.Stop)),
			metricCell(metrics[1], r.Summary), metricCell(metrics[2], r.Summary), metricCell(metrics[3], r.Summary), metricCell(metrics[4], r.Summary),
			peakCell(r.Summary),
		})
		if floored {
			f, _ := analysis.Floor(sums, r.Model)
			last := len(t.rows) - 1
			t.rows[last] = append(t.rows[last],
				floorCell(metrics[4], r.Summary, f), floorCell(metrics[2], r.Summary, f))
		}
	}
	return t, order
}

// peakCell is the most processes and threads the model ran at once; "—"
// for a model never sampled (refused, or stopped before its first
// sample): a running model has at least one thread, so "0 / 0" would be a
// count nobody took.
func peakCell(s results.Summary) Cell {
	if s.PeakThreads <= 0 {
		return text("—")
	}
	return num(fmt.Sprintf("%d / %d", s.PeakProcs, s.PeakThreads), float64(s.PeakThreads))
}

// floorCell is a metric as a multiple of the floor's: "2.8×"; "—" when
// either figure is below its resolution or the floor was not measured.
func floorCell(m metric, s, floor results.Summary) Cell {
	v, ok1 := m.value(s)
	f, ok2 := m.value(floor)
	r, ok := analysis.Ratio(v, f)
	if !ok1 || !ok2 || !ok {
		return text("—")
	}
	return num(units.Factor(r), r)
}

// metricCell is a compared metric's cell: "—" below its resolution.
func metricCell(m metric, s results.Summary) Cell {
	v, ok := m.value(s)
	if !ok {
		return text("—")
	}
	return num(m.format(v), v)
}

// repeatsTable is each model's median [range] over its repeats.
func repeatsTable(l *results.Loaded) table {
	t := table{
		head:  []string{"model", "repeats", "capacity", "p99 at capacity", "user memory / conn", "kernel memory / conn", "CPU / 1k echoes"},
		right: []bool{false, true, true, true, true, true, true},
	}
	for _, g := range groups(l) {
		t.rows = append(t.rows, []Cell{text(g.Model), num(fmt.Sprint(len(g.rows)), float64(len(g.rows))),
			text(groupCell(metrics[0], g)), text(groupCell(metrics[1], g)), text(groupCell(metrics[2], g)), text(groupCell(metrics[3], g)), text(groupCell(metrics[4], g))})
	}
	return t
}

// stepsTable is one model's steps.
func stepsTable(steps []results.Step) table {
	t := table{
		head: []string{"step", "offered", "ramp", "settle", "open", "sustained", "ok", "failures", "client-side failures",
			"p99 (window)", "p99 (ramp)", "echoes", "runner CPU", "note"},
		right: []bool{true, true, true, true, true, true, false, true, true, true, true, true, true, false},
	}
	for _, s := range steps {
		ok := text("yes")
		if !s.OK {
			ok = Cell{Text: "no", Strong: true}
			if s.Why != "" {
				ok.Note = ": " + s.Why
			}
		}
		ramp, settle, rampP99 := fmt.Sprintf("%.0f s", s.RampSeconds), fmt.Sprintf("%.0f s", s.SettleSeconds), p99Cell(s.RampLatency)
		if !s.Settled {
			settle = "> " + settle
		}
		if !s.Window && s.RampSeconds == 0 {
			ramp, settle, rampP99 = "—", "—", "—" // an older folder: no ramp, settle or window recorded
		}
		var notes []string
		if s.Search {
			notes = append(notes, "search") // a probe of the capacity search, not a planned step
		}
		if s.Fresh {
			notes = append(notes, "fresh start") // the model and the swarm restarted for it
		}
		if s.Untrusted != "" {
			notes = append(notes, "untrusted")
		}
		note := strings.Join(notes, ", ")
		t.rows = append(t.rows, []Cell{num(fmt.Sprint(s.Index), float64(s.Index)),
			count(int64(s.Offered)), text(ramp), text(settle), count(int64(s.Open)), count(int64(s.Sustained)), ok,
			text(failureCell(s.Failures)), text(failureCell(s.ClientFailures)), text(p99Cell(s.Latency)), text(rampP99), count(s.Echoes), text(runnerCPUCell(s)), text(note)})
	}
	return t
}

// clock formats a moment of a model's measurement: seconds since the model
// started when that is known, else the wall clock.
func clock(l *results.Loaded, model string) func(time.Time) string {
	origin, ok := analysis.Origin(l, model)
	return func(t time.Time) string {
		if !ok {
			return stamp(t)
		}
		return fmt.Sprintf("%.1f s", t.Sub(origin).Seconds())
	}
}

// reportsTable is the failures a model reported itself; no rows when it
// reported none.
func reportsTable(l *results.Loaded, model string) table {
	t := table{
		head:  []string{"at", "instance", "kind", "errno", "count", "connections held", "message"},
		right: []bool{true, true, false, false, true, true, false},
	}
	at := clock(l, model)
	for _, rep := range analysis.Reports(l, model) {
		t.rows = append(t.rows, []Cell{text(at(rep.Time)), text(fmt.Sprint(rep.Instance)), text(rep.Kind), text(rep.Errno),
			text(fmt.Sprint(rep.Count)), count(rep.Conns), text(rep.Msg)})
	}
	return t
}

// eventsTable is a model's events, those that ended it emphasised.
func eventsTable(l *results.Loaded, model string) table {
	t := table{head: []string{"at", "event", "message"}, right: []bool{true, false, false}}
	at := clock(l, model)
	for _, e := range analysis.Events(l, model) {
		t.rows = append(t.rows, []Cell{text(at(e.Time)), {Text: e.Kind, Strong: analysis.IsEnd(e.Kind)}, text(e.Msg)})
	}
	return t
}

// hostileTable is the hostile-clients matrix: per model and kind, the
// well-behaved connections against the baseline step without hostiles.
func hostileTable(rs []row) table {
	t := table{
		head:  []string{"model", "kind", "hostile", "well-behaved sustained", "baseline", "p99", "baseline p99", "PSS growth", "verdict"},
		right: []bool{false, false, true, true, true, true, true, true, false},
	}
	for _, r := range rs {
		for _, e := range r.Hostile {
			verdict := text("weathered")
			switch {
			case e.Untrusted != "":
				verdict = text("untrusted: " + e.Untrusted)
			case e.Failed != "":
				verdict = Cell{Text: e.Failed, Strong: true}
			}
			baseP99, growth := "—", "none"
			if e.Baseline > 0 {
				baseP99 = units.Millis(e.BaselineP99)
			}
			if e.MemGrowth > 0 {
				growth = units.Bytes(e.MemGrowth) + "/s"
			}
			t.rows = append(t.rows, []Cell{text(r.Model), text(e.Kind), count(int64(e.Hostile)),
				text(fmt.Sprintf("%s (%.0f%%)", units.Count(float64(e.Sustained)), 100*float64(e.Sustained)/float64(max(e.Offered, 1)))),
				count(int64(e.Baseline)), text(p99Cell(e.Latency)), text(baseP99), text(growth), verdict})
		}
	}
	return t
}

// machineFacts are the environment record's one-line facts.
func machineFacts(env results.Environment) [][2]string {
	return [][2]string{
		{"kernel", env.Kernel},
		{"CPUs", fmt.Sprint(env.CPUs)},
		{"memory", fmt.Sprintf("%s total, %s available at start", units.Bytes(float64(env.MemTotal)), units.Bytes(float64(env.MemAvailable)))},
		{"page size", units.Bytes(float64(env.PageSize))},
		{"running as root", fmt.Sprint(env.Root)},
	}
}

// limitsTable is every limit that can cap a result, and how to raise it.
func limitsTable(env results.Environment) table {
	t := table{head: []string{"limit", "value", "connections it allows", "scope", "to raise it"}, right: []bool{false, false, true, false, false}}
	for _, lim := range env.Limits {
		conns := text("—")
		if lim.Conns > 0 {
			conns = count(int64(lim.Conns))
		}
		t.rows = append(t.rows, []Cell{text(lim.Name), text(lim.Value), conns, text(lim.Scope), {Text: lim.Raise, Code: lim.Raise != ""}})
	}
	return t
}

// settingsTable is the run's configuration.
func settingsTable(c results.Config) table {
	procs := fmt.Sprint(c.Procs)
	if c.Procs == 0 {
		procs = "0 (as many as the open-files limit requires)"
	}
	steps := make([]string, len(c.Steps))
	for i, s := range c.Steps {
		steps[i] = units.Count(float64(s))
	}
	t := table{head: []string{"setting", "value"}, right: []bool{false, false}}
	for _, kv := range [][2]string{
		{"models", strings.Join(c.Models, ", ")},
		{"steps (offered connections)", strings.Join(steps, ", ")},
		{"connect rate", fmt.Sprintf("%d / s", c.Rate)},
		{"hold per step", c.Hold.String()},
		{"message interval", c.Interval.String()},
		{"echo deadline", c.Deadline.String()},
		{"message size", fmt.Sprintf("%d B", c.MsgSize)},
		{"model instances", procs},
		{"pinned", fmt.Sprintf("%v (model CPUs %v, swarm CPUs %v)", c.Pin, c.ModelCPUs, c.SwarmCPUs)},
		{"sustain ratio", fmt.Sprintf("%g", c.SustainRatio)},
		{"address", c.Addr},
		{"connections per agent", fmt.Sprint(c.ConnsPerAgent)},
	} {
		t.rows = append(t.rows, []Cell{text(kv[0]), text(kv[1])})
	}
	return t
}

// runFacts are the run's metadata lines, shared by both reports' tops.
type runFacts struct {
	Started  string
	Finished string // "" when the run did not finish
	Took     string
	Outcome  string
	Command  string
}

func factsOf(run results.Run) runFacts {
	f := runFacts{Started: stamp(run.Started), Outcome: run.Outcome, Command: strings.Join(run.Command, " ")}
	if !run.Finished.IsZero() {
		f.Finished, f.Took = stamp(run.Finished), run.Finished.Sub(run.Started).Round(time.Second).String()
	}
	return f
}

// storedNote is said when a folder's summaries could not be recomputed.
const storedNote = "This folder predates the inputs the analysis needs (run.json format < 2): its summaries and diagnoses are shown as written and cannot be recomputed; its steps were judged by their last instant."

func anyStored(rs []row) bool {
	for _, r := range rs {
		if r.source == analysis.Stored {
			return true
		}
	}
	return false
}
