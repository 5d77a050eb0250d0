package plot

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"c10klab/runner/internal/results"
	"c10klab/runner/internal/units"
)

// figure is one chart file: a title, a grid of panels and, for each row of
// panels, an optional legend drawn in a column right of the panels, where
// it cannot hide data.
type figure struct {
	name    string // file name without extension
	title   string
	w, h    vg.Length
	rows    [][]*gplot.Plot
	legends []*gplot.Legend // by row; nil entries draw none
	hover   *hovers         // the data points' titles for the SVG; nil: none
}

// save writes the figure as PNG and SVG into dir and returns both paths.
func (f *figure) save(dir string) (paths []string, err error) {
	// gonum/plot panics on some degenerate inputs (a log axis with no
	// positive value, an empty range); one bad chart must not cost the
	// report every other chart.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("draw %s: %v", f.name, r)
		}
	}()
	png := vgimg.New(f.w, f.h)
	f.draw(draw.New(png))
	if f.hover != nil {
		f.hover.marks = nil // the SVG's drawing records them again
	}
	svg := vgsvg.New(f.w, f.h)
	f.draw(draw.New(svg))
	var svgText bytes.Buffer
	if _, err := svg.WriteTo(&svgText); err != nil {
		return nil, fmt.Errorf("draw %s: %w", f.name, err)
	}
	pngPath := filepath.Join(dir, f.name+".png")
	if err := writeFile(pngPath, vgimg.PngCanvas{Canvas: png}); err != nil {
		return nil, err
	}
	svgPath := filepath.Join(dir, f.name+".svg")
	if err := results.WriteBytes(svgPath, f.hover.inject(svgText.Bytes(), f.h)); err != nil {
		return []string{pngPath}, err
	}
	return []string{pngPath, svgPath}, nil
}

func writeFile(path string, w io.WriterTo) error {
	return results.WriteFile(path, func(f io.Writer) error {
		_, err := w.WriteTo(f)
		return err
	})
}

const pad = 6 * vg.Millimeter / 2

func (f *figure) draw(dc draw.Canvas) {
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	area := dc
	area.Min.X += pad
	area.Max.X -= pad
	area.Min.Y += pad
	area.Max.Y -= pad
	if f.title != "" {
		sty := titleStyle()
		area.FillText(sty, vg.Point{X: (area.Min.X + area.Max.X) / 2, Y: area.Max.Y}, f.title)
		area.Max.Y -= sty.Height(f.title) + pad
	}
	var legendW vg.Length
	for _, l := range f.legends {
		if l != nil {
			r := l.Rectangle(area)
			legendW = max(legendW, r.Max.X-r.Min.X+pad)
		}
	}
	plots := area
	plots.Max.X -= legendW
	tiles := draw.Tiles{Rows: len(f.rows), Cols: cols(f.rows), PadX: pad, PadY: pad}
	canvases := gplot.Align(f.rows, tiles, plots)
	for j, row := range f.rows {
		for i, p := range row {
			if p != nil {
				p.Draw(canvases[j][i])
			}
		}
		if j < len(f.legends) && f.legends[j] != nil && len(row) > 0 {
			c := canvases[j][0]
			c.Min.X, c.Max.X = plots.Max.X+pad, area.Max.X
			c.Max.Y -= pad
			f.legends[j].Draw(c)
		}
	}
}

func cols(rows [][]*gplot.Plot) int {
	n := 0
	for _, r := range rows {
		n = max(n, len(r))
	}
	return n
}

func titleStyle() text.Style {
	p := gplot.New()
	sty := p.Title.TextStyle
	sty.Font = sans(vg.Points(14))
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
	return sty
}

// newPlot returns a panel with the house style: a title, labelled axes,
// a light grid drawn under the data, and human tick labels.
func newPlot(title, x, y string) *gplot.Plot {
	p := gplot.New()
	p.Title.TextStyle.Font = sans(vg.Points(12))
	p.X.Label.TextStyle.Font = sans(vg.Points(11))
	p.Y.Label.TextStyle.Font = sans(vg.Points(11))
	p.X.Tick.Label.Font = sans(vg.Points(10))
	p.Y.Tick.Label.Font = sans(vg.Points(10))
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.X.Tick.Marker = humanTicks{}
	p.Y.Tick.Marker = humanTicks{}
	p.Add(grid())
	return p
}

func newLegend() *gplot.Legend {
	l := gplot.NewLegend()
	l.Top, l.Left = true, true
	l.ThumbnailWidth = vg.Points(24)
	l.TextStyle.Font = sans(vg.Points(11))
	l.Padding = vg.Points(3)
	return &l
}

// humanTicks labels ticks 0, 500, 10k, 1.5M instead of 10000 or 1.5e+06.
type humanTicks struct{}

func (humanTicks) Ticks(min, max float64) []gplot.Tick {
	ts := gplot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = tickLabel(ts[i].Value)
		}
	}
	return ts
}

func tickLabel(v float64) string {
	if v >= 1000 || v <= -1000 {
		return units.Count(v)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// logTicks marks a log axis at 1, 2, ... 9 × each power of ten and labels
// the powers of ten, plus 2× and 5× when the range spans under two
// decades. (gplot.LogTicks drops the lowest decade when min is below 1.)
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []gplot.Tick {
	var ts []gplot.Tick
	lo, hi := math.Floor(math.Log10(min)), math.Ceil(math.Log10(max))
	few := hi-lo <= 2
	for e := lo; e <= hi; e++ {
		for k := 1.0; k < 10; k++ {
			v := k * math.Pow(10, e)
			if v < min*0.999 || v > max*1.001 {
				continue
			}
			t := gplot.Tick{Value: v}
			if k == 1 || few && (k == 2 || k == 5) {
				t.Label = tickLabel(roundSig(v))
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// roundSig drops the float noise of k × 10^e (0.30000000000000004).
func roundSig(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	return f
}

func pow10floor(v float64) float64 { return math.Pow(10, math.Floor(math.Log10(v))) }

func grid() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 225}
	g.Horizontal.Color = color.Gray{Y: 225}
	return g
}

// textStyle is the small text used for notes and markers.
func textStyle(c color.Color) text.Style {
	p := gplot.New()
	sty := p.Legend.TextStyle
	sty.Font = sans(vg.Points(9))
	sty.Color = c
	return sty
}

// sans is the charts' typeface: gonum's default is a serif face, which
// reads poorly at small sizes on screen.
func sans(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}
