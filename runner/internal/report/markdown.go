package report

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// ReportFile is the Markdown report's name in a run folder.
const ReportFile = "REPORT.md"

// The report's prose, written once for both REPORT.md and REPORT.html;
// **bold** and `code` are the only markup in it.
const (
	notFinished      = "the run did not finish (crash or still running); what was saved is shown"
	derivedNote      = "no summary was written for this model: the model or the run ended abnormally while it was measured; its figures are derived from its saved steps."
	summaryExplained = "A step ramps (opens its new connections), settles (until the model serves every open connection on time; **settle** is how long that took in the capacity step, to the one-second sampling) and is then judged over an evaluation window: a connection is **sustained** when it stayed open through the window and every echo due in it came back intact within the deadline. " +
		"A step is sustained when at least the sustain ratio of its offered connections were and the window's p99 is within the deadline. " +
		"**Capacity** is the most connections sustained in such a step that the swarm could be trusted in, found by a search: the planned steps are where it starts; after the first step that fails it bisects between the largest count sustained and the smallest failed until they are within 10%, and it raises the count while the steps hold. It reads as that bracket, **N sustained, M failed**; **≥ N (why)** when nothing above N failed the model before the search stopped: the swarm's limit, the machine's, the run's ceiling (--max-offered) or the model's time budget. " +
		"User memory is the model's PSS above its idle baseline; kernel memory is sockstat TCP memory plus unreclaimable slab above the baseline, which on loopback includes the client ends of the connections. Both are divided by the sustained connections. " +
		"These are system-wide counters: a kernel figure is shown only when its rise is above 1 MiB and four times the counters' swing during the window (else —)."
	repeatsExplained = "Median [range] of each model's repeats, measured round robin; `c10klab compare` marks a difference whose ranges overlap as ~."
	hostileExplained = "Each kind ran as one step after the last, its misbehaving connections beside the last step's well-behaved ones; the baseline is that last step, without them. " +
		"A model is named when it died, its memory grew by 1 MiB/s or more over the window, or fewer than 95% of the well-behaved connections were sustained."
	damagedNote = "**Incomplete results.** Some files of this run were not saved whole; every figure below covers only what was read:"
)

// chartCaptions are the run-wide charts in the reports' order, with the
// words that stand for each one.
var chartCaptions = []struct{ name, alt string }{
	{results.SustainedChart, "Sustained vs offered connections"},
	{results.LatencyChart, "Latency percentiles vs offered connections"},
	{results.MemoryChart, "Memory per connection"},
	{results.CPUChart, "CPU per 1,000 echoes"},
	{results.CostChart, "Cost as the connections grow"},
}

