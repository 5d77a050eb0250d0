package plot

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

const (
	inch = vg.Inch
	kib  = 1024.0
	mib  = 1024.0 * 1024.0
)

var (
	grey      = color.Gray{Y: 120}
	markerRed = color.RGBA{0xb2, 0x18, 0x2b, 0xff}
)

func lineStyle(c color.Color, width float64, dashed bool) draw.LineStyle {
	s := draw.LineStyle{Color: c, Width: vg.Points(width)}
	if dashed {
		s.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	}
	return s
}

// addSeries draws a model's line with point markers, each titled by
// label(i) in the SVG, and returns it for the legend; nothing is drawn
// for an empty series.
func addSeries(p *gplot.Plot, xys plotter.XYs, c color.Color, dashes []vg.Length, glyph draw.GlyphDrawer, hv *hovers, label func(i int) string) (*plotter.Line, *plotter.Scatter) {
	if len(xys) == 0 {
		return nil, nil
	}
	line, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return nil, nil
	}
	line.LineStyle = lineStyle(c, 2, false)
	line.Dashes = dashes
	pts.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(3), Shape: glyph}
	p.Add(line, pts, hv.points(xys, label))
	return line, pts
}

// swatch is a legend thumbnail for a series that has no points to draw.
func swatch(c color.Color, dashes []vg.Length) *plotter.Line {
	l := &plotter.Line{LineStyle: lineStyle(c, 2, false)}
	l.Dashes = dashes
	return l
}

// endEvent is the event that ended a model abnormally, if any.
func endEvent(l *results.Loaded, model string) *results.Event {
	for _, e := range analysis.Events(l, model) {
		if analysis.IsEnd(e.Kind) {
			return &e
		}
	}
	return nil
}

func endLabel(kind string) string {
	switch kind {
	case results.EventExited:
		return "model exited"
	case results.EventGuard:
		return "guard stopped it"
	case results.EventInterrupted:
		return "interrupted"
	}
	return kind
}

// offeredAt is the offered count of the last sample taken before t, the
// step a model was in when something happened to it.
func offeredAt(l *results.Loaded, model string, e *results.Event) int {
	off := 0
	for _, s := range l.Samples(model) {
		if s.Time.After(e.Time) && off != 0 {
			break
		}
		off = s.Offered
	}
	return off
}

// bracketMark marks a model's capacity bracket on the headline chart: a
// thick bar at the capacity's height from the offer it was sustained at to
// the smallest offer that failed the model; nil without a closed bracket.
func bracketMark(l *results.Loaded, m string, c color.Color) *plotter.Line {
	s, _ := analysis.Summary(l, m)
	if s.Capacity <= 0 || s.BracketFailed <= s.CapacityOffered {
		return nil
	}
	y := float64(s.Capacity)
	seg, err := plotter.NewLine(plotter.XYs{{X: float64(s.CapacityOffered), Y: y}, {X: float64(s.BracketFailed), Y: y}})
	if err != nil {
		return nil
	}
	seg.LineStyle = lineStyle(c, 6, false)
	return seg
}

