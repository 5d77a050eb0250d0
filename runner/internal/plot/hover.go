package plot

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// hovers collects, while a figure is drawn, where its points and bars
// fell and what each stands for, so that its SVG carries a <title> per
// point and a browser shows the value under the pointer. gonum/plot's SVG
// canvas has no way to title an element, so the titled shapes are added
// after drawing, invisible, over the drawn ones: the chart itself stays
// the one drawing of the data, in the PNG, the SVG and REPORT.html alike.
type hovers struct{ marks []hoverMark }

// hoverMark is one titled area, in the canvas's coordinates (points,
// origin bottom left).
type hoverMark struct {
	area  vg.Rectangle
	round bool // a point: a circle around it; else the area (a bar)
	text  string
}

// maxHovers bounds the titled points of one series: a timeline of an hour
// has 3,600 samples a line, and a title on every one would weigh more
// than the chart; every k-th sample is titled instead.
const maxHovers = 200

// hoverRadius is how close the pointer must come to a point: about a
// marker's size plus a little, at the chart's own scale.
const hoverRadius = vg.Length(5)

// points returns a plotter that draws nothing and records where each of
// xys falls, titled by label(i). A nil hovers records nothing.
func (h *hovers) points(xys plotter.XYs, label func(i int) string) gplot.Plotter {
	return hoverPoints{h: h, xys: xys, label: label}
}

type hoverPoints struct {
	h     *hovers
	xys   plotter.XYs
	label func(int) string
}

func (hp hoverPoints) Plot(c draw.Canvas, p *gplot.Plot) {
	if hp.h == nil {
		return
	}
	x, y := p.Transforms(&c)
	every := max(1, (len(hp.xys)+maxHovers-1)/maxHovers)
	for i, xy := range hp.xys {
		if i%every != 0 && i != len(hp.xys)-1 {
			continue
		}
		pt := vg.Point{X: x(xy.X), Y: y(xy.Y)}
		// A point off the axes (or at -Inf on a log axis) is not drawn.
		if !finite(pt) || !c.Contains(pt) {
			continue
		}
		hp.h.marks = append(hp.h.marks, hoverMark{
			area:  vg.Rectangle{Min: vg.Point{X: pt.X - hoverRadius, Y: pt.Y - hoverRadius}, Max: vg.Point{X: pt.X + hoverRadius, Y: pt.Y + hoverRadius}},
			round: true, text: hp.label(i),
		})
	}
}

// bars returns a plotter that records, for each bar of a (stacked) bar
// chart of the given width at x = 0, 1, ..., the area from 0 to its top,
// titled by label(i). Bars of height 0 are not recorded: nothing is drawn.
func (h *hovers) bars(tops []float64, width vg.Length, label func(i int) string) gplot.Plotter {
	return hoverBars{h: h, tops: tops, width: width, label: label}
}

type hoverBars struct {
	h     *hovers
	tops  []float64
	width vg.Length
	label func(int) string
}

func (hb hoverBars) Plot(c draw.Canvas, p *gplot.Plot) {
	if hb.h == nil {
		return
	}
	x, y := p.Transforms(&c)
	for i, top := range hb.tops {
		if top <= 0 {
			continue
		}
		mid := x(float64(i))
		area := vg.Rectangle{Min: vg.Point{X: mid - hb.width/2, Y: y(0)}, Max: vg.Point{X: mid + hb.width/2, Y: y(top)}}
		if !finite(area.Min) || !finite(area.Max) || !c.ContainsX(mid) {
			continue
		}
		hb.h.marks = append(hb.h.marks, hoverMark{area: area, text: hb.label(i)})
	}
}

func finite(p vg.Point) bool {
	for _, v := range []float64{float64(p.X), float64(p.Y)} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// inject adds the recorded marks to a vgsvg drawing of height h, as a
// group of invisible shapes, each with its <title>, drawn last so that
// they are on top. vgsvg draws in points with the origin at the bottom
// left (a flipped group under a viewBox in points); the shapes are
// written in the viewBox's own coordinates, origin top left.
func (h *hovers) inject(svg []byte, height vg.Length) []byte {
	if h == nil || len(h.marks) == 0 {
		return svg
	}
	end := bytes.LastIndex(svg, []byte("</svg>"))
	if end < 0 {
		return svg
	}
	var b bytes.Buffer
	b.Write(svg[:end])
	// fill-opacity 0 keeps the shapes invisible yet under the pointer
	// (pointer events follow the fill, not its opacity).
	b.WriteString(`<g class="hover" style="fill:#000;fill-opacity:0;stroke:none">` + "\n")
	for _, m := range h.marks {
		top := float64(height - m.area.Max.Y)
		w, ht := float64(m.area.Max.X-m.area.Min.X), float64(m.area.Max.Y-m.area.Min.Y)
		if m.round {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="%.1f"><title>`, float64(m.area.Min.X)+w/2, top+ht/2, w/2)
		} else {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>`, float64(m.area.Min.X), top, w, ht)
		}
		xml.EscapeText(&b, []byte(m.text))
		if m.round {
			b.WriteString("</title></circle>\n")
		} else {
			b.WriteString("</title></rect>\n")
		}
	}
	b.WriteString("</g>\n")
	b.Write(svg[end:])
	return b.Bytes()
}