// Markdown renders REPORT.md for a loaded run. charts are the files
// plot.Render wrote; PNGs are embedded by their path relative to the run
// folder, with a link to the SVG beside them.
func Markdown(l *results.Loaded, charts []string) ([]byte, error) {
	var b bytes.Buffer
	run := l.Run
	rs := rows(l)
	links := chartLinks(l.Dir, charts)

	fmt.Fprintf(&b, "# c10klab run %s\n\n", run.ID)
	facts := factsOf(run)
	fmt.Fprintf(&b, "- started: %s\n", facts.Started)
	if facts.Finished == "" {
		b.WriteString("- finished: **no** — " + notFinished + "\n")
	} else {
		fmt.Fprintf(&b, "- finished: %s (%s)\n", facts.Finished, facts.Took)
	}
	if facts.Outcome != "" {
		fmt.Fprintf(&b, "- outcome: %s\n", facts.Outcome)
	}
	if facts.Command != "" {
		fmt.Fprintf(&b, "- command: `%s`\n", facts.Command)
	}

	b.WriteString("\n## Summary\n\n")
	summary, order := summaryTable(rs)
	writeMD(&b, summary)
	for _, r := range order {
		if r.derived {
			b.WriteString("\n\\* " + derivedNote + "\n")
			break
		}
	}
	b.WriteString("\n" + summaryExplained + "\n")
	if anyStored(rs) {
		b.WriteString("\n" + storedNote + "\n")
	}

	if run.Config.Repeat > 1 {
		fmt.Fprintf(&b, "\n### Over %d repeats\n\n%s\n\n", run.Config.Repeat, repeatsExplained)
		writeMD(&b, repeatsTable(l))
	}

	if t, ok := workTable(rs); ok {
		b.WriteString("\n## Work per message\n\n" + workExplained + "\n\n")
		writeMD(&b, t)
		b.WriteString("\n")
		embed(&b, links, results.WorkChart, "Capacity under the work each message costs")
	}

	b.WriteString("\n## Diagnosis\n\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "- **%s**: %s\n", r.Model, diagnosisOf(r))
	}

	if h := hostileTable(rs); len(h.rows) > 0 {
		b.WriteString("\n## Hostile clients\n\n" + hostileExplained + "\n\n")
		writeMD(&b, h)
	}

	warnings := collectWarnings(l, rs)
	b.WriteString("\n## Warnings\n\n")
	if len(warnings) == 0 {
		b.WriteString("None.\n")
	}
	for _, w := range warnings {
		fmt.Fprintf(&b, "- %s\n", w)
	}

	b.WriteString("\n## Charts\n\n")
	for _, c := range chartCaptions {
		embed(&b, links, c.name, c.alt)
	}
	if len(links) == 0 {
		b.WriteString("No charts were drawn.\n")
	}

	for _, r := range rs {
		modelSection(&b, l, r, links)
	}
	envSection(&b, run.Env)
	b.WriteString("\n## Settings\n\n")
	writeMD(&b, settingsTable(run.Config))
	if vs := versions(run); len(vs) > 0 {
		b.WriteString("\n## Versions\n\n")
		for _, kv := range vs {
			fmt.Fprintf(&b, "- %s: %s\n", kv[0], kv[1])
		}
	}
	return flagDamage(b.Bytes(), l.Damaged), nil
}

func diagnosisOf(r row) string {
	if r.Diagnosis == "" {
		return "no diagnosis recorded"
	}
	return r.Diagnosis
}

// versions are the run's recorded versions, by name.
func versions(run results.Run) [][2]string {
	keys := make([]string, 0, len(run.Versions))
	for k := range run.Versions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][2]string, len(keys))
	for i, k := range keys {
		out[i] = [2]string{k, run.Versions[k]}
	}
	return out
}

