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
)

// ReportFile is the Markdown report's name in a run folder.
const ReportFile = "REPORT.md"

// Markdown renders REPORT.md for a loaded run. charts are the files
// plot.Render wrote; PNGs are embedded by their path relative to the run
// folder, with a link to the SVG beside them.
func Markdown(l *results.Loaded, charts []string) ([]byte, error) {
	var b bytes.Buffer
	run := l.Run
	rs := rows(l)
	links := chartLinks(l.Dir, charts)

	fmt.Fprintf(&b, "# c10klab run %s\n\n", run.ID)
	fmt.Fprintf(&b, "- started: %s\n", stamp(run.Started))
	if run.Finished.IsZero() {
		b.WriteString("- finished: **no** — the run did not finish (crash or still running); what was saved is shown\n")
	} else {
		fmt.Fprintf(&b, "- finished: %s (%s)\n", stamp(run.Finished), run.Finished.Sub(run.Started).Round(time.Second))
	}
	if run.Outcome != "" {
		fmt.Fprintf(&b, "- outcome: %s\n", run.Outcome)
	}
	if len(run.Command) > 0 {
		fmt.Fprintf(&b, "- command: `%s`\n", strings.Join(run.Command, " "))
	}

	b.WriteString("\n## Summary\n\n")
	b.WriteString("| model | family | capacity | at offered | settle | first failed at | stopped by | p99 at capacity | user memory / conn | kernel memory / conn | CPU / 1k echoes | peak procs / threads |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|\n")
	anyDerived := false
	for _, r := range byCapacity(rs) {
		name := r.Model
		if r.derived {
			name += " \\*"
			anyDerived = true
		}
		failed := "—"
		if r.FailedOffered > 0 {
			failed = analysis.Count(float64(r.FailedOffered))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d / %d |\n", cellMD(name), cellMD(r.family),
			capacityCell(r.Summary), offeredCell(r.Summary), settleCell(r), failed, cellMD(r.Stop),
			cell(metrics[1], r.Summary), cell(metrics[2], r.Summary), cell(metrics[3], r.Summary), cell(metrics[4], r.Summary),
			r.PeakProcs, r.PeakThreads)
	}
	if anyDerived {
		b.WriteString("\n\\* no summary was written for this model: the model or the run ended abnormally while it was measured; its figures are derived from its saved steps.\n")
	}
	b.WriteString("\nA step ramps (opens its new connections), settles (until the model serves every open connection on time; **settle** is how long that took in the capacity step, to the one-second sampling) and is then judged over an evaluation window: a connection is **sustained** when it stayed open through the window and every echo due in it came back intact within the deadline. ")
	b.WriteString("A step is sustained when at least the sustain ratio of its offered connections were and the window's p99 is within the deadline. ")
	b.WriteString("**Capacity** is the most connections sustained in such a step that the swarm could be trusted in; **≥ N** means the swarm, not the model, was the limit. ")
	b.WriteString("User memory is the model's PSS above its idle baseline; kernel memory is sockstat TCP memory plus unreclaimable slab above the baseline, which on loopback includes the client ends of the connections. Both are divided by the sustained connections. ")
	b.WriteString("These are system-wide counters: a kernel figure is shown only when its rise is above 1 MiB and four times the counters' swing during the window (else —).\n")
	for _, r := range rs {
		if r.source == analysis.Stored {
			b.WriteString("\nThis folder predates the inputs the analysis needs (run.json format < 2): its summaries and diagnoses are shown as written and cannot be recomputed; its steps were judged by their last instant.\n")
			break
		}
	}

	if run.Config.Repeat > 1 {
		fmt.Fprintf(&b, "\n### Over %d repeats\n\nMedian [range] of each model's repeats, measured round robin; `c10klab compare` marks a difference whose ranges overlap as ~.\n\n", run.Config.Repeat)
		b.WriteString("| model | repeats | capacity | p99 at capacity | user memory / conn | kernel memory / conn | CPU / 1k echoes |\n|---|--:|--:|--:|--:|--:|--:|\n")
		for _, g := range groups(l) {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s |\n", cellMD(g.Model), len(g.rows),
				groupCell(metrics[0], g), groupCell(metrics[1], g), groupCell(metrics[2], g), groupCell(metrics[3], g), groupCell(metrics[4], g))
		}
	}

	workSection(&b, rs, links)

	b.WriteString("\n## Diagnosis\n\n")
	for _, r := range rs {
		d := r.Diagnosis
		if d == "" {
			d = "no diagnosis recorded"
		}
		fmt.Fprintf(&b, "- **%s**: %s\n", r.Model, d)
	}

	hostileSection(&b, rs)

	warnings := collectWarnings(l, rs)
	b.WriteString("\n## Warnings\n\n")
	if len(warnings) == 0 {
		b.WriteString("None.\n")
	}
	for _, w := range warnings {
		fmt.Fprintf(&b, "- %s\n", w)
	}

	b.WriteString("\n## Charts\n\n")
	for _, c := range []struct{ name, alt string }{
		{results.SustainedChart, "Sustained vs offered connections"},
		{results.LatencyChart, "Latency percentiles vs offered connections"},
		{results.MemoryChart, "Memory per connection"},
		{results.CPUChart, "CPU per 1,000 echoes"},
		{results.CostChart, "Cost as the connections grow"},
	} {
		embed(&b, links, c.name, c.alt)
	}
	if len(links) == 0 {
		b.WriteString("No charts were drawn.\n")
	}

	for _, r := range rs {
		modelSection(&b, l, r, links)
	}
	envSection(&b, run.Env)
	configSection(&b, run.Config)
	if len(run.Versions) > 0 {
		b.WriteString("\n## Versions\n\n")
		keys := make([]string, 0, len(run.Versions))
		for k := range run.Versions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "- %s: %s\n", k, run.Versions[k])
		}
	}
	return flagDamage(b.Bytes(), l.Damaged), nil
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
				out = append(out, fmt.Sprintf("%s: step %d (%s offered) is untrusted, the swarm was the limit: %s", m, s.Index, analysis.Count(float64(s.Offered)), s.Untrusted))
			}
			// A few unstamped echoes happen while the kernel switches
			// timestamping on; more mean the latency is partly the swarm's.
			if s.Echoes > 0 && s.Unstamped*100 > s.Echoes {
				out = append(out, fmt.Sprintf("%s: step %d (%s offered): %s of %s echoes were timed when read, not on arrival (no kernel receive stamp), so their latency includes the swarm's own delay",
					m, s.Index, analysis.Count(float64(s.Offered)), analysis.Count(float64(s.Unstamped)), analysis.Count(float64(s.Echoes))))
			}
		}
	}
	return out
}

