package plot

import (
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Series is one line of a Panel. Lines of a panel take the palette's
// colours in order; Dashed draws one dashed (by convention here: the
// client's side, or a limit).
type Series struct {
	Name   string
	X, Y   []float64
	Dashed bool
	Log    bool // unused points (Y ≤ 0) are left out on a log axis
}

// Mark is a vertical line across a panel at X, labelled.
type Mark struct {
	X     float64
	Label string
}

// Panel is one chart of a Panels figure.
type Panel struct {
	Title, XLabel, YLabel string
	Series                []Series
	Marks                 []Mark
	// YMax, when positive, fixes the top of the Y axis (a known ceiling,
	// such as the machine's CPUs).
	YMax float64
}

// Panels draws a figure of panels (grid[row][column]) sharing a title,
// written as name.png and name.svg in dir, for charts whose data is not a
// bench run's (the replay's timeline). It returns the files written.
func Panels(dir, name, title string, grid [][]Panel) ([]string, error) {
	rows := make([][]*gplot.Plot, len(grid))
	legs := make([]*gplot.Legend, len(grid))
	ncols := 1
	for j, row := range grid {
		ncols = max(ncols, len(row))
		leg := newLegend()
		seen := map[string]bool{}
		for _, pn := range row {
			p := newPlot(pn.Title, pn.XLabel, pn.YLabel)
			xmax := 1.0
			for i, s := range pn.Series {
				var xys plotter.XYs
				for k := range min(len(s.X), len(s.Y)) {
					xys = append(xys, plotter.XY{X: s.X[k], Y: s.Y[k]})
					xmax = math.Max(xmax, s.X[k])
				}
				c := palette[i%len(palette)]
				if len(xys) == 0 {
					continue
				}
				line, err := plotter.NewLine(xys)
				if err != nil {
					continue
				}
				line.LineStyle = lineStyle(c, 2, s.Dashed)
				p.Add(line)
				// One legend per row: the panels of a row show the same
				// series for different subjects.
				if !seen[s.Name] {
					seen[s.Name] = true
					leg.Add(s.Name, line)
				}
			}
			for _, m := range pn.Marks {
				p.Add(newVLine(m.X, m.Label, markerRed))
				xmax = math.Max(xmax, m.X)
			}
			if len(pn.Series) == 0 {
				p.Add(note("nothing recorded"))
			}
			p.X.Min, p.X.Max = 0, xmax*1.02
			p.Y.Min = 0
			p.Y.Max = math.Max(p.Y.Max*1.08, 1)
			if pn.YMax > 0 {
				p.Y.Max = pn.YMax
			}
			rows[j] = append(rows[j], p)
		}
		legs[j] = leg
	}
	f := &figure{name: name, title: title, w: vg.Length(5*ncols+2) * inch, h: vg.Length(2.6*float64(len(grid))+0.6) * inch, rows: rows, legends: legs}
	return f.save(dir)
}
