package plot

import (
	"fmt"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
)

// costFigure shows how each model's cost grows with the connections it
// holds, on log axes: kernel and user memory per connection and the ramp
// rate from the samples taken while ramps opened connections (thin
// lines), and each step's settled figures from its window (points). CPU
// per echo has only the steps' points: during a ramp the model's CPU goes
// to accepting, not to echoing.
func costFigure(l *results.Loaded, models []string, styles map[string]modelStyle) *figure {
	kernel := newPlot("kernel memory per connection (TCP + slab, both ends)", "connections (log scale)", "KiB per connection")
	user := newPlot("user memory per connection (model PSS above idle)", "connections (log scale)", "KiB per connection")
	cpu := newPlot("model CPU per 1,000 echoes (steps' windows)", "connections (log scale)", "ms per 1,000 echoes")
	rate := newPlot("ramp rate: connections opened per second", "connections (log scale)", "connections / s")
	leg := newLegend()
	hv := &hovers{}
	type panel struct {
		p      *gplot.Plot
		say    func(float64) string // a value in words
		ramp   func(analysis.CostPoint) (float64, bool)
		step   func(m string, steps []results.Step, i int) (float64, bool)
		lo, hi float64
	}
	panels := []*panel{
		{p: kernel, say: func(v float64) string { return analysis.Bytes(v*kib) + " kernel memory per connection" }, ramp: func(c analysis.CostPoint) (float64, bool) { return c.Kernel / kib, c.HasKernel },
			step: func(m string, steps []results.Step, i int) (float64, bool) {
				v, ok := analysis.KernelMemPerConn(steps[i], l.Samples(m))
				return v / kib, ok
			}},
		{p: user, say: func(v float64) string { return analysis.Bytes(v*kib) + " user memory per connection" }, ramp: func(c analysis.CostPoint) (float64, bool) { return c.User / kib, c.HasUser },
			step: func(_ string, steps []results.Step, i int) (float64, bool) {
				v, ok := analysis.UserMemPerConn(steps[i])
				return v / kib, ok
			}},
		{p: cpu, say: func(v float64) string { return analysis.Millis(v) + " CPU per 1,000 echoes" }, step: func(_ string, steps []results.Step, i int) (float64, bool) {
			v, ok := analysis.CPUPer1kEchoes(steps[i])
			return v * 1000, ok
		}},
		{p: rate, say: func(v float64) string { return analysis.Count(v) + " connections opened per second" }, ramp: func(c analysis.CostPoint) (float64, bool) { return c.Rate, true },
			step: func(_ string, steps []results.Step, i int) (float64, bool) {
				// A step's ramp rate: what it added over how long its ramp took.
				prev := 0
				if i > 0 {
					prev = steps[i-1].Open
				}
				s := steps[i]
				return float64(s.Open-prev) / s.RampSeconds, s.RampSeconds > 0 && s.Open > prev
			}},
	}
	xlo, xhi := math.Inf(1), math.Inf(-1)
	for _, m := range models {
		st := styles[m]
		ramp := analysis.RampCost(l.Samples(m))
		var named bool
		for _, pn := range panels {
			if pn.ramp != nil {
				var xys plotter.XYs
				for _, c := range ramp {
					if v, ok := pn.ramp(c); ok && v > 0 {
						xys = append(xys, plotter.XY{X: float64(c.Conns), Y: v})
					}
				}
				if len(xys) > 0 {
					line, err := plotter.NewLine(xys)
					if err == nil {
						line.LineStyle = lineStyle(st.color, 1, false)
						pn.p.Add(line, hv.points(xys, func(i int) string {
							return fmt.Sprintf("%s ramping, %s connections: %s", m, analysis.Count(xys[i].X), pn.say(xys[i].Y))
						}))
						for _, xy := range xys {
							xlo, xhi = math.Min(xlo, xy.X), math.Max(xhi, xy.X)
							pn.lo, pn.hi = minPos(pn.lo, xy.Y), math.Max(pn.hi, xy.Y)
						}
					}
				}
			}
			var xys plotter.XYs
			steps := l.Steps(m)
			for i, s := range steps {
				// At the connections it held: the memory figures are per
				// connection sustained, and a failed step held fewer than
				// it was offered.
				x := float64(s.Sustained)
				// A cut step has no settled figures, and per connection
				// sustained is no cost per connection held when most of
				// those held were not sustained.
				held := s.Open > 0 && float64(s.Sustained) >= 0.95*float64(s.Open)
				if pn.p != cpu && pn.p != rate && !held {
					continue
				}
				if v, ok := pn.step(m, steps, i); ok && v > 0 && x > 0 && s.Hostile == nil && !s.Cut {
					xys = append(xys, plotter.XY{X: x, Y: v})
					xlo, xhi = math.Min(xlo, x), math.Max(xhi, x)
					pn.lo, pn.hi = minPos(pn.lo, v), math.Max(pn.hi, v)
				}
			}
			line, pts := addSeries(pn.p, xys, st.color, nil, st.glyph, hv, func(i int) string {
				return fmt.Sprintf("%s at %s sustained: %s", m, analysis.Count(xys[i].X), pn.say(xys[i].Y))
			})
			if line != nil && !named {
				leg.Add(m, line, pts)
				named = true
			}
		}
		if !named {
			leg.Add(m+" (no data)", swatch(st.color, nil))
		}
	}
	thin := &plotter.Line{LineStyle: lineStyle(grey, 1, false)}
	leg.Add("thin line: samples while ramping", thin)
	leg.Add("points: steps' windows", &plotter.Scatter{GlyphStyle: draw.GlyphStyle{Color: grey, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}})
	if math.IsInf(xlo, 0) {
		xlo, xhi = 1000, 10000
		kernel.Add(note("no cost recorded"))
	}
	for _, pn := range panels {
		p := pn.p
		p.X.Scale, p.X.Tick.Marker = gplot.LogScale{}, logTicks{}
		p.X.Min, p.X.Max = pow10floor(xlo), pow10floor(xhi)*10
		if pn.hi <= 0 || math.IsInf(pn.lo, 0) {
			pn.lo, pn.hi = 0.1, 10
			p.Add(note("none recorded"))
		}
		p.Y.Scale, p.Y.Tick.Marker = gplot.LogScale{}, logTicks{}
		p.Y.Min, p.Y.Max = pow10floor(pn.lo), pow10floor(pn.hi)*10
	}
	return &figure{name: results.CostChart, title: "Cost as the connections grow (log scales)", w: 12 * inch, h: 9 * inch,
		rows: [][]*gplot.Plot{{kernel, user}, {cpu, rate}}, legends: []*gplot.Legend{leg}, hover: hv}
}

// minPos is the smaller of a running minimum (0: none yet) and v.
func minPos(lo, v float64) float64 {
	if lo <= 0 {
		return v
	}
	return math.Min(lo, v)
}