func modelSection(b *bytes.Buffer, l *results.Loaded, r row, links map[string]string) {
	fmt.Fprintf(b, "\n## %s\n\n", r.Model)
	if r.derived {
		b.WriteString("**No summary: this model's measurement ended abnormally.** Figures below come from its saved steps and samples.\n\n")
	}
	steps := l.Steps(r.Model)
	if len(steps) == 0 {
		b.WriteString("No step was completed.\n\n")
	} else {
		b.WriteString("| step | offered | ramp | settle | open | sustained | ok | failures | client-side failures | p99 (window) | p99 (ramp) | echoes | runner CPU | note |\n")
		b.WriteString("|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|---|\n")
		for _, s := range steps {
			ok := "yes"
			if !s.OK {
				ok = "**no**"
				if s.Why != "" {
					ok += ": " + s.Why
				}
			}
			ramp, settle, rampP99 := fmt.Sprintf("%.0f s", s.RampSeconds), fmt.Sprintf("%.0f s", s.SettleSeconds), p99Cell(s.RampLatency)
			if !s.Settled {
				settle = "> " + settle
			}
			if !s.Window && s.RampSeconds == 0 {
				ramp, settle, rampP99 = "—", "—", "—" // an older folder: no ramp, settle or window recorded
			}
			note := ""
			if s.Untrusted != "" {
				note = "untrusted"
			}
			fmt.Fprintf(b, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Index,
				analysis.Count(float64(s.Offered)), ramp, settle, analysis.Count(float64(s.Open)), analysis.Count(float64(s.Sustained)), ok,
				failureCell(s.Failures), failureCell(s.ClientFailures), p99Cell(s.Latency), rampP99, analysis.Count(float64(s.Echoes)), runnerCPUCell(s), note)
		}
		b.WriteString("\n")
	}
	origin, hasOrigin := analysis.Origin(l, r.Model)
	at := func(t time.Time) string {
		if !hasOrigin {
			return stamp(t)
		}
		return fmt.Sprintf("%.1f s", t.Sub(origin).Seconds())
	}
	if reps := analysis.Reports(l, r.Model); len(reps) > 0 {
		b.WriteString("Failures the model reported itself:\n\n| at | instance | kind | errno | count | connections held | message |\n|--:|--:|---|---|--:|--:|---|\n")
		for _, rep := range reps {
			fmt.Fprintf(b, "| %s | %d | %s | %s | %d | %s | %s |\n", at(rep.Time), rep.Instance, cellMD(rep.Kind), cellMD(rep.Errno),
				rep.Count, analysis.Count(float64(rep.Conns)), cellMD(rep.Msg))
		}
		b.WriteString("\n")
	}
	if evs := analysis.Events(l, r.Model); len(evs) > 0 {
		b.WriteString("Events:\n\n| at | event | message |\n|--:|---|---|\n")
		for _, e := range evs {
			kind := cellMD(e.Kind)
			if analysis.IsEnd(e.Kind) {
				kind = "**" + kind + "**"
			}
			fmt.Fprintf(b, "| %s | %s | %s |\n", at(e.Time), kind, cellMD(e.Msg))
		}
		b.WriteString("\n")
	}
	embed(b, links, results.FailuresChart(r.Model), "Failures by class: "+r.Model)
	embed(b, links, results.TimelineChart(r.Model), "Timeline: "+r.Model)
}