func sustainedFigure(l *results.Loaded, models []string, styles map[string]modelStyle) *figure {
	p := newPlot("", "offered connections", "sustained connections (through the step's window)")
	leg := newLegend()
	hv := &hovers{}
	var top float64
	for _, m := range models {
		for _, s := range l.Steps(m) {
			top = max(top, float64(s.Offered), float64(s.Sustained))
		}
	}
	if top == 0 {
		p.Add(note("no steps recorded"))
		p.X.Max, p.Y.Max = 1, 1
	} else {
		ref, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: top, Y: top}})
		ref.LineStyle = lineStyle(grey, 1.2, true)
		p.Add(ref)
		leg.Add("offered (y = x)", ref)
	}
	untrusted := &plotter.Scatter{GlyphStyle: draw.GlyphStyle{Color: color.Black, Radius: vg.Points(7), Shape: draw.RingGlyph{}}}
	for _, m := range models {
		steps := l.Steps(m)
		var xys, bad plotter.XYs
		for _, s := range steps {
			xys = append(xys, plotter.XY{X: float64(s.Offered), Y: float64(s.Sustained)})
			if s.Untrusted != "" {
				bad = append(bad, xys[len(xys)-1])
			}
		}
		// The capacity search probes back and forth: the line joins the
		// steps by offer, and the end label stays on the last step run.
		lastRun := plotter.XY{}
		if len(xys) > 0 {
			lastRun = xys[len(xys)-1]
		}
		xys = slices.Clone(xys)
		slices.SortStableFunc(xys, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
		if seg := bracketMark(l, m, styles[m].color); seg != nil {
			p.Add(seg)
		}
		name := m
		if f := l.Run.Families[m]; f != "" {
			name += "  (" + f + ")"
		}
		if len(steps) == 0 {
			name += " (no steps)"
		}
		line, pts := addSeries(p, xys, styles[m].color, nil, styles[m].glyph, hv, func(i int) string {
			t := fmt.Sprintf("%s: %s offered, %s sustained", m, units.Count(float64(steps[i].Offered)), units.Count(float64(steps[i].Sustained)))
			if steps[i].Untrusted != "" {
				t += " (untrusted: the swarm was the limit)"
			}
			return t
		})
		if line != nil {
			leg.Add(name, line, pts)
		} else {
			leg.Add(name, swatch(styles[m].color, nil))
		}
		if len(bad) > 0 {
			u := *untrusted
			u.XYs = bad
			p.Add(&u)
		}
		if e := endEvent(l, m); e != nil && len(xys) > 0 {
			last := lastRun
			text := endLabel(e.Kind)
			if off := offeredAt(l, m, e); off > 0 {
				text += " at " + units.Count(float64(off)) + " offered"
			}
			lab, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{last}, Labels: []string{text}})
			if err == nil {
				lab.TextStyle[0] = textStyle(styles[m].color)
				lab.Offset = vg.Point{X: vg.Points(6), Y: vg.Points(-12)}
				p.Add(lab)
			}
		}
	}
	nameLineEnds(p, l, models, styles, top)
	for _, m := range models {
		for _, s := range l.Steps(m) {
			if s.Untrusted != "" {
				leg.Add("untrusted step (the swarm was the limit)", untrusted)
				goto done
			}
		}
	}
done:
	p.X.Min, p.Y.Min = 0, 0
	return &figure{name: results.SustainedChart, title: "Sustained vs offered connections", w: 9 * inch, h: 5.5 * inch,
		rows: [][]*gplot.Plot{{p}}, legends: []*gplot.Legend{leg}, hover: hv}
}