// writeMD prints a table in Markdown.
func writeMD(b *bytes.Buffer, t table) {
	b.WriteString("| " + strings.Join(t.head, " | ") + " |\n|")
	for _, r := range t.right {
		if r {
			b.WriteString("--:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, row := range t.rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = mdCell(c)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
}

func mdCell(c Cell) string {
	s := cellMD(c.Text)
	switch {
	case c.Strong:
		s = "**" + s + "**"
	case c.Code:
		s = "`" + s + "`"
	}
	s += cellMD(c.Note)
	if c.Marked {
		s += " \\*"
	}
	return s
}

func collectWarnings(l *results.Loaded, rs []row) []string {
	var out []string
	for _, w := range l.Run.Env.Warnings {
		out = append(out, "machine: "+w)
	}
	for _, r := range rs {
		for _, w := range r.Warnings {
			out = append(out, r.Model+": "+w)
		}
	}
	for _, m := range l.Models() {
		for _, s := range l.Steps(m) {
			if s.Untrusted != "" {
				out = append(out, fmt.Sprintf("%s: step %d (%s offered) is untrusted, the swarm was the limit: %s", m, s.Index, units.Count(float64(s.Offered)), s.Untrusted))
			}
			// A few unstamped echoes happen while the kernel switches
			// timestamping on; more mean the latency is partly the swarm's.
			if s.Echoes > 0 && s.Unstamped*100 > s.Echoes {
				out = append(out, fmt.Sprintf("%s: step %d (%s offered): %s of %s echoes were timed when read, not on arrival (no kernel receive stamp), so their latency includes the swarm's own delay",
					m, s.Index, units.Count(float64(s.Offered)), units.Count(float64(s.Unstamped)), units.Count(float64(s.Echoes))))
			}
		}
	}
	out = append(out, probeErrorWarnings(l)...)
	return out
}

func modelSection(b *bytes.Buffer, l *results.Loaded, r row, links map[string]string) {
	fmt.Fprintf(b, "\n## %s\n\n", r.Model)
	if r.derived {
		b.WriteString("**No summary: this model's measurement ended abnormally.** Figures below come from its saved steps and samples.\n\n")
	}
	if steps := stepsTable(l.Steps(r.Model)); len(steps.rows) == 0 {
		b.WriteString("No step was completed.\n\n")
	} else {
		writeMD(b, steps)
		b.WriteString("\n")
	}
	if reps := reportsTable(l, r.Model); len(reps.rows) > 0 {
		b.WriteString("Failures the model reported itself:\n\n")
		writeMD(b, reps)
		b.WriteString("\n")
	}
	if evs := eventsTable(l, r.Model); len(evs.rows) > 0 {
		b.WriteString("Events:\n\n")
		writeMD(b, evs)
		b.WriteString("\n")
	}
	embed(b, links, results.FailuresChart(r.Model), "Failures by class: "+r.Model)
	embed(b, links, results.TimelineChart(r.Model), "Timeline: "+r.Model)
}

// runnerCPUCell is the runner's own CPU over the step's window, as a share
// of one CPU (the per-process reads at the window's ends included, over
// the window's length: if anything, high); "—" where it was not recorded.
func runnerCPUCell(s results.Step) string {
	if s.RunnerCPU <= 0 || s.HoldSeconds <= 0 {
		return "—"
	}
	if share := s.RunnerCPU / s.HoldSeconds; share >= 0.0005 {
		return fmt.Sprintf("%.3f", share)
	}
	return "< 0.001" // not 0.000: a figure below its resolution
}

// p99Cell is "no echo" when nothing came back: never a 0.00 ms.
func p99Cell(p results.Percentiles) string {
	if p.Count == 0 {
		return "no echo"
	}
	return units.Millis(p.P99)
}

func failureCell(m map[string]int64) string {
	if len(m) == 0 {
		return "0"
	}
	var parts []string
	for _, k := range analysis.Keys(m) {
		parts = append(parts, fmt.Sprintf("%s %s", k, units.Count(float64(m[k]))))
	}
	return strings.Join(parts, ", ")
}

func envSection(b *bytes.Buffer, env results.Environment) {
	b.WriteString("\n## Machine and limits\n\n")
	for _, kv := range machineFacts(env) {
		fmt.Fprintf(b, "- %s: %s\n", kv[0], kv[1])
	}
	if len(env.Limits) == 0 {
		return
	}
	b.WriteString("\n")
	writeMD(b, limitsTable(env))
}

// chartLinks maps a chart's name without extension to its PNG path
// relative to the run folder, "/"-separated as Markdown wants.
func chartLinks(dir string, charts []string) map[string]string {
	out := map[string]string{}
	for _, c := range charts {
		if filepath.Ext(c) != ".png" {
			continue
		}
		rel, err := filepath.Rel(dir, c)
		if err != nil || strings.HasPrefix(rel, "..") {
			rel = c
		}
		out[strings.TrimSuffix(filepath.Base(c), ".png")] = filepath.ToSlash(rel)
	}
	return out
}

func embed(b *bytes.Buffer, links map[string]string, name, alt string) {
	png, ok := links[name]
	if !ok {
		return
	}
	svg := strings.TrimSuffix(png, ".png") + ".svg"
	fmt.Fprintf(b, "![%s](%s)\n\n[SVG](%s)\n\n", alt, png, svg)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// cellMD keeps text from breaking a Markdown table row.
func cellMD(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

// flagDamage puts a notice of every damaged file under the report's title,
// where no reader can miss that the figures cover only what was saved.
func flagDamage(md []byte, damaged []results.Damage) []byte {
	if len(damaged) == 0 {
		return md
	}
	var b bytes.Buffer
	b.WriteString("> " + damagedNote + "\n")
	for _, d := range damaged {
		fmt.Fprintf(&b, ">\n> - %s\n", cellMD(d.String()))
	}
	b.WriteString("\n")
	title, rest, ok := bytes.Cut(md, []byte("\n\n"))
	if !ok {
		return append(b.Bytes(), md...)
	}
	out := append(append([]byte{}, title...), "\n\n"...)
	out = append(out, b.Bytes()...)
	return append(out, rest...)
}
