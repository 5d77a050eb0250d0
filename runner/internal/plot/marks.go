package plot

import (
	"image/color"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// vline marks a moment or a step across the whole height of a panel, with
// an optional label at the top; it does not take part in the axis ranges,
// so the caller makes sure X covers it.
type vline struct {
	x     float64
	label string
	style draw.LineStyle
}

func newVLine(x float64, label string, c color.Color) *vline {
	return &vline{x: x, label: label, style: draw.LineStyle{Color: c, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}}
}

func (v *vline) Plot(c draw.Canvas, p *gplot.Plot) {
	if v.x < p.X.Min || v.x > p.X.Max {
		return
	}
	x, _ := p.Transforms(&c)
	xv := x(v.x)
	c.StrokeLine2(v.style, xv, c.Min.Y, xv, c.Max.Y)
	if v.label == "" {
		return
	}
	sty := textStyle(v.style.Color)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
	pt := vg.Point{X: xv + vg.Points(3), Y: c.Max.Y - vg.Points(2)}
	// Near the right edge the label would be cut: put it on the left.
	if pt.X+sty.Width(v.label) > c.Max.X {
		sty.XAlign = draw.XRight
		pt.X = xv - vg.Points(3)
	}
	// A white box behind the label keeps it readable over data lines.
	w, h := sty.Width(v.label), sty.Height(v.label)
	x0 := pt.X
	if sty.XAlign == draw.XRight {
		x0 -= w
	}
	box := vg.Rectangle{Min: vg.Point{X: x0 - 1, Y: pt.Y - h - 1}, Max: vg.Point{X: x0 + w + 1, Y: pt.Y + 1}}
	c.SetColor(color.White)
	c.Fill(box.Path())
	c.FillText(sty, pt, v.label)
}

// note writes a message in the middle of a panel, for a panel with nothing
// to show (a model that crashed before its first step).
type note string

func (n note) Plot(c draw.Canvas, _ *gplot.Plot) {
	sty := textStyle(color.Gray{Y: 90})
	sty.Font.Size = vg.Points(12)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	c.FillText(sty, c.Center(), string(n))
}