// serverClassColors and clientClassColors keep the two sides apart: warm
// and saturated for failures blamed on the model, greys for the swarm's own.
var (
	serverClassColors = []color.RGBA{
		{0xd6, 0x27, 0x28, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
		{0xe3, 0x77, 0xc2, 0xff}, {0xbc, 0xbd, 0x22, 0xff}, {0x17, 0xbe, 0xcf, 0xff}, {0x1f, 0x77, 0xb4, 0xff},
	}
	clientClassColors = []color.Gray{{Y: 150}, {Y: 200}, {Y: 100}, {Y: 225}}
)

// failureBar is one step's failures; partial marks the step a model was in
// when it stopped, rebuilt from its samples since it has no step record.
type failureBar struct {
	label          string
	fails, clients map[string]int64
}

func failureBars(l *results.Loaded, model string) []failureBar {
	steps := l.Steps(model)
	var bars []failureBar
	for _, s := range steps {
		bars = append(bars, failureBar{label: units.Count(float64(s.Offered)), fails: s.Failures, clients: s.ClientFailures})
	}
	samples := l.Samples(model)
	if len(samples) == 0 {
		return bars
	}
	last := samples[len(samples)-1]
	if len(steps) > 0 && last.Step <= steps[len(steps)-1].Index {
		return bars
	}
	// Cumulative counts at the end of the previous step are the baseline.
	var base results.Sample
	for _, s := range samples {
		if s.Step < last.Step {
			base = s
		}
	}
	bars = append(bars, failureBar{
		label:   units.Count(float64(last.Offered)) + " (unfinished)",
		fails:   sub(last.Swarm.Failures, base.Swarm.Failures),
		clients: sub(last.Swarm.ClientFailures, base.Swarm.ClientFailures),
	})
	return bars
}

func sub(a, b map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range a {
		if d := v - b[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

func failuresFigure(l *results.Loaded, model string) *figure {
	bars := failureBars(l, model)
	p := newPlot("", "offered connections (step)", "failures during the step")
	leg := newLegend()
	var all, allClient []map[string]int64
	for _, b := range bars {
		all, allClient = append(all, b.fails), append(allClient, b.clients)
	}
	server, client := analysis.Keys(all...), analysis.Keys(allClient...)
	width := vg.Points(math.Min(40, 420/float64(max(len(bars), 1))))
	var below *plotter.BarChart
	stack := func(class string, values plotter.Values, c color.Color, clientSide bool) {
		b, err := plotter.NewBarChart(values, width)
		if err != nil {
			return
		}
		b.Color = c
		b.LineStyle = lineStyle(color.Gray{Y: 60}, 0.5, false)
		name := class
		if clientSide {
			b.LineStyle = lineStyle(color.Black, 1, true)
			name = "client-side " + class
		}
		if below != nil {
			b.StackOn(below)
		}
		below = b
		p.Add(b)
		leg.Add(name, b)
	}
	for i, class := range server {
		v := make(plotter.Values, len(bars))
		for j, b := range bars {
			v[j] = float64(b.fails[class])
		}
		stack(class, v, serverClassColors[i%len(serverClassColors)], false)
	}
	for i, class := range client {
		v := make(plotter.Values, len(bars))
		for j, b := range bars {
			v[j] = float64(b.clients[class])
		}
		stack(class, v, clientClassColors[i%len(clientClassColors)], true)
	}
	var top float64
	first := -1
	for i, b := range bars {
		t := float64(analysis.Total(b.fails) + analysis.Total(b.clients))
		top = max(top, t)
		if t > 0 && first < 0 {
			first = i
		}
	}
	switch {
	case len(bars) == 0:
		p.Add(note("no steps recorded"))
	case top == 0:
		p.Add(note("no failures recorded"))
	}
	tops := make([]float64, len(bars))
	for i, b := range bars {
		tops[i] = float64(analysis.Total(b.fails) + analysis.Total(b.clients))
	}
	hv := &hovers{}
	p.Add(hv.bars(tops, width, func(i int) string { return failureTitle(bars[i]) }))
	if len(bars) > 0 {
		labels := make([]string, len(bars))
		for i, b := range bars {
			labels[i] = b.label
		}
		p.NominalX(labels...)
	}
	p.X.Min, p.X.Max = -0.5, math.Max(float64(len(bars))-0.5, 0.5)
	p.Y.Min, p.Y.Max = 0, math.Max(top*1.25, 1)
	if first >= 0 {
		label := "first failure"
		if analysis.Total(bars[first].fails) == 0 {
			label += " (client-side only)"
		}
		p.Add(newVLine(float64(first)-0.5, label, markerRed))
	}
	if e := endEvent(l, model); e != nil && len(bars) > 0 {
		p.Add(newVLine(float64(len(bars))-0.5, endLabel(e.Kind), color.Black))
		p.X.Max += 0.05
	}
	title := "Failures by class: " + model
	if len(client) > 0 {
		title += "  (grey, dashed = client-side: the swarm's own)"
	}
	return &figure{name: results.FailuresChart(model), title: title, w: 9 * inch, h: 5 * inch,
		rows: [][]*gplot.Plot{{p}}, legends: []*gplot.Legend{leg}, hover: hv}
}

// failureTitle is a failure bar's classes and counts, in words.
func failureTitle(b failureBar) string {
	t := b.label + " offered:"
	for _, k := range analysis.Keys(b.fails) {
		t += fmt.Sprintf(" %s %s;", k, units.Count(float64(b.fails[k])))
	}
	for _, k := range analysis.Keys(b.clients) {
		t += fmt.Sprintf(" client-side %s %s;", k, units.Count(float64(b.clients[k])))
	}
	return strings.TrimSuffix(t, ";")
}

// perStep draws one line per model of f(step) against offered connections;
// steps for which f has no value (nothing sustained, nothing echoed) are
// left out rather than drawn as zero. Each point is titled with the model,
// the offer and say(value).
func perStep(p *gplot.Plot, leg *gplot.Legend, l *results.Loaded, models []string, styles map[string]modelStyle, f func(model string, s results.Step) (float64, bool), logY bool, hv *hovers, say func(float64) string) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, m := range models {
		var xys plotter.XYs
		for _, s := range l.Steps(m) {
			v, ok := f(m, s)
			if !ok || math.IsNaN(v) || math.IsInf(v, 0) || (logY && v <= 0) {
				continue
			}
			xys = append(xys, plotter.XY{X: float64(s.Offered), Y: v})
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		line, pts := addSeries(p, xys, styles[m].color, nil, styles[m].glyph, hv, func(i int) string {
			return fmt.Sprintf("%s at %s offered: %s", m, units.Count(xys[i].X), say(xys[i].Y))
		})
		if leg == nil {
			continue
		}
		if line != nil {
			leg.Add(m, line, pts)
		} else {
			leg.Add(m+" (no data)", swatch(styles[m].color, nil))
		}
	}
	return lo, hi
}

// nameLineEnds writes each model's name where its line ends, so that
// sixteen lines can be told apart without the legend; models whose lines
// end at the same point share one label. Lines that sustained the largest
// offer end together at the top and are left to the legend.
func nameLineEnds(p *gplot.Plot, l *results.Loaded, models []string, styles map[string]modelStyle, top float64) {
	type end struct{ x, y float64 }
	var order []end
	names := map[end][]string{}
	for _, m := range models {
		steps := l.Steps(m)
		if len(steps) == 0 {
			continue
		}
		s := steps[len(steps)-1]
		e := end{float64(s.Offered), float64(s.Sustained)}
		if e.x >= top && e.y >= 0.95*top {
			continue // reached the largest offer, with the others there
		}
		if _, ok := names[e]; !ok {
			order = append(order, e)
		}
		names[e] = append(names[e], m)
	}
	for _, e := range order {
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: e.x, Y: e.y}}, Labels: []string{strings.Join(names[e], ", ")}})
		if err != nil {
			continue
		}
		lab.TextStyle[0] = textStyle(styles[names[e][0]].color)
		lab.Offset = vg.Point{X: vg.Points(6), Y: vg.Points(4)}
		p.Add(lab)
	}
}

