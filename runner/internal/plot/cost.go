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
	"c10klab/runner/internal/units"
)

// costFigure shows how each model's cost grows with the connections it
// holds, on log axes: kernel and user memory per connection, CPU per
// connection held and the ramp rate from the samples taken while ramps
// opened connections (thin lines), and each step's settled figures from
// its window (points). CPU per echo has only the steps' points: during a
// ramp the model's CPU goes to accepting, not to echoing.
//
// Both CPU panels carry the swarm's cost beside the model's (dashed, in
// the colour of the model it drove), and the CPU per connection panel the
// line where the swarm's CPUs are all busy: where the swarm's curve meets
// it, the load generator, not the server, is the wall.
func costFigure(l *results.Loaded, models []string, styles map[string]modelStyle) *figure {
	kernel := newPlot("kernel memory per connection (TCP + slab, both ends)", "connections (log scale)", "KiB per connection")
	user := newPlot("user memory per connection (model PSS above idle)", "connections (log scale)", "KiB per connection")
	cpu := newPlot("CPU per 1,000 echoes (steps' windows)", "connections (log scale)", "ms per 1,000 echoes")
	held := newPlot("CPU per 1,000 connections held", "connections (log scale)", "% of one CPU per 1,000 connections")
	rate := newPlot("ramp rate: connections opened per second", "connections (log scale)", "connections / s")
	leg := newLegend()
	hv := &hovers{}
	type panel struct {
		p    *gplot.Plot
		say  func(float64) string // a value in words
		ramp func(analysis.CostPoint) (float64, bool)
		step func(m string, steps []results.Step, i int) (float64, bool)
		// swarmRamp and swarmStep, when set, are the swarm's figures
		// beside the model's, drawn dashed.
		swarmRamp func(analysis.CostPoint) (float64, bool)
		swarmStep func(steps []results.Step, i int) (float64, bool)
		lo, hi    float64
	}
	// CPUs per connection as % of one CPU per 1,000 connections.
	const heldUnit = 100 * 1000
	panels := []*panel{
		{p: kernel, say: func(v float64) string { return units.Bytes(v*kib) + " kernel memory per connection" }, ramp: func(c analysis.CostPoint) (float64, bool) { return c.Kernel / kib, c.HasKernel },
			step: func(m string, steps []results.Step, i int) (float64, bool) {
				v, ok := analysis.KernelMemPerConn(steps[i], l.Samples(m))
				return v / kib, ok
			}},
		{p: user, say: func(v float64) string { return units.Bytes(v*kib) + " user memory per connection" }, ramp: func(c analysis.CostPoint) (float64, bool) { return c.User / kib, c.HasUser },
			step: func(_ string, steps []results.Step, i int) (float64, bool) {
				v, ok := analysis.UserMemPerConn(steps[i])
				return v / kib, ok
			}},
		{p: cpu, say: func(v float64) string { return units.Millis(v) + " CPU per 1,000 echoes" }, step: func(_ string, steps []results.Step, i int) (float64, bool) {
			v, ok := analysis.CPUPer1kEchoes(steps[i])
			return v * 1000, ok
		}, swarmStep: func(steps []results.Step, i int) (float64, bool) {
			v, ok := analysis.SwarmCPUPer1kEchoes(steps[i])
			return v * 1000, ok
		}},
		{p: held, say: func(v float64) string { return fmt.Sprintf("%.3g%% of one CPU per 1,000 connections held", v) },
			ramp: func(c analysis.CostPoint) (float64, bool) { return c.ModelCPU * heldUnit, true },
			step: func(_ string, steps []results.Step, i int) (float64, bool) {
				v, _, ok := analysis.CPUPerConnHeld(steps[i])
				return v * heldUnit, ok
			},
			swarmRamp: func(c analysis.CostPoint) (float64, bool) { return c.SwarmCPU * heldUnit, c.HasSwarm },
			swarmStep: func(steps []results.Step, i int) (float64, bool) {
				_, v, ok := analysis.CPUPerConnHeld(steps[i])
				return v * heldUnit, ok
			}},
		{p: rate, say: func(v float64) string { return units.Count(v) + " connections opened per second" }, ramp: func(c analysis.CostPoint) (float64, bool) { return c.Rate, true },
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
	heldPanel := panels[3]
	swarmCharted := false // any of the swarm's CPU: the agents ran here
	xlo, xhi := math.Inf(1), math.Inf(-1)
	for _, m := range models {
		st := styles[m]
		ramp := analysis.RampCost(l.Samples(m))
		var named bool
		steps := l.Steps(m)
		for _, pn := range panels {
			// rampLine draws the samples taken while ramping, thin.
			rampLine := func(who string, f func(analysis.CostPoint) (float64, bool), dashes []vg.Length) bool {
				var xys plotter.XYs
				for _, c := range ramp {
					if v, ok := f(c); ok && v > 0 {
						xys = append(xys, plotter.XY{X: float64(c.Conns), Y: v})
					}
				}
				if len(xys) == 0 {
					return false
				}
				line, err := plotter.NewLine(xys)
				if err != nil {
					return false
				}
				line.LineStyle = lineStyle(st.color, 1, false)
				line.Dashes = dashes
				pn.p.Add(line, hv.points(xys, func(i int) string {
					return fmt.Sprintf("%s ramping, %s connections: %s", who, units.Count(xys[i].X), pn.say(xys[i].Y))
				}))
				for _, xy := range xys {
					xlo, xhi = math.Min(xlo, xy.X), math.Max(xhi, xy.X)
					pn.lo, pn.hi = minPos(pn.lo, xy.Y), math.Max(pn.hi, xy.Y)
				}
				return true
			}
			// stepPoints are each step's figures from its window, at the
			// connections it sustained.
			stepPoints := func(f func(i int) (float64, bool)) plotter.XYs {
				var xys plotter.XYs
				for i, s := range steps {
					// At the connections it held: the memory figures are
					// per connection sustained, and a failed step held
					// fewer than it was offered.
					x := float64(s.Sustained)
					// A cut step has no settled figures, and per
					// connection sustained is no cost per connection
					// held when most of those held were not sustained.
					kept := s.Open > 0 && float64(s.Sustained) >= 0.95*float64(s.Open)
					if pn.p != cpu && pn.p != rate && !kept {
						continue
					}
					if v, ok := f(i); ok && v > 0 && x > 0 && s.Hostile == nil && !s.Cut {
						xys = append(xys, plotter.XY{X: x, Y: v})
						xlo, xhi = math.Min(xlo, x), math.Max(xhi, x)
						pn.lo, pn.hi = minPos(pn.lo, v), math.Max(pn.hi, v)
					}
				}
				return xys
			}
			if pn.ramp != nil {
				rampLine(m, pn.ramp, nil)
			}
			xys := stepPoints(func(i int) (float64, bool) { return pn.step(m, steps, i) })
			line, pts := addSeries(pn.p, xys, st.color, nil, st.glyph, hv, func(i int) string {
				return fmt.Sprintf("%s at %s sustained: %s", m, units.Count(xys[i].X), pn.say(xys[i].Y))
			})
			if line != nil && !named {
				leg.Add(m, line, pts)
				named = true
			}
			swarm := "the swarm driving " + m
			if pn.swarmRamp != nil && rampLine(swarm, pn.swarmRamp, swarmDashes) {
				swarmCharted = true
			}
			if pn.swarmStep != nil {
				sxys := stepPoints(func(i int) (float64, bool) { return pn.swarmStep(steps, i) })
				addSeries(pn.p, sxys, st.color, swarmDashes, st.glyph, hv, func(i int) string {
					return fmt.Sprintf("%s at %s sustained: %s", swarm, units.Count(sxys[i].X), pn.say(sxys[i].Y))
				})
				swarmCharted = swarmCharted || len(sxys) > 0
			}
		}
		if !named {
			leg.Add(m+" (no data)", swatch(st.color, nil))
		}
	}
	thin := &plotter.Line{LineStyle: lineStyle(grey, 1, false)}
	leg.Add("thin line: samples while ramping", thin)
	leg.Add("dashed: the swarm driving it", swatch(grey, swarmDashes))
	leg.Add("points: steps' windows", &plotter.Scatter{GlyphStyle: draw.GlyphStyle{Color: grey, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}})
	if math.IsInf(xlo, 0) {
		xlo, xhi = 1000, 10000
		kernel.Add(note("no cost recorded"))
	}
	// The swarm's wall: its CPUs all busy, spread over N connections, is
	// cpus/N per connection. Drawn when the swarm's CPU is, and the
	// panel's range stretched to show it at the largest count, where it
	// comes nearest the figures.
	if cpus := swarmCPUs(l.Run); cpus > 0 && swarmCharted {
		x0, x1 := pow10floor(xlo), pow10floor(xhi)*10
		wall := plotter.XYs{{X: x0, Y: heldUnit * float64(cpus) / x0}, {X: x1, Y: heldUnit * float64(cpus) / x1}}
		if line, err := plotter.NewLine(wall); err == nil {
			line.LineStyle = lineStyle(grey, 1, false)
			line.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
			held.Add(line)
			leg.Add(fmt.Sprintf("dotted: the swarm's %d CPU%s all busy", cpus, plural(cpus)), line)
			atTop := heldUnit * float64(cpus) / xhi
			heldPanel.lo, heldPanel.hi = minPos(heldPanel.lo, atTop), math.Max(heldPanel.hi, atTop)
		}
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
	return &figure{name: results.CostChart, title: "Cost as the connections grow (log scales)", w: 12 * inch, h: 13 * inch,
		rows: [][]*gplot.Plot{{kernel, user}, {cpu, held}, {rate, nil}}, legends: []*gplot.Legend{leg}, hover: hv}
}

// minPos is the smaller of a running minimum (0: none yet) and v.
func minPos(lo, v float64) float64 {
	if lo <= 0 {
		return v
	}
	return math.Min(lo, v)
}

// swarmDashes mark the swarm's series beside the model's solid ones.
var swarmDashes = []vg.Length{vg.Points(6), vg.Points(3)}

// swarmCPUs is how many CPUs the run's agents had: those they were pinned
// to, else every CPU of the machine; 0 when the run does not say.
func swarmCPUs(r results.Run) int {
	if n := len(r.Config.SwarmCPUs); n > 0 {
		return n
	}
	return r.Env.CPUs
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
