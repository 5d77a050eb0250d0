package plot

import (
	"image/color"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"c10klab/runner/internal/analysis"
	"c10klab/runner/internal/results"
)

// workFigure is the model × work matrix as a dot plot: a row per model, its
// capacity under each work setting on a log scale (a blocking handler can
// cut a capacity a hundredfold), one colour and glyph per setting. nil for
// a run measured without --work.
func workFigure(l *results.Loaded) *figure {
	var sums []results.Summary
	for _, m := range l.Models() {
		s, _ := analysis.Summary(l, m)
		sums = append(sums, s)
	}
	mx, ok := analysis.Work(sums)
	if !ok {
		return nil
	}
	p := newPlot("", "connections sustained (capacity, log scale)", "")
	p.X.Scale = gplot.LogScale{}
	p.X.Tick.Marker = logTicks{}
	leg := newLegend()
	leg.Top, leg.Left = true, false
	names := make([]string, len(mx.Rows))
	lo, hi := 0.0, 0.0
	for w, work := range mx.Works {
		var xys plotter.XYs
		for i, r := range mx.Rows {
			// The first row is drawn at the top, as in the report's table.
			y := float64(len(mx.Rows) - 1 - i)
			names[len(mx.Rows)-1-i] = r.Model
			if s := r.Cells[w]; s != nil && s.Capacity > 0 {
				c := float64(s.Capacity)
				xys = append(xys, plotter.XY{X: c, Y: y})
				if lo == 0 || c < lo {
					lo = c
				}
				hi = max(hi, c)
			}
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil || len(xys) == 0 {
			continue
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: workColor(w), Radius: vg.Points(4), Shape: glyphs[w%len(glyphs)]}
		p.Add(sc)
		leg.Add(analysis.WorkName(work), sc)
	}
	if hi == 0 {
		p.X.Scale = gplot.LinearScale{}
		p.X.Tick.Marker = humanTicks{}
		p.Add(note("no capacity measured under any work setting"))
		p.X.Min, p.X.Max = 0, 1
	} else {
		p.X.Min, p.X.Max = lo/2, hi*2
	}
	p.NominalY(names...)
	p.Y.Padding = vg.Points(6)
	h := vg.Length(len(mx.Rows))*vg.Points(18) + 1.5*inch
	return &figure{name: results.WorkChart, title: "Capacity under the work each message costs", w: 9 * inch, h: h,
		rows: [][]*gplot.Plot{{p}}, legends: []*gplot.Legend{leg}}
}

// workColor is the colour of the i-th work setting: the plain echo in
// grey, the rest in the palette's hues.
func workColor(i int) color.Color {
	if i == 0 {
		return grey
	}
	return palette[(i-1)%len(palette)]
}