func latencyFigure(l *results.Loaded, models []string, styles map[string]modelStyle) *figure {
	pick := []struct {
		name string
		f    func(results.Percentiles) float64
	}{
		{"p50", func(p results.Percentiles) float64 { return p.P50 }},
		{"p99", func(p results.Percentiles) float64 { return p.P99 }},
		{"p99.9", func(p results.Percentiles) float64 { return p.P999 }},
	}
	leg := newLegend()
	hv := &hovers{}
	var row []*gplot.Plot
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, q := range pick {
		p := newPlot(q.name, "offered connections", "latency (ms, log scale)")
		var lg *gplot.Legend
		if i == 0 {
			lg = leg
		}
		a, b := perStep(p, lg, l, models, styles, func(m string, s results.Step) (float64, bool) {
			return q.f(s.Latency), s.Latency.Count > 0
		}, true, hv, func(v float64) string { return q.name + " " + units.Millis(v) })
		lo, hi = math.Min(lo, a), math.Max(hi, b)
		row = append(row, p)
	}
	// One y range for all three panels, so they can be compared by eye.
	if math.IsInf(lo, 0) {
		lo, hi = 0.1, 10
		row[0].Add(note("no latency recorded"))
	}
	lo, hi = pow10floor(lo), pow10floor(hi)*10
	for _, p := range row {
		p.Y.Scale = gplot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
		p.Y.Min, p.Y.Max = lo, hi
		p.X.Min = 0
	}
	return &figure{name: results.LatencyChart, title: "Echo latency over each step's hold: scheduled send to the echo's arrival", w: 13 * inch, h: 4.8 * inch,
		rows: [][]*gplot.Plot{row}, legends: []*gplot.Legend{leg}, hover: hv}
}