// hostileSection is the hostile-clients matrix: per model and kind, the
// well-behaved connections against the baseline step without hostiles.
func hostileSection(b *bytes.Buffer, rs []row) {
	any := false
	for _, r := range rs {
		any = any || len(r.Hostile) > 0
	}
	if !any {
		return
	}
	b.WriteString("\n## Hostile clients\n\nEach kind ran as one step after the last, its misbehaving connections beside the last step's well-behaved ones; the baseline is that last step, without them. ")
	b.WriteString("A model is named when it died, its memory grew by 1 MiB/s or more over the window, or fewer than 95% of the well-behaved connections were sustained.\n\n")
	b.WriteString("| model | kind | hostile | well-behaved sustained | baseline | p99 | baseline p99 | PSS growth | verdict |\n|---|---|--:|--:|--:|--:|--:|--:|---|\n")
	for _, r := range rs {
		for _, e := range r.Hostile {
			verdict := "weathered"
			switch {
			case e.Untrusted != "":
				verdict = "untrusted: " + e.Untrusted
			case e.Failed != "":
				verdict = "**" + e.Failed + "**"
			}
			baseP99, growth := "—", "none"
			if e.Baseline > 0 {
				baseP99 = analysis.Millis(e.BaselineP99)
			}
			if e.MemGrowth > 0 {
				growth = analysis.Bytes(e.MemGrowth) + "/s"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s (%.0f%%) | %s | %s | %s | %s | %s |\n", cellMD(r.Model), e.Kind,
				analysis.Count(float64(e.Hostile)), analysis.Count(float64(e.Sustained)), 100*float64(e.Sustained)/float64(max(e.Offered, 1)),
				analysis.Count(float64(e.Baseline)), p99Cell(e.Latency), baseP99, growth, cellMD(verdict))
		}
	}
}

// p99Cell is "no echo" when nothing came back: never a 0.00 ms.
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

func p99Cell(p results.Percentiles) string {
	if p.Count == 0 {
		return "no echo"
	}
	return analysis.Millis(p.P99)
}

func failureCell(m map[string]int64) string {
	if len(m) == 0 {
		return "0"
	}
	var parts []string
	for _, k := range analysis.Keys(m) {
		parts = append(parts, fmt.Sprintf("%s %s", k, analysis.Count(float64(m[k]))))
	}
	return cellMD(strings.Join(parts, ", "))
}

func envSection(b *bytes.Buffer, env results.Environment) {
	b.WriteString("\n## Machine and limits\n\n")
	fmt.Fprintf(b, "- kernel: %s\n- CPUs: %d\n- memory: %s total, %s available at start\n- page size: %s\n- running as root: %v\n",
		env.Kernel, env.CPUs, analysis.Bytes(float64(env.MemTotal)), analysis.Bytes(float64(env.MemAvailable)), analysis.Bytes(float64(env.PageSize)), env.Root)
	if len(env.Limits) == 0 {
		return
	}
	b.WriteString("\n| limit | value | connections it allows | scope | to raise it |\n|---|---|--:|---|---|\n")
	for _, lim := range env.Limits {
		conns := "—"
		if lim.Conns > 0 {
			conns = analysis.Count(float64(lim.Conns))
		}
		raise := ""
		if lim.Raise != "" {
			raise = "`" + lim.Raise + "`"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", cellMD(lim.Name), cellMD(lim.Value), conns, lim.Scope, cellMD(raise))
	}
}

func configSection(b *bytes.Buffer, c results.Config) {
	procs := fmt.Sprint(c.Procs)
	if c.Procs == 0 {
		procs = "0 (as many as the open-files limit requires)"
	}
	steps := make([]string, len(c.Steps))
	for i, s := range c.Steps {
		steps[i] = analysis.Count(float64(s))
	}
	b.WriteString("\n## Settings\n\n| setting | value |\n|---|---|\n")
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
		fmt.Fprintf(b, "| %s | %s |\n", kv[0], cellMD(kv[1]))
	}
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
	b.WriteString("> **Incomplete results.** Some files of this run were not saved whole; every figure below covers only what was read:\n")
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