func memoryFigure(l *results.Loaded, models []string, styles map[string]modelStyle) *figure {
	user := newPlot("user: model PSS above idle / sustained", "offered connections", "KiB per connection (log scale)")
	kernel := newPlot("kernel: TCP memory + unreclaimable slab above idle / sustained", "offered connections", "KiB per connection (log scale)")
	leg := newLegend()
	hv := &hovers{}
	perConn := func(side string) func(float64) string {
		return func(v float64) string { return units.Bytes(v*kib) + " " + side + " memory per connection" }
	}
	// Log scale: a process per connection costs hundreds of KiB, an event
	// loop a few hundred bytes; on a linear axis the small ones were a flat
	// line at zero. A value ≤ 0 (memory returned below the idle size) has
	// no place on it and is left out.
	lu, hu := perStep(user, leg, l, models, styles, func(m string, s results.Step) (float64, bool) {
		v, ok := analysis.UserMemPerConn(s)
		return v / kib, ok
	}, true, hv, perConn("user"))
	lk, hk := perStep(kernel, nil, l, models, styles, func(m string, s results.Step) (float64, bool) {
		v, ok := analysis.KernelMemPerConn(s, l.Samples(m))
		return v / kib, ok
	}, true, hv, perConn("kernel"))
	lo, hi := math.Min(lu, lk), math.Max(hu, hk)
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		lo, hi = 0.1, 10
		user.Add(note("no memory per connection recorded"))
	}
	lo, hi = pow10floor(lo), pow10floor(hi)*10
	for _, p := range []*gplot.Plot{user, kernel} {
		p.X.Min = 0
		p.Y.Scale = gplot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
		p.Y.Min, p.Y.Max = lo, hi
	}
	return &figure{name: results.MemoryChart, title: "Memory per connection", w: 12 * inch, h: 5 * inch,
		rows: [][]*gplot.Plot{{user, kernel}}, legends: []*gplot.Legend{leg}, hover: hv}
}

func cpuFigure(l *results.Loaded, models []string, styles map[string]modelStyle) *figure {
	p := newPlot("", "offered connections", "model CPU (user + system), ms per 1,000 echoes")
	leg := newLegend()
	hv := &hovers{}
	_, hi := perStep(p, leg, l, models, styles, func(m string, s results.Step) (float64, bool) {
		v, ok := analysis.CPUPer1kEchoes(s)
		return v * 1000, ok
	}, false, hv, func(v float64) string { return units.Millis(v) + " CPU per 1,000 echoes" })
	if math.IsInf(hi, 0) {
		p.Add(note("no echoes recorded"))
		hi = 1
	}
	p.X.Min, p.Y.Min = 0, 0
	p.Y.Max = hi * 1.1
	return &figure{name: results.CPUChart, title: "CPU per 1,000 echoed messages", w: 9 * inch, h: 5 * inch,
		rows: [][]*gplot.Plot{{p}}, legends: []*gplot.Legend{leg}, hover: hv}
}

func timelineFigure(l *results.Loaded, model string, c color.Color) *figure {
	samples := l.Samples(model)
	conns := newPlot("connections", "", "connections")
	fails := newPlot("failures per second", "", "failures / s")
	mem := newPlot("model memory (whole process tree)", "", "MiB")
	tasks := newPlot("model processes, threads and open files", "seconds since the model started", "count")
	legs := []*gplot.Legend{newLegend(), newLegend(), newLegend(), newLegend()}
	hv := &hovers{}

	series := func(p *gplot.Plot, leg *gplot.Legend, name string, style draw.LineStyle, f func(i int, s results.Sample) (float64, bool)) *plotter.Line {
		var xys plotter.XYs
		for i, s := range samples {
			if v, ok := f(i, s); ok {
				xys = append(xys, plotter.XY{X: s.Elapsed, Y: v})
			}
		}
		if len(xys) == 0 {
			return nil
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil
		}
		line.LineStyle = style
		p.Add(line, hv.points(xys, func(i int) string {
			return fmt.Sprintf("%.0f s: %s %s", xys[i].X, name, tickLabel(roundSig(xys[i].Y)))
		}))
		leg.Add(name, line)
		return line
	}
	// Offered changes at a step's start and holds: drawn as stairs, the
	// sample's value holding back to the previous sample.
	if off := series(conns, legs[0], "offered", lineStyle(grey, 1.5, true), func(_ int, s results.Sample) (float64, bool) { return float64(s.Offered), true }); off != nil {
		off.StepStyle = plotter.PreStep
	}
	series(conns, legs[0], "open", lineStyle(c, 1, false), func(_ int, s results.Sample) (float64, bool) { return float64(s.Swarm.Open), true })
	series(conns, legs[0], "sustained", lineStyle(c, 2.5, false), func(_ int, s results.Sample) (float64, bool) { return float64(s.Swarm.Sustained), true })

	rate := func(get func(results.Sample) int64) func(int, results.Sample) (float64, bool) {
		return func(i int, s results.Sample) (float64, bool) {
			prev, t0 := int64(0), 0.0
			if i > 0 {
				prev, t0 = get(samples[i-1]), samples[i-1].Elapsed
			} else {
				t0 = s.Elapsed - 1
			}
			dt := s.Elapsed - t0
			if dt <= 0 {
				return 0, false
			}
			return math.Max(float64(get(s)-prev), 0) / dt, true
		}
	}
	series(fails, legs[1], "blamed on the model", lineStyle(markerRed, 2, false), rate(func(s results.Sample) int64 { return analysis.Total(s.Swarm.Failures) }))
	series(fails, legs[1], "client-side (swarm)", lineStyle(grey, 2, true), rate(func(s results.Sample) int64 { return analysis.Total(s.Swarm.ClientFailures) }))

	// A sample taken after the model died has no process to measure; a
	// zero there is "no process", not "no memory", so it is left out.
	alive := func(s results.Sample) bool { return s.Model.Procs > 0 }
	// Through the guard's cgroups the per-process figures (RSS, PSS, open
	// files) are read only before the first step, not each second; the
	// cgroup's memory is, where there is one.
	detail := func(s results.Sample) bool { return alive(s) && !s.Model.NoDetail }
	if slices.ContainsFunc(samples, func(s results.Sample) bool { return s.Model.Mem > 0 }) {
		series(mem, legs[2], "cgroup (rss+mapped)", lineStyle(color.Black, 1.5, false), func(_ int, s results.Sample) (float64, bool) {
			return float64(s.Model.Mem) / mib, alive(s) && s.Model.Mem > 0
		})
	}
	series(mem, legs[2], "RSS", lineStyle(c, 1.2, true), func(_ int, s results.Sample) (float64, bool) { return float64(s.Model.RSS) / mib, detail(s) })
	series(mem, legs[2], "PSS", lineStyle(c, 2.5, false), func(_ int, s results.Sample) (float64, bool) { return float64(s.Model.PSS) / mib, detail(s) })

	series(tasks, legs[3], "threads", lineStyle(c, 2.5, false), func(_ int, s results.Sample) (float64, bool) { return float64(s.Model.Threads), alive(s) })
	series(tasks, legs[3], "open files", lineStyle(grey, 1.5, true), func(_ int, s results.Sample) (float64, bool) { return float64(s.Model.FDs), detail(s) })
	series(tasks, legs[3], "processes", lineStyle(color.Black, 1, false), func(_ int, s results.Sample) (float64, bool) { return float64(s.Model.Procs), alive(s) })

	panels := []*gplot.Plot{conns, fails, mem, tasks}
	xmax := 1.0
	if len(samples) > 0 {
		xmax = math.Max(samples[len(samples)-1].Elapsed, xmax)
	} else {
		conns.Add(note("no samples recorded"))
	}
	// Mark what ended the model in every panel, labelled once, on top.
	origin, ok := analysis.Origin(l, model)
	for _, e := range analysis.Events(l, model) {
		if !ok || !analysis.IsEnd(e.Kind) {
			continue
		}
		x := e.Time.Sub(origin).Seconds()
		xmax = math.Max(xmax, x)
		for i, p := range panels {
			label := ""
			if i == 0 {
				label = fmt.Sprintf("%s at %.1f s", endLabel(e.Kind), x)
			}
			p.Add(newVLine(x, label, markerRed))
		}
	}
	for _, p := range panels {
		p.X.Min, p.X.Max = 0, xmax*1.02
		p.Y.Min = 0
		p.Y.Max = math.Max(p.Y.Max*1.08, 1)
	}
	rows := make([][]*gplot.Plot, len(panels))
	for i, p := range panels {
		rows[i] = []*gplot.Plot{p}
	}
	return &figure{name: results.TimelineChart(model), title: "Timeline: " + model, w: 10 * inch, h: 11 * inch, rows: rows, legends: legs, hover: hv}
}
